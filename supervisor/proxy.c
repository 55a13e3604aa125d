/* proxy: the per-service proxy listener: reverse credential routes, or the 503 stub. */
#include "proxy.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit.h"
#include "http.h"
#include "upstream.h"
#include "util.h"

enum conn_state {
	CONN_HEAD,    /* reading the request head */
	CONN_REPLY,   /* writing the reply, then shutting down our side */
	CONN_LINGER,  /* reply sent: discard input until EOF so the peer sees it, not a RST */
	CONN_RESOLVE, /* session: resolving the route's upstream host */
	CONN_CONNECT, /* session: TCP connect and TLS handshake */
	CONN_FORWARD, /* session: relaying the request body and the response */
	CONN_CLOSING,
};

/* A write to the upstream; writes complete in order, so they queue in order. */
struct wblock {
	struct wblock *next;
	char *data;
	size_t len;
	size_t cap;
	bool secret; /* wiped before free: the rewritten head holds the real key */
};

/* One upstream connection; outlives its client connection until upstream_close() is done. */
struct up_link {
	struct upstream_conn uc; /* first: callbacks get &uc */
	struct proxy_conn *c;	 /* NULL once detached */
	struct wblock *head, *tail;
	size_t inflight;
};

/* A write to the client, with its bytes. */
struct cwrite {
	uv_write_t req;
	struct proxy_conn *c;
	char data[];
};

struct proxy_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t write;
	uv_shutdown_t shutdown;
	struct proxy_listener *pl;
	struct proxy_conn *prev, *next;
	enum conn_state state;
	int handles; /* open handles; freed at 0 */
	bool peer_eof;
	size_t head_len;
	unsigned newlines; /* consecutive line ends ('\r' aside) seen in the head */
	uint64_t deadline; /* for the whole head */
	char reply[384];
	char rbuf[16384];

	/* session mode, per request unless said otherwise */
	uv_getaddrinfo_t gai;
	const struct proxy_credential *cred;
	struct up_link *up;
	struct buf in;	  /* client bytes not consumed yet: head, body, then pipelined */
	struct buf uhead; /* the head to send upstream (holds the real key) */
	struct buf rhead; /* the response head as it arrives */
	struct http_head req;
	struct http_head resp;
	struct http_body reqb;
	struct http_body respb;
	bool reading;	 /* uv_read_start is in effect (session mode) */
	bool in_request; /* bytes of a request arrived, not yet audited */
	bool keep_alive; /* the client wants the connection kept */
	bool is_head;
	bool req_done;
	bool resp_started; /* the response head went to the client */
	bool resp_done;
	bool up_paused; /* upstream reads stopped for the client's write queue */
	enum audit_kind kind;
	int status;
	uint64_t t0;
	uint64_t bytes_in;
	uint64_t bytes_out;
	char method[AUDIT_METHOD_MAX + 1];
	char path[AUDIT_PATH_MAX + 1];
	char upath[HTTP_LINE_MAX + ROUTE_URL_MAX + 1];
};

static void accept_one(struct proxy_listener *pl);

