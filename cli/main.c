/*
 * main.c - the `memberlog` command: global options and the command table.
 *
 *   memberlog [--home DIR] [--json] COMMAND [ARGS]
 *
 * The node directory is --home, else $MEMBERLOG_HOME, else
 * $XDG_DATA_HOME/memberlog, else ~/.local/share/memberlog.
 */
#include "cli.h"
#include "i18n.h"

#include "crdt/err.h"
#include "crdt/types.h"
#include "node/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ML_VERSION_STRING "0.1.0"

struct command {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *category; /* porcelain or plumbing */
	const char *help;
};

static const struct command commands[] = {
    {"init", cmd_init, "porcelain", N_("create this device's key in the node directory")},
    {"device", cmd_device, "porcelain", N_("show this device's key and roles (device show)")},
    {"network", cmd_network, "porcelain", N_("create, show or join a network")},
    {"grant", cmd_grant, "porcelain", N_("give a device a role at a unit")},
    {"revoke", cmd_revoke, "porcelain", N_("revoke a device everywhere")},
    {"unit", cmd_unit, "porcelain", N_("the organisation tree: create, list, move, merge...")},
    {"numbers", cmd_numbers, "porcelain", N_("delegate member-number ranges")},
    {"member", cmd_member, "porcelain", N_("enter, submit, approve and look up members")},
    {"import", cmd_import, "porcelain", N_("enter the members of a Phụ lục 03 template file")},
    {"export", cmd_export, "porcelain",
     N_("write the detailed member list or card list (.xlsx/.csv)")},
    {"bundle", cmd_bundle, "porcelain", N_("carry ops between nodes on a file (USB stick)")},
    {"serve", cmd_serve, "porcelain", N_("run this node on the network (LAN and internet)")},
    {"sync", cmd_sync, "porcelain", N_("sync once with peers, then exit")},
    {"peers", cmd_peers, "porcelain", N_("show the running node's connections")},
    {"invite", cmd_invite, "porcelain", N_("make a one-time token for a new device to join")},
    {"audit", cmd_audit, "porcelain", N_("verify the whole signed history (audit verify)")},
    {"report", cmd_report, "porcelain", N_("progress, missing information, payment... per unit")},
    {"demo", cmd_demo, "porcelain",
     N_("write and verify a small signed op log, printing each step")},
    {"sample", cmd_sample, "plumbing",
     N_("write a Phụ lục 03 template of synthetic members (for trying and testing)")},
    {"op", cmd_op, "plumbing", N_("decode and check one op (op decode FILE)")},
    {"feed", cmd_feed, "plumbing", N_("verify a file of ops feed by feed (feed verify FILE)")},
    {"ingest", cmd_ingest, "plumbing", N_("store and judge the ops of files (ingest FILE...)")},
    {"state-hash", cmd_state_hash, "plumbing", N_("print the hash of this node's register")},
    {"rebuild", cmd_rebuild, "plumbing", N_("re-judge every op and recompute the register")},
    {"status", cmd_status, "plumbing", N_("counts of ops and register rows")},
};

static void print_help(FILE *to)
{
	fprintf(to, "usage: memberlog [--home DIR] [--json] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(to, "  %-10s %s\n", commands[i].name, _(commands[i].help));
	fprintf(to,
	        "\n'memberlog COMMAND --help' describes one command.\n"
	        "The node directory is --home, $MEMBERLOG_HOME, or $XDG_DATA_HOME/memberlog.\n");
}

static const char *default_home(struct ml_buf *b)
{
	const char *env = getenv("MEMBERLOG_HOME");
	if (env && *env)
		return env;
	const char *xdg = getenv("XDG_DATA_HOME");
	if (xdg && *xdg)
		ml_buf_addf(b, "%s/memberlog", xdg);
	else
		ml_buf_addf(b, "%s/.local/share/memberlog", getenv("HOME") ? getenv("HOME") : ".");
	return ml_buf_str(b);
}

/* Takes --json out of argv wherever it is (before "--"), so every command accepts it. */
static bool take_json(int *argc, char **argv)
{
	bool found = false;
	int k = 1;
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[k++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--json") == 0)
			found = true;
		else
			argv[k++] = argv[i];
	}
	*argc = k;
	argv[k] = NULL;
	return found;
}

int main(int argc, char **argv)
{
	struct cli cli = {.prog = argv[0]};
	ml_store_setup(); /* before any command's first SQLite use */
	cli_i18n_init();
	cli.json = take_json(&argc, argv);
	struct ml_buf home = ML_BUF_INIT;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--home") == 0 && i + 1 < argc) {
			cli.home = argv[++i];
		} else if (strncmp(argv[i], "--home=", 7) == 0) {
			cli.home = argv[i] + 7;
		} else if (strcmp(argv[i], "--json") == 0) {
			cli.json = true;
		} else if (cli_is_help(argv[i])) {
			print_help(stdout);
			return CLI_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("memberlog %s (op format %d)\n", ML_VERSION_STRING, ML_OP_VERSION);
			return CLI_OK;
		} else {
			fprintf(stderr, "error: unknown option '%s'\n", argv[i]);
			print_help(stderr);
			return CLI_USAGE;
		}
	}
	if (i == argc) {
		print_help(stderr);
		return CLI_USAGE;
	}
	if (!cli.home)
		cli.home = default_home(&home);
	if (ml_crypto_init() != ML_OK)
		return cli_error("cannot initialise libsodium");
	for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
		if (strcmp(argv[i], commands[c].name) == 0) {
			int rc = commands[c].fn(&cli, argc - i, argv + i);
			ml_buf_release(&home);
			return rc;
		}
	}
	fprintf(stderr, "error: '%s' is not a memberlog command; see 'memberlog --help'\n",
	        argv[i]);
	ml_buf_release(&home);
	return CLI_USAGE;
}
