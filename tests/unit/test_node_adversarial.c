/*
 * test_node_adversarial.c - what a hostile or broken peer can send, ingested
 * into a real store: forged signatures, another network, oversize and garbage
 * bytes, clocks from the future, unknown op types, ops naming what does not
 * exist, and long chains delivered backwards.  Each is refused or kept as
 * rejected evidence, or waits within the bound; the node's register never
 * changes because of it and the node keeps working.
 */
#include "test.h"

#include "crdt/alloc.h"
#include "crdt/body.h"
#include "crdt/err.h"
#include "crdt/feed.h"
#include "tests/common/world.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx {
	struct world w;
	struct ml_key *admin, *officer;
	struct ml_hash commune;
	struct ml_hash hash0; /* the state hash after setup */
};

#define OK(expr) TEST_OK(&fx->w.err, expr)

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	*state = fx;
	OK(w_open(&fx->w));
	fx->admin = w_key(1);
	fx->officer = w_key(2);
	OK(w_genesis(&fx->w, fx->admin, "Tổng Liên đoàn Lao động Việt Nam", ML_ORG_TRADE_UNION));
	OK(w_unit(&fx->w, fx->admin, &fx->w.net, "CĐCS Công ty May Đáp Cầu", "base_union",
	          &fx->commune));
	OK(w_grant(&fx->w, fx->admin, &fx->commune, &fx->officer->pk, "officer"));
	OK(ml_store_state_hash(fx->w.s, &fx->hash0, &fx->w.err));
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	w_close(&fx->w);
	ml_key_free(fx->admin);
	ml_key_free(fx->officer);
	free(fx);
	return 0;
}

static void member_body(struct ml_buf *out, unsigned i)
{
	char name[64], idnum[16];
	snprintf(name, sizeof name, "Nguyễn Thị Lan %u", i);
	snprintf(idnum, sizeof idnum, "0271%08u", i);
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "full_name", name);
	ml_bb_cstr(&bb, "id_number", idnum);
	ml_bb_cstr(&bb, "union_join_date", "01/03/2019");
	ml_buf_reset(out);
	ml_bb_finish(&bb, out);
	ml_bb_release(&bb);
}

/* A valid member_create by the officer, as a peer would send it. */
static void valid_op(struct fx *fx, unsigned i, struct ml_buf *out)
{
	struct ml_buf body = ML_BUF_INIT;
	member_body(&body, i);
	OK(w_forge(&fx->w, fx->officer, &fx->commune, ML_LANE_REG, "member_create", &body, out));
	ml_buf_release(&body);
}

static struct ml_ingest_result ingest1(struct fx *fx, const uint8_t *p, size_t n, int want_rc)
{
	struct ml_ingest_result res;
	int rc = ml_store_ingest(fx->w.s, &p, &n, 1, fx->w.now, &res, &fx->w.err);
	if (rc != want_rc)
		fail_msg("ingest: %s (%s), expected %s", ml_err_name(rc), ml_buf_str(&fx->w.err),
		         ml_err_name(want_rc));
	return res;
}

/* The register and every verdict are exactly as setup left them. */
static void assert_register_unchanged(struct fx *fx)
{
	struct ml_hash h;
	OK(ml_store_state_hash(fx->w.s, &h, &fx->w.err));
	assert_memory_equal(h.b, fx->hash0.b, 32);
}

static void test_adversarial_forged_signature_and_tampered_body(void **state)
{
	struct fx *fx = *state;
	struct ml_buf op = ML_BUF_INIT;
	valid_op(fx, 1, &op);
	long ops = w_count(&fx->w, "SELECT count(*) FROM ops");
	/* the signature's last byte */
	op.data[op.len - 1] ^= 0x01;
	struct ml_ingest_result r = ingest1(fx, op.data, op.len, ML_OK);
	assert_int_equal(r.applied, 0);
	assert_int_equal(r.first_error, ML_EBADSIG);
	op.data[op.len - 1] ^= 0x01;
	/* a byte of the name, inside the signed bytes */
	uint8_t *at = memmem(op.data, op.len, "Lan 1", 5);
	assert_non_null(at);
	at[4] = '7';
	r = ingest1(fx, op.data, op.len, ML_OK);
	assert_int_equal(r.applied, 0);
	assert_int_equal(r.first_error, ML_EBADSIG);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM ops"), ops);
	assert_register_unchanged(fx);
	/* the genuine op is still accepted afterwards */
	at[4] = '1';
	r = ingest1(fx, op.data, op.len, ML_OK);
	assert_int_equal(r.applied, 1);
	ml_buf_release(&op);
}

