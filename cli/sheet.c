/*
 * sheet.c - the cell grid, the rules every cell's text passes, reading the
 * file, telling the formats apart, and the CSV reader.  The XLSX reader is
 * sheet_xlsx.c; both hand each raw cell to sheet__cell_add.
 *
 * Invariants of a struct sheet after a successful read: cells[0..n) sorted by
 * (row, col), no two at one position; every text non-empty, NUL-terminated,
 * valid UTF-8 in NFC, without leading or trailing white space (ASCII
 * controls \t\n\v\f\r, U+0085, every Unicode space separator such as the
 * no-break space Excel users paste, U+200B and U+FEFF); n <= lim.cells and the
 * texts' bytes <= lim.text_bytes.
 *
 * CSV rows: libcsv runs with CSV_REPALL_NL so that a blank line is reported
 * (it would otherwise be skipped and shift every later row number); the LF of
 * a CRLF then arrives as a second end of record with no field, and is dropped.
 */
#include "cli/sheet.h"

#include "cli/i18n.h"
#include "cli/sheet_int.h"
#include "crdt/alloc.h"
#include "crdt/codec.h"
#include "crdt/err.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utf8proc.h>

const struct sheet_limits sheet_default_limits = {
    .file_bytes = 64u << 20,
    .part_bytes = 128u << 20,
    .zip_entries = 10000,
    .cells = 1000000,
    .cell_bytes = 32767,
    .text_bytes = 64u << 20,
};

/* How far into a CSV the delimiter vote looks. */
#define CSV_SNIFF_BYTES 65536
#define CSV_SNIFF_LINES 20

static const uint8_t utf8_bom[3] = {0xef, 0xbb, 0xbf};
static const uint8_t ole2_magic[8] = {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1};

int sheet__unreadable(struct sheet_rd *rd, int code, const char *fmt, ...)
{
	if (!rd->err)
		return code;
	struct ml_buf why = ML_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	ml_buf_vaddf(&why, fmt, ap);
	va_end(ap);
	ml_errf(rd->err, code, _("'%s' is not a readable spreadsheet: %s"), rd->name,
	        ml_buf_str(&why));
	ml_buf_release(&why);
	return code;
}

int sheet__cell_fail(struct sheet_rd *rd, int code, uint32_t row, uint32_t col, const char *what)
{
	return ml_errf(rd->err, code, _("'%s' row %u, column %u: %s"), rd->name, (unsigned)row,
	               (unsigned)col, what);
}

void sheet__size_text(size_t n, char out[static 32])
{
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(out, 32, "%zu MiB", n >> 20);
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(out, 32, "%zu KiB", n >> 10);
	else
		snprintf(out, 32, "%zu bytes", n);
}

static bool is_space(utf8proc_int32_t c)
{
	if (c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0x200b || c == 0xfeff)
		return true;
	return utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

/* Narrows [*a, *b) of valid UTF-8 s to exclude leading and trailing white space. */
static void trim(const char *s, size_t *a, size_t *b)
{
	const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)s;
	while (*a < *b) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate(u + *a, (utf8proc_ssize_t)(*b - *a), &c);
		if (k <= 0 || !is_space(c))
			break;
		*a += (size_t)k;
	}
	while (*b > *a) {
		size_t start = *b - 1;
		while (start > *a && (u[start] & 0xc0) == 0x80)
			start--;
		utf8proc_int32_t c;
		utf8proc_ssize_t k =
		    utf8proc_iterate(u + start, (utf8proc_ssize_t)(*b - start), &c);
		if (k <= 0 || !is_space(c))
			break;
		*b = start;
	}
}

/* Returns a NUL-terminated NFC copy of s[0..n) (valid UTF-8) in *out, or ML_ENOMEM. */
static int nfc_copy(const char *s, size_t n, char **out, size_t *out_len)
{
	bool ascii = true;
	for (size_t i = 0; i < n && ascii; i++)
		ascii = (unsigned char)s[i] < 0x80;
	utf8proc_uint8_t *nfc = NULL;
	if (!ascii) {
		utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n,
		                                  &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
		if (m < 0)
			return m == UTF8PROC_ERROR_NOMEM ? ML_ENOMEM : ML_EMALFORMED;
		s = (const char *)nfc;
		n = (size_t)m;
	}
	char *p = ml_malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	free(nfc); /* utf8proc allocates with malloc */
	if (!p)
		return ML_ENOMEM;
	*out = p;
	*out_len = n;
	return ML_OK;
}

