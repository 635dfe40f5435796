/*
 * frontier.h - causal-past vectors: for each feed, the highest seq seen.
 *
 * An op's past is everything reachable through its `prev` and `deps`.  Its
 * frontier maps each feed of that past (by a node-local feed number) to the
 * highest seq included; an op O is in the past exactly when the frontier's
 * entry for O's feed is at least O's seq.  The op's own feed is left out (its
 * past there is simply seq-1), so an op without deps shares its
 * predecessor's frontier and frontiers change only where deps bring news.
 */
#ifndef ML_FRONTIER_H
#define ML_FRONTIER_H

#include "buf.h"
#include "types.h"

#include <stdbool.h>
#include <stdint.h>

struct ml_fentry {
	uint64_t feed;
	uint64_t seq;
};

struct ml_frontier {
	struct ml_fentry *e; /* sorted by feed, one entry per feed */
	size_t n, cap;
};

/* Frees f's entries and empties it; accepts zeroed frontiers. */
void ml_frontier_release(struct ml_frontier *f);

/* Empties f, keeping its memory. */
void ml_frontier_reset(struct ml_frontier *f);

/* Returns the highest seq of feed in f, 0 when f has none. */
uint64_t ml_frontier_get(const struct ml_frontier *f, uint64_t feed);

/* Raises feed's entry to at least seq.  ML_OK or ML_ENOMEM. */
int ml_frontier_raise(struct ml_frontier *f, uint64_t feed, uint64_t seq);

/* Raises every entry of dst to src's (the union of two pasts).  ML_OK or ML_ENOMEM. */
int ml_frontier_merge(struct ml_frontier *dst, const struct ml_frontier *src);

/* Removes feed's entry, if any. */
void ml_frontier_drop(struct ml_frontier *f, uint64_t feed);

/* Copies src into dst.  ML_OK or ML_ENOMEM. */
int ml_frontier_copy(struct ml_frontier *dst, const struct ml_frontier *src);

/* Appends f's compact encoding (varints, feeds delta-coded) to out. */
int ml_frontier_encode(const struct ml_frontier *f, struct ml_buf *out);

/* Decodes p[0..len) into f (replacing its entries).  ML_OK, ML_EMALFORMED or ML_ENOMEM. */
int ml_frontier_decode(struct ml_frontier *f, const uint8_t *p, size_t len);

#endif
