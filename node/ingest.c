/*
 * ingest.c - taking a batch of ops into the store, as one transaction.
 *
 *   1. parse, hash, check signatures and check bodies against the network's
 *      schema on two threads (no store access),
 *      or earlier, on another thread, while the batch before is ingested
 *      (struct ml_batch: `memberlog ingest`, and a peer's OPS frames in
 *      net/inbox.c);
 *   2. refuse what cannot be stored (malformed, forged signature, other
 *      network, future clock); skip duplicates; keep the rest as
 *      candidates in `pending` - several may claim one feed position;
 *   3. authenticate each touched feed: from its last authentic op, follow
 *      candidates whose prev links hold and whose clocks increase to a
 *      signed op that verifies; that chain becomes authentic (`ops`,
 *      status waiting).  Candidates that never reach a valid signature are
 *      never trusted (a forger cannot block a feed).  Two different chains
 *      that both reach valid signatures from one position prove the author
 *      equivocated: the evidence is kept, both chains from that position
 *      move to `forks`, and the store re-judges everything;
 *   4. judge ops in feed order as soon as their deps are judged; an op
 *      whose dep is missing waits in `missing` and is released, with every
 *      op waiting behind it, when the dep is judged (a worklist: deep
 *      chains cost no stack);
 *   5. write feed heads back and commit.
 */
#include "cache.h"
#include "opindex.h"

#include "crdt/alloc.h"
#include "crdt/equiv.h"
#include "crdt/err.h"
#include "crdt/hlc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct item {
	const uint8_t *p;
	size_t len;
	struct ml_op op;
	int rc;         /* parse result */
	bool sig_ok;    /* signed and the signature verifies */
	bool candidate; /* stored nowhere yet: a candidate for its feed */
	struct feed *feed;
	int64_t key; /* ops key once authentic, 0 before */
	struct schema_verdict schema;
};

/* --- phase 1: parsing on two threads ------------------------------------ */

struct parse_job {
	struct item *items;
	size_t n;
	enum ml_org org;    /* the store's, for the schema check */
	atomic_size_t next; /* first item no thread has taken yet */
};

/* Checks the item's body against org's schema: pure, so it is done here rather than on the thread
 * that writes the store (about 4 % of its time, perf).  Out of memory leaves it to the judge. */
static void check_schema(struct item *it, enum ml_org org)
{
	struct ml_body body;
	struct ml_buf msg = ML_BUF_INIT;
	struct schema_verdict *v = &it->schema;
	int rc = ml_schema_check(&it->op, org, &body, &v->type, &msg);
	if (rc != ML_ENOMEM && (rc == ML_OK || (v->msg = ml_strdup(ml_buf_str(&msg))))) {
		v->org = org;
		v->done = true;
	}
	ml_buf_release(&msg);
}

/* Signatures sit at the ends of signed runs, not evenly, so threads take small
 * chunks in turn rather than halves: one thread never waits on the other's share. */
#define PARSE_CHUNK 8

static void *parse_chunks(void *arg)
{
	struct parse_job *j = arg;
	size_t from;
	while ((from = atomic_fetch_add(&j->next, PARSE_CHUNK)) < j->n) {
		size_t to = from + PARSE_CHUNK < j->n ? from + PARSE_CHUNK : j->n;
		for (size_t i = from; i < to; i++) {
			struct item *it = &j->items[i];
			it->rc = ml_op_parse(it->p, it->len, &it->op, NULL);
			if (it->rc == ML_OK && it->op.has_sig)
				it->sig_ok = ml_op_verify_sig(&it->op, NULL) == ML_OK;
			if (it->rc == ML_OK)
				check_schema(it, j->org);
		}
	}
	return NULL;
}

/* Parses and checks every item; with a helper thread when it pays and helper is set. */
static void parse_items(struct item *items, size_t n, enum ml_org org, bool helper)
{
	struct parse_job job = {items, n, org, 0};
	pthread_t t;
	helper = helper && n >= 64 && pthread_create(&t, NULL, parse_chunks, &job) == 0;
	parse_chunks(&job);
	if (helper)
		pthread_join(t, NULL);
}

struct ml_batch {
	struct item *items;
	size_t n;
	enum ml_org org; /* the store's when the batch was made */
	pthread_t thread;
	bool checking; /* a thread is checking: join it before reading items */
	bool checked;
	bool ingested;
};

int ml_batch_new(const struct ml_store *s, const uint8_t *const *ops, const size_t *lens, size_t n,
                 struct ml_batch **out)
{
	*out = NULL;
	struct ml_batch *b = ml_calloc(1, sizeof *b);
	struct item *items = ml_calloc(n ? n : 1, sizeof *items);
	if (!b || !items) {
		ml_free(b);
		ml_free(items);
		return ML_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		items[i].p = ops[i];
		items[i].len = lens[i];
	}
	b->items = items;
	b->n = n;
	b->org = s->org;
	*out = b;
	return ML_OK;
}

size_t ml_batch_len(const struct ml_batch *b)
{
	return b->n;
}

void ml_batch_check(struct ml_batch *b)
{
	parse_items(b->items, b->n, b->org, false);
	b->checked = true;
}

static void *check_batch(void *arg)
{
	ml_batch_check(arg);
	return NULL;
}

void ml_batch_check_start(struct ml_batch *b)
{
	if (b->checking || b->checked)
		return;
	/* One thread: the caller's is meant to be ingesting the batch before this one. */
	if (pthread_create(&b->thread, NULL, check_batch, b) == 0)
		b->checking = true;
	else
		ml_batch_check(b);
}

/* Waits for a check started on another thread; then b's items are checked. */
static void batch_join(struct ml_batch *b)
{
	if (b->checking)
		pthread_join(b->thread, NULL);
	b->checking = false;
}

void ml_batch_free(struct ml_batch *b)
{
	if (!b)
		return;
	batch_join(b);
	for (size_t i = 0; i < b->n; i++)
		ml_free(b->items[i].schema.msg);
	ml_free(b->items);
	ml_free(b);
}

/* --- fresh ops: authentic, in memory until judged ------------------------ */

