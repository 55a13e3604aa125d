/* proxy_harness: see proxy_harness.h. */
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

#include "proxy_harness.h"

int listen_lo(int *port)
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

int tcp_connect(int port)
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

void put(int out, const char *s)
{
	if (write(out, s, strlen(s)) < 0)
		_exit(2);
}

int send_all_n(int fd, const char *s, size_t len)
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

int send_all(int fd, const char *s)
{
	return send_all_n(fd, s, strlen(s));
}

/* Read one head (to the blank line) into buf; the body bytes read with it stay after it. */
ssize_t read_head(int fd, char *buf, size_t size, size_t *have)
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

long content_length(const char *head)
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
		FILE *f0;
		size_t have = 0;

		if (fd < 0)
			_exit(0);
		f0 = fopen(log, "a");
		fprintf(f0, "== connection ==\n");
		fclose(f0);
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


static void listener_freed_cb(struct proxy_listener *pl)
{
	struct harness *h = (struct harness *)((char *)pl - offsetof(struct harness, pl));

	h->listener_freed = true;
}

static void finish(struct harness *h)
{
	proxy_listener_close(&h->pl, listener_freed_cb);
	proxy_close(&h->px, NULL);
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


struct route routes[2];
struct proxy_credential creds[2];
struct proxy_session session;
struct audit audit;
char upstream_log[] = "/tmp/nono-proxy-upstream-XXXXXX";
char audit_log[] = "/tmp/nono-proxy-audit-XXXXXX";
pid_t upstream_pid;
int upstream_port;

void setup_session(void)
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
	upstream_port = port;
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

void teardown_session(void)
{
	if (upstream_pid > 0) {
		kill(upstream_pid, SIGKILL);
		waitpid(upstream_pid, NULL, 0);
	}
	audit_close(&audit);
	unlink(upstream_log);
	unlink(audit_log);
}

void run_proxy(struct harness *h, const struct proxy_session *s, client_fn client)
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
	proxy_init(&h->px, &h->loop, NULL);
	cr_assert_eq(proxy_listener_open(&h->pl, &h->px, lfd, s, err, sizeof(err)), 0, "%s", err);
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
void exchange_on(int fd, const char *req, int out)
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

void exchange(int port, const char *req, int out)
{
	int fd = tcp_connect(port);

	if (fd < 0) {
		put(out, "connect failed\n");
		return;
	}
	exchange_on(fd, req, out);
	close(fd);
}

char *slurp(const char *path)
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

