/*
 * checkpoint.h - copying the WAL back into the database file on a thread of
 * its own, so the writer goes on while it runs.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses its
 * threshold: at 1M ops it was 12 % of ingest, all of it on the one thread
 * that writes, while the second core sat mostly idle (BENCHMARKS.md).  Here a
 * WAL hook wakes a thread that holds its own connection to the same file and
 * runs a PASSIVE checkpoint, which never blocks the writer, and then syncs
 * the database file; the writer copies the last frames itself so that the WAL
 * restarts (checkpoint.c says why), and has only those left to sync.
 * The WAL grows past the threshold while the thread copies (to about 60,000
 * pages at the default); past four times the threshold (the thread cannot
 * keep up, or a reader pins old frames) the writer waits for the thread and
 * copies, as SQLite would, so the WAL stays bounded.  Without a thread (no
 * memory, no pthread, a temporary database) SQLite's own checkpoint stays.
 * Internal to node/; the test knobs are in store.h.
 */
#ifndef ML_NODE_CHECKPOINT_H
#define ML_NODE_CHECKPOINT_H

#include "node_int.h"

/* WAL pages at which a checkpoint starts: 200 MB (store.c says why this many). */
#define ML_CHECKPOINT_PAGES 50000

/* Takes over s->db's checkpoints (its WAL hook); the thread starts on first need.  Never fails:
 * without memory for it, SQLite's automatic checkpoint stays in place. */
void ml__checkpointer_start(struct ml_store *s);

/* Interrupts a running checkpoint (what it copied stays), ends the thread and closes its
 * connection; before s->db is closed.  Accepts a store that never started one. */
void ml__checkpointer_stop(struct ml_store *s);

#endif
