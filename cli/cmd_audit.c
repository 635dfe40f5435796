/*
 * cmd_audit.c - `memberlog audit verify`: an auditor's check of the whole
 * signed history this node holds (node/audit.h), with exit 1 when anything
 * does not hold.
 */
#include "node.h"

#include "i18n.h"

#include "crdt/err.h"
#include "node/audit.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int audit_verify(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "audit verify [--unit UNIT]";
	static const struct option opts[] = {
	    {"unit", required_argument, NULL, 'u'}, {"help", no_argument, NULL, 'h'}, {0}};
	const char *unit_arg = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'u')
			unit_arg = optarg;
		else if (c == 'h')
			return printf(
			           _("usage: memberlog %s\n\nRe-checks every signature, hash "
			             "chain, "
			             "dependency and authority verdict of this node's log from the "
			             "raw signed ops, compares them and the register with what the "
			             "node holds, and counts ops by verdict (of UNIT's subtree, or "
			             "all). Exits 1 if anything does not hold.\n"),
			           usage),
			       CLI_OK;
		else
			return cli_usage(usage);
	}
	if (optind != argc)
		return cli_usage(usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_audit_report r;
	memset(&r, 0, sizeof r);
	struct ml_hash unit, *units = NULL;
	size_t n_units = 0;
	int ex = CLI_OK;
	if (unit_arg) {
		ex = cli_unit_find(&n, unit_arg, &unit);
		if (ex == CLI_OK)
			ex = cli_subtree(&n, &unit, &units, &n_units);
		r.units = units;
		r.n_units = n_units;
	}
	struct ml_buf scratch = ML_BUF_INIT, err = ML_BUF_INIT;
	cli_home_path(cli, "", &scratch);
	ml_buf_addf(&scratch, "audit-%ld.db", (long)getpid());
	if (ex == CLI_OK && ml_audit_store(n.s, ml_buf_str(&scratch), &r, &err) != ML_OK)
		ex = cli_error(_("the audit could not run: %s"), ml_buf_str(&err));
	if (ex == CLI_OK) {
		char nh[65], fh[65];
		ml_hex_encode(r.node_hash.b, 32, nh);
		ml_hex_encode(r.fresh_hash.b, 32, fh);
		if (cli->json) {
			json_t *o = json_pack(
			    "{s:i, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			    "s:s, s:s}",
			    "version", 1, "holds", r.holds, "ops", (json_int_t)r.ops, "applied",
			    (json_int_t)r.applied, "rejected", (json_int_t)r.rejected,
			    "unauthorised", (json_int_t)r.unauthorised, "revoked",
			    (json_int_t)r.revoked, "other_rejected", (json_int_t)r.other_rejected,
			    "waiting", (json_int_t)r.waiting, "forks", (json_int_t)r.forks,
			    "failed_verification", (json_int_t)r.failed_verification,
			    "verdict_mismatch", (json_int_t)r.verdict_mismatch, "missing",
			    (json_int_t)r.missing, "state_hash", nh, "rederived_state_hash", fh);
			if (r.first_problem[0])
				json_object_set_new(o, "first_problem",
				                    json_string(r.first_problem));
			if (unit_arg)
				json_object_set_new(o, "unit", cli_json_hex(unit.b, 32));
			cli_print_json(o);
		} else {
			printf(_("ops in the log          %llu\n"), (unsigned long long)r.ops);
			printf(_("applied                 %llu\n"), (unsigned long long)r.applied);
			printf(
			    _("rejected                %llu (unauthorised %llu, revoked key %llu, "
			      "other %llu)\n"),
			    (unsigned long long)r.rejected, (unsigned long long)r.unauthorised,
			    (unsigned long long)r.revoked, (unsigned long long)r.other_rejected);
			printf(_("waiting for missing ops %llu\n"), (unsigned long long)r.waiting);
			printf(_("forked feeds            %llu\n"), (unsigned long long)r.forks);
			printf(_("failed verification     %llu\n"),
			       (unsigned long long)r.failed_verification);
			printf(_("verdicts that differ    %llu\n"),
			       (unsigned long long)r.verdict_mismatch);
			printf(_("state hash              %s\nre-derived from the log %s\n"), nh,
			       fh);
			if (r.holds)
				printf(_("the history holds: every signature, chain and verdict "
				         "checks out\n"));
		}
		if (!r.holds) {
			fprintf(stderr, _("error: the history does not hold: %s\n"),
			        r.first_problem);
			ex = CLI_ERROR;
		}
	}
	free(units);
	ml_buf_release(&scratch);
	ml_buf_release(&err);
	cli_node_close(&n);
	return ex;
}

int cmd_audit(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
	    {"verify", audit_verify, N_("re-check the whole signed history and the register")},
	};
	return cli_dispatch(cli, argc, argv, verbs, sizeof verbs / sizeof verbs[0]);
}
