/*
 * eval.c - judging one op in its causal past (docs/REGISTER.md §2-§6).
 *
 * ml__judge computes the op's past frontier from its prev and deps, checks
 * the feed-level rules (forks, revocation cuts), the body (schema), and the
 * type's own rules and authority, each against the past only.  It records
 * the verdict in ops and, for a valid op, applies its effects (view.c).
 * Every rejection carries "ML_EXXX: sentence" as its reason.
 */
#include "cache.h"
#include "opindex.h"
#include "view.h"

#include "crdt/alloc.h"
#include "crdt/auth.h"
#include "crdt/codec.h"
#include "crdt/err.h"
#include "crdt/number.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* --- the past ------------------------------------------------------------- */

bool ml__in_past(const struct judge *j, struct pos p)
{
	if (p.feed == j->feed)
		return p.seq < j->seq;
	return ml_frontier_get(&j->past, p.feed) >= p.seq;
}

int ml__frontier_cached(struct ml_store *s, int64_t id, const struct ml_frontier **f,
                        struct ml_buf *err)
{
	for (size_t i = 0; i < sizeof s->fc / sizeof s->fc[0]; i++) {
		if (s->fc[i].used && s->fc[i].id == id) {
			*f = &s->fc[i].f;
			return ML_OK;
		}
	}
	unsigned k = s->fc_next++ % (sizeof s->fc / sizeof s->fc[0]);
	s->fc[k].used = false;
	int rc = ml__frontier_load(s, id, &s->fc[k].f, err);
	if (rc != ML_OK)
		return rc;
	s->fc[k].id = id;
	s->fc[k].used = true;
	*f = &s->fc[k].f;
	return ML_OK;
}

/* Reads the past id and status of the op at key. */
static int op_past(struct ml_store *s, int64_t key, int64_t *past, struct ml_buf *err)
{
	sqlite3_stmt *st = ml__stmt(s, ST_OP_BY_KEY);
	if (!st)
		return ml__sqlerr(s, "read op", err);
	sqlite3_bind_int64(st, 1, key);
	int q = sqlite3_step(st);
	*past = q == SQLITE_ROW ? sqlite3_column_int64(st, 3) : 0;
	sqlite3_reset(st);
	if (q != SQLITE_ROW)
		return q == SQLITE_DONE ? ML_ENOTFOUND : ml__sqlerr(s, "read op", err);
	return ML_OK;
}

/* The past of j's op: its prev's past, plus each dep and the dep's past. */
static int compute_past(struct judge *j, int64_t prev_past, struct ml_buf *err)
{
	struct ml_store *s = j->s;
	const struct ml_frontier *f;
	int64_t past = j->seq > 1 ? prev_past : 0;
	int rc;
	if (past < 0 && (rc = op_past(s, j->key - 1, &past, err)) != ML_OK)
		return rc;
	if (j->op->ndeps == 0) {
		j->past_id = past;
		if ((rc = ml__frontier_cached(s, past, &f, err)) != ML_OK)
			return rc;
		return ml_frontier_copy(&j->past, f);
	}
	if ((rc = ml__frontier_cached(s, past, &f, err)) != ML_OK ||
	    (rc = ml_frontier_copy(&j->past, f)) != ML_OK)
		return rc;
	for (size_t d = 0; d < j->op->ndeps; d++) {
		struct ml_hash dep = ml_op_dep(j->op, d);
		int64_t dkey = 0, dpast = 0;
		if ((rc = ml__opindex_find(s, &dep, &dkey, NULL, err)) == ML_ENOTFOUND) {
			/* Judged deps are in ops; the only others are at forked positions. */
			j->past_id = past;
			return ML_EFORK;
		}
		if (rc != ML_OK || (rc = op_past(s, dkey, &dpast, err)) != ML_OK ||
		    (rc = ml__frontier_cached(s, dpast, &f, err)) != ML_OK ||
		    (rc = ml_frontier_merge(&j->past, f)) != ML_OK ||
		    (rc = ml_frontier_raise(&j->past, OP_KEY_FEED(dkey), OP_KEY_SEQ(dkey))) !=
		        ML_OK)
			return rc == ML_ENOTFOUND ? ml_errf(err, ML_ESTORE, "a judged dep vanished")
			                          : rc;
	}
	/* A dep whose past reaches this feed at or past this op would be a cycle,
	 * possible only through a fork of this feed. */
	if (ml_frontier_get(&j->past, j->feed) >= j->seq)
		return ML_ESEQ;
	ml_frontier_drop(&j->past, j->feed);
	return ml__frontier_intern(s, &j->past, &j->past_id, err);
}

