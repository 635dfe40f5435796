/*
 * cmd_report.c - `memberlog report NAME [--unit UNIT] [OPTIONS]`: the
 * monitoring reports of requirements §6 (RPT-5 to RPT-9, RPT-12, RPT-13)
 * and the data-entry payment (PAY-1 to PAY-4), read from the register's
 * materialized tables (node/read.h); nothing is written.
 *
 * Every report looks at the subtree of --unit (default: the root unit) and
 * groups it by the children of --unit, as the seed letters do ("09/21 units",
 * the units named).  A child's row counts its whole subtree; what --unit
 * holds itself gets a row of its own ("unit_itself") when there is any.
 * Per-child reports (progress, missing-info, payment, cards) have one row per
 * child; item reports (thin-units, small-branches, no-device, duplicates)
 * have one row per item found, each naming the child it falls under.  Every
 * summary gives n/N: N the active children of --unit (`units`), n those the
 * report lists (`units_listed`, named in `listed_units`).
 *
 * Definitions (each report's --help repeats the ones it uses):
 *   member        a record whose status is active or transferring: reduced
 *                 and aged-out records are not members any more.  A member
 *                 is counted in the unit holding it (members.unit).
 *   missing info  the record as the unit entered it (the draft; the official
 *                 record when there is no pending change) lacks a required
 *                 field.  Trade union: full_name, dob, gender, hometown,
 *                 id_number, union_join_date; youth union: full_name, dob,
 *                 gender, id_number, youth_join_date.  An unknown date of
 *                 birth or gender counts (requirements §10 decision 2).
 *   branch        a unit at level branch, union_group or base_branch (a Chi
 *                 đoàn, tổ công đoàn, or Chi đoàn cơ sở: units that hold
 *                 members directly); base unit: delegated_upper_base,
 *                 base_union, occupational_union or youth_base_union (units
 *                 that hold branches, ORG-5).
 *   device        a grant of admin, officer or approver (not auditor) to a
 *                 device that was never revoked.
 * Only active units are examined by the unit reports; the member reports
 * also show a dissolved or merged child when it still holds records.
 *
 * --json prints one document, ids in lowercase hex:
 *   {"version": 1, "report", "unit", "unit_name", "org", "generated_at",
 *    "rows": [...], "summary": {...}}
 * generated_at, like every time in the register, is Vietnam time (UTC+7).
 */
#include "node.h"
#include "record.h"

#include "i18n.h"

#include "crdt/err.h"
#include "crdt/fields.h"
#include "node/read.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#define PAY_PER_MEMBER 3000 /* VND per member first approved in the period (PAY-1) */
#define DAY_MS         86400000LL
#define VN_OFFSET_MS   (7LL * 3600 * 1000) /* Vietnam time is UTC+7, without summer time */
#define DAYS_1900_1970 25567L              /* ml_date_days() of 01/01/1970 */
#define MAX_DEPTH      64 /* the judge keeps the tree acyclic; this bounds a damaged store */
#define ROW_UNKNOWN    (-2)
#define ROW_OUTSIDE    (-1)

static const char *const base_levels[] = {"delegated_upper_base", "base_union",
                                          "occupational_union", "youth_base_union", NULL};
static const char *const branch_levels[] = {"branch", "union_group", "base_branch", NULL};
static const char *const required_tu[] = {
    "full_name", "dob", "gender", "hometown", "id_number", "union_join_date", NULL};
static const char *const required_yu[] = {"full_name",       "dob", "gender", "id_number",
                                          "youth_join_date", NULL};
#define MAX_REQUIRED 6

/* --- the tree -------------------------------------------------------------------- */

struct unit {
	struct ml_hash id, parent;
	bool has_parent, active, has_device;
	char *name, *level, *sector, *status, *fold;
	long row;      /* the row it counts in: a child's index, nk for --unit, or ROW_OUTSIDE */
	long members;  /* members held by this unit itself */
	long branches; /* active branch children */
};

struct options {
	const char *unit, *from, *to, *threshold;
	double threshold_pct;
	struct ml_date dfrom, dto;
	long long from_ms, to_ms; /* [from_ms, to_ms) */
};

struct report;

struct rep {
	struct cli_node n;
	const struct report *def;
	struct options o;
	struct unit *u;
	size_t nu, top;
	size_t *kids; /* u index of each child row; the row nk is --unit itself */
	size_t nk;
	long active_kids;
	json_t *rows, *summary;
	bool *listed; /* per row: the child is listed (n of n/N) */
};

static bool is_level(const char *level, const char *const *set)
{
	return level && ml_enum_index(set, level, strlen(level)) >= 0;
}

static int cmp_id(const void *x, const void *y)
{
	return ml_hash_cmp(&((const struct unit *)x)->id, &((const struct unit *)y)->id);
}

static long find_unit(const struct rep *r, const struct ml_hash *id)
{
	struct unit key = {.id = *id};
	const struct unit *u = bsearch(&key, r->u, r->nu, sizeof *r->u, cmp_id);
	return u ? (long)(u - r->u) : -1;
}

static long find_blob(const struct rep *r, sqlite3_stmt *st, int col)
{
	struct ml_hash id;
	if (sqlite3_column_bytes(st, col) != 32)
		return -1;
	memcpy(id.b, sqlite3_column_blob(st, col), 32);
	return find_unit(r, &id);
}

/* The row unit i counts in, found by walking up to a child of --unit. */
static long row_of(struct rep *r, size_t i)
{
	size_t cur = i;
	for (int d = 0; d < MAX_DEPTH; d++) {
		if (r->u[cur].row != ROW_UNKNOWN)
			return r->u[i].row = r->u[cur].row;
		long p = r->u[cur].has_parent ? find_unit(r, &r->u[cur].parent) : -1;
		if (p < 0)
			break;
		cur = (size_t)p;
	}
	return r->u[i].row = ROW_OUTSIDE;
}

/* Orders unit indexes by row, then name without diacritics, then id (qsort_r, r as arg). */
static int cmp_name(const void *x, const void *y, void *arg)
{
	const struct rep *r = arg;
	const struct unit *a = &r->u[*(const size_t *)x], *b = &r->u[*(const size_t *)y];
	if (a->row != b->row)
		return a->row < b->row ? -1 : 1;
	int c = strcmp(a->fold, b->fold);
	return c ? c : ml_hash_cmp(&a->id, &b->id);
}

static char *dup_col(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	return strdup(s ? s : "");
}

static int read_error(const struct ml_buf *err)
{
	return cli_error(_("cannot read the register: %s"), err->len ? ml_buf_str(err) : "?");
}

/* Ends a loop of sqlite3_step that stopped with rc: CLI_OK at the end of the rows. */
static int step_end(sqlite3_stmt *st, int rc)
{
	if (rc == SQLITE_DONE)
		return CLI_OK;
	return cli_error(_("cannot read the register: %s"), sqlite3_errmsg(sqlite3_db_handle(st)));
}

