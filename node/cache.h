/*
 * cache.h - in-memory copies of the unit and grant rows the judge reads on
 * every op, so the authority walk runs without SQL.
 *
 * An entry is filled from the store on first use and dropped whenever the
 * judge writes a row it covers; the whole cache is dropped on rollback and
 * rebuild.  Entries are small and bounded in number (ML_CACHE_MAX); when full
 * the cache starts over.
 */
#ifndef ML_NODE_CACHE_H
#define ML_NODE_CACHE_H

#include "node_int.h"

#define ML_CACHE_MAX 8192

/* Where an op sits, for "is it in the past of the op being judged". */
struct pos {
	uint64_t feed, seq;
};

struct unit_info {
	struct ml_hash id;
	bool exists;
	bool root;
	struct ml_hash create_parent;
	struct pos created;
	char level[32], sector[32];
	size_t n_moves, n_ends;
	struct unit_move {
		struct ml_hash to;
		struct pos at;
		uint8_t stamp[76];
	} * moves;
	struct unit_end {
		char kind[12];
		bool has_into;
		struct ml_hash into;
		struct pos at;
	} * ends;
	size_t n_ranges; /* number ranges delegated to the unit */
	struct unit_range {
		uint64_t start, count;
		struct pos at;
	} * ranges;
};

struct grant_info {
	struct ml_pubkey dev;
	enum ml_role role;
	size_t n;
	struct grant_at {
		struct ml_hash unit;
		struct pos at;
	} * at;
};

/* Returns the cached unit row (exists == false when there is none); NULL on error, which is
 * also recorded in s->fault so that the judge fails instead of deciding on it. */
const struct unit_info *ml__unit_info(struct ml_store *s, const struct ml_hash *unit,
                                      struct ml_buf *err);

/* Returns the cached grants of (dev, role); NULL on error (recorded in s->fault). */
const struct grant_info *ml__grant_info(struct ml_store *s, const struct ml_pubkey *dev,
                                        enum ml_role role, struct ml_buf *err);

/* Drops the cached copy of a unit / of a device's grants after a write. */
void ml__unit_forget(struct ml_store *s, const struct ml_hash *unit);
void ml__grant_forget(struct ml_store *s, const struct ml_pubkey *dev);

/* Drops everything (rollback, rebuild, close). */
void ml__cache_clear(struct ml_store *s);

#endif
