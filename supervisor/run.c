/*
 * run: `nono-supervise run [FLAGS] -- COMMAND`: one command in the foreground, no daemon.
 * The same compiler, exec helper, sandbox and credential proxy as a service; the terminal
 * stays the command's, signals are passed on, and its exit status is ours.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "audit.h"
#include "credstore.h"
#include "denials_watch.h"
#include "env.h"
#include "exec.h"
#include "netns.h"
#include "policy.h"
#include "proxy.h"
#include "routes.h"
#include "run_args.h"
#include "sandbox.h"
#include "spawn.h"
#include "util.h"

#define DENIALS_MAX  8  /* network denials kept for the footer */

struct run {
	uv_loop_t *loop;
	struct run_opts opts;
	struct service_config sc;
	struct policy policy;
	struct credstore creds;
	struct proxy px;
	struct proxy_session *session;
	struct proxy_listener pl;
	bool pl_open;
	uv_poll_t status_watch, exit_watch;
	uv_signal_t sigs[7];
	uv_signal_t sigchld;
	int status_fd, pidfd;
	pid_t pid;
	char helper_msg[512];
	size_t helper_len;
	int code, sig;
	bool exited;
	bool ran; /* the command itself ran (not a failure of the helper before it) */
	char denials[DENIALS_MAX][320];
	unsigned ndenials, more_denials;
	/* Landlock's refusals, from kernel audit when we can read it (else why not) */
	struct denials_watch dw;
	bool dw_on;
	char dw_why[256];
	struct denials_tally refusals;
};