/* Loads every unit; place_units then gives each its row. */
static int load_tree(struct rep *r)
{
	sqlite3_stmt *st;
	struct ml_buf err = ML_BUF_INIT, fold = ML_BUF_INIT;
	if (ml_read_prepare(r->n.s, "SELECT id, parent, name, level, sector, status FROM units",
	                    &st, &err) != ML_OK) {
		int ex = read_error(&err);
		ml_buf_release(&err);
		return ex;
	}
	size_t cap = 0;
	int ex = CLI_OK, rc = SQLITE_DONE;
	while (ex == CLI_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != 32)
			continue;
		if (r->nu == cap) {
			cap = cap ? 2 * cap : 64;
			struct unit *v = realloc(r->u, cap * sizeof *v);
			if (!v) {
				ex = cli_error(_("out of memory"));
				break;
			}
			r->u = v;
		}
		struct unit *u = &r->u[r->nu++];
		memset(u, 0, sizeof *u);
		memcpy(u->id.b, sqlite3_column_blob(st, 0), 32);
		u->has_parent = sqlite3_column_bytes(st, 1) == 32;
		if (u->has_parent)
			memcpy(u->parent.b, sqlite3_column_blob(st, 1), 32);
		u->name = dup_col(st, 2);
		u->level = dup_col(st, 3);
		u->sector = dup_col(st, 4);
		u->status = dup_col(st, 5);
		u->active = u->status && strcmp(u->status, "active") == 0;
		u->row = ROW_UNKNOWN;
		ml_buf_reset(&fold);
		/* sorted by name without diacritics: "Đ" among the D's, not after "Z" */
		if (u->name && ml_fold(u->name, strlen(u->name), &fold) != ML_OK)
			ml_buf_reset(&fold);
		u->fold = strdup(ml_buf_str(&fold));
		if (!u->name || !u->level || !u->sector || !u->status || !u->fold)
			ex = cli_error(_("out of memory"));
	}
	if (ex == CLI_OK)
		ex = step_end(st, rc);
	sqlite3_finalize(st);
	ml_buf_release(&fold);
	if (ex != CLI_OK)
		return ex;
	qsort(r->u, r->nu, sizeof *r->u, cmp_id);
	long top = find_unit(r, &r->n.net);
	if (top < 0)
		return cli_error(_("this node's register has no unit yet"));
	r->top = (size_t)top;
	r->kids = calloc(r->nu + 1, sizeof *r->kids);
	r->listed = calloc(r->nu + 1, sizeof *r->listed);
	if (!r->kids || !r->listed)
		return cli_error(_("out of memory"));
	return CLI_OK;
}

/* Finds the children of --unit (sorted by name) and gives every unit its row. */
static void place_units(struct rep *r)
{
	r->nk = 0;
	for (size_t i = 0; i < r->nu; i++) {
		r->u[i].row = ROW_UNKNOWN;
		if (r->u[i].has_parent && ml_hash_eq(&r->u[i].parent, &r->u[r->top].id) &&
		    i != r->top)
			r->kids[r->nk++] = i;
	}
	qsort_r(r->kids, r->nk, sizeof *r->kids, cmp_name, r); /* rows are all unknown yet */
	r->active_kids = 0;
	for (size_t k = 0; k < r->nk; k++) {
		r->u[r->kids[k]].row = (long)k;
		r->active_kids += r->u[r->kids[k]].active;
	}
	r->kids[r->nk] = r->top;
	r->u[r->top].row = (long)r->nk;
	for (size_t i = 0; i < r->nu; i++)
		row_of(r, i);
}

/* --- JSON helpers ------------------------------------------------------------------- */

static void bump(json_t *o, const char *key, long long d)
{
	json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + d));
}

static json_t *hex(const struct ml_hash *id)
{
	return cli_json_hex(id->b, 32);
}

/* {"unit": hex, "unit_name": name} of unit i, under the given key prefix. */
static void put_unit(json_t *o, const char *key, const char *name_key, const struct unit *u)
{
	json_object_set_new(o, key, hex(&u->id));
	json_object_set_new(o, name_key, json_string(u->name));
}

/* Sets units, units_listed and listed_units in the summary from r->listed: children only. */
static void summarise_listed(struct rep *r)
{
	json_t *list = json_array();
	for (size_t k = 0; k < r->nk; k++) {
		if (!r->listed[k])
			continue;
		json_t *o = json_object();
		put_unit(o, "unit", "unit_name", &r->u[r->kids[k]]);
		json_array_append_new(list, o);
	}
	json_object_set_new(r->summary, "units", json_integer(r->active_kids));
	json_object_set_new(r->summary, "units_listed",
	                    json_integer((json_int_t)json_array_size(list)));
	json_object_set_new(r->summary, "listed_units", list);
}

/* Per-child reports: one row per child (and --unit itself), counters set to 0. */
static void child_rows(struct rep *r, const char *const *keys)
{
	for (size_t k = 0; k <= r->nk; k++) {
		const struct unit *u = &r->u[r->kids[k]];
		json_t *o = json_object();
		put_unit(o, "unit", "unit_name", u);
		json_object_set_new(o, "level", json_string(u->level));
		json_object_set_new(o, "status", json_string(u->status));
		json_object_set_new(o, "unit_itself", json_boolean(k == r->nk));
		for (size_t i = 0; keys[i]; i++)
			json_object_set_new(o, keys[i], json_integer(0));
		json_array_append_new(r->rows, o);
	}
}

/* The totals of keys over every row, into summary.total. */
static json_t *totals(struct rep *r, const char *const *keys)
{
	json_t *t = json_object();
	for (size_t i = 0; keys[i]; i++) {
		long long sum = 0;
		size_t k;
		json_t *row;
		json_array_foreach(r->rows, k, row)
		{
			sum += json_integer_value(json_object_get(row, keys[i]));
		}
		json_object_set_new(t, keys[i], json_integer(sum));
	}
	json_object_set_new(r->summary, "total", t);
	return t;
}

/* Drops rows of ended children and of --unit itself that count nothing under key. */
static void prune_rows(struct rep *r, const char *key)
{
	json_t *keep = json_array();
	size_t k;
	json_t *row;
	json_array_foreach(r->rows, k, row)
	{
		bool child = !json_is_true(json_object_get(row, "unit_itself"));
		bool active = strcmp(cli_jstr(row, "status"), "active") == 0;
		if ((child && active) || json_integer_value(json_object_get(row, key)) != 0)
			json_array_append(keep, row);
	}
	json_decref(r->rows);
	r->rows = keep;
}

/* An item row's "child_unit": the child of --unit the item falls under. */
static void put_child(struct rep *r, json_t *o, long row)
{
	put_unit(o, "child_unit", "child_unit_name", &r->u[r->kids[row]]);
	r->listed[row] = true;
}

