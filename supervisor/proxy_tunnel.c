/*
 * proxy_tunnel: CONNECT and absolute-form requests. Only with the session's token in
 * Proxy-Authorization, only to the service's allowlisted hosts and ports; names are resolved
 * here, every answer is checked (loopback, private, link-local, metadata... refused unless an
 * address entry allows them) and the connection goes to the address that was checked.
 */
#include <errno.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy_internal.h"

#define AUTH_MAX 512 /* Proxy-Authorization value bytes looked at */

/* "Basic base64(user:TOKEN)" (any user) or "Bearer TOKEN". */
static bool proxy_auth_ok(const struct http_head *h, const struct token *t)
{
	unsigned char raw[AUTH_MAX];
	const char *v, *colon;
	size_t len;
	int n;
	bool ok;

	v = http_header_get(h, "proxy-authorization", &len);
	if (!v || len >= AUTH_MAX)
		return false;
	if (len > 7 && strncasecmp(v, "Bearer ", 7) == 0)
		return token_equal(v + 7, len - 7, t);
	if (len <= 6 || strncasecmp(v, "Basic ", 6) != 0 || (len - 6) % 4 != 0)
		return false;
	n = EVP_DecodeBlock(raw, (const unsigned char *)v + 6, (int)(len - 6));
	if (n < 0)
		return false;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	for (size_t i = len; i > 6 && v[i - 1] == '='; i--)
		n--;
	colon = memchr(raw, ':', (size_t)n);
	ok = colon && token_equal(colon + 1, (size_t)n - (size_t)(colon + 1 - (char *)raw), t);
	explicit_bzero(raw, sizeof(raw));
	return ok;
}

static void tunnel_up_data(struct upstream_conn *uc, const char *data, size_t len)
{
	struct proxy_conn *c = ((struct up_link *)uc)->c;

	if (!c || c->state != CONN_TUNNEL)
		return;
	proxy__timer(c, c->pl->px->limits.stream_ms);
	if (proxy__write(c, data, len) < 0) {
		proxy__audit(c, AUDIT_ALLOW, "tunnel closed: the client went away");
		proxy__conn_close(c);
		return;
	}
	c->bytes_out += len;
}

static void tunnel_up_eof(struct upstream_conn *uc)
{
	struct proxy_conn *c = ((struct up_link *)uc)->c;

	if (c && c->state == CONN_TUNNEL)
		proxy__finish(c, false, "tunnel closed by the upstream");
}

static void tunnel_up_error(struct upstream_conn *uc, int status, const char *err)
{
	struct proxy_conn *c = ((struct up_link *)uc)->c;

	if (!c || c->state != CONN_TUNNEL)
		return;
	proxy__audit(c, AUDIT_ERROR, err ? err : uv_strerror(status));
	proxy__conn_close(c);
}

void proxy__tunnel_data(struct proxy_conn *c)
{
	proxy__timer(c, c->pl->px->limits.stream_ms);
	if (c->in.len > 0) {
		if (proxy__up_send(c, c->in.data, c->in.len, 0, false, false) < 0) {
			proxy__audit(c, AUDIT_ERROR, "cannot write to the upstream");
			proxy__conn_close(c);
			return;
		}
		c->bytes_in += c->in.len;
		c->in.len = 0;
	}
	proxy__update_read(c);
}

void proxy__tunnel_eof(struct proxy_conn *c)
{
	proxy__audit(c, AUDIT_ALLOW, "tunnel closed by the client");
	proxy__conn_close(c);
}

static void tunnel_ready(struct upstream_conn *uc, int status, const char *err)
{
	static const char established[] = "HTTP/1.1 200 Connection Established\r\n\r\n";
	struct proxy_conn *c = ((struct up_link *)uc)->c;

	if (!c || c->state != CONN_CONNECT)
		return;
	if (status < 0) {
		proxy__reply(c, 502, err ? err : uv_strerror(status), AUDIT_ERROR);
		return;
	}
	uc->on_data = tunnel_up_data;
	uc->on_eof = tunnel_up_eof;
	uc->on_error = tunnel_up_error;
	if (proxy__write(c, established, sizeof(established) - 1) < 0 ||
	    upstream_read_start(uc) < 0) {
		proxy__reply(c, 502, "cannot start the tunnel", AUDIT_ERROR);
		return;
	}
	c->state = CONN_TUNNEL;
	c->status = 200;
	c->resp_started = true;
	c->bytes_out += sizeof(established) - 1;
	c->keep_alive = false;
	proxy__tunnel_data(c); /* what the client sent early */
}

/* The host passed its checks and c->x->to.addr holds the checked address: go. */
static void go(struct proxy_conn *c, size_t hlen)
{
	char msg[512];
	int r;

	c->x->to.checked = true;
	if (c->kind == AUDIT_KIND_ABSOLUTE) {
		proxy__forward(c, hlen, NULL, NULL, NULL);
		return;
	}
	buf_consume(&c->in, hlen);
	r = proxy__up_connect(c, (const struct sockaddr *)&c->x->to.addr, tunnel_ready);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "'%s': cannot connect: %s", c->x->to.host, uv_strerror(r));
		proxy__reply(c, 502, msg, AUDIT_ERROR);
	}
}

