/* denials: Landlock's refusals from the kernel audit multicast, parsed and explained. */
#include "denials.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "policy.h"
#include "util.h"

#define MARK_TEXT   "nono-supervise-mark"
#define RCVBUF	    (1 << 20) /* a burst of refusals fits; past it the kernel drops (ENOBUFS) */

static int talk(int fd, int type, const void *data, size_t len)
{
	struct {
		struct nlmsghdr h;
		char data[256];
	} req = {.h = {.nlmsg_len = (uint32_t)NLMSG_LENGTH(len),
		       .nlmsg_type = (uint16_t)type,
		       .nlmsg_flags = NLM_F_REQUEST}};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	if (len > sizeof(req.data))
		return -EINVAL;
	if (len)
		memcpy(req.data, data, len);
	if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return 0;
}

/* Is audit on? AUDIT_GET's reply (multicast records may come first: skipped). */
static int audit_enabled(int fd)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int rc = talk(fd, AUDIT_GET, NULL, 0);

	while (rc == 0) {
		ssize_t n;
		int len;

		if (poll(&pfd, 1, 1000) <= 0)
			return -ETIMEDOUT;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == ENOBUFS))
			continue;
		if (n < 0)
			return -errno;
		len = (int)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (e->error)
					return e->error;
			} else if (h->nlmsg_type == AUDIT_GET &&
				   h->nlmsg_len >= NLMSG_LENGTH(2 * sizeof(uint32_t))) {
				const struct audit_status *st = NLMSG_DATA(h);

				return st->enabled != 0;
			}
		}
	}
	return rc;
}

int denials_open(bool *enabled, char *why, size_t whylen)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = AUDIT_NLGRP_READLOG};
	int size = RCVBUF, fd, rc;

	*enabled = false;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT);
	if (fd < 0) {
		rc = -errno;
		snprintf(why, whylen, "this kernel has no audit subsystem (%s)", strerror(-rc));
		return rc;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		snprintf(why, whylen,
			 "reading the kernel's audit records needs root (CAP_AUDIT_READ): %s",
			 strerror(-rc));
		close(fd);
		return rc;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	rc = audit_enabled(fd);
	*enabled = rc == 1;
	if (rc == 0)
		snprintf(why, whylen,
			 "kernel audit is off (it is the only place Landlock names them); "
			 "'auditctl -e 1' turns it on");
	else if (rc < 0)
		snprintf(why, whylen, "the kernel's audit status cannot be read: %s",
			 strerror(-rc));
	return fd;
}

int denials_mark(int fd)
{
	char text[64];
	int n = snprintf(text, sizeof(text), MARK_TEXT "=%ld", (long)getpid());
	int rc = talk(fd, AUDIT_GET, NULL, 0);

	return rc < 0 ? rc : talk(fd, AUDIT_USER, text, (size_t)n + 1);
}

