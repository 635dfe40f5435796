/*
 * audit.c - re-deriving a node's register from its raw log (see audit.h).
 */
#include "audit.h"

#include "node_int.h"
#include "read.h"

#include "crdt/alloc.h"
#include "crdt/err.h"
#include "crdt/limits.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AUDIT_BATCH 1024

static void problem(struct ml_audit_report *r, const char *fmt, const char *what, const uint8_t *id)
{
	if (r->first_problem[0])
		return;
	char hex[17] = "";
	if (id)
		ml_hex_encode(id, 8, hex);
	snprintf(r->first_problem, sizeof r->first_problem, fmt, what, hex);
}

/* Feeds the ops of sql (raw in column 0) to the fresh store in batches. */
static int replay(struct ml_store *s, struct ml_store *fresh, const char *sql,
                  struct ml_audit_report *r, struct ml_buf *err)
{
	sqlite3_stmt *st;
	int rc = ml_read_prepare(s, sql, &st, err);
	if (rc != ML_OK)
		return rc;
	struct ml_buf data = ML_BUF_INIT;
	size_t ends[AUDIT_BATCH], k = 0;
	const uint8_t *p[AUDIT_BATCH];
	size_t lens[AUDIT_BATCH];
	uint64_t now = 0;
	for (bool more = true; rc == ML_OK && (more || k);) {
		more = sqlite3_step(st) == SQLITE_ROW;
		if (more) {
			rc = ml_buf_add(&data, sqlite3_column_blob(st, 0),
			                (size_t)sqlite3_column_bytes(st, 0));
			ends[k++] = data.len;
		}
		if (rc != ML_OK || (more && k < AUDIT_BATCH) || k == 0)
			continue;
		for (size_t i = 0; i < k; i++) {
			p[i] = data.data + (i ? ends[i - 1] : 0);
			lens[i] = ends[i] - (i ? ends[i - 1] : 0);
		}
		struct ml_ingest_result res;
		/* The clock bound is about arrival; an audit accepts what was accepted then. */
		now = UINT64_MAX / 2;
		rc = ml_store_ingest(fresh, p, lens, k, now, &res, err);
		if (rc == ML_OK && res.refused) {
			r->failed_verification += res.refused;
			if (!r->first_problem[0])
				snprintf(r->first_problem, sizeof r->first_problem,
				         "a stored op fails verification: %.300s",
				         res.first_message);
		}
		k = 0;
		ml_buf_reset(&data);
	}
	sqlite3_finalize(st);
	ml_buf_release(&data);
	return rc;
}

/* Counts one fresh verdict (status, rejection code) into r. */
static void count_verdict(struct ml_audit_report *r, int status, int code)
{
	if (status == 2) {
		r->applied++;
	} else if (status == 3) {
		r->rejected++;
		if (code == ML_EUNAUTH)
			r->unauthorised++;
		else if (code == ML_EREVOKED)
			r->revoked++;
		else
			r->other_rejected++;
	} else {
		r->waiting++;
	}
}

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Compares verdicts op by op: ids in both stores, ordered. */
static int compare(struct ml_store *s, struct ml_store *fresh, struct ml_audit_report *r,
                   struct ml_buf *err)
{
	static const char sql[] = "SELECT o.id, o.status, o.code, f.unit FROM ops o"
	                          " JOIN feeds f ON f.id = (o.key >> 32) ORDER BY o.id";
	sqlite3_stmt *a, *b;
	int rc = ml_read_prepare(s, sql, &a, err);
	if (rc != ML_OK)
		return rc;
	if ((rc = ml_read_prepare(fresh, sql, &b, err)) != ML_OK) {
		sqlite3_finalize(a);
		return rc;
	}
	bool ha = sqlite3_step(a) == SQLITE_ROW, hb = sqlite3_step(b) == SQLITE_ROW;
	while (ha || hb) {
		int c = !ha   ? 1
		        : !hb ? -1
		              : memcmp(sqlite3_column_blob(a, 0), sqlite3_column_blob(b, 0), 32);
		if (c < 0) { /* the node has an op the fresh store refused: counted by replay */
			ha = sqlite3_step(a) == SQLITE_ROW;
			continue;
		}
		if (c > 0) {
			r->missing++;
			problem(r, "%s %s... is in the log but not listed by the node", "op",
			        sqlite3_column_blob(b, 0));
			hb = sqlite3_step(b) == SQLITE_ROW;
			continue;
		}
		int sa = sqlite3_column_int(a, 1), sb = sqlite3_column_int(b, 1);
		int ca = sqlite3_column_int(a, 2), cb = sqlite3_column_int(b, 2);
		bool counted = !r->units || (sqlite3_column_bytes(b, 3) == 32 &&
		                             bsearch(sqlite3_column_blob(b, 3), r->units,
		                                     r->n_units, sizeof *r->units, cmp_hash));
		if (counted)
			count_verdict(r, sb, cb);
		if (sa != sb || (sb == 3 && ca != cb)) {
			r->verdict_mismatch++;
			problem(r,
			        "%s of op %s... differs from the verdict re-derived from the log",
			        "the stored verdict", sqlite3_column_blob(a, 0));
		}
		ha = sqlite3_step(a) == SQLITE_ROW;
		hb = sqlite3_step(b) == SQLITE_ROW;
	}
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	return ML_OK;
}