static size_t fresh_slot(int64_t key, size_t n_slots)
{
	uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h ^ (h >> 32)) & (n_slots - 1);
}

struct fresh *ml__fresh_at(struct ml_store *s, int64_t key)
{
	if (!s->n_fresh_slots)
		return NULL;
	for (size_t i = fresh_slot(key, s->n_fresh_slots);; i = (i + 1) & (s->n_fresh_slots - 1)) {
		uint32_t at = s->fresh_slots[i];
		if (!at)
			return NULL;
		if (s->fresh[at - 1].key == key)
			return &s->fresh[at - 1];
	}
}

/* Points key's slot at fresh[idx]: a later op with the same key hides an earlier one. */
static void fresh_slot_put(struct ml_store *s, size_t idx)
{
	int64_t key = s->fresh[idx].key;
	size_t i = fresh_slot(key, s->n_fresh_slots);
	while (s->fresh_slots[i] && s->fresh[s->fresh_slots[i] - 1].key != key)
		i = (i + 1) & (s->n_fresh_slots - 1);
	s->fresh_slots[i] = (uint32_t)idx + 1;
}

/* Makes room in the key table for one more fresh op, at most half full. */
static int fresh_slots_reserve(struct ml_store *s)
{
	if (2 * (s->n_fresh + 1) <= s->n_fresh_slots)
		return ML_OK;
	size_t n = s->n_fresh_slots ? 2 * s->n_fresh_slots : 1024;
	uint32_t *slots = ml_calloc(n, sizeof *slots);
	if (!slots)
		return ML_ENOMEM;
	ml_free(s->fresh_slots);
	s->fresh_slots = slots;
	s->n_fresh_slots = n;
	for (size_t i = 0; i < s->n_fresh; i++)
		fresh_slot_put(s, i);
	return ML_OK;
}

static struct fresh *fresh_by_id(struct ml_store *s, const struct ml_hash *id)
{
	for (size_t i = s->n_fresh; i-- > 0;)
		if (!s->fresh[i].stored && ml_hash_eq(&s->fresh[i].id, id))
			return &s->fresh[i];
	return NULL;
}

static int fresh_add(struct ml_store *s, int64_t key, const struct ml_hash *id, const uint8_t *raw,
                     size_t len, bool copy)
{
	if (s->n_fresh >= UINT32_MAX - 1 || fresh_slots_reserve(s) != ML_OK)
		return ML_ENOMEM;
	struct fresh *v = ml_grow(s->fresh, &s->cap_fresh, s->n_fresh + 1, sizeof *v, 256);
	if (!v)
		return ML_ENOMEM;
	s->fresh = v;
	struct fresh *f = &s->fresh[s->n_fresh];
	*f = (struct fresh){.key = key, .id = *id, .raw = raw, .len = len};
	if (copy) {
		if (!(f->copy = ml_malloc(len)))
			return ML_ENOMEM;
		memcpy(f->copy, raw, len);
		f->raw = f->copy;
	}
	fresh_slot_put(s, s->n_fresh++);
	return ML_OK;
}

/* Writes every fresh op not yet written as waiting (its judging waits for a later batch). */
static int fresh_store(struct ml_store *s, struct ml_buf *err)
{
	int rc = ML_OK;
	for (size_t i = 0; i < s->n_fresh && rc == ML_OK; i++) {
		struct fresh *f = &s->fresh[i];
		if (f->stored)
			continue;
		sqlite3_stmt *st = ml__stmt(s, ST_OP_INSERT);
		if (!st)
			return ml__sqlerr(s, "store op", err);
		sqlite3_bind_int64(st, 1, f->key);
		sqlite3_bind_blob(st, 2, f->id.b, 32, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, OP_WAITING);
		sqlite3_bind_blob(st, 4, f->raw, (int)f->len, SQLITE_STATIC);
		rc = ml__exec(s, st, "store op", err);
		if (rc == ML_OK)
			rc = ml__opindex_add(s, &f->id, f->key, err);
		f->stored = true;
	}
	return rc;
}

static void fresh_clear(struct ml_store *s)
{
	for (size_t i = 0; i < s->n_fresh; i++)
		ml_free(s->fresh[i].copy);
	if (s->n_fresh)
		memset(s->fresh_slots, 0, s->n_fresh_slots * sizeof *s->fresh_slots);
	s->n_fresh = 0;
}

/* Finds the authentic op with this id: sets *key and *status; ML_ENOTFOUND if none. */
static int find_op(struct ml_store *s, const struct ml_hash *id, int64_t *key, int *status,
                   struct ml_buf *err)
{
	const struct fresh *fr = fresh_by_id(s, id);
	if (fr) {
		*key = fr->key;
		*status = OP_WAITING;
		return ML_OK;
	}
	return ml__opindex_find(s, id, key, status, err);
}

/* Finds id in `pending` or `forks` (by_fork): ML_OK, ML_ENOTFOUND, ML_ESTORE. */
static int find_in(struct ml_store *s, enum stmt_id which, const struct ml_hash *id,
                   struct ml_buf *err)
{
	sqlite3_stmt *st = ml__stmt(s, which);
	if (!st)
		return ml__sqlerr(s, "find op", err);
	sqlite3_bind_blob(st, 1, id->b, 32, SQLITE_STATIC);
	int q = sqlite3_step(st);
	sqlite3_reset(st);
	if (q == SQLITE_ROW)
		return ML_OK;
	return q == SQLITE_DONE ? ML_ENOTFOUND : ml__sqlerr(s, "find op", err);
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

/*
 * A queue of feeds to (re)visit.  A feed already visited may be queued again
 * (an op it holds was released); one still waiting in the queue is not.
 */
struct feed_list {
	int64_t *ids;
	size_t n, cap;
	size_t next; /* entries before it have been visited */
};

static int feed_list_add(struct feed_list *l, int64_t id)
{
	for (size_t i = l->next; i < l->n; i++)
		if (l->ids[i] == id)
			return ML_OK;
	int64_t *p = ml_grow(l->ids, &l->cap, l->n + 1, sizeof *p, 16);
	if (!p)
		return ML_ENOMEM;
	l->ids = p;
	l->ids[l->n++] = id;
	return ML_OK;
}

/*
 * Queues the feeds of ops waiting for ops that now sit in `forks` for feed:
 * such a dep counts as judged (judge_feed), so they can move again.
 */
static int wake_fork_waiters(struct ml_store *s, int64_t feed, struct feed_list *wake,
                             struct ml_buf *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT DISTINCT op FROM missing WHERE dep IN"
	                       " (SELECT id FROM forks WHERE feed = ?1)",
	                       -1, &st, NULL) != SQLITE_OK)
		return ml__sqlerr(s, "read missing", err);
	sqlite3_bind_int64(st, 1, feed);
	int rc = ML_OK, q;
	while (rc == ML_OK && (q = sqlite3_step(st)) == SQLITE_ROW)
		rc = feed_list_add(wake, (int64_t)OP_KEY_FEED(sqlite3_column_int64(st, 0)));
	sqlite3_finalize(st);
	return rc;
}

