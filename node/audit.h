/*
 * audit.h - an auditor's check of a node: re-derive everything from the raw
 * signed log and compare with what the node claims.
 *
 * Every stored op (and every op kept as fork evidence) is fed, in the
 * node's evaluation order, to a fresh empty store, which verifies each
 * signature, hash chain and dependency and judges authority from scratch.
 * The audit then compares, op by op, the fresh verdicts with the stored
 * ones, and the fresh state hash with the node's.  A store edited behind
 * the judge's back - a changed name, a flipped verdict, altered op bytes,
 * a deleted op - shows up as a difference.
 */
#ifndef ML_NODE_AUDIT_H
#define ML_NODE_AUDIT_H

#include "store.h"

struct ml_audit_report {
	/* in: count only ops of feeds about these units (sorted), or all when NULL */
	const struct ml_hash *units;
	size_t n_units;
	/* out: */
	uint64_t ops;               /* ops in the node's log */
	uint64_t applied, rejected; /* the fresh verdicts */
	uint64_t unauthorised;      /* rejected: author had no right (ML_EUNAUTH) */
	uint64_t revoked;           /* rejected: author's key revoked (ML_EREVOKED) */
	uint64_t other_rejected;    /* rejected for another reason (body, dependency...) */
	uint64_t waiting;           /* still waiting for ops the node lacks */
	uint64_t forks;             /* feeds with proven equivocation */
	uint64_t
	    failed_verification; /* stored ops the fresh store refused (bad signature, chain...) */
	uint64_t verdict_mismatch; /* stored verdict differs from the fresh one */
	uint64_t missing;          /* ops the fresh store holds that the node's log lacks */
	struct ml_hash node_hash, fresh_hash;
	bool holds; /* nothing above is wrong: no failures, mismatches, and equal hashes */
	char first_problem[384];
};

/*
 * Audits the store s, using a scratch store file at scratch_path (created
 * and removed here).  Fills *r (keeping r->units: the whole log is always
 * verified; the counts are of those units' feeds).  Returns ML_OK when the audit ran (whether
 * or not the log holds: see r->holds), ML_ENOMEM, ML_EIO or ML_ESTORE.
 */
int ml_audit_store(struct ml_store *s, const char *scratch_path, struct ml_audit_report *r,
                   struct ml_buf *err);

#endif
