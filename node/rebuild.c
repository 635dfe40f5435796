/*
 * rebuild.c - re-judging everything, revocations in effect, and the state hash.
 *
 * Revocations (docs/REGISTER.md §3) take effect in stamp order: each is
 * decided once every earlier-stamped one is decided, by judging the whole
 * log under the cuts already in effect.  A rebuild therefore runs one pass
 * per revocation that takes effect, plus one: each pass clears the views and
 * re-judges every judged op in its original evaluation order (a valid causal
 * order), so the result depends only on the stored ops.
 */
#include "opindex.h"
#include "view.h"

#include "crdt/alloc.h"
#include "crdt/codec.h"
#include "crdt/err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* --- revocations in effect ------------------------------------------------ */

void ml__revs_release(struct ml_store *s)
{
	for (size_t i = 0; i < s->n_revs; i++)
		ml_free(s->revs[i].cuts);
	ml_free(s->revs);
	s->revs = NULL;
	s->n_revs = 0;
}

uint64_t ml__cut_of(const struct ml_store *s, const struct ml_feed_id *key)
{
	uint64_t cut = ML_STORE_MAX_SEQ;
	for (size_t i = 0; i < s->n_revs; i++) {
		const struct revocation *r = &s->revs[i];
		if (!ml_pubkey_eq(&r->device, &key->author))
			continue;
		uint64_t c = 0; /* feeds a revocation does not list are cut entirely */
		for (size_t k = 0; k < r->n; k++)
			if (r->cuts[k].lane == key->lane &&
			    ml_hash_eq(&r->cuts[k].unit, &key->unit))
				c = r->cuts[k].seq;
		if (c < cut)
			cut = c;
	}
	return cut;
}

bool ml__rev_in_effect(const struct ml_store *s, const struct ml_hash *op)
{
	for (size_t i = 0; i < s->n_revs; i++)
		if (ml_hash_eq(&s->revs[i].op, op))
			return true;
	return false;
}

/* Adds a revocation's cuts, read from its body, to those in effect. */
static int rev_add(struct ml_store *s, const struct ml_hash *op_id, const struct ml_body *body)
{
	struct revocation *v = ml_realloc(s->revs, (s->n_revs + 1) * sizeof *v);
	if (!v)
		return ML_ENOMEM;
	s->revs = v;
	struct revocation *r = &s->revs[s->n_revs];
	memset(r, 0, sizeof *r);
	r->op = *op_id;
	ml_body_pubkey(body, "device", &r->device, NULL);
	const struct ml_body_field *f = ml_body_get(body, "cuts");
	struct ml_reader rd;
	ml_rd_init(&rd, f->val, f->vlen);
	uint64_t n = ml_rd_array(&rd);
	r->cuts = ml_calloc(n ? n : 1, sizeof *r->cuts);
	if (!r->cuts)
		return ML_ENOMEM;
	for (uint64_t i = 0; i < n && !rd.err; i++) {
		size_t len;
		ml_rd_array(&rd);
		const uint8_t *u = ml_rd_bytes(&rd, &len);
		const uint8_t *l = ml_rd_text(&rd, &len);
		uint64_t seq = ml_rd_uint(&rd);
		if (rd.err)
			break;
		memcpy(r->cuts[i].unit.b, u, 32);
		r->cuts[i].lane = l[0] == 'r' ? ML_LANE_REG : ML_LANE_GOV;
		r->cuts[i].seq = seq;
		r->n++;
	}
	s->n_revs++;
	return ML_OK;
}

int ml__revs_load(struct ml_store *s, struct ml_buf *err)
{
	ml__revs_release(s);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT op FROM revocations", -1, &st, NULL) != SQLITE_OK)
		return ml__sqlerr(s, "read revocations", err);
	/* Each op is found through the op index: ops has no index on id, and a scan of every
	 * op made each store open cost 150 ms at 1M ops. */
	struct ml_buf raw = ML_BUF_INIT;
	int rc = ML_OK, q;
	while (rc == ML_OK && (q = sqlite3_step(st)) == SQLITE_ROW) {
		struct ml_hash id;
		int64_t key;
		if (sqlite3_column_bytes(st, 0) != 32)
			continue;
		memcpy(id.b, sqlite3_column_blob(st, 0), 32);
		ml_buf_reset(&raw);
		rc = ml__opindex_find(s, &id, &key, NULL, err);
		if (rc == ML_OK)
			rc = ml__op_bytes(s, key, &raw, NULL, err);
		struct ml_op op;
		struct ml_body b;
		if (rc == ML_OK && ml_op_parse(raw.data, raw.len, &op, NULL) == ML_OK &&
		    ml_body_parse(&b, op.body, op.body_len, NULL) == ML_OK)
			rc = rev_add(s, &op.id, &b);
		else if (rc == ML_ENOTFOUND)
			rc = ML_OK;
	}
	if (rc == ML_OK && q != SQLITE_DONE)
		rc = ml__sqlerr(s, "read revocations", err);
	sqlite3_finalize(st);
	ml_buf_release(&raw);
	return rc;
}

