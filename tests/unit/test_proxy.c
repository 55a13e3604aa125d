/* The proxy with a session: reverse routes to a forked plain-HTTP upstream on loopback. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "audit.h"
#include "proxy.h"

#define TOKEN	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define REALKEY "REALKEY-sk-4242"

static int listen_lo(int *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, 64), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static int tcp_connect(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 10};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void put(int out, const char *s)
{
	if (write(out, s, strlen(s)) < 0)
		_exit(2);
}

static int send_all_n(int fd, const char *s, size_t len)
{
	size_t sent = 0;

	while (sent < len) {
		ssize_t n = send(fd, s + sent, len - sent, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		sent += (size_t)n;
	}
	return 0;
}

static int send_all(int fd, const char *s)
{
	return send_all_n(fd, s, strlen(s));
}

/* Read one head (to the blank line) into buf; the body bytes read with it stay after it. */
static ssize_t read_head(int fd, char *buf, size_t size, size_t *have)
{
	for (;;) {
		char *end;
		ssize_t n;

		buf[*have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			return end + 4 - buf;
		if (*have + 1 >= size)
			return -1;
		n = recv(fd, buf + *have, size - 1 - *have, 0);
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
}

static long content_length(const char *head)
{
	const char *p = strcasestr(head, "\r\ncontent-length:");

	return p ? strtol(p + 17, NULL, 10) : -1;
}

/* ---- the fake upstream: logs each request head (and body) it gets to a file ---- */

static void upstream_serve(int lfd, const char *log)
{
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		char buf[65536];
		size_t have = 0;

		if (fd < 0)
			_exit(0);
		for (;;) {
			ssize_t hl = read_head(fd, buf, sizeof(buf), &have);
			long cl;
			FILE *f;

			if (hl < 0)
				break;
			cl = content_length(buf);
			while (cl > 0 && have < (size_t)hl + (size_t)cl) {
				ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);

				if (n <= 0)
					break;
				have += (size_t)n;
			}
			buf[have] = '\0';
			while (strcasestr(buf, "\r\ntransfer-encoding: chunked") &&
			       !strstr(buf + hl, "0\r\n\r\n")) {
				ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);

				if (n <= 0)
					break;
				have += (size_t)n;
				buf[have] = '\0';
			}
			f = fopen(log, "a");
			fprintf(f, "%s\n----\n", buf);
			fclose(f);
			if (strstr(buf, " /v1/sse")) {
				send_all(fd,
					 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
					 "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
				for (int i = 1; i <= 8; i++) {
					char ev[64];

					if (i == 4 && strstr(buf, " /v1/sse?short "))
						break;
					usleep(300000);
					snprintf(ev, sizeof(ev), "b\r\ndata: ev%d\n\n\r\n", i);
					if (send_all(fd, ev) < 0) {
						f = fopen(log, "a");
						fprintf(f, "the proxy closed before ev%d\n", i);
						fclose(f);
						break;
					}
				}
				send_all(fd, "0\r\n\r\n");
				break;
			}
			if (strstr(buf, " /v1/big ")) {
				static char big[1 << 20];

				memset(big, 'x', sizeof(big));
				send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 8388608\r\n\r\n");
				for (int i = 0; i < 8; i++)
					send_all_n(fd, big, sizeof(big));
				have = 0;
				continue;
			}
			send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				     "Connection: keep-alive\r\nX-Upstream: yes\r\n"
				     "Content-Length: 11\r\n\r\n{\"ok\":true}");
			have = 0;
		}
		close(fd);
	}
}

/* ---- the harness: the proxy on this loop, a forked client reporting through a pipe ---- */

struct harness {
	uv_loop_t loop;
	struct proxy_listener pl;
	uv_pipe_t result;
	uv_timer_t guard;
	char text[65536];
	size_t len;
	bool listener_freed;
	bool timed_out;
};

static void listener_freed_cb(struct proxy_listener *pl)
{
	struct harness *h = (struct harness *)((char *)pl - offsetof(struct harness, pl));

	h->listener_freed = true;
}

static void finish(struct harness *h)
{
	proxy_listener_close(&h->pl, listener_freed_cb);
	if (!uv_is_closing((uv_handle_t *)&h->guard))
		uv_close((uv_handle_t *)&h->guard, NULL);
	if (!uv_is_closing((uv_handle_t *)&h->result))
		uv_close((uv_handle_t *)&h->result, NULL);
}

