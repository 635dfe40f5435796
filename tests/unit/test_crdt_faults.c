/*
 * test_crdt_faults.c - allocation failure at every allocation point.
 *
 * Arms ml_alloc_fail_at(N) for N = 1, 2, ... until the operation succeeds:
 * every earlier attempt must fail cleanly with ML_ENOMEM, leave its outputs
 * unchanged, and (under ASan) leak nothing.
 */
#include "test.h"

#include "crdt/alloc.h"
#include "crdt/audit.h"
#include "crdt/equiv.h"
#include "crdt/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fx {
	struct test_feed feed;
	struct ml_hash net;
	struct ml_buf log;
	size_t ends[40];
	struct ml_op ops[41];
	size_t n;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	fx->feed.key = test_key(11);
	fx->feed.now_ms = 1700000000000ULL;
	fx->net = test_genesis(&fx->feed, &fx->log);
	size_t gen_len = fx->log.len;
	test_write_batch(&fx->feed, &fx->net, 40, &fx->log, fx->ends);
	assert_int_equal(ml_op_parse(fx->log.data, gen_len, &fx->ops[0], NULL), ML_OK);
	size_t start = gen_len;
	for (size_t i = 0; i < 40; i++) {
		assert_int_equal(
		    ml_op_parse(fx->log.data + start, fx->ends[i] - start, &fx->ops[i + 1], NULL),
		    ML_OK);
		start = fx->ends[i];
	}
	fx->n = 41;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	ml_alloc_fail_at(0);
	ml_key_free(fx->feed.key);
	ml_buf_release(&fx->log);
	free(fx);
	return 0;
}

static void test_faults_audit_fails_cleanly_at_every_allocation(void **state)
{
	struct fx *fx = *state;
	int rc;
	unsigned long n = 1;
	for (;; n++) {
		struct ml_audit a;
		ml_alloc_fail_at(n);
		rc = ml_audit_run(&a, &fx->net, fx->ops, fx->n);
		ml_alloc_fail_at(0);
		if (rc == ML_OK) {
			assert_int_equal(a.authentic, fx->n);
			ml_audit_release(&a);
			break;
		}
		assert_int_equal(rc, ML_ENOMEM);
		assert_true(n < 1000);
	}
	assert_true(n > 1); /* it does allocate, so the loop tested something */
}

static void test_faults_seal_and_evidence_fail_cleanly(void **state)
{
	struct fx *fx = *state;
	/* A fork of the last op: same position, other body. */
	struct ml_op fork = fx->ops[fx->n - 1];
	uint8_t body[64];
	fork.body = body;
	fork.body_len = test_body(999, body);
	struct ml_buf forked = ML_BUF_INIT;
	unsigned long n;
	int rc;
	for (n = 1;; n++) {
		ml_alloc_fail_at(n);
		rc = ml_op_seal(&fork, fx->feed.key, &forked, NULL);
		ml_alloc_fail_at(0);
		if (rc == ML_OK)
			break;
		assert_int_equal(rc, ML_ENOMEM);
		assert_int_equal(forked.len, 0);
	}
	struct ml_op b;
	assert_int_equal(ml_op_parse(forked.data, forked.len, &b, NULL), ML_OK);

	struct ml_buf ev = ML_BUF_INIT;
	for (n = 1;; n++) {
		ml_alloc_fail_at(n);
		rc = ml_equiv_build(&fx->ops[fx->n - 1], 1, &b, 1, &ev, NULL, NULL);
		ml_alloc_fail_at(0);
		if (rc == ML_OK)
			break;
		assert_int_equal(rc, ML_ENOMEM);
		assert_int_equal(ev.len, 0);
	}
	for (n = 1;; n++) {
		struct ml_equiv e;
		ml_alloc_fail_at(n);
		rc = ml_equiv_verify(ev.data, ev.len, &fx->net, &e, NULL);
		ml_alloc_fail_at(0);
		if (rc == ML_OK)
			break;
		assert_int_equal(rc, ML_ENOMEM);
	}
	assert_true(n > 1);
	ml_buf_release(&ev);
	ml_buf_release(&forked);
}

/* ml_grow keeps the contents, refuses sizes that overflow, and leaves the array valid on failure.
 */
static void test_faults_grow_keeps_array_on_failure(void **state)
{
	(void)state;
	size_t cap = 0;
	int *v = ml_grow(NULL, &cap, 1, sizeof *v, 4);
	assert_non_null(v);
	assert_int_equal(cap, 4);
	for (int i = 0; i < 4; i++)
		v[i] = i;
	int *w = ml_grow(v, &cap, 9, sizeof *v, 4);
	assert_non_null(w);
	assert_int_equal(cap, 16);
	assert_int_equal(w[3], 3);
	v = w;
	assert_ptr_equal(ml_grow(v, &cap, 16, sizeof *v, 4), v); /* enough room: same array */
	assert_null(ml_grow(v, &cap, SIZE_MAX / 2 + 2, sizeof *v, 4));
	assert_int_equal(cap, 16);
	ml_alloc_fail_at(1);
	assert_null(ml_grow(v, &cap, 17, sizeof *v, 4));
	ml_alloc_fail_at(0);
	assert_int_equal(cap, 16);
	assert_int_equal(v[2], 2);
	ml_free(v);
}

int main(void)
{
	ml_crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_faults_audit_fails_cleanly_at_every_allocation,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_faults_seal_and_evidence_fail_cleanly, setup,
	                                    teardown),
	    cmocka_unit_test(test_faults_grow_keeps_array_on_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