/* Writes the cuts of a revocation in effect to the cuts table (for reports and reloads). */
static int write_cuts(struct judge *j, struct ml_buf *err)
{
	struct ml_store *s = j->s;
	const struct revocation *r = NULL;
	for (size_t i = 0; i < s->n_revs; i++)
		if (ml_hash_eq(&s->revs[i].op, &j->op->id))
			r = &s->revs[i];
	char *msg = NULL;
	sqlite3_stmt *st;
	int rc = ML_OK;
	if (sqlite3_prepare_v2(s->db,
	                       "INSERT OR IGNORE INTO revocations (op, device) VALUES (?1, ?2)", -1,
	                       &st, NULL) != SQLITE_OK)
		return ml__sqlerr(s, "record revocation", err);
	sqlite3_bind_blob(st, 1, j->op->id.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, r->device.b, 32, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = ml__sqlerr(s, "record revocation", err);
	sqlite3_finalize(st);
	sqlite3_free(msg);
	for (size_t k = 0; k < r->n && rc == ML_OK; k++) {
		st = ml__stmt(s, ST_CUT_ADD);
		if (!st)
			return ml__sqlerr(s, "record cut", err);
		sqlite3_bind_blob(st, 1, j->op->id.b, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, r->device.b, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, r->cuts[k].unit.b, 32, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, r->cuts[k].lane);
		sqlite3_bind_int64(st, 5, (int64_t)r->cuts[k].seq);
		rc = ml__exec(s, st, "record cut", err);
	}
	return rc;
}

int ml__apply_revoke(struct judge *j, struct ml_buf *err)
{
	struct ml_store *s = j->s;
	if (!s->rebuilding) {
		/* Whether and when it takes effect depends on every other revocation. */
		s->need_rebuild = true;
		return ML_OK;
	}
	if (ml__rev_in_effect(s, &j->op->id))
		return write_cuts(j, err);
	struct rev_candidate *c = ml_grow(s->cands, &s->cap_cands, s->n_cands + 1, sizeof *c, 8);
	if (!c)
		return ML_ENOMEM;
	s->cands = c;
	s->cands[s->n_cands++] = (struct rev_candidate){j->stamp, j->key};
	return ML_OK;
}

/* --- rebuild ------------------------------------------------------------------ */

/* One pass: clear the views and re-judge every judged op in evaluation order. */
static int pass(struct ml_store *s, struct ml_buf *err)
{
	int rc = ml__view_clear(s, err);
	if (rc != ML_OK)
		return rc;
	ml__frontiers_forget(s);
	s->n_cands = 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT key FROM ops WHERE eval IS NOT NULL ORDER BY eval",
	                       -1, &st, NULL) != SQLITE_OK)
		return ml__sqlerr(s, "list ops", err);
	int64_t *keys = NULL;
	size_t n = 0, cap = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t *k = ml_grow(keys, &cap, n + 1, sizeof *k, 1024);
		if (!k) {
			rc = ML_ENOMEM;
			break;
		}
		keys = k;
		keys[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	struct ml_buf raw = ML_BUF_INIT;
	struct ml_ingest_result res;
	memset(&res, 0, sizeof res);
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		ml_buf_reset(&raw);
		struct ml_hash id;
		struct ml_op op;
		rc = ml__op_bytes(s, keys[i], &raw, &id, err);
		if (rc == ML_ENOTFOUND) {
			rc = ML_OK;
			continue;
		}
		if (rc == ML_OK && ml_op_parse_known(raw.data, raw.len, &id, &op, NULL) == ML_OK)
			rc = ml__judge(s, keys[i], &op, NULL, -1, NULL, &res, err);
	}
	ml_buf_release(&raw);
	ml_free(keys);
	return rc;
}

static int by_stamp(const void *a, const void *b)
{
	return ml_stamp_cmp(&((const struct rev_candidate *)a)->stamp,
	                    &((const struct rev_candidate *)b)->stamp);
}

