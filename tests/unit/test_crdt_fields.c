/*
 * test_crdt_fields.c - field rules, Vietnamese folding, member numbers, bodies, frontiers.
 */
#include "test.h"

#include "crdt/body.h"
#include "crdt/err.h"
#include "crdt/fields.h"
#include "crdt/frontier.h"
#include "crdt/number.h"

#include <string.h>

static void test_fields_dates_are_dd_mm_yyyy(void **state)
{
	(void)state;
	struct ml_date d;
	assert_int_equal(ml_field_date("22/10/1990", 10, &d, NULL), ML_OK);
	assert_int_equal(d.year, 1990);
	assert_int_equal(d.month, 10);
	assert_int_equal(d.day, 22);
	assert_int_equal(ml_field_date("29/02/2024", 10, NULL, NULL), ML_OK);
	static const char *bad[] = {"29/02/2023", "31/04/2020", "1990-10-22", "2/10/1990",
	                            "22/13/1990", "00/01/1990", "22/10/1890", "22/10/199a"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(ml_field_date(bad[i], strlen(bad[i]), NULL, NULL), ML_EFIELD);
	struct ml_buf err = ML_BUF_INIT;
	ml_field_date("1990-10-22", 10, NULL, &err);
	assert_non_null(strstr(ml_buf_str(&err), "dd/MM/yyyy"));
	ml_buf_release(&err);
	struct ml_date a = {1900, 1, 1}, b = {1900, 3, 1};
	assert_int_equal(ml_date_days(&a), 0);
	assert_int_equal(ml_date_days(&b), 59); /* 1900 is not a leap year */
}

static void test_fields_id_numbers_and_phones(void **state)
{
	(void)state;
	assert_int_equal(ml_field_id_number("109814122", 9, NULL), ML_OK);
	assert_int_equal(ml_field_id_number("001090012345", 12, NULL), ML_OK);
	assert_int_equal(ml_field_id_number("10981412", 8, NULL), ML_EFIELD);
	assert_int_equal(ml_field_id_number("1098141223", 10, NULL), ML_EFIELD);
	assert_int_equal(ml_field_id_number("10981412x", 9, NULL), ML_EFIELD);
	assert_int_equal(ml_field_phone("0912345678", 10, NULL), ML_OK);
	assert_int_equal(ml_field_phone("+84912345678", 12, NULL), ML_OK);
	assert_int_equal(ml_field_phone("912345678", 9, NULL), ML_EFIELD);
	assert_int_equal(ml_field_phone("+840912345678", 13, NULL), ML_EFIELD);
}

static void test_fields_names_must_be_nfc_and_tidy(void **state)
{
	(void)state;
	const char *nfc = "Nguyễn Thị Đào";
	assert_int_equal(ml_field_name(nfc, strlen(nfc), 100, NULL), ML_OK);
	/* the same name decomposed: e + combining circumflex + combining tilde */
	const char *nfd = "Nguye\xcc\x82\xcc\x83n";
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(ml_field_name(nfd, strlen(nfd), 100, &err), ML_EFIELD);
	assert_non_null(strstr(ml_buf_str(&err), "NFC"));
	assert_int_equal(ml_field_name("", 0, 100, NULL), ML_EFIELD);
	assert_int_equal(ml_field_name(" An", 3, 100, NULL), ML_EFIELD);
	assert_int_equal(ml_field_name("An  Binh", 8, 100, NULL), ML_EFIELD);
	assert_int_equal(ml_field_name("A\tB", 3, 100, NULL), ML_EFIELD);
	assert_int_equal(ml_field_name("Đạt", strlen("Đạt"), 3, NULL), ML_OK); /* 3 characters */
	assert_int_equal(ml_field_name("Đạt", strlen("Đạt"), 2, NULL), ML_EFIELD);
	ml_buf_release(&err);
}

static void test_fields_fold_ignores_diacritics_including_d(void **state)
{
	(void)state;
	static const char *in[] = {"Nguyễn Thị Đào", "NGUYỄN  THỊ ĐÀO ",
	                           ("Nguye\xcc\x82\xcc\x83n Thi\xcc\xa3 D\xcc\x80"
	                            "ao"),
	                           "nguyen thi dao"};
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
		struct ml_buf out = ML_BUF_INIT;
		assert_int_equal(ml_fold(in[i], strlen(in[i]), &out), ML_OK);
		if (i == 2)
			assert_string_equal(ml_buf_str(&out),
			                    "nguyen thi dao"); /* plain D in NFD */
		else
			assert_string_equal(ml_buf_str(&out), "nguyen thi dao");
		ml_buf_release(&out);
	}
	struct ml_buf out = ML_BUF_INIT;
	assert_int_equal(ml_fold("Lê Bá Đạt", strlen("Lê Bá Đạt"), &out), ML_OK);
	assert_string_equal(ml_buf_str(&out), "le ba dat");
	ml_buf_release(&out);
}

static void test_number_check_digit_catches_typos(void **state)
{
	(void)state;
	char n[13];
	ml_number_format(12345678901ULL, n);
	assert_int_equal(strlen(n), 12);
	uint64_t serial;
	assert_int_equal(ml_number_parse(n, 12, &serial, NULL), ML_OK);
	assert_int_equal(serial, 12345678901ULL);
	/* every single-digit error and every adjacent swap is caught */
	for (int i = 0; i < 12; i++) {
		for (char d = '0'; d <= '9'; d++) {
			char m[13];
			memcpy(m, n, 13);
			if (m[i] == d)
				continue;
			m[i] = d;
			assert_int_equal(ml_number_parse(m, 12, &serial, NULL), ML_EFIELD);
		}
		if (i < 11 && n[i] != n[i + 1]) {
			char m[13];
			memcpy(m, n, 13);
			m[i] = n[i + 1];
			m[i + 1] = n[i];
			assert_int_equal(ml_number_parse(m, 12, &serial, NULL), ML_EFIELD);
		}
	}
	assert_int_equal(ml_number_parse("12345", 5, &serial, NULL), ML_EFIELD);
	ml_number_format(0, n);
	assert_string_equal(n, "000000000000"); /* Damm of all zeros is 0 */
}

