/* http: pure, incremental HTTP/1.1 head parsing and head rewriting (no I/O; bodies: http_body.c). */
#include "http.h"
#include "http_internal.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static const struct {
	int status;
	const char *reason;
} errors[] = {
	[-HTTP_E_METHOD - 1001] = { 400, "bad method" },
	[-HTTP_E_TARGET - 1001] = { 400, "bad request-target" },
	[-HTTP_E_VERSION - 1001] = { 400, "bad HTTP version" },
	[-HTTP_E_VERSION_UNSUPPORTED - 1001] = { 505, "HTTP version not supported" },
	[-HTTP_E_LINE_TOO_LONG - 1001] = { 414, "request line too long" },
	[-HTTP_E_HEAD_TOO_LARGE - 1001] = { 431, "header section too large" },
	[-HTTP_E_TOO_MANY_HEADERS - 1001] = { 431, "too many header fields" },
	[-HTTP_E_NUL - 1001] = { 400, "NUL byte in head" },
	[-HTTP_E_BARE_CR - 1001] = { 400, "CR not followed by LF" },
	[-HTTP_E_BARE_LF - 1001] = { 400, "LF without CR" },
	[-HTTP_E_OBS_FOLD - 1001] = { 400, "obsolete line folding" },
	[-HTTP_E_HEADER_NAME - 1001] = { 400, "bad header name" },
	[-HTTP_E_HEADER_SPACE - 1001] = { 400, "whitespace before colon" },
	[-HTTP_E_HEADER_VALUE - 1001] = { 400, "bad header value" },
	[-HTTP_E_HOST - 1001] = { 400, "missing or repeated Host" },
	[-HTTP_E_CONTENT_LENGTH - 1001] = { 400, "bad Content-Length" },
	[-HTTP_E_CL_CONFLICT - 1001] = { 400, "conflicting Content-Length" },
	[-HTTP_E_CL_AND_TE - 1001] = { 400, "Content-Length with Transfer-Encoding" },
	[-HTTP_E_TE_BAD - 1001] = { 400, "final transfer-coding is not chunked" },
	[-HTTP_E_TE_UNSUPPORTED - 1001] = { 501, "transfer-coding not implemented" },
	[-HTTP_E_TE_HTTP10 - 1001] = { 400, "Transfer-Encoding in HTTP/1.0" },
	[-HTTP_E_STATUS - 1001] = { 502, "bad status line" },
	[-HTTP_E_CHUNK_SIZE - 1001] = { 400, "bad chunk size line" },
	[-HTTP_E_CHUNK_LINE_TOO_LONG - 1001] = { 400, "chunk size line too long" },
	[-HTTP_E_CHUNK_DATA - 1001] = { 400, "chunk data not followed by CRLF" },
	[-HTTP_E_TRAILER - 1001] = { 400, "bad trailer field" },
	[-HTTP_E_TRAILER_TOO_LARGE - 1001] = { 431, "trailer section too large" },
	[-HTTP_E_BODY_TOO_LARGE - 1001] = { 413, "body too large" },
	[-HTTP_E_BODY_TRUNCATED - 1001] = { 400, "body ended early" },
};

#define IS_HTTP_ERROR(e) ((e) <= HTTP_E_METHOD && (e) >= HTTP_E_LAST)

int http_error_status(int err)
{
	return IS_HTTP_ERROR(err) ? errors[-err - 1001].status : 500;
}

const char *http_error_reason(int err)
{
	return IS_HTTP_ERROR(err) ? errors[-err - 1001].reason : "internal error";
}

static bool ci_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

static bool ci_is(const char *a, size_t alen, const char *b)
{
	return ci_eq(a, alen, b, strlen(b));
}

static bool slice_ci_is(const struct http_head *h, struct http_slice s, const char *b)
{
	return ci_is(http_ptr(h, s), s.len, b);
}

