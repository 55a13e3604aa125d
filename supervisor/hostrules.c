/* hostrules: host normalisation, authority parsing, the allowlist and denied address ranges. */
#include "hostrules.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(int rc, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int rc, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static bool is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-';
}

/* Copy s to out: kind, or -ENOSPC. */
static int put(char *out, size_t outlen, const char *s, int kind, char *why, size_t whylen)
{
	size_t n = strlen(s);

	if (n >= outlen)
		return fail(-ENOSPC, why, whylen, "host buffer too small");
	memcpy(out, s, n + 1);
	return kind;
}

/* A character for a reason string: printable ASCII as itself, anything else as hex. */
static void describe(char c, char *d, size_t dlen)
{
	unsigned char u = (unsigned char)c;

	if (u > 0x20 && u < 0x7f)
		snprintf(d, dlen, "'%c'", c);
	else
		snprintf(d, dlen, "byte 0x%02x", u);
}

static bool v4_mapped(const unsigned char *b)
{
	static const unsigned char pre[12] = {[10] = 0xff, [11] = 0xff};

	return memcmp(b, pre, sizeof(pre)) == 0;
}

static int normalize_v6(const char *in, char *out, size_t outlen, char *why, size_t whylen)
{
	const char *close = strchr(in, ']');
	char buf[INET6_ADDRSTRLEN], d[16], txt[INET6_ADDRSTRLEN + 2];
	unsigned char b[16];
	size_t n;

	if (!close)
		return fail(-EINVAL, why, whylen, "'[' without ']'");
	if (close[1] != '\0')
		return fail(-EINVAL, why, whylen, "text after ']'");
	n = (size_t)(close - in - 1);
	if (n == 0)
		return fail(-EINVAL, why, whylen, "empty brackets");
	if (n >= sizeof(buf))
		return fail(-EINVAL, why, whylen, "IPv6 address too long");
	for (size_t i = 0; i < n; i++) {
		char c = lower(in[1 + i]);

		if (c == '%')
			return fail(-EINVAL, why, whylen, "zone id in IPv6 address");
		if (!is_hex(c) && c != ':' && c != '.') {
			describe(c, d, sizeof(d));
			return fail(-EINVAL, why, whylen, "%s in IPv6 address", d);
		}
		buf[i] = c;
	}
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, b) != 1)
		return fail(-EINVAL, why, whylen, "invalid IPv6 address");
	if (v4_mapped(b)) {
		inet_ntop(AF_INET, b + 12, txt, sizeof(txt));
		return put(out, outlen, txt, HOSTRULES_IPV4, why, whylen);
	}
	txt[0] = '[';
	inet_ntop(AF_INET6, b, txt + 1, sizeof(txt) - 2);
	n = strlen(txt);
	txt[n] = ']';
	txt[n + 1] = '\0';
	return put(out, outlen, txt, HOSTRULES_IPV6, why, whylen);
}

/* WHATWG URL: a host whose last label is a number must be an IPv4 address, or is invalid. */
static bool last_label_numeric(const char *name)
{
	const char *l = strrchr(name, '.');

	l = l ? l + 1 : name;
	if (l[0] == '0' && l[1] == 'x') {
		for (l += 2; *l; l++)
			if (!is_hex(*l))
				return false;
		return true;
	}
	for (; *l; l++)
		if (!is_digit(*l))
			return false;
	return true;
}

/*
 * Anything odd is refused rather than repaired: a byte the resolver, the TLS library and
 * the URL parser of the client might each read differently is how allowlists get bypassed
 * ("allowed.com@evil.com", "evil.com%2eallowed.com", look-alike Unicode, zone ids).
 */
