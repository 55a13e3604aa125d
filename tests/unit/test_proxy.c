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
#include "proxy_harness.h"

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
	static const char *const want[] = {"401", "401", "401", "404", "407", "400", "413"};

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

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Separate client connections, one after the other: one upstream connection serves them. */
static void client_sequential(int port, int out)
{
	for (int i = 0; i < 3; i++)
		exchange(port,
			 "GET /openai/v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
			 "\r\nConnection: close\r\n\r\n",
			 out);
}

Test(proxy_session, upstream_connections_are_reused, .init = setup_session,
     .fini = teardown_session, .timeout = 30)
{
	static struct harness h;
	const char *up;

	run_proxy(&h, &session, client_sequential);
	cr_assert_eq(count(h.text, "HTTP/1.1 200 OK\r\n"), 3, "%s", h.text);
	up = slurp(upstream_log);
	cr_assert_eq(count(up, "GET /v1/models HTTP/1.1\r\n"), 3, "%s", up);
	cr_assert_eq(count(up, "== connection ==\n"), 1, "%s", up);
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