/* --- members ------------------------------------------------------------------------ */

struct member {
	long row, create_row, unit; /* rows of its unit and creating unit; u index or -1 */
	const char *state, *status, *origin;
	bool approved_ever;
	long long first_approval_ms;
	const uint8_t *official, *draft;
	size_t official_len, draft_len;
};

/* True for a record that is a member now (not reduced, not aged out). */
static bool is_member(const struct member *m)
{
	return strcmp(m->state, "unknown") != 0 && strcmp(m->status, "reduced") != 0 &&
	       strcmp(m->status, "aged_out") != 0;
}

/* The record as the unit entered it: the draft, or the official record when equal. */
static json_t *entered(const struct member *m)
{
	return m->draft_len ? cli_record_json(m->draft, m->draft_len)
	                    : cli_record_json(m->official, m->official_len);
}

static const char *const *required(const struct rep *r)
{
	return r->n.org == ML_ORG_YOUTH_UNION ? required_yu : required_tu;
}

/* True when rec lacks a required field; each lacking one is counted in miss[]. */
static bool missing_info(const struct rep *r, const json_t *rec, long long miss[MAX_REQUIRED])
{
	const char *const *req = required(r);
	bool any = false;
	for (size_t i = 0; req[i]; i++) {
		json_t *v = json_object_get(rec, req[i]);
		if (!v || (json_is_string(v) && json_string_length(v) == 0) || json_is_null(v)) {
			any = true;
			if (miss)
				miss[i]++;
		}
	}
	return any;
}

typedef int (*member_cb)(struct rep *r, const struct member *m, void *ctx);

/* Calls fn for every member record in the register; CLI_OK or CLI_ERROR. */
static int each_member(struct rep *r, member_cb fn, void *ctx)
{
	sqlite3_stmt *st;
	struct ml_buf err = ML_BUF_INIT;
	if (ml_read_prepare(r->n.s,
	                    "SELECT unit, create_unit, state, status, origin, first_approval_ms,"
	                    " official, draft FROM members",
	                    &st, &err) != ML_OK) {
		int ex = read_error(&err);
		ml_buf_release(&err);
		return ex;
	}
	int ex = CLI_OK, rc = SQLITE_DONE;
	while (ex == CLI_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct member m = {0};
		m.unit = find_blob(r, st, 0);
		long cu = find_blob(r, st, 1);
		m.row = m.unit >= 0 ? r->u[m.unit].row : ROW_OUTSIDE;
		m.create_row = cu >= 0 ? r->u[cu].row : ROW_OUTSIDE;
		m.state = sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2)
		                                     : "unknown";
		m.status =
		    sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "";
		m.origin =
		    sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "";
		m.approved_ever = sqlite3_column_type(st, 5) == SQLITE_INTEGER;
		m.first_approval_ms = sqlite3_column_int64(st, 5);
		m.official = sqlite3_column_blob(st, 6);
		m.official_len = (size_t)sqlite3_column_bytes(st, 6);
		m.draft = sqlite3_column_blob(st, 7);
		m.draft_len = (size_t)sqlite3_column_bytes(st, 7);
		ex = fn(r, &m, ctx);
	}
	if (ex == CLI_OK)
		ex = step_end(st, rc);
	sqlite3_finalize(st);
	return ex;
}

/* --- the reports ---------------------------------------------------------------------- */

static int progress_member(struct rep *r, const struct member *m, void *ctx)
{
	(void)ctx;
	if (m->row < 0 || !is_member(m))
		return CLI_OK;
	json_t *row = json_array_get(r->rows, (size_t)m->row);
	bump(row, "members", 1);
	static const char *const states[][2] = {{"draft", "draft"},
	                                        {"submitted", "submitted"},
	                                        {"official", "approved"},
	                                        {"returned", "returned"}};
	for (size_t i = 0; i < 4; i++)
		if (strcmp(m->state, states[i][0]) == 0)
			bump(row, states[i][1], 1);
	json_t *rec = entered(m);
	if (missing_info(r, rec, NULL))
		bump(row, "missing_info", 1);
	json_decref(rec);
	return CLI_OK;
}

static int run_progress(struct rep *r)
{
	static const char *const keys[] = {"members",  "draft",        "submitted", "approved",
	                                   "returned", "missing_info", NULL};
	child_rows(r, keys);
	int ex = each_member(r, progress_member, NULL);
	totals(r, keys);
	for (size_t k = 0; k < r->nk; k++)
		r->listed[k] =
		    r->u[r->kids[k]].active &&
		    json_integer_value(json_object_get(json_array_get(r->rows, k), "members")) == 0;
	json_t *row;
	long full = 0;
	size_t k;
	json_array_foreach(r->rows, k, row)
	{
		long long n = json_integer_value(json_object_get(row, "members"));
		full +=
		    k < r->nk && n > 0 && n == json_integer_value(json_object_get(row, "approved"));
	}
	json_object_set_new(r->summary, "units_fully_approved", json_integer(full));
	prune_rows(r, "members");
	return ex;
}

struct missing_ctx {
	long long (*miss)[MAX_REQUIRED]; /* per row */
};

static int missing_member(struct rep *r, const struct member *m, void *ctx)
{
	struct missing_ctx *c = ctx;
	if (m->row < 0 || !is_member(m))
		return CLI_OK;
	json_t *row = json_array_get(r->rows, (size_t)m->row);
	bump(row, "members", 1);
	json_t *rec = entered(m);
	if (missing_info(r, rec, c->miss[m->row]))
		bump(row, "missing_info", 1);
	json_decref(rec);
	return CLI_OK;
}

/* Percent with two decimals, rounded half up. */
static double percent(long long part, long long whole)
{
	return whole ? (double)((part * 20000 + whole) / (2 * whole)) / 100.0 : 0.0;
}

