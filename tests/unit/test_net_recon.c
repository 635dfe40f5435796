/*
 * test_net_recon.c - range-based set reconciliation (net/recon.h): every
 * difference reported on both sides exactly once, the costs docs/RECON.md
 * states, deferral of oversized replies, and rejection of malformed messages.
 *
 * With ML_RECON_CORPUS=dir in the environment, test_recon_fuzz_sets also
 * writes the seed corpus of tests/fuzz/fuzz_recon.c into dir.
 */
#include "test.h"

#include "crdt/alloc.h"
#include "crdt/err.h"
#include "net/recon.h"
#include "tests/common/recon_sets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- sets with known differences ------------------------------------------ */

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rnd_key(uint64_t *s, uint8_t key[32])
{
	for (int i = 0; i < 4; i++) {
		uint64_t v = rnd(s);
		memcpy(key + 8 * i, &v, 8);
	}
}

/* Seqs of every size, so that varints of 1 to 10 bytes travel. */
static uint64_t rnd_seq(uint64_t *s)
{
	uint64_t v = rnd(s);
	return 1 + ((v >> 8) >> (v % 64)) % (UINT64_MAX / 2);
}

static int key_cmp(const void *x, const void *y)
{
	return memcmp(x, y, 32);
}

struct diffrec {
	uint8_t key[32];
	uint64_t mine, theirs;
};

struct diffs {
	struct diffrec *v;
	size_t n, cap;
};

static void diffs_add(struct diffs *d, const uint8_t key[32], uint64_t mine, uint64_t theirs)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 64;
		d->v = realloc(d->v, d->cap * sizeof *d->v);
		assert_non_null(d->v);
	}
	memcpy(d->v[d->n].key, key, 32);
	d->v[d->n].mine = mine;
	d->v[d->n].theirs = theirs;
	d->n++;
}

/* The diff callback: collects into a struct diffs (plain realloc: untouched by fault injection). */
static void record(void *ctx, const uint8_t key[32], uint64_t mine, uint64_t theirs)
{
	diffs_add(ctx, key, mine, theirs);
}

enum {
	K_B_LACKS = 1 << 0, /* an item of A missing in B */
	K_A_LACKS = 1 << 1, /* an item of B missing in A */
	K_SEQ = 1 << 2,     /* both hold the key, with different seqs */
	K_ALL = 7,
};

/* Set a of n items, and b: a with d differences of the kinds asked; want: A's view of them. */
struct scen {
	struct ml_recon_item *a, *b;
	size_t na, nb;
	struct diffs want;
};

static void scen_build(struct scen *sc, uint64_t seed, size_t n, size_t d, unsigned kinds)
{
	uint64_t s = seed;
	memset(sc, 0, sizeof *sc);
	sc->a = calloc(n + 1, sizeof *sc->a);
	sc->b = calloc(n + d + 1, sizeof *sc->b);
	size_t *perm = calloc(n + 1, sizeof *perm), used = 0;
	assert_true(sc->a && sc->b && perm);
	for (size_t i = 0; i < n; i++) {
		rnd_key(&s, sc->a[i].key);
		sc->a[i].seq = rnd_seq(&s);
	}
	qsort(sc->a, n, sizeof *sc->a, key_cmp);
	sc->na = n;
	memcpy(sc->b, sc->a, n * sizeof *sc->a);
	sc->nb = n;
	/* The items to change, in a random order. */
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t t = rnd(&s) % i, x = perm[i - 1];
		perm[i - 1] = perm[t];
		perm[t] = x;
	}
	for (size_t k = 0; k < d; k++) {
		unsigned kind;
		do
			kind = 1u << (rnd(&s) % 3);
		while (!(kind & kinds));
		if (kind != K_A_LACKS && used == n)
			kind = K_A_LACKS;
		if (kind == K_A_LACKS) {
			struct ml_recon_item *it = &sc->b[sc->nb++];
			rnd_key(&s, it->key);
			it->seq = rnd_seq(&s);
			diffs_add(&sc->want, it->key, 0, it->seq);
			continue;
		}
		size_t t = perm[used++];
		if (kind == K_B_LACKS) {
			sc->b[t].seq = 0; /* dropped below */
			diffs_add(&sc->want, sc->a[t].key, sc->a[t].seq, 0);
		} else {
			sc->b[t].seq = sc->a[t].seq + 1 + rnd(&s) % 1000;
			diffs_add(&sc->want, sc->a[t].key, sc->a[t].seq, sc->b[t].seq);
		}
	}
	size_t m = 0;
	for (size_t i = 0; i < sc->nb; i++) {
		if (sc->b[i].seq)
			sc->b[m++] = sc->b[i];
	}
	sc->nb = m;
	qsort(sc->b, sc->nb, sizeof *sc->b, key_cmp);
	if (sc->want.n)
		qsort(sc->want.v, sc->want.n, sizeof *sc->want.v, key_cmp);
	free(perm);
}

