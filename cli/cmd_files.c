/*
 * cmd_files.c - the files officers exchange with the old systems:
 * `import` of the official new-member template (Phụ lục 03, CSV or XLSX)
 * and `export` of the detailed member list ("DANH SÁCH CHI TIẾT") or the
 * card-printing list, as .xlsx or .csv.
 *
 * An import is all or nothing: every row is checked first (cli/template.h)
 * and every bad row is listed; only a clean file is written, as one
 * transaction of drafts the officer then submits.
 */
#include "node.h"
#include "record.h"

#include "cli/export.h"
#include "cli/i18n.h"
#include "cli/sheet.h"
#include "cli/template.h"
#include "crdt/err.h"
#include "crdt/fields.h"
#include "node/read.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char import_usage[] = "import FILE --unit UNIT [--dry-run]";

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Builds the member_create body of template row m into out. */
static int row_body(const struct tpl_member *m, struct ml_buf *out)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "full_name", m->full_name);
	if (m->dob[0])
		ml_bb_cstr(&bb, "dob", m->dob);
	if (m->gender != TPL_GENDER_UNKNOWN)
		ml_bb_cstr(&bb, "gender", m->gender == TPL_GENDER_MALE ? "male" : "female");
	if (m->hometown && m->hometown[0])
		ml_bb_cstr(&bb, "hometown", m->hometown);
	ml_bb_cstr(&bb, "id_number", m->id_number);
	const char *pos[16];
	size_t k = 0;
	for (int i = 0; ml_positions[i] && k < 16; i++)
		if (m->positions & (1u << i))
			pos[k++] = ml_positions[i];
	qsort(pos, k, sizeof *pos, cmp_str); /* a canonical list is sorted */
	if (k)
		ml_bb_text_list(&bb, "positions", pos, k);
	if (m->full_time_cadre)
		ml_bb_bool(&bb, "is_full_time_cadre", true);
	ml_bb_cstr(&bb, "union_join_date", m->union_join_date);
	ml_bb_cstr(&bb, "origin", "new");
	int rc = ml_bb_finish(&bb, out);
	ml_bb_release(&bb);
	return rc;
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"unit", required_argument, NULL, 'u'},
	                                     {"dry-run", no_argument, NULL, 'n'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	const char *unit_arg = NULL;
	bool dry = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'u')
			unit_arg = optarg;
		else if (c == 'n')
			dry = true;
		else if (c == 'h')
			return printf(
			           _("usage: memberlog %s\n\nEnters the members of the official "
			             "new-member template (Phụ lục 03, .csv or .xlsx) as drafts in "
			             "UNIT. Every row is checked first; if any row is wrong, every "
			             "problem is listed with its row and column and nothing is "
			             "entered. --dry-run checks without entering.\n"),
			           import_usage),
			       CLI_OK;
		else
			return cli_usage(import_usage);
	}
	if (!unit_arg || optind != argc - 1)
		return cli_usage(import_usage);
	const char *path = argv[optind];
	struct cli_node n;
	if (cli_node_open(cli, (dry ? 0 : NODE_KEY) | NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash unit;
	int ex = cli_unit_find(&n, unit_arg, &unit);
	if (ex == CLI_OK && n.org != ML_ORG_TRADE_UNION)
		ex = cli_error(_("the Phụ lục 03 template is the trade union's; this network is a "
		                 "youth union: enter members with 'memberlog member add'"));
	struct sheet sh;
	struct tpl_result res;
	memset(&sh, 0, sizeof sh);
	memset(&res, 0, sizeof res);
	struct ml_buf err = ML_BUF_INIT;
	int rc = ML_OK;
	if (ex == CLI_OK && (rc = sheet_read(path, &sh, &err)) != ML_OK)
		ex = cli_error(_("%s; nothing was imported"), ml_buf_str(&err));
	if (ex == CLI_OK && (rc = tpl_parse(&sh, path, &res, &err)) != ML_OK) {
		if (rc == ML_EFIELD) {
			tpl_problems_print(stderr, path, &res);
			ex = cli_error(
			    _("nothing was imported: %zu rows of '%s' have problems; fix every "
			      "one listed above and import the file again"),
			    res.problem_rows, path);
		} else {
			ex = cli_error(_("%s; nothing was imported"), ml_buf_str(&err));
		}
	}
	struct ml_buf *bodies = NULL;
	struct ml_draft *drafts = NULL;
	size_t k = res.n_members;
	if (ex == CLI_OK && k > ML_AUTHOR_MAX)
		ex = cli_error(
		    _("'%s' lists %zu members; one import takes at most %d: split the file"), path,
		    k, ML_AUTHOR_MAX);
	if (ex == CLI_OK &&
	    (!(bodies = calloc(k, sizeof *bodies)) || !(drafts = calloc(k, sizeof *drafts))))
		ex = cli_error(_("out of memory"));
	for (size_t i = 0; i < k && ex == CLI_OK; i++) {
		if (row_body(&res.members[i], &bodies[i]) != ML_OK)
			ex = cli_error(_("out of memory"));
		drafts[i] = (struct ml_draft){"member_create", bodies[i].data, bodies[i].len};
	}
	struct ml_hash *ids = ex == CLI_OK ? calloc(k, sizeof *ids) : NULL;
	if (ex == CLI_OK && !dry)
		ex = ids ? cli_write(&n, &unit, ML_LANE_REG, drafts, k, ids)
		         : cli_error(_("out of memory"));
	if (ex == CLI_OK) {
		char uname[256];
		cli_unit_name(&n, &unit, uname, sizeof uname);
		if (cli->json) {
			json_t *list = json_array();
			for (size_t i = 0; i < k; i++) {
				json_t *o = json_pack("{s:i, s:s, s:s}", "row", res.members[i].row,
				                      "full_name", res.members[i].full_name,
				                      "id_number", res.members[i].id_number);
				if (!dry)
					json_object_set_new(o, "member",
					                    cli_json_hex(ids[i].b, 32));
				json_array_append_new(list, o);
			}
			cli_print_json(json_pack("{s:i, s:b, s:s, s:o}", "version", 1, "dry_run",
			                         dry, "unit_name", uname, "members", list));
		} else if (dry) {
			printf(
			    ngettext("'%s' is a valid template: %zu member would be entered as a "
			             "draft in %s\n",
			             "'%s' is a valid template: %zu members would be entered as "
			             "drafts in %s\n",
			             k),
			    path, k, uname);
		} else {
			printf(ngettext("entered %zu member from '%s' as a draft in %s\nnext: "
			                "'memberlog member submit --unit UNIT --all' asks the unit "
			                "above to approve it\n",
			                "entered %zu members from '%s' as drafts in %s\nnext: "
			                "'memberlog member submit --unit UNIT --all' asks the unit "
			                "above to approve them\n",
			                k),
			       k, path, uname);
		}
	}
	for (size_t i = 0; bodies && i < k; i++)
		ml_buf_release(&bodies[i]);
	free(bodies);
	free(drafts);
	free(ids);
	tpl_result_release(&res);
	sheet_release(&sh);
	ml_buf_release(&err);
	cli_node_close(&n);
	return ex;
}

/* --- export ------------------------------------------------------------------ */

static const char export_usage[] = "export --unit UNIT -o FILE.xlsx|FILE.csv [--cards]";

/* Strings the export rows borrow, kept until the file is written. */
struct keep {
	json_t **docs;
	size_t n, cap;
};

static json_t *keep(struct keep *k, json_t *doc)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		json_t **v = realloc(k->docs, cap * sizeof *v);
		if (!v)
			return doc;
		k->docs = v;
		k->cap = cap;
	}
	k->docs[k->n++] = doc;
	return doc;
}

