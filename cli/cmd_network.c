/*
 * cmd_network.c - the network and its devices: `network create|show|join`,
 * `device show`, `grant`, `revoke`.
 *
 * Joining over the network with an invite token is the daemon's job
 * (`memberlog serve`); `network join NETWORK-ID` is the offline path: the
 * node then takes its ops from bundles.
 */
#include "node.h"

#include "i18n.h"

#include "crdt/codec.h"
#include "crdt/err.h"
#include "crdt/fields.h"
#include "node/keyfile.h"
#include "node/read.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Creates this device's key when the node has none yet; CLI_OK or CLI_ERROR. */
static int ensure_key(struct cli *cli)
{
	struct ml_buf path = ML_BUF_INIT, err = ML_BUF_INIT;
	struct ml_key *key = NULL;
	int rc = cli_make_dirs(cli->home, &err);
	if (rc == ML_OK)
		rc = cli_home_path(cli, "device.key", &path);
	if (rc == ML_OK && access(ml_buf_str(&path), F_OK) != 0) {
		rc = ml_key_generate(&key);
		if (rc == ML_OK)
			rc = ml_keyfile_create(ml_buf_str(&path), key, &err);
		if (rc == ML_OK && !cli->json)
			fprintf(stderr, _("created this device's key in %s\n"), ml_buf_str(&path));
	}
	if (rc != ML_OK)
		cli_error("%s", err.len ? ml_buf_str(&err) : ml_strerror(rc));
	ml_key_free(key);
	ml_buf_release(&path);
	ml_buf_release(&err);
	return rc == ML_OK ? CLI_OK : CLI_ERROR;
}

static const char create_usage[] = "network create --name NAME [--org trade_union|youth_union]";

static int network_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
	                                     {"org", required_argument, NULL, 'o'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	const char *name = NULL, *org = "trade_union";
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'n')
			name = optarg;
		else if (c == 'o')
			org = optarg;
		else if (c == 'h')
			return printf(_("usage: memberlog %s\n\nCreates a network: its genesis op "
			                "makes the national unit, whose id names the network, and "
			                "this device its first admin.\n"),
			              create_usage),
			       CLI_OK;
		else
			return cli_usage(create_usage);
	}
	if (!name || optind != argc)
		return cli_usage(create_usage);
	if (ml_enum_index(ml_orgs, org, strlen(org)) < 0)
		return cli_error(_("--org is trade_union or youth_union, not '%s'"), org),
		       CLI_USAGE;
	if (ensure_key(cli) != CLI_OK)
		return CLI_ERROR;
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_CREATE, &n) != CLI_OK)
		return CLI_ERROR;
	if (ml_store_network(n.s, NULL)) {
		cli_node_close(&n);
		return cli_error(_("this node already belongs to a network; use another --home "
		                   "for a new one"));
	}
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "name", name);
	ml_bb_cstr(&bb, "org", org);
	struct ml_hash id;
	int ex = cli_write_one(&n, NULL, ML_OP_TYPE_GENESIS, &bb, &id);
	if (ex == CLI_OK) {
		char hex[65];
		ml_hex_encode(id.b, 32, hex);
		if (cli->json)
			cli_print_json(json_pack("{s:i, s:s, s:s, s:s, s:s}", "version", 1,
			                         "network", hex, "root_unit", hex, "name", name,
			                         "org", org));
		else
			printf(_("created network '%s' (%s)\nnetwork id: %s\nroot unit:  %s\n"),
			       name, org, hex, hex);
	}
	cli_node_close(&n);
	return ex;
}

