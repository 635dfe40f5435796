/*
 * daemon.c - the node's loop: listener, dialling with backoff, discovery,
 * the local control socket, signals and the one-second tick (daemon.h).
 *
 * Commands that write while `serve` runs share the SQLite file (WAL, one
 * writer at a time, a busy timeout), then say "wake" on HOME/serve.sock; the
 * tick also notices new ops by their evaluation number, so a lost wake-up
 * costs at most a second.
 */
#include "daemon_int.h"

#include "crdt/alloc.h"
#include "crdt/err.h"
#include "node/read.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONTROL_NAME "serve.sock"

uint64_t ml__now_ms(void)
{
	return uv_hrtime() / 1000000;
}

void ml__logf(struct daemon *d, const char *fmt, ...)
{
	if (!d->cfg->log)
		return;
	time_t t = time(NULL);
	struct tm tm;
	char when[32];
	localtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(d->cfg->log, "%s ", when);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(d->cfg->log, fmt, ap);
	va_end(ap);
	fputc('\n', d->cfg->log);
	fflush(d->cfg->log);
}

/* --- bans ----------------------------------------------------------------- */

static struct ban *ban_of(struct daemon *d, const struct ml_pubkey *dev)
{
	for (size_t i = 0; i < sizeof d->bans / sizeof d->bans[0]; i++)
		if (d->bans[i].strikes && ml_pubkey_eq(&d->bans[i].device, dev))
			return &d->bans[i];
	return NULL;
}

bool ml__banned(struct daemon *d, const struct ml_pubkey *dev)
{
	struct ban *b = ban_of(d, dev);
	return b && b->until_ms > ml__now_ms();
}

void ml__ban(struct daemon *d, const struct ml_pubkey *dev)
{
	struct ban *b = ban_of(d, dev);
	if (!b) { /* a free slot, or the one whose ban ends first */
		b = &d->bans[0];
		for (size_t i = 0; i < sizeof d->bans / sizeof d->bans[0]; i++)
			if (d->bans[i].until_ms < b->until_ms)
				b = &d->bans[i];
		memset(b, 0, sizeof *b);
		b->device = *dev;
	}
	b->strikes++;
	unsigned shift = b->strikes < 7 ? b->strikes - 1 : 6;
	b->until_ms = ml__now_ms() + (10000ULL << shift); /* 10 s doubling to about 10 min */
}

/* --- pushing new ops ------------------------------------------------------- */

void ml__pump_all(struct daemon *d)
{
	for (struct peer *p = d->peers, *next; p; p = next) {
		next = p->next;
		ml__peer_pump(p);
	}
	ml_replica_last_eval(d->s, &d->pushed_eval, NULL);
}

/* --- once: `sync` and `network join` ---------------------------------------- */

uint64_t ml__anti_entropy_ms(const struct daemon *d)
{
	return d->cfg->anti_entropy_ms ? d->cfg->anti_entropy_ms : 30000;
}

void ml__check_once_done(struct daemon *d)
{
	if (!d->cfg->once || d->stopping)
		return;
	bool all = true, any_failed = false;
	for (struct dial *dl = d->dials; dl; dl = dl->next) {
		if (dl->synced)
			continue;
		all = false;
		if (!dl->peer && dl->failures > 0)
			any_failed = true;
	}
	if (!all && !any_failed)
		return;
	d->stats->all_synced = all;
	if (!all)
		for (struct dial *dl = d->dials; dl; dl = dl->next)
			if (!dl->synced) {
				d->exit_rc =
				    ml_errf(&d->err, ML_EIO, "cannot sync with %s: %s", dl->addr,
				            dl->last_error[0] ? dl->last_error : "no answer");
				break;
			}
	d->stopping = true;
	for (struct peer *p = d->peers, *next; p; p = next) {
		next = p->next;
		ml__peer_close(p, "sync done");
	}
	uv_stop(&d->loop);
}

/* --- dialling --------------------------------------------------------------- */

struct connect_req {
	uv_connect_t req;
	struct peer *p;
};

