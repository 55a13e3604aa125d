/*
 * routes_env: what a session's child finds in its environment for its routes: the phantom
 * token and base URL of each, the proxy variables (the token as proxy password). Never a key.
 */
#include "routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct envb {
	char **v;
	size_t n, cap;
};

static void env_wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Add NAME=value; the same pair twice is kept once, a clash is -EEXIST. */
static int env_add(struct envb *b, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	char *s;

	for (size_t i = 0; i < b->n; i++) {
		if (strncmp(b->v[i], name, nl) != 0 || b->v[i][nl] != '=')
			continue;
		return strcmp(b->v[i] + nl + 1, value) == 0 ? 0 : -EEXIST;
	}
	if (b->n + 1 >= b->cap)
		return -ENOMEM; /* sized by the caller; never reached */
	s = malloc(nl + vl + 2);
	if (!s)
		return -ENOMEM;
	memcpy(s, name, nl);
	s[nl] = '=';
	memcpy(s + nl + 1, value, vl + 1);
	b->v[b->n++] = s;
	b->v[b->n] = NULL;
	return 0;
}

int routes_child_env(const struct route *const *routes, size_t n, const struct token *t, int port,
		     char ***env_out)
{
	static const char *const proxy_vars[] = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
						 "https_proxy"};
	char url[ROUTE_BASE_URL_MAX + 1],
	    proxy[sizeof("http://nono:@127.0.0.1:65535") + TOKEN_HEX_LEN];
	struct envb b = {0};
	int r = 0;

	*env_out = NULL;
	if (port < 1 || port > 65535 || !t || strlen(t->hex) != TOKEN_HEX_LEN)
		return -EINVAL;
	if (n > ROUTES_MAX)
		return -EINVAL;
	b.cap = 2 * n + 9 + 1;
	b.v = calloc(b.cap, sizeof(*b.v));
	if (!b.v)
		return -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct route *rt = routes[i];

		snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s%s", port, rt->name,
			 rt->base_path);
		r = env_add(&b, rt->env, t->hex);
		if (r == 0)
			r = env_add(&b, rt->base_url_env, url);
	}
	snprintf(proxy, sizeof(proxy), "http://nono:%s@127.0.0.1:%d", t->hex, port);
	if (r == 0)
		r = env_add(&b, "NONO_PROXY_TOKEN", t->hex);
	for (size_t i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]) && r == 0; i++)
		r = env_add(&b, proxy_vars[i], proxy);
	if (r == 0)
		r = env_add(&b, "NO_PROXY", "localhost,127.0.0.1");
	if (r == 0)
		r = env_add(&b, "no_proxy", "localhost,127.0.0.1");
	if (r == 0)
		r = env_add(&b, "NODE_USE_ENV_PROXY", "1");
	explicit_bzero(proxy, sizeof(proxy));
	if (r < 0) {
		routes_env_free(b.v);
		return r;
	}
	*env_out = b.v;
	return (int)b.n;
}

void routes_env_free(char **env)
{
	if (!env)
		return;
	for (char **e = env; *e; e++)
		env_wipe_free(*e);
	free(env);
}
