/* credstore: one service's credentials: resolved routes, real keys, upstream TLS contexts. */
#ifndef NONO_CREDSTORE_H
#define NONO_CREDSTORE_H

#include <stddef.h>

#include "config.h"
#include "creds.h"
#include "proxy.h"
#include "routes.h"

struct credstore {
	struct route *routes;			/* one per credential of the service, in order */
	const struct route **route_ptrs;
	struct cred_secret *secrets;		/* wiped on free */
	struct proxy_credential *creds;		/* what the proxy sessions point at */
	size_t n;
	char skipped[512];			/* optional credentials left out, and why */
};

/*
 * Resolve and load the credentials a service names: its routes (profiles/routes.json plus
 * the [credential:NAME] overrides), the real keys (keyring lookups through the nono-keyring
 * helper) and a TLS context per https upstream. Blocking: run it from uv_queue_work.
 * Returns 0, or a negative errno with "credential 'NAME': why; hint" in err (never a key).
 * keyring_helper NULL: the routes only (no key is read, no TLS context made).
 */
int credstore_load(struct credstore *cs, const struct service_config *sc, const char *data_dir,
		   const char *keyring_helper, char *err, size_t errlen);
void credstore_free(struct credstore *cs);

#endif
