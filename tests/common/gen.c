/*
 * gen.c - realistic signed op histories (see gen.h).
 *
 * The generator plays every device itself: it keeps each feed's head and
 * each device's clock, and gives the first op of every batch the deps a
 * node needs to judge it valid (the grant's feed, the unit's creation, the
 * officer's feed an approval names, the range delegation).  Phases run in
 * causal order: tree and devices, imports, submissions, approvals, edits,
 * their submissions and approvals.
 */
#include "gen.h"
#include "rng.h"

#include "cli/people.h"

#include "crdt/body.h"
#include "crdt/err.h"
#include "crdt/feed.h"
#include "crdt/number.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define T0 1735689600000ULL /* 2025-01-01T00:00:00Z */

static struct test_rng rng;

static uint32_t rnd(uint32_t n)
{
	return test_rng_below(&rng, n);
}

/* The people in the ops: cli/people.h, seeded with the history's seed. */
static struct ml_people people;

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct dev {
	struct ml_key *key;
	struct ml_hlc clock;
};

struct fstate {
	struct ml_feed_head head;
	struct dev *dev;
};

struct member {
	struct ml_hash id;
	uint32_t unit; /* base unit index */
	struct ml_hash last_change;
	bool edited;
};

struct gen {
	FILE *out, *idx;
	struct gen_stats st;
	struct ml_hash net;
	uint64_t now;
	size_t max_batch;
	/* the batch being built, for one feed */
	struct ml_op ops[ML_BATCH_MAX];
	struct ml_buf bodies[ML_BATCH_MAX];
	struct ml_hash *id_dest[ML_BATCH_MAX]; /* where to copy each op's id once sealed */
	size_t n;
	struct fstate *feed;
	struct ml_hash deps[8];
	size_t ndeps;
	struct ml_buf enc;
};

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Seals and writes the batch being built, then hands out the ids. */
static int flush(struct gen *g)
{
	if (g->n == 0)
		return 0;
	qsort(g->deps, g->ndeps, sizeof g->deps[0], cmp_hash);
	size_t nd = 0; /* without repeats */
	for (size_t i = 0; i < g->ndeps; i++)
		if (nd == 0 || !ml_hash_eq(&g->deps[nd - 1], &g->deps[i]))
			g->deps[nd++] = g->deps[i];
	g->ops[0].deps = nd ? g->deps[0].b : NULL;
	g->ops[0].ndeps = nd;
	ml_buf_reset(&g->enc);
	g->now += 1 + rnd(20);
	struct ml_buf err = ML_BUF_INIT;
	int rc = ml_feed_write_batch(&g->feed->head, g->feed->dev->key, &g->feed->dev->clock,
	                             g->now, g->ops, g->n, &g->enc, NULL, &err);
	if (rc != ML_OK) {
		fprintf(stderr, "gen: %s\n", ml_buf_str(&err));
		ml_buf_release(&err);
		errno = EINVAL;
		return -1;
	}
	uint32_t hdr[2] = {(uint32_t)g->n, (uint32_t)g->enc.len};
	if (fwrite(g->enc.data, 1, g->enc.len, g->out) != g->enc.len ||
	    fwrite(hdr, 4, 2, g->idx) != 2)
		return -1;
	for (size_t i = 0; i < g->n; i++)
		if (g->id_dest[i])
			*g->id_dest[i] = g->ops[i].id;
	g->st.ops += g->n;
	g->st.bytes += g->enc.len;
	g->st.batches++;
	g->n = 0;
	g->ndeps = 0;
	return 0;
}

/*
 * Adds an op to feed f's batch, flushing first when the batch is for another
 * feed or full (cap ops, or the global max_batch).  *id (optional) receives the
 * op's id when its batch is sealed.
 */
static int add(struct gen *g, struct fstate *f, const char *type, struct ml_body_builder *bb,
               size_t cap, struct ml_hash *id)
{
	if (g->max_batch)
		cap = g->max_batch;
	if ((g->feed != f && g->n) || g->n >= cap)
		if (flush(g) < 0)
			return -1;
	g->feed = f;
	struct ml_op *op = &g->ops[g->n];
	memset(op, 0, sizeof *op);
	op->has_net = strcmp(type, ML_OP_TYPE_GENESIS) != 0;
	op->net = g->net;
	strcpy(op->type, type);
	ml_buf_reset(&g->bodies[g->n]);
	int rc = ml_bb_finish(bb, &g->bodies[g->n]);
	ml_bb_release(bb);
	if (rc != ML_OK)
		return -1;
	op->body = g->bodies[g->n].data;
	op->body_len = g->bodies[g->n].len;
	g->id_dest[g->n] = id;
	g->n++;
	return 0;
}