int ml__rebuild_locked(struct ml_store *s, struct ml_buf *err)
{
	s->rebuilding = true;
	ml__revs_release(s);
	/* Every revocation op, in stamp order: decided one by one. */
	struct ml_stamp *decided = NULL;
	size_t n_decided = 0;
	int rc = ML_OK;
	for (int round = 0; rc == ML_OK; round++) {
		rc = pass(s, err);
		if (rc != ML_OK)
			break;
		if (s->n_cands)
			qsort(s->cands, s->n_cands, sizeof *s->cands, by_stamp);
		/* The earliest valid revocation not yet decided takes effect. */
		const struct rev_candidate *next = NULL;
		for (size_t i = 0; i < s->n_cands && !next; i++) {
			bool done = false;
			for (size_t k = 0; k < n_decided && !done; k++)
				done = ml_stamp_cmp(&decided[k], &s->cands[i].stamp) == 0;
			if (!done && (n_decided == 0 || ml_stamp_cmp(&s->cands[i].stamp,
			                                             &decided[n_decided - 1]) > 0))
				next = &s->cands[i];
		}
		if (!next)
			break;
		struct ml_stamp *d = ml_realloc(decided, (n_decided + 1) * sizeof *d);
		if (!d) {
			rc = ML_ENOMEM;
			break;
		}
		decided = d;
		decided[n_decided++] = next->stamp;
		/* Put it in effect and judge everything again under its cuts. */
		sqlite3_stmt *q = ml__stmt(s, ST_OP_BY_KEY);
		sqlite3_bind_int64(q, 1, next->key);
		struct ml_buf raw = ML_BUF_INIT;
		if (sqlite3_step(q) == SQLITE_ROW)
			ml_buf_add(&raw, sqlite3_column_blob(q, 2),
			           (size_t)sqlite3_column_bytes(q, 2));
		sqlite3_reset(q);
		struct ml_op op;
		struct ml_body b;
		if (ml_op_parse(raw.data, raw.len, &op, NULL) == ML_OK &&
		    ml_body_parse(&b, op.body, op.body_len, NULL) == ML_OK)
			rc = rev_add(s, &op.id, &b);
		ml_buf_release(&raw);
	}
	/* Revocations that did not take effect are listed as such in the last pass. */
	for (size_t i = 0; i < s->n_cands && rc == ML_OK; i++) {
		sqlite3_stmt *st = ml__stmt(s, ST_OP_SET_STATUS);
		sqlite3_bind_int64(st, 1, s->cands[i].key);
		sqlite3_bind_int(st, 2, OP_REJECTED);
		sqlite3_bind_int(st, 3, ML_EREVOKED);
		sqlite3_bind_text(
		    st, 4,
		    "ML_EREVOKED: an earlier revocation took effect first and this one "
		    "no longer holds",
		    -1, SQLITE_STATIC);
		rc = ml__exec(s, st, "record verdict", err);
	}
	ml_free(decided);
	/* The passes gave ops new pasts: the feeds' cached pasts of their judged
	 * heads are stale; -1 makes the next judgement read the head's row. */
	if (rc == ML_OK &&
	    sqlite3_exec(s->db, "UPDATE feeds SET judged_past = -1", NULL, NULL, NULL) != SQLITE_OK)
		rc = ml__sqlerr(s, "reset feed pasts", err);
	for (size_t i = 0; i < s->n_feeds; i++) {
		s->feeds[i]->judged_past = -1;
		s->feeds[i]->dirty = true;
	}
	s->n_cands = 0;
	s->rebuilding = false;
	s->need_rebuild = false;
	return rc;
}

int ml_store_rebuild(struct ml_store *s, struct ml_buf *err)
{
	s->fault = ML_OK;
	int rc = ml__begin(s, err);
	if (rc != ML_OK)
		return rc;
	int64_t eval_before = s->next_eval;
	rc = ml__rebuild_locked(s, err);
	if (rc == ML_OK)
		rc = ml__feeds_flush(s, err);
	if (rc == ML_OK)
		rc = ml__meta_set(s, "next_eval", &s->next_eval, 8, err);
	if (rc == ML_OK)
		rc = ml__commit(s, err);
	if (rc != ML_OK) {
		ml__rollback(s);
		s->next_eval = eval_before;
	}
	return rc;
}

/* --- state hash ------------------------------------------------------------------ */

