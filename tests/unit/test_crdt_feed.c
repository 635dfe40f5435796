/*
 * test_crdt_feed.c - feed continuity, batch verification and batch writing.
 */
#include "test.h"

#include "crdt/err.h"

#include <stdlib.h>
#include <string.h>

#define N 256

struct fx {
	struct test_feed feed;
	struct ml_hash net;
	struct ml_buf log;
	struct ml_op genesis;
	size_t ends[N];
	struct ml_op ops[N];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	fx->feed.key = test_key(3);
	fx->feed.now_ms = 1700000000000ULL;
	fx->net = test_genesis(&fx->feed, &fx->log);
	size_t gen_len = fx->log.len;
	test_write_batch(&fx->feed, &fx->net, N, &fx->log, fx->ends);
	assert_int_equal(ml_op_parse(fx->log.data, gen_len, &fx->genesis, NULL), ML_OK);
	size_t start = gen_len;
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(
		    ml_op_parse(fx->log.data + start, fx->ends[i] - start, &fx->ops[i], NULL),
		    ML_OK);
		start = fx->ends[i];
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	ml_key_free(fx->feed.key);
	ml_buf_release(&fx->log);
	free(fx);
	return 0;
}

static void test_feed_batch_has_one_signature_at_the_end(void **state)
{
	struct fx *fx = *state;
	for (size_t i = 0; i + 1 < N; i++)
		assert_false(fx->ops[i].has_sig);
	assert_true(fx->ops[N - 1].has_sig);
	assert_true(fx->genesis.has_sig);
	assert_int_equal(fx->ops[0].seq, 2);
	assert_true(ml_hash_eq(&fx->ops[0].prev, &fx->genesis.id));
}

static void test_feed_verify_run_covers_batch_with_one_signature(void **state)
{
	struct fx *fx = *state;
	size_t ok = 99;
	assert_int_equal(ml_feed_verify_run(&fx->genesis, fx->ops, N, &ok, NULL), ML_OK);
	assert_int_equal(ok, N);
	/* The genesis alone is a signed run too. */
	assert_int_equal(ml_feed_verify_run(NULL, &fx->genesis, 1, &ok, NULL), ML_OK);
	assert_int_equal(ok, 1);
}

static void test_feed_unsigned_tail_is_not_yet_authentic(void **state)
{
	struct fx *fx = *state;
	size_t ok = 99;
	assert_int_equal(ml_feed_verify_run(&fx->genesis, fx->ops, N - 1, &ok, NULL), ML_OK);
	assert_int_equal(ok, 0);
}

static void test_feed_bad_signature_invalidates_the_batch(void **state)
{
	struct fx *fx = *state;
	fx->ops[N - 1].sig.b[5] ^= 1;
	size_t ok = 99;
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(ml_feed_verify_run(&fx->genesis, fx->ops, N, &ok, &err), ML_EBADSIG);
	assert_int_equal(ok, 0);
	assert_non_null(strstr(ml_buf_str(&err), "does not verify"));
	ml_buf_release(&err);
}

static void test_feed_tampered_middle_op_breaks_the_chain(void **state)
{
	struct fx *fx = *state;
	/* A substituted op in the middle has another id, so the next prev no longer names it. */
	fx->ops[100].id.b[0] ^= 1;
	size_t ok;
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(ml_feed_verify_run(&fx->genesis, fx->ops, N, &ok, &err), ML_ESEQ);
	assert_int_equal(ok, 0);
	assert_non_null(strstr(ml_buf_str(&err), "seq 103"));
	ml_buf_release(&err);
}

static void test_feed_check_next_rules(void **state)
{
	struct fx *fx = *state;
	struct ml_op a = fx->ops[0], b = fx->ops[1];
	assert_int_equal(ml_feed_check_next(&a, &b, NULL), ML_OK);
	assert_int_equal(ml_feed_check_next(NULL, &fx->genesis, NULL), ML_OK);
	assert_int_equal(ml_feed_check_next(NULL, &a, NULL), ML_ESEQ);
	b.seq++;
	assert_int_equal(ml_feed_check_next(&a, &b, NULL), ML_ESEQ);
	b = fx->ops[1];
	b.hlc = a.hlc;
	assert_int_equal(ml_feed_check_next(&a, &b, NULL), ML_ECLOCK);
	b = fx->ops[1];
	b.lane = ML_LANE_REG;
	assert_int_equal(ml_feed_check_next(&a, &b, NULL), ML_ESEQ);
	b = fx->ops[1];
	b.author.b[0] ^= 1;
	assert_int_equal(ml_feed_check_next(&a, &b, NULL), ML_ESEQ);
	b = fx->ops[1];
	b.unit.b[0] ^= 1;
	assert_int_equal(ml_feed_check_next(&a, &b, NULL), ML_ESEQ);
}

