/*
 * member.h - a member's record, folded from the changes and decisions about it.
 *
 * Every op about a member is an entry: a change (create, update, position,
 * reduce, transfer, receive, card request, youth operations) or a decision
 * (submit, approve, reject naming changes).  The record is a pure function
 * of the set of entries, ordered by their stamp (hlc, author, op id), so
 * every replica holding the same entries computes the same record whatever
 * order they arrived in:
 *
 *   draft     every field's last write over all changes (last-writer-wins)
 *   official  every field's last write over the approved changes only
 *   number    from the earliest approval that carries one
 *
 * An approval names the exact changes it approves; a change made after the
 * draft it saw stays pending, and the official record keeps the approved
 * values.  Conflicts (a change both approved and rejected, two numbers, two
 * concurrent transfers) resolve by the rule above and are listed.
 */
#ifndef ML_MEMBER_H
#define ML_MEMBER_H

#include "schema.h"

/* Most entries one member may have; beyond it ops about the member are refused. */
#define ML_MEMBER_MAX_ENTRIES 512

struct ml_stamp {
	struct ml_hlc hlc;
	struct ml_pubkey author;
	struct ml_hash id;
};

/* Orders stamps by hlc, then author key, then op id (bytewise). */
int ml_stamp_cmp(const struct ml_stamp *a, const struct ml_stamp *b);

struct ml_member_entry {
	struct ml_stamp stamp;
	enum ml_optype type;
	struct ml_hash unit; /* the op's unit */
	const uint8_t *body; /* the op's body, borrowed */
	size_t body_len;
	uint64_t
	    tag; /* the caller's name for the entry (the node: the op's key), kept in summaries */
};

enum ml_record_state {
	ML_REC_DRAFT,     /* never approved, not submitted */
	ML_REC_SUBMITTED, /* never approved, waiting for a decision */
	ML_REC_RETURNED,  /* never approved, last decision a rejection */
	ML_REC_OFFICIAL,  /* approved; may have pending changes */
	ML_REC_UNKNOWN,   /* no creating change among the entries */
};

enum ml_member_conflict_kind {
	ML_MC_APPROVED_AND_REJECTED = 1, /* approval wins */
	ML_MC_TWO_NUMBERS,               /* the earliest approval's number wins */
	ML_MC_TWO_TRANSFERS,             /* the later transfer (by stamp) wins */
};

struct ml_member_conflict {
	enum ml_member_conflict_kind kind;
	struct ml_hash a, b; /* the ops in conflict: a kept, b overridden */
};

#define ML_MEMBER_MAX_CONFLICTS 8

struct ml_member_view {
	enum ml_record_state state;
	struct ml_hash unit; /* managing unit: official unit once approved, else creating unit */
	struct ml_hash create_unit; /* where the member was entered */
	enum ml_optype create_type;
	bool has_number;
	char number[13];
	bool approved_ever;
	struct ml_stamp first_approval; /* the approval that first made the record official */
	size_t changes, approved, rejected, pending;
	const char *return_reason; /* latest rejection's reason (borrowed from an entry), or NULL */
	size_t return_reason_len;
	struct ml_buf official; /* canonical CBOR map of official field values */
	struct ml_buf draft;    /* same for the draft */
	struct ml_member_conflict conflicts[ML_MEMBER_MAX_CONFLICTS];
	size_t n_conflicts;
	size_t n_conflicts_total; /* may exceed ML_MEMBER_MAX_CONFLICTS */
};

/*
 * Folds entries e[0..n) (any order; n <= ML_MEMBER_MAX_ENTRIES) of member id
 * into *v, which the caller releases with ml_member_view_release.  Returns
 * ML_OK, ML_ETOOBIG or ML_ENOMEM.  Pure and thread-safe.
 */
int ml_member_fold(const struct ml_hash *id, const struct ml_member_entry *e, size_t n,
                   struct ml_member_view *v);

/* Frees v's buffers. */
void ml_member_view_release(struct ml_member_view *v);

