/*
 * test_crdt_codec.c - the strict CBOR reader and the canonical writer.
 */
#include "test.h"

#include "crdt/codec.h"
#include "crdt/err.h"

/* Reads one complete value from hex; returns the reader's error. */
static int read_hex_value(const char *hex, int depth)
{
	uint8_t buf[256];
	size_t n = test_unhex(hex, buf, sizeof buf);
	struct ml_reader r;
	size_t start, len;
	ml_rd_init(&r, buf, n);
	int rc = ml_rd_value(&r, depth, &start, &len);
	if (rc == ML_OK && r.off != n)
		return ML_ETRAILING;
	return rc;
}

static void test_codec_accepts_shortest_integers(void **state)
{
	(void)state;
	assert_int_equal(read_hex_value("17", 4), ML_OK);
	assert_int_equal(read_hex_value("1818", 4), ML_OK);
	assert_int_equal(read_hex_value("1901f4", 4), ML_OK);
	assert_int_equal(read_hex_value("1a00010000", 4), ML_OK);
	assert_int_equal(read_hex_value("1b0000000100000000", 4), ML_OK);
	assert_int_equal(read_hex_value("3818", 4), ML_OK); /* -25 */
}

static void test_codec_rejects_non_shortest_integers(void **state)
{
	(void)state;
	assert_int_equal(read_hex_value("1817", 4), ML_ENONCANON);               /* 23 in 1 byte */
	assert_int_equal(read_hex_value("190017", 4), ML_ENONCANON);             /* in 2 bytes */
	assert_int_equal(read_hex_value("1a0000ffff", 4), ML_ENONCANON);         /* in 4 bytes */
	assert_int_equal(read_hex_value("1b00000000ffffffff", 4), ML_ENONCANON); /* in 8 */
	assert_int_equal(read_hex_value("3817", 4), ML_ENONCANON);               /* negative */
	assert_int_equal(read_hex_value("580161", 4), ML_ENONCANON);   /* bytes length 1 wide */
	assert_int_equal(read_hex_value("98020101", 4), ML_ENONCANON); /* array count wide */
}

static void test_codec_rejects_indefinite_lengths(void **state)
{
	(void)state;
	assert_int_equal(read_hex_value("9f01ff", 4), ML_ENONCANON);
	assert_int_equal(read_hex_value("bf616101ff", 4), ML_ENONCANON);
	assert_int_equal(read_hex_value("5f4101ff", 4), ML_ENONCANON);
	assert_int_equal(read_hex_value("7f6161ff", 4), ML_ENONCANON);
	assert_int_equal(read_hex_value("ff", 4), ML_EMALFORMED); /* lone break */
}

static void test_codec_rejects_floats_tags_undefined(void **state)
{
	(void)state;
	assert_int_equal(read_hex_value("f93c00", 4), ML_ETYPE);             /* half 1.0 */
	assert_int_equal(read_hex_value("fb3ff0000000000000", 4), ML_ETYPE); /* double */
	assert_int_equal(read_hex_value("c11a514b67b0", 4), ML_ETYPE);       /* tag 1 */
	assert_int_equal(read_hex_value("f7", 4), ML_ETYPE);                 /* undefined */
	assert_int_equal(read_hex_value("f0", 4), ML_EMALFORMED);            /* simple 16 */
	assert_int_equal(read_hex_value("1c", 4), ML_EMALFORMED);            /* reserved */
	assert_int_equal(read_hex_value("f4", 4), ML_OK);
	assert_int_equal(read_hex_value("f6", 4), ML_OK);
}

static void test_codec_rejects_truncated_input(void **state)
{
	(void)state;
	assert_int_equal(read_hex_value("19", 4), ML_ETRUNCATED);
	assert_int_equal(read_hex_value("4501", 4), ML_ETRUNCATED);
	assert_int_equal(read_hex_value("8301", 4), ML_ETRUNCATED);
	assert_int_equal(read_hex_value("a161", 4), ML_ETRUNCATED);
	/* A count no input could hold is refused before any loop runs. */
	assert_int_equal(read_hex_value("9bffffffffffffffff", 4), ML_ETRUNCATED);
	assert_int_equal(read_hex_value("5bffffffffffffffff", 4), ML_ETRUNCATED);
}

static void test_codec_map_keys_must_be_sorted_text(void **state)
{
	(void)state;
	assert_int_equal(read_hex_value("a2616101616202", 4), ML_OK);        /* {a:1,b:2} */
	assert_int_equal(read_hex_value("a2616201616102", 4), ML_ENONCANON); /* {b,a} */
	assert_int_equal(read_hex_value("a2616101616102", 4), ML_ENONCANON); /* dup */
	assert_int_equal(read_hex_value("a26161016162", 4), ML_ETRUNCATED);
	/* shorter keys first: {"b":1, "aa":2} is canonical, {"aa":2,"b":1} is not */
	assert_int_equal(read_hex_value("a2616201626161 02", 4), ML_OK);
	assert_int_equal(read_hex_value("a2626161026162 01", 4), ML_ENONCANON);
	assert_int_equal(read_hex_value("a10101", 4), ML_ETYPE); /* integer key */
}

