/*
 * test_cli_template.c - the Phụ lục 03 new-member template (cli/template.h):
 * the sample rows of requirements §3 as CSV (comma, and semicolon with BOM
 * and CRLF as Excel in vi-VN writes it) and as XLSX with numeric cells, the
 * refusal of other files, every rule with its row and column, the end of the
 * data, and allocation failures.
 *
 * argv[1] is tests/fixtures.
 */
#include "test.h"
#include "test_cli.h"

#include "cli/template.h"
#include "crdt/alloc.h"
#include "crdt/err.h"
#include "crdt/fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

static const char *fixtures;

/* The template's two header rows and its numbering row, as CSV. */
static const char csv_head[] =
    "TT,Họ và tên *,Ngày tháng năm sinh (ngày/tháng/năm),,Quê quán,Số CMND *,Chức vụ CĐ tại "
    "CĐCS,,,,,,,Ngày vào CĐ *,Mã thẻ\n"
    ",,Nam,Nữ,,,Chủ tịch,Phó chủ tịch,UVBCH,Tổ trưởng,Tổ phó,CB CĐCS thành viên CĐ,UVUBKT,,\n"
    "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n";

/* Requirements §3's sample rows, as the parse must give them. */
static const struct want {
	const char *name, *dob;
	enum tpl_gender gender;
	const char *id;
	const char *positions[4];
	bool full_time;
} sample[9] = {
    {"Lê Văn Lương",
     "11/02/1990",
     TPL_GENDER_MALE,
     "109814122",
     {"chair", "exec_committee_member", "member_base_union_officer"},
     false},
    {"Trần Thị Bé",
     "11/02/1991",
     TPL_GENDER_MALE,
     "109814123",
     {"group_deputy", "member_base_union_officer", "inspection_committee_member"},
     false},
    {"Nguyễn Tuấn Phước", "11/02/1992", TPL_GENDER_FEMALE, "109814124", {"group_leader"}, false},
    {"Huỳnh Lê Tuấn Anh",
     "11/02/1993",
     TPL_GENDER_MALE,
     "109814125",
     {"vice_chair", "group_deputy"},
     true},
    {"Nguyễn Thị Nụ", "11/02/1994", TPL_GENDER_MALE, "109814126", {NULL}, false},
    {"Trịnh Văn Sang",
     "11/02/1995",
     TPL_GENDER_MALE,
     "109814127",
     {"exec_committee_member", "member_base_union_officer", "inspection_committee_member"},
     false},
    {"Lê Bá Đạt", "11/02/1996", TPL_GENDER_FEMALE, "109814128", {"chair", "group_deputy"}, false},
    {"Nguyễn Quý Phước",
     "11/02/1997",
     TPL_GENDER_MALE,
     "109814129",
     {"member_base_union_officer"},
     false},
    {"Hồ Tuấn Tài", "11/02/1998", TPL_GENDER_FEMALE, "109814130", {NULL}, false},
};

static unsigned position_bits(const char *const *ids)
{
	unsigned bits = 0;
	for (size_t i = 0; i < 4 && ids[i]; i++) {
		int k = ml_enum_index(ml_positions, ids[i], strlen(ids[i]));
		assert_true(k >= 0);
		bits |= 1u << k;
	}
	return bits;
}

static void assert_sample(const struct tpl_result *r, int first_row)
{
	assert_int_equal(r->n_members, 9);
	assert_int_equal(r->n_problems, 0);
	for (size_t i = 0; i < 9; i++) {
		const struct tpl_member *m = &r->members[i];
		const struct want *w = &sample[i];
		assert_int_equal(m->row, first_row + (int)i);
		assert_string_equal(m->full_name, w->name);
		assert_string_equal(m->dob, w->dob);
		assert_int_equal(m->gender, w->gender);
		assert_string_equal(m->hometown, "Hà Nội");
		assert_string_equal(m->id_number, w->id);
		assert_int_equal(m->positions, position_bits(w->positions));
		assert_int_equal(m->full_time_cadre, w->full_time);
		assert_string_equal(m->union_join_date, "11/02/2012");
	}
}

