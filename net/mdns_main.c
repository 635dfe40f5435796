/*
 * memberlog-mdns: the LAN discovery child of a memberlog node.
 *
 *   memberlog-mdns --port PORT --instance NAME [--txt KEY=VALUE]... [--iface IFNAME]...
 *                  [--interval-ms N]
 *
 * The node spawns this program with pipes on stdin and stdout. It announces the DNS-SD instance
 * NAME of "_memberlog._tcp.local." (SRV on PORT, the TXT pairs given, an A record for the
 * interface's IPv4 address under the host name "NAME.local.") on every chosen interface, answers
 * queries for it, and browses for the other instances. Stdout carries one line per event:
 *
 *   ready IFNAME IPV4                   once per interface joined
 *   peer INSTANCE IPV4 PORT [KEY=VAL]...  an instance resolved (SRV+TXT+A), or its address, port
 *                                         or TXT changed
 *   gone INSTANCE                       its records expired or were withdrawn (goodbye)
 *
 * Every field is made of [A-Za-z0-9_.:-] (plus the '=' of a pair): TXT pairs that are not are left
 * out, instances whose names are not are ignored, so a line splits safely on spaces. Our own
 * instance is never reported. Nothing else reaches stdout: libmdnsd prints notice-level logs on
 * stdout, so fd 1 is pointed at stderr and the lines go to a private duplicate of the original.
 * The program exits 0 on EOF on stdin (the node closed the pipe or died) and on SIGTERM/SIGINT,
 * after sending goodbye packets; 2 on bad arguments; 1 when no interface can be joined.
 *
 * Why a separate process: libmdnsd 0.12 (Debian) parses packets from anyone on the link and lacks
 * upstream parser fixes. A crafted packet may crash or confuse this child, never the node, which
 * holds the database and treats every reported peer as an untrusted hint (each connection is
 * authenticated with device keys). For the same reason it links only libmdnsd and libc, sets
 * no_new_privs and, outside sanitizer builds, caps its address space.
 *
 * Invariants:
 * - One UDP socket and one mdnsd daemon per interface. The socket is bound to *:5353 and joins
 *   224.0.0.251 on that ifindex with imr_address set to the address given to
 *   mdnsd_set_address() (otherwise our own looped-back probes look like conflicts); multicast
 *   leaves through IP_MULTICAST_IF with IP TTL 255 (RFC 6762 section 11).
 * - We receive packets ourselves and hand them to message_parse() and mdnsd_in() only when they
 *   came in on that interface, to 224.0.0.251, from port 5353 (so the library never queues a
 *   unicast reply) and from an on-link source address, and are at most 9000 bytes long (RFC 6762
 *   section 17). The parser gets no length: it reads a zeroed buffer far larger than any packet.
 *   mdnsd_step() is used for output and timing only.
 * - Library callbacks only set flags. Questions are registered, and the peer table rebuilt from
 *   the library's cache (reconcile()), outside the library's loops. A question is never
 *   withdrawn (libmdnsd 0.12 crashes doing it, see query_add()): at most QUERY_CAP are
 *   registered, then the daemon is replaced by a fresh one.
 * - Every --interval-ms we send a query of our own (iface_requery()), because libmdnsd gives up
 *   on a question after three unanswered tries.
 * - A response from another host carrying our own names makes us announce our records again,
 *   at most once per DEFEND_MS (claims_ours()).
 * - At most MAX_PEERS instances are tracked per interface, and reported in all; every scan of
 *   the library's cache stops after SCAN_MAX entries.
 */
#include <libmdnsd/mdnsd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define PROG          "memberlog-mdns"
#define SERVICE       "_memberlog._tcp.local."
#define MDNS_PORT     5353
#define MDNS_GROUP    0xe00000fbU /* 224.0.0.251, host order */
#define RR_TTL        120         /* seconds, every record (RFC 6762 section 10) */
#define FRAME         1400        /* libmdnsd's packet budget; all our records fit in one */
#define MAX_IFACES    16
#define MAX_PEERS     256
#define MAX_TXT_ARGS  16
#define MAX_TXT_RDATA 512 /* our own TXT, so that a goodbye is a single packet */
#define MAX_KEY       32
#define MAX_INSTANCE  63 /* one DNS label */
#define MAX_NAME      255
#define MAX_QNAME     200 /* longest name we write: libmdnsd's writer drops 255-byte names */
#define QUERY_CAP     1024
#define MAX_KNOWN     32
#define KNOWN_MIN_S   30   /* a cached answer quoted as known has this many seconds left */
#define DEFEND_MS     1000 /* at most one re-announcement per interface per second */
#define MAX_ANSWERS   512  /* answers of one packet we look at (libmdnsd bounds them too) */
#define MAX_MSG       9000
#define PKT_BUF       (MAX_PACKET_LEN + 8192)
#define RECV_BURST    64 /* packets per socket per wakeup, so stdin is never starved */
#define SCAN_MAX      4096
#define PEER_TXT_MAX  1024
#define OUT_LINE_MAX  (PEER_TXT_MAX + 256)
#define RECONCILE_MS  1000 /* at least this often, for expiries */
#define RECONCILE_GAP 50   /* at most this often, however busy the link */
#define WARN_EVERY_MS 10000
#define MEM_LIMIT     (256L << 20)
#define INTERVAL_MIN  100
#define INTERVAL_MAX  3600000
#define INTERVAL_DFLT 5000

/* An instance seen in an interface's PTR answers; its SRV, TXT and A questions are registered. */
struct tracked {
	char fqdn[MAX_NAME + 1];   /* "<instance>._memberlog._tcp.local." */
	char target[MAX_NAME + 1]; /* the SRV target we asked the A record of, or "" */
	bool seen;                 /* still in the PTR answers, during one reconcile pass */
	bool fresh;                /* its SRV and TXT questions are not registered yet */
};

