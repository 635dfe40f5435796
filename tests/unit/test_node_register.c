/*
 * test_node_register.c - the register end to end in a real SQLite store:
 * tree, grants, numbers, drafts, approvals, rebuild and state hash.
 */
#include "test.h"

#include "crdt/alloc.h"
#include "crdt/audit.h"
#include "crdt/body.h"
#include "crdt/codec.h"
#include "crdt/err.h"
#include "crdt/limits.h"
#include "crdt/number.h"
#include "node/opindex.h"
#include "node/read.h"
#include "node/replica.h"
#include "node/scope.h"
#include "tests/common/world.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx {
	struct world w;
	struct ml_key *admin, *officer, *approver;
	struct ml_hash province, district, commune;
};

#define OK(expr) TEST_OK(&fx->w.err, expr)

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

static long count_in(const char *path, const char *sql);

/* Runs sql on the store file at path through a connection of its own, as another program. */
static void exec_in(const char *path, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
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
	OK(w_member_text(&fx->w, &m, "status", buf, sizeof buf));
	assert_string_equal(buf, "active");
	/* A reduction is a draft until the parent approves it: the register still shows the
	 * official status, then the approved one. */
	struct ml_body_builder bb;
	struct ml_buf body = ML_BUF_INIT;
	struct ml_hash r;
	ml_bb_init(&bb);
	ml_bb_hash(&bb, "member", &m);
	ml_bb_cstr(&bb, "reason", "left_job");
	ml_bb_cstr(&bb, "date", "01/11/2026");
	OK(ml_bb_finish(&bb, &body));
	ml_bb_release(&bb);
	OK(w_write(&fx->w, fx->officer, &fx->commune, ML_LANE_REG, "member_reduce", &body, &r));
	ml_buf_release(&body);
	OK(w_member_text(&fx->w, &m, "status", buf, sizeof buf));
	assert_string_equal(buf, "active");
	OK(w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &m, &r, 1, NULL, NULL));
	OK(w_member_text(&fx->w, &m, "status", buf, sizeof buf));
	assert_string_equal(buf, "reduced");
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

/*
 * A device whose clock runs 3 minutes ahead renames a member; another device
 * receives that op, then renames the member too.  The second name must win:
 * it was written after the first was seen (the hybrid clock's receive rule),
 * whatever the wall clocks said.  A clock 50 minutes ahead (accepted: under
 * the hour's drift bound) does not carry this node's stamps more than
 * ML_HLC_ADOPT_MAX_MS ahead of its own clock.
 */
static void test_register_a_write_orders_after_every_op_it_has_seen(void **state)
{
	struct fx *fx = *state;
	struct ml_key *other = w_key(4);
	OK(w_grant(&fx->w, fx->admin, &fx->commune, &other->pk, "officer"));
	struct ml_hash m;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Lê Văn Lương", "109814122", &m));
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_hash(&bb, "member", &m);
	ml_bb_cstr(&bb, "full_name", "Lê Văn Nhanh");
	struct ml_buf body = ML_BUF_INIT, op = ML_BUF_INIT;
	OK(ml_bb_finish(&bb, &body));
	ml_bb_release(&bb);
	uint64_t wall = fx->w.now;
	fx->w.now += 3 * 60 * 1000; /* the fast clock */
	OK(w_forge(&fx->w, fx->officer, &fx->commune, ML_LANE_REG, "member_update", &body, &op));
	fx->w.now = wall;
	const uint8_t *p = op.data;
	size_t n = op.len;
	struct ml_ingest_result res;
	OK(ml_store_ingest(fx->w.s, &p, &n, 1, fx->w.now, &res, &fx->w.err));
	assert_int_equal(res.applied, 1);
	char name[96];
	OK(w_member_text(&fx->w, &m, "full_name", name, sizeof name));
	assert_string_equal(name, "Lê Văn Nhanh");
	OK(w_edit(&fx->w, other, &fx->commune, &m, "full_name", "Lê Văn Sau", NULL));
	OK(w_member_text(&fx->w, &m, "full_name", name, sizeof name));
	assert_string_equal(name, "Lê Văn Sau");
	/* the far-fast clock */
	ml_buf_reset(&op);
	fx->w.now += 50 * 60 * 1000;
	OK(w_forge(&fx->w, fx->officer, &fx->commune, ML_LANE_REG, "member_update", &body, &op));
	fx->w.now = wall + 2000;
	p = op.data;
	n = op.len;
	OK(ml_store_ingest(fx->w.s, &p, &n, 1, fx->w.now, &res, &fx->w.err));
	assert_int_equal(res.applied, 1);
	size_t before = fx->w.log.len;
	OK(w_edit(&fx->w, other, &fx->commune, &m, "full_name", "Lê Văn Cuối", NULL));
	struct ml_op mine;
	OK(ml_op_parse(fx->w.log.data + before, fx->w.log.len - before, &mine, &fx->w.err));
	assert_true(mine.hlc.ms <= fx->w.now + ML_HLC_ADOPT_MAX_MS);
	assert_true(mine.hlc.ms >= fx->w.now);
	ml_buf_release(&body);
	ml_buf_release(&op);
	ml_key_free(other);
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

/* Counts rows of sql, where each %s is replaced by a hash as an SQL blob literal. */
static long count_with(struct fx *fx, const char *sql, const struct ml_hash *a,
                       const struct ml_hash *b)
{
	char ha[68] = "", hb[68] = "", q[512];
	if (a) {
		ml_hex_encode(a->b, 32, ha + 2);
		ha[0] = 'x', ha[1] = '\'';
		strcat(ha, "'");
	}
	if (b) {
		ml_hex_encode(b->b, 32, hb + 2);
		hb[0] = 'x', hb[1] = '\'';
		strcat(hb, "'");
	}
	snprintf(q, sizeof q, sql, ha, hb);
	return w_count(&fx->w, q);
}

/* An op whose body is {member (when given), field: h (when given)}; out (optional) its id. */
static int hash_op(struct fx *fx, const struct ml_key *key, const struct ml_hash *unit,
                   enum ml_lane lane, const char *type, const struct ml_hash *member,
                   const char *field, const struct ml_hash *h, struct ml_hash *out)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	if (member)
		ml_bb_hash(&bb, "member", member);
	if (field)
		ml_bb_hash(&bb, field, h);
	struct ml_buf body = ML_BUF_INIT;
	int rc = ml_bb_finish(&bb, &body);
	ml_bb_release(&bb);
	if (rc == ML_OK)
		rc = w_write(&fx->w, key, unit, lane, type, &body, out);
	ml_buf_release(&body);
	return rc;
}

static int unit_op(struct fx *fx, const struct ml_key *key, const struct ml_hash *unit,
                   const char *type, const char *field, const struct ml_hash *h,
                   struct ml_hash *out)
{
	return hash_op(fx, key, unit, ML_LANE_GOV, type, NULL, field, h, out);
}

