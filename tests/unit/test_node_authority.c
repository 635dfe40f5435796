/*
 * test_node_authority.c - each role can do exactly what it should, at the
 * right levels, and nothing else.
 *
 * A tree national > province > district > two communes; a device for every
 * role at the province, the district and the first commune, and one device
 * with no role.  Every kind of op is attempted by every device on every unit
 * it could name, and the verdict is compared with an oracle written from the
 * role table in docs/REGISTER.md §3 (not from the code under test): the
 * role must match, and the device's unit must be the target or above it
 * (self_or_above), or strictly above it (above).  Attempts go through the
 * author path, which judges exactly as ingest from a peer does; the last test
 * sends unauthorised ops as a peer would and checks they are kept as
 * rejected evidence without effect.
 */
#include "test.h"

#include "crdt/body.h"
#include "crdt/err.h"
#include "crdt/number.h"
#include "tests/common/world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { U_NATION, U_PROVINCE, U_DISTRICT, U_COMMUNE, U_COMMUNE2, N_UNITS };
enum { R_ADMIN, R_OFFICER, R_APPROVER, R_AUDITOR, N_ROLES };
#define N_LEVELS 3 /* devices sit at the province, the district and the commune */
#define N_DEVS   (N_ROLES * N_LEVELS + 1)

static const char *const role_names[N_ROLES] = {"admin", "officer", "approver", "auditor"};
static const int parent_of[N_UNITS] = {-1, U_NATION, U_PROVINCE, U_DISTRICT, U_DISTRICT};

struct dev {
	struct ml_key *key;
	int role; /* -1: no role */
	int unit;
};

struct fx {
	struct world w;
	struct ml_key *root;
	struct ml_hash unit[N_UNITS];
	struct dev dev[N_DEVS];
	unsigned serial; /* distinct names, numbers and ranges */
};

#define OK(expr) TEST_OK(&fx->w.err, expr)

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	*state = fx;
	OK(w_open(&fx->w));
	fx->root = w_key(1);
	OK(w_genesis(&fx->w, fx->root, "Tổng Liên đoàn Lao động Việt Nam", ML_ORG_TRADE_UNION));
	fx->unit[U_NATION] = fx->w.net;
	OK(w_unit(&fx->w, fx->root, &fx->unit[U_NATION], "LĐLĐ tỉnh Lào Cai", "province",
	          &fx->unit[U_PROVINCE]));
	OK(w_unit(&fx->w, fx->root, &fx->unit[U_PROVINCE], "LĐLĐ huyện Bát Xát", "district",
	          &fx->unit[U_DISTRICT]));
	OK(w_unit(&fx->w, fx->root, &fx->unit[U_DISTRICT], "CĐCS xã Y Tý", "base_union",
	          &fx->unit[U_COMMUNE]));
	OK(w_unit(&fx->w, fx->root, &fx->unit[U_DISTRICT], "CĐCS xã A Mú Sung", "base_union",
	          &fx->unit[U_COMMUNE2]));
	OK(w_delegate(&fx->w, fx->root, &fx->unit[U_NATION], &fx->unit[U_PROVINCE], 1000000,
	              1000000));
	OK(w_delegate(&fx->w, fx->root, &fx->unit[U_PROVINCE], &fx->unit[U_DISTRICT], 1000000,
	              100000));
	int k = 0;
	for (int r = 0; r < N_ROLES; r++) {
		for (int l = 0; l < N_LEVELS; l++, k++) {
			fx->dev[k] = (struct dev){w_key((uint8_t)(10 + k)), r, U_PROVINCE + l};
			OK(w_grant(&fx->w, fx->root, &fx->unit[U_PROVINCE + l], &fx->dev[k].key->pk,
			           role_names[r]));
		}
	}
	fx->dev[k] = (struct dev){w_key(99), -1, U_COMMUNE}; /* holds nothing */
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	w_close(&fx->w);
	ml_key_free(fx->root);
	for (int i = 0; i < N_DEVS; i++)
		ml_key_free(fx->dev[i].key);
	free(fx);
	return 0;
}