static void on_connected(uv_connect_t *req, int status)
{
	struct connect_req *c = (struct connect_req *)req;
	struct peer *p = c->p;
	ml_free(c);
	if (p->state == P_CLOSING)
		return;
	if (p->dial)
		p->dial->refused = status == UV_ECONNREFUSED;
	if (status < 0) {
		ml__peer_close(p, "cannot connect: %s", uv_strerror(status));
		return;
	}
	ml__peer_start(p);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct dial *dl = req->data;
	struct daemon *d = dl->d;
	ml_free(req);
	dl->resolving = false;
	if (d->stopping) {
		uv_freeaddrinfo(res);
		return;
	}
	if (status < 0 || !res) {
		snprintf(dl->last_error, sizeof dl->last_error, "cannot resolve: %s",
		         uv_strerror(status));
		dl->failures++;
		dl->next_ms = ml__now_ms() + (1000ULL << (dl->failures < 6 ? dl->failures : 6));
		uv_freeaddrinfo(res);
		ml__check_once_done(d);
		return;
	}
	struct peer *p = ml__peer_new(d, dl, dl->addr);
	struct connect_req *c = p ? ml_calloc(1, sizeof *c) : NULL;
	if (!c) {
		if (p)
			ml__peer_close(p, "out of memory");
		uv_freeaddrinfo(res);
		return;
	}
	c->p = p;
	int rc = uv_tcp_connect(&c->req, &p->tcp, res->ai_addr, on_connected);
	uv_freeaddrinfo(res);
	if (rc < 0) {
		ml_free(c);
		ml__peer_close(p, "cannot connect: %s", uv_strerror(rc));
	}
}

/* Splits "HOST:PORT" (or "[V6]:PORT"); false when it is not that. */
static bool split_addr(const char *addr, char *host, size_t hsize, char *port, size_t psize)
{
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || !colon[1] || strlen(colon + 1) >= psize)
		return false;
	const char *h = addr;
	size_t hl = (size_t)(colon - addr);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= hsize)
		return false;
	memcpy(host, h, hl);
	host[hl] = 0;
	strcpy(port, colon + 1);
	for (const char *c = port; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	return true;
}

static void dial_now(struct dial *dl)
{
	struct daemon *d = dl->d;
	char host[80], port[8];
	dl->refused = false; /* until this attempt is refused in turn */
	if (!split_addr(dl->addr, host, sizeof host, port, sizeof port)) {
		snprintf(dl->last_error, sizeof dl->last_error, "not HOST:PORT");
		dl->gave_up = true;
		dl->failures++;
		ml__check_once_done(d);
		return;
	}
	uv_getaddrinfo_t *req = ml_calloc(1, sizeof *req);
	if (!req)
		return;
	req->data = dl;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	dl->resolving = true;
	if (uv_getaddrinfo(&d->loop, req, on_resolved, host, port, &hints) < 0) {
		dl->resolving = false;
		ml_free(req);
	}
}

static struct dial *dial_add(struct daemon *d, const char *addr, bool configured)
{
	for (struct dial *dl = d->dials; dl; dl = dl->next)
		if (strcmp(dl->addr, addr) == 0)
			return dl;
	struct dial *dl = ml_calloc(1, sizeof *dl);
	if (!dl)
		return NULL;
	snprintf(dl->addr, sizeof dl->addr, "%s", addr);
	dl->configured = configured;
	dl->d = d;
	dl->next = d->dials;
	d->dials = dl;
	return dl;
}

/* --- accepting -------------------------------------------------------------- */

static void free_handle(uv_handle_t *h)
{
	ml_free(h->data);
}