static struct ml_ingest_result ingest_batch(struct fx *fx, struct ml_batch *b, int want_rc)
{
	struct ml_ingest_result res;
	int rc = ml_store_ingest_batch(fx->w.s, b, fx->w.now, NULL, &res, &fx->w.err);
	if (rc != want_rc)
		fail_msg("ingest: %s (%s), expected %s", ml_err_name(rc), ml_buf_str(&fx->w.err),
		         ml_err_name(want_rc));
	return res;
}

/* Batches whose signatures are checked on other threads, ahead of their turn, keep every
 * verdict: a forged op among them is refused exactly as in a plain ingest. */
static void test_adversarial_batches_checked_ahead_keep_every_verdict(void **state)
{
	struct fx *fx = *state;
	struct ml_key *clerk = w_key(3);
	OK(w_grant(&fx->w, fx->admin, &fx->commune, &clerk->pk, "officer"));
	struct ml_buf a = ML_BUF_INIT, b = ML_BUF_INIT, forged = ML_BUF_INIT, body = ML_BUF_INIT;
	valid_op(fx, 1, &a);
	member_body(&body, 2);
	OK(w_forge(&fx->w, clerk, &fx->commune, ML_LANE_REG, "member_create", &body, &b));
	OK(ml_buf_add(&forged, b.data, b.len));
	forged.data[forged.len - 1] ^= 0x01;
	const uint8_t *ops[] = {a.data, forged.data, b.data};
	const size_t lens[] = {a.len, forged.len, b.len};
	struct ml_batch *batch[3];
	for (int i = 0; i < 3; i++) {
		OK(ml_batch_new(fx->w.s, &ops[i], &lens[i], 1, &batch[i]));
		ml_batch_check_start(batch[i]);
	}
	long before = w_count(&fx->w, "SELECT count(*) FROM ops");
	struct ml_ingest_result r = ingest_batch(fx, batch[0], ML_OK);
	assert_int_equal(r.applied, 1);
	r = ingest_batch(fx, batch[1], ML_OK);
	assert_int_equal(r.applied, 0);
	assert_int_equal(r.refused, 1);
	assert_int_equal(r.first_error, ML_EBADSIG);
	/* a batch goes in once */
	ingest_batch(fx, batch[1], ML_EINVAL);
	assert_non_null(strstr(ml_buf_str(&fx->w.err), "already ingested"));
	r = ingest_batch(fx, batch[2], ML_OK);
	assert_int_equal(r.applied, 1);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM ops"), before + 2);
	/* never checked: ingest checks it; checking when freed: free waits for the check */
	struct ml_batch *unchecked, *dropped;
	OK(ml_batch_new(fx->w.s, &ops[0], &lens[0], 1, &unchecked));
	r = ingest_batch(fx, unchecked, ML_OK);
	assert_int_equal(r.duplicate, 1);
	OK(ml_batch_new(fx->w.s, &ops[1], &lens[1], 1, &dropped));
	ml_batch_check_start(dropped);
	ml_batch_free(dropped);
	ml_batch_free(unchecked);
	for (int i = 0; i < 3; i++)
		ml_batch_free(batch[i]);
	ml_key_free(clerk);
	ml_buf_release(&a);
	ml_buf_release(&b);
	ml_buf_release(&forged);
	ml_buf_release(&body);
}

