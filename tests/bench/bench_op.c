/*
 * bench_op.c - op codec and signature throughput, as ratios to the raw
 * ed25519 verify rate measured in the same run (docs/BENCHMARKS.md).
 *
 *   (a) raw crypto_sign_verify_detached on 300-byte messages, one thread
 *   (b) op encode + sign (realistic member ops, ~570 bytes)
 *   (c) decode + verify, one signature per op
 *   (d) decode + verify, batches of 256 ops with one signature each
 *   (e) BLAKE2b-256 of the same ops alone: the limit once signatures are
 *       amortised, since every op must be hashed for its id
 *
 * Each figure is the median of 5 timed runs.  Targets: (c)/(a) >= 0.90 and
 * (d)/(a) >= 20.  Exit status 0 whatever the figures; the report is the
 * product.  Usage: bench_op [--quick]
 */
#include "crdt/codec.h"
#include "crdt/err.h"
#include "crdt/feed.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS  5
#define BATCH 256

/* Keeps the hashing loop from being optimised away. */
volatile uint8_t bench_sink;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v)
{
	qsort(v, RUNS, sizeof *v, cmp_double);
	return v[RUNS / 2];
}

static void check(int rc, const char *what)
{
	if (rc != ML_OK) {
		fprintf(stderr, "bench_op: %s: %s\n", what, ml_err_name(rc));
		exit(1);
	}
}

/* A member draft body like those the register writes: 11 fields, Vietnamese text. */
static size_t member_body(uint64_t i, uint8_t *out, size_t cap)
{
	static const char *names[] = {"Nguyễn Thị Đào", "Trần Văn Lương", "Lê Bá Đạt",
	                              "Phạm Thị Thu Hương", "Huỳnh Lê Tuấn Anh"};
	char id[16], phone[16];
	snprintf(id, sizeof id, "%012llu", 1090000000ULL + (unsigned long long)i);
	snprintf(phone, sizeof phone, "09%08llu", (unsigned long long)(i % 100000000));
	struct ml_buf b = ML_BUF_INIT;
	struct ml_writer w;
	ml_wr_init(&w, &b);
	ml_wr_map(&w, 11);
	ml_wr_cstr(&w, "dob");
	ml_wr_cstr(&w, "11/02/1990");
	ml_wr_cstr(&w, "phone");
	ml_wr_cstr(&w, phone);
	ml_wr_cstr(&w, "gender");
	ml_wr_cstr(&w, "female");
	ml_wr_cstr(&w, "hometown");
	ml_wr_cstr(&w, "Xã Tân Hưng, Huyện Cái Nước, Tỉnh Cà Mau");
	ml_wr_cstr(&w, "full_name");
	ml_wr_cstr(&w, names[i % 5]);
	ml_wr_cstr(&w, "id_number");
	ml_wr_cstr(&w, id);
	ml_wr_cstr(&w, "pays_dues");
	ml_wr_bool(&w, true);
	ml_wr_cstr(&w, "positions");
	ml_wr_array(&w, 2);
	ml_wr_cstr(&w, "exec_committee_member");
	ml_wr_cstr(&w, "group_leader");
	ml_wr_cstr(&w, "participates");
	ml_wr_bool(&w, true);
	ml_wr_cstr(&w, "union_join_date");
	ml_wr_cstr(&w, "11/02/2012");
	ml_wr_cstr(&w, "is_full_time_cadre");
	ml_wr_bool(&w, false);
	check(w.err, "body");
	if (b.len > cap)
		check(ML_ETOOBIG, "body size");
	memcpy(out, b.data, b.len);
	size_t n = b.len;
	ml_buf_release(&b);
	return n;
}

struct corpus {
	struct ml_buf bytes;
	size_t *ends;
	size_t n;
};

/* Writes n member ops to one reg feed in batches of `batch`. */
static void make_ops(struct ml_key *key, const struct ml_hash *net, size_t n, size_t batch,
                     struct corpus *c)
{
	c->ends = calloc(n, sizeof *c->ends);
	c->n = n;
	struct ml_feed_head head = {.feed.lane = ML_LANE_REG};
	memset(head.feed.unit.b, 0x42, 32);
	struct ml_hlc clock = {0, 0};
	struct ml_op *ops = calloc(batch, sizeof *ops);
	uint8_t(*bodies)[512] = calloc(batch, 512);
	struct ml_hash dep;
	memset(dep.b, 0x17, 32);
	for (size_t done = 0; done < n; done += batch) {
		for (size_t i = 0; i < batch; i++) {
			memset(&ops[i], 0, sizeof ops[i]);
			ops[i].has_net = true;
			ops[i].net = *net;
			strcpy(ops[i].type, "member_create");
			ops[i].body = bodies[i];
			ops[i].body_len = member_body(done + i, bodies[i], 512);
			ops[i].deps = dep.b;
			ops[i].ndeps = 1;
		}
		check(ml_feed_write_batch(&head, key, &clock, 1763856000000ULL + done, ops, batch,
		                          &c->bytes, c->ends + done, NULL),
		      "write batch");
	}
	free(ops);
	free(bodies);
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	size_t scale = quick ? 8 : 1;
	check(ml_crypto_init(), "sodium_init");
	struct ml_key *key;
	check(ml_key_generate(&key), "key");
	struct ml_hash net;
	randombytes_buf(net.b, sizeof net.b);
	double a[RUNS], b[RUNS], c[RUNS], d[RUNS], e[RUNS];

