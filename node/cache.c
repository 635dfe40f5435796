/*
 * cache.c - unit and grant rows kept in memory for the judge (see cache.h).
 *
 * Two open-addressing tables keyed by the first 8 bytes of the unit id or
 * device key; collisions probe linearly and compare whole keys.
 */
#include "cache.h"
#include "view.h"

#include "crdt/alloc.h"
#include "crdt/err.h"

#include <stdio.h>
#include <string.h>

#define SLOTS        (2 * ML_CACHE_MAX) /* a power of two */
#define MEMBER_SLOTS 4096               /* direct-mapped; a power of two */

struct ml_cache {
	struct unit_info *units[SLOTS];
	struct grant_info *grants[SLOTS];
	size_t n_units, n_grants;
	struct member_ctx *members[MEMBER_SLOTS];
	/* The buffers of the last member let go, emptied, for the next one read from its row:
	 * most ops evict a member from the cache and read another, and allocating and freeing
	 * their five buffers each time cost about 3 % of ingest (perf). */
	struct member_ctx spare;
	bool spare_held; /* spare holds allocations */
};

static struct ml_cache *cache_of(struct ml_store *s)
{
	if (!s->cache)
		s->cache = ml_calloc(1, sizeof(struct ml_cache));
	return s->cache;
}

static size_t slot_of(const uint8_t *key, unsigned salt)
{
	uint64_t h;
	memcpy(&h, key, 8);
	h ^= salt * 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	return (size_t)(h & (SLOTS - 1));
}

static void free_unit(struct unit_info *u)
{
	if (u) {
		ml_free(u->moves);
		ml_free(u->ends);
		ml_free(u->ranges);
		ml_free(u);
	}
}

static void free_grant(struct grant_info *g)
{
	if (g) {
		ml_free(g->at);
		ml_free(g);
	}
}

static void free_member(struct member_ctx *m)
{
	if (m) {
		ml__member_ctx_release(m);
		ml_free(m);
	}
}

void ml__cache_clear(struct ml_store *s)
{
	struct ml_cache *c = s->cache;
	if (!c)
		return;
	for (size_t i = 0; i < SLOTS; i++) {
		free_unit(c->units[i]);
		free_grant(c->grants[i]);
	}
	for (size_t i = 0; i < MEMBER_SLOTS; i++)
		free_member(c->members[i]);
	ml__member_ctx_release(&c->spare);
	memset(c, 0, sizeof *c);
}

static int load_unit(struct ml_store *s, const struct ml_hash *id, struct unit_info *u,
                     struct ml_buf *err)
{
	u->id = *id;
	sqlite3_stmt *st = ml__stmt(s, ST_UNIT_GET);
	if (!st)
		return ml__sqlerr(s, "read unit", err);
	sqlite3_bind_blob(st, 1, id->b, 32, SQLITE_STATIC);
	int q = sqlite3_step(st);
	if (q == SQLITE_ROW) {
		u->exists = true;
		u->root = sqlite3_column_type(st, 0) == SQLITE_NULL;
		if (!u->root)
			memcpy(u->create_parent.b, sqlite3_column_blob(st, 0), 32);
		u->created = (struct pos){(uint64_t)sqlite3_column_int64(st, 1),
		                          (uint64_t)sqlite3_column_int64(st, 2)};
		const unsigned char *t = sqlite3_column_text(st, 3);
		snprintf(u->level, sizeof u->level, "%s", t ? (const char *)t : "");
		t = sqlite3_column_text(st, 4);
		snprintf(u->sector, sizeof u->sector, "%s", t ? (const char *)t : "");
	}
	sqlite3_reset(st);
	if (q != SQLITE_ROW && q != SQLITE_DONE)
		return ml__sqlerr(s, "read unit", err);
	if (!u->exists)
		return ML_OK;
	/* moves */
	st = ml__stmt(s, ST_UNIT_MOVES_OF);
	if (!st)
		return ml__sqlerr(s, "read moves", err);
	sqlite3_bind_blob(st, 1, id->b, 32, SQLITE_STATIC);
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		struct unit_move *m = ml_realloc(u->moves, (u->n_moves + 1) * sizeof *m);
		if (!m) {
			sqlite3_reset(st);
			return ML_ENOMEM;
		}
		u->moves = m;
		m += u->n_moves++;
		memcpy(m->to.b, sqlite3_column_blob(st, 0), 32);
		m->at = (struct pos){(uint64_t)sqlite3_column_int64(st, 1),
		                     (uint64_t)sqlite3_column_int64(st, 2)};
		memcpy(m->stamp, sqlite3_column_blob(st, 3), 76);
	}
	sqlite3_reset(st);
	if (q != SQLITE_DONE)
		return ml__sqlerr(s, "read moves", err);
	/* ends */
	st = ml__stmt(s, ST_UNIT_ENDS_OF);
	if (!st)
		return ml__sqlerr(s, "read unit ends", err);
	sqlite3_bind_blob(st, 1, id->b, 32, SQLITE_STATIC);
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		struct unit_end *e = ml_realloc(u->ends, (u->n_ends + 1) * sizeof *e);
		if (!e) {
			sqlite3_reset(st);
			return ML_ENOMEM;
		}
		u->ends = e;
		e += u->n_ends++;
		memset(e, 0, sizeof *e);
		snprintf(e->kind, sizeof e->kind, "%s", (const char *)sqlite3_column_text(st, 0));
		e->has_into = sqlite3_column_type(st, 1) != SQLITE_NULL;
		if (e->has_into)
			memcpy(e->into.b, sqlite3_column_blob(st, 1), 32);
		e->at = (struct pos){(uint64_t)sqlite3_column_int64(st, 2),
		                     (uint64_t)sqlite3_column_int64(st, 3)};
	}
	sqlite3_reset(st);
	if (q != SQLITE_DONE)
		return ml__sqlerr(s, "read unit ends", err);
	/* number ranges */
	st = ml__stmt(s, ST_RANGES_OF);
	if (!st)
		return ml__sqlerr(s, "read ranges", err);
	sqlite3_bind_blob(st, 1, id->b, 32, SQLITE_STATIC);
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		struct unit_range *r = ml_realloc(u->ranges, (u->n_ranges + 1) * sizeof *r);
		if (!r) {
			sqlite3_reset(st);
			return ML_ENOMEM;
		}
		u->ranges = r;
		r += u->n_ranges++;
		r->start = (uint64_t)sqlite3_column_int64(st, 0);
		r->count = (uint64_t)sqlite3_column_int64(st, 1);
		r->at = (struct pos){(uint64_t)sqlite3_column_int64(st, 2),
		                     (uint64_t)sqlite3_column_int64(st, 3)};
	}
	sqlite3_reset(st);
	if (q != SQLITE_DONE)
		return ml__sqlerr(s, "read ranges", err);
	return ML_OK;
}

