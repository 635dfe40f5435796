/*
 * limits.h - every bound memberlog puts on input, in one place.
 *
 * Checked before any allocation that depends on input.  Changing one of the
 * format limits (ML_OP_*, ML_BATCH_MAX) is a protocol change: docs/PROTOCOL.md
 * states them and peers rely on them.
 */
#ifndef ML_LIMITS_H
#define ML_LIMITS_H

/* Largest encoded op, signature included.  A member op is ~0.5 KiB. */
#define ML_OP_MAX_BYTES 65536

/* Most ops one signature may cover: a feed never has more than this many consecutive ops
 * ending in a signed one, so proving one op standalone needs at most one batch. */
#define ML_BATCH_MAX 1024

/* Most entries in an op's `deps`. */
#define ML_OP_MAX_DEPS 128

/* Longest op `type` name, in bytes. */
#define ML_OP_TYPE_MAX 32

/* Deepest nesting of arrays and maps inside an op body (the body map itself is depth 1). */
#define ML_BODY_MAX_DEPTH 8

/* Largest HLC millisecond value (2^48 - 1, the year 10889) and counter. */
#define ML_HLC_MAX_MS      ((1ULL << 48) - 1)
#define ML_HLC_MAX_COUNTER 0xffffffffULL

/* An op whose clock is more than this ahead of the receiver's physical clock is refused
 * (ML_EFUTURE) until that is no longer true; skew up to it is absorbed by the HLC. */
#define ML_HLC_MAX_DRIFT_MS (60ULL * 60 * 1000)
/* How far ahead of its own wall clock a node's writes may follow a clock seen in ops it
 * holds: far below the drift bound, so one fast clock cannot push a network's stamps
 * towards what honest receivers refuse. */
#define ML_HLC_ADOPT_MAX_MS (5ULL * 60 * 1000)

/* Most chained ops on each side of an equivocation evidence record. */
#define ML_EQUIV_MAX_CHAIN ML_BATCH_MAX

#endif
