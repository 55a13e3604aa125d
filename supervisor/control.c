/* control: the daemon's unix control socket (one JSON request per line, one JSON reply per line). */
#include "control.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "log.h"
#include "sandbox.h"
#include "service.h"
#include "supervisor.h"
#include "util.h"

#define WAIT_POLL_MS 100	/* how often waiting requests check their deadline */

enum wait_op {
	WAIT_NONE,
	WAIT_START,
	WAIT_STOP,
	WAIT_RESTART,
};

struct audit_job;

struct client {
	struct control *ctl;
	struct client *next;
	uv_pipe_t pipe;
	struct buf in;
	bool closing;
	bool in_dispatch;	/* process_lines is on the stack: do not re-enter it */
	struct audit_job *audit_job;	/* an "audit verify" under way */
	/* a start/stop/restart waiting for its services to settle */
	enum wait_op op;
	char **names;
	uint64_t *marks;	/* spawns of each service when the request came */
	size_t n_names;
	uint64_t deadline;
};

struct control {
	struct supervisor *sv;
	uv_pipe_t server;
	uv_timer_t timer;
	struct client *clients;
	int n_clients;
	bool closed;
	bool timer_closed;
};

/* ---- replies ---- */

struct write_req {
	uv_write_t req;
	char *data;
};

static void client_close(struct client *c);

static void write_cb(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;

	free(w->data);
	free(w);
}

/* The reply as one line, freeing it. Names and messages may echo what a client sent:
 * invalid UTF-8 is replaced so the line stays valid JSON. */
static char *reply_line(cJSON *reply, size_t *len)
{
	char *text = cJSON_PrintUnformatted(reply);

	cJSON_Delete(reply);
	if (!text)
		return NULL;
	*len = strlen(text);
	utf8_sanitize(text, *len);
	text[(*len)++] = '\n';	/* cJSON's terminator becomes the line end */
	return text;
}

static cJSON *error_reply(const char *fmt, va_list ap)
{
	cJSON *r = cJSON_CreateObject();
	char msg[CONFIG_ERR_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	cJSON_AddFalseToObject(r, "ok");
	cJSON_AddStringToObject(r, "error", msg);
	return r;
}

static void send_json(struct client *c, cJSON *reply)
{
	struct write_req *w = calloc(1, sizeof(*w));
	size_t len = 0;
	char *text = reply_line(reply, &len);
	uv_buf_t b;

	if (!text || !w || c->closing) {
		free(text);
		free(w);
		return;
	}
	w->data = text;
	b = uv_buf_init(text, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, write_cb) < 0) {
		free(text);
		free(w);
		client_close(c);
	}
}

static void send_error(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void send_error(struct client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	send_json(c, error_reply(fmt, ap));
	va_end(ap);
}

/*
 * The last words to a client that is being dropped: written at once (uv_close would
 * cancel a queued write), then the connection closes.
 */
static void send_final_error(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void send_final_error(struct client *c, const char *fmt, ...)
{
	size_t len = 0;
	char *text;
	va_list ap;

	va_start(ap, fmt);
	text = reply_line(error_reply(fmt, ap), &len);
	va_end(ap);
	if (text) {
		uv_buf_t b = uv_buf_init(text, (unsigned)len);

		uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
		free(text);
	}
	client_close(c);
}

static cJSON *ok_reply(void)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddTrueToObject(r, "ok");
	return r;
}

/* ---- arguments ---- */

/* The services a request names ("all" = every one), or NULL with an error sent. */
static struct service **resolve(struct client *c, const cJSON *req, bool empty_is_all,
				size_t *n)
{
	struct supervisor *sv = c->ctl->sv;
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(req, "names"), *e;
	struct service **out;
	size_t cap = 0;
	bool all = !names || cJSON_GetArraySize(names) == 0;

	if (names && !cJSON_IsArray(names)) {
		send_error(c, "'names' must be a list of service names");
		return NULL;
	}
	if (all && !empty_is_all) {
		send_error(c, "no service named; use 'all' for every service");
		return NULL;
	}
	cJSON_ArrayForEach(e, names) {
		if (!cJSON_IsString(e)) {
			send_error(c, "'names' must be a list of service names");
			return NULL;
		}
		if (strcmp(e->valuestring, "all") == 0)
			all = true;
		else if (!supervisor_find(sv, e->valuestring)) {
			send_error(c, "unknown service '%.64s'", e->valuestring);
			return NULL;
		}
	}
	for (struct service *s = sv->services; s; s = s->next)
		cap++;
	if (!all)
		cap = (size_t)cJSON_GetArraySize(names);
	out = calloc(cap + 1, sizeof(*out));
	if (!out) {
		send_error(c, "out of memory");
		return NULL;
	}
	*n = 0;
	if (all) {
		for (struct service *s = sv->services; s; s = s->next)
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

static void wait_clear(struct client *c)
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

static void read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf);
static void process_lines(struct client *c);
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

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
	wait_clear(c);
	send_json(c, reply);
	if (!c->closing) {
		uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
		process_lines(c);
	}
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
	struct service **list = resolve(c, req, true, &n);
	cJSON *reply, *arr;

	if (!list)
		return;
	reply = ok_reply();
	arr = cJSON_AddArrayToObject(reply, "services");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, service_status_json(list[i]));
	free(list);
	send_json(c, reply);
}