static int run_missing(struct rep *r)
{
	static const char *const keys[] = {"members", "missing_info", NULL};
	child_rows(r, keys);
	struct missing_ctx c = {calloc(r->nk + 1, sizeof *c.miss)};
	if (!c.miss)
		return cli_error(_("out of memory"));
	int ex = each_member(r, missing_member, &c);
	const char *const *req = required(r);
	json_t *over = json_array(), *under = json_array(), *row;
	size_t k;
	json_array_foreach(r->rows, k, row)
	{
		long long n = json_integer_value(json_object_get(row, "members"));
		long long miss = json_integer_value(json_object_get(row, "missing_info"));
		bool flag = miss > 0 && (double)miss * 100.0 > r->o.threshold_pct * (double)n;
		json_object_set_new(row, "rate_percent", json_real(percent(miss, n)));
		json_object_set_new(row, "over_threshold", json_boolean(flag));
		json_t *fields = json_object();
		for (size_t i = 0; req[i]; i++)
			json_object_set_new(fields, req[i], json_integer(c.miss[k][i]));
		json_object_set_new(row, "missing_fields", fields);
		if (miss == 0 || k == r->nk)
			continue;
		r->listed[k] = true;
		json_t *o = json_object();
		put_unit(o, "unit", "unit_name", &r->u[r->kids[k]]);
		json_array_append_new(flag ? over : under, o);
	}
	free(c.miss);
	json_t *t = totals(r, keys);
	json_object_set_new(
	    t, "rate_percent",
	    json_real(percent(json_integer_value(json_object_get(t, "missing_info")),
	                      json_integer_value(json_object_get(t, "members")))));
	json_object_set_new(r->summary, "threshold_percent", json_real(r->o.threshold_pct));
	json_object_set_new(r->summary, "over_threshold_units", over);
	json_object_set_new(r->summary, "at_or_below_threshold_units", under);
	json_t *fields = json_array();
	for (size_t i = 0; req[i]; i++)
		json_array_append_new(fields, json_string(req[i]));
	json_object_set_new(r->summary, "required_fields", fields);
	prune_rows(r, "members");
	return ex;
}

static int payment_member(struct rep *r, const struct member *m, void *ctx)
{
	(void)ctx;
	if (m->create_row < 0 || !m->approved_ever || m->first_approval_ms < r->o.from_ms ||
	    m->first_approval_ms >= r->o.to_ms)
		return CLI_OK;
	json_t *row = json_array_get(r->rows, (size_t)m->create_row);
	if (strcmp(m->origin, "transfer_in") == 0) {
		bump(row, "transfer_in_excluded", 1);
	} else {
		bump(row, "members", 1);
		bump(row, "amount_vnd", PAY_PER_MEMBER);
	}
	return CLI_OK;
}

static int run_payment(struct rep *r)
{
	static const char *const keys[] = {"members", "amount_vnd", "transfer_in_excluded", NULL};
	child_rows(r, keys);
	int ex = each_member(r, payment_member, NULL);
	totals(r, keys);
	for (size_t k = 0; k < r->nk; k++)
		r->listed[k] =
		    json_integer_value(json_object_get(json_array_get(r->rows, k), "members")) > 0;
	json_object_set_new(r->summary, "from", json_string(r->o.from));
	json_object_set_new(r->summary, "to", json_string(r->o.to));
	json_object_set_new(r->summary, "vnd_per_member", json_integer(PAY_PER_MEMBER));
	prune_rows(r, "members");
	return ex;
}

static int cards_member(struct rep *r, const struct member *m, void *ctx)
{
	(void)ctx;
	if (m->row < 0 || !is_member(m))
		return CLI_OK;
	json_t *row = json_array_get(r->rows, (size_t)m->row);
	json_t *off = strcmp(m->state, "official") == 0
	                  ? cli_record_json(m->official, m->official_len)
	                  : NULL;
	json_t *now = entered(m);
	const char *card = cli_jstr(off, "card"), *asked = cli_jstr(now, "card");
	if (strcmp(card, "ordinary") == 0 || strcmp(card, "linked") == 0) {
		bump(row, card, 1);
		bump(row, "total", 1);
	}
	if (*asked && strcmp(asked, card) != 0)
		bump(row, "pending", 1);
	json_decref(off);
	json_decref(now);
	return CLI_OK;
}

static int run_cards(struct rep *r)
{
	static const char *const keys[] = {"ordinary", "linked", "total", "pending", NULL};
	child_rows(r, keys);
	int ex = each_member(r, cards_member, NULL);
	totals(r, keys);
	for (size_t k = 0; k < r->nk; k++)
		r->listed[k] =
		    json_integer_value(json_object_get(json_array_get(r->rows, k), "total")) > 0;
	prune_rows(r, "total");
	return ex;
}

/* The units of the subtree in row order, then by name: the order item rows come in. */
static size_t *item_order(struct rep *r, size_t *n)
{
	size_t *v = calloc(r->nu + 1, sizeof *v);
	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < r->nu; i++)
		if (r->u[i].row >= 0)
			v[(*n)++] = i;
	qsort_r(v, *n, sizeof *v, cmp_name, r);
	return v;
}

/* An item row about unit i: unit, unit_name, level. */
static json_t *item(struct rep *r, size_t i)
{
	json_t *o = json_object();
	put_unit(o, "unit", "unit_name", &r->u[i]);
	json_object_set_new(o, "level", json_string(r->u[i].level));
	put_child(r, o, r->u[i].row);
	return o;
}

static int run_thin(struct rep *r)
{
	for (size_t i = 0; i < r->nu; i++) {
		long p = r->u[i].has_parent ? find_unit(r, &r->u[i].parent) : -1;
		if (p >= 0 && r->u[i].active && is_level(r->u[i].level, branch_levels))
			r->u[p].branches++;
	}
	size_t n;
	size_t *order = item_order(r, &n);
	if (!order)
		return cli_error(_("out of memory"));
	long examined = 0;
	for (size_t j = 0; j < n; j++) {
		struct unit *u = &r->u[order[j]];
		if (!u->active || !is_level(u->level, base_levels))
			continue;
		examined++;
		if (u->branches > 1)
			continue;
		json_t *o = item(r, order[j]);
		json_object_set_new(o, "branches", json_integer(u->branches));
		json_array_append_new(r->rows, o);
	}
	free(order);
	json_object_set_new(r->summary, "base_units", json_integer(examined));
	json_object_set_new(r->summary, "thin_base_units",
	                    json_integer((json_int_t)json_array_size(r->rows)));
	return CLI_OK;
}

static int count_member(struct rep *r, const struct member *m, void *ctx)
{
	(void)ctx;
	if (m->unit >= 0 && is_member(m))
		r->u[m->unit].members++;
	return CLI_OK;
}

/* The sector in force at unit i: its own, else the nearest ancestor's. */
static const char *sector_of(const struct rep *r, size_t i)
{
	for (int d = 0; d < MAX_DEPTH; d++) {
		if (*r->u[i].sector)
			return r->u[i].sector;
		long p = r->u[i].has_parent ? find_unit(r, &r->u[i].parent) : -1;
		if (p < 0)
			break;
		i = (size_t)p;
	}
	return "";
}

