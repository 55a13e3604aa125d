/* nono-probe: escape probes run inside a sandboxed service; prints "PROBE <name> <result>" per probe. */
/*
 * Usage: nono-probe [PROBE...]      run the named probes (default: all), each in a forked child
 *        nono-probe --list          print the probe names
 *        nono-probe --ids           print "uid=U euid=E capeff=HEX nnp=N" (the setuid copy runs this)
 *        nono-probe --mk-shm        create a SysV shm segment (mode 0666), print its id (test setup)
 *
 * A result is "ok" (the operation succeeded), an errno name (EACCES), a signal name when the
 * probe's child was killed (SIGSYS), or an upper-case word for probe-level outcomes (LEAK_3,
 * UNSAFE_NETNS, SKIP_NO_PROBE_HOME, TIMEOUT). Targets come from the environment (PROBE_*; the
 * service environment is clean, so the test passes them with `env =` lines).
 *
 * Probes that could reach the outside world when run unsandboxed (packets to 192.0.2.1 or
 * 1.1.1.1, DNS) first check that the process sits in a network namespace with only `lo`, and
 * report UNSAFE_NETNS otherwise. kill(-1) runs only when PROBE_KILL_ALL=1 and a sibling is
 * provably out of reach (kill(sibling, 0) fails with EPERM).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef AF_SMC
#define AF_SMC 43
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef PER_LINUX
#define PER_LINUX 0
#endif
#define PROBE_READ_IMPLIES_EXEC 0x0400000
#define PROBE_KCMP_FILE 0
#define PROBE_UFFD_USER_MODE_ONLY 1
#define PROBE_X32_BIT 0x40000000
#define PROBE_TIMEOUT_MS 10000
#define PROBE_CONNECT_MS 3000
#define RESULT_MAX 96
#define MAX_INHERITED 32

struct probe {
	const char *name;
	void (*fn)(void);
};

static char g_result[RESULT_MAX];
static int g_result_fd = -1;	/* the write end in a probe's child; excluded from fd listings */
static int g_inherited[MAX_INHERITED];	/* fds >= 3 open when main() started */
static int g_n_inherited;
static int g_inherited_more;

/* ---- results ---- */

static void res_str(const char *s)
{
	snprintf(g_result, sizeof(g_result), "%s", s);
}

static void res_errno(int e)
{
	const char *n = strerrorname_np(e);

	if (n)
		snprintf(g_result, sizeof(g_result), "%s", n);
	else
		snprintf(g_result, sizeof(g_result), "ERRNO_%d", e);
}

static void res_ok(void)
{
	res_str("ok");
}

/* rc < 0 -> errno name, else ok. Call right after the syscall. */
static void res_rc(long rc)
{
	if (rc < 0)
		res_errno(errno);
	else
		res_ok();
}

static const char *env_or_skip(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		snprintf(g_result, sizeof(g_result), "SKIP_NO_%s", name);
		return NULL;
	}
	return v;
}

static int env_pid(const char *name)
{
	const char *v = env_or_skip(name);
	char *end;
	long n;

	if (!v)
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n <= 0 || n > INT_MAX) {
		snprintf(g_result, sizeof(g_result), "SKIP_BAD_%s", name);
		return -1;
	}
	return (int)n;
}

static int env_port(const char *name, int dflt)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v) {
		if (dflt > 0)
			return dflt;
		snprintf(g_result, sizeof(g_result), "SKIP_NO_%s", name);
		return -1;
	}
	n = strtol(v, &end, 10);
	if (*end || n <= 0 || n > 65535) {
		snprintf(g_result, sizeof(g_result), "SKIP_BAD_%s", name);
		return -1;
	}
	return (int)n;
}

/* PATH = $ENV + "/" + rel; NULL (result set) if the variable is missing. */
static const char *env_path(char *buf, size_t len, const char *name, const char *rel)
{
	const char *v = env_or_skip(name);

	if (!v)
		return NULL;
	if (snprintf(buf, len, "%s%s%s", v, rel ? "/" : "", rel ? rel : "") >= (int)len) {
		res_str("PATH_TOO_LONG");
		return NULL;
	}
	return buf;
}

static const char *workdir(char *buf, size_t len, const char *rel)
{
	const char *v = getenv("PROBE_WORKDIR");
	char cwd[PATH_MAX];

	if (!v || !*v) {
		if (!getcwd(cwd, sizeof(cwd))) {
			res_errno(errno);
			return NULL;
		}
		v = cwd;
	}
	if (snprintf(buf, len, "%s/%s", v, rel) >= (int)len) {
		res_str("PATH_TOO_LONG");
		return NULL;
	}
	return buf;
}

/* ---- small helpers ---- */

static void try_read(const char *path)
{
	char c;
	int fd;
	ssize_t n;

	if (!path)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		res_errno(errno);
		return;
	}
	n = read(fd, &c, 1);
	if (n < 0)
		res_errno(errno);
	else
		res_ok();
	close(fd);
}

static void try_list(const char *path)
{
	DIR *d;

	if (!path)
		return;
	d = opendir(path);
	if (!d) {
		res_errno(errno);
		return;
	}
	errno = 0;
	if (!readdir(d) && errno)
		res_errno(errno);
	else
		res_ok();
	closedir(d);
}

/* Create PATH (must not exist); on success remove it again so a run leaves nothing behind. */
static void try_create(const char *path)
{
	int fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		res_errno(errno);
		return;
	}
	close(fd);
	unlink(path);
	res_ok();
}

/* Open an existing file for writing without changing it. */
static void try_open_write(const char *path)
{
	int fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		res_errno(errno);
		return;
	}
	close(fd);
	res_ok();
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Interfaces of our network namespace via SIOCGIFNAME (no netlink, no /proc needed). */
static int list_ifaces(char *buf, size_t len, int *lo_up)
{
	struct ifreq ifr;
	size_t used = 0;
	int s, i, n = 0;

	buf[0] = '\0';
	*lo_up = 0;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	for (i = 1; i < 4096; i++) {
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_ifindex = i;
		if (ioctl(s, SIOCGIFNAME, &ifr) < 0)
			continue;
		n++;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
					 used ? "," : "", ifr.ifr_name);
		if (strcmp(ifr.ifr_name, "lo") == 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0)
			*lo_up = (ifr.ifr_flags & IFF_UP) != 0;
		if (used >= len)
			used = len - 1;
	}
	close(s);
	return n;
}

/* True when the only interface is lo: packets to non-loopback addresses cannot leave. */
static int only_lo(void)
{
	char names[256];
	int up;

	return list_ifaces(names, sizeof(names), &up) == 1 && strcmp(names, "lo") == 0;
}

static int guard_netns(void)
{
	if (only_lo())
		return 1;
	res_str("UNSAFE_NETNS");
	return 0;
}

static socklen_t make_addr(struct sockaddr_storage *ss, const char *ip, int port)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, ip, &a6->sin6_addr);
		return sizeof(*a6);
	}
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &a4->sin_addr);
	return sizeof(*a4);
}

