/*
 * export.c - one table writer with two formats (.xlsx through libxlsxwriter,
 * .csv by hand), the temporary-file-and-rename that makes a list appear
 * whole or not at all, and the two member lists built on it.  The formats
 * and the layout are described in export.h.
 *
 * Order of work in export_table_write: check every string of the table
 * (nothing touches the disk for bad input), pick the format by extension,
 * create "<path>.XXXXXX" with mkstemp, write, fsync, rename over path, fsync
 * the directory.  Any failure unlinks the temporary file.
 */
#include "cli/export.h"

#include "cli/i18n.h"
#include "cli/template.h"
#include "crdt/alloc.h"
#include "crdt/codec.h"
#include "crdt/err.h"
#include "crdt/fields.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <xlsxwriter.h>

#define CELL_MAX_CHARS   32767 /* Excel's limit for one cell */
#define SHEET_NAME_MAX   31
#define COL_WIDTH_MIN    6
#define COL_WIDTH_MAX    50
#define VIETNAM_UTC_SECS (7 * 3600)

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
#define MEMBER_COLS (sizeof member_headers / sizeof member_headers[0])

static const char *const card_headers[] = {
    "TT",        "Mã số đoàn viên", "Họ và tên", "Ngày sinh",
    "Giới tính", "Số CMND/CCCD",    "Loại thẻ",  "Đơn vị",
};
#define CARD_COLS (sizeof card_headers / sizeof card_headers[0])

/* Vocabulary identifiers and how the lists show them. */
struct label {
	const char *id, *vi;
};
static const struct label gender_labels[] = {{"male", "Nam"}, {"female", "Nữ"}, {NULL, NULL}};
static const struct label card_labels[] = {
    {"ordinary", "Thẻ thông thường"}, {"linked", "Thẻ liên kết"}, {NULL, NULL}};
static const struct label status_labels[] = {{"active", "Đang sinh hoạt"},
                                             {"reduced", "Đã báo giảm"},
                                             {"transferring", "Đang chuyển đi"},
                                             {"aged_out", "Trưởng thành đoàn"},
                                             {NULL, NULL}};

static const char *state_label(enum ml_record_state s)
{
	switch (s) {
	case ML_REC_DRAFT:
		return "Nháp";
	case ML_REC_SUBMITTED:
		return "Chờ duyệt";
	case ML_REC_RETURNED:
		return "Trả lại";
	case ML_REC_OFFICIAL:
		return "Chính thức";
	case ML_REC_UNKNOWN:
		break;
	}
	return "";
}

/* Returns the label of id (NULL/"" -> ""), or NULL when id is not in the table. */
static const char *label_of(const struct label *t, const char *id)
{
	if (!id || !*id)
		return "";
	for (; t->id; t++)
		if (strcmp(t->id, id) == 0)
			return t->vi;
	return NULL;
}

void export_format_time(int64_t unix_seconds, char out[static 32])
{
	time_t t = (time_t)(unix_seconds + VIETNAM_UTC_SECS);
	struct tm tm;
	char tmp[128];
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		snprintf(tmp, sizeof tmp, "?");
	else
		snprintf(tmp, sizeof tmp, "%02d/%02d/%04d %02d:%02d:%02d (UTC+7)", tm.tm_mday,
		         tm.tm_mon + 1, tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	size_t n = strlen(tmp);
	if (n > 31)
		n = 31;
	memcpy(out, tmp, n);
	out[n] = 0;
}

/* ---- checking the table */

/* Counts the characters of s, or returns -1 for invalid UTF-8 and -2 for a control character. */
static long text_chars(const char *s)
{
	size_t n = strlen(s);
	if (!ml_utf8_valid((const uint8_t *)s, n))
		return -1;
	long chars = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
			return -2;
		chars += (c & 0xc0) != 0x80;
	}
	return chars;
}

/* Why s cannot be written, or NULL when it can. */
static const char *text_problem(const char *s)
{
	long chars = text_chars(s);
	if (chars == -1)
		return _("it is not valid UTF-8");
	if (chars == -2)
		return _("it holds a control character");
	if (chars > CELL_MAX_CHARS)
		return _("it is longer than 32767 characters, Excel's limit");
	return NULL;
}

