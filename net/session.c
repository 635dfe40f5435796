/*
 * session.c - handshake and framing of a connection (session.h).
 */
#include "session.h"

#include "crdt/alloc.h"
#include "crdt/err.h"

#include <sodium.h>
#include <string.h>

#define MAGIC           "MLS1"
#define AUTH_DOMAIN     "memberlog/session/v1"
#define INVITE_DOMAIN   "memberlog/invite/v1"
#define FRAME_OVERHEAD  crypto_secretstream_xchacha20poly1305_ABYTES
#define AUTH_LEN        (1 + 32 + 64 + 1)
#define AUTH_INVITE_LEN (AUTH_LEN + ML_INVITE_ID_BYTES + 32)
/* Input may hold one whole frame plus what one read brings beyond it. */
#define INPUT_MAX (ML_FRAME_MAX + FRAME_OVERHEAD + 4 + (256u << 10))

enum state { ST_HELLO, ST_HEADER, ST_AUTH, ST_OPEN };

struct ml_session {
	enum ml_session_role role;
	enum state state;
	const struct ml_key *me;
	struct ml_hash net;
	uint8_t eph_pk[crypto_kx_PUBLICKEYBYTES], eph_sk[crypto_kx_SECRETKEYBYTES];
	uint8_t peer_eph[crypto_kx_PUBLICKEYBYTES];
	uint8_t rx[crypto_kx_SESSIONKEYBYTES], tx[crypto_kx_SESSIONKEYBYTES];
	crypto_secretstream_xchacha20poly1305_state push, pull;
	bool push_ready; /* the sending stream exists (after the peer's HELLO) */
	bool has_invite;
	uint8_t invite_id[ML_INVITE_ID_BYTES], invite_secret[ML_INVITE_KEY_BYTES];
	struct ml_session_peer peer;
	bool peer_known;
	struct ml_buf in; /* received, not yet consumed from `at` */
	size_t at;
	struct ml_buf plain;   /* the last frame's plaintext (a FRAME's payload points here) */
	struct ml_buf scratch; /* a frame being sent */
};

int ml_session_new(enum ml_session_role role, const struct ml_key *me, const struct ml_hash *net,
                   const struct ml_session_invite *invite, struct ml_buf *out,
                   struct ml_session **s)
{
	*s = NULL;
	struct ml_session *ss = ml_calloc(1, sizeof *ss);
	if (!ss)
		return ML_ENOMEM;
	ss->role = role;
	ss->me = me;
	ss->net = *net;
	crypto_kx_keypair(ss->eph_pk, ss->eph_sk);
	if (invite) {
		ss->has_invite = true;
		memcpy(ss->invite_id, invite->id, ML_INVITE_ID_BYTES);
		memcpy(ss->invite_secret, invite->secret, ML_INVITE_KEY_BYTES);
	}
	uint8_t hello[ML_SESSION_HELLO_LEN];
	memcpy(hello, MAGIC, 4);
	hello[4] = ML_SESSION_VERSION;
	memcpy(hello + 5, net->b, 32);
	memcpy(hello + 37, ss->eph_pk, 32);
	if (ml_buf_add(out, hello, sizeof hello) != ML_OK) {
		ml_session_free(ss);
		return ML_ENOMEM;
	}
	*s = ss;
	return ML_OK;
}

void ml_session_free(struct ml_session *s)
{
	if (!s)
		return;
	ml_buf_release(&s->in);
	if (s->plain.data)
		sodium_memzero(s->plain.data, s->plain.cap);
	ml_buf_release(&s->plain);
	if (s->scratch.data)
		sodium_memzero(s->scratch.data, s->scratch.cap);
	ml_buf_release(&s->scratch);
	sodium_memzero(s, sizeof *s);
	ml_free(s);
}

/*
 * The transcript a device signs: domain | network | initiator's ephemeral |
 * responder's ephemeral | the signer's role ('I' or 'R').
 */
static void transcript(const struct ml_session *s, char signer, uint8_t out[32])
{
	const uint8_t *ei = s->role == ML_SESSION_INITIATOR ? s->eph_pk : s->peer_eph;
	const uint8_t *er = s->role == ML_SESSION_INITIATOR ? s->peer_eph : s->eph_pk;
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, (const uint8_t *)AUTH_DOMAIN, sizeof AUTH_DOMAIN);
	crypto_generichash_update(&h, s->net.b, 32);
	crypto_generichash_update(&h, ei, 32);
	crypto_generichash_update(&h, er, 32);
	crypto_generichash_update(&h, (const uint8_t *)&signer, 1);
	crypto_generichash_final(&h, out, 32);
}

