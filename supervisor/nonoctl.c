/* nonoctl: command-line client for the nono-supervise control socket: the command table,
 * argument parsing, the request/reply round trip and main. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "control.h"
#include "nonoctl.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define REPLY_TIMEOUT_MS 30000	/* replies that do not wait for services */
#define WAIT_SLACK_MS 5000	/* on top of --timeout: the daemon itself answers at the timeout */
#define DEFAULT_WAIT_MS 60000
#define DEFAULT_LOG_LINES 20

enum {
	OPT_JSON = 1 << 0,
	OPT_NO_WAIT = 1 << 1,
	OPT_TIMEOUT = 1 << 2,
	OPT_LINES = 1 << 3,
	OPT_FOLLOW = 1 << 4,
	OPT_AUDIT = 1 << 8,
	OPT_SOCKET = 1 << 5,
	OPT_CONFIG = 1 << 6,
	OPT_HELP = 1 << 7,
	OPT_GLOBAL = OPT_SOCKET | OPT_CONFIG | OPT_HELP,	/* allowed before and after COMMAND */
};

struct option_def {
	unsigned id;
	char short_name;	/* 0 = long form only */
	const char *long_name;
	const char *arg;	/* NULL = flag */
	const char *help;
};

static const struct option_def options[] = {
	{ OPT_SOCKET, 'S', "socket", "PATH", "control socket (default: $NONO_SUPERVISE_SOCKET, else -c FILE's)" },
	{ OPT_CONFIG, 'c', "config", "FILE", "use the socket set in FILE's [supervisor] section" },
	{ OPT_HELP, 'h', "help", NULL, "print this help" },
	{ OPT_JSON, 0, "json", NULL, "print the daemon's JSON instead of a table" },
	{ OPT_NO_WAIT, 0, "no-wait", NULL, "return once the daemon has the request" },
	{ OPT_TIMEOUT, 0, "timeout", "DURATION", "how long to wait for services to settle (default 60s)" },
	{ OPT_LINES, 'n', "lines", "N", "print the last N lines (default 20)" },
	{ OPT_FOLLOW, 'f', "follow", NULL, "keep printing new output, across log rotation" },
	{ OPT_AUDIT, 0, "audit", NULL, "the service's audit records (credential proxy) instead" },
};

enum names_spec {
	NAMES_NONE,
	NAMES_ANY,		/* [NAME...] */
	NAMES_SOME,		/* NAME...|all */
	NAMES_ONE,		/* NAME, sent as "name" */
	NAMES_OWN,		/* the command parses the rest of the line itself (run) */
};

struct command;

struct args {
	const struct command *cmd;
	const char **names;
	int n_names;
	char **rest;		/* a command that parses its own arguments: them */
	int n_rest;
	unsigned set;		/* OPT_* given */
	uint64_t timeout_ms;
	long lines;
	const char *socket;
	const char *config;
};

/* The request's "cmd" is the command's name; its arguments follow from names and opts. */
struct command {
	const char *name;
	enum names_spec names;
	unsigned opts;
	const char *help;
	int (*run)(const struct args *a);
};

static char socket_path[PATH_MAX];

static const struct command *find_command(const char *name);
static void usage(FILE *f);

/* ---- argument parsing ---- */

static const struct option_def *find_option(const char *arg, const char **value)
{
	*value = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct option_def *o = &options[i];
		size_t n = strlen(o->long_name);

		if (arg[1] == '-' && !strncmp(arg + 2, o->long_name, n) &&
		    (arg[2 + n] == '\0' || (arg[2 + n] == '=' && o->arg))) {
			*value = arg[2 + n] ? arg + 3 + n : NULL;
			return o;
		}
		if (arg[1] != '-' && arg[1] == o->short_name && (arg[2] == '\0' || o->arg)) {
			*value = arg[2] ? arg + 2 : NULL;
			return o;
		}
	}
	return NULL;
}

