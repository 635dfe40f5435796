/*
 * photo.c - photos on demand between peers (docs/PROTOCOL.md §12.7).
 *
 * After each round, once both sides sent SYNCED, each side walks the
 * photos its register references but it does not hold (node/photo.h), in
 * hash order, asking the peer for at most PHOTO_ASK_MAX at a time with
 * BLOB_WANT and the next batch only when all are answered: at most about
 * 8 MB of photos are ever queued for one peer.  A photo already asked of
 * another peer is skipped, so one photo crosses the network once.  When
 * ops from a peer name new photos, that peer (the likeliest holder) is asked
 * at once; the others at their next round.
 *
 * The answering side sends BLOB only when an op its scope holds names the
 * photo (the peer already knows the member), else BLOB_NONE.  When it has
 * the right but not the bytes yet, it remembers the debt and sends the photo
 * when it arrives: this is how a photo travels commune -> district ->
 * province without waiting for the next round.  A received photo is stored
 * only when it was asked for, hashes to its name, and is a JPEG or PNG of at
 * most 1 MB; otherwise the peer is dropped and banned.
 */
#include "daemon_int.h"

#include "node/photo.h"

#include "crdt/alloc.h"
#include "crdt/err.h"

#include <string.h>

static bool list_has(const struct ml_hash *v, size_t n, const struct ml_hash *h)
{
	for (size_t i = 0; i < n; i++)
		if (ml_hash_eq(&v[i], h))
			return true;
	return false;
}

static bool list_take(struct ml_hash *v, size_t *n, const struct ml_hash *h)
{
	for (size_t i = 0; i < *n; i++)
		if (ml_hash_eq(&v[i], h)) {
			v[i] = v[--*n];
			return true;
		}
	return false;
}

/* True when some peer has been asked for h and has not answered yet. */
static bool in_flight(const struct daemon *d, const struct ml_hash *h)
{
	for (const struct peer *q = d->peers; q; q = q->next)
		if (list_has(q->asked, q->n_asked, h))
			return true;
	return false;
}

/* A `sync` run is done with this peer once both walks of the round are over. */
static void check_done(struct peer *p)
{
	if (p->photos_done_sent && p->photos_done_recv && p->dial && !p->dial->synced) {
		p->dial->synced = true;
		ml__check_once_done(p->d);
	}
}

/* The walk is over for this round: say so once. */
static void walk_done(struct peer *p)
{
	p->photo_walking = false;
	if (!p->photos_done_sent && p->state == P_OPEN) {
		p->photos_done_sent = true;
		ml__peer_send(p, ML_MSG_PHOTOS_DONE, NULL, 0);
		check_done(p);
	}
}

/* Sends photo h (data[0..len)) to the peer. */
static void send_blob(struct peer *p, const struct ml_hash *h, const uint8_t *data, size_t len)
{
	struct ml_buf frame = ML_BUF_INIT;
	if (ml_buf_add(&frame, h->b, 32) != ML_OK || ml_buf_add(&frame, data, len) != ML_OK) {
		ml__peer_close(p, "out of memory");
	} else {
		ml__peer_send(p, ML_MSG_BLOB, frame.data, frame.len);
		p->photos_out++;
	}
	ml_buf_release(&frame);
}

/* Asks the next batch of wanted photos, or ends the walk.  Marks at most PHOTO_MARKS_MAX blobs
 * found on disk per call (after a rebuild they may be many): the tick resumes the walk. */
static void ask_more(struct peer *p)
{
	struct daemon *d = p->d;
	bool fresh = false;
	unsigned marked = 0;
	while (p->state == P_OPEN && p->photo_walking && p->n_asked == 0 &&
	       marked < PHOTO_MARKS_MAX) {
		if (p->n_declined >= PHOTO_DECLINED_MAX) {
			walk_done(p); /* this peer lacks too many: the next round asks again */
			return;
		}
		struct ml_hash batch[PHOTO_ASK_MAX];
		size_t n = 0;
		if (ml_photo_wanted(d->s, &p->photo_after, batch, PHOTO_ASK_MAX, &n, &d->err) !=
		    ML_OK) {
			ml__peer_close(p, "cannot list wanted photos: %s", ml_buf_str(&d->err));
			return;
		}
		if (n == 0 && p->photo_restart) {
			/* new photos were named behind the walk's position: once more from the
			 * start */
			p->photo_restart = false;
			memset(&p->photo_after, 0, sizeof p->photo_after);
			continue;
		}
		if (n == 0) {
			walk_done(p);
			return;
		}
		p->photo_after = batch[n - 1];
		for (size_t i = 0; i < n; i++) {
			const struct ml_hash *h = &batch[i];
			if (ml_photo_has(ml_buf_str(&d->photo_dir), h)) {
				/* stored by a command, or before a rebuild cleared the marks */
				marked++;
				if (ml_photo_mark_held(d->s, h, &d->err) != ML_OK)
					ml__logf(d, "%s", ml_buf_str(&d->err));
			} else if (!in_flight(d, h) && !list_has(p->declined, p->n_declined, h)) {
				p->asked[p->n_asked++] = *h;
				fresh = true;
			}
		}
	}
	/* Only a batch just filled: the ones still unanswered were sent before. */
	if (p->state == P_OPEN && fresh) {
		p->asked_ms = ml__now_ms();
		ml__peer_send(p, ML_MSG_BLOB_WANT, p->asked, p->n_asked * sizeof *p->asked);
	}
}

