/*
 * cmd_unit.c - the organisation tree: `unit create|list|show|rename|set-level|
 * move|receive|merge|split|dissolve` and `numbers delegate|show`.
 *
 * Each verb writes one op (docs/REGISTER.md §2) signed by this device; the
 * judge decides, by the same rules as for ops from peers, whether the device
 * may: a refusal prints the reason and writes nothing.
 */
#include "node.h"

#include "i18n.h"

#include "crdt/codec.h"
#include "crdt/err.h"
#include "crdt/fields.h"
#include "node/numbers.h"
#include "node/read.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Options every unit verb may take; each verb says which it needs. */
struct unit_args {
	const char *name, *level, *sector, *parent, *to, *into, *under, *reason, *names;
	const char *unit; /* the operand */
	unsigned long long count;
};

enum {
	O_NAME = 1,
	O_LEVEL,
	O_SECTOR,
	O_PARENT,
	O_TO,
	O_INTO,
	O_UNDER,
	O_REASON,
	O_NAMES,
	O_COUNT,
	O_UNIT
};

/* Parses argv into a; usage names the verb's form; help describes it.  -1 to go on, else an exit
 * code. */
static int parse(int argc, char **argv, const char *usage, const char *help, bool operand,
                 struct unit_args *a)
{
	static const struct option opts[] = {{"name", required_argument, NULL, O_NAME},
	                                     {"level", required_argument, NULL, O_LEVEL},
	                                     {"sector", required_argument, NULL, O_SECTOR},
	                                     {"parent", required_argument, NULL, O_PARENT},
	                                     {"to", required_argument, NULL, O_TO},
	                                     {"into", required_argument, NULL, O_INTO},
	                                     {"under", required_argument, NULL, O_UNDER},
	                                     {"reason", required_argument, NULL, O_REASON},
	                                     {"names", required_argument, NULL, O_NAMES},
	                                     {"count", required_argument, NULL, O_COUNT},
	                                     {"unit", required_argument, NULL, O_UNIT},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	memset(a, 0, sizeof *a);
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_NAME:
			a->name = optarg;
			break;
		case O_LEVEL:
			a->level = optarg;
			break;
		case O_SECTOR:
			a->sector = optarg;
			break;
		case O_PARENT:
			a->parent = optarg;
			break;
		case O_TO:
			a->to = optarg;
			break;
		case O_INTO:
			a->into = optarg;
			break;
		case O_UNDER:
			a->under = optarg;
			break;
		case O_REASON:
			a->reason = optarg;
			break;
		case O_NAMES:
			a->names = optarg;
			break;
		case O_UNIT:
			a->unit = optarg;
			break;
		case O_COUNT: {
			char *end;
			a->count = strtoull(optarg, &end, 10);
			if (*end || !*optarg || a->count == 0)
				return cli_error(
				           _("--count takes a positive whole number, not '%s'"),
				           optarg),
				       CLI_USAGE;
			break;
		}
		case 'h':
			printf("usage: memberlog %s\n\n%s\n", usage, _(help));
			return CLI_OK;
		default:
			return cli_usage(usage);
		}
	}
	if (operand) {
		if (optind != argc - 1)
			return cli_usage(usage);
		a->unit = argv[optind];
	} else if (optind != argc) {
		return cli_usage(usage);
	}
	if (a->level && ml_enum_index(ml_levels, a->level, strlen(a->level)) < 0) {
		fprintf(stderr, _("error: unknown level '%s'; levels are:"), a->level);
		for (int i = 0; ml_levels[i]; i++)
			fprintf(stderr, " %s", ml_levels[i]);
		fputc('\n', stderr);
		return CLI_USAGE;
	}
	if (a->sector && ml_enum_index(ml_sectors, a->sector, strlen(a->sector)) < 0) {
		fprintf(stderr, _("error: unknown sector '%s'; sectors are:"), a->sector);
		for (int i = 0; ml_sectors[i]; i++)
			fprintf(stderr, " %s", ml_sectors[i]);
		fputc('\n', stderr);
		return CLI_USAGE;
	}
	return -1;
}

