/*
 * checkpoint.c - the checkpoint thread (checkpoint.h).
 *
 * The thread owns one SQLite connection and nothing else; the writer's WAL
 * hook hands it work under the mutex.  A PASSIVE checkpoint takes no lock
 * the writer waits for, but it copies only the frames committed when it
 * began, and a busy writer has begun its next transaction by then; SQLite
 * restarts the WAL only at the start of a write transaction that finds
 * every frame copied.  So, once the thread has caught up with what it saw,
 * the writer's next commit copies the frames written since itself (the
 * tail), and the transaction after it starts the WAL from the beginning
 * again.  Two checkpoints never run at once: the second would get
 * SQLITE_BUSY and copy nothing, so the writer copies only while the thread
 * is idle, and waits for it when the WAL has grown past four times the
 * threshold.
 */
#include "checkpoint.h"
#include "walbuf.h"

#include "crdt/alloc.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

struct ml_checkpointer {
	pthread_mutex_t mu;
	pthread_cond_t wake; /* to the thread: want or stop */
	pthread_cond_t idle; /* to the writer: a round ended */
	pthread_t thread;
	sqlite3 *db;      /* the thread's connection once open (sqlite3_interrupt at stop) */
	bool started;     /* pthread_create succeeded: stop joins it */
	bool no_thread;   /* pthread_create failed: the writer checkpoints itself */
	bool unavailable; /* the thread's last try to open its connection failed */
	bool want;        /* the writer asks for a round */
	bool busy;        /* the thread is copying */
	bool caught_up;   /* its last round copied every frame of the WAL as it still is */
	bool no_sync;     /* a sync of the thread's failed: the tails sync, as SQLite alone does */
	uint64_t synced_gen; /* the thread's rounds synced frames up to synced_to of this WAL */
	int synced_to;
	bool stop;
	uint64_t gen;        /* WAL restarts seen by the writer's commits */
	uint64_t round_gen;  /* gen when the running round began */
	uint64_t failed_gen; /* gen when the open failed: tried again after the next restart */
	int pages;           /* the threshold: ML_CHECKPOINT_PAGES unless a test set it */
	int last;            /* WAL frames after the previous commit */
	struct ml_store_checkpoints n;
	char *path;
};

/* The thread's connection, or NULL.  The busy timeout covers the first read only (another
 * process recovering the WAL): a PASSIVE checkpoint never waits. */
static sqlite3 *open_connection(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                         ml__walbuf_vfs());
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db, 10000);
	/* A connection finds the WAL at its first read; until then a checkpoint does nothing. */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/*
 * Syncs the database file after a round that copied frames but stopped short
 * of the WAL's end, on this thread.  SQLite syncs the file only in a round that
 * copies the WAL to its end, which a busy writer never lets the thread's
 * rounds reach: so the writer's tail synced everything the thread had copied
 * since the last restart, and the writer waited for it (at 1M ops, 2.3 s of
 * 21 s).  Syncing more often than SQLite does writes nothing it would not.
 * A failed sync is counted and ends the thread's syncing: the tail syncs
 * everything again, and a kernel that reports a write-back error to every
 * descriptor (Linux 4.13 on) fails it there too, so the WAL does not restart.
 */
static int sync_database(sqlite3 *db)
{
	sqlite3_file *f = NULL;
	int rc = sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f);
	if (rc == SQLITE_OK && (!f || !f->pMethods))
		rc = SQLITE_MISUSE;
	return rc == SQLITE_OK ? f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) : rc;
}

static uint64_t now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

static void *run(void *arg)
{
	struct ml_checkpointer *c = arg;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->stop && !c->want)
			pthread_cond_wait(&c->wake, &c->mu);
		if (c->stop)
			break;
		c->want = false;
		c->busy = true;
		c->round_gen = c->gen;
		sqlite3 *db = c->db;
		pthread_mutex_unlock(&c->mu);
		if (!db && (db = open_connection(c->path)) != NULL) {
			pthread_mutex_lock(&c->mu);
			c->db = db; /* from now on stop can interrupt it */
			pthread_mutex_unlock(&c->mu);
		}
		int in_log = -1, copied = -1;
		int rc = db ? sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
		                                        &in_log, &copied)
		            : SQLITE_CANTOPEN;
		/* copied counts every frame copied since the WAL restarted, in_log the frames when
		 * the round began.  A round that added none leaves nothing to sync, nor one that
		 * copied to the WAL's end as it was when the copying ended (SQLite synced then): a
		 * commit of the writer's since the round began (last) says it was not the end. */
		pthread_mutex_lock(&c->mu);
		bool progress = rc == SQLITE_OK && copied > 0 &&
		                (c->round_gen != c->synced_gen || copied > c->synced_to);
		bool short_of_end = in_log != copied || c->last > in_log || c->gen != c->round_gen;
		bool sync = progress && short_of_end && !c->no_sync;
		pthread_mutex_unlock(&c->mu);
		int synced = sync ? sync_database(db) : -1;
		pthread_mutex_lock(&c->mu);
		if (progress) {
			c->synced_gen = c->round_gen;
			c->synced_to = copied;
		}
		c->busy = false;
		c->unavailable = !db;
		if (!db)
			c->failed_gen = c->gen;
		/* SQLITE_BUSY (another connection checkpoints) is left to the next round, as
		 * SQLite's own automatic checkpoint leaves it; other errors are counted. */
		if (rc == SQLITE_OK && copied > 0)
			c->n.by_thread++;
		else if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_INTERRUPT)
			c->n.errors++;
		if (synced == SQLITE_OK) {
			c->n.synced++;
		} else if (synced > 0) {
			c->n.errors++;
			c->no_sync = true;
		}
		/* A restart since the round began makes what it saw moot. */
		c->caught_up =
		    rc == SQLITE_OK && in_log > 0 && in_log == copied && c->gen == c->round_gen;
		pthread_cond_broadcast(&c->idle);
	}
	sqlite3 *db = c->db;
	c->db = NULL;
	pthread_mutex_unlock(&c->mu);
	sqlite3_close(db);
	return NULL;
}

