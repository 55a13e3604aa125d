/* upstream: TLS connects, refusals, timeouts, streamed reads and the pool, on a local server. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "upstream.h"

#define CHUNK_GAP_US 150000	/* between the server's three response chunks */
#define MAX_PIECES   16
#define MAX_SERVERS  4

enum srv_mode {
	SRV_TLS,	/* HTTP/1.1 over TLS, keep-alive, three chunks per response */
	SRV_PLAIN,	/* the same without TLS */
	SRV_SILENT,	/* accepts, then never says a word */
	SRV_GARBAGE,	/* answers a ClientHello in plain HTTP */
	SRV_HANGUP,	/* reads the ClientHello, then closes */
};

static char tmpdir[64];
static char ca_pem[128], other_ca_pem[128];
static EVP_PKEY *srv_key;
static X509 *srv_cert;
static pid_t servers[MAX_SERVERS];
static unsigned nservers;

/* Certificates, made for each test */

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	cr_assert(ext, "extension %d", nid);
	cr_assert(X509_add_ext(x, ext, -1));
	X509_EXTENSION_free(ext);
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		       long serial)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	bool ca = issuer == NULL;

	cr_assert(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, ca ? name : X509_get_subject_name(issuer));
	if (ca) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
		add_ext(x, x, NID_subject_key_identifier, "hash");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
		add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
		add_ext(x, issuer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
		add_ext(x, issuer, NID_authority_key_identifier, "keyid");
	}
	cr_assert(X509_sign(x, ca ? key : issuer_key, EVP_sha256()) > 0);
	return x;
}

static void write_pem(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	cr_assert(f, "%s", path);
	cr_assert(PEM_write_X509(f, x));
	fclose(f);
}

static void setup(void)
{
	EVP_PKEY *ca_key, *other_key;
	X509 *ca, *other;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_upstream.XXXXXX");
	cr_assert(mkdtemp(tmpdir));
	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", tmpdir);
	snprintf(other_ca_pem, sizeof(other_ca_pem), "%s/other-ca.pem", tmpdir);

	ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	srv_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	cr_assert(ca_key && other_key && srv_key);
	ca = make_cert(ca_key, "nono test CA", NULL, NULL, 1);
	other = make_cert(other_key, "nono other CA", NULL, NULL, 2);
	srv_cert = make_cert(srv_key, "localhost", ca, ca_key, 3);
	write_pem(ca_pem, ca);
	write_pem(other_ca_pem, other);	/* keys stay in memory only */
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
	for (unsigned i = 0; i < nservers; i++) {
		kill(servers[i], SIGKILL);
		waitpid(servers[i], NULL, 0);
	}
	nservers = 0;
	unlink(ca_pem);
	unlink(other_ca_pem);
	rmdir(tmpdir);
	X509_free(srv_cert);
	EVP_PKEY_free(srv_key);
	srv_cert = NULL;
	srv_key = NULL;
}

/* The server, in a forked child: blocking I/O is fine there */

struct srv_io {
	SSL *ssl;
	int fd;
};

static ssize_t srv_read(struct srv_io *io, char *buf, size_t len)
{
	size_t got = 0;

	if (!io->ssl)
		return read(io->fd, buf, len);
	return SSL_read_ex(io->ssl, buf, len, &got) == 1 ? (ssize_t)got : -1;
}

static void srv_write(struct srv_io *io, const char *buf, size_t len)
{
	size_t done;

	if (io->ssl)
		SSL_write_ex(io->ssl, buf, len, &done);
	else if (write(io->fd, buf, len) < 0)
		_exit(3);
}

/* Requests on one connection until it closes: each answered in three timed chunks. */
static void srv_http(struct srv_io *io, unsigned conn_no)
{
	char head[4096], body1[256], first[512];
	const char *body2 = "second\n", *body3 = "third END\n";
	unsigned req_no = 0;

	for (;;) {
		size_t len = 0;
		char path[128] = "?";
		int n;

		while (!memmem(head, len, "\r\n\r\n", 4)) {
			ssize_t r = srv_read(io, head + len, sizeof(head) - len - 1);

			if (r <= 0)
				return;
			len += (size_t)r;
			if (len >= sizeof(head) - 1)
				return;
		}
		head[len] = '\0';
		req_no++;
		sscanf(head, "GET %127s", path);
		snprintf(body1, sizeof(body1), "conn=%u req=%u path=%s\n", conn_no, req_no, path);
		n = snprintf(first, sizeof(first),
			     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
			     strlen(body1) + strlen(body2) + strlen(body3), body1);
		srv_write(io, first, (size_t)n);
		usleep(CHUNK_GAP_US);
		srv_write(io, body2, strlen(body2));
		usleep(CHUNK_GAP_US);
		srv_write(io, body3, strlen(body3));
		if (strcmp(path, "/close") == 0)
			return;
	}
}