/* Prints the result of a write: the op id, and what it did in words. */
static void done(struct cli *cli, const struct ml_hash *id, const char *what, const char *name)
{
	char hex[65];
	ml_hex_encode(id->b, 32, hex);
	if (cli->json)
		cli_print_json(
		    json_pack("{s:i, s:s, s:s}", "version", 1, "op", hex, "unit_name", name));
	else
		printf("%s: %s\n", what, name);
}

static int unit_create(struct cli *cli, int argc, char **argv)
{
	static const char usage[] =
	    "unit create --parent UNIT --name NAME --level LEVEL [--sector SECTOR]";
	struct unit_args a;
	int ex = parse(argc, argv, usage,
	               N_("Creates a unit under PARENT. Needs an admin role at or above PARENT."),
	               false, &a);
	if (ex >= 0)
		return ex;
	if (!a.parent || !a.name || !a.level)
		return cli_usage(usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash parent, id;
	ex = cli_unit_find(&n, a.parent, &parent);
	if (ex == CLI_OK) {
		struct ml_body_builder bb;
		ml_bb_init(&bb);
		ml_bb_cstr(&bb, "name", a.name);
		ml_bb_cstr(&bb, "level", a.level);
		if (a.sector)
			ml_bb_cstr(&bb, "sector", a.sector);
		ex = cli_write_one(&n, &parent, "unit_create", &bb, &id);
	}
	if (ex == CLI_OK) {
		char hex[65];
		ml_hex_encode(id.b, 32, hex);
		if (cli->json)
			cli_print_json(json_pack("{s:i, s:s, s:s}", "version", 1, "unit", hex,
			                         "name", a.name));
		else
			printf(_("created unit '%s'\nunit id: %s\n"), a.name, hex);
	}
	cli_node_close(&n);
	return ex;
}

/* Writes one op about the unit named by a->unit, built by the caller into bb. */
static int write_about(struct cli *cli, const struct unit_args *a, const char *type,
                       struct ml_body_builder *bb, const char *what)
{
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_NETWORK, &n) != CLI_OK) {
		ml_bb_release(bb);
		return CLI_ERROR;
	}
	struct ml_hash unit, other, id;
	int ex = cli_unit_find(&n, a->unit, &unit);
	const char *other_arg = a->to ? a->to : a->into;
	if (ex == CLI_OK && other_arg) {
		ex = cli_unit_find(&n, other_arg, &other);
		if (ex == CLI_OK)
			ml_bb_hash(bb, a->to ? "to" : "into", &other);
	}
	if (ex == CLI_OK && strcmp(type, "unit_receive") == 0) {
		/* the latest hand-over of the unit */
		sqlite3_stmt *st;
		ex = CLI_ERROR;
		if (ml_read_prepare(n.s,
		                    "SELECT op FROM unit_transfers WHERE unit = ?1 ORDER BY feed "
		                    "DESC, seq DESC",
		                    &st, NULL) == ML_OK) {
			sqlite3_bind_blob(st, 1, unit.b, 32, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
				memcpy(other.b, sqlite3_column_blob(st, 0), 32);
				ml_bb_hash(bb, "transfer", &other);
				ex = CLI_OK;
			}
			sqlite3_finalize(st);
		}
		if (ex != CLI_OK)
			cli_error(_("unit '%s' has not been handed over: the unit above writes "
			            "'memberlog unit move' first"),
			          a->unit);
	}
	if (ex == CLI_OK)
		ex = cli_write_one(&n, &unit, type, bb, &id);
	else
		ml_bb_release(bb);
	if (ex == CLI_OK) {
		char name[256];
		cli_unit_name(&n, &unit, name, sizeof name);
		done(cli, &id, what, name);
	}
	cli_node_close(&n);
	return ex;
}

