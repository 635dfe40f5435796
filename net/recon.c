/*
 * recon.c - range-based set reconciliation of feed heads (Meyer, "Range-Based
 * Set Reconciliation"; the negentropy protocol), see recon.h and docs/RECON.md.
 *
 * Message, byte by byte:
 *
 *   version (1) = ML_RECON_VERSION, then ranges in key order: each covers
 *   [end of the previous range (the all-zero key for the first), its bound);
 *   the range whose bound is infinity is the last, and the message ends there.
 *   The empty message (0 bytes) means "nothing more from me".
 *
 *   range  = mode (1) | bound | payload
 *   bound  = n (1) | n bytes     n <= 32: the bytes padded with zeros to 32,
 *                                the last one nonzero; n = 0xff: infinity
 *   mode 0 SKIP         -                      agreed, or nothing to say
 *   mode 1 FINGERPRINT  count | fp (16)        count: varint 1..ML_RECON_ITEMS_MAX
 *   mode 2 LIST         k | k items            k: varint <= ML_RECON_LIST_MAX
 *   mode 3 LIST_FINAL   k | k items            k: varint
 *   mode 4 DEFER        -                      the last range only
 *   item   = key (32) | seq (varint >= 1), keys ascending and inside the range
 *   varint = unsigned LEB128, shortest form, at most 10 bytes
 *
 * fp = XOR over the range's items of the first 16 bytes of
 * BLAKE2b-256(key | seq as 8 bytes little-endian); a range matches when fp
 * and count are both equal.
 *
 * Queries.  FINGERPRINT and LIST ranges are queries: the receiver answers
 * each one, inside its bounds, in its next message (or a later one, see
 * DEFER).  Each side keeps its *open* queries (sent, not yet answered) and
 * accepts from the peer only answers inside them:
 *
 *   to my FINGERPRINT: SKIP (equal), or its own LIST of the range when it
 *     holds <= 16 items there, or up to 16 FINGERPRINT subranges (each
 *     smaller than the range) splitting its items there by count;
 *   to my LIST: SKIP (its items there are exactly my list), or LIST_FINAL
 *     with all its items there, or - when they do not fit in the message -
 *     LIST_FINAL with at least one item up to a bound s and its FINGERPRINT
 *     of [s, end of my LIST).
 *
 * Every key is *settled* (its differences reported) on both sides by one
 * LIST/LIST_FINAL pair: the side receiving a LIST reports on answering, the
 * other on receiving the LIST_FINAL.  SKIP, DEFER and the LIST_FINAL itself
 * need no answer.  A message without any query, LIST_FINAL or DEFER is not
 * sent: the reply is empty.
 *
 * DEFER.  A reply stops at the first query whose answer would take it past
 * ML_RECON_MSG_MAX; from that query's lower bound on, the reply is one DEFER
 * range: "your queries from here on are still open; I answer them later".
 * The unanswered queries are kept, re-encoded as they came, in the backlog
 * and answered in later steps, merged in key order with the new ones.  The
 * peer must then reply even if it has nothing else to say, so this side gets
 * its turn: that reply is the 3 bytes `01 00 ff`.
 *
 * Invariants (one side): open queries and backlog queries are disjoint
 * ranges, each list ascending; a range covered by neither is settled or
 * agreed, and never becomes open or backlogged again, because every range
 * the peer sends other than SKIP must lie inside one of my open queries, and
 * my new queries lie inside the peer queries I answer.  Hence each key is
 * settled at most once per side, which is why diff() runs at most once per
 * key, whatever the peer sends.  Before the first step, a responder has one
 * open FINGERPRINT query over everything (the initiator's first message
 * answers it); ml_recon_initiate replaces it with the first message's queries.
 *
 * Termination with an honest peer.  Let w(R) be the number of items both
 * sides hold in range R.  Along any chain of queries, each inside the one it
 * answers, w strictly decreases at least every second query: a split gives
 * subranges with at most ceil(c/16) < c of the splitter's c items and no
 * more of the other side's; a LIST is answered by a LIST_FINAL (no query) or
 * by one carrying >= 1 item plus a FINGERPRINT of the rest, which holds
 * fewer of that side's items; a FINGERPRINT of <= 16 items is answered by a
 * LIST of the same range, then as above.  With at most 16 answers per
 * query, the tree of queries is finite.  Each step answers at least one
 * pending query when there is one (an answer takes at most ~1 KiB, far
 * below ML_RECON_MSG_MAX), and a step with nothing to answer replies only
 * when its queries wait in the peer's backlog, so the next step answers one.
 * So the exchange ends, and once no query is pending both replies are empty.
 * A dishonest peer can prolong it only by sending new ranges each time; each
 * step does work bounded by the message, the backlog (ML_RECON_BACKLOG_MAX)
 * and the reply (ML_RECON_MSG_MAX), and the caller bounds the rounds.
 */
