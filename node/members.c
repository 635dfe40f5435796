/*
 * members.c - member ops: their rules in the past, and their effects on the
 * members table, the search index, duplicates and conflicts.
 *
 * A member row lists the keys of every applied op about the member (the ops
 * column: 8-byte little-endian op keys, in the order they were applied), so
 * the record can be refolded (crdt/member.c) from the log itself, and a
 * past-only fold filters the ops by (feed, seq).  The row also holds the
 * folded result (its draft is NULL when it equals the official version) and
 * the member's summary, from which an op later than all the member's others
 * is judged and folded in without reading them (ml_member_step); any other op
 * reads them all.  A small cache (cache.c) keeps recently used members, so a
 * burst of ops about the same members does not re-read their rows.
 */
#include "opindex.h"
#include "read.h"
#include "view.h"

#include "crdt/alloc.h"
#include "crdt/codec.h"
#include "crdt/err.h"
#include "crdt/fields.h"
#include "crdt/number.h"

#include <stdio.h>
#include <string.h>

void ml__member_ctx_release(struct member_ctx *m)
{
	ml_buf_release(&m->keys);
	ml_buf_release(&m->sum);
	ml_buf_release(&m->official);
	ml_buf_release(&m->draft);
	ml_buf_release(&m->raw);
	ml_free(m->e);
	ml_free(m->at);
	ml_free(m->body_off);
	m->e = NULL;
	m->at = NULL;
	m->body_off = NULL;
	m->n = m->cap = 0;
	m->ops_loaded = false;
}

/* Points every entry's body into m->raw again (after raw moved). */
static void rebase_bodies(struct member_ctx *m)
{
	for (size_t i = 0; i < m->n; i++)
		m->e[i].body = m->raw.data + m->body_off[i];
}

static int reserve_entries(struct member_ctx *m, size_t need)
{
	if (need <= m->cap)
		return ML_OK;
	size_t cap = m->cap;
	struct ml_member_entry *e = ml_grow(m->e, &cap, need, sizeof *e, 8);
	if (!e)
		return ML_ENOMEM;
	m->e = e;
	struct pos *at = ml_realloc(m->at, cap * sizeof *at);
	if (!at)
		return ML_ENOMEM;
	m->at = at;
	size_t *off = ml_realloc(m->body_off, cap * sizeof *off);
	if (!off)
		return ML_ENOMEM;
	m->body_off = off;
	m->cap = cap;
	return ML_OK;
}

/* Makes the op encoded at m->raw[start..end), with id `id`, the member's next entry. */
static int add_entry(struct member_ctx *m, size_t start, size_t end, const struct ml_hash *id,
                     struct pos at)
{
	struct ml_op op;
	if (ml_op_parse_known(m->raw.data + start, end - start, id, &op, NULL) != ML_OK)
		return ML_ESTORE;
	struct ml_member_entry *e = &m->e[m->n];
	e->stamp = (struct ml_stamp){op.hlc, op.author, op.id};
	e->tag = (uint64_t)OP_KEY(at.feed, at.seq);
	e->type = ml_optype_of(op.type);
	e->unit = op.unit;
	e->body = op.body;
	e->body_len = op.body_len;
	m->body_off[m->n] = (size_t)(op.body - m->raw.data);
	m->at[m->n++] = at;
	return ML_OK;
}

/* Appends op (its encoding, at position at) to m's entries. */
static int append_op(struct member_ctx *m, const struct ml_op *op, struct pos at)
{
	int rc = reserve_entries(m, m->n + 1);
	size_t start = m->raw.len;
	if (rc == ML_OK)
		rc = ml_buf_add(&m->raw, op->raw, op->raw_len);
	if (rc != ML_OK)
		return rc;
	rebase_bodies(m);
	return add_entry(m, start, m->raw.len, &op->id, at);
}

static int add_key(struct ml_buf *keys, uint64_t k)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(k >> (8 * i));
	return ml_buf_add(keys, b, 8);
}

int ml__member_ops(struct ml_store *s, struct member_ctx *m, struct ml_buf *err)
{
	if (m->ops_loaded)
		return ML_OK;
	size_t n = m->keys.len / 8;
	m->n = 0;
	m->raw.len = 0;
	int rc = reserve_entries(m, n);
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		uint64_t k = (uint64_t)ml_read_op_key(m->keys.data + 8 * i);
		struct ml_hash id;
		size_t start = m->raw.len;
		rc = ml__op_bytes(s, (int64_t)k, &m->raw, &id, err);
		if (rc == ML_ENOTFOUND)
			rc = ml_errf(err, ML_ESTORE, "an applied op of a member is missing");
		/* Entries point into raw, which may still move: rebased below. */
		if (rc == ML_OK)
			rc = add_entry(m, start, m->raw.len, &id,
			               (struct pos){OP_KEY_FEED(k), OP_KEY_SEQ(k)});
	}
	if (rc == ML_OK)
		rebase_bodies(m);
	if (rc == ML_ESTORE && err && !err->len)
		ml_errf(err, ML_ESTORE, "an applied op of a member no longer parses");
	m->ops_loaded = rc == ML_OK;
	return rc;
}

/* Copies the text t (NULL: none) to out, cut to fit cap bytes; "" when none. */
static void copy_text(char *out, size_t cap, const char *t)
{
	size_t n = t ? strnlen(t, cap - 1) : 0;
	memcpy(out, t ? t : "", n);
	out[n] = '\0';
}