static int check_table(const struct export_table *t, struct ml_buf *err)
{
	if (!t->sheet_name || t->n_cols == 0 || !t->headers || (t->n_title && !t->title) ||
	    (t->n_rows && !t->cells))
		return ml_errf(err, ML_EINVAL, _("cannot export: the table is incomplete"));
	long chars = text_chars(t->sheet_name);
	if (chars < 1 || chars > SHEET_NAME_MAX || strpbrk(t->sheet_name, "[]:*?/\\") ||
	    t->sheet_name[0] == '\'')
		return ml_errf(
		    err, ML_EINVAL,
		    _("cannot export: '%s' cannot name a sheet (1 to 31 characters, none "
		      "of []:*?/\\)"),
		    t->sheet_name);
	const char *why;
	for (size_t i = 0; i < t->n_title; i++)
		if (t->title[i] && (why = text_problem(t->title[i])))
			return ml_errf(err, ML_EINVAL, _("cannot export title line %zu: %s"), i + 1,
			               why);
	for (size_t j = 0; j < t->n_cols; j++)
		if (t->headers[j] && (why = text_problem(t->headers[j])))
			return ml_errf(err, ML_EINVAL, _("cannot export header %zu: %s"), j + 1,
			               why);
	for (size_t i = 0; i < t->n_rows; i++) {
		for (size_t j = 0; j < t->n_cols; j++) {
			const char *s = t->cells[i * t->n_cols + j];
			if (s && (why = text_problem(s)))
				return ml_errf(err, ML_EINVAL,
				               _("cannot export row %zu, column '%s': %s"), i + 1,
				               t->headers[j] ? t->headers[j] : "", why);
		}
	}
	return ML_OK;
}

/* ---- .xlsx */

/* The first libxlsxwriter failure of a workbook being written. */
struct xw {
	int rc;
	const char *why;
};

static void xw_check(struct xw *w, lxw_error e)
{
	if (e != LXW_NO_ERROR && w->rc == ML_OK) {
		w->rc = ML_EIO;
		w->why = lxw_strerror(e);
	}
}

static int write_xlsx(const char *path, const char *tmp, const struct export_table *t,
                      struct ml_buf *err)
{
	lxw_workbook_options opt = {.constant_memory = LXW_FALSE, .tmpdir = NULL};
	lxw_workbook *wb = workbook_new_opt(tmp, &opt);
	if (!wb)
		return ml_errf(err, ML_ENOMEM, _("cannot export to '%s': out of memory"), path);
	struct xw w = {ML_OK, NULL};
	lxw_doc_properties props = {.created = (time_t)t->created};
	xw_check(&w, workbook_set_properties(wb, &props));
	lxw_worksheet *ws = workbook_add_worksheet(wb, t->sheet_name);
	lxw_format *title = workbook_add_format(wb);
	lxw_format *head = workbook_add_format(wb);
	lxw_format *cell = workbook_add_format(wb);
	if (!ws || !title || !head || !cell) {
		workbook_close(wb);
		return ml_errf(err, ML_ENOMEM, _("cannot export to '%s': out of memory"), path);
	}
	format_set_bold(title);
	format_set_font_size(title, 14);
	format_set_bold(head);
	format_set_border(head, LXW_BORDER_THIN);
	format_set_text_wrap(head);
	format_set_align(head, LXW_ALIGN_CENTER);
	format_set_align(head, LXW_ALIGN_VERTICAL_CENTER);
	format_set_border(cell, LXW_BORDER_THIN);
	format_set_num_format(cell, "@"); /* text: Excel keeps typed digits as typed */

