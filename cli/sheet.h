/*
 * sheet.h - a spreadsheet file (.xlsx or .csv) read into a grid of UTF-8
 * cells, for importing member lists typed in Excel.
 *
 * Units fill the official templates in Excel and send either the workbook or
 * a CSV export of it, so both are read into one shape: the non-empty cells of
 * the first worksheet, each with its 1-based spreadsheet row and column, its
 * text valid UTF-8 in Unicode NFC with surrounding whitespace removed.  What
 * the cells mean is the caller's business (cli/template.h).
 *
 * Format detection is by content, not by name: a file starting with the ZIP
 * signature "PK\3\4" is read as XLSX, anything else as CSV, except that a
 * name ending in .xlsx/.xlsm must hold a ZIP archive and an old .xls (OLE2)
 * or UTF-16 file is refused with a sentence saying how to save it instead.
 *
 *   CSV   RFC 4180 through libcsv in strict mode; a UTF-8 BOM is dropped; the
 *         delimiter is ';' when the first lines hold more ';' than ',' outside
 *         quotes (Excel in vi-VN writes ';'), else ','.  The row number is the
 *         record number, so a quoted multi-line cell does not shift it; a
 *         blank line is an (empty) row.
 *   XLSX  the first sheet of the workbook, found through _rels/.rels,
 *         the workbook and its relationships; shared strings (rich-text runs
 *         joined, phonetic runs dropped), inline strings, formula results,
 *         booleans as TRUE/FALSE.  A number is written in decimal as Excel
 *         shows it in General format (integers as plain digits, whatever the
 *         file's notation: 1.09814122E8 gives "109814122"; at most 15
 *         significant digits) and marked `numeric`.  A number in a
 *         date-formatted cell becomes dd/MM/yyyy (1900 and 1904 date
 *         systems), so a date typed into Excel reads as the date it shows.
 *
 * Every size is capped before memory is committed to it (struct
 * sheet_limits): the file, each decompressed XML part (a zip bomb stops at the
 * cap), the ZIP's entry count, the number of cells and shared strings, the
 * bytes of one cell and of all text.  A file past a cap is refused with
 * ML_ETOOBIG and a sentence; nothing derived from the file aborts.
 *
 * Errors name the file as the caller spelled it and, when a cell is at fault,
 * its row and column: "'x.csv' row 7, column 3: invalid UTF-8".
 * No global state: different threads may read different files at once.
 * Files: sheet.c (cells, CSV), sheet_xlsx.c (XLSX), sheet_number.c (numbers
 * and dates in XLSX cells).
 */
#ifndef ML_CLI_SHEET_H
#define ML_CLI_SHEET_H

#include "crdt/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Excel's own grid: rows and columns past these do not exist in a workbook. */
#define SHEET_MAX_ROW 1048576u
#define SHEET_MAX_COL 16384u

struct sheet_cell {
	uint32_t row; /* 1-based spreadsheet row (CSV: record number) */
	uint32_t col; /* 1-based column */
	bool numeric; /* an XLSX number cell (not date-formatted); text is its decimal form */
	size_t len;   /* strlen(text), > 0 */
	char *text;   /* NUL-terminated UTF-8, NFC, trimmed, never empty; owned by the sheet */
};

struct sheet {
	struct sheet_cell *cells; /* the n non-empty cells, sorted by row, then column */
	size_t n;
	uint32_t max_row, max_col; /* largest row and column holding a cell; 0 when n == 0 */
	bool xlsx;                 /* read as XLSX (else CSV) */
	size_t cap_;               /* private: allocated cells */
	size_t text_bytes_;        /* private: bytes of all texts, checked against the cap */
};

/* Caps on what one file may cost; sheet_default_limits holds the values sheet_read uses. */
struct sheet_limits {
	size_t file_bytes;  /* the file itself (64 MiB) */
	size_t part_bytes;  /* one decompressed XML part of an XLSX (128 MiB) */
	size_t zip_entries; /* entries in the XLSX's ZIP directory (10,000) */
	size_t cells;       /* non-empty cells, and separately shared strings (1,000,000) */
	size_t cell_bytes;  /* one cell's text before trimming (32,767: Excel's own limit) */
	size_t text_bytes;  /* all cell texts together (64 MiB) */
};

extern const struct sheet_limits sheet_default_limits;

/*
 * Reads the spreadsheet at path into *out with sheet_default_limits.
 * Returns ML_OK; ML_EIO (cannot open or read; err names the file and the
 * system's reason); ML_EMALFORMED (not a readable spreadsheet, or a cell with
 * invalid UTF-8 or a NUL byte); ML_ETOOBIG (a cap); ML_ENOMEM.  On success the
 * caller releases *out with sheet_release; on failure *out is empty (still
 * safe to release).  path is borrowed for the call; err may be NULL.
 */
int sheet_read(const char *path, struct sheet *out, struct ml_buf *err);

/* As sheet_read, with caps from *lim (borrowed for the call; NULL for the defaults). */
int sheet_read_limited(const char *path, const struct sheet_limits *lim, struct sheet *out,
                       struct ml_buf *err);

/*
 * As sheet_read_limited, on the file's bytes data[0..len) already in memory
 * (borrowed for the call); name is only used in messages and for the
 * .xlsx-must-be-ZIP rule.  lim may be NULL for the defaults.
 */
int sheet_parse(const char *name, const uint8_t *data, size_t len, const struct sheet_limits *lim,
                struct sheet *out, struct ml_buf *err);

/* Returns the cell at (row, col), or NULL when it is empty; borrowed until sheet_release. */
const struct sheet_cell *sheet_get(const struct sheet *sh, uint32_t row, uint32_t col);

/* Frees every cell and zeroes *sh; accepts NULL and zeroed sheets. */
void sheet_release(struct sheet *sh);

#endif