static int column_buf(sqlite3_stmt *st, int col, struct ml_buf *out)
{
	out->len = 0;
	return ml_buf_add(out, sqlite3_column_blob(st, col), (size_t)sqlite3_column_bytes(st, col));
}

/* Finding a member row by id through the op index: the row at rid is member id's. */
struct row_find {
	struct ml_store *s;
	const struct ml_hash *id;
	struct member_ctx *m; /* NULL: only find the rid */
	int64_t rid;
	struct ml_buf *err;
};

static int read_row(void *ctx, int64_t rid)
{
	struct row_find *f = ctx;
	struct ml_store *s = f->s;
	sqlite3_stmt *st = ml__stmt(s, ST_MEMBER_GET);
	if (!st)
		return ml__sqlerr(s, "read member", f->err);
	sqlite3_bind_int64(st, 1, rid);
	int q = sqlite3_step(st), rc = ML_ENOTFOUND;
	if (q == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32 &&
	    memcmp(sqlite3_column_blob(st, 0), f->id->b, 32) == 0) {
		f->rid = rid;
		rc = ML_OK;
	}
	struct member_ctx *m = rc == ML_OK ? f->m : NULL;
	if (m) {
		m->id = *f->id;
		m->rid = rid;
		m->created = (struct pos){OP_KEY_FEED(rid), OP_KEY_SEQ(rid)};
		m->has_transfers = sqlite3_column_int(st, 1);
		copy_text(m->name_fold, sizeof m->name_fold,
		          (const char *)sqlite3_column_text(st, 3));
		copy_text(m->full_name, sizeof m->full_name,
		          (const char *)sqlite3_column_text(st, 9));
		const unsigned char *num = sqlite3_column_text(st, 4);
		m->has_number = num && strlen((const char *)num) == 12;
		if (m->has_number)
			memcpy(m->number, num, 13);
		copy_text(m->id_number, sizeof m->id_number,
		          (const char *)sqlite3_column_text(st, 5));
		m->n_conflicts = sqlite3_column_int(st, 6);
		if (sqlite3_column_bytes(st, 7) == 32)
			memcpy(m->unit.b, sqlite3_column_blob(st, 7), 32);
		copy_text(m->state, sizeof m->state, (const char *)sqlite3_column_text(st, 8));
		if (sqlite3_column_bytes(st, 13) == 32)
			memcpy(m->create_unit.b, sqlite3_column_blob(st, 13), 32);
		copy_text(m->status, sizeof m->status, (const char *)sqlite3_column_text(st, 14));
		copy_text(m->origin, sizeof m->origin, (const char *)sqlite3_column_text(st, 15));
		rc = column_buf(st, 2, &m->keys);
		if (rc == ML_OK)
			rc = column_buf(st, 10, &m->sum);
		if (rc == ML_OK)
			rc = column_buf(st, 11, &m->official);
		if (rc == ML_OK)
			rc = column_buf(st, 12, &m->draft);
	}
	sqlite3_reset(st);
	if (q != SQLITE_ROW && q != SQLITE_DONE)
		return ml__sqlerr(s, "read member", f->err);
	return rc;
}

int ml__member_rid(struct ml_store *s, const struct ml_hash *id, int64_t *rid, struct ml_buf *err)
{
	struct row_find f = {.s = s, .id = id, .err = err};
	int rc = ml__opindex_each(s, id, read_row, &f, err);
	if (rc == ML_OK)
		*rid = f.rid;
	return rc;
}

int ml__member_load_row(struct ml_store *s, const struct ml_hash *id, struct member_ctx *m,
                        struct ml_buf *err)
{
	ml__member_recycle(s, m);
	int rc = ml__member_cached(s, id, m);
	if (rc != ML_ENOTFOUND)
		return rc;
	ml__member_reuse(s, m);
	struct row_find f = {.s = s, .id = id, .m = m, .err = err};
	return ml__opindex_each(s, id, read_row, &f, err);
}

int ml__member_load(struct ml_store *s, const struct ml_hash *id, struct member_ctx *m,
                    struct ml_buf *err)
{
	int rc = ml__member_load_row(s, id, m, err);
	return rc == ML_OK ? ml__member_ops(s, m, err) : rc;
}

/* Folds the member's entries that are in the past of j's op into j->mview. */
static int fold_in_past(struct judge *j)
{
	struct ml_member_entry *in = ml_calloc(j->m.n ? j->m.n : 1, sizeof *in);
	if (!in)
		return ML_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < j->m.n; i++)
		if (ml__in_past(j, j->m.at[i]))
			in[k++] = j->m.e[i];
	ml_member_view_release(&j->mview);
	int rc = ml_member_fold(&j->m.id, in, k, &j->mview);
	ml_free(in);
	return rc;
}

static struct pos pos_of_tag(uint64_t tag)
{
	return (struct pos){OP_KEY_FEED(tag), OP_KEY_SEQ(tag)};
}

/* The summary of j's member when it can answer for the past (it covers every op the row
 * lists, the member never moved, and one approval at most carried its number); NULL
 * otherwise. */
static const struct ml_member_sum *usable_sum(const struct judge *j, struct ml_member_sum *sum)
{
	if (j->m.has_transfers || ml_member_sum_parse(j->m.sum.data, j->m.sum.len, sum) != ML_OK ||
	    sum->n_entries != j->m.keys.len / 8 || (sum->flags & ML_SUM_NUMBERED_TWICE))
		return NULL;
	return sum;
}

/* j->mview for a member that never moved: managed where it was entered; numbered if an
 * approval in the past carried a number.  From the summary when `sum`, else from the ops. */
