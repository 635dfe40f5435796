/*
 * test_cli_sheet.c - reading spreadsheets into cells (cli/sheet.h): CSV
 * dialects, text rules, XLSX parts and cell types, the size caps, refusals
 * of other formats, and a bounded mutation run that must never crash.
 *
 * argv[1] is tests/fixtures.
 */
#include "test.h"
#include "test_cli.h"

#include "cli/sheet.h"
#include "crdt/alloc.h"
#include "crdt/codec.h"
#include "crdt/err.h"
#include "tests/common/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xlsxwriter.h>

static const char *fixtures;

/* Parses the text s as a file named name; asserts the result code. */
static void parse(const char *name, const char *s, size_t n, const struct sheet_limits *lim,
                  int want, struct sheet *sh, struct ml_buf *err)
{
	int rc = sheet_parse(name, (const uint8_t *)s, n, lim, sh, err);
	if (rc != want)
		fail_msg("%s: got %s (%s), want %s", name, ml_err_name(rc), ml_buf_str(err),
		         ml_err_name(want));
}

static void assert_cell(const struct sheet *sh, uint32_t row, uint32_t col, const char *text)
{
	const struct sheet_cell *c = sheet_get(sh, row, col);
	if (!c)
		fail_msg("no cell at row %u, column %u (want '%s')", row, col, text);
	assert_string_equal(c->text, text);
	assert_int_equal(c->len, strlen(text));
	assert_int_equal(c->row, row);
	assert_int_equal(c->col, col);
}

/* The invariants sheet.h promises for any sheet it returns. */
static void assert_sheet_valid(const struct sheet *sh)
{
	for (size_t i = 0; i < sh->n; i++) {
		const struct sheet_cell *c = &sh->cells[i];
		assert_true(c->len > 0 && c->len == strlen(c->text));
		assert_true(ml_utf8_valid((const uint8_t *)c->text, c->len));
		assert_true(c->row >= 1 && c->row <= sh->max_row);
		assert_true(c->col >= 1 && c->col <= sh->max_col);
		assert_true(c->text[0] != ' ' && c->text[c->len - 1] != ' ');
		if (i > 0) {
			const struct sheet_cell *p = &sh->cells[i - 1];
			assert_true(p->row < c->row || (p->row == c->row && p->col < c->col));
		}
	}
}

/* ---- CSV */

static void test_sheet_csv_cells_know_their_row_and_column(void **state)
{
	(void)state;
	/* CRLF; a blank line is row 2; a quoted cell spans two lines yet is row 3; NBSP trimmed */
	static const char in[] = "a,b\r\n\r\n\"multi\nline\",  padded\xc2\xa0\r\n,,last\r\n";
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	parse("x.csv", in, sizeof in - 1, NULL, ML_OK, &sh, &err);
	assert_false(sh.xlsx);
	assert_int_equal(sh.n, 5);
	assert_cell(&sh, 1, 1, "a");
	assert_cell(&sh, 1, 2, "b");
	assert_null(sheet_get(&sh, 2, 1));
	assert_cell(&sh, 3, 1, "multi\nline");
	assert_cell(&sh, 3, 2, "padded");
	assert_cell(&sh, 4, 3, "last");
	assert_null(sheet_get(&sh, 4, 1));
	assert_int_equal(sh.max_row, 4);
	assert_int_equal(sh.max_col, 3);
	assert_false(sh.cells[0].numeric);
	assert_sheet_valid(&sh);
	sheet_release(&sh);
	sheet_release(&sh); /* a released sheet is zeroed and may be released again */
	ml_buf_release(&err);
}

static void test_sheet_csv_semicolon_and_bom_as_excel_vi_writes(void **state)
{
	(void)state;
	static const char in[] = "\xef\xbb\xbfTT;H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan\n"
	                         "1,5;\"a;b\";\"say \"\"hi\"\"\"\n";
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	parse("vi.csv", in, sizeof in - 1, NULL, ML_OK, &sh, &err);
	assert_cell(&sh, 1, 1, "TT"); /* the BOM is not part of the first cell */
	assert_cell(&sh, 1, 2, "Họ và tên");
	assert_cell(&sh, 2, 1, "1,5");
	assert_cell(&sh, 2, 2, "a;b");
	assert_cell(&sh, 2, 3, "say \"hi\"");
	sheet_release(&sh);
	/* the same with commas, where a semicolon is just text */
	static const char comma[] = "a;b,c\n";
	parse("c.csv", comma, sizeof comma - 1, NULL, ML_OK, &sh, &err);
	assert_cell(&sh, 1, 1, "a;b");
	assert_cell(&sh, 1, 2, "c");
	sheet_release(&sh);
	ml_buf_release(&err);
}