/* Connect with a timeout; returns the socket (blocking again) or -errno. */
static int tcp_connect(const char *ip, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, ip, port);
	struct pollfd pfd;
	int s, err = 0;
	socklen_t elen = sizeof(err);

	s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&ss, len) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			close(s);
			return -err;
		}
		pfd = (struct pollfd){ .fd = s, .events = POLLOUT };
		if (poll(&pfd, 1, PROBE_CONNECT_MS) <= 0) {
			close(s);
			return -ETIMEDOUT;
		}
		getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen);
		if (err) {
			close(s);
			return -err;
		}
	}
	fcntl(s, F_SETFL, 0);
	return s;
}

static void try_tcp(const char *ip, int port)
{
	int s;

	if (port < 0)
		return;
	s = tcp_connect(ip, port);
	if (s < 0) {
		res_errno(-s);
		return;
	}
	close(s);
	res_ok();
}

/* UDP: connect, send, wait 1.5 s for any answer. ok = something answered. */
static void try_udp(const char *ip, int port, int use_sendto)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct pollfd pfd;
	char buf[64];
	int s;

	if (port < 0)
		return;
	len = make_addr(&ss, ip, port);
	s = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		res_errno(errno);
		return;
	}
	if (use_sendto) {
		if (sendto(s, "probe", 5, 0, (struct sockaddr *)&ss, len) < 0) {
			res_errno(errno);
			goto out;
		}
	} else {
		if (connect(s, (struct sockaddr *)&ss, len) < 0 || send(s, "probe", 5, 0) < 0) {
			res_errno(errno);
			goto out;
		}
	}
	pfd = (struct pollfd){ .fd = s, .events = POLLIN };
	if (poll(&pfd, 1, 1500) <= 0) {
		res_str("ETIMEDOUT");
		goto out;
	}
	if (recv(s, buf, sizeof(buf), MSG_DONTWAIT) < 0)
		res_errno(errno);
	else
		res_ok();
out:
	close(s);
}

static void try_socket(int domain, int type, int proto)
{
	int s = socket(domain, type | SOCK_CLOEXEC, proto);

	if (s < 0) {
		res_errno(errno);
		return;
	}
	close(s);
	res_ok();
}

static void try_unix_connect(const char *path, int abstract)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int s;

	if (!path)
		return;
	if (abstract) {
		snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "%s", path);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sun.sun_path + 1));
	} else {
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		len = sizeof(sun);
	}
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		res_errno(errno);
		return;
	}
	res_rc(connect(s, (struct sockaddr *)&sun, len));
	close(s);
}

/*
 * fork + execve ARGV; stdout captured into OUT (may be NULL). Returns the exit status (>= 0),
 * or -errno when execve itself failed (reported through a CLOEXEC pipe).
 */
static int run_prog(char *const argv[], char *out, size_t outlen)
{
	int ep[2], op[2], st, err = 0;
	ssize_t n;
	size_t used = 0;
	pid_t pid;

	if (pipe2(ep, O_CLOEXEC) < 0 || pipe2(op, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul >= 0)
			dup2(nul, 0);
		dup2(op[1], 1);
		execve(argv[0], argv, environ);
		err = errno;
		if (write(ep[1], &err, sizeof(err)) < 0)
			_exit(126);
		_exit(127);
	}
	close(ep[1]);
	close(op[1]);
	while (out && used + 1 < outlen) {
		n = read(op[0], out + used, outlen - used - 1);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	if (out)
		out[used] = '\0';
	close(op[0]);
	if (read(ep[0], &err, sizeof(err)) != sizeof(err))
		err = 0;
	close(ep[0]);
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	if (err)
		return -err;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* ---- identity and kernel state ---- */

static void p_ids(void)
{
	uid_t r, e, s;
	gid_t gr, ge, gs, groups[64];
	int n, i;

	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	if (!r || !e || !s || !gr || !ge || !gs) {
		res_str("ROOT_IDS");
		return;
	}
	n = getgroups(64, groups);
	for (i = 0; i < n; i++) {
		if (groups[i] == 0) {
			res_str("ROOT_GROUP");
			return;
		}
	}
	res_ok();
}

static void p_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	int cap;

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0) {
		res_errno(errno);
		return;
	}
	if (d[0].effective || d[1].effective) {
		res_str("CAPEFF");
		return;
	}
	if (d[0].permitted || d[1].permitted) {
		res_str("CAPPRM");
		return;
	}
	if (d[0].inheritable || d[1].inheritable) {
		res_str("CAPINH");
		return;
	}
	for (cap = 0; cap < 64; cap++) {
		int b = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (b < 0)
			break;	/* EINVAL past the last capability */
		if (b > 0) {
			res_str("CAPBND");
			return;
		}
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0) {
			res_str("CAPAMB");
			return;
		}
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		res_str("NO_NNP");
		return;
	}
	res_ok();
}

static void p_seccomp(void)
{
	int m = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);

	if (m < 0)
		res_errno(errno);
	else if (m == 2)
		res_ok();
	else
		snprintf(g_result, sizeof(g_result), "MODE_%d", m);
}

static void p_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1U /* VERSION */);

	if (abi < 0)
		res_errno(errno);
	else
		snprintf(g_result, sizeof(g_result), "ABI%ld", abi);
}

static void p_list_root(void)
{
	try_list("/");
}

static void p_netif(void)
{
	char names[64];
	int up, n = list_ifaces(names, sizeof(names), &up);

	if (n < 0)
		res_errno(-n);
	else if (n == 1 && strcmp(names, "lo") == 0)
		res_str(up ? "ok" : "LO_DOWN");
	else
		snprintf(g_result, sizeof(g_result), "IFACES_%s", names);
}

static void p_inherited_fds(void)
{
	size_t used;
	int i;

	if (!g_n_inherited) {
		res_ok();
		return;
	}
	used = (size_t)snprintf(g_result, sizeof(g_result), "LEAK");
	for (i = 0; i < g_n_inherited && used < sizeof(g_result); i++)
		used += (size_t)snprintf(g_result + used, sizeof(g_result) - used, "_%d", g_inherited[i]);
	if (g_inherited_more && used < sizeof(g_result))
		snprintf(g_result + used, sizeof(g_result) - used, "_MORE");
}

static void p_read_fd3(void)
{
	char c;

	if (g_n_inherited) {	/* reading a leaked fd proves nothing new */
		res_str("LEAKED");
		return;
	}
	res_rc(read(3, &c, 1));
}

static void p_proc_self_fd(void)
{
	struct dirent *e;
	size_t used = 0;
	char extra[RESULT_MAX - 8] = "";
	DIR *d = opendir("/proc/self/fd");
	int fd, dfd;

	if (!d) {
		res_errno(errno);
		return;
	}
	dfd = dirfd(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		fd = (int)strtol(e->d_name, NULL, 10);
		if (fd <= 2 || fd == dfd || fd == g_result_fd)
			continue;
		used += (size_t)snprintf(extra + used, used < sizeof(extra) ? sizeof(extra) - used : 0,
					 "_%d", fd);
		if (used >= sizeof(extra))
			used = sizeof(extra) - 1;
	}
	closedir(d);
	if (extra[0])
		snprintf(g_result, sizeof(g_result), "LEAK%s", extra);
	else
		res_ok();
}

