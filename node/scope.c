/*
 * scope.c - the readable units of a device (see scope.h).
 *
 * The set is computed from the materialized tree: grants of the device,
 * then a walk down (children by parent) and up (parents) from each, then the
 * creating units of members managed inside.  Units are kept sorted for
 * binary search; a province's scope is thousands of units, not millions.
 */
#include "scope.h"

#include "node_int.h"
#include "read.h"

#include "crdt/alloc.h"
#include "crdt/err.h"
#include "crdt/frontier.h"

#include <stdlib.h>
#include <string.h>

struct ml_scope_set {
	bool all;
	struct ml_hash *units; /* sorted, unique */
	size_t n, cap;
};

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static bool has_unit(const struct ml_scope_set *sc, const struct ml_hash *u)
{
	return sc->n && bsearch(u, sc->units, sc->n, sizeof *u, cmp_hash) != NULL;
}

/* Adds u unless present (keeping the array sorted); ML_OK or ML_ENOMEM. */
static int add_unit(struct ml_scope_set *sc, const struct ml_hash *u, bool *added)
{
	*added = false;
	if (has_unit(sc, u))
		return ML_OK;
	struct ml_hash *v = ml_grow(sc->units, &sc->cap, sc->n + 1, sizeof *v, 64);
	if (!v)
		return ML_ENOMEM;
	sc->units = v;
	size_t i = sc->n;
	while (i > 0 && memcmp(v[i - 1].b, u->b, 32) > 0) {
		v[i] = v[i - 1];
		i--;
	}
	v[i] = *u;
	sc->n++;
	*added = true;
	return ML_OK;
}

/* Collects the first column (32-byte ids) of sql with ?1 bound to key. */
static int ids_of(struct ml_store *s, sqlite3_stmt *st, const struct ml_hash *key,
                  struct ml_hash **out, size_t *n, size_t *cap)
{
	*n = 0;
	sqlite3_bind_blob(st, 1, key->b, 32, SQLITE_TRANSIENT);
	int r, rc = ML_OK;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != 32)
			continue;
		struct ml_hash *v = ml_grow(*out, cap, *n + 1, sizeof *v, 16);
		if (!v) {
			rc = ML_ENOMEM;
			break;
		}
		*out = v;
		memcpy(v[(*n)++].b, sqlite3_column_blob(st, 0), 32);
	}
	if (rc == ML_OK && r != SQLITE_DONE && r != SQLITE_ROW)
		rc = ML_ESTORE;
	sqlite3_reset(st);
	(void)s;
	return rc;
}

int ml_scope_all(struct ml_scope_set **out)
{
	*out = ml_calloc(1, sizeof **out);
	if (!*out)
		return ML_ENOMEM;
	(*out)->all = true;
	return ML_OK;
}

/* The unit of the feed of op_key into *u; false when unknown. */
static bool feed_unit_of(sqlite3_stmt *feed_unit, uint64_t op_key, struct ml_hash *u)
{
	sqlite3_bind_int64(feed_unit, 1, (int64_t)(op_key >> 32));
	bool ok = sqlite3_step(feed_unit) == SQLITE_ROW && sqlite3_column_bytes(feed_unit, 0) == 32;
	if (ok)
		memcpy(u->b, sqlite3_column_blob(feed_unit, 0), 32);
	sqlite3_reset(feed_unit);
	return ok;
}

/* The causal past of the op at key into *f; false when it cannot be read. */
static bool past_of(sqlite3_stmt *past, int64_t key, struct ml_frontier *f)
{
	sqlite3_bind_int64(past, 1, key);
	bool ok = sqlite3_step(past) == SQLITE_ROW;
	if (ok && sqlite3_column_type(past, 0) == SQLITE_NULL)
		ml_frontier_reset(f); /* no deps anywhere in its past */
	else if (ok)
		ok = ml_frontier_decode(f, sqlite3_column_blob(past, 0),
		                        (size_t)sqlite3_column_bytes(past, 0)) == ML_OK;
	sqlite3_reset(past);
	return ok;
}

/* True when the op at key a is in the past (frontier f) of the op at key x, or is x. */
static bool in_past_of(uint64_t a, uint64_t x, const struct ml_frontier *f)
{
	uint64_t feed = a >> 32, seq = a & 0xffffffffu;
	if (feed == x >> 32)
		return seq <= (x & 0xffffffffu); /* a frontier leaves out the op's own feed */
	return ml_frontier_get(f, feed) >= seq;
}

/*
 * For every member with transfers: when some of its ops are in feeds of units of
 * inner[0..n) (sorted), adds the units of the feeds of its ops in the causal past of
 * those - the past the ops inside may name.  The causal past, not this node's apply
 * order, so that every node holding the same ops gives a device the same scope (two
 * concurrent transfers, applied in either order).  ML_OK, ML_ENOMEM or ML_ESTORE.
 */