static void cmd_verb(struct client *c, const cJSON *req, enum wait_op op)
{
	static const enum svc_event events[] = {
		[WAIT_START] = EV_START, [WAIT_STOP] = EV_STOP, [WAIT_RESTART] = EV_RESTART,
	};
	const cJSON *wait = cJSON_GetObjectItemCaseSensitive(req, "wait");
	const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(req, "timeout_ms");
	size_t n = 0;
	struct service **list = resolve(c, req, false, &n);

	if (!list)
		return;
	c->names = calloc(n, sizeof(*c->names));
	c->marks = calloc(n, sizeof(*c->marks));
	if (n && (!c->names || !c->marks)) {
		wait_clear(c);
		free(list);
		send_error(c, "out of memory");
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
		cJSON *reply = ok_reply();
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
		wait_clear(c);
		free(list);
		send_json(c, reply);
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
	cJSON *reply = ok_reply();

	if (supervisor_reload(c->ctl->sv, reply, err, sizeof(err)) < 0) {
		cJSON_Delete(reply);
		log_warn("reload refused, the running configuration stays:\n%s", err);
		send_error(c, "configuration refused, the running one stays:\n%s", err);
		return;
	}
	send_json(c, reply);
}

/* The proxy's audit log: one per supervisor, in its log directory. */
static void add_audit_path(struct client *c, cJSON *reply)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/audit.ndjson", c->ctl->sv->log_dir);
	cJSON_AddStringToObject(reply, "path", path);
}

static void cmd_logs(struct client *c, const cJSON *req)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(req, "name");
	struct service *s = cJSON_IsString(name) ? supervisor_find(c->ctl->sv, name->valuestring) : NULL;
	cJSON *reply;

	if (!cJSON_IsString(name)) {
		send_error(c, "'name' must be a service name");
		return;
	}
	if (!s) {
		send_error(c, "unknown service '%.64s'", name->valuestring);
		return;
	}
	reply = ok_reply();
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "audit")))
		add_audit_path(c, reply);
	else
		cJSON_AddStringToObject(reply, "path", s->log.path);
	send_json(c, reply);
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
			reply = ok_reply();
			cJSON_AddStringToObject(reply, "path", job->path);
			cJSON_AddNumberToObject(reply, "records", 0);
			send_json(c, reply);
		} else if (job->r < 0) {
			send_error(c, "%s: %s", job->path, job->err);
		} else {
			reply = ok_reply();
			cJSON_AddStringToObject(reply, "path", job->path);
			cJSON_AddNumberToObject(reply, "records", (double)job->res.records);
			send_json(c, reply);
		}
		if (!c->closing) {
			uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
			process_lines(c);
		}
	}
	free(job);
}

