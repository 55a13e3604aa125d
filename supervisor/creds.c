/* creds: real API keys from the keyring (through a helper), files, env vars or systemd credentials.
 */
#include "creds.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

extern char **environ;

void (*creds_wipe_hook)(const unsigned char *p, size_t n);

static const char sources_hint[] = "expected keyring:ACCOUNT, file:PATH, env:VAR or systemd:NAME";
static const char other_source_hint[] = "or use a file: or systemd: source";

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int rc,
						      const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static void wipe_free(unsigned char *p, size_t n)
{
	if (!p)
		return;
	explicit_bzero(p, n);
	if (creds_wipe_hook)
		creds_wipe_hook(p, n);
	free(p);
}

void creds_secret_free(struct cred_secret *s)
{
	if (!s || !s->data)
		return;
	wipe_free(s->data, s->len + 1);
	*s = (struct cred_secret){0};
}

/* ---- sources ---- */

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool valid_env_name(const char *s)
{
	if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
		return false;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

static int check_account(const char *a, char *err, size_t errlen)
{
	if (!*a)
		return fail(err, errlen, -EINVAL, "keyring source: the account is empty; %s",
			    sources_hint);
	if (strlen(a) > CREDS_ACCOUNT_MAX || has_control(a))
		return fail(
		    err, errlen, -EINVAL,
		    "keyring source: the account must be 1-%d characters, no control characters",
		    CREDS_ACCOUNT_MAX);
	return 0;
}

/* The kind before ':' is echoed only if it looks like one: a bare string may be a pasted key. */
static int unknown_kind(const char *s, char *err, size_t errlen)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : 0;

	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			n = 0;
	if (n == 0 || n > 16)
		return fail(err, errlen, -EINVAL, "credential source has no known kind; %s",
			    sources_hint);
	return fail(err, errlen, -EINVAL, "unknown credential source kind '%.*s'; %s", (int)n, s,
		    sources_hint);
}

int creds_parse_source(const char *s, struct cred_source *out, char *err, size_t errlen)
{
	static const struct {
		const char *prefix;
		enum cred_kind kind;
	} kinds[] = {
	    {"keyring:", CRED_KEYRING}, {"file://", CRED_FILE}, {"file:", CRED_FILE},
	    {"env://", CRED_ENV},	{"env:", CRED_ENV},	{"systemd:", CRED_SYSTEMD},
	};
	const char *ref = NULL;
	enum cred_kind kind = CRED_KEYRING;
	int rc;

	for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
		size_t n = strlen(kinds[i].prefix);

		if (strncmp(s, kinds[i].prefix, n) == 0) {
			ref = s + n;
			kind = kinds[i].kind;
			break;
		}
	}
	if (!ref)
		return unknown_kind(s, err, errlen);
	if (strlen(ref) > CREDS_REF_MAX)
		return fail(err, errlen, -EINVAL, "credential source: longer than %d characters",
			    CREDS_REF_MAX);
	switch (kind) {
	case CRED_KEYRING:
		rc = check_account(ref, err, errlen);
		if (rc < 0)
			return rc;
		break;
	case CRED_FILE:
		if (ref[0] != '/' || has_control(ref))
			return fail(
			    err, errlen, -EINVAL,
			    "file source '%s': the path must be absolute; hint: file:/etc/nono/KEY",
			    has_control(ref) ? "…" : ref);
		break;
	case CRED_ENV:
		if (!valid_env_name(ref) || strlen(ref) > 255)
			return fail(
			    err, errlen, -EINVAL,
			    "env source: '%s' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)",
			    has_control(ref) ? "…" : ref);
		break;
	case CRED_SYSTEMD:
		if (!*ref || strlen(ref) > 255 || strchr(ref, '/') || strcmp(ref, ".") == 0 ||
		    strcmp(ref, "..") == 0 || has_control(ref))
			return fail(
			    err, errlen, -EINVAL,
			    "systemd source: the credential name must be 1-255 characters, no '/'");
		break;
	}
	*out = (struct cred_source){.kind = kind};
	memcpy(out->ref, ref, strlen(ref) + 1);
	return 0;
}

void creds_source_format(const struct cred_source *src, char *out, size_t len)
{
	static const char *const names[] = {
	    [CRED_KEYRING] = "keyring",
	    [CRED_FILE] = "file",
	    [CRED_ENV] = "env",
	    [CRED_SYSTEMD] = "systemd",
	};

	snprintf(out, len, "%s:%s", names[src->kind], src->ref);
}

