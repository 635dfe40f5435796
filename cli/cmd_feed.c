/*
 * cmd_feed.c - `memberlog feed verify`: an auditor's check of a file of ops.
 *
 * Exit status: 0 when every op is authentic, 3 when any is not (forged,
 * forked, unsigned, out of network, unreadable), 1 when a file cannot be read.
 */
#include "cli.h"

#include "crdt/alloc.h"
#include "crdt/audit.h"
#include "crdt/err.h"

#include <stdio.h>
#include <string.h>

static const char usage[] = "[--json] feed verify [--net NETWORK-ID] FILE...";

struct input {
	struct ml_buf bytes;
	struct ml_op *ops;
	size_t n, cap;
	size_t unreadable; /* files whose tail could not be split into ops */
};

static int add_op(struct input *in, const struct ml_op *op)
{
	struct ml_op *p = ml_grow(in->ops, &in->cap, in->n + 1, sizeof *p, 64);
	if (!p)
		return ML_ENOMEM;
	in->ops = p;
	in->ops[in->n++] = *op;
	return ML_OK;
}

/* Splits and parses one file's ops; unparsable ones are reported and counted. */
static int load_file(struct input *in, const char *path, struct ml_buf *data)
{
	struct ml_buf err = ML_BUF_INIT;
	int rc = cli_read_file(path, data, &err);
	if (rc != ML_OK) {
		cli_error("%s", ml_buf_str(&err));
		ml_buf_release(&err);
		return rc;
	}
	size_t off = 0;
	const uint8_t *p;
	size_t len;
	while ((rc = ml_oplog_next(data->data, data->len, &off, &p, &len, &err)) == ML_OK) {
		struct ml_op op;
		int prc = ml_op_parse(p, len, &op, &err);
		if (prc != ML_OK) {
			fprintf(stderr, "%s: op at byte %zu rejected: %s (%s)\n", path,
			        (size_t)(p - data->data), ml_buf_str(&err), ml_err_name(prc));
			in->unreadable++;
			continue;
		}
		if ((rc = add_op(in, &op)) != ML_OK)
			break;
	}
	if (rc != ML_ENOTFOUND && rc != ML_ENOMEM) {
		fprintf(stderr, "%s: cannot read past byte %zu: %s\n", path, off, ml_buf_str(&err));
		in->unreadable++;
		rc = ML_OK;
	}
	ml_buf_release(&err);
	return rc == ML_ENOMEM ? rc : ML_OK;
}

static const char *verdict(int st)
{
	return st == ML_OK ? "authentic" : st == ML_EAGAIN ? "awaiting signature" : ml_err_name(st);
}

