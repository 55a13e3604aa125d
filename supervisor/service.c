/* service: one supervised service at run time: its process, pipes, timers, log and cgroup. */
#include "service.h"
#include "service_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <stddef.h>
#include <unistd.h>

#include "cgroup.h"
#include "env.h"
#include "exec.h"
#include "netns.h"
#include "sandbox.h"
#include "routes.h"
#include "token.h"
#include "spawn.h"
#include "log.h"
#include "denials_watch.h"
#include "supervisor.h"
#include "util.h"

#define DRAIN_POLL_MS 5		/* after the main process exited: wait for the rest */
#define DRAIN_MAX_MS 2000

static void feed(struct service *s, enum svc_event ev, const struct state_input *in);
static void timer_cb(uv_timer_t *t);
static void run_cgroup_release(struct service *s);
static void session_free(struct service *s);

static uint64_t now_ms(const struct service *s)
{
	return uv_now(s->sv->loop);
}

/* A supervisor event in the service's own log: "… nono <message>". */
void service__event(struct service *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (logbuf_event(logfile_buf(&s->log), stamp_now(), msg) < 0)
		s->log.lost += strlen(msg);
	logfile_kick(&s->log);
}

/* ---- signalling ---- */

static void signal_all(struct service *s, int sig)
{
	if (!s->exited && s->pidfd >= 0)
		spawn_signal(s->pidfd, sig);	/* the main process, whatever its group */
	if (s->cgroup[0])
		cgroup_signal(s->cgroup, sig);
	else if (s->pid > 0)
		kill(-s->pid, sig);	/* the service's own process group (setsid) */
}

int service_signal(struct service *s, int sig)
{
	if (s->pid <= 0 || s->exited)
		return -ESRCH;	/* while !exited the pid, and so its group, cannot be reused */
	if (kill(-s->pid, sig) == 0)
		return 0;
	return spawn_signal(s->pidfd, sig);	/* the helper has not made its session yet */
}

/* ---- the end of a run ---- */

/* What the exec helper says: the proxy listener of a new netns, or why it failed. */
static void read_helper(struct service *s)
{
	char why[256];
	int fd, r;

	for (;;) {
		r = netns_read_report(s->status_fd, &fd, s->helper_msg, sizeof(s->helper_msg),
				      &s->helper_msg_len);
		if (r == -EAGAIN || r == -EINTR)
			return;
		if (r != NETNS_RECV_FD) {
			uv_poll_stop(&s->status_watch);	/* EOF: the helper exec'd or died */
			/* Silent EOF while it runs: the service's own program is running. */
			if (r == NETNS_RECV_EOF && !s->helper_msg_len && !s->exited &&
			    s->sm.state == ST_STARTING && s->cfg.start_ms == 0)
				feed(s, EV_STARTED, NULL);
			return;
		}
		if (s->proxy_open || !s->run_open) {
			close(fd);
			continue;
		}
		if (proxy_listener_open(&s->proxy, &s->sv->proxy, fd, s->session, why, sizeof(why)) < 0) {
			service__event(s, "proxy listener: %s", why);
			continue;
		}
		s->proxy_open = true;
		s->netns = true;
		s->handles++;
	}
}

static void status_cb(uv_poll_t *w, int status, int events)
{
	read_helper(w->data);
}

static void run_part_closed(struct service *s)
{
	struct state_input in = s->exit;
	char reason[512];

	if (--s->handles > 0)
		return;
	/* Everything of the run is closed: now the state machine may start the next one. */
	snprintf(reason, sizeof(reason), "%s", s->helper_msg);
	if (s->status_fd >= 0)
		close(s->status_fd);
	s->status_fd = -1;
	s->proxy_open = false;
	session_free(s);	/* the phantom token dies with its process */
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	s->pid = 0;
	run_cgroup_release(s);
	if (reason[0] && in.exit_code == EXEC_FAILED) {
		service__event(s, "failed to start: %s", reason);
		in.reason = reason;
		feed(s, EV_SPAWN_FAILED, &in);
		return;
	}
	if (in.exit_code >= 0)
		service__event(s, "exited with code %d", in.exit_code);
	else
		service__event(s, "killed by signal %s", config_signal_name(in.exit_signal));
	feed(s, EV_EXIT, &in);
}

