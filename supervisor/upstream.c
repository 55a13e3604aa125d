/* upstream: the proxy's outbound connections (TLS over memory BIOs) and their keep-alive pool. */
#include "upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

enum timer_what {
	T_NONE,
	T_CONNECT,	/* the TCP connect's deadline */
	T_HANDSHAKE,	/* the TLS handshake's deadline */
	T_DEFERRED,	/* report a synchronous connect error from the loop */
	T_DRAIN,	/* deliver plaintext OpenSSL still holds after read_start */
	T_IDLE,		/* idle in the pool */
};

struct wreq {
	uv_write_t req;
	upstream_write_cb cb;
	bool user;	/* from upstream_write(), not OpenSSL's own (handshake, alerts) */
	char data[];	/* TLS: the ciphertext */
};

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void pool_discard(struct upstream_conn *c);

static void fmt_err(struct upstream_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "upstream 'HOST' (ADDR): " then the reason. */
static void fmt_err(struct upstream_conn *c, const char *fmt, ...)
{
	va_list ap;
	int w = snprintf(c->err, sizeof(c->err), "upstream '%s' (%s): ", c->host, c->addr);

	if (w < 0 || (size_t)w >= sizeof(c->err))
		return;
	va_start(ap, fmt);
	vsnprintf(c->err + w, sizeof(c->err) - (size_t)w, fmt, ap);
	va_end(ap);
}

/* The first queued OpenSSL error as text ("" when there is none); clears the queue. */
static const char *ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	buf[0] = '\0';
	if (e) {
		const char *r = ERR_reason_error_string(e);

		if (r)
			snprintf(buf, len, "%s", r);
		else
			ERR_error_string_n(e, buf, len);
	}
	ERR_clear_error();
	return buf;
}

