/*
 * ingest.c - taking a batch of ops into the store, as one transaction.
 *
 *   1. parse, hash and check signatures on two threads (no store access);
 *   2. refuse what cannot be stored (malformed, other network, future
 *      clock); skip duplicates; store the rest as `unverified`;
 *   3. authenticate each touched feed from its last authentic op: follow the
 *      prev links to the next signed op; if its signature verifies, the run
 *      becomes authentic (`waiting`); a bad signature, a broken link, a
 *      clock going back or an over-long unsigned run breaks the feed there;
 *   4. judge ops in feed order as soon as their deps are judged; an op
 *      whose dep is missing waits in `missing` and is released, with every
 *      op waiting behind it, when the dep is judged (a worklist, no
 *      recursion, so deep chains cost no stack);
 *   5. write feed heads back and commit.  After a revocation or a proven
 *      fork the store re-judges everything (rebuild) inside the same
 *      transaction.
 *
 * Ops that break their feed are rejected with the reason and kept; a
 * second authentic op at an occupied position proves equivocation.
 */
#include "cache.h"

#include "crdt/alloc.h"
#include "crdt/equiv.h"
#include "crdt/err.h"
#include "crdt/hlc.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct item {
	const uint8_t *p;
	size_t len;
	struct ml_op op;
	int rc;      /* parse result */
	bool sig_ok; /* signed and the signature verifies */
	int64_t key; /* ops.key once stored, 0 otherwise */
};

/* --- phase 1: parsing on two threads ------------------------------------ */

struct parse_job {
	struct item *items;
	size_t from, to;
};

static void *parse_range(void *arg)
{
	struct parse_job *j = arg;
	for (size_t i = j->from; i < j->to; i++) {
		struct item *it = &j->items[i];
		it->rc = ml_op_parse(it->p, it->len, &it->op, NULL);
		if (it->rc == ML_OK && it->op.has_sig)
			it->sig_ok = ml_op_verify_sig(&it->op, NULL) == ML_OK;
	}
	return NULL;
}

/* Parses every item, splitting the work with one helper thread when it pays. */
static void parse_all(struct item *items, size_t n)
{
	struct parse_job a = {items, 0, n}, b = {items, n, n};
	pthread_t t;
	bool helper = false;
	if (n >= 64) {
		a.to = b.from = n / 2;
		helper = pthread_create(&t, NULL, parse_range, &b) == 0;
		if (!helper)
			a.to = n;
	}
	parse_range(&a);
	if (helper)
		pthread_join(t, NULL);
}

/* --- helpers ------------------------------------------------------------- */

static int64_t idp_of(const struct ml_hash *id)
{
	int64_t v;
	memcpy(&v, id->b, 8);
	return v;
}

/* Finds the stored op with this id: sets *key and *status; ML_ENOTFOUND if none. */
static int find_op(struct ml_store *s, const struct ml_hash *id, int64_t *key, int *status,
                   struct ml_buf *err)
{
	sqlite3_stmt *st = ml__stmt(s, ST_OP_BY_IDP);
	if (!st)
		return ml__sqlerr(s, "find op", err);
	sqlite3_bind_int64(st, 1, idp_of(id));
	int rc, found = ML_ENOTFOUND;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 2) == 32 &&
		    memcmp(sqlite3_column_blob(st, 2), id->b, 32) == 0) {
			*key = sqlite3_column_int64(st, 0);
			*status = sqlite3_column_int(st, 1);
			found = ML_OK;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ml__sqlerr(s, "find op", err);
	return found;
}

static void note(struct ml_ingest_result *res, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct ml_ingest_result *res, int code, const char *fmt, ...)
{
	if (res->first_error)
		return;
	res->first_error = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->first_message, sizeof res->first_message, fmt, ap);
	va_end(ap);
}

static int set_status(struct ml_store *s, int64_t key, int status, int code, const char *reason,
                      struct ml_buf *err)
{
	sqlite3_stmt *st = ml__stmt(s, ST_OP_SET_STATUS);
	if (!st)
		return ml__sqlerr(s, "update op", err);
	sqlite3_bind_int64(st, 1, key);
	sqlite3_bind_int(st, 2, status);
	if (code)
		sqlite3_bind_int(st, 3, code);
	if (reason)
		sqlite3_bind_text(st, 4, reason, -1, SQLITE_TRANSIENT);
	return ml__exec(s, st, "update op", err);
}

