/*
 * proxy: the fleet's proxy core: listeners (one per service, the 503 stub without a session),
 * client connections, their limits and timers, replies and audit records. Requests are
 * dispatched to proxy_forward.c (reverse routes) and proxy_tunnel.c (CONNECT, absolute-form);
 * sessions and the shared listener are in proxy_session.c.
 */
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy_internal.h"

#define PROXY_REFUSING_MAX 32 /* connections being answered 503 at once, per listener */

/* A write to the client, with its bytes. */
struct cwrite {
	uv_write_t req;
	struct proxy_conn *c;
	char data[];
};

static void accept_one(struct proxy_listener *pl);
static void client_read(struct proxy_conn *c, bool on);
static void client_data(struct proxy_conn *c, const char *p, size_t n);

/* A listener with sessions behind it (else the stub). */
static bool serving(const struct proxy_listener *pl)
{
	return pl->session || pl->shared;
}

void proxy_limits_default(struct proxy_limits *l)
{
	*l = (struct proxy_limits){
	    .conns_per_service = 256,
	    .conns_total = 4096,
	    .header_bytes = HTTP_HEAD_MAX,
	    .body_bytes = 16ULL * 1024 * 1024,
	    .idle_ms = 10000,
	    .head_ms = 30000,
	    .connect_ms = 30000,
	    .stream_ms = 300000,
	};
}

void proxy_init(struct proxy *px, uv_loop_t *loop, const struct proxy_limits *limits)
{
	memset(px, 0, offsetof(struct proxy, rbuf));
	px->loop = loop;
	if (limits)
		px->limits = *limits;
	else
		proxy_limits_default(&px->limits);
	upstream_pool_init(&px->pool, PROXY_POOL_PER_HOST, PROXY_POOL_IDLE_MS);
}

static void listener_maybe_done(struct proxy_listener *pl)
{
	void (*cb)(struct proxy_listener *) = pl->close_cb;

	if (!pl->tcp_closed || pl->nconns > 0)
		return;
	pl->close_cb = NULL;
	if (cb)
		cb(pl);
}

static void exchange_free(struct proxy_conn *c)
{
	free(c->x);
	c->x = NULL;
}

/* Drop one of c's handles or requests; c goes with the last. */
void proxy__conn_unref(struct proxy_conn *c)
{
	struct proxy_listener *pl = c->pl;
	struct proxy *px = pl->px;

	if (--c->handles > 0)
		return;
	buf_wipe_free(&c->in);
	buf_wipe_free(&c->uhead);
	buf_free(&c->rhead);
	exchange_free(c);
	free(c);
	pl->nconns--;
	px->nconns--;
	if (pl->closing)
		listener_maybe_done(pl); /* pl may be gone after this */
	else if (pl->waiting)
		accept_one(pl);
	if (px->waiters) {
		struct proxy_listener *next = px->waiters;

		px->waiters = next->wait_next;
		next->wait_next = NULL;
		accept_one(next);
	}
}

static void waiter_remove(struct proxy_listener *pl)
{
	for (struct proxy_listener **pp = &pl->px->waiters; *pp; pp = &(*pp)->wait_next) {
		if (*pp == pl) {
			*pp = pl->wait_next;
			pl->wait_next = NULL;
			return;
		}
	}
}

static void conn_closed_cb(uv_handle_t *h)
{
	proxy__conn_unref(h->data);
}

void proxy__conn_close(struct proxy_conn *c)
{
	struct proxy_listener *pl = c->pl;

	if (c->state == CONN_CLOSING)
		return;
	if (c->state == CONN_RESOLVE)
		uv_cancel((uv_req_t *)&c->gai);
	proxy__audit(c, AUDIT_ERROR,
		     c->resp_started ? "connection closed mid-response"
				     : "connection closed before a response");
	proxy__up_detach(c, false);
	c->state = CONN_CLOSING;
	if (c->prev)
		c->prev->next = c->next;
	else
		pl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
	uv_close((uv_handle_t *)&c->timer, conn_closed_cb);
}

