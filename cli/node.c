/*
 * node.c - the open node, name resolution and writing for the commands (see node.h).
 */
#include "node.h"

#include "i18n.h"

#include "crdt/err.h"
#include "crdt/number.h"
#include "node/keyfile.h"
#include "net/daemon.h"
#include "node/read.h"
#include "node/replica.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_node_open(struct cli *cli, unsigned needs, struct cli_node *n)
{
	memset(n, 0, sizeof *n);
	n->cli = cli;
	if (needs & NODE_KEY) {
		struct ml_buf path = ML_BUF_INIT, err = ML_BUF_INIT;
		int rc = cli_home_path(cli, "device.key", &path);
		if (rc == ML_OK)
			rc = ml_keyfile_load(ml_buf_str(&path), &n->key, &err);
		if (rc != ML_OK)
			cli_error("%s", err.len ? ml_buf_str(&err) : ml_strerror(rc));
		ml_buf_release(&path);
		ml_buf_release(&err);
		if (rc != ML_OK)
			return CLI_ERROR;
	}
	if (cli_store_open(cli, needs & NODE_CREATE, &n->s) != ML_OK) {
		cli_node_close(n);
		return CLI_ERROR;
	}
	if ((needs & NODE_NETWORK) && !ml_store_network(n->s, &n->net)) {
		cli_node_close(n);
		return cli_error(
		    _("this node belongs to no network yet: create one with 'memberlog "
		      "network create' or join one with 'memberlog network join'"));
	}
	ml_store_network(n->s, &n->net);
	n->org = (enum ml_org)ml_read_org(n->s);
	ml_replica_last_eval(n->s, &n->eval_at_open, NULL);
	return CLI_OK;
}

void cli_node_close(struct cli_node *n)
{
	int64_t eval = 0;
	/* New ops: a `serve` running on this node sends them on at once. */
	if (n->s && ml_replica_last_eval(n->s, &eval, NULL) == ML_OK && eval > n->eval_at_open)
		ml_daemon_notify(n->cli->home, NULL);
	ml_store_close(n->s);
	ml_key_free(n->key);
	n->s = NULL;
	n->key = NULL;
}

const char *cli_short(const struct ml_hash *id, char out[17])
{
	ml_hex_encode(id->b, 8, out);
	return out;
}

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

static bool all_digits(const char *s, size_t want)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return i == want;
}

/*
 * Runs sql (?1 bound to text) and keeps the first id; *count is how many
 * rows matched (up to 2: enough to say "ambiguous").
 */
static int find_ids(struct cli_node *n, const char *sql, const char *text, struct ml_hash *out,
                    int *count)
{
	sqlite3_stmt *st;
	struct ml_buf err = ML_BUF_INIT;
	*count = 0;
	if (ml_read_prepare(n->s, sql, &st, &err) != ML_OK) {
		cli_error("%s", ml_buf_str(&err));
		ml_buf_release(&err);
		return CLI_ERROR;
	}
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	while (*count < 2 && sqlite3_step(st) == SQLITE_ROW) {
		if (*count == 0 && sqlite3_column_bytes(st, 0) == 32)
			memcpy(out->b, sqlite3_column_blob(st, 0), 32);
		(*count)++;
	}
	sqlite3_finalize(st);
	return CLI_OK;
}

/* Upper-case hex prefix for matching hex(id). */
static void upper_prefix(const char *text, char *out, size_t size)
{
	size_t i = 0;
	for (; text[i] && i + 2 < size; i++)
		out[i] = (char)toupper((unsigned char)text[i]);
	out[i++] = '%';
	out[i] = 0;
}

int cli_unit_find(struct cli_node *n, const char *text, struct ml_hash *out)
{
	int count = 0;
	if (find_ids(n, "SELECT id FROM units WHERE name = ?1 ORDER BY id", text, out, &count))
		return CLI_ERROR;
	if (count == 0 && strlen(text) >= 6 && strlen(text) <= 64 && is_hex(text)) {
		char like[80];
		upper_prefix(text, like, sizeof like);
		if (find_ids(n, "SELECT id FROM units WHERE hex(id) LIKE ?1", like, out, &count))
			return CLI_ERROR;
	}
	if (count == 1)
		return CLI_OK;
	if (count > 1)
		return cli_error(_("'%s' names more than one unit; give more of its id "
		                   "('memberlog unit list' shows them)"),
		                 text);
	return cli_error(_("no unit '%s' in this node's register; 'memberlog unit list' shows "
	                   "the units it knows"),
	                 text);
}

int cli_member_find(struct cli_node *n, const char *text, struct ml_hash *out)
{
	int count = 0;
	if (strlen(text) == 64 && ml_hex_decode(text, out->b, 32) == ML_OK)
		return CLI_OK;
	if (all_digits(text, 12) &&
	    find_ids(n, "SELECT id FROM members WHERE number = ?1", text, out, &count))
		return CLI_ERROR;
	if (count == 0 && (all_digits(text, 9) || all_digits(text, 12)) &&
	    find_ids(n, "SELECT id FROM members WHERE id_number = ?1 ORDER BY id", text, out,
	             &count))
		return CLI_ERROR;
	if (count > 1)
		return cli_error(_("more than one record has ID number %s (possible duplicates); "
		                   "name the member by its id ('memberlog member search')"),
		                 text);
	if (count == 0 && strlen(text) >= 6 && strlen(text) < 64 && is_hex(text)) {
		char like[80];
		upper_prefix(text, like, sizeof like);
		if (find_ids(n, "SELECT id FROM members WHERE hex(id) LIKE ?1", like, out, &count))
			return CLI_ERROR;
		if (count > 1)
			return cli_error(
			    _("'%s' is the start of more than one member id; give more "
			      "of it"),
			    text);
	}
	if (count == 1)
		return CLI_OK;
	return cli_error(_("no member '%s' in this node's register; give the member's id, "
	                   "member number or ID card number ('memberlog member search NAME')"),
	                 text);
}