struct iface {
	char name[IF_NAMESIZE];
	unsigned int index;
	struct in_addr addr, mask;
	int fd;
	mdns_daemon_t *d;
	bool dirty;    /* an answer callback fired: reconcile soon */
	bool conflict; /* one of our unique records was withdrawn: publish again */
	bool recycle;  /* too many questions registered: start a fresh daemon */
	bool defend;   /* another host sent our records: announce ours again */
	long defended; /* now_ms() of the last re-announcement */
	int nqueries;  /* questions registered with d (query_add) */
	long warn_send, warn_recv, warn_conflict, warn_full;
	int ntracked;
	struct tracked tracked[MAX_PEERS];
};

struct peer {
	char name[MAX_INSTANCE + 1];
	struct in_addr ip;
	uint16_t port;
	char txt[PEER_TXT_MAX]; /* " k=v k=v", already filtered; "" when none */
};

static struct {
	uint16_t port;
	const char *instance;
	char fqdn[MAX_NAME + 1];
	char host[MAX_NAME + 1];
	unsigned char txt[MAX_TXT_RDATA];
	size_t txt_len;
	int ntxt;
	const char *ifnames[MAX_IFACES];
	int nifnames;
	long interval_ms;
} opt;

static struct iface ifaces[MAX_IFACES];
static int nifaces;
static struct peer reported[MAX_PEERS];
static int nreported;
static struct peer current[MAX_PEERS];
static int ncurrent;

static int out_fd = -1;     /* the original stdout: event lines only */
static int out_status = -1; /* set when stdout broke: the exit status */
static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t got_signal;

/* The parser reads a packet without knowing its length: it must lie in a zeroed buffer much
 * larger than MAX_MSG (a record length read from the packet may send it up to 64 KiB on). */
static unsigned char pkt[PKT_BUF];
static struct message msg;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libmdnsd keeps absolute expiry times in gettimeofday() seconds. */
static unsigned long wall_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (unsigned long)tv.tv_sec;
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Logs at most once per WARN_EVERY_MS per *last: what the network provokes must not flood. */
static void diag_every(long *last, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diag_every(long *last, const char *fmt, ...)
{
	long now = now_ms();
	va_list ap;

	if (*last && now - *last < WARN_EVERY_MS)
		return;
	*last = now ? now : 1;
	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool safe_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == ':' || c == '-';
}

static bool safe_span(const void *p, size_t len)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < len; i++)
		if (!safe_char(s[i]))
			return false;
	return true;
}

/* Writes one event line to the node. Returns 0, or -1 when stdout is broken (out_status set). */
static int emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int emit(const char *fmt, ...)
{
	char line[OUT_LINE_MAX];
	va_list ap;
	int n;
	size_t off = 0;

	if (out_status >= 0)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line - 1) {
		diag("event line too long; dropped");
		return 0;
	}
	line[n++] = '\n';
	while (off < (size_t)n) {
		ssize_t w = write(out_fd, line + off, (size_t)n - off);

		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && errno == EINTR && !got_signal) {
			continue;
		} else {
			/* EPIPE: the node is gone, which ends us normally, as EOF on stdin does. */
			if (w < 0 && errno == EPIPE) {
				out_status = 0;
			} else {
				diag("cannot write to stdout: %s",
				     w < 0 ? strerror(errno) : "short write");
				out_status = 1;
			}
			return -1;
		}
	}
	return 0;
}

static void usage(void)
{
	fputs("usage: " PROG " --port PORT --instance NAME [--txt KEY=VALUE]... [--iface IFNAME]..."
	      " [--interval-ms N]\n",
	      stderr);
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Appends "KEY=VALUE" to our TXT rdata as one character-string. */
static bool txt_add(const char *kv)
{
	size_t len = strlen(kv);
	const char *eq = strchr(kv, '=');
	size_t klen;

	if (!eq || eq == kv || len > 255 || opt.ntxt == MAX_TXT_ARGS)
		return false;
	klen = (size_t)(eq - kv);
	if (klen > MAX_KEY || !safe_span(kv, klen) || !safe_span(eq + 1, len - klen - 1))
		return false;
	if (opt.txt_len + 1 + len > sizeof opt.txt)
		return false;
	/* A key may appear once (RFC 6763 section 6.4); duplicates are a caller's mistake. */
	for (size_t off = 0; off < opt.txt_len; off += 1 + opt.txt[off]) {
		const char *s = (const char *)opt.txt + off + 1;
		const char *e = memchr(s, '=', opt.txt[off]);

		if (e && (size_t)(e - s) == klen && !strncasecmp(s, kv, klen))
			return false;
	}
	opt.txt[opt.txt_len++] = (unsigned char)len;
	memcpy(opt.txt + opt.txt_len, kv, len);
	opt.txt_len += len;
	opt.ntxt++;
	return true;
}

static int bad_usage(const char *fmt, const char *arg)
{
	fputs(PROG ": ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	usage();
	return 2;
}

/* Returns 0; 2 (the exit status) after a message; -1 after --help. */
static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"instance", required_argument, NULL, 'n'},
	    {"txt", required_argument, NULL, 't'},
	    {"iface", required_argument, NULL, 'i'},
	    {"interval-ms", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	long v;
	int c;
	bool have_port = false;

	opt.interval_ms = INTERVAL_DFLT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_long(optarg, 1, 65535, &v))
				return bad_usage("bad port '%s'", optarg);
			opt.port = (uint16_t)v;
			have_port = true;
			break;
		case 'n': {
			size_t len = strlen(optarg);

			/* No '.': libmdnsd would split it into two labels. */
			if (len == 0 || len > MAX_INSTANCE || !safe_span(optarg, len) ||
			    strchr(optarg, '.'))
				return bad_usage(
				    "bad instance name '%s' (1-63 of A-Z a-z 0-9 _ : -)", optarg);
			opt.instance = optarg;
			break;
		}
		case 't':
			if (!txt_add(optarg))
				return bad_usage(
				    "bad or too many --txt '%s' (KEY=VALUE of A-Z a-z 0-9 _ . : -, "
				    "keys unique, at most 16 pairs and 512 bytes)",
				    optarg);
			break;
		case 'i':
			if (strlen(optarg) == 0 || strlen(optarg) >= IF_NAMESIZE)
				return bad_usage("bad interface name '%s'", optarg);
			if (opt.nifnames == MAX_IFACES)
				return bad_usage("too many interfaces at '%s'", optarg);
			opt.ifnames[opt.nifnames++] = optarg;
			break;
		case 'r':
			if (!parse_long(optarg, INTERVAL_MIN, INTERVAL_MAX, &v))
				return bad_usage("bad --interval-ms '%s' (100..3600000)", optarg);
			opt.interval_ms = v;
			break;
		case 'h':
			usage();
			return -1;
		case ':':
			return bad_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			return bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	if (!have_port)
		return bad_usage("%s", "--port is required");
	if (!opt.instance)
		return bad_usage("%s", "--instance is required");
	snprintf(opt.fqdn, sizeof opt.fqdn, "%s.%s", opt.instance, SERVICE);
	snprintf(opt.host, sizeof opt.host, "%s.local.", opt.instance);
	if (opt.txt_len == 0) {
		/* An empty TXT record still holds one empty string (RFC 6763 section 6.1). */
		opt.txt[0] = 0;
		opt.txt_len = 1;
	}
	return 0;
}