/* ---- values ---- */

/* Strip one trailing newline, refuse empty values and control characters (header injection). */
static int check_value(unsigned char *p, size_t *len, const char *what, char *err, size_t errlen)
{
	if (*len && p[*len - 1] == '\n') {
		(*len)--;
		if (*len && p[*len - 1] == '\r')
			(*len)--;
	}
	if (*len == 0)
		return fail(err, errlen, -EINVAL, "%s is empty; hint: it must hold the key", what);
	for (size_t i = 0; i < *len; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return fail(
			    err, errlen, -EINVAL,
			    "%s contains a line break or another control character; hint: it "
			    "must hold only the key, on one line",
			    what);
	return 0;
}

/* Check the value in buf[0..len), then copy it into out. buf stays the caller's to wipe. */
static int take_value(unsigned char *buf, size_t len, const char *what, struct cred_secret *out,
		      char *err, size_t errlen)
{
	int rc = check_value(buf, &len, what, err, errlen);

	if (rc < 0)
		return rc;
	out->data = malloc(len + 1);
	if (!out->data)
		return fail(err, errlen, -ENOMEM, "%s: out of memory", what);
	memcpy(out->data, buf, len);
	out->data[len] = '\0';
	out->len = len;
	return 0;
}

static int load_fd(int fd, const char *path, const char *what, struct cred_secret *out, char *err,
		   size_t errlen)
{
	struct stat st;
	unsigned char *buf;
	size_t n = 0;
	int rc;

	if (fstat(fd, &st) < 0)
		return fail(err, errlen, -errno, "%s: %s", what, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, -EINVAL, "%s is not a regular file", what);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return fail(err, errlen, -EPERM,
			    "%s is owned by uid %u, not by uid %u or root; hint: chown %u %s", what,
			    (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)geteuid(), path);
	if ((st.st_mode & 07777) & ~(mode_t)0600)
		return fail(err, errlen, -EPERM, "%s is too open (%04o); hint: chmod 600 %s", what,
			    (unsigned)(st.st_mode & 07777), path);
	if (st.st_size > CREDS_SECRET_MAX)
		return fail(err, errlen, -EFBIG,
			    "%s is larger than %d KiB; hint: it must hold only the key", what,
			    CREDS_SECRET_MAX / 1024);
	buf = malloc(CREDS_SECRET_MAX + 1);
	if (!buf)
		return fail(err, errlen, -ENOMEM, "%s: out of memory", what);
	/* Read one byte past the limit: the size may have changed since fstat. */
	while (n < CREDS_SECRET_MAX + 1) {
		ssize_t r = read(fd, buf + n, CREDS_SECRET_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fail(err, errlen, -errno, "%s: read: %s", what, strerror(errno));
			goto out_wipe;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > CREDS_SECRET_MAX)
		rc = fail(err, errlen, -EFBIG,
			  "%s is larger than %d KiB; hint: it must hold only the key", what,
			  CREDS_SECRET_MAX / 1024);
	else
		rc = take_value(buf, n, what, out, err, errlen);
out_wipe:
	wipe_free(buf, CREDS_SECRET_MAX + 1);
	return rc;
}

static int load_file(const char *path, const char *what, const char *hint, struct cred_secret *out,
		     char *err, size_t errlen)
{
	int fd, rc;

	/* O_NONBLOCK: a FIFO planted at the path must not hang us; regular files ignore it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT || rc == -ENOTDIR)
			return fail(err, errlen, -ENOENT, "%s does not exist; hint: %s", what,
				    hint);
		if (rc == -EACCES)
			return fail(err, errlen, rc,
				    "%s is unreadable (%s); hint: it must be readable by uid %u",
				    what, strerror(-rc), (unsigned)geteuid());
		return fail(err, errlen, rc, "%s is unreadable (%s)", what, strerror(-rc));
	}
	rc = load_fd(fd, path, what, out, err, errlen);
	close(fd);
	return rc;
}

static int load_env(const char *var, struct cred_secret *out, char *err, size_t errlen)
{
	char what[300];
	const char *v = getenv(var);
	size_t n;

	snprintf(what, sizeof(what), "environment variable '%s'", var);
	if (!v)
		return fail(err, errlen, -ENOENT,
			    "%s is not set; hint: set it in nono-supervise's environment (e.g. "
			    "Environment= or EnvironmentFile= in its unit)",
			    what);
	n = strlen(v);
	if (n > CREDS_SECRET_MAX)
		return fail(err, errlen, -EFBIG, "%s is longer than %d KiB", what,
			    CREDS_SECRET_MAX / 1024);
	/* check_value only shortens len; the environment itself is never written to. */
	return take_value((unsigned char *)v, n, what, out, err, errlen);
}

int creds_load(const struct cred_source *src, struct cred_secret *out, char *err, size_t errlen)
{
	char what[CREDS_REF_MAX + 64], hint[CREDS_REF_MAX + 64], path[CREDS_REF_MAX + 2];
	const char *dir;

	*out = (struct cred_secret){0};
	switch (src->kind) {
	case CRED_FILE:
		snprintf(what, sizeof(what), "file '%s'", src->ref);
		snprintf(hint, sizeof(hint), "write the key to it, mode 0600 (umask 077; cat > %s)",
			 src->ref);
		return load_file(src->ref, what, hint, out, err, errlen);
	case CRED_ENV:
		return load_env(src->ref, out, err, errlen);
	case CRED_SYSTEMD:
		dir = getenv("CREDENTIALS_DIRECTORY");
		snprintf(hint, sizeof(hint),
			 "add LoadCredential=%s:/path/to/key (or SetCredentialEncrypted=) "
			 "to nono-supervise's unit",
			 src->ref);
		if (!dir || !*dir)
			return fail(
			    err, errlen, -ENOENT,
			    "systemd credential '%s': $CREDENTIALS_DIRECTORY is not set; hint: %s",
			    src->ref, hint);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, src->ref) >= sizeof(path))
			return fail(err, errlen, -ENAMETOOLONG,
				    "systemd credential '%s': path too long", src->ref);
		snprintf(what, sizeof(what), "systemd credential '%s' (%s)", src->ref, path);
		return load_file(path, what, hint, out, err, errlen);
	case CRED_KEYRING:
		break;
	}
	return fail(err, errlen, -EINVAL,
		    "keyring account '%s': look it up with creds_keyring_lookup()", src->ref);
}

