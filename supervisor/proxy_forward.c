/*
 * proxy_forward: HTTP requests the proxy forwards: reverse routes (the phantom token checked
 * and swapped for the real key) and checked absolute-form requests. Bodies are streamed both
 * ways, responses unbuffered (SSE), upstream connections reused through the pool.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy_internal.h"

static void wblock_free(struct wblock *b)
{
	if (b->secret)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	free(b);
}

static void up_closed_cb(struct upstream_conn *uc)
{
	struct up_link *w = (struct up_link *)uc;

	while (w->head) {
		struct wblock *b = w->head;

		w->head = b->next;
		wblock_free(b);
	}
	free(w);
}

/*
 * Let the upstream go. reuse: the exchange ended cleanly and both sides allow another
 * one, so the pool may keep it; otherwise it closes on its own and frees itself.
 */
void proxy__up_detach(struct proxy_conn *c, bool reuse)
{
	struct up_link *w = c->up;

	if (!w)
		return;
	c->up = NULL;
	c->up_paused = false;
	w->c = NULL;
	if (reuse && c->state == CONN_FORWARD && c->resp_done && c->req_done && !w->head &&
	    c->x && c->x->resp.keep_alive && c->respb.framing != HTTP_BODY_CLOSE &&
	    !c->pl->px->closing) {
		upstream_read_stop(&w->uc);
		upstream_pool_put(&c->pl->px->pool, &w->uc);
		return;
	}
	upstream_close(&w->uc, up_closed_cb);
}

static void up_write_cb(struct upstream_conn *uc, int status)
{
	struct up_link *w = (struct up_link *)uc;
	struct wblock *b = w->head;
	struct proxy_conn *c = w->c;

	if (b) {
		w->head = b->next;
		if (!w->head)
			w->tail = NULL;
		w->inflight -= b->len;
		wblock_free(b);
	}
	if (!c || status == UV_ECANCELED)
		return;
	if (status < 0) {
		proxy__reply(c, 502, uc->err[0] ? uc->err : "upstream write failed", AUDIT_ERROR);
		return;
	}
	if (c->state == CONN_FORWARD || c->state == CONN_TUNNEL)
		proxy__update_read(c);
}

/* Send data (taken over when owned, else copied) to the upstream. */
int proxy__up_send(struct proxy_conn *c, char *data, size_t len, size_t cap, bool owned,
		   bool secret)
{
	struct up_link *w = c->up;
	struct wblock *b = calloc(1, sizeof(*b));
	uv_buf_t ub;
	int r;

	if (b && !owned) {
		b->data = malloc(len);
		if (b->data)
			memcpy(b->data, data, len);
		cap = len;
	} else if (b) {
		b->data = data;
	}
	if (!b || !b->data) {
		if (owned && secret && data)
			explicit_bzero(data, cap);
		if (owned)
			free(data);
		free(b);
		return -ENOMEM;
	}
	b->len = len;
	b->cap = cap;
	b->secret = secret;
	if (w->tail)
		w->tail->next = b;
	else
		w->head = b;
	w->tail = b;
	w->inflight += len;
	ub = uv_buf_init(b->data, (unsigned)len);
	r = upstream_write(&w->uc, &ub, 1, up_write_cb);
	if (r < 0) {
		/* Not queued: it is the last block. */
		struct wblock **pp = &w->head;

		while (*pp != b)
			pp = &(*pp)->next;
		*pp = NULL;
		w->tail = w->head;
		while (w->tail && w->tail->next)
			w->tail = w->tail->next;
		w->inflight -= len;
		wblock_free(b);
	}
	return r;
}

static void finish(struct proxy_conn *c)
{
	proxy__finish(c, c->keep_alive && c->req_done && !c->peer_eof &&
			     c->respb.framing != HTTP_BODY_CLOSE,
		      "forwarded");
}