static int on_answer(mdns_answer_t *a, void *arg)
{
	struct iface *ifc = arg;

	(void)a;
	ifc->dirty = true;
	return 0;
}

/* libmdnsd withdraws the record itself (mdnsd_done) after this returns; iface_tick() publishes
 * it again, so a forged conflict costs us an announcement, not our presence. */
static void on_conflict(char *host, int type, void *arg)
{
	struct iface *ifc = arg;

	(void)host;
	diag_every(&ifc->warn_conflict,
	           "name conflict iface=%s type=%d: another host claims our records; "
	           "publishing them again",
	           ifc->name, type);
	ifc->conflict = true;
}

/* Registers a question with the daemon, for good. libmdnsd 0.12 cannot withdraw one: _q_done()
 * looks the query up modulo LPRIME in a table filled modulo SPRIME, so mdnsd_query(..., NULL)
 * or an answer callback returning -1 walks the wrong bucket, past the table (it crashed here).
 * Each question therefore stays until the daemon is recycled, and is counted against
 * QUERY_CAP. Registering a question twice only renews its callback; it is counted twice. */
static void query_add(struct iface *ifc, const char *name, int type)
{
	mdnsd_query(ifc->d, name, type, on_answer, ifc);
	ifc->nqueries++;
}

static bool record_live(mdns_daemon_t *d, const char *name, unsigned short type)
{
	mdns_record_t *r = mdnsd_find(d, name, type);

	return r && mdnsd_record_data(r)->ttl != 0;
}

/* Creates whichever of our four records is missing or withdrawn. */
static void iface_publish(struct iface *ifc)
{
	mdns_daemon_t *d = ifc->d;
	mdns_record_t *r;

	if (!record_live(d, SERVICE, QTYPE_PTR)) {
		r = mdnsd_shared(d, SERVICE, QTYPE_PTR, RR_TTL);
		if (r)
			mdnsd_set_host(d, r, opt.fqdn);
	}
	if (!record_live(d, opt.fqdn, QTYPE_SRV)) {
		r = mdnsd_unique(d, opt.fqdn, QTYPE_SRV, RR_TTL, on_conflict, ifc);
		if (r)
			mdnsd_set_srv(d, r, 0, 0, opt.port, opt.host);
	}
	if (!record_live(d, opt.fqdn, QTYPE_TXT)) {
		r = mdnsd_unique(d, opt.fqdn, QTYPE_TXT, RR_TTL, on_conflict, ifc);
		if (r)
			mdnsd_set_raw(d, r, (const char *)opt.txt, (unsigned short)opt.txt_len);
	}
	if (!record_live(d, opt.host, QTYPE_A)) {
		r = mdnsd_unique(d, opt.host, QTYPE_A, RR_TTL, on_conflict, ifc);
		if (r)
			mdnsd_set_ip(d, r, ifc->addr);
	}
}

static bool iface_known(const char *name)
{
	for (int i = 0; i < nifaces; i++)
		if (!strcmp(ifaces[i].name, name))
			return true;
	return false;
}

