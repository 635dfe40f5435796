/*
 * node.h - what the porcelain commands share: the open node (its store and
 * this device's key), finding units and members from what a person types,
 * and writing ops as this device.
 *
 * Every function prints its own error (cli_error) and returns a cli_exit
 * code, so a command can `return` what it gets.
 */
#ifndef ML_CLI_NODE_H
#define ML_CLI_NODE_H

#include "cli.h"

#include "crdt/key.h"
#include "crdt/schema.h"
#include "node/author.h"
#include "node/store.h"

enum cli_node_needs {
	NODE_KEY = 1 << 0,     /* this device's key (commands that sign) */
	NODE_NETWORK = 1 << 1, /* a store that knows its network */
	NODE_CREATE = 1 << 2,  /* create the store if there is none */
};

struct cli_node {
	struct cli *cli;
	struct ml_store *s;
	struct ml_key *key; /* NULL unless NODE_KEY */
	struct ml_hash net; /* set with NODE_NETWORK: the network id, also the national unit */
	enum ml_org org;
	int64_t eval_at_open; /* a `serve` on this node is woken when a command wrote */
};

/* Opens the node for a command; CLI_OK, or CLI_ERROR after printing why.  Close with
 * cli_node_close. */
int cli_node_open(struct cli *cli, unsigned needs, struct cli_node *n);

/* Closes what cli_node_open opened; accepts a zeroed node. */
void cli_node_close(struct cli_node *n);

/*
 * Finds the unit named by text: its id in hex (64 digits, or a unique prefix
 * of at least 6), or its exact name when one unit has it.  CLI_OK or
 * CLI_ERROR after printing what matched.
 */
int cli_unit_find(struct cli_node *n, const char *text, struct ml_hash *out);

/*
 * Finds the member named by text: its id in hex (or a unique prefix of at
 * least 6), its 12-digit member number, or its ID card number when one
 * record has it.  CLI_OK or CLI_ERROR.
 */
int cli_member_find(struct cli_node *n, const char *text, struct ml_hash *out);

/*
 * Sets *out (malloc'd, sorted by id; the caller frees it) to unit and every
 * unit below it, *k their count.  CLI_OK or CLI_ERROR.
 */
int cli_subtree(struct cli_node *n, const struct ml_hash *unit, struct ml_hash **out, size_t *k);

/* Parses a device key (64 hex digits); CLI_OK or CLI_USAGE after printing why. */
int cli_device_parse(const char *text, struct ml_pubkey *out);

/*
 * Signs and stores drafts[0..k) as one batch about unit; ids (optional)
 * receives their ids.  CLI_OK, or CLI_ERROR with the judge's reason printed
 * (nothing is stored then).
 */
int cli_write(struct cli_node *n, const struct ml_hash *unit, enum ml_lane lane,
              const struct ml_draft *drafts, size_t k, struct ml_hash *ids);

/* Writes one op of type with the body bb (released here) about unit; see cli_write. */
int cli_write_one(struct cli_node *n, const struct ml_hash *unit, const char *type,
                  struct ml_body_builder *bb, struct ml_hash *id);

/* The unit's name into out (its short id when unknown); never fails. */
void cli_unit_name(struct cli_node *n, const struct ml_hash *unit, char *out, size_t size);

/* True when arg looks like an invite token (`memberlog invite`). */
bool cli_is_token(const char *arg);

/*
 * Joins with an invite token: sets the node's network, connects to the
 * inviter, proves the invite and syncs once.  CLI_OK, CLI_ERROR after
 * printing why (a damaged token, the inviter unreachable or refusing).
 */
int cli_join_token(struct cli *cli, struct cli_node *n, const char *token, unsigned timeout_s);

/* Prints hex of the first 16 hex digits of id (the short form people read). */
const char *cli_short(const struct ml_hash *id, char out[17]);

/* One verb of a noun ("unit create"): its function and a one-line description. */
struct cli_verb {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *help;
};

/*
 * Runs the verb argv[1] of noun argv[0] from verbs[0..n), or prints the
 * noun's help (exit 0 for --help, 2 otherwise).
 */
int cli_dispatch(struct cli *cli, int argc, char **argv, const struct cli_verb *verbs, size_t n);

#endif
