/* svc-helper: the one small multi-mode program the integration tests supervise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static bool exit_after;	/* --exit: leave after the output instead of sleeping */

static void usage(void)
{
	static const char text[] =
		"usage: nono-test-helper MODE [ARGS] [--exit]\n"
		"  exit N                      exit with code N at once\n"
		"  sleep [SECS]                sleep forever, or SECS then exit 0\n"
		"  run-exit SECS N             run SECS (fractional ok), then exit N\n"
		"  abort                       raise SIGABRT (no core dump)\n"
		"  ignore-term                 ignore SIGTERM, print \"ready\", sleep\n"
		"  print N [LEN]               N numbered lines of LEN bytes (default 64, incl. newline)\n"
		"  spam-chunks LINES LEN CHUNK the same lines, written CHUNK bytes at a time\n"
		"  partial TEXT                write TEXT without a newline\n"
		"  stderr TEXT                 write TEXT and a newline to stderr\n"
		"  binary                      write bytes 0x01..0xff (no 0x0a), then a newline\n"
		"  long-line N                 one line of N 'x' bytes, then a newline\n"
		"  fork-setsid PIDFILE         grandchild setsid()s and double-forks; its pid goes to PIDFILE\n"
		"                              (with --exit the main process exits 0 once it is written)\n"
		"  pidfile PIDFILE             write own pid to PIDFILE\n"
		"  fail-if-exists PATH N       exit N at once if PATH exists, else print \"ready\" and sleep\n"
		"  env                         print the environment, one variable per line\n"
		"  pwd                         print the working directory\n"
		"  fd-check                    print \"fds 0 1 2\" (open fds) and \"fd N TARGET\" lines\n"
		"  session                     print \"pid=N ppid=N pgid=N sid=N\"\n"
		"  ids                         print \"uid=N euid=N gid=N egid=N groups=N,..\"\n"
		"  sigpipe                     write to a pipe with no reader (dies of SIGPIPE unless ignored)\n"
		"  close-output                print \"ready\", close stdout and stderr, sleep\n"
		"Output modes sleep forever afterwards unless --exit is given.\n";
	if (write(STDERR_FILENO, text, sizeof(text) - 1) < 0)
		_exit(2);
	exit(2);
}

static void die(const char *what)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "nono-test-helper: %s: %s\n", what, strerror(errno));
	if (n > 0 && write(STDERR_FILENO, buf, (size_t)n) < 0)
		_exit(2);
	_exit(2);
}

static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += n;
		len -= (size_t)n;
	}
}

static void say(const char *s)
{
	write_all(STDOUT_FILENO, s, strlen(s));
}

static void sayf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sayf(const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		die("vsnprintf");
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	write_all(STDOUT_FILENO, buf, (size_t)n);
}

static long parse_long(const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		char buf[256];
		int n = snprintf(buf, sizeof(buf), "nono-test-helper: bad number '%s'\n", s);
		if (n > 0 && write(STDERR_FILENO, buf, (size_t)n) < 0)
			_exit(2);
		exit(2);
	}
	return v;
}

static double parse_secs(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < 0) {
		char buf[256];
		int n = snprintf(buf, sizeof(buf), "nono-test-helper: bad duration '%s'\n", s);
		if (n > 0 && write(STDERR_FILENO, buf, (size_t)n) < 0)
			_exit(2);
		exit(2);
	}
	return v;
}

static void sleep_secs(double secs)
{
	struct timespec ts = {
		.tv_sec = (time_t)secs,
		.tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9),
	};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void __attribute__((noreturn)) sleep_forever(void)
{
	for (;;)
		pause();
}

/* Output modes end here: sleep, or exit 0 with --exit. */
static void __attribute__((noreturn)) finish(void)
{
	if (exit_after)
		exit(0);
	sleep_forever();
}

/* Line I of a print/spam run: "line NNNNNN " then 'a'..'z' filler, LEN bytes with the newline. */
static void make_line(char *buf, size_t len, long i)
{
	char head[32];
	int n = snprintf(head, sizeof(head), "line %06ld ", i);
	size_t h = n > 0 ? (size_t)n : 0;
	for (size_t k = 0; k + 1 < len; k++)
		buf[k] = k < h ? head[k] : (char)('a' + (k - h) % 26);
	buf[len - 1] = '\n';
}

static void write_pidfile(const char *path, pid_t pid)
{
	char tmp[PATH_MAX];
	char buf[32];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		die("pidfile path");
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open pidfile");
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);
	write_all(fd, buf, (size_t)n);
	if (close(fd) < 0)
		die("close pidfile");
	if (rename(tmp, path) < 0)
		die("rename pidfile");
}

