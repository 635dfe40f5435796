/*
 * store.c - the SQLite file: schema, statements, meta, feed cache, frontiers.
 *
 * Schema version 1 (docs/REGISTER.md §7).  Statements are prepared on first
 * use from one table and kept for the store's life.  The feed cache holds
 * the feeds a transaction touches; it is written back before COMMIT and
 * forgotten on ROLLBACK, so memory and file never disagree.
 */
#include "cache.h"
#include "checkpoint.h"
#include "opindex.h"
#include "walbuf.h"

#include "crdt/alloc.h"
#include "crdt/err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 2: ops found by id through op_ids (opindex.c); 3: a member's row id is its creating op's key */
#define SCHEMA_VERSION "3"

/*
 * The members table and what indexes it; a store of schema 2 has them dropped
 * and rebuilt from the log (upgrade_members).  rid is the key of the member's
 * creating op, so a member is found by id through the op index (members.c)
 * and needs no index of its own on a random 32-byte key.  members_moved lets
 * scopes follow members that moved (scope.c): all of them, or those a unit
 * now manages.
 */
#define MEMBERS_SQL                                                                               \
	"CREATE TABLE IF NOT EXISTS members ("                                                    \
	" rid INTEGER PRIMARY KEY, id BLOB NOT NULL, unit BLOB, create_unit BLOB, state TEXT,"    \
	" status TEXT, number TEXT, full_name TEXT, id_number TEXT, name_fold TEXT,"              \
	" first_approval_ms INTEGER, pending INTEGER, origin TEXT, has_transfers INTEGER,"        \
	" official BLOB, draft BLOB, ops BLOB, n_conflicts INTEGER NOT NULL DEFAULT 0, summary "  \
	"BLOB);"                                                                                  \
	"CREATE INDEX IF NOT EXISTS members_unit ON members (unit, state);"                       \
	"CREATE INDEX IF NOT EXISTS members_id_number ON members (id_number);"                    \
	"CREATE INDEX IF NOT EXISTS members_number ON members (number) WHERE number IS NOT NULL;" \
	"CREATE INDEX IF NOT EXISTS members_moved ON members (unit) WHERE has_transfers;"         \
	"CREATE VIRTUAL TABLE IF NOT EXISTS member_search USING fts5(name_fold, "                 \
	"content='members',"                                                                      \
	" content_rowid='rid', tokenize='unicode61 remove_diacritics 0');"

static const char schema_sql[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);"
    "CREATE TABLE IF NOT EXISTS feeds ("
    " id INTEGER PRIMARY KEY, author BLOB NOT NULL, unit BLOB NOT NULL, lane INTEGER NOT NULL,"
    " auth_seq INTEGER NOT NULL, auth_id BLOB, auth_ms INTEGER, auth_c INTEGER,"
    " pending INTEGER NOT NULL, judged_seq INTEGER NOT NULL, judged_past INTEGER NOT NULL,"
    " fork_seq INTEGER NOT NULL,"
    " UNIQUE (author, unit, lane));"
    "CREATE TABLE IF NOT EXISTS ops ("
    " key INTEGER PRIMARY KEY, id BLOB NOT NULL,"
    " status INTEGER NOT NULL, code INTEGER, reason TEXT, eval INTEGER, past INTEGER,"
    " type INTEGER, target BLOB, raw BLOB NOT NULL);"
    /* finding an op by id: opindex.c */
    "CREATE TABLE IF NOT EXISTS op_ids (idp INTEGER NOT NULL, key INTEGER NOT NULL,"
    " PRIMARY KEY (idp, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS op_ids_new (idp INTEGER NOT NULL, key INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS ops_target ON ops (target) WHERE target IS NOT NULL;"
    /* sync sends ops in evaluation order (a causal order) */
    "CREATE INDEX IF NOT EXISTS ops_eval ON ops (eval) WHERE eval IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS missing (dep BLOB NOT NULL, op INTEGER NOT NULL,"
    " PRIMARY KEY (dep, op)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS frontiers (id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE,"
    " data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS pending (id BLOB PRIMARY KEY, feed INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, prev BLOB, signed INTEGER NOT NULL, raw BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS pending_feed ON pending (feed, seq);"
    "CREATE TABLE IF NOT EXISTS forks (id BLOB PRIMARY KEY, feed INTEGER, seq INTEGER, raw BLOB);"
    "CREATE INDEX IF NOT EXISTS forks_feed ON forks (feed, seq);"
    "CREATE TABLE IF NOT EXISTS evidence (feed INTEGER PRIMARY KEY, seq INTEGER, record BLOB);"
    /* materialized register */
    "CREATE TABLE IF NOT EXISTS units ("
    " id BLOB PRIMARY KEY, parent BLOB, create_parent BLOB, name TEXT, level TEXT, sector TEXT,"
    " status TEXT NOT NULL, merged_into BLOB, created_feed INTEGER, created_seq INTEGER,"
    " created_ms INTEGER, name_stamp BLOB, level_stamp BLOB, sector_stamp BLOB, ended_stamp BLOB);"
    /* a scope walks the tree down (scope.c) */
    "CREATE INDEX IF NOT EXISTS units_parent ON units (parent);"
    "CREATE TABLE IF NOT EXISTS unit_ends (op BLOB PRIMARY KEY, unit BLOB, kind TEXT, into_unit "
    "BLOB,"
    " feed INTEGER, seq INTEGER, stamp BLOB);"
    "CREATE INDEX IF NOT EXISTS unit_ends_unit ON unit_ends (unit);"
    "CREATE TABLE IF NOT EXISTS unit_moves (op BLOB PRIMARY KEY, unit BLOB, to_unit BLOB,"
    " feed INTEGER, seq INTEGER, stamp BLOB);"
    "CREATE INDEX IF NOT EXISTS unit_moves_unit ON unit_moves (unit);"
    "CREATE TABLE IF NOT EXISTS unit_transfers (op BLOB PRIMARY KEY, unit BLOB, to_unit BLOB,"
    " feed INTEGER, seq INTEGER);"
    "CREATE TABLE IF NOT EXISTS grants (op BLOB PRIMARY KEY, device BLOB, role INTEGER, unit BLOB,"
    " feed INTEGER, seq INTEGER);"
    "CREATE INDEX IF NOT EXISTS grants_device ON grants (device, role);"
    "CREATE TABLE IF NOT EXISTS cuts (op BLOB, device BLOB, unit BLOB, lane INTEGER, seq INTEGER,"
    " PRIMARY KEY (op, unit, lane)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS revocations (op BLOB PRIMARY KEY, device BLOB);"
    "CREATE TABLE IF NOT EXISTS ranges (op BLOB PRIMARY KEY, unit BLOB, by_unit BLOB,"
    " start INTEGER, count INTEGER, feed INTEGER, seq INTEGER, stamp BLOB);"
    "CREATE INDEX IF NOT EXISTS ranges_unit ON ranges (unit);"
    "CREATE INDEX IF NOT EXISTS ranges_by ON ranges (by_unit);" MEMBERS_SQL
    "CREATE TABLE IF NOT EXISTS conflicts (kind TEXT, subject BLOB, a BLOB, b BLOB,"
    " PRIMARY KEY (kind, subject, a, b)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS conflicts_subject ON conflicts (subject);"
    "CREATE INDEX IF NOT EXISTS conflicts_b ON conflicts (b);"
    "CREATE TABLE IF NOT EXISTS duplicates (a BLOB, b BLOB, id_number TEXT,"
    " PRIMARY KEY (a, b)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS duplicates_b ON duplicates (b);"
    "CREATE TABLE IF NOT EXISTS duplicate_decisions (a BLOB, b BLOB, decision TEXT, stamp BLOB,"
    " op BLOB, PRIMARY KEY (a, b)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS directives (op BLOB PRIMARY KEY, unit BLOB, title TEXT,"
    " date TEXT, reference TEXT);"
    /* photo.h: every photo applied ops set, with the unit of the first such op's feed */
    "CREATE TABLE IF NOT EXISTS photos (hash BLOB NOT NULL PRIMARY KEY, unit BLOB NOT NULL,"
    " held INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS photos_wanted ON photos (hash) WHERE held = 0;";

