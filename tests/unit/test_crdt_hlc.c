/*
 * test_crdt_hlc.c - hybrid logical clock rules.
 */
#include "test.h"

#include "crdt/err.h"
#include "crdt/hlc.h"
#include "crdt/limits.h"

#include <string.h>

static void test_hlc_send_follows_physical_time(void **state)
{
	(void)state;
	struct ml_hlc clock = {0, 0};
	struct ml_hlc t = ml_hlc_send(&clock, 1000);
	assert_int_equal(t.ms, 1000);
	assert_int_equal(t.c, 0);
	t = ml_hlc_send(&clock, 1000); /* same millisecond: counter */
	assert_int_equal(t.ms, 1000);
	assert_int_equal(t.c, 1);
	t = ml_hlc_send(&clock, 999); /* physical clock went back: logical time does not */
	assert_int_equal(t.ms, 1000);
	assert_int_equal(t.c, 2);
	t = ml_hlc_send(&clock, 1005);
	assert_int_equal(t.ms, 1005);
	assert_int_equal(t.c, 0);
}

static void test_hlc_send_is_strictly_increasing(void **state)
{
	(void)state;
	struct ml_hlc clock = {0, 0}, last = {0, 0};
	uint64_t now = 5000;
	for (int i = 0; i < 10000; i++) {
		now += (uint64_t)(i % 3) - 1 + 0; /* wobbles back and forth */
		struct ml_hlc t = ml_hlc_send(&clock, now);
		assert_true(ml_hlc_cmp(t, last) > 0);
		last = t;
	}
}

static void test_hlc_counter_overflow_borrows_a_millisecond(void **state)
{
	(void)state;
	struct ml_hlc clock = {1000, 0xffffffffu};
	struct ml_hlc t = ml_hlc_send(&clock, 1000);
	assert_int_equal(t.ms, 1001);
	assert_int_equal(t.c, 0);
}

static void test_hlc_receive_rules_from_the_paper(void **state)
{
	(void)state;
	struct ml_hlc clock = {1000, 5};
	/* message ahead of both: adopt its ms, counter + 1 */
	assert_int_equal(ml_hlc_recv(&clock, (struct ml_hlc){2000, 7}, 1500, NULL), ML_OK);
	assert_int_equal(clock.ms, 2000);
	assert_int_equal(clock.c, 8);
	/* same ms on both sides: max counter + 1 */
	assert_int_equal(ml_hlc_recv(&clock, (struct ml_hlc){2000, 20}, 1500, NULL), ML_OK);
	assert_int_equal(clock.c, 21);
	/* local ahead of message: local counter + 1 */
	assert_int_equal(ml_hlc_recv(&clock, (struct ml_hlc){1900, 99}, 1500, NULL), ML_OK);
	assert_int_equal(clock.ms, 2000);
	assert_int_equal(clock.c, 22);
	/* physical time ahead of both: reset counter */
	assert_int_equal(ml_hlc_recv(&clock, (struct ml_hlc){2100, 3}, 3000, NULL), ML_OK);
	assert_int_equal(clock.ms, 3000);
	assert_int_equal(clock.c, 0);
	/* after receiving, a send orders after the message */
	struct ml_hlc m = {3000, 40};
	assert_int_equal(ml_hlc_recv(&clock, m, 3000, NULL), ML_OK);
	assert_true(ml_hlc_cmp(ml_hlc_send(&clock, 3000), m) > 0);
}

static void test_hlc_rejects_clock_beyond_drift_bound(void **state)
{
	(void)state;
	uint64_t now = 1700000000000ULL;
	struct ml_hlc clock = {now, 0};
	struct ml_hlc ok = {now + ML_HLC_MAX_DRIFT_MS, 0};
	struct ml_hlc far = {now + ML_HLC_MAX_DRIFT_MS + 1, 0};
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(ml_hlc_recv(&clock, far, now, &err), ML_EFUTURE);
	assert_int_equal(clock.ms, now); /* unchanged */
	assert_non_null(strstr(ml_buf_str(&err), "ahead"));
	assert_int_equal(ml_hlc_recv(&clock, ok, now, NULL), ML_OK);
	assert_int_equal(clock.ms, ok.ms);
	/* the past is never refused */
	assert_int_equal(ml_hlc_check_drift((struct ml_hlc){1, 0}, now, NULL), ML_OK);
	ml_buf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hlc_send_follows_physical_time),
	    cmocka_unit_test(test_hlc_send_is_strictly_increasing),
	    cmocka_unit_test(test_hlc_counter_overflow_borrows_a_millisecond),
	    cmocka_unit_test(test_hlc_receive_rules_from_the_paper),
	    cmocka_unit_test(test_hlc_rejects_clock_beyond_drift_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