static int mode_print(long lines, long len)
{
	char *buf = malloc((size_t)len);
	if (!buf)
		die("malloc");
	for (long i = 1; i <= lines; i++) {
		make_line(buf, (size_t)len, i);
		write_all(STDOUT_FILENO, buf, (size_t)len);
	}
	free(buf);
	finish();
}

static int mode_spam_chunks(long lines, long len, long chunk)
{
	size_t total = (size_t)lines * (size_t)len;
	char *buf = malloc(total ? total : 1);
	if (!buf)
		die("malloc");
	for (long i = 1; i <= lines; i++)
		make_line(buf + (size_t)(i - 1) * (size_t)len, (size_t)len, i);
	for (size_t off = 0; off < total; off += (size_t)chunk) {
		size_t n = total - off < (size_t)chunk ? total - off : (size_t)chunk;
		write_all(STDOUT_FILENO, buf + off, n);
	}
	free(buf);
	finish();
}

static int mode_binary(void)
{
	unsigned char buf[256];
	size_t n = 0;
	for (int b = 0x01; b <= 0xff; b++)
		if (b != '\n')
			buf[n++] = (unsigned char)b;
	buf[n++] = '\n';
	write_all(STDOUT_FILENO, buf, n);
	finish();
}

static int mode_long_line(long len)
{
	char *buf = malloc((size_t)len + 1);
	if (!buf)
		die("malloc");
	memset(buf, 'x', (size_t)len);
	buf[len] = '\n';
	write_all(STDOUT_FILENO, buf, (size_t)len + 1);
	free(buf);
	finish();
}

/*
 * The main process forks a child; the child calls setsid() (leaving the service's session
 * and process group) and forks the grandchild, then exits so the grandchild is reparented.
 * Only a cgroup-wide kill reaches it.
 */
static int mode_fork_setsid(const char *pidfile)
{
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		if (setsid() < 0)
			die("setsid");
		pid_t grandchild = fork();
		if (grandchild < 0)
			die("fork");
		if (grandchild == 0) {
			signal(SIGTERM, SIG_IGN);
			write_pidfile(pidfile, getpid());
			sleep_forever();
		}
		_exit(0);
	}
	int status;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	struct stat st;
	for (int i = 0; i < 500 && stat(pidfile, &st) < 0; i++)
		sleep_secs(0.01);
	say("ready\n");
	finish();
}

static int mode_fd_check(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		die("opendir /proc/self/fd");
	int self = dirfd(d);
	int fds[1024];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < 1024) {
		if (e->d_name[0] == '.')
			continue;
		int fd = (int)parse_long(e->d_name, 0, INT_MAX);
		if (fd != self)
			fds[n++] = fd;
	}
	/* sort: a handful of entries */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];
			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	char line[4096];
	size_t len = 0;
	len += (size_t)snprintf(line, sizeof(line), "fds");
	for (int i = 0; i < n && len < sizeof(line) - 16; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %d", fds[i]);
	line[len++] = '\n';
	write_all(STDOUT_FILENO, line, len);
	for (int i = 0; i < n; i++) {
		char path[64], target[PATH_MAX];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
		ssize_t t = readlink(path, target, sizeof(target) - 1);
		if (t < 0)
			continue;
		target[t] = '\0';
		sayf("fd %d %s\n", fds[i], target);
	}
	closedir(d);
	finish();
}

static int mode_ids(void)
{
	gid_t groups[256];
	int n = getgroups(256, groups);
	if (n < 0)
		die("getgroups");
	char list[2048];
	size_t len = 0;
	list[0] = '\0';
	for (int i = 0; i < n && len < sizeof(list) - 16; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%ld", i ? "," : "",
					(long)groups[i]);
	sayf("uid=%ld euid=%ld gid=%ld egid=%ld groups=%s\n", (long)getuid(), (long)geteuid(),
	     (long)getgid(), (long)getegid(), list);
	finish();
}

static int mode_sigpipe(void)
{
	int p[2];
	if (pipe(p) < 0)
		die("pipe");
	close(p[0]);
	say("ready\n");
	ssize_t n = write(p[1], "x", 1);
	sayf("write returned %zd errno %d\n", n, n < 0 ? errno : 0);
	finish();
}

