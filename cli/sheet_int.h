/*
 * sheet_int.h - what sheet.c (the grid, cell text rules, CSV) shares with
 * sheet_xlsx.c (the XLSX reader).  Nothing outside these two files includes it.
 */
#ifndef ML_CLI_SHEET_INT_H
#define ML_CLI_SHEET_INT_H

#include "cli/sheet.h"

/* One read in progress: the file's name for messages, its caps, the growing sheet. */
struct sheet_rd {
	const char *name;
	const struct sheet_limits *lim;
	struct sheet *sh;
	struct ml_buf *err; /* may be NULL */
};

/*
 * Adds the cell (row, col) with raw text s[0..n) after checking it (size,
 * NUL bytes, UTF-8), trimming it and converting it to NFC; an empty result
 * adds nothing.  Returns ML_OK or an error with the message set in rd->err.
 */
int sheet__cell_add(struct sheet_rd *rd, uint32_t row, uint32_t col, const char *s, size_t n,
                    bool numeric);

/*
 * Sets rd->err to "'<name>' is not a readable spreadsheet: <why>" and returns
 * code.  `why` is printf-formatted.
 */
int sheet__unreadable(struct sheet_rd *rd, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets rd->err to "'<name>' row R, column C: <what>" and returns code. */
int sheet__cell_fail(struct sheet_rd *rd, int code, uint32_t row, uint32_t col, const char *what);

/* Writes n as "64 MiB", "12 KiB" or "300 bytes" (whole units only) into out. */
void sheet__size_text(size_t n, char out[static 32]);

/* ---- sheet_number.c: numbers and dates in XLSX cells */

/* Parses all-digit s[0..n) as a value <= max into *out; false for anything else. */
bool sheet__parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out);

/*
 * Whether a number format code shows a date: it uses d or y outside quoted
 * text, [..] sections (colours, locales, elapsed time) and escaped characters.
 * "m" alone is no proof, since it also means minutes.
 */
bool sheet__format_is_date(const char *code);

/*
 * Writes the number in Excel's notation s[0..n) ("109814122", "1.09814122E8",
 * "-0.5", "1E-3") to out as Excel's General format shows it: at most 15
 * significant digits (rounded half up), no exponent, no trailing zeros.
 * Returns false, writing nothing, when s is not a number or would need more
 * than 30 integer or 20 leading fraction digits.
 */
bool sheet__number_text(const char *s, size_t n, char out[static 64]);

/*
 * Writes the date an Excel serial shows (decimal text as sheet__number_text
 * writes it; the time of day is ignored) as dd/MM/yyyy.  Serial 1 is
 * 01/01/1900 in the 1900 system, which counts the non-existent 29/02/1900 as
 * serial 60 (kept, so that date validation refuses it); serial 0 is
 * 01/01/1904 in the 1904 system.  False for a negative serial, serial 0 in the
 * 1900 system, or a date past 31/12/9999.
 */
bool sheet__serial_to_dmy(const char *number, bool date1904, char out[static 11]);

/* Writes "2012-02-11" or "2012-02-11T08:00:00" (cell type d) as 11/02/2012. */
bool sheet__iso_to_dmy(const char *s, size_t n, char out[static 11]);

/* ---- sheet_xlsx.c */

/* Reads the XLSX held in data[0..len) into rd->sh (cells unsorted). */
int sheet__xlsx(struct sheet_rd *rd, const uint8_t *data, size_t len);

#endif
