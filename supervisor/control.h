/* control: the daemon's unix control socket (one JSON request per line, one JSON reply per line). */
#ifndef NONO_CONTROL_H
#define NONO_CONTROL_H

#include <stddef.h>

/*
 * Protocol (stable; nonoctl is just one client):
 *
 *   request  {"cmd": NAME, ...args}\n           at most CONTROL_LINE_MAX bytes
 *   reply    {"ok": true, ...} \n  or  {"ok": false, "error": "message"}\n
 *
 *   status   {"names": [..]} (optional)  -> {"ok":true,"services":[SERVICE..]}
 *   start | stop | restart
 *            {"names": [..] | ["all"], "wait": true, "timeout_ms": N}
 *                                        -> {"ok":B,"results":[{"name","ok","state","message"}..]}
 *            replies once every named service settled (or the timeout passed) when wait is true
 *   reload   {}                          -> {"ok":true,"added":[..],"removed":[..],"changed":[..],
 *                                            "unchanged":[..]} or {"ok":false,"error":"file:line: .."}
 *   logs     {"name": N}                 -> {"ok":true,"path":"/…/N.log"} (the client reads the file;
 *                                           also the log a service that is gone left)
 *   shutdown {}                          -> {"ok":true}; the connection closes when the daemon exits
 *   version  {}                          -> {"ok":true,"version":"x.y.z"}
 *   credentials {}                       -> {"ok":true,"credentials":[CREDENTIAL..]}, once every
 *                                           key of the running configuration was checked
 *   run      {"cwd": ABS, "opts": RUN_OPTS, "dry_run": B}, with the client's 0, 1, 2 passed on
 *            the request's bytes (SCM_RIGHTS; none with --detach): a transient service
 *                                        -> {"ok":true,"name":N} | {"ok":false,"error","status":125}
 *            then, on the same connection, events (not replies to a request):
 *                                           {"ok":true,"event":"started","name","pid"}
 *                                           {"ok":true,"event":"exit","name","pid","code"|"signal",
 *                                            "status"}  status: code, or 128 + the signal
 *                                           {"ok":false,"event":"failed","name","error","status"}
 *                                            it never ran: status 125, 126 or 127
 *            with --detach the events stop after "started"; otherwise the service is stopped
 *            when the connection closes. dry_run: {"ok":true,"text":POLICY} instead.
 *   signal   {"signal": "INT", "name": N}    -> {"ok":true,"name","signal"}: to the service's
 *            process group; without a name, this connection's run (not started yet: stopped)
 *
 * RUN_OPTS is run_opts_to_json()'s. A transient service is listed by status ("transient":
 * true) until its run ends; "all" of start/stop/restart does not include it, start and
 * restart refuse it; a reload keeps it and refuses a file that takes its name.
 *
 * SERVICE = {"name","state","want","pid","uptime_s","restarts","last_exit":{"code":N}|
 *            {"signal":"SIGKILL"}|null,"next_restart_s","reason","log","log_bytes_lost","kill_mode",
 *            "transient"}
 *
 * CREDENTIAL = {"name","source","route"|null,"upstream"|null,"services":[..],"state",
 *               "reason"|null}; state is creds_state_name()'s, never a key byte
 *
 * Unknown service names fail the whole request: "unknown service 'x'".
 */

#define CONTROL_LINE_MAX (64 * 1024)		/* a request */
#define CONTROL_REPLY_MAX (8 * 1024 * 1024)	/* a reply (status of a large fleet) */
#define CONTROL_CLIENTS_MAX 64

struct supervisor;

int control_open(struct supervisor *sv, const char *path, char *err, size_t errlen);
/* Stop listening; clients waiting for shutdown stay until control_finish. */
void control_close(struct supervisor *sv);
/* Called by the supervisor whenever a service changes state, to answer waiting requests. */
void control_notify(struct supervisor *sv);

#endif