int sheet__cell_add(struct sheet_rd *rd, uint32_t row, uint32_t col, const char *s, size_t n,
                    bool numeric)
{
	const struct sheet_limits *lim = rd->lim;
	struct sheet *sh = rd->sh;
	if (row == 0 || row > SHEET_MAX_ROW || col == 0 || col > SHEET_MAX_COL)
		return sheet__unreadable(
		    rd, ML_EMALFORMED, _("a cell lies outside Excel's grid (row %lu, column %lu)"),
		    (unsigned long)row, (unsigned long)col);
	if (n > lim->cell_bytes) {
		char size[32];
		sheet__size_text(lim->cell_bytes, size);
		struct ml_buf what = ML_BUF_INIT;
		ml_buf_addf(&what, _("the cell holds more than %s, too long for a member list"),
		            size);
		sheet__cell_fail(rd, ML_ETOOBIG, row, col, ml_buf_str(&what));
		ml_buf_release(&what);
		return ML_ETOOBIG;
	}
	if (memchr(s, 0, n))
		return sheet__cell_fail(rd, ML_EMALFORMED, row, col,
		                        _("the cell holds a NUL byte"));
	if (!ml_utf8_valid((const uint8_t *)s, n))
		return sheet__cell_fail(rd, ML_EMALFORMED, row, col, _("invalid UTF-8"));
	size_t a = 0, b = n;
	trim(s, &a, &b);
	if (a == b)
		return ML_OK;
	if (sh->n >= lim->cells)
		return ml_errf(
		    rd->err, ML_ETOOBIG,
		    _("'%s' holds more than %zu filled cells; split it into smaller files"),
		    rd->name, lim->cells);
	char *text;
	size_t len;
	int rc = nfc_copy(s + a, b - a, &text, &len);
	if (rc == ML_EMALFORMED)
		return sheet__cell_fail(rd, rc, row, col, _("invalid UTF-8"));
	if (rc < 0)
		return ml_errf(rd->err, rc, _("out of memory reading '%s'"), rd->name);
	size_t total;
	if (__builtin_add_overflow(sh->text_bytes_, len, &total) || total > lim->text_bytes) {
		ml_free(text);
		char size[32];
		sheet__size_text(lim->text_bytes, size);
		return ml_errf(rd->err, ML_ETOOBIG,
		               _("'%s' holds more than %s of text; split it into smaller files"),
		               rd->name, size);
	}
	struct sheet_cell *cells = ml_grow(sh->cells, &sh->cap_, sh->n + 1, sizeof *cells, 256);
	if (!cells) {
		ml_free(text);
		return ml_errf(rd->err, ML_ENOMEM, _("out of memory reading '%s'"), rd->name);
	}
	sh->cells = cells;
	cells[sh->n++] = (struct sheet_cell){row, col, numeric, len, text};
	sh->text_bytes_ = total;
	if (row > sh->max_row)
		sh->max_row = row;
	if (col > sh->max_col)
		sh->max_col = col;
	return ML_OK;
}

/* ---- CSV */

struct csv_ctx {
	struct sheet_rd *rd;
	uint32_t row, col;
	bool fields;  /* a field was reported since the last end of record */
	int last_eor; /* the character that ended the previous record */
	int rc;       /* sticky: the first error stops all further work */
};

static void csv_field(void *s, size_t n, void *data)
{
	struct csv_ctx *c = data;
	if (c->rc < 0)
		return;
	c->fields = true;
	if (c->row > SHEET_MAX_ROW) {
		c->rc = ml_errf(c->rd->err, ML_ETOOBIG,
		                _("'%s' has more than %u rows, more than Excel allows"),
		                c->rd->name, SHEET_MAX_ROW);
		return;
	}
	if (++c->col > SHEET_MAX_COL) {
		c->rc = ml_errf(c->rd->err, ML_ETOOBIG,
		                _("'%s' row %u has more than %u columns, more than Excel allows"),
		                c->rd->name, (unsigned)c->row, SHEET_MAX_COL);
		return;
	}
	c->rc = sheet__cell_add(c->rd, c->row, c->col, s ? s : "", s ? n : 0, false);
}

