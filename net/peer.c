/*
 * peer.c - one connection: admission, reconciliation rounds, sending what
 * the peer lacks, ingesting what it sends, live push (docs/PROTOCOL.md §12).
 *
 * Everything runs on the daemon's loop thread; the store is used
 * synchronously, so a peer is never read while its last frame is ingested:
 * that is the backpressure on the receiving side.  On the sending side, ops
 * are produced only while the socket's write queue is under PEER_WRITE_HIGH
 * and resume when it drains.
 */
#include "daemon_int.h"

#include "node/author.h"
#include "node/invite.h"
#include "node/read.h"

#include "crdt/alloc.h"
#include "crdt/audit.h"
#include "crdt/err.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct wreq {
	uv_write_t req;
	struct peer *p;
	size_t len;
	uint8_t data[];
};

void ml__peer_free(struct peer *p)
{
	ml_session_free(p->ss);
	ml_scope_free(p->scope);
	ml_feedmap_release(&p->known);
	ml_recon_free(p->recon);
	ml_free(p->items);
	ml_free(p->heads);
	ml_free(p->want);
	ml_free(p->ahead);
	ml_replica_close(p->cursor);
	ml_buf_release(&p->frame);
	ml_free(p->declined);
	ml_free(p);
}

static void on_closed(uv_handle_t *h)
{
	struct peer *p = h->data;
	if (!ml__inbox_close(p))
		ml__peer_free(p);
}

struct peer *ml__peer_new(struct daemon *d, struct dial *dial, const char *addr)
{
	struct peer *p = ml_calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->d = d;
	p->dial = dial;
	snprintf(p->addr, sizeof p->addr, "%s", addr);
	uv_tcp_init(&d->loop, &p->tcp);
	p->tcp.data = p;
	p->started_ms = p->last_rx_ms = ml__now_ms();
	p->next = d->peers;
	d->peers = p;
	d->n_peers++;
	d->n_handshaking++;
	if (dial)
		dial->peer = p;
	return p;
}

static void unlink_peer(struct peer *p)
{
	struct daemon *d = p->d;
	for (struct peer **pp = &d->peers; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	d->n_peers--;
	if (p->state == P_HANDSHAKE)
		d->n_handshaking--;
}

void ml__peer_close(struct peer *p, const char *fmt, ...)
{
	if (p->state == P_CLOSING)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->close_reason, sizeof p->close_reason, fmt, ap);
	va_end(ap);
	struct daemon *d = p->d;
	char dev[17] = "?";
	if (p->has_device)
		ml_hex_encode(p->device.b, 8, dev);
	ml__logf(d, "peer %s (device %s) closed: %s; ops in %llu, out %llu", p->addr, dev,
	         p->close_reason, (unsigned long long)p->ops_in, (unsigned long long)p->ops_out);
	unlink_peer(p);
	p->state = P_CLOSING;
	if (p->dial) {
		struct dial *dl = p->dial;
		dl->peer = NULL;
		snprintf(dl->last_error, sizeof dl->last_error, "%s", p->close_reason);
		if (!p->ever_synced)
			dl->failures++;
		else
			dl->failures = 0;
		/* Exponential backoff with jitter, 0.5 s to about 60 s; but a refusal comes from a
		 * host that is up, whose node restarts in seconds, and costs one round trip to
		 * ask again: at most about 4 s then. */
		unsigned cap = dl->refused ? 3 : 7;
		unsigned shift = dl->failures < cap ? dl->failures : cap;
		uint64_t base = 500ULL << shift;
		dl->next_ms = ml__now_ms() + base / 2 + (uint64_t)(rand() % (int)(base + 1));
	}
	d->stats->bytes_in += p->bytes_in;
	d->stats->bytes_out += p->bytes_out;
	d->stats->ops_in += p->ops_in;
	d->stats->ops_out += p->ops_out;
	d->stats->relayed += p->relayed;
	d->stats->applied += p->applied;
	d->stats->photos_in += p->photos_in;
	d->stats->photos_out += p->photos_out;
	uv_read_stop((uv_stream_t *)&p->tcp);
	uv_close((uv_handle_t *)&p->tcp, on_closed);
	ml__check_once_done(d);
}

