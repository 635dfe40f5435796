/*
 * recon.h - range-based set reconciliation of feed heads (docs/RECON.md).
 *
 * Two sides each hold a set of items (feed key, head seq).  They exchange
 * messages, byte buffers the caller carries, until both have learnt every
 * key where the sets differ and the other side's seq there.  Cost: about
 * 16 fingerprints (~23 bytes each) per level of a 16-way split, for each
 * difference: O(d log n) bytes for d differences among n items, in
 * ceil(log16 n) + 1 messages when d is small.  No I/O: pure logic over
 * borrowed memory, one state per side and exchange.
 *
 * Driving an exchange: exactly one side calls ml_recon_initiate and sends
 * what it appended; from then on each side passes every message it receives
 * to ml_recon_step and sends the reply.  An empty reply means "nothing more
 * from me": the exchange is then over for both sides (the side receiving it
 * may pass it to ml_recon_step too, which appends nothing and makes
 * ml_recon_done true).  A non-empty reply must be delivered.
 *
 * Not thread-safe: one state is used by one thread at a time.
 */
#ifndef ML_RECON_H
#define ML_RECON_H

#include "crdt/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ML_RECON_VERSION   1
#define ML_RECON_BRANCH    16            /* subranges a differing range is split into */
#define ML_RECON_LIST_MAX  16            /* a range of at most this many items is listed */
#define ML_RECON_MSG_MAX   (256u * 1024) /* bytes of one message, both ways */
#define ML_RECON_ITEMS_MAX 0xffffffffu   /* items of one set (and of a fingerprinted range) */
/* Bytes of the peer's queries one side holds back when its replies are full (see recon.c). */
#define ML_RECON_BACKLOG_MAX (64u * ML_RECON_MSG_MAX)

/* One feed: its 32-byte wire key and the seq of its head on this side (>= 1). */
struct ml_recon_item {
	uint8_t key[32];
	uint64_t seq;
};

/* One side's state over a borrowed, sorted item set. */
struct ml_recon;

/*
 * Receives one difference: key (borrowed for the call), this side's seq
 * (mine, 0 when this side lacks the key) and the peer's (theirs, 0 when the
 * peer lacks it).  Called from ml_recon_step only.
 */
typedef void (*ml_recon_diff_fn)(void *ctx, const uint8_t key[32], uint64_t mine, uint64_t theirs);

/*
 * Creates the state over items[0..n), sorted by key with unique keys and
 * every seq >= 1; items are borrowed and must neither change nor be freed
 * before *out is; free *out with ml_recon_free.  ML_OK, ML_EINVAL (unsorted,
 * duplicate key, seq 0, n > ML_RECON_ITEMS_MAX), ML_ENOMEM, ML_EIO (libsodium cannot
 * start); *out is NULL on failure.
 */
int ml_recon_new(const struct ml_recon_item *items, size_t n, struct ml_recon **out);

/* Frees r; accepts NULL. */
void ml_recon_free(struct ml_recon *r);

/*
 * Initiator only, before any ml_recon_step: appends the first message to out
 * (caller owns out).  ML_OK, ML_EINVAL (r already initiated or stepped),
 * ML_ENOMEM (out keeps its previous contents).
 */
int ml_recon_initiate(struct ml_recon *r, struct ml_buf *out);

/*
 * Processes msg[0..len), the peer's latest message (borrowed for the call;
 * len 0 is the empty message), and appends the reply to out (caller owns
 * out; nothing appended means this side has nothing more to say).  Calls
 * diff(ctx, ...) for each difference learnt (diff may be NULL), exactly once
 * per key over the whole exchange on this side (never twice, whatever the
 * peer sends), after the state is updated.  Returns ML_OK; ML_EMALFORMED with
 * a sentence in err, which may be NULL (bad encoding, unknown version, bounds
 * out of order, trailing bytes, counts that do not add up, a range this side
 * did not ask about, more than ML_RECON_MSG_MAX bytes, or a peer that floods
 * more queries than ML_RECON_BACKLOG_MAX); ML_ENOMEM.  On any error r, out
 * and the callbacks are as if the call had not happened.
 */
int ml_recon_step(struct ml_recon *r, const uint8_t *msg, size_t len, struct ml_buf *out,
                  ml_recon_diff_fn diff, void *ctx, struct ml_buf *err);

/* True when the exchange is over on this side: the last step appended nothing and nothing is
 * outstanding.  Cannot fail. */
bool ml_recon_done(const struct ml_recon *r);

#endif
