/*
 * inbox.c - a peer's frames, held in arrival order while the signatures of
 * its OPS frames are checked in libuv's thread pool.
 *
 * Parsing an OPS frame's ops and checking their signatures needs no store and
 * costs a good part of an ingest, so it runs on pool threads while the loop
 * ingests the frames before it: during a sync both cores work.  Every frame
 * that arrives behind an OPS frame still being checked waits its turn, so the
 * protocol sees frames in the order they were sent (a SYNCED after the ops it
 * closes).
 *
 * The loop ingests one OPS frame of a peer a turn, from the daemon's idle
 * handle (ml__inbox_later), not from a read or a check's completion (the one
 * exception: the read that finds the connection ended handles one and leaves
 * the rest to the idle handle).  Between two ingests it polls the socket, so
 * frames keep arriving and being checked while the store writes.  Handling
 * every ready frame at once, as this file did up to session 21, emptied the
 * inbox before the socket was read again, and the writer then waited for the
 * next frame's check (about 2 s of a 22 s sync of 1M ops, BENCHMARKS.md).
 *
 * Above INBOX_HIGH bytes held from the peer, or INBOX_ALL_HIGH from all
 * peers, the connection stops reading, and the peer's writes back up in TCP
 * rather than in this node's memory.  When the connection ends, the frames
 * already held are still handled, then the peer is closed; when this node
 * closes it (bad input, shutdown), they are dropped.
 */
#include "daemon_int.h"

#include "crdt/alloc.h"
#include "crdt/err.h"
#include "crdt/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frames in the pool at a time, a peer (why: check_next). */
#define CHECKS_MAX 2
/* Stop reading above this many bytes held: 8 frames, about 200 ms of ingest.  The slack
 * covers a run of frames whose checks cost as much as their ingest (ops signed one by one). */
#define INBOX_HIGH (4u << 20)
/* All peers' inboxes together: above this a peer stops reading once it holds a frame. */
#define INBOX_ALL_HIGH (8u * INBOX_HIGH)

void ml__inbox_init(struct daemon *d)
{
	d->inbox_high = INBOX_HIGH;
	d->inbox_all_high = INBOX_ALL_HIGH;
	/* Tests make both bounds small, to see them at work with a few frames (t0015). */
	const char *env = getenv("MEMBERLOG_TEST_INBOX_KIB");
	unsigned one, all;
	if (env && sscanf(env, "%u,%u", &one, &all) == 2 && one && all && one <= (1u << 20) &&
	    all <= (1u << 20)) {
		d->inbox_high = (size_t)one << 10;
		d->inbox_all_high = (size_t)all << 10;
	}
}

struct inframe {
	struct inframe *next;
	struct peer *p;
	uv_work_t work;
	uint8_t type;
	bool ready;    /* may be handled now: not OPS, or its check returned */
	bool checking; /* in the thread pool */
	bool orphan;   /* its peer was closed meanwhile: freed when the check returns */
	struct ml_batch *batch;
	const uint8_t **ops; /* into payload */
	size_t *lens, n_ops;
	size_t len;
	uint8_t payload[]; /* a copy: the session reuses its buffer */
};

static void frame_free(struct inframe *f)
{
	ml_batch_free(f->batch);
	ml_free(f->ops);
	ml_free(f->lens);
	ml_free(f);
}

/*
 * A stopped peer reads again below half its own bound, and below half the
 * bound of all inboxes or once its inbox is empty.  Every stopped peer holds
 * a frame (it stopped on adding one), so its own drain gets here: none waits
 * for another's.
 */
static void resume_reading(struct peer *p)
{
	const struct daemon *d = p->d;
	if (p->in_stopped && !p->in_hangup && p->in_bytes <= d->inbox_high / 2 &&
	    (d->in_bytes <= d->inbox_all_high / 2 || !p->in_head)) {
		p->in_stopped = false;
		ml__peer_read_start(p);
	}
}

/*
 * Hands the ready frames at the head to the protocol, in order, but at most
 * one OPS frame: ingesting one takes milliseconds, and the loop must get back
 * to the socket between two, or the frames behind are read only once the
 * inbox is empty, and the writer then waits for their checks.  The daemon's
 * idle handle calls again while ready frames remain.
 */
void ml__inbox_drain(struct peer *p)
{
	bool ingested = false;
	while (ml__inbox_ready(p)) {
		struct inframe *f = p->in_head;
		if (f->type == ML_MSG_OPS && ingested) {
			ml__inbox_later(p->d);
			return;
		}
		ingested |= f->type == ML_MSG_OPS;
		p->in_head = f->next;
		if (!p->in_head)
			p->in_tail = NULL;
		p->in_bytes -= f->len;
		p->d->in_bytes -= f->len;
		ml__peer_dispatch(p, f->type, f->payload, f->len, f->batch);
		frame_free(f);
		if (p->state != P_CLOSING)
			resume_reading(p);
	}
	if (p->state != P_CLOSING && p->in_hangup && !p->in_head)
		ml__peer_hung_up(p, p->in_hangup);
}