static void on_incoming(uv_stream_t *server, int status)
{
	struct daemon *d = server->data;
	if (status < 0)
		return;
	struct peer *p = NULL;
	if (d->n_handshaking >= MAX_HANDSHAKING || d->n_peers >= MAX_PEERS || d->stopping) {
		/* Accept and close at once: the kernel's queue must not fill with them. */
		uv_tcp_t *probe = ml_calloc(1, sizeof *probe);
		if (!probe)
			return;
		uv_tcp_init(&d->loop, probe);
		probe->data = probe;
		if (uv_accept(server, (uv_stream_t *)probe) == 0)
			d->refused[R_BUSY]++;
		uv_close((uv_handle_t *)probe, free_handle);
		return;
	}
	if (!(p = ml__peer_new(d, NULL, "?")))
		return;
	if (uv_accept(server, (uv_stream_t *)&p->tcp) != 0) {
		ml__peer_close(p, "accept failed");
		return;
	}
	struct sockaddr_storage sa;
	int len = sizeof sa;
	char ip[64] = "?";
	if (uv_tcp_getpeername(&p->tcp, (struct sockaddr *)&sa, &len) == 0) {
		if (sa.ss_family == AF_INET)
			uv_ip4_name((struct sockaddr_in *)&sa, ip, sizeof ip);
		else
			uv_ip6_name((struct sockaddr_in6 *)&sa, ip, sizeof ip);
		snprintf(p->addr, sizeof p->addr, "%s:%u", ip,
		         ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
		                                       : ((struct sockaddr_in6 *)&sa)->sin6_port));
	}
	ml__peer_start(p);
}

static int start_listener(struct daemon *d, struct ml_buf *err)
{
	char host[80], port[8];
	if (!split_addr(d->cfg->listen, host, sizeof host, port, sizeof port))
		return ml_errf(err, ML_EINVAL, "--listen wants HOST:PORT, not '%s'",
		               d->cfg->listen);
	struct sockaddr_storage sa;
	if (uv_ip4_addr(host, atoi(port), (struct sockaddr_in *)&sa) != 0 &&
	    uv_ip6_addr(host, atoi(port), (struct sockaddr_in6 *)&sa) != 0)
		return ml_errf(err, ML_EINVAL, "--listen wants an IP address, not '%s'", host);
	uv_tcp_init(&d->loop, &d->listener);
	d->listener.data = d;
	d->listening = true;
	int rc = uv_tcp_bind(&d->listener, (struct sockaddr *)&sa, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&d->listener, 64, on_incoming);
	if (rc < 0)
		return ml_errf(err, ML_EIO, "cannot listen on %s: %s", d->cfg->listen,
		               uv_strerror(rc));
	int len = sizeof sa;
	uv_tcp_getsockname(&d->listener, (struct sockaddr *)&sa, &len);
	char ip[64] = "?";
	if (sa.ss_family == AF_INET)
		uv_ip4_name((struct sockaddr_in *)&sa, ip, sizeof ip);
	else
		uv_ip6_name((struct sockaddr_in6 *)&sa, ip, sizeof ip);
	unsigned p = ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
	                                           : ((struct sockaddr_in6 *)&sa)->sin6_port);
	snprintf(d->listen_addr, sizeof d->listen_addr, "%s:%u", ip, p);
	ml__logf(d, "listening on %s", d->listen_addr);
	return ML_OK;
}

/* --- the control socket: "wake" and "status" ------------------------------- */

struct control_conn {
	uv_pipe_t pipe;
	struct daemon *d;
	char line[64];
	size_t len;
};