static int unit_rename(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "unit rename UNIT --name NAME";
	struct unit_args a;
	int ex = parse(argc, argv, usage,
	               N_("Renames a unit (also a class branch moving up a grade)."), true, &a);
	if (ex >= 0)
		return ex;
	if (!a.name)
		return cli_usage(usage);
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "name", a.name);
	return write_about(cli, &a, "unit_update", &bb, _("renamed"));
}

static int unit_set_level(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "unit set-level UNIT [--level LEVEL] [--sector SECTOR]";
	struct unit_args a;
	int ex = parse(argc, argv, usage, N_("Changes a unit's level or sector."), true, &a);
	if (ex >= 0)
		return ex;
	if (!a.level && !a.sector)
		return cli_usage(usage);
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	if (a.level)
		ml_bb_cstr(&bb, "level", a.level);
	if (a.sector)
		ml_bb_cstr(&bb, "sector", a.sector);
	return write_about(cli, &a, "unit_update", &bb, _("changed"));
}

static int unit_move(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "unit move UNIT --to NEW-PARENT";
	struct unit_args a;
	int ex = parse(argc, argv, usage,
	               N_("Hands a unit over to another parent (chuyển giao); the new parent's "
	                  "admin then runs 'unit receive'."),
	               true, &a);
	if (ex >= 0)
		return ex;
	if (!a.to)
		return cli_usage(usage);
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	return write_about(cli, &a, "unit_transfer", &bb, _("handed over"));
}

static int unit_receive(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "unit receive UNIT";
	struct unit_args a;
	int ex =
	    parse(argc, argv, usage,
	          N_("Receives a unit handed over to this device's unit (tiếp nhận)."), true, &a);
	if (ex >= 0)
		return ex;
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	return write_about(cli, &a, "unit_receive", &bb, _("received"));
}

static int unit_merge(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "unit merge UNIT --into UNIT";
	struct unit_args a;
	int ex =
	    parse(argc, argv, usage,
	          N_("Merges a unit into another (sáp nhập); it takes no more writes."), true, &a);
	if (ex >= 0)
		return ex;
	if (!a.into)
		return cli_usage(usage);
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	return write_about(cli, &a, "unit_merge", &bb, _("merged"));
}

static int unit_split(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "unit split UNIT --names NAME,NAME[,...]";
	struct unit_args a;
	int ex = parse(argc, argv, usage,
	               N_("Splits a unit into 2 to 16 new sibling units (chia tách)."), true, &a);
	if (ex >= 0)
		return ex;
	if (!a.names)
		return cli_usage(usage);
	char *copy = strdup(a.names), *save = NULL;
	const char *items[16];
	size_t k = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (k == 16) {
			free(copy);
			return cli_error(_("a unit splits into at most 16 units")), CLI_USAGE;
		}
		items[k++] = t;
	}
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_text_list(&bb, "names", items, k);
	ex = write_about(cli, &a, "unit_split", &bb, _("split"));
	free(copy);
	return ex;
}

static int unit_dissolve(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "unit dissolve UNIT [--reason TEXT]";
	struct unit_args a;
	int ex = parse(
	    argc, argv, usage,
	    N_("Dissolves a unit (giải thể): it takes no more writes; its records stay readable."),
	    true, &a);
	if (ex >= 0)
		return ex;
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	if (a.reason)
		ml_bb_cstr(&bb, "reason", a.reason);
	return write_about(cli, &a, "unit_dissolve", &bb, _("dissolved"));
}

static const char unit_cols[] =
    "SELECT u.id, u.parent, u.name, u.level, u.sector, u.status,"
    " (SELECT count(*) FROM members m WHERE m.unit = u.id),"
    " (SELECT count(*) FROM units c WHERE c.parent = u.id) FROM units u";

