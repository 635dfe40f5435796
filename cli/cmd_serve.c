/*
 * cmd_serve.c - the node on the network: `serve`, `sync`, `peers`, `invite`,
 * and the network half of `network join TOKEN`.
 *
 * An invite token carries everything a new device needs to reach the
 * inviter and prove the invite, and nothing it could misuse elsewhere:
 *   "mli1" | base64url(network (32) | inviter device (32) | invite id (16)
 *                      | secret (32) | address length (1) | HOST:PORT)
 */
#include "node.h"

#include "i18n.h"

#include "crdt/err.h"
#include "net/daemon.h"
#include "node/invite.h"
#include "node/keyfile.h"

#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOKEN_PREFIX   "mli1"
#define DEFAULT_LISTEN "0.0.0.0:7400"
#define MAX_PEER_ARGS  64

/* memberlog-mdns beside this executable (the build tree or the installed bin/). */
static const char *mdns_program(char *out, size_t size)
{
	const char *env = getenv("MEMBERLOG_MDNS");
	if (env && *env)
		return env;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return NULL;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	/* The build tree keeps it in net/, an install in the same bin/. */
	const char *const where[] = {"%s/memberlog-mdns", "%s/../net/memberlog-mdns"};
	for (size_t i = 0; i < sizeof where / sizeof where[0]; i++)
		if ((size_t)snprintf(out, size, where[i], self) < size && access(out, X_OK) == 0)
			return out;
	return NULL;
}

static const char serve_usage[] =
    "serve [--listen ADDR:PORT] [--peer HOST:PORT]... [--no-mdns] [--mdns-iface IFACE]... "
    "[--anti-entropy SECONDS]";

int cmd_serve(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
	                                     {"peer", required_argument, NULL, 'p'},
	                                     {"no-mdns", no_argument, NULL, 'n'},
	                                     {"mdns-iface", required_argument, NULL, 'i'},
	                                     {"anti-entropy", required_argument, NULL, 'a'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {0}};
	const char *listen = DEFAULT_LISTEN, *peers[MAX_PEER_ARGS], *ifaces[16];
	size_t n_peers = 0, n_ifaces = 0;
	bool mdns = true;
	unsigned anti_entropy_s = 30;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'l')
			listen = optarg;
		else if (c == 'p' && n_peers < MAX_PEER_ARGS)
			peers[n_peers++] = optarg;
		else if (c == 'n')
			mdns = false;
		else if (c == 'i' && n_ifaces < 16)
			ifaces[n_ifaces++] = optarg;
		else if (c == 'a' && atoi(optarg) > 0)
			anti_entropy_s = (unsigned)atoi(optarg);
		else if (c == 'h')
			return printf(
			           _("usage: memberlog %s\n\nRuns this node on the network until "
			             "Ctrl-C: accepts peers on ADDR:PORT (default %s), keeps "
			             "connections to each --peer, finds nodes of the same network "
			             "on the LAN by mDNS, sends each peer what its roles let it "
			             "read and it lacks, and pushes new ops at once. Commands run "
			             "meanwhile on the same node directory are sent on as soon "
			             "as they finish. Every --anti-entropy seconds (default 30) "
			             "it reconciles again with each peer it dialled. 'memberlog "
			             "peers' shows the connections.\n"),
			           serve_usage, DEFAULT_LISTEN),
			       CLI_OK;
		else
			return cli_usage(serve_usage);
	}
	if (optind != argc)
		return cli_usage(serve_usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	char prog[PATH_MAX];
	const char *mdns_path = mdns ? mdns_program(prog, sizeof prog) : NULL;
	if (mdns && !mdns_path)
		fprintf(stderr, _("memberlog-mdns was not found beside memberlog: no LAN discovery "
		                  "(set MEMBERLOG_MDNS to its path)\n"));
	struct ml_daemon_config cfg = {
	    .home = cli->home,
	    .listen = listen,
	    .peers = peers,
	    .n_peers = n_peers,
	    .mdns_program = mdns_path,
	    .mdns_ifaces = ifaces,
	    .n_mdns_ifaces = n_ifaces,
	    .anti_entropy_ms = anti_entropy_s * 1000,
	    .log = stderr,
	};
	char net[65];
	ml_hex_encode(n.net.b, 32, net);
	fprintf(stderr, _("serving network %.16s from %s; Ctrl-C stops\n"), net, cli->home);
	struct ml_daemon_stats stats;
	struct ml_buf err = ML_BUF_INIT;
	int rc = ml_daemon_run(&cfg, n.s, n.key, &stats, &err);
	if (rc != ML_OK)
		cli_error("%s", ml_buf_str(&err));
	else
		fprintf(
		    stderr,
		    _("stopped after %llu sessions: received %llu ops (%llu new), sent %llu ops "
		      "(%llu relayed from other devices); %llu bytes in, %llu bytes out\n"),
		    (unsigned long long)stats.sessions, (unsigned long long)stats.ops_in,
		    (unsigned long long)stats.applied, (unsigned long long)stats.ops_out,
		    (unsigned long long)stats.relayed, (unsigned long long)stats.bytes_in,
		    (unsigned long long)stats.bytes_out);
	ml_buf_release(&err);
	cli_node_close(&n);
	return rc == ML_OK ? CLI_OK : CLI_ERROR;
}