/* --- writing -------------------------------------------------------------- */

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct peer *p = w->p;
	ml_free(w);
	if (p->state == P_CLOSING)
		return;
	if (status < 0) {
		ml__peer_close(p, "write failed: %s", uv_strerror(status));
		return;
	}
	/* Production stopped at the high-water mark resumes once half of it drained. */
	if (p->paused &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&p->tcp) < PEER_WRITE_HIGH / 2)
		ml__peer_pump(p);
	if (p->n_serve || p->n_owed)
		ml__photos_serve(p);
}

static void write_bytes(struct peer *p, const uint8_t *data, size_t len)
{
	if (p->state == P_CLOSING || len == 0)
		return;
	if (uv_stream_get_write_queue_size((uv_stream_t *)&p->tcp) > PEER_WRITE_LIMIT) {
		ml__peer_close(p, "the peer does not read what it is sent");
		return;
	}
	struct wreq *w = ml_malloc(sizeof *w + len);
	if (!w) {
		ml__peer_close(p, "out of memory");
		return;
	}
	w->p = p;
	w->len = len;
	memcpy(w->data, data, len);
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
	int rc = uv_write(&w->req, (uv_stream_t *)&p->tcp, &b, 1, on_written);
	if (rc < 0) {
		ml_free(w);
		ml__peer_close(p, "write failed: %s", uv_strerror(rc));
		return;
	}
	p->bytes_out += len;
	p->last_tx_ms = ml__now_ms();
}

void ml__peer_send(struct peer *p, uint8_t type, const void *payload, size_t len)
{
	struct ml_buf out = ML_BUF_INIT;
	if (ml_session_send(p->ss, type, payload, len, &out) != ML_OK)
		ml__peer_close(p, "cannot frame a message of %zu bytes", len);
	else
		write_bytes(p, out.data, out.len);
	ml_buf_release(&out);
}

static void refuse(struct peer *p, enum refusal why, const char *reason)
{
	p->d->refused[why]++;
	p->d->stats->refused_peers++;
	if (ml_session_ready(p->ss))
		ml__peer_send(p, ML_MSG_REFUSE, reason, strlen(reason));
	ml__peer_close(p, "refused: %s", reason);
}

/* --- admission -------------------------------------------------------------- */

static bool device_has(struct daemon *d, const char *sql, const struct ml_pubkey *dev)
{
	int64_t v = 0;
	struct ml_buf err = ML_BUF_INIT;
	int rc = ml_read_int(d->s, sql, dev->b, 32, &v, &err);
	ml_buf_release(&err);
	return rc == ML_OK && v > 0;
}

/* Decides whether the proven device may talk to us; sends ACCEPT or refuses. */
static void admit(struct peer *p)
{
	struct daemon *d = p->d;
	const struct ml_session_peer *sp = ml_session_peer(p->ss);
	p->device = sp->device;
	p->has_device = true;
	const struct ml_daemon_join *join = d->cfg->join;
	if (ml_pubkey_eq(&p->device, &d->key->pk))
		return refuse(p, R_UNKNOWN, "this is the node's own device");
	if (ml__banned(d, &p->device))
		return refuse(p, R_BANNED, "the device misbehaved recently; try later");
	if (join && p->dial) {
		if (!ml_pubkey_eq(&p->device, &join->inviter))
			return refuse(p, R_UNKNOWN, "not the inviting device");
	} else if (d->have_genesis) {
		if (device_has(d, "SELECT count(*) FROM revocations WHERE device = ?1", &p->device))
			return refuse(p, R_REVOKED, "the device is revoked");
		/* An invite presented is redeemed, or refused: also by a device that already holds
		 * a role (it joins for another one), which must not be told it joined when it did
		 * not. */
		bool invited = sp->has_invite && !p->dial;
		if (!invited &&
		    !device_has(d, "SELECT count(*) FROM grants WHERE device = ?1", &p->device))
			return refuse(p, R_UNKNOWN, "unknown device: it holds no role here");
		if (invited) {
			struct ml_invite inv;
			int rc = ml_invite_get(d->s, sp->invite_id, ml_now_ms(), &inv, &d->err);
			if (rc == ML_OK && !ml_session_invite_ok(p->ss, inv.secret))
				rc = ml_errf(&d->err, ML_EBADSIG, "wrong invite secret");
			if (rc == ML_OK)
				rc = ml_invite_redeem(d->s, d->key, sp->invite_id, &p->device,
				                      ml_now_ms(), &d->err);
			if (rc != ML_OK) {
				char why[200];
				snprintf(why, sizeof why, "invite refused: %s",
				         ml_buf_str(&d->err));
				return refuse(p, R_INVITE, why);
			}
			ml__logf(d, "peer %s joined by invite as %s", p->addr, inv.role);
		}
	}
	/* Without a genesis this node is joining: it has nothing to leak, and learns who is who. */
	p->admitted = true;
	ml__peer_send(p, ML_MSG_ACCEPT, NULL, 0);
}

