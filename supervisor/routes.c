/* routes: load and check the proxy's routes, apply [credential:NAME] settings, build the
 * child's proxy environment, and map request paths to upstream paths. */
#include "routes.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define WHY_MAX 192

enum field {
	F_UPSTREAM,
	F_HEADER,
	F_FORMAT,
	F_ENV,
	F_BASE_URL_ENV,
	F_BASE_PATH,
	F_CA,
	F_CREDENTIAL_KEY,
	F_ALSO_ACCEPT,
	F_DESCRIPTION,
};

/* routes.json keys; required ones must be in every route. */
static const struct {
	const char *key;
	enum field field;
	bool required;
} json_keys[] = {
    {"upstream", F_UPSTREAM, true},
    {"header", F_HEADER, true},
    {"format", F_FORMAT, true},
    {"env_var", F_ENV, true},
    {"base_url_var", F_BASE_URL_ENV, true},
    {"base_path", F_BASE_PATH, false},
    {"ca", F_CA, false},
    {"credential_key", F_CREDENTIAL_KEY, false},
    {"also_accept", F_ALSO_ACCEPT, false},
    {"description", F_DESCRIPTION, false},
};

/* Variables the proxy environment sets itself; a route may not take them. */
static const char *const reserved_env[] = {
    "NONO_PROXY_TOKEN", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
    "NO_PROXY",		"no_proxy",   "ALL_PROXY",   "all_proxy",  "NODE_USE_ENV_PROXY",
};

/* Headers that frame or route the request: injecting a key there would corrupt it. */
static const char *const framing_headers[] = {
    "host", "content-length", "transfer-encoding",   "connection",	 "keep-alive", "upgrade",
    "te",   "trailer",	      "proxy-authorization", "proxy-connection", "expect",
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int copy(char *dst, size_t size, const char *v, char *why)
{
	size_t n = strlen(v);

	if (n >= size)
		return fail(why, WHY_MAX, "longer than %zu bytes", size - 1);
	memcpy(dst, v, n + 1);
	return 0;
}

static bool visible(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ROUTE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

static bool is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(host, "localhost") == 0 || strcmp(host, "localhost.") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

static bool path_char(char c)
{
	/* RFC 3986 pchar and '/', without '?' and '#' (an upstream carries no query). */
	return name_char(c) || strchr("/.~%!$&'()*+,;=:@", c);
}

static bool dot_segment(const char *s, size_t n)
{
	size_t dots = 0, i = 0;

	while (i < n) {
		if (s[i] == '.') {
			i++;
		} else if (i + 2 < n && s[i] == '%' && s[i + 1] == '2' &&
			   (s[i + 2] == 'e' || s[i + 2] == 'E')) {
			i += 3;
		} else {
			return false;
		}
		dots++;
	}
	return dots == 1 || dots == 2;
}

/* Whether the path (up to n bytes) holds a "." or ".." segment, plain or %2e-encoded. */
static bool has_dot_segment(const char *p, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == '/') {
			if (dot_segment(p + start, i - start))
				return true;
			start = i + 1;
		}
	}
	return false;
}

static int check_path(const char *p, char *why)
{
	if (p[0] && p[0] != '/')
		return fail(why, WHY_MAX, "must start with '/'");
	for (const char *c = p; *c; c++)
		if (!path_char(*c))
			return fail(why, WHY_MAX, "character '%c' not allowed in the path", *c);
	if (has_dot_segment(p, strlen(p)))
		return fail(why, WHY_MAX, "'.' and '..' segments are not allowed");
	return 0;
}

/*
 * https://HOST[:PORT][/PATH], or http:// when HOST is loopback (the key would otherwise
 * cross the network in clear). No user info, query or fragment: they hide where the key
 * goes (http://127.0.0.1@example.com).
 */
