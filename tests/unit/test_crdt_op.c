/*
 * test_crdt_op.c - encoding, parsing, signing and rejection of single ops.
 */
#include "test.h"

#include "crdt/codec.h"
#include "crdt/err.h"
#include "tests/common/splice.h"

#include <stdlib.h>
#include <string.h>

/* A fixture: a genesis and one signed batch of 3 ops; `signed_op` is a copy of the last. */
struct fx {
	struct test_feed feed;
	struct ml_hash net;
	struct ml_buf log;
	size_t gen_len;
	size_t ends[3];
	struct ml_buf signed_op;
	struct ml_buf unsigned_op;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	fx->feed.key = test_key(7);
	fx->feed.now_ms = 1700000000000ULL;
	fx->net = test_genesis(&fx->feed, &fx->log);
	size_t base = fx->gen_len = fx->log.len;
	test_write_batch(&fx->feed, &fx->net, 3, &fx->log, fx->ends);
	ml_buf_add(&fx->unsigned_op, fx->log.data + base, fx->ends[0] - base);
	ml_buf_add(&fx->signed_op, fx->log.data + fx->ends[1], fx->ends[2] - fx->ends[1]);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	ml_key_free(fx->feed.key);
	ml_buf_release(&fx->log);
	ml_buf_release(&fx->signed_op);
	ml_buf_release(&fx->unsigned_op);
	free(fx);
	return 0;
}

static int decode_buf(const struct ml_buf *b, const struct ml_hash *net, struct ml_op *op)
{
	return ml_op_decode(b->data, b->len, net, op, NULL);
}

static void test_op_roundtrip_keeps_every_field(void **state)
{
	struct fx *fx = *state;
	struct ml_op op;
	assert_int_equal(decode_buf(&fx->signed_op, &fx->net, &op), ML_OK);
	assert_true(op.has_sig);
	assert_int_equal(op.seq, 4); /* genesis was 1 */
	assert_int_equal(op.lane, ML_LANE_GOV);
	assert_string_equal(op.type, "test_op");
	assert_true(ml_hash_eq(&op.net, &fx->net));
	assert_true(ml_hash_eq(&op.unit, &fx->net)); /* the national unit is the genesis id */
	assert_true(ml_pubkey_eq(&op.author, &fx->feed.key->pk));
	struct ml_hash id = ml_hash_of(fx->signed_op.data, fx->signed_op.len);
	assert_true(ml_hash_eq(&op.id, &id));

	struct ml_buf again = ML_BUF_INIT;
	assert_int_equal(ml_op_encode(&op, &again, NULL), ML_OK);
	assert_int_equal(again.len, fx->signed_op.len);
	assert_memory_equal(again.data, fx->signed_op.data, again.len);
	ml_buf_release(&again);
}

static void test_op_genesis_names_the_network(void **state)
{
	struct fx *fx = *state;
	struct ml_op g;
	assert_int_equal(ml_op_decode(fx->log.data, fx->gen_len, &fx->net, &g, NULL), ML_OK);
	assert_true(ml_op_is_genesis(&g));
	assert_false(g.has_net);
	assert_false(g.has_unit);
	assert_true(ml_hash_eq(&g.id, &fx->net));
	assert_true(ml_hash_eq(ml_op_network(&g), &fx->net));
	assert_true(ml_hash_eq(ml_op_feed_unit(&g), &fx->net));
	struct ml_hash other = fx->net;
	other.b[0] ^= 1;
	assert_int_equal(ml_op_decode(fx->log.data, fx->gen_len, &other, &g, NULL), ML_EWRONGNET);
	/* The whole log is several ops, not one. */
	assert_int_equal(ml_op_decode(fx->log.data, fx->log.len, &fx->net, &g, NULL), ML_ETRAILING);
}

static void test_op_unsigned_op_decodes_without_signature(void **state)
{
	struct fx *fx = *state;
	struct ml_op op;
	assert_int_equal(decode_buf(&fx->unsigned_op, &fx->net, &op), ML_OK);
	assert_false(op.has_sig);
	assert_int_equal(ml_op_verify_sig(&op, NULL), ML_EINVAL);
}