/* Wipe (it may have held a token or a key) and free. */
static void buf_wipe_free(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

static void s_conn_closing(struct proxy_conn *c);
static void s_timeout(struct proxy_conn *c);
static void s_client_data(struct proxy_conn *c, const char *p, size_t n);
static void s_client_eof(struct proxy_conn *c);
static void s_start(struct proxy_conn *c);

static void listener_maybe_done(struct proxy_listener *pl)
{
	void (*cb)(struct proxy_listener *) = pl->close_cb;

	if (!pl->tcp_closed || pl->nconns > 0)
		return;
	pl->close_cb = NULL;
	if (cb)
		cb(pl);
}

/* Drop one of c's handles or requests; c goes with the last. */
static void conn_unref(struct proxy_conn *c)
{
	struct proxy_listener *pl = c->pl;

	if (--c->handles > 0)
		return;
	buf_wipe_free(&c->in);
	buf_wipe_free(&c->uhead);
	buf_free(&c->rhead);
	free(c);
	pl->nconns--;
	if (pl->closing) {
		listener_maybe_done(pl);
	} else if (pl->waiting) {
		pl->waiting = false;
		accept_one(pl);
	}
}

static void conn_closed_cb(uv_handle_t *h)
{
	conn_unref(h->data);
}

static void conn_close(struct proxy_conn *c)
{
	struct proxy_listener *pl = c->pl;

	if (c->state == CONN_CLOSING)
		return;
	if (pl->session)
		s_conn_closing(c);
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

	if (c->state == CONN_RESOLVE || c->state == CONN_CONNECT || c->state == CONN_FORWARD) {
		s_timeout(c);
		return;
	}
	/* Head too slow, reply stuck behind a client that does not read, or linger over. */
	conn_close(c);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	struct proxy_conn *c = req->data;

	if (c->state == CONN_CLOSING)
		return;
	if (status < 0 || c->peer_eof) {
		conn_close(c);
		return;
	}
	c->state = CONN_LINGER;
	uv_timer_start(&c->timer, timer_cb, PROXY_LINGER_MS, 0);
}

static void write_cb(uv_write_t *req, int status)
{
	struct proxy_conn *c = req->data;

	if (c->state == CONN_CLOSING)
		return;
	if (status < 0 || uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, shutdown_cb) < 0)
		conn_close(c);
}

static void reply(struct proxy_conn *c, const char *status, const char *type, const char *msg)
{
	char body[256];
	uv_buf_t b;
	int blen, n;

	blen = snprintf(body, sizeof(body), "{\"error\":{\"type\":\"%s\",\"message\":\"%s\"}}",
			type, msg);
	n = snprintf(c->reply, sizeof(c->reply),
		     "HTTP/1.1 %s\r\n"
		     "Content-Type: application/json\r\n"
		     "Content-Length: %d\r\n"
		     "Connection: close\r\n"
		     "\r\n"
		     "%s",
		     status, blen, body);
	if (blen < 0 || (size_t)blen >= sizeof(body) || n < 0 || (size_t)n >= sizeof(c->reply)) {
		conn_close(c);
		return;
	}
	c->state = CONN_REPLY;
	c->pl->served++;
	uv_timer_start(&c->timer, timer_cb, PROXY_LINGER_MS, 0);
	b = uv_buf_init(c->reply, (unsigned)n);
	if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, write_cb) < 0)
		conn_close(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct proxy_conn *c = h->data;

	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

/* Feed head bytes; true once the blank line that ends the head was seen. */
static bool head_feed(struct proxy_conn *c, const char *p, size_t n, size_t *used)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (++c->newlines == 2) {
				*used = i + 1;
				return true;
			}
		} else if (p[i] != '\r') {
			c->newlines = 0;
		}
	}
	*used = n;
	return false;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct proxy_conn *c = s->data;
	uint64_t now, left;
	size_t used;
	bool done;

	if (c->state == CONN_CLOSING)
		return;
	if (nread < 0 && nread == UV_EOF && c->state == CONN_FORWARD) {
		s_client_eof(c);
		return;
	}
	if (nread < 0) {
		/* Before the reply a client that leaves is simply gone; after it, we are done. */
		if (nread != UV_EOF || c->state != CONN_REPLY) {
			conn_close(c);
			return;
		}
		c->peer_eof = true;
		uv_read_stop(s);
		return;
	}
	if (nread > 0 && c->pl->session && (c->state == CONN_HEAD || c->state == CONN_FORWARD)) {
		s_client_data(c, buf->base, (size_t)nread);
		return;
	}
	if (c->state != CONN_HEAD || nread == 0)
		return;
	done = head_feed(c, buf->base, (size_t)nread, &used);
	c->head_len += used;
	if (c->head_len > PROXY_HEAD_MAX) {
		reply(c, "431 Request Header Fields Too Large", "request_too_large",
		      "the request head is larger than 65536 bytes");
		return;
	}
	if (done) {
		reply(c, "503 Service Unavailable", "proxy_unavailable",
		      "the nono-supervise credential proxy is not enabled yet");
		return;
	}
	now = uv_now(c->tcp.loop);
	if (now >= c->deadline) {
		conn_close(c);
		return;
	}
	left = c->deadline - now;
	uv_timer_start(&c->timer, timer_cb, left < PROXY_IDLE_MS ? left : PROXY_IDLE_MS, 0);
}

