/*
 * cmd_store.c - plumbing on the node's store: ingest files of ops, print the
 * state hash, rebuild, show counts.
 *
 * `memberlog ingest` prints one line per committed batch
 * ("committed batch N: ops A..B"), flushed, so a caller that kills it knows
 * which batches were acknowledged: those must survive any crash.
 */
#include "cli.h"
#include "i18n.h"

#include "crdt/alloc.h"
#include "crdt/audit.h"
#include "crdt/err.h"
#include "node/author.h"
#include "node/store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_FILE "memberlog.db"

int cli_store_open(struct cli *cli, bool create, struct ml_store **out)
{
	struct ml_buf path = ML_BUF_INIT, err = ML_BUF_INIT;
	int rc = create ? cli_make_dirs(cli->home, &err) : ML_OK;
	if (rc == ML_OK)
		rc = cli_home_path(cli, STORE_FILE, &path);
	if (rc == ML_OK)
		rc = ml_store_open(ml_buf_str(&path), create ? ML_STORE_CREATE : 0, out, &err);
	if (rc == ML_ENOTFOUND)
		cli_error(
		    _("no node in '%s': create a network with 'memberlog network create' or join "
		      "one with 'memberlog network join'"),
		    cli->home);
	else if (rc != ML_OK)
		cli_error("%s", ml_buf_str(&err));
	ml_buf_release(&path);
	ml_buf_release(&err);
	return rc;
}

static const char ingest_usage[] = "ingest [--batch N] FILE...";

/* `memberlog ingest`: batches go in one behind the other, each one's signatures checked on
 * another thread while the store ingests the one before. */
struct ingest_run {
	struct ml_store *s;
	const char *file;
	struct ml_batch *ahead; /* being checked, ingested next */
	size_t ahead_first, ahead_n;
	size_t n_batch, total, applied, rejected, refused;
	struct ml_buf err;
};

/* Ingests the batch ahead, if any, and puts ops[0..n) ahead in its place (n = 0: none). */
static int ingest_ahead(struct ingest_run *r, const uint8_t **ops, const size_t *lens, size_t n)
{
	struct ml_batch *next = NULL;
	if (n && ml_batch_new(r->s, ops, lens, n, &next) != ML_OK)
		return cli_error("out of memory");
	if (next)
		ml_batch_check_start(next);
	if (r->ahead) {
		struct ml_ingest_result res;
		int irc = ml_store_ingest_batch(r->s, r->ahead, ml_now_ms(), NULL, &res, &r->err);
		ml_batch_free(r->ahead);
		r->ahead = NULL;
		if (irc != ML_OK) {
			ml_batch_free(next);
			return cli_error("'%s': batch %zu: %s", r->file, r->n_batch + 1,
			                 ml_buf_str(&r->err));
		}
		r->n_batch++;
		printf("committed batch %zu: ops %zu..%zu\n", r->n_batch, r->ahead_first + 1,
		       r->ahead_first + r->ahead_n);
		fflush(stdout);
		r->total += r->ahead_n;
		r->applied += res.applied;
		r->rejected += res.rejected;
		r->refused += res.refused;
	}
	r->ahead = next;
	r->ahead_first = r->total;
	r->ahead_n = n;
	return CLI_OK;
}

int cmd_ingest(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"batch", required_argument, NULL, 'b'}, {"help", no_argument, NULL, 'h'}, {0}};
	size_t batch = 256;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'b') {
			long v = strtol(optarg, NULL, 10);
			if (v < 1 || v > ML_BATCH_MAX * 4)
				return cli_error("--batch takes 1 to %d ops", ML_BATCH_MAX * 4);
			batch = (size_t)v;
		} else if (c == 'h') {
			printf(
			    "usage: memberlog %s\n\nStores and judges the ops of each FILE (ops "
			    "concatenated, as 'bundle' and 'feed verify' read them), BATCH ops per "
			    "transaction.\nPrints a line per committed batch.\n",
			    ingest_usage);
			return CLI_OK;
		} else {
			return cli_usage(ingest_usage);
		}
	}
	if (optind >= argc)
		return cli_usage(ingest_usage);
	struct ml_store *s;
	if (cli_store_open(cli, true, &s) != ML_OK)
		return CLI_ERROR;
	struct ingest_run run = {.s = s};
	struct ml_buf data = ML_BUF_INIT;
	const uint8_t **ops = ml_calloc(batch, sizeof *ops);
	size_t *lens = ml_calloc(batch, sizeof *lens);
	int exit_code = ops && lens ? CLI_OK : cli_error("out of memory");
	for (int f = optind; f < argc && exit_code == CLI_OK; f++) {
		ml_buf_reset(&data);
		run.file = argv[f];
		if (cli_read_file(argv[f], &data, &run.err) != ML_OK) {
			exit_code = cli_error("%s", ml_buf_str(&run.err));
			break;
		}
		size_t off = 0, n = 0;
		const uint8_t *p;
		size_t len;
		int rc;
		for (;;) {
			rc = ml_oplog_next(data.data, data.len, &off, &p, &len, &run.err);
			if (rc == ML_OK) {
				ops[n] = p;
				lens[n++] = len;
			}
			if (n == batch || (rc != ML_OK && n > 0)) {
				exit_code = ingest_ahead(&run, ops, lens, n);
				n = 0;
				if (exit_code != CLI_OK)
					break;
			}
			if (rc != ML_OK)
				break;
		}
		/* The file's bytes are reused for the next file: its last batch goes in first. */
		if (exit_code == CLI_OK)
			exit_code = ingest_ahead(&run, NULL, NULL, 0);
		if (exit_code == CLI_OK && rc != ML_ENOTFOUND)
			exit_code = cli_error("'%s': %s", argv[f], ml_buf_str(&run.err));
	}
	ml_batch_free(run.ahead);
	if (exit_code == CLI_OK)
		printf("%zu ops: %zu applied, %zu rejected, %zu refused\n", run.total, run.applied,
		       run.rejected, run.refused);
	ml_free(ops);
	ml_free(lens);
	ml_buf_release(&data);
	ml_buf_release(&run.err);
	ml_store_close(s);
	return exit_code;
}