static void test_codec_rejects_invalid_utf8(void **state)
{
	(void)state;
	assert_int_equal(read_hex_value("62c3a9", 4), ML_OK); /* "é" */
	assert_int_equal(read_hex_value("61ff", 4), ML_EMALFORMED);
	assert_int_equal(read_hex_value("62c0af", 4), ML_EMALFORMED);     /* overlong '/' */
	assert_int_equal(read_hex_value("63eda080", 4), ML_EMALFORMED);   /* surrogate */
	assert_int_equal(read_hex_value("64f4900000", 4), ML_EMALFORMED); /* > U+10FFFF */
	assert_int_equal(read_hex_value("62e1bb", 4), ML_EMALFORMED);     /* cut sequence */
}

static void test_codec_bounds_nesting_depth(void **state)
{
	(void)state;
	assert_int_equal(read_hex_value("818180", 3), ML_OK);
	assert_int_equal(read_hex_value("81818180", 3), ML_ETOOBIG);
}

static void test_codec_errors_are_sticky(void **state)
{
	(void)state;
	uint8_t buf[] = {0x18, 0x05, 0x01};
	struct ml_reader r;
	ml_rd_init(&r, buf, sizeof buf);
	assert_int_equal(ml_rd_uint(&r), 0);
	assert_int_equal(r.err, ML_ENONCANON);
	assert_int_equal(r.err_off, 0);
	assert_int_equal(ml_rd_uint(&r), 0); /* later reads return zero */
	assert_int_equal(r.err, ML_ENONCANON);
}

static void test_codec_typed_reads_check_kind(void **state)
{
	(void)state;
	uint8_t buf[] = {0x61, 'x'};
	struct ml_reader r;
	ml_rd_init(&r, buf, sizeof buf);
	ml_rd_uint(&r);
	assert_int_equal(r.err, ML_ETYPE);
	struct ml_buf msg = ML_BUF_INIT;
	ml_rd_describe(&r, &msg);
	assert_string_equal(ml_buf_str(&msg), "expected an unsigned integer at byte 0");
	ml_buf_release(&msg);
}

static void test_codec_writer_emits_shortest_forms(void **state)
{
	(void)state;
	struct ml_buf b = ML_BUF_INIT;
	struct ml_writer w;
	ml_wr_init(&w, &b);
	ml_wr_uint(&w, 23);
	ml_wr_uint(&w, 24);
	ml_wr_uint(&w, 65536);
	ml_wr_negint(&w, 0);
	ml_wr_bytes(&w, "ab", 2);
	ml_wr_cstr(&w, "x");
	ml_wr_array(&w, 0);
	ml_wr_map(&w, 1);
	ml_wr_bool(&w, true);
	ml_wr_null(&w);
	assert_int_equal(w.err, ML_OK);
	test_assert_hex(b.data, b.len,
	                "171818"
	                "1a00010000"
	                "20"
	                "426162"
	                "6178"
	                "80"
	                "a1"
	                "f5"
	                "f6");
	ml_buf_release(&b);
}

static void test_codec_compare_mode_finds_first_difference(void **state)
{
	(void)state;
	uint8_t ref[] = {0x18, 0x18, 0x01};
	struct ml_writer w;
	ml_wr_init_compare(&w, ref, sizeof ref);
	ml_wr_uint(&w, 24);
	ml_wr_uint(&w, 1);
	assert_int_equal(ml_wr_compare_done(&w), ML_OK);

	ml_wr_init_compare(&w, ref, sizeof ref);
	ml_wr_uint(&w, 24);
	ml_wr_uint(&w, 2);
	assert_int_equal(ml_wr_compare_done(&w), ML_ENONCANON);
	assert_int_equal(w.mismatch, 2);

	ml_wr_init_compare(&w, ref, sizeof ref);
	ml_wr_uint(&w, 24);
	assert_int_equal(ml_wr_compare_done(&w), ML_ENONCANON); /* too short */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codec_accepts_shortest_integers),
	    cmocka_unit_test(test_codec_rejects_non_shortest_integers),
	    cmocka_unit_test(test_codec_rejects_indefinite_lengths),
	    cmocka_unit_test(test_codec_rejects_floats_tags_undefined),
	    cmocka_unit_test(test_codec_rejects_truncated_input),
	    cmocka_unit_test(test_codec_map_keys_must_be_sorted_text),
	    cmocka_unit_test(test_codec_rejects_invalid_utf8),
	    cmocka_unit_test(test_codec_bounds_nesting_depth),
	    cmocka_unit_test(test_codec_errors_are_sticky),
	    cmocka_unit_test(test_codec_typed_reads_check_kind),
	    cmocka_unit_test(test_codec_writer_emits_shortest_forms),
	    cmocka_unit_test(test_codec_compare_mode_finds_first_difference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