static void test_feed_batch_cap_is_enforced(void **state)
{
	struct fx *fx = *state;
	/* Build ML_BATCH_MAX ops by hand, none signed: one more than a batch may hold unsigned. */
	size_t n = ML_BATCH_MAX;
	struct ml_buf log = ML_BUF_INIT;
	size_t *ends = calloc(n, sizeof *ends);
	struct ml_op *ops = calloc(n, sizeof *ops);
	struct ml_op prev = fx->ops[N - 1];
	uint8_t body[64];
	for (size_t i = 0; i < n; i++) {
		struct ml_op op = prev;
		op.seq = prev.seq + 1;
		op.prev = prev.id;
		op.hlc.c++;
		op.body = body;
		op.body_len = test_body(i, body);
		assert_int_equal(ml_op_seal(&op, NULL, &log, NULL), ML_OK);
		ends[i] = log.len;
		prev = op;
	}
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ml_op_parse(log.data + start, ends[i] - start, &ops[i], NULL),
		                 ML_OK);
		start = ends[i];
	}
	size_t ok = 99;
	assert_int_equal(ml_feed_verify_run(&fx->ops[N - 1], ops, n - 1, &ok, NULL), ML_OK);
	assert_int_equal(ok, 0);
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(ml_feed_verify_run(&fx->ops[N - 1], ops, n, &ok, &err), ML_EBATCH);
	assert_non_null(strstr(ml_buf_str(&err), "without a signature"));
	ml_buf_release(&err);
	ml_buf_release(&log);
	free(ops);
	free(ends);
}

static void test_feed_runs_across_batches_check_every_signature(void **state)
{
	struct fx *fx = *state;
	/* A second batch after the first: one run of 2N ops has two signatures. */
	size_t ends2[N];
	size_t base = fx->log.len;
	test_write_batch(&fx->feed, &fx->net, N, &fx->log, ends2);
	struct ml_op *all = calloc(2 * N, sizeof *all);
	size_t start = fx->ends[0] - fx->ops[0].raw_len;
	for (size_t i = 0; i < 2 * N; i++) {
		size_t end = i < N ? fx->ends[i] : ends2[i - N];
		assert_int_equal(ml_op_parse(fx->log.data + start, end - start, &all[i], NULL),
		                 ML_OK);
		start = end;
	}
	(void)base;
	size_t ok;
	assert_int_equal(ml_feed_verify_run(&fx->genesis, all, 2 * N, &ok, NULL), ML_OK);
	assert_int_equal(ok, 2 * N);
	/* A bad signature on the second batch leaves the first authentic. */
	all[2 * N - 1].sig.b[0] ^= 1;
	assert_int_equal(ml_feed_verify_run(&fx->genesis, all, 2 * N, &ok, NULL), ML_EBADSIG);
	assert_int_equal(ok, N);
	free(all);
}

static void test_feed_write_batch_refuses_empty_or_oversize(void **state)
{
	struct fx *fx = *state;
	struct ml_buf out = ML_BUF_INIT;
	struct ml_feed_head before = fx->feed.head;
	assert_int_equal(ml_feed_write_batch(&fx->feed.head, fx->feed.key, &fx->feed.clock, 0, NULL,
	                                     0, &out, NULL, NULL),
	                 ML_EINVAL);
	assert_int_equal(ml_feed_write_batch(&fx->feed.head, fx->feed.key, &fx->feed.clock, 0,
	                                     fx->ops, ML_BATCH_MAX + 1, &out, NULL, NULL),
	                 ML_EINVAL);
	assert_int_equal(out.len, 0);
	assert_int_equal(fx->feed.head.seq, before.seq);
}

int main(void)
{
	ml_crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_feed_batch_has_one_signature_at_the_end, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_feed_verify_run_covers_batch_with_one_signature,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_feed_unsigned_tail_is_not_yet_authentic, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_feed_bad_signature_invalidates_the_batch, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_feed_tampered_middle_op_breaks_the_chain, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_feed_check_next_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_feed_batch_cap_is_enforced, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_feed_runs_across_batches_check_every_signature,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_feed_write_batch_refuses_empty_or_oversize, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
