/*
 * proxy_session: the proxy's sessions (one per running process: token, credentials, hosts),
 * the shared listener that tells them apart by token where there are no network
 * namespaces, and the proxy's shutdown.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netns.h"
#include "policy.h"
#include "proxy_internal.h"

static void pool_closed_cb(struct upstream_pool *p)
{
	struct proxy *px = (struct proxy *)((char *)p - offsetof(struct proxy, pool));
	void (*cb)(struct proxy *) = px->close_cb;

	px->close_cb = NULL;
	if (cb)
		cb(px);
}

static void listener_free_cb(struct proxy_listener *pl)
{
	free(pl);
}

static void shared_closed_cb(struct proxy_listener *pl)
{
	struct proxy *px = pl->px;

	free(pl);
	px->shared = NULL;
	upstream_pool_close(&px->pool, pool_closed_cb);
}

void proxy_close(struct proxy *px, void (*cb)(struct proxy *))
{
	if (px->closing)
		return;
	px->closing = true;
	px->close_cb = cb;
	free(px->sessions);
	px->sessions = NULL;
	px->nsessions = px->capsessions = 0;
	if (px->shared)
		proxy_listener_close(px->shared, shared_closed_cb);
	else
		upstream_pool_close(&px->pool, pool_closed_cb);
}

int proxy_session_add(struct proxy *px, const struct proxy_session *s)
{
	if (px->nsessions == px->capsessions) {
		size_t cap = px->capsessions ? 2 * px->capsessions : 16;
		const struct proxy_session **v = realloc(px->sessions, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		px->sessions = v;
		px->capsessions = cap;
	}
	px->sessions[px->nsessions++] = s;
	return 0;
}

void proxy_session_remove(struct proxy *px, const struct proxy_session *s)
{
	struct proxy_conn *c, *next;

	for (size_t i = 0; i < px->nsessions; i++) {
		if (px->sessions[i] == s) {
			px->sessions[i] = px->sessions[--px->nsessions];
			break;
		}
	}
	/* Its process is gone: so are its requests on the shared listener. */
	for (c = px->shared ? px->shared->conns : NULL; c; c = next) {
		next = c->next;
		if (c->s == s)
			proxy__conn_close(c);
	}
}

int proxy_session_new(struct proxy *px, struct proxy_session **out, const char *service,
		      const struct proxy_credential *creds, size_t n_creds,
		      const struct policy *policy, struct audit *audit, char *why, size_t len)
{
	bool hosts = policy->allow_hosts && policy->allow_hosts[0];
	struct hostrules *allow = NULL;
	struct proxy_session *ps;
	int r;

	*out = NULL;
	if (policy->sandbox_off || policy->net != POLICY_NET_PROXY ||
	    (!n_creds && !hosts && !px->always_session))
		return 0;
	if (hosts) {
		r = hostrules_new(&allow, policy->allow_hosts, why, len);
		if (r < 0)
			return r;
	}
	ps = calloc(1, sizeof(*ps));
	if (!ps) {
		hostrules_free(allow);
		return snprintf(why, len, "out of memory"), -ENOMEM;
	}
	ps->allow = allow;
	ps->creds = creds;
	ps->n_creds = n_creds;
	ps->audit = audit;
	snprintf(ps->service, sizeof(ps->service), "%s", service);
	if (token_new(&ps->token) < 0 || token_session_id_new(ps->id) < 0) {
		hostrules_free(allow);
		free(ps);
		return snprintf(why, len, "no randomness for a phantom token"), -EIO;
	}
	if (proxy_session_add(px, ps) < 0) {
		proxy_session_free(px, ps);
		return snprintf(why, len, "out of memory"), -ENOMEM;
	}
	*out = ps;
	return 0;
}

void proxy_session_free(struct proxy *px, struct proxy_session *s)
{
	if (!s)
		return;
	proxy_session_remove(px, s);
	token_wipe(&s->token);
	hostrules_free((struct hostrules *)s->allow);
	free(s);
}

int proxy_shared_open(struct proxy *px, int port, char *err, size_t errlen)
{
	struct proxy_listener *pl;
	char why[256];
	int fd, r;

	r = netns_listen(port, &fd, why, sizeof(why));
	if (r < 0)
		return snprintf(err, errlen, "shared proxy listener: %s", why), r;
	pl = calloc(1, sizeof(*pl));
	if (!pl) {
		close(fd);
		return snprintf(err, errlen, "shared proxy listener: out of memory"), -ENOMEM;
	}
	r = proxy_listener_open(pl, px, fd, NULL, err, errlen);
	if (r < 0) {
		proxy_listener_close(pl, listener_free_cb);
		return r;
	}
	pl->shared = true;
	snprintf(pl->service, sizeof(pl->service), "(shared)");
	px->shared = pl;
	return 0;
}

