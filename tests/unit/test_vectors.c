/*
 * test_vectors.c - checks the golden vectors in tests/vectors/ops.json.
 *
 * Valid vectors are rebuilt from their JSON fields alone (not from the
 * encoded bytes) and must encode to exactly the recorded bytes, id and
 * signature; then the recorded bytes must decode.  Invalid vectors must fail
 * to decode with exactly the recorded error.  The path of ops.json is argv[1].
 */
#include "test.h"

#include "crdt/err.h"

#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static json_t *vectors;

/* Decodes the hex string at o[key] into a fresh buffer; *n gets its length. */
static uint8_t *unhex_field(json_t *o, const char *key, size_t *n)
{
	const char *h = json_string_value(json_object_get(o, key));
	assert_non_null(h);
	size_t len = strlen(h) / 2;
	uint8_t *p = malloc(len ? len : 1);
	assert_int_equal(ml_hex_decode(h, p, len), ML_OK);
	*n = len;
	return p;
}

static void get_hash(json_t *o, const char *key, uint8_t out[32])
{
	const char *h = json_string_value(json_object_get(o, key));
	assert_non_null(h);
	assert_int_equal(ml_hex_decode(h, out, 32), ML_OK);
}

static struct ml_key *key_named(const char *name)
{
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(vectors, "keys"), i, k)
	{
		if (strcmp(json_string_value(json_object_get(k, "name")), name) == 0) {
			uint8_t seed[32], pk[32];
			get_hash(k, "seed", seed);
			get_hash(k, "public_key", pk);
			struct ml_key *key;
			assert_int_equal(ml_key_from_seed(seed, &key), ML_OK);
			assert_memory_equal(key->pk.b, pk, 32);
			return key;
		}
	}
	fail_msg("no key named %s", name);
	return NULL;
}

static void test_vectors_valid_ops_rebuild_exactly(void **state)
{
	(void)state;
	struct ml_hash net;
	get_hash(vectors, "network", net.b);
	size_t i;
	json_t *v;
	size_t count = 0;
	json_array_foreach(json_object_get(vectors, "valid"), i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		json_t *f = json_object_get(v, "fields");
		struct ml_op op = {0};
		op.version = (uint64_t)json_integer_value(json_object_get(f, "v"));
		json_t *hlc = json_object_get(f, "hlc");
		op.hlc.ms = (uint64_t)json_integer_value(json_array_get(hlc, 0));
		op.hlc.c = (uint32_t)json_integer_value(json_array_get(hlc, 1));
		op.seq = (uint64_t)json_integer_value(json_object_get(f, "seq"));
		if (json_object_get(f, "net")) {
			op.has_net = true;
			get_hash(f, "net", op.net.b);
		}
		if (json_object_get(f, "unit")) {
			op.has_unit = true;
			get_hash(f, "unit", op.unit.b);
		}
		if (json_object_get(f, "prev"))
			get_hash(f, "prev", op.prev.b);
		get_hash(f, "author", op.author.b);
		const char *lane = json_string_value(json_object_get(f, "lane"));
		op.lane = strcmp(lane, "reg") == 0 ? ML_LANE_REG : ML_LANE_GOV;
		strcpy(op.type, json_string_value(json_object_get(f, "type")));
		size_t body_len;
		uint8_t *body = unhex_field(f, "body", &body_len);
		op.body = body;
		op.body_len = body_len;
		json_t *deps = json_object_get(f, "deps");
		uint8_t depbuf[32 * 8];
		if (deps) {
			op.ndeps = json_array_size(deps);
			assert_true(op.ndeps <= 8);
			for (size_t d = 0; d < op.ndeps; d++)
				assert_int_equal(
				    ml_hex_decode(json_string_value(json_array_get(deps, d)),
				                  depbuf + 32 * d, 32),
				    ML_OK);
			op.deps = depbuf;
		}
		bool is_signed = json_is_true(json_object_get(v, "signed"));
		struct ml_key *key =
		    is_signed ? key_named(json_string_value(json_object_get(v, "key"))) : NULL;
		struct ml_buf out = ML_BUF_INIT, err = ML_BUF_INIT;
		int rc = ml_op_seal(&op, key, &out, &err);
		if (rc)
			fail_msg("%s: %s: %s", name, ml_err_name(rc), ml_buf_str(&err));

		size_t enc_len, id_len;
		uint8_t *enc = unhex_field(v, "encoded", &enc_len);
		uint8_t *id = unhex_field(v, "id", &id_len);
		if (out.len != enc_len || memcmp(out.data, enc, enc_len) != 0)
			fail_msg("%s: encoding differs from the vector", name);
		assert_memory_equal(op.id.b, id, 32);
		if (is_signed) {
			size_t sig_len;
			uint8_t *sig = unhex_field(v, "signature", &sig_len);
			assert_int_equal(sig_len, 64);
			assert_memory_equal(op.sig.b, sig, 64);
			free(sig);
		}
		struct ml_op back;
		rc = ml_op_decode(enc, enc_len, &net, &back, &err);
		if (rc)
			fail_msg("%s: decode: %s: %s", name, ml_err_name(rc), ml_buf_str(&err));
		assert_memory_equal(back.id.b, id, 32);
		free(enc);
		free(id);
		free(body);
		ml_key_free(key);
		ml_buf_release(&out);
		ml_buf_release(&err);
		count++;
	}
	assert_true(count >= 5);
}

