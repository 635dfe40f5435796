/*
 * key.c - ed25519 device keys in guarded memory.
 */
#include "key.h"

#include "err.h"

#include <sodium.h>
#include <string.h>

static struct ml_key *key_alloc(void)
{
	return sodium_malloc(sizeof(struct ml_key));
}

int ml_key_generate(struct ml_key **out)
{
	uint8_t seed[ML_SEED_BYTES];
	randombytes_buf(seed, sizeof seed);
	int rc = ml_key_from_seed(seed, out);
	sodium_memzero(seed, sizeof seed);
	return rc;
}

int ml_key_from_seed(const uint8_t seed[static ML_SEED_BYTES], struct ml_key **out)
{
	struct ml_key *k = key_alloc();
	*out = NULL;
	if (!k)
		return ML_ENOMEM;
	crypto_sign_seed_keypair(k->pk.b, k->sk, seed);
	*out = k;
	return ML_OK;
}

void ml_key_seed(const struct ml_key *k, uint8_t seed[static ML_SEED_BYTES])
{
	crypto_sign_ed25519_sk_to_seed(seed, k->sk);
}

struct ml_sig ml_key_sign(const struct ml_key *k, const void *msg, size_t len)
{
	struct ml_sig sig;
	crypto_sign_detached(sig.b, NULL, msg, len, k->sk);
	return sig;
}

bool ml_sig_verify(const struct ml_pubkey *pk, const struct ml_sig *sig, const void *msg,
                   size_t len)
{
	return crypto_sign_verify_detached(sig->b, msg, len, pk->b) == 0;
}

void ml_key_free(struct ml_key *k)
{
	if (k)
		sodium_free(k); /* sodium_free wipes before unmapping */
}
