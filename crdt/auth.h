/*
 * auth.h - who may write what: the authority rule, judged in an op's causal past.
 *
 * A role held at a unit covers the unit's subtree.  The caller supplies a
 * view of the op's causal past (node/ answers it from the store); the rule
 * itself is pure, so every node reaching the same past reaches the same
 * verdict.
 */
#ifndef ML_AUTH_H
#define ML_AUTH_H

#include "schema.h"

/* Deepest tree walked; a deeper chain, or a cycle, ends the walk. */
#define ML_TREE_MAX_DEPTH 64

struct ml_auth_view {
	void *ctx;
	/* True when dev holds role at unit by a valid grant in the op's causal past. */
	bool (*holds)(void *ctx, const struct ml_pubkey *dev, enum ml_role role,
	              const struct ml_hash *unit);
	/* Sets *parent to unit's parent in the op's causal past; false at the root or for
	 * a unit unknown there. */
	bool (*parent)(void *ctx, const struct ml_hash *unit, struct ml_hash *parent);
};

/*
 * Returns ML_OK when dev holds role at `unit` or an ancestor (scope
 * ML_SCOPE_SELF_OR_ABOVE), or at a strict ancestor (ML_SCOPE_ABOVE); sets
 * *where (optional) to the unit where it was found.  Otherwise ML_EUNAUTH with
 * a message naming the role and unit.
 */
int ml_auth_check(const struct ml_auth_view *v, const struct ml_pubkey *dev, enum ml_role role,
                  enum ml_scope scope, const struct ml_hash *unit, struct ml_hash *where,
                  struct ml_buf *err);

/*
 * Returns true when `anc` is `unit` or one of its ancestors (strict: an
 * ancestor only) in the view.
 */
bool ml_auth_is_ancestor(const struct ml_auth_view *v, const struct ml_hash *anc,
                         const struct ml_hash *unit, bool strict);

#endif
