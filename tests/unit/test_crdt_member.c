/*
 * test_crdt_member.c - the member fold: drafts, approvals, numbers, conflicts,
 * and independence from the order entries arrive in.
 */
#include "test.h"

#include "crdt/body.h"
#include "crdt/err.h"
#include "crdt/member.h"
#include "crdt/number.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXE 16

struct fx {
	struct ml_member_entry e[MAXE];
	struct ml_buf bodies[MAXE];
	size_t n;
	struct ml_hash unit, other_unit;
	struct ml_pubkey officer, approver;
};

static struct ml_member_entry *add(struct fx *fx, enum ml_optype t, uint64_t ms,
                                   const struct ml_pubkey *author, struct ml_body_builder *bb)
{
	struct ml_member_entry *e = &fx->e[fx->n];
	struct ml_buf *body = &fx->bodies[fx->n];
	assert_int_equal(ml_bb_finish(bb, body), ML_OK);
	ml_bb_release(bb);
	e->stamp.hlc = (struct ml_hlc){ms, 0};
	e->stamp.author = *author;
	/* a distinct, deterministic id per entry */
	uint8_t seed[16] = {(uint8_t)fx->n, (uint8_t)t};
	e->stamp.id = ml_hash_of(seed, sizeof seed);
	e->type = t;
	e->unit = fx->unit;
	e->body = body->data;
	e->body_len = body->len;
	e->tag = fx->n;
	fx->n++;
	return e;
}

static struct ml_hash create(struct fx *fx)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "full_name", "Trần Thị Bé");
	ml_bb_cstr(&bb, "id_number", "109814123");
	ml_bb_cstr(&bb, "union_join_date", "11/02/2012");
	ml_bb_cstr(&bb, "gender", "female");
	return add(fx, ML_OT_MEMBER_CREATE, 1000, &fx->officer, &bb)->stamp.id;
}

static struct ml_hash update_name(struct fx *fx, const struct ml_hash *m, const char *name,
                                  uint64_t ms)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_hash(&bb, "member", m);
	ml_bb_cstr(&bb, "full_name", name);
	return add(fx, ML_OT_MEMBER_UPDATE, ms, &fx->officer, &bb)->stamp.id;
}

static void decide(struct fx *fx, enum ml_optype t, const struct ml_hash *m, struct ml_hash *ids,
                   size_t k, const char *number, uint64_t ms)
{
	/* ids must be ascending */
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && ml_hash_cmp(&ids[j - 1], &ids[j]) > 0; j--) {
			struct ml_hash t2 = ids[j];
			ids[j] = ids[j - 1];
			ids[j - 1] = t2;
		}
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_hash(&bb, "member", m);
	ml_bb_bytes(&bb, "changes", ids, k * sizeof *ids);
	if (number)
		ml_bb_cstr(&bb, "number", number);
	if (t == ML_OT_MEMBER_REJECT)
		ml_bb_cstr(&bb, "reason", "thiếu ngày sinh");
	add(fx, t, ms, t == ML_OT_MEMBER_SUBMIT ? &fx->officer : &fx->approver, &bb);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	memset(fx->unit.b, 0xc1, 32);
	memset(fx->other_unit.b, 0xc2, 32);
	memset(fx->officer.b, 0x0f, 32);
	memset(fx->approver.b, 0xa0, 32);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	for (size_t i = 0; i < MAXE; i++)
		ml_buf_release(&fx->bodies[i]);
	free(fx);
	return 0;
}

static void fold(struct fx *fx, const struct ml_hash *m, struct ml_member_view *v)
{
	assert_int_equal(ml_member_fold(m, fx->e, fx->n, v), ML_OK);
}

static void test_member_draft_until_approved(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m = create(fx);
	struct ml_member_view v;
	fold(fx, &m, &v);
	assert_int_equal(v.state, ML_REC_DRAFT);
	assert_int_equal(v.official.len, 0);
	size_t n;
	assert_non_null(ml_member_text(&v.draft, "full_name", &n));
	ml_member_view_release(&v);

	struct ml_hash ids[1] = {m};
	decide(fx, ML_OT_MEMBER_SUBMIT, &m, ids, 1, NULL, 2000);
	fold(fx, &m, &v);
	assert_int_equal(v.state, ML_REC_SUBMITTED);
	ml_member_view_release(&v);

	char num[13];
	ml_number_format(4200, num);
	decide(fx, ML_OT_MEMBER_APPROVE, &m, ids, 1, num, 3000);
	fold(fx, &m, &v);
	assert_int_equal(v.state, ML_REC_OFFICIAL);
	assert_true(v.has_number);
	assert_string_equal(v.number, num);
	assert_true(v.approved_ever);
	const char *s = ml_member_text(&v.official, "status", &n);
	assert_memory_equal(s, "active", n);
	ml_member_view_release(&v);
}