void ml__hash_row(void *state, sqlite3_stmt *st)
{
	crypto_generichash_state *h = state;
	int cols = sqlite3_column_count(st);
	for (int c = 0; c < cols; c++) {
		uint8_t tag[9];
		switch (sqlite3_column_type(st, c)) {
		case SQLITE_NULL:
			tag[0] = 0;
			crypto_generichash_update(h, tag, 1);
			break;
		case SQLITE_INTEGER: {
			uint64_t v = (uint64_t)sqlite3_column_int64(st, c);
			tag[0] = 1;
			for (int i = 0; i < 8; i++)
				tag[1 + i] = (uint8_t)(v >> (56 - 8 * i));
			crypto_generichash_update(h, tag, 9);
			break;
		}
		default: {
			const void *p = sqlite3_column_blob(st, c);
			uint32_t n = (uint32_t)sqlite3_column_bytes(st, c);
			tag[0] = 2;
			for (int i = 0; i < 4; i++)
				tag[1 + i] = (uint8_t)(n >> (24 - 8 * i));
			crypto_generichash_update(h, tag, 5);
			if (n)
				crypto_generichash_update(h, p, n);
			break;
		}
		}
	}
}

/* Hashes every row of a query. */
static int hash_query(struct ml_store *s, crypto_generichash_state *h, const char *name,
                      const char *sql, struct ml_buf *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return ml__sqlerr(s, "state hash", err);
	crypto_generichash_update(h, (const uint8_t *)name, strlen(name) + 1);
	int q;
	while ((q = sqlite3_step(st)) == SQLITE_ROW)
		ml__hash_row(h, st);
	sqlite3_finalize(st);
	return q == SQLITE_DONE ? ML_OK : ml__sqlerr(s, "state hash", err);
}

int ml__members_by_id(struct ml_store *s, const char *columns,
                      void (*each)(void *ctx, sqlite3_stmt *row), void *ctx, struct ml_buf *err)
{
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT %s FROM members WHERE rid = ?1", columns);
	sqlite3_stmt *order = NULL, *row = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT rid FROM members ORDER BY id", -1, &order, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, sql, -1, &row, NULL) != SQLITE_OK) {
		sqlite3_finalize(order);
		return ml__sqlerr(s, "read members in id order", err);
	}
	int q, r = SQLITE_ROW;
	while (r == SQLITE_ROW && (q = sqlite3_step(order)) == SQLITE_ROW) {
		sqlite3_bind_int64(row, 1, sqlite3_column_int64(order, 0));
		if ((r = sqlite3_step(row)) == SQLITE_ROW)
			each(ctx, row);
		sqlite3_reset(row);
	}
	sqlite3_finalize(order);
	sqlite3_finalize(row);
	return q == SQLITE_DONE && r == SQLITE_ROW ? ML_OK
	                                           : ml__sqlerr(s, "read members in id order", err);
}

int ml_store_state_hash(struct ml_store *s, struct ml_hash *out, struct ml_buf *err)
{
	static const struct {
		const char *name, *sql;
	} parts[] = {
	    {"verdicts", "SELECT id, status, code FROM ops WHERE status >= 2 ORDER BY id"},
	    {"units", "SELECT id, parent, create_parent, name, level, sector, status, merged_into"
	              " FROM units ORDER BY id"},
	    {"unit_ends", "SELECT op, unit, kind, into_unit FROM unit_ends ORDER BY op"},
	    {"unit_moves", "SELECT op, unit, to_unit FROM unit_moves ORDER BY op"},
	    {"grants", "SELECT op, device, role, unit FROM grants ORDER BY op"},
	    {"cuts", "SELECT op, device, unit, lane, seq FROM cuts ORDER BY op, unit, lane"},
	    {"ranges", "SELECT op, unit, by_unit, start, count FROM ranges ORDER BY op"},
	    {"members", NULL}, /* ml__members_by_id */
	    {"conflicts", "SELECT kind, subject, a, b FROM conflicts ORDER BY kind, subject, a, b"},
	    {"duplicates", "SELECT a, b, id_number FROM duplicates ORDER BY a, b"},
	    {"duplicate_decisions",
	     "SELECT a, b, decision, op FROM duplicate_decisions ORDER BY a, b"},
	    {"directives", "SELECT op, unit, title, date, reference FROM directives ORDER BY op"},
	};
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, sizeof out->b);
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		int rc = ML_OK;
		if (parts[i].sql) {
			rc = hash_query(s, &h, parts[i].name, parts[i].sql, err);
		} else {
			crypto_generichash_update(&h, (const uint8_t *)parts[i].name,
			                          strlen(parts[i].name) + 1);
			rc = ml__members_by_id(
			    s,
			    "id, unit, create_unit, state, status, number, pending,"
			    " origin, first_approval_ms, official, draft",
			    ml__hash_row, &h, err);
		}
		if (rc != ML_OK)
			return rc;
	}
	crypto_generichash_final(&h, out->b, sizeof out->b);
	return ML_OK;
}