int ml__op_bytes(struct ml_store *s, int64_t key, struct ml_buf *out, struct ml_hash *id,
                 struct ml_buf *err)
{
	const struct fresh *fr = ml__fresh_at(s, key);
	if (fr && !fr->stored) {
		if (id)
			*id = fr->id;
		return ml_buf_add(out, fr->raw, fr->len);
	}
	sqlite3_stmt *st = ml__stmt(s, ST_OP_BY_KEY);
	if (!st)
		return ml__sqlerr(s, "read op", err);
	sqlite3_bind_int64(st, 1, key);
	int q = sqlite3_step(st), rc = ML_ENOTFOUND;
	if (q == SQLITE_ROW) {
		if (id)
			memcpy(id->b, sqlite3_column_blob(st, 0), 32);
		rc = ml_buf_add(out, sqlite3_column_blob(st, 2),
		                (size_t)sqlite3_column_bytes(st, 2));
	}
	sqlite3_reset(st);
	if (q != SQLITE_ROW && q != SQLITE_DONE)
		return ml__sqlerr(s, "read op", err);
	return rc;
}

/* Reads the authentic op at (feed, seq) into raw and op; ML_ENOTFOUND if none. */
static int read_op(struct ml_store *s, int64_t feed, uint64_t seq, struct ml_buf *raw,
                   struct ml_op *op, struct ml_buf *err)
{
	ml_buf_reset(raw);
	struct ml_hash id;
	int rc = ml__op_bytes(s, OP_KEY(feed, seq), raw, &id, err);
	if (rc == ML_OK && ml_op_parse_known(raw->data, raw->len, &id, op, NULL) != ML_OK)
		rc = ml_errf(err, ML_ESTORE, "a stored op no longer parses");
	return rc;
}

/* --- phase 3: authenticating candidate chains ----------------------------- */

/*
 * A candidate op of a feed: from this batch (item >= 0, bytes borrowed) or
 * from the pending table (bytes owned).
 */
struct cand {
	struct ml_buf own;
	const uint8_t *raw;
	size_t raw_len;
	struct ml_op op;
	int item;    /* index in the batch's items, -1 when read from pending */
	bool valid;  /* signed with a valid signature */
	bool leads;  /* reaches a valid signature through candidates */
	int next;    /* index of the single leading child, -1 if none or several */
	int n_leads; /* leading children */
};

/* Candidate j continues candidate i: next seq, prev link, clock increasing. */
static bool continues(const struct cand *i, const struct cand *j)
{
	return j->op.seq == i->op.seq + 1 && ml_hash_eq(&j->op.prev, &i->op.id) &&
	       ml_hlc_cmp(j->op.hlc, i->op.hlc) > 0;
}

static int by_seq(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	return x->op.seq < y->op.seq ? -1 : x->op.seq > y->op.seq;
}

struct cands {
	struct cand *c;
	size_t n, cap;
};

static struct cand *cand_add(struct cands *cs)
{
	struct cand *v = ml_grow(cs->c, &cs->cap, cs->n + 1, sizeof *v, 64);
	if (!v)
		return NULL;
	cs->c = v;
	struct cand *c = &cs->c[cs->n++];
	memset(c, 0, sizeof *c);
	c->next = -1;
	c->item = -1;
	return c;
}

/* Empties cs for the next feed, keeping its array. */
static void cands_clear(struct cands *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		ml_buf_release(&cs->c[i].own);
	cs->n = 0;
}

static void cands_release(struct cands *cs)
{
	cands_clear(cs);
	ml_free(cs->c);
	memset(cs, 0, sizeof *cs);
}

/*
 * Gathers feed f's candidates: this batch's, and the pending table's when it
 * holds some for f, sorted by seq; then marks which lead to a valid signature.
 */
