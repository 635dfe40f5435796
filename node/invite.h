/*
 * invite.h - one-time invitations: a device that holds an invite's secret
 * joins over the network and is granted the invite's role at its unit by an
 * op the inviting device signs (docs/PROTOCOL.md §12.6).
 *
 * Invites are this node's own business, not ops: they live in the store's
 * `invites` table, outside the register and the state hash.  Functions that
 * can fail return ML_OK or a negative ml_err with a sentence in err.
 */
#ifndef ML_INVITE_H
#define ML_INVITE_H

#include "store.h"

#include "crdt/key.h"
#include "crdt/types.h"

#include <stdint.h>

#define ML_INVITE_ID     16
#define ML_INVITE_KEY    32
#define ML_INVITE_TTL_MS (7ULL * 24 * 3600 * 1000) /* a week, by default */

/* An invitation as the inviting node keeps it. */
struct ml_invite {
	uint8_t id[ML_INVITE_ID];
	uint8_t secret[ML_INVITE_KEY];
	struct ml_hash unit;
	char role[16];
	uint64_t expires_ms;
};

/*
 * Creates an invitation for role at unit, valid for ttl_ms from now_ms, with
 * a fresh id and secret, into *out.  ML_OK, ML_EINVAL (unknown role), ML_ESTORE.
 */
int ml_invite_create(struct ml_store *s, const struct ml_hash *unit, const char *role,
                     uint64_t ttl_ms, uint64_t now_ms, struct ml_invite *out, struct ml_buf *err);

/*
 * Looks up the unused, unexpired invitation id into *out.  ML_OK,
 * ML_ENOTFOUND (no such invite), ML_EEXIST (already used), ML_EINVAL (expired), ML_ESTORE.
 */
int ml_invite_get(struct ml_store *s, const uint8_t id[ML_INVITE_ID], uint64_t now_ms,
                  struct ml_invite *out, struct ml_buf *err);

/*
 * Redeems the invitation id for device: signs (with key) the grant of the
 * invite's role at its unit to device and marks the invite used, in one
 * transaction.  ML_OK, the codes of ml_invite_get, or the author's
 * (ML_EUNAUTH when key may not grant there any more).
 */
int ml_invite_redeem(struct ml_store *s, const struct ml_key *key, const uint8_t id[ML_INVITE_ID],
                     const struct ml_pubkey *device, uint64_t now_ms, struct ml_buf *err);

#endif
