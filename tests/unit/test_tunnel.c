/* CONNECT and absolute-form requests: the session's token, its allowlist, checked addresses. */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hostrules.h"
#include "proxy_harness.h"

static struct hostrules *allow;
static char auth[256];	/* "Proxy-Authorization: Basic base64(nono:TOKEN)\r\n" */

/* The harness's session, allowed the hosts in entries ("%d" is the upstream's port). */
static void allow_hosts(const char *const *entries, size_t n)
{
	char buf[8][64], *list[9] = {0}, err[256];
	unsigned char b64[160];

	for (size_t i = 0; i < n; i++) {
		snprintf(buf[i], sizeof(buf[i]), entries[i], upstream_port);
		list[i] = buf[i];
	}
	cr_assert_eq(hostrules_new(&allow, list, err, sizeof(err)), 0, "%s", err);
	session.allow = allow;
	EVP_EncodeBlock(b64, (const unsigned char *)"nono:" TOKEN, (int)strlen("nono:" TOKEN));
	snprintf(auth, sizeof(auth), "Proxy-Authorization: Basic %s\r\n", b64);
}

static void setup_loopback(void)
{
	static const char *const e[] = {"127.0.0.1:%d", "example.com"};

	setup_session();
	allow_hosts(e, 2);
}

static void setup_by_name(void)
{
	static const char *const e[] = {"localhost:%d"};

	setup_session();
	allow_hosts(e, 1);
}

static void teardown(void)
{
	session.allow = NULL;
	hostrules_free(allow);
	allow = NULL;
	teardown_session();
}

static void client_tunnel(int port, int out)
{
	char req[1024];
	int fd = tcp_connect(port);

	if (fd < 0) {
		put(out, "connect failed\n");
		return;
	}
	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n",
		 upstream_port, upstream_port, auth);
	/* The 200 has no body and no Content-Length: read its head only. */
	send_all(fd, req);
	{
		char head[512];
		size_t have = 0;
		ssize_t hl = read_head(fd, head, sizeof(head), &have);

		head[hl > 0 ? hl : 0] = '\0';
		put(out, hl > 0 && (size_t)hl == have ? head : "bad 200\n");
		put(out, "\n====\n");
	}
	/* Now the bytes go to the upstream as they are: its own Authorization too. */
	exchange_on(fd, "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer mine\r\n\r\n",
		    out);
	exchange_on(fd, "GET /v1/again HTTP/1.1\r\nHost: x\r\n\r\n", out);
	close(fd);
	usleep(200000); /* the proxy sees this EOF before the harness sees ours */
}

Test(tunnel, connect_to_an_allowlisted_address, .init = setup_loopback, .fini = teardown,
     .timeout = 30)
{
	static struct harness h;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Connection: keep-alive\r\nX-Upstream: yes\r\n"
			 "Content-Length: 11\r\n\r\n{\"ok\":true}\n====\n";
	char want[1024], *up, *au;

	run_proxy(&h, &session, client_tunnel);
	snprintf(want, sizeof(want), "HTTP/1.1 200 Connection Established\r\n\r\n\n====\n%s%s", ok,
		 ok);
	cr_assert_str_eq(h.text, want);
	up = slurp(upstream_log);
	cr_assert(strstr(up, "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer mine\r\n"),
		  "%s", up);
	cr_assert(strstr(up, "GET /v1/again HTTP/1.1\r\n"), "%s", up);
	cr_assert_null(strstr(up, "CONNECT"), "%s", up);
	audit_flush(&audit);
	au = slurp(audit_log);
	cr_assert(strstr(au, "\"kind\":\"connect\",\"method\":\"CONNECT\",\"host\":\"127.0.0.1\""),
		  "%s", au);
	cr_assert(strstr(au, "\"status\":200"), "%s", au);
	cr_assert(strstr(au, "\"decision\":\"allow\""), "%s", au);
	cr_assert(strstr(au, "tunnel closed by the client"), "%s", au);
	cr_assert_null(strstr(au, TOKEN));
}

static void client_refused(int port, int out)
{
	char req[1024];
	const char *targets[] = {
	    "127.0.0.1:%d",		/* no Proxy-Authorization */
	    "127.0.0.1:%d",		/* a wrong token */
	    "127.0.0.1:1",		/* allowlisted address, other port */
	    "localhost:%d",		/* a name not on the list */
	    "metadata.google.internal:443", /* never, whatever the list says */
	    "127.0.0.1%%25lo:%d",	/* junk a resolver might read otherwise */
	    "example.com:443",		/* allowed, but the test has no DNS: 502, never sent */
	};

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		char target[128];
		const char *a = i == 0	 ? ""
				: i == 1 ? "Proxy-Authorization: Basic bm9ubzp3cm9uZw==\r\n"
					 : auth;

		snprintf(target, sizeof(target), targets[i], upstream_port);
		snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", target,
			 target, a);
		exchange(port, req, out);
	}
}