/* Reads the template from memory as `name`; returns tpl_parse's code. */
static int parse_text(const char *name, const char *text, struct tpl_result *r, struct ml_buf *err)
{
	struct sheet sh;
	int rc = sheet_parse(name, (const uint8_t *)text, strlen(text), NULL, &sh, err);
	if (rc != ML_OK)
		fail_msg("sheet_parse %s: %s", name, ml_buf_str(err));
	rc = tpl_parse(&sh, name, r, err);
	sheet_release(&sh);
	return rc;
}

static int parse_path(const char *path, struct tpl_result *r, struct ml_buf *err)
{
	struct sheet sh;
	TEST_OK(err, sheet_read(path, &sh, err));
	int rc = tpl_parse(&sh, path, r, err);
	sheet_release(&sh);
	return rc;
}

static void test_tpl_sample_rows_parse_to_the_nine_members(void **state)
{
	(void)state;
	char *path = cli_test_path(fixtures, "phuluc03-sample.csv");
	struct tpl_result r;
	struct ml_buf err = ML_BUF_INIT;
	TEST_OK(&err, parse_path(path, &r, &err));
	assert_int_equal(r.numbering_row, 3);
	assert_sample(&r, 4);
	/* rows 3, 7 and 9 are in the Nữ column whatever the names suggest */
	assert_int_equal(r.members[2].gender, TPL_GENDER_FEMALE);
	assert_int_equal(r.members[6].gender, TPL_GENDER_FEMALE);
	assert_int_equal(r.members[8].gender, TPL_GENDER_FEMALE);
	assert_int_equal(r.members[1].gender, TPL_GENDER_MALE);
	/* only row 4 is a full-time cadre */
	for (size_t i = 0; i < 9; i++)
		assert_int_equal(r.members[i].full_time_cadre, i == 3);
	tpl_result_release(&r);
	tpl_result_release(&r); /* zeroed: releasing again is harmless */
	free(path);
	ml_buf_release(&err);
}

static void test_tpl_semicolon_bom_crlf_variant_reads_the_same(void **state)
{
	(void)state;
	char *path = cli_test_path(fixtures, "phuluc03-sample-semicolon.csv");
	size_t n;
	uint8_t *bytes = cli_test_read(path, &n);
	assert_memory_equal(bytes, "\xef\xbb\xbfTT;", 6); /* the fixture is what it claims */
	assert_non_null(memchr(bytes, '\r', n));
	free(bytes);
	struct tpl_result r;
	struct ml_buf err = ML_BUF_INIT;
	TEST_OK(&err, parse_path(path, &r, &err));
	assert_sample(&r, 4);
	tpl_result_release(&r);
	free(path);
	ml_buf_release(&err);
}

