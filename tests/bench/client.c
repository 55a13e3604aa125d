/*
 * proxy bench client: sequential keep-alive HTTP/1.1 requests (TLS when given a CA), timed
 * with CLOCK_MONOTONIC; the same code and the same request bytes for every path.
 *
 *   client lat  HOST PORT PATH N [CA]   POST a chat completion N times, one after the other;
 *                                       prints each request's microseconds (write -> whole reply)
 *   client sse  HOST PORT PATH N [CA]   the same with "stream":true; prints "FIRST TOTAL" per
 *                                       request: write -> first "data:" line, -> end of stream
 *   client hold HOST PORT N             open N connections, print "ready N"; then per stdin line
 *                                       "req PATH": one request on each connection, print
 *                                       "done N" (all 200) or "error ..."; "quit" or EOF: exit.
 *                                       A connection closed by the server prints "closed I MS"
 *                                       (MS since it was opened).
 *
 * The Authorization header is "Bearer $NB_AUTH". Ends on the first non-200 reply or error, with
 * the reason on stderr and exit 1. Dies with its parent (PR_SET_PDEATHSIG).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_MAX 65536

struct conn {
	int fd;
	SSL *ssl;
	bool closed; /* the server closed it, or said Connection: close */
	uint64_t opened_us;
	size_t have;
	char buf[BUF_MAX];
};

static const char *host;
static struct sockaddr_in addr = {.sin_family = AF_INET};
static SSL_CTX *ctx;
static const char *auth = "";
static unsigned long reconnects;
static bool quickack; /* $NB_QUICKACK=1: TCP_QUICKACK before each read (diagnosis) */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *what)
{
	fprintf(stderr, "client: %s\n", what);
	exit(1);
}