const struct unit_info *ml__unit_info(struct ml_store *s, const struct ml_hash *unit,
                                      struct ml_buf *err)
{
	struct ml_cache *c = cache_of(s);
	if (!c) {
		s->fault = ML_ENOMEM;
		return NULL;
	}
	size_t i = slot_of(unit->b, 1);
	while (c->units[i]) {
		if (ml_hash_eq(&c->units[i]->id, unit))
			return c->units[i];
		i = (i + 1) & (SLOTS - 1);
	}
	if (c->n_units >= ML_CACHE_MAX) {
		ml__cache_clear(s);
		i = slot_of(unit->b, 1);
	}
	struct unit_info *u = ml_calloc(1, sizeof *u);
	int rc = u ? load_unit(s, unit, u, err) : ML_ENOMEM;
	if (rc != ML_OK) {
		free_unit(u);
		if (!s->fault)
			s->fault = rc;
		return NULL;
	}
	c->units[i] = u;
	c->n_units++;
	return u;
}

static int load_grants(struct ml_store *s, struct grant_info *g, struct ml_buf *err)
{
	sqlite3_stmt *st = ml__stmt(s, ST_GRANTS_OF);
	if (!st)
		return ml__sqlerr(s, "read grants", err);
	sqlite3_bind_blob(st, 1, g->dev.b, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, g->role);
	int q, rc = ML_OK;
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		struct grant_at *a = ml_realloc(g->at, (g->n + 1) * sizeof *a);
		if (!a) {
			rc = ML_ENOMEM;
			break;
		}
		g->at = a;
		a += g->n++;
		memcpy(a->unit.b, sqlite3_column_blob(st, 0), 32);
		a->at = (struct pos){(uint64_t)sqlite3_column_int64(st, 1),
		                     (uint64_t)sqlite3_column_int64(st, 2)};
	}
	sqlite3_reset(st);
	if (rc == ML_OK && q != SQLITE_DONE)
		rc = ml__sqlerr(s, "read grants", err);
	return rc;
}

const struct grant_info *ml__grant_info(struct ml_store *s, const struct ml_pubkey *dev,
                                        enum ml_role role, struct ml_buf *err)
{
	struct ml_cache *c = cache_of(s);
	if (!c) {
		s->fault = ML_ENOMEM;
		return NULL;
	}
	size_t i = slot_of(dev->b, 2 + (unsigned)role);
	while (c->grants[i]) {
		if (c->grants[i]->role == role && ml_pubkey_eq(&c->grants[i]->dev, dev))
			return c->grants[i];
		i = (i + 1) & (SLOTS - 1);
	}
	if (c->n_grants >= ML_CACHE_MAX) {
		ml__cache_clear(s);
		i = slot_of(dev->b, 2 + (unsigned)role);
	}
	struct grant_info *g = ml_calloc(1, sizeof *g);
	int rc = ML_ENOMEM;
	if (g) {
		g->dev = *dev;
		g->role = role;
		rc = load_grants(s, g, err);
	}
	if (rc != ML_OK) {
		free_grant(g);
		if (!s->fault)
			s->fault = rc;
		return NULL;
	}
	c->grants[i] = g;
	c->n_grants++;
	return g;
}

