/*
 * cmd_member.c - the member register's workflow: `member add|edit|position|
 * submit|approve|reject|transfer|receive|reduce|card`, the youth-union
 * operations, and `member show|list|search|history`.
 *
 * A change (add, edit, position, reduce, transfer, ...) is a draft until the
 * parent level approves it (requirements §10 decision 9): the officer
 * submits, the approver approves or rejects exactly the changes it saw.
 * Approvals of records never approved assign the member number from the
 * approver's unit's ranges.
 */
#include "node.h"
#include "record.h"

#include "i18n.h"

#include "crdt/alloc.h"
#include "crdt/body.h"
#include "crdt/err.h"
#include "crdt/fields.h"
#include "crdt/limits.h"
#include "crdt/member.h"
#include "crdt/number.h"
#include "node/numbers.h"
#include "node/photo.h"
#include "node/query.h"
#include "node/read.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* --- options ------------------------------------------------------------------ */

/* How an option's value goes into a body. */
enum kind { K_TEXT, K_BOOL, K_LIST, K_UINT, K_UNIT, K_PHOTO };

struct opt_spec {
	const char *opt;   /* the long option */
	const char *field; /* the body field; "join_date" follows the organisation */
	enum kind kind;
};

/* Every option of the member verbs; each verb lists which it accepts. */
static const struct opt_spec specs[] = {
    {"name", "full_name", K_TEXT},
    {"dob", "dob", K_TEXT},
    {"gender", "gender", K_TEXT},
    {"hometown", "hometown", K_TEXT},
    {"id-number", "id_number", K_TEXT},
    {"phone", "phone", K_TEXT},
    {"positions", "positions", K_LIST},
    {"full-time-cadre", "is_full_time_cadre", K_BOOL},
    {"participates", "participates", K_BOOL},
    {"pays-dues", "pays_dues", K_BOOL},
    {"join-date", "join_date", K_TEXT},
    {"photo", "photo", K_PHOTO},
    {"origin", "origin", K_TEXT},
    {"reason", "reason", K_TEXT},
    {"date", "date", K_TEXT},
    {"note", "note", K_TEXT},
    {"to", "to", K_UNIT},
    {"type", "card", K_TEXT},
    {"year", "year", K_UINT},
    {"stage", "stage", K_TEXT},
    {"programme", "programme", K_TEXT},
    {"place", "place", K_TEXT},
};
#define N_SPECS (sizeof specs / sizeof specs[0])

/* Options that select members rather than fill a body. */
enum { O_UNIT = 1000, O_ALL, O_STATE, O_STATUS, O_LIMIT, O_HELP };

struct args {
	const char *val[N_SPECS];
	const char *unit, *state, *status;
	bool all;
	long limit;
	char **operands;
	int n_operands;
};

/* Parses argv; fields lists the spec options the verb accepts (NULL-terminated). */
static int parse(int argc, char **argv, const char *usage, const char *help,
                 const char *const *fields, struct args *a)
{
	struct option opts[N_SPECS + 8];
	size_t k = 0;
	for (size_t i = 0; i < N_SPECS; i++)
		for (size_t f = 0; fields && fields[f]; f++)
			if (strcmp(fields[f], specs[i].opt) == 0)
				opts[k++] =
				    (struct option){specs[i].opt, required_argument, NULL, (int)i};
	opts[k++] = (struct option){"unit", required_argument, NULL, O_UNIT};
	opts[k++] = (struct option){"all", no_argument, NULL, O_ALL};
	opts[k++] = (struct option){"state", required_argument, NULL, O_STATE};
	opts[k++] = (struct option){"status", required_argument, NULL, O_STATUS};
	opts[k++] = (struct option){"limit", required_argument, NULL, O_LIMIT};
	opts[k++] = (struct option){"help", no_argument, NULL, O_HELP};
	opts[k] = (struct option){0};
	memset(a, 0, sizeof *a);
	a->limit = 10000;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c >= 0 && c < (int)N_SPECS) {
			a->val[c] = optarg;
		} else if (c == O_UNIT) {
			a->unit = optarg;
		} else if (c == O_ALL) {
			a->all = true;
		} else if (c == O_STATE) {
			a->state = optarg;
		} else if (c == O_STATUS) {
			a->status = optarg;
		} else if (c == O_LIMIT) {
			a->limit = strtol(optarg, NULL, 10);
			if (a->limit < 1)
				return cli_error(_("--limit takes a positive number")), CLI_USAGE;
		} else if (c == O_HELP || c == 'h') {
			printf("usage: memberlog %s\n\n%s\n", usage, _(help));
			return CLI_OK;
		} else {
			return cli_usage(usage);
		}
	}
	a->operands = argv + optind;
	a->n_operands = argc - optind;
	return -1;
}

static const char *arg(const struct args *a, const char *opt)
{
	for (size_t i = 0; i < N_SPECS; i++)
		if (strcmp(specs[i].opt, opt) == 0)
			return a->val[i];
	return NULL;
}

/* "yes"/"no" (and có/không, true/false, 1/0) into *v; false when it is none of them. */
static bool parse_bool(const char *s, bool *v)
{
	static const char *const yes[] = {"yes", "true", "1", "có", "x", NULL};
	static const char *const no[] = {"no", "false", "0", "không", NULL};
	if (ml_enum_index(yes, s, strlen(s)) >= 0)
		return *v = true, true;
	if (ml_enum_index(no, s, strlen(s)) >= 0)
		return *v = false, true;
	return false;
}

