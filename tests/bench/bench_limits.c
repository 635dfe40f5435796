/*
 * bench_limits.c - the physical limits the benchmarks report ratios to (bench_limits.h).
 */
#include "bench_limits.h"

#include <sodium.h>
#include <stdlib.h>
#include <time.h>

double bench_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_raw_verify_rate(void)
{
	unsigned char pk[32], sk[64], msg[64][300], sig[64][64];
	crypto_sign_keypair(pk, sk);
	for (int i = 0; i < 64; i++) {
		randombytes_buf(msg[i], 300);
		crypto_sign_detached(sig[i], NULL, msg[i], 300, sk);
	}
	int n = 20000;
	double t = bench_now_s();
	for (int i = 0; i < n; i++)
		if (crypto_sign_verify_detached(sig[i % 64], msg[i % 64], 300, pk) != 0)
			abort();
	return n / (bench_now_s() - t);
}