#include "recon.h"

#include "crdt/alloc.h"
#include "crdt/buf.h"
#include "crdt/codec.h"
#include "crdt/err.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum range_mode {
	M_SKIP = 0,
	M_FP = 1,
	M_LIST = 2,
	M_FINAL = 3,
	M_DEFER = 4,
};

#define BOUND_INF 0xff
#define FP_BYTES  16
#define ITEM_MIN  33 /* bytes of the shortest item: key and a one-byte seq */
/* Room kept for a message's end: a SKIP up to the first deferred query, then DEFER to infinity. */
#define TAIL_MAX (1 + 1 + 32 + 1 + 1)

/* A range bound: a 32-byte value, or infinity.  Keys below it are inside. */
struct bound {
	uint8_t b[32];
	bool inf;
};

/* One of my queries awaiting the peer's answer: [lo, hi) sent as M_FP or M_LIST. */
struct query {
	struct bound lo, hi;
	uint8_t mode;
};

struct qvec {
	struct query *v;
	size_t n, cap;
};

struct ml_recon {
	const struct ml_recon_item *items;
	size_t n;
	uint8_t (*acc)[FP_BYTES]; /* acc[i]: XOR of the item hashes of items[0..i) */
	struct qvec open;         /* my open queries, ascending */
	struct ml_buf backlog;    /* the peer's queries not yet answered: ranges as on the wire */
	bool started;             /* initiated, or stepped */
	bool quiet;               /* the last step appended nothing */
};

/* One decoded range; pointers borrow the bytes it was read from. */
struct range {
	struct bound lo, hi;
	uint8_t mode;
	uint64_t count;       /* M_FP: the sender's items in the range; lists: items that follow */
	const uint8_t *fp;    /* M_FP: FP_BYTES */
	const uint8_t *items; /* lists: `count` encoded items */
	size_t items_len;
	const uint8_t *raw; /* the whole range as encoded */
	size_t raw_len;
};

/* Reads ranges in order from a message body or the backlog. */
struct stream {
	struct ml_reader rd;
	struct bound pos; /* where the next range starts */
	bool end;         /* the range up to infinity was read */
};

/* Writes ranges in order, filling gaps with SKIP. */
struct wr {
	struct ml_buf *b;
	int rc; /* first failure */
	struct bound pos;
};

/* What one step learns, reported once the step has succeeded: the peer's items in [lo, hi). */
struct report {
	struct bound lo, hi;
	const uint8_t *items;
	size_t items_len;
	uint64_t k;
};

/* One step's reply under construction. */
struct gen {
	const struct ml_recon *r;
	struct wr w;
	size_t base; /* w.b->len before the reply */
	bool said;   /* the reply holds a range other than SKIP */
	struct qvec q;
	struct report *rep;
	size_t nrep, cap_rep;
};

/* --- bounds and sizes ------------------------------------------------------ */

static int bound_cmp(const struct bound *a, const struct bound *b)
{
	if (a->inf || b->inf)
		return (int)a->inf - (int)b->inf;
	return memcmp(a->b, b->b, 32);
}

static bool key_below(const uint8_t *key, const struct bound *b)
{
	return b->inf || memcmp(key, b->b, 32) < 0;
}

/* Returns the shortest bound above key a and at most key b (a < b): b's prefix one byte past
 * their common prefix.  Its last byte is nonzero, being greater than a's. */
static struct bound separator(const uint8_t *a, const uint8_t *b)
{
	struct bound s = {{0}, false};
	size_t l = 0;
	while (a[l] == b[l])
		l++;
	memcpy(s.b, b, l + 1);
	return s;
}

/* Bytes of b's value on the wire: trailing zeros are implied. */
static size_t bound_len(const struct bound *b)
{
	size_t n = 32;
	if (b->inf)
		return 0;
	while (n && !b->b[n - 1])
		n--;
	return n;
}

static size_t bound_size(const struct bound *b)
{
	return 1 + bound_len(b);
}

static size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t item_size(const struct ml_recon_item *it)
{
	return 32 + varint_size(it->seq);
}