/* ---- session mode: reverse routes ---- */

static const char *status_text(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

static const char *status_type(int status)
{
	switch (status) {
	case 401:
		return "authentication_error";
	case 403:
		return "permission_error";
	case 404:
		return "not_found_error";
	case 413:
	case 431:
		return "request_too_large";
	case 502:
		return "upstream_error";
	case 504:
		return "timeout_error";
	default:
		return status < 500 ? "invalid_request_error" : "api_error";
	}
}

static void s_audit(struct proxy_conn *c, enum audit_decision decision, const char *reason)
{
	const struct proxy_session *s = c->pl->session;
	struct audit_entry e;

	if (!c->in_request)
		return;
	c->in_request = false;
	if (!s->audit)
		return;
	e = (struct audit_entry){
	    .service = c->pl->service,
	    .session = s->id,
	    .kind = c->kind,
	    .method = c->method,
	    .host = c->cred ? c->cred->route->host : "",
	    .path = c->path,
	    .status = c->status,
	    .bytes_in = c->bytes_in,
	    .bytes_out = c->bytes_out,
	    .duration_ms = (uv_hrtime() - c->t0) / 1000000,
	    .decision = decision,
	    .reason = reason,
	};
	audit_record(s->audit, &e);
}

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

/* Let the upstream go: it closes on its own and frees itself. */
static void up_detach(struct proxy_conn *c)
{
	struct up_link *w = c->up;

	if (!w)
		return;
	c->up = NULL;
	c->up_paused = false;
	w->c = NULL;
	upstream_close(&w->uc, up_closed_cb);
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
static void s_update_read(struct proxy_conn *c)
{
	bool on = true;

	if (c->state == CONN_RESOLVE || c->state == CONN_CONNECT)
		on = false;
	else if (c->state == CONN_FORWARD)
		on = !c->peer_eof && (c->req_done ? c->in.len < PROXY_HEAD_MAX
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
		s_audit(c, AUDIT_ERROR, "the client went away");
		conn_close(c);
		return;
	}
	if (c->up_paused && c->up && c->tcp.write_queue_size <= PROXY_PIPE_MAX / 2) {
		c->up_paused = false;
		upstream_read_start(&c->up->uc);
	}
}

static int client_write(struct proxy_conn *c, const char *p, size_t n)
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
	return 0;
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

/* Answer with a JSON error and close; a response already under way is cut instead. */
static void s_reply(struct proxy_conn *c, int status, const char *msg, enum audit_decision d)
{
	char esc[512], text[1024];
	int blen, n;

	if (c->state == CONN_RESOLVE)
		uv_cancel((uv_req_t *)&c->gai);
	buf_wipe_free(&c->uhead);
	up_detach(c);
	if (c->resp_started) {
		s_audit(c, AUDIT_ERROR, msg);
		conn_close(c);
		return;
	}
	json_escape(esc, sizeof(esc), msg);
	blen = snprintf(NULL, 0, "{\"error\":{\"type\":\"%s\",\"message\":\"%s\"}}",
			status_type(status), esc);
	n = snprintf(text, sizeof(text),
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: application/json\r\n"
		     "Content-Length: %d\r\n"
		     "x-should-retry: false\r\n"
		     "Connection: close\r\n"
		     "\r\n"
		     "{\"error\":{\"type\":\"%s\",\"message\":\"%s\"}}",
		     status, status_text(status), blen, status_type(status), esc);
	c->status = status;
	if (n < 0 || (size_t)n >= sizeof(text) || client_write(c, text, (size_t)n) < 0) {
		s_audit(c, AUDIT_ERROR, msg);
		conn_close(c);
		return;
	}
	c->bytes_out += (uint64_t)n;
	c->pl->served++;
	s_audit(c, d, msg);
	c->state = CONN_REPLY;
	client_read(c, !c->peer_eof);
	uv_timer_start(&c->timer, timer_cb, PROXY_LINGER_MS, 0);
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, shutdown_cb) < 0)
		conn_close(c);
}

