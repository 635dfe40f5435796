/*
 * read.c - read-only statements on the store (see read.h).
 */
#include "read.h"

#include "node_int.h"

#include "crdt/alloc.h"
#include "crdt/err.h"

int ml_read_prepare(struct ml_store *s, const char *sql, sqlite3_stmt **out, struct ml_buf *err)
{
	*out = NULL;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return ml_errf(err, ML_ESTORE, "cannot read the store: %s", sqlite3_errmsg(s->db));
	if (!sqlite3_stmt_readonly(st)) {
		sqlite3_finalize(st);
		return ml_errf(err, ML_EINVAL, "a read of the store may not change it");
	}
	*out = st;
	return ML_OK;
}

int ml_read_org(const struct ml_store *s)
{
	return (int)s->org;
}

int ml_read_int(struct ml_store *s, const char *sql, const void *key, size_t len, int64_t *v,
                struct ml_buf *err)
{
	sqlite3_stmt *st;
	int rc = ml_read_prepare(s, sql, &st, err);
	if (rc != ML_OK)
		return rc;
	if (key)
		sqlite3_bind_blob(st, 1, key, (int)len, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else if (r == SQLITE_DONE)
		rc = ML_ENOTFOUND;
	else
		rc = ml_errf(err, ML_ESTORE, "cannot read the store: %s", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return rc;
}

int64_t ml_read_op_key(const uint8_t *p)
{
	uint64_t k = 0;
	for (int b = 0; b < 8; b++)
		k |= (uint64_t)p[b] << (8 * b);
	return (int64_t)k;
}

int ml_read_member_ops(struct ml_store *s, const struct ml_hash *member, int64_t **keys, size_t *n,
                       struct ml_buf *err)
{
	*keys = NULL;
	*n = 0;
	sqlite3_stmt *st;
	int rc = ml_read_prepare(s, "SELECT ops FROM members WHERE id = ?1", &st, err);
	if (rc != ML_OK)
		return rc;
	sqlite3_bind_blob(st, 1, member->b, 32, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		const uint8_t *p = sqlite3_column_blob(st, 0);
		size_t k = (size_t)sqlite3_column_bytes(st, 0) / 8;
		if (k && !(*keys = ml_calloc(k, sizeof **keys)))
			rc = ML_ENOMEM;
		for (size_t i = 0; rc == ML_OK && i < k; i++)
			(*keys)[i] = ml_read_op_key(p + 8 * i);
		if (rc == ML_OK)
			*n = k;
	} else if (r != SQLITE_DONE) {
		rc = ml_errf(err, ML_ESTORE, "cannot read the store: %s", sqlite3_errmsg(s->db));
	}
	sqlite3_finalize(st);
	return rc;
}