/* clang-format off */
static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
	[ST_FEED_GET] = "SELECT id, auth_seq, auth_id, auth_ms, auth_c, pending, judged_seq, fork_seq,"
		" author, unit, lane, judged_past FROM feeds WHERE author = ?1 AND unit = ?2 AND lane = ?3",
	/* the latest clock of any authentic op held: a scan of the feeds, once per write */
	[ST_FEED_LATEST_HLC] = "SELECT auth_ms, auth_c FROM feeds WHERE auth_seq > 0"
		" ORDER BY auth_ms DESC, auth_c DESC LIMIT 1",
	[ST_FEED_GET_ID] = "SELECT id, auth_seq, auth_id, auth_ms, auth_c, pending, judged_seq, fork_seq,"
		" author, unit, lane, judged_past FROM feeds WHERE id = ?1",
	[ST_FEED_INSERT] = "INSERT INTO feeds (author, unit, lane, auth_seq, pending, judged_seq,"
		" judged_past, fork_seq) VALUES (?1, ?2, ?3, 0, 0, 0, 0, 0)",
	[ST_FEED_UPDATE] = "UPDATE feeds SET auth_seq = ?2, auth_id = ?3, auth_ms = ?4, auth_c = ?5,"
		" pending = ?6, judged_seq = ?7, fork_seq = ?8, judged_past = ?9 WHERE id = ?1",
	[ST_OPID_ADD] = "INSERT INTO op_ids_new (idp, key) VALUES (?1, ?2)",
	[ST_OPID_FIND] = "SELECT o.key, o.status, o.id FROM op_ids i JOIN ops o ON o.key = i.key"
		" WHERE i.idp = ?1",
	[ST_OPID_KEYS] = "SELECT key FROM op_ids WHERE idp = ?1",
	[ST_OPID_RECENT] = "SELECT idp, key FROM op_ids_new",
	[ST_OPID_MERGE] = "INSERT OR IGNORE INTO op_ids (idp, key)"
		" SELECT idp, key FROM op_ids_new ORDER BY idp, key",
	[ST_OPID_CLEAR] = "DELETE FROM op_ids_new",
	[ST_OP_BY_KEY] = "SELECT id, status, raw, past, code FROM ops WHERE key = ?1",
	[ST_OP_INSERT] = "INSERT INTO ops (key, id, status, raw) VALUES (?1, ?2, ?3, ?4)",
	[ST_OP_DEL_FROM] = "DELETE FROM ops WHERE key >= ?1 AND key <= ?2",
	[ST_OP_SET_STATUS] = "UPDATE ops SET status = ?2, code = ?3, reason = ?4 WHERE key = ?1",
	[ST_OP_INSERT_JUDGED] = "INSERT INTO ops (key, id, status, code, reason, eval, past, type,"
		" target, raw) VALUES (?1, ?9, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10)",
	[ST_OP_JUDGE] = "UPDATE ops SET status = ?2, code = ?3, reason = ?4, eval = ?5, past = ?6,"
		" type = ?7, target = ?8 WHERE key = ?1",
	[ST_OP_RANGE] = "SELECT key, id, status, raw FROM ops WHERE key > ?1 AND key <= ?2 ORDER BY key",
	[ST_MISSING_ADD] = "INSERT OR IGNORE INTO missing (dep, op) VALUES (?1, ?2)",
	[ST_MISSING_TAKE] = "SELECT op FROM missing WHERE dep = ?1",
	[ST_MISSING_DEL] = "DELETE FROM missing WHERE dep = ?1",
	[ST_FRONTIER_BY_HASH] = "SELECT id FROM frontiers WHERE hash = ?1",
	[ST_FRONTIER_GET] = "SELECT data FROM frontiers WHERE id = ?1",
	[ST_FRONTIER_ADD] = "INSERT INTO frontiers (hash, data) VALUES (?1, ?2)",
	[ST_FORK_ADD] = "INSERT OR IGNORE INTO forks (id, feed, seq, raw) VALUES (?1, ?2, ?3, ?4)",
	[ST_FORK_FIND] = "SELECT feed, seq FROM forks WHERE id = ?1",
	[ST_PENDING_ADD] = "INSERT OR IGNORE INTO pending (id, feed, seq, prev, signed, raw)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_PENDING_FIND] = "SELECT feed, seq FROM pending WHERE id = ?1",
	[ST_PENDING_RANGE] = "SELECT id, seq, prev, signed, raw FROM pending WHERE feed = ?1"
		" AND seq > ?2 AND seq <= ?3 ORDER BY seq",
	[ST_PENDING_DEL] = "DELETE FROM pending WHERE id = ?1",
	/* what goes first when too much waits: unsigned candidates (anyone can make them), oldest
	 * first, then signed ones */
	[ST_PENDING_OLDEST] = "SELECT rowid, feed FROM pending ORDER BY signed, rowid LIMIT ?1",
	[ST_PENDING_DEL_ROW] = "DELETE FROM pending WHERE rowid = ?1",
	[ST_EVIDENCE_ADD] = "INSERT OR IGNORE INTO evidence (feed, seq, record) VALUES (?1, ?2, ?3)",
	[ST_UNIT_GET] = "SELECT create_parent, created_feed, created_seq, level, sector, status"
		" FROM units WHERE id = ?1",
	[ST_UNIT_INSERT] = "INSERT OR IGNORE INTO units (id, parent, create_parent, name, level, sector,"
		" status, created_feed, created_seq, created_ms, name_stamp, level_stamp, sector_stamp)"
		" VALUES (?1, ?2, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?9, ?9, ?9)",
	[ST_UNIT_SET_FIELD_NAME] = "UPDATE units SET name = ?2, name_stamp = ?3 WHERE id = ?1"
		" AND (name_stamp IS NULL OR name_stamp < ?3)",
	[ST_UNIT_SET_FIELD_LEVEL] = "UPDATE units SET level = ?2, level_stamp = ?3 WHERE id = ?1"
		" AND (level_stamp IS NULL OR level_stamp < ?3)",
	[ST_UNIT_SET_FIELD_SECTOR] = "UPDATE units SET sector = ?2, sector_stamp = ?3 WHERE id = ?1"
		" AND (sector_stamp IS NULL OR sector_stamp < ?3)",
	[ST_UNIT_END_ADD] = "INSERT OR IGNORE INTO unit_ends (op, unit, kind, into_unit, feed, seq, stamp)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_UNIT_ENDS_OF] = "SELECT kind, into_unit, feed, seq FROM unit_ends WHERE unit = ?1",
	[ST_UNIT_SET_END] = "UPDATE units SET status = ?2, merged_into = ?3, ended_stamp = ?4 WHERE id = ?1"
		" AND (ended_stamp IS NULL OR ended_stamp > ?4)",
	[ST_UNIT_SET_PARENT] = "UPDATE units SET parent = ?2 WHERE id = ?1",
	[ST_UNIT_MOVE_ADD] = "INSERT OR IGNORE INTO unit_moves (op, unit, to_unit, feed, seq, stamp)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_UNIT_MOVES_OF] = "SELECT to_unit, feed, seq, stamp FROM unit_moves WHERE unit = ?1",
	[ST_UNIT_TRANSFER_ADD] = "INSERT OR IGNORE INTO unit_transfers (op, unit, to_unit, feed, seq)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_UNIT_TRANSFER_GET] = "SELECT unit, to_unit, feed, seq FROM unit_transfers WHERE op = ?1",
	[ST_GRANT_ADD] = "INSERT OR IGNORE INTO grants (op, device, role, unit, feed, seq)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_GRANTS_OF] = "SELECT unit, feed, seq FROM grants WHERE device = ?1 AND role = ?2",
	[ST_GRANT_AT] = "SELECT feed, seq FROM grants WHERE device = ?1 AND unit = ?2",
	[ST_CUT_ADD] = "INSERT OR IGNORE INTO cuts (op, device, unit, lane, seq) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_RANGE_ADD] = "INSERT OR IGNORE INTO ranges (op, unit, by_unit, start, count, feed, seq, stamp)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_RANGES_OF] = "SELECT start, count, feed, seq FROM ranges WHERE unit = ?1",
	[ST_RANGES_BY] = "SELECT start, count, feed, seq, op, stamp FROM ranges WHERE by_unit = ?1",
	[ST_MEMBER_GET] = "SELECT id, has_transfers, ops, name_fold, number, id_number, n_conflicts,"
		" unit, state, full_name, summary, official, draft, create_unit, status, origin"
		" FROM members"
		" WHERE rid = ?1",
	/* Parameters as in the updates (member_update_sql); ?1, the rid, is the creating op's key. */
	[ST_MEMBER_INSERT] = "INSERT INTO members (rid, unit, create_unit, state, status, number,"
		" full_name, id_number, name_fold, first_approval_ms, pending, origin, has_transfers,"
		" official, draft, ops, n_conflicts, id, summary) VALUES"
		" (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
		" ?21)",
	[ST_MEMBER_BY_IDNUM] = "SELECT id FROM members WHERE id_number = ?1 AND id != ?2",
	[ST_MEMBER_BY_NUMBER] = "SELECT id FROM members WHERE number = ?1 AND id != ?2",
	[ST_SEARCH_ADD] = "INSERT INTO member_search (rowid, name_fold) VALUES (?1, ?2)",
	[ST_SEARCH_DEL] = "INSERT INTO member_search (member_search, rowid, name_fold) VALUES ('delete', ?1, ?2)",
	[ST_CONFLICT_ADD] = "INSERT OR IGNORE INTO conflicts (kind, subject, a, b) VALUES (?1, ?2, ?3, ?4)",
	[ST_CONFLICT_DEL_SUBJECT] = "DELETE FROM conflicts WHERE subject = ?1 AND kind >= 'member_'"
		" AND kind < 'member`'",
	[ST_DUPLICATE_ADD] = "INSERT OR IGNORE INTO duplicates (a, b, id_number) VALUES (?1, ?2, ?3)",
	[ST_DUPLICATE_DEL_MEMBER] = "DELETE FROM duplicates WHERE a = ?1",
	[ST_DUPLICATE_DECIDE] = "INSERT INTO duplicate_decisions (a, b, decision, stamp, op)"
		" VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (a, b) DO UPDATE SET decision = ?3, stamp = ?4,"
		" op = ?5 WHERE stamp < ?4",
	[ST_CONFLICT_DEL_NUMBER] = "DELETE FROM conflicts WHERE kind = 'number_shared' AND a = ?1",
	[ST_CONFLICT_DEL_NUMBER_B] = "DELETE FROM conflicts WHERE kind = 'number_shared' AND b = ?1",
	[ST_DUPLICATE_DEL_MEMBER_B] = "DELETE FROM duplicates WHERE b = ?1",
	[ST_DIRECTIVE_ADD] = "INSERT OR IGNORE INTO directives (op, unit, title, date, reference)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_PHOTO_REF] = "INSERT OR IGNORE INTO photos (hash, unit) VALUES (?1, ?2)",
	[ST_PHOTO_HELD] = "UPDATE photos SET held = 1 WHERE hash = ?1 AND held = 0",
	[ST_PHOTO_WANTED] = "SELECT DISTINCT hash FROM photos WHERE held = 0 AND hash > ?1"
		" ORDER BY hash LIMIT ?2",
	[ST_PHOTO_UNITS] = "SELECT unit FROM photos WHERE hash = ?1",
	[ST_PHOTO_UNHELD] = "UPDATE photos SET held = 0 WHERE hash = ?1",
};
/* clang-format on */

