/*
 * node_int.h - what node/'s files share about the store.  Not for other modules.
 */
#ifndef ML_NODE_INT_H
#define ML_NODE_INT_H

#include "store.h"

#include "crdt/feed.h"
#include "crdt/frontier.h"
#include "crdt/member.h"
#include "crdt/schema.h"

#include <sqlite3.h>

/*
 * Op statuses in the ops table, which holds authentic ops only.  Ops whose
 * batch signature has not arrived are candidates in `pending` (several may
 * claim one position); ops at or after a proven fork are in `forks`.
 */
enum op_status {
	OP_WAITING = 1, /* authentic; waiting for its prev or deps to be judged */
	OP_APPLIED = 2,
	OP_REJECTED = 3,
};

/* ops.key: the feed number in the high 32 bits, seq in the low 32. */
#define OP_KEY(feed, seq) ((int64_t)(((uint64_t)(feed) << 32) | (uint64_t)(seq)))
#define OP_KEY_FEED(k)    ((uint64_t)(k) >> 32)
#define OP_KEY_SEQ(k)     ((uint64_t)(k)&0xffffffffULL)
#define ML_STORE_MAX_SEQ  0xffffffffULL /* a feed holds at most 2^32-1 ops here */

/* One feed's chain state, cached in memory while a transaction runs. */
struct feed {
	int64_t id;
	struct ml_feed_id key;
	uint64_t auth_seq; /* ops 1..auth_seq are authentic */
	struct ml_hash auth_id;
	struct ml_hlc auth_hlc;
	uint64_t pending;    /* candidates of this feed in the pending table */
	uint64_t judged_seq; /* ops 1..judged_seq are judged */
	int64_t judged_past; /* frontier id of the op at judged_seq's past */
	uint64_t fork_seq;   /* 0, or the first seq two authentic ops claim */
	bool dirty;
	bool is_new;
};

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_META_GET,
	ST_META_SET,
	ST_FEED_GET,
	ST_FEED_GET_ID,
	ST_FEED_LATEST_HLC,
	ST_PENDING_OLDEST,
	ST_PENDING_DEL_ROW,
	ST_FEED_INSERT,
	ST_FEED_UPDATE,
	ST_OPID_ADD,
	ST_OPID_FIND,
	ST_OPID_KEYS,
	ST_OPID_RECENT,
	ST_OPID_MERGE,
	ST_OPID_CLEAR,
	ST_OP_BY_KEY,
	ST_OP_INSERT,
	ST_OP_INSERT_JUDGED,
	ST_OP_DEL_FROM,
	ST_OP_SET_STATUS,
	ST_OP_JUDGE,
	ST_OP_RANGE,
	ST_MISSING_ADD,
	ST_MISSING_TAKE,
	ST_MISSING_DEL,
	ST_FRONTIER_BY_HASH,
	ST_FRONTIER_GET,
	ST_FRONTIER_ADD,
	ST_FORK_ADD,
	ST_FORK_FIND,
	ST_PENDING_ADD,
	ST_PENDING_FIND,
	ST_PENDING_RANGE,
	ST_PENDING_DEL,
	ST_EVIDENCE_ADD,
	ST_UNIT_GET,
	ST_UNIT_INSERT,
	ST_UNIT_SET_FIELD_NAME,
	ST_UNIT_SET_FIELD_LEVEL,
	ST_UNIT_SET_FIELD_SECTOR,
	ST_UNIT_END_ADD,
	ST_UNIT_ENDS_OF,
	ST_UNIT_SET_END,
	ST_UNIT_SET_PARENT,
	ST_UNIT_MOVE_ADD,
	ST_UNIT_MOVES_OF,
	ST_UNIT_TRANSFER_ADD,
	ST_UNIT_TRANSFER_GET,
	ST_GRANT_ADD,
	ST_GRANTS_OF,
	ST_GRANT_AT,
	ST_CUT_ADD,
	ST_RANGE_ADD,
	ST_RANGES_OF,
	ST_RANGES_BY,
	ST_MEMBER_GET,
	ST_MEMBER_INSERT,
	/* ST_MEMBER_UPDATE + a mask of ML_MSET_* (store.c builds the eight) */
	ST_MEMBER_UPDATE,
	ST_MEMBER_UPDATE_LAST = ST_MEMBER_UPDATE + 7,
	ST_MEMBER_BY_IDNUM,
	ST_MEMBER_BY_NUMBER,
	ST_SEARCH_ADD,
	ST_SEARCH_DEL,
	ST_CONFLICT_ADD,
	ST_CONFLICT_DEL_SUBJECT,
	ST_DUPLICATE_ADD,
	ST_DUPLICATE_DEL_MEMBER,
	ST_DUPLICATE_DECIDE,
	ST_CONFLICT_DEL_NUMBER,
	ST_CONFLICT_DEL_NUMBER_B,
	ST_DUPLICATE_DEL_MEMBER_B,
	ST_DIRECTIVE_ADD,
	ST_PHOTO_REF,
	ST_PHOTO_HELD,
	ST_PHOTO_WANTED,
	ST_PHOTO_UNITS,
	ST_PHOTO_UNHELD,
	ST_COUNT
};