static int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGUSR1, SIGUSR2};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("nono-supervise: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The proxy refused something: keep it for the footer, with the flag that would allow it. */
static void observe(struct proxy *px, const struct audit_entry *e)
{
	struct run *r = px->data;
	char *d;

	if (e->decision != AUDIT_DENY)
		return;
	if (r->ndenials == DENIALS_MAX) {
		r->more_denials++;
		return;
	}
	d = r->denials[r->ndenials++];
	if ((e->kind == AUDIT_KIND_CONNECT || e->kind == AUDIT_KIND_ABSOLUTE) && e->host[0]) {
		char host[300];

		/* An allowlist entry without a port means 443: name the port when it is not. */
		if (e->port && e->port != 443)
			snprintf(host, sizeof(host), "%s:%u", e->host, e->port);
		else
			snprintf(host, sizeof(host), "%s", e->host);
		snprintf(d, sizeof(r->denials[0]), "%s %s: %s%s%s", e->method, host, e->reason,
			 e->status == 403 ? "; allow it with --allow-domain " : "",
			 e->status == 403 ? host : "");
	} else {
		snprintf(d, sizeof(r->denials[0]), "%s %s: %s", e->method, e->path, e->reason);
	}
}

static void close_cb(uv_handle_t *h)
{
	(void)h;
}

static void *refusal_owner(struct denials_watch *w, pid_t pid)
{
	struct run *r = w->data;

	return pid == r->pid ? r : NULL;
}

/* Landlock refused the command something: one footer line per kind. */
static void refused(struct denials_watch *w, void *owner, const struct denial *d)
{
	struct run *r = owner;

	(void)w;
	denials_tally_add(&r->refusals, d, &r->policy, DENIALS_FLAGS);
}

/* Before the command starts: refusals are named if kernel audit can be read here. */
static void watch_refusals(struct run *r)
{
	bool enabled;
	int fd = denials_open(&enabled, r->dw_why, sizeof(r->dw_why));

	if (fd >= 0 && !enabled)
		close(fd);
	if (fd < 0 || !enabled)
		return;
	r->dw.owner_of = refusal_owner;
	r->dw.refused = refused;
	r->dw.data = r;
	if (denials_watch_start(&r->dw, r->loop, fd) < 0) {
		snprintf(r->dw_why, sizeof(r->dw_why), "the audit socket cannot be watched");
		return;
	}
	uv_ref((uv_handle_t *)&r->dw.poll); /* the run waits for its mark */
	r->dw_on = true;
}

static void listener_closed(struct proxy_listener *pl)
{
	(void)pl;
}

static void finish(struct run *r)
{
	uv_poll_stop(&r->status_watch);
	uv_close((uv_handle_t *)&r->status_watch, close_cb);
	uv_close((uv_handle_t *)&r->exit_watch, close_cb);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		uv_close((uv_handle_t *)&r->sigs[i], close_cb);
	uv_close((uv_handle_t *)&r->sigchld, close_cb);
	if (r->dw_on)
		denials_watch_close(&r->dw, close_cb);
	if (r->pl_open)
		proxy_listener_close(&r->pl, listener_closed);
	proxy_session_free(&r->px, r->session);
	r->session = NULL;
	proxy_close(&r->px, NULL);
}

/* The helper's words: the proxy listener of the new netns, or why it failed. */
static void status_cb(uv_poll_t *w, int status, int events)
{
	struct run *r = w->data;
	char why[256];
	int fd, rc;

	for (;;) {
		rc = netns_read_report(r->status_fd, &fd, r->helper_msg, sizeof(r->helper_msg),
				       &r->helper_len);
		if (rc == -EAGAIN || rc == -EINTR)
			return;
		if (rc != NETNS_RECV_FD) {
			uv_poll_stop(w);
			return;
		}
		if (r->pl_open) {
			close(fd);
			continue;
		}
		if (proxy_listener_open(&r->pl, &r->px, fd, r->session, why, sizeof(why)) < 0)
			say("proxy listener: %s", why);
		r->pl_open = true; /* open or not, it is released with proxy_listener_close */
	}
}

static void caught_up(void *arg, bool in_time)
{
	struct run *r = arg;

	if (!in_time)
		snprintf(r->dw_why, sizeof(r->dw_why), "the audit stream did not catch up");
	finish(r);
}

static void exit_cb(uv_poll_t *w, int status, int events)
{
	struct run *r = w->data;

	if (spawn_reap(r->pidfd, &r->code, &r->sig) == 0)
		return;
	r->exited = true;
	status_cb(&r->status_watch, 0, 0); /* a failure text may still wait */
	uv_poll_stop(&r->exit_watch);
	/*
	 * Audit records queue in order: once our mark comes back, every refusal the command
	 * met has been read. Then we finish.
	 */
	if (r->dw_on && denials_watch_mark(&r->dw, caught_up, r) == 0)
		return;
	finish(r);
}

static void signal_cb(uv_signal_t *h, int sig)
{
	struct run *r = h->data;

	if (!r->exited)
		spawn_signal(r->pidfd, sig);
}

/*
 * ^Z stopped the command: do what a shell's job does (as sudo and script do): take the
 * terminal back, stop ourselves with the same signal so the shell sees the job stop, and
 * once continued hand the terminal back and continue the command's group.
 */
static void sigchld_cb(uv_signal_t *h, int sig)
{
	struct run *r = h->data;
	siginfo_t si = {0};
	sigset_t ttou, old;
	bool fg;

	if (r->exited || waitid(P_PID, (id_t)r->pid, &si, WSTOPPED | WNOHANG) < 0 ||
	    si.si_pid != r->pid || si.si_code != CLD_STOPPED)
		return;
	fg = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == r->pid;
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	if (fg)
		(void)tcsetpgrp(STDIN_FILENO, getpgrp());
	kill(getpid(), SIGSTOP); /* returns when the shell continues us */
	if (fg)
		(void)tcsetpgrp(STDIN_FILENO, r->pid);
	sigprocmask(SIG_SETMASK, &old, NULL);
	kill(-r->pid, SIGCONT);
}

/* The command's environment: the safe base, the terminal's type, the session's variables. */
static char **command_env(struct run *r, char ***session_env, char ***base)
{
	static const char *const term[] = {"TERM", "COLORTERM", "NO_COLOR"};
	char **own = NULL;
	size_t n = 0;

	*base = env_base();
	*session_env = NULL;
	if (r->session && routes_child_env(r->creds.route_ptrs, r->creds.n, &r->session->token,
					   NETNS_PROXY_PORT, session_env) < 0)
		return NULL;
	/* The terminal's type, then --env (which may replace it). */
	while (r->sc.env && r->sc.env[n])
		n++;
	own = calloc(ARRAY_SIZE(term) + n + 1, sizeof(*own));
	n = 0;
	for (size_t i = 0; own && i < ARRAY_SIZE(term); i++)
		if ((own[n] = env_entry(term[i], NULL)))
			n++;
	for (size_t i = 0; own && r->sc.env && r->sc.env[i]; i++)
		own[n++] = r->sc.env[i];
	free(r->sc.env);
	r->sc.env = own;
	return env_build(*base, &r->policy, own, *session_env);
}

static void strv_free_all(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Send the plan to the helper; the socket's buffer takes it whole. */
static int send_plan(struct run *r, int fd, const char *cwd, char *err, size_t errlen)
{
	struct exec_plan plan = {
	    .policy = &r->policy,
	    .name = r->sc.name,
	    .argv = r->sc.argv,
	    .cwd = cwd,
	    .user = r->sc.user,
	    .ppid = getpid(),
	    .foreground = true,
	};
	char **session_env, **base, **env, *json = NULL;
	ssize_t n;
	int rc;

	env = command_env(r, &session_env, &base);
	if (!env) {
		routes_env_free(session_env);
		strv_free_all(base);
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	}
	plan.env = env;
	rc = exec_plan_encode(&plan, &json);
	free(env);
	routes_env_free(session_env); /* wipes the token's copies */
	strv_free_all(base);
	if (rc < 0)
		return snprintf(err, errlen, "out of memory"), rc;
	n = send(fd, json, strlen(json), MSG_DONTWAIT | MSG_NOSIGNAL);
	rc = n == (ssize_t)strlen(json) ? 0 : -E2BIG;
	if (rc < 0)
		snprintf(err, errlen, "the exec plan (%zu bytes) is too large", strlen(json));
	explicit_bzero(json, strlen(json));
	free(json);
	shutdown(fd, SHUT_WR);
	return rc;
}

static int start(struct run *r, const char *cwd, char *err, size_t errlen)
{
	char helper[PATH_MAX], *args[] = {"nono-exec", NULL}, *no_env[] = {NULL};
	struct spawn_req req = {.path = helper, .argv = args, .envp = no_env, .cgroup_fd = -1};
	int fds[2], rc;

	rc = exec_helper_path(helper, sizeof(helper));
	if (rc < 0)
		return snprintf(err, errlen, "exec helper '%s': %s", helper, strerror(-rc)), rc;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return snprintf(err, errlen, "socketpair: %s", strerror(errno)), -errno;
	req.stdio[0] = STDIN_FILENO;
	req.stdio[1] = STDOUT_FILENO;
	req.stdio[2] = STDERR_FILENO;
	req.stdio[3] = fds[1];
	rc = spawn_start(&req, &r->pid, &r->pidfd);
	close(fds[1]);
	if (rc < 0) {
		close(fds[0]);
		return snprintf(err, errlen, "cannot start the exec helper: %s", strerror(-rc)), rc;
	}
	r->status_fd = fds[0];
	rc = send_plan(r, fds[0], cwd, err, errlen);
	fcntl(r->status_fd, F_SETFL, O_NONBLOCK);
	uv_poll_init(r->loop, &r->status_watch, r->status_fd);
	uv_poll_init(r->loop, &r->exit_watch, r->pidfd);
	r->status_watch.data = r->exit_watch.data = r;
	uv_poll_start(&r->status_watch, UV_READABLE | UV_DISCONNECT, status_cb);
	uv_poll_start(&r->exit_watch, UV_READABLE, exit_cb);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++) {
		uv_signal_init(r->loop, &r->sigs[i]);
		r->sigs[i].data = r;
		uv_signal_start(&r->sigs[i], signal_cb, forwarded[i]);
	}
	uv_signal_init(r->loop, &r->sigchld);
	r->sigchld.data = r;
	uv_signal_start(&r->sigchld, sigchld_cb, SIGCHLD);
	/* A plan that did not go makes the helper fail, and say why: exit_code() reports it. */
	if (rc < 0)
		say("%s", err);
	return 0;
}

/* Give the terminal back to our process group once the command's is gone. */
static void take_back_terminal(void)
{
	sigset_t ttou, old;

	if (!isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) == getpgrp())
		return;
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	(void)tcsetpgrp(STDIN_FILENO, getpgrp());
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* What the command was refused, and what would allow it (nothing is loosened by itself). */
static void footer(struct run *r, int rc)
{
	const struct denials_tally *t = &r->refusals;
	unsigned long shown = 0;

	if (t->total) {
		say("Landlock refused %lu access%s (as the kernel reported them):", t->total,
		    t->total == 1 ? "" : "es");
		for (unsigned i = 0; i < t->n; i++) {
			shown += t->kinds[i].count;
			if (t->kinds[i].count > 1)
				fprintf(stderr, "  %ux %s\n", t->kinds[i].count, t->kinds[i].line);
			else
				fprintf(stderr, "  %s\n", t->kinds[i].line);
		}
		if (t->total > shown)
			fprintf(stderr, "  ... and %lu more\n", t->total - shown);
	}
	if (r->ndenials) {
		say("the sandbox refused %u network request%s:", r->ndenials + r->more_denials,
		    r->ndenials + r->more_denials == 1 ? "" : "s");
		for (unsigned i = 0; i < r->ndenials; i++)
			fprintf(stderr, "  %s\n", r->denials[i]);
		if (r->more_denials)
			fprintf(stderr, "  ... and %u more\n", r->more_denials);
	}
	if (r->dw.lost)
		say("%lu audit record%s were lost (the kernel's queue was full)", r->dw.lost,
		    r->dw.lost == 1 ? "" : "s");
	/* 126 and up: a shell's signal codes. Refusals read from audit need no guess. */
	if (!r->ran || r->sig || rc <= 0 || rc >= 126 || t->total)
		return;
	if (r->dw_on && !r->dw_why[0]) {
		if (!r->ndenials)
			say("'%s' exited with %d; the sandbox refused it nothing", r->sc.argv[0],
			    rc);
	} else {
		say("'%s' exited with %d. If a file was refused (EACCES, EPERM), grant it with "
		    "--read PATH or --allow PATH (--allow-cwd for this directory); a host, with "
		    "--allow-domain HOST. --dry-run shows the policy. "
		    "(Refusals are not named: %s.)",
		    r->sc.argv[0], rc, r->dw_why);
	}
}

static int exit_code(struct run *r)
{
	r->ran = !(r->helper_msg[0] && r->sig == 0 && r->code == EXEC_FAILED);
	if (!r->ran) {
		say("%s", r->helper_msg);
		if (strstr(r->helper_msg, EXEC_MSG_NOT_FOUND))
			return RUN_EXIT_NOTFOUND;
		if (strncmp(r->helper_msg, EXEC_MSG_CANNOT, strlen(EXEC_MSG_CANNOT)) == 0)
			return RUN_EXIT_NOEXEC;
		return RUN_EXIT_SANDBOX;
	}
	return r->sig ? 128 + r->sig : r->code;
}

static void verbose(struct run *r)
{
	say("profile %s, workdir %s", r->policy.profile ? r->policy.profile : "default",
	    r->policy.workdir ? r->policy.workdir : "?");
	if (r->policy.net == POLICY_NET_BLOCKED) {
		say("network: none");
	} else {
		size_t n = 0;

		while (r->policy.allow_hosts && r->policy.allow_hosts[n])
			n++;
		say("network: %s; the proxy on 127.0.0.1:%d lets through %zu host%s%s%s",
		    r->px.shared ? "NO namespace here, the Landlock port rule only (weaker)"
				 : "a private namespace",
		    NETNS_PROXY_PORT, n, n == 1 ? "" : "s",
		    r->policy.network_profile ? " of network profile " : "",
		    r->policy.network_profile ? r->policy.network_profile : "");
	}
	for (size_t i = 0; i < r->creds.n; i++)
		say("credential %s: phantom token in %s, base URL in %s", r->creds.routes[i].name,
		    r->creds.routes[i].env, r->creds.routes[i].base_url_env);
}

/* Load the keys (blocking: nothing else runs yet). */
static int load_creds(struct run *r, char *err, size_t errlen)
{
	char data_dir[PATH_MAX], helper[PATH_MAX], *slash;

	if (!r->sc.credentials)
		return 0;
	sandbox_data_dir(data_dir, sizeof(data_dir));
	exec_helper_path(helper, sizeof(helper));
	slash = strrchr(helper, '/');
	if (slash) /* nono-keyring sits next to nono-exec */
		snprintf(slash + 1, sizeof(helper) - (size_t)(slash + 1 - helper), "nono-keyring");
	return credstore_load(&r->creds, &r->sc, data_dir, helper, err, errlen);
}

/*
 * Compile the policy; the profile's own network.credentials join --proxy-credential (from
 * the keyring unless --credential-source says otherwise), and no key file may be readable
 * in the sandbox.
 */
static int prepare(struct run *r, const char *cwd, char *err, size_t errlen)
{
	bool more = false;
	size_t n_flags = 0;
	int rc = sandbox_compile(&r->sc, cwd, &r->policy, err, errlen);

	while (r->opts.credentials && r->opts.credentials[n_flags])
		n_flags++;
	for (size_t i = 0; rc == 0 && r->policy.credentials && r->policy.credentials[i]; i++) {
		const char *name = r->policy.credentials[i];
		bool have = false;

		for (size_t k = 0; r->opts.credentials && r->opts.credentials[k]; k++)
			have = have || strcmp(r->opts.credentials[k], name) == 0;
		if (!have) {
			rc = config_strv_add(&r->opts.credentials, strdup(name));
			more = true;
		}
	}
	if (rc == 0 && more) {
		config_service_release(&r->sc);
		rc = run_service_config(&r->opts, cwd, &r->sc, err, errlen);
	}
	/* The profile's are wishes: without their key the command runs without them. */
	for (size_t i = 0; rc == 0 && r->sc.credentials && r->sc.credentials[i]; i++)
		r->sc.credential_defs[i].optional = i >= n_flags;
	if (rc == 0)
		rc = sandbox_check_keys(&r->sc, &r->policy, err, errlen);
	return rc;
}

/* --dry-run: the policy, and the credentials with their routes (checked, no key read). */
static int dry_run(struct run *r, const char *cwd)
{
	char data_dir[PATH_MAX], err[1024];
	struct buf text = {0};
	int rc = sandbox_explain(&r->sc, cwd, -1, &text, err, sizeof(err));

	if (rc == 0 && fwrite(text.data, 1, text.len, stdout) != text.len)
		rc = -EIO;
	buf_free(&text);
	if (rc < 0)
		return say("sandbox: %s", err), RUN_EXIT_SANDBOX;
	sandbox_data_dir(data_dir, sizeof(data_dir));
	rc = credstore_load(&r->creds, &r->sc, data_dir, NULL, err, sizeof(err));
	if (rc < 0)
		return say("%s", err), RUN_EXIT_SANDBOX;
	for (size_t i = 0; i < r->creds.n; i++)
		printf("proxy credential %s: key from %s, phantom in %s, %s=http://127.0.0.1:%d/%s%s "
		       "-> %s\n",
		       r->creds.routes[i].name, r->sc.credential_defs[i].source,
		       r->creds.routes[i].env, r->creds.routes[i].base_url_env, NETNS_PROXY_PORT,
		       r->creds.routes[i].name, r->creds.routes[i].base_path,
		       r->creds.routes[i].upstream);
	credstore_free(&r->creds);
	return 0;
}

int run_main(int argc, char **argv)
{
	static struct run r;
	char cwd[PATH_MAX], err[8192];
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (!getcwd(cwd, sizeof(cwd)))
		return say("cannot tell the current directory: %s", strerror(errno)), RUN_EXIT_SANDBOX;
	rc = run_args_parse(argc, argv, cwd, false, &r.opts, err, sizeof(err));
	if (rc != 0) {
		fprintf(rc > 0 ? stdout : stderr, "%s%s%s", rc > 0 ? "" : "nono-supervise run: ", err,
			err[0] && err[strlen(err) - 1] == '\n' ? "" : "\n");
		return rc > 0 ? 0 : RUN_EXIT_USAGE;
	}
	if (run_service_config(&r.opts, cwd, &r.sc, err, sizeof(err)) < 0)
		return say("run: %s", err), RUN_EXIT_USAGE;
	if (geteuid() == 0 && !r.sc.user)
		return say("as root, run needs --user NAME (an unprivileged account): agents never "
			   "run as root"),
		       RUN_EXIT_SANDBOX;
	rc = prepare(&r, cwd, err, sizeof(err));
	if (rc < 0)
		return say("%s", err), RUN_EXIT_SANDBOX;
	if (r.opts.dry_run)
		return dry_run(&r, cwd);
	for (size_t i = 0; r.policy.warnings && r.policy.warnings[i]; i++)
		if (r.opts.verbose || strncmp(r.policy.warnings[i], "group '", 7) != 0)
			say("%s", r.policy.warnings[i]); /* a built-in group's absent paths: noise */
	rc = load_creds(&r, err, sizeof(err));
	if (rc < 0)
		return say("%s", err), RUN_EXIT_SANDBOX;
	if (r.creds.skipped[0])
		say("%s", r.creds.skipped);
	r.loop = uv_default_loop();
	proxy_init(&r.px, r.loop, NULL);
	r.px.observe = observe;
	r.px.always_session = true; /* a CONNECT to anywhere gets its 403, and the footer says why */
	r.px.data = &r;
	rc = proxy_session_new(&r.px, &r.session, r.sc.name, r.creds.creds, r.creds.n, &r.policy,
			       NULL, err, sizeof(err));
	/* No namespace to put a listener in: one on our 127.0.0.1, told the token, as the
	 * daemon does (the command is then confined by the Landlock port rule only). */
	if (rc == 0 && r.policy.net == POLICY_NET_PROXY && !netns_available() &&
	    proxy_shared_open(&r.px, NETNS_PROXY_PORT, err, sizeof(err)) < 0)
		say("no network namespace here and %s: the command gets no proxy", err);
	if (rc == 0 && r.opts.verbose)
		verbose(&r);
	if (rc == 0)
		watch_refusals(&r);
	if (rc == 0)
		rc = start(&r, cwd, err, sizeof(err));
	if (rc < 0) {
		say("%s", err);
		if (r.dw_on)
			denials_watch_close(&r.dw, close_cb);
		proxy_session_free(&r.px, r.session);
		proxy_close(&r.px, NULL);
		uv_run(r.loop, UV_RUN_DEFAULT);
		credstore_free(&r.creds);
		return RUN_EXIT_SANDBOX;
	}
	uv_run(r.loop, UV_RUN_DEFAULT);
	take_back_terminal();
	close(r.status_fd);
	close(r.pidfd);
	rc = exit_code(&r);
	footer(&r, rc);
	credstore_free(&r.creds);
	policy_free(&r.policy);
	config_service_release(&r.sc);
	run_opts_free(&r.opts);
	uv_loop_close(r.loop);
	return rc;
}
