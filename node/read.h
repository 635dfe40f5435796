/*
 * read.h - read-only questions on the register's tables.
 *
 * The materialized tables (docs/REGISTER.md §7) are the register's read
 * interface, as git's object store is for its porcelain: commands and
 * reports query them with SQL of their own.  Only the judge writes them, so
 * this interface refuses any statement that could change the store.
 *
 * A member's row id (`rid`) is the key of the op that created it; SQL run on
 * the store finds a member by id with the function member_rid(id), which
 * gives the row id or NULL: `SELECT ... FROM members WHERE rid = member_rid(?1)`.
 * (`WHERE id = ?1` gives the same answer but reads every row.)
 */
#ifndef ML_READ_H
#define ML_READ_H

#include "store.h"

#include <sqlite3.h>

/*
 * Prepares a read-only statement on the store into *out (the caller
 * finalizes it with sqlite3_finalize).  Returns ML_OK, ML_EINVAL when sql
 * could write, or ML_ESTORE with SQLite's message in err.
 */
int ml_read_prepare(struct ml_store *s, const char *sql, sqlite3_stmt **out, struct ml_buf *err);

/* Returns the network's organisation (0 trade union, 1 youth union) once it has a genesis. */
int ml_read_org(const struct ml_store *s);

/*
 * Runs sql (a read that returns one integer in its first column, with ?1
 * bound to the blob key[0..len) when key is not NULL) into *v.  ML_OK,
 * ML_ENOTFOUND (no row), ML_EINVAL or ML_ESTORE.
 */
int ml_read_int(struct ml_store *s, const char *sql, const void *key, size_t len, int64_t *v,
                struct ml_buf *err);

/* Decodes one key of a members row's `ops` list (8 bytes, little-endian; REGISTER.md §7). */
int64_t ml_read_op_key(const uint8_t *p);

/*
 * Sets *keys (the caller frees it with ml_free) to the keys of member's applied
 * ops, as its row lists them, and *n to their count (0 for an unknown
 * member).  ML_OK, ML_ENOMEM or ML_ESTORE.
 */
int ml_read_member_ops(struct ml_store *s, const struct ml_hash *member, int64_t **keys, size_t *n,
                       struct ml_buf *err);

#endif
