/*
 * codec.c - the deterministic CBOR subset memberlog reads and writes.
 *
 * What is accepted (RFC 8949 §4.2.1 "core deterministic encoding", narrowed):
 *
 *   major 0, 1   integers, head in shortest form (0..23 inline, then 1, 2, 4, 8 bytes)
 *   major 2      byte strings, definite length, shortest-form length
 *   major 3      text strings, definite length, valid UTF-8
 *   major 4      arrays, definite length
 *   major 5      maps, definite length, text keys, keys in strictly ascending
 *                bytewise order of their encodings (so no duplicates)
 *   major 7      false (0xf4), true (0xf5), null (0xf6)
 *
 * Everything else is rejected: indefinite lengths and "break" (ML_ENONCANON),
 * tags, floats and undefined (ML_ETYPE where a value is read), reserved
 * additional-information values and unassigned simple values (ML_EMALFORMED).
 *
 * libcbor's cbor_stream_decode() decodes one head per call without
 * allocating; it bounds-checks every length against the remaining input
 * (returning NEDATA), which we report as ML_ETRUNCATED.
 */
#include "codec.h"

#include "err.h"

#include <cbor.h>
#include <string.h>

/* --- reading ------------------------------------------------------------ */

enum head_flag { HEAD_PLAIN, HEAD_INDEFINITE, HEAD_BREAK };

struct head_ctx {
	struct ml_cbor_item *it;
	enum head_flag flag;
};

static void set_int(void *c, enum ml_cbor_kind kind, uint64_t v)
{
	struct head_ctx *h = c;
	h->it->kind = kind;
	h->it->val = v;
}

static void on_uint8(void *c, uint8_t v)
{
	set_int(c, ML_CBOR_UINT, v);
}
static void on_uint16(void *c, uint16_t v)
{
	set_int(c, ML_CBOR_UINT, v);
}
static void on_uint32(void *c, uint32_t v)
{
	set_int(c, ML_CBOR_UINT, v);
}
static void on_uint64(void *c, uint64_t v)
{
	set_int(c, ML_CBOR_UINT, v);
}
static void on_negint8(void *c, uint8_t v)
{
	set_int(c, ML_CBOR_NEGINT, v);
}
static void on_negint16(void *c, uint16_t v)
{
	set_int(c, ML_CBOR_NEGINT, v);
}
static void on_negint32(void *c, uint32_t v)
{
	set_int(c, ML_CBOR_NEGINT, v);
}
static void on_negint64(void *c, uint64_t v)
{
	set_int(c, ML_CBOR_NEGINT, v);
}

static void set_string(void *c, enum ml_cbor_kind kind, cbor_data p, size_t n)
{
	struct head_ctx *h = c;
	h->it->kind = kind;
	h->it->val = n;
	h->it->ptr = p;
}

static void on_bytes(void *c, cbor_data p, size_t n)
{
	set_string(c, ML_CBOR_BYTES, p, n);
}
static void on_text(void *c, cbor_data p, size_t n)
{
	set_string(c, ML_CBOR_TEXT, p, n);
}
static void on_array(void *c, size_t n)
{
	set_int(c, ML_CBOR_ARRAY, n);
}
static void on_map(void *c, size_t n)
{
	set_int(c, ML_CBOR_MAP, n);
}
static void on_indefinite(void *c)
{
	((struct head_ctx *)c)->flag = HEAD_INDEFINITE;
}
static void on_break(void *c)
{
	((struct head_ctx *)c)->flag = HEAD_BREAK;
}
static void on_bool(void *c, bool v)
{
	set_int(c, ML_CBOR_BOOL, v);
}
static void on_null(void *c)
{
	set_int(c, ML_CBOR_NULL, 0);
}
static void on_other(void *c)
{
	set_int(c, ML_CBOR_OTHER, 0);
}
static void on_tag(void *c, uint64_t v)
{
	(void)v;
	on_other(c);
}
static void on_float(void *c, float v)
{
	(void)v;
	on_other(c);
}
static void on_double(void *c, double v)
{
	(void)v;
	on_other(c);
}