	/* (a) the physical limit: raw verifies of 300-byte messages */
	enum { NMSG = 256 };
	static uint8_t msgs[NMSG][300];
	static uint8_t sigs[NMSG][64];
	for (int i = 0; i < NMSG; i++) {
		randombytes_buf(msgs[i], sizeof msgs[i]);
		crypto_sign_detached(sigs[i], NULL, msgs[i], 300, key->sk);
	}
	size_t nv = 20000 / scale;
	for (int r = 0; r < RUNS; r++) {
		double t = now_s();
		for (size_t i = 0; i < nv; i++)
			if (crypto_sign_verify_detached(sigs[i % NMSG], msgs[i % NMSG], 300,
			                                key->pk.b))
				check(ML_EBADSIG, "raw verify");
		a[r] = (double)nv / (now_s() - t);
	}

	/* (b) encode + sign */
	struct corpus single = {0};
	size_t ns = 8192 / scale;
	make_ops(key, &net, ns, 1, &single);
	for (int r = 0; r < RUNS; r++) {
		struct ml_buf out = ML_BUF_INIT;
		struct ml_op op;
		check(ml_op_parse(single.bytes.data, single.ends[0], &op, NULL), "parse");
		ml_buf_reserve(&out, 1024);
		double t = now_s();
		for (size_t i = 0; i < ns; i++) {
			out.len = 0;
			op.hlc.c = (uint32_t)i;
			check(ml_op_seal(&op, key, &out, NULL), "seal");
		}
		b[r] = (double)ns / (now_s() - t);
		ml_buf_release(&out);
	}

	/* (c) decode + verify, one signature per op */
	for (int r = 0; r < RUNS; r++) {
		struct ml_op op;
		double t = now_s();
		size_t start = 0;
		for (size_t i = 0; i < ns; i++) {
			check(ml_op_decode(single.bytes.data + start, single.ends[i] - start, &net,
			                   &op, NULL),
			      "decode");
			start = single.ends[i];
		}
		c[r] = (double)ns / (now_s() - t);
	}
	size_t op_bytes = single.ends[0];

	/* (d) decode + verify, batches of 256 with one signature */
	struct corpus batched = {0};
	size_t nb = (size_t)65536 / scale;
	make_ops(key, &net, nb, BATCH, &batched);
	struct ml_op *ops = calloc(BATCH, sizeof *ops);
	for (int r = 0; r < RUNS; r++) {
		double t = now_s();
		size_t start = 0;
		for (size_t i = 0; i < nb; i += BATCH) {
			for (size_t k = 0; k < BATCH; k++) {
				check(ml_op_parse(batched.bytes.data + start,
				                  batched.ends[i + k] - start, &ops[k], NULL),
				      "parse batch op");
				check(ml_op_check_network(&ops[k], &net, NULL), "network");
				start = batched.ends[i + k];
			}
			size_t ok;
			check(ml_feed_verify_run(NULL, ops, BATCH, &ok, NULL), "verify run");
			if (ok != BATCH)
				check(ML_EBATCH, "batch authenticity");
		}
		d[r] = (double)nb / (now_s() - t);
	}

	/* (e) hashing alone, over the same bytes */
	for (int r = 0; r < RUNS; r++) {
		double t = now_s();
		size_t start = 0;
		uint8_t sink = 0;
		for (size_t i = 0; i < nb; i++) {
			struct ml_hash h =
			    ml_hash_of(batched.bytes.data + start, batched.ends[i] - start);
			sink ^= h.b[0];
			start = batched.ends[i];
		}
		e[r] = (double)nb / (now_s() - t);
		bench_sink = sink;
	}

	double ra = median(a), rb = median(b), rc = median(c), rd = median(d), re = median(e);
	printf("bench_op: median of %d runs, one thread%s\n", RUNS, quick ? " (quick)" : "");
	printf("  member op size                    %8zu bytes (signed)\n", op_bytes);
	printf("  (a) raw ed25519 verify, 300 B     %10.0f /s\n", ra);
	printf("  (b) op encode + sign              %10.0f /s\n", rb);
	printf("  (c) op decode + verify, 1 sig/op  %10.0f /s   (c)/(a) = %.3f  target >= 0.90\n",
	       rc, rc / ra);
	printf("  (d) op decode + verify, %d/sig   %10.0f /s   (d)/(a) = %.1f   target >= 20\n",
	       BATCH, rd, rd / ra);
	printf("  (e) BLAKE2b-256 of each op alone  %10.0f /s   (d)/(e) = %.2f  (share of the "
	       "hashing limit)\n",
	       re, rd / re);
	free(ops);
	free(single.ends);
	free(batched.ends);
	ml_buf_release(&single.bytes);
	ml_buf_release(&batched.bytes);
	ml_key_free(key);
	return 0;
}
