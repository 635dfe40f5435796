/*
 * bundle.h - bundle files: ops carried between nodes on a USB stick
 * (docs/PROTOCOL.md §bundles).
 *
 *   magic "memberlog-bundle" (16) | version 1 (1) | flags (1) | network id (32)
 *   flags bit 0 clear: the ops, concatenated, as `memberlog ingest` reads them
 *   flags bit 0 set (encrypted to one device):
 *     recipient device key (32) | crypto_box_seal of a fresh secretstream key (80)
 *     | secretstream header (24) | chunks: u32 LE length, ciphertext (the last tagged FINAL)
 *
 * A bundle for a named device is encrypted to it because it carries personal
 * data: the device's ed25519 key converted to X25519 receives a sealed
 * one-time key, and the ops follow as an authenticated stream whose every
 * chunk also authenticates the header (a changed network id or a cut file
 * fails).  The ops inside are signed by their authors; the receiver verifies
 * them exactly as ops from the network.
 */
#ifndef ML_BUNDLE_H
#define ML_BUNDLE_H

#include "crdt/buf.h"
#include "crdt/key.h"
#include "crdt/types.h"

#include <stdbool.h>

/*
 * Writes a bundle of ops[0..len) for network net to path, encrypted to `to`
 * when it is not NULL.  The file appears whole or not at all (written beside
 * and renamed).  ML_OK, ML_EIO or ML_ECRYPT (to is not a usable key), with a message.
 */
int ml_bundle_write(const char *path, const struct ml_hash *net, const struct ml_pubkey *to,
                    const uint8_t *ops, size_t len, struct ml_buf *err);

/* What a bundle says about itself. */
struct ml_bundle_info {
	struct ml_hash net;
	bool encrypted;
	struct ml_pubkey to; /* when encrypted */
};

/*
 * Reads the bundle file[0..len): its header into *info and its ops, appended
 * to ops (decrypted with `me` when the bundle is encrypted).  Returns ML_OK;
 * ML_EMALFORMED (not a bundle, unknown version, truncated or altered),
 * ML_ECRYPT (encrypted to another device, or me is NULL), ML_ENOMEM.
 */
int ml_bundle_read(const uint8_t *file, size_t len, const struct ml_key *me,
                   struct ml_bundle_info *info, struct ml_buf *ops, struct ml_buf *err);

#endif