static void cmd_audit(struct client *c, const cJSON *req)
{
	struct audit_job *job = calloc(1, sizeof(*job));

	if (!job) {
		send_error(c, "out of memory");
		return;
	}
	snprintf(job->path, sizeof(job->path), "%s/audit.ndjson", c->ctl->sv->log_dir);
	job->client = c;
	job->work.data = job;
	if (uv_queue_work(c->ctl->sv->loop, &job->work, audit_work_cb, audit_done_cb) < 0) {
		free(job);
		send_error(c, "cannot queue the audit check");
		return;
	}
	c->audit_job = job;
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
		send_error(c, "unknown service '%.64s'", cJSON_IsString(name) ? name->valuestring : "");
		return;
	}
	netns = state_has_process(s->sm.state) && s->pid > 0 ? s->netns : -1;
	if (sandbox_explain(&s->cfg, c->ctl->sv->config_dir, netns, &text, err, sizeof(err)) < 0 ||
	    buf_append(&text, "", 1) < 0) {
		buf_free(&text);
		send_error(c, "service '%s': %s", s->cfg.name, err);
		return;
	}
	reply = ok_reply();
	cJSON_AddStringToObject(reply, "text", text.data);
	buf_free(&text);
	send_json(c, reply);
}

static void cmd_shutdown(struct client *c, const cJSON *req)
{
	send_json(c, ok_reply());
	/* The reply is all; the connection closes when the daemon is gone. */
	uv_read_stop((uv_stream_t *)&c->pipe);
	supervisor_shutdown(c->ctl->sv);
}

static void cmd_version(struct client *c, const cJSON *req)
{
	cJSON *reply = ok_reply();

	cJSON_AddStringToObject(reply, "version", NONO_VERSION);
	send_json(c, reply);
}

static const struct command {
	const char *name;
	void (*fn)(struct client *c, const cJSON *req);
} commands[] = {
	{ "status", cmd_status },   { "start", cmd_start },	  { "stop", cmd_stop },
	{ "restart", cmd_restart }, { "reload", cmd_reload },	  { "logs", cmd_logs },
	{ "shutdown", cmd_shutdown }, { "version", cmd_version },   { "explain", cmd_explain },
	{ "audit", cmd_audit },
};

static void dispatch(struct client *c, const char *line, size_t len)
{
	cJSON *req = cJSON_ParseWithLength(line, len);
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");

	if (!cJSON_IsObject(req)) {
		send_error(c, "bad request: not a JSON object");
	} else if (!cJSON_IsString(cmd)) {
		send_error(c, "bad request: no \"cmd\"");
	} else if (c->ctl->sv->shutting_down && strcmp(cmd->valuestring, "status") != 0) {
		send_error(c, "shutting down");
	} else {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(commands); i++)
			if (strcmp(commands[i].name, cmd->valuestring) == 0)
				break;
		if (i < ARRAY_SIZE(commands))
			commands[i].fn(c, req);
		else
			send_error(c, "unknown command '%.32s'", cmd->valuestring);
	}
	cJSON_Delete(req);
}

/* ---- connections ---- */

static void control_free_if_done(struct control *ctl)
{
	if (ctl->closed && ctl->timer_closed && !ctl->clients)
		free(ctl);
}

static void client_closed_cb(uv_handle_t *h)
{
	struct client *c = h->data;
	struct control *ctl = c->ctl;
	struct client **pp = &ctl->clients;

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	ctl->n_clients--;
	wait_clear(c);
	buf_free(&c->in);
	free(c);
	control_free_if_done(ctl);
}

static void client_close(struct client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->audit_job)
		c->audit_job->client = NULL;	/* the job frees itself when done */
	uv_close((uv_handle_t *)&c->pipe, client_closed_cb);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char shared[16 * 1024];

	*buf = uv_buf_init(shared, sizeof(shared));
}

