/*
 * test_net_session.c - the session handshake and framing (net/session.h).
 *
 * All in memory: two sessions exchange bytes through buffers.  A "raw" peer
 * built from libsodium directly (it mirrors the wire format of session.h and
 * session.c, and a control test shows an honest session accepts it) plays
 * the attackers that craft their own handshakes and frames.
 */
#include "test.h"

#include "crdt/err.h"
#include "net/session.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ABYTES        crypto_secretstream_xchacha20poly1305_ABYTES
#define HEADERBYTES   crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define TAG_MESSAGE   crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FINAL     crypto_secretstream_xchacha20poly1305_TAG_FINAL
#define AUTH_LEN      (1 + 32 + 64 + 1)                    /* type | key | sig | flag */
#define AUTH_INV      (AUTH_LEN + ML_INVITE_ID_BYTES + 32) /* ... | invite id | mac */
#define MAX_FRAMES    4096
#define FRAME_WIRE(n) ((size_t)(n) + 1 + ABYTES + 4) /* bytes on the wire of an n-byte payload */

/* ---- two honest sessions ---- */

struct got {
	uint8_t type;
	size_t off, len; /* the payload, in end.data */
};

/* One side of a connection: its session, the bytes it has to send, what it received. */
struct end {
	struct ml_key *key;
	struct ml_session *s;
	struct ml_buf out;
	struct ml_buf err;
	int rc;    /* the first error the session returned, ML_OK if none */
	int peers; /* ML_SESSION_PEER events */
	size_t nframes;
	struct got frames[MAX_FRAMES];
	struct ml_buf data; /* the payloads received, concatenated */
};

static struct ml_hash net_id(uint8_t b)
{
	struct ml_hash h;
	memset(h.b, b, sizeof h.b);
	return h;
}

static struct end *end_new(enum ml_session_role role, uint8_t key, const struct ml_hash *net,
                           const struct ml_session_invite *inv)
{
	struct end *e = calloc(1, sizeof *e);
	assert_non_null(e);
	e->key = test_key(key);
	TEST_OK(&e->err, ml_session_new(role, e->key, net, inv, &e->out, &e->s));
	assert_non_null(e->s);
	assert_int_equal(e->out.len, ML_SESSION_HELLO_LEN);
	return e;
}

static void end_free(struct end *e)
{
	ml_session_free(e->s);
	ml_key_free(e->key);
	ml_buf_release(&e->out);
	ml_buf_release(&e->err);
	ml_buf_release(&e->data);
	free(e);
}

/* Takes events until NEED_MORE or an error (kept in e->rc); returns e->rc. */
static int drain(struct end *e)
{
	while (e->rc == ML_OK) {
		enum ml_session_event ev = ML_SESSION_FRAME;
		uint8_t type = 0;
		const uint8_t *p = NULL;
		size_t n = 0;
		int rc = ml_session_next(e->s, &e->out, &ev, &type, &p, &n, &e->err);
		if (rc != ML_OK) {
			e->rc = rc;
			break;
		}
		if (ev == ML_SESSION_NEED_MORE)
			break;
		if (ev == ML_SESSION_PEER) {
			e->peers++;
			assert_non_null(ml_session_peer(e->s));
			continue;
		}
		assert_int_equal(ev, ML_SESSION_FRAME);
		assert_int_equal(e->peers, 1); /* no frame before the peer proved its key */
		assert_true(e->nframes < MAX_FRAMES);
		e->frames[e->nframes++] = (struct got){type, e->data.len, n};
		assert_int_equal(ml_buf_add(&e->data, p, n), ML_OK);
	}
	return e->rc;
}

/* Feeds p[0..n) to e in pieces of `chunk` bytes (0: all at once), draining after each. */
static int feed(struct end *e, const uint8_t *p, size_t n, size_t chunk)
{
	size_t at = 0;
	while (at < n && e->rc == ML_OK) {
		size_t k = chunk && n - at > chunk ? chunk : n - at;
		int rc = ml_session_feed(e->s, p + at, k, &e->err);
		if (rc != ML_OK) {
			e->rc = rc;
			break;
		}
		at += k;
		drain(e);
	}
	return e->rc;
}

/* Moves everything `from` has to send into `to`; returns to's state. */
static int deliver(struct end *from, struct end *to, size_t chunk)
{
	struct ml_buf b = from->out;
	from->out = (struct ml_buf)ML_BUF_INIT;
	int rc = feed(to, b.data, b.len, chunk);
	ml_buf_release(&b);
	return rc;
}

/* Delivers both ways until neither side has anything to send or one failed. */
static void pump(struct end *a, struct end *b, size_t chunk)
{
	while ((a->out.len || b->out.len) && a->rc == ML_OK && b->rc == ML_OK) {
		deliver(a, b, chunk);
		deliver(b, a, chunk);
	}
}

/* An initiator (key 1) and a responder (key 2) of network 7, handshake done; their HELLOs'
 * ephemeral keys go to eph[0] and eph[1] unless eph is NULL. */
static void open_pair_eph(struct end **a, struct end **b, uint8_t (*eph)[32])
{
	struct ml_hash net = net_id(7);
	*a = end_new(ML_SESSION_INITIATOR, 1, &net, NULL);
	*b = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);
	if (eph) {
		memcpy(eph[0], (*a)->out.data + 37, 32);
		memcpy(eph[1], (*b)->out.data + 37, 32);
	}
	pump(*a, *b, 0);
	assert_int_equal((*a)->rc, ML_OK);
	assert_int_equal((*b)->rc, ML_OK);
	assert_int_equal((*a)->peers, 1);
	assert_int_equal((*b)->peers, 1);
}

static void open_pair(struct end **a, struct end **b)
{
	open_pair_eph(a, b, NULL);
}

/* Deterministic bytes for payload `seed`. */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = (seed * 2654435761u) | 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)(x >> 3);
	}
}

static void send_fill(struct end *e, uint8_t type, size_t n, uint32_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	fill(p, n, seed);
	TEST_OK(&e->err, ml_session_send(e->s, type, p, n, &e->out));
	free(p);
}

static void expect_frame(const struct end *e, size_t i, uint8_t type, size_t n, uint32_t seed)
{
	assert_true(i < e->nframes);
	assert_int_equal(e->frames[i].type, type);
	assert_int_equal(e->frames[i].len, n);
	if (!n)
		return;
	uint8_t *want = malloc(n);
	assert_non_null(want);
	fill(want, n, seed);
	assert_memory_equal(e->data.data + e->frames[i].off, want, n);
	free(want);
}

