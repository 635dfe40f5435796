/*
 * query.c - read questions about the register (see query.h).
 */
#include "query.h"

#include "view.h"

#include "crdt/alloc.h"
#include "crdt/body.h"
#include "crdt/err.h"

#include <stdlib.h>
#include <string.h>

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* The latest-stamped decision of type t among m's entries naming change id; NULL if none. */
static const struct ml_stamp *named_by(const struct member_ctx *m, enum ml_optype t,
                                       const struct ml_hash *id)
{
	const struct ml_stamp *last = NULL;
	for (size_t k = 0; k < m->n; k++) {
		if (m->e[k].type != t)
			continue;
		struct ml_body b;
		const uint8_t *c;
		size_t nc;
		if (ml_body_parse(&b, m->e[k].body, m->e[k].body_len, NULL) == ML_OK &&
		    ml_body_ids(&b, "changes", &c, &nc, NULL) == ML_OK &&
		    ml_ids_contain(c, nc, id) && (!last || ml_stamp_cmp(&m->e[k].stamp, last) > 0))
			last = &m->e[k].stamp;
	}
	return last;
}

int ml_query_member_changes(struct ml_store *s, const struct ml_hash *member,
                            enum ml_change_filter filter, struct ml_hash *ids, size_t max,
                            size_t *n, bool *numbered, struct ml_buf *err)
{
	struct member_ctx m;
	memset(&m, 0, sizeof m);
	*n = 0;
	int rc = ml__member_load(s, member, &m, err);
	for (size_t i = 0; rc == ML_OK && i < m.n && *n < max; i++) {
		const struct ml_hash *id = &m.e[i].stamp.id;
		if (!(ml_optype_info(m.e[i].type)->flags & ML_OTF_CHANGE) ||
		    named_by(&m, ML_OT_MEMBER_APPROVE, id))
			continue;
		/* As the fold decides: a submission after a rejection reopens the change. */
		const struct ml_stamp *sub = named_by(&m, ML_OT_MEMBER_SUBMIT, id);
		const struct ml_stamp *rej = named_by(&m, ML_OT_MEMBER_REJECT, id);
		bool rejected = rej && (!sub || ml_stamp_cmp(sub, rej) < 0);
		bool waiting = sub && !rejected; /* submitted, no decision since */
		if (filter == ML_CHANGES_UNDECIDED   ? rejected
		    : filter == ML_CHANGES_SUBMITTED ? !waiting
		                                     : waiting)
			continue;
		ids[(*n)++] = *id;
	}
	if (rc == ML_OK) {
		*numbered = m.has_number;
		qsort(ids, *n, sizeof *ids, cmp32);
		ml__member_return(s, &m); /* a decision on these changes is often written next */
	}
	ml__member_ctx_release(&m);
	return rc;
}

int ml_query_member_pending(struct ml_store *s, const struct ml_hash *member, struct ml_hash *ids,
                            size_t max, size_t *n, bool *numbered, struct ml_buf *err)
{
	return ml_query_member_changes(s, member, ML_CHANGES_UNDECIDED, ids, max, n, numbered, err);
}