static int parse_upstream(struct route *r, const char *url, char *why)
{
	char host[ROUTE_HOST_MAX + 1], path[ROUTE_URL_MAX + 1];
	const char *p, *auth_end, *h_end;
	size_t hlen, plen;
	unsigned long port;
	bool tls, v6, has_port;
	int w;

	if (!visible(url) || strchr(url, ' '))
		return fail(why, WHY_MAX, "spaces and control characters are not allowed");
	if (strlen(url) > ROUTE_URL_MAX)
		return fail(why, WHY_MAX, "longer than %d bytes", ROUTE_URL_MAX);
	if (strncasecmp(url, "https://", 8) == 0) {
		tls = true;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		tls = false;
		p = url + 7;
	} else {
		return fail(why, WHY_MAX, "'%s': must be an https:// (or loopback http://) URL",
			    url);
	}
	if (strpbrk(url, "?#"))
		return fail(why, WHY_MAX, "'%s': no query or fragment allowed", url);
	auth_end = p + strcspn(p, "/");
	if (memchr(p, '@', (size_t)(auth_end - p)))
		return fail(why, WHY_MAX, "'%s': no user info ('@') allowed", url);
	v6 = *p == '[';
	if (v6) {
		p++;
		h_end = memchr(p, ']', (size_t)(auth_end - p));
		if (!h_end)
			return fail(why, WHY_MAX, "'%s': unterminated '[' in the host", url);
	} else {
		h_end = p + strcspn(p, ":/");
	}
	hlen = (size_t)(h_end - p);
	if (hlen == 0 || hlen >= sizeof(host))
		return fail(why, WHY_MAX, "'%s': missing or overlong host", url);
	memcpy(host, p, hlen);
	host[hlen] = '\0';
	if (v6)
		h_end++;
	for (size_t i = 0; i < hlen; i++) {
		char c = host[i];

		if (c >= 'A' && c <= 'Z')
			host[i] = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
			   c == '-' || (v6 && c == ':')))
			return fail(why, WHY_MAX, "'%s': character '%c' not allowed in the host",
				    url, c);
	}
	if (v6) {
		struct in6_addr a6;

		if (inet_pton(AF_INET6, host, &a6) != 1)
			return fail(why, WHY_MAX, "'%s': not an IPv6 address in '[]'", url);
	}
	port = tls ? 443 : 80;
	has_port = h_end < auth_end;
	if (has_port) {
		char *end;

		if (*h_end != ':' || h_end + 1 == auth_end || h_end[1] < '0' || h_end[1] > '9')
			return fail(why, WHY_MAX, "'%s': bad port", url);
		errno = 0;
		port = strtoul(h_end + 1, &end, 10);
		if (errno || end != auth_end || port == 0 || port > 65535)
			return fail(why, WHY_MAX, "'%s': bad port", url);
	}
	if (!tls && !is_loopback(host))
		return fail(why, WHY_MAX,
			    "'%s': http:// is allowed to loopback only (127.0.0.0/8, ::1, "
			    "localhost); hint: use https://",
			    url);
	plen = strlen(auth_end);
	while (plen > 0 && auth_end[plen - 1] == '/')
		plen--;
	memcpy(path, auth_end, plen);
	path[plen] = '\0';
	if (check_path(path, why) < 0)
		return -EINVAL;

	memcpy(r->host, host, hlen + 1);
	memcpy(r->path, path, plen + 1);
	r->tls = tls;
	r->port = (unsigned)port;
	/* Normalised: lowercase scheme and host, the port only if given, no trailing '/'. */
	if (has_port)
		w = snprintf(r->upstream, sizeof(r->upstream), "%s://%s%s%s:%lu%s",
			     tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", port,
			     path);
	else
		w = snprintf(r->upstream, sizeof(r->upstream), "%s://%s%s%s%s",
			     tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", path);
	/* never longer than the URL it came from, which fitted */
	if (w < 0 || (size_t)w >= sizeof(r->upstream))
		return fail(why, WHY_MAX, "longer than %d bytes", ROUTE_URL_MAX);
	return 0;
}