Test(tunnel, connect_refusals, .init = setup_loopback, .fini = teardown, .timeout = 30)
{
	static struct harness h;
	static const char *const want[] = {"407", "407", "403", "403", "403", "400", "502"};
	static const char *const why[] = {
	    "Proxy-Authorization", "Proxy-Authorization", "port", "localhost",
	    "metadata",		   "request-target",	  "example.com"};
	const char *p;
	char *au;

	run_proxy(&h, &session, client_refused);
	p = h.text;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char line[32];
		const char *end = strstr(p, "\n====\n");

		snprintf(line, sizeof(line), "HTTP/1.1 %s ", want[i]);
		cr_assert(strncmp(p, line, strlen(line)) == 0, "reply %zu: %s", i, p);
		cr_assert_not_null(end);
		cr_assert(memmem(p, (size_t)(end - p), why[i], strlen(why[i])), "reply %zu: %s", i,
			  p);
		if (i < 2)
			cr_assert(strstr(p, "Proxy-Authenticate: Basic realm=\"nono\"\r\n"), "%s", p);
		p = end + 6;
	}
	cr_assert_str_eq(slurp(upstream_log), "", "the upstream saw a request");
	audit_flush(&audit);
	au = slurp(audit_log);
	cr_assert(strstr(au, "\"status\":407"), "%s", au);
	cr_assert(strstr(au, "\"status\":403"), "%s", au);
	cr_assert_null(strstr(au, TOKEN));
}

static void client_name(int port, int out)
{
	char req[512];

	snprintf(req, sizeof(req), "CONNECT localhost:%d HTTP/1.1\r\nHost: x\r\n%s\r\n",
		 upstream_port, auth);
	exchange(port, req, out);
}

/* A listed name that resolves to loopback is refused: only address entries allow that. */
Test(tunnel, a_name_resolving_to_loopback_is_refused, .init = setup_by_name, .fini = teardown,
     .timeout = 30)
{
	static struct harness h;

	run_proxy(&h, &session, client_name);
	cr_assert(strncmp(h.text, "HTTP/1.1 403 ", 13) == 0, "%s", h.text);
	cr_assert(strstr(h.text, "loopback"), "%s", h.text);
	cr_assert_str_eq(slurp(upstream_log), "");
}

static void client_absolute(int port, int out)
{
	char req[1024];

	snprintf(req, sizeof(req),
		 "GET http://127.0.0.1:%d/v1/models?key=secret HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		 "%s\r\n",
		 upstream_port, upstream_port, auth);
	exchange(port, req, out);
	snprintf(req, sizeof(req),
		 "GET http://127.0.0.1:1/v1/models HTTP/1.1\r\nHost: 127.0.0.1:1\r\n%s\r\n", auth);
	exchange(port, req, out);
	snprintf(req, sizeof(req), "GET https://127.0.0.1:%d/ HTTP/1.1\r\nHost: x\r\n%s\r\n",
		 upstream_port, auth);
	exchange(port, req, out);
}

Test(tunnel, absolute_form_is_forwarded_to_allowlisted_hosts, .init = setup_loopback,
     .fini = teardown, .timeout = 30)
{
	static struct harness h;
	const char *second, *third;
	char *up, *au;

	run_proxy(&h, &session, client_absolute);
	cr_assert(strncmp(h.text, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", h.text);
	cr_assert(strstr(h.text, "{\"ok\":true}\n====\n"), "%s", h.text);
	second = strstr(h.text, "\n====\n") + 6;
	cr_assert(strncmp(second, "HTTP/1.1 403 ", 13) == 0, "%s", second);
	third = strstr(second, "\n====\n") + 6;
	cr_assert(strncmp(third, "HTTP/1.1 400 ", 13) == 0, "%s", third);
	cr_assert(strstr(third, "use CONNECT"), "%s", third);
	up = slurp(upstream_log);
	cr_assert(strstr(up, "GET /v1/models?key=secret HTTP/1.1\r\n"), "%s", up);
	cr_assert_null(strcasestr(up, "proxy-authorization"), "%s", up);
	cr_assert_null(strstr(up, "1/v1/models HTTP/1.1\r\nHost: 127.0.0.1:1"), "%s", up);
	audit_flush(&audit);
	au = slurp(audit_log);
	cr_assert(strstr(au, "\"kind\":\"absolute\",\"method\":\"GET\",\"host\":\"127.0.0.1\","
			     "\"path\":\"/v1/models\""),
		  "%s", au);
	cr_assert_null(strstr(au, "secret"), "the query reached the audit log: %s", au);
}

static void client_connect_plain(int port, int out)
{
	char req[512];

	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n%s\r\n",
		 upstream_port, auth);
	exchange(port, req, out);
}

static void setup_none(void)
{
	setup_session();
	allow_hosts(NULL, 0);
	session.allow = NULL;
}

Test(tunnel, no_allowlist_no_tunnel, .init = setup_none, .fini = teardown, .timeout = 30)
{
	static struct harness h;

	run_proxy(&h, &session, client_connect_plain);
	cr_assert(strncmp(h.text, "HTTP/1.1 403 ", 13) == 0, "%s", h.text);
	cr_assert(strstr(h.text, "service 'svc' allowlists no hosts"), "%s", h.text);
}
