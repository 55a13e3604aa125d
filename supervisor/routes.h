/* routes: the credential proxy's routes (profiles/routes.json + [credential:NAME] overrides),
 * the child's proxy environment and request-path routing. */
#ifndef NONO_ROUTES_H
#define NONO_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "token.h"

#define ROUTES_FILE	   "routes.json" /* in the profiles directory */
#define ROUTES_FILE_MAX	   (256 * 1024)	 /* bytes of routes.json */
#define ROUTES_MAX	   64		 /* routes in routes.json */
#define ROUTE_NAME_MAX	   63		 /* [A-Za-z0-9_-], the first path segment */
#define ROUTE_URL_MAX	   512		 /* upstream URL bytes */
#define ROUTE_HOST_MAX	   253
#define ROUTE_HEADER_MAX   64
#define ROUTE_FORMAT_MAX   128
#define ROUTE_ENV_MAX	   64
#define ROUTE_KEY_MAX	   256	/* credential_key */
#define ROUTE_CA_MAX	   4095 /* PEM path */
#define ROUTE_BASE_URL_MAX (sizeof("http://127.0.0.1:65535/") + ROUTE_NAME_MAX + ROUTE_URL_MAX)

/*
 * The mapping between the child's base URL and the upstream.
 *
 *   upstream        the URL the provider's SDK would use as its base URL by default
 *                   (https://api.openai.com/v1, https://api.anthropic.com)
 *   base_path       the tail of that default base URL the child's base URL keeps, so it
 *                   looks like the original: "/v1" for openai, "" for anthropic
 *   child base URL  <base_url_env>=http://127.0.0.1:<port>/<name><base_path>
 *                   (OPENAI_BASE_URL=http://127.0.0.1:P/openai/v1,
 *                   ANTHROPIC_BASE_URL=http://127.0.0.1:P/anthropic)
 *
 * A request /<name><base_path><rest> goes to <upstream><rest>:
 *   /openai/v1/chat/completions  -> https://api.openai.com/v1/chat/completions
 *   /anthropic/v1/messages       -> https://api.anthropic.com/v1/messages
 * Without the base_path (nono's form, /<name><rest>) it goes to the same place:
 *   /openai/chat/completions     -> https://api.openai.com/v1/chat/completions
 * So "upstream" is always what the SDK would otherwise be given as its base URL.
 */
struct route {
	char name[ROUTE_NAME_MAX + 1];	  /* route or credential name: the path segment */
	char upstream[ROUTE_URL_MAX + 1]; /* lowercase scheme and host, no trailing '/' */
	bool tls;			  /* https (else http to loopback) */
	char host[ROUTE_HOST_MAX + 1];	  /* lowercase name or IP literal, no brackets */
	unsigned port;
	char path[ROUTE_URL_MAX + 1];		  /* upstream's path prefix: "" or "/v1" */
	char base_path[ROUTE_URL_MAX + 1];	  /* "" or "/v1" */
	char header[ROUTE_HEADER_MAX + 1];	  /* where the real key goes: Authorization */
	char format[ROUTE_FORMAT_MAX + 1];	  /* how: "Bearer {}" */
	char accept_header[ROUTE_HEADER_MAX + 1]; /* also_accept: another header the phantom may */
	char accept_format[ROUTE_FORMAT_MAX + 1]; /* arrive in ("" when none) */
	char credential_key[ROUTE_KEY_MAX + 1];	  /* nono's default key source ("" when none) */
	char env[ROUTE_ENV_MAX + 1];		  /* phantom variable: OPENAI_API_KEY */
	char base_url_env[ROUTE_ENV_MAX + 1];	  /* OPENAI_BASE_URL */
	char ca[ROUTE_CA_MAX + 1]; /* PEM to verify the upstream ("" = system roots) */
};

struct routes {
	struct route *v;
	size_t n;
};

/*
 * Parse routes.json text: {"description": …, "routes": {NAME: {upstream, header, format,
 * env_var, base_url_var, [base_path, credential_key, also_accept, ca, description]}}}.
 * Unknown keys are errors. display names the file in messages. 0 or -EINVAL/-ENOMEM with
 * "display: route 'NAME': key 'KEY': why" in err. rt is empty on failure.
 */
int routes_parse(const char *text, size_t len, const char *display, struct routes *rt, char *err,
		 size_t errlen);
/* Read and parse the file (at most ROUTES_FILE_MAX bytes). */
int routes_load(const char *file, struct routes *rt, char *err, size_t errlen);
/* NULL is a no-op; rt is then empty. */
void routes_free(struct routes *rt);
const struct route *routes_find(const struct routes *rt, const char *name);

/* A [credential:NAME] section's settings; NULL means not set. */
struct route_overrides {
	const char *route;    /* built-in route to start from (default: NAME) */
	const char *upstream; /* https://…, or http:// to 127.0.0.0/8, ::1, localhost */
	const char *ca;	      /* absolute PEM path */
	const char *header;   /* a new header without format resets format to its default */
	const char *format;   /* exactly one {} */
	const char *env;      /* phantom variable */
	const char *base_url_env;
	const char *base_path;
};

/*
 * The route credential NAME uses: the built-in route ov->route (default NAME) with ov's
 * settings on top. Without a built-in route, upstream is required and the defaults are
 * header Authorization, format "Bearer {}" ("{}" for other headers), env NAME_API_KEY and
 * base_url_env NAME_BASE_URL (NAME uppercased, '-' as '_'). out->name is NAME either way.
 * 0 or -EINVAL with "credential 'NAME': key 'KEY': why" in err.
 */
int routes_resolve(const struct routes *builtin, const char *name, const struct route_overrides *ov,
		   struct route *out, char *err, size_t errlen);

/*
 * The environment a session's child gets on top of its own, for the routes whose real
 * key loaded: per route <env>=<token> and <base_url_env>=http://127.0.0.1:<port>/<name>
 * <base_path>; then NONO_PROXY_TOKEN, HTTP_PROXY, HTTPS_PROXY, http_proxy, https_proxy
 * (http://nono:<token>@127.0.0.1:<port>), NO_PROXY and no_proxy (localhost,127.0.0.1) and
 * NODE_USE_ENV_PROXY=1. A variable two routes share with the same value appears once.
 * *env_out is a NULL-terminated "NAME=value" array; release it with routes_env_free().
 * The count of entries, or -EINVAL (port), -EEXIST (two routes want one variable with
 * different values), -ENOMEM.
 */
int routes_child_env(const struct route *const *routes, size_t n, const struct token *t, int port,
		     char ***env_out);
/* Wipe (the entries hold the token) and free. NULL is a no-op. */
void routes_env_free(char **env);

/*
 * Route a request target in origin form (path[0..len), query included): the first path
 * segment picks the route, the base_path after it is optional, and the rest is joined to
 * the upstream's path prefix (see the mapping above); the query is kept. *route and
 * upath (NUL-terminated) are set. The length of upath, or -ENOENT (no such route: 404),
 * -EINVAL (not origin form, or a "." / ".." segment: 400), -ENAMETOOLONG (upath_size).
 */
int routes_match_path(const struct route *const *routes, size_t n, const char *path, size_t len,
		      const struct route **route, char *upath, size_t upath_size);

#endif