static void guard_cb(uv_timer_t *t)
{
	struct harness *h = t->data;

	h->timed_out = true;
	finish(h);
}

static void result_alloc(uv_handle_t *hd, size_t sz, uv_buf_t *b)
{
	struct harness *h = hd->data;

	*b = uv_buf_init(h->text + h->len, (unsigned)(sizeof(h->text) - 1 - h->len));
}

static void result_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct harness *h = s->data;

	if (n > 0) {
		h->len += (size_t)n;
		h->text[h->len] = '\0';
	} else if (n < 0) {
		finish(h);
	}
}

typedef void (*client_fn)(int port, int out);

static struct route routes[2];
static struct proxy_credential creds[2];
static struct proxy_session session;
static struct audit audit;
static char upstream_log[] = "/tmp/nono-proxy-upstream-XXXXXX";
static char audit_log[] = "/tmp/nono-proxy-audit-XXXXXX";
static pid_t upstream_pid;

static void setup_session(void)
{
	char err[256];
	int port, lfd, fd;

	signal(SIGPIPE, SIG_IGN);
	fd = mkstemp(upstream_log);
	cr_assert_geq(fd, 0);
	close(fd);
	fd = mkstemp(audit_log);
	cr_assert_geq(fd, 0);
	close(fd);
	lfd = listen_lo(&port);
	upstream_pid = fork();
	cr_assert_geq(upstream_pid, 0);
	if (upstream_pid == 0)
		upstream_serve(lfd, upstream_log);
	close(lfd);

	routes[0] = (struct route){.name = "openai",
				   .tls = false,
				   .host = "127.0.0.1",
				   .port = (unsigned)port,
				   .path = "/v1",
				   .base_path = "/v1",
				   .header = "Authorization",
				   .format = "Bearer {}"};
	snprintf(routes[0].upstream, sizeof(routes[0].upstream), "http://127.0.0.1:%d/v1", port);
	routes[1] = (struct route){.name = "anthropic",
				   .tls = false,
				   .host = "127.0.0.1",
				   .port = (unsigned)port,
				   .path = "",
				   .base_path = "",
				   .header = "x-api-key",
				   .format = "{}"};
	snprintf(routes[1].upstream, sizeof(routes[1].upstream), "http://127.0.0.1:%d", port);
	for (int i = 0; i < 2; i++)
		creds[i] = (struct proxy_credential){
		    .route = &routes[i], .secret = REALKEY, .secret_len = strlen(REALKEY)};
	session = (struct proxy_session){
	    .service = "svc", .id = "cafe0001", .creds = creds, .n_creds = 2, .audit = &audit};
	memcpy(session.token.hex, TOKEN, sizeof(session.token.hex));
	cr_assert_eq(audit_open(&audit, audit_log, err, sizeof(err)), 0, "%s", err);
}

static void teardown_session(void)
{
	if (upstream_pid > 0) {
		kill(upstream_pid, SIGKILL);
		waitpid(upstream_pid, NULL, 0);
	}
	audit_close(&audit);
	unlink(upstream_log);
	unlink(audit_log);
}

static void run_proxy(struct harness *h, const struct proxy_session *s, client_fn client)
{
	char err[256] = "";
	int lfd, port, p[2], status = -1;
	pid_t pid;

	lfd = listen_lo(&port);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(lfd);
		close(p[0]);
		client(port, p[1]);
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(uv_loop_init(&h->loop), 0);
	cr_assert_eq(proxy_listener_open(&h->pl, &h->loop, lfd, s, err, sizeof(err)), 0, "%s", err);
	uv_pipe_init(&h->loop, &h->result, 0);
	uv_pipe_open(&h->result, p[0]);
	h->result.data = h;
	uv_read_start((uv_stream_t *)&h->result, result_alloc, result_read);
	uv_timer_init(&h->loop, &h->guard);
	h->guard.data = h;
	uv_timer_start(&h->guard, guard_cb, 20000, 0);
	uv_run(&h->loop, UV_RUN_DEFAULT);
	cr_assert_not(h->timed_out, "the exchange did not finish; client said: %s", h->text);
	cr_assert(h->listener_freed);
	cr_assert_eq(h->pl.nconns, 0);
	cr_assert_eq(uv_loop_close(&h->loop), 0, "handles left open");
	waitpid(pid, &status, 0);
	cr_assert_eq(status, 0, "client: %s", h->text);
}

