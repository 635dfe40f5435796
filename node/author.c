/*
 * author.c - local writes: feed head, clock, deps, all-or-nothing ingest.
 *
 * Deps are chosen per batch and put on its first op (the rest inherit them
 * through prev): the current head of every feed that holds something the
 * batch needs and that the feed's past does not already include.  What a
 * batch needs: the author's grants, the unit it is about, and every op its
 * bodies name (a member, changes, a transfer, units, the number ranges of
 * the author's units).
 */
#include "author.h"
#include "opindex.h"

#include "view.h"

#include "crdt/alloc.h"
#include "crdt/body.h"
#include "crdt/err.h"
#include "crdt/feed.h"
#include "crdt/hlc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t ml_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct deps {
	struct ml_hash ids[ML_OP_MAX_DEPS];
	size_t n;
	struct ml_frontier known; /* what the feed's past already holds */
	uint64_t own_feed;
	int rc; /* the first store failure met while looking ops up (ML_ENOMEM, ML_ESTORE) */
};

/* The key of the op with this id, or -1: none, or a failure recorded in d->rc. */
static int64_t key_of(struct ml_store *s, struct deps *d, const struct ml_hash *id)
{
	int64_t key;
	int rc = ml__opindex_find(s, id, &key, NULL, NULL);
	if (rc != ML_OK && rc != ML_ENOTFOUND && !d->rc)
		d->rc = rc;
	return rc == ML_OK ? key : -1;
}

/* Adds the head of feed number `feed` as a dep, unless the past already reaches seq `need`. */
static void need_feed(struct ml_store *s, struct deps *d, uint64_t feed, uint64_t need)
{
	if (feed == d->own_feed || ml_frontier_get(&d->known, feed) >= need)
		return;
	struct feed *f;
	if (ml__feed_by_id(s, (int64_t)feed, &f, NULL) != ML_OK || f->judged_seq < need)
		return;
	sqlite3_stmt *st = ml__stmt(s, ST_OP_BY_KEY);
	if (!st)
		return;
	sqlite3_bind_int64(st, 1, OP_KEY(feed, f->judged_seq));
	if (sqlite3_step(st) == SQLITE_ROW && d->n < ML_OP_MAX_DEPS) {
		memcpy(d->ids[d->n].b, sqlite3_column_blob(st, 0), 32);
		d->n++;
		ml_frontier_raise(&d->known, feed, f->judged_seq);
	}
	sqlite3_reset(st);
}

static void need_op(struct ml_store *s, struct deps *d, const struct ml_hash *id)
{
	int64_t key = key_of(s, d, id);
	if (key > 0)
		need_feed(s, d, OP_KEY_FEED(key), OP_KEY_SEQ(key));
}

