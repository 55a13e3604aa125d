/* privs: give up identity and capabilities before the service runs (exec helper side). */
#include "privs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define CAP_MAX 63	/* capability sets are 64 bits wide */

struct caps {
	uint64_t effective, permitted, inheritable;
};

static int caps_get(struct caps *c)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { 0 };

	if (syscall(SYS_capget, &hdr, d) < 0)
		return -errno;
	c->effective = (uint64_t)d[1].effective << 32 | d[0].effective;
	c->permitted = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	c->inheritable = (uint64_t)d[1].inheritable << 32 | d[0].inheritable;
	return 0;
}

/* Lowering every set to empty is always allowed. */
static int caps_clear(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { 0 };

	return syscall(SYS_capset, &hdr, d) < 0 ? -errno : 0;
}

/* The highest capability this kernel knows: /proc if mounted, else probe the bounding set. */
static int cap_last(void)
{
	char text[16] = "";
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	int cap;

	if (fd >= 0) {
		ssize_t n = read(fd, text, sizeof(text) - 1);
		char *end;
		long v;

		close(fd);
		if (n > 0) {
			text[n] = '\0';
			errno = 0;
			v = strtol(text, &end, 10);
			if (errno == 0 && end != text && v >= 0 && v <= CAP_MAX)
				return (int)v;
		}
	}
	for (cap = 0; cap < CAP_MAX; cap++)
		if (prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) < 0)
			break;
	return cap;
}

static int drop_bounding(int last, char *err, size_t errlen)
{
	for (int cap = 0; cap <= last; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			int r = -errno;

			snprintf(err, errlen, "cannot drop capability %d from the bounding set: %s",
				 cap, strerror(-r));
			return r;
		}
	}
	return 0;
}

static int clear_ambient(char *err, size_t errlen)
{
	/* EINVAL: a kernel before 4.3 has no ambient set, so there is nothing to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		int r = -errno;

		snprintf(err, errlen, "cannot clear the ambient capabilities: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* The proof: nothing in any set, else we fail closed. */
static int verify(int last, bool bounding, char *err, size_t errlen)
{
	struct caps c;
	int r = caps_get(&c);

	if (r < 0) {
		snprintf(err, errlen, "capget: %s", strerror(-r));
		return r;
	}
	if (c.effective || c.permitted || c.inheritable) {
		snprintf(err, errlen,
			 "capabilities remain after dropping them (effective %#llx, permitted %#llx, "
			 "inheritable %#llx)",
			 (unsigned long long)c.effective, (unsigned long long)c.permitted,
			 (unsigned long long)c.inheritable);
		return -EPERM;
	}
	for (int cap = 0; cap <= last; cap++) {
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0) {
			snprintf(err, errlen, "capability %d remains in the ambient set", cap);
			return -EPERM;
		}
		if (bounding && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 0) {
			snprintf(err, errlen, "capability %d remains in the bounding set", cap);
			return -EPERM;
		}
	}
	return 0;
}

static int lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		int r = errno ? -errno : -ENOENT;

		snprintf(err, errlen, "unknown user '%s'%s%s", user, errno ? ": " : "",
			 errno ? strerror(errno) : "");
		return r;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static int drop_as_root(const char *user, int last, char *err, size_t errlen)
{
	uid_t uid, ru, eu, su;
	gid_t gid, rg, eg, sg;
	int r;

	if (!user || !user[0]) {
		snprintf(err, errlen,
			 "the service would run as root with capabilities; set user = NAME "
			 "(run: --user NAME), an unprivileged account");
		return -EPERM;
	}
	r = lookup(user, &uid, &gid, err, errlen);
	if (r < 0)
		return r;
	if (uid == 0 || gid == 0) {
		snprintf(err, errlen,
			 "user '%s' has %s 0: the service would run as root; set user = NAME "
			 "(run: --user NAME), an unprivileged account",
			 user, uid == 0 ? "uid" : "gid");
		return -EPERM;
	}
	/* The bounding set needs CAP_SETPCAP: empty it before the uid change takes that away. */
	r = drop_bounding(last, err, errlen);
	if (r < 0)
		return r;
	r = clear_ambient(err, errlen);
	if (r < 0)
		return r;
	/* With KEEPCAPS off, leaving uid 0 empties the permitted and effective sets. */
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
	    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot switch to user '%s' (uid %u, gid %u): %s", user,
			 (unsigned)uid, (unsigned)gid, strerror(-r));
		return r;
	}
	r = caps_clear();
	if (r < 0) {
		snprintf(err, errlen, "capset: %s", strerror(-r));
		return r;
	}
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid ||
	    eu != uid || su != uid || rg != gid || eg != gid || sg != gid ||
	    getgroups(0, NULL) != 0) {
		snprintf(err, errlen, "switching to user '%s' did not take", user);
		return -EPERM;
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen, "user '%s' could become root again", user);
		return -EPERM;
	}
	return verify(last, true, err, errlen);
}

static int drop_as_user(const char *user, int last, char *err, size_t errlen)
{
	struct caps c;
	uid_t uid;
	gid_t gid;
	bool bounding = false;
	int r;

	if (user && user[0]) {
		r = lookup(user, &uid, &gid, err, errlen);
		if (r < 0)
			return r;
		if (uid != getuid()) {
			snprintf(err, errlen,
				 "user '%s' needs the supervisor to run as root (it runs as uid %u)",
				 user, (unsigned)getuid());
			return -EPERM;
		}
	}
	/* In our own user namespace we hold every capability there: drop the bounding set too. */
	r = caps_get(&c);
	if (r < 0) {
		snprintf(err, errlen, "capget: %s", strerror(-r));
		return r;
	}
	if (c.effective & (1ULL << CAP_SETPCAP)) {
		r = drop_bounding(last, err, errlen);
		if (r < 0)
			return r;
		bounding = true;
	}
	r = clear_ambient(err, errlen);
	if (r < 0)
		return r;
	r = caps_clear();
	if (r < 0) {
		snprintf(err, errlen, "capset: %s", strerror(-r));
		return r;
	}
	return verify(last, bounding, err, errlen);
}

int privs_drop(const char *user, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	int last = cap_last();

	if (getresuid(&ru, &eu, &su) < 0) {
		int r = -errno;

		snprintf(err, errlen, "getresuid: %s", strerror(-r));
		return r;
	}
	if (ru == 0 || eu == 0 || su == 0)
		return drop_as_root(user, last, err, errlen);
	return drop_as_user(user, last, err, errlen);
}

int privs_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : -EPERM;
}

void privs_no_core_dumps(void)
{
	struct rlimit rl = { .rlim_cur = 0, .rlim_max = 0 };

	setrlimit(RLIMIT_CORE, &rl);
}
