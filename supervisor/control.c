/* control: the daemon's unix control socket: connections, request lines, replies (one JSON
 * object per line each way); the verbs are in control_cmds.c. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_internal.h"
#include "log.h"
#include "supervisor.h"
#include "util.h"

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

void control__send_json(struct client *c, cJSON *reply)
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

void control__send_error(struct client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	control__send_json(c, error_reply(fmt, ap));
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

cJSON *control__ok_reply(void)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddTrueToObject(r, "ok");
	return r;
}

static void dispatch(struct client *c, const char *line, size_t len)
{
	cJSON *req = cJSON_ParseWithLength(line, len);
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");

	if (!cJSON_IsObject(req)) {
		control__send_error(c, "bad request: not a JSON object");
	} else if (!cJSON_IsString(cmd)) {
		control__send_error(c, "bad request: no \"cmd\"");
	} else if (c->ctl->sv->shutting_down && strcmp(cmd->valuestring, "status") != 0) {
		control__send_error(c, "shutting down");
	} else {
		const struct control__command *command = control__find_command(cmd->valuestring);

		if (command)
			command->fn(c, req);
		else
			control__send_error(c, "unknown command '%.32s'", cmd->valuestring);
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
	control__wait_clear(c);
	for (int i = 0; i < c->n_fds; i++)
		close(c->fds[i]);
	buf_free(&c->in);
	free(c);
	control_free_if_done(ctl);
}

static void client_close(struct client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	control__detach(c);
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
	while (c->op == WAIT_NONE && !c->audit_job && !c->credcheck && !c->closing &&
	       (nl = memchr(c->in.data + start, '\n', c->in.len - start))) {
		size_t len = (size_t)(nl - (c->in.data + start));

		dispatch(c, c->in.data + start, len);
		start += len + 1;
	}
	c->in_dispatch = false;
	buf_consume(&c->in, start);
	if (c->in.len > CONTROL_LINE_MAX && !c->closing)
		send_final_error(c, "request longer than %d bytes", CONTROL_LINE_MAX);
}

static void free_handle_cb(uv_handle_t *h)
{
	free(h);
}

/*
 * Descriptors that came with the bytes just read (libuv received them, close-on-exec):
 * held for a "run", at most a terminal's three; more make the lot unusable (n_fds -1).
 * libuv hands a descriptor out only into a handle: the handle closes its copy, we keep ours.
 */
static void take_fds(struct client *c)
{
	while (uv_pipe_pending_count(&c->pipe) > 0) {
		uv_pipe_t *h = malloc(sizeof(*h));
		uv_os_fd_t fd = -1;
		int own = -1;

		if (!h)
			return;	/* they stay pending; the connection's close closes them */
		uv_pipe_init(c->ctl->sv->loop, h, 0);
		if (uv_accept((uv_stream_t *)&c->pipe, (uv_stream_t *)h) == 0 &&
		    uv_fileno((uv_handle_t *)h, &fd) == 0)
			own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		uv_close((uv_handle_t *)h, free_handle_cb);
		if (own >= 0 && c->n_fds >= 0 && c->n_fds < CONTROL_FDS_MAX) {
			c->fds[c->n_fds++] = own;
			continue;
		}
		if (own >= 0)
			close(own);
		for (int i = 0; i < c->n_fds; i++)
			close(c->fds[i]);
		c->n_fds = -1;
	}
}

static void read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
	struct client *c = stream->data;

	if (n < 0 || buf_append(&c->in, buf->base, (size_t)n) < 0) {
		client_close(c);
		return;
	}
	take_fds(c);
	process_lines(c);
}

void control__resume(struct client *c)
{
	if (c->closing)
		return;
	uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
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
	uv_pipe_init(ctl->sv->loop, &c->pipe, 1);	/* ipc: "run" passes a terminal */
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