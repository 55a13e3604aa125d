/* control_cmds: the control socket's verbs: status, start/stop/restart (waiting for services to
 * settle), reload, logs, audit, credentials, explain, shutdown, version; and the table that
 * names them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "control.h"
#include "control_internal.h"
#include "credcheck.h"
#include "log.h"
#include "sandbox.h"
#include "service.h"
#include "supervisor.h"
#include "util.h"

#define WAIT_POLL_MS 100	/* how often waiting requests check their deadline */

/* ---- arguments ---- */

/*
 * The services a request names, or NULL with an error sent. "all" is every one, or for the
 * verbs every one of the configuration (not nonoctl run's: those are named).
 */
static struct service **resolve(struct client *c, const cJSON *req, bool empty_is_all,
				bool all_transient, size_t *n)
{
	struct supervisor *sv = c->ctl->sv;
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(req, "names"), *e;
	struct service **out;
	size_t cap = 0;
	bool all = !names || cJSON_GetArraySize(names) == 0;

	if (names && !cJSON_IsArray(names)) {
		control__send_error(c, "'names' must be a list of service names");
		return NULL;
	}
	if (all && !empty_is_all) {
		control__send_error(c, "no service named; use 'all' for every service");
		return NULL;
	}
	cJSON_ArrayForEach(e, names) {
		if (!cJSON_IsString(e)) {
			control__send_error(c, "'names' must be a list of service names");
			return NULL;
		}
		if (strcmp(e->valuestring, "all") == 0)
			all = true;
		else if (!supervisor_find(sv, e->valuestring)) {
			control__send_error(c, "unknown service '%.64s'", e->valuestring);
			return NULL;
		}
	}
	for (struct service *s = sv->services; s; s = s->next)
		cap++;
	if (!all)
		cap = (size_t)cJSON_GetArraySize(names);
	out = calloc(cap + 1, sizeof(*out));
	if (!out) {
		control__send_error(c, "out of memory");
		return NULL;
	}
	*n = 0;
	if (all) {
		for (struct service *s = sv->services; s; s = s->next)
			if (all_transient || !s->transient)
				out[(*n)++] = s;
	} else {
		cJSON_ArrayForEach(e, names)
			out[(*n)++] = supervisor_find(sv, e->valuestring);
	}
	return out;
}

/* ---- waiting for services to settle ---- */

/* 1 settled fine, -1 settled badly, 0 not yet; msg says what happened. */
static int wait_result(enum wait_op op, const struct service *s, uint64_t mark, char *msg,
		       size_t len)
{
	const struct state_machine *sm = &s->sm;

	if (op == WAIT_STOP) {
		if (sm->state == ST_STOPPED && service_settled_down(s))
			return snprintf(msg, len, "stopped"), 1;
		if (sm->state == ST_STOPPED || sm->state == ST_STOPPING || state_has_process(sm->state))
			return 0;
		return snprintf(msg, len, "%s", state_name(sm->state)), 1;
	}
	if (s->spawns == mark)
		return 0;	/* not started yet (a restart still stopping) */
	switch (sm->state) {
	case ST_RUNNING:
		return snprintf(msg, len, op == WAIT_RESTART ? "restarted" : "started"), 1;
	case ST_FAILED:
		return snprintf(msg, len, "ERROR: FAILED: %s", sm->reason), -1;
	case ST_BACKOFF:
	case ST_EXITED:
	case ST_STOPPED:
		if (sm->has_exit && sm->exit_code >= 0)
			snprintf(msg, len, "ERROR: %s: exited %d", state_name(sm->state), sm->exit_code);
		else if (sm->has_exit)
			snprintf(msg, len, "ERROR: %s: killed by %s", state_name(sm->state),
				 config_signal_name(sm->exit_signal));
		else
			snprintf(msg, len, "ERROR: %s", state_name(sm->state));
		return -1;
	default:
		return 0;
	}
}

void control__wait_clear(struct client *c)
{
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i]);
	free(c->names);
	free(c->marks);
	c->names = NULL;
	c->marks = NULL;
	c->n_names = 0;
	c->op = WAIT_NONE;
}

