/*
 * splice.c - byte surgery helpers for invalid test inputs.
 */
#include "splice.h"

#include "crdt/codec.h"
#include "crdt/err.h"

#include <string.h>

int splice_bytes(struct ml_buf *b, size_t at, size_t del, const void *ins, size_t n)
{
	if (at > b->len || del > b->len - at)
		return -1;
	if (n > del && ml_buf_reserve(b, n - del) != ML_OK)
		return -1;
	memmove(b->data + at + n, b->data + at + del, b->len - at - del);
	if (n)
		memcpy(b->data + at, ins, n);
	b->len = b->len - del + n;
	return 0;
}

size_t splice_find_key(const struct ml_buf *b, const char *key)
{
	size_t k = strlen(key);
	for (size_t i = 0; i + 1 + k <= b->len; i++) {
		if (b->data[i] == 0x60 + k && memcmp(b->data + i + 1, key, k) == 0)
			return i;
	}
	return SIZE_MAX;
}

size_t splice_value_at(const struct ml_buf *b, const char *key)
{
	size_t at = splice_find_key(b, key);
	return at == SIZE_MAX ? at : at + 1 + strlen(key);
}

size_t splice_item_len(const struct ml_buf *b, size_t at)
{
	struct ml_reader r;
	size_t start, len;
	ml_rd_init(&r, b->data + at, b->len - at);
	return ml_rd_value(&r, 16, &start, &len) == ML_OK ? len : 0;
}
