/*
 * photo.h - members' photos: content-addressed blobs beside the store, and
 * the store's record of which photos its register references.
 *
 * A photo is never inside an op (REQUIREMENTS §10, decision 10): an op sets
 * a member's `photo` field to the BLAKE2b-256 of the file, and the file
 * lives in the node directory as blobs/<64 hex digits>.  The judge records,
 * for every photo an applied op sets, the unit of the feed of the first op
 * that set it in the `photos` table, so the node knows which photos it
 * should hold and who may receive one: a peer whose scope holds that unit's
 * register feed already holds the op that named the photo (PROTOCOL.md
 * §12.7).  Only the first op counts, so naming a hash learnt elsewhere in an
 * op of one's own does not open the photo to one's scope.  The table is derived: rebuild recomputes
 * it, the state hash ignores it.
 *
 * Functions that can fail return ML_OK or a negative ml_err with a sentence
 * in err (which may be NULL).
 */
#ifndef ML_PHOTO_H
#define ML_PHOTO_H

#include "scope.h"
#include "store.h"

#include "crdt/buf.h"
#include "crdt/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ML_PHOTO_MAX (1u << 20) /* 1 MB: the register's limit on a photo file */

/* Checks that data is a photo the register accepts: JPEG or PNG, at most ML_PHOTO_MAX bytes.
 * ML_OK, or ML_EINVAL / ML_ETOOBIG with why in err. */
int ml_photo_check(const uint8_t *data, size_t len, struct ml_buf *err);

/* Writes dir/<hex of id> for the 65-byte out (the path without dir). */
void ml_photo_name(const struct ml_hash *id, char out[65]);

/*
 * Stores data as the blob dir/<hash> (creating dir), durably: written to a
 * temporary file, synced, renamed; an existing blob is kept when its bytes
 * hash to its name, replaced otherwise.  Sets *id.
 * Does not check the content (see ml_photo_check).  ML_OK or ML_EIO.
 */
int ml_photo_put(const char *dir, const uint8_t *data, size_t len, struct ml_hash *id,
                 struct ml_buf *err);

/*
 * Reads blob id from dir into out (reset first), checking its hash.
 * ML_OK, ML_ENOTFOUND (not held), ML_EIO (unreadable, or its bytes do not
 * hash to id: a damaged file, to be fetched again), ML_ENOMEM.
 */
int ml_photo_get(const char *dir, const struct ml_hash *id, struct ml_buf *out, struct ml_buf *err);

/* True when dir holds a file named for id (its content is checked on reading). */
bool ml_photo_has(const char *dir, const struct ml_hash *id);

/*
 * Lists, in hash order after *after (exclusive; NULL: from the start), up to
 * max photos the register references that are not marked held, into out;
 * sets *n.  ML_OK or ML_ESTORE.
 */
int ml_photo_wanted(struct ml_store *s, const struct ml_hash *after, struct ml_hash *out,
                    size_t max, size_t *n, struct ml_buf *err);

/* Marks photo id held (the blob is in the node directory).  ML_OK or ML_ESTORE. */
int ml_photo_mark_held(struct ml_store *s, const struct ml_hash *id, struct ml_buf *err);

/*
 * Sets *ok when the first applied op that named photo id is in a feed the
 * scope holds: a device with that scope may receive it.  sc NULL: sets *ok
 * when the register references the photo at all.  ML_OK or ML_ESTORE.
 */
int ml_photo_readable(struct ml_store *s, const struct ml_scope_set *sc, const struct ml_hash *id,
                      bool *ok, struct ml_buf *err);

/*
 * Forgets a damaged or lost blob: removes dir/<id> and marks the photo
 * wanted again, so a walk fetches it.  ML_OK or ML_ESTORE.
 */
int ml_photo_forget(struct ml_store *s, const char *dir, const struct ml_hash *id,
                    struct ml_buf *err);

/* Counts the photo references ingest recorded since s was opened (a cue to fetch). */
uint64_t ml_photo_refs_added(const struct ml_store *s);

#endif
