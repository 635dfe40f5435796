/*
 * test_node_walbuf.c - the WAL-gathering VFS (node/walbuf.h) on real files,
 * read by connections of the default VFS as another process would read them,
 * and by processes that end without closing, as a killed node does.
 */
#include "test.h"

#include "node/walbuf.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

struct fx {
	char dir[64];
	char path[96];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	strcpy(fx->dir, "/tmp/ml-walbuf-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof fx->path, "%s/t.db", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char p[128];
	const char *ends[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s%s", fx->path, ends[i]);
		unlink(p);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* A connection as the store makes one: this VFS, WAL, synchronous=NORMAL, the checkpoint off
 * so the frames stay in the WAL to be read from it. */
static sqlite3 *open_gathering(const char *path)
{
	sqlite3 *db = NULL;
	assert_non_null(ml__walbuf_vfs());
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	                                 ml__walbuf_vfs()),
	                 SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
	                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	                 "PRAGMA wal_autocheckpoint=0;"
	                 "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB);",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	return db;
}

static long long query(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void assert_integrity(sqlite3 *db)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
}

/* Inserts rows [from, from + n), row k 700 - k % 7 bytes long, in one transaction; returns the
 * COMMIT's result, or the first failure before it. */
static int insert_rows(sqlite3 *db, long long from, long long n)
{
	char *sql = sqlite3_mprintf("WITH RECURSIVE r(k) AS (SELECT %lld UNION ALL SELECT k + 1"
	                            " FROM r WHERE k < %lld) INSERT INTO t SELECT k,"
	                            " zeroblob(700 - k %% 7) FROM r",
	                            from, from + n - 1);
	int rc = sql ? sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) : SQLITE_NOMEM;
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	rc = rc == SQLITE_OK ? sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) : rc;
	sqlite3_free(sql);
	return rc;
}

/* The sum of the rows' lengths for keys [1, n]. */
static long long expected_bytes(long long n)
{
	long long sum = 0;
	for (long long k = 1; k <= n; k++)
		sum += 700 - k % 7;
	return sum;
}

/*
 * Each commit is in the file when COMMIT returns: a connection of the default
 * VFS, with its own file descriptors, reads every row of every transaction at
 * once, large or small.  It would read missing frames otherwise.  And the
 * writes were gathered: far fewer reached the file than SQLite made.
 */
