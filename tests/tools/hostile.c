/*
 * hostile.c - a misbehaving peer, for tests/integ/t0007-hostile.sh.
 *
 *   hostile MODE HOST:PORT --network HEX [--key FILE] [--ops FILE] [--seconds N] [--count N]
 *           [--hangup] [--then-garbage]
 *
 * Connects to a running `memberlog serve` and misbehaves as MODE says
 * (docs/PROTOCOL.md §12.5).  Prints one line with what happened and exits 0
 * when the node reacted as the protocol says (for most modes: it closed the
 * connection within a bounded time), 1 when it did not, 2 on a usage or
 * local error.
 *
 *   garbage         "GET / HTTP/1.1" instead of a HELLO: closed at once
 *   wrong-network   a HELLO with another network id: closed at once
 *   bad-version     a HELLO with version byte 2: closed at once
 *   slowloris       a valid HELLO, then one byte every 500 ms: closed by the
 *                   handshake timeout (10 s), within 15 s
 *   unknown-device  a fresh key with no grant: REFUSE (its reason printed), closed
 *   oversize        known device (--key): a frame header of 2 MiB: closed
 *   tamper          known device: a PING frame with one ciphertext bit flipped: closed
 *   forged-ops      known device: an OPS frame holding an op whose signature
 *                   is wrong (the last signed op of --ops FILE, a bundle or a
 *                   file of ops, with a signature byte flipped; without
 *                   --ops, an op built here): closed
 *   flood           known device: PING frames as fast as possible for up to
 *                   3 s: closed for flooding
 *   no-read         known device: for --seconds (3), rounds with an empty set,
 *                   each making the node send every op it may send us, while
 *                   never reading: exit 0 if the node kept the connection
 *                   (the test checks the node's health and memory)
 *   unsigned-ops    known device: --count N (2000) unsigned ops, each
 *                   the first of a feed of a fresh author key, so none can fail
 *                   verification; exit 0 when the node then still answers a
 *                   PING (or closed the connection).  With --hangup: closes
 *                   the connection right after the last frame instead (the
 *                   test checks the node took every op it was sent).  With
 *                   --then-garbage: an OPS frame of junk bytes after them:
 *                   exit 0 when the node closes the connection
 *   accepted        known device: ACCEPT, and a PING is answered by its PONG
 *   banned          known device: REFUSE with a reason saying it misbehaved
 *   photo-tamper    known device: a round, the ops of --ops FILE (a clear
 *                   bundle), SYNCED; the node then asks for the photos those
 *                   ops name, and gets bytes that do not hash to the name:
 *                   closed
 *   photo-want      known device: BLOB_WANT for --hash HEX; prints "given N
 *                   bytes" (when they hash to HEX) or "declined"; exit 0
 *                   either way, 1 on anything else
 *   photo-unasked   known device: a BLOB nobody asked for: closed
 */
#include "crdt/alloc.h"
#include "crdt/audit.h"
#include "crdt/buf.h"
#include "crdt/err.h"
#include "crdt/key.h"
#include "crdt/op.h"
#include "crdt/types.h"
#include "net/recon.h"
#include "net/session.h"
#include "node/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_AS_SAID = 0, EXIT_NOT_AS_SAID = 1, EXIT_LOCAL = 2 };

static const char *mode = "?";

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Prints the outcome line and returns code. */
static int outcome(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int outcome(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s: %s: ",
	       code == EXIT_AS_SAID       ? "ok"
	       : code == EXIT_NOT_AS_SAID ? "FAIL"
	                                  : "error",
	       mode);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	return code;
}

/* --- the connection --------------------------------------------------------- */

struct conn {
	int fd;
	uint64_t t0; /* when connected */
	bool closed; /* the node hung up (EOF or reset) */
	const char *how;
	uint64_t closed_ms; /* when we noticed, since t0 */
	uint64_t bytes_in;
	struct ml_session *ss;
	const struct ml_key *key;
	struct ml_hash net;
	struct ml_buf err;
};

static void mark_closed(struct conn *c, const char *how)
{
	if (c->closed)
		return;
	c->closed = true;
	c->how = how;
	c->closed_ms = now_ms() - c->t0;
}

static int dial(const char *addr, struct conn *c)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof host)
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = 0;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c->fd = fd;
	c->t0 = now_ms();
	return 0;
}

/* Writes all of p[0..n) before deadline; false when the node hung up or time ran out. */
static bool send_all(struct conn *c, const void *p, size_t n, uint64_t deadline)
{
	const uint8_t *b = p;
	while (n && !c->closed) {
		ssize_t k = send(c->fd, b, n, MSG_NOSIGNAL);
		if (k > 0) {
			b += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			uint64_t t = now_ms();
			if (t >= deadline)
				return false;
			struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
			poll(&pfd, 1, (int)(deadline - t));
			continue;
		}
		mark_closed(c, errno == ECONNRESET ? "reset (on write)" : "broken pipe (on write)");
	}
	return n == 0;
}

/*
 * Reads what is there, waiting at most wait_ms; feeds the session when feed.
 * Returns the number of bytes read (0 on timeout or hang-up).
 */
