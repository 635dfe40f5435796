/*
 * cmd_bundle.c - the offline path between nodes: `bundle export|import|heads|show`.
 *
 * A commune with no connection exports what its district may read and lacks
 * to a file, encrypted to the district's device; the district imports it and
 * its ops are verified and judged exactly as ops from the network.  The
 * recipient's `bundle heads` file says what it already has, so a bundle
 * carries only the difference.
 */
#include "node.h"
#include "record.h"

#include "i18n.h"

#include "crdt/alloc.h"
#include "crdt/audit.h"
#include "crdt/err.h"
#include "net/bundle.h"
#include "node/keyfile.h"
#include "node/read.h"
#include "node/scope.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A feed's head the recipient already holds. */
struct head {
	uint8_t author[32], unit[32];
	int lane;
	uint64_t seq;
};

static int cmp_head(const void *x, const void *y)
{
	const struct head *a = x, *b = y;
	int c = memcmp(a->author, b->author, 32);
	if (!c)
		c = memcmp(a->unit, b->unit, 32);
	return c ? c : a->lane - b->lane;
}

/* Reads a heads file (`bundle heads`) into a sorted array; CLI_OK or CLI_ERROR. */
static int load_heads(const char *path, const struct ml_hash *net, struct head **out, size_t *n)
{
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je);
	*out = NULL;
	*n = 0;
	if (!doc)
		return cli_error(_("cannot read heads file '%s' (line %d): %s"), path, je.line,
		                 je.text);
	struct ml_hash hnet;
	json_t *feeds = json_object_get(doc, "feeds");
	int ex = CLI_OK;
	if (ml_hex_decode(cli_jstr(doc, "network"), hnet.b, 32) != ML_OK || !json_is_array(feeds))
		ex = cli_error(
		    _("'%s' is not a heads file: make one with 'memberlog bundle heads'"), path);
	else if (!ml_hash_eq(&hnet, net))
		ex = cli_error(_("heads file '%s' is from another network"), path);
	size_t k = json_array_size(feeds);
	if (ex == CLI_OK && k && !(*out = calloc(k, sizeof **out)))
		ex = cli_error(_("out of memory"));
	for (size_t i = 0; i < k && ex == CLI_OK; i++) {
		json_t *f = json_array_get(feeds, i);
		struct head *h = &(*out)[i];
		const char *lane = cli_jstr(f, "lane");
		if (ml_hex_decode(cli_jstr(f, "author"), h->author, 32) != ML_OK ||
		    ml_hex_decode(cli_jstr(f, "unit"), h->unit, 32) != ML_OK ||
		    !json_is_integer(json_object_get(f, "seq")) ||
		    (strcmp(lane, "gov") != 0 && strcmp(lane, "reg") != 0))
			ex = cli_error(_("heads file '%s': feed %zu is damaged"), path, i + 1);
		h->lane = strcmp(lane, "reg") == 0;
		h->seq = (uint64_t)json_integer_value(json_object_get(f, "seq"));
	}
	if (ex == CLI_OK) {
		*n = k;
		if (k)
			qsort(*out, k, sizeof **out, cmp_head);
	}
	json_decref(doc);
	return ex;
}

static const char export_usage[] =
    "bundle export -o FILE (--for DEVICE-KEY | --unencrypted) [--since HEADS-FILE]";

