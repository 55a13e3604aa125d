/* exec: the exec helper (nono-exec): sets a service up between fork and execve, and its plan. */
#include "exec.h"

#include "policy.h"
#include "sandbox.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static cJSON *strv_to_json(char *const *v)
{
	cJSON *a = cJSON_CreateArray();

	for (; a && v && *v; v++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*v));
	return a;
}

int exec_helper_path(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			snprintf(out, len, "%.*s/nono-exec", (int)(slash - self), self);
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	snprintf(out, len, "%s/nono-exec", NONO_LIBEXECDIR);
	return access(out, X_OK) == 0 ? 0 : -errno;
}

int exec_plan_encode(const struct exec_plan *plan, char **out)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return -ENOMEM;
	cJSON_AddStringToObject(o, "name", plan->name);
	cJSON_AddItemToObject(o, "argv", strv_to_json(plan->argv));
	cJSON_AddItemToObject(o, "env", strv_to_json(plan->env));
	if (plan->cwd)
		cJSON_AddStringToObject(o, "cwd", plan->cwd);
	if (plan->user)
		cJSON_AddStringToObject(o, "user", plan->user);
	if (plan->cgroup)
		cJSON_AddStringToObject(o, "cgroup", plan->cgroup);
	if (plan->policy && !plan->policy->sandbox_off) {
		cJSON *pj = NULL;

		if (policy_to_json(plan->policy, &pj) < 0) {
			cJSON_Delete(o);
			return -ENOMEM;
		}
		cJSON_AddItemToObject(o, "policy", pj);
	}
	cJSON_AddNumberToObject(o, "ppid", plan->ppid);
	if (plan->nofile)
		cJSON_AddNumberToObject(o, "nofile", (double)plan->nofile);
	if (plan->foreground)
		cJSON_AddBoolToObject(o, "foreground", true);
	*out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return *out ? 0 : -ENOMEM;
}

/* ---- helper side: runs in the child, between fork and the service's execve ---- */

static const char *service_name = "?";

_Noreturn static void fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (write(EXEC_FD, msg, strlen(msg)) < 0)
		fprintf(stderr, "service '%s': %s\n", service_name, msg);
	_exit(EXEC_FAILED);
}

static char *read_plan(void)
{
	size_t len = 0, cap = 4096;
	char *p = malloc(cap);

	while (p) {
		ssize_t n;

		if (len + 1 == cap) {
			if (cap >= EXEC_PLAN_MAX)
				fail("plan larger than %d bytes", EXEC_PLAN_MAX);
			cap *= 2;
			p = realloc(p, cap);
			if (!p)
				break;
		}
		n = read(EXEC_FD, p + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("reading the plan: %s", strerror(errno));
		if (n == 0) {
			p[len] = '\0';
			return p;
		}
		len += (size_t)n;
	}
	fail("out of memory");
}

static char **json_strv(const cJSON *a)
{
	int n = cJSON_GetArraySize(a);
	char **v = calloc((size_t)n + 1, sizeof(*v));
	int i = 0;
	const cJSON *e;

	if (!v)
		fail("out of memory");
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e))
			fail("bad plan: non-string in list");
		v[i++] = e->valuestring;
	}
	return v;
}

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(e) ? e->valuestring : NULL;
}

static void reset_signals(void)
{
	sigset_t all;

	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static void join_cgroup(const char *cgroup)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		fail("cannot join cgroup %s: %s", cgroup, strerror(errno));
	close(fd);
}

/* Add NAME=value to env unless the plan already set NAME. */
static char **env_default(char **env, const char *name, const char *value)
{
	size_t n = 0, len = strlen(name);
	char *entry;

	for (; env[n]; n++)
		if (strncmp(env[n], name, len) == 0 && env[n][len] == '=')
			return env;
	env = realloc(env, (n + 2) * sizeof(*env));
	entry = malloc(len + strlen(value) + 2);
	if (!env || !entry)
		fail("out of memory");
	memcpy(entry, name, len);
	entry[len] = '=';
	memcpy(entry + len + 1, value, strlen(value) + 1);
	env[n] = entry;
	env[n + 1] = NULL;
	return env;
}

/* The passwd entry of the service's user (ours when none is named). */
static struct passwd *lookup_user(const char *user)
{
	struct passwd *pw = user ? getpwnam(user) : getpwuid(getuid());

	if (!pw && user)
		fail("unknown user '%s'", user);
	if (user && getuid() != 0 && pw->pw_uid != getuid())
		fail("user '%s' needs the supervisor to run as root", user);
	return pw;
}

static char **user_env(const struct passwd *pw, char **env)
{
	if (pw) {
		env = env_default(env, "HOME", pw->pw_dir);
		env = env_default(env, "USER", pw->pw_name);
		env = env_default(env, "LOGNAME", pw->pw_name);
	}
	return env;
}

/* sandbox = off: only the switch of user, as a classic supervisor does it. */
static void become_user(const struct passwd *pw, const char *user)
{
	if (user && getuid() == 0) {
		if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
		    setuid(pw->pw_uid) < 0)
			fail("cannot switch to user '%s': %s", user, strerror(errno));
	}
}