static int never_moved_in_past(struct judge *j, const struct ml_member_sum *sum)
{
	int rc = sum ? ML_OK : ml__member_ops(j->s, &j->m, j->err);
	if (rc != ML_OK)
		return rc;
	ml_member_view_release(&j->mview);
	memset(&j->mview, 0, sizeof j->mview);
	j->mview.state = ML_REC_UNKNOWN;
	if (sum) {
		/* The row's creating op is in the past (checked by the caller). */
		j->mview.unit = j->mview.create_unit = j->m.create_unit;
		j->mview.state = ML_REC_DRAFT;
		if ((sum->flags & ML_SUM_HAS_NUMBER) &&
		    ml__in_past(j, pos_of_tag(sum->number_tag))) {
			j->mview.has_number = true;
			memcpy(j->mview.number, sum->number, 12);
		}
		return ML_OK;
	}
	for (size_t i = 0; i < j->m.n; i++) {
		const struct ml_member_entry *e = &j->m.e[i];
		if (!ml__in_past(j, j->m.at[i]))
			continue;
		if ((ml_optype_info(e->type)->flags & ML_OTF_CREATES) &&
		    ml_hash_eq(&e->stamp.id, &j->m.id)) {
			j->mview.unit = j->mview.create_unit = e->unit;
			j->mview.state = ML_REC_DRAFT;
		} else if (e->type == ML_OT_MEMBER_APPROVE && !j->mview.has_number) {
			struct ml_body b;
			const char *num;
			size_t n;
			if (ml_body_parse(&b, e->body, e->body_len, NULL) == ML_OK &&
			    ml_body_text(&b, "number", &num, &n, NULL) == ML_OK && n == 12) {
				j->mview.has_number = true;
				memcpy(j->mview.number, num, 12);
			}
		}
	}
	return ML_OK;
}

/* MEMBERLOG_FOLD_CHECK: the summary's answer for the past must be the ops' answer. */
static int check_past_from_sum(struct judge *j, const struct ml_member_sum *sum)
{
	struct ml_member_view by_sum = j->mview;
	int rc = never_moved_in_past(j, NULL);
	if (rc == ML_OK &&
	    (by_sum.state != j->mview.state || !ml_hash_eq(&by_sum.unit, &j->mview.unit) ||
	     by_sum.has_number != j->mview.has_number ||
	     (by_sum.has_number && memcmp(by_sum.number, j->mview.number, 12) != 0)))
		rc = ml_errf(j->err, ML_ESTORE,
		             "member summary check: the summary (number tag %llx) and the ops "
		             "disagree on the member in an op's past",
		             (unsigned long long)sum->number_tag);
	return rc;
}

int ml__member_in_past(struct judge *j, const struct ml_hash *member)
{
	char x[17];
	ml_hex_encode(member->b, 8, x);
	int rc = ml__member_load_row(j->s, member, &j->m, j->err);
	if (rc == ML_ENOTFOUND || (rc == ML_OK && !ml__in_past(j, j->m.created)))
		return ml__reject(j, ML_EFIELD, "names member %s..., which its author had not seen",
		                  x);
	if (rc != ML_OK)
		return rc;
	if (j->m.keys.len / 8 >= ML_MEMBER_MAX_ENTRIES)
		return ml__reject(j, ML_ETOOBIG,
		                  "member %s... has %d ops, the most one member may have", x,
		                  ML_MEMBER_MAX_ENTRIES);
	j->have_member = true;
	if (j->m.has_transfers) {
		/* Where the member is managed depends on which transfers were approved in
		 * the past: fold what the past holds. */
		if ((rc = ml__member_ops(j->s, &j->m, j->err)) != ML_OK ||
		    (rc = fold_in_past(j)) != ML_OK)
			return rc;
		if (j->mview.state == ML_REC_UNKNOWN)
			return ml__reject(j, ML_EFIELD,
			                  "member %s... has no creating op in its past", x);
		return ML_OK;
	}
	struct ml_member_sum buf;
	const struct ml_member_sum *sum = usable_sum(j, &buf);
	if ((rc = never_moved_in_past(j, sum)) != ML_OK)
		return rc;
	if (sum && j->s->fold_check && (rc = check_past_from_sum(j, sum)) != ML_OK)
		return rc;
	if (j->mview.state == ML_REC_UNKNOWN)
		return ml__reject(j, ML_EFIELD, "member %s... has no creating op in its past", x);
	return ML_OK;
}

/* The entry of the member with op id `id` in the past of j's op, or NULL; the member's ops
 * are loaded. */
static const struct ml_member_entry *entry_in_past(const struct judge *j, const uint8_t *id)
{
	for (size_t i = 0; i < j->m.n; i++)
		if (memcmp(j->m.e[i].stamp.id.b, id, 32) == 0 && ml__in_past(j, j->m.at[i]))
			return &j->m.e[i];
	return NULL;
}

/* Sets *yes when op `id` is a change of j's member in the past of j's op: from the summary
 * when it can tell, else from the ops.  ML_OK or a store error. */
static int change_in_past(struct judge *j, const uint8_t *id, bool *yes)
{
	struct ml_member_sum buf;
	const struct ml_member_sum *sum = usable_sum(j, &buf);
	uint64_t tag;
	if (sum) {
		*yes = ml_member_sum_change(sum, id, &tag) && ml__in_past(j, pos_of_tag(tag));
		if (!j->s->fold_check)
			return ML_OK;
	}
	int rc = ml__member_ops(j->s, &j->m, j->err);
	if (rc != ML_OK)
		return rc;
	const struct ml_member_entry *e = entry_in_past(j, id);
	bool by_ops = e && (ml_optype_info(e->type)->flags & ML_OTF_CHANGE);
	if (sum && by_ops != *yes)
		return ml_errf(j->err, ML_ESTORE,
		               "member summary check: the summary and the ops disagree on a change "
		               "in an op's past");
	*yes = by_ops;
	return ML_OK;
}

