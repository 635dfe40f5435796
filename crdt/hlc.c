/*
 * hlc.c - the send and receive rules of hybrid logical clocks.
 *
 * Invariant kept by both rules: the new clock is strictly greater than the
 * old one, and (for receive) than the message's timestamp.  The paper's
 * counter is unbounded; ours is 32 bits, and on overflow we borrow one
 * millisecond (ms+1, c=0), which keeps the order and drifts by at most
 * 1 ms per 2^32 events.
 */
#include "hlc.h"

#include "err.h"
#include "limits.h"

int ml_hlc_cmp(struct ml_hlc a, struct ml_hlc b)
{
	if (a.ms != b.ms)
		return a.ms < b.ms ? -1 : 1;
	if (a.c != b.c)
		return a.c < b.c ? -1 : 1;
	return 0;
}

/* Returns the successor of (ms, c) within the same ms, or (ms+1, 0) on counter overflow. */
static struct ml_hlc bump(uint64_t ms, uint64_t c)
{
	if (c + 1 > ML_HLC_MAX_COUNTER)
		return (struct ml_hlc){ms + 1, 0};
	return (struct ml_hlc){ms, (uint32_t)(c + 1)};
}

struct ml_hlc ml_hlc_send(struct ml_hlc *clock, uint64_t now_ms)
{
	struct ml_hlc old = *clock;
	if (now_ms > old.ms)
		*clock = (struct ml_hlc){now_ms, 0};
	else
		*clock = bump(old.ms, old.c);
	return *clock;
}

int ml_hlc_check_drift(struct ml_hlc m, uint64_t now_ms, struct ml_buf *err)
{
	if (m.ms > now_ms && m.ms - now_ms > ML_HLC_MAX_DRIFT_MS)
		return ml_errf(err, ML_EFUTURE,
		               "op clock is %llu s ahead of this device's clock (limit %llu s); "
		               "check the clock of the device that wrote it, or of this one",
		               (unsigned long long)((m.ms - now_ms) / 1000),
		               (unsigned long long)(ML_HLC_MAX_DRIFT_MS / 1000));
	return ML_OK;
}

int ml_hlc_recv(struct ml_hlc *clock, struct ml_hlc m, uint64_t now_ms, struct ml_buf *err)
{
	int rc = ml_hlc_check_drift(m, now_ms, err);
	if (rc < 0)
		return rc;
	struct ml_hlc old = *clock;
	uint64_t l = old.ms;
	if (m.ms > l)
		l = m.ms;
	if (now_ms > l)
		l = now_ms;
	if (l == old.ms && l == m.ms)
		*clock = bump(l, old.c > m.c ? old.c : m.c);
	else if (l == old.ms)
		*clock = bump(l, old.c);
	else if (l == m.ms)
		*clock = bump(l, m.c);
	else
		*clock = (struct ml_hlc){l, 0};
	return ML_OK;
}
