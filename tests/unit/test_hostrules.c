/* Proxy host rules: normalisation, authorities, URIs, the allowlist and denied addresses. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "hostrules.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define L61 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1"
#define L63 L61 "23"
/* 3 * 63 + 3 + 61 = 253 bytes */
#define N253 L63 "." L63 "." L63 "." L61
#define N254 L63 "." L63 "." L63 "." L61 "x"

static const char *kname(int k)
{
	switch (k) {
	case HOSTRULES_NAME:
		return "name";
	case HOSTRULES_IPV4:
		return "ipv4";
	case HOSTRULES_IPV6:
		return "ipv6";
	default:
		return "error";
	}
}

Test(hostrules, normalize_accepts)
{
	static const struct {
		const char *in, *out;
		int kind;
	} rows[] = {
	    {"api.openai.com", "api.openai.com", HOSTRULES_NAME},
	    {"API.OpenAI.COM", "api.openai.com", HOSTRULES_NAME},
	    {"api.openai.com.", "api.openai.com", HOSTRULES_NAME},
	    {"Api.OpenAI.Com.", "api.openai.com", HOSTRULES_NAME},
	    {"xn--80ak6aa92e.com", "xn--80ak6aa92e.com", HOSTRULES_NAME},
	    {"XN--MNCHEN-3YA.DE", "xn--mnchen-3ya.de", HOSTRULES_NAME},
	    {"localhost", "localhost", HOSTRULES_NAME},
	    {"a", "a", HOSTRULES_NAME},
	    {"a-b.c-d.e", "a-b.c-d.e", HOSTRULES_NAME},
	    {"a--b.com", "a--b.com", HOSTRULES_NAME},
	    {"1a.com", "1a.com", HOSTRULES_NAME},
	    {"123.com", "123.com", HOSTRULES_NAME},
	    {"1.2.3.com", "1.2.3.com", HOSTRULES_NAME},
	    {"a.b1", "a.b1", HOSTRULES_NAME},
	    {"a.0xg", "a.0xg", HOSTRULES_NAME},
	    {"metadata", "metadata", HOSTRULES_NAME},
	    {L63 ".com", L63 ".com", HOSTRULES_NAME},
	    {N253, N253, HOSTRULES_NAME},
	    {N253 ".", N253, HOSTRULES_NAME},
	    /* every form inet_aton() reads as 127.0.0.1 */
	    {"127.0.0.1", "127.0.0.1", HOSTRULES_IPV4},
	    {"127.0.0.1.", "127.0.0.1", HOSTRULES_IPV4},
	    {"2130706433", "127.0.0.1", HOSTRULES_IPV4},
	    {"0x7f.1", "127.0.0.1", HOSTRULES_IPV4},
	    {"0X7F.1", "127.0.0.1", HOSTRULES_IPV4},
	    {"0x7F000001", "127.0.0.1", HOSTRULES_IPV4},
	    {"0177.0.0.1", "127.0.0.1", HOSTRULES_IPV4},
	    {"017700000001", "127.0.0.1", HOSTRULES_IPV4},
	    {"127.1", "127.0.0.1", HOSTRULES_IPV4},
	    {"127.0.1", "127.0.0.1", HOSTRULES_IPV4},
	    {"0x7f.0x0.0x0.0x1", "127.0.0.1", HOSTRULES_IPV4},
	    {"0x7f.0.0.01", "127.0.0.1", HOSTRULES_IPV4},
	    {"0000177.0.0.1", "127.0.0.1", HOSTRULES_IPV4},
	    {"[::ffff:127.0.0.1]", "127.0.0.1", HOSTRULES_IPV4},
	    {"[::FFFF:7f00:1]", "127.0.0.1", HOSTRULES_IPV4},
	    {"[0:0:0:0:0:ffff:7f00:0001]", "127.0.0.1", HOSTRULES_IPV4},
	    /* other IPv4 forms */
	    {"0", "0.0.0.0", HOSTRULES_IPV4},
	    {"4294967295", "255.255.255.255", HOSTRULES_IPV4},
	    {"0xffffffff", "255.255.255.255", HOSTRULES_IPV4},
	    {"10.1", "10.0.0.1", HOSTRULES_IPV4},
	    {"1.65535", "1.0.255.255", HOSTRULES_IPV4},
	    {"169.254.43518", "169.254.169.254", HOSTRULES_IPV4},
	    {"0xa9fea9fe", "169.254.169.254", HOSTRULES_IPV4},
	    {"8.8.8.8", "8.8.8.8", HOSTRULES_IPV4},
	    /* IPv6 literals in inet_ntop form */
	    {"[::1]", "[::1]", HOSTRULES_IPV6},
	    {"[0:0:0:0:0:0:0:1]", "[::1]", HOSTRULES_IPV6},
	    {"[::]", "[::]", HOSTRULES_IPV6},
	    {"[2001:DB8::1]", "[2001:db8::1]", HOSTRULES_IPV6},
	    {"[2001:0db8:0000:0000:0000:0000:0000:0001]", "[2001:db8::1]", HOSTRULES_IPV6},
	    {"[64:ff9b::127.0.0.1]", "[64:ff9b::7f00:1]", HOSTRULES_IPV6},
	    {"[fd00:ec2::254]", "[fd00:ec2::254]", HOSTRULES_IPV6},
	    {"[FE80::1]", "[fe80::1]", HOSTRULES_IPV6},
	};

	for (size_t i = 0; i < N(rows); i++) {
		char out[HOSTRULES_HOST_MAX], why[HOSTRULES_WHY_MAX] = "";
		int k = hostrules_normalize(rows[i].in, out, sizeof(out), why, sizeof(why));

		cr_expect_eq(k, rows[i].kind, "'%s': %s, want %s (%s)", rows[i].in, kname(k),
			     kname(rows[i].kind), why);
		if (k >= 0)
			cr_expect_str_eq(out, rows[i].out, "'%s'", rows[i].in);
	}
}