static size_t recv_some(struct conn *c, int wait_ms, bool feed)
{
	static uint8_t buf[64 << 10];
	if (c->closed)
		return 0;
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	if (poll(&pfd, 1, wait_ms) <= 0)
		return 0;
	ssize_t k = recv(c->fd, buf, sizeof buf, 0);
	if (k == 0) {
		mark_closed(c, "closed");
		return 0;
	}
	if (k < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			mark_closed(c, errno == ECONNRESET ? "reset" : "read error");
		return 0;
	}
	c->bytes_in += (uint64_t)k;
	if (feed && ml_session_feed(c->ss, buf, (size_t)k, &c->err) != ML_OK) {
		fprintf(stderr, "hostile: %s\n", ml_buf_str(&c->err));
		return 0;
	}
	return (size_t)k;
}

/* Reads and discards until the node hangs up or timeout_ms pass; true when it hung up. */
static bool wait_closed(struct conn *c, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	while (!c->closed) {
		uint64_t t = now_ms();
		if (t >= deadline)
			return false;
		recv_some(c, (int)(deadline - t), false);
	}
	return true;
}

enum got { GOT_EVENT, GOT_CLOSED, GOT_TIMEOUT, GOT_ERROR };

/* The next session event, sending the handshake's bytes as they come. */
static enum got next_event(struct conn *c, uint64_t deadline, enum ml_session_event *ev,
                           uint8_t *type, const uint8_t **payload, size_t *len)
{
	for (;;) {
		struct ml_buf out = ML_BUF_INIT;
		int rc = ml_session_next(c->ss, &out, ev, type, payload, len, &c->err);
		bool sent = send_all(c, out.data, out.len, deadline);
		ml_buf_release(&out);
		if (rc != ML_OK) {
			fprintf(stderr, "hostile: the node's bytes: %s\n", ml_buf_str(&c->err));
			return GOT_ERROR;
		}
		if (!sent)
			return c->closed ? GOT_CLOSED : GOT_TIMEOUT;
		if (*ev != ML_SESSION_NEED_MORE)
			return GOT_EVENT;
		uint64_t t = now_ms();
		if (c->closed)
			return GOT_CLOSED;
		if (t >= deadline)
			return GOT_TIMEOUT;
		recv_some(c, (int)(deadline - t), true);
	}
}

/* The next application frame (the handshake's events skipped); false on close or timeout. */
static bool next_frame(struct conn *c, uint64_t deadline, uint8_t *type, const uint8_t **payload,
                       size_t *len)
{
	enum ml_session_event ev;
	do
		if (next_event(c, deadline, &ev, type, payload, len) != GOT_EVENT)
			return false;
	while (ev != ML_SESSION_FRAME);
	return true;
}

/* Waits for a frame of type want (others are skipped); false on close or timeout. */
static bool wait_frame(struct conn *c, uint8_t want, uint64_t deadline, const uint8_t **payload,
                       size_t *len)
{
	uint8_t type = 0;
	while (next_frame(c, deadline, &type, payload, len))
		if (type == want)
			return true;
	return false;
}

static bool send_frame(struct conn *c, uint8_t type, const void *p, size_t n, uint64_t deadline)
{
	struct ml_buf out = ML_BUF_INIT;
	bool ok = ml_session_send(c->ss, type, p, n, &out) == ML_OK &&
	          send_all(c, out.data, out.len, deadline);
	ml_buf_release(&out);
	return ok;
}

enum hs { HS_ACCEPTED, HS_REFUSED, HS_CLOSED, HS_TIMEOUT, HS_ERROR };

/*
 * Runs the handshake as the initiator with c->key: HELLO, AUTH, then waits
 * for the node's verdict before sending our ACCEPT (so a refusal is read
 * before the node closes).  The refusal's reason goes to why.
 */
static enum hs handshake(struct conn *c, unsigned timeout_ms, char *why, size_t why_size)
{
	uint64_t deadline = now_ms() + timeout_ms;
	struct ml_buf out = ML_BUF_INIT;
	if (ml_session_new(ML_SESSION_INITIATOR, c->key, &c->net, NULL, &out, &c->ss) != ML_OK) {
		ml_buf_release(&out);
		return HS_ERROR;
	}
	bool sent = send_all(c, out.data, out.len, deadline);
	ml_buf_release(&out);
	if (!sent)
		return c->closed ? HS_CLOSED : HS_TIMEOUT;
	for (;;) {
		enum ml_session_event ev;
		uint8_t type = 0;
		const uint8_t *payload = NULL;
		size_t len = 0;
		enum got g = next_event(c, deadline, &ev, &type, &payload, &len);
		if (g != GOT_EVENT)
			return g == GOT_CLOSED    ? HS_CLOSED
			       : g == GOT_TIMEOUT ? HS_TIMEOUT
			                          : HS_ERROR;
		if (ev == ML_SESSION_PEER)
			continue; /* the node's AUTH: its key proved */
		if (type == ML_MSG_REFUSE) {
			snprintf(why, why_size, "%.*s", (int)(len < 200 ? len : 200),
			         (const char *)payload);
			return HS_REFUSED;
		}
		if (type == ML_MSG_ACCEPT) {
			if (!send_frame(c, ML_MSG_ACCEPT, NULL, 0, deadline))
				return c->closed ? HS_CLOSED : HS_TIMEOUT;
			return HS_ACCEPTED;
		}
		snprintf(why, why_size, "frame type %u before ACCEPT", type);
		return HS_ERROR;
	}
}

