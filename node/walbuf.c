/*
 * walbuf.c - the WAL-gathering VFS (walbuf.h).
 *
 * It wraps a connection's main database file and its WAL file.  The WAL
 * file gathers; the main file only reports, through the shared-memory lock
 * calls, when the connection releases the WAL write lock, that is when a
 * write transaction ended: what is held then was never committed and is
 * dropped.  The WAL layout it relies on - a 32-byte header with the page
 * size in bytes 8..11, then frames of a 24-byte header (bytes 4..7: the
 * database size in pages for a commit frame, zero otherwise) and a page -
 * is SQLite's documented file format
 * (https://www.sqlite.org/fileformat2.html#walformat); the write lock being
 * the first shared-memory lock is SQLite's wal.c (WAL_WRITE_LOCK).
 */
#include "walbuf.h"

#include "crdt/alloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define WALBUF_NAME  "memberlog-walbuf"
#define WALBUF_BYTES (1 << 20) /* held at most: 254 frames of 4 KiB pages */
#define WRITE_BYTES  (1 << 16)
#define WAL_HEADER   32
#define FRAME_HEADER 24

/*
 * A file opened through this VFS: the default VFS's file follows this struct
 * in the same allocation.  Main database files are wrapped only to see the
 * WAL write lock released (the end of a write transaction); only WAL files
 * gather.
 */
struct wb_file {
	sqlite3_file base;    /* pMethods = &wb_methods */
	sqlite3_file *real;   /* the default VFS's file, right after this struct */
	bool is_wal;          /* else a main database file */
	struct wb_file *peer; /* main file <-> its connection's WAL file, when both are ours */
	/* WAL files only: */
	unsigned char *buf; /* WALBUF_BYTES once the first write came */
	int len;            /* bytes held */
	sqlite3_int64 at;   /* the file offset of buf[0] */
	int page;           /* the page size from the WAL header; 0 until known */
	int failed;         /* a write-out failed: every call fails until the transaction ends */
	sqlite3_int64 end;  /* past the last byte this transaction appended (see wal_write) */
	sqlite3_int64 header_at; /* the frame header written last, while its page is awaited; -1 */
	bool header_commits;     /* that header marks a commit frame */
	int lock; /* main files: the lock level held (EXCLUSIVE: locking_mode=EXCLUSIVE) */
};

static sqlite3_vfs *base_vfs; /* the default VFS this one wraps */
static atomic_ullong n_in, n_out, n_through;
static sqlite3_vfs walbuf_vfs;
static const sqlite3_io_methods wb_methods;

static struct wb_file *wb_of(sqlite3_file *f)
{
	return (struct wb_file *)f;
}

/* Writes what the buffer holds, in pieces the unix VFS accepts (it masks a write's length to 17
 * bits).  A failure is kept: the bytes are lost, so SQLite must not go on as if they were in the
 * file; every later call fails until the transaction ends (discard). */
static int flush(struct wb_file *w)
{
	int rc = SQLITE_OK;
	for (int done = 0; done < w->len && rc == SQLITE_OK; done += WRITE_BYTES) {
		int n = w->len - done < WRITE_BYTES ? w->len - done : WRITE_BYTES;
		rc = w->real->pMethods->xWrite(w->real, w->buf + done, n, w->at + done);
		atomic_fetch_add_explicit(&n_out, 1, memory_order_relaxed);
	}
	w->len = 0;
	if (rc != SQLITE_OK)
		w->failed = rc;
	return rc;
}

/* Before any call but a write: SQLITE_IOERR_WRITE once a write-out failed, which makes SQLite
 * roll the whole transaction back (SQLITE_FULL could undo only the statement). */
static int settle(struct wb_file *w)
{
	return w->failed || flush(w) != SQLITE_OK ? SQLITE_IOERR_WRITE : SQLITE_OK;
}

/* The write transaction ended (the WAL write lock was released): what is still held was never
 * committed - a transaction that spilled pages and rolled back - and must never reach the file,
 * where another connection may since have committed frames at the same offsets. */
static void discard(struct wb_file *w)
{
	w->len = 0;
	w->failed = SQLITE_OK;
	w->end = 0;
	w->header_at = -1;
}