/* Opens the socket and the daemon for one interface; prints "ready". Returns 0 or -1. */
static int iface_open(const char *name, struct in_addr addr, struct in_addr mask)
{
	struct iface *ifc = &ifaces[nifaces];
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(MDNS_PORT)};
	struct ip_mreqn mr = {.imr_address = addr};
	char ip[INET_ADDRSTRLEN];
	int on = 1, off = 0, ttl = 255;
	unsigned char mttl = 255, loop = 1;
	const char *what;
	int fd;

	memset(ifc, 0, sizeof *ifc);
	snprintf(ifc->name, sizeof ifc->name, "%s", name);
	ifc->index = if_nametoindex(name);
	ifc->addr = addr;
	ifc->mask = mask;
	if (!ifc->index) {
		diag("cannot join iface=%s: %s", name, strerror(errno));
		return -1;
	}
	mr.imr_ifindex = (int)ifc->index;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		diag("cannot join iface=%s: socket: %s", name, strerror(errno));
		return -1;
	}
	/* Other mDNS responders on this host (avahi, other nodes) share the port. */
	what = "SO_REUSEADDR";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on))
		goto fail;
	what = "SO_REUSEPORT";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on))
		goto fail;
	/* Needs CAP_NET_RAW before Linux 5.7; the ifindex check on every packet does not. */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)strlen(name)))
		diag("iface=%s: SO_BINDTODEVICE: %s (continuing)", name, strerror(errno));
	/* Deliver only the groups this socket joined, i.e. 224.0.0.251 on this interface. */
	what = "IP_MULTICAST_ALL";
	if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &off, sizeof off))
		goto fail;
	what = "IP_PKTINFO";
	if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on))
		goto fail;
	/* Without it, sendto fails with ENETUNREACH where there is no multicast route. */
	what = "IP_MULTICAST_IF";
	if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr))
		goto fail;
	/* 224.0.0.251 is link-local and never routed; 255 is what RFC 6762 section 11 asks for. */
	what = "IP_MULTICAST_TTL";
	if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &mttl, sizeof mttl))
		goto fail;
	what = "IP_TTL";
	if (setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl))
		goto fail;
	/* Other nodes on this very host must hear us; our own packets we recognise by name. */
	what = "IP_MULTICAST_LOOP";
	if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop))
		goto fail;
	/* imr_address = the address mdnsd announces: libmdnsd then takes our own looped-back
	 * probes for ours, not for a conflict (seen on lo). */
	mr.imr_multiaddr.s_addr = htonl(MDNS_GROUP);
	what = "IP_ADD_MEMBERSHIP";
	if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr))
		goto fail;
	what = "bind *:5353";
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin))
		goto fail;

	ifc->d = mdnsd_new(QCLASS_IN, FRAME);
	if (!ifc->d) {
		diag("cannot join iface=%s: out of memory", name);
		close(fd);
		return -1;
	}
	ifc->fd = fd;
	mdnsd_set_address(ifc->d, addr);
	iface_publish(ifc);
	query_add(ifc, SERVICE, QTYPE_PTR);
	nifaces++;
	inet_ntop(AF_INET, &addr, ip, sizeof ip);
	emit("ready %s %s", ifc->name, ip);
	return 0;
fail:
	diag("cannot join iface=%s: %s: %s", name, what, strerror(errno));
	close(fd);
	return -1;
}

/* With --iface: those interfaces, by their first IPv4 address. Without: every interface that is
 * up, multicast-capable, not loopback and has an IPv4 address. */
static void open_ifaces(void)
{
	struct ifaddrs *all, *ifa;

	if (getifaddrs(&all)) {
		diag("getifaddrs: %s", strerror(errno));
		return;
	}
	if (opt.nifnames) {
		for (int i = 0; i < opt.nifnames; i++) {
			const char *name = opt.ifnames[i];
			bool found = false;

			if (iface_known(name))
				continue;
			for (ifa = all; ifa && !found; ifa = ifa->ifa_next) {
				if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET ||
				    !ifa->ifa_netmask || strcmp(ifa->ifa_name, name))
					continue;
				found = true;
				if (!(ifa->ifa_flags & IFF_UP))
					diag("iface=%s is down; joining anyway", name);
				iface_open(name, ((struct sockaddr_in *)ifa->ifa_addr)->sin_addr,
				           ((struct sockaddr_in *)ifa->ifa_netmask)->sin_addr);
			}
			if (!found)
				diag("cannot join iface=%s: no such interface with an IPv4 address",
				     name);
		}
	} else {
		for (ifa = all; ifa && nifaces < MAX_IFACES; ifa = ifa->ifa_next) {
			unsigned int want = IFF_UP | IFF_MULTICAST;

			if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET ||
			    !ifa->ifa_netmask || (ifa->ifa_flags & want) != want ||
			    (ifa->ifa_flags & IFF_LOOPBACK) ||
			    strlen(ifa->ifa_name) >= IF_NAMESIZE || iface_known(ifa->ifa_name))
				continue;
			iface_open(ifa->ifa_name, ((struct sockaddr_in *)ifa->ifa_addr)->sin_addr,
			           ((struct sockaddr_in *)ifa->ifa_netmask)->sin_addr);
		}
	}
	freeifaddrs(all);
}

/* The checks RFC 6762 asks of a receiver, and ours: see the file comment. */
static bool packet_acceptable(const struct iface *ifc, const struct sockaddr_in *from,
                              struct msghdr *mh, ssize_t n)
{
	struct in_pktinfo *pi = NULL;

	if (n < 12 || n > MAX_MSG || (mh->msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return false;
	if (mh->msg_namelen < sizeof *from || from->sin_family != AF_INET ||
	    ntohs(from->sin_port) != MDNS_PORT)
		return false;
	if ((from->sin_addr.s_addr & ifc->mask.s_addr) != (ifc->addr.s_addr & ifc->mask.s_addr))
		return false;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof *pi))
			pi = (struct in_pktinfo *)CMSG_DATA(cm);
	if (!pi)
		return false;
	return (unsigned int)pi->ipi_ifindex == ifc->index &&
	       pi->ipi_addr.s_addr == htonl(MDNS_GROUP);
}