/* ---- filesystem: credentials and reads outside the grants ---- */

static char pbuf[PATH_MAX];
static char pbuf2[PATH_MAX];

static void p_read_ssh_key(void) { try_read(env_path(pbuf, sizeof(pbuf), "PROBE_HOME", ".ssh/id_rsa")); }
static void p_read_aws(void) { try_read(env_path(pbuf, sizeof(pbuf), "PROBE_HOME", ".aws/credentials")); }
static void p_read_gnupg(void) { try_read(env_path(pbuf, sizeof(pbuf), "PROBE_HOME", ".gnupg/secring.gpg")); }
static void p_list_ssh_dir(void) { try_list(env_path(pbuf, sizeof(pbuf), "PROBE_HOME", ".ssh")); }
static void p_read_home_ssh(void) { try_read(env_path(pbuf, sizeof(pbuf), "HOME", ".ssh/id_rsa")); }
static void p_read_root_ssh(void) { try_read("/root/.ssh/id_rsa"); }
static void p_read_shadow(void) { try_read("/etc/shadow"); }
static void p_read_secret(void) { try_read(env_path(pbuf, sizeof(pbuf), "PROBE_SECRET_DIR", "secret")); }
static void p_read_secret_own(void) { try_read(env_path(pbuf, sizeof(pbuf), "PROBE_SECRET_DIR", "mine")); }
static void p_list_secret_dir(void) { try_list(env_path(pbuf, sizeof(pbuf), "PROBE_SECRET_DIR", NULL)); }
static void p_read_sibling_wd(void) { try_read(env_path(pbuf, sizeof(pbuf), "PROBE_SIBLING_DIR", "notes.txt")); }
static void p_read_config(void) { try_read(env_path(pbuf, sizeof(pbuf), "PROBE_CONFIG", NULL)); }

/* ---- filesystem: writes outside the grants ---- */

static void p_write_etc(void) { try_create("/etc/nono-probe-x"); }
static void p_write_usr_bin(void) { try_create("/usr/bin/nono-probe-x"); }
static void p_write_outside(void) { try_create(env_path(pbuf, sizeof(pbuf), "PROBE_OUTSIDE_DIR", "created")); }
static void p_write_bashrc(void) { try_open_write(env_path(pbuf, sizeof(pbuf), "PROBE_HOME", ".bashrc")); }
static void p_write_gitconfig(void) { try_open_write(env_path(pbuf, sizeof(pbuf), "PROBE_HOME", ".gitconfig")); }
static void p_write_control_dir(void) { try_create(env_path(pbuf, sizeof(pbuf), "PROBE_CONTROL_DIR", "x")); }
static void p_write_log_dir(void) { try_create(env_path(pbuf, sizeof(pbuf), "PROBE_LOG_DIR", "x.log")); }
static void p_write_sibling_wd(void) { try_create(env_path(pbuf, sizeof(pbuf), "PROBE_SIBLING_DIR", "x")); }
static void p_write_dev_shm(void) { try_create("/dev/shm/nono-probe-x"); }

/* ---- filesystem: tricks ---- */

static void p_symlink_planted(void)
{
	try_read(workdir(pbuf, sizeof(pbuf), "planted"));
}

static void p_symlink_fresh(void)
{
	const char *secret = env_path(pbuf2, sizeof(pbuf2), "PROBE_SECRET_DIR", "secret");
	const char *link;

	if (!secret || !(link = workdir(pbuf, sizeof(pbuf), "fresh-link")))
		return;
	unlink(link);
	if (symlink(secret, link) < 0) {
		res_errno(errno);	/* creating the link is already denied: as good */
		return;
	}
	try_read(link);
	unlink(link);
}

static void p_dotdot(void)
{
	const char *dir = env_or_skip("PROBE_SECRET_DIR");
	const char *base;

	if (!dir)
		return;
	base = strrchr(dir, '/');
	/* from the workdir $T/wd-X: ../secret/secret */
	snprintf(pbuf, sizeof(pbuf), "../%s/secret", base ? base + 1 : dir);
	try_read(pbuf);
}

static void p_proc_self_root(void)
{
	const char *p = env_path(pbuf2, sizeof(pbuf2), "PROBE_SECRET_DIR", "secret");

	if (!p)
		return;
	snprintf(pbuf, sizeof(pbuf), "/proc/self/root%s", p);
	try_read(pbuf);
}

static void p_proc_self_cwd(void)
{
	const char *dir = env_or_skip("PROBE_SECRET_DIR");
	const char *base;

	if (!dir)
		return;
	base = strrchr(dir, '/');
	snprintf(pbuf, sizeof(pbuf), "/proc/self/cwd/../%s/secret", base ? base + 1 : dir);
	try_read(pbuf);
}

/* O_PATH is not mediated by Landlock; using the fd must be. */
static void p_opath_openat(void)
{
	const char *dir = env_or_skip("PROBE_SECRET_DIR");
	int dfd, fd;

	if (!dir)
		return;
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		res_errno(errno);
		return;
	}
	fd = openat(dfd, "secret", O_RDONLY | O_CLOEXEC);
	res_rc(fd);
	if (fd >= 0)
		close(fd);
	close(dfd);
}

static void p_opath_reopen(void)
{
	const char *p = env_path(pbuf2, sizeof(pbuf2), "PROBE_SECRET_DIR", "secret");
	int pfd;

	if (!p)
		return;
	pfd = open(p, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		res_errno(errno);
		return;
	}
	snprintf(pbuf, sizeof(pbuf), "/proc/self/fd/%d", pfd);
	try_read(pbuf);
	close(pfd);
}

static void p_hardlink_secret(void)
{
	const char *src = env_path(pbuf2, sizeof(pbuf2), "PROBE_SECRET_DIR", "mine");
	const char *dst;

	if (!src || !(dst = workdir(pbuf, sizeof(pbuf), "hard-link")))
		return;
	unlink(dst);
	res_rc(link(src, dst));
	unlink(dst);
}

static void p_rename_out(void)
{
	const char *src = workdir(pbuf, sizeof(pbuf), "victim1");
	const char *dst = env_path(pbuf2, sizeof(pbuf2), "PROBE_OUTSIDE_DIR", "victim1");
	long rc;

	if (!src || !dst)
		return;
	rc = rename(src, dst);
	res_rc(rc);
	if (rc == 0)
		rename(dst, src);
}

static void p_rename_in(void)
{
	const char *src = env_path(pbuf2, sizeof(pbuf2), "PROBE_SECRET_DIR", "mine");
	const char *dst = workdir(pbuf, sizeof(pbuf), "stolen");
	long rc;

	if (!src || !dst)
		return;
	rc = rename(src, dst);
	res_rc(rc);
	if (rc == 0)
		rename(dst, src);
}

