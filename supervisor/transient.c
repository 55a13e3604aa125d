/* transient: services `nonoctl run` adds to the running fleet, from the start of their one run
 * to their removal. */
#include "transient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "log.h"
#include "policy.h"
#include "sandbox.h"
#include "service.h"
#include "supervisor.h"
#include "util.h"

struct transient {
	struct supervisor *sv;
	struct transient *next;
	struct service *s;
	uv_timer_t reap;		/* removes the service on the next turn of the loop */
	transient_report_fn report;	/* NULL once the owner is gone */
	void *arg;
	bool detach;
	bool started;			/* the start was reported */
	bool ending;			/* settled: its end is reported (once audit caught up),
					   then it is reaped */
};

static void close_stdio(int stdio[3])
{
	for (int i = 0; i < 3; i++)
		if (stdio[i] >= 0)
			close(stdio[i]);
}

/* A service name: what a [service:NAME] header takes. */
static bool name_ok(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (n && n <= CONFIG_NAME_MAX && name[0] != '.' && name[0] != '-' && strcmp(name, "all") &&
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n)
		return true;
	snprintf(err, errlen, "--name '%.80s': not a service name (1-%d of A-Z a-z 0-9 _ . -, not "
		 "starting with '.' or '-', not 'all')", name, CONFIG_NAME_MAX);
	return false;
}

/* In the fleet, or removed by a reload and still stopping (its log is still open). */
static bool name_taken(struct supervisor *sv, const char *name)
{
	if (supervisor_find(sv, name))
		return true;
	for (struct service *s = sv->dying; s; s = s->next)
		if (strcmp(s->cfg.name, name) == 0)
			return true;
	return false;
}

static bool flag_names(char *const *list, const char *name)
{
	size_t len = strlen(name);

	for (; list && *list; list++)
		if (strncmp(*list, name, len) == 0 && (*list)[len] == '=')
			return true;
	return false;
}

/* The running configuration's [credential:NAME], or NULL. */
static const struct credential_config *fleet_credential(struct supervisor *sv, const char *name)
{
	for (size_t k = 0; k < sv->n_credentials; k++)
		if (strcmp(sv->credentials[k].name, name) == 0)
			return &sv->credentials[k];
	return NULL;
}

/* A credential the flags do not define is the fleet's, when the configuration has it. */
static int fleet_credentials(struct supervisor *sv, const struct run_opts *o,
			     struct service_config *sc, char *err, size_t errlen)
{
	for (size_t i = 0; sc->credentials && sc->credentials[i]; i++) {
		const char *name = sc->credentials[i];
		const struct credential_config *sec = fleet_credential(sv, name);
		struct credential_config copy;

		if (!sec || flag_names(o->credential_sources, name) ||
		    flag_names(o->credential_upstreams, name) || flag_names(o->credential_cas, name))
			continue;
		if (config_credential_copy(&copy, sec) < 0)
			return snprintf(err, errlen, "out of memory"), -ENOMEM;
		config_credential_release(&sc->credential_defs[i]);
		sc->credential_defs[i] = copy;
	}
	return 0;
}

/* The policy compiles, the profile's credentials join, and no key file is in a grant. */
static int check_sandbox(struct supervisor *sv, struct service_config *sc, const char *cwd,
			 char *err, size_t errlen)
{
	struct policy p;
	char why[1024];
	int r;

	r = sandbox_compile(sc, cwd, &p, why, sizeof(why));
	if (r < 0)
		return snprintf(err, errlen, "sandbox: %s", why), r;
	r = sandbox_profile_credentials(sc, &p, sv->credentials, sv->n_credentials, why,
					sizeof(why));
	if (r < 0)
		snprintf(err, errlen, "the profile's credentials: %s", why);
	if (r == 0)
		r = sandbox_check_keys(sc, &p, err, errlen);
	policy_free(&p);
	return r;
}