Test(hostrules, normalize_rejects)
{
	static char longin[HOSTRULES_INPUT_MAX + 2];
	static const struct {
		const char *in, *why;
	} rows[] = {
	    {"", "empty host"},
	    {".", "empty host"},
	    {"..", "empty label"},
	    {"a..b", "empty label"},
	    {".a.com", "empty label"},
	    {"a.com..", "empty label"},
	    {"-a.com", "starts with '-'"},
	    {"a.-b.com", "starts with '-'"},
	    {"a-.com", "ends with '-'"},
	    {"a.com-", "ends with '-'"},
	    {"a.com-.", "ends with '-'"},
	    {L63 "x.com", "label longer than 63"},
	    {N254, "longer than 253"},
	    {N254 ".", "longer than 253"},
	    {"a_b.com", "'_'"},
	    {"a b.com", "byte 0x20"},
	    {"a.com\t", "byte 0x09"},
	    {"a\nb.com", "byte 0x0a"},
	    {"a\\b.com", "'\\'"},
	    {"a/b.com", "'/'"},
	    {"a?b", "'?'"},
	    {"a#b", "'#'"},
	    {"*.x.com", "'*'"},
	    {"a;b.com", "';'"},
	    {"a,b.com", "','"},
	    /* percent escapes */
	    {"ex%61mple.com", "percent escape"},
	    {"evil.com%2eallowed.com", "percent escape"},
	    {"%31%32%37.0.0.1", "percent escape"},
	    /* userinfo */
	    {"allowed.com@evil.com", "userinfo"},
	    {"user:pass@evil.com", "userinfo"},
	    {"@evil.com", "userinfo"},
	    {"evil.com@", "userinfo"},
	    /* look-alikes and other non-ASCII */
	    {"\xd0\xb0pple.com", "non-ASCII byte 0xd0"},     /* Cyrillic a */
	    {"\xef\xbd\x81pple.com", "non-ASCII byte 0xef"}, /* fullwidth a */
	    {"apple.com\xe3\x80\x82"
	     "evil",
	     "non-ASCII"}, /* ideographic full stop */
	    {"apple\xef\xbc\x8e"
	     "com",
	     "non-ASCII"}, /* fullwidth full stop */
	    {"m\xc3\xbcnchen.de", "xn--"},
	    {"a.com\xc2\xa0", "non-ASCII"},
	    {"a\xe2\x80\x8b.com", "non-ASCII"}, /* zero-width space */
	    {"\x80", "non-ASCII"},
	    {"[::ffff:127.0.0.1\xc2\xa0]", "non-ASCII"},
	    /* ports, colons, zone ids, brackets */
	    {"x.com:443", "':' in host"},
	    {"::1", "without brackets"},
	    {"2001:db8::1", "without brackets"},
	    {"[fe80::1%25eth0]", "zone id"},
	    {"[fe80::1%eth0]", "zone id"},
	    {"fe80::1%eth0", "percent escape"},
	    {"[::1", "without ']'"},
	    {"::1]", "misplaced bracket"},
	    {"a[b].com", "misplaced bracket"},
	    {"[]", "empty brackets"},
	    {"[::1]:443", "text after ']'"},
	    {"[::1].", "text after ']'"},
	    {"[::1]x", "text after ']'"},
	    {"[[::1]]", "text after ']'"},
	    {"[[::1]", "'['"},
	    {"[1.2.3.4]", "invalid IPv6"},
	    {"[127.1]", "invalid IPv6"},
	    {"[example.com]", "'x'"},
	    {"[v1.fe]", "'v'"},
	    {"[::1::2]", "invalid IPv6"},
	    {"[1:2:3:4:5:6:7:8:9]", "invalid IPv6"},
	    {"[0000:0000:0000:0000:0000:0000:0000:0000:0000:0001]", "too long"},
	    /* numeric last label that is no address */
	    {"1.2.3.256", "not a valid IPv4"},
	    {"256.0.0.1", "not a valid IPv4"},
	    {"1.2.3.4.5", "not a valid IPv4"},
	    {"08.0.0.1", "not a valid IPv4"},
	    {"0x7g.1", "not a valid IPv4"},
	    {"4294967296", "not a valid IPv4"},
	    {"0x100000000", "not a valid IPv4"},
	    {"1.2.3.0x", "not a valid IPv4"},
	    {"0x", "not a valid IPv4"},
	    {"a.1", "not a valid IPv4"},
	    {"example.0x1f", "not a valid IPv4"},
	    {"1.256.3", "not a valid IPv4"},
	    {longin, "longer than 1024"},
	};

	memset(longin, 'a', sizeof(longin) - 1);
	for (size_t i = 0; i < N(rows); i++) {
		char out[HOSTRULES_HOST_MAX] = "", why[HOSTRULES_WHY_MAX] = "";
		int k = hostrules_normalize(rows[i].in, out, sizeof(out), why, sizeof(why));

		cr_expect_eq(k, -EINVAL, "row %zu '%.40s': %s '%s'", i, rows[i].in, kname(k), out);
		cr_expect(strstr(why, rows[i].why), "row %zu '%.40s': why '%s', want '%s'", i,
			  rows[i].in, why, rows[i].why);
		/* the reason never echoes the raw input */
		cr_expect(!rows[i].in[0] || !strstr(why, rows[i].in), "row %zu: why '%s'", i, why);
	}
	cr_expect_eq(hostrules_normalize(NULL, NULL, 0, NULL, 0), -EINVAL);
}