/* Answer a waiting request if every service settled (or time is up). */
static void wait_check(struct client *c, bool timed_out)
{
	cJSON *reply, *results;
	bool all_ok = true;
	char msg[512];

	for (size_t i = 0; i < c->n_names && !timed_out; i++) {
		struct service *s = supervisor_find(c->ctl->sv, c->names[i]);

		if (s && wait_result(c->op, s, c->marks[i], msg, sizeof(msg)) == 0)
			return;
	}
	reply = cJSON_CreateObject();
	results = cJSON_AddArrayToObject(reply, "results");
	for (size_t i = 0; i < c->n_names; i++) {
		struct service *s = supervisor_find(c->ctl->sv, c->names[i]);
		cJSON *r = cJSON_CreateObject();
		int res = -1;

		if (!s)
			snprintf(msg, sizeof(msg), "ERROR: removed by a reload");
		else
			res = wait_result(c->op, s, c->marks[i], msg, sizeof(msg));
		if (res == 0)
			snprintf(msg, sizeof(msg), "ERROR: timed out, still %s",
				 state_name(s->sm.state));
		all_ok = all_ok && res > 0;
		cJSON_AddStringToObject(r, "name", c->names[i]);
		cJSON_AddBoolToObject(r, "ok", res > 0);
		cJSON_AddStringToObject(r, "state", s ? state_name(s->sm.state) : "REMOVED");
		cJSON_AddStringToObject(r, "message", msg);
		cJSON_AddItemToArray(results, r);
	}
	cJSON_AddBoolToObject(reply, "ok", all_ok);
	control__wait_clear(c);
	control__send_json(c, reply);
	control__resume(c);
}

static void timer_cb(uv_timer_t *t)
{
	struct control *ctl = t->data;
	uint64_t now = uv_now(ctl->sv->loop);
	bool waiting = false;

	for (struct client *c = ctl->clients; c; c = c->next) {
		if (c->op != WAIT_NONE && now >= c->deadline)
			wait_check(c, true);
		waiting = waiting || c->op != WAIT_NONE;
	}
	if (!waiting)
		uv_timer_stop(t);
}

void control_notify(struct supervisor *sv)
{
	struct control *ctl = sv->control;

	if (!ctl)
		return;
	for (struct client *c = ctl->clients; c; c = c->next)
		if (c->op != WAIT_NONE && !c->closing)
			wait_check(c, false);
}

/* ---- commands ---- */

static void cmd_status(struct client *c, const cJSON *req)
{
	size_t n = 0;
	struct service **list = resolve(c, req, true, true, &n);
	cJSON *reply, *arr;

	if (!list)
		return;
	reply = control__ok_reply();
	arr = cJSON_AddArrayToObject(reply, "services");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, service_status_json(list[i]));
	free(list);
	control__send_json(c, reply);
}

static void cmd_verb(struct client *c, const cJSON *req, enum wait_op op)
{
	static const enum svc_event events[] = {
		[WAIT_START] = EV_START, [WAIT_STOP] = EV_STOP, [WAIT_RESTART] = EV_RESTART,
	};
	const cJSON *wait = cJSON_GetObjectItemCaseSensitive(req, "wait");
	const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(req, "timeout_ms");
	size_t n = 0;
	struct service **list = resolve(c, req, false, false, &n);

	if (!list)
		return;
	for (size_t i = 0; i < n && op != WAIT_STOP; i++) {
		if (list[i]->transient) {
			control__send_error(c, "service '%s' is transient (nonoctl run): it runs once, "
					    "it cannot be %s", list[i]->cfg.name,
					    op == WAIT_START ? "started again" : "restarted");
			free(list);
			return;
		}
	}
	c->names = calloc(n, sizeof(*c->names));
	c->marks = calloc(n, sizeof(*c->marks));
	if (n && (!c->names || !c->marks)) {
		control__wait_clear(c);
		free(list);
		control__send_error(c, "out of memory");
		return;
	}
	c->op = op;
	c->n_names = n;
	c->deadline = uv_now(c->ctl->sv->loop) +
		      (cJSON_IsNumber(timeout) && timeout->valuedouble > 0 ?
			       (uint64_t)timeout->valuedouble : 60000);
	for (size_t i = 0; i < n; i++) {
		c->names[i] = strdup(list[i]->cfg.name);
		c->marks[i] = list[i]->spawns;
		/* Starting what already runs is done at once: mark it as started. */
		if (op == WAIT_START && state_has_process(list[i]->sm.state) &&
		    list[i]->sm.state != ST_STOPPING && c->marks[i])
			c->marks[i]--;
	}
	if (wait && cJSON_IsFalse(wait)) {
		cJSON *reply = control__ok_reply();
		cJSON *results = cJSON_AddArrayToObject(reply, "results");

		for (size_t i = 0; i < n; i++) {
			cJSON *r = cJSON_CreateObject();

			service_event(list[i], events[op]);
			cJSON_AddStringToObject(r, "name", list[i]->cfg.name);
			cJSON_AddTrueToObject(r, "ok");
			cJSON_AddStringToObject(r, "state", state_name(list[i]->sm.state));
			cJSON_AddStringToObject(r, "message", "requested");
			cJSON_AddItemToArray(results, r);
		}
		control__wait_clear(c);
		free(list);
		control__send_json(c, reply);
		return;
	}
	/* No further requests from this client until this one is answered. */
	uv_read_stop((uv_stream_t *)&c->pipe);
	for (size_t i = 0; i < n; i++)
		service_event(list[i], events[op]);
	free(list);
	if (c->op != WAIT_NONE) {
		if (!uv_is_active((uv_handle_t *)&c->ctl->timer))
			uv_timer_start(&c->ctl->timer, timer_cb, WAIT_POLL_MS, WAIT_POLL_MS);
		wait_check(c, false);
	}
}

