/*
 * equiv.c - building and checking equivocation evidence.
 *
 * Record (canonical CBOR, keys in canonical order):
 *
 *   { "a": [bstr op, ...],   chain starting at the forked position
 *     "b": [bstr op, ...],   the other chain; first id of a < first id of b
 *     "v": 1 }
 *
 * Each chain is 1..ML_EQUIV_MAX_CHAIN consecutive ops of the feed, the last
 * one signed.  Ordering the chains by their first ids makes the record for a
 * given pair of chains unique.
 */
#include "equiv.h"

#include "alloc.h"
#include "codec.h"
#include "err.h"

#include <string.h>

#define EQUIV_VERSION 1

/* Checks that a chain is authentic as a whole: continuity, signed end, signatures. */
static int check_chain(const struct ml_op *ops, size_t n, const char *side, struct ml_buf *err)
{
	if (n == 0 || n > ML_EQUIV_MAX_CHAIN)
		return ml_errf(err, ML_EINVAL, "chain %s must hold 1 to %d ops", side,
		               ML_EQUIV_MAX_CHAIN);
	size_t ok;
	int rc = ml_feed_verify_run(NULL, ops, n, &ok, err);
	if (rc == ML_OK && ok != n)
		rc = ml_errf(err, ML_EBATCH, "chain %s does not end with a signed op", side);
	if (rc < 0)
		ml_err_prefix(err, "chain %s: ", side);
	return rc;
}

/* Checks the two chains fork one feed and fills ev. */
static int check_fork(const struct ml_op *a, size_t na, const struct ml_op *b, size_t nb,
                      struct ml_equiv *ev, struct ml_buf *err)
{
	int rc = check_chain(a, na, "a", err);
	if (rc == ML_OK)
		rc = check_chain(b, nb, "b", err);
	if (rc < 0)
		return rc;
	struct ml_feed_id fa = ml_feed_of(&a[0]), fb = ml_feed_of(&b[0]);
	if (!ml_feed_id_eq(&fa, &fb) || !ml_hash_eq(ml_op_network(&a[0]), ml_op_network(&b[0])))
		return ml_errf(err, ML_EINVAL, "the chains belong to different feeds");
	if (a[0].seq != b[0].seq)
		return ml_errf(err, ML_EINVAL,
		               "the chains start at different positions (%llu, %llu)",
		               (unsigned long long)a[0].seq, (unsigned long long)b[0].seq);
	if (ml_hash_eq(&a[0].id, &b[0].id))
		return ml_errf(err, ML_EINVAL, "the chains start with the same op: no fork");
	if (ev) {
		ev->feed = fa;
		ev->seq = a[0].seq;
		bool swap = ml_hash_cmp(&a[0].id, &b[0].id) > 0;
		ev->a = swap ? b[0].id : a[0].id;
		ev->b = swap ? a[0].id : b[0].id;
	}
	return ML_OK;
}

static void write_chain(struct ml_writer *w, const struct ml_op *ops, size_t n)
{
	ml_wr_array(w, n);
	for (size_t i = 0; i < n; i++)
		ml_wr_bytes(w, ops[i].raw, ops[i].raw_len);
}

int ml_equiv_build(const struct ml_op *a, size_t na, const struct ml_op *b, size_t nb,
                   struct ml_buf *out, struct ml_equiv *ev, struct ml_buf *err)
{
	for (size_t i = 0; i < na + nb; i++) {
		const struct ml_op *op = i < na ? &a[i] : &b[i - na];
		if (!op->raw)
			return ml_errf(err, ML_EINVAL,
			               "evidence needs ops parsed from their bytes");
	}
	int rc = check_fork(a, na, b, nb, ev, err);
	if (rc < 0)
		return rc;
	if (ml_hash_cmp(&a[0].id, &b[0].id) > 0) {
		const struct ml_op *t = a;
		size_t tn = na;
		a = b, na = nb, b = t, nb = tn;
	}
	size_t start = out->len;
	struct ml_writer w;
	ml_wr_init(&w, out);
	ml_wr_map(&w, 3);
	ml_wr_cstr(&w, "a");
	write_chain(&w, a, na);
	ml_wr_cstr(&w, "b");
	write_chain(&w, b, nb);
	ml_wr_cstr(&w, "v");
	ml_wr_uint(&w, EQUIV_VERSION);
	if (w.err == ML_OK && out->len - start > ML_EQUIV_MAX_BYTES)
		w.err =
		    ml_errf(err, ML_ETOOBIG, "evidence would exceed %d bytes", ML_EQUIV_MAX_BYTES);
	if (w.err)
		out->len = start;
	return w.err;
}

