/*
 * opindex.c - finding an authentic op by its id (see opindex.h).
 *
 * Ids are hashes, so an index on them is written at random: with one entry
 * per op, every op of a 256-op transaction dirtied its own index page, which
 * was 40 % of all pages a realistic ingest wrote to the WAL.  Entries now go
 * first to op_ids_new, a table appended in arrival order (a page per ~200
 * ops), and to an in-memory table that answers lookups for them.  When
 * op_ids_new holds more than a sixteenth of the merged index, it is merged
 * into op_ids (idp, key) in one sorted pass, which writes each page of the
 * merged index at most once for thousands of entries.
 *
 * Entries are hints: a lookup reads the op row they point to and compares the
 * whole id, so an entry left behind by an op that moved to `forks` (or whose
 * key was reused) is harmless and never needs deleting.
 *
 * Keys found through op_ids are remembered in memory too (`seen`), and so are
 * the keys of ops that create a member: every op about a member finds the
 * member's row by its creating op's key, and that seek into op_ids, whose
 * pages the member and op pages keep pushing out of SQLite's cache, was 6.6 %
 * of a 1M-op ingest (perf).  They are hints like the rest: a remembered key
 * that no longer holds its op is passed by.
 */
#include "opindex.h"

#include "crdt/alloc.h"
#include "crdt/err.h"

#include <sodium.h>
#include <string.h>

/* Merge when the recent log holds this many entries, or a sixteenth of the merged index. */
#define MERGE_MIN    32768
#define MERGE_MAX    (1 << 20)
#define MERGE_FACTOR 16
/* The table keeps at least a quarter of its slots free: 2^21 slots of 16 bytes (32 MB) hold
 * MERGE_MAX entries plus the batch that reaches it.  Past SHRINK_CAP it is freed after a
 * merge rather than kept empty. */
#define SHRINK_CAP (1 << 16)
/* Keys remembered: buckets of four slots (a bucket holds the latest four of its prefixes),
 * from 2^12 up to 2^19 slots (8 MB), kept at most half full while they grow.  With pairs of
 * slots, 129,000 lookups of a 1M-op ingest still read op_ids (members pushed out by others of
 * their pair); with four ways, 54,000. */
#define SEEN_WAYS 4
#define SEEN_MIN  (1 << 12)
#define SEEN_MAX  (1 << 19)

struct ml_opindex {
	struct slot {
		int64_t idp;
		int64_t key; /* 0: empty (a key's seq is never 0) */
	} * slots;
	size_t cap, n;  /* cap: 0 or a power of two, above n * 4 / 3 */
	int64_t merged; /* entries in op_ids, about (duplicates are counted) */
	bool loaded;
	/* Keys found in op_ids or remembered lately, in buckets by the hash of their prefix,
	 * the latest first; seen_cap is 0 or a power of two.  Kept across forget: hints. */
	struct slot *seen;
	size_t seen_cap, seen_n; /* seen_n: slots in use */
	uint64_t seeks;          /* lookups that read op_ids (ml__opindex_seeks) */
	/* Slots come from a keyed hash: an id's prefix is chosen by whoever signs the op, and
	 * a peer must not be able to pile its ops into one run of slots. */
	uint8_t seed[crypto_shorthash_KEYBYTES];
};

static int64_t idp_of(const struct ml_hash *id)
{
	int64_t v;
	memcpy(&v, id->b, 8);
	return v;
}

static size_t slot_of(const struct ml_opindex *x, int64_t idp, size_t cap)
{
	uint8_t in[8], out[crypto_shorthash_BYTES];
	uint64_t h;
	memcpy(in, &idp, 8);
	crypto_shorthash(out, in, 8, x->seed);
	memcpy(&h, out, 8);
	return (size_t)(h & (cap - 1));
}

/* Puts e in the first free slot of its probe run in slots[0..cap), which has one. */
static void place(const struct ml_opindex *x, struct slot *slots, size_t cap, struct slot e)
{
	size_t j = slot_of(x, e.idp, cap);
	while (slots[j].key)
		j = (j + 1) & (cap - 1);
	slots[j] = e;
}

