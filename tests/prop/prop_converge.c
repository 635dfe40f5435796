/*
 * prop_converge.c - property: every replica that receives the same ops, in
 * any order and any batching, reaches the same state hash, and that hash is
 * what a rebuild from the log gives.
 *
 * For each seed, three writing nodes (real stores) build a history: a tree,
 * grants, number ranges, members entered, edited, submitted, approved with
 * numbers, rejected, transferred, reduced; units renamed and dissolved; a
 * device revoked; a device key used on two nodes (an equivocation);
 * unauthorised and malformed ops written past the author's checks; and
 * partial syncs between the nodes, so writers act on different, partial
 * views.  Then every op any node holds is delivered to three fresh
 * replicas, shuffled and cut into random batches.
 *
 * Usage: prop_converge [--seeds N] [--first S] [--steps K]
 * On failure it prints the seed; rerun with --first SEED --seeds 1.
 */
#include "crdt/body.h"
#include "crdt/codec.h"
#include "crdt/err.h"
#include "crdt/feed.h"
#include "crdt/number.h"
#include "node/author.h"
#include "node/query.h"
#include "node/store.h"
#include "tests/common/rng.h"
#include "tests/common/world.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NODES      3
#define REPLICAS   3
#define MAX_ACTORS 16
#define MAX_UNITS  32

static struct test_rng rng;

static uint32_t rnd(uint32_t n)
{
	return test_rng_below(&rng, n);
}

struct actor {
	struct ml_key *key;
	int home;  /* node it writes on */
	int home2; /* a second node (-1): the cloned key that equivocates */
	const char *role;
	int unit; /* index in units */
	uint64_t next_serial;
};

struct gen {
	char dir[128];
	struct ml_store *node[NODES];
	struct ml_hash units[MAX_UNITS];
	int parent[MAX_UNITS];
	int n_units;
	struct actor actors[MAX_ACTORS];
	int n_actors;
	uint64_t now;
	struct ml_buf err;
	long writes, refused;
};

static struct ml_key *key_of(int seed)
{
	uint8_t s[32];
	memset(s, (uint8_t)seed, sizeof s);
	s[0] = 0xaa;
	struct ml_key *k = NULL;
	ml_key_from_seed(s, &k);
	return k;
}

/* Writes one op with body bb on node i; failures (invalid in that node's view) are counted. */
static int write_op(struct gen *g, int i, const struct ml_key *k, const struct ml_hash *unit,
                    enum ml_lane lane, const char *type, struct ml_body_builder *bb,
                    struct ml_hash *out)
{
	struct ml_buf body = ML_BUF_INIT;
	int rc = ml_bb_finish(bb, &body);
	ml_bb_release(bb);
	struct ml_draft d = {type, body.data, body.len};
	g->now += 1 + rnd(3000);
	struct ml_hash id;
	if (rc == ML_OK)
		rc = ml_author_write(g->node[i], k, unit, lane, &d, 1, g->now, &id, NULL, &g->err);
	ml_buf_release(&body);
	if (rc == ML_OK) {
		g->writes++;
		if (out)
			*out = id;
	} else {
		g->refused++;
	}
	return rc;
}

/*
 * Writes an op past the author's checks (tests/common/world.h, w_forge_at),
 * ingested like an op from a peer.  It is stored and judged - usually rejected.
 */
static void raw_write(struct gen *g, int i, const struct ml_key *k, const struct ml_hash *unit,
                      enum ml_lane lane, const char *type, const uint8_t *body, size_t body_len)
{
	char path[256];
	snprintf(path, sizeof path, "%s/n%d.db", g->dir, i);
	struct ml_hash net;
	ml_store_network(g->node[i], &net);
	struct ml_buf out = ML_BUF_INIT;
	g->now += 1 + rnd(1000);
	if (w_forge_at(path, &net, k, unit, lane, type, body, body_len, g->now, &out) == ML_OK) {
		const uint8_t *p = out.data;
		struct ml_ingest_result res;
		ml_store_ingest(g->node[i], &p, &out.len, 1, g->now, &res, NULL);
	}
	ml_buf_release(&out);
}

