/*
 * daemon_int.h - what daemon.c (the loop, listener, dialling, discovery) and
 * peer.c (one connection's protocol) share.  Not for other modules.
 */
#ifndef ML_DAEMON_INT_H
#define ML_DAEMON_INT_H

#include "daemon.h"
#include "feedmap.h"
#include "recon.h"
#include "session.h"

#include "node/replica.h"
#include "node/scope.h"

#include <uv.h>

#define PEER_WRITE_HIGH  (8u << 20)  /* stop producing above this many queued bytes */
#define PEER_WRITE_LIMIT (64u << 20) /* a peer that lets this much pile up is dropped */
#define OPS_FRAME_BYTES  (512u << 10)
#define MAX_HANDSHAKING  32 /* connections not yet admitted */
#define MAX_PEERS        256
#define FRAMES_PER_SEC   4000 /* more than this, every second, is a flood */
/*
 * An honest peer sends in causal order, so what it leaves waiting is at most
 * a batch cut by a frame's end; one that leaves more would fill the store's
 * shared waiting buffer (ML_STORE_MAX_WAITING) and stall everyone's sync.
 */
#define PEER_WAITING_MAX (8 * 1024)
/* Feeds a round remembers the peer holds where this node holds none (peer.c on_diff): 2.5 MiB.
 * Past it a peer's ops that another sends are relayed back to it, as before session 22. */
#define PEER_AHEAD_MAX (64 * 1024)
/* Photos (photo.c): asked at a time; declined by one peer before its walk stops for the round;
 * promised to one peer when they arrive. */
#define PHOTO_ASK_MAX      8
#define PHOTO_DECLINED_MAX 4096
#define PHOTO_OWED_MAX     64
#define PHOTO_MARKS_MAX    256   /* blobs found on disk marked held per step of a walk */
#define PHOTO_ANSWER_MS    60000 /* a peer that leaves a photo request unanswered this long */

struct daemon;

/* An address to keep a connection to: configured, or found by mDNS. */
struct dial {
	struct dial *next;
	char addr[96]; /* HOST:PORT */
	bool configured;
	bool has_device;
	struct ml_pubkey device; /* mDNS: the device announced there */
	struct peer *peer;       /* the connection from this dial, if any */
	unsigned failures;
	bool refused;     /* the last attempt was refused: the host is up, its node is not */
	uint64_t next_ms; /* next attempt */
	bool resolving;
	bool synced; /* once: a sync with it completed */
	bool gave_up;
	char last_error[200];
	struct daemon *d;
};

/* A feed the peer holds up to seq, named by its key (ml_replica_feed_key). */
struct peer_ahead {
	uint8_t key[32];
	uint64_t seq;
};

enum peer_state {
	P_HANDSHAKE, /* until both sides admitted each other */
	P_OPEN,
	P_CLOSING,
};

struct peer {
	struct peer *next;
	struct daemon *d;
	uv_tcp_t tcp;
	struct dial *dial; /* NULL for an accepted connection */
	char addr[96];
	enum peer_state state;
	struct ml_session *ss;
	bool admitted; /* we sent ACCEPT */
	bool welcomed; /* the peer sent ACCEPT */
	struct ml_pubkey device;
	bool has_device;
	uint64_t started_ms, last_rx_ms, last_tx_ms;

	/* replication */
	struct ml_scope_set *scope;  /* what the peer may read, in our view */
	struct ml_feedmap known;     /* feed number -> what the peer holds */
	struct ml_recon *recon;      /* the running round, or NULL */
	struct ml_recon_item *items; /* its item set */
	struct ml_replica_feed *heads;
	size_t n_heads;
	struct ml_replica_want *want; /* learnt by the round */
	size_t n_want, cap_want;
	/* feeds the round found the peer holds and we lack, sorted by key at its end; at most
	 * PEER_AHEAD_MAX (a peer that lies costs memory; beyond, ops may go back to it) */
	struct peer_ahead *ahead;
	size_t n_ahead, cap_ahead;
	struct ml_replica_cursor *cursor; /* sending what the round found missing */
	int64_t push_eval;                /* ops evaluated up to here were considered */
	bool round_done, synced_sent, synced_recv, ever_synced;
	bool paused; /* sending stopped at PEER_WRITE_HIGH; the write callback resumes it */
	uint64_t rounds, round_ms; /* rounds started, when the last one started */
	struct ml_buf frame;       /* OPS frame being filled */
	size_t frame_ops;