static void put_le32(uint8_t p[4], uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- a raw peer: the protocol spelled out with libsodium, for crafting attacks ---- */

struct raw {
	enum ml_session_role role;
	struct ml_hash net;
	uint8_t pk[crypto_kx_PUBLICKEYBYTES], sk[crypto_kx_SECRETKEYBYTES];
	uint8_t peer[crypto_kx_PUBLICKEYBYTES];
	uint8_t rx[crypto_kx_SESSIONKEYBYTES], tx[crypto_kx_SESSIONKEYBYTES];
	crypto_secretstream_xchacha20poly1305_state push, pull;
};

static void hello(uint8_t out[ML_SESSION_HELLO_LEN], uint8_t version, const struct ml_hash *net,
                  const uint8_t eph[32])
{
	memcpy(out, "MLS1", 4);
	out[4] = version;
	memcpy(out + 5, net->b, 32);
	memcpy(out + 37, eph, 32);
}

static void raw_init(struct raw *r, enum ml_session_role role, const struct ml_hash *net,
                     struct ml_buf *out)
{
	memset(r, 0, sizeof *r);
	r->role = role;
	r->net = *net;
	crypto_kx_keypair(r->pk, r->sk);
	uint8_t h[ML_SESSION_HELLO_LEN];
	hello(h, ML_SESSION_VERSION, net, r->pk);
	assert_int_equal(ml_buf_add(out, h, sizeof h), ML_OK);
}

/* Takes the peer's HELLO, derives the keys and appends our stream header to out. */
static void raw_keys(struct raw *r, const uint8_t *peer_hello, struct ml_buf *out)
{
	memcpy(r->peer, peer_hello + 37, 32);
	int rc = r->role == ML_SESSION_INITIATOR
	             ? crypto_kx_client_session_keys(r->rx, r->tx, r->pk, r->sk, r->peer)
	             : crypto_kx_server_session_keys(r->rx, r->tx, r->pk, r->sk, r->peer);
	assert_int_equal(rc, 0);
	uint8_t h[HEADERBYTES];
	crypto_secretstream_xchacha20poly1305_init_push(&r->push, h, r->tx);
	assert_int_equal(ml_buf_add(out, h, sizeof h), ML_OK);
}

static void raw_frame(struct raw *r, uint8_t tag, const uint8_t *plain, size_t n,
                      struct ml_buf *out)
{
	uint8_t le[4];
	put_le32(le, (uint32_t)(n + ABYTES));
	assert_int_equal(ml_buf_add(out, le, 4), ML_OK);
	assert_int_equal(ml_buf_reserve(out, n + ABYTES), ML_OK);
	crypto_secretstream_xchacha20poly1305_push(&r->push, out->data + out->len, NULL, plain, n,
	                                           NULL, 0, tag);
	out->len += n + ABYTES;
}

/* Decrypts the frame at p (avail bytes) into plain (cap bytes); returns the bytes it used. */
static size_t raw_open(struct raw *r, const uint8_t *p, size_t avail, uint8_t *plain, size_t cap,
                       size_t *plen)
{
	assert_true(avail >= 4);
	uint32_t clen = get_le32(p);
	assert_true(clen > ABYTES && clen - ABYTES <= cap && 4 + (size_t)clen <= avail);
	unsigned long long m;
	uint8_t tag = 0xff;
	assert_int_equal(crypto_secretstream_xchacha20poly1305_pull(&r->pull, plain, &m, &tag,
	                                                            p + 4, clen, NULL, 0),
	                 0);
	assert_int_equal(tag, TAG_MESSAGE);
	*plen = (size_t)m;
	return 4 + clen;
}

/* The transcript session.c signs: domain (with its NUL) | net | initiator's eph | responder's
 * eph | signer's role. */
static void raw_transcript(const struct raw *r, char signer, uint8_t out[32])
{
	static const char domain[] = "memberlog/session/v1";
	const uint8_t *ei = r->role == ML_SESSION_INITIATOR ? r->pk : r->peer;
	const uint8_t *er = r->role == ML_SESSION_INITIATOR ? r->peer : r->pk;
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, (const uint8_t *)domain, sizeof domain);
	crypto_generichash_update(&h, r->net.b, 32);
	crypto_generichash_update(&h, ei, 32);
	crypto_generichash_update(&h, er, 32);
	crypto_generichash_update(&h, (const uint8_t *)&signer, 1);
	crypto_generichash_final(&h, out, 32);
}

static char raw_role(const struct raw *r)
{
	return r->role == ML_SESSION_INITIATOR ? 'I' : 'R';
}

static char raw_peer_role(const struct raw *r)
{
	return r->role == ML_SESSION_INITIATOR ? 'R' : 'I';
}

/* HMAC-SHA512-256 keyed by the invite secret over domain (with its NUL) | transcript | key. */
static void raw_invite_mac(const struct raw *r, char signer, const struct ml_pubkey *device,
                           const uint8_t secret[ML_INVITE_KEY_BYTES], uint8_t out[32])
{
	static const char domain[] = "memberlog/invite/v1";
	uint8_t t[32];
	raw_transcript(r, signer, t);
	crypto_auth_hmacsha512256_state h;
	crypto_auth_hmacsha512256_init(&h, secret, ML_INVITE_KEY_BYTES);
	crypto_auth_hmacsha512256_update(&h, (const uint8_t *)domain, sizeof domain);
	crypto_auth_hmacsha512256_update(&h, t, 32);
	crypto_auth_hmacsha512256_update(&h, device->b, 32);
	crypto_auth_hmacsha512256_final(&h, out);
}

/* The AUTH plaintext device k would send as the raw peer, with an invite (id, secret) or not. */
static size_t raw_auth(const struct raw *r, const struct ml_key *k, const uint8_t *inv_id,
                       const uint8_t *inv_secret, uint8_t out[AUTH_INV])
{
	uint8_t t[32];
	raw_transcript(r, raw_role(r), t);
	struct ml_sig sig = ml_key_sign(k, t, sizeof t);
	out[0] = ML_MSG_AUTH;
	memcpy(out + 1, k->pk.b, 32);
	memcpy(out + 33, sig.b, 64);
	out[97] = inv_id != NULL;
	if (!inv_id)
		return AUTH_LEN;
	memcpy(out + AUTH_LEN, inv_id, ML_INVITE_ID_BYTES);
	raw_invite_mac(r, raw_role(r), &k->pk, inv_secret, out + AUTH_LEN + ML_INVITE_ID_BYTES);
	return AUTH_INV;
}

/* A raw peer connected to one honest session, which waits for the raw peer's first frame. */
struct rig {
	struct raw r;
	struct end *e;
	uint8_t auth[AUTH_INV]; /* the honest side's AUTH plaintext, decrypted by the raw peer */
	size_t auth_len;
};

static void rig_open(struct rig *g, enum ml_session_role raw_role_, uint8_t key,
                     const struct ml_hash *net, const struct ml_session_invite *inv)
{
	struct ml_buf to = ML_BUF_INIT;
	g->e =
	    end_new(raw_role_ == ML_SESSION_INITIATOR ? ML_SESSION_RESPONDER : ML_SESSION_INITIATOR,
	            key, net, inv);
	raw_init(&g->r, raw_role_, net, &to);
	assert_int_equal(feed(g->e, to.data, to.len, 0), ML_OK);
	ml_buf_reset(&to);
	/* the honest side's HELLO | stream header | AUTH frame */
	struct ml_buf from = g->e->out;
	g->e->out = (struct ml_buf)ML_BUF_INIT;
	assert_true(from.len > ML_SESSION_HELLO_LEN + HEADERBYTES);
	raw_keys(&g->r, from.data, &to);
	assert_int_equal(crypto_secretstream_xchacha20poly1305_init_pull(
	                     &g->r.pull, from.data + ML_SESSION_HELLO_LEN, g->r.rx),
	                 0);
	size_t at = ML_SESSION_HELLO_LEN + HEADERBYTES;
	at += raw_open(&g->r, from.data + at, from.len - at, g->auth, sizeof g->auth, &g->auth_len);
	assert_int_equal(at, from.len);
	assert_int_equal(feed(g->e, to.data, to.len, 0), ML_OK); /* our header */
	assert_true(ml_session_ready(g->e->s));
	assert_null(ml_session_peer(g->e->s));
	ml_buf_release(&to);
	ml_buf_release(&from);
}

