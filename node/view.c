/*
 * view.c - the effects of valid gov-lane ops on the materialized register:
 * units, moves, ends, grants, revocations, number ranges, directives.
 *
 * Every effect is order-independent: rows are keyed by the op that made
 * them, and displayed values that several ops contend for (a unit's name,
 * its ending, its parent after moves) are chosen by stamp, so any arrival
 * order leaves the same tables.
 */
#include "view.h"

#include "crdt/alloc.h"
#include "crdt/codec.h"
#include "crdt/err.h"
#include "crdt/fields.h"
#include "crdt/number.h"

#include <stdio.h>
#include <string.h>

void ml__stamp_encode(const struct ml_stamp *st, uint8_t out[76])
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(st->hlc.ms >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(st->hlc.c >> (24 - 8 * i));
	memcpy(out + 12, st->author.b, 32);
	memcpy(out + 44, st->id.b, 32);
}

static void bind_text_field(sqlite3_stmt *st, int col, const struct ml_body *b, const char *key)
{
	const char *s;
	size_t n;
	if (ml_body_text(b, key, &s, &n, NULL) == ML_OK)
		sqlite3_bind_text(st, col, s, (int)n, SQLITE_TRANSIENT);
}

int ml__unit_transfer(struct judge *j, const struct ml_hash *op, struct transfer *t)
{
	sqlite3_stmt *st = ml__stmt(j->s, ST_UNIT_TRANSFER_GET);
	if (!st)
		return ml__sqlerr(j->s, "read transfer", j->err);
	sqlite3_bind_blob(st, 1, op->b, 32, SQLITE_STATIC);
	int q = sqlite3_step(st);
	if (q == SQLITE_ROW) {
		memcpy(t->unit.b, sqlite3_column_blob(st, 0), 32);
		memcpy(t->to.b, sqlite3_column_blob(st, 1), 32);
		t->at = (struct pos){(uint64_t)sqlite3_column_int64(st, 2),
		                     (uint64_t)sqlite3_column_int64(st, 3)};
	}
	sqlite3_reset(st);
	return q == SQLITE_ROW ? ML_OK : ML_ENOTFOUND;
}

/* --- number ranges ----------------------------------------------------------- */

struct range_row {
	struct ml_range r;
	struct pos at;
	struct ml_hash op;
	uint8_t stamp[76];
};

/* Reads the ranges delegated to (by == false) or by (by == true) a unit. */
static int read_ranges(struct ml_store *s, const struct ml_hash *unit, bool by,
                       struct range_row **out, size_t *n, struct ml_buf *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = ml__stmt(s, by ? ST_RANGES_BY : ST_RANGES_OF);
	if (!st)
		return ml__sqlerr(s, "read ranges", err);
	sqlite3_bind_blob(st, 1, unit->b, 32, SQLITE_STATIC);
	int q;
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		struct range_row *p = ml_realloc(*out, (*n + 1) * sizeof *p);
		if (!p) {
			sqlite3_reset(st);
			return ML_ENOMEM;
		}
		*out = p;
		p += (*n)++;
		memset(p, 0, sizeof *p);
		p->r = (struct ml_range){(uint64_t)sqlite3_column_int64(st, 0),
		                         (uint64_t)sqlite3_column_int64(st, 1)};
		p->at = (struct pos){(uint64_t)sqlite3_column_int64(st, 2),
		                     (uint64_t)sqlite3_column_int64(st, 3)};
		if (by) {
			memcpy(p->op.b, sqlite3_column_blob(st, 4), 32);
			memcpy(p->stamp, sqlite3_column_blob(st, 5), 76);
		}
	}
	sqlite3_reset(st);
	return q == SQLITE_DONE ? ML_OK : ml__sqlerr(s, "read ranges", err);
}

/* True when serial range r lies in a range unit holds in the op's past (the root holds all). */
bool ml__unit_holds_range(struct judge *j, const struct ml_hash *unit, struct ml_range r)
{
	const struct unit_info *u = ml__unit_info(j->s, unit, j->err);
	if (!u || !u->exists)
		return false;
	if (u->root)
		return ml_range_contains((struct ml_range){0, ML_SERIAL_LIMIT}, r);
	for (size_t i = 0; i < u->n_ranges; i++)
		if (ml__in_past(j, u->ranges[i].at) &&
		    ml_range_contains((struct ml_range){u->ranges[i].start, u->ranges[i].count}, r))
			return true;
	return false;
}