/* Writes the sample as Excel users make it: numbers as numbers, one date typed as a date. */
static char *sample_xlsx(const char *dir)
{
	char *path = cli_test_path(dir, "phuluc03.xlsx");
	lxw_workbook *wb = workbook_new(path);
	lxw_worksheet *ws = workbook_add_worksheet(wb, "Phụ lục 03");
	lxw_format *date = workbook_add_format(wb);
	format_set_num_format(date, "dd/mm/yyyy");
	static const char *title = "DANH SÁCH NẠP MỚI ĐOÀN VIÊN CÔNG ĐOÀN";
	static const char *h1[15] = {"TT",
	                             "Họ và tên *",
	                             "Ngày tháng năm sinh (ngày/tháng/năm)",
	                             NULL,
	                             "Quê quán",
	                             "Số CMND *",
	                             "Chức vụ CĐ tại CĐCS",
	                             NULL,
	                             NULL,
	                             NULL,
	                             NULL,
	                             NULL,
	                             NULL,
	                             "Ngày vào CĐ *",
	                             "Mã thẻ"};
	static const char *h2[15] = {NULL,     NULL,        "Nam",      "Nữ",
	                             NULL,     NULL,        "Chủ tịch", "Phó chủ tịch",
	                             "UVBCH",  "Tổ trưởng", "Tổ phó",   "CB CĐCS thành viên CĐ",
	                             "UVUBKT", NULL,        NULL};
	/* a title row above the headers: header rows may vary */
	worksheet_write_string(ws, 0, 0, title, NULL);
	for (int c = 0; c < 15; c++) {
		if (h1[c])
			worksheet_write_string(ws, 1, (lxw_col_t)c, h1[c], NULL);
		if (h2[c])
			worksheet_write_string(ws, 2, (lxw_col_t)c, h2[c], NULL);
		if (c == 4)
			worksheet_write_string(ws, 3, 4, "5.0", NULL); /* "5.0" counts as 5 */
		else
			worksheet_write_number(ws, 3, (lxw_col_t)c, c + 1, NULL);
	}
	for (int i = 0; i < 9; i++) {
		const struct want *w = &sample[i];
		lxw_row_t row = (lxw_row_t)(4 + i);
		worksheet_write_number(ws, row, 0, i + 1, NULL);
		worksheet_write_string(ws, row, 1, w->name, NULL);
		lxw_col_t dob_col = w->gender == TPL_GENDER_FEMALE ? 3 : 2;
		if (i == 0) { /* 11/02/1990 typed into Excel: a date-formatted number */
			lxw_datetime dt = {1990, 2, 11, 0, 0, 0};
			worksheet_write_datetime(ws, row, dob_col, &dt, date);
		} else {
			worksheet_write_string(ws, row, dob_col, w->dob, NULL);
		}
		worksheet_write_string(ws, row, 4, "Hà Nội", NULL);
		worksheet_write_number(ws, row, 5, atof(w->id), NULL); /* the ID as a number */
		/* columns 7..13 hold the positions in ml_positions order (the labels test) */
		unsigned bits = position_bits(w->positions);
		for (int p = 0; p < 7; p++)
			if (bits & (1u << p))
				worksheet_write_string(ws, row, (lxw_col_t)(6 + p),
				                       p % 2 ? "X" : "x", NULL);
		worksheet_write_string(ws, row, 13, "11/02/2012", NULL);
		if (w->full_time)
			worksheet_write_string(ws, row, 14, "x", NULL);
	}
	assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
	return path;
}