static json_t *unit_json(sqlite3_stmt *st)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", cli_json_hex(sqlite3_column_blob(st, 0), 32));
	json_object_set_new(o, "parent",
	                    sqlite3_column_bytes(st, 1) == 32
	                        ? cli_json_hex(sqlite3_column_blob(st, 1), 32)
	                        : json_null());
	json_object_set_new(o, "name", json_string((const char *)sqlite3_column_text(st, 2)));
	json_object_set_new(o, "level", json_string((const char *)sqlite3_column_text(st, 3)));
	const char *sector = (const char *)sqlite3_column_text(st, 4);
	json_object_set_new(o, "sector", sector && *sector ? json_string(sector) : json_null());
	json_object_set_new(o, "status", json_string((const char *)sqlite3_column_text(st, 5)));
	json_object_set_new(o, "members", json_integer(sqlite3_column_int64(st, 6)));
	json_object_set_new(o, "children", json_integer(sqlite3_column_int64(st, 7)));
	return o;
}

/* Prints the subtree of unit (depth-first, by name), indented by depth. */
static int print_tree(struct cli_node *n, const struct ml_hash *unit, int depth, json_t *list)
{
	if (depth > 64)
		return CLI_OK; /* the judge keeps the tree acyclic; this only bounds a damaged store
		                */
	char sql[512];
	snprintf(sql, sizeof sql, "%s WHERE u.id = ?1", unit_cols);
	sqlite3_stmt *st;
	struct ml_buf err = ML_BUF_INIT;
	if (ml_read_prepare(n->s, sql, &st, &err) != ML_OK) {
		cli_error("%s", ml_buf_str(&err));
		ml_buf_release(&err);
		return CLI_ERROR;
	}
	sqlite3_bind_blob(st, 1, unit->b, 32, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (list) {
			json_t *o = unit_json(st);
			json_object_set_new(o, "depth", json_integer(depth));
			json_array_append_new(list, o);
		} else {
			char hex[17];
			const char *status = (const char *)sqlite3_column_text(st, 5);
			printf("%*s%s  [%s%s%s]  %s  %lld %s\n", depth * 2, "",
			       sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
			       strcmp(status, "active") ? ", " : "",
			       strcmp(status, "active") ? status : "", cli_short(unit, hex),
			       (long long)sqlite3_column_int64(st, 6), _("members"));
		}
	}
	sqlite3_finalize(st);
	if (ml_read_prepare(n->s, "SELECT id FROM units WHERE parent = ?1 ORDER BY name, id", &st,
	                    &err) != ML_OK) {
		cli_error("%s", ml_buf_str(&err));
		ml_buf_release(&err);
		return CLI_ERROR;
	}
	sqlite3_bind_blob(st, 1, unit->b, 32, SQLITE_STATIC);
	struct ml_hash *kids = NULL;
	size_t k = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct ml_hash *v = realloc(kids, (k + 1) * sizeof *v);
		if (!v)
			break;
		kids = v;
		memcpy(kids[k++].b, sqlite3_column_blob(st, 0), 32);
	}
	sqlite3_finalize(st);
	int ex = CLI_OK;
	for (size_t i = 0; i < k && ex == CLI_OK; i++)
		ex = print_tree(n, &kids[i], depth + 1, list);
	free(kids);
	return ex;
}

