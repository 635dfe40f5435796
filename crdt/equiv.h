/*
 * equiv.h - equivocation evidence: proof that one device signed two
 * different ops at the same position of one feed.
 *
 * Evidence is a self-contained canonical CBOR record any node or auditor
 * can check offline with nothing but the network id (docs/PROTOCOL.md §6).
 * Each side is a chain of ops from the forked position up to and including
 * a signed op, so that unsigned ops in the middle of a batch are proven too.
 */
#ifndef ML_EQUIV_H
#define ML_EQUIV_H

#include "feed.h"

/* Largest evidence record accepted. */
#define ML_EQUIV_MAX_BYTES (2 * 1024 * 1024)

struct ml_equiv {
	struct ml_feed_id feed;
	uint64_t seq;        /* the forked position */
	struct ml_hash a, b; /* the two op ids at that position, a < b */
};

/*
 * Builds evidence from two authentic chains a[0..na) and b[0..nb) (parsed
 * ops with raw set) that start at the same position of one feed with
 * different ids.  Each chain must end with a signed op and verify as a run.
 * Appends the record to out and fills *ev (optional).  Returns ML_OK,
 * ML_EINVAL (not a fork: different feeds or positions, same op), or the
 * verification error of a chain; out is unchanged on error.
 */
int ml_equiv_build(const struct ml_op *a, size_t na, const struct ml_op *b, size_t nb,
                   struct ml_buf *out, struct ml_equiv *ev, struct ml_buf *err);

/*
 * Verifies an evidence record p[0..len) for network *net: canonical form,
 * every op decodes for net, both chains verify, and they fork one feed.
 * Fills *ev.  Returns ML_OK, or the first failure (ML_EMALFORMED ...
 * ML_EBADSIG, ML_EINVAL when the chains do not show a fork).
 */
int ml_equiv_verify(const uint8_t *p, size_t len, const struct ml_hash *net, struct ml_equiv *ev,
                    struct ml_buf *err);

#endif
