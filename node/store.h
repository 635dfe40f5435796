/*
 * store.h - a node's store: one SQLite file holding the op log and the
 * register materialized from it (docs/REGISTER.md §7).
 *
 * A store is used by one thread at a time (the node's loop or a command);
 * ingest uses worker threads internally for hashing and signatures.  Every
 * function that can fail returns ML_OK or a negative ml_err and, where it
 * takes one, leaves a sentence in err; ML_ESTORE carries SQLite's message.
 */
#ifndef ML_STORE_H
#define ML_STORE_H

#include "crdt/buf.h"
#include "crdt/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ml_store;

enum ml_store_flags {
	ML_STORE_CREATE = 1 << 0, /* create the file if it does not exist */
};

/*
 * Opens (or creates) the store at path.  *out is set on success; the caller
 * closes it with ml_store_close.  Returns ML_OK, ML_ENOTFOUND (no file and no
 * ML_STORE_CREATE), or ML_ESTORE.
 */
int ml_store_open(const char *path, unsigned flags, struct ml_store **out, struct ml_buf *err);

/*
 * Sets SQLite's process-wide options (memory statistics off: they take a global mutex on every
 * allocation).  ml_store_open calls it, but SQLite accepts them only before its first use in a
 * process: a program that uses SQLite itself before opening a store calls this first.  Never
 * fails; once set, later calls change nothing.
 */
void ml_store_setup(void);

/* Closes the store and frees it; accepts NULL. */
void ml_store_close(struct ml_store *s);

/* Returns true and sets *net when the store knows its network (it has a genesis). */
bool ml_store_network(const struct ml_store *s, struct ml_hash *net);

/*
 * Sets the network this store belongs to, before its genesis arrives (a node
 * that joins).  ML_OK, ML_EEXIST if it already has another one, ML_ESTORE.
 */
int ml_store_set_network(struct ml_store *s, const struct ml_hash *net, struct ml_buf *err);

/* What happened to each op of an ingested batch. */
struct ml_ingest_result {
	size_t received;  /* ops in the batch */
	size_t duplicate; /* already stored */
	size_t applied;   /* judged valid and applied (this batch's and released waiting ops) */
	size_t rejected;  /* judged invalid: stored with a reason, no effect */
	size_t waiting;   /* ops in the store still waiting for missing ops or signatures */
	size_t refused;   /* not stored: malformed, another network, from the future, buffer full */
	size_t evicted;   /* candidates dropped from the waiting buffer to make room (sent again
	                     by reconciliation once they can be used) */
	int first_error;  /* the first refusal or rejection, ML_OK if none */
	char first_message[384];
	bool rebuilt; /* a revocation or fork proof made the store re-judge everything */
};

/*
 * Ingests n encoded ops (ops[i] of lens[i] bytes) as one transaction: on
 * ML_OK every op it reports stored is durable in the file.  Ops may arrive in
 * any order; an op is judged once its feed's chain is signed and its causal
 * past is present.  now_ms is this device's clock, for the drift bound.
 * Returns ML_OK (verdicts in *res), ML_EAGAIN (the waiting buffer is full:
 * nothing was stored), ML_ENOMEM or ML_ESTORE (nothing was stored).
 */
int ml_store_ingest(struct ml_store *s, const uint8_t *const *ops, const size_t *lens, size_t n,
                    uint64_t now_ms, struct ml_ingest_result *res, struct ml_buf *err);

/*
 * A batch of encoded ops whose parsing and signature checks (most of the CPU
 * an ingest needs outside SQLite) can run on another thread while the store
 * ingests the batch before it.  The ops' bytes are borrowed: they must stay
 * valid until the batch is freed.
 */
struct ml_batch;

/* Makes a batch of ops[0..n) (lens[i] bytes each) for store s (checked against its network's
 * schema) into *out.  ML_OK or ML_ENOMEM. */