static const struct cbor_callbacks head_callbacks = {
    .uint8 = on_uint8,
    .uint16 = on_uint16,
    .uint32 = on_uint32,
    .uint64 = on_uint64,
    .negint8 = on_negint8,
    .negint16 = on_negint16,
    .negint32 = on_negint32,
    .negint64 = on_negint64,
    .byte_string = on_bytes,
    .byte_string_start = on_indefinite,
    .string = on_text,
    .string_start = on_indefinite,
    .array_start = on_array,
    .indef_array_start = on_indefinite,
    .map_start = on_map,
    .indef_map_start = on_indefinite,
    .tag = on_tag,
    .float2 = on_float,
    .float4 = on_float,
    .float8 = on_double,
    .undefined = on_other,
    .null = on_null,
    .boolean = on_bool,
    .indef_break = on_break,
};

/* Length of the shortest head carrying argument v. */
static size_t shortest_head(uint64_t v)
{
	if (v < 24)
		return 1;
	if (v <= 0xff)
		return 2;
	if (v <= 0xffff)
		return 3;
	if (v <= 0xffffffffULL)
		return 5;
	return 9;
}

void ml_rd_init(struct ml_reader *r, const void *p, size_t len)
{
	*r = (struct ml_reader){.p = p, .len = len};
}

int ml_rd_fail(struct ml_reader *r, int code, size_t at, const char *what)
{
	if (r->err == ML_OK) {
		r->err = code;
		r->err_off = at;
		r->what = what;
	}
	return r->err;
}

bool ml_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		/* Text is mostly ASCII: skip 8 ASCII bytes at a time. */
		while (n - i >= 8) {
			uint64_t w;
			memcpy(&w, p + i, 8);
			if (w & 0x8080808080808080ULL)
				break;
			i += 8;
		}
		while (i < n && p[i] < 0x80)
			i++;
		if (i == n)
			break;
		uint8_t c = p[i];
		size_t extra;
		uint32_t cp, min;
		if (c >= 0xc2 && c <= 0xdf) {
			extra = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			extra = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			extra = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (extra > n - i - 1)
			return false;
		for (size_t k = 1; k <= extra; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += extra + 1;
	}
	return true;
}

int ml_rd_item(struct ml_reader *r, struct ml_cbor_item *it)
{
	it->kind = ML_CBOR_NONE;
	it->start = r->off;
	if (r->err)
		return r->err;
	if (r->off >= r->len)
		return ml_rd_fail(r, ML_ETRUNCATED, r->off,
		                  "input ends where an item should start");

	struct head_ctx ctx = {.it = it, .flag = HEAD_PLAIN};
	const uint8_t *at = r->p + r->off;
	struct cbor_decoder_result res =
	    cbor_stream_decode(at, r->len - r->off, &head_callbacks, &ctx);
	if (res.status == CBOR_DECODER_NEDATA)
		return ml_rd_fail(r, ML_ETRUNCATED, r->off, "input ends inside an item");
	if (res.status != CBOR_DECODER_FINISHED)
		return ml_rd_fail(r, ML_EMALFORMED, r->off, "reserved or unassigned initial byte");
	if (ctx.flag == HEAD_INDEFINITE)
		return ml_rd_fail(r, ML_ENONCANON, r->off, "indefinite-length item");
	if (ctx.flag == HEAD_BREAK)
		return ml_rd_fail(r, ML_EMALFORMED, r->off, "unexpected break byte");

	size_t head = res.read;
	switch (it->kind) {
	case ML_CBOR_BYTES:
	case ML_CBOR_TEXT:
		head = (size_t)(it->ptr - at);
		/* fall through */
	case ML_CBOR_UINT:
	case ML_CBOR_NEGINT:
	case ML_CBOR_ARRAY:
	case ML_CBOR_MAP:
		if (head != shortest_head(it->val))
			return ml_rd_fail(r, ML_ENONCANON, r->off,
			                  "integer or length not in shortest form");
		break;
	default:
		break;
	}
	if (it->kind == ML_CBOR_TEXT && !ml_utf8_valid(it->ptr, it->val))
		return ml_rd_fail(r, ML_EMALFORMED, r->off, "text string is not valid UTF-8");
	/* Each element takes at least one byte, so a count beyond the remaining
	 * input is a lie; refusing it here bounds every loop over elements. */
	size_t rest = r->len - r->off - res.read;
	if ((it->kind == ML_CBOR_ARRAY && it->val > rest) ||
	    (it->kind == ML_CBOR_MAP && it->val > rest / 2))
		return ml_rd_fail(r, ML_ETRUNCATED, r->off, "element count exceeds the input");
	r->off += res.read;
	return ML_OK;
}

