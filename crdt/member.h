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

/* Returns the official ("official") or draft text field `key` of v, or NULL; *n gets its length. */
const char *ml_member_text(const struct ml_buf *map, const char *key, size_t *n);

/* Returns the state's name: "draft", "submitted", "returned", "official", "unknown". */
const char *ml_record_state_name(enum ml_record_state s);

#endif