static int check_header(const char *v, char *why)
{
	size_t n = strlen(v);

	if (n == 0 || n > ROUTE_HEADER_MAX)
		return fail(why, WHY_MAX, "must be 1 to %d characters", ROUTE_HEADER_MAX);
	for (size_t i = 0; i < n; i++)
		if (!name_char(v[i]) && !strchr("!#$%&'*+.^`|~", v[i]))
			return fail(why, WHY_MAX, "'%s' is not a header name", v);
	for (size_t i = 0; i < sizeof(framing_headers) / sizeof(framing_headers[0]); i++)
		if (strcasecmp(v, framing_headers[i]) == 0)
			return fail(why, WHY_MAX,
				    "'%s' frames the request; the key cannot go there", v);
	return 0;
}

static int check_format(const char *v, char *why)
{
	const char *hole = strstr(v, "{}");

	if (!visible(v))
		return fail(why, WHY_MAX, "control characters are not allowed");
	if (!hole || strstr(hole + 2, "{}"))
		return fail(why, WHY_MAX, "'%s' must hold exactly one '{}' (where the key goes)",
			    v);
	return 0;
}

static int check_env(const char *v, char *why)
{
	size_t n = strlen(v);

	if (n == 0 || n > ROUTE_ENV_MAX || (v[0] >= '0' && v[0] <= '9'))
		return fail(why, WHY_MAX, "'%s' is not a variable name", v);
	for (size_t i = 0; i < n; i++)
		if (!name_char(v[i]) || v[i] == '-')
			return fail(why, WHY_MAX, "'%s' is not a variable name", v);
	for (size_t i = 0; i < sizeof(reserved_env) / sizeof(reserved_env[0]); i++)
		if (strcmp(v, reserved_env[i]) == 0)
			return fail(why, WHY_MAX, "'%s' is set by the proxy itself", v);
	return 0;
}

static int set_field(struct route *r, enum field f, const char *v, char *why)
{
	switch (f) {
	case F_UPSTREAM:
		return parse_upstream(r, v, why);
	case F_HEADER:
		if (check_header(v, why) < 0)
			return -EINVAL;
		return copy(r->header, sizeof(r->header), v, why);
	case F_FORMAT:
		if (check_format(v, why) < 0)
			return -EINVAL;
		return copy(r->format, sizeof(r->format), v, why);
	case F_ENV:
		if (check_env(v, why) < 0)
			return -EINVAL;
		return copy(r->env, sizeof(r->env), v, why);
	case F_BASE_URL_ENV:
		if (check_env(v, why) < 0)
			return -EINVAL;
		return copy(r->base_url_env, sizeof(r->base_url_env), v, why);
	case F_BASE_PATH: {
		size_t n = strlen(v);

		if (check_path(v, why) < 0)
			return -EINVAL;
		if (n > 0 && v[n - 1] == '/')
			return fail(why, WHY_MAX, "'%s': no trailing '/'", v);
		return copy(r->base_path, sizeof(r->base_path), v, why);
	}
	case F_CA:
		if (v[0] != '/' || !visible(v))
			return fail(why, WHY_MAX, "'%s' must be an absolute path", v);
		return copy(r->ca, sizeof(r->ca), v, why);
	case F_CREDENTIAL_KEY:
		if (!visible(v) || !v[0])
			return fail(why, WHY_MAX, "must be a keyring account or env://VAR");
		return copy(r->credential_key, sizeof(r->credential_key), v, why);
	case F_ALSO_ACCEPT: {
		/* "Header: format" */
		const char *colon = strchr(v, ':');
		char header[ROUTE_HEADER_MAX + 1];
		size_t hn = colon ? (size_t)(colon - v) : 0;

		if (!colon || hn == 0 || hn > ROUTE_HEADER_MAX)
			return fail(why, WHY_MAX, "'%s' must read 'Header: format'", v);
		memcpy(header, v, hn);
		header[hn] = '\0';
		colon++;
		while (*colon == ' ')
			colon++;
		if (check_header(header, why) < 0 || check_format(colon, why) < 0)
			return -EINVAL;
		memcpy(r->accept_header, header, hn + 1);
		return copy(r->accept_format, sizeof(r->accept_format), colon, why);
	}
	case F_DESCRIPTION:
		return 0;
	}
	return fail(why, WHY_MAX, "unknown field");
}