/* Returns the index of my first item not below b. */
static size_t lower(const struct ml_recon *r, const struct bound *b)
{
	size_t lo = 0, hi = r->n;
	if (b->inf)
		return r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(r->items[mid].key, b->b, 32) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void fp_of(const struct ml_recon *r, size_t i, size_t j, uint8_t out[static FP_BYTES])
{
	for (size_t k = 0; k < FP_BYTES; k++)
		out[k] = r->acc[i][k] ^ r->acc[j][k];
}

/* --- reading ---------------------------------------------------------------- */

static bool rd_need(struct ml_reader *rd, size_t n, const char *what)
{
	if (rd->err)
		return false;
	if (n > rd->len - rd->off) {
		ml_rd_fail(rd, ML_EMALFORMED, rd->off, what);
		return false;
	}
	return true;
}

static uint8_t rd_u8(struct ml_reader *rd, const char *what)
{
	return rd_need(rd, 1, what) ? rd->p[rd->off++] : 0;
}

static const uint8_t *rd_take(struct ml_reader *rd, size_t n, const char *what)
{
	if (!rd_need(rd, n, what))
		return NULL;
	rd->off += n;
	return rd->p + rd->off - n;
}

static uint64_t rd_varint(struct ml_reader *rd)
{
	size_t at = rd->off;
	uint64_t v = 0;
	for (unsigned shift = 0; shift <= 63; shift += 7) {
		uint8_t c = rd_u8(rd, "input ends inside a number");
		if (rd->err)
			return 0;
		if (shift == 63 && c > 1)
			break;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			if (c == 0 && shift > 0) {
				ml_rd_fail(rd, ML_EMALFORMED, at, "number not in shortest form");
				return 0;
			}
			return v;
		}
	}
	ml_rd_fail(rd, ML_EMALFORMED, at, "number exceeds 64 bits");
	return 0;
}

static void rd_bound(struct ml_reader *rd, struct bound *b)
{
	size_t at = rd->off;
	*b = (struct bound){{0}, false};
	uint8_t n = rd_u8(rd, "input ends inside a bound");
	if (n == BOUND_INF) {
		b->inf = true;
		return;
	}
	if (n > 32) {
		ml_rd_fail(rd, ML_EMALFORMED, at, "bound longer than 32 bytes");
		return;
	}
	const uint8_t *p = rd_take(rd, n, "input ends inside a bound");
	if (!p)
		return;
	if (n && !p[n - 1]) {
		ml_rd_fail(rd, ML_EMALFORMED, at,
		           "bound not in shortest form (trailing zero byte)");
		return;
	}
	memcpy(b->b, p, n);
}

/* Reads one item of a list already checked by rd_items. */
static void rd_item(struct ml_reader *rd, struct ml_recon_item *it)
{
	const uint8_t *key = rd_take(rd, 32, "input ends inside an item");
	if (key)
		memcpy(it->key, key, 32);
	it->seq = rd_varint(rd);
}

static void rd_items(struct ml_reader *rd, struct range *g)
{
	size_t at = rd->off;
	g->count = rd_varint(rd);
	if (rd->err)
		return;
	if (g->mode == M_LIST && g->count > ML_RECON_LIST_MAX) {
		ml_rd_fail(rd, ML_EMALFORMED, at, "list of more than 16 items");
		return;
	}
	/* Before the loop, so a huge count costs nothing. */
	if (g->count > (rd->len - rd->off) / ITEM_MIN) {
		ml_rd_fail(rd, ML_EMALFORMED, at, "item count exceeds the message");
		return;
	}
	g->items = rd->p + rd->off;
	const uint8_t *prev = NULL;
	for (uint64_t i = 0; i < g->count; i++) {
		size_t it = rd->off;
		const uint8_t *key = rd_take(rd, 32, "input ends inside an item");
		uint64_t seq = rd_varint(rd);
		if (rd->err)
			return;
		if (seq == 0) {
			ml_rd_fail(rd, ML_EMALFORMED, it, "item with seq 0");
			return;
		}
		if (prev ? memcmp(prev, key, 32) >= 0 : memcmp(key, g->lo.b, 32) < 0) {
			ml_rd_fail(rd, ML_EMALFORMED, it,
			           "item keys not ascending inside the range");
			return;
		}
		if (!key_below(key, &g->hi)) {
			ml_rd_fail(rd, ML_EMALFORMED, it, "item key beyond the range's bound");
			return;
		}
		prev = key;
	}
	g->items_len = rd->off - (size_t)(g->items - rd->p);
}

/* Starts reading ranges at p[off..len); an empty input (len 0) holds none, while any other
 * must go on up to infinity. */
static void stream_init(struct stream *s, const uint8_t *p, size_t len, size_t off)
{
	ml_rd_init(&s->rd, p, len);
	s->rd.off = off;
	s->pos = (struct bound){{0}, false};
	s->end = len == 0;
}