static void test_vectors_member_batch_verifies_with_one_signature(void **state)
{
	(void)state;
	struct ml_op ops[3];
	uint8_t *enc[3];
	size_t i, k = 0;
	json_t *v;
	json_array_foreach(json_object_get(vectors, "valid"), i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		if (strncmp(name, "member_batch_", 13) != 0)
			continue;
		assert_true(k < 3);
		size_t n;
		enc[k] = unhex_field(v, "encoded", &n);
		assert_int_equal(ml_op_parse(enc[k], n, &ops[k], NULL), ML_OK);
		k++;
	}
	assert_int_equal(k, 3);
	size_t ok;
	assert_int_equal(ml_feed_verify_run(NULL, ops, 3, &ok, NULL), ML_OK);
	assert_int_equal(ok, 3);
	assert_false(ops[0].has_sig);
	assert_false(ops[1].has_sig);
	assert_true(ops[2].has_sig);
	for (k = 0; k < 3; k++)
		free(enc[k]);
}

static void test_vectors_invalid_ops_fail_with_their_error(void **state)
{
	(void)state;
	size_t i;
	json_t *v;
	size_t count = 0;
	json_array_foreach(json_object_get(vectors, "invalid"), i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *want = json_string_value(json_object_get(v, "error"));
		struct ml_hash net;
		get_hash(v, "network", net.b);
		size_t n;
		uint8_t *enc = unhex_field(v, "encoded", &n);
		struct ml_op op;
		struct ml_buf err = ML_BUF_INIT;
		int rc = ml_op_decode(enc, n, &net, &op, &err);
		if (rc != ml_err_from_name(want))
			fail_msg("%s: got %s (%s), want %s", name, ml_err_name(rc),
			         ml_buf_str(&err), want);
		free(enc);
		ml_buf_release(&err);
		count++;
	}
	/* Every class the protocol names has a vector. */
	static const char *classes[] = {
	    "ML_ENONCANON", "ML_EBADSIG", "ML_EWRONGNET", "ML_ETOOBIG",  "ML_ETRUNCATED",
	    "ML_ETRAILING", "ML_ETYPE",   "ML_EFIELD",    "ML_EVERSION", "ML_EMALFORMED"};
	for (size_t c = 0; c < sizeof classes / sizeof classes[0]; c++) {
		bool found = false;
		json_array_foreach(json_object_get(vectors, "invalid"), i, v)
		{
			found |=
			    strcmp(json_string_value(json_object_get(v, "error")), classes[c]) == 0;
		}
		if (!found)
			fail_msg("no invalid vector for %s", classes[c]);
	}
	assert_true(count >= 20);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_vectors ops.json\n");
		return 2;
	}
	ml_crypto_init();
	json_error_t jerr;
	vectors = json_load_file(argv[1], 0, &jerr);
	if (!vectors) {
		fprintf(stderr, "%s:%d:%d: %s\n", argv[1], jerr.line, jerr.column, jerr.text);
		return 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors_valid_ops_rebuild_exactly),
	    cmocka_unit_test(test_vectors_member_batch_verifies_with_one_signature),
	    cmocka_unit_test(test_vectors_invalid_ops_fail_with_their_error),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	json_decref(vectors);
	return rc;
}