/* The oracle: unit a is u or above it (strict: above it only). */
static bool above(int a, int u, bool strict)
{
	for (int x = strict ? parent_of[u] : u; x >= 0; x = parent_of[x])
		if (x == a)
			return true;
	return false;
}

static bool may(const struct dev *d, int role, bool strict, int target)
{
	return d->role == role && above(d->unit, target, strict);
}

static struct dev *officer_at(struct fx *fx, int unit)
{
	return &fx->dev[R_OFFICER * N_LEVELS + (unit - U_PROVINCE)];
}

static const char *dev_name(const struct dev *d, char *buf, size_t cap)
{
	static const char *const units[N_UNITS] = {"nation", "province", "district", "commune",
	                                           "commune2"};
	snprintf(buf, cap, "%s at %s", d->role < 0 ? "no role" : role_names[d->role],
	         units[d->unit]);
	return buf;
}

/* Asserts that the attempt's result is what the oracle allows. */
static void expect(struct fx *fx, const char *what, int target, const struct dev *d, bool allowed,
                   int rc)
{
	char name[64];
	if (allowed && rc != ML_OK)
		fail_msg("%s on unit %d by %s: refused (%s: %s), but the role table allows it",
		         what, target, dev_name(d, name, sizeof name), ml_err_name(rc),
		         ml_buf_str(&fx->w.err));
	if (!allowed && rc != ML_EUNAUTH)
		fail_msg("%s on unit %d by %s: %s, but the role table forbids it", what, target,
		         dev_name(d, name, sizeof name),
		         rc == ML_OK ? "accepted" : ml_err_name(rc));
}

static int write_body(struct fx *fx, const struct dev *d, int unit, enum ml_lane lane,
                      const char *type, struct ml_body_builder *bb, struct ml_hash *out)
{
	struct ml_buf body = ML_BUF_INIT;
	int rc = ml_bb_finish(bb, &body);
	ml_bb_release(bb);
	if (rc == ML_OK)
		rc = w_write(&fx->w, d->key, &fx->unit[unit], lane, type, &body, out);
	ml_buf_release(&body);
	return rc;
}

/* A member of `unit`, created and submitted by the unit's officer. */
static void submitted_member(struct fx *fx, int unit, struct ml_hash *m)
{
	char name[64], idnum[16];
	snprintf(name, sizeof name, "Giàng A Pháo %u", ++fx->serial);
	snprintf(idnum, sizeof idnum, "0101%08u", fx->serial);
	struct dev *o = officer_at(fx, unit);
	OK(w_member(&fx->w, o->key, &fx->unit[unit], name, idnum, m));
	OK(w_decide(&fx->w, o->key, &fx->unit[unit], "member_submit", m, m, 1, NULL, NULL));
}

static void test_authority_tree_and_grants(void **state)
{
	struct fx *fx = *state;
	for (int t = U_PROVINCE; t < N_UNITS; t++) {
		for (int i = 0; i < N_DEVS; i++) {
			struct dev *d = &fx->dev[i];
			struct ml_body_builder bb;
			char name[64];
			snprintf(name, sizeof name, "Chi đoàn %u", ++fx->serial);
			/* create a unit under t: admin at t or above */
			int rc = w_unit(&fx->w, d->key, &fx->unit[t], name, "branch", NULL);
			expect(fx, "unit_create", t, d, may(d, R_ADMIN, false, t), rc);
			/* rename t: admin strictly above t */
			ml_bb_init(&bb);
			ml_bb_cstr(&bb, "name", name);
			rc = write_body(fx, d, t, ML_LANE_GOV, "unit_update", &bb, NULL);
			expect(fx, "unit_update", t, d, may(d, R_ADMIN, true, t), rc);
			/* grant a role at t: admin at t or above */
			struct ml_key *k = w_key((uint8_t)(100 + fx->serial % 100));
			rc = w_grant(&fx->w, d->key, &fx->unit[t], &k->pk, "auditor");
			ml_key_free(k);
			expect(fx, "grant", t, d, may(d, R_ADMIN, false, t), rc);
			/* post a directive at t: officer at t or above */
			ml_bb_init(&bb);
			ml_bb_cstr(&bb, "title", "Hướng dẫn kết nạp đoàn viên");
			ml_bb_cstr(&bb, "date", "01/12/2026");
			rc = write_body(fx, d, t, ML_LANE_GOV, "directive_post", &bb, NULL);
			expect(fx, "directive_post", t, d, may(d, R_OFFICER, false, t), rc);
		}
	}
}