/* Random member of node i managed by unit u (its id into *m); false if none. */
static bool pick_member(struct gen *g, int i, int u, struct ml_hash *m)
{
	sqlite3 *db;
	char path[256];
	snprintf(path, sizeof path, "%s/n%d.db", g->dir, i);
	bool found = false;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return false;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(
	        db, "SELECT id FROM members WHERE unit = ?1 ORDER BY id LIMIT 1 OFFSET ?2", -1, &st,
	        NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, g->units[u].b, 32, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, (int)rnd(6));
		if (sqlite3_step(st) == SQLITE_ROW) {
			memcpy(m->b, sqlite3_column_blob(st, 0), 32);
			found = true;
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return found;
}

static int add_actor(struct gen *g, int seed, int home, const char *role, int unit)
{
	struct actor *a = &g->actors[g->n_actors];
	a->key = key_of(seed);
	a->home = home;
	a->home2 = -1;
	a->role = role;
	a->unit = unit;
	a->next_serial = 0;
	return g->n_actors++;
}

static int add_unit(struct gen *g, int node, const struct ml_key *admin, int parent,
                    const char *name, const char *level)
{
	if (g->n_units == MAX_UNITS)
		return -1;
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "name", name);
	ml_bb_cstr(&bb, "level", level);
	if (write_op(g, node, admin, &g->units[parent], ML_LANE_GOV, "unit_create", &bb,
	             &g->units[g->n_units]) != ML_OK)
		return -1;
	g->parent[g->n_units] = parent;
	return g->n_units++;
}

static int grant(struct gen *g, int node, const struct ml_key *admin, int unit,
                 const struct ml_key *dev, const char *role)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_bytes(&bb, "device", dev->pk.b, 32);
	ml_bb_cstr(&bb, "role", role);
	return write_op(g, node, admin, &g->units[unit], ML_LANE_GOV, "grant", &bb, NULL);
}

static int delegate(struct gen *g, int node, const struct ml_key *admin, int from, int to,
                    uint64_t start, uint64_t count)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_hash(&bb, "to", &g->units[to]);
	ml_bb_uint(&bb, "start", start);
	ml_bb_uint(&bb, "count", count);
	return write_op(g, node, admin, &g->units[from], ML_LANE_GOV, "numbers_delegate", &bb,
	                NULL);
}

/* Copies ops (each with probability pct/100) from node a to node b, in random batches. */
static void sync_nodes(struct gen *g, int a, int b, int pct)
{
	sqlite3 *db;
	char path[256];
	snprintf(path, sizeof path, "%s/n%d.db", g->dir, a);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return;
	sqlite3_stmt *st;
	struct ml_buf all = ML_BUF_INIT;
	size_t *ends = NULL, n = 0, cap = 0;
	if (sqlite3_prepare_v2(db,
	                       "SELECT raw FROM ops UNION ALL SELECT raw FROM pending"
	                       " UNION ALL SELECT raw FROM forks",
	                       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			if ((int)rnd(100) >= pct)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				ends = realloc(ends, cap * sizeof *ends);
			}
			ml_buf_add(&all, sqlite3_column_blob(st, 0),
			           (size_t)sqlite3_column_bytes(st, 0));
			ends[n++] = all.len;
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	const uint8_t **p = calloc(n ? n : 1, sizeof *p);
	size_t *lens = calloc(n ? n : 1, sizeof *lens);
	for (size_t i = 0; i < n; i++) {
		p[i] = all.data + (i ? ends[i - 1] : 0);
		lens[i] = ends[i] - (i ? ends[i - 1] : 0);
	}
	for (size_t i = 0; i < n;) {
		size_t k = 1 + rnd(40);
		if (k > n - i)
			k = n - i;
		struct ml_ingest_result res;
		ml_store_ingest(g->node[b], p + i, lens + i, k, g->now + 86400000, &res, NULL);
		i += k;
	}
	free(p);
	free(lens);
	free(ends);
	ml_buf_release(&all);
}

/* --- actions ------------------------------------------------------------------ */

static const char *const family[] = {"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Đặng"};
static const char *const given[] = {"Văn An",   "Thị Bình", "Minh Châu", "Thu Đào",
                                    "Quốc Đạt", "Ngọc Hà",  "Bá Lương"};

static void act_member_create(struct gen *g, struct actor *a)
{
	char name[96], idn[16];
	snprintf(name, sizeof name, "%s %s", family[rnd(7)], given[rnd(7)]);
	/* few distinct ID numbers, so duplicates happen */
	snprintf(idn, sizeof idn, "1098141%02u", rnd(40));
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "full_name", name);
	ml_bb_cstr(&bb, "id_number", idn);
	ml_bb_cstr(&bb, "union_join_date", "11/02/2012");
	if (rnd(2))
		ml_bb_cstr(&bb, "gender", rnd(2) ? "male" : "female");
	write_op(g, a->home, a->key, &g->units[a->unit], ML_LANE_REG, "member_create", &bb, NULL);
}