static int gather(struct ml_store *s, struct feed *f, struct item *items, size_t n_items,
                  struct cands *cs, struct ml_buf *err)
{
	cands_clear(cs);
	for (size_t i = 0; i < n_items; i++) {
		if (!items[i].candidate || items[i].feed != f)
			continue;
		struct cand *c = cand_add(cs);
		if (!c)
			return ML_ENOMEM;
		c->raw = items[i].p;
		c->raw_len = items[i].len;
		c->op = items[i].op;
		c->item = (int)i;
		c->valid = items[i].op.has_sig && items[i].sig_ok;
	}
	if (f->pending) {
		sqlite3_stmt *st = ml__stmt(s, ST_PENDING_RANGE);
		if (!st)
			return ml__sqlerr(s, "read candidates", err);
		uint64_t low = f->auth_seq > ML_BATCH_MAX ? f->auth_seq - ML_BATCH_MAX : 0;
		sqlite3_bind_int64(st, 1, f->id);
		sqlite3_bind_int64(st, 2, (int64_t)low);
		sqlite3_bind_int64(st, 3, (int64_t)(f->auth_seq + ML_BATCH_MAX));
		int q, rc = ML_OK;
		while ((q = sqlite3_step(st)) == SQLITE_ROW && cs->n < 4 * ML_BATCH_MAX) {
			struct cand *c = cand_add(cs);
			if (!c) {
				rc = ML_ENOMEM;
				break;
			}
			rc = ml_buf_add(&c->own, sqlite3_column_blob(st, 4),
			                (size_t)sqlite3_column_bytes(st, 4));
			if (rc != ML_OK)
				break;
			c->raw = c->own.data;
			c->raw_len = c->own.len;
			if (ml_op_parse(c->raw, c->raw_len, &c->op, NULL) != ML_OK) {
				cs->n--; /* stored before, but no longer parses: ignore it */
				ml_buf_release(&c->own);
				continue;
			}
			c->valid = c->op.has_sig && ml_op_verify_sig(&c->op, NULL) == ML_OK;
		}
		sqlite3_reset(st);
		if (rc == ML_OK && q != SQLITE_ROW && q != SQLITE_DONE)
			rc = ml__sqlerr(s, "read candidates", err);
		if (rc != ML_OK)
			return rc;
	}
	if (cs->n > 1)
		qsort(cs->c, cs->n, sizeof *cs->c, by_seq);
	/* Which candidates lead to a valid signature, from the highest seq down. */
	for (size_t i = cs->n; i-- > 0;) {
		struct cand *c = &cs->c[i];
		for (size_t k = i + 1; k < cs->n && cs->c[k].op.seq <= c->op.seq + 1; k++) {
			struct cand *d = &cs->c[k];
			if (d->leads && continues(c, d)) {
				c->n_leads++;
				c->next = c->n_leads == 1 ? (int)k : -1;
			}
		}
		c->leads = c->valid || c->n_leads > 0;
	}
	return ML_OK;
}

/* Makes candidate c an authentic op of f, waiting to be judged (written when judged). */
static int promote(struct ml_store *s, struct feed *f, struct cand *c, struct item *items,
                   struct ml_buf *err)
{
	int64_t key = OP_KEY(f->id, c->op.seq);
	int rc = fresh_add(s, key, &c->op.id, c->raw, c->raw_len, c->item < 0);
	if (rc != ML_OK)
		return rc;
	if (c->item >= 0) {
		items[c->item].candidate = false;
		items[c->item].key = key;
		s->waiting++;
		return ML_OK;
	}
	/* from the pending table: it was counted waiting when it was stored */
	sqlite3_stmt *st = ml__stmt(s, ST_PENDING_DEL);
	if (!st)
		return ml__sqlerr(s, "drop candidate", err);
	sqlite3_bind_blob(st, 1, c->op.id.b, 32, SQLITE_STATIC);
	if (f->pending)
		f->pending--;
	return ml__exec(s, st, "drop candidate", err);
}

/* Collects the chain from candidate i down its single leading path to its first valid signature. */
static size_t chain_from(const struct cands *cs, size_t i, struct ml_op *out, size_t cap)
{
	size_t n = 0;
	for (int k = (int)i; k >= 0 && n < cap; k = cs->c[k].next) {
		out[n] = cs->c[k].op;
		out[n].raw = cs->c[k].raw;
		out[n].raw_len = cs->c[k].raw_len;
		n++;
		if (cs->c[k].valid || cs->c[k].n_leads != 1)
			break;
	}
	return n;
}

/*
 * The author signed two chains from seq: keep the proof, move everything of
 * the feed at or after seq to `forks`, and re-judge the store.
 */
static int fork_at(struct ml_store *s, struct feed *f, uint64_t seq, const struct ml_op *a,
                   size_t na, const struct ml_op *b, size_t nb, struct item *items, size_t n_items,
                   struct ml_ingest_result *res, struct ml_buf *err)
{
	struct ml_buf ev = ML_BUF_INIT;
	int rc = ml_equiv_build(a, na, b, nb, &ev, NULL, NULL);
	if (rc != ML_OK) { /* not a provable fork after all: keep both as candidates */
		ml_buf_release(&ev);
		return rc == ML_ENOMEM ? rc : ML_OK;
	}
	sqlite3_stmt *st = ml__stmt(s, ST_EVIDENCE_ADD);
	if (!st)
		rc = ml__sqlerr(s, "store evidence", err);
	else {
		sqlite3_bind_int64(st, 1, f->id);
		sqlite3_bind_int64(st, 2, (int64_t)seq);
		sqlite3_bind_blob(st, 3, ev.data, (int)ev.len, SQLITE_STATIC);
		rc = ml__exec(s, st, "store evidence", err);
	}
	ml_buf_release(&ev);
	if (rc == ML_OK)
		rc = fresh_store(s, err); /* so the moves below see every authentic op */
	if (rc != ML_OK)
		return rc;
	/* This batch's candidates of the feed at or after seq go to `forks` too. */
	for (size_t i = 0; i < n_items && rc == ML_OK; i++) {
		if (!items[i].candidate || items[i].feed != f || items[i].op.seq < seq)
			continue;
		st = ml__stmt(s, ST_FORK_ADD);
		sqlite3_bind_blob(st, 1, items[i].op.id.b, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, f->id);
		sqlite3_bind_int64(st, 3, (int64_t)items[i].op.seq);
		sqlite3_bind_blob(st, 4, items[i].p, (int)items[i].len, SQLITE_STATIC);
		rc = ml__exec(s, st, "store fork", err);
		items[i].candidate = false;
	}
	char *msg = NULL;
	char sql[640];
	int64_t lo = OP_KEY(f->id, seq), hi = OP_KEY(f->id, ML_STORE_MAX_SEQ);
	/* Everything moved stops waiting. */
	int64_t moved = 0;
	sqlite3_stmt *q;
	snprintf(
	    sql, sizeof sql,
	    "SELECT (SELECT count(*) FROM ops WHERE key >= %lld AND key <= %lld AND status = 1)"
	    " + (SELECT count(*) FROM pending WHERE feed = %lld AND seq >= %llu)",
	    (long long)lo, (long long)hi, (long long)f->id, (unsigned long long)seq);
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		moved = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	snprintf(sql, sizeof sql,
	         "INSERT OR IGNORE INTO forks (id, feed, seq, raw) SELECT id, %lld, key & "
	         "4294967295, raw"
	         " FROM ops WHERE key >= %lld AND key <= %lld;"
	         "INSERT OR IGNORE INTO forks (id, feed, seq, raw) SELECT id, feed, seq, raw FROM "
	         "pending"
	         " WHERE feed = %lld AND seq >= %llu;"
	         "DELETE FROM missing WHERE op >= %lld AND op <= %lld;"
	         "DELETE FROM ops WHERE key >= %lld AND key <= %lld;"
	         "DELETE FROM pending WHERE feed = %lld AND seq >= %llu;",
	         (long long)f->id, (long long)lo, (long long)hi, (long long)f->id,
	         (unsigned long long)seq, (long long)lo, (long long)hi, (long long)lo,
	         (long long)hi, (long long)f->id, (unsigned long long)seq);
	if (rc == ML_OK && sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sqlite3_free(msg);
		return ml__sqlerr(s, "record fork", err);
	}
	s->waiting -= moved;
	if (!f->fork_seq || seq < f->fork_seq)
		f->fork_seq = seq;
	if (f->auth_seq >= seq) {
		struct ml_buf raw = ML_BUF_INIT;
		struct ml_op prev;
		f->auth_seq = seq - 1;
		memset(&f->auth_id, 0, sizeof f->auth_id);
		f->auth_hlc = (struct ml_hlc){0, 0};
		if (seq > 1 && (rc = read_op(s, f->id, seq - 1, &raw, &prev, err)) == ML_OK) {
			f->auth_id = prev.id;
			f->auth_hlc = prev.hlc;
		}
		ml_buf_release(&raw);
		if (rc != ML_OK)
			return rc;
	}
	if (f->judged_seq >= seq) {
		f->judged_seq = seq - 1;
		f->judged_past = -1;
	}
	f->pending = 0;
	f->dirty = true;
	s->need_rebuild = true;
	note(res, ML_EFORK, "ML_EFORK: the author of a feed signed two different ops at seq %llu",
	     (unsigned long long)seq);
	return ML_OK;
}

