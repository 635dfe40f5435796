/*
 * keyfile.h - the device key on disk.
 *
 * A device key file holds the ed25519 seed as text, two lines:
 *
 *     memberlog-device-key-v1
 *     <64 lowercase hex digits>
 *
 * and must be a regular file owned by the running user with no access for
 * group or others (mode 0600 or stricter), like an ssh private key.
 */
#ifndef ML_KEYFILE_H
#define ML_KEYFILE_H

#include "crdt/buf.h"
#include "crdt/key.h"

/*
 * Loads the key at path into *out (caller frees with ml_key_free).  Returns
 * ML_OK, or ML_EKEYFILE with a message saying what to do when the file is
 * missing, unreadable, not a regular file, accessible to others, owned by
 * someone else, or not a key file; ML_ENOMEM.  *out is NULL on error.
 */
int ml_keyfile_load(const char *path, struct ml_key **out, struct ml_buf *err);

/*
 * Writes k to a new file at path with mode 0600 and syncs it.  Refuses to
 * replace an existing file (ML_EEXIST); ML_EIO with the system's reason.
 */
int ml_keyfile_create(const char *path, const struct ml_key *k, struct ml_buf *err);

#endif