void ml__photos_tick(struct peer *p, uint64_t now)
{
	if (p->state != P_OPEN)
		return;
	if (p->n_asked && now - p->asked_ms > PHOTO_ANSWER_MS) {
		ml__peer_close(p, "did not answer photo requests within %u s",
		               PHOTO_ANSWER_MS / 1000);
		return;
	}
	if (p->photo_walking && p->n_asked == 0)
		ask_more(p); /* a walk paused after marking many blobs held */
}

void ml__photos_start(struct peer *p, bool new_round)
{
	if (new_round) {
		p->n_declined = 0;
		p->photos_done_sent = p->photos_done_recv = false;
	}
	if (p->state != P_OPEN || p->photo_walking || p->n_declined >= PHOTO_DECLINED_MAX)
		return;
	memset(&p->photo_after, 0, sizeof p->photo_after);
	p->photo_walking = true;
	ask_more(p);
}

void ml__photos_kick(struct peer *p)
{
	struct daemon *d = p->d;
	uint64_t refs = ml_photo_refs_added(d->s);
	if (refs == d->photo_refs_seen)
		return;
	d->photo_refs_seen = refs;
	if (p->photo_walking)
		p->photo_restart = true; /* the new photos may sort behind the walk's position */
	else if (p->photo_round)         /* else the round's end starts the walk */
		ml__photos_start(p, false);
}

/* Drops and bans the peer for a photo message that breaks the protocol. */
static void misbehaved(struct peer *p, const char *what)
{
	ml__ban(p->d, &p->device);
	ml__peer_close(p, "%s", what);
}

/*
 * Sends photo h when the peer's scope may read it and its bytes are here.
 * Returns ML_OK (sent), ML_ENOTFOUND (not here, *readable tells whether the
 * peer may have it), ML_EIO (damaged here), or ML_ESTORE (the peer was closed).
 */
static int send_if_readable(struct peer *p, const struct ml_hash *h, bool *readable)
{
	struct daemon *d = p->d;
	*readable = false;
	if (ml_photo_readable(d->s, p->scope, h, readable, &d->err) != ML_OK) {
		ml__peer_close(p, "cannot look up a photo: %s", ml_buf_str(&d->err));
		return ML_ESTORE;
	}
	int rc = *readable ? ml_photo_get(ml_buf_str(&d->photo_dir), h, &d->photo_buf, &d->err)
	                   : ML_ENOTFOUND;
	if (rc == ML_OK)
		send_blob(p, h, d->photo_buf.data, d->photo_buf.len);
	return rc;
}

/* Answers one asked photo: BLOB when the peer may have it and it is here, else BLOB_NONE (and a
 * debt, paid on arrival, when it may but the bytes are not here yet). */
static void serve_one(struct peer *p, const struct ml_hash *h)
{
	struct daemon *d = p->d;
	bool readable;
	int rc = send_if_readable(p, h, &readable);
	if (rc == ML_OK || rc == ML_ESTORE)
		return;
	const char *dir = ml_buf_str(&d->photo_dir);
	if (rc == ML_EIO) { /* damaged or unreadable here: fetch it again */
		ml__logf(d, "%s: fetching it again", ml_buf_str(&d->err));
		if (ml_photo_forget(d->s, dir, h, &d->err) != ML_OK)
			ml__logf(d, "%s", ml_buf_str(&d->err));
	}
	if (readable && rc != ML_ENOMEM && p->n_owed < PHOTO_OWED_MAX &&
	    !list_has(p->owed, p->n_owed, h)) {
		p->owed_ready[p->n_owed] = false;
		p->owed[p->n_owed++] = *h;
	}
	ml__peer_send(p, ML_MSG_BLOB_NONE, h->b, 32);
}