/* The authentic side of a fork at x's seq: from there to its next signed op. */
static int authentic_side(struct ml_store *s, struct feed *f, uint64_t from, struct ml_buf *bytes,
                          struct ml_op *out, size_t *n, struct ml_buf *err)
{
	size_t ends[ML_BATCH_MAX];
	struct ml_buf raw = ML_BUF_INIT;
	*n = 0;
	int rc = ML_OK;
	for (uint64_t q = from; *n < ML_BATCH_MAX && q <= f->auth_seq && rc == ML_OK; q++) {
		struct ml_op o;
		if ((rc = read_op(s, f->id, q, &raw, &o, err)) != ML_OK ||
		    (rc = ml_buf_add(bytes, raw.data, raw.len)) != ML_OK)
			break;
		ends[(*n)++] = bytes->len;
		if (o.has_sig)
			break;
	}
	size_t start = 0;
	for (size_t k = 0; k < *n && rc == ML_OK; k++) {
		ml_op_parse(bytes->data + start, ends[k] - start, &out[k], NULL);
		start = ends[k];
	}
	ml_buf_release(&raw);
	return rc;
}

/*
 * Authenticates what feed f's candidates allow: the chain from the authentic
 * head that reaches a valid signature becomes authentic; a second such chain
 * from one position, or a signed chain beside the authentic one, proves a fork.
 */
static int authenticate(struct ml_store *s, struct feed *f, struct item *items, size_t n_items,
                        struct ml_ingest_result *res, struct ml_buf *err)
{
	struct cands cs = {0};
	struct ml_op *chain_a = NULL, *chain_b = NULL;
	int rc = ML_OK;
	for (int round = 0; round < 64 && rc == ML_OK && !f->fork_seq; round++) {
		if ((rc = gather(s, f, items, n_items, &cs, err)) != ML_OK)
			break;
		bool progress = false;
		/* A candidate beside the authentic chain that reaches a valid signature: a fork. */
		for (size_t i = 0; i < cs.n && rc == ML_OK && !progress; i++) {
			struct cand *x = &cs.c[i];
			if (!x->leads || x->op.seq > f->auth_seq)
				continue;
			struct ml_buf raw = ML_BUF_INIT;
			struct ml_op at, before;
			bool attaches = x->op.seq == 1;
			if (!attaches &&
			    read_op(s, f->id, x->op.seq - 1, &raw, &before, err) == ML_OK)
				attaches = ml_hash_eq(&x->op.prev, &before.id) &&
				           ml_hlc_cmp(x->op.hlc, before.hlc) > 0;
			bool differs = attaches &&
			               read_op(s, f->id, x->op.seq, &raw, &at, err) == ML_OK &&
			               !ml_hash_eq(&at.id, &x->op.id);
			ml_buf_release(&raw);
			if (!differs)
				continue;
			if (!chain_a && (!(chain_a = ml_calloc(ML_BATCH_MAX, sizeof *chain_a)) ||
			                 !(chain_b = ml_calloc(ML_BATCH_MAX, sizeof *chain_b)))) {
				rc = ML_ENOMEM;
				break;
			}
			struct ml_buf side = ML_BUF_INIT;
			size_t na, nb = chain_from(&cs, i, chain_b, ML_BATCH_MAX);
			rc = authentic_side(s, f, x->op.seq, &side, chain_a, &na, err);
			if (rc == ML_OK && na && chain_a[na - 1].has_sig && nb && cs.c[i].leads)
				rc = fork_at(s, f, x->op.seq, chain_a, na, chain_b, nb, items,
				             n_items, res, err);
			progress = true;
			ml_buf_release(&side);
		}
		/* From the head: the single leading chain; two of them are a fork. */
		int first = -1, count = 0;
		for (size_t i = 0; i < cs.n && rc == ML_OK && !progress; i++) {
			struct cand *x = &cs.c[i];
			if (!x->leads || x->op.seq != f->auth_seq + 1)
				continue;
			bool attaches = f->auth_seq == 0
			                    ? true
			                    : ml_hash_eq(&x->op.prev, &f->auth_id) &&
			                          ml_hlc_cmp(x->op.hlc, f->auth_hlc) > 0;
			if (!attaches)
				continue;
			if (count++ == 0) {
				first = (int)i;
				continue;
			}
			if (!chain_a && (!(chain_a = ml_calloc(ML_BATCH_MAX, sizeof *chain_a)) ||
			                 !(chain_b = ml_calloc(ML_BATCH_MAX, sizeof *chain_b)))) {
				rc = ML_ENOMEM;
				break;
			}
			size_t na = chain_from(&cs, (size_t)first, chain_a, ML_BATCH_MAX);
			size_t nb = chain_from(&cs, i, chain_b, ML_BATCH_MAX);
			rc = fork_at(s, f, x->op.seq, chain_a, na, chain_b, nb, items, n_items, res,
			             err);
			progress = true;
		}
		if (rc == ML_OK && !progress && count == 1) {
			/* Walk the chain while it has one way on, to its last valid signature
			 * before it splits or ends (a split is found in the next round). */
			int k = first, last_valid = -1;
			size_t unsigned_run = 0;
			for (size_t steps = 0; k >= 0 && steps < 4 * ML_BATCH_MAX; steps++) {
				if (cs.c[k].valid) {
					last_valid = k;
					unsigned_run = 0;
				} else if (++unsigned_run >= ML_BATCH_MAX) {
					break; /* an over-long unsigned run never authenticates */
				}
				if (cs.c[k].n_leads > 1)
					break;
				k = cs.c[k].next;
			}
			for (int i = first; last_valid >= 0 && rc == ML_OK; i = cs.c[i].next) {
				rc = promote(s, f, &cs.c[i], items, err);
				f->auth_seq = cs.c[i].op.seq;
				f->auth_id = cs.c[i].op.id;
				f->auth_hlc = cs.c[i].op.hlc;
				f->dirty = true;
				progress = true;
				if (i == last_valid)
					break;
			}
		}
		if (!progress)
			break;
	}
	cands_release(&cs);
	ml_free(chain_a);
	ml_free(chain_b);
	return rc;
}