static const char *hs_name(enum hs h)
{
	static const char *const names[] = {"accepted", "refused", "closed", "timed out", "error"};
	return names[h];
}

/* --- modes ------------------------------------------------------------------ */

/* Raw bytes, then the node must hang up within timeout_ms. */
static int raw_then_closed(struct conn *c, const void *p, size_t n, const char *what,
                           unsigned timeout_ms)
{
	send_all(c, p, n, now_ms() + 2000);
	if (!wait_closed(c, timeout_ms))
		return outcome(EXIT_NOT_AS_SAID, "sent %s; still open after %u ms", what,
		               timeout_ms);
	return outcome(EXIT_AS_SAID, "sent %s; %s by the node after %llu ms (%llu bytes received)",
	               what, c->how, (unsigned long long)c->closed_ms,
	               (unsigned long long)c->bytes_in);
}

/* Our HELLO for network net (version byte patched when version != 1). */
static void make_hello(const struct ml_key *key, const struct ml_hash *net, uint8_t version,
                       uint8_t hello[ML_SESSION_HELLO_LEN])
{
	struct ml_buf out = ML_BUF_INIT;
	struct ml_session *ss = NULL;
	if (ml_session_new(ML_SESSION_INITIATOR, key, net, NULL, &out, &ss) != ML_OK ||
	    out.len != ML_SESSION_HELLO_LEN) {
		fprintf(stderr, "hostile: cannot make a HELLO\n");
		exit(EXIT_LOCAL);
	}
	memcpy(hello, out.data, ML_SESSION_HELLO_LEN);
	hello[4] = version;
	ml_session_free(ss);
	ml_buf_release(&out);
}

static int mode_slowloris(struct conn *c)
{
	/* A valid HELLO; then the rest of our handshake (stream header and AUTH), one byte a time.
	 */
	struct ml_buf out = ML_BUF_INIT, trickle = ML_BUF_INIT;
	if (ml_session_new(ML_SESSION_INITIATOR, c->key, &c->net, NULL, &out, &c->ss) != ML_OK)
		return outcome(EXIT_LOCAL, "cannot start a session");
	send_all(c, out.data, out.len, now_ms() + 2000);
	ml_buf_release(&out);
	/* The node's HELLO lets our session derive keys and produce header and AUTH. */
	uint64_t deadline = c->t0 + 15000;
	while (!c->closed && ml_session_ready(c->ss) == false && now_ms() < deadline) {
		enum ml_session_event ev;
		uint8_t type;
		const uint8_t *payload;
		size_t len;
		ml_buf_reset(&trickle);
		if (ml_session_next(c->ss, &trickle, &ev, &type, &payload, &len, &c->err) != ML_OK)
			return outcome(EXIT_LOCAL, "the node's HELLO: %s", ml_buf_str(&c->err));
		if (!ml_session_ready(c->ss))
			recv_some(c, 100, true);
	}
	size_t sent = 0;
	uint64_t next = now_ms();
	while (!c->closed && now_ms() < deadline) {
		if (now_ms() >= next && sent < trickle.len) {
			send_all(c, trickle.data + sent, 1, deadline);
			sent++;
			next += 500;
		}
		uint64_t t = now_ms();
		uint64_t wait = next > t ? next - t : 0;
		if (t + wait > deadline)
			wait = deadline - t;
		recv_some(c, (int)wait, false);
	}
	ml_buf_release(&trickle);
	if (!c->closed)
		return outcome(EXIT_NOT_AS_SAID,
		               "sent a HELLO and %zu more bytes, one per 500 ms; still open after "
		               "15 s",
		               sent);
	/* The handshake timeout is 10 s: a close well before it is something else. */
	int code = c->closed_ms >= 9000 ? EXIT_AS_SAID : EXIT_NOT_AS_SAID;
	return outcome(code,
	               "sent a HELLO and %zu more bytes, one per 500 ms; %s by the node after "
	               "%llu ms%s",
	               sent, c->how, (unsigned long long)c->closed_ms,
	               code == EXIT_AS_SAID ? "" : " (before the 10 s handshake timeout)");
}

static int mode_unknown(struct conn *c)
{
	char why[256] = "";
	enum hs h = handshake(c, 5000, why, sizeof why);
	if (h != HS_REFUSED)
		return outcome(EXIT_NOT_AS_SAID, "a device with no grant was %s %s", hs_name(h),
		               why);
	if (!wait_closed(c, 3000))
		return outcome(EXIT_NOT_AS_SAID, "refused (\"%s\") but still open after 3 s", why);
	return outcome(EXIT_AS_SAID, "REFUSE \"%s\"; %s by the node after %llu ms", why, c->how,
	               (unsigned long long)c->closed_ms);
}