static void test_authority_number_delegation(void **state)
{
	struct fx *fx = *state;
	/* from the province to the district, and from the district to a commune */
	static const int from[] = {U_PROVINCE, U_DISTRICT}, to[] = {U_DISTRICT, U_COMMUNE};
	uint64_t next[] = {1500000, 1050000};
	for (int c = 0; c < 2; c++) {
		for (int i = 0; i < N_DEVS; i++) {
			struct dev *d = &fx->dev[i];
			int rc = w_delegate(&fx->w, d->key, &fx->unit[from[c]], &fx->unit[to[c]],
			                    next[c], 100);
			bool ok = may(d, R_ADMIN, false, from[c]);
			expect(fx, "numbers_delegate", from[c], d, ok, rc);
			if (rc == ML_OK)
				next[c] += 100;
		}
	}
}

static void test_authority_member_changes(void **state)
{
	struct fx *fx = *state;
	for (int t = U_PROVINCE; t < N_UNITS; t++) {
		for (int i = 0; i < N_DEVS; i++) {
			struct dev *d = &fx->dev[i];
			bool ok = may(d, R_OFFICER, false, t);
			char name[64], idnum[16];
			snprintf(name, sizeof name, "Sùng Thị Mai %u", ++fx->serial);
			snprintf(idnum, sizeof idnum, "0103%08u", fx->serial);
			struct ml_hash m;
			int rc = w_member(&fx->w, d->key, &fx->unit[t], name, idnum, &m);
			expect(fx, "member_create", t, d, ok, rc);
		}
	}
	/* Changes to an existing commune member: its officer, or one above. */
	struct ml_hash m;
	submitted_member(fx, U_COMMUNE, &m);
	for (int i = 0; i < N_DEVS; i++) {
		struct dev *d = &fx->dev[i];
		bool ok = may(d, R_OFFICER, false, U_COMMUNE);
		struct ml_hash change;
		int rc = w_edit(&fx->w, d->key, &fx->unit[U_COMMUNE], &m, "phone", "0912345678",
		                &change);
		expect(fx, "member_update", U_COMMUNE, d, ok, rc);
		if (rc == ML_OK) {
			rc = w_decide(&fx->w, d->key, &fx->unit[U_COMMUNE], "member_submit", &m,
			              &change, 1, NULL, NULL);
			expect(fx, "member_submit", U_COMMUNE, d, ok, rc);
		}
		struct ml_body_builder bb;
		ml_bb_init(&bb);
		ml_bb_hash(&bb, "member", &m);
		ml_bb_cstr(&bb, "card", "ordinary");
		rc = write_body(fx, d, U_COMMUNE, ML_LANE_REG, "member_card_request", &bb, NULL);
		expect(fx, "member_card_request", U_COMMUNE, d, ok, rc);
	}
}

