/*
 * feed.h - feeds: the append-only, hash-chained sequence of one author's
 * ops about one unit in one lane.
 *
 * A feed is the unit of replication and of verification (docs/PROTOCOL.md
 * §4).  These checks need the neighbouring op(s) of the same feed; the
 * checks of a lone op are in op.h.
 */
#ifndef ML_FEED_H
#define ML_FEED_H

#include "op.h"

struct ml_feed_id {
	struct ml_pubkey author;
	struct ml_hash unit;
	enum ml_lane lane;
};

/* The head of a feed as its writer tracks it; seq 0 means empty (id and hlc unused). */
struct ml_feed_head {
	struct ml_feed_id feed;
	uint64_t seq;
	struct ml_hash id;
	struct ml_hlc hlc;
};

/* Returns the feed op belongs to. */
struct ml_feed_id ml_feed_of(const struct ml_op *op);

/* Returns true when a and b name the same feed. */
bool ml_feed_id_eq(const struct ml_feed_id *a, const struct ml_feed_id *b);

/*
 * Checks that op directly follows prev in one feed: same network, author,
 * unit and lane; seq one more; prev naming prev's id; hlc strictly greater.
 * With prev NULL, checks that op is the feed's first (seq 1).  Returns ML_OK,
 * ML_ESEQ or ML_ECLOCK with a message in err.
 */
int ml_feed_check_next(const struct ml_op *prev, const struct ml_op *op, struct ml_buf *err);

/*
 * Verifies a run of consecutive parsed ops of one feed (each with raw set,
 * from ml_op_parse): continuity from `before` (the op preceding ops[0], or
 * NULL to start unchecked unless ops[0] is seq 1) and between the ops, at
 * most ML_BATCH_MAX ops per signature, and every signature present - for a
 * single batch, one signature check covers the whole run.
 *
 * Sets *n_authentic to the number of leading ops proven authentic: those up
 * to and including the last signed op that verified.  Ops after it are
 * not yet authentic (awaiting the batch's signature) unless an error says
 * they never will be.  Returns ML_OK, or ML_ESEQ, ML_ECLOCK, ML_EBATCH,
 * ML_EBADSIG, ML_ENOMEM naming the op.  Does not check the network: decode
 * or parse with the network first.  Thread-safe.
 */
int ml_feed_verify_run(const struct ml_op *before, const struct ml_op *ops, size_t n,
                       size_t *n_authentic, struct ml_buf *err);

/*
 * Fills in the feed fields of ops[0..n) - author, feed unit and lane from
 * head, seq, prev and hlc (advancing *clock with now_ms) - and seals them
 * as one batch: unsigned except the last, which key signs.  The caller sets
 * net, type, body and deps.  Appends the encodings to out; ends[i] (if
 * non-NULL) receives the offset in out just past op i; advances head.  n must
 * be 1..ML_BATCH_MAX.  Returns ML_OK or an ml_op_seal error naming the op; on
 * error head, clock and out are unchanged.
 *
 * The first op of an empty feed whose type is genesis creates the network; its
 * head's unit becomes its id.
 */
int ml_feed_write_batch(struct ml_feed_head *head, const struct ml_key *key, struct ml_hlc *clock,
                        uint64_t now_ms, struct ml_op *ops, size_t n, struct ml_buf *out,
                        size_t *ends, struct ml_buf *err);

#endif
