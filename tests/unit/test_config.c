/* Unit tests for config.c: the small parsers, every services.ini key, defaults and every error. */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAXW 8
#define SECRET "sk-live-0123456789abcdef"

static char tdir[PATH_MAX];	/* the test's scratch directory (cwd) */
static char rdir[PATH_MAX];	/* its realpath, as config.c reports paths */
static char err[CONFIG_ERR_MAX];
static struct config cfg;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nono-config-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir));
	cr_assert_not_null(realpath(tdir, rdir));
	cr_assert_eq(chdir(tdir), 0);
}

static void teardown(void)
{
	cr_expect_eq(seteuid(getuid()), 0);	/* default_paths_user drops it */
	config_free(&cfg);
	cr_assert_eq(chdir("/"), 0);
	nftw(tdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(config, .init = setup, .fini = teardown);

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(name, "w");

	cr_assert_not_null(f, "fopen %s: %s", name, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static int load(const char *ini)
{
	config_free(&cfg);
	write_file("services.ini", ini);
	return config_load(&cfg, "services.ini", err, sizeof(err));
}

/* Loads an ini that must parse, with exactly one service. */
static const struct service_config *load_one(const char *ini)
{
	int rc = load(ini);

	cr_assert_eq(rc, 0, "config_load failed (%d) for:\n%s\nerr: %s", rc, ini, err);
	cr_assert_str_empty(err);
	cr_assert_eq(cfg.n_services, 1);
	return &cfg.services[0];
}

static void expect_argv(char **argv, const char *const *want, const char *what)
{
	size_t i;

	cr_assert_not_null(argv, "%s: argv is NULL", what);
	for (i = 0; want[i]; i++) {
		cr_assert_not_null(argv[i], "%s: argv[%zu] missing, want '%s'", what, i, want[i]);
		cr_expect_str_eq(argv[i], want[i], "%s: argv[%zu]", what, i);
	}
	cr_expect_null(argv[i], "%s: extra argv[%zu] '%s'", what, i, argv[i]);
}

/* ---- small parsers ---- */

Test(config, parse_duration)
{
	static const struct {
		const char *in;
		int rc;
		uint64_t ms;
	} cases[] = {
		{ "0", 0, 0 }, { "5", 0, 5000 }, { "500ms", 0, 500 }, { "0ms", 0, 0 },
		{ "10s", 0, 10000 }, { "2m", 0, 120000 }, { "1h", 0, 3600000 }, { "90m", 0, 5400000 },
		{ "007s", 0, 7000 }, { "18446744073709551615ms", 0, UINT64_MAX },
		{ "", -EINVAL, 0 }, { "s", -EINVAL, 0 }, { "ms", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 }, { "1.5s", -EINVAL, 0 }, { " 1s", -EINVAL, 0 }, { "1s ", -EINVAL, 0 },
		{ "1 s", -EINVAL, 0 }, { "10S", -EINVAL, 0 }, { "1d", -EINVAL, 0 }, { "abc", -EINVAL, 0 },
		{ "1sms", -EINVAL, 0 }, { "1hh", -EINVAL, 0 }, { "0x10", -EINVAL, 0 }, { "1e3", -EINVAL, 0 },
		{ "99999999999999999999", -ERANGE, 0 }, { "18446744073709551616ms", -ERANGE, 0 },
		{ "18446744073709552s", -ERANGE, 0 }, { "5124095576031h", -ERANGE, 0 },
	};
	uint64_t ms;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ms = 12345;
		cr_expect_eq(config_parse_duration(cases[i].in, &ms), cases[i].rc, "'%s'", cases[i].in);
		cr_expect_eq(ms, cases[i].rc ? 12345 : cases[i].ms, "'%s' -> %lu", cases[i].in, (unsigned long)ms);
	}
}

Test(config, parse_size)
{
	static const struct {
		const char *in;
		int rc;
		uint64_t bytes;
	} cases[] = {
		{ "0", 0, 0 }, { "100", 0, 100 }, { "5b", 0, 5 }, { "5B", 0, 5 },
		{ "64K", 0, 65536 }, { "64k", 0, 65536 }, { "64KB", 0, 65536 }, { "64KiB", 0, 65536 },
		{ "64kib", 0, 65536 }, { "10M", 0, 10485760 }, { "10m", 0, 10485760 }, { "10MiB", 0, 10485760 },
		{ "1G", 0, 1073741824 }, { "1gb", 0, 1073741824 }, { "1GiB", 0, 1073741824 },
		{ "", -EINVAL, 0 }, { "K", -EINVAL, 0 }, { "-1", -EINVAL, 0 }, { "1.5M", -EINVAL, 0 },
		{ "10X", -EINVAL, 0 }, { "10 M", -EINVAL, 0 }, { "1T", -EINVAL, 0 }, { "M10", -EINVAL, 0 },
		{ "17179869184G", -ERANGE, 0 }, { "99999999999999999999", -ERANGE, 0 },
	};
	uint64_t b;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		b = 12345;
		cr_expect_eq(config_parse_size(cases[i].in, &b), cases[i].rc, "'%s'", cases[i].in);
		cr_expect_eq(b, cases[i].rc ? 12345 : cases[i].bytes, "'%s'", cases[i].in);
	}
}

Test(config, parse_signal)
{
	static const struct {
		const char *in;
		int sig;	/* 0 = error */
	} cases[] = {
		{ "TERM", SIGTERM }, { "SIGTERM", SIGTERM }, { "sigterm", SIGTERM }, { "term", SIGTERM },
		{ "15", SIGTERM }, { "9", SIGKILL }, { "INT", SIGINT }, { "HUP", SIGHUP }, { "QUIT", SIGQUIT },
		{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SIGUSR2", SIGUSR2 }, { "WINCH", SIGWINCH },
		{ "SIGCONT", SIGCONT }, { "STOP", SIGSTOP }, { "ALRM", SIGALRM }, { "PWR", SIGPWR },
		{ "IOT", SIGABRT }, { "SIGCLD", SIGCHLD }, { "POLL", SIGIO }, { "1", SIGHUP },
		{ "", 0 }, { "SIG", 0 }, { "FOO", 0 }, { "SIGFOO", 0 }, { "0", 0 }, { "99", 0 },
		{ "-15", 0 }, { "15x", 0 }, { " TERM", 0 }, { "TERM ", 0 }, { "SIG TERM", 0 }, { "SIGSIGTERM", 0 },
	};
	size_t i;
	int sig;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		sig = -1;
		cr_expect_eq(config_parse_signal(cases[i].in, &sig), cases[i].sig ? 0 : -EINVAL, "'%s'", cases[i].in);
		cr_expect_eq(sig, cases[i].sig ? cases[i].sig : -1, "'%s'", cases[i].in);
	}
}

Test(config, signal_names_round_trip)
{
	static const struct {
		int sig;
		const char *name;
	} cases[] = {
		{ SIGTERM, "SIGTERM" }, { SIGKILL, "SIGKILL" }, { SIGABRT, "SIGABRT" }, { SIGIO, "SIGIO" },
		{ SIGCHLD, "SIGCHLD" }, { SIGHUP, "SIGHUP" }, { SIGSYS, "SIGSYS" }, { 0, "SIG?" }, { 99, "SIG?" },
		{ -1, "SIG?" },
	};
	size_t i;
	int sig, got;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		cr_expect_str_eq(config_signal_name(cases[i].sig), cases[i].name);
	for (sig = 1; sig < 32; sig++) {
		if (strcmp(config_signal_name(sig), "SIG?") == 0)
			continue;
		cr_expect_eq(config_parse_signal(config_signal_name(sig), &got), 0, "%d", sig);
		cr_expect_eq(got, sig);
	}
}

Test(config, split_argv)
{
	static const struct {
		const char *in;
		const char *want[MAXW];	/* empty = error */
		const char *err;
	} cases[] = {
		{ "node agent.js --x", { "node", "agent.js", "--x" }, NULL },
		{ "  a \t b  ", { "a", "b" }, NULL },
		{ "'a b' c", { "a b", "c" }, NULL },
		{ "\"a b\" c", { "a b", "c" }, NULL },
		{ "'it\"s'", { "it\"s" }, NULL },
		{ "\"it's\"", { "it's" }, NULL },
		{ "\"a\\\"b\"", { "a\"b" }, NULL },
		{ "\"a\\\\b\"", { "a\\b" }, NULL },
		{ "\"\\$HOME\"", { "$HOME" }, NULL },
		{ "\"\\`x\\`\"", { "`x`" }, NULL },
		{ "\"a\\nb\"", { "a\\nb" }, NULL },
		{ "'a\\b'", { "a\\b" }, NULL },
		{ "'a\\'", { "a\\" }, NULL },
		{ "a\\ b", { "a b" }, NULL },
		{ "\\'x \\\"y", { "'x", "\"y" }, NULL },
		{ "a\\\\b", { "a\\b" }, NULL },
		{ "$HOME ~ *.js", { "$HOME", "~", "*.js" }, NULL },
		{ "a''b \"\"c", { "ab", "c" }, NULL },
		{ "x '' \"\"", { "x", "", "" }, NULL },
		{ "a\"b c\"d", { "ab cd" }, NULL },
		{ "sh -c 'echo \"$1\" | wc -c' -- x", { "sh", "-c", "echo \"$1\" | wc -c", "--", "x" }, NULL },
		{ "", { NULL }, "empty command" },
		{ "   ", { NULL }, "empty command" },
		{ "'' x", { NULL }, "empty command" },
		{ "'abc", { NULL }, "unterminated single quote" },
		{ "a 'b", { NULL }, "unterminated single quote" },
		{ "\"abc", { NULL }, "unterminated double quote" },
		{ "\"a\\\"", { NULL }, "unterminated double quote" },
		{ "abc\\", { NULL }, "trailing backslash" },
	};
	char msg[64], **argv;
	size_t i;
	int rc;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		msg[0] = '\0';
		rc = config_split_argv(cases[i].in, &argv, msg, sizeof(msg));
		if (cases[i].err) {
			cr_expect_eq(rc, -EINVAL, "[%s]", cases[i].in);
			cr_expect_null(argv, "[%s]", cases[i].in);
			cr_expect_str_eq(msg, cases[i].err, "[%s]", cases[i].in);
		} else {
			cr_expect_eq(rc, 0, "[%s]: %s", cases[i].in, msg);
			expect_argv(argv, cases[i].want, cases[i].in);
		}
		config_strv_free(argv);
	}
	config_strv_free(NULL);
}

Test(config, restart_names)
{
	cr_expect_str_eq(config_restart_name(RESTART_ALWAYS), "always");
	cr_expect_str_eq(config_restart_name(RESTART_ON_FAILURE), "on-failure");
	cr_expect_str_eq(config_restart_name(RESTART_NEVER), "never");
	cr_expect_str_eq(config_restart_name((enum restart_policy)42), "?");
}

/* ---- services.ini: values ---- */

Test(config, defaults)
{
	const struct service_config *s = load_one("[service:web]\ncommand = node agent.js\n");
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/services.ini", rdir);
	cr_expect_str_eq(cfg.path, path);
	cr_expect_null(cfg.socket);
	cr_expect_null(cfg.log_dir);
	cr_expect_str_eq(s->name, "web");
	expect_argv(s->argv, (const char *const[]){ "node", "agent.js", NULL }, "command");
	cr_expect_null(s->cwd);
	cr_assert_not_null(s->env);
	cr_expect_null(s->env[0]);
	cr_expect_null(s->env_file);
	cr_expect_null(s->user);
	cr_expect_null(s->profile);
	cr_expect(s->sandbox);
	cr_expect_not(s->allow_degraded);
	cr_expect_null(s->read);
	cr_expect_null(s->write);
	cr_expect_null(s->allow_domain);
	cr_expect(s->autostart);
	cr_expect_eq(s->restart, RESTART_ON_FAILURE);
	cr_expect_eq(s->n_success_codes, 1);
	cr_expect_eq(s->success_codes[0], 0);
	cr_expect_eq(s->start_ms, 1000);
	cr_expect_eq(s->restart_delay_ms, 1000);
	cr_expect_eq(s->restart_delay_max_ms, 60000);
	cr_expect_eq(s->reset_after_ms, 30000);
	cr_expect_eq(s->start_limit_n, 5);
	cr_expect_eq(s->start_limit_window_ms, 60000);
	cr_expect_eq(s->stop_signal, SIGTERM);
	cr_expect_eq(s->stop_timeout_ms, 10000);
	cr_expect_eq(s->log_max_size, 10 * 1024 * 1024);
	cr_expect_eq(s->log_backups, 5);
	cr_expect_eq(s->line, 1);
}