Test(hostrules, normalize_small_buffer)
{
	char out[8], why[HOSTRULES_WHY_MAX];

	cr_expect_eq(hostrules_normalize("example.com", out, sizeof(out), why, sizeof(why)),
		     -ENOSPC);
	cr_expect_eq(hostrules_normalize("a.io", out, sizeof(out), why, sizeof(why)),
		     HOSTRULES_NAME);
	cr_expect_str_eq(out, "a.io");
	cr_expect_eq(hostrules_normalize("[2001:db8::1]", out, sizeof(out), NULL, 0), -ENOSPC);
}

Test(hostrules, normalize_is_idempotent)
{
	static const char *const in[] = {
	    "API.openai.com.", "0x7f.1", "[::FFFF:127.0.0.1]",
	    "[2001:DB8:0::1]", "127.1",	 "xn--80ak6aa92e.com",
	};

	for (size_t i = 0; i < N(in); i++) {
		char a[HOSTRULES_HOST_MAX], b[HOSTRULES_HOST_MAX];
		int k1 = hostrules_normalize(in[i], a, sizeof(a), NULL, 0);
		int k2 = hostrules_normalize(a, b, sizeof(b), NULL, 0);

		cr_expect_eq(k1, k2, "'%s'", in[i]);
		cr_expect_str_eq(a, b, "'%s'", in[i]);
	}
}

Test(hostrules, authority_table)
{
	static const struct {
		const char *in;
		int defport;
		const char *host; /* NULL: rejected */
		int port, kind;
		const char *why;
	} rows[] = {
	    {"api.openai.com:443", 0, "api.openai.com", 443, HOSTRULES_NAME, NULL},
	    {"API.openai.com.:8443", 0, "api.openai.com", 8443, HOSTRULES_NAME, NULL},
	    {"api.openai.com", 443, "api.openai.com", 443, HOSTRULES_NAME, NULL},
	    {"api.openai.com", 80, "api.openai.com", 80, HOSTRULES_NAME, NULL},
	    {"api.openai.com", 0, NULL, 0, 0, "port required"},
	    {"x.com:1", 0, "x.com", 1, HOSTRULES_NAME, NULL},
	    {"x.com:65535", 0, "x.com", 65535, HOSTRULES_NAME, NULL},
	    {"x.com:00443", 0, "x.com", 443, HOSTRULES_NAME, NULL},
	    {"[::1]:443", 0, "[::1]", 443, HOSTRULES_IPV6, NULL},
	    {"[2001:db8::1]", 80, "[2001:db8::1]", 80, HOSTRULES_IPV6, NULL},
	    {"[::ffff:127.0.0.1]:443", 0, "127.0.0.1", 443, HOSTRULES_IPV4, NULL},
	    {"2130706433:443", 0, "127.0.0.1", 443, HOSTRULES_IPV4, NULL},
	    {"127.1:80", 0, "127.0.0.1", 80, HOSTRULES_IPV4, NULL},
	    {"0x7f.1:22", 0, "127.0.0.1", 22, HOSTRULES_IPV4, NULL},
	    {"", 443, NULL, 0, 0, "empty authority"},
	    {":443", 0, NULL, 0, 0, "empty host"},
	    {"x.com:", 443, NULL, 0, 0, "empty port"},
	    {"x.com:0", 0, NULL, 0, 0, "invalid port"},
	    {"x.com:65536", 0, NULL, 0, 0, "invalid port"},
	    {"x.com:99999", 0, NULL, 0, 0, "invalid port"},
	    {"x.com:123456", 0, NULL, 0, 0, "invalid port"},
	    {"x.com:-1", 0, NULL, 0, 0, "invalid port"},
	    {"x.com:+443", 0, NULL, 0, 0, "invalid port"},
	    {"x.com: 443", 0, NULL, 0, 0, "invalid port"},
	    {"x.com:443 ", 0, NULL, 0, 0, "invalid port"},
	    {"x.com:44a", 0, NULL, 0, 0, "invalid port"},
	    {"x.com:0x1bb", 0, NULL, 0, 0, "invalid port"},
	    {"x.com:443:443", 0, NULL, 0, 0, "without brackets"},
	    {"::1:443", 0, NULL, 0, 0, "without brackets"},
	    {"[::1]443", 0, NULL, 0, 0, "text after ']'"},
	    {"[::1]:", 0, NULL, 0, 0, "empty port"},
	    {"[::1", 443, NULL, 0, 0, "without ']'"},
	    {"[]:443", 0, NULL, 0, 0, "empty brackets"},
	    {"[fe80::1%25eth0]:443", 0, NULL, 0, 0, "zone id"},
	    {"user@x.com:443", 0, NULL, 0, 0, "userinfo"},
	    {"allowed.com:443@evil.com:443", 0, NULL, 0, 0, "userinfo"},
	    {"allowed.com@evil.com", 443, NULL, 0, 0, "userinfo"},
	    {"evil.com%2f:443", 0, NULL, 0, 0, "percent escape"},
	    {"x.com/path:443", 0, NULL, 0, 0, "'/'"},
	    {" x.com:443", 0, NULL, 0, 0, "byte 0x20"},
	    {"\xd0\xb0pple.com:443", 0, NULL, 0, 0, "non-ASCII"},
	};

	for (size_t i = 0; i < N(rows); i++) {
		char host[HOSTRULES_HOST_MAX] = "", why[HOSTRULES_WHY_MAX] = "";
		int port = -1;
		int k = hostrules_parse_authority(rows[i].in, rows[i].defport, host, sizeof(host),
						  &port, why, sizeof(why));

		if (rows[i].host) {
			cr_expect_eq(k, rows[i].kind, "'%s': %s (%s)", rows[i].in, kname(k), why);
			cr_expect_str_eq(host, rows[i].host, "'%s'", rows[i].in);
			cr_expect_eq(port, rows[i].port, "'%s'", rows[i].in);
		} else {
			cr_expect_eq(k, -EINVAL, "'%s': %s '%s'", rows[i].in, kname(k), host);
			cr_expect(strstr(why, rows[i].why), "'%s': why '%s', want '%s'", rows[i].in,
				  why, rows[i].why);
		}
	}
}

