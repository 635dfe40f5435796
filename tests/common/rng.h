/*
 * rng.h - the tests' reproducible pseudo-random numbers (xorshift64): a seed
 * replays a run exactly; never for anything that needs unpredictability.
 */
#ifndef ML_TEST_RNG_H
#define ML_TEST_RNG_H

#include <stdint.h>

struct test_rng {
	uint64_t s;
};

/* Seeds r so that nearby seeds give unrelated streams (never the all-zero state). */
static inline void test_rng_seed(struct test_rng *r, uint64_t seed, uint64_t salt)
{
	r->s = seed * 0x9e3779b97f4a7c15ULL + salt;
	if (!r->s)
		r->s = 1;
}

/* Returns a number in [0, n), or 0 when n is 0. */
static inline uint32_t test_rng_below(struct test_rng *r, uint32_t n)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return n ? (uint32_t)(r->s % n) : 0;
}

#endif