static void test_tpl_xlsx_with_numeric_cells_and_a_typed_date(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	char *path = sample_xlsx(dir);
	struct tpl_result r;
	struct ml_buf err = ML_BUF_INIT;
	TEST_OK(&err, parse_path(path, &r, &err));
	assert_int_equal(r.numbering_row, 4);
	assert_sample(&r, 5);
	tpl_result_release(&r);
	free(path);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void test_tpl_refuses_a_file_without_the_numbering_row(void **state)
{
	(void)state;
	struct tpl_result r;
	struct ml_buf err = ML_BUF_INIT;
	static const char *files[] = {
	    "TT,Họ và tên,Ngày sinh\n1,Lê Văn Lương,11/02/1990\n",
	    /* numbering stops at 14 */
	    "1,2,3,4,5,6,7,8,9,10,11,12,13,14\n1,A,,,,109814122,,,,,,,,11/02/2012,\n",
	    /* shifted one column to the right */
	    ",1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n",
	    /* a wrong number */
	    "1,2,3,4,5,6,7,8,9,10,11,12,13,14,16\n",
	    "",
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		assert_int_equal(parse_text("f.csv", files[i], &r, &err), ML_EMALFORMED);
		assert_string_equal(
		    ml_buf_str(&err),
		    "'f.csv' is not the new-member template (Phụ lục 03): no row "
		    "numbering the columns 1 to 15; start from the official template");
		assert_int_equal(r.n_members, 0);
		tpl_result_release(&r);
	}
	ml_buf_release(&err);
}

static void test_tpl_lists_every_violation_with_row_and_column(void **state)
{
	(void)state;
	static const char rows[] =
	    /* row 4: no name, 8-digit ID, bad mark, no join date */
	    "1,,11/02/1990,,Hà Nội,10981412,,,yes,,,,,,\n"
	    /* row 5: both DOB columns, the first not a real date; letters in the ID */
	    "2,Trần Thị Bé,31/02/1990,11/02/1991,,10981412A,,,,,,,,11/02/2012,\n"
	    /* row 6: fine */
	    "3,Nguyễn Tuấn Phước,,11/02/1992,Hà Nội,109814122,,,,x,,,,11/02/2012,\n"
	    /* row 7: the ID of row 6, an ISO date, a bad full-time mark */
	    "4,Lê Bá Đạt,,1990-02-11,,109814122,,,,,,,,11/02/2012,có\n"
	    /* row 8: doubled space in the name; 12-digit ID and d/M/yyyy date are fine */
	    "5,Lê  Văn,,,,001090012345,,,,,,,,2/3/2012,\n";
	struct ml_buf text = ML_BUF_INIT;
	ml_buf_addf(&text, "%s%s", csv_head, rows);
	struct tpl_result r;
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(parse_text("bad.csv", ml_buf_str(&text), &r, &err), ML_EFIELD);
	static const struct {
		int row, col;
		const char *msg;
	} want[] = {
	    {4, 2, "row 4, column 2 (Họ và tên): is empty; the member's full name is required"},
	    {4, 6, "row 4, column 6 (Số CMND): must be 9 or 12 digits, found 8"},
	    {4, 9, "row 4, column 9 (UVBCH): must be empty or x, found 'yes'"},
	    {4, 14,
	     "row 4, column 14 (Ngày vào CĐ): is empty; the date of joining the union is required"},
	    {5, 3,
	     "row 5, column 3 (Ngày tháng năm sinh - Nam): '31/02/1990' is not a real date between "
	     "1900 and 2100"},
	    {5, 4,
	     "row 5, column 4 (Ngày tháng năm sinh - Nữ): both date-of-birth columns (Nam and Nữ) "
	     "are filled; keep only the one matching the member's gender"},
	    {5, 6, "row 5, column 6 (Số CMND): must hold digits only, found '10981412A'"},
	    {7, 4,
	     "row 7, column 4 (Ngày tháng năm sinh - Nữ): '1990-02-11' is not a date written "
	     "dd/MM/yyyy, like 22/10/1990"},
	    {7, 6, "row 7, column 6 (Số CMND): ID number 109814122 is already on row 6"},
	    {7, 15, "row 7, column 15 (Mã thẻ): must be empty or x, found 'có'"},
	    {8, 2, "row 8, column 2 (Họ và tên): has leading, trailing or doubled spaces"},
	};
	size_t n = sizeof want / sizeof want[0];
	for (size_t i = 0; i < r.n_problems && i < n; i++) {
		assert_string_equal(r.problems[i].msg, want[i].msg);
		assert_int_equal(r.problems[i].row, want[i].row);
		assert_int_equal(r.problems[i].col, want[i].col);
	}
	assert_int_equal(r.n_problems, n);
	assert_int_equal(r.problems_dropped, 0);
	assert_int_equal(r.problem_rows, 4);
	assert_int_equal(r.n_members, 0); /* all or nothing */
	assert_null(r.members);
	assert_string_equal(ml_buf_str(&err), "'bad.csv': 11 problems in 4 rows; nothing was "
	                                      "imported: correct them and import the file again");

	char *out = NULL;
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);
	assert_non_null(f);
	tpl_problems_print(f, "bad.csv", &r);
	fclose(f);
	assert_non_null(strstr(out, "'bad.csv' row 4, column 2 (Họ và tên): is empty; the "
	                            "member's full name is required\n'bad.csv' row 4, column 6"));
	size_t lines = 0;
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, n);
	free(out);
	tpl_result_release(&r);
	ml_buf_release(&text);
	ml_buf_release(&err);
}

