/*
 * template.c - the Phụ lục 03 new-member template: finding the numbering
 * row, checking each member row against the rules in template.h, and
 * collecting every violation.
 *
 * Problems are produced in file order: rows top to bottom, and within a row
 * the columns left to right (a duplicate ID is found while its row is read,
 * through a hash set of the ID numbers seen so far), so the list is sorted
 * without sorting it.  A row with a problem yields no member; any problem
 * empties the member list before returning (all or nothing).
 */
#include "cli/template.h"

#include "cli/i18n.h"
#include "crdt/alloc.h"
#include "crdt/err.h"
#include "crdt/fields.h"

#include <assert.h>
#include <stdarg.h>
#include <string.h>

static const char *const headers[TPL_COLS + 1] = {
    NULL,
    "TT",
    "Họ và tên",
    "Ngày tháng năm sinh - Nam",
    "Ngày tháng năm sinh - Nữ",
    "Quê quán",
    "Số CMND",
    "Chủ tịch",
    "Phó chủ tịch",
    "UVBCH",
    "Tổ trưởng",
    "Tổ phó",
    "CB CĐCS thành viên CĐ",
    "UVUBKT",
    "Ngày vào CĐ",
    "Mã thẻ",
};

/* The position each of columns 7..13 marks, by its identifier in ml_positions. */
static const char *const column_position[TPL_COLS + 1] = {
    [7] = "chair",
    [8] = "vice_chair",
    [9] = "exec_committee_member",
    [10] = "group_leader",
    [11] = "group_deputy",
    [12] = "member_base_union_officer",
    [13] = "inspection_committee_member",
};

/* Shown values are cut to this many bytes (at a character boundary) in messages. */
#define SHOW_MAX 40

const char *tpl_column_header(int col)
{
	return col >= 1 && col <= TPL_COLS ? headers[col] : NULL;
}

const char *tpl_column_group(int col)
{
	if (col == TPL_COL_DOB_MALE || col == TPL_COL_DOB_FEMALE)
		return "Ngày tháng năm sinh (ngày/tháng/năm)";
	if (col >= TPL_COL_POSITION_FIRST && col <= TPL_COL_POSITION_LAST)
		return "Chức vụ CĐ tại CĐCS";
	return NULL;
}

const char *tpl_position_label(const char *position)
{
	for (int col = TPL_COL_POSITION_FIRST; col <= TPL_COL_POSITION_LAST; col++)
		if (position && strcmp(column_position[col], position) == 0)
			return headers[col];
	return NULL;
}

/* ---- ID numbers seen so far: open addressing, keys are the digits */

struct id_seen {
	char id[13];
	int row; /* 0: free slot */
};

struct id_set {
	struct id_seen *e;
	size_t cap, n; /* cap a power of two, n <= cap / 2 */
};

static size_t id_hash(const char *s)
{
	size_t h = 1469598103934665603u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static struct id_seen *id_slot(struct id_seen *e, size_t cap, const char *id)
{
	size_t i = id_hash(id) & (cap - 1);
	while (e[i].row && strcmp(e[i].id, id) != 0)
		i = (i + 1) & (cap - 1);
	return &e[i];
}

/* Returns the row already holding id, else records it at row and returns 0; -1 on ENOMEM. */
static int id_set_add(struct id_set *s, const char *id, int row)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct id_seen *e = ml_calloc(cap, sizeof *e);
		if (!e)
			return -1;
		for (size_t i = 0; i < s->cap; i++)
			if (s->e[i].row)
				*id_slot(e, cap, s->e[i].id) = s->e[i];
		ml_free(s->e);
		s->e = e;
		s->cap = cap;
	}
	struct id_seen *slot = id_slot(s->e, s->cap, id);
	if (slot->row)
		return slot->row;
	memcpy(slot->id, id, strlen(id) + 1);
	slot->row = row;
	s->n++;
	return 0;
}

/* ---- problems */

struct ctx {
	struct tpl_result *out;
	int rc;       /* ML_ENOMEM once an allocation failed */
	int last_row; /* row of the latest problem, to count rows with problems */
	bool row_bad; /* the current row has a problem */
};

