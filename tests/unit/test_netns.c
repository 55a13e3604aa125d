/* Private netns + listener over SCM_RIGHTS, privilege drop, and the 503 proxy stub. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "netns.h"
#include "privs.h"
#include "proxy.h"

#define SKIP_EXIT 77

/* Inside forked children criterion's asserts do not apply: report and exit 1. */
#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s (errno: %s)\n", __FILE__,  \
				__LINE__, #cond, strerror(errno));                          \
			_exit(1);                                                           \
		}                                                                           \
	} while (0)

static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void expect_child(pid_t pid)
{
	int code = wait_child(pid);

	if (code == SKIP_EXIT)
		cr_skip_test("the child reported the feature unavailable here");
	cr_assert_eq(code, 0, "child exited with %d", code);
}

static ino_t netns_ino(void)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return 0;
	return st.st_ino;
}

static struct sockaddr_in lo4(const char *addr, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	inet_pton(AF_INET, addr, &sin.sin_addr);
	return sin;
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Blocking TCP connect; the fd, or -errno. */
static int tcp_connect(const char *addr, int port)
{
	struct sockaddr_in sin = lo4(addr, port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	set_timeouts(fd, 5000);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static bool cap_line_zero(const char *status, const char *key)
{
	const char *p = strstr(status, key);

	return p && strncmp(p + strlen(key), ":\t0000000000000000\n", 19) == 0;
}

static void read_status(char *out, size_t len)
{
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, out, len - 1);

	out[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/* ---- netns ---- */

/* In the child, right after netns_create(): only `lo`, and it is up. */
static void check_only_lo(void)
{
	struct if_nameindex *ifs = if_nameindex();
	struct ifaddrs *ifa, *i;
	struct ifreq ifr = { 0 };
	int fd, n = 0;

	CHECK(ifs);
	for (struct if_nameindex *p = ifs; p->if_index; p++, n++)
		CHECK(strcmp(p->if_name, "lo") == 0);
	CHECK(n == 1);
	if_freenameindex(ifs);
	CHECK(getifaddrs(&ifa) == 0);
	for (i = ifa; i; i = i->ifa_next) {
		CHECK(strcmp(i->ifa_name, "lo") == 0);
		CHECK(i->ifa_flags & IFF_UP);
	}
	freeifaddrs(ifa);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	memcpy(ifr.ifr_name, "lo", 3);
	CHECK(ioctl(fd, SIOCGIFFLAGS, &ifr) == 0);
	CHECK(ifr.ifr_flags & IFF_UP);
	close(fd);
}

/* Inside a netns that check_only_lo() vouched for: nothing but loopback answers. */
static void check_no_way_out(void)
{
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	struct sockaddr_in out = lo4("192.0.2.1", 443);	/* TEST-NET-1 */
	struct sockaddr_in dns = lo4("127.0.0.2", 53);
	char c;
	int fd;

	CHECK(tcp_connect("127.0.0.1", NETNS_PROXY_PORT + 1) == -ECONNREFUSED);
	/* No resolver: a UDP query to loopback :53 bounces (ICMP port unreachable). */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	set_timeouts(fd, 2000);
	CHECK(connect(fd, (struct sockaddr *)&dns, sizeof(dns)) == 0);
	CHECK(send(fd, "q", 1, 0) == 1);
	CHECK(recv(fd, &c, 1, 0) < 0 && errno == ECONNREFUSED);
	close(fd);
	/* No route anywhere else, TCP, UDP or IPv6. */
	CHECK(tcp_connect("192.0.2.1", 443) == -ENETUNREACH);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	out.sin_port = htons(53);
	CHECK(sendto(fd, "q", 1, 0, (struct sockaddr *)&out, sizeof(out)) < 0 &&
	      errno == ENETUNREACH);
	close(fd);
	inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		CHECK(connect(fd, (struct sockaddr *)&v6, sizeof(v6)) < 0 &&
		      (errno == ENETUNREACH || errno == EADDRNOTAVAIL));
		close(fd);
	}
}

Test(netns, private_lo_listener_passed_to_host, .timeout = 30)
{
	ino_t host = netns_ino();
	char err[256] = "", buf[64];
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int sp[2], lfd, a, r;
	size_t n;
	pid_t pid;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int l, c;

		close(sp[0]);
		r = netns_create(err, sizeof(err));
		if (r < 0)
			fprintf(stderr, "netns_create: %s\n", err);
		CHECK(r == 0);
		CHECK(netns_ino() != host);
		check_only_lo();
		CHECK(netns_listen(NETNS_PROXY_PORT, &l, err, sizeof(err)) == 0);
		CHECK(netns_send_fd(sp[1], l) == 0);
		CHECK(fcntl(l, F_GETFD) < 0 && errno == EBADF);	/* our copy is gone */
		c = tcp_connect("127.0.0.1", NETNS_PROXY_PORT);
		CHECK(c >= 0);
		CHECK(write(c, "ping", 4) == 4);
		CHECK(read(c, buf, sizeof(buf)) == 4 && memcmp(buf, "pong", 4) == 0);
		close(c);
		check_no_way_out();
		_exit(0);
	}
	close(sp[1]);
	r = netns_recv_fd(sp[0], &lfd, buf, sizeof(buf), &n);
	cr_assert_eq(r, NETNS_RECV_FD, "netns_recv_fd: %d", r);
	cr_assert_eq(n, 0);
	cr_assert(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sin, &slen), 0);
	cr_assert_eq(ntohs(sin.sin_port), NETNS_PROXY_PORT);
	cr_assert_eq(ntohl(sin.sin_addr.s_addr), INADDR_LOOPBACK);
	/* The host netns accepts what the service dialled on its own loopback. */
	cr_assert(readable(lfd, 5000), "no connection from inside the netns");
	a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(a, 0);
	set_timeouts(a, 5000);
	cr_assert_eq(read(a, buf, sizeof(buf)), 4);
	cr_assert_eq(memcmp(buf, "ping", 4), 0);
	cr_assert_eq(write(a, "pong", 4), 4);
	close(a);
	expect_child(pid);
	/* The helper's side is closed once it is gone: EOF, as after a successful exec. */
	cr_assert_eq(netns_recv_fd(sp[0], &a, buf, sizeof(buf), &n), NETNS_RECV_EOF);
	close(lfd);
	close(sp[0]);
}

/* Two services, one port each on their own loopback; neither reaches the other's. */
Test(netns, every_netns_reuses_the_port, .timeout = 30)
{
	int sp[2][2], lfd[2] = { -1, -1 };
	pid_t pid[2];
	char buf[64], err[256];
	size_t n;

	for (int i = 0; i < 2; i++) {
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp[i]), 0);
		pid[i] = fork();
		cr_assert_geq(pid[i], 0);
		if (pid[i] == 0) {
			int l, c;

			close(sp[i][0]);
			CHECK(netns_create(err, sizeof(err)) == 0);
			CHECK(netns_listen(NETNS_PROXY_PORT, &l, err, sizeof(err)) == 0);
			CHECK(netns_send_fd(sp[i][1], l) == 0);
			if (i == 1) {
				c = tcp_connect("127.0.0.1", NETNS_PROXY_PORT);
				CHECK(c >= 0);
				CHECK(write(c, "2", 1) == 1);
				close(c);
			}
			/* Hold the netns until the parent has looked. */
			CHECK(read(sp[i][1], buf, 1) == 1);
			_exit(0);
		}
		close(sp[i][1]);
		cr_assert_eq(netns_recv_fd(sp[i][0], &lfd[i], buf, sizeof(buf), &n),
			     NETNS_RECV_FD);
	}
	cr_assert(readable(lfd[1], 5000));
	cr_assert_not(readable(lfd[0], 200), "service 2 reached service 1's listener");
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(write(sp[i][0], "x", 1), 1);
		expect_child(pid[i]);
		close(lfd[i]);
		close(sp[i][0]);
	}
}

