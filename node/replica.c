/*
 * replica.c - the feeds and ops a node offers a peer (replica.h).
 *
 * Everything here reads; the store's writer is never involved, so sync can
 * read while `memberlog` commands write from another process.
 */
#include "replica.h"

#include "node_int.h"
#include "read.h"

#include "crdt/alloc.h"
#include "crdt/err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define FEED_KEY_DOMAIN "memberlog/feed/v1"

/* Wanted sets up to this many ops are read by key and sorted in memory (16 B each). */
#define SEND_SORT_MAX 200000

void ml_replica_feed_key(const struct ml_feed_id *f, uint8_t out[32])
{
	crypto_generichash_state h;
	uint8_t lane = (uint8_t)f->lane;
	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, (const uint8_t *)FEED_KEY_DOMAIN, sizeof FEED_KEY_DOMAIN);
	crypto_generichash_update(&h, f->author.b, 32);
	crypto_generichash_update(&h, f->unit.b, 32);
	crypto_generichash_update(&h, &lane, 1);
	crypto_generichash_final(&h, out, 32);
}

static int cmp_feed_key(const void *a, const void *b)
{
	return memcmp(((const struct ml_replica_feed *)a)->key,
	              ((const struct ml_replica_feed *)b)->key, 32);
}

static void feed_id_of(sqlite3_stmt *st, int col, struct ml_feed_id *f)
{
	memcpy(f->author.b, sqlite3_column_blob(st, col), 32);
	memcpy(f->unit.b, sqlite3_column_blob(st, col + 1), 32);
	f->lane = sqlite3_column_int(st, col + 2) ? ML_LANE_REG : ML_LANE_GOV;
}

int ml_replica_heads(struct ml_store *s, const struct ml_scope_set *sc,
                     struct ml_replica_feed **out, size_t *n, struct ml_buf *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st;
	int rc = ml_read_prepare(
	    s, "SELECT id, judged_seq, author, unit, lane FROM feeds WHERE judged_seq > 0", &st,
	    err);
	if (rc != ML_OK)
		return rc;
	struct ml_replica_feed *v = NULL;
	size_t k = 0, cap = 0;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct ml_replica_feed f;
		f.feed = sqlite3_column_int64(st, 0);
		f.seq = (uint64_t)sqlite3_column_int64(st, 1);
		feed_id_of(st, 2, &f.id);
		if (sc && !ml_scope_has(sc, &f.id.unit, f.id.lane))
			continue;
		ml_replica_feed_key(&f.id, f.key);
		struct ml_replica_feed *g = ml_grow(v, &cap, k + 1, sizeof *v, 256);
		if (!g) {
			rc = ML_ENOMEM;
			break;
		}
		v = g;
		v[k++] = f;
	}
	if (rc == ML_OK && step != SQLITE_DONE)
		rc = ml_errf(err, ML_ESTORE, "cannot list feeds: %s", ml_store_errmsg(s));
	sqlite3_finalize(st);
	if (rc != ML_OK) {
		ml_free(v);
		return rc;
	}
	if (k > 1)
		qsort(v, k, sizeof *v, cmp_feed_key);
	*out = v;
	*n = k;
	return ML_OK;
}

/* Hands the current row (key, eval, raw) of st to fn. */
static int hand_row(sqlite3_stmt *st, ml_replica_fn fn, void *ctx)
{
	int64_t key = sqlite3_column_int64(st, 0);
	struct ml_replica_op op = {
	    .feed = (int64_t)OP_KEY_FEED(key),
	    .seq = OP_KEY_SEQ(key),
	    .eval = sqlite3_column_int64(st, 1),
	    .raw = sqlite3_column_blob(st, 2),
	    .len = (size_t)sqlite3_column_bytes(st, 2),
	};
	return fn(ctx, &op);
}

struct keyed {
	int64_t eval, key;
};

struct ml_replica_cursor {
	bool scan; /* by the evaluation index; else the sorted keys */
	struct keyed *keys;
	size_t n_keys, at;
	struct ml_replica_want *want; /* sorted by feed (scan) */
	size_t n_want;
	int64_t last_eval; /* scan: the last evaluation number read */
	bool done;
};

static int cmp_keyed(const void *a, const void *b)
{
	int64_t x = ((const struct keyed *)a)->eval, y = ((const struct keyed *)b)->eval;
	return (x > y) - (x < y);
}

static int cmp_want(const void *a, const void *b)
{
	int64_t x = ((const struct ml_replica_want *)a)->feed,
	        y = ((const struct ml_replica_want *)b)->feed;
	return (x > y) - (x < y);
}