Test(hostrules, uri_table)
{
	static const struct {
		const char *in, *host; /* host NULL: rejected */
		int port;
		const char *rest;
	} rows[] = {
	    {"http://example.com/x", "example.com", 80, "/x"},
	    {"https://example.com", "example.com", 443, ""},
	    {"HTTPS://Example.COM:8443/a?b", "example.com", 8443, "/a?b"},
	    {"http://example.com.?q=1", "example.com", 80, "?q=1"},
	    {"http://[::1]:8080/", "[::1]", 8080, "/"},
	    {"http://2130706433/", "127.0.0.1", 80, "/"},
	    {"http://allowed.com#@evil.com", "allowed.com", 80, "#@evil.com"},
	    {"http://allowed.com/@evil.com", "allowed.com", 80, "/@evil.com"},
	    {"ftp://x.com/", NULL, 0, NULL},
	    {"example.com:443", NULL, 0, NULL},
	    {"/path", NULL, 0, NULL},
	    {"http:/x.com", NULL, 0, NULL},
	    {"http://", NULL, 0, NULL},
	    {"http:///path", NULL, 0, NULL},
	    {"http://:80/", NULL, 0, NULL},
	    {"http://user:pw@x.com/", NULL, 0, NULL},
	    {"http://allowed.com@evil.com/", NULL, 0, NULL},
	    {"http://evil.com\\@allowed.com/", NULL, 0, NULL},
	    {"http://evil.com\\.allowed.com/", NULL, 0, NULL},
	    {"http://evil.com%2f@allowed.com/", NULL, 0, NULL},
	    {"http://x.com:0/", NULL, 0, NULL},
	    {"http://[::1/", NULL, 0, NULL},
	    {"https://x.com:443:443/", NULL, 0, NULL},
	};

	for (size_t i = 0; i < N(rows); i++) {
		char host[HOSTRULES_HOST_MAX] = "", why[HOSTRULES_WHY_MAX] = "";
		const char *rest = NULL;
		int port = -1;
		int k = hostrules_parse_uri(rows[i].in, host, sizeof(host), &port, &rest, why,
					    sizeof(why));

		if (rows[i].host) {
			cr_expect_geq(k, 0, "'%s': %s", rows[i].in, why);
			cr_expect_str_eq(host, rows[i].host, "'%s'", rows[i].in);
			cr_expect_eq(port, rows[i].port, "'%s'", rows[i].in);
			cr_expect(rest && strcmp(rest, rows[i].rest) == 0, "'%s': rest '%s'",
				  rows[i].in, rest ? rest : "(null)");
		} else {
			cr_expect_eq(k, -EINVAL, "'%s': %s '%s'", rows[i].in, kname(k), host);
			cr_expect_neq(why[0], '\0', "'%s'", rows[i].in);
		}
	}
	cr_expect_eq(hostrules_parse_uri(NULL, NULL, 0, NULL, NULL, NULL, 0), -EINVAL);
}

static struct hostrules *build(char *const *entries)
{
	struct hostrules *hr = NULL;
	char err[256] = "";