/* A member op of unit with body {member, field: h}. */
static int member_op(struct fx *fx, const struct ml_key *key, const struct ml_hash *unit,
                     const char *type, const struct ml_hash *member, const char *field,
                     const struct ml_hash *h, struct ml_hash *out)
{
	return hash_op(fx, key, unit, ML_LANE_REG, type, member, field, h, out);
}

/* A second handle on fx's store, as a command beside `serve` has. */
static struct ml_store *open_again(struct fx *fx)
{
	char path[256];
	struct ml_store *s;
	snprintf(path, sizeof path, "%s/node.db", fx->w.dir);
	OK(ml_store_open(path, 0, &s, &fx->w.err));
	return s;
}

static void assert_rebuild_agrees(struct fx *fx)
{
	struct ml_hash before, after;
	OK(ml_store_state_hash(fx->w.s, &before, &fx->w.err));
	OK(ml_store_rebuild(fx->w.s, &fx->w.err));
	OK(ml_store_state_hash(fx->w.s, &after, &fx->w.err));
	assert_memory_equal(before.b, after.b, 32);
}

/*
 * Ops are found by id through a recent part and a merged part (opindex.c):
 * with merges every few ops, and a second handle on the same file writing
 * too (a command beside `serve`), every approval still finds the draft it
 * names, every op row is indexed exactly once, and a write that rolls back
 * leaves nothing behind in either part.
 */
static void test_register_ops_stay_findable_across_index_merges(void **state)
{
	struct fx *fx = *state;
	struct ml_store *first = fx->w.s, *second = open_again(fx);
	ml_store_set_index_merge(first, 5);
	ml_store_set_index_merge(second, 5);
	struct ml_hash last;
	for (int i = 0; i < 24; i++) {
		char name[64], idnum[16], num[13];
		snprintf(name, sizeof name, "Nguyễn Thị Thu %d", i);
		snprintf(idnum, sizeof idnum, "0010%08d", i);
		ml_number_format(1000000 + (uint64_t)i, num);
		fx->w.s = i % 3 == 2 ? second : first;
		OK(w_member(&fx->w, fx->officer, &fx->commune, name, idnum, &last));
		fx->w.s = i % 4 == 1 ? second : first;
		OK(w_decide(&fx->w, fx->officer, &fx->commune, "member_submit", &last, &last, 1,
		            NULL, NULL));
		fx->w.s = i % 2 ? second : first;
		OK(w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &last, &last, 1,
		            num, NULL));
	}
	fx->w.s = first;
	long ops = w_count(&fx->w, "SELECT count(*) FROM ops");
	/* Approving again with a number already given fails whole and rolls back. */
	char again[13];
	ml_number_format(1000000, again);
	assert_int_not_equal(w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &last,
	                              &last, 1, again, NULL),
	                     ML_OK);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM ops"), ops);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM members WHERE state = 'official'"),
	                 24);
	assert_true(w_count(&fx->w, "SELECT count(*) FROM op_ids") > 0);
	assert_true(w_count(&fx->w, "SELECT count(*) FROM op_ids_new") < 5 + 8);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM (SELECT key FROM op_ids UNION ALL"
	                                 " SELECT key FROM op_ids_new)"),
	                 ops);
	assert_int_equal(w_count(&fx->w,
	                         "SELECT count(*) FROM ops WHERE key NOT IN (SELECT key FROM"
	                         " op_ids UNION SELECT key FROM op_ids_new)"),
	                 0);
	ml_store_close(second);
	assert_rebuild_agrees(fx);
}

/*
 * The key of a member's creating op is remembered (opindex.c): ops about a
 * member this handle created find its row without reading op_ids, and a
 * member another handle created is read there once, then remembered; both
 * hold after the other handle wrote (which empties every other cache), and
 * each edit lands on its member alone.
 */
static void test_register_a_member_is_found_again_without_the_op_index(void **state)
{
	struct fx *fx = *state;
	struct ml_store *first = fx->w.s, *second = open_again(fx);
	ml_store_set_index_merge(first, 3);
	ml_store_set_index_merge(second, 3);
	struct ml_hash mine[12], theirs;
	fx->w.s = second;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Đỗ Văn Khoa", "003099999999", &theirs));
	fx->w.s = first;
	for (int i = 0; i < 12; i++) {
		char name[64], idnum[16];
		snprintf(name, sizeof name, "Lê Thị Hằng %d", i);
		snprintf(idnum, sizeof idnum, "0030%08d", i);
		OK(w_member(&fx->w, fx->officer, &fx->commune, name, idnum, &mine[i]));
	}
	/* Both creating ops are merged by now. */
	assert_true(w_count(&fx->w, "SELECT count(*) FROM op_ids") >= 13);
	uint64_t before = ml__opindex_seeks(first);
	OK(w_edit(&fx->w, fx->officer, &fx->commune, &mine[0], "phone", "0911111111", NULL));
	assert_int_equal(ml__opindex_seeks(first), before);
	OK(w_edit(&fx->w, fx->officer, &fx->commune, &theirs, "phone", "0922222222", NULL));
	uint64_t once = ml__opindex_seeks(first);
	assert_true(once > before);
	for (int k = 0; k < 3; k++) {
		char name[64], got[128];
		fx->w.s = second; /* another writer: first's member cache is emptied */
		OK(w_edit(&fx->w, fx->officer, &fx->commune, &mine[5], "phone", "0933333333",
		          NULL));
		fx->w.s = first;
		snprintf(name, sizeof name, "Lê Thị Hằng Nga %d", k);
		OK(w_edit(&fx->w, fx->officer, &fx->commune, &mine[0], "full_name", name, NULL));
		OK(w_member_text(&fx->w, &mine[0], "full_name", got, sizeof got));
		assert_string_equal(got, name);
		snprintf(name, sizeof name, "Đỗ Văn Khoa %d", k);
		OK(w_edit(&fx->w, fx->officer, &fx->commune, &theirs, "full_name", name, NULL));
		OK(w_member_text(&fx->w, &theirs, "full_name", got, sizeof got));
		assert_string_equal(got, name);
		assert_int_equal(ml__opindex_seeks(first), once);
	}
	assert_int_equal(
	    w_count(&fx->w, "SELECT count(*) FROM members WHERE full_name LIKE 'Lê Thị Hằng Nga%'"),
	    1);
	ml_store_close(second);
	assert_rebuild_agrees(fx);
}

/* What every checkpoint test asks of the counts and the file after members were written. */
static void assert_checkpoints_sound(struct fx *fx, int members,
                                     const struct ml_store_checkpoints *n)
{
	print_message("%d members: rounds %llu by the thread (%llu synced), %llu tails, %llu by the"
	              " writer, %llu restarts\n",
	              members, (unsigned long long)n->by_thread, (unsigned long long)n->synced,
	              (unsigned long long)n->tails, (unsigned long long)n->by_writer,
	              (unsigned long long)n->restarts);
	assert_true(n->synced <= n->by_thread);
	assert_true(n->restarts > 0);
	assert_int_equal(n->errors, 0);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM pragma_integrity_check"
	                                 " WHERE integrity_check != 'ok'"),
	                 0);
}

