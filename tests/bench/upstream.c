/*
 * proxy bench fake upstream: HTTPS on 127.0.0.1 (OpenSSL, one thread per connection,
 * keep-alive, TCP_NODELAY). POST with a body holding "stream":true gets an SSE stream (chunked):
 * the first event at once, then EVENTS more, DELAY_MS apart, then "data: [DONE]". Any other
 * request gets a small OpenAI-style chat completion. A request whose Authorization is not
 * exactly "Bearer <key>" gets a 401. Dies with its parent (PR_SET_PDEATHSIG). On SIGUSR1 it
 * writes "N CONNECTIONS REQUESTS" (N counts the SIGUSR1s) to STATSFILE, replaced atomically.
 *
 *   upstream CERT KEY KEYFILE PORTFILE EVENTS DELAY_MS STATSFILE
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 16384

static SSL_CTX *ctx;
static char auth[4096];
static int events, delay_ms;
static const char *stats_file;
static atomic_ulong nconns, nreqs;

static const char completion[] =
    "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"Hello! How can I help you today?\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":9,\"total_tokens\":18}}";

static const char denied[] = "{\"error\":{\"message\":\"Incorrect API key provided\","
			     "\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}";

static int write_all(SSL *ssl, const char *p, size_t n)
{
	while (n > 0) {
		int w = SSL_write(ssl, p, (int)n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One event as one chunk: "<hex>\r\ndata: {...}\n\n\r\n". */
static int chunk(char *out, size_t cap, int i, bool done)
{
	char ev[512];
	int n;

	if (done)
		n = snprintf(ev, sizeof(ev), "data: [DONE]\n\n");
	else
		n = snprintf(
		    ev, sizeof(ev),
		    "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\","
		    "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":"
		    "{\"content\":\"token%d \"},\"finish_reason\":null}]}\n\n",
		    i);
	return snprintf(out, cap, "%x\r\n%s\r\n", n, ev);
}

/* The value of header name in head (NUL-terminated, lines end in \r\n), or NULL. */
static const char *header(const char *head, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	const char *p = strstr(head, "\r\n");

	while (p && p[2] != '\r') {
		const char *line = p + 2, *end = strstr(line, "\r\n");

		if (!end)
			return NULL;
		if ((size_t)(end - line) > nl && line[nl] == ':' &&
		    strncasecmp(line, name, nl) == 0) {
			const char *v = line + nl + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			*len = (size_t)(end - v);
			return v;
		}
		p = end;
	}
	return NULL;
}