static void s_conn_closing(struct proxy_conn *c)
{
	if (c->state == CONN_RESOLVE)
		uv_cancel((uv_req_t *)&c->gai);
	s_audit(c, AUDIT_ERROR,
		c->resp_started ? "connection closed mid-response"
				: "connection closed before a response");
	up_detach(c);
}

static void s_timeout(struct proxy_conn *c)
{
	char msg[512];

	if (c->state == CONN_FORWARD && c->resp_started) {
		s_audit(c, AUDIT_ERROR, "no data for 300 s");
		conn_close(c);
		return;
	}
	if (c->state == CONN_FORWARD) {
		snprintf(msg, sizeof(msg), "upstream '%.*s' sent no response within %d s", 200,
			 c->cred->route->host, PROXY_STREAM_MS / 1000);
		s_reply(c, 504, msg, AUDIT_ERROR);
		return;
	}
	snprintf(msg, sizeof(msg), "upstream '%.*s': connect timed out after %d s", 200,
		 c->cred->route->host, PROXY_CONNECT_MS / 1000);
	s_reply(c, 502, msg, AUDIT_ERROR);
}

/* Ready for the next request on this connection. */
static void s_start(struct proxy_conn *c)
{
	c->state = CONN_HEAD;
	c->cred = NULL;
	c->kind = AUDIT_KIND_REVERSE;
	c->status = 0;
	c->bytes_in = c->bytes_out = 0;
	c->method[0] = c->path[0] = '\0';
	c->req_done = c->resp_started = c->resp_done = false;
	c->up_paused = false;
	c->in_request = false;
	buf_reset(&c->rhead);
	http_head_init(&c->req, 0);
	c->deadline = uv_now(c->tcp.loop) + PROXY_HEAD_MS;
}

static void buf_consume(struct buf *b, size_t n)
{
	if (n == 0)
		return;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

/* The response and request are both complete: audit, then the next request or close. */
static void s_finish(struct proxy_conn *c)
{
	bool again =
	    c->keep_alive && c->req_done && !c->peer_eof && c->respb.framing != HTTP_BODY_CLOSE;

	c->pl->served++;
	s_audit(c, AUDIT_ALLOW, "forwarded");
	up_detach(c);
	if (!again) {
		c->state = CONN_REPLY;
		uv_timer_start(&c->timer, timer_cb, PROXY_DRAIN_MS, 0);
		client_read(c, !c->peer_eof);
		if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, shutdown_cb) < 0)
			conn_close(c);
		return;
	}
	s_start(c);
	uv_timer_start(&c->timer, timer_cb, PROXY_IDLE_MS, 0);
	s_update_read(c);
	if (c->in.len > 0)
		s_client_data(c, NULL, 0);
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
		s_reply(c, 502, uc->err[0] ? uc->err : "upstream write failed", AUDIT_ERROR);
		return;
	}
	if (c->state == CONN_FORWARD)
		s_update_read(c);
}