	cr_assert_eq(hostrules_new(&hr, entries, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(hr);
	return hr;
}

Test(hostrules, allowlist_entries_parse)
{
	char *entries[] = {
	    "api.openai.com",
	    "*.googleapis.com",
	    "*.X.com:8443",
	    "Example.ORG.",
	    "10.1.2.0/24",
	    "192.168.1.10:8443",
	    "fd00::/8",
	    "[2001:db8::1]:8443",
	    "[fd00::]/16:8443",
	    "::1",
	    "0.0.0.0/0",
	    "::/0",
	    "*.com",
	    "127.1",
	    "[::ffff:10.9.9.9]",
	    NULL,
	};
	struct hostrules *hr = build(entries);
	static const struct {
		enum hostrule_type type;
		int port;
		unsigned prefix;
		const char *name;
	} want[] = {
	    {HOSTRULE_EXACT, 443, 0, "api.openai.com"},
	    {HOSTRULE_SUFFIX, 443, 0, ".googleapis.com"},
	    {HOSTRULE_SUFFIX, 8443, 0, ".x.com"},
	    {HOSTRULE_EXACT, 443, 0, "example.org"},
	    {HOSTRULE_NET4, 443, 24, NULL},
	    {HOSTRULE_NET4, 8443, 32, NULL},
	    {HOSTRULE_NET6, 443, 8, NULL},
	    {HOSTRULE_NET6, 8443, 128, NULL},
	    {HOSTRULE_NET6, 8443, 16, NULL},
	    {HOSTRULE_NET6, 443, 128, NULL},
	    {HOSTRULE_NET4, 443, 0, NULL},
	    {HOSTRULE_NET6, 443, 0, NULL},
	    {HOSTRULE_SUFFIX, 443, 0, ".com"},
	    {HOSTRULE_NET4, 443, 32, NULL},
	    {HOSTRULE_NET4, 443, 32, NULL},
	};

	cr_assert_eq(hr->n, N(want));
	for (size_t i = 0; i < N(want); i++) {
		const struct hostrule *r = &hr->rules[i];

		cr_expect_eq(r->type, want[i].type, "entry %zu", i);
		cr_expect_eq(r->port, want[i].port, "entry %zu", i);
		if (want[i].name)
			cr_expect_str_eq(r->name, want[i].name, "entry %zu", i);
		else
			cr_expect_eq(r->prefix, want[i].prefix, "entry %zu", i);
	}
	cr_expect_eq(memcmp(hr->rules[13].addr, "\x7f\0\0\x01", 4), 0);
	cr_expect_eq(memcmp(hr->rules[14].addr, "\x0a\x09\x09\x09", 4), 0);
	hostrules_free(hr);
}

Test(hostrules, allowlist_entries_rejected)
{
	static const struct {
		const char *entry, *why;
	} rows[] = {
	    {"", "empty"},
	    {"*", "'*'"},
	    {"*.", "empty host"},
	    {"*.*.x.com", "'*'"},
	    {"a.*.com", "'*'"},
	    {"a..b", "empty label"},
	    {"x.com:0", "invalid port"},
	    {"x.com:99999", "invalid port"},
	    {"x.com:", "invalid port"},
	    {"x.com:https", "invalid port"},
	    {"x.com/24", "needs an address"},
	    {"*.10.0.0.1", "not an address"},
	    {"*.[::1]", "not an address"},
	    {"10.1.2.3/24", "bits set past the /24"},
	    {"10.0.0.0/33", "prefix length over 32"},
	    {"fd00::/129", "prefix length over 128"},
	    {"fd00::1/8", "bits set past the /8"},
	    {"10.0.0.0/", "invalid prefix"},
	    {"10.0.0.0/a", "invalid prefix"},
	    {"10.0.0.0/0008", "invalid prefix"},
	    {"fd00::/8:443", "invalid prefix"},
	    {"[::1", "without ']'"},
	    {"[::1]x", "text after ']'"},
	    {"user@x.com", "userinfo"},
	    {"m\xc3\xbcnchen.de", "non-ASCII"},
	    {"fe80::1%eth0", "zone id"},
	    {"1.2.3.256", "not a valid IPv4"},
	    {"x.com:443:1", "invalid port"},
	};

	for (size_t i = 0; i < N(rows); i++) {
		char *entries[] = {"ok.example", (char *)rows[i].entry, NULL};
		struct hostrules *hr = (struct hostrules *)1;
		char err[256] = "", want[128];
		int rc = hostrules_new(&hr, entries, err, sizeof(err));

		cr_expect_eq(rc, -EINVAL, "'%s': rc %d", rows[i].entry, rc);
		cr_expect_null(hr, "'%s'", rows[i].entry);
		snprintf(want, sizeof(want), "allowlist entry '%s': ", rows[i].entry);
		cr_expect(strncmp(err, want, strlen(want)) == 0, "'%s': err '%s'", rows[i].entry,
			  err);
		cr_expect(strstr(err, rows[i].why), "'%s': err '%s', want '%s'", rows[i].entry, err,
			  rows[i].why);
	}
}

Test(hostrules, empty_allowlist)
{
	struct hostrules *hr = build(NULL);
	char *none[] = {NULL};

	cr_expect_eq(hr->n, 0);
	cr_expect_not(hostrules_match(hr, "example.com", 443));
	hostrules_free(hr);
	hr = build(none);
	cr_expect_not(hostrules_match(hr, "example.com", 443));
	hostrules_free(hr);
	cr_expect_not(hostrules_match(NULL, "example.com", 443));
	hostrules_free(NULL);
}

Test(hostrules, match_table)
{
	char *entries[] = {
	    "api.openai.com",
	    "*.googleapis.com",
	    "*.x.com:8443",
	    "exact.example:8080",
	    "Example.ORG.",
	    "10.1.2.0/24",
	    "192.168.1.10:8443",
	    "fd00::/8",
	    "[2001:db8::1]:8443",
	    "localhost",
	    "*.co.uk",
	    "1.2.3.4",
	    NULL,
	};
	static const struct {
		const char *host;
		int port;
		bool want;
	} rows[] = {
	    {"api.openai.com", 443, true},
	    {"API.OPENAI.COM", 443, true},
	    {"api.openai.com.", 443, true},
	    {"API.OpenAI.com.", 443, true},
	    {"api.openai.com", 80, false},
	    {"api.openai.com", 8443, false},
	    {"api.openai.com.evil.com", 443, false},
	    {"api.openai.com..", 443, false},
	    {"evil-api.openai.com", 443, false},
	    {"xapi.openai.com", 443, false},
	    {"openai.com", 443, false},
	    {"a.api.openai.com", 443, false},
	    {"api.openai.co", 443, false},
	    {"api.openai.com@evil.com", 443, false},
	    {"evil.com@api.openai.com", 443, false},
	    {"\xd0\xb0pi.openai.com", 443, false},
	    /* suffixes need at least one more label */
	    {"googleapis.com", 443, false},
	    {"googleapis.com.", 443, false},
	    {"a.googleapis.com", 443, true},
	    {"A.GoogleAPIs.com.", 443, true},
	    {"a.b.googleapis.com", 443, true},
	    {"us-central1-aiplatform.googleapis.com", 443, true},
	    {"agoogleapis.com", 443, false},
	    {"a-googleapis.com", 443, false},
	    {"googleapis.com.evil.com", 443, false},
	    {"a.googleapis.com.evil.com", 443, false},
	    {"a.googleapis.co", 443, false},
	    {".googleapis.com", 443, false},
	    {"..googleapis.com", 443, false},
	    {"*.googleapis.com", 443, false},
	    {"a.googleapis.com", 80, false},
	    {"a.x.com", 8443, true},
	    {"a.x.com", 443, false},
	    {"x.com", 8443, false},
	    {"exact.example", 8080, true},
	    {"exact.example", 443, false},
	    {"example.org", 443, true},
	    {"www.example.org", 443, false},
	    {"bbc.co.uk", 443, true},
	    {"co.uk", 443, false},
	    {"localhost", 443, true},
	    /* address literals match only address entries */
	    {"127.0.0.1", 443, false},
	    {"[::1]", 443, false},
	    {"10.1.2.3", 443, true},
	    {"10.1.2.0", 443, true},
	    {"10.1.2.255", 443, true},
	    {"10.1.1.255", 443, false},
	    {"10.1.3.0", 443, false},
	    {"10.1.2.3", 80, false},
	    {"167838211", 443, true}, /* 10.1.2.3 */
	    {"0xa.1.2.3", 443, true},
	    {"012.1.2.3", 443, true},
	    {"10.1.515", 443, true}, /* 10.1.2.3 */
	    {"[::ffff:10.1.2.3]", 443, true},
	    {"[::ffff:a01:203]", 443, true},
	    {"192.168.1.10", 8443, true},
	    {"192.168.1.10", 443, false},
	    {"192.168.1.11", 8443, false},
	    {"1.2.3.4", 443, true},
	    {"16909060", 443, true}, /* 1.2.3.4 */
	    {"1.2.3.5", 443, false},
	    {"[fd12::1]", 443, true},
	    {"[FD00::]", 443, true},
	    {"[fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]", 443, true},
	    {"[fc00::1]", 443, false},
	    {"[fe80::1]", 443, false},
	    {"[2001:db8::1]", 8443, true},
	    {"[2001:db8:0:0::1]", 8443, true},
	    {"[2001:db8::1]", 443, false},
	    {"[2001:db8::2]", 8443, false},
	    /* garbage never matches */
	    {"", 443, false},
	    {"10.1.2.3:443", 443, false},
	    {"api.openai.com:443", 443, false},
	};
	struct hostrules *hr = build(entries);

	for (size_t i = 0; i < N(rows); i++)
		cr_expect_eq(hostrules_match(hr, rows[i].host, rows[i].port), rows[i].want,
			     "'%s' port %d: want %d", rows[i].host, rows[i].port, rows[i].want);
	hostrules_free(hr);
}

Test(hostrules, check_decisions)
{
	char *entries[] = {
	    "metadata.google.internal", "*.internal", "metadata", "instance-data",
	    "api.openai.com",		"10.0.0.0/8", NULL,
	};
	static const struct {
		const char *host;
		int port, rc;
		const char *why;
	} rows[] = {
	    {"api.openai.com", 443, 0, NULL},
	    {"foo.internal", 443, 0, NULL},
	    {"10.2.3.4", 443, 0, NULL},
	    {"metadata.google.internal", 443, -EACCES, "cloud metadata"},
	    {"METADATA.Google.Internal.", 443, -EACCES, "'metadata.google.internal'"},
	    {"metadata.azure.internal", 443, -EACCES, "cloud metadata"},
	    {"metadata", 443, -EACCES, "cloud metadata"},
	    {"Metadata.", 443, -EACCES, "cloud metadata"},
	    {"instance-data", 443, -EACCES, "cloud metadata"},
	    {"instance-data.ec2.internal", 443, -EACCES, "cloud metadata"},
	    {"metadata.goog", 443, -EACCES, "cloud metadata"},
	    {"api.openai.com", 80, -EACCES, "'api.openai.com' is not allowed on port 80"},
	    {"Evil.COM.", 443, -EACCES, "'evil.com' is not in the allowlist"},
	    {"0x7f.1", 443, -EACCES, "'127.0.0.1' is not in the allowlist"},
	    {"allowed.com@evil.com", 443, -EINVAL, "userinfo"},
	    {"", 443, -EINVAL, "empty host"},
	};
	struct hostrules *hr = build(entries);

	for (size_t i = 0; i < N(rows); i++) {
		char why[HOSTRULES_WHY_MAX] = "";
		int rc = hostrules_check(hr, rows[i].host, rows[i].port, why, sizeof(why));

		cr_expect_eq(rc, rows[i].rc, "'%s': rc %d (%s)", rows[i].host, rc, why);
		if (rows[i].why)
			cr_expect(strstr(why, rows[i].why), "'%s': why '%s', want '%s'",
				  rows[i].host, why, rows[i].why);
	}
	hostrules_free(hr);
	cr_expect(hostrules_name_denied("metadata.google.internal", NULL, 0));
	cr_expect_not(hostrules_name_denied("metadata.google.internal.evil.com", NULL, 0));
	cr_expect_not(hostrules_name_denied("my-metadata", NULL, 0));
	cr_expect_not(hostrules_name_denied("169.254.169.254", NULL, 0));
}

/* Build a sockaddr from text, as a resolver answer would arrive; no network involved. */
static const struct sockaddr *addr(const char *txt, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(txt, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(443);
		cr_assert_eq(inet_pton(AF_INET6, txt, &s6->sin6_addr), 1, "bad test address %s",
			     txt);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(443);
		cr_assert_eq(inet_pton(AF_INET, txt, &s4->sin_addr), 1, "bad test address %s", txt);
	}
	return (const struct sockaddr *)ss;
}

struct addr_row {
	const char *addr;
	bool denied;
	const char *why; /* substring of the reason when denied */
};

static void check_addrs(const struct addr_row *rows, size_t n, const struct hostrules *allow)
{
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		char why[HOSTRULES_WHY_MAX] = "";
		bool d = hostrules_addr_denied(addr(rows[i].addr, &ss), allow, why, sizeof(why));

		cr_expect_eq(d, rows[i].denied, "%s: denied %d, want %d (%s)", rows[i].addr, d,
			     rows[i].denied, why);
		if (d && rows[i].denied && rows[i].why)
			cr_expect(strstr(why, rows[i].why), "%s: why '%s', want '%s'", rows[i].addr,
				  why, rows[i].why);
	}
}

Test(hostrules, ipv4_ranges_with_boundaries)
{
	static const struct addr_row rows[] = {
	    {"0.0.0.0", true, "resolves to 0.0.0.0 (\"this\" network)"},
	    {"0.255.255.255", true, "\"this\" network"},
	    {"1.0.0.0", false, NULL},
	    {"9.255.255.255", false, NULL},
	    {"10.0.0.0", true, "resolves to 10.0.0.0 (private)"},
	    {"10.255.255.255", true, "private"},
	    {"11.0.0.0", false, NULL},
	    {"100.63.255.255", false, NULL},
	    {"100.64.0.0", true, "shared address space"},
	    {"100.100.100.200", true, "shared address space"},
	    {"100.127.255.255", true, "shared address space"},
	    {"100.128.0.0", false, NULL},
	    {"126.255.255.255", false, NULL},
	    {"127.0.0.0", true, "loopback"},
	    {"127.0.0.1", true, "resolves to 127.0.0.1 (loopback)"},
	    {"127.255.255.255", true, "loopback"},
	    {"128.0.0.0", false, NULL},
	    {"168.63.129.15", false, NULL},
	    {"168.63.129.16", true, "Azure platform service"},
	    {"168.63.129.17", false, NULL},
	    {"169.253.255.255", false, NULL},
	    {"169.254.0.0", true, "link-local"},
	    {"169.254.169.253", true, "link-local"},
	    {"169.254.169.254", true, "resolves to 169.254.169.254 (cloud metadata service)"},
	    {"169.254.169.255", true, "link-local"},
	    {"169.254.255.255", true, "link-local"},
	    {"169.255.0.0", false, NULL},
	    {"172.15.255.255", false, NULL},
	    {"172.16.0.0", true, "private"},
	    {"172.20.1.1", true, "private"},
	    {"172.31.255.255", true, "private"},
	    {"172.32.0.0", false, NULL},
	    {"191.255.255.255", false, NULL},
	    {"192.0.0.0", true, "IETF protocol assignments"},
	    {"192.0.0.192", true, "Oracle Cloud metadata"},
	    {"192.0.0.255", true, "IETF protocol assignments"},
	    {"192.0.1.0", false, NULL},
	    {"192.167.255.255", false, NULL},
	    {"192.168.0.0", true, "private"},
	    {"192.168.255.255", true, "private"},
	    {"192.169.0.0", false, NULL},
	    {"223.255.255.255", false, NULL},
	    {"224.0.0.0", true, "multicast"},
	    {"239.255.255.255", true, "multicast"},
	    {"240.0.0.0", true, "reserved"},
	    {"255.255.255.254", true, "reserved"},
	    {"255.255.255.255", true, "broadcast"},
	    {"8.8.8.8", false, NULL},
	    {"1.1.1.1", false, NULL},
	    {"104.18.0.1", false, NULL},
	};

	check_addrs(rows, N(rows), NULL);
}

#define FFFF "ffff:ffff:ffff:ffff:ffff:ffff"

Test(hostrules, ipv6_ranges_with_boundaries)
{
	static const struct addr_row rows[] = {
	    {"::", true, "resolves to :: (unspecified)"},
	    {"::1", true, "resolves to ::1 (loopback)"},
	    {"::2", true, "IPv4-compatible 0.0.0.2: \"this\" network"},
	    {"::127.0.0.1", true, "IPv4-compatible 127.0.0.1: loopback"},
	    {"::8.8.8.8", false, NULL},
	    {"fbff:" FFFF ":ffff", false, NULL},
	    {"fc00::", true, "unique local"},
	    {"fd00::1", true, "unique local"},
	    {"fdff:" FFFF ":ffff", true, "unique local"},
	    {"fd00:ec2::254", true, "resolves to fd00:ec2::254 (AWS metadata service)"},
	    {"fd00:ec2::253", true, "unique local"},
	    {"fe00::", false, NULL},
	    {"fe7f:" FFFF ":ffff", false, NULL},
	    {"fe80::", true, "link-local"},
	    {"fe80::1", true, "resolves to fe80::1 (link-local)"},
	    {"febf:" FFFF ":ffff", true, "link-local"},
	    {"fec0::", true, "site-local"},
	    {"feff:" FFFF ":ffff", true, "site-local"},
	    {"ff00::", true, "multicast"},
	    {"ff02::1", true, "multicast"},
	    {"ffff:" FFFF ":ffff", true, "multicast"},
	    {"2001:4860:4860::8888", false, NULL},
	    {"2606:4700::1111", false, NULL},
	    {"2001:db8::1", false, NULL},
	    /* IPv4-mapped ::ffff:0:0/96 */
	    {"::ffff:127.0.0.1", true,
	     "resolves to ::ffff:127.0.0.1 (IPv4-mapped 127.0.0.1: loopback)"},
	    {"::ffff:10.0.0.1", true, "IPv4-mapped 10.0.0.1: private"},
	    {"::ffff:169.254.169.254", true, "cloud metadata"},
	    {"::ffff:0.0.0.0", true, "\"this\" network"},
	    {"::ffff:172.31.255.255", true, "private"},
	    {"::ffff:172.32.0.0", false, NULL},
	    {"::ffff:8.8.8.8", false, NULL},
	    {"::fffe:7f00:1", false, NULL}, /* not mapped: public, unrouted */
	    {"::1:ffff:7f00:1", false, NULL},
	    /* IPv4-translated ::ffff:0:0:0/96 */
	    {"::ffff:0:7f00:1", true, "IPv4-translated 127.0.0.1: loopback"},
	    {"::ffff:0:808:808", false, NULL},
	    /* NAT64 64:ff9b::/96 */
	    {"64:ff9b::7f00:1", true, "NAT64 127.0.0.1: loopback"},
	    {"64:ff9b::10.1.2.3", true, "NAT64 10.1.2.3: private"},
	    {"64:ff9b::a9fe:a9fe", true, "cloud metadata"},
	    {"64:ff9b::c0a8:101", true, "private"},
	    {"64:ff9b::808:808", false, NULL},
	    {"64:ff9b::1:7f00:1", false, NULL}, /* outside the /96 */
	    {"64:ff9a:ffff:ffff:ffff:ffff:7f00:1", false, NULL},
	    /* 6to4 2002::/16: the IPv4 address is bits 16..47 */
	    {"2002:7f00:1::", true, "6to4 127.0.0.1: loopback"},
	    {"2002:a00:1::1", true, "6to4 10.0.0.1: private"},
	    {"2002:a9fe:a9fe::", true, "cloud metadata"},
	    {"2002:c0a8:101:1::1", true, "private"},
	    {"2002:808:808::1", false, NULL},
	    {"2001:ffff:7f00:1::", false, NULL},
	    {"2003:7f00:1::", false, NULL},
	};

	check_addrs(rows, N(rows), NULL);
}

Test(hostrules, reallow_by_address_entries)
{
	char *entries[] = {
	    "10.1.2.0/24",    "fd00:1::/32", "127.0.0.1",   "::1", "172.16.0.0/12:8443",
	    "169.254.0.0/16", "fc00::/7",    "example.com", NULL,
	};
	static const struct addr_row rows[] = {
	    {"10.1.2.0", false, NULL},
	    {"10.1.2.5", false, NULL},
	    {"10.1.2.255", false, NULL},
	    {"10.1.1.255", true, "private"},
	    {"10.1.3.0", true, "private"},
	    {"::ffff:10.1.2.5", false, NULL},
	    {"::ffff:10.1.3.5", true, "private"},
	    {"64:ff9b::a01:205", false, NULL},
	    {"2002:a01:205::1", false, NULL},
	    {"2002:a01:305::1", true, "6to4"},
	    {"127.0.0.1", false, NULL},
	    {"127.0.0.2", true, "loopback"},
	    {"::ffff:127.0.0.1", false, NULL},
	    {"::1", false, NULL},
	    {"::2", true, "IPv4-compatible"},
	    {"172.16.0.1", false, NULL}, /* re-allowing ignores the entry's port */
	    {"172.31.255.255", false, NULL},
	    {"192.168.0.1", true, "private"},
	    {"169.254.1.1", false, NULL},
	    /* a range never re-allows a metadata address */
	    {"169.254.169.254", true, "cloud metadata"},
	    {"::ffff:169.254.169.254", true, "cloud metadata"},
	    {"fd00:1::5", false, NULL},
	    {"fd00:ec2::254", true, "AWS metadata"},
	    {"fe80::1", true, "link-local"},
	};
	struct hostrules *hr = build(entries);

	check_addrs(rows, N(rows), hr);
	hostrules_free(hr);
}

Test(hostrules, metadata_reallowed_only_by_exact_entry)
{
	char *entries[] = {"169.254.169.254", "fd00:ec2::254", "[::ffff:192.0.0.192]", NULL};
	static const struct addr_row rows[] = {
	    {"169.254.169.254", false, NULL},	 {"::ffff:169.254.169.254", false, NULL},
	    {"64:ff9b::a9fe:a9fe", false, NULL}, {"169.254.169.253", true, "link-local"},
	    {"fd00:ec2::254", false, NULL},	 {"192.0.0.192", false, NULL},
	    {"192.0.0.193", true, "IETF"},
	};
	struct hostrules *hr = build(entries);

	check_addrs(rows, N(rows), hr);
	hostrules_free(hr);
}

Test(hostrules, other_families_denied)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char why[HOSTRULES_WHY_MAX] = "";