static int check_decision(struct judge *j)
{
	const uint8_t *ids;
	size_t k;
	ml_body_ids(&j->body, "changes", &ids, &k, NULL);
	bool covers_create = false;
	for (size_t i = 0; i < k; i++) {
		bool seen;
		int rc = change_in_past(j, ids + 32 * i, &seen);
		if (rc != ML_OK)
			return rc;
		if (!seen) {
			char x[17];
			ml_hex_encode(ids + 32 * i, 8, x);
			return ml__reject(
			    j, ML_EFIELD,
			    "change %s... is not a change of this member its author had seen", x);
		}
		covers_create |= memcmp(ids + 32 * i, j->m.id.b, 32) == 0;
	}
	if (j->type != ML_OT_MEMBER_APPROVE)
		return ML_OK;
	const char *num;
	size_t n;
	bool has = ml_body_text(&j->body, "number", &num, &n, NULL) == ML_OK;
	if (covers_create && !j->mview.has_number && !has)
		return ml__reject(j, ML_EFIELD,
		                  "the first approval of a member assigns its number");
	if (has && j->mview.has_number)
		return ml__reject(j, ML_EFIELD, "the member already has number %s",
		                  j->mview.number);
	if (has && !covers_create)
		return ml__reject(j, ML_EFIELD,
		                  "a number is assigned with the approval of the record itself");
	if (!has)
		return ML_OK;
	uint64_t serial;
	ml_number_parse(num, n, &serial, NULL);
	if (!ml__unit_holds_range(j, &j->where, (struct ml_range){serial, 1}))
		return ml__reject(j, ML_EFIELD,
		                  "number %.12s is not in a range delegated to the approver's unit",
		                  num);
	return ML_OK;
}

int ml__check_member_rules(struct judge *j)
{
	struct ml_hash h;
	switch (j->type) {
	case ML_OT_MEMBER_SUBMIT:
	case ML_OT_MEMBER_APPROVE:
	case ML_OT_MEMBER_REJECT:
		return check_decision(j);
	case ML_OT_MEMBER_TRANSFER:
		ml_body_hash(&j->body, "to", &h, NULL);
		if (ml_hash_eq(&h, &j->mview.unit))
			return ml__reject(j, ML_EFIELD, "the member is already in that unit");
		return ml__unit_active(j, &h, "destination unit");
	case ML_OT_MEMBER_RECEIVE: {
		ml_body_hash(&j->body, "transfer", &h, NULL);
		int rc = ml__member_ops(j->s, &j->m, j->err);
		if (rc != ML_OK)
			return rc;
		const struct ml_member_entry *e = entry_in_past(j, h.b);
		struct ml_body b;
		struct ml_hash to;
		if (!e || e->type != ML_OT_MEMBER_TRANSFER ||
		    ml_body_parse(&b, e->body, e->body_len, NULL) != ML_OK ||
		    ml_body_hash(&b, "to", &to, NULL) != ML_OK || !ml_hash_eq(&to, &j->op->unit))
			return ml__reject(j, ML_EFIELD,
			                  "names no transfer of this member to this unit that its "
			                  "author had seen");
		return ML_OK;
	}
	default:
		return ML_OK;
	}
}

int ml__check_duplicate_resolve(struct judge *j)
{
	struct ml_hash a, b;
	ml_body_hash(&j->body, "a", &a, NULL);
	ml_body_hash(&j->body, "b", &b, NULL);
	int rc = ml__member_in_past(j, &b);
	if (rc != ML_OK)
		return rc;
	struct ml_hash unit_b = j->mview.unit;
	if ((rc = ml__member_in_past(j, &a)) != ML_OK)
		return rc;
	if (!ml_hash_eq(&j->mview.unit, &j->op->unit))
		return ml__reject(j, ML_EFIELD,
		                  "the op is written for another unit than member a's");
	if ((rc = ml__authorise(j, ML_ROLE_APPROVER, ML_SCOPE_ABOVE, &j->mview.unit)) != ML_OK)
		return rc;
	return ml__authorise(j, ML_ROLE_APPROVER, ML_SCOPE_ABOVE, &unit_b);
}

/* --- effects ---------------------------------------------------------------- */

static const char *conflict_kind(enum ml_member_conflict_kind k)
{
	switch (k) {
	case ML_MC_APPROVED_AND_REJECTED:
		return "member_approved_and_rejected";
	case ML_MC_TWO_NUMBERS:
		return "member_two_numbers";
	case ML_MC_TWO_TRANSFERS:
		return "member_two_transfers";
	}
	return "member_other";
}

/* Runs each of the two delete statements with the member's id as ?1. */
static int delete_pairs_of(struct ml_store *s, enum stmt_id as_a, enum stmt_id as_b,
                           const struct ml_hash *id, const char *what, struct ml_buf *err)
{
	int rc = ML_OK;
	const enum stmt_id ids[2] = {as_a, as_b};
	for (int k = 0; k < 2 && rc == ML_OK; k++) {
		sqlite3_stmt *st = ml__stmt(s, ids[k]);
		if (!st)
			return ml__sqlerr(s, what, err);
		sqlite3_bind_blob(st, 1, id->b, 32, SQLITE_STATIC);
		rc = ml__exec(s, st, what, err);
	}
	return rc;
}

