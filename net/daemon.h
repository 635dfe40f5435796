/*
 * daemon.h - the node on the network: `memberlog serve`, `sync` and `network
 * join TOKEN` all run this one libuv loop (docs/PROTOCOL.md §12).
 *
 * It listens for peers, dials configured and discovered ones with backoff,
 * reconciles feed heads within each peer's scope, sends what the peer lacks
 * in causal order, ingests what it receives, and pushes every new op (its
 * own commands', or a peer's) to the other connected peers whose scope
 * holds it: a district relays between its communes and the province.
 */
#ifndef ML_DAEMON_H
#define ML_DAEMON_H

#include "node/store.h"

#include "crdt/buf.h"
#include "crdt/key.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What a joining device learnt from an invite token. */
struct ml_daemon_join {
	struct ml_pubkey inviter; /* the only device it will talk to */
	uint8_t id[16];
	uint8_t secret[32];
};

struct ml_daemon_config {
	const char *home;         /* the node directory: serve.sock goes there */
	const char *listen;       /* "HOST:PORT" to accept peers on, or NULL */
	const char *const *peers; /* "HOST:PORT" to dial and keep connected */
	size_t n_peers;
	const char *mdns_program; /* memberlog-mdns to announce and discover on the LAN, or NULL */
	const char *const *mdns_ifaces; /* interfaces for it (none: every suitable one) */
	size_t n_mdns_ifaces;
	bool once;                         /* sync once with every configured peer, then return */
	const struct ml_daemon_join *join; /* present this invite (with once) */
	uint32_t anti_entropy_ms;          /* reconcile again this often (0: 30 s) */
	uint32_t idle_ms;                  /* drop a peer silent this long (0: 90 s) */
	uint32_t handshake_ms;             /* drop a peer not admitted within this (0: 10 s) */
	uint32_t timeout_ms;               /* with once: give up after this long (0: 60 s) */
	FILE *log;                         /* one line per event, or NULL */
};

/* What a run did, for `sync` to report. */
struct ml_daemon_stats {
	uint64_t sessions, ops_in, ops_out, bytes_in, bytes_out, applied, refused_peers;
	uint64_t relayed; /* of ops_out, those another device wrote */
	uint64_t photos_in, photos_out;
	bool all_synced; /* with once: every configured peer completed a sync */
};

/*
 * Runs the node until SIGINT or SIGTERM (or, with once, until every peer
 * was synced or failed).  s and key are borrowed.  Returns ML_OK, ML_EIO
 * (cannot listen or bind the control socket; with once: a peer could not be
 * synced, the reason in err), ML_ENOMEM.
 */
int ml_daemon_run(const struct ml_daemon_config *cfg, struct ml_store *s, const struct ml_key *key,
                  struct ml_daemon_stats *stats, struct ml_buf *err);

/*
 * Tells a `serve` running on home that the store changed (a command wrote),
 * or asks it for its status lines (written to `status`, may be NULL).  Never
 * blocks long.  ML_OK, or ML_ENOTFOUND when no daemon listens there.
 */
int ml_daemon_notify(const char *home, FILE *status);

#endif