SSL_CTX *upstream_ctx_new(const char *ca_file, char *err, size_t errlen)
{
	char why[160];
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "cannot create a TLS context: %s",
			 ssl_reason(why, sizeof(why)));
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x08http/1.1", 9) != 0)
		goto fail;
	if (ca_file) {
		if (!SSL_CTX_load_verify_locations(ctx, ca_file, NULL)) {
			snprintf(err, errlen,
				 "CA file '%s': cannot load: %s (hint: a PEM file of certificates)",
				 ca_file, ssl_reason(why, sizeof(why)));
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (!SSL_CTX_set_default_verify_paths(ctx)) {
		snprintf(err, errlen, "cannot load the system's CA certificates: %s",
			 ssl_reason(why, sizeof(why)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
fail:
	snprintf(err, errlen, "cannot set up a TLS context: %s", ssl_reason(why, sizeof(why)));
	SSL_CTX_free(ctx);
	return NULL;
}

static void on_timer(uv_timer_t *t);

static void timer_set(struct upstream_conn *c, enum timer_what what, uint64_t ms)
{
	c->timer_what = what;
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void timer_clear(struct upstream_conn *c)
{
	c->timer_what = T_NONE;
	uv_timer_stop(&c->timer);
}

/* The connect or handshake failed: say why once; the caller then closes. */
static void fail_ready(struct upstream_conn *c, int status)
{
	timer_clear(c);
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->state = UPSTREAM_FAILED;
	c->on_ready(c, status, c->err);
}

/* Reading failed after the connection was ready. */
static void fail_read(struct upstream_conn *c, int status)
{
	c->state = UPSTREAM_FAILED;
	c->reading = false;
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (c->on_error)
		c->on_error(c, status, c->err);
}

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct upstream_conn *c = req->handle->data;
	upstream_write_cb cb = w->cb;

	if (w->user)
		c->writes--;
	free(w);
	if (cb)
		cb(c, status);
}

/* Write what OpenSSL produced; cb (may be NULL) when flushed. */
static int flush_tls(struct upstream_conn *c, bool user, upstream_write_cb cb)
{
	size_t n = BIO_ctrl_pending(c->wbio);
	struct wreq *w;
	uv_buf_t b;
	int r;

	if (n == 0 && !user)
		return 0;
	w = malloc(sizeof(*w) + n);
	if (!w)
		return -ENOMEM;
	if (n > 0 && BIO_read(c->wbio, w->data, (int)n) != (int)n) {
		free(w);
		return -EIO;
	}
	w->cb = cb;
	w->user = user;
	b = uv_buf_init(w->data, (unsigned)n);
	r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
	if (r < 0) {
		free(w);
		return r;
	}
	c->writes += user;
	return 0;
}

/* Best effort and never queued (an alert, close_notify): what fits in the socket now. */
static void flush_tls_now(struct upstream_conn *c)
{
	char tmp[512];
	int n;

	while ((n = BIO_read(c->wbio, tmp, sizeof(tmp))) > 0) {
		uv_buf_t b = uv_buf_init(tmp, (unsigned)n);

		if (uv_try_write((uv_stream_t *)&c->tcp, &b, 1) != n)
			break;
	}
	(void)BIO_reset(c->wbio);
}

static void set_ready(struct upstream_conn *c)
{
	timer_clear(c);
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->state = UPSTREAM_READY;
	c->on_ready(c, 0, NULL);
}

static bool verify_hint(long v)
{
	return v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	       v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	       v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	       v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;
}

static void handshake_failed(struct upstream_conn *c)
{
	long v = SSL_get_verify_result(c->ssl);
	char why[160];

	c->verify_result = v;
	flush_tls_now(c);	/* the alert, so the server logs why */
	if (v == X509_V_ERR_HOSTNAME_MISMATCH) {
		ERR_clear_error();
		fmt_err(c, "host name mismatch: the certificate is not valid for '%s'", c->host);
		fail_ready(c, -EKEYREJECTED);
	} else if (v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		ERR_clear_error();
		fmt_err(c, "host name mismatch: the certificate is not valid for IP address %s",
			c->host);
		fail_ready(c, -EKEYREJECTED);
	} else if (v != X509_V_OK) {
		ERR_clear_error();
		fmt_err(c, "certificate verify failed: %s%s", X509_verify_cert_error_string(v),
			verify_hint(v) ? " (hint: for a private upstream, give its route ca = PATH)"
				       : "");
		fail_ready(c, -EKEYREJECTED);
	} else {
		ssl_reason(why, sizeof(why));
		fmt_err(c, "TLS handshake failed: %s", why[0] ? why : "protocol error");
		fail_ready(c, -EPROTO);
	}
}

static void handshake_step(struct upstream_conn *c)
{
	int r, e, f;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		f = flush_tls(c, false, NULL);
		if (f < 0) {
			fmt_err(c, "cannot write: %s", uv_strerror(f));
			fail_ready(c, f);
			return;
		}
		set_ready(c);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		f = flush_tls(c, false, NULL);
		if (f < 0) {
			fmt_err(c, "cannot write: %s", uv_strerror(f));
			fail_ready(c, f);
		}
		return;
	}
	handshake_failed(c);
}

static int tls_start(struct upstream_conn *c)
{
	unsigned char ip[sizeof(struct in6_addr)];
	bool literal =
	    inet_pton(AF_INET, c->host, ip) == 1 || inet_pton(AF_INET6, c->host, ip) == 1;

	c->ssl = SSL_new(c->ctx);
	if (!c->ssl)
		return -ENOMEM;
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (!c->rbio || !c->wbio) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		c->rbio = c->wbio = NULL;
		return -ENOMEM;
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_connect_state(c->ssl);
	/* Whatever ctx says: these are what the proxy promises for every upstream. */
	SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
	if (!SSL_set_min_proto_version(c->ssl, TLS1_2_VERSION))
		return -EINVAL;
	if (literal) {
		/* No SNI for an address (RFC 6066); verify it against the IP SANs. */
		if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host))
			return -EINVAL;
	} else {
		SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (!SSL_set_tlsext_host_name(c->ssl, c->host) || !SSL_set1_host(c->ssl, c->host))
			return -EINVAL;
	}
	return 0;
}

static void on_connect(uv_connect_t *req, int status)
{
	struct upstream_conn *c = req->data;
	int r;

	if (c->state != UPSTREAM_CONNECTING)
		return;		/* timed out or closing: UV_ECANCELED */
	timer_clear(c);
	if (status < 0) {
		if (status == UV_ECONNREFUSED)
			fmt_err(c, "connection refused");
		else
			fmt_err(c, "cannot connect: %s", uv_strerror(status));
		fail_ready(c, status);
		return;
	}
	if (!c->tls) {
		set_ready(c);
		return;
	}
	r = tls_start(c);
	if (r < 0) {
		ERR_clear_error();
		fmt_err(c, "cannot set up TLS: %s", uv_strerror(r));
		fail_ready(c, r);
		return;
	}
	c->state = UPSTREAM_HANDSHAKING;
	if (c->timeout_ms)
		timer_set(c, T_HANDSHAKE, c->timeout_ms);
	r = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
	if (r < 0) {
		fmt_err(c, "cannot read: %s", uv_strerror(r));
		fail_ready(c, r);
		return;
	}
	handshake_step(c);
}

/* One read buffer for every connection: what a read brings is used or copied at once. */
static char rbuf[UPSTREAM_READ_MAX];

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	*buf = uv_buf_init(rbuf, sizeof(rbuf));
}

