/*
 * checkpoint.h - copying the WAL back into the database file on a thread of
 * its own, so the writer goes on while it runs.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses its
 * threshold: at 1M ops it was 12 % of ingest, all of it on the one thread
 * that writes (BENCHMARKS.md).  Here a WAL hook wakes a thread that holds
 * its own connection to the same file and runs a PASSIVE checkpoint, which
 * never blocks the writer; the writer restarts the WAL at its next
 * transaction once the thread has copied every frame.  When the WAL still
 * grows past four times the threshold (the thread cannot keep up, or a
 * reader pins old frames), the writer checkpoints itself, as SQLite would.
 * Internal to node/.
 */
#ifndef ML_NODE_CHECKPOINT_H
#define ML_NODE_CHECKPOINT_H

#include "node_int.h"

/* WAL pages at which a checkpoint starts: 200 MB (store.c says why this many). */
#define ML_CHECKPOINT_PAGES 50000

/* Takes over s->db's checkpoints (its WAL hook); the thread starts on first need, and should it
 * not start, the writer checkpoints itself.  ML_OK or ML_ENOMEM. */
int ml__checkpointer_start(struct ml_store *s, struct ml_buf *err);

/* Waits for a running checkpoint, ends the thread and closes its connection; before s->db is
 * closed.  Accepts a store that never started one. */
void ml__checkpointer_stop(struct ml_store *s);

#endif