static void serve(int lfd, enum srv_mode mode)
{
	SSL_CTX *sctx = NULL;
	unsigned conn_no = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);	/* connection children reap themselves */
	if (mode == SRV_TLS) {
		sctx = SSL_CTX_new(TLS_server_method());
		if (!sctx || SSL_CTX_use_certificate(sctx, srv_cert) != 1 ||
		    SSL_CTX_use_PrivateKey(sctx, srv_key) != 1)
			_exit(2);
	}
	for (;;) {
		struct srv_io io = {.fd = accept(lfd, NULL, NULL)};

		if (io.fd < 0)
			_exit(2);
		conn_no++;
		if (mode == SRV_SILENT)
			continue;	/* held open, never read, never written */
		if (mode == SRV_HANGUP) {
			char tmp[4096];

			if (read(io.fd, tmp, sizeof(tmp)) < 0)
				_exit(3);
			close(io.fd);
			continue;
		}
		if (mode == SRV_GARBAGE) {
			static const char bad[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
			char tmp[4096];

			if (read(io.fd, tmp, sizeof(tmp)) < 0)
				_exit(3);
			if (write(io.fd, bad, sizeof(bad) - 1) < 0)
				_exit(3);
			close(io.fd);
			continue;
		}
		/* One process per connection, so several can be open at once. */
		if (fork() != 0) {
			close(io.fd);
			continue;
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(lfd);
		if (sctx) {
			io.ssl = SSL_new(sctx);
			SSL_set_fd(io.ssl, io.fd);
			if (SSL_accept(io.ssl) != 1)
				_exit(1);
		}
		srv_http(&io, conn_no);
		if (io.ssl)
			SSL_shutdown(io.ssl);
		_exit(0);
	}
}

/* A listener on 127.0.0.1:0; a server child unless mode < 0. Returns the port. */
static int listen_loopback(int backlog, int *fdp)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(fd >= 0);
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(listen(fd, backlog) == 0);
	cr_assert(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
	*fdp = fd;
	return ntohs(a.sin_port);
}

static int start_server(enum srv_mode mode)
{
	int fd, port = listen_loopback(16, &fd);
	pid_t pid;

	cr_assert(nservers < MAX_SERVERS);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		serve(fd, mode);
		_exit(0);
	}
	close(fd);
	servers[nservers++] = pid;
	return port;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	return a;
}

/* The client side */

struct run {
	uv_loop_t loop;
	struct upstream_conn *c;
	SSL_CTX *ctx;
	struct upstream_pool pool;
	int ready_calls;
	int ready_status;
	char ready_err[UPSTREAM_ERR_MAX];
	uint64_t t_start, t_ready;
	int write_status;
	int writes_done;
	int eofs, errors;
	char pieces[MAX_PIECES][512];
	uint64_t piece_ms[MAX_PIECES];
	unsigned npieces;
	char all[4096];
	size_t all_len;
	bool closed;
	bool pool_closed;
	bool pause_after_first;		/* backpressure: stop reading after the first piece */
	bool paused_once;
	uv_timer_t aux;
	int step;			/* what the pool test does next */
	int port;
};

static SSL_CTX *ctx_for(const char *ca)
{
	char err[256];
	SSL_CTX *ctx = upstream_ctx_new(ca, err, sizeof(err));

	cr_assert(ctx, "%s", err);
	return ctx;
}

static void run_init(struct run *r, const char *ca)
{
	memset(r, 0, sizeof(*r));
	cr_assert(uv_loop_init(&r->loop) == 0);
	r->ctx = ca ? ctx_for(ca) : NULL;
	r->c = calloc(1, sizeof(*r->c));
	cr_assert(r->c);
	r->write_status = 1;
	r->t_start = uv_now(&r->loop);
}