static void test_authority_decisions(void **state)
{
	struct fx *fx = *state;
	unsigned next_number = 1000100;
	for (int i = 0; i < N_DEVS; i++) {
		struct dev *d = &fx->dev[i];
		/* approvals and rejections: an approver strictly above the commune */
		bool ok = may(d, R_APPROVER, true, U_COMMUNE);
		struct ml_hash m;
		submitted_member(fx, U_COMMUNE, &m);
		char num[13];
		ml_number_format(next_number++, num);
		int rc = w_decide(&fx->w, d->key, &fx->unit[U_COMMUNE], "member_approve", &m, &m, 1,
		                  num, NULL);
		expect(fx, "member_approve", U_COMMUNE, d, ok, rc);
		submitted_member(fx, U_COMMUNE, &m);
		rc = w_decide(&fx->w, d->key, &fx->unit[U_COMMUNE], "member_reject", &m, &m, 1,
		              "thiếu ảnh 3x4", NULL);
		expect(fx, "member_reject", U_COMMUNE, d, ok, rc);
		/* a decision about a commune-2 member: the commune's approvers are not above it */
		submitted_member(fx, U_DISTRICT, &m);
		rc = w_decide(&fx->w, d->key, &fx->unit[U_DISTRICT], "member_reject", &m, &m, 1,
		              "sai ngày sinh", NULL);
		expect(fx, "member_reject", U_DISTRICT, d, may(d, R_APPROVER, true, U_DISTRICT),
		       rc);
	}
}

/* Refused writes leave nothing behind; accepted ones change the register. */
static void test_authority_refusals_store_nothing(void **state)
{
	struct fx *fx = *state;
	long ops = w_count(&fx->w, "SELECT count(*) FROM ops");
	long units = w_count(&fx->w, "SELECT count(*) FROM units");
	struct dev *auditor = &fx->dev[R_AUDITOR * N_LEVELS];
	assert_int_equal(w_unit(&fx->w, auditor->key, &fx->unit[U_COMMUNE], "Tổ 1", "branch", NULL),
	                 ML_EUNAUTH);
	assert_non_null(strstr(ml_buf_str(&fx->w.err), "admin"));
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM ops"), ops);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM units"), units);
	struct dev *admin = &fx->dev[R_ADMIN * N_LEVELS + 2]; /* at the commune */
	OK(w_unit(&fx->w, admin->key, &fx->unit[U_COMMUNE], "Tổ 1", "branch", NULL));
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM units"), units + 1);
}

static void test_authority_peer_ops_kept_as_rejected_evidence(void **state)
{
	struct fx *fx = *state;
	struct dev *approver = &fx->dev[R_APPROVER * N_LEVELS + 1]; /* at the district */
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "full_name", "Lý Seo Chứ");
	ml_bb_cstr(&bb, "id_number", "010399001234");
	ml_bb_cstr(&bb, "union_join_date", "01/05/2020");
	struct ml_buf body = ML_BUF_INIT, raw = ML_BUF_INIT;
	OK(ml_bb_finish(&bb, &body));
	ml_bb_release(&bb);
	OK(w_forge(&fx->w, approver->key, &fx->unit[U_COMMUNE], ML_LANE_REG, "member_create", &body,
	           &raw));
	ml_buf_release(&body);
	long members = w_count(&fx->w, "SELECT count(*) FROM members");
	const uint8_t *p = raw.data;
	size_t n = raw.len;
	struct ml_ingest_result res;
	OK(ml_store_ingest(fx->w.s, &p, &n, 1, fx->w.now + 10000, &res, &fx->w.err));
	assert_int_equal(res.rejected, 1);
	assert_int_equal(res.applied, 0);
	assert_int_equal(res.first_error, ML_EUNAUTH);
	/* kept, with its reason; no member appeared */
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM ops WHERE status = 3 AND code = "
	                                 "-978 AND reason LIKE 'ML_EUNAUTH:%officer%'"),
	                 1);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM members"), members);
	/* the same op again changes nothing */
	OK(ml_store_ingest(fx->w.s, &p, &n, 1, fx->w.now + 10000, &res, &fx->w.err));
	assert_int_equal(res.applied + res.rejected, 0);
	ml_buf_release(&raw);
}

int main(void)
{
	ml_crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_authority_tree_and_grants, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_authority_number_delegation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_authority_member_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_authority_decisions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_authority_refusals_store_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_authority_peer_ops_kept_as_rejected_evidence,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