static void status_text(struct daemon *d, struct ml_buf *out)
{
	ml_buf_addf(out, "node listening %s peers %zu handshaking %zu refused",
	            d->listen_addr[0] ? d->listen_addr : "-", d->n_peers - d->n_handshaking,
	            d->n_handshaking);
	static const char *const names[] = {"network", "protocol", "signature", "unknown",
	                                    "revoked", "banned",   "invite",    "busy"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		ml_buf_addf(out, " %s=%llu", names[i], (unsigned long long)d->refused[i]);
	/* Totals since the node started: peers gone, then peers connected. */
	struct ml_daemon_stats t = *d->stats;
	for (const struct peer *p = d->peers; p; p = p->next) {
		t.ops_in += p->ops_in;
		t.ops_out += p->ops_out;
		t.relayed += p->relayed;
		t.bytes_in += p->bytes_in;
		t.bytes_out += p->bytes_out;
	}
	ml_buf_addf(out,
	            " ops-in %llu ops-out %llu relayed %llu bytes-in %llu bytes-out %llu"
	            " paused-all %llu\n",
	            (unsigned long long)t.ops_in, (unsigned long long)t.ops_out,
	            (unsigned long long)t.relayed, (unsigned long long)t.bytes_in,
	            (unsigned long long)t.bytes_out, (unsigned long long)d->in_paused_all);
	for (struct peer *p = d->peers; p; p = p->next)
		ml__peer_status(p, out);
	for (struct dial *dl = d->dials; dl; dl = dl->next)
		if (!dl->peer)
			ml_buf_addf(out, "dial %s waiting failures %u last-error %s\n", dl->addr,
			            dl->failures, dl->last_error[0] ? dl->last_error : "-");
}

static void control_closed(uv_handle_t *h)
{
	ml_free(h->data);
}

static void control_written(uv_write_t *req, int status)
{
	(void)status;
	uv_close((uv_handle_t *)req->handle, control_closed);
	ml_free(req->data);
	ml_free(req);
}

static void control_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct control_conn *c = h->data;
	*buf = uv_buf_init(c->line + c->len, (unsigned)(sizeof c->line - 1 - c->len));
}

static void control_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct control_conn *c = s->data;
	if (nread < 0 || c->len + (size_t)nread >= sizeof c->line - 1) {
		uv_close((uv_handle_t *)s, control_closed);
		return;
	}
	c->len += (size_t)nread;
	c->line[c->len] = 0;
	if (!strchr(c->line, '\n'))
		return;
	uv_read_stop(s);
	struct ml_buf out = ML_BUF_INIT;
	if (strncmp(c->line, "status", 6) == 0)
		status_text(c->d, &out);
	else if (strncmp(c->line, "wake", 4) == 0)
		ml__pump_all(c->d);
	ml_buf_addf(&out, "ok\n");
	uv_write_t *req = ml_calloc(1, sizeof *req);
	if (!req) {
		ml_buf_release(&out);
		uv_close((uv_handle_t *)s, control_closed);
		return;
	}
	req->data = out.data;
	uv_buf_t b = uv_buf_init((char *)out.data, (unsigned)out.len);
	if (uv_write(req, s, &b, 1, control_written) < 0) {
		ml_free(req);
		ml_buf_release(&out);
		uv_close((uv_handle_t *)s, control_closed);
	}
}

static void on_control(uv_stream_t *server, int status)
{
	struct daemon *d = server->data;
	if (status < 0)
		return;
	struct control_conn *c = ml_calloc(1, sizeof *c);
	if (!c)
		return;
	c->d = d;
	uv_pipe_init(&d->loop, &c->pipe, 0);
	c->pipe.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		uv_close((uv_handle_t *)&c->pipe, control_closed);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, control_alloc, control_read);
}

static int start_control(struct daemon *d, struct ml_buf *err)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", d->cfg->home, CONTROL_NAME) >=
	    sizeof path) {
		ml__logf(d,
		         "the node directory's path is too long for %s; commands will be "
		         "noticed within a second instead",
		         CONTROL_NAME);
		return ML_OK;
	}
	/* A socket left by a daemon that died; a live one answers and we must not steal it. */
	if (ml_daemon_notify(d->cfg->home, NULL) == ML_OK)
		return ml_errf(err, ML_EEXIST, "another memberlog serve already runs on %s",
		               d->cfg->home);
	unlink(path);
	uv_pipe_init(&d->loop, &d->control, 0);
	d->control.data = d;
	d->control_open = true;
	int rc = uv_pipe_bind(&d->control, path);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&d->control, 16, on_control);
	if (rc < 0)
		return ml_errf(err, ML_EIO, "cannot open %s: %s", path, uv_strerror(rc));
	return ML_OK;
}

