/*
 * feedmap.h - a map from a store's feed number to what a peer is known to
 * hold of that feed: open addressing, linear probing, grows at 1/2 full.
 */
#ifndef ML_FEEDMAP_H
#define ML_FEEDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ml_feedmap_slot {
	int64_t feed; /* 0: empty (feed numbers start at 1) */
	uint64_t seq; /* the peer holds 1..seq */
	bool in_scope;
	uint8_t writer; /* ML_FEED_WRITER_*: who wrote the feed, learnt on first send */
};

enum { ML_FEED_WRITER_UNKNOWN, ML_FEED_WRITER_US, ML_FEED_WRITER_OTHER };

struct ml_feedmap {
	struct ml_feedmap_slot *slots;
	size_t cap, n; /* cap is 0 or a power of two */
};

/* Returns the slot of feed, or NULL when absent.  Borrowed until the next put. */
struct ml_feedmap_slot *ml_feedmap_get(const struct ml_feedmap *m, int64_t feed);

/* Returns the slot of feed (feed > 0), adding a zeroed one when absent; NULL when out of memory. */
struct ml_feedmap_slot *ml_feedmap_put(struct ml_feedmap *m, int64_t feed);

/* Empties m, keeping nothing; accepts a zeroed map. */
void ml_feedmap_release(struct ml_feedmap *m);

#endif
