/*
 * frontier.c - sorted (feed, seq) vectors and their compact encoding.
 *
 * Encoding: for each entry in feed order, varint(feed - previous feed) then
 * varint(seq); LEB128 varints, at most 10 bytes each.
 */
#include "frontier.h"

#include "alloc.h"
#include "err.h"

#include <string.h>

void ml_frontier_release(struct ml_frontier *f)
{
	if (!f)
		return;
	ml_free(f->e);
	f->e = NULL;
	f->n = f->cap = 0;
}

void ml_frontier_reset(struct ml_frontier *f)
{
	f->n = 0;
}

/* Returns the index of the first entry with feed >= feed. */
static size_t lower_bound(const struct ml_frontier *f, uint64_t feed)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->e[mid].feed < feed)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t ml_frontier_get(const struct ml_frontier *f, uint64_t feed)
{
	size_t i = lower_bound(f, feed);
	return i < f->n && f->e[i].feed == feed ? f->e[i].seq : 0;
}

static int reserve(struct ml_frontier *f, size_t n)
{
	if (n <= f->cap)
		return ML_OK;
	size_t cap = f->cap ? f->cap : 8;
	while (cap < n)
		cap *= 2;
	struct ml_fentry *e = ml_realloc(f->e, cap * sizeof *e);
	if (!e)
		return ML_ENOMEM;
	f->e = e;
	f->cap = cap;
	return ML_OK;
}

int ml_frontier_raise(struct ml_frontier *f, uint64_t feed, uint64_t seq)
{
	size_t i = lower_bound(f, feed);
	if (i < f->n && f->e[i].feed == feed) {
		if (f->e[i].seq < seq)
			f->e[i].seq = seq;
		return ML_OK;
	}
	if (reserve(f, f->n + 1) != ML_OK)
		return ML_ENOMEM;
	memmove(f->e + i + 1, f->e + i, (f->n - i) * sizeof *f->e);
	f->e[i] = (struct ml_fentry){feed, seq};
	f->n++;
	return ML_OK;
}

int ml_frontier_merge(struct ml_frontier *dst, const struct ml_frontier *src)
{
	if (src->n == 0)
		return ML_OK;
	/* Merge two sorted lists from the back, in place. */
	size_t extra = 0;
	for (size_t i = 0, j = 0; j < src->n; j++) {
		while (i < dst->n && dst->e[i].feed < src->e[j].feed)
			i++;
		if (i == dst->n || dst->e[i].feed != src->e[j].feed)
			extra++;
	}
	if (reserve(dst, dst->n + extra) != ML_OK)
		return ML_ENOMEM;
	size_t i = dst->n, j = src->n, k = dst->n + extra;
	while (j > 0) {
		if (i > 0 && dst->e[i - 1].feed > src->e[j - 1].feed) {
			dst->e[--k] = dst->e[--i];
		} else if (i > 0 && dst->e[i - 1].feed == src->e[j - 1].feed) {
			struct ml_fentry e = dst->e[--i];
			if (src->e[j - 1].seq > e.seq)
				e.seq = src->e[j - 1].seq;
			dst->e[--k] = e;
			j--;
		} else {
			dst->e[--k] = src->e[--j];
		}
	}
	dst->n += extra;
	return ML_OK;
}

void ml_frontier_drop(struct ml_frontier *f, uint64_t feed)
{
	size_t i = lower_bound(f, feed);
	if (i < f->n && f->e[i].feed == feed) {
		memmove(f->e + i, f->e + i + 1, (f->n - i - 1) * sizeof *f->e);
		f->n--;
	}
}

int ml_frontier_copy(struct ml_frontier *dst, const struct ml_frontier *src)
{
	if (reserve(dst, src->n) != ML_OK)
		return ML_ENOMEM;
	if (src->n)
		memcpy(dst->e, src->e, src->n * sizeof *src->e);
	dst->n = src->n;
	return ML_OK;
}

static int put_varint(struct ml_buf *out, uint64_t v)
{
	uint8_t b[ML_VARINT_MAX];
	return ml_buf_add(out, b, ml_varint_encode(v, b));
}

static bool get_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 64 && *off < len; shift += 7) {
		uint8_t b = p[(*off)++];
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

int ml_frontier_encode(const struct ml_frontier *f, struct ml_buf *out)
{
	uint64_t prev = 0;
	int rc = ML_OK;
	for (size_t i = 0; i < f->n && rc == ML_OK; i++) {
		rc = put_varint(out, f->e[i].feed - prev);
		if (rc == ML_OK)
			rc = put_varint(out, f->e[i].seq);
		prev = f->e[i].feed;
	}
	return rc;
}

int ml_frontier_decode(struct ml_frontier *f, const uint8_t *p, size_t len)
{
	f->n = 0;
	size_t off = 0;
	uint64_t feed = 0;
	while (off < len) {
		uint64_t d, seq;
		if (!get_varint(p, len, &off, &d) || !get_varint(p, len, &off, &seq))
			return ML_EMALFORMED;
		if (f->n && d == 0)
			return ML_EMALFORMED;
		feed += d;
		if (reserve(f, f->n + 1) != ML_OK)
			return ML_ENOMEM;
		f->e[f->n++] = (struct ml_fentry){feed, seq};
	}
	return ML_OK;
}
