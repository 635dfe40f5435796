/*
 * test_cli_export.c - the member lists (cli/export.h) in both formats, read
 * back through cli/sheet.h: layout, headers, labels, byte-exact Vietnamese
 * text, text-typed digits, CSV quoting, reproducible workbooks, refusals of
 * bad input, and no file left behind by a failed export.
 *
 * argv[1] is tests/fixtures (unused here; every test unit gets it).
 */
#include "test.h"
#include "test_cli.h"

#include "cli/export.h"
#include "cli/sheet.h"
#include "crdt/alloc.h"
#include "crdt/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

/* 24/06/2024 03:00:00 UTC, 10:00 in Vietnam */
#define EXPORTED_AT 1719198000

static const struct export_title title = {"Công đoàn cơ sở Phường 1", "3f9a0c", EXPORTED_AT};

static const char *const positions_a[] = {"group_deputy", "chair"};

static const struct export_member members[] = {
    {
        .member_number = "000000000017",
        .full_name = "Nguyễn Thị Đào",
        .dob = "22/10/1990",
        .gender = "female",
        .hometown = "Hà Nội",
        .id_number = "001090012345",
        .phone = "0912345678",
        .positions = positions_a,
        .n_positions = 2,
        .union_join_date = "11/02/2012",
        .full_time_cadre = true,
        .unit_name = "Tổ 3, Phường 1",
        .state = ML_REC_OFFICIAL,
        .status = "active",
    },
    {
        .member_number = NULL,
        .full_name = "Lê \"Bé\", Văn",
        .gender = NULL,
        .id_number = "109814122",
        .union_join_date = "01/03/2012",
        .unit_name = "Tổ 3, Phường 1",
        .state = ML_REC_DRAFT,
    },
    {
        .member_number = "000000000025",
        .full_name = "Trần Văn\nHai",
        .gender = "male",
        .id_number = "109814123",
        .state = ML_REC_RETURNED,
        .status = "reduced",
    },
};

static const char *const member_headers[] = {
    "TT",
    "Mã số đoàn viên",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Quê quán",
    "Số CMND/CCCD",
    "Số điện thoại",
    "Chức vụ CĐ",
    "Ngày vào CĐ",
    "Cán bộ CĐ chuyên trách",
    "Đơn vị",
    "Trạng thái bản ghi",
    "Tình trạng",
};

static void assert_cell(const struct sheet *sh, uint32_t row, uint32_t col, const char *text)
{
	const struct sheet_cell *c = sheet_get(sh, row, col);
	if (!text || !*text) {
		if (c)
			fail_msg("row %u, column %u: want empty, got '%s'", row, col, c->text);
		return;
	}
	if (!c)
		fail_msg("no cell at row %u, column %u (want '%s')", row, col, text);
	assert_string_equal(c->text, text);
	assert_false(c->numeric); /* every value is text */
}

/* Returns the text of one part of the ZIP at path; caller frees. */
static char *zip_part(const char *path, const char *name)
{
	int zerr;
	zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
	assert_non_null(z);
	zip_stat_t st;
	assert_int_equal(zip_stat(z, name, 0, &st), 0);
	char *buf = calloc(1, st.size + 1);
	zip_file_t *f = zip_fopen(z, name, 0);
	assert_non_null(f);
	assert_int_equal(zip_fread(f, buf, st.size), (zip_int64_t)st.size);
	zip_fclose(f);
	zip_discard(z);
	return buf;
}