/* Checkpoints run on a thread of their own beside the writer (node/checkpoint.h), with a
 * second connection writing to the same file, as a command beside `serve`: the thread copies,
 * the writer copies the tail, the WAL starts again from its beginning, and nothing is lost.
 * Writes go on until all three were seen (bounded): the thread's pace is not the test's. */
static void test_register_checkpoints_run_beside_the_writer(void **state)
{
	struct fx *fx = *state;
	struct ml_store *first = fx->w.s, *second = open_again(fx);
	ml_store_set_checkpoint_pages(first, 64);
	ml_store_set_checkpoint_pages(second, 64);
	struct ml_store_checkpoints n = {0};
	int members = 0;
	for (; members < 1000 && !(members >= 60 && n.by_thread && n.tails && n.restarts);
	     members++) {
		char name[64], idnum[16], num[13];
		struct ml_hash m;
		snprintf(name, sizeof name, "Trần Văn Hùng %d", members);
		snprintf(idnum, sizeof idnum, "0020%08d", members);
		ml_number_format(1000000 + (uint64_t)members, num);
		fx->w.s = members % 5 == 4 ? second : first;
		OK(w_member(&fx->w, fx->officer, &fx->commune, name, idnum, &m));
		OK(w_decide(&fx->w, fx->officer, &fx->commune, "member_submit", &m, &m, 1, NULL,
		            NULL));
		OK(w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &m, &m, 1, num,
		            NULL));
		ml_store_checkpoints(first, &n);
	}
	fx->w.s = first;
	assert_checkpoints_sound(fx, members, &n);
	assert_true(n.by_thread > 0);
	assert_true(n.tails > 0);
	ml_store_close(second);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM members WHERE state = 'official'"),
	                 members);
	assert_rebuild_agrees(fx);
}

/* A checkpoint round that stops short of the WAL's end - the writer committed meanwhile, or
 * a reader holds an older snapshot (members 10 to 50 here) - is synced by the checkpoint
 * thread itself (SQLite syncs only a round that reaches the end), so the writer's tail does
 * not wait for the thread's copies; the WAL restarts and nothing is lost. */
static void test_register_checkpoint_thread_syncs_a_round_short_of_the_end(void **state)
{
	struct fx *fx = *state;
	ml_store_set_checkpoint_pages(fx->w.s, 64);
	char path[256];
	snprintf(path, sizeof path, "%s/node.db", fx->w.dir);
	sqlite3 *reader;
	assert_int_equal(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	struct ml_store_checkpoints n = {0};
	int members = 0;
	for (; members < 600 && !(members > 50 && n.synced && n.restarts); members++) {
		char name[64], idnum[16];
		struct ml_hash m;
		if (members == 10) /* pins the frames committed so far */
			assert_int_equal(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM ops;",
			                              NULL, NULL, NULL),
			                 SQLITE_OK);
		if (members == 50)
			assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL),
			                 SQLITE_OK);
		snprintf(name, sizeof name, "Phạm Thị Đào %d", members);
		snprintf(idnum, sizeof idnum, "0040%08d", members);
		OK(w_member(&fx->w, fx->officer, &fx->commune, name, idnum, &m));
		OK(w_decide(&fx->w, fx->officer, &fx->commune, "member_submit", &m, &m, 1, NULL,
		            NULL));
		ml_store_checkpoints(fx->w.s, &n);
	}
	sqlite3_close(reader);
	assert_checkpoints_sound(fx, members, &n);
	assert_true(n.synced > 0);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM members WHERE full_name LIKE"
	                                 " 'Phạm Thị Đào %'"),
	                 members);
	assert_rebuild_agrees(fx);
}

/* SQLite keeps no memory statistics in a process that set the store's options first (main
 * does, as the memberlog binary and the benchmarks do): they take a global mutex on every
 * allocation, about 5 % of an ingest's writer thread (BENCHMARKS.md). */
static void test_register_sqlite_keeps_no_memory_statistics(void **state)
{
	struct fx *fx = *state;
	assert_true(w_count(&fx->w, "SELECT count(*) FROM ops") > 0);
	sqlite3_int64 used = -1, peak = -1;
	assert_int_equal(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &used, &peak, 0), SQLITE_OK);
	assert_int_equal(used, 0);
	assert_int_equal(peak, 0);
}

/* A store of another schema version is refused, with what to do, and left as it was. */
static void test_register_store_of_another_schema_is_refused_untouched(void **state)
{
	struct fx *fx = *state;
	struct ml_store *old;
	OK(w_open_node(&fx->w, "old", &old));
	ml_store_close(old);
	char path[256];
	snprintf(path, sizeof path, "%s/old.db", fx->w.dir);
	exec_in(path, "UPDATE meta SET value = '1' WHERE key = 'schema';"
	              "DROP TABLE op_ids; DROP TABLE op_ids_new;");
	assert_int_equal(ml_store_open(path, 0, &old, &fx->w.err), ML_ESTORE);
	assert_non_null(strstr(ml_buf_str(&fx->w.err), "schema version 1"));
	assert_non_null(strstr(ml_buf_str(&fx->w.err), "export a bundle"));
	assert_int_equal(
	    count_in(path, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'op_ids%'"), 0);
}

/*
 * A store of schema 2 (members numbered in arrival order, found through a
 * unique index on id) is upgraded when opened: its members table is made
 * again and refilled from the log, so nothing is lost and the register's
 * state hash is what it was.
 */
static void test_register_store_of_schema_2_is_upgraded_by_a_rebuild(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m1, m2, e;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Trần Thị Bé", "109814123", &m1));
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Đỗ Văn Đức", "109814124", &m2));
	char num[13];
	ml_number_format(1000001, num);
	OK(w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &m1, &m1, 1, num, NULL));
	OK(w_edit(&fx->w, fx->officer, &fx->commune, &m2, "hometown", "Hà Nội", &e));
	struct ml_hash before, after;
	OK(ml_store_state_hash(fx->w.s, &before, &fx->w.err));
	ml_store_close(fx->w.s);
	fx->w.s = NULL;

	char path[256];
	snprintf(path, sizeof path, "%s/node.db", fx->w.dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
	        db,
	        "CREATE TABLE saved AS SELECT * FROM members;"
	        "DROP TABLE member_search; DROP TABLE members;"
	        "CREATE TABLE members ("
	        " rid INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, unit BLOB, create_unit BLOB,"
	        " state TEXT, status TEXT, number TEXT, full_name TEXT, id_number TEXT,"
	        " name_fold TEXT, first_approval_ms INTEGER, pending INTEGER, origin TEXT,"
	        " created_feed INTEGER, created_seq INTEGER, has_transfers INTEGER, official BLOB,"
	        " draft BLOB, ops BLOB, n_conflicts INTEGER NOT NULL DEFAULT 0, summary BLOB);"
	        "INSERT INTO members (id, unit, create_unit, state, status, number, full_name,"
	        " id_number, name_fold, first_approval_ms, pending, origin, created_feed,"
	        " created_seq, has_transfers, official, draft, ops, n_conflicts, summary)"
	        " SELECT id, unit, create_unit, state, status, number, full_name, id_number,"
	        " name_fold, first_approval_ms, pending, origin, rid >> 32, rid & 4294967295,"
	        " has_transfers, official, draft, ops, n_conflicts, summary FROM saved"
	        " ORDER BY id DESC;"
	        "DROP TABLE saved;"
	        "CREATE VIRTUAL TABLE member_search USING fts5(name_fold, content='members',"
	        " content_rowid='rid', tokenize='unicode61 remove_diacritics 0');"
	        "INSERT INTO member_search (member_search) VALUES ('rebuild');"
	        "UPDATE meta SET value = '2' WHERE key = 'schema';",
	        NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	OK(ml_store_open(path, 0, &fx->w.s, &fx->w.err));
	OK(ml_store_state_hash(fx->w.s, &after, &fx->w.err));
	assert_memory_equal(before.b, after.b, 32);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM meta WHERE key = 'schema'"
	                                 " AND CAST(value AS TEXT) = '3'"),
	                 1);
	/* every row id is its creating op's key, and member_rid() finds it */
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM members m JOIN ops o"
	                                 " ON o.key = m.rid AND o.id = m.id"),
	                 2);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM pragma_table_info('members')"
	                                 " WHERE name = 'created_feed'"),
	                 0);
	int64_t rid = 0, key = 0;
	OK(ml_read_int(fx->w.s, "SELECT rid FROM members WHERE rid = member_rid(?1)", m2.b, 32,
	               &rid, &fx->w.err));
	OK(ml_read_int(fx->w.s, "SELECT key FROM ops WHERE id = ?1", m2.b, 32, &key, &fx->w.err));
	assert_true(rid == key);
	assert_int_equal(ml_read_int(fx->w.s, "SELECT rid FROM members WHERE rid = member_rid(?1)",
	                             e.b, 32, &rid, &fx->w.err),
	                 ML_ENOTFOUND);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM member_search"
	                                 " WHERE member_search MATCH 'duc'"),
	                 1);
	/* and the register goes on */
	struct ml_hash changes[2] = {m2, e};
	ml_number_format(1000002, num);
	OK(w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &m2, changes, 2, num,
	            NULL));
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM members WHERE state = 'official'"),
	                 2);
	assert_rebuild_agrees(fx);
}