static void cmd_start(struct client *c, const cJSON *req)
{
	cmd_verb(c, req, WAIT_START);
}

static void cmd_stop(struct client *c, const cJSON *req)
{
	cmd_verb(c, req, WAIT_STOP);
}

static void cmd_restart(struct client *c, const cJSON *req)
{
	cmd_verb(c, req, WAIT_RESTART);
}

static void cmd_reload(struct client *c, const cJSON *req)
{
	char err[CONFIG_ERR_MAX];
	cJSON *reply = control__ok_reply();

	if (supervisor_reload(c->ctl->sv, reply, err, sizeof(err)) < 0) {
		cJSON_Delete(reply);
		log_warn("reload refused, the running configuration stays:\n%s", err);
		control__send_error(c, "configuration refused, the running one stays:\n%s", err);
		return;
	}
	control__send_json(c, reply);
}

/* The proxy's audit log: one per supervisor, in its log directory. */
static void add_audit_path(struct client *c, cJSON *reply)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/audit.ndjson", c->ctl->sv->log_dir);
	cJSON_AddStringToObject(reply, "path", path);
}

/* The log a service no longer in the fleet left (a nonoctl run's, one a reload removed). */
static bool left_log(struct client *c, const char *name, char *path, size_t len)
{
	size_t n = strlen(name);

	if (!n || n > CONFIG_NAME_MAX || name[0] == '.' || strchr(name, '/'))
		return false;
	snprintf(path, len, "%s/%s.log", c->ctl->sv->log_dir, name);
	return access(path, F_OK) == 0;
}

static void cmd_logs(struct client *c, const cJSON *req)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(req, "name");
	struct service *s = cJSON_IsString(name) ? supervisor_find(c->ctl->sv, name->valuestring) : NULL;
	char path[PATH_MAX];
	cJSON *reply;

	if (!cJSON_IsString(name)) {
		control__send_error(c, "'name' must be a service name");
		return;
	}
	if (s)
		snprintf(path, sizeof(path), "%s", s->log.path);
	else if (!left_log(c, name->valuestring, path, sizeof(path))) {
		control__send_error(c, "unknown service '%.64s'", name->valuestring);
		return;
	}
	reply = control__ok_reply();
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "audit")))
		add_audit_path(c, reply);
	else
		cJSON_AddStringToObject(reply, "path", path);
	control__send_json(c, reply);
}

/* "audit verify": reading and hashing the whole log runs in a worker, off the loop. */
struct audit_job {
	uv_work_t work;
	struct client *client;	/* NULL once the client is gone */
	char path[PATH_MAX];
	struct audit_verify_result res;
	char err[512];
	int r;
};

static void audit_work_cb(uv_work_t *w)
{
	struct audit_job *job = w->data;

	job->r = audit_verify(job->path, &job->res, job->err, sizeof(job->err));
}