/* Stores the photo at path as a blob in HOME/blobs/<hash> and sets *id; CLI_OK or CLI_ERROR. */
static int store_photo(struct cli_node *n, const char *path, struct ml_hash *id)
{
	struct ml_buf data = ML_BUF_INIT, err = ML_BUF_INIT, dir = ML_BUF_INIT;
	int ex = CLI_OK, rc;
	if (cli_read_file(path, &data, &err) != ML_OK)
		ex = cli_error("%s", ml_buf_str(&err));
	else if ((rc = ml_photo_check(data.data, data.len, NULL)) == ML_EINVAL)
		ex = cli_error(_("'%s' is not a JPEG or PNG photo"), path);
	else if (rc != ML_OK)
		ex = cli_error(_("photo '%s' is %zu bytes; the limit is 1 MB (1,048,576 bytes): "
		                 "make it smaller"),
		               path, data.len);
	if (ex == CLI_OK) {
		cli_home_path(n->cli, "blobs", &dir);
		if (ml_photo_put(ml_buf_str(&dir), data.data, data.len, id, &err) != ML_OK)
			ex = cli_error("%s", ml_buf_str(&err));
	}
	ml_buf_release(&data);
	ml_buf_release(&err);
	ml_buf_release(&dir);
	return ex;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds every body option given in a to bb; CLI_OK, CLI_USAGE or CLI_ERROR after printing. */
static int add_fields(struct cli_node *n, const struct args *a, struct ml_body_builder *bb)
{
	for (size_t i = 0; i < N_SPECS; i++) {
		const char *v = a->val[i];
		if (!v)
			continue;
		const char *field = specs[i].field;
		if (strcmp(field, "join_date") == 0)
			field =
			    n->org == ML_ORG_YOUTH_UNION ? "youth_join_date" : "union_join_date";
		switch (specs[i].kind) {
		case K_TEXT:
			ml_bb_cstr(bb, field, v);
			break;
		case K_BOOL: {
			bool b;
			if (!parse_bool(v, &b))
				return cli_error(_("--%s takes yes or no, not '%s'"), specs[i].opt,
				                 v),
				       CLI_USAGE;
			ml_bb_bool(bb, field, b);
			break;
		}
		case K_UINT: {
			char *end;
			unsigned long long u = strtoull(v, &end, 10);
			if (*end || !*v)
				return cli_error(_("--%s takes a number, not '%s'"), specs[i].opt,
				                 v),
				       CLI_USAGE;
			ml_bb_uint(bb, field, u);
			break;
		}
		case K_LIST: {
			/* "chair,exec_committee_member"; "" clears the list */
			char *copy = strdup(v), *save = NULL;
			const char *items[16];
			size_t k = 0;
			for (char *t = strtok_r(copy, ", ", &save); t && k < 16;
			     t = strtok_r(NULL, ", ", &save)) {
				if (ml_enum_index(ml_positions, t, strlen(t)) < 0) {
					fprintf(stderr,
					        _("error: unknown position '%s'; positions are:"),
					        t);
					for (int p = 0; ml_positions[p]; p++)
						fprintf(stderr, " %s", ml_positions[p]);
					fputc('\n', stderr);
					free(copy);
					return CLI_USAGE;
				}
				items[k++] = t;
			}
			/* a canonical list is sorted, each value once */
			qsort(items, k, sizeof *items, cmp_str);
			size_t u = 0;
			for (size_t i2 = 0; i2 < k; i2++)
				if (u == 0 || strcmp(items[u - 1], items[i2]) != 0)
					items[u++] = items[i2];
			ml_bb_text_list(bb, field, items, u);
			free(copy);
			break;
		}
		case K_UNIT: {
			struct ml_hash u;
			if (cli_unit_find(n, v, &u) != CLI_OK)
				return CLI_ERROR;
			ml_bb_hash(bb, field, &u);
			break;
		}
		case K_PHOTO: {
			struct ml_hash h;
			if (store_photo(n, v, &h) != CLI_OK)
				return CLI_ERROR;
			ml_bb_hash(bb, field, &h);
			break;
		}
		}
	}
	return CLI_OK;
}

/* --- reading members ---------------------------------------------------------- */

struct member_row {
	struct ml_hash id, unit;
	char state[16], number[13], name[256];
	bool has_number;
};

/* Reads the query columns of member id; CLI_OK or CLI_ERROR. */
static int member_row(struct cli_node *n, const struct ml_hash *id, struct member_row *r)
{
	sqlite3_stmt *st;
	memset(r, 0, sizeof *r);
	r->id = *id;
	if (ml_read_prepare(n->s,
	                    "SELECT unit, state, number, full_name FROM members"
	                    " WHERE rid = member_rid(?1)",
	                    &st, NULL) != ML_OK)
		return cli_error(_("cannot read the register"));
	sqlite3_bind_blob(st, 1, id->b, 32, SQLITE_STATIC);
	int ex = CLI_ERROR;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
		memcpy(r->unit.b, sqlite3_column_blob(st, 0), 32);
		snprintf(r->state, sizeof r->state, "%s", sqlite3_column_text(st, 1));
		r->has_number = sqlite3_column_type(st, 2) == SQLITE_TEXT;
		if (r->has_number)
			snprintf(r->number, sizeof r->number, "%s", sqlite3_column_text(st, 2));
		snprintf(r->name, sizeof r->name, "%s",
		         sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3)
		                                    : "");
		ex = CLI_OK;
	} else {
		char s[17];
		cli_error(_("member %s is not in this node's register"), cli_short(id, s));
	}
	sqlite3_finalize(st);
	return ex;
}

/* The members a decision verb is about: its operands, or with --all every member of --unit with
 * changes. */
static int targets(struct cli_node *n, const struct args *a, struct ml_hash **out, size_t *k)
{
	*out = NULL;
	*k = 0;
	if (a->all) {
		struct ml_hash unit;
		if (!a->unit)
			return cli_error(_("--all needs --unit UNIT")), CLI_USAGE;
		if (cli_unit_find(n, a->unit, &unit) != CLI_OK)
			return CLI_ERROR;
		sqlite3_stmt *st;
		if (ml_read_prepare(n->s,
		                    "SELECT id FROM members WHERE unit = ?1 AND (pending > 0 OR "
		                    "state = 'returned')"
		                    " ORDER BY rid",
		                    &st, NULL) != ML_OK)
			return cli_error(_("cannot read the register"));
		sqlite3_bind_blob(st, 1, unit.b, 32, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct ml_hash *v = realloc(*out, (*k + 1) * sizeof *v);
			if (!v)
				break;
			*out = v;
			memcpy((*out)[(*k)++].b, sqlite3_column_blob(st, 0), 32);
		}
		sqlite3_finalize(st);
		return CLI_OK;
	}
	if (a->n_operands == 0)
		return CLI_USAGE;
	*out = calloc((size_t)a->n_operands, sizeof **out);
	if (!*out)
		return cli_error(_("out of memory"));
	for (int i = 0; i < a->n_operands; i++)
		if (cli_member_find(n, a->operands[i], &(*out)[(*k)++]) != CLI_OK)
			return CLI_ERROR;
	return CLI_OK;
}

/* --- writing changes ------------------------------------------------------------ */

/* Writes one change or decision of type about member (its managing unit's feed). */
static int write_about(struct cli_node *n, const struct ml_hash *member, const char *type,
                       struct ml_body_builder *bb, const struct ml_hash *feed_unit,
                       struct ml_hash *id)
{
	struct member_row r;
	if (member_row(n, member, &r) != CLI_OK) {
		ml_bb_release(bb);
		return CLI_ERROR;
	}
	ml_bb_hash(bb, "member", member);
	return cli_write_one(n, feed_unit ? feed_unit : &r.unit, type, bb, id);
}

static void print_done(struct cli *cli, const struct ml_hash *op, const struct ml_hash *member,
                       const char *what)
{
	char hex[65], mhex[65];
	ml_hex_encode(op->b, 32, hex);
	ml_hex_encode(member->b, 32, mhex);
	if (cli->json)
		cli_print_json(
		    json_pack("{s:i, s:s, s:s}", "version", 1, "op", hex, "member", mhex));
	else
		printf("%s: %.16s\n", what, mhex);
}

static const char *const data_opts[] = {"name",         "dob",       "gender",    "hometown",
                                        "id-number",    "phone",     "positions", "full-time-cadre",
                                        "participates", "pays-dues", "join-date", "photo",
                                        "origin",       NULL};