/* member_rid() on a second connection finds members the first wrote after it last looked
 * (the op index it holds in memory is dropped when another connection commits). */
static void test_register_member_rid_finds_what_another_process_wrote(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m1, m2;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Trần Thị Bé", "109814123", &m1));
	char path[256];
	snprintf(path, sizeof path, "%s/node.db", fx->w.dir);
	struct ml_store *reader;
	OK(ml_store_open(path, 0, &reader, &fx->w.err));
	static const char sql[] = "SELECT full_name FROM members WHERE rid = member_rid(?1)"
	                          " AND length(full_name) > 0";
	int64_t v;
	static const char count[] = "SELECT count(*) FROM members WHERE rid = member_rid(?1)";
	OK(ml_read_int(reader, count, m1.b, 32, &v, &fx->w.err));
	assert_int_equal(v, 1);
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Đỗ Văn Đức", "109814124", &m2));
	OK(ml_read_int(reader, count, m2.b, 32, &v, &fx->w.err));
	assert_int_equal(v, 1);
	sqlite3_stmt *st;
	OK(ml_read_prepare(reader, sql, &st, &fx->w.err));
	sqlite3_bind_blob(st, 1, m2.b, 32, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "Đỗ Văn Đức");
	sqlite3_finalize(st);
	/* not a member id, and not an id at all */
	assert_int_equal(ml_read_int(reader,
	                             "SELECT count(*) FROM members WHERE rid ="
	                             " member_rid(x'00')",
	                             NULL, 0, &v, &fx->w.err),
	                 ML_OK);
	assert_int_equal(v, 0);
	OK(ml_read_int(reader, count, fx->commune.b, 32, &v, &fx->w.err));
	assert_int_equal(v, 0);
	ml_store_close(reader);
}

static void replay(struct fx *fx, struct ml_store *node, size_t from, size_t to);

/* node's register is the world's: equal state hashes. */
static void assert_same_register(struct fx *fx, struct ml_store *node)
{
	struct ml_hash a, b;
	OK(ml_store_state_hash(node, &a, &fx->w.err));
	OK(ml_store_state_hash(fx->w.s, &b, &fx->w.err));
	assert_memory_equal(a.b, b.b, 32);
}

static long count_in(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long n = -1;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

/*
 * A store made before member summaries (members.summary missing) gets the column
 * when opened; a member's next op is folded in full and writes its summary, and
 * the register ends as a store that always had them.
 */
static void test_register_store_without_member_summaries_catches_up(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m, m2, e;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Đỗ Văn Hùng", "109814140", &m));
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Phan Thị Mai", "109814141", &m2));
	OK(w_decide(&fx->w, fx->officer, &fx->commune, "member_submit", &m, &m, 1, NULL, NULL));
	size_t mid = fx->w.log.len;
	struct ml_store *old;
	OK(w_open_node(&fx->w, "old", &old));
	replay(fx, old, 0, mid);
	ml_store_close(old);
	char path[256];
	snprintf(path, sizeof path, "%s/old.db", fx->w.dir);
	assert_int_equal(count_in(path, "SELECT count(*) FROM members WHERE summary IS NOT NULL"),
	                 2);
	exec_in(path, "ALTER TABLE members DROP COLUMN summary");
	assert_int_equal(count_in(path, "SELECT count(*) FROM members WHERE summary IS NULL"), -1);

	OK(ml_store_open(path, 0, &old, &fx->w.err));
	char num[13];
	ml_number_format(1000002, num);
	OK(w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &m, &m, 1, num, NULL));
	OK(w_edit(&fx->w, fx->officer, &fx->commune, &m, "hometown", "Hải Phòng", &e));
	replay(fx, old, mid, fx->w.log.len);
	assert_same_register(fx, old);
	ml_store_close(old);
	/* m has its summary again; m2, untouched since, has none yet. */
	assert_int_equal(count_in(path, "SELECT count(*) FROM members WHERE summary IS NOT NULL"),
	                 1);
	assert_int_equal(count_in(path, "SELECT count(*) FROM members WHERE summary IS NULL"), 1);
}

/*
 * Another build (one without summaries) may write to the store and leave a member's summary
 * behind its ops.  A summary that does not cover every op its row lists is not used: the
 * submission of a change the summary does not know is still accepted, and the register is
 * the one a store always written by this build holds.
 */
