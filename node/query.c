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

int ml_query_member_pending(struct ml_store *s, const struct ml_hash *member, struct ml_hash *ids,
                            size_t max, size_t *n, bool *numbered, struct ml_buf *err)
{
	struct member_ctx m;
	memset(&m, 0, sizeof m);
	*n = 0;
	int rc = ml__member_load(s, member, &m, err);
	if (rc != ML_OK) {
		ml__member_ctx_release(&m);
		return rc;
	}
	*numbered = m.has_number;
	/* Decided changes: named by an approval or a rejection. */
	for (size_t i = 0; i < m.n && *n < max; i++) {
		if (!(ml_optype_info(m.e[i].type)->flags & ML_OTF_CHANGE))
			continue;
		bool decided = false;
		for (size_t k = 0; k < m.n && !decided; k++) {
			if (m.e[k].type != ML_OT_MEMBER_APPROVE &&
			    m.e[k].type != ML_OT_MEMBER_REJECT)
				continue;
			struct ml_body b;
			const uint8_t *c;
			size_t nc;
			if (ml_body_parse(&b, m.e[k].body, m.e[k].body_len, NULL) == ML_OK &&
			    ml_body_ids(&b, "changes", &c, &nc, NULL) == ML_OK)
				decided = ml_ids_contain(c, nc, &m.e[i].stamp.id);
		}
		if (!decided)
			ids[(*n)++] = m.e[i].stamp.id;
	}
	qsort(ids, *n, sizeof *ids, cmp32);
	ml__member_ctx_release(&m);
	return ML_OK;
}
