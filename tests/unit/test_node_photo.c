/*
 * test_node_photo.c - photo blobs on a real file system: what the register
 * accepts, durable content-addressed storage, and damaged files caught on
 * reading.  (Which photos a register references, and who may fetch them, is
 * exercised between real daemons in tests/integ/t0010-photos.sh.)
 */
#include "test.h"

#include "crdt/err.h"
#include "node/photo.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fx {
	char root[64];
	char dir[96]; /* root/blobs: made by the first put */
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	strcpy(fx->root, "/tmp/ml-photo-XXXXXX");
	assert_non_null(mkdtemp(fx->root));
	snprintf(fx->dir, sizeof fx->dir, "%s/blobs", fx->root);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	DIR *d = opendir(fx->dir);
	struct dirent *e;
	char path[512];
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof path, "%s/%s", fx->dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(fx->dir);
	rmdir(fx->root);
	free(fx);
	return 0;
}

/* A JPEG-headed buffer of n bytes with content from seed. */
static uint8_t *jpeg(size_t n, unsigned seed)
{
	uint8_t *p = malloc(n);
	static const uint8_t head[] = {0xff, 0xd8, 0xff, 0xe0};
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
	memcpy(p, head, sizeof head);
	return p;
}

static void test_photo_check_accepts_jpeg_png_up_to_1mb_only(void **state)
{
	(void)state;
	static const uint8_t png[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1};
	static const uint8_t gif[16] = "GIF89a.........";
	uint8_t *big = jpeg(ML_PHOTO_MAX + 1, 1);
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(ml_photo_check(big, ML_PHOTO_MAX, NULL), ML_OK);
	assert_int_equal(ml_photo_check(png, sizeof png, NULL), ML_OK);
	assert_int_equal(ml_photo_check(big, ML_PHOTO_MAX + 1, &err), ML_ETOOBIG);
	assert_non_null(strstr(ml_buf_str(&err), "1,048,576"));
	assert_int_equal(ml_photo_check(gif, sizeof gif, NULL), ML_EINVAL);
	assert_int_equal(ml_photo_check(big, 3, NULL), ML_EINVAL); /* a bare JPEG magic */
	ml_buf_release(&err);
	free(big);
}

static void test_photo_put_get_round_trip_by_hash(void **state)
{
	struct fx *fx = *state;
	uint8_t *a = jpeg(300000, 2);
	struct ml_hash id = ml_hash_of(a, 300000), again;
	struct ml_buf out = ML_BUF_INIT;
	assert_false(ml_photo_has(fx->dir, &id));
	assert_int_equal(ml_photo_put(fx->dir, a, 300000, &id, NULL), ML_OK);
	struct ml_hash want = ml_hash_of(a, 300000);
	assert_memory_equal(id.b, want.b, 32);
	assert_true(ml_photo_has(fx->dir, &id));
	/* storing it again is harmless and names the same blob */
	assert_int_equal(ml_photo_put(fx->dir, a, 300000, &again, NULL), ML_OK);
	assert_memory_equal(again.b, id.b, 32);
	assert_int_equal(ml_photo_get(fx->dir, &id, &out, NULL), ML_OK);
	assert_int_equal(out.len, 300000);
	assert_memory_equal(out.data, a, 300000);
	/* no temporary file is left behind */
	DIR *d = opendir(fx->dir);
	int files = 0;
	for (struct dirent *e; (e = readdir(d));)
		files += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files, 1);
	ml_buf_release(&out);
	free(a);
}

static void test_photo_get_missing_and_damaged(void **state)
{
	struct fx *fx = *state;
	uint8_t *a = jpeg(5000, 3);
	struct ml_hash id, other = ml_hash_of("x", 1);
	struct ml_buf out = ML_BUF_INIT, err = ML_BUF_INIT;
	assert_int_equal(ml_photo_put(fx->dir, a, 5000, &id, NULL), ML_OK);
	assert_int_equal(ml_photo_get(fx->dir, &other, &out, &err), ML_ENOTFOUND);
	assert_non_null(strstr(ml_buf_str(&err), "not held"));
	/* one flipped byte on disk: caught on reading, nothing returned */
	char hex[65], path[256];
	ml_photo_name(&id, hex);
	snprintf(path, sizeof path, "%s/%s", fx->dir, hex);
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, 4000, SEEK_SET);
	fputc(a[4000] ^ 1, f);
	fclose(f);
	ml_buf_reset(&err);
	assert_int_equal(ml_photo_get(fx->dir, &id, &out, &err), ML_EIO);
	assert_non_null(strstr(ml_buf_str(&err), "damaged"));
	assert_int_equal(out.len, 0);
	ml_buf_release(&out);
	ml_buf_release(&err);
	free(a);
}

static void test_photo_put_into_unwritable_place_fails_cleanly(void **state)
{
	(void)state;
	uint8_t *a = jpeg(100, 4);
	struct ml_hash id;
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(ml_photo_put("/proc/ml-no-such/blobs", a, 100, &id, &err), ML_EIO);
	assert_non_null(strstr(ml_buf_str(&err), "/proc/ml-no-such/blobs"));
	ml_buf_release(&err);
	free(a);
}

int main(void)
{
	ml_crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_photo_check_accepts_jpeg_png_up_to_1mb_only),
	    cmocka_unit_test_setup_teardown(test_photo_put_get_round_trip_by_hash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_photo_get_missing_and_damaged, setup, teardown),
	    cmocka_unit_test(test_photo_put_into_unwritable_place_fails_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