static bool expect(struct ml_reader *r, struct ml_cbor_item *it, enum ml_cbor_kind kind,
                   const char *what)
{
	if (ml_rd_item(r, it) != ML_OK)
		return false;
	if (it->kind != kind) {
		ml_rd_fail(r, ML_ETYPE, it->start, what);
		return false;
	}
	return true;
}

uint64_t ml_rd_uint(struct ml_reader *r)
{
	struct ml_cbor_item it;
	return expect(r, &it, ML_CBOR_UINT, "expected an unsigned integer") ? it.val : 0;
}

const uint8_t *ml_rd_bytes(struct ml_reader *r, size_t *n)
{
	struct ml_cbor_item it;
	bool ok = expect(r, &it, ML_CBOR_BYTES, "expected a byte string");
	*n = ok ? (size_t)it.val : 0;
	return ok ? it.ptr : NULL;
}

const uint8_t *ml_rd_text(struct ml_reader *r, size_t *n)
{
	struct ml_cbor_item it;
	bool ok = expect(r, &it, ML_CBOR_TEXT, "expected a text string");
	*n = ok ? (size_t)it.val : 0;
	return ok ? it.ptr : NULL;
}

uint64_t ml_rd_array(struct ml_reader *r)
{
	struct ml_cbor_item it;
	return expect(r, &it, ML_CBOR_ARRAY, "expected an array") ? it.val : 0;
}

uint64_t ml_rd_map(struct ml_reader *r)
{
	struct ml_cbor_item it;
	return expect(r, &it, ML_CBOR_MAP, "expected a map") ? it.val : 0;
}

bool ml_rd_bool(struct ml_reader *r)
{
	struct ml_cbor_item it;
	return expect(r, &it, ML_CBOR_BOOL, "expected true or false") ? it.val != 0 : false;
}

