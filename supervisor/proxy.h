/* proxy: the per-run proxy listener from the service's netns (a 503 stub until the proxy lands). */
#ifndef NONO_PROXY_H
#define NONO_PROXY_H

#include <stdbool.h>
#include <uv.h>

#define PROXY_CONN_MAX	  64		/* connections served at once; more wait in the backlog */
#define PROXY_HEAD_MAX	  (64 * 1024)	/* request head bytes, else 431 */
#define PROXY_IDLE_MS	  10000		/* silence while reading the head, else closed */
#define PROXY_HEAD_MS	  30000		/* the whole head, however it trickles in */
#define PROXY_LINGER_MS	  2000		/* after the reply: drain what the client still sends */
#define PROXY_BACKLOG	  128
#define PROXY_SERVICE_MAX 64

struct proxy_conn;

/*
 * The listener identifies the service: it was created in that service's private netns.
 * Embed it in the owner; it is released only through proxy_listener_close().
 */
struct proxy_listener {
	uv_tcp_t tcp;
	char service[PROXY_SERVICE_MAX + 1];
	struct proxy_conn *conns;	/* open connections */
	unsigned nconns;		/* connections not yet freed (closing ones too) */
	unsigned long served;		/* replies written */
	bool have_handle;
	bool waiting;			/* a connection waits for a free slot */
	bool closing;
	bool tcp_closed;
	void (*close_cb)(struct proxy_listener *);
};

/*
 * Serve the listening TCP socket fd (received from the exec helper) on loop. Takes fd
 * whatever happens. Success or failure, pl is then released with proxy_listener_close().
 * 0 or a negative errno (-ENOTSOCK: fd is not a listening TCP socket).
 */
int proxy_listener_open(struct proxy_listener *pl, uv_loop_t *loop, int fd, const char *service,
			char *err, size_t errlen);

/*
 * Close the listener and every connection; cb (may be NULL) runs once all of them are
 * closed and freed, and only then may pl's memory go. A second call does nothing.
 */
void proxy_listener_close(struct proxy_listener *pl, void (*cb)(struct proxy_listener *));

#endif
