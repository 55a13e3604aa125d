/* proxy: the per-run proxy listener from the service's netns (a 503 stub until the proxy lands). */
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum conn_state {
	CONN_HEAD,	/* reading the request head */
	CONN_REPLY,	/* writing the reply, then shutting down our side */
	CONN_LINGER,	/* reply sent: discard input until EOF so the peer sees it, not a RST */
	CONN_CLOSING,
};

struct proxy_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t write;
	uv_shutdown_t shutdown;
	struct proxy_listener *pl;
	struct proxy_conn *prev, *next;
	enum conn_state state;
	int handles;		/* open handles; freed at 0 */
	bool peer_eof;
	size_t head_len;
	unsigned newlines;	/* consecutive line ends ('\r' aside) seen in the head */
	uint64_t deadline;	/* for the whole head */
	char reply[384];
	char rbuf[4096];
};

static void accept_one(struct proxy_listener *pl);

static void listener_maybe_done(struct proxy_listener *pl)
{
	void (*cb)(struct proxy_listener *) = pl->close_cb;

	if (!pl->tcp_closed || pl->nconns > 0)
		return;
	pl->close_cb = NULL;
	if (cb)
		cb(pl);
}

static void conn_closed_cb(uv_handle_t *h)
{
	struct proxy_conn *c = h->data;
	struct proxy_listener *pl = c->pl;

	if (--c->handles > 0)
		return;
	free(c);
	pl->nconns--;
	if (pl->closing) {
		listener_maybe_done(pl);
	} else if (pl->waiting) {
		pl->waiting = false;
		accept_one(pl);
	}
}

static void conn_close(struct proxy_conn *c)
{
	struct proxy_listener *pl = c->pl;

	if (c->state == CONN_CLOSING)
		return;
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
	/* Head too slow, reply stuck behind a client that does not read, or linger over. */
	conn_close(t->data);
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

	blen = snprintf(body, sizeof(body), "{\"error\":{\"type\":\"%s\",\"message\":\"%s\"}}", type,
			msg);
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
	if (uv_accept((uv_stream_t *)&pl->tcp, (uv_stream_t *)&c->tcp) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) < 0) {
		conn_close(c);
		return;
	}
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

int proxy_listener_open(struct proxy_listener *pl, uv_loop_t *loop, int fd, const char *service,
			char *err, size_t errlen)
{
	size_t len = strlen(service);
	int r;

	*pl = (struct proxy_listener){ .tcp.data = pl };
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
