/* nonoctl_run: `nonoctl run`: a command as a transient service of the running supervisor, with
 * this terminal (0-2 passed with SCM_RIGHTS), our signals passed on and its exit status ours;
 * --detach leaves it to the fleet. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "control.h"
#include "nonoctl.h"
#include "run_args.h"
#include "util.h"

/* What a terminal sends a foreground job, as `nono-supervise run` passes them on. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGUSR1, SIGUSR2 };

static int sig_pipe[2] = { -1, -1 };

static const char usage_head[] =
	"usage: nonoctl run [--name NAME] [--detach] [FLAGS] -- COMMAND [ARGS...]\n"
	"  the command as a transient service of the running supervisor, with this terminal;\n"
	"  its exit status is ours (128+N for a signal, 125 when it could not start)\n"
	"      --name NAME           the service's name (default: run-1, run-2...)\n"
	"      --detach              leave it running in the background (output to its log);\n"
	"                            print its name\n";

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("nonoctl run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	(void)!write(sig_pipe[1], &b, 1);
	errno = saved;
}

static int catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &sa, NULL);
	return 0;
}

/* The terminal's type goes with the command, before --env (which may replace it). */
static int add_terminal_env(struct run_opts *o)
{
	static const char *const term[] = { "TERM", "COLORTERM", "NO_COLOR" };
	char **env = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(term); i++) {
		const char *v = getenv(term[i]);
		size_t len = v ? strlen(term[i]) + strlen(v) + 2 : 0;
		char *e = v ? malloc(len) : NULL;

		if (!v)
			continue;
		if (e)
			snprintf(e, len, "%s=%s", term[i], v);
		if (config_strv_add(&env, e) < 0)
			goto fail;
	}
	for (size_t i = 0; o->env && o->env[i]; i++)
		if (config_strv_add(&env, strdup(o->env[i])) < 0)
			goto fail;
	config_strv_free(o->env);
	o->env = env;
	return 0;
fail:
	config_strv_free(env);
	return -ENOMEM;
}

/* {"cmd":"run","cwd":..,"opts":{..}}, with its newline. */
static char *request_line(const struct run_opts *o, const char *cwd)
{
	char *opts = run_opts_to_json(o), *text = NULL, *line = NULL;
	cJSON *req = cJSON_CreateObject(), *oj = opts ? cJSON_Parse(opts) : NULL;

	free(opts);
	if (req && oj && cJSON_AddStringToObject(req, "cmd", "run") &&
	    cJSON_AddStringToObject(req, "cwd", cwd) && cJSON_AddItemToObject(req, "opts", oj) &&
	    (!o->dry_run || cJSON_AddTrueToObject(req, "dry_run"))) {
		oj = NULL;
		text = cJSON_PrintUnformatted(req);
	}
	cJSON_Delete(oj);
	cJSON_Delete(req);
	if (text && (line = malloc(strlen(text) + 2)))
		snprintf(line, strlen(text) + 2, "%s\n", text);
	free(text);
	return line;
}

/* The request, with our 0-2 on its first byte (a closed one goes as /dev/null). */
static int send_request(int sock, const char *line, bool terminal)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)line, .iov_len = strlen(line) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[3], null = -1, r = 0;
	size_t sent = 0;
	ssize_t n;

	for (int i = 0; i < 3; i++) {
		fds[i] = i;
		if (fcntl(i, F_GETFD) < 0) {
			if (null < 0)
				null = open("/dev/null", O_RDWR | O_CLOEXEC);
			fds[i] = null;
		}
	}
	if (terminal) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	}
	while (sent < strlen(line)) {
		n = sent ? send(sock, line + sent, strlen(line) - sent, 0) : sendmsg(sock, &msg, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		sent += (size_t)n;
	}
	if (null >= 0)
		close(null);
	return r;
}

static int send_signal(int sock, int sig)
{
	char line[64];

	snprintf(line, sizeof(line), "{\"cmd\":\"signal\",\"signal\":\"%d\"}\n", sig);
	return send(sock, line, strlen(line), MSG_NOSIGNAL) < 0 ? -errno : 0;
}