int hostrules_normalize(const char *in, char *out, size_t outlen, char *why, size_t whylen)
{
	char buf[HOSTRULES_NAME_MAX + 1], d[16];
	struct in_addr a;
	size_t n, label = 0;

	if (!in || !*in)
		return fail(-EINVAL, why, whylen, "empty host");
	n = strnlen(in, HOSTRULES_INPUT_MAX + 1);
	if (n > HOSTRULES_INPUT_MAX)
		return fail(-EINVAL, why, whylen, "host longer than %d bytes", HOSTRULES_INPUT_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char u = (unsigned char)in[i];

		if (u >= 0x80)
			return fail(-EINVAL, why, whylen,
				    "non-ASCII byte 0x%02x in host (IDNs must be sent as xn--)", u);
		if (u == '@')
			return fail(-EINVAL, why, whylen, "userinfo ('user@host') is not allowed");
	}
	if (in[0] == '[')
		return normalize_v6(in, out, outlen, why, whylen);
	if (strchr(in, '%'))
		return fail(-EINVAL, why, whylen, "percent escape in host");
	if (strchr(in, '[') || strchr(in, ']'))
		return fail(-EINVAL, why, whylen, "misplaced bracket in host");
	if (strchr(in, ':'))
		return fail(-EINVAL, why, whylen, "%s",
			    strchr(in, ':') != strrchr(in, ':') ? "IPv6 address without brackets"
								: "':' in host");
	if (in[n - 1] == '.')
		n--;
	if (n == 0)
		return fail(-EINVAL, why, whylen, "empty host");
	if (n > HOSTRULES_NAME_MAX)
		return fail(-EINVAL, why, whylen, "name longer than %d bytes", HOSTRULES_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = lower(in[i]);

		if (c == '.') {
			if (label == 0)
				return fail(-EINVAL, why, whylen, "empty label in host");
			if (buf[i - 1] == '-')
				return fail(-EINVAL, why, whylen, "label ends with '-'");
			label = 0;
		} else if (is_ldh(c)) {
			if (label == 0 && c == '-')
				return fail(-EINVAL, why, whylen, "label starts with '-'");
			if (++label > HOSTRULES_LABEL_MAX)
				return fail(-EINVAL, why, whylen, "label longer than %d bytes",
					    HOSTRULES_LABEL_MAX);
		} else {
			describe(c, d, sizeof(d));
			return fail(-EINVAL, why, whylen, "%s in host (only a-z, 0-9, '-', '.')",
				    d);
		}
		buf[i] = c;
	}
	if (label == 0)
		return fail(-EINVAL, why, whylen, "empty label in host");
	if (buf[n - 1] == '-')
		return fail(-EINVAL, why, whylen, "label ends with '-'");
	buf[n] = '\0';
	/* The resolver (glibc getaddrinfo) reads these forms as addresses too. */
	if (inet_aton(buf, &a)) {
		char txt[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &a, txt, sizeof(txt));
		return put(out, outlen, txt, HOSTRULES_IPV4, why, whylen);
	}
	if (last_label_numeric(buf))
		return fail(-EINVAL, why, whylen, "numeric host is not a valid IPv4 address");
	return put(out, outlen, buf, HOSTRULES_NAME, why, whylen);
}

/* "1".."65535", digits only. */
static int parse_port(const char *s, size_t n, int *port)
{
	long v = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = (int)v;
	return 0;
}

int hostrules_parse_authority(const char *in, int default_port, char *host, size_t hostlen,
			      int *port, char *why, size_t whylen)
{
	char buf[HOSTRULES_INPUT_MAX + 1];
	const char *end, *rest;
	size_t n;
	int kind;

	if (!in || !*in)
		return fail(-EINVAL, why, whylen, "empty authority");
	n = strnlen(in, HOSTRULES_INPUT_MAX + 1);
	if (n > HOSTRULES_INPUT_MAX)
		return fail(-EINVAL, why, whylen, "authority longer than %d bytes",
			    HOSTRULES_INPUT_MAX);
	if (strchr(in, '@'))
		return fail(-EINVAL, why, whylen, "userinfo ('user@host') is not allowed");
	if (in[0] == '[') {
		end = strchr(in, ']');
		if (!end)
			return fail(-EINVAL, why, whylen, "'[' without ']'");
		rest = ++end;
	} else {
		end = strchr(in, ':');
		if (end && strchr(end + 1, ':'))
			return fail(-EINVAL, why, whylen, "IPv6 address without brackets");
		if (!end)
			end = in + n;
		rest = end;
	}
	if (*rest == ':') {
		if (parse_port(rest + 1, strlen(rest + 1), port) < 0)
			return fail(-EINVAL, why, whylen, rest[1] ? "invalid port" : "empty port");
	} else if (*rest) {
		return fail(-EINVAL, why, whylen, "text after ']'");
	} else if (default_port <= 0) {
		return fail(-EINVAL, why, whylen, "port required");
	} else {
		*port = default_port;
	}
	memcpy(buf, in, (size_t)(end - in));
	buf[end - in] = '\0';
	kind = hostrules_normalize(buf, host, hostlen, why, whylen);
	return kind;
}