static void run_closed_cb(uv_handle_t *h)
{
	run_part_closed(h->data);
}

static void proxy_closed_cb(struct proxy_listener *pl)
{
	run_part_closed((struct service *)((char *)pl - offsetof(struct service, proxy)));
}

static void finish(struct service *s)
{
	uv_timer_stop(&s->drain_timer);
	s->draining = false;
	s->run_open = false;
	service__flush_output(s);
	read_helper(s);	/* a failure text may still wait in the socket */
	s->out.data = s->err.data = s->exit_watch.data = s->status_watch.data = s;
	uv_close((uv_handle_t *)&s->out, run_closed_cb);
	uv_close((uv_handle_t *)&s->err, run_closed_cb);
	uv_close((uv_handle_t *)&s->exit_watch, run_closed_cb);
	uv_close((uv_handle_t *)&s->status_watch, run_closed_cb);
	/* The session ends with its process: nothing more reaches its listener. */
	if (s->proxy_open)
		proxy_listener_close(&s->proxy, proxy_closed_cb);
}

static bool leftovers(struct service *s)
{
	return s->cgroup[0] && cgroup_populated(s->cgroup) > 0;
}

static void drain_timer_cb(uv_timer_t *t)
{
	struct service *s = t->data;

	if (now_ms(s) >= s->drain_until) {
		service__event(s,
			       "processes of the service still hold its output after %ums; closing",
		      DRAIN_MAX_MS);
		service__pause_output(s, true);
		finish(s);
		return;
	}
	if (leftovers(s))
		cgroup_signal(s->cgroup, SIGKILL);
	service__maybe_finish(s);
}

/*
 * A run ends when the main process was reaped, both pipes reached EOF (so its last
 * output is in the log before "exited") and, with a cgroup, nothing of it is left.
 */
void service__maybe_finish(struct service *s)
{
	if (!s->exited || !s->run_open)
		return;
	if (!service__stream_open(&s->out) && !service__stream_open(&s->err) && !leftovers(s)) {
		finish(s);
		return;
	}
	if (!s->draining) {
		s->draining = true;
		s->drain_until = now_ms(s) + DRAIN_MAX_MS;
		uv_timer_start(&s->drain_timer, drain_timer_cb, DRAIN_POLL_MS, DRAIN_POLL_MS);
	}
}

static void exit_cb(uv_poll_t *w, int status, int events)
{
	struct service *s = w->data;
	int code = 0, sig = 0;

	if (spawn_reap(s->pidfd, &code, &sig) <= 0)
		return;
	uv_poll_stop(w);
	s->exited = true;
	s->exit = (struct state_input){ .exit_code = code, .exit_signal = sig };
	/* What the main process started dies with it (KillMode=control-group). */
	signal_all(s, SIGKILL);
	service__maybe_finish(s);
}

/* ---- starting a run ---- */

static char **build_env(struct service *s, const struct policy *p, char **session_env)
{
	return env_build(s->sv->base_env, p, s->cfg.env, session_env);
}

