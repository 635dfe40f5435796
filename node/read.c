/*
 * read.c - read-only statements on the store (see read.h).
 */
#include "read.h"

#include "node_int.h"

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
