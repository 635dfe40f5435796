/*
 * body.c - op bodies: split, typed access, canonical building.
 */
#include "body.h"

#include "codec.h"
#include "err.h"
#include "limits.h"

#include <string.h>

int ml_body_parse(struct ml_body *b, const uint8_t *p, size_t len, struct ml_buf *err)
{
	struct ml_reader r;
	ml_rd_init(&r, p, len);
	b->n = 0;
	uint64_t count = ml_rd_map(&r);
	if (!r.err && count > ML_BODY_MAX_FIELDS)
		return ml_errf(err, ML_ETOOBIG, "body has %llu fields, at most %d",
		               (unsigned long long)count, ML_BODY_MAX_FIELDS);
	for (uint64_t i = 0; i < count && !r.err; i++) {
		size_t klen, start, vlen;
		const uint8_t *k = ml_rd_text(&r, &klen);
		if (ml_rd_value(&r, ML_BODY_MAX_DEPTH, &start, &vlen) != ML_OK)
			break;
		b->f[b->n++] = (struct ml_body_field){(const char *)k, klen, p + start, vlen};
	}
	if (!r.err && r.off != len)
		ml_rd_fail(&r, ML_ETRAILING, r.off, "bytes after the body");
	if (r.err) {
		ml_errf(err, r.err, "body: ");
		ml_rd_describe(&r, err);
		return r.err;
	}
	return ML_OK;
}

const struct ml_body_field *ml_body_get(const struct ml_body *b, const char *key)
{
	size_t n = strlen(key);
	for (size_t i = 0; i < b->n; i++) {
		if (b->f[i].klen == n && memcmp(b->f[i].key, key, n) == 0)
			return &b->f[i];
	}
	return NULL;
}

/* Reads the field's single value with a reader; returns the field or NULL if absent. */
static const struct ml_body_field *open_field(const struct ml_body *b, const char *key,
                                              struct ml_reader *r)
{
	const struct ml_body_field *f = ml_body_get(b, key);
	if (f)
		ml_rd_init(r, f->val, f->vlen);
	return f;
}

static int field_error(const char *key, const char *what, struct ml_buf *err)
{
	return ml_errf(err, ML_EFIELD, "field '%s': %s", key, what);
}

int ml_body_text(const struct ml_body *b, const char *key, const char **s, size_t *n,
                 struct ml_buf *err)
{
	struct ml_reader r;
	if (!open_field(b, key, &r))
		return ML_ENOTFOUND;
	const uint8_t *p = ml_rd_text(&r, n);
	if (!p)
		return field_error(key, "expected text", err);
	*s = (const char *)p;
	return ML_OK;
}

int ml_body_uint(const struct ml_body *b, const char *key, uint64_t *v, struct ml_buf *err)
{
	struct ml_reader r;
	if (!open_field(b, key, &r))
		return ML_ENOTFOUND;
	*v = ml_rd_uint(&r);
	return r.err ? field_error(key, "expected an unsigned integer", err) : ML_OK;
}

int ml_body_bool(const struct ml_body *b, const char *key, bool *v, struct ml_buf *err)
{
	struct ml_reader r;
	if (!open_field(b, key, &r))
		return ML_ENOTFOUND;
	*v = ml_rd_bool(&r);
	return r.err ? field_error(key, "expected true or false", err) : ML_OK;
}

static int fixed_bytes(const struct ml_body *b, const char *key, uint8_t *out, size_t want,
                       struct ml_buf *err)
{
	struct ml_reader r;
	if (!open_field(b, key, &r))
		return ML_ENOTFOUND;
	size_t n;
	const uint8_t *p = ml_rd_bytes(&r, &n);
	if (!p || n != want)
		return ml_errf(err, ML_EFIELD, "field '%s': expected %zu bytes", key, want);
	memcpy(out, p, want);
	return ML_OK;
}

int ml_body_hash(const struct ml_body *b, const char *key, struct ml_hash *h, struct ml_buf *err)
{
	return fixed_bytes(b, key, h->b, ML_HASH_BYTES, err);
}

int ml_body_pubkey(const struct ml_body *b, const char *key, struct ml_pubkey *k,
                   struct ml_buf *err)
{
	return fixed_bytes(b, key, k->b, ML_PUBKEY_BYTES, err);
}

int ml_body_ids(const struct ml_body *b, const char *key, const uint8_t **ids, size_t *n,
                struct ml_buf *err)
{
	struct ml_reader r;
	if (!open_field(b, key, &r))
		return ML_ENOTFOUND;
	size_t len;
	const uint8_t *p = ml_rd_bytes(&r, &len);
	if (!p || len == 0 || len % ML_HASH_BYTES)
		return field_error(key, "expected a list of 32-byte ids", err);
	for (size_t i = ML_HASH_BYTES; i < len; i += ML_HASH_BYTES) {
		if (memcmp(p + i - ML_HASH_BYTES, p + i, ML_HASH_BYTES) >= 0)
			return field_error(key, "ids must be strictly ascending", err);
	}
	*ids = p;
	*n = len / ML_HASH_BYTES;
	return ML_OK;
}

