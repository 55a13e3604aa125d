/*
 * proxy_internal: what proxy.c (listeners, connections, replies), proxy_forward.c (HTTP
 * requests forwarded upstream: reverse routes and absolute-form), proxy_tunnel.c (CONNECT
 * and the host checks) and proxy_session.c share. Nothing outside these files includes it.
 */
#ifndef NONO_PROXY_INTERNAL_H
#define NONO_PROXY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "audit.h"
#include "hostrules.h"
#include "http.h"
#include "proxy.h"
#include "upstream.h"
#include "util.h"

enum conn_state {
	CONN_HEAD,    /* reading a request head */
	CONN_REPLY,   /* writing the reply, then shutting down our side */
	CONN_LINGER,  /* reply sent: discard input until EOF so the peer sees it, not a RST */
	CONN_RESOLVE, /* resolving the upstream host */
	CONN_CONNECT, /* TCP connect (and TLS handshake) */
	CONN_FORWARD, /* relaying the request body and the response */
	CONN_TUNNEL,  /* CONNECT established: bytes both ways */
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
	struct upstream_conn uc; /* first: callbacks get &uc, and the pool frees &uc */
	struct proxy_conn *c;	 /* NULL once detached */
	struct wblock *head, *tail;
	size_t inflight;
};

/* Where a request goes: a route's upstream, or a checked absolute-form or CONNECT host. */
struct target {
	char host[HOSTRULES_HOST_MAX + 2]; /* a name, or an address literal ([v6]) */
	uint16_t port;
	bool tls;
	bool checked;	/* addr holds the address the host rules allowed */
	SSL_CTX *ctx;	/* tls only */
	struct sockaddr_storage addr;
};

/* The request under way: allocated per request, so an idle connection costs little. */
struct exchange {
	struct http_head req;
	struct http_head resp;
	struct target to;
	char path[AUDIT_PATH_MAX + 1]; /* without the query, for the audit record */
};

struct proxy_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_shutdown_t shutdown;
	uv_getaddrinfo_t gai;
	struct proxy_listener *pl;
	struct proxy_conn *prev, *next;
	enum conn_state state;
	int handles;  /* open handles and requests; freed at 0 */
	bool peer_eof;
	bool reading;	 /* uv_read_start is in effect */
	bool in_request; /* bytes of a request arrived, not yet audited */
	bool keep_alive; /* the client wants the connection kept */
	bool is_head;
	bool req_done;
	bool resp_started; /* the response head (or CONNECT's 200) went to the client */
	bool resp_done;
	bool up_paused;	   /* upstream reads stopped for the client's write queue */
	bool up_reused;	   /* the upstream connection came from the pool */
	uint64_t deadline; /* for the whole head */
	unsigned newlines; /* the stub: line ends in a row ('\r' aside), 2 ends the head */

	const struct proxy_session *s; /* whose request this is (NULL: none yet) */
	struct exchange *x; /* NULL between requests */
	const struct proxy_credential *cred;
	struct up_link *up;
	struct buf in;	  /* client bytes not consumed yet: head, body, then pipelined */
	struct buf uhead; /* the head to send upstream (may hold the real key) */
	struct buf rhead; /* the response head as it arrives */
	struct http_body reqb;
	struct http_body respb;
	enum audit_kind kind;
	int status;
	uint64_t t0;
	uint64_t bytes_in;
	uint64_t bytes_out;
	char method[AUDIT_METHOD_MAX + 1];
};

/* proxy.c */
void proxy__conn_close(struct proxy_conn *c);
void proxy__conn_unref(struct proxy_conn *c);
void proxy__timer(struct proxy_conn *c, uint64_t ms);
void proxy__update_read(struct proxy_conn *c);
int proxy__write(struct proxy_conn *c, const char *p, size_t n);
void proxy__audit(struct proxy_conn *c, enum audit_decision decision, const char *reason);
/* Answer with a JSON error and close; a response already under way is cut instead. */
void proxy__reply(struct proxy_conn *c, int status, const char *msg, enum audit_decision d);
/* The exchange is over: audit it, then the next request or close. */
void proxy__finish(struct proxy_conn *c, bool again, const char *reason);

/* proxy_forward.c */
/* A whole request head for a route (origin-form) at in[0..hlen). */
void proxy__route_request(struct proxy_conn *c, size_t hlen);
/* c->to is set: rewrite the head for it, then resolve (or use c->to.addr) and connect. */
void proxy__forward(struct proxy_conn *c, size_t hlen, const char *target, const char *secret_hdr,
		    const char *secret_val);
void proxy__forward_body(struct proxy_conn *c);
void proxy__forward_timeout(struct proxy_conn *c);
/* Resolve c->x->to in a worker; cb gets the answer, and starts with proxy__resolved(). */
void proxy__resolve(struct proxy_conn *c, uv_getaddrinfo_cb cb);
/* false (res freed; c answered, or gone if cancelled) unless res holds addresses. */
bool proxy__resolved(struct proxy_conn *c, int status, struct addrinfo *res);
/* Connect to a checked or resolved address; ready runs when it is up (or failed). */
int proxy__up_connect(struct proxy_conn *c, const struct sockaddr *sa, upstream_cb ready);
int proxy__up_send(struct proxy_conn *c, char *data, size_t len, size_t cap, bool owned,
		   bool secret);
void proxy__up_detach(struct proxy_conn *c, bool reuse);

/* proxy_tunnel.c */
/* A CONNECT or absolute-form request head at in[0..hlen): check, then tunnel or forward. */
void proxy__proxy_request(struct proxy_conn *c, size_t hlen);
void proxy__tunnel_data(struct proxy_conn *c);
void proxy__tunnel_eof(struct proxy_conn *c);

#endif