static int member_add(struct cli *cli, int argc, char **argv)
{
	static const char usage[] =
	    "member add --unit UNIT --name NAME --id-number ID --join-date dd/MM/yyyy [--dob "
	    "dd/MM/yyyy] [--gender male|female] [--hometown TEXT] [--phone PHONE] [--positions "
	    "LIST] [--full-time-cadre yes|no] [--participates yes|no] [--pays-dues yes|no] "
	    "[--photo "
	    "FILE]";
	struct args a;
	int ex = parse(argc, argv, usage,
	               N_("Enters a new member as a draft in UNIT. Submit it with 'memberlog "
	                  "member submit' for the unit above to approve."),
	               data_opts, &a);
	if (ex >= 0)
		return ex;
	if (!a.unit || a.n_operands)
		return cli_usage(usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash unit, id;
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ex = cli_unit_find(&n, a.unit, &unit);
	if (ex == CLI_OK)
		ex = add_fields(&n, &a, &bb);
	if (ex == CLI_OK)
		ex = cli_write_one(
		    &n, &unit, n.org == ML_ORG_YOUTH_UNION ? "youth_admission" : "member_create",
		    &bb, &id);
	else
		ml_bb_release(&bb);
	if (ex == CLI_OK) {
		char hex[65];
		ml_hex_encode(id.b, 32, hex);
		if (cli->json)
			cli_print_json(json_pack("{s:i, s:s, s:s}", "version", 1, "member", hex,
			                         "state", "draft"));
		else
			printf(_("entered %s as a draft\nmember id: %s\n"), arg(&a, "name"), hex);
	}
	cli_node_close(&n);
	return ex;
}

/* The verbs that write one change about one member: type, options, help. */
struct change_verb {
	const char *verb, *type, *usage, *help, *done;
	const char *const *opts;
	bool youth; /* only in a youth union network */
};

static const char *const edit_opts[] = {"name",      "dob",       "gender",          "hometown",
                                        "id-number", "phone",     "full-time-cadre", "participates",
                                        "pays-dues", "join-date", "photo",           NULL};

static const struct change_verb change_verbs[] = {
    {"edit", "member_update", "member edit MEMBER [--name ...] [--dob ...] [...]",
     N_("Changes fields of a member's record; the change is a draft until approved."),
     N_("edited (draft until approved)"), edit_opts, false},
    {"position", "member_position", "member position MEMBER --positions LIST",
     N_("Changes a member's union positions (comma-separated: chair, vice_chair, "
        "exec_committee_member, group_leader, group_deputy, member_base_union_officer, "
        "inspection_committee_member; \"\" for none)."),
     N_("position change recorded (draft until approved)"),
     (const char *const[]){"positions", NULL}, false},
    {"reduce", "member_reduce",
     "member reduce MEMBER --reason left_job|quit|age_out|death|expelled|moved_away|other --date "
     "dd/MM/yyyy [--note TEXT]",
     N_("Reports a reduction (báo giảm); the member stays counted until it is approved."),
     N_("reduction recorded (draft until approved)"),
     (const char *const[]){"reason", "date", "note", NULL}, false},
    {"transfer", "member_transfer", "member transfer MEMBER --to UNIT [--date dd/MM/yyyy]",
     N_("Transfers a member out to another unit (chuyển đi); once approved, the destination "
        "runs 'member receive'."),
     N_("transfer recorded (draft until approved)"), (const char *const[]){"to", "date", NULL},
     false},
    {"card", "member_card_request", "member card MEMBER --type ordinary|linked",
     N_("Requests a member card (ordinary, or linked to a bank account)."),
     N_("card request recorded (draft until approved)"), (const char *const[]){"type", NULL},
     false},
    {"age-out", "youth_age_out", "member age-out MEMBER --date dd/MM/yyyy",
     N_("Records a youth-union member maturing out of the union (trưởng thành đoàn)."),
     N_("recorded (draft until approved)"), (const char *const[]){"date", NULL}, true},
    {"outstanding", "youth_outstanding", "member outstanding MEMBER --year YYYY",
     N_("Records outstanding-member recognition (đoàn viên ưu tú) for a year."),
     N_("recorded (draft until approved)"), (const char *const[]){"year", NULL}, true},
    {"party", "youth_party_development",
     "member party MEMBER --stage referred|trained|admitted --date dd/MM/yyyy",
     N_("Records a step of Party membership development (bồi dưỡng phát triển Đảng)."),
     N_("recorded (draft until approved)"), (const char *const[]){"stage", "date", NULL}, true},
    {"training", "youth_training_registration",
     "member training MEMBER --programme NAME --year YYYY",
     N_("Registers a member for the training programme (Chương trình Rèn luyện đoàn viên)."),
     N_("recorded (draft until approved)"), (const char *const[]){"programme", "year", NULL}, true},
    {"residence", "youth_residence_activity",
     "member residence MEMBER --place PLACE --date dd/MM/yyyy",
     N_("Records residence-based activity (hoạt động tại nơi cư trú)."),
     N_("recorded (draft until approved)"), (const char *const[]){"place", "date", NULL}, true},
};

static int change(struct cli *cli, int argc, char **argv, const struct change_verb *v)
{
	struct args a;
	int ex = parse(argc, argv, v->usage, v->help, v->opts, &a);
	if (ex >= 0)
		return ex;
	if (a.n_operands != 1)
		return cli_usage(v->usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	if (v->youth != (n.org == ML_ORG_YOUTH_UNION)) {
		cli_node_close(&n);
		return cli_error(_("'member %s' is for %s networks; this one is a %s"), v->verb,
		                 v->youth ? "youth_union" : "trade_union", ml_orgs[n.org]);
	}
	struct ml_hash member, id;
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ex = cli_member_find(&n, a.operands[0], &member);
	if (ex == CLI_OK)
		ex = add_fields(&n, &a, &bb);
	if (ex == CLI_OK)
		ex = write_about(&n, &member, v->type, &bb, NULL, &id);
	else
		ml_bb_release(&bb);
	if (ex == CLI_OK)
		print_done(cli, &id, &member, _(v->done));
	cli_node_close(&n);
	return ex;
}

/* member receive: the destination's officer takes in a member transferred to it. */
static int member_receive(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "member receive MEMBER";
	struct args a;
	int ex = parse(argc, argv, usage,
	               N_("Receives a member whose transfer to your unit was approved (chuyển "
	                  "đến)."),
	               NULL, &a);
	if (ex >= 0)
		return ex;
	if (a.n_operands != 1)
		return cli_usage(usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash member, transfer, to, id;
	ex = cli_member_find(&n, a.operands[0], &member);
	/* the member's latest transfer out, and where it goes */
	sqlite3_stmt *st;
	bool found = false;
	if (ex == CLI_OK &&
	    ml_read_prepare(n.s, "SELECT official FROM members WHERE rid = member_rid(?1)", &st,
	                    NULL) == ML_OK) {
		sqlite3_bind_blob(st, 1, member.b, 32, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			json_t *o = cli_record_json(sqlite3_column_blob(st, 0),
			                            (size_t)sqlite3_column_bytes(st, 0));
			found = strcmp(cli_jstr(o, "status"), "transferring") == 0 &&
			        ml_hex_decode(cli_jstr(o, "unit"), to.b, 32) == ML_OK;
			json_decref(o);
		}
		sqlite3_finalize(st);
	}
	if (ex == CLI_OK && found) {
		found = false;
		int64_t *keys = NULL;
		size_t nk = 0;
		sqlite3_stmt *op;
		if (ml_read_member_ops(n.s, &member, &keys, &nk, NULL) == ML_OK &&
		    ml_read_prepare(n.s, "SELECT id, eval FROM ops WHERE key = ?1 AND type = ?2",
		                    &op, NULL) == ML_OK) {
			int64_t best = -1;
			for (size_t i = 0; i < nk; i++) {
				sqlite3_bind_int64(op, 1, keys[i]);
				sqlite3_bind_int(op, 2, ML_OT_MEMBER_TRANSFER);
				if (sqlite3_step(op) == SQLITE_ROW &&
				    sqlite3_column_int64(op, 1) > best) {
					best = sqlite3_column_int64(op, 1);
					memcpy(transfer.b, sqlite3_column_blob(op, 0), 32);
					found = true;
				}
				sqlite3_reset(op);
			}
			sqlite3_finalize(op);
		}
		ml_free(keys);
	}
	if (ex == CLI_OK && !found)
		ex = cli_error(_("member %s has no approved transfer to receive"), a.operands[0]);
	if (ex == CLI_OK) {
		struct ml_body_builder bb;
		ml_bb_init(&bb);
		ml_bb_hash(&bb, "transfer", &transfer);
		ex = write_about(&n, &member, "member_receive", &bb, &to, &id);
	}
	if (ex == CLI_OK)
		print_done(cli, &id, &member, _("received (draft until approved)"));
	cli_node_close(&n);
	return ex;
}

/* --- decisions ------------------------------------------------------------------ */

/* The nearest strict ancestor of unit where this device is an approver; false if none. */
static bool approver_unit(struct cli_node *n, const struct ml_hash *unit, struct ml_hash *out)
{
	sqlite3_stmt *parent, *grant;
	if (ml_read_prepare(n->s, "SELECT parent FROM units WHERE id = ?1", &parent, NULL) != ML_OK)
		return false;
	if (ml_read_prepare(n->s,
	                    "SELECT 1 FROM grants WHERE device = ?1 AND unit = ?2 AND role = ?3",
	                    &grant, NULL) != ML_OK) {
		sqlite3_finalize(parent);
		return false;
	}
	struct ml_hash at = *unit;
	bool found = false;
	for (int depth = 0; depth < 64 && !found; depth++) {
		sqlite3_bind_blob(parent, 1, at.b, 32, SQLITE_TRANSIENT);
		bool up =
		    sqlite3_step(parent) == SQLITE_ROW && sqlite3_column_bytes(parent, 0) == 32;
		if (up)
			memcpy(at.b, sqlite3_column_blob(parent, 0), 32);
		sqlite3_reset(parent);
		if (!up)
			break;
		sqlite3_bind_blob(grant, 1, n->key->pk.b, 32, SQLITE_STATIC);
		sqlite3_bind_blob(grant, 2, at.b, 32, SQLITE_TRANSIENT);
		sqlite3_bind_int(grant, 3, ML_ROLE_APPROVER);
		found = sqlite3_step(grant) == SQLITE_ROW;
		sqlite3_reset(grant);
	}
	sqlite3_finalize(parent);
	sqlite3_finalize(grant);
	if (found)
		*out = at;
	return found;
}

struct decision {
	struct ml_hash member, unit, op;
	struct ml_buf body;
	char name[256], number[13];
	size_t changes;
};

static int cmp_decision(const void *x, const void *y)
{
	const struct decision *a = x, *b = y;
	return memcmp(a->unit.b, b->unit.b, 32);
}

/* submit, approve, reject: one op per member, batched per unit. */
static int decide(struct cli *cli, int argc, char **argv, const char *type)
{
	bool approve = strcmp(type, "member_approve") == 0;
	bool reject = strcmp(type, "member_reject") == 0;
	const char *usage = approve  ? "member approve MEMBER... | --unit UNIT --all"
	                    : reject ? "member reject MEMBER... --reason TEXT"
	                             : "member submit MEMBER... | --unit UNIT --all";
	const char *help =
	    approve ? N_("Approves the submitted changes of members of units below yours; a record "
	                 "approved for the first time gets its member number.")
	    : reject
	        ? N_("Rejects the submitted changes of members; the record returns to its unit "
	             "with the reason, to be fixed and submitted again.")
	        : N_("Asks the unit above to approve the members' draft changes.");
	struct args a;
	int ex = parse(argc, argv, usage, help,
	               reject ? (const char *const[]){"reason", NULL} : NULL, &a);
	if (ex >= 0)
		return ex;
	if (reject && !arg(&a, "reason"))
		return cli_usage(usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash *ids = NULL;
	size_t k = 0;
	ex = targets(&n, &a, &ids, &k);
	if (ex == CLI_USAGE)
		cli_usage(usage);
	struct decision *d = calloc(k ? k : 1, sizeof *d);
	size_t nd = 0, need_numbers = 0;
	struct ml_buf err = ML_BUF_INIT;
	for (size_t i = 0; i < k && ex == CLI_OK; i++) {
		struct member_row r;
		if (member_row(&n, &ids[i], &r) != CLI_OK) {
			ex = CLI_ERROR;
			break;
		}
		struct ml_hash changes[ML_MEMBER_MAX_ENTRIES < 256 ? ML_MEMBER_MAX_ENTRIES : 256];
		size_t nc = 0;
		bool numbered;
		if (ml_query_member_changes(
		        n.s, &ids[i],
		        approve || reject ? ML_CHANGES_SUBMITTED : ML_CHANGES_TO_SUBMIT, changes,
		        sizeof changes / sizeof changes[0], &nc, &numbered, &err) != ML_OK) {
			ex = cli_error("%s", ml_buf_str(&err));
			break;
		}
		if (nc == 0) {
			if (a.all)
				continue;
			ex = cli_error(approve || reject
			                   ? _("%s (%s) has no submitted change to decide")
			                   : _("%s (%s) has no draft change to submit"),
			               r.name, a.operands[i]);
			break;
		}
		struct decision *x = &d[nd++];
		x->member = ids[i];
		x->unit = r.unit;
		x->changes = nc;
		snprintf(x->name, sizeof x->name, "%s", r.name);
		bool covers_create = false;
		for (size_t c = 0; c < nc; c++)
			covers_create |= ml_hash_eq(&changes[c], &ids[i]);
		if (approve && covers_create && !numbered) {
			x->number[0] = '?'; /* assigned below */
			need_numbers++;
		}
		struct ml_body_builder bb;
		ml_bb_init(&bb);
		ml_bb_hash(&bb, "member", &ids[i]);
		ml_bb_bytes(&bb, "changes", changes, nc * sizeof changes[0]);
		if (reject)
			ml_bb_cstr(&bb, "reason", arg(&a, "reason"));
		if (x->number[0] != '?' && ml_bb_finish(&bb, &x->body) != ML_OK)
			ex = cli_error(_("out of memory"));
		if (x->number[0] == '?')
			ml_bb_finish(&bb, &x->body); /* without the number; rebuilt below */
		ml_bb_release(&bb);
	}
	/* Numbers come from the approver's unit: the nearest above each member. */
	if (ex == CLI_OK && need_numbers) {
		uint64_t *serials = calloc(need_numbers, sizeof *serials);
		struct ml_hash where;
		size_t next = 0;
		if (!approver_unit(&n, &d[0].unit, &where))
			ex = cli_error(
			    _("this device is not an approver above '%s'; approvals come from "
			      "the unit above"),
			    d[0].name);
		else if (ml_numbers_pick(n.s, &where, serials, need_numbers, &err) != ML_OK)
			ex = cli_error("%s", ml_buf_str(&err));
		for (size_t i = 0; i < nd && ex == CLI_OK; i++) {
			if (d[i].number[0] != '?')
				continue;
			ml_number_format(serials[next++], d[i].number);
			struct ml_body_builder bb;
			ml_bb_init(&bb);
			struct ml_body b;
			ml_body_parse(&b, d[i].body.data, d[i].body.len, NULL);
			for (size_t f = 0; f < b.n; f++) {
				char key[32];
				snprintf(key, sizeof key, "%.*s", (int)b.f[f].klen, b.f[f].key);
				ml_bb_raw(&bb, key, b.f[f].val, b.f[f].vlen);
			}
			ml_bb_cstr(&bb, "number", d[i].number);
			ml_buf_reset(&d[i].body);
			if (ml_bb_finish(&bb, &d[i].body) != ML_OK)
				ex = cli_error(_("out of memory"));
			ml_bb_release(&bb);
		}
		free(serials);
	}
	/* One batch per unit (a feed is per unit), at most ML_BATCH_MAX ops each. */
	qsort(d, nd, sizeof *d, cmp_decision);
	for (size_t i = 0; i < nd && ex == CLI_OK;) {
		size_t j = i;
		while (j < nd && j - i < ML_BATCH_MAX && ml_hash_eq(&d[j].unit, &d[i].unit))
			j++;
		struct ml_draft *drafts = calloc(j - i, sizeof *drafts);
		struct ml_hash *ops = calloc(j - i, sizeof *ops);
		for (size_t x = i; x < j && drafts; x++)
			drafts[x - i] = (struct ml_draft){type, d[x].body.data, d[x].body.len};
		ex = drafts && ops ? cli_write(&n, &d[i].unit, ML_LANE_REG, drafts, j - i, ops)
		                   : cli_error(_("out of memory"));
		for (size_t x = i; x < j && ex == CLI_OK; x++)
			d[x].op = ops[x - i];
		free(drafts);
		free(ops);
		i = j;
	}
	if (ex == CLI_OK) {
		const char *verb = approve  ? _("approved")
		                   : reject ? _("rejected")
		                            : _("submitted");
		json_t *list = json_array();
		for (size_t i = 0; i < nd; i++) {
			char mhex[65];
			ml_hex_encode(d[i].member.b, 32, mhex);
			if (cli->json) {
				json_t *o =
				    json_pack("{s:s, s:s, s:I, s:o}", "member", mhex, "full_name",
				              d[i].name, "changes", (json_int_t)d[i].changes, "op",
				              cli_json_hex(d[i].op.b, 32));
				if (d[i].number[0])
					json_object_set_new(o, "number", json_string(d[i].number));
				json_array_append_new(list, o);
			} else if (d[i].number[0]) {
				printf(ngettext("%s %s (%zu change): member number %s\n",
				                "%s %s (%zu changes): member number %s\n",
				                d[i].changes),
				       verb, d[i].name, d[i].changes, d[i].number);
			} else {
				printf(ngettext("%s %s (%zu change)\n", "%s %s (%zu changes)\n",
				                d[i].changes),
				       verb, d[i].name, d[i].changes);
			}
		}
		if (cli->json)
			cli_print_json(json_pack("{s:i, s:s, s:o}", "version", 1, "decision", type,
			                         "members", list));
		else {
			json_decref(list);
			if (nd == 0)
				printf(_("nothing to %s\n"), approve  ? "approve"
				                             : reject ? "reject"
				                                      : "submit");
		}
	}
	for (size_t i = 0; i < nd; i++)
		ml_buf_release(&d[i].body);
	free(d);
	free(ids);
	ml_buf_release(&err);
	cli_node_close(&n);
	return ex;
}

static int member_submit(struct cli *cli, int argc, char **argv)
{
	return decide(cli, argc, argv, "member_submit");
}

static int member_approve(struct cli *cli, int argc, char **argv)
{
	return decide(cli, argc, argv, "member_approve");
}

static int member_reject(struct cli *cli, int argc, char **argv)
{
	return decide(cli, argc, argv, "member_reject");
}

/* --- reading ---------------------------------------------------------------------- */

static const char member_cols[] =
    "SELECT m.id, m.unit, u.name, m.state, m.number, m.full_name, m.id_number, m.official,"
    " m.draft, m.pending, m.n_conflicts FROM members m LEFT JOIN units u ON u.id = m.unit";

/* One row of member_cols as JSON; with full, the official and draft records too. */
static json_t *row_json(sqlite3_stmt *st, bool full)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", cli_json_hex(sqlite3_column_blob(st, 0), 32));
	json_object_set_new(o, "unit", cli_json_hex(sqlite3_column_blob(st, 1), 32));
	json_object_set_new(o, "unit_name",
	                    json_string(sqlite3_column_text(st, 2)
	                                    ? (const char *)sqlite3_column_text(st, 2)
	                                    : ""));
	json_object_set_new(o, "state", json_string((const char *)sqlite3_column_text(st, 3)));
	json_object_set_new(o, "member_number",
	                    sqlite3_column_type(st, 4) == SQLITE_TEXT
	                        ? json_string((const char *)sqlite3_column_text(st, 4))
	                        : json_null());
	json_object_set_new(o, "full_name", json_string((const char *)sqlite3_column_text(st, 5)));
	json_object_set_new(o, "id_number", json_string((const char *)sqlite3_column_text(st, 6)));
	json_t *official =
	    cli_record_json(sqlite3_column_blob(st, 7), (size_t)sqlite3_column_bytes(st, 7));
	json_t *draft =
	    cli_record_json(sqlite3_column_blob(st, 8), (size_t)sqlite3_column_bytes(st, 8));
	/* the draft column is NULL when it equals the official record */
	json_t *current = draft ? draft : official;
	json_object_set_new(o, "status",
	                    json_string(cli_jstr(official ? official : current, "status")));
	json_object_set_new(o, "pending_changes", json_integer(sqlite3_column_int64(st, 9)));
	json_object_set_new(o, "conflicts", json_integer(sqlite3_column_int64(st, 10)));
	if (full) {
		json_object_set(o, "official", official ? official : json_null());
		json_object_set(o, "draft", current ? current : json_null());
	}
	json_decref(official);
	json_decref(draft);
	return o;
}

static const char *state_label(const char *state)
{
	if (strcmp(state, "official") == 0)
		return _("official");
	if (strcmp(state, "submitted") == 0)
		return _("submitted");
	if (strcmp(state, "returned") == 0)
		return _("returned");
	if (strcmp(state, "draft") == 0)
		return _("draft");
	return state;
}

/* A member's status as people read it; an identifier this build does not know, as it is. */
static const char *status_label(const char *status)
{
	if (strcmp(status, "active") == 0)
		return _("active");
	if (strcmp(status, "reduced") == 0)
		return _("reduced");
	if (strcmp(status, "transferring") == 0)
		return _("transferring");
	if (strcmp(status, "aged_out") == 0)
		return _("aged_out");
	return status;
}

/* Prints s padded to width characters (code points, not bytes: Vietnamese names). */
static void pad(const char *s, int width)
{
	int cps = 0;
	for (const char *p = s; *p; p++)
		cps += ((unsigned char)*p & 0xc0) != 0x80;
	fputs(s, stdout);
	for (; cps < width; cps++)
		putchar(' ');
	fputs("  ", stdout);
}

static void print_row(const json_t *o)
{
	const char *num = json_is_string(json_object_get(o, "member_number"))
	                      ? json_string_value(json_object_get(o, "member_number"))
	                      : "-";
	pad(num, 12);
	pad(cli_jstr(o, "full_name"), 30);
	pad(cli_jstr(o, "id_number"), 12);
	pad(state_label(cli_jstr(o, "state")), 10);
	pad(status_label(cli_jstr(o, "status")), 16);
	pad(cli_jstr(o, "unit_name"), 24);
	printf("%.12s\n", cli_jstr(o, "id"));
}

/* Runs a member query (?1 bound by bind) and prints or collects its rows. */
static int list_rows(struct cli_node *n, const char *sql, void (*bind)(sqlite3_stmt *, void *),
                     void *ctx, long limit)
{
	sqlite3_stmt *st;
	struct ml_buf err = ML_BUF_INIT;
	if (ml_read_prepare(n->s, sql, &st, &err) != ML_OK) {
		cli_error("%s", ml_buf_str(&err));
		ml_buf_release(&err);
		return CLI_ERROR;
	}
	bind(st, ctx);
	json_t *list = json_array();
	long count = 0;
	if (!n->cli->json) {
		pad(_("number"), 12);
		pad(_("full name"), 30);
		pad(_("ID number"), 12);
		pad(_("record"), 10);
		pad(_("status"), 16);
		pad(_("unit"), 24);
		printf("%s\n", _("id"));
	}
	while (count < limit && sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = row_json(st, false);
		if (n->cli->json)
			json_array_append_new(list, o);
		else {
			print_row(o);
			json_decref(o);
		}
		count++;
	}
	sqlite3_finalize(st);
	if (n->cli->json)
		return cli_print_json(json_pack("{s:i, s:o}", "version", 1, "members", list));
	json_decref(list);
	printf(ngettext("%ld member\n", "%ld members\n", (unsigned long)count), count);
	return CLI_OK;
}

struct list_filter {
	struct ml_hash unit;
	bool has_unit;
	const char *state, *status;
};

static void bind_filter(sqlite3_stmt *st, void *ctx)
{
	struct list_filter *f = ctx;
	if (f->has_unit)
		sqlite3_bind_blob(st, 1, f->unit.b, 32, SQLITE_STATIC);
	if (f->state)
		sqlite3_bind_text(st, 2, f->state, -1, SQLITE_STATIC);
	if (f->status)
		sqlite3_bind_text(st, 3, f->status, -1, SQLITE_STATIC);
}

static int member_list(struct cli *cli, int argc, char **argv)
{
	static const char usage[] =
	    "member list [--unit UNIT] [--state draft|submitted|returned|official] [--status "
	    "active|reduced|transferring|aged_out] [--limit N]";
	struct args a;
	int ex = parse(argc, argv, usage, N_("Lists members, by unit and record state."), NULL, &a);
	if (ex >= 0)
		return ex;
	if (a.n_operands)
		return cli_usage(usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct list_filter f = {.state = a.state, .status = a.status};
	ex = CLI_OK;
	if (a.unit) {
		ex = cli_unit_find(&n, a.unit, &f.unit);
		f.has_unit = true;
	}
	char sql[1024];
	snprintf(sql, sizeof sql,
	         "%s WHERE (?1 IS NULL OR m.unit = ?1) AND (?2 IS NULL OR m.state = ?2) AND (?3 IS "
	         "NULL OR m.status = ?3) ORDER BY u.name, m.name_fold, m.id",
	         member_cols);
	if (ex == CLI_OK)
		ex = list_rows(&n, sql, bind_filter, &f, a.limit);
	cli_node_close(&n);
	return ex;
}

struct search {
	const char *match, *raw;
};

static void bind_search(sqlite3_stmt *st, void *ctx)
{
	struct search *q = ctx;
	sqlite3_bind_text(st, 1, q->match, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, q->raw, -1, SQLITE_STATIC);
}

static int member_search(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "member search TEXT [--limit N]";
	struct args a;
	int ex =
	    parse(argc, argv, usage,
	          N_("Finds members by name, ignoring Vietnamese diacritics and case (\"nguyen "
	             "van dat\" finds \"Nguyễn Văn Đạt\"), or by ID card or member number."),
	          NULL, &a);
	if (ex >= 0)
		return ex;
	if (a.n_operands < 1)
		return cli_usage(usage);
	struct ml_buf text = ML_BUF_INIT, fold = ML_BUF_INIT, q = ML_BUF_INIT;
	for (int i = 0; i < a.n_operands; i++)
		ml_buf_addf(&text, "%s%s", i ? " " : "", a.operands[i]);
	if (ml_fold((const char *)text.data, text.len, &fold) != ML_OK) {
		ml_buf_release(&text);
		ml_buf_release(&fold);
		return cli_error(_("the search text is not valid UTF-8")), CLI_USAGE;
	}
	/* every word, as a prefix: "nguy van" finds "Nguyễn Văn ..." */
	char *save = NULL;
	for (char *t = strtok_r((char *)fold.data, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		ml_buf_addf(&q, "%s\"", q.len ? " " : "");
		for (const char *c = t; *c; c++)
			if (*c != '"')
				ml_buf_add(&q, c, 1);
		ml_buf_addf(&q, "\"*");
	}
	struct cli_node n;
	if (cli_node_open(cli, NODE_NETWORK, &n) != CLI_OK) {
		ex = CLI_ERROR;
	} else {
		char sql[1024];
		snprintf(
		    sql, sizeof sql,
		    "%s WHERE m.rid IN (SELECT rowid FROM member_search WHERE member_search MATCH "
		    "?1) OR m.id_number = ?2 OR m.number = ?2 ORDER BY m.name_fold, m.id",
		    member_cols);
		struct search ctx = {ml_buf_str(&q), ml_buf_str(&text)};
		ex = list_rows(&n, sql, bind_search, &ctx, a.limit);
		cli_node_close(&n);
	}
	ml_buf_release(&text);
	ml_buf_release(&fold);
	ml_buf_release(&q);
	return ex;
}

static int member_show(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "member show MEMBER";
	struct args a;
	int ex = parse(argc, argv, usage,
	               N_("Prints a member's official record and the draft changes waiting for "
	                  "approval."),
	               NULL, &a);
	if (ex >= 0)
		return ex;
	if (a.n_operands != 1)
		return cli_usage(usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash id;
	ex = cli_member_find(&n, a.operands[0], &id);
	char sql[512];
	snprintf(sql, sizeof sql, "%s WHERE m.rid = member_rid(?1)", member_cols);
	sqlite3_stmt *st;
	json_t *o = NULL;
	if (ex == CLI_OK && ml_read_prepare(n.s, sql, &st, NULL) == ML_OK) {
		sqlite3_bind_blob(st, 1, id.b, 32, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			o = row_json(st, true);
		sqlite3_finalize(st);
	}
	if (ex == CLI_OK && !o)
		ex = cli_error(_("cannot read member '%s'"), a.operands[0]);
	if (ex == CLI_OK && cli->json) {
		json_object_set_new(o, "version", json_integer(1));
		ex = cli_print_json(o);
		o = NULL;
	} else if (ex == CLI_OK) {
		json_t *num = json_object_get(o, "member_number");
		printf(_("member   %s\nid       %s\nnumber   %s\nunit     %s\nrecord   %s\nstatus  "
		         " %s\n"),
		       cli_jstr(o, "full_name"), cli_jstr(o, "id"),
		       json_is_string(num) ? json_string_value(num) : "-", cli_jstr(o, "unit_name"),
		       state_label(cli_jstr(o, "state")), status_label(cli_jstr(o, "status")));
		json_t *off = json_object_get(o, "official"), *dr = json_object_get(o, "draft");
		const char *key;
		json_t *v;
		printf(_("fields (official | draft when different):\n"));
		json_object_foreach(dr, key, v)
		{
			if (strcmp(key, "unit") == 0)
				continue;
			char *dv = json_dumps(v, JSON_ENCODE_ANY);
			json_t *ov = json_object_get(off, key);
			char *os = ov ? json_dumps(ov, JSON_ENCODE_ANY) : NULL;
			if (os && strcmp(os, dv) == 0)
				printf("  %-20s %s\n", key, dv);
			else
				printf("  %-20s %s | %s\n", key, os ? os : "-", dv);
			free(dv);
			free(os);
		}
		long long pending = json_integer_value(json_object_get(o, "pending_changes"));
		long long conflicts = json_integer_value(json_object_get(o, "conflicts"));
		if (pending)
			printf(ngettext("%lld change waits for approval\n",
			                "%lld changes wait for approval\n", (unsigned long)pending),
			       pending);
		if (conflicts)
			printf(ngettext("%lld conflict recorded: see 'memberlog member history'\n",
			                "%lld conflicts recorded: see 'memberlog member history'\n",
			                (unsigned long)conflicts),
			       conflicts);
	}
	json_decref(o);
	cli_node_close(&n);
	return ex;
}

static int member_photo(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "member photo MEMBER FILE [--state official|draft]";
	struct args a;
	int ex = parse(argc, argv, usage,
	               N_("Writes a member's photo to FILE: the official record's, or with --state "
	                  "draft the one in the changes waiting for approval.  A node fetches the "
	                  "photos of its members from its peers while 'serve' or 'sync' runs."),
	               NULL, &a);
	if (ex >= 0)
		return ex;
	if (a.n_operands != 2 ||
	    (a.state && strcmp(a.state, "official") != 0 && strcmp(a.state, "draft") != 0))
		return cli_usage(usage);
	bool draft = a.state && strcmp(a.state, "draft") == 0;
	struct cli_node n;
	if (cli_node_open(cli, NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash id, photo;
	ex = cli_member_find(&n, a.operands[0], &id);
	sqlite3_stmt *st = NULL;
	if (ex == CLI_OK &&
	    ml_read_prepare(n.s, "SELECT official, draft FROM members WHERE rid = member_rid(?1)",
	                    &st, NULL) != ML_OK)
		ex = cli_error(_("cannot read the register"));
	bool found = false;
	if (ex == CLI_OK) {
		sqlite3_bind_blob(st, 1, id.b, 32, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			/* The draft column is empty when the draft equals the official record. */
			int col = draft ? 1 : 0;
			if (sqlite3_column_type(st, col) != SQLITE_BLOB)
				col = 1 - col;
			struct ml_body body;
			found =
			    sqlite3_column_type(st, col) == SQLITE_BLOB &&
			    ml_body_parse(&body, sqlite3_column_blob(st, col),
			                  (size_t)sqlite3_column_bytes(st, col), NULL) == ML_OK &&
			    ml_body_hash(&body, "photo", &photo, NULL) == ML_OK;
		}
		if (!found)
			ex = cli_error(_("member '%s' has no photo"), a.operands[0]);
	}
	sqlite3_finalize(st);
	struct ml_buf dir = ML_BUF_INIT, data = ML_BUF_INIT, err = ML_BUF_INIT;
	char hex[65];
	if (ex == CLI_OK) {
		ml_photo_name(&photo, hex);
		cli_home_path(cli, "blobs", &dir);
		int rc = ml_photo_get(ml_buf_str(&dir), &photo, &data, &err);
		if (rc == ML_ENOTFOUND)
			ex = cli_error(
			    _("the photo of member '%s' (%.16s) is not on this node yet: "
			      "'memberlog serve' or 'memberlog sync' fetches it from a peer "
			      "that holds it"),
			    a.operands[0], hex);
		else if (rc != ML_OK)
			ex = cli_error("%s", ml_buf_str(&err));
	}
	if (ex == CLI_OK)
		ex = cli_write_file(a.operands[1], data.data, data.len);
	if (ex == CLI_OK && cli->json) {
		json_t *o = json_pack("{s:i, s:s, s:s, s:I}", "version", 1, "file", a.operands[1],
		                      "photo", hex, "bytes", (json_int_t)data.len);
		ex = cli_print_json(o);
	} else if (ex == CLI_OK) {
		printf(_("wrote the photo to %s (%zu bytes)\n"), a.operands[1], data.len);
	}
	ml_buf_release(&dir);
	ml_buf_release(&data);
	ml_buf_release(&err);
	cli_node_close(&n);
	return ex;
}

/* Formats hlc ms as Vietnam time (UTC+7), the time zone of the register. */
static void vn_time(uint64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000) + 7 * 3600;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%d/%m/%Y %H:%M:%S", &tm);
}

static int member_history(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "member history MEMBER";
	struct args a;
	int ex = parse(argc, argv, usage,
	               N_("Prints every op about a member: what, who signed it, when, in which "
	                  "unit, and the verdict (rejected ops too, with their reason)."),
	               NULL, &a);
	if (ex >= 0)
		return ex;
	if (a.n_operands != 1)
		return cli_usage(usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash id;
	ex = cli_member_find(&n, a.operands[0], &id);
	/* Applied ops are listed by key in the member's row; rejected ones by target. */
	sqlite3_stmt *st;
	int64_t *keys = NULL;
	size_t nk = 0;
	if (ex == CLI_OK && ml_read_member_ops(n.s, &id, &keys, &nk, NULL) != ML_OK)
		ex = cli_error(_("cannot read the log"));
	if (ex == CLI_OK &&
	    ml_read_prepare(n.s, "SELECT key FROM ops WHERE target = ?1", &st, NULL) == ML_OK) {
		sqlite3_bind_blob(st, 1, id.b, 32, SQLITE_STATIC);
		while (ex == CLI_OK && sqlite3_step(st) == SQLITE_ROW) {
			int64_t *v = ml_realloc(keys, (nk + 1) * sizeof *v);
			if (!v)
				ex = cli_error(_("out of memory"));
			else
				(keys = v)[nk++] = sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
	}
	json_t *list = json_array();
	sqlite3_stmt *op = NULL;
	if (ex == CLI_OK &&
	    ml_read_prepare(n.s, "SELECT raw, id, status, reason, eval FROM ops WHERE key = ?1",
	                    &op, NULL) != ML_OK)
		ex = cli_error(_("cannot read the log"));
	for (size_t i = 0; ex == CLI_OK && i < nk; i++) {
		sqlite3_bind_int64(op, 1, keys[i]);
		if (sqlite3_step(op) == SQLITE_ROW) {
			struct ml_op o;
			struct ml_hash oid;
			memcpy(oid.b, sqlite3_column_blob(op, 1), 32);
			if (ml_op_parse_known(sqlite3_column_blob(op, 0),
			                      (size_t)sqlite3_column_bytes(op, 0), &oid, &o,
			                      NULL) == ML_OK) {
				char when[32], uname[256];
				vn_time(o.hlc.ms, when);
				cli_unit_name(&n, ml_op_feed_unit(&o), uname, sizeof uname);
				bool applied = sqlite3_column_int(op, 2) == 2;
				const char *reason = (const char *)sqlite3_column_text(op, 3);
				json_t *e =
				    json_pack("{s:o, s:s, s:s, s:I, s:o, s:s, s:o, s:I, s:s, s:s}",
				              "op", cli_json_hex(oid.b, 32), "type", o.type, "time",
				              when, "hlc_ms", (json_int_t)o.hlc.ms, "author",
				              cli_json_hex(o.author.b, 32), "unit_name", uname,
				              "unit", cli_json_hex(ml_op_feed_unit(&o)->b, 32),
				              "seq", (json_int_t)o.seq, "signature", "verified",
				              "verdict", applied ? "applied" : "rejected");
				if (!applied && reason)
					json_object_set_new(e, "reason", json_string(reason));
				/* a rejection carries why the changes went back: the officer needs
				 * it */
				struct ml_body b;
				const char *why;
				size_t why_len;
				if (strcmp(o.type, "member_reject") == 0 &&
				    ml_body_parse(&b, o.body, o.body_len, NULL) == ML_OK &&
				    ml_body_text(&b, "reason", &why, &why_len, NULL) == ML_OK)
					json_object_set_new(e, "rejection_reason",
					                    json_stringn(why, why_len));
				json_object_set_new(e, "eval",
				                    json_integer(sqlite3_column_int64(op, 4)));
				json_array_append_new(list, e);
			}
		}
		sqlite3_reset(op);
	}
	sqlite3_finalize(op);
	/* in the order this node judged them, which respects causality */
	size_t cnt = json_array_size(list);
	for (size_t i = 1; i < cnt; i++)
		for (size_t j = i; j > 0; j--) {
			json_t *x = json_array_get(list, j - 1), *y = json_array_get(list, j);
			if (json_integer_value(json_object_get(x, "eval")) <=
			    json_integer_value(json_object_get(y, "eval")))
				break;
			json_incref(x);
			json_array_set(list, j - 1, y);
			json_array_set_new(list, j, x);
		}
	if (ex == CLI_OK && cli->json) {
		ex = cli_print_json(json_pack("{s:i, s:o, s:o}", "version", 1, "member",
		                              cli_json_hex(id.b, 32), "history", list));
		list = NULL;
	} else if (ex == CLI_OK) {
		size_t i;
		json_t *e;
		json_array_foreach(list, i, e)
		{
			printf("%s  %-28s %s  %s %.16s  %s %s", cli_jstr(e, "time"),
			       cli_jstr(e, "type"), cli_jstr(e, "unit_name"), _("by"),
			       cli_jstr(e, "author"), _("signature verified,"),
			       strcmp(cli_jstr(e, "verdict"), "applied") == 0 ? _("applied")
			                                                      : _("REJECTED"));
			if (json_object_get(e, "reason"))
				printf(": %s", cli_jstr(e, "reason"));
			if (json_object_get(e, "rejection_reason"))
				printf(_(" - returned: %s"), cli_jstr(e, "rejection_reason"));
			putchar('\n');
		}
	}
	json_decref(list);
	ml_free(keys);
	cli_node_close(&n);
	return ex;
}

static int member_resolve(struct cli *cli, int argc, char **argv)
{
	static const char usage[] =
	    "member resolve-duplicate MEMBER-A MEMBER-B --decision distinct|same";
	static const struct option opts[] = {
	    {"decision", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {0}};
	const char *decision = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'd')
			decision = optarg;
		else if (c == 'h')
			return printf("usage: memberlog %s\n\n%s\n", usage,
			              _("Settles a possible duplicate (two records with one ID "
			                "number): distinct people, or the same person.")),
			       CLI_OK;
		else
			return cli_usage(usage);
	}
	if (!decision || optind != argc - 2)
		return cli_usage(usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash m[2], id;
	int ex = cli_member_find(&n, argv[optind], &m[0]);
	if (ex == CLI_OK)
		ex = cli_member_find(&n, argv[optind + 1], &m[1]);
	if (ex == CLI_OK && ml_hash_eq(&m[0], &m[1]))
		ex = cli_error(_("a pair of duplicates is two different records"));
	if (ex == CLI_OK &&
	    memcmp(m[0].b, m[1].b, 32) > 0) { /* the op names the pair in id order */
		struct ml_hash t = m[0];
		m[0] = m[1];
		m[1] = t;
	}
	struct member_row r;
	if (ex == CLI_OK)
		ex = member_row(&n, &m[0], &r);
	if (ex == CLI_OK) {
		struct ml_body_builder bb;
		ml_bb_init(&bb);
		ml_bb_hash(&bb, "a", &m[0]);
		ml_bb_hash(&bb, "b", &m[1]);
		ml_bb_cstr(&bb, "decision", decision);
		ex = cli_write_one(&n, &r.unit, "duplicate_resolve", &bb, &id);
	}
	if (ex == CLI_OK)
		print_done(cli, &id, &m[0], _("duplicate settled"));
	cli_node_close(&n);
	return ex;
}

#define CHANGE_VERB(fn, i)                                        \
	static int fn(struct cli *cli, int argc, char **argv)     \
	{                                                         \
		return change(cli, argc, argv, &change_verbs[i]); \
	}
CHANGE_VERB(member_edit, 0)
CHANGE_VERB(member_position, 1)
CHANGE_VERB(member_reduce, 2)
CHANGE_VERB(member_transfer, 3)
CHANGE_VERB(member_card, 4)
CHANGE_VERB(member_age_out, 5)
CHANGE_VERB(member_outstanding, 6)
CHANGE_VERB(member_party, 7)
CHANGE_VERB(member_training, 8)
CHANGE_VERB(member_residence, 9)

int cmd_member(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
	    {"add", member_add, N_("enter a new member (a draft)")},
	    {"edit", member_edit, N_("change fields of a record (a draft change)")},
	    {"position", member_position, N_("change union positions")},
	    {"submit", member_submit, N_("ask the unit above to approve draft changes")},
	    {"approve", member_approve, N_("approve submitted changes; assigns member numbers")},
	    {"reject", member_reject, N_("return submitted changes with a reason")},
	    {"transfer", member_transfer, N_("transfer a member out to another unit")},
	    {"receive", member_receive, N_("receive a member transferred to your unit")},
	    {"reduce", member_reduce, N_("report a reduction (left the job, quit, ...)")},
	    {"card", member_card, N_("request a member card")},
	    {"age-out", member_age_out, N_("youth union: maturing out of the union")},
	    {"outstanding", member_outstanding, N_("youth union: outstanding-member recognition")},
	    {"party", member_party, N_("youth union: Party membership development")},
	    {"training", member_training, N_("youth union: training-programme registration")},
	    {"residence", member_residence, N_("youth union: residence-based activity")},
	    {"show", member_show, N_("print a member's record")},
	    {"photo", member_photo, N_("write a member's photo to a file")},
	    {"list", member_list, N_("list members by unit and state")},
	    {"search", member_search, N_("find members by name, ignoring diacritics")},
	    {"history", member_history, N_("every signed change of a member, with verdicts")},
	    {"resolve-duplicate", member_resolve, N_("settle a possible duplicate pair")},
	};
	return cli_dispatch(cli, argc, argv, verbs, sizeof verbs / sizeof verbs[0]);
}