int ml__check_delegation(struct judge *j)
{
	const struct ml_hash *from = &j->op->unit;
	struct ml_hash to, parent;
	uint64_t start = 0, count = 0;
	ml_body_hash(&j->body, "to", &to, NULL);
	ml_body_uint(&j->body, "start", &start, NULL);
	ml_body_uint(&j->body, "count", &count, NULL);
	struct ml_range r = {start, count};
	int rc = ml__unit_active(j, from, "delegating unit");
	if (rc == ML_OK)
		rc = ml__unit_active(j, &to, "receiving unit");
	if (rc != ML_OK)
		return rc;
	if (!ml__unit_parent(j, &to, &parent) || !ml_hash_eq(&parent, from))
		return ml__reject(j, ML_EFIELD, "numbers go to a direct child unit only");
	if (!ml__unit_holds_range(j, from, r))
		return ml__reject(
		    j, ML_EFIELD, "serials %llu..%llu are not in a range this unit holds",
		    (unsigned long long)start, (unsigned long long)(start + count - 1));
	struct range_row *rows;
	size_t n;
	if ((rc = read_ranges(j->s, from, true, &rows, &n, j->err)) != ML_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (ml__in_past(j, rows[i].at) && ml_range_overlap(rows[i].r, r)) {
			ml_free(rows);
			return ml__reject(j, ML_EFIELD,
			                  "serials overlap a range this unit already delegated");
		}
	}
	ml_free(rows);
	return ML_OK;
}

int ml__conflict(struct ml_store *s, const char *kind, const struct ml_hash *subject,
                 const struct ml_hash *a, const struct ml_hash *b, struct ml_buf *err)
{
	sqlite3_stmt *st = ml__stmt(s, ST_CONFLICT_ADD);
	if (!st)
		return ml__sqlerr(s, "record conflict", err);
	/* Pairs are stored in one order, so either arrival order writes the same row. */
	if (ml_hash_cmp(a, b) > 0) {
		const struct ml_hash *t = a;
		a = b;
		b = t;
	}
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, subject->b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, a->b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, b->b, 32, SQLITE_STATIC);
	return ml__exec(s, st, "record conflict", err);
}

static int apply_delegation(struct judge *j, struct ml_buf *err)
{
	struct ml_store *s = j->s;
	struct ml_hash to;
	uint64_t start = 0, count = 0;
	ml_body_hash(&j->body, "to", &to, NULL);
	ml_body_uint(&j->body, "start", &start, NULL);
	ml_body_uint(&j->body, "count", &count, NULL);
	uint8_t stamp[76];
	ml__stamp_encode(&j->stamp, stamp);
	/* Delegations made concurrently by the same unit may overlap: list the pair. */
	struct range_row *rows;
	size_t n;
	int rc = read_ranges(s, &j->op->unit, true, &rows, &n, err);
	for (size_t i = 0; i < n && rc == ML_OK; i++) {
		if (!ml__in_past(j, rows[i].at) &&
		    ml_range_overlap(rows[i].r, (struct ml_range){start, count}))
			rc = ml__conflict(s, "range_overlap", &j->op->unit, &rows[i].op, &j->op->id,
			                  err);
	}
	ml_free(rows);
	if (rc != ML_OK)
		return rc;
	sqlite3_stmt *st = ml__stmt(s, ST_RANGE_ADD);
	if (!st)
		return ml__sqlerr(s, "record range", err);
	sqlite3_bind_blob(st, 1, j->op->id.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, to.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, j->op->unit.b, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)start);
	sqlite3_bind_int64(st, 5, (int64_t)count);
	sqlite3_bind_int64(st, 6, (int64_t)j->feed);
	sqlite3_bind_int64(st, 7, (int64_t)j->seq);
	sqlite3_bind_blob(st, 8, stamp, 76, SQLITE_STATIC);
	rc = ml__exec(s, st, "record range", err);
	ml__unit_forget(s, &to); /* its cached ranges */
	return rc;
}