static int conn_open(struct conn *c)
{
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = -errno;

		close(c->fd);
		c->fd = -1;
		return e;
	}
	c->have = 0;
	c->closed = false;
	c->opened_us = now_us();
	if (!ctx)
		return 0;
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 || !SSL_set_tlsext_host_name(c->ssl, host) ||
	    !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host) ||
	    SSL_connect(c->ssl) != 1) {
		ERR_print_errors_fp(stderr);
		return -EPROTO;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int conn_write(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = c->ssl ? SSL_write(c->ssl, p, (int)n) : write(c->fd, p, n);

		if (w <= 0) {
			if (!c->ssl && w < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One read into the buffer: bytes read, 0 at EOF, -1 on error. */
static ssize_t conn_read(struct conn *c)
{
	ssize_t n;

	if (c->have == BUF_MAX)
		return -1;
	if (quickack) {
		int one = 1;

		setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	}
	do {
		n = c->ssl ? SSL_read(c->ssl, c->buf + c->have, (int)(BUF_MAX - c->have))
			   : read(c->fd, c->buf + c->have, BUF_MAX - c->have);
	} while (!c->ssl && n < 0 && errno == EINTR);
	if (c->ssl && n <= 0)
		n = SSL_get_error(c->ssl, (int)n) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	if (n > 0)
		c->have += (size_t)n;
	return n;
}

/* The value of header name in head[0..hlen), or NULL. */
static const char *header(const char *head, size_t hlen, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	const char *p = memmem(head, hlen, "\r\n", 2), *end = head + hlen;

	while (p && p + 2 < end) {
		const char *line = p + 2, *le = memmem(line, (size_t)(end - line), "\r\n", 2);

		if (!le)
			return NULL;
		if ((size_t)(le - line) > nl && line[nl] == ':' &&
		    strncasecmp(line, name, nl) == 0) {
			const char *v = line + nl + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			*len = (size_t)(le - v);
			return v;
		}
		p = le;
	}
	return NULL;
}

/* A chunked body in p[0..n): its length once complete, 0 while incomplete, -1 if malformed. */
static long chunked_len(const char *p, size_t n)
{
	size_t off = 0;

	for (;;) {
		const char *le = memmem(p + off, n - off, "\r\n", 2);
		char *e;
		unsigned long size;

		if (!le)
			return 0;
		size = strtoul(p + off, &e, 16);
		if (e == p + off)
			return -1;
		off = (size_t)(le - p) + 2;
		if (size == 0) {
			const char *t;

			if (n >= off + 2 && memcmp(p + off, "\r\n", 2) == 0)
				return (long)(off + 2);
			t = memmem(p + off, n - off, "\r\n\r\n", 4);
			return t ? (long)(t - p) + 4 : 0;
		}
		if (n < off + size + 2)
			return 0;
		off += size + 2;
	}
}

/*
 * Send one request and read the whole reply. *first: microseconds from the write to the first
 * "data:" in the body (0 if none). The status, or -1 with the reason in err.
 */
static int request(struct conn *c, const char *path, bool stream, uint64_t *first, char *err,
		   size_t errlen)
{
	char req[1024];
	const char *body = stream ? "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":"
				    "[{\"role\":\"user\",\"content\":\"Say hello\"}]}"
				  : "{\"model\":\"gpt-4o-mini\",\"messages\":"
				    "[{\"role\":\"user\",\"content\":\"Say hello\"}]}";
	size_t hlen = 0, total = 0;
	long clen = -1;
	bool chunked = false, until_eof = false;
	int status = 0, n;
	uint64_t t0;

	*first = 0;
	if (c->fd < 0 || c->closed) {
		conn_close(c);
		if (conn_open(c) < 0) {
			snprintf(err, errlen, "cannot connect to %s:%u: %s", host,
				 ntohs(addr.sin_port), strerror(errno));
			return -1;
		}
		reconnects++;
	}
	n = snprintf(
	    req, sizeof(req),
	    "POST %s HTTP/1.1\r\nHost: %s:%u\r\nAuthorization: Bearer %s\r\n"
	    "Content-Type: application/json\r\nAccept: %s\r\nContent-Length: %zu\r\n\r\n%s",
	    path, host, ntohs(addr.sin_port), auth,
	    stream ? "text/event-stream" : "application/json", strlen(body), body);
	if (n <= 0 || (size_t)n >= sizeof(req))
		die("request too long");
	c->have = 0;
	t0 = now_us();
	if (conn_write(c, req, (size_t)n) < 0) {
		snprintf(err, errlen, "write failed: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t r = conn_read(c);

		if (r < 0) {
			snprintf(err, errlen, "read failed after %zu bytes: %s", c->have,
				 strerror(errno));
			return -1;
		}
		if (r == 0 && !until_eof) {
			snprintf(err, errlen, "connection closed after %zu bytes of the reply%s",
				 c->have, c->have ? "" : " (none)");
			return -1;
		}
		if (!hlen) {
			const char *e = memmem(c->buf, c->have, "\r\n\r\n", 4);
			const char *v;
			size_t vlen;

			if (!e)
				continue;
			hlen = (size_t)(e - c->buf) + 4;
			if (c->have < 12 || memcmp(c->buf, "HTTP/1.", 7) != 0) {
				snprintf(err, errlen, "not an HTTP reply: %.40s", c->buf);
				return -1;
			}
			status = atoi(c->buf + 9); /* "HTTP/1.1 200" */
			v = header(c->buf, hlen, "Content-Length", &vlen);
			if (v)
				clen = strtol(v, NULL, 10);
			v = header(c->buf, hlen, "Transfer-Encoding", &vlen);
			chunked = v && vlen >= 7 && strncasecmp(v + vlen - 7, "chunked", 7) == 0;
			v = header(c->buf, hlen, "Connection", &vlen);
			if (v && vlen == 5 && strncasecmp(v, "close", 5) == 0)
				c->closed = true;
			until_eof = !chunked && clen < 0;
		}
		if (stream && !*first && memmem(c->buf + hlen, c->have - hlen, "data:", 5))
			*first = now_us() - t0;
		if (chunked) {
			long l = chunked_len(c->buf + hlen, c->have - hlen);

			if (l < 0) {
				snprintf(err, errlen, "bad chunked body");
				return -1;
			}
			if (l > 0) {
				total = hlen + (size_t)l;
				break;
			}
		} else if (clen >= 0 && c->have >= hlen + (size_t)clen) {
			total = hlen + (size_t)clen;
			break;
		} else if (until_eof && r == 0) {
			total = c->have;
			c->closed = true;
			break;
		}
	}
	if (c->have > total) {
		snprintf(err, errlen, "%zu unexpected bytes after the reply", c->have - total);
		return -1;
	}
	if (status != 200)
		snprintf(err, errlen, "HTTP %d: %.*s", status,
			 (int)(c->have - hlen < 300 ? c->have - hlen : 300), c->buf + hlen);
	return status;
}

static int run_seq(const char *path, long n, bool stream)
{
	struct conn *c = calloc(1, sizeof(*c));
	char err[512];

	if (!c)
		die("out of memory");
	c->fd = -1;
	if (conn_open(c) < 0)
		die("cannot connect");
	for (long i = 0; i < n; i++) {
		uint64_t t0 = now_us(), first;
		int st = request(c, path, stream, &first, err, sizeof(err));

		if (st != 200) {
			fprintf(stderr, "client: request %ld of %ld: %s\n", i + 1, n, err);
			return 1;
		}
		if (stream)
			printf("%llu %llu\n", (unsigned long long)first,
			       (unsigned long long)(now_us() - t0));
		else
			printf("%llu\n", (unsigned long long)(now_us() - t0));
	}
	fprintf(stderr, "client: %ld requests, %lu reconnects\n", n, reconnects);
	conn_close(c);
	free(c);
	return 0;
}

static int run_hold(long n)
{
	struct conn *cs = calloc((size_t)n, sizeof(*cs));
	struct pollfd *pf = calloc((size_t)n + 1, sizeof(*pf));
	char line[512], err[512];

	if (!cs || !pf)
		die("out of memory");
	for (long i = 0; i < n; i++) {
		int r = conn_open(&cs[i]);

		if (r < 0) {
			printf("error connect %ld of %ld: %s\n", i + 1, n, strerror(-r));
			return 1;
		}
	}
	printf("ready %ld\n", n);
	fflush(stdout);
	for (;;) {
		pf[0] = (struct pollfd){.fd = 0, .events = POLLIN};
		for (long i = 0; i < n; i++)
			pf[i + 1] = (struct pollfd){.fd = cs[i].fd, .events = POLLIN};
		if (poll(pf, (nfds_t)n + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (long i = 0; i < n; i++) {
			if (cs[i].fd >= 0 && pf[i + 1].revents) {
				char b[256];
				ssize_t r = read(cs[i].fd, b, sizeof(b));

				if (r <= 0) {
					printf("closed %ld %llu\n", i,
					       (unsigned long long)(now_us() - cs[i].opened_us) /
						   1000);
					fflush(stdout);
					conn_close(&cs[i]);
				}
			}
		}
		if (!pf[0].revents)
			continue;
		if (!fgets(line, sizeof(line), stdin) || strncmp(line, "quit", 4) == 0)
			return 0;
		if (strncmp(line, "req ", 4) == 0) {
			long ok = 0;

			line[strcspn(line, "\r\n")] = '\0';
			for (long i = 0; i < n; i++) {
				uint64_t first;
				int st;

				if (cs[i].fd < 0)
					continue;
				st = request(&cs[i], line + 4, false, &first, err, sizeof(err));
				if (st != 200) {
					printf("error request on connection %ld: %s\n", i, err);
					fflush(stdout);
					break;
				}
				ok++;
			}
			printf("done %ld\n", ok);
			fflush(stdout);
		}
	}
}

int main(int argc, char **argv)
{
	const char *mode;
	long n;

	if (argc < 4) {
		fprintf(stderr, "usage: client lat|sse HOST PORT PATH N [CA] | hold HOST PORT N\n");
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	mode = argv[1];
	host = argv[2];
	addr.sin_port = htons((uint16_t)strtoul(argv[3], NULL, 10));
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		die("HOST must be an IPv4 address");
	quickack = getenv("NB_QUICKACK") && strcmp(getenv("NB_QUICKACK"), "1") == 0;
	if (getenv("NB_AUTH"))
		auth = getenv("NB_AUTH");
	if (strcmp(mode, "hold") == 0)
		return run_hold(strtol(argv[4], NULL, 10));
	if (argc < 6 || (strcmp(mode, "lat") != 0 && strcmp(mode, "sse") != 0))
		die("usage: client lat|sse HOST PORT PATH N [CA]");
	n = strtol(argv[5], NULL, 10);
	if (argc > 6) {
		ctx = SSL_CTX_new(TLS_client_method());
		if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[6], NULL) != 1)
			die("cannot load the CA");
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	return run_seq(argv[4], n, strcmp(mode, "sse") == 0);
}
