/*
 * gen_log.c - a test tool around the realistic history generator.
 *
 *   gen_log write [--ops N] [--seed S] [--single] FILE
 *       writes a signed history (tests/common/gen.h) to FILE, ops
 *       concatenated as `memberlog ingest` reads them;
 *   gen_log check DB FILE COUNT
 *       checks a node's SQLite file after a crash: the database passes
 *       PRAGMA integrity_check, and each of the first COUNT ops of FILE is
 *       stored (as an authentic op, a candidate waiting for its signature,
 *       or fork evidence).  Prints what it found; exit 1 on any miss.
 */
#include "crdt/audit.h"
#include "crdt/err.h"
#include "crdt/types.h"
#include "tests/common/gen.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: gen_log write [--ops N] [--seed S] [--single] FILE\n"
	                "       gen_log check DB FILE COUNT\n");
	return 2;
}

static int cmd_write(int argc, char **argv)
{
	struct gen_params p = {.seed = 1, .target_ops = 10000};
	const char *path = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
			p.target_ops = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			p.seed = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--single") == 0)
			p.max_batch = 1;
		else if (!path && argv[i][0] != '-')
			path = argv[i];
		else
			return usage();
	}
	if (!path)
		return usage();
	struct gen_stats st;
	if (gen_write(&p, path, &st) != 0) {
		perror("gen_log: write");
		return 1;
	}
	printf("%zu ops in %zu batches, %zu members, %zu units\n", st.ops, st.batches, st.members,
	       st.units);
	return 0;
}

static char *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = size > 0 ? malloc((size_t)size) : NULL;
	if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*n = buf ? (size_t)size : 0;
	return buf;
}

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int cmd_check(const char *db_path, const char *log_path, size_t count)
{
	sqlite3 *db;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "gen_log: %s: %s\n", db_path, sqlite3_errmsg(db));
		return 1;
	}
	int bad = 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		fprintf(stderr, "gen_log: integrity_check failed: %s\n", sqlite3_errmsg(db));
		bad = 1;
	}
	sqlite3_finalize(st);
	size_t n = 0;
	char *log = read_all(log_path, &n);
	if (!log) {
		perror(log_path);
		sqlite3_close(db);
		return 1;
	}
	/* Every id the store holds, sorted: found by the whole id, not through the store's
	 * own index, which is part of what is being checked. */
	struct ml_hash *ids = NULL;
	size_t n_ids = 0, cap = 0;
	if (sqlite3_prepare_v2(db,
	                       "SELECT id FROM ops UNION ALL SELECT id FROM pending"
	                       " UNION ALL SELECT id FROM forks",
	                       -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "gen_log: %s\n", sqlite3_errmsg(db));
		free(log);
		sqlite3_close(db);
		return 1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != 32)
			continue;
		if (n_ids == cap) {
			cap = cap ? 2 * cap : 4096;
			struct ml_hash *v = realloc(ids, cap * sizeof *ids);
			if (!v) {
				fprintf(stderr, "gen_log: out of memory\n");
				bad = 1;
				break;
			}
			ids = v;
		}
		memcpy(ids[n_ids++].b, sqlite3_column_blob(st, 0), 32);
	}
	qsort(ids, n_ids, sizeof *ids, cmp_hash);
	size_t off = 0, seen = 0, present = 0;
	const uint8_t *p;
	size_t len;
	struct ml_buf err = ML_BUF_INIT;
	while (seen < count &&
	       ml_oplog_next((const uint8_t *)log, n, &off, &p, &len, &err) == ML_OK) {
		struct ml_hash id = ml_hash_of(p, len);
		if (bsearch(&id, ids, n_ids, sizeof *ids, cmp_hash))
			present++;
		else if (present == seen) /* name the first one missing */
			fprintf(stderr, "gen_log: op %zu of %s is not in the store\n", seen + 1,
			        log_path);
		seen++;
	}
	free(ids);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(log);
	ml_buf_release(&err);
	printf("%zu of the first %zu ops present; integrity %s\n", present, count,
	       bad ? "FAILED" : "ok");
	return bad || present != count || seen != count;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc >= 3 && strcmp(argv[1], "write") == 0)
		return cmd_write(argc - 2, argv + 2);
	if (argc == 5 && strcmp(argv[1], "check") == 0)
		return cmd_check(argv[2], argv[3], strtoull(argv[4], NULL, 10));
	return usage();
}