static void test_tpl_accepts_d_M_yyyy_and_rewrites_it(void **state)
{
	(void)state;
	struct ml_buf text = ML_BUF_INIT;
	ml_buf_addf(&text, "%s%s", csv_head,
	            "1,Lê Văn Lương,1/2/1990,,,109814122,,,,,,,,02/3/2012,\n"
	            "2,Nguyễn Thị Nụ,,9/11/1994,,001090012345,,,,,,,,11/12/2012,x\n");
	struct tpl_result r;
	struct ml_buf err = ML_BUF_INIT;
	TEST_OK(&err, parse_text("d.csv", ml_buf_str(&text), &r, &err));
	assert_int_equal(r.n_members, 2);
	assert_string_equal(r.members[0].dob, "01/02/1990");
	assert_string_equal(r.members[0].union_join_date, "02/03/2012");
	assert_string_equal(r.members[0].hometown, "");
	assert_int_equal(r.members[0].positions, 0);
	assert_string_equal(r.members[1].dob, "09/11/1994");
	assert_int_equal(r.members[1].gender, TPL_GENDER_FEMALE);
	assert_string_equal(r.members[1].id_number, "001090012345");
	assert_true(r.members[1].full_time_cadre);
	tpl_result_release(&r);
	/* neither date of birth: allowed, the gender stays unknown */
	ml_buf_reset(&text);
	ml_buf_addf(&text, "%s%s", csv_head, "1,Hồ Tuấn Tài,,,,109814130,,,,,,,,11/02/2012,\n");
	TEST_OK(&err, parse_text("n.csv", ml_buf_str(&text), &r, &err));
	assert_int_equal(r.members[0].gender, TPL_GENDER_UNKNOWN);
	assert_string_equal(r.members[0].dob, "");
	tpl_result_release(&r);
	ml_buf_release(&text);
	ml_buf_release(&err);
}

static void test_tpl_data_ends_at_the_first_empty_row(void **state)
{
	(void)state;
	char *path = cli_test_path(fixtures, "phuluc03-sample.csv");
	size_t n;
	char *sample_csv = (char *)cli_test_read(path, &n);
	struct ml_buf text = ML_BUF_INIT;
	/* an empty row (15 empty cells), then a row that would break every rule */
	ml_buf_addf(&text, "%s,,,,,,,,,,,,,,\n,,both,filled,,1,no,,,,,,,,maybe\n", sample_csv);
	struct tpl_result r;
	struct ml_buf err = ML_BUF_INIT;
	TEST_OK(&err, parse_text("end.csv", ml_buf_str(&text), &r, &err));
	assert_sample(&r, 4);
	tpl_result_release(&r);
	/* a row filled only right of column 15 is empty too */
	ml_buf_reset(&text);
	ml_buf_addf(&text, "%s,,,,,,,,,,,,,,,note\n,,,,,,,,,,,,,,,x\n", sample_csv);
	TEST_OK(&err, parse_text("end.csv", ml_buf_str(&text), &r, &err));
	assert_int_equal(r.n_members, 9);
	tpl_result_release(&r);
	/* nothing below the numbering row */
	assert_int_equal(parse_text("none.csv", csv_head, &r, &err), ML_ENOTFOUND);
	assert_string_equal(
	    ml_buf_str(&err),
	    "'none.csv' lists no members: row 4, below the column numbers, is empty");
	tpl_result_release(&r);
	free(sample_csv);
	free(path);
	ml_buf_release(&text);
	ml_buf_release(&err);
}

