/*
 * hlc.h - hybrid logical clocks (Kulkarni, Demirbas et al., "Logical
 * Physical Clocks", OPODIS 2014).
 *
 * A timestamp is (ms, c): ms tracks the largest physical time seen, c
 * counts events within it.  Timestamps order events consistently with
 * causality while staying within the clock skew of physical time.  The
 * functions are pure: the caller passes the physical time in milliseconds
 * since the Unix epoch, so tests control it.
 */
#ifndef ML_HLC_H
#define ML_HLC_H

#include "buf.h"

#include <stdint.h>

struct ml_hlc {
	uint64_t ms; /* <= ML_HLC_MAX_MS */
	uint32_t c;
};

/* Returns <0, 0, >0 ordering a before, equal to, or after b. */
int ml_hlc_cmp(struct ml_hlc a, struct ml_hlc b);

/*
 * Send (or local event) rule: advances *clock past both its old value and
 * now_ms and returns the new timestamp, strictly greater than the old one.
 * When the counter would overflow, ms moves on by one instead.
 */
struct ml_hlc ml_hlc_send(struct ml_hlc *clock, uint64_t now_ms);

/*
 * Checks that m is not more than ML_HLC_MAX_DRIFT_MS ahead of now_ms.
 * Returns ML_OK or ML_EFUTURE with a message naming the excess.
 */
int ml_hlc_check_drift(struct ml_hlc m, uint64_t now_ms, struct ml_buf *err);

/*
 * Receive rule: after ml_hlc_check_drift, merges the remote timestamp m into
 * *clock so later local events order after it.  Returns ML_OK, or ML_EFUTURE
 * (clock unchanged) when m is beyond the drift bound.
 */
int ml_hlc_recv(struct ml_hlc *clock, struct ml_hlc m, uint64_t now_ms, struct ml_buf *err);

#endif