static void scen_free(struct scen *sc)
{
	free(sc->a);
	free(sc->b);
	free(sc->want.v);
}

/* Fails unless got holds exactly want (A's view), from A's side or, with swap, from B's. */
static void check_got(struct diffs *got, const struct diffs *want, bool swap)
{
	if (got->n)
		qsort(got->v, got->n, sizeof *got->v, key_cmp);
	assert_int_equal(got->n, want->n);
	for (size_t i = 0; i < got->n; i++) {
		assert_memory_equal(got->v[i].key, want->v[i].key, 32);
		assert_true(got->v[i].mine == (swap ? want->v[i].theirs : want->v[i].mine));
		assert_true(got->v[i].theirs == (swap ? want->v[i].mine : want->v[i].theirs));
	}
}

/* --- exchanges -------------------------------------------------------------- */

struct run {
	size_t msgs;     /* non-empty messages, both ways */
	size_t bytes;    /* their bytes */
	size_t max_msg;  /* the longest */
	size_t deferred; /* messages ending in DEFER */
};

/* Counts message m; fails if it breaks the size limit. */
static void count_msg(struct run *st, const struct ml_buf *m)
{
	assert_true(m->len > 0 && m->len <= ML_RECON_MSG_MAX);
	st->msgs++;
	st->bytes += m->len;
	if (m->len > st->max_msg)
		st->max_msg = m->len;
	if (m->len >= 2 && m->data[m->len - 2] == 4 && m->data[m->len - 1] == 0xff)
		st->deferred++;
}

/*
 * Runs the exchange with x initiating, until a reply is empty; delivers
 * that empty reply too, and checks both sides end done.
 */
static void exchange(struct ml_recon *x, struct ml_recon *y, struct diffs *gx, struct diffs *gy,
                     struct run *st)
{
	struct ml_recon *side[2] = {x, y};
	struct diffs *got[2] = {gx, gy};
	struct ml_buf msg = ML_BUF_INIT, reply = ML_BUF_INIT, err = ML_BUF_INIT;
	TEST_OK(&err, ml_recon_initiate(x, &msg));
	assert_false(ml_recon_done(x));
	int to = 1;
	for (;;) {
		count_msg(st, &msg);
		assert_true(st->msgs < 100000);
		ml_buf_reset(&reply);
		TEST_OK(&err,
		        ml_recon_step(side[to], msg.data, msg.len, &reply, record, got[to], &err));
		if (reply.len == 0) {
			assert_true(ml_recon_done(side[to]));
			ml_buf_reset(&msg);
			TEST_OK(&err,
			        ml_recon_step(side[!to], NULL, 0, &msg, record, got[!to], &err));
			assert_int_equal(msg.len, 0);
			assert_true(ml_recon_done(side[!to]));
			break;
		}
		assert_false(ml_recon_done(side[to]));
		struct ml_buf t = msg;
		msg = reply;
		reply = t;
		to = !to;
	}
	ml_buf_release(&msg);
	ml_buf_release(&reply);
	ml_buf_release(&err);
}

/* Builds a scenario, reconciles it (B initiating when asked), checks both sides' reports. */
static struct run run_scen(uint64_t seed, size_t n, size_t d, unsigned kinds, bool b_initiates)
{
	struct scen sc;
	struct run st = {0};
	struct ml_recon *ra, *rb;
	struct diffs ga = {0}, gb = {0};
	scen_build(&sc, seed, n, d, kinds);
	assert_int_equal(ml_recon_new(sc.a, sc.na, &ra), ML_OK);
	assert_int_equal(ml_recon_new(sc.b, sc.nb, &rb), ML_OK);
	if (b_initiates)
		exchange(rb, ra, &gb, &ga, &st);
	else
		exchange(ra, rb, &ga, &gb, &st);
	check_got(&ga, &sc.want, false);
	check_got(&gb, &sc.want, true);
	ml_recon_free(ra);
	ml_recon_free(rb);
	free(ga.v);
	free(gb.v);
	scen_free(&sc);
	return st;
}