/* Starts a body about a random member a's node holds in a's unit; false if there is none. */
static bool start_member_body(struct gen *g, struct actor *a, struct ml_body_builder *bb)
{
	struct ml_hash m;
	if (!pick_member(g, a->home, a->unit, &m))
		return false;
	ml_bb_init(bb);
	ml_bb_hash(bb, "member", &m);
	return true;
}

static void act_member_edit(struct gen *g, struct actor *a)
{
	struct ml_body_builder bb;
	if (!start_member_body(g, a, &bb))
		return;
	static const char *const towns[] = {"Hà Nội", "Cà Mau", "Huế", "Đà Nẵng"};
	if (rnd(3))
		ml_bb_cstr(&bb, "hometown", towns[rnd(4)]);
	else {
		const char *pos[] = {"chair", "group_leader"};
		ml_bb_text_list(&bb, "positions", pos, 1 + rnd(2));
	}
	write_op(g, a->home, a->key, &g->units[a->unit], ML_LANE_REG, "member_update", &bb, NULL);
}

static void act_member_decide(struct gen *g, struct actor *a, const char *type, int unit)
{
	struct ml_hash m, ids[16];
	size_t n;
	bool numbered;
	if (!pick_member(g, a->home, unit, &m) ||
	    ml_query_member_pending(g->node[a->home], &m, ids, 16, &n, &numbered, NULL) != ML_OK ||
	    n == 0)
		return;
	if (n > 1 && rnd(3) == 0)
		n = 1 + rnd((uint32_t)n); /* approve an older part of the draft */
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_hash(&bb, "member", &m);
	ml_bb_bytes(&bb, "changes", ids, n * sizeof ids[0]);
	bool covers_create = false;
	for (size_t i = 0; i < n; i++)
		covers_create |= ml_hash_eq(&ids[i], &m);
	if (strcmp(type, "member_approve") == 0 && covers_create && !numbered) {
		char num[13];
		ml_number_format(5000000 + 1000 * (uint64_t)(a->unit) + a->next_serial++ % 900,
		                 num);
		ml_bb_cstr(&bb, "number", num);
	}
	if (strcmp(type, "member_reject") == 0)
		ml_bb_cstr(&bb, "reason", "thiếu ảnh 2x3");
	write_op(g, a->home, a->key, &g->units[unit], ML_LANE_REG, type, &bb, NULL);
}

static void act_member_simple(struct gen *g, struct actor *a, const char *type)
{
	struct ml_body_builder bb;
	if (!start_member_body(g, a, &bb))
		return;
	if (strcmp(type, "member_reduce") == 0) {
		ml_bb_cstr(&bb, "reason", "left_job");
		ml_bb_cstr(&bb, "date", "01/06/2024");
	} else if (strcmp(type, "member_card_request") == 0) {
		ml_bb_cstr(&bb, "card", rnd(2) ? "ordinary" : "linked");
	} else if (strcmp(type, "member_transfer") == 0) {
		int to = 3 + (int)rnd(3); /* another commune */
		if (to == a->unit) {
			ml_bb_release(&bb);
			return;
		}
		ml_bb_hash(&bb, "to", &g->units[to]);
	}
	write_op(g, a->home, a->key, &g->units[a->unit], ML_LANE_REG, type, &bb, NULL);
}