static int serve(SSL *ssl)
{
	char buf[HEAD_MAX + 1];
	size_t have = 0;

	for (;;) {
		char *end, out[1024], ev[600];
		const char *v;
		size_t hlen, vlen, blen = 0, need;
		bool ok, stream, close_after;
		int n;

		while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
			if (have == HEAD_MAX)
				return -1;
			n = SSL_read(ssl, buf + have, (int)(HEAD_MAX - have));
			if (n <= 0)
				return have ? -1 : 0;
			have += (size_t)n;
		}
		hlen = (size_t)(end - buf) + 4;
		buf[hlen - 2] = '\0'; /* the head, its last line end kept */
		v = header(buf, "Content-Length", &vlen);
		if (v)
			blen = strtoul(v, NULL, 10);
		if (hlen + blen > HEAD_MAX)
			return -1;
		v = header(buf, "Authorization", &vlen);
		ok = v && vlen == strlen(auth) && memcmp(v, auth, vlen) == 0;
		v = header(buf, "Connection", &vlen);
		close_after = v && vlen == 5 && strncasecmp(v, "close", 5) == 0;
		need = hlen + blen;
		while (have < need) {
			n = SSL_read(ssl, buf + have, (int)(HEAD_MAX - have));
			if (n <= 0)
				return -1;
			have += (size_t)n;
		}
		buf[hlen - 2] = '\r';
		stream = memmem(buf + hlen, blen, "\"stream\":true", 13) ||
			 memmem(buf + hlen, blen, "\"stream\": true", 14);
		memmove(buf, buf + need, have - need);
		have -= need;

		atomic_fetch_add(&nreqs, 1);
		if (!ok) {
			n = snprintf(
			    out, sizeof(out),
			    "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
			    "Content-Length: %zu\r\n\r\n%s",
			    strlen(denied), denied);
			if (write_all(ssl, out, (size_t)n) < 0)
				return -1;
		} else if (!stream) {
			n = snprintf(out, sizeof(out),
				     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				     "Content-Length: %zu\r\n%s\r\n%s",
				     strlen(completion), close_after ? "Connection: close\r\n" : "",
				     completion);
			if (write_all(ssl, out, (size_t)n) < 0)
				return -1;
		} else {
			/* The head and the first event in one record, at once. */
			n = snprintf(
			    out, sizeof(out),
			    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			    "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n%s\r\n",
			    close_after ? "Connection: close\r\n" : "");
			n += chunk(out + n, sizeof(out) - (size_t)n, 0, false);
			if (write_all(ssl, out, (size_t)n) < 0)
				return -1;
			for (int i = 1; i <= events + 1; i++) {
				struct timespec ts = {delay_ms / 1000,
						      (delay_ms % 1000) * 1000000L};

				nanosleep(&ts, NULL);
				n = chunk(ev, sizeof(ev), i, i > events);
				if (i > events)
					n += snprintf(ev + n, sizeof(ev) - (size_t)n, "0\r\n\r\n");
				if (write_all(ssl, ev, (size_t)n) < 0)
					return -1;
			}
		}
		if (close_after)
			return 0;
	}
}

static void *conn_main(void *arg)
{
	int fd = (int)(long)arg, one = 1;
	SSL *ssl = SSL_new(ctx);

	atomic_fetch_add(&nconns, 1);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ssl && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
		if (serve(ssl) == 0)
			SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	close(fd);
	ERR_clear_error();
	return NULL;
}

static void *stats_main(void *arg)
{
	sigset_t *set = arg;
	char tmp[4096];
	unsigned long seq = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", stats_file);
	for (;;) {
		int sig;
		FILE *f;

		if (sigwait(set, &sig) != 0)
			continue;
		f = fopen(tmp, "w");
		if (!f)
			continue;
		fprintf(f, "%lu %lu %lu\n", ++seq, atomic_load(&nconns), atomic_load(&nreqs));
		if (fclose(f) == 0)
			rename(tmp, stats_file);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t sl = sizeof(sa);
	pthread_attr_t attr;
	pthread_t st;
	static sigset_t usr1;
	FILE *f;
	int lfd, one = 1;

	if (argc != 8) {
		fprintf(stderr,
			"usage: upstream CERT KEY KEYFILE PORTFILE EVENTS DELAY_MS STATSFILE\n");
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	events = (int)strtol(argv[5], NULL, 10);
	delay_ms = (int)strtol(argv[6], NULL, 10);
	stats_file = argv[7];
	/* Blocked in every thread; the stats thread takes it with sigwait(). */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	if (pthread_create(&st, NULL, stats_main, &usr1) != 0) {
		perror("pthread_create");
		return 1;
	}
	f = fopen(argv[3], "r");
	if (!f || !fgets(auth + 7, sizeof(auth) - 7, f)) {
		perror(argv[3]);
		return 1;
	}
	fclose(f);
	memcpy(auth, "Bearer ", 7);
	auth[strcspn(auth, "\r\n")] = '\0';

	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("listen");
		return 1;
	}
	f = fopen(argv[4], "w");
	if (!f || fprintf(f, "%u\n", ntohs(sa.sin_port)) < 0 || fclose(f) != 0) {
		perror(argv[4]);
		return 1;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (;;) {
		pthread_t t;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
				usleep(1000);
				continue;
			}
			perror("accept");
			return 1;
		}
		if (pthread_create(&t, &attr, conn_main, (void *)(long)fd) != 0)
			close(fd);
	}
}
