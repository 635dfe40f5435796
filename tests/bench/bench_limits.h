/*
 * bench_limits.h - what the benchmarks measure their figures against, in the same run.
 */
#ifndef ML_BENCH_LIMITS_H
#define ML_BENCH_LIMITS_H

/* Monotonic seconds. */
double bench_now_s(void);

/* Raw ed25519 verifications per second on one core (300-byte messages); aborts if libsodium
 * rejects its own signature, which would make every figure meaningless. */
double bench_raw_verify_rate(void);

#endif