static void test_op_decode_rejects_wrong_network(void **state)
{
	struct fx *fx = *state;
	struct ml_hash other = fx->net;
	other.b[31] ^= 0x80;
	struct ml_op op;
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(ml_op_decode(fx->signed_op.data, fx->signed_op.len, &other, &op, &err),
	                 ML_EWRONGNET);
	assert_non_null(strstr(ml_buf_str(&err), "network"));
	ml_buf_release(&err);
}

static void test_op_decode_rejects_bad_signature(void **state)
{
	struct fx *fx = *state;
	fx->signed_op.data[fx->signed_op.len - 1] ^= 1;
	struct ml_op op;
	assert_int_equal(decode_buf(&fx->signed_op, &fx->net, &op), ML_EBADSIG);
	fx->signed_op.data[fx->signed_op.len - 1] ^= 1;
	assert_int_equal(decode_buf(&fx->signed_op, &fx->net, &op), ML_OK);
}

/* Every single-bit change of a signed op is rejected, whatever byte it hits. */
static void test_op_decode_rejects_every_bit_flip(void **state)
{
	struct fx *fx = *state;
	struct ml_op op;
	for (size_t i = 0; i < fx->signed_op.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			fx->signed_op.data[i] ^= (uint8_t)(1 << bit);
			int rc = decode_buf(&fx->signed_op, &fx->net, &op);
			fx->signed_op.data[i] ^= (uint8_t)(1 << bit);
			if (rc == ML_OK)
				fail_msg("flip of bit %d at byte %zu was accepted", bit, i);
		}
	}
}

static void test_op_decode_rejects_every_truncation(void **state)
{
	struct fx *fx = *state;
	struct ml_op op;
	for (size_t n = 0; n < fx->signed_op.len; n++) {
		int rc = ml_op_decode(fx->signed_op.data, n, &fx->net, &op, NULL);
		assert_int_equal(rc, ML_ETRUNCATED);
	}
}

static void test_op_decode_rejects_trailing_bytes(void **state)
{
	struct fx *fx = *state;
	ml_buf_add(&fx->signed_op, "\x00", 1);
	struct ml_op op;
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(ml_op_decode(fx->signed_op.data, fx->signed_op.len, &fx->net, &op, &err),
	                 ML_ETRAILING);
	assert_non_null(strstr(ml_buf_str(&err), "(1 more)"));
	fx->signed_op.len--;
	ml_buf_release(&err);
}

static void test_op_decode_rejects_oversize_before_parsing(void **state)
{
	(void)state;
	uint8_t *big = calloc(1, ML_OP_MAX_BYTES + 1);
	struct ml_op op;
	assert_int_equal(ml_op_decode(big, ML_OP_MAX_BYTES + 1, NULL, &op, NULL), ML_ETOOBIG);
	free(big);
}

static void test_op_encode_refuses_oversize_body(void **state)
{
	struct fx *fx = *state;
	struct ml_buf body = ML_BUF_INIT;
	struct ml_writer w;
	ml_wr_init(&w, &body);
	ml_wr_map(&w, 1);
	ml_wr_cstr(&w, "x");
	char *blob = calloc(1, ML_OP_MAX_BYTES);
	ml_wr_bytes(&w, blob, ML_OP_MAX_BYTES);
	free(blob);
	struct ml_op op;
	assert_int_equal(decode_buf(&fx->unsigned_op, &fx->net, &op), ML_OK);
	op.body = body.data;
	op.body_len = body.len;
	struct ml_buf out = ML_BUF_INIT, err = ML_BUF_INIT;
	assert_int_equal(ml_op_encode(&op, &out, &err), ML_ETOOBIG);
	assert_int_equal(out.len, 0);
	ml_buf_release(&body);
	ml_buf_release(&out);
	ml_buf_release(&err);
}

/* Replaces the value of `key` in b with the bytes of hex; returns the decode result. */
static int decode_with_value(struct fx *fx, struct ml_buf *b, const char *key, const char *hex)
{
	uint8_t ins[64];
	size_t n = test_unhex(hex, ins, sizeof ins);
	size_t at = splice_value_at(b, key);
	assert_true(at != SIZE_MAX);
	assert_int_equal(splice_bytes(b, at, splice_item_len(b, at), ins, n), 0);
	struct ml_op op;
	return decode_buf(b, &fx->net, &op);
}

