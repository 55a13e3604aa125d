/* supervisor: the daemon: one loop, the fleet of services, signals, reload and shutdown. */
#include "supervisor.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "control.h"
#include "env.h"
#include "exec.h"
#include "log.h"
#include "netns.h"
#include "sandbox.h"
#include "service.h"
#include "transient.h"
#include "util.h"

/* "/a/b/c.ini" -> "/a/b", "/c.ini" -> "/" (config paths are absolute). */
static char *dir_of(const char *path)
{
	char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;

	if (slash)
		slash[slash == dir] = '\0';
	return dir;
}

/* The running configuration's credential sections become cfg's (the old ones are freed). */
static void take_credentials(struct supervisor *sv, struct config *cfg)
{
	for (size_t i = 0; i < sv->n_credentials; i++)
		config_credential_release(&sv->credentials[i]);
	free(sv->credentials);
	sv->credentials = cfg->credentials;
	sv->n_credentials = cfg->n_credentials;
	cfg->credentials = NULL;
	cfg->n_credentials = 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

struct service *supervisor_find(struct supervisor *sv, const char *name)
{
	for (struct service *s = sv->services; s; s = s->next)
		if (strcmp(s->cfg.name, name) == 0)
			return s;
	return NULL;
}

static void close_cb_noop(uv_handle_t *h)
{
}

/* ---- the audit log: records are queued on the loop, written by a worker ---- */

#define AUDIT_FLUSH_MS 200
#define TRIM_MS 10000

static void audit_work_cb(uv_work_t *w)
{
	struct supervisor *sv = w->data;

	audit_flush(&sv->audit);
}

static void audit_done_cb(uv_work_t *w, int status)
{
	struct supervisor *sv = w->data;

	sv->audit_flushing = false;
}

static void audit_timer_cb(uv_timer_t *t)
{
	struct supervisor *sv = t->data;

	if (sv->audit_flushing || !audit_pending(&sv->audit))
		return;
	sv->audit_work.data = sv;
	if (uv_queue_work(sv->loop, &sv->audit_work, audit_work_cb, audit_done_cb) == 0)
		sv->audit_flushing = true;
}

/*
 * A burst of proxy traffic leaves freed TLS and request memory in malloc's arenas: once it
 * has passed (no new connection for a tick), hand it back to the system.
 */
static void trim_timer_cb(uv_timer_t *t)
{
	struct supervisor *sv = t->data;

	unsigned long now = sv->proxy.accepted;

	/* Quiet since the last tick, busy since the last trim. */
	if (now == sv->trim_seen && now != sv->trimmed_at) {
		sv->trimmed_at = now;
		malloc_trim(0);
	}
	sv->trim_seen = now;
}

static int audit_setup(struct supervisor *sv)
{
	char path[PATH_MAX], err[512];
	int r;

	snprintf(path, sizeof(path), "%s/audit.ndjson", sv->log_dir);
	r = audit_open(&sv->audit, path, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	uv_timer_init(sv->loop, &sv->audit_timer);
	sv->audit_timer.data = sv;
	uv_timer_start(&sv->audit_timer, audit_timer_cb, AUDIT_FLUSH_MS, AUDIT_FLUSH_MS);
	uv_unref((uv_handle_t *)&sv->audit_timer);
	return 0;
}

static void *refusal_owner(struct denials_watch *w, pid_t pid)
{
	struct supervisor *sv = w->data;

	for (struct service *s = sv->services; s; s = s->next)
		if (s->pid == pid)
			return s;
	for (struct service *s = sv->dying; s; s = s->next)
		if (s->pid == pid)
			return s;
	return NULL;
}

static void refused(struct denials_watch *w, void *owner, const struct denial *d)
{
	(void)w;
	service_refused(owner, d);
}

/* Landlock names what it refused only to kernel audit: read it if we can, into each log. */
static void refusals_setup(struct supervisor *sv)
{
	char why[256];
	bool enabled;
	int fd = denials_open(&enabled, why, sizeof(why));

	if (fd < 0) {
		log_info("Landlock's refusals are not logged: %s", why);
		return;
	}
	if (!enabled)
		log_info("Landlock's refusals are logged once kernel audit is on: %s", why);
	sv->refusals.owner_of = refusal_owner;
	sv->refusals.refused = refused;
	sv->refusals.data = sv;
	if (denials_watch_start(&sv->refusals, sv->loop, fd) < 0)
		return;
	sv->refusals_on = true;
}

/* Everything is down: close what keeps the loop alive so uv_run returns. */
static void teardown(struct supervisor *sv)
{
	control_close(sv);
	transient_teardown(sv);
	proxy_close(&sv->proxy, NULL);
	if (sv->refusals_on)
		denials_watch_close(&sv->refusals, close_cb_noop);
	uv_close((uv_handle_t *)&sv->audit_timer, close_cb_noop);
	uv_close((uv_handle_t *)&sv->trim_timer, close_cb_noop);
	uv_close((uv_handle_t *)&sv->sig_term, close_cb_noop);
	uv_close((uv_handle_t *)&sv->sig_int, close_cb_noop);
	uv_close((uv_handle_t *)&sv->sig_hup, close_cb_noop);
	while (sv->services) {
		struct service *s = sv->services;

		sv->services = s->next;
		service_free(s);
	}
	log_info("all services stopped; exiting");
}

void supervisor_changed(struct supervisor *sv)
{
	struct service **pp = &sv->dying;
	bool all_down = true;

	control_notify(sv);
	transient_changed(sv);
	while (*pp) {
		struct service *s = *pp;

		if (service_settled_down(s)) {
			*pp = s->next;
			log_info("service '%s' removed", s->cfg.name);
			service_free(s);
		} else {
			pp = &s->next;
		}
	}
	if (!sv->shutting_down || sv->dying)
		return;
	for (struct service *s = sv->services; s; s = s->next)
		all_down = all_down && service_settled_down(s);
	if (all_down && !uv_is_closing((uv_handle_t *)&sv->sig_term))
		teardown(sv);
}

void supervisor_shutdown(struct supervisor *sv)
{
	if (sv->shutting_down) {
		/* Asked twice: no more waiting for stop_timeout. */
		for (struct service *s = sv->services; s; s = s->next)
			service_event(s, EV_STOP_TIMEOUT);
		for (struct service *s = sv->dying; s; s = s->next)
			service_event(s, EV_STOP_TIMEOUT);
		return;
	}
	log_info("shutting down: stopping every service");
	sv->shutting_down = true;
	for (struct service *s = sv->services; s; s = s->next)
		service_event(s, EV_STOP);
	supervisor_changed(sv);
}

static cJSON *add_name(cJSON *reply, const char *list, const char *name)
{
	cJSON *a = cJSON_GetObjectItemCaseSensitive(reply, list);

	if (!a)
		a = cJSON_AddArrayToObject(reply, list);
	cJSON_AddItemToArray(a, cJSON_CreateString(name));
	return a;
}

/* The [supervisor] proxy_* keys over the built-in limits. */
static void proxy_limits_of(const struct config_proxy *cp, struct proxy_limits *l)
{
	proxy_limits_default(l);
	if (cp->max_connections)
		l->conns_total = cp->max_connections;
	if (cp->max_connections_per_service)
		l->conns_per_service = cp->max_connections_per_service;
	if (cp->max_body)
		l->body_bytes = cp->max_body;
	if (cp->idle_timeout_ms)
		l->idle_ms = cp->idle_timeout_ms;
	if (cp->connect_timeout_ms)
		l->connect_ms = cp->connect_timeout_ms;
	if (cp->stream_timeout_ms)
		l->stream_ms = cp->stream_timeout_ms;
}

int supervisor_reload(struct supervisor *sv, cJSON *reply, char *err, size_t errlen)
{
	struct config next = { 0 };
	struct service *old = sv->services, **tail = &sv->services, *kept = NULL, **kt = &kept;
	int r;

	r = config_load(&next, sv->config_path, err, errlen);
	if (r == 0)
		r = sandbox_check_config(&next, err, errlen);
	if (r == 0)
		r = transient_check_config(sv, &next, err, errlen);
	if (r < 0) {
		config_free(&next);
		return r;
	}
	proxy_limits_of(&next.proxy, &sv->proxy.limits);	/* for connections from now on */
	cJSON_AddArrayToObject(reply, "added");
	cJSON_AddArrayToObject(reply, "removed");
	cJSON_AddArrayToObject(reply, "changed");
	cJSON_AddArrayToObject(reply, "unchanged");
	sv->services = NULL;
	/* nonoctl run's services are not the file's: they stay as they are, last. */
	for (struct service **pp = &old; *pp;) {
		struct service *s = *pp;

		if (!s->transient) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		s->next = NULL;
		*kt = s;
		kt = &s->next;
	}
	for (size_t i = 0; i < next.n_services; i++) {
		struct service_config *c = &next.services[i];
		struct service **pp = &old, *s;

		while (*pp && strcmp((*pp)->cfg.name, c->name) != 0)
			pp = &(*pp)->next;
		s = *pp;
		if (s) {
			*pp = s->next;	/* out of the old list */
			if (service_config_equal(&s->cfg, c) && !s->next_cfg) {
				add_name(reply, "unchanged", s->cfg.name);
				service_reread_credentials(s);
			} else {
				add_name(reply, "changed", s->cfg.name);
				service_replace_config(s, c);
			}
		} else {
			s = service_new(sv, c, err, errlen);
			if (!s) {
				log_error("%s", err);
				continue;
			}
			add_name(reply, "added", s->cfg.name);
		}
		s->next = NULL;
		*tail = s;
		tail = &s->next;
	}
	/* What is left in the old list was removed from the file. */
	while (old) {
		struct service *s = old;

		old = s->next;
		add_name(reply, "removed", s->cfg.name);
		s->next = sv->dying;
		sv->dying = s;
		service_remove(s);
	}
	*tail = kept;
	/* Start the new ones only now, so the list is whole when they report. */
	for (struct service *s = sv->services; s; s = s->next)
		if (s->cfg.autostart && s->spawns == 0 && s->sm.state == ST_STOPPED &&
		    s->sm.want == WANT_DOWN && !s->sm.has_exit)
			service_event(s, EV_START);
	take_credentials(sv, &next);
	config_free(&next);
	log_info("configuration reloaded");
	supervisor_changed(sv);
	return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct supervisor *sv = h->data;

	if (signum == SIGHUP) {
		char err[CONFIG_ERR_MAX];
		cJSON *reply = cJSON_CreateObject();

		log_info("SIGHUP: reloading %s", sv->config_path);
		if (supervisor_reload(sv, reply, err, sizeof(err)) < 0)
			log_error("configuration refused, the running one stays:\n%s", err);
		cJSON_Delete(reply);
		return;
	}
	log_info("%s received", signum == SIGINT ? "SIGINT" : "SIGTERM");
	supervisor_shutdown(sv);
}

static int open_own_log(const char *log_dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/nono-supervise.log", log_dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return fd < 0 ? -errno : fd;
}

static int setup(struct supervisor *sv, struct config *cfg, bool foreground)
{
	struct proxy_limits limits;
	char err[CONFIG_ERR_MAX];
	int r;

	if (cfg->socket)
		snprintf(sv->socket_path, sizeof(sv->socket_path), "%s", cfg->socket);
	else if (config_default_socket(sv->socket_path, sizeof(sv->socket_path)) < 0)
		return log_error("no control socket path; hint: set socket in [supervisor]"), -EINVAL;
	if (cfg->log_dir)
		snprintf(sv->log_dir, sizeof(sv->log_dir), "%s", cfg->log_dir);
	else if (config_default_log_dir(sv->log_dir, sizeof(sv->log_dir)) < 0)
		return log_error("no log directory; hint: set log_dir in [supervisor]"), -EINVAL;
	r = mkdir_p(sv->log_dir, 0750);
	if (r < 0) {
		log_error("log directory '%s': %s", sv->log_dir, strerror(-r));
		return r;
	}
	if (!foreground) {
		r = open_own_log(sv->log_dir);
		if (r < 0) {
			log_error("log directory '%s': %s", sv->log_dir, strerror(-r));
			return r;
		}
		log_set_fd(r);
	}
	sv->base_env = env_base();
	r = exec_helper_path(sv->exec_helper, sizeof(sv->exec_helper));
	if (r < 0) {
		log_error("exec helper '%s': %s; hint: install nono-exec with nono-supervise",
			  sv->exec_helper, strerror(-r));
		return r;
	}
	if (cgroup_setup(sv->kill_mode_why, sizeof(sv->kill_mode_why)) < 0)
		log_warn("cgroups unavailable (%s); stop falls back to process-group kills, which "
			 "miss descendants that leave the group", sv->kill_mode_why);
	r = audit_setup(sv);
	if (r < 0)
		return r;
	refusals_setup(sv);
	proxy_limits_of(&cfg->proxy, &limits);
	proxy_init(&sv->proxy, sv->loop, &limits);
	uv_timer_init(sv->loop, &sv->trim_timer);
	sv->trim_timer.data = sv;
	uv_timer_start(&sv->trim_timer, trim_timer_cb, TRIM_MS, TRIM_MS);
	uv_unref((uv_handle_t *)&sv->trim_timer);
	sv->proxy.audit = &sv->audit;
	if (!netns_available()) {
		r = proxy_shared_open(&sv->proxy, NETNS_PROXY_PORT, err, sizeof(err));
		if (r < 0)
			log_warn("no network namespaces here and %s: services get no credential "
				 "proxy", err);
		else
			log_warn("no network namespaces here: one proxy listener on 127.0.0.1:%d "
				 "for every service, which tells sessions apart by their tokens",
				 NETNS_PROXY_PORT);
	}
	r = control_open(sv, sv->socket_path, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	for (size_t i = cfg->n_services; i > 0; i--) {
		struct service *s = service_new(sv, &cfg->services[i - 1], err, sizeof(err));

		if (!s) {
			log_error("%s", err);
			continue;
		}
		s->next = sv->services;
		sv->services = s;
	}
	uv_signal_init(sv->loop, &sv->sig_term);
	uv_signal_init(sv->loop, &sv->sig_int);
	uv_signal_init(sv->loop, &sv->sig_hup);
	sv->sig_term.data = sv->sig_int.data = sv->sig_hup.data = sv;
	uv_signal_start(&sv->sig_term, on_signal, SIGTERM);
	uv_signal_start(&sv->sig_int, on_signal, SIGINT);
	uv_signal_start(&sv->sig_hup, on_signal, SIGHUP);
	return 0;
}

/*
 * Every proxied connection costs two descriptors (client, upstream): take the hard limit, as
 * nginx's workers do; services get the old soft limit back (select() users expect 1024).
 */
static void raise_nofile(struct supervisor *sv)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	sv->nofile = (unsigned long)rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		sv->nofile = 0;
}

int supervisor_run(const char *file, bool foreground, int ready_fd)
{
	struct supervisor sv = { .loop = uv_default_loop() };
	struct config cfg = { 0 };
	char err[CONFIG_ERR_MAX];
	int r;

	signal(SIGPIPE, SIG_IGN);
	/*
	 * One malloc arena: the loop thread does nearly all the allocating, and each libuv
	 * worker (log and audit writes, getaddrinfo, key loads) would otherwise get an arena of
	 * its own that keeps what it freed (2.8 MiB of 17.5 in the proxy's RSS bench).
	 */
	mallopt(M_ARENA_MAX, 1);
	raise_nofile(&sv);
	r = config_load(&cfg, file, err, sizeof(err));
	if (r == 0)
		r = sandbox_check_config(&cfg, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s\n", err);
		config_free(&cfg);
		return 1;
	}
	sv.config_path = strdup(cfg.path);
	sv.config_dir = dir_of(cfg.path);
	r = setup(&sv, &cfg, foreground);
	if (r == 0)
		take_credentials(&sv, &cfg);
	config_free(&cfg);
	if (r < 0)
		return 1;
	log_info("nono-supervise %s: %s, control socket %s, logs in %s", NONO_VERSION,
		 sv.config_path, sv.socket_path, sv.log_dir);
	for (struct service *s = sv.services; s; s = s->next)
		if (s->cfg.autostart)
			service_event(s, EV_START);
	if (ready_fd >= 0) {
		/* The control socket listens: the parent of a daemonized start may return. */
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, STDERR_FILENO);	/* from now on, the own log file */
			close(null);
		}
		(void)!write(ready_fd, "", 1);
		close(ready_fd);
	}
	uv_run(sv.loop, UV_RUN_DEFAULT);
	audit_close(&sv.audit);	/* writes what is left; no flush runs once the loop is done */
	cgroup_teardown();
	unlink(sv.socket_path);
	uv_loop_close(sv.loop);
	config_strv_free(sv.base_env);
	take_credentials(&sv, &(struct config){ 0 });	/* i.e. free them */
	free(sv.config_path);
	free(sv.config_dir);
	return 0;
}