/* An unauthorised or malformed op, written past the author's checks. */
static void act_invalid(struct gen *g, struct actor *a)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	struct ml_buf body = ML_BUF_INIT;
	int kind = (int)rnd(3);
	int unit = (int)rnd((uint32_t)g->n_units);
	const char *type = "member_create";
	enum ml_lane lane = ML_LANE_REG;
	if (kind == 0) { /* a member in a unit outside the author's reach */
		ml_bb_cstr(&bb, "full_name", "Kẻ Giả Mạo");
		ml_bb_cstr(&bb, "id_number", "999999999");
		ml_bb_cstr(&bb, "union_join_date", "01/01/2020");
	} else if (kind == 1) { /* a grant by a non-admin */
		type = "grant";
		lane = ML_LANE_GOV;
		ml_bb_bytes(&bb, "device", a->key->pk.b, 32);
		ml_bb_cstr(&bb, "role", "admin");
	} else { /* a malformed body: a bad date */
		ml_bb_cstr(&bb, "full_name", "Ngày Sai");
		ml_bb_cstr(&bb, "id_number", "123456789");
		ml_bb_cstr(&bb, "union_join_date", "2020-01-01");
	}
	ml_bb_finish(&bb, &body);
	ml_bb_release(&bb);
	raw_write(g, a->home, a->key, &g->units[unit], lane, type, body.data, body.len);
	ml_buf_release(&body);
}

static void act_unit_change(struct gen *g, const struct ml_key *admin)
{
	int u = 3 + (int)rnd((uint32_t)(g->n_units - 3));
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	const char *type = "unit_update";
	if (rnd(6) == 0) {
		type = "unit_dissolve";
		ml_bb_cstr(&bb, "reason", "sáp xếp lại");
	} else {
		char name[64];
		snprintf(name, sizeof name, "CĐCS số %u", rnd(1000));
		ml_bb_cstr(&bb, "name", name);
	}
	write_op(g, 0, admin, &g->units[u], ML_LANE_GOV, type, &bb, NULL);
}