static void test_register_stale_member_summary_is_not_trusted(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m, e;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Vũ Thị Lan", "109814150", &m));
	size_t created = fx->w.log.len;
	OK(w_edit(&fx->w, fx->officer, &fx->commune, &m, "phone", "0912345678", &e));
	size_t edited = fx->w.log.len;
	struct ml_store *node;
	OK(w_open_node(&fx->w, "peer", &node));
	char path[256];
	snprintf(path, sizeof path, "%s/peer.db", fx->w.dir);
	replay(fx, node, 0, created);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE saved AS SELECT id, summary FROM members",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	replay(fx, node, created, edited);
	/* What a build without summaries leaves: the row moved on, the summary did not. */
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE members SET summary = (SELECT summary FROM saved"
	                              " WHERE saved.id = members.id); DROP TABLE saved",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	struct ml_hash ids[2] = {m, e};
	OK(w_decide(&fx->w, fx->officer, &fx->commune, "member_submit", &m, ids, 2, NULL, NULL));
	replay(fx, node, edited, fx->w.log.len);
	assert_same_register(fx, node);
	ml_store_close(node);
}

/*
 * A summary of an older layout (another build wrote it) is not read: the member's next op is
 * folded in full, the register ends as the world's, and the summary is written anew.
 */
static void test_register_summary_of_an_older_layout_is_refolded(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Ngô Thị Hoa", "109814160", &m));
	OK(w_decide(&fx->w, fx->officer, &fx->commune, "member_submit", &m, &m, 1, NULL, NULL));
	size_t mid = fx->w.log.len;
	struct ml_store *node;
	OK(w_open_node(&fx->w, "older", &node));
	replay(fx, node, 0, mid);
	char path[256];
	snprintf(path, sizeof path, "%s/older.db", fx->w.dir);
	/* Layout 2: version 2, and no latest change's clock (bytes 63..74 of layout 3). */
	exec_in(path, "UPDATE members SET summary = x'02' || substr(summary, 2, 62)"
	              " || substr(summary, 76)");
	char num[13];
	ml_number_format(1000003, num);
	OK(w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &m, &m, 1, num, NULL));
	replay(fx, node, mid, fx->w.log.len);
	assert_same_register(fx, node);
	ml_store_close(node);
	assert_int_equal(count_in(path, "SELECT count(*) FROM members WHERE hex(substr(summary, 1, "
	                                "1)) = '03' AND state = 'official'"),
	                 1);
}

/* What ml_replica_since hands over: the picked ops, in evaluation order. */
struct since {
	int64_t feed;  /* picked: this feed's ops only */
	size_t looked; /* ops pick was asked about */
	int64_t evals[64];
	size_t n;
};

static bool pick_feed(void *ctx, int64_t feed, uint64_t seq)
{
	struct since *x = ctx;
	(void)seq;
	x->looked++;
	return feed == x->feed;
}

static int take_op(void *ctx, const struct ml_replica_op *op)
{
	struct since *x = ctx;
	assert_int_equal(op->feed, x->feed);
	assert_non_null(op->raw);
	assert_true(op->len > 0);
	assert_true(x->n < 64);
	x->evals[x->n++] = op->eval;
	return ML_OK;
}

/* New ops for peers are listed from the evaluation index; only the ops picked are read. */
static void test_register_new_ops_are_read_only_when_picked(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Lý Văn Phúc", "109814161", &m));
	OK(w_decide(&fx->w, fx->officer, &fx->commune, "member_submit", &m, &m, 1, NULL, NULL));
	int64_t judged = 0, last = -1;
	OK(ml_read_int(fx->w.s, "SELECT count(*) FROM ops WHERE eval IS NOT NULL", NULL, 0, &judged,
	               &fx->w.err));
	/* The officer's feed: the feed of the store's last op. */
	int64_t key = 0;
	OK(ml_read_int(fx->w.s, "SELECT key FROM ops ORDER BY eval DESC LIMIT 1", NULL, 0, &key,
	               &fx->w.err));
	struct since x = {.feed = (int64_t)((uint64_t)key >> 32)};
	OK(ml_replica_since(fx->w.s, 0, 4096, pick_feed, take_op, &x, &last, &fx->w.err));
	assert_int_equal((int64_t)x.looked, judged);
	assert_int_equal(x.n, 2); /* the member and its submission */
	assert_true(x.evals[0] < x.evals[1]);
	assert_int_equal(last, x.evals[1]);
	/* At most limit ops are looked at, and *last says where to go on. */
	struct since y = {.feed = x.feed};
	OK(ml_replica_since(fx->w.s, 0, 3, pick_feed, take_op, &y, &last, &fx->w.err));
	assert_int_equal(y.looked, 3);
	assert_int_equal(y.n, 0);
	assert_true(last > 0 && last < x.evals[0]);
	struct since z = {.feed = x.feed};
	OK(ml_replica_since(fx->w.s, x.evals[0], 4096, pick_feed, take_op, &z, &last, &fx->w.err));
	assert_int_equal(z.n, 1);
	assert_int_equal(z.evals[0], x.evals[1]);
}

/* Transfer + receive moves a subtree; authority follows the new parent. */
static void test_register_unit_move_changes_parent_and_authority(void **state)
{
	struct fx *fx = *state;
	struct ml_hash d2, tr, m;
	OK(w_unit(&fx->w, fx->admin, &fx->province, "LĐLĐ quận Gia Lâm", "district", &d2));
	struct ml_key *approver2 = w_key(40);
	OK(w_grant(&fx->w, fx->admin, &d2, &approver2->pk, "approver"));
	OK(w_delegate(&fx->w, fx->admin, &fx->province, &d2, 1010000, 1000));
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Ngô Thị Thu", "109814130", &m));
	OK(w_decide(&fx->w, fx->officer, &fx->commune, "member_submit", &m, &m, 1, NULL, NULL));

	OK(unit_op(fx, fx->admin, &fx->commune, "unit_transfer", "to", &d2, &tr));
	/* handed over, not yet received: the parent is still the old district */
	assert_int_equal(count_with(fx, "SELECT count(*) FROM units WHERE id = %s AND parent = %s",
	                            &fx->commune, &fx->district),
	                 1);
	OK(unit_op(fx, fx->admin, &fx->commune, "unit_receive", "transfer", &tr, NULL));
	assert_int_equal(count_with(fx, "SELECT count(*) FROM units WHERE id = %s AND parent = %s",
	                            &fx->commune, &d2),
	                 1);
	/* the old district's approver no longer decides for the commune; the new one does */
	char num[13];
	ml_number_format(1000010, num);
	assert_int_equal(
	    w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &m, &m, 1, num, NULL),
	    ML_EUNAUTH);
	ml_number_format(1010000, num);
	OK(w_decide(&fx->w, approver2, &fx->commune, "member_approve", &m, &m, 1, num, NULL));
	/* a unit cannot move under its own subtree */
	assert_int_equal(
	    unit_op(fx, fx->admin, &fx->province, "unit_transfer", "to", &fx->commune, NULL),
	    ML_EFIELD);
	assert_non_null(strstr(ml_buf_str(&fx->w.err), "subtree"));
	assert_rebuild_agrees(fx);
	ml_key_free(approver2);
}