Test(netns, listen_rejects_bad_port)
{
	char err[256] = "";
	int fd = 7;

	cr_assert_eq(netns_listen(70000, &fd, err, sizeof(err)), -EINVAL);
	cr_assert_eq(fd, -1);
	cr_assert(strstr(err, "70000"));
}

/* ---- the SCM_RIGHTS framing ---- */

static void pair(int sp[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
}

Test(framing, error_text_then_eof)
{
	char buf[128];
	size_t n;
	int sp[2], fd;

	pair(sp);
	cr_assert_eq(write(sp[1], "cannot bind 127.0.0.1:8383", 26), 26);
	close(sp[1]);
	cr_assert_eq(netns_recv_fd(sp[0], &fd, buf, sizeof(buf), &n), NETNS_RECV_TEXT);
	cr_assert_eq(fd, -1);
	cr_assert_eq(n, 26);
	cr_assert_str_eq(buf, "cannot bind 127.0.0.1:8383");
	cr_assert_eq(netns_recv_fd(sp[0], &fd, buf, sizeof(buf), &n), NETNS_RECV_EOF);
	cr_assert_eq(n, 0);
	close(sp[0]);
}

/* Text that starts with the mark byte is still text: only a passed fd makes a listener. */
Test(framing, mark_byte_without_fd_is_text)
{
	char buf[128];
	size_t n;
	int sp[2], fd;

	pair(sp);
	cr_assert_eq(write(sp[1], "L", 1), 1);
	cr_assert_eq(netns_recv_fd(sp[0], &fd, buf, sizeof(buf), &n), NETNS_RECV_TEXT);
	cr_assert_str_eq(buf, "L");
	close(sp[0]);
	close(sp[1]);
}

Test(framing, fd_then_late_error_then_eof)
{
	char buf[128];
	size_t n;
	int sp[2], p[2], fd;

	pair(sp);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(netns_send_fd(sp[1], p[0]), 0);
	cr_assert(fcntl(p[0], F_GETFD) < 0 && errno == EBADF);
	cr_assert_eq(write(sp[1], "capget: boom", 12), 12);
	close(sp[1]);
	cr_assert_eq(netns_recv_fd(sp[0], &fd, buf, sizeof(buf), &n), NETNS_RECV_FD);
	cr_assert_eq(n, 0);
	cr_assert_str_eq(buf, "");
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(write(p[1], "z", 1), 1);
	cr_assert_eq(read(fd, buf, 1), 1);	/* it is the pipe we sent */
	cr_assert_eq(buf[0], 'z');
	cr_assert_eq(netns_recv_fd(sp[0], &fd, buf, sizeof(buf), &n), NETNS_RECV_TEXT);
	cr_assert_str_eq(buf, "capget: boom");
	cr_assert_eq(netns_recv_fd(sp[0], &fd, buf, sizeof(buf), &n), NETNS_RECV_EOF);
	close(sp[0]);
	close(p[1]);
}

/* Text before the fd may arrive in the same read as the mark: both are reported. */
Test(framing, text_before_fd)
{
	char buf[128], text[128] = "";
	size_t n, got = 0;
	int sp[2], p[2], fd = -1, r;

	pair(sp);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(write(sp[1], "abc", 3), 3);
	cr_assert_eq(netns_send_fd(sp[1], p[0]), 0);
	close(sp[1]);
	do {
		int f;

		r = netns_recv_fd(sp[0], &f, buf, sizeof(buf), &n);
		cr_assert_geq(r, 0);
		memcpy(text + got, buf, n);
		got += n;
		if (r == NETNS_RECV_FD)
			fd = f;
	} while (r != NETNS_RECV_EOF);
	cr_assert_geq(fd, 0);
	cr_assert_eq(got, 3);
	cr_assert_eq(memcmp(text, "abc", 3), 0);
	close(fd);
	close(p[1]);
	close(sp[0]);
}

static void send_raw(int sock, char byte, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl = { 0 };
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = CMSG_SPACE(nfds * sizeof(int)),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	cr_assert_eq(sendmsg(sock, &msg, 0), 1);
}

/* A malformed message is refused and what it carried is closed (the pipe loses its reader). */
Test(framing, protocol_violations_close_the_fds)
{
	static const struct {
		char byte;
		size_t nfds;
	} rows[] = { { 'X', 1 }, { NETNS_FD_MARK, 2 } };
	char buf[64];
	size_t n;

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int sp[2], p[2], q[2], fd;
		int fds[2];

		pair(sp);
		cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
		cr_assert_eq(pipe2(q, O_CLOEXEC), 0);
		fds[0] = p[0];
		fds[1] = q[0];
		send_raw(sp[1], rows[i].byte, fds, rows[i].nfds);
		close(p[0]);
		close(q[0]);
		cr_assert_eq(netns_recv_fd(sp[0], &fd, buf, sizeof(buf), &n), -EPROTO, "row %zu",
			     i);
		cr_assert_eq(fd, -1);
		cr_assert(write(p[1], "x", 1) < 0 && errno == EPIPE, "row %zu: fd leaked", i);
		close(p[1]);
		close(q[1]);
		close(sp[0]);
		close(sp[1]);
	}
}