/* The other members (at most max) that query q(value, id) lists. */
static int others_with(struct ml_store *s, enum stmt_id q, const char *value,
                       const struct ml_hash *id, struct ml_hash *others, size_t max, size_t *n,
                       struct ml_buf *err)
{
	*n = 0;
	sqlite3_stmt *st = ml__stmt(s, q);
	if (!st)
		return ml__sqlerr(s, "find members", err);
	sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, id->b, 32, SQLITE_STATIC);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW && *n < max)
		memcpy(others[(*n)++].b, sqlite3_column_blob(st, 0), 32);
	sqlite3_reset(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? ML_OK : ml__sqlerr(s, "find members", err);
}

/* Re-derives the member's duplicate pairs: every other record with the same ID number.
 * A member that had no ID number is in no pair yet. */
static int update_duplicates(struct ml_store *s, const struct ml_hash *id, bool had,
                             const char *idnum, struct ml_buf *err)
{
	int rc = had ? delete_pairs_of(s, ST_DUPLICATE_DEL_MEMBER, ST_DUPLICATE_DEL_MEMBER_B, id,
	                               "update duplicates", err)
	             : ML_OK;
	if (rc != ML_OK || !idnum || !*idnum)
		return rc;
	struct ml_hash others[64];
	size_t n;
	if ((rc = others_with(s, ST_MEMBER_BY_IDNUM, idnum, id, others, 64, &n, err)) != ML_OK)
		return rc;
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		bool first = ml_hash_cmp(id, &others[i]) < 0;
		sqlite3_stmt *st = ml__stmt(s, ST_DUPLICATE_ADD);
		if (!st)
			return ml__sqlerr(s, "record duplicate", err);
		sqlite3_bind_blob(st, 1, (first ? id : &others[i])->b, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, (first ? &others[i] : id)->b, 32, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, idnum, -1, SQLITE_STATIC);
		rc = ml__exec(s, st, "record duplicate", err);
	}
	return rc;
}

/* Re-derives "number_shared" conflicts for the member: one number, two records.  A member
 * that had no number is in no such conflict yet. */
static int update_number_conflicts(struct ml_store *s, const struct ml_hash *id, bool had,
                                   const char *number, struct ml_buf *err)
{
	int rc = had ? delete_pairs_of(s, ST_CONFLICT_DEL_NUMBER, ST_CONFLICT_DEL_NUMBER_B, id,
	                               "update conflicts", err)
	             : ML_OK;
	if (rc != ML_OK || !number)
		return rc;
	struct ml_hash others[16];
	size_t n;
	if ((rc = others_with(s, ST_MEMBER_BY_NUMBER, number, id, others, 16, &n, err)) != ML_OK)
		return rc;
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		const struct ml_hash *lo = ml_hash_cmp(id, &others[i]) < 0 ? id : &others[i];
		rc = ml__conflict(s, "number_shared", lo, id, &others[i], err);
	}
	return rc;
}

/* Copies text field key of a parsed record (NULL: none) to out; "" when absent. */
static void text_of(const struct ml_body *rec, const char *key, char *out, size_t cap)
{
	const char *t = NULL;
	size_t n = 0;
	if (!rec || ml_body_text(rec, key, &t, &n, NULL) != ML_OK)
		n = 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(out, t, n);
	out[n] = '\0';
}

static bool same_bytes(const struct ml_buf *a, const struct ml_buf *b)
{
	return a->len == b->len && (!a->len || memcmp(a->data, b->data, a->len) == 0);
}

/*
 * The row's text columns after an op, from v's records: name, ID number,
 * status and origin.  The draft gives all but the status shown, which is the
 * official record's once the member is official.  Most ops (submissions,
 * approvals) leave the draft's bytes as m holds them, and then its texts are
 * m's; the status too when the record shown is the same one as before.  Else
 * the records are parsed.
 */
struct row_texts {
	char name[512], idnum[16], status[24], origin[16];
};

static void record_texts(const struct member_ctx *m, bool reuse, const struct ml_member_view *v,
                         bool same, struct row_texts *t)
{
	bool was_official = strcmp(m->state, ml_record_state_name(ML_REC_OFFICIAL)) == 0;
	bool draft_kept = reuse && same_bytes(m->draft.len ? &m->draft : &m->official, &v->draft);
	bool shows_draft = v->state != ML_REC_OFFICIAL || same;
	bool official_kept = reuse && was_official && v->state == ML_REC_OFFICIAL &&
	                     same_bytes(&m->official, &v->official);
	bool status_kept =
	    official_kept || (draft_kept && shows_draft && (!was_official || !m->draft.len));
	struct ml_body draft, official;
	const struct ml_body *d = NULL, *o = NULL;
	if (!draft_kept || (!status_kept && shows_draft))
		d = v->draft.len &&
		            ml_body_parse(&draft, v->draft.data, v->draft.len, NULL) == ML_OK
		        ? &draft
		        : NULL;
	if (!status_kept && !shows_draft)
		o = v->official.len && ml_body_parse(&official, v->official.data, v->official.len,
		                                     NULL) == ML_OK
		        ? &official
		        : NULL;
	if (draft_kept) {
		copy_text(t->name, sizeof t->name, m->full_name);
		copy_text(t->idnum, sizeof t->idnum, m->id_number);
		copy_text(t->origin, sizeof t->origin, m->origin);
	} else {
		text_of(d, "full_name", t->name, sizeof t->name);
		text_of(d, "id_number", t->idnum, sizeof t->idnum);
		text_of(d, "origin", t->origin, sizeof t->origin);
	}
	if (status_kept)
		copy_text(t->status, sizeof t->status, m->status);
	else
		text_of(shows_draft ? d : o, "status", t->status, sizeof t->status);
}

