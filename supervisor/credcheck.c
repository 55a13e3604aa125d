/* credcheck: `nonoctl credentials`: each [credential:NAME] of the running configuration, its
 * route, the services that use it and whether its key loads now (never the key itself). */
#include "credcheck.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "creds.h"
#include "routes.h"
#include "sandbox.h"
#include "service.h"
#include "supervisor.h"

/* One credential: a copy of its section (a reload may free the running one meanwhile). */
struct check_item {
	uv_work_t work;
	struct credcheck *cc;
	struct credential_config def;
	cJSON *services;		/* names, built on the loop */
	/* written by the worker, read on the loop once it is done */
	enum cred_state state;
	char reason[CREDCHECK_REASON_MAX];
	char route[ROUTE_NAME_MAX + 1];		/* the built-in route it starts from, "" if none */
	char upstream[ROUTE_URL_MAX + 1];	/* "" when the route does not resolve */
};

struct credcheck {
	void (*done)(void *arg, cJSON *list);
	void *arg;
	bool canceled;
	char data_dir[PATH_MAX];	/* routes.json's directory */
	char keyring_helper[PATH_MAX];
	size_t n, pending;
	struct check_item items[];
};

/* The route a service would get: routes.json's entry with the section's overrides on top. */
static void check_route(struct check_item *it, const char *data_dir)
{
	const struct credential_config *cd = &it->def;
	struct route_overrides ov = {
		.route = cd->route, .upstream = cd->upstream, .ca = cd->ca,
		.header = cd->header, .format = cd->format, .env = cd->env,
	};
	struct routes builtin = { 0 };
	struct route rt;
	char path[PATH_MAX], why[CREDCHECK_REASON_MAX];
	const char *from = cd->route ? cd->route : cd->name;
	int r;

	snprintf(path, sizeof(path), "%s/%s", data_dir, ROUTES_FILE);
	r = routes_load(path, &builtin, why, sizeof(why));
	if (r == 0) {
		if (routes_find(&builtin, from))
			snprintf(it->route, sizeof(it->route), "%s", from);
		r = routes_resolve(&builtin, cd->name, &ov, &rt, why, sizeof(why));
		if (r == 0)
			snprintf(it->upstream, sizeof(it->upstream), "%s", rt.upstream);
		routes_free(&builtin);
	}
	/* A key that loads is no use on a route that does not resolve: the service cannot start. */
	if (r < 0 && it->state == CRED_LOADED) {
		it->state = CRED_INVALID;
		snprintf(it->reason, sizeof(it->reason), "%s", why);
	}
}

static void check_work_cb(uv_work_t *w)
{
	struct check_item *it = w->data;
	const struct credential_config *cd = &it->def;
	struct cred_secret key = { 0 };
	int r;

	if (cd->src.kind == CRED_KEYRING)
		r = creds_keyring_lookup(it->cc->keyring_helper, cd->src.ref, &key, &it->state,
					 it->reason, sizeof(it->reason));
	else
		r = creds_load(&cd->src, &key, it->reason, sizeof(it->reason));
	/* Only whether it loaded is kept: the bytes are wiped here, before anything else. */
	creds_secret_free(&key);
	it->state = creds_state_of(r);
	if (r == 0)
		it->reason[0] = '\0';
	check_route(it, it->cc->data_dir);
}

static cJSON *item_json(struct check_item *it)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", it->def.name);
	cJSON_AddStringToObject(o, "source", it->def.source);
	if (it->route[0])
		cJSON_AddStringToObject(o, "route", it->route);
	else
		cJSON_AddNullToObject(o, "route");
	if (it->upstream[0])
		cJSON_AddStringToObject(o, "upstream", it->upstream);
	else
		cJSON_AddNullToObject(o, "upstream");
	cJSON_AddItemToObject(o, "services", it->services);
	it->services = NULL;
	cJSON_AddStringToObject(o, "state", creds_state_name(it->state));
	if (it->state == CRED_LOADED)
		cJSON_AddNullToObject(o, "reason");
	else
		cJSON_AddStringToObject(o, "reason", it->reason);
	return o;
}

static void finish(struct credcheck *cc)
{
	if (!cc->canceled) {
		cJSON *list = cJSON_CreateArray();

		for (size_t i = 0; list && i < cc->n; i++)
			cJSON_AddItemToArray(list, item_json(&cc->items[i]));
		cc->done(cc->arg, list);
	}
	for (size_t i = 0; i < cc->n; i++) {
		config_credential_release(&cc->items[i].def);
		cJSON_Delete(cc->items[i].services);
	}
	free(cc);
}

static void check_done_cb(uv_work_t *w, int status)
{
	struct check_item *it = w->data;

	if (--it->cc->pending == 0)
		finish(it->cc);
}

/* The services of the running configuration that list NAME (a reload's pending definition
 * counts: it is what the service runs with next). */
static cJSON *services_using(struct supervisor *sv, const char *name)
{
	cJSON *list = cJSON_CreateArray();

	for (struct service *s = sv->services; list && s; s = s->next) {
		const struct service_config *sc = s->next_cfg ? s->next_cfg : &s->cfg;

		for (size_t i = 0; sc->credentials && sc->credentials[i]; i++)
			if (strcmp(sc->credentials[i], name) == 0)
				cJSON_AddItemToArray(list, cJSON_CreateString(sc->name));
	}
	return list;
}

int credcheck_start(struct supervisor *sv, void (*done)(void *arg, cJSON *list), void *arg,
		    struct credcheck **out)
{
	struct credcheck *cc = calloc(1, sizeof(*cc) + sv->n_credentials * sizeof(cc->items[0]));
	char *slash;
	int r;

	*out = NULL;
	if (!cc)
		return -ENOMEM;
	cc->done = done;
	cc->arg = arg;
	sandbox_data_dir(cc->data_dir, sizeof(cc->data_dir));
	/* nono-keyring sits next to nono-exec, as for the services' own loads */
	snprintf(cc->keyring_helper, sizeof(cc->keyring_helper), "%s", sv->exec_helper);
	slash = strrchr(cc->keyring_helper, '/');
	if (slash)
		snprintf(slash + 1, sizeof(cc->keyring_helper) - (size_t)(slash + 1 - cc->keyring_helper),
			 "nono-keyring");
	for (; cc->n < sv->n_credentials; cc->n++) {
		struct check_item *it = &cc->items[cc->n];

		it->cc = cc;
		it->services = services_using(sv, sv->credentials[cc->n].name);
		if (!it->services || config_credential_copy(&it->def, &sv->credentials[cc->n]) < 0) {
			cJSON_Delete(it->services);
			it->services = NULL;
			cc->canceled = true;	/* nothing is reported: free what was copied */
			finish(cc);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < cc->n; i++) {
		struct check_item *it = &cc->items[i];

		it->work.data = it;
		r = uv_queue_work(sv->loop, &it->work, check_work_cb, check_done_cb);
		if (r < 0) {
			it->state = CRED_UNREADABLE;
			snprintf(it->reason, sizeof(it->reason), "the check could not be queued: %s",
				 uv_strerror(r));
			continue;
		}
		cc->pending++;
	}
	if (cc->pending == 0) {
		finish(cc);	/* nothing queued: answer now */
		return 0;
	}
	*out = cc;
	return 0;
}

void credcheck_cancel(struct credcheck *cc)
{
	if (cc)
		cc->canceled = true;
}