bool ml__inbox_ready(const struct peer *p)
{
	return p->in_head && p->in_head->ready && p->state != P_CLOSING;
}

static void check_work(uv_work_t *w)
{
	struct inframe *f = w->data;
	ml_batch_check(f->batch);
}

static void check_done(uv_work_t *w, int status);

/*
 * Starts the check of the oldest frame not checked yet, unless CHECKS_MAX
 * are in the pool.  In order and few at a time: the frame the writer needs
 * next then has most of a core, where with every held frame in the pool at
 * once (up to session 21) it shared one core with all of them, and the
 * writer waited.  Two rather than one: where checks cost as much as ingest
 * (ops signed one by one), the writer's waits let a second check use its
 * core.
 */
static void check_next(struct peer *p)
{
	struct inframe *f = p->in_head;
	while (f && p->state != P_CLOSING && p->in_checking < CHECKS_MAX) {
		if (!f->ready && !f->checking) {
			f->work.data = f;
			if (uv_queue_work(&p->d->loop, &f->work, check_work, check_done) == 0) {
				f->checking = true;
				p->in_checking++;
			} else {
				f->ready = true; /* ingest checks it on the loop */
			}
		}
		f = f->next;
	}
}

/* Starts what checks may start, and asks for a turn if the head frame may be handled. */
static void advance(struct peer *p)
{
	check_next(p);
	if (ml__inbox_ready(p))
		ml__inbox_later(p->d);
}

static void check_done(uv_work_t *w, int status)
{
	(void)status; /* a cancelled check leaves the batch unchecked: ingest checks it */
	struct inframe *f = w->data;
	struct peer *p = f->p;
	f->checking = false;
	p->in_checking--;
	if (f->orphan) {
		frame_free(f);
		if (p->in_closed && !p->in_checking)
			ml__peer_free(p);
		return;
	}
	f->ready = true;
	advance(p);
}

/* Lists the ops of f's payload; a malformed frame bans and closes the peer.  False then. */
static bool split_ops(struct peer *p, struct inframe *f)
{
	size_t cap = 0, lcap = 0, off = 0, oplen;
	const uint8_t *op;
	int rc;
	while ((rc = ml_oplog_next(f->payload, f->len, &off, &op, &oplen, &p->d->err)) == ML_OK) {
		const uint8_t **v = ml_grow(f->ops, &cap, f->n_ops + 1, sizeof *v, 256);
		size_t *lv = v ? ml_grow(f->lens, &lcap, f->n_ops + 1, sizeof *lv, 256) : NULL;
		if (v)
			f->ops = v;
		if (lv)
			f->lens = lv;
		if (!v || !lv) {
			ml__peer_close(p, "out of memory");
			return false;
		}
		f->ops[f->n_ops] = op;
		f->lens[f->n_ops++] = oplen;
	}
	if (rc != ML_ENOTFOUND) {
		ml__ban(p->d, &p->device);
		ml__peer_close(p, "sent a malformed ops frame: %s", ml_buf_str(&p->d->err));
		return false;
	}
	return true;
}

void ml__inbox_add(struct peer *p, uint8_t type, const uint8_t *payload, size_t len)
{
	struct inframe *f = ml_calloc(1, sizeof *f + len);
	if (!f) {
		ml__peer_close(p, "out of memory");
		return;
	}
	f->p = p;
	f->type = type;
	f->len = len;
	if (len)
		memcpy(f->payload, payload, len);
	f->ready = type != ML_MSG_OPS;
	if (!f->ready) {
		if (!split_ops(p, f)) {
			frame_free(f);
			return;
		}
		if (ml_batch_new(p->d->s, f->ops, f->lens, f->n_ops, &f->batch) != ML_OK) {
			frame_free(f);
			ml__peer_close(p, "out of memory");
			return;
		}
	}
	if (p->in_tail)
		p->in_tail->next = f;
	else
		p->in_head = f;
	p->in_tail = f;
	p->in_bytes += len;
	p->d->in_bytes += len;
	bool over_own = p->in_bytes > p->d->inbox_high;
	if ((over_own || p->d->in_bytes > p->d->inbox_all_high) && !p->in_stopped) {
		p->in_stopped = true;
		p->in_paused++;
		p->d->in_paused_all += !over_own;
		uv_read_stop((uv_stream_t *)&p->tcp);
	}
	advance(p);
}

bool ml__inbox_holds(const struct peer *p)
{
	return p->in_head != NULL;
}

void ml__inbox_hangup(struct peer *p, int code)
{
	/* What the peer sent before it hung up was received whole: it is ingested (a
	 * one-shot sync may close right after its last ops). */
	p->in_hangup = code;
	uv_read_stop((uv_stream_t *)&p->tcp);
	ml__inbox_drain(p);
}

bool ml__inbox_close(struct peer *p)
{
	p->in_closed = true;
	for (struct inframe *f = p->in_head, *next; f; f = next) {
		next = f->next;
		if (f->checking)
			f->orphan = true;
		else
			frame_free(f);
	}
	p->in_head = p->in_tail = NULL;
	p->d->in_bytes -= p->in_bytes;
	p->in_bytes = 0;
	return p->in_checking > 0;
}