static int set_option(struct args *a, const struct option_def *o, const char *value)
{
	char *end;

	a->set |= o->id;
	if (o->id == OPT_TIMEOUT && config_parse_duration(value, &a->timeout_ms) < 0) {
		fprintf(stderr, "nonoctl: invalid duration '%s' for --timeout (e.g. 500ms, 30s, 2m)\n", value);
		return -EINVAL;
	}
	if (o->id == OPT_SOCKET)
		a->socket = value;
	if (o->id == OPT_CONFIG)
		a->config = value;
	if (o->id == OPT_LINES) {
		errno = 0;
		a->lines = strtol(value, &end, 10);
		if (errno || end == value || *end || a->lines < 0) {
			fprintf(stderr, "nonoctl: invalid line count '%s'\n", value);
			return -EINVAL;
		}
	}
	return 0;
}

/* The whole command line: global options, COMMAND, then its names and options in any order. */
static int parse_args(struct args *a, int argc, char **argv)
{
	static const char *const need[] = {
		[NAMES_NONE] = "takes no arguments",
		[NAMES_SOME] = "needs service names or 'all'",
		[NAMES_ONE] = "needs exactly one service name",
	};
	bool options_done = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value;
		const struct option_def *o;

		if ((options_done || arg[0] != '-' || arg[1] == '\0') && a->cmd) {
			a->names[a->n_names++] = arg;
			continue;
		}
		if (options_done || arg[0] != '-' || arg[1] == '\0') {
			a->cmd = find_command(arg);
			if (a->cmd && a->cmd->names == NAMES_OWN) {
				a->rest = argv + i + 1;
				a->n_rest = argc - i - 1;
				break;
			}
			if (a->cmd)
				continue;
			fprintf(stderr, "nonoctl: unknown command '%s'; try 'nonoctl help'\n", arg);
			return -EINVAL;
		}
		if (!strcmp(arg, "--")) {
			options_done = true;
			continue;
		}
		o = find_option(arg, &value);
		if (!o || !(o->id & (OPT_GLOBAL | (a->cmd ? a->cmd->opts : 0)))) {
			fprintf(stderr, "nonoctl: unknown option '%s'%s%s%s; try 'nonoctl help'\n", arg,
				a->cmd ? " for '" : "", a->cmd ? a->cmd->name : "", a->cmd ? "'" : "");
			return -EINVAL;
		}
		if (o->arg && !value && i + 1 >= argc) {
			fprintf(stderr, "nonoctl: option '%s' needs an argument (%s)\n", arg, o->arg);
			return -EINVAL;
		}
		if (o->arg && !value)
			value = argv[++i];
		if (set_option(a, o, value) < 0)
			return -EINVAL;
	}
	if (a->set & OPT_HELP) {
		a->cmd = find_command("help");
		return 0;
	}
	if (!a->cmd) {
		usage(stderr);
		return -EINVAL;
	}
	if ((a->cmd->names == NAMES_NONE && a->n_names > 0) ||
	    (a->cmd->names == NAMES_SOME && a->n_names == 0) ||
	    (a->cmd->names == NAMES_ONE && a->n_names != 1)) {
		fprintf(stderr, "nonoctl: '%s' %s; try 'nonoctl help'\n", a->cmd->name, need[a->cmd->names]);
		return -EINVAL;
	}
	return 0;
}

/* ---- protocol ---- */