/* MEMBERLOG_FOLD_CHECK: the texts t kept from the member must be its records' own. */
static int check_texts(struct judge *j, const struct ml_member_view *v, bool same,
                       const struct row_texts *t, struct ml_buf *err)
{
	struct row_texts p;
	record_texts(&j->m, false, v, same, &p);
	if (strcmp(t->name, p.name) == 0 && strcmp(t->idnum, p.idnum) == 0 &&
	    strcmp(t->status, p.status) == 0 && strcmp(t->origin, p.origin) == 0)
		return ML_OK;
	return ml_errf(err, ML_ESTORE,
	               "member text check: op %lld keeps \"%s\" \"%s\" \"%s\" \"%s\" where the "
	               "member's records give \"%s\" \"%s\" \"%s\" \"%s\"",
	               (long long)j->key, t->name, t->idnum, t->status, t->origin, p.name, p.idnum,
	               p.status, p.origin);
}

static int apply_duplicate_decision(struct judge *j, struct ml_buf *err)
{
	struct ml_hash a, b;
	ml_body_hash(&j->body, "a", &a, NULL);
	ml_body_hash(&j->body, "b", &b, NULL);
	uint8_t stamp[76];
	ml__stamp_encode(&j->stamp, stamp);
	sqlite3_stmt *st = ml__stmt(j->s, ST_DUPLICATE_DECIDE);
	if (!st)
		return ml__sqlerr(j->s, "record decision", err);
	sqlite3_bind_blob(st, 1, a.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, b.b, 32, SQLITE_STATIC);
	const char *d;
	size_t n;
	ml_body_text(&j->body, "decision", &d, &n, NULL);
	sqlite3_bind_text(st, 3, d, (int)n, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 4, stamp, 76, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, j->op->id.b, 32, SQLITE_STATIC);
	return ml__exec(j->s, st, "record decision", err);
}

/* The changes a step reads, each in its own buffer until the step returns. */
struct step_reads {
	struct ml_store *s;
	struct ml_buf *err;
	struct ml_buf *bufs;
	size_t n, cap;
};

static int read_change(void *ctx, uint64_t tag, struct ml_member_entry *out)
{
	struct step_reads *r = ctx;
	if (r->n == r->cap) {
		struct ml_buf *b = ml_grow(r->bufs, &r->cap, r->n + 1, sizeof *b, 4);
		if (!b)
			return ML_ENOMEM;
		r->bufs = b;
	}
	struct ml_buf *b = &r->bufs[r->n++];
	*b = (struct ml_buf)ML_BUF_INIT;
	struct ml_hash id;
	struct ml_op op;
	int rc = ml__op_bytes(r->s, (int64_t)tag, b, &id, r->err);
	if (rc == ML_ENOTFOUND)
		return ml_errf(r->err, ML_ESTORE, "an approved change of a member is missing");
	if (rc != ML_OK)
		return rc;
	if (ml_op_parse_known(b->data, b->len, &id, &op, NULL) != ML_OK)
		return ml_errf(r->err, ML_ESTORE,
		               "an approved change of a member no longer parses");
	*out = (struct ml_member_entry){
	    {op.hlc, op.author, op.id}, ml_optype_of(op.type), op.unit, op.body, op.body_len, tag};
	return ML_OK;
}

/* Folds j's op into its member from the member's summary alone; ML_EAGAIN when it cannot. */
static int step_member(struct judge *j, struct ml_member_view *v, struct ml_buf *sum)
{
	const struct member_ctx *m = &j->m;
	const struct ml_buf *draft = m->draft.len ? &m->draft : &m->official;
	struct ml_member_prior p = {.sum = m->sum.data,
	                            .sum_len = m->sum.len,
	                            .draft = draft->data,
	                            .draft_len = draft->len,
	                            .official = m->official.data,
	                            .official_len = m->official.len,
	                            .n_entries = m->keys.len / 8,
	                            .create_unit = m->create_unit};
	const struct ml_op *op = j->op;
	struct ml_member_entry e = {{op->hlc, op->author, op->id},
	                            j->type,
	                            op->unit,
	                            op->body,
	                            op->body_len,
	                            (uint64_t)j->key};
	struct step_reads r = {j->s, j->err, NULL, 0, 0};
	int rc = ml_member_step(&p, &e, read_change, &r, v, sum);
	for (size_t i = 0; i < r.n; i++)
		ml_buf_release(&r.bufs[i]);
	ml_free(r.bufs);
	return rc;
}