/* True when a response from another host carries one of our unique names. Nobody else may send
 * them: our names derive from the device key, so it is a forgery (or our key running twice), and
 * the cache-flush bit makes peers replace our records with it until they refresh them, a minute
 * later. libmdnsd 0.12 does not react (no conflict callback was seen for it). Our own addresses
 * are exempt: with two interfaces on one LAN, each hears the other's announcements. */
static bool claims_ours(const struct message *m, struct in_addr from)
{
	if (!m->header.qr || !m->an)
		return false;
	for (int i = 0; i < nifaces; i++)
		if (from.s_addr == ifaces[i].addr.s_addr)
			return false;
	for (int i = 0; i < m->ancount && i < MAX_ANSWERS; i++) {
		const struct resource *r = &m->an[i];

		if (!r->name)
			continue;
		if (((r->type == QTYPE_SRV || r->type == QTYPE_TXT) &&
		     !strncmp(r->name, opt.fqdn, sizeof opt.fqdn)) ||
		    (r->type == QTYPE_A && !strncmp(r->name, opt.host, sizeof opt.host)))
			return true;
	}
	return false;
}

/* Announces our unique records again (setting a record's data, even unchanged, makes libmdnsd
 * publish it anew, cache-flush bit set), so peers drop what was forged in our name. */
static void iface_defend(struct iface *ifc)
{
	mdns_daemon_t *d = ifc->d;
	mdns_record_t *r;

	ifc->defend = false;
	ifc->defended = now_ms();
	diag_every(&ifc->warn_conflict,
	           "iface=%s: another host answers for our name; announcing our records again",
	           ifc->name);
	r = mdnsd_find(d, opt.fqdn, QTYPE_SRV);
	if (r && mdnsd_record_data(r)->ttl)
		mdnsd_set_srv(d, r, 0, 0, opt.port, opt.host);
	r = mdnsd_find(d, opt.fqdn, QTYPE_TXT);
	if (r && mdnsd_record_data(r)->ttl)
		mdnsd_set_raw(d, r, (const char *)opt.txt, (unsigned short)opt.txt_len);
	r = mdnsd_find(d, opt.host, QTYPE_A);
	if (r && mdnsd_record_data(r)->ttl)
		mdnsd_set_ip(d, r, ifc->addr);
}