static void run_fini(struct run *r)
{
	cr_assert(uv_run(&r->loop, UV_RUN_DEFAULT) == 0);
	cr_assert(uv_loop_close(&r->loop) == 0, "handles left open");
	SSL_CTX_free(r->ctx);
}

static void on_closed_free(struct upstream_conn *c)
{
	struct run *r = c->data;

	r->closed = true;
	free(c);
}

static void on_ready_record(struct upstream_conn *c, int status, const char *err)
{
	struct run *r = c->data;

	r->ready_calls++;
	r->ready_status = status;
	r->t_ready = uv_now(&r->loop);
	if (err)
		snprintf(r->ready_err, sizeof(r->ready_err), "%s", err);
	if (err && getenv("UPSTREAM_TEST_SHOW"))
		fprintf(stderr, "on_ready %d: %s\n", status, err);
	upstream_close(c, on_closed_free);
}

/* Connect and wait for on_ready (which closes); returns the status. */
static int connect_once(struct run *r, int port, const char *host, bool tls, uint64_t timeout_ms)
{
	struct sockaddr_in a = loopback(port);

	cr_assert(upstream_connect(r->c, &r->loop, (struct sockaddr *)&a, host, tls, r->ctx,
				   timeout_ms, on_ready_record, r) == 0);
	cr_assert(uv_run(&r->loop, UV_RUN_DEFAULT) == 0);
	cr_expect_eq(r->ready_calls, 1);
	cr_expect(r->closed);
	return r->ready_status;
}

static void resume_reading(uv_timer_t *t)
{
	struct run *r = t->data;

	cr_assert(upstream_read_start(r->c) == 0);
	uv_close((uv_handle_t *)t, NULL);
}

static void response_done(struct run *r);

static void on_data_record(struct upstream_conn *c, const char *data, size_t len)
{
	struct run *r = c->data;

	cr_assert(r->npieces < MAX_PIECES);
	cr_assert(len < sizeof(r->pieces[0]));
	memcpy(r->pieces[r->npieces], data, len);
	r->pieces[r->npieces][len] = '\0';
	r->piece_ms[r->npieces++] = uv_now(&r->loop);
	cr_assert(r->all_len + len < sizeof(r->all));
	memcpy(r->all + r->all_len, data, len);
	r->all_len += len;
	r->all[r->all_len] = '\0';
	if (r->pause_after_first && !r->paused_once) {
		r->paused_once = true;
		upstream_read_stop(c);
		uv_timer_init(&r->loop, &r->aux);
		r->aux.data = r;
		uv_timer_start(&r->aux, resume_reading, 3 * CHUNK_GAP_US / 1000, 0);
		return;
	}
	if (r->all_len >= 4 && strstr(r->all, "END\n"))
		response_done(r);
}

static void on_eof_record(struct upstream_conn *c)
{
	struct run *r = c->data;

	r->eofs++;
	upstream_close(c, on_closed_free);
}

static void on_error_record(struct upstream_conn *c, int status, const char *err)
{
	struct run *r = c->data;

	r->errors++;
	upstream_close(c, on_closed_free);
}

static void on_written_record(struct upstream_conn *c, int status)
{
	struct run *r = c->data;

	r->write_status = status;
	r->writes_done++;
}

static void send_request(struct run *r, const char *path)
{
	static char req[256];
	uv_buf_t bufs[2];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n", path);

	bufs[0] = uv_buf_init(req, (unsigned)n);
	bufs[1] = uv_buf_init((char *)"Host: localhost\r\n\r\n", 19);
	r->c->on_data = on_data_record;
	r->c->on_eof = on_eof_record;
	r->c->on_error = on_error_record;
	r->c->data = r;
	r->npieces = 0;
	r->all_len = 0;
	r->all[0] = '\0';
	cr_assert(upstream_write(r->c, bufs, 2, on_written_record) == 0);
	cr_assert(upstream_read_start(r->c) == 0);
}

static void on_ready_request(struct upstream_conn *c, int status, const char *err)
{
	struct run *r = c->data;

	r->ready_calls++;
	r->ready_status = status;
	cr_assert_eq(status, 0, "%s", err);
	cr_assert_null(err);
	cr_assert_eq(c->state, UPSTREAM_READY);
	send_request(r, "/first");
}

