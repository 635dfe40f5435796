/*
 * audit.h - verifying a set of ops from many feeds, as an auditor does with
 * a file, a bundle or a node's whole log.
 *
 * Given parsed ops in any order, it groups them by feed, orders each feed by
 * seq, and gives every op a verdict: authentic, awaiting its batch's
 * signature, or rejected with a reason (bad signature, broken chain, fork,
 * wrong network).  Pure: no I/O, no allocation beyond the report.
 */
#ifndef ML_AUDIT_H
#define ML_AUDIT_H

#include "feed.h"

struct ml_audit_feed {
	struct ml_feed_id feed;
	uint64_t first_seq, last_seq;
	size_t ops;       /* ops of this feed in the input */
	size_t authentic; /* of which proven authentic */
	int err;          /* ML_OK, or the feed's first problem */
	uint64_t err_seq; /* the seq where it starts */
	char msg[200];    /* a sentence about err */
};

struct ml_audit {
	size_t n_ops;
	int *status; /* per input op: ML_OK, ML_EAGAIN (unsigned tail), or the rejection */
	struct ml_audit_feed *feeds;
	size_t n_feeds;
	size_t authentic; /* ops proven authentic */
	size_t pending;   /* ops awaiting a signature */
	size_t rejected;  /* ops rejected */
};

/*
 * Audits ops[0..n) (parsed, raw set) for network *net into *a, which the
 * caller releases with ml_audit_release.  Returns ML_OK (the findings are in
 * *a) or ML_ENOMEM.  Thread-safe.
 */
int ml_audit_run(struct ml_audit *a, const struct ml_hash *net, const struct ml_op *ops, size_t n);

/* Frees the report's arrays; accepts NULL and zeroed reports. */
void ml_audit_release(struct ml_audit *a);

/*
 * Splits the next op off a concatenation of ops (a log file or a bundle
 * body): sets *op and *len to its bytes and advances *off.  Returns ML_OK,
 * ML_ENOTFOUND at the end, or the reader's error (with the byte offset in
 * err) when the bytes at *off are not one well-formed item within the op size
 * limit.
 */
int ml_oplog_next(const uint8_t *p, size_t size, size_t *off, const uint8_t **op, size_t *len,
                  struct ml_buf *err);

#endif
