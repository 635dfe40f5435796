/*
 * test.c - shared helpers for the unit tests (see test.h).
 */
#include "test.h"

#include "crdt/codec.h"
#include "crdt/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t test_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (const char *s = hex; *s; s++) {
		if (*s == ' ')
			continue;
		int v = (*s >= '0' && *s <= '9')   ? *s - '0'
		        : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
		        : (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10
		                                   : -1;
		assert_true(v >= 0);
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_true(n < cap);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	assert_int_equal(hi, -1);
	return n;
}

void test_assert_hex(const uint8_t *p, size_t n, const char *hex)
{
	uint8_t want[4096];
	size_t m = test_unhex(hex, want, sizeof want);
	if (m != n || memcmp(p, want, n) != 0) {
		char got[2 * 4096 + 1];
		ml_hex_encode(p, n < 4096 ? n : 4096, got);
		fail_msg("bytes differ:\n got  %s\n want %s", got, hex);
	}
}

struct ml_key *test_key(uint8_t b)
{
	uint8_t seed[ML_SEED_BYTES];
	memset(seed, b, sizeof seed);
	struct ml_key *k;
	assert_int_equal(ml_key_from_seed(seed, &k), ML_OK);
	return k;
}

size_t test_body(uint64_t i, uint8_t out[static 64])
{
	struct ml_buf tmp = ML_BUF_INIT;
	struct ml_writer w;
	ml_wr_init(&w, &tmp);
	ml_wr_map(&w, 2);
	ml_wr_cstr(&w, "n");
	ml_wr_uint(&w, i);
	ml_wr_cstr(&w, "name");
	ml_wr_cstr(&w, "Nguyễn Thị Đào");
	assert_int_equal(w.err, ML_OK);
	assert_true(tmp.len <= 64);
	size_t n = tmp.len;
	memcpy(out, tmp.data, n);
	ml_buf_release(&tmp);
	return n;
}

struct ml_hash test_genesis(struct test_feed *f, struct ml_buf *out)
{
	static const uint8_t empty_map[] = {0xa0};
	struct ml_op op = {0};
	strcpy(op.type, ML_OP_TYPE_GENESIS);
	op.body = empty_map;
	op.body_len = 1;
	memset(&f->head, 0, sizeof f->head);
	f->head.feed.lane = ML_LANE_GOV;
	struct ml_buf err = ML_BUF_INIT;
	int rc =
	    ml_feed_write_batch(&f->head, f->key, &f->clock, f->now_ms, &op, 1, out, NULL, &err);
	if (rc != ML_OK)
		fail_msg("genesis: %s: %s", ml_err_name(rc), ml_buf_str(&err));
	ml_buf_release(&err);
	return op.id;
}

void test_write_batch(struct test_feed *f, const struct ml_hash *net, size_t n, struct ml_buf *out,
                      size_t *ends)
{
	struct ml_op *ops = calloc(n, sizeof *ops);
	uint8_t(*bodies)[64] = calloc(n, 64);
	assert_non_null(ops);
	assert_non_null(bodies);
	for (size_t i = 0; i < n; i++) {
		ops[i].has_net = true;
		ops[i].net = *net;
		strcpy(ops[i].type, "test_op");
		ops[i].body = bodies[i];
		ops[i].body_len = test_body(f->head.seq + i, bodies[i]);
	}
	struct ml_buf err = ML_BUF_INIT;
	int rc =
	    ml_feed_write_batch(&f->head, f->key, &f->clock, f->now_ms, ops, n, out, ends, &err);
	if (rc != ML_OK)
		fail_msg("write batch: %s: %s", ml_err_name(rc), ml_buf_str(&err));
	ml_buf_release(&err);
	free(bodies);
	free(ops);
}

void test_parse_all(const struct ml_buf *out, const size_t *ends, size_t n, struct ml_op *ops)
{
	struct ml_buf err = ML_BUF_INIT;
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = ml_op_parse(out->data + start, ends[i] - start, &ops[i], &err);
		if (rc != ML_OK)
			fail_msg("parse op %zu: %s: %s", i, ml_err_name(rc), ml_buf_str(&err));
		start = ends[i];
	}
	ml_buf_release(&err);
}
