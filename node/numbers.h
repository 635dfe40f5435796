/*
 * numbers.h - choosing free member numbers and ranges in this node's view.
 *
 * A unit holds the ranges delegated to it (the national unit holds the whole
 * serial space), minus what it has delegated further down and the numbers
 * already given to members.  Approvals and delegations written by this
 * device take the lowest free serials; two offline nodes that pick the same
 * number get the recorded conflict of docs/REGISTER.md §4.
 */
#ifndef ML_NUMBERS_H
#define ML_NUMBERS_H

#include "store.h"

#include "crdt/number.h"

/*
 * Fills serials[0..n) with the n lowest serials free in unit's holdings.
 * Returns ML_OK, ML_ENOTFOUND with a message when fewer than n are free
 * (the unit must be delegated a range first), ML_ENOMEM or ML_ESTORE.
 */
int ml_numbers_pick(struct ml_store *s, const struct ml_hash *unit, uint64_t *serials, size_t n,
                    struct ml_buf *err);

/*
 * Sets *out to the lowest run of count free serials in unit's holdings, for
 * a delegation.  ML_OK, ML_ENOTFOUND with a message, ML_ENOMEM or ML_ESTORE.
 */
int ml_numbers_block(struct ml_store *s, const struct ml_hash *unit, uint64_t count,
                     struct ml_range *out, struct ml_buf *err);

#endif