static size_t round_trips(const struct run *st)
{
	return (st->msgs + 1) / 2;
}

/* --- behaviour -------------------------------------------------------------- */

static void test_recon_equal_sets_end_after_one_round_trip(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 16, 17, 1000, 100000};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		struct run st = run_scen(100 + i, sizes[i], 0, K_ALL, false);
		/* The initiator's message, then the responder's empty reply. */
		assert_int_equal(st.msgs, 1);
		printf("# equal sets of %zu: %zu message, %zu bytes\n", sizes[i], st.msgs,
		       st.bytes);
	}
}

static void test_recon_reports_every_difference_on_both_sides_once(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 16, 17, 100000};
	static const size_t ds[] = {1, 10, 1000};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		for (size_t k = 0; k < sizeof ds / sizeof *ds; k++) {
			uint64_t seed = 1000 + 10 * i + k;
			struct run st = run_scen(seed, sizes[i], ds[k], K_ALL, seed % 2);
			printf("# n=%zu d=%zu: %zu messages (%zu round trips), %zu bytes, longest "
			       "%zu, %zu deferring\n",
			       sizes[i], ds[k], st.msgs, round_trips(&st), st.bytes, st.max_msg,
			       st.deferred);
		}
	}
}

static void test_recon_one_difference_in_100000_costs_3_round_trips(void **state)
{
	(void)state;
	static const unsigned kinds[] = {K_B_LACKS, K_A_LACKS, K_SEQ};
	for (size_t k = 0; k < 3; k++) {
		for (uint64_t seed = 0; seed < 4; seed++) {
			struct run st =
			    run_scen(7000 + 10 * k + seed, 100000, 1, kinds[k], seed % 2);
			printf(
			    "# n=100000 d=1 kind %u: %zu messages (%zu round trips), %zu bytes\n",
			    kinds[k], st.msgs, round_trips(&st), st.bytes);
			/* ceil(log16 100000) = 5 messages narrow to <= 16 items, then LIST_FINAL.
			 */
			assert_true(st.msgs <= 6);
			assert_true(round_trips(&st) <= 3);
			assert_true(st.bytes < 4096);
		}
	}
}

static void test_recon_one_side_empty(void **state)
{
	(void)state;
	for (int b_init = 0; b_init < 2; b_init++) {
		/* B lacks all of A's items, then A lacks all of B's. */
		struct run st = run_scen(31, 100000, 100000, K_B_LACKS, b_init);
		printf("# 100000 against empty (%s initiates): %zu messages, %zu bytes, %zu "
		       "deferring\n",
		       b_init ? "empty side" : "full side", st.msgs, st.bytes, st.deferred);
		/* The full side's 16 FINGERPRINTs come back as 16 empty LISTs, and its 100000 items
		 * go in LIST_FINALs of at most ML_RECON_MSG_MAX bytes: the rest is deferred. */
		assert_true(b_init || st.deferred > 0);
		assert_true(st.msgs >= 100000 * 36 / ML_RECON_MSG_MAX);
		/* The empty side's one LIST is answered by a LIST_FINAL of a prefix and a
		 * FINGERPRINT of the rest, and so on. */
		st = run_scen(32, 0, 100000, K_A_LACKS, b_init);
		printf("# empty against 100000 (%s initiates): %zu messages, %zu bytes, %zu "
		       "deferring\n",
		       b_init ? "full side" : "empty side", st.msgs, st.bytes, st.deferred);
		assert_true(st.msgs >= 100000 * 36 / ML_RECON_MSG_MAX);
		st = run_scen(33, 0, 0, K_ALL, b_init);
		assert_int_equal(st.msgs, 1);
	}
}

static void test_recon_many_differences_defer_and_complete(void **state)
{
	(void)state;
	struct run st = run_scen(41, 100000, 50000, K_ALL, false);
	printf("# n=100000 d=50000: %zu messages, %zu bytes, longest %zu, %zu deferring\n", st.msgs,
	       st.bytes, st.max_msg, st.deferred);
	assert_true(st.deferred > 0);
	assert_true(st.bytes < 50000 * 400);
}