/* MEMBERLOG_FOLD_CHECK: a step's view and summary must be the full fold's. */
static int check_step(struct judge *j, const struct ml_member_view *v, const struct ml_buf *sum,
                      struct ml_buf *err)
{
	const struct member_ctx *m = &j->m;
	struct ml_member_view f;
	struct ml_buf fsum = ML_BUF_INIT;
	int rc = ml_member_fold_sum(&m->id, m->e, m->n, &f, &fsum);
	if (rc != ML_OK)
		return rc; /* both released */
	const char *what = f.state != v->state                                   ? "state"
	                   : !ml_hash_eq(&f.unit, &v->unit)                      ? "unit"
	                   : f.has_number != v->has_number                       ? "number"
	                   : memcmp(f.number, v->number, 12) != 0                ? "number"
	                   : f.pending != v->pending                             ? "pending changes"
	                   : f.approved_ever != v->approved_ever                 ? "first approval"
	                   : f.first_approval.hlc.ms != v->first_approval.hlc.ms ? "first approval"
	                   : f.n_conflicts_total != v->n_conflicts_total         ? "conflicts"
	                   : !same_bytes(&f.official, &v->official)              ? "official record"
	                   : !same_bytes(&f.draft, &v->draft)                    ? "draft record"
	                   : !same_bytes(&fsum, sum)                             ? "summary"
	                                                                         : NULL;
	if (what) {
		char x[17];
		ml_hex_encode(m->id.b, 8, x);
		rc = ml_errf(err, ML_ESTORE,
		             "member summary check: folding op %lld into member %s... step by step "
		             "gives another %s than folding all its ops",
		             (long long)j->key, x, what);
	}
	ml_member_view_release(&f);
	ml_buf_release(&fsum);
	return rc;
}

/* Folds j's op into its member: *v and *sum (the caller's to release) get the record and its
 * summary.  A step from the summary when it can; else (and in fold-check mode, as well) the
 * member's ops are read and folded in full. */
static int fold_member(struct judge *j, bool creates, struct ml_member_view *v, struct ml_buf *sum,
                       struct ml_buf *err)
{
	struct member_ctx *m = &j->m;
	memset(v, 0, sizeof *v);
	int rc = ML_EAGAIN;
	if (!creates && m->sum.len && !m->has_transfers)
		rc = step_member(j, v, sum);
	if (rc != ML_OK && rc != ML_EAGAIN)
		return rc; /* *v and *sum released */
	bool stepped = rc == ML_OK;
	rc = ML_OK;
	/* Ops the cache holds are kept whole, so the next op can use them. */
	if (!stepped || m->ops_loaded || j->s->fold_check) {
		rc = ml__member_ops(j->s, m, err);
		if (rc == ML_OK &&
		    (rc = append_op(m, j->op, (struct pos){j->feed, j->seq})) == ML_ESTORE)
			rc = ml_errf(err, rc, "a judged op no longer parses");
	}
	if (rc == ML_OK && !stepped)
		rc = ml_member_fold_sum(&m->id, m->e, m->n, v, sum);
	else if (rc == ML_OK && j->s->fold_check)
		rc = check_step(j, v, sum, err);
	if (rc == ML_OK)
		rc = add_key(&m->keys, (uint64_t)j->key);
	if (rc != ML_OK) {
		ml_member_view_release(v);
		ml_buf_release(sum);
	}
	return rc;
}