static void test_walbuf_commit_is_in_the_file_when_it_returns(void **state)
{
	struct fx *fx = *state;
	sqlite3 *w = open_gathering(fx->path), *r;
	assert_int_equal(sqlite3_open_v2(fx->path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	struct ml_walbuf_counts before, after;
	ml__walbuf_counts(&before);
	long long n = 0;
	for (int i = 1; i <= 40; i++) {
		long long add = i % 5 == 0 ? 900 : i;
		assert_int_equal(insert_rows(w, n + 1, add), SQLITE_OK);
		n += add;
		assert_int_equal(query(r, "SELECT count(*) FROM t"), n);
		assert_int_equal(query(r, "SELECT sum(length(v)) FROM t"), expected_bytes(n));
		assert_int_equal(query(r, "SELECT count(*) FROM t WHERE length(v) != 700 - k % 7"),
		                 0);
	}
	ml__walbuf_counts(&after);
	unsigned long long asked = after.writes - before.writes,
	                   made = after.written - before.written;
	print_message("%llu WAL writes asked for, %llu made\n", asked, made);
	assert_true(asked > 1000);
	assert_true(made * 10 < asked);
	assert_integrity(r);
	sqlite3_close(r);
	sqlite3_close(w);
}

/* Runs body in a child process that ends with _exit, without closing anything, as a node killed
 * after the commit; returns what the child wrote to the pipe (a number). */
static long long in_child(void (*body)(const char *path, int out), const char *path)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		body(path, p[1]);
		_exit(0);
	}
	close(p[1]);
	long long v = -1;
	char buf[64] = {0};
	ssize_t got = read(p[0], buf, sizeof buf - 1);
	close(p[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (got > 0)
		v = atoll(buf);
	return v;
}

static void say(int out, long long v)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%lld", v);
	if (write(out, buf, (size_t)n) != n)
		_exit(1);
}

/* One transaction larger than a 10-page cache: SQLite writes pages to the WAL before the commit
 * and again in place, then rewrites the frames' checksums at commit. */
static void spilled_transaction(const char *path, int out)
{
	sqlite3 *db = open_gathering(path);
	struct ml_walbuf_counts before, after;
	ml__walbuf_counts(&before);
	if (sqlite3_exec(db, "PRAGMA cache_size=10", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(
	        db,
	        "WITH RECURSIVE r(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM r WHERE k < 3000)"
	        " INSERT INTO t SELECT k, zeroblob(700 - k % 7) FROM r;"
	        "UPDATE t SET v = randomblob(length(v)) WHERE k % 3 = 0;",
	        NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		_exit(2);
	ml__walbuf_counts(&after);
	say(out, (long long)(after.through - before.through)); /* then ends, closing nothing */
}

/*
 * A transaction that spilled pages, rewritten in place and re-checksummed at
 * commit, is whole after its process ends without closing, even when the
 * WAL must be recovered from the file alone (its checksums checked frame by
 * frame): the rewritten headers went to the file, not only to the buffer.
 */
static void test_walbuf_spilled_transaction_survives_its_process(void **state)
{
	struct fx *fx = *state;
	sqlite3 *db = open_gathering(fx->path);
	sqlite3_close(db);
	long long through = in_child(spilled_transaction, fx->path);
	print_message("%lld writes not gathered (pages and headers written again)\n", through);
	assert_true(through > 0);
	char shm[128];
	snprintf(shm, sizeof shm, "%s-shm", fx->path);
	assert_int_equal(unlink(shm), 0); /* recovery reads the WAL and checks every checksum */
	assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(query(db, "SELECT count(*) FROM t"), 3000);
	assert_int_equal(query(db, "SELECT sum(length(v)) FROM t"), expected_bytes(3000));
	assert_integrity(db);
	sqlite3_close(db);
}

/* 50 rows committed; then, with files limited to 256 KiB, 3,000 more in one transaction. */
static void commit_past_file_limit(const char *path, int out)
{
	sqlite3 *db = open_gathering(path);
	/* A cache that holds the whole transaction: nothing is written before the COMMIT. */
	if (sqlite3_exec(db, "PRAGMA cache_size=-65536", NULL, NULL, NULL) != SQLITE_OK ||
	    insert_rows(db, 1, 50) != SQLITE_OK)
		_exit(2);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit lim = {256 * 1024, 256 * 1024};
	if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
		_exit(3);
	say(out, insert_rows(db, 51, 3000));
}

/*
 * A write that fails while the buffer is written out fails the COMMIT that
 * made it, as a failed write of SQLite's own would; the transaction is not
 * in the file and what was committed before is whole.
 */
static void test_walbuf_failed_write_fails_the_commit(void **state)
{
	struct fx *fx = *state;
	long long rc = in_child(commit_past_file_limit, fx->path);
	print_message("COMMIT past the limit: %s\n", sqlite3_errstr((int)rc));
	assert_int_not_equal(rc, SQLITE_OK);
	assert_int_not_equal(rc, -1);
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(query(db, "SELECT count(*) FROM t"), 50);
	assert_int_equal(query(db, "SELECT sum(length(v)) FROM t"), expected_bytes(50));
	assert_integrity(db);
	sqlite3_close(db);
}

/* Rolls back a transaction of a that spilled pages (in locking_mode=EXCLUSIVE when asked, where
 * SQLite makes no shared-memory lock calls), then b commits twice at the same offsets of the WAL
 * and a reads; b's commits must be whole. */
static void roll_back_then_commit_elsewhere(const char *path, bool exclusive)
{
	sqlite3 *a = open_gathering(path), *b;
	assert_int_equal(insert_rows(a, 1, 1), SQLITE_OK);
	assert_int_equal(sqlite3_exec(a, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
	                 SQLITE_OK);
	if (exclusive)
		assert_int_equal(sqlite3_exec(a, "PRAGMA locking_mode=EXCLUSIVE", NULL, NULL, NULL),
		                 SQLITE_OK);
	assert_int_equal(sqlite3_exec(a,
	                              "PRAGMA cache_size=5; BEGIN;"
	                              "WITH RECURSIVE r(k) AS (SELECT 100 UNION ALL SELECT k + 1"
	                              " FROM r WHERE k < 160) INSERT INTO t SELECT k,"
	                              " zeroblob(700 - k % 7) FROM r; ROLLBACK",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	if (exclusive) { /* the lock goes with the next read */
		assert_int_equal(sqlite3_exec(a, "PRAGMA locking_mode=NORMAL", NULL, NULL, NULL),
		                 SQLITE_OK);
		assert_int_equal(query(a, "SELECT count(*) FROM t"), 1);
	}
	assert_int_equal(sqlite3_open_v2(path, &b, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(b, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(insert_rows(b, 1000, 41), SQLITE_OK);
	assert_int_equal(sqlite3_exec(b, "UPDATE t SET v = zeroblob(length(v)) WHERE k % 2 = 0",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(query(a, "SELECT count(*) FROM t"), 42); /* a reads from the WAL */
	sqlite3_close(a);
	assert_int_equal(query(b, "SELECT count(*) FROM t"), 42);
	assert_int_equal(query(b, "SELECT count(*) FROM t WHERE k >= 100 AND k <= 160"), 0);
	assert_integrity(b);
	sqlite3_close(b);
}

/*
 * A transaction that spilled pages and rolled back leaves frames that were
 * never committed; another connection then commits at the same offsets of
 * the WAL.  This connection's next read must not write the dropped frames
 * over the other's commit.
 */
static void test_walbuf_rolled_back_frames_never_reach_the_file(void **state)
{
	struct fx *fx = *state;
	roll_back_then_commit_elsewhere(fx->path, false);
}

/* The same in locking_mode=EXCLUSIVE, which never releases the WAL write lock through shared
 * memory: nothing is gathered while the database file is locked exclusively. */
static void test_walbuf_rolled_back_frames_never_reach_the_file_in_exclusive_mode(void **state)
{
	struct fx *fx = *state;
	roll_back_then_commit_elsewhere(fx->path, true);
}

static int fail_pwrites;
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);

static ssize_t failing_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fail_pwrites) {
		errno = ENOSPC;
		return -1;
	}
	return real_pwrite(fd, buf, n, off);
}

/* Spills frames, then makes every write fail (the disk full for a moment) while a statement
 * reads back pages the spill wrote; then writes succeed again, one more statement runs and the
 * transaction is asked to commit.  Says 10 * (that statement failed) + (the COMMIT succeeded). */
static void failure_surfacing_on_a_read(const char *path, int out)
{
	sqlite3_vfs *unix_vfs = sqlite3_vfs_find("unix");
	const char *call = unix_vfs->xGetSystemCall(unix_vfs, "pwrite64") ? "pwrite64" : "pwrite";
	real_pwrite =
	    (ssize_t(*)(int, const void *, size_t, off_t))unix_vfs->xGetSystemCall(unix_vfs, call);
	if (unix_vfs->xSetSystemCall(unix_vfs, call, (sqlite3_syscall_ptr)failing_pwrite))
		_exit(3);
	sqlite3 *db = open_gathering(path);
	if (sqlite3_exec(db,
	                 "CREATE TABLE u (k INTEGER PRIMARY KEY, v BLOB, name TEXT UNIQUE);"
	                 "PRAGMA cache_size=10; BEGIN;"
	                 "WITH RECURSIVE r(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM r"
	                 " WHERE k < 200) INSERT INTO u SELECT k, zeroblob(700), 'n' || k FROM r;",
	                 NULL, NULL, NULL) != SQLITE_OK)
		_exit(2);
	fail_pwrites = 1;
	int failed = sqlite3_exec(db, "INSERT INTO u SELECT k + 1000, v, name || 'x' FROM u", NULL,
	                          NULL, NULL) != SQLITE_OK;
	fail_pwrites = 0;
	sqlite3_exec(db, "INSERT INTO t VALUES (1, zeroblob(10))", NULL, NULL, NULL);
	say(out, 10 * failed + (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK));
}

/*
 * A write-out that fails on a call other than a write (a read of a spilled
 * page) fails everything after it until the transaction ends, which rolls
 * the whole transaction back, as a failed spill does with the default VFS:
 * it cannot commit over frames that never reached the file.  The statement
 * after it runs on its own.
 */
static void test_walbuf_failed_write_out_fails_the_transaction(void **state)
{
	struct fx *fx = *state;
	sqlite3 *db = open_gathering(fx->path);
	sqlite3_close(db);
	assert_int_equal(in_child(failure_surfacing_on_a_read, fx->path), 10);
	assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(query(db, "SELECT count(*) FROM u"), 0);
	assert_int_equal(query(db, "SELECT count(*) FROM t"), 1);
	assert_integrity(db);
	sqlite3_close(db);
}

/* Commits one row at a time with synchronous=FULL on a file without powersafe overwrite, so
 * SQLite pads each commit to a sector with copies of its last frame, splitting the write that
 * crosses the boundary.  After each, another connection reads every row. */
static void test_walbuf_padded_commits_are_in_the_file(void **state)
{
	struct fx *fx = *state;
	char uri[160];
	snprintf(uri, sizeof uri, "file:%s?psow=0", fx->path);
	sqlite3 *w, *r;
	assert_int_equal(
	    sqlite3_open_v2(uri, &w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
	                    ml__walbuf_vfs()),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(w,
	                              "PRAGMA page_size=1024; PRAGMA journal_mode=WAL;"
	                              "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;"
	                              "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB);",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_open_v2(fx->path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (int i = 1; i <= 400; i++) {
		char sql[96];
		snprintf(sql, sizeof sql, "INSERT INTO t VALUES (%d, zeroblob(%d))", i,
		         50 + i % 300);
		assert_int_equal(sqlite3_exec(w, sql, NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(query(r, "SELECT count(*) FROM t"), i);
	}
	assert_integrity(r);
	sqlite3_close(r);
	sqlite3_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_walbuf_commit_is_in_the_file_when_it_returns,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_walbuf_spilled_transaction_survives_its_process,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_walbuf_failed_write_fails_the_commit, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_walbuf_rolled_back_frames_never_reach_the_file,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_walbuf_rolled_back_frames_never_reach_the_file_in_exclusive_mode, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_walbuf_failed_write_out_fails_the_transaction,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_walbuf_padded_commits_are_in_the_file, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