static void test_recon_random_sets_converge(void **state)
{
	(void)state;
	size_t worst = 0;
	for (uint64_t seed = 0; seed < 300; seed++) {
		uint64_t s = seed * 7919;
		size_t n = (size_t)(rnd(&s) % 5000) >> (rnd(&s) % 12);
		size_t d = (size_t)(rnd(&s) % (n / 2 + 40)) >> (rnd(&s) % 6);
		unsigned kinds = 1 + (unsigned)(rnd(&s) % 7);
		struct run st = run_scen(seed, n, d, kinds, rnd(&s) % 2);
		/* About ceil(log16 n) + 1 messages when d is small, and never a runaway. */
		assert_true(st.msgs <= 20);
		if (st.msgs > worst)
			worst = st.msgs;
	}
	printf("# 300 random pairs: at most %zu messages\n", worst);
}

static void test_recon_deferred_queries_stay_open(void **state)
{
	(void)state;
	struct scen sc;
	struct ml_recon *ra, *rb;
	struct ml_buf m0 = ML_BUF_INIT, m1 = ML_BUF_INIT, reply = ML_BUF_INIT, err = ML_BUF_INIT;
	struct diffs ga = {0}, gb = {0};
	scen_build(&sc, 9, 1000, 30, K_ALL);
	assert_int_equal(ml_recon_new(sc.a, sc.na, &ra), ML_OK);
	assert_int_equal(ml_recon_new(sc.b, sc.nb, &rb), ML_OK);
	TEST_OK(&err, ml_recon_initiate(ra, &m0));
	TEST_OK(&err, ml_recon_step(rb, m0.data, m0.len, &m1, record, &gb, &err));
	/* B defers all of A's queries: A has nothing to answer, yet gives B its turn. */
	TEST_OK(&err,
	        ml_recon_step(ra, (const uint8_t *)"\x01\x04\xff", 3, &reply, record, &ga, &err));
	test_assert_hex(reply.data, reply.len, "01 00ff");
	assert_false(ml_recon_done(ra));
	/* The queries are still open: B's real answer to them is accepted, and all goes on. */
	struct ml_recon *side[2] = {ra, rb};
	struct diffs *got[2] = {&ga, &gb};
	struct ml_buf msg = m1;
	int to = 0;
	while (msg.len) {
		ml_buf_reset(&reply);
		TEST_OK(&err,
		        ml_recon_step(side[to], msg.data, msg.len, &reply, record, got[to], &err));
		struct ml_buf t = msg;
		msg = reply;
		reply = t;
		to = !to;
	}
	check_got(&ga, &sc.want, false);
	check_got(&gb, &sc.want, true);
	free(ga.v);
	free(gb.v);
	ml_buf_release(&msg);
	ml_buf_release(&reply);
	ml_buf_release(&err);
	ml_buf_release(&m0);
	ml_recon_free(ra);
	ml_recon_free(rb);
	scen_free(&sc);
}

/* --- the API's refusals ---------------------------------------------------- */

static void test_recon_new_rejects_unsorted_duplicate_or_empty_feeds(void **state)
{
	(void)state;
	struct ml_recon_item it[3];
	struct ml_recon *r = (struct ml_recon *)1;
	memset(it, 0, sizeof it);
	for (int i = 0; i < 3; i++) {
		it[i].key[0] = (uint8_t)(10 * i);
		it[i].seq = 1;
	}
	assert_int_equal(ml_recon_new(it, 3, &r), ML_OK);
	ml_recon_free(r);
	it[1].key[0] = 25; /* after it[2] */
	assert_int_equal(ml_recon_new(it, 3, &r), ML_EINVAL);
	assert_null(r);
	it[1].key[0] = 20; /* equal to it[2] */
	assert_int_equal(ml_recon_new(it, 3, &r), ML_EINVAL);
	it[1].key[0] = 10;
	it[1].seq = 0; /* the empty feed */
	assert_int_equal(ml_recon_new(it, 3, &r), ML_EINVAL);
	assert_int_equal(ml_recon_new(NULL, 1, &r), ML_EINVAL);
	assert_int_equal(ml_recon_new(NULL, 0, &r), ML_OK);
	ml_recon_free(r);
	ml_recon_free(NULL);
}