int ml_daemon_notify(const char *home, FILE *status)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", home, CONTROL_NAME) >=
	    sizeof sa.sun_path)
		return ML_ENOTFOUND;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ML_ENOTFOUND;
	int rc = ML_ENOTFOUND;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
		const char *msg = status ? "status\n" : "wake\n";
		if (write(fd, msg, strlen(msg)) == (ssize_t)strlen(msg)) {
			rc = ML_OK;
			char buf[4096];
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			/* The answer ends with "ok"; wait at most 2 s for it. */
			while (poll(&pfd, 1, 2000) > 0) {
				ssize_t n = read(fd, buf, sizeof buf);
				if (n <= 0)
					break;
				if (status) {
					size_t k = (size_t)n;
					if (k >= 3 && memcmp(buf + k - 3, "ok\n", 3) == 0)
						k -= 3;
					fwrite(buf, 1, k, status);
				}
			}
		}
	}
	close(fd);
	return rc;
}

/* --- discovery: the memberlog-mdns child ------------------------------------ */

static void mdns_exit(uv_process_t *proc, int64_t status, int sig)
{
	struct daemon *d = proc->data;
	ml__logf(d, "discovery stopped (status %lld, signal %d)", (long long)status, sig);
	d->mdns_running = false;
	uv_close((uv_handle_t *)proc, NULL);
}

/* "peer INSTANCE IP PORT net=HEX dev=HEX": dial it when it is of our network. */
static void mdns_line(struct daemon *d, char *line)
{
	char *save, *word = strtok_r(line, " ", &save);
	if (!word || strcmp(word, "peer") != 0)
		return;
	char *instance = strtok_r(NULL, " ", &save), *ip = strtok_r(NULL, " ", &save),
	     *port = strtok_r(NULL, " ", &save);
	if (!instance || !ip || !port)
		return;
	struct ml_hash net;
	struct ml_pubkey dev;
	bool has_net = false, has_dev = false;
	for (char *kv; (kv = strtok_r(NULL, " ", &save));) {
		if (strncmp(kv, "net=", 4) == 0)
			has_net = ml_hex_decode(kv + 4, net.b, 32) == ML_OK;
		else if (strncmp(kv, "dev=", 4) == 0)
			has_dev = ml_hex_decode(kv + 4, dev.b, 32) == ML_OK;
	}
	if (!has_net || !has_dev || !ml_hash_eq(&net, &d->net) || ml_pubkey_eq(&dev, &d->key->pk))
		return;
	/* Both ends discover each other: only the smaller key dials, so one connection results. */
	if (memcmp(d->key->pk.b, dev.b, 32) > 0)
		return;
	char addr[96];
	snprintf(addr, sizeof addr, strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip, port);
	for (struct dial *dl = d->dials; dl; dl = dl->next)
		if (dl->has_device && ml_pubkey_eq(&dl->device, &dev) &&
		    strcmp(dl->addr, addr) != 0)
			snprintf(dl->addr, sizeof dl->addr, "%s", addr); /* it moved */
	struct dial *dl = dial_add(d, addr, false);
	if (dl && !dl->has_device) {
		dl->has_device = true;
		dl->device = dev;
		ml__logf(d, "discovered %s on the LAN", addr);
	}
}

static void mdns_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	static char space[4096];
	*buf = uv_buf_init(space, sizeof space);
}

static void mdns_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct daemon *d = s->data;
	if (nread < 0) {
		uv_close((uv_handle_t *)s, NULL);
		return;
	}
	for (ssize_t i = 0; i < nread; i++) {
		char c = buf->base[i];
		if (c == '\n') {
			ml_buf_addf(&d->mdns_line, "%c", 0);
			mdns_line(d, (char *)d->mdns_line.data);
			ml_buf_reset(&d->mdns_line);
		} else if (d->mdns_line.len < 1024) {
			ml_buf_add(&d->mdns_line, &c, 1);
		}
	}
}