Test(config, every_key)
{
	const struct service_config *s;
	char want[PATH_MAX + 32];

	mkdir("profiles", 0755);
	write_file("profiles/agent.json", "{}\n");
	write_file("agent.env", "FROM_FILE=1\n");
	cr_assert_eq(load("; comment\n"
			  "# comment\n"
			  "[supervisor]\n"
			  "socket = /run/test.sock\n"
			  "log_dir = logs\n"
			  "\n"
			  "[service:planner.v2]\n"
			  "command = node agent.js --port 8080\n"
			  "cwd = work\n"
			  "env = A=1\n"
			  "env = B=x=y\n"
			  "env_file = agent.env\n"
			  "user = agent\n"
			  "profile = profiles/agent.json\n"
			  "autostart = off\n"
			  "restart = always\n"
			  "success_exit_codes = 0, 2 3\n"
			  "start_secs = 500ms\n"
			  "restart_delay = 0\n"
			  "restart_delay_max = 2m\n"
			  "reset_after = 1h\n"
			  "start_limit = 3/10s\n"
			  "stop_signal = INT\n"
			  "stop_timeout = 3\n"
			  "log_max_size = 64K\n"
			  "log_backups = 0\n"
			  "sandbox = off\n"
			  "allow_degraded = yes\n"
			  "read = data\n"
			  "write = /var/tmp/agent\n"
			  "read = /etc/ssl\n"
			  "allow_domain = api.example.com\n"
			  "allow_domain = *.example.org\n"),
		     0, "%s", err);
	cr_assert_eq(cfg.n_services, 1);
	s = &cfg.services[0];
	cr_expect_str_eq(cfg.socket, "/run/test.sock");
	snprintf(want, sizeof(want), "%s/logs", rdir);
	cr_expect_str_eq(cfg.log_dir, want);
	cr_expect_str_eq(s->name, "planner.v2");
	cr_expect_eq(s->line, 7);
	expect_argv(s->argv, (const char *const[]){ "node", "agent.js", "--port", "8080", NULL }, "command");
	snprintf(want, sizeof(want), "%s/work", rdir);
	cr_expect_str_eq(s->cwd, want);
	expect_argv(s->env, (const char *const[]){ "FROM_FILE=1", "A=1", "B=x=y", NULL }, "env");
	snprintf(want, sizeof(want), "%s/agent.env", rdir);
	cr_expect_str_eq(s->env_file, want);
	cr_expect_str_eq(s->user, "agent");
	snprintf(want, sizeof(want), "%s/profiles/agent.json", rdir);
	cr_expect_str_eq(s->profile, want);
	cr_expect_not(s->autostart);
	cr_expect_eq(s->restart, RESTART_ALWAYS);
	cr_expect_eq(s->n_success_codes, 3);
	cr_expect_eq(s->success_codes[0], 0);
	cr_expect_eq(s->success_codes[1], 2);
	cr_expect_eq(s->success_codes[2], 3);
	cr_expect_eq(s->start_ms, 500);
	cr_expect_eq(s->restart_delay_ms, 0);
	cr_expect_eq(s->restart_delay_max_ms, 120000);
	cr_expect_eq(s->reset_after_ms, 3600000);
	cr_expect_eq(s->start_limit_n, 3);
	cr_expect_eq(s->start_limit_window_ms, 10000);
	cr_expect_eq(s->stop_signal, SIGINT);
	cr_expect_eq(s->stop_timeout_ms, 3000);
	cr_expect_eq(s->log_max_size, 65536);
	cr_expect_eq(s->log_backups, 0);
	cr_expect_not(s->sandbox);
	cr_expect(s->allow_degraded);
	snprintf(want, sizeof(want), "%s/data", rdir);
	expect_argv(s->read, (const char *const[]){ want, "/etc/ssl", NULL }, "read");
	expect_argv(s->write, (const char *const[]){ "/var/tmp/agent", NULL }, "write");
	expect_argv(s->allow_domain, (const char *const[]){ "api.example.com", "*.example.org", NULL }, "allow_domain");
}

/* One "key = value" line in a service; check() reads the parsed field. */
struct value_case {
	const char *line;
	uint64_t want;
};

static void check_values(const struct value_case *cases, size_t n, uint64_t (*get)(const struct service_config *))
{
	char ini[256];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(ini, sizeof(ini), "[service:x]\ncommand = a\n%s\n", cases[i].line);
		cr_expect_eq(get(load_one(ini)), cases[i].want, "%s", cases[i].line);
	}
}

static uint64_t get_autostart(const struct service_config *s) { return s->autostart; }
static uint64_t get_sandbox(const struct service_config *s) { return s->sandbox; }
static uint64_t get_degraded(const struct service_config *s) { return s->allow_degraded; }
static uint64_t get_restart(const struct service_config *s) { return s->restart; }
static uint64_t get_start(const struct service_config *s) { return s->start_ms; }
static uint64_t get_delay(const struct service_config *s) { return s->restart_delay_ms; }
static uint64_t get_delay_max(const struct service_config *s) { return s->restart_delay_max_ms; }
static uint64_t get_reset(const struct service_config *s) { return s->reset_after_ms; }
static uint64_t get_limit(const struct service_config *s) { return s->start_limit_n * 1000000ull + s->start_limit_window_ms; }
static uint64_t get_signal(const struct service_config *s) { return (uint64_t)s->stop_signal; }
static uint64_t get_timeout(const struct service_config *s) { return s->stop_timeout_ms; }
static uint64_t get_size(const struct service_config *s) { return s->log_max_size; }
static uint64_t get_backups(const struct service_config *s) { return s->log_backups; }

Test(config, scalar_values)
{
	static const struct value_case autostart[] = {
		{ "autostart = true", 1 }, { "autostart = false", 0 }, { "autostart = yes", 1 },
		{ "autostart = no", 0 }, { "autostart = on", 1 }, { "autostart = off", 0 },
		{ "autostart = 1", 1 }, { "autostart = 0", 0 }, { "autostart = TRUE", 1 }, { "autostart = Off", 0 },
	}, sandbox[] = {
		{ "sandbox = true", 1 }, { "sandbox = false", 0 }, { "sandbox = yes", 1 }, { "sandbox = no", 0 },
		{ "sandbox = on", 1 }, { "sandbox = off", 0 }, { "sandbox = 1", 1 }, { "sandbox = 0", 0 },
		{ "sandbox = OFF", 0 }, { "sandbox = No", 0 }, { "sandbox = off ; legacy tool", 0 },
		{ "; no sandbox line", 1 },
	}, degraded[] = {
		{ "allow_degraded = true", 1 }, { "allow_degraded = false", 0 }, { "allow_degraded = yes", 1 },
		{ "allow_degraded = no", 0 }, { "allow_degraded = on", 1 }, { "allow_degraded = off", 0 },
		{ "allow_degraded = 1", 1 }, { "allow_degraded = 0", 0 }, { "allow_degraded = Yes", 1 },
		{ "; no allow_degraded line", 0 },
	}, restart[] = {
		{ "restart = always", RESTART_ALWAYS }, { "restart = on-failure", RESTART_ON_FAILURE },
		{ "restart = never", RESTART_NEVER },
	}, start[] = {
		{ "start_secs = 0", 0 }, { "start_secs = 2", 2000 }, { "start_secs = 250ms", 250 },
	}, delay[] = {
		{ "restart_delay = 0", 0 }, { "restart_delay = 100ms", 100 }, { "restart_delay = 1m", 60000 },
	}, delay_max[] = {
		{ "restart_delay_max = 1s", 1000 }, { "restart_delay_max = 1h", 3600000 },
	}, reset[] = {
		{ "reset_after = 1ms", 1 }, { "reset_after = 5m", 300000 },
	}, limit[] = {
		{ "start_limit = 5/60s", 5000000 + 60000 }, { "start_limit = 1/1s", 1000000 + 1000 },
		{ "start_limit = 10/2m", 10000000 + 120000 }, { "start_limit = 3/500ms", 3000000 + 500 },
		{ "start_limit = 7/30", 7000000 + 30000 },
	}, signal[] = {
		{ "stop_signal = TERM", SIGTERM }, { "stop_signal = SIGTERM", SIGTERM }, { "stop_signal = 15", 15 },
		{ "stop_signal = INT", SIGINT }, { "stop_signal = HUP", SIGHUP }, { "stop_signal = QUIT", SIGQUIT },
		{ "stop_signal = KILL", SIGKILL }, { "stop_signal = USR1", SIGUSR1 }, { "stop_signal = usr2", SIGUSR2 },
	}, timeout[] = {
		{ "stop_timeout = 1ms", 1 }, { "stop_timeout = 30s", 30000 },
	}, size[] = {
		{ "log_max_size = 0", 0 }, { "log_max_size = 1000", 1000 }, { "log_max_size = 64k", 65536 },
		{ "log_max_size = 10MiB", 10485760 }, { "log_max_size = 1G", 1073741824 },
	}, backups[] = {
		{ "log_backups = 0", 0 }, { "log_backups = 7", 7 }, { "log_backups = 100", 100 },
	};

	check_values(autostart, ARRAY_SIZE(autostart), get_autostart);
	check_values(sandbox, ARRAY_SIZE(sandbox), get_sandbox);
	check_values(degraded, ARRAY_SIZE(degraded), get_degraded);
	check_values(restart, ARRAY_SIZE(restart), get_restart);
	check_values(start, ARRAY_SIZE(start), get_start);
	check_values(delay, ARRAY_SIZE(delay), get_delay);
	check_values(delay_max, ARRAY_SIZE(delay_max), get_delay_max);
	check_values(reset, ARRAY_SIZE(reset), get_reset);
	check_values(limit, ARRAY_SIZE(limit), get_limit);
	check_values(signal, ARRAY_SIZE(signal), get_signal);
	check_values(timeout, ARRAY_SIZE(timeout), get_timeout);
	check_values(size, ARRAY_SIZE(size), get_size);
	check_values(backups, ARRAY_SIZE(backups), get_backups);
}

Test(config, success_exit_codes)
{
	static const struct {
		const char *value;
		int n, codes[CONFIG_MAX_EXIT_CODES];
	} cases[] = {
		{ "0", 1, { 0 } }, { "1", 1, { 1 } }, { "0,1", 2, { 0, 1 } }, { "0 1 2", 3, { 0, 1, 2 } },
		{ "0, 2 ,3", 3, { 0, 2, 3 } }, { "255,,7", 2, { 255, 7 } }, { "143 143", 2, { 143, 143 } },
		{ "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15", 16, { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 } },
	};
	const struct service_config *s;
	char ini[256];
	size_t i;
	int j;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(ini, sizeof(ini), "[service:x]\ncommand = a\nsuccess_exit_codes = %s\n", cases[i].value);
		s = load_one(ini);
		cr_expect_eq(s->n_success_codes, cases[i].n, "'%s'", cases[i].value);
		for (j = 0; j < cases[i].n; j++)
			cr_expect_eq(s->success_codes[j], cases[i].codes[j], "'%s' [%d]", cases[i].value, j);
	}
}

Test(config, paths_relative_to_ini_dir)
{
	static const struct {
		const char *value;
		const char *want;	/* "%s" = the ini's directory */
	} cases[] = {
		{ ".", "%s" }, { "./", "%s" }, { "work", "%s/work" }, { "./work", "%s/work" },
		{ "a/b/", "%s/a/b/" }, { "../up", "%s/../up" }, { "/srv/agent", "/srv/agent" }, { "/", "/" },
	};
	const struct service_config *s;
	char ini[256], want[PATH_MAX + 32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(ini, sizeof(ini), "[service:x]\ncommand = a\ncwd = %s\n", cases[i].value);
		s = load_one(ini);
		snprintf(want, sizeof(want), cases[i].want, rdir);
		cr_expect_str_eq(s->cwd, want, "cwd = %s", cases[i].value);
	}
	/* the ini found through a relative path from its parent directory */
	mkdir("sub", 0755);
	write_file("sub/s.ini", "[supervisor]\nsocket = s.sock\nlog_dir = ../logs\n[service:x]\ncommand = a\ncwd = w\n");
	cr_assert_eq(chdir(".."), 0);
	snprintf(want, sizeof(want), "%s/sub/s.ini", strrchr(tdir, '/') + 1);
	config_free(&cfg);
	cr_assert_eq(config_load(&cfg, want, err, sizeof(err)), 0, "%s", err);
	snprintf(want, sizeof(want), "%s/sub/s.ini", rdir);
	cr_expect_str_eq(cfg.path, want);
	snprintf(want, sizeof(want), "%s/sub/s.sock", rdir);
	cr_expect_str_eq(cfg.socket, want);
	snprintf(want, sizeof(want), "%s/sub/../logs", rdir);
	cr_expect_str_eq(cfg.log_dir, want);
	snprintf(want, sizeof(want), "%s/sub/w", rdir);
	cr_expect_str_eq(cfg.services[0].cwd, want);
}

/* Expects v to hold want (a NULL-terminated list, each "%s" = the ini's directory); none = NULL. */
static void expect_paths(char **v, const char *const *want, const char *what)
{
	char buf[PATH_MAX + 32];
	size_t i;

	if (!want[0]) {
		cr_expect_null(v, "%s: want NULL, got '%s'...", what, v ? v[0] : "");
		return;
	}
	cr_assert_not_null(v, "%s: NULL", what);
	for (i = 0; want[i]; i++) {
		snprintf(buf, sizeof(buf), want[i], rdir);
		cr_assert_not_null(v[i], "%s: [%zu] missing, want '%s'", what, i, buf);
		cr_expect_str_eq(v[i], buf, "%s: [%zu]", what, i);
	}
	cr_expect_null(v[i], "%s: extra [%zu] '%s'", what, i, v[i]);
}