static void test_recon_initiates_once(void **state)
{
	(void)state;
	struct ml_recon_item it = {{1}, 1};
	struct ml_recon *r;
	struct ml_buf out = ML_BUF_INIT;
	assert_int_equal(ml_recon_new(&it, 1, &r), ML_OK);
	assert_int_equal(ml_recon_initiate(r, &out), ML_OK);
	size_t len = out.len;
	assert_int_equal(ml_recon_initiate(r, &out), ML_EINVAL);
	assert_int_equal(out.len, len);
	ml_recon_free(r);
	/* A responder that has stepped cannot initiate either. */
	assert_int_equal(ml_recon_new(&it, 1, &r), ML_OK);
	ml_buf_reset(&out);
	assert_int_equal(ml_recon_step(r, NULL, 0, &out, NULL, NULL, NULL), ML_OK);
	assert_int_equal(out.len, 0);
	assert_true(ml_recon_done(r));
	assert_int_equal(ml_recon_initiate(r, &out), ML_EINVAL);
	ml_recon_free(r);
	ml_buf_release(&out);
}

/* --- malformed messages ------------------------------------------------------ */

static void count_calls(void *ctx, const uint8_t key[32], uint64_t mine, uint64_t theirs)
{
	(void)key;
	(void)mine;
	(void)theirs;
	(*(size_t *)ctx)++;
}

/* Fails unless r rejects m[0..len) as malformed with a message, leaving out and reports alone;
 * `what` names the case. */
static void expect_malformed(struct ml_recon *r, const uint8_t *m, size_t len, const char *what)
{
	struct ml_buf out = ML_BUF_INIT, err = ML_BUF_INIT;
	size_t calls = 0;
	assert_int_equal(ml_buf_add(&out, "x", 1), ML_OK);
	int rc = ml_recon_step(r, m, len, &out, count_calls, &calls, &err);
	if (rc != ML_EMALFORMED)
		fail_msg("%s: %s, not ML_EMALFORMED", what, ml_err_name(rc));
	assert_true(err.len > 0);
	assert_int_equal(out.len, 1);
	assert_int_equal(calls, 0);
	ml_buf_release(&out);
	ml_buf_release(&err);
}

static void expect_hex_malformed(struct ml_recon *r, const char *hex)
{
	uint8_t m[2048];
	size_t len = test_unhex(hex, m, sizeof m);
	expect_malformed(r, m, len, hex);
}

#define FP16 "00112233445566778899aabbccddeeff"
#define KEY(b)                                                           \
	b "000000000000000000000000000000000000000000000000000000000000" \
	  "00"