/* A known device's handshake; on anything but ACCEPT, prints the failure. */
static bool known_handshake(struct conn *c, int *code)
{
	char why[256] = "";
	enum hs h = handshake(c, 5000, why, sizeof why);
	if (h == HS_ACCEPTED)
		return true;
	*code =
	    outcome(EXIT_NOT_AS_SAID, "the known device was not accepted: %s %s", hs_name(h), why);
	return false;
}

static int mode_oversize(struct conn *c)
{
	int code;
	if (!known_handshake(c, &code))
		return code;
	uint32_t n = 2u << 20;
	uint8_t hdr[4 + 64] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16),
	                       (uint8_t)(n >> 24)};
	return raw_then_closed(c, hdr, sizeof hdr, "a frame length of 2 MiB after ACCEPT", 3000);
}

static int mode_tamper(struct conn *c)
{
	int code;
	if (!known_handshake(c, &code))
		return code;
	struct ml_buf out = ML_BUF_INIT;
	if (ml_session_send(c->ss, ML_MSG_PING, "tampered", 8, &out) != ML_OK)
		return outcome(EXIT_LOCAL, "cannot frame");
	out.data[4 + 3] ^= 0x10; /* a ciphertext bit (after the 4-byte length) */
	int rc = raw_then_closed(c, out.data, out.len, "a PING frame with a flipped ciphertext bit",
	                         3000);
	ml_buf_release(&out);
	return rc;
}

static uint8_t *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct ml_buf b = ML_BUF_INIT;
	uint8_t chunk[65536];
	size_t k;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (ml_buf_add(&b, chunk, k) != ML_OK)
			break;
	fclose(f);
	*n = b.len;
	return b.data;
}

/* The ops of a clear bundle (or a file of concatenated ops) at path, appended to out. */
static int bundle_ops(const char *path, struct ml_buf *out)
{
	size_t n = 0, off = 0, len;
	uint8_t *data = read_file(path, &n);
	if (!data)
		return -1;
	if (n >= 50 && memcmp(data, "memberlog-bundle", 16) == 0) {
		if (data[17] & 1)
			fprintf(stderr, "hostile: %s is an encrypted bundle\n", path);
		off = data[17] & 1 ? n : 50;
	}
	const uint8_t *p;
	int rc = 0;
	while (rc == 0 && ml_oplog_next(data, n, &off, &p, &len, NULL) == ML_OK)
		rc = ml_buf_add(out, p, len) == ML_OK ? 0 : -1;
	ml_free(data);
	return out->len ? rc : -1;
}

/*
 * The op to forge, encoded into op_out: the last signed op of the file at
 * path (a clear bundle or concatenated ops), or, without a file, an op built
 * here by this device in a feed of its own.  Describes it in what.
 */
static int forged_op(struct conn *c, const char *path, struct ml_buf *op_out, char *what,
                     size_t what_size)
{
	if (path) {
		struct ml_buf ops = ML_BUF_INIT;
		const uint8_t *p, *last = NULL;
		size_t len, last_len = 0, off = 0;
		struct ml_op op;
		int rc = bundle_ops(path, &ops);
		while (rc == 0 && ml_oplog_next(ops.data, ops.len, &off, &p, &len, NULL) == ML_OK)
			if (ml_op_parse(p, len, &op, NULL) == ML_OK && op.has_sig &&
			    !ml_op_is_genesis(&op)) {
				last = p;
				last_len = len;
			}
		rc = -1;
		if (last && ml_op_parse(last, last_len, &op, NULL) == ML_OK) {
			snprintf(what, what_size, "a real op (%s, seq %llu) of %s", op.type,
			         (unsigned long long)op.seq, path);
			rc = ml_buf_add(op_out, last, last_len) == ML_OK ? 0 : -1;
		}
		ml_buf_release(&ops);
		return rc;
	}
	/* {"name": "forged"} */
	static const uint8_t body[] = {0xa1, 0x64, 'n', 'a', 'm', 'e', 0x66,
	                               'f',  'o',  'r', 'g', 'e', 'd'};
	struct ml_op op;
	memset(&op, 0, sizeof op);
	op.version = 1;
	op.has_net = true;
	op.net = c->net;
	op.author = c->key->pk;
	op.has_unit = true;
	op.unit = c->net; /* the national unit */
	op.lane = ML_LANE_GOV;
	op.seq = 1;
	op.hlc.ms = (uint64_t)time(NULL) * 1000;
	snprintf(op.type, sizeof op.type, "unit_rename");
	op.body = body;
	op.body_len = sizeof body;
	if (ml_op_seal(&op, c->key, op_out, &c->err) != ML_OK)
		return -1;
	snprintf(what, what_size, "an op built by this device (unit_rename, seq 1)");
	return 0;
}

