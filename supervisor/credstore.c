/* credstore: one service's credentials: resolved routes, real keys, upstream TLS contexts. */
#include "credstore.h"

#include <errno.h>
#include <limits.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "creds.h"
#include "upstream.h"

/*
 * TLS contexts shared by every credential with the same trust: the system roots, or one CA
 * file as it was when read (a changed file gets a new context). The proxy's upstream pool
 * keys on the context, so services share upstream connections. Loads run in workers.
 */
struct shared_ctx {
	char *ca; /* NULL: the system roots */
	struct stat st;
	SSL_CTX *ctx; /* the cache's own reference */
};

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shared_ctx *ctxs;
static size_t nctxs;

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * A reference to the shared context for ca (NULL: system roots); SSL_CTX_free() it. Made
 * under the lock, so services starting together share one.
 */
static SSL_CTX *ctx_get(const char *ca, char *err, size_t errlen)
{
	struct stat st = {0};
	struct shared_ctx *e = NULL, *v;
	SSL_CTX *ctx = NULL;

	if (ca && stat(ca, &st) < 0)
		return upstream_ctx_new(ca, err, errlen); /* it says why */
	pthread_mutex_lock(&ctx_lock);
	for (size_t i = 0; i < nctxs && !e; i++)
		if (ca ? ctxs[i].ca && strcmp(ctxs[i].ca, ca) == 0 : !ctxs[i].ca)
			e = &ctxs[i];
	if (e && (!ca || same_file(&e->st, &st)) && SSL_CTX_up_ref(e->ctx)) {
		ctx = e->ctx;
		goto out;
	}
	ctx = upstream_ctx_new(ca, err, errlen);
	if (!ctx)
		goto out;
	if (!e && (v = realloc(ctxs, (nctxs + 1) * sizeof(*v)))) {
		ctxs = v;
		e = &ctxs[nctxs];
		*e = (struct shared_ctx){.ca = ca ? strdup(ca) : NULL};
		if (ca && !e->ca)
			e = NULL;
		else
			nctxs++;
	}
	if (e && SSL_CTX_up_ref(ctx)) {
		SSL_CTX_free(e->ctx); /* an older version of that file: its users keep theirs */
		e->ctx = ctx;
		e->st = st;
	}
out:
	pthread_mutex_unlock(&ctx_lock);
	return ctx;
}

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
	for (size_t i = 0; i < n; i++) {
		const struct credential_config *cd = &sc->credential_defs[i];
		struct route_overrides ov = {
			.route = cd->route, .upstream = cd->upstream, .ca = cd->ca,
			.header = cd->header, .format = cd->format, .env = cd->env,
		};
		size_t j = cs->n;	/* its slot: optional ones left out close the gap */

		r = routes_resolve(&builtin, cd->name, &ov, &cs->routes[j], err, errlen);
		if (r < 0)
			goto fail;
		cs->route_ptrs[j] = &cs->routes[j];
		cs->creds[j].route = &cs->routes[j];
		if (!keyring_helper) {	/* routes only */
			cs->n++;
			continue;
		}
		r = load_secret(cd, keyring_helper, &cs->secrets[j], why, sizeof(why));
		if (r < 0 && cd->optional) {
			/* A profile's wish, not the service's: go on without it, and say so. */
			size_t used = strlen(cs->skipped);

			snprintf(cs->skipped + used, sizeof(cs->skipped) - used,
				 "%scredential '%s' (%s, asked for by the profile) left out: %s",
				 used ? "; " : "", cd->name, cd->source, why);
			memset(&cs->routes[j], 0, sizeof(cs->routes[j]));
			cs->route_ptrs[j] = NULL;
			cs->creds[j].route = NULL;
			continue;
		}
		if (r < 0) {
			snprintf(err, errlen, "credential '%s' (%s): %s", cd->name, cd->source, why);
			goto fail;
		}
		cs->n++;	/* from here credstore_free wipes the key */
		if (cs->routes[j].tls) {
			cs->creds[j].ctx = ctx_get(cs->routes[j].ca[0] ? cs->routes[j].ca : NULL, why,
						   sizeof(why));
			if (!cs->creds[j].ctx) {
				r = -EINVAL;
				snprintf(err, errlen, "credential '%s': %s", cd->name, why);
				goto fail;
			}
		}
		cs->creds[j].secret = (const char *)cs->secrets[j].data;
		cs->creds[j].secret_len = cs->secrets[j].len;
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
