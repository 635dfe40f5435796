/*
 * keyfile.c - load and create device key files (format in keyfile.h).
 *
 * The permission checks run on the opened descriptor (fstat), so the file
 * checked is the file read.  The seed passes through a stack buffer that is
 * wiped before returning.
 */
#include "keyfile.h"

#include "crdt/err.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYFILE_MAGIC "memberlog-device-key-v1\n"

int ml_keyfile_load(const char *path, struct ml_key **out, struct ml_buf *err)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return ml_errf(err, ML_EKEYFILE,
			               "device key file '%s' does not exist; create it with "
			               "'memberlog init'",
			               path);
		return ml_errf(err, ML_EKEYFILE, "cannot open device key file '%s': %s", path,
		               strerror(errno));
	}
	struct stat st;
	int rc = ML_OK;
	char text[128];
	ssize_t n = 0;
	uint8_t seed[ML_SEED_BYTES];

	if (fstat(fd, &st) < 0) {
		rc = ml_errf(err, ML_EKEYFILE, "cannot stat device key file '%s': %s", path,
		             strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		rc = ml_errf(err, ML_EKEYFILE, "device key file '%s' is not a regular file", path);
	} else if (st.st_uid != geteuid()) {
		rc = ml_errf(err, ML_EKEYFILE,
		             "device key file '%s' belongs to user id %u, not to this user (%u)",
		             path, (unsigned)st.st_uid, (unsigned)geteuid());
	} else if (st.st_mode & 077) {
		rc = ml_errf(err, ML_EKEYFILE,
		             "device key file '%s' has mode %04o, so other users may read it; "
		             "it must be readable only by its owner: chmod 600 '%s'",
		             path, (unsigned)(st.st_mode & 07777), path);
	} else {
		n = read(fd, text, sizeof text - 1);
		if (n < 0)
			rc = ml_errf(err, ML_EKEYFILE, "cannot read device key file '%s': %s", path,
			             strerror(errno));
	}
	close(fd);
	if (rc == ML_OK) {
		text[n > 0 ? n : 0] = 0;
		size_t m = strlen(KEYFILE_MAGIC);
		char *hex = text + m;
		if ((size_t)n < m || memcmp(text, KEYFILE_MAGIC, m) != 0)
			rc = ml_errf(err, ML_EKEYFILE, "'%s' is not a memberlog device key file",
			             path);
		else {
			hex[strcspn(hex, "\r\n")] = 0;
			if (ml_hex_decode(hex, seed, sizeof seed) != ML_OK)
				rc = ml_errf(
				    err, ML_EKEYFILE,
				    "device key file '%s' is damaged: line 2 must be 64 hex "
				    "digits",
				    path);
			else
				rc = ml_key_from_seed(seed, out);
		}
	}
	sodium_memzero(text, sizeof text);
	sodium_memzero(seed, sizeof seed);
	return rc;
}

int ml_keyfile_create(const char *path, const struct ml_key *k, struct ml_buf *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return ml_errf(
			    err, ML_EEXIST,
			    "device key file '%s' already exists; refusing to replace it", path);
		return ml_errf(err, ML_EIO, "cannot create device key file '%s': %s", path,
		               strerror(errno));
	}
	uint8_t seed[ML_SEED_BYTES];
	char text[sizeof KEYFILE_MAGIC + 2 * ML_SEED_BYTES + 2];
	ml_key_seed(k, seed);
	memcpy(text, KEYFILE_MAGIC, strlen(KEYFILE_MAGIC));
	ml_hex_encode(seed, sizeof seed, text + strlen(KEYFILE_MAGIC));
	size_t len = strlen(text);
	text[len++] = '\n';
	int rc = ML_OK;
	if (fchmod(fd, 0600) < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		rc = ml_errf(err, ML_EIO, "cannot write device key file '%s': %s", path,
		             strerror(errno));
	if (close(fd) < 0 && rc == ML_OK)
		rc = ml_errf(err, ML_EIO, "cannot write device key file '%s': %s", path,
		             strerror(errno));
	if (rc < 0)
		unlink(path);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(text, sizeof text);
	return rc;
}