static void p_rename_dir_out(void)
{
	const char *src = workdir(pbuf, sizeof(pbuf), "subdir");
	const char *dst = env_path(pbuf2, sizeof(pbuf2), "PROBE_OUTSIDE_DIR", "subdir");
	long rc;

	if (!src || !dst)
		return;
	rc = rename(src, dst);
	res_rc(rc);
	if (rc == 0)
		rename(dst, src);
}

static void exchange(const char *a, const char *b)
{
	long rc;

	if (!a || !b)
		return;
	rc = syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
	res_rc(rc);
	if (rc == 0)
		syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

static void p_exchange_outside(void)
{
	exchange(workdir(pbuf, sizeof(pbuf), "victim2"),
		 env_path(pbuf2, sizeof(pbuf2), "PROBE_OUTSIDE_DIR", "swap"));
}

static void p_exchange_ro(void)
{
	exchange(workdir(pbuf, sizeof(pbuf), "victim3"), env_path(pbuf2, sizeof(pbuf2), "PROBE_RO_DIR", "file"));
}

static void p_read_ro(void) { try_read(env_path(pbuf, sizeof(pbuf), "PROBE_RO_DIR", "file")); }
static void p_write_ro(void) { try_open_write(env_path(pbuf, sizeof(pbuf), "PROBE_RO_DIR", "file")); }
static void p_creat_ro(void) { try_create(env_path(pbuf, sizeof(pbuf), "PROBE_RO_DIR", "new")); }

static void p_truncate_ro(void)
{
	const char *p = env_path(pbuf, sizeof(pbuf), "PROBE_RO_DIR", "file");
	struct stat st;

	if (!p)
		return;
	if (stat(p, &st) < 0) {
		res_errno(errno);
		return;
	}
	res_rc(truncate(p, st.st_size));	/* same size: no harm if it works */
}

static void p_otrunc_ro(void)
{
	const char *p = env_path(pbuf, sizeof(pbuf), "PROBE_RO_DIR", "empty");
	int fd;

	if (!p)
		return;
	fd = open(p, O_RDONLY | O_TRUNC | O_CLOEXEC);	/* an empty file: nothing to lose */
	res_rc(fd);
	if (fd >= 0)
		close(fd);
}

static void p_chmod_outside(void)
{
	const char *p = env_path(pbuf, sizeof(pbuf), "PROBE_SECRET_DIR", "secret");

	if (p)
		res_rc(chmod(p, 0644));
}

static void p_chown_outside(void)
{
	const char *p = env_path(pbuf, sizeof(pbuf), "PROBE_SECRET_DIR", "secret");

	if (p)
		res_rc(chown(p, getuid(), getgid()));
}

static void p_utime_outside(void)
{
	const char *p = env_path(pbuf, sizeof(pbuf), "PROBE_SECRET_DIR", "secret");
	struct timespec ts[2] = { { .tv_sec = 0 }, { .tv_sec = 0 } };

	if (p)
		res_rc(utimensat(AT_FDCWD, p, ts, 0));
}

static void p_setxattr_outside(void)
{
	const char *p = env_path(pbuf, sizeof(pbuf), "PROBE_SECRET_DIR", "secret");

	if (p)
		res_rc(setxattr(p, "user.nono_probe", "x", 1, 0));
}

static void p_mknod_char(void)
{
	const char *p = workdir(pbuf, sizeof(pbuf), "memnode");

	if (!p)
		return;
	res_rc(mknod(p, S_IFCHR | 0600, makedev(1, 1)));
	unlink(p);
}

/* Copy /bin/true to DST and run it: does that tree grant EXECUTE? */
static void exec_copy(const char *dst)
{
	char buf[65536];
	int in, out, rc;
	ssize_t n;

	if (!dst)
		return;
	unlink(dst);
	in = open("/bin/true", O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		res_str("SETUP_READ_TRUE");
		return;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
	if (out < 0) {
		res_str("SETUP_WRITE");
		close(in);
		return;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n)
			break;
	}
	close(in);
	close(out);
	{
		char *const argv[] = { (char *)dst, NULL };

		rc = run_prog(argv, NULL, 0);
	}
	unlink(dst);
	if (rc < 0)
		res_errno(-rc);
	else if (rc == 0)
		res_ok();
	else
		snprintf(g_result, sizeof(g_result), "EXIT_%d", rc);
}

static void p_exec_workdir(void)
{
	exec_copy(workdir(pbuf, sizeof(pbuf), "copied-true"));
}

/* /tmp is write-only in the system groups: a dropped binary must not run */
static void p_exec_tmp(void)
{
	snprintf(pbuf, sizeof(pbuf), "/tmp/nono-probe-true.%d", (int)getpid());
	exec_copy(pbuf);
}

static void p_memfd_exec(void)
{
	char buf[65536];
	int in, mfd;
	ssize_t n;
	pid_t pid;
	int st;

	in = open("/bin/true", O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		res_str("SETUP_READ_TRUE");
		return;
	}
	mfd = (int)syscall(SYS_memfd_create, "nono-probe", 0U);
	if (mfd < 0) {
		res_errno(errno);
		close(in);
		return;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(mfd, buf, (size_t)n) != n)
			break;
	}
	close(in);
	pid = fork();
	if (pid == 0) {
		char *const argv[] = { "true", NULL };

		syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
		_exit(100 + (errno & 0x7f));
	}
	waitpid(pid, &st, 0);
	close(mfd);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		res_ok();
	else if (WIFEXITED(st) && WEXITSTATUS(st) >= 100)
		res_errno(WEXITSTATUS(st) - 100);
	else
		res_str("EXEC_FAILED");
}

/* ---- positive side ---- */

static void p_workdir_rw(void)
{
	const char *p = workdir(pbuf, sizeof(pbuf), "probe-rw.txt");
	char back[16] = "";
	int fd;

	if (!p)
		return;
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		res_errno(errno);
		return;
	}
	if (write(fd, "hello\n", 6) != 6) {
		res_errno(errno);
		close(fd);
		return;
	}
	close(fd);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		res_errno(errno);
		return;
	}
	if (read(fd, back, sizeof(back) - 1) != 6 || strcmp(back, "hello\n") != 0)
		res_str("READBACK_MISMATCH");
	else if (unlink(p) < 0)
		res_errno(errno);
	else
		res_ok();
	close(fd);
}

static void p_workdir_mkdir(void)
{
	const char *p = workdir(pbuf, sizeof(pbuf), "probe-dir");

	if (!p)
		return;
	rmdir(p);
	if (mkdir(p, 0700) < 0) {
		res_errno(errno);
		return;
	}
	res_rc(rmdir(p));
}

