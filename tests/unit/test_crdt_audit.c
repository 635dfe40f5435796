/*
 * test_crdt_audit.c - verdicts for a mixed set of ops from several feeds.
 */
#include "test.h"

#include "crdt/audit.h"
#include "crdt/err.h"

#include <stdlib.h>
#include <string.h>

/* Genesis + batch of 5 by key A; a batch of 4 by key B; parsed into ops[0..10). */
struct fx {
	struct test_feed a, b;
	struct ml_hash net;
	struct ml_buf log_a, log_b;
	struct ml_op ops[10];
};

static void parse_into(struct ml_buf *log, size_t start, const size_t *ends, size_t n,
                       struct ml_op *out)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ml_op_parse(log->data + start, ends[i] - start, &out[i], NULL),
		                 ML_OK);
		start = ends[i];
	}
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	fx->a.key = test_key(21);
	fx->b.key = test_key(22);
	fx->a.now_ms = fx->b.now_ms = 1700000000000ULL;
	fx->net = test_genesis(&fx->a, &fx->log_a);
	size_t gen = fx->log_a.len, ea[5], eb[4];
	test_write_batch(&fx->a, &fx->net, 5, &fx->log_a, ea);
	fx->b.head.feed.unit = fx->net;
	fx->b.head.feed.lane = ML_LANE_REG;
	test_write_batch(&fx->b, &fx->net, 4, &fx->log_b, eb);
	assert_int_equal(ml_op_parse(fx->log_a.data, gen, &fx->ops[0], NULL), ML_OK);
	parse_into(&fx->log_a, gen, ea, 5, &fx->ops[1]);
	parse_into(&fx->log_b, 0, eb, 4, &fx->ops[6]);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	ml_key_free(fx->a.key);
	ml_key_free(fx->b.key);
	ml_buf_release(&fx->log_a);
	ml_buf_release(&fx->log_b);
	free(fx);
	return 0;
}

static void test_audit_clean_set_in_any_order(void **state)
{
	struct fx *fx = *state;
	struct ml_op shuffled[10];
	int pos[10] = {9, 3, 0, 7, 1, 8, 5, 2, 6, 4};
	for (int i = 0; i < 10; i++)
		shuffled[i] = fx->ops[pos[i]];
	struct ml_audit a;
	assert_int_equal(ml_audit_run(&a, &fx->net, shuffled, 10), ML_OK);
	assert_int_equal(a.authentic, 10);
	assert_int_equal(a.n_feeds, 2);
	for (size_t f = 0; f < a.n_feeds; f++)
		assert_int_equal(a.feeds[f].err, ML_OK);
	ml_audit_release(&a);
}

static void test_audit_gap_and_pending_tail(void **state)
{
	struct fx *fx = *state;
	/* Feed A without its seq 3; feed B without its signed last op. */
	struct ml_op set[8];
	int pick[8] = {0, 1, 3, 4, 5, 6, 7, 8};
	for (int i = 0; i < 8; i++)
		set[i] = fx->ops[pick[i]];
	struct ml_audit a;
	assert_int_equal(ml_audit_run(&a, &fx->net, set, 8), ML_OK);
	/* genesis authentic; seq 2 unsigned before the gap: pending; seq 4..6 verify from seq 4 */
	assert_int_equal(a.status[0], ML_OK);
	assert_int_equal(a.status[1], ML_EAGAIN);
	assert_int_equal(a.status[2], ML_OK);
	assert_int_equal(a.status[4], ML_OK);
	assert_int_equal(a.status[5], ML_EAGAIN);
	assert_int_equal(a.status[7], ML_EAGAIN);
	int gap_seen = 0;
	for (size_t f = 0; f < a.n_feeds; f++)
		gap_seen |= a.feeds[f].err == ML_ESEQ && a.feeds[f].err_seq == 3;
	assert_true(gap_seen);
	ml_audit_release(&a);
}

static void test_audit_fork_rejects_both_sides_onward(void **state)
{
	struct fx *fx = *state;
	/* B's feed again, with a different op at seq 4 (signed by B). */
	struct ml_op alt = fx->ops[9];
	uint8_t body[64];
	alt.body = body;
	alt.body_len = test_body(12345, body);
	struct ml_buf enc = ML_BUF_INIT;
	assert_int_equal(ml_op_seal(&alt, fx->b.key, &enc, NULL), ML_OK);
	struct ml_op set[11];
	memcpy(set, fx->ops, sizeof fx->ops);
	assert_int_equal(ml_op_parse(enc.data, enc.len, &set[10], NULL), ML_OK);
	struct ml_audit a;
	assert_int_equal(ml_audit_run(&a, &fx->net, set, 11), ML_OK);
	assert_int_equal(a.status[9], ML_EFORK);
	assert_int_equal(a.status[10], ML_EFORK);
	assert_int_equal(a.status[6], ML_EAGAIN); /* their batch's signature is on the fork */
	assert_int_equal(a.status[5], ML_OK);     /* the other feed is unaffected */
	ml_buf_release(&enc);
	ml_audit_release(&a);
}

static void test_audit_other_network_is_rejected(void **state)
{
	struct fx *fx = *state;
	struct ml_hash other = fx->net;
	other.b[3] ^= 4;
	struct ml_audit a;
	assert_int_equal(ml_audit_run(&a, &other, fx->ops, 10), ML_OK);
	assert_int_equal(a.rejected, 10);
	assert_int_equal(a.status[0], ML_EWRONGNET);
	ml_audit_release(&a);
}

static void test_oplog_splits_concatenated_ops(void **state)
{
	struct fx *fx = *state;
	size_t off = 0, len, count = 0;
	const uint8_t *p;
	while (ml_oplog_next(fx->log_a.data, fx->log_a.len, &off, &p, &len, NULL) == ML_OK)
		count++;
	assert_int_equal(count, 6);
	assert_int_equal(off, fx->log_a.len);
	/* a cut log stops with the reader's error at the cut op */
	off = 0;
	struct ml_buf err = ML_BUF_INIT;
	int rc;
	while ((rc = ml_oplog_next(fx->log_a.data, fx->log_a.len - 3, &off, &p, &len, &err)) ==
	       ML_OK)
		;
	assert_int_equal(rc, ML_ETRUNCATED);
	assert_non_null(strstr(ml_buf_str(&err), "op starting at byte"));
	ml_buf_release(&err);
}

int main(void)
{
	ml_crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_audit_clean_set_in_any_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_gap_and_pending_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_fork_rejects_both_sides_onward, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_audit_other_network_is_rejected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oplog_splits_concatenated_ops, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