Test(framing, nonblocking_and_small_buffer)
{
	char buf[8];
	size_t n;
	int sp[2], fd;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp), 0);
	cr_assert_eq(netns_recv_fd(sp[0], &fd, buf, sizeof(buf), &n), -EAGAIN);
	cr_assert_eq(netns_recv_fd(sp[0], &fd, buf, 1, &n), -EINVAL);
	/* Longer text than the buffer comes in pieces, each NUL-terminated. */
	cr_assert_eq(write(sp[1], "0123456789", 10), 10);
	cr_assert_eq(netns_recv_fd(sp[0], &fd, buf, sizeof(buf), &n), NETNS_RECV_TEXT);
	cr_assert_str_eq(buf, "0123456");
	cr_assert_eq(netns_recv_fd(sp[0], &fd, buf, sizeof(buf), &n), NETNS_RECV_TEXT);
	cr_assert_str_eq(buf, "789");
	close(sp[0]);
	close(sp[1]);
}

/* ---- privileges ---- */

static void check_dropped(uid_t uid)
{
	char status[4096];
	uid_t r, e, s;
	gid_t rg, eg, sg;

	CHECK(getresuid(&r, &e, &s) == 0 && r == uid && e == uid && s == uid);
	CHECK(getresgid(&rg, &eg, &sg) == 0);
	read_status(status, sizeof(status));
	CHECK(cap_line_zero(status, "CapInh"));
	CHECK(cap_line_zero(status, "CapPrm"));
	CHECK(cap_line_zero(status, "CapEff"));
	CHECK(cap_line_zero(status, "CapBnd"));
	CHECK(cap_line_zero(status, "CapAmb"));
}