int cli_device_parse(const char *text, struct ml_pubkey *out)
{
	if (strlen(text) != 64 || ml_hex_decode(text, out->b, 32) != ML_OK) {
		cli_error(_("'%s' is not a device key: it has 64 hex digits, as 'memberlog device "
		            "show' prints on that device"),
		          text);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int cli_write(struct cli_node *n, const struct ml_hash *unit, enum ml_lane lane,
              const struct ml_draft *drafts, size_t k, struct ml_hash *ids)
{
	struct ml_buf err = ML_BUF_INIT;
	int rc = ml_author_write(n->s, n->key, unit, lane, drafts, k, ml_now_ms(), ids, NULL, &err);
	if (rc != ML_OK) {
		const char *msg = err.len ? ml_buf_str(&err) : ml_strerror(rc);
		if (rc == ML_EUNAUTH)
			cli_error(_("not allowed: %s\nhint: 'memberlog device show' prints this "
			            "device's key and roles; an admin above grants roles"),
			          msg);
		else
			cli_error(_("nothing was written: %s"), msg);
	}
	ml_buf_release(&err);
	return rc == ML_OK ? CLI_OK : CLI_ERROR;
}

int cli_write_one(struct cli_node *n, const struct ml_hash *unit, const char *type,
                  struct ml_body_builder *bb, struct ml_hash *id)
{
	struct ml_buf body = ML_BUF_INIT;
	int rc = ml_bb_finish(bb, &body);
	ml_bb_release(bb);
	if (rc != ML_OK) {
		ml_buf_release(&body);
		return cli_error(_("cannot build the op: %s"), ml_strerror(rc));
	}
	enum ml_optype t = ml_optype_of(type);
	struct ml_draft d = {type, body.data, body.len};
	int ex = cli_write(n, unit, ml_optype_info(t)->lane, &d, 1, id);
	ml_buf_release(&body);
	return ex;
}

void cli_unit_name(struct cli_node *n, const struct ml_hash *unit, char *out, size_t size)
{
	sqlite3_stmt *st;
	snprintf(out, size, "?");
	if (ml_read_prepare(n->s, "SELECT name FROM units WHERE id = ?1", &st, NULL) != ML_OK)
		return;
	sqlite3_bind_blob(st, 1, unit->b, 32, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
	else {
		char s[17];
		snprintf(out, size, "%s", cli_short(unit, s));
	}
	sqlite3_finalize(st);
}

int cli_dispatch(struct cli *cli, int argc, char **argv, const struct cli_verb *verbs, size_t n)
{
	if (argc >= 2)
		for (size_t i = 0; i < n; i++)
			if (strcmp(argv[1], verbs[i].name) == 0)
				return verbs[i].fn(cli, argc - 1, argv + 1);
	bool help = argc >= 2 && cli_is_help(argv[1]);
	FILE *to = help ? stdout : stderr;
	if (argc >= 2 && !help)
		fprintf(to, _("error: '%s %s' is not a memberlog command\n"), argv[0], argv[1]);
	fprintf(to, _("usage: memberlog %s VERB [OPTIONS]\n\nverbs:\n"), argv[0]);
	for (size_t i = 0; i < n; i++)
		fprintf(to, "  %-12s %s\n", verbs[i].name, _(verbs[i].help));
	fprintf(to, _("\n'memberlog %s VERB --help' describes one verb.\n"), argv[0]);
	return help ? CLI_OK : CLI_USAGE;
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

int cli_subtree(struct cli_node *n, const struct ml_hash *unit, struct ml_hash **out, size_t *k)
{
	sqlite3_stmt *st;
	*out = NULL;
	*k = 0;
	if (ml_read_prepare(n->s, "SELECT id FROM units WHERE parent = ?1", &st, NULL) != ML_OK)
		return cli_error(_("cannot read the tree"));
	size_t cap = 16;
	struct ml_hash *v = malloc(cap * sizeof *v);
	int ex = v ? CLI_OK : cli_error(_("out of memory"));
	if (v)
		v[(*k)++] = *unit;
	/* breadth-first: v[0..done) expanded; the judge keeps the tree acyclic */
	for (size_t done = 0; ex == CLI_OK && done < *k; done++) {
		sqlite3_bind_blob(st, 1, v[done].b, 32, SQLITE_TRANSIENT);
		while (ex == CLI_OK && sqlite3_step(st) == SQLITE_ROW) {
			if (*k == cap) {
				struct ml_hash *w = realloc(v, 2 * cap * sizeof *w);
				if (!w) {
					ex = cli_error(_("out of memory"));
					break;
				}
				v = w;
				cap *= 2;
			}
			memcpy(v[(*k)++].b, sqlite3_column_blob(st, 0), 32);
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (ex == CLI_OK)
		qsort(v, *k, sizeof *v, cmp_id);
	*out = v;
	return ex;
}