static void test_member_edit_after_approval_stays_pending(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m = create(fx);
	struct ml_hash ids[1] = {m};
	char num[13];
	ml_number_format(7, num);
	decide(fx, ML_OT_MEMBER_APPROVE, &m, ids, 1, num, 2000);
	update_name(fx, &m, "Trần Thị Bé Hai", 2500);
	struct ml_member_view v;
	fold(fx, &m, &v);
	size_t n;
	const char *off = ml_member_text(&v.official, "full_name", &n);
	assert_memory_equal(off, "Trần Thị Bé", n);
	const char *dr = ml_member_text(&v.draft, "full_name", &n);
	assert_memory_equal(dr, "Trần Thị Bé Hai", n);
	assert_int_equal(v.pending, 1);
	ml_member_view_release(&v);
}

static void test_member_approval_of_old_draft_skips_newer_edit(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m = create(fx);
	struct ml_hash u1 = update_name(fx, &m, "Trần Thị Bé Một", 1500);
	struct ml_hash u2 = update_name(fx, &m, "Trần Thị Bé Hai", 1700);
	(void)u2;
	struct ml_hash ids[2] = {m, u1};
	char num[13];
	ml_number_format(9, num);
	decide(fx, ML_OT_MEMBER_APPROVE, &m, ids, 2, num, 2000);
	struct ml_member_view v;
	fold(fx, &m, &v);
	size_t n;
	const char *off = ml_member_text(&v.official, "full_name", &n);
	assert_memory_equal(off, "Trần Thị Bé Một", n);
	const char *dr = ml_member_text(&v.draft, "full_name", &n);
	assert_memory_equal(dr, "Trần Thị Bé Hai", n);
	assert_int_equal(v.pending, 1);
	ml_member_view_release(&v);
}

static void test_member_rejection_returns_the_record(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m = create(fx);
	struct ml_hash ids[1] = {m};
	decide(fx, ML_OT_MEMBER_SUBMIT, &m, ids, 1, NULL, 2000);
	decide(fx, ML_OT_MEMBER_REJECT, &m, ids, 1, NULL, 3000);
	struct ml_member_view v;
	fold(fx, &m, &v);
	assert_int_equal(v.state, ML_REC_RETURNED);
	assert_non_null(v.return_reason);
	assert_memory_equal(v.return_reason, "thiếu ngày sinh", v.return_reason_len);
	ml_member_view_release(&v);
}

/* Reject, fix, resubmit, approve: the normal path, official with no conflict. */
static void test_member_resubmission_after_rejection(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m = create(fx);
	struct ml_hash ids[2] = {m};
	decide(fx, ML_OT_MEMBER_SUBMIT, &m, ids, 1, NULL, 2000);
	decide(fx, ML_OT_MEMBER_REJECT, &m, ids, 1, NULL, 3000);
	struct ml_hash fix = update_name(fx, &m, "Trần Thị Bé Ba", 4000);
	ids[0] = m;
	ids[1] = fix;
	decide(fx, ML_OT_MEMBER_SUBMIT, &m, ids, 2, NULL, 5000);
	struct ml_member_view v;
	fold(fx, &m, &v);
	assert_int_equal(v.state, ML_REC_SUBMITTED);
	assert_int_equal(v.rejected, 0);
	assert_int_equal(v.pending, 2);
	ml_member_view_release(&v);
	char num[13];
	ml_number_format(11, num);
	ids[0] = m;
	ids[1] = fix;
	decide(fx, ML_OT_MEMBER_APPROVE, &m, ids, 2, num, 6000);
	fold(fx, &m, &v);
	assert_int_equal(v.state, ML_REC_OFFICIAL);
	assert_int_equal(v.n_conflicts, 0);
	size_t len;
	const char *name = ml_member_text(&v.official, "full_name", &len);
	assert_non_null(name);
	assert_memory_equal(name, "Trần Thị Bé Ba", len);
	ml_member_view_release(&v);
}