static int run_small(struct rep *r)
{
	int ex = each_member(r, count_member, NULL);
	size_t n;
	size_t *order = item_order(r, &n);
	if (!order)
		return cli_error(_("out of memory"));
	long examined = 0, armed = 0;
	for (size_t j = 0; j < n && ex == CLI_OK; j++) {
		size_t i = order[j];
		struct unit *u = &r->u[i];
		if (!u->active || !is_level(u->level, branch_levels))
			continue;
		if (strcmp(sector_of(r, i), "armed_forces") == 0) {
			armed++;
			continue;
		}
		examined++;
		if (u->members >= 2)
			continue;
		json_t *o = item(r, i);
		json_object_set_new(o, "members", json_integer(u->members));
		long p = u->has_parent ? find_unit(r, &u->parent) : -1;
		json_object_set_new(o, "parent_unit_name", json_string(p >= 0 ? r->u[p].name : ""));
		json_array_append_new(r->rows, o);
	}
	free(order);
	json_object_set_new(r->summary, "branches", json_integer(examined));
	json_object_set_new(r->summary, "small_branches",
	                    json_integer((json_int_t)json_array_size(r->rows)));
	json_object_set_new(r->summary, "armed_forces_excluded", json_integer(armed));
	return ex;
}

static int run_no_device(struct rep *r)
{
	sqlite3_stmt *st;
	struct ml_buf err = ML_BUF_INIT;
	if (ml_read_prepare(r->n.s,
	                    "SELECT unit FROM grants WHERE role != ?1 AND device NOT IN"
	                    " (SELECT device FROM revocations)",
	                    &st, &err) != ML_OK) {
		int ex = read_error(&err);
		ml_buf_release(&err);
		return ex;
	}
	sqlite3_bind_int(st, 1, ML_ROLE_AUDITOR);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		long i = find_blob(r, st, 0);
		if (i >= 0)
			r->u[i].has_device = true;
	}
	int ex = step_end(st, rc);
	sqlite3_finalize(st);
	if (ex != CLI_OK)
		return ex;
	size_t n;
	size_t *order = item_order(r, &n);
	if (!order)
		return cli_error(_("out of memory"));
	long examined = 0, uncovered = 0;
	for (size_t j = 0; j < n; j++) {
		struct unit *u = &r->u[order[j]];
		if (!u->active)
			continue;
		examined++;
		if (u->has_device)
			continue;
		/* the nearest ancestor whose device covers this subtree */
		long p = order[j], cover = -1;
		for (int d = 0; d < MAX_DEPTH && cover < 0; d++) {
			p = r->u[p].has_parent ? find_unit(r, &r->u[p].parent) : -1;
			if (p < 0)
				break;
			if (r->u[p].has_device)
				cover = p;
		}
		json_t *o = item(r, order[j]);
		json_object_set_new(o, "covered_by",
		                    cover >= 0 ? hex(&r->u[cover].id) : json_null());
		json_object_set_new(o, "covered_by_name",
		                    cover >= 0 ? json_string(r->u[cover].name) : json_null());
		uncovered += cover < 0;
		json_array_append_new(r->rows, o);
	}
	free(order);
	json_object_set_new(r->summary, "units_checked", json_integer(examined));
	json_object_set_new(r->summary, "without_device",
	                    json_integer((json_int_t)json_array_size(r->rows)));
	json_object_set_new(r->summary, "not_covered", json_integer(uncovered));
	return CLI_OK;
}

static int run_duplicates(struct rep *r)
{
	sqlite3_stmt *st;
	struct ml_buf err = ML_BUF_INIT;
	if (ml_read_prepare(
	        r->n.s,
	        "SELECT d.id_number, d.a, ma.full_name, ma.unit, d.b, mb.full_name, mb.unit,"
	        " EXISTS (SELECT 1 FROM duplicate_decisions x WHERE (x.a = d.a AND"
	        " x.b = d.b) OR (x.a = d.b AND x.b = d.a))"
	        " FROM duplicates d JOIN members ma ON ma.rid = member_rid(d.a)"
	        " JOIN members mb ON mb.rid = member_rid(d.b) ORDER BY d.id_number, d.a, d.b",
	        &st, &err) != ML_OK) {
		int ex = read_error(&err);
		ml_buf_release(&err);
		return ex;
	}
	long settled = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		long ua = find_blob(r, st, 3), ub = find_blob(r, st, 6);
		long ra = ua >= 0 ? r->u[ua].row : ROW_OUTSIDE,
		     rb = ub >= 0 ? r->u[ub].row : ROW_OUTSIDE;
		if (ra < 0 && rb < 0)
			continue;
		if (sqlite3_column_int(st, 7)) {
			settled++;
			continue;
		}
		json_t *o = json_object();
		json_object_set_new(o, "id_number",
		                    json_string((const char *)sqlite3_column_text(st, 0)));
		static const char *const side[2][4] = {
		    {"member_a", "full_name_a", "unit_a", "unit_name_a"},
		    {"member_b", "full_name_b", "unit_b", "unit_name_b"}};
		for (int s = 0; s < 2; s++) {
			int c = s ? 4 : 1;
			long ui = s ? ub : ua;
			json_object_set_new(
			    o, side[s][0],
			    cli_json_hex(sqlite3_column_blob(st, c), sqlite3_column_bytes(st, c)));
			const char *name = (const char *)sqlite3_column_text(st, c + 1);
			json_object_set_new(o, side[s][1], json_string(name ? name : ""));
			if (ui >= 0)
				put_unit(o, side[s][2], side[s][3], &r->u[ui]);
		}
		if (ra >= 0)
			r->listed[ra] = true;
		if (rb >= 0)
			r->listed[rb] = true;
		json_array_append_new(r->rows, o);
	}
	int ex = step_end(st, rc);
	sqlite3_finalize(st);
	json_object_set_new(r->summary, "pairs",
	                    json_integer((json_int_t)json_array_size(r->rows)));
	json_object_set_new(r->summary, "settled_pairs", json_integer(settled));
	return ex;
}

/* --- the table of reports ------------------------------------------------------------- */

enum col_kind { C_TEXT, C_INT, C_MONEY, C_PCT, C_FLAG, C_SHORT };

struct col {
	const char *key, *head;
	enum col_kind kind;
};

enum { NEEDS_THRESHOLD = 1 << 0, NEEDS_PERIOD = 1 << 1 };

struct report {
	const char *name, *brief, *help, *listed;
	unsigned paras; /* P_* paragraphs printed before help */
	unsigned opts;
	bool per_child;
	int (*run)(struct rep *r);
	struct col cols[10];
};

/* Paragraphs several reports' help shares. */
enum { P_ROWS = 1 << 0, P_MEMBER = 1 << 1, P_MISSING = 1 << 2 };
static const char *const paragraphs[] = {
    N_("One row per child unit of UNIT (default: the root unit), counting its whole subtree; "
       "what UNIT holds itself gets its own row when there is any."),
    N_("A member is a record whose status is active or transferring (reduced and aged-out "
       "records are not counted), counted in the unit that holds it."),
    N_("A record misses information when the record as the unit entered it (its draft, or the "
       "official record when no change is pending) lacks a required field: in a trade union "
       "network full_name, dob, gender, hometown, id_number or union_join_date; in a youth "
       "union network full_name, dob, gender, id_number or youth_join_date. An unknown date of "
       "birth or gender counts as missing (requirements §10 decision 2)."),
};