/*
 * deny-unshare CMD...: exec CMD under a seccomp filter that fails unshare(2) with EPERM, as
 * on a host without user namespaces: the supervisor then has no private netns to give.
 */
static int mode_deny_unshare(char **cmd)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("deny-unshare: seccomp");
		return 1;
	}
	execvp(cmd[0], cmd);
	perror("deny-unshare: exec");
	return 127;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "deny-unshare") == 0)
		return mode_deny_unshare(argv + 2);
	if (argc < 2)
		usage();
	if (strcmp(argv[argc - 1], "--exit") == 0) {
		exit_after = true;
		argv[--argc] = NULL;
	}
	const char *mode = argv[1];
	int nargs = argc - 2;
	char **a = argv + 2;

	if (strcmp(mode, "exit") == 0 && nargs == 1)
		return (int)parse_long(a[0], 0, 255);
	if (strcmp(mode, "sleep") == 0 && nargs <= 1) {
		if (nargs == 1) {
			sleep_secs(parse_secs(a[0]));
			return 0;
		}
		sleep_forever();
	}
	if (strcmp(mode, "run-exit") == 0 && nargs == 2) {
		double secs = parse_secs(a[0]);
		int code = (int)parse_long(a[1], 0, 255);
		sleep_secs(secs);
		return code;
	}
	if (strcmp(mode, "abort") == 0 && nargs == 0) {
		struct rlimit rl = { .rlim_cur = 0, .rlim_max = 0 };
		setrlimit(RLIMIT_CORE, &rl);
		signal(SIGABRT, SIG_DFL);
		raise(SIGABRT);
		return 1;
	}
	if (strcmp(mode, "ignore-term") == 0 && nargs == 0) {
		signal(SIGTERM, SIG_IGN);
		say("ready\n");
		sleep_forever();
	}
	if (strcmp(mode, "print") == 0 && (nargs == 1 || nargs == 2))
		return mode_print(parse_long(a[0], 0, 100000000),
				  nargs == 2 ? parse_long(a[1], 13, 1 << 24) : 64);
	if (strcmp(mode, "spam-chunks") == 0 && nargs == 3)
		return mode_spam_chunks(parse_long(a[0], 0, 10000000), parse_long(a[1], 13, 1 << 20),
					parse_long(a[2], 1, 1 << 24));
	if (strcmp(mode, "partial") == 0 && nargs == 1) {
		say(a[0]);
		finish();
	}
	if (strcmp(mode, "stderr") == 0 && nargs == 1) {
		write_all(STDERR_FILENO, a[0], strlen(a[0]));
		write_all(STDERR_FILENO, "\n", 1);
		finish();
	}
	if (strcmp(mode, "binary") == 0 && nargs == 0)
		return mode_binary();
	if (strcmp(mode, "long-line") == 0 && nargs == 1)
		return mode_long_line(parse_long(a[0], 0, 1 << 26));
	if (strcmp(mode, "fork-setsid") == 0 && nargs == 1)
		return mode_fork_setsid(a[0]);
	if (strcmp(mode, "pidfile") == 0 && nargs == 1) {
		write_pidfile(a[0], getpid());
		say("ready\n");
		sleep_forever();
	}
	if (strcmp(mode, "fail-if-exists") == 0 && nargs == 2) {
		int code = (int)parse_long(a[1], 0, 255);
		if (access(a[0], F_OK) == 0)
			return code;
		say("ready\n");
		sleep_forever();
	}
	if (strcmp(mode, "env") == 0 && nargs == 0) {
		for (char **e = environ; *e; e++)
			sayf("%s\n", *e);
		finish();
	}
	if (strcmp(mode, "pwd") == 0 && nargs == 0) {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			die("getcwd");
		sayf("%s\n", cwd);
		finish();
	}
	if (strcmp(mode, "fd-check") == 0 && nargs == 0)
		return mode_fd_check();
	if (strcmp(mode, "session") == 0 && nargs == 0) {
		sayf("pid=%ld ppid=%ld pgid=%ld sid=%ld\n", (long)getpid(), (long)getppid(),
		     (long)getpgid(0), (long)getsid(0));
		finish();
	}
	if (strcmp(mode, "ids") == 0 && nargs == 0)
		return mode_ids();
	if (strcmp(mode, "sigpipe") == 0 && nargs == 0)
		return mode_sigpipe();
	if (strcmp(mode, "close-output") == 0 && nargs == 0) {
		say("ready\n");
		close(STDOUT_FILENO);
		close(STDERR_FILENO);
		sleep_forever();
	}
	usage();
	return 2;
}