/*
 * Names feed `from`'s head in the deps of the next batch of feed `into`:
 * flushes first if the batch being built belongs to another feed.
 */
static int dep(struct gen *g, struct fstate *into, const struct fstate *from)
{
	if (g->n && g->feed != into && flush(g) < 0)
		return -1;
	g->feed = into;
	if (from->head.seq && g->ndeps < N(g->deps))
		g->deps[g->ndeps++] = from->head.id;
	return 0;
}

static struct dev *new_dev(uint32_t seed)
{
	struct dev *d = calloc(1, sizeof *d);
	uint8_t s[32] = {0};
	memcpy(s, &seed, 4);
	s[31] = 0x5a;
	ml_key_from_seed(s, &d->key);
	return d;
}

static void person(struct ml_body_builder *bb, uint32_t serial)
{
	struct ml_person m;
	ml_people_next(&people, serial, &m);
	ml_bb_cstr(bb, "full_name", m.full_name);
	ml_bb_cstr(bb, "dob", m.dob);
	ml_bb_cstr(bb, "gender", m.female ? "female" : "male");
	ml_bb_cstr(bb, "hometown", m.hometown);
	ml_bb_cstr(bb, "id_number", m.id_number);
	ml_bb_cstr(bb, "union_join_date", m.union_join_date);
	if (m.position)
		ml_bb_text_list(bb, "positions", &m.position, 1);
	ml_bb_bool(bb, "pays_dues", m.pays_dues);
}

int gen_next_batch(FILE *idx, uint32_t *n, uint32_t *bytes)
{
	uint32_t hdr[2];
	if (fread(hdr, 4, 2, idx) != 2)
		return 0;
	*n = hdr[0];
	*bytes = hdr[1];
	return 1;
}

