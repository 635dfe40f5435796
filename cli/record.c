/*
 * record.c - member records as JSON (see record.h).
 */
#include "record.h"

#include "cli.h"

#include "crdt/body.h"
#include "crdt/codec.h"

#include <string.h>

static json_t *value_json(struct ml_reader *r, int depth)
{
	struct ml_cbor_item it;
	if (depth > 4 || ml_rd_item(r, &it) != 0)
		return NULL;
	switch (it.kind) {
	case ML_CBOR_UINT:
		return json_integer((json_int_t)it.val);
	case ML_CBOR_TEXT:
		return json_stringn((const char *)it.ptr, it.val);
	case ML_CBOR_BYTES:
		return cli_json_hex(it.ptr, it.val);
	case ML_CBOR_BOOL:
		return json_boolean(it.val);
	case ML_CBOR_NULL:
		return json_null();
	case ML_CBOR_ARRAY: {
		json_t *a = json_array();
		for (uint64_t i = 0; i < it.val && a; i++) {
			json_t *v = value_json(r, depth + 1);
			if (!v) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, v);
		}
		return a;
	}
	default:
		return NULL;
	}
}

json_t *cli_record_json(const uint8_t *p, size_t n)
{
	struct ml_body b;
	if (!p || n == 0 || ml_body_parse(&b, p, n, NULL) != 0)
		return NULL;
	json_t *o = json_object();
	for (size_t i = 0; i < b.n && o; i++) {
		struct ml_reader r;
		ml_rd_init(&r, b.f[i].val, b.f[i].vlen);
		json_t *v = value_json(&r, 0);
		char key[64];
		if (!v || b.f[i].klen >= sizeof key) {
			json_decref(v);
			continue;
		}
		memcpy(key, b.f[i].key, b.f[i].klen);
		key[b.f[i].klen] = 0;
		json_object_set_new(o, key, v);
	}
	return o;
}

const char *cli_jstr(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}