	/* photos (photo.c) */
	uint64_t photo_round;       /* the round whose end started the last walk; 0: none yet */
	bool photo_walking;         /* asking for wanted photos, in hash order */
	bool photo_restart;         /* photos were named behind the walk: walk again at its end */
	bool photos_done_sent;      /* PHOTOS_DONE went out this round */
	bool photos_done_recv;      /* the peer's PHOTOS_DONE came this round */
	struct ml_hash photo_after; /* the walk goes on after this hash */
	struct ml_hash asked[PHOTO_ASK_MAX];
	size_t n_asked;
	uint64_t asked_ms;        /* when the last BLOB_WANT went out */
	struct ml_hash *declined; /* answered BLOB_NONE this round */
	size_t n_declined, cap_declined;
	struct ml_hash owed[PHOTO_OWED_MAX]; /* we answered BLOB_NONE but may send */
	bool owed_ready[PHOTO_OWED_MAX];     /* arrived since: sent when the queue allows */
	size_t n_owed;
	struct ml_hash serve_q[PHOTO_ASK_MAX]; /* asked of us, not answered yet */
	size_t n_serve;
	uint64_t photos_in, photos_out;

	/* inbox.c: frames held in order behind an OPS frame whose signatures are being checked */
	struct inframe *in_head, *in_tail;
	size_t in_bytes;
	unsigned in_checking; /* frames in the thread pool */
	bool in_stopped;      /* reading stopped: too many bytes held */
	uint64_t in_paused;   /* times reading stopped so */
	bool in_closed;       /* the connection is closed: free the peer when checks return */
	int in_hangup;        /* the read error (UV_EOF...) seen while frames were held: the
	                         peer is closed once they are handled, not before */

	/* accounting */
	uint64_t ops_in, ops_out, bytes_in, bytes_out, applied;
	uint64_t relayed, frame_relayed; /* ops sent that another device wrote */
	int64_t waiting_added; /* ops it sent that still wait for signatures or missing ops */
	uint64_t frames_this_sec, sec_start_ms;
	char close_reason[200];
};

struct daemon {
	uv_loop_t loop;
	const struct ml_daemon_config *cfg;
	struct ml_store *s;
	const struct ml_key *key;
	struct ml_hash net;
	bool have_genesis;
	struct ml_daemon_stats *stats;
	uv_tcp_t listener;
	bool listening;
	char listen_addr[96];
	uv_pipe_t control;
	bool control_open;
	uv_timer_t tick;
	uv_idle_t inbox_idle;              /* runs while an inbox holds ready frames (inbox.c) */
	size_t in_bytes;                   /* held in all peers' inboxes */
	size_t inbox_high, inbox_all_high; /* the bounds on a peer's inbox and on all (inbox.c) */
	uint64_t in_paused_all;            /* reading stopped for the bound on all inboxes */
	uv_signal_t sigint, sigterm, sigusr1;
	uv_process_t mdns;
	uv_pipe_t mdns_out;
	bool mdns_running;
	struct ml_buf mdns_line;
	struct peer *peers;
	struct dial *dials;
	size_t n_peers, n_handshaking;
	int64_t pushed_eval;       /* the last evaluation number pumped to peers */
	struct ml_buf photo_dir;   /* HOME/blobs */
	struct ml_buf photo_buf;   /* a photo being sent */
	uint64_t photo_refs_seen;  /* ml_photo_refs_added when the walks last restarted */
	uint64_t scope_epoch_seen; /* ml_scope_epoch when rounds were last asked for */
	uint64_t ifaces_hash;      /* of the interfaces up and their addresses, 0: not read yet */
	uint64_t ifaces_ms;        /* when they were last read */
	uint64_t start_ms;
	bool stopping;
	int exit_rc;
	struct ml_buf err;
	/* misbehaving devices, refused until a time */
	struct ban {
		struct ml_pubkey device;
		uint64_t until_ms;
		unsigned strikes;
	} bans[64];
	uint64_t refused[8]; /* by enum refusal */
};

enum refusal {
	R_NETWORK,
	R_PROTOCOL,
	R_SIGNATURE,
	R_UNKNOWN,
	R_REVOKED,
	R_BANNED,
	R_INVITE,
	R_BUSY,
};

/* Monotonic milliseconds, for timers (ml_now_ms in node/author.h is the wall clock, for ops). */
uint64_t ml__now_ms(void);

