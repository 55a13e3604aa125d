/*
 * proxy: the fleet's credential proxy. One struct proxy serves a listener per service, made in
 * that service's netns: reverse credential routes, and CONNECT / absolute-form requests to the
 * service's allowlisted hosts (a 503 stub when the service has no session).
 */
#ifndef NONO_PROXY_H
#define NONO_PROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "upstream.h"

#include "routes.h"
#include "token.h"

/* Limits: each is named in the reply and the audit record when it is hit (proxy_limit_reason). */
struct proxy_limits {
	unsigned conns_per_service; /* open client connections per service listener: else 503 */
	unsigned conns_total;	    /* over every listener: else 503 */
	uint64_t header_bytes;	    /* request head: else 431 */
	uint64_t body_bytes;	    /* request body, framing included: else 413 */
	uint64_t idle_ms;	    /* silence on a connection between or inside request heads */
	uint64_t head_ms;	    /* the whole head, however it trickles in: else 408 */
	uint64_t connect_ms;	    /* resolve + connect + TLS handshake: else 504 */
	uint64_t stream_ms;	    /* silence while forwarding or tunnelling: else 504 or cut */
};

#define PROXY_LINGER_MS	  2000		/* after the reply: drain what the client still sends */
#define PROXY_DRAIN_MS	  30000		/* last response bytes still queued to the client */
#define PROXY_BACKLOG	  511
#define PROXY_SERVICE_MAX 64
#define PROXY_PIPE_MAX	  (256 * 1024)	/* bytes queued either way before reading pauses */
#define PROXY_READ_MAX	  (64 * 1024)	/* one read from a client */
#define PROXY_POOL_PER_HOST 256		/* idle upstream connections kept per upstream: a
					   service at its client limit never churns TLS */
#define PROXY_POOL_IDLE_MS  30000

/* The defaults: 256 per service, 4096 in all, 64 KiB heads, 16 MiB bodies, 10 s idle,
 * 30 s for a head, 30 s to connect, 300 s of silence while streaming. */
void proxy_limits_default(struct proxy_limits *l);

struct audit;
struct audit_entry;
struct ssl_ctx_st;

struct proxy_credential {
	const struct route *route; /* resolved route, owned by the supervisor */
	const char *secret;	   /* the real key, owned by the supervisor (wiped there) */
	size_t secret_len;
	struct ssl_ctx_st *ctx; /* SSL_CTX for the route's upstream (NULL for http upstreams) */
};

struct hostrules;

struct proxy_session {
	char service[PROXY_SERVICE_MAX + 1];
	char id[TOKEN_ID_LEN + 1]; /* non-secret session id for audit records */
	struct token token;	   /* the phantom token of this session */
	const struct proxy_credential *creds;
	size_t n_creds;
	struct audit *audit; /* may be NULL */
	/* CONNECT and absolute-form: the hosts it may reach (NULL: none). Address entries
	 * also allow that range, loopback and private ones included. */
	const struct hostrules *allow;
};

/*
 * The one proxy of the fleet: limits, the connection count over every listener, the
 * pool of idle upstream connections, one read buffer. Embed it; listeners point at it.
 */
struct proxy {
	uv_loop_t *loop;
	struct proxy_limits limits;
	unsigned nconns;	       /* client connections open, every listener */
	unsigned long refused;	       /* connections refused by a connection limit */
	unsigned long accepted;	       /* client connections accepted, ever */
	struct proxy_listener *waiters; /* listeners held back by the total limit */
	struct upstream_pool pool;
	struct audit *audit; /* for requests no session claims (the shared listener); may be NULL */
	/* Sees every request's record as it completes, audited or not (may be NULL). */
	void (*observe)(struct proxy *px, const struct audit_entry *e);
	void *data;
	/* Live sessions: the shared listener finds a request's session by its token. */
	const struct proxy_session **sessions;
	size_t nsessions, capsessions;
	struct proxy_listener *shared; /* NULL unless proxy_shared_open() */
	bool always_session;	       /* a session even with nothing to serve: refusals explained */
	bool closing;
	void (*close_cb)(struct proxy *);
	char rbuf[PROXY_READ_MAX]; /* reads are consumed inside the read callback */
};

/* limits NULL: the defaults. */
void proxy_init(struct proxy *px, uv_loop_t *loop, const struct proxy_limits *limits);
/*
 * Close the shared listener and the pool; cb (may be NULL) runs when they are gone. The
 * per-service listeners must be closed first.
 */
void proxy_close(struct proxy *px, void (*cb)(struct proxy *));

struct policy;

/*
 * A session for a process about to start: a fresh phantom token and id, the credentials,
 * the policy's allowlisted hosts, registered with px. *out stays NULL (and 0 is returned)
 * when there is nothing to serve: no credentials and no hosts, no proxy, or no sandbox.
 */
int proxy_session_new(struct proxy *px, struct proxy_session **out, const char *service,
		      const struct proxy_credential *creds, size_t n_creds,
		      const struct policy *policy, struct audit *audit, char *why, size_t len);
/* Unregister (closing its connections), wipe the token, free. NULL: nothing. */
void proxy_session_free(struct proxy *px, struct proxy_session *s);

/* Register a session (while its process runs) / drop it, closing what it has open. */
int proxy_session_add(struct proxy *px, const struct proxy_session *s);
void proxy_session_remove(struct proxy *px, const struct proxy_session *s);

/*
 * Where services get no network namespace: one listener on 127.0.0.1:port in ours, shared
 * by every session. A reverse-route request is claimed by the session whose phantom token
 * it carries, CONNECT and absolute-form by the token in Proxy-Authorization; nothing else
 * is served. 0 or a negative errno with err.
 */
int proxy_shared_open(struct proxy *px, int port, char *err, size_t errlen);

struct proxy_conn;
struct proxy;

/*
 * The listener identifies the service: it was created in that service's private netns.
 * Embed it in the owner; it is released only through proxy_listener_close().
 */
struct proxy_listener {
	uv_tcp_t tcp;
	struct proxy *px;
	char service[PROXY_SERVICE_MAX + 1];
	const struct proxy_session *session; /* NULL: the 503 stub */
	struct proxy_conn *conns;	     /* open connections */
	unsigned nconns;		     /* connections not yet freed (closing ones too) */
	unsigned long served;		     /* replies written */
	bool have_handle;
	bool shared; /* no netns: one listener for every session, which the token identifies */
	bool waiting;			     /* a connection waits in the backlog for a slot */
	struct proxy_listener *wait_next;    /* in proxy.waiters: waits for the total to drop */
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
int proxy_listener_open(struct proxy_listener *pl, struct proxy *px, int fd,
			const struct proxy_session *session, char *err, size_t errlen);

/*
 * Close the listener and every connection; cb (may be NULL) runs once all of them are
 * closed and freed, and only then may pl's memory go. A second call does nothing.
 */
void proxy_listener_close(struct proxy_listener *pl, void (*cb)(struct proxy_listener *));

#endif