/* Small sets: every wanted (eval, key) by key range, sorted by eval. */
static int plan_sorted(struct ml_store *s, struct ml_replica_cursor *c, size_t total,
                       struct ml_buf *err)
{
	if (!(c->keys = ml_calloc(total, sizeof *c->keys)))
		return ML_ENOMEM;
	sqlite3_stmt *range;
	int rc = ml_read_prepare(s,
	                         "SELECT key, eval FROM ops WHERE key > ?1 AND key <= ?2"
	                         " AND eval IS NOT NULL",
	                         &range, err);
	for (size_t i = 0; i < c->n_want && rc == ML_OK; i++) {
		sqlite3_reset(range);
		sqlite3_bind_int64(range, 1, OP_KEY(c->want[i].feed, c->want[i].after));
		sqlite3_bind_int64(range, 2, OP_KEY(c->want[i].feed, c->want[i].upto));
		while (c->n_keys < total && sqlite3_step(range) == SQLITE_ROW) {
			c->keys[c->n_keys].key = sqlite3_column_int64(range, 0);
			c->keys[c->n_keys++].eval = sqlite3_column_int64(range, 1);
		}
	}
	if (rc == ML_OK)
		sqlite3_finalize(range);
	if (c->n_keys > 1)
		qsort(c->keys, c->n_keys, sizeof *c->keys, cmp_keyed);
	return rc;
}

/* Large sets: start the evaluation-index scan just before the earliest wanted op. */
static int plan_scan(struct ml_store *s, struct ml_replica_cursor *c, struct ml_buf *err)
{
	c->scan = true;
	sqlite3_stmt *first;
	int rc = ml_read_prepare(s, "SELECT eval FROM ops WHERE key = ?1", &first, err);
	int64_t from = INT64_MAX;
	for (size_t i = 0; i < c->n_want && rc == ML_OK; i++) {
		sqlite3_reset(first);
		sqlite3_bind_int64(first, 1, OP_KEY(c->want[i].feed, c->want[i].after + 1));
		if (sqlite3_step(first) == SQLITE_ROW &&
		    sqlite3_column_type(first, 0) != SQLITE_NULL &&
		    sqlite3_column_int64(first, 0) < from)
			from = sqlite3_column_int64(first, 0);
	}
	if (rc == ML_OK)
		sqlite3_finalize(first);
	c->last_eval = from == INT64_MAX ? INT64_MAX : from - 1;
	return rc;
}

int ml_replica_open(struct ml_store *s, const struct ml_replica_want *w, size_t n,
                    struct ml_replica_cursor **out, struct ml_buf *err)
{
	*out = NULL;
	struct ml_replica_cursor *c = ml_calloc(1, sizeof *c);
	if (!c || !(c->want = ml_calloc(n ? n : 1, sizeof *c->want))) {
		ml_free(c);
		return ML_ENOMEM;
	}
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		if (w[i].upto > w[i].after) {
			c->want[c->n_want++] = w[i];
			total += w[i].upto - w[i].after;
		}
	qsort(c->want, c->n_want, sizeof *c->want, cmp_want);
	int rc = ML_OK;
	if (total == 0)
		c->done = true;
	else if (total <= SEND_SORT_MAX)
		rc = plan_sorted(s, c, (size_t)total, err);
	else
		rc = plan_scan(s, c, err);
	if (rc != ML_OK) {
		ml_replica_close(c);
		return rc;
	}
	*out = c;
	return ML_OK;
}

void ml_replica_close(struct ml_replica_cursor *c)
{
	if (!c)
		return;
	ml_free(c->keys);
	ml_free(c->want);
	ml_free(c);
}

static int next_sorted(struct ml_store *s, struct ml_replica_cursor *c, size_t max_bytes,
                       ml_replica_fn fn, void *ctx, struct ml_buf *err)
{
	sqlite3_stmt *get;
	int rc = ml_read_prepare(s, "SELECT key, eval, raw FROM ops WHERE key = ?1", &get, err);
	size_t bytes = 0;
	while (rc == ML_OK && c->at < c->n_keys && bytes < max_bytes) {
		sqlite3_reset(get);
		sqlite3_bind_int64(get, 1, c->keys[c->at++].key);
		if (sqlite3_step(get) == SQLITE_ROW) {
			bytes += (size_t)sqlite3_column_bytes(get, 2);
			rc = hand_row(get, fn, ctx);
		}
	}
	sqlite3_finalize(get);
	c->done = c->at == c->n_keys;
	return rc;
}