/* Feed buffered client bytes to the request body; the rest is the next request. */
void proxy__forward_body(struct proxy_conn *c)
{
	ssize_t n;

	if (c->req_done || !c->up)
		return;
	if (!http_body_done(&c->reqb) && c->in.len > 0) {
		n = http_body_feed(&c->reqb, c->in.data, c->in.len, NULL, NULL);
		if (n < 0) {
			char msg[128];

			if (http_error_status((int)n) == 413)
				snprintf(msg, sizeof(msg), "proxy limit max_body (%llu bytes) exceeded",
					 (unsigned long long)c->pl->px->limits.body_bytes);
			proxy__reply(c, http_error_status((int)n),
				     http_error_status((int)n) == 413 ? msg
								      : http_error_reason((int)n),
				     AUDIT_DENY);
			return;
		}
		if (n > 0 && proxy__up_send(c, c->in.data, (size_t)n, 0, false, false) < 0) {
			proxy__reply(c, 502, "out of memory", AUDIT_ERROR);
			return;
		}
		c->bytes_in += (uint64_t)n;
		buf_consume(&c->in, (size_t)n);
	}
	if (http_body_done(&c->reqb)) {
		c->req_done = true;
		if (c->resp_done)
			finish(c);
	}
}

/*
 * Response body bytes to the client. head (the response head, or NULL) goes first, in the
 * same write: one segment for a small response instead of a head waiting for an ACK.
 */
static void relay(struct proxy_conn *c, struct buf *head, const char *data, size_t len)
{
	ssize_t n = http_body_feed(&c->respb, data, len, NULL, NULL);
	const char *why = NULL;

	if (n < 0)
		why = "bad body framing from the upstream";
	else if (head && n > 0 && buf_append(head, data, (size_t)n) < 0)
		why = "out of memory";
	if (!why && head) {
		data = head->data;
		n = (ssize_t)head->len;
	}
	if (!why && n > 0 && proxy__write(c, data, (size_t)n) < 0)
		why = "the client went away";
	if (head)
		buf_free(head);
	if (why) {
		proxy__audit(c, AUDIT_ERROR, why);
		proxy__conn_close(c);
		return;
	}
	c->bytes_out += (uint64_t)n;
	if (http_body_done(&c->respb)) {
		c->resp_done = true;
		if (!c->req_done)
			c->keep_alive = false; /* the rest of the request body is not read */
		finish(c);
	}
}

/* The response head is complete at rhead[0..hlen): send it on, with what follows. */
static void resp_head(struct proxy_conn *c, size_t hlen)
{
	static const struct http_field close_field[] = {{"Connection", "close"}};
	struct http_head *resp = &c->x->resp;
	struct buf out = {0};
	struct http_rewrite rw = {0};
	bool closing = !c->keep_alive || resp->framing == HTTP_BODY_CLOSE;
	int r;

	if (resp->status == 101) {
		proxy__reply(c, 502, "the upstream switched protocols: not supported", AUDIT_ERROR);
		return;
	}
	if (resp->status >= 200 && closing) {
		rw.add = close_field;
		rw.nadd = 1;
	}
	r = http_head_rewrite(resp, &rw, &out);
	if (r < 0) {
		buf_free(&out);
		proxy__reply(c, 502, "cannot forward the response head", AUDIT_ERROR);
		return;
	}
	if (resp->status < 200) {
		/* 1xx: the real response follows. */
		r = proxy__write(c, out.data, out.len);
		c->bytes_out += out.len;
		buf_free(&out);
		if (r < 0) {
			proxy__reply(c, 502, "cannot forward the response head", AUDIT_ERROR);
			return;
		}
		buf_consume(&c->rhead, hlen);
		http_head_init(resp, c->is_head ? HTTP_F_RESPONSE | HTTP_F_HEAD : HTTP_F_RESPONSE);
		return;
	}
	c->status = resp->status;
	c->resp_started = true;
	if (closing)
		c->keep_alive = false;
	r = http_body_init(&c->respb, resp, UINT64_MAX, false);
	if (r < 0) {
		buf_free(&out);
		proxy__audit(c, AUDIT_ERROR, http_error_reason(r));
		proxy__conn_close(c);
		return;
	}
	relay(c, &out, c->rhead.data + hlen, c->rhead.len - hlen);
}