static void test_sheet_text_becomes_nfc(void **state)
{
	(void)state;
	/* "Nguyễn" decomposed: e + U+0302 + U+0303 */
	static const char in[] = "Nguye\xcc\x82\xcc\x83n\n";
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	parse("nfd.csv", in, sizeof in - 1, NULL, ML_OK, &sh, &err);
	assert_cell(&sh, 1, 1, "Nguy\xe1\xbb\x85n");
	sheet_release(&sh);
	ml_buf_release(&err);
}

static void test_sheet_csv_invalid_utf8_names_row_and_column(void **state)
{
	(void)state;
	static const char in[] = "a,b\nc,\xff\xfe\n";
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	parse("bad.csv", in, sizeof in - 1, NULL, ML_EMALFORMED, &sh, &err);
	assert_string_equal(ml_buf_str(&err), "'bad.csv' row 2, column 2: invalid UTF-8");
	assert_int_equal(sh.n, 0);
	assert_null(sh.cells);
	/* a NUL byte inside a cell */
	static const char nul[] = "a\nb,c\0d\n";
	parse("nul.csv", nul, sizeof nul - 1, NULL, ML_EMALFORMED, &sh, &err);
	assert_string_equal(ml_buf_str(&err),
	                    "'nul.csv' row 2, column 2: the cell holds a NUL byte");
	ml_buf_release(&err);
}

static void test_sheet_csv_bad_quotes_are_refused_with_the_row(void **state)
{
	(void)state;
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	static const char stray[] = "a,b\nc,d\"e\n";
	parse("q.csv", stray, sizeof stray - 1, NULL, ML_EMALFORMED, &sh, &err);
	assert_non_null(strstr(ml_buf_str(&err), "'q.csv' is not a readable spreadsheet: a quote"));
	assert_non_null(strstr(ml_buf_str(&err), "row 2"));
	static const char open[] = "a\nb\n\"never closed\n";
	parse("o.csv", open, sizeof open - 1, NULL, ML_EMALFORMED, &sh, &err);
	assert_string_equal(ml_buf_str(&err),
	                    "'o.csv' is not a readable spreadsheet: row 3 opens a "
	                    "quoted cell that is never closed");
	ml_buf_release(&err);
}