/* A list of feeds to (re)visit, without repeats. */
struct feed_list {
	int64_t *ids;
	size_t n, cap;
};

static int feed_list_add(struct feed_list *l, int64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->ids[i] == id)
			return ML_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		int64_t *p = ml_realloc(l->ids, cap * sizeof *p);
		if (!p)
			return ML_ENOMEM;
		l->ids = p;
		l->cap = cap;
	}
	l->ids[l->n++] = id;
	return ML_OK;
}

/* --- phase 3: authentication of a feed's stored run ---------------------- */

/*
 * Breaks feed f from seq `from`: every stored op there and after is rejected
 * with code and reason; the feed accepts nothing at or after it any more.
 */
static int break_feed(struct ml_store *s, struct feed *f, uint64_t from, int code,
                      const char *reason, struct ml_ingest_result *res, struct ml_buf *err)
{
	if (!f->broken_seq || from < f->broken_seq) {
		f->broken_seq = from;
		f->broken_code = code;
		f->dirty = true;
	}
	sqlite3_stmt *st = ml__stmt(s, ST_OP_RANGE);
	if (!st)
		return ml__sqlerr(s, "read feed ops", err);
	sqlite3_bind_int64(st, 1, OP_KEY(f->id, from) - 1);
	sqlite3_bind_int64(st, 2, OP_KEY(f->id, ML_STORE_MAX_SEQ));
	int64_t keys[256];
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 256) {
		if (sqlite3_column_int(st, 2) <= OP_WAITING)
			keys[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < n; i++) {
		if ((rc = set_status(s, keys[i], OP_REJECTED, code, reason, err)) != ML_OK)
			return rc;
		s->waiting--;
		res->rejected++;
		res->waiting -= res->waiting ? 1 : 0;
	}
	note(res, code, "%s", reason);
	return ML_OK;
}

/* Returns true if item `it` of this batch carries op at key (to reuse its parse). */
static struct item *batch_item(struct item *items, size_t n, int64_t key)
{
	for (size_t i = 0; i < n; i++)
		if (items[i].key == key)
			return &items[i];
	return NULL;
}

/*
 * Walks f's stored ops after its authentic head; marks runs ending in a valid
 * signature authentic (status waiting).  Stops at a gap or an unsigned tail.
 */
