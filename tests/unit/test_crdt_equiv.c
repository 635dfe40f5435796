/*
 * test_crdt_equiv.c - equivocation evidence: built from a real fork, checked offline.
 */
#include "test.h"

#include "crdt/err.h"
#include "crdt/equiv.h"

#include <stdlib.h>
#include <string.h>

/*
 * A device writes genesis, then forks: from the same head it writes batch A
 * (3 ops) and batch B (2 ops), as a cloned device or a restored backup would.
 */
struct fx {
	struct ml_hash net;
	struct ml_buf log_a, log_b, gen;
	struct ml_op a[3], b[2];
	struct ml_key *key;
};

static void parse_run(struct ml_buf *log, size_t *ends, size_t n, struct ml_op *ops)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ml_op_parse(log->data + start, ends[i] - start, &ops[i], NULL),
		                 ML_OK);
		start = ends[i];
	}
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	struct test_feed f = {.key = test_key(5), .now_ms = 1700000000000ULL};
	fx->key = f.key;
	fx->net = test_genesis(&f, &fx->gen);
	struct test_feed fork = f;
	size_t ea[3], eb[2];
	test_write_batch(&f, &fx->net, 3, &fx->log_a, ea);
	fork.now_ms += 5; /* different clock, so different ops */
	test_write_batch(&fork, &fx->net, 2, &fx->log_b, eb);
	parse_run(&fx->log_a, ea, 3, fx->a);
	parse_run(&fx->log_b, eb, 2, fx->b);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	ml_buf_release(&fx->log_a);
	ml_buf_release(&fx->log_b);
	ml_buf_release(&fx->gen);
	ml_key_free(fx->key);
	free(fx);
	return 0;
}

static void test_equiv_evidence_verifies_offline(void **state)
{
	struct fx *fx = *state;
	struct ml_buf ev = ML_BUF_INIT, err = ML_BUF_INIT;
	struct ml_equiv built, checked;
	int rc = ml_equiv_build(fx->a, 3, fx->b, 2, &ev, &built, &err);
	if (rc)
		fail_msg("%s", ml_buf_str(&err));
	assert_int_equal(built.seq, 2);
	rc = ml_equiv_verify(ev.data, ev.len, &fx->net, &checked, &err);
	if (rc)
		fail_msg("%s", ml_buf_str(&err));
	assert_int_equal(checked.seq, 2);
	assert_true(ml_pubkey_eq(&checked.feed.author, &fx->key->pk));
	assert_true(ml_hash_eq(&checked.a, &built.a));
	assert_true(ml_hash_cmp(&checked.a, &checked.b) < 0);

	/* The record does not depend on argument order. */
	struct ml_buf ev2 = ML_BUF_INIT;
	assert_int_equal(ml_equiv_build(fx->b, 2, fx->a, 3, &ev2, NULL, NULL), ML_OK);
	assert_int_equal(ev.len, ev2.len);
	assert_memory_equal(ev.data, ev2.data, ev.len);
	ml_buf_release(&ev);
	ml_buf_release(&ev2);
	ml_buf_release(&err);
}

static void test_equiv_needs_signed_chains(void **state)
{
	struct fx *fx = *state;
	struct ml_buf ev = ML_BUF_INIT;
	/* Chain a cut before its signature proves nothing. */
	assert_int_equal(ml_equiv_build(fx->a, 2, fx->b, 2, &ev, NULL, NULL), ML_EBATCH);
	assert_int_equal(ev.len, 0);
}

static void test_equiv_refuses_non_forks(void **state)
{
	struct fx *fx = *state;
	struct ml_buf ev = ML_BUF_INIT;
	/* The same chain twice. */
	assert_int_equal(ml_equiv_build(fx->a, 3, fx->a, 3, &ev, NULL, NULL), ML_EINVAL);
	/* Different positions: a[1..] starts at seq 3, b at seq 2. */
	assert_int_equal(ml_equiv_build(fx->a + 1, 2, fx->b, 2, &ev, NULL, NULL), ML_EINVAL);
	assert_int_equal(ev.len, 0);
}

static void test_equiv_verify_rejects_tampering(void **state)
{
	struct fx *fx = *state;
	struct ml_buf ev = ML_BUF_INIT;
	assert_int_equal(ml_equiv_build(fx->a, 3, fx->b, 2, &ev, NULL, NULL), ML_OK);
	struct ml_hash other = fx->net;
	other.b[0] ^= 1;
	assert_int_equal(ml_equiv_verify(ev.data, ev.len, &other, NULL, NULL), ML_EWRONGNET);
	for (size_t i = 0; i < ev.len; i += 7) {
		ev.data[i] ^= 0x20;
		int rc = ml_equiv_verify(ev.data, ev.len, &fx->net, NULL, NULL);
		ev.data[i] ^= 0x20;
		if (rc == ML_OK)
			fail_msg("tampered byte %zu accepted", i);
	}
	assert_int_equal(ml_equiv_verify(ev.data, ev.len - 1, &fx->net, NULL, NULL), ML_ETRUNCATED);
	ml_buf_release(&ev);
}

int main(void)
{
	ml_crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_equiv_evidence_verifies_offline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_equiv_needs_signed_chains, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_equiv_refuses_non_forks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_equiv_verify_rejects_tampering, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