/* A merged unit takes no more writes and names the unit that absorbed it. */
static void test_register_unit_merge_ends_the_unit(void **state)
{
	struct fx *fx = *state;
	struct ml_hash c2, m;
	OK(w_unit(&fx->w, fx->admin, &fx->district, "CĐCS Phường Phúc Đồng", "base_union", &c2));
	OK(unit_op(fx, fx->admin, &fx->commune, "unit_merge", "into", &c2, NULL));
	assert_int_equal(count_with(fx,
	                            "SELECT count(*) FROM units WHERE id = %s AND status = 'merged'"
	                            " AND merged_into = %s",
	                            &fx->commune, &c2),
	                 1);
	assert_int_equal(
	    w_member(&fx->w, fx->officer, &fx->commune, "Đỗ Văn Hùng", "109814131", &m), ML_EFIELD);
	assert_non_null(strstr(ml_buf_str(&fx->w.err), "merged"));
	/* a unit cannot merge into itself */
	assert_int_equal(unit_op(fx, fx->admin, &c2, "unit_merge", "into", &c2, NULL), ML_EFIELD);
	assert_rebuild_agrees(fx);
}

/* Split creates the named siblings (ids derived from the split op) and ends the original. */
static void test_register_unit_split_and_dissolve(void **state)
{
	struct fx *fx = *state;
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	static const char *const names[] = {"CĐCS Tổ dân phố 1", "CĐCS Tổ dân phố 2"};
	ml_bb_text_list(&bb, "names", names, 2);
	struct ml_buf body = ML_BUF_INIT;
	OK(ml_bb_finish(&bb, &body));
	ml_bb_release(&bb);
	struct ml_hash split;
	OK(w_write(&fx->w, fx->admin, &fx->commune, ML_LANE_GOV, "unit_split", &body, &split));
	ml_buf_release(&body);
	assert_int_equal(count_with(fx,
	                            "SELECT count(*) FROM units WHERE parent = %s AND level ="
	                            " 'base_union' AND name LIKE 'CĐCS Tổ dân phố _'",
	                            &fx->district, NULL),
	                 2);
	assert_int_equal(count_with(fx,
	                            "SELECT count(*) FROM units WHERE id = %s AND status = 'split'",
	                            &fx->commune, NULL),
	                 1);
	/* the first new unit's id is BLAKE2b-256("memberlog/split" || split id || 0) */
	uint8_t pre[15 + 32 + 1];
	memcpy(pre, "memberlog/split", 15);
	memcpy(pre + 15, split.b, 32);
	pre[47] = 0;
	struct ml_hash first = ml_hash_of(pre, sizeof pre);
	assert_int_equal(count_with(fx,
	                            "SELECT count(*) FROM units WHERE id = %s AND name ="
	                            " 'CĐCS Tổ dân phố 1'",
	                            &first, NULL),
	                 1);
	/* members go to a new unit; the old one refuses them */
	struct ml_hash m;
	OK(w_grant(&fx->w, fx->admin, &first, &fx->officer->pk, "officer"));
	OK(w_member(&fx->w, fx->officer, &first, "Phan Văn Khải", "109814132", &m));
	assert_int_equal(
	    w_member(&fx->w, fx->officer, &fx->commune, "Phan Thị Lụa", "109814133", &m),
	    ML_EFIELD);
	/* dissolve the new unit: no more writes there either */
	OK(unit_op(fx, fx->admin, &first, "unit_dissolve", NULL, NULL, NULL));
	assert_int_equal(w_member(&fx->w, fx->officer, &first, "Phan Thị Lụa", "109814133", &m),
	                 ML_EFIELD);
	assert_non_null(strstr(ml_buf_str(&fx->w.err), "dissolved"));
	assert_rebuild_agrees(fx);
}

/* A revocation invalidates the device's ops after its cut, wherever they are. */
static void test_register_revocation_cuts_later_ops(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m1, m2;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Vũ Thị Hoa", "109814134", &m1));
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Vũ Văn Nam", "109814135", &m2));
	/* keep the officer's ops up to seq 1 of its commune register feed */
	struct ml_buf cuts = ML_BUF_INIT;
	struct ml_writer wr;
	ml_wr_init(&wr, &cuts);
	ml_wr_array(&wr, 1);
	ml_wr_array(&wr, 3);
	ml_wr_bytes(&wr, fx->commune.b, 32);
	ml_wr_cstr(&wr, "reg");
	ml_wr_uint(&wr, 1);
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_bytes(&bb, "device", fx->officer->pk.b, 32);
	ml_bb_raw(&bb, "cuts", cuts.data, cuts.len);
	ml_bb_cstr(&bb, "reason", "máy tính bị mất");
	struct ml_buf body = ML_BUF_INIT;
	OK(ml_bb_finish(&bb, &body));
	ml_bb_release(&bb);
	OK(w_write(&fx->w, fx->admin, &fx->commune, ML_LANE_GOV, "revoke", &body, NULL));
	ml_buf_release(&body);
	ml_buf_release(&cuts);
	/* m1 (seq 1) stands; m2 (seq 2) is rejected as revoked; no new writes */
	assert_int_equal(count_with(fx, "SELECT count(*) FROM members WHERE id = %s", &m1, NULL),
	                 1);
	assert_int_equal(count_with(fx, "SELECT count(*) FROM members WHERE id = %s", &m2, NULL),
	                 0);
	assert_int_equal(count_with(fx,
	                            "SELECT count(*) FROM ops WHERE id = %s AND status = 3 AND"
	                            " reason LIKE 'ML_EREVOKED:%%'",
	                            &m2, NULL),
	                 1);
	struct ml_hash m3;
	int rc = w_member(&fx->w, fx->officer, &fx->commune, "Vũ Văn Ba", "109814136", &m3);
	assert_true(rc == ML_EREVOKED || rc == ML_EUNAUTH);
	/* the store, opened again, still knows the revocation (it reloads it through the op
	 * index) */
	ml_store_close(fx->w.s);
	char path[256];
	snprintf(path, sizeof path, "%s/node.db", fx->w.dir);
	OK(ml_store_open(path, 0, &fx->w.s, &fx->w.err));
	rc = w_member(&fx->w, fx->officer, &fx->commune, "Vũ Văn Ba", "109814136", &m3);
	assert_true(rc == ML_EREVOKED || rc == ML_EUNAUTH);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM members"), 1);
	assert_rebuild_agrees(fx);
}