static void test_member_conflicts_resolve_and_are_listed(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m = create(fx);
	struct ml_hash ids[1] = {m};
	char n1[13], n2[13];
	ml_number_format(11, n1);
	ml_number_format(12, n2);
	/* two approvers, concurrently: two numbers, and a rejection too */
	decide(fx, ML_OT_MEMBER_APPROVE, &m, ids, 1, n2, 3000);
	decide(fx, ML_OT_MEMBER_APPROVE, &m, ids, 1, n1, 2000);
	decide(fx, ML_OT_MEMBER_REJECT, &m, ids, 1, NULL, 2500);
	struct ml_member_view v;
	fold(fx, &m, &v);
	assert_int_equal(v.state, ML_REC_OFFICIAL); /* approval wins */
	assert_string_equal(v.number, n1);          /* the earliest approval's number */
	assert_int_equal(v.n_conflicts, 2);
	bool two_numbers = false, both = false;
	for (size_t i = 0; i < v.n_conflicts; i++) {
		two_numbers |= v.conflicts[i].kind == ML_MC_TWO_NUMBERS;
		both |= v.conflicts[i].kind == ML_MC_APPROVED_AND_REJECTED;
	}
	assert_true(two_numbers && both);
	ml_member_view_release(&v);
}

static void test_member_fold_is_order_independent(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m = create(fx);
	struct ml_hash u1 = update_name(fx, &m, "Trần Thị Bé Một", 1500);
	update_name(fx, &m, "Trần Thị Bé Hai", 1500); /* same clock: author, then id decide */
	struct ml_hash ids[2] = {m, u1};
	char num[13];
	ml_number_format(5, num);
	decide(fx, ML_OT_MEMBER_SUBMIT, &m, ids, 2, NULL, 1800);
	decide(fx, ML_OT_MEMBER_APPROVE, &m, ids, 2, num, 2000);
	struct ml_member_view ref;
	fold(fx, &m, &ref);
	struct ml_member_entry saved[MAXE];
	memcpy(saved, fx->e, sizeof saved);
	unsigned seed = 7;
	for (int round = 0; round < 200; round++) {
		for (size_t i = fx->n - 1; i > 0; i--) {
			seed = seed * 1103515245 + 12345;
			size_t j = (seed >> 8) % (i + 1);
			struct ml_member_entry t = fx->e[i];
			fx->e[i] = fx->e[j];
			fx->e[j] = t;
		}
		struct ml_member_view v;
		fold(fx, &m, &v);
		assert_int_equal(v.state, ref.state);
		assert_int_equal(v.official.len, ref.official.len);
		assert_memory_equal(v.official.data, ref.official.data, v.official.len);
		assert_int_equal(v.draft.len, ref.draft.len);
		assert_memory_equal(v.draft.data, ref.draft.data, v.draft.len);
		assert_int_equal(v.pending, ref.pending);
		ml_member_view_release(&v);
	}
	memcpy(fx->e, saved, sizeof saved);
	ml_member_view_release(&ref);
}

static void test_member_transfer_moves_the_managing_unit(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m = create(fx);
	struct ml_hash ids[2] = {m};
	char num[13];
	ml_number_format(77, num);
	decide(fx, ML_OT_MEMBER_APPROVE, &m, ids, 1, num, 2000);
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_hash(&bb, "member", &m);
	ml_bb_hash(&bb, "to", &fx->other_unit);
	struct ml_hash t = add(fx, ML_OT_MEMBER_TRANSFER, 2500, &fx->officer, &bb)->stamp.id;
	struct ml_member_view v;
	fold(fx, &m, &v);
	assert_true(ml_hash_eq(&v.unit, &fx->unit)); /* not approved yet */
	ml_member_view_release(&v);
	ids[0] = t;
	decide(fx, ML_OT_MEMBER_APPROVE, &m, ids, 1, NULL, 3000);
	fold(fx, &m, &v);
	assert_true(ml_hash_eq(&v.unit, &fx->other_unit));
	size_t n;
	const char *st = ml_member_text(&v.official, "status", &n);
	assert_memory_equal(st, "transferring", n);
	ml_member_view_release(&v);
}

/* --- summaries: ml_member_step against the full fold --------------------------- */

static int get_entry(void *ctx, uint64_t tag, struct ml_member_entry *out)
{
	struct fx *fx = ctx;
	if (tag >= fx->n)
		return ML_ENOTFOUND;
	*out = fx->e[tag];
	return ML_OK;
}

static unsigned next(unsigned *seed, unsigned n)
{
	*seed = *seed * 1103515245 + 12345;
	return (*seed >> 8) % n;
}