/* The root admin revokes actor r, with cuts at what node 0 has seen of it. */
static void act_revoke(struct gen *g, const struct ml_key *admin, struct actor *r)
{
	sqlite3 *db;
	char path[256];
	snprintf(path, sizeof path, "%s/n0.db", g->dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return;
	struct ml_buf cuts = ML_BUF_INIT;
	struct ml_writer w;
	ml_wr_init(&w, &cuts);
	sqlite3_stmt *st;
	uint64_t count = 0;
	struct ml_buf items = ML_BUF_INIT;
	struct ml_writer wi;
	ml_wr_init(&wi, &items);
	if (sqlite3_prepare_v2(db,
	                       "SELECT unit, lane, judged_seq FROM feeds WHERE author = ?1"
	                       " ORDER BY unit, lane",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, r->key->pk.b, 32, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW && count < 1024) {
			ml_wr_array(&wi, 3);
			ml_wr_bytes(&wi, sqlite3_column_blob(st, 0), 32);
			ml_wr_cstr(&wi, sqlite3_column_int(st, 1) ? "reg" : "gov");
			ml_wr_uint(&wi, (uint64_t)sqlite3_column_int64(st, 2));
			count++;
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	if (count) {
		ml_wr_array(&w, count);
		ml_wr_raw(&w, items.data, items.len);
		struct ml_body_builder bb;
		ml_bb_init(&bb);
		ml_bb_bytes(&bb, "device", r->key->pk.b, 32);
		ml_bb_raw(&bb, "cuts", cuts.data, cuts.len);
		write_op(g, 0, admin, &g->units[r->unit], ML_LANE_GOV, "revoke", &bb, NULL);
	}
	ml_buf_release(&cuts);
	ml_buf_release(&items);
}

/* --- one seed ------------------------------------------------------------------ */

static int collect(struct gen *g, struct ml_buf *all, size_t **ends, size_t *n)
{
	/* every distinct op any node holds */
	*n = 0;
	size_t cap = 0;
	*ends = NULL;
	sqlite3 *mem;
	sqlite3_open(":memory:", &mem);
	sqlite3_exec(mem, "CREATE TABLE seen (id BLOB PRIMARY KEY)", NULL, NULL, NULL);
	for (int i = 0; i < NODES; i++) {
		char path[256];
		snprintf(path, sizeof path, "%s/n%d.db", g->dir, i);
		sqlite3 *db;
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
			return -1;
		sqlite3_stmt *st, *ins;
		sqlite3_prepare_v2(mem, "INSERT OR IGNORE INTO seen (id) VALUES (?1)", -1, &ins,
		                   NULL);
		if (sqlite3_prepare_v2(
		        db,
		        "SELECT id, raw FROM ops UNION ALL SELECT id, raw FROM pending"
		        " UNION ALL SELECT id, raw FROM forks",
		        -1, &st, NULL) == SQLITE_OK) {
			while (sqlite3_step(st) == SQLITE_ROW) {
				sqlite3_reset(ins);
				sqlite3_bind_blob(ins, 1, sqlite3_column_blob(st, 0), 32,
				                  SQLITE_TRANSIENT);
				sqlite3_step(ins);
				if (sqlite3_changes(mem) == 0)
					continue;
				if (*n == cap) {
					cap = cap ? 2 * cap : 512;
					*ends = realloc(*ends, cap * sizeof **ends);
				}
				ml_buf_add(all, sqlite3_column_blob(st, 1),
				           (size_t)sqlite3_column_bytes(st, 1));
				(*ends)[(*n)++] = all->len;
			}
			sqlite3_finalize(st);
		}
		sqlite3_finalize(ins);
		sqlite3_close(db);
	}
	sqlite3_close(mem);
	return 0;
}

static void hex(const struct ml_hash *h, char out[17])
{
	ml_hex_encode(h->b, 8, out);
}

static int run_seed(uint64_t seed, int steps, bool verbose)
{
	struct gen g;
	memset(&g, 0, sizeof g);
	test_rng_seed(&rng, seed, 1);
	snprintf(g.dir, sizeof g.dir, "/tmp/ml-prop-XXXXXX");
	if (!mkdtemp(g.dir))
		return -1;
	g.now = 1763856000000ULL;
	for (int i = 0; i < NODES; i++) {
		char path[256];
		snprintf(path, sizeof path, "%s/n%d.db", g.dir, i);
		if (ml_store_open(path, ML_STORE_CREATE, &g.node[i], &g.err) != ML_OK)
			return -1;
	}
	/* Node 0 sets up the tree, the devices and the number ranges. */
	int root_admin = add_actor(&g, 1, 0, "admin", 0);
	struct ml_key *adm = g.actors[root_admin].key;
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "name", "Tổng Liên đoàn Lao động Việt Nam");
	ml_bb_cstr(&bb, "org", "trade_union");
	struct ml_hash zero = {{0}};
	write_op(&g, 0, adm, &zero, ML_LANE_GOV, "genesis", &bb, &g.units[0]);
	g.n_units = 1;
	g.parent[0] = -1;
	int province = add_unit(&g, 0, adm, 0, "LĐLĐ Hà Nội", "province");
	int d1 = add_unit(&g, 0, adm, province, "LĐLĐ quận Long Biên", "district");
	int c1 = add_unit(&g, 0, adm, d1, "CĐCS Phường Ngọc Lâm", "base_union");
	int c2 = add_unit(&g, 0, adm, d1, "CĐCS Phường Bồ Đề", "base_union");
	int c3 = add_unit(&g, 0, adm, d1, "CĐCS Phường Gia Thụy", "base_union");
	(void)c3;
	delegate(&g, 0, adm, 0, province, 5000000, 100000);
	delegate(&g, 0, adm, province, d1, 5000000, 10000);
	int o1 = add_actor(&g, 2, 1, "officer", c1);
	int o1b = add_actor(&g, 3, 2, "officer", c1);
	add_actor(&g, 4, 2, "officer", c2);
	int a1 = add_actor(&g, 5, 1, "approver", d1);
	int a1b = add_actor(&g, 6, 2, "approver", d1);
	int clone = add_actor(&g, 7, 1, "officer", c2);
	g.actors[clone].home2 = 2;
	int stray = add_actor(&g, 8, 2, "officer", c1); /* granted nothing */
	for (int i = o1; i <= clone; i++)
		grant(&g, 0, adm, g.actors[i].unit, g.actors[i].key, g.actors[i].role);
	g.actors[a1b].next_serial = 3; /* overlapping numbers: conflicts to record */
	sync_nodes(&g, 0, 1, 100);
	sync_nodes(&g, 0, 2, 100);
	bool revoked = false;

	for (int step = 0; step < steps; step++) {
		int r = (int)rnd(100);
		struct actor *a = &g.actors[1 + rnd((uint32_t)(g.n_actors - 1))];
		if (r < 22)
			act_member_create(&g, a);
		else if (r < 34)
			act_member_edit(&g, a);
		else if (r < 42)
			act_member_decide(&g, a, "member_submit", a->unit);
		else if (r < 56) /* approvers decide for the communes below them */
			act_member_decide(&g, &g.actors[rnd(2) ? a1 : a1b], "member_approve",
			                  c1 + (int)rnd(3));
		else if (r < 60)
			act_member_decide(&g, &g.actors[rnd(2) ? a1 : a1b], "member_reject",
			                  c1 + (int)rnd(3));
		else if (r < 63)
			act_member_simple(&g, a, "member_reduce");
		else if (r < 66)
			act_member_simple(&g, a, "member_transfer");
		else if (r < 68)
			act_member_simple(&g, a, "member_card_request");
		else if (r < 72)
			act_invalid(&g, rnd(2) ? a : &g.actors[stray]);
		else if (r < 74)
			act_unit_change(&g, adm);
		else if (r < 76 && !revoked && step > steps / 2) {
			act_revoke(&g, adm, &g.actors[o1b]);
			revoked = true;
		} else if (r < 80) {
			/* the cloned key writes on its second node: an equivocation */
			struct actor *c = &g.actors[clone];
			int home = c->home;
			c->home = c->home2;
			act_member_create(&g, c);
			c->home = home;
		} else {
			int from = (int)rnd(NODES), to = (int)rnd(NODES);
			if (from != to)
				sync_nodes(&g, from, to, 20 + (int)rnd(80));
		}
	}

	/* Every op any node holds, to three fresh replicas in random orders and batches. */
	struct ml_buf all = ML_BUF_INIT;
	size_t *ends = NULL, n = 0;
	collect(&g, &all, &ends, &n);
	const uint8_t **p = calloc(n ? n : 1, sizeof *p);
	size_t *lens = calloc(n ? n : 1, sizeof *lens);
	struct ml_hash hashes[REPLICAS + 1];
	int fail = 0;
	for (int r = 0; r < REPLICAS && !fail; r++) {
		for (size_t i = 0; i < n; i++) {
			p[i] = all.data + (i ? ends[i - 1] : 0);
			lens[i] = ends[i] - (i ? ends[i - 1] : 0);
		}
		for (size_t i = n; i > 1; i--) { /* shuffle */
			size_t k = rnd((uint32_t)i);
			const uint8_t *tp = p[i - 1];
			size_t tl = lens[i - 1];
			p[i - 1] = p[k];
			lens[i - 1] = lens[k];
			p[k] = tp;
			lens[k] = tl;
		}
		char path[256];
		snprintf(path, sizeof path, "%s/replica%d.db", g.dir, r);
		struct ml_store *rep;
		if (ml_store_open(path, ML_STORE_CREATE, &rep, &g.err) != ML_OK)
			return -1;
		for (int round = 0; round < 2; round++) {
			for (size_t i = 0; i < n;) {
				size_t k = 1 + rnd(r == 0 ? 1 : 60);
				if (k > n - i)
					k = n - i;
				struct ml_ingest_result res;
				ml_buf_reset(&g.err);
				int irc = ml_store_ingest(rep, p + i, lens + i, k, g.now + 86400000,
				                          &res, &g.err);
				if (irc != ML_OK) {
					fprintf(stderr, "seed %llu: replica %d ingest: %s: %s\n",
					        (unsigned long long)seed, r, ml_err_name(irc),
					        ml_buf_str(&g.err));
					fail = 1;
				}
				i += k;
			}
		}
		ml_store_state_hash(rep, &hashes[r], &g.err);
		if (r == 0) {
			if (getenv("ML_PROP_KEEP")) { /* keep the ingested state apart from the
				                         rebuild */
				ml_store_close(rep);
				char cmd[600];
				snprintf(cmd, sizeof cmd, "cp '%s' '%s/replica0-ingested.db'", path,
				         g.dir);
				if (system(cmd) != 0 ||
				    ml_store_open(path, 0, &rep, &g.err) != ML_OK)
					return -1;
			}
			ml_store_rebuild(rep, &g.err);
			ml_store_state_hash(rep, &hashes[REPLICAS], &g.err);
			struct ml_store_counts c;
			ml_store_counts(rep, &c, &g.err);
			if (verbose)
				printf(
				    "seed %llu: %zu ops (%llu applied, %llu rejected, %llu "
				    "waiting, "
				    "%llu pending), %llu members, %llu conflicts, %llu duplicates, "
				    "%llu forks; %ld writes, %ld refused by their author\n",
				    (unsigned long long)seed, n, (unsigned long long)c.applied,
				    (unsigned long long)c.rejected, (unsigned long long)c.waiting,
				    (unsigned long long)c.unverified, (unsigned long long)c.members,
				    (unsigned long long)c.conflicts,
				    (unsigned long long)c.duplicates, (unsigned long long)c.forks,
				    g.writes, g.refused);
		}
		ml_store_close(rep);
	}
	for (int r = 1; r <= REPLICAS && !fail; r++) {
		if (!ml_hash_eq(&hashes[0], &hashes[r])) {
			char a[17], b[17];
			hex(&hashes[0], a);
			hex(&hashes[r], b);
			fprintf(stderr, "seed %llu: %s %d has state hash %s..., replica 0 %s...\n",
			        (unsigned long long)seed, r == REPLICAS ? "rebuild" : "replica",
			        r == REPLICAS ? 0 : r, b, a);
			fail = 1;
		}
	}
	free(p);
	free(lens);
	free(ends);
	ml_buf_release(&all);
	for (int i = 0; i < NODES; i++)
		ml_store_close(g.node[i]);
	for (int i = 0; i < g.n_actors; i++)
		ml_key_free(g.actors[i].key);
	if (!getenv("ML_PROP_KEEP")) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", g.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", g.dir);
	} else {
		fprintf(stderr, "kept %s\n", g.dir);
	}
	ml_buf_release(&g.err);
	return fail;
}

int main(int argc, char **argv)
{
	uint64_t first = 1;
	int seeds = 20, steps = 150;
	bool verbose = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
			seeds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--first") == 0 && i + 1 < argc)
			first = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
			steps = atoi(argv[++i]);
		else if (strcmp(argv[i], "-v") == 0)
			verbose = true;
		else {
			fprintf(stderr,
			        "usage: prop_converge [--seeds N] [--first S] [--steps K] [-v]\n");
			return 2;
		}
	}
	ml_crypto_init();
	int failed = 0;
	for (int i = 0; i < seeds; i++) {
		if (run_seed(first + (uint64_t)i, steps, verbose)) {
			fprintf(stderr,
			        "FAILED: replay with: prop_converge --first %llu --seeds 1 -v\n",
			        (unsigned long long)(first + (uint64_t)i));
			failed++;
		}
	}
	printf("prop_converge: %d of %d seeds converged\n", seeds - failed, seeds);
	return failed != 0;
}
