/*
 * numbers.c - free serials of a unit (see numbers.h).
 *
 * The free space is the holdings minus the taken intervals (delegations and
 * members' numbers), both sorted by start: one merge walk finds either the
 * lowest free serials or the lowest free run.
 */
#include "numbers.h"

#include "read.h"

#include "crdt/alloc.h"
#include "crdt/err.h"

#include <stdlib.h>
#include <string.h>

struct ranges {
	struct ml_range *r;
	size_t n, cap;
};

static int ranges_add(struct ranges *rs, uint64_t start, uint64_t count)
{
	struct ml_range *v = ml_grow(rs->r, &rs->cap, rs->n + 1, sizeof *v, 16);
	if (!v)
		return ML_ENOMEM;
	rs->r = v;
	rs->r[rs->n++] = (struct ml_range){start, count};
	return ML_OK;
}

static int cmp_range(const void *a, const void *b)
{
	const struct ml_range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Appends the (start, count) rows of sql, ?1 bound to unit. */
static int load_ranges(struct ml_store *s, const char *sql, const struct ml_hash *unit,
                       struct ranges *rs, struct ml_buf *err)
{
	sqlite3_stmt *st;
	int rc = ml_read_prepare(s, sql, &st, err);
	if (rc != ML_OK)
		return rc;
	sqlite3_bind_blob(st, 1, unit->b, 32, SQLITE_STATIC);
	int r;
	while (rc == ML_OK && (r = sqlite3_step(st)) == SQLITE_ROW)
		rc = ranges_add(rs, (uint64_t)sqlite3_column_int64(st, 0),
		                (uint64_t)sqlite3_column_int64(st, 1));
	if (rc == ML_OK && r != SQLITE_DONE)
		rc = ml_errf(err, ML_ESTORE, "cannot read number ranges: %s",
		             sqlite3_errmsg(sqlite3_db_handle(st)));
	sqlite3_finalize(st);
	return rc;
}

/* The unit's holdings and what is taken out of them, each sorted. */
static int load(struct ml_store *s, const struct ml_hash *unit, struct ranges *hold,
                struct ranges *taken, struct ml_buf *err)
{
	struct ml_hash net;
	int rc = ML_OK;
	if (ml_store_network(s, &net) && ml_hash_eq(&net, unit))
		rc =
		    ranges_add(hold, 1, ML_SERIAL_LIMIT - 1); /* serial 0 would read as no number */
	else
		rc = load_ranges(s, "SELECT start, count FROM ranges WHERE unit = ?1", unit, hold,
		                 err);
	if (rc == ML_OK)
		rc = load_ranges(s, "SELECT start, count FROM ranges WHERE by_unit = ?1", unit,
		                 taken, err);
	if (rc == ML_OK)
		/* Every number in use, whoever gave it: a number is national. */
		rc = load_ranges(s,
		                 "SELECT CAST(substr(number, 1, 11) AS INTEGER), 1 FROM members"
		                 " WHERE number IS NOT NULL AND ?1 IS NOT NULL",
		                 unit, taken, err);
	if (hold->n)
		qsort(hold->r, hold->n, sizeof *hold->r, cmp_range);
	if (taken->n)
		qsort(taken->r, taken->n, sizeof *taken->r, cmp_range);
	return rc;
}

/*
 * Walks the free runs in ascending order, calling fn(run, ctx) until it
 * returns true.  Returns true when fn stopped the walk.
 */
static bool walk_free(const struct ranges *hold, const struct ranges *taken,
                      bool (*fn)(struct ml_range run, void *ctx), void *ctx)
{
	size_t t = 0;
	for (size_t h = 0; h < hold->n; h++) {
		uint64_t at = hold->r[h].start, end = hold->r[h].start + hold->r[h].count;
		while (at < end) {
			while (t < taken->n && taken->r[t].start + taken->r[t].count <= at)
				t++;
			uint64_t stop = end;
			if (t < taken->n && taken->r[t].start < end)
				stop = taken->r[t].start > at ? taken->r[t].start : at;
			if (stop > at && fn((struct ml_range){at, stop - at}, ctx))
				return true;
			if (stop == end)
				break;
			at = taken->r[t].start + taken->r[t].count;
		}
	}
	return false;
}

struct pick {
	uint64_t *serials;
	size_t n, got;
};

static bool take_serials(struct ml_range run, void *ctx)
{
	struct pick *p = ctx;
	for (uint64_t i = 0; i < run.count && p->got < p->n; i++)
		p->serials[p->got++] = run.start + i;
	return p->got == p->n;
}

struct block {
	uint64_t count;
	struct ml_range found;
};

static bool take_block(struct ml_range run, void *ctx)
{
	struct block *b = ctx;
	if (run.count < b->count)
		return false;
	b->found = (struct ml_range){run.start, b->count};
	return true;
}

int ml_numbers_pick(struct ml_store *s, const struct ml_hash *unit, uint64_t *serials, size_t n,
                    struct ml_buf *err)
{
	struct ranges hold = {0}, taken = {0};
	int rc = load(s, unit, &hold, &taken, err);
	struct pick p = {serials, n, 0};
	if (rc == ML_OK && !walk_free(&hold, &taken, take_serials, &p))
		rc =
		    ml_errf(err, ML_ENOTFOUND,
		            "the unit has %zu free member numbers and %zu are needed; ask the unit "
		            "above to delegate a range ('memberlog numbers delegate')",
		            p.got, n);
	ml_free(hold.r);
	ml_free(taken.r);
	return rc;
}

int ml_numbers_block(struct ml_store *s, const struct ml_hash *unit, uint64_t count,
                     struct ml_range *out, struct ml_buf *err)
{
	struct ranges hold = {0}, taken = {0};
	int rc = load(s, unit, &hold, &taken, err);
	struct block b = {count, {0, 0}};
	if (rc == ML_OK && !walk_free(&hold, &taken, take_block, &b))
		rc = ml_errf(err, ML_ENOTFOUND,
		             "the unit holds no free run of %llu member numbers; ask the unit "
		             "above to delegate a larger range",
		             (unsigned long long)count);
	*out = b.found;
	ml_free(hold.r);
	ml_free(taken.r);
	return rc;
}
