/* hostrules: which hosts and addresses the proxy may reach for CONNECT and absolute URIs (pure). */
#ifndef NONO_HOSTRULES_H
#define NONO_HOSTRULES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define HOSTRULES_NAME_MAX     253 /* DNS name bytes, trailing dot not counted */
#define HOSTRULES_LABEL_MAX    63
#define HOSTRULES_HOST_MAX     (HOSTRULES_NAME_MAX + 1) /* buffer for any normalised host */
#define HOSTRULES_INPUT_MAX    1024 /* longer hosts, authorities, URIs, entries: refused */
#define HOSTRULES_WHY_MAX      192  /* buffer for any reason string */
#define HOSTRULES_DEFAULT_PORT 443  /* port of an allowlist entry without ":port" */

/* What a normalised host is; hostrules_normalize() returns one of these (>= 0). */
enum hostrules_kind {
	HOSTRULES_NAME, /* "api.openai.com": lowercase, no trailing dot */
	HOSTRULES_IPV4, /* "127.0.0.1": dotted quad, whatever form it arrived in */
	HOSTRULES_IPV6, /* "[2001:db8::1]": inet_ntop form, bracketed (v4-mapped become IPV4) */
};

enum hostrule_type {
	HOSTRULE_EXACT,	 /* name equals */
	HOSTRULE_SUFFIX, /* name ends with ".suffix" after at least one label */
	HOSTRULE_NET4,	 /* IPv4 address or CIDR */
	HOSTRULE_NET6,	 /* IPv6 address or CIDR */
};

struct hostrule {
	enum hostrule_type type;
	int port;
	unsigned prefix;	/* NET4/NET6: prefix length */
	unsigned char addr[16]; /* NET4/NET6: network, host bits zero (NET4: first 4 bytes) */
	char *name;		/* EXACT: the name; SUFFIX: ".suffix" (leading dot kept) */
};

/* An allowlist. Address entries also re-allow their range in hostrules_addr_denied(). */
struct hostrules {
	struct hostrule *rules;
	size_t n;
};

/*
 * Normalise a request's host into out (HOSTRULES_HOST_MAX bytes suffice): lowercase, one
 * trailing dot dropped, every inet_aton() form of IPv4 as a dotted quad, a bracketed IPv6
 * literal in inet_ntop form. Refuses anything else a resolver or URL parser might read
 * differently (see the .c). Returns the kind, or -EINVAL with why, -ENOSPC if out is short.
 * why never echoes the input.
 */
int hostrules_normalize(const char *in, char *out, size_t outlen, char *why, size_t whylen);

/*
 * Parse a CONNECT target or URI authority: "host:port", "[v6]:port", or a bare host, which
 * gets default_port (0 = a port is required). Host as hostrules_normalize(); port 1..65535.
 * Returns the host's kind or a negative errno with why.
 */
int hostrules_parse_authority(const char *in, int default_port, char *host, size_t hostlen,
			      int *port, char *why, size_t whylen);

/*
 * Parse an absolute-form request target "http://authority[/path...]" (port 80 by default)
 * or "https://..." (443). *rest points into uri just past the authority ("" or "/...",
 * "?...", "#..."). Returns the host's kind or a negative errno with why.
 */
int hostrules_parse_uri(const char *uri, char *host, size_t hostlen, int *port, const char **rest,
			char *why, size_t whylen);

/*
 * Build an allowlist from a NULL-terminated array of entries (NULL = empty): "name",
 * "*.suffix", an IPv4 address or CIDR ("10.1.2.0/24"), an IPv6 one ("fd00::/8", or
 * bracketed "[fd00::1]"), each optionally ":port" (default 443; bare IPv6 takes no port).
 * 0, or -EINVAL / -ENOMEM with err naming the entry.
 */
int hostrules_new(struct hostrules **out, char *const *entries, char *err, size_t errlen);
void hostrules_free(struct hostrules *hr);

/*
 * Whether host (normalised; re-normalised here anyway) on port is allowlisted. Names match
 * only EXACT/SUFFIX entries, address literals only NET4/NET6 entries.
 */
bool hostrules_match(const struct hostrules *hr, const char *host, int port);

/* Whether host is a cloud metadata host name, refused whatever the allowlist says. */
bool hostrules_name_denied(const char *host, char *why, size_t whylen);

/*
 * The proxy's decision on a request's host before resolving it: 0, or -EACCES with why
 * (metadata name, not allowlisted, allowlisted on other ports only), -EINVAL if host is bad.
 */
int hostrules_check(const struct hostrules *hr, const char *host, int port, char *why,
		    size_t whylen);

/*
 * Whether the proxy must refuse to connect to sa (a resolver answer or a literal):
 * loopback, private, link-local, metadata, multicast, reserved, and IPv6 forms embedding
 * such an IPv4 address — unless an address entry of allow (may be NULL) covers it.
 * why: "resolves to 127.0.0.1 (loopback)".
 */
bool hostrules_addr_denied(const struct sockaddr *sa, const struct hostrules *allow, char *why,
			   size_t whylen);

/* The socket address of a normalised IPv4/IPv6 host and port; -EINVAL for a name. */
int hostrules_sockaddr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len);

#endif