/* Feeds up to RECV_BURST acceptable packets to the daemon. Returns how many were fed. */
static int iface_read(struct iface *ifc)
{
	int fed = 0;

	for (int i = 0; i < RECV_BURST; i++) {
		struct sockaddr_in from;
		union {
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = {.iov_base = pkt, .iov_len = MAX_MSG + 1};
		struct msghdr mh = {
		    .msg_name = &from,
		    .msg_namelen = sizeof from,
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		    .msg_control = cbuf.buf,
		    .msg_controllen = sizeof cbuf.buf,
		};
		ssize_t n;

		memset(pkt, 0, sizeof pkt);
		n = recvmsg(ifc->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				diag_every(&ifc->warn_recv, "receive failed iface=%s: %s",
				           ifc->name, strerror(errno));
			break;
		}
		if (!packet_acceptable(ifc, &from, &mh, n))
			continue;
		memset(&msg, 0, sizeof msg);
		if (message_parse(&msg, pkt) != 0)
			continue;
		if (claims_ours(&msg, from.sin_addr))
			ifc->defend = true;
		mdnsd_in(ifc->d, &msg, from.sin_addr, ntohs(from.sin_port));
		fed++;
	}
	return fed;
}

/* Copies the instance label out of "<instance>._memberlog._tcp.local.", if it is one we print. */
static bool instance_of(const char *fqdn, char out[MAX_INSTANCE + 1])
{
	static const char suffix[] = "." SERVICE;
	size_t slen = sizeof suffix - 1;
	size_t len = strnlen(fqdn, MAX_NAME + 1);
	size_t n;

	if (len > MAX_NAME || len <= slen || strcmp(fqdn + len - slen, suffix))
		return false;
	n = len - slen;
	if (n > MAX_INSTANCE || !safe_span(fqdn, n))
		return false;
	memcpy(out, fqdn, n);
	out[n] = '\0';
	return true;
}

/* The newest cached answer for name/type that has not expired, or NULL. Only valid until the
 * daemon is next stepped or fed. */
static const mdns_answer_t *first_live(mdns_daemon_t *d, const char *name, int type,
                                       unsigned long now)
{
	mdns_answer_t *a = NULL;

	for (int n = 0; n < SCAN_MAX && (a = mdnsd_list(d, name, type, a)); n++) {
		if (a->ttl <= now)
			continue;
		if (type == QTYPE_SRV &&
		    (!a->rdname || !a->rdname[0] || strnlen(a->rdname, MAX_QNAME + 1) > MAX_QNAME))
			continue;
		if (type == QTYPE_A) {
			uint32_t ip = ntohl(a->ip.s_addr);

			if (a->rdlen != 4 || ip == 0 || ip >= 0xe0000000U)
				continue;
		}
		return a;
	}
	return NULL;
}

/* Brings the tracked set in line with the PTR answers in the cache, and registers the SRV and
 * TXT questions of each new instance and the A question of each new SRV target. */
static void iface_track(struct iface *ifc, unsigned long now)
{
	mdns_answer_t *a = NULL;

	for (int i = 0; i < ifc->ntracked; i++)
		ifc->tracked[i].seen = false;
	for (int n = 0; n < SCAN_MAX && (a = mdnsd_list(ifc->d, SERVICE, QTYPE_PTR, a)); n++) {
		char inst[MAX_INSTANCE + 1];
		struct tracked *t = NULL;

		if (a->ttl <= now || !a->rdname || !instance_of(a->rdname, inst) ||
		    !strcmp(inst, opt.instance))
			continue;
		for (int i = 0; i < ifc->ntracked && !t; i++)
			if (!strcmp(ifc->tracked[i].fqdn, a->rdname))
				t = &ifc->tracked[i];
		if (!t) {
			if (ifc->ntracked == MAX_PEERS || ifc->nqueries + 3 > QUERY_CAP) {
				diag_every(&ifc->warn_full,
				           "iface=%s: too many instances; ignoring the newest",
				           ifc->name);
				if (ifc->nqueries + 3 > QUERY_CAP)
					ifc->recycle = true;
				continue;
			}
			/* Its questions are registered below, after the scan. */
			t = &ifc->tracked[ifc->ntracked++];
			memset(t, 0, sizeof *t);
			snprintf(t->fqdn, sizeof t->fqdn, "%s", a->rdname);
			t->fresh = true;
		}
		t->seen = true;
	}

	for (int i = 0; i < ifc->ntracked;) {
		if (ifc->tracked[i].seen)
			i++;
		else
			ifc->tracked[i] = ifc->tracked[--ifc->ntracked];
	}

	for (int i = 0; i < ifc->ntracked; i++) {
		struct tracked *t = &ifc->tracked[i];
		const mdns_answer_t *srv;

		if (t->fresh) {
			t->fresh = false;
			query_add(ifc, t->fqdn, QTYPE_SRV);
			query_add(ifc, t->fqdn, QTYPE_TXT);
		}
		srv = first_live(ifc->d, t->fqdn, QTYPE_SRV, now);
		if (srv && strcmp(srv->rdname, t->target)) {
			snprintf(t->target, sizeof t->target, "%s", srv->rdname);
			query_add(ifc, t->target, QTYPE_A);
		}
	}
}

/* Keeps the KEY=VALUE strings of a TXT rdata that are safe to print, as " k=v k=v". The first
 * occurrence of a key wins (RFC 6763 section 6.4), even when its value is then dropped. */
static void txt_render(const unsigned char *rd, size_t len, char *out, size_t cap)
{
	char keys[MAX_TXT_ARGS][MAX_KEY + 1];
	int nkeys = 0;
	size_t used = 0;

	out[0] = '\0';
	if (!rd)
		return;
	for (size_t off = 0; off < len && nkeys < MAX_TXT_ARGS;) {
		size_t slen = rd[off++];
		const unsigned char *s = rd + off;
		const unsigned char *eq;
		size_t klen;
		bool dup = false;

		if (slen > len - off)
			break;
		off += slen;
		eq = memchr(s, '=', slen);
		if (!eq || eq == s)
			continue;
		klen = (size_t)(eq - s);
		if (klen > MAX_KEY || !safe_span(s, klen))
			continue;
		for (int k = 0; k < nkeys && !dup; k++)
			dup =
			    strlen(keys[k]) == klen && !strncasecmp(keys[k], (const char *)s, klen);
		if (dup)
			continue;
		memcpy(keys[nkeys], s, klen);
		keys[nkeys++][klen] = '\0';
		if (!safe_span(eq + 1, slen - klen - 1) || used + 1 + slen + 1 > cap)
			continue;
		out[used++] = ' ';
		memcpy(out + used, s, slen);
		used += slen;
		out[used] = '\0';
	}
}

/* Fills p when t's SRV, TXT and A answers are all live. */
static bool resolve(struct iface *ifc, const struct tracked *t, unsigned long now, struct peer *p)
{
	const mdns_answer_t *srv, *txt, *a;

	if (!instance_of(t->fqdn, p->name))
		return false;
	srv = first_live(ifc->d, t->fqdn, QTYPE_SRV, now);
	if (!srv)
		return false;
	p->port = srv->srv.port;
	a = first_live(ifc->d, srv->rdname, QTYPE_A, now);
	txt = first_live(ifc->d, t->fqdn, QTYPE_TXT, now);
	if (!a || !txt || p->port == 0)
		return false;
	p->ip = a->ip;
	txt_render(txt->rdata, txt->rdlen, p->txt, sizeof p->txt);
	return true;
}

static struct peer *peer_find(struct peer *set, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(set[i].name, name))
			return &set[i];
	return NULL;
}

static int emit_peer(const struct peer *p)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &p->ip, ip, sizeof ip);
	return emit("peer %s %s %u%s", p->name, ip, (unsigned int)p->port, p->txt);
}

/* Rebuilds the set of resolved instances from every interface's cache (the first interface
 * that resolves an instance gives its address) and reports the differences. Returns 0, or -1
 * when stdout broke. */
static int reconcile(void)
{
	unsigned long now = wall_now();
	struct peer p;

	ncurrent = 0;
	for (int i = 0; i < nifaces; i++) {
		struct iface *ifc = &ifaces[i];

		ifc->dirty = false;
		iface_track(ifc, now);
		for (int k = 0; k < ifc->ntracked && ncurrent < MAX_PEERS; k++) {
			if (!resolve(ifc, &ifc->tracked[k], now, &p) ||
			    peer_find(current, ncurrent, p.name))
				continue;
			current[ncurrent++] = p;
		}
	}
	for (int i = 0; i < nreported;) {
		if (peer_find(current, ncurrent, reported[i].name)) {
			i++;
			continue;
		}
		if (emit("gone %s", reported[i].name))
			return -1;
		reported[i] = reported[--nreported];
	}
	for (int i = 0; i < ncurrent; i++) {
		struct peer *c = &current[i];
		struct peer *r = peer_find(reported, nreported, c->name);

		if (r && r->ip.s_addr == c->ip.s_addr && r->port == c->port &&
		    !strcmp(r->txt, c->txt))
			continue;
		if (!r) {
			if (nreported == MAX_PEERS)
				continue;
			r = &reported[nreported++];
		}
		*r = *c;
		if (emit_peer(r))
			return -1;
	}
	return 0;
}