static void p_dev_null(void)
{
	char buf[16];
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int ur;

	if (fd < 0) {
		res_errno(errno);
		return;
	}
	if (write(fd, "x", 1) != 1) {
		res_errno(errno);
		close(fd);
		return;
	}
	close(fd);
	ur = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (ur < 0) {
		res_errno(errno);
		return;
	}
	res_rc(read(ur, buf, sizeof(buf)));
	close(ur);
}

static void p_cpuinfo(void)
{
	try_read("/proc/cpuinfo");
	if (strcmp(g_result, "ok") == 0)
		try_read("/proc/stat");
}

static void p_exec_system(void)
{
	char *const argv[] = { "/bin/true", NULL };
	int rc = run_prog(argv, NULL, 0);

	if (rc < 0)
		res_errno(-rc);
	else if (rc)
		snprintf(g_result, sizeof(g_result), "EXIT_%d", rc);
	else
		res_ok();
}

static void p_tcp_proxy(void)
{
	int port = env_port("PROBE_PROXY_PORT", 8383);
	const char *want = getenv("PROBE_PROXY_STATUS");
	static const char req[] = "GET / HTTP/1.0\r\nHost: nono-probe\r\n\r\n";
	char buf[256];
	size_t used = 0;
	ssize_t n;
	int s, code;

	if (port < 0)
		return;
	if (!want || !*want)
		want = "503";
	s = tcp_connect("127.0.0.1", port);
	if (s < 0) {
		res_errno(-s);
		return;
	}
	{
		struct timeval tv = { .tv_sec = 3 };

		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if (write(s, req, sizeof(req) - 1) < 0) {
		res_errno(errno);
		goto out;
	}
	while (used + 1 < sizeof(buf) && (n = read(s, buf + used, sizeof(buf) - used - 1)) > 0) {
		used += (size_t)n;
		if (memchr(buf, '\n', used))
			break;
	}
	buf[used] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1) {
		res_str(used ? "NOT_HTTP" : "NO_REPLY");
		goto out;
	}
	if (strtol(want, NULL, 10) == code)
		res_ok();
	else
		snprintf(g_result, sizeof(g_result), "HTTP_%d", code);
out:
	close(s);
}

static void p_socketpair_unix(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		res_errno(errno);
		return;
	}
	close(sv[0]);
	close(sv[1]);
	res_ok();
}

/* ---- processes and IPC ---- */

static void p_kill_supervisor(void)
{
	int pid = env_pid("PROBE_SUPERVISOR_PID");

	if (pid > 0)
		res_rc(kill(pid, 0));
}

static void p_kill_parent(void)
{
	res_rc(kill(getppid() == 1 ? -1 : getppid(), 0));	/* our runner: same domain, allowed */
}

static void p_kill_sibling(void)
{
	int pid = env_pid("PROBE_SIBLING_PID");

	if (pid > 0)
		res_rc(kill(pid, 0));
}

static void p_tgkill_sibling(void)
{
	int pid = env_pid("PROBE_SIBLING_PID");

	if (pid > 0)
		res_rc(syscall(SYS_tgkill, pid, pid, 0));
}

static void p_pidfd_signal_sibling(void)
{
	int pid = env_pid("PROBE_SIBLING_PID");
	int pfd;

	if (pid <= 0)
		return;
	pfd = (int)syscall(SYS_pidfd_open, pid, 0U);
	if (pfd < 0) {
		res_errno(errno);
		return;
	}
	res_rc(syscall(SYS_pidfd_send_signal, pfd, 0, NULL, 0U));
	close(pfd);
}

/*
 * kill(-1, SIGUSR1) must return 0 (it reaches our own runner, which ignores SIGUSR1) but not
 * the sibling canary. Only when asked to and when the sibling is provably out of reach, so a
 * run without the sandbox cannot take other processes of this uid down.
 */
static void p_kill_all(void)
{
	const char *want = getenv("PROBE_KILL_ALL");
	int pid = env_pid("PROBE_SIBLING_PID");
	long rc;

	if (pid <= 0)
		return;
	if (!want || strcmp(want, "1") != 0) {
		res_str("SKIP_NO_PROBE_KILL_ALL");
		return;
	}
	if (getuid() == 0 || geteuid() == 0 || kill(pid, 0) == 0 || errno != EPERM) {
		res_str("UNSAFE_SIBLING_REACHABLE");
		return;
	}
	rc = kill(-1, SIGUSR1);
	if (rc < 0) {
		res_errno(errno);
		return;
	}
	usleep(300 * 1000);
	if (kill(pid, 0) == 0 || errno != EPERM)
		res_str("CANARY_HIT");
	else
		res_ok();
}

static void p_ptrace_sibling(void)
{
	int pid = env_pid("PROBE_SIBLING_PID");
	long rc;

	if (pid <= 0)
		return;
	rc = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, pid, NULL, NULL);
	res_rc(rc);
	if (rc == 0)
		syscall(SYS_ptrace, 17 /* PTRACE_DETACH */, pid, NULL, NULL);
}

static void p_ptrace_supervisor(void)
{
	int pid = env_pid("PROBE_SUPERVISOR_PID");
	long rc;

	if (pid <= 0)
		return;
	rc = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, pid, NULL, NULL);
	res_rc(rc);
	if (rc == 0)
		syscall(SYS_ptrace, 17 /* PTRACE_DETACH */, pid, NULL, NULL);
}

static void p_ptrace_traceme(void)
{
	res_rc(syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, NULL, NULL));
}

static void p_process_vm_readv(void)
{
	int pid = env_pid("PROBE_SIBLING_PID");
	char buf[8];
	struct iovec local = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct iovec remote = { .iov_base = (void *)0x400000, .iov_len = sizeof(buf) };

	if (pid > 0)
		res_rc(syscall(SYS_process_vm_readv, pid, &local, 1UL, &remote, 1UL, 0UL));
}

/* Zero-length iovecs: harmless even when allowed (returns 0 before any access check). */
static void p_process_vm_writev(void)
{
	int pid = env_pid("PROBE_SIBLING_PID");

	if (pid > 0)
		res_rc(syscall(SYS_process_vm_writev, pid, NULL, 0UL, NULL, 0UL, 0UL));
}

static void p_pidfd_getfd(void)
{
	int pid = env_pid("PROBE_SIBLING_PID");
	int pfd;
	long fd;

	if (pid <= 0)
		return;
	pfd = (int)syscall(SYS_pidfd_open, pid, 0U);
	if (pfd < 0) {
		res_errno(errno);
		return;
	}
	fd = syscall(SYS_pidfd_getfd, pfd, 0, 0U);
	res_rc(fd);
	if (fd >= 0)
		close((int)fd);
	close(pfd);
}

static void p_kcmp(void)
{
	int pid = env_pid("PROBE_SIBLING_PID");

	if (pid > 0)
		res_rc(syscall(SYS_kcmp, getpid(), pid, PROBE_KCMP_FILE, 0UL, 0UL));
}