/* Hand OpenSSL's plaintext to on_data, one record per call, while the caller reads. */
static void drain(struct upstream_conn *c)
{
	char why[160];
	size_t got;
	int r, e;

	while (c->reading && c->state == UPSTREAM_READY) {
		ERR_clear_error();
		r = SSL_read_ex(c->ssl, rbuf, sizeof(rbuf), &got);
		if (r == 1) {
			c->on_data(c, rbuf, got);
			continue;
		}
		e = SSL_get_error(c->ssl, r);
		flush_tls(c, false, NULL);	/* a KeyUpdate's answer, say */
		if (e == SSL_ERROR_WANT_READ)
			return;
		if (e == SSL_ERROR_ZERO_RETURN) {
			c->eof = true;
			c->reading = false;
			uv_read_stop((uv_stream_t *)&c->tcp);
			if (c->on_eof)
				c->on_eof(c);
			return;
		}
		ssl_reason(why, sizeof(why));
		fmt_err(c, "TLS error: %s", why[0] ? why : "protocol error");
		fail_read(c, -EPROTO);
		return;
	}
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct upstream_conn *c = s->data;

	if (nread == 0)
		return;
	if (c->state == UPSTREAM_HANDSHAKING) {
		if (nread < 0) {
			if (nread == UV_EOF)
				fmt_err(c, "TLS handshake failed: "
					   "the server closed the connection");
			else
				fmt_err(c, "TLS handshake failed: %s", uv_strerror((int)nread));
			fail_ready(c, nread == UV_EOF ? -ECONNRESET : (int)nread);
			return;
		}
		if (BIO_write(c->rbio, buf->base, (int)nread) != (int)nread) {
			ERR_clear_error();
			fmt_err(c, "out of memory");
			fail_ready(c, -ENOMEM);
			return;
		}
		handshake_step(c);
		return;
	}
	if (c->state != UPSTREAM_READY || !c->reading)
		return;
	if (nread == UV_EOF) {
		/* Without close_notify too: the HTTP framing tells a truncated response. */
		c->eof = true;
		c->reading = false;
		uv_read_stop(s);
		if (c->on_eof)
			c->on_eof(c);
		return;
	}
	if (nread < 0) {
		fmt_err(c, "read failed: %s", uv_strerror((int)nread));
		fail_read(c, (int)nread);
		return;
	}
	if (!c->tls) {
		c->on_data(c, buf->base, (size_t)nread);
		return;
	}
	if (BIO_write(c->rbio, buf->base, (int)nread) != (int)nread) {
		ERR_clear_error();
		fmt_err(c, "out of memory");
		fail_read(c, -ENOMEM);
		return;
	}
	drain(c);
}

static void on_timer(uv_timer_t *t)
{
	struct upstream_conn *c = t->data;
	enum timer_what what = c->timer_what;

	c->timer_what = T_NONE;
	switch (what) {
	case T_CONNECT:
		fmt_err(c, "connect timed out after %llu ms", (unsigned long long)c->timeout_ms);
		fail_ready(c, -ETIMEDOUT);
		break;
	case T_HANDSHAKE:
		fmt_err(c, "TLS handshake timed out after %llu ms (hint: is it an HTTPS port?)",
			(unsigned long long)c->timeout_ms);
		fail_ready(c, -ETIMEDOUT);
		break;
	case T_DEFERRED:
		fmt_err(c, "cannot connect: %s", uv_strerror(c->deferred));
		fail_ready(c, c->deferred);
		break;
	case T_DRAIN:
		drain(c);
		break;
	case T_IDLE:
		pool_discard(c);
		break;
	case T_NONE:
		break;
	}
}

static void fmt_addr(const struct sockaddr *addr, char *out, size_t len, uint16_t *port)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)addr;

		uv_ip4_name(a, ip, sizeof(ip));
		*port = ntohs(a->sin_port);
		snprintf(out, len, "%s:%u", ip, *port);
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;

		uv_ip6_name(a, ip, sizeof(ip));
		*port = ntohs(a->sin6_port);
		snprintf(out, len, "[%s]:%u", ip, *port);
	}
}

