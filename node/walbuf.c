/*
 * walbuf.c - the WAL-gathering VFS (walbuf.h).
 *
 * A WAL file opened through this VFS is a struct wal_file whose real file,
 * opened by the default VFS, follows it in the same allocation; every other
 * file is the default VFS's own, opened in place.  The buffer holds one run
 * of consecutive bytes starting at `at`; the WAL file layout it relies on
 * (a 24-byte frame header whose bytes 4..7 are the database size in pages
 * for a commit frame and zero otherwise, followed by the page) is SQLite's
 * documented file format (https://www.sqlite.org/fileformat2.html#walformat).
 */
#include "walbuf.h"

#include "crdt/alloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <string.h>

#define WALBUF_NAME  "memberlog-walbuf"
#define WALBUF_BYTES (1 << 20) /* held at most: 254 frames of 4 KiB pages */
#define WRITE_BYTES  (1 << 16)
#define WAL_HEADER   32
#define FRAME_HEADER 24

struct wal_file {
	sqlite3_file base;  /* pMethods = &wal_methods */
	sqlite3_file *real; /* the default VFS's file, right after this struct */
	unsigned char *buf; /* WALBUF_BYTES once the first write came */
	int len;            /* bytes held */
	sqlite3_int64 at;   /* the file offset of buf[0] */
	/* Past the last byte written through this handle.  A frame header before it is one SQLite
	 * writes again; so, after another connection started the WAL again and wrote less than
	 * this one had, frames are written at once until this one starts it again itself. */
	sqlite3_int64 end;
	sqlite3_int64 header_at; /* the frame header written last, while its page is awaited; -1 */
	bool header_commits;     /* that header marks a commit frame */
};

static sqlite3_vfs *base_vfs; /* the default VFS this one wraps */
static atomic_ullong n_in, n_out, n_through;
static sqlite3_vfs walbuf_vfs;

static struct wal_file *wal_of(sqlite3_file *f)
{
	return (struct wal_file *)f;
}

/* Writes what the buffer holds, in pieces the unix VFS accepts (it masks a write's length to 17
 * bits); on failure the bytes are dropped with the error returned, as a failed pwrite leaves
 * them unwritten. */
static int flush(struct wal_file *w)
{
	int rc = SQLITE_OK;
	for (int done = 0; done < w->len && rc == SQLITE_OK; done += WRITE_BYTES) {
		int n = w->len - done < WRITE_BYTES ? w->len - done : WRITE_BYTES;
		rc = w->real->pMethods->xWrite(w->real, w->buf + done, n, w->at + done);
		atomic_fetch_add_explicit(&n_out, 1, memory_order_relaxed);
	}
	w->len = 0;
	return rc;
}