/* --- units ------------------------------------------------------------------ */

static int insert_unit(struct judge *j, const struct ml_hash *id, const struct ml_hash *parent,
                       const char *name, size_t name_len, const char *level, const char *sector,
                       struct ml_buf *err)
{
	struct ml_store *s = j->s;
	uint8_t stamp[76];
	ml__stamp_encode(&j->stamp, stamp);
	sqlite3_stmt *st = ml__stmt(s, ST_UNIT_INSERT);
	if (!st)
		return ml__sqlerr(s, "record unit", err);
	sqlite3_bind_blob(st, 1, id->b, 32, SQLITE_STATIC);
	if (parent)
		sqlite3_bind_blob(st, 2, parent->b, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, (int)name_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, level, -1, SQLITE_TRANSIENT);
	if (sector && *sector)
		sqlite3_bind_text(st, 5, sector, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, (int64_t)j->feed);
	sqlite3_bind_int64(st, 7, (int64_t)j->seq);
	sqlite3_bind_int64(st, 8, (int64_t)j->op->hlc.ms);
	sqlite3_bind_blob(st, 9, stamp, 76, SQLITE_STATIC);
	int rc = ml__exec(s, st, "record unit", err);
	ml__unit_forget(s, id);
	return rc;
}

static int apply_unit_create(struct judge *j, struct ml_buf *err)
{
	const char *name, *level, *sector = NULL;
	size_t n, ln, sn = 0;
	ml_body_text(&j->body, "name", &name, &n, NULL);
	ml_body_text(&j->body, "level", &level, &ln, NULL);
	ml_body_text(&j->body, "sector", &sector, &sn, NULL);
	char lv[32], sc[32];
	snprintf(lv, sizeof lv, "%.*s", (int)ln, level);
	snprintf(sc, sizeof sc, "%.*s", (int)sn, sector ? sector : "");
	return insert_unit(j, &j->op->id, &j->op->unit, name, n, lv, sc, err);
}

static int apply_genesis(struct judge *j, struct ml_buf *err)
{
	struct ml_store *s = j->s;
	const char *name, *org;
	size_t n, on;
	ml_body_text(&j->body, "name", &name, &n, NULL);
	ml_body_text(&j->body, "org", &org, &on, NULL);
	int rc = insert_unit(j, &j->op->id, NULL, name, n, "national", "", err);
	uint8_t o = (uint8_t)ml_enum_index(ml_orgs, org, on);
	if (rc == ML_OK)
		rc = ml__meta_set(s, "org", &o, 1, err);
	s->org = (enum ml_org)o;
	/* The genesis author is the national unit's first admin. */
	sqlite3_stmt *st = ml__stmt(s, ST_GRANT_ADD);
	if (rc == ML_OK && !st)
		rc = ml__sqlerr(s, "record grant", err);
	if (rc == ML_OK) {
		sqlite3_bind_blob(st, 1, j->op->id.b, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, j->op->author.b, 32, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, ML_ROLE_ADMIN);
		sqlite3_bind_blob(st, 4, j->op->id.b, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (int64_t)j->feed);
		sqlite3_bind_int64(st, 6, (int64_t)j->seq);
		rc = ml__exec(s, st, "record grant", err);
		ml__grant_forget(s, &j->op->author);
	}
	return rc;
}

static int apply_unit_update(struct judge *j, struct ml_buf *err)
{
	static const struct {
		const char *key;
		enum stmt_id st;
	} fields[] = {{"name", ST_UNIT_SET_FIELD_NAME},
	              {"level", ST_UNIT_SET_FIELD_LEVEL},
	              {"sector", ST_UNIT_SET_FIELD_SECTOR}};
	uint8_t stamp[76];
	ml__stamp_encode(&j->stamp, stamp);
	int rc = ML_OK;
	for (size_t i = 0; i < 3 && rc == ML_OK; i++) {
		if (!ml_body_get(&j->body, fields[i].key))
			continue;
		sqlite3_stmt *st = ml__stmt(j->s, fields[i].st);
		if (!st)
			return ml__sqlerr(j->s, "update unit", err);
		sqlite3_bind_blob(st, 1, j->op->unit.b, 32, SQLITE_STATIC);
		bind_text_field(st, 2, &j->body, fields[i].key);
		sqlite3_bind_blob(st, 3, stamp, 76, SQLITE_STATIC);
		rc = ml__exec(j->s, st, "update unit", err);
	}
	ml__unit_forget(j->s, &j->op->unit);
	return rc;
}