static void sandbox(const cJSON *pj, const char *user)
{
	struct sandbox_report rep;
	struct policy policy;
	char err[1024];

	if (policy_from_json(pj, &policy, err, sizeof(err)) < 0)
		fail("bad sandbox plan: %s", err);
	if (sandbox_apply(&policy, user, EXEC_FD, &rep, err, sizeof(err)) < 0)
		fail("profile '%s': %s", policy.profile ? policy.profile : "?", err);
	policy_free(&policy);
}

static const char *env_get(char *const *env, const char *name)
{
	size_t len = strlen(name);

	for (; *env; env++)
		if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
			return *env + len + 1;
	return NULL;
}

/* execve, searching the service's PATH (not ours) for a bare command name. */
_Noreturn static void exec_command(char **argv, char **env)
{
	const char *path = env_get(env, "PATH");
	char full[PATH_MAX];
	int err = ENOENT;

	if (!argv[0])
		fail("empty command");
	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, env);
		if (errno == ENOENT)
			fail("'%s'" EXEC_MSG_NOT_FOUND, argv[0]);
		fail(EXEC_MSG_CANNOT "%s': %s", argv[0], strerror(errno));
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t dlen = strcspn(path, ":");

		snprintf(full, sizeof(full), "%.*s/%s", (int)dlen, dlen ? path : ".", argv[0]);
		execve(full, argv, env);
		/* EACCES on a file we cannot even see is a PATH directory the sandbox hides. */
		if (errno != ENOENT && errno != ENOTDIR &&
		    (errno != EACCES || access(full, F_OK) == 0))
			err = errno;
		path += dlen;
		if (*path == ':')
			path++;
	}
	if (err == ENOENT)
		fail("command '%s'" EXEC_MSG_NOT_FOUND " in PATH", argv[0]);
	fail(EXEC_MSG_CANNOT "%s': %s", argv[0], strerror(err));
}

/* The supervisor raised its own soft limit for the proxy's sockets; the service gets the old. */
static void restore_nofile(const cJSON *n)
{
	struct rlimit rl;

	if (!cJSON_IsNumber(n) || n->valuedouble < 1 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur = (rlim_t)n->valuedouble < rl.rlim_max ? (rlim_t)n->valuedouble : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * `run`: a process group of our own that becomes the terminal's foreground group, as a
 * shell does for a job, so the terminal's ^C and ^Z reach the command and nothing else.
 * SIGTTOU is blocked here (spawn blocks every signal), so tcsetpgrp() does not stop us.
 */
static void take_terminal(void)
{
	if (setpgid(0, 0) < 0)
		fail("setpgid: %s", strerror(errno));
	if (isatty(STDIN_FILENO))
		(void)tcsetpgrp(STDIN_FILENO, getpgrp()); /* another session's tty: leave it */
}

_Noreturn void exec_helper_main(void)
{
	char *text = read_plan();
	cJSON *plan = cJSON_Parse(text);
	const cJSON *ppid, *pj;
	const char *cwd, *cgroup, *user;
	struct passwd *pw;
	char **argv, **env;

	if (!plan)
		fail("bad plan");
	service_name = json_str(plan, "name") ? json_str(plan, "name") : "?";
	ppid = cJSON_GetObjectItemCaseSensitive(plan, "ppid");

	/* Die with the supervisor; if it is already gone, so are we. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (!cJSON_IsNumber(ppid) || getppid() != (pid_t)ppid->valuedouble)
		_exit(EXEC_FAILED);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(plan, "foreground")))
		take_terminal();
	else if (setsid() < 0)
		fail("setsid: %s", strerror(errno));
	reset_signals();
	/* Nothing of ours leaks into the service: every fd but 0-2 closes on exec. */
	if (close_range(EXEC_FD, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		fail("close_range: %s", strerror(errno));

	cgroup = json_str(plan, "cgroup");
	if (cgroup)
		join_cgroup(cgroup);
	argv = json_strv(cJSON_GetObjectItemCaseSensitive(plan, "argv"));
	env = json_strv(cJSON_GetObjectItemCaseSensitive(plan, "env"));
	/* user= means something only to a supervisor running as root. */
	user = getuid() == 0 ? json_str(plan, "user") : NULL;
	pw = lookup_user(user);
	env = user_env(pw, env);
	pj = cJSON_GetObjectItemCaseSensitive(plan, "policy");
	if (pj) {
		sandbox(pj, user);
		umask(077);	/* what a sandboxed agent creates is its own */
	} else {
		become_user(pw, user);
	}
	/* A change of credentials clears the parent-death signal: set it again. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != (pid_t)ppid->valuedouble)
		_exit(EXEC_FAILED);

	restore_nofile(cJSON_GetObjectItemCaseSensitive(plan, "nofile"));
	cwd = json_str(plan, "cwd");
	if (cwd && chdir(cwd) < 0)
		fail("cannot change to directory '%s': %s", cwd, strerror(errno));
	exec_command(argv, env);
}
