/*
 * util.c - output and file helpers shared by the commands.
 */
#include "cli.h"
#include "i18n.h"

#include "crdt/diag.h"
#include "crdt/err.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return CLI_ERROR;
}

int cli_usage(const char *usage)
{
	fprintf(stderr, "usage: memberlog %s\n", usage);
	return CLI_USAGE;
}

bool cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_print_json(json_t *doc)
{
	if (!doc)
		return cli_error("out of memory");
	int rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(doc);
	return rc == 0 ? CLI_OK : cli_error("cannot write JSON to standard output");
}

json_t *cli_json_hex(const void *p, size_t n)
{
	struct ml_buf b = ML_BUF_INIT;
	if (ml_buf_addhex(&b, p, n) != ML_OK)
		return NULL;
	json_t *s = json_string(ml_buf_str(&b));
	ml_buf_release(&b);
	return s;
}

/* Formats an HLC millisecond time as UTC ISO 8601 into out (room for 32). */
static void format_ms(uint64_t ms, char out[32])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(ms % 1000));
}

json_t *cli_op_json(const struct ml_op *op)
{
	json_t *o = json_object(), *deps = json_array();
	struct ml_buf diag = ML_BUF_INIT;
	ml_diag(op->body, op->body_len, &diag);
	char when[32];
	format_ms(op->hlc.ms, when);
	for (size_t i = 0; i < op->ndeps; i++)
		json_array_append_new(deps, cli_json_hex(op->deps + 32 * i, 32));
	json_object_set_new(o, "id", cli_json_hex(op->id.b, 32));
	json_object_set_new(o, "version", json_integer((json_int_t)op->version));
	json_object_set_new(o, "network", cli_json_hex(ml_op_network(op)->b, 32));
	json_object_set_new(o, "author", cli_json_hex(op->author.b, 32));
	json_object_set_new(o, "unit", cli_json_hex(ml_op_feed_unit(op)->b, 32));
	json_object_set_new(o, "lane", json_string(ml_lane_name(op->lane)));
	json_object_set_new(o, "seq", json_integer((json_int_t)op->seq));
	json_object_set_new(o, "prev", op->seq > 1 ? cli_json_hex(op->prev.b, 32) : json_null());
	json_object_set_new(o, "deps", deps);
	json_object_set_new(o, "hlc",
	                    json_pack("{s:I, s:I, s:s}", "ms", (json_int_t)op->hlc.ms, "counter",
	                              (json_int_t)op->hlc.c, "utc", when));
	json_object_set_new(o, "type", json_string(op->type));
	json_object_set_new(o, "body", json_string(ml_buf_str(&diag)));
	json_object_set_new(o, "body_hex", cli_json_hex(op->body, op->body_len));
	json_object_set_new(o, "signed", json_boolean(op->has_sig));
	json_object_set_new(o, "signature",
	                    op->has_sig ? cli_json_hex(op->sig.b, 64) : json_null());
	ml_buf_release(&diag);
	return o;
}

void cli_op_print(const struct ml_op *op)
{
	char id[65], author[65], unit[65], when[32];
	ml_hex_encode(op->id.b, 32, id);
	ml_hex_encode(op->author.b, 32, author);
	ml_hex_encode(ml_op_feed_unit(op)->b, 32, unit);
	format_ms(op->hlc.ms, when);
	struct ml_buf diag = ML_BUF_INIT;
	ml_diag(op->body, op->body_len, &diag);
	printf("op %.16s  %s  seq %llu  %s%s\n", id, op->type, (unsigned long long)op->seq,
	       ml_lane_name(op->lane), op->has_sig ? "  signed" : "");
	printf("   author %.16s  unit %.16s  clock %s+%u\n", author, unit, when, op->hlc.c);
	if (op->ndeps)
		printf("   deps   %zu\n", op->ndeps);
	printf("   body   %s\n", ml_buf_str(&diag));
	ml_buf_release(&diag);
}

int cli_read_file(const char *path, struct ml_buf *out, struct ml_buf *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return ml_errf(err, ML_EIO, "cannot open '%s': %s", path, strerror(errno));
	int rc = ML_OK;
	for (;;) {
		if ((rc = ml_buf_reserve(out, 65536)) != ML_OK)
			break;
		size_t n = fread(out->data + out->len, 1, out->cap - out->len - 1, f);
		out->len += n;
		out->data[out->len] = 0;
		if (n == 0)
			break;
	}
	if (rc == ML_OK && ferror(f))
		rc = ml_errf(err, ML_EIO, "cannot read '%s': %s", path, strerror(errno));
	if (f != stdin)
		fclose(f);
	return rc;
}

int cli_write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(p, 1, n, f) == n;
	int saved = errno;
	ok = f && fclose(f) == 0 && ok;
	if (ok)
		return CLI_OK;
	return cli_error(_("cannot write '%s': %s"), path, strerror(saved ? saved : errno));
}

int cli_home_path(const struct cli *cli, const char *name, struct ml_buf *out)
{
	ml_buf_reset(out);
	return ml_buf_addf(out, "%s/%s", cli->home, name);
}

int cli_net_options(int argc, char **argv, const char *usage, const char *help, struct ml_hash *net,
                    bool *have_net, int *first)
{
	static const struct option opts[] = {
	    {"net", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {0}};
	int c;
	*have_net = false;
	/* getopt sees "VERB options operands": skip NOUN. */
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		if (c == 'n') {
			if (ml_hex_decode(optarg, net->b, 32) != ML_OK)
				return cli_error("'%s' is not a network id (64 hex digits)",
				                 optarg);
			*have_net = true;
		} else if (c == 'h') {
			printf("usage: memberlog %s\n\n%s\n", usage, help);
			return CLI_OK;
		} else {
			return cli_usage(usage);
		}
	}
	*first = 1 + optind;
	return -1;
}

int cli_make_dirs(const char *dir, struct ml_buf *err)
{
	char path[4096];
	if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
		return ml_errf(err, ML_EINVAL, "node directory path is too long");
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != 0)
			continue;
		char c = *p;
		*p = 0;
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return ml_errf(err, ML_EIO, "cannot create directory '%s': %s", path,
			               strerror(errno));
		*p = c;
		if (!c)
			break;
	}
	return ML_OK;
}
