/*
 * cli.h - what the `memberlog` commands share: options, exit codes, output.
 *
 * Commands parse their arguments, call crdt/ and node/, and print: data to
 * stdout, diagnostics to stderr (git's grammar: lowercase, the failure first,
 * the subject quoted).  Only cli/ calls exit().
 */
#ifndef ML_CLI_H
#define ML_CLI_H

#include "crdt/buf.h"
#include "crdt/op.h"

struct ml_store;

#include <jansson.h>
#include <stdbool.h>

enum cli_exit {
	CLI_OK = 0,
	CLI_ERROR = 1,    /* a failure, or an integrity problem */
	CLI_USAGE = 2,    /* bad command line */
	CLI_FINDINGS = 3, /* an audit found problems */
};

struct cli {
	const char *home; /* the node directory */
	bool json;        /* --json: one JSON document on stdout */
	const char *prog; /* how the program was invoked (argv[0]), for hints */
};

/* Prints "error: <message>" to stderr; returns CLI_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "usage: memberlog <usage>" to stderr; returns CLI_USAGE. */
int cli_usage(const char *usage);

/* Returns true when argv[i] is "-h" or "--help". */
bool cli_is_help(const char *arg);

/* Prints a JSON document (and a newline) to stdout and releases it; CLI_OK or CLI_ERROR. */
int cli_print_json(json_t *doc);

/* Returns "hex" of p[0..n) as a new JSON string. */
json_t *cli_json_hex(const void *p, size_t n);

/* Describes op as a JSON object (schema in docs/CLI-JSON.md); NULL on allocation failure. */
json_t *cli_op_json(const struct ml_op *op);

/* Prints op in one human-readable paragraph to stdout. */
void cli_op_print(const struct ml_op *op);

/*
 * Reads the whole file at path ("-" for stdin) into out.  Returns ML_OK or an
 * error with a message naming the file in err.
 */
int cli_read_file(const char *path, struct ml_buf *out, struct ml_buf *err);

/* Writes p[0..n) to path (replacing it); CLI_OK, or CLI_ERROR with the reason printed. */
int cli_write_file(const char *path, const uint8_t *p, size_t n);

/*
 * Parses the options of "memberlog NOUN VERB [--net ID] [--help] ARGS...",
 * argv[0] being NOUN.  Sets *net and *have_net, and *first to the index of
 * the first operand.  Returns -1 to go on, or the exit code to return now
 * (after printing help or a usage or error message).
 */
int cli_net_options(int argc, char **argv, const char *usage, const char *help, struct ml_hash *net,
                    bool *have_net, int *first);

/* Path of a file in the node directory ("<home>/<name>") into out; ML_OK or ML_ENOMEM. */
int cli_home_path(const struct cli *cli, const char *name, struct ml_buf *out);

/* Creates dir and its parents with mode 0700; ML_OK or ML_EIO with a message in err. */
int cli_make_dirs(const char *dir, struct ml_buf *err);

/* Opens the node's store (HOME/memberlog.db); prints the error itself. */
int cli_store_open(struct cli *cli, bool create, struct ml_store **out);

/* The commands. */
int cmd_init(struct cli *cli, int argc, char **argv);
int cmd_device(struct cli *cli, int argc, char **argv);
int cmd_op(struct cli *cli, int argc, char **argv);
int cmd_feed(struct cli *cli, int argc, char **argv);
int cmd_demo(struct cli *cli, int argc, char **argv);
int cmd_ingest(struct cli *cli, int argc, char **argv);
int cmd_state_hash(struct cli *cli, int argc, char **argv);
int cmd_rebuild(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_network(struct cli *cli, int argc, char **argv);
int cmd_grant(struct cli *cli, int argc, char **argv);
int cmd_revoke(struct cli *cli, int argc, char **argv);
int cmd_unit(struct cli *cli, int argc, char **argv);
int cmd_numbers(struct cli *cli, int argc, char **argv);
int cmd_member(struct cli *cli, int argc, char **argv);
int cmd_report(struct cli *cli, int argc, char **argv);
int cmd_bundle(struct cli *cli, int argc, char **argv);
int cmd_audit(struct cli *cli, int argc, char **argv);
int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_serve(struct cli *cli, int argc, char **argv);
int cmd_sync(struct cli *cli, int argc, char **argv);
int cmd_peers(struct cli *cli, int argc, char **argv);
int cmd_invite(struct cli *cli, int argc, char **argv);
int cmd_sample(struct cli *cli, int argc, char **argv);

#endif