static void csv_eor(int ch, void *data)
{
	struct csv_ctx *c = data;
	if (c->rc < 0)
		return;
	bool crlf_tail = !c->fields && ch == '\n' && c->last_eor == '\r';
	c->last_eor = ch;
	if (crlf_tail)
		return;
	c->fields = false;
	c->col = 0;
	c->row++;
}

/* ';' when the first lines hold more semicolons than commas outside quotes, else ','. */
static unsigned char csv_delimiter(const uint8_t *p, size_t n)
{
	size_t commas = 0, semicolons = 0, lines = 0;
	bool quoted = false;
	for (size_t i = 0; i < n && i < CSV_SNIFF_BYTES && lines < CSV_SNIFF_LINES; i++) {
		if (p[i] == '"')
			quoted = !quoted;
		else if (quoted)
			continue;
		else if (p[i] == ',')
			commas++;
		else if (p[i] == ';')
			semicolons++;
		else if (p[i] == '\n')
			lines++;
	}
	return semicolons > commas ? ';' : ',';
}

static int read_csv(struct sheet_rd *rd, const uint8_t *p, size_t n)
{
	if (n >= 3 && memcmp(p, utf8_bom, 3) == 0) {
		p += 3;
		n -= 3;
	}
	struct csv_parser parser;
	if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0)
		return ml_errf(rd->err, ML_ENOMEM, _("out of memory reading '%s'"), rd->name);
	csv_set_delim(&parser, csv_delimiter(p, n));
	struct csv_ctx c = {.rd = rd, .row = 1};
	size_t used = csv_parse(&parser, p, n, csv_field, csv_eor, &c);
	int perr = used < n ? csv_error(&parser) : CSV_SUCCESS;
	bool fini_failed = false;
	if (perr == CSV_SUCCESS && c.rc == ML_OK) {
		fini_failed = csv_fini(&parser, csv_field, csv_eor, &c) != 0;
		if (fini_failed)
			perr = csv_error(&parser);
	}
	csv_free(&parser);
	if (c.rc < 0)
		return c.rc;
	if (perr == CSV_ENOMEM || perr == CSV_ETOOBIG)
		return ml_errf(rd->err, ML_ENOMEM, _("out of memory reading '%s'"), rd->name);
	if (perr != CSV_SUCCESS && fini_failed)
		return sheet__unreadable(rd, ML_EMALFORMED,
		                         _("row %u opens a quoted cell that is never closed"),
		                         (unsigned)c.row);
	if (perr != CSV_SUCCESS)
		return sheet__unreadable(
		    rd, ML_EMALFORMED,
		    _("a quote (\") is out of place in row %u; a cell holding quotes must be "
		      "enclosed in quotes, each quote inside it doubled"),
		    (unsigned)c.row);
	return ML_OK;
}

/* ---- the grid */

