/* Credential routes: the shipped routes.json, validation, [credential:NAME] overrides, the
 * child's proxy environment and request-path routing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "routes.h"
#include "token.h"

#define TOK "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct routes shipped;

static void load_shipped(void)
{
	char err[512] = "";
	int r = routes_load(PROFILES_DIR "/" ROUTES_FILE, &shipped, err, sizeof(err));

	cr_assert_eq(r, 0, "%s", err);
}

static void free_shipped(void)
{
	routes_free(&shipped);
}

TestSuite(routes, .init = load_shipped, .fini = free_shipped);

Test(routes, shipped_routes)
{
	static const struct {
		const char *name, *upstream, *host, *path, *base_path, *header, *format, *env,
		    *base_url_env;
	} want[] = {
	    {"openai", "https://api.openai.com/v1", "api.openai.com", "/v1", "/v1", "Authorization",
	     "Bearer {}", "OPENAI_API_KEY", "OPENAI_BASE_URL"},
	    {"anthropic", "https://api.anthropic.com", "api.anthropic.com", "", "", "x-api-key",
	     "{}", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"},
	    {"gemini", "https://generativelanguage.googleapis.com",
	     "generativelanguage.googleapis.com", "", "", "x-goog-api-key", "{}", "GEMINI_API_KEY",
	     "GEMINI_BASE_URL"},
	    {"google-ai", "https://generativelanguage.googleapis.com",
	     "generativelanguage.googleapis.com", "", "", "x-goog-api-key", "{}", "GEMINI_API_KEY",
	     "GOOGLE_AI_BASE_URL"},
	    {"github", "https://api.github.com", "api.github.com", "", "", "Authorization",
	     "token {}", "GITHUB_TOKEN", "GITHUB_BASE_URL"},
	    {"gitlab", "https://gitlab.com/api", "gitlab.com", "/api", "", "Authorization",
	     "Bearer {}", "GITLAB_TOKEN", "GITLAB_BASE_URL"},
	};

	cr_assert_eq(shipped.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < shipped.n; i++) {
		const struct route *r = routes_find(&shipped, want[i].name);

		cr_assert_not_null(r, "%s", want[i].name);
		cr_expect_str_eq(r->upstream, want[i].upstream);
		cr_expect_str_eq(r->host, want[i].host);
		cr_expect_eq(r->port, 443);
		cr_expect(r->tls);
		cr_expect_str_eq(r->path, want[i].path);
		cr_expect_str_eq(r->base_path, want[i].base_path);
		cr_expect_str_eq(r->header, want[i].header);
		cr_expect_str_eq(r->format, want[i].format);
		cr_expect_str_eq(r->env, want[i].env);
		cr_expect_str_eq(r->base_url_env, want[i].base_url_env);
		cr_expect_str_eq(r->ca, "");
	}
	const struct route *a = routes_find(&shipped, "anthropic");

	cr_expect_str_eq(a->accept_header, "Authorization");
	cr_expect_str_eq(a->accept_format, "Bearer {}");
	cr_expect_str_eq(a->credential_key, "env://ANTHROPIC_API_KEY");
	cr_expect_str_eq(routes_find(&shipped, "openai")->credential_key, "openai");
	cr_expect_null(routes_find(&shipped, "OpenAI"));
	cr_expect_null(routes_find(&shipped, "nope"));
}

Test(routes, load_errors)
{
	struct routes rt;
	char err[512];

	cr_expect_eq(routes_load("/nonexistent/routes.json", &rt, err, sizeof(err)), -ENOENT);
	cr_expect_str_eq(err, "/nonexistent/routes.json: No such file or directory");
	cr_expect_eq(routes_load("/", &rt, err, sizeof(err)), -EINVAL);
	cr_expect_eq(rt.n, 0);
	routes_free(&rt);
	routes_free(NULL);
}

#define R(body) "{\"routes\": {\"x\": {" body "}}}"
#define OK_KEYS                                                                                    \
	"\"header\": \"Authorization\", \"format\": \"Bearer {}\", \"env_var\": \"X_KEY\", "       \
	"\"base_url_var\": \"X_BASE_URL\""

Test(routes, validation_table)
{
	static const struct {
		const char *json;
		const char *err; /* NULL: accepted */
	} rows[] = {
	    {R("\"upstream\": \"https://example.com\", " OK_KEYS), NULL},
	    {R("\"upstream\": \"http://example.com\", " OK_KEYS),
	     "t.json: route 'x': key 'upstream': 'http://example.com': http:// is allowed to "
	     "loopback only (127.0.0.0/8, ::1, localhost); hint: use https://"},
	    {R("\"upstream\": \"http://10.0.0.1:8080\", " OK_KEYS), "loopback only"},
	    {R("\"upstream\": \"http://127.0.0.1.nip.io\", " OK_KEYS), "loopback only"},
	    {R("\"upstream\": \"http://127.1\", " OK_KEYS), "loopback only"},
	    {R("\"upstream\": \"http://127.0.0.1:8080/v1\", " OK_KEYS), NULL},
	    {R("\"upstream\": \"http://127.9.8.7\", " OK_KEYS), NULL},
	    {R("\"upstream\": \"http://[::1]:9\", " OK_KEYS), NULL},
	    {R("\"upstream\": \"http://LocalHost:9\", " OK_KEYS), NULL},
	    {R("\"upstream\": \"http://[::2]:9\", " OK_KEYS), "loopback only"},
	    {R("\"upstream\": \"ftp://example.com\", " OK_KEYS),
	     "key 'upstream': 'ftp://example.com': must be an https:// (or loopback http://) URL"},
	    {R("\"upstream\": \"https://127.0.0.1@evil.com\", " OK_KEYS), "no user info"},
	    {R("\"upstream\": \"https://example.com/?a=b\", " OK_KEYS), "no query or fragment"},
	    {R("\"upstream\": \"https://example.com:0\", " OK_KEYS), "bad port"},
	    {R("\"upstream\": \"https://example.com:65536\", " OK_KEYS), "bad port"},
	    {R("\"upstream\": \"https://example.com:x\", " OK_KEYS), "bad port"},
	    {R("\"upstream\": \"https://\", " OK_KEYS), "missing or overlong host"},
	    {R("\"upstream\": \"https://ex ample.com\", " OK_KEYS), "spaces and control"},
	    {R("\"upstream\": \"https://ex_ample.com\", " OK_KEYS), "character '_' not allowed"},
	    {R("\"upstream\": \"https://example.com/a/../b\", " OK_KEYS), "'..' segments"},
	    {R("\"upstream\": \"https://[zz]\", " OK_KEYS), "not an IPv6 address in '[]'"},
	    {R("\"upstream\": \"https://[::1\", " OK_KEYS), "unterminated"},
	    {R("\"upstream\": \"https://example.com\", \"upstrem\": \"x\", " OK_KEYS),
	     "t.json: route 'x': unknown key 'upstrem'"},
	    {R("\"upstream\": \"https://example.com\", \"header\": \"Authorization\", "
	       "\"format\": \"{}\", \"env_var\": \"X_KEY\""),
	     "t.json: route 'x': key 'base_url_var' is missing"},
	    {R("\"upstream\": 1, " OK_KEYS), "t.json: route 'x': key 'upstream': must be a string"},
	    {R("\"upstream\": \"https://example.com\", \"header\": \"Host\", \"format\": \"{}\", "
	       "\"env_var\": \"X_KEY\", \"base_url_var\": \"X_BASE_URL\""),
	     "key 'header': 'Host' frames the request; the key cannot go there"},
	    {R("\"upstream\": \"https://example.com\", \"header\": \"a b\", \"format\": \"{}\", "
	       "\"env_var\": \"X_KEY\", \"base_url_var\": \"X_BASE_URL\""),
	     "key 'header': 'a b' is not a header name"},
	    {R("\"upstream\": \"https://example.com\", \"header\": \"x-key\", \"format\": "
	       "\"Bearer\", \"env_var\": \"X_KEY\", \"base_url_var\": \"X_BASE_URL\""),
	     "key 'format': 'Bearer' must hold exactly one '{}' (where the key goes)"},
	    {R("\"upstream\": \"https://example.com\", \"header\": \"x-key\", \"format\": "
	       "\"{}{}\", \"env_var\": \"X_KEY\", \"base_url_var\": \"X_BASE_URL\""),
	     "exactly one '{}'"},
	    {R("\"upstream\": \"https://example.com\", \"header\": \"x-key\", \"format\": "
	       "\"{}\\r\\nX: y\", \"env_var\": \"X_KEY\", \"base_url_var\": \"X_BASE_URL\""),
	     "key 'format': control characters are not allowed"},
	    {R("\"upstream\": \"https://example.com\", \"header\": \"x-key\", \"format\": \"{}\", "
	       "\"env_var\": \"HTTPS_PROXY\", \"base_url_var\": \"X_BASE_URL\""),
	     "key 'env_var': 'HTTPS_PROXY' is set by the proxy itself"},
	    {R("\"upstream\": \"https://example.com\", \"header\": \"x-key\", \"format\": \"{}\", "
	       "\"env_var\": \"X-KEY\", \"base_url_var\": \"X_BASE_URL\""),
	     "key 'env_var': 'X-KEY' is not a variable name"},
	    {R("\"upstream\": \"https://example.com\", \"header\": \"x-key\", \"format\": \"{}\", "
	       "\"env_var\": \"X\", \"base_url_var\": \"X\""),
	     "t.json: route 'x': env and base URL variable are both 'X'"},
	    {R("\"upstream\": \"https://example.com\", \"base_path\": \"/v1/\", " OK_KEYS),
	     "key 'base_path': '/v1/': no trailing '/'"},
	    {R("\"upstream\": \"https://example.com\", \"base_path\": \"v1\", " OK_KEYS),
	     "key 'base_path': must start with '/'"},
	    {R("\"upstream\": \"https://example.com\", \"ca\": \"ca.pem\", " OK_KEYS),
	     "key 'ca': 'ca.pem' must be an absolute path"},
	    {R("\"upstream\": \"https://example.com\", \"also_accept\": \"Bearer {}\", " OK_KEYS),
	     "key 'also_accept': 'Bearer {}' must read 'Header: format'"},
	    {"{\"routes\": {\"a/b\": {}}}",
	     "t.json: route 'a/b': names are 1 to 63 of A-Z a-z 0-9 _ - (the path segment)"},
	    {"{\"routes\": {\"x\": 1}}", "t.json: route 'x': must be an object"},
	    {"{\"routes\": {}, \"extra\": 1}", "t.json: unknown key 'extra'"},
	    {"{\"routes\": []}", "t.json: 'routes' must be an object of routes"},
	    {"[]", "t.json: not a JSON object"},
	    {"{\"routes\": {", "t.json: not a JSON object"},
	    {"{\"routes\": {\"x\": {" OK_KEYS ", \"upstream\": \"https://a\"}, \"x\": {}}}",
	     "t.json: route 'x' appears twice"},
	    {"{\"routes\": {}}", NULL},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct routes rt;
		char err[512] = "";
		int r = routes_parse(rows[i].json, strlen(rows[i].json), "t.json", &rt, err,
				     sizeof(err));

		if (!rows[i].err) {
			cr_expect_eq(r, 0, "row %zu: %s", i, err);
		} else {
			cr_expect_eq(r, -EINVAL, "row %zu", i);
			cr_expect(strstr(err, rows[i].err), "row %zu: got \"%s\"", i, err);
			cr_expect_eq(rt.n, 0);
		}
		routes_free(&rt);
	}
}