/* ---- the keyring helper ---- */

struct sink {
	int fd;
	unsigned char *buf;
	size_t len, cap;
	bool full; /* more came than fits */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Move fd above stdio so the child's dup2s cannot clobber it. */
static int above_stdio(int *fd)
{
	int nfd;

	if (*fd > 2)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -errno;
	close(*fd);
	*fd = nfd;
	return 0;
}

/* One read from a ready pipe; closes it at EOF. Excess stderr is dropped, excess stdout is fatal.
 */
static void sink_read(struct sink *s)
{
	unsigned char drop[512];
	unsigned char *p = s->len < s->cap ? s->buf + s->len : drop;
	size_t room = s->len < s->cap ? s->cap - s->len : sizeof(drop);
	ssize_t r = read(s->fd, p, room);

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		close(s->fd);
		s->fd = -1;
		return;
	}
	if (p == drop) {
		explicit_bzero(drop, sizeof(drop));
		s->full = true;
	} else {
		s->len += (size_t)r;
	}
}

/*
 * Read both pipes until EOF, then reap. Returns 0 with *status, or -ETIMEDOUT / -EFBIG
 * after killing the helper. The wait for the exit is bounded by the same deadline.
 */
static int collect(pid_t pid, struct sink *out, struct sink *diag, int *status)
{
	int64_t deadline = now_ms() + CREDS_KEYRING_TIMEOUT_MS;
	int rc = 0;

	while (out->fd >= 0 || diag->fd >= 0) {
		struct pollfd pfd[2] = {{.fd = out->fd, .events = POLLIN},
					{.fd = diag->fd, .events = POLLIN}};
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0) {
			rc = -ETIMEDOUT;
			goto kill;
		}
		n = poll(pfd, 2, (int)left);
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			goto kill;
		}
		if (n <= 0)
			continue;
		if (pfd[0].revents)
			sink_read(out);
		if (pfd[1].revents)
			sink_read(diag);
		if (out->full) {
			rc = -EFBIG;
			goto kill;
		}
	}
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline) {
			rc = -ETIMEDOUT;
			goto kill;
		}
		nanosleep(&(struct timespec){.tv_nsec = 2 * 1000 * 1000}, NULL);
	}