static int start_mdns(struct daemon *d, struct ml_buf *err)
{
	char port[8], net[65], dev[65], instance[32], txt_net[70], txt_dev[70];
	const char *colon = strrchr(d->listen_addr, ':');
	snprintf(port, sizeof port, "%s", colon ? colon + 1 : "0");
	ml_hex_encode(d->net.b, 32, net);
	ml_hex_encode(d->key->pk.b, 32, dev);
	snprintf(instance, sizeof instance, "memberlog-%.16s", dev);
	snprintf(txt_net, sizeof txt_net, "net=%s", net);
	snprintf(txt_dev, sizeof txt_dev, "dev=%s", dev);
	const char *args[32] = {d->cfg->mdns_program,
	                        "--port",
	                        port,
	                        "--instance",
	                        instance,
	                        "--txt",
	                        txt_net,
	                        "--txt",
	                        txt_dev};
	size_t n = 9;
	for (size_t i = 0; i < d->cfg->n_mdns_ifaces && n + 3 < 32; i++) {
		args[n++] = "--iface";
		args[n++] = d->cfg->mdns_ifaces[i];
	}
	args[n] = NULL;
	uv_pipe_init(&d->loop, &d->mdns_out, 0);
	d->mdns_out.data = d;
	uv_stdio_container_t stdio[3] = {
	    {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE}, /* its stdin: EOF when we die */
	    {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
	     .data.stream = (uv_stream_t *)&d->mdns_out},
	    {.flags = UV_INHERIT_FD, .data.fd = 2},
	};
	static uv_pipe_t child_in;
	uv_pipe_init(&d->loop, &child_in, 0);
	stdio[0].data.stream = (uv_stream_t *)&child_in;
	uv_process_options_t opt = {.exit_cb = mdns_exit,
	                            .file = d->cfg->mdns_program,
	                            .args = (char **)args,
	                            .stdio_count = 3,
	                            .stdio = stdio};
	d->mdns.data = d;
	int rc = uv_spawn(&d->loop, &d->mdns, &opt);
	if (rc < 0) {
		uv_close((uv_handle_t *)&d->mdns_out, NULL);
		uv_close((uv_handle_t *)&child_in, NULL);
		return ml_errf(err, ML_EIO, "cannot start %s: %s", d->cfg->mdns_program,
		               uv_strerror(rc));
	}
	d->mdns_running = true;
	uv_read_start((uv_stream_t *)&d->mdns_out, mdns_alloc, mdns_read);
	ml__logf(d, "announcing %s on the LAN by mDNS", instance);
	return ML_OK;
}

/* --- the tick and signals --------------------------------------------------- */

/*
 * A fingerprint of the interfaces that are up and running, with their
 * addresses (libuv lists only those), or 0 when they cannot be read.
 */
static uint64_t interfaces_fingerprint(void)
{
	uv_interface_address_t *ifs;
	int n;
	if (uv_interface_addresses(&ifs, &n) != 0)
		return 0;
	/* FNV-1a of each entry, summed so that their order does not matter */
	const uint64_t basis = 1469598103934665603ULL;
	uint64_t sum = 0;
	for (int i = 0; i < n; i++) {
		uint64_t e = basis;
		/* the name, the family and the address bytes: never padding */
		const struct sockaddr_in *a4 = &ifs[i].address.address4;
		const struct sockaddr_in6 *a6 = &ifs[i].address.address6;
		bool v6 = a4->sin_family == AF_INET6;
		const unsigned char *parts[] = {(const unsigned char *)ifs[i].name,
		                                v6 ? (const unsigned char *)&a6->sin6_addr
		                                   : (const unsigned char *)&a4->sin_addr,
		                                (const unsigned char *)&a4->sin_family};
		size_t lens[] = {strlen(ifs[i].name),
		                 v6 ? sizeof a6->sin6_addr : sizeof a4->sin_addr,
		                 sizeof a4->sin_family};
		for (size_t k = 0; k < 3; k++)
			for (size_t j = 0; j < lens[k]; j++)
				e = (e ^ parts[k][j]) * 1099511628211ULL;
		sum += e;
	}
	uv_free_interface_addresses(ifs, n);
	return sum ? sum : 1;
}

/*
 * When this host's network changes - a link comes up, a modem gets an
 * address - the peers we failed to reach may be reachable now: dial them at
 * once instead of waiting out a backoff that grew while we were cut off.
 */
