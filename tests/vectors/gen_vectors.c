/*
 * gen_vectors.c - writes tests/vectors/ops.json, the golden op vectors.
 *
 * The committed ops.json is the reference; meson's `vectors_reproducible`
 * test regenerates it and compares byte for byte, and `test_vectors` checks
 * it from the other direction: it rebuilds every valid op from the JSON
 * fields alone and decodes every invalid one.  Everything is deterministic:
 * fixed seeds, fixed clocks, ed25519's deterministic signatures.
 *
 * Usage: gen_vectors > ops.json
 *        gen_vectors --corpus DIR     also writes each encoded op to DIR/<name>
 *                                     (the fuzzer's seed corpus)
 */
#include "crdt/codec.h"
#include "crdt/diag.h"
#include "crdt/err.h"
#include "crdt/feed.h"
#include "tests/common/splice.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1763856000000ULL /* 2025-11-23T00:00:00Z */

static void die(const char *what, int rc, struct ml_buf *err)
{
	fprintf(stderr, "gen_vectors: %s: %s: %s\n", what, ml_err_name(rc),
	        err ? ml_buf_str(err) : "");
	exit(1);
}

static const char *corpus_dir;

static void corpus_file(const char *name, const uint8_t *p, size_t n)
{
	if (!corpus_dir)
		return;
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", corpus_dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die(path, ML_EIO, NULL);
}

static json_t *hex(const void *p, size_t n)
{
	struct ml_buf b = ML_BUF_INIT;
	if (ml_buf_addhex(&b, p, n) < 0)
		die("hex", ML_ENOMEM, NULL);
	json_t *s = json_string(ml_buf_str(&b));
	ml_buf_release(&b);
	return s;
}

static json_t *diag(const uint8_t *p, size_t n)
{
	struct ml_buf b = ML_BUF_INIT;
	int rc = ml_diag(p, n, &b);
	if (rc < 0)
		die("diag", rc, NULL);
	json_t *s = json_string(ml_buf_str(&b));
	ml_buf_release(&b);
	return s;
}

struct named_key {
	const char *name;
	uint8_t seed[32];
	struct ml_key *key;
};

static struct named_key keys[2] = {{.name = "national_admin"}, {.name = "district_officer"}};

static void make_keys(json_t *out)
{
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < 32; i++)
			keys[k].seed[i] = (uint8_t)(32 * k + i);
		if (ml_key_from_seed(keys[k].seed, &keys[k].key) < 0)
			die("key", ML_ENOMEM, NULL);
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(keys[k].name));
		json_object_set_new(o, "seed", hex(keys[k].seed, 32));
		json_object_set_new(o, "public_key", hex(keys[k].key->pk.b, 32));
		json_array_append_new(out, o);
	}
}

/* A body writer: keys must be given in canonical order (the encoder re-checks). */
static struct ml_buf body_of(const char *const *kv, size_t n)
{
	struct ml_buf b = ML_BUF_INIT;
	struct ml_writer w;
	ml_wr_init(&w, &b);
	ml_wr_map(&w, n);
	for (size_t i = 0; i < n; i++) {
		ml_wr_cstr(&w, kv[2 * i]);
		const char *v = kv[2 * i + 1];
		if (v[0] == '[') { /* a list of comma-separated words */
			size_t count = 1;
			for (const char *s = v; *s; s++)
				count += *s == ',';
			ml_wr_array(&w, count);
			const char *s = v + 1;
			while (*s && *s != ']') {
				size_t len = strcspn(s, ",]");
				ml_wr_text(&w, s, len);
				s += len + (s[len] == ',');
			}
		} else {
			ml_wr_cstr(&w, v);
		}
	}
	if (w.err)
		die("body", w.err, NULL);
	return b;
}