struct session {
	const struct run_opts *o;
	int sock;
	bool accepted;
	char name[CONFIG_NAME_MAX + 1];
	unsigned long pending;	/* signals caught before the run was accepted (a bit each) */
};

static int status_of(const cJSON *reply)
{
	const cJSON *st = cJSON_GetObjectItem(reply, "status");

	return cJSON_IsNumber(st) && st->valueint >= 0 && st->valueint < 256 ? st->valueint :
									       RUN_EXIT_SANDBOX;
}

/* What Landlock refused the command (the daemon read kernel audit), as `nono-supervise run`
 * says it: each kind with the flag that would allow it. */
static void refusals(const struct session *se, const cJSON *reply)
{
	double n = json_num(reply, "refused"), shown = 0;
	const cJSON *r;

	if (n <= 0)
		return;
	say("Landlock refused '%s' %.0f access%s (as the kernel reported them):", se->name, n,
	    n == 1 ? "" : "es");
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(reply, "refusals")) {
		double count = json_num(r, "count");
		const char *what = json_str(r, "what");

		if (!what || count < 1)
			continue;
		shown += count;
		if (count > 1)
			fprintf(stderr, "  %.0fx %s\n", count, what);
		else
			fprintf(stderr, "  %s\n", what);
	}
	if (n > shown)
		fprintf(stderr, "  ... and %.0f more ('nonoctl logs %s' names them)\n", n - shown,
			se->name);
}

/* One line from the daemon: -1 to go on, else the exit status. */
static int handle_line(struct session *se, const char *line)
{
	cJSON *reply = cJSON_Parse(line);
	const char *event = json_str(reply, "event"), *err = json_str(reply, "error");
	bool ok = cJSON_IsTrue(cJSON_GetObjectItem(reply, "ok"));
	int ret = -1;

	if (!cJSON_IsObject(reply)) {
		bad_reply();
		ret = RUN_EXIT_SANDBOX;
	} else if (!se->accepted) {	/* the answer to "run" */
		if (!ok) {
			say("%s", err ? err : "refused");
			ret = status_of(reply);
		} else if (json_str(reply, "text")) {
			fputs(json_str(reply, "text"), stdout);
			ret = 0;
		} else {
			se->accepted = true;
			snprintf(se->name, sizeof(se->name), "%s",
				 json_str(reply, "name") ? json_str(reply, "name") : "?");
		}
	} else if (event && !strcmp(event, "started")) {
		if (se->o->verbose)
			say("'%s' started, pid %.0f", se->name, json_num(reply, "pid"));
		if (se->o->detach) {
			printf("%s\n", se->name);
			ret = 0;
		}
	} else if (event && !strcmp(event, "failed")) {
		say("'%s' did not start: %s", se->name, err ? err : "?");
		ret = status_of(reply);
	} else if (event && !strcmp(event, "exit")) {
		ret = status_of(reply);
		if (se->o->verbose && json_str(reply, "signal"))
			say("'%s' killed by %s", se->name, json_str(reply, "signal"));
		else if (se->o->verbose)
			say("'%s' exited with code %d", se->name, ret);
		refusals(se, reply);
	} else if (!ok && se->o->verbose) {	/* a signal it could not take */
		say("%s", err ? err : "?");
	}
	cJSON_Delete(reply);
	return ret;
}

/* Pass on what was caught: before the run is accepted it has no process to take it. */
static void forward_signals(struct session *se)
{
	unsigned char b[32];
	ssize_t n;

	while ((n = read(sig_pipe[0], b, sizeof(b))) > 0)
		for (ssize_t i = 0; i < n; i++)
			se->pending |= 1UL << (b[i] % (sizeof(se->pending) * 8));
	for (int sig = 1; se->accepted && se->pending && sig < (int)sizeof(se->pending) * 8; sig++) {
		if (!(se->pending & (1UL << sig)))
			continue;
		se->pending &= ~(1UL << sig);
		if (se->o->verbose)
			say("passing %s on to '%s'", config_signal_name(sig), se->name);
		send_signal(se->sock, sig);
	}
}