static struct http_slice slice(size_t off, size_t len)
{
	return (struct http_slice){ .off = (uint32_t)off, .len = (uint32_t)len };
}

/*
 * Walk a comma-separated list: returns false at its end, else sets *e and *elen to the
 * next non-empty element without surrounding whitespace (empty ones are skipped, as
 * RFC 9110 5.6.1 asks).
 */
static bool list_next(const char *v, size_t len, size_t *at, const char **e, size_t *elen)
{
	while (*at < len) {
		const char *p = v + *at, *comma = memchr(p, ',', len - *at);
		size_t n = comma ? (size_t)(comma - p) : len - *at;

		*at += n + (comma != NULL);
		for (; n && is_ows((unsigned char)*p); n--)
			p++;
		while (n && is_ows((unsigned char)p[n - 1]))
			n--;
		if (n) {
			*e = p;
			*elen = n;
			return true;
		}
	}
	return false;
}

static bool list_has(const char *v, size_t len, const char *tok, size_t toklen)
{
	const char *e;
	size_t at = 0, elen;

	while (list_next(v, len, &at, &e, &elen))
		if (ci_eq(e, elen, tok, toklen))
			return true;
	return false;
}

void http_head_init(struct http_head *h, unsigned flags)
{
	*h = (struct http_head){ .flags = flags };
}

/* "HTTP/1.1" → 11; -1 when not HTTP-version syntax, 0 when a version we do not speak. */
static int parse_version(const char *p, size_t n)
{
	if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' || p[6] != '.' ||
	    p[7] < '0' || p[7] > '9')
		return -1;
	if (p[5] == '1' && (p[7] == '0' || p[7] == '1'))
		return 10 + p[7] - '0';
	return 0;
}

/* host [":" port] where host is a reg-name or "[" IPv6 "]"; no userinfo, no zone id. */
static int parse_authority(struct http_head *h, size_t off, size_t n, bool need_port)
{
	const char *a = h->base + off;
	size_t hs = 0, he, i;
	unsigned long port = 0;

	if (n == 0)
		return HTTP_E_TARGET;
	if (a[0] == '[') {
		for (i = 1; i < n && a[i] != ']'; i++)
			if (!strchr("0123456789abcdefABCDEF:.", a[i]))
				return HTTP_E_TARGET;
		if (i == n || i == 1)
			return HTTP_E_TARGET;
		hs = 1;
		he = i++;
	} else {
		for (i = 0; i < n && a[i] != ':'; i++)
			if (!isalnum((unsigned char)a[i]) && !strchr("-._~", a[i]))
				return HTTP_E_TARGET;
		if (i == 0)
			return HTTP_E_TARGET;
		he = i;
	}
	if (i < n) {
		if (a[i] != ':' || i + 1 == n || n - i - 1 > 5)
			return HTTP_E_TARGET;
		for (i++; i < n; i++) {
			if (a[i] < '0' || a[i] > '9')
				return HTTP_E_TARGET;
			port = port * 10 + (unsigned long)(a[i] - '0');
		}
		if (port == 0 || port > 65535)
			return HTTP_E_TARGET;
	} else if (need_port) {
		return HTTP_E_TARGET;
	} else {
		port = h->https ? 443 : 80;
	}
	h->host = slice(off + hs, he - hs);
	h->port = (uint16_t)port;
	return 0;
}