/*
 * The member update that writes the indexed column groups in mask (ML_MSET_*)
 * and every other column.  Parameters: ?1 rid, ?2 unit, ?3 create_unit, ?4 state,
 * ?5 status, ?6 number, ?7 full_name, ?8 id_number, ?9 name_fold,
 * ?10 first_approval_ms, ?11 pending, ?12 origin, ?13 has_transfers,
 * ?14 official, ?15 draft, ?16 ops, ?17 n_conflicts, ?21 summary.
 */
static void member_update_sql(unsigned mask, char *out, size_t cap)
{
	snprintf(out, cap,
	         "UPDATE members SET create_unit = ?3, status = ?5, full_name = ?7,"
	         " name_fold = ?9, first_approval_ms = ?10, pending = ?11, origin = ?12,"
	         " has_transfers = ?13, official = ?14, draft = ?15, ops = ?16,"
	         " n_conflicts = ?17, summary = ?21%s%s%s WHERE rid = ?1",
	         mask & ML_MSET_UNIT ? ", unit = ?2, state = ?4" : "",
	         mask & ML_MSET_ID_NUMBER ? ", id_number = ?8" : "",
	         mask & ML_MSET_NUMBER ? ", number = ?6" : "");
}

sqlite3_stmt *ml__stmt(struct ml_store *s, enum stmt_id id)
{
	if (!s->st[id]) {
		char built[512];
		const char *sql = stmt_sql[id];
		if (id >= ST_MEMBER_UPDATE && id <= ST_MEMBER_UPDATE_LAST) {
			member_update_sql((unsigned)(id - ST_MEMBER_UPDATE), built, sizeof built);
			sql = built;
		}
		if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st[id],
		                       NULL) != SQLITE_OK)
			return NULL;
	} else {
		sqlite3_reset(s->st[id]);
		sqlite3_clear_bindings(s->st[id]);
	}
	return s->st[id];
}