/* Sends one frame of plaintext plain[0..n) with tag to the honest side; returns its state. */
static int rig_send(struct rig *g, uint8_t tag, const uint8_t *plain, size_t n)
{
	struct ml_buf b = ML_BUF_INIT;
	raw_frame(&g->r, tag, plain, n, &b);
	int rc = feed(g->e, b.data, b.len, 0);
	ml_buf_release(&b);
	return rc;
}

/* True when the AUTH plaintext p verifies as signed by signer over the raw peer's session. */
static bool auth_verifies(const struct raw *r, char signer, const uint8_t *p)
{
	struct ml_pubkey pk;
	struct ml_sig sig;
	memcpy(pk.b, p + 1, 32);
	memcpy(sig.b, p + 33, 64);
	uint8_t t[32];
	raw_transcript(r, signer, t);
	return ml_sig_verify(&pk, &sig, t, sizeof t);
}

/* ---- 1. handshake and framing ---- */

static void test_hello_and_state_before_the_peer(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	struct end *a = end_new(ML_SESSION_INITIATOR, 1, &net, NULL);
	/* HELLO = "MLS1" | version | network id | a fresh ephemeral key */
	assert_memory_equal(a->out.data, "MLS1", 4);
	assert_int_equal(a->out.data[4], ML_SESSION_VERSION);
	assert_memory_equal(a->out.data + 5, net.b, 32);
	static const uint8_t zero[32];
	assert_memory_not_equal(a->out.data + 37, zero, 32);
	struct end *a2 = end_new(ML_SESSION_INITIATOR, 1, &net, NULL);
	assert_memory_not_equal(a->out.data + 37, a2->out.data + 37, 32);

	/* nothing received: no keys, no peer, nothing to read, nothing may be sent */
	assert_false(ml_session_ready(a->s));
	assert_null(ml_session_peer(a->s));
	assert_false(ml_session_invite_ok(a->s, zero));
	size_t before = a->out.len;
	assert_int_equal(ml_session_send(a->s, ML_MSG_PING, "x", 1, &a->out), ML_EINVAL);
	assert_int_equal(ml_session_send(a->s, ML_MSG_OPS, NULL, 0, &a->out), ML_EINVAL);
	assert_int_equal(a->out.len, before);
	ml_session_free(NULL);
	end_free(a);
	end_free(a2);
}

static void test_handshake_both_sides_prove_their_key(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	struct end *a = end_new(ML_SESSION_INITIATOR, 1, &net, NULL);
	struct end *b = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);

	assert_int_equal(deliver(a, b, 0), ML_OK); /* a's HELLO */
	/* b answers with its HELLO, its stream header and its AUTH; its keys exist now */
	assert_int_equal(b->out.len, ML_SESSION_HELLO_LEN + HEADERBYTES + FRAME_WIRE(AUTH_LEN - 1));
	assert_true(ml_session_ready(b->s));
	assert_false(ml_session_ready(a->s));
	assert_int_equal(b->peers, 0);

	assert_int_equal(deliver(b, a, 0), ML_OK);
	assert_int_equal(a->peers, 1);
	assert_true(ml_session_ready(a->s));
	assert_int_equal(a->out.len, HEADERBYTES + FRAME_WIRE(AUTH_LEN - 1));
	assert_int_equal(deliver(a, b, 0), ML_OK);
	assert_int_equal(b->peers, 1);
	assert_int_equal(a->out.len, 0);
	assert_int_equal(b->out.len, 0);

	const struct ml_session_peer *pa = ml_session_peer(a->s), *pb = ml_session_peer(b->s);
	assert_non_null(pa);
	assert_non_null(pb);
	assert_memory_equal(pa->device.b, b->key->pk.b, 32);
	assert_memory_equal(pb->device.b, a->key->pk.b, 32);
	assert_false(pa->has_invite);
	assert_false(pb->has_invite);

	/* more traffic never repeats the PEER event */
	for (uint32_t i = 0; i < 5; i++) {
		send_fill(a, ML_MSG_PING, 10, i);
		send_fill(b, ML_MSG_PONG, 10, i);
	}
	pump(a, b, 0);
	assert_int_equal(a->peers, 1);
	assert_int_equal(b->peers, 1);
	assert_int_equal(a->nframes, 5);
	assert_int_equal(b->nframes, 5);
	end_free(a);
	end_free(b);
}

static const uint8_t types[] = {ML_MSG_ACCEPT, ML_MSG_REFUSE,    ML_MSG_RECON, ML_MSG_OPS,
                                ML_MSG_SYNCED, ML_MSG_PING,      ML_MSG_PONG,  ML_MSG_BLOB_WANT,
                                ML_MSG_BLOB,   ML_MSG_BLOB_NONE, ML_MSG_AUTH};

static void test_frames_of_every_size_both_ways(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 2, 31, 255, 256, 65535, 65536, ML_FRAME_MAX - 1, 0, 7};
	const size_t nsizes = sizeof sizes / sizeof sizes[0];
	struct end *a, *b;
	open_pair(&a, &b);
	for (size_t i = 0; i < nsizes; i++) {
		send_fill(a, types[i % sizeof types], sizes[i], (uint32_t)i);
		send_fill(b, types[(i + 3) % sizeof types], sizes[i], (uint32_t)(100 + i));
	}
	/* an empty payload may come as NULL */
	assert_int_equal(ml_session_send(a->s, ML_MSG_SYNCED, NULL, 0, &a->out), ML_OK);
	pump(a, b, 64u << 10);
	assert_int_equal(a->rc, ML_OK);
	assert_int_equal(b->rc, ML_OK);
	assert_int_equal(a->nframes, nsizes);
	assert_int_equal(b->nframes, nsizes + 1);
	expect_frame(b, nsizes, ML_MSG_SYNCED, 0, 0);
	for (size_t i = 0; i < nsizes; i++) {
		expect_frame(b, i, types[i % sizeof types], sizes[i], (uint32_t)i);
		expect_frame(a, i, types[(i + 3) % sizeof types], sizes[i], (uint32_t)(100 + i));
	}

	/* a payload of ML_FRAME_MAX bytes does not fit: refused, nothing written */
	uint8_t *big = calloc(1, (size_t)ML_FRAME_MAX + 1);
	assert_non_null(big);
	size_t before = a->out.len;
	assert_int_equal(ml_session_send(a->s, ML_MSG_OPS, big, ML_FRAME_MAX, &a->out), ML_EINVAL);
	assert_int_equal(ml_session_send(a->s, ML_MSG_OPS, big, ML_FRAME_MAX + 1, &a->out),
	                 ML_EINVAL);
	/* n + 1 must not wrap past the limit */
	assert_int_equal(ml_session_send(a->s, ML_MSG_OPS, big, SIZE_MAX, &a->out), ML_EINVAL);
	assert_int_equal(a->out.len, before);
	/* and the stream goes on as if nothing happened */
	send_fill(a, ML_MSG_PING, 3, 999);
	pump(a, b, 0);
	assert_int_equal(b->rc, ML_OK);
	expect_frame(b, nsizes + 1, ML_MSG_PING, 3, 999);
	free(big);
	end_free(a);
	end_free(b);
}