static int authenticate(struct ml_store *s, struct feed *f, struct item *items, size_t n_items,
                        struct ml_ingest_result *res, struct ml_buf *err)
{
	if (f->broken_seq || f->top_seq <= f->auth_seq)
		return ML_OK;
	size_t span = (size_t)(f->top_seq - f->auth_seq);
	if (span > ML_BATCH_MAX)
		span = ML_BATCH_MAX;
	int64_t *keys = ml_calloc(span, sizeof *keys);
	struct ml_op *ops = ml_calloc(span, sizeof *ops);
	struct ml_buf *raws = ml_calloc(span, sizeof *raws);
	int rc = keys && ops && raws ? ML_OK : ML_ENOMEM;
	size_t got = 0;
	if (rc == ML_OK) {
		sqlite3_stmt *st = ml__stmt(s, ST_OP_RANGE);
		if (!st)
			rc = ml__sqlerr(s, "read feed ops", err);
		else {
			sqlite3_bind_int64(st, 1, OP_KEY(f->id, f->auth_seq));
			sqlite3_bind_int64(st, 2, OP_KEY(f->id, f->auth_seq + span));
			int q;
			while ((q = sqlite3_step(st)) == SQLITE_ROW && got < span) {
				int64_t key = sqlite3_column_int64(st, 0);
				if (OP_KEY_SEQ(key) != f->auth_seq + got + 1)
					break; /* a gap: wait for the missing op */
				keys[got] = key;
				struct item *it = batch_item(items, n_items, key);
				if (it) {
					ops[got] = it->op;
				} else {
					/* from an earlier batch: re-parse our own copy */
					ml_buf_add(&raws[got], sqlite3_column_blob(st, 3),
					           (size_t)sqlite3_column_bytes(st, 3));
					if (ml_op_parse(raws[got].data, raws[got].len, &ops[got],
					                NULL) != ML_OK)
						break;
				}
				got++;
			}
			sqlite3_reset(st);
			if (q != SQLITE_ROW && q != SQLITE_DONE)
				rc = ml__sqlerr(s, "read feed ops", err);
		}
	}
	/* Continuity from the authentic head, then signatures. */
	struct ml_op head = {0};
	size_t i = 0, authentic = 0;
	for (; i < got && rc == ML_OK; i++) {
		const struct ml_op *op = &ops[i];
		const struct ml_hash *want_prev = i ? &ops[i - 1].id : &f->auth_id;
		struct ml_hlc prev_hlc = i ? ops[i - 1].hlc : f->auth_hlc;
		bool first = op->seq == 1;
		char why[160];
		int code = ML_OK;
		if (!first && !ml_hash_eq(&op->prev, want_prev)) {
			code = ML_ESEQ;
			snprintf(why, sizeof why,
			         "ML_ESEQ: seq %llu does not follow the feed's op %llu",
			         (unsigned long long)op->seq, (unsigned long long)op->seq - 1);
		} else if ((!first || i) && ml_hlc_cmp(op->hlc, prev_hlc) <= 0) {
			code = ML_ECLOCK;
			snprintf(why, sizeof why, "ML_ECLOCK: clock of seq %llu goes back",
			         (unsigned long long)op->seq);
		} else if (i - authentic + 1 >= ML_BATCH_MAX && !op->has_sig) {
			code = ML_EBATCH;
			snprintf(why, sizeof why, "ML_EBATCH: %d ops without a signature",
			         ML_BATCH_MAX);
		} else if (op->has_sig) {
			struct item *it = batch_item(items, n_items, keys[i]);
			bool ok = it ? it->sig_ok : ml_op_verify_sig(op, NULL) == ML_OK;
			if (!ok) {
				code = ML_EBADSIG;
				snprintf(why, sizeof why,
				         "ML_EBADSIG: signature of seq %llu does not verify",
				         (unsigned long long)op->seq);
			}
		}
		if (code) {
			/* Unsigned ops before a bad signature can never be proven. */
			rc = break_feed(s, f, f->auth_seq + authentic + 1, code, why, res, err);
			break;
		}
		if (!op->has_sig)
			continue;
		for (size_t k = authentic; k <= i && rc == ML_OK; k++)
			rc = set_status(s, keys[k], OP_WAITING, 0, NULL, err);
		authentic = i + 1;
		head = *op;
	}
	if (rc == ML_OK && authentic) {
		f->auth_seq = head.seq;
		f->auth_id = head.id;
		f->auth_hlc = head.hlc;
		f->dirty = true;
	}
	for (size_t k = 0; raws && k < span; k++)
		ml_buf_release(&raws[k]);
	ml_free(raws);
	ml_free(ops);
	ml_free(keys);
	return rc;
}

/* --- forks ------------------------------------------------------------- */

/*
 * A second op at an occupied position.  If it is signed and verifies, and the
 * stored chain from that position reaches a signed op, the author provably
 * equivocated: keep the evidence and re-judge the feed from that position.
 * Otherwise keep it as an unproven candidate.
 */