/* Checks across fields, once a route is complete. */
static int check_route(const struct route *r, char *why)
{
	if (strcmp(r->env, r->base_url_env) == 0)
		return fail(why, WHY_MAX, "env and base URL variable are both '%s'", r->env);
	return 0;
}

static int parse_route(const cJSON *obj, const char *display, struct route *r, char *err,
		       size_t errlen)
{
	char why[WHY_MAX];
	const cJSON *kv;

	*r = (struct route){0};
	if (!valid_name(obj->string))
		return fail(
		    err, errlen,
		    "%s: route '%s': names are 1 to %d of A-Z a-z 0-9 _ - (the path segment)",
		    display, obj->string, ROUTE_NAME_MAX);
	memcpy(r->name, obj->string, strlen(obj->string) + 1);
	if (!cJSON_IsObject(obj))
		return fail(err, errlen, "%s: route '%s': must be an object", display, r->name);
	cJSON_ArrayForEach(kv, obj)
	{
		size_t k;

		for (k = 0; k < sizeof(json_keys) / sizeof(json_keys[0]); k++)
			if (strcmp(kv->string, json_keys[k].key) == 0)
				break;
		if (k == sizeof(json_keys) / sizeof(json_keys[0]))
			return fail(err, errlen, "%s: route '%s': unknown key '%s'", display,
				    r->name, kv->string);
		if (!cJSON_IsString(kv))
			return fail(err, errlen, "%s: route '%s': key '%s': must be a string",
				    display, r->name, kv->string);
		if (set_field(r, json_keys[k].field, kv->valuestring, why) < 0)
			return fail(err, errlen, "%s: route '%s': key '%s': %s", display, r->name,
				    kv->string, why);
	}
	for (size_t k = 0; k < sizeof(json_keys) / sizeof(json_keys[0]); k++)
		if (json_keys[k].required &&
		    !cJSON_GetObjectItemCaseSensitive(obj, json_keys[k].key))
			return fail(err, errlen, "%s: route '%s': key '%s' is missing", display,
				    r->name, json_keys[k].key);
	if (check_route(r, why) < 0)
		return fail(err, errlen, "%s: route '%s': %s", display, r->name, why);
	return 0;
}

int routes_parse(const char *text, size_t len, const char *display, struct routes *rt, char *err,
		 size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *routes, *kv, *e;
	size_t n;
	int r = -EINVAL;

	*rt = (struct routes){0};
	if (!root || !cJSON_IsObject(root)) {
		fail(err, errlen, "%s: not a JSON object", display);
		goto out_json;
	}
	cJSON_ArrayForEach(kv, root)
	{
		if (strcmp(kv->string, "routes") != 0 && strcmp(kv->string, "description") != 0) {
			fail(err, errlen, "%s: unknown key '%s'", display, kv->string);
			goto out_json;
		}
		if (cJSON_GetObjectItemCaseSensitive(root, kv->string) != kv) {
			fail(err, errlen, "%s: key '%s' appears twice", display, kv->string);
			goto out_json;
		}
	}
	routes = cJSON_GetObjectItemCaseSensitive(root, "routes");
	if (!cJSON_IsObject(routes)) {
		fail(err, errlen, "%s: 'routes' must be an object of routes", display);
		goto out_json;
	}
	n = (size_t)cJSON_GetArraySize(routes);
	if (n > ROUTES_MAX) {
		fail(err, errlen, "%s: %zu routes, at most %d", display, n, ROUTES_MAX);
		goto out_json;
	}
	rt->v = calloc(n ? n : 1, sizeof(*rt->v));
	if (!rt->v) {
		r = -ENOMEM;
		fail(err, errlen, "%s: out of memory", display);
		goto out_json;
	}
	cJSON_ArrayForEach(e, routes)
	{
		if (routes_find(rt, e->string)) {
			fail(err, errlen, "%s: route '%s' appears twice", display, e->string);
			goto out_routes;
		}
		if (parse_route(e, display, &rt->v[rt->n], err, errlen) < 0)
			goto out_routes;
		rt->n++;
	}
	cJSON_Delete(root);
	return 0;

out_routes:
	routes_free(rt);
out_json:
	cJSON_Delete(root);
	return r;
}