int nonoctl_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(socket_path);
	int fd;

	if (len >= sizeof(sun.sun_path)) {
		fprintf(stderr, "nonoctl: socket path too long (%zu bytes, max %zu): %s\n",
			len, sizeof(sun.sun_path) - 1, socket_path);
		return -1;
	}
	memcpy(sun.sun_path, socket_path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "nonoctl: socket: %s\n", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "nonoctl: cannot connect to %s: %s (is nono-supervise running?)\n",
			socket_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void set_recv_timeout(FILE *f, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	setsockopt(fileno(f), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static cJSON *build_request(const struct args *a)
{
	const struct command *cmd = a->cmd;
	cJSON *req = cJSON_CreateObject();
	bool ok = req && cJSON_AddStringToObject(req, "cmd", cmd->name);

	if (ok && cmd->names == NAMES_ONE)
		ok = cJSON_AddStringToObject(req, "name", a->names[0]);
	else if (ok && a->n_names > 0)
		ok = cJSON_AddItemToObject(req, "names", cJSON_CreateStringArray(a->names, a->n_names));
	if (ok && (a->set & OPT_AUDIT))
		ok = cJSON_AddTrueToObject(req, "audit") != NULL;
	if (ok && (cmd->opts & OPT_NO_WAIT))
		ok = cJSON_AddBoolToObject(req, "wait", !(a->set & OPT_NO_WAIT)) &&
		     cJSON_AddNumberToObject(req, "timeout_ms", (double)a->timeout_ms);
	if (!ok) {
		cJSON_Delete(req);
		return NULL;
	}
	return req;
}

static int cmd_reload(const struct args *a);

/*
 * One round trip for A's command. Returns the reply if it succeeded or carries per-service
 * "results"; otherwise prints why and returns NULL. KEEP, if set, receives the connection.
 */
static cJSON *call(const struct args *a, FILE **keep)
{
	bool waits = (a->cmd->opts & OPT_NO_WAIT) && !(a->set & OPT_NO_WAIT);
	uint64_t timeout_ms = waits ? a->timeout_ms + WAIT_SLACK_MS : REPLY_TIMEOUT_MS;
	cJSON *req = build_request(a), *reply = NULL, *ok;
	char *text = req ? cJSON_PrintUnformatted(req) : NULL, *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	const char *err;
	FILE *f = NULL;
	int fd;

	cJSON_Delete(req);
	if (!text) {
		fprintf(stderr, "nonoctl: out of memory\n");
		goto free_buf;
	}
	if (strlen(text) + 1 > CONTROL_LINE_MAX) {
		fprintf(stderr, "nonoctl: request too long (limit %d bytes)\n", CONTROL_LINE_MAX);
		goto free_buf;
	}
	fd = nonoctl_connect();
	if (fd < 0)
		goto free_buf;
	f = fdopen(fd, "r+");
	if (!f) {
		fprintf(stderr, "nonoctl: %s\n", strerror(errno));
		close(fd);
		goto free_buf;
	}
	set_recv_timeout(f, timeout_ms);
	if (fprintf(f, "%s\n", text) < 0 || fflush(f) == EOF) {
		fprintf(stderr, "nonoctl: sending to %s: %s\n", socket_path, strerror(errno));
		goto close_f;
	}
	n = getline(&buf, &cap, f);	/* grows with the reply: most are short */
	if (n < 0 && ferror(f)) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			fprintf(stderr, "nonoctl: no reply from daemon within %llus\n",
				(unsigned long long)(timeout_ms / 1000));
		else
			fprintf(stderr, "nonoctl: reading from %s: %s\n", socket_path, strerror(errno));
		goto close_f;
	}
	if (n > 0 && n <= CONTROL_REPLY_MAX && buf[n - 1] == '\n')	/* else cut short */
		reply = cJSON_Parse(buf);
	ok = cJSON_GetObjectItem(reply, "ok");
	err = json_str(reply, "error");
	if (!cJSON_IsObject(reply) || !cJSON_IsBool(ok)) {
		bad_reply();
		cJSON_Delete(reply);
		reply = NULL;
	} else if (cJSON_IsFalse(ok) && !cJSON_IsArray(cJSON_GetObjectItem(reply, "results"))) {
		/* reload errors are "file:line: message" lines, one per problem: print them as is */
		fprintf(stderr, "%s%s\n", a->cmd->run == cmd_reload ? "" : "nonoctl: ",
			err ? err : "request failed");
		cJSON_Delete(reply);
		reply = NULL;
	} else if (keep) {
		*keep = f;
		f = NULL;
	}
close_f:
	if (f)
		fclose(f);
free_buf:
	free(buf);
	free(text);
	return reply;
}

/* ---- status ---- */

static int cmd_status(const struct args *a)
{
	cJSON *reply = call(a, NULL);
	int ret;

	if (!reply)
		return 1;
	ret = nonoctl_print_status(cJSON_GetObjectItem(reply, "services"), a->set & OPT_JSON);
	cJSON_Delete(reply);
	return ret;
}

static int cmd_credentials(const struct args *a)
{
	cJSON *reply = call(a, NULL);
	int ret;

	if (!reply)
		return 1;
	ret = nonoctl_print_credentials(cJSON_GetObjectItem(reply, "credentials"),
					a->set & OPT_JSON);
	cJSON_Delete(reply);
	return ret;
}

/* ---- start, stop, restart, reload ---- */

static int cmd_control(const struct args *a)
{
	cJSON *reply = call(a, NULL), *res;
	int ret;

	if (!reply)
		return 1;
	ret = cJSON_IsTrue(cJSON_GetObjectItem(reply, "ok")) ? 0 : 1;
	if (!cJSON_IsArray(cJSON_GetObjectItem(reply, "results"))) {
		bad_reply();
		ret = 1;
	}
	cJSON_ArrayForEach(res, cJSON_GetObjectItem(reply, "results")) {
		const char *name = json_str(res, "name"), *msg = json_str(res, "message");
		bool ok = cJSON_IsTrue(cJSON_GetObjectItem(res, "ok"));

		fprintf(ok ? stdout : stderr, "%s: %s\n", name ? name : "?", msg ? msg : ok ? "ok" : "ERROR");
		fflush(stdout);	/* keep the daemon's order when both streams go to one file */
		if (!ok)
			ret = 1;
	}
	cJSON_Delete(reply);
	return ret;
}

static int cmd_reload(const struct args *a)
{
	static const char *const lists[] = { "added", "removed", "changed", "unchanged" };
	cJSON *reply = call(a, NULL);
	bool changes = false;

	if (!reply)
		return 1;
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		const cJSON *item;
		const char *sep = "";

		if (cJSON_GetArraySize(cJSON_GetObjectItem(reply, lists[i])) == 0)
			continue;
		changes |= i < 3;
		printf("%s: ", lists[i]);
		cJSON_ArrayForEach(item, cJSON_GetObjectItem(reply, lists[i])) {
			printf("%s%s", sep, cJSON_IsString(item) ? item->valuestring : "?");
			sep = ", ";
		}
		printf("\n");
	}
	if (!changes)
		printf("no changes\n");
	cJSON_Delete(reply);
	return 0;
}

/* ---- logs ---- */

static int cmd_logs(const struct args *a)
{
	cJSON *reply = call(a, NULL);
	const char *p = json_str(reply, "path");
	char path[PATH_MAX];
	int r;

	if (!reply)
		return 1;
	if (!p || (size_t)snprintf(path, sizeof(path), "%s", p) >= sizeof(path)) {
		bad_reply();
		cJSON_Delete(reply);
		return 1;
	}
	cJSON_Delete(reply);
	if (a->set & OPT_AUDIT) {
		r = nonoctl_print_audit(path, a->names[0]);
		if (r < 0) {
			fprintf(stderr, "nonoctl: %s: %s\n", path, strerror(-r));
			return 1;
		}
		return 0;
	}
	return nonoctl_tail(path, a->lines, a->set & OPT_FOLLOW);
}

/* ---- shutdown, version, help ---- */

static int cmd_shutdown(const struct args *a)
{
	FILE *f = NULL;
	cJSON *reply = call(a, &f);

	if (!reply)
		return 1;
	cJSON_Delete(reply);
	printf("shutting down\n");
	fflush(stdout);
	/* The daemon closes the connection as it exits, after stopping every service. */
	set_recv_timeout(f, 0);
	while (fgetc(f) != EOF)
		;
	if (ferror(f) && errno != ECONNRESET) {
		fprintf(stderr, "nonoctl: waiting for the daemon to exit: %s\n", strerror(errno));
		fclose(f);
		return 1;
	}
	fclose(f);
	printf("stopped\n");
	return 0;
}

static int cmd_audit(const struct args *a)
{
	cJSON *reply;

	if (strcmp(a->names[0], "verify") != 0) {
		fprintf(stderr, "nonoctl: audit %s: unknown; try 'nonoctl audit verify'\n",
			a->names[0]);
		return 1;
	}
	/* The daemon checks the chain (it has the hashing code; this client stays small). */
	reply = call(a, NULL);
	if (!reply)
		return 1;
	printf("%s: %.0f records, hash chain intact\n", json_str(reply, "path"),
	       json_num(reply, "records"));
	cJSON_Delete(reply);
	return 0;
}

static int cmd_explain(const struct args *a)
{
	cJSON *reply = call(a, NULL);
	const char *text = json_str(reply, "text");

	if (text)
		fputs(text, stdout);
	cJSON_Delete(reply);
	return text ? 0 : 1;
}

static int cmd_version(const struct args *a)
{
	cJSON *reply;
	int ret = 1;

	printf("nonoctl %s\n", NONO_VERSION);
	fflush(stdout);
	reply = call(a, NULL);
	if (reply && json_str(reply, "version")) {
		printf("nono-supervise %s\n", json_str(reply, "version"));
		ret = 0;
	} else if (reply) {
		bad_reply();
	}
	cJSON_Delete(reply);
	return ret;
}

static int cmd_run(const struct args *a)
{
	return nonoctl_run(a->n_rest, a->rest);
}

static int cmd_help(const struct args *a)
{
	(void)a;
	usage(stdout);
	return 0;
}

static const struct command commands[] = {
	{ "status", NAMES_ANY, OPT_JSON, "show services; exit 3 if any shown is not running", cmd_status },
	{ "start", NAMES_SOME, OPT_NO_WAIT | OPT_TIMEOUT, "start services, wait until they run", cmd_control },
	{ "stop", NAMES_SOME, OPT_NO_WAIT | OPT_TIMEOUT, "stop services, wait until they are gone", cmd_control },
	{ "restart", NAMES_SOME, OPT_NO_WAIT | OPT_TIMEOUT, "stop, then start services", cmd_control },
	{ "reload", NAMES_NONE, 0, "re-read the config; restart only changed services", cmd_reload },
	{ "logs", NAMES_ONE, OPT_LINES | OPT_FOLLOW | OPT_AUDIT, "print the end of a service's log", cmd_logs },
	{ "audit", NAMES_ONE, 0, "audit verify: check the audit log's hash chain", cmd_audit },
	{ "explain", NAMES_ONE, 0, "print a service's compiled sandbox policy", cmd_explain },
	{ "credentials", NAMES_NONE, OPT_JSON, "check that each credential's key loads (never shows it)", cmd_credentials },
	{ "run", NAMES_OWN, 0, "run a command as a transient service with this terminal; its exit "
	  "status is ours (run --help: the flags)", cmd_run },
	{ "shutdown", NAMES_NONE, 0, "stop every service, then the daemon", cmd_shutdown },
	{ "version", NAMES_NONE, 0, "print client and daemon versions", cmd_version },
	{ "help", NAMES_NONE, 0, "print this help", cmd_help },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

static void option_label(const struct option_def *o, bool both, char *buf, size_t len)
{
	const char *sp = o->arg ? " " : "", *arg = o->arg ? o->arg : "";

	if (o->short_name && both)
		snprintf(buf, len, "-%c, --%s%s%s", o->short_name, o->long_name, sp, arg);
	else if (o->short_name)
		snprintf(buf, len, "-%c%s%s", o->short_name, sp, arg);
	else
		snprintf(buf, len, "--%s%s%s", o->long_name, sp, arg);
}

static void usage(FILE *f)
{
	static const char *const names[] = {
		[NAMES_NONE] = "", [NAMES_ANY] = " [NAME...]", [NAMES_SOME] = " NAME...|all", [NAMES_ONE] = " NAME",
		[NAMES_OWN] = " [--name N] [--detach] [FLAGS] -- COMMAND...",
	};
	char line[160], label[64];

	fprintf(f, "usage: nonoctl [-S PATH] [-c FILE] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *cmd = &commands[i];
		size_t n = (size_t)snprintf(line, sizeof(line), "%s%s", cmd->name, names[cmd->names]);

		for (size_t k = 0; k < ARRAY_SIZE(options) && n < sizeof(line); k++) {
			if (!(cmd->opts & options[k].id))
				continue;
			option_label(&options[k], false, label, sizeof(label));
			n += (size_t)snprintf(line + n, sizeof(line) - n, " [%s]", label);
		}
		fprintf(f, "  %s\n      %s\n", line, cmd->help);
	}
	fprintf(f, "\noptions:\n");
	for (size_t k = 0; k < ARRAY_SIZE(options); k++) {
		option_label(&options[k], true, label, sizeof(label));
		fprintf(f, "  %-22s  %s\n", label, options[k].help);
	}
	fprintf(f, "\nexit status: 0 ok, 1 error, 3 a service shown by 'status' is not running, or a\n"
		   "credential shown by 'credentials' is not loaded\n");
}

/* ---- main ---- */

/* -S, else $NONO_SUPERVISE_SOCKET, else -c FILE's [supervisor] socket, else the default. */
static int resolve_socket(const struct args *a)
{
	const char *env = getenv("NONO_SUPERVISE_SOCKET");
	const char *path = a->socket ? a->socket : env && *env ? env : NULL;
	struct config cfg = { 0 };
	char err[CONFIG_ERR_MAX] = "";
	int r;

	if (!path && a->config) {
		r = config_load(&cfg, a->config, err, sizeof(err));
		if (r < 0 && err[0])
			fprintf(stderr, "%s%s", err, err[strlen(err) - 1] == '\n' ? "" : "\n");
		else if (r < 0)
			fprintf(stderr, "nonoctl: cannot read %s: %s\n", a->config, strerror(-r));
		if (r < 0) {
			config_free(&cfg);
			return -1;
		}
		path = cfg.socket;
	}
	if (path)
		r = (size_t)snprintf(socket_path, sizeof(socket_path), "%s", path) < sizeof(socket_path) ?
			0 : -ENAMETOOLONG;
	else
		r = config_default_socket(socket_path, sizeof(socket_path));
	config_free(&cfg);
	if (r < 0) {
		fprintf(stderr, "nonoctl: cannot determine the control socket: %s (hint: use -S PATH)\n",
			strerror(-r));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = { .timeout_ms = DEFAULT_WAIT_MS, .lines = DEFAULT_LOG_LINES };
	int ret = 1;

	signal(SIGPIPE, SIG_IGN);
	a.names = calloc((size_t)argc, sizeof(*a.names));
	if (!a.names) {
		fprintf(stderr, "nonoctl: out of memory\n");
		return 1;
	}
	if (parse_args(&a, argc, argv) < 0 || (a.cmd->run != cmd_help && resolve_socket(&a) < 0))
		goto free_names;
	ret = a.cmd->run(&a);
	if (fflush(stdout) != 0 && errno != EPIPE) {
		fprintf(stderr, "nonoctl: writing output: %s\n", strerror(errno));
		ret = 1;
	}
free_names:
	free(a.names);
	return ret;
}
