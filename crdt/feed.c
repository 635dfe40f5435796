/*
 * feed.c - continuity and batch verification of feeds, and batch writing.
 *
 * Authenticity rule (docs/PROTOCOL.md §5): an op is authentic once a signed
 * op at or after it in its feed verifies and the prev links between them
 * hold.  A signature present that fails invalidates its op and every later
 * op of the feed.  A signed op may follow at most ML_BATCH_MAX - 1 unsigned
 * ones, so a batch never exceeds ML_BATCH_MAX ops.
 */
#include "feed.h"

#include "err.h"

#include <string.h>

struct ml_feed_id ml_feed_of(const struct ml_op *op)
{
	struct ml_feed_id f;
	f.author = op->author;
	f.unit = *ml_op_feed_unit(op);
	f.lane = op->lane;
	return f;
}

bool ml_feed_id_eq(const struct ml_feed_id *a, const struct ml_feed_id *b)
{
	return a->lane == b->lane && ml_pubkey_eq(&a->author, &b->author) &&
	       ml_hash_eq(&a->unit, &b->unit);
}

int ml_feed_check_next(const struct ml_op *prev, const struct ml_op *op, struct ml_buf *err)
{
	if (!prev) {
		if (op->seq != 1)
			return ml_errf(err, ML_ESEQ, "op seq %llu has no previous op to follow",
			               (unsigned long long)op->seq);
		return ML_OK;
	}
	struct ml_feed_id a = ml_feed_of(prev), b = ml_feed_of(op);
	if (!ml_feed_id_eq(&a, &b) || !ml_hash_eq(ml_op_network(prev), ml_op_network(op)))
		return ml_errf(err, ML_ESEQ, "op seq %llu belongs to another feed than op seq %llu",
		               (unsigned long long)op->seq, (unsigned long long)prev->seq);
	if (op->seq != prev->seq + 1)
		return ml_errf(err, ML_ESEQ, "op seq %llu does not follow seq %llu",
		               (unsigned long long)op->seq, (unsigned long long)prev->seq);
	if (!ml_hash_eq(&op->prev, &prev->id))
		return ml_errf(err, ML_ESEQ, "op seq %llu: prev does not name the id of seq %llu",
		               (unsigned long long)op->seq, (unsigned long long)prev->seq);
	if (ml_hlc_cmp(op->hlc, prev->hlc) <= 0)
		return ml_errf(err, ML_ECLOCK, "op seq %llu: clock %llu.%u is not after %llu.%u",
		               (unsigned long long)op->seq, (unsigned long long)op->hlc.ms,
		               op->hlc.c, (unsigned long long)prev->hlc.ms, prev->hlc.c);
	return ML_OK;
}

int ml_feed_verify_run(const struct ml_op *before, const struct ml_op *ops, size_t n,
                       size_t *n_authentic, struct ml_buf *err)
{
	size_t authentic = 0, unsigned_run = 0;
	int rc = ML_OK;
	*n_authentic = 0;
	if (n == 0)
		return ml_errf(err, ML_EINVAL, "empty run of ops");
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		const struct ml_op *prev = i ? &ops[i - 1] : before;
		if (prev || ops[i].seq == 1)
			rc = ml_feed_check_next(prev, &ops[i], err);
		if (rc < 0)
			break;
		if (!ops[i].has_sig) {
			if (++unsigned_run >= ML_BATCH_MAX)
				rc = ml_errf(err, ML_EBATCH,
				             "op seq %llu: more than %d ops without a signature",
				             (unsigned long long)ops[i].seq, ML_BATCH_MAX - 1);
			continue;
		}
		rc = ml_op_verify_sig(&ops[i], err);
		if (rc == ML_OK) {
			authentic = i + 1;
			unsigned_run = 0;
		}
	}
	*n_authentic = authentic;
	return rc;
}

int ml_feed_write_batch(struct ml_feed_head *head, const struct ml_key *key, struct ml_hlc *clock,
                        uint64_t now_ms, struct ml_op *ops, size_t n, struct ml_buf *out,
                        size_t *ends, struct ml_buf *err)
{
	if (n == 0 || n > ML_BATCH_MAX)
		return ml_errf(err, ML_EINVAL, "a batch holds 1 to %d ops, not %zu", ML_BATCH_MAX,
		               n);
	struct ml_feed_head h = *head;
	struct ml_hlc c = *clock;
	h.feed.author = key->pk;
	size_t start = out->len;
	for (size_t i = 0; i < n; i++) {
		struct ml_op *op = &ops[i];
		op->version = ML_OP_VERSION;
		op->author = key->pk;
		op->lane = h.feed.lane;
		op->seq = h.seq + 1;
		if (h.seq)
			op->prev = h.id;
		if (!ml_op_is_genesis(op)) {
			op->has_unit = true;
			op->unit = h.feed.unit;
		}
		op->hlc = ml_hlc_send(&c, now_ms);
		int rc = ml_op_seal(op, i + 1 == n ? key : NULL, out, err);
		if (rc < 0) {
			ml_err_prefix(err, "op %zu of the batch: ", i + 1);
			out->len = start;
			return rc;
		}
		if (ends)
			ends[i] = out->len;
		h.seq = op->seq;
		h.id = op->id;
		h.hlc = op->hlc;
		if (ml_op_is_genesis(op))
			h.feed = ml_feed_of(op);
	}
	*head = h;
	*clock = c;
	return ML_OK;
}
