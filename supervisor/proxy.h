/* proxy: the per-service proxy listener in the service's netns: reverse credential routes
 * (a 503 stub when the service has no session). */
#ifndef NONO_PROXY_H
#define NONO_PROXY_H

#include <stdbool.h>
#include <uv.h>

#include "routes.h"
#include "token.h"

#define PROXY_CONN_MAX	  64	      /* connections served at once; more wait in the backlog */
#define PROXY_HEAD_MAX	  (64 * 1024) /* request head bytes, else 431 */
#define PROXY_IDLE_MS	  10000	      /* silence while reading the head, else closed */
#define PROXY_HEAD_MS	  30000	      /* the whole head, however it trickles in */
#define PROXY_LINGER_MS	  2000	      /* after the reply: drain what the client still sends */
#define PROXY_BACKLOG	  128
#define PROXY_SERVICE_MAX 64
#define PROXY_BODY_MAX	  (16ULL * 1024 * 1024) /* request body bytes (framing too), else 413 */
#define PROXY_CONNECT_MS  30000			/* resolve + connect + TLS handshake, else 502 */
#define PROXY_STREAM_MS	  300000 /* silence while forwarding (request or response), else 504 */
#define PROXY_DRAIN_MS	  30000	 /* last response bytes still queued to the client */
#define PROXY_PIPE_MAX	  (256 * 1024) /* bytes queued either way before reading pauses */

struct audit;
struct ssl_ctx_st;

struct proxy_credential {
	const struct route *route; /* resolved route, owned by the supervisor */
	const char *secret;	   /* the real key, owned by the supervisor (wiped there) */
	size_t secret_len;
	struct ssl_ctx_st *ctx; /* SSL_CTX for the route's upstream (NULL for http upstreams) */
};

struct proxy_session {
	char service[PROXY_SERVICE_MAX + 1];
	char id[TOKEN_ID_LEN + 1]; /* non-secret session id for audit records */
	struct token token;	   /* the phantom token of this session */
	const struct proxy_credential *creds;
	size_t n_creds;
	struct audit *audit; /* may be NULL */
};

struct proxy_conn;

/*
 * The listener identifies the service: it was created in that service's private netns.
 * Embed it in the owner; it is released only through proxy_listener_close().
 */
struct proxy_listener {
	uv_tcp_t tcp;
	char service[PROXY_SERVICE_MAX + 1];
	const struct proxy_session *session; /* NULL: the 503 stub */
	struct proxy_conn *conns;	     /* open connections */
	unsigned nconns;		     /* connections not yet freed (closing ones too) */
	unsigned long served;		     /* replies written */
	bool have_handle;
	bool waiting; /* a connection waits for a free slot */
	bool closing;
	bool tcp_closed;
	void (*close_cb)(struct proxy_listener *);
};

/*
 * Serve the listening TCP socket fd (received from the exec helper) on loop. Takes fd
 * whatever happens. Success or failure, pl is then released with proxy_listener_close().
 * session == NULL: every request is answered 503. The session outlives the listener.
 * 0 or a negative errno (-ENOTSOCK: fd is not a listening TCP socket).
 */
int proxy_listener_open(struct proxy_listener *pl, uv_loop_t *loop, int fd,
			const struct proxy_session *session, char *err, size_t errlen);

/*
 * Close the listener and every connection; cb (may be NULL) runs once all of them are
 * closed and freed, and only then may pl's memory go. A second call does nothing.
 */
void proxy_listener_close(struct proxy_listener *pl, void (*cb)(struct proxy_listener *));

#endif