static int parse_target(struct http_head *h)
{
	const char *t = http_ptr(h, h->target);
	size_t n = h->target.len, s, e;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f || t[i] == '#')
			return HTTP_E_TARGET;
	if (http_method_is(h, "CONNECT")) {
		h->form = HTTP_FORM_AUTHORITY;
		return parse_authority(h, h->target.off, n, true);
	}
	if (t[0] == '/') {
		h->form = HTTP_FORM_ORIGIN;
		h->path = h->target;
		return 0;
	}
	if (n == 1 && t[0] == '*') {
		h->form = HTTP_FORM_ASTERISK;
		return http_method_is(h, "OPTIONS") ? 0 : HTTP_E_TARGET;
	}
	if (n > 7 && ci_eq(t, 7, "http://", 7)) {
		s = 7;
	} else if (n > 8 && ci_eq(t, 8, "https://", 8)) {
		s = 8;
		h->https = true;
	} else {
		return HTTP_E_TARGET;
	}
	h->form = HTTP_FORM_ABSOLUTE;
	for (e = s; e < n && t[e] != '/' && t[e] != '?'; e++)
		if (t[e] == '@')
			return HTTP_E_TARGET;
	h->path = slice(h->target.off + e, n - e);
	return parse_authority(h, h->target.off + s, e - s, false);
}

/* method SP request-target SP HTTP-version */
static int parse_request_line(struct http_head *h, size_t off, size_t n)
{
	const char *p = h->base + off;
	size_t m = 0, t;
	int v;

	while (m < n && is_tchar((unsigned char)p[m]))
		m++;
	if (m == 0 || m > HTTP_METHOD_MAX || (m < n && p[m] != ' '))
		return HTTP_E_METHOD;
	if (m == n)
		return HTTP_E_TARGET;
	for (t = m + 1; t < n && p[t] != ' '; t++)
		;
	if (t == m + 1)
		return HTTP_E_TARGET;
	if (t == n)
		return HTTP_E_VERSION;
	v = parse_version(p + t + 1, n - t - 1);
	if (v <= 0)
		return v < 0 ? HTTP_E_VERSION : HTTP_E_VERSION_UNSUPPORTED;
	h->version = v;
	h->method = slice(off, m);
	h->target = slice(off + m + 1, t - m - 1);
	return parse_target(h);
}

/* HTTP-version SP 3DIGIT SP [reason]; the last SP is often left out with the reason. */
static int parse_status_line(struct http_head *h, size_t off, size_t n)
{
	const char *p = h->base + off;
	int v = parse_version(p, n < 8 ? n : 8);

	if (v <= 0 || n < 12 || p[8] != ' ')
		return v == 0 ? HTTP_E_VERSION_UNSUPPORTED : HTTP_E_STATUS;
	for (size_t i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return HTTP_E_STATUS;
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (h->status < 100 || (n > 12 && p[12] != ' '))
		return HTTP_E_STATUS;
	for (size_t i = 13; i < n; i++)
		if (!is_field_char((unsigned char)p[i]))
			return HTTP_E_STATUS;
	h->version = v;
	h->reason = n > 12 ? slice(off + 13, n - 13) : slice(off + 12, 0);
	return 0;
}

static int parse_header_line(struct http_head *h, size_t off, size_t n)
{
	const char *p = h->base + off;
	size_t i = 0, vs, ve;

	if (is_ows((unsigned char)p[0]))
		return HTTP_E_OBS_FOLD;
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i == n)
		return HTTP_E_HEADER_NAME;
	if (p[i] != ':') {
		while (i < n && is_ows((unsigned char)p[i]))
			i++;
		return i < n && p[i] == ':' ? HTTP_E_HEADER_SPACE : HTTP_E_HEADER_NAME;
	}
	for (vs = i + 1; vs < n && is_ows((unsigned char)p[vs]); vs++)
		;
	for (ve = n; ve > vs && is_ows((unsigned char)p[ve - 1]); ve--)
		;
	for (size_t k = vs; k < ve; k++)
		if (!is_field_char((unsigned char)p[k]))
			return HTTP_E_HEADER_VALUE;
	if (h->nheaders == HTTP_HEADERS_MAX)
		return HTTP_E_TOO_MANY_HEADERS;
	h->headers[h->nheaders++] = (struct http_header){
		.name = slice(off, i),
		.value = slice(off + vs, ve - vs),
	};
	return 0;
}

/* 1*DIGIT, nothing else: lists ("5, 5"), signs and spaces are refused. */
static int parse_content_length(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0)
		return HTTP_E_CONTENT_LENGTH;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - 9) / 10)
			return HTTP_E_CONTENT_LENGTH;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