/* Runs one sync with each address (and an invite when join is set); prints the outcome. */
static int sync_once(struct cli *cli, struct cli_node *n, const char *const *addrs, size_t k,
                     const struct ml_daemon_join *join, unsigned timeout_s)
{
	struct ml_daemon_config cfg = {
	    .home = cli->home,
	    .peers = addrs,
	    .n_peers = k,
	    .once = true,
	    .join = join,
	    .timeout_ms = timeout_s * 1000,
	    .log = getenv("MEMBERLOG_LOG") ? stderr : NULL,
	};
	struct ml_daemon_stats st;
	struct ml_buf err = ML_BUF_INIT;
	int rc = ml_daemon_run(&cfg, n->s, n->key, &st, &err);
	if (rc != ML_OK)
		cli_error("%s", ml_buf_str(&err));
	else if (cli->json)
		cli_print_json(json_pack(
		    "{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "version", 1, "ops_in",
		    (json_int_t)st.ops_in, "ops_out", (json_int_t)st.ops_out, "relayed",
		    (json_int_t)st.relayed, "applied", (json_int_t)st.applied, "bytes_in",
		    (json_int_t)st.bytes_in, "bytes_out", (json_int_t)st.bytes_out, "photos_in",
		    (json_int_t)st.photos_in, "photos_out", (json_int_t)st.photos_out));
	else
		printf(_("synced: received %llu ops (%llu new) and %llu photos, sent %llu ops and "
		         "%llu photos\n"),
		       (unsigned long long)st.ops_in, (unsigned long long)st.applied,
		       (unsigned long long)st.photos_in, (unsigned long long)st.ops_out,
		       (unsigned long long)st.photos_out);
	ml_buf_release(&err);
	return rc == ML_OK ? CLI_OK : CLI_ERROR;
}

static const char sync_usage[] = "sync HOST:PORT... [--timeout SECONDS]";

int cmd_sync(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'}, {0}};
	unsigned timeout_s = 60;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 't' && atoi(optarg) > 0)
			timeout_s = (unsigned)atoi(optarg);
		else if (c == 'h')
			return printf(
			           _("usage: memberlog %s\n\nSyncs once with each peer, then "
			             "exits: for scripts and cron. Exits 1 when a peer could not "
			             "be synced.\n"),
			           sync_usage),
			       CLI_OK;
		else
			return cli_usage(sync_usage);
	}
	if (optind >= argc)
		return cli_usage(sync_usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	int ex = sync_once(cli, &n, (const char *const *)argv + optind, (size_t)(argc - optind),
	                   NULL, timeout_s);
	cli_node_close(&n);
	return ex;
}

int cmd_peers(struct cli *cli, int argc, char **argv)
{
	static const char usage[] = "peers";
	if (argc > 1)
		return cli_is_help(argv[1])
		           ? (printf(_("usage: memberlog %s\n\nPrints the running 'memberlog "
		                       "serve': its listening address, refusals by reason, and "
		                       "a line per peer.\n"),
		                     usage),
		              CLI_OK)
		           : cli_usage(usage);
	if (ml_daemon_notify(cli->home, stdout) != ML_OK)
		return cli_error(_("no 'memberlog serve' runs on %s"), cli->home);
	return CLI_OK;
}

/* --- invites ---------------------------------------------------------------- */

static const char invite_usage[] =
    "invite --unit UNIT --role admin|officer|approver|auditor --address HOST:PORT [--days N]";