static void test_tpl_numbers_where_text_belongs_are_explained(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	char *path = cli_test_path(dir, "numbers.xlsx");
	lxw_workbook *wb = workbook_new(path);
	lxw_worksheet *ws = workbook_add_worksheet(wb, NULL);
	for (int c = 0; c < 15; c++)
		worksheet_write_number(ws, 0, (lxw_col_t)c, c + 1, NULL);
	/* 079090012345 typed as a number: 79090012345 (11 digits) */
	worksheet_write_string(ws, 1, 1, "Lê Văn Lương", NULL);
	worksheet_write_number(ws, 1, 5, 79090012345.0, NULL);
	worksheet_write_string(ws, 1, 13, "11/02/2012", NULL);
	/* 001090012345 as a number: 1090012345 (10 digits); a date as a plain number */
	worksheet_write_string(ws, 2, 1, "Trần Thị Bé", NULL);
	worksheet_write_number(ws, 2, 5, 1090012345.0, NULL);
	worksheet_write_number(ws, 2, 2, 33280, NULL);
	worksheet_write_string(ws, 2, 13, "11/02/2012", NULL);
	/* a 9-digit number is a fine ID */
	worksheet_write_string(ws, 3, 1, "Hồ Tuấn Tài", NULL);
	worksheet_write_number(ws, 3, 5, 109814130, NULL);
	worksheet_write_string(ws, 3, 13, "11/02/2012", NULL);
	assert_int_equal(workbook_close(wb), LXW_NO_ERROR);

	struct tpl_result r;
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(parse_path(path, &r, &err), ML_EFIELD);
	assert_int_equal(r.n_problems, 3);
	assert_string_equal(
	    r.problems[0].msg,
	    "row 2, column 6 (Số CMND): was stored as a number and has 11 digits: if "
	    "it began with 0, the spreadsheet dropped it; format column 6 as Text and "
	    "type the number again");
	assert_string_equal(
	    r.problems[1].msg,
	    "row 3, column 3 (Ngày tháng năm sinh - Nam): holds the number 33280, not "
	    "a date: format the column as Text or Date and write the date as "
	    "dd/MM/yyyy");
	assert_int_equal(r.problems[2].row, 3);
	assert_int_equal(r.problems[2].col, 6);
	assert_non_null(strstr(r.problems[2].msg, "has 10 digits"));
	tpl_result_release(&r);
	free(path);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void test_tpl_problem_list_is_capped_but_counted(void **state)
{
	(void)state;
	struct ml_buf text = ML_BUF_INIT;
	ml_buf_addf(&text, "%s", csv_head);
	/* each row: no name, no ID, no join date, a bad mark: 4 problems */
	for (int i = 0; i < 3000; i++)
		ml_buf_addf(&text, "%d,,,,,,?,,,,,,,,\n", i + 1);
	struct tpl_result r;
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(parse_text("many.csv", ml_buf_str(&text), &r, &err), ML_EFIELD);
	assert_int_equal(r.n_problems, TPL_MAX_PROBLEMS);
	assert_int_equal(r.problems_dropped, 12000 - TPL_MAX_PROBLEMS);
	assert_int_equal(r.problem_rows, 3000);
	assert_int_equal(r.problems[TPL_MAX_PROBLEMS - 1].row, 3 + TPL_MAX_PROBLEMS / 4);
	assert_non_null(strstr(ml_buf_str(&err), "12000 problems in 3000 rows"));
	char *out = NULL;
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);
	tpl_problems_print(f, "many.csv", &r);
	fclose(f);
	assert_non_null(strstr(out, "'many.csv': 2000 more problems not listed\n"));
	free(out);
	tpl_result_release(&r);
	ml_buf_release(&text);
	ml_buf_release(&err);
}