static void test_op_decode_rejects_non_canonical_integer(void **state)
{
	struct fx *fx = *state;
	/* seq 2 of the first batch written as 0x18 0x02 */
	struct ml_buf b = ML_BUF_INIT;
	ml_buf_add(&b, fx->unsigned_op.data, fx->unsigned_op.len);
	assert_int_equal(decode_with_value(fx, &b, "seq", "1802"), ML_ENONCANON);
	ml_buf_release(&b);
}

static void test_op_decode_rejects_wrong_types(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *key, *hex;
		int want;
	} cases[] = {
	    {"seq", "6132", ML_ETYPE},                                          /* text */
	    {"seq", "20", ML_ETYPE},                                            /* negative */
	    {"lane", "01", ML_ETYPE},                                           /* integer */
	    {"lane", "63786979", ML_EFIELD},                                    /* "xiy" */
	    {"body", "80", ML_ETYPE},                                           /* array, not map */
	    {"hlc", "01", ML_ETYPE},                                            /* not an array */
	    {"hlc", "8101", ML_EFIELD},                                         /* one element */
	    {"type", "6454455354", ML_EFIELD},                                  /* "TEST" */
	    {"author", "4100", ML_EFIELD},                                      /* one byte */
	    {"unit", "f6", ML_ETYPE},                                           /* null */
	    {"v", "02", ML_EVERSION},          {"hlc", "82f93c0000", ML_ETYPE}, /* float ms */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ml_buf b = ML_BUF_INIT;
		ml_buf_add(&b, fx->unsigned_op.data, fx->unsigned_op.len);
		int rc = decode_with_value(fx, &b, cases[i].key, cases[i].hex);
		if (rc != cases[i].want)
			fail_msg("%s = %s: got %s, want %s", cases[i].key, cases[i].hex,
			         ml_err_name(rc), ml_err_name(cases[i].want));
		ml_buf_release(&b);
	}
}

static void test_op_decode_rejects_unsorted_and_duplicate_keys(void **state)
{
	struct fx *fx = *state;
	/* Move the "v" entry (first) to the end: keys out of order. */
	struct ml_buf b = ML_BUF_INIT;
	ml_buf_add(&b, fx->unsigned_op.data, fx->unsigned_op.len);
	uint8_t v_entry[] = {0x61, 'v', 0x01};
	assert_int_equal(splice_bytes(&b, 1, 3, NULL, 0), 0);
	ml_buf_add(&b, v_entry, 3);
	struct ml_op op;
	assert_int_equal(decode_buf(&b, &fx->net, &op), ML_ENONCANON);

	/* Repeat "v" (count+1): duplicate key. */
	ml_buf_reset(&b);
	ml_buf_add(&b, fx->unsigned_op.data, fx->unsigned_op.len);
	b.data[0]++;
	splice_bytes(&b, 4, 0, v_entry, 3);
	assert_int_equal(decode_buf(&b, &fx->net, &op), ML_ENONCANON);
	ml_buf_release(&b);
}

static void test_op_decode_rejects_unknown_and_missing_fields(void **state)
{
	struct fx *fx = *state;
	struct ml_buf b = ML_BUF_INIT, err = ML_BUF_INIT;
	struct ml_op op;
	/* Rename "lane" to "lame". */
	ml_buf_add(&b, fx->unsigned_op.data, fx->unsigned_op.len);
	b.data[splice_find_key(&b, "lane") + 3] = 'm';
	assert_int_equal(ml_op_decode(b.data, b.len, &fx->net, &op, &err), ML_EFIELD);
	assert_non_null(strstr(ml_buf_str(&err), "unknown field 'lame'"));

	/* Drop "type" and its value. */
	ml_buf_reset(&b);
	ml_buf_add(&b, fx->unsigned_op.data, fx->unsigned_op.len);
	size_t at = splice_find_key(&b, "type");
	size_t n = 5 + splice_item_len(&b, at + 5);
	splice_bytes(&b, at, n, NULL, 0);
	b.data[0]--;
	assert_int_equal(ml_op_decode(b.data, b.len, &fx->net, &op, &err), ML_EFIELD);
	assert_string_equal(ml_buf_str(&err), "missing field 'type'");
	ml_buf_release(&b);
	ml_buf_release(&err);
}