int ml__sqlerr(struct ml_store *s, const char *what, struct ml_buf *err)
{
	snprintf(s->errmsg, sizeof s->errmsg, "%s", sqlite3_errmsg(s->db));
	return ml_errf(err, ML_ESTORE, "%s: %s", what, s->errmsg);
}

int ml__exec(struct ml_store *s, sqlite3_stmt *st, const char *what, struct ml_buf *err)
{
	if (!st)
		return ml__sqlerr(s, what, err);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return ml__sqlerr(s, what, err);
	return ML_OK;
}

const char *ml_store_errmsg(const struct ml_store *s)
{
	return s->errmsg;
}

int ml__meta_get(struct ml_store *s, const char *key, struct ml_buf *val)
{
	sqlite3_stmt *st = ml__stmt(s, ST_META_GET);
	if (!st)
		return ML_ESTORE;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ml_buf_reset(val);
		int n = sqlite3_column_bytes(st, 0);
		rc = ml_buf_add(val, sqlite3_column_blob(st, 0), (size_t)n);
		sqlite3_reset(st);
		return rc;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? ML_ENOTFOUND : ML_ESTORE;
}

int ml__meta_set(struct ml_store *s, const char *key, const void *val, size_t n, struct ml_buf *err)
{
	sqlite3_stmt *st = ml__stmt(s, ST_META_SET);
	if (!st)
		return ml__sqlerr(s, "meta", err);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, val, (int)n, SQLITE_STATIC);
	return ml__exec(s, st, "write meta", err);
}

