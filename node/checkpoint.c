/*
 * checkpoint.c - the checkpoint thread (checkpoint.h).
 *
 * The thread owns one SQLite connection and nothing else; the writer's WAL
 * hook hands it work under the mutex.  A PASSIVE checkpoint takes no lock
 * the writer waits for, but it copies only the frames committed when it
 * began, and a busy writer has begun its next transaction by then; SQLite
 * restarts the WAL only at the start of a write transaction that finds
 * every frame copied.  So, once the thread has caught up with what it saw,
 * the writer's next commit copies the few frames written since itself, and
 * the transaction after it starts the WAL from the beginning again.
 */
#include "checkpoint.h"

#include "crdt/alloc.h"
#include "crdt/err.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct ml_checkpointer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started;   /* pthread_create succeeded: stop joins it */
	bool failed;    /* no thread or no connection: the writer checkpoints itself */
	bool want;      /* the writer asks for a checkpoint */
	bool busy;      /* the thread is copying */
	bool caught_up; /* its last checkpoint copied every frame it saw */
	bool stop;
	int pages; /* the threshold: ML_CHECKPOINT_PAGES unless a test set it */
	int last;  /* WAL frames after the previous commit */
	struct ml_store_checkpoints n;
	char *path;
};

static void *run(void *arg)
{
	struct ml_checkpointer *c = arg;
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	/* A connection finds the WAL at its first read; until then a checkpoint does nothing. */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
	pthread_mutex_lock(&c->mu);
	if (rc != SQLITE_OK)
		c->failed = true;
	while (!c->stop && !c->failed) {
		if (!c->want) {
			pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		c->want = false;
		c->busy = true;
		pthread_mutex_unlock(&c->mu);
		/* SQLITE_BUSY (another checkpoint runs) and I/O errors are left to the next
		 * round, as SQLite's own automatic checkpoint leaves them. */
		int in_log = -1, copied = -2;
		rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &in_log,
		                               &copied);
		pthread_mutex_lock(&c->mu);
		c->busy = false;
		c->caught_up = rc == SQLITE_OK && in_log == copied;
		c->n.by_thread++;
	}
	pthread_mutex_unlock(&c->mu);
	sqlite3_close(db);
	return NULL;
}

/* sqlite3_wal_hook: runs in the writer's thread after each commit. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct ml_checkpointer *c = arg;
	pthread_mutex_lock(&c->mu);
	c->n.restarts += frames < c->last;
	c->last = frames;
	if (frames < c->pages) {
		pthread_mutex_unlock(&c->mu);
		return SQLITE_OK;
	}
	/* Past four times the threshold the thread is not keeping up (or a reader pins old
	 * frames): the writer copies too, as SQLite's automatic checkpoint would. */
	bool self = frames >= 4 * c->pages;
	if (!c->started && !c->failed) {
		c->started = pthread_create(&c->thread, NULL, run, c) == 0;
		c->failed = !c->started;
	}
	if (c->failed) {
		self = true;
	} else if (c->caught_up && !c->busy && !c->want) {
		c->caught_up = false; /* the last frames, then the WAL restarts */
		self = true;
	} else if (!c->busy && !c->want) {
		c->want = true;
		pthread_cond_signal(&c->cv);
	}
	c->n.by_writer += self;
	pthread_mutex_unlock(&c->mu);
	if (self)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

int ml__checkpointer_start(struct ml_store *s, struct ml_buf *err)
{
	const char *path = sqlite3_db_filename(s->db, "main");
	if (!path || !*path || !sqlite3_threadsafe())
		return ML_OK; /* a temporary database; a SQLite built without threads: its own */
	struct ml_checkpointer *c = ml_calloc(1, sizeof *c);
	if (!c || !(c->path = ml_malloc(strlen(path) + 1))) {
		ml_free(c);
		return ml_errf(err, ML_ENOMEM, "out of memory for the checkpoint thread");
	}
	memcpy(c->path, path, strlen(path) + 1);
	c->pages = ML_CHECKPOINT_PAGES;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		ml_free(c->path);
		ml_free(c);
		return ml_errf(err, ML_ENOMEM, "cannot set up the checkpoint thread");
	}
	if (pthread_cond_init(&c->cv, NULL) != 0) {
		pthread_mutex_destroy(&c->mu);
		ml_free(c->path);
		ml_free(c);
		return ml_errf(err, ML_ENOMEM, "cannot set up the checkpoint thread");
	}
	s->checkpointer = c;
	sqlite3_wal_hook(s->db, on_commit, c); /* replaces wal_autocheckpoint */
	return ML_OK;
}

void ml__checkpointer_stop(struct ml_store *s)
{
	struct ml_checkpointer *c = s->checkpointer;
	if (!c)
		return;
	sqlite3_wal_hook(s->db, NULL, NULL);
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	bool started = c->started;
	pthread_mutex_unlock(&c->mu);
	if (started)
		pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cv);
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
	c->pages = pages > 0 ? pages : ML_CHECKPOINT_PAGES;
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