Test(config, read_write_paths)
{
	static const struct {
		const char *lines;
		const char *read[MAXW], *write[MAXW];	/* "%s" = the ini's directory; none = NULL */
	} cases[] = {
		{ "read = data", { "%s/data" }, { NULL } },
		{ "write = out", { NULL }, { "%s/out" } },
		{ "read = .", { "%s" }, { NULL } },
		{ "write = ./", { NULL }, { "%s" } },
		{ "read = ./a/b/", { "%s/a/b/" }, { NULL } },
		{ "read = ../up", { "%s/../up" }, { NULL } },
		{ "read = /etc/ssl", { "/etc/ssl" }, { NULL } },
		{ "write = /", { NULL }, { "/" } },
		{ "read = my data", { "%s/my data" }, { NULL } },
		{ "read = a\nread = /b\nread = c", { "%s/a", "/b", "%s/c" }, { NULL } },
		{ "read = a\nwrite = a\nwrite = /w\nread = /r", { "%s/a", "/r" }, { "%s/a", "/w" } },
		{ "; neither", { NULL }, { NULL } },
	};
	const struct service_config *s;
	char ini[256], want[PATH_MAX + 32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(ini, sizeof(ini), "[service:x]\ncommand = a\n%s\n", cases[i].lines);
		s = load_one(ini);
		expect_paths(s->read, cases[i].read, cases[i].lines);
		expect_paths(s->write, cases[i].write, cases[i].lines);
		cr_expect_null(s->allow_domain, "%s", cases[i].lines);
	}
	/* relative to the ini's directory, not the cwd */
	mkdir("sub", 0755);
	write_file("sub/s.ini", "[service:x]\ncommand = a\nread = r\nwrite = ../w\n");
	cr_assert_eq(chdir(".."), 0);
	snprintf(want, sizeof(want), "%s/sub/s.ini", strrchr(tdir, '/') + 1);
	config_free(&cfg);
	cr_assert_eq(config_load(&cfg, want, err, sizeof(err)), 0, "%s", err);
	snprintf(want, sizeof(want), "%s/sub/r", rdir);
	expect_argv(cfg.services[0].read, (const char *const[]){ want, NULL }, "read");
	snprintf(want, sizeof(want), "%s/sub/../w", rdir);
	expect_argv(cfg.services[0].write, (const char *const[]){ want, NULL }, "write");
}

#define L10 "abcdefghij"
#define L63 L10 L10 L10 L10 L10 L10 "abc"

Test(config, allow_domain)
{
	static const struct {
		const char *lines;
		const char *want[MAXW];
	} good[] = {
		{ "allow_domain = api.example.com", { "api.example.com" } },
		{ "allow_domain = *.example.com", { "*.example.com" } },
		{ "allow_domain = localhost", { "localhost" } },
		{ "allow_domain = a", { "a" } },
		{ "allow_domain = *.a", { "*.a" } },
		{ "allow_domain = example.com.", { "example.com." } },
		{ "allow_domain = *.example.com.", { "*.example.com." } },
		{ "allow_domain = API.Example.COM", { "API.Example.COM" } },
		{ "allow_domain = a-b.c--d.example", { "a-b.c--d.example" } },
		{ "allow_domain = xn--bcher-kva.example", { "xn--bcher-kva.example" } },
		{ "allow_domain = 1password.com", { "1password.com" } },
		{ "allow_domain = 127.0.0.1", { "127.0.0.1" } },
		{ "allow_domain = api.example.com:443", { "api.example.com:443" } },
		{ "allow_domain = 127.0.0.1:8443", { "127.0.0.1:8443" } },
		{ "allow_domain = *.example.com:65535", { "*.example.com:65535" } },
		{ "allow_domain = " L63 ".com", { L63 ".com" } },
		{ "allow_domain = api.example.com\nallow_domain = *.cdn.example.net\nallow_domain = localhost",
		  { "api.example.com", "*.cdn.example.net", "localhost" } },
		{ "; none", { NULL } },
	};
	static const char *const bad[] = {
		"a..b", "-", "exa mple.com", "*.", "*", "**.example.com", "*.*.example.com", "*example.com",
		"a*.example.com", "api.*.com", ".", "..", ".example.com", "example..com", "example.com..",
		"*..example.com", "-a.example.com", "a-.example.com", "a.-b.example.com", "example.com-",
		"example.-", "ex_ample.com", "api.example.com:0", "api.example.com:65536",
		"api.example.com:", "api.example.com:08", "api.example.com:+1", "a:1:2",
		"api.example.com:443x", ":443", "https://api.example.com",
		"api.example.com/v1", "user@example.com", "caf\xc3\xa9.example", "[::1]", L63 "d.com",
	};
	const struct service_config *s;
	char ini[512], want[512];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		snprintf(ini, sizeof(ini), "[service:x]\ncommand = a\n%s\n", good[i].lines);
		s = load_one(ini);
		expect_paths(s->allow_domain, good[i].want, good[i].lines);
		cr_expect_null(s->read, "%s", good[i].lines);
		cr_expect_null(s->write, "%s", good[i].lines);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		/* one bad name fails the whole file, good names around it included */
		snprintf(ini, sizeof(ini),
			 "[service:x]\ncommand = a\nallow_domain = ok.example.com\nallow_domain = %s\n"
			 "allow_domain = *.example.org\n",
			 bad[i]);
		snprintf(want, sizeof(want),
			 "services.ini:4: service 'x': bad allow_domain '%s' "
			 "(expected a host name like api.example.com, *.example.com or 10.0.0.1, optionally :PORT)",
			 bad[i]);
		cr_expect_eq(load(ini), -EINVAL, "'%s' accepted", bad[i]);
		cr_expect_str_eq(err, want, "'%s'", bad[i]);
		cr_expect_eq(cfg.n_services, 0, "'%s'", bad[i]);
	}
}

/* A typo must not weaken the sandbox: anything but a known boolean is an error, never "off". */
Test(config, sandbox_bool_typos)
{
	static const char *const keys[] = { "sandbox", "allow_degraded" };
	static const char *const bad[] = {
		"of", "offf", "o", "nope", "n", "y", "2", "-1", "00", "01", "tru", "falsey", "disabled", "none",
		"'off'", "\"off\"", "off!", "off,", "o ff", "off off",
	};
	char ini[256], want[512];
	size_t k, i;

	for (k = 0; k < ARRAY_SIZE(keys); k++) {
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			snprintf(ini, sizeof(ini), "[service:x]\ncommand = a\n%s = %s\n", keys[k], bad[i]);
			snprintf(want, sizeof(want),
				 "services.ini:3: service 'x': bad %s '%s' "
				 "(expected true, false, yes, no, on, off, 1 or 0)",
				 keys[k], bad[i]);
			cr_expect_eq(load(ini), -EINVAL, "%s = %s accepted", keys[k], bad[i]);
			cr_expect_str_eq(err, want, "%s = %s", keys[k], bad[i]);
			cr_expect_eq(cfg.n_services, 0);
		}
	}
}

Test(config, profiles)
{
	static const struct {
		const char *value;
		const char *want;	/* "%s" = the ini's directory */
	} cases[] = {
		{ "default", "default" }, { "node-dev", "node-dev" }, { "my_profile-2", "my_profile-2" },
		{ "p.json", "%s/p.json" }, { "./p.json", "%s/p.json" }, { "conf/agent", "%s/conf/agent" },
		{ "conf/../p.json", "%s/p.json" }, { "link.json", "%s/p.json" },
	};
	const struct service_config *s;
	char ini[PATH_MAX + 96], want[PATH_MAX + 32], full[PATH_MAX + 32];
	size_t i;

	write_file("p.json", "{}");
	mkdir("conf", 0755);
	write_file("conf/agent", "{}");
	cr_assert_eq(symlink("p.json", "link.json"), 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(ini, sizeof(ini), "[service:x]\ncommand = a\nprofile = %s\n", cases[i].value);
		s = load_one(ini);
		snprintf(want, sizeof(want), cases[i].want, rdir);
		cr_expect_str_eq(s->profile, want, "profile = %s", cases[i].value);
	}
	snprintf(full, sizeof(full), "%s/conf/agent", rdir);
	snprintf(ini, sizeof(ini), "[service:x]\ncommand = a\nprofile = %s\n", full);
	cr_expect_str_eq(load_one(ini)->profile, full);
}

Test(config, env_file)
{
	const struct service_config *s;
	char want[PATH_MAX + 32];

	mkdir("conf", 0755);
	write_file("conf/web.env",
		   "# a comment\n"
		   "\n"
		   "export A=1\n"
		   "  B = two words  \n"
		   "C=\"quoted # not a comment\"\n"
		   "D='single'\n"
		   "E=\n"
		   "F=\"unbalanced\n"
		   "G=\"\"\n"
		   "exportH=8\n"
		   "\tB=again\r\n"
		   "I=a=b\n");
	s = load_one("[service:web]\n"
		     "command = a\n"
		     "env = B=from_ini\n"
		     "env = Z=last\n"
		     "env_file = conf/web.env\n"
		     "env = A=override\n");
	snprintf(want, sizeof(want), "%s/conf/web.env", rdir);
	cr_expect_str_eq(s->env_file, want);
	expect_argv(s->env,
		    (const char *const[]){ "A=override", "B=from_ini", "C=quoted # not a comment", "D=single", "E=",
					   "F=\"unbalanced", "G=", "exportH=8", "I=a=b", "Z=last", NULL },
		    "env");
}

/* ---- continuation lines, comments, syntax ---- */

Test(config, continuation_lines)
{
	static const struct {
		const char *ini;
		const char *argv[MAXW];
	} cases[] = {
		{ "[service:x]\ncommand = node agent.js\n    --port 8080\n\t--verbose\n",
		  { "node", "agent.js", "--port", "8080", "--verbose" } },
		{ "[service:x]\ncommand = a\n\n  b\n; comment\n# comment\n  c\n", { "a", "b", "c" } },
		{ "[service:x]\ncommand = sh -c 'echo\n  hi'\n", { "sh", "-c", "echo hi" } },
		{ "[service:x]\n  command = a b\n", { "a", "b" } },
		{ "[service:x]\ncommand = a\n  restart = never\n", { "a", "restart", "=", "never" } },
		{ "[service:x]\ncommand = a ; inline comment\n  b ; another\n", { "a", "b" } },
		{ "[service:x]\ncommand = a;b c#d\n", { "a;b", "c#d" } },
		{ "[service:x]\ncommand: a b\n", { "a", "b" } },
		{ "[service:x]\r\ncommand = a\r\n  b\r\n", { "a", "b" } },
		{ "\xEF\xBB\xBF[service:x]\ncommand = a\n", { "a" } },
		{ "  [service:x]  \ncommand=a\n", { "a" } },
		{ "[ service:x ] ; comment\ncommand = a\n", { "a" } },
	};
	const struct service_config *s;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		s = load_one(cases[i].ini);
		expect_argv(s->argv, cases[i].argv, cases[i].ini);
		cr_expect_eq(s->restart, RESTART_ON_FAILURE);
	}
	s = load_one("[service:x]\ncommand = a\nenv = A=1\n  2\nenv = B=3\nuser = bob\n  smith\n");
	expect_argv(s->env, (const char *const[]){ "A=1 2", "B=3", NULL }, "env");
	cr_expect_str_eq(s->user, "bob smith");
}

Test(config, line_length_limit)
{
	char ini[4096], want[512], word[300];
	const struct service_config *s;

	/* exactly CONFIG_LINE_MAX characters is fine */
	memset(word, 'a', sizeof(word));
	word[CONFIG_LINE_MAX - 12] = '\0';
	snprintf(ini, sizeof(ini), "[service:x]\ncommand = x %s\n", word);
	cr_assert_eq(strlen(strchr(ini, '\n') + 1), CONFIG_LINE_MAX + 1);
	s = load_one(ini);
	cr_expect_eq(strlen(s->argv[1]), CONFIG_LINE_MAX - 12);

	/* one more is an error (and so the command is missing) */
	snprintf(ini, sizeof(ini), "[service:x]\ncommand = xy %s\n", word);
	cr_expect_eq(load(ini), -EINVAL);
	cr_expect_str_eq(err, "services.ini:2: line too long (200 > 199 characters); "
			      "hint: continue the value on indented lines\n"
			      "services.ini:1: service 'x': missing 'command'");

	/* what inih would cut off never becomes a bogus key */
	memset(word, 'a', sizeof(word));
	word[250 - 7 - 17] = '\0';
	snprintf(ini, sizeof(ini), "[service:x]\ncommand = y\nuser = %s stop_signal=KILL\n", word);
	cr_expect_eq(load(ini), -EINVAL);
	cr_expect_str_eq(err, "services.ini:3: line too long (250 > 199 characters); "
			      "hint: continue the value on indented lines");

	/* a long continuation line: its value and further continuation lines are dropped */
	memset(word, 'b', sizeof(word));
	word[220] = '\0';
	snprintf(ini, sizeof(ini), "[service:x]\ncommand = y\n  %s\n  more\n  restart = 'x\nrestart = never\n", word);
	cr_expect_eq(load(ini), -EINVAL);
	cr_expect_str_eq(err, "services.ini:3: line too long (222 > 199 characters); "
			      "hint: continue the value on indented lines");

	/* a long line right after a header swallows its indented followers too */
	snprintf(ini, sizeof(ini), "[service:x]\n%s = 1\n  bogus = 2\ncommand = y\n", word);
	cr_expect_eq(load(ini), -EINVAL);
	cr_expect_str_eq(err, "services.ini:2: line too long (224 > 199 characters); "
			      "hint: continue the value on indented lines");

	/* a long header: its keys are ignored, not reported against another section */
	snprintf(ini, sizeof(ini), "[service:a]\ncommand = y\n[service:%s]\ncommand = z\nrestart = bad\n", word);
	cr_expect_eq(load(ini), -EINVAL);
	snprintf(want, sizeof(want), "services.ini:3: line too long (%zu > 199 characters); "
		 "hint: continue the value on indented lines", strlen(word) + 10);
	cr_expect_str_eq(err, want);
}