/* Reads the next range into *g; false at the end, or on an error (left in s->rd). */
static bool stream_next(struct stream *s, struct range *g)
{
	struct ml_reader *rd = &s->rd;
	if (s->end || rd->err)
		return false;
	size_t at = rd->off;
	*g = (struct range){.lo = s->pos};
	g->mode = rd_u8(rd, "input ends before the range up to infinity");
	rd_bound(rd, &g->hi);
	if (rd->err)
		return false;
	if (bound_cmp(&g->hi, &g->lo) <= 0) {
		ml_rd_fail(rd, ML_EMALFORMED, at, "range bounds out of order");
		return false;
	}
	switch (g->mode) {
	case M_SKIP:
	case M_DEFER:
		break;
	case M_FP:
		g->count = rd_varint(rd);
		g->fp = rd_take(rd, FP_BYTES, "input ends inside a fingerprint");
		if (!rd->err && (g->count == 0 || g->count > ML_RECON_ITEMS_MAX))
			ml_rd_fail(rd, ML_EMALFORMED, at, "fingerprint count out of range");
		break;
	case M_LIST:
	case M_FINAL:
		rd_items(rd, g);
		break;
	default:
		ml_rd_fail(rd, ML_EMALFORMED, at, "unknown range mode");
	}
	if (rd->err)
		return false;
	g->raw = rd->p + at;
	g->raw_len = rd->off - at;
	s->pos = g->hi;
	s->end = g->hi.inf;
	return true;
}

static int malformed(struct ml_buf *err, size_t at, const char *what)
{
	return ml_errf(err, ML_EMALFORMED, "reconciliation message: %s at byte %zu", what, at);
}

/*
 * Checks msg[0..len) against my open queries, without changing anything.
 * Sets *keep to the index of my first open query the peer defers (all
 * later ones are deferred too), or to the count of open queries.
 */
static int check(const struct ml_recon *r, const uint8_t *msg, size_t len, size_t *keep,
                 struct ml_buf *err)
{
	const struct query *o = r->open.v;
	size_t no = r->open.n, j = 0;
	unsigned used = 0;    /* ranges answering o[j] so far */
	bool partial = false; /* o[j] is a LIST answered by a partial LIST_FINAL so far */
	struct bound fin = {{0}, false}; /* where that LIST_FINAL ends */
	*keep = no;
	if (len == 0)
		return ML_OK;
	if (len > ML_RECON_MSG_MAX)
		return ml_errf(err, ML_EMALFORMED,
		               "reconciliation message of %zu bytes exceeds the limit of %u", len,
		               ML_RECON_MSG_MAX);
	if (msg[0] != ML_RECON_VERSION)
		return ml_errf(err, ML_EMALFORMED,
		               "reconciliation message version %u unknown (not %d)",
		               (unsigned)msg[0], ML_RECON_VERSION);
	struct stream s;
	struct range g;
	stream_init(&s, msg, len, 1);
	while (stream_next(&s, &g)) {
		size_t at = (size_t)(g.raw - msg);
		/* My queries that end before this range are behind us. */
		while (j < no && bound_cmp(&o[j].hi, &g.lo) <= 0) {
			j++;
			used = 0;
			partial = false;
		}
		if (g.mode == M_SKIP)
			continue;
		if (g.mode == M_DEFER) {
			if (!g.hi.inf)
				return malformed(err, at, "DEFER before the last range");
			if (j == no)
				return malformed(err, at, "DEFER of no open query");
			if (bound_cmp(&o[j].lo, &g.lo) < 0)
				return malformed(err, at, "DEFER starts inside a query");
			*keep = j;
			continue;
		}
		if (j == no || bound_cmp(&g.lo, &o[j].lo) < 0 || bound_cmp(&g.hi, &o[j].hi) > 0)
			return malformed(err, at, "range outside the queries it may answer");
		if (++used > ML_RECON_BRANCH)
			return malformed(err, at, "more than 16 ranges answer one query");
		if (o[j].mode == M_FP) {
			if (g.mode == M_FINAL)
				return malformed(err, at, "LIST_FINAL answers a FINGERPRINT");
			/* A split is into parts: each smaller than the whole. */
			if (g.mode == M_FP && bound_cmp(&g.lo, &o[j].lo) == 0 &&
			    bound_cmp(&g.hi, &o[j].hi) == 0)
				return malformed(err, at,
				                 "FINGERPRINT repeats the query it answers");
		} else if (g.mode == M_FINAL) {
			if (used != 1 || bound_cmp(&g.lo, &o[j].lo) != 0)
				return malformed(err, at,
				                 "LIST_FINAL does not start the LIST it answers");
			partial = bound_cmp(&g.hi, &o[j].hi) != 0;
			fin = g.hi;
			if (partial && g.count == 0)
				return malformed(err, at, "partial LIST_FINAL without items");
		} else if (g.mode == M_FP) {
			if (!partial || bound_cmp(&g.lo, &fin) != 0 ||
			    bound_cmp(&g.hi, &o[j].hi) != 0)
				return malformed(err, at,
				                 "FINGERPRINT answers a LIST not partly listed");
			partial = false;
		} else {
			return malformed(err, at, "LIST answers a LIST");
		}
	}
	if (s.rd.err)
		return malformed(err, s.rd.err_off, s.rd.what);
	if (s.rd.off != len)
		return malformed(err, s.rd.off, "trailing bytes after the range up to infinity");
	return ML_OK;
}