/*
 * Which indexed column groups of a member row an update writes.  SQLite
 * rewrites an index entry whenever its column is assigned, even to the same
 * value, and the ID-number index is keyed at random: leaving unchanged groups
 * out of the SET list keeps an update to the row's own page.
 */
enum {
	ML_MSET_UNIT = 1,      /* unit, state (members_unit) */
	ML_MSET_ID_NUMBER = 2, /* id_number (members_id_number) */
	ML_MSET_NUMBER = 4,    /* number (members_number) */
};

/* A revocation that took effect: per-feed cuts, 0 for feeds not listed. */
struct revocation {
	struct ml_pubkey device;
	struct ml_hash op;
	size_t n;
	struct cut {
		struct ml_hash unit;
		enum ml_lane lane;
		uint64_t seq;
	} * cuts;
};

struct ml_store {
	sqlite3 *db;
	struct ml_checkpointer *checkpointer; /* checkpoint.h; NULL for a temporary database */
	sqlite3_stmt *st[ST_COUNT];
	bool have_net;
	struct ml_hash net;
	enum ml_org org;
	int64_t next_eval;
	int64_t waiting;     /* candidates in pending, and authentic ops not yet judged */
	int64_t max_waiting; /* ML_STORE_MAX_WAITING unless set */
	int64_t index_merge; /* opindex.c's merge size if set, else 0 */
	/* The first internal error (ML_ENOMEM, ML_ESTORE) met where the judge reads
	 * through a cache that cannot report one; the transaction then fails rather
	 * than turn the error into a verdict. */
	int fault;
	int64_t n_missing;    /* rows in the missing table */
	uint64_t photo_refs;  /* photo references recorded since the store opened (photo.h) */
	uint64_t scope_epoch; /* changes that may widen or narrow a scope (scope.h) */

	/* feeds touched by the running transaction */
	struct feed **feeds;
	size_t n_feeds, cap_feeds;

	/* revocations in effect (their own ops are immune to cuts) */
	struct revocation *revs;
	size_t n_revs;
	bool need_rebuild;
	bool rebuilding;
	bool fold_check; /* MEMBERLOG_FOLD_CHECK: every stepwise member fold checked in full */
	/* during a rebuild pass: valid revocations not (yet) in effect */
	struct rev_candidate {
		struct ml_stamp stamp;
		int64_t key;
	} * cands;
	size_t n_cands, cap_cands;

	struct ml_cache *cache;     /* cache.h */
	struct ml_opindex *opindex; /* opindex.h */
	int txn_depth;              /* ml__begin nesting; 0 outside a transaction */
	int64_t data_version;       /* PRAGMA data_version at the last transaction */