static void watch_interfaces(struct daemon *d, uint64_t now)
{
	if (now - d->ifaces_ms < 1000)
		return;
	d->ifaces_ms = now;
	uint64_t h = interfaces_fingerprint();
	if (!h || h == d->ifaces_hash)
		return;
	bool first = d->ifaces_hash == 0;
	d->ifaces_hash = h;
	if (first)
		return;
	size_t waiting = 0;
	for (struct dial *dl = d->dials; dl; dl = dl->next)
		if (!dl->peer && !dl->resolving && !dl->gave_up) {
			/* at once, but the backoff keeps growing if the attempt fails (a flapping
			 * link) */
			dl->next_ms = now;
			waiting++;
		}
	if (waiting)
		ml__logf(d, "the network interfaces changed: dialling %zu waiting peers now",
		         waiting);
}

/* Frames are ingested here, one OPS frame a peer a turn, after the loop polled the sockets. */
static void on_inbox_idle(uv_idle_t *h)
{
	struct daemon *d = h->data;
	bool more = false;
	for (struct peer *p = d->peers, *next; p; p = next) {
		next = p->next;
		if (ml__inbox_ready(p))
			ml__inbox_drain(p);
		more |= ml__inbox_ready(p);
	}
	if (!more)
		uv_idle_stop(h);
}

void ml__inbox_later(struct daemon *d)
{
	if (!d->stopping)
		uv_idle_start(&d->inbox_idle, on_inbox_idle);
}

static void on_tick(uv_timer_t *t)
{
	struct daemon *d = t->data;
	uint64_t now = ml__now_ms();
	for (struct peer *p = d->peers, *next; p; p = next) {
		next = p->next;
		ml__peer_tick(p, now);
	}
	if (d->stopping)
		return;
	/* Commands that wrote without waking us. */
	int64_t last = 0;
	if (ml_replica_last_eval(d->s, &last, NULL) == ML_OK && last > d->pushed_eval)
		ml__pump_all(d);
	/* Who may read what changed here (a grant, a move, a transfer): reconcile now, for the ops
	 * a scope gained cannot be pushed (the peer lacks their feeds' past). */
	uint64_t epoch = ml_scope_epoch(d->s);
	if (epoch != d->scope_epoch_seen) {
		d->scope_epoch_seen = epoch;
		for (struct peer *p = d->peers, *next; p; p = next) {
			next = p->next;
			if (p->state != P_OPEN || !p->ever_synced)
				continue;
			if (p->dial)
				ml__peer_round_soon(p);
			else
				ml__peer_send(p, ML_MSG_ROUND_PLEASE, NULL, 0);
		}
	}
	/* Anti-entropy: the dialling side of each settled connection starts a new round. */
	uint64_t every = ml__anti_entropy_ms(d);
	for (struct peer *p = d->peers, *next; p; p = next) {
		next = p->next;
		if (p->state == P_OPEN && p->dial && p->round_done && !p->cursor &&
		    now - p->round_ms > every)
			ml__peer_round(p);
	}
	watch_interfaces(d, now);
	for (struct dial *dl = d->dials; dl; dl = dl->next) {
		bool wanted = !d->cfg->once || (!dl->synced && !dl->gave_up);
		if (wanted && !dl->peer && !dl->resolving && now >= dl->next_ms && !dl->gave_up)
			dial_now(dl);
	}
	if (d->cfg->once && now - d->start_ms > (d->cfg->timeout_ms ? d->cfg->timeout_ms : 60000)) {
		for (struct dial *dl = d->dials; dl; dl = dl->next)
			if (!dl->synced) {
				dl->gave_up = true;
				dl->failures++;
				if (!dl->last_error[0])
					snprintf(dl->last_error, sizeof dl->last_error,
					         "timed out");
			}
		for (struct peer *p = d->peers, *next; p; p = next) {
			next = p->next;
			ml__peer_close(p, "timed out");
		}
		ml__check_once_done(d);
	}
}