/* Records that a unit stopped taking writes (dissolved, merged, split). */
static int end_unit(struct judge *j, const char *kind, const struct ml_hash *into,
                    struct ml_buf *err)
{
	struct ml_store *s = j->s;
	uint8_t stamp[76];
	ml__stamp_encode(&j->stamp, stamp);
	sqlite3_stmt *st = ml__stmt(s, ST_UNIT_END_ADD);
	if (!st)
		return ml__sqlerr(s, "record unit end", err);
	sqlite3_bind_blob(st, 1, j->op->id.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, j->op->unit.b, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	if (into)
		sqlite3_bind_blob(st, 4, into->b, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)j->feed);
	sqlite3_bind_int64(st, 6, (int64_t)j->seq);
	sqlite3_bind_blob(st, 7, stamp, 76, SQLITE_STATIC);
	int rc = ml__exec(s, st, "record unit end", err);
	/* The displayed status is the earliest ending by stamp. */
	st = ml__stmt(s, ST_UNIT_SET_END);
	if (rc == ML_OK && !st)
		rc = ml__sqlerr(s, "update unit", err);
	if (rc == ML_OK) {
		sqlite3_bind_blob(st, 1, j->op->unit.b, 32, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
		if (into)
			sqlite3_bind_blob(st, 3, into->b, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, stamp, 76, SQLITE_STATIC);
		rc = ml__exec(s, st, "update unit", err);
	}
	ml__unit_forget(s, &j->op->unit);
	return rc;
}

static int apply_split(struct judge *j, struct ml_buf *err)
{
	const struct ml_body_field *f = ml_body_get(&j->body, "names");
	const struct unit_info *u = ml__unit_info(j->s, &j->op->unit, err);
	struct ml_hash parent;
	if (!u || !ml__unit_parent(j, &j->op->unit, &parent))
		return ml_errf(err, ML_ESTORE, "split of a unit without parent");
	char level[32], sector[32];
	snprintf(level, sizeof level, "%s", u->level);
	snprintf(sector, sizeof sector, "%s", u->sector);
	struct ml_reader r;
	ml_rd_init(&r, f->val, f->vlen);
	uint64_t n = ml_rd_array(&r);
	int rc = ML_OK;
	for (uint64_t i = 0; i < n && rc == ML_OK; i++) {
		size_t len;
		const char *name = (const char *)ml_rd_text(&r, &len);
		uint8_t seed[15 + 32 + 1];
		memcpy(seed, "memberlog/split", 15);
		memcpy(seed + 15, j->op->id.b, 32);
		seed[47] = (uint8_t)i;
		struct ml_hash id = ml_hash_of(seed, sizeof seed);
		rc = insert_unit(j, &id, &parent, name, len, level, sector, err);
	}
	if (rc == ML_OK)
		rc = end_unit(j, "split", NULL, err);
	return rc;
}

/* Recomputes the displayed parent of every moved unit: moves in stamp order,
 * skipping (and listing) a move that would put a unit under its own subtree. */
static int replay_moves(struct ml_store *s, struct ml_buf *err)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db,
	                 "UPDATE units SET parent = create_parent"
	                 " WHERE id IN (SELECT unit FROM unit_moves);"
	                 "DELETE FROM conflicts WHERE kind = 'move_cycle';",
	                 NULL, NULL, &msg) != SQLITE_OK) {
		sqlite3_free(msg);
		return ml__sqlerr(s, "replay moves", err);
	}
	sqlite3_stmt *moves, *up;
	if (sqlite3_prepare_v2(s->db, "SELECT unit, to_unit, op FROM unit_moves ORDER BY stamp", -1,
	                       &moves, NULL) != SQLITE_OK)
		return ml__sqlerr(s, "replay moves", err);
	if (sqlite3_prepare_v2(s->db, "SELECT parent FROM units WHERE id = ?1", -1, &up, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(moves);
		return ml__sqlerr(s, "replay moves", err);
	}
	int rc = ML_OK;
	while (rc == ML_OK && sqlite3_step(moves) == SQLITE_ROW) {
		struct ml_hash unit, to, op;
		memcpy(unit.b, sqlite3_column_blob(moves, 0), 32);
		memcpy(to.b, sqlite3_column_blob(moves, 1), 32);
		memcpy(op.b, sqlite3_column_blob(moves, 2), 32);
		/* Walk up from the target: meeting the unit means a cycle. */
		struct ml_hash cur = to;
		bool cycle = ml_hash_eq(&cur, &unit);
		for (int depth = 0; depth < 64 && !cycle; depth++) {
			sqlite3_reset(up);
			sqlite3_bind_blob(up, 1, cur.b, 32, SQLITE_STATIC);
			if (sqlite3_step(up) != SQLITE_ROW ||
			    sqlite3_column_type(up, 0) == SQLITE_NULL)
				break;
			memcpy(cur.b, sqlite3_column_blob(up, 0), 32);
			cycle = ml_hash_eq(&cur, &unit);
		}
		sqlite3_reset(up);
		if (cycle) {
			rc = ml__conflict(s, "move_cycle", &unit, &op, &op, err);
			continue;
		}
		sqlite3_stmt *st = ml__stmt(s, ST_UNIT_SET_PARENT);
		sqlite3_bind_blob(st, 1, unit.b, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, to.b, 32, SQLITE_STATIC);
		rc = ml__exec(s, st, "move unit", err);
	}
	sqlite3_finalize(moves);
	sqlite3_finalize(up);
	return rc;
}

