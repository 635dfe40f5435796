/*
 * orgtree.c - synthetic organisation trees (orgtree.h).
 *
 * Base-unit sizes are log-normal by sector.  The parameters are ours, chosen
 * so the mix matches what is published of the trade union: about 11 million
 * members in about 130,000 base unions (a mean near 85), most of them small -
 * a commune's or an agency's civil servants, a school's staff - and a long
 * tail of enterprises with thousands of workers.  A sector's size is
 * median × e^(σ·z) for a standard normal z, held within [5, 60,000]:
 *
 *   sector                share  median  σ     mean
 *   civil_servants         30 %     22   0.5     25
 *   schools                28 %     40   0.5     45
 *   agencies_enterprises   34 %     30   1.5     92   (non-state enterprises)
 *   state_enterprises       8 %    200   1.0    330
 *
 * which gives a mean of about 80 and a median of about 30.  `memberlog
 * sample --tree` prints the percentiles of the sizes it drew.
 */
#include "orgtree.h"

#include "people.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N(a)       (sizeof(a) / sizeof((a)[0]))
#define SIZE_MIN   5
#define SIZE_MAX_  60000
#define GROUP_FROM 30 /* base units this large get union groups */
#define GROUP_SIZE 25

static const struct {
	const char *sector;
	unsigned percent;
	double median, sigma;
	const char *name; /* printf format: place, serial */
} sectors[] = {
    {"civil_servants", 30, 22, 0.5, "CĐCS UBND xã %s %u"},
    {"schools", 28, 40, 0.5, "CĐCS Trường THCS %s %u"},
    {"agencies_enterprises", 34, 30, 1.5, "CĐCS Công ty TNHH %s %u"},
    {"state_enterprises", 8, 200, 1.0, "CĐCS Tổng công ty %s %u"},
};

/* Place names for districts and base units (common ones, across the country). */
static const char *const places[] = {
    "Tân Lập",   "Hòa Bình",   "Phú Mỹ",     "An Phú",     "Đông Anh",  "Gia Lâm",   "Thanh Trì",
    "Sóc Sơn",   "Mê Linh",    "Quốc Oai",   "Tiên Du",    "Yên Phong", "Thuận An",  "Dĩ An",
    "Bến Cát",   "Long Thành", "Nhơn Trạch", "Đức Hòa",    "Cẩm Giàng", "Kim Thành", "Thủy Nguyên",
    "Diễn Châu", "Quỳnh Lưu",  "Hương Thủy", "Điện Bàn",   "Núi Thành", "Ninh Hòa",  "Krông Pắc",
    "Bảo Lộc",   "Châu Thành", "Cái Bè",     "Long Xuyên", "Ô Môn",     "Năm Căn",   "Hạ Long",
};

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

/* Uniform in (0, 1): never 0, so its logarithm is finite. */
static double uniform(struct rng *r)
{
	return ((double)(next(r) >> 11) + 0.5) / 9007199254740992.0;
}

