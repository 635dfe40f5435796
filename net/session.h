/*
 * session.h - one authenticated, encrypted connection between two devices
 * (docs/PROTOCOL.md §12).  Bytes in, events and bytes out: no sockets here,
 * so the handshake and framing are tested without a network.
 *
 *   both, at once:  HELLO  "MLS1" | version 1 | network id (32) | ephemeral X25519 key (32)
 *   both:           secretstream header (24) for its sending direction
 *   then frames:    u32 LE ciphertext length | secretstream ciphertext of (type byte | payload)
 *
 * Session keys come from crypto_kx over the two ephemeral keys (forward
 * secret: nothing long-lived can decrypt a recorded session).  The first
 * frame each way is AUTH: the device's ed25519 key and its signature over the
 * network id, both ephemeral keys and its role, so a device proves its key
 * to this session only; a joining device adds an invite proof, a MAC with
 * the invite's secret over the same transcript and its key.
 */
#ifndef ML_SESSION_H
#define ML_SESSION_H

#include "crdt/buf.h"
#include "crdt/key.h"
#include "crdt/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ML_SESSION_VERSION   1
#define ML_SESSION_HELLO_LEN 69
/* Plaintext bytes of one frame, type byte included: a 1 MB photo with its type and hash fits. */
#define ML_FRAME_MAX        ((1u << 20) + 64)
#define ML_INVITE_ID_BYTES  16
#define ML_INVITE_KEY_BYTES 32

/* Frame types (the plaintext's first byte). */
enum ml_msg {
	ML_MSG_AUTH = 1,   /* device key, signature, optional invite proof */
	ML_MSG_ACCEPT = 2, /* the peer is admitted; empty */
	ML_MSG_REFUSE = 3, /* UTF-8 reason; the sender closes */
	ML_MSG_RECON = 4,  /* a reconciliation message (net/recon.h) */
	ML_MSG_OPS = 5,    /* encoded ops, concatenated */
	ML_MSG_SYNCED = 6, /* everything the peer lacked at reconciliation was sent */
	ML_MSG_PING = 7,   /* answered by PONG with the same payload */
	ML_MSG_PONG = 8,
	ML_MSG_BLOB_WANT = 9,     /* 1 to 8 photo hashes (32 bytes each) */
	ML_MSG_BLOB = 10,         /* hash (32) | a photo's bytes */
	ML_MSG_BLOB_NONE = 11,    /* hash (32): not held, or not in the asker's scope */
	ML_MSG_PHOTOS_DONE = 12,  /* empty: the sender asked for every photo it wanted this round */
	ML_MSG_ROUND_PLEASE = 13, /* empty: scopes changed here; the dialling side starts a round */
};

enum ml_session_role { ML_SESSION_INITIATOR, ML_SESSION_RESPONDER };

enum ml_session_event {
	ML_SESSION_NEED_MORE, /* feed more bytes */
	ML_SESSION_PEER,      /* the peer proved its device key: see ml_session_peer */
	ML_SESSION_FRAME,     /* an application frame */
};

/* What the peer proved in its AUTH frame. */
struct ml_session_peer {
	struct ml_pubkey device;
	bool has_invite;
	uint8_t invite_id[ML_INVITE_ID_BYTES];
	uint8_t invite_mac[32]; /* check with ml_session_invite_ok */
};

struct ml_session;

/* An invite a joining device presents (both arrays borrowed for ml_session_new only). */
struct ml_session_invite {
	const uint8_t *id;     /* ML_INVITE_ID_BYTES */
	const uint8_t *secret; /* ML_INVITE_KEY_BYTES */
};

/*
 * Starts a session as role for device `me` (borrowed: must outlive the
 * session) in network net, with an invite to present or NULL; appends the
 * HELLO to send to out.  ML_OK or ML_ENOMEM.
 */
int ml_session_new(enum ml_session_role role, const struct ml_key *me, const struct ml_hash *net,
                   const struct ml_session_invite *invite, struct ml_buf *out,
                   struct ml_session **s);

/* Frees the session and wipes its keys; accepts NULL. */
void ml_session_free(struct ml_session *s);

/*
 * Appends received bytes to the session's input.  ML_OK, or ML_ETOOBIG when
 * more than one frame and a read's worth is already waiting (the caller did
 * not drain ml_session_next), ML_ENOMEM.
 */
int ml_session_feed(struct ml_session *s, const uint8_t *p, size_t n, struct ml_buf *err);

/*
 * Takes the next event from the input; bytes to send (the handshake's) are
 * appended to out.  For ML_SESSION_FRAME, type, payload and len are set;
 * the payload is borrowed until the next call.  Errors drop the peer:
 * ML_EVERSION, ML_EWRONGNET (another network), ML_EMALFORMED (not the
 * protocol, a frame too long, a first frame that is not AUTH), ML_EBADSIG
 * (the device's signature), ML_ECRYPT (a frame altered, replayed or cut).
 */
int ml_session_next(struct ml_session *s, struct ml_buf *out, enum ml_session_event *ev,
                    uint8_t *type, const uint8_t **payload, size_t *len, struct ml_buf *err);

/* The peer's proven identity, once ML_SESSION_PEER was returned; NULL before.  Borrowed. */
const struct ml_session_peer *ml_session_peer(const struct ml_session *s);

/* True when the peer's invite proof is right for this invite secret. */
bool ml_session_invite_ok(const struct ml_session *s, const uint8_t secret[ML_INVITE_KEY_BYTES]);

/*
 * Encrypts one frame of type with payload p[0..n) and appends it to out.
 * ML_OK, ML_EINVAL (before the keys exist, or n + 1 > ML_FRAME_MAX), ML_ENOMEM.
 */
int ml_session_send(struct ml_session *s, uint8_t type, const void *p, size_t n,
                    struct ml_buf *out);

/* True once both sides' keys are set (frames may be sent). */
bool ml_session_ready(const struct ml_session *s);

#endif