Test(privs, root_to_nobody_keeps_no_capability, .timeout = 30)
{
	struct passwd *pw = getpwnam("nobody");
	pid_t pid;

	cr_assert(pw, "no user 'nobody' here");
	cr_assert_eq(geteuid(), 0, "this test needs root");
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char err[256] = "", status[4096];
		struct rlimit rl;
		int r;

		privs_no_core_dumps();
		r = privs_drop("nobody", err, sizeof(err));
		if (r < 0)
			fprintf(stderr, "privs_drop: %s\n", err);
		CHECK(r == 0);
		check_dropped(pw->pw_uid);
		CHECK(getgid() == pw->pw_gid && getgroups(0, NULL) == 0);
		CHECK(setuid(0) < 0 && errno == EPERM);
		CHECK(privs_no_new_privs() == 0);
		read_status(status, sizeof(status));
		CHECK(strstr(status, "NoNewPrivs:\t1\n"));
		CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 && rl.rlim_max == 0);
		_exit(0);
	}
	expect_child(pid);
}

/* No core files, but still dumpable: the service keeps its own /proc/self. */
Test(privs, no_core_dumps_keeps_dumpable)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct rlimit rl;

		privs_no_core_dumps();
		CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 && rl.rlim_max == 0);
		CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1);
		_exit(0);
	}
	expect_child(pid);
}

/* Refusals as root: no user, an empty one, root itself, a user that does not exist. */
Test(privs, root_refusals, .timeout = 30)
{
	static const struct {
		const char *user;
		int want;
		const char *msg;
	} rows[] = {
		{ NULL, -EPERM, "would run as root with capabilities; set user = NAME" },
		{ "", -EPERM, "would run as root" },
		{ "root", -EPERM, "user 'root' has uid 0" },
		{ "no-such-user-nono", -ENOENT, "unknown user 'no-such-user-nono'" },
	};

	cr_assert_eq(geteuid(), 0, "this test needs root");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		pid_t pid = fork();

		cr_assert_geq(pid, 0);
		if (pid == 0) {
			char err[256] = "";
			int r = privs_drop(rows[i].user, err, sizeof(err));

			if (r != rows[i].want || !strstr(err, rows[i].msg))
				fprintf(stderr, "row %zu: %d '%s'\n", i, r, err);
			CHECK(r == rows[i].want);
			CHECK(strstr(err, rows[i].msg));
			CHECK(geteuid() == 0);	/* nothing half-done before the refusal */
			_exit(0);
		}
		expect_child(pid);
	}
}