static void up_data(struct upstream_conn *uc, const char *data, size_t len)
{
	struct proxy_conn *c = ((struct up_link *)uc)->c;
	char msg[512];
	int r;

	if (!c || c->state != CONN_FORWARD)
		return;
	proxy__timer(c, c->pl->px->limits.stream_ms);
	if (c->resp_started) {
		relay(c, NULL, data, len);
		return;
	}
	if (c->rhead.len + len > HTTP_HEAD_MAX + UPSTREAM_READ_MAX ||
	    buf_append(&c->rhead, data, len) < 0) {
		proxy__reply(c, 502, "the upstream's response head is too large", AUDIT_ERROR);
		return;
	}
	while (c->state == CONN_FORWARD && c->up && !c->resp_started) {
		r = http_head_parse(&c->x->resp, c->rhead.data, c->rhead.len);
		if (r == 0)
			return;
		if (r < 0) {
			snprintf(msg, sizeof(msg), "upstream '%s' sent a bad response head: %s",
				 c->x->to.host, http_error_reason(r));
			proxy__reply(c, 502, msg, AUDIT_ERROR);
			return;
		}
		resp_head(c, (size_t)r);
	}
}

static void up_eof(struct upstream_conn *uc)
{
	struct proxy_conn *c = ((struct up_link *)uc)->c;
	char msg[512];

	if (!c || c->state != CONN_FORWARD)
		return;
	if (!c->resp_started) {
		snprintf(msg, sizeof(msg), "upstream '%s' closed the connection before responding%s",
			 c->x->to.host, c->up_reused ? " (a reused connection)" : "");
		proxy__reply(c, 502, msg, AUDIT_ERROR);
		return;
	}
	if (http_body_eof(&c->respb) < 0) {
		proxy__audit(c, AUDIT_ERROR, "the upstream's response was cut short");
		proxy__conn_close(c);
		return;
	}
	c->resp_done = true;
	c->keep_alive = false;
	finish(c);
}

static void up_error(struct upstream_conn *uc, int status, const char *err)
{
	struct proxy_conn *c = ((struct up_link *)uc)->c;

	if (c)
		proxy__reply(c, 502, err ? err : uv_strerror(status), AUDIT_ERROR);
}

/*
 * The body bytes already received go in the head's write (one TLS record, one segment).
 * The head holds the real key: it is copied, never realloc'd, and the old copy wiped.
 */
static int with_body(struct proxy_conn *c, struct buf *h)
{
	ssize_t n;
	char *d;

	if (http_body_done(&c->reqb) || c->in.len == 0)
		return 0;
	n = http_body_feed(&c->reqb, c->in.data, c->in.len, NULL, NULL);
	if (n <= 0)
		return 0; /* an error is proxy__forward_body's to report */
	d = malloc(h->len + (size_t)n);
	if (!d)
		return -ENOMEM;
	memcpy(d, h->data, h->len);
	memcpy(d + h->len, c->in.data, (size_t)n);
	explicit_bzero(h->data, h->cap);
	free(h->data);
	h->data = d;
	h->len += (size_t)n;
	h->cap = h->len;
	c->bytes_in += (uint64_t)n;
	buf_consume(&c->in, (size_t)n);
	return 0;
}

static void up_ready(struct upstream_conn *uc, int status, const char *err)
{
	struct proxy_conn *c = ((struct up_link *)uc)->c;
	struct buf h;

	if (!c || c->state != CONN_CONNECT)
		return;
	if (status < 0) {
		proxy__reply(c, 502, err ? err : uv_strerror(status), AUDIT_ERROR);
		return;
	}
	c->state = CONN_FORWARD;
	proxy__timer(c, c->pl->px->limits.stream_ms);
	uc->on_data = up_data;
	uc->on_eof = up_eof;
	uc->on_error = up_error;
	h = c->uhead;
	c->uhead = (struct buf){0};
	if (with_body(c, &h) < 0) {
		buf_wipe_free(&h);
		proxy__reply(c, 502, "out of memory", AUDIT_ERROR);
		return;
	}
	if (proxy__up_send(c, h.data, h.len, h.cap, true, true) < 0 ||
	    upstream_read_start(uc) < 0) {
		proxy__reply(c, 502, uc->err[0] ? uc->err : "cannot write to the upstream",
			     AUDIT_ERROR);
		return;
	}
	proxy__forward_body(c);
	if (c->state == CONN_FORWARD)
		proxy__update_read(c);
}

