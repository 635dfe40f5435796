/*
 * The "config.h" that Debian's libmdnsd-dev 0.12 headers include (<libmdnsd/mdnsd.h> and
 * <libmdnsd/1035.h> say #include "config.h", which the package does not install). The installed
 * headers read only these two switches, to include <netinet/in.h> and <sys/socket.h>.
 *
 * Only memberlog-mdns (net/mdns_main.c) has this folder on its include path.
 */
#ifndef ML_MDNS_CONFIG_H
#define ML_MDNS_CONFIG_H

#define HAVE_NETINET_IN_H 1
#define HAVE_SYS_SOCKET_H 1

#endif
