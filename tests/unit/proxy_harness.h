/* proxy_harness: the proxy on a loop in the test process, a forked client reporting through a
 * pipe, and a forked plain-HTTP upstream on loopback that logs what it gets. */
#ifndef NONO_TEST_PROXY_HARNESS_H
#define NONO_TEST_PROXY_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "audit.h"
#include "proxy.h"

#define TOKEN	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define REALKEY "REALKEY-sk-4242"

struct harness {
	uv_loop_t loop;
	struct proxy px;
	struct proxy_listener pl;
	uv_pipe_t result;
	uv_timer_t guard;
	char text[65536];
	size_t len;
	bool listener_freed;
	bool timed_out;
};

typedef void (*client_fn)(int port, int out);

extern struct route routes[2];
extern struct proxy_credential creds[2];
extern struct proxy_session session;	/* token TOKEN, routes openai and anthropic */
extern struct audit audit;
extern char upstream_log[];
extern char audit_log[];
extern int upstream_port;

int listen_lo(int *port);
int tcp_connect(int port);
void put(int out, const char *s);
int send_all_n(int fd, const char *s, size_t len);
int send_all(int fd, const char *s);
/* Read one head (to the blank line) into buf; the body bytes read with it stay after it. */
ssize_t read_head(int fd, char *buf, size_t size, size_t *have);
long content_length(const char *head);
/* Serve s on a fresh listener until the client (forked, given its port) closes its pipe. */
void run_proxy(struct harness *h, const struct proxy_session *s, client_fn client);
/* One request on fd; the response (head and Content-Length body, or to EOF) goes to out. */
void exchange_on(int fd, const char *req, int out);
void exchange(int port, const char *req, int out);
char *slurp(const char *path);
void setup_session(void);
void teardown_session(void);

#endif