static int table_put(struct ml_opindex *x, int64_t idp, int64_t key)
{
	if (4 * (x->n + 1) > 3 * x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 4096;
		struct slot *v = ml_calloc(cap, sizeof *v);
		if (!v)
			return ML_ENOMEM;
		for (size_t i = 0; i < x->cap; i++)
			if (x->slots[i].key)
				place(x, v, cap, x->slots[i]);
		ml_free(x->slots);
		x->slots = v;
		x->cap = cap;
	}
	place(x, x->slots, x->cap, (struct slot){idp, key});
	x->n++;
	return ML_OK;
}

static void table_clear(struct ml_opindex *x)
{
	if (x->cap > SHRINK_CAP) {
		ml_free(x->slots);
		x->slots = NULL;
		x->cap = 0;
	} else if (x->n) {
		memset(x->slots, 0, x->cap * sizeof *x->slots);
	}
	x->n = 0;
}

void ml__opindex_forget(struct ml_store *s)
{
	if (s->opindex)
		s->opindex->loaded = false;
}

void ml__opindex_release(struct ml_store *s)
{
	if (s->opindex) {
		ml_free(s->opindex->seen);
		ml_free(s->opindex->slots);
		ml_free(s->opindex);
		s->opindex = NULL;
	}
}

/* Loads the recent log into memory and reads the merged count, once per forget. */
static int load(struct ml_store *s, struct ml_buf *err)
{
	if (!s->opindex) {
		struct ml_opindex *x = ml_calloc(1, sizeof *x);
		/* The remembered keys' first table: later growth may fail without harm, but a
		 * store that cannot have even this one is out of memory. */
		struct slot *seen = ml_calloc(SEEN_MIN, sizeof *seen);
		if (!x || !seen) {
			ml_free(x);
			ml_free(seen);
			return ML_ENOMEM;
		}
		x->seen = seen;
		x->seen_cap = SEEN_MIN;
		crypto_shorthash_keygen(x->seed);
		s->opindex = x;
	}
	struct ml_opindex *x = s->opindex;
	if (x->loaded)
		return ML_OK;
	table_clear(x);
	x->merged = 0;
	struct ml_buf v = ML_BUF_INIT;
	if (ml__meta_get(s, "op_ids_merged", &v) == ML_OK && v.len == 8)
		memcpy(&x->merged, v.data, 8);
	ml_buf_release(&v);
	sqlite3_stmt *st = ml__stmt(s, ST_OPID_RECENT);
	if (!st)
		return ml__sqlerr(s, "read the op index", err);
	int q, rc = ML_OK;
	while (rc == ML_OK && (q = sqlite3_step(st)) == SQLITE_ROW)
		rc = table_put(x, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
	sqlite3_reset(st);
	if (rc != ML_OK) {
		table_clear(x);
		return rc;
	}
	if (q != SQLITE_DONE) {
		table_clear(x);
		return ml__sqlerr(s, "read the op index", err);
	}
	x->loaded = true;
	return ML_OK;
}

int ml__opindex_add(struct ml_store *s, const struct ml_hash *id, int64_t key, struct ml_buf *err)
{
	int rc = load(s, err);
	if (rc != ML_OK)
		return rc;
	sqlite3_stmt *st = ml__stmt(s, ST_OPID_ADD);
	if (!st)
		return ml__sqlerr(s, "index op", err);
	sqlite3_bind_int64(st, 1, idp_of(id));
	sqlite3_bind_int64(st, 2, key);
	if ((rc = ml__exec(s, st, "index op", err)) != ML_OK)
		return rc;
	return table_put(s->opindex, idp_of(id), key);
}

/* The bucket of SEEN_WAYS slots where prefix idp is remembered, or NULL when none are kept. */
static struct slot *seen_bucket(const struct ml_opindex *x, int64_t idp)
{
	return x->seen_cap ? &x->seen[slot_of(x, idp, x->seen_cap) & ~(size_t)(SEEN_WAYS - 1)]
	                   : NULL;
}

/* The key remembered under prefix idp, or 0. */
static int64_t seen_key(const struct ml_opindex *x, int64_t idp)
{
	const struct slot *b = seen_bucket(x, idp);
	for (int k = 0; b && k < SEEN_WAYS && b[k].key; k++)
		if (b[k].idp == idp)
			return b[k].key;
	return 0;
}

/* Puts (idp, key) first in its bucket of v[0..cap), moving the entries before it (or all, the
 * last then pushed out) one slot down; 1 when a free slot was filled, else 0. */
static size_t bucket_put(const struct ml_opindex *x, struct slot *v, size_t cap, int64_t idp,
                         int64_t key)
{
	struct slot *b = &v[slot_of(x, idp, cap) & ~(size_t)(SEEN_WAYS - 1)];
	int k = 0;
	while (k < SEEN_WAYS - 1 && b[k].key && b[k].idp != idp)
		k++;
	size_t filled = !b[k].key;
	memmove(b + 1, b, (size_t)k * sizeof *b);
	b[0] = (struct slot){idp, key};
	return filled;
}

/* Remembers key under prefix idp, first in its bucket.  The table doubles while it is half
 * full, up to SEEN_MAX; without memory to grow it keeps its size, which only costs seeks. */
static void seen_put(struct ml_opindex *x, int64_t idp, int64_t key)
{
	size_t want = x->seen_cap;
	if (2 * x->seen_n >= want && want < SEEN_MAX)
		want *= 2;
	struct slot *v = want > x->seen_cap ? ml_calloc(want, sizeof *v) : NULL;
	if (v) {
		size_t n = 0;
		for (size_t i = 0; i < x->seen_cap; i += SEEN_WAYS) /* the oldest first */
			for (size_t k = SEEN_WAYS; k-- > 0;)
				if (x->seen[i + k].key)
					n += bucket_put(x, v, want, x->seen[i + k].idp,
					                x->seen[i + k].key);
		ml_free(x->seen);
		x->seen = v;
		x->seen_cap = want;
		x->seen_n = n;
	}
	if (x->seen_cap)
		x->seen_n += bucket_put(x, x->seen, x->seen_cap, idp, key);
}

void ml__opindex_remember(struct ml_store *s, const struct ml_hash *id, int64_t key)
{
	if (s->opindex)
		seen_put(s->opindex, idp_of(id), key);
}

/* Reads the op row at key: ML_OK with *status when its id is id, else ML_ENOTFOUND. */
static int check_row(struct ml_store *s, int64_t key, const struct ml_hash *id, int *status,
                     struct ml_buf *err)
{
	sqlite3_stmt *st = ml__stmt(s, ST_OP_BY_KEY);
	if (!st)
		return ml__sqlerr(s, "find op", err);
	sqlite3_bind_int64(st, 1, key);
	int q = sqlite3_step(st), rc = ML_ENOTFOUND;
	if (q == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32 &&
	    memcmp(sqlite3_column_blob(st, 0), id->b, 32) == 0) {
		*status = sqlite3_column_int(st, 1);
		rc = ML_OK;
	}
	sqlite3_reset(st);
	if (q != SQLITE_ROW && q != SQLITE_DONE)
		return ml__sqlerr(s, "find op", err);
	return rc;
}

/* Calls found(ctx, key) for each recent entry of prefix idp until it returns other than
 * ML_ENOTFOUND, and returns that; ML_ENOTFOUND when none did. */
static int recent_each(const struct ml_opindex *x, int64_t idp, int (*found)(void *, int64_t),
                       void *ctx)
{
	for (size_t j = x->cap ? slot_of(x, idp, x->cap) : 0; x->cap && x->slots[j].key;
	     j = (j + 1) & (x->cap - 1)) {
		if (x->slots[j].idp != idp)
			continue;
		int rc = found(ctx, x->slots[j].key);
		if (rc != ML_ENOTFOUND)
			return rc;
	}
	return ML_ENOTFOUND;
}

struct find {
	struct ml_store *s;
	const struct ml_hash *id;
	int64_t *key;
	int *status;
	struct ml_buf *err;
};

static int find_recent(void *ctx, int64_t key)
{
	struct find *f = ctx;
	int rc = check_row(f->s, key, f->id, f->status, f->err);
	if (rc == ML_OK)
		*f->key = key;
	return rc;
}

int ml__opindex_find(struct ml_store *s, const struct ml_hash *id, int64_t *key, int *status,
                     struct ml_buf *err)
{
	int rc = load(s, err);
	if (rc != ML_OK)
		return rc;
	int64_t idp = idp_of(id);
	int dummy;
	struct find f = {s, id, key, status ? status : &dummy, err};
	if ((rc = recent_each(s->opindex, idp, find_recent, &f)) != ML_ENOTFOUND)
		return rc;
	int64_t hint = seen_key(s->opindex, idp);
	if (hint && (rc = find_recent(&f, hint)) != ML_ENOTFOUND)
		return rc;
	/* Merged entries: the op row comes with the entry, in one statement. */
	sqlite3_stmt *st = ml__stmt(s, ST_OPID_FIND);
	if (!st)
		return ml__sqlerr(s, "find op", err);
	s->opindex->seeks++;
	sqlite3_bind_int64(st, 1, idp);
	int q;
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 2) == 32 &&
		    memcmp(sqlite3_column_blob(st, 2), id->b, 32) == 0) {
			*key = sqlite3_column_int64(st, 0);
			*f.status = sqlite3_column_int(st, 1);
			seen_put(s->opindex, idp, *key);
			rc = ML_OK;
			break;
		}
	}
	sqlite3_reset(st);
	if (q != SQLITE_ROW && q != SQLITE_DONE)
		return ml__sqlerr(s, "find op", err);
	return rc;
}