int cmd_state_hash(struct cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return cli_is_help(argv[1])
		           ? (printf("usage: memberlog state-hash\n\nPrints the hash "
		                     "of the register this node holds.\n"),
		              CLI_OK)
		           : cli_usage("state-hash");
	struct ml_store *s;
	if (cli_store_open(cli, false, &s) != ML_OK)
		return CLI_ERROR;
	struct ml_hash h;
	struct ml_buf err = ML_BUF_INIT;
	int rc = ml_store_state_hash(s, &h, &err), exit_code = CLI_OK;
	if (rc == ML_OK) {
		char x[65];
		ml_hex_encode(h.b, 32, x);
		if (cli->json)
			cli_print_json(
			    json_pack("{s:i, s:s}", "schema_version", 1, "state_hash", x));
		else
			printf("%s\n", x);
	} else {
		exit_code = cli_error("%s", ml_buf_str(&err));
	}
	ml_buf_release(&err);
	ml_store_close(s);
	return exit_code;
}

int cmd_rebuild(struct cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return cli_is_help(argv[1]) ? (printf("usage: memberlog rebuild\n\nRe-judges every "
		                                      "stored op and recomputes the register.\n"),
		                               CLI_OK)
		                            : cli_usage("rebuild");
	struct ml_store *s;
	if (cli_store_open(cli, false, &s) != ML_OK)
		return CLI_ERROR;
	struct ml_buf err = ML_BUF_INIT;
	int exit_code =
	    ml_store_rebuild(s, &err) == ML_OK ? CLI_OK : cli_error("%s", ml_buf_str(&err));
	ml_buf_release(&err);
	ml_store_close(s);
	return exit_code;
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return cli_is_help(argv[1])
		           ? (printf("usage: memberlog [--json] status\n\nCounts of "
		                     "ops and register rows.\n"),
		              CLI_OK)
		           : cli_usage("[--json] status");
	struct ml_store *s;
	if (cli_store_open(cli, false, &s) != ML_OK)
		return CLI_ERROR;
	struct ml_store_counts c;
	struct ml_buf err = ML_BUF_INIT;
	int exit_code = CLI_OK;
	if (ml_store_counts(s, &c, &err) != ML_OK) {
		exit_code = cli_error("%s", ml_buf_str(&err));
	} else if (cli->json) {
		cli_print_json(
		    json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		              "schema_version", 1, "ops", (json_int_t)c.ops, "applied",
		              (json_int_t)c.applied, "rejected", (json_int_t)c.rejected, "waiting",
		              (json_int_t)c.waiting, "unverified", (json_int_t)c.unverified,
		              "feeds", (json_int_t)c.feeds, "units", (json_int_t)c.units, "members",
		              (json_int_t)c.members, "grants", (json_int_t)c.grants, "conflicts",
		              (json_int_t)c.conflicts, "forks", (json_int_t)c.forks));
	} else {
		printf("ops %llu: %llu applied, %llu rejected, %llu waiting, %llu unverified\n"
		       "feeds %llu, units %llu, members %llu, grants %llu, conflicts %llu, "
		       "duplicates %llu, forks %llu\n",
		       (unsigned long long)c.ops, (unsigned long long)c.applied,
		       (unsigned long long)c.rejected, (unsigned long long)c.waiting,
		       (unsigned long long)c.unverified, (unsigned long long)c.feeds,
		       (unsigned long long)c.units, (unsigned long long)c.members,
		       (unsigned long long)c.grants, (unsigned long long)c.conflicts,
		       (unsigned long long)c.duplicates, (unsigned long long)c.forks);
	}
	ml_buf_release(&err);
	ml_store_close(s);
	return exit_code;
}
