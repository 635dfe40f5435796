/*
 * buf.c - growable byte buffer; see buf.h for the invariants.
 */
#include "buf.h"

#include "alloc.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

void ml_buf_release(struct ml_buf *b)
{
	if (!b)
		return;
	ml_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void ml_buf_reset(struct ml_buf *b)
{
	b->len = 0;
	if (b->cap)
		b->data[0] = 0;
}

int ml_buf_reserve(struct ml_buf *b, size_t extra)
{
	size_t need;
	if (__builtin_add_overflow(b->len, extra, &need) || __builtin_add_overflow(need, 1, &need))
		return ML_ETOOBIG;
	if (need <= b->cap)
		return ML_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (__builtin_mul_overflow(cap, 2, &cap))
			return ML_ETOOBIG;
	}
	uint8_t *p = ml_realloc(b->data, cap);
	if (!p)
		return ML_ENOMEM;
	b->data = p;
	b->cap = cap;
	return ML_OK;
}

int ml_buf_add(struct ml_buf *b, const void *p, size_t n)
{
	int rc = ml_buf_reserve(b, n);
	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return ML_OK;
}

int ml_buf_vaddf(struct ml_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return ML_EINVAL;
	int rc = ml_buf_reserve(b, (size_t)n);
	if (rc < 0)
		return rc;
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return ML_OK;
}

int ml_buf_addf(struct ml_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ml_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int ml_buf_addhex(struct ml_buf *b, const void *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t hexlen;
	if (__builtin_mul_overflow(n, 2, &hexlen))
		return ML_ETOOBIG;
	int rc = ml_buf_reserve(b, hexlen);
	if (rc < 0)
		return rc;
	const uint8_t *s = p;
	for (size_t i = 0; i < n; i++) {
		b->data[b->len++] = (uint8_t)digits[s[i] >> 4];
		b->data[b->len++] = (uint8_t)digits[s[i] & 15];
	}
	b->data[b->len] = 0;
	return ML_OK;
}

const char *ml_buf_str(const struct ml_buf *b)
{
	return b->cap ? (const char *)b->data : "";
}

int ml_errf(struct ml_buf *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	ml_buf_reset(err);
	va_list ap;
	va_start(ap, fmt);
	ml_buf_vaddf(err, fmt, ap);
	va_end(ap);
	return code;
}

void ml_err_prefix(struct ml_buf *err, const char *fmt, ...)
{
	if (!err)
		return;
	struct ml_buf pre = ML_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = ml_buf_vaddf(&pre, fmt, ap);
	va_end(ap);
	if (rc == ML_OK && ml_buf_add(&pre, err->data, err->len) == ML_OK) {
		ml_buf_release(err);
		*err = pre;
		return;
	}
	ml_buf_release(&pre);
}

size_t ml_varint_encode(uint64_t v, uint8_t out[ML_VARINT_MAX])
{
	size_t n = 0;
	do {
		out[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			out[n] |= 0x80;
		n++;
	} while (v);
	return n;
}
