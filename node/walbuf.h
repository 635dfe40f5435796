/*
 * walbuf.h - a SQLite VFS that hands a commit's WAL frames to the kernel in a
 * few large writes instead of two small writes per page.
 *
 * SQLite writes each WAL frame as a 24-byte header and then the page, each
 * with its own pwrite(); a 4 KiB page at its offset straddles two pages of
 * the file, so a commit of 600 pages made about 1,200 system calls and
 * touched about 1,800 pages of the kernel's cache.  This VFS wraps the
 * default one and gathers a WAL file's appended frames in a buffer, written
 * out:
 *   - after the page of a commit frame (a frame header whose "database size"
 *     field is not zero), so a commit's frames are in the file before the
 *     write that ends it returns, and an error is that write's error, before
 *     SQLite publishes the commit to other connections;
 *   - when the buffer is full, when a write is not the next one in the file,
 *     and before any other call on the file (read, sync, truncate, size,
 *     control), so what SQLite reads back or syncs is what it wrote.
 * What is still held when the write transaction ends (the connection
 * releases the WAL write lock, seen through its main file, which is wrapped
 * for that) was never committed, and is dropped; nothing is gathered while
 * the main file is locked exclusively (locking_mode=EXCLUSIVE, where that
 * lock is never released through shared memory).  A write-out that fails
 * makes every later call on the WAL fail with SQLITE_IOERR_WRITE until the
 * transaction ends, which rolls it back whole.  Other files (journals,
 * temporary files) are the default VFS's own.  Internal to node/.
 */
#ifndef ML_NODE_WALBUF_H
#define ML_NODE_WALBUF_H

/* The VFS's name for sqlite3_open_v2, registered on first use (not as the default); NULL when
 * it could not be registered, which sqlite3_open_v2 takes as the default VFS.  Thread-safe. */
const char *ml__walbuf_vfs(void);

/* Writes to WAL files through this VFS since the process started, all connections. */
struct ml_walbuf_counts {
	unsigned long long writes;  /* asked for by SQLite */
	unsigned long long written; /* made to the default VFS, gathered or not */
	unsigned long long
	    through; /* not gathered: written again in place, or of an unknown shape */
};

/* Fills *out; thread-safe.  For tests and benchmarks. */
void ml__walbuf_counts(struct ml_walbuf_counts *out);

#endif
