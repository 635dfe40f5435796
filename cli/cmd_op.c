/*
 * cmd_op.c - `memberlog op decode`: check one op and show what it says.
 */
#include "cli.h"

#include "crdt/err.h"

#include <stdio.h>
#include <string.h>

static const char usage[] = "[--json] op decode [--net NETWORK-ID] FILE|-";

int cmd_op(struct cli *cli, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "decode") != 0)
		return argc > 1 && cli_is_help(argv[1])
		           ? (printf("usage: memberlog %s\n", usage), CLI_OK)
		           : cli_usage(usage);
	struct ml_hash net;
	bool have_net;
	int first;
	int rc =
	    cli_net_options(argc, argv, usage,
	                    "Decodes one op, checks its form, network and signature, and prints "
	                    "its fields.",
	                    &net, &have_net, &first);
	if (rc >= 0)
		return rc;
	if (first + 1 != argc)
		return cli_usage(usage);
	const char *path = argv[first];
	struct ml_buf data = ML_BUF_INIT, err = ML_BUF_INIT;
	rc = cli_read_file(path, &data, &err);
	struct ml_op op;
	if (rc == ML_OK)
		rc = ml_op_decode(data.data, data.len, have_net ? &net : NULL, &op, &err);
	int exit_code = CLI_OK;
	if (rc != ML_OK) {
		exit_code = cli_error("'%s': %s (%s)", path, ml_buf_str(&err), ml_err_name(rc));
	} else if (cli->json) {
		json_t *doc = cli_op_json(&op);
		json_object_set_new(doc, "schema_version", json_integer(1));
		exit_code = cli_print_json(doc);
	} else {
		cli_op_print(&op);
		printf("   valid: canonical form%s%s\n", have_net ? ", network" : "",
		       op.has_sig ? ", signature" : " (unsigned: authentic only with its batch)");
	}
	ml_buf_release(&data);
	ml_buf_release(&err);
	return exit_code;
}