/* --- feeds ------------------------------------------------------------- */

static void feed_from_row(sqlite3_stmt *st, struct feed *f)
{
	f->id = sqlite3_column_int64(st, 0);
	f->auth_seq = (uint64_t)sqlite3_column_int64(st, 1);
	if (sqlite3_column_bytes(st, 2) == 32)
		memcpy(f->auth_id.b, sqlite3_column_blob(st, 2), 32);
	f->auth_hlc.ms = (uint64_t)sqlite3_column_int64(st, 3);
	f->auth_hlc.c = (uint32_t)sqlite3_column_int64(st, 4);
	f->pending = (uint64_t)sqlite3_column_int64(st, 5);
	f->judged_seq = (uint64_t)sqlite3_column_int64(st, 6);
	f->fork_seq = (uint64_t)sqlite3_column_int64(st, 7);
	memcpy(f->key.author.b, sqlite3_column_blob(st, 8), 32);
	memcpy(f->key.unit.b, sqlite3_column_blob(st, 9), 32);
	f->key.lane = (enum ml_lane)sqlite3_column_int(st, 10);
	f->judged_past = sqlite3_column_int64(st, 11);
}

static int cache_add(struct ml_store *s, struct feed *f)
{
	struct feed **p = ml_grow(s->feeds, &s->cap_feeds, s->n_feeds + 1, sizeof *p, 64);
	if (!p)
		return ML_ENOMEM;
	s->feeds = p;
	s->feeds[s->n_feeds++] = f;
	return ML_OK;
}