static void response_done(struct run *r)
{
	if (r->step == 0) {
		upstream_close(r->c, on_closed_free);
		return;
	}
	/* Pool test: step 1 put the connection back; step 2 the reused one answered. */
	upstream_read_stop(r->c);
	upstream_pool_put(&r->pool, r->c);
	r->c = NULL;
}

static void expect_three_pieces(struct run *r, const char *first_line)
{
	uint64_t min_gap = CHUNK_GAP_US / 1000 / 2;

	cr_assert_eq(r->npieces, 3, "pieces: %u, data: %s", r->npieces, r->all);
	cr_expect(strncmp(r->pieces[0], "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r->pieces[0]);
	cr_expect(strstr(r->pieces[0], first_line), "%s", r->pieces[0]);
	cr_expect_str_eq(r->pieces[1], "second\n");
	cr_expect_str_eq(r->pieces[2], "third END\n");
	if (r->pause_after_first) {
		/* Held back while reading was stopped, then delivered in order. */
		cr_expect_geq(r->piece_ms[1] - r->piece_ms[0], 3 * CHUNK_GAP_US / 1000 - 10);
		return;
	}
	/* Each piece came when the server sent it, not all at the end. */
	cr_expect_geq(r->piece_ms[1] - r->piece_ms[0], min_gap);
	cr_expect_geq(r->piece_ms[2] - r->piece_ms[1], min_gap);
}

static void stream_once(const char *ca, const char *host, bool tls, enum srv_mode mode,
			bool pause)
{
	struct run r;
	int port = start_server(mode);
	struct sockaddr_in a = loopback(port);

	run_init(&r, ca);
	r.pause_after_first = pause;
	cr_assert(upstream_connect(r.c, &r.loop, (struct sockaddr *)&a, host, tls, r.ctx, 2000,
				   on_ready_request, &r) == 0);
	cr_assert(uv_run(&r.loop, UV_RUN_DEFAULT) == 0);
	cr_assert(r.closed);
	cr_expect_eq(r.ready_calls, 1);
	cr_expect_eq(r.writes_done, 1);
	cr_expect_eq(r.write_status, 0);
	cr_expect_eq(r.errors, 0);
	expect_three_pieces(&r, "conn=1 req=1 path=/first\n");
	run_fini(&r);
}

TestSuite(upstream, .init = setup, .fini = teardown, .timeout = 20);

Test(upstream, tls_streams_response_pieces_in_order)
{
	stream_once(ca_pem, "localhost", true, SRV_TLS, false);
}

Test(upstream, tls_verifies_ip_literal_against_ip_san)
{
	stream_once(ca_pem, "127.0.0.1", true, SRV_TLS, false);
}

Test(upstream, plain_http_to_loopback_streams)
{
	stream_once(NULL, "localhost", false, SRV_PLAIN, false);
}

Test(upstream, read_stop_and_start_keep_order)
{
	stream_once(ca_pem, "localhost", true, SRV_TLS, true);
}

static void pool_closed(struct upstream_pool *p)
{
	struct run *r = (struct run *)((char *)p - offsetof(struct run, pool));

	r->pool_closed = true;
}

static void pool_next_step(uv_timer_t *t)
{
	struct run *r = t->data;
	int port = r->port;

	cr_assert_eq(r->pool.nidle, 1, "the connection waits in the pool");
	cr_expect_null(upstream_pool_get(&r->pool, "localhost", (uint16_t)port, false, NULL));
	cr_expect_null(upstream_pool_get(&r->pool, "localhost", (uint16_t)(port + 1), true,
					 r->ctx));
	r->c = upstream_pool_get(&r->pool, "LOCALHOST", (uint16_t)port, true, r->ctx);
	cr_assert(r->c, "reused");
	cr_expect_eq(r->pool.nidle, 0);
	r->step = 2;
	send_request(r, "/second");
	uv_close((uv_handle_t *)t, NULL);
}

static void on_ready_pool(struct upstream_conn *c, int status, const char *err)
{
	struct run *r = c->data;

	cr_assert_eq(status, 0, "%s", err);
	r->step = 1;
	send_request(r, "/first");
}

Test(upstream, pool_reuses_keepalive_connection)
{
	struct run r;
	int port = start_server(SRV_TLS);
	struct sockaddr_in a = loopback(port);
	uv_timer_t t;

	run_init(&r, ca_pem);
	r.port = port;
	upstream_pool_init(&r.pool, 2, 5000);
	cr_assert(upstream_connect(r.c, &r.loop, (struct sockaddr *)&a, "localhost", true, r.ctx,
				   2000, on_ready_pool, &r) == 0);
	while (r.step < 1 || r.c)
		uv_run(&r.loop, UV_RUN_ONCE);
	expect_three_pieces(&r, "conn=1 req=1 path=/first\n");

	/* From a fresh loop iteration, as the proxy would on its next request. */
	uv_timer_init(&r.loop, &t);
	t.data = &r;
	uv_timer_start(&t, pool_next_step, 10, 0);
	while (r.step < 2 || r.c)
		uv_run(&r.loop, UV_RUN_ONCE);
	expect_three_pieces(&r, "conn=1 req=2 path=/second\n");
	cr_expect_eq(r.pool.nidle, 1);

	upstream_pool_close(&r.pool, pool_closed);
	run_fini(&r);
	cr_expect(r.pool_closed);
	cr_expect_eq(r.pool.nidle, 0);
	cr_expect_eq(r.pool.nclosing, 0);
}

static void on_ready_pool_close(struct upstream_conn *c, int status, const char *err)
{
	struct run *r = c->data;

	cr_assert_eq(status, 0, "%s", err);
	r->step = 1;
	send_request(r, "/close");
}

Test(upstream, pool_drops_connection_the_server_closed)
{
	struct run r;
	int port = start_server(SRV_TLS);
	struct sockaddr_in a = loopback(port);
	uint64_t t0;

	run_init(&r, ca_pem);
	upstream_pool_init(&r.pool, 2, 5000);
	cr_assert(upstream_connect(r.c, &r.loop, (struct sockaddr *)&a, "localhost", true, r.ctx,
				   2000, on_ready_pool_close, &r) == 0);
	while (r.step < 1 || r.c)
		uv_run(&r.loop, UV_RUN_ONCE);
	expect_three_pieces(&r, "conn=1 req=1 path=/close\n");
	t0 = uv_now(&r.loop);
	while (r.pool.nidle > 0 || r.pool.nclosing > 0)
		uv_run(&r.loop, UV_RUN_ONCE);
	cr_expect_lt(uv_now(&r.loop) - t0, 2000, "dropped on the close, not by the idle timer");
	cr_expect_null(upstream_pool_get(&r.pool, "localhost", (uint16_t)port, true, r.ctx));
	upstream_pool_close(&r.pool, pool_closed);
	run_fini(&r);
	cr_expect(r.pool_closed);
}

static void on_ready_put(struct upstream_conn *c, int status, const char *err)
{
	struct run *r = c->data;

	cr_assert_eq(status, 0, "%s", err);
	r->ready_calls++;
	upstream_pool_put(&r->pool, c);
}

Test(upstream, pool_closes_idle_connection_after_timeout)
{
	struct run r;
	int port = start_server(SRV_TLS);
	struct sockaddr_in a = loopback(port);
	uint64_t t0;

	run_init(&r, ca_pem);
	upstream_pool_init(&r.pool, 1, 200);
	cr_assert(upstream_connect(r.c, &r.loop, (struct sockaddr *)&a, "localhost", true, r.ctx,
				   2000, on_ready_put, &r) == 0);
	t0 = uv_now(&r.loop);
	cr_assert(uv_run(&r.loop, UV_RUN_DEFAULT) == 0, "the pool let it go");
	cr_expect_eq(r.ready_calls, 1);
	cr_expect_geq(uv_now(&r.loop) - t0, 200);
	cr_expect_eq(r.pool.nidle, 0);
	cr_expect_eq(r.pool.nclosing, 0);
	cr_expect_null(upstream_pool_get(&r.pool, "localhost", (uint16_t)port, true, r.ctx));
	upstream_pool_close(&r.pool, pool_closed);
	cr_expect(r.pool_closed);
	run_fini(&r);
}

Test(upstream, pool_keeps_at_most_max_per_key)
{
	struct run r;
	int port = start_server(SRV_TLS);
	struct sockaddr_in a = loopback(port);
	struct upstream_conn *c2 = calloc(1, sizeof(*c2));

	run_init(&r, ca_pem);
	upstream_pool_init(&r.pool, 1, 5000);
	cr_assert(upstream_connect(r.c, &r.loop, (struct sockaddr *)&a, "localhost", true, r.ctx,
				   2000, on_ready_put, &r) == 0);
	cr_assert(upstream_connect(c2, &r.loop, (struct sockaddr *)&a, "localhost", true, r.ctx,
				   2000, on_ready_put, &r) == 0);
	while (r.ready_calls < 2)
		uv_run(&r.loop, UV_RUN_ONCE);
	cr_expect_eq(r.pool.nidle, 1);
	upstream_pool_close(&r.pool, pool_closed);
	run_fini(&r);
	cr_expect(r.pool_closed);
}

Test(upstream, wrong_ca_is_a_verify_error)
{
	struct run r;
	int port = start_server(SRV_TLS);

	run_init(&r, other_ca_pem);
	cr_expect_eq(connect_once(&r, port, "localhost", true, 2000), -EKEYREJECTED);
	cr_expect(strstr(r.ready_err, "certificate verify failed: unable to get local issuer "
				      "certificate"),
		  "%s", r.ready_err);
	cr_expect(strstr(r.ready_err, "upstream 'localhost' (127.0.0.1:"), "%s", r.ready_err);
	cr_expect(strstr(r.ready_err, "hint: "), "%s", r.ready_err);
	run_fini(&r);
}

Test(upstream, host_name_mismatch)
{
	struct run r;
	int port = start_server(SRV_TLS);

	run_init(&r, ca_pem);
	cr_expect_eq(connect_once(&r, port, "wrong.example", true, 2000), -EKEYREJECTED);
	cr_expect(strstr(r.ready_err, "host name mismatch: the certificate is not valid for "
				      "'wrong.example'"),
		  "%s", r.ready_err);
	run_fini(&r);
}

Test(upstream, refused_port)
{
	struct run r;
	int fd, port = listen_loopback(1, &fd);

	close(fd);	/* nothing listens there any more */
	run_init(&r, ca_pem);
	cr_expect_eq(connect_once(&r, port, "localhost", true, 2000), -ECONNREFUSED);
	cr_expect(strstr(r.ready_err, "): connection refused"), "%s", r.ready_err);
	run_fini(&r);
}

Test(upstream, full_backlog_is_a_connect_timeout)
{
	struct run r;
	int lfd, port = listen_loopback(0, &lfd);
	struct sockaddr_in a = loopback(port);
	int fill[4];
	uint64_t took;

	/* Never accepted: once the queue is full the kernel drops our SYNs. */
	for (unsigned i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		cr_assert(fill[i] >= 0);
		connect(fill[i], (struct sockaddr *)&a, sizeof(a));
	}
	usleep(50000);
	run_init(&r, ca_pem);
	cr_expect_eq(connect_once(&r, port, "localhost", true, 300), -ETIMEDOUT, "%s",
		     r.ready_err);
	cr_expect(strstr(r.ready_err, "): connect timed out after 300 ms"), "%s", r.ready_err);
	took = r.t_ready - r.t_start;
	cr_expect(took >= 290 && took < 1500, "took %llu ms", (unsigned long long)took);
	run_fini(&r);
	for (unsigned i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
}

Test(upstream, silent_server_is_a_handshake_timeout)
{
	struct run r;
	int port = start_server(SRV_SILENT);
	uint64_t took;

	run_init(&r, ca_pem);
	cr_expect_eq(connect_once(&r, port, "localhost", true, 300), -ETIMEDOUT);
	cr_expect(strstr(r.ready_err, "TLS handshake timed out after 300 ms"), "%s", r.ready_err);
	took = r.t_ready - r.t_start;
	cr_expect(took >= 290 && took < 1500, "took %llu ms", (unsigned long long)took);
	run_fini(&r);
}

Test(upstream, hangup_during_handshake)
{
	struct run r;
	int port = start_server(SRV_HANGUP);

	run_init(&r, ca_pem);
	cr_expect_eq(connect_once(&r, port, "localhost", true, 2000), -ECONNRESET);
	cr_expect(strstr(r.ready_err, "): TLS handshake failed: the server closed the connection"),
		  "%s", r.ready_err);
	run_fini(&r);
}

Test(upstream, non_tls_answer_is_a_handshake_failure)
{
	struct run r;
	int port = start_server(SRV_GARBAGE);

	run_init(&r, ca_pem);
	cr_expect_eq(connect_once(&r, port, "localhost", true, 2000), -EPROTO);
	cr_expect(strstr(r.ready_err, "): TLS handshake failed: "), "%s", r.ready_err);
	run_fini(&r);
}

static void never_ready(struct upstream_conn *c, int status, const char *err)
{
	cr_assert_fail("on_ready after close: %d %s", status, err ? err : "");
}

static void close_now(uv_timer_t *t)
{
	struct run *r = t->data;

	cr_expect_eq(r->c->state, UPSTREAM_HANDSHAKING);
	upstream_close(r->c, on_closed_free);
	upstream_close(r->c, on_closed_free);	/* a second call does nothing */
	uv_close((uv_handle_t *)t, NULL);
}

Test(upstream, close_mid_handshake_is_clean)
{
	struct run r;
	int port = start_server(SRV_SILENT);
	struct sockaddr_in a = loopback(port);
	uv_timer_t t;

	run_init(&r, ca_pem);
	cr_assert(upstream_connect(r.c, &r.loop, (struct sockaddr *)&a, "localhost", true, r.ctx,
				   5000, never_ready, &r) == 0);
	r.c->data = &r;
	uv_timer_init(&r.loop, &t);
	t.data = &r;
	uv_timer_start(&t, close_now, 100, 0);
	cr_assert(uv_run(&r.loop, UV_RUN_DEFAULT) == 0);
	cr_expect(r.closed);
	cr_expect_lt(uv_now(&r.loop) - r.t_start, 1000);
	run_fini(&r);
}

Test(upstream, close_mid_connect_is_clean)
{
	struct run r;
	int port = start_server(SRV_TLS);
	struct sockaddr_in a = loopback(port);

	run_init(&r, ca_pem);
	cr_assert(upstream_connect(r.c, &r.loop, (struct sockaddr *)&a, "localhost", true, r.ctx,
				   5000, never_ready, &r) == 0);
	cr_expect_eq(r.c->state, UPSTREAM_CONNECTING);
	upstream_close(r.c, on_closed_free);
	cr_assert(uv_run(&r.loop, UV_RUN_DEFAULT) == 0);
	cr_expect(r.closed);
	run_fini(&r);
}

Test(upstream, write_before_ready_and_bad_arguments)
{
	struct run r;
	struct sockaddr_in a = loopback(1);
	char longhost[UPSTREAM_HOST_MAX + 2];
	uv_buf_t b = uv_buf_init((char *)"x", 1);
	int port = start_server(SRV_SILENT);

	run_init(&r, ca_pem);
	memset(longhost, 'a', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	cr_expect_eq(upstream_connect(r.c, &r.loop, (struct sockaddr *)&a, "h", true, NULL, 0,
				      on_ready_record, &r), -EINVAL);
	cr_expect_eq(upstream_connect(r.c, &r.loop, (struct sockaddr *)&a, longhost, true, r.ctx,
				      0, on_ready_record, &r), -ENAMETOOLONG);
	a = loopback(port);
	cr_assert(upstream_connect(r.c, &r.loop, (struct sockaddr *)&a, "localhost", true, r.ctx,
				   0, never_ready, &r) == 0);
	cr_expect_eq(upstream_write(r.c, &b, 1, NULL), -ENOTCONN);
	cr_expect_eq(upstream_read_start(r.c), -ENOTCONN);
	upstream_close(r.c, on_closed_free);
	run_fini(&r);
	cr_expect(r.closed);
}

Test(upstream, ctx_with_missing_ca_file)
{
	char err[256], path[160];

	snprintf(path, sizeof(path), "%s/missing.pem", tmpdir);
	cr_expect_null(upstream_ctx_new(path, err, sizeof(err)));
	cr_expect(strstr(err, "CA file '"), "%s", err);
	cr_expect(strstr(err, "missing.pem': cannot load"), "%s", err);
}

Test(upstream, ctx_with_system_roots)
{
	char err[256];
	SSL_CTX *ctx = upstream_ctx_new(NULL, err, sizeof(err));

	cr_assert(ctx, "%s", err);
	cr_expect_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	cr_expect_eq(SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER, SSL_VERIFY_PEER);
	SSL_CTX_free(ctx);
}