/* The views two folds must agree on (return_reason aside: a step knows only its entry's). */
static void assert_same_view(const struct ml_member_view *a, const struct ml_member_view *b)
{
	assert_int_equal(a->state, b->state);
	assert_true(ml_hash_eq(&a->unit, &b->unit));
	assert_true(ml_hash_eq(&a->create_unit, &b->create_unit));
	assert_int_equal(a->create_type, b->create_type);
	assert_int_equal(a->has_number, b->has_number);
	if (a->has_number)
		assert_memory_equal(a->number, b->number, 12);
	assert_int_equal(a->approved_ever, b->approved_ever);
	if (a->approved_ever)
		assert_int_equal(ml_hlc_cmp(a->first_approval.hlc, b->first_approval.hlc), 0);
	assert_int_equal(a->changes, b->changes);
	assert_int_equal(a->approved, b->approved);
	assert_int_equal(a->rejected, b->rejected);
	assert_int_equal(a->pending, b->pending);
	assert_int_equal(a->n_conflicts_total, b->n_conflicts_total);
	assert_int_equal(a->official.len, b->official.len);
	assert_memory_equal(a->official.data, b->official.data, a->official.len);
	assert_int_equal(a->draft.len, b->draft.len);
	assert_memory_equal(a->draft.data, b->draft.data, a->draft.len);
}

/* Random histories of one member, folded as a node folds them on arrival: a step from the
 * summary when it can, the full fold when it answers ML_EAGAIN.  Every step must give the
 * full fold's view and summary.  Clocks mostly rise, sometimes repeat or go back; decisions
 * name random changes; some approvals carry a second number. */
static void test_member_step_equals_the_full_fold(void **state)
{
	struct fx *fx = *state;
	size_t steps = 0, full = 0, all_approved = 0, some_approved = 0;
	for (unsigned seed = 1; seed <= 400; seed++) {
		unsigned r = seed * 2654435761u;
		for (size_t i = 0; i < fx->n; i++)
			ml_buf_release(&fx->bodies[i]);
		fx->n = 0;
		struct ml_hash m = create(fx);
		struct ml_member_view v;
		struct ml_buf sum = ML_BUF_INIT;
		assert_int_equal(ml_member_fold_sum(&m, fx->e, 1, &v, &sum), ML_OK);
		assert_true(sum.len > 0);
		uint64_t ms = 1000;
		char num[13];
		while (fx->n < MAXE) {
			unsigned back = next(&r, 12);
			ms = back == 0   ? ms - 1 - next(&r, 300)
			     : back == 1 ? ms
			                 : ms + 1 + next(&r, 50);
			unsigned kind = next(&r, 12);
			if (kind <= 2) {
				char name[32];
				snprintf(name, sizeof name, "Trần Văn %u", next(&r, 100));
				update_name(fx, &m, name, ms);
			} else if (kind <= 4) {
				/* The other changes, each writing its own fields. */
				static const char *const pos[] = {"chairman", "member"};
				struct ml_body_builder bb;
				ml_bb_init(&bb);
				ml_bb_hash(&bb, "member", &m);
				static const enum ml_optype types[] = {
				    ML_OT_MEMBER_POSITION, ML_OT_MEMBER_REDUCE,
				    ML_OT_MEMBER_CARD_REQUEST, ML_OT_YOUTH_OUTSTANDING};
				enum ml_optype t = types[next(&r, 4)];
				if (t == ML_OT_YOUTH_OUTSTANDING)
					ml_bb_uint(&bb, "year", 2020 + next(&r, 5));
				if (t == ML_OT_MEMBER_POSITION)
					ml_bb_text_list(&bb, "positions", pos, 1 + next(&r, 2));
				if (t == ML_OT_MEMBER_REDUCE) {
					ml_bb_cstr(&bb, "reason", "quit");
					ml_bb_cstr(&bb, "date", "01/02/2026");
					if (next(&r, 2))
						ml_bb_cstr(&bb, "note", "chuyển công tác");
				}
				if (t == ML_OT_MEMBER_CARD_REQUEST)
					ml_bb_cstr(&bb, "card", next(&r, 2) ? "new" : "reissue");
				add(fx, t, ms, &fx->officer, &bb);
			} else {
				struct ml_hash ids[MAXE];
				size_t k = 0;
				/* Decisions mostly take in the record itself, as officers do, and
				 * any other change two times in three. */
				for (size_t i = 0; i < fx->n; i++)
					if ((fx->e[i].type == ML_OT_MEMBER_CREATE &&
					     next(&r, 10) != 0) ||
					    (fx->e[i].type != ML_OT_MEMBER_CREATE &&
					     (ml_optype_info(fx->e[i].type)->flags &
					      ML_OTF_CHANGE) &&
					     next(&r, 3) != 0))
						ids[k++] = fx->e[i].stamp.id;
				enum ml_optype t = kind <= 6    ? ML_OT_MEMBER_SUBMIT
				                   : kind == 11 ? ML_OT_MEMBER_REJECT
				                                : ML_OT_MEMBER_APPROVE;
				ml_number_format(next(&r, 15) == 0 ? 9 : 5, num);
				decide(fx, t, &m, ids, k, t == ML_OT_MEMBER_APPROVE ? num : NULL,
				       ms);
			}
			struct ml_member_view fv, sv;
			struct ml_buf fsum = ML_BUF_INIT, ssum = ML_BUF_INIT;
			assert_int_equal(ml_member_fold_sum(&m, fx->e, fx->n, &fv, &fsum), ML_OK);
			const struct ml_buf *draft = v.draft.len ? &v.draft : &v.official;
			struct ml_member_prior p = {.sum = sum.data,
			                            .sum_len = sum.len,
			                            .draft = draft->data,
			                            .draft_len = draft->len,
			                            .official = v.official.data,
			                            .official_len = v.official.len,
			                            .n_entries = fx->n - 1,
			                            .create_unit = fx->unit};
			int rc = ml_member_step(&p, &fx->e[fx->n - 1], get_entry, fx, &sv, &ssum);
			if (rc == ML_OK) {
				assert_same_view(&sv, &fv);
				assert_int_equal(ssum.len, fsum.len);
				assert_memory_equal(ssum.data, fsum.data, fsum.len);
				steps++;
				/* An approval that leaves every change approved takes the draft
				 * as the official record; else it reads what it approves. */
				if (fv.approved > v.approved && fv.approved == fv.changes)
					all_approved++;
				else if (fv.approved > v.approved)
					some_approved++;
			} else {
				assert_int_equal(rc, ML_EAGAIN);
				assert_int_equal(ssum.len, 0);
				full++;
			}
			ml_member_view_release(&sv);
			ml_buf_release(&ssum);
			ml_member_view_release(&v);
			ml_buf_release(&sum);
			v = fv;
			sum = fsum;
		}
		ml_member_view_release(&v);
		ml_buf_release(&sum);
	}
	/* Both paths were taken many times (1,974 steps and 4,026 full folds when written: a
	 * random history soon holds a conflict, and a member with one is always folded in full). */
	assert_true(steps > 1000);
	assert_true(full > 1000);
	/* Both ways of building the official record (273 and 103 when written). */
	assert_true(all_approved > 100);
	assert_true(some_approved > 100);
}