int upstream_connect(struct upstream_conn *c, uv_loop_t *loop, const struct sockaddr *addr,
		     const char *host, bool tls, SSL_CTX *ctx, uint64_t timeout_ms,
		     upstream_cb on_ready, void *data)
{
	size_t hl;
	int r;

	if (!c || !loop || !addr || !host || !on_ready || (tls && !ctx))
		return -EINVAL;
	if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	hl = strlen(host);
	if (hl == 0)
		return -EINVAL;
	if (hl > UPSTREAM_HOST_MAX)
		return -ENAMETOOLONG;

	memset(c, 0, sizeof(*c));
	memcpy(c->host, host, hl + 1);
	fmt_addr(addr, c->addr, sizeof(c->addr), &c->port);
	c->tls = tls;
	c->ctx = tls ? ctx : NULL;
	c->timeout_ms = timeout_ms;
	c->on_ready = on_ready;
	c->data = data;
	c->verify_result = X509_V_OK;
	c->state = UPSTREAM_CONNECTING;

	/* Neither fails for these arguments: from here on there are handles to close. */
	uv_timer_init(loop, &c->timer);
	uv_tcp_init(loop, &c->tcp);
	c->timer.data = c;
	c->tcp.data = c;
	c->connect_req.data = c;
	c->handles = 2;
	uv_tcp_nodelay(&c->tcp, 1);

	r = uv_tcp_connect(&c->connect_req, &c->tcp, addr, on_connect);
	if (r < 0) {
		c->deferred = r;
		timer_set(c, T_DEFERRED, 0);
	} else if (timeout_ms) {
		timer_set(c, T_CONNECT, timeout_ms);
	}
	return 0;
}

int upstream_write(struct upstream_conn *c, const uv_buf_t *bufs, unsigned n, upstream_write_cb cb)
{
	struct wreq *w;
	uv_buf_t empty = uv_buf_init(NULL, 0);
	char why[160];
	int r;

	if (c->state != UPSTREAM_READY)
		return -ENOTCONN;
	if (c->tls) {
		ERR_clear_error();
		for (unsigned i = 0; i < n; i++) {
			size_t done;

			if (bufs[i].len == 0)
				continue;
			if (SSL_write_ex(c->ssl, bufs[i].base, bufs[i].len, &done) != 1) {
				ssl_reason(why, sizeof(why));
				fmt_err(c, "TLS write failed: %s", why[0] ? why : "protocol error");
				return -EPROTO;
			}
		}
		return flush_tls(c, true, cb);
	}
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cb = cb;
	w->user = true;
	if (n == 0)
		r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &empty, 1, on_written);
	else
		r = uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, n, on_written);
	if (r < 0) {
		free(w);
		return r;
	}
	c->writes++;
	return 0;
}

size_t upstream_write_queue_size(const struct upstream_conn *c)
{
	return c->tcp.write_queue_size;
}

int upstream_read_start(struct upstream_conn *c)
{
	int r;

	if (c->state != UPSTREAM_READY || c->eof || !c->on_data)
		return -ENOTCONN;
	if (c->reading)
		return 0;
	r = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
	if (r < 0)
		return r;
	c->reading = true;
	/* OpenSSL may hold plaintext from the last read: hand it over from the loop. */
	if (c->tls && (SSL_has_pending(c->ssl) || BIO_ctrl_pending(c->rbio) > 0))
		timer_set(c, T_DRAIN, 0);
	return 0;
}

void upstream_read_stop(struct upstream_conn *c)
{
	if (!c->reading)
		return;
	c->reading = false;
	if (c->timer_what == T_DRAIN)
		timer_clear(c);
	uv_read_stop((uv_stream_t *)&c->tcp);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct upstream_conn *c = h->data;
	upstream_close_cb cb;

	if (--c->handles > 0)
		return;
	SSL_free(c->ssl);	/* and both BIOs */
	c->ssl = NULL;
	c->rbio = c->wbio = NULL;
	cb = c->close_cb;
	c->close_cb = NULL;
	if (cb)
		cb(c);
}