static void audit_done_cb(uv_work_t *w, int status)
{
	struct audit_job *job = w->data;
	struct client *c = job->client;
	cJSON *reply;

	if (c) {
		c->audit_job = NULL;
		if (job->r == -ENOENT) {
			reply = control__ok_reply();
			cJSON_AddStringToObject(reply, "path", job->path);
			cJSON_AddNumberToObject(reply, "records", 0);
			control__send_json(c, reply);
		} else if (job->r < 0) {
			control__send_error(c, "%s: %s", job->path, job->err);
		} else {
			reply = control__ok_reply();
			cJSON_AddStringToObject(reply, "path", job->path);
			cJSON_AddNumberToObject(reply, "records", (double)job->res.records);
			control__send_json(c, reply);
		}
		control__resume(c);
	}
	free(job);
}

static void cmd_audit(struct client *c, const cJSON *req)
{
	struct audit_job *job = calloc(1, sizeof(*job));

	if (!job) {
		control__send_error(c, "out of memory");
		return;
	}
	snprintf(job->path, sizeof(job->path), "%s/audit.ndjson", c->ctl->sv->log_dir);
	job->client = c;
	job->work.data = job;
	if (uv_queue_work(c->ctl->sv->loop, &job->work, audit_work_cb, audit_done_cb) < 0) {
		free(job);
		control__send_error(c, "cannot queue the audit check");
		return;
	}
	c->audit_job = job;
	uv_read_stop((uv_stream_t *)&c->pipe);	/* one request at a time */
}

/* "credentials": each key is loaded in a worker, wiped, and only its state comes back. */
static void credentials_done(void *arg, cJSON *list)
{
	struct client *c = arg;
	cJSON *reply = control__ok_reply();

	c->credcheck = NULL;
	cJSON_AddItemToObject(reply, "credentials", list);
	control__send_json(c, reply);
	control__resume(c);
}

static void cmd_credentials(struct client *c, const cJSON *req)
{
	int r = credcheck_start(c->ctl->sv, credentials_done, c, &c->credcheck);

	if (r < 0)
		control__send_error(c, "credentials: cannot start the check: %s", strerror(-r));
	else if (c->credcheck)
		uv_read_stop((uv_stream_t *)&c->pipe);	/* one request at a time */
}

static void cmd_explain(struct client *c, const cJSON *req)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(req, "name");
	struct service *s = cJSON_IsString(name) ? supervisor_find(c->ctl->sv, name->valuestring) : NULL;
	struct buf text = { 0 };
	char err[1024];
	cJSON *reply;
	int netns;

	if (!s) {
		control__send_error(c, "unknown service '%.64s'", cJSON_IsString(name) ? name->valuestring : "");
		return;
	}
	netns = state_has_process(s->sm.state) && s->pid > 0 ? s->netns : -1;
	if (sandbox_explain(&s->cfg, c->ctl->sv->config_dir, netns, &text, err, sizeof(err)) < 0 ||
	    buf_append(&text, "", 1) < 0) {
		buf_free(&text);
		control__send_error(c, "service '%s': %s", s->cfg.name, err);
		return;
	}
	reply = control__ok_reply();
	cJSON_AddStringToObject(reply, "text", text.data);
	buf_free(&text);
	control__send_json(c, reply);
}

static void cmd_shutdown(struct client *c, const cJSON *req)
{
	control__send_json(c, control__ok_reply());
	/* The reply is all; the connection closes when the daemon is gone. */
	uv_read_stop((uv_stream_t *)&c->pipe);
	supervisor_shutdown(c->ctl->sv);
}

static void cmd_version(struct client *c, const cJSON *req)
{
	cJSON *reply = control__ok_reply();

	cJSON_AddStringToObject(reply, "version", NONO_VERSION);
	control__send_json(c, reply);
}

static const struct control__command commands[] = {
	{ "status", cmd_status },   { "start", cmd_start },	  { "stop", cmd_stop },
	{ "restart", cmd_restart }, { "reload", cmd_reload },	  { "logs", cmd_logs },
	{ "shutdown", cmd_shutdown }, { "version", cmd_version },   { "explain", cmd_explain },
	{ "audit", cmd_audit }, { "credentials", cmd_credentials },
	{ "run", control__cmd_run }, { "signal", control__cmd_signal },
};

const struct control__command *control__find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

void control__detach(struct client *c)
{
	if (c->audit_job)
		c->audit_job->client = NULL;	/* the job frees itself when done */
	credcheck_cancel(c->credcheck);	/* so does the check */
	c->credcheck = NULL;
	control__run_detach(c);
}