Test(config, empty_fleet)
{
	cr_expect_eq(load(""), 0);
	cr_expect_str_empty(err);
	cr_expect_eq(cfg.n_services, 0);
	cr_expect_eq(load("; nothing\n\n[supervisor]\n"), 0);
	cr_expect_str_empty(err);
	cr_expect_eq(cfg.n_services, 0);
	cr_expect_null(cfg.socket);
}

Test(config, proxy_limits)
{
	static const struct {
		const char *line, *want;
	} bad[] = {
		{ "proxy_max_connections = 0", "proxy_max_connections '0' (expected a number from 1 to 1000000)" },
		{ "proxy_max_connections = 1000001", "proxy_max_connections '1000001' (expected a number from 1 to 1000000)" },
		{ "proxy_max_connections_per_service = x", "proxy_max_connections_per_service 'x' (expected a number from 1 to 1000000)" },
		{ "proxy_max_body = 16Q", "proxy_max_body '16Q' (expected a size like 64K, 16M or 1G)" },
		{ "proxy_idle_timeout = 0", "proxy_idle_timeout '0' (expected a duration greater than 0 like 500ms, 10s, 2m or 1h)" },
		{ "proxy_connect_timeout = soon", "proxy_connect_timeout 'soon' (expected a duration greater than 0 like 500ms, 10s, 2m or 1h)" },
	};
	char ini[256], want[512];

	cr_assert_eq(load("[supervisor]\nproxy_max_connections = 100\n"
			  "proxy_max_connections_per_service = 8\nproxy_max_body = 1M\n"
			  "proxy_idle_timeout = 2s\nproxy_connect_timeout = 500ms\n"
			  "proxy_stream_timeout = 1m\n"),
		     0, "%s", err);
	cr_expect_eq(cfg.proxy.max_connections, 100);
	cr_expect_eq(cfg.proxy.max_connections_per_service, 8);
	cr_expect_eq(cfg.proxy.max_body, 1024 * 1024);
	cr_expect_eq(cfg.proxy.idle_timeout_ms, 2000);
	cr_expect_eq(cfg.proxy.connect_timeout_ms, 500);
	cr_expect_eq(cfg.proxy.stream_timeout_ms, 60000);
	cr_assert_eq(load("[supervisor]\n"), 0);
	cr_expect_eq(cfg.proxy.max_connections, 0, "unset: the built-in default");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(ini, sizeof(ini), "[supervisor]\n%s\n", bad[i].line);
		snprintf(want, sizeof(want), "services.ini:2: supervisor: bad %s", bad[i].want);
		cr_expect_eq(load(ini), -EINVAL, "%s", bad[i].line);
		cr_expect_str_eq(err, want);
	}
}

Test(config, find)
{
	cr_assert_eq(load("[service:a]\ncommand = x\n[service:b-2]\ncommand = y\n"), 0, "%s", err);
	cr_assert_eq(cfg.n_services, 2);
	cr_expect_eq(config_find(&cfg, "a"), &cfg.services[0]);
	cr_expect_eq(config_find(&cfg, "b-2"), &cfg.services[1]);
	cr_expect_eq(cfg.services[1].line, 3);
	cr_expect_null(config_find(&cfg, "c"));
	cr_expect_null(config_find(&cfg, "A"));
}

/* The supervisor moves a service_config out of the config and releases it later. */
Test(config, move_out_and_release)
{
	struct service_config moved;

	cr_assert_eq(load("[service:a]\ncommand = x\nenv = A=1\nuser = u\n[service:b]\ncommand = y\n"), 0,
		     "%s", err);
	moved = cfg.services[0];
	cfg.services[0] = (struct service_config){ 0 };
	cr_expect_null(config_find(&cfg, "a"));
	cr_expect_eq(config_find(&cfg, "b"), &cfg.services[1]);
	cr_expect_str_eq(moved.name, "a");
	cr_expect_str_eq(moved.env[0], "A=1");
	config_service_release(&moved);
	config_service_release(&cfg.services[0]);
	config_free(&cfg);
	config_free(&cfg);
}

Test(config, max_services)
{
	size_t len = (size_t)(CONFIG_MAX_SERVICES + 1) * 40, i, off = 0;
	char *ini = malloc(len), want[128];

	cr_assert_not_null(ini);
	for (i = 0; i < CONFIG_MAX_SERVICES; i++)
		off += (size_t)snprintf(ini + off, len - off, "[service:s%zu]\ncommand = x\n", i);
	cr_expect_eq(load(ini), 0, "%s", err);
	cr_expect_eq(cfg.n_services, CONFIG_MAX_SERVICES);
	snprintf(ini + off, len - off, "[service:one-too-many]\ncommand = x\nbogus = 1\n");
	cr_expect_eq(load(ini), -EINVAL);
	snprintf(want, sizeof(want), "services.ini:%d: too many services (limit %d)", 2 * CONFIG_MAX_SERVICES + 1,
		 CONFIG_MAX_SERVICES);
	cr_expect_str_eq(err, want);
	cr_expect_eq(cfg.n_services, 0, "a failed load leaves nothing behind");
	free(ini);
}

/* ---- every error message ---- */