/* Keeps the batch's remaining candidates in the pending table for later batches. */
static int keep_candidates(struct ml_store *s, struct item *items, size_t n, struct ml_buf *err)
{
	int rc = ML_OK;
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		struct item *it = &items[i];
		if (!it->candidate)
			continue;
		sqlite3_stmt *st = ml__stmt(s, ST_PENDING_ADD);
		if (!st)
			return ml__sqlerr(s, "store op", err);
		sqlite3_bind_blob(st, 1, it->op.id.b, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, it->feed->id);
		sqlite3_bind_int64(st, 3, (int64_t)it->op.seq);
		if (it->op.seq > 1)
			sqlite3_bind_blob(st, 4, it->op.prev.b, 32, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, it->op.has_sig);
		sqlite3_bind_blob(st, 6, it->p, (int)it->len, SQLITE_STATIC);
		rc = ml__exec(s, st, "store op", err);
		if (rc == ML_OK && sqlite3_changes(s->db)) {
			it->feed->pending++;
			it->feed->dirty = true;
			s->waiting++;
		}
	}
	return rc;
}

/*
 * When more ops wait than the store allows, drops candidates - ops whose chain
 * is not yet proven by a signature - until a tenth of the room is free again:
 * unsigned ones first (anyone can make them), oldest first.  They are not
 * lost: reconciliation compares proven heads, so a peer that holds them sends
 * them again once what they wait for is here.  Ops already proven and waiting
 * only for their deps are kept; if they alone fill the room, the batch is
 * refused as before.
 */
static int evict_candidates(struct ml_store *s, struct ml_ingest_result *res, struct ml_buf *err)
{
	if (s->waiting <= s->max_waiting)
		return ML_OK;
	int64_t goal = s->max_waiting - s->max_waiting / 10;
	sqlite3_stmt *q = ml__stmt(s, ST_PENDING_OLDEST);
	if (!q)
		return ml__sqlerr(s, "free the waiting buffer", err);
	sqlite3_bind_int64(q, 1, s->waiting - goal);
	int rc = ML_OK, r;
	size_t n = 0, cap = 0;
	int64_t(*rows)[2] = NULL;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t(*v)[2] = ml_grow(rows, &cap, n + 1, sizeof *v, 256);
		if (!v) {
			rc = ML_ENOMEM;
			break;
		}
		rows = v;
		rows[n][0] = sqlite3_column_int64(q, 0);
		rows[n][1] = sqlite3_column_int64(q, 1);
		n++;
	}
	if (rc == ML_OK && r != SQLITE_DONE)
		rc = ml__sqlerr(s, "free the waiting buffer", err);
	sqlite3_reset(q);
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		struct feed *f;
		sqlite3_stmt *del = ml__stmt(s, ST_PENDING_DEL_ROW);
		if (!del)
			rc = ml__sqlerr(s, "free the waiting buffer", err);
		else {
			sqlite3_bind_int64(del, 1, rows[i][0]);
			rc = ml__exec(s, del, "free the waiting buffer", err);
		}
		if (rc == ML_OK)
			rc = ml__feed_by_id(s, rows[i][1], &f, err);
		if (rc == ML_OK) {
			if (f->pending)
				f->pending--;
			f->dirty = true;
			s->waiting--;
			res->evicted++;
		}
	}
	ml_free(rows);
	return rc;
}

/* --- phase 4: judging in causal order ------------------------------------ */

/* The batch item holding the authentic op at key, or NULL. */
static const struct item *item_at(const struct item *items, size_t n, int64_t key, size_t *hint)
{
	for (size_t k = 0; k < n; k++) {
		size_t i = (*hint + k) % n;
		if (items[i].key == key) {
			*hint = i + 1;
			return &items[i];
		}
	}
	return NULL;
}

