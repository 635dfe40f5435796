/*
 * export.h - member lists written for people, as .xlsx or .csv chosen by the
 * file name's extension:
 *
 *   "DANH SÁCH CHI TIẾT ĐOÀN VIÊN"        the detailed list (RPT-1): every field
 *                                         of every member, archived monthly to
 *                                         reconcile data-entry payments
 *   "DANH SÁCH ĐỀ NGHỊ IN THẺ ĐOÀN VIÊN"  the request to print membership cards
 *
 * Both are tables (struct export_table: title lines, a row of official
 * Vietnamese headers, one row of strings per member) written by one writer,
 * export_table_write; export_members_write and export_cards_write turn
 * member records into their table.  Layout, in Excel's row numbers:
 *
 *   1   the list's title
 *   2   "Đơn vị: <unit>", followed by " (mã: <id>)" when an id is given
 *   3   "Thời gian xuất: dd/MM/yyyy HH:mm:ss (UTC+7)" (the export time, RPT-2)
 *   4   the headers
 *   5.. one row per member, TT numbering them from 1
 *
 * .xlsx (libxlsxwriter): every value is a text cell, so ID numbers, member
 * numbers and phones keep their leading zeros and Excel never turns them into
 * numbers; the workbook's "created" property is the export time, so the same
 * input gives the same bytes.  .csv: UTF-8 with a BOM (so Excel reads it as
 * UTF-8), commas, CRLF line ends, RFC 4180 quoting (a field holding a comma,
 * quote, CR or LF is quoted, its quotes doubled), title lines padded with
 * empty fields to the header's width; a text a spreadsheet would run as a
 * formula (starting with = + - @, or a tab or CR; not a plain number) gets a
 * leading apostrophe, since the text may come from another unit's device.
 *
 * The destination appears whole or not at all: the list is written to a
 * temporary file in the same directory (mode 0600, as it holds personal
 * data), flushed to disk and renamed over the destination; on failure the
 * temporary file is removed.  Every string is checked before anything is
 * written (libxlsxwriter would write invalid UTF-8 silently): valid UTF-8, no
 * control character but tab, CR and LF, at most 32,767 characters (Excel's
 * cell limit).
 *
 * Functions return ML_OK, ML_EINVAL (bad input: err says which value),
 * ML_EIO (the file could not be written: err says why) or ML_ENOMEM.  All
 * pointers are borrowed for the call; err may be NULL.  No global state.
 */
#ifndef ML_CLI_EXPORT_H
#define ML_CLI_EXPORT_H

#include "crdt/buf.h"
#include "crdt/member.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Any list: title lines, then headers, then rows of text. */
struct export_table {
	const char *sheet_name;   /* the .xlsx tab: 1..31 characters, none of []:*?/\ */
	const char *const *title; /* n_title lines, each alone in column 1 above the headers */
	size_t n_title;
	const char *const *headers; /* n_cols >= 1 column headers */
	size_t n_cols;
	const char *const *cells; /* n_rows * n_cols values, row by row; NULL is empty */
	size_t n_rows;
	int64_t created; /* Unix time: the .xlsx "created" property */
};

/* Writes t to path (.xlsx or .csv, any case); see the top of this file. */
int export_table_write(const char *path, const struct export_table *t, struct ml_buf *err);

/* What rows 2 and 3 say. */
struct export_title {
	const char *unit_name; /* the unit whose list this is */
	const char *unit_id;   /* its id or the network's, shown after the name; NULL: none */
	int64_t exported_at;   /* Unix seconds, shown in Vietnam time (UTC+7) */
};

/* One member of the detailed list.  NULL or "" strings are written as empty cells. */
struct export_member {
	const char *member_number; /* 12 digits; empty until the first approval */
	const char *full_name;
	const char *dob;    /* dd/MM/yyyy */
	const char *gender; /* "male" / "female" (ml_genders) -> Nam / Nữ; NULL: unknown */
	const char *hometown;
	const char *id_number;
	const char *phone;
	const char *const *positions; /* n_positions identifiers from ml_positions, any order; */
	size_t n_positions;           /* written as the template's labels in ml_positions order */
	const char *union_join_date;  /* dd/MM/yyyy */
	bool full_time_cadre;         /* written "x" */
	const char *unit_name;
	enum ml_record_state state; /* Nháp / Chờ duyệt / Trả lại / Chính thức */
	const char *status; /* "active", "reduced", "transferring", "aged_out"; NULL: empty */
};

/* One member of the card-printing request. */
struct export_card {
	const char *member_number;
	const char *full_name;
	const char *dob;
	const char *gender; /* as in export_member */
	const char *id_number;
	const char *card_type; /* "ordinary" / "linked" (ml_card_types) */
	const char *unit_name;
};

/*
 * Writes the detailed list "DANH SÁCH CHI TIẾT ĐOÀN VIÊN" of m[0..n) to path.
 * Columns: TT, Mã số đoàn viên, Họ và tên, Ngày sinh, Giới tính, Quê quán,
 * Số CMND/CCCD, Số điện thoại, Chức vụ CĐ, Ngày vào CĐ, Cán bộ CĐ chuyên
 * trách, Đơn vị, Trạng thái bản ghi, Tình trạng.  An unknown gender, position
 * or status identifier is ML_EINVAL.
 */
int export_members_write(const char *path, const struct export_title *t,
                         const struct export_member *m, size_t n, struct ml_buf *err);

/*
 * Writes the card-printing request "DANH SÁCH ĐỀ NGHỊ IN THẺ ĐOÀN VIÊN" of
 * c[0..n) to path.  Columns: TT, Mã số đoàn viên, Họ và tên, Ngày sinh, Giới
 * tính, Số CMND/CCCD, Loại thẻ (Thẻ thông thường / Thẻ liên kết), Đơn vị.
 * An unknown gender or card type is ML_EINVAL.
 */
int export_cards_write(const char *path, const struct export_title *t, const struct export_card *c,
                       size_t n, struct ml_buf *err);

/* Writes unix_seconds as "dd/MM/yyyy HH:mm:ss (UTC+7)" (Vietnam has no daylight saving). */
void export_format_time(int64_t unix_seconds, char out[static 32]);

#endif