/*
 * Framing, the rules that stop request smuggling (RFC 9112 6.1-6.3): Content-Length
 * and Transfer-Encoding together are refused rather than resolved, since a server
 * behind us might resolve them the other way; a request's codings must be exactly
 * "chunked" (we relay chunked framing as it is and must agree with the next hop on
 * where the body ends).
 */
static int finish_head(struct http_head *h)
{
	bool response = h->flags & HTTP_F_RESPONSE;
	bool cl = false, te = false, last_chunked = false, conn_close = false, ka = false;
	unsigned hosts = 0, codings = 0, chunked = 0;
	uint64_t len = 0;
	int rc;

	for (unsigned i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];
		const char *v = http_ptr(h, f->value), *e;
		size_t at = 0, elen;

		if (slice_ci_is(h, f->name, "content-length")) {
			uint64_t x;

			rc = parse_content_length(v, f->value.len, &x);
			if (rc)
				return rc;
			if (cl && x != len)
				return HTTP_E_CL_CONFLICT;
			cl = true;
			len = x;
		} else if (slice_ci_is(h, f->name, "transfer-encoding")) {
			te = true;
			while (list_next(v, f->value.len, &at, &e, &elen)) {
				codings++;
				last_chunked = ci_is(e, elen, "chunked");
				chunked += last_chunked;
			}
		} else if (slice_ci_is(h, f->name, "host")) {
			hosts++;
		} else if (slice_ci_is(h, f->name, "connection")) {
			conn_close |= list_has(v, f->value.len, "close", 5);
			ka |= list_has(v, f->value.len, "keep-alive", 10);
		}
	}
	if (cl && te)
		return HTTP_E_CL_AND_TE;
	if (te && h->version == 10)
		return HTTP_E_TE_HTTP10;
	if (te && (chunked > 1 || (!response && !last_chunked)))
		return HTTP_E_TE_BAD;
	if (te && !response && codings > 1)
		return HTTP_E_TE_UNSUPPORTED;
	if (!response && (hosts > 1 || (hosts == 0 && h->version == 11)))
		return HTTP_E_HOST;

	if (response && ((h->flags & HTTP_F_HEAD) || h->status / 100 == 1 || h->status == 204 ||
			 h->status == 304))
		h->framing = HTTP_BODY_NONE;
	else if (te)
		h->framing = last_chunked ? HTTP_BODY_CHUNKED : HTTP_BODY_CLOSE;
	else if (cl)
		h->framing = HTTP_BODY_LENGTH;
	else
		h->framing = response ? HTTP_BODY_CLOSE : HTTP_BODY_NONE;
	h->content_length = h->framing == HTTP_BODY_LENGTH ? len : 0;
	h->keep_alive = !conn_close && (h->version == 11 || ka) && h->framing != HTTP_BODY_CLOSE;
	return 0;
}

static int head_line(struct http_head *h, size_t off, size_t n, size_t end)
{
	int rc;

	if (!h->in_headers) {
		if (n == 0)
			return 0;	/* empty lines before the start line are ignored */
		rc = h->flags & HTTP_F_RESPONSE ? parse_status_line(h, off, n)
						: parse_request_line(h, off, n);
		h->in_headers = true;
		return rc;
	}
	if (n > 0)
		return parse_header_line(h, off, n);
	h->head_len = (uint32_t)end;
	return finish_head(h);
}