static void test_adversarial_other_network_future_clock_and_bad_bytes(void **state)
{
	struct fx *fx = *state;
	struct ml_buf body = ML_BUF_INIT, op = ML_BUF_INIT;
	member_body(&body, 2);
	/* another network: signed properly, but not ours */
	char path[256];
	snprintf(path, sizeof path, "%s/node.db", fx->w.dir);
	struct ml_hash other = fx->w.net;
	other.b[0] ^= 0xff;
	OK(w_forge_at(path, &other, fx->officer, &fx->commune, ML_LANE_REG, "member_create",
	              body.data, body.len, fx->w.now, &op));
	struct ml_ingest_result r = ingest1(fx, op.data, op.len, ML_OK);
	assert_int_equal(r.refused, 1);
	assert_int_equal(r.first_error, ML_EWRONGNET);
	/* a clock a day ahead of ours */
	ml_buf_reset(&op);
	OK(w_forge_at(path, &fx->w.net, fx->officer, &fx->commune, ML_LANE_REG, "member_create",
	              body.data, body.len, fx->w.now + 86400000ULL, &op));
	r = ingest1(fx, op.data, op.len, ML_OK);
	assert_int_equal(r.refused, 1);
	assert_int_equal(r.first_error, ML_EFUTURE);
	/* more than 64 KiB, garbage, truncated, trailing bytes */
	size_t big = 70000;
	uint8_t *junk = calloc(1, big);
	junk[0] = 0xa1;
	r = ingest1(fx, junk, big, ML_OK);
	assert_int_equal(r.first_error, ML_ETOOBIG);
	for (size_t i = 0; i < 512; i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	r = ingest1(fx, junk, 512, ML_OK);
	assert_int_equal(r.refused, 1);
	ml_buf_reset(&op);
	valid_op(fx, 3, &op);
	r = ingest1(fx, op.data, op.len - 10, ML_OK);
	assert_int_equal(r.first_error, ML_ETRUNCATED);
	memcpy(junk, op.data, op.len);
	junk[op.len] = 0;
	r = ingest1(fx, junk, op.len + 1, ML_OK);
	assert_int_equal(r.first_error, ML_ETRAILING);
	free(junk);
	assert_register_unchanged(fx);
	ml_buf_release(&body);
	ml_buf_release(&op);
}

/* Forges the body bb (released) as the officer's op of `type` and ingests it. */
static struct ml_ingest_result forge_and_ingest(struct fx *fx, const char *type,
                                                struct ml_body_builder *bb)
{
	struct ml_buf body = ML_BUF_INIT, op = ML_BUF_INIT;
	OK(ml_bb_finish(bb, &body));
	ml_bb_release(bb);
	OK(w_forge(&fx->w, fx->officer, &fx->commune, ML_LANE_REG, type, &body, &op));
	struct ml_ingest_result r = ingest1(fx, op.data, op.len, ML_OK);
	ml_buf_release(&body);
	ml_buf_release(&op);
	return r;
}

/* Signed and authentic, but wrong inside: kept with the reason, no effect. */
static void test_adversarial_bad_bodies_are_kept_as_rejected_evidence(void **state)
{
	struct fx *fx = *state;
	struct ml_body_builder bb;
	/* an op type nobody knows */
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "full_name", "Nguyễn Thị Lan");
	struct ml_ingest_result r = forge_and_ingest(fx, "member_teleport", &bb);
	assert_int_equal(r.rejected, 1);
	assert_int_equal(r.first_error, ML_EFIELD);
	/* a name longer than the field allows */
	char name[400];
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = 0;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "full_name", name);
	ml_bb_cstr(&bb, "id_number", "027100000005");
	ml_bb_cstr(&bb, "union_join_date", "01/03/2019");
	r = forge_and_ingest(fx, "member_create", &bb);
	assert_int_equal(r.rejected, 1);
	assert_non_null(strstr(r.first_message, "full_name"));
	/* an update naming a member that does not exist (a unit's id) */
	ml_bb_init(&bb);
	ml_bb_hash(&bb, "member", &fx->commune);
	ml_bb_cstr(&bb, "phone", "0912345678");
	r = forge_and_ingest(fx, "member_update", &bb);
	assert_int_equal(r.rejected, 1);
	/* kept as evidence (their verdicts are part of the state), without effect */
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM ops WHERE status = 3"), 3);
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM members"), 0);
}

/* A youth union network in y: genesis, a ward, its officer's grant and one member (a name with
 * diacritics, so the schema check composes it).  Its ops in the order y judged them go to
 * ops[0..4) (malloc'd, the caller frees), its state hash to *want. */
static void youth_network(struct fx *fx, struct world *y, uint8_t *ops[4], size_t lens[4],
                          struct ml_hash *want)
{
	memset(y, 0, sizeof *y);
	OK(w_open(y));
	struct ml_hash ward, member;
	TEST_OK(&y->err,
	        w_genesis(y, fx->admin, "Trung ương Đoàn TNCS Hồ Chí Minh", ML_ORG_YOUTH_UNION));
	TEST_OK(&y->err,
	        w_unit(y, fx->admin, &y->net, "Chi đoàn phường Đống Đa", "base_union", &ward));
	TEST_OK(&y->err, w_grant(y, fx->admin, &ward, &fx->officer->pk, "officer"));
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "full_name", "Đặng Văn Đức");
	ml_bb_cstr(&bb, "id_number", "001203004005");
	ml_bb_cstr(&bb, "youth_join_date", "26/03/2018");
	struct ml_buf body = ML_BUF_INIT;
	ml_bb_finish(&bb, &body);
	ml_bb_release(&bb);
	TEST_OK(&y->err,
	        w_write(y, fx->officer, &ward, ML_LANE_REG, "member_create", &body, &member));
	ml_buf_release(&body);
	TEST_OK(&y->err, ml_store_state_hash(y->s, want, &y->err));

	char path[256];
	snprintf(path, sizeof path, "%s/node.db", y->dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT raw FROM ops ORDER BY eval", -1, &st, NULL),
	                 SQLITE_OK);
	size_t n = 0;
	while (n < 4 && sqlite3_step(st) == SQLITE_ROW) {
		lens[n] = (size_t)sqlite3_column_bytes(st, 0);
		ops[n] = malloc(lens[n]);
		memcpy(ops[n], sqlite3_column_blob(st, 0), lens[n]);
		n++;
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(n, 4);
}