static int apply_unit_transfer(struct judge *j, struct ml_buf *err)
{
	struct ml_hash to;
	ml_body_hash(&j->body, "to", &to, NULL);
	sqlite3_stmt *st = ml__stmt(j->s, ST_UNIT_TRANSFER_ADD);
	if (!st)
		return ml__sqlerr(j->s, "record transfer", err);
	sqlite3_bind_blob(st, 1, j->op->id.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, j->op->unit.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, to.b, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)j->feed);
	sqlite3_bind_int64(st, 5, (int64_t)j->seq);
	return ml__exec(j->s, st, "record transfer", err);
}

static int apply_unit_receive(struct judge *j, struct ml_buf *err)
{
	struct ml_hash tr;
	struct transfer t;
	ml_body_hash(&j->body, "transfer", &tr, NULL);
	if (ml__unit_transfer(j, &tr, &t) != ML_OK)
		return ml_errf(err, ML_ESTORE, "a judged transfer vanished");
	uint8_t stamp[76];
	ml__stamp_encode(&j->stamp, stamp);
	sqlite3_stmt *st = ml__stmt(j->s, ST_UNIT_MOVE_ADD);
	if (!st)
		return ml__sqlerr(j->s, "record move", err);
	sqlite3_bind_blob(st, 1, j->op->id.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, j->op->unit.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, t.to.b, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)j->feed);
	sqlite3_bind_int64(st, 5, (int64_t)j->seq);
	sqlite3_bind_blob(st, 6, stamp, 76, SQLITE_STATIC);
	int rc = ml__exec(j->s, st, "record move", err);
	ml__unit_forget(j->s, &j->op->unit);
	return rc == ML_OK ? replay_moves(j->s, err) : rc;
}

static int apply_grant(struct judge *j, struct ml_buf *err)
{
	struct ml_pubkey dev;
	const char *role;
	size_t n;
	ml_body_pubkey(&j->body, "device", &dev, NULL);
	ml_body_text(&j->body, "role", &role, &n, NULL);
	sqlite3_stmt *st = ml__stmt(j->s, ST_GRANT_ADD);
	if (!st)
		return ml__sqlerr(j->s, "record grant", err);
	sqlite3_bind_blob(st, 1, j->op->id.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, dev.b, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, ml_role_of(role, n));
	sqlite3_bind_blob(st, 4, j->op->unit.b, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)j->feed);
	sqlite3_bind_int64(st, 6, (int64_t)j->seq);
	int rc = ml__exec(j->s, st, "record grant", err);
	ml__grant_forget(j->s, &dev);
	return rc;
}