static int report(struct cli *cli, const struct input *in, const struct ml_audit *a,
                  const struct ml_hash *net)
{
	bool clean = a->rejected == 0 && a->pending == 0 && in->unreadable == 0;
	if (cli->json) {
		json_t *doc = json_object(), *ops = json_array(), *feeds = json_array();
		for (size_t i = 0; i < in->n; i++) {
			json_t *o = cli_op_json(&in->ops[i]);
			json_object_set_new(o, "verdict", json_string(verdict(a->status[i])));
			json_array_append_new(ops, o);
		}
		for (size_t i = 0; i < a->n_feeds; i++) {
			const struct ml_audit_feed *f = &a->feeds[i];
			json_t *o = json_object();
			json_object_set_new(o, "author", cli_json_hex(f->feed.author.b, 32));
			json_object_set_new(o, "unit", cli_json_hex(f->feed.unit.b, 32));
			json_object_set_new(o, "lane", json_string(ml_lane_name(f->feed.lane)));
			json_object_set_new(o, "first_seq", json_integer((json_int_t)f->first_seq));
			json_object_set_new(o, "last_seq", json_integer((json_int_t)f->last_seq));
			json_object_set_new(o, "ops", json_integer((json_int_t)f->ops));
			json_object_set_new(o, "authentic", json_integer((json_int_t)f->authentic));
			json_object_set_new(
			    o, "problem", f->err ? json_string(ml_err_name(f->err)) : json_null());
			json_object_set_new(o, "problem_seq",
			                    f->err ? json_integer((json_int_t)f->err_seq)
			                           : json_null());
			json_object_set_new(o, "message",
			                    f->err ? json_string(f->msg) : json_null());
			json_array_append_new(feeds, o);
		}
		json_object_set_new(doc, "schema_version", json_integer(1));
		json_object_set_new(doc, "network", cli_json_hex(net->b, 32));
		json_object_set_new(doc, "ops", ops);
		json_object_set_new(doc, "feeds", feeds);
		json_object_set_new(doc, "authentic", json_integer((json_int_t)a->authentic));
		json_object_set_new(doc, "pending", json_integer((json_int_t)a->pending));
		json_object_set_new(doc, "rejected",
		                    json_integer((json_int_t)(a->rejected + in->unreadable)));
		json_object_set_new(doc, "clean", json_boolean(clean));
		if (cli_print_json(doc) != CLI_OK)
			return CLI_ERROR;
	} else {
		for (size_t i = 0; i < in->n; i++) {
			cli_op_print(&in->ops[i]);
			printf("   verdict %s\n", verdict(a->status[i]));
		}
		char netx[65];
		ml_hex_encode(net->b, 32, netx);
		printf("\nnetwork %s\n", netx);
		for (size_t i = 0; i < a->n_feeds; i++) {
			const struct ml_audit_feed *f = &a->feeds[i];
			char au[65], un[65];
			ml_hex_encode(f->feed.author.b, 32, au);
			ml_hex_encode(f->feed.unit.b, 32, un);
			printf("feed %.16s/%.16s/%s  seq %llu..%llu  %zu of %zu authentic%s%s\n",
			       au, un, ml_lane_name(f->feed.lane), (unsigned long long)f->first_seq,
			       (unsigned long long)f->last_seq, f->authentic, f->ops,
			       f->err ? "  -- " : "", f->err ? f->msg : "");
		}
		printf("%zu ops: %zu authentic, %zu awaiting a signature, %zu rejected\n",
		       in->n + in->unreadable, a->authentic, a->pending,
		       a->rejected + in->unreadable);
	}
	return clean ? CLI_OK : CLI_FINDINGS;
}

int cmd_feed(struct cli *cli, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		return argc > 1 && cli_is_help(argv[1])
		           ? (printf("usage: memberlog %s\n", usage), CLI_OK)
		           : cli_usage(usage);
	struct ml_hash net = {{0}};
	bool have_net;
	int first;
	int rc = cli_net_options(
	    argc, argv, usage,
	    "Verifies every op in the files: form, network, hash chains and "
	    "signatures, feed by feed.\nWithout --net the network is that of the "
	    "genesis op in the files, or of the first op.\nExit status 3 when any op "
	    "is not authentic.",
	    &net, &have_net, &first);
	if (rc >= 0)
		return rc;
	int nfiles = argc - first;
	if (nfiles < 1)
		return cli_usage(usage);
	struct input in = {0};
	struct ml_buf *data = ml_calloc((size_t)nfiles, sizeof *data);
	rc = data ? ML_OK : ML_ENOMEM;
	for (int f = 0; f < nfiles && rc == ML_OK; f++)
		rc = load_file(&in, argv[first + f], &data[f]);
	int exit_code = CLI_ERROR;
	if (rc == ML_OK) {
		if (!have_net && in.n) {
			net = *ml_op_network(&in.ops[0]);
			for (size_t i = 0; i < in.n; i++)
				if (ml_op_is_genesis(&in.ops[i]))
					net = in.ops[i].id;
		}
		struct ml_audit a;
		if (ml_audit_run(&a, &net, in.ops, in.n) == ML_OK) {
			exit_code = report(cli, &in, &a, &net);
			ml_audit_release(&a);
		} else {
			cli_error("out of memory");
		}
	} else if (rc == ML_ENOMEM) {
		cli_error("out of memory");
	}
	for (int f = 0; data && f < nfiles; f++)
		ml_buf_release(&data[f]);
	ml_free(data);
	ml_free(in.ops);
	return exit_code;
}