/* Starts the thread with every signal blocked in it: they stay the loop's business. */
static bool start_thread(struct ml_checkpointer *c)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	bool ok = pthread_create(&c->thread, NULL, run, c) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ok;
}

/* sqlite3_wal_hook: runs in the writer's thread after each commit, the write lock released. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct ml_checkpointer *c = arg;
	pthread_mutex_lock(&c->mu);
	if (frames < c->last) {
		c->n.restarts++;
		c->gen++;
		c->caught_up = false;
	}
	c->last = frames;
	if (frames < c->pages) {
		pthread_mutex_unlock(&c->mu);
		return SQLITE_OK;
	}
	if (!c->started && !c->no_thread) {
		c->started = start_thread(c);
		c->no_thread = !c->started;
	}
	bool self = false, tail = false;
	if (c->no_thread || (c->unavailable && c->failed_gen == c->gen)) {
		self = true; /* the thread cannot help: as SQLite's automatic checkpoint */
	} else if (frames / 4 >= c->pages) {
		/* The thread lags, or a reader pins old frames: the WAL stays bounded, at the
		 * writer's cost, as with SQLite's automatic checkpoint. */
		while (c->busy || c->want)
			pthread_cond_wait(&c->idle, &c->mu);
		self = true;
	} else if (c->caught_up && !c->busy && !c->want) {
		c->caught_up = false; /* the last frames, then the WAL restarts */
		self = tail = true;
	} else if (!c->busy && !c->want) {
		c->want = true;
		pthread_cond_signal(&c->wake);
	}
	pthread_mutex_unlock(&c->mu);
	if (!self)
		return SQLITE_OK;
	uint64_t began = now_us();
	int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	uint64_t took = now_us() - began;
	pthread_mutex_lock(&c->mu);
	if (rc == SQLITE_OK && tail) {
		c->n.tails++;
		c->n.tail_us += took;
	} else if (rc == SQLITE_OK) {
		c->n.by_writer++;
	}
	pthread_mutex_unlock(&c->mu);
	return SQLITE_OK;
}

void ml__checkpointer_start(struct ml_store *s)
{
	const char *path = sqlite3_db_filename(s->db, "main");
	if (!path || !*path || !sqlite3_threadsafe())
		return; /* a temporary database; a SQLite built without threads */
	struct ml_checkpointer *c = ml_calloc(1, sizeof *c);
	if (!c || !(c->path = ml_strdup(path)))
		goto fail;
	if (pthread_mutex_init(&c->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&c->wake, NULL) != 0) {
		pthread_mutex_destroy(&c->mu);
		goto fail;
	}
	if (pthread_cond_init(&c->idle, NULL) != 0) {
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->mu);
		goto fail;
	}
	c->pages = ML_CHECKPOINT_PAGES;
	s->checkpointer = c;
	sqlite3_wal_hook(s->db, on_commit, c); /* turns SQLite's automatic checkpoint off */
	return;
fail:
	if (c)
		ml_free(c->path);
	ml_free(c);
}

void ml__checkpointer_stop(struct ml_store *s)
{
	struct ml_checkpointer *c = s->checkpointer;
	if (!c)
		return;
	sqlite3_wal_hook(s->db, NULL, NULL);
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	if (c->db)
		sqlite3_interrupt(c->db); /* a round ends at its next page; what it copied stays */
	pthread_cond_signal(&c->wake);
	bool started = c->started;
	pthread_mutex_unlock(&c->mu);
	if (started)
		pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->idle);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->mu);
	ml_free(c->path);
	ml_free(c);
	s->checkpointer = NULL;
}

void ml_store_set_checkpoint_pages(struct ml_store *s, int pages)
{
	struct ml_checkpointer *c = s->checkpointer;
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->pages = pages > 0 && pages <= 1 << 28 ? pages : ML_CHECKPOINT_PAGES;
	pthread_mutex_unlock(&c->mu);
}

void ml_store_checkpoints(struct ml_store *s, struct ml_store_checkpoints *out)
{
	struct ml_checkpointer *c = s->checkpointer;
	memset(out, 0, sizeof *out);
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	*out = c->n;
	pthread_mutex_unlock(&c->mu);
}
