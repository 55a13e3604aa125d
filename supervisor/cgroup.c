/* cgroup: one cgroup v2 per service, so a stop reaches every process the service started. */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#define INSTANCE_PREFIX "nono-supervise."

static char instance[PATH_MAX];	/* empty when unavailable */

static int read_small(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, out, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	out[n] = '\0';
	return (int)n;
}

static int write_small(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* The mount point of the cgroup2 file system, from /proc/self/mountinfo. */
static int find_mount(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts... - fstype source superopts */
		char *sep = strstr(line, " - ");
		char mnt[PATH_MAX];

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		snprintf(out, len, "%s", mnt);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

/* Our own cgroup v2 path ("0::/path" in /proc/self/cgroup). */
static int find_own(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[PATH_MAX + 8];
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, len, "%s", strcmp(line + 3, "/") == 0 ? "" : line + 3);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

/* Kill and remove a cgroup tree, children first. Startup only: it may wait briefly. */
static void destroy_tree(const char *path)
{
	char sub[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(sub, sizeof(sub), "%s/cgroup.kill", path);
	write_small(sub, "1");
	d = opendir(path);
	if (d) {
		while ((e = readdir(d))) {
			if (e->d_type != DT_DIR || e->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			destroy_tree(sub);
		}
		closedir(d);
	}
	for (int i = 0; i < 200 && rmdir(path) < 0 && errno == EBUSY; i++)
		usleep(5000);
}

static bool pid_is_supervisor(long pid)
{
	char path[64], exe[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return false;
	exe[n] = '\0';
	return strstr(exe, "nono-supervise") != NULL;
}

/*
 * A supervisor that was SIGKILLed leaves its services' descendants behind (the direct
 * children die with it through PR_SET_PDEATHSIG, grandchildren do not). Their cgroups
 * tell us who they are: kill what belongs to an instance whose supervisor is gone.
 */
static void reap_stale(const char *base)
{
	struct dirent *e;
	char path[PATH_MAX];
	DIR *d = opendir(base);

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(e->d_name, INSTANCE_PREFIX, strlen(INSTANCE_PREFIX)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(INSTANCE_PREFIX), &end, 10);
		if (*end || pid <= 0 || pid == getpid() || (kill((pid_t)pid, 0) == 0 && pid_is_supervisor(pid)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
		destroy_tree(path);
	}
	closedir(d);
}

int cgroup_setup(char *why, size_t len)
{
	char mnt[PATH_MAX], own[PATH_MAX], base[PATH_MAX], probe[PATH_MAX];
	int r;

	instance[0] = '\0';
	r = find_mount(mnt, sizeof(mnt));
	if (r < 0) {
		snprintf(why, len, "no cgroup2 file system mounted");
		return r;
	}
	r = find_own(own, sizeof(own));
	if (r < 0) {
		snprintf(why, len, "no cgroup v2 entry in /proc/self/cgroup");
		return r;
	}
	if (snprintf(base, sizeof(base), "%s%s", mnt, own) >= (int)sizeof(base) ||
	    snprintf(instance, sizeof(instance), "%s/" INSTANCE_PREFIX "%ld", base,
		     (long)getpid()) >= (int)sizeof(instance) - 16) {
		snprintf(why, len, "cgroup path too long");
		instance[0] = '\0';
		return -ENAMETOOLONG;
	}
	reap_stale(base);
	if (mkdir(instance, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(why, len, "cannot create %s: %s", instance, strerror(-r));
		instance[0] = '\0';
		return r;
	}
	if (snprintf(probe, sizeof(probe), "%s/cgroup.kill", instance) >= (int)sizeof(probe) ||
	    access(probe, W_OK) < 0) {
		r = -errno;
		snprintf(why, len, "%s: %s (kernel older than 5.14?)", probe, strerror(-r));
		rmdir(instance);
		instance[0] = '\0';
		return r;
	}
	return 0;
}

bool cgroup_available(void)
{
	return instance[0] != '\0';
}

void cgroup_teardown(void)
{
	if (instance[0])
		destroy_tree(instance);
	instance[0] = '\0';
}

int cgroup_create(const char *service, char *out, size_t len)
{
	if (!instance[0])
		return -ENOENT;
	if ((size_t)snprintf(out, len, "%s/%s", instance, service) >= len)
		return -ENAMETOOLONG;
	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int cgroup_remove(const char *path)
{
	return rmdir(path) < 0 ? -errno : 0;
}

int cgroup_signal(const char *path, int sig)
{
	char file[PATH_MAX], pids[4096];
	char *p, *end;
	int n;

	if (sig == SIGKILL) {
		snprintf(file, sizeof(file), "%s/cgroup.kill", path);
		return write_small(file, "1");
	}
	/* Other signals, process by process (a large cgroup may need more than one read). */
	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	n = read_small(file, pids, sizeof(pids));
	if (n < 0)
		return n;
	for (p = pids; *p; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 0)
			kill((pid_t)pid, sig);
	}
	return 0;
}

int cgroup_populated(const char *path)
{
	char file[PATH_MAX], ev[256];
	const char *p;
	int n;

	snprintf(file, sizeof(file), "%s/cgroup.events", path);
	n = read_small(file, ev, sizeof(ev));
	if (n < 0)
		return n;
	p = strstr(ev, "populated ");
	return p && p[10] == '1';
}
