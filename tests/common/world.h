/*
 * world.h - building real networks for tests and benchmarks: stores in
 * temporary directories, real keys, every op written through ml_author_write
 * and judged by the same rules as ops from a peer.  Functions return ML_OK or
 * the error; the last error's sentence is in w->err.
 */
#ifndef ML_TEST_WORLD_H
#define ML_TEST_WORLD_H

#include "crdt/key.h"
#include "crdt/schema.h"
#include "node/author.h"
#include "node/store.h"

struct world {
	char dir[128];
	struct ml_store *s;
	struct ml_hash net;
	uint64_t now; /* the clock every write uses; tests advance it */
	struct ml_buf err;
	struct ml_buf log; /* every op written, concatenated (for replaying elsewhere) */
	size_t n_log;
};

/* Creates a temporary directory and an empty store in it. */
int w_open(struct world *w);

/* Opens another store in w's directory (another node), named name.db. */
int w_open_node(struct world *w, const char *name, struct ml_store **out);

/* Closes the store and removes the directory. */
void w_close(struct world *w);

/* Returns a key from a one-byte seed (deterministic). */
struct ml_key *w_key(uint8_t seed);

/* Writes the genesis: the national unit, named name, of organisation org. */
int w_genesis(struct world *w, const struct ml_key *admin, const char *name, enum ml_org org);

int w_unit(struct world *w, const struct ml_key *admin, const struct ml_hash *parent,
           const char *name, const char *level, struct ml_hash *out);
int w_grant(struct world *w, const struct ml_key *admin, const struct ml_hash *unit,
            const struct ml_pubkey *device, const char *role);
int w_delegate(struct world *w, const struct ml_key *admin, const struct ml_hash *from,
               const struct ml_hash *to, uint64_t start, uint64_t count);

/* Adds a trade-union member draft with the required fields. */
int w_member(struct world *w, const struct ml_key *officer, const struct ml_hash *unit,
             const char *name, const char *id_number, struct ml_hash *out);

/* member_update of one text field. */
int w_edit(struct world *w, const struct ml_key *officer, const struct ml_hash *unit,
           const struct ml_hash *member, const char *field, const char *value, struct ml_hash *out);

/* submit / approve (number may be NULL) / reject (reason) of changes[0..n) (any order). */
int w_decide(struct world *w, const struct ml_key *key, const struct ml_hash *unit,
             const char *type, const struct ml_hash *member, const struct ml_hash *changes,
             size_t n, const char *number_or_reason, struct ml_hash *out);

/* Writes one op of any type with a prepared body; out (optional) gets its id. */
int w_write(struct world *w, const struct ml_key *key, const struct ml_hash *unit,
            enum ml_lane lane, const char *type, const struct ml_buf *body, struct ml_hash *out);

/*
 * Encodes one op as a peer could send it, past the author's checks: signed by
 * key and chained on the feed head recorded in the store at db_path, with
 * every other judged feed head there as deps (so its authority, not its
 * references, is what gets judged).  Appends it to out; nothing is ingested.
 */
int w_forge_at(const char *db_path, const struct ml_hash *net, const struct ml_key *key,
               const struct ml_hash *unit, enum ml_lane lane, const char *type, const uint8_t *body,
               size_t body_len, uint64_t now_ms, struct ml_buf *out);

/* w_forge_at on w's store, with w's network and clock (advanced). */
int w_forge(struct world *w, const struct ml_key *key, const struct ml_hash *unit,
            enum ml_lane lane, const char *type, const struct ml_buf *body, struct ml_buf *out);

/* Reads one column of a member row as text into out (empty if NULL). */
int w_member_text(struct world *w, const struct ml_hash *member, const char *column, char *out,
                  size_t cap);

/* Counts rows of a query with no parameters. */
long w_count(struct world *w, const char *sql);

#endif