/* --- reconciliation --------------------------------------------------------- */

static int cmp_head_key(const void *key, const void *elem)
{
	return memcmp(key, ((const struct ml_replica_feed *)elem)->key, 32);
}

/* struct peer_ahead and a key both start with the 32-byte key: one comparison sorts and finds. */
static int cmp_ahead(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static void on_diff(void *ctx, const uint8_t key[32], uint64_t mine, uint64_t theirs)
{
	struct peer *p = ctx;
	const struct ml_replica_feed *h =
	    p->n_heads ? bsearch(key, p->heads, p->n_heads, sizeof *p->heads, cmp_head_key) : NULL;
	if (!h) {
		/* A feed we do not hold (or may not offer): the peer sends it.  What it holds is
		 * kept by key, so that its ops reaching us from another peer meanwhile are not
		 * relayed back to it (slot_for). */
		struct peer_ahead *a =
		    theirs && p->n_ahead < PEER_AHEAD_MAX
		        ? ml_grow(p->ahead, &p->cap_ahead, p->n_ahead + 1, sizeof *a, 64)
		        : NULL;
		if (a) {
			p->ahead = a;
			memcpy(a[p->n_ahead].key, key, 32);
			a[p->n_ahead++].seq = theirs;
		}
		return;
	}
	struct ml_feedmap_slot *slot = ml_feedmap_put(&p->known, h->feed);
	if (slot)
		slot->seq = theirs;
	if (mine <= theirs)
		return;
	struct ml_replica_want *w = ml_grow(p->want, &p->cap_want, p->n_want + 1, sizeof *w, 64);
	if (!w)
		return; /* the next round finds it again */
	p->want = w;
	p->want[p->n_want++] = (struct ml_replica_want){h->feed, theirs, mine};
}

/* Computes the peer's scope, our offer within it, and a fresh reconciliation state. */
static int prepare_round(struct peer *p)
{
	struct daemon *d = p->d;
	ml_recon_free(p->recon);
	p->recon = NULL;
	ml_replica_close(p->cursor);
	p->cursor = NULL;
	ml_scope_free(p->scope);
	p->scope = NULL;
	ml_free(p->heads);
	p->heads = NULL;
	ml_free(p->items);
	p->items = NULL;
	p->n_heads = p->n_want = p->n_ahead = 0;
	p->round_done = p->synced_sent = p->synced_recv = false;
	ml_feedmap_release(&p->known);
	int rc = ml_replica_last_eval(d->s, &p->push_eval, &d->err);
	if (rc == ML_OK)
		rc = ml_scope_of_device(d->s, &p->device, &p->scope, &d->err);
	if (rc == ML_OK)
		rc = ml_replica_heads(d->s, p->scope, &p->heads, &p->n_heads, &d->err);
	if (rc == ML_OK && !(p->items = ml_calloc(p->n_heads + 1, sizeof *p->items)))
		rc = ML_ENOMEM;
	for (size_t i = 0; rc == ML_OK && i < p->n_heads; i++) {
		memcpy(p->items[i].key, p->heads[i].key, 32);
		p->items[i].seq = p->heads[i].seq;
		struct ml_feedmap_slot *slot = ml_feedmap_put(&p->known, p->heads[i].feed);
		if (!slot)
			rc = ML_ENOMEM;
		else
			*slot = (struct ml_feedmap_slot){
			    .feed = p->heads[i].feed, .seq = p->heads[i].seq, .in_scope = true};
	}
	if (rc == ML_OK)
		rc = ml_recon_new(p->items, p->n_heads, &p->recon);
	if (rc != ML_OK)
		ml__peer_close(p, "cannot prepare a sync round: %s",
		               d->err.len ? ml_buf_str(&d->err) : ml_strerror(rc));
	p->rounds++;
	p->round_ms = ml__now_ms();
	return rc;
}

/* The round is over on our side: send what the peer lacks. */
static void round_over(struct peer *p)
{
	p->round_done = true;
	if (p->n_ahead)
		qsort(p->ahead, p->n_ahead, sizeof *p->ahead, cmp_ahead);
	ml_recon_free(p->recon);
	p->recon = NULL;
	if (ml_replica_open(p->d->s, p->want, p->n_want, &p->cursor, &p->d->err) != ML_OK) {
		ml__peer_close(p, "cannot plan sending: %s", ml_buf_str(&p->d->err));
		return;
	}
	ml__peer_pump(p);
}

void ml__peer_round(struct peer *p)
{
	/* Not while the peer still sends the last round's answer: a new round re-plans both sides.
	 */
	if (p->state != P_OPEN || !p->dial || (p->recon && !p->round_done) || p->cursor ||
	    (p->rounds && !p->synced_recv))
		return;
	if (prepare_round(p) != ML_OK)
		return;
	struct ml_buf msg = ML_BUF_INIT;
	if (ml_recon_initiate(p->recon, &msg) != ML_OK)
		ml__peer_close(p, "out of memory");
	else
		ml__peer_send(p, ML_MSG_RECON, msg.data, msg.len);
	ml_buf_release(&msg);
}

void ml__peer_round_soon(struct peer *p)
{
	uint64_t now = ml__now_ms(), at = p->round_ms + 1000 > now ? p->round_ms + 1000 : now;
	p->round_ms = at - ml__anti_entropy_ms(p->d) - 1; /* the tick starts it from `at` on */
}

static void on_recon(struct peer *p, const uint8_t *msg, size_t len)
{
	if (!p->recon) {
		if (len == 0)
			return; /* the end of a round we already closed */
		/* The peer starts a round: we answer. */
		if (prepare_round(p) != ML_OK)
			return;
	}
	if (len == 0) {
		round_over(p);
		return;
	}
	struct ml_buf reply = ML_BUF_INIT;
	int rc = ml_recon_step(p->recon, msg, len, &reply, on_diff, p, &p->d->err);
	if (rc != ML_OK) {
		ml_buf_release(&reply);
		ml__ban(p->d, &p->device);
		ml__peer_close(p, "bad reconciliation message: %s", ml_buf_str(&p->d->err));
		return;
	}
	/* An empty reply says "nothing more from me": the round is over for both. */
	ml__peer_send(p, ML_MSG_RECON, reply.data, reply.len);
	bool over = reply.len == 0;
	ml_buf_release(&reply);
	if (over && p->state == P_OPEN)
		round_over(p);
}

/* --- sending ops ---------------------------------------------------------- */

static void flush_ops(struct peer *p)
{
	if (!p->frame.len)
		return;
	ml__peer_send(p, ML_MSG_OPS, p->frame.data, p->frame.len);
	p->ops_out += p->frame_ops;
	p->relayed += p->frame_relayed;
	ml_buf_reset(&p->frame);
	p->frame_ops = 0;
	p->frame_relayed = 0;
}

/* Who wrote a feed, as a slot records it. */
static uint8_t writer_of(const struct peer *p, const struct ml_feed_id *fid)
{
	return ml_pubkey_eq(&fid->author, &p->d->key->pk) ? ML_FEED_WRITER_US
	                                                  : ML_FEED_WRITER_OTHER;
}

static int add_op(struct peer *p, struct ml_feedmap_slot *slot, const struct ml_replica_op *op)
{
	if (ml_buf_add(&p->frame, op->raw, op->len) != ML_OK)
		return ML_ENOMEM;
	p->frame_ops++;
	if (slot->writer == ML_FEED_WRITER_UNKNOWN) {
		struct ml_feed_id fid;
		if (ml_replica_feed_id(p->d->s, op->feed, &fid, &p->d->err) != ML_OK)
			return ML_EIO;
		slot->writer = writer_of(p, &fid);
	}
	p->frame_relayed += slot->writer == ML_FEED_WRITER_OTHER;
	if (p->frame.len >= OPS_FRAME_BYTES)
		flush_ops(p);
	return p->state == P_CLOSING ? ML_EIO : ML_OK;
}

/* What the peer holds of feed, learning whether it may read it on first sight; NULL on error. */
static struct ml_feedmap_slot *slot_for(struct peer *p, int64_t feed)
{
	struct ml_feedmap_slot *slot = ml_feedmap_get(&p->known, feed);
	if (slot)
		return slot;
	struct ml_feed_id fid;
	if (ml_replica_feed_id(p->d->s, feed, &fid, &p->d->err) != ML_OK ||
	    !(slot = ml_feedmap_put(&p->known, feed)))
		return NULL;
	slot->in_scope = p->scope && ml_scope_has(p->scope, &fid.unit, fid.lane);
	slot->writer = writer_of(p, &fid); /* known now: add_op need not look it up again */
	if (p->n_ahead && p->round_done) {
		/* A feed new here since the round: the peer may have said it holds it. */
		uint8_t key[32];
		ml_replica_feed_key(&fid, key);
		const struct peer_ahead *a =
		    bsearch(key, p->ahead, p->n_ahead, sizeof *p->ahead, cmp_ahead);
		if (a)
			slot->seq = a->seq;
	}
	return slot;
}

/* A planned op: the round found the peer lacks it. */
static int on_planned(void *ctx, const struct ml_replica_op *op)
{
	struct peer *p = ctx;
	struct ml_feedmap_slot *slot = ml_feedmap_put(&p->known, op->feed);
	if (!slot)
		return ML_ENOMEM;
	if (op->seq > slot->seq)
		slot->seq = op->seq;
	return add_op(p, slot, op);
}

/* A new op is sent when the peer may read its feed and does not hold it yet. */
static bool wants_new(void *ctx, int64_t feed, uint64_t seq)
{
	struct ml_feedmap_slot *slot = slot_for(ctx, feed);
	return slot && slot->in_scope && seq > slot->seq;
}

static int on_new(void *ctx, const struct ml_replica_op *op)
{
	struct peer *p = ctx;
	struct ml_feedmap_slot *slot = slot_for(p, op->feed);
	if (!slot || !slot->in_scope || op->seq <= slot->seq)
		return ML_OK;
	slot->seq = op->seq;
	return add_op(p, slot, op);
}

void ml__peer_pump(struct peer *p)
{
	struct daemon *d = p->d;
	if (p->state != P_OPEN || !p->round_done)
		return;
	p->paused = false;
	while (p->state == P_OPEN) {
		if (uv_stream_get_write_queue_size((uv_stream_t *)&p->tcp) >= PEER_WRITE_HIGH) {
			p->paused = true;
			break;
		}
		int rc;
		if (p->cursor) {
			bool done = false;
			rc = ml_replica_next(d->s, p->cursor, 4 * OPS_FRAME_BYTES, on_planned, p,
			                     &done, &d->err);
			flush_ops(p);
			if (rc == ML_OK && done) {
				ml_replica_close(p->cursor);
				p->cursor = NULL;
				if (!p->synced_sent && p->state == P_OPEN) {
					p->synced_sent = true;
					ml__peer_send(p, ML_MSG_SYNCED, NULL, 0);
				}
			}
		} else {
			int64_t last = p->push_eval;
			rc = ml_replica_since(d->s, p->push_eval, 4096, wants_new, on_new, p, &last,
			                      &d->err);
			flush_ops(p);
			bool more = last != p->push_eval;
			p->push_eval = last;
			if (!more)
				break;
		}
		if (rc != ML_OK && p->state == P_OPEN) {
			ml__peer_close(p, "cannot read ops to send: %s",
			               d->err.len ? ml_buf_str(&d->err) : ml_strerror(rc));
			return;
		}
	}
	if (p->state == P_OPEN && p->synced_sent && p->synced_recv && p->photo_round != p->rounds) {
		/* Both sides sent what the round found: now the photos the ops name. */
		if (!p->ever_synced)
			ml__logf(d, "peer %s synced: round %llu, ops in %llu, out %llu", p->addr,
			         (unsigned long long)p->rounds, (unsigned long long)p->ops_in,
			         (unsigned long long)p->ops_out);
		p->ever_synced = true;
		p->photo_round = p->rounds;
		ml__photos_start(p, true);
	}
}

/* --- receiving ops ---------------------------------------------------------- */

/* Ingests one OPS frame's batch; a forged op drops (and bans) the peer. */
static void on_ops(struct peer *p, struct ml_batch *batch)
{
	struct daemon *d = p->d;
	size_t n = ml_batch_len(batch);
	int rc;
	int64_t waiting_before = ml_store_waiting(d->s);
	int64_t *feed_of = ml_calloc(n ? n : 1, sizeof *feed_of);
	struct ml_ingest_result res;
	memset(&res, 0, sizeof res);
	if (!feed_of) {
		ml__peer_close(p, "out of memory");
	} else if ((rc = ml_store_ingest_batch(d->s, batch, ml_now_ms(), feed_of, &res, &d->err)) ==
	           ML_EAGAIN) {
		/* Too much waits for missing ops: the next round sends them again in order. */
		ml__logf(d, "peer %s: %s", p->addr, ml_buf_str(&d->err));
		p->waiting_added += (int64_t)n;
	} else if (rc != ML_OK) {
		ml__peer_close(p, "cannot store its ops: %s", ml_buf_str(&d->err));
	} else {
		p->ops_in += n;
		p->applied += res.applied;
		for (size_t i = 0; i < n; i++) {
			int64_t feed = (int64_t)((uint64_t)feed_of[i] >> 32);
			uint64_t seq = (uint64_t)feed_of[i] & 0xffffffffULL;
			struct ml_feedmap_slot *slot = feed ? slot_for(p, feed) : NULL;
			if (slot && seq > slot->seq)
				slot->seq = seq;
		}
		/* Another process (a command) may have changed it too: measured around this frame.
		 */
		p->waiting_added += ml_store_waiting(d->s) - waiting_before;
		if (res.refused) {
			ml__ban(d, &p->device);
			ml__peer_close(p, "sent %zu ops that fail verification (%s)", res.refused,
			               res.first_message);
		}
	}
	if (p->state == P_OPEN && p->waiting_added > PEER_WAITING_MAX) {
		ml__ban(d, &p->device);
		ml__peer_close(p, "it left %lld ops waiting for signatures or missing ops",
		               (long long)p->waiting_added);
	}
	ml_free(feed_of);
	if (res.applied || res.rejected)
		ml__pump_all(d);
	if (res.applied && p->state == P_OPEN)
		ml__photos_kick(p);
}

/* --- reading -------------------------------------------------------------- */

static void handle_frame(struct peer *p, uint8_t type, const uint8_t *payload, size_t len)
{
	if (type == ML_MSG_ACCEPT && !p->welcomed && len == 0) {
		p->welcomed = true;
		return;
	}
	if (type == ML_MSG_REFUSE) {
		char why[200];
		snprintf(why, sizeof why, "%.*s", (int)(len < 150 ? len : 150),
		         (const char *)payload);
		for (char *c = why; *c; c++)
			if ((unsigned char)*c < 0x20)
				*c = '?';
		ml__peer_close(p, "the peer refused us: %s", why);
		return;
	}
	if (p->state != P_OPEN) {
		ml__peer_close(p, "message %u before admission", type);
		return;
	}
	/* Ops are checked off the loop; what comes after them waits its turn. */
	if (type == ML_MSG_OPS || ml__inbox_holds(p))
		ml__inbox_add(p, type, payload, len);
	else
		ml__peer_dispatch(p, type, payload, len, NULL);
}

void ml__peer_dispatch(struct peer *p, uint8_t type, const uint8_t *payload, size_t len,
                       struct ml_batch *ops)
{
	switch (type) {
	case ML_MSG_RECON:
		on_recon(p, payload, len);
		break;
	case ML_MSG_OPS:
		on_ops(p, ops);
		break;
	case ML_MSG_SYNCED:
		p->synced_recv = true;
		ml__peer_pump(p);
		break;
	case ML_MSG_PING:
		if (len <= 64)
			ml__peer_send(p, ML_MSG_PONG, payload, len);
		break;
	case ML_MSG_PONG:
		break;
	case ML_MSG_BLOB_WANT:
		ml__on_blob_want(p, payload, len);
		break;
	case ML_MSG_BLOB:
		ml__on_blob(p, payload, len);
		break;
	case ML_MSG_BLOB_NONE:
		ml__on_blob_none(p, payload, len);
		break;
	case ML_MSG_PHOTOS_DONE:
		ml__on_photos_done(p, len);
		break;
	case ML_MSG_ROUND_PLEASE:
		if (len) {
			ml__ban(p->d, &p->device);
			ml__peer_close(p, "sent a malformed message");
		} else if (p->dial) {
			ml__peer_round_soon(p);
		}
		break;
	default:
		ml__peer_close(p, "unknown message type %u", type);
	}
}

static void open_session(struct peer *p)
{
	struct daemon *d = p->d;
	p->state = P_OPEN;
	d->n_handshaking--;
	d->stats->sessions++;
	char dev[17];
	ml_hex_encode(p->device.b, 8, dev);
	ml__logf(d, "peer %s (device %s) connected%s", p->addr, dev, p->dial ? "" : ", incoming");
	if (p->dial)
		ml__peer_round(p);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	static char space[64 << 10]; /* one loop thread; a read is consumed before the next */
	(void)h;
	*buf = uv_buf_init(space, sizeof space);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct peer *p = stream->data;
	struct daemon *d = p->d;
	if (p->state == P_CLOSING)
		return;
	if (nread < 0) {
		ml__inbox_hangup(p, (int)nread);
		return;
	}
	p->bytes_in += (uint64_t)nread;
	if (ml_session_feed(p->ss, (const uint8_t *)buf->base, (size_t)nread, &d->err) != ML_OK) {
		ml__peer_close(p, "%s", ml_buf_str(&d->err));
		return;
	}
	struct ml_buf out = ML_BUF_INIT;
	while (p->state != P_CLOSING) {
		enum ml_session_event ev;
		uint8_t type = 0;
		const uint8_t *payload = NULL;
		size_t len = 0;
		ml_buf_reset(&out);
		int rc = ml_session_next(p->ss, &out, &ev, &type, &payload, &len, &d->err);
		write_bytes(p, out.data, out.len);
		if (rc != ML_OK) {
			enum refusal why = rc == ML_EWRONGNET ? R_NETWORK
			                   : rc == ML_EBADSIG ? R_SIGNATURE
			                                      : R_PROTOCOL;
			if (p->state == P_HANDSHAKE)
				d->refused[why]++;
			if (p->has_device)
				ml__ban(d, &p->device);
			ml__peer_close(p, "%s", ml_buf_str(&d->err));
			break;
		}
		if (ev == ML_SESSION_NEED_MORE)
			break;
		p->last_rx_ms = ml__now_ms();
		if (++p->frames_this_sec > FRAMES_PER_SEC) {
			if (p->has_device)
				ml__ban(d, &p->device);
			ml__peer_close(p, "flood: more than %d frames in a second", FRAMES_PER_SEC);
			break;
		}
		if (ev == ML_SESSION_PEER)
			admit(p);
		else
			handle_frame(p, type, payload, len);
		if (p->state == P_HANDSHAKE && p->admitted && p->welcomed)
			open_session(p);
	}
	ml_buf_release(&out);
}

void ml__peer_hung_up(struct peer *p, int code)
{
	ml__peer_close(p, "%s", code == UV_EOF ? "the peer hung up" : uv_strerror(code));
}

void ml__peer_read_start(struct peer *p)
{
	uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
}

void ml__peer_start(struct peer *p)
{
	struct daemon *d = p->d;
	struct ml_buf out = ML_BUF_INIT;
	struct ml_session_invite inv;
	const struct ml_session_invite *invite = NULL;
	if (d->cfg->join && p->dial) {
		inv.id = d->cfg->join->id;
		inv.secret = d->cfg->join->secret;
		invite = &inv;
	}
	if (ml_session_new(p->dial ? ML_SESSION_INITIATOR : ML_SESSION_RESPONDER, d->key, &d->net,
	                   invite, &out, &p->ss) != ML_OK) {
		ml_buf_release(&out);
		ml__peer_close(p, "out of memory");
		return;
	}
	uv_tcp_nodelay(&p->tcp, 1);
	uv_tcp_keepalive(&p->tcp, 1, 60);
	write_bytes(p, out.data, out.len);
	ml_buf_release(&out);
	if (p->state != P_CLOSING)
		uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
}

void ml__peer_tick(struct peer *p, uint64_t now)
{
	const struct ml_daemon_config *cfg = p->d->cfg;
	uint64_t hs = cfg->handshake_ms ? cfg->handshake_ms : 10000;
	uint64_t idle = cfg->idle_ms ? cfg->idle_ms : 90000;
	if (now - p->sec_start_ms >= 1000) {
		p->sec_start_ms = now;
		p->frames_this_sec = 0;
	}
	if (p->state == P_HANDSHAKE && now - p->started_ms > hs) {
		p->d->refused[R_PROTOCOL]++;
		ml__peer_close(p, "no handshake within %llu ms", (unsigned long long)hs);
	} else if (p->state == P_OPEN && now - p->last_rx_ms > idle) {
		ml__peer_close(p, "silent for %llu ms", (unsigned long long)idle);
	} else if (p->state == P_OPEN && now - p->last_tx_ms > idle / 3) {
		ml__peer_send(p, ML_MSG_PING, "ping", 4);
	}
	ml__photos_tick(p, now);
}

void ml__peer_status(const struct peer *p, struct ml_buf *out)
{
	char dev[17] = "-";
	if (p->has_device)
		ml_hex_encode(p->device.b, 8, dev);
	const char *state = p->state == P_HANDSHAKE ? "handshake"
	                    : !p->round_done        ? "reconciling"
	                    : p->cursor             ? "sending"
	                    : p->ever_synced        ? "synced"
	                                            : "waiting";
	ml_buf_addf(out,
	            "peer %s device %s %s %s up %llus rounds %llu ops-in %llu ops-out %llu "
	            "relayed %llu bytes-in %llu bytes-out %llu photos-in %llu photos-out %llu "
	            "paused %llu\n",
	            p->addr, dev, p->dial ? "outgoing" : "incoming", state,
	            (unsigned long long)((ml__now_ms() - p->started_ms) / 1000),
	            (unsigned long long)p->rounds, (unsigned long long)p->ops_in,
	            (unsigned long long)p->ops_out, (unsigned long long)p->relayed,
	            (unsigned long long)p->bytes_in, (unsigned long long)p->bytes_out,
	            (unsigned long long)p->photos_in, (unsigned long long)p->photos_out,
	            (unsigned long long)p->in_paused);
}