/* Send data (taken over when owned, else copied) to the upstream. */
static int up_send(struct proxy_conn *c, char *data, size_t len, size_t cap, bool owned,
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

/* Feed buffered client bytes to the request body; the rest is the next request. */
static void s_body(struct proxy_conn *c)
{
	ssize_t n;

	if (c->req_done || !c->up)
		return;
	if (!http_body_done(&c->reqb) && c->in.len > 0) {
		n = http_body_feed(&c->reqb, c->in.data, c->in.len, NULL, NULL);
		if (n < 0) {
			s_reply(c, http_error_status((int)n), http_error_reason((int)n),
				AUDIT_DENY);
			return;
		}
		if (n > 0 && up_send(c, c->in.data, (size_t)n, 0, false, false) < 0) {
			s_reply(c, 502, "out of memory", AUDIT_ERROR);
			return;
		}
		c->bytes_in += (uint64_t)n;
		buf_consume(&c->in, (size_t)n);
	}
	if (http_body_done(&c->reqb)) {
		c->req_done = true;
		if (c->resp_done)
			s_finish(c);
	}
}

static void s_relay(struct proxy_conn *c, const char *data, size_t len)
{
	ssize_t n = http_body_feed(&c->respb, data, len, NULL, NULL);

	if (n < 0) {
		s_audit(c, AUDIT_ERROR, "bad body framing from the upstream");
		conn_close(c);
		return;
	}
	if (n > 0) {
		if (client_write(c, data, (size_t)n) < 0) {
			s_audit(c, AUDIT_ERROR, "the client went away");
			conn_close(c);
			return;
		}
		c->bytes_out += (uint64_t)n;
	}
	if (http_body_done(&c->respb)) {
		c->resp_done = true;
		if (!c->req_done)
			c->keep_alive = false; /* the rest of the request body is not read */
		s_finish(c);
		return;
	}
	if (c->up && c->tcp.write_queue_size > PROXY_PIPE_MAX) {
		c->up_paused = true;
		upstream_read_stop(&c->up->uc);
	}
}

/* The response head is complete at rhead[0..hlen): send it on, then what follows. */
static void s_resp_head(struct proxy_conn *c, size_t hlen)
{
	static const struct http_field close_field[] = {{"Connection", "close"}};
	struct buf out = {0};
	struct http_rewrite rw = {0};
	bool closing = !c->keep_alive || c->resp.framing == HTTP_BODY_CLOSE;
	int r;

	if (c->resp.status >= 100 && c->resp.status < 200) {
		if (c->resp.status == 101) {
			s_reply(c, 502, "the upstream switched protocols: not supported",
				AUDIT_ERROR);
			return;
		}
	} else if (closing) {
		rw.add = close_field;
		rw.nadd = 1;
	}
	r = http_head_rewrite(&c->resp, &rw, &out);
	if (r < 0 || client_write(c, out.data, out.len) < 0) {
		buf_free(&out);
		s_reply(c, 502, "cannot forward the response head", AUDIT_ERROR);
		return;
	}
	c->bytes_out += out.len;
	buf_free(&out);
	if (c->resp.status < 200) {
		/* 1xx: the real response follows. */
		buf_consume(&c->rhead, hlen);
		http_head_init(&c->resp,
			       c->is_head ? HTTP_F_RESPONSE | HTTP_F_HEAD : HTTP_F_RESPONSE);
		return;
	}
	c->status = c->resp.status;
	c->resp_started = true;
	if (closing)
		c->keep_alive = false;
	r = http_body_init(&c->respb, &c->resp, UINT64_MAX, false);
	if (r < 0) {
		s_audit(c, AUDIT_ERROR, http_error_reason(r));
		conn_close(c);
		return;
	}
	s_relay(c, c->rhead.data + hlen, c->rhead.len - hlen);
}

static void up_data(struct upstream_conn *uc, const char *data, size_t len)
{
	struct proxy_conn *c = ((struct up_link *)uc)->c;
	int r;

	if (!c || c->state != CONN_FORWARD)
		return;
	uv_timer_start(&c->timer, timer_cb, PROXY_STREAM_MS, 0);
	if (c->resp_started) {
		s_relay(c, data, len);
		return;
	}
	if (c->rhead.len + len > HTTP_HEAD_MAX + UPSTREAM_READ_MAX ||
	    buf_append(&c->rhead, data, len) < 0) {
		s_reply(c, 502, "the upstream's response head is too large", AUDIT_ERROR);
		return;
	}
	while (c->state == CONN_FORWARD && c->up && !c->resp_started) {
		r = http_head_parse(&c->resp, c->rhead.data, c->rhead.len);
		if (r == 0)
			return;
		if (r < 0) {
			char msg[512];

			snprintf(msg, sizeof(msg), "upstream '%s' sent a bad response head: %s",
				 c->cred->route->host, http_error_reason(r));
			s_reply(c, 502, msg, AUDIT_ERROR);
			return;
		}
		s_resp_head(c, (size_t)r);
	}
}

static void up_eof(struct upstream_conn *uc)
{
	struct proxy_conn *c = ((struct up_link *)uc)->c;
	char msg[512];

	if (!c || c->state != CONN_FORWARD)
		return;
	if (!c->resp_started) {
		snprintf(msg, sizeof(msg), "upstream '%s' closed the connection before responding",
			 c->cred->route->host);
		s_reply(c, 502, msg, AUDIT_ERROR);
		return;
	}
	if (http_body_eof(&c->respb) < 0) {
		s_audit(c, AUDIT_ERROR, "the upstream's response was cut short");
		conn_close(c);
		return;
	}
	c->resp_done = true;
	c->keep_alive = false;
	s_finish(c);
}

static void up_error(struct upstream_conn *uc, int status, const char *err)
{
	struct proxy_conn *c = ((struct up_link *)uc)->c;

	if (!c)
		return;
	s_reply(c, 502, err ? err : uv_strerror(status), AUDIT_ERROR);
}

static void up_ready(struct upstream_conn *uc, int status, const char *err)
{
	struct proxy_conn *c = ((struct up_link *)uc)->c;
	struct buf h = c ? c->uhead : (struct buf){0};

	if (!c || c->state != CONN_CONNECT)
		return;
	if (status < 0) {
		s_reply(c, 502, err ? err : uv_strerror(status), AUDIT_ERROR);
		return;
	}
	c->state = CONN_FORWARD;
	uv_timer_start(&c->timer, timer_cb, PROXY_STREAM_MS, 0);
	uc->on_data = up_data;
	uc->on_eof = up_eof;
	uc->on_error = up_error;
	c->uhead = (struct buf){0};
	if (up_send(c, h.data, h.len, h.cap, true, true) < 0 || upstream_read_start(uc) < 0) {
		s_reply(c, 502, uc->err[0] ? uc->err : "cannot write to the upstream", AUDIT_ERROR);
		return;
	}
	s_body(c);
	if (c->state == CONN_FORWARD)
		s_update_read(c);
}

static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct proxy_conn *c = req->data;
	const struct route *rt;
	struct up_link *w;
	char msg[512];
	int r;

	if (c->state != CONN_RESOLVE) {
		uv_freeaddrinfo(res);
		conn_unref(c);
		return;
	}
	c->handles--;
	rt = c->cred->route;
	if (status < 0 || !res) {
		snprintf(msg, sizeof(msg), "upstream '%s': cannot resolve: %s", rt->host,
			 uv_strerror(status));
		uv_freeaddrinfo(res);
		s_reply(c, 502, msg, AUDIT_ERROR);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		uv_freeaddrinfo(res);
		s_reply(c, 502, "out of memory", AUDIT_ERROR);
		return;
	}
	w->c = c;
	r = upstream_connect(&w->uc, c->tcp.loop, res->ai_addr, rt->host, rt->tls,
			     (SSL_CTX *)c->cred->ctx, PROXY_CONNECT_MS, up_ready, w);
	uv_freeaddrinfo(res);
	if (r < 0) {
		free(w);
		snprintf(msg, sizeof(msg), "upstream '%s': cannot connect: %s", rt->host,
			 uv_strerror(r));
		s_reply(c, 502, msg, AUDIT_ERROR);
		return;
	}
	c->up = w;
	c->state = CONN_CONNECT;
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

/* A whole request head at in[0..hlen): route, check the phantom, plan the upstream head. */
static void s_request(struct proxy_conn *c, size_t hlen)
{
	const struct proxy_session *s = c->pl->session;
	const struct route *rt = NULL;
	const char *remove[7] = {"authorization", "x-api-key", "x-goog-api-key", "api-key",
				 "proxy-authorization"};
	struct http_rewrite rw = {.remove = remove, .nremove = 5};
	struct http_field add;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	char host[ROUTE_HOST_MAX + 16], port[8], msg[512];
	const char *p;
	size_t len;
	char *value;
	int r = -ENOENT;

	c->bytes_in = hlen;
	len = c->req.method.len < AUDIT_METHOD_MAX ? c->req.method.len : AUDIT_METHOD_MAX;
	memcpy(c->method, http_ptr(&c->req, c->req.method), len);
	c->method[len] = '\0';
	p = http_target_path_noquery(&c->req, &len);
	len = len < AUDIT_PATH_MAX ? len : AUDIT_PATH_MAX;
	memcpy(c->path, p, len);
	c->path[len] = '\0';
	c->keep_alive = http_keep_alive(&c->req);
	c->is_head = http_method_is(&c->req, "HEAD");
	if (c->req.form == HTTP_FORM_AUTHORITY || c->req.form == HTTP_FORM_ABSOLUTE) {
		c->kind =
		    c->req.form == HTTP_FORM_AUTHORITY ? AUDIT_KIND_CONNECT : AUDIT_KIND_ABSOLUTE;
		s_reply(c, 403, "CONNECT and absolute-form requests are not supported yet",
			AUDIT_DENY);
		return;
	}
	for (size_t i = 0; i < s->n_creds && r == -ENOENT; i++) {
		const struct route *cand = s->creds[i].route;

		r = routes_match_path(&cand, 1, http_ptr(&c->req, c->req.target), c->req.target.len,
				      &rt, c->upath, sizeof(c->upath));
		if (r >= 0)
			c->cred = &s->creds[i];
	}
	if (r == -ENOENT) {
		snprintf(msg, sizeof(msg), "no credential route of service '%s' matches the path",
			 c->pl->service);
		s_reply(c, 404, msg, AUDIT_DENY);
		return;
	}
	if (r < 0) {
		s_reply(c, r == -ENAMETOOLONG ? 414 : 400, "bad request path", AUDIT_DENY);
		return;
	}
	if (!phantom_ok(&c->req, rt, &s->token)) {
		c->cred = NULL;
		s_reply(c, 401, "missing or invalid proxy token", AUDIT_DENY);
		return;
	}
	r = http_body_init(&c->reqb, &c->req, PROXY_BODY_MAX, false);
	if (r < 0) {
		s_reply(c, http_error_status(r), http_error_reason(r), AUDIT_DENY);
		return;
	}
	if (rt->header[0])
		remove[rw.nremove++] = rt->header;
	if (rt->accept_header[0])
		remove[rw.nremove++] = rt->accept_header;
	if ((rt->tls && rt->port == 443) || (!rt->tls && rt->port == 80))
		snprintf(host, sizeof(host), strchr(rt->host, ':') ? "[%s]" : "%s", rt->host);
	else
		snprintf(host, sizeof(host), strchr(rt->host, ':') ? "[%s]:%u" : "%s:%u", rt->host,
			 rt->port);
	rw.target = c->upath;
	rw.host = host;
	value = secret_value(c->cred);
	if (!value) {
		s_reply(c, 502, "out of memory", AUDIT_ERROR);
		return;
	}
	add = (struct http_field){rt->header, value};
	rw.add = &add;
	rw.nadd = 1;
	buf_wipe_free(&c->uhead);
	r = http_head_rewrite(&c->req, &rw, &c->uhead);
	explicit_bzero(value, strlen(value));
	free(value);
	if (r < 0) {
		s_reply(c, 502,
			r == -ENOMEM ? "out of memory" : "cannot build the upstream request",
			AUDIT_ERROR);
		return;
	}
	buf_consume(&c->in, hlen);
	http_head_init(&c->resp, c->is_head ? HTTP_F_RESPONSE | HTTP_F_HEAD : HTTP_F_RESPONSE);
	snprintf(port, sizeof(port), "%u", rt->port);
	r = uv_getaddrinfo(c->tcp.loop, &c->gai, gai_cb, rt->host, port, &hints);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "upstream '%s': cannot resolve: %s", rt->host,
			 uv_strerror(r));
		s_reply(c, 502, msg, AUDIT_ERROR);
		return;
	}
	c->handles++;
	c->state = CONN_RESOLVE;
	s_update_read(c);
	uv_timer_start(&c->timer, timer_cb, PROXY_CONNECT_MS, 0);
}