/* Removes slot i and re-inserts the entries after it (linear-probing deletion). */
static void remove_unit_slot(struct ml_cache *c, size_t i)
{
	free_unit(c->units[i]);
	c->units[i] = NULL;
	c->n_units--;
	for (size_t j = (i + 1) & (SLOTS - 1); c->units[j]; j = (j + 1) & (SLOTS - 1)) {
		struct unit_info *u = c->units[j];
		c->units[j] = NULL;
		size_t k = slot_of(u->id.b, 1);
		while (c->units[k])
			k = (k + 1) & (SLOTS - 1);
		c->units[k] = u;
	}
}

void ml__unit_forget(struct ml_store *s, const struct ml_hash *unit)
{
	struct ml_cache *c = s->cache;
	if (!c)
		return;
	for (size_t i = slot_of(unit->b, 1); c->units[i]; i = (i + 1) & (SLOTS - 1)) {
		if (ml_hash_eq(&c->units[i]->id, unit)) {
			remove_unit_slot(c, i);
			return;
		}
	}
}

void ml__grant_forget(struct ml_store *s, const struct ml_pubkey *dev)
{
	struct ml_cache *c = s->cache;
	if (!c)
		return;
	/* A device has few roles: drop them all, then rebuild the probe chains. */
	bool removed = false;
	for (size_t i = 0; i < SLOTS; i++) {
		if (c->grants[i] && ml_pubkey_eq(&c->grants[i]->dev, dev)) {
			free_grant(c->grants[i]);
			c->grants[i] = NULL;
			c->n_grants--;
			removed = true;
		}
	}
	if (!removed)
		return;
	struct grant_info *keep[SLOTS];
	size_t n = 0;
	for (size_t i = 0; i < SLOTS; i++) {
		if (c->grants[i]) {
			keep[n++] = c->grants[i];
			c->grants[i] = NULL;
		}
	}
	for (size_t k = 0; k < n; k++) {
		size_t i = slot_of(keep[k]->dev.b, 2 + (unsigned)keep[k]->role);
		while (c->grants[i])
			i = (i + 1) & (SLOTS - 1);
		c->grants[i] = keep[k];
	}
}

/* --- members ------------------------------------------------------------------ */

static struct member_ctx **member_slot(struct ml_cache *c, const struct ml_hash *id)
{
	return &c->members[slot_of(id->b, 3) & (MEMBER_SLOTS - 1)];
}

int ml__member_cached(struct ml_store *s, const struct ml_hash *id, struct member_ctx *m)
{
	if (!s->cache)
		return ML_ENOTFOUND;
	struct member_ctx **slot = member_slot(s->cache, id);
	if (!*slot || !ml_hash_eq(&(*slot)->id, id))
		return ML_ENOTFOUND;
	/* Taken, not copied: the judge changes m, and keeps it again once applied. */
	*m = **slot;
	ml_free(*slot);
	*slot = NULL;
	return ML_OK;
}

void ml__member_keep(struct ml_store *s, struct member_ctx *m)
{
	struct ml_cache *c = cache_of(s);
	if (!c)
		return;
	struct member_ctx **slot = member_slot(c, &m->id);
	if (!*slot && !(*slot = ml_calloc(1, sizeof **slot)))
		return;
	/* Swapped: m takes the evicted member (or an empty one), for its owner to release. */
	struct member_ctx evicted = **slot;
	**slot = *m;
	*m = evicted;
}

void ml__member_return(struct ml_store *s, struct member_ctx *m)
{
	ml__member_keep(s, m);
	ml__member_recycle(s, m);
}

/* Moves from's allocations (its buffers and entry arrays) to `to`, whose own are overwritten. */
static void move_buffers(struct member_ctx *to, const struct member_ctx *from)
{
	to->keys = from->keys;
	to->sum = from->sum;
	to->official = from->official;
	to->draft = from->draft;
	to->raw = from->raw;
	to->e = from->e;
	to->at = from->at;
	to->body_off = from->body_off;
	to->cap = from->cap;
}

void ml__member_recycle(struct ml_store *s, struct member_ctx *m)
{
	struct ml_cache *c = s->cache;
	if (c && !c->spare_held) {
		move_buffers(&c->spare, m);
		c->spare_held = true;
	} else {
		ml__member_ctx_release(m);
	}
	memset(m, 0, sizeof *m);
}

void ml__member_reuse(struct ml_store *s, struct member_ctx *m)
{
	struct ml_cache *c = s->cache;
	if (!c || !c->spare_held)
		return;
	move_buffers(m, &c->spare);
	m->keys.len = m->sum.len = m->official.len = m->draft.len = m->raw.len = 0;
	m->n = 0;
	memset(&c->spare, 0, sizeof c->spare);
	c->spare_held = false;
}