int routes_load(const char *file, struct routes *rt, char *err, size_t errlen)
{
	struct stat st;
	char *text;
	ssize_t got;
	size_t len = 0;
	int fd, r;

	*rt = (struct routes){0};
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", file, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > ROUTES_FILE_MAX) {
		close(fd);
		return fail(err, errlen, "%s: not a regular file of at most %d bytes", file,
			    ROUTES_FILE_MAX);
	}
	text = malloc(ROUTES_FILE_MAX + 1);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	while (len <= ROUTES_FILE_MAX) {
		got = read(fd, text + len, ROUTES_FILE_MAX + 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", file, strerror(-r));
			goto out_text;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	if (len > ROUTES_FILE_MAX) {
		r = fail(err, errlen, "%s: larger than %d bytes", file, ROUTES_FILE_MAX);
		goto out_text;
	}
	r = routes_parse(text, len, file, rt, err, errlen);
out_text:
	free(text);
	close(fd);
	return r;
}

void routes_free(struct routes *rt)
{
	if (!rt)
		return;
	free(rt->v);
	*rt = (struct routes){0};
}

const struct route *routes_find(const struct routes *rt, const char *name)
{
	for (size_t i = 0; rt && i < rt->n; i++)
		if (strcmp(rt->v[i].name, name) == 0)
			return &rt->v[i];
	return NULL;
}

static const char *default_format(const char *header)
{
	return strcasecmp(header, "Authorization") == 0 ? "Bearer {}" : "{}";
}

/* NAME uppercased, '-' as '_', then suffix. */
static void default_env(char *out, size_t size, const char *name, const char *suffix)
{
	size_t i = 0;

	for (; name[i] && i + 1 < size; i++)
		out[i] = name[i] == '-'			      ? '_'
			 : (name[i] >= 'a' && name[i] <= 'z') ? (char)(name[i] - 'a' + 'A')
							      : name[i];
	out[i] = '\0';
	snprintf(out + i, size - i, "%s", suffix);
}

static void builtin_names(const struct routes *rt, char *out, size_t size)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; rt && i < rt->n && off < size; i++) {
		int w = snprintf(out + off, size - off, "%s%s", i ? ", " : "", rt->v[i].name);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

int routes_resolve(const struct routes *builtin, const char *name, const struct route_overrides *ov,
		   struct route *out, char *err, size_t errlen)
{
	static const struct route_overrides none = {0};
	const char *from;
	const struct route *base;
	char why[WHY_MAX], names[160];

	if (!ov)
		ov = &none;
	*out = (struct route){0};
	if (!name || !valid_name(name))
		return fail(
		    err, errlen,
		    "credential '%s': names are 1 to %d of A-Z a-z 0-9 _ - (the path segment)",
		    name ? name : "", ROUTE_NAME_MAX);
	from = ov->route ? ov->route : name;
	base = routes_find(builtin, from);
	if (!base && (ov->route || !ov->upstream)) {
		builtin_names(builtin, names, sizeof(names));
		if (ov->route)
			return fail(err, errlen,
				    "credential '%s': key 'route': no built-in route '%s'; hint: "
				    "one of %s",
				    name, from, names);
		return fail(err, errlen,
			    "credential '%s': no built-in route of that name; hint: set route = "
			    "one of %s, or upstream = URL",
			    name, names);
	}
	if (base) {
		*out = *base;
	} else {
		memcpy(out->header, "Authorization", sizeof("Authorization"));
		memcpy(out->format, "Bearer {}", sizeof("Bearer {}"));
		default_env(out->env, sizeof(out->env), name, "_API_KEY");
		default_env(out->base_url_env, sizeof(out->base_url_env), name, "_BASE_URL");
		if (check_env(out->env, why) < 0 || check_env(out->base_url_env, why) < 0)
			return fail(err, errlen,
				    "credential '%s': %s; hint: set env and base_url_env", name,
				    why);
	}
	memcpy(out->name, name, strlen(name) + 1);

	const struct {
		const char *key;
		const char *value;
		enum field field;
	} sets[] = {
	    {"upstream", ov->upstream, F_UPSTREAM},
	    {"ca", ov->ca, F_CA},
	    {"header", ov->header, F_HEADER},
	    {"format", ov->format, F_FORMAT},
	    {"env", ov->env, F_ENV},
	    {"base_url_env", ov->base_url_env, F_BASE_URL_ENV},
	    {"base_path", ov->base_path, F_BASE_PATH},
	};

	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		if (!sets[i].value)
			continue;
		if (set_field(out, sets[i].field, sets[i].value, why) < 0)
			return fail(err, errlen, "credential '%s': key '%s': %s", name, sets[i].key,
				    why);
		if (sets[i].field == F_HEADER && !ov->format)
			memcpy(out->format, default_format(out->header),
			       strlen(default_format(out->header)) + 1);
	}
	if (check_route(out, why) < 0)
		return fail(err, errlen, "credential '%s': %s", name, why);
	return 0;
}