static void test_number_ranges(void **state)
{
	(void)state;
	struct ml_range all = {0, ML_SERIAL_LIMIT}, a = {100, 50}, b = {149, 10}, c = {150, 10};
	assert_true(ml_range_valid(all));
	assert_false(ml_range_valid((struct ml_range){ML_SERIAL_LIMIT - 5, 6}));
	assert_false(ml_range_valid((struct ml_range){5, 0}));
	assert_true(ml_range_contains(all, a));
	assert_false(ml_range_contains(a, b));
	assert_true(ml_range_overlap(a, b));
	assert_false(ml_range_overlap(a, c));
	assert_true(ml_range_has(a, 149));
	assert_false(ml_range_has(a, 150));
}

static void test_body_builder_sorts_and_reads_back(void **state)
{
	(void)state;
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "union_join_date", "11/02/2012");
	ml_bb_cstr(&bb, "full_name", "Lê Văn Lương");
	ml_bb_bool(&bb, "pays_dues", true);
	ml_bb_cstr(&bb, "dob", "11/02/1990");
	ml_bb_uint(&bb, "year", 2024);
	struct ml_buf out = ML_BUF_INIT;
	assert_int_equal(ml_bb_finish(&bb, &out), ML_OK);
	ml_bb_release(&bb);
	struct ml_body b;
	assert_int_equal(ml_body_parse(&b, out.data, out.len, NULL), ML_OK);
	assert_int_equal(b.n, 5);
	assert_memory_equal(b.f[0].key, "dob", 3); /* shortest key first */
	assert_memory_equal(b.f[1].key, "year", 4);
	const char *s;
	size_t n;
	assert_int_equal(ml_body_text(&b, "full_name", &s, &n, NULL), ML_OK);
	assert_int_equal(n, strlen("Lê Văn Lương"));
	uint64_t y;
	assert_int_equal(ml_body_uint(&b, "year", &y, NULL), ML_OK);
	assert_int_equal(y, 2024);
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(ml_body_uint(&b, "dob", &y, &err), ML_EFIELD);
	assert_string_equal(ml_buf_str(&err), "field 'dob': expected an unsigned integer");
	assert_int_equal(ml_body_text(&b, "nothing", &s, &n, NULL), ML_ENOTFOUND);
	/* duplicate keys are refused */
	ml_bb_init(&bb);
	ml_bb_uint(&bb, "a", 1);
	ml_bb_uint(&bb, "a", 2);
	struct ml_buf out2 = ML_BUF_INIT;
	assert_int_equal(ml_bb_finish(&bb, &out2), ML_EFIELD);
	ml_bb_release(&bb);
	ml_buf_release(&out);
	ml_buf_release(&out2);
	ml_buf_release(&err);
}

static void test_frontier_merge_raise_and_encoding(void **state)
{
	(void)state;
	struct ml_frontier a = {0}, b = {0}, c = {0};
	assert_int_equal(ml_frontier_raise(&a, 5, 10), ML_OK);
	assert_int_equal(ml_frontier_raise(&a, 2, 3), ML_OK);
	assert_int_equal(ml_frontier_raise(&a, 5, 7), ML_OK); /* never lowers */
	assert_int_equal(ml_frontier_get(&a, 5), 10);
	assert_int_equal(ml_frontier_raise(&b, 3, 1), ML_OK);
	assert_int_equal(ml_frontier_raise(&b, 5, 12), ML_OK);
	assert_int_equal(ml_frontier_raise(&b, 9, 4), ML_OK);
	assert_int_equal(ml_frontier_merge(&a, &b), ML_OK);
	assert_int_equal(a.n, 4);
	uint64_t want[][2] = {{2, 3}, {3, 1}, {5, 12}, {9, 4}};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(a.e[i].feed, want[i][0]);
		assert_int_equal(a.e[i].seq, want[i][1]);
	}
	struct ml_buf enc = ML_BUF_INIT;
	assert_int_equal(ml_frontier_encode(&a, &enc), ML_OK);
	assert_int_equal(ml_frontier_decode(&c, enc.data, enc.len), ML_OK);
	assert_int_equal(c.n, 4);
	assert_int_equal(ml_frontier_get(&c, 9), 4);
	assert_int_equal(ml_frontier_get(&c, 4), 0);
	ml_frontier_drop(&c, 3);
	assert_int_equal(c.n, 3);
	uint8_t junk[] = {0x80, 0x80};
	assert_int_equal(ml_frontier_decode(&c, junk, 2), ML_EMALFORMED);
	ml_buf_release(&enc);
	ml_frontier_release(&a);
	ml_frontier_release(&b);
	ml_frontier_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields_dates_are_dd_mm_yyyy),
	    cmocka_unit_test(test_fields_id_numbers_and_phones),
	    cmocka_unit_test(test_fields_names_must_be_nfc_and_tidy),
	    cmocka_unit_test(test_fields_fold_ignores_diacritics_including_d),
	    cmocka_unit_test(test_number_check_digit_catches_typos),
	    cmocka_unit_test(test_number_ranges),
	    cmocka_unit_test(test_body_builder_sorts_and_reads_back),
	    cmocka_unit_test(test_frontier_merge_raise_and_encoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