int proxy__up_connect(struct proxy_conn *c, const struct sockaddr *sa, upstream_cb ready)
{
	struct up_link *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->c = c;
	r = upstream_connect(&w->uc, c->tcp.loop, sa, c->x->to.host, c->x->to.tls, c->x->to.ctx,
			     c->pl->px->limits.connect_ms, ready, w);
	if (r < 0) {
		free(w);
		return r;
	}
	c->up = w;
	c->state = CONN_CONNECT;
	proxy__timer(c, c->pl->px->limits.connect_ms);
	proxy__update_read(c);
	return 0;
}

static void connect_to(struct proxy_conn *c, const struct sockaddr *sa)
{
	char msg[512];
	int r = proxy__up_connect(c, sa, up_ready);

	if (r < 0) {
		snprintf(msg, sizeof(msg), "upstream '%s': cannot connect: %s", c->x->to.host,
			 uv_strerror(r));
		proxy__reply(c, 502, msg, AUDIT_ERROR);
	}
}

void proxy__resolve(struct proxy_conn *c, uv_getaddrinfo_cb cb)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	char port[8], msg[512];
	int r;

	snprintf(port, sizeof(port), "%u", c->x->to.port);
	r = uv_getaddrinfo(c->tcp.loop, &c->gai, cb, c->x->to.host, port, &hints);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "'%s': cannot resolve: %s", c->x->to.host, uv_strerror(r));
		proxy__reply(c, 502, msg, AUDIT_ERROR);
		return;
	}
	c->handles++;
	c->state = CONN_RESOLVE;
	proxy__update_read(c);
	proxy__timer(c, c->pl->px->limits.connect_ms);
}

bool proxy__resolved(struct proxy_conn *c, int status, struct addrinfo *res)
{
	char msg[512];

	if (c->state != CONN_RESOLVE) { /* cancelled: c waited for us */
		uv_freeaddrinfo(res);
		proxy__conn_unref(c);
		return false;
	}
	c->handles--;
	if (status < 0 || !res) {
		snprintf(msg, sizeof(msg), "'%s': cannot resolve: %s", c->x->to.host,
			 uv_strerror(status));
		uv_freeaddrinfo(res);
		proxy__reply(c, 502, msg, AUDIT_ERROR);
		return false;
	}
	return true;
}

static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct proxy_conn *c = req->data;

	if (!proxy__resolved(c, status, res))
		return;
	connect_to(c, res->ai_addr);
	uv_freeaddrinfo(res);
}

/* An idle pooled connection to the same upstream, made ready for this request. */
static bool reuse(struct proxy_conn *c)
{
	struct upstream_conn *uc = upstream_pool_get(&c->pl->px->pool, c->x->to.host, c->x->to.port,
						     c->x->to.tls, c->x->to.ctx);

	if (!uc)
		return false;
	c->up = (struct up_link *)uc; /* the pool only holds up_links */
	c->up->c = c;
	c->up_reused = true;
	c->state = CONN_CONNECT;
	up_ready(uc, 0, NULL);
	return true;
}