static void problem(struct ctx *c, int row, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(struct ctx *c, int row, int col, const char *fmt, ...)
{
	struct tpl_result *r = c->out;
	c->row_bad = true;
	if (c->last_row != row) {
		c->last_row = row;
		r->problem_rows++;
	}
	if (c->rc < 0)
		return;
	if (r->n_problems >= TPL_MAX_PROBLEMS) {
		r->problems_dropped++;
		return;
	}
	struct ml_buf msg = ML_BUF_INIT;
	int rc = ml_buf_addf(&msg, _("row %d, column %d (%s): "), row, col, headers[col]);
	if (rc == ML_OK) {
		va_list ap;
		va_start(ap, fmt);
		rc = ml_buf_vaddf(&msg, fmt, ap);
		va_end(ap);
	}
	struct tpl_problem *p =
	    rc == ML_OK ? ml_grow(r->problems, &r->cap_problems_, r->n_problems + 1, sizeof *p, 16)
	                : NULL;
	if (!p) {
		ml_buf_release(&msg);
		c->rc = ML_ENOMEM;
		return;
	}
	r->problems = p;
	p[r->n_problems++] = (struct tpl_problem){row, col, (char *)msg.data};
}

/* Length of s cut to at most SHOW_MAX bytes without splitting a UTF-8 character. */
static int shown(const char *s)
{
	size_t n = strlen(s);
	if (n <= SHOW_MAX)
		return (int)n;
	n = SHOW_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

/* ---- cell rules */

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

/* Whether s is the number k, written "7", "07" or "7.0". */
static bool is_number(const char *s, int k)
{
	size_t n = strcspn(s, ".");
	if (!all_digits(s, n) || n > 4)
		return false;
	if (s[n] == '.') {
		const char *f = s + n + 1;
		if (!*f)
			return false;
		for (; *f; f++)
			if (*f != '0')
				return false;
	}
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v == k;
}

static bool is_numbering_row(const struct sheet *sh, uint32_t row)
{
	for (int col = 1; col <= TPL_COLS; col++) {
		const struct sheet_cell *c = sheet_get(sh, row, (uint32_t)col);
		if (!c || !is_number(c->text, col))
			return false;
	}
	return true;
}

/* Rewrites d/M/yyyy or dd/MM/yyyy into out as dd/MM/yyyy; false for any other shape. */
static bool normalise_date(const char *s, char out[static 11])
{
	size_t d = strspn(s, "0123456789");
	if (d < 1 || d > 2 || s[d] != '/')
		return false;
	const char *ms = s + d + 1;
	size_t m = strspn(ms, "0123456789");
	if (m < 1 || m > 2 || ms[m] != '/')
		return false;
	const char *ys = ms + m + 1;
	if (strspn(ys, "0123456789") != 4 || ys[4])
		return false;
	out[0] = d == 2 ? s[0] : '0';
	out[1] = s[d - 1];
	out[2] = '/';
	out[3] = m == 2 ? ms[0] : '0';
	out[4] = ms[m - 1];
	out[5] = '/';
	memcpy(out + 6, ys, 4);
	out[10] = 0;
	return true;
}

/* Checks a date cell; on success writes dd/MM/yyyy to out. */
static bool check_date(struct ctx *c, int row, int col, const struct sheet_cell *cell,
                       char out[static 11])
{
	if (cell->numeric) {
		problem(
		    c, row, col,
		    _("holds the number %.*s, not a date: format the column as Text or Date and "
		      "write the date as dd/MM/yyyy"),
		    shown(cell->text), cell->text);
		return false;
	}
	struct ml_buf why = ML_BUF_INIT;
	char norm[11];
	bool ok = normalise_date(cell->text, norm) && ml_field_date(norm, 10, NULL, &why) == ML_OK;
	if (!ok && why.len == 0)
		ml_field_date(cell->text, cell->len, NULL, &why);
	if (ok)
		memcpy(out, norm, sizeof norm);
	else
		problem(c, row, col, "%s", ml_buf_str(&why));
	ml_buf_release(&why);
	return ok;
}

/* An x-mark column: empty, or x/X.  Returns whether it is marked. */
static bool check_mark(struct ctx *c, int row, int col, const struct sheet_cell *cell)
{
	if (!cell)
		return false;
	if (cell->len == 1 && (cell->text[0] == 'x' || cell->text[0] == 'X'))
		return true;
	problem(c, row, col, _("must be empty or x, found '%.*s'"), shown(cell->text), cell->text);
	return false;
}

static void check_id(struct ctx *c, int row, const struct sheet_cell *cell, struct id_set *ids,
                     struct tpl_member *m)
{
	const int col = TPL_COL_ID;
	if (!cell) {
		problem(c, row, col, _("is empty; the ID card number (CMND/CCCD) is required"));
		return;
	}
	bool digits = all_digits(cell->text, cell->len);
	if (cell->numeric && digits && cell->len != 9 && cell->len != 12) {
		problem(c, row, col,
		        _("was stored as a number and has %zu digits: if it began with 0, the "
		          "spreadsheet dropped it; format column %d as Text and type the number "
		          "again"),
		        cell->len, col);
		return;
	}
	if (!digits) {
		problem(c, row, col, _("must hold digits only, found '%.*s'"), shown(cell->text),
		        cell->text);
		return;
	}
	if (cell->len != 9 && cell->len != 12) {
		problem(c, row, col, _("must be 9 or 12 digits, found %zu"), cell->len);
		return;
	}
	struct ml_buf why = ML_BUF_INIT;
	if (ml_field_id_number(cell->text, cell->len, &why) != ML_OK) {
		problem(c, row, col, "%s", ml_buf_str(&why));
		ml_buf_release(&why);
		return;
	}
	ml_buf_release(&why);
	int first = id_set_add(ids, cell->text, row);
	if (first < 0) {
		c->rc = ML_ENOMEM;
		return;
	}
	if (first > 0) {
		problem(c, row, col, _("ID number %s is already on row %d"), cell->text, first);
		return;
	}
	memcpy(m->id_number, cell->text, cell->len + 1);
}

/* Checks one member row (cells[1..15], NULL when empty); fills *m when it has no problem. */
static void check_row(struct ctx *c, int row, const struct sheet_cell *cells[TPL_COLS + 1],
                      struct id_set *ids, struct tpl_member *m)
{
	struct ml_buf why = ML_BUF_INIT;
	memset(m, 0, sizeof *m);
	m->row = row;
	c->row_bad = false;

	const struct sheet_cell *name = cells[TPL_COL_NAME];
	if (!name)
		problem(c, row, TPL_COL_NAME, _("is empty; the member's full name is required"));
	else if (ml_field_name(name->text, name->len, TPL_NAME_MAX, &why) != ML_OK)
		problem(c, row, TPL_COL_NAME, "%s", ml_buf_str(&why));

	const struct sheet_cell *male = cells[TPL_COL_DOB_MALE],
	                        *female = cells[TPL_COL_DOB_FEMALE];
	if (male && check_date(c, row, TPL_COL_DOB_MALE, male, m->dob))
		m->gender = TPL_GENDER_MALE;
	if (female && check_date(c, row, TPL_COL_DOB_FEMALE, female, m->dob))
		m->gender = TPL_GENDER_FEMALE;
	if (male && female)
		problem(c, row, TPL_COL_DOB_FEMALE,
		        _("both date-of-birth columns (Nam and Nữ) are filled; keep only the one "
		          "matching the member's gender"));

	const struct sheet_cell *home = cells[TPL_COL_HOMETOWN];
	ml_buf_reset(&why);
	if (home && ml_field_text(home->text, home->len, TPL_HOMETOWN_MAX, &why) != ML_OK)
		problem(c, row, TPL_COL_HOMETOWN, "%s", ml_buf_str(&why));

	check_id(c, row, cells[TPL_COL_ID], ids, m);

	for (int col = TPL_COL_POSITION_FIRST; col <= TPL_COL_POSITION_LAST; col++) {
		if (!check_mark(c, row, col, cells[col]))
			continue;
		int bit =
		    ml_enum_index(ml_positions, column_position[col], strlen(column_position[col]));
		assert(bit >= 0 && bit < (int)(sizeof m->positions * 8));
		m->positions |= 1u << bit;
	}

	const struct sheet_cell *join = cells[TPL_COL_JOIN_DATE];
	if (!join)
		problem(c, row, TPL_COL_JOIN_DATE,
		        _("is empty; the date of joining the union is required"));
	else
		check_date(c, row, TPL_COL_JOIN_DATE, join, m->union_join_date);

	m->full_time_cadre = check_mark(c, row, TPL_COL_FULL_TIME, cells[TPL_COL_FULL_TIME]);
	ml_buf_release(&why);

	if (c->row_bad || c->rc < 0)
		return;
	m->full_name = ml_strdup(name->text);
	m->hometown = ml_strdup(home ? home->text : "");
	if (!m->full_name || !m->hometown)
		c->rc = ML_ENOMEM;
}

static void member_release(struct tpl_member *m)
{
	ml_free(m->full_name);
	ml_free(m->hometown);
	m->full_name = m->hometown = NULL;
}

static void drop_members(struct tpl_result *r)
{
	for (size_t i = 0; i < r->n_members; i++)
		member_release(&r->members[i]);
	ml_free(r->members);
	r->members = NULL;
	r->n_members = r->cap_members_ = 0;
}

int tpl_parse(const struct sheet *sh, const char *file_name, struct tpl_result *out,
              struct ml_buf *err)
{
	memset(out, 0, sizeof *out);
	uint32_t numbering = 0;
	for (size_t i = 0; i < sh->n && !numbering; i++) {
		if (i > 0 && sh->cells[i].row == sh->cells[i - 1].row)
			continue;
		if (is_numbering_row(sh, sh->cells[i].row))
			numbering = sh->cells[i].row;
	}
	if (!numbering)
		return ml_errf(
		    err, ML_EMALFORMED,
		    _("'%s' is not the new-member template (Phụ lục 03): no row numbering "
		      "the columns 1 to 15; start from the official template"),
		    file_name);
	out->numbering_row = (int)numbering;

	struct ctx c = {.out = out};
	struct id_set ids = {0};
	for (uint32_t row = numbering + 1; row <= SHEET_MAX_ROW && c.rc == ML_OK; row++) {
		const struct sheet_cell *cells[TPL_COLS + 1] = {0};
		bool empty = true;
		for (int col = 1; col <= TPL_COLS; col++) {
			cells[col] = sheet_get(sh, row, (uint32_t)col);
			empty = empty && !cells[col];
		}
		if (empty)
			break;
		struct tpl_member m;
		check_row(&c, (int)row, cells, &ids, &m);
		if (c.row_bad || c.rc < 0) {
			member_release(&m);
			continue;
		}
		struct tpl_member *a =
		    ml_grow(out->members, &out->cap_members_, out->n_members + 1, sizeof *a, 64);
		if (!a) {
			member_release(&m);
			c.rc = ML_ENOMEM;
			break;
		}
		out->members = a;
		a[out->n_members++] = m;
	}
	ml_free(ids.e);

	if (c.rc < 0) {
		drop_members(out);
		return ml_errf(err, c.rc, _("out of memory checking '%s'"), file_name);
	}
	if (out->n_problems || out->problems_dropped) {
		drop_members(out);
		return ml_errf(err, ML_EFIELD,
		               _("'%s': %zu problems in %zu rows; nothing was imported: correct "
		                 "them and import the file again"),
		               file_name, out->n_problems + out->problems_dropped,
		               out->problem_rows);
	}
	if (out->n_members == 0)
		return ml_errf(err, ML_ENOTFOUND,
		               _("'%s' lists no members: row %u, below the column numbers, is "
		                 "empty"),
		               file_name, (unsigned)numbering + 1);
	return ML_OK;
}

void tpl_result_release(struct tpl_result *r)
{
	if (!r)
		return;
	drop_members(r);
	for (size_t i = 0; i < r->n_problems; i++)
		ml_free(r->problems[i].msg);
	ml_free(r->problems);
	memset(r, 0, sizeof *r);
}

void tpl_problems_print(FILE *f, const char *file_name, const struct tpl_result *r)
{
	for (size_t i = 0; i < r->n_problems; i++)
		fprintf(f, "'%s' %s\n", file_name, r->problems[i].msg);
	if (r->problems_dropped)
		fprintf(f, _("'%s': %zu more problems not listed\n"), file_name,
		        r->problems_dropped);
}
