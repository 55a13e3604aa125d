/* Landlock and seccomp enforcement: each probe forked, sandboxed, and its exact errno asserted. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/kcmp.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "landlock.h"
#include "policy.h"
#include "seccomp_filter.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Child exit codes that are not errnos. */
#define SETUP_FAILED	250
#define NO_NETNS	251
#define SIGNALLED	1000	/* + signal number */

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* ---- fixture: base/{rw,rw2,ro,secret} on one file system: EXDEV only comes from Landlock ---- */

static char base[64];

static void path_of(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/%s", base, rel);
}

static void put_file(const char *rel, const char *content)
{
	char p[256];
	int fd;

	path_of(p, sizeof(p), rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert(fd >= 0, "creating %s: %s", p, strerror(errno));
	cr_assert(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
	close(fd);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

/* Also registered with atexit: cr_skip leaves without running .fini. */
static void teardown(void)
{
	if (base[0])
		nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	base[0] = '\0';
}

static void setup(void)
{
	static const char *dirs[] = { "rw", "rw2", "ro", "secret" };
	char p[256];

	snprintf(base, sizeof(base), "/tmp/nono-sbx-XXXXXX");
	cr_assert(mkdtemp(base), "mkdtemp: %s", strerror(errno));
	atexit(teardown);
	for (size_t i = 0; i < ARRAY_LEN(dirs); i++) {
		path_of(p, sizeof(p), dirs[i]);
		cr_assert(mkdir(p, 0755) == 0, "mkdir %s: %s", p, strerror(errno));
	}
	put_file("rw/f", "rw\n");
	put_file("rw/mv", "move me\n");
	put_file("rw/ln", "link me\n");
	put_file("rw/ren", "rename me\n");
	put_file("ro/f", "read only\n");
	put_file("secret/f", "token\n");
	path_of(p, sizeof(p), "secret/f");
	{
		char link[256];

		path_of(link, sizeof(link), "rw/to-secret");
		cr_assert(symlink(p, link) == 0);
	}
}


/* ---- the policy under test (hand-built; policy_free is not ours to call) ---- */

static char rw_path[256], rw2_path[256], ro_path[256];
static struct policy_path paths[3];

static struct policy make_policy(enum policy_net net, bool allow_unix)
{
	path_of(rw_path, sizeof(rw_path), "rw");
	path_of(rw2_path, sizeof(rw2_path), "rw2");
	path_of(ro_path, sizeof(ro_path), "ro");
	paths[0] = (struct policy_path){ .path = rw_path, .access = POLICY_READ | POLICY_WRITE,
					 .origin = "test rw" };
	paths[1] = (struct policy_path){ .path = rw2_path, .access = POLICY_READ | POLICY_WRITE,
					 .origin = "test rw2" };
	paths[2] = (struct policy_path){ .path = ro_path, .access = POLICY_READ,
					 .origin = "test ro" };
	return (struct policy){
		.profile = "test",
		.paths = paths,
		.n_paths = ARRAY_LEN(paths),
		.net = net,
		.allow_unix_sockets = allow_unix,
	};
}

struct sandbox {
	bool landlock;
	bool seccomp;
	bool newnet;		/* unshare(CLONE_NEWNET) and bring lo up first (root) */
	bool have_netns;	/* what landlock_apply is told */
	bool allow_unix;
	enum policy_net net;
	int proxy_port;
	int listen_port;	/* > 0: listen on 127.0.0.1:port before sandboxing */
};

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = -1;

	if (s < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return r;
}

static struct sockaddr_in loopback(int port)
{
	return (struct sockaddr_in){
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
}

static int child_setup(const struct sandbox *sb)
{
	struct policy p = make_policy(sb->net, sb->allow_unix);
	struct landlock_report rep;
	char err[512];
	int r;

	if (sb->newnet && (unshare(CLONE_NEWNET) < 0 || lo_up() < 0))
		return NO_NETNS;
	if (sb->listen_port > 0) {
		struct sockaddr_in a = loopback(sb->listen_port);
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0) {
			perror("listen");
			return SETUP_FAILED;
		}
	}
	if (sb->landlock) {
		r = landlock_apply(&p, sb->proxy_port, sb->have_netns, false, &rep, err,
				   sizeof(err));
		if (r < 0) {
			fprintf(stderr, "landlock_apply: %d: %s\n", r, err);
			return SETUP_FAILED;
		}
	}
	if (sb->seccomp) {
		r = seccomp_apply(&p, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "seccomp_apply: %d: %s\n", r, err);
			return SETUP_FAILED;
		}
	}
	return 0;
}

/*
 * Fork, sandbox, run op, report: the errno op returns (0 = success), SETUP_FAILED,
 * NO_NETNS or SIGNALLED + signal.
 */
static int run(const struct sandbox *sb, int (*op)(const void *), const void *arg)
{
	int status, r;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		r = child_setup(sb);
		_exit(r ? r : op(arg));
	}
	cr_assert(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status))
		return SIGNALLED + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int ret(long r)
{
	return r < 0 ? errno : 0;
}

static int ret_fd(int fd)
{
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int landlock_abi_or_skip(int need, const char *what)
{
	int abi = landlock_abi();

	if (abi < need)
		cr_skip("kernel Landlock ABI %d lacks %s (needs %d): %s", abi, what, need,
			landlock_abi_reason());
	return abi;
}

TestSuite(sandbox, .init = setup, .fini = teardown);

/* ---- pure parts: rights per grant, per-feature minimums ---- */

Test(sandbox, grant_rights)
{
	static const struct {
		unsigned access;
		bool file;
		int abi;
		uint64_t want;
	} cases[] = {
		{ POLICY_READ, false, 7, LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR },
		{ POLICY_READ, true, 7, LL_FS_EXECUTE | LL_FS_READ_FILE },
		{ POLICY_WRITE, true, 7, LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV },
		{ POLICY_WRITE, true, 4, LL_FS_WRITE_FILE | LL_FS_TRUNCATE },
		{ POLICY_WRITE, true, 2, LL_FS_WRITE_FILE },
		{ POLICY_WRITE, false, 7,
		  LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV | LL_FS_REMOVE_DIR |
			  LL_FS_REMOVE_FILE | LL_FS_MAKE_DIR | LL_FS_MAKE_REG | LL_FS_MAKE_SOCK |
			  LL_FS_MAKE_FIFO | LL_FS_MAKE_SYM | LL_FS_REFER },
		{ POLICY_WRITE, false, 1,
		  LL_FS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_DIR |
			  LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO | LL_FS_MAKE_SYM },
		{ POLICY_READ | POLICY_WRITE, false, 3,
		  LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_WRITE_FILE |
			  LL_FS_TRUNCATE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_DIR |
			  LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO | LL_FS_MAKE_SYM |
			  LL_FS_REFER },
		{ 0, false, 7, 0 },
		{ POLICY_READ, false, 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		uint64_t got = landlock_grant_rights(cases[i].access, cases[i].file, cases[i].abi);

		cr_expect(got == cases[i].want, "case %zu: rights %#llx, want %#llx", i,
			  (unsigned long long)got, (unsigned long long)cases[i].want);
		cr_expect(!(got & (LL_FS_MAKE_CHAR | LL_FS_MAKE_BLOCK)), "case %zu: devices", i);
	}
}

Test(sandbox, feature_minimums)
{
	static const struct {
		int abi;
		bool netns, degraded;
		int want;
		const char *err_has;		/* in err when refused */
		const char *degraded_has;	/* in rep.degraded when accepted; "" = empty */
	} cases[] = {
		{ 7, true, false, 0, NULL, "" },
		{ 6, false, false, 0, NULL, "" },
		{ 5, true, false, -EOPNOTSUPP,
		  "lacks signal and abstract-socket scoping (needs 6, Linux 6.12)", NULL },
		{ 5, true, true, 0, NULL, "no signal and abstract-socket scoping" },
		{ 3, false, false, -EOPNOTSUPP,
		  "Landlock ABI 3 lacks TCP rules (needs 4, Linux 6.7)", NULL },
		{ 3, false, true, 0, NULL, "no TCP rules, no signal" },
		{ 3, true, true, 0, NULL, "no signal and abstract-socket scoping" },
		{ 2, true, false, -EOPNOTSUPP, "truncate control (needs 3, Linux 6.2)", NULL },
		{ 1, true, false, -EOPNOTSUPP,
		  "cross-directory rename and link (needs 2, Linux 5.19)", NULL },
		{ 1, true, true, 0, NULL,
		  "no cross-directory rename and link, no truncate control" },
		{ 0, true, false, -EOPNOTSUPP, "Landlock is unavailable", NULL },
		{ 0, true, true, 0, NULL, "no Landlock" },
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct landlock_report rep;
		char err[256] = "";
		int r = landlock_check(cases[i].abi, cases[i].netns, cases[i].degraded, &rep, err,
				       sizeof(err));

		cr_expect(r == cases[i].want, "case %zu (ABI %d): %d, want %d", i, cases[i].abi, r,
			  cases[i].want);
		if (cases[i].err_has) {
			cr_expect(strstr(err, cases[i].err_has), "case %zu: err '%s'", i, err);
			cr_expect(strstr(err, "hint: allow_degraded = true"), "case %zu: hint",
				  i);
		}
		if (cases[i].degraded_has && !cases[i].degraded_has[0])
			cr_expect(rep.degraded[0] == '\0', "case %zu: degraded '%s'", i,
				  rep.degraded);
		else if (cases[i].degraded_has)
			cr_expect(strstr(rep.degraded, cases[i].degraded_has),
				  "case %zu: degraded '%s'", i, rep.degraded);
	}
}

Test(sandbox, abi_pinned)
{
	int abi = landlock_abi();

	/* This machine's kernel; the pin catches a silent loss of Landlock in CI images. */
	if (abi == 0)
		cr_skip("no Landlock: %s", landlock_abi_reason());
	cr_expect(abi >= 7, "Landlock ABI %d, this project expects 7 here", abi);
	cr_log_info("Landlock ABI %d", abi);
}

/* ---- Landlock: filesystem ---- */

enum fs_op { FS_READ, FS_WRITE, FS_CREATE, FS_READDIR, FS_MKDIR, FS_UNLINK, FS_TRUNCATE,
	     FS_RENAME, FS_LINK };

struct fs_probe {
	const char *name;
	enum fs_op op;
	const char *a, *b;
	int want;
	int min_abi;
};

static int fs_do(const void *arg)
{
	const struct fs_probe *pr = arg;
	char a[256], b[256];

	path_of(a, sizeof(a), pr->a);
	if (pr->b)
		path_of(b, sizeof(b), pr->b);
	switch (pr->op) {
	case FS_READ:
		return ret_fd(open(a, O_RDONLY | O_CLOEXEC));
	case FS_WRITE:
		return ret_fd(open(a, O_WRONLY | O_APPEND | O_CLOEXEC));
	case FS_CREATE:
		return ret_fd(open(a, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
	case FS_READDIR:
		return ret_fd(open(a, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	case FS_MKDIR:
		return ret(mkdir(a, 0700));
	case FS_UNLINK:
		return ret(unlink(a));
	case FS_TRUNCATE:
		return ret(truncate(a, 0));
	case FS_RENAME:
		return ret(rename(a, b));
	case FS_LINK:
		return ret(link(a, b));
	}
	return SETUP_FAILED;
}

/*
 * Cross-directory rename and link: EACCES when a plain right is missing (MAKE_* at the
 * destination, REMOVE_* at the source), EXDEV when only reparenting is refused, i.e. the
 * file would gain rights at its new place (a new link to a secret or read-only file from
 * a writable tree).
 */
static const struct fs_probe fs_probes[] = {
	{ "read outside the grants", FS_READ, "secret/f", NULL, EACCES, 1 },
	{ "list outside the grants", FS_READDIR, "secret", NULL, EACCES, 1 },
	{ "read through a symlink to outside", FS_READ, "rw/to-secret", NULL, EACCES, 1 },
	{ "read the read-only tree", FS_READ, "ro/f", NULL, 0, 1 },
	{ "list the read-only tree", FS_READDIR, "ro", NULL, 0, 1 },
	{ "write in the read-only tree", FS_WRITE, "ro/f", NULL, EACCES, 1 },
	{ "create in the read-only tree", FS_CREATE, "ro/new", NULL, EACCES, 1 },
	{ "mkdir in the read-only tree", FS_MKDIR, "ro/d", NULL, EACCES, 1 },
	{ "unlink in the read-only tree", FS_UNLINK, "ro/f", NULL, EACCES, 1 },
	{ "truncate in the read-only tree", FS_TRUNCATE, "ro/f", NULL, EACCES, 3 },
	{ "create outside", FS_CREATE, "secret/new", NULL, EACCES, 1 },
	{ "write the writable tree", FS_WRITE, "rw/f", NULL, 0, 1 },
	{ "create in the writable tree", FS_CREATE, "rw/new", NULL, 0, 1 },
	{ "mkdir in the writable tree", FS_MKDIR, "rw/d", NULL, 0, 1 },
	{ "truncate in the writable tree", FS_TRUNCATE, "rw/f", NULL, 0, 3 },
	{ "rename within a writable dir", FS_RENAME, "rw/ren", "rw/renamed", 0, 1 },
	{ "rename between writable trees", FS_RENAME, "rw/mv", "rw2/mv", 0, 2 },
	{ "link between writable trees", FS_LINK, "rw/ln", "rw2/ln", 0, 2 },
	{ "rename writable -> outside", FS_RENAME, "rw/f", "secret/g", EACCES, 1 },
	{ "rename outside -> writable", FS_RENAME, "secret/f", "rw/g", EACCES, 1 },
	{ "rename read-only -> writable", FS_RENAME, "ro/f", "rw/g", EACCES, 1 },
	{ "rename writable -> read-only", FS_RENAME, "rw/f", "ro/g", EACCES, 1 },
	{ "link outside -> writable", FS_LINK, "secret/f", "rw/g", EXDEV, 1 },
	{ "link read-only -> writable", FS_LINK, "ro/f", "rw/g", EXDEV, 1 },
	{ "link writable -> outside", FS_LINK, "rw/f", "secret/g", EACCES, 1 },
};

Test(sandbox, landlock_filesystem)
{
	const struct sandbox sb = { .landlock = true, .have_netns = true };
	int abi = landlock_abi_or_skip(LANDLOCK_ABI_SCOPE, "what landlock_apply requires");

	for (size_t i = 0; i < ARRAY_LEN(fs_probes); i++) {
		const struct fs_probe *pr = &fs_probes[i];
		int got;

		if (abi < pr->min_abi) {
			cr_log_warn("%s: skipped, ABI %d < %d", pr->name, abi, pr->min_abi);
			continue;
		}
		got = run(&sb, fs_do, pr);
		cr_expect(got == pr->want, "%s: got %d (%s), want %d (%s)", pr->name, got,
			  strerror(got), pr->want, strerror(pr->want));
	}
}

Test(sandbox, landlock_fails_closed_on_missing_path)
{
	struct policy p;
	struct landlock_report rep;
	char err[512] = "", gone[256];
	int r;

	landlock_abi_or_skip(LANDLOCK_ABI_SCOPE, "what landlock_apply requires");
	p = make_policy(POLICY_NET_PROXY, false);
	path_of(gone, sizeof(gone), "gone");
	paths[1].path = gone;
	/* fails before restrict_self, but keep the test process pristine anyway */
	if (fork() == 0) {
		r = landlock_apply(&p, 0, true, false, &rep, err, sizeof(err));
		_exit(r == -ENOENT && strstr(err, gone) && strstr(err, "test rw2") ? 0 : 1);
	}
	{
		int status;

		cr_assert(wait(&status) > 0);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "a vanished path must fail with -ENOENT naming it and its origin");
	}
}

/* ---- Landlock: TCP (only inside a throwaway network namespace) ---- */

#define PROXY_PORT 18080

static int tcp_connect(const void *arg)
{
	struct sockaddr_in a = loopback(*(const int *)arg);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r;

	if (s < 0)
		return SETUP_FAILED;
	r = ret(connect(s, (struct sockaddr *)&a, sizeof(a)));
	close(s);
	return r;
}

static int tcp_bind(const void *arg)
{
	struct sockaddr_in a = loopback(*(const int *)arg);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r;

	if (s < 0)
		return SETUP_FAILED;
	r = ret(bind(s, (struct sockaddr *)&a, sizeof(a)));
	close(s);
	return r;
}

static int net_expect(const struct sandbox *sb, int (*op)(const void *), int port, int want,
		      const char *what)
{
	int got = run(sb, op, &port);

	if (got == NO_NETNS)
		cr_skip("cannot create a network namespace (needs root): %s", what);
	cr_expect(got == want, "%s: got %d (%s), want %d (%s)", what, got, strerror(got), want,
		  strerror(want));
	return got;
}

Test(sandbox, landlock_tcp)
{
	struct sandbox sb = { .landlock = true, .newnet = true, .have_netns = true,
			      .net = POLICY_NET_PROXY, .proxy_port = PROXY_PORT };

	landlock_abi_or_skip(LANDLOCK_ABI_NET, "TCP rules");
	net_expect(&sb, tcp_connect, PROXY_PORT, ECONNREFUSED, "connect to the closed proxy port");
	net_expect(&sb, tcp_connect, PROXY_PORT + 1, EACCES, "connect to another port");
	net_expect(&sb, tcp_connect, 443, EACCES, "connect to 443");
	sb.listen_port = PROXY_PORT;
	net_expect(&sb, tcp_connect, PROXY_PORT, 0, "connect to the proxy port (listening)");
	sb.listen_port = 0;
	sb.net = POLICY_NET_BLOCKED;
	net_expect(&sb, tcp_connect, PROXY_PORT, EACCES, "proxy port, network blocked");
	/* bind: free inside a private netns, refused where the netns is missing */
	sb.net = POLICY_NET_PROXY;
	net_expect(&sb, tcp_bind, 3000, 0, "bind inside a private netns");
	sb.have_netns = false;
	net_expect(&sb, tcp_bind, 3000, EACCES, "bind without a private netns");
}

/* ---- Landlock: scopes ---- */

static int kill_pid(const void *arg)
{
	return ret(kill(*(const pid_t *)arg, SIGKILL));
}

static int kill_own_child(const void *arg)
{
	pid_t pid = fork();
	int r;

	if (pid == 0) {
		pause();
		_exit(0);
	}
	r = ret(kill(pid, SIGKILL));
	waitpid(pid, NULL, 0);
	return r;
}

Test(sandbox, landlock_scope_signal)
{
	const struct sandbox sb = { .landlock = true, .have_netns = true };
	pid_t victim;
	int got;

	landlock_abi_or_skip(LANDLOCK_ABI_SCOPE, "signal scoping");
	victim = fork();
	cr_assert(victim >= 0);
	if (victim == 0) {
		pause();
		_exit(0);
	}
	got = run(&sb, kill_pid, &victim);
	cr_expect(got == EPERM, "kill() outside the domain: got %d (%s), want EPERM", got,
		  strerror(got));
	cr_expect(waitpid(victim, NULL, WNOHANG) == 0, "the victim must still be alive");
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	got = run(&sb, kill_own_child, NULL);
	cr_expect(got == 0, "kill() of a child inside the domain: got %d (%s)", got, strerror(got));
}

static int abstract_connect(const void *arg)
{
	const struct sockaddr_un *a = arg;
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				    strlen(a->sun_path + 1));
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r;

	if (s < 0)
		return SETUP_FAILED;
	r = ret(connect(s, (const struct sockaddr *)a, len));
	close(s);
	return r;
}

Test(sandbox, landlock_scope_abstract_unix)
{
	struct sandbox sb = { .landlock = true, .have_netns = true };
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len;
	int s, got;

	landlock_abi_or_skip(LANDLOCK_ABI_SCOPE, "abstract unix socket scoping");
	snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "nono-test-%d", (int)getpid());
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1));
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(s >= 0 && bind(s, (struct sockaddr *)&a, len) == 0 && listen(s, 4) == 0);
	sb.landlock = false;
	got = run(&sb, abstract_connect, &a);
	cr_assert(got == 0, "unsandboxed connect must work: %s", strerror(got));
	sb.landlock = true;
	got = run(&sb, abstract_connect, &a);
	cr_expect(got == EPERM, "abstract connect outside the domain: got %d (%s), want EPERM",
		  got, strerror(got));
	close(s);
}

/* ---- seccomp ---- */

static int sock(int family, int type, long proto)
{
	return ret_fd((int)syscall(SYS_socket, (long)family, (long)type, proto));
}

static int op_packet(const void *a)
{
	return sock(AF_PACKET, SOCK_DGRAM, 0);
}

static int op_packet_raw(const void *a)
{
	return sock(AF_PACKET, SOCK_RAW, 0);
}

static int op_netlink(const void *a)
{
	return sock(AF_NETLINK, SOCK_RAW, 0);
}

static int op_vsock(const void *a)
{
	return sock(AF_VSOCK, SOCK_STREAM, 0);
}

static int op_appletalk(const void *a)
{
	return sock(AF_APPLETALK, SOCK_DGRAM, 0);
}

static int op_unspec(const void *a)
{
	return sock(AF_UNSPEC, SOCK_STREAM, 0);
}

static int op_inet_hibits(const void *a)
{
	return ret_fd((int)syscall(SYS_socket, (1L << 32) | AF_INET, (long)SOCK_STREAM, 0L));
}

static int op_raw4(const void *a)
{
	return sock(AF_INET, SOCK_RAW, IPPROTO_ICMP);
}

static int op_raw6(const void *a)
{
	return sock(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
}

static int op_mptcp(const void *a)
{
	return sock(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
}

static int op_mptcp6(const void *a)
{
	return sock(AF_INET6, SOCK_STREAM, IPPROTO_MPTCP);
}

static int op_mptcp_hibits(const void *a)
{
	return sock(AF_INET, SOCK_STREAM, (1L << 32) | IPPROTO_MPTCP);
}

static int op_sctp(const void *a)
{
	return sock(AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP);
}

static int op_tcp(const void *a)
{
	return sock(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
}

static int op_udp(const void *a)
{
	return sock(AF_INET, SOCK_DGRAM, 0);
}

static int op_unix(const void *a)
{
	return sock(AF_UNIX, SOCK_STREAM, 0);
}

static int op_pair_unix(const void *a)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return errno;
	close(sv[0]);
	close(sv[1]);
	return 0;
}

static int op_pair_inet(const void *a)
{
	int sv[2];

	return ret(socketpair(AF_INET, SOCK_STREAM, 0, sv));
}

static int op_unshare_user(const void *a)
{
	return ret(unshare(CLONE_NEWUSER));
}

static int op_unshare_none(const void *a)
{
	return ret(unshare(0));
}

static int op_clone_newuser(const void *a)
{
	long r = syscall(SYS_clone, (long)(CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L);

	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return ret(r);
}

static int op_fork(const void *a)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(7);
	if (pid < 0)
		return errno;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : SETUP_FAILED;
}

static int op_clone3(const void *a)
{
	return ret(syscall(SYS_clone3, NULL, 0L));
}

static int op_setns(const void *a)
{
	return ret(setns(-1, 0));
}

static int op_mount(const void *a)
{
	return ret(mount(NULL, "/nonexistent-nono", NULL, 0, NULL));
}

static int op_umount(const void *a)
{
	return ret(umount2("/nonexistent-nono", 0));
}

static int op_chroot(const void *a)
{
	return ret(chroot("/nonexistent-nono"));
}

static int op_pivot(const void *a)
{
	return ret(syscall(SYS_pivot_root, "/nonexistent-nono", "/nonexistent-nono"));
}

static int op_fsopen(const void *a)
{
	return ret_fd((int)syscall(SYS_fsopen, "tmpfs", 0L));
}

static int op_open_tree(const void *a)
{
	return ret_fd((int)syscall(SYS_open_tree, AT_FDCWD, "/nonexistent-nono", 0L));
}

static int op_open_tree_attr(const void *a)
{
	return ret_fd((int)syscall(467, AT_FDCWD, "/nonexistent-nono", 0L, NULL, 0L));
}

static int op_ptrace(const void *a)
{
	return ret(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
}

static int op_vm_readv(const void *a)
{
	return ret(process_vm_readv(getpid(), NULL, 0, NULL, 0, 0));
}

static int op_pidfd_getfd(const void *a)
{
	return ret(syscall(SYS_pidfd_getfd, -1, 0, 0));
}

static int op_kcmp(const void *a)
{
	return ret(syscall(SYS_kcmp, (long)getpid(), (long)getpid(), (long)KCMP_FILE, 0L, 0L));
}

static int op_bpf(const void *a)
{
	return ret(syscall(SYS_bpf, (long)BPF_MAP_CREATE, NULL, 0L));
}

static int op_perf(const void *a)
{
	return ret(syscall(SYS_perf_event_open, NULL, 0L, -1L, -1L, 0L));
}

static int op_userfaultfd(const void *a)
{
	return ret_fd((int)syscall(SYS_userfaultfd, 0L));
}

static int op_keyctl(const void *a)
{
	return ret(syscall(SYS_keyctl, (long)KEYCTL_GET_KEYRING_ID,
			   (long)KEY_SPEC_SESSION_KEYRING, 0L));
}

static int op_add_key(const void *a)
{
	return ret(syscall(SYS_add_key, "user", "nono", "x", 1L, -1L));
}

static int op_io_uring(const void *a)
{
	struct io_uring_params params = { 0 };

	return ret_fd((int)syscall(SYS_io_uring_setup, 1L, &params));
}

static int op_io_uring_enter(const void *a)
{
	return ret(syscall(SYS_io_uring_enter, -1L, 0L, 0L, 0L, NULL, 0L));
}

static int op_delete_module(const void *a)
{
	return ret(syscall(SYS_delete_module, "nono_none", 0L));
}

static int op_kexec(const void *a)
{
	return ret(syscall(SYS_kexec_load, 0L, 0L, NULL, 0xdead0000L));
}

static int op_reboot(const void *a)
{
	/* a wrong magic: EINVAL if the filter were missing, never a reboot */
	return ret(syscall(SYS_reboot, 0L, 0L, (long)LINUX_REBOOT_CMD_CAD_OFF, NULL));
}

static int op_swapon(const void *a)
{
	return ret(syscall(SYS_swapon, "/nonexistent-nono", 0L));
}

static int op_acct(const void *a)
{
	return ret(syscall(SYS_acct, "/nonexistent-nono"));
}

static int op_syslog(const void *a)
{
	return ret(syscall(SYS_syslog, 10L, NULL, 0L));
}

static int op_modify_ldt(const void *a)
{
	char buf[16];

	return ret(syscall(SYS_modify_ldt, 0L, buf, (long)sizeof(buf)));
}

static int op_name_to_handle(const void *a)
{
	struct {
		struct file_handle fh;
		unsigned char room[128];
	} h = { .fh.handle_bytes = 128 };
	int mount_id;

	return ret(name_to_handle_at(AT_FDCWD, "/", &h.fh, &mount_id, 0));
}

static int op_personality_rie(const void *a)
{
	return ret(personality(READ_IMPLIES_EXEC));
}

static int op_personality_query(const void *a)
{
	return ret(personality(0xffffffff));
}

static int op_personality_linux(const void *a)
{
	return ret(personality(PER_LINUX));
}

static int op_personality_hibits(const void *a)
{
	return ret(syscall(SYS_personality, (1L << 32) | ADDR_NO_RANDOMIZE));
}

static int op_tiocsti(const void *a)
{
	char c = 0;
	int p[2];

	if (pipe(p) < 0)
		return SETUP_FAILED;
	return ret(ioctl(p[0], TIOCSTI, &c));
}

static int op_tiocsti_hibits(const void *a)
{
	char c = 0;
	int p[2];

	if (pipe(p) < 0)
		return SETUP_FAILED;
	return ret(syscall(SYS_ioctl, (long)p[0], (1L << 32) | TIOCSTI, &c));
}

static int op_tioclinux(const void *a)
{
	char c = 0;
	int p[2];

	if (pipe(p) < 0)
		return SETUP_FAILED;
	return ret(ioctl(p[0], TIOCLINUX, &c));
}

static int op_fionread(const void *a)
{
	int p[2], n;

	if (pipe(p) < 0)
		return SETUP_FAILED;
	return ret(ioctl(p[0], FIONREAD, &n));
}

static int op_x32(const void *a)
{
	return ret(syscall(0x40000000L | SYS_getpid));
}

static int op_jit(const void *a)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (m == MAP_FAILED)
		return errno;
	return ret(mprotect(m, 4096, PROT_READ | PROT_EXEC));
}

struct sc_probe {
	const char *name;
	int (*op)(const void *);
	int want;
};

static const struct sc_probe sc_probes[] = {
	{ "socket(AF_PACKET, SOCK_DGRAM)", op_packet, EAFNOSUPPORT },
	{ "socket(AF_PACKET, SOCK_RAW)", op_packet_raw, EAFNOSUPPORT },
	{ "socket(AF_NETLINK)", op_netlink, EAFNOSUPPORT },
	{ "socket(AF_VSOCK)", op_vsock, EAFNOSUPPORT },
	{ "socket(AF_APPLETALK)", op_appletalk, EAFNOSUPPORT },
	{ "socket(AF_UNSPEC)", op_unspec, EAFNOSUPPORT },
	{ "socket(1<<32 | AF_INET)", op_inet_hibits, EAFNOSUPPORT },
	{ "socket(AF_INET, SOCK_RAW)", op_raw4, EPERM },
	{ "socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC)", op_raw6, EPERM },
	{ "socket(AF_INET, MPTCP)", op_mptcp, EPROTONOSUPPORT },
	{ "socket(AF_INET6, MPTCP)", op_mptcp6, EPROTONOSUPPORT },
	{ "socket(AF_INET, 1<<32 | MPTCP)", op_mptcp_hibits, EPROTONOSUPPORT },
	{ "socket(AF_INET, SCTP)", op_sctp, EPROTONOSUPPORT },
	{ "socket(AF_INET6, SOCK_STREAM)", op_tcp, 0 },
	{ "socket(AF_INET, SOCK_DGRAM)", op_udp, 0 },
	{ "socket(AF_UNIX)", op_unix, EPERM },
	{ "socketpair(AF_UNIX)", op_pair_unix, 0 },
	{ "socketpair(AF_INET)", op_pair_inet, EAFNOSUPPORT },
	{ "unshare(CLONE_NEWUSER)", op_unshare_user, EPERM },
	{ "unshare(0)", op_unshare_none, EPERM },
	{ "clone(CLONE_NEWUSER)", op_clone_newuser, EPERM },
	{ "fork()", op_fork, 0 },
	{ "clone3", op_clone3, ENOSYS },
	{ "setns", op_setns, EPERM },
	{ "mount", op_mount, EPERM },
	{ "umount2", op_umount, EPERM },
	{ "chroot", op_chroot, EPERM },
	{ "pivot_root", op_pivot, EPERM },
	{ "fsopen", op_fsopen, ENOSYS },
	{ "open_tree", op_open_tree, ENOSYS },
	{ "open_tree_attr", op_open_tree_attr, ENOSYS },
	{ "ptrace(PTRACE_TRACEME)", op_ptrace, EPERM },
	{ "process_vm_readv", op_vm_readv, EPERM },
	{ "pidfd_getfd", op_pidfd_getfd, EPERM },
	{ "kcmp", op_kcmp, EPERM },
	{ "bpf", op_bpf, EPERM },
	{ "perf_event_open", op_perf, EPERM },
	{ "userfaultfd", op_userfaultfd, EPERM },
	{ "keyctl", op_keyctl, EPERM },
	{ "add_key", op_add_key, EPERM },
	{ "io_uring_setup", op_io_uring, EPERM },
	{ "io_uring_enter", op_io_uring_enter, EPERM },
	{ "delete_module", op_delete_module, EPERM },
	{ "kexec_load", op_kexec, EPERM },
	{ "reboot", op_reboot, EPERM },
	{ "swapon", op_swapon, EPERM },
	{ "acct", op_acct, EPERM },
	{ "syslog", op_syslog, EPERM },
	{ "modify_ldt", op_modify_ldt, EPERM },
	{ "name_to_handle_at", op_name_to_handle, EPERM },
	{ "personality(READ_IMPLIES_EXEC)", op_personality_rie, EPERM },
	{ "personality(1<<32 | ADDR_NO_RANDOMIZE)", op_personality_hibits, EPERM },
	{ "personality(0xffffffff)", op_personality_query, 0 },
	{ "personality(PER_LINUX)", op_personality_linux, 0 },
	{ "ioctl(TIOCSTI)", op_tiocsti, EPERM },
	{ "ioctl(1<<32 | TIOCSTI)", op_tiocsti_hibits, EPERM },
	{ "ioctl(TIOCLINUX)", op_tioclinux, EPERM },
	{ "ioctl(FIONREAD)", op_fionread, 0 },
	{ "x32 getpid", op_x32, ENOSYS },
	{ "mmap/mprotect PROT_EXEC", op_jit, 0 },
};

Test(sandbox, seccomp_denylist)
{
	const struct sandbox sb = { .seccomp = true };

	for (size_t i = 0; i < ARRAY_LEN(sc_probes); i++) {
		const struct sc_probe *pr = &sc_probes[i];
		int got = run(&sb, pr->op, NULL);

		cr_expect(got == pr->want, "%s: got %d (%s), want %d (%s)", pr->name, got,
			  strerror(got), pr->want, strerror(pr->want));
	}
}

Test(sandbox, seccomp_unix_sockets_allowed)
{
	const struct sandbox sb = { .seccomp = true, .allow_unix = true };
	int got = run(&sb, op_unix, NULL);

	cr_expect(got == 0, "socket(AF_UNIX) with allow_unix_sockets: got %d (%s)", got,
		  strerror(got));
	got = run(&sb, op_packet, NULL);
	cr_expect(got == EAFNOSUPPORT, "socket(AF_PACKET) still refused: got %d", got);
}

#if defined(__x86_64__)
/* getpid through the i386 entry point (int $0x80): a foreign arch for seccomp. */
static int op_i386(const void *a)
{
	long r = 20; /* __NR_getpid on i386 */

	__asm__ volatile("int $0x80" : "+a"(r) : : "memory");
	return r > 0 ? 0 : (int)-r;
}

Test(sandbox, seccomp_kills_i386)
{
	const struct sandbox none = { 0 }, sb = { .seccomp = true };
	int got = run(&none, op_i386, NULL);

	if (got != 0)
		cr_skip("no i386 syscall entry in this kernel (IA32 emulation off): %d", got);
	got = run(&sb, op_i386, NULL);
	cr_expect(got == SIGNALLED + SIGSYS, "i386 syscall: got %d, want killed by SIGSYS", got);
}
#endif

/* ---- both layers: a real program still runs, and glibc falls back from clone3 ---- */

/* system() runs /bin/sh through posix_spawn, which tries clone3 first (glibc >= 2.34). */
static int spawn_true(void)
{
	int status = system("exec /usr/bin/true");

	if (status < 0)
		return errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : SETUP_FAILED;
}

Test(sandbox, both_layers_run_a_program)
{
	static struct policy_path sys[3];
	struct landlock_report rep;
	char err[512];
	int status;
	pid_t pid;

	landlock_abi_or_skip(LANDLOCK_ABI_SCOPE, "what landlock_apply requires");
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct policy p = make_policy(POLICY_NET_PROXY, false);
		size_t n = 0;

		sys[n++] = (struct policy_path){ .path = "/usr", .access = POLICY_READ };
		sys[n++] = (struct policy_path){ .path = "/etc", .access = POLICY_READ };
		sys[n++] = (struct policy_path){ .path = "/dev/null", .is_file = true,
						 .access = POLICY_READ | POLICY_WRITE };
		p.paths = sys;
		p.n_paths = n;
		if (landlock_apply(&p, 0, true, false, &rep, err, sizeof(err)) < 0 ||
		    seccomp_apply(&p, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			_exit(SETUP_FAILED);
		}
		_exit(spawn_true());
	}
	cr_assert(waitpid(pid, &status, 0) == pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "system(/usr/bin/true) under Landlock + seccomp: status %#x", status);
}