void proxy__forward(struct proxy_conn *c, size_t hlen, const char *target, const char *secret_hdr,
		    const char *secret_val)
{
	const char *remove[7] = {"authorization", "x-api-key", "x-goog-api-key", "api-key",
				 "proxy-authorization"};
	struct http_rewrite rw = {.target = target};
	struct http_field add = {secret_hdr, secret_val};
	const struct route *rt = c->cred ? c->cred->route : NULL;
	char host[HOSTRULES_HOST_MAX + 16], msg[512];
	bool v6 = strchr(c->x->to.host, ':') && c->x->to.host[0] != '[';
	int r;

	r = http_body_init(&c->reqb, &c->x->req, c->pl->px->limits.body_bytes, false);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "proxy limit max_body (%llu bytes) exceeded",
			 (unsigned long long)c->pl->px->limits.body_bytes);
		proxy__reply(c, http_error_status(r),
			     http_error_status(r) == 413 ? msg : http_error_reason(r), AUDIT_DENY);
		return;
	}
	if (rt) {
		/* A route: every place a phantom may be goes; the real key comes in its own. */
		rw.remove = remove;
		rw.nremove = 5;
		if (rt->header[0])
			remove[rw.nremove++] = rt->header;
		if (rt->accept_header[0])
			remove[rw.nremove++] = rt->accept_header;
		rw.add = &add;
		rw.nadd = 1;
	}
	if ((c->x->to.tls && c->x->to.port == 443) || (!c->x->to.tls && c->x->to.port == 80))
		snprintf(host, sizeof(host), v6 ? "[%s]" : "%s", c->x->to.host);
	else
		snprintf(host, sizeof(host), v6 ? "[%s]:%u" : "%s:%u", c->x->to.host, c->x->to.port);
	rw.host = host;
	buf_wipe_free(&c->uhead);
	r = http_head_rewrite(&c->x->req, &rw, &c->uhead);
	if (r < 0) {
		proxy__reply(c, 502,
			     r == -ENOMEM ? "out of memory" : "cannot build the upstream request",
			     AUDIT_ERROR);
		return;
	}
	buf_consume(&c->in, hlen);
	http_head_init(&c->x->resp, c->is_head ? HTTP_F_RESPONSE | HTTP_F_HEAD : HTTP_F_RESPONSE);
	if (reuse(c))
		return;
	if (c->x->to.checked) {
		connect_to(c, (const struct sockaddr *)&c->x->to.addr);
		return;
	}
	proxy__resolve(c, gai_cb);
}

void proxy__forward_timeout(struct proxy_conn *c)
{
	const struct proxy_limits *l = &c->pl->px->limits;
	char msg[512];

	if ((c->state == CONN_FORWARD && c->resp_started) || c->state == CONN_TUNNEL) {
		snprintf(msg, sizeof(msg), "proxy limit stream_timeout (%llu ms): no data",
			 (unsigned long long)l->stream_ms);
		proxy__audit(c, AUDIT_ERROR, msg);
		proxy__conn_close(c);
		return;
	}
	if (c->state == CONN_FORWARD)
		snprintf(msg, sizeof(msg),
			 "proxy limit stream_timeout (%llu ms): upstream '%.*s' sent no response",
			 (unsigned long long)l->stream_ms, 200, c->x->to.host);
	else
		snprintf(msg, sizeof(msg),
			 "proxy limit connect_timeout (%llu ms): upstream '%.*s' not connected",
			 (unsigned long long)l->connect_ms, 200, c->x->to.host);
	proxy__reply(c, 504, msg, AUDIT_ERROR);
}

/* value is fmt with {} the candidate: strip the rest and compare in constant time. */
static bool phantom_in(const char *v, size_t vlen, const char *fmt, const struct token *t)
{
	const char *br = strstr(fmt, "{}");
	size_t pre, suf;

	if (!br)
		return false;
	pre = (size_t)(br - fmt);
	suf = strlen(br + 2);
	if (vlen < pre + suf || strncasecmp(v, fmt, pre) != 0 ||
	    memcmp(v + vlen - suf, br + 2, suf) != 0)
		return false;
	return token_equal(v + pre, vlen - pre - suf, t);
}

static bool phantom_ok(const struct http_head *h, const struct route *rt, const struct token *t)
{
	const struct http_field where[] = {
	    {"authorization", "Bearer {}"}, {"x-api-key", "{}"},
	    {"x-goog-api-key", "{}"},	    {"api-key", "{}"},
	    {rt->header, rt->format},	    {rt->accept_header, rt->accept_format},
	};
	bool ok = false;

	for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
		if (!where[i].name[0])
			continue;
		for (int k = http_header_next(h, where[i].name, 0); k >= 0;
		     k = http_header_next(h, where[i].name, (unsigned)k + 1)) {
			const struct http_header *f = &h->headers[k];

			if (phantom_in(http_ptr(h, f->value), f->value.len, where[i].value, t))
				ok = true;
		}
	}
	return ok;
}

