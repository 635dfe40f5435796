/*
 * test_cli.c - helpers for the tests of cli/'s file formats; see test_cli.h.
 */
#include "test_cli.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <zip.h>

char *cli_test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir = NULL;
	if (asprintf(&dir, "%s/memberlog-io-XXXXXX", base && *base ? base : "/tmp") < 0)
		fail_msg("asprintf");
	if (!mkdtemp(dir))
		fail_msg("mkdtemp %s", dir);
	return dir;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

void cli_test_rmdir(char *dir)
{
	if (dir && nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fail_msg("cannot remove %s", dir);
	free(dir);
}

char *cli_test_path(const char *dir, const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		fail_msg("asprintf");
	return p;
}

void cli_test_write(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		fail_msg("cannot write %s", path);
}

uint8_t *cli_test_read(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		if (!buf)
			fail_msg("out of memory");
		size_t k = fread(buf + len, 1, cap - len - 1, f);
		if (k == 0)
			break;
		len += k;
	}
	fclose(f);
	buf[len] = 0;
	*n = len;
	return buf;
}

int cli_test_count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open %s", dir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

void cli_test_zip(const char *path, const struct cli_test_part *parts, size_t n, int stored)
{
	int zerr;
	zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	if (!z)
		fail_msg("zip_open %s: %d", path, zerr);
	for (size_t i = 0; i < n; i++) {
		zip_source_t *s = zip_source_buffer(z, parts[i].text, strlen(parts[i].text), 0);
		zip_int64_t idx = s ? zip_file_add(z, parts[i].name, s, ZIP_FL_OVERWRITE) : -1;
		if (idx < 0)
			fail_msg("zip_file_add %s: %s", parts[i].name, zip_strerror(z));
		if (stored && zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0) != 0)
			fail_msg("zip_set_file_compression: %s", zip_strerror(z));
	}
	if (zip_close(z) != 0)
		fail_msg("zip_close %s: %s", path, zip_strerror(z));
}
