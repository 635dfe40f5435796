/*
 * test_node_register.c - the register end to end in a real SQLite store:
 * tree, grants, numbers, drafts, approvals, rebuild and state hash.
 */
#include "test.h"

#include "crdt/err.h"
#include "crdt/number.h"
#include "tests/common/world.h"

#include <stdlib.h>
#include <string.h>

struct fx {
	struct world w;
	struct ml_key *admin, *officer, *approver;
	struct ml_hash province, district, commune;
};

#define OK(expr)                                                                                 \
	do {                                                                                     \
		int rc_ = (expr);                                                                \
		if (rc_ != ML_OK)                                                                \
			fail_msg("%s: %s: %s", #expr, ml_err_name(rc_), ml_buf_str(&fx->w.err)); \
	} while (0)

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	*state = fx;
	OK(w_open(&fx->w));
	fx->admin = w_key(1);
	fx->officer = w_key(2);
	fx->approver = w_key(3);
	OK(w_genesis(&fx->w, fx->admin, "Tổng Liên đoàn Lao động Việt Nam", ML_ORG_TRADE_UNION));
	OK(w_unit(&fx->w, fx->admin, &fx->w.net, "LĐLĐ Thành phố Hà Nội", "province",
	          &fx->province));
	OK(w_unit(&fx->w, fx->admin, &fx->province, "LĐLĐ quận Long Biên", "district",
	          &fx->district));
	OK(w_unit(&fx->w, fx->admin, &fx->district, "CĐCS Trường THCS Long Biên", "base_union",
	          &fx->commune));
	OK(w_grant(&fx->w, fx->admin, &fx->commune, &fx->officer->pk, "officer"));
	OK(w_grant(&fx->w, fx->admin, &fx->district, &fx->approver->pk, "approver"));
	OK(w_delegate(&fx->w, fx->admin, &fx->w.net, &fx->province, 1000000, 100000));
	OK(w_delegate(&fx->w, fx->admin, &fx->province, &fx->district, 1000000, 1000));
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	w_close(&fx->w);
	ml_key_free(fx->admin);
	ml_key_free(fx->officer);
	ml_key_free(fx->approver);
	free(fx);
	return 0;
}

static void test_register_member_from_draft_to_official(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Lê Văn Lương", "109814122", &m));
	char buf[64];
	OK(w_member_text(&fx->w, &m, "state", buf, sizeof buf));
	assert_string_equal(buf, "draft");
	OK(w_decide(&fx->w, fx->officer, &fx->commune, "member_submit", &m, &m, 1, NULL, NULL));
	OK(w_member_text(&fx->w, &m, "state", buf, sizeof buf));
	assert_string_equal(buf, "submitted");
	char num[13];
	ml_number_format(1000000, num);
	OK(w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &m, &m, 1, num, NULL));
	OK(w_member_text(&fx->w, &m, "state", buf, sizeof buf));
	assert_string_equal(buf, "official");
	OK(w_member_text(&fx->w, &m, "number", buf, sizeof buf));
	assert_string_equal(buf, num);
	OK(w_member_text(&fx->w, &m, "name_fold", buf, sizeof buf));
	assert_string_equal(buf, "le van luong");
}

static void test_register_rebuild_gives_the_same_state_hash(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m, e;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Trần Thị Bé", "109814123", &m));
	char num[13];
	ml_number_format(1000001, num);
	OK(w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &m, &m, 1, num, NULL));
	OK(w_edit(&fx->w, fx->officer, &fx->commune, &m, "hometown", "Hà Nội", &e));
	struct ml_hash before, after;
	OK(ml_store_state_hash(fx->w.s, &before, &fx->w.err));
	OK(ml_store_rebuild(fx->w.s, &fx->w.err));
	OK(ml_store_state_hash(fx->w.s, &after, &fx->w.err));
	assert_memory_equal(before.b, after.b, 32);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM members"), 1);
	assert_int_equal(w_count(&fx->w, "SELECT pending FROM members"), 1);
}

static void test_register_invalid_ops_are_refused_before_storing(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m;
	long ops = w_count(&fx->w, "SELECT count(*) FROM ops");
	/* a bad ID number: refused with a message naming the field */
	int rc = w_member(&fx->w, fx->officer, &fx->commune, "Lê Bá Đạt", "12345", &m);
	assert_int_equal(rc, ML_EFIELD);
	assert_non_null(strstr(ml_buf_str(&fx->w.err), "id_number"));
	/* the approver cannot write members; the officer cannot approve */
	rc = w_member(&fx->w, fx->approver, &fx->commune, "Lê Bá Đạt", "109814128", &m);
	assert_int_equal(rc, ML_EUNAUTH);
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Lê Bá Đạt", "109814128", &m));
	char num[13];
	ml_number_format(1000002, num);
	rc = w_decide(&fx->w, fx->officer, &fx->commune, "member_approve", &m, &m, 1, num, NULL);
	assert_int_equal(rc, ML_EUNAUTH);
	/* a number outside the district's range */
	ml_number_format(5, num);
	rc = w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &m, &m, 1, num, NULL);
	assert_int_equal(rc, ML_EFIELD);
	assert_non_null(strstr(ml_buf_str(&fx->w.err), "range"));
	/* only the one valid member op was stored */
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM ops"), ops + 1);
}

int main(void)
{
	ml_crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_register_member_from_draft_to_official, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_register_rebuild_gives_the_same_state_hash, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_register_invalid_ops_are_refused_before_storing,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