static void proc_of(const char *var, const char *what, int list)
{
	int pid = env_pid(var);

	if (pid <= 0)
		return;
	snprintf(pbuf, sizeof(pbuf), "/proc/%d/%s", pid, what);
	if (list)
		try_list(pbuf);
	else
		try_read(pbuf);
}

static void p_sup_environ(void) { proc_of("PROBE_SUPERVISOR_PID", "environ", 0); }
static void p_sup_cmdline(void) { proc_of("PROBE_SUPERVISOR_PID", "cmdline", 0); }
static void p_sup_mem(void) { proc_of("PROBE_SUPERVISOR_PID", "mem", 0); }
static void p_sup_maps(void) { proc_of("PROBE_SUPERVISOR_PID", "maps", 0); }
static void p_sup_auxv(void) { proc_of("PROBE_SUPERVISOR_PID", "auxv", 0); }
static void p_sup_fd(void) { proc_of("PROBE_SUPERVISOR_PID", "fd", 1); }
static void p_sup_fd0(void) { proc_of("PROBE_SUPERVISOR_PID", "fd/0", 0); }
static void p_sup_root(void) { proc_of("PROBE_SUPERVISOR_PID", "root/", 1); }
static void p_sib_environ(void) { proc_of("PROBE_SIBLING_PID", "environ", 0); }
static void p_sib_cmdline(void) { proc_of("PROBE_SIBLING_PID", "cmdline", 0); }
static void p_sib_mem(void) { proc_of("PROBE_SIBLING_PID", "mem", 0); }
static void p_sib_maps(void) { proc_of("PROBE_SIBLING_PID", "maps", 0); }
static void p_sib_auxv(void) { proc_of("PROBE_SIBLING_PID", "auxv", 0); }
static void p_sib_fd(void) { proc_of("PROBE_SIBLING_PID", "fd", 1); }
static void p_sib_root(void) { proc_of("PROBE_SIBLING_PID", "root/", 1); }
static void p_proc_1_environ(void) { try_read("/proc/1/environ"); }

static void p_unix_socket(void) { try_socket(AF_UNIX, SOCK_STREAM, 0); }
static void p_unix_dgram(void) { try_socket(AF_UNIX, SOCK_DGRAM, 0); }
static void p_unix_dbus(void) { try_unix_connect(env_or_skip("PROBE_DBUS_SOCKET"), 0); }
static void p_unix_control(void) { try_unix_connect(env_or_skip("PROBE_CONTROL_SOCKET"), 0); }
static void p_unix_system_dbus(void) { try_unix_connect("/run/dbus/system_bus_socket", 0); }
static void p_unix_systemd(void) { try_unix_connect("/run/systemd/private", 0); }
static void p_unix_docker(void) { try_unix_connect("/var/run/docker.sock", 0); }
static void p_unix_devlog(void) { try_unix_connect("/dev/log", 0); }
static void p_unix_abstract(void) { try_unix_connect(env_or_skip("PROBE_ABSTRACT_NAME"), 1); }

static void p_sysv_shm(void)
{
	const char *v = env_or_skip("PROBE_SHM_ID");
	void *p;

	if (!v)
		return;
	p = shmat((int)strtol(v, NULL, 10), NULL, SHM_RDONLY);
	if (p == (void *)-1) {
		res_errno(errno);
		return;
	}
	shmdt(p);
	res_ok();
}

static void p_tiocsti(void)
{
	char c = 'x';

	res_rc(ioctl(0, TIOCSTI, &c));	/* fd 0 is /dev/null: unfiltered gives ENOTTY */
}

static void p_tiocsti_highbit(void)
{
	char c = 'x';

	res_rc(syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI | (1UL << 32), &c));
}

static void p_tioclinux(void)
{
	char c = 0;

	res_rc(ioctl(0, TIOCLINUX, &c));
}

static void p_dev_tty(void)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);

	res_rc(fd);
	if (fd >= 0)
		close(fd);
}

static void p_setuid_exec(void)
{
	const char *bin = env_or_skip("PROBE_SUID_BIN");
	char out[256];
	unsigned long long capeff = 1;
	int rc, uid = -1, euid = -1, nnp = -1;

	if (!bin)
		return;
	{
		char *const argv[] = { (char *)bin, "--ids", NULL };

		rc = run_prog(argv, out, sizeof(out));
	}
	if (rc < 0) {
		res_errno(-rc);
		return;
	}
	if (rc || sscanf(out, "uid=%d euid=%d capeff=%llx nnp=%d", &uid, &euid, &capeff, &nnp) != 4) {
		snprintf(g_result, sizeof(g_result), "BAD_OUTPUT_%d", rc);
		return;
	}
	if (euid != uid || euid == 0)
		res_str("ELEVATED_EUID");
	else if (capeff)
		res_str("ELEVATED_CAPS");
	else if (nnp != 1)
		res_str("NO_NNP");
	else
		res_ok();
}

/* ---- kernel surface (invalid-argument trick where possible) ---- */

static void p_unshare_user(void) { res_rc(unshare(CLONE_NEWUSER)); }
static void p_unshare_net(void) { res_rc(unshare(CLONE_NEWNET)); }
static void p_unshare_mount(void) { res_rc(unshare(CLONE_NEWNS)); }
static void p_setns(void) { res_rc(setns(-1, 0)); }	/* unfiltered: EBADF */

static void p_clone_newuser(void)
{
	long rc = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, 0UL);

	if (rc == 0)
		_exit(0);
	res_rc(rc);
	if (rc > 0)
		waitpid((pid_t)rc, NULL, 0);
}

static void p_clone3(void) { res_rc(syscall(SYS_clone3, NULL, (size_t)0)); }	/* unfiltered: EINVAL */
static void p_mount(void) { res_rc(mount("none", "/", "tmpfs", 0, NULL)); }
static void p_umount(void) { res_rc(umount2("/", MNT_DETACH)); }
static void p_pivot_root(void) { res_rc(syscall(SYS_pivot_root, ".", ".")); }
static void p_chroot(void) { res_rc(chroot("/")); }
static void p_open_tree(void) { res_rc(syscall(SYS_open_tree, -1, "", 0U)); }	/* unfiltered: EBADF/ENOENT */
static void p_fsopen(void) { res_rc(syscall(SYS_fsopen, "tmpfs", 0U)); }
static void p_mount_setattr(void) { res_rc(syscall(SYS_mount_setattr, -1, "", 0U, NULL, (size_t)0)); }
static void p_io_uring(void) { res_rc(syscall(SYS_io_uring_setup, 0U, NULL)); }	/* unfiltered: EINVAL/EFAULT */
static void p_bpf(void) { res_rc(syscall(SYS_bpf, -1, NULL, 0U)); }
static void p_perf_event_open(void) { res_rc(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0UL)); }

static void p_userfaultfd(void)
{
	res_rc(syscall(SYS_userfaultfd, PROBE_UFFD_USER_MODE_ONLY | 0x40000000));	/* unfiltered: EINVAL */
}