/* The invite proof: HMAC-SHA512-256 keyed by the secret over the joiner's transcript and key. */
static void invite_mac(const struct ml_session *s, char signer, const struct ml_pubkey *device,
                       const uint8_t secret[ML_INVITE_KEY_BYTES], uint8_t out[32])
{
	uint8_t t[32];
	transcript(s, signer, t);
	crypto_auth_hmacsha512256_state h;
	crypto_auth_hmacsha512256_init(&h, secret, ML_INVITE_KEY_BYTES);
	crypto_auth_hmacsha512256_update(&h, (const uint8_t *)INVITE_DOMAIN, sizeof INVITE_DOMAIN);
	crypto_auth_hmacsha512256_update(&h, t, 32);
	crypto_auth_hmacsha512256_update(&h, device->b, 32);
	crypto_auth_hmacsha512256_final(&h, out);
}

static char my_role(const struct ml_session *s)
{
	return s->role == ML_SESSION_INITIATOR ? 'I' : 'R';
}

static char peer_role(const struct ml_session *s)
{
	return s->role == ML_SESSION_INITIATOR ? 'R' : 'I';
}

/* Derives the keys, starts our stream and sends its header and our AUTH frame. */
static int start_streams(struct ml_session *s, struct ml_buf *out, struct ml_buf *err)
{
	int r =
	    s->role == ML_SESSION_INITIATOR
	        ? crypto_kx_client_session_keys(s->rx, s->tx, s->eph_pk, s->eph_sk, s->peer_eph)
	        : crypto_kx_server_session_keys(s->rx, s->tx, s->eph_pk, s->eph_sk, s->peer_eph);
	sodium_memzero(s->eph_sk, sizeof s->eph_sk);
	if (r != 0)
		return ml_errf(err, ML_ECRYPT, "the peer's ephemeral key is unusable");
	uint8_t header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	crypto_secretstream_xchacha20poly1305_init_push(&s->push, header, s->tx);
	s->push_ready = true;
	if (ml_buf_add(out, header, sizeof header) != ML_OK)
		return ML_ENOMEM;
	uint8_t auth[AUTH_INVITE_LEN - 1], t[32];
	transcript(s, my_role(s), t);
	struct ml_sig sig = ml_key_sign(s->me, t, sizeof t);
	memcpy(auth, s->me->pk.b, 32);
	memcpy(auth + 32, sig.b, 64);
	auth[96] = s->has_invite;
	size_t n = AUTH_LEN - 1;
	if (s->has_invite) {
		memcpy(auth + n, s->invite_id, ML_INVITE_ID_BYTES);
		invite_mac(s, my_role(s), &s->me->pk, s->invite_secret,
		           auth + n + ML_INVITE_ID_BYTES);
		n += ML_INVITE_ID_BYTES + 32;
	}
	return ml_session_send(s, ML_MSG_AUTH, auth, n, out);
}

static int read_auth(struct ml_session *s, const uint8_t *p, size_t n, struct ml_buf *err)
{
	if (n < 1 || p[0] != ML_MSG_AUTH || (n != AUTH_LEN && n != AUTH_INVITE_LEN) ||
	    p[97] != (n == AUTH_INVITE_LEN))
		return ml_errf(err, ML_EMALFORMED, "the peer's first frame is not a valid AUTH");
	struct ml_session_peer *peer = &s->peer;
	memcpy(peer->device.b, p + 1, 32);
	struct ml_sig sig;
	memcpy(sig.b, p + 33, 64);
	uint8_t t[32];
	transcript(s, peer_role(s), t);
	if (!ml_sig_verify(&peer->device, &sig, t, sizeof t))
		return ml_errf(err, ML_EBADSIG, "the peer's device signature does not verify");
	peer->has_invite = n == AUTH_INVITE_LEN;
	if (peer->has_invite) {
		memcpy(peer->invite_id, p + AUTH_LEN, ML_INVITE_ID_BYTES);
		memcpy(peer->invite_mac, p + AUTH_LEN + ML_INVITE_ID_BYTES, 32);
	}
	s->peer_known = true;
	return ML_OK;
}

bool ml_session_invite_ok(const struct ml_session *s, const uint8_t secret[ML_INVITE_KEY_BYTES])
{
	if (!s->peer_known || !s->peer.has_invite)
		return false;
	uint8_t want[32];
	invite_mac(s, peer_role(s), &s->peer.device, secret, want);
	return sodium_memcmp(want, s->peer.invite_mac, 32) == 0;
}

const struct ml_session_peer *ml_session_peer(const struct ml_session *s)
{
	return s->peer_known ? &s->peer : NULL;
}

bool ml_session_ready(const struct ml_session *s)
{
	return s->state >= ST_HEADER;
}

int ml_session_feed(struct ml_session *s, const uint8_t *p, size_t n, struct ml_buf *err)
{
	if (s->at && s->at == s->in.len) {
		ml_buf_reset(&s->in);
		s->at = 0;
	} else if (s->at > (64u << 10)) {
		memmove(s->in.data, s->in.data + s->at, s->in.len - s->at);
		s->in.len -= s->at;
		s->at = 0;
	}
	if (s->in.len - s->at + n > INPUT_MAX)
		return ml_errf(err, ML_ETOOBIG,
		               "the peer sent more than one frame's worth at once");
	return ml_buf_add(&s->in, p, n);
}

