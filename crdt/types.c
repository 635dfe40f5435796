/*
 * types.c - hashing and comparison of fixed-size values, hex.
 */
#include "types.h"

#include "err.h"

#include <sodium.h>
#include <string.h>

int ml_crypto_init(void)
{
	return sodium_init() < 0 ? ML_EIO : ML_OK;
}

struct ml_hash ml_hash_of(const void *p, size_t len)
{
	struct ml_hash h;
	crypto_generichash(h.b, sizeof h.b, p, len, NULL, 0);
	return h;
}

int ml_hash_cmp(const struct ml_hash *a, const struct ml_hash *b)
{
	return memcmp(a->b, b->b, sizeof a->b);
}

bool ml_hash_eq(const struct ml_hash *a, const struct ml_hash *b)
{
	return memcmp(a->b, b->b, sizeof a->b) == 0;
}

bool ml_pubkey_eq(const struct ml_pubkey *a, const struct ml_pubkey *b)
{
	return memcmp(a->b, b->b, sizeof a->b) == 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ml_hex_decode(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!hex[2 * i] || !hex[2 * i + 1])
			return ML_EINVAL;
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return ML_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return hex[2 * n] ? ML_EINVAL : ML_OK;
}

void ml_hex_encode(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *s = p;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[s[i] >> 4];
		out[2 * i + 1] = digits[s[i] & 15];
	}
	out[2 * n] = 0;
}
