/*
 * bench_sync.c - the node on the network, measured with real `memberlog`
 * processes over loopback TCP, as ratios to limits measured in the same run:
 *
 *   (v) raw single-core crypto_sign_verify_detached on 300-byte messages;
 *   (i) `memberlog ingest` of the same ops from a file on the same disk
 *       (256 per transaction): what storing and judging them costs without
 *       a network;
 *   (r) the loopback TCP round trip between two processes (1-byte ping-pong).
 *
 * (a) Initial sync.  The realistic history of bench_ingest (tests/common/gen.c,
 *     written by a child) is ingested into a source node whose device is the
 *     generator's root admin; a destination node joins the network (empty
 *     store) and the admin grants its fresh device `auditor` at the national
 *     unit, so its scope is everything.  `memberlog serve` runs on the source
 *     and `memberlog --json sync` on the destination: ops/s, and the bytes on
 *     the wire both ways (the sync's own counters) over the ops' own bytes;
 *     also ops received more than once and the rounds the serve logged.
 * (b) One new op (a grant written by the source's admin) in a store of N ops
 *     both sides share: the sync's bytes both ways, and the round trips until
 *     the destination holds it.  RECON frames are counted by replaying the
 *     exchange in this process with net/recon.h over the item sets each
 *     daemon computes (ml_scope_of_device + ml_replica_heads of each store),
 *     and checked against the wire: handshake + RECON + OPS + SYNCED frames
 *     must add up to the sync's byte counters exactly.
 * (c) Live push.  A district (the generator's approver of district 1), one
 *     of its communes (the officer of its first base unit) and its province
 *     (a fresh device granted admin there) each import the bundle the source
 *     exports for them (their scope), then serve; the commune and the
 *     province dial the district.  The commune enters and submits members;
 *     the district approves them one by one with `memberlog member approve`
 *     while this process polls both stores (read-only SQLite) every 0.25 ms.
 *     Latency: from the approval op's own timestamp (wall clock, ms, taken
 *     when it was signed) until both stores hold the member's number.
 *
 * Usage: bench_sync [--ops N] [--approvals K] [--memberlog PATH] [--dir DIR] [--keep]
 *   --ops N        about N ops in the history (default 1,000,000)
 *   --approvals K  approvals timed in (c) (default 20)
 *   --memberlog    the binary (default: $MEMBERLOG, else ../../cli/memberlog beside this one)
 */
#include "bench_limits.h"
#include "crdt/audit.h"
#include "crdt/err.h"
#include "crdt/op.h"
#include "net/recon.h"
#include "node/keyfile.h"
#include "node/replica.h"
#include "node/scope.h"
#include "node/store.h"
#include "tests/common/gen.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FRAME_OVERHEAD 22 /* u32 length, 17-byte secretstream tag, type byte */
#define HANDSHAKE_SIDE (69 + 24 + (FRAME_OVERHEAD + 97) + FRAME_OVERHEAD) /* HELLO..ACCEPT */

static const char *memberlog;
static char dir[PATH_MAX - 64];
static pid_t serves[8];
static size_t n_serves;

/* Wall clock in milliseconds since the epoch, as ops are stamped (ml_now_ms), with fractions. */
static double wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench_sync: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (logs in %s)\n", dir);
	va_end(ap);
	exit(1);
}

/* The loopback limit: median round trip of a 1-byte ping-pong between two processes over TCP. */
static double loopback_rtt_us(void)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) != 0)
		fail("loopback socket: %s", strerror(errno));
	enum { ROUNDS = 5000 };
	pid_t pid = fork();
	if (pid == 0) {
		int c = accept(ls, NULL, NULL);
		char b;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		while (read(c, &b, 1) == 1 && write(c, &b, 1) == 1)
			;
		_exit(0);
	}
	close(ls);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&sa, sizeof sa) != 0)
		fail("loopback connect: %s", strerror(errno));
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	static double t[ROUNDS];
	char b = 'x';
	for (int i = 0; i < ROUNDS; i++) {
		double t0 = bench_now_s();
		if (write(c, &b, 1) != 1 || read(c, &b, 1) != 1)
			fail("loopback ping-pong failed");
		t[i] = bench_now_s() - t0;
	}
	close(c);
	waitpid(pid, NULL, 0);
	qsort(t, ROUNDS, sizeof t[0], cmp_double);
	return t[ROUNDS / 2] * 1e6;
}

/* --- running memberlog ------------------------------------------------------ */

/* Starts `memberlog --home DIR/home args...`; stdout to *out_fd (a pipe) or /dev/null, stderr
 * appended to DIR/log. */