	/*
	 * Ops authenticated in the running transaction, not yet in the ops table:
	 * each row is written once, with its verdict, when the op is judged (or as
	 * waiting when the transaction ends first).
	 */
	struct fresh {
		int64_t key;
		struct ml_hash id;
		const uint8_t *raw;
		size_t len;
		uint8_t *copy; /* owned bytes when raw is not a batch item's */
		bool stored;
	} * fresh;
	size_t n_fresh, cap_fresh;
	/* fresh by key: index + 1 of the last one added with that key, 0 for an empty slot;
	 * open addressing, at most half full (judging looks each op up once) */
	uint32_t *fresh_slots;
	size_t n_fresh_slots; /* a power of two, or 0 */

	/* recently used frontiers */
	struct {
		int64_t id;
		struct ml_frontier f;
		bool used;
	} fc[8];
	unsigned fc_next;

	/* scratch */
	struct ml_buf err;
	char errmsg[512];
};

/* Returns the prepared statement id, reset and with bindings cleared; NULL on error. */
sqlite3_stmt *ml__stmt(struct ml_store *s, enum stmt_id id);

/* Records SQLite's error (rc) as ML_ESTORE with context in err; returns ML_ESTORE. */
int ml__sqlerr(struct ml_store *s, const char *what, struct ml_buf *err);

/* Runs one statement to completion (no rows expected).  ML_OK or ML_ESTORE. */
int ml__exec(struct ml_store *s, sqlite3_stmt *st, const char *what, struct ml_buf *err);

/* Meta key/value access. */
int ml__meta_get(struct ml_store *s, const char *key, struct ml_buf *val);
int ml__meta_set(struct ml_store *s, const char *key, const void *val, size_t n,
                 struct ml_buf *err);

/* Feeds: finds or creates the cached row of a feed (create: only when create is true). */
int ml__feed_get(struct ml_store *s, const struct ml_feed_id *key, bool create, struct feed **out,
                 struct ml_buf *err);
/* Finds the cached row of feed number id. */
int ml__feed_by_id(struct ml_store *s, int64_t id, struct feed **out, struct ml_buf *err);
/* Writes every dirty cached feed back; then (commit) or without writing (rollback) empties the
 * cache. */
int ml__feeds_flush(struct ml_store *s, struct ml_buf *err);
void ml__feeds_forget(struct ml_store *s);

/* Frontiers: interned by content; id 0 is the empty frontier. */
int ml__frontier_intern(struct ml_store *s, const struct ml_frontier *f, int64_t *id,
                        struct ml_buf *err);
int ml__frontier_load(struct ml_store *s, int64_t id, struct ml_frontier *f, struct ml_buf *err);

/* Empties the store's small frontier cache (its ids may no longer exist). */
void ml__frontiers_forget(struct ml_store *s);

/* Loads frontier id through the store's small cache; *f is borrowed until the next call. */
int ml__frontier_cached(struct ml_store *s, int64_t id, const struct ml_frontier **f,
                        struct ml_buf *err);

/*
 * The revocation cut of feed key: the last valid seq, ML_STORE_MAX_SEQ when the
 * device is not revoked.  Ops of revocations in effect are never cut.
 */
uint64_t ml__cut_of(const struct ml_store *s, const struct ml_feed_id *key);
bool ml__rev_in_effect(const struct ml_store *s, const struct ml_hash *op);
void ml__revs_release(struct ml_store *s);
int ml__revs_load(struct ml_store *s, struct ml_buf *err);

/*
 * Opens a write transaction (BEGIN IMMEDIATE), or joins the one already open
 * by this store (an author's write wraps its ingest).  Another process may
 * have committed since this store's last transaction (a command while `serve`
 * runs): then everything kept in memory is reloaded from the file.
 * ML_OK or ML_ESTORE (busy past the timeout, I/O).
 */