/* One request on fd; the response (head and Content-Length body, or to EOF) goes to out. */
static void exchange_on(int fd, const char *req, int out)
{
	char buf[16384];
	size_t have = 0;
	ssize_t hl;
	long cl;

	send_all(fd, req);
	hl = read_head(fd, buf, sizeof(buf), &have);
	if (hl < 0) {
		put(out, "no response\n");
		return;
	}
	cl = content_length(buf);
	while (cl >= 0 ? have < (size_t)hl + (size_t)cl : true) {
		ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);

		if (n <= 0)
			break;
		have += (size_t)n;
	}
	buf[have] = '\0';
	put(out, buf);
	put(out, "\n====\n");
}

static void exchange(int port, const char *req, int out)
{
	int fd = tcp_connect(port);

	if (fd < 0) {
		put(out, "connect failed\n");
		return;
	}
	exchange_on(fd, req, out);
	close(fd);
}

static char *slurp(const char *path)
{
	static char text[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void client_bearer(int port, int out)
{
	exchange(port,
		 "POST /openai/v1/chat/completions?stream=false HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Authorization: Bearer " TOKEN "\r\nContent-Type: application/json\r\n"
		 "x-stainless-lang: js\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
		 out);
}

Test(proxy_session, bearer_phantom_is_replaced_by_the_real_key, .init = setup_session,
     .fini = teardown_session, .timeout = 30)
{
	static struct harness h;
	const char *up, *au;

	run_proxy(&h, &session, client_bearer);
	cr_assert(strstr(h.text, "HTTP/1.1 200 OK\r\n"), "%s", h.text);
	cr_assert(strstr(h.text, "X-Upstream: yes\r\n"), "%s", h.text);
	cr_assert(strstr(h.text, "\r\n\r\n{\"ok\":true}"), "%s", h.text);
	up = slurp(upstream_log);
	cr_assert(strstr(up, "POST /v1/chat/completions?stream=false HTTP/1.1\r\n"), "%s", up);
	cr_assert(strstr(up, "Authorization: Bearer " REALKEY "\r\n"), "%s", up);
	cr_assert(strstr(up, "x-stainless-lang: js\r\n"), "%s", up);
	cr_assert(strstr(up, "Content-Type: application/json\r\n"), "%s", up);
	cr_assert(strstr(up, "\r\n\r\n{\"a\":1}"), "%s", up);
	cr_assert_null(strstr(up, TOKEN), "%s", up);
	audit_flush(&audit);
	au = slurp(audit_log);
	cr_assert(strstr(au, "\"decision\":\"allow\""), "%s", au);
	cr_assert(strstr(au, "\"path\":\"/openai/v1/chat/completions\""), "%s", au);
	cr_assert(strstr(au, "\"session\":\"cafe0001\""), "%s", au);
	cr_assert_null(strstr(au, TOKEN));
	cr_assert_null(strstr(au, REALKEY));
	cr_assert_null(strstr(au, "stream=false"));
}

static void client_x_api_key(int port, int out)
{
	exchange(port,
		 "GET /anthropic/v1/models HTTP/1.1\r\nHost: x\r\nx-api-key: " TOKEN "\r\n"
		 "anthropic-version: 2023-06-01\r\n\r\n",
		 out);
}

Test(proxy_session, x_api_key_route, .init = setup_session, .fini = teardown_session, .timeout = 30)
{
	static struct harness h;
	char host[64];
	const char *up;

	run_proxy(&h, &session, client_x_api_key);
	cr_assert(strstr(h.text, "HTTP/1.1 200 OK\r\n"), "%s", h.text);
	up = slurp(upstream_log);
	cr_assert(strstr(up, "GET /v1/models HTTP/1.1\r\n"), "%s", up);
	snprintf(host, sizeof(host), "Host: 127.0.0.1:%u\r\n", routes[1].port);
	cr_assert(strstr(up, host), "%s", up);
	cr_assert(strstr(up, "x-api-key: " REALKEY "\r\n"), "%s", up);
	cr_assert(strstr(up, "anthropic-version: 2023-06-01\r\n"), "%s", up);
	cr_assert_null(strstr(up, TOKEN), "%s", up);
	cr_assert_null(strstr(up, "Host: x\r\n"), "%s", up);
}

static void client_refused(int port, int out)
{
	exchange(port,
		 "GET /openai/v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
		 "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n\r\n",
		 out);
	exchange(port, "GET /openai/v1/models HTTP/1.1\r\nHost: x\r\n\r\n", out);
	/* The phantom in the wrong header for the route, with the right value in another form. */
	exchange(port,
		 "GET /anthropic/v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " TOKEN
		 "\r\n\r\n",
		 out);
	exchange(port,
		 "GET /nosuch/v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
		 "\r\n\r\n",
		 out);
	exchange(port, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", out);
	exchange(port, "GET /openai/v1/models HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n", out);
	exchange(port,
		 "POST /openai/v1/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
		 "\r\nContent-Length: 16777217\r\n\r\n",
		 out);
}

Test(proxy_session, wrong_token_unknown_route_and_bad_requests, .init = setup_session,
     .fini = teardown_session, .timeout = 30)
{
	static struct harness h;
	const char *p = h.text, *au;
	static const char *const want[] = {"401", "401", "401", "404", "403", "400", "413"};

	run_proxy(&h, &session, client_refused);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char line[32];

		snprintf(line, sizeof(line), "HTTP/1.1 %s ", want[i]);
		cr_assert(strncmp(p, line, strlen(line)) == 0, "reply %zu: %s", i, p);
		cr_assert(strstr(p, "x-should-retry: false\r\n"), "%s", p);
		cr_assert(strstr(p, "\r\n\r\n{\"error\":{\"type\":\""), "%s", p);
		p = strstr(p, "\n====\n");
		cr_assert_not_null(p);
		p += 6;
	}
	cr_assert_str_eq(slurp(upstream_log), "", "the upstream saw a request");
	audit_flush(&audit);
	au = slurp(audit_log);
	cr_assert(strstr(au, "\"status\":401"), "%s", au);
	cr_assert(strstr(au, "\"decision\":\"deny\""), "%s", au);
	cr_assert_null(strstr(au, TOKEN));
}

/* SSE: each event arrives by itself, in order, as the upstream sends it. */
static void client_sse(int port, int out)
{
	int fd = tcp_connect(port);
	char buf[4096], line[256];
	struct timespec t0, t;
	ssize_t n;

	if (fd < 0) {
		put(out, "connect failed\n");
		return;
	}
	send_all(fd, "GET /openai/v1/sse?short HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
		     "Authorization: Bearer " TOKEN "\r\n\r\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		long ms;

		buf[n] = '\0';
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		for (int i = 1; i <= 3; i++) {
			char ev[16];

			snprintf(ev, sizeof(ev), "data: ev%d", i);
			if (strstr(buf, ev)) {
				snprintf(line, sizeof(line), "ev%d at %ld\n", i, ms / 100);
				put(out, line);
			}
		}
	}
	close(fd);
}

Test(proxy_session, sse_events_arrive_one_by_one, .init = setup_session, .fini = teardown_session,
     .timeout = 30)
{
	static struct harness h;
	int a, b, c;

	run_proxy(&h, &session, client_sse);
	cr_assert_eq(sscanf(h.text, "ev1 at %d\nev2 at %d\nev3 at %d\n", &a, &b, &c), 3, "%s",
		     h.text);
	/* 300 ms apart upstream: tenths of a second, each later than the one before. */
	cr_assert(a >= 2 && b >= a + 2 && c >= b + 2, "%s", h.text);
}

static void client_keepalive(int port, int out)
{
	int fd = tcp_connect(port);

	if (fd < 0) {
		put(out, "connect failed\n");
		return;
	}
	exchange_on(
	    fd, "GET /openai/v1/one HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN "\r\n\r\n",
	    out);
	exchange_on(fd,
		    "POST /anthropic/v1/two HTTP/1.1\r\nHost: x\r\nx-api-key: " TOKEN "\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		    out);
	close(fd);
}

Test(proxy_session, keep_alive_two_requests_one_connection, .init = setup_session,
     .fini = teardown_session, .timeout = 30)
{
	static struct harness h;
	const char *up, *second;

	run_proxy(&h, &session, client_keepalive);
	second = strstr(h.text, "\n====\n");
	cr_assert(strncmp(h.text, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", h.text);
	cr_assert_not_null(second, "%s", h.text);
	cr_assert(strncmp(second + 6, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", h.text);
	up = slurp(upstream_log);
	cr_assert(strstr(up, "GET /v1/one HTTP/1.1\r\n"), "%s", up);
	cr_assert(strstr(up, "POST /v1/two HTTP/1.1\r\n"), "%s", up);
	cr_assert(strstr(up, "\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), "%s", up);
	cr_assert_eq(h.pl.served, 2);
}

static void client_plain(int port, int out)
{
	exchange(port, "GET /openai/v1/models HTTP/1.1\r\nHost: x\r\n\r\n", out);
}

Test(proxy_session, no_session_is_the_503_stub, .timeout = 30)
{
	static struct harness h;

	signal(SIGPIPE, SIG_IGN);
	run_proxy(&h, NULL, client_plain);
	cr_assert(strncmp(h.text, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0, "%s", h.text);
	cr_assert_str_eq(h.pl.service, "?");
}

static void client_upstream_down(int port, int out)
{
	exchange(port,
		 "GET /openai/v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
		 "\r\n\r\n",
		 out);
}

Test(proxy_session, upstream_down_is_502, .init = setup_session, .fini = teardown_session,
     .timeout = 30)
{
	static struct harness h;
	int port, lfd = listen_lo(&port);

	close(lfd); /* nothing listens there now */
	routes[0].port = (unsigned)port;
	run_proxy(&h, &session, client_upstream_down);
	cr_assert(strncmp(h.text, "HTTP/1.1 502 Bad Gateway\r\n", 26) == 0, "%s", h.text);
	cr_assert(strstr(h.text, "\"type\":\"upstream_error\""), "%s", h.text);
	cr_assert_null(strstr(h.text, REALKEY));
}

/* The client reads the first event and goes: the proxy closes the upstream too. */
static void client_vanish(int port, int out)
{
	int fd = tcp_connect(port);
	char buf[4096];
	size_t got = 0;

	if (fd < 0) {
		put(out, "connect failed\n");
		return;
	}
	send_all(fd, "GET /openai/v1/sse HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
		     "\r\n\r\n");
	while (got < sizeof(buf) - 1) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "data: ev1")) {
			put(out, "ev1\n");
			break;
		}
	}
	close(fd);
	usleep(1200000); /* let the upstream notice before the loop ends */
}

Test(proxy_session, client_vanishing_closes_the_upstream, .init = setup_session,
     .fini = teardown_session, .timeout = 30)
{
	static struct harness h;
	const char *up, *au;

	run_proxy(&h, &session, client_vanish);
	cr_assert_str_eq(h.text, "ev1\n");
	up = slurp(upstream_log);
	cr_assert(strstr(up, "the proxy closed before ev"), "%s", up);
	audit_flush(&audit);
	au = slurp(audit_log);
	cr_assert(strstr(au, "\"decision\":\"error\""), "%s", au);
}

/* 8 MiB to a client that starts reading late: all of it arrives, in order. */
static void client_slow_big(int port, int out)
{
	int fd = tcp_connect(port);
	static char buf[1 << 16];
	size_t body = 0, have = 0;
	ssize_t hl, n;
	char line[64];

	if (fd < 0) {
		put(out, "connect failed\n");
		return;
	}
	send_all(fd, "GET /openai/v1/big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
		     "\r\n\r\n");
	usleep(500000);
	hl = read_head(fd, buf, sizeof(buf), &have);
	if (hl < 0) {
		put(out, "no head\n");
		return;
	}
	body = have - (size_t)hl;
	while (body < 8388608 && (n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != 'x')
				_exit(3);
		body += (size_t)n;
	}
	snprintf(line, sizeof(line), "%zu\n", body);
	put(out, line);
	close(fd);
}

Test(proxy_session, large_response_to_a_slow_client, .init = setup_session,
     .fini = teardown_session, .timeout = 30)
{
	static struct harness h;

	run_proxy(&h, &session, client_slow_big);
	cr_assert_str_eq(h.text, "8388608\n");
}