int denials_read(int fd, struct denial *d)
{
	char buf[8192 + 1] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	char mark[64];

	if (n < 0)
		return errno == EINTR ? -EAGAIN : -errno;
	if (!NLMSG_OK(h, (int)n))
		return DENIALS_OTHER;
	/* The kernel sends one record per message. */
	switch (h->nlmsg_type) {
	case NLMSG_ERROR: {
		const struct nlmsgerr *e = NLMSG_DATA(h);

		/* a refused status query says nothing of the mark sent after it */
		return e->error && e->msg.nlmsg_type == AUDIT_USER ? DENIALS_MARK_REFUSED
								   : DENIALS_OTHER;
	}
	case AUDIT_GET:
		if (h->nlmsg_len < NLMSG_LENGTH(2 * sizeof(uint32_t)))
			return DENIALS_OTHER;
		return ((const struct audit_status *)NLMSG_DATA(h))->enabled ? DENIALS_OTHER
									     : DENIALS_AUDIT_OFF;
	case AUDIT_USER:
		/* "pid=N uid=0 ... msg='nono-supervise-mark=N'": ours only if it carries our pid */
		buf[n] = '\0';
		snprintf(mark, sizeof(mark), "msg='" MARK_TEXT "=%ld'", (long)getpid());
		return strstr((char *)NLMSG_DATA(h), mark) ? DENIALS_MARK : DENIALS_OTHER;
	case DENIALS_ACCESS:
	case DENIALS_DOMAIN:
		if (denials_parse(h->nlmsg_type, NLMSG_DATA(h), h->nlmsg_len - NLMSG_HDRLEN, d) < 0)
			return DENIALS_OTHER;
		return DENIALS_RECORD;
	default:
		return DENIALS_OTHER;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * A value as audit writes it: "quoted" (then it holds no quote, space or control byte) or
 * bare; an untrusted string that needed escaping is bare hex.
 */
static void value(const char *v, size_t n, bool untrusted, char *out, size_t outlen)
{
	bool hex = untrusted && n >= 2 && n % 2 == 0;
	size_t o = 0;

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
		hex = false;
	}
	for (size_t i = 0; hex && i < n; i++)
		hex = hexval(v[i]) >= 0;
	for (size_t i = 0; i < n && o + 1 < outlen; i += hex ? 2 : 1)
		out[o++] = hex ? (char)(hexval(v[i]) << 4 | hexval(v[i + 1])) : v[i];
	if (outlen)
		out[o] = '\0';
}

int denials_parse(int type, const char *text, size_t len, struct denial *d)
{
	const char *p = memchr(text, ')', len), *end = text + len;
	char daddr[64] = "", port[16] = "", opid[16] = "", ocomm[64] = "", num[32];
	bool have_domain = false;

	/* not the whole struct: a record comes per refusal, and object alone is PATH_MAX */
	d->type = type;
	d->domain = 0;
	d->blockers[0] = d->object[0] = '\0';
	d->allocated = false;
	d->pid = 0;
	d->denials = 0;
	while (end > text && end[-1] == '\0')
		end--;
	if (!p || len < 6 || memcmp(text, "audit(", 6) != 0)
		return -EINVAL;
	for (p++; p < end;) {
		const char *key, *eq, *v;
		size_t klen, vlen;

		while (p < end && (*p == ' ' || *p == ':'))
			p++;
		key = p;
		while (p < end && *p != '=' && *p != ' ')
			p++;
		if (p == end || *p != '=')
			continue;
		eq = p;
		klen = (size_t)(eq - key);
		v = ++p;
		if (p < end && *p == '"') {
			const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));

			if (!q)
				return -EINVAL;
			p = q + 1;
		} else {
			while (p < end && *p != ' ')
				p++;
		}
		vlen = (size_t)(p - v);
#define KEY(s) (klen == sizeof(s) - 1 && memcmp(key, s, klen) == 0)
		if (KEY("domain")) {
			value(v, vlen, false, num, sizeof(num));
			d->domain = strtoull(num, NULL, 16);
			have_domain = true;
		} else if (KEY("blockers")) {
			value(v, vlen, false, d->blockers, sizeof(d->blockers));
		} else if (KEY("path") || KEY("name")) {
			value(v, vlen, true, d->object, sizeof(d->object));
		} else if (KEY("daddr") || KEY("saddr")) {
			value(v, vlen, false, daddr, sizeof(daddr));
		} else if (KEY("dest") || KEY("src")) {
			value(v, vlen, false, port, sizeof(port));
		} else if (KEY("opid")) {
			value(v, vlen, false, opid, sizeof(opid));
		} else if (KEY("ocomm")) {
			value(v, vlen, true, ocomm, sizeof(ocomm));
		} else if (KEY("status")) {
			d->allocated = vlen == 9 && memcmp(v, "allocated", 9) == 0;
		} else if (KEY("pid")) {
			value(v, vlen, false, num, sizeof(num));
			d->pid = (pid_t)strtol(num, NULL, 10);
		} else if (KEY("denials")) {
			value(v, vlen, false, num, sizeof(num));
			d->denials = strtoul(num, NULL, 10);
		}
#undef KEY
	}
	if (port[0])
		snprintf(d->object, sizeof(d->object), "%s:%s", daddr[0] ? daddr : "*", port);
	else if (opid[0])
		snprintf(d->object, sizeof(d->object), "pid %s (%s)", opid, ocomm);
	if (!have_domain || (type == DENIALS_ACCESS && !d->blockers[0]))
		return -EINVAL;
	return 0;
}

/* Printable bytes as they are, the rest as \xNN: the sandbox chose these names. */
static void escape(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *s && o + 5 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f || c == '\\')
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

static bool blocked(const struct denial *d, const char *right)
{
	size_t n = strlen(right);

	for (const char *b = d->blockers; (b = strstr(b, right)); b += n)
		if ((b == d->blockers || b[-1] == ',') && (b[n] == '\0' || b[n] == ','))
			return true;
	return false;
}

/* What a refusal was, for a person, and the flag and key that grant it (NULL: none does). */
struct kind {
	const char *what;
	const char *flag, *key;
};

static const struct kind K_READ = {"read", "--read-file", "filesystem.read_file"},
			 K_NONE = {NULL, NULL, NULL};

static struct kind classify_fs(const struct denial *d)
{
	static const struct {
		const char *right, *what;
	} in_dir[] = {
	    {"fs.make_reg", "create a file in"},	  {"fs.make_dir", "create a directory in"},
	    {"fs.make_sym", "create a symlink in"},	  {"fs.make_sock", "create a socket in"},
	    {"fs.make_fifo", "create a fifo in"},	  {"fs.remove_file", "remove a file from"},
	    {"fs.remove_dir", "remove a directory from"}, {"fs.refer", "move or link files across"},
	};
	const char *b = d->blockers;
	bool several = strchr(b, ',') != NULL;