static void timer_cb(uv_timer_t *t)
{
	struct proxy_conn *c = t->data;
	const struct proxy_limits *l = &c->pl->px->limits;
	char msg[160];

	switch (c->state) {
	case CONN_RESOLVE:
	case CONN_CONNECT:
	case CONN_FORWARD:
	case CONN_TUNNEL:
		proxy__forward_timeout(c);
		return;
	case CONN_HEAD:
		/* Part of a request came, then silence: say so. Between requests: just close. */
		if (serving(c->pl) && c->in.len > 0) {
			snprintf(msg, sizeof(msg),
				 "proxy limit %s (%llu ms) reached while reading the request head",
				 uv_now(c->tcp.loop) >= c->deadline ? "head_timeout" : "idle_timeout",
				 (unsigned long long)(uv_now(c->tcp.loop) >= c->deadline
							  ? l->head_ms
							  : l->idle_ms));
			proxy__reply(c, 408, msg, AUDIT_DENY);
			return;
		}
		break;
	default:
		break;
	}
	/* Head too slow, reply stuck behind a client that does not read, or linger over. */
	proxy__conn_close(c);
}

void proxy__timer(struct proxy_conn *c, uint64_t ms)
{
	uv_timer_start(&c->timer, timer_cb, ms, 0);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	struct proxy_conn *c = req->data;

	if (c->state == CONN_CLOSING)
		return;
	if (status < 0 || c->peer_eof) {
		proxy__conn_close(c);
		return;
	}
	c->state = CONN_LINGER;
	proxy__timer(c, PROXY_LINGER_MS);
}

/* Everything is queued: shut our side down once it is written, then linger. */
static void end_output(struct proxy_conn *c, uint64_t ms)
{
	c->state = CONN_REPLY;
	client_read(c, !c->peer_eof);
	proxy__timer(c, ms);
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, shutdown_cb) < 0)
		proxy__conn_close(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct proxy_conn *c = h->data;

	(void)suggested;
	*buf = uv_buf_init(c->pl->px->rbuf, sizeof(c->pl->px->rbuf));
}

/* The stub: count line ends until the blank line, then 503. It never parses. */
static void stub_data(struct proxy_conn *c, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && c->newlines < 2; i++) {
		if (p[i] == '\n')
			c->newlines++;
		else if (p[i] != '\r')
			c->newlines = 0;
	}
	c->bytes_in += i;
	if (c->bytes_in > HTTP_HEAD_MAX)
		proxy__reply(c, 431, "the request head is larger than 65536 bytes", AUDIT_DENY);
	else if (c->newlines == 2)
		proxy__reply(c, 503,
			     "nothing to proxy: the service has no credentials and no allowed hosts",
			     AUDIT_DENY);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct proxy_conn *c = s->data;
	uint64_t now, left;

	if (c->state == CONN_CLOSING || nread == 0)
		return;
	if (nread < 0) {
		c->peer_eof = true;
		if (nread == UV_EOF && c->state == CONN_TUNNEL) {
			proxy__tunnel_eof(c);
			return;
		}
		/* Before the reply a client that leaves is simply gone; after it, we are done. */
		if (nread != UV_EOF || c->state != CONN_REPLY) {
			proxy__audit(c, AUDIT_ERROR,
				     c->state == CONN_FORWARD && c->req_done
					 ? "the client closed before the response ended"
					 : "the client closed before the request ended");
			proxy__conn_close(c);
			return;
		}
		client_read(c, false);
		return;
	}
	if (c->state == CONN_REPLY || c->state == CONN_LINGER)
		return; /* discarded */
	if (serving(c->pl)) {
		client_data(c, buf->base, (size_t)nread);
		return;
	}
	stub_data(c, buf->base, (size_t)nread);
	if (c->state != CONN_HEAD)
		return;
	now = uv_now(c->tcp.loop);
	if (now >= c->deadline) {
		proxy__conn_close(c);
		return;
	}
	left = c->deadline - now;
	proxy__timer(c, left < c->pl->px->limits.idle_ms ? left : c->pl->px->limits.idle_ms);
}