	lxw_row_t row = 0;
	for (size_t i = 0; i < t->n_title && w.rc == ML_OK; i++, row++)
		if (t->title[i] && *t->title[i])
			xw_check(&w, worksheet_write_string(ws, row, 0, t->title[i],
			                                    i == 0 ? title : NULL));
	lxw_row_t header_row = row;
	for (size_t j = 0; j < t->n_cols && w.rc == ML_OK; j++)
		xw_check(&w, worksheet_write_string(ws, row, (lxw_col_t)j,
		                                    t->headers[j] ? t->headers[j] : "", head));
	row++;
	for (size_t i = 0; i < t->n_rows && w.rc == ML_OK; i++, row++) {
		for (size_t j = 0; j < t->n_cols && w.rc == ML_OK; j++) {
			const char *s = t->cells[i * t->n_cols + j];
			if (s && *s)
				xw_check(&w,
				         worksheet_write_string(ws, row, (lxw_col_t)j, s, cell));
			else
				xw_check(&w, worksheet_write_blank(ws, row, (lxw_col_t)j, cell));
		}
	}
	/* Column widths from the longest value, in characters, within bounds. */
	for (size_t j = 0; j < t->n_cols && w.rc == ML_OK; j++) {
		long width = t->headers[j] ? text_chars(t->headers[j]) : 0;
		for (size_t i = 0; i < t->n_rows; i++) {
			const char *s = t->cells[i * t->n_cols + j];
			long chars = s ? text_chars(s) : 0;
			if (chars > width)
				width = chars;
		}
		width = width < COL_WIDTH_MIN   ? COL_WIDTH_MIN
		        : width > COL_WIDTH_MAX ? COL_WIDTH_MAX
		                                : width;
		xw_check(&w, worksheet_set_column(ws, (lxw_col_t)j, (lxw_col_t)j, (double)width + 2,
		                                  NULL));
	}
	if (w.rc == ML_OK)
		worksheet_freeze_panes(ws, header_row + 1, 0);
	xw_check(&w, workbook_close(wb)); /* frees wb whatever happened before */
	if (w.rc < 0)
		return ml_errf(err, w.rc, _("cannot write '%s': %s"), path, w.why);
	return ML_OK;
}

/* ---- .csv */

/* True for a plain decimal number ("-12", "+84912345678", "3,5"): no formula. */
static bool plain_number(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	size_t digits = strspn(s, "0123456789");
	if (digits == 0)
		return false;
	s += digits;
	if ((*s == '.' || *s == ',') && s[1] >= '0' && s[1] <= '9')
		s += 1 + strspn(s + 1, "0123456789");
	return *s == 0;
}

/*
 * Excel and LibreOffice run a CSV cell that starts with = + - @ (or a tab or
 * carriage return before one) as a formula, and every text here may come from
 * another unit's device: "=HYPERLINK(...)" in a hometown would run on the
 * district's desktop.  Such a cell is written with a leading apostrophe, as
 * OWASP advises, so it shows as text; a plain number keeps its sign.  The
 * .xlsx writer needs nothing: its cells are typed text.
 */
static bool csv_formula_like(const char *s)
{
	return *s && strchr("=+-@\t\r", *s) && !plain_number(s);
}

