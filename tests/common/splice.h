/*
 * splice.h - byte surgery on encoded ops, for building invalid inputs in
 * tests and in the test-vector generator.
 */
#ifndef ML_TEST_SPLICE_H
#define ML_TEST_SPLICE_H

#include "crdt/buf.h"

#include <stddef.h>
#include <stdint.h>

/* Replaces del bytes at offset at of b with ins[0..n).  Returns 0, or -1 if out of range. */
int splice_bytes(struct ml_buf *b, size_t at, size_t del, const void *ins, size_t n);

/* Returns the offset of the encoded text key `key` (head byte included) in b, or SIZE_MAX. */
size_t splice_find_key(const struct ml_buf *b, const char *key);

/* Returns the offset just past the encoded key `key`, where its value starts, or SIZE_MAX. */
size_t splice_value_at(const struct ml_buf *b, const char *key);

/* Returns the length of the complete CBOR item at offset at of b (0 if malformed). */
size_t splice_item_len(const struct ml_buf *b, size_t at);

#endif