static int bundle_export(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'}, {"for", required_argument, NULL, 'f'},
	    {"since", required_argument, NULL, 's'},  {"unencrypted", no_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},         {0}};
	const char *out = NULL, *for_dev = NULL, *since = NULL;
	bool plain = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'f')
			for_dev = optarg;
		else if (c == 's')
			since = optarg;
		else if (c == 'u')
			plain = true;
		else if (c == 'h')
			return printf(_("usage: memberlog %s\n\nWrites the ops DEVICE-KEY may read "
			                "(its units' subtrees, the path to the root, and the "
			                "governance ops) and lacks (ops after the heads in "
			                "HEADS-FILE), encrypted to that device. --unencrypted "
			                "writes everything this node holds, in clear, for an "
			                "auditor's offline copy.\n"),
			              export_usage),
			       CLI_OK;
		else
			return cli_usage(export_usage);
	}
	if (!out || optind != argc || (!for_dev == !plain))
		return cli_usage(export_usage);
	struct ml_pubkey to;
	if (for_dev && cli_device_parse(for_dev, &to) != CLI_OK)
		return CLI_USAGE;
	struct cli_node n;
	if (cli_node_open(cli, NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct head *heads = NULL;
	size_t n_heads = 0;
	int ex = since ? load_heads(since, &n.net, &heads, &n_heads) : CLI_OK;
	struct ml_scope_set *sc = NULL;
	struct ml_buf err = ML_BUF_INIT, ops = ML_BUF_INIT;
	if (ex == CLI_OK &&
	    (for_dev ? ml_scope_of_device(n.s, &to, &sc, &err) : ml_scope_all(&sc)) != ML_OK)
		ex = cli_error(_("cannot compute the device's scope: %s"), ml_buf_str(&err));
	/* In the order this node judged them: every op after its causal past. */
	sqlite3_stmt *st = NULL;
	if (ex == CLI_OK &&
	    ml_read_prepare(n.s,
	                    "SELECT f.author, f.unit, f.lane, o.key & 4294967295, o.raw FROM ops o"
	                    " JOIN feeds f ON f.id = (o.key >> 32)"
	                    " ORDER BY o.eval IS NULL, o.eval, o.key",
	                    &st, &err) != ML_OK)
		ex = cli_error("%s", ml_buf_str(&err));
	size_t count = 0, skipped_scope = 0;
	while (ex == CLI_OK && sqlite3_step(st) == SQLITE_ROW) {
		struct head h;
		memcpy(h.author, sqlite3_column_blob(st, 0), 32);
		memcpy(h.unit, sqlite3_column_blob(st, 1), 32);
		h.lane = sqlite3_column_int(st, 2);
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 3);
		struct ml_hash unit;
		memcpy(unit.b, h.unit, 32);
		if (!ml_scope_has(sc, &unit, (enum ml_lane)h.lane)) {
			skipped_scope++;
			continue;
		}
		const struct head *have =
		    n_heads ? bsearch(&h, heads, n_heads, sizeof h, cmp_head) : NULL;
		if (have && seq <= have->seq)
			continue;
		if (ml_buf_add(&ops, sqlite3_column_blob(st, 4),
		               (size_t)sqlite3_column_bytes(st, 4)) != ML_OK)
			ex = cli_error(_("out of memory"));
		count++;
	}
	sqlite3_finalize(st);
	if (ex == CLI_OK &&
	    ml_bundle_write(out, &n.net, for_dev ? &to : NULL, ops.data, ops.len, &err) != ML_OK)
		ex = cli_error("%s", ml_buf_str(&err));
	if (ex == CLI_OK) {
		if (cli->json)
			cli_print_json(json_pack("{s:i, s:s, s:I, s:I, s:b}", "version", 1, "file",
			                         out, "ops", (json_int_t)count, "bytes",
			                         (json_int_t)ops.len, "encrypted",
			                         for_dev != NULL));
		else
			printf(ngettext("wrote %zu op (%zu bytes) to %s%s\n",
			                "wrote %zu ops (%zu bytes) to %s%s\n", count),
			       count, ops.len, out, for_dev ? _(", encrypted to the device") : "");
	}
	ml_scope_free(sc);
	free(heads);
	ml_buf_release(&ops);
	ml_buf_release(&err);
	cli_node_close(&n);
	return ex;
}