static void p_keyctl(void) { res_rc(syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* SESSION */, 0)); }
static void p_add_key(void) { res_rc(syscall(SYS_add_key, NULL, NULL, NULL, (size_t)0, 0)); }
static void p_request_key(void) { res_rc(syscall(SYS_request_key, NULL, NULL, NULL, 0)); }
static void p_finit_module(void) { res_rc(syscall(SYS_finit_module, -1, "", 0)); }
static void p_kexec_load(void) { res_rc(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL)); }
static void p_open_by_handle(void) { res_rc(syscall(SYS_open_by_handle_at, -1, NULL, 0)); }

static void p_name_to_handle(void)
{
	int mnt;

	res_rc(syscall(SYS_name_to_handle_at, AT_FDCWD, ".", NULL, &mnt, 0));	/* unfiltered: EFAULT */
}

static void p_personality(void) { res_rc(syscall(SYS_personality, (unsigned long)PROBE_READ_IMPLIES_EXEC)); }
static void p_modify_ldt(void) { res_rc(syscall(SYS_modify_ldt, 0, NULL, 0UL)); }	/* unfiltered: 0 */
static void p_syslog(void) { res_rc(syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0)); }
static void p_acct(void) { res_rc(syscall(SYS_acct, NULL)); }
static void p_x32(void) { res_rc(syscall(PROBE_X32_BIT | SYS_getpid)); }

static void p_int80(void)
{
	long ret;

	/* i386 getpid (20) through int 0x80: the filter's arch check kills the process */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	if (ret < 0)
		res_errno((int)-ret);
	else
		res_ok();
}

/* ---- network ---- */

static void p_tcp_host_port(void) { try_tcp("127.0.0.1", env_port("PROBE_HOST_PORT", 0)); }
static void p_tcp6_host_port(void) { try_tcp("::1", env_port("PROBE_HOST_PORT", 0)); }
static void p_tcp6_proxy_port(void) { try_tcp("::1", env_port("PROBE_PROXY_PORT", 8383)); }
static void p_tcp_lo2_proxy_port(void) { try_tcp("127.0.0.2", env_port("PROBE_PROXY_PORT", 8383)); }

static void p_tcp_unrouted_proxy_port(void)
{
	if (guard_netns())
		try_tcp("192.0.2.1", env_port("PROBE_PROXY_PORT", 8383));
}

static void p_tcp_public_443(void)
{
	if (guard_netns())
		try_tcp("1.1.1.1", 443);
}

static void p_udp_host_port(void) { try_udp("127.0.0.1", env_port("PROBE_UDP_PORT", 0), 0); }
static void p_udp6_host_port(void) { try_udp("::1", env_port("PROBE_UDP_PORT", 0), 0); }
static void p_udp_dns_loopback(void) { try_udp("127.0.0.1", 53, 0); }

static void p_udp_dns_remote(void)
{
	if (guard_netns())
		try_udp("192.0.2.1", 53, 1);
}

static void p_udp_dns_public(void)
{
	if (guard_netns())
		try_udp("8.8.8.8", 53, 1);
}

static void p_dns_resolve(void)
{
	static const struct {
		int code;
		const char *name;
	} eai[] = {
		{ EAI_AGAIN, "EAI_AGAIN" }, { EAI_NONAME, "EAI_NONAME" }, { EAI_FAIL, "EAI_FAIL" },
		{ EAI_NODATA, "EAI_NODATA" }, { EAI_SYSTEM, "EAI_SYSTEM" }, { EAI_FAMILY, "EAI_FAMILY" },
		{ EAI_MEMORY, "EAI_MEMORY" }, { EAI_SERVICE, "EAI_SERVICE" },
	};
	const char *name = getenv("PROBE_DNS_NAME");
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	size_t i;
	int rc;

	if (!guard_netns())
		return;
	if (!name || !*name)
		name = "example.com";
	rc = getaddrinfo(name, "443", &hints, &res);
	if (rc == 0) {
		freeaddrinfo(res);
		res_ok();
		return;
	}
	for (i = 0; i < sizeof(eai) / sizeof(eai[0]); i++) {
		if (eai[i].code == rc) {
			res_str(eai[i].name);
			return;
		}
	}
	snprintf(g_result, sizeof(g_result), "EAI_%d", rc);
}

static void p_bind_priv(void)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, "127.0.0.1", 80);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0) {
		res_errno(errno);
		return;
	}
	res_rc(bind(s, (struct sockaddr *)&ss, len));
	close(s);
}

static void p_listen_autobind(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0) {
		res_errno(errno);
		return;
	}
	res_rc(listen(s, 1));
	close(s);
}

static void p_mptcp(void) { try_socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP); }
static void p_mptcp6(void) { try_socket(AF_INET6, SOCK_STREAM, IPPROTO_MPTCP); }
static void p_sctp(void) { try_socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP); }
static void p_raw(void) { try_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP); }
static void p_raw6(void) { try_socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6); }
static void p_ping(void) { try_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP); }
static void p_packet(void) { try_socket(AF_PACKET, SOCK_RAW, 0); }
static void p_netlink(void) { try_socket(AF_NETLINK, SOCK_RAW, 0 /* NETLINK_ROUTE */); }
static void p_vsock(void) { try_socket(AF_VSOCK, SOCK_STREAM, 0); }
static void p_alg(void) { try_socket(AF_ALG, SOCK_SEQPACKET, 0); }
static void p_smc(void) { try_socket(AF_SMC, SOCK_STREAM, 0); }