/* Reads and decodes one chain into a freshly allocated array *ops (caller frees). */
static int read_chain(struct ml_reader *r, const struct ml_hash *net, const char *side,
                      struct ml_op **ops, size_t *n, struct ml_buf *err)
{
	*ops = NULL;
	*n = 0;
	uint64_t count = ml_rd_array(r);
	if (r->err)
		return r->err;
	if (count == 0 || count > ML_EQUIV_MAX_CHAIN)
		return ml_errf(err, ML_EINVAL, "chain %s must hold 1 to %d ops", side,
		               ML_EQUIV_MAX_CHAIN);
	struct ml_op *v = ml_calloc(count, sizeof *v);
	if (!v)
		return ML_ENOMEM;
	for (uint64_t i = 0; i < count; i++) {
		size_t len;
		const uint8_t *p = ml_rd_bytes(r, &len);
		if (!p) {
			ml_free(v);
			return r->err;
		}
		int rc = ml_op_decode(p, len, net, &v[i], err);
		if (rc < 0) {
			ml_err_prefix(err, "chain %s, op %llu: ", side, (unsigned long long)i + 1);
			ml_free(v);
			return rc;
		}
	}
	*ops = v;
	*n = count;
	return ML_OK;
}

int ml_equiv_verify(const uint8_t *p, size_t len, const struct ml_hash *net, struct ml_equiv *ev,
                    struct ml_buf *err)
{
	if (len > ML_EQUIV_MAX_BYTES)
		return ml_errf(err, ML_ETOOBIG, "evidence record larger than %d bytes",
		               ML_EQUIV_MAX_BYTES);
	struct ml_reader r;
	ml_rd_init(&r, p, len);
	struct ml_op *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	int rc = ML_OK;
	size_t klen;
	const uint8_t *k;

	if (ml_rd_map(&r) != 3 && !r.err)
		ml_rd_fail(&r, ML_EFIELD, 0, "evidence must be a map of a, b and v");
	k = ml_rd_text(&r, &klen);
	if (k && !(klen == 1 && k[0] == 'a'))
		ml_rd_fail(&r, ML_EFIELD, r.off - klen, "expected key \"a\"");
	if (!r.err)
		rc = read_chain(&r, net, "a", &a, &na, err);
	k = rc ? NULL : ml_rd_text(&r, &klen);
	if (k && !(klen == 1 && k[0] == 'b'))
		ml_rd_fail(&r, ML_EFIELD, r.off - klen, "expected key \"b\"");
	if (!r.err && rc == ML_OK)
		rc = read_chain(&r, net, "b", &b, &nb, err);
	k = rc ? NULL : ml_rd_text(&r, &klen);
	if (k && !(klen == 1 && k[0] == 'v'))
		ml_rd_fail(&r, ML_EFIELD, r.off - klen, "expected key \"v\"");
	if (rc == ML_OK && ml_rd_uint(&r) != EQUIV_VERSION && !r.err)
		rc = ml_errf(err, ML_EVERSION, "unknown evidence version");
	if (rc == ML_OK && r.err) {
		rc = ml_errf(err, r.err, "evidence: ");
		ml_rd_describe(&r, err);
	}
	if (rc == ML_OK && r.off != len)
		rc = ml_errf(err, ML_ETRAILING, "bytes after the evidence record");
	if (rc == ML_OK) {
		rc = check_fork(a, na, b, nb, ev, err);
		if (rc == ML_OK && ml_hash_cmp(&a[0].id, &b[0].id) > 0)
			rc = ml_errf(err, ML_ENONCANON, "chains not ordered by their first op id");
	}
	ml_free(a);
	ml_free(b);
	return rc;
}