static void test_sheet_caps_refuse_huge_input(void **state)
{
	(void)state;
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	/* one cell past Excel's 32,767 with the default limits */
	size_t big = 40000;
	char *in = malloc(big + 16);
	assert_non_null(in);
	memcpy(in, "ok\n", 3);
	memset(in + 3, 'a', big);
	memcpy(in + 3 + big, ",b\n", 3);
	parse("big.csv", in, big + 6, NULL, ML_ETOOBIG, &sh, &err);
	assert_string_equal(ml_buf_str(&err), "'big.csv' row 2, column 1: the cell holds more than "
	                                      "32767 bytes, too long for a member list");
	free(in);

	struct sheet_limits lim = sheet_default_limits;
	lim.cells = 10;
	static const char eleven[] = "1,2,3,4,5,6,7,8,9,10,11\n";
	parse("many.csv", eleven, sizeof eleven - 1, &lim, ML_ETOOBIG, &sh, &err);
	assert_string_equal(
	    ml_buf_str(&err),
	    "'many.csv' holds more than 10 filled cells; split it into smaller files");
	/* ten cells is fine */
	parse("ten.csv", eleven, 20, &lim, ML_OK, &sh, &err);
	assert_int_equal(sh.n, 10);
	sheet_release(&sh);

	lim = sheet_default_limits;
	lim.text_bytes = 8;
	parse("text.csv", "abcd,efgh,i\n", 12, &lim, ML_ETOOBIG, &sh, &err);
	assert_non_null(strstr(ml_buf_str(&err), "more than 8 bytes of text"));

	lim = sheet_default_limits;
	lim.file_bytes = 1024;
	char *dir = cli_test_tmpdir();
	char *path = cli_test_path(dir, "f.csv");
	char blob[2048];
	memset(blob, 'z', sizeof blob);
	cli_test_write(path, blob, sizeof blob);
	assert_int_equal(sheet_read_limited(path, &lim, &sh, &err), ML_ETOOBIG);
	assert_non_null(strstr(ml_buf_str(&err), "is larger than 1 KiB"));
	cli_test_write(path, blob, 1024); /* exactly at the cap */
	assert_int_equal(sheet_read_limited(path, &lim, &sh, &err), ML_OK);
	assert_int_equal(sh.n, 1);
	assert_int_equal(sh.cells[0].len, 1024);
	sheet_release(&sh);
	free(path);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void test_sheet_refuses_other_formats_with_advice(void **state)
{
	(void)state;
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	static const char ole[] = "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 rest";
	parse("old.xls", ole, sizeof ole - 1, NULL, ML_EMALFORMED, &sh, &err);
	assert_non_null(strstr(ml_buf_str(&err), "Excel 97-2003 (.xls)"));
	parse("renamed.XLSX", "TT,Ho\n", 6, NULL, ML_EMALFORMED, &sh, &err);
	assert_non_null(strstr(ml_buf_str(&err), "'renamed.XLSX' is not a readable spreadsheet: an "
	                                         ".xlsx file is a ZIP archive"));
	parse("u16.csv", "\xff\xfeT\0T\0", 6, NULL, ML_EMALFORMED, &sh, &err);
	assert_non_null(strstr(ml_buf_str(&err), "UTF-16"));

	char *dir = cli_test_tmpdir();
	char *missing = cli_test_path(dir, "nope.csv");
	assert_int_equal(sheet_read(missing, &sh, &err), ML_EIO);
	assert_non_null(strstr(ml_buf_str(&err), "cannot open '"));
	assert_non_null(strstr(ml_buf_str(&err), "nope.csv': No such file"));
	assert_int_equal(sheet_read(dir, &sh, &err), ML_EIO);
	assert_non_null(strstr(ml_buf_str(&err), "is not a regular file"));
	free(missing);
	cli_test_rmdir(dir);
	/* an empty file is an empty sheet */
	parse("empty.csv", "", 0, NULL, ML_OK, &sh, &err);
	assert_int_equal(sh.n, 0);
	sheet_release(&sh);
	ml_buf_release(&err);
}

/* ---- XLSX written by hand, part by part */

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
#define REL_TYPE "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"

static const char root_rels[] = XML_DECL
    "<Relationships xmlns=\"" CLI_TEST_NS_PKG "\"><Relationship Id=\"rId1\" Type=\"" REL_TYPE
    "officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>";

/* The first sheet is rId7 -> danhsach.xml; sheet1.xml is the second sheet, a decoy. */
static const char wb_rels[] = XML_DECL
    "<Relationships xmlns=\"" CLI_TEST_NS_PKG "\">"
    "<Relationship Id=\"rId1\" Type=\"" REL_TYPE "worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId7\" Type=\"" REL_TYPE
    "worksheet\" Target=\"/xl/worksheets/../worksheets/danhsach.xml\"/>"
    "<Relationship Id=\"rId3\" Type=\"" REL_TYPE "sharedStrings\" Target=\"sharedStrings.xml\"/>"
    "<Relationship Id=\"rId4\" Type=\"" REL_TYPE "styles\" Target=\"./styles.xml\"/>"
    "</Relationships>";

/* cellXfs: 0 General, 1 builtin date 14, 2 custom dd/mm/yyyy, 3 custom [Red]0.00.  The
 * cellStyleXfs entry with a date format must not count as style 0. */
static const char styles[] =
    XML_DECL "<styleSheet xmlns=\"" CLI_TEST_NS_MAIN "\"><numFmts count=\"2\">"
             "<numFmt numFmtId=\"164\" formatCode=\"dd/mm/yyyy;@\"/>"
             "<numFmt numFmtId=\"165\" formatCode=\"[Red]0.00\"/></numFmts>"
             "<cellStyleXfs count=\"1\"><xf numFmtId=\"14\"/></cellStyleXfs>"
             "<cellXfs count=\"4\"><xf numFmtId=\"0\"/><xf numFmtId=\"14\"/><xf numFmtId=\"164\"/>"
             "<xf numFmtId=\"165\"/></cellXfs></styleSheet>";

/* Rich text runs joined, the phonetic run (rPh) left out. */
static const char shared[] =
    XML_DECL "<sst xmlns=\"" CLI_TEST_NS_MAIN "\" count=\"2\" uniqueCount=\"2\">"
             "<si><r><rPr><b/></rPr><t>Nguyễn Thị</t></r><r><t xml:space=\"preserve\"> Đào</t></r>"
             "<rPh sb=\"0\" eb=\"1\"><t>PHONETIC</t></rPh></si>"
             "<si><t>Hà Nội</t></si></sst>";

static const char decoy[] = XML_DECL "<worksheet xmlns=\"" CLI_TEST_NS_MAIN "\"><sheetData>"
                                     "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>WRONG "
                                     "SHEET</t></is></c></row></sheetData></worksheet>";

/* Namespace prefixes (x:) as some producers write them. */
static const char first_sheet[] =
    XML_DECL "<x:worksheet xmlns:x=\"" CLI_TEST_NS_MAIN "\"><x:sheetData>"
             "<x:row r=\"1\">"
             "<x:c r=\"A1\" t=\"s\"><x:v>0</x:v></x:c>"
             "<x:c r=\"B1\" t=\"inlineStr\"><x:is><x:t> Lê </x:t></x:is></x:c>"
             "<x:c r=\"C1\"><x:v>1.09814122E8</x:v></x:c>"
             "<x:c r=\"D1\" s=\"1\"><x:v>33280</x:v></x:c>"
             "<x:c r=\"E1\" s=\"2\"><x:v>32915.75</x:v></x:c>"
             "<x:c r=\"F1\" t=\"b\"><x:v>1</x:v></x:c>"
             "<x:c r=\"G1\" t=\"str\"><x:f>LOWER(\"ABC\")</x:f><x:v>abc</x:v></x:c>"
             "<x:c r=\"H1\"><x:v>0.30000000000000004</x:v></x:c>"
             "<x:c r=\"I1\" s=\"0\"><x:v>33280</x:v></x:c>"
             "<x:c r=\"J1\" s=\"3\"><x:v>12.0</x:v></x:c>"
             "<x:c r=\"K1\" s=\"2\"/>"
             "<x:c r=\"L1\" t=\"s\"><x:v>1</x:v></x:c>"
             "<x:c r=\"M1\"><x:v>-0.5</x:v></x:c>"
             "<x:c r=\"N1\"><x:v>1E-3</x:v></x:c>"
             "<x:c r=\"O1\"><x:v>123456789012345678</x:v></x:c>"
             "<x:c r=\"P1\"><x:v>1.5E+300</x:v></x:c>"
             "<x:c r=\"Q1\" t=\"d\"><x:v>2012-02-11T00:00:00</x:v></x:c>"
             "</x:row>"
             "<x:row r=\"3\"><x:c r=\"A3\"><x:v>7</x:v></x:c><x:c><x:v>8</x:v></x:c></x:row>"
             "<x:row><x:c t=\"inlineStr\"><x:is><x:r><x:t>a</x:t></x:r><x:r><x:t>b</x:t></x:r>"
             "</x:is></x:c></x:row>"
             "</x:sheetData></x:worksheet>";

static const char workbook_1900[] =
    XML_DECL "<workbook xmlns=\"" CLI_TEST_NS_MAIN "\" xmlns:r=\"" CLI_TEST_NS_REL "\">"
             "<workbookPr/><sheets><sheet name=\"Danh sách\" sheetId=\"1\" r:id=\"rId7\"/>"
             "<sheet name=\"Khác\" sheetId=\"2\" r:id=\"rId1\"/></sheets></workbook>";

/* Writes a workbook of these parts (sheet = the first sheet's XML) to dir/name; returns the path.
 */
static char *handmade(const char *dir, const char *name, const char *workbook, const char *sheet,
                      int stored)
{
	struct cli_test_part parts[] = {
	    {"_rels/.rels", root_rels},
	    {"xl/workbook.xml", workbook},
	    {"xl/_rels/workbook.xml.rels", wb_rels},
	    {"xl/styles.xml", styles},
	    {"xl/sharedStrings.xml", shared},
	    {"xl/worksheets/sheet1.xml", decoy},
	    {"xl/worksheets/danhsach.xml", sheet},
	};
	char *path = cli_test_path(dir, name);
	cli_test_zip(path, parts, sizeof parts / sizeof parts[0], stored);
	return path;
}

static void test_sheet_xlsx_parts_and_cell_types(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	char *path = handmade(dir, "hand.xlsx", workbook_1900, first_sheet, 0);
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	TEST_OK(&err, sheet_read(path, &sh, &err));
	assert_true(sh.xlsx);
	assert_null(strstr(sh.n ? sh.cells[0].text : "", "WRONG"));
	assert_cell(&sh, 1, 1, "Nguyễn Thị Đào");   /* shared, rich runs, no phonetic */
	assert_cell(&sh, 1, 2, "Lê");               /* inline, trimmed */
	assert_cell(&sh, 1, 3, "109814122");        /* exponent notation read as digits */
	assert_true(sheet_get(&sh, 1, 3)->numeric); /* and marked as a number */
	assert_cell(&sh, 1, 4, "11/02/1991");       /* builtin date format 14 */
	assert_false(sheet_get(&sh, 1, 4)->numeric);
	assert_cell(&sh, 1, 5, "11/02/1990"); /* custom date format, time of day dropped */
	assert_cell(&sh, 1, 6, "TRUE");
	assert_cell(&sh, 1, 7, "abc");   /* a formula's cached result */
	assert_cell(&sh, 1, 8, "0.3");   /* 15 significant digits, as Excel shows */
	assert_cell(&sh, 1, 9, "33280"); /* General: the cellStyleXfs date does not leak in */
	assert_true(sheet_get(&sh, 1, 9)->numeric);
	assert_cell(&sh, 1, 10, "12");      /* [Red]0.00 is no date */
	assert_null(sheet_get(&sh, 1, 11)); /* styled but empty */
	assert_cell(&sh, 1, 12, "Hà Nội");
	assert_cell(&sh, 1, 13, "-0.5");
	assert_cell(&sh, 1, 14, "0.001");
	assert_cell(&sh, 1, 15, "123456789012346000");
	assert_cell(&sh, 1, 16, "1.5E+300"); /* beyond plain notation: kept as written */
	assert_false(sheet_get(&sh, 1, 16)->numeric);
	assert_cell(&sh, 1, 17, "11/02/2012"); /* t="d" ISO date */
	assert_null(sheet_get(&sh, 2, 1));
	assert_cell(&sh, 3, 1, "7");
	assert_cell(&sh, 3, 2, "8");  /* no r: the next column */
	assert_cell(&sh, 4, 1, "ab"); /* no r on row or cell: next row, first column */
	assert_int_equal(sh.n, 19);
	assert_sheet_valid(&sh);
	sheet_release(&sh);
	free(path);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void test_sheet_xlsx_date_systems(void **state)
{
	(void)state;
	static const char wb1904[] =
	    XML_DECL "<workbook xmlns=\"" CLI_TEST_NS_MAIN "\" xmlns:r=\"" CLI_TEST_NS_REL "\">"
	             "<workbookPr date1904=\"1\"/><sheets><sheet name=\"A\" sheetId=\"1\" "
	             "r:id=\"rId7\"/></sheets></workbook>";
	static const char dates[] =
	    XML_DECL "<worksheet xmlns=\"" CLI_TEST_NS_MAIN "\"><sheetData><row r=\"1\">"
	             "<c r=\"A1\" s=\"1\"><v>0</v></c><c r=\"B1\" s=\"1\"><v>1462</v></c>"
	             "<c r=\"C1\" s=\"1\"><v>1</v></c><c r=\"D1\" s=\"1\"><v>59</v></c>"
	             "<c r=\"E1\" s=\"1\"><v>60</v></c><c r=\"F1\" s=\"1\"><v>61</v></c>"
	             "<c r=\"G1\" s=\"1\"><v>2958465</v></c><c r=\"H1\" s=\"1\"><v>2958466</v></c>"
	             "<c r=\"I1\" s=\"1\"><v>-1</v></c></row></sheetData></worksheet>";
	char *dir = cli_test_tmpdir();
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	char *p1904 = handmade(dir, "d1904.xlsx", wb1904, dates, 0);
	TEST_OK(&err, sheet_read(p1904, &sh, &err));
	assert_cell(&sh, 1, 1, "01/01/1904");
	assert_cell(&sh, 1, 2, "02/01/1908");
	sheet_release(&sh);
	char *p1900 = handmade(dir, "d1900.xlsx", workbook_1900, dates, 0);
	TEST_OK(&err, sheet_read(p1900, &sh, &err));
	assert_cell(&sh, 1, 1, "0"); /* serial 0 is no date in the 1900 system */
	assert_cell(&sh, 1, 3, "01/01/1900");
	assert_cell(&sh, 1, 4, "28/02/1900");
	assert_cell(&sh, 1, 5,
	            "29/02/1900"); /* Excel's phantom day, left for validation to refuse */
	assert_cell(&sh, 1, 6, "01/03/1900");
	assert_cell(&sh, 1, 7, "31/12/9999");
	assert_cell(&sh, 1, 8, "2958466"); /* past Excel's last date: the number */
	assert_cell(&sh, 1, 9, "-1");
	sheet_release(&sh);
	free(p1904);
	free(p1900);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void expect_unreadable(const char *dir, const char *name, const char *sheet,
                              const char *want)
{
	char *path = handmade(dir, name, workbook_1900, sheet, 0);
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	int rc = sheet_read(path, &sh, &err);
	if (rc >= 0 || !strstr(ml_buf_str(&err), want))
		fail_msg("%s: got %s '%s', want '%s'", name, ml_err_name(rc), ml_buf_str(&err),
		         want);
	assert_int_equal(sh.n, 0);
	free(path);
	ml_buf_release(&err);
}

static void test_sheet_xlsx_malformed_parts_are_refused(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	expect_unreadable(dir, "doctype.xlsx",
	                  "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]>"
	                  "<worksheet><sheetData/></worksheet>",
	                  "declares a DOCTYPE");
	expect_unreadable(
	    dir, "sst.xlsx",
	    "<worksheet><sheetData><row><c r=\"B2\" t=\"s\"><v>5</v></c></row>"
	    "</sheetData></worksheet>",
	    "sst.xlsx' row 2, column 2: refers to shared text 5, which does not exist");
	expect_unreadable(dir, "ref.xlsx",
	                  "<worksheet><sheetData><row><c r=\"AAAA1\"><v>5</v></c></row>"
	                  "</sheetData></worksheet>",
	                  "'AAAA1' is not a cell reference");
	expect_unreadable(dir, "twice.xlsx",
	                  "<worksheet><sheetData><row><c r=\"A1\"><v>1</v></c><c r=\"A1\"><v>2</v>"
	                  "</c></row></sheetData></worksheet>",
	                  "row 1, column 1 is given twice");
	expect_unreadable(dir, "xml.xlsx", "<worksheet><sheetData><row></sheetData></worksheet>",
	                  "is not well-formed XML: mismatched tag at line 1");
	cli_test_rmdir(dir);
}

static void test_sheet_xlsx_damaged_file_is_a_clear_error(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	char *path = handmade(dir, "good.xlsx", workbook_1900, first_sheet, 0);
	size_t n;
	uint8_t *bytes = cli_test_read(path, &n);
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	/* truncated: the ZIP directory at the end is gone */
	parse("cut.xlsx", (const char *)bytes, n / 2, NULL, ML_EMALFORMED, &sh, &err);
	assert_non_null(strstr(ml_buf_str(&err), "'cut.xlsx' is not a readable spreadsheet: it is "
	                                         "damaged or not an Excel workbook ("));
	/* garbage after the ZIP signature */
	static const char junk[] = "PK\x03\x04 this is not really an archive at all";
	parse("junk.xlsx", junk, sizeof junk - 1, NULL, ML_EMALFORMED, &sh, &err);
	assert_non_null(strstr(ml_buf_str(&err), "damaged or not an Excel workbook"));
	/* a ZIP without a workbook */
	struct cli_test_part lone = {"readme.txt", "hello"};
	char *zip = cli_test_path(dir, "plain.zip");
	cli_test_zip(zip, &lone, 1, 0);
	assert_int_equal(sheet_read(zip, &sh, &err), ML_EMALFORMED);
	assert_non_null(strstr(ml_buf_str(&err), "the workbook has no part 'xl/workbook.xml'"));
	free(zip);
	free(bytes);
	free(path);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void test_sheet_xlsx_zip_bomb_stops_at_the_part_cap(void **state)
{
	(void)state;
	/* 3 MiB of XML that deflates to a few KiB */
	size_t pad = 3u << 20;
	static const char head[] =
	    "<worksheet><sheetData><row r=\"1\"><c r=\"A1\"><v>1</v></c></row>";
	static const char tail[] = "</sheetData></worksheet>";
	char *xml = malloc(sizeof head + pad + sizeof tail);
	assert_non_null(xml);
	strcpy(xml, head);
	memset(xml + strlen(head), ' ', pad);
	strcpy(xml + strlen(head) + pad, tail);
	char *dir = cli_test_tmpdir();
	char *path = handmade(dir, "bomb.xlsx", workbook_1900, xml, 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size < 64 * 1024); /* it is a bomb: small outside */

	struct sheet_limits lim = sheet_default_limits;
	lim.part_bytes = 1u << 20;
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(sheet_read_limited(path, &lim, &sh, &err), ML_ETOOBIG);
	assert_non_null(strstr(ml_buf_str(&err),
	                       "part 'xl/worksheets/danhsach.xml' unpacks to more "
	                       "than 1 MiB"));
	/* with the default cap (128 MiB) the same file is fine */
	TEST_OK(&err, sheet_read(path, &sh, &err));
	assert_cell(&sh, 1, 1, "1");
	sheet_release(&sh);

	lim = sheet_default_limits;
	lim.zip_entries = 3;
	assert_int_equal(sheet_read_limited(path, &lim, &sh, &err), ML_ETOOBIG);
	assert_non_null(strstr(ml_buf_str(&err), "more than 3 files"));

	lim = sheet_default_limits;
	lim.cell_bytes = 8;
	assert_int_equal(sheet_read_limited(path, &lim, &sh, &err), ML_ETOOBIG);
	assert_non_null(strstr(ml_buf_str(&err), "holds a text longer than 8 bytes"));
	free(xml);
	free(path);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

static void test_sheet_default_caps_stop_a_real_bomb_and_a_1_gib_file(void **state)
{
	(void)state;
	/* 150 MiB of XML, past the default 128 MiB part cap, in a ZIP of a few hundred KiB */
	size_t pad = 150u << 20;
	static const char head[] = "<worksheet><sheetData>";
	static const char tail[] = "</sheetData></worksheet>";
	char *xml = malloc(sizeof head + pad + sizeof tail);
	assert_non_null(xml);
	strcpy(xml, head);
	memset(xml + strlen(head), ' ', pad);
	strcpy(xml + strlen(head) + pad, tail);
	char *dir = cli_test_tmpdir();
	char *path = handmade(dir, "bomb.xlsx", workbook_1900, xml, 0);
	free(xml);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size < (1 << 20));
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(sheet_read(path, &sh, &err), ML_ETOOBIG);
	assert_non_null(strstr(ml_buf_str(&err), "is not a readable spreadsheet: part "
	                                         "'xl/worksheets/danhsach.xml' unpacks to more "
	                                         "than 128 MiB"));
	/* a 1 GiB file (sparse: it costs no disk) is refused before it is read */
	char *big = cli_test_path(dir, "big.csv");
	FILE *f = fopen(big, "wb");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), 1L << 30), 0);
	fclose(f);
	assert_int_equal(sheet_read(big, &sh, &err), ML_ETOOBIG);
	assert_non_null(strstr(ml_buf_str(&err), "big.csv' is larger than 64 MiB; split it into "
	                                         "smaller files"));
	free(big);
	free(path);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

/* Writes a workbook with libxlsxwriter as Excel users make them: numbers and a typed date. */
static char *libxlsxwriter_book(const char *dir)
{
	char *path = cli_test_path(dir, "lxw.xlsx");
	lxw_workbook *wb = workbook_new(path);
	lxw_worksheet *ws = workbook_add_worksheet(wb, "Danh sách");
	lxw_format *date = workbook_add_format(wb);
	format_set_num_format(date, "dd/mm/yyyy");
	worksheet_write_string(ws, 0, 0, "Lê Bá Đạt", NULL);
	worksheet_write_number(ws, 0, 1, 109814122, NULL);
	lxw_datetime dt = {1990, 2, 11, 0, 0, 0};
	worksheet_write_datetime(ws, 0, 2, &dt, date);
	worksheet_write_number(ws, 0, 3, 1, NULL);
	worksheet_write_string(ws, 6, 4, "x", NULL);
	assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
	return path;
}

static void test_sheet_xlsx_from_libxlsxwriter(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	char *path = libxlsxwriter_book(dir);
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	TEST_OK(&err, sheet_read(path, &sh, &err));
	assert_cell(&sh, 1, 1, "Lê Bá Đạt");
	assert_cell(&sh, 1, 2, "109814122");
	assert_true(sheet_get(&sh, 1, 2)->numeric);
	assert_cell(&sh, 1, 3, "11/02/1990");
	assert_cell(&sh, 1, 4, "1");
	assert_cell(&sh, 7, 5, "x");
	assert_int_equal(sh.n, 5);
	sheet_release(&sh);
	free(path);
	cli_test_rmdir(dir);
	ml_buf_release(&err);
}

/*
 * Parses data; any outcome but a crash is fine, as long as errors explain
 * themselves.  Returns 0 when accepted, 1 when the XML of a part was refused,
 * 2 for any other refusal.
 */
static int parse_anything(const char *name, const uint8_t *data, size_t n)
{
	struct sheet sh;
	struct ml_buf err = ML_BUF_INIT;
	int rc = sheet_parse(name, data, n, NULL, &sh, &err);
	if (rc == ML_OK)
		assert_sheet_valid(&sh);
	else if (err.len == 0)
		fail_msg("%s: %s without a message", name, ml_err_name(rc));
	else
		assert_int_equal(sh.n, 0);
	int outcome = rc == ML_OK ? 0 : strstr(ml_buf_str(&err), "well-formed XML") ? 1 : 2;
	sheet_release(&sh);
	ml_buf_release(&err);
	return outcome;
}

static void test_sheet_mutated_files_never_crash(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	char *lxw = libxlsxwriter_book(dir);
	char *hand = handmade(dir, "hand.xlsx", workbook_1900, first_sheet, 0);
	char *stored = handmade(dir, "stored.xlsx", workbook_1900, first_sheet, 1);
	char *csv = cli_test_path(fixtures, "phuluc03-sample.csv");
	struct {
		const char *name;
		uint8_t *p;
		size_t n;
	} seeds[] = {
	    {"a.xlsx", NULL, 0}, {"b.xlsx", NULL, 0}, {"c.xlsx", NULL, 0}, {"d.csv", NULL, 0}};
	seeds[0].p = cli_test_read(lxw, &seeds[0].n);
	seeds[1].p = cli_test_read(hand, &seeds[1].n);
	seeds[2].p = cli_test_read(stored, &seeds[2].n); /* uncompressed: flips reach the XML */
	seeds[3].p = cli_test_read(csv, &seeds[3].n);

	struct test_rng rng;
	test_rng_seed(&rng, 20240624, 3);
	int outcomes[3] = {0};
	for (int it = 0; it < 2000; it++) {
		size_t s = test_rng_below(&rng, 4);
		size_t n = seeds[s].n;
		uint8_t *m = malloc(n + 64);
		assert_non_null(m);
		memcpy(m, seeds[s].p, n);
		switch (test_rng_below(&rng, 3)) {
		case 0: /* flip a few bytes */
			for (uint32_t k = 1 + test_rng_below(&rng, 8); k > 0; k--)
				m[test_rng_below(&rng, (uint32_t)n)] =
				    (uint8_t)test_rng_below(&rng, 256);
			break;
		case 1: /* truncate */
			n = test_rng_below(&rng, (uint32_t)n);
			break;
		default: /* overwrite a run with one byte value */
		{
			size_t at = test_rng_below(&rng, (uint32_t)n);
			size_t len = 1 + test_rng_below(&rng, 64);
			if (at + len > n)
				len = n - at;
			memset(m + at, (int)test_rng_below(&rng, 256), len);
		}
		}
		/* an exact-size copy, so AddressSanitizer sees any read past the end */
		uint8_t *exact = malloc(n ? n : 1);
		assert_non_null(exact);
		memcpy(exact, m, n);
		free(m);
		outcomes[parse_anything(seeds[s].name, exact, n)]++;
		free(exact);
	}
	/* the run reached the XML parsers and produced accepted sheets, not only ZIP errors */
	assert_true(outcomes[0] > 100);
	assert_true(outcomes[1] > 100);
	for (size_t s = 0; s < 4; s++)
		free(seeds[s].p);
	free(csv);
	free(stored);
	free(hand);
	free(lxw);
	cli_test_rmdir(dir);
}

static void test_sheet_allocation_failures_are_errors_not_crashes(void **state)
{
	(void)state;
	char *dir = cli_test_tmpdir();
	char *hand = handmade(dir, "hand.xlsx", workbook_1900, first_sheet, 0);
	char *csv = cli_test_path(fixtures, "phuluc03-sample.csv");
	const char *paths[] = {hand, csv};
	for (size_t k = 0; k < 2; k++) {
		size_t n;
		uint8_t *bytes = cli_test_read(paths[k], &n);
		bool done = false;
		size_t cells = 0;
		for (unsigned long fail = 1; !done && fail < 100000; fail++) {
			struct sheet sh;
			ml_alloc_fail_at(fail);
			int rc = sheet_parse(paths[k], bytes, n, NULL, &sh, NULL);
			ml_alloc_fail_at(0);
			if (rc != ML_OK && rc != ML_ENOMEM)
				fail_msg("%s, failing allocation %lu: %s", paths[k], fail,
				         ml_err_name(rc));
			if (rc == ML_ENOMEM)
				assert_int_equal(sh.n, 0);
			done = rc == ML_OK;
			cells = sh.n;
			sheet_release(&sh);
		}
		assert_true(done);
		assert_int_equal(cells, k == 0 ? 19 : 102);
		free(bytes);
	}
	free(csv);
	free(hand);
	cli_test_rmdir(dir);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
		return 2;
	}
	fixtures = argv[1];
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sheet_csv_cells_know_their_row_and_column),
	    cmocka_unit_test(test_sheet_csv_semicolon_and_bom_as_excel_vi_writes),
	    cmocka_unit_test(test_sheet_text_becomes_nfc),
	    cmocka_unit_test(test_sheet_csv_invalid_utf8_names_row_and_column),
	    cmocka_unit_test(test_sheet_csv_bad_quotes_are_refused_with_the_row),
	    cmocka_unit_test(test_sheet_caps_refuse_huge_input),
	    cmocka_unit_test(test_sheet_refuses_other_formats_with_advice),
	    cmocka_unit_test(test_sheet_xlsx_parts_and_cell_types),
	    cmocka_unit_test(test_sheet_xlsx_date_systems),
	    cmocka_unit_test(test_sheet_xlsx_malformed_parts_are_refused),
	    cmocka_unit_test(test_sheet_xlsx_damaged_file_is_a_clear_error),
	    cmocka_unit_test(test_sheet_xlsx_zip_bomb_stops_at_the_part_cap),
	    cmocka_unit_test(test_sheet_default_caps_stop_a_real_bomb_and_a_1_gib_file),
	    cmocka_unit_test(test_sheet_xlsx_from_libxlsxwriter),
	    cmocka_unit_test(test_sheet_mutated_files_never_crash),
	    cmocka_unit_test(test_sheet_allocation_failures_are_errors_not_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
