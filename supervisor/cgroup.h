/* cgroup: one cgroup v2 per service, so a stop reaches every process the service started. */
#ifndef NONO_CGROUP_H
#define NONO_CGROUP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Find the cgroup2 mount and our own cgroup, create "nono-supervise.<pid>" below it and
 * kill what stale instances of ours left behind. Returns 0, or a negative errno with the
 * reason in why (the supervisor then falls back to process-group kills).
 */
int cgroup_setup(char *why, size_t len);
bool cgroup_available(void);
/* Remove our instance directory (every service cgroup must be gone). */
void cgroup_teardown(void);

/* Path of a service's cgroup (created if missing) into out. */
int cgroup_create(const char *service, char *out, size_t len);
int cgroup_remove(const char *path);
/* Send sig to every process in the cgroup (SIGKILL uses cgroup.kill). */
int cgroup_signal(const char *path, int sig);
/* 1 if processes remain, 0 if empty, negative errno on error. */
int cgroup_populated(const char *path);

#endif