static int wal_close(sqlite3_file *f)
{
	struct wal_file *w = wal_of(f);
	int rc = flush(w);
	int rc2 = w->real->pMethods->xClose(w->real);
	ml_free(w->buf);
	w->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int wal_read(sqlite3_file *f, void *out, int n, sqlite3_int64 off)
{
	struct wal_file *w = wal_of(f);
	int rc = flush(w);
	return rc != SQLITE_OK ? rc : w->real->pMethods->xRead(w->real, out, n, off);
}

/* Appends to the buffer, writing it out first when data does not continue it or would not fit. */
static int gather(struct wal_file *w, const void *data, int n, sqlite3_int64 off)
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

/* Gathers the WAL header and appended frames; anything else (a page written again in place, a
 * frame header whose checksum is rewritten at commit) is written at once, after what is held. */
static int wal_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off)
{
	struct wal_file *w = wal_of(f);
	atomic_fetch_add_explicit(&n_in, 1, memory_order_relaxed);
	bool after_header = w->header_at >= 0 && off == w->header_at + FRAME_HEADER;
	bool ends_commit = after_header && w->header_commits;
	w->header_at = -1;
	if (n == WAL_HEADER && off == 0)
		w->end = 0; /* the WAL starts again: frames are appended from its beginning */
	bool header = n == FRAME_HEADER && off >= w->end && off >= WAL_HEADER;
	bool gathered = (header || (n == WAL_HEADER && off == 0) || after_header) &&
	                n <= WALBUF_BYTES && (w->buf || (w->buf = ml_malloc(WALBUF_BYTES)));
	if (off + n > w->end)
		w->end = off + n;
	if (!gathered) {
		atomic_fetch_add_explicit(&n_through, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&n_out, 1, memory_order_relaxed);
		int rc = flush(w);
		return rc != SQLITE_OK ? rc : w->real->pMethods->xWrite(w->real, data, n, off);
	}
	int rc = gather(w, data, n, off);
	if (rc == SQLITE_OK && header) {
		const unsigned char *h = data; /* bytes 4..7: the database size, for a commit */
		w->header_at = off;
		w->header_commits = (h[4] | h[5] | h[6] | h[7]) != 0;
	}
	return rc == SQLITE_OK && ends_commit ? flush(w) : rc;
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct wal_file *w = wal_of(f);
	int rc = flush(w);
	if (rc == SQLITE_OK && size < w->end)
		w->end = size;
	return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
	struct wal_file *w = wal_of(f);
	int rc = flush(w);
	return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct wal_file *w = wal_of(f);
	int rc = flush(w);
	return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int wal_lock(sqlite3_file *f, int level)
{
	struct wal_file *w = wal_of(f);
	int rc = flush(w);
	return rc != SQLITE_OK ? rc : w->real->pMethods->xLock(w->real, level);
}

static int wal_unlock(sqlite3_file *f, int level)
{
	struct wal_file *w = wal_of(f);
	int rc = flush(w);
	return rc != SQLITE_OK ? rc : w->real->pMethods->xUnlock(w->real, level);
}

static int wal_check_reserved(sqlite3_file *f, int *out)
{
	struct wal_file *w = wal_of(f);
	return w->real->pMethods->xCheckReservedLock(w->real, out);
}

static int wal_file_control(sqlite3_file *f, int op, void *arg)
{
	struct wal_file *w = wal_of(f);
	int rc = flush(w);
	return rc != SQLITE_OK ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
}

static int wal_sector_size(sqlite3_file *f)
{
	struct wal_file *w = wal_of(f);
	return w->real->pMethods->xSectorSize(w->real);
}

static int wal_device(sqlite3_file *f)
{
	struct wal_file *w = wal_of(f);
	return w->real->pMethods->xDeviceCharacteristics(w->real);
}

/* A WAL file has no shared memory and is never mapped; these pass through for completeness. */
static int wal_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
	struct wal_file *w = wal_of(f);
	return w->real->pMethods->xShmMap(w->real, region, size, extend, out);
}

static int wal_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	struct wal_file *w = wal_of(f);
	return w->real->pMethods->xShmLock(w->real, offset, n, flags);
}

static void wal_shm_barrier(sqlite3_file *f)
{
	struct wal_file *w = wal_of(f);
	w->real->pMethods->xShmBarrier(w->real);
}

static int wal_shm_unmap(sqlite3_file *f, int delete_flag)
{
	struct wal_file *w = wal_of(f);
	return w->real->pMethods->xShmUnmap(w->real, delete_flag);
}

static int wal_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	struct wal_file *w = wal_of(f);
	int rc = flush(w);
	return rc != SQLITE_OK ? rc : w->real->pMethods->xFetch(w->real, off, n, out);
}

static int wal_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	struct wal_file *w = wal_of(f);
	return w->real->pMethods->xUnfetch(w->real, off, p);
}

static const sqlite3_io_methods wal_methods = {
    .iVersion = 3,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_file_size,
    .xLock = wal_lock,
    .xUnlock = wal_unlock,
    .xCheckReservedLock = wal_check_reserved,
    .xFileControl = wal_file_control,
    .xSectorSize = wal_sector_size,
    .xDeviceCharacteristics = wal_device,
    .xShmMap = wal_shm_map,
    .xShmLock = wal_shm_lock,
    .xShmBarrier = wal_shm_barrier,
    .xShmUnmap = wal_shm_unmap,
    .xFetch = wal_fetch,
    .xUnfetch = wal_unfetch,
};

static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                    int *out_flags)
{
	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL))
		return base_vfs->xOpen(base_vfs, name, f, flags, out_flags);
	struct wal_file *w = wal_of(f);
	memset(w, 0, sizeof *w);
	w->real = (sqlite3_file *)(w + 1);
	w->header_at = -1;
	int rc = base_vfs->xOpen(base_vfs, name, w->real, flags, out_flags);
	/* The real file's methods are used only once it opened (SQLite's own rule). */
	w->base.pMethods =
	    w->real->pMethods && w->real->pMethods->iVersion >= 3 ? &wal_methods : NULL;
	if (w->real->pMethods && !w->base.pMethods) {
		w->real->pMethods->xClose(w->real); /* an old VFS: opened plainly instead */
		return base_vfs->xOpen(base_vfs, name, f, flags, out_flags);
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
	int size = base_vfs->szOsFile + (int)sizeof(struct wal_file);
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
