/*
 * test_node_keyfile.c - device key files on a real file system.
 */
#include "test.h"

#include "crdt/err.h"
#include "node/keyfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fx {
	char dir[64];
	char path[96];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	strcpy(fx->dir, "/tmp/ml-keyfile-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof fx->path, "%s/device.key", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void test_keyfile_create_then_load_gives_same_key(void **state)
{
	struct fx *fx = *state;
	struct ml_key *k, *back;
	assert_int_equal(ml_key_generate(&k), ML_OK);
	assert_int_equal(ml_keyfile_create(fx->path, k, NULL), ML_OK);
	struct stat st;
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(ml_keyfile_load(fx->path, &back, NULL), ML_OK);
	assert_memory_equal(back->pk.b, k->pk.b, sizeof k->pk.b);
	assert_memory_equal(back->sk, k->sk, sizeof k->sk);
	ml_key_free(k);
	ml_key_free(back);
}

static void test_keyfile_refuses_to_overwrite(void **state)
{
	struct fx *fx = *state;
	struct ml_key *k = test_key(1), *k2 = test_key(2), *back;
	assert_int_equal(ml_keyfile_create(fx->path, k, NULL), ML_OK);
	assert_int_equal(ml_keyfile_create(fx->path, k2, NULL), ML_EEXIST);
	assert_int_equal(ml_keyfile_load(fx->path, &back, NULL), ML_OK);
	assert_memory_equal(back->pk.b, k->pk.b, sizeof k->pk.b); /* the first key survived */
	ml_key_free(k);
	ml_key_free(k2);
	ml_key_free(back);
}

static void test_keyfile_missing_says_how_to_create(void **state)
{
	struct fx *fx = *state;
	struct ml_key *k = (struct ml_key *)1;
	struct ml_buf err = ML_BUF_INIT;
	assert_int_equal(ml_keyfile_load(fx->path, &k, &err), ML_EKEYFILE);
	assert_null(k);
	assert_non_null(strstr(ml_buf_str(&err), "does not exist"));
	assert_non_null(strstr(ml_buf_str(&err), "memberlog init"));
	ml_buf_release(&err);
}

static void test_keyfile_rejects_group_or_world_access(void **state)
{
	struct fx *fx = *state;
	struct ml_key *k = test_key(1), *back;
	assert_int_equal(ml_keyfile_create(fx->path, k, NULL), ML_OK);
	static const mode_t bad[] = {0640, 0604, 0644, 0660, 0700 | 0007};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(chmod(fx->path, bad[i]), 0);
		struct ml_buf err = ML_BUF_INIT;
		assert_int_equal(ml_keyfile_load(fx->path, &back, &err), ML_EKEYFILE);
		assert_non_null(strstr(ml_buf_str(&err), "chmod 600"));
		ml_buf_release(&err);
	}
	assert_int_equal(chmod(fx->path, 0400), 0);
	assert_int_equal(ml_keyfile_load(fx->path, &back, NULL), ML_OK);
	ml_key_free(back);
	ml_key_free(k);
}

static void test_keyfile_rejects_unreadable_and_odd_files(void **state)
{
	struct fx *fx = *state;
	struct ml_key *back;
	struct ml_buf err = ML_BUF_INIT;
	/* a directory */
	assert_int_equal(ml_keyfile_load(fx->dir, &back, &err), ML_EKEYFILE);
	assert_non_null(strstr(ml_buf_str(&err), "not a regular file"));
	/* a symlink is not followed */
	char link[128];
	snprintf(link, sizeof link, "%s/link", fx->dir);
	assert_int_equal(symlink("/etc/hostname", link), 0);
	assert_int_equal(ml_keyfile_load(link, &back, &err), ML_EKEYFILE);
	assert_non_null(strstr(ml_buf_str(&err), "cannot open"));
	unlink(link);
	/* unreadable for a non-root user: the permission is checked by the kernel */
	if (geteuid() != 0) {
		struct ml_key *k = test_key(1);
		assert_int_equal(ml_keyfile_create(fx->path, k, NULL), ML_OK);
		chmod(fx->path, 0000);
		assert_int_equal(ml_keyfile_load(fx->path, &back, &err), ML_EKEYFILE);
		assert_non_null(strstr(ml_buf_str(&err), "Permission denied"));
		ml_key_free(k);
		unlink(fx->path);
	}
	ml_buf_release(&err);
}

static void test_keyfile_rejects_damaged_content(void **state)
{
	struct fx *fx = *state;
	static const char *bodies[] = {
	    "",
	    "not a key\n",
	    "memberlog-device-key-v1\nzz\n",
	    "memberlog-device-key-v1\n0011\n",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		FILE *f = fopen(fx->path, "w");
		fputs(bodies[i], f);
		fclose(f);
		chmod(fx->path, 0600);
		struct ml_key *back;
		struct ml_buf err = ML_BUF_INIT;
		assert_int_equal(ml_keyfile_load(fx->path, &back, &err), ML_EKEYFILE);
		assert_true(strstr(ml_buf_str(&err), "damaged") ||
		            strstr(ml_buf_str(&err), "not a memberlog"));
		ml_buf_release(&err);
		unlink(fx->path);
	}
}

int main(void)
{
	ml_crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_keyfile_create_then_load_gives_same_key, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_keyfile_refuses_to_overwrite, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keyfile_missing_says_how_to_create, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_keyfile_rejects_group_or_world_access, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_keyfile_rejects_unreadable_and_odd_files, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_keyfile_rejects_damaged_content, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
