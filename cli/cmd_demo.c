/*
 * cmd_demo.c - `memberlog demo`: the op log doing its job, step by step.
 *
 * Two devices - the national admin and a district officer - write a small
 * signed log: the network's genesis, a province unit, and a batch of three
 * member drafts under one signature.  The log goes to a file, is read back
 * and verified as an auditor would, then a forged copy and a forked feed
 * are caught.  Everything uses the real library and real files; it grows
 * into the multi-node demo network in later milestones.
 */
#include "cli.h"

#include "crdt/audit.h"
#include "crdt/codec.h"
#include "crdt/body.h"
#include "crdt/equiv.h"
#include "crdt/err.h"
#include "node/keyfile.h"
#include "node/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char usage[] = "demo [--dir DIR]";

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void step(int n, const char *what)
{
	printf("\n[%d] %s\n", n, what);
}

/* A body of text fields (key, value, key, value, ...), written in canonical order. */
static int text_body(struct ml_buf *out, const char *const *kv, size_t n)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	for (size_t i = 0; i < n; i++)
		ml_bb_cstr(&bb, kv[2 * i], kv[2 * i + 1]);
	int rc = ml_bb_finish(&bb, out);
	ml_bb_release(&bb);
	return rc;
}

/* Creates a device key file under dir/name/device.key; returns the loaded key. */
static struct ml_key *make_device(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/%s/device.key", dir, name);
	struct ml_key *k = NULL, *loaded = NULL;
	struct ml_buf err = ML_BUF_INIT;
	if (ml_key_generate(&k) != ML_OK || ml_keyfile_create(path, k, &err) != ML_OK ||
	    ml_keyfile_load(path, &loaded, &err) != ML_OK)
		cli_error("device key for %s: %s", name, ml_buf_str(&err));
	ml_key_free(k);
	ml_buf_release(&err);
	return loaded;
}

/* Reads a log file back and audits it; prints one line per op; returns rejected count. */
static size_t audit_file(const char *path, const struct ml_hash *net, bool print)
{
	struct ml_buf data = ML_BUF_INIT, err = ML_BUF_INIT;
	struct ml_op ops[16];
	size_t n = 0, off = 0, len, bad = 0;
	const uint8_t *p;
	if (cli_read_file(path, &data, &err) != ML_OK) {
		cli_error("%s", ml_buf_str(&err));
		return 1;
	}
	while (n < 16 && ml_oplog_next(data.data, data.len, &off, &p, &len, &err) == ML_OK) {
		int rc = ml_op_parse(p, len, &ops[n], &err);
		if (rc != ML_OK) {
			printf("    rejected while reading: %s (%s)\n", ml_buf_str(&err),
			       ml_err_name(rc));
			bad++;
			continue;
		}
		n++;
	}
	struct ml_audit a;
	if (ml_audit_run(&a, net, ops, n) == ML_OK) {
		for (size_t i = 0; i < n && print; i++) {
			char id[17];
			ml_hex_encode(ops[i].id.b, 8, id);
			printf("    %-14s seq %llu %s  %s  %s\n", ops[i].type,
			       (unsigned long long)ops[i].seq, ml_lane_name(ops[i].lane), id,
			       a.status[i] == ML_OK ? "authentic" : ml_err_name(a.status[i]));
		}
		bad += a.rejected + a.pending;
		for (size_t f = 0; f < a.n_feeds; f++)
			if (a.feeds[f].err)
				printf("    feed problem at seq %llu: %s\n",
				       (unsigned long long)a.feeds[f].err_seq, a.feeds[f].msg);
		ml_audit_release(&a);
	}
	ml_buf_release(&data);
	ml_buf_release(&err);
	return bad;
}