Test(config, errors)
{
	static const struct {
		const char *ini;
		const char *want;	/* "%s" = the ini's directory */
	} cases[] = {
		/* sections */
		{ "[servce:x]\ncommand = a\n",
		  "services.ini:1: unknown section '[servce:x]'; expected [supervisor], [service:NAME] or "
		  "[credential:NAME]" },
		{ "[]\n", "services.ini:1: unknown section '[]'; expected [supervisor], [service:NAME] or "
		  "[credential:NAME]" },
		{ "[service:]\ncommand = a\n", "services.ini:1: empty service name in [service:]" },
		{ "[service:a b]\ncommand = a\n",
		  "services.ini:1: bad service name 'a b' (use A-Z a-z 0-9 _ . -, not starting with '.' or '-')" },
		{ "[service:.x]\n",
		  "services.ini:1: bad service name '.x' (use A-Z a-z 0-9 _ . -, not starting with '.' or '-')" },
		{ "[service:-x]\n",
		  "services.ini:1: bad service name '-x' (use A-Z a-z 0-9 _ . -, not starting with '.' or '-')" },
		{ "[service:a/b]\n",
		  "services.ini:1: bad service name 'a/b' (use A-Z a-z 0-9 _ . -, not starting with '.' or '-')" },
		{ "[service:caf\xc3\xa9]\n",
		  "services.ini:1: bad service name 'caf\xc3\xa9' (use A-Z a-z 0-9 _ . -, not starting with '.' or '-')" },
		{ "[service:all]\ncommand = a\n", "services.ini:1: service name 'all' is reserved" },
		{ "[service:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n",
		  "services.ini:1: service name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' "
		  "too long (65 > 64 characters)" },
		{ "[service:a]\ncommand = x\n[service:a]\ncommand = y\n",
		  "services.ini:3: duplicate service 'a' (first defined on line 1)" },
		{ "[service:x\ncommand = a\n", "services.ini:1: missing ']' in section header '[service:x'" },
		{ "[service:x ;]\ncommand = a\n", "services.ini:1: missing ']' in section header '[service:x ;]'" },
		/* keys */
		{ "command = a\n",
		  "services.ini:1: key 'command' before any section; hint: start with [supervisor] or [service:NAME]" },
		{ "[service:x]\ncommand = a\nrestrat = always\n", "services.ini:3: unknown key 'restrat' in [service:x]" },
		{ "[service:x]\ncommand = a\nsocket = /s\n", "services.ini:3: unknown key 'socket' in [service:x]" },
		{ "[supervisor]\ncommand = a\n", "services.ini:2: unknown key 'command' in [supervisor]" },
		{ "[service:x]\ncommand = a\nrestart = never\nrestart = always\n",
		  "services.ini:4: duplicate key 'restart' in [service:x] (first set on line 3)" },
		{ "[service:x]\ncommand = a\ncommand = b\n",
		  "services.ini:3: duplicate key 'command' in [service:x] (first set on line 2)" },
		{ "[supervisor]\nsocket = /a\nsocket = /b\n",
		  "services.ini:3: duplicate key 'socket' in [supervisor] (first set on line 2)" },
		{ "[supervisor]\nlog_dir = /a\n[service:x]\ncommand = a\n[supervisor]\nlog_dir = /b\n",
		  "services.ini:6: duplicate key 'log_dir' in [supervisor] (first set on line 2)" },
		{ "[service:x]\ncommand = a\n= b\n", "services.ini:3: missing key name in '= b'" },
		{ "[service:x]\ncommand = a\njunk\n",
		  "services.ini:3: expected 'key = value' or '[section]', got 'junk'" },
		{ "[service:x]\nrestart = always\n", "services.ini:1: service 'x': missing 'command'" },
		{ "[service:x]\n", "services.ini:1: service 'x': missing 'command'" },
		/* values */
		{ "[service:x]\ncommand =\n", "services.ini:2: service 'x': empty value for 'command'" },
		{ "[service:x]\ncommand = ''\n", "services.ini:2: service 'x': bad command: empty command" },
		{ "[service:x]\ncommand = node 'x\n", "services.ini:2: service 'x': bad command: unterminated single quote" },
		{ "[service:x]\ncommand = a\ncwd =\n", "services.ini:3: service 'x': empty value for 'cwd'" },
		{ "[service:x]\ncommand = a\nuser = ; nobody\n", "services.ini:3: service 'x': empty value for 'user'" },
		{ "[service:x]\ncommand = a\nenv = FOO\n",
		  "services.ini:3: service 'x': bad env 'FOO' (expected KEY=VALUE with KEY of [A-Za-z_][A-Za-z0-9_]*)" },
		{ "[service:x]\ncommand = a\nenv = 1X=2\n",
		  "services.ini:3: service 'x': bad env '1X=2' (expected KEY=VALUE with KEY of [A-Za-z_][A-Za-z0-9_]*)" },
		{ "[service:x]\ncommand = a\nenv = A B=1\n",
		  "services.ini:3: service 'x': bad env 'A B=1' (expected KEY=VALUE with KEY of [A-Za-z_][A-Za-z0-9_]*)" },
		{ "[service:x]\ncommand = a\nenv = =1\n",
		  "services.ini:3: service 'x': bad env '=1' (expected KEY=VALUE with KEY of [A-Za-z_][A-Za-z0-9_]*)" },
		{ "[service:x]\ncommand = a\nenv_file = missing.env\n",
		  "services.ini:3: service 'x': env_file 'missing.env': cannot open: No such file or directory" },
		{ "[service:x]\ncommand = a\nenv_file = .\n",
		  "services.ini:3: service 'x': env_file '.': cannot read: Is a directory" },
		{ "[service:x]\ncommand = a\nprofile = a b\n",
		  "services.ini:3: service 'x': bad profile 'a b' (expected a profile name of [A-Za-z0-9_-] "
		  "or a path to a .json file)" },
		{ "[service:x]\ncommand = a\nprofile = node.dev\n",
		  "services.ini:3: service 'x': bad profile 'node.dev' (expected a profile name of [A-Za-z0-9_-] "
		  "or a path to a .json file)" },
		{ "[service:x]\ncommand = a\nprofile = nope.json\n",
		  "services.ini:3: service 'x': profile '%s/nope.json': No such file or directory" },
		{ "[service:x]\ncommand = a\nprofile = ./\n",
		  "services.ini:3: service 'x': profile '%s': not a regular file" },
		{ "[service:x]\ncommand = a\nautostart = maybe\n",
		  "services.ini:3: service 'x': bad autostart 'maybe' (expected true, false, yes, no, on, off, 1 or 0)" },
		{ "[service:x]\ncommand = a\nsandbox = of\n",
		  "services.ini:3: service 'x': bad sandbox 'of' (expected true, false, yes, no, on, off, 1 or 0)" },
		{ "[service:x]\ncommand = a\nsandbox =\n", "services.ini:3: service 'x': empty value for 'sandbox'" },
		{ "[service:x]\ncommand = a\nsandbox = ; off\n", "services.ini:3: service 'x': empty value for 'sandbox'" },
		{ "[service:x]\ncommand = a\nsandbox = on\nsandbox = off\n",
		  "services.ini:4: duplicate key 'sandbox' in [service:x] (first set on line 3)" },
		{ "[service:x]\ncommand = a\nsandbx = off\n", "services.ini:3: unknown key 'sandbx' in [service:x]" },
		{ "[supervisor]\nsandbox = off\n", "services.ini:2: unknown key 'sandbox' in [supervisor]" },
		{ "[service:x]\ncommand = a\nallow_degraded = maybe\n",
		  "services.ini:3: service 'x': bad allow_degraded 'maybe' (expected true, false, yes, no, on, off, 1 or 0)" },
		{ "[service:x]\ncommand = a\nallow_degraded = yes\nallow_degraded = yes\n",
		  "services.ini:4: duplicate key 'allow_degraded' in [service:x] (first set on line 3)" },
		{ "[service:x]\ncommand = a\nread =\n", "services.ini:3: service 'x': empty value for 'read'" },
		{ "[service:x]\ncommand = a\nwrite =\n", "services.ini:3: service 'x': empty value for 'write'" },
		{ "[service:x]\ncommand = a\nallow_domain =\n",
		  "services.ini:3: service 'x': empty value for 'allow_domain'" },
		{ "[service:x]\ncommand = a\nallow_domain = a..b\n",
		  "services.ini:3: service 'x': bad allow_domain 'a..b' "
		  "(expected a host name like api.example.com, *.example.com or 10.0.0.1, optionally :PORT)" },
		{ "[supervisor]\nread = /etc\n", "services.ini:2: unknown key 'read' in [supervisor]" },
		{ "[service:x]\ncommand = a\nrestart = on-falure\n",
		  "services.ini:3: service 'x': bad restart 'on-falure' (expected always, on-failure or never)" },
		{ "[service:x]\ncommand = a\nrestart = Always\n",
		  "services.ini:3: service 'x': bad restart 'Always' (expected always, on-failure or never)" },
		{ "[service:x]\ncommand = a\nsuccess_exit_codes = 256\n",
		  "services.ini:3: service 'x': bad success_exit_codes '256' (expected up to 16 exit codes 0-255 "
		  "separated by commas or spaces)" },
		{ "[service:x]\ncommand = a\nsuccess_exit_codes = 0;1\n",
		  "services.ini:3: service 'x': bad success_exit_codes '0;1' (expected up to 16 exit codes 0-255 "
		  "separated by commas or spaces)" },
		{ "[service:x]\ncommand = a\nsuccess_exit_codes = -1\n",
		  "services.ini:3: service 'x': bad success_exit_codes '-1' (expected up to 16 exit codes 0-255 "
		  "separated by commas or spaces)" },
		{ "[service:x]\ncommand = a\nsuccess_exit_codes = ,\n",
		  "services.ini:3: service 'x': bad success_exit_codes ',' (expected up to 16 exit codes 0-255 "
		  "separated by commas or spaces)" },
		{ "[service:x]\ncommand = a\nsuccess_exit_codes = 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
		  "services.ini:3: service 'x': bad success_exit_codes '0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16' "
		  "(expected up to 16 exit codes 0-255 separated by commas or spaces)" },
		{ "[service:x]\ncommand = a\nstart_secs = 5x\n",
		  "services.ini:3: service 'x': bad start_secs '5x' (expected a duration like 500ms, 10s, 2m or 1h)" },
		{ "[service:x]\ncommand = a\nstart_secs = -1\n",
		  "services.ini:3: service 'x': bad start_secs '-1' (expected a duration like 500ms, 10s, 2m or 1h)" },
		{ "[service:x]\ncommand = a\nrestart_delay = 1.5s\n",
		  "services.ini:3: service 'x': bad restart_delay '1.5s' (expected a duration like 500ms, 10s, 2m or 1h)" },
		{ "[service:x]\ncommand = a\nrestart_delay_max = 99999999999999999999\n",
		  "services.ini:3: service 'x': bad restart_delay_max '99999999999999999999' "
		  "(expected a duration like 500ms, 10s, 2m or 1h)" },
		{ "[service:x]\ncommand = a\nreset_after = 0\n",
		  "services.ini:3: service 'x': bad reset_after '0' "
		  "(expected a duration greater than 0 like 500ms, 10s, 2m or 1h)" },
		{ "[service:x]\ncommand = a\nstop_timeout = 0ms\n",
		  "services.ini:3: service 'x': bad stop_timeout '0ms' "
		  "(expected a duration greater than 0 like 500ms, 10s, 2m or 1h)" },
		{ "[service:x]\ncommand = a\nrestart_delay = 5s\nrestart_delay_max = 2s\n",
		  "services.ini:4: service 'x': restart_delay_max (2000ms) is less than restart_delay (5000ms)" },
		{ "[service:x]\ncommand = a\nrestart_delay = 2m\n",
		  "services.ini:3: service 'x': restart_delay_max (60000ms) is less than restart_delay (120000ms)" },
		{ "[service:x]\ncommand = a\nstart_limit = 0/60s\n",
		  "services.ini:3: service 'x': bad start_limit '0/60s' (expected COUNT/DURATION like 5/60s, "
		  "COUNT >= 1 and DURATION > 0)" },
		{ "[service:x]\ncommand = a\nstart_limit = 5\n",
		  "services.ini:3: service 'x': bad start_limit '5' (expected COUNT/DURATION like 5/60s, "
		  "COUNT >= 1 and DURATION > 0)" },
		{ "[service:x]\ncommand = a\nstart_limit = 5/0s\n",
		  "services.ini:3: service 'x': bad start_limit '5/0s' (expected COUNT/DURATION like 5/60s, "
		  "COUNT >= 1 and DURATION > 0)" },
		{ "[service:x]\ncommand = a\nstart_limit = /60s\n",
		  "services.ini:3: service 'x': bad start_limit '/60s' (expected COUNT/DURATION like 5/60s, "
		  "COUNT >= 1 and DURATION > 0)" },
		{ "[service:x]\ncommand = a\nstart_limit = 5/1y\n",
		  "services.ini:3: service 'x': bad start_limit '5/1y' (expected COUNT/DURATION like 5/60s, "
		  "COUNT >= 1 and DURATION > 0)" },
		{ "[service:x]\ncommand = a\nstart_limit = 4294967296/1s\n",
		  "services.ini:3: service 'x': bad start_limit '4294967296/1s' (expected COUNT/DURATION like 5/60s, "
		  "COUNT >= 1 and DURATION > 0)" },
		{ "[service:x]\ncommand = a\nstop_signal = FOO\n",
		  "services.ini:3: service 'x': bad stop_signal 'FOO' (expected a signal name or number like TERM, "
		  "SIGINT or 15)" },
		{ "[service:x]\ncommand = a\nstop_signal = 0\n",
		  "services.ini:3: service 'x': bad stop_signal '0' (expected a signal name or number like TERM, "
		  "SIGINT or 15)" },
		{ "[service:x]\ncommand = a\nlog_max_size = 10X\n",
		  "services.ini:3: service 'x': bad log_max_size '10X' (expected a size like 64K, 10M or 1G)" },
		{ "[service:x]\ncommand = a\nlog_backups = 101\n",
		  "services.ini:3: service 'x': bad log_backups '101' (expected a number 0-100)" },
		{ "[service:x]\ncommand = a\nlog_backups = -1\n",
		  "services.ini:3: service 'x': bad log_backups '-1' (expected a number 0-100)" },
		{ "[supervisor]\nsocket =\n", "services.ini:2: supervisor: empty value for 'socket'" },
		/* all problems are reported, in order, and parsing goes on */
		{ "[service:a]\ncommand = x\nrestart = sometimes\nbogus = 1\n  continued\n[servce:b]\ncommand = y\n"
		  "[service:c]\nstart_secs = soon\n[service:a]\n",
		  "services.ini:3: service 'a': bad restart 'sometimes' (expected always, on-failure or never)\n"
		  "services.ini:4: unknown key 'bogus' in [service:a]\n"
		  "services.ini:6: unknown section '[servce:b]'; expected [supervisor], [service:NAME] or [credential:NAME]\n"
		  "services.ini:9: service 'c': bad start_secs 'soon' (expected a duration like 500ms, 10s, 2m or 1h)\n"
		  "services.ini:8: service 'c': missing 'command'\n"
		  "services.ini:10: duplicate service 'a' (first defined on line 1)" },
	};
	char want[1024];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(want, sizeof(want), cases[i].want, rdir);
		cr_expect_eq(load(cases[i].ini), -EINVAL, "case %zu:\n%s", i, cases[i].ini);
		cr_expect_str_eq(err, want, "case %zu:\n%s", i, cases[i].ini);
		cr_expect_eq(cfg.n_services, 0);
		cr_expect_null(cfg.path);
	}
}

Test(config, socket_path_length)
{
	char ini[512], want[512], name[128];

	memset(name, 'a', sizeof(name));
	name[107 - 10] = '\0';
	snprintf(ini, sizeof(ini), "[supervisor]\nsocket = /run/%s.sock\n", name);
	cr_expect_eq(load(ini), 0, "%s", err);
	cr_expect_eq(strlen(cfg.socket), 107);
	name[107 - 10] = 'a';
	name[108 - 10] = '\0';
	snprintf(ini, sizeof(ini), "[supervisor]\nsocket = /run/%s.sock\n", name);
	cr_expect_eq(load(ini), -EINVAL);
	snprintf(want, sizeof(want), "services.ini:2: supervisor: socket path '/run/%s.sock' too long "
		 "(108 > 107 bytes); hint: use a shorter path", name);
	cr_expect_str_eq(err, want);
}

Test(config, env_file_errors)
{
	write_file("bad.env", "A=1\njunk\n1BAD=x\nexport =y\nB=2\n");
	cr_expect_eq(load("[service:web]\ncommand = a\nenv_file = bad.env\n"), -EINVAL);
	cr_expect_str_eq(err,
			 "services.ini:3: service 'web': bad.env:2: bad line 'junk' "
			 "(expected KEY=VALUE with KEY of [A-Za-z_][A-Za-z0-9_]*)\n"
			 "services.ini:3: service 'web': bad.env:3: bad line '1BAD=x' "
			 "(expected KEY=VALUE with KEY of [A-Za-z_][A-Za-z0-9_]*)\n"
			 "services.ini:3: service 'web': bad.env:4: bad line '=y' "
			 "(expected KEY=VALUE with KEY of [A-Za-z_][A-Za-z0-9_]*)");
}

static void become_user(void);