static void csv_field(FILE *f, const char *s)
{
	if (!s)
		return;
	bool guard = csv_formula_like(s);
	if (!strpbrk(s, ",\"\r\n")) {
		if (guard)
			fputc('\'', f);
		fputs(s, f);
		return;
	}
	fputc('"', f);
	if (guard)
		fputc('\'', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void csv_row(FILE *f, const char *const *v, size_t n, size_t width)
{
	for (size_t j = 0; j < width; j++) {
		if (j)
			fputc(',', f);
		if (j < n)
			csv_field(f, v[j]);
	}
	fputs("\r\n", f);
}

static int write_csv(const char *path, int fd, const struct export_table *t, struct ml_buf *err)
{
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		int e = errno;
		close(fd);
		return ml_errf(err, ML_EIO, _("cannot write '%s': %s"), path, strerror(e));
	}
	fwrite("\xef\xbb\xbf", 1, 3, f);
	for (size_t i = 0; i < t->n_title; i++)
		csv_row(f, &t->title[i], 1, t->n_cols);
	csv_row(f, t->headers, t->n_cols, t->n_cols);
	for (size_t i = 0; i < t->n_rows; i++)
		csv_row(f, &t->cells[i * t->n_cols], t->n_cols, t->n_cols);
	bool failed = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
	int e = errno;
	if (fclose(f) != 0 && !failed) {
		failed = true;
		e = errno;
	}
	if (failed)
		return ml_errf(err, ML_EIO, _("cannot write '%s': %s"), path, strerror(e));
	return ML_OK;
}

/* ---- the file as a whole */

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

int export_table_write(const char *path, const struct export_table *t, struct ml_buf *err)
{
	int rc = check_table(t, err);
	if (rc < 0)
		return rc;
	size_t n = strlen(path);
	bool xlsx = n > 5 && strcasecmp(path + n - 5, ".xlsx") == 0;
	bool csv = n > 4 && strcasecmp(path + n - 4, ".csv") == 0;
	if (!xlsx && !csv)
		return ml_errf(err, ML_EINVAL,
		               _("cannot export to '%s': give a file name ending in .xlsx or .csv"),
		               path);
	struct ml_buf tmp = ML_BUF_INIT;
	if (ml_buf_addf(&tmp, "%s.XXXXXX", path) < 0)
		return ml_errf(err, ML_ENOMEM, _("cannot export to '%s': out of memory"), path);
	char *tmp_path = (char *)tmp.data;
	int fd = mkostemp(tmp_path, O_CLOEXEC);
	if (fd < 0) {
		rc = ml_errf(err, ML_EIO, _("cannot export to '%s': %s"), path, strerror(errno));
		ml_buf_release(&tmp);
		return rc;
	}
	if (xlsx) {
		close(fd); /* libxlsxwriter opens the file by name */
		rc = write_xlsx(path, tmp_path, t, err);
		if (rc == ML_OK && fsync_path(tmp_path, O_RDONLY) != 0)
			rc =
			    ml_errf(err, ML_EIO, _("cannot write '%s': %s"), path, strerror(errno));
	} else {
		rc = write_csv(path, fd, t, err);
	}
	if (rc == ML_OK && rename(tmp_path, path) != 0)
		rc = ml_errf(err, ML_EIO, _("cannot export to '%s': %s"), path, strerror(errno));
	if (rc < 0) {
		unlink(tmp_path);
	} else {
		/* The rename is durable once the directory is. */
		char *slash = strrchr(tmp_path, '/');
		if (slash == tmp_path)
			fsync_path("/", O_RDONLY | O_DIRECTORY);
		else if (slash) {
			*slash = 0;
			fsync_path(tmp_path, O_RDONLY | O_DIRECTORY);
		} else {
			fsync_path(".", O_RDONLY | O_DIRECTORY);
		}
	}
	ml_buf_release(&tmp);
	return rc;
}

/* ---- the two lists */

/* Writes a list: its title, the unit and export time above the table of cells. */
static int write_list(const char *path, const struct export_title *t, const char *list_title,
                      const char *sheet_name, const char *const *headers, size_t n_cols,
                      const char *const *cells, size_t n_rows, struct ml_buf *err)
{
	char at[32];
	export_format_time(t->exported_at, at);
	struct ml_buf unit = ML_BUF_INIT, when = ML_BUF_INIT;
	int rc = ml_buf_addf(&unit, "Đơn vị: %s", t->unit_name ? t->unit_name : "");
	if (rc == ML_OK && t->unit_id && *t->unit_id)
		rc = ml_buf_addf(&unit, " (mã: %s)", t->unit_id);
	if (rc == ML_OK)
		rc = ml_buf_addf(&when, "Thời gian xuất: %s", at);
	if (rc == ML_OK) {
		const char *lines[3] = {list_title, ml_buf_str(&unit), ml_buf_str(&when)};
		struct export_table table = {
		    .sheet_name = sheet_name,
		    .title = lines,
		    .n_title = 3,
		    .headers = headers,
		    .n_cols = n_cols,
		    .cells = cells,
		    .n_rows = n_rows,
		    .created = t->exported_at,
		};
		rc = export_table_write(path, &table, err);
	} else {
		rc = ml_errf(err, ML_ENOMEM, _("cannot export to '%s': out of memory"), path);
	}
	ml_buf_release(&unit);
	ml_buf_release(&when);
	return rc;
}

/* Strings built for a list: the TT numbers and joined positions, freed together. */
struct built {
	char (*tt)[24];
	struct ml_buf *pos;
	size_t n;
};

static void built_release(struct built *b)
{
	for (size_t i = 0; b->pos && i < b->n; i++)
		ml_buf_release(&b->pos[i]);
	ml_free(b->pos);
	ml_free(b->tt);
}

/* Joins the labels of m's positions in ml_positions order into out. */
static int join_positions(const struct export_member *m, size_t i, struct ml_buf *out,
                          struct ml_buf *err)
{
	for (size_t k = 0; k < m->n_positions; k++)
		if (!m->positions[k] || !tpl_position_label(m->positions[k]))
			return ml_errf(err, ML_EINVAL,
			               _("cannot export member %zu: unknown position '%s'"), i + 1,
			               m->positions[k] ? m->positions[k] : "");
	for (size_t p = 0; ml_positions[p]; p++) {
		bool held = false;
		for (size_t k = 0; k < m->n_positions && !held; k++)
			held = strcmp(m->positions[k], ml_positions[p]) == 0;
		if (held && ml_buf_addf(out, "%s%s", out->len ? ", " : "",
		                        tpl_position_label(ml_positions[p])) < 0)
			return ML_ENOMEM;
	}
	return ML_OK;
}

int export_members_write(const char *path, const struct export_title *t,
                         const struct export_member *m, size_t n, struct ml_buf *err)
{
	struct built b = {ml_calloc(n, sizeof *b.tt), ml_calloc(n, sizeof *b.pos), n};
	const char **cells = ml_calloc(n, MEMBER_COLS * sizeof *cells);
	int rc = b.tt && b.pos && cells ? ML_OK : ML_ENOMEM;
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		const struct export_member *e = &m[i];
		const char *gender = label_of(gender_labels, e->gender);
		const char *status = label_of(status_labels, e->status);
		if (!gender) {
			rc = ml_errf(err, ML_EINVAL,
			             _("cannot export member %zu: unknown gender '%s'"), i + 1,
			             e->gender);
			break;
		}
		if (!status) {
			rc = ml_errf(err, ML_EINVAL,
			             _("cannot export member %zu: unknown status '%s'"), i + 1,
			             e->status);
			break;
		}
		if ((rc = join_positions(e, i, &b.pos[i], err)) < 0)
			break;
		snprintf(b.tt[i], sizeof b.tt[i], "%zu", i + 1);
		const char *row[MEMBER_COLS] = {
		    b.tt[i],
		    e->member_number,
		    e->full_name,
		    e->dob,
		    gender,
		    e->hometown,
		    e->id_number,
		    e->phone,
		    ml_buf_str(&b.pos[i]),
		    e->union_join_date,
		    e->full_time_cadre ? "x" : "",
		    e->unit_name,
		    state_label(e->state),
		    status,
		};
		memcpy(&cells[i * MEMBER_COLS], row, sizeof row);
	}
	if (rc == ML_OK)
		rc = write_list(path, t, "DANH SÁCH CHI TIẾT ĐOÀN VIÊN", "Danh sách chi tiết",
		                member_headers, MEMBER_COLS, cells, n, err);
	else if (rc == ML_ENOMEM)
		ml_errf(err, rc, _("cannot export to '%s': out of memory"), path);
	ml_free(cells);
	built_release(&b);
	return rc;
}

