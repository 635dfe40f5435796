/*
 * cmd_init.c - `memberlog init`: the node directory and this device's key.
 */
#include "cli.h"

#include "crdt/err.h"
#include "node/keyfile.h"

#include <stdio.h>
#include <string.h>

#define KEY_FILE "device.key"

int cmd_init(struct cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return cli_is_help(argv[1])
		           ? (printf("usage: memberlog [--home DIR] init\n\n"
		                     "Creates the node directory and this device's "
		                     "ed25519 key (mode 0600).\n"),
		              CLI_OK)
		           : cli_usage("[--home DIR] init");
	struct ml_buf err = ML_BUF_INIT, path = ML_BUF_INIT;
	struct ml_key *key = NULL;
	int rc = cli_make_dirs(cli->home, &err);
	if (rc == ML_OK)
		rc = cli_home_path(cli, KEY_FILE, &path);
	if (rc == ML_OK)
		rc = ml_key_generate(&key);
	if (rc == ML_OK)
		rc = ml_keyfile_create(ml_buf_str(&path), key, &err);
	if (rc == ML_OK) {
		char pk[65];
		ml_hex_encode(key->pk.b, 32, pk);
		if (cli->json)
			cli_print_json(json_pack("{s:i, s:s, s:s}", "version", 1, "device_key", pk,
			                         "key_file", ml_buf_str(&path)));
		else
			printf("created device key %s\nin %s\n", pk, ml_buf_str(&path));
	} else {
		cli_error("%s", err.len ? ml_buf_str(&err) : ml_strerror(rc));
	}
	ml_key_free(key);
	ml_buf_release(&err);
	ml_buf_release(&path);
	return rc == ML_OK ? CLI_OK : CLI_ERROR;
}