static const struct report reports[] = {
    {"progress",
     N_("members entered, submitted, approved, returned per unit (RPT-13)"),
     N_("Columns: members; records in draft, submitted, approved (official) and returned "
        "(rejected, to be fixed and submitted again); members missing information.\nListed "
        "units: children with no member recorded yet."),
     N_("units with no member recorded"),
     P_ROWS | P_MEMBER | P_MISSING,
     0,
     true,
     run_progress,
     {{"unit_name", N_("unit"), C_TEXT},
      {"members", N_("members"), C_INT},
      {"draft", N_("draft"), C_INT},
      {"submitted", N_("submitted"), C_INT},
      {"approved", N_("approved"), C_INT},
      {"returned", N_("returned"), C_INT},
      {"missing_info", N_("missing info"), C_INT}}},
    {"missing-info",
     N_("members missing information, rate per unit (RPT-5)"),
     N_("The rate is members missing information over members; a unit above --threshold "
        "PERCENT (default 5) is flagged.\nListed units: children with any member missing "
        "information, split into those above the threshold and those at or below it."),
     N_("units with members missing information"),
     P_ROWS | P_MEMBER | P_MISSING,
     NEEDS_THRESHOLD,
     true,
     run_missing,
     {{"unit_name", N_("unit"), C_TEXT},
      {"members", N_("members"), C_INT},
      {"missing_info", N_("missing info"), C_INT},
      {"rate_percent", N_("rate"), C_PCT},
      {"over_threshold", N_("over threshold"), C_FLAG}}},
    {"thin-units",
     N_("base units with 0 or 1 branch (RPT-6, ORG-5)"),
     N_("Lists the active base units at and under UNIT (levels delegated_upper_base, "
        "base_union, occupational_union, youth_base_union) that have 0 or 1 active branch "
        "(a child at level branch, union_group or base_branch).\nListed units: children of "
        "UNIT holding such a base unit."),
     N_("units with base units of 0 or 1 branch"),
     0,
     0,
     false,
     run_thin,
     {{"unit_name", N_("base unit"), C_TEXT},
      {"level", N_("level"), C_TEXT},
      {"branches", N_("branches"), C_INT},
      {"child_unit_name", N_("under"), C_TEXT}}},
    {"small-branches",
     N_("branches with fewer than 2 members (RPT-7)"),
     N_("Lists the active branches at and under UNIT (levels branch, union_group, "
        "base_branch) with fewer than 2 members. Branches of the armed_forces sector (their "
        "own sector, or else the nearest ancestor's) are left out (requirements §10 decision "
        "4).\nListed units: children of UNIT holding such a branch."),
     N_("units with branches of fewer than 2 members"),
     P_MEMBER,
     0,
     false,
     run_small,
     {{"unit_name", N_("branch"), C_TEXT},
      {"members", N_("members"), C_INT},
      {"parent_unit_name", N_("parent"), C_TEXT},
      {"child_unit_name", N_("under"), C_TEXT}}},
    {"no-device",
     N_("units with no device of their own (RPT-8)"),
     N_("Lists the active units at and under UNIT where no device holds a role (admin, "
        "officer or approver; auditors and revoked devices do not count). A role covers the "
        "unit's whole subtree, so each unit listed also names the nearest ancestor with a "
        "device (covered_by), or none: then no device can write for it.\nListed units: "
        "children of UNIT holding a unit without a device."),
     N_("units with units that have no device of their own"),
     0,
     0,
     false,
     run_no_device,
     {{"unit_name", N_("unit"), C_TEXT},
      {"level", N_("level"), C_TEXT},
      {"covered_by_name", N_("covered by"), C_TEXT},
      {"child_unit_name", N_("under"), C_TEXT}}},
    {"duplicates",
     N_("possible duplicates not yet settled (RPT-9)"),
     N_("Lists the pairs of records with one ID number (possible duplicates) that no "
        "'member resolve-duplicate' has settled, where either record is held under UNIT.\n"
        "Listed units: children of UNIT holding a record of such a pair."),
     N_("units with unsettled possible duplicates"),
     0,
     0,
     false,
     run_duplicates,
     {{"id_number", N_("ID number"), C_TEXT},
      {"full_name_a", N_("member"), C_TEXT},
      {"member_a", N_("id"), C_SHORT},
      {"unit_name_a", N_("unit"), C_TEXT},
      {"full_name_b", N_("member"), C_TEXT},
      {"member_b", N_("id"), C_SHORT},
      {"unit_name_b", N_("unit"), C_TEXT}}},
    {"payment",
     N_("data-entry payment for a period (PAY-1 to PAY-4)"),
     N_("Counts the members whose first approval was signed between --from and --to "
        "(dd/MM/yyyy, both days included, Vietnam time UTC+7), in the unit that entered them, "
        "at 3,000 VND each. The time is the approval's signed clock, so every node computes "
        "the same figures. Members whose record arrived by transfer in (origin transfer_in) "
        "are not paid for; they are counted apart (requirements §10 decision 5).\nListed "
        "units: children with members to pay for."),
     N_("units with members to pay for"),
     P_ROWS,
     NEEDS_PERIOD,
     true,
     run_payment,
     {{"unit_name", N_("unit"), C_TEXT},
      {"members", N_("members"), C_INT},
      {"amount_vnd", N_("amount"), C_MONEY},
      {"transfer_in_excluded", N_("transfer in (not paid)"), C_INT}}},
    {"cards",
     N_("approved card requests per unit and type (RPT-12)"),
     N_("Counts the members whose official record carries a card request, by type "
        "(ordinary, linked); pending counts card requests not approved yet.\nListed units: "
        "children with approved card requests."),
     N_("units with approved card requests"),
     P_ROWS | P_MEMBER,
     0,
     true,
     run_cards,
     {{"unit_name", N_("unit"), C_TEXT},
      {"ordinary", N_("ordinary"), C_INT},
      {"linked", N_("linked"), C_INT},
      {"total", N_("total"), C_INT},
      {"pending", N_("pending"), C_INT}}},
};
#define N_REPORTS (sizeof reports / sizeof reports[0])

static const char report_usage[] = "report NAME [--unit UNIT] [--threshold PERCENT] [--from "
                                   "dd/MM/yyyy --to dd/MM/yyyy]";

/* --- text output ---------------------------------------------------------------------- */

/* Columns a string takes on a terminal: code points, wide ones 2, combining marks 0. */
static size_t text_width(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_ssize_t left = (utf8proc_ssize_t)strlen(s);
	size_t w = 0;
	while (left > 0) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate(p, left, &c);
		if (k <= 0) {
			k = 1;
			w++;
		} else {
			int cw = utf8proc_charwidth(c);
			w += cw > 0 ? (size_t)cw : 0;
		}
		p += k;
		left -= k;
	}
	return w;
}