int export_cards_write(const char *path, const struct export_title *t, const struct export_card *c,
                       size_t n, struct ml_buf *err)
{
	struct built b = {ml_calloc(n, sizeof *b.tt), NULL, n};
	const char **cells = ml_calloc(n, CARD_COLS * sizeof *cells);
	int rc = b.tt && cells ? ML_OK : ML_ENOMEM;
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		const struct export_card *e = &c[i];
		const char *gender = label_of(gender_labels, e->gender);
		const char *card = label_of(card_labels, e->card_type);
		if (!gender) {
			rc = ml_errf(err, ML_EINVAL,
			             _("cannot export member %zu: unknown gender '%s'"), i + 1,
			             e->gender);
			break;
		}
		if (!card || !*card) {
			rc = ml_errf(err, ML_EINVAL,
			             _("cannot export member %zu: unknown card type '%s'"), i + 1,
			             e->card_type ? e->card_type : "");
			break;
		}
		snprintf(b.tt[i], sizeof b.tt[i], "%zu", i + 1);
		const char *row[CARD_COLS] = {
		    b.tt[i], e->member_number, e->full_name, e->dob,
		    gender,  e->id_number,     card,         e->unit_name,
		};
		memcpy(&cells[i * CARD_COLS], row, sizeof row);
	}
	if (rc == ML_OK)
		rc = write_list(path, t, "DANH SÁCH ĐỀ NGHỊ IN THẺ ĐOÀN VIÊN", "Đề nghị in thẻ",
		                card_headers, CARD_COLS, cells, n, err);
	else if (rc == ML_ENOMEM)
		ml_errf(err, rc, _("cannot export to '%s': out of memory"), path);
	ml_free(cells);
	built_release(&b);
	return rc;
}