int http_head_parse(struct http_head *h, const char *buf, size_t len)
{
	int rc = 0;

	if (h->error || h->head_len)
		return h->error ? h->error : (int)h->head_len;
	h->base = buf;
	for (size_t i = h->scan; i < len && !rc && !h->head_len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (i >= HTTP_HEAD_MAX)
			rc = HTTP_E_HEAD_TOO_LARGE;
		else if (!h->in_headers && c != '\r' && c != '\n' && i - h->pos >= HTTP_LINE_MAX)
			rc = HTTP_E_LINE_TOO_LONG;
		else if (c == '\0')
			rc = HTTP_E_NUL;
		else if (i > 0 && buf[i - 1] == '\r' && c != '\n')
			rc = HTTP_E_BARE_CR;
		else if (c == '\n' && (i == 0 || buf[i - 1] != '\r'))
			rc = HTTP_E_BARE_LF;
		else if (c == '\n') {
			rc = head_line(h, h->pos, i - 1 - h->pos, i + 1);
			h->pos = (uint32_t)(i + 1);
		}
		h->scan = (uint32_t)(i + 1);
	}
	h->error = rc;
	return rc ? rc : (int)h->head_len;
}

int http_header_next(const struct http_head *h, const char *name, unsigned from)
{
	for (unsigned i = from; i < h->nheaders; i++)
		if (slice_ci_is(h, h->headers[i].name, name))
			return (int)i;
	return -1;
}

const char *http_header_get(const struct http_head *h, const char *name, size_t *len)
{
	int i = http_header_next(h, name, 0);

	if (i < 0)
		return NULL;
	if (len)
		*len = h->headers[i].value.len;
	return http_ptr(h, h->headers[i].value);
}

bool http_method_is(const struct http_head *h, const char *m)
{
	return h->method.len == strlen(m) && memcmp(http_ptr(h, h->method), m, h->method.len) == 0;
}

const char *http_target_path_noquery(const struct http_head *h, size_t *len)
{
	const char *p = http_ptr(h, h->path), *q = memchr(p, '?', h->path.len);

	*len = q ? (size_t)(q - p) : h->path.len;
	if (h->flags & HTTP_F_RESPONSE || h->form == HTTP_FORM_AUTHORITY)
		*len = 0, p = "";
	else if (h->form == HTTP_FORM_ASTERISK || *len == 0)
		*len = 1, p = h->form == HTTP_FORM_ASTERISK ? "*" : "/";
	return p;
}

bool http_keep_alive(const struct http_head *h)
{
	return h->head_len && !h->error && h->keep_alive;
}

bool http_is_event_stream(const struct http_head *h)
{
	size_t n, e = 0;
	const char *v = http_header_get(h, "content-type", &n);

	if (!v)
		return false;
	while (e < n && v[e] != ';')
		e++;
	while (e > 0 && is_ows((unsigned char)v[e - 1]))
		e--;
	return ci_is(v, e, "text/event-stream");
}

/* ------------------------------------------------------------------ rewrite */

static const char *const hop_by_hop[] = {
	"connection", "keep-alive", "proxy-connection", "proxy-authorization",
	"proxy-authenticate", "te", "trailer", "upgrade",
};

/* Connection may not take these away: dropping them would change the message's framing. */
static const char *const never_nominated[] = { "content-length", "transfer-encoding", "host" };

static bool name_in(const char *n, size_t len, const char *const *names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (ci_is(n, len, names[i]))
			return true;
	return false;
}

static bool nominated(const struct http_head *h, const char *n, size_t len)
{
	if (name_in(n, len, never_nominated, ARRAY_SIZE(never_nominated)))
		return false;
	for (int i = http_header_next(h, "connection", 0); i >= 0;
	     i = http_header_next(h, "connection", (unsigned)i + 1)) {
		const struct http_header *f = &h->headers[i];

		if (list_has(http_ptr(h, f->value), f->value.len, n, len))
			return true;
	}
	return false;
}