static void test_recon_rejects_malformed_messages(void **state)
{
	(void)state;
	struct scen sc;
	struct ml_recon *ra, *rb;
	struct ml_buf m0 = ML_BUF_INIT;
	scen_build(&sc, 5, 300, 20, K_ALL);
	assert_int_equal(ml_recon_new(sc.a, sc.na, &ra), ML_OK);
	assert_int_equal(ml_recon_new(sc.b, sc.nb, &rb), ML_OK);
	assert_int_equal(ml_recon_initiate(ra, &m0), ML_OK);

	/* Cut anywhere (but at 0: the empty message is valid), or with a byte more. */
	for (size_t cut = 1; cut < m0.len; cut++)
		expect_malformed(rb, m0.data, cut, "cut short");
	struct ml_buf longer = ML_BUF_INIT;
	assert_int_equal(ml_buf_add(&longer, m0.data, m0.len), ML_OK);
	assert_int_equal(ml_buf_add(&longer, "", 1), ML_OK);
	expect_malformed(rb, longer.data, longer.len, "trailing byte");

	expect_hex_malformed(rb, "02 00ff");                          /* unknown version */
	expect_hex_malformed(rb, "01 07ff");                          /* unknown mode */
	expect_hex_malformed(rb, "01 00ff 00");                       /* trailing byte */
	expect_hex_malformed(rb, "01 000180");                        /* no range up to infinity */
	expect_hex_malformed(rb, "01 000180 000140 00ff");            /* bounds out of order */
	expect_hex_malformed(rb, "01 000180 000180 00ff");            /* an empty range */
	expect_hex_malformed(rb, "01 0000 00ff");                     /* empty first range */
	expect_hex_malformed(rb, "01 00028000 00ff");                 /* bound with a zero tail */
	expect_hex_malformed(rb, "01 0021" KEY("01") "01 00ff");      /* bound of 33 bytes */
	expect_hex_malformed(rb, "01 0020 0101");                     /* bound cut short */
	expect_hex_malformed(rb, "01 01ff00" FP16);                   /* fingerprint of nothing */
	expect_hex_malformed(rb, "01 01ff8080808010" FP16);           /* count above 2^32-1 */
	expect_hex_malformed(rb, "01 01ff8100" FP16);                 /* count not shortest */
	expect_hex_malformed(rb, "01 01ffffffffffffffffffff02" FP16); /* count above 2^64 */
	expect_hex_malformed(rb, "01 01ff01 0011");                   /* fingerprint cut short */
	expect_hex_malformed(rb, "01 02ff02" KEY("02") "01" KEY("01") "01"); /* keys descending */
	expect_hex_malformed(rb, "01 02ff02" KEY("01") "01" KEY("01") "01"); /* keys repeated */
	expect_hex_malformed(rb, "01 02ff01" KEY("01") "00");                /* seq 0 */
	expect_hex_malformed(rb, "01 020140 01" KEY("80") "01 00ff"); /* key past the bound */
	expect_hex_malformed(rb, "01 000180 02ff01" KEY("01") "01");  /* key below the range */
	expect_hex_malformed(rb, "01 02ff03" KEY("01") "01");         /* fewer items than said */
	expect_hex_malformed(rb, "01 03ffffffffff0f");                /* huge LIST_FINAL count */
	expect_hex_malformed(rb, "01 03ff00");       /* LIST_FINAL answers a FINGERPRINT */
	expect_hex_malformed(rb, "01 0401 80 00ff"); /* DEFER before the last range */
	expect_hex_malformed(rb, "01 000180 04ff");  /* DEFER inside the open query */

	/* A list of 17 items. */
	struct ml_buf big = ML_BUF_INIT;
	assert_int_equal(ml_buf_add(&big, "\x01\x02\xff\x11", 4), ML_OK);
	for (int i = 0; i < 17; i++) {
		uint8_t item[33] = {(uint8_t)(i + 1)};
		item[32] = 1;
		assert_int_equal(ml_buf_add(&big, item, sizeof item), ML_OK);
	}
	expect_malformed(rb, big.data, big.len, "17 items");

	/* 17 ranges answering one query. */
	ml_buf_reset(&big);
	assert_int_equal(ml_buf_add(&big, "\x01", 1), ML_OK);
	for (int i = 0; i < 17; i++) {
		uint8_t range[] = {1, 1, (uint8_t)(i + 1), 1};
		assert_int_equal(ml_buf_add(&big, range, sizeof range), ML_OK);
		assert_int_equal(ml_buf_add(&big, "0123456789abcdef", 16), ML_OK);
	}
	assert_int_equal(ml_buf_add(&big, "\x00\xff", 2), ML_OK);
	expect_malformed(rb, big.data, big.len, "17 ranges");

	/* More than ML_RECON_MSG_MAX bytes, even of valid SKIPs. */
	ml_buf_reset(&big);
	assert_int_equal(ml_buf_add(&big, "\x01", 1), ML_OK);
	for (uint32_t i = 1; big.len <= ML_RECON_MSG_MAX; i++) {
		uint8_t range[] = {
		    0, 4, (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
		if (!(i & 0xff))
			continue; /* a bound ends with a nonzero byte */
		assert_int_equal(ml_buf_add(&big, range, sizeof range), ML_OK);
	}
	assert_int_equal(ml_buf_add(&big, "\x00\xff", 2), ML_OK);
	expect_malformed(rb, big.data, big.len, "too long");
	ml_buf_release(&big);

	/* None of this touched the responder: the real exchange still reports exactly. */
	struct ml_buf msg = ML_BUF_INIT, reply = ML_BUF_INIT, err = ML_BUF_INIT;
	struct diffs ga = {0}, gb = {0};
	TEST_OK(&err, ml_recon_step(rb, m0.data, m0.len, &msg, record, &gb, &err));
	/* Nor is the initiator's own message an answer to it: a FINGERPRINT may not repeat the
	 * query it answers. */
	expect_malformed(ra, m0.data, m0.len, "own message");
	struct ml_recon *side[2] = {ra, rb};
	struct diffs *got[2] = {&ga, &gb};
	struct ml_buf prev = ML_BUF_INIT;
	int to = 0;
	while (msg.len) {
		ml_buf_reset(&reply);
		TEST_OK(&err,
		        ml_recon_step(side[to], msg.data, msg.len, &reply, record, got[to], &err));
		/* Replayed, the message answers queries no longer open. */
		if (reply.len)
			expect_malformed(side[to], msg.data, msg.len, "replayed");
		ml_buf_reset(&prev);
		assert_int_equal(ml_buf_add(&prev, msg.data, msg.len), ML_OK);
		struct ml_buf t = msg;
		msg = reply;
		reply = t;
		to = !to;
	}
	/* The empty reply ends it for the other side too. */
	TEST_OK(&err, ml_recon_step(side[to], NULL, 0, &reply, record, got[to], &err));
	assert_true(ml_recon_done(ra) && ml_recon_done(rb));
	check_got(&ga, &sc.want, false);
	check_got(&gb, &sc.want, true);
	/* Done sides accept only "nothing more". */
	expect_hex_malformed(ra, "01 04ff");
	expect_malformed(ra, prev.data, prev.len, "after the end");
	ml_buf_reset(&reply);
	assert_int_equal(
	    ml_recon_step(ra, (const uint8_t *)"\x01\x00\xff", 3, &reply, NULL, NULL, NULL), ML_OK);
	assert_int_equal(reply.len, 0);

	free(ga.v);
	free(gb.v);
	ml_buf_release(&prev);
	ml_buf_release(&msg);
	ml_buf_release(&reply);
	ml_buf_release(&err);
	ml_buf_release(&m0);
	ml_buf_release(&longer);
	ml_recon_free(ra);
	ml_recon_free(rb);
	scen_free(&sc);
}

static void test_recon_survives_garbage(void **state)
{
	(void)state;
	struct scen sc;
	struct ml_recon *r;
	struct ml_buf out = ML_BUF_INIT, err = ML_BUF_INIT;
	uint8_t m[600];
	uint64_t s = 99;
	scen_build(&sc, 6, 100, 5, K_ALL);
	for (int i = 0; i < 20000; i++) {
		assert_int_equal(ml_recon_new(sc.a, sc.na, &r), ML_OK);
		size_t len = rnd(&s) % sizeof m;
		for (size_t k = 0; k < len; k++)
			m[k] = (uint8_t)rnd(&s);
		/* Mostly well-formed heads, so that the checks past them run. */
		if (len)
			m[0] = i % 8 ? 1 : m[0];
		for (size_t k = 1; k + 1 < len && i % 3; k += 2 + rnd(&s) % 40) {
			m[k] = (uint8_t)(rnd(&s) % 5);
			m[k + 1] = (uint8_t)(rnd(&s) % 4 ? 1 : 0xff);
		}
		ml_buf_reset(&out);
		int rc = ml_recon_step(r, m, len, &out, NULL, NULL, &err);
		assert_true(rc == ML_OK || rc == ML_EMALFORMED);
		assert_true(out.len <= ML_RECON_MSG_MAX);
		ml_recon_free(r);
	}
	ml_buf_release(&out);
	ml_buf_release(&err);
	scen_free(&sc);
}

/* --- out of memory ------------------------------------------------------------ */

/* Steps r over msg with every allocation failing in turn until it succeeds; each failure must
 * leave no trace. */
static void step_with_faults(struct ml_recon *r, const struct ml_buf *msg, struct ml_buf *reply,
                             struct diffs *got, size_t *faults)
{
	struct ml_buf err = ML_BUF_INIT;
	for (unsigned long n = 1;; n++) {
		size_t before = got->n;
		ml_buf_release(reply);
		ml_alloc_fail_at(n);
		int rc = ml_recon_step(r, msg->data, msg->len, reply, record, got, &err);
		ml_alloc_fail_at(0);
		if (rc == ML_OK)
			break;
		assert_int_equal(rc, ML_ENOMEM);
		assert_int_equal(reply->len, 0);
		assert_int_equal(got->n, before);
		(*faults)++;
	}
	ml_buf_release(&err);
}

static void test_recon_out_of_memory_leaves_no_trace(void **state)
{
	(void)state;
	struct scen sc;
	struct ml_recon *ra = NULL, *rb = NULL;
	struct ml_buf msg = ML_BUF_INIT, reply = ML_BUF_INIT;
	struct diffs ga = {0}, gb = {0};
	size_t faults = 0;
	scen_build(&sc, 8, 2000, 60, K_ALL);
	for (unsigned long n = 1; !ra; n++) {
		ml_alloc_fail_at(n);
		int rc = ml_recon_new(sc.a, sc.na, &ra);
		ml_alloc_fail_at(0);
		assert_true(rc == ML_OK || (rc == ML_ENOMEM && !ra));
	}
	assert_int_equal(ml_recon_new(sc.b, sc.nb, &rb), ML_OK);
	for (unsigned long n = 1;; n++) {
		ml_buf_release(&msg);
		ml_alloc_fail_at(n);
		int rc = ml_recon_initiate(ra, &msg);
		ml_alloc_fail_at(0);
		if (rc == ML_OK)
			break;
		assert_int_equal(rc, ML_ENOMEM);
		assert_int_equal(msg.len, 0);
	}
	struct ml_recon *side[2] = {ra, rb};
	struct diffs *got[2] = {&ga, &gb};
	int to = 1;
	while (msg.len) {
		step_with_faults(side[to], &msg, &reply, got[to], &faults);
		struct ml_buf t = msg;
		msg = reply;
		reply = t;
		to = !to;
	}
	check_got(&ga, &sc.want, false);
	check_got(&gb, &sc.want, true);
	assert_true(faults > 0);
	ml_buf_release(&msg);
	ml_buf_release(&reply);
	free(ga.v);
	free(gb.v);
	ml_recon_free(ra);
	ml_recon_free(rb);
	scen_free(&sc);
}

/* --- the fuzz target's sets and seed corpus ------------------------------------ */

static void write_seed(const char *dir, const char *name, uint8_t head, const struct ml_buf *m)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(&head, 1, 1, f), 1);
	assert_int_equal(fwrite(m->data, 1, m->len, f), m->len);
	assert_int_equal(fclose(f), 0);
}

