/*
 * read.c - read-only statements on the store (see read.h).
 */
#include "read.h"

#include "node_int.h"
#include "view.h"

#include "crdt/alloc.h"
#include "crdt/err.h"

#include <string.h>

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
	int rc = ml_read_prepare(s, "SELECT ops FROM members WHERE rid = member_rid(?1)", &st, err);
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

/* SQL member_rid(id): the row id of member id (a 32-byte blob), or NULL when there is none. */
static void member_rid_fn(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	struct ml_store *s = sqlite3_user_data(cx);
	const void *p = sqlite3_value_blob(argv[0]);
	if (sqlite3_value_type(argv[0]) != SQLITE_BLOB || sqlite3_value_bytes(argv[0]) != 32)
		return;
	struct ml_hash id;
	memcpy(id.b, p, 32);
	/* Outside the store's own transactions another process may have written since. */
	int rc = s->txn_depth ? ML_OK : ml__notice_writers(s, NULL);
	int64_t rid;
	if (rc == ML_OK)
		rc = ml__member_rid(s, &id, &rid, NULL);
	if (rc == ML_OK)
		sqlite3_result_int64(cx, rid);
	else if (rc == ML_ENOMEM)
		sqlite3_result_error_nomem(cx);
	else if (rc != ML_ENOTFOUND)
		sqlite3_result_error(cx, "cannot look the member up in the op index", -1);
}

int ml__read_functions(struct ml_store *s)
{
	return sqlite3_create_function_v2(s->db, "member_rid", 1, SQLITE_UTF8, s, member_rid_fn,
	                                  NULL, NULL, NULL);
}