static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct proxy_conn *c = req->data;
	const struct addrinfo *pick = NULL;
	char why[HOSTRULES_WHY_MAX], msg[HOSTRULES_WHY_MAX + 300];

	if (!proxy__resolved(c, status, res))
		return;
	/* Every answer must pass: a name that also resolves to 127.0.0.1 is refused. */
	for (const struct addrinfo *a = res; a; a = a->ai_next) {
		if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
			continue;
		if (hostrules_addr_denied(a->ai_addr, c->s->allow, why, sizeof(why))) {
			snprintf(msg, sizeof(msg), "'%s' %s: not allowed", c->x->to.host, why);
			uv_freeaddrinfo(res);
			proxy__reply(c, 403, msg, AUDIT_DENY);
			return;
		}
		if (!pick || (pick->ai_family == AF_INET6 && a->ai_family == AF_INET))
			pick = a;
	}
	if (!pick) {
		uv_freeaddrinfo(res);
		snprintf(msg, sizeof(msg), "'%s': no IPv4 or IPv6 address", c->x->to.host);
		proxy__reply(c, 502, msg, AUDIT_ERROR);
		return;
	}
	memcpy(&c->x->to.addr, pick->ai_addr, pick->ai_addrlen);
	uv_freeaddrinfo(res);
	go(c, c->x->req.head_len);
}

void proxy__proxy_request(struct proxy_conn *c, size_t hlen)
{
	const struct proxy_listener *pl = c->pl;
	const struct proxy_session *s = NULL;
	const struct http_head *req = &c->x->req;
	char raw[HOSTRULES_INPUT_MAX + 1], why[HOSTRULES_WHY_MAX], msg[HOSTRULES_WHY_MAX + 300];
	socklen_t salen;
	const char *p;
	size_t len;
	int kind, r;

	c->kind = req->form == HTTP_FORM_AUTHORITY ? AUDIT_KIND_CONNECT : AUDIT_KIND_ABSOLUTE;
	p = http_target_path_noquery(req, &len);
	len = len < AUDIT_PATH_MAX ? len : AUDIT_PATH_MAX;
	memcpy(c->x->path, p, len);
	c->x->path[len] = '\0';
	if (req->form == HTTP_FORM_ASTERISK) {
		proxy__reply(c, 400, "request target '*' is not forwarded", AUDIT_DENY);
		return;
	}
	/* A service's listener serves its session; the shared one, whichever the token names. */
	if (!pl->shared && proxy_auth_ok(req, &pl->session->token))
		s = pl->session;
	for (size_t i = 0; pl->shared && !s && i < pl->px->nsessions; i++)
		if (proxy_auth_ok(req, &pl->px->sessions[i]->token))
			s = pl->px->sessions[i];
	if (!s) {
		proxy__reply(c, 407, "missing or invalid proxy token in Proxy-Authorization",
			     AUDIT_DENY);
		return;
	}
	c->s = s;
	if (c->kind == AUDIT_KIND_ABSOLUTE && req->https) {
		proxy__reply(c, 400, "https:// in absolute form is not forwarded: use CONNECT",
			     AUDIT_DENY);
		return;
	}
	if (req->host.len > HOSTRULES_INPUT_MAX) {
		proxy__reply(c, 400, "bad host", AUDIT_DENY);
		return;
	}
	memcpy(raw, http_ptr(req, req->host), req->host.len);
	raw[req->host.len] = '\0';
	if (strchr(raw, ':') && snprintf(msg, sizeof(msg), "[%s]", raw) < (int)sizeof(msg))
		snprintf(raw, sizeof(raw), "%s", msg); /* the parser gives IPv6 without [ ] */
	kind = hostrules_normalize(raw, c->x->to.host, sizeof(c->x->to.host), why, sizeof(why));
	explicit_bzero(raw, sizeof(raw));
	if (kind < 0) {
		snprintf(msg, sizeof(msg), "bad host: %s", why);
		proxy__reply(c, 400, msg, AUDIT_DENY);
		return;
	}
	c->x->to.port = req->port;
	r = s->allow ? hostrules_check(s->allow, c->x->to.host, c->x->to.port, why, sizeof(why))
		     : (snprintf(why, sizeof(why), "service '%s' allowlists no hosts",
				 s->service),
			-EACCES);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "'%s' port %u: %s", c->x->to.host, c->x->to.port, why);
		proxy__reply(c, r == -EACCES ? 403 : 400, msg, AUDIT_DENY);
		return;
	}
	if (kind != HOSTRULES_NAME) {
		r = hostrules_sockaddr(c->x->to.host, c->x->to.port, &c->x->to.addr, &salen);
		if (r == 0 && hostrules_addr_denied((struct sockaddr *)&c->x->to.addr, s->allow, why,
						    sizeof(why))) {
			snprintf(msg, sizeof(msg), "'%s' is %s: not allowed", c->x->to.host, why);
			proxy__reply(c, 403, msg, AUDIT_DENY);
			return;
		}
		if (r < 0) {
			proxy__reply(c, 400, "bad host address", AUDIT_DENY);
			return;
		}
		go(c, hlen);
		return;
	}
	proxy__resolve(c, gai_cb);
}