void upstream_close(struct upstream_conn *c, upstream_close_cb cb)
{
	if (c->state == UPSTREAM_CLOSING)
		return;
	if (c->state == UPSTREAM_READY && c->ssl) {
		ERR_clear_error();
		SSL_shutdown(c->ssl);
		flush_tls_now(c);
		ERR_clear_error();
	}
	c->state = UPSTREAM_CLOSING;
	c->reading = false;
	c->close_cb = cb;
	c->timer_what = T_NONE;
	/* Pending writes and the connect request are cancelled before the close callback. */
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* Pool */

void upstream_pool_init(struct upstream_pool *p, unsigned max_per_key, uint64_t idle_ms)
{
	memset(p, 0, sizeof(*p));
	p->max_per_key = max_per_key;
	p->idle_ms = idle_ms;
}

static bool same_key(const struct upstream_conn *c, const char *host, uint16_t port, bool tls,
		     SSL_CTX *ctx)
{
	return c->port == port && c->tls == tls && c->ctx == (tls ? ctx : NULL) &&
	       strcasecmp(c->host, host) == 0;
}

static void pool_unlink(struct upstream_pool *p, struct upstream_conn *c)
{
	for (struct upstream_conn **pp = &p->idle; *pp; pp = &(*pp)->pool_next) {
		if (*pp == c) {
			*pp = c->pool_next;
			c->pool_next = NULL;
			p->nidle--;
			return;
		}
	}
}

static void pool_maybe_done(struct upstream_pool *p)
{
	void (*cb)(struct upstream_pool *) = p->close_cb;

	if (!p->closing || p->nidle > 0 || p->nclosing > 0)
		return;
	p->close_cb = NULL;
	if (cb)
		cb(p);
}

static void pool_conn_closed(struct upstream_conn *c)
{
	struct upstream_pool *p = c->pool;

	free(c);
	p->nclosing--;
	pool_maybe_done(p);
}

/* Close and free a connection the pool owns (idle or just refused). */
static void pool_discard(struct upstream_conn *c)
{
	struct upstream_pool *p = c->pool;

	pool_unlink(p, c);
	p->nclosing++;
	upstream_close(c, pool_conn_closed);
}

static void pool_on_data(struct upstream_conn *c, const char *data, size_t len)
{
	pool_discard(c);	/* an idle server has nothing to say */
}

static void pool_on_eof(struct upstream_conn *c)
{
	pool_discard(c);
}

static void pool_on_error(struct upstream_conn *c, int status, const char *err)
{
	pool_discard(c);
}

struct upstream_conn *upstream_pool_get(struct upstream_pool *p, const char *host, uint16_t port,
					bool tls, SSL_CTX *ctx)
{
	struct upstream_conn *c;

	if (p->closing)
		return NULL;
	for (c = p->idle; c; c = c->pool_next) {
		if (same_key(c, host, port, tls, ctx))
			break;
	}
	if (!c)
		return NULL;
	pool_unlink(p, c);
	upstream_read_stop(c);
	timer_clear(c);
	c->pool = NULL;
	c->on_data = NULL;
	c->on_eof = NULL;
	c->on_error = NULL;
	c->data = NULL;
	return c;
}

void upstream_pool_put(struct upstream_pool *p, struct upstream_conn *c)
{
	unsigned same = 0;
	bool reusable;

	if (c->state == UPSTREAM_CLOSING)
		return;		/* already on its way out: its close callback owns it */
	for (struct upstream_conn *i = p->idle; i; i = i->pool_next)
		same += same_key(i, c->host, c->port, c->tls, c->ctx);
	reusable = !p->closing && c->state == UPSTREAM_READY && !c->eof && c->writes == 0 &&
		   same < p->max_per_key;
	upstream_read_stop(c);
	timer_clear(c);
	c->pool = p;
	c->on_data = pool_on_data;
	c->on_eof = pool_on_eof;
	c->on_error = pool_on_error;
	c->data = NULL;
	c->pool_next = p->idle;
	p->idle = c;
	p->nidle++;
	if (!reusable || upstream_read_start(c) < 0) {
		pool_discard(c);
		return;
	}
	if (c->timer_what == T_DRAIN) {
		/* Session tickets, or bytes no request asked for (then it goes). */
		timer_clear(c);
		drain(c);
		if (c->pool != p || c->state != UPSTREAM_READY)
			return;
	}
	if (p->idle_ms)
		timer_set(c, T_IDLE, p->idle_ms);
}

void upstream_pool_close(struct upstream_pool *p, void (*cb)(struct upstream_pool *))
{
	if (p->closing)
		return;
	p->closing = true;
	p->close_cb = cb;
	while (p->idle)
		pool_discard(p->idle);
	pool_maybe_done(p);
}
