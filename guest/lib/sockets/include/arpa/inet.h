#ifndef KILN_ARPA_INET_H
#define KILN_ARPA_INET_H

#include <netinet/in.h>

/* Dotted quad to network-order address: 1 on success, 0 when malformed. */
int inet_pton4(const char *text, struct in_addr *out);

#endif
