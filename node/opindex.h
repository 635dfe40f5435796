/*
 * opindex.h - finding an authentic op (a row of `ops`) by its id.
 *
 * Every op row gets an entry when it is inserted; lookups stay exact however
 * the entries are kept (opindex.c says how, and why not a plain SQLite index),
 * and keys found in the index are remembered, so an op looked up again (the
 * member an op is about) costs no seek.
 * Internal to node/.
 */
#ifndef ML_NODE_OPINDEX_H
#define ML_NODE_OPINDEX_H

#include "node_int.h"

/* Records that the op row at key has this id; inside the write transaction that inserts the
 * row.  ML_OK, ML_ENOMEM or ML_ESTORE. */
int ml__opindex_add(struct ml_store *s, const struct ml_hash *id, int64_t key, struct ml_buf *err);

/* Finds the op row with this id: sets *key and *status (optional); ML_OK, ML_ENOTFOUND,
 * ML_ENOMEM or ML_ESTORE.  Ops not yet written (fresh ops) are not found here. */
int ml__opindex_find(struct ml_store *s, const struct ml_hash *id, int64_t *key, int *status,
                     struct ml_buf *err);

/* Calls found(ctx, key) for each op row key entered under id's first 8 bytes - the recent
 * entries, then the key remembered for that prefix (which may be stale, or one of the recent
 * ones again), then the merged entries - until found returns other than ML_ENOTFOUND, and
 * returns that: the keys are hints, found must check the row it reads.  ML_ENOTFOUND when no call
 * found it, or ML_ENOMEM or ML_ESTORE.  found may run statements other than the index's own. */
int ml__opindex_each(struct ml_store *s, const struct ml_hash *id,
                     int (*found)(void *ctx, int64_t key), void *ctx, struct ml_buf *err);

/* Remembers that the op row at key has this id, as a lookup that found it in op_ids would: for
 * ops that later ops look up (a member's creating op).  A hint only.  Never fails. */
void ml__opindex_remember(struct ml_store *s, const struct ml_hash *id, int64_t key);

/* How many lookups read the merged index itself (op_ids) since the store opened: the others
 * were answered from memory.  For tests. */
uint64_t ml__opindex_seeks(const struct ml_store *s);

/* Merges the recent entries into the sorted index when they have grown large; call before
 * committing a transaction that added entries.  ML_OK or ML_ESTORE. */
int ml__opindex_settle(struct ml_store *s, struct ml_buf *err);

/* Drops the recent entries memory holds (after a rollback, or another process's commit);
 * reloaded on use.  Remembered keys stay: they are checked on use. */
void ml__opindex_forget(struct ml_store *s);

/* Frees the memory (store close). */
void ml__opindex_release(struct ml_store *s);

#endif
