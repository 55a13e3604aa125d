/* credstore: one service's credentials: resolved routes, real keys, upstream TLS contexts. */
#include "credstore.h"

#include <errno.h>
#include <limits.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "upstream.h"

static int load_secret(const struct credential_config *cd, const char *keyring_helper,
		       struct cred_secret *out, char *why, size_t len)
{
	enum cred_state state;

	if (cd->src.kind == CRED_KEYRING)
		return creds_keyring_lookup(keyring_helper, cd->src.ref, out, &state, why, len);
	return creds_load(&cd->src, out, why, len);
}

int credstore_load(struct credstore *cs, const struct service_config *sc, const char *data_dir,
		   const char *keyring_helper, char *err, size_t errlen)
{
	struct routes builtin = { 0 };
	char path[PATH_MAX], why[512];
	size_t n = 0;
	int r;

	*cs = (struct credstore){ 0 };
	while (sc->credentials && sc->credentials[n])
		n++;
	if (!n)
		return 0;
	snprintf(path, sizeof(path), "%s/routes.json", data_dir);
	r = routes_load(path, &builtin, err, errlen);
	if (r < 0)
		return r;
	cs->routes = calloc(n, sizeof(*cs->routes));
	cs->route_ptrs = calloc(n, sizeof(*cs->route_ptrs));
	cs->secrets = calloc(n, sizeof(*cs->secrets));
	cs->creds = calloc(n, sizeof(*cs->creds));
	if (!cs->routes || !cs->route_ptrs || !cs->secrets || !cs->creds) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	cs->n = n;
	for (size_t i = 0; i < n; i++) {
		const struct credential_config *cd = &sc->credential_defs[i];
		struct route_overrides ov = {
			.route = cd->route, .upstream = cd->upstream, .ca = cd->ca,
			.header = cd->header, .format = cd->format, .env = cd->env,
		};

		r = routes_resolve(&builtin, cd->name, &ov, &cs->routes[i], err, errlen);
		if (r < 0)
			goto fail;
		r = load_secret(cd, keyring_helper, &cs->secrets[i], why, sizeof(why));
		if (r < 0) {
			snprintf(err, errlen, "credential '%s' (%s): %s", cd->name, cd->source, why);
			goto fail;
		}
		if (cs->routes[i].tls) {
			cs->creds[i].ctx = upstream_ctx_new(cs->routes[i].ca[0] ? cs->routes[i].ca : NULL,
							    why, sizeof(why));
			if (!cs->creds[i].ctx) {
				r = -EINVAL;
				snprintf(err, errlen, "credential '%s': %s", cd->name, why);
				goto fail;
			}
		}
		cs->route_ptrs[i] = &cs->routes[i];
		cs->creds[i].route = &cs->routes[i];
		cs->creds[i].secret = (const char *)cs->secrets[i].data;
		cs->creds[i].secret_len = cs->secrets[i].len;
	}
	routes_free(&builtin);
	return 0;

fail:
	routes_free(&builtin);
	credstore_free(cs);
	return r;
}

void credstore_free(struct credstore *cs)
{
	for (size_t i = 0; cs->secrets && i < cs->n; i++)
		creds_secret_free(&cs->secrets[i]);
	for (size_t i = 0; cs->creds && i < cs->n; i++)
		SSL_CTX_free(cs->creds[i].ctx);
	free(cs->routes);
	free(cs->route_ptrs);
	free(cs->secrets);
	free(cs->creds);
	*cs = (struct credstore){ 0 };
}