/*
 * A batch is checked against the schema of its store's network on the thread that checks
 * its signatures.  Made for an empty store (which takes trade union rules until a genesis
 * says otherwise), a batch holding a youth union's genesis and a youth member is checked
 * ahead for the wrong organisation: the judge must check the member again under the
 * genesis it has just applied, or the member would be rejected.
 */
static void test_adversarial_schema_checked_ahead_for_another_org_is_checked_again(void **state)
{
	struct fx *fx = *state;
	struct world y;
	uint8_t *ops[4];
	size_t lens[4];
	struct ml_hash want;
	youth_network(fx, &y, ops, lens, &want);

	struct ml_store *fresh;
	OK(w_open_node(&fx->w, "fresh", &fresh));
	struct ml_batch *b;
	OK(ml_batch_new(fresh, (const uint8_t *const *)ops, lens, 4, &b));
	ml_batch_check(b); /* ahead, while the store still takes trade union rules */
	struct ml_ingest_result r;
	OK(ml_store_ingest_batch(fresh, b, y.now, NULL, &r, &fx->w.err));
	assert_int_equal(r.applied, 4);
	assert_int_equal(r.rejected, 0);
	struct ml_hash got;
	OK(ml_store_state_hash(fresh, &got, &fx->w.err));
	assert_memory_equal(got.b, want.b, 32);
	ml_batch_free(b);
	ml_store_close(fresh);
	for (size_t i = 0; i < 4; i++)
		free(ops[i]);
	w_close(&y);
}

/*
 * Running out of memory is never a verdict: every other node judges the op on its bytes alone.
 * The judge checks the youth member's body itself (the batch was checked ahead for the trade
 * union rules of an empty store), and that check composes the name, which allocates.  Each
 * allocation of the ingest fails once in turn: the batch then either fails whole, leaving the
 * store as it was, or applies every op; no op is ever rejected.
 */
static void test_adversarial_out_of_memory_in_the_judge_rejects_nothing(void **state)
{
	struct fx *fx = *state;
	struct world y;
	uint8_t *ops[4];
	size_t lens[4];
	struct ml_hash want, empty, got;
	youth_network(fx, &y, ops, lens, &want);
	struct ml_store *fresh;
	OK(w_open_node(&fx->w, "fresh", &fresh));
	OK(ml_store_state_hash(fresh, &empty, &fx->w.err));
	int rc = ML_ENOMEM;
	unsigned long fail_at = 1, failed = 0, made = 0, stores = 1;
	/* Until a run made fewer allocations than fail_at: a run that succeeds with a failed
	 * allocation tolerated it, and the allocations after that one are tried on a new store. */
	for (; fail_at < 100000; fail_at++) {
		struct ml_batch *b;
		OK(ml_batch_new(fresh, (const uint8_t *const *)ops, lens, 4, &b));
		ml_batch_check(b);
		struct ml_ingest_result r;
		ml_alloc_fail_only(fail_at);
		rc = ml_store_ingest_batch(fresh, b, y.now, NULL, &r, &fx->w.err);
		made = ml_alloc_count();
		ml_alloc_fail_only(0);
		ml_batch_free(b);
		if (rc == ML_OK) {
			if (r.rejected)
				fail_msg("allocation %lu failed and an op was rejected: %s",
				         fail_at, r.first_message);
			assert_int_equal(r.applied, 4);
			OK(ml_store_state_hash(fresh, &got, &fx->w.err));
			assert_memory_equal(got.b, want.b, 32);
			if (fail_at > made)
				break;
			char name[32];
			snprintf(name, sizeof name, "fresh%lu", ++stores);
			ml_store_close(fresh);
			OK(w_open_node(&fx->w, name, &fresh));
		} else {
			assert_int_equal(rc, ML_ENOMEM);
			OK(ml_store_state_hash(fresh, &got, &fx->w.err));
			assert_memory_equal(got.b, empty.b, 32);
			failed++;
		}
	}
	assert_int_equal(rc, ML_OK);
	assert_true(fail_at > made);
	assert_true(failed > 10); /* the loop did fail at many points */
	print_message("%lu allocations, %lu failed the ingest, %lu stores\n", made, failed, stores);
	ml_store_close(fresh);
	for (size_t i = 0; i < 4; i++)
		free(ops[i]);
	w_close(&y);
}

