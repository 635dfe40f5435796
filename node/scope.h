/*
 * scope.h - which ops a device may receive (docs/REGISTER.md §9).
 *
 * Replication is scoped by permission: a device receives every governance
 * feed (the tree, grants, revocations, number ranges: what it needs to check
 * authority, and no personal data), and the register feeds of the units it
 * may read: the subtree of each unit where it holds a role, the path from
 * there to the root, and the units its members came from by transfer.
 * Feeds travel whole, so a chain is never cut.  Bundles and network sync
 * both ask this one function.
 */
#ifndef ML_SCOPE_H
#define ML_SCOPE_H

#include "store.h"

#include "crdt/op.h"

struct ml_scope_set;

/*
 * Computes the scope of device dev in this node's view into *out (free with
 * ml_scope_free).  ML_OK, ML_ENOMEM or ML_ESTORE.  A device with no role
 * gets the governance feeds only.
 */
int ml_scope_of_device(struct ml_store *s, const struct ml_pubkey *dev, struct ml_scope_set **out,
                       struct ml_buf *err);

/* A scope with every feed (an export for oneself or an auditor of the root). */
int ml_scope_all(struct ml_scope_set **out);

/* True when the feed (unit, lane) is in the scope. */
bool ml_scope_has(const struct ml_scope_set *sc, const struct ml_hash *unit, enum ml_lane lane);

/* Number of units whose register feeds are readable (for messages). */
size_t ml_scope_units(const struct ml_scope_set *sc);

/*
 * Counts the applied ops, since s was opened, that may change some device's
 * scope (governance ops, members moving between units): a cue for a daemon
 * to reconcile again rather than wait for its next round.
 */
uint64_t ml_scope_epoch(const struct ml_store *s);

/* Frees the scope; accepts NULL. */
void ml_scope_free(struct ml_scope_set *sc);

#endif