int gen_write(const struct gen_params *pp, const char *path, struct gen_stats *st)
{
	struct gen_params p = *pp;
	if (!p.provinces)
		p.provinces = 10;
	if (!p.districts)
		p.districts = 12;
	if (!p.import_size)
		p.import_size = 200;
	if (!p.approve_size)
		p.approve_size = 40;
	test_rng_seed(&rng, p.seed, 12345);
	ml_people_seed(&people, p.seed);
	struct gen *g = calloc(1, sizeof *g);
	char idx_path[1024];
	snprintf(idx_path, sizeof idx_path, "%s.idx", path);
	g->out = fopen(path, "wb");
	g->idx = fopen(idx_path, "wb");
	if (!g->out || !g->idx)
		return -1;
	g->now = T0;
	g->max_batch = p.max_batch;
	/* About 4.6 ops per member: create, submit, approve; 40% edit cycles; 12% cards. */
	size_t members = p.target_ops / 46 * 10;
	size_t n_districts = p.provinces * p.districts;
	size_t units_needed = members / 150 + 1; /* base units of ~150 members */
	size_t per_district = (units_needed + n_districts - 1) / n_districts;
	size_t n_base = per_district * n_districts;

	struct dev *admin = new_dev(1);
	struct fstate root = {.head.feed.lane = ML_LANE_GOV, .dev = admin};
	struct fstate *prov = calloc(p.provinces, sizeof *prov);
	struct fstate *dist = calloc(n_districts, sizeof *dist);
	struct fstate *base_gov = calloc(n_base, sizeof *base_gov);
	struct fstate *officer = calloc(n_base, sizeof *officer);
	struct fstate *approver = calloc(n_base, sizeof *approver); /* per base unit feed */
	struct dev **approvers = calloc(n_districts, sizeof *approvers);
	struct ml_hash *prov_id = calloc(p.provinces, sizeof *prov_id);
	struct ml_hash *dist_id = calloc(n_districts, sizeof *dist_id);
	struct ml_hash *base_id = calloc(n_base, sizeof *base_id);
	struct member *m = calloc(members ? members : 1, sizeof *m);
	uint64_t *next_number = calloc(n_districts, sizeof *next_number);
	struct ml_body_builder bb;
	int rc = 0;

	/* The tree: genesis, provinces, districts, base units; ranges; grants. */
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "name", "Tổng Liên đoàn Lao động Việt Nam");
	ml_bb_cstr(&bb, "org", "trade_union");
	rc |= add(g, &root, ML_OP_TYPE_GENESIS, &bb, 1, &g->net);
	rc |= flush(g); /* ids are known once sealed, and the next ops need them */
	for (size_t i = 0; i < p.provinces && rc == 0; i++) {
		char name[96];
		snprintf(name, sizeof name, "LĐLĐ tỉnh %s", ml_people_province(i));
		ml_bb_init(&bb);
		ml_bb_cstr(&bb, "name", name);
		ml_bb_cstr(&bb, "level", "province");
		rc |= add(g, &root, "unit_create", &bb, 1, &prov_id[i]);
		rc |= flush(g);
		ml_bb_init(&bb);
		ml_bb_hash(&bb, "to", &prov_id[i]);
		ml_bb_uint(&bb, "start", 1000000000ULL * (i + 1));
		ml_bb_uint(&bb, "count", 1000000000ULL);
		rc |= add(g, &root, "numbers_delegate", &bb, 64, NULL);
		prov[i] = (struct fstate){.head.feed = {.unit = prov_id[i], .lane = ML_LANE_GOV},
		                          .dev = admin};
	}
	rc |= flush(g);
	for (size_t d = 0; d < n_districts && rc == 0; d++) {
		size_t pi = d / p.districts;
		char name[96];
		snprintf(name, sizeof name, "LĐLĐ huyện số %zu", d + 1);
		if (!prov[pi].head.seq)
			rc |= dep(g, &prov[pi], &root);
		ml_bb_init(&bb);
		ml_bb_cstr(&bb, "name", name);
		ml_bb_cstr(&bb, "level", "district");
		rc |= add(g, &prov[pi], "unit_create", &bb, 1, &dist_id[d]);
		rc |= flush(g);
		ml_bb_init(&bb);
		ml_bb_hash(&bb, "to", &dist_id[d]);
		next_number[d] = 1000000000ULL * (pi + 1) + 1000000ULL * (d % p.districts);
		ml_bb_uint(&bb, "start", next_number[d]);
		ml_bb_uint(&bb, "count", 1000000);
		rc |= add(g, &prov[pi], "numbers_delegate", &bb, 64, NULL);
		dist[d] = (struct fstate){.head.feed = {.unit = dist_id[d], .lane = ML_LANE_GOV},
		                          .dev = admin};
		approvers[d] = new_dev(1000000 + (uint32_t)d);
	}
	rc |= flush(g);
	for (size_t b = 0; b < n_base && rc == 0; b++) {
		size_t d = b / per_district;
		if (!dist[d].head.seq)
			rc |= dep(g, &dist[d], &prov[d / p.districts]);
		char name[96];
		snprintf(name, sizeof name, "CĐCS số %zu", b + 1);
		ml_bb_init(&bb);
		ml_bb_cstr(&bb, "name", name);
		ml_bb_cstr(&bb, "level", "base_union");
		rc |= add(g, &dist[d], "unit_create", &bb, 1, &base_id[b]);
		rc |= flush(g);
		if (b % per_district == 0) {
			/* the district's approver, in the same feed */
			ml_bb_init(&bb);
			ml_bb_bytes(&bb, "device", approvers[d]->key->pk.b, 32);
			ml_bb_cstr(&bb, "role", "approver");
			rc |= add(g, &dist[d], "grant", &bb, 64, NULL);
		}
	}
	rc |= flush(g);
	for (size_t b = 0; b < n_base && rc == 0; b++) {
		size_t d = b / per_district;
		base_gov[b] = (struct fstate){
		    .head.feed = {.unit = base_id[b], .lane = ML_LANE_GOV}, .dev = admin};
		struct dev *o = new_dev(2000000 + (uint32_t)b);
		officer[b] = (struct fstate){.head.feed = {.unit = base_id[b], .lane = ML_LANE_REG},
		                             .dev = o};
		approver[b] = (struct fstate){
		    .head.feed = {.unit = base_id[b], .lane = ML_LANE_REG}, .dev = approvers[d]};
		rc |= dep(g, &base_gov[b], &dist[d]);
		ml_bb_init(&bb);
		ml_bb_bytes(&bb, "device", o->key->pk.b, 32);
		ml_bb_cstr(&bb, "role", "officer");
		rc |= add(g, &base_gov[b], "grant", &bb, 1, NULL);
	}
	rc |= flush(g);
	g->st.units = 1 + p.provinces + n_districts + n_base;

	/* Members go to base units round-robin. */
	for (size_t i = 0; i < members; i++)
		m[i].unit = (uint32_t)(i % n_base);
	g->st.members = members;

	/* Imports, then one submission per member, per base unit. */
	for (size_t b = 0; b < n_base && rc == 0; b++) {
		rc |= flush(g);
		rc |= dep(g, &officer[b], &base_gov[b]);
		for (size_t i = b; i < members && rc == 0; i += n_base) {
			ml_bb_init(&bb);
			person(&bb, (uint32_t)i);
			rc |= add(g, &officer[b], "member_create", &bb, p.import_size, &m[i].id);
		}
	}
	for (size_t b = 0; b < n_base && rc == 0; b++) {
		rc |= flush(g);
		for (size_t i = b; i < members && rc == 0; i += n_base) {
			ml_bb_init(&bb);
			ml_bb_hash(&bb, "member", &m[i].id);
			ml_bb_bytes(&bb, "changes", m[i].id.b, 32);
			rc |= add(g, &officer[b], "member_submit", &bb, p.import_size, NULL);
		}
	}
	rc |= flush(g);
	/* Approvals by the district approver, numbers from the district's range. */
	for (size_t b = 0; b < n_base && rc == 0; b++) {
		size_t d = b / per_district;
		size_t k = 0;
		for (size_t i = b; i < members && rc == 0; i += n_base, k++) {
			if (g->n == 0 || g->feed != &approver[b]) {
				rc |= flush(g);
				rc |= dep(g, &approver[b], &officer[b]);
				rc |= dep(g, &approver[b], &dist[d]);
				rc |= dep(g, &approver[b], &prov[d / p.districts]);
			}
			char num[13];
			ml_number_format(next_number[d]++, num);
			ml_bb_init(&bb);
			ml_bb_hash(&bb, "member", &m[i].id);
			ml_bb_bytes(&bb, "changes", m[i].id.b, 32);
			ml_bb_cstr(&bb, "number", num);
			rc |= add(g, &approver[b], "member_approve", &bb, p.approve_size, NULL);
			if (g->n == 0 || g->n >= (g->max_batch ? g->max_batch : p.approve_size))
				rc |= flush(g);
		}
		rc |= flush(g);
	}
	/* Edits (single ops) and card requests, then their submission and approval. */
	for (int cycle = 0; cycle < 2 && rc == 0; cycle++) {
		unsigned pct = cycle == 0 ? 40 : 12;
		for (size_t i = 0; i < members && rc == 0; i++) {
			m[i].edited = rnd(100) < pct;
			if (!m[i].edited)
				continue;
			size_t b = m[i].unit;
			rc |= flush(g);
			ml_bb_init(&bb);
			ml_bb_hash(&bb, "member", &m[i].id);
			const char *type = "member_update";
			if (cycle == 0) {
				char phone[16];
				snprintf(phone, sizeof phone, "09%08u", rnd(100000000));
				ml_bb_cstr(&bb, "phone", phone);
			} else {
				type = "member_card_request";
				ml_bb_cstr(&bb, "card", rnd(5) ? "ordinary" : "linked");
			}
			rc |= add(g, &officer[b], type, &bb, 1, &m[i].last_change);
			rc |= flush(g);
		}
		for (size_t b = 0; b < n_base && rc == 0; b++) {
			rc |= flush(g);
			for (size_t i = b; i < members && rc == 0; i += n_base) {
				if (!m[i].edited)
					continue;
				ml_bb_init(&bb);
				ml_bb_hash(&bb, "member", &m[i].id);
				ml_bb_bytes(&bb, "changes", m[i].last_change.b, 32);
				rc |=
				    add(g, &officer[b], "member_submit", &bb, p.import_size, NULL);
			}
		}
		rc |= flush(g);
		for (size_t b = 0; b < n_base && rc == 0; b++) {
			for (size_t i = b; i < members && rc == 0; i += n_base) {
				if (!m[i].edited)
					continue;
				if (g->n == 0 || g->feed != &approver[b]) {
					rc |= flush(g);
					rc |= dep(g, &approver[b], &officer[b]);
				}
				ml_bb_init(&bb);
				ml_bb_hash(&bb, "member", &m[i].id);
				ml_bb_bytes(&bb, "changes", m[i].last_change.b, 32);
				rc |= add(g, &approver[b], "member_approve", &bb, p.approve_size,
				          NULL);
				if (g->n >= (g->max_batch ? g->max_batch : p.approve_size))
					rc |= flush(g);
			}
			rc |= flush(g);
		}
	}
	rc |= flush(g);
	*st = g->st;
	if (fclose(g->out) != 0 || fclose(g->idx) != 0)
		rc = -1;
	for (size_t i = 0; i < ML_BATCH_MAX; i++)
		ml_buf_release(&g->bodies[i]);
	ml_buf_release(&g->enc);
	for (size_t d = 0; d < n_districts; d++) {
		ml_key_free(approvers[d]->key);
		free(approvers[d]);
	}
	for (size_t b = 0; b < n_base; b++) {
		ml_key_free(officer[b].dev->key);
		free(officer[b].dev);
	}
	ml_key_free(admin->key);
	free(admin);
	free(prov);
	free(dist);
	free(base_gov);
	free(officer);
	free(approver);
	free(approvers);
	free(prov_id);
	free(dist_id);
	free(base_id);
	free(m);
	free(next_number);
	free(g);
	return rc ? -1 : 0;
}
