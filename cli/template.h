/*
 * template.h - the official new-member template "DANH SÁCH NẠP MỚI ĐOÀN VIÊN
 * CÔNG ĐOÀN" (Phụ lục 03), read from a struct sheet and checked row by row
 * (requirements §3, product decisions 1-3).
 *
 * Layout: any header rows, then a row numbering the columns 1 to 15 in
 * columns 1 to 15 (numbers typed in Excel may read "1" or "1.0"), then one
 * member per row.  The numbering row, not the header text, identifies the
 * template and fixes what each column means.  The first row whose 15 cells
 * are all empty ends the data; rows after it are ignored, and so is anything
 * right of column 15.
 *
 *   col  header (tpl_column_header)  rule
 *   1    TT                          anything: the row's ordinal
 *   2    Họ và tên                   required; a valid name (ml_field_name), <= 100 characters
 *   3    Ngày tháng năm sinh - Nam   date of birth of a man
 *   4    Ngày tháng năm sinh - Nữ    date of birth of a woman; 3 and 4 both filled is an
 *                                    error, neither leaves the gender unknown
 *   5    Quê quán                    optional text (ml_field_text), <= 200 characters
 *   6    Số CMND                     required; digits only, exactly 9 or 12, unique in the file
 *   7-13 Chủ tịch .. UVUBKT          union positions: each empty or x/X
 *   14   Ngày vào CĐ                 required date of joining the union
 *   15   Mã thẻ                      empty or x/X: a full-time union cadre
 *
 * Dates are dd/MM/yyyy; d/M/yyyy (1/2/1990) is accepted too and stored as
 * dd/MM/yyyy (01/02/1990).  Every rule is checked on every row and every
 * violation is listed.  Import is all or nothing: a file with any problem
 * yields no members.
 *
 * Messages are English source strings through gettext, naming the column by
 * its Vietnamese header: "row 9, column 6 (Số CMND): must be 9 or 12 digits,
 * found 8".
 */
#ifndef ML_CLI_TEMPLATE_H
#define ML_CLI_TEMPLATE_H

#include "cli/sheet.h"
#include "crdt/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TPL_COLS         15
#define TPL_NAME_MAX     100   /* code points */
#define TPL_HOMETOWN_MAX 200   /* code points */
#define TPL_MAX_PROBLEMS 10000 /* listed; more are only counted (problems_dropped) */

enum tpl_col {
	TPL_COL_TT = 1,
	TPL_COL_NAME = 2,
	TPL_COL_DOB_MALE = 3,
	TPL_COL_DOB_FEMALE = 4,
	TPL_COL_HOMETOWN = 5,
	TPL_COL_ID = 6,
	TPL_COL_POSITION_FIRST = 7, /* 7..13: chair .. inspection_committee_member */
	TPL_COL_POSITION_LAST = 13,
	TPL_COL_JOIN_DATE = 14,
	TPL_COL_FULL_TIME = 15,
};

enum tpl_gender {
	TPL_GENDER_UNKNOWN = 0, /* neither date-of-birth column filled */
	TPL_GENDER_MALE = 1,    /* column 3 (Nam) */
	TPL_GENDER_FEMALE = 2,  /* column 4 (Nữ) */
};

/* One member row.  The two free-text fields are heap strings owned by the tpl_result. */
struct tpl_member {
	int row;         /* spreadsheet row */
	char *full_name; /* NFC, valid per ml_field_name */
	char dob[11];    /* dd/MM/yyyy, or "" when unknown */
	enum tpl_gender gender;
	char *hometown;           /* "" when empty */
	char id_number[13];       /* 9 or 12 digits */
	unsigned positions;       /* bit i set: the member holds ml_positions[i] */
	bool full_time_cadre;     /* column 15 marked */
	char union_join_date[11]; /* dd/MM/yyyy */
};

struct tpl_problem {
	int row, col; /* spreadsheet row; template column 1..15 */
	char *msg;    /* "row 9, column 6 (Số CMND): must be 9 or 12 digits, found 8" */
};

struct tpl_result {
	int numbering_row;          /* the row numbering the columns; 0 if none was found */
	struct tpl_member *members; /* n_members rows, in file order; only on ML_OK */
	size_t n_members;
	struct tpl_problem *problems; /* sorted by row, then column; only on ML_EFIELD */
	size_t n_problems;
	size_t problems_dropped;            /* problems past TPL_MAX_PROBLEMS, not listed */
	size_t problem_rows;                /* rows with at least one problem */
	size_t cap_members_, cap_problems_; /* private */
};

/*
 * Reads the members of the template in sh (borrowed for the call) into *out,
 * which the caller releases with tpl_result_release in every case.
 * file_name is used in messages only.  Returns
 *   ML_OK         members filled, no problem found;
 *   ML_EFIELD     some rows break the rules: out->problems lists each
 *                 violation, out->members is empty, err summarises;
 *   ML_EMALFORMED not the template (no numbering row); err says so;
 *   ML_ENOTFOUND  the template lists no member (the row below the
 *                 numbering row is empty);
 *   ML_ENOMEM.
 * err may be NULL.
 */
int tpl_parse(const struct sheet *sh, const char *file_name, struct tpl_result *out,
              struct ml_buf *err);

/* Frees everything r holds and zeroes it; accepts NULL and zeroed results. */
void tpl_result_release(struct tpl_result *r);

/*
 * Prints each problem of r as "'<file_name>' <msg>" on its own line to f,
 * then a line counting any dropped ones.  Borrows everything.
 */
void tpl_problems_print(FILE *f, const char *file_name, const struct tpl_result *r);

/*
 * Returns the official Vietnamese header of template column col (1..15),
 * as in the table above ("Số CMND"), or NULL outside 1..15.  Static storage.
 */
const char *tpl_column_header(int col);

/*
 * Returns the header spanning several columns above col in the template's
 * first header row ("Ngày tháng năm sinh (ngày/tháng/năm)" for 3-4, "Chức vụ
 * CĐ tại CĐCS" for 7-13), or NULL for a column without one.  Static storage.
 */
const char *tpl_column_group(int col);

/*
 * Returns the template's label of a position identifier from ml_positions
 * ("chair" -> "Chủ tịch", "exec_committee_member" -> "UVBCH"), or NULL for an
 * unknown identifier.  Static storage.
 */
const char *tpl_position_label(const char *position);

#endif
