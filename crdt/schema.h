/*
 * schema.h - the op types of the register and their bodies (docs/REGISTER.md).
 *
 * One table describes every type: its lane, the role its author needs and
 * where (the authority scope), whether it is a member change that needs a
 * parent's approval, and its body fields with their rules.  ml_schema_check
 * validates a body against it, naming the field that is wrong, so a node
 * refuses to write an invalid op and rejects one it receives.
 */
#ifndef ML_SCHEMA_H
#define ML_SCHEMA_H

#include "body.h"
#include "op.h"

enum ml_org { ML_ORG_TRADE_UNION = 0, ML_ORG_YOUTH_UNION = 1 };

enum ml_role {
	ML_ROLE_ADMIN = 0,
	ML_ROLE_OFFICER,
	ML_ROLE_APPROVER,
	ML_ROLE_AUDITOR,
	ML_ROLE_NONE
};

/* Where the author's role must be held, relative to the unit judged. */
enum ml_scope {
	ML_SCOPE_NONE,          /* genesis: no authority needed */
	ML_SCOPE_SELF_OR_ABOVE, /* at the unit or an ancestor */
	ML_SCOPE_ABOVE,         /* at a strict ancestor (the parent level approves) */
};

enum ml_optype {
	ML_OT_UNKNOWN = 0,
	/* gov lane */
	ML_OT_GENESIS,
	ML_OT_UNIT_CREATE,
	ML_OT_UNIT_UPDATE,
	ML_OT_UNIT_TRANSFER,
	ML_OT_UNIT_RECEIVE,
	ML_OT_UNIT_MERGE,
	ML_OT_UNIT_SPLIT,
	ML_OT_UNIT_DISSOLVE,
	ML_OT_DIRECTIVE_POST,
	ML_OT_GRANT,
	ML_OT_REVOKE,
	ML_OT_NUMBERS_DELEGATE,
	/* reg lane: changes to a member, each a draft until approved */
	ML_OT_MEMBER_CREATE,
	ML_OT_MEMBER_UPDATE,
	ML_OT_MEMBER_POSITION,
	ML_OT_MEMBER_REDUCE,
	ML_OT_MEMBER_TRANSFER,
	ML_OT_MEMBER_RECEIVE,
	ML_OT_MEMBER_CARD_REQUEST,
	ML_OT_YOUTH_ADMISSION,
	ML_OT_YOUTH_AGE_OUT,
	ML_OT_YOUTH_OUTSTANDING,
	ML_OT_YOUTH_PARTY_DEVELOPMENT,
	ML_OT_YOUTH_TRAINING_REGISTRATION,
	ML_OT_YOUTH_RESIDENCE_ACTIVITY,
	/* reg lane: decisions */
	ML_OT_MEMBER_SUBMIT,
	ML_OT_MEMBER_APPROVE,
	ML_OT_MEMBER_REJECT,
	ML_OT_DUPLICATE_RESOLVE,
	ML_OT_COUNT
};

enum ml_optype_flags {
	ML_OTF_CHANGE = 1 << 0,   /* a change to one member's record: draft until approved */
	ML_OTF_CREATES = 1 << 1,  /* creates the member (its id is the op's id) */
	ML_OTF_DECISION = 1 << 2, /* submit / approve / reject: names changes of a member */
	ML_OTF_MEMBER = 1 << 3,   /* body names an existing member in "member" */
};

struct ml_optype_info {
	const char *name;
	enum ml_lane lane;
	enum ml_role role;
	enum ml_scope scope;
	unsigned flags;
};

/* Returns the type named by op->type, or ML_OT_UNKNOWN. */
enum ml_optype ml_optype_of(const char *name);

/* Returns the table row of t (t < ML_OT_COUNT). */
const struct ml_optype_info *ml_optype_info(enum ml_optype t);

/* Returns the role named s[0..n), or ML_ROLE_NONE. */
enum ml_role ml_role_of(const char *s, size_t n);

/* Returns "admin", "officer", ... */
const char *ml_role_name(enum ml_role r);

/*
 * Checks op's type, lane and body for network organisation org: every field
 * known to the type and valid, every required field present, and the type's
 * own rules.  Fills *body (borrowing op->body) and *t.  Returns ML_OK or
 * ML_EFIELD with "op type: field 'x': ..." in err.  Genesis is checked with
 * the org it declares itself.
 */
int ml_schema_check(const struct ml_op *op, enum ml_org org, struct ml_body *body,
                    enum ml_optype *t, struct ml_buf *err);

/* The editable member fields, NULL-terminated (what member_update may set). */
extern const char *const ml_member_fields[];

#endif