static void check_member_list(const struct sheet *sh)
{
	assert_cell(sh, 1, 1, "DANH SÁCH CHI TIẾT ĐOÀN VIÊN");
	assert_cell(sh, 2, 1, "Đơn vị: Công đoàn cơ sở Phường 1 (mã: 3f9a0c)");
	assert_cell(sh, 3, 1, "Thời gian xuất: 24/06/2024 10:00:00 (UTC+7)");
	for (uint32_t c = 0; c < 14; c++)
		assert_cell(sh, 4, c + 1, member_headers[c]);
	assert_null(sheet_get(sh, 4, 15));
	static const char *const row5[] = {
	    "1",      "000000000017",   "Nguyễn Thị Đào", "22/10/1990",       "Nữ",
	    "Hà Nội", "001090012345",   "0912345678",     "Chủ tịch, Tổ phó", "11/02/2012",
	    "x",      "Tổ 3, Phường 1", "Chính thức",     "Đang sinh hoạt",
	};
	static const char *const row6[] = {
	    "2",          "", "Lê \"Bé\", Văn", "",     "", "", "109814122", "", "",
	    "01/03/2012", "", "Tổ 3, Phường 1", "Nháp", "",
	};
	static const char *const row7[] = {
	    "3", "000000000025", "Trần Văn\nHai", "", "Nam", "", "109814123", "", "", "", "",
	    "",  "Trả lại",      "Đã báo giảm",
	};
	for (uint32_t c = 0; c < 14; c++) {
		assert_cell(sh, 5, c + 1, row5[c]);
		assert_cell(sh, 6, c + 1, row6[c]);
		assert_cell(sh, 7, c + 1, row7[c]);
	}
	assert_int_equal(sh->max_row, 7);
	/* the Vietnamese name comes back byte for byte */
	const struct sheet_cell *name = sheet_get(sh, 5, 3);
	assert_int_equal(name->len, strlen(members[0].full_name));
	assert_memory_equal(name->text, members[0].full_name, name->len);
}

