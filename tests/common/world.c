/*
 * world.c - real networks for tests (see world.h).
 */
#include "world.h"

#include "crdt/body.h"
#include "crdt/err.h"
#include "crdt/feed.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int w_open(struct world *w)
{
	memset(w, 0, sizeof *w);
	snprintf(w->dir, sizeof w->dir, "/tmp/ml-world-XXXXXX");
	if (!mkdtemp(w->dir))
		return ML_EIO;
	w->now = 1763856000000ULL; /* 2025-11-23 */
	char path[256];
	snprintf(path, sizeof path, "%s/node.db", w->dir);
	return ml_store_open(path, ML_STORE_CREATE, &w->s, &w->err);
}

int w_open_node(struct world *w, const char *name, struct ml_store **out)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s.db", w->dir, name);
	return ml_store_open(path, ML_STORE_CREATE, out, &w->err);
}

void w_close(struct world *w)
{
	ml_store_close(w->s);
	w->s = NULL;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
	if (w->dir[0] && system(cmd) != 0)
		fprintf(stderr, "world: could not remove %s\n", w->dir);
	ml_buf_release(&w->err);
	ml_buf_release(&w->log);
}

struct ml_key *w_key(uint8_t seed)
{
	uint8_t s[32];
	memset(s, seed, sizeof s);
	struct ml_key *k = NULL;
	ml_key_from_seed(s, &k);
	return k;
}

int w_write(struct world *w, const struct ml_key *key, const struct ml_hash *unit,
            enum ml_lane lane, const char *type, const struct ml_buf *body, struct ml_hash *out)
{
	struct ml_draft d = {type, body->data, body->len};
	struct ml_hash id;
	w->now += 1000;
	size_t before = w->log.len;
	int rc = ml_author_write(w->s, key, unit, lane, &d, 1, w->now, &id, &w->log, &w->err);
	if (rc == ML_OK) {
		w->n_log++;
		if (out)
			*out = id;
	} else {
		w->log.len = before;
	}
	return rc;
}

static int finish(struct world *w, struct ml_body_builder *bb, const struct ml_key *key,
                  const struct ml_hash *unit, enum ml_lane lane, const char *type,
                  struct ml_hash *out)
{
	struct ml_buf body = ML_BUF_INIT;
	int rc = ml_bb_finish(bb, &body);
	ml_bb_release(bb);
	if (rc == ML_OK)
		rc = w_write(w, key, unit, lane, type, &body, out);
	ml_buf_release(&body);
	return rc;
}

int w_genesis(struct world *w, const struct ml_key *admin, const char *name, enum ml_org org)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "name", name);
	ml_bb_cstr(&bb, "org", org == ML_ORG_YOUTH_UNION ? "youth_union" : "trade_union");
	struct ml_hash zero = {{0}};
	int rc = finish(w, &bb, admin, &zero, ML_LANE_GOV, "genesis", &w->net);
	return rc;
}

int w_unit(struct world *w, const struct ml_key *admin, const struct ml_hash *parent,
           const char *name, const char *level, struct ml_hash *out)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "name", name);
	ml_bb_cstr(&bb, "level", level);
	return finish(w, &bb, admin, parent, ML_LANE_GOV, "unit_create", out);
}

int w_grant(struct world *w, const struct ml_key *admin, const struct ml_hash *unit,
            const struct ml_pubkey *device, const char *role)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_bytes(&bb, "device", device->b, 32);
	ml_bb_cstr(&bb, "role", role);
	return finish(w, &bb, admin, unit, ML_LANE_GOV, "grant", NULL);
}

int w_delegate(struct world *w, const struct ml_key *admin, const struct ml_hash *from,
               const struct ml_hash *to, uint64_t start, uint64_t count)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_hash(&bb, "to", to);
	ml_bb_uint(&bb, "start", start);
	ml_bb_uint(&bb, "count", count);
	return finish(w, &bb, admin, from, ML_LANE_GOV, "numbers_delegate", NULL);
}

int w_member(struct world *w, const struct ml_key *officer, const struct ml_hash *unit,
             const char *name, const char *id_number, struct ml_hash *out)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_cstr(&bb, "full_name", name);
	ml_bb_cstr(&bb, "id_number", id_number);
	ml_bb_cstr(&bb, "union_join_date", "11/02/2012");
	return finish(w, &bb, officer, unit, ML_LANE_REG, "member_create", out);
}