static int network_show(struct cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return cli_is_help(argv[1])
		           ? (printf(_("usage: memberlog network show\n\nPrints the network "
		                       "this node belongs to.\n")),
		              CLI_OK)
		           : cli_usage("network show");
	struct cli_node n;
	if (cli_node_open(cli, NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	char hex[65], name[256];
	ml_hex_encode(n.net.b, 32, hex);
	cli_unit_name(&n, &n.net, name, sizeof name);
	const char *org = ml_orgs[n.org];
	if (cli->json)
		cli_print_json(json_pack("{s:i, s:s, s:s, s:s}", "version", 1, "network", hex,
		                         "name", name, "org", org));
	else
		printf(_("network %s\nname    %s\norg     %s\n"), hex, name, org);
	cli_node_close(&n);
	return CLI_OK;
}

static int network_join(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "network join TOKEN|NETWORK-ID";
	if (argc != 2 || cli_is_help(argv[1]))
		return argc == 2 ? (printf(_("usage: memberlog %s\n\nWith a TOKEN from "
		                             "'memberlog invite': connects to the inviting node, "
		                             "proves the token, receives its role and syncs. With "
		                             "a NETWORK-ID (offline): makes this node a member of "
		                             "that network; its ops then arrive by 'bundle "
		                             "import' or 'memberlog sync' once an admin granted "
		                             "this device a role.\n"),
		                           usage),
		                    CLI_OK)
		                 : cli_usage(usage);
	if (cli_is_token(argv[1])) {
		if (ensure_key(cli) != CLI_OK)
			return CLI_ERROR;
		struct cli_node n;
		if (cli_node_open(cli, NODE_CREATE | NODE_KEY, &n) != CLI_OK)
			return CLI_ERROR;
		int ex = cli_join_token(cli, &n, argv[1], 60);
		if (ex == CLI_OK && !cli->json)
			printf(_("joined: 'memberlog device show' prints this device's role; "
			         "'memberlog serve' keeps it in sync\n"));
		cli_node_close(&n);
		return ex;
	}
	struct ml_hash net;
	if (strlen(argv[1]) != 64 || ml_hex_decode(argv[1], net.b, 32) != ML_OK)
		return cli_error(_("'%s' is not a network id (64 hex digits, as 'memberlog network "
		                   "show' prints)"),
		                 argv[1]),
		       CLI_USAGE;
	if (ensure_key(cli) != CLI_OK)
		return CLI_ERROR;
	struct cli_node n;
	if (cli_node_open(cli, NODE_CREATE, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_buf err = ML_BUF_INIT;
	int rc = ml_store_set_network(n.s, &net, &err);
	if (rc != ML_OK)
		cli_error("%s", ml_buf_str(&err));
	else if (!cli->json)
		printf(_("this node now belongs to network %s\nnext: give this device's key "
		         "('memberlog device show') to an admin, and import their bundle\n"),
		       argv[1]);
	else
		cli_print_json(json_pack("{s:i, s:s}", "version", 1, "network", argv[1]));
	ml_buf_release(&err);
	cli_node_close(&n);
	return rc == ML_OK ? CLI_OK : CLI_ERROR;
}

int cmd_network(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
	    {"create", network_create, N_("create a network and its national unit")},
	    {"show", network_show, N_("show the network this node belongs to")},
	    {"join", network_join, N_("join a network with an invite token, or offline by its id")},
	};
	return cli_dispatch(cli, argc, argv, verbs, sizeof verbs / sizeof verbs[0]);
}

/* Prints (or adds to roles) the grants of device that are in force. */
static int list_roles(struct cli_node *n, const struct ml_pubkey *dev, json_t *roles)
{
	sqlite3_stmt *st;
	struct ml_buf err = ML_BUF_INIT;
	if (ml_read_prepare(n->s,
	                    "SELECT g.unit, g.role, u.name FROM grants g LEFT JOIN units u ON "
	                    "u.id = g.unit WHERE g.device = ?1 ORDER BY u.name, g.role",
	                    &st, &err) != ML_OK) {
		cli_error("%s", ml_buf_str(&err));
		ml_buf_release(&err);
		return CLI_ERROR;
	}
	sqlite3_bind_blob(st, 1, dev->b, 32, SQLITE_STATIC);
	int count = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *role = ml_role_name((enum ml_role)sqlite3_column_int(st, 1));
		const char *uname = (const char *)sqlite3_column_text(st, 2);
		char hex[65];
		ml_hex_encode(sqlite3_column_blob(st, 0), 32, hex);
		if (roles)
			json_array_append_new(roles,
			                      json_pack("{s:s, s:s, s:s}", "unit", hex, "unit_name",
			                                uname ? uname : "", "role", role));
		else
			printf(_("  %-9s at %s (%.16s)\n"), role, uname ? uname : "?", hex);
		count++;
	}
	sqlite3_finalize(st);
	if (!roles && count == 0)
		printf(_("  no role yet: an admin grants one with 'memberlog grant KEY --unit UNIT "
		         "--role ROLE'\n"));
	return CLI_OK;
}

int cmd_device(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "device show";
	if (argc != 2 || strcmp(argv[1], "show") != 0)
		return argc > 1 && cli_is_help(argv[1])
		           ? (printf(_("usage: memberlog [--json] %s\n\nPrints this device's key "
		                       "and the roles granted to it.\n"),
		                     usage),
		              CLI_OK)
		           : cli_usage(usage);
	struct ml_buf err = ML_BUF_INIT, path = ML_BUF_INIT, db = ML_BUF_INIT;
	struct ml_key *key = NULL;
	int rc = cli_home_path(cli, "device.key", &path);
	if (rc == ML_OK)
		rc = ml_keyfile_load(ml_buf_str(&path), &key, &err);
	if (rc != ML_OK) {
		cli_error("%s", ml_buf_str(&err));
		ml_buf_release(&err);
		ml_buf_release(&path);
		return CLI_ERROR;
	}
	char pk[65];
	ml_hex_encode(key->pk.b, 32, pk);
	json_t *doc = cli->json ? json_pack("{s:i, s:s}", "version", 1, "device_key", pk) : NULL;
	json_t *roles = cli->json ? json_array() : NULL;
	if (!cli->json)
		printf("%s\n", pk);
	cli_home_path(cli, "memberlog.db", &db);
	int ex = CLI_OK;
	if (access(ml_buf_str(&db), F_OK) == 0) {
		struct cli_node n;
		ex = cli_node_open(cli, 0, &n);
		if (ex == CLI_OK)
			ex = list_roles(&n, &key->pk, roles);
		cli_node_close(&n);
	}
	if (doc) {
		json_object_set_new(doc, "roles", roles);
		if (ex == CLI_OK)
			ex = cli_print_json(doc);
		else
			json_decref(doc);
	}
	ml_key_free(key);
	ml_buf_release(&err);
	ml_buf_release(&path);
	ml_buf_release(&db);
	return ex;
}

static const char grant_usage[] =
    "grant DEVICE-KEY --unit UNIT --role admin|officer|approver|auditor";

int cmd_grant(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"unit", required_argument, NULL, 'u'},
	                                     {"role", required_argument, NULL, 'r'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	const char *unit_arg = NULL, *role = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'u')
			unit_arg = optarg;
		else if (c == 'r')
			role = optarg;
		else if (c == 'h')
			return printf(
			           _("usage: memberlog %s\n\nGives a device a role at a unit and "
			             "its whole subtree. Needs an admin role at or above the "
			             "unit.\n"),
			           grant_usage),
			       CLI_OK;
		else
			return cli_usage(grant_usage);
	}
	if (!unit_arg || !role || optind != argc - 1)
		return cli_usage(grant_usage);
	struct ml_pubkey dev;
	int ex = cli_device_parse(argv[optind], &dev);
	if (ex != CLI_OK)
		return ex;
	if (ml_role_of(role, strlen(role)) == ML_ROLE_NONE)
		return cli_error(_("--role is admin, officer, approver or auditor, not '%s'"),
		                 role),
		       CLI_USAGE;
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash unit, id;
	ex = cli_unit_find(&n, unit_arg, &unit);
	if (ex == CLI_OK) {
		struct ml_body_builder bb;
		ml_bb_init(&bb);
		ml_bb_bytes(&bb, "device", dev.b, 32);
		ml_bb_cstr(&bb, "role", role);
		ex = cli_write_one(&n, &unit, "grant", &bb, &id);
	}
	if (ex == CLI_OK) {
		char name[256], hex[65];
		cli_unit_name(&n, &unit, name, sizeof name);
		ml_hex_encode(id.b, 32, hex);
		if (cli->json)
			cli_print_json(json_pack("{s:i, s:s, s:s, s:s}", "version", 1, "op", hex,
			                         "device", argv[optind], "role", role));
		else
			printf(_("granted %s at %s to device %.16s\n"), role, name, argv[optind]);
	}
	cli_node_close(&n);
	return ex;
}