int hostrules_parse_uri(const char *uri, char *host, size_t hostlen, int *port, const char **rest,
			char *why, size_t whylen)
{
	char buf[HOSTRULES_INPUT_MAX + 1];
	const char *auth;
	int defport, kind;
	size_t n;

	if (!uri || strnlen(uri, HOSTRULES_INPUT_MAX + 1) > HOSTRULES_INPUT_MAX)
		return fail(-EINVAL, why, whylen, "URI empty or longer than %d bytes",
			    HOSTRULES_INPUT_MAX);
	if (strncasecmp(uri, "http://", 7) == 0) {
		auth = uri + 7;
		defport = 80;
	} else if (strncasecmp(uri, "https://", 8) == 0) {
		auth = uri + 8;
		defport = 443;
	} else {
		return fail(-EINVAL, why, whylen, "not an http:// or https:// URI");
	}
	n = strcspn(auth, "/?#");
	memcpy(buf, auth, n);
	buf[n] = '\0';
	kind = hostrules_parse_authority(buf, defport, host, hostlen, port, why, whylen);
	if (kind >= 0 && rest)
		*rest = auth + n;
	return kind;
}

/* Network byte order in, host order out. */
static uint32_t v4_word(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool prefix_has(const unsigned char *net, unsigned prefix, const unsigned char *a)
{
	unsigned whole = prefix / 8, bits = prefix % 8;

	if (memcmp(net, a, whole) != 0)
		return false;
	if (bits == 0)
		return true;
	return ((net[whole] ^ a[whole]) & (0xff00u >> bits)) == 0;
}

static bool host_bits_zero(const unsigned char *net, unsigned prefix, unsigned bytes)
{
	for (unsigned i = 0; i < bytes * 8; i++)
		if (i >= prefix && (net[i / 8] & (0x80u >> (i % 8))))
			return false;
	return true;
}

/* "HOST[/LEN][:PORT]", HOST a name, "*.suffix", IPv4 or "[IPv6]"; or bare "IPv6[/LEN]". */
static int parse_entry(const char *e, struct hostrule *r, char *why, size_t whylen)
{
	char hostpart[HOSTRULES_INPUT_MAX + 1], norm[HOSTRULES_HOST_MAX], v6[INET6_ADDRSTRLEN + 2];
	const char *p, *slash = NULL, *colon = NULL, *hend;
	bool wild = false, bare6 = false;
	unsigned bytes;
	size_t n;
	int kind;

	n = strnlen(e, HOSTRULES_INPUT_MAX + 1);
	if (n == 0 || n > HOSTRULES_INPUT_MAX)
		return fail(-EINVAL, why, whylen, "empty or too long");
	r->port = HOSTRULES_DEFAULT_PORT;
	if (e[0] == '[') {
		p = strchr(e, ']');
		if (!p)
			return fail(-EINVAL, why, whylen, "'[' without ']'");
		hend = p + 1;
	} else if (strchr(e, ':') != strrchr(e, ':') &&
		   strspn(e, "0123456789abcdefABCDEF:.") == strcspn(e, "/%")) {
		bare6 = true;
		hend = e + strcspn(e, "/");
	} else {
		if (e[0] == '*' && e[1] == '.') {
			wild = true;
			e += 2;
			if (e[0] == '[')
				return fail(-EINVAL, why, whylen,
					    "'*.' needs a name after it, not an address");
		}
		hend = e + strcspn(e, "/:");
	}
	if (*hend == '/') {
		slash = hend;
		p = bare6 ? slash + strlen(slash) : slash + 1 + strcspn(slash + 1, ":");
		if (*p == ':')
			colon = p;
	} else if (*hend == ':') {
		colon = hend;
	} else if (*hend) {
		return fail(-EINVAL, why, whylen, "text after ']'");
	}
	if (colon && parse_port(colon + 1, strlen(colon + 1), &r->port) < 0)
		return fail(-EINVAL, why, whylen, "invalid port");
	if (bare6) {
		/* Brackets make the literal go through the same checks as a request's. */
		if ((size_t)(hend - e) >= INET6_ADDRSTRLEN)
			return fail(-EINVAL, why, whylen, "invalid IPv6 address");
		snprintf(v6, sizeof(v6), "[%.*s]", (int)(hend - e), e);
		kind = hostrules_normalize(v6, norm, sizeof(norm), why, whylen);
	} else {
		memcpy(hostpart, e, (size_t)(hend - e));
		hostpart[hend - e] = '\0';
		kind = hostrules_normalize(hostpart, norm, sizeof(norm), why, whylen);
	}
	if (kind < 0)
		return kind;
	if (wild && kind != HOSTRULES_NAME)
		return fail(-EINVAL, why, whylen, "'*.' needs a name after it, not an address");
	if (kind == HOSTRULES_NAME) {
		if (slash)
			return fail(-EINVAL, why, whylen, "a prefix length needs an address");
		r->type = wild ? HOSTRULE_SUFFIX : HOSTRULE_EXACT;
		n = strlen(norm);
		r->name = malloc(n + 2);
		if (!r->name)
			return fail(-ENOMEM, why, whylen, "out of memory");
		r->name[0] = '.';
		memcpy(r->name + 1, norm, n + 1);
		if (!wild)
			memmove(r->name, r->name + 1, n + 1);
		return 0;
	}
	bytes = kind == HOSTRULES_IPV4 ? 4 : 16;
	r->type = kind == HOSTRULES_IPV4 ? HOSTRULE_NET4 : HOSTRULE_NET6;
	r->prefix = bytes * 8;
	if (kind == HOSTRULES_IPV4) {
		inet_pton(AF_INET, norm, r->addr);
	} else {
		norm[strlen(norm) - 1] = '\0';
		inet_pton(AF_INET6, norm + 1, r->addr);
	}
	if (slash) {
		int len = 0;
		size_t ln = (size_t)((colon ? colon : slash + strlen(slash)) - slash - 1);

		if (ln == 0 || ln > 3)
			return fail(-EINVAL, why, whylen, "invalid prefix length");
		for (size_t i = 0; i < ln; i++) {
			if (!is_digit(slash[1 + i]))
				return fail(-EINVAL, why, whylen, "invalid prefix length");
			len = len * 10 + (slash[1 + i] - '0');
		}
		if (len > (int)bytes * 8)
			return fail(-EINVAL, why, whylen, "prefix length over %u", bytes * 8);
		r->prefix = (unsigned)len;
		if (!host_bits_zero(r->addr, r->prefix, bytes))
			return fail(-EINVAL, why, whylen,
				    "address has bits set past the /%d prefix", len);
	}
	return 0;
}

void hostrules_free(struct hostrules *hr)
{
	if (!hr)
		return;
	for (size_t i = 0; i < hr->n; i++)
		free(hr->rules[i].name);
	free(hr->rules);
	free(hr);
}

int hostrules_new(struct hostrules **out, char *const *entries, char *err, size_t errlen)
{
	struct hostrules *hr;
	char why[HOSTRULES_WHY_MAX];
	size_t n = 0;
	int rc;

	*out = NULL;
	while (entries && entries[n])
		n++;
	hr = calloc(1, sizeof(*hr));
	if (!hr)
		return fail(-ENOMEM, err, errlen, "allowlist: out of memory");
	if (n) {
		hr->rules = calloc(n, sizeof(*hr->rules));
		if (!hr->rules) {
			hostrules_free(hr);
			return fail(-ENOMEM, err, errlen, "allowlist: out of memory");
		}
	}
	for (size_t i = 0; i < n; i++) {
		rc = parse_entry(entries[i], &hr->rules[i], why, sizeof(why));
		hr->n = i + 1; /* a failed entry may hold nothing, free() copes */
		if (rc < 0) {
			fail(rc, err, errlen, "allowlist entry '%.*s': %s", 128, entries[i], why);
			hostrules_free(hr);
			return rc;
		}
	}
	*out = hr;
	return 0;
}

/*
 * Whether an address entry of hr covers the address (4 or 16 bytes); with exact, only an
 * entry naming that one address does.
 */
static bool covered(const struct hostrules *hr, const unsigned char *a, bool v4, bool exact)
{
	for (size_t i = 0; hr && i < hr->n; i++) {
		const struct hostrule *r = &hr->rules[i];

		if (r->type == (v4 ? HOSTRULE_NET4 : HOSTRULE_NET6) &&
		    (!exact || r->prefix == (v4 ? 32u : 128u)) && prefix_has(r->addr, r->prefix, a))
			return true;
	}
	return false;
}

static bool name_matches(const struct hostrule *r, const char *name)
{
	size_t n, s;

	if (r->type == HOSTRULE_EXACT)
		return strcmp(r->name, name) == 0;
	if (r->type != HOSTRULE_SUFFIX)
		return false;
	/* ".x.com" matches "a.x.com", never "x.com" nor "ax.com". */
	n = strlen(name);
	s = strlen(r->name);
	return n > s && strcmp(name + n - s, r->name) == 0;
}

/* Looks host up; *other_port says whether it is listed on some other port. */
static bool lookup(const struct hostrules *hr, const char *host, int port, bool *other_port)
{
	char norm[HOSTRULES_HOST_MAX];
	unsigned char a[16];
	int kind = hostrules_normalize(host, norm, sizeof(norm), NULL, 0);

	*other_port = false;
	if (kind < 0 || !hr)
		return false;
	if (kind == HOSTRULES_IPV4) {
		inet_pton(AF_INET, norm, a);
	} else if (kind == HOSTRULES_IPV6) {
		norm[strlen(norm) - 1] = '\0';
		inet_pton(AF_INET6, norm + 1, a);
	}
	for (size_t i = 0; i < hr->n; i++) {
		const struct hostrule *r = &hr->rules[i];
		bool hit;

		if (kind == HOSTRULES_NAME)
			hit = name_matches(r, norm);
		else
			hit = r->type == (kind == HOSTRULES_IPV4 ? HOSTRULE_NET4 : HOSTRULE_NET6) &&
			      prefix_has(r->addr, r->prefix, a);
		if (hit && r->port == port)
			return true;
		if (hit)
			*other_port = true;
	}
	return false;
}

bool hostrules_match(const struct hostrules *hr, const char *host, int port)
{
	bool other;

	return lookup(hr, host, port, &other);
}

static const char *const metadata_names[] = {
    "metadata.google.internal",	  "metadata.azure.internal", "metadata", "instance-data",
    "instance-data.ec2.internal", "metadata.goog",
};

bool hostrules_name_denied(const char *host, char *why, size_t whylen)
{
	char norm[HOSTRULES_HOST_MAX];

	if (hostrules_normalize(host, norm, sizeof(norm), NULL, 0) != HOSTRULES_NAME)
		return false;
	for (size_t i = 0; i < sizeof(metadata_names) / sizeof(metadata_names[0]); i++)
		if (strcmp(norm, metadata_names[i]) == 0) {
			fail(0, why, whylen, "'%s' is a cloud metadata host", metadata_names[i]);
			return true;
		}
	return false;
}

int hostrules_check(const struct hostrules *hr, const char *host, int port, char *why,
		    size_t whylen)
{
	char norm[HOSTRULES_HOST_MAX];
	bool other;
	int rc = hostrules_normalize(host, norm, sizeof(norm), why, whylen);

	if (rc < 0)
		return -EINVAL;
	if (hostrules_name_denied(norm, why, whylen))
		return -EACCES;
	if (lookup(hr, norm, port, &other))
		return 0;
	if (other)
		return fail(-EACCES, why, whylen, "'%s' is not allowed on port %d", norm, port);
	return fail(-EACCES, why, whylen, "'%s' is not in the allowlist", norm);
}

/*
 * Denied ranges; the first match wins, so the specific come before the general. A metadata
 * address is pinned: re-allowed only by an entry naming exactly it, never by a range
 * such as 169.254.0.0/16 that someone allowed for another link-local service.
 */
struct range4 {
	uint32_t net;
	unsigned prefix;
	const char *what;
	bool pinned;
};

static const struct range4 deny4[] = {
    {0xa9fea9fe, 32, "cloud metadata service", true},	     /* 169.254.169.254 */
    {0xc00000c0, 32, "Oracle Cloud metadata service", true}, /* 192.0.0.192 */
    {0xa83f8110, 32, "Azure platform service", true},	     /* 168.63.129.16 */
    {0x00000000, 8, "\"this\" network", false},
    {0x7f000000, 8, "loopback", false},
    {0x0a000000, 8, "private", false},
    {0xac100000, 12, "private", false},
    {0xc0a80000, 16, "private", false},
    {0xa9fe0000, 16, "link-local", false},
    {0x64400000, 10, "shared address space", false},
    {0xc0000000, 24, "IETF protocol assignments", false},
    {0xe0000000, 4, "multicast", false},
    {0xffffffff, 32, "broadcast", false},
    {0xf0000000, 4, "reserved", false},
};

static const struct range4 *class4(const unsigned char *b)
{
	uint32_t a = v4_word(b);

	for (size_t i = 0; i < sizeof(deny4) / sizeof(deny4[0]); i++) {
		uint32_t mask = deny4[i].prefix ? 0xffffffffu << (32 - deny4[i].prefix) : 0;

		if ((a & mask) == deny4[i].net)
			return &deny4[i];
	}
	return NULL;
}

struct range6 {
	unsigned char net[16];
	unsigned prefix;
	const char *what;
	int embed; /* > 0: offset of an embedded IPv4 address, checked instead */
	bool pinned;
};

/* :: and ::1 before ::/96. */
static const struct range6 deny6[] = {
    {{0}, 128, "unspecified", 0, false},
    {{[15] = 1}, 128, "loopback", 0, false},
    {{[10] = 0xff, [11] = 0xff}, 96, "IPv4-mapped", 12, false},
    {{[8] = 0xff, [9] = 0xff}, 96, "IPv4-translated", 12, false},
    {{0}, 96, "IPv4-compatible", 12, false},
    {{0x00, 0x64, 0xff, 0x9b}, 96, "NAT64", 12, false},
    {{0x20, 0x02}, 16, "6to4", 2, false},
    {{0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54}, 128, "AWS metadata service", 0, true},
    {{0xfe, 0x80}, 10, "link-local", 0, false},
    {{0xfe, 0xc0}, 10, "site-local", 0, false},
    {{0xfc}, 7, "unique local", 0, false},
    {{0xff}, 8, "multicast", 0, false},
};

/*
 * An address is refused when it, or the IPv4 address it embeds, is in a denied range,
 * unless an address entry covers it (or its embedded IPv4): entries name the private
 * services a service may reach, and only those.
 */
bool hostrules_addr_denied(const struct sockaddr *sa, const struct hostrules *allow, char *why,
			   size_t whylen)
{
	char txt[INET6_ADDRSTRLEN], v4txt[INET_ADDRSTRLEN];
	const struct range4 *c4;
	const unsigned char *b;

	if (!sa) {
		fail(0, why, whylen, "no address");
		return true;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;

		b = (const unsigned char *)&sin->sin_addr;
		c4 = class4(b);
		if (!c4 || covered(allow, b, true, c4->pinned))
			return false;
		inet_ntop(AF_INET, b, txt, sizeof(txt));
		fail(0, why, whylen, "resolves to %s (%s)", txt, c4->what);
		return true;
	}
	if (sa->sa_family != AF_INET6) {
		fail(0, why, whylen, "resolves to an address of family %d", sa->sa_family);
		return true;
	}
	b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	inet_ntop(AF_INET6, b, txt, sizeof(txt));
	for (size_t i = 0; i < sizeof(deny6) / sizeof(deny6[0]); i++) {
		const struct range6 *r = &deny6[i];

		if (!prefix_has(r->net, r->prefix, b))
			continue;
		if (r->embed) {
			c4 = class4(b + r->embed);
			if (!c4 || covered(allow, b + r->embed, true, c4->pinned) ||
			    covered(allow, b, false, c4->pinned))
				return false;
			inet_ntop(AF_INET, b + r->embed, v4txt, sizeof(v4txt));
			fail(0, why, whylen, "resolves to %s (%s %s: %s)", txt, r->what, v4txt,
			     c4->what);
			return true;
		}
		if (covered(allow, b, false, r->pinned))
			return false;
		fail(0, why, whylen, "resolves to %s (%s)", txt, r->what);
		return true;
	}
	return false;
}

int hostrules_sockaddr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	char norm[HOSTRULES_HOST_MAX];
	int kind = hostrules_normalize(host, norm, sizeof(norm), NULL, 0);

	memset(ss, 0, sizeof(*ss));
	if (kind == HOSTRULES_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, norm, &sin->sin_addr);
		*len = sizeof(*sin);
		return 0;
	}
	if (kind == HOSTRULES_IPV6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

		norm[strlen(norm) - 1] = '\0';
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, norm + 1, &sin6->sin6_addr);
		*len = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}