/* Records a valid vector for op, encoded at enc[0..len), signed by key k. */
static json_t *valid_vector(const char *name, int k, const struct ml_op *op, const uint8_t *enc,
                            size_t len)
{
	json_t *v = json_object(), *f = json_object();
	corpus_file(name, enc, len);
	json_object_set_new(v, "name", json_string(name));
	json_object_set_new(v, "key", json_string(keys[k].name));
	json_object_set_new(f, "v", json_integer((json_int_t)op->version));
	json_object_set_new(f, "hlc",
	                    json_pack("[I, I]", (json_int_t)op->hlc.ms, (json_int_t)op->hlc.c));
	if (op->has_net)
		json_object_set_new(f, "net", hex(op->net.b, 32));
	json_object_set_new(f, "seq", json_integer((json_int_t)op->seq));
	json_object_set_new(f, "body", hex(op->body, op->body_len));
	json_object_set_new(f, "body_diag", diag(op->body, op->body_len));
	if (op->ndeps) {
		json_t *d = json_array();
		for (size_t i = 0; i < op->ndeps; i++)
			json_array_append_new(d, hex(op->deps + 32 * i, 32));
		json_object_set_new(f, "deps", d);
	}
	json_object_set_new(f, "lane", json_string(ml_lane_name(op->lane)));
	if (op->seq > 1)
		json_object_set_new(f, "prev", hex(op->prev.b, 32));
	json_object_set_new(f, "type", json_string(op->type));
	if (op->has_unit)
		json_object_set_new(f, "unit", hex(op->unit.b, 32));
	json_object_set_new(f, "author", hex(op->author.b, 32));
	json_object_set_new(v, "fields", f);
	json_object_set_new(v, "signed", json_boolean(op->has_sig));
	json_object_set_new(v, "encoded", hex(enc, len));
	json_object_set_new(v, "id", hex(op->id.b, 32));
	if (op->has_sig) {
		json_object_set_new(v, "signature", hex(op->sig.b, 64));
		/* The message: domain prefix (with its NUL), then the encoding without the
		 * signature entry: map header minus one, last 76 bytes dropped. */
		struct ml_buf m = ML_BUF_INIT;
		ml_buf_add(&m, ML_OP_SIG_DOMAIN, ML_OP_SIG_DOMAIN_BYTES);
		uint8_t h = (uint8_t)(enc[0] - 1);
		ml_buf_add(&m, &h, 1);
		ml_buf_add(&m, enc + 1, len - 1 - 76);
		json_object_set_new(v, "signing_input", hex(m.data, m.len));
		ml_buf_release(&m);
	}
	return v;
}

static json_t *invalid_vector(const char *name, const struct ml_buf *enc, const struct ml_hash *net,
                              int expect, const char *why)
{
	/* The generator checks its own claim before recording it. */
	struct ml_op op;
	struct ml_buf err = ML_BUF_INIT;
	int rc = ml_op_decode(enc->data, enc->len, net, &op, &err);
	if (rc != expect) {
		fprintf(stderr, "gen_vectors: %s: got %s (%s), want %s\n", name, ml_err_name(rc),
		        ml_buf_str(&err), ml_err_name(expect));
		exit(1);
	}
	json_t *v = json_object();
	corpus_file(name, enc->data, enc->len);
	json_object_set_new(v, "name", json_string(name));
	json_object_set_new(v, "why", json_string(why));
	json_object_set_new(v, "network", hex(net->b, 32));
	json_object_set_new(v, "encoded", hex(enc->data, enc->len));
	json_object_set_new(v, "error", json_string(ml_err_name(expect)));
	ml_buf_release(&err);
	return v;
}

