/*
 * invite.c - one-time invitations (invite.h).
 */
#include "invite.h"

#include "author.h"
#include "node_int.h"

#include "crdt/body.h"
#include "crdt/err.h"
#include "crdt/schema.h"

#include <sodium.h>
#include <string.h>

static const char table_sql[] =
    "CREATE TABLE IF NOT EXISTS invites (id BLOB PRIMARY KEY, secret BLOB NOT NULL,"
    " unit BLOB NOT NULL, role TEXT NOT NULL, created_ms INTEGER, expires_ms INTEGER,"
    " used_by BLOB, used_ms INTEGER)";

static int ensure_table(struct ml_store *s, struct ml_buf *err)
{
	if (sqlite3_exec(s->db, table_sql, NULL, NULL, NULL) != SQLITE_OK)
		return ml__sqlerr(s, "create the invites table", err);
	return ML_OK;
}

int ml_invite_create(struct ml_store *s, const struct ml_hash *unit, const char *role,
                     uint64_t ttl_ms, uint64_t now_ms, struct ml_invite *out, struct ml_buf *err)
{
	memset(out, 0, sizeof *out);
	if (ml_role_of(role, strlen(role)) == ML_ROLE_NONE || strlen(role) >= sizeof out->role)
		return ml_errf(err, ML_EINVAL, "unknown role '%s'", role);
	int rc = ensure_table(s, err);
	if (rc != ML_OK)
		return rc;
	randombytes_buf(out->id, sizeof out->id);
	randombytes_buf(out->secret, sizeof out->secret);
	out->unit = *unit;
	strcpy(out->role, role);
	out->expires_ms = now_ms + ttl_ms;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(
	        s->db,
	        "INSERT INTO invites (id, secret, unit, role, created_ms, expires_ms)"
	        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	        -1, &st, NULL) != SQLITE_OK)
		return ml__sqlerr(s, "prepare the invite", err);
	sqlite3_bind_blob(st, 1, out->id, sizeof out->id, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, out->secret, sizeof out->secret, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, unit->b, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, role, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)now_ms);
	sqlite3_bind_int64(st, 6, (int64_t)out->expires_ms);
	rc = ml__exec(s, st, "store the invite", err);
	sqlite3_finalize(st);
	return rc;
}

int ml_invite_get(struct ml_store *s, const uint8_t id[ML_INVITE_ID], uint64_t now_ms,
                  struct ml_invite *out, struct ml_buf *err)
{
	memset(out, 0, sizeof *out);
	int rc = ensure_table(s, err);
	if (rc != ML_OK)
		return rc;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT secret, unit, role, expires_ms, used_by FROM invites"
	                       " WHERE id = ?1",
	                       -1, &st, NULL) != SQLITE_OK)
		return ml__sqlerr(s, "read the invite", err);
	sqlite3_bind_blob(st, 1, id, ML_INVITE_ID, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = ml_errf(err, ML_ENOTFOUND, "no such invite on this node");
	else if (step != SQLITE_ROW)
		rc = ml__sqlerr(s, "read the invite", err);
	else if (sqlite3_column_type(st, 4) != SQLITE_NULL)
		rc = ml_errf(err, ML_EEXIST, "the invite was already used");
	else if ((uint64_t)sqlite3_column_int64(st, 3) < now_ms)
		rc = ml_errf(err, ML_EINVAL, "the invite has expired");
	else if (sqlite3_column_bytes(st, 0) != ML_INVITE_KEY ||
	         sqlite3_column_bytes(st, 1) != 32 ||
	         sqlite3_column_bytes(st, 2) >= (int)sizeof out->role)
		rc = ml_errf(err, ML_ESTORE, "the invite's row is damaged");
	if (rc == ML_OK) {
		memcpy(out->id, id, ML_INVITE_ID);
		memcpy(out->secret, sqlite3_column_blob(st, 0), ML_INVITE_KEY);
		memcpy(out->unit.b, sqlite3_column_blob(st, 1), 32);
		memcpy(out->role, sqlite3_column_text(st, 2), (size_t)sqlite3_column_bytes(st, 2));
		out->expires_ms = (uint64_t)sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	return rc;
}

int ml_invite_redeem(struct ml_store *s, const struct ml_key *key, const uint8_t id[ML_INVITE_ID],
                     const struct ml_pubkey *device, uint64_t now_ms, struct ml_buf *err)
{
	struct ml_invite inv;
	int rc = ml__begin(s, err);
	if (rc == ML_OK)
		rc = ml_invite_get(s, id, now_ms, &inv, err);
	struct ml_buf body = ML_BUF_INIT;
	if (rc == ML_OK) {
		struct ml_body_builder bb;
		ml_bb_init(&bb);
		ml_bb_bytes(&bb, "device", device->b, 32);
		ml_bb_cstr(&bb, "role", inv.role);
		rc = ml_bb_finish(&bb, &body);
		ml_bb_release(&bb);
	}
	if (rc == ML_OK) {
		struct ml_draft d = {"grant", body.data, body.len};
		rc =
		    ml_author_write(s, key, &inv.unit, ML_LANE_GOV, &d, 1, now_ms, NULL, NULL, err);
	}
	sqlite3_stmt *st = NULL;
	if (rc == ML_OK &&
	    sqlite3_prepare_v2(s->db, "UPDATE invites SET used_by = ?2, used_ms = ?3 WHERE id = ?1",
	                       -1, &st, NULL) != SQLITE_OK)
		rc = ml__sqlerr(s, "mark the invite used", err);
	if (rc == ML_OK) {
		sqlite3_bind_blob(st, 1, id, ML_INVITE_ID, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, device->b, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)now_ms);
		rc = ml__exec(s, st, "mark the invite used", err);
	}
	sqlite3_finalize(st);
	if (rc == ML_OK)
		rc = ml__commit(s, err);
	if (rc != ML_OK)
		ml__rollback(s);
	sodium_memzero(&inv, sizeof inv);
	ml_buf_release(&body);
	return rc;
}