static void client_read(struct proxy_conn *c, bool on)
{
	if (on == c->reading)
		return;
	if (on && uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) < 0)
		return;
	if (!on)
		uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = on;
}

/* Read the client when there is room: body bytes wait while the upstream lags. */
void proxy__update_read(struct proxy_conn *c)
{
	bool on = true;

	if (c->state == CONN_RESOLVE || c->state == CONN_CONNECT)
		on = false;
	else if (c->state == CONN_FORWARD || c->state == CONN_TUNNEL)
		on = !c->peer_eof &&
		     (c->req_done ? c->in.len < c->pl->px->limits.header_bytes
				  : !c->up || c->up->inflight <= PROXY_PIPE_MAX);
	client_read(c, on);
}

static void cwrite_cb(uv_write_t *req, int status)
{
	struct cwrite *w = (struct cwrite *)req;
	struct proxy_conn *c = w->c;

	free(w);
	if (c->state == CONN_CLOSING)
		return;
	if (status < 0) {
		proxy__audit(c, AUDIT_ERROR, "the client went away");
		proxy__conn_close(c);
		return;
	}
	if (c->up_paused && c->up && c->tcp.write_queue_size <= PROXY_PIPE_MAX / 2) {
		c->up_paused = false;
		upstream_read_start(&c->up->uc);
	}
}

int proxy__write(struct proxy_conn *c, const char *p, size_t n)
{
	struct cwrite *w = malloc(sizeof(*w) + n);
	uv_buf_t b;

	if (!w)
		return -ENOMEM;
	w->c = c;
	memcpy(w->data, p, n);
	b = uv_buf_init(w->data, (unsigned)n);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, cwrite_cb) < 0) {
		free(w);
		return -EPIPE;
	}
	if (c->up && c->tcp.write_queue_size > PROXY_PIPE_MAX) {
		c->up_paused = true;
		upstream_read_stop(&c->up->uc);
	}
	return 0;
}