/* Appends the officer's member_create number i, with deps, as the next op of head's feed. */
static void chain_op(struct fx *fx, struct ml_feed_head *head, struct ml_hlc *clock, unsigned i,
                     const struct ml_hash *deps, size_t ndeps, struct ml_buf *out)
{
	struct ml_buf body = ML_BUF_INIT;
	member_body(&body, i);
	struct ml_op op;
	memset(&op, 0, sizeof op);
	op.has_net = true;
	op.net = fx->w.net;
	snprintf(op.type, sizeof op.type, "member_create");
	op.body = body.data;
	op.body_len = body.len;
	op.deps = ndeps ? deps[0].b : NULL;
	op.ndeps = ndeps;
	OK(ml_feed_write_batch(head, fx->officer, clock, fx->w.now + i, &op, 1, out, NULL,
	                       &fx->w.err));
	ml_buf_release(&body);
}

/*
 * The waiting buffer holds within its bound and cannot be jammed.  First 149
 * unsigned ops of a stranger's feed (anyone can make such ops: their signature
 * never comes) fill it past the bound; then an honest chain of single-op
 * signed batches arrives newest first, each waiting for its predecessor.
 * Every batch is taken: the buffer stays within its bound by dropping
 * candidates, the unsigned ones first.  Delivered again from the old end, as
 * reconciliation does once the heads are compared, the chain applies whole.
 */