static int send_plan(struct service *s, int fd, bool join_cgroup, const struct policy *policy,
		     char *err, size_t errlen)
{
	struct exec_plan plan = {
		.policy = policy,
		.name = s->cfg.name,
		.argv = s->cfg.argv,
		.cwd = s->cfg.cwd ? s->cfg.cwd : s->sv->config_dir,
		.user = s->cfg.user,
		.cgroup = join_cgroup && s->cgroup[0] ? s->cgroup : NULL,
		.ppid = getpid(),
		.nofile = s->sv->nofile,
	};
	char **session_env = NULL, **env;
	char *json = NULL;
	ssize_t n;
	int r;

	if (s->session) {
		r = routes_child_env(s->creds.route_ptrs, s->creds.n, &s->session->token,
				     NETNS_PROXY_PORT, &session_env);
		if (r < 0) {
			snprintf(err, errlen, "proxy environment: %s", strerror(-r));
			return r;
		}
	}
	env = build_env(s, policy, session_env);
	if (!env) {
		routes_env_free(session_env);
		return -ENOMEM;
	}
	plan.env = env;
	r = exec_plan_encode(&plan, &json);
	free(env);
	routes_env_free(session_env);	/* wipes the token's copies */
	if (r < 0)
		return r;
	/* The socket buffer takes the whole plan; a plan that does not fit is refused. */
	n = send(fd, json, strlen(json), MSG_DONTWAIT | MSG_NOSIGNAL);
	r = n == (ssize_t)strlen(json) ? 0 : -E2BIG;
	if (r < 0)
		snprintf(err, errlen, "the exec plan (%zu bytes) is too large", strlen(json));
	explicit_bzero(json, strlen(json));
	free(json);
	shutdown(fd, SHUT_WR);
	return r;
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The client's terminal is given to one spawn only: the child has it now, or never will. */
static void stdio_release(struct service *s)
{
	close_fds(s->stdio, ARRAY_SIZE(s->stdio));
	s->stdio[0] = s->stdio[1] = s->stdio[2] = -1;
}

static void take_next_config(struct service *s)
{
	credstore_free(&s->creds);	/* the definitions may have changed: load them again */
	s->creds_ready = false;
	config_service_release(&s->cfg);
	s->cfg = *s->next_cfg;
	free(s->next_cfg);
	s->next_cfg = NULL;
	state_set_limit(&s->sm, s->cfg.start_limit_n);
	logfile_configure(&s->log, s->cfg.log_max_size, s->cfg.log_backups);
}

/*
 * Every run gets a fresh cgroup, created before the spawn and removed once it is empty.
 * (Reusing one after cgroup.kill is not safe: on some kernels a child cloned into a
 * cgroup that was killed before is killed at birth.)
 */
static void run_cgroup_create(struct service *s)
{
	static uint64_t seq;
	char name[CONFIG_NAME_MAX + 24];
	int r;

	if (!cgroup_available())
		return;
	snprintf(name, sizeof(name), "%s.%llu", s->cfg.name, (unsigned long long)++seq);
	r = cgroup_create(name, s->cgroup, sizeof(s->cgroup));
	if (r == 0) {
		s->cgroup_fd = open(s->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->cgroup_fd >= 0)
			return;
		r = -errno;
		cgroup_remove(s->cgroup);
	}
	log_warn("service '%s': no cgroup for this run (%s), using a process-group kill",
		 s->cfg.name, strerror(-r));
	s->cgroup[0] = '\0';
}

static void run_cgroup_release(struct service *s)
{
	if (s->cgroup_fd >= 0)
		close(s->cgroup_fd);
	s->cgroup_fd = -1;
	/* Still busy only if leftovers outlived the drain: teardown kills the whole tree. */
	if (s->cgroup[0] && cgroup_remove(s->cgroup) < 0)
		log_warn("service '%s': %s still has processes", s->cfg.name, s->cgroup);
	s->cgroup[0] = '\0';
}

static void session_free(struct service *s)
{
	proxy_session_free(&s->sv->proxy, s->session);
	s->session = NULL;
}

/* A fresh phantom token for this run (none without credentials and hosts: the stub). */
static int session_new(struct service *s, const struct policy *policy, char *why, size_t len)
{
	return proxy_session_new(&s->sv->proxy, &s->session, s->cfg.name, s->creds.creds,
				 s->creds.n, policy, &s->sv->audit, why, len);
}

static void creds_work_cb(uv_work_t *w)
{
	struct service *s = w->data;
	char data_dir[PATH_MAX], helper[PATH_MAX], *slash;

	sandbox_data_dir(data_dir, sizeof(data_dir));
	snprintf(helper, sizeof(helper), "%s", s->sv->exec_helper);
	slash = strrchr(helper, '/');
	if (slash)	/* nono-keyring sits next to nono-exec */
		snprintf(slash + 1, sizeof(helper) - (size_t)(slash + 1 - helper), "nono-keyring");
	s->creds_err[0] = '\0';
	if (credstore_load(&s->creds, &s->cfg, data_dir, helper, s->creds_err,
			   sizeof(s->creds_err)) < 0 && !s->creds_err[0])
		snprintf(s->creds_err, sizeof(s->creds_err), "credentials could not be loaded");
}

static void spawn(struct service *s);
static void free_closed_cb(uv_handle_t *h);

static void creds_done_cb(uv_work_t *w, int status)
{
	struct service *s = w->data;

	s->creds_loading = false;
	if (s->freeing) {
		free_closed_cb((uv_handle_t *)&s->timer);
		return;
	}
	if (s->creds_err[0]) {
		char msg[600];

		snprintf(msg, sizeof(msg), "%s", s->creds_err);
		service__event(s, "failed to start: %s", msg);
		feed(s, EV_SPAWN_FAILED, &(struct state_input){ .reason = msg });
		return;
	}
	s->creds_ready = true;
	if (s->sm.state == ST_STARTING)
		spawn(s);
	else	/* stopped while the keys were loading */
		feed(s, EV_SPAWN_FAILED, &(struct state_input){ .reason = "stopped before it started" });
}

/* Keys come from files, env, systemd or the keyring helper: off the loop, once per definition. */
static bool creds_pending(struct service *s)
{
	if (!s->cfg.credentials || !s->cfg.credentials[0] || s->creds_ready)
		return false;
	if (!s->creds_loading) {
		s->creds_loading = true;
		s->creds_work.data = s;
		if (uv_queue_work(s->sv->loop, &s->creds_work, creds_work_cb, creds_done_cb) < 0) {
			s->creds_loading = false;
			snprintf(s->creds_err, sizeof(s->creds_err), "cannot queue the credential load");
			return false;
		}
	}
	return true;
}

static void spawn(struct service *s)
{
	char *args[] = { "nono-exec", NULL }, *no_env[] = { NULL };
	/* plan socket (ours, helper's), stdout (read, write), stderr (read, write) */
	int fds[6] = { -1, -1, -1, -1, -1, -1 };
	/* The helper gets no environment of ours: the service's comes in the plan. */
	struct spawn_req req = { .path = s->sv->exec_helper, .argv = args, .envp = no_env };
	struct policy policy;
	bool join = false;
	char why[512] = "";
	int r = 0;

	if (s->next_cfg)
		take_next_config(s);	/* a reload changed the definition: it applies now */
	s->spawns++;	/* an attempt: waiting clients settle on its outcome, even a failure */
	if (s->creds_stale && !s->creds_loading) {
		credstore_free(&s->creds);	/* a reload asked for the keys to be read again */
		s->creds_ready = false;
		s->creds_stale = false;
	}
	if (creds_pending(s))
		return;	/* spawn() runs again once the keys are loaded */
	/* The sandbox is compiled now, for the paths as they are: no sandbox, no start. */
	r = sandbox_compile(&s->cfg, s->sv->config_dir, &policy, why, sizeof(why));
	if (r < 0) {
		char msg[600];

		snprintf(msg, sizeof(msg), "sandbox: %s", why);
		service__event(s, "failed to start: %s", msg);
		feed(s, EV_SPAWN_FAILED, &(struct state_input){ .reason = msg });
		return;
	}
	r = session_new(s, &policy, why, sizeof(why));
	if (r < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 ||
	    pipe2(fds + 2, O_CLOEXEC) < 0 || pipe2(fds + 4, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	req.stdio[0] = -1;	/* /dev/null */
	req.stdio[1] = fds[3];
	req.stdio[2] = fds[5];
	req.stdio[3] = fds[1];
	/* nonoctl run: the client's terminal (the log pipes then see EOF at once). */
	for (int i = 0; i < 3 && s->stdio[0] >= 0; i++)
		req.stdio[i] = s->stdio[i];
	run_cgroup_create(s);
	req.cgroup_fd = s->cgroup_fd;
	r = spawn_start(&req, &s->pid, &s->pidfd);
	if (r == -EOPNOTSUPP) {
		/* No clone into a cgroup here: the helper moves itself before it execs. */
		req.cgroup_fd = -1;
		join = true;
		r = spawn_start(&req, &s->pid, &s->pidfd);
	}
	stdio_release(s);
	if (r < 0)
		goto fail;
	s->last_pid = s->pid;
	service_refusals_reset(s);
	close_fds((int[]){ fds[1], fds[3], fds[5] }, 3);	/* the child's ends */
	/* A plan that cannot be sent makes the helper fail with a reason: no start. */
	send_plan(s, fds[0], join, &policy, why, sizeof(why));
	policy_free(&policy);
	s->status_fd = fds[0];
	fcntl(s->status_fd, F_SETFL, O_NONBLOCK);
	s->helper_msg_len = 0;
	s->helper_msg[0] = '\0';
	s->netns = false;
	s->exited = false;
	s->run_open = true;
	s->handles = 4;
	uv_poll_init(s->sv->loop, &s->exit_watch, s->pidfd);
	s->exit_watch.data = s;
	uv_poll_start(&s->exit_watch, UV_READABLE, exit_cb);
	uv_poll_init(s->sv->loop, &s->status_watch, s->status_fd);
	s->status_watch.data = s;
	uv_poll_start(&s->status_watch, UV_READABLE, status_cb);
	service__watch_output(s, fds[2], fds[4]);
	service__event(s, "started pid %d", (int)s->pid);
	if (state_spawned(&s->sm, &s->cfg, now_ms(s)) == ACT_START_TIMER)
		uv_timer_start(&s->timer, timer_cb, s->cfg.start_ms, 0);
	return;

fail:
	policy_free(&policy);
	session_free(s);
	close_fds(fds, ARRAY_SIZE(fds));
	run_cgroup_release(s);
	snprintf(why, sizeof(why), "spawn error: %s", strerror(-r));
	service__event(s, "failed to start: %s", why);
	feed(s, EV_SPAWN_FAILED, &(struct state_input){ .reason = why });
}

/* ---- the state machine's actions ---- */

static void timer_cb(uv_timer_t *t)
{
	struct service *s = t->data;

	switch (s->sm.state) {
	case ST_STARTING:
		feed(s, EV_STARTED, NULL);
		break;
	case ST_BACKOFF:
		feed(s, EV_BACKOFF_DONE, NULL);
		break;
	case ST_STOPPING:
		feed(s, EV_STOP_TIMEOUT, NULL);
		break;
	default:
		break;
	}
}

static void apply(struct service *s, enum svc_event ev, enum svc_state before,
		  enum svc_action act)
{
	bool changed = s->sm.state != before;
	char d[32];

	/* Bookkeeping of the new state first: the action may feed further events. */
	if (changed) {
		uv_timer_stop(&s->timer);
		if (s->sm.state == ST_FAILED && ev != EV_SPAWN_FAILED)
			/* a crash loop; spawn errors were logged */
			service__event(s, "%s", s->sm.reason);
		else if (s->sm.state == ST_STOPPED && before == ST_STOPPING)
			service__event(s, "stopped");
	}
	switch (act) {
	case ACT_SPAWN:
		spawn(s);
		break;
	case ACT_SIGNAL:
		signal_all(s, s->cfg.stop_signal);
		uv_timer_start(&s->timer, timer_cb, s->cfg.stop_timeout_ms, 0);
		break;
	case ACT_KILL:
		format_duration(d, sizeof(d), s->cfg.stop_timeout_ms);
		service__event(s, "still running %s after %s: killing", d,
		      config_signal_name(s->cfg.stop_signal));
		signal_all(s, SIGKILL);
		break;
	case ACT_WAIT:
		format_duration(d, sizeof(d), s->sm.delay_ms);
		service__event(s, "restarting in %s", s->sm.delay_ms ? d : "0s");
		uv_timer_start(&s->timer, timer_cb, s->sm.delay_ms, 0);
		break;
	case ACT_START_TIMER:
	case ACT_NONE:
		break;
	}
	if (changed)
		supervisor_changed(s->sv);
}

static void feed(struct service *s, enum svc_event ev, const struct state_input *in)
{
	enum svc_state before = s->sm.state;

	apply(s, ev, before, state_next(&s->sm, &s->cfg, ev, in, now_ms(s)));
}

void service_event(struct service *s, enum svc_event ev)
{
	feed(s, ev, NULL);
}

/* ---- life of the object ---- */

struct service *service_new(struct supervisor *sv, struct service_config *cfg, char *err,
			    size_t errlen)
{
	struct service *s = calloc(1, sizeof(*s));
	char path[PATH_MAX];
	int r;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->sv = sv;
	s->status_fd = -1;
	s->pidfd = -1;
	s->cgroup_fd = -1;
	s->stdio[0] = s->stdio[1] = s->stdio[2] = -1;
	s->cfg = *cfg;
	*cfg = (struct service_config){ 0 };
	s->lb_out.tag = "out";
	s->lb_err.tag = "err";
	snprintf(path, sizeof(path), "%s/%s.log", sv->log_dir, s->cfg.name);
	r = state_init(&s->sm, s->cfg.start_limit_n);
	if (r == 0)
		r = logfile_init(&s->log, sv->loop, path, s->cfg.log_max_size, s->cfg.log_backups);
	if (r < 0) {
		snprintf(err, errlen, "service '%s': %s", s->cfg.name, strerror(-r));
		state_free(&s->sm);
		config_service_release(&s->cfg);
		free(s);
		return NULL;
	}
	s->log.data = s;
	s->log.drained = service__log_drained;
	uv_timer_init(sv->loop, &s->timer);
	uv_timer_init(sv->loop, &s->flush_timer);
	uv_timer_init(sv->loop, &s->drain_timer);
	s->timer.data = s->flush_timer.data = s->drain_timer.data = s;
	return s;
}

void service_reread_credentials(struct service *s)
{
	s->creds_stale = s->creds_ready || s->creds_loading;
}

void service_replace_config(struct service *s, struct service_config *cfg)
{
	struct service_config *next = malloc(sizeof(*next));

	if (!next)
		return;
	*next = *cfg;
	*cfg = (struct service_config){ 0 };
	if (s->next_cfg) {
		config_service_release(s->next_cfg);
		free(s->next_cfg);
	}
	s->next_cfg = next;
	if (state_has_process(s->sm.state) || s->sm.state == ST_BACKOFF) {
		service__event(s, "definition changed: restarting");
		feed(s, EV_RESTART, NULL);
	} else if (s->next_cfg->autostart && s->sm.state == ST_FAILED) {
		/* A fixed definition gets its chance at once. */
		service__event(s, "definition changed: starting");
		feed(s, EV_START, NULL);
	}
}

bool service_settled_down(const struct service *s)
{
	return !state_has_process(s->sm.state) && s->handles == 0 && s->pid == 0;
}

static void free_closed_cb(uv_handle_t *h)
{
	struct service *s = h->data;

	if (--s->closing > 0)
		return;
	run_cgroup_release(s);
	stdio_release(s);
	credstore_free(&s->creds);
	logbuf_free(&s->lb_out);
	logbuf_free(&s->lb_err);
	state_free(&s->sm);
	config_service_release(&s->cfg);
	if (s->next_cfg) {
		config_service_release(s->next_cfg);
		free(s->next_cfg);
	}
	free(s);
}

static void log_closed(struct logfile *lf)
{
	free_closed_cb((uv_handle_t *)&((struct service *)lf->data)->timer);
}

/* Free a service that has no process any more: timers and log close asynchronously. */
void service_free(struct service *s)
{
	if (s->freeing)
		return;
	s->freeing = true;
	service__flush_output(s);
	if (s->sv->refusals_on)
		denials_watch_forget(&s->sv->refusals, s);
	service_refusals_reset(s);
	/* A credential load under way finishes first: its callback is the fifth closer. */
	s->closing = s->creds_loading ? 5 : 4;
	uv_close((uv_handle_t *)&s->timer, free_closed_cb);
	uv_close((uv_handle_t *)&s->flush_timer, free_closed_cb);
	uv_close((uv_handle_t *)&s->drain_timer, free_closed_cb);
	logfile_close(&s->log, log_closed);
}

void service_remove(struct service *s)
{
	s->removing = true;
	feed(s, EV_STOP, NULL);
}