static const char *status_text(int status)
{
	static const struct {
		int status;
		const char *text;
	} texts[] = {
	    {400, "Bad Request"},
	    {401, "Unauthorized"},
	    {403, "Forbidden"},
	    {404, "Not Found"},
	    {407, "Proxy Authentication Required"},
	    {408, "Request Timeout"},
	    {413, "Content Too Large"},
	    {414, "URI Too Long"},
	    {431, "Request Header Fields Too Large"},
	    {501, "Not Implemented"},
	    {502, "Bad Gateway"},
	    {503, "Service Unavailable"},
	    {504, "Gateway Timeout"},
	    {505, "HTTP Version Not Supported"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		if (texts[i].status == status)
			return texts[i].text;
	return "Internal Server Error";
}

static const char *status_type(int status)
{
	switch (status) {
	case 401:
	case 407:
		return "authentication_error";
	case 403:
		return "permission_error";
	case 404:
		return "not_found_error";
	case 408:
	case 504:
		return "timeout_error";
	case 413:
	case 431:
		return "request_too_large";
	case 502:
		return "upstream_error";
	case 503:
		return "proxy_unavailable";
	default:
		return status < 500 ? "invalid_request_error" : "api_error";
	}
}

void proxy__audit(struct proxy_conn *c, enum audit_decision decision, const char *reason)
{
	const struct proxy_session *s = c->s;
	struct audit *a = s && s->audit ? s->audit : c->pl->px->audit;
	struct audit_entry e;

	if (!c->in_request)
		return;
	c->in_request = false;
	e = (struct audit_entry){
	    .service = s ? s->service : c->pl->service,
	    .session = s ? s->id : "",
	    .kind = c->kind,
	    .method = c->method,
	    .host = c->x ? c->x->to.host : "",
	    .port = c->x ? c->x->to.port : 0,
	    .path = c->x ? c->x->path : "",
	    .status = c->status,
	    .bytes_in = c->bytes_in,
	    .bytes_out = c->bytes_out,
	    .duration_ms = (uv_hrtime() - c->t0) / 1000000,
	    .decision = decision,
	    .reason = reason,
	};
	if (c->pl->px->observe)
		c->pl->px->observe(c->pl->px, &e);
	if (a && (s || c->pl->shared))
		audit_record(a, &e);
}

static void json_escape(char *out, size_t size, const char *in)
{
	size_t o = 0;

	for (; *in && o + 3 < size; in++) {
		unsigned char ch = (unsigned char)*in;

		if (ch == '"' || ch == '\\')
			out[o++] = '\\';
		out[o++] = ch < 0x20 ? ' ' : (char)ch;
	}
	out[o] = '\0';
}

void proxy__reply(struct proxy_conn *c, int status, const char *msg, enum audit_decision d)
{
	const char *extra = status == 407 ? "Proxy-Authenticate: Basic realm=\"nono\"\r\n"
			    : status == 503 && serving(c->pl) ? "Retry-After: 1\r\n"
							      : "";
	char esc[512], text[1024];
	int blen, n;

	if (c->state == CONN_CLOSING)
		return;
	if (c->state == CONN_RESOLVE)
		uv_cancel((uv_req_t *)&c->gai);
	buf_wipe_free(&c->uhead);
	proxy__up_detach(c, false);
	if (c->resp_started) {
		proxy__audit(c, AUDIT_ERROR, msg);
		proxy__conn_close(c);
		return;
	}
	json_escape(esc, sizeof(esc), msg);
	blen = snprintf(NULL, 0, "{\"error\":{\"type\":\"%s\",\"message\":\"%s\"}}",
			status_type(status), esc);
	n = snprintf(text, sizeof(text),
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: application/json\r\n"
		     "Content-Length: %d\r\n"
		     "%s%s"
		     "Connection: close\r\n"
		     "\r\n"
		     "{\"error\":{\"type\":\"%s\",\"message\":\"%s\"}}",
		     status, status_text(status), blen, extra,
		     serving(c->pl) ? "x-should-retry: false\r\n" : "", status_type(status), esc);
	c->status = status;
	if (n < 0 || (size_t)n >= sizeof(text) || proxy__write(c, text, (size_t)n) < 0) {
		proxy__audit(c, AUDIT_ERROR, msg);
		proxy__conn_close(c);
		return;
	}
	c->bytes_out += (uint64_t)n;
	c->pl->served++;
	proxy__audit(c, d, msg);
	end_output(c, PROXY_LINGER_MS);
}

/* Ready for the next request on this connection. */
static void start_request(struct proxy_conn *c)
{
	c->state = CONN_HEAD;
	c->s = c->pl->session; /* the shared listener finds it per request */
	c->cred = NULL;
	c->kind = AUDIT_KIND_REVERSE;
	c->status = 0;
	c->bytes_in = c->bytes_out = 0;
	c->method[0] = '\0';
	c->req_done = c->resp_started = c->resp_done = false;
	c->up_paused = c->up_reused = false;
	c->in_request = false;
	buf_free(&c->rhead);
	exchange_free(c);
	c->deadline = uv_now(c->tcp.loop) + c->pl->px->limits.head_ms;
}

void proxy__finish(struct proxy_conn *c, bool again, const char *reason)
{
	c->pl->served++;
	proxy__audit(c, AUDIT_ALLOW, reason);
	proxy__up_detach(c, true);
	if (!again) {
		end_output(c, PROXY_DRAIN_MS);
		return;
	}
	start_request(c);
	if (c->in.len == 0)
		buf_free(&c->in); /* an idle connection holds no buffer */
	proxy__timer(c, c->pl->px->limits.idle_ms);
	proxy__update_read(c);
	if (c->in.len > 0)
		client_data(c, NULL, 0);
}

static void client_data(struct proxy_conn *c, const char *p, size_t n)
{
	const struct proxy_limits *l = &c->pl->px->limits;
	uint64_t now, left;
	char msg[128];
	int r;

	if (n > 0 && buf_append(&c->in, p, n) < 0) {
		proxy__conn_close(c);
		return;
	}
	if (c->state == CONN_FORWARD) {
		proxy__timer(c, l->stream_ms);
		proxy__forward_body(c);
		if (c->state == CONN_FORWARD)
			proxy__update_read(c);
		return;
	}
	if (c->state == CONN_TUNNEL) {
		proxy__tunnel_data(c);
		return;
	}
	if (c->state != CONN_HEAD || c->in.len == 0)
		return;
	if (!c->in_request) {
		c->in_request = true;
		c->t0 = uv_hrtime();
	}
	if (!c->x) {
		c->x = calloc(1, sizeof(*c->x));
		if (!c->x) {
			proxy__conn_close(c);
			return;
		}
		http_head_init(&c->x->req, 0);
	}
	r = http_head_parse(&c->x->req, c->in.data, c->in.len);
	if (r > 0 && (uint64_t)r > l->header_bytes)
		r = -EMSGSIZE;
	if (r == 0 && c->in.len > l->header_bytes)
		r = -EMSGSIZE;
	if (r == -EMSGSIZE) {
		snprintf(msg, sizeof(msg), "proxy limit max_header (%llu bytes) exceeded",
			 (unsigned long long)l->header_bytes);
		proxy__reply(c, 431, msg, AUDIT_DENY);
		return;
	}
	if (r < 0) {
		proxy__reply(c, http_error_status(r), http_error_reason(r), AUDIT_DENY);
		return;
	}
	if (r > 0) {
		size_t len = c->x->req.method.len < AUDIT_METHOD_MAX ? c->x->req.method.len
								     : AUDIT_METHOD_MAX;

		memcpy(c->method, http_ptr(&c->x->req, c->x->req.method), len);
		c->method[len] = '\0';
		c->bytes_in = (uint64_t)r;
		c->keep_alive = http_keep_alive(&c->x->req);
		c->is_head = http_method_is(&c->x->req, "HEAD");
		if (c->x->req.form == HTTP_FORM_ORIGIN)
			proxy__route_request(c, (size_t)r);
		else
			proxy__proxy_request(c, (size_t)r);
		return;
	}
	now = uv_now(c->tcp.loop);
	if (now >= c->deadline) {
		timer_cb(&c->timer);
		return;
	}
	left = c->deadline - now;
	proxy__timer(c, left < l->idle_ms ? left : l->idle_ms);
}

/* A connection over a limit is answered 503 naming it, and audited. */
static void refuse(struct proxy_conn *c, const char *limit, unsigned value)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "proxy limit %s (%u) reached", limit, value);
	c->in_request = true;
	c->t0 = uv_hrtime();
	c->pl->px->refused++;
	proxy__reply(c, 503, msg, AUDIT_DENY);
}