Test(routes, upstream_normalised)
{
	static const struct {
		const char *in, *upstream, *host, *path;
		unsigned port;
		bool tls;
	} rows[] = {
	    {"HTTPS://Example.COM:8443/V1/", "https://example.com:8443/V1", "example.com", "/V1",
	     8443, true},
	    {"https://example.com///", "https://example.com", "example.com", "", 443, true},
	    {"http://127.0.0.1:9000/v1", "http://127.0.0.1:9000/v1", "127.0.0.1", "/v1", 9000,
	     false},
	    {"http://[::1]/x", "http://[::1]/x", "::1", "/x", 80, false},
	    {"https://[2001:db8::1]:444", "https://[2001:db8::1]:444", "2001:db8::1", "", 444,
	     true},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct route out;
		char err[512] = "";
		int r =
		    routes_resolve(&shipped, "x", &(struct route_overrides){.upstream = rows[i].in},
				   &out, err, sizeof(err));

		cr_assert_eq(r, 0, "row %zu: %s", i, err);
		cr_expect_str_eq(out.upstream, rows[i].upstream, "row %zu", i);
		cr_expect_str_eq(out.host, rows[i].host, "row %zu", i);
		cr_expect_str_eq(out.path, rows[i].path, "row %zu", i);
		cr_expect_eq(out.port, rows[i].port, "row %zu", i);
		cr_expect_eq(out.tls, rows[i].tls, "row %zu", i);
	}
}