static void p_socketpair_inet(void)
{
	int sv[2];

	if (socketpair(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		res_errno(errno);	/* unfiltered: EOPNOTSUPP */
		return;
	}
	close(sv[0]);
	close(sv[1]);
	res_ok();
}

/* ---- the table ---- */

#define P(n) { #n, p_##n }
static const struct probe probes[] = {
	/* identity, kernel state, inherited things */
	P(ids), P(caps), P(seccomp), P(landlock_abi), P(netif), P(list_root),
	P(inherited_fds), P(read_fd3), P(proc_self_fd),
	/* credentials and reads outside the grants (§5.1) */
	P(read_ssh_key), P(read_aws), P(read_gnupg), P(list_ssh_dir), P(read_home_ssh), P(read_root_ssh),
	P(read_shadow), P(read_secret), P(read_secret_own), P(list_secret_dir), P(read_sibling_wd),
	P(read_config),
	/* writes outside the grants (§5.2) */
	P(write_etc), P(write_usr_bin), P(write_outside), P(write_bashrc), P(write_gitconfig),
	P(write_control_dir), P(write_log_dir), P(write_sibling_wd), P(write_dev_shm),
	/* links, renames, magic links (§5.3-5.6) */
	P(symlink_planted), P(symlink_fresh), P(dotdot), P(proc_self_root), P(proc_self_cwd),
	P(opath_openat), P(opath_reopen), P(hardlink_secret), P(rename_out), P(rename_in),
	P(rename_dir_out), P(exchange_outside), P(exchange_ro),
	P(read_ro), P(write_ro), P(creat_ro), P(truncate_ro), P(otrunc_ro),
	/* DAC-only operations, devices, exec (§5.8-5.10) */
	P(chmod_outside), P(chown_outside), P(utime_outside), P(setxattr_outside), P(mknod_char),
	P(exec_workdir), P(exec_tmp), P(memfd_exec),
	/* the positive side */
	P(workdir_rw), P(workdir_mkdir), P(dev_null), P(cpuinfo), P(exec_system), P(tcp_proxy),
	P(socketpair_unix),
	/* processes and IPC (§5.11-5.16) */
	P(kill_supervisor), P(kill_parent), P(kill_sibling), P(tgkill_sibling), P(pidfd_signal_sibling),
	P(kill_all), P(ptrace_sibling), P(ptrace_supervisor), P(ptrace_traceme), P(process_vm_readv),
	P(process_vm_writev), P(pidfd_getfd), P(kcmp),
	P(sup_environ), P(sup_cmdline), P(sup_mem), P(sup_maps), P(sup_auxv), P(sup_fd), P(sup_fd0),
	P(sup_root), P(sib_environ), P(sib_cmdline), P(sib_mem), P(sib_maps), P(sib_auxv), P(sib_fd),
	P(sib_root), P(proc_1_environ),
	P(unix_socket), P(unix_dgram), P(unix_dbus), P(unix_control), P(unix_system_dbus),
	P(unix_systemd), P(unix_docker), P(unix_devlog), P(unix_abstract), P(sysv_shm),
	P(tiocsti), P(tiocsti_highbit), P(tioclinux), P(dev_tty), P(setuid_exec),
	/* kernel surface (§5.17-5.21) */
	P(unshare_user), P(unshare_net), P(unshare_mount), P(setns), P(clone_newuser), P(clone3),
	P(mount), P(umount), P(pivot_root), P(chroot), P(open_tree), P(fsopen), P(mount_setattr),
	P(io_uring), P(bpf), P(perf_event_open), P(userfaultfd), P(keyctl), P(add_key), P(request_key),
	P(finit_module), P(kexec_load), P(open_by_handle), P(name_to_handle), P(personality),
	P(modify_ldt), P(syslog), P(acct), P(x32), P(int80),
	/* network (§5.22-5.25) */
	P(tcp_host_port), P(tcp6_host_port), P(tcp6_proxy_port), P(tcp_lo2_proxy_port),
	P(tcp_unrouted_proxy_port), P(tcp_public_443), P(udp_host_port), P(udp6_host_port),
	P(udp_dns_loopback), P(udp_dns_remote), P(udp_dns_public), P(dns_resolve), P(bind_priv),
	P(listen_autobind), P(mptcp), P(mptcp6), P(sctp), P(raw), P(raw6), P(ping), P(packet),
	P(netlink), P(vsock), P(alg), P(smc), P(socketpair_inet),
};
#undef P

static const struct probe *find_probe(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		if (strcmp(probes[i].name, name) == 0)
			return &probes[i];
	}
	return NULL;
}

/* Run one probe in a forked child; print its line. */
static void run_probe(const struct probe *p)
{
	char res[RESULT_MAX + 1];
	struct pollfd pfd;
	size_t used = 0;
	long deadline;
	ssize_t n;
	pid_t pid;
	int fds[2], st = 0;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		printf("PROBE %s PIPE_%s\n", p->name, strerrorname_np(errno));
		return;
	}
	fflush(stdout);
	/* kill_all signals us (same domain) with SIGUSR1: ignore it while that probe runs */
	sigaction(SIGUSR1, &ign, &old);
	pid = fork();
	if (pid < 0) {
		printf("PROBE %s FORK_%s\n", p->name, strerrorname_np(errno));
		close(fds[0]);
		close(fds[1]);
		sigaction(SIGUSR1, &old, NULL);
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		g_result_fd = fds[1];
		signal(SIGUSR1, SIG_DFL);
		res_str("NO_RESULT");
		p->fn();
		if (write(fds[1], g_result, strlen(g_result)) < 0)
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	deadline = now_ms() + PROBE_TIMEOUT_MS;
	for (;;) {
		long left = deadline - now_ms();

		pfd = (struct pollfd){ .fd = fds[0], .events = POLLIN };
		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			kill(pid, SIGKILL);
			used = (size_t)snprintf(res, sizeof(res), "TIMEOUT");
			break;
		}
		n = read(fds[0], res + used, sizeof(res) - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used >= sizeof(res) - 1)
			break;
	}
	res[used] = '\0';
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGUSR1, &old, NULL);
	if (WIFSIGNALED(st) && strcmp(res, "TIMEOUT") != 0) {
		const char *s = sigabbrev_np(WTERMSIG(st));

		if (s)
			snprintf(res, sizeof(res), "SIG%s", s);
		else
			snprintf(res, sizeof(res), "SIGNAL_%d", WTERMSIG(st));
	} else if (!used) {
		snprintf(res, sizeof(res), "NO_RESULT_EXIT_%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	printf("PROBE %s %s\n", p->name, res);
	fflush(stdout);
}

static int print_ids(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	unsigned long long eff = ~0ULL;

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) == 0)
		eff = ((unsigned long long)d[1].effective << 32) | d[0].effective;
	printf("uid=%d euid=%d capeff=%llx nnp=%d\n", (int)getuid(), (int)geteuid(), eff,
	       prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	return 0;
}

static int make_shm(void)
{
	int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0666);

	if (id < 0) {
		perror("nono-probe: shmget");
		return 1;
	}
	printf("%d\n", id);
	return 0;
}

/* Record fds >= 3 open at startup (before this program opens anything). */
static void note_inherited(void)
{
	int fd;

	for (fd = 3; fd < 1024; fd++) {
		if (fcntl(fd, F_GETFD) < 0)
			continue;
		if (g_n_inherited < MAX_INHERITED)
			g_inherited[g_n_inherited++] = fd;
		else
			g_inherited_more = 1;
	}
}

int main(int argc, char **argv)
{
	size_t i;
	int a, rc = 0;

	note_inherited();
	if (argc == 2 && strcmp(argv[1], "--ids") == 0)
		return print_ids();
	if (argc == 2 && strcmp(argv[1], "--mk-shm") == 0)
		return make_shm();
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
			printf("%s\n", probes[i].name);
		return 0;
	}
	if (argc >= 2 && argv[1][0] == '-') {
		fprintf(stderr, "usage: nono-probe [PROBE...] | --list | --ids | --mk-shm\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 1) {
		for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
			run_probe(&probes[i]);
		printf("PROBES done %zu\n", sizeof(probes) / sizeof(probes[0]));
		return 0;
	}
	for (a = 1; a < argc; a++) {
		const struct probe *p = find_probe(argv[a]);

		if (!p) {
			fprintf(stderr, "nono-probe: unknown probe '%s' (see --list)\n", argv[a]);
			rc = 2;
			continue;
		}
		run_probe(p);
	}
	return rc;
}