int ml_batch_new(const struct ml_store *s, const uint8_t *const *ops, const size_t *lens, size_t n,
                 struct ml_batch **out);

/* Returns the number of ops in b. */
size_t ml_batch_len(const struct ml_batch *b);

/*
 * Parses b's ops and checks their signatures on the calling thread, touching no
 * store (a worker thread may run it).  Verdicts are kept for ml_store_ingest_batch.
 */
void ml_batch_check(struct ml_batch *b);

/*
 * ml_batch_check on a thread of its own; ml_store_ingest_batch waits for it.
 * Checks on the caller's thread instead when no thread can be started.
 */
void ml_batch_check_start(struct ml_batch *b);

/*
 * ml_store_ingest for a batch: checks it first unless a check was started.  A
 * batch is ingested at most once: ML_EINVAL the second time.  where (optional,
 * ml_batch_len entries) gets op i's place: its feed's number in this store << 32
 * | its seq, or 0 when op i was refused; the network layer learns what a peer
 * holds without decoding the ops again.  Valid only on ML_OK.
 */
int ml_store_ingest_batch(struct ml_store *s, struct ml_batch *b, uint64_t now_ms, int64_t *where,
                          struct ml_ingest_result *res, struct ml_buf *err);

/* Waits for a check still running, then frees b; accepts NULL. */
void ml_batch_free(struct ml_batch *b);

/* Recomputes every verdict and materialized table from the stored ops.  ML_OK or ML_ESTORE. */
int ml_store_rebuild(struct ml_store *s, struct ml_buf *err);

/* Computes the state hash (docs/REGISTER.md §8) into *out.  ML_OK or ML_ESTORE. */
int ml_store_state_hash(struct ml_store *s, struct ml_hash *out, struct ml_buf *err);

/* Counts of stored ops by status. */
struct ml_store_counts {
	uint64_t ops, applied, rejected, waiting, unverified;
	uint64_t feeds, units, members, grants, conflicts, duplicates, forks;
};
int ml_store_counts(struct ml_store *s, struct ml_store_counts *c, struct ml_buf *err);

/* Returns SQLite's message for the store's last error ("" if none); borrowed until the next call.
 */
const char *ml_store_errmsg(const struct ml_store *s);

/* Ops waiting now (candidates for a signature, and ops waiting for their past); never fails. */
int64_t ml_store_waiting(const struct ml_store *s);

/* Largest number of ops kept waiting for missing ops or signatures, by default. */
#define ML_STORE_MAX_WAITING 200000

/* Sets that bound for this open store (n <= 0: the default).  Never fails. */
void ml_store_set_max_waiting(struct ml_store *s, int64_t n);

/* Merges the op-id index's recent entries once they number at least n (n <= 0: the default,
 * which adapts to the store's size), for tests that must cross merges.  Never fails. */
void ml_store_set_index_merge(struct ml_store *s, int64_t n);

/* Starts checkpoints once the WAL holds pages pages (outside 1..2^28: the default, 50,000), for
 * tests that must cross many; MEMBERLOG_CHECKPOINT_PAGES at open does the same.  Never fails. */
void ml_store_set_checkpoint_pages(struct ml_store *s, int pages);

/* Checkpoints this store's commits led to since it was opened (node/checkpoint.h), counting only
 * those that copied frames: rounds on the checkpoint thread, and how many of them the thread then
 * synced to disk itself (those that copied new frames but not the WAL's last); tails, the last
 * frames the writer copied itself so the WAL restarts, and the writer's time in them (µs);
 * rounds the writer ran because the thread lagged or could not run; rounds or syncs of the thread
 * that failed (not SQLITE_BUSY); and WAL restarts seen by this store's own commits. */
struct ml_store_checkpoints {
	uint64_t by_thread, synced, tails, tail_us, by_writer, errors, restarts;
};

/* Fills *out; all zero for a temporary database.  Never fails. */
void ml_store_checkpoints(struct ml_store *s, struct ml_store_checkpoints *out);

#endif
