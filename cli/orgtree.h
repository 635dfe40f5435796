/*
 * orgtree.h - synthetic organisation trees of a realistic shape, reproducible
 * from a seed, for the demo, the nation-scale simulation, the tests and the
 * benchmarks: national → provinces → districts → base units (→ union groups).
 *
 * The counts of provinces, districts and base units are the caller's; what is
 * realistic is the size of each base unit, drawn by sector from log-normal
 * distributions (orgtree.c gives the parameters and where they come from):
 * many small units - a commune's civil servants, a school - and a long tail of
 * enterprises with thousands of workers.  Above the base, a unit's size is
 * the sum of its subtree.
 */
#ifndef ML_CLI_ORGTREE_H
#define ML_CLI_ORGTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum ml_org_kind { ML_ORG_NATIONAL, ML_ORG_PROVINCE, ML_ORG_DISTRICT, ML_ORG_BASE, ML_ORG_GROUP };

struct ml_org_unit {
	uint32_t parent;    /* index of the parent unit; the root (index 0) names itself */
	uint8_t kind;       /* enum ml_org_kind */
	const char *level;  /* the glossary's level: "national", "province", "district"... */
	const char *sector; /* base units and groups: the glossary's sector; NULL above */
	uint32_t members;   /* a base unit's or group's members; above, its subtree's sum */
	char name[96];      /* Vietnamese, unique in the tree */
};

struct ml_orgtree_shape {
	uint64_t seed;
	uint32_t provinces; /* 1 to 100 */
	uint32_t districts; /* per province, 1 to 1000 */
	uint32_t bases;     /* per district (ignored when members is set), 1 to 100,000, and
	                       at most 4 M base units in all */
	uint64_t members;   /* when not 0: base units are added to districts in turn until
	                       their members reach this many (the last one is trimmed) */
	bool groups;        /* split base units of 30 or more members into groups of about 25 */
};

struct ml_orgtree {
	struct ml_org_unit *units; /* parents come before their children */
	size_t n;
	uint64_t members; /* the national unit's sum */
};

/*
 * Builds the tree into *out (owned by the caller: ml_orgtree_free).  Returns
 * 0, or -1 with errno EINVAL (a count out of its range) or ENOMEM.
 */
int ml_orgtree_make(const struct ml_orgtree_shape *shape, struct ml_orgtree *out);

/* Frees what ml_orgtree_make allocated; accepts a zeroed tree. */
void ml_orgtree_free(struct ml_orgtree *t);

/*
 * Writes the tree as CSV, a header then one row per unit:
 * index,parent,level,sector,members,name.  Returns 0, or -1 (errno set).
 */
int ml_orgtree_csv(FILE *f, const struct ml_orgtree *t);

/*
 * The p-th percentile (0..100) of the base units' sizes, for summaries; 0
 * when the tree has none.  Returns -1 with errno ENOMEM when out of memory.
 */
int64_t ml_orgtree_base_percentile(const struct ml_orgtree *t, unsigned p);

#endif