static int apply_directive(struct judge *j, struct ml_buf *err)
{
	sqlite3_stmt *st = ml__stmt(j->s, ST_DIRECTIVE_ADD);
	if (!st)
		return ml__sqlerr(j->s, "record directive", err);
	sqlite3_bind_blob(st, 1, j->op->id.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, j->op->unit.b, 32, SQLITE_STATIC);
	bind_text_field(st, 3, &j->body, "title");
	bind_text_field(st, 4, &j->body, "date");
	bind_text_field(st, 5, &j->body, "reference");
	return ml__exec(j->s, st, "record directive", err);
}

int ml__apply(struct judge *j, struct ml_buf *err)
{
	struct ml_hash into;
	switch (j->type) {
	case ML_OT_GENESIS:
		return apply_genesis(j, err);
	case ML_OT_UNIT_CREATE:
		return apply_unit_create(j, err);
	case ML_OT_UNIT_UPDATE:
		return apply_unit_update(j, err);
	case ML_OT_UNIT_TRANSFER:
		return apply_unit_transfer(j, err);
	case ML_OT_UNIT_RECEIVE:
		return apply_unit_receive(j, err);
	case ML_OT_UNIT_MERGE:
		ml_body_hash(&j->body, "into", &into, NULL);
		return end_unit(j, "merged", &into, err);
	case ML_OT_UNIT_SPLIT:
		return apply_split(j, err);
	case ML_OT_UNIT_DISSOLVE:
		return end_unit(j, "dissolved", NULL, err);
	case ML_OT_DIRECTIVE_POST:
		return apply_directive(j, err);
	case ML_OT_GRANT:
		return apply_grant(j, err);
	case ML_OT_REVOKE:
		return ml__apply_revoke(j, err);
	case ML_OT_NUMBERS_DELEGATE:
		return apply_delegation(j, err);
	default:
		return ml__member_apply(j, err);
	}
}

void ml__set_target(struct judge *j)
{
	const struct ml_optype_info *info = ml_optype_info(j->type);
	if (info->lane == ML_LANE_GOV) {
		bool creates = j->type == ML_OT_GENESIS || j->type == ML_OT_UNIT_CREATE;
		j->target = creates ? j->op->id : j->op->unit;
		j->has_target = true;
		return;
	}
	/* Applied member ops are listed in the member's row; only rejected ones need an index. */
	if (!j->code)
		return;
	if (info->flags & ML_OTF_CREATES) {
		j->target = j->op->id;
		j->has_target = true;
	} else if (ml_body_hash(&j->body, "member", &j->target, NULL) == ML_OK ||
	           ml_body_hash(&j->body, "a", &j->target, NULL) == ML_OK) {
		j->has_target = true;
	}
}

void ml__judge_release(struct judge *j)
{
	ml__member_recycle(j->s, &j->m);
	ml_member_view_release(&j->mview);
}

int ml__view_clear(struct ml_store *s, struct ml_buf *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(
	    s->db,
	    "DELETE FROM units; DELETE FROM unit_moves; DELETE FROM unit_transfers;"
	    "DELETE FROM unit_ends; DELETE FROM grants; DELETE FROM cuts;"
	    "DELETE FROM revocations; DELETE FROM ranges; DELETE FROM members;"
	    "INSERT INTO member_search (member_search) VALUES ('delete-all');"
	    "DELETE FROM conflicts; DELETE FROM duplicates;"
	    "DELETE FROM duplicate_decisions; DELETE FROM directives; DELETE FROM photos;",
	    NULL, NULL, &msg);
	sqlite3_free(msg);
	ml__cache_clear(s);
	return rc == SQLITE_OK ? ML_OK : ml__sqlerr(s, "clear views", err);
}
