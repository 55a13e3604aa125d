/* main: nono-supervise's command line: check a config, explain a sandbox, run the daemon. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "run.h"
#include "sandbox.h"
#include "util.h"
#include "supervisor.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nono-supervise [-f] FILE     run the services of FILE (-f: in the foreground)\n"
		"       nono-supervise -n FILE       check FILE: 'configuration OK' or the errors\n"
		"       nono-supervise --explain NAME FILE   the compiled sandbox of service NAME\n"
		"       nono-supervise --version\n"
		"Control a running supervisor with nonoctl.\n");
}

/* Configuration errors end without a newline (several are joined by them). */
static void print_err(const char *err)
{
	size_t n = strlen(err);

	fprintf(stderr, "%s%s", err, n && err[n - 1] == '\n' ? "" : "\n");
}

static int check(const char *file)
{
	struct config cfg = { 0 };
	char err[CONFIG_ERR_MAX];

	if (config_load(&cfg, file, err, sizeof(err)) < 0) {
		print_err(err);
		return 1;
	}
	if (sandbox_check_config(&cfg, err, sizeof(err)) < 0) {
		print_err(err);
		config_free(&cfg);
		return 1;
	}
	config_free(&cfg);
	printf("configuration OK\n");
	return 0;
}

static int explain(const char *name, const char *file)
{
	struct config cfg = { 0 };
	const struct service_config *sc;
	char err[CONFIG_ERR_MAX], *dir;
	struct buf out = { 0 };
	int rc = 1;

	if (config_load(&cfg, file, err, sizeof(err)) < 0) {
		print_err(err);
		return 1;
	}
	sc = config_find(&cfg, name);
	dir = strdup(cfg.path);
	if (dir && strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	if (!sc)
		fprintf(stderr, "nono-supervise: unknown service '%s' in %s\n", name, cfg.path);
	else if (!dir || sandbox_explain(sc, *dir ? dir : "/", -1, &out, err, sizeof(err)) < 0)
		fprintf(stderr, "%s: service '%s': %s\n", cfg.path, name, dir ? err : "out of memory");
	else if (fwrite(out.data, 1, out.len, stdout) == out.len)
		rc = 0;
	buf_free(&out);
	free(dir);
	config_free(&cfg);
	return rc;
}

/*
 * Background start: the parent returns only once the child's control socket listens
 * (exit 0), or with the child's errors (exit 1), so scripts can rely on it.
 */
static int daemonize(const char *file)
{
	int pipefd[2], null;
	char c;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return perror("nono-supervise: pipe"), 1;
	pid = fork();
	if (pid < 0)
		return perror("nono-supervise: fork"), 1;
	if (pid > 0) {
		int status;

		close(pipefd[1]);
		if (read(pipefd[0], &c, 1) == 1)
			return 0;
		waitpid(pid, &status, 0);
		return 1;
	}
	close(pipefd[0]);
	if (setsid() < 0)
		_exit(1);
	pid = fork();	/* no longer a session leader: never gets a controlling tty */
	if (pid != 0)
		_exit(pid < 0);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	if (chdir("/") < 0)
		_exit(1);
	/* stderr stays until the own log file is open, so early errors reach the caller. */
	exit(supervisor_run(file, false, pipefd[1]));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "check", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "explain", required_argument, NULL, 'E' },
		{ 0 },
	};
	bool foreground = false, check_only = false;
	const char *explain_name = NULL;
	int opt;

	if (argc > 1 && strcmp(argv[1], "run") == 0)
		return run_main(argc - 2, argv + 2);

	while ((opt = getopt_long(argc, argv, "fnhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			foreground = true;
			break;
		case 'n':
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("nono-supervise %s\n", NONO_VERSION);
			return 0;
		case 'E':
			explain_name = optarg;
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	if (explain_name)
		return explain(explain_name, argv[optind]);
	if (check_only)
		return check(argv[optind]);
	if (foreground)
		return supervisor_run(argv[optind], true, -1);
	return daemonize(argv[optind]);
}
