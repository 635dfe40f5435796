/*
 * view.h - the judge's working context, shared by eval.c (rules), view.c
 * (effects on units, grants, ranges) and members.c (member rules and effects).
 */
#ifndef ML_NODE_VIEW_H
#define ML_NODE_VIEW_H

#include "cache.h"

#include "crdt/body.h"
#include "crdt/member.h"
#include "crdt/number.h"

/*
 * A member as stored: its row's columns, and its applied ops as fold entries
 * (e[i] is the op at at[i]; bodies point into raw, the ops' encodings).
 */
struct member_ctx {
	int64_t rid;
	struct ml_hash id;
	struct pos created;
	struct ml_hash create_unit;
	bool has_transfers;
	bool has_number;
	char number[13];
	char full_name[512]; /* at most 100 characters (schema.c), 4 bytes each */
	char name_fold[512];
	char id_number[16];
	int n_conflicts;
	struct ml_hash unit; /* the row's unit and state (indexed columns) */
	char state[12];
	char status[24]; /* the status shown: the official record's once there is one */
	char origin[16];
	struct ml_buf keys;     /* the keys of its applied ops, 8 bytes each, in applied order */
	struct ml_buf sum;      /* its summary (crdt/member.h); empty when it has none */
	struct ml_buf official; /* its folded records as the row holds them */
	struct ml_buf draft;    /* empty when it equals the official one */
	/* The ops listed in keys, once ml__member_ops has read them. */
	bool ops_loaded;
	struct ml_buf raw;
	struct ml_member_entry *e;
	struct pos *at;
	size_t *body_off; /* e[i].body == raw.data + body_off[i] */
	size_t n, cap;
};

struct judge {
	struct ml_store *s;
	int64_t key;
	uint64_t feed, seq;
	const struct ml_op *op;
	struct ml_feed_id fkey;
	enum ml_optype type;
	struct ml_body body;
	struct ml_frontier past;
	int64_t past_id;
	struct ml_stamp stamp;
	struct ml_hash where; /* the unit where the author's role was found */
	struct ml_hash target;
	bool has_target;
	int code; /* rejection, ML_OK while valid */
	char reason[320];
	struct ml_buf *err;
	/* the member the op is about (members.c) */
	bool have_member;
	struct member_ctx m;
	struct ml_member_view mview; /* the member as of the op's past */
};

/* True when the op at p is in the past of the op being judged. */
bool ml__in_past(const struct judge *j, struct pos p);

/* Rejects with code and "ML_EXXX: sentence"; keeps the first; returns code. */
int ml__reject(struct judge *j, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Rejects unless unit exists in the op's past and takes writes (not dissolved, merged, split). */
int ml__unit_active(struct judge *j, const struct ml_hash *unit, const char *what);

/* Rejects (ML_EUNAUTH) unless the op's author holds role at unit within scope, in the past. */
int ml__authorise(struct judge *j, enum ml_role role, enum ml_scope scope,
                  const struct ml_hash *unit);

/* Sets *parent to unit's parent in the past of j's op; false at the root or for an unknown unit. */
bool ml__unit_parent(struct judge *j, const struct ml_hash *unit, struct ml_hash *parent);

/* An applied unit_transfer. */
struct transfer {
	struct ml_hash unit, to;
	struct pos at;
};
int ml__unit_transfer(struct judge *j, const struct ml_hash *op, struct transfer *t);

/* Type rules that need the store (view.c, members.c); they reject through j. */
int ml__check_delegation(struct judge *j);
int ml__member_in_past(struct judge *j, const struct ml_hash *member);
int ml__check_member_rules(struct judge *j);
int ml__check_duplicate_resolve(struct judge *j);

/* Effects of a valid op (view.c dispatches, members.c does members). */
int ml__apply(struct judge *j, struct ml_buf *err);
int ml__member_apply(struct judge *j, struct ml_buf *err);

/* Sets the op's `target` column (the unit or member it is about). */
void ml__set_target(struct judge *j);

/* True when serial range r lies in a range `unit` holds in the op's past (the root holds all). */
bool ml__unit_holds_range(struct judge *j, const struct ml_hash *unit, struct ml_range r);

/* Records a conflict between ops a and b about subject (the pair stored in one order). */
int ml__conflict(struct ml_store *s, const char *kind, const struct ml_hash *subject,
                 const struct ml_hash *a, const struct ml_hash *b, struct ml_buf *err);

/* Effects of a revocation (rebuild.c). */
int ml__apply_revoke(struct judge *j, struct ml_buf *err);

/* Frees what the judge allocated. */
void ml__judge_release(struct judge *j);
void ml__member_ctx_release(struct member_ctx *m);

/* Loads member id's row and ops into m (released first); ML_ENOTFOUND when there is none. */
int ml__member_load(struct ml_store *s, const struct ml_hash *id, struct member_ctx *m,
                    struct ml_buf *err);

/* Sets *rid to the row id of member id (its creating op's key): ML_OK, ML_ENOTFOUND, or
 * ML_ENOMEM / ML_ESTORE. */
int ml__member_rid(struct ml_store *s, const struct ml_hash *id, int64_t *rid, struct ml_buf *err);

/* Loads member id's row into m (released first), its ops only if the cache holds them;
 * ML_ENOTFOUND when there is none. */
int ml__member_load_row(struct ml_store *s, const struct ml_hash *id, struct member_ctx *m,
                        struct ml_buf *err);

/* Reads the ops m->keys lists into m, unless it holds them; ML_OK or ML_ESTORE/ML_ENOMEM. */
int ml__member_ops(struct ml_store *s, struct member_ctx *m, struct ml_buf *err);

/* Member cache (cache.c): moves member id out of the cache into m (empty) and returns
 * ML_OK, or ML_ENOTFOUND. */
int ml__member_cached(struct ml_store *s, const struct ml_hash *id, struct member_ctx *m);
/* Moves m, as its row now stands, into the cache; m gets the member it evicts (or an empty
 * one), which the caller still releases.  Out of memory only costs a later reload. */
void ml__member_keep(struct ml_store *s, struct member_ctx *m);
/* For readers: moves m, loaded by ml__member_load* (rc ML_OK) and left unchanged, back into the
 * cache, and releases what it evicts; m is empty after.  Never fails. */
void ml__member_return(struct ml_store *s, struct member_ctx *m);
/* Empties m (zeroed after), keeping its buffers for the next ml__member_reuse when the cache
 * holds none yet, else releasing them.  Never fails. */
void ml__member_recycle(struct ml_store *s, struct member_ctx *m);
/* Gives m (zeroed) the buffers ml__member_recycle kept, emptied; none when it kept none. */
void ml__member_reuse(struct ml_store *s, struct member_ctx *m);

#endif