static void on_signal(uv_signal_t *sig, int signum)
{
	struct daemon *d = sig->data;
	if (signum == SIGUSR1) {
		struct ml_buf out = ML_BUF_INIT;
		status_text(d, &out);
		if (d->cfg->log)
			fprintf(d->cfg->log, "%s", ml_buf_str(&out));
		ml_buf_release(&out);
		return;
	}
	ml__logf(d, "stopping (signal %d)", signum);
	d->stopping = true;
	for (struct peer *p = d->peers, *next; p; p = next) {
		next = p->next;
		ml__peer_close(p, "the node stops");
	}
	uv_stop(&d->loop);
}

static void close_all(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h)) {
		if (h->type == UV_PROCESS)
			uv_process_kill((uv_process_t *)h, SIGTERM);
		uv_close(h, NULL);
	}
}

int ml_daemon_run(const struct ml_daemon_config *cfg, struct ml_store *s, const struct ml_key *key,
                  struct ml_daemon_stats *stats, struct ml_buf *err)
{
	struct daemon *d = ml_calloc(1, sizeof *d);
	if (!d)
		return ML_ENOMEM;
	memset(stats, 0, sizeof *stats);
	d->cfg = cfg;
	d->s = s;
	d->key = key;
	d->stats = stats;
	d->start_ms = ml__now_ms();
	ml_buf_addf(&d->photo_dir, "%s/blobs", cfg->home);
	int64_t units = 0;
	ml_read_int(s, "SELECT count(*) FROM units", NULL, 0, &units, NULL);
	d->have_genesis = units > 0;
	int rc = ml_store_network(s, &d->net)
	             ? ML_OK
	             : ml_errf(err, ML_EINVAL, "this node has no network: create or join one");
	if (rc == ML_OK && uv_loop_init(&d->loop) != 0)
		rc = ml_errf(err, ML_EIO, "cannot start the event loop");
	if (rc != ML_OK) {
		ml_free(d);
		return rc;
	}
	signal(SIGPIPE, SIG_IGN);
	ml__inbox_init(d);
	uv_idle_init(&d->loop, &d->inbox_idle);
	d->inbox_idle.data = d;
	ml_replica_last_eval(s, &d->pushed_eval, NULL);
	if (!cfg->once)
		rc = start_control(d, err);
	if (rc == ML_OK && cfg->listen)
		rc = start_listener(d, err);
	if (rc == ML_OK && cfg->mdns_program && cfg->listen)
		rc = start_mdns(d, err);
	for (size_t i = 0; rc == ML_OK && i < cfg->n_peers; i++)
		if (!dial_add(d, cfg->peers[i], true))
			rc = ML_ENOMEM;
	if (rc == ML_OK) {
		uv_timer_init(&d->loop, &d->tick);
		d->tick.data = d;
		uv_timer_start(&d->tick, on_tick, 0, cfg->once ? 100 : 250);
		uv_signal_t *sigs[] = {&d->sigint, &d->sigterm, &d->sigusr1};
		int nums[] = {SIGINT, SIGTERM, SIGUSR1};
		for (int i = 0; i < 3; i++) {
			uv_signal_init(&d->loop, sigs[i]);
			sigs[i]->data = d;
			uv_signal_start(sigs[i], on_signal, nums[i]);
		}
		uv_run(&d->loop, UV_RUN_DEFAULT);
		rc = d->exit_rc;
		if (rc != ML_OK)
			ml_errf(err, rc, "%s", ml_buf_str(&d->err));
	}
	/* Close every handle (peers first: their close callbacks free them), then drain. */
	d->stopping = true;
	for (struct peer *p = d->peers, *next; p; p = next) {
		next = p->next;
		ml__peer_close(p, "the node stops");
	}
	uv_walk(&d->loop, close_all, NULL);
	uv_run(&d->loop, UV_RUN_DEFAULT);
	uv_loop_close(&d->loop);
	if (d->control_open) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", cfg->home, CONTROL_NAME);
		unlink(path);
	}
	for (struct dial *dl = d->dials, *next; dl; dl = next) {
		next = dl->next;
		ml_free(dl);
	}
	ml_buf_release(&d->mdns_line);
	ml_buf_release(&d->photo_dir);
	ml_buf_release(&d->photo_buf);
	ml_buf_release(&d->err);
	ml_free(d);
	return rc;
}