/* The route's header value: its format with the real key for {}. Wipe and free it. */
static char *secret_value(const struct proxy_credential *cr)
{
	const char *fmt = cr->route->format, *br = strstr(fmt, "{}");
	size_t pre, suf;
	char *v;

	if (!br)
		return NULL;
	pre = (size_t)(br - fmt);
	suf = strlen(br + 2);
	v = malloc(pre + cr->secret_len + suf + 1);
	if (!v)
		return NULL;
	memcpy(v, fmt, pre);
	memcpy(v + pre, cr->secret, cr->secret_len);
	memcpy(v + pre + cr->secret_len, br + 2, suf + 1);
	return v;
}

/*
 * The credential of session s whose route the request's path selects: 0 with *cred, *rt and
 * upath (the upstream target) set, or -ENOENT (no route), or another negative errno.
 */
static int route_of(const struct proxy_session *s, const struct http_head *req,
		    const struct proxy_credential **cred, const struct route **rt, char *upath,
		    size_t len)
{
	int r = -ENOENT;

	for (size_t i = 0; i < s->n_creds && r == -ENOENT; i++) {
		const struct route *cand = s->creds[i].route;

		r = routes_match_path(&cand, 1, http_ptr(req, req->target), req->target.len, rt,
				      upath, len);
		if (r >= 0)
			*cred = &s->creds[i];
	}
	return r < 0 ? r : 0;
}

/* The shared listener: the live session whose phantom token the request carries, or NULL. */
static const struct proxy_session *claim(const struct proxy *px, const struct http_head *req)
{
	for (size_t i = 0; i < px->nsessions; i++)
		for (size_t k = 0; k < px->sessions[i]->n_creds; k++)
			if (phantom_ok(req, px->sessions[i]->creds[k].route, &px->sessions[i]->token))
				return px->sessions[i];
	return NULL;
}

void proxy__route_request(struct proxy_conn *c, size_t hlen)
{
	const struct http_head *req = &c->x->req;
	const struct proxy_credential *cred = NULL;
	const struct route *rt = NULL;
	char *upath, *value, msg[256];
	const char *p;
	size_t len, upath_len = HTTP_LINE_MAX + ROUTE_URL_MAX + 1;
	int r;

	c->kind = AUDIT_KIND_REVERSE;
	p = http_target_path_noquery(req, &len);
	len = len < AUDIT_PATH_MAX ? len : AUDIT_PATH_MAX;
	memcpy(c->x->path, p, len);
	c->x->path[len] = '\0';
	/* A service's listener serves its session; the shared one, whichever the token names. */
	if (c->pl->shared)
		c->s = claim(c->pl->px, req);
	if (!c->s) {
		proxy__reply(c, 401, "missing or invalid proxy token", AUDIT_DENY);
		return;
	}
	upath = malloc(upath_len);
	if (!upath) {
		proxy__reply(c, 502, "out of memory", AUDIT_ERROR);
		return;
	}
	r = route_of(c->s, req, &cred, &rt, upath, upath_len);
	if (r < 0) {
		free(upath);
		if (r == -ENOENT) {
			snprintf(msg, sizeof(msg),
				 "no credential route of service '%s' matches the path",
				 c->s->service);
			proxy__reply(c, 404, msg, AUDIT_DENY);
		} else {
			proxy__reply(c, r == -ENAMETOOLONG ? 414 : 400, "bad request path",
				     AUDIT_DENY);
		}
		return;
	}
	snprintf(c->x->to.host, sizeof(c->x->to.host), "%s", rt->host);
	if (!phantom_ok(req, rt, &c->s->token)) {
		free(upath);
		proxy__reply(c, 401, "missing or invalid proxy token", AUDIT_DENY);
		return;
	}
	c->cred = cred;
	c->x->to.port = rt->port;
	c->x->to.tls = rt->tls;
	c->x->to.ctx = cred->ctx;
	value = secret_value(cred);
	if (!value) {
		free(upath);
		proxy__reply(c, 502, "out of memory", AUDIT_ERROR);
		return;
	}
	proxy__forward(c, hlen, upath, rt->header, value);
	explicit_bzero(value, strlen(value));
	free(value);
	free(upath);
}