/* Returns <0, 0, >0 ordering two encoded keys as RFC 8949 §4.2.1 does: bytewise. */
static int key_order(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static void read_value(struct ml_reader *r, int depth)
{
	struct ml_cbor_item it;
	if (ml_rd_item(r, &it) != ML_OK)
		return;
	switch (it.kind) {
	case ML_CBOR_ARRAY:
	case ML_CBOR_MAP:
		if (depth <= 0) {
			ml_rd_fail(r, ML_ETOOBIG, it.start, "arrays and maps nested too deeply");
			return;
		}
		break;
	case ML_CBOR_OTHER:
		ml_rd_fail(r, ML_ETYPE, it.start, "tags, floats and undefined are not allowed");
		return;
	default:
		return;
	}
	if (it.kind == ML_CBOR_ARRAY) {
		for (uint64_t i = 0; i < it.val && !r->err; i++)
			read_value(r, depth - 1);
		return;
	}
	const uint8_t *prev_key = NULL;
	size_t prev_len = 0;
	for (uint64_t i = 0; i < it.val && !r->err; i++) {
		struct ml_cbor_item key;
		if (!expect(r, &key, ML_CBOR_TEXT, "map keys must be text strings"))
			return;
		const uint8_t *k = r->p + key.start;
		size_t klen = r->off - key.start;
		if (prev_key) {
			int c = key_order(prev_key, prev_len, k, klen);
			if (c >= 0) {
				ml_rd_fail(r, ML_ENONCANON, key.start,
				           c == 0 ? "duplicate map key"
				                  : "map keys not in canonical order");
				return;
			}
		}
		prev_key = k;
		prev_len = klen;
		read_value(r, depth - 1);
	}
}

int ml_rd_value(struct ml_reader *r, int max_depth, size_t *start, size_t *len)
{
	size_t from = r->off;
	read_value(r, max_depth);
	*start = from;
	*len = r->err ? 0 : r->off - from;
	return r->err;
}

void ml_rd_describe(const struct ml_reader *r, struct ml_buf *err)
{
	if (err && r->err)
		ml_buf_addf(err, "%s at byte %zu", r->what ? r->what : ml_strerror(r->err),
		            r->err_off);
}

/* --- writing ------------------------------------------------------------ */

void ml_wr_init(struct ml_writer *w, struct ml_buf *out)
{
	*w = (struct ml_writer){.out = out};
}

void ml_wr_init_compare(struct ml_writer *w, const uint8_t *ref, size_t len)
{
	*w = (struct ml_writer){.ref = ref, .ref_len = len};
}

/* Compares short runs inline: most emitted pieces are 1-10 byte heads and keys. */
static bool same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
	if (n > 16)
		return memcmp(a, b, n) == 0;
	uint8_t diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

void ml_wr_raw(struct ml_writer *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (w->out) {
		w->err = ml_buf_add(w->out, p, n);
	} else if (n > w->ref_len - w->off || !same_bytes(w->ref + w->off, p, n)) {
		size_t k = 0;
		while (k < n && w->off + k < w->ref_len &&
		       w->ref[w->off + k] == ((const uint8_t *)p)[k])
			k++;
		w->mismatch = w->off + k;
		w->err = ML_ENONCANON;
	}
	if (!w->err)
		w->off += n;
}

/* Every libcbor streaming encoder writes the shortest head, at most 9 bytes. */
#define EMIT_HEAD(w, call)                 \
	do {                               \
		unsigned char head_[9];    \
		size_t n_ = (call);        \
		ml_wr_raw((w), head_, n_); \
	} while (0)

void ml_wr_uint(struct ml_writer *w, uint64_t v)
{
	EMIT_HEAD(w, cbor_encode_uint(v, head_, sizeof head_));
}

void ml_wr_negint(struct ml_writer *w, uint64_t v)
{
	EMIT_HEAD(w, cbor_encode_negint(v, head_, sizeof head_));
}

void ml_wr_bytes(struct ml_writer *w, const void *p, size_t n)
{
	EMIT_HEAD(w, cbor_encode_bytestring_start(n, head_, sizeof head_));
	ml_wr_raw(w, p, n);
}

void ml_wr_text(struct ml_writer *w, const char *s, size_t n)
{
	EMIT_HEAD(w, cbor_encode_string_start(n, head_, sizeof head_));
	ml_wr_raw(w, s, n);
}

void ml_wr_cstr(struct ml_writer *w, const char *s)
{
	ml_wr_text(w, s, strlen(s));
}

void ml_wr_array(struct ml_writer *w, uint64_t count)
{
	EMIT_HEAD(w, cbor_encode_array_start(count, head_, sizeof head_));
}

void ml_wr_map(struct ml_writer *w, uint64_t count)
{
	EMIT_HEAD(w, cbor_encode_map_start(count, head_, sizeof head_));
}

void ml_wr_bool(struct ml_writer *w, bool v)
{
	EMIT_HEAD(w, cbor_encode_bool(v, head_, sizeof head_));
}

void ml_wr_null(struct ml_writer *w)
{
	EMIT_HEAD(w, cbor_encode_null(head_, sizeof head_));
}

int ml_wr_compare_done(const struct ml_writer *w)
{
	if (w->err)
		return w->err;
	return w->off == w->ref_len ? ML_OK : ML_ENONCANON;
}
