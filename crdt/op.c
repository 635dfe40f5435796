/*
 * op.c - canonical encoding, parsing and signing of ops.
 *
 * The op map, keys in canonical order (RFC 8949 §4.2.1: encoded bytes
 * compared bytewise, which for short text keys means shorter first):
 *
 *   key         value                            presence
 *   "v"         uint, 1                          always
 *   "hlc"       [uint ms, uint counter]          always
 *   "net"       bstr 32, the network id          all but genesis
 *   "seq"       uint >= 1                        always
 *   "body"      map (type-specific)              always
 *   "deps"      bstr 32*n, n ids ascending       when n >= 1
 *   "lane"      "gov" | "reg"                    always
 *   "prev"      bstr 32, id of op seq-1          iff seq > 1
 *   "type"      text [a-z][a-z0-9_]{0,31}        always
 *   "unit"      bstr 32                          all but genesis
 *   "author"    bstr 32, ed25519 public key      always
 *   "signature" bstr 64                          last op of a batch
 *
 * "signature" sorts last, so the signed message is derived from the signed
 * encoding without re-encoding: decrement the map's one-byte header and drop
 * the final 76 bytes (10 for the key, 66 for the value).  The message is
 * ML_OP_SIG_DOMAIN (16 bytes, NUL included) followed by that unsigned encoding.
 *
 * Canonical form is proved by re-encoding the parsed fields in compare mode
 * (codec.h): the bytes must match exactly.  The body is checked item by item
 * by ml_rd_value() and copied verbatim.
 */
#include "op.h"

#include "alloc.h"
#include "codec.h"
#include "err.h"

#include <sodium.h>
#include <string.h>

enum field {
	F_V,
	F_HLC,
	F_NET,
	F_SEQ,
	F_BODY,
	F_DEPS,
	F_LANE,
	F_PREV,
	F_TYPE,
	F_UNIT,
	F_AUTHOR,
	F_SIGNATURE,
	F_COUNT
};

/* Names in canonical order; `encoded` is the key's full CBOR encoding. */
/* clang-format off */
static const struct {
	const char *name;
	const char *encoded;
	size_t encoded_len;
} fields[F_COUNT] = {
#define K(n, enc) {n, enc, sizeof(enc) - 1}
	K("v", "\x61" "v"),
	K("hlc", "\x63" "hlc"),
	K("net", "\x63" "net"),
	K("seq", "\x63" "seq"),
	K("body", "\x64" "body"),
	K("deps", "\x64" "deps"),
	K("lane", "\x64" "lane"),
	K("prev", "\x64" "prev"),
	K("type", "\x64" "type"),
	K("unit", "\x64" "unit"),
	K("author", "\x66" "author"),
	K("signature", "\x69" "signature"),
#undef K
};
/* clang-format on */

/* Bytes the "signature" entry takes at the end of a signed op. */
#define SIG_ENTRY_BYTES (10 + 2 + ML_SIG_BYTES)

const char *ml_lane_name(enum ml_lane lane)
{
	return lane == ML_LANE_REG ? "reg" : "gov";
}

bool ml_op_is_genesis(const struct ml_op *op)
{
	return strcmp(op->type, ML_OP_TYPE_GENESIS) == 0;
}

const struct ml_hash *ml_op_network(const struct ml_op *op)
{
	return op->has_net ? &op->net : &op->id;
}

const struct ml_hash *ml_op_feed_unit(const struct ml_op *op)
{
	return op->has_unit ? &op->unit : &op->id;
}

struct ml_hash ml_op_dep(const struct ml_op *op, size_t i)
{
	struct ml_hash h;
	memcpy(h.b, op->deps + i * ML_HASH_BYTES, ML_HASH_BYTES);
	return h;
}