static int add_passed_through(struct ml_store *s, struct ml_scope_set *sc,
                              const struct ml_hash *inner, size_t n, sqlite3_stmt *feed_unit)
{
	const struct ml_scope_set in = {.units = (struct ml_hash *)inner, .n = n, .cap = n};
	sqlite3_stmt *moved = NULL, *past = NULL;
	int rc = ml_read_prepare(s, "SELECT ops FROM members WHERE has_transfers", &moved, NULL);
	if (rc == ML_OK)
		rc = ml_read_prepare(
		    s,
		    "SELECT f.data FROM ops o LEFT JOIN frontiers f ON f.id = o.past"
		    " WHERE o.key = ?1",
		    &past, NULL);
	struct ml_hash *units = NULL;
	uint64_t *keys = NULL;
	uint8_t *mark = NULL; /* 1: in a feed inside; 2: in the past of one of those */
	size_t cap = 0, kcap = 0, mcap = 0;
	struct ml_frontier f = {0};
	int r = SQLITE_DONE;
	while (rc == ML_OK && (r = sqlite3_step(moved)) == SQLITE_ROW) {
		const uint8_t *blob = sqlite3_column_blob(moved, 0);
		size_t k = (size_t)sqlite3_column_bytes(moved, 0) / 8;
		struct ml_hash *v = ml_grow(units, &cap, k + 1, sizeof *v, 16);
		uint64_t *kv = v ? ml_grow(keys, &kcap, k + 1, sizeof *kv, 16) : NULL;
		uint8_t *mv = kv ? ml_grow(mark, &mcap, k + 1, sizeof *mv, 16) : NULL;
		units = v ? v : units;
		keys = kv ? kv : keys;
		mark = mv ? mv : mark;
		if (!mv) {
			rc = ML_ENOMEM;
			break;
		}
		bool any = false;
		for (size_t i = 0; i < k; i++) {
			keys[i] = (uint64_t)ml_read_op_key(blob + 8 * i);
			mark[i] = 0;
			if (!feed_unit_of(feed_unit, keys[i], &units[i]))
				memset(units[i].b, 0, 32);
			else if (has_unit(&in, &units[i]))
				mark[i] = 1, any = true;
		}
		for (size_t x = 0; any && x < k && rc == ML_OK; x++) {
			if (mark[x] != 1)
				continue;
			if (!past_of(past, (int64_t)keys[x], &f)) {
				rc = ML_ESTORE;
				break;
			}
			for (size_t i = 0; i < k; i++)
				if (!mark[i] && in_past_of(keys[i], keys[x], &f))
					mark[i] = 2;
		}
		for (size_t i = 0; any && i < k && rc == ML_OK; i++) {
			bool added;
			static const struct ml_hash none;
			if (mark[i] && memcmp(units[i].b, none.b, 32) != 0)
				rc = add_unit(sc, &units[i], &added);
		}
	}
	if (rc == ML_OK && r != SQLITE_DONE)
		rc = ML_ESTORE;
	sqlite3_finalize(moved);
	sqlite3_finalize(past);
	ml_frontier_release(&f);
	ml_free(units);
	ml_free(keys);
	ml_free(mark);
	return rc;
}

/* For every member now managed in inner[0..n): adds the units of the feeds holding its ops. */
static int add_transferred_in(struct ml_scope_set *sc, const struct ml_hash *inner, size_t n,
                              sqlite3_stmt *origins, sqlite3_stmt *feed_unit)
{
	int rc = ML_OK;
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		sqlite3_bind_blob(origins, 1, inner[i].b, 32, SQLITE_STATIC);
		while (rc == ML_OK && sqlite3_step(origins) == SQLITE_ROW) {
			const uint8_t *keys = sqlite3_column_blob(origins, 0);
			size_t len = (size_t)sqlite3_column_bytes(origins, 0);
			for (size_t k = 0; k + 8 <= len && rc == ML_OK; k += 8) {
				struct ml_hash u;
				bool added;
				if (feed_unit_of(feed_unit, (uint64_t)ml_read_op_key(keys + k), &u))
					rc = add_unit(sc, &u, &added);
			}
		}
		sqlite3_reset(origins);
	}
	return rc;
}