static int bundle_heads(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "bundle heads -o FILE";
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {0}};
	const char *out = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'h')
			return printf(_("usage: memberlog %s\n\nWrites what this node holds of "
			                "each feed, for the sender's 'bundle export --since'.\n"),
			              usage),
			       CLI_OK;
		else
			return cli_usage(usage);
	}
	if (!out || optind != argc)
		return cli_usage(usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	sqlite3_stmt *st;
	struct ml_buf err = ML_BUF_INIT;
	int ex = CLI_OK;
	json_t *feeds = json_array();
	if (ml_read_prepare(n.s,
	                    "SELECT author, unit, lane, auth_seq FROM feeds WHERE auth_seq > 0 "
	                    "ORDER BY author, unit, lane",
	                    &st, &err) != ML_OK)
		ex = cli_error("%s", ml_buf_str(&err));
	while (ex == CLI_OK && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(
		    feeds, json_pack("{s:o, s:o, s:s, s:I}", "author",
		                     cli_json_hex(sqlite3_column_blob(st, 0), 32), "unit",
		                     cli_json_hex(sqlite3_column_blob(st, 1), 32), "lane",
		                     sqlite3_column_int(st, 2) ? "reg" : "gov", "seq",
		                     (json_int_t)sqlite3_column_int64(st, 3)));
	if (ex == CLI_OK)
		sqlite3_finalize(st);
	json_t *doc = json_pack("{s:i, s:o, s:o}", "version", 1, "network",
	                        cli_json_hex(n.net.b, 32), "feeds", feeds);
	if (ex == CLI_OK && json_dump_file(doc, out, JSON_INDENT(1) | JSON_SORT_KEYS) != 0)
		ex = cli_error(_("cannot write '%s'"), out);
	if (ex == CLI_OK && !cli->json)
		printf(ngettext("wrote the head of %zu feed to %s\n",
		                "wrote the heads of %zu feeds to %s\n", json_array_size(feeds)),
		       json_array_size(feeds), out);
	else if (ex == CLI_OK)
		cli_print_json(json_pack("{s:i, s:s, s:I}", "version", 1, "file", out, "feeds",
		                         (json_int_t)json_array_size(feeds)));
	json_decref(doc);
	ml_buf_release(&err);
	cli_node_close(&n);
	return ex;
}

/* Loads this device's key when there is one (an encrypted bundle needs it). */
static struct ml_key *own_key(struct cli *cli)
{
	struct ml_buf path = ML_BUF_INIT, err = ML_BUF_INIT;
	struct ml_key *key = NULL;
	if (cli_home_path(cli, "device.key", &path) == ML_OK)
		ml_keyfile_load(ml_buf_str(&path), &key, &err);
	ml_buf_release(&path);
	ml_buf_release(&err);
	return key;
}

static int bundle_import(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "bundle import FILE...";
	if (argc < 2 || cli_is_help(argv[1]))
		return argc >= 2
		           ? (printf(_("usage: memberlog %s\n\nVerifies and stores the ops of "
		                       "bundles, exactly as ops from the network: forged, altered "
		                       "or unauthorised ops never change the register.\n"),
		                     usage),
		              CLI_OK)
		           : cli_usage(usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_key *key = own_key(cli);
	struct ml_buf file = ML_BUF_INIT, ops = ML_BUF_INIT, err = ML_BUF_INIT;
	int ex = CLI_OK;
	json_t *files = json_array();
	for (int f = 1; f < argc && ex == CLI_OK; f++) {
		struct ml_bundle_info info;
		ml_buf_reset(&file);
		ml_buf_reset(&ops);
		if (cli_read_file(argv[f], &file, &err) != ML_OK) {
			ex = cli_error("%s", ml_buf_str(&err));
			break;
		}
		if (ml_bundle_read(file.data, file.len, key, &info, &ops, &err) != ML_OK) {
			ex = cli_error(_("'%s': %s; nothing was imported from it"), argv[f],
			               ml_buf_str(&err));
			break;
		}
		if (!ml_hash_eq(&info.net, &n.net)) {
			ex = cli_error(
			    _("'%s' is from another network; nothing was imported from it"),
			    argv[f]);
			break;
		}
		size_t k = 0, cap = 0, off = 0, len;
		const uint8_t **p = NULL, *op;
		size_t *lens = NULL, lcap = 0;
		int rc;
		while ((rc = ml_oplog_next(ops.data, ops.len, &off, &op, &len, &err)) == ML_OK) {
			const uint8_t **v = ml_grow(p, &cap, k + 1, sizeof *v, 256);
			size_t *lv = ml_grow(lens, &lcap, k + 1, sizeof *lv, 256);
			if (v)
				p = v;
			if (lv)
				lens = lv;
			if (!v || !lv) {
				rc = ML_ENOMEM;
				break;
			}
			p[k] = op;
			lens[k++] = len;
		}
		struct ml_ingest_result res;
		memset(&res, 0, sizeof res);
		if (rc != ML_ENOTFOUND)
			ex = cli_error(_("'%s' is damaged: %s; nothing was imported from it"),
			               argv[f], ml_buf_str(&err));
		else if (k &&
		         (rc = ml_store_ingest(n.s, p, lens, k, ml_now_ms(), &res, &err)) != ML_OK)
			ex = cli_error(
			    rc == ML_EAGAIN
			        ? _("'%s': too many ops wait for ops this node lacks; import the "
			            "earlier bundles first. Nothing was imported.")
			        : _("'%s': %s; nothing was imported"),
			    argv[f], ml_buf_str(&err));
		ml_free(p);
		ml_free(lens);
		if (ex != CLI_OK)
			break;
		json_array_append_new(
		    files, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "file", argv[f], "ops",
		                     (json_int_t)res.received, "applied", (json_int_t)res.applied,
		                     "rejected", (json_int_t)res.rejected, "duplicate",
		                     (json_int_t)res.duplicate, "waiting", (json_int_t)res.waiting,
		                     "refused", (json_int_t)res.refused));
		if (!cli->json) {
			printf(_("%s: %zu ops: %zu applied, %zu already here, %zu rejected, %zu "
			         "waiting for missing ops, %zu refused\n"),
			       argv[f], res.received, res.applied, res.duplicate, res.rejected,
			       res.waiting, res.refused);
			if (res.rejected || res.refused)
				printf(_("  first problem: %s\n"), res.first_message);
		}
		if (res.refused)
			ex = cli_error(_("'%s' held %zu ops that failed verification (forged, "
			                 "altered or from another network); they were not stored"),
			               argv[f], res.refused);
	}
	if (cli->json)
		cli_print_json(json_pack("{s:i, s:o}", "version", 1, "bundles", files));
	else
		json_decref(files);
	ml_key_free(key);
	ml_buf_release(&file);
	ml_buf_release(&ops);
	ml_buf_release(&err);
	cli_node_close(&n);
	return ex;
}

static int bundle_show(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "bundle show FILE";
	if (argc != 2 || cli_is_help(argv[1]))
		return argc == 2
		           ? (printf(
		                  _("usage: memberlog %s\n\nPrints a bundle's network, recipient "
		                    "and op count (when it is for this device or unencrypted).\n"),
		                  usage),
		              CLI_OK)
		           : cli_usage(usage);
	struct ml_key *key = own_key(cli);
	struct ml_buf file = ML_BUF_INIT, ops = ML_BUF_INIT, err = ML_BUF_INIT;
	struct ml_bundle_info info;
	int ex = CLI_OK;
	if (cli_read_file(argv[1], &file, &err) != ML_OK)
		ex = cli_error("%s", ml_buf_str(&err));
	int rc =
	    ex == CLI_OK ? ml_bundle_read(file.data, file.len, key, &info, &ops, &err) : ML_EIO;
	if (ex == CLI_OK && rc != ML_OK && rc != ML_ECRYPT)
		ex = cli_error("'%s': %s", argv[1], ml_buf_str(&err));
	size_t count = 0, off = 0, len;
	const uint8_t *op;
	while (rc == ML_OK && ml_oplog_next(ops.data, ops.len, &off, &op, &len, NULL) == ML_OK)
		count++;
	if (ex == CLI_OK) {
		char net[65], to[65];
		ml_hex_encode(info.net.b, 32, net);
		ml_hex_encode(info.to.b, 32, to);
		if (cli->json) {
			json_t *o = json_pack("{s:i, s:s, s:b}", "version", 1, "network", net,
			                      "encrypted", info.encrypted);
			if (info.encrypted)
				json_object_set_new(o, "recipient", json_string(to));
			json_object_set_new(
			    o, "ops", rc == ML_OK ? json_integer((json_int_t)count) : json_null());
			cli_print_json(o);
		} else {
			printf(_("network    %s\nencrypted  %s\n"), net,
			       info.encrypted ? to : _("no"));
			if (rc == ML_OK)
				printf(_("ops        %zu\n"), count);
			else
				printf(_("ops        (encrypted to another device)\n"));
		}
	}
	ml_key_free(key);
	ml_buf_release(&file);
	ml_buf_release(&ops);
	ml_buf_release(&err);
	return ex;
}

int cmd_bundle(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
	    {"export", bundle_export,
	     N_("write the ops a device may read and lacks, encrypted to it")},
	    {"import", bundle_import, N_("verify and store the ops of bundles")},
	    {"heads", bundle_heads, N_("write what this node holds, for the sender's --since")},
	    {"show", bundle_show, N_("print what a bundle holds")},
	};
	return cli_dispatch(cli, argc, argv, verbs, sizeof verbs / sizeof verbs[0]);
}