static int next_scan(struct ml_store *s, struct ml_replica_cursor *c, size_t max_bytes,
                     ml_replica_fn fn, void *ctx, struct ml_buf *err)
{
	sqlite3_stmt *scan;
	int rc = ml_read_prepare(s,
	                         "SELECT key, eval, raw FROM ops WHERE eval > ?1 ORDER BY eval"
	                         " LIMIT 4096",
	                         &scan, err);
	size_t bytes = 0, rows = 1;
	while (rc == ML_OK && rows && bytes < max_bytes) {
		sqlite3_reset(scan);
		sqlite3_bind_int64(scan, 1, c->last_eval);
		rows = 0;
		int step;
		while (rc == ML_OK && bytes < max_bytes &&
		       (step = sqlite3_step(scan)) == SQLITE_ROW) {
			rows++;
			c->last_eval = sqlite3_column_int64(scan, 1);
			int64_t key = sqlite3_column_int64(scan, 0);
			struct ml_replica_want probe = {.feed = (int64_t)OP_KEY_FEED(key)};
			const struct ml_replica_want *hit =
			    bsearch(&probe, c->want, c->n_want, sizeof *c->want, cmp_want);
			uint64_t seq = OP_KEY_SEQ(key);
			if (hit && seq > hit->after && seq <= hit->upto) {
				bytes += (size_t)sqlite3_column_bytes(scan, 2);
				rc = hand_row(scan, fn, ctx);
			}
		}
		if (rc == ML_OK && rows == 0)
			c->done = true;
	}
	sqlite3_finalize(scan);
	return rc;
}

int ml_replica_next(struct ml_store *s, struct ml_replica_cursor *c, size_t max_bytes,
                    ml_replica_fn fn, void *ctx, bool *done, struct ml_buf *err)
{
	int rc = ML_OK;
	if (!c->done)
		rc = c->scan ? next_scan(s, c, max_bytes, fn, ctx, err)
		             : next_sorted(s, c, max_bytes, fn, ctx, err);
	*done = c->done;
	return rc;
}

int ml_replica_since(struct ml_store *s, int64_t after, size_t limit, ml_replica_pick_fn pick,
                     ml_replica_fn fn, void *ctx, int64_t *last, struct ml_buf *err)
{
	*last = after;
	/* The evaluation index holds the key: listing needs no op row.  After a frame from a
	 * peer, every new op is that peer's own, and none is read back for it. */
	sqlite3_stmt *list, *get = NULL;
	int rc = ml_read_prepare(s,
	                         "SELECT key, eval FROM ops INDEXED BY ops_eval"
	                         " WHERE eval > ?1 ORDER BY eval LIMIT ?2",
	                         &list, err);
	if (rc != ML_OK)
		return rc;
	sqlite3_bind_int64(list, 1, after);
	sqlite3_bind_int64(list, 2, (int64_t)limit);
	int step;
	while ((step = sqlite3_step(list)) == SQLITE_ROW) {
		int64_t key = sqlite3_column_int64(list, 0);
		*last = sqlite3_column_int64(list, 1);
		if (!pick(ctx, (int64_t)OP_KEY_FEED(key), OP_KEY_SEQ(key)))
			continue;
		if (!get &&
		    (rc = ml_read_prepare(s, "SELECT key, eval, raw FROM ops WHERE key = ?1", &get,
		                          err)) != ML_OK)
			break;
		sqlite3_reset(get);
		sqlite3_bind_int64(get, 1, key);
		int found = sqlite3_step(get);
		if (found != SQLITE_ROW) {
			rc = found == SQLITE_DONE
			         ? ml_errf(err, ML_ESTORE, "new op %lld is listed but has no row",
			                   (long long)key)
			         : ml_errf(err, ML_ESTORE, "cannot read a new op: %s",
			                   ml_store_errmsg(s));
			break;
		}
		if ((rc = hand_row(get, fn, ctx)) != ML_OK)
			break;
	}
	if (rc == ML_OK && step != SQLITE_DONE)
		rc = ml_errf(err, ML_ESTORE, "cannot read new ops: %s", ml_store_errmsg(s));
	sqlite3_finalize(get);
	sqlite3_finalize(list);
	return rc;
}

int ml_replica_last_eval(struct ml_store *s, int64_t *out, struct ml_buf *err)
{
	*out = 0;
	int rc = ml_read_int(s, "SELECT coalesce(max(eval), 0) FROM ops WHERE eval IS NOT NULL",
	                     NULL, 0, out, err);
	return rc == ML_ENOTFOUND ? ML_OK : rc;
}

int ml_replica_feed_id(struct ml_store *s, int64_t feed, struct ml_feed_id *out, struct ml_buf *err)
{
	sqlite3_stmt *st;
	int rc = ml_read_prepare(s, "SELECT author, unit, lane FROM feeds WHERE id = ?1", &st, err);
	if (rc != ML_OK)
		return rc;
	sqlite3_bind_int64(st, 1, feed);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		feed_id_of(st, 0, out);
	else if (step == SQLITE_DONE)
		rc = ml_errf(err, ML_ENOTFOUND, "no feed number %lld", (long long)feed);
	else
		rc = ml_errf(err, ML_ESTORE, "cannot read feed: %s", ml_store_errmsg(s));
	sqlite3_finalize(st);
	return rc;
}
