/*
 * transient: services `nonoctl run` adds to the running fleet: a definition from run's flags
 * under a name of their own, one run, then removed (their log stays). They are never part
 * of the configuration: a reload keeps them and refuses a file that takes one's name.
 */
#ifndef NONO_TRANSIENT_H
#define NONO_TRANSIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "run_args.h"

#define TRANSIENT_MAX 256	/* transient services at a time */

struct supervisor;
struct service;
struct transient;

/* What the owner of a run hears: that the command started, then how it ended. */
struct transient_event {
	bool ended;		/* false: the command started (its program runs) */
	const char *name;
	pid_t pid;
	int code, sig;		/* how it ended: exit code, or -1 and the signal */
	const char *error;	/* it never ran: why (code and sig are then meaningless) */
	int status;		/* what `nonoctl run` exits with: code, 128 + sig, or 125-127 */
	unsigned long refused;	/* Landlock's refusals (kernel audit), all of them */
	const struct denials_tally *shown;	/* the first kinds, described with run's flags */
};

typedef void (*transient_report_fn)(void *arg, const struct transient_event *ev);

/*
 * The definition a run would get: run_service_config's, checked (as root a sandboxed
 * command needs an unprivileged --user), with the fleet's [credential:NAME] for each
 * --proxy-credential given no --credential-source/-upstream/-ca. 0 or -errno with err.
 */
int transient_config(struct supervisor *sv, const struct run_opts *o, const char *cwd,
		     struct service_config *sc, char *err, size_t errlen);

/*
 * A transient service from o in the fleet, not started yet: named o->name (refused if a
 * service has that name) or the next free run-N. stdio: the client's 0-2 for its spawn, or
 * -1s (the log, as for any service); taken even on failure. report hears its start and
 * end until transient_disown. NULL with err.
 */
struct transient *transient_new(struct supervisor *sv, const struct run_opts *o, const char *cwd,
				int stdio[3], transient_report_fn report, void *arg, char *err,
				size_t errlen);
void transient_start(struct transient *t);
struct service *transient_service(const struct transient *t);
/* The owner is gone: no more reports; without --detach the service is stopped. */
void transient_disown(struct transient *t);

/* After every change of state (supervisor_changed): report, and remove what ended. */
void transient_changed(struct supervisor *sv);
/* A reload: 0, or -EEXIST when a service of cfg takes a running transient's name. */
int transient_check_config(struct supervisor *sv, const struct config *cfg, char *err,
			   size_t errlen);
/* The daemon exits: forget every run (their services are freed with the fleet). */
void transient_teardown(struct supervisor *sv);

#endif