Test(config, unreadable_env_file)
{
	write_file("secret.env", "A=1\n");
	write_file("services.ini", "[service:web]\ncommand = a\nenv_file = secret.env\n");
	cr_assert_eq(chmod("secret.env", 0), 0);
	cr_assert_eq(chmod(".", 0755), 0);
	become_user();
	if (faccessat(AT_FDCWD, "secret.env", R_OK, AT_EACCESS) == 0) {
		teardown();	/* a skipped test skips .fini */
		cr_skip_test("mode 000 files stay readable (CAP_DAC_OVERRIDE)");
	}
	cr_expect_eq(config_load(&cfg, "services.ini", err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "services.ini:3: service 'web': env_file 'secret.env': cannot open: Permission denied");
}

Test(config, long_value)
{
	size_t len = 400 * 200, off = 0, i;
	char *ini = malloc(len);

	cr_assert_not_null(ini);
	off += (size_t)snprintf(ini + off, len - off, "[service:x]\ncommand = a\n");
	for (i = 0; i < 360; i++)
		off += (size_t)snprintf(ini + off, len - off, "  %0190d\n", 0);
	cr_expect_eq(load(ini), -EINVAL);
	cr_expect_str_eq(err, "services.ini:2: service 'x': value of 'command' too long (limit 65536 bytes)");
	free(ini);
}

Test(config, nul_byte)
{
	static const char ini[] = "[service:x]\ncommand = a\0b\n";
	FILE *f = fopen("services.ini", "w");

	cr_assert_not_null(f);
	fwrite(ini, 1, sizeof(ini) - 1, f);
	fclose(f);
	cr_expect_eq(config_load(&cfg, "services.ini", err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "services.ini:2: NUL byte in line\nservices.ini:1: service 'x': missing 'command'");
}

Test(config, missing_file)
{
	snprintf(err, sizeof(err), "stale");
	cr_expect_eq(config_load(&cfg, "nope.ini", err, sizeof(err)), -ENOENT);
	cr_expect_str_eq(err, "nope.ini: cannot open: No such file or directory");
	cr_expect_null(cfg.path);
	cr_expect_eq(config_load(&cfg, ".", err, sizeof(err)), -EISDIR);
	cr_expect_str_eq(err, ".: cannot read: Is a directory");
}

Test(config, error_buffer_is_bounded)
{
	size_t len = 300 * 40, off = 0, i;
	char *ini = malloc(len), small[200];

	cr_assert_not_null(ini);
	off += (size_t)snprintf(ini + off, len - off, "[service:x]\ncommand = a\n");
	for (i = 0; i < 300; i++)
		off += (size_t)snprintf(ini + off, len - off, "bogus%zu = 1\n", i);
	write_file("services.ini", ini);
	cr_expect_eq(config_load(&cfg, "services.ini", small, sizeof(small)), -EINVAL);
	cr_expect_str_eq(small, "services.ini:3: unknown key 'bogus0' in [service:x]\n"
				"services.ini:4: unknown key 'bogus1' in [service:x]\n"
				"services.ini:5: unknown key 'bogus2' in [service:x]\n...");
	cr_expect_eq(config_load(&cfg, "services.ini", err, sizeof(err)), -EINVAL);
	cr_expect_lt(strlen(err), sizeof(err));
	cr_expect_str_eq(err + strlen(err) - 4, "\n...");
	cr_expect_eq(config_load(&cfg, "services.ini", NULL, 0), -EINVAL);
	free(ini);
}

/* ---- service_config_equal ---- */

static const char base_ini[] =
	"[service:x]\n"
	"command = node agent.js\n"
	"cwd = /srv\n"
	"env = A=1\n"
	"env = B=2\n"
	"user = agent\n"
	"profile = node-dev\n"
	"autostart = true\n"
	"restart = on-failure\n"
	"success_exit_codes = 0 1\n"
	"start_secs = 1s\n"
	"restart_delay = 1s\n"
	"restart_delay_max = 60s\n"
	"reset_after = 30s\n"
	"start_limit = 5/60s\n"
	"stop_signal = TERM\n"
	"stop_timeout = 10s\n"
	"log_max_size = 10M\n"
	"log_backups = 5\n"
	"sandbox = true\n"
	"allow_degraded = false\n"
	"read = /etc\n"
	"write = /var/tmp\n"
	"allow_domain = api.example.com\n";

/* Replaces the line starting with "key =" in base_ini by line (or appends it). */
static void edit_base(char *out, size_t len, const char *key, const char *line)
{
	const char *at = strstr(base_ini, key), *eol;

	cr_assert_not_null(at, "%s", key);
	eol = strchr(at, '\n');
	snprintf(out, len, "%.*s%s%s", (int)(at - base_ini), base_ini, line, eol);
}

Test(config, equal)
{
	static const struct {
		const char *key;
		const char *line;
	} changes[] = {
		{ "[service:x]", "[service:y]" },
		{ "command", "command = node agent.js --x" },
		{ "command", "command = 'node agent.js'" },
		{ "cwd", "cwd = /srv2" },
		{ "env = A", "env = A=10" },
		{ "env = B", "env = B=2\nenv = C=3" },
		{ "env = A", "env = B=2\nenv = A=1" },
		{ "user", "user = other" },
		{ "user", "; no user" },
		{ "profile", "profile = python-dev" },
		{ "autostart", "autostart = false" },
		{ "restart =", "restart = always" },
		{ "success_exit_codes", "success_exit_codes = 0" },
		{ "success_exit_codes", "success_exit_codes = 1 0" },
		{ "start_secs", "start_secs = 2s" },
		{ "restart_delay =", "restart_delay = 2s" },
		{ "restart_delay_max", "restart_delay_max = 61s" },
		{ "reset_after", "reset_after = 31s" },
		{ "start_limit", "start_limit = 6/60s" },
		{ "start_limit", "start_limit = 5/61s" },
		{ "stop_signal", "stop_signal = INT" },
		{ "stop_timeout", "stop_timeout = 11s" },
		{ "log_max_size", "log_max_size = 11M" },
		{ "log_backups", "log_backups = 6" },
		{ "sandbox", "sandbox = false" },
		{ "allow_degraded", "allow_degraded = true" },
		{ "read =", "read = /usr" },
		{ "read =", "; no read" },
		{ "read =", "read = /etc\nread = /usr" },
		{ "read =", "write = /etc" },
		{ "write", "write = /var/tmp/x" },
		{ "write", "; no write" },
		{ "write", "read = /var/tmp" },
		{ "write", "write = /var/tmp\nwrite = /srv" },
		{ "allow_domain", "allow_domain = *.example.com" },
		{ "allow_domain", "; no allow_domain" },
		{ "allow_domain", "allow_domain = api.example.com\nallow_domain = cdn.example.com" },
		{ "allow_domain", "allow_domain = cdn.example.com\nallow_domain = api.example.com" },
	};
	struct config a = { 0 };
	char ini[2048];
	size_t i;

	write_file("x.env", "A=1\n");
	cr_assert_eq(load(base_ini), 0, "%s", err);
	a = cfg;
	cfg = (struct config){ 0 };

	/* same definition, other lines and spellings */
	snprintf(ini, sizeof(ini), "; moved down\n\n%s", base_ini);
	cr_assert_eq(load(ini), 0, "%s", err);
	cr_expect_neq(a.services[0].line, cfg.services[0].line);
	cr_expect(service_config_equal(&a.services[0], &cfg.services[0]));
	edit_base(ini, sizeof(ini), "stop_signal", "stop_signal = 15");
	cr_assert_eq(load(ini), 0, "%s", err);
	cr_expect(service_config_equal(&a.services[0], &cfg.services[0]));
	edit_base(ini, sizeof(ini), "env = A", "env = A=0\nenv = A=1");
	cr_assert_eq(load(ini), 0, "%s", err);
	cr_expect(service_config_equal(&a.services[0], &cfg.services[0]));
	edit_base(ini, sizeof(ini), "sandbox", "sandbox = yes");
	cr_assert_eq(load(ini), 0, "%s", err);
	cr_expect(service_config_equal(&a.services[0], &cfg.services[0]));
	edit_base(ini, sizeof(ini), "sandbox", "; sandbox defaults to on");
	cr_assert_eq(load(ini), 0, "%s", err);
	cr_expect(service_config_equal(&a.services[0], &cfg.services[0]));
	edit_base(ini, sizeof(ini), "allow_degraded", "allow_degraded = off");
	cr_assert_eq(load(ini), 0, "%s", err);
	cr_expect(service_config_equal(&a.services[0], &cfg.services[0]));
	edit_base(ini, sizeof(ini), "allow_degraded", "; allow_degraded defaults to off");
	cr_assert_eq(load(ini), 0, "%s", err);
	cr_expect(service_config_equal(&a.services[0], &cfg.services[0]));

	for (i = 0; i < ARRAY_SIZE(changes); i++) {
		edit_base(ini, sizeof(ini), changes[i].key, changes[i].line);
		cr_assert_eq(load(ini), 0, "%s: %s", changes[i].line, err);
		cr_expect_not(service_config_equal(&a.services[0], &cfg.services[0]), "%s", changes[i].line);
		cr_expect_not(service_config_equal(&cfg.services[0], &a.services[0]), "%s", changes[i].line);
	}
	/* env_file is part of the definition even when it adds nothing new */
	edit_base(ini, sizeof(ini), "env = A", "env_file = x.env");
	cr_assert_eq(load(ini), 0, "%s", err);
	cr_expect_not(service_config_equal(&a.services[0], &cfg.services[0]));
	config_free(&a);
	config_free(&a);
	config_free(NULL);
}

Test(config, equal_null_and_empty_vectors)
{
	char *empty[] = { NULL }, *one[] = { "A=1", NULL };
	struct service_config a = { .name = "x", .env = NULL }, b = { .name = "x", .env = empty };
	char ***const lists[] = { &b.read, &b.write, &b.allow_domain, &b.credentials };
	struct credential_config def = { .name = "A=1", .src = { .kind = CRED_ENV, .ref = "X" } };
	size_t i;

	cr_expect(service_config_equal(&a, &b));
	b.env = one;
	cr_expect_not(service_config_equal(&a, &b));
	cr_expect_not(service_config_equal(&b, &a));
	b.env = empty;
	b.user = "u";
	cr_expect_not(service_config_equal(&a, &b));
	b.user = NULL;

	/* the sandbox lists the same way */
	for (i = 0; i < ARRAY_SIZE(lists); i++) {
		*lists[i] = empty;
		cr_expect(service_config_equal(&a, &b), "list %zu", i);
		*lists[i] = one;
		cr_expect_not(service_config_equal(&a, &b), "list %zu", i);
		cr_expect_not(service_config_equal(&b, &a), "list %zu", i);
		*lists[i] = NULL;
	}

	/* the same names with and without the definitions behind them */
	a.credentials = b.credentials = one;
	b.credential_defs = &def;
	cr_expect_not(service_config_equal(&a, &b));
	cr_expect_not(service_config_equal(&b, &a));
	a.credential_defs = &def;
	cr_expect(service_config_equal(&a, &b));
}

/* ---- [credential:NAME] sections ---- */

Test(config, credential_every_key)
{
	const struct credential_config *c;
	const struct service_config *s;
	char want[PATH_MAX + 32];

	cr_assert_eq(load("[service:planner]\n"
			  "command = node agent.js\n"
			  "credentials = openai, anthropic\n"
			  "\n"
			  "[credential:openai]\n"
			  "source = keyring:openai          ; the keyring account\n"
			  "route = openai\n"
			  "upstream = https://api.example.com/v1\n"
			  "ca = certs/ca.pem\n"
			  "header = Authorization\n"
			  "format = Bearer {}\n"
			  "env = OPENAI_API_KEY\n"
			  "[credential:anthropic]\n"
			  "source = file:keys/anthropic\n"),
		     0, "%s", err);
	cr_assert_eq(cfg.n_credentials, 2);
	c = &cfg.credentials[0];
	cr_expect_str_eq(c->name, "openai");
	cr_expect_eq(c->line, 5);
	cr_expect_str_eq(c->source, "keyring:openai");
	cr_expect_eq(c->src.kind, CRED_KEYRING);
	cr_expect_str_eq(c->src.ref, "openai");
	cr_expect_str_eq(c->route, "openai");
	cr_expect_str_eq(c->upstream, "https://api.example.com/v1");
	snprintf(want, sizeof(want), "%s/certs/ca.pem", rdir);
	cr_expect_str_eq(c->ca, want);
	cr_expect_str_eq(c->header, "Authorization");
	cr_expect_str_eq(c->format, "Bearer {}");
	cr_expect_str_eq(c->env, "OPENAI_API_KEY");
	c = &cfg.credentials[1];
	cr_expect_str_eq(c->name, "anthropic");
	cr_expect_eq(c->line, 13);
	cr_expect_str_eq(c->source, "file:keys/anthropic");
	cr_expect_eq(c->src.kind, CRED_FILE);
	snprintf(want, sizeof(want), "%s/keys/anthropic", rdir);
	cr_expect_str_eq(c->src.ref, want);
	cr_expect_null(c->route);
	cr_expect_null(c->upstream);
	cr_expect_null(c->ca);
	cr_expect_null(c->header);
	cr_expect_null(c->format);
	cr_expect_null(c->env);

	cr_expect_eq(config_find_credential(&cfg, "openai"), &cfg.credentials[0]);
	cr_expect_eq(config_find_credential(&cfg, "anthropic"), &cfg.credentials[1]);
	cr_expect_null(config_find_credential(&cfg, "OpenAI"));
	cr_expect_null(config_find_credential(&cfg, "planner"));

	/* the service holds the names and its own copies of the sections, defined before or after it */
	cr_assert_eq(cfg.n_services, 1);
	s = &cfg.services[0];
	expect_argv(s->credentials, (const char *const[]){ "openai", "anthropic", NULL }, "credentials");
	cr_expect_eq(s->credentials_line, 3);
	cr_assert_not_null(s->credential_defs);
	cr_expect(config_credential_equal(&s->credential_defs[0], &cfg.credentials[0]));
	cr_expect(config_credential_equal(&s->credential_defs[1], &cfg.credentials[1]));
	cr_expect_neq(s->credential_defs[0].name, cfg.credentials[0].name);
	cr_expect_str_eq(s->credential_defs[1].source, "file:keys/anthropic");
	cr_expect_eq(s->credential_defs[1].line, 13);
}

Test(config, credential_defaults)
{
	cr_assert_eq(load("[credential:openai]\nsource = env:OPENAI_API_KEY\n"
			  "[service:x]\ncommand = a\n"), 0, "%s", err);
	cr_expect_eq(cfg.n_credentials, 1);
	cr_expect_null(cfg.services[0].credentials);
	cr_expect_null(cfg.services[0].credential_defs);
	cr_expect_eq(cfg.services[0].credentials_line, 0);
	cr_expect_eq(load("[credential:openai]\nsource = env:X\n"), 0, "%s", err);
	cr_expect_eq(cfg.n_services, 0);
	cr_expect_eq(load("[service:x]\ncommand = a\n"), 0, "%s", err);
	cr_expect_eq(cfg.n_credentials, 0);
	cr_expect_null(cfg.credentials);
	cr_expect_null(config_find_credential(&cfg, "x"));
}

Test(config, credential_sources)
{
	static const struct {
		const char *value;
		enum cred_kind kind;
		const char *ref;	/* "%s" = the ini's directory */
	} cases[] = {
		{ "keyring:openai", CRED_KEYRING, "openai" },
		{ "keyring:my account", CRED_KEYRING, "my account" },
		{ "file:/etc/nono/openai", CRED_FILE, "/etc/nono/openai" },
		{ "file:///etc/nono/openai", CRED_FILE, "/etc/nono/openai" },
		{ "file:openai.key", CRED_FILE, "%s/openai.key" },
		{ "file:./keys/openai", CRED_FILE, "%s/keys/openai" },
		{ "file:../openai", CRED_FILE, "%s/../openai" },
		{ "env:OPENAI_API_KEY", CRED_ENV, "OPENAI_API_KEY" },
		{ "env://OPENAI_API_KEY", CRED_ENV, "OPENAI_API_KEY" },
		{ "systemd:openai", CRED_SYSTEMD, "openai" },
	};
	char ini[256], want[PATH_MAX + 32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(ini, sizeof(ini), "[credential:c]\nsource = %s\n", cases[i].value);
		cr_assert_eq(load(ini), 0, "%s: %s", cases[i].value, err);
		cr_assert_eq(cfg.n_credentials, 1);
		snprintf(want, sizeof(want), cases[i].ref, rdir);
		cr_expect_str_eq(cfg.credentials[0].source, cases[i].value);
		cr_expect_eq(cfg.credentials[0].src.kind, cases[i].kind, "%s", cases[i].value);
		cr_expect_str_eq(cfg.credentials[0].src.ref, want, "%s", cases[i].value);
	}
	/* relative to the ini's directory, not the cwd */
	mkdir("sub", 0755);
	write_file("sub/s.ini", "[credential:c]\nsource = file:k\nca = ../ca.pem\n");
	cr_assert_eq(chdir(".."), 0);
	snprintf(want, sizeof(want), "%s/sub/s.ini", strrchr(tdir, '/') + 1);
	config_free(&cfg);
	cr_assert_eq(config_load(&cfg, want, err, sizeof(err)), 0, "%s", err);
	snprintf(want, sizeof(want), "%s/sub/k", rdir);
	cr_expect_str_eq(cfg.credentials[0].src.ref, want);
	snprintf(want, sizeof(want), "%s/sub/../ca.pem", rdir);
	cr_expect_str_eq(cfg.credentials[0].ca, want);
}

/* Each line after "source = env:X" in [credential:c]; want = the field it sets. */
Test(config, credential_values)
{
	static const struct {
		const char *line;
		size_t off;
		const char *want;	/* "%s" = the ini's directory */
	} cases[] = {
#define F(m) offsetof(struct credential_config, m)
		{ "route = openai", F(route), "openai" },
		{ "route = google-ai", F(route), "google-ai" },
		{ "route = My_Route-2", F(route), "My_Route-2" },
		{ "route = " L63, F(route), L63 },
		{ "upstream = https://api.example.com/v1", F(upstream), "https://api.example.com/v1" },
		{ "upstream = http://127.0.0.1:8443", F(upstream), "http://127.0.0.1:8443" },
		{ "upstream = HTTPS://API.example.com", F(upstream), "HTTPS://API.example.com" },
		{ "upstream = https://[::1]:9/x?y=1", F(upstream), "https://[::1]:9/x?y=1" },
		{ "ca = ca.pem", F(ca), "%s/ca.pem" },
		{ "ca = ./certs/ca.pem", F(ca), "%s/certs/ca.pem" },
		{ "ca = /etc/ssl/private-ca.pem", F(ca), "/etc/ssl/private-ca.pem" },
		{ "header = Authorization", F(header), "Authorization" },
		{ "header = x-api-key", F(header), "x-api-key" },
		{ "header = X-Goog-Api-Key", F(header), "X-Goog-Api-Key" },
		{ "header = a!#$%&'*+.^_`|~-9", F(header), "a!#$%&'*+.^_`|~-9" },
		{ "format = Bearer {}", F(format), "Bearer {}" },
		{ "format = {}", F(format), "{}" },
		{ "format = token={}; v=1", F(format), "token={}; v=1" },
		{ "format = Basic {} x", F(format), "Basic {} x" },
		{ "env = OPENAI_API_KEY", F(env), "OPENAI_API_KEY" },
		{ "env = _x1", F(env), "_x1" },
#undef F
	};
	char ini[512], want[PATH_MAX + 32];
	const char *got;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(ini, sizeof(ini), "[credential:c]\nsource = env:X\n%s\n", cases[i].line);
		cr_assert_eq(load(ini), 0, "%s: %s", cases[i].line, err);
		got = *(char **)((char *)&cfg.credentials[0] + cases[i].off);
		snprintf(want, sizeof(want), cases[i].want, rdir);
		cr_expect_str_eq(got, want, "%s", cases[i].line);
	}
}

#define SOURCES "keyring:ACCOUNT, file:PATH, env:VAR or systemd:NAME"
#define ROUTE_EXP "(expected a route name of 1-63 characters A-Z a-z 0-9 _ -)"
#define UPSTREAM_EXP "(expected an https:// or http:// URL of at most 512 bytes)"
#define HEADER_EXP "(expected a header name of at most 64 characters like Authorization or x-api-key)"
#define FORMAT_EXP "(expected at most 128 printable characters with exactly one {} where the key goes, like Bearer {})"
#define VAR_EXP "(expected a variable name of at most 64 characters like OPENAI_API_KEY)"
#define NAME_RULE "(use A-Z a-z 0-9 _ . -, not starting with '.' or '-')"
#define L64 L63 "d"

Test(config, credential_errors)
{
	static const struct {
		const char *ini;
		const char *want;	/* "%s" = the ini's directory */
	} cases[] = {
		/* sections */
		{ "[credential:]\nsource = env:X\n", "services.ini:1: empty credential name in [credential:]" },
		{ "[credential:a b]\nsource = env:X\n", "services.ini:1: bad credential name 'a b' " NAME_RULE },
		{ "[credential:.x]\nsource = env:X\n", "services.ini:1: bad credential name '.x' " NAME_RULE },
		{ "[credential:-x]\nsource = env:X\n", "services.ini:1: bad credential name '-x' " NAME_RULE },
		{ "[credential:a/b]\nsource = env:X\n", "services.ini:1: bad credential name 'a/b' " NAME_RULE },
		{ "[credential:all]\nsource = env:X\n", "services.ini:1: credential name 'all' is reserved" },
		{ "[credential:" L63 "aa]\nsource = env:X\n",
		  "services.ini:1: credential name '" L63 "aa' too long (65 > 64 characters)" },
		{ "[credential:openai]\nsource = env:X\n[service:x]\ncommand = a\n[credential:openai]\nsource = env:Y\n",
		  "services.ini:5: duplicate credential 'openai' (first defined on line 1)" },
		{ "[credential:c]\n", "services.ini:1: credential 'c': missing 'source'" },
		{ "[credential:c]\nroute = openai\n[service:x]\ncommand = a\n",
		  "services.ini:1: credential 'c': missing 'source'" },
		{ "[credentials:c]\nsource = env:X\n",
		  "services.ini:1: unknown section '[credentials:c]'; expected [supervisor], [service:NAME] or "
		  "[credential:NAME]" },
		/* keys */
		{ "[credential:c]\nsource = env:X\nsource = env:Y\n",
		  "services.ini:3: duplicate key 'source' in [credential:c] (first set on line 2)" },
		{ "[credential:c]\nsource = env:X\nroute = a\nroute = b\n",
		  "services.ini:4: duplicate key 'route' in [credential:c] (first set on line 3)" },
		{ "[credential:c]\nsource = env:X\nenv = A\nenv = B\n",
		  "services.ini:4: duplicate key 'env' in [credential:c] (first set on line 3)" },
		{ "[credential:c]\nsource = env:X\ncommand = a\n",
		  "services.ini:3: unknown key in [credential:c] (expected one of source, route, upstream, ca, "
		  "header, format, env)" },
		{ "[credential:c]\nsource = env:X\ncredentials = c\n",
		  "services.ini:3: unknown key in [credential:c] (expected one of source, route, upstream, ca, "
		  "header, format, env)" },
		{ "[service:x]\ncommand = a\nsource = env:X\n", "services.ini:3: unknown key 'source' in [service:x]" },
		{ "[service:x]\ncommand = a\nupstream = https://x\n",
		  "services.ini:3: unknown key 'upstream' in [service:x]" },
		{ "[supervisor]\ncredentials = c\n", "services.ini:2: unknown key 'credentials' in [supervisor]" },
		{ "[credential:c]\nsource = env:X\njunk\n",
		  "services.ini:3: expected 'key = value' or '[section]'; hint: the key itself never goes here, "
		  "use source = " SOURCES },
		{ "[credential:c]\nsource = env:X\n= y\n", "services.ini:3: missing key name" },
		/* source */
		{ "[credential:c]\nsource =\n", "services.ini:2: credential 'c': empty value for 'source'" },
		{ "[credential:c]\nsource = openai\n", "services.ini:2: credential 'c': bad source (expected " SOURCES ")" },
		{ "[credential:c]\nsource = Keyring:openai\n",
		  "services.ini:2: credential 'c': bad source (expected " SOURCES ")" },
		{ "[credential:c]\nsource = vault:openai\n",
		  "services.ini:2: credential 'c': bad source (expected " SOURCES ")" },
		{ "[credential:c]\nsource = keyring:\n",
		  "services.ini:2: credential 'c': keyring source: the account is empty; expected " SOURCES },
		{ "[credential:c]\nsource = env:1X\n",
		  "services.ini:2: credential 'c': env source: '1X' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)" },
		{ "[credential:c]\nsource = env:\n",
		  "services.ini:2: credential 'c': env source: '' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)" },
		{ "[credential:c]\nsource = file://keys/k\n",
		  "services.ini:2: credential 'c': file source 'keys/k': the path must be absolute; "
		  "hint: file:/etc/nono/KEY" },
		{ "[credential:c]\nsource = systemd:a/b\n",
		  "services.ini:2: credential 'c': systemd source: the credential name must be 1-255 characters, no '/'" },
		{ "[credential:c]\nsource = systemd:\n",
		  "services.ini:2: credential 'c': systemd source: the credential name must be 1-255 characters, no '/'" },
		/* route overrides */
		{ "[credential:c]\nsource = env:X\nroute =\n", "services.ini:3: credential 'c': empty value for 'route'" },
		{ "[credential:c]\nsource = env:X\nroute = open.ai\n", "services.ini:3: credential 'c': bad route " ROUTE_EXP },
		{ "[credential:c]\nsource = env:X\nroute = a/b\n", "services.ini:3: credential 'c': bad route " ROUTE_EXP },
		{ "[credential:c]\nsource = env:X\nroute = open ai\n", "services.ini:3: credential 'c': bad route " ROUTE_EXP },
		{ "[credential:c]\nsource = env:X\nroute = " L64 "\n", "services.ini:3: credential 'c': bad route " ROUTE_EXP },
		{ "[credential:c]\nsource = env:X\nupstream = api.example.com\n",
		  "services.ini:3: credential 'c': bad upstream " UPSTREAM_EXP },
		{ "[credential:c]\nsource = env:X\nupstream = ftp://example.com\n",
		  "services.ini:3: credential 'c': bad upstream " UPSTREAM_EXP },
		{ "[credential:c]\nsource = env:X\nupstream = https://\n",
		  "services.ini:3: credential 'c': bad upstream " UPSTREAM_EXP },
		{ "[credential:c]\nsource = env:X\nupstream = https:///v1\n",
		  "services.ini:3: credential 'c': bad upstream " UPSTREAM_EXP },
		{ "[credential:c]\nsource = env:X\nupstream = https://a b\n",
		  "services.ini:3: credential 'c': bad upstream " UPSTREAM_EXP },
		{ "[credential:c]\nsource = env:X\nupstream = https//example.com\n",
		  "services.ini:3: credential 'c': bad upstream " UPSTREAM_EXP },
		{ "[credential:c]\nsource = env:X\nca =\n", "services.ini:3: credential 'c': empty value for 'ca'" },
		{ "[credential:c]\nsource = env:X\nheader = Authorization:\n",
		  "services.ini:3: credential 'c': bad header " HEADER_EXP },
		{ "[credential:c]\nsource = env:X\nheader = x api key\n",
		  "services.ini:3: credential 'c': bad header " HEADER_EXP },
		{ "[credential:c]\nsource = env:X\nheader = x-api-k\xc3\xa9y\n",
		  "services.ini:3: credential 'c': bad header " HEADER_EXP },
		{ "[credential:c]\nsource = env:X\nheader = " L64 "e\n",
		  "services.ini:3: credential 'c': bad header " HEADER_EXP },
		{ "[credential:c]\nsource = env:X\nformat = Bearer\n", "services.ini:3: credential 'c': bad format " FORMAT_EXP },
		{ "[credential:c]\nsource = env:X\nformat = {}{}\n", "services.ini:3: credential 'c': bad format " FORMAT_EXP },
		{ "[credential:c]\nsource = env:X\nformat = Bearer { }\n",
		  "services.ini:3: credential 'c': bad format " FORMAT_EXP },
		{ "[credential:c]\nsource = env:X\nformat = Bearer\t{}\n",
		  "services.ini:3: credential 'c': bad format " FORMAT_EXP },
		{ "[credential:c]\nsource = env:X\nformat = {}" L63 L63 "aa\n",
		  "services.ini:3: credential 'c': bad format " FORMAT_EXP },
		{ "[credential:c]\nsource = env:X\nenv = 1X\n", "services.ini:3: credential 'c': bad env " VAR_EXP },
		{ "[credential:c]\nsource = env:X\nenv = A-B\n", "services.ini:3: credential 'c': bad env " VAR_EXP },
		{ "[credential:c]\nsource = env:X\nenv = " L64 "e\n", "services.ini:3: credential 'c': bad env " VAR_EXP },
		/* a service's credentials */
		{ "[credential:openai]\nsource = env:X\n[service:x]\ncommand = a\ncredentials = opnai\n",
		  "services.ini:5: service 'x': unknown credential 'opnai'" },
		{ "[service:x]\ncommand = a\ncredentials = openai\n",
		  "services.ini:3: service 'x': unknown credential 'openai'" },
		{ "[service:x]\ncommand = a\ncredentials =\n", "services.ini:3: service 'x': empty value for 'credentials'" },
		{ "[service:x]\ncommand = a\ncredentials = , ,\n",
		  "services.ini:3: service 'x': bad credentials ', ,' (expected names of [credential:NAME] sections "
		  "separated by commas or spaces)" },
		{ "[service:x]\ncommand = a\ncredentials = a/b\n",
		  "services.ini:3: service 'x': credentials: bad credential name 'a/b' " NAME_RULE },
		{ "[service:x]\ncommand = a\ncredentials = all\n",
		  "services.ini:3: service 'x': credentials: credential name 'all' is reserved" },
		{ "[credential:c]\nsource = env:X\n[service:x]\ncommand = a\ncredentials = c, c\n",
		  "services.ini:5: service 'x': credentials: 'c' listed twice" },
		{ "[credential:c]\nsource = env:X\n[service:x]\ncommand = a\ncredentials = c\ncredentials = c\n",
		  "services.ini:6: duplicate key 'credentials' in [service:x] (first set on line 5)" },
		/* all problems are reported; unknown credentials once the whole file is read */
		{ "[service:x]\ncommand = a\ncredentials = b, a\n  c\n[credential:a]\nsource = sk-live-0123\n"
		  "[service:y]\ncommand = b\ncredentials = a d\n[credential:c]\nroute = ?\n",
		  "services.ini:6: credential 'a': bad source (expected " SOURCES ")\n"
		  "services.ini:11: credential 'c': bad route " ROUTE_EXP "\n"
		  "services.ini:10: credential 'c': missing 'source'\n"
		  "services.ini:3: service 'x': unknown credential 'b'\n"
		  "services.ini:9: service 'y': unknown credential 'd'" },
	};
	char want[1024];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(want, sizeof(want), cases[i].want, rdir);
		cr_expect_eq(load(cases[i].ini), -EINVAL, "case %zu:\n%s", i, cases[i].ini);
		cr_expect_str_eq(err, want, "case %zu:\n%s", i, cases[i].ini);
		cr_expect_eq(cfg.n_services, 0);
		cr_expect_eq(cfg.n_credentials, 0);
		cr_expect_null(cfg.credentials);
	}
}