/* Judges f's authentic ops in order while their deps are judged. */
static int judge_feed(struct ml_store *s, struct feed *f, const struct item *items, size_t n_items,
                      struct feed_list *wake, struct ml_ingest_result *res, struct ml_buf *err)
{
	int rc = ML_OK;
	struct ml_buf raw = ML_BUF_INIT;
	size_t hint = 0;
	while (rc == ML_OK && f->judged_seq < f->auth_seq) {
		int64_t key = OP_KEY(f->id, f->judged_seq + 1);
		struct ml_op op;
		const struct item *it = item_at(items, n_items, key, &hint);
		if (it)
			op = it->op;
		else if ((rc = read_op(s, f->id, f->judged_seq + 1, &raw, &op, err)) != ML_OK)
			break;
		/* Every dep must be judged first; a dep at a forked position counts as judged. */
		bool blocked = false;
		for (size_t d = 0; d < op.ndeps && !blocked && rc == ML_OK; d++) {
			struct ml_hash dep = ml_op_dep(&op, d);
			int64_t dkey = 0;
			int status = 0;
			int q = find_op(s, &dep, &dkey, &status, err);
			if (q == ML_OK && status >= OP_APPLIED)
				continue;
			if (q == ML_ENOTFOUND && (q = find_in(s, ST_FORK_FIND, &dep, err)) == ML_OK)
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
			s->n_missing++;
		}
		if (blocked || rc != ML_OK)
			break;
		int64_t past;
		rc = ml__judge(s, key, &op, it ? &it->schema : NULL,
		               f->judged_seq ? f->judged_past : 0, &past, res, err);
		if (rc != ML_OK)
			break;
		f->judged_seq++;
		f->judged_past = past;
		f->dirty = true;
		s->waiting--;
		if (!s->n_missing)
			continue;
		/* Release the ops waiting for this one. */
		sqlite3_stmt *st = ml__stmt(s, ST_MISSING_TAKE);
		if (!st) {
			rc = ml__sqlerr(s, "read missing", err);
			break;
		}
		sqlite3_bind_blob(st, 1, op.id.b, 32, SQLITE_TRANSIENT);
		size_t released = 0;
		while (rc == ML_OK && sqlite3_step(st) == SQLITE_ROW) {
			released++;
			rc = feed_list_add(wake, (int64_t)OP_KEY_FEED(sqlite3_column_int64(st, 0)));
		}
		sqlite3_reset(st);
		if (released && rc == ML_OK) {
			st = ml__stmt(s, ST_MISSING_DEL);
			sqlite3_bind_blob(st, 1, op.id.b, 32, SQLITE_TRANSIENT);
			rc = ml__exec(s, st, "clear missing", err);
			s->n_missing -=
			    released < (size_t)s->n_missing ? (int64_t)released : s->n_missing;
		}
	}
	ml_buf_release(&raw);
	return rc;
}

/* --- the transaction ------------------------------------------------------ */

static int store_item(struct ml_store *s, struct item *items, size_t idx, uint64_t now_ms,
                      struct feed_list *touched, struct ml_ingest_result *res, struct ml_buf *err)
{
	struct item *it = &items[idx];
	struct ml_buf msg = ML_BUF_INIT;
	int rc = ML_OK;
	const struct ml_op *op = &it->op;
	if (it->rc != ML_OK) {
		ml_op_parse(it->p, it->len, &it->op, &msg);
		note(res, it->rc, "%s: %s", ml_err_name(it->rc), ml_buf_str(&msg));
		res->refused++;
		goto out;
	}
	if (op->has_sig && !it->sig_ok) {
		/* Anyone can forge a bad signature: it proves nothing, so nothing is kept. */
		note(res, ML_EBADSIG, "ML_EBADSIG: the signature of seq %llu does not verify",
		     (unsigned long long)op->seq);
		res->refused++;
		goto out;
	}
	if (!s->have_net && ml_op_is_genesis(op) && (rc = ml_store_set_network(s, &op->id, err)))
		goto out;
	if (!s->have_net || ml_op_check_network(op, &s->net, &msg) != ML_OK) {
		note(res, ML_EWRONGNET, "ML_EWRONGNET: %s",
		     s->have_net ? ml_buf_str(&msg) : "this store has no network yet");
		res->refused++;
		goto out;
	}
	if (op->seq > ML_STORE_MAX_SEQ) {
		note(res, ML_ETOOBIG, "ML_ETOOBIG: seq beyond 2^32-1");
		res->refused++;
		goto out;
	}
	if (ml_hlc_check_drift(op->hlc, now_ms, &msg) != ML_OK) {
		note(res, ML_EFUTURE, "ML_EFUTURE: %s", ml_buf_str(&msg));
		res->refused++;
		goto out;
	}
	struct ml_feed_id fid = ml_feed_of(op);
	struct feed *f;
	if ((rc = ml__feed_get(s, &fid, true, &f, err)) != ML_OK)
		goto out;
	it->feed = f;
	/* Duplicates: the same op earlier in this batch, authentic, pending or forked. */
	for (size_t k = 0; k < idx; k++) {
		if (items[k].rc == ML_OK && items[k].feed == f && items[k].op.seq == op->seq &&
		    ml_hash_eq(&items[k].op.id, &op->id)) {
			res->duplicate++;
			goto out;
		}
	}
	if (op->seq <= f->auth_seq) {
		struct ml_buf raw = ML_BUF_INIT;
		struct ml_op at;
		rc = read_op(s, f->id, op->seq, &raw, &at, err);
		bool same = rc == ML_OK && ml_hash_eq(&at.id, &op->id);
		ml_buf_release(&raw);
		if (rc != ML_OK && rc != ML_ENOTFOUND)
			goto out;
		rc = ML_OK;
		if (same) {
			res->duplicate++;
			goto out;
		}
	}
	if ((f->pending && (rc = find_in(s, ST_PENDING_FIND, &op->id, err)) == ML_OK) ||
	    (f->fork_seq && (rc = find_in(s, ST_FORK_FIND, &op->id, err)) == ML_OK)) {
		res->duplicate++;
		rc = ML_OK;
		goto out;
	}
	if (rc != ML_OK && rc != ML_ENOTFOUND)
		goto out;
	rc = ML_OK;
	if (f->fork_seq && op->seq >= f->fork_seq) {
		/* Kept as evidence of the fork, never judged. */
		sqlite3_stmt *st = ml__stmt(s, ST_FORK_ADD);
		if (!st) {
			rc = ml__sqlerr(s, "store fork", err);
			goto out;
		}
		sqlite3_bind_blob(st, 1, op->id.b, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, f->id);
		sqlite3_bind_int64(st, 3, (int64_t)op->seq);
		sqlite3_bind_blob(st, 4, it->p, (int)it->len, SQLITE_STATIC);
		rc = ml__exec(s, st, "store fork", err);
		note(res, ML_EFORK, "ML_EFORK: the feed forked at seq %llu",
		     (unsigned long long)f->fork_seq);
		res->refused++;
		if (rc == ML_OK)
			rc = feed_list_add(touched, f->id); /* ops waiting for it can move */
		goto out;
	}
	it->candidate = true;
	rc = feed_list_add(touched, f->id);
out:
	ml_buf_release(&msg);
	return rc;
}

