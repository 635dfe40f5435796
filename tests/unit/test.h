/*
 * test.h - shared helpers for memberlog's cmocka unit tests.
 *
 * Everything here builds real ops with real keys; nothing is mocked.
 */
#ifndef ML_TEST_H
#define ML_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crdt/buf.h"
#include "crdt/feed.h"
#include "crdt/key.h"
#include "crdt/op.h"

/* Fails the test unless expr returns ML_OK, naming the error and the message in err_buf. */
#define TEST_OK(err_buf, expr)                                                                \
	do {                                                                                  \
		int rc_ = (expr);                                                             \
		if (rc_ != ML_OK)                                                             \
			fail_msg("%s: %s: %s", #expr, ml_err_name(rc_), ml_buf_str(err_buf)); \
	} while (0)

/* Decodes hex (spaces ignored) into out; fails the test if it does not fit or is not hex. */
size_t test_unhex(const char *hex, uint8_t *out, size_t cap);

/* Fails the test unless p[0..n) equals the bytes spelled by hex (spaces ignored). */
void test_assert_hex(const uint8_t *p, size_t n, const char *hex);

/* Returns the key derived from a seed of 32 bytes all equal to `b`; caller frees. */
struct ml_key *test_key(uint8_t b);

/* A test feed: a writer's head and clock, with its key. */
struct test_feed {
	struct ml_key *key;
	struct ml_feed_head head;
	struct ml_hlc clock;
	uint64_t now_ms;
};

/* Writes the canonical body {"n": i, "name": "Nguyễn Thị Đào"} into out; returns its length. */
size_t test_body(uint64_t i, uint8_t out[static 64]);

/*
 * Writes a genesis op by `key` into out; returns the network id.  The feed
 * is left ready for more gov ops about the national unit.
 */
struct ml_hash test_genesis(struct test_feed *f, struct ml_buf *out);

/*
 * Writes one batch of n ops (type "test_op", bodies test_body(i)) to feed f
 * of network net, into out; ends[] receives the offsets.  Asserts success.
 */
void test_write_batch(struct test_feed *f, const struct ml_hash *net, size_t n, struct ml_buf *out,
                      size_t *ends);

/* Parses every op of out (split at ends[0..n)) into ops[]; asserts success. */
void test_parse_all(const struct ml_buf *out, const size_t *ends, size_t n, struct ml_op *ops);

#endif
