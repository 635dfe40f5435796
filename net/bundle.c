/*
 * bundle.c - writing and reading bundle files (see bundle.h).
 */
#include "bundle.h"

#include "crdt/err.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAGIC       "memberlog-bundle"
#define MAGIC_LEN   16
#define VERSION     1
#define F_ENCRYPTED 1
#define HEAD_LEN    (MAGIC_LEN + 2 + 32)
#define SEALED_LEN  (crypto_secretstream_xchacha20poly1305_KEYBYTES + crypto_box_SEALBYTES)
#define CHUNK       65536

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The whole file's bytes, built in memory: bundles are what a USB stick carries in one go. */
static int encode(struct ml_buf *out, const struct ml_hash *net, const struct ml_pubkey *to,
                  const uint8_t *ops, size_t len, struct ml_buf *err)
{
	uint8_t head[HEAD_LEN];
	memcpy(head, MAGIC, MAGIC_LEN);
	head[MAGIC_LEN] = VERSION;
	head[MAGIC_LEN + 1] = to ? F_ENCRYPTED : 0;
	memcpy(head + MAGIC_LEN + 2, net->b, 32);
	int rc = ml_buf_add(out, head, sizeof head);
	if (rc != ML_OK || !to)
		return rc == ML_OK ? ml_buf_add(out, ops, len) : rc;

	uint8_t xpk[crypto_box_PUBLICKEYBYTES];
	if (crypto_sign_ed25519_pk_to_curve25519(xpk, to->b) != 0)
		return ml_errf(err, ML_ECRYPT, "the recipient's device key is not a usable key");
	uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES], sealed[SEALED_LEN];
	crypto_secretstream_xchacha20poly1305_keygen(key);
	crypto_box_seal(sealed, key, sizeof key, xpk);
	crypto_secretstream_xchacha20poly1305_state st;
	uint8_t hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	crypto_secretstream_xchacha20poly1305_init_push(&st, hdr, key);
	sodium_memzero(key, sizeof key);
	rc = ml_buf_add(out, to->b, 32);
	if (rc == ML_OK)
		rc = ml_buf_add(out, sealed, sizeof sealed);
	if (rc == ML_OK)
		rc = ml_buf_add(out, hdr, sizeof hdr);
	/* Every chunk authenticates the clear header (its associated data). */
	size_t off = 0;
	do {
		size_t n = len - off < CHUNK ? len - off : CHUNK;
		bool last = off + n == len;
		size_t clen = n + crypto_secretstream_xchacha20poly1305_ABYTES;
		if (rc == ML_OK)
			rc = ml_buf_reserve(out, 4 + clen);
		if (rc != ML_OK)
			break;
		put_u32(out->data + out->len, (uint32_t)clen);
		crypto_secretstream_xchacha20poly1305_push(
		    &st, out->data + out->len + 4, NULL, ops + off, n, head, sizeof head,
		    last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
		out->len += 4 + clen;
		off += n;
	} while (off < len);
	sodium_memzero(&st, sizeof st);
	return rc;
}

int ml_bundle_write(const char *path, const struct ml_hash *net, const struct ml_pubkey *to,
                    const uint8_t *ops, size_t len, struct ml_buf *err)
{
	struct ml_buf file = ML_BUF_INIT, tmp = ML_BUF_INIT;
	int rc = encode(&file, net, to, ops, len, err);
	if (rc == ML_OK)
		rc = ml_buf_addf(&tmp, "%s.tmp%ld", path, (long)getpid());
	if (rc == ML_OK) {
		FILE *f = fopen(ml_buf_str(&tmp), "wb");
		bool ok = f && fwrite(file.data, 1, file.len, f) == file.len;
		ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
		int e = errno;
		if (f && fclose(f) != 0)
			ok = false;
		if (!ok || rename(ml_buf_str(&tmp), path) != 0) {
			e = ok ? errno : e;
			unlink(ml_buf_str(&tmp));
			rc =
			    ml_errf(err, ML_EIO, "cannot write bundle '%s': %s", path, strerror(e));
		}
	}
	ml_buf_release(&file);
	ml_buf_release(&tmp);
	return rc;
}

