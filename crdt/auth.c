/*
 * auth.c - the authority walk up the unit tree.
 */
#include "auth.h"

#include "err.h"

int ml_auth_check(const struct ml_auth_view *v, const struct ml_pubkey *dev, enum ml_role role,
                  enum ml_scope scope, const struct ml_hash *unit, struct ml_hash *where,
                  struct ml_buf *err)
{
	if (scope == ML_SCOPE_NONE)
		return ML_OK;
	struct ml_hash u = *unit;
	bool self = scope == ML_SCOPE_SELF_OR_ABOVE;
	for (int depth = 0; depth < ML_TREE_MAX_DEPTH; depth++) {
		if ((self || depth > 0) && v->holds(v->ctx, dev, role, &u)) {
			if (where)
				*where = u;
			return ML_OK;
		}
		struct ml_hash p;
		if (!v->parent(v->ctx, &u, &p))
			break;
		u = p;
	}
	char unitx[17];
	ml_hex_encode(unit->b, 8, unitx);
	return ml_errf(err, ML_EUNAUTH,
	               "the author holds no '%s' role %s unit %s... in what it had seen",
	               ml_role_name(role), self ? "at or above" : "above", unitx);
}

bool ml_auth_is_ancestor(const struct ml_auth_view *v, const struct ml_hash *anc,
                         const struct ml_hash *unit, bool strict)
{
	struct ml_hash u = *unit;
	for (int depth = 0; depth < ML_TREE_MAX_DEPTH; depth++) {
		if ((!strict || depth > 0) && ml_hash_eq(&u, anc))
			return true;
		struct ml_hash p;
		if (!v->parent(v->ctx, &u, &p))
			return false;
		u = p;
	}
	return false;
}