/* Run the complete request lines buffered so far, one at a time. */
static void process_lines(struct client *c)
{
	size_t start = 0;
	char *nl;

	if (c->in_dispatch)
		return;
	/* A waiting verb stops the loop: the rest waits until it is answered. */
	c->in_dispatch = true;
	while (c->op == WAIT_NONE && !c->audit_job && !c->closing &&
	       (nl = memchr(c->in.data + start, '\n', c->in.len - start))) {
		size_t len = (size_t)(nl - (c->in.data + start));

		dispatch(c, c->in.data + start, len);
		start += len + 1;
	}
	c->in_dispatch = false;
	if (start) {
		memmove(c->in.data, c->in.data + start, c->in.len - start);
		c->in.len -= start;
	}
	if (c->in.len > CONTROL_LINE_MAX && !c->closing)
		send_final_error(c, "request longer than %d bytes", CONTROL_LINE_MAX);
}

static void read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
	struct client *c = stream->data;

	if (n < 0 || buf_append(&c->in, buf->base, (size_t)n) < 0) {
		client_close(c);
		return;
	}
	process_lines(c);
}

/* Only our own uid and root may steer the fleet (the socket's 0600 says the same). */
static bool peer_allowed(uv_pipe_t *p, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)p, &fd) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	*uid = cred.uid;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void connection_cb(uv_stream_t *server, int status)
{
	struct control *ctl = server->data;
	struct client *c;
	uid_t uid = (uid_t)-1;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->ctl = ctl;
	uv_pipe_init(ctl->sv->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->next = ctl->clients;
	ctl->clients = c;
	ctl->n_clients++;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
		client_close(c);
		return;
	}
	if (!peer_allowed(&c->pipe, &uid)) {
		log_warn("control: refused a connection from uid %d", (int)uid);
		send_final_error(c, "permission denied: only the supervisor's user and root may "
				    "control it");
		return;
	}
	if (ctl->n_clients > CONTROL_CLIENTS_MAX) {
		send_final_error(c, "too many control connections (limit %d)", CONTROL_CLIENTS_MAX);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
}

static void timer_closed_cb(uv_handle_t *h)
{
	struct control *ctl = h->data;

	ctl->timer_closed = true;
	control_free_if_done(ctl);
}

/* Is a live daemon answering on path? */
static bool socket_alive(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	alive = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return alive;
}

int control_open(struct supervisor *sv, const char *path, char *err, size_t errlen)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	struct sockaddr_un sa;
	mode_t old;
	int r;

	if (!ctl)
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		free(ctl);
		snprintf(err, errlen, "control socket path '%s' is too long (%zu > %zu bytes); "
			 "hint: set a shorter socket in [supervisor]",
			 path, strlen(path), sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	if (socket_alive(path)) {
		free(ctl);
		snprintf(err, errlen, "another supervisor is already listening on %s", path);
		return -EADDRINUSE;
	}
	unlink(path);	/* a stale socket from a supervisor that died */
	ctl->sv = sv;
	uv_pipe_init(sv->loop, &ctl->server, 0);
	uv_timer_init(sv->loop, &ctl->timer);
	ctl->server.data = ctl->timer.data = ctl;
	old = umask(0177);
	r = uv_pipe_bind(&ctl->server, path);
	umask(old);
	if (r == 0)
		r = chmod(path, 0600) < 0 ? -errno : 0;
	if (r == 0)
		r = uv_listen((uv_stream_t *)&ctl->server, 64, connection_cb);
	if (r < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, uv_strerror(r));
		ctl->closed = true;
		uv_close((uv_handle_t *)&ctl->server, NULL);
		uv_close((uv_handle_t *)&ctl->timer, timer_closed_cb);
		return r;
	}
	sv->control = ctl;
	return 0;
}


void control_close(struct supervisor *sv)
{
	struct control *ctl = sv->control;

	if (!ctl || ctl->closed)
		return;
	ctl->closed = true;
	for (struct client *c = ctl->clients; c; c = c->next)
		client_close(c);
	uv_close((uv_handle_t *)&ctl->server, NULL);
	uv_close((uv_handle_t *)&ctl->timer, timer_closed_cb);
	sv->control = NULL;
}