static int cell_cmp(const void *a, const void *b)
{
	const struct sheet_cell *x = a, *y = b;
	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

static int finish(struct sheet_rd *rd)
{
	struct sheet *sh = rd->sh;
	if (sh->n > 1)
		qsort(sh->cells, sh->n, sizeof *sh->cells, cell_cmp);
	for (size_t i = 1; i < sh->n; i++) {
		if (sh->cells[i].row == sh->cells[i - 1].row &&
		    sh->cells[i].col == sh->cells[i - 1].col)
			return sheet__unreadable(
			    rd, ML_EMALFORMED, _("row %u, column %u is given twice"),
			    (unsigned)sh->cells[i].row, (unsigned)sh->cells[i].col);
	}
	return ML_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int sheet_parse(const char *name, const uint8_t *data, size_t len, const struct sheet_limits *lim,
                struct sheet *out, struct ml_buf *err)
{
	memset(out, 0, sizeof *out);
	struct sheet_rd rd = {name, lim ? lim : &sheet_default_limits, out, err};
	int rc;
	char size[32];
	sheet__size_text(rd.lim->file_bytes, size);
	if (len > rd.lim->file_bytes)
		rc = ml_errf(err, ML_ETOOBIG,
		             _("'%s' is larger than %s; split it into smaller files"), name, size);
	else if (len >= 4 && memcmp(data, "PK\x03\x04", 4) == 0) {
		out->xlsx = true;
		rc = sheet__xlsx(&rd, data, len);
	} else if (len >= 8 && memcmp(data, ole2_magic, 8) == 0)
		rc =
		    sheet__unreadable(&rd, ML_EMALFORMED,
		                      _("it is an Excel 97-2003 (.xls) or password-protected "
		                        "workbook; save it from Excel as .xlsx without a password, "
		                        "or as CSV UTF-8"));
	else if (ends_with(name, ".xlsx") || ends_with(name, ".xlsm"))
		rc =
		    sheet__unreadable(&rd, ML_EMALFORMED,
		                      _("an .xlsx file is a ZIP archive and this one is not; it is "
		                        "damaged, or another kind of file was renamed"));
	else if (len >= 2 &&
	         ((data[0] == 0xff && data[1] == 0xfe) || (data[0] == 0xfe && data[1] == 0xff)))
		rc = sheet__unreadable(&rd, ML_EMALFORMED,
		                       _("it is written in UTF-16; save it as \"CSV UTF-8\""));
	else
		rc = read_csv(&rd, data, len);
	if (rc == ML_OK)
		rc = finish(&rd);
	if (rc < 0)
		sheet_release(out);
	return rc;
}

/* Reads the regular file at path, at most max bytes, into out. */
static int read_file(const char *path, size_t max, struct ml_buf *out, struct ml_buf *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ml_errf(err, ML_EIO, _("cannot open '%s': %s"), path, strerror(errno));
	struct stat st;
	int rc = ML_OK;
	char size[32];
	sheet__size_text(max, size);
	if (fstat(fd, &st) != 0)
		rc = ml_errf(err, ML_EIO, _("cannot read '%s': %s"), path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = ml_errf(err, ML_EIO, _("'%s' is not a regular file"), path);
	else if ((uint64_t)st.st_size > max)
		rc = ml_errf(err, ML_ETOOBIG,
		             _("'%s' is larger than %s; split it into smaller files"), path, size);
	else
		rc = ml_buf_reserve(out, (size_t)st.st_size + 1);
	/* Read to the end even when st_size said less: the file may grow while read. */
	while (rc == ML_OK) {
		if (out->len + 1 == out->cap && (rc = ml_buf_reserve(out, 65536)) < 0)
			break;
		ssize_t k = read(fd, out->data + out->len, out->cap - 1 - out->len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = ml_errf(err, ML_EIO, _("cannot read '%s': %s"), path, strerror(errno));
			break;
		}
		if (k == 0)
			break;
		out->len += (size_t)k;
		if (out->len > max)
			rc = ml_errf(err, ML_ETOOBIG,
			             _("'%s' is larger than %s; split it into smaller files"), path,
			             size);
	}
	if (out->cap)
		out->data[out->len] = 0;
	close(fd);
	return rc;
}

int sheet_read_limited(const char *path, const struct sheet_limits *lim, struct sheet *out,
                       struct ml_buf *err)
{
	memset(out, 0, sizeof *out);
	if (!lim)
		lim = &sheet_default_limits;
	struct ml_buf data = ML_BUF_INIT;
	int rc = read_file(path, lim->file_bytes, &data, err);
	if (rc == ML_ENOMEM)
		ml_errf(err, rc, _("out of memory reading '%s'"), path);
	if (rc == ML_OK)
		rc = sheet_parse(path, data.data ? data.data : (const uint8_t *)"", data.len, lim,
		                 out, err);
	ml_buf_release(&data);
	return rc;
}

int sheet_read(const char *path, struct sheet *out, struct ml_buf *err)
{
	return sheet_read_limited(path, &sheet_default_limits, out, err);
}

const struct sheet_cell *sheet_get(const struct sheet *sh, uint32_t row, uint32_t col)
{
	size_t lo = 0, hi = sh->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct sheet_cell *c = &sh->cells[mid];
		if (c->row < row || (c->row == row && c->col < col))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < sh->n && sh->cells[lo].row == row && sh->cells[lo].col == col)
		return &sh->cells[lo];
	return NULL;
}

void sheet_release(struct sheet *sh)
{
	if (!sh)
		return;
	for (size_t i = 0; i < sh->n; i++)
		ml_free(sh->cells[i].text);
	ml_free(sh->cells);
	memset(sh, 0, sizeof *sh);
}