int ml__begin(struct ml_store *s, struct ml_buf *err);

/* Forgets everything kept in memory when another connection committed since this store last
 * looked (PRAGMA data_version).  ML_OK or ML_ESTORE. */
int ml__notice_writers(struct ml_store *s, struct ml_buf *err);

/* Registers the SQL functions read.h documents on the store's connection; an SQLite code. */
int ml__read_functions(struct ml_store *s);

/* Commits the transaction ml__begin opened (or leaves a joined one open).  ML_OK or ML_ESTORE. */
int ml__commit(struct ml_store *s, struct ml_buf *err);

/*
 * Rolls the open transaction back and forgets everything cached from it: the
 * feeds, the unit/grant/member caches, the frontier cache (ids interned in it
 * are gone), the revocations in effect.  The caller restores its own counters.
 */
void ml__rollback(struct ml_store *s);

/* An op's body checked against its network's schema (ml_schema_check) ahead of judging, on the
 * thread that checks its signature (ingest.c). */
struct schema_verdict {
	bool done;       /* false: not checked ahead (the judge checks it) */
	enum ml_org org; /* the org it was checked for; another org's store checks again */
	enum ml_optype type;
	char *msg; /* NULL when the body passed; else why not (owned by the batch) */
};

/*
 * Judging (eval.c): judges the authentic op `op` stored at key, whose prev and
 * deps are all judged; records the verdict and applies its effects.
 * prev_past is the frontier id of the prev op's past (-1: look it up); the op's
 * own past id goes to *past_out (optional).  pre (optional) is its schema check
 * made ahead, used when made for the store's org.
 */
int ml__judge(struct ml_store *s, int64_t key, const struct ml_op *op,
              const struct schema_verdict *pre, int64_t prev_past, int64_t *past_out,
              struct ml_ingest_result *res, struct ml_buf *err);

/*
 * ml_store_ingest with a choice: all_or_nothing stores nothing unless every op
 * of the batch is applied (local writes), and then fails with the first reason.
 */
int ml__ingest(struct ml_store *s, const uint8_t *const *ops, const size_t *lens, size_t n,
               uint64_t now_ms, bool all_or_nothing, struct ml_ingest_result *res,
               struct ml_buf *err);

/* The fresh op at key, or NULL (see struct fresh). */
struct fresh *ml__fresh_at(struct ml_store *s, int64_t key);

/* Appends the encoding of the authentic op at key (fresh or stored) to out and sets *id
 * (optional); ML_ENOTFOUND when there is none. */
int ml__op_bytes(struct ml_store *s, int64_t key, struct ml_buf *out, struct ml_hash *id,
                 struct ml_buf *err);

/* Adds one row to the BLAKE2b state (a crypto_generichash_state *), column by column with type
 * tags and lengths, as the state hash does; fits ml__members_by_id's each. */
void ml__hash_row(void *state, sqlite3_stmt *row);

/*
 * Calls each(ctx, row) for every member in id order (row ids are node-local),
 * row holding `columns` of its members row.  No index orders members by id:
 * only (id, rid) pairs are sorted and each row is read by rid, where sorting
 * whole rows would hold the register in memory.  ML_OK or ML_ESTORE.
 */
int ml__members_by_id(struct ml_store *s, const char *columns,
                      void (*each)(void *ctx, sqlite3_stmt *row), void *ctx, struct ml_buf *err);

/* Rebuild (rebuild.c), inside an open transaction. */
int ml__rebuild_locked(struct ml_store *s, struct ml_buf *err);

/* Materialization (view.c) is called by ml__judge; rebuild.c clears it. */
int ml__view_clear(struct ml_store *s, struct ml_buf *err);

/* Encodes a stamp as stored in the views (hlc ms, counter, author, id; 76 bytes). */
void ml__stamp_encode(const struct ml_stamp *st, uint8_t out[76]);

#endif