static int wb_close(sqlite3_file *f)
{
	struct wb_file *w = wb_of(f);
	if (w->peer)
		w->peer->peer = NULL;
	int rc = w->real->pMethods->xClose(w->real);
	ml_free(w->buf);
	w->buf = NULL;
	return rc;
}

static int wb_read(sqlite3_file *f, void *out, int n, sqlite3_int64 off)
{
	struct wb_file *w = wb_of(f);
	int rc = settle(w);
	return rc != SQLITE_OK ? rc : w->real->pMethods->xRead(w->real, out, n, off);
}

/* Appends to the buffer, writing it out first when data does not continue it or would not fit. */
static int gather(struct wb_file *w, const void *data, int n, sqlite3_int64 off)
{
	if (w->len && (off != w->at + w->len || w->len + n > WALBUF_BYTES)) {
		int rc = flush(w);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (!w->len)
		w->at = off;
	memcpy(w->buf + w->len, data, (size_t)n);
	w->len += n;
	return SQLITE_OK;
}

static uint32_t big_endian_32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The page size from a WAL header (bytes 8..11 after the magic number), or 0. */
static int header_page_size(const unsigned char *h)
{
	uint32_t magic = big_endian_32(h), page = big_endian_32(h + 8);
	bool ok = (magic == 0x377f0682 || magic == 0x377f0683) && page >= 512 && page <= 65536 &&
	          (page & (page - 1)) == 0;
	return ok ? (int)page : 0;
}

/*
 * Gathers the WAL header and appended frames: a 24-byte frame header at a
 * frame's offset, at or past everything this transaction appended, and then
 * its page.  Anything else - a page written again in place, a frame header
 * whose checksum is rewritten at commit (both behind the appended end), a
 * write split at a sync point, a shape this does not know - is written at
 * once, after what is held.  The page of a commit frame writes the buffer out.
 */
static int wal_write(struct wb_file *w, const void *data, int n, sqlite3_int64 off)
{
	atomic_fetch_add_explicit(&n_in, 1, memory_order_relaxed);
	if (w->failed)
		return SQLITE_IOERR_WRITE;
	bool is_page = w->header_at >= 0 && off == w->header_at + FRAME_HEADER && n == w->page;
	bool ends_commit = is_page && w->header_commits;
	w->header_at = -1;
	bool wal_header = n == WAL_HEADER && off == 0;
	if (wal_header) {
		w->end = 0; /* the WAL starts again: frames are appended from its beginning */
		w->page = header_page_size(data);
	} else if (!w->page && n == FRAME_HEADER && !w->len) {
		unsigned char h[WAL_HEADER]; /* a WAL another connection began */
		if (w->real->pMethods->xRead(w->real, h, WAL_HEADER, 0) == SQLITE_OK)
			w->page = header_page_size(h);
	}
	bool is_header = n == FRAME_HEADER && w->page && off >= w->end && off >= WAL_HEADER &&
	                 (off - WAL_HEADER) % (FRAME_HEADER + w->page) == 0;
	bool gathered = (wal_header || is_header || is_page) && w->peer &&
	                w->peer->lock < SQLITE_LOCK_EXCLUSIVE &&
	                (w->buf || (w->buf = ml_malloc(WALBUF_BYTES)));
	if (off + n > w->end)
		w->end = off + n;
	if (!gathered) {
		atomic_fetch_add_explicit(&n_through, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&n_out, 1, memory_order_relaxed);
		int rc = flush(w);
		return rc != SQLITE_OK ? rc : w->real->pMethods->xWrite(w->real, data, n, off);
	}
	int rc = gather(w, data, n, off);
	if (rc == SQLITE_OK && is_header) {
		const unsigned char *h = data; /* bytes 4..7: the database size, for a commit */
		w->header_at = off;
		w->header_commits = (h[4] | h[5] | h[6] | h[7]) != 0;
	}
	return rc == SQLITE_OK && ends_commit ? flush(w) : rc;
}

static int wb_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off)
{
	struct wb_file *w = wb_of(f);
	return w->is_wal ? wal_write(w, data, n, off)
	                 : w->real->pMethods->xWrite(w->real, data, n, off);
}