/* Encodes the revocation cuts: each feed of dev at its current head, sorted by (unit, lane). */
static int revoke_cuts(struct cli_node *n, const struct ml_pubkey *dev, struct ml_hash *unit,
                       struct ml_buf *out)
{
	sqlite3_stmt *st;
	struct ml_buf err = ML_BUF_INIT;
	if (ml_read_prepare(n->s,
	                    "SELECT unit, lane, auth_seq FROM feeds WHERE author = ?1 ORDER BY "
	                    "unit, lane",
	                    &st, &err) != ML_OK) {
		cli_error("%s", ml_buf_str(&err));
		ml_buf_release(&err);
		return CLI_ERROR;
	}
	sqlite3_bind_blob(st, 1, dev->b, 32, SQLITE_STATIC);
	struct ml_buf rows = ML_BUF_INIT;
	struct ml_writer w;
	ml_wr_init(&w, &rows);
	uint64_t count = 0;
	while (sqlite3_step(st) == SQLITE_ROW && count < 1024) {
		ml_wr_array(&w, 3);
		ml_wr_bytes(&w, sqlite3_column_blob(st, 0), 32);
		ml_wr_cstr(&w, ml_lane_name((enum ml_lane)sqlite3_column_int(st, 1)));
		ml_wr_uint(&w, (uint64_t)sqlite3_column_int64(st, 2));
		count++;
	}
	sqlite3_finalize(st);
	if (count == 0) { /* a device that never wrote: cut its feed at the grant's unit at 0 */
		ml_wr_array(&w, 3);
		ml_wr_bytes(&w, unit->b, 32);
		ml_wr_cstr(&w, "gov");
		ml_wr_uint(&w, 0);
		count = 1;
	}
	ml_wr_init(&w, out);
	ml_wr_array(&w, count);
	ml_buf_add(out, rows.data, rows.len);
	ml_buf_release(&rows);
	return CLI_OK;
}