/* --- writing ---------------------------------------------------------------- */

static void put(struct wr *w, const void *p, size_t n)
{
	if (w->rc == ML_OK)
		w->rc = ml_buf_add(w->b, p, n);
}

static void put_u8(struct wr *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put_varint(struct wr *w, uint64_t v)
{
	uint8_t b[ML_VARINT_MAX];
	put(w, b, ml_varint_encode(v, b));
}

static void put_bound(struct wr *w, const struct bound *b)
{
	if (b->inf) {
		put_u8(w, BOUND_INF);
		return;
	}
	size_t n = bound_len(b);
	put_u8(w, (uint8_t)n);
	put(w, b->b, n);
}

/* Starts range [lo, hi) of `mode`, after a SKIP over any gap since the last range. */
static void wr_range(struct wr *w, uint8_t mode, const struct bound *lo, const struct bound *hi)
{
	if (bound_cmp(&w->pos, lo) < 0) {
		put_u8(w, M_SKIP);
		put_bound(w, lo);
	}
	put_u8(w, mode);
	put_bound(w, hi);
	w->pos = *hi;
}

/* Copies range g as it was encoded. */
static void wr_raw(struct wr *w, const struct range *g)
{
	if (bound_cmp(&w->pos, &g->lo) < 0) {
		put_u8(w, M_SKIP);
		put_bound(w, &g->lo);
	}
	put(w, g->raw, g->raw_len);
	w->pos = g->hi;
}

/* Ends the ranges with a SKIP up to infinity, unless they got there. */
static void wr_end(struct wr *w)
{
	static const struct bound inf = {{0}, true};
	if (!w->pos.inf)
		wr_range(w, M_SKIP, &w->pos, &inf);
}

/* Cuts b back to len bytes, keeping buf.h's NUL. */
static void buf_cut(struct ml_buf *b, size_t len)
{
	b->len = len;
	if (b->cap)
		b->data[len] = 0;
}

static void push_query(struct gen *g, uint8_t mode, const struct bound *lo, const struct bound *hi)
{
	struct query *v = ml_grow(g->q.v, &g->q.cap, g->q.n + 1, sizeof *v, 16);
	if (!v) {
		g->w.rc = ML_ENOMEM;
		return;
	}
	g->q.v = v;
	v[g->q.n++] = (struct query){*lo, *hi, mode};
}

static void push_report(struct gen *g, const struct bound *lo, const struct bound *hi,
                        const struct range *q)
{
	struct report *v = ml_grow(g->rep, &g->cap_rep, g->nrep + 1, sizeof *v, 16);
	if (!v) {
		g->w.rc = ML_ENOMEM;
		return;
	}
	g->rep = v;
	v[g->nrep++] = (struct report){*lo, *hi, q->items, q->items_len, q->count};
}

/* Writes FINGERPRINT [lo, hi) of my items [i, j): a query. */
static void emit_fp(struct gen *g, const struct bound *lo, const struct bound *hi, size_t i,
                    size_t j)
{
	uint8_t fp[FP_BYTES];
	fp_of(g->r, i, j, fp);
	wr_range(&g->w, M_FP, lo, hi);
	put_varint(&g->w, j - i);
	put(&g->w, fp, FP_BYTES);
	push_query(g, M_FP, lo, hi);
	g->said = true;
}

/* Writes a LIST (a query) or LIST_FINAL [lo, hi) of my items [i, j). */
static void emit_items(struct gen *g, uint8_t mode, const struct bound *lo, const struct bound *hi,
                       size_t i, size_t j)
{
	wr_range(&g->w, mode, lo, hi);
	put_varint(&g->w, j - i);
	for (size_t k = i; k < j; k++) {
		put(&g->w, g->r->items[k].key, 32);
		put_varint(&g->w, g->r->items[k].seq);
	}
	if (mode == M_LIST)
		push_query(g, M_LIST, lo, hi);
	g->said = true;
}

/* Splits [lo, hi), holding my items [i, j) (more than 16), into 16 FINGERPRINTs by count. */
static void emit_split(struct gen *g, const struct bound *lo, const struct bound *hi, size_t i,
                       size_t j)
{
	const struct ml_recon_item *it = g->r->items;
	uint64_t c = j - i;
	struct bound a = *lo;
	size_t s = i;
	assert(c > ML_RECON_LIST_MAX && ML_RECON_LIST_MAX >= ML_RECON_BRANCH);
	for (uint64_t t = 1; t <= ML_RECON_BRANCH; t++) {
		/* c > 16, so every part holds at least one item and e < j before the last part. */
		size_t e = i + (size_t)(c * t / ML_RECON_BRANCH);
		struct bound b = t == ML_RECON_BRANCH ? *hi : separator(it[e - 1].key, it[e].key);
		emit_fp(g, &a, &b, s, e);
		a = b;
		s = e;
	}
}

/* Bytes left for an answer starting at lo: after the gap before it, and room for the end. */
static size_t room(const struct gen *g, const struct bound *lo)
{
	size_t used = g->w.b->len - g->base + TAIL_MAX;
	if (bound_cmp(&g->w.pos, lo) < 0)
		used += 1 + bound_size(lo);
	return used < ML_RECON_MSG_MAX ? ML_RECON_MSG_MAX - used : 0;
}

/* True when the peer's list in q is exactly my items [i, j). */
static bool same_items(const struct ml_recon *r, size_t i, size_t j, const struct range *q)
{
	struct ml_reader rd;
	struct ml_recon_item it;
	if (q->count != j - i)
		return false;
	ml_rd_init(&rd, q->items, q->items_len);
	for (size_t k = i; k < j; k++) {
		rd_item(&rd, &it);
		if (memcmp(it.key, r->items[k].key, 32) != 0 || it.seq != r->items[k].seq)
			return false;
	}
	return true;
}

/* Answers the peer's LIST q over my items [i, j); false when no answer fits. */
static bool answer_list(struct gen *g, const struct range *q, size_t i, size_t j)
{
	const struct ml_recon_item *it = g->r->items;
	if (same_items(g->r, i, j, q))
		return true; /* SKIP: settled, nothing differs */
	size_t avail = room(g, &q->lo);
	size_t whole = 1 + bound_size(&q->hi) + varint_size(j - i);
	for (size_t k = i; k < j && whole <= avail; k++)
		whole += item_size(&it[k]);
	if (whole <= avail) {
		emit_items(g, M_FINAL, &q->lo, &q->hi, i, j);
		push_report(g, &q->lo, &q->hi, q);
		return true;
	}
	/* A prefix [i, m) up to a bound s, and my FINGERPRINT of the rest, which the peer answers
	 * with its list there.  Sizes: the worst bound for s and count varints for both. */
	size_t sum =
	    1 + 33 + varint_size(j - i) + 1 + bound_size(&q->hi) + varint_size(j - i) + FP_BYTES;
	size_t m = i;
	while (m + 1 < j && sum + item_size(&it[m]) <= avail)
		sum += item_size(&it[m++]);
	if (m == i || sum > avail)
		return false;
	struct bound s = separator(it[m - 1].key, it[m].key);
	emit_items(g, M_FINAL, &q->lo, &s, i, m);
	push_report(g, &q->lo, &s, q);
	emit_fp(g, &s, &q->hi, m, j);
	return true;
}

/* Answers the peer's query q; false (and nothing written) when the answer does not fit. */
static bool answer(struct gen *g, const struct range *q)
{
	const struct ml_recon *r = g->r;
	size_t i = lower(r, &q->lo), j = lower(r, &q->hi);
	if (q->mode == M_LIST)
		return answer_list(g, q, i, j);
	uint8_t fp[FP_BYTES];
	fp_of(r, i, j, fp);
	if (q->count == j - i && memcmp(fp, q->fp, FP_BYTES) == 0)
		return true; /* SKIP: equal */
	/* Both answers are small (at most ~1 KiB): write, and take back if over. */
	size_t len = g->w.b->len, nq = g->q.n;
	struct bound pos = g->w.pos;
	bool said = g->said;
	if (j - i <= ML_RECON_LIST_MAX)
		emit_items(g, M_LIST, &q->lo, &q->hi, i, j);
	else
		emit_split(g, &q->lo, &q->hi, i, j);
	if (g->w.rc == ML_OK && g->w.b->len - g->base + TAIL_MAX > ML_RECON_MSG_MAX) {
		buf_cut(g->w.b, len);
		g->q.n = nq;
		g->w.pos = pos;
		g->said = said;
		return false;
	}
	return true;
}

/* The next query of the message, noting the LIST_FINALs met on the way for reporting. */
static bool next_msg_query(struct gen *g, struct stream *s, struct range *q)
{
	while (stream_next(s, q)) {
		if (q->mode == M_FP || q->mode == M_LIST)
			return true;
		if (q->mode == M_FINAL)
			push_report(g, &q->lo, &q->hi, q);
	}
	return false;
}

static bool next_backlog_query(struct stream *s, struct range *q)
{
	while (stream_next(s, q)) {
		if (q->mode == M_FP || q->mode == M_LIST)
			return true;
	}
	return false;
}

/* --- reporting -------------------------------------------------------------- */

static int report_cmp(const void *a, const void *b)
{
	return bound_cmp(&((const struct report *)a)->lo, &((const struct report *)b)->lo);
}

/* Reads the next of the peer's items below p->hi into *it; false when none is left. */
static bool next_theirs(struct ml_reader *rd, uint64_t *left, const struct report *p,
                        struct ml_recon_item *it)
{
	if (*left == 0)
		return false;
	(*left)--;
	rd_item(rd, it);
	return key_below(it->key, &p->hi);
}

/* Reports the differences between the peer's items in p and mine in [p->lo, p->hi). */
static void report(const struct ml_recon *r, const struct report *p, ml_recon_diff_fn diff,
                   void *ctx)
{
	size_t i = lower(r, &p->lo), j = lower(r, &p->hi);
	struct ml_reader rd;
	struct ml_recon_item th;
	uint64_t left = p->k;
	ml_rd_init(&rd, p->items, p->items_len);
	bool have = next_theirs(&rd, &left, p, &th);
	while (i < j || have) {
		const struct ml_recon_item *me = i < j ? &r->items[i] : NULL;
		int c = !have ? -1 : !me ? 1 : memcmp(me->key, th.key, 32);
		if (c < 0) {
			diff(ctx, me->key, me->seq, 0);
			i++;
			continue;
		}
		if (c > 0) {
			diff(ctx, th.key, 0, th.seq);
		} else {
			if (me->seq != th.seq)
				diff(ctx, me->key, me->seq, th.seq);
			i++;
		}
		have = next_theirs(&rd, &left, p, &th);
	}
}

/* --- public ------------------------------------------------------------------ */

int ml_recon_new(const struct ml_recon_item *items, size_t n, struct ml_recon **out)
{
	*out = NULL;
	if ((n && !items) || n > ML_RECON_ITEMS_MAX || n >= SIZE_MAX)
		return ML_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (items[i].seq == 0 || (i && memcmp(items[i - 1].key, items[i].key, 32) >= 0))
			return ML_EINVAL;
	}
	if (sodium_init() < 0)
		return ML_EIO;
	struct ml_recon *r = ml_calloc(1, sizeof *r);
	if (!r)
		return ML_ENOMEM;
	r->items = items;
	r->n = n;
	r->acc = ml_calloc(n + 1, sizeof *r->acc);
	r->open.v = ml_malloc(sizeof *r->open.v);
	if (!r->acc || !r->open.v) {
		ml_recon_free(r);
		return ML_ENOMEM;
	}
	/* A responder's one open query: the initiator's first message answers it. */
	r->open.v[0] = (struct query){{{0}, false}, {{0}, true}, M_FP};
	r->open.n = r->open.cap = 1;
	for (size_t i = 0; i < n; i++) {
		uint8_t in[40], h[32];
		memcpy(in, items[i].key, 32);
		for (int k = 0; k < 8; k++)
			in[32 + k] = (uint8_t)(items[i].seq >> (8 * k));
		crypto_generichash(h, sizeof h, in, sizeof in, NULL, 0);
		for (size_t k = 0; k < FP_BYTES; k++)
			r->acc[i + 1][k] = r->acc[i][k] ^ h[k];
	}
	*out = r;
	return ML_OK;
}