/* Sends a query of our own, so that an instance that appeared while we were not listening, or
 * after a partition healed, is found: libmdnsd stops asking a question that had no answer three
 * times, and a question cannot be withdrawn and asked anew (query_add). It asks for the PTR
 * records of the service with the answers we hold and still trust as known answers (RFC 6762
 * section 7.1: known peers stay quiet until their record is half expired), and for the SRV, TXT
 * and A records that unresolved instances lack. Answers go to the cache like any others. */
static void iface_requery(struct iface *ifc)
{
	static struct message q;
	char service[] = SERVICE;
	const char *known[MAX_KNOWN];
	int nknown = 0;
	unsigned long now = wall_now();
	mdns_answer_t *a = NULL;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(MDNS_PORT)};
	unsigned char *p;

	to.sin_addr.s_addr = htonl(MDNS_GROUP);
	memset(&q, 0, sizeof q);
	message_qd(&q, service, QTYPE_PTR, QCLASS_IN);
	for (int i = 0; i < ifc->ntracked; i++) {
		struct tracked *t = &ifc->tracked[i];

		if (message_packet_len(&q) + 3 * (MAX_QNAME + 8) > FRAME)
			break;
		if (!first_live(ifc->d, t->fqdn, QTYPE_SRV, now))
			message_qd(&q, t->fqdn, QTYPE_SRV, QCLASS_IN);
		if (!first_live(ifc->d, t->fqdn, QTYPE_TXT, now))
			message_qd(&q, t->fqdn, QTYPE_TXT, QCLASS_IN);
		if (t->target[0] && !first_live(ifc->d, t->target, QTYPE_A, now))
			message_qd(&q, t->target, QTYPE_A, QCLASS_IN);
	}
	/* The cache holds one entry per PTR answer received, newest first: the first entry of a
	 * name is the one that lasts longest. Our own PTR is included, or we would answer
	 * ourselves. The TTL we quote estimates the true remaining one (libmdnsd keeps an answer
	 * for ttl/2 + 8 s). */
	for (int n = 0;
	     n < SCAN_MAX && nknown < MAX_KNOWN && (a = mdnsd_list(ifc->d, SERVICE, QTYPE_PTR, a));
	     n++) {
		char inst[MAX_INSTANCE + 1];
		bool dup = false;

		if (!a->rdname || !instance_of(a->rdname, inst))
			continue;
		for (int k = 0; k < nknown && !dup; k++)
			dup = !strcmp(known[k], a->rdname);
		if (dup)
			continue;
		known[nknown++] = a->rdname;
		if (a->ttl < now + KNOWN_MIN_S)
			continue;
		if (message_packet_len(&q) + MAX_NAME + 16 > FRAME)
			break;
		message_an(&q, service, QTYPE_PTR, QCLASS_IN, 2 * (a->ttl - now - 8));
		message_rdata_name(&q, a->rdname);
	}
	p = message_packet(&q);
	if (sendto(ifc->fd, p, (size_t)message_packet_len(&q), MSG_DONTWAIT, (struct sockaddr *)&to,
	           sizeof to) < 0)
		diag_every(&ifc->warn_send, "send failed iface=%s: %s", ifc->name, strerror(errno));
}

/* Replaces the daemon by a fresh one when it holds too many questions (query_add). The new one
 * announces the same records, so peers notice nothing; our tracked set starts again empty, and
 * reconcile() may report peers gone until they are resolved again. Returns 0 or -1. */
static int iface_recycle(struct iface *ifc)
{
	diag("iface=%s: %d questions registered; starting a fresh daemon", ifc->name,
	     ifc->nqueries);
	mdnsd_free(ifc->d);
	ifc->d = mdnsd_new(QCLASS_IN, FRAME);
	if (!ifc->d) {
		diag("iface=%s: out of memory", ifc->name);
		return -1;
	}
	mdnsd_set_address(ifc->d, ifc->addr);
	iface_publish(ifc);
	ifc->ntracked = 0;
	ifc->nqueries = 0;
	ifc->recycle = false;
	ifc->conflict = false;
	query_add(ifc, SERVICE, QTYPE_PTR);
	return 0;
}

/* The periodic work of one interface. Returns 0 or -1. */
static int iface_tick(struct iface *ifc)
{
	if (ifc->recycle && iface_recycle(ifc))
		return -1;
	if (ifc->conflict) {
		ifc->conflict = false;
		iface_publish(ifc);
	}
	iface_requery(ifc);
	return 0;
}

static long tv_ms(const struct timeval *tv)
{
	if (tv->tv_sec < 0 || tv->tv_usec < 0)
		return 0;
	if (tv->tv_sec > INTERVAL_MAX / 1000)
		return INTERVAL_MAX;
	return (long)tv->tv_sec * 1000 + ((long)tv->tv_usec + 999) / 1000;
}

/* Returns false at EOF on stdin (or an error reading it). */
static bool stdin_drain(void)
{
	char buf[512];
	ssize_t n = read(STDIN_FILENO, buf, sizeof buf);

	if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN)))
		return true;
	if (n < 0)
		diag("cannot read stdin: %s", strerror(errno));
	return false;
}