/* Same ID number: flagged, never merged; an approver above both settles the pair. */
static void test_register_duplicates_flagged_then_resolved(void **state)
{
	struct fx *fx = *state;
	struct ml_hash a, b;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Hoàng Văn Tư", "001085012345", &a));
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Hoàng Văn Tứ", "001085012345", &b));
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM members"), 2);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM duplicates WHERE id_number ="
	                                 " '001085012345'"),
	                 1);
	const struct ml_hash *lo = ml_hash_cmp(&a, &b) < 0 ? &a : &b;
	const struct ml_hash *hi = lo == &a ? &b : &a;
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_hash(&bb, "a", lo);
	ml_bb_hash(&bb, "b", hi);
	ml_bb_cstr(&bb, "decision", "distinct");
	struct ml_buf body = ML_BUF_INIT;
	OK(ml_bb_finish(&bb, &body));
	ml_bb_release(&bb);
	/* the officer may not decide; the district approver may */
	assert_int_equal(w_write(&fx->w, fx->officer, &fx->commune, ML_LANE_REG,
	                         "duplicate_resolve", &body, NULL),
	                 ML_EUNAUTH);
	OK(w_write(&fx->w, fx->approver, &fx->commune, ML_LANE_REG, "duplicate_resolve", &body,
	           NULL));
	ml_buf_release(&body);
	assert_int_equal(count_with(fx,
	                            "SELECT count(*) FROM duplicate_decisions WHERE a = %s AND b ="
	                            " %s AND decision = 'distinct'",
	                            lo, hi),
	                 1);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM members"), 2);
	/* an edit that removes the shared number removes the pair */
	OK(w_edit(&fx->w, fx->officer, &fx->commune, &b, "id_number", "001085012346", NULL));
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM duplicates"), 0);
	assert_rebuild_agrees(fx);
}

/*
 * Two approvers on two nodes, offline from each other, give one number to
 * two members: once the nodes exchange ops, the earlier-stamped approval
 * keeps the number, and both nodes record the same conflict.
 */
static void test_register_number_given_twice_is_a_recorded_conflict(void **state)
{
	struct fx *fx = *state;
	struct ml_key *approver2 = w_key(41);
	OK(w_grant(&fx->w, fx->admin, &fx->district, &approver2->pk, "approver"));
	struct ml_hash m1, m2;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Lâm Văn Sơn", "109814140", &m1));
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Lâm Thị Hà", "109814141", &m2));
	/* a second node with everything so far */
	struct ml_store *other;
	OK(w_open_node(&fx->w, "other", &other));
	const uint8_t *p;
	size_t len;
	size_t off = 0;
	struct ml_ingest_result res;
	struct ml_buf copy = ML_BUF_INIT;
	OK(ml_buf_add(&copy, fx->w.log.data, fx->w.log.len));
	while (off < copy.len) {
		OK(ml_oplog_next(copy.data, copy.len, &off, &p, &len, &fx->w.err));
		OK(ml_store_ingest(other, &p, &len, 1, fx->w.now, &res, &fx->w.err));
	}
	size_t shared = fx->w.log.len;
	char num[13];
	ml_number_format(1000007, num);
	OK(w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &m1, &m1, 1, num, NULL));
	struct ml_store *home = fx->w.s;
	fx->w.s = other; /* the second approver writes on the second node */
	OK(w_decide(&fx->w, approver2, &fx->commune, "member_approve", &m2, &m2, 1, num, NULL));
	fx->w.s = home;
	/* exchange: every op after the shared prefix, to both nodes */
	struct ml_store *nodes[2] = {home, other};
	for (int k = 0; k < 2; k++) {
		off = shared;
		while (off < fx->w.log.len) {
			OK(ml_oplog_next(fx->w.log.data, fx->w.log.len, &off, &p, &len,
			                 &fx->w.err));
			OK(ml_store_ingest(nodes[k], &p, &len, 1, fx->w.now, &res, &fx->w.err));
		}
	}
	struct ml_hash h1, h2;
	OK(ml_store_state_hash(home, &h1, &fx->w.err));
	OK(ml_store_state_hash(other, &h2, &fx->w.err));
	assert_memory_equal(h1.b, h2.b, 32);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM conflicts WHERE kind ="
	                                 " 'number_shared'"),
	                 1);
	/* the first approval was written first (earlier clock): m1 keeps the number */
	char got[16];
	OK(w_member_text(&fx->w, &m1, "number", got, sizeof got));
	assert_string_equal(got, num);
	ml_store_close(other);
	ml_buf_release(&copy);
	ml_key_free(approver2);
}

/* Appends the ops of log[from..to) to node, one batch each (as a peer's sync delivers them). */
static void replay(struct fx *fx, struct ml_store *node, size_t from, size_t to)
{
	size_t off = from, len;
	const uint8_t *p;
	struct ml_ingest_result res;
	while (off < to) {
		OK(ml_oplog_next(fx->w.log.data, to, &off, &p, &len, &fx->w.err));
		OK(ml_store_ingest(node, &p, &len, 1, fx->w.now, &res, &fx->w.err));
		assert_int_equal(res.applied, 1);
	}
}

/* Writes a transfer of member m to unit `to` by officer, submitted by them and approved. */
static void approved_transfer(struct fx *fx, const struct ml_key *officer,
                              const struct ml_key *approver, const struct ml_hash *m,
                              const struct ml_hash *to, struct ml_hash *tr)
{
	OK(member_op(fx, officer, &fx->commune, "member_transfer", m, "to", to, tr));
	OK(w_decide(&fx->w, officer, &fx->commune, "member_submit", m, tr, 1, NULL, NULL));
	OK(w_decide(&fx->w, approver, &fx->commune, "member_approve", m, tr, 1, NULL, NULL));
}

/*
 * Review risk 1: the units a device reads because a member passed through its unit are
 * those of the member's ops in the past of the ops written inside, whatever order a node
 * applied them in.  Two officers of commune A transfer the same member concurrently, one
 * to B and one to C, each approved by its own district approver, and each receiving
 * commune takes the member in.  B's receive never saw C's side, so no node may give B's
 * officer C's feeds - neither the node that applied C's side first nor the other.  (C's
 * transfer is the later one and stands: the member is managed by C, so C's officer reads
 * every unit the member's ops are in, B included, by the transferred-in rule.)
 */
