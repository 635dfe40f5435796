/*
 * inbox.c - a peer's frames, held in arrival order while the signatures of
 * an OPS frame are checked in libuv's thread pool.
 *
 * Parsing an OPS frame's ops and checking their signatures needs no store and
 * costs a good part of an ingest, so it runs on a pool thread while the loop
 * ingests the frame before it: during a sync both cores work.  Every frame
 * that arrives behind an OPS frame still being checked waits its turn, so the
 * protocol sees frames in the order they were sent (a SYNCED after the ops it
 * closes).  Above INBOX_HIGH bytes held the connection stops reading, and the
 * peer's writes back up in TCP rather than in this node's memory.  When the
 * connection ends, the frames already held are still handled, then the peer
 * is closed; when this node closes it (bad input, shutdown), they are dropped.
 */
#include "daemon_int.h"

#include "crdt/alloc.h"
#include "crdt/err.h"
#include "crdt/audit.h"

#include <string.h>

#define INBOX_HIGH (4u * OPS_FRAME_BYTES) /* stop reading above this many bytes held */

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

/* Hands the ready frames at the head to the protocol, in order. */
static void drain(struct peer *p)
{
	while (p->in_head && p->in_head->ready && p->state != P_CLOSING) {
		struct inframe *f = p->in_head;
		p->in_head = f->next;
		if (!p->in_head)
			p->in_tail = NULL;
		p->in_bytes -= f->len;
		ml__peer_dispatch(p, f->type, f->payload, f->len, f->batch);
		frame_free(f);
	}
	if (p->state == P_CLOSING)
		return;
	if (p->in_hangup && !p->in_head)
		ml__peer_hung_up(p, p->in_hangup);
	else if (p->in_stopped && !p->in_hangup && p->in_bytes <= INBOX_HIGH / 2) {
		p->in_stopped = false;
		ml__peer_read_start(p);
	}
}

static void check_work(uv_work_t *w)
{
	struct inframe *f = w->data;
	ml_batch_check(f->batch);
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
	drain(p);
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
		f->work.data = f;
		if (uv_queue_work(&p->d->loop, &f->work, check_work, check_done) == 0) {
			f->checking = true;
			p->in_checking++;
		} else {
			f->ready = true; /* ingest checks it on the loop */
		}
	}
	if (p->in_tail)
		p->in_tail->next = f;
	else
		p->in_head = f;
	p->in_tail = f;
	p->in_bytes += len;
	if (p->in_bytes > INBOX_HIGH && !p->in_stopped) {
		p->in_stopped = true;
		uv_read_stop((uv_stream_t *)&p->tcp);
	}
	drain(p);
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
	drain(p);
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
	p->in_bytes = 0;
	return p->in_checking > 0;
}