static int mode_forged(struct conn *c, const char *ops_path)
{
	struct ml_buf op = ML_BUF_INIT;
	char what[512] = "";
	if (forged_op(c, ops_path, &op, what, sizeof what) != 0)
		return outcome(EXIT_LOCAL, "no signed op to forge (%s)",
		               ops_path ? ops_path : ml_buf_str(&c->err));
	op.data[op.len - 1] ^= 0x01; /* the signature is the encoding's last 64 bytes */
	struct ml_op check;
	if (ml_op_decode(op.data, op.len, &c->net, &check, NULL) != ML_EBADSIG)
		return outcome(EXIT_LOCAL, "the forged op's signature still verifies");
	int code;
	if (!known_handshake(c, &code))
		return code;
	char desc[700];
	snprintf(desc, sizeof desc, "an OPS frame with %s, a signature byte flipped", what);
	if (!send_frame(c, ML_MSG_OPS, op.data, op.len, now_ms() + 2000) && !c->closed)
		return outcome(EXIT_LOCAL, "cannot send");
	ml_buf_release(&op);
	return raw_then_closed(c, NULL, 0, desc, 3000);
}

static int mode_flood(struct conn *c)
{
	int code;
	if (!known_handshake(c, &code))
		return code;
	/* 256 PING frames per write; the PONGs are read and dropped as they come. */
	struct ml_buf batch = ML_BUF_INIT;
	uint64_t start = now_ms(), frames = 0;
	while (!c->closed && now_ms() - start < 3000) {
		ml_buf_reset(&batch);
		for (int i = 0; i < 256; i++)
			if (ml_session_send(c->ss, ML_MSG_PING, "flood", 5, &batch) != ML_OK)
				return outcome(EXIT_LOCAL, "cannot frame");
		if (send_all(c, batch.data, batch.len, start + 3000))
			frames += 256;
		while (recv_some(c, 0, false) > 0)
			;
	}
	ml_buf_release(&batch);
	uint64_t elapsed = now_ms() - start;
	if (!c->closed && !wait_closed(c, 2000))
		return outcome(EXIT_NOT_AS_SAID,
		               "sent %llu PING frames in %llu ms (%.0f a second); still open",
		               (unsigned long long)frames, (unsigned long long)elapsed,
		               frames * 1000.0 / (double)(elapsed ? elapsed : 1));
	return outcome(EXIT_AS_SAID,
	               "sent %llu PING frames in %llu ms (%.0f a second); %s by the node after "
	               "%llu ms",
	               (unsigned long long)frames, (unsigned long long)elapsed,
	               frames * 1000.0 / (double)(elapsed ? elapsed : 1), c->how,
	               (unsigned long long)(c->closed_ms - (start - c->t0)));
}

static int mode_no_read(struct conn *c, unsigned seconds)
{
	int code;
	if (!known_handshake(c, &code))
		return code;
	/*
	 * A round with an empty set, ended at once by our empty RECON ("nothing
	 * more from me"): the node then sends every op it may send us.  Again
	 * and again, about 2,000 frames a second (under the flood limit), while
	 * never reading: the node's write queue fills and must stay bounded
	 * (sending pauses at 8 MiB; 64 MiB piled up drops the peer).
	 */
	struct ml_recon_item none[1];
	struct ml_recon *r = NULL;
	struct ml_buf init = ML_BUF_INIT, out = ML_BUF_INIT;
	if (ml_recon_new(none, 0, &r) != ML_OK || ml_recon_initiate(r, &init) != ML_OK)
		return outcome(EXIT_LOCAL, "cannot start a round");
	ml_recon_free(r);
	uint64_t start = now_ms(), rounds = 0, stalled_ms = 0;
	while (!c->closed && now_ms() - start < seconds * 1000ull) {
		ml_buf_reset(&out);
		for (int i = 0; i < 10; i++)
			if (ml_session_send(c->ss, ML_MSG_RECON, init.data, init.len, &out) !=
			        ML_OK ||
			    ml_session_send(c->ss, ML_MSG_RECON, NULL, 0, &out) != ML_OK)
				return outcome(EXIT_LOCAL, "cannot frame");
		uint64_t t = now_ms();
		if (!send_all(c, out.data, out.len, start + seconds * 1000ull))
			break;
		rounds += 10;
		t = now_ms() - t;
		if (t > 10)
			stalled_ms += t; /* the node reads slower than we send */
		else
			sleep_ms(10);
	}
	ml_buf_release(&init);
	ml_buf_release(&out);
	uint64_t elapsed = now_ms() - start;
	return outcome(c->closed ? EXIT_NOT_AS_SAID : EXIT_AS_SAID,
	               "started %llu rounds in %llu ms (%llu ms blocked on a full socket), "
	               "never reading; the node %s",
	               (unsigned long long)rounds, (unsigned long long)elapsed,
	               (unsigned long long)stalled_ms,
	               c->closed ? "closed the connection" : "kept the connection");
}

/*
 * Unsigned ops, each the first of a feed of its own (a fresh author key): no
 * signature to check, so none fails verification; each waits for a
 * signature that never comes.
 */
static bool hangup;       /* unsigned-ops --hangup */
static bool then_garbage; /* unsigned-ops --then-garbage */