Test(routes, overrides)
{
	struct route out;
	char err[512] = "";

	/* Same name as a built-in route: that route, as is. */
	cr_assert_eq(routes_resolve(&shipped, "openai", NULL, &out, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_str_eq(out.upstream, "https://api.openai.com/v1");
	cr_expect_str_eq(out.env, "OPENAI_API_KEY");

	/* A test upstream with its own CA. */
	cr_assert_eq(
	    routes_resolve(&shipped, "openai",
			   &(struct route_overrides){.upstream = "http://127.0.0.1:9443/v1",
						     .ca = "/tmp/ca.pem"},
			   &out, err, sizeof(err)),
	    0, "%s", err);
	cr_expect_str_eq(out.name, "openai");
	cr_expect_str_eq(out.upstream, "http://127.0.0.1:9443/v1");
	cr_expect_str_eq(out.ca, "/tmp/ca.pem");
	cr_expect_str_eq(out.header, "Authorization");
	cr_expect_str_eq(out.format, "Bearer {}");
	cr_expect_str_eq(out.base_path, "/v1");

	/* Another name on a built-in route: keeps the route's variables, takes the name. */
	cr_assert_eq(routes_resolve(&shipped, "work-claude",
				    &(struct route_overrides){.route = "anthropic",
							      .env = "WORK_ANTHROPIC_KEY"},
				    &out, err, sizeof(err)),
		     0, "%s", err);
	cr_expect_str_eq(out.name, "work-claude");
	cr_expect_str_eq(out.upstream, "https://api.anthropic.com");
	cr_expect_str_eq(out.header, "x-api-key");
	cr_expect_str_eq(out.env, "WORK_ANTHROPIC_KEY");
	cr_expect_str_eq(out.base_url_env, "ANTHROPIC_BASE_URL");

	/* A new header alone resets the format to that header's default. */
	cr_assert_eq(routes_resolve(&shipped, "openai",
				    &(struct route_overrides){.header = "api-key"}, &out, err,
				    sizeof(err)),
		     0, "%s", err);
	cr_expect_str_eq(out.header, "api-key");
	cr_expect_str_eq(out.format, "{}");
	cr_assert_eq(routes_resolve(&shipped, "github",
				    &(struct route_overrides){.header = "Authorization",
							      .format = "Bearer {}"},
				    &out, err, sizeof(err)),
		     0, "%s", err);
	cr_expect_str_eq(out.format, "Bearer {}");
	cr_assert_eq(routes_resolve(&shipped, "anthropic",
				    &(struct route_overrides){.header = "Authorization"}, &out, err,
				    sizeof(err)),
		     0, "%s", err);
	cr_expect_str_eq(out.format, "Bearer {}");

	/* No built-in route: upstream required; defaults from the name. */
	cr_assert_eq(
	    routes_resolve(&shipped, "my-api",
			   &(struct route_overrides){.upstream = "https://api.example.com/"}, &out,
			   err, sizeof(err)),
	    0, "%s", err);
	cr_expect_str_eq(out.name, "my-api");
	cr_expect_str_eq(out.upstream, "https://api.example.com");
	cr_expect_str_eq(out.header, "Authorization");
	cr_expect_str_eq(out.format, "Bearer {}");
	cr_expect_str_eq(out.env, "MY_API_API_KEY");
	cr_expect_str_eq(out.base_url_env, "MY_API_BASE_URL");
	cr_expect_str_eq(out.base_path, "");
	cr_expect_str_eq(out.credential_key, "");
}

Test(routes, override_errors)
{
	static const struct {
		const char *name;
		struct route_overrides ov;
		const char *err;
	} rows[] = {
	    {"mystery",
	     {0},
	     "credential 'mystery': no built-in route of that name; hint: set route = one of "
	     "openai, anthropic, gemini, google-ai, github, gitlab, or upstream = URL"},
	    {"x",
	     {.route = "openia"},
	     "credential 'x': key 'route': no built-in route 'openia'; hint: one of openai, "
	     "anthropic, gemini, google-ai, github, gitlab"},
	    {"openai",
	     {.upstream = "http://api.openai.com/v1"},
	     "credential 'openai': key 'upstream': 'http://api.openai.com/v1': http:// is "
	     "allowed to loopback only (127.0.0.0/8, ::1, localhost); hint: use https://"},
	    {"openai",
	     {.ca = "certs/ca.pem"},
	     "credential 'openai': key 'ca': 'certs/ca.pem' must be an absolute path"},
	    {"openai",
	     {.header = "Content-Length"},
	     "credential 'openai': key 'header': 'Content-Length' frames the request"},
	    {"openai",
	     {.format = "Bearer"},
	     "credential 'openai': key 'format': 'Bearer' must hold exactly one '{}'"},
	    {"openai",
	     {.env = "1KEY"},
	     "credential 'openai': key 'env': '1KEY' is not a variable name"},
	    {"openai",
	     {.env = "OPENAI_BASE_URL"},
	     "credential 'openai': env and base URL variable are both 'OPENAI_BASE_URL'"},
	    {"openai",
	     {.base_path = "/v1/../x"},
	     "credential 'openai': key 'base_path': '.' and '..' segments are not allowed"},
	    {"bad name",
	     {.upstream = "https://a"},
	     "credential 'bad name': names are 1 to 63 of A-Z a-z 0-9 _ - (the path segment)"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct route out;
		char err[512] = "";

		cr_expect_eq(
		    routes_resolve(&shipped, rows[i].name, &rows[i].ov, &out, err, sizeof(err)),
		    -EINVAL, "row %zu", i);
		cr_expect(strncmp(err, rows[i].err, strlen(rows[i].err)) == 0,
			  "row %zu: got \"%s\"", i, err);
	}
}

static void expect_env(char **env, int n, const char *const *want, size_t nwant)
{
	cr_assert_eq(n, (int)nwant);
	for (size_t i = 0; i < nwant; i++)
		cr_expect_str_eq(env[i], want[i], "entry %zu", i);
	cr_expect_null(env[nwant]);
}

Test(routes, child_env_exact)
{
	static const char *const want[] = {
	    "OPENAI_API_KEY=" TOK,
	    "OPENAI_BASE_URL=http://127.0.0.1:4711/openai/v1",
	    "ANTHROPIC_API_KEY=" TOK,
	    "ANTHROPIC_BASE_URL=http://127.0.0.1:4711/anthropic",
	    "GEMINI_API_KEY=" TOK,
	    "GEMINI_BASE_URL=http://127.0.0.1:4711/gemini",
	    /* google-ai shares GEMINI_API_KEY (same phantom): once */
	    "GOOGLE_AI_BASE_URL=http://127.0.0.1:4711/google-ai",
	    "GITHUB_TOKEN=" TOK,
	    "GITHUB_BASE_URL=http://127.0.0.1:4711/github",
	    "NONO_PROXY_TOKEN=" TOK,
	    "HTTP_PROXY=http://nono:" TOK "@127.0.0.1:4711",
	    "HTTPS_PROXY=http://nono:" TOK "@127.0.0.1:4711",
	    "http_proxy=http://nono:" TOK "@127.0.0.1:4711",
	    "https_proxy=http://nono:" TOK "@127.0.0.1:4711",
	    "NO_PROXY=localhost,127.0.0.1",
	    "no_proxy=localhost,127.0.0.1",
	    "NODE_USE_ENV_PROXY=1",
	};
	const struct route *rs[] = {
	    routes_find(&shipped, "openai"), routes_find(&shipped, "anthropic"),
	    routes_find(&shipped, "gemini"), routes_find(&shipped, "google-ai"),
	    routes_find(&shipped, "github"),
	};
	struct token t;
	char **env;
	int n;

	memcpy(t.hex, TOK, sizeof(t.hex));
	n = routes_child_env(rs, sizeof(rs) / sizeof(rs[0]), &t, 4711, &env);
	expect_env(env, n, want, sizeof(want) / sizeof(want[0]));
	routes_env_free(env);
	routes_env_free(NULL);
}

Test(routes, child_env_no_routes_and_errors)
{
	static const char *const want[] = {
	    "NONO_PROXY_TOKEN=" TOK,
	    "HTTP_PROXY=http://nono:" TOK "@127.0.0.1:1",
	    "HTTPS_PROXY=http://nono:" TOK "@127.0.0.1:1",
	    "http_proxy=http://nono:" TOK "@127.0.0.1:1",
	    "https_proxy=http://nono:" TOK "@127.0.0.1:1",
	    "NO_PROXY=localhost,127.0.0.1",
	    "no_proxy=localhost,127.0.0.1",
	    "NODE_USE_ENV_PROXY=1",
	};
	struct token t, empty = {{0}};
	struct route clash;
	const struct route *rs[2];
	char err[256], **env = (char **)1;
	int n;

	memcpy(t.hex, TOK, sizeof(t.hex));
	n = routes_child_env(NULL, 0, &t, 1, &env);
	expect_env(env, n, want, sizeof(want) / sizeof(want[0]));
	routes_env_free(env);

	cr_expect_eq(routes_child_env(NULL, 0, &t, 0, &env), -EINVAL);
	cr_expect_null(env);
	cr_expect_eq(routes_child_env(NULL, 0, &t, 65536, &env), -EINVAL);
	cr_expect_eq(routes_child_env(NULL, 0, &empty, 80, &env), -EINVAL);

	/* two routes, one base URL variable: refused, not silently one of them */
	cr_assert_eq(routes_resolve(&shipped, "openai2",
				    &(struct route_overrides){.route = "openai"}, &clash, err,
				    sizeof(err)),
		     0, "%s", err);
	rs[0] = routes_find(&shipped, "openai");
	rs[1] = &clash;
	cr_expect_eq(routes_child_env(rs, 2, &t, 80, &env), -EEXIST);
	cr_expect_null(env);
}

Test(routes, match_path_table)
{
	struct route local;
	char err[256];
	const struct route *rs[7];
	size_t n = 0;

	for (size_t i = 0; i < shipped.n; i++)
		rs[n++] = &shipped.v[i];
	cr_assert_eq(routes_resolve(&shipped, "fake",
				    &(struct route_overrides){.route = "openai",
							      .upstream = "http://127.0.0.1:9/"},
				    &local, err, sizeof(err)),
		     0, "%s", err);
	rs[n++] = &local;

	static const struct {
		const char *path;
		int r;
		const char *route, *upath;
	} rows[] = {
	    /* OPENAI_BASE_URL=…/openai/v1: the SDK appends /chat/completions */
	    {"/openai/v1/chat/completions", 0, "openai", "/v1/chat/completions"},
	    /* nono's form, OPENAI_BASE_URL=…/openai */
	    {"/openai/chat/completions", 0, "openai", "/v1/chat/completions"},
	    {"/openai/v1/models?limit=2", 0, "openai", "/v1/models?limit=2"},
	    {"/openai/v1", 0, "openai", "/v1"},
	    {"/openai/v1?x=1", 0, "openai", "/v1?x=1"},
	    {"/openai", 0, "openai", "/v1"},
	    {"/openai/", 0, "openai", "/v1/"},
	    {"/openai?x=1", 0, "openai", "/v1?x=1"},
	    {"/openai/v10/models", 0, "openai", "/v1/v10/models"},
	    /* ANTHROPIC_BASE_URL=…/anthropic: the SDK appends /v1/messages */
	    {"/anthropic/v1/messages", 0, "anthropic", "/v1/messages"},
	    {"/anthropic", 0, "anthropic", "/"},
	    {"/anthropic?beta=true", 0, "anthropic", "/?beta=true"},
	    {"/gemini/v1beta/models/gemini-2.0-flash:generateContent", 0, "gemini",
	     "/v1beta/models/gemini-2.0-flash:generateContent"},
	    {"/google-ai/v1beta/models", 0, "google-ai", "/v1beta/models"},
	    {"/github/repos/o/r/issues", 0, "github", "/repos/o/r/issues"},
	    {"/gitlab/v4/projects/group%2Fproject", 0, "gitlab",
	     "/api/v4/projects/group%2Fproject"},
	    {"/fake/v1/chat/completions", 0, "fake", "/chat/completions"},
	    {"/fake", 0, "fake", "/"},
	    {"/nope/v1/chat/completions", -ENOENT, NULL, NULL},
	    {"/", -ENOENT, NULL, NULL},
	    {"/OpenAI/v1/models", -ENOENT, NULL, NULL},
	    {"/openai2/v1/models", -ENOENT, NULL, NULL},
	    {"/open", -ENOENT, NULL, NULL},
	    {"//openai/v1/models", -ENOENT, NULL, NULL},
	    {"/./openai/v1/models", -ENOENT, NULL, NULL},
	    {"", -EINVAL, NULL, NULL},
	    {"openai/v1/models", -EINVAL, NULL, NULL},
	    {"http://api.openai.com/v1/models", -EINVAL, NULL, NULL},
	    {"/openai/v1/../../admin", -EINVAL, NULL, NULL},
	    {"/gitlab/..", -EINVAL, NULL, NULL},
	    {"/gitlab/%2e%2E/admin", -EINVAL, NULL, NULL},
	    {"/gitlab/.%2e/admin", -EINVAL, NULL, NULL},
	    {"/gitlab/./v4", -EINVAL, NULL, NULL},
	    {"/gitlab/v4/...", 0, "gitlab", "/api/v4/..."},
	    {"/gitlab/v4/a..b", 0, "gitlab", "/api/v4/a..b"},
	    {"/openai/v1/models#frag", -EINVAL, NULL, NULL},
	    {"/openai/v1/mo dels", -EINVAL, NULL, NULL},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct route *route = (const struct route *)1;
		char upath[128];
		int r = routes_match_path(rs, n, rows[i].path, strlen(rows[i].path), &route, upath,
					  sizeof(upath));

		if (rows[i].r < 0) {
			cr_expect_eq(r, rows[i].r, "row %zu (%s): %d", i, rows[i].path, r);
			cr_expect_null(route, "row %zu", i);
			continue;
		}
		cr_assert_geq(r, 0, "row %zu (%s): %d", i, rows[i].path, r);
		cr_expect_str_eq(route->name, rows[i].route, "row %zu", i);
		cr_expect_str_eq(upath, rows[i].upath, "row %zu", i);
		cr_expect_eq((size_t)r, strlen(rows[i].upath), "row %zu", i);
	}
}

Test(routes, match_path_bounds)
{
	const struct route *rs[] = {routes_find(&shipped, "openai")};
	const struct route *route;
	char upath[sizeof("/v1/chat/completions")];
	const char *p = "/openai/v1/chat/completions";

	cr_expect_eq(routes_match_path(rs, 1, p, strlen(p), &route, upath, sizeof(upath)),
		     (int)strlen("/v1/chat/completions"));
	cr_expect_str_eq(upath, "/v1/chat/completions");
	cr_expect_eq(routes_match_path(rs, 1, p, strlen(p), &route, upath, sizeof(upath) - 1),
		     -ENAMETOOLONG);
	/* len bounds the request target: no NUL needed after it */
	cr_expect_eq(
	    routes_match_path(rs, 1, "/openai/v1/modelsXXXX", 17, &route, upath, sizeof(upath)),
	    (int)strlen("/v1/models"));
	cr_expect_str_eq(upath, "/v1/models");
}
