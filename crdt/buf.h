/*
 * buf.h - a growable, length-carrying byte buffer (git's strbuf, Redis's sds).
 *
 * Invariants: `len <= cap`; when `cap > 0`, data[len] is a NUL byte so the
 * buffer can be read as a C string (binary contents may hold NULs too).
 * A zeroed struct is a valid empty buffer.  Writers append; on ML_ENOMEM
 * the buffer keeps its previous contents.
 *
 * The same type carries error detail: functions that can reject input take
 * an optional `struct ml_buf *err` and leave a sentence a person can act on
 * ("field 'seq': expected an unsigned integer at byte 41").
 */
#ifndef ML_BUF_H
#define ML_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct ml_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

#define ML_BUF_INIT        \
	{                  \
		NULL, 0, 0 \
	}

/* Frees the contents and zeroes b; accepts NULL and zeroed buffers. */
void ml_buf_release(struct ml_buf *b);

/* Empties b, keeping its allocation. */
void ml_buf_reset(struct ml_buf *b);

/* Ensures room for `extra` more bytes (plus the NUL); ML_OK or ML_ENOMEM (ETOOBIG on overflow). */
int ml_buf_reserve(struct ml_buf *b, size_t extra);

/* Appends n bytes from p; ML_OK or ML_ENOMEM. */
int ml_buf_add(struct ml_buf *b, const void *p, size_t n);

/* The longest unsigned LEB128 varint: a uint64_t in 7-bit groups. */
#define ML_VARINT_MAX 10

/* Writes v as an unsigned LEB128 varint, shortest form, into out; returns its length (1-10). */
size_t ml_varint_encode(uint64_t v, uint8_t out[ML_VARINT_MAX]);

/* Appends printf-formatted text; ML_OK or ML_ENOMEM. */
int ml_buf_addf(struct ml_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As ml_buf_addf with a va_list. */
int ml_buf_vaddf(struct ml_buf *b, const char *fmt, va_list ap);

/* Appends 2*n lowercase hex digits of p; ML_OK or ML_ENOMEM. */
int ml_buf_addhex(struct ml_buf *b, const void *p, size_t n);

/* Returns the contents as a C string; "" for an empty buffer.  Borrowed until b changes. */
const char *ml_buf_str(const struct ml_buf *b);

/*
 * Replaces err's text with the formatted message and returns `code`, so a
 * rejection is one line: `return ml_errf(err, ML_ETYPE, "field '%s' ...", k);`.
 * err may be NULL (the message is dropped).  A failed allocation drops it too.
 */
int ml_errf(struct ml_buf *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends formatted context ("op 3: ") to err's message; no-op when err is NULL. */
void ml_err_prefix(struct ml_buf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