static int mode_unsigned(struct conn *c, unsigned count)
{
	int code;
	if (!known_handshake(c, &code))
		return code;
	/*
	 * Frames of 4,096 ops (about 780 KiB), then, for the last 8,191 or
	 * fewer, frames of halving sizes: a frame the node cannot take whole
	 * (its buffer of waiting ops would overflow) is refused whole, so the
	 * small ones at the end fill what room is left.
	 */
	struct ml_buf frame = ML_BUF_INIT;
	uint64_t deadline = now_ms() + 120000, sent = 0;
	unsigned in_frame = 0, want = 0;
	for (unsigned i = 0; i < count && !c->closed; i++) {
		if (in_frame == 0) {
			unsigned left = count - i;
			want = 4096;
			if (left < 8192)
				while (want > left)
					want /= 2;
		}
		struct ml_key *k = NULL;
		if (ml_key_generate(&k) != ML_OK)
			return outcome(EXIT_LOCAL, "cannot make a key");
		uint8_t body[] = {0xa1, 0x64, 'n', 'a', 'm', 'e', 0x66,
		                  'u',  'n',  's', 'i', 'g', 'n'};
		struct ml_op op;
		memset(&op, 0, sizeof op);
		op.version = 1;
		op.has_net = true;
		op.net = c->net;
		op.author = k->pk;
		op.has_unit = true;
		op.unit = c->net;
		op.lane = ML_LANE_GOV;
		op.seq = 1;
		op.hlc.ms = (uint64_t)time(NULL) * 1000;
		snprintf(op.type, sizeof op.type, "unit_rename");
		op.body = body;
		op.body_len = sizeof body;
		int rc = ml_op_seal(&op, NULL, &frame, &c->err);
		ml_key_free(k);
		if (rc != ML_OK)
			return outcome(EXIT_LOCAL, "cannot build an op: %s", ml_buf_str(&c->err));
		if (++in_frame == want) {
			if (!send_frame(c, ML_MSG_OPS, frame.data, frame.len, deadline))
				break;
			sent = i + 1;
			in_frame = 0;
			ml_buf_reset(&frame);
		}
	}
	ml_buf_release(&frame);
	static const uint8_t junk[] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};
	if (then_garbage && !c->closed && !send_frame(c, ML_MSG_OPS, junk, sizeof junk, deadline))
		return outcome(EXIT_NOT_AS_SAID, "closed before the garbage frame");
	if (hangup && !c->closed) {
		shutdown(c->fd, SHUT_RDWR);
		return outcome(EXIT_AS_SAID, "sent %llu unsigned ops in fresh feeds, then hung up",
		               (unsigned long long)sent);
	}
	/* The node answers nothing to OPS: a PING tells when it has ingested them all. */
	if (!c->closed && !send_frame(c, ML_MSG_PING, "done", 4, deadline))
		return outcome(EXIT_NOT_AS_SAID, "closed after %llu unsigned ops",
		               (unsigned long long)sent);
	for (;;) {
		enum ml_session_event ev;
		uint8_t type = 0;
		const uint8_t *payload = NULL;
		size_t len = 0;
		enum got g = next_event(c, deadline, &ev, &type, &payload, &len);
		if (g == GOT_CLOSED)
			return outcome(EXIT_AS_SAID,
			               "sent %llu unsigned ops in fresh feeds; closed by the node",
			               (unsigned long long)sent);
		if (g != GOT_EVENT)
			return outcome(EXIT_NOT_AS_SAID,
			               "sent %llu unsigned ops; the node does not "
			               "answer",
			               (unsigned long long)sent);
		if (type == ML_MSG_PONG)
			return outcome(EXIT_AS_SAID,
			               "sent %llu unsigned ops in fresh feeds; the node kept the "
			               "connection and answered a PING after them",
			               (unsigned long long)sent);
	}
}

static int mode_accepted(struct conn *c)
{
	int code;
	if (!known_handshake(c, &code))
		return code;
	uint64_t deadline = now_ms() + 3000;
	if (!send_frame(c, ML_MSG_PING, "hostile", 7, deadline))
		return outcome(EXIT_NOT_AS_SAID, "closed after ACCEPT");
	uint8_t type = 0;
	const uint8_t *payload = NULL;
	size_t len = 0;
	while (next_frame(c, deadline, &type, &payload, &len))
		if (type == ML_MSG_PONG && len == 7 && memcmp(payload, "hostile", 7) == 0)
			return outcome(EXIT_AS_SAID,
			               "accepted; PING answered by PONG after %llu ms",
			               (unsigned long long)(now_ms() - c->t0));
	return outcome(EXIT_NOT_AS_SAID, "accepted, but no PONG came");
}

static int mode_banned(struct conn *c)
{
	char why[256] = "";
	enum hs h = handshake(c, 5000, why, sizeof why);
	if (h != HS_REFUSED || !strstr(why, "misbehaved"))
		return outcome(EXIT_NOT_AS_SAID, "wanted a refusal for misbehaving, got: %s %s",
		               hs_name(h), why);
	wait_closed(c, 3000);
	return outcome(EXIT_AS_SAID, "REFUSE \"%s\"; %s", why, c->closed ? c->how : "still open");
}

