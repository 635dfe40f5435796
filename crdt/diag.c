/*
 * diag.c - render deterministic CBOR as diagnostic notation.
 *
 * The input is validated first with ml_rd_value(), so the renderer below
 * walks a value already known to be well-formed, canonical and shallow.
 */
#include "diag.h"

#include "codec.h"
#include "err.h"
#include "limits.h"

#include <stdarg.h>

struct diag {
	struct ml_reader r;
	struct ml_buf *out;
	int err; /* first ml_buf failure */
};

static void add(struct diag *d, const char *s, size_t n)
{
	int rc = ml_buf_add(d->out, s, n);
	if (rc < 0 && !d->err)
		d->err = rc;
}

static void addf(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct diag *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ml_buf_vaddf(d->out, fmt, ap);
	va_end(ap);
	if (rc < 0 && !d->err)
		d->err = rc;
}

static void put_text(struct diag *d, const uint8_t *s, size_t n)
{
	add(d, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (c == '"' || c == '\\')
			addf(d, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			addf(d, "\\u%04x", c);
		else
			add(d, (const char *)&c, 1);
	}
	add(d, "\"", 1);
}

static void render(struct diag *d)
{
	struct ml_cbor_item it;
	if (ml_rd_item(&d->r, &it) != ML_OK)
		return;
	switch (it.kind) {
	case ML_CBOR_UINT:
		addf(d, "%llu", (unsigned long long)it.val);
		break;
	case ML_CBOR_NEGINT:
		if (it.val == UINT64_MAX)
			add(d, "-18446744073709551616", 21);
		else
			addf(d, "-%llu", (unsigned long long)it.val + 1);
		break;
	case ML_CBOR_BYTES: {
		add(d, "h'", 2);
		int rc = ml_buf_addhex(d->out, it.ptr, it.val);
		if (rc < 0 && !d->err)
			d->err = rc;
		add(d, "'", 1);
		break;
	}
	case ML_CBOR_TEXT:
		put_text(d, it.ptr, it.val);
		break;
	case ML_CBOR_ARRAY:
		add(d, "[", 1);
		for (uint64_t i = 0; i < it.val && !d->r.err; i++) {
			if (i)
				add(d, ", ", 2);
			render(d);
		}
		add(d, "]", 1);
		break;
	case ML_CBOR_MAP:
		add(d, "{", 1);
		for (uint64_t i = 0; i < it.val && !d->r.err; i++) {
			if (i)
				add(d, ", ", 2);
			render(d);
			add(d, ": ", 2);
			render(d);
		}
		add(d, "}", 1);
		break;
	case ML_CBOR_BOOL:
		addf(d, "%s", it.val ? "true" : "false");
		break;
	case ML_CBOR_NULL:
		add(d, "null", 4);
		break;
	default:
		ml_rd_fail(&d->r, ML_ETYPE, it.start, "value outside the deterministic subset");
		break;
	}
}

int ml_diag(const uint8_t *p, size_t len, struct ml_buf *out)
{
	struct diag d = {.out = out};
	size_t start, n;
	ml_rd_init(&d.r, p, len);
	if (ml_rd_value(&d.r, ML_BODY_MAX_DEPTH * 2, &start, &n) != ML_OK)
		return d.r.err;
	if (d.r.off != len)
		return ML_ETRAILING;
	ml_rd_init(&d.r, p, len);
	render(&d);
	return d.r.err ? d.r.err : d.err;
}