/*
 * The register's query columns, which the state hash leaves out because
 * they are derived from the records it covers: an edit of them alone (a
 * name changed in the members table) must still show.  Node-local columns
 * (row ids, feed numbers, op keys) are left out.
 */
static const char query_columns[] =
    "id, unit, create_unit, state, status, number, full_name, id_number, name_fold,"
    " first_approval_ms, pending, origin, has_transfers, official, draft, n_conflicts";

static int digest(struct ml_store *s, struct ml_hash *out, struct ml_buf *err)
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 32);
	int rc = ml__members_by_id(s, query_columns, ml__hash_row, &h, err);
	crypto_generichash_final(&h, out->b, 32);
	return rc;
}

int ml_audit_store(struct ml_store *s, const char *scratch_path, struct ml_audit_report *r,
                   struct ml_buf *err)
{
	const struct ml_hash *units = r->units;
	size_t n_units = r->n_units;
	memset(r, 0, sizeof *r);
	r->units = units;
	r->n_units = n_units;
	struct ml_hash net;
	if (!ml_store_network(s, &net))
		return ml_errf(err, ML_EINVAL, "the node has no network yet: nothing to audit");
	unlink(scratch_path);
	struct ml_store *fresh = NULL;
	int rc = ml_store_open(scratch_path, ML_STORE_CREATE, &fresh, err);
	if (rc == ML_OK)
		rc = ml_store_set_network(fresh, &net, err);
	if (rc == ML_OK)
		ml_store_set_max_waiting(fresh, INT64_MAX / 2);
	int64_t n = 0;
	if (rc == ML_OK && ml_read_int(s, "SELECT count(*) FROM ops", NULL, 0, &n, err) == ML_OK)
		r->ops = (uint64_t)n;
	/* Fork evidence first: the fresh store must prove the same forks. */
	if (rc == ML_OK)
		rc = replay(s, fresh, "SELECT raw FROM forks ORDER BY feed, seq", r, err);
	if (rc == ML_OK)
		rc = replay(s, fresh, "SELECT raw FROM ops ORDER BY eval IS NULL, eval, key", r,
		            err);
	if (rc == ML_OK)
		rc = compare(s, fresh, r, err);
	if (rc == ML_OK &&
	    ml_read_int(fresh, "SELECT count(*) FROM evidence", NULL, 0, &n, err) == ML_OK)
		r->forks = (uint64_t)n;
	if (rc == ML_OK)
		rc = ml_store_state_hash(s, &r->node_hash, err);
	if (rc == ML_OK)
		rc = ml_store_state_hash(fresh, &r->fresh_hash, err);
	struct ml_hash qa, qb;
	if (rc == ML_OK)
		rc = digest(s, &qa, err);
	if (rc == ML_OK)
		rc = digest(fresh, &qb, err);
	bool columns_agree = rc == ML_OK && ml_hash_eq(&qa, &qb);
	if (rc == ML_OK && !columns_agree && !r->first_problem[0])
		snprintf(r->first_problem, sizeof r->first_problem,
		         "the node's members table differs from the one re-derived from its log "
		         "(a column was changed outside memberlog)");
	if (rc == ML_OK && !ml_hash_eq(&r->node_hash, &r->fresh_hash) && !r->first_problem[0])
		snprintf(r->first_problem, sizeof r->first_problem,
		         "the node's register differs from the register re-derived from its log "
		         "(a table was changed outside memberlog)");
	r->holds = rc == ML_OK && !r->failed_verification && !r->verdict_mismatch && !r->missing &&
	           ml_hash_eq(&r->node_hash, &r->fresh_hash) && columns_agree;
	ml_store_close(fresh);
	unlink(scratch_path);
	char side[4200];
	snprintf(side, sizeof side, "%s-wal", scratch_path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", scratch_path);
	unlink(side);
	return rc;
}