static void test_op_decode_rejects_indefinite_map(void **state)
{
	struct fx *fx = *state;
	struct ml_buf b = ML_BUF_INIT;
	ml_buf_add(&b, fx->unsigned_op.data, fx->unsigned_op.len);
	b.data[0] = 0xbf;
	ml_buf_add(&b, "\xff", 1);
	struct ml_op op;
	assert_int_equal(decode_buf(&b, &fx->net, &op), ML_ENONCANON);
	ml_buf_release(&b);
}

static void test_op_seal_refuses_foreign_key(void **state)
{
	struct fx *fx = *state;
	struct ml_op op;
	assert_int_equal(decode_buf(&fx->unsigned_op, &fx->net, &op), ML_OK);
	struct ml_key *other = test_key(9);
	struct ml_buf out = ML_BUF_INIT;
	assert_int_equal(ml_op_seal(&op, other, &out, NULL), ML_EINVAL);
	assert_int_equal(out.len, 0);
	ml_key_free(other);
	ml_buf_release(&out);
}

static void test_op_encode_validates_fields(void **state)
{
	struct fx *fx = *state;
	struct ml_op base, op;
	assert_int_equal(decode_buf(&fx->unsigned_op, &fx->net, &base), ML_OK);
	struct ml_buf out = ML_BUF_INIT;

	op = base;
	strcpy(op.type, "Bad-Type");
	assert_int_equal(ml_op_encode(&op, &out, NULL), ML_EFIELD);

	op = base;
	strcpy(op.type, ML_OP_TYPE_GENESIS); /* genesis with net and unit */
	assert_int_equal(ml_op_encode(&op, &out, NULL), ML_EFIELD);

	op = base;
	op.deps = op.prev.b; /* naming its own prev */
	op.ndeps = 1;
	assert_int_equal(ml_op_encode(&op, &out, NULL), ML_EFIELD);

	uint8_t two[64];
	memset(two, 0xee, 32);
	memset(two + 32, 0x11, 32);
	op = base;
	op.deps = two; /* descending */
	op.ndeps = 2;
	assert_int_equal(ml_op_encode(&op, &out, NULL), ML_ENONCANON);

	op = base;
	op.seq = 0;
	assert_int_equal(ml_op_encode(&op, &out, NULL), ML_EFIELD);

	op = base;
	op.has_unit = false;
	assert_int_equal(ml_op_encode(&op, &out, NULL), ML_EFIELD);
	assert_int_equal(out.len, 0);

	op = base;
	memcpy(two, two + 32, 32);
	memset(two + 32, 0xee, 32);
	op.deps = two;
	op.ndeps = 2;
	assert_int_equal(ml_op_encode(&op, &out, NULL), ML_OK);
	struct ml_op back;
	assert_int_equal(ml_op_parse(out.data, out.len, &back, NULL), ML_OK);
	assert_int_equal(back.ndeps, 2);
	struct ml_hash d1 = ml_op_dep(&back, 1);
	assert_int_equal(d1.b[0], 0xee);
	ml_buf_release(&out);
}

static void test_op_error_names_round_trip(void **state)
{
	(void)state;
	assert_int_equal(ml_err_from_name("ML_EBADSIG"), ML_EBADSIG);
	assert_int_equal(ml_err_from_name("ENONCANON"), ML_ENONCANON);
	assert_string_equal(ml_err_name(ML_ETRAILING), "ML_ETRAILING");
	assert_string_equal(ml_err_name(12345), "ML_EUNKNOWN");
	assert_string_equal(ml_strerror(ML_OK), "success");
}

int main(void)
{
	ml_crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_op_roundtrip_keeps_every_field, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_op_genesis_names_the_network, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_op_unsigned_op_decodes_without_signature, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_op_decode_rejects_wrong_network, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_op_decode_rejects_bad_signature, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_op_decode_rejects_every_bit_flip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_op_decode_rejects_every_truncation, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_op_decode_rejects_trailing_bytes, setup, teardown),
	    cmocka_unit_test(test_op_decode_rejects_oversize_before_parsing),
	    cmocka_unit_test_setup_teardown(test_op_encode_refuses_oversize_body, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_op_decode_rejects_non_canonical_integer, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_op_decode_rejects_wrong_types, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_op_decode_rejects_unsorted_and_duplicate_keys,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_op_decode_rejects_unknown_and_missing_fields,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_op_decode_rejects_indefinite_map, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_op_seal_refuses_foreign_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_op_encode_validates_fields, setup, teardown),
	    cmocka_unit_test(test_op_error_names_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