void ml_recon_free(struct ml_recon *r)
{
	if (!r)
		return;
	ml_free(r->acc);
	ml_free(r->open.v);
	ml_buf_release(&r->backlog);
	ml_free(r);
}

int ml_recon_initiate(struct ml_recon *r, struct ml_buf *out)
{
	static const struct bound zero = {{0}, false}, inf = {{0}, true};
	if (r->started)
		return ML_EINVAL;
	struct gen g = {.r = r, .w = {.b = out, .pos = zero}, .base = out->len};
	put_u8(&g.w, ML_RECON_VERSION);
	if (r->n <= ML_RECON_LIST_MAX)
		emit_items(&g, M_LIST, &zero, &inf, 0, r->n);
	else
		emit_split(&g, &zero, &inf, 0, r->n);
	if (g.w.rc != ML_OK) {
		buf_cut(out, g.base);
		ml_free(g.q.v);
		return g.w.rc;
	}
	ml_free(r->open.v);
	r->open = g.q;
	r->started = true;
	r->quiet = false;
	return ML_OK;
}

int ml_recon_step(struct ml_recon *r, const uint8_t *msg, size_t len, struct ml_buf *out,
                  ml_recon_diff_fn diff, void *ctx, struct ml_buf *err)
{
	static const struct bound inf = {{0}, true};
	size_t keep;
	int rc = check(r, msg, len, &keep, err);
	if (rc != ML_OK)
		return rc;

	struct gen g = {.r = r, .w = {.b = out}, .base = out->len};
	struct ml_buf nb = ML_BUF_INIT; /* the new backlog */
	struct wr bw = {.b = &nb};
	struct qvec open = {NULL, 0, 0};
	struct stream ms, bs;
	struct range mq, bq;
	bool stopped = false;
	put_u8(&g.w, ML_RECON_VERSION);
	stream_init(&ms, msg, len, 1);
	stream_init(&bs, r->backlog.data, r->backlog.len, 0);
	bool hm = next_msg_query(&g, &ms, &mq), hb = next_backlog_query(&bs, &bq);
	/* The peer's new queries and the backlog are disjoint: answer both in key order. */
	while ((hm || hb) && g.w.rc == ML_OK && bw.rc == ML_OK) {
		bool from_msg = hm && (!hb || bound_cmp(&mq.lo, &bq.lo) < 0);
		struct range *q = from_msg ? &mq : &bq;
		if (!stopped && !answer(&g, q)) {
			stopped = true;
			wr_range(&g.w, M_DEFER, &q->lo, &inf);
			g.said = true;
		}
		if (stopped)
			wr_raw(&bw, q);
		if (from_msg)
			hm = next_msg_query(&g, &ms, &mq);
		else
			hb = next_backlog_query(&bs, &bq);
	}
	assert(ms.rd.err == ML_OK && bs.rd.err == ML_OK); /* both checked before */
	wr_end(&g.w);
	if (nb.len)
		wr_end(&bw);
	if (g.w.rc == ML_OK)
		g.w.rc = bw.rc;
	if (g.w.rc == ML_OK && nb.len > ML_RECON_BACKLOG_MAX)
		g.w.rc = ml_errf(err, ML_EMALFORMED,
		                 "reconciliation: the peer's unanswered queries exceed %u bytes",
		                 ML_RECON_BACKLOG_MAX);

	/* My open queries: those the peer defers, and this reply's, in key order. */
	size_t kept = r->open.n - keep;
	if (g.w.rc == ML_OK && kept + g.q.n) {
		open.v = ml_calloc(kept + g.q.n, sizeof *open.v);
		if (!open.v)
			g.w.rc = ML_ENOMEM;
		size_t a = keep, b = 0;
		while (open.v && (a < r->open.n || b < g.q.n)) {
			bool mine_first =
			    b == g.q.n ||
			    (a < r->open.n && bound_cmp(&r->open.v[a].lo, &g.q.v[b].lo) < 0);
			open.v[open.n++] = mine_first ? r->open.v[a++] : g.q.v[b++];
		}
		open.cap = open.n;
	}
	if (g.w.rc != ML_OK) {
		buf_cut(out, g.base);
		ml_buf_release(&nb);
		ml_free(open.v);
		ml_free(g.q.v);
		ml_free(g.rep);
		return g.w.rc;
	}
	/* Nothing to say and nothing awaited: the empty reply.  With queries of mine still in the
	 * peer's backlog, `01 00 ff` gives the peer its turn. */
	if (!g.said && open.n == 0)
		buf_cut(out, g.base);

	struct ml_buf old = r->backlog;
	ml_free(r->open.v);
	r->open = open;
	r->backlog = nb;
	r->started = true;
	r->quiet = out->len == g.base;
	/* Reports last, in key order, so that a callback sees a consistent state. */
	if (diff) {
		if (g.nrep > 1)
			qsort(g.rep, g.nrep, sizeof *g.rep, report_cmp);
		for (size_t k = 0; k < g.nrep; k++)
			report(r, &g.rep[k], diff, ctx);
	}
	ml_buf_release(&old);
	ml_free(g.q.v);
	ml_free(g.rep);
	return ML_OK;
}

bool ml_recon_done(const struct ml_recon *r)
{
	return r && r->quiet && r->open.n == 0 && r->backlog.len == 0;
}