static void test_adversarial_the_waiting_buffer_cannot_be_jammed(void **state)
{
	struct fx *fx = *state;
	enum { CHAIN = 300, BOUND = 100, JUNK = 150 };
	ml_store_set_max_waiting(fx->w.s, BOUND);
	/* the chain, written as the officer's device would, none ingested yet */
	struct ml_buf ops[CHAIN];
	struct ml_feed_head head = {
	    .feed = {.author = fx->officer->pk, .unit = fx->commune, .lane = ML_LANE_REG}};
	struct ml_hlc clock = {0, 0};
	struct ml_buf body = ML_BUF_INIT;
	struct ml_hash deps[8];
	size_t ndeps;
	{
		/* the first op names the grant's feed head, as the author would */
		char path[256];
		snprintf(path, sizeof path, "%s/node.db", fx->w.dir);
		member_body(&body, 1000);
		struct ml_buf first = ML_BUF_INIT;
		OK(w_forge_at(path, &fx->w.net, fx->officer, &fx->commune, ML_LANE_REG,
		              "member_create", body.data, body.len, fx->w.now, &first));
		struct ml_op op;
		OK(ml_op_parse(first.data, first.len, &op, &fx->w.err));
		assert_true(op.ndeps >= 1 && op.ndeps <= 8);
		ndeps = op.ndeps;
		memcpy(deps[0].b, op.deps, 32 * ndeps);
		ml_buf_release(&first);
	}
	for (unsigned i = 0; i < CHAIN; i++) {
		ops[i] = (struct ml_buf)ML_BUF_INIT;
		chain_op(fx, &head, &clock, 1000 + i, deps, i == 0 ? ndeps : 0, &ops[i]);
	}
	/* the junk: one batch of a stranger's, its signed last op withheld */
	struct ml_key *stranger = w_key(9);
	struct ml_feed_head jhead = {
	    .feed = {.author = stranger->pk, .unit = fx->commune, .lane = ML_LANE_REG}};
	struct ml_hlc jclock = {0, 0};
	struct ml_op jops[JUNK];
	struct ml_buf jbodies[JUNK], jenc = ML_BUF_INIT;
	size_t ends[JUNK];
	const uint8_t *jp[JUNK];
	size_t jlen[JUNK];
	memset(jops, 0, sizeof jops);
	for (unsigned i = 0; i < JUNK; i++) {
		jbodies[i] = (struct ml_buf)ML_BUF_INIT;
		member_body(&jbodies[i], 5000 + i);
		jops[i].has_net = true;
		jops[i].net = fx->w.net;
		snprintf(jops[i].type, sizeof jops[i].type, "member_create");
		jops[i].body = jbodies[i].data;
		jops[i].body_len = jbodies[i].len;
	}
	OK(ml_feed_write_batch(&jhead, stranger, &jclock, fx->w.now, jops, JUNK, &jenc, ends,
	                       &fx->w.err));
	for (unsigned i = 0; i < JUNK; i++) {
		jp[i] = jenc.data + (i ? ends[i - 1] : 0);
		jlen[i] = ends[i] - (i ? ends[i - 1] : 0);
	}
	fx->w.now += CHAIN;
	struct ml_ingest_result r;
	OK(ml_store_ingest(fx->w.s, jp, jlen, JUNK - 1, fx->w.now, &r, &fx->w.err));
	assert_true(r.waiting <= BOUND);
	assert_int_equal(r.evicted, JUNK - 1 - (BOUND - BOUND / 10));
	size_t evicted = r.evicted;
	for (unsigned i = CHAIN; i-- > 0;) {
		const uint8_t *p = ops[i].data;
		size_t n = ops[i].len;
		OK(ml_store_ingest(fx->w.s, &p, &n, 1, fx->w.now, &r, &fx->w.err));
		assert_true(r.waiting <= BOUND);
		evicted += r.evicted;
	}
	assert_true(evicted >= CHAIN + JUNK - 1 - BOUND);
	/* the unsigned junk went first: what still waits is the honest chain's */
	assert_int_equal(w_count(&fx->w, "SELECT count(*) FROM pending WHERE signed = 0"), 0);
	/* the chain's first op came last: it released the candidates kept, the ones nearest to
	 * it (the oldest delivered, its far end, were dropped first) */
	struct ml_store_counts c;
	OK(ml_store_counts(fx->w.s, &c, &fx->w.err));
	assert_true(c.members > 1 && c.members < CHAIN);
	/* now from the old end, as the next round sends them: everything applies in order */
	for (unsigned i = 0; i < CHAIN; i++) {
		const uint8_t *p = ops[i].data;
		size_t n = ops[i].len;
		OK(ml_store_ingest(fx->w.s, &p, &n, 1, fx->w.now, &r, &fx->w.err));
	}
	OK(ml_store_counts(fx->w.s, &c, &fx->w.err));
	assert_int_equal(c.members, CHAIN);
	assert_int_equal(c.waiting + c.unverified, 0);
	for (unsigned i = 0; i < CHAIN; i++)
		ml_buf_release(&ops[i]);
	for (unsigned i = 0; i < JUNK; i++)
		ml_buf_release(&jbodies[i]);
	ml_buf_release(&jenc);
	ml_buf_release(&body);
	ml_key_free(stranger);
}

/* An op whose dep never arrives waits (counted, bounded) and has no effect. */
static void test_adversarial_missing_dep_waits_without_effect(void **state)
{
	struct fx *fx = *state;
	struct ml_buf raw = ML_BUF_INIT;
	struct ml_hash ghost;
	memset(ghost.b, 0x5a, 32);
	struct ml_feed_head head = {
	    .feed = {.author = fx->officer->pk, .unit = fx->commune, .lane = ML_LANE_REG}};
	struct ml_hlc clock = {0, 0};
	chain_op(fx, &head, &clock, 9, &ghost, 1, &raw);
	struct ml_ingest_result r = ingest1(fx, raw.data, raw.len, ML_OK);
	assert_int_equal(r.applied + r.rejected, 0);
	assert_int_equal(r.waiting, 1);
	assert_register_unchanged(fx);
	/* delivered again: still one waiting op, not two */
	r = ingest1(fx, raw.data, raw.len, ML_OK);
	assert_int_equal(r.waiting, 1);
	ml_buf_release(&raw);
}

int main(void)
{
	ml_crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_adversarial_forged_signature_and_tampered_body,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_adversarial_batches_checked_ahead_keep_every_verdict, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_adversarial_other_network_future_clock_and_bad_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_adversarial_bad_bodies_are_kept_as_rejected_evidence, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_adversarial_schema_checked_ahead_for_another_org_is_checked_again, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_adversarial_out_of_memory_in_the_judge_rejects_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_adversarial_the_waiting_buffer_cannot_be_jammed,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_adversarial_missing_dep_waits_without_effect,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