static void become_nobody(void)
{
	CHECK(setgroups(0, NULL) == 0);
	CHECK(setresgid(65534, 65534, 65534) == 0);
	CHECK(setresuid(65534, 65534, 65534) == 0);
	/* Changing uid made us undumpable, which would leave /proc/self/uid_map root's. */
	CHECK(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0);
}

Test(privs, unprivileged_supervisor, .timeout = 30)
{
	pid_t pid;

	cr_assert_eq(geteuid(), 0, "this test needs root (to become nobody)");
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char err[256] = "";

		become_nobody();
		CHECK(privs_drop("root", err, sizeof(err)) == -EPERM);
		CHECK(strstr(err, "needs the supervisor to run as root"));
		CHECK(privs_drop(NULL, err, sizeof(err)) == 0);
		CHECK(privs_drop("nobody", err, sizeof(err)) == 0);
		_exit(0);
	}
	expect_child(pid);
}

/* Not root: the netns comes with a user namespace, whose capabilities privs_drop() clears. */
Test(privs, userns_fallback_then_drop, .timeout = 30)
{
	pid_t pid;

	cr_assert_eq(geteuid(), 0, "this test needs root (to become nobody)");
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char err[256] = "", status[4096];
		int r, l, c;

		become_nobody();
		r = netns_create(err, sizeof(err));
		if (r == -EPERM) {
			fprintf(stderr, "skipping: %s\n", err);
			_exit(SKIP_EXIT);
		}
		if (r < 0)
			fprintf(stderr, "netns_create: %s\n", err);
		CHECK(r == NETNS_USERNS);
		CHECK(getuid() == 65534);
		check_only_lo();
		read_status(status, sizeof(status));
		CHECK(!cap_line_zero(status, "CapEff"));	/* full caps in the new userns */
		CHECK(netns_listen(NETNS_PROXY_PORT, &l, err, sizeof(err)) == 0);
		r = privs_drop(NULL, err, sizeof(err));
		if (r < 0)
			fprintf(stderr, "privs_drop: %s\n", err);
		CHECK(r == 0);
		check_dropped(65534);
		c = tcp_connect("127.0.0.1", NETNS_PROXY_PORT);
		CHECK(c >= 0);
		close(c);
		close(l);
		_exit(0);
	}
	expect_child(pid);
}

/* Neither a netns nor a user namespace (unshare refused by seccomp): -EPERM with a hint. */
Test(netns, no_namespace_at_all_is_eperm, .timeout = 30)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
		char err[512] = "";
		ino_t before = netns_ino();
		int r;

		become_nobody();
		CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
		CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0);
		r = netns_create(err, sizeof(err));
		if (r != -EPERM)
			fprintf(stderr, "netns_create: %d %s\n", r, err);
		CHECK(r == -EPERM);
		CHECK(strstr(err, "cannot create a network namespace"));
		CHECK(strstr(err, "hint:"));
		CHECK(netns_ino() == before);
		_exit(0);
	}
	expect_child(pid);
}

/* The helper's order: netns, listener out, drop to nobody, NNP; the listener still serves. */
Test(privs, helper_sequence, .timeout = 30)
{
	char buf[64];
	size_t n;
	int sp[2], lfd, a;
	pid_t pid;

	cr_assert_eq(geteuid(), 0, "this test needs root");
	pair(sp);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char err[256] = "";
		int l, c;

		close(sp[0]);
		privs_no_core_dumps();
		CHECK(netns_create(err, sizeof(err)) == 0);
		CHECK(netns_listen(NETNS_PROXY_PORT, &l, err, sizeof(err)) == 0);
		CHECK(netns_send_fd(sp[1], l) == 0);
		CHECK(privs_drop("nobody", err, sizeof(err)) == 0);
		CHECK(privs_no_new_privs() == 0);
		check_dropped(65534);
		check_only_lo();
		/* Without CAP_NET_ADMIN the netns cannot be changed any more. */
		CHECK(tcp_connect("192.0.2.1", 443) == -ENETUNREACH);
		c = tcp_connect("127.0.0.1", NETNS_PROXY_PORT);
		CHECK(c >= 0);
		CHECK(write(c, "hi", 2) == 2);
		close(c);
		_exit(0);
	}
	close(sp[1]);
	cr_assert_eq(netns_recv_fd(sp[0], &lfd, buf, sizeof(buf), &n), NETNS_RECV_FD);
	cr_assert(readable(lfd, 5000));
	a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(a, 0);
	set_timeouts(a, 5000);
	cr_assert_eq(read(a, buf, sizeof(buf)), 2);
	close(a);
	expect_child(pid);
	close(lfd);
	close(sp[0]);
}