static void test_many_small_frames_in_one_feed(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	struct end *a = end_new(ML_SESSION_INITIATOR, 1, &net, NULL);
	struct end *b = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);
	assert_int_equal(deliver(a, b, 0), ML_OK);
	assert_int_equal(deliver(b, a, 0), ML_OK);
	/* a may send before b has read its AUTH: header, AUTH and 1000 frames go in one feed */
	for (uint32_t i = 0; i < 1000; i++)
		send_fill(a, types[i % sizeof types], i % 41, i);
	for (uint32_t i = 0; i < 1000; i++)
		send_fill(b, types[(i + 1) % sizeof types], i % 37, 5000 + i);
	assert_int_equal(deliver(a, b, 0), ML_OK);
	assert_int_equal(deliver(b, a, 0), ML_OK);
	assert_int_equal(b->peers, 1);
	assert_int_equal(b->nframes, 1000);
	assert_int_equal(a->nframes, 1000);
	for (uint32_t i = 0; i < 1000; i++) {
		expect_frame(b, i, types[i % sizeof types], i % 41, i);
		expect_frame(a, i, types[(i + 1) % sizeof types], i % 37, 5000 + i);
	}
	end_free(a);
	end_free(b);
}

static void test_everything_split_byte_by_byte(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 300, 70000, 2};
	struct ml_hash net = net_id(7);
	struct end *a = end_new(ML_SESSION_INITIATOR, 1, &net, NULL);
	struct end *b = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);
	pump(a, b, 1); /* the handshake itself, one byte per feed */
	assert_int_equal(a->rc, ML_OK);
	assert_int_equal(b->rc, ML_OK);
	assert_int_equal(a->peers, 1);
	assert_int_equal(b->peers, 1);
	for (size_t i = 0; i < 5; i++) {
		send_fill(a, ML_MSG_OPS, sizes[i], (uint32_t)i);
		send_fill(b, ML_MSG_BLOB, sizes[i], (uint32_t)(10 + i));
	}
	pump(a, b, 1);
	assert_int_equal(a->nframes, 5);
	assert_int_equal(b->nframes, 5);
	for (size_t i = 0; i < 5; i++) {
		expect_frame(b, i, ML_MSG_OPS, sizes[i], (uint32_t)i);
		expect_frame(a, i, ML_MSG_BLOB, sizes[i], (uint32_t)(10 + i));
	}
	end_free(a);
	end_free(b);
}

/* Megabytes through the input buffer, in reads of odd sizes that end inside frames. */
static void test_long_stream_in_odd_reads(void **state)
{
	(void)state;
	struct end *a, *b;
	open_pair(&a, &b);
	size_t total = 0;
	uint32_t x = 12345;
	for (uint32_t i = 0; i < 60; i++) {
		x = x * 1103515245u + 12345u;
		size_t n = i % 10 == 9 ? ML_FRAME_MAX - 1 : (x >> 8) % 150000;
		send_fill(a, ML_MSG_OPS, n, i);
		total += n;
	}
	assert_true(total > 4u * ML_FRAME_MAX);
	size_t at = 0;
	while (at < a->out.len) {
		x = x * 1103515245u + 12345u;
		size_t k = 1 + (x >> 8) % 200000;
		if (k > a->out.len - at)
			k = a->out.len - at;
		assert_int_equal(feed(b, a->out.data + at, k, 0), ML_OK);
		at += k;
	}
	x = 12345;
	assert_int_equal(b->nframes, 60);
	for (uint32_t i = 0; i < 60; i++) {
		x = x * 1103515245u + 12345u;
		size_t n = i % 10 == 9 ? ML_FRAME_MAX - 1 : (x >> 8) % 150000;
		expect_frame(b, i, ML_MSG_OPS, n, i);
	}
	end_free(a);
	end_free(b);
}

/* ---- 2. fresh keys ---- */

static void test_each_session_has_fresh_keys(void **state)
{
	(void)state;
	struct end *a1, *b1, *a2, *b2;
	uint8_t e1[2][32], e2[2][32];
	open_pair_eph(&a1, &b1, e1);
	open_pair_eph(&a2, &b2, e2); /* the same two devices, the same network */
	/* new ephemeral keys on both sides, so new crypto_kx session keys */
	assert_memory_not_equal(e1[0], e2[0], 32);
	assert_memory_not_equal(e1[1], e2[1], 32);
	assert_memory_not_equal(e1[0], e1[1], 32);
	/* the same frame encrypts differently (new keys; also a new secretstream header) */
	send_fill(a1, ML_MSG_PING, 16, 1);
	send_fill(a2, ML_MSG_PING, 16, 1);
	assert_int_equal(a1->out.len, FRAME_WIRE(16));
	assert_int_equal(a2->out.len, FRAME_WIRE(16));
	assert_memory_equal(a1->out.data, a2->out.data, 4); /* same length prefix */
	assert_memory_not_equal(a1->out.data + 4, a2->out.data + 4, FRAME_WIRE(16) - 4);
	/* and session 1's frame means nothing to session 2 */
	assert_int_equal(feed(b2, a1->out.data, a1->out.len, 0), ML_ECRYPT);
	assert_int_equal(b2->nframes, 0);
	assert_int_equal(deliver(a1, b1, 0), ML_OK);
	expect_frame(b1, 0, ML_MSG_PING, 16, 1);
	end_free(a1);
	end_free(b1);
	end_free(a2);
	end_free(b2);
}

/* ---- 3. the HELLO ---- */

static void test_wrong_network_refused_by_both(void **state)
{
	(void)state;
	struct ml_hash n1 = net_id(7), n2 = net_id(8);
	struct end *a = end_new(ML_SESSION_INITIATOR, 1, &n1, NULL);
	struct end *b = end_new(ML_SESSION_RESPONDER, 2, &n2, NULL);
	struct ml_buf ha = a->out, hb = b->out;
	a->out = b->out = (struct ml_buf)ML_BUF_INIT;
	assert_int_equal(feed(b, ha.data, ha.len, 0), ML_EWRONGNET);
	assert_int_equal(feed(a, hb.data, hb.len, 0), ML_EWRONGNET);
	assert_true(a->err.len > 0 && b->err.len > 0);
	/* nothing more was sent: no stream header, no AUTH */
	assert_int_equal(a->out.len, 0);
	assert_int_equal(b->out.len, 0);
	assert_false(ml_session_ready(a->s));
	assert_false(ml_session_ready(b->s));
	assert_null(ml_session_peer(a->s));
	ml_buf_release(&ha);
	ml_buf_release(&hb);
	end_free(a);
	end_free(b);
}

static void test_wrong_version_refused(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	static const uint8_t versions[] = {0, 2, 0xff};
	for (size_t i = 0; i < sizeof versions; i++) {
		struct end *b = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);
		uint8_t eph[32], h[ML_SESSION_HELLO_LEN];
		memset(eph, 9, sizeof eph);
		hello(h, versions[i], &net, eph);
		/* refused as soon as the version byte is in, not at byte 69 */
		assert_int_equal(feed(b, h, 4, 0), ML_OK);
		assert_int_equal(feed(b, h + 4, 1, 0), ML_EVERSION);
		assert_int_equal(b->out.len, ML_SESSION_HELLO_LEN); /* only its own HELLO */
		end_free(b);
	}
}

static void test_not_memberlog_refused_at_once(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	static const char *const junk[] = {
	    "GET / HTTP/1.1\r\nHost: example\r\n\r\n", "G", "\x16\x03\x01", "MLS2", "MLX", "mls1"};
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
		struct end *b = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);
		assert_int_equal(feed(b, (const uint8_t *)junk[i], strlen(junk[i]), 0),
		                 ML_EMALFORMED);
		assert_int_equal(b->out.len, ML_SESSION_HELLO_LEN);
		end_free(b);
	}
	/* a correct prefix waits for more */
	struct end *b = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);
	assert_int_equal(feed(b, (const uint8_t *)"MLS1\x01", 5, 1), ML_OK);
	assert_false(ml_session_ready(b->s));
	end_free(b);
}

