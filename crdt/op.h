/*
 * op.h - the signed operation: memberlog's unit of replication.
 *
 * An op is one canonical CBOR map (docs/PROTOCOL.md pins every byte).  It
 * sits at position `seq` of the feed (author, unit, lane), links to the op
 * before it by `prev` (its id), and names the heads of other feeds its
 * author had seen in `deps`.  Its id is the BLAKE2b-256 of its encoding,
 * signature included.  Only the last op of a write batch carries a
 * signature; the hash chain extends that signature to the ops before it
 * (feed.h verifies runs).
 *
 * The genesis op, which creates the national unit and names the network by
 * its id, is the one op without `net` and `unit`: for it both are its own id
 * (ml_op_network, ml_op_feed_unit).
 *
 * Pointer fields (deps, body, raw) borrow from the bytes an op was parsed
 * from, or from the caller who built it; an op is valid only while they live.
 */
#ifndef ML_OP_H
#define ML_OP_H

#include "buf.h"
#include "hlc.h"
#include "key.h"
#include "limits.h"
#include "types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ML_OP_VERSION      1
#define ML_OP_TYPE_GENESIS "genesis"

/* Domain-separation prefix of every op signature: "memberlog/op/v1" and a NUL byte. */
#define ML_OP_SIG_DOMAIN       "memberlog/op/v1"
#define ML_OP_SIG_DOMAIN_BYTES 16

enum ml_lane {
	ML_LANE_GOV = 0, /* the tree, grants, revocations, number ranges */
	ML_LANE_REG = 1, /* the member register: personal data */
};

struct ml_op {
	uint64_t version;
	bool has_net; /* false only for genesis */
	struct ml_hash net;
	struct ml_pubkey author;
	bool has_unit; /* false only for genesis */
	struct ml_hash unit;
	enum ml_lane lane;
	uint64_t seq;        /* 1-based position in the feed */
	struct ml_hash prev; /* id of op seq-1; meaningful only when seq > 1 */
	const uint8_t *deps; /* ndeps ids of 32 bytes, contiguous, strictly ascending */
	size_t ndeps;
	struct ml_hlc hlc;
	char type[ML_OP_TYPE_MAX + 1]; /* NUL-terminated, [a-z][a-z0-9_]* */
	const uint8_t *body;           /* canonical CBOR map */
	size_t body_len;
	bool has_sig;
	struct ml_sig sig;

	/* Derived, not encoded. */
	struct ml_hash id;  /* set by ml_op_parse, ml_op_decode and ml_op_seal */
	const uint8_t *raw; /* the encoding this op was parsed from; NULL if built in memory */
	size_t raw_len;
};

/* Returns "gov" or "reg". */
const char *ml_lane_name(enum ml_lane lane);

/* Returns true for the genesis op (no net, no unit). */
bool ml_op_is_genesis(const struct ml_op *op);

/* Returns the network the op belongs to: its `net`, or its own id for genesis.  Borrowed from op.
 */
const struct ml_hash *ml_op_network(const struct ml_op *op);

/* Returns the unit of the op's feed: its `unit`, or its own id for genesis.  Borrowed from op. */
const struct ml_hash *ml_op_feed_unit(const struct ml_op *op);

/*
 * Appends the canonical encoding of op (with its signature iff has_sig) to
 * out.  Validates every field first, so an invalid op is never emitted.
 * Returns ML_OK; ML_EFIELD, ML_ETYPE, ML_ENONCANON, ML_ETOOBIG with a message in
 * err naming the field; or ML_ENOMEM.  out keeps its old contents on error.
 */
int ml_op_encode(const struct ml_op *op, struct ml_buf *out, struct ml_buf *err);

/*
 * Finishes an op built in memory: with key, sets the signature (key must be
 * op->author, else ML_EINVAL); without, leaves it unsigned.  Appends the
 * encoding to out and sets op->id.  Errors as ml_op_encode; out unchanged then.
 */
int ml_op_seal(struct ml_op *op, const struct ml_key *key, struct ml_buf *out, struct ml_buf *err);

/*
 * Parses p[0..len) into op, checking everything that needs neither the
 * network id nor a signature check: size, well-formed and canonical CBOR,
 * version, fields and their types.  Sets op->id and op->raw.  p is
 * borrowed by op.  Returns ML_OK or one of ML_ETOOBIG, ML_ETRUNCATED,
 * ML_EMALFORMED, ML_ETRAILING, ML_ENONCANON, ML_ETYPE, ML_EFIELD,
 * ML_EVERSION, with a message in err (optional).  Never reads outside p.
 */
int ml_op_parse(const uint8_t *p, size_t len, struct ml_op *op, struct ml_buf *err);

/*
 * Parses an encoding that ml_op_parse accepted before and whose id is known
 * (a node reading its own store): the same fields and bounds checks, without
 * the canonical-form check and the hash, which are the costly part.  Same
 * error contract as ml_op_parse; never reads outside p.
 */
int ml_op_parse_known(const uint8_t *p, size_t len, const struct ml_hash *id, struct ml_op *op,
                      struct ml_buf *err);

/*
 * Checks the signature of a parsed op (op->raw set) that has one.  ML_OK,
 * ML_EBADSIG, ML_EINVAL if op is unsigned or has no raw bytes, or ML_ENOMEM.
 * Thread-safe.
 */
int ml_op_verify_sig(const struct ml_op *op, struct ml_buf *err);

/* Returns ML_OK if op belongs to network *net, else ML_EWRONGNET with a message. */
int ml_op_check_network(const struct ml_op *op, const struct ml_hash *net, struct ml_buf *err);

/*
 * ml_op_parse, then: the op belongs to network *net (if net is non-NULL;
 * ML_EWRONGNET), and its signature, if present, verifies (ML_EBADSIG).
 * This is everything that can be checked of one op without other ops.
 */
int ml_op_decode(const uint8_t *p, size_t len, const struct ml_hash *net, struct ml_op *op,
                 struct ml_buf *err);

/* Returns the 32-byte id of dependency i (< op->ndeps). */
struct ml_hash ml_op_dep(const struct ml_op *op, size_t i);

#endif