static int mode_photo_tamper(struct conn *c, const char *ops_path)
{
	int code;
	struct ml_buf ops = ML_BUF_INIT, frame = ML_BUF_INIT, init = ML_BUF_INIT;
	if (!ops_path || bundle_ops(ops_path, &ops) != 0)
		return outcome(EXIT_LOCAL, "cannot read the ops of %s", ops_path ? ops_path : "-");
	if (!known_handshake(c, &code))
		return code;
	/* A round with an empty set (the node sends us what it may), then the ops, then SYNCED. */
	struct ml_recon_item none[1];
	struct ml_recon *r = NULL;
	if (ml_recon_new(none, 0, &r) != ML_OK || ml_recon_initiate(r, &init) != ML_OK)
		return outcome(EXIT_LOCAL, "cannot start a round");
	ml_recon_free(r);
	uint64_t deadline = now_ms() + 10000;
	bool sent = send_frame(c, ML_MSG_RECON, init.data, init.len, deadline) &&
	            send_frame(c, ML_MSG_RECON, NULL, 0, deadline);
	size_t off = 0, len;
	const uint8_t *p;
	while (sent && ml_oplog_next(ops.data, ops.len, &off, &p, &len, NULL) == ML_OK) {
		ml_buf_add(&frame, p, len);
		if (frame.len > (200u << 10)) {
			sent = send_frame(c, ML_MSG_OPS, frame.data, frame.len, deadline);
			ml_buf_reset(&frame);
		}
	}
	if (sent && frame.len)
		sent = send_frame(c, ML_MSG_OPS, frame.data, frame.len, deadline);
	sent = sent && send_frame(c, ML_MSG_SYNCED, NULL, 0, deadline);
	ml_buf_release(&ops);
	ml_buf_release(&init);
	const uint8_t *want = NULL;
	size_t want_len = 0;
	if (!sent || !wait_frame(c, ML_MSG_BLOB_WANT, deadline, &want, &want_len) ||
	    want_len < 32) {
		ml_buf_release(&frame);
		return outcome(EXIT_NOT_AS_SAID, "sent ops naming photos; the node asked for none");
	}
	/* The first hash asked, with bytes that are a JPEG of another hash. */
	ml_buf_reset(&frame);
	uint8_t junk[4096] = {0xff, 0xd8, 0xff, 0xe0};
	randombytes_buf(junk + 4, sizeof junk - 4);
	ml_buf_add(&frame, want, 32);
	ml_buf_add(&frame, junk, sizeof junk);
	size_t asked = want_len / 32;
	sent = send_frame(c, ML_MSG_BLOB, frame.data, frame.len, now_ms() + 3000);
	ml_buf_release(&frame);
	if (!wait_closed(c, 3000))
		return outcome(EXIT_NOT_AS_SAID,
		               "asked for %zu photos, got one of another hash; "
		               "still open",
		               asked);
	return outcome(EXIT_AS_SAID,
	               "the node asked for %zu photos; a BLOB whose bytes have another hash: %s",
	               asked, c->how);
}

static int mode_photo_want(struct conn *c, const char *hash_hex)
{
	int code;
	struct ml_hash h;
	if (!hash_hex || ml_hex_decode(hash_hex, h.b, 32) != ML_OK)
		return outcome(EXIT_LOCAL, "--hash takes 64 hex digits");
	if (!known_handshake(c, &code))
		return code;
	uint64_t deadline = now_ms() + 5000;
	if (!send_frame(c, ML_MSG_BLOB_WANT, h.b, 32, deadline))
		return outcome(EXIT_NOT_AS_SAID, "closed before our request");
	uint8_t type = 0;
	const uint8_t *payload = NULL;
	size_t len = 0;
	while (next_frame(c, deadline, &type, &payload, &len)) {
		if (type == ML_MSG_BLOB_NONE && len == 32 && memcmp(payload, h.b, 32) == 0)
			return outcome(EXIT_AS_SAID, "declined");
		if (type == ML_MSG_BLOB && len > 32 && memcmp(payload, h.b, 32) == 0) {
			struct ml_hash got = ml_hash_of(payload + 32, len - 32);
			return ml_hash_eq(&got, &h)
			           ? outcome(EXIT_AS_SAID, "given %zu bytes", len - 32)
			           : outcome(EXIT_NOT_AS_SAID, "given bytes of another hash");
		}
	}
	return outcome(EXIT_NOT_AS_SAID, "no answer to BLOB_WANT");
}

static int mode_photo_unasked(struct conn *c)
{
	int code;
	if (!known_handshake(c, &code))
		return code;
	uint8_t blob[32 + 1024] = {0};
	memcpy(blob + 32, "\xff\xd8\xff\xe0", 4);
	struct ml_hash h = ml_hash_of(blob + 32, sizeof blob - 32);
	memcpy(blob, h.b, 32);
	struct ml_buf out = ML_BUF_INIT;
	if (ml_session_send(c->ss, ML_MSG_BLOB, blob, sizeof blob, &out) != ML_OK)
		return outcome(EXIT_LOCAL, "cannot frame");
	int rc = raw_then_closed(c, out.data, out.len, "a photo nobody asked for", 3000);
	ml_buf_release(&out);
	return rc;
}