int cmd_demo(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {0}};
	const char *dir = NULL;
	char tmpl[] = "/tmp/memberlog-demo-XXXXXX";
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'h')
			return printf(
			           "usage: memberlog %s\n\nWrites a small signed op log into DIR "
			           "(default: a new directory under /tmp) and verifies it.\n",
			           usage),
			       CLI_OK;
		else
			return cli_usage(usage);
	}
	if (optind != argc)
		return cli_usage(usage);
	if (!dir && !(dir = mkdtemp(tmpl)))
		return cli_error("cannot create a directory under /tmp: %s", strerror(errno));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return cli_error("cannot create '%s': %s", dir, strerror(errno));

	int rc = CLI_ERROR;
	struct ml_buf log = ML_BUF_INIT, err = ML_BUF_INIT, b0 = ML_BUF_INIT, b1 = ML_BUF_INIT;
	struct ml_buf mb[3] = {ML_BUF_INIT, ML_BUF_INIT, ML_BUF_INIT}, forked = ML_BUF_INIT;
	struct ml_buf evidence = ML_BUF_INIT, b2 = ML_BUF_INIT;
	struct ml_key *admin = NULL, *officer = NULL;
	struct ml_store *store = NULL;
	char path[4096], hex[65];

	step(1, "two devices get their ed25519 keys (files readable only by their owner)");
	admin = make_device(dir, "national-admin");
	officer = make_device(dir, "district-officer");
	if (!admin || !officer)
		goto out;
	ml_hex_encode(admin->pk.b, 32, hex);
	printf("    national admin   %s\n", hex);
	ml_hex_encode(officer->pk.b, 32, hex);
	printf("    district officer %s\n", hex);

	step(2, "the national admin signs the genesis op: its hash names the network");
	static const char *const gen_kv[] = {"name", "Tổng Liên đoàn Lao động Việt Nam", "org",
	                                     "trade_union"};
	struct ml_feed_head gov = {.feed.lane = ML_LANE_GOV};
	struct ml_hlc admin_clock = {0, 0};
	struct ml_op g = {0};
	strcpy(g.type, ML_OP_TYPE_GENESIS);
	if (text_body(&b0, gen_kv, 2) != ML_OK)
		goto out;
	g.body = b0.data;
	g.body_len = b0.len;
	if (ml_feed_write_batch(&gov, admin, &admin_clock, wall_ms(), &g, 1, &log, NULL, &err))
		goto fail;
	struct ml_hash net = g.id;
	ml_hex_encode(net.b, 32, hex);
	printf("    network id %s\n", hex);

	step(3, "the admin creates a province unit in the same gov feed (seq 2)");
	static const char *const unit_kv[] = {"name", "Liên đoàn Lao động Thành phố Hà Nội",
	                                      "level", "province"};
	struct ml_op u = {.has_net = true, .net = net};
	strcpy(u.type, "unit_create");
	if (text_body(&b1, unit_kv, 2) != ML_OK)
		goto out;
	u.body = b1.data;
	u.body_len = b1.len;
	if (ml_feed_write_batch(&gov, admin, &admin_clock, wall_ms(), &u, 1, &log, NULL, &err))
		goto fail;
	ml_hex_encode(u.id.b, 32, hex);
	printf("    unit id %s\n", hex);

	step(4, "the admin grants the officer the officer role at the province (its own feed)");
	struct ml_body_builder gb;
	ml_bb_init(&gb);
	ml_bb_bytes(&gb, "device", officer->pk.b, 32);
	ml_bb_cstr(&gb, "role", "officer");
	if (ml_bb_finish(&gb, &b2) != ML_OK)
		goto out;
	ml_bb_release(&gb);
	struct ml_op gr = {.has_net = true, .net = net};
	strcpy(gr.type, "grant");
	gr.body = b2.data;
	gr.body_len = b2.len;
	gr.deps = u.id.b; /* the unit must be in the grant's past */
	gr.ndeps = 1;
	struct ml_feed_head gov_p = {.feed.unit = u.id, .feed.lane = ML_LANE_GOV};
	if (ml_feed_write_batch(&gov_p, admin, &admin_clock, wall_ms(), &gr, 1, &log, NULL, &err))
		goto fail;
	ml_hex_encode(gr.id.b, 32, hex);
	printf("    grant op %s\n    its deps name the province's creation\n", hex);

	step(4,
	     "the officer writes three member drafts as one batch: one signature covers all three");
	static const char *const people[3][2] = {{"Lê Văn Lương", "109814122"},
	                                         {"Nguyễn Tuấn Phước", "109814124"},
	                                         {"Lê Bá Đạt", "109814128"}};
	struct ml_op m[3];
	memset(m, 0, sizeof m);
	for (int i = 0; i < 3; i++) {
		const char *kv[] = {"full_name",  people[i][0],      "id_number",
		                    people[i][1], "union_join_date", "11/02/2012"};
		if (text_body(&mb[i], kv, 3) != ML_OK)
			goto out;
		m[i].has_net = true;
		m[i].net = net;
		strcpy(m[i].type, "member_create");
		m[i].body = mb[i].data;
		m[i].body_len = mb[i].len;
	}
	m[0].deps = gr.id.b; /* the officer had seen its grant (and through it, the unit) */
	m[0].ndeps = 1;
	struct ml_feed_head reg = {.feed.unit = u.id, .feed.lane = ML_LANE_REG};
	struct ml_hlc officer_clock = {0, 0};
	size_t before = log.len;
	if (ml_feed_write_batch(&reg, officer, &officer_clock, wall_ms(), m, 3, &log, NULL, &err))
		goto fail;
	for (int i = 0; i < 3; i++)
		printf("    %s  seq %llu  %s\n", people[i][0], (unsigned long long)m[i].seq,
		       m[i].has_sig ? "signed (closes the batch)"
		                    : "unsigned (covered by the hash chain)");
	printf("    log: %zu ops, %zu bytes; the batch is %zu bytes\n", (size_t)6, log.len,
	       log.len - before);

	snprintf(path, sizeof path, "%s/log.cbor", dir);
	if (cli_write_file(path, log.data, log.len) != CLI_OK)
		goto out;

	step(6, "an auditor reads the file back and verifies every op, feed by feed");
	if (audit_file(path, &net, true) != 0) {
		cli_error("the demo log did not verify");
		goto out;
	}

	step(7, "a forged copy: one byte of a member's name changed in the file");
	size_t at = before + 20;
	for (; at < log.len; at++)
		if (memcmp(log.data + at, "Lương", 5) == 0)
			break;
	log.data[at] ^= 0x01;
	snprintf(path, sizeof path, "%s/log-forged.cbor", dir);
	if (cli_write_file(path, log.data, log.len) != CLI_OK)
		goto out;
	log.data[at] ^= 0x01;
	size_t bad = audit_file(path, &net, true);
	printf("    %zu ops rejected: the changed draft no longer matches the chain its "
	       "signature covers\n",
	       bad);
	if (bad == 0)
		goto out;

	step(8, "the officer's device signs a different op at seq 3: a fork, with proof");
	struct ml_feed_head fork_head = reg;
	fork_head.seq = m[1].seq;
	fork_head.id = m[1].id;
	struct ml_op f = m[2];
	f.body = mb[0].data;
	f.body_len = mb[0].len;
	f.has_sig = false;
	f.ndeps = 0;
	if (ml_feed_write_batch(&fork_head, officer, &officer_clock, wall_ms(), &f, 1, &forked,
	                        NULL, &err))
		goto fail;
	/* Evidence needs both ops as bytes: the original seq 3 is read back from the log. */
	struct ml_op a_side = {0}, b_side, tmp;
	size_t off = 0, len;
	const uint8_t *p;
	while (ml_oplog_next(log.data, log.len, &off, &p, &len, NULL) == ML_OK) {
		if (ml_op_parse(p, len, &tmp, NULL) == ML_OK && ml_hash_eq(&tmp.id, &m[2].id))
			a_side = tmp;
	}
	if (ml_op_parse(forked.data, forked.len, &b_side, &err) != ML_OK)
		goto fail;
	struct ml_equiv ev;
	if (ml_equiv_build(&a_side, 1, &b_side, 1, &evidence, &ev, &err) != ML_OK)
		goto fail;
	snprintf(path, sizeof path, "%s/fork-evidence.cbor", dir);
	cli_write_file(path, evidence.data, evidence.len);
	int vrc = ml_equiv_verify(evidence.data, evidence.len, &net, &ev, &err);
	printf("    evidence record: %zu bytes, %s; anyone with the network id can check it\n",
	       evidence.len, vrc == ML_OK ? "verifies" : ml_err_name(vrc));
	if (vrc != ML_OK)
		goto fail;

	step(9, "a node stores the log and judges every op in its causal past");
	snprintf(path, sizeof path, "%s/node", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/node/memberlog.db", dir);
	if (ml_store_open(path, ML_STORE_CREATE, &store, &err) != ML_OK)
		goto fail;
	const uint8_t *ops_p[8];
	size_t ops_n[8], k = 0;
	off = 0;
	const uint8_t *p2;
	while (k < 8 && ml_oplog_next(log.data, log.len, &off, &p2, &len, NULL) == ML_OK) {
		ops_p[k] = p2;
		ops_n[k++] = len;
	}
	struct ml_ingest_result res;
	if (ml_store_ingest(store, ops_p, ops_n, k, wall_ms(), &res, &err) != ML_OK)
		goto fail;
	struct ml_store_counts counts;
	struct ml_hash state;
	if (ml_store_counts(store, &counts, &err) != ML_OK ||
	    ml_store_state_hash(store, &state, &err) != ML_OK)
		goto fail;
	ml_hex_encode(state.b, 32, hex);
	printf("    %zu ops applied, %zu rejected; %llu units, %llu member drafts\n", res.applied,
	       res.rejected, (unsigned long long)counts.units, (unsigned long long)counts.members);
	printf("    state hash %s\n", hex);
	if (res.applied != k) {
		cli_error("the demo log did not apply: %s", res.first_message);
		goto out;
	}

	ml_hex_encode(net.b, 32, hex);
	printf("\ndone. files in %s:\n"
	       "    log.cbor             the signed log (6 ops)\n"
	       "    node/memberlog.db    a node's store holding the judged log\n"
	       "    log-forged.cbor      the same log with one byte changed\n"
	       "    fork-evidence.cbor   proof that the officer's device forked its feed\n"
	       "    */device.key         the two device keys (mode 0600)\n"
	       "try:\n    %s feed verify %s/log.cbor\n    %s feed verify %s/log-forged.cbor\n",
	       dir, cli->prog, dir, cli->prog, dir);
	rc = CLI_OK;
	goto out;
fail:
	cli_error("%s", ml_buf_str(&err));
out:
	ml_key_free(admin);
	ml_key_free(officer);
	ml_buf_release(&log);
	ml_buf_release(&err);
	ml_buf_release(&b0);
	ml_buf_release(&b1);
	ml_buf_release(&forked);
	ml_buf_release(&evidence);
	ml_buf_release(&b2);
	ml_store_close(store);
	for (int i = 0; i < 3; i++)
		ml_buf_release(&mb[i]);
	return rc;
}
