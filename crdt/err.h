/*
 * err.h - memberlog's error codes.
 *
 * Every fallible function returns ML_OK (0) or a negative `enum ml_err`.
 * One list, ML_ERRNO_MAP, generates the enum, ml_strerror() and
 * ml_err_name(), as libuv's UV_ERRNO_MAP does.  The names are part of the
 * interface: test vectors and logs refer to them (`err=ML_EBADSIG`), so a
 * code is never renamed or reused.
 *
 * Three classes:
 *   local failures   ENOMEM EIO ESTORE EINVAL ENOTFOUND EKEYFILE EEXIST
 *   rejected input   EMALFORMED .. EDUPLICATE  (counted per peer by net/)
 *   flow             EAGAIN EMISSINGDEP
 */
#ifndef ML_ERR_H
#define ML_ERR_H

#define ML_ERRNO_MAP(X)                                            \
	X(ENOMEM, "out of memory")                                 \
	X(EIO, "input/output error")                               \
	X(ESTORE, "database error")                                \
	X(EINVAL, "invalid argument")                              \
	X(ENOTFOUND, "not found")                                  \
	X(EKEYFILE, "device key file unusable")                    \
	X(EEXIST, "already exists")                                \
	X(EMALFORMED, "malformed CBOR")                            \
	X(ETRUNCATED, "input ends inside an item")                 \
	X(ETRAILING, "trailing bytes after the item")              \
	X(ENONCANON, "not in canonical (deterministic) CBOR form") \
	X(ETOOBIG, "exceeds a size limit")                         \
	X(ETYPE, "value has the wrong CBOR type")                  \
	X(EFIELD, "missing, unknown or invalid field")             \
	X(EVERSION, "unknown format version")                      \
	X(EWRONGNET, "belongs to another network")                 \
	X(EBADSIG, "signature does not verify")                    \
	X(ESEQ, "feed continuity broken (seq or prev)")            \
	X(ECLOCK, "clock does not increase within the feed")       \
	X(EFUTURE, "clock too far in the future")                  \
	X(EBATCH, "batch too long or not closed by a signature")   \
	X(EUNAUTH, "author not authorised")                        \
	X(EREVOKED, "author key revoked")                          \
	X(EFORK, "feed forked (equivocation)")                     \
	X(EDUPLICATE, "duplicate")                                 \
	X(EAGAIN, "try again later")                               \
	X(EMISSINGDEP, "waiting for missing ops")                  \
	X(ECRYPT, "cannot decrypt: for another device, or altered")

enum ml_err {
	ML_OK = 0,
	ML__ERR_BASE = -1000,
#define ML_ERR_ENUM(name, msg) ML_##name,
	ML_ERRNO_MAP(ML_ERR_ENUM)
#undef ML_ERR_ENUM
	    ML__ERR_END
};

/* Returns a static English description of `err`; never NULL, even for unknown codes. */
const char *ml_strerror(int err);

/* Returns the static symbolic name of `err` ("ML_EBADSIG"); "ML_OK" for 0; never NULL. */
const char *ml_err_name(int err);

/* Returns the code named `name` ("ML_EBADSIG" or "EBADSIG"), or ML_EINVAL if none has that name. */
int ml_err_from_name(const char *name);

#endif