/* The event loop. Returns the exit status. */
static int run(void)
{
	struct pollfd pfd[2 + MAX_IFACES];
	bool stdin_open = true;
	long next_query = now_ms() + opt.interval_ms;
	long next_reconcile = 0, last_reconcile = 0;
	bool pending = false; /* packets or answers arrived since the last reconcile */

	for (;;) {
		long timeout = RECONCILE_MS;
		long now;
		int n;

		for (int i = 0; i < nifaces; i++) {
			struct iface *ifc = &ifaces[i];
			/* mdnsd_step leaves tv alone when sending failed: retry within 1 s. */
			struct timeval tv = {1, 0};
			int rc = mdnsd_step(ifc->d, ifc->fd, false, true, &tv);

			if (rc == 2)
				diag_every(&ifc->warn_send, "send failed iface=%s: %s", ifc->name,
				           strerror(errno));
			else if (rc)
				diag_every(&ifc->warn_send, "mdnsd_step failed iface=%s rc=%d",
				           ifc->name, rc);
			if (tv_ms(&tv) < timeout)
				timeout = tv_ms(&tv);
		}
		now = now_ms();
		if (next_query - now < timeout)
			timeout = next_query - now;
		if (next_reconcile - now < timeout)
			timeout = next_reconcile - now;
		if (pending && last_reconcile + RECONCILE_GAP - now < timeout)
			timeout = last_reconcile + RECONCILE_GAP - now;
		/* A floor keeps a confused library from spinning us at full speed. */
		if (timeout < 1)
			timeout = 1;

		pfd[0] = (struct pollfd){.fd = sig_pipe[0], .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN};
		for (int i = 0; i < nifaces; i++)
			pfd[2 + i] = (struct pollfd){.fd = ifaces[i].fd, .events = POLLIN};
		n = poll(pfd, (nfds_t)(2 + nifaces), (int)timeout);
		if (n < 0 && errno != EINTR) {
			diag("poll: %s", strerror(errno));
			return 1;
		}
		if (got_signal)
			return 0;
		if (n > 0 && stdin_open && pfd[1].revents) {
			if (pfd[1].revents & POLLNVAL) {
				/* Started without stdin: only signals end us. */
				stdin_open = false;
			} else if (!stdin_drain()) {
				return 0;
			}
		}
		for (int i = 0; n > 0 && i < nifaces; i++)
			if (pfd[2 + i].revents & (POLLIN | POLLERR))
				pending |= iface_read(&ifaces[i]) > 0;
		for (int i = 0; i < nifaces; i++)
			if (ifaces[i].defend && now_ms() - ifaces[i].defended >= DEFEND_MS)
				iface_defend(&ifaces[i]);

		now = now_ms();
		if (now >= next_query) {
			for (int i = 0; i < nifaces; i++)
				if (iface_tick(&ifaces[i]))
					return 1;
			next_query = now + opt.interval_ms;
		}
		for (int i = 0; i < nifaces; i++)
			pending |= ifaces[i].dirty;
		if ((pending && now - last_reconcile >= RECONCILE_GAP) || now >= next_reconcile) {
			if (reconcile())
				return out_status;
			pending = false;
			last_reconcile = now;
			next_reconcile = now + RECONCILE_MS;
		}
	}
}

/* Withdraws our records (TTL 0 goodbyes, all in one packet per interface) and frees all. */
static void close_ifaces(void)
{
	for (int i = 0; i < nifaces; i++) {
		struct iface *ifc = &ifaces[i];
		struct timeval tv = {0, 0};

		mdnsd_shutdown(ifc->d);
		if (mdnsd_step(ifc->d, ifc->fd, false, true, &tv) == 2)
			diag("goodbye not sent iface=%s: %s", ifc->name, strerror(errno));
		mdnsd_free(ifc->d);
		close(ifc->fd);
	}
	nifaces = 0;
}

static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	got_signal = 1;
	if (write(sig_pipe[1], &c, 1) < 0) {
		/* The pipe is full: a wakeup is already pending. */
	}
	errno = saved;
}

static int setup_process(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	char level[] = "emerg";
	const char *env = getenv("MEMBERLOG_MDNS_LIBLOG");
	char envlevel[16];

	/* The library logs notice and below to stdout: keep the original stdout for our lines and
	 * send everything else written to fd 1 to stderr. */
	out_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (out_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		diag("cannot set up stdout: %s", strerror(errno));
		return -1;
	}
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK)) {
		diag("pipe: %s", strerror(errno));
		return -1;
	}
	/* No SA_RESTART: a blocked write to a stalled node must not outlive SIGTERM. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The library's own logging is off unless asked for: it can log per packet, and at levels
	 * above "info" it hex-dumps every packet. "none" would enable exactly that. */
	if (env && strlen(env) < sizeof envlevel) {
		snprintf(envlevel, sizeof envlevel, "%s", env);
		mdnsd_log_level(envlevel);
	} else {
		mdnsd_log_level(level);
	}
	return 0;
}

static void limit_process(void)
{
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
#ifndef UNDER_ASAN
	/* libmdnsd caches whatever the link sends, without a bound of its own. */
	struct rlimit rl = {.rlim_cur = MEM_LIMIT, .rlim_max = MEM_LIMIT};

	if (setrlimit(RLIMIT_AS, &rl))
		diag("cannot limit memory: %s", strerror(errno));
#endif
}

int main(int argc, char **argv)
{
	pid_t parent = getppid();
	int rc;

	/* Die with the node; EOF on stdin covers a parent that died before this call. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		return 0;
	rc = parse_args(argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	limit_process();
	if (setup_process())
		return 1;
	open_ifaces();
	if (out_status >= 0) {
		close_ifaces();
		return out_status;
	}
	if (nifaces == 0) {
		diag("no interface could be joined%s",
		     opt.nifnames ? "" : " (none is up, multicast-capable and has IPv4)");
		return 1;
	}
	rc = run();
	close_ifaces();
	return rc;
}
