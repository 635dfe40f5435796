/*
 * body.h - reading and building op bodies: canonical CBOR maps with text keys.
 *
 * A body is split once into its top-level entries (borrowed slices of the
 * op's bytes); typed getters then check one field each and name it in their
 * error ("field 'dob': ...").  The builder collects entries in any order and
 * writes them sorted as RFC 8949 §4.2.1 requires, so callers never order keys
 * by hand.
 */
#ifndef ML_BODY_H
#define ML_BODY_H

#include "buf.h"
#include "types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ML_BODY_MAX_FIELDS 48

struct ml_body_field {
	const char *key; /* not NUL-terminated */
	size_t klen;
	const uint8_t *val; /* the value's complete CBOR encoding */
	size_t vlen;
};

struct ml_body {
	struct ml_body_field f[ML_BODY_MAX_FIELDS];
	size_t n;
};

/*
 * Splits the canonical map p[0..len) into b (borrowing p).  Returns ML_OK,
 * ML_ETOOBIG (more than ML_BODY_MAX_FIELDS entries), or the reader's error.
 */
int ml_body_parse(struct ml_body *b, const uint8_t *p, size_t len, struct ml_buf *err);

/* Returns the entry named key, or NULL. */
const struct ml_body_field *ml_body_get(const struct ml_body *b, const char *key);

/*
 * Typed getters.  Each returns ML_OK; ML_ENOTFOUND when the field is absent
 * (no message: the caller decides whether that is an error); or ML_EFIELD with
 * "field 'KEY': ..." in err when it has the wrong type or shape.
 */
int ml_body_text(const struct ml_body *b, const char *key, const char **s, size_t *n,
                 struct ml_buf *err);
int ml_body_uint(const struct ml_body *b, const char *key, uint64_t *v, struct ml_buf *err);
int ml_body_bool(const struct ml_body *b, const char *key, bool *v, struct ml_buf *err);
int ml_body_hash(const struct ml_body *b, const char *key, struct ml_hash *h, struct ml_buf *err);
int ml_body_pubkey(const struct ml_body *b, const char *key, struct ml_pubkey *k,
                   struct ml_buf *err);

/*
 * A list of ids: one byte string of 32*n bytes, n >= 1, strictly ascending
 * (the encoding `deps` uses).  Sets *ids (borrowed) and *n.
 */
int ml_body_ids(const struct ml_body *b, const char *key, const uint8_t **ids, size_t *n,
                struct ml_buf *err);

/* Returns true when the 32-byte id is in the ascending list ids[0..n). */
bool ml_ids_contain(const uint8_t *ids, size_t n, const struct ml_hash *id);

struct ml_body_builder {
	struct ml_buf bytes; /* encoded key + value of each entry, back to back */
	struct {
		size_t off, klen, len;
	} e[ML_BODY_MAX_FIELDS];
	size_t n;
	int err; /* sticky: ML_ENOMEM, ML_ETOOBIG */
};

/* Starts an empty builder; release with ml_bb_release. */
void ml_bb_init(struct ml_body_builder *bb);

/* Frees the builder's memory; accepts zeroed builders. */
void ml_bb_release(struct ml_body_builder *bb);

/* Adders; the key is copied.  Errors are sticky in bb->err. */
void ml_bb_text(struct ml_body_builder *bb, const char *key, const char *s, size_t n);
void ml_bb_cstr(struct ml_body_builder *bb, const char *key, const char *s);
void ml_bb_uint(struct ml_body_builder *bb, const char *key, uint64_t v);
void ml_bb_bool(struct ml_body_builder *bb, const char *key, bool v);
void ml_bb_bytes(struct ml_body_builder *bb, const char *key, const void *p, size_t n);
void ml_bb_hash(struct ml_body_builder *bb, const char *key, const struct ml_hash *h);
/* Adds a value already encoded as one canonical CBOR item. */
void ml_bb_raw(struct ml_body_builder *bb, const char *key, const uint8_t *cbor, size_t n);
/* Adds an array of text strings. */
void ml_bb_text_list(struct ml_body_builder *bb, const char *key, const char *const *items,
                     size_t n);

/*
 * Appends the canonical map of the entries to out.  Returns ML_OK, the
 * sticky error, or ML_EFIELD if a key was added twice.
 */
int ml_bb_finish(struct ml_body_builder *bb, struct ml_buf *out);

#endif
