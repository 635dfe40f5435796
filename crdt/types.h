/*
 * types.h - fixed-size byte values: hashes, public keys, signatures.
 *
 * Each is wrapped in a struct so it is copied by value and a hash cannot be
 * passed where a key is expected.
 */
#ifndef ML_TYPES_H
#define ML_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ML_HASH_BYTES   32
#define ML_PUBKEY_BYTES 32
#define ML_SIG_BYTES    64

struct ml_hash {
	uint8_t b[ML_HASH_BYTES];
};

struct ml_pubkey {
	uint8_t b[ML_PUBKEY_BYTES];
};

struct ml_sig {
	uint8_t b[ML_SIG_BYTES];
};

/* Initialises libsodium; call once before anything else.  ML_OK, or ML_EIO if it cannot. */
int ml_crypto_init(void);

/* Returns the BLAKE2b-256 of p[0..len).  Cannot fail.  Thread-safe. */
struct ml_hash ml_hash_of(const void *p, size_t len);

/* Returns <0, 0, >0 comparing a and b bytewise (the order `deps` are sorted in). */
int ml_hash_cmp(const struct ml_hash *a, const struct ml_hash *b);

/* Returns true when a and b are equal. */
bool ml_hash_eq(const struct ml_hash *a, const struct ml_hash *b);

/* Returns true when a and b are equal. */
bool ml_pubkey_eq(const struct ml_pubkey *a, const struct ml_pubkey *b);

/*
 * Decodes exactly 2*n hex digits (either case) from hex into out[0..n).
 * Returns ML_OK, or ML_EINVAL if hex is not that long or holds a non-hex character.
 */
int ml_hex_decode(const char *hex, uint8_t *out, size_t n);

/* Writes 2*n lowercase hex digits and a NUL into out (room for 2*n+1). */
void ml_hex_encode(const void *p, size_t n, char *out);

#endif
