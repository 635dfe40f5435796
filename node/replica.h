/*
 * replica.h - what a node offers a peer: its feed heads within a scope, and
 * the ops after given heads, in an order the receiver can judge at once.
 *
 * A feed is offered up to its judged head: every op of the prefix, applied
 * or rejected, travels, because a later op's hash chain passes through a
 * rejected one (docs/PROTOCOL.md §12.4).  Ops travel in this node's
 * evaluation order, which is causal: an op never arrives before its past.
 *
 * Functions that can fail return ML_OK or a negative ml_err with a sentence
 * in err; ML_ESTORE carries SQLite's message.
 */
#ifndef ML_REPLICA_H
#define ML_REPLICA_H

#include "scope.h"
#include "store.h"

#include "crdt/feed.h"

#include <stdbool.h>
#include <stdint.h>

/* A feed this node holds, as offered to one peer. */
struct ml_replica_feed {
	uint8_t key[32]; /* ml_replica_feed_key of the feed: its name on the wire */
	uint64_t seq;    /* judged head */
	int64_t feed;    /* this store's feed number */
	struct ml_feed_id id;
};

/* Writes the wire name of feed f: BLAKE2b-256("memberlog/feed/v1" | author | unit | lane). */
void ml_replica_feed_key(const struct ml_feed_id *f, uint8_t out[32]);

/*
 * Lists the feeds this node holds with a judged op, restricted to scope sc
 * (NULL: all), sorted by key, into *out (caller frees with free()) and *n.
 * ML_OK, ML_ENOMEM or ML_ESTORE.
 */
int ml_replica_heads(struct ml_store *s, const struct ml_scope_set *sc,
                     struct ml_replica_feed **out, size_t *n, struct ml_buf *err);

/* One op handed to a ml_replica_fn; every pointer is borrowed for the call only. */
struct ml_replica_op {
	int64_t feed; /* this store's feed number */
	uint64_t seq;
	int64_t eval;
	const uint8_t *raw;
	size_t len;
};

/* Receives ops one by one; returns ML_OK to go on, anything else to stop (returned as is). */
typedef int (*ml_replica_fn)(void *ctx, const struct ml_replica_op *op);

/* A range of one feed to send: seqs after..upto (after < seq <= upto). */
struct ml_replica_want {
	int64_t feed;
	uint64_t after, upto;
};

struct ml_replica_cursor;

/*
 * Plans sending every judged op of the wanted ranges w[0..n) (copied), in
 * evaluation order: small sets are read by key and sorted, large ones by the
 * evaluation index from the earliest wanted op.  *out is freed with
 * ml_replica_close.  ML_OK, ML_ENOMEM or ML_ESTORE.
 */
int ml_replica_open(struct ml_store *s, const struct ml_replica_want *w, size_t n,
                    struct ml_replica_cursor **out, struct ml_buf *err);

/*
 * Hands the next planned ops to fn until about max_bytes were handed or the
 * plan is done (*done set).  ML_OK, fn's code, or ML_ESTORE.
 */
int ml_replica_next(struct ml_store *s, struct ml_replica_cursor *c, size_t max_bytes,
                    ml_replica_fn fn, void *ctx, bool *done, struct ml_buf *err);

/* Frees the cursor; accepts NULL. */
void ml_replica_close(struct ml_replica_cursor *c);

/* Says from an op's feed and seq whether the caller wants it (its bytes are read only then);
 * an op it declines is passed by for good. */
typedef bool (*ml_replica_pick_fn)(void *ctx, int64_t feed, uint64_t seq);

/*
 * Calls fn for every judged op evaluated after `after` (an evaluation
 * number) that pick wants, in order, looking at most at limit ops; *last
 * receives the last evaluation number looked at (after, if none).  For
 * pushing new ops to peers: the ops are listed from the evaluation index,
 * and only those picked are read.  pick and fn must not be NULL.  ML_OK,
 * fn's code or ML_ESTORE.
 */
int ml_replica_since(struct ml_store *s, int64_t after, size_t limit, ml_replica_pick_fn pick,
                     ml_replica_fn fn, void *ctx, int64_t *last, struct ml_buf *err);

/* The highest evaluation number in the store (0 when nothing is judged).  ML_OK or ML_ESTORE. */
int ml_replica_last_eval(struct ml_store *s, int64_t *out, struct ml_buf *err);

/* Reads the identity of feed number `feed` into *out.  ML_OK, ML_ENOTFOUND or ML_ESTORE. */
int ml_replica_feed_id(struct ml_store *s, int64_t feed, struct ml_feed_id *out,
                       struct ml_buf *err);

#endif