kill:
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return rc;
}

/* The first line of the helper's stderr, without its "nono-keyring: " prefix. */
static void diag_text(const struct sink *d, char *out, size_t len)
{
	static const char prefix[] = "nono-keyring: ";
	size_t n = 0, i = 0;

	if (d->len >= sizeof(prefix) - 1 && memcmp(d->buf, prefix, sizeof(prefix) - 1) == 0)
		i = sizeof(prefix) - 1;
	for (; i < d->len && d->buf[i] != '\n' && n + 1 < len; i++)
		out[n++] = d->buf[i] < 0x20 || d->buf[i] == 0x7f ? '?' : (char)d->buf[i];
	out[n] = '\0';
}

/* The helper's exit status as a state and a message; on FOUND the value is taken from out. */
static int interpret(const char *helper, const char *account, int status, struct sink *out,
		     const char *diag, struct cred_secret *secret, char *err, size_t errlen)
{
	char what[CREDS_ACCOUNT_MAX + 64], d[CREDS_HELPER_DIAG_MAX + 8] = "";

	snprintf(what, sizeof(what), "keyring item service=nono username=%s", account);
	if (*diag)
		snprintf(d, sizeof(d), " (%s)", diag);
	if (WIFSIGNALED(status))
		return fail(err, errlen, -EIO,
			    "keyring account '%s': the helper '%s' died of signal %d", account,
			    helper, WTERMSIG(status));
	switch (WEXITSTATUS(status)) {
	case CREDS_HELPER_FOUND:
		return take_value(out->buf, out->len, what, secret, err, errlen);
	case CREDS_HELPER_NOT_FOUND:
		return fail(err, errlen, -ENOENT,
			    "%s not found; hint: secret-tool store --label='nono: %s' service nono "
			    "username %s target default",
			    what, account, account);
	case CREDS_HELPER_LOCKED:
		return fail(
		    err, errlen, -ENOKEY,
		    "keyring account '%s': the keyring is locked%s; hint: unlock it (log in to "
		    "the desktop session, or pipe its password to gnome-keyring-daemon "
		    "--unlock), %s",
		    account, d, other_source_hint);
	case CREDS_HELPER_NO_BUS:
		return fail(
		    err, errlen, -ENOTCONN,
		    "keyring account '%s': no D-Bus session bus%s; hint: run nono-supervise in "
		    "the user's session (systemd --user) so DBUS_SESSION_BUS_ADDRESS is set, %s",
		    account, d, other_source_hint);
	case CREDS_HELPER_NO_SERVICE:
		return fail(
		    err, errlen, -ENXIO,
		    "keyring account '%s': no Secret Service on the session bus%s; hint: start "
		    "gnome-keyring-daemon --components=secrets (or KeePassXC's Secret Service), %s",
		    account, d, other_source_hint);
	case CREDS_HELPER_SEVERAL:
		return fail(err, errlen, -ENOTUNIQ,
			    "several keyring items match service=nono username=%s; hint: keep one "
			    "(secret-tool search --all service nono username %s)",
			    account, account);
	case 126:
	case 127:
		return fail(err, errlen, -ENOEXEC,
			    "keyring account '%s': cannot run the helper '%s'; hint: install "
			    "nono-keyring next to nono-supervise",
			    account, helper);
	default:
		return fail(err, errlen, -EIO,
			    "keyring account '%s': lookup failed%s (helper exit %d)", account, d,
			    WEXITSTATUS(status));
	}
}

int creds_keyring_lookup(const char *helper_path, const char *account, struct cred_secret *out,
			 enum cred_state *state, char *err, size_t errlen)
{
	static const char *const keep[] = {
	    "DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR=", "HOME="};
	char *envp[ARRAY_LEN(keep) + 1] = {0};
	char *argv[] = {(char *)helper_path, "lookup", (char *)account, NULL};
	struct sink sout = {.fd = -1, .cap = CREDS_SECRET_MAX};
	unsigned char diagbuf[CREDS_HELPER_DIAG_MAX];
	struct sink serr = {.fd = -1, .buf = diagbuf, .cap = sizeof(diagbuf)};
	char diag[CREDS_HELPER_DIAG_MAX + 1];
	int pout[2] = {-1, -1}, perr[2] = {-1, -1}, devnull = -1, status = 0, rc;
	size_t nenv = 0;
	pid_t pid;