static int save_counters(struct ml_store *s, struct ml_buf *err)
{
	int rc = ml__meta_set(s, "next_eval", &s->next_eval, 8, err);
	if (rc == ML_OK)
		rc = ml__meta_set(s, "waiting", &s->waiting, 8, err);
	return rc;
}

static int ingest_items(struct ml_store *s, struct item *items, size_t n, uint64_t now_ms,
                        bool all_or_nothing, int64_t *feed_of, struct ml_ingest_result *res,
                        struct ml_buf *err);

int ml_store_ingest_batch(struct ml_store *s, struct ml_batch *b, uint64_t now_ms, int64_t *where,
                          struct ml_ingest_result *res, struct ml_buf *err)
{
	memset(res, 0, sizeof *res);
	if (b->ingested)
		return ml_errf(err, ML_EINVAL, "this batch of ops was already ingested");
	batch_join(b);
	if (!b->checked)
		parse_items(b->items, b->n, b->org, true);
	b->checked = b->ingested = true;
	return ingest_items(s, b->items, b->n, now_ms, false, where, res, err);
}

int ml__ingest(struct ml_store *s, const uint8_t *const *ops, const size_t *lens, size_t n,
               uint64_t now_ms, bool all_or_nothing, struct ml_ingest_result *res,
               struct ml_buf *err)
{
	memset(res, 0, sizeof *res);
	struct ml_batch *b;
	if (ml_batch_new(s, ops, lens, n, &b) != ML_OK)
		return ML_ENOMEM;
	parse_items(b->items, n, s->org, true);
	int rc = ingest_items(s, b->items, n, now_ms, all_or_nothing, NULL, res, err);
	ml_batch_free(b);
	return rc;
}

int ml_store_ingest(struct ml_store *s, const uint8_t *const *ops, const size_t *lens, size_t n,
                    uint64_t now_ms, struct ml_ingest_result *res, struct ml_buf *err)
{
	return ml__ingest(s, ops, lens, n, now_ms, false, res, err);
}

/* Stages 2-5 for checked items (the file comment). */
static int ingest_items(struct ml_store *s, struct item *items, size_t n, uint64_t now_ms,
                        bool all_or_nothing, int64_t *feed_of, struct ml_ingest_result *res,
                        struct ml_buf *err)
{
	memset(res, 0, sizeof *res);
	res->received = n;
	s->fault = ML_OK;
	int rc = ml__begin(s, err);
	if (rc != ML_OK)
		return rc;
	int64_t waiting_before = s->waiting, eval_before = s->next_eval;
	bool have_net_before = s->have_net;
	enum ml_org org_before = s->org; /* a genesis sets it (view.c) */
	struct feed_list touched = {0}, wake = {0};
	for (size_t i = 0; i < n && rc == ML_OK; i++)
		rc = store_item(s, items, i, now_ms, &touched, res, err);
	for (size_t i = 0; i < touched.n && rc == ML_OK; i++) {
		struct feed *f;
		rc = ml__feed_by_id(s, touched.ids[i], &f, err);
		if (rc == ML_OK)
			rc = authenticate(s, f, items, n, res, err);
		if (rc == ML_OK)
			rc = feed_list_add(&wake, f->id);
		if (rc == ML_OK && f->fork_seq)
			rc = wake_fork_waiters(s, f->id, &wake, err);
	}
	if (rc == ML_OK)
		rc = keep_candidates(s, items, n, err);
	/* Judge until nothing more can move. */
	while (wake.next < wake.n && rc == ML_OK) {
		struct feed *f;
		rc = ml__feed_by_id(s, wake.ids[wake.next++], &f, err);
		if (rc == ML_OK)
			rc = judge_feed(s, f, items, n, &wake, res, err);
	}
	/* Counted after judging: a batch that fills gaps releases what waited. */
	if (rc == ML_OK)
		rc = evict_candidates(s, res, err);
	if (rc == ML_OK && s->waiting > s->max_waiting)
		rc =
		    ml_errf(err, ML_EAGAIN,
		            "%lld ops would wait for missing ops or signatures, more than the %lld "
		            "allowed; send the missing ops first",
		            (long long)s->waiting, (long long)s->max_waiting);
	/* Before a rebuild or the flush forgets the feeds the items point to. */
	for (size_t i = 0; feed_of && i < n; i++)
		feed_of[i] = items[i].rc == ML_OK && items[i].feed
		                 ? OP_KEY(items[i].feed->id, items[i].op.seq)
		                 : 0;
	if (rc == ML_OK)
		rc = fresh_store(s, err);
	if (rc == ML_OK && s->need_rebuild && !s->rebuilding) {
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
		rc = ml__opindex_settle(s, err);
	if (rc == ML_OK)
		rc = ml__commit(s, err);
	if (rc != ML_OK) {
		ml__rollback(s);
		s->waiting = waiting_before;
		s->next_eval = eval_before;
		s->have_net = have_net_before;
		s->org = org_before;
	}
	fresh_clear(s);
	res->waiting = (size_t)(s->waiting > 0 ? s->waiting : 0);
	ml_free(touched.ids);
	ml_free(wake.ids);
	return rc;
}