void ml__photos_serve(struct peer *p)
{
	uv_stream_t *tcp = (uv_stream_t *)&p->tcp;
	while (p->state == P_OPEN && uv_stream_get_write_queue_size(tcp) < PEER_WRITE_HIGH) {
		size_t i = 0;
		while (i < p->n_owed && !p->owed_ready[i])
			i++;
		if (i <
		    p->n_owed) { /* a debt: the photo arrived since; still the peer's to read? */
			struct ml_hash h = p->owed[i];
			p->owed[i] = p->owed[p->n_owed - 1];
			p->owed_ready[i] = p->owed_ready[p->n_owed - 1];
			p->n_owed--;
			bool readable;
			send_if_readable(p, &h, &readable);
			continue;
		}
		if (!p->n_serve)
			return;
		struct ml_hash h = p->serve_q[0];
		memmove(p->serve_q, p->serve_q + 1, --p->n_serve * sizeof *p->serve_q);
		serve_one(p, &h);
	}
}

void ml__on_blob_want(struct peer *p, const uint8_t *payload, size_t len)
{
	struct daemon *d = p->d;
	if (len == 0 || len % 32 || len / 32 + p->n_serve > PHOTO_ASK_MAX) {
		misbehaved(p, "sent a malformed photo request, or more than 8 unanswered");
		return;
	}
	/* A peer may ask before any round (a `sync` answers rounds only): its scope is needed now.
	 */
	if (!p->scope && ml_scope_of_device(d->s, &p->device, &p->scope, &d->err) != ML_OK) {
		ml__peer_close(p, "cannot compute its scope: %s", ml_buf_str(&d->err));
		return;
	}
	/* Queued, and answered while the peer's write queue is under PEER_WRITE_HIGH. */
	memcpy(p->serve_q + p->n_serve, payload, len);
	p->n_serve += len / 32;
	ml__photos_serve(p);
}

/* A photo arrived: peers that asked for it while we lacked it get it, as their queues allow. */
static void pay_debts(struct daemon *d, const struct ml_hash *h)
{
	for (struct peer *q = d->peers, *next; q; q = next) {
		next = q->next;
		for (size_t i = 0; q->state == P_OPEN && i < q->n_owed; i++)
			if (ml_hash_eq(&q->owed[i], h)) {
				q->owed_ready[i] = true;
				ml__photos_serve(q);
				break;
			}
	}
}

void ml__on_blob(struct peer *p, const uint8_t *payload, size_t len)
{
	struct daemon *d = p->d;
	struct ml_hash h;
	if (len <= 32) {
		misbehaved(p, "sent a malformed photo");
		return;
	}
	memcpy(h.b, payload, 32);
	/* Asked and unanswered, or declined and owed by the peer. */
	bool asked =
	    list_take(p->asked, &p->n_asked, &h) || list_take(p->declined, &p->n_declined, &h);
	const uint8_t *data = payload + 32;
	size_t n = len - 32;
	struct ml_hash got = ml_hash_of(data, n);
	if (!ml_hash_eq(&got, &h)) {
		misbehaved(p, "sent a photo whose bytes do not match its hash");
		return;
	}
	/* A debt paid after our walk moved on, or twice, is honest: it is a photo the register
	 * names.  Anything else was never asked for. */
	bool named = false;
	if (!asked && (ml_photo_readable(d->s, NULL, &h, &named, &d->err) != ML_OK || !named)) {
		misbehaved(p, "sent a photo it was not asked for");
		return;
	}
	if (ml_photo_check(data, n, &d->err) != ML_OK) {
		misbehaved(p, "sent a photo the register does not accept");
		return;
	}
	struct ml_hash stored;
	if (ml_photo_put(ml_buf_str(&d->photo_dir), data, n, &stored, &d->err) != ML_OK ||
	    ml_photo_mark_held(d->s, &h, &d->err) != ML_OK) {
		ml__logf(d, "cannot keep a photo: %s", ml_buf_str(&d->err));
	} else {
		p->photos_in++;
		pay_debts(d, &h);
	}
	ask_more(p);
}

void ml__on_blob_none(struct peer *p, const uint8_t *payload, size_t len)
{
	struct ml_hash h;
	if (len != 32) {
		misbehaved(p, "sent a malformed photo answer");
		return;
	}
	memcpy(h.b, payload, 32);
	if (!list_take(p->asked, &p->n_asked, &h)) {
		misbehaved(p, "answered a photo request it was not sent");
		return;
	}
	/* Not asked of this peer again this round; if it owes it, it sends it later. */
	struct ml_hash *v =
	    ml_grow(p->declined, &p->cap_declined, p->n_declined + 1, sizeof *v, 64);
	if (!v) {
		ml__peer_close(p, "out of memory");
		return;
	}
	p->declined = v;
	p->declined[p->n_declined++] = h;
	ask_more(p);
}

void ml__on_photos_done(struct peer *p, size_t len)
{
	if (len != 0) {
		misbehaved(p, "sent a malformed message");
		return;
	}
	p->photos_done_recv = true;
	check_done(p);
}