int ml_session_next(struct ml_session *s, struct ml_buf *out, enum ml_session_event *ev,
                    uint8_t *type, const uint8_t **payload, size_t *len, struct ml_buf *err)
{
	*ev = ML_SESSION_NEED_MORE;
	for (;;) {
		size_t avail = s->in.len - s->at;
		if (avail == 0)
			return ML_OK;
		const uint8_t *p = s->in.data + s->at;
		if (s->state == ST_HELLO) {
			/* Fail on the first wrong byte: garbage is dropped without waiting for 69.
			 */
			size_t check = avail < 4 ? avail : 4;
			if (memcmp(p, MAGIC, check) != 0)
				return ml_errf(err, ML_EMALFORMED,
				               "the peer does not speak memberlog");
			if (avail >= 5 && p[4] != ML_SESSION_VERSION)
				return ml_errf(
				    err, ML_EVERSION,
				    "the peer speaks protocol version %u; this node speaks %u",
				    p[4], ML_SESSION_VERSION);
			if (avail < ML_SESSION_HELLO_LEN)
				return ML_OK;
			if (memcmp(p + 5, s->net.b, 32) != 0)
				return ml_errf(err, ML_EWRONGNET,
				               "the peer belongs to another network");
			memcpy(s->peer_eph, p + 37, 32);
			s->at += ML_SESSION_HELLO_LEN;
			int rc = start_streams(s, out, err);
			if (rc != ML_OK)
				return rc;
			s->state = ST_HEADER;
			continue;
		}
		if (s->state == ST_HEADER) {
			if (avail < crypto_secretstream_xchacha20poly1305_HEADERBYTES)
				return ML_OK;
			if (crypto_secretstream_xchacha20poly1305_init_pull(&s->pull, p, s->rx) !=
			    0)
				return ml_errf(err, ML_ECRYPT,
				               "the peer's stream header is invalid");
			s->at += crypto_secretstream_xchacha20poly1305_HEADERBYTES;
			s->state = ST_AUTH;
			continue;
		}
		if (avail < 4)
			return ML_OK;
		uint32_t clen = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		                (uint32_t)p[3] << 24;
		if (clen <= FRAME_OVERHEAD || clen > ML_FRAME_MAX + FRAME_OVERHEAD)
			return ml_errf(err, ML_EMALFORMED, "the peer sent a frame of %u bytes",
			               clen);
		if (avail - 4 < clen)
			return ML_OK;
		ml_buf_reset(&s->plain);
		if (ml_buf_reserve(&s->plain, clen) != ML_OK)
			return ML_ENOMEM;
		unsigned long long plen;
		uint8_t tag;
		if (crypto_secretstream_xchacha20poly1305_pull(&s->pull, s->plain.data, &plen, &tag,
		                                               p + 4, clen, NULL, 0) != 0 ||
		    tag != 0)
			return ml_errf(err, ML_ECRYPT,
			               "a frame from the peer is altered or out of order");
		s->plain.len = (size_t)plen;
		s->at += 4 + clen;
		if (s->state == ST_AUTH) {
			int rc = read_auth(s, s->plain.data, s->plain.len, err);
			if (rc != ML_OK)
				return rc;
			s->state = ST_OPEN;
			*ev = ML_SESSION_PEER;
			return ML_OK;
		}
		*ev = ML_SESSION_FRAME;
		*type = s->plain.data[0];
		*payload = s->plain.data + 1;
		*len = s->plain.len - 1;
		return ML_OK;
	}
}

int ml_session_send(struct ml_session *s, uint8_t type, const void *p, size_t n, struct ml_buf *out)
{
	if (!s->push_ready || (s->state == ST_HELLO && type != ML_MSG_AUTH))
		return ML_EINVAL;
	if (n >= ML_FRAME_MAX) /* not n + 1 > ...: that wraps for SIZE_MAX */
		return ML_EINVAL;
	size_t clen = n + 1 + FRAME_OVERHEAD;
	if (ml_buf_reserve(out, 4 + clen) != ML_OK)
		return ML_ENOMEM;
	uint8_t *dst = out->data + out->len; /* stays valid: nothing below grows out */
	dst[0] = (uint8_t)clen;
	dst[1] = (uint8_t)(clen >> 8);
	dst[2] = (uint8_t)(clen >> 16);
	dst[3] = (uint8_t)(clen >> 24);
	ml_buf_reset(&s->scratch);
	if (ml_buf_reserve(&s->scratch, n + 1) != ML_OK)
		return ML_ENOMEM;
	s->scratch.data[0] = type;
	if (n)
		memcpy(s->scratch.data + 1, p, n);
	crypto_secretstream_xchacha20poly1305_push(&s->push, dst + 4, NULL, s->scratch.data, n + 1,
	                                           NULL, 0, 0);
	out->len += 4 + clen;
	return ML_OK;
}