static int handle_fork(struct ml_store *s, struct feed *f, struct item *it,
                       struct ml_ingest_result *res, struct ml_buf *err)
{
	sqlite3_stmt *st = ml__stmt(s, ST_FORK_ADD);
	if (!st)
		return ml__sqlerr(s, "store fork", err);
	sqlite3_bind_int64(st, 1, f->id);
	sqlite3_bind_int64(st, 2, (int64_t)it->op.seq);
	sqlite3_bind_blob(st, 3, it->op.id.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, it->p, (int)it->len, SQLITE_STATIC);
	int rc = ml__exec(s, st, "store fork", err);
	if (rc != ML_OK || !it->sig_ok || it->op.seq > f->auth_seq || f->fork_seq)
		return rc;
	/* The authentic chain from the same seq to its signed op. */
	st = ml__stmt(s, ST_OP_RANGE);
	if (!st)
		return ml__sqlerr(s, "read feed ops", err);
	sqlite3_bind_int64(st, 1, OP_KEY(f->id, it->op.seq) - 1);
	sqlite3_bind_int64(st, 2, OP_KEY(f->id, it->op.seq + ML_BATCH_MAX - 1));
	struct ml_buf raw = ML_BUF_INIT;
	size_t ends[ML_BATCH_MAX], n = 0;
	bool closed = false;
	while (!closed && sqlite3_step(st) == SQLITE_ROW && n < ML_BATCH_MAX) {
		if (ml_buf_add(&raw, sqlite3_column_blob(st, 3),
		               (size_t)sqlite3_column_bytes(st, 3)))
			break;
		ends[n++] = raw.len;
		struct ml_op tmp;
		closed =
		    ml_op_parse(raw.data + (n > 1 ? ends[n - 2] : 0),
		                ends[n - 1] - (n > 1 ? ends[n - 2] : 0), &tmp, NULL) == ML_OK &&
		    tmp.has_sig;
	}
	sqlite3_reset(st);
	struct ml_op *chain = closed ? ml_calloc(n, sizeof *chain) : NULL;
	struct ml_buf ev = ML_BUF_INIT;
	struct ml_equiv e;
	if (chain) {
		size_t start = 0;
		for (size_t i = 0; i < n; i++) {
			ml_op_parse(raw.data + start, ends[i] - start, &chain[i], NULL);
			start = ends[i];
		}
		if (ml_equiv_build(chain, n, &it->op, 1, &ev, &e, NULL) == ML_OK) {
			st = ml__stmt(s, ST_EVIDENCE_ADD);
			if (!st)
				rc = ml__sqlerr(s, "store evidence", err);
			else {
				sqlite3_bind_int64(st, 1, f->id);
				sqlite3_bind_int64(st, 2, (int64_t)it->op.seq);
				sqlite3_bind_blob(st, 3, ev.data, (int)ev.len, SQLITE_STATIC);
				rc = ml__exec(s, st, "store evidence", err);
			}
			if (rc == ML_OK) {
				f->fork_seq = it->op.seq;
				f->dirty = true;
				s->need_rebuild = true;
				note(res, ML_EFORK,
				     "ML_EFORK: the author signed two ops at seq %llu of one feed",
				     (unsigned long long)it->op.seq);
			}
		}
	}
	ml_free(chain);
	ml_buf_release(&ev);
	ml_buf_release(&raw);
	return rc;
}

/* --- phase 4: judging in causal order ------------------------------------ */

/* Judges f's authentic ops in order while their deps are judged. */
static int judge_feed(struct ml_store *s, struct feed *f, struct item *items, size_t n_items,
                      struct feed_list *wake, struct ml_ingest_result *res, struct ml_buf *err)
{
	int rc = ML_OK;
	struct ml_buf raw = ML_BUF_INIT;
	while (rc == ML_OK && f->judged_seq < f->auth_seq) {
		int64_t key = OP_KEY(f->id, f->judged_seq + 1);
		struct item *it = batch_item(items, n_items, key);
		struct ml_op op;
		if (it) {
			op = it->op;
		} else {
			sqlite3_stmt *st = ml__stmt(s, ST_OP_BY_KEY);
			if (!st)
				return ml__sqlerr(s, "read op", err);
			sqlite3_bind_int64(st, 1, key);
			int q = sqlite3_step(st);
			int status = q == SQLITE_ROW ? sqlite3_column_int(st, 1) : -1;
			ml_buf_reset(&raw);
			if (q == SQLITE_ROW)
				ml_buf_add(&raw, sqlite3_column_blob(st, 2),
				           (size_t)sqlite3_column_bytes(st, 2));
			sqlite3_reset(st);
			if (status > OP_WAITING) { /* judged already (rejected by a broken chain) */
				f->judged_seq++;
				f->dirty = true;
				continue;
			}
			if (status < 0 || ml_op_parse(raw.data, raw.len, &op, NULL) != ML_OK)
				break;
		}
		/* Every dep must be judged first. */
		bool blocked = false;
		for (size_t d = 0; d < op.ndeps && !blocked && rc == ML_OK; d++) {
			struct ml_hash dep = ml_op_dep(&op, d);
			int64_t dkey;
			int status;
			int q = find_op(s, &dep, &dkey, &status, err);
			if (q == ML_OK && status >= OP_APPLIED)
				continue;
			if (q != ML_OK && q != ML_ENOTFOUND) {
				rc = q;
				break;
			}
			blocked = true;
			sqlite3_stmt *st = ml__stmt(s, ST_MISSING_ADD);
			if (!st) {
				rc = ml__sqlerr(s, "record missing op", err);
				break;
			}
			sqlite3_bind_blob(st, 1, dep.b, 32, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 2, key);
			rc = ml__exec(s, st, "record missing op", err);
		}
		if (blocked || rc != ML_OK)
			break;
		rc = ml__judge(s, key, &op, res, err);
		if (rc != ML_OK)
			break;
		f->judged_seq++;
		f->dirty = true;
		s->waiting--;
		/* Release the ops waiting for this one. */
		sqlite3_stmt *st = ml__stmt(s, ST_MISSING_TAKE);
		if (!st) {
			rc = ml__sqlerr(s, "read missing", err);
			break;
		}
		sqlite3_bind_blob(st, 1, op.id.b, 32, SQLITE_TRANSIENT);
		bool any = false;
		while (sqlite3_step(st) == SQLITE_ROW) {
			any = true;
			if ((rc = feed_list_add(wake,
			                        (int64_t)OP_KEY_FEED(sqlite3_column_int64(st, 0)))))
				break;
		}
		sqlite3_reset(st);
		if (any && rc == ML_OK) {
			st = ml__stmt(s, ST_MISSING_DEL);
			sqlite3_bind_blob(st, 1, op.id.b, 32, SQLITE_TRANSIENT);
			rc = ml__exec(s, st, "clear missing", err);
		}
	}
	ml_buf_release(&raw);
	return rc;
}