static void accept_one(struct proxy_listener *pl)
{
	struct proxy *px = pl->px;
	const struct proxy_limits *l = &px->limits;
	struct proxy_conn *c;

	/*
	 * Bounded by not accepting: libuv stops polling the listener while a connection is
	 * not taken, so the rest wait in the kernel backlog. Past the limits (and the few
	 * being refused) nothing more is accepted until a connection goes.
	 */
	if (pl->nconns >= l->conns_per_service + PROXY_REFUSING_MAX) {
		pl->waiting = true;
		return;
	}
	if (px->nconns >= l->conns_total + PROXY_REFUSING_MAX) {
		pl->waiting = true;
		waiter_remove(pl);
		pl->wait_next = px->waiters;
		px->waiters = pl;
		return;
	}
	c = calloc(1, sizeof(*c));
	/* Out of memory: the connection waits in the backlog until another one ends. */
	if (!c) {
		pl->waiting = true;
		return;
	}
	pl->waiting = false;
	c->pl = pl;
	c->tcp.data = c->timer.data = c->shutdown.data = c->gai.data = c;
	uv_tcp_init(pl->tcp.loop, &c->tcp);
	uv_timer_init(pl->tcp.loop, &c->timer);
	c->handles = 2;
	c->next = pl->conns;
	if (pl->conns)
		pl->conns->prev = c;
	pl->conns = c;
	pl->nconns++;
	px->nconns++;
	px->accepted++;
	start_request(c);
	if (uv_accept((uv_stream_t *)&pl->tcp, (uv_stream_t *)&c->tcp) < 0) {
		proxy__conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	client_read(c, true);
	if (!c->reading) {
		proxy__conn_close(c);
		return;
	}
	proxy__timer(c, l->idle_ms);
	if (pl->nconns > l->conns_per_service)
		refuse(c, "max_connections_per_service", l->conns_per_service);
	else if (px->nconns > l->conns_total)
		refuse(c, "max_connections", l->conns_total);
}

static void connection_cb(uv_stream_t *server, int status)
{
	struct proxy_listener *pl = server->data;

	if (status < 0 || pl->closing)
		return;
	accept_one(pl);
}

static int check_listener(int fd)
{
	int type = 0, domain = 0, listening = 0;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		return -errno;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
		return -errno;
	if (type != SOCK_STREAM || (domain != AF_INET && domain != AF_INET6) || !listening)
		return -ENOTSOCK;
	return 0;
}

int proxy_listener_open(struct proxy_listener *pl, struct proxy *px, int fd,
			const struct proxy_session *session, char *err, size_t errlen)
{
	const char *service = session ? session->service : "?";
	size_t len = strnlen(service, PROXY_SERVICE_MAX + 1);
	int r;

	*pl = (struct proxy_listener){.tcp.data = pl, .px = px, .session = session};
	/* No socket is made for AF_UNSPEC, so this does not fail; from here close() applies. */
	r = uv_tcp_init(px->loop, &pl->tcp);
	if (r < 0)
		goto close_fd;
	pl->tcp.data = pl;
	pl->have_handle = true;
	if (len > PROXY_SERVICE_MAX) {
		r = -ENAMETOOLONG;
		goto close_fd;
	}
	memcpy(pl->service, service, len + 1);
	r = check_listener(fd);
	if (r < 0)
		goto close_fd;
	r = uv_tcp_open(&pl->tcp, fd);
	if (r < 0)
		goto close_fd;
	/* The handle owns fd now. */
	r = uv_listen((uv_stream_t *)&pl->tcp, PROXY_BACKLOG, connection_cb);
	if (r < 0) {
		snprintf(err, errlen, "service '%s': proxy listener: %s", pl->service,
			 uv_strerror(r));
		return r;
	}
	return 0;

close_fd:
	snprintf(err, errlen, "service '%.*s': proxy listener (fd %d): %s", PROXY_SERVICE_MAX,
		 service, fd, r == -ENOTSOCK ? "not a listening TCP socket" : uv_strerror(r));
	close(fd);
	return r;
}

static void listener_closed_cb(uv_handle_t *h)
{
	struct proxy_listener *pl = h->data;

	pl->tcp_closed = true;
	listener_maybe_done(pl);
}

void proxy_listener_close(struct proxy_listener *pl, void (*cb)(struct proxy_listener *))
{
	if (pl->closing)
		return;
	pl->closing = true;
	pl->close_cb = cb;
	waiter_remove(pl);
	while (pl->conns)
		proxy__conn_close(pl->conns);
	if (!pl->have_handle) {
		pl->tcp_closed = true;
		listener_maybe_done(pl);
		return;
	}
	uv_close((uv_handle_t *)&pl->tcp, listener_closed_cb);
}