/* Every op of the table's rows for key (a unit, a device) through a query of (feed, seq) pairs. */
static void need_rows(struct ml_store *s, struct deps *d, const char *sql, const void *key,
                      size_t n)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_blob(st, 1, key, (int)n, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		need_feed(s, d, (uint64_t)sqlite3_column_int64(st, 0),
		          (uint64_t)sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
}

static void need_unit(struct ml_store *s, struct deps *d, const struct ml_hash *unit)
{
	need_rows(s, d, "SELECT created_feed, created_seq FROM units WHERE id = ?1", unit->b, 32);
	need_rows(s, d, "SELECT feed, seq FROM unit_moves WHERE unit = ?1", unit->b, 32);
	need_rows(s, d, "SELECT feed, seq FROM unit_ends WHERE unit = ?1", unit->b, 32);
}

/* Names every id a body refers to. */
static void need_body(struct ml_store *s, struct deps *d, const struct ml_draft *dr)
{
	struct ml_body b;
	if (ml_body_parse(&b, dr->body, dr->body_len, NULL) != ML_OK)
		return;
	static const char *const op_keys[] = {"member", "transfer", "a", "b"};
	static const char *const unit_keys[] = {"to", "into"};
	struct ml_hash h;
	for (size_t i = 0; i < sizeof op_keys / sizeof op_keys[0]; i++) {
		if (ml_body_hash(&b, op_keys[i], &h, NULL) != ML_OK)
			continue;
		need_op(s, d, &h);
		/* A member's record as the author sees it: every op about it. */
		struct member_ctx m;
		memset(&m, 0, sizeof m);
		if (ml__member_load(s, &h, &m, NULL) == ML_OK) {
			for (size_t k = 0; k < m.n; k++)
				need_feed(s, d, m.at[k].feed, m.at[k].seq);
			ml__member_return(s, &m); /* judged next, when the op is stored */
		}
		ml__member_ctx_release(&m);
	}
	for (size_t i = 0; i < sizeof unit_keys / sizeof unit_keys[0]; i++)
		if (ml_body_hash(&b, unit_keys[i], &h, NULL) == ML_OK)
			need_unit(s, d, &h);
	const uint8_t *ids;
	size_t k;
	if (ml_body_ids(&b, "changes", &ids, &k, NULL) == ML_OK)
		for (size_t i = 0; i < k; i++) {
			memcpy(h.b, ids + 32 * i, 32);
			need_op(s, d, &h);
		}
}

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int author_locked(struct ml_store *s, const struct ml_key *key, const struct ml_hash *unit,
                         enum ml_lane lane, const struct ml_draft *drafts, size_t n,
                         uint64_t now_ms, struct ml_hash *ids, struct ml_buf *bytes,
                         struct ml_buf *err);

int ml_author_write(struct ml_store *s, const struct ml_key *key, const struct ml_hash *unit,
                    enum ml_lane lane, const struct ml_draft *drafts, size_t n, uint64_t now_ms,
                    struct ml_hash *ids, struct ml_buf *bytes, struct ml_buf *err)
{
	if (n == 0 || n > ML_AUTHOR_MAX)
		return ml_errf(err, ML_EINVAL, "a write holds 1 to %d ops", ML_AUTHOR_MAX);
	/*
	 * The feed's head is read and the new ops stored in one transaction: two
	 * processes writing for one device (a command and `serve`) never both
	 * take the same position, which would be a fork of our own feed.
	 */
	int rc = ml__begin(s, err);
	if (rc == ML_OK)
		rc = author_locked(s, key, unit, lane, drafts, n, now_ms, ids, bytes, err);
	if (rc == ML_OK)
		rc = ml__commit(s, err);
	if (rc != ML_OK)
		ml__rollback(s);
	return rc;
}

static int author_locked(struct ml_store *s, const struct ml_key *key, const struct ml_hash *unit,
                         enum ml_lane lane, const struct ml_draft *drafts, size_t n,
                         uint64_t now_ms, struct ml_hash *ids, struct ml_buf *bytes,
                         struct ml_buf *err)
{
	bool genesis = strcmp(drafts[0].type, ML_OP_TYPE_GENESIS) == 0;
	struct ml_feed_head head = {.feed = {.author = key->pk, .lane = lane}};
	struct deps d;
	memset(&d, 0, sizeof d);
	struct ml_hlc clock = {0, 0};
	struct ml_buf v = ML_BUF_INIT;
	if (ml__meta_get(s, "clock", &v) == ML_OK && v.len == 12) {
		memcpy(&clock.ms, v.data, 8);
		memcpy(&clock.c, v.data + 8, 4);
	}
	ml_buf_release(&v);
	/* The receive rule of the hybrid clock: a new op orders after every op this node holds
	 * (ops from a device whose clock runs ahead included), so the last writer is the last
	 * to have seen the others - up to ML_HLC_ADOPT_MAX_MS ahead of our own clock, so that a
	 * clock far ahead cannot carry every node's stamps towards the drift bound. */
	int rc = ML_OK;
	sqlite3_stmt *latest = ml__stmt(s, ST_FEED_LATEST_HLC);
	int step = latest ? sqlite3_step(latest) : SQLITE_ERROR;
	if (step == SQLITE_ROW && sqlite3_column_type(latest, 0) != SQLITE_NULL) {
		struct ml_hlc seen = {(uint64_t)sqlite3_column_int64(latest, 0),
		                      (uint32_t)sqlite3_column_int64(latest, 1)};
		if (seen.ms > now_ms + ML_HLC_ADOPT_MAX_MS)
			seen = (struct ml_hlc){now_ms + ML_HLC_ADOPT_MAX_MS, 0};
		if (ml_hlc_cmp(seen, clock) > 0)
			clock = seen;
	} else if (step != SQLITE_ROW && step != SQLITE_DONE) {
		rc = ml__sqlerr(s, "read the clocks of the ops held", err);
	}
	if (latest)
		sqlite3_reset(latest);
	if (!genesis && rc == ML_OK) {
		head.feed.unit = *unit;
		struct feed *f;
		rc = ml__feed_get(s, &head.feed, false, &f, err);
		if (rc == ML_OK && f->auth_seq) {
			head.seq = f->auth_seq;
			head.id = f->auth_id;
			head.hlc = f->auth_hlc;
			d.own_feed = (uint64_t)f->id;
			/* what our feed's last op had in its past */
			sqlite3_stmt *st = ml__stmt(s, ST_OP_BY_KEY);
			int64_t past = 0;
			if (st) {
				sqlite3_bind_int64(st, 1, OP_KEY(f->id, f->auth_seq));
				if (sqlite3_step(st) == SQLITE_ROW)
					past = sqlite3_column_int64(st, 3);
				sqlite3_reset(st);
			}
			ml__frontier_load(s, past, &d.known, NULL);
			if (ml_hlc_cmp(head.hlc, clock) > 0)
				clock = head.hlc;
		} else if (rc == ML_ENOTFOUND) {
			rc = ML_OK;
		}
		ml__feeds_forget(s);
		if (rc == ML_OK) {
			need_rows(s, &d, "SELECT feed, seq FROM grants WHERE device = ?1",
			          key->pk.b, 32);
			need_unit(s, &d, unit);
			/* number ranges: those the author's units hold (approvals), and those
			 * the unit holds and has delegated (delegations) */
			need_rows(
			    s, &d,
			    "SELECT r.feed, r.seq FROM ranges r JOIN grants g ON g.unit = r.unit"
			    " WHERE g.device = ?1",
			    key->pk.b, 32);
			need_rows(s, &d,
			          "SELECT feed, seq FROM ranges WHERE unit = ?1 OR by_unit = ?1",
			          unit->b, 32);
			for (size_t i = 0; i < n; i++)
				need_body(s, &d, &drafts[i]);
			/* A dep left out for a failed lookup would get the op rejected as
			 * unseen: fail the write instead. */
			if (d.rc)
				rc = ml_errf(err, d.rc,
				             "cannot look up the ops this write depends on");
		}
		ml__feeds_forget(s);
	}
	struct ml_op *ops = ml_calloc(n, sizeof *ops);
	size_t *ends = ml_calloc(n, sizeof *ends);
	struct ml_buf out = ML_BUF_INIT;
	if (rc == ML_OK && (!ops || !ends))
		rc = ML_ENOMEM;
	qsort(d.ids, d.n, sizeof d.ids[0], cmp_hash);
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		ops[i].has_net = !genesis;
		if (!genesis && !ml_store_network(s, &ops[i].net))
			rc = ml_errf(err, ML_EINVAL, "this store has no network yet");
		if (strlen(drafts[i].type) > ML_OP_TYPE_MAX)
			rc = ml_errf(err, ML_EFIELD, "unknown op type '%s'", drafts[i].type);
		else
			strcpy(ops[i].type, drafts[i].type);
		ops[i].body = drafts[i].body;
		ops[i].body_len = drafts[i].body_len;
	}
	if (rc == ML_OK && d.n) {
		ops[0].deps = d.ids[0].b;
		ops[0].ndeps = d.n;
	}
	/* Batches of ML_BATCH_MAX ops, one signature each, chained; one transaction below. */
	for (size_t at = 0; at < n && rc == ML_OK; at += ML_BATCH_MAX) {
		size_t k = n - at < ML_BATCH_MAX ? n - at : ML_BATCH_MAX;
		rc = ml_feed_write_batch(&head, key, &clock, now_ms, ops + at, k, &out, ends + at,
		                         err);
	}
	if (rc == ML_OK) {
		const uint8_t **p = ml_calloc(n, sizeof *p);
		size_t *lens = ml_calloc(n, sizeof *lens);
		struct ml_ingest_result res;
		if (!p || !lens)
			rc = ML_ENOMEM;
		for (size_t i = 0; i < n && rc == ML_OK; i++) {
			p[i] = out.data + (i ? ends[i - 1] : 0);
			lens[i] = ends[i] - (i ? ends[i - 1] : 0);
		}
		if (rc == ML_OK)
			rc = ml__ingest(s, p, lens, n, now_ms, true, &res, err);
		if (rc == ML_OK && res.applied != n)
			rc = ml_errf(err, res.first_error ? res.first_error : ML_EINVAL, "%s",
			             res.first_message[0] ? res.first_message
			                                  : "not every op applied");
		ml_free(p);
		ml_free(lens);
	}
	if (rc == ML_OK) {
		uint8_t c[12];
		memcpy(c, &clock.ms, 8);
		memcpy(c + 8, &clock.c, 4);
		rc = ml__meta_set(s, "clock", c, 12, err);
		for (size_t i = 0; ids && i < n; i++)
			ids[i] = ops[i].id;
		if (rc == ML_OK && bytes)
			rc = ml_buf_add(bytes, out.data, out.len);
	}
	ml_frontier_release(&d.known);
	ml_buf_release(&out);
	ml_free(ops);
	ml_free(ends);
	return rc;
}