static void test_unusable_ephemeral_key_refused(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	uint8_t eph[2][32] = {{0}, {1}}; /* zero, and a point of small order: no shared secret */
	for (size_t i = 0; i < 2; i++) {
		struct end *b = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);
		uint8_t h[ML_SESSION_HELLO_LEN];
		hello(h, ML_SESSION_VERSION, &net, eph[i]);
		assert_int_equal(feed(b, h, sizeof h, 0), ML_ECRYPT);
		assert_false(ml_session_ready(b->s));
		end_free(b);
	}
}

/* A device talking to itself (its bytes reflected back) reads its own frames with the other
 * direction's key: the frames do not open. */
static void test_reflected_session_fails(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	struct end *a = end_new(ML_SESSION_INITIATOR, 1, &net, NULL);
	pump(a, a, 0);
	assert_int_equal(a->rc, ML_ECRYPT);
	assert_int_equal(a->peers, 0);
	end_free(a);
}

/* ---- 4. tampering ---- */

static void test_any_flipped_bit_is_caught(void **state)
{
	(void)state;
	const size_t wire = FRAME_WIRE(5);
	for (size_t i = 0; i < wire; i++) {
		struct end *a, *b;
		open_pair(&a, &b);
		send_fill(a, ML_MSG_PING, 5, 3);
		assert_int_equal(a->out.len, wire);
		a->out.data[i] ^= (uint8_t)(1u << (i % 8));
		int rc = deliver(a, b, 0);
		if (i >= 4)
			assert_int_equal(rc, ML_ECRYPT); /* the ciphertext or its tag */
		else if (i == 0)
			assert_int_equal(rc,
			                 ML_ECRYPT); /* a length one shorter: the tag is wrong */
		else
			assert_true(rc == ML_OK ||
			            rc == ML_EMALFORMED); /* longer: waits, or too long */
		assert_int_equal(b->nframes, 0);
		end_free(a);
		end_free(b);
	}
	/* the handshake's own bytes: a's stream header, a's AUTH frame */
	for (size_t at = 0; at < HEADERBYTES + FRAME_WIRE(AUTH_LEN - 1); at += 7) {
		struct ml_hash net = net_id(7);
		struct end *a = end_new(ML_SESSION_INITIATOR, 1, &net, NULL);
		struct end *b = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);
		assert_int_equal(deliver(a, b, 0), ML_OK);
		assert_int_equal(deliver(b, a, 0), ML_OK);
		if (at < HEADERBYTES || at >= HEADERBYTES + 4) {
			a->out.data[at] ^= 0x10;
			assert_int_equal(deliver(a, b, 0), ML_ECRYPT);
		}
		assert_int_equal(b->peers, 0);
		end_free(a);
		end_free(b);
	}
}

enum cut { DROP, REPLAY, REORDER, BACKWARDS };

static void frames_out_of_order(enum cut how)
{
	struct end *a, *b;
	open_pair(&a, &b);
	struct ml_buf f[3];
	for (uint32_t i = 0; i < 3; i++) {
		send_fill(a, ML_MSG_OPS, 20, i);
		f[i] = a->out;
		a->out = (struct ml_buf)ML_BUF_INIT;
	}
	switch (how) {
	case DROP: /* f0 lost */
		assert_int_equal(feed(b, f[1].data, f[1].len, 0), ML_ECRYPT);
		assert_int_equal(b->nframes, 0);
		break;
	case REPLAY: /* f0 twice */
		assert_int_equal(feed(b, f[0].data, f[0].len, 0), ML_OK);
		assert_int_equal(feed(b, f[0].data, f[0].len, 0), ML_ECRYPT);
		assert_int_equal(b->nframes, 1);
		expect_frame(b, 0, ML_MSG_OPS, 20, 0);
		break;
	case REORDER: /* f0, f2, f1 */
		assert_int_equal(feed(b, f[0].data, f[0].len, 0), ML_OK);
		assert_int_equal(feed(b, f[2].data, f[2].len, 0), ML_ECRYPT);
		assert_int_equal(b->nframes, 1);
		break;
	case BACKWARDS: /* b's own frame sent back to it */
		send_fill(b, ML_MSG_OPS, 20, 0);
		assert_int_equal(feed(b, b->out.data, b->out.len, 0), ML_ECRYPT);
		assert_int_equal(b->nframes, 0);
		break;
	}
	for (size_t i = 0; i < 3; i++)
		ml_buf_release(&f[i]);
	end_free(a);
	end_free(b);
}

static void test_dropped_frame_caught(void **state)
{
	(void)state;
	frames_out_of_order(DROP);
}

static void test_replayed_frame_caught(void **state)
{
	(void)state;
	frames_out_of_order(REPLAY);
}

static void test_reordered_frames_caught(void **state)
{
	(void)state;
	frames_out_of_order(REORDER);
}

static void test_frame_sent_back_caught(void **state)
{
	(void)state;
	frames_out_of_order(BACKWARDS);
}

/* The length prefix is judged on its 4 bytes, before any ciphertext arrives. */
static void test_length_prefix_bounds(void **state)
{
	(void)state;
	static const struct {
		uint32_t len;
		int rc;
	} cases[] = {
	    {0, ML_EMALFORMED},
	    {1, ML_EMALFORMED},
	    {ABYTES, ML_EMALFORMED},        /* no room for the type byte */
	    {ABYTES + 1, ML_OK},            /* an empty payload: waits for it */
	    {ML_FRAME_MAX + ABYTES, ML_OK}, /* the largest frame */
	    {ML_FRAME_MAX + ABYTES + 1, ML_EMALFORMED},
	    {0x7fffffffu, ML_EMALFORMED},
	    {0xffffffffu, ML_EMALFORMED},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (int during_auth = 0; during_auth < 2; during_auth++) {
			struct ml_hash net = net_id(7);
			struct end *a = end_new(ML_SESSION_INITIATOR, 1, &net, NULL);
			struct end *b = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);
			assert_int_equal(deliver(a, b, 0), ML_OK);
			assert_int_equal(deliver(b, a, 0), ML_OK);
			if (during_auth) /* in place of a's AUTH frame */
				a->out.len = HEADERBYTES;
			assert_int_equal(deliver(a, b, 0), ML_OK);
			assert_int_equal(b->peers, !during_auth);
			uint8_t le[4];
			put_le32(le, cases[i].len);
			assert_int_equal(feed(b, le, 4, 0), cases[i].rc);
			assert_int_equal(b->nframes, 0);
			end_free(a);
			end_free(b);
		}
	}
}

/* ---- 5. authentication ---- */

/* A relay that swaps the ephemeral keys in both HELLOs and passes the rest on unchanged. */
static void test_mitm_swapping_ephemeral_keys_fails(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	struct end *a = end_new(ML_SESSION_INITIATOR, 1, &net, NULL);
	struct end *b = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);
	uint8_t m1[32], m2[32], msk[32];
	crypto_kx_keypair(m1, msk);
	crypto_kx_keypair(m2, msk);
	memcpy(a->out.data + 37, m1, 32);
	assert_int_equal(deliver(a, b, 0), ML_OK);
	memcpy(b->out.data + 37, m2, 32);
	/*
	 * b's stream is keyed to (m1, b) and a's to (a, m2): neither key pair is
	 * the other's, so the first frame each way (the AUTH) does not even
	 * decrypt: ML_ECRYPT, before any signature is looked at.  The relay has no
	 * key to re-encrypt with; the test below gives it one.
	 */
	assert_int_equal(deliver(b, a, 0), ML_ECRYPT);
	assert_int_equal(deliver(a, b, 0), ML_ECRYPT);
	assert_int_equal(a->peers, 0);
	assert_int_equal(b->peers, 0);
	end_free(a);
	end_free(b);
}