Test(config, credential_ca_path_length)
{
	size_t len = 64 * 200, off = 0, i;
	char *ini = malloc(len);

	cr_assert_not_null(ini);
	off += (size_t)snprintf(ini + off, len - off, "[credential:c]\nsource = env:X\nca = /%0180d\n", 0);
	for (i = 0; i < 21; i++)
		off += (size_t)snprintf(ini + off, len - off, "  %0190d\n", 0);
	cr_expect_eq(load(ini), -EINVAL);
	/* "/" + 180 + 21 * (1 + 190) = 4192 bytes */
	cr_expect_str_eq(err, "services.ini:3: credential 'c': ca path too long (4192 > 4095 bytes)");
	free(ini);
}

Test(config, too_many_credentials)
{
	size_t len = (size_t)(CONFIG_MAX_CREDENTIALS + 1) * 40, i, off = 0;
	char *ini = malloc(len), want[128];

	cr_assert_not_null(ini);
	for (i = 0; i < CONFIG_MAX_CREDENTIALS; i++)
		off += (size_t)snprintf(ini + off, len - off, "[credential:c%zu]\nsource = env:X\n", i);
	cr_expect_eq(load(ini), 0, "%s", err);
	cr_expect_eq(cfg.n_credentials, CONFIG_MAX_CREDENTIALS);
	snprintf(ini + off, len - off, "[credential:one-too-many]\nsource = env:X\n");
	cr_expect_eq(load(ini), -EINVAL);
	snprintf(want, sizeof(want), "services.ini:%d: too many credentials (limit %d)",
		 2 * CONFIG_MAX_CREDENTIALS + 1, CONFIG_MAX_CREDENTIALS);
	cr_expect_str_eq(err, want);
	free(ini);
}