static void s_client_data(struct proxy_conn *c, const char *p, size_t n)
{
	uint64_t now, left;
	int r;

	if (n > 0 && buf_append(&c->in, p, n) < 0) {
		conn_close(c);
		return;
	}
	if (c->state == CONN_FORWARD) {
		uv_timer_start(&c->timer, timer_cb, PROXY_STREAM_MS, 0);
		s_body(c);
		if (c->state == CONN_FORWARD)
			s_update_read(c);
		return;
	}
	if (c->in.len == 0)
		return;
	if (!c->in_request) {
		c->in_request = true;
		c->t0 = uv_hrtime();
	}
	r = http_head_parse(&c->req, c->in.data, c->in.len);
	if (r < 0) {
		s_reply(c, http_error_status(r), http_error_reason(r), AUDIT_DENY);
		return;
	}
	if (r > 0) {
		s_request(c, (size_t)r);
		return;
	}
	if (c->in.len > PROXY_HEAD_MAX) {
		s_reply(c, 431, "the request head is larger than 65536 bytes", AUDIT_DENY);
		return;
	}
	now = uv_now(c->tcp.loop);
	if (now >= c->deadline) {
		s_audit(c, AUDIT_ERROR, "request head too slow");
		conn_close(c);
		return;
	}
	left = c->deadline - now;
	uv_timer_start(&c->timer, timer_cb, left < PROXY_IDLE_MS ? left : PROXY_IDLE_MS, 0);
}