/* The fuzz sets reconcile to 12 differences, whichever side initiates.  With ML_RECON_CORPUS set,
 * each message of the two exchanges becomes a seed: byte 0 is its index (the fuzz target's
 * replacement point), plus 8 when B initiates. */
static void test_recon_fuzz_sets(void **state)
{
	(void)state;
	static struct ml_recon_item a[RECON_SETS_A], b[RECON_SETS_B_MAX];
	size_t nb;
	recon_sets(a, b, &nb);
	const char *dir = getenv("ML_RECON_CORPUS");
	for (int b_first = 0; b_first < 2; b_first++) {
		struct ml_recon *ra, *rb;
		assert_int_equal(ml_recon_new(a, 200, &ra), ML_OK);
		assert_int_equal(ml_recon_new(b, nb, &rb), ML_OK);
		struct ml_recon *side[2] = {b_first ? rb : ra, b_first ? ra : rb};
		struct diffs got[2] = {{0}, {0}};
		struct ml_buf msg = ML_BUF_INIT, reply = ML_BUF_INIT, err = ML_BUF_INIT;
		TEST_OK(&err, ml_recon_initiate(side[0], &msg));
		int to = 1;
		for (unsigned k = 0; msg.len; k++) {
			char name[32];
			snprintf(name, sizeof name, "%s_msg%u", b_first ? "b_first" : "a_first", k);
			if (dir)
				write_seed(dir, name, (uint8_t)(k | (b_first ? 8 : 0)), &msg);
			ml_buf_reset(&reply);
			TEST_OK(&err, ml_recon_step(side[to], msg.data, msg.len, &reply, record,
			                            &got[to], &err));
			struct ml_buf t = msg;
			msg = reply;
			reply = t;
			to = !to;
		}
		assert_int_equal(got[0].n, 12);
		assert_int_equal(got[1].n, 12);
		free(got[0].v);
		free(got[1].v);
		ml_buf_release(&msg);
		ml_buf_release(&reply);
		ml_buf_release(&err);
		ml_recon_free(ra);
		ml_recon_free(rb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_recon_equal_sets_end_after_one_round_trip),
	    cmocka_unit_test(test_recon_reports_every_difference_on_both_sides_once),
	    cmocka_unit_test(test_recon_one_difference_in_100000_costs_3_round_trips),
	    cmocka_unit_test(test_recon_one_side_empty),
	    cmocka_unit_test(test_recon_many_differences_defer_and_complete),
	    cmocka_unit_test(test_recon_random_sets_converge),
	    cmocka_unit_test(test_recon_deferred_queries_stay_open),
	    cmocka_unit_test(test_recon_new_rejects_unsorted_duplicate_or_empty_feeds),
	    cmocka_unit_test(test_recon_initiates_once),
	    cmocka_unit_test(test_recon_rejects_malformed_messages),
	    cmocka_unit_test(test_recon_survives_garbage),
	    cmocka_unit_test(test_recon_out_of_memory_leaves_no_trace),
	    cmocka_unit_test(test_recon_fuzz_sets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