static int unit_list(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "unit list [--under UNIT]";
	struct unit_args a;
	int ex = parse(argc, argv, usage,
	               N_("Prints the organisation tree (below UNIT, or all of it)."), false, &a);
	if (ex >= 0)
		return ex;
	struct cli_node n;
	if (cli_node_open(cli, NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash top = n.net;
	ex = a.under ? cli_unit_find(&n, a.under, &top) : CLI_OK;
	json_t *list = cli->json ? json_array() : NULL;
	if (ex == CLI_OK)
		ex = print_tree(&n, &top, 0, list);
	if (list) {
		if (ex == CLI_OK)
			ex = cli_print_json(json_pack("{s:i, s:o}", "version", 1, "units", list));
		else
			json_decref(list);
	}
	cli_node_close(&n);
	return ex;
}

static int unit_show(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "unit show UNIT";
	struct unit_args a;
	int ex = parse(argc, argv, usage,
	               N_("Prints one unit: its place in the tree, devices and number ranges."),
	               true, &a);
	if (ex >= 0)
		return ex;
	struct cli_node n;
	if (cli_node_open(cli, NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash unit;
	ex = cli_unit_find(&n, a.unit, &unit);
	char sql[512];
	snprintf(sql, sizeof sql, "%s WHERE u.id = ?1", unit_cols);
	sqlite3_stmt *st = NULL;
	json_t *o = NULL;
	if (ex == CLI_OK && ml_read_prepare(n.s, sql, &st, NULL) == ML_OK) {
		sqlite3_bind_blob(st, 1, unit.b, 32, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			o = unit_json(st);
		sqlite3_finalize(st);
	}
	if (ex == CLI_OK && !o)
		ex = cli_error(_("cannot read unit '%s'"), a.unit);
	json_t *grants = json_array(), *ranges = json_array();
	if (ex == CLI_OK &&
	    ml_read_prepare(n.s,
	                    "SELECT device, role FROM grants WHERE unit = ?1 ORDER BY role, device",
	                    &st, NULL) == ML_OK) {
		sqlite3_bind_blob(st, 1, unit.b, 32, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(
			    grants,
			    json_pack("{s:o, s:s}", "device",
			              cli_json_hex(sqlite3_column_blob(st, 0), 32), "role",
			              ml_role_name((enum ml_role)sqlite3_column_int(st, 1))));
		sqlite3_finalize(st);
	}
	if (ex == CLI_OK &&
	    ml_read_prepare(n.s, "SELECT start, count FROM ranges WHERE unit = ?1 ORDER BY start",
	                    &st, NULL) == ML_OK) {
		sqlite3_bind_blob(st, 1, unit.b, 32, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char first[13], last[13];
			uint64_t s0 = (uint64_t)sqlite3_column_int64(st, 0),
			         c = (uint64_t)sqlite3_column_int64(st, 1);
			ml_number_format(s0, first);
			ml_number_format(s0 + c - 1, last);
			json_array_append_new(ranges,
			                      json_pack("{s:s, s:s, s:I}", "first", first, "last",
			                                last, "count", (json_int_t)c));
		}
		sqlite3_finalize(st);
	}
	if (ex == CLI_OK) {
		json_object_set_new(o, "grants", grants);
		json_object_set_new(o, "number_ranges", ranges);
		grants = ranges = NULL;
		if (cli->json) {
			json_object_set_new(o, "version", json_integer(1));
			ex = cli_print_json(o);
			o = NULL;
		} else {
			char parent[256] = "-";
			json_t *p = json_object_get(o, "parent");
			struct ml_hash ph;
			if (json_is_string(p) &&
			    ml_hex_decode(json_string_value(p), ph.b, 32) == ML_OK)
				cli_unit_name(&n, &ph, parent, sizeof parent);
			printf(_("unit     %s\nid       %s\nparent   %s\nlevel    %s\nsector   "
			         "%s\nstatus   %s\nmembers  %lld\n"),
			       json_string_value(json_object_get(o, "name")),
			       json_string_value(json_object_get(o, "id")), parent,
			       json_string_value(json_object_get(o, "level")),
			       json_is_string(json_object_get(o, "sector"))
			           ? json_string_value(json_object_get(o, "sector"))
			           : "-",
			       json_string_value(json_object_get(o, "status")),
			       (long long)json_integer_value(json_object_get(o, "members")));
			size_t i;
			json_t *v;
			json_array_foreach(json_object_get(o, "grants"), i, v)
			    printf(_("device   %.16s  %s\n"),
			           json_string_value(json_object_get(v, "device")),
			           json_string_value(json_object_get(v, "role")));
			json_array_foreach(json_object_get(o, "number_ranges"), i, v)
			    printf(_("numbers  %s .. %s (%lld)\n"),
			           json_string_value(json_object_get(v, "first")),
			           json_string_value(json_object_get(v, "last")),
			           (long long)json_integer_value(json_object_get(v, "count")));
		}
	}
	json_decref(o);
	json_decref(grants);
	json_decref(ranges);
	cli_node_close(&n);
	return ex;
}

int cmd_unit(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
	    {"create", unit_create, N_("create a unit under a parent")},
	    {"list", unit_list, N_("print the organisation tree")},
	    {"show", unit_show, N_("print one unit, its devices and number ranges")},
	    {"rename", unit_rename, N_("rename a unit")},
	    {"set-level", unit_set_level, N_("change a unit's level or sector")},
	    {"move", unit_move, N_("hand a unit over to another parent")},
	    {"receive", unit_receive, N_("receive a unit handed over to you")},
	    {"merge", unit_merge, N_("merge a unit into another")},
	    {"split", unit_split, N_("split a unit into new units")},
	    {"dissolve", unit_dissolve, N_("dissolve a unit")},
	};
	return cli_dispatch(cli, argc, argv, verbs, sizeof verbs / sizeof verbs[0]);
}

static int numbers_delegate(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "numbers delegate --unit CHILD --count N";
	struct unit_args a;
	int ex = parse(argc, argv, usage,
	               N_("Delegates N member numbers from the parent's free numbers to a child "
	                  "unit, whose approvers assign them."),
	               false, &a);
	if (ex >= 0)
		return ex;
	if (!a.unit || !a.count)
		return cli_usage(usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash child, parent, id;
	ex = cli_unit_find(&n, a.unit, &child);
	sqlite3_stmt *st;
	if (ex == CLI_OK &&
	    ml_read_prepare(n.s, "SELECT parent FROM units WHERE id = ?1", &st, NULL) == ML_OK) {
		sqlite3_bind_blob(st, 1, child.b, 32, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != 32)
			ex = cli_error(_("unit '%s' has no parent to delegate from"), a.unit);
		else
			memcpy(parent.b, sqlite3_column_blob(st, 0), 32);
		sqlite3_finalize(st);
	}
	struct ml_range r;
	struct ml_buf err = ML_BUF_INIT;
	if (ex == CLI_OK && ml_numbers_block(n.s, &parent, a.count, &r, &err) != ML_OK)
		ex = cli_error("%s", ml_buf_str(&err));
	if (ex == CLI_OK) {
		struct ml_body_builder bb;
		ml_bb_init(&bb);
		ml_bb_hash(&bb, "to", &child);
		ml_bb_uint(&bb, "start", r.start);
		ml_bb_uint(&bb, "count", r.count);
		ex = cli_write_one(&n, &parent, "numbers_delegate", &bb, &id);
	}
	if (ex == CLI_OK) {
		char first[13], last[13], name[256];
		ml_number_format(r.start, first);
		ml_number_format(r.start + r.count - 1, last);
		cli_unit_name(&n, &child, name, sizeof name);
		if (cli->json)
			cli_print_json(json_pack("{s:i, s:s, s:s, s:I}", "version", 1, "first",
			                         first, "last", last, "count",
			                         (json_int_t)r.count));
		else
			printf(_("delegated %llu member numbers to %s: %s .. %s\n"), a.count, name,
			       first, last);
	}
	ml_buf_release(&err);
	cli_node_close(&n);
	return ex;
}

int cmd_numbers(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
	    {"delegate", numbers_delegate,
	     N_("delegate a range of member numbers to a child unit")},
	};
	return cli_dispatch(cli, argc, argv, verbs, sizeof verbs / sizeof verbs[0]);
}