/* 27000 as "27,000 VND". */
static void money(long long v, char out[40])
{
	char digits[24], *o = out;
	int n = snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v);
	if (v < 0)
		*o++ = '-';
	for (int i = 0; i < n; i++) {
		*o++ = digits[i];
		if ((n - i - 1) % 3 == 0 && i != n - 1)
			*o++ = ',';
	}
	snprintf(o, 12, " VND");
}

/* The text of one cell; out has room for 256 bytes. */
static const char *cell(const json_t *row, const struct col *c, char *out)
{
	json_t *v = json_object_get(row, c->key);
	switch (c->kind) {
	case C_INT:
		snprintf(out, 256, "%lld", (long long)json_integer_value(v));
		return out;
	case C_MONEY:
		money(json_integer_value(v), out);
		return out;
	case C_PCT:
		snprintf(out, 256, "%.2f%%", json_real_value(v));
		return out;
	case C_FLAG:
		return json_is_true(v) ? _("yes") : "";
	case C_SHORT:
		snprintf(out, 256, "%.12s", json_is_string(v) ? json_string_value(v) : "-");
		return out;
	case C_TEXT:
	default:
		return json_is_string(v) && json_string_length(v) ? json_string_value(v) : "-";
	}
}

/* Pads a cell of tw columns to w. */
static void pad(size_t w, size_t tw)
{
	for (; tw < w; tw++)
		putchar(' ');
}

/* Prints rows (and a total line) as a table, columns padded to their widest cell. */
static void print_table(const struct report *def, json_t *rows, const json_t *total)
{
	size_t nc = 0, w[10] = {0};
	while (nc < 10 && def->cols[nc].key)
		nc++;
	size_t nr = json_array_size(rows) + (total ? 1 : 0);
	char buf[256];
	for (size_t c = 0; c < nc; c++) {
		w[c] = text_width(_(def->cols[c].head));
		for (size_t i = 0; i < nr; i++) {
			const json_t *row =
			    i < json_array_size(rows) ? json_array_get(rows, i) : total;
			const char *s =
			    c == 0 && row == total ? _("total") : cell(row, &def->cols[c], buf);
			size_t tw = text_width(s);
			w[c] = tw > w[c] ? tw : w[c];
		}
	}
	for (size_t i = 0; i <= nr; i++) {
		const json_t *row = i == 0                       ? NULL
		                    : i <= json_array_size(rows) ? json_array_get(rows, i - 1)
		                                                 : total;
		for (size_t c = 0; c < nc; c++) {
			const char *s = !row                     ? _(def->cols[c].head)
			                : c == 0 && row == total ? _("total")
			                                         : cell(row, &def->cols[c], buf);
			bool right = def->cols[c].kind != C_TEXT && def->cols[c].kind != C_SHORT &&
			             def->cols[c].kind != C_FLAG;
			size_t tw = text_width(s);
			if (c)
				fputs("  ", stdout);
			if (right)
				pad(w[c], tw);
			fputs(s, stdout);
			if (!right && c + 1 < nc)
				pad(w[c], tw);
		}
		putchar('\n');
	}
}

/* Prints "label: 09/21" and the units named. */
static void print_listed(const char *label, const json_t *sum, const char *key)
{
	long long total = json_integer_value(json_object_get(sum, "units"));
	const json_t *list = json_object_get(sum, key);
	int digits = snprintf(NULL, 0, "%lld", total);
	if (label)
		printf("%s: %0*lld/%lld", label, digits, (long long)json_array_size(list), total);
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		printf("%s%s", i ? ", " : ": ", cli_jstr(v, "unit_name"));
	}
	if (!label && json_array_size(list) == 0)
		printf(": -");
	if (label)
		putchar('\n');
}

static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void print_text(struct rep *r, json_t *doc)
{
	const json_t *sum = r->summary;
	printf("%s: %s\n", r->def->name, _(r->def->brief));
	printf(_("%s, generated %s\n"), cli_jstr(doc, "unit_name"), cli_jstr(doc, "generated_at"));
	if (strcmp(r->def->name, "payment") == 0)
		printf(_("first approvals signed from %s to %s (both included, UTC+7)\n"),
		       r->o.from, r->o.to);
	putchar('\n');
	if (json_array_size(r->rows) == 0 && !r->def->per_child)
		printf(_("nothing to report\n"));
	else
		print_table(r->def, r->rows, json_object_get(sum, "total"));
	putchar('\n');
	print_listed(_(r->def->listed), sum, "listed_units");
	const char *name = r->def->name;
	if (strcmp(name, "missing-info") == 0) {
		printf(_("over %g%%"), r->o.threshold_pct);
		print_listed(NULL, sum, "over_threshold_units");
		printf(_("\nat or below %g%%"), r->o.threshold_pct);
		print_listed(NULL, sum, "at_or_below_threshold_units");
		putchar('\n');
	} else if (strcmp(name, "progress") == 0) {
		printf(_("units whose members are all approved: %lld\n"),
		       num(sum, "units_fully_approved"));
	} else if (strcmp(name, "thin-units") == 0) {
		printf(_("base units with 0 or 1 branch: %lld of %lld\n"),
		       num(sum, "thin_base_units"), num(sum, "base_units"));
	} else if (strcmp(name, "small-branches") == 0) {
		printf(_("branches with fewer than 2 members: %lld of %lld; armed-forces branches "
		         "left "
		         "out: %lld\n"),
		       num(sum, "small_branches"), num(sum, "branches"),
		       num(sum, "armed_forces_excluded"));
	} else if (strcmp(name, "no-device") == 0) {
		printf(_("units without a device of their own: %lld of %lld; of them covered by no "
		         "ancestor either: %lld\n"),
		       num(sum, "without_device"), num(sum, "units_checked"),
		       num(sum, "not_covered"));
	} else if (strcmp(name, "duplicates") == 0) {
		printf(_("pairs to settle ('memberlog member resolve-duplicate'): %lld; settled: "
		         "%lld\n"),
		       num(sum, "pairs"), num(sum, "settled_pairs"));
	}
}

/* --- the command ---------------------------------------------------------------------- */

static void list_reports(FILE *to)
{
	fprintf(to, "usage: memberlog %s\n\n", report_usage);
	fprintf(to, _("Computes a report on the subtree of UNIT (default: the root unit), one row "
	              "per child unit or per item found, then summarises it as n/N units, naming "
	              "them.\n\nreports:\n"));
	for (size_t i = 0; i < N_REPORTS; i++)
		fprintf(to, "  %-15s %s\n", reports[i].name, _(reports[i].brief));
	fprintf(to,
	        _("\n'memberlog report NAME --help' describes one report and how it counts.\n"));
}