	cr_expect(hostrules_addr_denied((struct sockaddr *)&sun, NULL, why, sizeof(why)));
	cr_expect(strstr(why, "family"), "%s", why);
	cr_expect(hostrules_addr_denied(NULL, NULL, NULL, 0));
}

Test(hostrules, literal_sockaddr)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char txt[INET6_ADDRSTRLEN];

	cr_assert_eq(hostrules_sockaddr("0x7f.1", 8443, &ss, &len), 0);
	cr_expect_eq(ss.ss_family, AF_INET);
	cr_expect_eq(len, sizeof(struct sockaddr_in));
	cr_expect_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8443);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, txt, sizeof(txt));
	cr_expect_str_eq(txt, "127.0.0.1");
	cr_expect(hostrules_addr_denied((struct sockaddr *)&ss, NULL, NULL, 0));

	cr_assert_eq(hostrules_sockaddr("[2001:DB8::1]", 443, &ss, &len), 0);
	cr_expect_eq(ss.ss_family, AF_INET6);
	cr_expect_eq(len, sizeof(struct sockaddr_in6));
	cr_expect_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 443);
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, txt, sizeof(txt));
	cr_expect_str_eq(txt, "2001:db8::1");

	cr_expect_eq(hostrules_sockaddr("example.com", 443, &ss, &len), -EINVAL);
	cr_expect_eq(hostrules_sockaddr("1.2.3.256", 443, &ss, &len), -EINVAL);
}