/* ---- the proxy stub ---- */

#define BODY_503                                                                            \
	"{\"error\":{\"type\":\"proxy_unavailable\",\"message\":\"nothing to proxy: the "   \
	"service has no credentials and no allowed hosts\"}}"
#define REQUEST "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

static const char *reply_503(void)
{
	static char r[512];

	snprintf(r, sizeof(r),
		 "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 strlen(BODY_503), BODY_503);
	return r;
}

/* Client side (a forked child): send, then read until EOF; returns the reply or NULL. */
static char *exchange(int port, const char *req, size_t len)
{
	static char out[8192];
	size_t got = 0, sent = 0;
	int fd = tcp_connect("127.0.0.1", port);

	if (fd < 0)
		return NULL;
	while (sent < len) {
		ssize_t n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	for (;;) {
		ssize_t n = recv(fd, out + got, sizeof(out) - 1 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	out[got] = '\0';
	return out;
}

struct harness {
	uv_loop_t loop;
	struct proxy px;
	struct proxy_limits limits;	/* zero: the defaults */
	struct proxy_listener pl;
	uv_pipe_t result;
	uv_timer_t guard;
	uv_timer_t sample;
	char text[16384];
	size_t len;
	bool listener_freed;
	bool timed_out;
	unsigned max_conns;
	unsigned close_at;	/* close the listener once this many connections are open */
};

static void listener_freed_cb(struct proxy_listener *pl)
{
	struct harness *h = (struct harness *)((char *)pl - offsetof(struct harness, pl));

	h->listener_freed = true;
}

static void finish(struct harness *h)
{
	proxy_listener_close(&h->pl, listener_freed_cb);
	proxy_close(&h->px, NULL);
	if (!uv_is_closing((uv_handle_t *)&h->guard))
		uv_close((uv_handle_t *)&h->guard, NULL);
	if (!uv_is_closing((uv_handle_t *)&h->sample))
		uv_close((uv_handle_t *)&h->sample, NULL);
	if (!uv_is_closing((uv_handle_t *)&h->result))
		uv_close((uv_handle_t *)&h->result, NULL);
}

static void guard_cb(uv_timer_t *t)
{
	struct harness *h = t->data;

	h->timed_out = true;
	finish(h);
}

static void sample_cb(uv_timer_t *t)
{
	struct harness *h = t->data;

	if (h->pl.nconns > h->max_conns)
		h->max_conns = h->pl.nconns;
	if (h->close_at && h->pl.nconns >= h->close_at) {
		h->close_at = 0;
		proxy_listener_close(&h->pl, listener_freed_cb);
	}
}

static void result_alloc(uv_handle_t *hd, size_t sz, uv_buf_t *b)
{
	struct harness *h = hd->data;

	*b = uv_buf_init(h->text + h->len, (unsigned)(sizeof(h->text) - 1 - h->len));
}

static void result_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct harness *h = s->data;

	if (n > 0) {
		h->len += (size_t)n;
		h->text[h->len] = '\0';
	} else if (n < 0) {
		finish(h);
	}
}

typedef void (*client_fn)(int port, int out);

/*
 * Serve a loopback listener through the proxy while a forked client runs `client` and
 * writes what it saw to a pipe; returns when the client is done and every handle closed.
 */
static void run_proxy(struct harness *h, client_fn client)
{
	struct sockaddr_in sin = lo4("127.0.0.1", 0);
	socklen_t slen = sizeof(sin);
	char err[256] = "";
	int lfd, p[2], r;
	pid_t pid;

	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(lfd, 0);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(lfd, 128), 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sin, &slen), 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(lfd);
		close(p[0]);
		client(ntohs(sin.sin_port), p[1]);
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(uv_loop_init(&h->loop), 0);
	proxy_init(&h->px, &h->loop, h->limits.conns_per_service ? &h->limits : NULL);
	r = proxy_listener_open(&h->pl, &h->px, lfd, NULL, err, sizeof(err));
	cr_assert_eq(r, 0, "proxy_listener_open: %s", err);
	cr_assert_str_eq(h->pl.service, "?");
	uv_pipe_init(&h->loop, &h->result, 0);
	uv_pipe_open(&h->result, p[0]);
	h->result.data = h;
	uv_read_start((uv_stream_t *)&h->result, result_alloc, result_read);
	uv_timer_init(&h->loop, &h->guard);
	h->guard.data = h;
	uv_timer_start(&h->guard, guard_cb, 20000, 0);
	uv_timer_init(&h->loop, &h->sample);
	h->sample.data = h;
	uv_timer_start(&h->sample, sample_cb, 5, 5);
	uv_run(&h->loop, UV_RUN_DEFAULT);
	cr_assert_not(h->timed_out, "the exchange did not finish; client said: %s", h->text);
	cr_assert(h->listener_freed, "the listener's close callback did not run");
	cr_assert_eq(h->pl.nconns, 0);
	cr_assert_eq(uv_loop_close(&h->loop), 0, "handles left open");
	cr_assert_eq(wait_child(pid), 0, "client: %s", h->text);
}

static void put(int out, const char *s)
{
	if (write(out, s, strlen(s)) < 0)
		_exit(2);
}

static void client_get(int port, int out)
{
	const char *r = exchange(port, REQUEST, strlen(REQUEST));

	put(out, r ? r : "connect failed");
}

Test(proxy, answers_503, .timeout = 30)
{
	static struct harness h;

	run_proxy(&h, client_get);
	cr_assert_str_eq(h.text, reply_503());
	cr_assert_eq(h.pl.served, 1);
}

static void client_bad_then_good(int port, int out)
{
	static char big[70 * 1024];
	const char *r;
	int fd;

	/* Oversized head: 431 (or a close), never a hang. */
	memset(big, 'A', sizeof(big));
	r = exchange(port, big, sizeof(big));
	put(out, r ? r : "connect failed");
	put(out, "\n--\n");
	/* Garbage that ends like a head: the stub does not parse, it answers. */
	r = exchange(port, "\x01\x02garbage\r\n\r\n", 13);
	put(out, r ? r : "connect failed");
	put(out, "\n--\n");
	/* A client vanishing mid-request. */
	fd = tcp_connect("127.0.0.1", port);
	if (fd >= 0) {
		put(out, write(fd, "GET / HT", 8) == 8 ? "" : "short write");
		close(fd);
	}
	/* Head split across writes, bare LF line ends, and a body after it. */
	fd = tcp_connect("127.0.0.1", port);
	if (fd >= 0) {
		char buf[1024];
		ssize_t n;
		size_t got = 0;

		put(out, write(fd, "POST / HTTP/1.1\n", 16) == 16 ? "" : "short write");
		usleep(50000);
		put(out, write(fd, "Content-Length: 4\n\nbody", 23) == 23 ? "" : "short write");
		while ((n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
			got += (size_t)n;
		buf[got] = '\0';
		put(out, buf);
		close(fd);
	}
	put(out, "\n--\n");
	client_get(port, out);
}

Test(proxy, garbage_oversized_and_vanishing_clients, .timeout = 30)
{
	static struct harness h;
	static const char body431[] = "{\"error\":{\"type\":\"request_too_large\",\"message\":"
				       "\"the request head is larger than 65536 bytes\"}}";
	char want[4096];
	const char *ok = reply_503();

	run_proxy(&h, client_bad_then_good);
	snprintf(want, sizeof(want),
		 "HTTP/1.1 431 Request Header Fields Too Large\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
		 "\r\n%s\n--\n%s\n--\n%s\n--\n%s",
		 strlen(body431), body431, ok, ok, ok);
	cr_assert_str_eq(h.text, want);
}

/*
 * 4 idle connections fill a listener limited to 4: the 5th is answered 503 at once, naming
 * the limit; once one of the 4 goes, the next one is served.
 */
#define TEST_CONN_LIMIT 4

static void client_flood(int port, int out)
{
	int fds[TEST_CONN_LIMIT], extra;
	char buf[1024];
	size_t got = 0;
	ssize_t n;

	for (int i = 0; i < TEST_CONN_LIMIT; i++) {
		fds[i] = tcp_connect("127.0.0.1", port);
		if (fds[i] < 0) {
			put(out, "connect failed");
			return;
		}
	}
	usleep(200000);
	extra = tcp_connect("127.0.0.1", port);
	if (extra < 0) {
		put(out, "extra connect failed");
		return;
	}
	while ((n = recv(extra, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	put(out, buf);
	put(out, "\n--\n");
	close(extra);
	close(fds[0]);
	usleep(200000);
	client_get(port, out);
	for (int i = 1; i < TEST_CONN_LIMIT; i++)
		close(fds[i]);
}

Test(proxy, connection_limit_is_named_503, .timeout = 30)
{
	static struct harness h;
	static const char body[] = "{\"error\":{\"type\":\"proxy_unavailable\",\"message\":"
				   "\"proxy limit max_connections_per_service (4) reached\"}}";
	char want[2048];

	proxy_limits_default(&h.limits);
	h.limits.conns_per_service = TEST_CONN_LIMIT;
	run_proxy(&h, client_flood);
	snprintf(want, sizeof(want),
		 "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n--\n%s",
		 strlen(body), body, reply_503());
	cr_assert_str_eq(h.text, want);
	cr_assert_geq(h.max_conns, TEST_CONN_LIMIT);
	cr_assert_eq(h.px.refused, 1);
}

/* Closing the listener closes and frees its connections; their clients see it. */
static void client_hold(int port, int out)
{
	int fds[5];
	char c;

	for (int i = 0; i < 5; i++) {
		fds[i] = tcp_connect("127.0.0.1", port);
		if (fds[i] < 0 || write(fds[i], "GET / HTTP/1.1\r\n", 16) != 16) {
			put(out, "connect failed");
			return;
		}
	}
	/* Unread input (or not yet accepted) makes the close a reset: closed all the same. */
	for (int i = 0; i < 5; i++) {
		ssize_t n = recv(fds[i], &c, 1, 0);

		put(out, n == 0 || (n < 0 && errno == ECONNRESET) ? "closed\n" : "open\n");
	}
}

Test(proxy, close_frees_open_connections, .timeout = 30)
{
	static struct harness h;

	h.close_at = 5;
	run_proxy(&h, client_hold);
	cr_assert_str_eq(h.text, "closed\nclosed\nclosed\nclosed\nclosed\n");
	cr_assert_eq(h.pl.served, 0);
}

#define IDLE_MS 10000 /* the default idle_timeout */

/* A client that goes quiet mid-head is closed after the idle timeout. */
static void client_idle(int port, int out)
{
	struct timespec a, b;
	int fd = tcp_connect("127.0.0.1", port);
	char c;
	long ms;

	if (fd < 0 || write(fd, "GET / HTTP/1.1\r\n", 16) != 16) {
		put(out, "connect failed");
		return;
	}
	set_timeouts(fd, IDLE_MS + 5000);
	clock_gettime(CLOCK_MONOTONIC, &a);
	put(out, recv(fd, &c, 1, 0) == 0 ? "eof" : "no eof");
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	put(out, ms >= IDLE_MS - 500 && ms <= IDLE_MS + 2000 ? " in time" : " late");
	close(fd);
}

Test(proxy, idle_head_times_out, .timeout = 40)
{
	static struct harness h;

	run_proxy(&h, client_idle);
	cr_assert_str_eq(h.text, "eof in time");
}

Test(proxy, refuses_what_is_not_a_listener)
{
	static struct harness h;
	char err[256] = "";
	int p[2];

	cr_assert_eq(uv_loop_init(&h.loop), 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	proxy_init(&h.px, &h.loop, NULL);
	cr_assert_eq(proxy_listener_open(&h.pl, &h.px, p[0], NULL, err, sizeof(err)),
		     -ENOTSOCK);
	cr_assert(strstr(err, "service '?'"), "%s", err);
	cr_assert(fcntl(p[0], F_GETFD) < 0 && errno == EBADF, "fd not taken");
	proxy_listener_close(&h.pl, listener_freed_cb);
	uv_run(&h.loop, UV_RUN_DEFAULT);
	cr_assert(h.listener_freed);
	cr_assert_eq(uv_loop_close(&h.loop), 0);
	close(p[1]);
}
