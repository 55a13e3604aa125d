/* HTTP/1.1 module: head parsing (whole and byte by byte), smuggling, body framing, rewrite. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define GET_X	  "GET / HTTP/1.1\r\nHost: x\r\n"
#define POST_X	  "POST / HTTP/1.1\r\nHost: x\r\n"
#define H11	  " HTTP/1.1\r\nHost: x\r\n"
#define OK200	  "HTTP/1.1 200 OK\r\n"
#define NONE	  HTTP_BODY_NONE
#define LENGTH	  HTTP_BODY_LENGTH
#define CHUNKED	  HTTP_BODY_CHUNKED
#define CLOSE	  HTTP_BODY_CLOSE
#define ORIGIN	  HTTP_FORM_ORIGIN
#define ABSOLUTE  HTTP_FORM_ABSOLUTE
#define AUTHORITY HTTP_FORM_AUTHORITY
#define S(lit) lit, sizeof(lit) - 1	/* a literal with its length, NUL bytes included */

static void expect_slice(const struct http_head *h, struct http_slice s, const char *want,
			 size_t row)
{
	char *got = strndup(http_ptr(h, s), s.len);

	cr_expect_str_eq(got, want, "row %zu", row);
	free(got);
}

/*
 * Feed one more byte per call, each time from a fresh copy so the buffer moves (and
 * ASan sees any read past len). Every call before the last must ask for more.
 */
static int parse_bytewise(struct http_head *h, unsigned flags, const char *raw, size_t len,
			  char **keep)
{
	char *prev = NULL;
	int rc = 0;

	http_head_init(h, flags);
	for (size_t i = 1; i <= len && rc == 0; i++) {
		char *copy = malloc(i);

		memcpy(copy, raw, i);
		rc = http_head_parse(h, copy, i);
		free(prev);
		prev = copy;
	}
	*keep = prev;
	return rc;
}

/* Both heads must describe the same message. */
static void expect_same(const struct http_head *a, const struct http_head *b, size_t row)
{
	cr_expect_eq(a->error, b->error, "row %zu", row);
	cr_expect_eq(a->head_len, b->head_len, "row %zu", row);
	if (a->error)
		return;
	cr_expect(a->nheaders == b->nheaders && a->framing == b->framing &&
			  a->content_length == b->content_length && a->keep_alive == b->keep_alive &&
			  a->status == b->status && a->form == b->form && a->port == b->port &&
			  a->version == b->version && a->method.len == b->method.len &&
			  a->target.len == b->target.len && a->host.len == b->host.len,
		  "row %zu", row);
	for (unsigned i = 0; i < a->nheaders && i < b->nheaders; i++) {
		const struct http_header *x = &a->headers[i], *y = &b->headers[i];

		cr_expect(x->name.len == y->name.len && x->value.len == y->value.len &&
				  !memcmp(http_ptr(a, x->name), http_ptr(b, y->name), x->name.len) &&
				  !memcmp(http_ptr(a, x->value), http_ptr(b, y->value), x->value.len),
			  "row %zu header %u", row, i);
	}
}

/* Parse whole and byte by byte, check they agree, return the whole parse's code. */
static int parse_both(struct http_head *h, unsigned flags, const char *raw, size_t len, size_t row)
{
	static struct http_head b;
	char *keep;
	int rc, rb;

	http_head_init(h, flags);
	rc = http_head_parse(h, raw, len);
	rb = parse_bytewise(&b, flags, raw, len, &keep);
	cr_expect_eq(rc, rb, "row %zu: whole %d, bytewise %d", row, rc, rb);
	expect_same(h, &b, row);
	free(keep);
	return rc;
}