static enum ml_record_state state_of(const char *s)
{
	return strcmp(s, "official") == 0    ? ML_REC_OFFICIAL
	       : strcmp(s, "submitted") == 0 ? ML_REC_SUBMITTED
	       : strcmp(s, "returned") == 0  ? ML_REC_RETURNED
	                                     : ML_REC_DRAFT;
}

int cmd_export(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"unit", required_argument, NULL, 'u'},
	                                     {"output", required_argument, NULL, 'o'},
	                                     {"cards", no_argument, NULL, 'c'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	const char *unit_arg = NULL, *out = NULL;
	bool cards = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'u')
			unit_arg = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c == 'c')
			cards = true;
		else if (c == 'h')
			return printf(
			           _("usage: memberlog %s\n\nWrites the detailed member list (DANH "
			             "SÁCH CHI TIẾT) of UNIT and the units below it, with the "
			             "export "
			             "time, or with --cards the list of approved members who "
			             "requested a card (DANH SÁCH ĐỀ NGHỊ IN THẺ ĐOÀN VIÊN).\n"),
			           export_usage),
			       CLI_OK;
		else
			return cli_usage(export_usage);
	}
	size_t olen = out ? strlen(out) : 0;
	bool xlsx = olen > 5 && strcmp(out + olen - 5, ".xlsx") == 0;
	bool csv = olen > 4 && strcmp(out + olen - 4, ".csv") == 0;
	if (!unit_arg || !out || optind != argc)
		return cli_usage(export_usage);
	if (!xlsx && !csv)
		return cli_error(_("'%s': the list is written as .xlsx or .csv; name the file so"),
		                 out),
		       CLI_USAGE;
	struct cli_node n;
	if (cli_node_open(cli, NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash unit, *units = NULL;
	size_t n_units = 0;
	int ex = cli_unit_find(&n, unit_arg, &unit);
	if (ex == CLI_OK)
		ex = cli_subtree(&n, &unit, &units, &n_units);
	sqlite3_stmt *st = NULL;
	struct ml_buf err = ML_BUF_INIT;
	if (ex == CLI_OK &&
	    ml_read_prepare(n.s,
	                    "SELECT m.state, m.number, m.official, m.draft, u.name FROM members m"
	                    " LEFT JOIN units u ON u.id = m.unit WHERE m.unit = ?1"
	                    " ORDER BY m.name_fold, m.id",
	                    &st, &err) != ML_OK)
		ex = cli_error("%s", ml_buf_str(&err));
	struct keep kept = {0};
	struct export_member *rows = NULL;
	struct export_card *card_rows = NULL;
	size_t k = 0, cap = 0;
	for (size_t u = 0; u < n_units && ex == CLI_OK; u++) {
		sqlite3_bind_blob(st, 1, units[u].b, 32, SQLITE_STATIC);
		while (ex == CLI_OK && sqlite3_step(st) == SQLITE_ROW) {
			const char *state = (const char *)sqlite3_column_text(st, 0);
			json_t *off =
			    keep(&kept, cli_record_json(sqlite3_column_blob(st, 2),
			                                (size_t)sqlite3_column_bytes(st, 2)));
			json_t *dr =
			    keep(&kept, cli_record_json(sqlite3_column_blob(st, 3),
			                                (size_t)sqlite3_column_bytes(st, 3)));
			/* approved data for official records; what was entered for the others */
			json_t *rec = strcmp(state, "official") == 0 && off ? off : dr ? dr : off;
			json_t *meta =
			    keep(&kept, json_pack("{s:s, s:s}", "number",
			                          sqlite3_column_type(st, 1) == SQLITE_TEXT
			                              ? (const char *)sqlite3_column_text(st, 1)
			                              : "",
			                          "unit",
			                          sqlite3_column_text(st, 4)
			                              ? (const char *)sqlite3_column_text(st, 4)
			                              : ""));
			if (!rec || !meta)
				continue;
			if (cards && (strcmp(state, "official") != 0 || !*cli_jstr(off, "card")))
				continue;
			if (k == cap) {
				size_t want = cap ? 2 * cap : 64;
				void *a = realloc(rows, want * sizeof *rows);
				if (a)
					rows = a;
				void *b = a ? realloc(card_rows, want * sizeof *card_rows) : NULL;
				if (b)
					card_rows = b;
				if (!a || !b) {
					ex = cli_error(_("out of memory"));
					break;
				}
				cap = want;
			}
			json_t *pos = json_object_get(rec, "positions");
			const char **plist = json_array_size(pos)
			                         ? calloc(json_array_size(pos), sizeof *plist)
			                         : NULL;
			for (size_t p = 0; plist && p < json_array_size(pos); p++)
				plist[p] = json_string_value(json_array_get(pos, p));
			rows[k] = (struct export_member){
			    .member_number = cli_jstr(meta, "number"),
			    .full_name = cli_jstr(rec, "full_name"),
			    .dob = cli_jstr(rec, "dob"),
			    .gender = *cli_jstr(rec, "gender") ? cli_jstr(rec, "gender") : NULL,
			    .hometown = cli_jstr(rec, "hometown"),
			    .id_number = cli_jstr(rec, "id_number"),
			    .phone = cli_jstr(rec, "phone"),
			    .positions = (const char *const *)plist,
			    .n_positions = plist ? json_array_size(pos) : 0,
			    .union_join_date = cli_jstr(rec, "union_join_date"),
			    .full_time_cadre =
			        json_is_true(json_object_get(rec, "is_full_time_cadre")),
			    .unit_name = cli_jstr(meta, "unit"),
			    .state = state_of(state),
			    .status = *cli_jstr(rec, "status") ? cli_jstr(rec, "status") : NULL,
			};
			card_rows[k] = (struct export_card){
			    .member_number = rows[k].member_number,
			    .full_name = rows[k].full_name,
			    .dob = rows[k].dob,
			    .gender = rows[k].gender,
			    .id_number = rows[k].id_number,
			    .card_type = cli_jstr(off, "card"),
			    .unit_name = rows[k].unit_name,
			};
			k++;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (ex == CLI_OK) {
		char uname[256], hex[65];
		cli_unit_name(&n, &unit, uname, sizeof uname);
		ml_hex_encode(unit.b, 32, hex);
		struct export_title title = {uname, hex, (int64_t)time(NULL)};
		int rc = cards ? export_cards_write(out, &title, card_rows, k, &err)
		               : export_members_write(out, &title, rows, k, &err);
		if (rc != ML_OK)
			ex = cli_error("%s", ml_buf_str(&err));
		else if (cli->json)
			cli_print_json(json_pack("{s:i, s:s, s:I, s:s}", "version", 1, "file", out,
			                         "members", (json_int_t)k, "list",
			                         cards ? "cards" : "detailed"));
		else
			printf(ngettext("wrote %zu member of %s to %s\n",
			                "wrote %zu members of %s to %s\n", k),
			       k, uname, out);
	}
	for (size_t i = 0; i < k; i++)
		free((void *)rows[i].positions);
	for (size_t i = 0; i < kept.n; i++)
		json_decref(kept.docs[i]);
	free(kept.docs);
	free(rows);
	free(card_rows);
	free(units);
	ml_buf_release(&err);
	cli_node_close(&n);
	return ex;
}