static pid_t spawn(const char *home, const char *log, int *out_fd, const char *const *args)
{
	const char *argv[40];
	char h[PATH_MAX], lp[PATH_MAX];
	size_t k = 0;
	snprintf(h, sizeof h, "%s/%s", dir, home);
	snprintf(lp, sizeof lp, "%s/%s", dir, log);
	argv[k++] = memberlog;
	argv[k++] = "--home";
	argv[k++] = h;
	for (size_t i = 0; args[i] && k < 39; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	int pfd[2] = {-1, -1};
	if (out_fd && pipe(pfd) != 0)
		fail("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int out = out_fd ? pfd[1] : open("/dev/null", O_WRONLY);
		int err = open(lp, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(out, 1);
		dup2(err, 2);
		if (out_fd)
			close(pfd[0]);
		execv(memberlog, (char *const *)argv);
		_exit(127);
	}
	if (out_fd) {
		close(pfd[1]);
		*out_fd = pfd[0];
	}
	return pid;
}

static void read_all(int fd, struct ml_buf *out)
{
	char b[4096];
	ssize_t n;
	while ((n = read(fd, b, sizeof b)) > 0)
		ml_buf_add(out, b, (size_t)n);
	close(fd);
	ml_buf_add(out, "", 1);
	out->len--;
}

/*
 * Runs memberlog on home with the NULL-terminated arguments and waits; stdout into out (may be
 * NULL), stderr appended to DIR/cli.log.  Returns the exit status; *wall and *cpu (optional) get
 * the command's wall time and CPU time (user + system), in seconds.
 */
static int run_timed(const char *home, struct ml_buf *out, double *wall, double *cpu,
                     const char *const *args)
{
	int fd = -1;
	double t = bench_now_s();
	pid_t pid = spawn(home, "cli.log", out ? &fd : NULL, args);
	if (out) {
		ml_buf_reset(out);
		read_all(fd, out);
	}
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0)
		fail("wait: %s", strerror(errno));
	if (wall)
		*wall = bench_now_s() - t;
	if (cpu)
		*cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define ML(home, out, ...) \
	run_timed(home, out, NULL, NULL, (const char *const[]){__VA_ARGS__, NULL})

/* Like ML, but a failure ends the benchmark. */
#define MUST(home, out, ...)                                           \
	do {                                                           \
		if (ML(home, out, __VA_ARGS__) != 0)                   \
			fail("'memberlog --home %s %s' failed", home,  \
			     ((const char *const[]){__VA_ARGS__})[0]); \
	} while (0)

/* The value of "key" in JSON text (a string or a number), copied into out. */
static const char *json_get(const char *json, const char *key, char *out, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(json, pat);
	out[0] = 0;
	if (!p)
		return out;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	bool str = *p == '"';
	p += str;
	size_t n = str ? strcspn(p, "\"") : strcspn(p, ",\n}");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = 0;
	return out;
}

static unsigned long long json_u64(const char *json, const char *key)
{
	char v[32];
	return strtoull(json_get(json, key, v, sizeof v), NULL, 10);
}

/* CPU seconds (user + system) used so far by a running child. */
static double proc_cpu_s(pid_t pid)
{
	char path[64], text[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = 0;
	const char *p = strrchr(text, ')');
	unsigned long long ut = 0, st = 0;
	/* after the name: state and 10 fields, then utime and stime */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The round in which home's daemon last logged a peer as synced (0: none). */
static int synced_round(const char *home)
{
	char path[PATH_MAX], line[512];
	snprintf(path, sizeof path, "%s/%s.log", dir, home);
	FILE *f = fopen(path, "r");
	int round = 0;
	const char *p;
	while (f && fgets(line, sizeof line, f))
		if ((p = strstr(line, " synced: round ")))
			round = atoi(p + 15);
	if (f)
		fclose(f);
	return round;
}

static void stop_serve(pid_t pid)
{
	kill(pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			goto gone;
		sleep_us(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
gone:
	for (size_t i = 0; i < n_serves; i++)
		if (serves[i] == pid)
			serves[i] = 0;
}

static void stop_all(void)
{
	for (size_t i = 0; i < n_serves; i++)
		if (serves[i] > 0)
			stop_serve(serves[i]);
}

/* Starts `memberlog serve` on home, on a free loopback port, dialling peer (may be NULL); the
 * address it listens on goes to addr. */
static pid_t serve(const char *home, const char *peer, char addr[96])
{
	char log[64];
	snprintf(log, sizeof log, "%s.log", home);
	const char *args[] = {
	    "serve", "--listen", "127.0.0.1:0", "--no-mdns", peer ? "--peer" : NULL, peer, NULL};
	pid_t pid = spawn(home, log, NULL, args);
	serves[n_serves++] = pid;
	struct ml_buf out = ML_BUF_INIT;
	for (int i = 0; i < 6000; i++) {
		if (ML(home, &out, "peers") == 0 &&
		    sscanf((const char *)out.data, "node listening %95s", addr) == 1) {
			ml_buf_release(&out);
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		sleep_us(10000);
	}
	fail("'memberlog serve' on %s did not start", home);
}

/* --- homes, keys, stores ---------------------------------------------------- */

/* Creates DIR/name with the device key of a seed, as the generator derives its devices' keys. */
static void make_home(const char *name, uint32_t seed, struct ml_pubkey *pk, char hex[65])
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	mkdir(path, 0700);
	uint8_t s[32] = {0};
	memcpy(s, &seed, 4);
	s[31] = 0x5a;
	struct ml_key *k;
	struct ml_buf err = ML_BUF_INIT;
	snprintf(path, sizeof path, "%s/%s/device.key", dir, name);
	if (ml_key_from_seed(s, &k) != ML_OK || ml_keyfile_create(path, k, &err) != ML_OK)
		fail("%s: %s", path, ml_buf_str(&err));
	*pk = k->pk;
	ml_hex_encode(pk->b, 32, hex);
	ml_key_free(k);
}

static sqlite3 *open_ro(const char *home)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s/memberlog.db", dir, home);
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		fail("%s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* Runs sql with ?1 bound to text (may be NULL) and copies the first row's two columns. */
static bool query2(sqlite3 *db, const char *sql, const char *text, sqlite3_int64 *a,
                   sqlite3_int64 *b, uint8_t blob[32])
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail("%s: %s", sql, sqlite3_errmsg(db));
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	bool row = sqlite3_step(st) == SQLITE_ROW;
	if (row && blob && sqlite3_column_bytes(st, 0) == 32)
		memcpy(blob, sqlite3_column_blob(st, 0), 32);
	if (row && a && !blob)
		*a = sqlite3_column_int64(st, 0);
	if (row && b)
		*b = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	return row;
}

/* The ops a store holds and their bytes. */
static void op_totals(const char *home, sqlite3_int64 *n, sqlite3_int64 *bytes)
{
	sqlite3 *db = open_ro(home);
	query2(db, "SELECT count(*), sum(length(raw)) FROM ops", NULL, n, bytes, NULL);
	sqlite3_close(db);
}

/* --- (b): the reconciliation replayed over the two daemons' item sets --------- */

struct side {
	struct ml_store *s;
	struct ml_replica_feed *heads;
	size_t n;
	struct ml_recon_item *items;
	struct ml_recon *r;
};

/* What home's daemon offers a peer with device `peer`, as peer.c computes it for a round. */
static void side_open(const char *home, const struct ml_pubkey *peer, struct side *sd)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s/memberlog.db", dir, home);
	struct ml_buf err = ML_BUF_INIT;
	struct ml_scope_set *sc = NULL;
	memset(sd, 0, sizeof *sd);
	if (ml_store_open(path, 0, &sd->s, &err) != ML_OK ||
	    ml_scope_of_device(sd->s, peer, &sc, &err) != ML_OK ||
	    ml_replica_heads(sd->s, sc, &sd->heads, &sd->n, &err) != ML_OK)
		fail("%s: %s", path, ml_buf_str(&err));
	ml_scope_free(sc);
	sd->items = calloc(sd->n + 1, sizeof *sd->items);
	for (size_t i = 0; i < sd->n; i++) {
		memcpy(sd->items[i].key, sd->heads[i].key, 32);
		sd->items[i].seq = sd->heads[i].seq;
	}
	if (ml_recon_new(sd->items, sd->n, &sd->r) != ML_OK)
		fail("ml_recon_new");
}

static void side_close(struct side *sd)
{
	ml_recon_free(sd->r);
	free(sd->items);
	free(sd->heads);
	ml_store_close(sd->s);
}

static void count_diff(void *ctx, const uint8_t key[32], uint64_t mine, uint64_t theirs)
{
	(void)key;
	(void)mine;
	(void)theirs;
	(*(size_t *)ctx)++;
}

struct recon_run {
	size_t items_i, items_r; /* feeds each side offers */
	size_t frames, bytes;    /* RECON frames (the closing empty one included), payload bytes */
	size_t diffs;            /* differences the initiator learnt */
	int ops_flight;          /* flight (1: initiator -> responder, ...) carrying the responder's
	                            ops */
	size_t sizes[24];        /* payload bytes of the first RECON frames, in order */
};

/*
 * Plays one round between the syncing node (initiator) and the serving one (responder) as
 * peer.c does: the initiator sends ml_recon_initiate's message; each side steps on what it
 * receives and sends the reply; the side whose reply is empty sends that empty RECON and at once
 * its OPS and SYNCED; the other side, on the empty RECON, sends its own.
 */
static void replay_round(const char *ini_home, const struct ml_pubkey *ini_dev,
                         const char *resp_home, const struct ml_pubkey *resp_dev,
                         struct recon_run *rr)
{
	struct side I, R;
	side_open(ini_home, resp_dev, &I);
	side_open(resp_home, ini_dev, &R);
	memset(rr, 0, sizeof *rr);
	rr->items_i = I.n;
	rr->items_r = R.n;
	struct ml_buf a = ML_BUF_INIT, b = ML_BUF_INIT, err = ML_BUF_INIT;
	if (ml_recon_initiate(I.r, &a) != ML_OK)
		fail("ml_recon_initiate");
	rr->frames = 1;
	rr->bytes = a.len;
	rr->sizes[0] = a.len;
	int flight = 1;
	struct side *to = &R;
	size_t dummy = 0;
	for (;;) {
		ml_buf_reset(&b);
		if (ml_recon_step(to->r, a.data, a.len, &b, count_diff,
		                  to == &I ? &rr->diffs : &dummy, &err) != ML_OK)
			fail("recon replay: %s", ml_buf_str(&err));
		flight++;
		if (rr->frames < 24)
			rr->sizes[rr->frames] = b.len;
		rr->frames++;
		rr->bytes += b.len;
		if (b.len == 0) {
			rr->ops_flight = to == &R ? flight : flight + 1;
			break;
		}
		struct ml_buf t = a;
		a = b;
		b = t;
		to = to == &R ? &I : &R;
		if (flight > 1000)
			fail("recon replay does not end");
	}
	ml_buf_release(&a);
	ml_buf_release(&b);
	ml_buf_release(&err);
	side_close(&I);
	side_close(&R);
}

/* --- (c): polling two stores ------------------------------------------------ */

struct watch {
	sqlite3 *db;
	sqlite3_stmt *st, *find;
};

/* Polls by row id: this raw connection has no member_rid(), and finding a member by id
 * reads every row (read.h), which the timed loop must not. */
static void watch_open(struct watch *w, const char *home)
{
	w->db = open_ro(home);
	if (sqlite3_prepare_v2(w->db, "SELECT number IS NOT NULL FROM members WHERE rid = ?1", -1,
	                       &w->st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(w->db, "SELECT rid FROM members WHERE id = ?1", -1, &w->find,
	                       NULL) != SQLITE_OK)
		fail("%s", sqlite3_errmsg(w->db));
}

/* The member's row id, before the timing starts. */
static int64_t watch_rid(struct watch *w, const uint8_t id[32])
{
	sqlite3_reset(w->find);
	sqlite3_bind_blob(w->find, 1, id, 32, SQLITE_STATIC);
	if (sqlite3_step(w->find) != SQLITE_ROW)
		fail("a submitted member is missing from a store");
	int64_t rid = sqlite3_column_int64(w->find, 0);
	sqlite3_reset(w->find);
	return rid;
}

static bool watch_has(struct watch *w, int64_t rid)
{
	sqlite3_reset(w->st);
	sqlite3_bind_int64(w->st, 1, rid);
	bool yes = sqlite3_step(w->st) == SQLITE_ROW && sqlite3_column_int(w->st, 0);
	sqlite3_reset(w->st);
	return yes;
}

static void watch_close(struct watch *w)
{
	sqlite3_finalize(w->st);
	sqlite3_finalize(w->find);
	sqlite3_close(w->db);
}

/* The wall-clock ms of an op's timestamp, read from a store that holds it. */
static double op_ms(sqlite3 *db, const uint8_t id[32])
{
	sqlite3_stmt *st;
	int64_t idp;
	memcpy(&idp, id, 8);
	double ms = 0;
	if (sqlite3_prepare_v2(
	        db,
	        "SELECT raw FROM ops WHERE key IN (SELECT key FROM op_ids WHERE idp = ?1"
	        " UNION ALL SELECT key FROM op_ids_new WHERE idp = ?1) AND id = ?2",
	        -1, &st, NULL) != SQLITE_OK)
		fail("%s", sqlite3_errmsg(db));
	sqlite3_bind_int64(st, 1, idp);
	sqlite3_bind_blob(st, 2, id, 32, SQLITE_STATIC);
	struct ml_op op;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    ml_op_parse(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &op,
	                NULL) == ML_OK)
		ms = (double)op.hlc.ms;
	sqlite3_finalize(st);
	return ms;
}

static int hex32(const char *hex, uint8_t out[32])
{
	return strlen(hex) == 64 ? ml_hex_decode(hex, out, 32) : ML_EINVAL;
}

/* Polls until the peers line count of home's daemon reaches want synced peers. */
static void wait_synced_peers(const char *home, int want)
{
	struct ml_buf out = ML_BUF_INIT;
	for (int i = 0; i < 3000; i++) {
		int n = 0;
		if (ML(home, &out, "peers") == 0)
			for (const char *p = (const char *)out.data; (p = strstr(p, " synced "));
			     p++)
				n++;
		if (n >= want) {
			ml_buf_release(&out);
			return;
		}
		sleep_us(20000);
	}
	fail("%s: its peers did not sync", home);
}

int main(int argc, char **argv)
{
	ml_store_setup(); /* before any SQLite use, as the memberlog binary has it */
	size_t target = 1000000, approvals = 20;
	bool keep = false;
	const char *dir_arg = NULL;
	static char self_ml[PATH_MAX];
	memberlog = getenv("MEMBERLOG");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
			target = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--approvals") == 0 && i + 1 < argc)
			approvals = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--memberlog") == 0 && i + 1 < argc)
			memberlog = argv[++i];
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir_arg = argv[++i];
		else if (strcmp(argv[i], "--keep") == 0)
			keep = true;
		else {
			fprintf(stderr, "usage: bench_sync [--ops N] [--approvals K] [--memberlog "
			                "PATH] [--dir DIR] [--keep]\n");
			return 2;
		}
	}
	if (approvals < 1 || approvals > 1000 || target < 1000)
		return 2;
	if (!memberlog || !*memberlog) {
		ssize_t n = readlink("/proc/self/exe", self_ml, sizeof self_ml - 32);
		char *slash = n > 0 ? (self_ml[n] = 0, strrchr(self_ml, '/')) : NULL;
		if (!slash)
			return 1;
		strcpy(slash, "/../../cli/memberlog");
		memberlog = self_ml;
	}
	static char abs_ml[PATH_MAX];
	if (realpath(memberlog, abs_ml))
		memberlog = abs_ml;
	if (access(memberlog, X_OK) != 0) {
		fprintf(stderr, "bench_sync: no memberlog at %s (--memberlog PATH)\n", memberlog);
		return 1;
	}
	if (ml_crypto_init() != ML_OK)
		return 1;
	if (dir_arg) {
		snprintf(dir, sizeof dir, "%s", dir_arg);
		mkdir(dir, 0700);
	} else {
		snprintf(dir, sizeof dir, "/tmp/ml-bench-sync-XXXXXX");
		if (!mkdtemp(dir))
			return 1;
	}
	atexit(stop_all);
	signal(SIGPIPE, SIG_IGN);
	double t_all = bench_now_s();
	char log[PATH_MAX];
	snprintf(log, sizeof log, "%s/ops.cbor", dir);

	/* The history, generated in a child so its memory is not ours. */
	struct gen_stats gs = {0};
	int pipefd[2];
	if (pipe(pipefd) != 0)
		return 1;
	double tg = bench_now_s();
	pid_t pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		struct gen_params p = {.seed = 42, .target_ops = target};
		int rc = gen_write(&p, log, &gs);
		if (write(pipefd[1], &gs, sizeof gs) != sizeof gs)
			rc = -1;
		_exit(rc ? 1 : 0);
	}
	close(pipefd[1]);
	int status;
	if (read(pipefd[0], &gs, sizeof gs) != sizeof gs || waitpid(pid, &status, 0) < 0 ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("generating the history failed");
	close(pipefd[0]);
	printf("bench_sync: %zu ops in %zu batches (realistic batches), %zu members, %zu units, "
	       "%.0f B/op; generated in %.1f s\n",
	       gs.ops, gs.batches, gs.members, gs.units, (double)gs.bytes / (double)gs.ops,
	       bench_now_s() - tg);
	fflush(stdout);

	double v1 = bench_raw_verify_rate();
	double rtt = loopback_rtt_us();

	/* The nodes: the root admin's (source), an auditor (destination), the district's
	 * approver, the officer of its first base unit, and a province admin. */
	struct ml_pubkey pk_src, pk_dst, pk_dist, pk_com, pk_prov, pk_new;
	char hx_src[65], hx_dst[65], hx_dist[65], hx_com[65], hx_prov[65], hx_new[65];
	make_home("src", 1, &pk_src, hx_src);
	make_home("dst", 3000001, &pk_dst, hx_dst);
	make_home("dist", 1000000, &pk_dist, hx_dist);
	make_home("com", 2000000, &pk_com, hx_com);
	make_home("prov", 3000002, &pk_prov, hx_prov);
	make_home("new", 3000003, &pk_new, hx_new);

	/* (i): the source ingests the history from the file, as `memberlog ingest` does. */
	double ingest_s, ingest_cpu;
	if (run_timed("src", NULL, &ingest_s, &ingest_cpu,
	              (const char *const[]){"ingest", "--batch", "256", log, NULL}) != 0)
		fail("memberlog ingest failed");
	double irate = (double)gs.ops / ingest_s;

	struct ml_buf out = ML_BUF_INIT;
	char net[65], unit_dist[65], unit_base[65], unit_prov[65];
	MUST("src", &out, "--json", "network", "show");
	json_get((const char *)out.data, "network", net, sizeof net);
	{
		sqlite3 *db = open_ro("src");
		uint8_t id[32];
		if (!query2(db, "SELECT id FROM units WHERE name = 'LĐLĐ huyện số 1'", NULL, NULL,
		            NULL, id))
			fail("no district 1");
		ml_hex_encode(id, 32, unit_dist);
		if (!query2(db, "SELECT parent FROM units WHERE name = 'LĐLĐ huyện số 1'", NULL,
		            NULL, NULL, id))
			fail("no province");
		ml_hex_encode(id, 32, unit_prov);
		if (!query2(db, "SELECT id FROM units WHERE name = 'CĐCS số 1'", NULL, NULL, NULL,
		            id))
			fail("no base unit 1");
		ml_hex_encode(id, 32, unit_base);
		sqlite3_close(db);
	}
	for (const char *const *h = (const char *const[]){"dst", "dist", "com", "prov", NULL}; *h;
	     h++)
		MUST(*h, NULL, "network", "join", net);
	MUST("src", NULL, "grant", hx_dst, "--unit", net, "--role", "auditor");
	MUST("src", NULL, "grant", hx_prov, "--unit", unit_prov, "--role", "admin");
	sqlite3_int64 n_ops = 0, op_bytes = 0;
	op_totals("src", &n_ops, &op_bytes);

	/* (a) initial sync of everything to the empty destination. */
	char addr[96];
	pid_t src = serve("src", NULL, addr);
	double c0 = proc_cpu_s(src), sync_s, sync_cpu;
	if (run_timed("dst", &out, &sync_s, &sync_cpu,
	              (const char *const[]){"--json", "sync", addr, "--timeout", "36000", NULL}) !=
	    0)
		fail("the initial sync failed");
	double serve_cpu = proc_cpu_s(src) - c0;
	const char *js = (const char *)out.data;
	unsigned long long a_in = json_u64(js, "ops_in"), a_bin = json_u64(js, "bytes_in"),
	                   a_bout = json_u64(js, "bytes_out"), a_applied = json_u64(js, "applied");
	double v2 = bench_raw_verify_rate();
	double v = (v1 + v2) / 2;
	double srate = (double)a_in / sync_s;
	struct ml_buf h1 = ML_BUF_INIT, h2 = ML_BUF_INIT;
	MUST("src", &h1, "state-hash");
	MUST("dst", &h2, "state-hash");
	bool same = h1.len > 0 && strcmp((const char *)h1.data, (const char *)h2.data) == 0;
	printf("  (v) raw ed25519 verify, 1 core: %.0f /s (%.0f before (a), %.0f after)\n", v, v1,
	       v2);
	printf("  (i) memberlog ingest of the file:  %zu ops in %.2f s = %.0f ops/s   (i)/(v) = "
	       "%.2f\n",
	       gs.ops, ingest_s, irate, irate / v);
	printf("  (r) loopback TCP round trip:       %.1f us (median of 5000)\n", rtt);
	printf("  (a) initial sync: %llu ops (%llu applied) in %.2f s = %.0f ops/s   sync/(v) = "
	       "%.2f (target >= 2)   sync/(i) = %.2f\n",
	       a_in, a_applied, sync_s, srate, srate / v, srate / irate);
	printf("      wire: %llu B in + %llu B out for %lld ops of %lld B   wire/ops = %.4f "
	       "(target <= 1.05)\n",
	       a_bin, a_bout, (long long)n_ops, (long long)op_bytes,
	       (double)(a_bin + a_bout) / (double)op_bytes);
	printf(
	    "      ops received %llu for %lld held: %lld sent twice (%.1f %%); %d reconciliation "
	    "rounds before the sync completed (serve's log)\n",
	    a_in, (long long)n_ops, (long long)a_in - (long long)n_ops,
	    100.0 * ((double)a_in - (double)n_ops) / (double)n_ops, synced_round("src"));
	printf(
	    "      CPU: receiver (sync) %.1f s = %.0f %% of the wall time, sender (serve) %.1f s "
	    "= %.0f %%; state hashes %s\n",
	    sync_cpu, 100 * sync_cpu / sync_s, serve_cpu, 100 * serve_cpu / sync_s,
	    same ? "equal" : "DIFFER");
	fflush(stdout);
	if (a_applied != (unsigned long long)n_ops || !same)
		fail("the destination does not hold what the source holds");

	/* (b) nothing new, then one new op at the source. */
	struct recon_run r0, r1;
	replay_round("dst", &pk_dst, "src", &pk_src, &r0);
	double b0_s;
	if (run_timed("dst", &out, &b0_s, NULL,
	              (const char *const[]){"--json", "sync", addr, NULL}) != 0)
		fail("the second sync failed");
	unsigned long long b0 = json_u64((const char *)out.data, "bytes_in") +
	                        json_u64((const char *)out.data, "bytes_out");
	MUST("src", NULL, "grant", hx_new, "--unit", unit_dist, "--role", "auditor");
	sqlite3_int64 n2 = 0, bytes2 = 0;
	op_totals("src", &n2, &bytes2);
	size_t new_len = (size_t)(bytes2 - op_bytes);
	replay_round("dst", &pk_dst, "src", &pk_src, &r1);
	double b1_s;
	if (run_timed("dst", &out, &b1_s, NULL,
	              (const char *const[]){"--json", "sync", addr, NULL}) != 0)
		fail("the third sync failed");
	js = (const char *)out.data;
	unsigned long long b1 = json_u64(js, "bytes_in") + json_u64(js, "bytes_out");
	unsigned long long b1_ops = json_u64(js, "ops_in");
	/* Every byte on the wire, frame by frame: handshake both ways, RECON frames, one OPS
	 * frame when an op travels, SYNCED both ways. */
	size_t pred0 =
	    2 * HANDSHAKE_SIDE + r0.frames * FRAME_OVERHEAD + r0.bytes + 2 * FRAME_OVERHEAD;
	size_t pred1 = 2 * HANDSHAKE_SIDE + r1.frames * FRAME_OVERHEAD + r1.bytes +
	               (FRAME_OVERHEAD + new_len) + 2 * FRAME_OVERHEAD;
	int rt1 = (r1.ops_flight + 1) / 2, rt0 = (r0.ops_flight + 1) / 2;
	printf("  (b) one new op (%zu B) among %lld: %llu B both ways (target < 4096) = %.1f x the "
	       "op; %d round trips after the session opens (target <= 3) + 3 (TCP connect, "
	       "HELLO, AUTH/ACCEPT); sync %.0f ms = %.0f x (r)\n",
	       new_len, (long long)n_ops, b1, (double)b1 / (double)new_len, rt1, b1_s * 1e3,
	       b1_s * 1e6 / rtt);
	char sizes[200] = "";
	for (size_t i = 0, at = 0; i < r1.frames && i < 24 && at < sizeof sizes - 16; i++)
		at += (size_t)snprintf(sizes + at, sizeof sizes - at, "%s%s%zu", i ? " " : "",
		                       i % 2 ? "<" : ">", r1.sizes[i]);
	printf("      RECON: %zu frames, %zu B (%s; > to the source, < back) over %zu / %zu "
	       "feeds, %zu difference; op delivered on flight %d; frames add up to %zu B, sync "
	       "counted %llu B; ops received %llu\n",
	       r1.frames, r1.bytes, sizes, r1.items_i, r1.items_r, r1.diffs, r1.ops_flight, pred1,
	       b1, b1_ops);
	printf("      nothing new: %llu B both ways, %zu RECON frames (%zu B), %d round trip + 3; "
	       "frames add up to %zu B; sync %.0f ms\n",
	       b0, r0.frames, r0.bytes, rt0, pred0, b0_s * 1e3);
	fflush(stdout);
	stop_serve(src);

	/* (c) live push: district, commune, province, each holding its scope. */
	double tc = bench_now_s();
	sqlite3_int64 scope_ops[3];
	const char *homes[3] = {"dist", "com", "prov"};
	const char *keys[3] = {hx_dist, hx_com, hx_prov};
	for (int i = 0; i < 3; i++) {
		char bundle[PATH_MAX];
		snprintf(bundle, sizeof bundle, "%s/%s.bundle", dir, homes[i]);
		MUST("src", NULL, "bundle", "export", "-o", bundle, "--for", keys[i]);
		MUST(homes[i], NULL, "bundle", "import", bundle);
		sqlite3_int64 unused;
		op_totals(homes[i], &scope_ops[i], &unused);
	}
	char dist_addr[96], other[96];
	serve("dist", NULL, dist_addr);
	serve("com", dist_addr, other);
	serve("prov", dist_addr, other);
	wait_synced_peers("dist", 2);
	size_t warm = 2, total = approvals + warm;
	uint8_t(*members)[32] = calloc(total, 32);
	for (size_t i = 0; i < total; i++) {
		char name[64], idn[16], mhex[65];
		snprintf(name, sizeof name, "Lò Văn Thử %zu", i + 1);
		snprintf(idn, sizeof idn, "0010990%05zu", i + 1);
		MUST("com", &out, "--json", "member", "add", "--unit", unit_base, "--name", name,
		     "--id-number", idn, "--join-date", "01/03/2020", "--dob", "02/04/1995",
		     "--gender", "male");
		if (hex32(json_get((const char *)out.data, "member", mhex, sizeof mhex),
		          members[i]) != ML_OK)
			fail("member add printed no member id");
	}
	MUST("com", NULL, "member", "submit", "--unit", unit_base, "--all");
	{
		sqlite3 *db = open_ro("dist");
		sqlite3_stmt *st;
		sqlite3_prepare_v2(db, "SELECT count(*) FROM members WHERE state = 'submitted'", -1,
		                   &st, NULL);
		int i = 0;
		for (; i < 3000; i++) {
			sqlite3_reset(st);
			if (sqlite3_step(st) == SQLITE_ROW &&
			    (size_t)sqlite3_column_int64(st, 0) >= total)
				break;
			sleep_us(10000);
		}
		sqlite3_finalize(st);
		sqlite3_close(db);
		if (i == 3000)
			fail("the commune's submissions did not reach the district");
	}
	printf("  (c) setup: scopes of %lld (district), %lld (commune), %lld (province) ops "
	       "imported from bundles, daemons connected, %zu members submitted live, in %.1f "
	       "s\n",
	       (long long)scope_ops[0], (long long)scope_ops[1], (long long)scope_ops[2], total,
	       bench_now_s() - tc);
	fflush(stdout);
	struct watch wc, wp;
	watch_open(&wc, "com");
	watch_open(&wp, "prov");
	sqlite3 *dist_db = open_ro("dist");
	double *lat = calloc(approvals, sizeof *lat), *lat_c = calloc(approvals, sizeof *lat_c),
	       *lat_p = calloc(approvals, sizeof *lat_p), *lat_x = calloc(approvals, sizeof *lat_x),
	       *cmd = calloc(approvals, sizeof *cmd);
	for (size_t i = 0; i < total; i++) {
		sleep_us(300000); /* let every daemon go idle */
		char mhex[65], ohex[65];
		ml_hex_encode(members[i], 32, mhex);
		int64_t rid_c = watch_rid(&wc, members[i]), rid_p = watch_rid(&wp, members[i]);
		int fd;
		double t_start = wall_ms(), t_exit = 0, t_com = 0, t_prov = 0;
		pid_t ap = spawn("dist", "cli.log", &fd,
		                 (const char *const[]){"--json", "member", "approve", mhex, NULL});
		int st = 0;
		while (!t_exit || !t_com || !t_prov) {
			if (!t_com && watch_has(&wc, rid_c))
				t_com = wall_ms();
			if (!t_prov && watch_has(&wp, rid_p))
				t_prov = wall_ms();
			if (!t_exit && waitpid(ap, &st, WNOHANG) == ap) {
				t_exit = wall_ms();
				ml_buf_reset(&out);
				read_all(fd, &out);
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					fail("member approve failed");
			}
			if (wall_ms() - t_start > 20000)
				fail("approval %zu did not reach the commune and the province", i);
			sleep_us(250);
		}
		uint8_t op_id[32];
		if (hex32(json_get((const char *)out.data, "op", ohex, sizeof ohex), op_id) !=
		    ML_OK)
			fail("member approve printed no op id");
		double signed_ms = op_ms(dist_db, op_id);
		if (signed_ms == 0)
			fail("the approval is not in the district's store");
		if (i < warm)
			continue;
		size_t k = i - warm;
		double both = t_com > t_prov ? t_com : t_prov;
		lat[k] = both - signed_ms;
		lat_c[k] = t_com - signed_ms;
		lat_p[k] = t_prov - signed_ms;
		lat_x[k] = both - t_exit;
		cmd[k] = t_exit - t_start;
	}
	watch_close(&wc);
	watch_close(&wp);
	sqlite3_close(dist_db);
	double *sets[] = {lat, lat_c, lat_p, lat_x, cmd};
	for (size_t j = 0; j < 5; j++)
		qsort(sets[j], approvals, sizeof(double), cmp_double);
	size_t mid = approvals / 2;
#define MED(a) (approvals % 2 ? (a)[mid] : ((a)[mid - 1] + (a)[mid]) / 2)
	printf("  (c) approval at the district -> commune and province both hold it: median %.1f "
	       "ms, max %.1f ms over %zu approvals (target < 100 ms) = %.0f x (r)\n",
	       MED(lat), lat[approvals - 1], approvals, MED(lat) * 1e3 / rtt);
	printf("      from the op's timestamp: commune median %.1f max %.1f ms, province median "
	       "%.1f max %.1f ms; from the approve command's exit: median %.1f max %.1f ms; the "
	       "command itself: median %.0f ms\n",
	       MED(lat_c), lat_c[approvals - 1], MED(lat_p), lat_p[approvals - 1], MED(lat_x),
	       lat_x[approvals - 1], MED(cmd));
	printf("  total run time %.0f s\n", bench_now_s() - t_all);
	stop_all();
	free(members);
	for (size_t j = 0; j < 5; j++)
		free(sets[j]);
	ml_buf_release(&out);
	ml_buf_release(&h1);
	ml_buf_release(&h2);
	if (!keep) {
		char c[PATH_MAX + 16];
		snprintf(c, sizeof c, "rm -rf '%s'", dir);
		if (system(c) != 0)
			return 1;
	}
	return 0;
}