/* --- the transaction ------------------------------------------------------ */

static int store_item(struct ml_store *s, struct item *it, uint64_t now_ms,
                      struct feed_list *touched, struct ml_ingest_result *res, struct ml_buf *err)
{
	struct ml_buf msg = ML_BUF_INIT;
	int rc;
	if (it->rc != ML_OK) {
		ml_op_parse(it->p, it->len, &it->op, &msg);
		note(res, it->rc, "%s: %s", ml_err_name(it->rc), ml_buf_str(&msg));
		res->refused++;
		ml_buf_release(&msg);
		return ML_OK;
	}
	const struct ml_op *op = &it->op;
	if (!s->have_net && ml_op_is_genesis(op) && it->sig_ok) {
		if ((rc = ml_store_set_network(s, &op->id, err)) != ML_OK)
			return rc;
	}
	if (!s->have_net || ml_op_check_network(op, &s->net, &msg) != ML_OK) {
		note(res, ML_EWRONGNET, "ML_EWRONGNET: %s",
		     s->have_net ? ml_buf_str(&msg) : "this store has no network yet");
		res->refused++;
		ml_buf_release(&msg);
		return ML_OK;
	}
	if (ml_hlc_check_drift(op->hlc, now_ms, &msg) != ML_OK || op->seq > ML_STORE_MAX_SEQ) {
		note(res, op->seq > ML_STORE_MAX_SEQ ? ML_ETOOBIG : ML_EFUTURE, "%s",
		     op->seq > ML_STORE_MAX_SEQ ? "ML_ETOOBIG: seq beyond 2^32-1"
		                                : ml_buf_str(&msg));
		res->refused++;
		ml_buf_release(&msg);
		return ML_OK;
	}
	ml_buf_release(&msg);
	int64_t key;
	int status;
	rc = find_op(s, &op->id, &key, &status, err);
	if (rc == ML_OK) {
		res->duplicate++;
		return ML_OK;
	}
	if (rc != ML_ENOTFOUND)
		return rc;
	struct ml_feed_id fid = ml_feed_of(op);
	struct feed *f;
	if ((rc = ml__feed_get(s, &fid, true, &f, err)) != ML_OK)
		return rc;
	if (f->broken_seq && op->seq >= f->broken_seq) {
		note(res, f->broken_code, "%s: the feed is invalid from seq %llu",
		     ml_err_name(f->broken_code), (unsigned long long)f->broken_seq);
		res->refused++;
		return ML_OK;
	}
	key = OP_KEY(f->id, op->seq);
	sqlite3_stmt *st = ml__stmt(s, ST_OP_INSERT);
	if (!st)
		return ml__sqlerr(s, "store op", err);
	sqlite3_bind_int64(st, 1, key);
	sqlite3_bind_int64(st, 2, idp_of(&op->id));
	sqlite3_bind_blob(st, 3, op->id.b, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, OP_UNVERIFIED);
	sqlite3_bind_blob(st, 5, it->p, (int)it->len, SQLITE_STATIC);
	int q = sqlite3_step(st);
	sqlite3_reset(st);
	if (q == SQLITE_CONSTRAINT_PRIMARYKEY) /* another op holds this position */
		return handle_fork(s, f, it, res, err);
	if (q != SQLITE_DONE)
		return ml__sqlerr(s, "store op", err);
	it->key = key;
	if (op->seq > f->top_seq) {
		f->top_seq = op->seq;
		f->dirty = true;
	}
	s->waiting++;
	return feed_list_add(touched, f->id);
}