Test(http, valid_requests)
{
	static const struct {
		const char *raw;
		const char *method, *target;
		enum http_form form;
		int version;
		unsigned nheaders;
		enum http_framing framing;
		uint64_t cl;
		bool keep_alive;
		const char *host;
		uint16_t port;
		const char *path;	/* without query */
	} rows[] = {
		{ "GET /a/b?q=1" H11 "\r\n", "GET", "/a/b?q=1", ORIGIN, 11, 1, NONE, 0, true, "", 0,
		  "/a/b" },
		{ "POST /v1/chat" H11 "Content-Length: 5\r\n\r\n", "POST", "/v1/chat", ORIGIN, 11, 2,
		  LENGTH, 5, true, "", 0, "/v1/chat" },
		{ POST_X "Content-Length: 0\r\n\r\n", "POST", "/", ORIGIN, 11, 2, LENGTH, 0, true,
		  "", 0, "/" },
		{ POST_X "Transfer-Encoding: chunked\r\n\r\n", "POST", "/", ORIGIN, 11, 2, CHUNKED,
		  0, true, "", 0, "/" },
		{ POST_X "Transfer-Encoding: \t Chunked \t\r\n\r\n", "POST", "/", ORIGIN, 11, 2,
		  CHUNKED, 0, true, "", 0, "/" },
		{ POST_X "Transfer-Encoding: ,chunked, \r\n\r\n", "POST", "/", ORIGIN, 11, 2,
		  CHUNKED, 0, true, "", 0, "/" },
		{ POST_X "Content-Length: 7\r\ncontent-length: 7\r\n\r\n", "POST", "/", ORIGIN, 11,
		  3, LENGTH, 7, true, "", 0, "/" },
		{ "GET / HTTP/1.0\r\n\r\n", "GET", "/", ORIGIN, 10, 0, NONE, 0, false, "", 0, "/" },
		{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "GET", "/", ORIGIN, 10, 1,
		  NONE, 0, true, "", 0, "/" },
		{ GET_X "Connection: foo, CLOSE\r\n\r\n", "GET", "/", ORIGIN, 11, 2, NONE, 0, false,
		  "", 0, "/" },
		{ "GET http://Example.com:8080/p/q?x=1" H11 "\r\n", "GET",
		  "http://Example.com:8080/p/q?x=1", ABSOLUTE, 11, 1, NONE, 0, true, "Example.com",
		  8080, "/p/q" },
		{ "GET http://example.com" H11 "\r\n", "GET", "http://example.com", ABSOLUTE, 11, 1,
		  NONE, 0, true, "example.com", 80, "/" },
		{ "GET HTTPS://example.com?q" H11 "\r\n", "GET", "HTTPS://example.com?q", ABSOLUTE,
		  11, 1, NONE, 0, true, "example.com", 443, "/" },
		{ "GET https://[::1]/x" H11 "\r\n", "GET", "https://[::1]/x", ABSOLUTE, 11, 1, NONE,
		  0, true, "::1", 443, "/x" },
		{ "CONNECT api.openai.com:443" H11 "\r\n", "CONNECT", "api.openai.com:443",
		  AUTHORITY, 11, 1, NONE, 0, true, "api.openai.com", 443, "" },
		{ "CONNECT [2001:db8::1]:8443" H11 "\r\n", "CONNECT", "[2001:db8::1]:8443",
		  AUTHORITY, 11, 1, NONE, 0, true, "2001:db8::1", 8443, "" },
		{ "CONNECT 10.0.0.1:22 HTTP/1.0\r\n\r\n", "CONNECT", "10.0.0.1:22", AUTHORITY, 10,
		  0, NONE, 0, false, "10.0.0.1", 22, "" },
		{ "OPTIONS *" H11 "\r\n", "OPTIONS", "*", HTTP_FORM_ASTERISK, 11, 1, NONE, 0, true,
		  "", 0, "*" },
		{ "\r\n\r\n" GET_X "\r\n", "GET", "/", ORIGIN, 11, 1, NONE, 0, true, "", 0, "/" },
		{ "M-SEARCH /x?a?b" H11 "X-Empty:\r\nX-Utf8: caf\xc3\xa9\r\n\r\n", "M-SEARCH",
		  "/x?a?b", ORIGIN, 11, 3, NONE, 0, true, "", 0, "/x" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct http_head h;
		size_t len = strlen(rows[i].raw), plen;
		int rc = parse_both(&h, 0, rows[i].raw, len, i);
		const char *p;

		cr_assert_eq(rc, (int)len, "row %zu: %d (%s)", i, rc, http_error_reason(rc));
		expect_slice(&h, h.method, rows[i].method, i);
		expect_slice(&h, h.target, rows[i].target, i);
		expect_slice(&h, h.host, rows[i].host, i);
		cr_expect_eq(h.form, rows[i].form, "row %zu", i);
		cr_expect_eq(h.version, rows[i].version, "row %zu", i);
		cr_expect_eq(h.nheaders, rows[i].nheaders, "row %zu", i);
		cr_expect_eq(h.framing, rows[i].framing, "row %zu", i);
		cr_expect_eq(h.content_length, rows[i].cl, "row %zu", i);
		cr_expect_eq(http_keep_alive(&h), rows[i].keep_alive, "row %zu", i);
		cr_expect_eq(h.port, rows[i].port, "row %zu", i);
		p = http_target_path_noquery(&h, &plen);
		cr_expect(plen == strlen(rows[i].path) && !memcmp(p, rows[i].path, plen),
			  "row %zu: path '%.*s'", i, (int)plen, p);
	}
}

/* A head with n fields "X-Pad-i: <vlen bytes>". */
static char *big_head(unsigned n, size_t vlen, size_t *len)
{
	struct buf b = { 0 };
	char line[64];

	buf_append(&b, "GET / HTTP/1.1\r\nHost: x\r\n", 25);
	for (unsigned i = 0; i < n; i++) {
		int k = snprintf(line, sizeof(line), "X-Pad-%u: ", i);

		buf_append(&b, line, (size_t)k);
		memset(buf_reserve(&b, vlen), 'v', vlen);
		b.len += vlen;
		buf_append(&b, "\r\n", 2);
	}
	buf_append(&b, "\r\n", 2);
	*len = b.len;
	return b.data;
}

Test(http, limits)
{
	struct http_head h;
	size_t len;
	char *raw;
	struct buf b = { 0 };

	/* 99 fields + Host = 100: fine; one more is too many */
	raw = big_head(99, 1, &len);
	cr_expect_eq(parse_both(&h, 0, raw, len, 0), (int)len);
	free(raw);
	raw = big_head(100, 1, &len);
	cr_expect_eq(parse_both(&h, 0, raw, len, 1), HTTP_E_TOO_MANY_HEADERS);
	cr_expect_eq(http_error_status(HTTP_E_TOO_MANY_HEADERS), 431);
	free(raw);

	/* 64 fields of ~1 KiB pass 64 KiB; the error comes at byte HTTP_HEAD_MAX */
	raw = big_head(64, 1024, &len);
	cr_assert_gt(len, HTTP_HEAD_MAX);
	cr_expect_eq(parse_both(&h, 0, raw, len, 2), HTTP_E_HEAD_TOO_LARGE);
	http_head_init(&h, 0);
	cr_expect_eq(http_head_parse(&h, raw, HTTP_HEAD_MAX), 0);
	cr_expect_eq(http_head_parse(&h, raw, HTTP_HEAD_MAX + 1), HTTP_E_HEAD_TOO_LARGE);
	cr_expect_eq(http_head_parse(&h, raw, len), HTTP_E_HEAD_TOO_LARGE, "errors stick");
	free(raw);

	/* request line: HTTP_LINE_MAX bytes pass, one more is 414 */
	for (size_t extra = 0; extra < 2; extra++) {
		size_t tlen = HTTP_LINE_MAX - 4 - 9 - 1 + extra;	/* "GET " ... " HTTP/1.1" */

		buf_reset(&b);
		buf_append(&b, "GET /", 5);
		memset(buf_reserve(&b, tlen), 'a', tlen);
		b.len += tlen;
		buf_append(&b, " HTTP/1.1\r\nHost: x\r\n\r\n", 22);
		cr_expect_eq(parse_both(&h, 0, b.data, b.len, 3 + extra),
			     extra ? HTTP_E_LINE_TOO_LONG : (int)b.len);
	}
	cr_expect_eq(http_error_status(HTTP_E_LINE_TOO_LONG), 414);
	buf_free(&b);
}

static const struct {
	const char *raw;
	size_t len;
	int rc;
} invalid_rows[] = {
	{ S("G@T / HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_METHOD },
	{ S(" GET / HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_METHOD },
	{ S("GETGETGETGETGETGETGETGETGETGETGET / HTTP/1.1\r\n\r\n"), HTTP_E_METHOD },
	{ S("GET\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET a/b HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET http://user@evil/ HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET http://:80/ HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET http:// HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET http://x:0/ HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET http://x:65536/ HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET http://x:/ HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET http://x%2e/ HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET * HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("CONNECT host HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("CONNECT /x HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("CONNECT http://x:443/ HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("CONNECT [fe80::1%25eth0]:443 HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("CONNECT [::1:443 HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_E_TARGET },
	{ S("GET /\r\n\r\n"), HTTP_E_VERSION },
	{ S("GET / http/1.1\r\nHost: x\r\n\r\n"), HTTP_E_VERSION },
	{ S("GET / HTTP/1.1 \r\nHost: x\r\n\r\n"), HTTP_E_VERSION },
	{ S("GET / HTTP/1\r\nHost: x\r\n\r\n"), HTTP_E_VERSION },
	{ S("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), HTTP_E_VERSION_UNSUPPORTED },
	{ S("GET / HTTP/1.2\r\nHost: x\r\n\r\n"), HTTP_E_VERSION_UNSUPPORTED },
	{ S("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), HTTP_E_VERSION_UNSUPPORTED },
	{ S("GET / HTTP/1.1\r\nHost: x\0y\r\n\r\n"), HTTP_E_NUL },
	{ S("\0GET / HTTP/1.1\r\n"), HTTP_E_NUL },
	{ S("GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n"), HTTP_E_BARE_CR },
	{ S("GET / HTTP/1.1\r\nHost: x\r\r\n\r\n"), HTTP_E_BARE_CR },
	{ S(GET_X "\r\r\n"), HTTP_E_BARE_CR },
	{ S("GET / HTTP/1.1\nHost: x\n\n"), HTTP_E_BARE_LF },
	{ S(GET_X "\n"), HTTP_E_BARE_LF },
	{ S(GET_X "X-A: a\r\n b\r\n\r\n"), HTTP_E_OBS_FOLD },
	{ S(GET_X "X-A: a\r\n\tb\r\n\r\n"), HTTP_E_OBS_FOLD },
	{ S("GET / HTTP/1.1\r\n Host: x\r\n\r\n"), HTTP_E_OBS_FOLD },
	{ S("GET / HTTP/1.1\r\nHo(st: x\r\n\r\n"), HTTP_E_HEADER_NAME },
	{ S(GET_X ": x\r\n\r\n"), HTTP_E_HEADER_NAME },
	{ S(GET_X "NoColon\r\n\r\n"), HTTP_E_HEADER_NAME },
	{ S(GET_X "X Y: z\r\n\r\n"), HTTP_E_HEADER_NAME },
	{ S(GET_X "X\xc3\xa9: z\r\n\r\n"), HTTP_E_HEADER_NAME },
	{ S("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), HTTP_E_HEADER_SPACE },
	{ S(GET_X "Content-Length\t: 5\r\n\r\n"), HTTP_E_HEADER_SPACE },
	{ S(GET_X "X: a\x01"
	    "b\r\n\r\n"), HTTP_E_HEADER_VALUE },
	{ S(GET_X "X: a\x7f\r\n\r\n"), HTTP_E_HEADER_VALUE },
	{ S("GET / HTTP/1.1\r\n\r\n"), HTTP_E_HOST },
	{ S("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), HTTP_E_HOST },
	{ S("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"), HTTP_E_HOST },
	{ S(POST_X "Content-Length: abc\r\n\r\n"), HTTP_E_CONTENT_LENGTH },
	{ S(POST_X "Content-Length: -1\r\n\r\n"), HTTP_E_CONTENT_LENGTH },
	{ S(POST_X "Content-Length: +5\r\n\r\n"), HTTP_E_CONTENT_LENGTH },
	{ S(POST_X "Content-Length: 5, 5\r\n\r\n"), HTTP_E_CONTENT_LENGTH },
	{ S(POST_X "Content-Length: 5 5\r\n\r\n"), HTTP_E_CONTENT_LENGTH },
	{ S(POST_X "Content-Length:\r\n\r\n"), HTTP_E_CONTENT_LENGTH },
	{ S(POST_X "Content-Length: 0x10\r\n\r\n"), HTTP_E_CONTENT_LENGTH },
	{ S(POST_X "Content-Length: 99999999999999999999999\r\n\r\n"), HTTP_E_CONTENT_LENGTH },
	/* smuggling */
	{ S(POST_X "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), HTTP_E_CL_CONFLICT },
	{ S(POST_X "Content-Length: 5\r\ncontent-length: 05\r\n"
	    "content-length: 50\r\n\r\n"), HTTP_E_CL_CONFLICT },
	{ S(POST_X "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_E_CL_AND_TE },
	{ S(POST_X "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"), HTTP_E_CL_AND_TE },
	{ S(POST_X "Transfer-Encoding: chunked, identity\r\n\r\n"), HTTP_E_TE_BAD },
	{ S(POST_X "Transfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: identity\r\n\r\n"), HTTP_E_TE_BAD },
	{ S(POST_X "Transfer-Encoding: chunked, chunked\r\n\r\n"), HTTP_E_TE_BAD },
	{ S(POST_X "Transfer-Encoding: identity\r\n\r\n"), HTTP_E_TE_BAD },
	{ S(POST_X "Transfer-Encoding: xchunked\r\n\r\n"), HTTP_E_TE_BAD },
	{ S(POST_X "Transfer-Encoding: \"chunked\"\r\n\r\n"), HTTP_E_TE_BAD },
	{ S(POST_X "Transfer-Encoding: chun ked\r\n\r\n"), HTTP_E_TE_BAD },
	{ S(POST_X "Transfer-Encoding:\r\n\r\n"), HTTP_E_TE_BAD },
	{ S(POST_X "Transfer-Encoding : chunked\r\n\r\n"), HTTP_E_HEADER_SPACE },
	{ S(POST_X "Transfer-Encoding:\r\n chunked\r\n\r\n"), HTTP_E_OBS_FOLD },
	{ S(POST_X "Transfer-Encoding: \x0b"
	    "chunked\r\n\r\n"), HTTP_E_HEADER_VALUE },
	{ S(POST_X "Transfer-Encoding: gzip, chunked\r\n\r\n"), HTTP_E_TE_UNSUPPORTED },
	{ S("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_E_TE_HTTP10 },
};

Test(http, invalid_requests)
{

	for (size_t i = 0; i < ARRAY_SIZE(invalid_rows); i++) {
		struct http_head h;
		int rc = parse_both(&h, 0, invalid_rows[i].raw, invalid_rows[i].len, i);

		cr_expect_eq(rc, invalid_rows[i].rc, "row %zu: got %d (%s), want %d (%s)", i, rc,
			     http_error_reason(rc), invalid_rows[i].rc, http_error_reason(invalid_rows[i].rc));
		cr_expect_eq(http_keep_alive(&h), false, "row %zu", i);
	}
}

Test(http, incremental_and_pipelined)
{
	static const char two[] = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
	struct http_head h;
	size_t first = strlen("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");

	/* every prefix asks for more */
	http_head_init(&h, 0);
	for (size_t i = 0; i < first; i++)
		cr_expect_eq(http_head_parse(&h, two, i), 0, "prefix %zu", i);
	cr_expect_eq(http_head_parse(&h, two, sizeof(two) - 1), (int)first);
	cr_expect_eq(http_head_parse(&h, two, sizeof(two) - 1), (int)first, "a done head stays");

	/* the next message starts where the head ended */
	http_head_init(&h, 0);
	cr_expect_eq(http_head_parse(&h, two + first, sizeof(two) - 1 - first), (int)first);
	cr_expect(http_method_is(&h, "GET"));
	cr_expect_not(http_method_is(&h, "get"));
}

Test(http, header_lookup)
{
	static const char raw[] = "GET / HTTP/1.1\r\nHost: x\r\nX-Api-Key:  k1 \r\n"
				  "Accept: a\r\nx-api-key: k2\r\n\r\n";
	struct http_head h;
	const char *v;
	size_t n;
	int i;

	http_head_init(&h, 0);
	cr_assert_eq(http_head_parse(&h, raw, sizeof(raw) - 1), (int)sizeof(raw) - 1);
	v = http_header_get(&h, "X-API-KEY", &n);
	cr_assert_not_null(v);
	cr_expect(n == 2 && !memcmp(v, "k1", 2));
	cr_expect_null(http_header_get(&h, "x-api", &n));
	cr_expect_null(http_header_get(&h, "authorization", &n));
	i = http_header_next(&h, "x-api-key", 0);
	cr_expect_eq(i, 1);
	i = http_header_next(&h, "x-api-key", (unsigned)i + 1);
	cr_expect_eq(i, 3);
	cr_expect_eq(http_header_next(&h, "x-api-key", (unsigned)i + 1), -1);
}

static const struct {
	const char *raw;
	unsigned flags;
	int status;
	enum http_framing framing;
	uint64_t cl;
	bool keep_alive;
} response_rows[] = {
	{ OK200 "Content-Length: 12\r\n\r\n", 0, 200, LENGTH, 12, true },
	{ OK200 "Transfer-Encoding: chunked\r\n\r\n", 0, 200, CHUNKED, 0, true },
	{ OK200 "Transfer-Encoding: gzip, chunked\r\n\r\n", 0, 200, CHUNKED, 0, true },
	{ OK200 "Transfer-Encoding: gzip\r\n\r\n", 0, 200, CLOSE, 0, false },
	{ OK200 "Content-Type: text/plain\r\n\r\n", 0, 200, CLOSE, 0, false },
	{ "HTTP/1.1 100 Continue\r\n\r\n", 0, 100, NONE, 0, true },
	{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", 0, 101, NONE, 0,
	  true },
	{ "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", 0, 103, NONE, 0,
	  true },
	{ "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", 0, 204, NONE, 0, true },
	{ "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 304, NONE, 0,
	  true },
	{ OK200 "Content-Length: 100\r\n\r\n", HTTP_F_HEAD, 200, NONE, 0, true },
	{ OK200 "Transfer-Encoding: chunked\r\n\r\n", HTTP_F_HEAD, 200, NONE, 0, true },
	{ "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n", 0, 200, LENGTH, 3, false },
	{ "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n", 0, 200,
	  LENGTH, 3, true },
	{ OK200 "Connection: close\r\nContent-Length: 3\r\n\r\n", 0, 200, LENGTH, 3, false },
	{ "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", 0, 404, LENGTH, 0, true },
	{ "HTTP/1.1 429 \r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n", 0, 429, LENGTH, 0,
	  true },
};

static const struct {
	const char *raw;
	int rc;
} bad_response_rows[] = {
	{ OK200 "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_E_CL_AND_TE },
	{ OK200 "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", HTTP_E_CL_CONFLICT },
	{ OK200 "Transfer-Encoding: chunked, chunked\r\n\r\n", HTTP_E_TE_BAD },
	{ "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_E_TE_HTTP10 },
	{ "HTTP/1.1 20 OK\r\n\r\n", HTTP_E_STATUS },
	{ "HTTP/1.1 2000 OK\r\n\r\n", HTTP_E_STATUS },
	{ "HTTP/1.1 099 Low\r\n\r\n", HTTP_E_STATUS },
	{ "HTTP/1.1 abc OK\r\n\r\n", HTTP_E_STATUS },
	{ "HTTP/1.1 200 O\x01K\r\n\r\n", HTTP_E_STATUS },
	{ "HTTP/2 200\r\n\r\n", HTTP_E_STATUS },
	{ "ICY 200 OK\r\n\r\n", HTTP_E_STATUS },
	{ "HTTP/2.0 200 OK\r\n\r\n", HTTP_E_VERSION_UNSUPPORTED },
	{ OK200 "X: y\r\n z\r\n\r\n", HTTP_E_OBS_FOLD },
};

Test(http, responses)
{
	struct http_head h;

	for (size_t i = 0; i < ARRAY_SIZE(response_rows); i++) {
		size_t len = strlen(response_rows[i].raw);
		int rc = parse_both(&h, HTTP_F_RESPONSE | response_rows[i].flags,
				    response_rows[i].raw, len, i);

		cr_expect_eq(rc, (int)len, "row %zu: %d (%s)", i, rc, http_error_reason(rc));
		cr_expect_eq(h.status, response_rows[i].status, "row %zu", i);
		cr_expect_eq(h.framing, response_rows[i].framing, "row %zu", i);
		cr_expect_eq(h.content_length, response_rows[i].cl, "row %zu", i);
		cr_expect_eq(http_keep_alive(&h), response_rows[i].keep_alive, "row %zu", i);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_response_rows); i++) {
		const char *raw = bad_response_rows[i].raw;
		int rc = parse_both(&h, HTTP_F_RESPONSE, raw, strlen(raw), i);

		cr_expect_eq(rc, bad_response_rows[i].rc, "row %zu: %d (%s)", i, rc,
			     http_error_reason(rc));
	}
}

Test(http, event_stream)
{
	static const struct {
		const char *ctype;	/* NULL: no Content-Type */
		bool sse;
	} rows[] = {
		{ "text/event-stream", true },
		{ "Text/Event-Stream; charset=utf-8", true },
		{ "text/event-stream ;x=1", true },
		{ "text/event-streams", false },
		{ "text/event", false },
		{ "application/json", false },
		{ "", false },
		{ NULL, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char raw[256];
		struct http_head h;
		int n;

		if (rows[i].ctype)
			n = snprintf(raw, sizeof(raw),
				     "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
				     "Transfer-Encoding: chunked\r\n\r\n",
				     rows[i].ctype);
		else
			n = snprintf(raw, sizeof(raw), "HTTP/1.1 200 OK\r\n\r\n");
		http_head_init(&h, HTTP_F_RESPONSE);
		cr_assert_eq(http_head_parse(&h, raw, (size_t)n), n, "row %zu", i);
		cr_expect_eq(http_is_event_stream(&h), rows[i].sse, "row %zu", i);
	}
}

/* ------------------------------------------------------------------ bodies */

struct body_result {
	ssize_t rc;		/* total consumed, or the error */
	bool done;
	struct buf data;
};

/* Run the body through in pieces of step bytes (0: all at once). */
static struct body_result run_body(enum http_framing framing, uint64_t cl, const char *in,
				   size_t len, size_t step, uint64_t max, bool decode)
{
	struct http_head h = { .framing = framing, .content_length = cl };
	struct body_result r = { 0 };
	struct http_body b;
	char *copy = malloc(len + 1);

	r.rc = http_body_init(&b, &h, max, decode);
	memcpy(copy, in, len);
	for (size_t at = 0; r.rc >= 0 && at < len && !http_body_done(&b);) {
		size_t n = step && step < len - at ? step : len - at, outlen = 99;
		/* decode in place: out aliases in */
		ssize_t rc = http_body_feed(&b, copy + at, n, copy + at, &outlen);

		if (rc < 0) {
			r.rc = rc;
			break;
		}
		if (decode)
			buf_append(&r.data, copy + at, outlen);
		else
			cr_expect_eq(outlen, 0);
		r.rc += rc;
		at += (size_t)rc;
		if ((size_t)rc < n)
			break;	/* the message ended inside this piece */
	}
	r.done = http_body_done(&b);
	buf_append(&r.data, "", 1);
	free(copy);
	return r;
}

static const struct {
	const char *in;
	size_t len;
	uint64_t max;
	ssize_t rc;	/* consumed, or error */
	bool done;
	const char *data;
} chunk_rows[] = {
	{ S("5\r\nhello\r\n0\r\n\r\n"), 0, 15, true, "hello" },
	{ S("5;ext=1;name=\"q v\"\r\nhello\r\n6 ; e\t\r\n world\r\n0\r\n\r\n"), 0, 48, true,
	  "hello world" },
	{ S("A\r\n0123456789\r\n0\r\nX-Checksum: abc\r\nX-B:\r\n\r\n"), 0, 43, true,
	  "0123456789" },
	{ S("1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), 0, 11, true, "a" },
	{ S("000\r\n\r\n"), 0, 7, true, "" },
	{ S("0;last\r\n\r\n"), 0, 10, true, "" },
	{ S("5\r\nhello\r\n"), 0, 10, false, "hello" },
	{ S("5\r\nhel"), 0, 6, false, "hel" },
	{ S("5\r\nhello\r\n5\r\nhello\r\n0\r\n\r\n"), 25, 25, true, "hellohello" },
	{ S("5\r\nhello\r\n5\r\nhello\r\n0\r\n\r\n"), 24, HTTP_E_BODY_TOO_LARGE, false, NULL },
	{ S("b\r\nhello world\r\n0\r\n\r\n"), 10, HTTP_E_BODY_TOO_LARGE, false, NULL },
	{ S("ffffffffffffffffffff\r\n"), 0, HTTP_E_BODY_TOO_LARGE, false, NULL },
	{ S("1000001\r\n"), 0, HTTP_E_BODY_TOO_LARGE, false, NULL },
	{ S("\r\n"), 0, HTTP_E_CHUNK_SIZE, false, NULL },
	{ S("x\r\n"), 0, HTTP_E_CHUNK_SIZE, false, NULL },
	{ S("5 6\r\nhello\r\n"), 0, HTTP_E_CHUNK_SIZE, false, NULL },
	{ S(" 5\r\nhello\r\n"), 0, HTTP_E_CHUNK_SIZE, false, NULL },
	{ S("-1\r\n"), 0, HTTP_E_CHUNK_SIZE, false, NULL },
	{ S("0x5\r\nhello\r\n"), 0, HTTP_E_CHUNK_SIZE, false, NULL },
	{ S("5\rhello\r\n"), 0, HTTP_E_CHUNK_SIZE, false, NULL },
	{ S("5\nhello\r\n"), 0, HTTP_E_CHUNK_SIZE, false, NULL },
	{ S("5;a\x01\r\nhello\r\n"), 0, HTTP_E_CHUNK_SIZE, false, NULL },
	{ S("5;a\nhello\r\n"), 0, HTTP_E_CHUNK_SIZE, false, NULL },
	{ S("5\r\nhelloX\r\n"), 0, HTTP_E_CHUNK_DATA, false, NULL },
	{ S("5\r\nhello\n0\r\n\r\n"), 0, HTTP_E_CHUNK_DATA, false, NULL },
	{ S("5\r\nhello\rX"), 0, HTTP_E_CHUNK_DATA, false, NULL },
	{ S("0\r\n bad: x\r\n\r\n"), 0, HTTP_E_TRAILER, false, NULL },
	{ S("0\r\nX : y\r\n\r\n"), 0, HTTP_E_TRAILER, false, NULL },
	{ S("0\r\nX: a\nb\r\n\r\n"), 0, HTTP_E_TRAILER, false, NULL },
	{ S("0\r\nX: a\0\r\n\r\n"), 0, HTTP_E_TRAILER, false, NULL },
	{ S("0\r\n\rx"), 0, HTTP_E_TRAILER, false, NULL },
	{ S("0\r\n\n"), 0, HTTP_E_TRAILER, false, NULL },
};

Test(http, chunked)
{

	for (size_t i = 0; i < ARRAY_SIZE(chunk_rows); i++) {
		/* decode whole, decode byte by byte, pass through whole, pass through in 3s */
		static const struct {
			size_t step;
			bool decode;
		} modes[] = { { 0, true }, { 1, true }, { 0, false }, { 3, false } };

		for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
			struct body_result r = run_body(HTTP_BODY_CHUNKED, 0, chunk_rows[i].in,
							chunk_rows[i].len, modes[m].step, chunk_rows[i].max,
							modes[m].decode);

			cr_expect_eq(r.rc, chunk_rows[i].rc, "row %zu mode %zu: %zd (%s)", i, m, r.rc,
				     http_error_reason((int)r.rc));
			if (chunk_rows[i].rc >= 0) {
				cr_expect_eq(r.done, chunk_rows[i].done, "row %zu mode %zu", i, m);
				if (modes[m].decode)
					cr_expect_str_eq(r.data.data, chunk_rows[i].data, "row %zu mode %zu",
							 i, m);
			}
			buf_free(&r.data);
		}
	}
}

Test(http, chunked_limits)
{
	struct buf in = { 0 };
	struct body_result r;

	/* a chunk-size line up to HTTP_CHUNK_LINE_MAX passes; longer is refused */
	for (size_t extra = 0; extra < 2; extra++) {
		size_t n = HTTP_CHUNK_LINE_MAX - 3 + extra;	/* "1;" + n + CR */

		buf_reset(&in);
		buf_append(&in, "1;", 2);
		memset(buf_reserve(&in, n), 'e', n);
		in.len += n;
		buf_append(&in, "\r\nx\r\n0\r\n\r\n", 10);
		r = run_body(HTTP_BODY_CHUNKED, 0, in.data, in.len, extra ? 7 : 0, 0, true);
		cr_expect_eq(r.rc, extra ? HTTP_E_CHUNK_LINE_TOO_LONG : (ssize_t)in.len, "extra %zu",
			     extra);
		buf_free(&r.data);
	}

	/* trailer section over HTTP_TRAILER_MAX */
	buf_reset(&in);
	buf_append(&in, "0\r\n", 3);
	for (int i = 0; i < 140; i++)
		buf_append(&in, S("X-Trailer: 01234567890123456789012345678901234567890123456789\r\n"));
	buf_append(&in, "\r\n", 2);
	r = run_body(HTTP_BODY_CHUNKED, 0, in.data, in.len, 0, 0, false);
	cr_expect_eq(r.rc, HTTP_E_TRAILER_TOO_LARGE);
	cr_expect_eq(http_error_status(HTTP_E_TRAILER_TOO_LARGE), 431);
	buf_free(&r.data);

	/* a single trailer line longer than HTTP_CHUNK_LINE_MAX */
	buf_reset(&in);
	buf_append(&in, "0\r\nX: ", 6);
	memset(buf_reserve(&in, HTTP_CHUNK_LINE_MAX), 'v', HTTP_CHUNK_LINE_MAX);
	in.len += HTTP_CHUNK_LINE_MAX;
	buf_append(&in, "\r\n\r\n", 4);
	r = run_body(HTTP_BODY_CHUNKED, 0, in.data, in.len, 0, 0, false);
	cr_expect_eq(r.rc, HTTP_E_TRAILER_TOO_LARGE);
	buf_free(&r.data);
	buf_free(&in);
}

Test(http, length_and_close)
{
	struct http_head h = { .framing = HTTP_BODY_LENGTH, .content_length = 5 };
	struct http_body b;
	char out[16];
	size_t outlen;
	struct body_result r;

	cr_assert_eq(http_body_init(&b, &h, 0, true), 0);
	cr_expect_eq(http_body_feed(&b, "hel", 3, out, &outlen), 3);
	cr_expect(outlen == 3 && !memcmp(out, "hel", 3));
	cr_expect_not(http_body_done(&b));
	cr_expect_eq(http_body_eof(&b), HTTP_E_BODY_TRUNCATED);
	cr_expect_eq(http_body_feed(&b, "loGET", 5, out, &outlen), 2);
	cr_expect(outlen == 2 && !memcmp(out, "lo", 2));
	cr_expect(http_body_done(&b));
	cr_expect_eq(http_body_eof(&b), 0);
	cr_expect_eq(http_body_feed(&b, "GET", 3, out, &outlen), 0);

	/* Content-Length over the cap is refused before any byte */
	h.content_length = HTTP_BODY_MAX + 1;
	cr_expect_eq(http_body_init(&b, &h, 0, false), HTTP_E_BODY_TOO_LARGE);
	cr_expect_eq(http_body_feed(&b, "x", 1, NULL, NULL), HTTP_E_BODY_TOO_LARGE);
	h.content_length = 100;
	cr_expect_eq(http_body_init(&b, &h, 99, false), HTTP_E_BODY_TOO_LARGE);
	cr_expect_eq(http_error_status(HTTP_E_BODY_TOO_LARGE), 413);

	/* no body */
	h.framing = HTTP_BODY_NONE;
	cr_assert_eq(http_body_init(&b, &h, 0, false), 0);
	cr_expect(http_body_done(&b));
	cr_expect_eq(http_body_feed(&b, "x", 1, NULL, NULL), 0);

	/* close-delimited: everything, until EOF; capped */
	r = run_body(HTTP_BODY_CLOSE, 0, S("all of it"), 2, 0, true);
	cr_expect_eq(r.rc, 9);
	cr_expect_not(r.done);
	cr_expect_str_eq(r.data.data, "all of it");
	buf_free(&r.data);
	h.framing = HTTP_BODY_CLOSE;
	cr_assert_eq(http_body_init(&b, &h, 4, false), 0);
	cr_expect_eq(http_body_feed(&b, "abc", 3, NULL, NULL), 3);
	cr_expect_eq(http_body_eof(&b), 0);
	cr_expect_eq(http_body_feed(&b, "de", 2, NULL, NULL), HTTP_E_BODY_TOO_LARGE);
}

/* ------------------------------------------------------------------ rewrite */

static void expect_rewrite(const char *raw, unsigned flags, const struct http_rewrite *rw,
			   const char *want, size_t row)
{
	struct http_head h;
	struct buf out = { 0 };

	http_head_init(&h, flags);
	cr_assert_eq(http_head_parse(&h, raw, strlen(raw)), (int)strlen(raw), "row %zu", row);
	buf_append(&out, "<", 1);	/* appends after what is there */
	cr_assert_eq(http_head_rewrite(&h, rw, &out), 0, "row %zu", row);
	buf_append(&out, "", 1);
	cr_expect_str_eq(out.data + 1, want, "row %zu", row);
	cr_expect_eq(out.data[0], '<');
	buf_free(&out);
}

Test(http, rewrite)
{
	static const char *const strip[] = { "authorization", "X-Api-Key" };
	static const struct http_field real[] = { { "Authorization", "Bearer REAL" } };
	static const struct http_field cl2[] = { { "Content-Length", "2" } };
	static const struct {
		const char *raw;
		unsigned flags;
		struct http_rewrite rw;
		const char *want;
	} rows[] = {
		/* reverse route: new target and Host, phantom out, real key in, hop-by-hop gone */
		{ "POST /openai/chat/completions?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"
		  "Connection: keep-alive, X-Trace\r\nAuthorization: Bearer phantom\r\n"
		  "x-api-key: phantom\r\nX-Trace: 1\r\nKeep-Alive: timeout=5\r\n"
		  "Proxy-Authorization: Basic abc\r\nContent-Type: application/json\r\n"
		  "Content-Length: 2\r\ncontent-length: 2\r\nTE: trailers\r\nTrailer: X\r\n"
		  "Upgrade: h2c\r\nProxy-Connection: x\r\nAccept:   */*  \r\nX-Empty:\r\n\r\n",
		  0,
		  { .target = "/v1/chat/completions?x=1", .host = "api.openai.com",
		    .remove = strip, .nremove = 2, .add = real, .nadd = 1 },
		  "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: api.openai.com\r\n"
		  "Content-Type: application/json\r\nContent-Length: 2\r\nAccept: */*\r\n"
		  "X-Empty: \r\nAuthorization: Bearer REAL\r\n\r\n" },
		/* absolute-form goes out in origin-form */
		{ "GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n"
		  "Proxy-Connection: keep-alive\r\nUser-Agent: curl/7.88\r\n\r\n",
		  0, { .host = "example.com" },
		  "GET /a?b HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/7.88\r\n\r\n" },
		{ "GET http://example.com HTTP/1.0\r\nHost: example.com\r\n\r\n", 0, { 0 },
		  "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n" },
		{ "GET http://example.com?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", 0, { 0 },
		  "GET /?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n" },
		/* chunked relayed as is keeps Transfer-Encoding; re-framing drops it */
		{ "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 0, { 0 },
		  "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" },
		{ "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
		  { .reframe = true, .add = cl2, .nadd = 1 },
		  "POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n" },
		/* Connection cannot take away framing or Host */
		{ "POST /u HTTP/1.1\r\nHost: h\r\nConnection: Content-Length, Host, X-A,\r\n"
		  "X-A: 1\r\nContent-Length: 0\r\nX-B: 2\r\n\r\n", 0, { 0 },
		  "POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nX-B: 2\r\n\r\n" },
		/* responses: relayed as 1.1, hop-by-hop gone, SSE framing kept */
		{ "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
		  "Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
		  HTTP_F_RESPONSE, { 0 },
		  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n" },
		{ "HTTP/1.0 404\r\nProxy-Authenticate: Basic\r\n\r\n", HTTP_F_RESPONSE, { 0 },
		  "HTTP/1.1 404 \r\n\r\n" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		expect_rewrite(rows[i].raw, rows[i].flags, &rows[i].rw, rows[i].want, i);
}

Test(http, rewrite_refuses_injection)
{
	static const char raw[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	static const struct http_field bad_value[] = { { "Authorization", "Bearer x\r\nX-Evil: 1" } };
	static const struct http_field bad_name[] = { { "Bad Name", "v" } };
	static const struct http_field empty_name[] = { { "", "v" } };
	const struct http_rewrite rows[] = {
		{ .add = bad_value, .nadd = 1 },
		{ .add = bad_name, .nadd = 1 },
		{ .add = empty_name, .nadd = 1 },
		{ .host = "h\r\nX: y" },
		{ .target = "/a b" },
		{ .target = "/a\n" },
		{ .target = "" },
	};
	struct http_head h;
	struct buf out = { 0 };

	http_head_init(&h, 0);
	cr_assert_eq(http_head_parse(&h, raw, sizeof(raw) - 1), (int)sizeof(raw) - 1);
	buf_append(&out, "keep", 4);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		cr_expect_eq(http_head_rewrite(&h, &rows[i], &out), -EINVAL, "row %zu", i);
		cr_expect_eq(out.len, 4, "row %zu", i);
	}
	/* an unfinished or failed head cannot be rewritten */
	http_head_init(&h, 0);
	cr_expect_eq(http_head_rewrite(&h, &rows[0], &out), -EINVAL);
	buf_free(&out);
}

/*
 * Every code has a status from the set and its own reason, and a row above expects it
 * (criterion runs each test in its own process, so the tables are what is shared).
 */
Test(http, every_error_code)
{
	static const int statuses[] = { 400, 413, 414, 431, 501, 502, 505 };
	/* produced by the generated cases in limits, chunked_limits and length_and_close */
	static const int generated[] = {
		HTTP_E_LINE_TOO_LONG, HTTP_E_HEAD_TOO_LARGE, HTTP_E_TOO_MANY_HEADERS,
		HTTP_E_CHUNK_LINE_TOO_LONG, HTTP_E_TRAILER_TOO_LARGE, HTTP_E_BODY_TRUNCATED,
	};
	bool seen[HTTP_E_METHOD - HTTP_E_LAST + 1] = { false };

	for (size_t i = 0; i < ARRAY_SIZE(invalid_rows); i++)
		seen[HTTP_E_METHOD - invalid_rows[i].rc] = true;
	for (size_t i = 0; i < ARRAY_SIZE(bad_response_rows); i++)
		seen[HTTP_E_METHOD - bad_response_rows[i].rc] = true;
	for (size_t i = 0; i < ARRAY_SIZE(chunk_rows); i++)
		if (chunk_rows[i].rc < 0)
			seen[HTTP_E_METHOD - chunk_rows[i].rc] = true;
	for (size_t i = 0; i < ARRAY_SIZE(generated); i++)
		seen[HTTP_E_METHOD - generated[i]] = true;
	for (int e = HTTP_E_METHOD; e >= HTTP_E_LAST; e--) {
		bool known = false;

		cr_expect(seen[HTTP_E_METHOD - e], "no case for %d (%s)", e, http_error_reason(e));
		for (size_t k = 0; k < ARRAY_SIZE(statuses); k++)
			known |= http_error_status(e) == statuses[k];
		cr_expect(known, "code %d: status %d", e, http_error_status(e));
		for (int f = e - 1; f >= HTTP_E_LAST; f--)
			cr_expect_str_neq(http_error_reason(e), http_error_reason(f), "%d %d", e, f);
	}
	cr_expect_eq(http_error_status(HTTP_E_VERSION_UNSUPPORTED), 505);
	cr_expect_eq(http_error_status(HTTP_E_TE_UNSUPPORTED), 501);
	cr_expect_eq(http_error_status(-ENOMEM), 500);
	cr_expect_str_eq(http_error_reason(-ENOMEM), "internal error");
}