static bool valid_type_name(const char *s, size_t n)
{
	if (n == 0 || n > ML_OP_TYPE_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* Checks a body: one canonical map of the accepted subset, nothing after it. */
static int check_body(const uint8_t *p, size_t len, struct ml_buf *err)
{
	if (!p || len == 0 || (p[0] >> 5) != 5)
		return ml_errf(err, ML_ETYPE, "field 'body': expected a map");
	struct ml_reader r;
	size_t start, n;
	ml_rd_init(&r, p, len);
	if (ml_rd_value(&r, ML_BODY_MAX_DEPTH, &start, &n) != ML_OK || r.off != len) {
		if (!r.err)
			ml_rd_fail(&r, ML_ETRAILING, r.off, "bytes after the body map");
		ml_errf(err, r.err, "field 'body': ");
		ml_rd_describe(&r, err);
		return r.err;
	}
	return ML_OK;
}

/*
 * The rules between fields, shared by encode and parse so that what one
 * accepts the other emits.  The body is checked separately (parse has
 * already walked it).
 */
static int check_fields(const struct ml_op *op, struct ml_buf *err)
{
	if (op->version != ML_OP_VERSION)
		return ml_errf(err, ML_EVERSION,
		               "op format version %llu is not supported (this build knows %d)",
		               (unsigned long long)op->version, ML_OP_VERSION);
	if (!valid_type_name(op->type, strlen(op->type)))
		return ml_errf(err, ML_EFIELD, "field 'type': '%s' is not a valid op type name",
		               op->type);
	if (op->lane != ML_LANE_GOV && op->lane != ML_LANE_REG)
		return ml_errf(err, ML_EFIELD, "field 'lane': must be 'gov' or 'reg'");
	if (op->seq == 0 || op->seq > (uint64_t)INT64_MAX)
		return ml_errf(err, ML_EFIELD, "field 'seq': must be between 1 and 2^63-1");
	if (op->hlc.ms > ML_HLC_MAX_MS)
		return ml_errf(err, ML_EFIELD, "field 'hlc': milliseconds beyond 2^48-1");
	if (op->ndeps > ML_OP_MAX_DEPS)
		return ml_errf(err, ML_ETOOBIG, "field 'deps': %zu entries, at most %d", op->ndeps,
		               ML_OP_MAX_DEPS);
	for (size_t i = 0; i < op->ndeps; i++) {
		const uint8_t *d = op->deps + i * ML_HASH_BYTES;
		if (i > 0 && memcmp(d - ML_HASH_BYTES, d, ML_HASH_BYTES) >= 0)
			return ml_errf(
			    err, ML_ENONCANON,
			    "field 'deps': entries must be strictly ascending (entry %zu)", i);
		if (op->seq > 1 && memcmp(d, op->prev.b, ML_HASH_BYTES) == 0)
			return ml_errf(err, ML_EFIELD, "field 'deps': names the op's own prev");
	}
	if (ml_op_is_genesis(op)) {
		if (op->has_net || op->has_unit)
			return ml_errf(err, ML_EFIELD, "genesis op must not carry 'net' or 'unit'");
		if (op->seq != 1 || op->lane != ML_LANE_GOV || op->ndeps)
			return ml_errf(err, ML_EFIELD,
			               "genesis op must be seq 1 in the gov lane, without deps");
	} else if (!op->has_net || !op->has_unit) {
		return ml_errf(err, ML_EFIELD, "missing field '%s'", op->has_net ? "unit" : "net");
	}
	return ML_OK;
}

static void write_op(struct ml_writer *w, const struct ml_op *op, bool with_sig)
{
	size_t n = 7 + op->has_net + (op->ndeps > 0) + (op->seq > 1) + op->has_unit + with_sig;
	ml_wr_map(w, n);
#define KEY(f) ml_wr_raw(w, fields[f].encoded, fields[f].encoded_len)
	KEY(F_V);
	ml_wr_uint(w, op->version);
	KEY(F_HLC);
	ml_wr_array(w, 2);
	ml_wr_uint(w, op->hlc.ms);
	ml_wr_uint(w, op->hlc.c);
	if (op->has_net) {
		KEY(F_NET);
		ml_wr_bytes(w, op->net.b, ML_HASH_BYTES);
	}
	KEY(F_SEQ);
	ml_wr_uint(w, op->seq);
	KEY(F_BODY);
	ml_wr_raw(w, op->body, op->body_len);
	if (op->ndeps) {
		KEY(F_DEPS);
		ml_wr_bytes(w, op->deps, op->ndeps * ML_HASH_BYTES);
	}
	KEY(F_LANE);
	ml_wr_cstr(w, ml_lane_name(op->lane));
	if (op->seq > 1) {
		KEY(F_PREV);
		ml_wr_bytes(w, op->prev.b, ML_HASH_BYTES);
	}
	KEY(F_TYPE);
	ml_wr_cstr(w, op->type);
	if (op->has_unit) {
		KEY(F_UNIT);
		ml_wr_bytes(w, op->unit.b, ML_HASH_BYTES);
	}
	KEY(F_AUTHOR);
	ml_wr_bytes(w, op->author.b, ML_PUBKEY_BYTES);
	if (with_sig) {
		KEY(F_SIGNATURE);
		ml_wr_bytes(w, op->sig.b, ML_SIG_BYTES);
	}
#undef KEY
}

static int encode(const struct ml_op *op, bool with_sig, struct ml_buf *out, struct ml_buf *err)
{
	int rc = check_fields(op, err);
	if (rc == ML_OK)
		rc = check_body(op->body, op->body_len, err);
	if (rc < 0)
		return rc;
	size_t start = out->len;
	struct ml_writer w;
	ml_wr_init(&w, out);
	write_op(&w, op, with_sig);
	if (w.err == ML_OK && out->len - start > ML_OP_MAX_BYTES)
		w.err = ml_errf(err, ML_ETOOBIG, "op would be %zu bytes, more than the %d allowed",
		                out->len - start, ML_OP_MAX_BYTES);
	if (w.err) {
		out->len = start;
		if (out->cap)
			out->data[start] = 0;
	}
	return w.err;
}

int ml_op_encode(const struct ml_op *op, struct ml_buf *out, struct ml_buf *err)
{
	return encode(op, op->has_sig, out, err);
}

/* Calls fn on the signed message of a signed encoding: domain || unsigned encoding. */
static int with_signed_message(const uint8_t *p, size_t len,
                               int (*fn)(const uint8_t *msg, size_t n, void *ctx), void *ctx)
{
	uint8_t stack[2048];
	size_t n = ML_OP_SIG_DOMAIN_BYTES + len - SIG_ENTRY_BYTES;
	uint8_t *msg = n <= sizeof stack ? stack : ml_malloc(n);
	if (!msg)
		return ML_ENOMEM;
	memcpy(msg, ML_OP_SIG_DOMAIN, ML_OP_SIG_DOMAIN_BYTES);
	msg[ML_OP_SIG_DOMAIN_BYTES] = (uint8_t)(p[0] - 1); /* one entry fewer */
	memcpy(msg + ML_OP_SIG_DOMAIN_BYTES + 1, p + 1, len - SIG_ENTRY_BYTES - 1);
	int rc = fn(msg, n, ctx);
	if (msg != stack)
		ml_free(msg);
	return rc;
}

struct verify_ctx {
	const struct ml_op *op;
};

static int verify_fn(const uint8_t *msg, size_t n, void *ctx)
{
	const struct ml_op *op = ((struct verify_ctx *)ctx)->op;
	return ml_sig_verify(&op->author, &op->sig, msg, n) ? ML_OK : ML_EBADSIG;
}

struct sign_ctx {
	const struct ml_key *key;
	struct ml_sig sig;
};

static int sign_fn(const uint8_t *msg, size_t n, void *ctx)
{
	struct sign_ctx *s = ctx;
	s->sig = ml_key_sign(s->key, msg, n);
	return ML_OK;
}

int ml_op_seal(struct ml_op *op, const struct ml_key *key, struct ml_buf *out, struct ml_buf *err)
{
	size_t start = out->len;
	int rc;
	if (key) {
		if (!ml_pubkey_eq(&op->author, &key->pk))
			return ml_errf(err, ML_EINVAL, "op author is not the signing key");
		/* Sign the signed encoding's message; the signature's bytes do not
		 * affect it, so encode once with a placeholder. */
		memset(op->sig.b, 0, sizeof op->sig.b);
		rc = encode(op, true, out, err);
		if (rc < 0)
			return rc;
		struct sign_ctx s = {.key = key};
		rc = with_signed_message(out->data + start, out->len - start, sign_fn, &s);
		if (rc < 0) {
			out->len = start;
			return rc;
		}
		op->sig = s.sig;
		op->has_sig = true;
		memcpy(out->data + out->len - ML_SIG_BYTES, s.sig.b, ML_SIG_BYTES);
	} else {
		op->has_sig = false;
		rc = encode(op, false, out, err);
		if (rc < 0)
			return rc;
	}
	op->id = ml_hash_of(out->data + start, out->len - start);
	op->raw = NULL;
	op->raw_len = 0;
	return ML_OK;
}

/* Reads a byte string of exactly `want` bytes into dst. */
static void read_fixed(struct ml_reader *r, uint8_t *dst, size_t want)
{
	size_t start = r->off, n;
	const uint8_t *p = ml_rd_bytes(r, &n);
	if (p && n != want) {
		ml_rd_fail(r, ML_EFIELD, start, "byte string has the wrong length");
		return;
	}
	if (p)
		memcpy(dst, p, want);
}

/*
 * Returns the field named k[0..n), or -1.  Canonical ops list their keys in
 * table order, so the search starts after the previous key and usually
 * succeeds at once; a key out of order is still found, from the start.
 */
static int key_index(const uint8_t *k, size_t n, int last)
{
	for (int pass = 0; pass < 2; pass++) {
		for (int i = pass ? 0 : last + 1; i < F_COUNT; i++) {
			if (fields[i].encoded_len == n + 1 && memcmp(fields[i].name, k, n) == 0)
				return i;
		}
	}
	return -1;
}

/*
 * The fast path for keys: in a canonical op the next key is one of the
 * fields after the previous one, byte for byte as in the table (an exact
 * match is a complete, shortest-form, valid UTF-8 text item).  Consumes it and
 * returns its field, or returns -1 and leaves the reader for the slow path,
 * which reports what is wrong.  The version check must run before any other
 * field is accepted, so F_V is left to the slow path.
 */
static int next_key_fast(struct ml_reader *r, int last)
{
	if (last < F_V)
		return -1;
	size_t avail = r->len - r->off;
	const uint8_t *at = r->p + r->off;
	for (int i = last + 1; i < F_COUNT; i++) {
		size_t n = fields[i].encoded_len;
		if (n <= avail && at[0] == (uint8_t)fields[i].encoded[0] &&
		    memcmp(at, fields[i].encoded, n) == 0) {
			r->off += n;
			return i;
		}
	}
	return -1;
}

/* Reads one field's value into op; type errors stay sticky in r. */
static void read_field(struct ml_reader *r, int f, struct ml_op *op)
{
	size_t n, start = r->off;
	const uint8_t *s;
	switch (f) {
	case F_V:
		op->version = ml_rd_uint(r);
		break;
	case F_HLC: {
		n = ml_rd_array(r);
		if (!r->err && n != 2) {
			ml_rd_fail(r, ML_EFIELD, start, "hlc must be [milliseconds, counter]");
			break;
		}
		op->hlc.ms = ml_rd_uint(r);
		uint64_t c = ml_rd_uint(r);
		if (!r->err && c > ML_HLC_MAX_COUNTER)
			ml_rd_fail(r, ML_EFIELD, start, "hlc counter beyond 2^32-1");
		op->hlc.c = (uint32_t)c;
		break;
	}
	case F_NET:
		read_fixed(r, op->net.b, ML_HASH_BYTES);
		op->has_net = true;
		break;
	case F_SEQ:
		op->seq = ml_rd_uint(r);
		break;
	case F_BODY:
		if (r->off < r->len && (r->p[r->off] >> 5) != 5) {
			ml_rd_fail(r, ML_ETYPE, start, "expected a map");
			break;
		}
		if (ml_rd_value(r, ML_BODY_MAX_DEPTH, &start, &n) == ML_OK) {
			op->body = r->p + start;
			op->body_len = n;
		}
		break;
	case F_DEPS:
		s = ml_rd_bytes(r, &n);
		if (s && (n == 0 || n % ML_HASH_BYTES)) {
			ml_rd_fail(r, ML_EFIELD, start,
			           "deps must be a non-empty multiple of 32 bytes");
			break;
		}
		op->deps = s;
		op->ndeps = n / ML_HASH_BYTES;
		break;
	case F_LANE:
		s = ml_rd_text(r, &n);
		if (s && n == 3 && memcmp(s, "gov", 3) == 0)
			op->lane = ML_LANE_GOV;
		else if (s && n == 3 && memcmp(s, "reg", 3) == 0)
			op->lane = ML_LANE_REG;
		else if (s)
			ml_rd_fail(r, ML_EFIELD, start, "lane must be \"gov\" or \"reg\"");
		break;
	case F_PREV:
		read_fixed(r, op->prev.b, ML_HASH_BYTES);
		break;
	case F_TYPE:
		s = ml_rd_text(r, &n);
		if (s && !valid_type_name((const char *)s, n)) {
			ml_rd_fail(r, ML_EFIELD, start, "type must match [a-z][a-z0-9_]{0,31}");
			break;
		}
		if (s) {
			memcpy(op->type, s, n);
			op->type[n] = 0;
		}
		break;
	case F_UNIT:
		read_fixed(r, op->unit.b, ML_HASH_BYTES);
		op->has_unit = true;
		break;
	case F_AUTHOR:
		read_fixed(r, op->author.b, ML_PUBKEY_BYTES);
		break;
	case F_SIGNATURE:
		read_fixed(r, op->sig.b, ML_SIG_BYTES);
		op->has_sig = true;
		break;
	}
}

/* ml_op_parse without the canonical-form check and the id. */
static int parse_fields(const uint8_t *p, size_t len, struct ml_op *op, struct ml_buf *err)
{
	memset(op, 0, sizeof *op);
	if (len > ML_OP_MAX_BYTES)
		return ml_errf(err, ML_ETOOBIG, "op is %zu bytes, more than the %d allowed", len,
		               ML_OP_MAX_BYTES);
	struct ml_reader r;
	ml_rd_init(&r, p, len);
	uint64_t n = ml_rd_map(&r);
	unsigned seen = 0;
	int last = -1;
	const char *field = NULL;
	for (uint64_t i = 0; i < n && !r.err; i++) {
		size_t klen;
		size_t kstart = r.off;
		int f = next_key_fast(&r, last);
		if (f >= 0) {
			last = f;
			seen |= 1u << f;
			field = fields[f].name;
			read_field(&r, f, op);
			continue;
		}
		const uint8_t *k = ml_rd_text(&r, &klen);
		if (!k)
			break;
		f = key_index(k, klen, last);
		if (f < 0)
			return ml_errf(err, ML_EFIELD, "unknown field '%.*s' at byte %zu",
			               (int)(klen > 32 ? 32 : klen), (const char *)k, kstart);
		if (f <= last)
			return ml_errf(err, ML_ENONCANON, "%s '%s' at byte %zu",
			               f == last ? "duplicate field"
			                         : "field out of canonical order:",
			               fields[f].name, kstart);
		last = f;
		seen |= 1u << f;
		field = fields[f].name;
		read_field(&r, f, op);
		if (f == F_V && !r.err && op->version != ML_OP_VERSION)
			return ml_errf(
			    err, ML_EVERSION,
			    "op format version %llu is not supported (this build knows %d)",
			    (unsigned long long)op->version, ML_OP_VERSION);
	}
	if (r.err) {
		if (field)
			ml_errf(err, r.err, "field '%s': ", field);
		else
			ml_errf(err, r.err, "op: ");
		ml_rd_describe(&r, err);
		return r.err;
	}
	if (r.off != len)
		return ml_errf(err, ML_ETRAILING,
		               "trailing bytes after the op's end at byte %zu (%zu more)", r.off,
		               len - r.off);
	static const int required[] = {F_V, F_HLC, F_SEQ, F_BODY, F_LANE, F_TYPE, F_AUTHOR};
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
		if (!(seen & (1u << required[i])))
			return ml_errf(err, ML_EFIELD, "missing field '%s'",
			               fields[required[i]].name);
	}
	if (op->seq > 1 && !(seen & (1u << F_PREV)))
		return ml_errf(err, ML_EFIELD, "missing field 'prev' (required when seq > 1)");
	if (op->seq == 1 && (seen & (1u << F_PREV)))
		return ml_errf(err, ML_EFIELD, "field 'prev' must be absent when seq is 1");
	op->raw = p;
	op->raw_len = len;
	return check_fields(op, err);
}

int ml_op_parse(const uint8_t *p, size_t len, struct ml_op *op, struct ml_buf *err)
{
	int rc = parse_fields(p, len, op, err);
	if (rc < 0)
		return rc;
	struct ml_writer w;
	ml_wr_init_compare(&w, p, len);
	write_op(&w, op, op->has_sig);
	if (ml_wr_compare_done(&w) != ML_OK)
		return ml_errf(err, ML_ENONCANON,
		               "op is not in canonical form (differs at byte %zu)", w.mismatch);

	op->id = ml_hash_of(p, len);
	return ML_OK;
}

int ml_op_parse_known(const uint8_t *p, size_t len, const struct ml_hash *id, struct ml_op *op,
                      struct ml_buf *err)
{
	int rc = parse_fields(p, len, op, err);
	if (rc < 0)
		return rc;
	op->id = *id;
	return ML_OK;
}

int ml_op_verify_sig(const struct ml_op *op, struct ml_buf *err)
{
	if (!op->has_sig || !op->raw || op->raw_len <= SIG_ENTRY_BYTES)
		return ml_errf(err, ML_EINVAL, "op has no signature or no encoding to check");
	struct verify_ctx v = {.op = op};
	int rc = with_signed_message(op->raw, op->raw_len, verify_fn, &v);
	if (rc == ML_EBADSIG) {
		char id[2 * ML_HASH_BYTES + 1];
		ml_hex_encode(op->id.b, 8, id);
		return ml_errf(err, rc, "signature of op %s (seq %llu) does not verify", id,
		               (unsigned long long)op->seq);
	}
	return rc;
}

int ml_op_check_network(const struct ml_op *op, const struct ml_hash *net, struct ml_buf *err)
{
	if (ml_hash_eq(net, ml_op_network(op)))
		return ML_OK;
	char want[17], got[17];
	ml_hex_encode(net->b, 8, want);
	ml_hex_encode(ml_op_network(op)->b, 8, got);
	return ml_errf(err, ML_EWRONGNET, "op belongs to network %s..., this node is on %s...", got,
	               want);
}

int ml_op_decode(const uint8_t *p, size_t len, const struct ml_hash *net, struct ml_op *op,
                 struct ml_buf *err)
{
	int rc = ml_op_parse(p, len, op, err);
	if (rc == ML_OK && net)
		rc = ml_op_check_network(op, net, err);
	if (rc < 0)
		return rc;
	if (op->has_sig)
		return ml_op_verify_sig(op, err);
	return ML_OK;
}