int cmd_invite(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"unit", required_argument, NULL, 'u'},    {"role", required_argument, NULL, 'r'},
	    {"address", required_argument, NULL, 'a'}, {"days", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},          {0}};
	const char *unit_arg = NULL, *role = NULL, *address = NULL;
	int days = 7, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'u')
			unit_arg = optarg;
		else if (c == 'r')
			role = optarg;
		else if (c == 'a')
			address = optarg;
		else if (c == 'd')
			days = atoi(optarg);
		else if (c == 'h')
			return printf(
			           _("usage: memberlog %s\n\nPrints a one-time token. The new "
			             "device runs 'memberlog network join TOKEN': it connects to "
			             "this node's 'memberlog serve' at HOST:PORT, proves the "
			             "token, and this device grants it ROLE at UNIT. The token "
			             "expires after N days (default 7); keep it secret.\n"),
			           invite_usage),
			       CLI_OK;
		else
			return cli_usage(invite_usage);
	}
	if (!unit_arg || !role || !address || optind != argc || days < 1 || days > 365 ||
	    strlen(address) > 200 || !strchr(address, ':'))
		return cli_usage(invite_usage);
	struct cli_node n;
	if (cli_node_open(cli, NODE_KEY | NODE_NETWORK, &n) != CLI_OK)
		return CLI_ERROR;
	struct ml_hash unit;
	struct ml_invite inv;
	struct ml_buf err = ML_BUF_INIT;
	int ex = cli_unit_find(&n, unit_arg, &unit);
	if (ex == CLI_OK && ml_invite_create(n.s, &unit, role, (uint64_t)days * 24 * 3600 * 1000,
	                                     ml_now_ms(), &inv, &err) != ML_OK)
		ex = cli_error("%s", ml_buf_str(&err));
	if (ex == CLI_OK) {
		uint8_t raw[32 + 32 + 16 + 32 + 1 + 256];
		size_t alen = strlen(address), k = 0;
		memcpy(raw, n.net.b, 32);
		memcpy(raw + 32, n.key->pk.b, 32);
		memcpy(raw + 64, inv.id, 16);
		memcpy(raw + 80, inv.secret, 32);
		raw[112] = (uint8_t)alen;
		memcpy(raw + 113, address, alen);
		k = 113 + alen;
		char token[4 + 512];
		memcpy(token, TOKEN_PREFIX, 4);
		sodium_bin2base64(token + 4, sizeof token - 4, raw, k,
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		sodium_memzero(raw, sizeof raw);
		char name[256];
		cli_unit_name(&n, &unit, name, sizeof name);
		if (cli->json)
			cli_print_json(json_pack("{s:i, s:s, s:s, s:s, s:i}", "version", 1, "token",
			                         token, "unit", name, "role", role, "days", days));
		else {
			/* the token alone on stdout, so TOKEN=$(memberlog invite ...) takes it */
			printf("%s\n", token);
			fprintf(stderr,
			        _("One device may join with this token as %s at %s within %d days: "
			          "'memberlog network join TOKEN'. This node must be serving on %s "
			          "then.\n"),
			        role, name, days, address);
		}
		sodium_memzero(token, sizeof token);
	}
	sodium_memzero(&inv, sizeof inv);
	ml_buf_release(&err);
	cli_node_close(&n);
	return ex;
}

bool cli_is_token(const char *arg)
{
	return strncmp(arg, TOKEN_PREFIX, 4) == 0 && strlen(arg) > 100;
}

int cli_join_token(struct cli *cli, struct cli_node *n, const char *token, unsigned timeout_s)
{
	uint8_t raw[32 + 32 + 16 + 32 + 1 + 256];
	size_t k = 0;
	if (sodium_base642bin(raw, sizeof raw, token + 4, strlen(token + 4), NULL, &k, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    k < 114 || k != 113 + (size_t)raw[112])
		return cli_error(_("this invite token is damaged: copy it again, whole"));
	struct ml_hash net;
	struct ml_daemon_join join;
	char address[257];
	memcpy(net.b, raw, 32);
	memcpy(join.inviter.b, raw + 32, 32);
	memcpy(join.id, raw + 64, 16);
	memcpy(join.secret, raw + 80, 32);
	memcpy(address, raw + 113, raw[112]);
	address[raw[112]] = 0;
	sodium_memzero(raw, sizeof raw);
	struct ml_buf err = ML_BUF_INIT;
	int ex = CLI_OK;
	if (ml_store_set_network(n->s, &net, &err) != ML_OK)
		ex = cli_error("%s", ml_buf_str(&err));
	ml_buf_release(&err);
	const char *addrs[] = {address};
	if (ex == CLI_OK)
		ex = sync_once(cli, n, addrs, 1, &join, timeout_s);
	sodium_memzero(&join, sizeof join);
	return ex;
}