	/* Creating, removing or moving name the directory; the rest name the file. */
	if (strcmp(b, "fs.make_char,fs.make_block") == 0 || strcmp(b, "fs.make_char") == 0 ||
	    strcmp(b, "fs.make_block") == 0)
		return (struct kind){"create a device node in", NULL, NULL};
	if (strstr(b, "fs.make_") || strstr(b, "fs.remove_") || blocked(d, "fs.refer")) {
		for (size_t i = 0; !several && i < sizeof(in_dir) / sizeof(in_dir[0]); i++)
			if (blocked(d, in_dir[i].right))
				return (struct kind){in_dir[i].what, "--write", "filesystem.write"};
		return (struct kind){"move or link files into or out of", "--write",
				     "filesystem.write"};
	}
	if (blocked(d, "fs.write_file") || blocked(d, "fs.truncate"))
		return (struct kind){"write", "--write-file", "filesystem.write_file"};
	if (blocked(d, "fs.ioctl_dev"))
		return (struct kind){"use (ioctl) the device", "--write-file",
				     "filesystem.write_file"};
	if (blocked(d, "fs.read_dir"))
		return (struct kind){"list", "--read", "filesystem.read"};
	if (blocked(d, "fs.execute"))
		return (struct kind){"execute", "--read-file", "filesystem.read_file"};
	if (blocked(d, "fs.read_file"))
		return K_READ;
	return K_NONE;
}

static struct kind classify(const struct denial *d)
{
	if (strncmp(d->blockers, "fs.", 3) == 0)
		return classify_fs(d);
	if (blocked(d, "net.connect_tcp"))
		return (struct kind){"connect to", "--allow-domain", "network.allow_domain"};
	if (blocked(d, "net.bind_tcp"))
		return (struct kind){"listen on", NULL, NULL};
	if (blocked(d, "scope.signal"))
		return (struct kind){"signal a process outside the sandbox:", NULL, NULL};
	if (blocked(d, "scope.abstract_unix_socket"))
		return (struct kind){"connect to an abstract socket outside the sandbox:", NULL,
				     NULL};
	if (blocked(d, "ptrace"))
		return (struct kind){"trace a process outside the sandbox:", NULL, NULL};
	return K_NONE;
}

/* /proc/<pid>/...: the grant is /proc/self of the command, which its children are not. */
static bool other_proc(const char *path)
{
	const char *p = path + 6;

	if (strncmp(path, "/proc/", 6) != 0 || *p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '/' || *p == '\0';
}

void denials_describe(const struct denial *d, const struct policy *p, enum denials_style style,
		      char *out, size_t outlen)
{
	const struct policy_deny *deny =
	    p && d->object[0] == '/' ? policy_deny_covering(p, d->object) : NULL;
	struct kind k = classify(d);
	const char *grant = style == DENIALS_FLAGS ? k.flag : k.key;
	char obj[PATH_MAX + 64];

	escape(d->object[0] ? d->object : "-", obj, sizeof(obj));
	if (!k.what)
		snprintf(out, outlen, "%s on %s: not allowed in a sandbox", d->blockers, obj);
	else if (deny)
		snprintf(out, outlen, "%s %s: protected by %s, not granted on purpose", k.what, obj,
			 deny->origin ? deny->origin : "a deny rule");
	else if (other_proc(d->object))
		snprintf(out, outlen,
			 "%s %s: /proc/PID is granted to the command itself only (as "
			 "/proc/self), not to other processes, its children included",
			 k.what, obj);
	else if (grant && strcmp(k.flag, "--allow-domain") == 0)
		snprintf(out, outlen, "%s %s: only the proxy is reachable; name a host with %s",
			 k.what, obj, grant);
	else if (grant)
		snprintf(out, outlen, "%s %s: allow with %s %s", k.what, obj, grant, obj);
	else
		snprintf(out, outlen, "%s %s: not allowed in a sandbox", k.what, obj);
}

uint32_t denials_hash(const struct denial *d)
{
	uint32_t h = 2166136261u; /* FNV-1a over "blockers\xffobject" */

	for (const char *c = d->blockers; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (const char *c = d->object; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	return h;
}

void denials_tally_add(struct denials_tally *t, const struct denial *d, const struct policy *p,
		       enum denials_style style)
{
	uint32_t h = denials_hash(d);
	struct denials_kind *k;

	t->total++;
	for (unsigned i = 0; i < t->n; i++)
		if (t->kinds[i].hash == h) {
			t->kinds[i].count++;
			return;
		}
	if (t->n == DENIALS_TALLY_KINDS)
		return;
	k = &t->kinds[t->n++];
	k->hash = h;
	k->count = 1;
	denials_describe(d, p, style, k->line, sizeof(k->line));
}