bool ml_ids_contain(const uint8_t *ids, size_t n, const struct ml_hash *id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(ids + mid * ML_HASH_BYTES, id->b, ML_HASH_BYTES);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* --- building ------------------------------------------------------------ */

void ml_bb_init(struct ml_body_builder *bb)
{
	memset(bb, 0, sizeof *bb);
}

void ml_bb_release(struct ml_body_builder *bb)
{
	if (bb)
		ml_buf_release(&bb->bytes);
}

/* Starts an entry: writes the key, returns a writer positioned for the value. */
static bool begin(struct ml_body_builder *bb, const char *key, struct ml_writer *w)
{
	if (bb->err)
		return false;
	if (bb->n == ML_BODY_MAX_FIELDS) {
		bb->err = ML_ETOOBIG;
		return false;
	}
	bb->e[bb->n].off = bb->bytes.len;
	ml_wr_init(w, &bb->bytes);
	ml_wr_cstr(w, key);
	bb->e[bb->n].klen = bb->bytes.len - bb->e[bb->n].off;
	return true;
}

static void end(struct ml_body_builder *bb, struct ml_writer *w)
{
	if (w->err) {
		bb->err = w->err;
		return;
	}
	bb->e[bb->n].len = bb->bytes.len - bb->e[bb->n].off;
	bb->n++;
}

void ml_bb_text(struct ml_body_builder *bb, const char *key, const char *s, size_t n)
{
	struct ml_writer w;
	if (!begin(bb, key, &w))
		return;
	ml_wr_text(&w, s, n);
	end(bb, &w);
}

void ml_bb_cstr(struct ml_body_builder *bb, const char *key, const char *s)
{
	ml_bb_text(bb, key, s, strlen(s));
}

void ml_bb_uint(struct ml_body_builder *bb, const char *key, uint64_t v)
{
	struct ml_writer w;
	if (!begin(bb, key, &w))
		return;
	ml_wr_uint(&w, v);
	end(bb, &w);
}

void ml_bb_bool(struct ml_body_builder *bb, const char *key, bool v)
{
	struct ml_writer w;
	if (!begin(bb, key, &w))
		return;
	ml_wr_bool(&w, v);
	end(bb, &w);
}

void ml_bb_bytes(struct ml_body_builder *bb, const char *key, const void *p, size_t n)
{
	struct ml_writer w;
	if (!begin(bb, key, &w))
		return;
	ml_wr_bytes(&w, p, n);
	end(bb, &w);
}

void ml_bb_hash(struct ml_body_builder *bb, const char *key, const struct ml_hash *h)
{
	ml_bb_bytes(bb, key, h->b, ML_HASH_BYTES);
}

void ml_bb_raw(struct ml_body_builder *bb, const char *key, const uint8_t *cbor, size_t n)
{
	struct ml_writer w;
	if (!begin(bb, key, &w))
		return;
	ml_wr_raw(&w, cbor, n);
	end(bb, &w);
}

void ml_bb_text_list(struct ml_body_builder *bb, const char *key, const char *const *items,
                     size_t n)
{
	struct ml_writer w;
	if (!begin(bb, key, &w))
		return;
	ml_wr_array(&w, n);
	for (size_t i = 0; i < n; i++)
		ml_wr_cstr(&w, items[i]);
	end(bb, &w);
}

int ml_bb_finish(struct ml_body_builder *bb, struct ml_buf *out)
{
	if (bb->err)
		return bb->err;
	size_t order[ML_BODY_MAX_FIELDS];
	for (size_t i = 0; i < bb->n; i++)
		order[i] = i;
	/* Insertion sort by encoded key (RFC 8949 §4.2.1): bodies are small, and it
	 * needs no global state, unlike qsort in C17. */
	const uint8_t *base = bb->bytes.data;
	for (size_t i = 1; i < bb->n; i++) {
		size_t k = order[i], j = i;
		while (j > 0) {
			size_t p = order[j - 1];
			size_t la = bb->e[p].klen, lb = bb->e[k].klen;
			int c = memcmp(base + bb->e[p].off, base + bb->e[k].off, la < lb ? la : lb);
			if (c == 0)
				c = (la > lb) - (la < lb);
			if (c == 0)
				return ML_EFIELD; /* the same key twice */
			if (c < 0)
				break;
			order[j] = p;
			j--;
		}
		order[j] = k;
	}
	size_t start = out->len;
	struct ml_writer w;
	ml_wr_init(&w, out);
	ml_wr_map(&w, bb->n);
	for (size_t i = 0; i < bb->n; i++)
		ml_wr_raw(&w, base + bb->e[order[i]].off, bb->e[order[i]].len);
	if (w.err)
		out->len = start;
	return w.err;
}