int ml_bundle_read(const uint8_t *file, size_t len, const struct ml_key *me,
                   struct ml_bundle_info *info, struct ml_buf *ops, struct ml_buf *err)
{
	memset(info, 0, sizeof *info);
	if (len < HEAD_LEN || memcmp(file, MAGIC, MAGIC_LEN) != 0)
		return ml_errf(err, ML_EMALFORMED, "not a memberlog bundle");
	if (file[MAGIC_LEN] != VERSION)
		return ml_errf(
		    err, ML_EVERSION,
		    "bundle format version %d; this build reads version %d: update memberlog",
		    file[MAGIC_LEN], VERSION);
	if (file[MAGIC_LEN + 1] & ~F_ENCRYPTED)
		return ml_errf(err, ML_EMALFORMED, "bundle header has unknown flags");
	memcpy(info->net.b, file + MAGIC_LEN + 2, 32);
	info->encrypted = file[MAGIC_LEN + 1] & F_ENCRYPTED;
	if (!info->encrypted)
		return ml_buf_add(ops, file + HEAD_LEN, len - HEAD_LEN);

	size_t off = HEAD_LEN;
	const size_t hdr_len = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
	if (len < off + 32 + SEALED_LEN + hdr_len)
		return ml_errf(err, ML_EMALFORMED, "bundle is cut short");
	memcpy(info->to.b, file + off, 32);
	off += 32;
	if (!me || memcmp(me->pk.b, info->to.b, 32) != 0) {
		char hex[17];
		ml_hex_encode(info->to.b, 8, hex);
		return ml_errf(err, ML_ECRYPT,
		               "this bundle is encrypted to device %s..., not to this device", hex);
	}
	uint8_t xpk[crypto_box_PUBLICKEYBYTES], xsk[crypto_box_SECRETKEYBYTES];
	uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	int rc = ML_OK;
	if (crypto_sign_ed25519_pk_to_curve25519(xpk, me->pk.b) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(xsk, me->sk) != 0 ||
	    crypto_box_seal_open(key, file + off, SEALED_LEN, xpk, xsk) != 0)
		rc = ml_errf(err, ML_ECRYPT, "cannot open the bundle's key: it was altered");
	sodium_memzero(xsk, sizeof xsk);
	off += SEALED_LEN;
	crypto_secretstream_xchacha20poly1305_state st;
	if (rc == ML_OK &&
	    crypto_secretstream_xchacha20poly1305_init_pull(&st, file + off, key) != 0)
		rc = ml_errf(err, ML_ECRYPT, "the bundle's stream header is damaged");
	sodium_memzero(key, sizeof key);
	off += hdr_len;
	bool final = false;
	while (rc == ML_OK && !final) {
		if (len - off < 4)
			return ml_errf(err, ML_EMALFORMED, "bundle is cut short: copy it again");
		size_t clen = get_u32(file + off);
		off += 4;
		if (clen < crypto_secretstream_xchacha20poly1305_ABYTES ||
		    clen > CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES || clen > len - off)
			return ml_errf(err, ML_EMALFORMED,
			               "bundle is cut short or damaged: copy it again");
		size_t n = clen - crypto_secretstream_xchacha20poly1305_ABYTES;
		unsigned char tag;
		if ((rc = ml_buf_reserve(ops, n + 1)) != ML_OK)
			break;
		if (crypto_secretstream_xchacha20poly1305_pull(&st, ops->data + ops->len, NULL,
		                                               &tag, file + off, clen, file,
		                                               HEAD_LEN) != 0)
			rc = ml_errf(err, ML_ECRYPT, "the bundle was altered after it was written");
		ops->len += rc == ML_OK ? n : 0;
		off += clen;
		final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
	}
	sodium_memzero(&st, sizeof st);
	if (rc == ML_OK && off != len)
		rc = ml_errf(err, ML_EMALFORMED, "bundle has bytes after its end");
	return rc;
}