int routes_match_path(const struct route *const *routes, size_t n, const char *path, size_t len,
		      const struct route **route, char *upath, size_t upath_size)
{
	const struct route *rt = NULL;
	size_t seg, rest, qpos, bl, need;

	*route = NULL;
	if (len == 0 || path[0] != '/')
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)path[i] <= 0x20 || (unsigned char)path[i] >= 0x7f ||
		    path[i] == '#')
			return -EINVAL;
	seg = 1;
	while (seg < len && path[seg] != '/' && path[seg] != '?')
		seg++;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(routes[i]->name);

		if (nl == seg - 1 && memcmp(routes[i]->name, path + 1, nl) == 0) {
			rt = routes[i];
			break;
		}
	}
	if (!rt)
		return -ENOENT;

	rest = seg;
	qpos = rest;
	while (qpos < len && path[qpos] != '?')
		qpos++;
	/* The base_path the child's base URL carries stands for the upstream's own path. */
	bl = strlen(rt->base_path);
	if (bl > 0 && qpos - rest >= bl && memcmp(path + rest, rt->base_path, bl) == 0 &&
	    (rest + bl == qpos || path[rest + bl] == '/'))
		rest += bl;
	if (has_dot_segment(path + rest, qpos - rest))
		return -EINVAL;

	{
		size_t pl = strlen(rt->path), tail = len - rest;
		bool slash = pl == 0 && rest == qpos; /* nothing at all: ask for "/" */

		need = pl + (slash ? 1 : 0) + tail;
		if (need + 1 > upath_size)
			return -ENAMETOOLONG;
		memcpy(upath, rt->path, pl);
		if (slash)
			upath[pl] = '/';
		memcpy(upath + pl + (slash ? 1 : 0), path + rest, tail);
		upath[need] = '\0';
	}
	*route = rt;
	return (int)need;
}