int ml__feed_get(struct ml_store *s, const struct ml_feed_id *key, bool create, struct feed **out,
                 struct ml_buf *err)
{
	*out = NULL;
	/* Most recently touched first: a batch usually works on one or two feeds. */
	for (size_t i = s->n_feeds; i-- > 0;) {
		if (ml_feed_id_eq(&s->feeds[i]->key, key)) {
			*out = s->feeds[i];
			return ML_OK;
		}
	}
	sqlite3_stmt *st = ml__stmt(s, ST_FEED_GET);
	if (!st)
		return ml__sqlerr(s, "read feed", err);
	sqlite3_bind_blob(st, 1, key->author.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, key->unit.b, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, key->lane);
	int rc = sqlite3_step(st);
	struct feed *f = NULL;
	if (rc == SQLITE_ROW || (rc == SQLITE_DONE && create)) {
		f = ml_calloc(1, sizeof *f);
		if (!f) {
			sqlite3_reset(st);
			return ML_ENOMEM;
		}
		if (rc == SQLITE_ROW) {
			feed_from_row(st, f);
		} else {
			f->key = *key;
			f->is_new = true;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ml__sqlerr(s, "read feed", err);
	if (!f)
		return ML_ENOTFOUND;
	if (f->is_new) {
		st = ml__stmt(s, ST_FEED_INSERT);
		if (!st) {
			ml_free(f);
			return ml__sqlerr(s, "add feed", err);
		}
		sqlite3_bind_blob(st, 1, key->author.b, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, key->unit.b, 32, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, key->lane);
		if ((rc = ml__exec(s, st, "add feed", err)) != ML_OK) {
			ml_free(f);
			return rc;
		}
		f->id = sqlite3_last_insert_rowid(s->db);
		if ((uint64_t)f->id > 0x7fffffffULL) {
			ml_free(f);
			return ml_errf(err, ML_ETOOBIG, "this store holds at most 2^31 feeds");
		}
	}
	if ((rc = cache_add(s, f)) != ML_OK) {
		ml_free(f);
		return rc;
	}
	*out = f;
	return ML_OK;
}

int ml__feed_by_id(struct ml_store *s, int64_t id, struct feed **out, struct ml_buf *err)
{
	*out = NULL;
	for (size_t i = s->n_feeds; i-- > 0;) {
		if (s->feeds[i]->id == id) {
			*out = s->feeds[i];
			return ML_OK;
		}
	}
	sqlite3_stmt *st = ml__stmt(s, ST_FEED_GET_ID);
	if (!st)
		return ml__sqlerr(s, "read feed", err);
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	struct feed *f = NULL;
	if (rc == SQLITE_ROW) {
		f = ml_calloc(1, sizeof *f);
		if (f)
			feed_from_row(st, f);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ML_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return ml__sqlerr(s, "read feed", err);
	if (!f || cache_add(s, f) != ML_OK) {
		ml_free(f);
		return ML_ENOMEM;
	}
	*out = f;
	return ML_OK;
}

int ml__feeds_flush(struct ml_store *s, struct ml_buf *err)
{
	int rc = ML_OK;
	for (size_t i = 0; i < s->n_feeds && rc == ML_OK; i++) {
		struct feed *f = s->feeds[i];
		if (!f->dirty)
			continue;
		sqlite3_stmt *st = ml__stmt(s, ST_FEED_UPDATE);
		if (!st)
			return ml__sqlerr(s, "write feed", err);
		sqlite3_bind_int64(st, 1, f->id);
		sqlite3_bind_int64(st, 2, (int64_t)f->auth_seq);
		sqlite3_bind_blob(st, 3, f->auth_id.b, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)f->auth_hlc.ms);
		sqlite3_bind_int64(st, 5, f->auth_hlc.c);
		sqlite3_bind_int64(st, 6, (int64_t)f->pending);
		sqlite3_bind_int64(st, 7, (int64_t)f->judged_seq);
		sqlite3_bind_int64(st, 8, (int64_t)f->fork_seq);
		sqlite3_bind_int64(st, 9, f->judged_past);
		rc = ml__exec(s, st, "write feed", err);
		f->dirty = false;
	}
	ml__feeds_forget(s);
	return rc;
}

void ml__frontiers_forget(struct ml_store *s)
{
	for (size_t i = 0; i < sizeof s->fc / sizeof s->fc[0]; i++)
		s->fc[i].used = false;
}

static int load_meta(struct ml_store *s, struct ml_buf *err);

/* PRAGMA data_version: changes when another connection commits; -1 on error. */
static int64_t data_version(struct ml_store *s)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int ml__begin(struct ml_store *s, struct ml_buf *err)
{
	if (s->txn_depth > 0) {
		s->txn_depth++;
		return ML_OK;
	}
	int rc = ml__exec(s, ml__stmt(s, ST_BEGIN), "begin", err);
	if (rc != ML_OK)
		return rc;
	s->txn_depth = 1;
	return ml__notice_writers(s, err);
}

int ml__notice_writers(struct ml_store *s, struct ml_buf *err)
{
	int64_t v = data_version(s);
	if (v == s->data_version)
		return ML_OK;
	/* Another process wrote: nothing remembered from before can be trusted. */
	ml__feeds_forget(s);
	ml__cache_clear(s);
	ml__frontiers_forget(s);
	ml__opindex_forget(s);
	int rc = load_meta(s, err);
	/* Remembered only once reloaded: a failed reload is tried again next time. */
	if (rc == ML_OK)
		s->data_version = v;
	return rc;
}

int ml__commit(struct ml_store *s, struct ml_buf *err)
{
	if (s->txn_depth > 1) {
		s->txn_depth--;
		return ML_OK;
	}
	int rc = ml__exec(s, ml__stmt(s, ST_COMMIT), "commit", err);
	if (rc == ML_OK)
		s->txn_depth = 0;
	return rc;
}

void ml__rollback(struct ml_store *s)
{
	if (s->txn_depth > 0 || !sqlite3_get_autocommit(s->db))
		ml__exec(s, ml__stmt(s, ST_ROLLBACK), "rollback", NULL);
	s->txn_depth = 0;
	ml__feeds_forget(s);
	ml__cache_clear(s);
	ml__frontiers_forget(s);
	ml__opindex_forget(s);
	s->need_rebuild = false;
	s->rebuilding = false;
	s->fault = ML_OK;
	/* A partial list would leave cuts unenforced: then the next transaction reloads. */
	if (ml__revs_load(s, NULL) != ML_OK)
		s->data_version = -1;
}

void ml__feeds_forget(struct ml_store *s)
{
	for (size_t i = 0; i < s->n_feeds; i++)
		ml_free(s->feeds[i]);
	s->n_feeds = 0;
}

/* --- frontiers ---------------------------------------------------------- */

int ml__frontier_intern(struct ml_store *s, const struct ml_frontier *f, int64_t *id,
                        struct ml_buf *err)
{
	if (f->n == 0) {
		*id = 0;
		return ML_OK;
	}
	struct ml_buf enc = ML_BUF_INIT;
	int rc = ml_frontier_encode(f, &enc);
	if (rc != ML_OK)
		return rc;
	struct ml_hash h = ml_hash_of(enc.data, enc.len);
	sqlite3_stmt *st = ml__stmt(s, ST_FRONTIER_BY_HASH);
	if (!st) {
		ml_buf_release(&enc);
		return ml__sqlerr(s, "find frontier", err);
	}
	sqlite3_bind_blob(st, 1, h.b, 32, SQLITE_STATIC);
	int q = sqlite3_step(st);
	if (q == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (q == SQLITE_DONE) {
		st = ml__stmt(s, ST_FRONTIER_ADD);
		if (!st) {
			rc = ml__sqlerr(s, "add frontier", err);
		} else {
			sqlite3_bind_blob(st, 1, h.b, 32, SQLITE_STATIC);
			sqlite3_bind_blob(st, 2, enc.data, (int)enc.len, SQLITE_STATIC);
			rc = ml__exec(s, st, "add frontier", err);
			*id = sqlite3_last_insert_rowid(s->db);
		}
	} else if (q != SQLITE_ROW) {
		rc = ml__sqlerr(s, "find frontier", err);
	}
	ml_buf_release(&enc);
	return rc;
}

int ml__frontier_load(struct ml_store *s, int64_t id, struct ml_frontier *f, struct ml_buf *err)
{
	ml_frontier_reset(f);
	if (id == 0)
		return ML_OK;
	sqlite3_stmt *st = ml__stmt(s, ST_FRONTIER_GET);
	if (!st)
		return ml__sqlerr(s, "read frontier", err);
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = ml_frontier_decode(f, sqlite3_column_blob(st, 0),
		                        (size_t)sqlite3_column_bytes(st, 0));
	else
		rc = rc == SQLITE_DONE ? ML_ENOTFOUND : ml__sqlerr(s, "read frontier", err);
	sqlite3_reset(st);
	return rc;
}

/* --- statement statistics (MEMBERLOG_SQL_STATS=1, a debugging aid) --------- */

/* Counted by text, a copy: a statement finalized early frees its own. */
struct sql_stat {
	char *sql;
	unsigned long count;
};
static struct sql_stat sql_stats[256];

static int trace_stmt(unsigned type, void *ctx, void *p, void *x)
{
	(void)ctx;
	(void)x;
	const char *sql = type == SQLITE_TRACE_STMT ? sqlite3_sql(p) : NULL;
	if (!sql)
		return 0;
	for (size_t i = 0; i < sizeof sql_stats / sizeof sql_stats[0]; i++) {
		if (!sql_stats[i].sql && !(sql_stats[i].sql = strdup(sql)))
			break;
		if (strcmp(sql_stats[i].sql, sql) == 0) {
			sql_stats[i].count++;
			break;
		}
	}
	return 0;
}

static void print_sql_stats(void)
{
	for (size_t i = 0; i < sizeof sql_stats / sizeof sql_stats[0] && sql_stats[i].sql; i++)
		fprintf(stderr, "%10lu  %.100s\n", sql_stats[i].count, sql_stats[i].sql);
}

/* --- open and close ------------------------------------------------------ */

static int load_meta(struct ml_store *s, struct ml_buf *err)
{
	struct ml_buf v = ML_BUF_INIT;
	int rc = ml__meta_get(s, "network", &v);
	if (rc == ML_OK && v.len == 32) {
		memcpy(s->net.b, v.data, 32);
		s->have_net = true;
	}
	if (ml__meta_get(s, "org", &v) == ML_OK && v.len == 1)
		s->org = (enum ml_org)v.data[0];
	if (ml__meta_get(s, "next_eval", &v) == ML_OK && v.len == 8)
		memcpy(&s->next_eval, v.data, 8);
	if (ml__meta_get(s, "waiting", &v) == ML_OK && v.len == 8)
		memcpy(&s->waiting, v.data, 8);
	ml_buf_release(&v);
	if (s->next_eval == 0)
		s->next_eval = 1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM missing", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		s->n_missing = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return ml__revs_load(s, err);
}

/* ML_OK for a new file or one of this schema version; else ML_ESTORE with what to do. */
/* Stores made before member summaries get the column, empty: each member's next op is
 * folded in full and writes its summary (members.c). */
static int add_member_summaries(struct ml_store *s, char **msg)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
	    s->db, "SELECT count(*) FROM pragma_table_info('members') WHERE name = 'summary'", -1,
	    &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	bool has = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	return has ? SQLITE_OK
	           : sqlite3_exec(s->db, "ALTER TABLE members ADD COLUMN summary BLOB", NULL, NULL,
	                          msg);
}

/* Refuses a store of a schema this build cannot read; *upgrade is set for schema 2. */
static int check_schema(struct ml_store *s, const char *path, bool *upgrade, struct ml_buf *err)
{
	*upgrade = false;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'schema'", -1, &st,
	                       NULL) != SQLITE_OK)
		return ML_OK; /* no meta table yet: a new store */
	int rc = ML_OK;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const void *v = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		if (n == 1 && ((const char *)v)[0] == '2')
			*upgrade = true;
		else if (n != 1 || ((const char *)v)[0] != SCHEMA_VERSION[0])
			rc = ml_errf(
			    err, ML_ESTORE,
			    "store '%s' has schema version %.*s; this build reads %s: export"
			    " a bundle with the build that made it and import it into a new"
			    " store",
			    path, n, (const char *)v, SCHEMA_VERSION);
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Schema 2 to 3: only the members table changed (its row ids), and it is
 * derived from the log, so it is dropped, made again and refilled by a
 * rebuild, in one transaction: a crash leaves schema 2 to upgrade again.
 */
static int upgrade_members(struct ml_store *s, struct ml_buf *err)
{
	int rc = ml__begin(s, err);
	if (rc != ML_OK)
		return rc;
	/* Another process may have upgraded while this one waited for the lock. */
	struct ml_buf v = ML_BUF_INIT;
	bool done = ml__meta_get(s, "schema", &v) == ML_OK && v.len == 1 &&
	            v.data[0] == (uint8_t)SCHEMA_VERSION[0];
	ml_buf_release(&v);
	if (done)
		return ml__commit(s, err);
	char *msg = NULL;
	if (sqlite3_exec(s->db, "DROP TABLE member_search; DROP TABLE members;" MEMBERS_SQL, NULL,
	                 NULL, &msg) != SQLITE_OK) {
		rc = ml_errf(err, ML_ESTORE, "cannot upgrade the members table: %s",
		             msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
	}
	if (rc == ML_OK)
		rc = ml__meta_set(s, "schema", SCHEMA_VERSION, 1, err);
	if (rc == ML_OK)
		rc = ml_store_rebuild(s, err);
	if (rc == ML_OK)
		rc = ml__commit(s, err);
	if (rc != ML_OK)
		ml__rollback(s);
	return rc;
}

/* SQLite's process-wide settings, made before its first use in the process. */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_setup(void)
{
	/* Memory statistics take a global mutex on every SQLite allocation and free: about 4 % of
	 * an ingest's writer thread (perf).  node/ reads no statistics and sets no heap limit.
	 * When SQLite was already initialised (by a program that used it before opening a store
	 * without calling ml_store_setup), this is refused and changes nothing. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

void ml_store_setup(void)
{
	pthread_once(&sqlite_once, sqlite_setup);
}

int ml_store_open(const char *path, unsigned flags, struct ml_store **out, struct ml_buf *err)
{
	ml_store_setup();
	*out = NULL;
	if (!(flags & ML_STORE_CREATE) && access(path, F_OK) != 0)
		return ml_errf(err, ML_ENOTFOUND, "no store at '%s'", path);
	struct ml_store *s = ml_calloc(1, sizeof *s);
	if (!s)
		return ML_ENOMEM;
	s->max_waiting = ML_STORE_MAX_WAITING;
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
	             (flags & ML_STORE_CREATE ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &s->db, oflags, ml__walbuf_vfs()) != SQLITE_OK) {
		int rc = ml_errf(err, ML_ESTORE, "cannot open store '%s': %s", path,
		                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		ml_store_close(s);
		return rc;
	}
	sqlite3_busy_timeout(s->db, 10000);
	/* Tests fold every member op both ways and compare (members.c). */
	s->fold_check = getenv("MEMBERLOG_FOLD_CHECK") != NULL;
	if (getenv("MEMBERLOG_SQL_STATS"))
		sqlite3_trace_v2(s->db, SQLITE_TRACE_STMT, trace_stmt, NULL);
	sqlite3_extended_result_codes(s->db, 1);
	char *msg = NULL;
	int rc = sqlite3_exec(s->db,
	                      "PRAGMA cache_size=-65536;"
	                      "PRAGMA temp_store=MEMORY;"
	                      /* A checkpoint writes each page once however often the WAL
	                       * holds it: at 50,000 pages (200 MB) hot member and index pages
	                       * are copied back about five times less often than at 10,000
	                       * (ingest +10 %, BENCHMARKS.md).  The WAL file is cut back to
	                       * 256 MB at a restart rather than to less: cutting it to 64 MB
	                       * and growing it again cost the whole gain.  The checkpoints run
	                       * on a thread of their own (checkpoint.h), whose hook turns this
	                       * one off; it stays for a store where that thread cannot run. */
	                      "PRAGMA wal_autocheckpoint=50000;"
	                      "PRAGMA journal_size_limit=268435456;",
	                      NULL, NULL, &msg);
	/* A store of another schema is refused before anything is written to it. */
	bool upgrade = false;
	if (rc == SQLITE_OK)
		rc = ml__read_functions(s);
	if (rc == SQLITE_OK && (rc = check_schema(s, path, &upgrade, err)) != ML_OK) {
		ml_store_close(s);
		return rc;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, schema_sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = add_member_summaries(s, &msg);
	if (rc != SQLITE_OK) {
		int e = ml_errf(err, ML_ESTORE, "cannot set up store '%s': %s", path,
		                msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		ml_store_close(s);
		return e;
	}
	ml__checkpointer_start(s);
	struct ml_buf v = ML_BUF_INIT;
	if (ml__meta_get(s, "schema", &v) == ML_ENOTFOUND)
		rc = ml__meta_set(s, "schema", SCHEMA_VERSION, 1, err);
	ml_buf_release(&v);
	/* Tests that must cross the op index's merges often can ask for small ones. */
	const char *merge = getenv("MEMBERLOG_INDEX_MERGE");
	if (merge)
		ml_store_set_index_merge(s, atoll(merge));
	const char *pages = getenv("MEMBERLOG_CHECKPOINT_PAGES");
	if (pages)
		ml_store_set_checkpoint_pages(s, atoi(pages));
	/* The version first: a commit by another process while meta loads (it reads the op
	 * index when there are revocations) then makes the next transaction reload. */
	s->data_version = data_version(s);
	if (rc == ML_OK)
		rc = load_meta(s, err);
	if (rc == ML_OK && upgrade)
		rc = upgrade_members(s, err);
	if (rc != ML_OK) {
		ml_store_close(s);
		return rc;
	}
	*out = s;
	return ML_OK;
}

void ml_store_close(struct ml_store *s)
{
	if (!s)
		return;
	if (getenv("MEMBERLOG_SQL_STATS"))
		print_sql_stats();
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	ml__feeds_forget(s);
	ml_free(s->feeds);
	ml__revs_release(s);
	ml__cache_clear(s);
	ml_free(s->cache);
	ml__opindex_release(s);
	for (size_t i = 0; i < sizeof s->fc / sizeof s->fc[0]; i++)
		ml_frontier_release(&s->fc[i].f);
	ml_free(s->cands);
	for (size_t i = 0; i < s->n_fresh; i++)
		ml_free(s->fresh[i].copy);
	ml_free(s->fresh);
	ml_free(s->fresh_slots);
	ml__checkpointer_stop(s);
	sqlite3_close(s->db);
	ml_buf_release(&s->err);
	ml_free(s);
}

int64_t ml_store_waiting(const struct ml_store *s)
{
	return s->waiting;
}

void ml_store_set_max_waiting(struct ml_store *s, int64_t n)
{
	s->max_waiting = n > 0 ? n : ML_STORE_MAX_WAITING;
}

void ml_store_set_index_merge(struct ml_store *s, int64_t n)
{
	s->index_merge = n > 0 ? n : 0;
}

bool ml_store_network(const struct ml_store *s, struct ml_hash *net)
{
	if (s->have_net && net)
		*net = s->net;
	return s->have_net;
}

int ml_store_set_network(struct ml_store *s, const struct ml_hash *net, struct ml_buf *err)
{
	if (s->have_net)
		return ml_hash_eq(&s->net, net)
		           ? ML_OK
		           : ml_errf(err, ML_EEXIST,
		                     "this store already belongs to another network");
	int rc = ml__meta_set(s, "network", net->b, 32, err);
	if (rc == ML_OK) {
		s->net = *net;
		s->have_net = true;
	}
	return rc;
}

static int64_t count_of(struct ml_store *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int ml_store_counts(struct ml_store *s, struct ml_store_counts *c, struct ml_buf *err)
{
	memset(c, 0, sizeof *c);
	struct {
		uint64_t *dst;
		const char *sql;
	} q[] = {
	    {&c->ops, "SELECT count(*) FROM ops"},
	    {&c->applied, "SELECT count(*) FROM ops WHERE status = 2"},
	    {&c->rejected, "SELECT count(*) FROM ops WHERE status = 3"},
	    {&c->waiting, "SELECT count(*) FROM ops WHERE status = 1"},
	    {&c->unverified, "SELECT count(*) FROM ops WHERE status = 0"},
	    {&c->feeds, "SELECT count(*) FROM feeds"},
	    {&c->units, "SELECT count(*) FROM units"},
	    {&c->members, "SELECT count(*) FROM members"},
	    {&c->grants, "SELECT count(*) FROM grants"},
	    {&c->conflicts, "SELECT count(*) FROM conflicts"},
	    {&c->duplicates, "SELECT count(*) FROM duplicates"},
	    {&c->forks, "SELECT count(*) FROM evidence"},
	};
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		int64_t n = count_of(s, q[i].sql);
		if (n < 0)
			return ml__sqlerr(s, "count", err);
		*q[i].dst = (uint64_t)n;
	}
	return ML_OK;
}