/*
 * EOF while forwarding ends the exchange, as a vanished client would: the upstream is
 * closed at once instead of streaming on to nobody (half-closing clients are rare).
 */
static void s_client_eof(struct proxy_conn *c)
{
	c->peer_eof = true;
	s_audit(c, AUDIT_ERROR,
		c->req_done ? "the client closed before the response ended"
			    : "the client closed before the request body ended");
	conn_close(c);
}

static void accept_one(struct proxy_listener *pl)
{
	struct proxy_conn *c = calloc(1, sizeof(*c));

	/* Out of memory: the connection waits in the backlog until another one ends. */
	if (!c) {
		pl->waiting = true;
		return;
	}
	c->pl = pl;
	c->tcp.data = c->timer.data = c->write.data = c->shutdown.data = c;
	uv_tcp_init(pl->tcp.loop, &c->tcp);
	uv_timer_init(pl->tcp.loop, &c->timer);
	c->handles = 2;
	c->next = pl->conns;
	if (pl->conns)
		pl->conns->prev = c;
	pl->conns = c;
	pl->nconns++;
	c->deadline = uv_now(pl->tcp.loop) + PROXY_HEAD_MS;
	c->gai.data = c;
	if (uv_accept((uv_stream_t *)&pl->tcp, (uv_stream_t *)&c->tcp) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) < 0) {
		conn_close(c);
		return;
	}
	c->reading = true;
	if (pl->session)
		s_start(c);
	uv_timer_start(&c->timer, timer_cb, PROXY_IDLE_MS, 0);
}

/*
 * Bounded by not accepting: libuv stops polling the listener while a connection it
 * accepted is not taken, so the rest wait in the kernel backlog until a slot frees.
 */
static void connection_cb(uv_stream_t *server, int status)
{
	struct proxy_listener *pl = server->data;

	if (status < 0 || pl->closing)
		return;
	if (pl->nconns >= PROXY_CONN_MAX) {
		pl->waiting = true;
		return;
	}
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

int proxy_listener_open(struct proxy_listener *pl, uv_loop_t *loop, int fd,
			const struct proxy_session *session, char *err, size_t errlen)
{
	const char *service = session ? session->service : "?";
	size_t len = strnlen(service, PROXY_SERVICE_MAX + 1);
	int r;

	*pl = (struct proxy_listener){.tcp.data = pl, .session = session};
	/* No socket is made for AF_UNSPEC, so this does not fail; from here close() applies. */
	r = uv_tcp_init(loop, &pl->tcp);
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
	while (pl->conns)
		conn_close(pl->conns);
	if (!pl->have_handle) {
		pl->tcp_closed = true;
		listener_maybe_done(pl);
		return;
	}
	uv_close((uv_handle_t *)&pl->tcp, listener_closed_cb);
}