static int save_counters(struct ml_store *s, struct ml_buf *err)
{
	int rc = ml__meta_set(s, "next_eval", &s->next_eval, 8, err);
	if (rc == ML_OK)
		rc = ml__meta_set(s, "waiting", &s->waiting, 8, err);
	return rc;
}

int ml_store_ingest(struct ml_store *s, const uint8_t *const *ops, const size_t *lens, size_t n,
                    uint64_t now_ms, struct ml_ingest_result *res, struct ml_buf *err)
{
	return ml__ingest(s, ops, lens, n, now_ms, false, res, err);
}

int ml__ingest(struct ml_store *s, const uint8_t *const *ops, const size_t *lens, size_t n,
               uint64_t now_ms, bool all_or_nothing, struct ml_ingest_result *res,
               struct ml_buf *err)
{
	memset(res, 0, sizeof *res);
	res->received = n;
	struct item *items = ml_calloc(n ? n : 1, sizeof *items);
	if (!items)
		return ML_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		items[i].p = ops[i];
		items[i].len = lens[i];
	}
	parse_all(items, n);

	int64_t waiting_before = s->waiting, eval_before = s->next_eval;
	bool have_net_before = s->have_net;
	int rc = ml__exec(s, ml__stmt(s, ST_BEGIN), "begin", err);
	if (rc != ML_OK) {
		ml_free(items);
		return rc;
	}
	struct feed_list touched = {0}, wake = {0};
	for (size_t i = 0; i < n && rc == ML_OK; i++)
		rc = store_item(s, &items[i], now_ms, &touched, res, err);
	if (rc == ML_OK && s->waiting > ML_STORE_MAX_WAITING)
		rc = ml_errf(
		    err, ML_EAGAIN,
		    "%lld ops would wait for missing ops, more than the %d allowed; send the "
		    "missing ops first",
		    (long long)s->waiting, ML_STORE_MAX_WAITING);
	for (size_t i = 0; i < touched.n && rc == ML_OK; i++) {
		struct feed *f;
		rc = ml__feed_by_id(s, touched.ids[i], &f, err);
		if (rc == ML_OK)
			rc = authenticate(s, f, items, n, res, err);
		if (rc == ML_OK)
			rc = feed_list_add(&wake, f->id);
	}
	/* Judge until nothing more can move. */
	for (size_t i = 0; i < wake.n && rc == ML_OK; i++) {
		struct feed *f;
		rc = ml__feed_by_id(s, wake.ids[i], &f, err);
		if (rc == ML_OK)
			rc = judge_feed(s, f, items, n, &wake, res, err);
	}
	if (rc == ML_OK && s->need_rebuild && !s->rebuilding) {
		rc = ml__feeds_flush(s, err);
		if (rc == ML_OK)
			rc = ml__rebuild_locked(s, err);
		res->rebuilt = rc == ML_OK;
	}
	if (rc == ML_OK && all_or_nothing &&
	    (res->refused || res->rejected || res->duplicate || res->applied < n))
		rc = ml_errf(err, res->first_error ? res->first_error : ML_EINVAL, "%s",
		             res->first_message[0] ? res->first_message
		                                   : "the ops could not all be applied at once");
	if (rc == ML_OK)
		rc = ml__feeds_flush(s, err);
	if (rc == ML_OK)
		rc = save_counters(s, err);
	if (rc == ML_OK)
		rc = ml__exec(s, ml__stmt(s, ST_COMMIT), "commit", err);
	if (rc != ML_OK) {
		ml__exec(s, ml__stmt(s, ST_ROLLBACK), "rollback", NULL);
		ml__feeds_forget(s);
		ml__cache_clear(s);
		for (size_t i = 0; i < sizeof s->fc / sizeof s->fc[0]; i++)
			s->fc[i].used = false;
		s->waiting = waiting_before;
		s->next_eval = eval_before;
		s->have_net = have_net_before;
		s->need_rebuild = false;
		ml__revs_release(s);
		ml__revs_load(s, NULL);
	} else {
		res->waiting =
		    (size_t)(s->waiting > waiting_before ? s->waiting - waiting_before : 0);
	}
	ml_free(touched.ids);
	ml_free(wake.ids);
	ml_free(items);
	return rc;
}