static void test_export_members_xlsx_reads_back(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	char *path = cli_test_path(dir, "chi-tiet.xlsx");
	struct ml_buf err = ML_BUF_INIT;
	TEST_OK(&err, export_members_write(path, &title, members, 3, &err));
	assert_int_equal(cli_test_count_files(dir), 1); /* no temporary file left */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	struct sheet sh;
	TEST_OK(&err, sheet_read(path, &sh, &err));
	assert_true(sh.xlsx);
	check_member_list(&sh);
	sheet_release(&sh);

	char *wb = zip_part(path, "xl/workbook.xml");
	assert_non_null(strstr(wb, "name=\"Danh sách chi tiết\""));
	char *core = zip_part(path, "docProps/core.xml");
	assert_non_null(strstr(core, "2024-06-24T03:00:00Z"));
	free(core);
	free(wb);
	free(path);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void test_export_xlsx_is_reproducible(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	char *a = cli_test_path(dir, "a.xlsx"), *b = cli_test_path(dir, "b.xlsx");
	struct ml_buf err = ML_BUF_INIT;
	TEST_OK(&err, export_members_write(a, &title, members, 3, &err));
	sleep(2); /* ZIP timestamps have a 2-second grain: a clock leak would show */
	TEST_OK(&err, export_members_write(b, &title, members, 3, &err));
	size_t na, nb;
	uint8_t *pa = cli_test_read(a, &na), *pb = cli_test_read(b, &nb);
	assert_int_equal(na, nb);
	assert_memory_equal(pa, pb, na);
	free(pa);
	free(pb);
	free(a);
	free(b);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void test_export_members_csv_has_bom_crlf_and_quoting(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	char *path = cli_test_path(dir, "chi-tiet.CSV");
	struct ml_buf err = ML_BUF_INIT;
	TEST_OK(&err, export_members_write(path, &title, members, 3, &err));
	size_t n;
	char *csv = (char *)cli_test_read(path, &n);
	static const char head[] =
	    "\xef\xbb\xbf"
	    "DANH SÁCH CHI TIẾT ĐOÀN VIÊN,,,,,,,,,,,,,\r\n"
	    "Đơn vị: Công đoàn cơ sở Phường 1 (mã: 3f9a0c),,,,,,,,,,,,,\r\n"
	    "Thời gian xuất: 24/06/2024 10:00:00 (UTC+7),,,,,,,,,,,,,\r\n"
	    "TT,Mã số đoàn viên,Họ và tên,Ngày sinh,Giới tính,Quê quán,Số CMND/CCCD,Số điện "
	    "thoại,Chức vụ CĐ,Ngày vào CĐ,Cán bộ CĐ chuyên trách,Đơn vị,Trạng thái bản ghi,Tình "
	    "trạng\r\n"
	    "1,000000000017,Nguyễn Thị Đào,22/10/1990,Nữ,Hà Nội,001090012345,0912345678,\"Chủ "
	    "tịch, "
	    "Tổ phó\",11/02/2012,x,\"Tổ 3, Phường 1\",Chính thức,Đang sinh hoạt\r\n"
	    "2,,\"Lê \"\"Bé\"\", Văn\",,,,109814122,,,01/03/2012,,\"Tổ 3, Phường 1\",Nháp,\r\n"
	    "3,000000000025,\"Trần Văn\nHai\",,Nam,,109814123,,,,,,Trả lại,Đã báo giảm\r\n";
	assert_int_equal(n, strlen(head));
	assert_string_equal(csv, head);
	/* and our own reader gives the same table back */
	struct sheet sh;
	TEST_OK(&err, sheet_read(path, &sh, &err));
	check_member_list(&sh);
	sheet_release(&sh);
	free(csv);
	free(path);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

/* A text from another unit's device that a spreadsheet would run as a formula. */
static void test_export_csv_cells_never_become_formulas(void **state)
{
	(void)state;
	static const struct export_member hostile[] = {
	    {.full_name = "@SUM(1+1)*cmd|' /C calc'!A0",
	     .hometown = "=HYPERLINK(\"http://x\",\"y\")",
	     .id_number = "-12",
	     .phone = "+84912345678",
	     .unit_name = "+84 912 345 678",
	     .state = ML_REC_DRAFT},
	    {.full_name = "-2+3",
	     .hometown = "\t=1+1",
	     .id_number = "109814122",
	     .unit_name = "Tổ 3",
	     .state = ML_REC_DRAFT},
	};
	char *dir = cli_test_tmpdir();
	struct ml_buf err = ML_BUF_INIT;
	char *csv_path = cli_test_path(dir, "l.csv"), *xlsx_path = cli_test_path(dir, "l.xlsx");
	TEST_OK(&err, export_members_write(csv_path, &title, hostile, 2, &err));
	TEST_OK(&err, export_members_write(xlsx_path, &title, hostile, 2, &err));
	size_t n;
	char *csv = (char *)cli_test_read(csv_path, &n);
	assert_non_null(strstr(csv,
	                       "\r\n1,,'@SUM(1+1)*cmd|' /C calc'!A0,,,"
	                       "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",-12,+84912345678,,,,"
	                       "'+84 912 345 678,"));
	assert_non_null(strstr(csv, "\r\n2,,'-2+3,,,'\t=1+1,109814122,"));
	free(csv);
	struct sheet sh;
	TEST_OK(&err, sheet_read(csv_path, &sh, &err));
	assert_cell(&sh, 5, 6, "'=HYPERLINK(\"http://x\",\"y\")");
	assert_cell(&sh, 5, 7, "-12");
	sheet_release(&sh);
	/* The workbook keeps the exact text, as a string cell: no formula element at all. */
	TEST_OK(&err, sheet_read(xlsx_path, &sh, &err));
	assert_cell(&sh, 5, 6, "=HYPERLINK(\"http://x\",\"y\")");
	assert_cell(&sh, 5, 3, "@SUM(1+1)*cmd|' /C calc'!A0");
	sheet_release(&sh);
	char *xml = zip_part(xlsx_path, "xl/worksheets/sheet1.xml");
	assert_null(strstr(xml, "<f>"));
	free(xml);
	free(csv_path);
	free(xlsx_path);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void test_export_card_list_both_formats(void **state)
{
	(void)state;
	static const struct export_card cards[] = {
	    {"000000000017", "Nguyễn Thị Đào", "22/10/1990", "female", "001090012345", "ordinary",
	     "Tổ 3"},
	    {"000000000025", "Trần Văn Hai", NULL, NULL, "109814123", "linked", "Tổ 3"},
	};
	static const char *const headers[] = {"TT",        "Mã số đoàn viên", "Họ và tên",
	                                      "Ngày sinh", "Giới tính",       "Số CMND/CCCD",
	                                      "Loại thẻ",  "Đơn vị"};
	char *dir = cli_test_tmpdir();
	struct ml_buf err = ML_BUF_INIT;
	static const char *const names[] = {"the.xlsx", "the.csv"};
	for (size_t k = 0; k < 2; k++) {
		char *path = cli_test_path(dir, names[k]);
		struct export_title t = {"Tổ 3", NULL, 1719768605};
		TEST_OK(&err, export_cards_write(path, &t, cards, 2, &err));
		struct sheet sh;
		TEST_OK(&err, sheet_read(path, &sh, &err));
		assert_cell(&sh, 1, 1, "DANH SÁCH ĐỀ NGHỊ IN THẺ ĐOÀN VIÊN");
		assert_cell(&sh, 2, 1, "Đơn vị: Tổ 3"); /* no id given, none shown */
		assert_cell(&sh, 3, 1, "Thời gian xuất: 01/07/2024 00:30:05 (UTC+7)");
		for (uint32_t c = 0; c < 8; c++)
			assert_cell(&sh, 4, c + 1, headers[c]);
		assert_cell(&sh, 5, 1, "1");
		assert_cell(&sh, 5, 2, "000000000017");
		assert_cell(&sh, 5, 5, "Nữ");
		assert_cell(&sh, 5, 6, "001090012345");
		assert_cell(&sh, 5, 7, "Thẻ thông thường");
		assert_cell(&sh, 6, 4, "");
		assert_cell(&sh, 6, 5, "");
		assert_cell(&sh, 6, 7, "Thẻ liên kết");
		assert_cell(&sh, 6, 8, "Tổ 3");
		assert_int_equal(sh.max_row, 6);
		assert_int_equal(sh.max_col, 8);
		sheet_release(&sh);
		free(path);
	}
	char *xlsx = cli_test_path(dir, "the.xlsx");
	char *wb = zip_part(xlsx, "xl/workbook.xml");
	assert_non_null(strstr(wb, "name=\"Đề nghị in thẻ\""));
	free(wb);
	free(xlsx);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void test_export_refuses_bad_input_and_writes_nothing(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	char *path = cli_test_path(dir, "x.xlsx");
	struct ml_buf err = ML_BUF_INIT;
	struct export_member m = members[0];

	m.full_name = "Nguy\xe1\xbb";
	assert_int_equal(export_members_write(path, &title, &m, 1, &err), ML_EINVAL);
	assert_string_equal(ml_buf_str(&err),
	                    "cannot export row 1, column 'Họ và tên': it is not valid UTF-8");
	m.full_name = "Tab\tok but bell\a";
	assert_int_equal(export_members_write(path, &title, &m, 1, &err), ML_EINVAL);
	assert_non_null(strstr(ml_buf_str(&err), "holds a control character"));
	m.full_name = members[0].full_name;

	const char *const bad_pos[] = {"chair", "treasurer"};
	m.positions = bad_pos;
	assert_int_equal(export_members_write(path, &title, &m, 1, &err), ML_EINVAL);
	assert_string_equal(ml_buf_str(&err),
	                    "cannot export member 1: unknown position 'treasurer'");
	m.positions = positions_a;
	m.gender = "Nữ"; /* a label is not an identifier */
	assert_int_equal(export_members_write(path, &title, &m, 1, &err), ML_EINVAL);
	assert_non_null(strstr(ml_buf_str(&err), "unknown gender 'Nữ'"));
	m.gender = "female";
	m.status = "gone";
	assert_int_equal(export_members_write(path, &title, &m, 1, &err), ML_EINVAL);
	m.status = NULL;

	struct export_card card = {"1", "A", NULL, NULL, "109814122", "gold", "U"};
	assert_int_equal(export_cards_write(path, &title, &card, 1, &err), ML_EINVAL);
	assert_non_null(strstr(ml_buf_str(&err), "unknown card type 'gold'"));

	char *txt = cli_test_path(dir, "x.txt");
	assert_int_equal(export_members_write(txt, &title, &m, 1, &err), ML_EINVAL);
	assert_non_null(strstr(ml_buf_str(&err), "ending in .xlsx or .csv"));

	/* the generic writer: sheet names and cell sizes */
	const char *hdr[] = {"A"};
	char *huge = malloc(40001);
	memset(huge, 'a', 40000);
	huge[40000] = 0;
	const char *cells[] = {huge};
	struct export_table t = {
	    "Một tên trang tính dài hơn ba mươi mốt ký tự", NULL, 0, hdr, 1, cells, 1, 0};
	assert_int_equal(export_table_write(path, &t, &err), ML_EINVAL);
	assert_non_null(strstr(ml_buf_str(&err), "cannot name a sheet"));
	t.sheet_name = "a/b";
	assert_int_equal(export_table_write(path, &t, &err), ML_EINVAL);
	t.sheet_name = "Trang tính có ba mươi mốt ký tự"; /* exactly 31 characters */
	assert_int_equal(export_table_write(path, &t, &err), ML_EINVAL);
	assert_non_null(strstr(ml_buf_str(&err), "longer than 32767 characters"));
	huge[32767] = 0; /* at the limit it is written */
	TEST_OK(&err, export_table_write(path, &t, &err));
	assert_int_equal(unlink(path), 0);
	free(huge);

	assert_int_equal(cli_test_count_files(dir), 0); /* nothing was written for bad input */
	free(txt);
	free(path);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void test_export_failed_write_leaves_no_file(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	struct ml_buf err = ML_BUF_INIT;
	static const char *const names[] = {"taken.xlsx", "taken.csv"};
	for (size_t k = 0; k < 2; k++) {
		/* the destination is a directory: everything is written, the rename fails */
		char *path = cli_test_path(dir, names[k]);
		assert_int_equal(mkdir(path, 0700), 0);
		char *inside = cli_test_path(path, "keep");
		cli_test_write(inside, "x", 1);
		assert_int_equal(export_members_write(path, &title, members, 3, &err), ML_EIO);
		assert_non_null(strstr(ml_buf_str(&err), "cannot export to '"));
		assert_int_equal(cli_test_count_files(dir), (int)k + 1); /* only the directories */
		assert_int_equal(cli_test_count_files(path), 1);
		free(inside);
		free(path);
	}
	/* a folder that does not exist */
	char *nowhere = cli_test_path(dir, "missing/list.csv");
	assert_int_equal(export_members_write(nowhere, &title, members, 3, &err), ML_EIO);
	assert_non_null(strstr(ml_buf_str(&err), "No such file or directory"));
	free(nowhere);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void test_export_replaces_an_existing_list_whole(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	char *path = cli_test_path(dir, "list.csv");
	cli_test_write(path, "old contents that are longer than nothing", 40);
	struct ml_buf err = ML_BUF_INIT;
	TEST_OK(&err, export_members_write(path, &title, members, 0, &err));
	size_t n;
	char *csv = (char *)cli_test_read(path, &n);
	assert_null(strstr(csv, "old contents"));
	assert_non_null(strstr(csv, "\r\nTT,Mã số đoàn viên,"));
	assert_true(n > 3 && memcmp(csv + n - 2, "\r\n", 2) == 0);
	assert_int_equal(cli_test_count_files(dir), 1);
	free(csv);
	free(path);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void test_export_time_is_vietnam_time(void **state)
{
	(void)state;
	char s[32];
	export_format_time(0, s);
	assert_string_equal(s, "01/01/1970 07:00:00 (UTC+7)");
	export_format_time(EXPORTED_AT, s);
	assert_string_equal(s, "24/06/2024 10:00:00 (UTC+7)");
	export_format_time(1719768605, s); /* 17:30 UTC on 30 June is past midnight in Vietnam */
	assert_string_equal(s, "01/07/2024 00:30:05 (UTC+7)");
}

static void test_export_allocation_failures_are_errors(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	static const char *const names[] = {"f.csv", "f.xlsx"};
	for (size_t k = 0; k < 2; k++) {
		char *path = cli_test_path(dir, names[k]);
		bool done = false;
		for (unsigned long fail = 1; !done && fail < 10000; fail++) {
			ml_alloc_fail_at(fail);
			int rc = export_members_write(path, &title, members, 3, NULL);
			ml_alloc_fail_at(0);
			if (rc != ML_OK && rc != ML_ENOMEM)
				fail_msg("%s, failing allocation %lu: %s", names[k], fail,
				         ml_err_name(rc));
			done = rc == ML_OK;
			/* a failed export leaves nothing; a good one leaves just the list */
			assert_int_equal(cli_test_count_files(dir), done ? 1 : 0);
		}
		assert_true(done);
		assert_int_equal(unlink(path), 0);
		free(path);
	}
	cli_test_rmdir(dir);
}

int main(int argc, char **argv)
{
	(void)argc, (void)argv;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_export_members_xlsx_reads_back),
	    cmocka_unit_test(test_export_xlsx_is_reproducible),
	    cmocka_unit_test(test_export_members_csv_has_bom_crlf_and_quoting),
	    cmocka_unit_test(test_export_csv_cells_never_become_formulas),
	    cmocka_unit_test(test_export_card_list_both_formats),
	    cmocka_unit_test(test_export_refuses_bad_input_and_writes_nothing),
	    cmocka_unit_test(test_export_failed_write_leaves_no_file),
	    cmocka_unit_test(test_export_replaces_an_existing_list_whole),
	    cmocka_unit_test(test_export_time_is_vietnam_time),
	    cmocka_unit_test(test_export_allocation_failures_are_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
