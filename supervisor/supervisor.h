/* supervisor: the daemon: one loop, the fleet of services, signals, reload and shutdown. */
#ifndef NONO_SUPERVISOR_H
#define NONO_SUPERVISOR_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdbool.h>
#include <uv.h>

#include "audit.h"
#include "config.h"
#include "denials_watch.h"
#include "proxy.h"

struct service;
struct control;
struct transient;

struct supervisor {
	uv_loop_t *loop;
	char *config_path;
	char *config_dir;		/* services' working directory unless cwd= */
	char socket_path[PATH_MAX];
	char log_dir[PATH_MAX];
	char **base_env;		/* what every service inherits: PATH, LANG, TZ... */
	char exec_helper[PATH_MAX];	/* nono-exec, which builds each sandbox */
	struct service *services;	/* the fleet: the configuration's, in file order; then runs */
	struct service *dying;		/* removed by a reload, still stopping */
	struct transient *transients;	/* nonoctl run's, in the fleet (services) too */
	unsigned run_seq;		/* the last run-N name given */
	/* the running configuration's [credential:NAME] sections, in file order */
	struct credential_config *credentials;
	size_t n_credentials;
	uv_signal_t sig_term, sig_int, sig_hup;
	struct control *control;
	bool shutting_down;
	char kill_mode_why[256];	/* why cgroups are not used, or empty */
	struct audit audit;		/* the proxy's audit log, <log_dir>/audit.ndjson */
	uv_timer_t audit_timer;		/* queues a flush when records wait */
	uv_work_t audit_work;
	bool audit_flushing;
	struct proxy proxy;		/* the one credential proxy; a listener per service */
	uv_timer_t trim_timer;		/* gives memory back once proxy traffic has passed */
	unsigned long trimmed_at;	/* proxy.accepted at the last trim */
	unsigned long trim_seen;	/* proxy.accepted at the last tick */
	unsigned long nofile;		/* our soft RLIMIT_NOFILE before we raised it */
	struct denials_watch refusals;	/* Landlock's, from kernel audit, to each service's log */
	bool refusals_on;
};

/* Run the daemon on FILE until shutdown; returns the process exit code. */
int supervisor_run(const char *file, bool foreground, int ready_fd);

/* Called whenever a service changed state: answers waiting clients, finishes removals. */
void supervisor_changed(struct supervisor *sv);
struct service *supervisor_find(struct supervisor *sv, const char *name);
/* Re-read the file; fills reply (added/removed/changed/unchanged) or err. */
int supervisor_reload(struct supervisor *sv, cJSON *reply, char *err, size_t errlen);
void supervisor_shutdown(struct supervisor *sv);

#endif