int transient_config(struct supervisor *sv, const struct run_opts *o, const char *cwd,
		     struct service_config *sc, char *err, size_t errlen)
{
	int r;

	if (o->name && !name_ok(o->name, err, errlen))
		return -EINVAL;
	r = run_service_config(o, cwd, sc, err, errlen);
	if (r < 0)
		return r;
	if (sc->sandbox && geteuid() == 0 && (!sc->user || strcmp(sc->user, "root") == 0)) {
		snprintf(err, errlen, "as root, run needs --user NAME (an unprivileged account): "
			 "agents never run as root");
		r = -EPERM;
	}
	if (r == 0)
		r = fleet_credentials(sv, o, sc, err, errlen);
	if (r == 0 && sc->sandbox)
		r = check_sandbox(sv, sc, cwd, err, errlen);
	if (r < 0)
		config_service_release(sc);
	return r;
}

static void report(struct transient *t, const struct transient_event *ev)
{
	if (t->report)
		t->report(t->arg, ev);
}

static void report_started(struct transient *t)
{
	struct transient_event ev = { .name = t->s->cfg.name, .pid = t->s->last_pid };

	t->started = true;
	report(t, &ev);
}

/* A failure to start as an exit status: the exec helper's own texts as `nono-supervise run`
 * tells them apart; the rest (sandbox, credentials, the daemon's) is the sandbox's 125. */
static int failure_status(const struct service *s)
{
	if (!s->helper_msg[0])
		return RUN_EXIT_SANDBOX;
	if (strstr(s->helper_msg, EXEC_MSG_NOT_FOUND))
		return RUN_EXIT_NOTFOUND;
	if (strncmp(s->helper_msg, EXEC_MSG_CANNOT, strlen(EXEC_MSG_CANNOT)) == 0)
		return RUN_EXIT_NOEXEC;
	return RUN_EXIT_SANDBOX;
}

static void report_ended(struct transient *t)
{
	const struct state_machine *sm = &t->s->sm;
	struct transient_event ev = {
		.ended = true, .name = t->s->cfg.name, .pid = t->s->last_pid,
		.code = sm->exit_code, .sig = sm->exit_signal, .refused = t->s->refused,
		.shown = t->s->shown,
	};

	if (sm->state == ST_FAILED) {
		ev.error = sm->reason;
		ev.status = failure_status(t->s);
	} else if (!sm->has_exit) {
		ev.error = "stopped before it started";
		ev.status = RUN_EXIT_SANDBOX;
	} else {
		ev.status = sm->exit_code >= 0 ? sm->exit_code : 128 + sm->exit_signal;
		if (!t->started)
			report_started(t);	/* it ran, and ended before we saw it run */
	}
	report(t, &ev);
}

static void freed_cb(uv_handle_t *h)
{
	free(h->data);
}

static void unlink_transient(struct transient *t)
{
	struct transient **pp = &t->sv->transients;

	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp)
		*pp = t->next;
}

static void reap_cb(uv_timer_t *timer)
{
	struct transient *t = timer->data;
	struct service **pp = &t->sv->services;

	while (*pp && *pp != t->s)
		pp = &(*pp)->next;
	if (*pp)
		*pp = t->s->next;
	log_info("service '%s' (nonoctl run) ended: removed; its log stays", t->s->cfg.name);
	service_free(t->s);
	unlink_transient(t);
	uv_close((uv_handle_t *)&t->reap, freed_cb);
}