/*
 * Summaries.  Folding a member means reading every entry about it; a summary
 * keeps what the next entry needs of the others when that entry's clock is
 * later than all of theirs (the usual case: ops arrive in causal order), so it
 * can be folded in alone by ml_member_step.  Anything else (an entry from the
 * past, a transfer, a conflict) needs the full fold.  Both give the same view:
 * tests/unit/test_crdt_member.c checks it on every prefix of random histories,
 * and stores opened with MEMBERLOG_FOLD_CHECK=1 check it on every op.
 */

/* A summary's fixed part, parsed; the changes stay encoded (ML_MEMBER_SUM_CHANGE bytes each:
 * op id, tag, flags). */
struct ml_member_sum {
	uint32_t n_entries; /* how many entries it summarises */
	uint8_t flags;      /* ML_SUM_* */
	enum ml_optype create_type;
	struct ml_hlc last;           /* the latest clock of any entry */
	struct ml_hlc last_approved;  /* the latest clock of an approved change */
	struct ml_hlc last_change;    /* the latest clock of any change */
	struct ml_hlc first_approval; /* the approval that first made the record official */
	uint64_t number_tag;          /* the approval that carried the number */
	char number[12];
	const uint8_t *changes; /* borrowed */
	size_t n_changes;
};

#define ML_SUM_APPROVED_EVER 1
#define ML_SUM_HAS_NUMBER    2
#define ML_SUM_ANY_APPROVED  4
/* More than one approval carried the (same) number: which of them an op has seen needs the
 * entries themselves. */
#define ML_SUM_NUMBERED_TWICE 8
#define ML_MEMBER_SUM_CHANGE  41

/*
 * Like ml_member_fold; also sets *sum to the summary of e (emptied when these entries
 * cannot be summarised: no creating entry, a transfer, a conflict, or an approved
 * change before the record's own approval).  ML_OK, ML_ETOOBIG or ML_ENOMEM (*sum then
 * released).
 */
int ml_member_fold_sum(const struct ml_hash *id, const struct ml_member_entry *e, size_t n,
                       struct ml_member_view *v, struct ml_buf *sum);

/* Parses summary p[0..len) into *s (borrowing p); ML_OK or ML_EMALFORMED (empty, or of
 * another layout version, included). */
int ml_member_sum_parse(const uint8_t *p, size_t len, struct ml_member_sum *s);

/* True when op `id` (32 bytes) is one of s's changes; *tag gets its tag. */
bool ml_member_sum_change(const struct ml_member_sum *s, const uint8_t *id, uint64_t *tag);

/* What a step reads of the member besides its summary. */
struct ml_member_prior {
	/* official: empty until approved; draft: the draft's bytes even when they are the
	 * official record's (a step copies them) */
	const uint8_t *sum, *draft, *official;
	size_t sum_len, draft_len, official_len;
	size_t n_entries; /* the entries the caller holds: a summary of another count is stale */
	struct ml_hash create_unit;
};

/* Gives the caller's entry tagged `tag`, its body valid until the step returns; ML_OK or
 * an error the step returns. */
typedef int (*ml_member_get_fn)(void *ctx, uint64_t tag, struct ml_member_entry *out);

/*
 * Folds entry e into the member whose entries p summarises, into *v and its summary into
 * *sum (both the caller's to release), as ml_member_fold would fold them all, except that
 * v->first_approval holds only the clock and v->return_reason is e's only.  Reads the
 * changes e approves through get, unless every change is approved then.  Returns ML_OK;
 * ML_EAGAIN when e needs the full fold (also when the summary does not cover p->n_entries
 * entries, is of another layout, or p has no draft); ML_ENOMEM or get's error.  *v and
 * *sum are released on any error.
 */
int ml_member_step(const struct ml_member_prior *p, const struct ml_member_entry *e,
                   ml_member_get_fn get, void *ctx, struct ml_member_view *v, struct ml_buf *sum);

/* Returns the official ("official") or draft text field `key` of v, or NULL; *n gets its length. */
const char *ml_member_text(const struct ml_buf *map, const char *key, size_t *n);

/* Returns the state's name: "draft", "submitted", "returned", "official", "unknown". */
const char *ml_record_state_name(enum ml_record_state s);

#endif