static void test_tpl_headers_and_position_labels(void **state)
{
	(void)state;
	assert_string_equal(tpl_column_header(1), "TT");
	assert_string_equal(tpl_column_header(6), "Số CMND");
	assert_string_equal(tpl_column_header(15), "Mã thẻ");
	assert_null(tpl_column_header(0));
	assert_null(tpl_column_header(16));
	assert_string_equal(tpl_column_group(4), "Ngày tháng năm sinh (ngày/tháng/năm)");
	assert_string_equal(tpl_column_group(13), "Chức vụ CĐ tại CĐCS");
	assert_null(tpl_column_group(14));
	/* every position of the vocabulary has a template column, in vocabulary order */
	size_t n = 0;
	for (; ml_positions[n]; n++) {
		const char *label = tpl_position_label(ml_positions[n]);
		assert_non_null(label);
		assert_string_equal(label, tpl_column_header(TPL_COL_POSITION_FIRST + (int)n));
	}
	assert_int_equal(n, TPL_COL_POSITION_LAST - TPL_COL_POSITION_FIRST + 1);
	assert_string_equal(tpl_position_label("exec_committee_member"), "UVBCH");
	assert_string_equal(tpl_position_label("inspection_committee_member"), "UVUBKT");
	assert_null(tpl_position_label("treasurer"));
	assert_null(tpl_position_label(NULL));
}

static void test_tpl_allocation_failures_are_errors_not_crashes(void **state)
{
	(void)state;
	char *path = cli_test_path(fixtures, "phuluc03-sample.csv");
	size_t n;
	uint8_t *bytes = cli_test_read(path, &n);
	/* the sample's member rows repeated below it give duplicate-ID problems */
	const char *rows = (const char *)bytes;
	for (int k = 0; k < 3; k++)
		rows = strchr(rows, '\n') + 1;
	struct ml_buf dup = ML_BUF_INIT;
	ml_buf_add(&dup, bytes, n);
	ml_buf_add(&dup, rows, n - (size_t)(rows - (const char *)bytes));
	const struct {
		const uint8_t *p;
		size_t n;
		int want;
	} inputs[] = {{bytes, n, ML_OK}, {dup.data, dup.len, ML_EFIELD}};
	for (size_t k = 0; k < 2; k++) {
		bool done = false;
		for (unsigned long fail = 1; !done && fail < 100000; fail++) {
			struct sheet sh;
			struct tpl_result r;
			ml_alloc_fail_at(fail);
			int rc = sheet_parse("f.csv", inputs[k].p, inputs[k].n, NULL, &sh, NULL);
			if (rc == ML_OK)
				rc = tpl_parse(&sh, "f.csv", &r, NULL);
			else
				memset(&r, 0, sizeof r);
			ml_alloc_fail_at(0);
			if (rc != ML_ENOMEM && rc != inputs[k].want)
				fail_msg("input %zu, failing allocation %lu: %s", k, fail,
				         ml_err_name(rc));
			done = rc == inputs[k].want;
			tpl_result_release(&r);
			sheet_release(&sh);
		}
		assert_true(done);
	}
	ml_buf_release(&dup);
	free(bytes);
	free(path);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
		return 2;
	}
	fixtures = argv[1];
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tpl_sample_rows_parse_to_the_nine_members),
	    cmocka_unit_test(test_tpl_semicolon_bom_crlf_variant_reads_the_same),
	    cmocka_unit_test(test_tpl_xlsx_with_numeric_cells_and_a_typed_date),
	    cmocka_unit_test(test_tpl_refuses_a_file_without_the_numbering_row),
	    cmocka_unit_test(test_tpl_lists_every_violation_with_row_and_column),
	    cmocka_unit_test(test_tpl_accepts_d_M_yyyy_and_rewrites_it),
	    cmocka_unit_test(test_tpl_data_ends_at_the_first_empty_row),
	    cmocka_unit_test(test_tpl_numbers_where_text_belongs_are_explained),
	    cmocka_unit_test(test_tpl_problem_list_is_capped_but_counted),
	    cmocka_unit_test(test_tpl_headers_and_position_labels),
	    cmocka_unit_test(test_tpl_allocation_failures_are_errors_not_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
