/*
 * query.h - read questions about the register, for commands and tests.
 */
#ifndef ML_QUERY_H
#define ML_QUERY_H

#include "store.h"

#include <stdbool.h>

/*
 * The member's changes that are neither approved nor rejected in this
 * node's view (what an approver would approve next): up to max ids into ids
 * (ascending), their count in *n; *numbered tells whether the member has a
 * number.  ML_OK, ML_ENOTFOUND (no such member), ML_ESTORE.
 */
int ml_query_member_pending(struct ml_store *s, const struct ml_hash *member, struct ml_hash *ids,
                            size_t max, size_t *n, bool *numbered, struct ml_buf *err);

/* Which of a member's changes to list. */
enum ml_change_filter {
	ML_CHANGES_UNDECIDED, /* neither approved nor (since its last submission) rejected */
	ML_CHANGES_SUBMITTED, /* submitted, no decision since: what the approver decides */
	ML_CHANGES_TO_SUBMIT, /* not approved and not waiting: drafts and returned changes */
};

/* Like ml_query_member_pending, with the changes filter selects. */
int ml_query_member_changes(struct ml_store *s, const struct ml_hash *member,
                            enum ml_change_filter filter, struct ml_hash *ids, size_t max,
                            size_t *n, bool *numbered, struct ml_buf *err);

#endif