/* Parses a dd/MM/yyyy option into *d; CLI_OK or CLI_USAGE after saying why. */
static int parse_date(const char *opt, const char *s, struct ml_date *d)
{
	struct ml_buf err = ML_BUF_INIT;
	int rc = ml_field_date(s, strlen(s), d, &err);
	if (rc != ML_OK)
		cli_error(_("%s: %s"), opt, ml_buf_str(&err));
	ml_buf_release(&err);
	return rc == ML_OK ? CLI_OK : CLI_USAGE;
}

/* Parses the options after NAME; -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, const struct report *def, struct options *o)
{
	enum { O_UNIT = 1, O_THRESHOLD, O_FROM, O_TO };
	static const struct option opts[] = {{"unit", required_argument, NULL, O_UNIT},
	                                     {"threshold", required_argument, NULL, O_THRESHOLD},
	                                     {"from", required_argument, NULL, O_FROM},
	                                     {"to", required_argument, NULL, O_TO},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	memset(o, 0, sizeof *o);
	o->threshold_pct = 5.0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_UNIT:
			o->unit = optarg;
			break;
		case O_THRESHOLD:
			o->threshold = optarg;
			break;
		case O_FROM:
			o->from = optarg;
			break;
		case O_TO:
			o->to = optarg;
			break;
		case 'h':
			printf("usage: memberlog report %s [--unit UNIT]%s%s\n\n%s: %s\n\n",
			       def->name,
			       def->opts & NEEDS_THRESHOLD ? " [--threshold PERCENT]" : "",
			       def->opts & NEEDS_PERIOD ? " --from dd/MM/yyyy --to dd/MM/yyyy" : "",
			       def->name, _(def->brief));
			for (size_t i = 0; i < sizeof paragraphs / sizeof paragraphs[0]; i++)
				if (def->paras & (1u << i))
					printf("%s\n", _(paragraphs[i]));
			printf("%s\n", _(def->help));
			return CLI_OK;
		default:
			return cli_usage(report_usage);
		}
	}
	if (optind != argc)
		return cli_error(
		           _("unexpected argument '%s'; 'memberlog report %s --help' shows the "
		             "options"),
		           argv[optind], def->name),
		       CLI_USAGE;
	if (o->threshold && !(def->opts & NEEDS_THRESHOLD))
		return cli_error(_("--threshold applies to the missing-info report only")),
		       CLI_USAGE;
	if ((o->from || o->to) && !(def->opts & NEEDS_PERIOD))
		return cli_error(_("--from and --to apply to the payment report only")), CLI_USAGE;
	if (o->threshold) {
		char *end;
		o->threshold_pct = strtod(o->threshold, &end);
		if (*end || !*o->threshold || !(o->threshold_pct >= 0 && o->threshold_pct <= 100))
			return cli_error(
			           _("--threshold takes a percentage from 0 to 100, like 5 or "
			             "2.5, not '%s'"),
			           o->threshold),
			       CLI_USAGE;
	}
	if (def->opts & NEEDS_PERIOD) {
		if (!o->from || !o->to)
			return cli_error(
			           _("the payment report needs a period: --from dd/MM/yyyy --to "
			             "dd/MM/yyyy (both days included)")),
			       CLI_USAGE;
		if (parse_date("--from", o->from, &o->dfrom) != CLI_OK ||
		    parse_date("--to", o->to, &o->dto) != CLI_OK)
			return CLI_USAGE;
		long from = ml_date_days(&o->dfrom), to = ml_date_days(&o->dto);
		if (from > to)
			return cli_error(
			           _("--from %s is after --to %s: give the period's first day "
			             "first"),
			           o->from, o->to),
			       CLI_USAGE;
		/* midnight in Vietnam is 17:00 UTC the day before */
		o->from_ms = (from - DAYS_1900_1970) * DAY_MS - VN_OFFSET_MS;
		o->to_ms = (to + 1 - DAYS_1900_1970) * DAY_MS - VN_OFFSET_MS;
	}
	return -1;
}

static void vn_now(char out[48])
{
	time_t t = time(NULL) + 7 * 3600;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 48, "%d/%m/%Y %H:%M:%S (UTC+7)", &tm);
}

static void rep_release(struct rep *r)
{
	for (size_t i = 0; i < r->nu; i++) {
		free(r->u[i].name);
		free(r->u[i].level);
		free(r->u[i].sector);
		free(r->u[i].status);
		free(r->u[i].fold);
	}
	free(r->u);
	free(r->kids);
	free(r->listed);
	json_decref(r->rows);
	json_decref(r->summary);
	cli_node_close(&r->n);
}

int cmd_report(struct cli *cli, int argc, char **argv)
{
	if (argc < 2 || cli_is_help(argv[1])) {
		list_reports(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	const struct report *def = NULL;
	for (size_t i = 0; i < N_REPORTS && !def; i++)
		if (strcmp(argv[1], reports[i].name) == 0)
			def = &reports[i];
	if (!def) {
		fprintf(stderr, _("error: no report '%s'; the reports are:"), argv[1]);
		for (size_t i = 0; i < N_REPORTS; i++)
			fprintf(stderr, " %s", reports[i].name);
		fputc('\n', stderr);
		return CLI_USAGE;
	}
	struct rep r = {.def = def};
	int ex = parse_options(argc - 1, argv + 1, def, &r.o);
	if (ex >= 0)
		return ex;
	if (cli_node_open(cli, NODE_NETWORK, &r.n) != CLI_OK)
		return CLI_ERROR;
	r.rows = json_array();
	r.summary = json_object();
	ex = load_tree(&r);
	struct ml_hash top = r.n.net;
	if (ex == CLI_OK && r.o.unit)
		ex = cli_unit_find(&r.n, r.o.unit, &top);
	long ti = ex == CLI_OK ? find_unit(&r, &top) : -1;
	if (ex == CLI_OK && ti < 0)
		ex = cli_error(_("unit '%s' is not in the organisation tree"),
		               r.o.unit ? r.o.unit : "?");
	if (ex == CLI_OK) {
		r.top = (size_t)ti;
		place_units(&r);
		ex = def->run(&r);
		summarise_listed(&r);
	}
	if (ex == CLI_OK) {
		char when[48];
		vn_now(when);
		json_t *doc = json_object();
		json_object_set_new(doc, "version", json_integer(1));
		json_object_set_new(doc, "report", json_string(def->name));
		put_unit(doc, "unit", "unit_name", &r.u[r.top]);
		json_object_set_new(doc, "org", json_string(ml_orgs[r.n.org]));
		json_object_set_new(doc, "generated_at", json_string(when));
		json_object_set(doc, "rows", r.rows);
		json_object_set(doc, "summary", r.summary);
		if (cli->json) {
			ex = cli_print_json(doc);
		} else {
			print_text(&r, doc);
			json_decref(doc);
		}
	}
	rep_release(&r);
	return ex;
}