static int wb_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct wb_file *w = wb_of(f);
	int rc = settle(w);
	return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int wb_sync(sqlite3_file *f, int flags)
{
	struct wb_file *w = wb_of(f);
	int rc = settle(w);
	return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int wb_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct wb_file *w = wb_of(f);
	int rc = settle(w);
	return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int wb_lock(sqlite3_file *f, int level)
{
	struct wb_file *w = wb_of(f);
	int rc = w->real->pMethods->xLock(w->real, level);
	if (rc == SQLITE_OK)
		w->lock = level;
	return rc;
}

static int wb_unlock(sqlite3_file *f, int level)
{
	struct wb_file *w = wb_of(f);
	int rc = w->real->pMethods->xUnlock(w->real, level);
	if (rc == SQLITE_OK)
		w->lock = level;
	return rc;
}

static int wb_check_reserved(sqlite3_file *f, int *out)
{
	struct wb_file *w = wb_of(f);
	return w->real->pMethods->xCheckReservedLock(w->real, out);
}

static int wb_file_control(sqlite3_file *f, int op, void *arg)
{
	struct wb_file *w = wb_of(f);
	int rc = settle(w);
	return rc != SQLITE_OK ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
}

static int wb_sector_size(sqlite3_file *f)
{
	struct wb_file *w = wb_of(f);
	return w->real->pMethods->xSectorSize(w->real);
}

static int wb_device(sqlite3_file *f)
{
	struct wb_file *w = wb_of(f);
	return w->real->pMethods->xDeviceCharacteristics(w->real);
}

static int wb_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
	struct wb_file *w = wb_of(f);
	return w->real->pMethods->xShmMap(w->real, region, size, extend, out);
}

/* WAL_WRITE_LOCK is the first of the shared-memory locks (SQLite's wal.c); a main file's
 * connection releases it when its write transaction ends, committed or rolled back. */
static int wb_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	struct wb_file *w = wb_of(f);
	int rc = w->real->pMethods->xShmLock(w->real, offset, n, flags);
	if (w->peer && offset == 0 && flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE))
		discard(w->peer);
	return rc;
}

static void wb_shm_barrier(sqlite3_file *f)
{
	struct wb_file *w = wb_of(f);
	w->real->pMethods->xShmBarrier(w->real);
}

static int wb_shm_unmap(sqlite3_file *f, int delete_flag)
{
	struct wb_file *w = wb_of(f);
	return w->real->pMethods->xShmUnmap(w->real, delete_flag);
}

static int wb_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	struct wb_file *w = wb_of(f);
	int rc = settle(w);
	return rc != SQLITE_OK ? rc : w->real->pMethods->xFetch(w->real, off, n, out);
}

static int wb_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	struct wb_file *w = wb_of(f);
	return w->real->pMethods->xUnfetch(w->real, off, p);
}

static const sqlite3_io_methods wb_methods = {
    .iVersion = 3,
    .xClose = wb_close,
    .xRead = wb_read,
    .xWrite = wb_write,
    .xTruncate = wb_truncate,
    .xSync = wb_sync,
    .xFileSize = wb_file_size,
    .xLock = wb_lock,
    .xUnlock = wb_unlock,
    .xCheckReservedLock = wb_check_reserved,
    .xFileControl = wb_file_control,
    .xSectorSize = wb_sector_size,
    .xDeviceCharacteristics = wb_device,
    .xShmMap = wb_shm_map,
    .xShmLock = wb_shm_lock,
    .xShmBarrier = wb_shm_barrier,
    .xShmUnmap = wb_shm_unmap,
    .xFetch = wb_fetch,
    .xUnfetch = wb_unfetch,
};

/* Main database and WAL files are wrapped; the rest (journals, temporary files) are the default
 * VFS's own, opened in place.  A WAL file gathers only when its connection's main file is
 * wrapped too, which tells it when a transaction ends. */
