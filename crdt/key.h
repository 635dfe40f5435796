/*
 * key.h - a device's ed25519 key pair.
 *
 * The secret half lives in sodium_malloc memory (guard pages, no swap,
 * wiped on free), as WireGuard keeps its keys.  Loading and saving a key
 * file is node/keyfile.h's job: crdt/ does no I/O.
 */
#ifndef ML_KEY_H
#define ML_KEY_H

#include "types.h"

#define ML_SEED_BYTES 32

struct ml_key {
	struct ml_pubkey pk;
	uint8_t sk[64]; /* libsodium's ed25519 secret key: seed || public key */
};

/* Creates a random key pair in *out; caller frees with ml_key_free.  ML_OK or ML_ENOMEM. */
int ml_key_generate(struct ml_key **out);

/* Derives the key pair of a 32-byte seed into *out; caller frees with ml_key_free.
 * ML_OK or ML_ENOMEM.  The same seed always gives the same key (test vectors rely on it). */
int ml_key_from_seed(const uint8_t seed[static ML_SEED_BYTES], struct ml_key **out);

/* Copies the key's seed into seed (for saving it); the caller wipes it with sodium_memzero. */
void ml_key_seed(const struct ml_key *k, uint8_t seed[static ML_SEED_BYTES]);

/* Signs msg[0..len) with k.  Cannot fail.  Thread-safe. */
struct ml_sig ml_key_sign(const struct ml_key *k, const void *msg, size_t len);

/* Returns true when sig is pk's ed25519 signature of msg[0..len).  Thread-safe. */
bool ml_sig_verify(const struct ml_pubkey *pk, const struct ml_sig *sig, const void *msg,
                   size_t len);

/* Wipes and frees k; accepts NULL. */
void ml_key_free(struct ml_key *k);

#endif