/* Read the daemon's lines until one decides our exit status. */
static int converse(struct session *se)
{
	struct pollfd pfd[2] = { { .fd = se->sock, .events = POLLIN },
				 { .fd = sig_pipe[0], .events = POLLIN } };
	struct buf in = { 0 };
	char chunk[4096];
	int ret = -1;

	while (ret < 0) {
		char *nl = in.len ? memchr(in.data, '\n', in.len) : NULL;
		ssize_t n;

		if (nl) {
			*nl = '\0';
			ret = handle_line(se, in.data);
			memmove(in.data, nl + 1, in.len - (size_t)(nl + 1 - in.data));
			in.len -= (size_t)(nl + 1 - in.data);
			forward_signals(se);
			continue;
		}
		if (poll(pfd, sig_pipe[0] >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			say("poll: %s", strerror(errno));
			ret = RUN_EXIT_SANDBOX;
			break;
		}
		if (sig_pipe[0] >= 0 && (pfd[1].revents & POLLIN))
			forward_signals(se);
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(se->sock, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			say("reading from the supervisor: %s", strerror(errno));
			ret = RUN_EXIT_SANDBOX;
		} else if (n == 0 && se->accepted) {
			say("the supervisor closed the connection before '%s' ended", se->name);
			ret = RUN_EXIT_SANDBOX;
		} else if (n == 0) {
			say("the supervisor closed the connection without an answer");
			ret = RUN_EXIT_SANDBOX;
		} else if (in.len + (size_t)n > CONTROL_REPLY_MAX ||
			   buf_append(&in, chunk, (size_t)n) < 0) {
			say("a reply longer than %d bytes", CONTROL_REPLY_MAX);
			ret = RUN_EXIT_SANDBOX;
		}
	}
	buf_free(&in);
	return ret;
}

int nonoctl_run(int argc, char **argv)
{
	struct run_opts o;
	struct session se = { .o = &o, .sock = -1 };
	char cwd[PATH_MAX], err[4096], *line = NULL;
	int r, ret = RUN_EXIT_SANDBOX;

	if (!getcwd(cwd, sizeof(cwd)))
		return say("cannot tell the current directory: %s", strerror(errno)), RUN_EXIT_SANDBOX;
	r = run_args_parse(argc, argv, cwd, true, &o, err, sizeof(err));
	if (r > 0) {
		printf("%s%s", usage_head, strchr(err, '\n') ? strchr(err, '\n') + 1 : "");
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "nonoctl run: %s%s", err, err[0] && err[strlen(err) - 1] == '\n' ? "" : "\n");
		return RUN_EXIT_USAGE;
	}
	if (!o.detach && !o.dry_run && add_terminal_env(&o) < 0) {
		say("out of memory");
		goto free_opts;
	}
	line = request_line(&o, cwd);
	if (!line) {
		say("out of memory");
		goto free_opts;
	}
	if (strlen(line) + 1 > CONTROL_LINE_MAX) {
		say("the request is too long (limit %d bytes)", CONTROL_LINE_MAX);
		goto free_opts;
	}
	se.sock = nonoctl_connect();
	if (se.sock < 0)
		goto free_opts;
	/* Caught from now on: a signal before the run has a process is passed on once it has. */
	if (!o.detach && !o.dry_run && catch_signals() < 0) {
		say("signal pipe: %s", strerror(errno));
		goto close_sock;
	}
	r = send_request(se.sock, line, !o.detach && !o.dry_run);
	if (r < 0) {
		say("sending the request: %s", strerror(-r));
		goto close_sock;
	}
	ret = converse(&se);
close_sock:
	close(se.sock);
free_opts:
	free(line);
	run_opts_free(&o);
	return ret;
}