static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                    int *out_flags)
{
	(void)vfs;
	bool is_wal = flags & SQLITE_OPEN_WAL;
	if (!is_wal && !(flags & SQLITE_OPEN_MAIN_DB))
		return base_vfs->xOpen(base_vfs, name, f, flags, out_flags);
	struct wb_file *w = wb_of(f);
	memset(w, 0, sizeof *w);
	w->real = (sqlite3_file *)(w + 1);
	w->is_wal = is_wal;
	w->header_at = -1;
	int rc = base_vfs->xOpen(base_vfs, name, w->real, flags, out_flags);
	/* The real file's methods are used only once it opened (SQLite's own rule); an old VFS
	 * without shared memory is left as it is. */
	if (!w->real->pMethods || w->real->pMethods->iVersion < 3) {
		if (w->real->pMethods)
			w->real->pMethods->xClose(w->real);
		return rc != SQLITE_OK ? rc : base_vfs->xOpen(base_vfs, name, f, flags, out_flags);
	}
	w->base.pMethods = &wb_methods;
	sqlite3_file *main = is_wal && name ? sqlite3_database_file_object(name) : NULL;
	if (main && main->pMethods == &wb_methods && !wb_of(main)->is_wal) {
		w->peer = wb_of(main);
		w->peer->peer = w;
	}
	return rc;
}

/* The rest is the default VFS's, called with its own handle. */
static int vfs_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	(void)v;
	return base_vfs->xDelete(base_vfs, name, sync_dir);
}

static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return base_vfs->xAccess(base_vfs, name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return base_vfs->xFullPathname(base_vfs, name, n, out);
}

static void *vfs_dl_open(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return base_vfs->xDlOpen(base_vfs, name);
}

static void vfs_dl_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	base_vfs->xDlError(base_vfs, n, out);
}

static void (*vfs_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return base_vfs->xDlSym(base_vfs, h, sym);
}

static void vfs_dl_close(sqlite3_vfs *v, void *h)
{
	(void)v;
	base_vfs->xDlClose(base_vfs, h);
}

static int vfs_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return base_vfs->xRandomness(base_vfs, n, out);
}

static int vfs_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return base_vfs->xSleep(base_vfs, us);
}

static int vfs_current_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return base_vfs->xCurrentTime(base_vfs, out);
}

static int vfs_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return base_vfs->xGetLastError ? base_vfs->xGetLastError(base_vfs, n, out) : 0;
}

static int vfs_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	if (base_vfs->iVersion >= 2 && base_vfs->xCurrentTimeInt64)
		return base_vfs->xCurrentTimeInt64(base_vfs, out);
	double now;
	int rc = base_vfs->xCurrentTime(base_vfs, &now);
	*out = (sqlite3_int64)(now * 86400000.0);
	return rc;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool registered;

static void register_vfs(void)
{
	base_vfs = sqlite3_vfs_find(NULL);
	if (!base_vfs || base_vfs->szOsFile < 0)
		return;
	int size = base_vfs->szOsFile + (int)sizeof(struct wb_file);
	walbuf_vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = size,
	    .mxPathname = base_vfs->mxPathname,
	    .zName = WALBUF_NAME,
	    .xOpen = vfs_open,
	    .xDelete = vfs_delete,
	    .xAccess = vfs_access,
	    .xFullPathname = vfs_full_pathname,
	    .xDlOpen = vfs_dl_open,
	    .xDlError = vfs_dl_error,
	    .xDlSym = vfs_dl_sym,
	    .xDlClose = vfs_dl_close,
	    .xRandomness = vfs_randomness,
	    .xSleep = vfs_sleep,
	    .xCurrentTime = vfs_current_time,
	    .xGetLastError = vfs_last_error,
	    .xCurrentTimeInt64 = vfs_current_time64,
	};
	registered = sqlite3_vfs_register(&walbuf_vfs, 0) == SQLITE_OK;
}

const char *ml__walbuf_vfs(void)
{
	pthread_once(&once, register_vfs);
	return registered ? WALBUF_NAME : NULL;
}

void ml__walbuf_counts(struct ml_walbuf_counts *out)
{
	out->writes = atomic_load(&n_in);
	out->written = atomic_load(&n_out);
	out->through = atomic_load(&n_through);
}
