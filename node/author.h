/*
 * author.h - writing ops as this device.
 *
 * The author fills in everything the caller should not have to know: the
 * feed position and prev from the store, the hybrid logical clock, and the
 * deps that put in the op's causal past what the op needs to be valid (the
 * grants that authorise it, the unit it is about, the ops it names).  A
 * write is all-or-nothing: the ops are judged by the same rules as ops from
 * a peer, and unless every one is valid nothing is stored and the error
 * names the first problem.
 */
#ifndef ML_AUTHOR_H
#define ML_AUTHOR_H

#include "store.h"

#include "crdt/key.h"
#include "crdt/op.h"

/* One op to write: its type and its canonical body (see crdt/body.h's builder). */
struct ml_draft {
	const char *type;
	const uint8_t *body;
	size_t body_len;
};

/* Most ops one write holds (an import of a large unit's list). */
#define ML_AUTHOR_MAX 20000

/*
 * Writes drafts[0..n) (n <= ML_AUTHOR_MAX) as one transaction about `unit` in
 * `lane`, in batches of up to ML_BATCH_MAX ops with one signature each,
 * signed by key.  For a genesis batch, unit is ignored.  On ML_OK the ops
 * are stored and applied; ids[i] (optional) receives op i's id and bytes
 * (optional) their encodings, concatenated.  Otherwise nothing is stored:
 * ML_EFIELD, ML_EUNAUTH, ... with the reason in err, or ML_ESTORE.
 */
int ml_author_write(struct ml_store *s, const struct ml_key *key, const struct ml_hash *unit,
                    enum ml_lane lane, const struct ml_draft *drafts, size_t n, uint64_t now_ms,
                    struct ml_hash *ids, struct ml_buf *bytes, struct ml_buf *err);

/* Returns the current time in milliseconds since the Unix epoch (UTC). */
uint64_t ml_now_ms(void);

#endif
