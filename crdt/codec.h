/*
 * codec.h - strict reading and deterministic writing of CBOR (RFC 8949).
 *
 * The reader accepts only the deterministic subset memberlog uses (§4.2 of
 * the RFC): shortest-form heads, definite lengths, maps with text keys in
 * strictly ascending order of their encoded bytes, UTF-8 text, no floats,
 * tags or simple values other than false, true and null.  Item heads are
 * decoded by libcbor's allocation-free streaming decoder; the rules above
 * are ours, because libcbor accepts non-canonical input.
 *
 * Errors are sticky (git's strbuf, Redis's listpack validation): after the
 * first failure every read returns zeros and `err` keeps the first code and
 * the byte offset where it happened.  Check `err` and `off == len` once at
 * the end.  Reads never touch bytes outside p[0..len).
 *
 * The writer emits shortest forms through libcbor's streaming encoders, into
 * a growable buffer, or - in compare mode - checks what it would emit
 * against reference bytes without storing anything.  Compare mode is how an
 * op is proved canonical: decode, re-encode, compare.
 */
#ifndef ML_CODEC_H
#define ML_CODEC_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ml_cbor_kind {
	ML_CBOR_NONE = 0, /* nothing read (after an error) */
	ML_CBOR_UINT,
	ML_CBOR_NEGINT, /* value is -1 - val */
	ML_CBOR_BYTES,
	ML_CBOR_TEXT,
	ML_CBOR_ARRAY,
	ML_CBOR_MAP,
	ML_CBOR_BOOL,
	ML_CBOR_NULL,
	ML_CBOR_OTHER, /* tag, float, undefined: well-formed, never accepted */
};

struct ml_cbor_item {
	enum ml_cbor_kind kind;
	uint64_t val;       /* integer argument, string length, item count, or bool */
	const uint8_t *ptr; /* string contents, borrowed from the reader's input */
	size_t start;       /* offset of the item's head */
};

struct ml_reader {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;          /* first error, ML_OK while none */
	size_t err_off;   /* offset of the item that failed */
	const char *what; /* static description of the first error */
};

/* Starts reading p[0..len); p is borrowed for the reader's lifetime. */
void ml_rd_init(struct ml_reader *r, const void *p, size_t len);

/* Records an error at offset `at` unless one is already recorded; returns r->err. */
int ml_rd_fail(struct ml_reader *r, int code, size_t at, const char *what);

/*
 * Reads one item head (a whole string for bytes and text).  Returns ML_OK
 * or the sticky error: ML_ETRUNCATED, ML_EMALFORMED (reserved values,
 * invalid UTF-8), ML_ENONCANON (indefinite length, non-shortest head).
 */
int ml_rd_item(struct ml_reader *r, struct ml_cbor_item *it);

/* Typed reads: on a different kind they fail with ML_ETYPE and return 0 / NULL. */
uint64_t ml_rd_uint(struct ml_reader *r);
const uint8_t *ml_rd_bytes(struct ml_reader *r, size_t *n);
const uint8_t *ml_rd_text(struct ml_reader *r, size_t *n);
uint64_t ml_rd_array(struct ml_reader *r);
uint64_t ml_rd_map(struct ml_reader *r);
bool ml_rd_bool(struct ml_reader *r);

/*
 * Reads one complete value of the deterministic subset (maps need text keys in
 * canonical order, nesting at most max_depth deep).  Sets *start and *len to
 * its encoded bytes.  Returns ML_OK or the sticky error (ML_ETYPE for floats,
 * tags, undefined or non-text keys; ML_ENONCANON for key order; ML_ETOOBIG
 * for depth).
 */
int ml_rd_value(struct ml_reader *r, int max_depth, size_t *start, size_t *len);

/* Appends "what at byte N" for the reader's error to err (no-op without an error). */
void ml_rd_describe(const struct ml_reader *r, struct ml_buf *err);

/* Returns true when p[0..n) is valid UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
bool ml_utf8_valid(const uint8_t *p, size_t n);

struct ml_writer {
	struct ml_buf *out; /* append mode: bytes go here */
	const uint8_t *ref; /* compare mode (out == NULL): bytes must equal ref */
	size_t ref_len;
	size_t off;      /* bytes emitted so far */
	int err;         /* sticky: ML_ENOMEM, or ML_ENONCANON on a mismatch */
	size_t mismatch; /* compare mode: first differing offset */
};

/* Starts a writer appending to out (borrowed). */
void ml_wr_init(struct ml_writer *w, struct ml_buf *out);

/* Starts a writer that compares everything emitted against ref[0..len) (borrowed). */
void ml_wr_init_compare(struct ml_writer *w, const uint8_t *ref, size_t len);

/* Emitters; errors are sticky in w->err. */
void ml_wr_raw(struct ml_writer *w, const void *p, size_t n);
void ml_wr_uint(struct ml_writer *w, uint64_t v);
void ml_wr_negint(struct ml_writer *w, uint64_t v); /* encodes -1 - v */
void ml_wr_bytes(struct ml_writer *w, const void *p, size_t n);
void ml_wr_text(struct ml_writer *w, const char *s, size_t n);
void ml_wr_cstr(struct ml_writer *w, const char *s);
void ml_wr_array(struct ml_writer *w, uint64_t count);
void ml_wr_map(struct ml_writer *w, uint64_t count);
void ml_wr_bool(struct ml_writer *w, bool v);
void ml_wr_null(struct ml_writer *w);

/* Returns ML_OK if the compare-mode writer emitted exactly ref, else ML_ENONCANON. */
int ml_wr_compare_done(const struct ml_writer *w);

#endif
