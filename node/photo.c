/*
 * photo.c - members' photos as blobs, and the record of which the register
 * references (photo.h).
 */
#include "photo.h"

#include "node_int.h"

#include "crdt/alloc.h"
#include "crdt/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ml_photo_check(const uint8_t *data, size_t len, struct ml_buf *err)
{
	static const uint8_t jpeg[] = {0xff, 0xd8, 0xff},
	                     png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	bool is_jpeg = len > sizeof jpeg && memcmp(data, jpeg, sizeof jpeg) == 0;
	bool is_png = len > sizeof png && memcmp(data, png, sizeof png) == 0;
	if (!is_jpeg && !is_png)
		return ml_errf(err, ML_EINVAL, "not a JPEG or PNG photo");
	if (len > ML_PHOTO_MAX)
		return ml_errf(err, ML_ETOOBIG,
		               "the photo is %zu bytes; the limit is 1 MB (1,048,576 bytes)", len);
	return ML_OK;
}

void ml_photo_name(const struct ml_hash *id, char out[65])
{
	ml_hex_encode(id->b, 32, out);
}

static void path_of(const char *dir, const struct ml_hash *id, char *out, size_t cap)
{
	char hex[65];
	ml_photo_name(id, hex);
	snprintf(out, cap, "%s/%s", dir, hex);
}

int ml_photo_put(const char *dir, const uint8_t *data, size_t len, struct ml_hash *id,
                 struct ml_buf *err)
{
	*id = ml_hash_of(data, len);
	char path[4096], tmp[4200];
	path_of(dir, id, path, sizeof path);
	if (access(path, F_OK) == 0) {
		struct ml_buf old = ML_BUF_INIT;
		int ok = ml_photo_get(dir, id, &old, NULL);
		ml_buf_release(&old);
		if (ok == ML_OK)
			return ML_OK; /* else a damaged copy: replaced below */
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ml_errf(err, ML_EIO, "cannot make the photo folder '%s': %s", dir,
		               strerror(errno));
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ml_errf(err, ML_EIO, "cannot store a photo in '%s': %s", dir,
		               strerror(errno));
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	/* Synced before the rename, so a crash never leaves a named but partial blob. */
	bool ok = off == len && fsync(fd) == 0;
	int saved = errno;
	ok = close(fd) == 0 && ok;
	if (ok && rename(tmp, path) == 0)
		return ML_OK;
	saved = saved ? saved : errno;
	unlink(tmp);
	return ml_errf(err, ML_EIO, "cannot store a photo in '%s': %s", dir, strerror(saved));
}

int ml_photo_get(const char *dir, const struct ml_hash *id, struct ml_buf *out, struct ml_buf *err)
{
	char path[4096], hex[65];
	path_of(dir, id, path, sizeof path);
	ml_photo_name(id, hex);
	ml_buf_reset(out);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ml_errf(err, ML_ENOTFOUND, "photo %.16s is not held", hex)
		                       : ml_errf(err, ML_EIO, "cannot read photo %.16s: %s", hex,
		                                 strerror(errno));
	int rc = ML_OK;
	for (;;) {
		if (ml_buf_reserve(out, 64 * 1024) != ML_OK) {
			rc = ML_ENOMEM;
			break;
		}
		ssize_t r = read(fd, out->data + out->len, 64 * 1024);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = ml_errf(err, ML_EIO, "cannot read photo %.16s: %s", hex,
			             strerror(errno));
			break;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
		if (out->len > ML_PHOTO_MAX) {
			rc = ml_errf(err, ML_EIO, "photo %.16s is larger than any photo may be",
			             hex);
			break;
		}
	}
	close(fd);
	if (rc == ML_OK) {
		struct ml_hash h = ml_hash_of(out->data, out->len);
		if (!ml_hash_eq(&h, id))
			rc = ml_errf(err, ML_EIO,
			             "photo %.16s is damaged: its bytes have another hash", hex);
	}
	if (rc != ML_OK)
		ml_buf_reset(out);
	return rc;
}

bool ml_photo_has(const char *dir, const struct ml_hash *id)
{
	char path[4096];
	path_of(dir, id, path, sizeof path);
	return access(path, F_OK) == 0;
}

int ml_photo_wanted(struct ml_store *s, const struct ml_hash *after, struct ml_hash *out,
                    size_t max, size_t *n, struct ml_buf *err)
{
	*n = 0;
	static const struct ml_hash zero;
	sqlite3_stmt *st = ml__stmt(s, ST_PHOTO_WANTED);
	if (!st)
		return ml__sqlerr(s, "list wanted photos", err);
	sqlite3_bind_blob(st, 1, (after ? after : &zero)->b, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if (sqlite3_column_bytes(st, 0) == 32 && *n < max)
			memcpy(out[(*n)++].b, sqlite3_column_blob(st, 0), 32);
	sqlite3_reset(st);
	return step == SQLITE_DONE ? ML_OK : ml__sqlerr(s, "list wanted photos", err);
}

int ml_photo_mark_held(struct ml_store *s, const struct ml_hash *id, struct ml_buf *err)
{
	sqlite3_stmt *st = ml__stmt(s, ST_PHOTO_HELD);
	if (!st)
		return ml__sqlerr(s, "mark a photo held", err);
	sqlite3_bind_blob(st, 1, id->b, 32, SQLITE_STATIC);
	return ml__exec(s, st, "mark a photo held", err);
}

int ml_photo_readable(struct ml_store *s, const struct ml_scope_set *sc, const struct ml_hash *id,
                      bool *ok, struct ml_buf *err)
{
	*ok = false;
	sqlite3_stmt *st = ml__stmt(s, ST_PHOTO_UNITS);
	if (!st)
		return ml__sqlerr(s, "find a photo's unit", err);
	sqlite3_bind_blob(st, 1, id->b, 32, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
		struct ml_hash unit;
		memcpy(unit.b, sqlite3_column_blob(st, 0), 32);
		*ok = !sc || ml_scope_has(sc, &unit, ML_LANE_REG);
	}
	sqlite3_reset(st);
	return step == SQLITE_ROW || step == SQLITE_DONE
	           ? ML_OK
	           : ml__sqlerr(s, "find a photo's unit", err);
}

int ml_photo_forget(struct ml_store *s, const char *dir, const struct ml_hash *id,
                    struct ml_buf *err)
{
	char path[4096];
	path_of(dir, id, path, sizeof path);
	unlink(path);
	sqlite3_stmt *st = ml__stmt(s, ST_PHOTO_UNHELD);
	if (st)
		sqlite3_bind_blob(st, 1, id->b, 32, SQLITE_STATIC);
	return ml__exec(s, st, "mark a photo wanted", err);
}

uint64_t ml_photo_refs_added(const struct ml_store *s)
{
	return s->photo_refs;
}
