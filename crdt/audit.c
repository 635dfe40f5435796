/*
 * audit.c - verdicts for a set of ops from many feeds.
 *
 * Per feed, ops sorted by seq are cut into runs of consecutive seqs.  A seq
 * held by two different ops is a fork: both, and everything after them in
 * the feed, are rejected with ML_EFORK (equiv.h builds the proof).  Each
 * run is checked with ml_feed_verify_run; a run that starts after seq 1 is
 * checked from its first op on (the input holds only part of the feed).
 */
#include "audit.h"

#include "alloc.h"
#include "codec.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int feed_cmp(const struct ml_op *a, const struct ml_op *b)
{
	int c = memcmp(a->author.b, b->author.b, 32);
	if (!c)
		c = memcmp(ml_op_feed_unit(a)->b, ml_op_feed_unit(b)->b, 32);
	if (!c)
		c = (int)a->lane - (int)b->lane;
	return c;
}

/* qsort has no context argument in C17; the index array carries pointers instead. */
static int by_feed_seq(const void *x, const void *y)
{
	const struct ml_op *a = *(const struct ml_op *const *)x,
	                   *b = *(const struct ml_op *const *)y;
	int c = feed_cmp(a, b);
	if (c)
		return c;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return memcmp(a->id.b, b->id.b, 32);
}

/* Records the feed's first problem; "awaiting a signature" yields to any real one. */
static void set_feed_error(struct ml_audit_feed *f, int err, uint64_t seq, const char *msg)
{
	if (f->err && (f->err != ML_EAGAIN || err == ML_EAGAIN))
		return;
	f->err = err;
	f->err_seq = seq;
	snprintf(f->msg, sizeof f->msg, "%s", msg);
}

/*
 * Verifies one feed's ops, sorted by seq in ops[0..n), whose input positions
 * are orig[0..n).  Returns ML_OK or ML_ENOMEM; verdicts go to a->status.
 */
static int audit_feed(struct ml_audit *a, struct ml_audit_feed *f, const struct ml_op *ops,
                      const size_t *orig, size_t n)
{
	struct ml_buf err = ML_BUF_INIT;
	size_t i = 0;
	int result = ML_OK;
	while (i < n) {
		/* A run: consecutive seqs with one op each. */
		size_t j = i + 1;
		while (j < n && ops[j].seq == ops[j - 1].seq + 1)
			j++;
		bool fork = j < n && ops[j].seq == ops[j - 1].seq;
		size_t end = fork ? j - 1 : j; /* the forked seq is not part of the run */
		if (fork) {
			char m[160];
			snprintf(m, sizeof m,
			         "two different ops at seq %llu: the author forked the feed",
			         (unsigned long long)ops[j].seq);
			set_feed_error(f, ML_EFORK, ops[j].seq, m);
		}
		if (end > i) {
			size_t ok = 0;
			ml_buf_reset(&err);
			int rc = ml_feed_verify_run(NULL, ops + i, end - i, &ok, &err);
			if (rc == ML_ENOMEM) {
				result = rc;
				break;
			}
			for (size_t k = i; k < end; k++)
				a->status[orig[k]] = k - i < ok    ? ML_OK
				                     : rc == ML_OK ? ML_EAGAIN
				                                   : rc;
			if (rc < 0)
				set_feed_error(f, rc, ops[i + ok].seq, ml_buf_str(&err));
			else if (ok < end - i)
				set_feed_error(f, ML_EAGAIN, ops[i + ok].seq,
				               "the last ops wait for their batch's signature");
			f->authentic += ok;
		}
		if (fork) {
			for (size_t k = j - 1; k < n; k++)
				a->status[orig[k]] = ML_EFORK;
			break;
		}
		if (j < n) {
			char m[160];
			snprintf(m, sizeof m, "ops %llu to %llu are missing",
			         (unsigned long long)ops[j - 1].seq + 1,
			         (unsigned long long)ops[j].seq - 1);
			set_feed_error(f, ML_ESEQ, ops[j - 1].seq + 1, m);
		}
		i = j;
	}
	ml_buf_release(&err);
	return result;
}

int ml_audit_run(struct ml_audit *a, const struct ml_hash *net, const struct ml_op *ops, size_t n)
{
	memset(a, 0, sizeof *a);
	a->n_ops = n;
	a->status = ml_calloc(n, sizeof *a->status);
	a->feeds = ml_calloc(n, sizeof *a->feeds);
	/* The ops sorted by (feed, seq, id), copied so each feed's runs are contiguous
	 * for ml_feed_verify_run, with their input positions beside them. */
	const struct ml_op **order = ml_calloc(n, sizeof *order);
	struct ml_op *sorted = ml_calloc(n, sizeof *sorted);
	size_t *orig = ml_calloc(n, sizeof *orig);
	int rc = a->status && a->feeds && order && sorted && orig ? ML_OK : ML_ENOMEM;
	size_t m = 0;
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		if (ml_op_check_network(&ops[i], net, NULL) != ML_OK)
			a->status[i] = ML_EWRONGNET;
		else
			order[m++] = &ops[i];
	}
	if (rc == ML_OK) {
		qsort(order, m, sizeof *order, by_feed_seq);
		for (size_t i = 0; i < m; i++) {
			sorted[i] = *order[i];
			orig[i] = (size_t)(order[i] - ops);
		}
	}
	for (size_t i = 0; i < m && rc == ML_OK;) {
		size_t j = i + 1;
		while (j < m && feed_cmp(&sorted[i], &sorted[j]) == 0)
			j++;
		struct ml_audit_feed *f = &a->feeds[a->n_feeds++];
		f->feed = ml_feed_of(&sorted[i]);
		f->first_seq = sorted[i].seq;
		f->last_seq = sorted[j - 1].seq;
		f->ops = j - i;
		rc = audit_feed(a, f, sorted + i, orig + i, j - i);
		i = j;
	}
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		if (a->status[i] == ML_OK)
			a->authentic++;
		else if (a->status[i] == ML_EAGAIN)
			a->pending++;
		else
			a->rejected++;
	}
	ml_free(order);
	ml_free(sorted);
	ml_free(orig);
	if (rc != ML_OK)
		ml_audit_release(a);
	return rc;
}

void ml_audit_release(struct ml_audit *a)
{
	if (!a)
		return;
	ml_free(a->status);
	ml_free(a->feeds);
	a->status = NULL;
	a->feeds = NULL;
	a->n_feeds = a->n_ops = 0;
}

int ml_oplog_next(const uint8_t *p, size_t size, size_t *off, const uint8_t **op, size_t *len,
                  struct ml_buf *err)
{
	if (*off >= size)
		return ML_ENOTFOUND;
	struct ml_reader r;
	size_t start, n;
	ml_rd_init(&r, p + *off, size - *off);
	/* op map (1) + body (ML_BODY_MAX_DEPTH) */
	if (ml_rd_value(&r, ML_BODY_MAX_DEPTH + 1, &start, &n) != ML_OK) {
		ml_errf(err, r.err, "op starting at byte %zu: ", *off);
		ml_rd_describe(&r, err);
		return r.err;
	}
	if (n > ML_OP_MAX_BYTES)
		return ml_errf(err, ML_ETOOBIG,
		               "op starting at byte %zu is %zu bytes, more than %d", *off, n,
		               ML_OP_MAX_BYTES);
	*op = p + *off;
	*len = n;
	*off += n;
	return ML_OK;
}