/* A man in the middle with its own ephemeral keys towards each side, re-encrypting each
 * side's AUTH for the other. */
static void test_mitm_reencrypting_auth_fails(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	struct rig ga, gb;
	rig_open(&ga, ML_SESSION_RESPONDER, 1, &net, NULL); /* M poses as responder to a */
	rig_open(&gb, ML_SESSION_INITIATOR, 2, &net, NULL); /* and as initiator to b */
	/* M reads each side's AUTH; each is a valid signature, but over M's session with it */
	assert_int_equal(ga.auth_len, AUTH_LEN);
	assert_memory_equal(ga.auth + 1, ga.e->key->pk.b, 32);
	assert_true(auth_verifies(&ga.r, 'I', ga.auth));
	assert_true(auth_verifies(&gb.r, 'R', gb.auth));
	assert_false(auth_verifies(&gb.r, 'I', ga.auth));
	/*
	 * Re-encrypted, the AUTH frames decrypt (M holds both sessions' keys),
	 * so what fails is the signature: a signed (net, a's eph, M's eph to a,
	 * 'I') and b checks it against (net, M's eph to b, b's eph, 'I').
	 */
	assert_int_equal(rig_send(&gb, TAG_MESSAGE, ga.auth, ga.auth_len), ML_EBADSIG);
	assert_int_equal(rig_send(&ga, TAG_MESSAGE, gb.auth, gb.auth_len), ML_EBADSIG);
	assert_int_equal(ga.e->peers, 0);
	assert_int_equal(gb.e->peers, 0);
	assert_null(ml_session_peer(gb.e->s));
	end_free(ga.e);
	end_free(gb.e);
}

/* The whole byte stream of a's side recorded and replayed to b later. */
static void test_recorded_handshake_replay_fails(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	struct end *a = end_new(ML_SESSION_INITIATOR, 1, &net, NULL);
	struct end *b = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);
	struct ml_buf rec = ML_BUF_INIT;
	assert_int_equal(ml_buf_add(&rec, a->out.data, a->out.len), ML_OK);
	assert_int_equal(deliver(a, b, 0), ML_OK);
	assert_int_equal(deliver(b, a, 0), ML_OK);
	send_fill(a, ML_MSG_OPS, 40, 1);
	assert_int_equal(ml_buf_add(&rec, a->out.data, a->out.len), ML_OK);
	assert_int_equal(deliver(a, b, 0), ML_OK);
	assert_int_equal(b->peers, 1);
	assert_int_equal(b->nframes, 1);
	/* b's new session has a new ephemeral key: a's recorded stream is keyed to the old one */
	struct end *b2 = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);
	assert_int_equal(feed(b2, rec.data, rec.len, 0), ML_ECRYPT);
	assert_int_equal(b2->peers, 0);
	assert_int_equal(b2->nframes, 0);
	ml_buf_release(&rec);
	end_free(a);
	end_free(b);
	end_free(b2);
}

/* An AUTH captured in one session (by a peer that could read it) and presented in another. */
static void test_auth_from_another_session_fails(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	struct rig g1, g2, g3;
	rig_open(&g1, ML_SESSION_RESPONDER, 1, &net, NULL); /* M learns a's AUTH */
	/* then claims to be a to b, in a's role (initiator): only the ephemeral keys differ */
	rig_open(&g2, ML_SESSION_INITIATOR, 2, &net, NULL);
	assert_int_equal(rig_send(&g2, TAG_MESSAGE, g1.auth, g1.auth_len), ML_EBADSIG);
	assert_int_equal(g2.e->peers, 0);
	/* or as a responder, to another device */
	rig_open(&g3, ML_SESSION_RESPONDER, 3, &net, NULL);
	assert_int_equal(rig_send(&g3, TAG_MESSAGE, g1.auth, g1.auth_len), ML_EBADSIG);
	/* M's own key, honestly signed, is accepted: the failure above is the replay */
	struct ml_key *m = test_key(9);
	uint8_t auth[AUTH_INV];
	struct rig g4;
	rig_open(&g4, ML_SESSION_INITIATOR, 2, &net, NULL);
	size_t n = raw_auth(&g4.r, m, NULL, NULL, auth);
	assert_int_equal(rig_send(&g4, TAG_MESSAGE, auth, n), ML_OK);
	assert_int_equal(g4.e->peers, 1);
	assert_memory_equal(ml_session_peer(g4.e->s)->device.b, m->pk.b, 32);
	ml_key_free(m);
	end_free(g1.e);
	end_free(g2.e);
	end_free(g3.e);
	end_free(g4.e);
}

/* Controls for the raw peer (so the failures elsewhere are the session's doing), then AUTH
 * frames that are not right. */