/* Copies src, applies one splice at the value of key (or at `at` when key is NULL). */
static struct ml_buf mutate(const struct ml_buf *src, const char *key, size_t at, size_t del,
                            const char *ins_hex)
{
	struct ml_buf b = ML_BUF_INIT;
	ml_buf_add(&b, src->data, src->len);
	uint8_t ins[256];
	size_t n = strlen(ins_hex) / 2;
	if (n > sizeof ins || ml_hex_decode(ins_hex, ins, n) < 0)
		die("mutate hex", ML_EINVAL, NULL);
	if (key) {
		at = splice_value_at(&b, key);
		if (at == SIZE_MAX)
			die("mutate key", ML_ENOTFOUND, NULL);
		if (del == SIZE_MAX)
			del = splice_item_len(&b, at);
	}
	if (splice_bytes(&b, at, del, ins, n) < 0)
		die("mutate splice", ML_EINVAL, NULL);
	return b;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--corpus") == 0)
		corpus_dir = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "usage: gen_vectors [--corpus DIR] > ops.json\n");
		return 2;
	}
	if (ml_crypto_init() < 0)
		die("sodium_init", ML_EIO, NULL);
	json_t *root = json_object(), *jkeys = json_array(), *valid = json_array(),
	       *invalid = json_array();
	json_object_set_new(root, "format", json_string("memberlog op test vectors"));
	json_object_set_new(root, "protocol_version", json_integer(ML_OP_VERSION));
	json_object_set_new(root, "signature_domain",
	                    hex(ML_OP_SIG_DOMAIN, ML_OP_SIG_DOMAIN_BYTES));
	make_keys(jkeys);
	json_object_set_new(root, "keys", jkeys);

	struct ml_buf err = ML_BUF_INIT, gov = ML_BUF_INIT, reg = ML_BUF_INIT;
	int rc;

	/* 1. Genesis and a unit creation: one gov feed of the national admin, two batches. */
	struct ml_feed_head gh = {.feed.lane = ML_LANE_GOV};
	struct ml_hlc clock = {0, 0};
	static const char *const gen_kv[] = {"name", "Tổng Liên đoàn Lao động Việt Nam"};
	struct ml_buf gen_body = body_of(gen_kv, 1);
	struct ml_op g = {0};
	strcpy(g.type, ML_OP_TYPE_GENESIS);
	g.body = gen_body.data;
	g.body_len = gen_body.len;
	size_t gend;
	if ((rc = ml_feed_write_batch(&gh, keys[0].key, &clock, T0, &g, 1, &gov, &gend, &err)))
		die("genesis", rc, &err);
	struct ml_hash net = g.id;
	json_object_set_new(root, "network", hex(net.b, 32));
	json_array_append_new(valid, valid_vector("genesis", 0, &g, gov.data, gend));

	static const char *const unit_kv[] = {"name", "Liên đoàn Lao động Thành phố Hà Nội",
	                                      "level", "province"};
	struct ml_buf unit_body = body_of(unit_kv, 2);
	struct ml_op u = {.has_net = true, .net = net};
	strcpy(u.type, "unit_create");
	u.body = unit_body.data;
	u.body_len = unit_body.len;
	size_t uend;
	if ((rc = ml_feed_write_batch(&gh, keys[0].key, &clock, T0, &u, 1, &gov, &uend, &err)))
		die("unit_create", rc, &err);
	json_array_append_new(valid,
	                      valid_vector("unit_create", 0, &u, gov.data + gend, uend - gend));

	/* 2. A batch of three member drafts in the reg lane of the new unit, one signature. */
	static const char *const m_kv[3][16] = {
	    {"dob", "11/02/1990", "gender", "male", "hometown", "Hà Nội", "full_name",
	     "Lê Văn Lương", "id_number", "109814122", "positions", "[chair,exec_committee_member]",
	     "union_join_date", "11/02/2012"},
	    {"dob", "11/02/1992", "gender", "female", "hometown", "Hà Nội", "full_name",
	     "Nguyễn Tuấn Phước", "id_number", "109814124", "positions", "[group_leader]",
	     "union_join_date", "11/02/2012"},
	    {"dob", "11/02/1996", "gender", "female", "hometown", "Hà Nội", "full_name",
	     "Lê Bá Đạt", "id_number", "109814128", "positions", "[chair,group_deputy]",
	     "union_join_date", "11/02/2012"},
	};
	struct ml_buf mb[3];
	struct ml_op m[3];
	memset(m, 0, sizeof m);
	for (int i = 0; i < 3; i++) {
		mb[i] = body_of(m_kv[i], 7);
		m[i].has_net = true;
		m[i].net = net;
		strcpy(m[i].type, "member_create");
		m[i].body = mb[i].data;
		m[i].body_len = mb[i].len;
	}
	m[0].deps = u.id.b; /* the officer had seen the unit's creation */
	m[0].ndeps = 1;
	struct ml_feed_head rh = {.feed.unit = u.id, .feed.lane = ML_LANE_REG};
	struct ml_hlc rclock = {0, 0};
	size_t mend[3];
	if ((rc = ml_feed_write_batch(&rh, keys[1].key, &rclock, T0 + 60000, m, 3, &reg, mend,
	                              &err)))
		die("member batch", rc, &err);
	size_t s = 0;
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof name, "member_batch_%d_of_3", i + 1);
		json_array_append_new(valid,
		                      valid_vector(name, 1, &m[i], reg.data + s, mend[i] - s));
		s = mend[i];
	}
	json_object_set_new(root, "valid", valid);

	/* 3. Invalid ops, each derived from a valid one by one change. */
	struct ml_buf unit_op = ML_BUF_INIT, draft = ML_BUF_INIT, last = ML_BUF_INIT;
	ml_buf_add(&unit_op, gov.data + gend, uend - gend);
	ml_buf_add(&draft, reg.data + mend[0], mend[1] - mend[0]); /* seq 2, unsigned */
	ml_buf_add(&last, reg.data + mend[1], mend[2] - mend[1]);  /* seq 3, signed */
	struct ml_hash other = net;
	other.b[0] ^= 0xff;

	struct {
		const char *name;
		struct ml_buf enc;
		const struct ml_hash *net;
		int err;
		const char *why;
	} bad[] = {
	    {"non_canonical_integer", mutate(&draft, "seq", 0, 1, "1802"), &net, ML_ENONCANON,
	     "seq 2 encoded in two bytes (18 02) instead of one (02)"},
	    {"non_canonical_length", mutate(&draft, "net", 0, 2, "590020"), &net, ML_ENONCANON,
	     "the 32-byte net's length in two bytes (59 00 20) instead of one (58 20)"},
	    {"unsorted_keys", ML_BUF_INIT, &net, ML_ENONCANON,
	     "the \"v\" entry moved to the end of the map"},
	    {"duplicate_key", ML_BUF_INIT, &net, ML_ENONCANON,
	     "\"v\" appears twice (map count raised by one)"},
	    {"indefinite_length_map", ML_BUF_INIT, &net, ML_ENONCANON,
	     "the op map uses the indefinite-length form (bf ... ff)"},
	    {"indefinite_length_text", mutate(&draft, "lane", 0, SIZE_MAX, "7f63726567ff"), &net,
	     ML_ENONCANON, "lane \"reg\" as an indefinite-length text string"},
	    {"bad_signature", ML_BUF_INIT, &net, ML_EBADSIG,
	     "the last byte of the signature flipped"},
	    {"wrong_network", ML_BUF_INIT, &other, ML_EWRONGNET,
	     "a valid op, decoded by a node of another network"},
	    {"oversize", ML_BUF_INIT, &net, ML_ETOOBIG,
	     "an op over 65,536 bytes (a 65,535-byte string in the body)"},
	    {"truncated", ML_BUF_INIT, &net, ML_ETRUNCATED, "the last byte removed"},
	    {"trailing_bytes", ML_BUF_INIT, &net, ML_ETRAILING, "one 00 byte after the op"},
	    {"wrong_type_seq", mutate(&draft, "seq", 0, SIZE_MAX, "6132"), &net, ML_ETYPE,
	     "seq as the text \"2\""},
	    {"wrong_type_body", mutate(&draft, "body", 0, SIZE_MAX, "80"), &net, ML_ETYPE,
	     "body as an array instead of a map"},
	    {"wrong_type_author", mutate(&draft, "author", 0, SIZE_MAX, "6161"), &net, ML_ETYPE,
	     "author as text"},
	    {"float_in_body", mutate(&draft, "body", 0, SIZE_MAX, "a16178f93c00"), &net, ML_ETYPE,
	     "body {\"x\": 1.0} holds a float"},
	    {"invalid_utf8", mutate(&draft, "body", 0, SIZE_MAX, "a1617862c328"), &net,
	     ML_EMALFORMED, "body text c3 28 is not UTF-8"},
	    {"unknown_version", mutate(&draft, "v", 0, 1, "02"), &net, ML_EVERSION, "v = 2"},
	    {"unknown_field", ML_BUF_INIT, &net, ML_EFIELD, "key \"lane\" renamed \"lame\""},
	    {"prev_on_seq_1", mutate(&draft, "seq", 0, 1, "01"), &net, ML_EFIELD,
	     "seq 2 changed to 1 while prev stays"},
	    {"deps_unsorted", ML_BUF_INIT, &net, ML_ENONCANON, "two deps in descending order"},
	    {"reserved_initial_byte", mutate(&draft, "seq", 0, 1, "1c"), &net, ML_EMALFORMED,
	     "seq's initial byte 1c uses reserved additional information 28"},
	};
	size_t nbad = sizeof bad / sizeof bad[0];
	for (size_t i = 0; i < nbad; i++) {
		struct ml_buf *b = &bad[i].enc;
		const char *n = bad[i].name;
		if (strcmp(n, "unsorted_keys") == 0) {
			ml_buf_add(b, draft.data, draft.len);
			splice_bytes(b, 1, 3, NULL, 0);
			ml_buf_add(b, "\x61v\x01", 3);
		} else if (strcmp(n, "duplicate_key") == 0) {
			ml_buf_add(b, draft.data, draft.len);
			b->data[0]++;
			splice_bytes(b, 4, 0, "\x61v\x01", 3);
		} else if (strcmp(n, "indefinite_length_map") == 0) {
			ml_buf_add(b, draft.data, draft.len);
			b->data[0] = 0xbf;
			ml_buf_add(b, "\xff", 1);
		} else if (strcmp(n, "bad_signature") == 0) {
			ml_buf_add(b, last.data, last.len);
			b->data[b->len - 1] ^= 1;
		} else if (strcmp(n, "wrong_network") == 0) {
			ml_buf_add(b, last.data, last.len);
		} else if (strcmp(n, "oversize") == 0) {
			*b = mutate(&draft, "body", 0, SIZE_MAX, "a16178");
			uint8_t head[3] = {0x59, 0xff, 0xff};
			size_t at = splice_value_at(b, "body") + 3;
			splice_bytes(b, at, 0, head, 3);
			uint8_t *zeros = calloc(1, 0xffff);
			splice_bytes(b, at + 3, 0, zeros, 0xffff);
			free(zeros);
		} else if (strcmp(n, "truncated") == 0) {
			ml_buf_add(b, last.data, last.len - 1);
		} else if (strcmp(n, "trailing_bytes") == 0) {
			ml_buf_add(b, last.data, last.len);
			ml_buf_add(b, "", 1);
		} else if (strcmp(n, "unknown_field") == 0) {
			ml_buf_add(b, draft.data, draft.len);
			b->data[splice_find_key(b, "lane") + 3] = 'm';
		} else if (strcmp(n, "deps_unsorted") == 0) {
			uint8_t two[64];
			memset(two, 0xee, 32);
			memset(two + 32, 0x11, 32);
			ml_buf_add(b, unit_op.data, unit_op.len);
			/* "deps" sorts after "body": insert before "lane" and bump the count. */
			size_t at = splice_find_key(b, "lane");
			splice_bytes(b, at, 0,
			             "\x64"
			             "deps"
			             "\x58\x40",
			             7);
			splice_bytes(b, at + 7, 0, two, 64);
			b->data[0]++;
		}
		json_array_append_new(invalid,
		                      invalid_vector(n, b, bad[i].net, bad[i].err, bad[i].why));
		ml_buf_release(b);
	}
	json_object_set_new(root, "invalid", invalid);

	char *text = json_dumps(root, JSON_INDENT(2));
	if (!text)
		die("json", ML_ENOMEM, NULL);
	fputs(text, stdout);
	fputc('\n', stdout);
	free(text);
	json_decref(root);
	for (int i = 0; i < 3; i++)
		ml_buf_release(&mb[i]);
	ml_buf_release(&gen_body);
	ml_buf_release(&unit_body);
	ml_buf_release(&gov);
	ml_buf_release(&reg);
	ml_buf_release(&unit_op);
	ml_buf_release(&draft);
	ml_buf_release(&last);
	ml_buf_release(&err);
	for (int k = 0; k < 2; k++)
		ml_key_free(keys[k].key);
	return 0;
}