/* --- main ------------------------------------------------------------------- */

static int usage(void)
{
	fprintf(stderr,
	        "usage: hostile MODE HOST:PORT --network HEX [--key FILE] [--ops FILE] "
	        "[--seconds N] [--count N] [--hangup] [--then-garbage] [--hash HEX]\n"
	        "modes: garbage wrong-network bad-version slowloris unknown-device oversize "
	        "tamper forged-ops flood no-read unsigned-ops accepted banned photo-tamper "
	        "photo-want photo-unasked\n");
	return EXIT_LOCAL;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	mode = argv[1];
	const char *addr = argv[2], *key_path = NULL, *net_hex = NULL, *ops_path = NULL,
	           *hash_hex = NULL;
	unsigned seconds = 3, count = 2000;
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			key_path = argv[++i];
		else if (strcmp(argv[i], "--network") == 0 && i + 1 < argc)
			net_hex = argv[++i];
		else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
			ops_path = argv[++i];
		else if (strcmp(argv[i], "--hash") == 0 && i + 1 < argc)
			hash_hex = argv[++i];
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--hangup") == 0)
			hangup = true;
		else if (strcmp(argv[i], "--then-garbage") == 0)
			then_garbage = true;
		else
			return usage();
	}
	if (sodium_init() < 0)
		return outcome(EXIT_LOCAL, "libsodium cannot start");
	signal(SIGPIPE, SIG_IGN);
	struct conn c = {.fd = -1};
	if (!net_hex || ml_hex_decode(net_hex, c.net.b, 32) != ML_OK)
		return usage();
	bool known = strcmp(mode, "oversize") == 0 || strcmp(mode, "tamper") == 0 ||
	             strcmp(mode, "forged-ops") == 0 || strcmp(mode, "flood") == 0 ||
	             strcmp(mode, "no-read") == 0 || strcmp(mode, "accepted") == 0 ||
	             strcmp(mode, "unsigned-ops") == 0 || strcmp(mode, "banned") == 0 ||
	             strncmp(mode, "photo-", 6) == 0;
	struct ml_key *key = NULL;
	if (known) {
		if (!key_path)
			return usage();
		if (ml_keyfile_load(key_path, &key, &c.err) != ML_OK)
			return outcome(EXIT_LOCAL, "%s", ml_buf_str(&c.err));
	} else if (ml_key_generate(&key) != ML_OK) {
		return outcome(EXIT_LOCAL, "cannot make a key");
	}
	c.key = key;
	if (dial(addr, &c) != 0)
		return outcome(EXIT_LOCAL, "cannot connect to %s: %s", addr, strerror(errno));

	int rc;
	if (strcmp(mode, "garbage") == 0) {
		static const char get[] = "GET / HTTP/1.1\r\n\r\n";
		rc = raw_then_closed(&c, get, sizeof get - 1, "\"GET / HTTP/1.1\"", 2000);
	} else if (strcmp(mode, "wrong-network") == 0 || strcmp(mode, "bad-version") == 0) {
		bool wrong = mode[0] == 'w';
		struct ml_hash other = c.net;
		if (wrong)
			randombytes_buf(other.b, sizeof other.b);
		uint8_t hello[ML_SESSION_HELLO_LEN];
		make_hello(key, &other, wrong ? 1 : 2, hello);
		rc = raw_then_closed(&c, hello, sizeof hello,
		                     wrong ? "a HELLO of another network" : "a HELLO of version 2",
		                     2000);
	} else if (strcmp(mode, "slowloris") == 0) {
		rc = mode_slowloris(&c);
	} else if (strcmp(mode, "unknown-device") == 0) {
		rc = mode_unknown(&c);
	} else if (strcmp(mode, "oversize") == 0) {
		rc = mode_oversize(&c);
	} else if (strcmp(mode, "tamper") == 0) {
		rc = mode_tamper(&c);
	} else if (strcmp(mode, "forged-ops") == 0) {
		rc = mode_forged(&c, ops_path);
	} else if (strcmp(mode, "flood") == 0) {
		rc = mode_flood(&c);
	} else if (strcmp(mode, "no-read") == 0) {
		rc = mode_no_read(&c, seconds);
	} else if (strcmp(mode, "unsigned-ops") == 0) {
		rc = mode_unsigned(&c, count);
	} else if (strcmp(mode, "accepted") == 0) {
		rc = mode_accepted(&c);
	} else if (strcmp(mode, "banned") == 0) {
		rc = mode_banned(&c);
	} else if (strcmp(mode, "photo-tamper") == 0) {
		rc = mode_photo_tamper(&c, ops_path);
	} else if (strcmp(mode, "photo-want") == 0) {
		rc = mode_photo_want(&c, hash_hex);
	} else if (strcmp(mode, "photo-unasked") == 0) {
		rc = mode_photo_unasked(&c);
	} else {
		rc = usage();
	}
	ml_session_free(c.ss);
	ml_key_free(key);
	ml_buf_release(&c.err);
	close(c.fd);
	return rc;
}