static const char revoke_usage[] = "revoke DEVICE-KEY [--reason TEXT]";

int cmd_revoke(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'}, {0}};
	const char *reason = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'r')
			reason = optarg;
		else if (c == 'h')
			return printf(_("usage: memberlog %s\n\nRevokes a device (a lost laptop, a "
			                "departed officer): its ops after what this node holds of "
			                "it now are invalid on every node.\n"),
			              revoke_usage),
			       CLI_OK;
		else
			return cli_usage(revoke_usage);
	}
	if (optind != argc - 1)
		return cli_usage(revoke_usage);
	struct ml_pubkey dev;
	int ex = cli_device_parse(argv[optind], &dev);
	if (ex != CLI_OK)
		return ex;
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	/* The revocation is about a unit where the device held a grant. */
	struct ml_hash unit;
	int found = 0;
	sqlite3_stmt *st;
	if (ml_read_prepare(n.s, "SELECT unit FROM grants WHERE device = ?1 ORDER BY feed, seq",
	                    &st, NULL) == ML_OK) {
		sqlite3_bind_blob(st, 1, dev.b, 32, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
			memcpy(unit.b, sqlite3_column_blob(st, 0), 32);
			found = 1;
		}
		sqlite3_finalize(st);
	}
	struct ml_buf cuts = ML_BUF_INIT;
	if (!found)
		ex = cli_error(_("device %.16s holds no role in this node's register: there is "
		                 "nothing to revoke"),
		               argv[optind]);
	if (ex == CLI_OK)
		ex = revoke_cuts(&n, &dev, &unit, &cuts);
	struct ml_hash id;
	if (ex == CLI_OK) {
		struct ml_body_builder bb;
		ml_bb_init(&bb);
		ml_bb_bytes(&bb, "device", dev.b, 32);
		ml_bb_raw(&bb, "cuts", cuts.data, cuts.len);
		if (reason)
			ml_bb_cstr(&bb, "reason", reason);
		ex = cli_write_one(&n, &unit, "revoke", &bb, &id);
	}
	if (ex == CLI_OK) {
		char hex[65];
		ml_hex_encode(id.b, 32, hex);
		if (cli->json)
			cli_print_json(json_pack("{s:i, s:s, s:s}", "version", 1, "op", hex,
			                         "device", argv[optind]));
		else
			printf(_("revoked device %.16s: its later ops are invalid everywhere\n"),
			       argv[optind]);
	}
	ml_buf_release(&cuts);
	cli_node_close(&n);
	return ex;
}