int ml__member_apply(struct judge *j, struct ml_buf *err)
{
	struct ml_store *s = j->s;
	if (j->type == ML_OT_DUPLICATE_RESOLVE)
		return apply_duplicate_decision(j, err);
	struct member_ctx *m = &j->m;
	int rc;
	bool creates = ml_optype_info(j->type)->flags & ML_OTF_CREATES;
	if (creates) {
		/* The row is inserted whole once the record is folded, below. */
		ml__member_recycle(s, m);
		ml__member_reuse(s, m);
		m->id = j->op->id;
		m->rid = OP_KEY(j->feed, j->seq);
		m->created = (struct pos){j->feed, j->seq};
		m->create_unit = j->op->unit;
		/* Every later op about the member finds its row by this key. */
		ml__opindex_remember(s, &m->id, m->rid);
	}
	struct ml_member_view v;
	struct ml_buf sum = ML_BUF_INIT;
	if ((rc = fold_member(j, creates, &v, &sum, err)) != ML_OK)
		return rc;

	struct row_texts t;
	/* The row and the cache keep the draft only when it differs from the official
	 * record (same).  The status shown is the official one once there is one. */
	bool same = same_bytes(&v.official, &v.draft);
	record_texts(m, !creates, &v, same, &t);
	if (s->fold_check && (rc = check_texts(j, &v, same, &t, err)) != ML_OK) {
		ml_buf_release(&sum);
		ml_member_view_release(&v);
		return rc;
	}
	/* Folding is costly (utf8proc): done again only when the name changed. */
	struct ml_buf fold = ML_BUF_INIT;
	rc = creates || strcmp(t.name, m->full_name) != 0
	         ? ml_fold(t.name, strlen(t.name), &fold)
	         : ml_buf_add(&fold, m->name_fold, strlen(m->name_fold));
	bool transfers = m->has_transfers || j->type == ML_OT_MEMBER_TRANSFER;

	const char *state = ml_record_state_name(v.state);
	unsigned changed = 0;
	if (!ml_hash_eq(&v.unit, &m->unit) || strcmp(state, m->state) != 0)
		changed |= ML_MSET_UNIT;
	if (strcmp(t.idnum, m->id_number) != 0)
		changed |= ML_MSET_ID_NUMBER;
	if (v.has_number != m->has_number || (v.has_number && memcmp(v.number, m->number, 12) != 0))
		changed |= ML_MSET_NUMBER;
	sqlite3_stmt *st = ml__stmt(s, creates ? ST_MEMBER_INSERT : ST_MEMBER_UPDATE + changed);
	if (rc == ML_OK && !st)
		rc = ml__sqlerr(s, creates ? "record member" : "update member", err);
	if (rc == ML_OK) {
		sqlite3_bind_int64(st, 1, m->rid);
		sqlite3_bind_blob(st, 2, v.unit.b, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, v.create_unit.b, 32, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, t.status, -1, SQLITE_STATIC);
		if (v.has_number)
			sqlite3_bind_text(st, 6, v.number, 12, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, t.name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, t.idnum, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, ml_buf_str(&fold), -1, SQLITE_STATIC);
		if (v.approved_ever)
			sqlite3_bind_int64(st, 10, (int64_t)v.first_approval.hlc.ms);
		sqlite3_bind_int64(st, 11, (int64_t)v.pending);
		sqlite3_bind_text(st, 12, t.origin, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 13, transfers);
		if (v.official.len)
			sqlite3_bind_blob(st, 14, v.official.data, (int)v.official.len,
			                  SQLITE_STATIC);
		if (!same)
			sqlite3_bind_blob(st, 15, v.draft.data, (int)v.draft.len, SQLITE_STATIC);
		sqlite3_bind_blob(st, 16, m->keys.data, (int)m->keys.len, SQLITE_STATIC);
		sqlite3_bind_int(st, 17, (int)v.n_conflicts);
		if (creates)
			sqlite3_bind_blob(st, 18, m->id.b, 32, SQLITE_STATIC);
		if (sum.len)
			sqlite3_bind_blob(st, 21, sum.data, (int)sum.len, SQLITE_STATIC);
		rc = ml__exec(s, st, creates ? "record member" : "update member", err);
	}
	/* The search index follows the folded name. */
	if (rc == ML_OK && strcmp(m->name_fold, ml_buf_str(&fold)) != 0) {
		if (m->name_fold[0]) {
			st = ml__stmt(s, ST_SEARCH_DEL);
			sqlite3_bind_int64(st, 1, m->rid);
			sqlite3_bind_text(st, 2, m->name_fold, -1, SQLITE_STATIC);
			rc = ml__exec(s, st, "update search", err);
		}
		if (rc == ML_OK) {
			st = ml__stmt(s, ST_SEARCH_ADD);
			sqlite3_bind_int64(st, 1, m->rid);
			sqlite3_bind_text(st, 2, ml_buf_str(&fold), -1, SQLITE_STATIC);
			rc = ml__exec(s, st, "update search", err);
		}
	}
	/* Duplicates follow the ID number: re-derive them only when it changed. */
	if (rc == ML_OK && strcmp(t.idnum, m->id_number) != 0)
		rc = update_duplicates(s, &m->id, m->id_number[0] != 0, t.idnum, err);
	if (rc == ML_OK && (v.has_number != m->has_number ||
	                    (v.has_number && memcmp(v.number, m->number, 12) != 0)))
		rc = update_number_conflicts(s, &m->id, m->has_number,
		                             v.has_number ? v.number : NULL, err);
	if (rc == ML_OK && (m->n_conflicts || v.n_conflicts)) {
		st = ml__stmt(s, ST_CONFLICT_DEL_SUBJECT);
		sqlite3_bind_blob(st, 1, m->id.b, 32, SQLITE_STATIC);
		rc = ml__exec(s, st, "update conflicts", err);
	}
	for (size_t i = 0; i < v.n_conflicts && rc == ML_OK; i++)
		rc = ml__conflict(s, conflict_kind(v.conflicts[i].kind), &m->id, &v.conflicts[i].a,
		                  &v.conflicts[i].b, err);
	/* A photo the op sets: the node should hold it, and peers that hold this feed may have it.
	 */
	struct ml_hash photo;
	if (rc == ML_OK && ml_body_hash(&j->body, "photo", &photo, NULL) == ML_OK) {
		st = ml__stmt(s, ST_PHOTO_REF);
		if (st) {
			sqlite3_bind_blob(st, 1, photo.b, 32, SQLITE_STATIC);
			sqlite3_bind_blob(st, 2, j->fkey.unit.b, 32, SQLITE_STATIC);
		}
		rc = ml__exec(s, st, "record a photo", err);
		s->photo_refs++;
	}
	if (rc == ML_OK) {
		/* A member that moved (or came by transfer) changes which devices may read it. */
		if (!creates && (!ml_hash_eq(&v.unit, &m->unit) || transfers != m->has_transfers))
			s->scope_epoch++;
		/* What a reload of the row would give: keep it for the next op. */
		m->has_transfers = transfers;
		m->has_number = v.has_number;
		if (v.has_number) {
			memcpy(m->number, v.number, 12);
			m->number[12] = '\0';
		}
		copy_text(m->name_fold, sizeof m->name_fold, ml_buf_str(&fold));
		copy_text(m->full_name, sizeof m->full_name, t.name);
		copy_text(m->id_number, sizeof m->id_number, t.idnum);
		m->n_conflicts = (int)v.n_conflicts;
		m->unit = v.unit;
		copy_text(m->state, sizeof m->state, state);
		copy_text(m->status, sizeof m->status, t.status);
		copy_text(m->origin, sizeof m->origin, t.origin);
		struct ml_buf old_sum = m->sum;
		m->sum = sum;
		sum = old_sum;
		m->official.len = m->draft.len = 0;
		rc = ml_buf_add(&m->official, v.official.data, v.official.len);
		if (rc == ML_OK && !same)
			rc = ml_buf_add(&m->draft, v.draft.data, v.draft.len);
		if (rc == ML_OK)
			ml__member_keep(s, m);
		rc = ML_OK; /* a member the cache could not take is read again */
	}
	ml_buf_release(&sum);
	ml_buf_release(&fold);
	ml_member_view_release(&v);
	return rc;
}
