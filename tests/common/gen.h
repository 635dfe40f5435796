/*
 * gen.h - synthetic but realistic networks of signed ops, reproducible from a
 * seed: a tree (national, provinces, districts, base units), an admin, a
 * district approver per district and an officer per base unit, number ranges
 * delegated down the tree, and members with Vietnamese names (family names at
 * their real frequencies), dates of birth, genders, hometowns and 12-digit
 * citizen ID numbers structured like real ones, entered, submitted, approved
 * with numbers, edited and re-approved.
 *
 * Writes are batched as the register does them: imports of hundreds, one
 * submission per import, approvals of dozens, single edits - or every op in
 * its own signed batch (max_batch = 1).  The ops are written to a file with
 * an index of batches; no store is involved, so a reader can replay them into
 * one as a node would receive them.
 */
#ifndef ML_TEST_GEN_H
#define ML_TEST_GEN_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

struct gen_params {
	uint64_t seed;
	size_t target_ops;   /* about this many ops in all */
	size_t provinces;    /* default 10 */
	size_t districts;    /* per province, default 12 */
	size_t import_size;  /* members per import batch, default 200 */
	size_t approve_size; /* approvals per batch, default 40 */
	size_t max_batch;    /* 0: batches as above; 1: every op signed alone */
};

struct gen_stats {
	size_t ops, batches, members, units, bytes;
};

/*
 * Writes the ops to path and the batch index to path + ".idx" (per batch: op
 * count and byte length, two little-endian uint32).  Returns 0, or -1 with
 * errno set.
 */
int gen_write(const struct gen_params *p, const char *path, struct gen_stats *st);

/* Reads the next batch of an index file: *n ops in *bytes bytes.  Returns 1, 0 at the end. */
int gen_next_batch(FILE *idx, uint32_t *n, uint32_t *bytes);

#endif