/* A summary another build wrote in an older layout is not read: the member is folded in full
 * once, and that writes the summary anew. */
static void test_member_step_refuses_an_older_summary(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m = create(fx);
	struct ml_member_view v, sv;
	struct ml_buf sum = ML_BUF_INIT, ssum = ML_BUF_INIT;
	assert_int_equal(ml_member_fold_sum(&m, fx->e, 1, &v, &sum), ML_OK);
	struct ml_hash ids[1] = {m};
	decide(fx, ML_OT_MEMBER_SUBMIT, &m, ids, 1, NULL, 2000);
	struct ml_member_prior p = {.sum = sum.data,
	                            .sum_len = sum.len,
	                            .draft = v.draft.data,
	                            .draft_len = v.draft.len,
	                            .n_entries = 1,
	                            .create_unit = fx->unit};
	assert_int_equal(ml_member_step(&p, &fx->e[1], get_entry, fx, &sv, &ssum), ML_OK);
	ml_member_view_release(&sv);
	ml_buf_release(&ssum);
	sum.data[0]--;
	assert_int_equal(ml_member_step(&p, &fx->e[1], get_entry, fx, &sv, &ssum), ML_EAGAIN);
	assert_int_equal(ssum.len, 0);
	ml_member_view_release(&v);
	ml_buf_release(&sum);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_member_draft_until_approved, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_member_edit_after_approval_stays_pending, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_member_approval_of_old_draft_skips_newer_edit,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_member_rejection_returns_the_record, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_member_resubmission_after_rejection, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_member_conflicts_resolve_and_are_listed, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_member_fold_is_order_independent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_member_transfer_moves_the_managing_unit, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_member_step_equals_the_full_fold, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_member_step_refuses_an_older_summary, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
