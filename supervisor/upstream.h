/* upstream: the proxy's outbound connections (TLS over memory BIOs) and their keep-alive pool. */
#ifndef NONO_UPSTREAM_H
#define NONO_UPSTREAM_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define UPSTREAM_HOST_MAX 253		/* host name bytes (SNI and verification) */
#define UPSTREAM_READ_MAX (16 * 1024)	/* one read: at most one TLS record's plaintext */
#define UPSTREAM_ERR_MAX  320		/* a failure's message */

struct upstream_conn;
struct upstream_pool;

/* status 0 and err NULL when ready; else a negative errno and a message naming the host. */
typedef void (*upstream_cb)(struct upstream_conn *c, int status, const char *err);
/* status 0 once the bytes are handed to the kernel; UV_ECANCELED if closed first. */
typedef void (*upstream_write_cb)(struct upstream_conn *c, int status);
typedef void (*upstream_data_cb)(struct upstream_conn *c, const char *data, size_t len);
typedef void (*upstream_eof_cb)(struct upstream_conn *c);
typedef void (*upstream_error_cb)(struct upstream_conn *c, int status, const char *err);
typedef void (*upstream_close_cb)(struct upstream_conn *c);

enum upstream_state {
	UPSTREAM_CONNECTING,
	UPSTREAM_HANDSHAKING,
	UPSTREAM_READY,
	UPSTREAM_FAILED,	/* on_ready or on_error said why; only upstream_close() is left */
	UPSTREAM_CLOSING,
};

/*
 * One connection. Embed it or allocate it (a pool frees what it holds with free()).
 * Set on_data, on_eof and on_error before upstream_read_start(); data is the caller's.
 */
struct upstream_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect_req;
	SSL *ssl;
	BIO *rbio;			/* network -> OpenSSL */
	BIO *wbio;			/* OpenSSL -> network */
	SSL_CTX *ctx;			/* for the pool key only; the SSL holds its own reference */
	enum upstream_state state;
	int timer_what;
	int deferred;			/* a synchronous connect error, reported from the timer */
	uint64_t timeout_ms;
	uint16_t port;
	bool tls;
	bool reading;			/* the caller wants on_data */
	bool eof;
	unsigned handles;		/* open handles; close_cb runs at 0 */
	unsigned writes;		/* upstream_write() requests in flight */
	long verify_result;		/* X509_V_OK, or why the certificate was refused */
	upstream_cb on_ready;
	upstream_data_cb on_data;
	upstream_eof_cb on_eof;
	upstream_error_cb on_error;
	upstream_close_cb close_cb;
	void *data;
	struct upstream_pool *pool;	/* set while the pool owns it */
	struct upstream_conn *pool_next;
	char host[UPSTREAM_HOST_MAX + 1];
	char addr[64];			/* "127.0.0.1:443", "[::1]:443" */
	char err[UPSTREAM_ERR_MAX];
};

/*
 * A client context: TLS >= 1.2, peer verification on, ALPN http/1.1, no renegotiation.
 * ca_file is a PEM bundle to trust instead of the system roots (NULL: system roots).
 * NULL on failure, with the reason in err. Free with SSL_CTX_free().
 */
SSL_CTX *upstream_ctx_new(const char *ca_file, char *err, size_t errlen);

/*
 * Connect to addr (already resolved and checked by the caller; nothing is resolved
 * here), then, if tls, handshake with SNI host and verify the certificate chain against
 * ctx and the certificate against host (a name, or an IP literal). timeout_ms bounds the
 * TCP connect and then the handshake, each (0: no limit). on_ready runs exactly once
 * unless c is closed first. 0, or -EINVAL / -EAFNOSUPPORT / -ENAMETOOLONG with nothing
 * to release. After 0, c is released only with upstream_close(), whatever happens.
 * Errors: -ECONNREFUSED, -ETIMEDOUT (connect or handshake), -EPROTO (handshake failed),
 * -ECONNRESET (closed during the handshake), -EKEYREJECTED (certificate refused; see
 * c->verify_result, X509_V_ERR_HOSTNAME_MISMATCH for a host name mismatch), or the
 * connect's own errno.
 */
int upstream_connect(struct upstream_conn *c, uv_loop_t *loop, const struct sockaddr *addr,
		     const char *host, bool tls, SSL_CTX *ctx, uint64_t timeout_ms,
		     upstream_cb on_ready, void *data);

/*
 * Send bufs (encrypted if TLS). cb (may be NULL) runs when they are handed to the
 * kernel: wait for it before writing more to bound memory. Plaintext bufs are written in
 * place and must stay valid until cb; TLS copies them. 0, -ENOTCONN before ready or
 * after a failure, or a negative errno.
 */
int upstream_write(struct upstream_conn *c, const uv_buf_t *bufs, unsigned n, upstream_write_cb cb);

/* Bytes queued for the kernel, not yet written (for backpressure). */
size_t upstream_write_queue_size(const struct upstream_conn *c);

/*
 * Deliver decrypted bytes to on_data as each read arrives (no buffering beyond one read),
 * then on_eof or on_error once. May be called from inside on_data. 0, or -ENOTCONN.
 * on_data's bytes are in one buffer shared by every connection (connections live on one
 * loop thread): use or copy them before anything that may read again.
 */
int upstream_read_start(struct upstream_conn *c);
void upstream_read_stop(struct upstream_conn *c);

/*
 * Send close_notify if it can go at once, then close. Safe at any stage, twice too.
 * Afterwards only write callbacks (UV_ECANCELED) and then cb (may be NULL) run; c's
 * memory may go in cb.
 */
void upstream_close(struct upstream_conn *c, upstream_close_cb cb);

/*
 * Idle connections kept for reuse, up to max_per_key per (host, port, tls, ctx), each
 * closed after idle_ms unused, or as soon as its server closes or speaks. Embed it; close
 * it with upstream_pool_close() and free its memory only in that callback.
 */
struct upstream_pool {
	unsigned max_per_key;
	uint64_t idle_ms;
	struct upstream_conn *idle;	/* most recently put first */
	unsigned nidle;
	unsigned nclosing;		/* closed by the pool, close callback pending */
	bool closing;
	void (*close_cb)(struct upstream_pool *);
};

void upstream_pool_init(struct upstream_pool *p, unsigned max_per_key, uint64_t idle_ms);

/* An idle, ready connection for that key (now the caller's, callbacks cleared), or NULL. */
struct upstream_conn *upstream_pool_get(struct upstream_pool *p, const char *host, uint16_t port,
					bool tls, SSL_CTX *ctx);

/*
 * Give back a connection whose last response was read whole, from malloc()/calloc().
 * The pool owns it from now on: it keeps it, or closes and frees it (not ready, bytes
 * in flight, full, or closing).
 */
void upstream_pool_put(struct upstream_pool *p, struct upstream_conn *c);

/* Close and free every idle connection; cb (may be NULL) runs when all are gone. */
void upstream_pool_close(struct upstream_pool *p, void (*cb)(struct upstream_pool *));

#endif