/* daemon.c */
void ml__logf(struct daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool ml__banned(struct daemon *d, const struct ml_pubkey *dev);
void ml__ban(struct daemon *d, const struct ml_pubkey *dev);
void ml__pump_all(struct daemon *d);
void ml__check_once_done(struct daemon *d);
/* The period of anti-entropy rounds (--anti-entropy, default 30 s). */
uint64_t ml__anti_entropy_ms(const struct daemon *d);

/* peer.c */
struct peer *ml__peer_new(struct daemon *d, struct dial *dial, const char *addr);
/* Starts the session on a connected tcp (reads begin, HELLO goes out). */
void ml__peer_start(struct peer *p);
/* Closes the connection, recording why (printf-style); safe to call twice. */
void ml__peer_close(struct peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends what the peer lacks: the round's cursor, then ops evaluated since. */
void ml__peer_pump(struct peer *p);
/* Starts a reconciliation round (the dialling side, on its timer). */
void ml__peer_round(struct peer *p);
/* Makes the next tick start a round (a dialling peer), at most one a second. */
void ml__peer_round_soon(struct peer *p);
/* Checks timeouts and flood counters; called every tick. */
void ml__peer_tick(struct peer *p, uint64_t now);
/* Handles one frame of an open session (OPS: its batch, checked or not). */
void ml__peer_dispatch(struct peer *p, uint8_t type, const uint8_t *payload, size_t len,
                       struct ml_batch *ops);
/* Closes the peer for the connection's end (libuv code: UV_EOF, a reset...). */
void ml__peer_hung_up(struct peer *p, int code);
/* Reads from the connection again after the inbox stopped it. */
void ml__peer_read_start(struct peer *p);
/* Frees a closed peer's memory (its tcp handle closed, no check in the pool). */
void ml__peer_free(struct peer *p);

/* inbox.c */
/* Holds a copy of a frame of an open session (payload is borrowed), in order; an OPS frame's
 * check starts in the pool.  A malformed OPS frame, or no memory, bans or closes p. */
void ml__inbox_add(struct peer *p, uint8_t type, const uint8_t *payload, size_t len);
/* True while frames wait: a new frame must queue behind them. */
bool ml__inbox_holds(const struct peer *p);
/* The connection ended (libuv error code): frames held are handled first, then the peer closes. */
void ml__inbox_hangup(struct peer *p, int code);
/* Drops the held frames of a closed peer; true when checks are still out (they free the peer). */
bool ml__inbox_close(struct peer *p);
/* Sets the inboxes' bounds (MEMBERLOG_TEST_INBOX_KIB=PEER,ALL makes them small, for tests). */
void ml__inbox_init(struct daemon *d);
/* True when the frame at the head of p's inbox may be handled now. */
bool ml__inbox_ready(const struct peer *p);
/* Handles p's ready frames, at most one OPS frame, and asks for the next turn when more are
 * ready (the daemon's idle handle calls it).  May close p (bad ops, the connection's end):
 * p stays allocated until its close callback. */
void ml__inbox_drain(struct peer *p);
/* daemon.c: drain the inboxes with ready frames once the loop has polled the sockets.  Does
 * nothing once the daemon stops (its idle handle may be closed by then). */
void ml__inbox_later(struct daemon *d);
/* Appends the peer's status line to out. */
void ml__peer_status(const struct peer *p, struct ml_buf *out);
/* Encrypts and queues one frame to the peer (closing it when that fails). */
void ml__peer_send(struct peer *p, uint8_t type, const void *payload, size_t len);

/* photo.c */
/* Starts the peer's walk of wanted photos; new_round forgets what it declined. */
void ml__photos_start(struct peer *p, bool new_round);
/* Restarts the peer's idle walk when its ops made ingest record new photo references. */
void ml__photos_kick(struct peer *p);
/* Ask timeouts, and walks paused after much marking; called every tick. */
void ml__photos_tick(struct peer *p, uint64_t now);
/* Answers queued photo requests and debts while the write queue allows. */
void ml__photos_serve(struct peer *p);
void ml__on_blob_want(struct peer *p, const uint8_t *payload, size_t len);
void ml__on_blob(struct peer *p, const uint8_t *payload, size_t len);
void ml__on_blob_none(struct peer *p, const uint8_t *payload, size_t len);
void ml__on_photos_done(struct peer *p, size_t len);

#endif