int ml__opindex_each(struct ml_store *s, const struct ml_hash *id,
                     int (*found)(void *ctx, int64_t key), void *ctx, struct ml_buf *err)
{
	int rc = load(s, err);
	if (rc != ML_OK)
		return rc;
	int64_t idp = idp_of(id);
	if ((rc = recent_each(s->opindex, idp, found, ctx)) != ML_ENOTFOUND)
		return rc;
	int64_t hint = seen_key(s->opindex, idp);
	if (hint && (rc = found(ctx, hint)) != ML_ENOTFOUND)
		return rc;
	sqlite3_stmt *st = ml__stmt(s, ST_OPID_KEYS);
	if (!st)
		return ml__sqlerr(s, "find op", err);
	s->opindex->seeks++;
	sqlite3_bind_int64(st, 1, idp);
	int q;
	int64_t key = 0;
	while (rc == ML_ENOTFOUND && (q = sqlite3_step(st)) == SQLITE_ROW) {
		key = sqlite3_column_int64(st, 0);
		if (key != hint)
			rc = found(ctx, key);
	}
	sqlite3_reset(st);
	if (rc == ML_OK)
		seen_put(s->opindex, idp, key);
	if (rc == ML_ENOTFOUND && q != SQLITE_DONE)
		return ml__sqlerr(s, "find op", err);
	return rc;
}

uint64_t ml__opindex_seeks(const struct ml_store *s)
{
	return s->opindex ? s->opindex->seeks : 0;
}

int ml__opindex_settle(struct ml_store *s, struct ml_buf *err)
{
	struct ml_opindex *x = s->opindex;
	if (!x || !x->loaded)
		return ML_OK;
	int64_t limit = x->merged / MERGE_FACTOR;
	if (limit < MERGE_MIN)
		limit = MERGE_MIN;
	if (limit > MERGE_MAX)
		limit = MERGE_MAX;
	if (s->index_merge)
		limit = s->index_merge;
	if ((int64_t)x->n < limit)
		return ML_OK;
	/* Sorted, so the merged index is written page by page, each page once. */
	int rc = ml__exec(s, ml__stmt(s, ST_OPID_MERGE), "merge the op index", err);
	if (rc == ML_OK)
		rc = ml__exec(s, ml__stmt(s, ST_OPID_CLEAR), "merge the op index", err);
	int64_t merged = x->merged + (int64_t)x->n;
	if (rc == ML_OK)
		rc = ml__meta_set(s, "op_ids_merged", &merged, 8, err);
	if (rc != ML_OK)
		return rc;
	x->merged = merged;
	table_clear(x);
	return ML_OK;
}