int w_edit(struct world *w, const struct ml_key *officer, const struct ml_hash *unit,
           const struct ml_hash *member, const char *field, const char *value, struct ml_hash *out)
{
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_hash(&bb, "member", member);
	ml_bb_cstr(&bb, field, value);
	return finish(w, &bb, officer, unit, ML_LANE_REG, "member_update", out);
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

int w_decide(struct world *w, const struct ml_key *key, const struct ml_hash *unit,
             const char *type, const struct ml_hash *member, const struct ml_hash *changes,
             size_t n, const char *number_or_reason, struct ml_hash *out)
{
	struct ml_hash *sorted = calloc(n ? n : 1, sizeof *sorted);
	memcpy(sorted, changes, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, cmp32);
	struct ml_body_builder bb;
	ml_bb_init(&bb);
	ml_bb_hash(&bb, "member", member);
	ml_bb_bytes(&bb, "changes", sorted, n * sizeof *sorted);
	if (number_or_reason)
		ml_bb_cstr(&bb, strcmp(type, "member_reject") == 0 ? "reason" : "number",
		           number_or_reason);
	free(sorted);
	return finish(w, &bb, key, unit, ML_LANE_REG, type, out);
}

int w_member_text(struct world *w, const struct ml_hash *member, const char *column, char *out,
                  size_t cap)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT %s FROM members WHERE id = ?1", column);
	sqlite3 *db;
	char path[256];
	snprintf(path, sizeof path, "%s/node.db", w->dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return ML_ESTORE;
	sqlite3_stmt *st;
	int rc = ML_ENOTFOUND;
	out[0] = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, member->b, 32, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(st, 0);
			snprintf(out, cap, "%s", t ? (const char *)t : "");
			rc = ML_OK;
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return rc;
}

long w_count(struct world *w, const char *sql)
{
	sqlite3 *db;
	char path[256];
	snprintf(path, sizeof path, "%s/node.db", w->dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	sqlite3_stmt *st;
	long n = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* The recorded head of feed (author, unit, lane) at db, or an empty head. */
static void feed_head(sqlite3 *db, struct ml_feed_head *head)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
	                       "SELECT auth_seq, auth_id, auth_ms, auth_c FROM feeds"
	                       " WHERE author = ?1 AND unit = ?2 AND lane = ?3",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_blob(st, 1, head->feed.author.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, head->feed.unit.b, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, head->feed.lane);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0) {
		head->seq = (uint64_t)sqlite3_column_int64(st, 0);
		memcpy(head->id.b, sqlite3_column_blob(st, 1), 32);
		head->hlc.ms = (uint64_t)sqlite3_column_int64(st, 2);
		head->hlc.c = (uint32_t)sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
}

/* Every judged feed head at db but head's own feed, ascending; returns how many. */
static size_t other_heads(sqlite3 *db, const struct ml_feed_head *head, struct ml_hash *deps,
                          size_t max)
{
	sqlite3_stmt *st;
	size_t n = 0;
	if (sqlite3_prepare_v2(db,
	                       "SELECT o.id FROM feeds f JOIN ops o ON o.key = (f.id << 32) + "
	                       "f.judged_seq WHERE f.judged_seq > 0 AND NOT (f.author = ?1 AND "
	                       "f.unit = ?2 AND f.lane = ?3) ORDER BY o.id",
	                       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_blob(st, 1, head->feed.author.b, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, head->feed.unit.b, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, head->feed.lane);
	while (sqlite3_step(st) == SQLITE_ROW && n < max)
		memcpy(deps[n++].b, sqlite3_column_blob(st, 0), 32);
	sqlite3_finalize(st);
	return n;
}

int w_forge_at(const char *db_path, const struct ml_hash *net, const struct ml_key *key,
               const struct ml_hash *unit, enum ml_lane lane, const char *type, const uint8_t *body,
               size_t body_len, uint64_t now_ms, struct ml_buf *out)
{
	struct ml_feed_head head = {.feed = {.author = key->pk, .unit = *unit, .lane = lane}};
	static struct ml_hash deps[ML_OP_MAX_DEPS];
	size_t nd = 0;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		feed_head(db, &head);
		nd = other_heads(db, &head, deps, ML_OP_MAX_DEPS);
	}
	sqlite3_close(db);
	struct ml_op op = {
	    .has_net = true, .net = *net, .deps = nd ? deps[0].b : NULL, .ndeps = nd};
	snprintf(op.type, sizeof op.type, "%s", type);
	op.body = body;
	op.body_len = body_len;
	struct ml_hlc clock = head.hlc;
	return ml_feed_write_batch(&head, key, &clock, now_ms, &op, 1, out, NULL, NULL);
}

int w_forge(struct world *w, const struct ml_key *key, const struct ml_hash *unit,
            enum ml_lane lane, const char *type, const struct ml_buf *body, struct ml_buf *out)
{
	char path[256];
	snprintf(path, sizeof path, "%s/node.db", w->dir);
	w->now += 1000;
	return w_forge_at(path, &w->net, key, unit, lane, type, body->data, body->len, w->now, out);
}