struct transient *transient_new(struct supervisor *sv, const struct run_opts *o, const char *cwd,
				int stdio[3], transient_report_fn report_fn, void *arg, char *err,
				size_t errlen)
{
	struct service_config sc;
	struct transient *t;
	char name[CONFIG_NAME_MAX + 1];
	size_t n = 0;

	for (t = sv->transients; t; t = t->next)
		n++;
	if (n >= TRANSIENT_MAX) {
		snprintf(err, errlen, "too many transient services (limit %d)", TRANSIENT_MAX);
		goto fail;
	}
	if (o->name && name_taken(sv, o->name)) {
		snprintf(err, errlen, "a service named '%s' already exists; hint: another --name, "
			 "or none for run-N", o->name);
		goto fail;
	}
	if (transient_config(sv, o, cwd, &sc, err, errlen) < 0)
		goto fail;
	snprintf(name, sizeof(name), "%s", o->name ? o->name : "");
	while (!name[0] || (!o->name && name_taken(sv, name)))
		snprintf(name, sizeof(name), "run-%u", ++sv->run_seq);
	free(sc.name);
	sc.name = strdup(name);
	t = calloc(1, sizeof(*t));
	if (!sc.name || !t) {
		config_service_release(&sc);
		free(t);
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	t->s = service_new(sv, &sc, err, errlen);
	if (!t->s) {
		free(t);
		goto fail;
	}
	t->sv = sv;
	t->report = report_fn;
	t->arg = arg;
	t->detach = o->detach;
	t->s->transient = true;
	memcpy(t->s->stdio, stdio, sizeof(t->s->stdio));
	uv_timer_init(sv->loop, &t->reap);
	t->reap.data = t;
	t->next = sv->transients;
	sv->transients = t;
	return t;
fail:
	close_stdio(stdio);
	return NULL;
}

void transient_start(struct transient *t)
{
	struct service **pp = &t->sv->services;

	while (*pp)
		pp = &(*pp)->next;
	*pp = t->s;	/* last in the fleet, as status lists it */
	log_info("service '%s' (nonoctl run%s): %s", t->s->cfg.name,
		 t->detach ? " --detach" : "", t->s->cfg.argv[0]);
	service_event(t->s, EV_START);
}

struct service *transient_service(const struct transient *t)
{
	return t->s;
}

void transient_disown(struct transient *t)
{
	t->report = NULL;
	if (t->detach || t->ending)
		return;
	log_info("service '%s': its nonoctl run went away: stopping it", t->s->cfg.name);
	service_event(t->s, EV_STOP);
}

static void end(struct transient *t)
{
	report_ended(t);
	uv_timer_start(&t->reap, reap_cb, 0, 0);
}

static void refusals_caught_up(void *arg, bool in_time)
{
	(void)in_time; /* late: what was counted is told */
	end(arg);
}

/*
 * Called inside a service's own callbacks: reports are sent at once (a shutdown closes the
 * clients right after), the service is freed only on the next turn of the loop. Except the
 * end, when Landlock's refusals are read: it waits (a moment) until kernel audit caught up,
 * so that nonoctl is told all of them.
 */
void transient_changed(struct supervisor *sv)
{
	for (struct transient *t = sv->transients; t; t = t->next) {
		struct service *s = t->s;

		if (t->ending)
			continue;
		if (!t->started && s->sm.state == ST_RUNNING)
			report_started(t);
		if (!s->spawns || !service_settled_down(s))
			continue;
		t->ending = true;
		if (sv->refusals_on && !sv->shutting_down &&
		    denials_watch_mark(&sv->refusals, refusals_caught_up, t) == 0)
			continue;
		end(t);
	}
}

int transient_check_config(struct supervisor *sv, const struct config *cfg, char *err,
			   size_t errlen)
{
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct service *s = supervisor_find(sv, cfg->services[i].name);

		if (s && s->transient) {
			snprintf(err, errlen, "%s:%d: service '%s': a transient service (nonoctl run) "
				 "of that name is running; hint: rename the section or stop it first",
				 cfg->path, cfg->services[i].line, s->cfg.name);
			return -EEXIST;
		}
	}
	return 0;
}

void transient_teardown(struct supervisor *sv)
{
	while (sv->transients) {
		struct transient *t = sv->transients;

		sv->transients = t->next;
		t->report = NULL;
		if (sv->refusals_on)
			denials_watch_forget(&sv->refusals, t);
		uv_close((uv_handle_t *)&t->reap, freed_cb);
	}
}