static bool keep_header(const struct http_head *h, const struct http_rewrite *rw, unsigned i,
			bool *seen_cl)
{
	const struct http_header *f = &h->headers[i];
	const char *n = http_ptr(h, f->name);
	size_t len = f->name.len;

	if (name_in(n, len, hop_by_hop, ARRAY_SIZE(hop_by_hop)) ||
	    (rw->remove && name_in(n, len, rw->remove, rw->nremove)) ||
	    (rw->host && ci_is(n, len, "host")) || nominated(h, n, len))
		return false;
	if (ci_is(n, len, "transfer-encoding"))
		return !rw->reframe;
	if (ci_is(n, len, "content-length")) {
		/* repeats carry the same value (checked at parse): send one */
		if (rw->reframe || *seen_cl)
			return false;
		*seen_cl = true;
	}
	return true;
}

static bool safe_name(const char *s)
{
	size_t i = 0;

	while (is_tchar((unsigned char)s[i]))
		i++;
	return i > 0 && s[i] == '\0';
}

static void put(struct buf *out, const char *s, size_t n, int *rc)
{
	if (!*rc && buf_append(out, s, n) < 0)
		*rc = -ENOMEM;
}

static void put_field(struct buf *out, const char *n, size_t nlen, const char *v, size_t vlen,
		      int *rc)
{
	put(out, n, nlen, rc);
	put(out, ": ", 2, rc);
	put(out, v, vlen, rc);
	put(out, "\r\n", 2, rc);
}

int http_head_rewrite(const struct http_head *h, const struct http_rewrite *rw, struct buf *out)
{
	size_t start = out->len, need = h->head_len + 4 * (size_t)h->nheaders + 64;
	const char *target = http_ptr(h, h->target);
	size_t tlen = h->target.len;
	bool seen_cl = false, slash = false;
	int rc = 0;

	if (!h->head_len || h->error)
		return -EINVAL;
	if ((rw->target && (!*rw->target || strpbrk(rw->target, " \r\n"))) ||
	    (rw->host && strpbrk(rw->host, "\r\n")))
		return -EINVAL;
	for (size_t i = 0; i < rw->nadd; i++) {
		if (!safe_name(rw->add[i].name) || strpbrk(rw->add[i].value, "\r\n"))
			return -EINVAL;
		need += strlen(rw->add[i].name) + strlen(rw->add[i].value) + 4;
	}
	if (rw->target) {
		target = rw->target;
		tlen = strlen(target);
	} else if (h->form == HTTP_FORM_ABSOLUTE) {
		/* origin-form: http://h?q goes out as /?q */
		target = http_ptr(h, h->path);
		tlen = h->path.len;
		slash = !tlen || target[0] != '/';
	}
	need += tlen + 1 + (rw->host ? strlen(rw->host) + 8 : 0);
	/* One allocation up front: a realloc would leave copies of added secrets behind. */
	if (!buf_reserve(out, need))
		return -ENOMEM;

	if (h->flags & HTTP_F_RESPONSE) {
		char code[4] = { (char)('0' + h->status / 100), (char)('0' + h->status / 10 % 10),
				 (char)('0' + h->status % 10), ' ' };

		put(out, "HTTP/1.1 ", 9, &rc);
		put(out, code, 4, &rc);
		put(out, http_ptr(h, h->reason), h->reason.len, &rc);
	} else {
		put(out, http_ptr(h, h->method), h->method.len, &rc);
		put(out, slash ? " /" : " ", slash ? 2 : 1, &rc);
		put(out, target, tlen, &rc);
		put(out, " HTTP/1.1", 9, &rc);
	}
	put(out, "\r\n", 2, &rc);
	if (rw->host)
		put_field(out, "Host", 4, rw->host, strlen(rw->host), &rc);
	for (unsigned i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];

		if (keep_header(h, rw, i, &seen_cl))
			put_field(out, http_ptr(h, f->name), f->name.len, http_ptr(h, f->value),
				  f->value.len, &rc);
	}
	for (size_t i = 0; i < rw->nadd; i++)
		put_field(out, rw->add[i].name, strlen(rw->add[i].name), rw->add[i].value,
			  strlen(rw->add[i].value), &rc);
	put(out, "\r\n", 2, &rc);
	if (rc)
		out->len = start;
	return rc;
}