/* A key pasted where a reference or a setting goes must never reach a message (or a log). */
Test(config, credential_secret_never_echoed)
{
	static const char *const lines[] = {
		"source = " SECRET,
		"source = sk:" SECRET,
		"source = Bearer " SECRET,
		"source = keyring:" SECRET "\x01",
		"source = systemd:" SECRET "/x",
		"route = " SECRET ".x",
		"upstream = " SECRET,
		"upstream = https://" SECRET " x",
		"header = Authorization: Bearer " SECRET,
		"format = Bearer " SECRET,
		"env = OPENAI_API_KEY=" SECRET,
		SECRET,
		"= " SECRET,
		SECRET "==",
		"api_key = " SECRET,
		"OPENAI_API_KEY: " SECRET,
		"key " SECRET " = x",
	};
	char ini[512];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lines); i++) {
		snprintf(ini, sizeof(ini), "[credential:openai]\n%s\n", lines[i]);
		cr_expect_eq(load(ini), -EINVAL, "%s", lines[i]);
		cr_expect_str_not_empty(err, "%s", lines[i]);
		cr_expect_null(strstr(err, "sk-live"), "%s: %s", lines[i], err);
		cr_expect_null(strstr(err, "0123456789abcdef"), "%s: %s", lines[i], err);
	}
	cr_expect_eq(load("[credential:openai]\nsource = " SECRET "\n"), -EINVAL);
	cr_expect_str_eq(err, "services.ini:2: credential 'openai': bad source (expected " SOURCES ")");
}

/* ---- reload: a changed credential section changes the services that use it ---- */

static const char cred_ini[] =
	"[credential:openai]\n"
	"source = keyring:openai\n"
	"route = openai\n"
	"upstream = https://api.example.com/v1\n"
	"ca = /etc/ca.pem\n"
	"header = Authorization\n"
	"format = Bearer {}\n"
	"env = OPENAI_API_KEY\n"
	"[credential:anthropic]\n"
	"source = env:ANTHROPIC_KEY\n"
	"[credential:unused]\n"
	"source = file:/etc/unused\n"
	"[service:x]\n"
	"command = a\n"
	"credentials = openai, anthropic\n";

/* Replaces the first line starting with key in cred_ini by line. */
static void edit_cred(char *out, size_t len, const char *key, const char *line)
{
	const char *at = strstr(cred_ini, key), *eol;

	cr_assert_not_null(at, "%s", key);
	eol = strchr(at, '\n');
	snprintf(out, len, "%.*s%s%s", (int)(at - cred_ini), cred_ini, line, eol);
}

Test(config, credential_equal)
{
	static const struct {
		const char *key, *line;
	} same[] = {
		{ "[credential:openai]", "; moved\n[credential:openai]" },
		{ "source = keyring", "source = keyring:openai ; comment" },
		{ "source = file", "source = file:///etc/unused" },
		{ "source = file", "source = file:/etc/other" },
		{ "[credential:unused]", "[credential:unused2]" },
		{ "[service:x]", "[credential:more]\nsource = env:M\n[service:x]" },
		{ "credentials", "credentials = openai anthropic" },
		{ "credentials", "credentials = openai,anthropic," },
	}, changed[] = {
		{ "source = keyring", "source = keyring:openai2" },
		{ "source = keyring", "source = env:openai" },
		{ "source = env", "source = env:OTHER" },
		{ "source = env", "source = systemd:ANTHROPIC_KEY" },
		{ "route", "route = openai2" },
		{ "route", "; no route" },
		{ "upstream", "upstream = https://api.example.com/v2" },
		{ "upstream", "; no upstream" },
		{ "ca =", "ca = /etc/ca2.pem" },
		{ "ca =", "; no ca" },
		{ "header", "header = x-api-key" },
		{ "header", "; no header" },
		{ "format", "format = {}" },
		{ "env =", "env = OPENAI_KEY" },
		{ "source = env", "source = env:ANTHROPIC_KEY\nroute = anthropic" },
		{ "credentials", "credentials = anthropic, openai" },
		{ "credentials", "credentials = openai" },
		{ "credentials", "credentials = openai, anthropic, unused" },
		{ "credentials", "; no credentials" },
	};
	struct config a = { 0 };
	char ini[2048];
	size_t i;

	cr_assert_eq(load(cred_ini), 0, "%s", err);
	a = cfg;
	cfg = (struct config){ 0 };
	for (i = 0; i < a.n_credentials; i++)
		cr_expect(config_credential_equal(&a.credentials[i], &a.credentials[i]));
	cr_expect_not(config_credential_equal(&a.credentials[0], &a.credentials[1]));

	for (i = 0; i < ARRAY_SIZE(same); i++) {
		edit_cred(ini, sizeof(ini), same[i].key, same[i].line);
		cr_assert_eq(load(ini), 0, "%s: %s", same[i].line, err);
		cr_expect(service_config_equal(&a.services[0], &cfg.services[0]), "%s", same[i].line);
		cr_expect(config_credential_equal(&a.credentials[0], config_find_credential(&cfg, "openai")),
			  "%s", same[i].line);
	}
	for (i = 0; i < ARRAY_SIZE(changed); i++) {
		edit_cred(ini, sizeof(ini), changed[i].key, changed[i].line);
		cr_assert_eq(load(ini), 0, "%s: %s", changed[i].line, err);
		cr_expect_not(service_config_equal(&a.services[0], &cfg.services[0]), "%s", changed[i].line);
		cr_expect_not(service_config_equal(&cfg.services[0], &a.services[0]), "%s", changed[i].line);
	}
	/* a relative file: source follows the ini's directory */
	mkdir("sub", 0755);
	write_file("a.ini", "[credential:c]\nsource = file:k\n");
	write_file("sub/a.ini", "[credential:c]\nsource = file:k\n");
	config_free(&a);
	config_free(&cfg);
	cr_assert_eq(config_load(&a, "a.ini", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(config_load(&cfg, "sub/a.ini", err, sizeof(err)), 0, "%s", err);
	cr_expect_not(config_credential_equal(&a.credentials[0], &cfg.credentials[0]));
	config_free(&a);
}

/* The supervisor moves a service_config out and frees the config: the copies stay valid. */
Test(config, credential_copies_outlive_the_config)
{
	struct service_config moved;
	struct credential_config copy;

	cr_assert_eq(load(cred_ini), 0, "%s", err);
	moved = cfg.services[0];
	cfg.services[0] = (struct service_config){ 0 };
	cr_assert_eq(config_credential_copy(&copy, &cfg.credentials[2]), 0);
	config_free(&cfg);
	cr_expect_str_eq(moved.credentials[1], "anthropic");
	cr_expect_str_eq(moved.credential_defs[0].upstream, "https://api.example.com/v1");
	cr_expect_str_eq(moved.credential_defs[1].src.ref, "ANTHROPIC_KEY");
	cr_expect_null(moved.credential_defs[1].route);
	cr_expect_str_eq(copy.name, "unused");
	cr_expect_str_eq(copy.src.ref, "/etc/unused");
	config_service_release(&moved);
	config_credential_release(&copy);
}

/* ---- default locations ---- */

static void become_user(void)
{
	if (geteuid() == 0)
		cr_assert_eq(seteuid(65534), 0, "seteuid: %s", strerror(errno));
}

Test(config, default_paths_root)
{
	char buf[256];

	if (geteuid() != 0) {
		teardown();	/* a skipped test skips .fini */
		cr_skip_test("needs root to see the root defaults");
	}
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	setenv("XDG_STATE_HOME", "/state", 1);
	cr_expect_eq(config_default_socket(buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/run/nono-supervise.sock");
	cr_expect_eq(config_default_log_dir(buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/var/log/nono-supervise");
}

Test(config, default_paths_user)
{
	char buf[256], want[64];

	become_user();
	snprintf(want, sizeof(want), "/tmp/nono-supervise-%u.sock", (unsigned)geteuid());

	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	cr_expect_eq(config_default_socket(buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/run/user/1000/nono-supervise.sock");
	setenv("XDG_RUNTIME_DIR", "relative", 1);
	cr_expect_eq(config_default_socket(buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, want);
	unsetenv("XDG_RUNTIME_DIR");
	cr_expect_eq(config_default_socket(buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, want);
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	snprintf(buf, sizeof(buf), "untouched");
	cr_expect_eq(config_default_socket(buf, 10), -ENAMETOOLONG);
	cr_expect_str_empty(buf);

	setenv("XDG_STATE_HOME", "/state", 1);
	setenv("HOME", "/home/u", 1);
	cr_expect_eq(config_default_log_dir(buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/state/nono-supervise/logs");
	unsetenv("XDG_STATE_HOME");
	cr_expect_eq(config_default_log_dir(buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/home/u/.local/state/nono-supervise/logs");
	setenv("XDG_STATE_HOME", "", 1);
	cr_expect_eq(config_default_log_dir(buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/home/u/.local/state/nono-supervise/logs");
	unsetenv("HOME");
	unsetenv("XDG_STATE_HOME");
	snprintf(buf, sizeof(buf), "untouched");
	cr_expect_eq(config_default_log_dir(buf, sizeof(buf)), -ENOENT);
	cr_expect_str_eq(buf, "untouched");
	setenv("HOME", "/home/u", 1);
	cr_expect_eq(config_default_log_dir(buf, 8), -ENAMETOOLONG);
	cr_expect_str_empty(buf);
}
