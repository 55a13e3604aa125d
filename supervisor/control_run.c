/* control_run: the "run" and "signal" verbs: a transient service with the client's terminal
 * (its 0-2, passed with SCM_RIGHTS), its start and exit status on the same connection, the
 * client's signals passed on, and the run stopped when the client goes away (unless
 * --detach). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "control_internal.h"
#include "run_args.h"
#include "sandbox.h"
#include "service.h"
#include "supervisor.h"
#include "transient.h"
#include "util.h"

/* A run that could not be made: the reply to "run", with the status nonoctl exits with. */
static void send_refusal(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void send_refusal(struct client *c, const char *fmt, ...)
{
	cJSON *r = cJSON_CreateObject();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddFalseToObject(r, "ok");
	cJSON_AddStringToObject(r, "error", msg);
	cJSON_AddNumberToObject(r, "status", RUN_EXIT_SANDBOX);
	control__send_json(c, r);
}

static void run_report(void *arg, const struct transient_event *ev)
{
	struct client *c = arg;
	cJSON *r = cJSON_CreateObject();

	cJSON_AddBoolToObject(r, "ok", !ev->error);
	cJSON_AddStringToObject(r, "event", !ev->ended ? "started" : ev->error ? "failed" : "exit");
	cJSON_AddStringToObject(r, "name", ev->name);
	if (ev->pid > 0)
		cJSON_AddNumberToObject(r, "pid", ev->pid);
	if (ev->ended && ev->error)
		cJSON_AddStringToObject(r, "error", ev->error);
	else if (ev->ended && ev->code >= 0)
		cJSON_AddNumberToObject(r, "code", ev->code);
	else if (ev->ended)
		cJSON_AddStringToObject(r, "signal", config_signal_name(ev->sig));
	if (ev->ended)
		cJSON_AddNumberToObject(r, "status", ev->status);
	if (ev->ended && ev->refused) {
		cJSON *a = cJSON_AddArrayToObject(r, "refusals");

		cJSON_AddNumberToObject(r, "refused", (double)ev->refused);
		for (unsigned i = 0; a && ev->shown && i < ev->shown->n; i++) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "what", ev->shown->kinds[i].line);
			cJSON_AddNumberToObject(o, "count", ev->shown->kinds[i].count);
			cJSON_AddItemToArray(a, o);
		}
	}
	/* Detached, the run is the fleet's once it started; else ours until it ends. */
	if (ev->ended || c->run_detach) {
		transient_disown(c->run);
		c->run = NULL;
	}
	control__send_json(c, r);
}

/* --dry-run: the policy the command would get, as `nonoctl explain` prints it. */
static void explain(struct client *c, const struct run_opts *o, const char *cwd)
{
	struct service_config sc;
	struct buf text = { 0 };
	char err[1024];
	cJSON *reply;

	if (transient_config(c->ctl->sv, o, cwd, &sc, err, sizeof(err)) < 0) {
		send_refusal(c, "%s", err);
		return;
	}
	if (sandbox_explain(&sc, cwd, -1, &text, err, sizeof(err)) < 0 ||
	    buf_append(&text, "", 1) < 0) {
		send_refusal(c, "sandbox: %s", err);
	} else {
		reply = control__ok_reply();
		cJSON_AddStringToObject(reply, "text", text.data);
		control__send_json(c, reply);
	}
	buf_free(&text);
	config_service_release(&sc);
}

void control__cmd_run(struct client *c, const cJSON *req)
{
	const cJSON *opts = cJSON_GetObjectItemCaseSensitive(req, "opts");
	const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(req, "cwd");
	int stdio[3] = { -1, -1, -1 };
	struct run_opts o;
	struct transient *t;
	char err[1024], *text;
	cJSON *reply;
	int r;

	if (c->run) {
		send_refusal(c, "this connection has a run already");
		return;
	}
	if (!cJSON_IsObject(opts) || !cJSON_IsString(cwd) || cwd->valuestring[0] != '/') {
		send_refusal(c, "bad run request: 'opts' and an absolute 'cwd' expected");
		return;
	}
	text = cJSON_PrintUnformatted(opts);
	r = text ? run_opts_from_json(text, &o, err, sizeof(err)) : -ENOMEM;
	free(text);
	if (r < 0) {
		send_refusal(c, "%s", text ? err : "out of memory");
		return;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "dry_run"))) {
		explain(c, &o, cwd->valuestring);
		run_opts_free(&o);
		return;
	}
	if (!o.detach && c->n_fds != CONTROL_FDS_MAX) {
		send_refusal(c, "the run request carries no terminal: stdin, stdout and stderr "
			     "passed with it (SCM_RIGHTS), %s%d descriptors came; hint: --detach "
			     "runs without one", c->n_fds < 0 ? "more than " : "",
			     c->n_fds < 0 ? CONTROL_FDS_MAX : c->n_fds);
		run_opts_free(&o);
		return;
	}
	if (!o.detach) {
		memcpy(stdio, c->fds, sizeof(stdio));
		c->n_fds = 0;
	}
	t = transient_new(c->ctl->sv, &o, cwd->valuestring, stdio, run_report, c, err, sizeof(err));
	if (!t) {
		send_refusal(c, "%s", err);
		run_opts_free(&o);
		return;
	}
	c->run = t;
	c->run_detach = o.detach;
	run_opts_free(&o);
	reply = control__ok_reply();
	cJSON_AddStringToObject(reply, "name", transient_service(t)->cfg.name);
	control__send_json(c, reply);
	transient_start(t);	/* its reports may follow at once */
}

/* {"signal": "INT", "name": N}: to the service's process group; without a name, this
 * connection's run. A run that has not started yet is stopped instead. */
void control__cmd_signal(struct client *c, const cJSON *req)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(req, "name");
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(req, "signal");
	struct service *s = NULL;
	cJSON *reply;
	int signo, r;

	if (cJSON_IsString(name))
		s = supervisor_find(c->ctl->sv, name->valuestring);
	else if (!name && c->run)
		s = transient_service(c->run);
	if (!s) {
		control__send_error(c, "unknown service '%.64s'", cJSON_IsString(name) ?
				    name->valuestring : "(none named, and no run on this connection)");
		return;
	}
	if (!cJSON_IsString(sig) || config_parse_signal(sig->valuestring, &signo) < 0 || !signo) {
		control__send_error(c, "'signal' must be a signal name or number (INT, TERM, 15...)");
		return;
	}
	r = service_signal(s, signo);
	if (r == -ESRCH && s->transient && s->sm.state == ST_STARTING) {
		service_event(s, EV_STOP);
		r = 0;
	}
	if (r < 0) {
		control__send_error(c, "service '%s': %s", s->cfg.name,
				    r == -ESRCH ? "not running" : strerror(-r));
		return;
	}
	reply = control__ok_reply();
	cJSON_AddStringToObject(reply, "name", s->cfg.name);
	cJSON_AddStringToObject(reply, "signal", config_signal_name(signo));
	control__send_json(c, reply);
}

void control__run_detach(struct client *c)
{
	if (c->run)
		transient_disown(c->run);
	c->run = NULL;
}