	*out = (struct cred_secret){0};
	rc = check_account(account, err, errlen);
	if (rc < 0)
		goto out;
	if (access(helper_path, X_OK) < 0) {
		rc = fail(err, errlen, -ENOEXEC,
			  "keyring account '%s': cannot run the helper '%s': %s; hint: install "
			  "nono-keyring next to nono-supervise",
			  account, helper_path, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < ARRAY_LEN(keep); i++)
		for (char **e = environ; e && *e; e++)
			if (strncmp(*e, keep[i], strlen(keep[i])) == 0) {
				envp[nenv++] = *e;
				break;
			}
	sout.buf = malloc(sout.cap + 1);
	if (!sout.buf) {
		rc = fail(err, errlen, -ENOMEM, "keyring account '%s': out of memory", account);
		goto out;
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 ||
	    above_stdio(&devnull) < 0 || above_stdio(&pout[1]) < 0 || above_stdio(&perr[1]) < 0) {
		rc =
		    fail(err, errlen, -errno, "keyring account '%s': %s", account, strerror(errno));
		goto out_fds;
	}
	pid = fork();
	if (pid < 0) {
		rc = fail(err, errlen, -errno, "keyring account '%s': fork: %s", account,
			  strerror(errno));
		goto out_fds;
	}
	if (pid == 0) {
		/* Async-signal-safe calls only: the supervisor has other threads. */
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (chdir("/") < 0 || dup2(devnull, 0) < 0 || dup2(pout[1], 1) < 0 ||
		    dup2(perr[1], 2) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		execve(helper_path, argv, envp);
		_exit(127);
	}
	close(pout[1]);
	close(perr[1]);
	pout[1] = perr[1] = -1;
	sout.fd = pout[0];
	serr.fd = perr[0];
	pout[0] = perr[0] = -1;
	rc = collect(pid, &sout, &serr, &status);
	diag_text(&serr, diag, sizeof(diag));
	if (rc == -ETIMEDOUT)
		fail(err, errlen, rc,
		     "keyring account '%s': no answer within %ds, helper killed; hint: is the "
		     "Secret Service hung, or waiting for a prompt?",
		     account, CREDS_KEYRING_TIMEOUT_MS / 1000);
	else if (rc == -EFBIG)
		fail(err, errlen, rc, "keyring account '%s': the key is larger than %d KiB",
		     account, CREDS_SECRET_MAX / 1024);
	else if (rc < 0)
		fail(err, errlen, rc, "keyring account '%s': %s", account, strerror(-rc));
	else
		rc = interpret(helper_path, account, status, &sout, diag, out, err, errlen);
out_fds:
	for (int i = 0; i < 2; i++) {
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	if (sout.fd >= 0)
		close(sout.fd);
	if (serr.fd >= 0)
		close(serr.fd);
	if (devnull >= 0)
		close(devnull);
	wipe_free(sout.buf, sout.cap + 1);
out:
	*state = creds_state_of(rc);
	return rc;
}

/* ---- states ---- */

enum cred_state creds_state_of(int rc)
{
	switch (rc) {
	case 0:
		return CRED_LOADED;
	case -ENOENT:
		return CRED_MISSING;
	case -ENOKEY:
		return CRED_LOCKED;
	case -ENOTCONN:
		return CRED_NO_BUS;
	case -ENXIO:
		return CRED_NO_SERVICE;
	case -EPERM:
		return CRED_TOO_OPEN;
	case -EINVAL:
	case -EFBIG:
	case -ENOTUNIQ:
		return CRED_INVALID;
	default:
		return CRED_UNREADABLE;
	}
}

const char *creds_state_name(enum cred_state state)
{
	static const char *const names[] = {
	    [CRED_NOT_LOADED] = "not-loaded", [CRED_LOADED] = "loaded",
	    [CRED_MISSING] = "missing",	      [CRED_LOCKED] = "locked",
	    [CRED_NO_BUS] = "no-bus",	      [CRED_NO_SERVICE] = "no-service",
	    [CRED_UNREADABLE] = "unreadable", [CRED_TOO_OPEN] = "too-open",
	    [CRED_INVALID] = "invalid",
	};

	if ((unsigned)state >= ARRAY_LEN(names))
		return "?";
	return names[state];
}