/* A standard normal deviate (Box-Muller). */
static double normal(struct rng *r)
{
	double u = uniform(r), v = uniform(r);
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static size_t pick_sector(struct rng *r)
{
	unsigned x = (unsigned)(next(r) % 100);
	for (size_t i = 0; i < N(sectors); i++) {
		if (x < sectors[i].percent)
			return i;
		x -= sectors[i].percent;
	}
	return 0;
}

static uint32_t base_size(struct rng *r, size_t sector)
{
	double v = sectors[sector].median * exp(sectors[sector].sigma * normal(r));
	if (v < SIZE_MIN)
		return SIZE_MIN;
	if (v > SIZE_MAX_)
		return SIZE_MAX_;
	return (uint32_t)(v + 0.5);
}

/* The next unit slot, growing the array; NULL when out of memory. */
static struct ml_org_unit *push(struct ml_orgtree *t, size_t *cap)
{
	if (t->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct ml_org_unit *u = realloc(t->units, ncap * sizeof *u);
		if (!u)
			return NULL;
		t->units = u;
		*cap = ncap;
	}
	struct ml_org_unit *u = &t->units[t->n++];
	memset(u, 0, sizeof *u);
	return u;
}

static bool in_range(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v >= lo && v <= hi;
}

int ml_orgtree_make(const struct ml_orgtree_shape *shape, struct ml_orgtree *out)
{
	memset(out, 0, sizeof *out);
	/* at most 4 M base units: 20 M members at 5 each, and sums that fit 32 bits */
	uint64_t bases = (uint64_t)shape->provinces * shape->districts * shape->bases;
	if (!in_range(shape->provinces, 1, 100) || !in_range(shape->districts, 1, 1000) ||
	    (!shape->members && (!in_range(shape->bases, 1, 100000) || bases > 4000000)) ||
	    shape->members > 20000000) {
		errno = EINVAL;
		return -1;
	}
	struct rng r = {shape->seed * 0x9e3779b97f4a7c15ULL + 0x6f7267ULL};
	if (!r.s)
		r.s = 1;
	struct ml_orgtree t = {0};
	size_t cap = 0;
	struct ml_org_unit *u = push(&t, &cap);
	if (!u)
		goto nomem;
	*u = (struct ml_org_unit){.parent = 0, .kind = ML_ORG_NATIONAL, .level = "national"};
	snprintf(u->name, sizeof u->name, "Tổng Liên đoàn Lao động Việt Nam");

	size_t first_district = 1 + shape->provinces;
	size_t n_districts = (size_t)shape->provinces * shape->districts;
	for (uint32_t p = 0; p < shape->provinces; p++) {
		if (!(u = push(&t, &cap)))
			goto nomem;
		*u =
		    (struct ml_org_unit){.parent = 0, .kind = ML_ORG_PROVINCE, .level = "province"};
		if (p < 24)
			snprintf(u->name, sizeof u->name, "LĐLĐ %s", ml_people_province(p));
		else
			snprintf(u->name, sizeof u->name, "LĐLĐ %s %u", ml_people_province(p),
			         p / 24 + 1);
	}
	for (size_t d = 0; d < n_districts; d++) {
		if (!(u = push(&t, &cap)))
			goto nomem;
		uint32_t p = (uint32_t)(d / shape->districts);
		*u = (struct ml_org_unit){
		    .parent = 1 + p, .kind = ML_ORG_DISTRICT, .level = "district"};
		snprintf(u->name, sizeof u->name, "LĐLĐ huyện %s %zu", places[next(&r) % N(places)],
		         d + 1);
	}
	/* Base units, dealt to the districts in turn. */
	uint64_t total = 0;
	size_t n_bases = shape->members ? SIZE_MAX : n_districts * shape->bases;
	for (size_t b = 0; b < n_bases && (!shape->members || total < shape->members); b++) {
		if (!(u = push(&t, &cap)))
			goto nomem;
		size_t s = pick_sector(&r);
		uint32_t size = base_size(&r, s);
		if (shape->members && total + size > shape->members)
			size = (uint32_t)(shape->members - total);
		total += size;
		*u = (struct ml_org_unit){.parent = (uint32_t)(first_district + b % n_districts),
		                          .kind = ML_ORG_BASE,
		                          .level = "base_union",
		                          .sector = sectors[s].sector,
		                          .members = size};
		snprintf(u->name, sizeof u->name, sectors[s].name, places[next(&r) % N(places)],
		         (unsigned)(b + 1));
	}
	if (shape->groups) {
		size_t end = t.n;
		for (size_t b = first_district + n_districts; b < end; b++) {
			uint32_t size = t.units[b].members;
			if (size < GROUP_FROM)
				continue;
			uint32_t k = (size + GROUP_SIZE / 2) / GROUP_SIZE;
			for (uint32_t g = 0; g < k; g++) {
				if (!(u = push(&t, &cap)))
					goto nomem;
				*u = (struct ml_org_unit){.parent = (uint32_t)b,
				                          .kind = ML_ORG_GROUP,
				                          .level = "union_group",
				                          .sector = t.units[b].sector,
				                          .members = size / k + (g < size % k)};
				snprintf(u->name, sizeof u->name, "Tổ công đoàn %zu.%u",
				         b - first_district - n_districts + 1, g + 1);
			}
		}
	}
	/* Sums upward: children come after their parents, so walk backwards. */
	for (size_t i = t.n; i-- > 1;)
		if (t.units[i].kind == ML_ORG_PROVINCE || t.units[i].kind == ML_ORG_DISTRICT ||
		    t.units[i].kind == ML_ORG_BASE)
			t.units[t.units[i].parent].members += t.units[i].members;
	t.members = t.units[0].members;
	*out = t;
	return 0;
nomem:
	ml_orgtree_free(&t);
	errno = ENOMEM;
	return -1;
}

void ml_orgtree_free(struct ml_orgtree *t)
{
	free(t->units);
	memset(t, 0, sizeof *t);
}

/* A field for CSV: quoted when it holds a comma or a quote. */
static int csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n"))
		return fputs(s, f) < 0 ? -1 : 0;
	if (fputc('"', f) == EOF)
		return -1;
	for (; *s; s++)
		if ((*s == '"' && fputc('"', f) == EOF) || fputc(*s, f) == EOF)
			return -1;
	return fputc('"', f) == EOF ? -1 : 0;
}

int ml_orgtree_csv(FILE *f, const struct ml_orgtree *t)
{
	if (fputs("index,parent,level,sector,members,name\n", f) < 0)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		const struct ml_org_unit *u = &t->units[i];
		if (fprintf(f, "%zu,%u,%s,%s,%u,", i, u->parent, u->level,
		            u->sector ? u->sector : "", u->members) < 0 ||
		    csv_field(f, u->name) < 0 || fputc('\n', f) == EOF)
			return -1;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

int64_t ml_orgtree_base_percentile(const struct ml_orgtree *t, unsigned p)
{
	uint32_t *v = malloc((t->n + 1) * sizeof *v);
	if (!v) {
		errno = ENOMEM;
		return -1;
	}
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->units[i].kind == ML_ORG_BASE)
			v[k++] = t->units[i].members;
	int64_t r = 0;
	if (k) {
		qsort(v, k, sizeof *v, cmp_u32);
		size_t at = (size_t)((double)(p > 100 ? 100 : p) / 100.0 * (double)(k - 1) + 0.5);
		r = v[at];
	}
	free(v);
	return r;
}