static void test_first_frame_must_be_a_valid_auth(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	struct ml_key *m = test_key(9), *other = test_key(10);
	uint8_t auth[AUTH_INV + 1];
	struct rig g;

	/* control: a correct AUTH, then frames both ways, as initiator and as responder */
	for (int resp = 0; resp < 2; resp++) {
		rig_open(&g, resp ? ML_SESSION_RESPONDER : ML_SESSION_INITIATOR, 2, &net, NULL);
		assert_true(auth_verifies(&g.r, raw_peer_role(&g.r), g.auth));
		size_t n = raw_auth(&g.r, m, NULL, NULL, auth);
		assert_int_equal(rig_send(&g, TAG_MESSAGE, auth, n), ML_OK);
		assert_int_equal(g.e->peers, 1);
		uint8_t ping[] = {ML_MSG_PING, 'h', 'i'};
		assert_int_equal(rig_send(&g, TAG_MESSAGE, ping, sizeof ping), ML_OK);
		assert_int_equal(g.e->nframes, 1);
		assert_int_equal(g.e->frames[0].type, ML_MSG_PING);
		assert_memory_equal(g.e->data.data, "hi", 2);
		send_fill(g.e, ML_MSG_PONG, 2, 0);
		uint8_t plain[8];
		size_t plen;
		assert_int_equal(
		    raw_open(&g.r, g.e->out.data, g.e->out.len, plain, sizeof plain, &plen),
		    g.e->out.len);
		assert_int_equal(plen, 3);
		assert_int_equal(plain[0], ML_MSG_PONG);
		/* a stream the sender marks final is not a session's: refused */
		assert_int_equal(rig_send(&g, TAG_FINAL, ping, sizeof ping), ML_ECRYPT);
		assert_int_equal(g.e->nframes, 1);
		end_free(g.e);
	}

	/* a first frame that is not AUTH */
	rig_open(&g, ML_SESSION_INITIATOR, 2, &net, NULL);
	uint8_t ping[] = {ML_MSG_PING, 1, 2, 3};
	assert_int_equal(rig_send(&g, TAG_MESSAGE, ping, sizeof ping), ML_EMALFORMED);
	end_free(g.e);
	/* ... even one that is AUTH-sized */
	rig_open(&g, ML_SESSION_INITIATOR, 2, &net, NULL);
	raw_auth(&g.r, m, NULL, NULL, auth);
	auth[0] = ML_MSG_OPS;
	assert_int_equal(rig_send(&g, TAG_MESSAGE, auth, AUTH_LEN), ML_EMALFORMED);
	end_free(g.e);

	/* AUTH of the wrong shape: the flag byte must say whether an invite follows */
	static const struct {
		size_t len; /* plaintext length sent */
		int flag;   /* byte 97, -1: leave raw_auth's */
		bool invite;
	} shapes[] = {
	    {1, -1, false},            /* the type byte alone */
	    {AUTH_LEN - 1, -1, false}, /* one byte short */
	    {AUTH_LEN + 1, -1, false}, /* one byte long */
	    {AUTH_LEN, 1, false},      /* says invite, has none */
	    {AUTH_LEN, 2, false},      /* neither 0 nor 1 */
	    {AUTH_INV, 0, true},       /* has an invite, says none */
	    {AUTH_INV, 2, true},
	    {AUTH_INV - 1, -1, true},
	    {AUTH_INV + 1, -1, true},
	};
	static const uint8_t inv_id[ML_INVITE_ID_BYTES] = {1, 2, 3};
	static const uint8_t inv_secret[ML_INVITE_KEY_BYTES] = {4, 5, 6};
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		rig_open(&g, ML_SESSION_INITIATOR, 2, &net, NULL);
		memset(auth, 0, sizeof auth);
		raw_auth(&g.r, m, shapes[i].invite ? inv_id : NULL, inv_secret, auth);
		if (shapes[i].flag >= 0)
			auth[97] = (uint8_t)shapes[i].flag;
		assert_int_equal(rig_send(&g, TAG_MESSAGE, auth, shapes[i].len), ML_EMALFORMED);
		assert_int_equal(g.e->peers, 0);
		end_free(g.e);
	}

	/* well formed, but the key it names did not sign it */
	rig_open(&g, ML_SESSION_INITIATOR, 2, &net, NULL);
	raw_auth(&g.r, other, NULL, NULL, auth);
	memcpy(auth + 1, m->pk.b, 32);
	assert_int_equal(rig_send(&g, TAG_MESSAGE, auth, AUTH_LEN), ML_EBADSIG);
	end_free(g.e);
	/* signed over this session, but as the other role (a reflected AUTH) */
	rig_open(&g, ML_SESSION_INITIATOR, 2, &net, NULL);
	uint8_t t[32];
	raw_transcript(&g.r, 'R', t);
	raw_auth(&g.r, m, NULL, NULL, auth);
	struct ml_sig sig = ml_key_sign(m, t, sizeof t);
	memcpy(auth + 33, sig.b, 64);
	assert_int_equal(rig_send(&g, TAG_MESSAGE, auth, AUTH_LEN), ML_EBADSIG);
	end_free(g.e);
	/* one flipped signature bit */
	rig_open(&g, ML_SESSION_INITIATOR, 2, &net, NULL);
	raw_auth(&g.r, m, NULL, NULL, auth);
	auth[40] ^= 1;
	assert_int_equal(rig_send(&g, TAG_MESSAGE, auth, AUTH_LEN), ML_EBADSIG);
	assert_null(ml_session_peer(g.e->s));
	end_free(g.e);
	ml_key_free(m);
	ml_key_free(other);
}

/* ---- 6. invites ---- */

static const uint8_t invite_id[ML_INVITE_ID_BYTES] = {0xa1, 0xa2, 0xa3, 0xa4, 5,  6,  7,  8,
                                                      9,    10,   11,   12,   13, 14, 15, 16};
static const uint8_t invite_secret[ML_INVITE_KEY_BYTES] = {
    0x5e, 0xc2, 0xe7, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13,
    14,   15,   16,   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29};

static void test_invite_seen_and_checked(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	struct ml_session_invite inv = {invite_id, invite_secret};
	uint8_t wrong[ML_INVITE_KEY_BYTES];
	memcpy(wrong, invite_secret, sizeof wrong);
	wrong[31] ^= 0x80;
	static const uint8_t zero[ML_INVITE_KEY_BYTES];

	for (int joiner_responds = 0; joiner_responds < 2; joiner_responds++) {
		struct end *j, *r; /* the joiner and the member it joins through */
		if (!joiner_responds) {
			j = end_new(ML_SESSION_INITIATOR, 3, &net, &inv);
			r = end_new(ML_SESSION_RESPONDER, 1, &net, NULL);
		} else {
			r = end_new(ML_SESSION_INITIATOR, 1, &net, NULL);
			j = end_new(ML_SESSION_RESPONDER, 3, &net, &inv);
		}
		assert_false(ml_session_invite_ok(r->s, invite_secret)); /* no peer yet */
		pump(j, r, 0);
		assert_int_equal(j->rc, ML_OK);
		assert_int_equal(r->rc, ML_OK);
		const struct ml_session_peer *p = ml_session_peer(r->s);
		assert_non_null(p);
		assert_memory_equal(p->device.b, j->key->pk.b, 32);
		assert_true(p->has_invite);
		assert_memory_equal(p->invite_id, invite_id, ML_INVITE_ID_BYTES);
		assert_true(ml_session_invite_ok(r->s, invite_secret));
		assert_false(ml_session_invite_ok(r->s, wrong));
		assert_false(ml_session_invite_ok(r->s, zero));
		/* the joiner's side: the member presented no invite */
		assert_false(ml_session_peer(j->s)->has_invite);
		assert_false(ml_session_invite_ok(j->s, invite_secret));
		/* and the session works as any other */
		send_fill(r, ML_MSG_ACCEPT, 0, 0);
		pump(j, r, 0);
		expect_frame(j, 0, ML_MSG_ACCEPT, 0, 0);
		end_free(j);
		end_free(r);
	}

	/* no invite at all */
	struct end *a, *b;
	open_pair(&a, &b);
	assert_false(ml_session_invite_ok(b->s, invite_secret));
	assert_false(ml_session_invite_ok(b->s, zero));
	end_free(a);
	end_free(b);
}