int ml_scope_of_device(struct ml_store *s, const struct ml_pubkey *dev, struct ml_scope_set **out,
                       struct ml_buf *err)
{
	*out = NULL;
	struct ml_scope_set *sc = ml_calloc(1, sizeof *sc);
	if (!sc)
		return ML_ENOMEM;
	sqlite3_stmt *grants = NULL, *kids = NULL, *parent = NULL, *origins = NULL;
	int rc = ml_read_prepare(s, "SELECT unit FROM grants WHERE device = ?1", &grants, err);
	if (rc == ML_OK)
		rc = ml_read_prepare(s, "SELECT id FROM units WHERE parent = ?1", &kids, err);
	if (rc == ML_OK)
		rc = ml_read_prepare(s, "SELECT parent FROM units WHERE id = ?1", &parent, err);
	if (rc == ML_OK)
		rc = ml_read_prepare(s, "SELECT ops FROM members WHERE unit = ?1 AND has_transfers",
		                     &origins, err);
	sqlite3_stmt *feed_unit = NULL;
	if (rc == ML_OK)
		rc = ml_read_prepare(s, "SELECT unit FROM feeds WHERE id = ?1", &feed_unit, err);
	struct ml_hash *roots = NULL, *buf = NULL, *stack = NULL;
	size_t n_roots = 0, cap_roots = 0, n_buf = 0, cap_buf = 0, n_stack = 0, cap_stack = 0;
	struct ml_hash key;
	memcpy(key.b, dev->b, 32);
	if (rc == ML_OK)
		rc = ids_of(s, grants, &key, &roots, &n_roots, &cap_roots);
	/* down: every unit under a granted unit */
	for (size_t i = 0; i < n_roots && rc == ML_OK; i++) {
		bool added;
		rc = add_unit(sc, &roots[i], &added);
		if (rc != ML_OK || !added)
			continue;
		struct ml_hash *v = ml_grow(stack, &cap_stack, n_stack + 1, sizeof *v, 64);
		if (!v) {
			rc = ML_ENOMEM;
			break;
		}
		stack = v;
		stack[n_stack++] = roots[i];
		while (n_stack && rc == ML_OK) {
			struct ml_hash u = stack[--n_stack];
			rc = ids_of(s, kids, &u, &buf, &n_buf, &cap_buf);
			for (size_t k = 0; k < n_buf && rc == ML_OK; k++) {
				rc = add_unit(sc, &buf[k], &added);
				if (rc != ML_OK || !added)
					continue;
				v = ml_grow(stack, &cap_stack, n_stack + 1, sizeof *v, 64);
				if (!v) {
					rc = ML_ENOMEM;
					break;
				}
				stack = v;
				stack[n_stack++] = buf[k];
			}
		}
	}
	/* Members transferred in, and members who passed through: a unit's feeds name their
	 * earlier ops elsewhere, so those units' feeds must come too - and theirs in turn (a
	 * member who came from further away), until nothing is added. */
	struct ml_hash *inner = NULL;
	for (size_t round = 0, before = 0; rc == ML_OK && sc->n > before && round < 64; round++) {
		before = sc->n;
		struct ml_hash *v = ml_realloc(inner, before * sizeof *inner);
		if (!v) {
			rc = ML_ENOMEM;
			break;
		}
		inner = v;
		memcpy(inner, sc->units, before * sizeof *inner);
		rc = add_transferred_in(sc, inner, before, origins, feed_unit);
		if (rc == ML_OK)
			rc = add_passed_through(s, sc, inner, before, feed_unit);
	}
	ml_free(inner);
	/* up: the path to the root of each granted unit */
	for (size_t i = 0; i < n_roots && rc == ML_OK; i++) {
		struct ml_hash u = roots[i];
		for (int depth = 0; depth < 64 && rc == ML_OK; depth++) {
			rc = ids_of(s, parent, &u, &buf, &n_buf, &cap_buf);
			if (rc != ML_OK || n_buf == 0)
				break;
			bool added;
			u = buf[0];
			rc = add_unit(sc, &u, &added);
		}
	}
	if (rc == ML_ESTORE && err && !err->len)
		ml_errf(err, ML_ESTORE, "cannot read the tree for a device's scope");
	sqlite3_finalize(grants);
	sqlite3_finalize(kids);
	sqlite3_finalize(parent);
	sqlite3_finalize(origins);
	sqlite3_finalize(feed_unit);
	ml_free(roots);
	ml_free(buf);
	ml_free(stack);
	if (rc != ML_OK) {
		ml_scope_free(sc);
		return rc;
	}
	*out = sc;
	return ML_OK;
}

bool ml_scope_has(const struct ml_scope_set *sc, const struct ml_hash *unit, enum ml_lane lane)
{
	return sc->all || lane == ML_LANE_GOV || has_unit(sc, unit);
}

size_t ml_scope_units(const struct ml_scope_set *sc)
{
	return sc->n;
}

void ml_scope_free(struct ml_scope_set *sc)
{
	if (!sc)
		return;
	ml_free(sc->units);
	ml_free(sc);
}

uint64_t ml_scope_epoch(const struct ml_store *s)
{
	return s->scope_epoch;
}