/* --- verdicts ------------------------------------------------------------- */

int ml__reject(struct judge *j, int code, const char *fmt, ...)
{
	if (j->code)
		return j->code;
	j->code = code;
	int n = snprintf(j->reason, sizeof j->reason, "%s: ", ml_err_name(code));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->reason + n, sizeof j->reason - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

/* The store's recorded fault, or ML_ESTORE if a read failed without one. */
static int s_fault(const struct judge *j)
{
	return j->s->fault ? j->s->fault : ML_ESTORE;
}

static void hex8(const struct ml_hash *h, char out[17])
{
	ml_hex_encode(h->b, 8, out);
}

/* --- the tree in the past --------------------------------------------------- */

static bool unit_created_in_past(const struct judge *j, const struct unit_info *u)
{
	return u && u->exists && ml__in_past(j, u->created);
}

/* The first ending of the unit in the past, or NULL. */
static const struct unit_end *unit_end_in_past(const struct judge *j, const struct unit_info *u)
{
	for (size_t i = 0; u && i < u->n_ends; i++)
		if (ml__in_past(j, u->ends[i].at))
			return &u->ends[i];
	return NULL;
}

bool ml__unit_parent(struct judge *j, const struct ml_hash *unit, struct ml_hash *parent)
{
	const struct unit_info *u = ml__unit_info(j->s, unit, j->err);
	if (!unit_created_in_past(j, u) || u->root)
		return false;
	struct ml_hash p = u->create_parent;
	const uint8_t *best = NULL;
	for (size_t i = 0; i < u->n_moves; i++) {
		if (ml__in_past(j, u->moves[i].at) &&
		    (!best || memcmp(u->moves[i].stamp, best, 76) > 0)) {
			best = u->moves[i].stamp;
			p = u->moves[i].to;
		}
	}
	/* A parent merged into another unit hands its children over. */
	for (int hop = 0; hop < 16; hop++) {
		const struct unit_info *pu = ml__unit_info(j->s, &p, j->err);
		const struct unit_end *e = unit_end_in_past(j, pu);
		if (!e || !e->has_into || strcmp(e->kind, "merged") != 0)
			break;
		p = e->into;
	}
	*parent = p;
	return true;
}

static bool view_parent(void *ctx, const struct ml_hash *unit, struct ml_hash *parent)
{
	return ml__unit_parent(ctx, unit, parent);
}

static bool view_holds(void *ctx, const struct ml_pubkey *dev, enum ml_role role,
                       const struct ml_hash *unit)
{
	struct judge *j = ctx;
	const struct grant_info *g = ml__grant_info(j->s, dev, role, j->err);
	for (size_t i = 0; g && i < g->n; i++)
		if (ml_hash_eq(&g->at[i].unit, unit) && ml__in_past(j, g->at[i].at))
			return true;
	return false;
}

int ml__authorise(struct judge *j, enum ml_role role, enum ml_scope scope,
                  const struct ml_hash *unit)
{
	struct ml_auth_view v = {j, view_holds, view_parent};
	struct ml_buf msg = ML_BUF_INIT;
	int rc = ml_auth_check(&v, &j->op->author, role, scope, unit, &j->where, &msg);
	if (rc != ML_OK)
		ml__reject(j, ML_EUNAUTH, "%s", ml_buf_str(&msg));
	ml_buf_release(&msg);
	return rc;
}

/* Checks that unit exists in the past and takes writes; names it `what` in the reason. */
int ml__unit_active(struct judge *j, const struct ml_hash *unit, const char *what)
{
	const struct unit_info *u = ml__unit_info(j->s, unit, j->err);
	char x[17];
	hex8(unit, x);
	if (!u)
		return s_fault(j);
	if (!unit_created_in_past(j, u))
		return ml__reject(j, ML_EFIELD, "%s %s... is not a unit its author had seen", what,
		                  x);
	const struct unit_end *e = unit_end_in_past(j, u);
	if (e)
		return ml__reject(j, ML_EFIELD, "%s %s... was %s", what, x, e->kind);
	return ML_OK;
}

/* True when `anc` is `unit` or above it in the past tree. */
static bool above_or_self(struct judge *j, const struct ml_hash *anc, const struct ml_hash *unit)
{
	struct ml_auth_view v = {j, view_holds, view_parent};
	return ml_auth_is_ancestor(&v, anc, unit, false);
}

/* --- type rules ----------------------------------------------------------- */

static int check_unit_op(struct judge *j)
{
	const struct ml_op *op = j->op;
	const struct ml_optype_info *info = ml_optype_info(j->type);
	struct ml_hash to, tr;
	int rc = ML_OK;
	switch (j->type) {
	case ML_OT_GENESIS:
		return ML_OK;
	case ML_OT_UNIT_CREATE:
		rc = ml__unit_active(j, &op->unit, "parent unit");
		break;
	case ML_OT_UNIT_TRANSFER:
		if ((rc = ml__unit_active(j, &op->unit, "unit")) == ML_OK)
			rc = ml_body_hash(&j->body, "to", &to, NULL);
		if (rc == ML_OK)
			rc = ml__unit_active(j, &to, "new parent");
		if (rc == ML_OK && above_or_self(j, &op->unit, &to))
			rc = ml__reject(j, ML_EFIELD,
			                "a unit cannot move under itself or its own subtree");
		break;
	case ML_OT_UNIT_RECEIVE: {
		if ((rc = ml__unit_active(j, &op->unit, "unit")) != ML_OK)
			break;
		ml_body_hash(&j->body, "transfer", &tr, NULL);
		struct transfer t;
		if (ml__unit_transfer(j, &tr, &t) != ML_OK || !ml__in_past(j, t.at) ||
		    !ml_hash_eq(&t.unit, &op->unit))
			return ml__reject(
			    j, ML_EFIELD,
			    "names no transfer of this unit that its author had seen");
		if ((rc = ml__unit_active(j, &t.to, "new parent")) != ML_OK)
			break;
		if (above_or_self(j, &op->unit, &t.to))
			return ml__reject(j, ML_EFIELD, "a unit cannot move under its own subtree");
		/* The receiving side's admin decides: judge at the new parent. */
		return ml__authorise(j, ML_ROLE_ADMIN, ML_SCOPE_SELF_OR_ABOVE, &t.to);
	}
	case ML_OT_UNIT_MERGE:
		if ((rc = ml__unit_active(j, &op->unit, "unit")) == ML_OK)
			rc = ml_body_hash(&j->body, "into", &to, NULL);
		if (rc == ML_OK)
			rc = ml__unit_active(j, &to, "absorbing unit");
		if (rc == ML_OK && above_or_self(j, &op->unit, &to))
			return ml__reject(j, ML_EFIELD,
			                  "a unit cannot merge into itself or its subtree");
		if (rc == ML_OK)
			rc = ml__authorise(j, ML_ROLE_ADMIN, ML_SCOPE_SELF_OR_ABOVE, &to);
		break;
	case ML_OT_GRANT:
	case ML_OT_UNIT_UPDATE:
	case ML_OT_UNIT_SPLIT:
	case ML_OT_UNIT_DISSOLVE:
	case ML_OT_DIRECTIVE_POST:
		rc = ml__unit_active(j, &op->unit, "unit");
		break;
	case ML_OT_REVOKE: {
		if ((rc = ml__unit_active(j, &op->unit, "unit")) != ML_OK)
			break;
		struct ml_pubkey dev;
		ml_body_pubkey(&j->body, "device", &dev, NULL);
		bool held = false;
		for (int r = 0; r < ML_ROLE_NONE && !held; r++) {
			const struct grant_info *g =
			    ml__grant_info(j->s, &dev, (enum ml_role)r, j->err);
			for (size_t i = 0; g && i < g->n && !held; i++)
				held = ml_hash_eq(&g->at[i].unit, &op->unit) &&
				       ml__in_past(j, g->at[i].at);
		}
		if (!held)
			return ml__reject(j, ML_EFIELD, "the device holds no role at this unit");
		break;
	}
	case ML_OT_NUMBERS_DELEGATE:
		rc = ml__check_delegation(j);
		break;
	default:
		break;
	}
	if (rc != ML_OK)
		return rc;
	return ml__authorise(j, info->role, info->scope, &op->unit);
}

static int check_member_op(struct judge *j)
{
	const struct ml_op *op = j->op;
	const struct ml_optype_info *info = ml_optype_info(j->type);
	int rc;
	if (info->flags & ML_OTF_CREATES) {
		if ((rc = ml__unit_active(j, &op->unit, "unit")) != ML_OK)
			return rc;
		return ml__authorise(j, info->role, info->scope, &op->unit);
	}
	if (j->type == ML_OT_DUPLICATE_RESOLVE)
		return ml__check_duplicate_resolve(j);
	/* Everything else names a member that must be in the past. */
	struct ml_hash m;
	ml_body_hash(&j->body, "member", &m, NULL);
	if ((rc = ml__member_in_past(j, &m)) != ML_OK)
		return rc;
	if (!ml_hash_eq(&j->mview.unit, &op->unit)) {
		char a[17], b[17];
		hex8(&op->unit, a);
		hex8(&j->mview.unit, b);
		return ml__reject(
		    j, ML_EFIELD,
		    "the op is written for unit %s... but the member is managed by %s...", a, b);
	}
	if ((rc = ml__unit_active(j, &op->unit, "managing unit")) != ML_OK)
		return rc;
	if ((rc = ml__authorise(j, info->role, info->scope, &op->unit)) != ML_OK)
		return rc;
	return ml__check_member_rules(j);
}

/* --- recording ------------------------------------------------------------ */

static int record(struct judge *j, int status, struct ml_buf *err)
{
	struct ml_store *s = j->s;
	/* An op authenticated in this transaction is written here, once, verdict and all. */
	struct fresh *fr = ml__fresh_at(s, j->key);
	bool insert = fr && !fr->stored;
	sqlite3_stmt *st = ml__stmt(s, insert ? ST_OP_INSERT_JUDGED : ST_OP_JUDGE);
	if (!st)
		return ml__sqlerr(s, "record verdict", err);
	sqlite3_bind_int64(st, 1, j->key);
	sqlite3_bind_int(st, 2, status);
	if (j->code) {
		sqlite3_bind_int(st, 3, j->code);
		sqlite3_bind_text(st, 4, j->reason, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int64(st, 5, s->next_eval++);
	sqlite3_bind_int64(st, 6, j->past_id);
	sqlite3_bind_int(st, 7, j->type);
	if (j->has_target)
		sqlite3_bind_blob(st, 8, j->target.b, 32, SQLITE_STATIC);
	if (insert) {
		sqlite3_bind_blob(st, 9, fr->id.b, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 10, fr->raw, (int)fr->len, SQLITE_STATIC);
		fr->stored = true;
	}
	int rc = ml__exec(s, st, "record verdict", err);
	if (rc == ML_OK && insert)
		rc = ml__opindex_add(s, &fr->id, j->key, err);
	return rc;
}

/* Checks op's body against the store's schema into j->body and j->type, or rejects j.  ML_OK,
 * or ML_ENOMEM: running out of memory is no verdict (every other node finds the body as it
 * is), so the transaction fails and the op is judged again. */
static int check_schema(struct judge *j, const struct schema_verdict *pre)
{
	if (pre && pre->done && pre->org == j->s->org) {
		j->type = pre->type;
		if (pre->msg)
			ml__reject(j, ML_EFIELD, "%s", pre->msg);
		else
			ml_body_parse(&j->body, j->op->body, j->op->body_len, NULL); /* it passed */
		return ML_OK;
	}
	struct ml_buf msg = ML_BUF_INIT;
	int rc = ml_schema_check(j->op, j->s->org, &j->body, &j->type, &msg);
	if (rc != ML_OK && rc != ML_ENOMEM)
		ml__reject(j, ML_EFIELD, "%s", ml_buf_str(&msg));
	ml_buf_release(&msg);
	return rc == ML_ENOMEM ? rc : ML_OK;
}

int ml__judge(struct ml_store *s, int64_t key, const struct ml_op *op,
              const struct schema_verdict *pre, int64_t prev_past, int64_t *past_out,
              struct ml_ingest_result *res, struct ml_buf *err)
{
	struct judge j;
	memset(&j, 0, sizeof j);
	j.s = s;
	j.key = key;
	j.feed = OP_KEY_FEED(key);
	j.seq = OP_KEY_SEQ(key);
	j.op = op;
	j.err = err;
	j.stamp = (struct ml_stamp){op->hlc, op->author, op->id};
	j.fkey = ml_feed_of(op);
	int rc = compute_past(&j, prev_past, err);
	if (rc == ML_ESEQ) {
		ml__reject(&j, ML_ESEQ, "its deps name a later op of its own feed");
		rc = ML_OK;
	} else if (rc == ML_EFORK) {
		/* Its past holds an op of a forked feed: judged without it, as everywhere. */
		const struct ml_frontier *f;
		rc = ml__frontier_cached(s, j.past_id, &f, err);
		if (rc == ML_OK)
			rc = ml_frontier_copy(&j.past, f);
		ml__reject(&j, ML_EFORK, "it depends on an op of a feed its author forked");
	}
	if (rc != ML_OK)
		goto out;

	struct feed *f = NULL;
	if ((rc = ml__feed_by_id(s, (int64_t)j.feed, &f, err)) != ML_OK)
		goto out;
	if (f && f->fork_seq && j.seq >= f->fork_seq)
		ml__reject(&j, ML_EFORK,
		           "the author signed two different ops at seq %llu of this feed",
		           (unsigned long long)f->fork_seq);
	if (!ml__rev_in_effect(s, &op->id) && j.seq > ml__cut_of(s, &j.fkey))
		ml__reject(&j, ML_EREVOKED,
		           "the author's key was revoked after seq %llu of this feed",
		           (unsigned long long)ml__cut_of(s, &j.fkey));
	if (!j.code && (rc = check_schema(&j, pre)) != ML_OK)
		goto out;
	if (!j.code) {
		j.type = ml_optype_of(op->type);
		if (ml_optype_info(j.type)->lane == ML_LANE_GOV)
			rc = check_unit_op(&j);
		else
			rc = check_member_op(&j);
		if (rc == ML_ESTORE || rc == ML_ENOMEM)
			goto out;
		rc = ML_OK;
	} else {
		j.type = ml_optype_of(op->type);
	}
	/* A cache read that failed must not have become part of the verdict. */
	if (s->fault) {
		rc = s->fault;
		goto out;
	}
	if (!j.code) {
		rc = ml__apply(&j, err);
		if (rc != ML_OK || (rc = s->fault) != ML_OK)
			goto out;
	}
	ml__set_target(&j);
	rc = record(&j, j.code ? OP_REJECTED : OP_APPLIED, err);
	if (past_out)
		*past_out = j.past_id;
	if (rc == ML_OK) {
		if (j.code) {
			res->rejected++;
			if (!res->first_error) {
				res->first_error = j.code;
				snprintf(res->first_message, sizeof res->first_message, "%s",
				         j.reason);
			}
		} else {
			res->applied++;
			if (j.fkey.lane == ML_LANE_GOV) /* the tree, grants, revocations */
				s->scope_epoch++;
		}
	}
out:
	ml_frontier_release(&j.past);
	ml__judge_release(&j);
	return rc;
}