/* An invite proof read in one session (by a member, or a fake member) and presented again. */
static void test_invite_proof_bound_to_key_and_session(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	struct ml_session_invite inv = {invite_id, invite_secret};
	struct ml_key *j = test_key(3), *k = test_key(9);
	uint8_t auth[AUTH_INV];
	struct rig g;

	/* session 1: the joiner (key 3) to M, which keeps the proof */
	struct rig g1;
	rig_open(&g1, ML_SESSION_RESPONDER, 3, &net, &inv);
	assert_int_equal(g1.auth_len, AUTH_INV);
	assert_int_equal(g1.auth[97], 1);
	assert_memory_equal(g1.auth + AUTH_LEN, invite_id, ML_INVITE_ID_BYTES);
	uint8_t stolen[32], want[32];
	memcpy(stolen, g1.auth + AUTH_LEN + ML_INVITE_ID_BYTES, 32);
	raw_invite_mac(&g1.r, 'I', &j->pk, invite_secret, want); /* the mirror is right */
	assert_memory_equal(stolen, want, 32);

	/* control: a fresh, correct proof by key 9 is accepted */
	rig_open(&g, ML_SESSION_INITIATOR, 1, &net, NULL);
	size_t n = raw_auth(&g.r, k, invite_id, invite_secret, auth);
	assert_int_equal(rig_send(&g, TAG_MESSAGE, auth, n), ML_OK);
	assert_true(ml_session_invite_ok(g.e->s, invite_secret));
	end_free(g.e);

	/* another device (key 9) presenting the stolen proof: its own signature is fine, the
	 * proof is not */
	rig_open(&g, ML_SESSION_INITIATOR, 1, &net, NULL);
	raw_auth(&g.r, k, invite_id, invite_secret, auth);
	memcpy(auth + AUTH_LEN + ML_INVITE_ID_BYTES, stolen, 32);
	assert_int_equal(rig_send(&g, TAG_MESSAGE, auth, AUTH_INV), ML_OK);
	assert_true(ml_session_peer(g.e->s)->has_invite);
	assert_false(ml_session_invite_ok(g.e->s, invite_secret));
	end_free(g.e);

	/* the joiner's own key in a new session, with the old proof */
	rig_open(&g, ML_SESSION_INITIATOR, 1, &net, NULL);
	raw_auth(&g.r, j, invite_id, invite_secret, auth);
	memcpy(auth + AUTH_LEN + ML_INVITE_ID_BYTES, stolen, 32);
	assert_int_equal(rig_send(&g, TAG_MESSAGE, auth, AUTH_INV), ML_OK);
	assert_memory_equal(ml_session_peer(g.e->s)->device.b, j->pk.b, 32);
	assert_false(ml_session_invite_ok(g.e->s, invite_secret));
	end_free(g.e);

	/* a proof made in this session but for another device key */
	rig_open(&g, ML_SESSION_INITIATOR, 1, &net, NULL);
	raw_auth(&g.r, k, invite_id, invite_secret, auth);
	raw_invite_mac(&g.r, 'I', &j->pk, invite_secret, auth + AUTH_LEN + ML_INVITE_ID_BYTES);
	assert_int_equal(rig_send(&g, TAG_MESSAGE, auth, AUTH_INV), ML_OK);
	assert_false(ml_session_invite_ok(g.e->s, invite_secret));
	end_free(g.e);

	/* a proof made for this session and key but as the other role */
	rig_open(&g, ML_SESSION_INITIATOR, 1, &net, NULL);
	raw_auth(&g.r, k, invite_id, invite_secret, auth);
	raw_invite_mac(&g.r, 'R', &k->pk, invite_secret, auth + AUTH_LEN + ML_INVITE_ID_BYTES);
	assert_int_equal(rig_send(&g, TAG_MESSAGE, auth, AUTH_INV), ML_OK);
	assert_false(ml_session_invite_ok(g.e->s, invite_secret));
	end_free(g.e);

	end_free(g1.e);
	ml_key_free(j);
	ml_key_free(k);
}

/* ---- 7. back-pressure ---- */

static void test_feed_refuses_an_undrained_flood(void **state)
{
	(void)state;
	struct end *a, *b;
	open_pair(&a, &b);
	const size_t small = 32u << 10;
	send_fill(a, ML_MSG_BLOB, ML_FRAME_MAX - 1, 0);
	for (uint32_t i = 1; i <= 40; i++)
		send_fill(a, ML_MSG_BLOB, small, i);
	/* b's caller feeds 16 KiB reads and never calls ml_session_next */
	size_t at = 0;
	int rc = ML_OK;
	while (at < a->out.len) {
		size_t k = a->out.len - at < (16u << 10) ? a->out.len - at : (16u << 10);
		rc = ml_session_feed(b->s, a->out.data + at, k, &b->err);
		if (rc != ML_OK)
			break;
		at += k;
	}
	assert_int_equal(rc, ML_ETOOBIG);
	/* the largest frame and a 64 KiB read beyond it fit; a second megabyte does not */
	assert_true(at >= FRAME_WIRE(ML_FRAME_MAX - 1) + (64u << 10));
	assert_true(at < 2 * FRAME_WIRE(ML_FRAME_MAX - 1));
	/* what was taken is intact (the refused read was not half-added) */
	assert_int_equal(drain(b), ML_OK);
	size_t whole = (at - FRAME_WIRE(ML_FRAME_MAX - 1)) / FRAME_WIRE(small);
	assert_int_equal(b->nframes, 1 + whole);
	expect_frame(b, 0, ML_MSG_BLOB, ML_FRAME_MAX - 1, 0);
	/* drained, it takes the rest */
	assert_int_equal(feed(b, a->out.data + at, a->out.len - at, 16u << 10), ML_OK);
	assert_int_equal(b->nframes, 41);
	for (uint32_t i = 1; i <= 40; i++)
		expect_frame(b, i, ML_MSG_BLOB, small, i);
	end_free(a);
	end_free(b);
}

/* ---- the contract at the edges ---- */

/* session.h: ml_session_send is ML_EINVAL before the keys exist, whatever the type.  An AUTH
 * sent then would be sealed with an all-zero stream state, readable by anyone. */
static void test_send_before_keys_refused_for_every_type(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	struct end *a = end_new(ML_SESSION_INITIATOR, 1, &net, NULL);
	for (unsigned t = 0; t < 256; t++) {
		size_t before = a->out.len;
		int rc = ml_session_send(a->s, (uint8_t)t, "secret", 6, &a->out);
		if (rc != ML_EINVAL)
			fail_msg("type %u before the keys: %s, %zu bytes written", t,
			         ml_err_name(rc), a->out.len - before);
		assert_int_equal(a->out.len, before);
	}
	end_free(a);
}

/* A caller that asks for events before any byte arrived gets NEED_MORE (the ASan/UBSan build
 * checks this is done without touching the empty input's NULL buffer). */
static void test_next_before_any_input(void **state)
{
	(void)state;
	struct ml_hash net = net_id(7);
	struct end *b = end_new(ML_SESSION_RESPONDER, 2, &net, NULL);
	enum ml_session_event ev = ML_SESSION_FRAME;
	uint8_t type;
	const uint8_t *p;
	size_t n;
	assert_int_equal(ml_session_next(b->s, &b->out, &ev, &type, &p, &n, &b->err), ML_OK);
	assert_int_equal(ev, ML_SESSION_NEED_MORE);
	assert_int_equal(b->out.len, ML_SESSION_HELLO_LEN);
	end_free(b);
}

int main(void)
{
	ml_crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_and_state_before_the_peer),
	    cmocka_unit_test(test_handshake_both_sides_prove_their_key),
	    cmocka_unit_test(test_frames_of_every_size_both_ways),
	    cmocka_unit_test(test_many_small_frames_in_one_feed),
	    cmocka_unit_test(test_everything_split_byte_by_byte),
	    cmocka_unit_test(test_long_stream_in_odd_reads),
	    cmocka_unit_test(test_each_session_has_fresh_keys),
	    cmocka_unit_test(test_wrong_network_refused_by_both),
	    cmocka_unit_test(test_wrong_version_refused),
	    cmocka_unit_test(test_not_memberlog_refused_at_once),
	    cmocka_unit_test(test_unusable_ephemeral_key_refused),
	    cmocka_unit_test(test_reflected_session_fails),
	    cmocka_unit_test(test_any_flipped_bit_is_caught),
	    cmocka_unit_test(test_dropped_frame_caught),
	    cmocka_unit_test(test_replayed_frame_caught),
	    cmocka_unit_test(test_reordered_frames_caught),
	    cmocka_unit_test(test_frame_sent_back_caught),
	    cmocka_unit_test(test_length_prefix_bounds),
	    cmocka_unit_test(test_mitm_swapping_ephemeral_keys_fails),
	    cmocka_unit_test(test_mitm_reencrypting_auth_fails),
	    cmocka_unit_test(test_recorded_handshake_replay_fails),
	    cmocka_unit_test(test_auth_from_another_session_fails),
	    cmocka_unit_test(test_first_frame_must_be_a_valid_auth),
	    cmocka_unit_test(test_invite_seen_and_checked),
	    cmocka_unit_test(test_invite_proof_bound_to_key_and_session),
	    cmocka_unit_test(test_feed_refuses_an_undrained_flood),
	    cmocka_unit_test(test_send_before_keys_refused_for_every_type),
	    cmocka_unit_test(test_next_before_any_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