static void test_register_scope_follows_the_causal_past_not_the_apply_order(void **state)
{
	struct fx *fx = *state;
	struct ml_key *officer2 = w_key(21), *approver2 = w_key(22), *officer_b = w_key(23),
	              *officer_c = w_key(24);
	struct ml_hash b, c, m, to_b, to_c;
	OK(w_unit(&fx->w, fx->admin, &fx->district, "CĐCS Trường THCS Gia Thụy", "base_union", &b));
	OK(w_unit(&fx->w, fx->admin, &fx->district, "CĐCS Trường THCS Ngọc Lâm", "base_union", &c));
	OK(w_grant(&fx->w, fx->admin, &fx->commune, &officer2->pk, "officer"));
	OK(w_grant(&fx->w, fx->admin, &fx->district, &approver2->pk, "approver"));
	OK(w_grant(&fx->w, fx->admin, &b, &officer_b->pk, "officer"));
	OK(w_grant(&fx->w, fx->admin, &c, &officer_c->pk, "officer"));
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Đinh Thị Thu Hà", "109814160", &m));
	OK(w_decide(&fx->w, fx->officer, &fx->commune, "member_submit", &m, &m, 1, NULL, NULL));
	char num[13];
	ml_number_format(1000030, num);
	OK(w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &m, &m, 1, num, NULL));
	/* a second node with everything so far; the two sides are written apart */
	struct ml_store *other, *x, *y;
	OK(w_open_node(&fx->w, "other", &other));
	size_t shared = fx->w.log.len;
	replay(fx, other, 0, shared);
	approved_transfer(fx, fx->officer, fx->approver, &m, &b, &to_b);
	OK(member_op(fx, officer_b, &b, "member_receive", &m, "transfer", &to_b, NULL));
	size_t mid = fx->w.log.len;
	struct ml_store *home = fx->w.s;
	fx->w.s = other;
	approved_transfer(fx, officer2, approver2, &m, &c, &to_c);
	OK(member_op(fx, officer_c, &c, "member_receive", &m, "transfer", &to_c, NULL));
	fx->w.s = home;
	/* x applies B's side first, y C's side first */
	OK(w_open_node(&fx->w, "x", &x));
	OK(w_open_node(&fx->w, "y", &y));
	replay(fx, x, 0, fx->w.log.len);
	replay(fx, y, 0, shared);
	replay(fx, y, mid, fx->w.log.len);
	replay(fx, y, shared, mid);
	struct ml_hash hx, hy;
	OK(ml_store_state_hash(x, &hx, &fx->w.err));
	OK(ml_store_state_hash(y, &hy, &fx->w.err));
	assert_memory_equal(hx.b, hy.b, 32);
	struct ml_store *nodes[2] = {x, y};
	for (int k = 0; k < 2; k++) {
		struct ml_scope_set *sc;
		OK(ml_scope_of_device(nodes[k], &officer_b->pk, &sc, &fx->w.err));
		/* its own unit, and the one the member came from: its receive names that past */
		assert_true(ml_scope_has(sc, &b, ML_LANE_REG));
		assert_true(ml_scope_has(sc, &fx->commune, ML_LANE_REG));
		if (ml_scope_has(sc, &c, ML_LANE_REG))
			fail_msg(
			    "node %c gives B's officer the feeds of C, which B's receive never "
			    "saw",
			    "xy"[k]);
		ml_scope_free(sc);
	}
	ml_store_close(x);
	ml_store_close(y);
	ml_store_close(other);
	ml_key_free(officer2);
	ml_key_free(approver2);
	ml_key_free(officer_b);
	ml_key_free(officer_c);
}

/*
 * Allocation failure at every point of an ingest and of a rebuild: each
 * failing attempt reports ML_ENOMEM and leaves the store exactly as it was
 * (nothing half-stored, no stale cache), and the attempt that succeeds gives
 * the same register as the node that wrote the ops.
 */
static void test_register_allocation_failures_roll_back_cleanly(void **state)
{
	struct fx *fx = *state;
	struct ml_hash m, e;
	OK(w_member(&fx->w, fx->officer, &fx->commune, "Trịnh Văn Quyết", "109814150", &m));
	OK(w_decide(&fx->w, fx->officer, &fx->commune, "member_submit", &m, &m, 1, NULL, NULL));
	char num[13];
	ml_number_format(1000020, num);
	OK(w_decide(&fx->w, fx->approver, &fx->commune, "member_approve", &m, &m, 1, num, NULL));
	OK(w_edit(&fx->w, fx->officer, &fx->commune, &m, "phone", "0987654321", &e));
	struct ml_hash want, empty, got;
	OK(ml_store_state_hash(fx->w.s, &want, &fx->w.err));

	struct ml_store *b;
	OK(w_open_node(&fx->w, "faulty", &b));
	OK(ml_store_state_hash(b, &empty, &fx->w.err));
	const uint8_t *ops[64];
	size_t lens[64], n = 0, off = 0;
	while (off < fx->w.log.len && n < 64) {
		OK(ml_oplog_next(fx->w.log.data, fx->w.log.len, &off, &ops[n], &lens[n],
		                 &fx->w.err));
		n++;
	}
	struct ml_ingest_result res;
	int rc = ML_ENOMEM;
	unsigned long fail_at = 1;
	for (; rc == ML_ENOMEM && fail_at < 100000; fail_at++) {
		ml_alloc_fail_at(fail_at);
		rc = ml_store_ingest(b, ops, lens, n, fx->w.now, &res, &fx->w.err);
		ml_alloc_fail_at(0);
		if (rc == ML_ENOMEM) {
			OK(ml_store_state_hash(b, &got, &fx->w.err));
			assert_memory_equal(got.b, empty.b, 32);
		}
	}
	if (rc != ML_OK)
		fail_msg("allocation %lu: %s: %s", fail_at - 1, ml_err_name(rc),
		         ml_buf_str(&fx->w.err));
	assert_true(fail_at > 10); /* the loop did fail at many points */
	assert_int_equal(res.applied, n);
	OK(ml_store_state_hash(b, &got, &fx->w.err));
	assert_memory_equal(got.b, want.b, 32);

	for (rc = ML_ENOMEM, fail_at = 1; rc == ML_ENOMEM && fail_at < 100000; fail_at++) {
		ml_alloc_fail_at(fail_at);
		rc = ml_store_rebuild(b, &fx->w.err);
		ml_alloc_fail_at(0);
		OK(ml_store_state_hash(b, &got, &fx->w.err));
		assert_memory_equal(got.b, want.b, 32);
	}
	assert_int_equal(rc, ML_OK);
	/* and the store still takes writes afterwards */
	struct ml_store *home = fx->w.s;
	fx->w.s = b;
	OK(w_edit(&fx->w, fx->officer, &fx->commune, &m, "hometown", "Hưng Yên", NULL));
	fx->w.s = home;
	ml_store_close(b);
}

int main(void)
{
	ml_crypto_init();
	ml_store_setup();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_register_member_from_draft_to_official, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_register_rebuild_gives_the_same_state_hash, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_register_a_write_orders_after_every_op_it_has_seen,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_invalid_ops_are_refused_before_storing,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_unit_move_changes_parent_and_authority,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_unit_merge_ends_the_unit, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_register_unit_split_and_dissolve, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_revocation_cuts_later_ops, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_register_duplicates_flagged_then_resolved, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_register_number_given_twice_is_a_recorded_conflict,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_register_a_member_is_found_again_without_the_op_index, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_ops_stay_findable_across_index_merges,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_checkpoints_run_beside_the_writer, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_register_store_of_schema_2_is_upgraded_by_a_rebuild, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_register_member_rid_finds_what_another_process_wrote, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_register_store_of_another_schema_is_refused_untouched, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_store_without_member_summaries_catches_up,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_summary_of_an_older_layout_is_refolded,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_new_ops_are_read_only_when_picked, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_register_stale_member_summary_is_not_trusted,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_register_scope_follows_the_causal_past_not_the_apply_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_allocation_failures_roll_back_cleanly,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_register_checkpoint_thread_syncs_a_round_short_of_the_end, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_sqlite_keeps_no_memory_statistics, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
