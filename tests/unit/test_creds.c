/* Credential sources: parsing, file/env/systemd loading, the keyring helper protocol, wiping. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"

#define SECRET "sk-test-0123456789abcdef"

static char dir[64];
static char err[1024];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_creds.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	err[0] = '\0';
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(p);
	return 0;
}

static void teardown(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(creds, .init = setup, .fini = teardown);

/* Write data to dir/name with the given mode; returns the path (static buffer per call site). */
static const char *put(const char *name, const void *data, size_t len, mode_t mode)
{
	static char paths[8][256];
	static int next;
	char *path = paths[next++ % 8];
	int fd;

	snprintf(path, 256, "%s/%s", dir, name);
	unlink(path); /* it may be read-only from an earlier put() */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
	return path;
}

static const char *put_str(const char *name, const char *s, mode_t mode)
{
	return put(name, s, strlen(s), mode);
}

static int load_path(const char *path, struct cred_secret *s)
{
	struct cred_source src = {.kind = CRED_FILE};

	snprintf(src.ref, sizeof(src.ref), "%s", path);
	return creds_load(&src, s, err, sizeof(err));
}

/* ---- parsing ---- */

struct parse_case {
	const char *in;
	int rc;
	enum cred_kind kind;
	const char *ref;
	const char *msg; /* substring of the error */
};

static const struct parse_case parse_cases[] = {
    {"keyring:openai", 0, CRED_KEYRING, "openai", NULL},
    {"keyring:my account@work", 0, CRED_KEYRING, "my account@work", NULL},
    {"file:/etc/nono/openai.key", 0, CRED_FILE, "/etc/nono/openai.key", NULL},
    {"file:///etc/nono/k", 0, CRED_FILE, "/etc/nono/k", NULL},
    {"env:OPENAI_API_KEY", 0, CRED_ENV, "OPENAI_API_KEY", NULL},
    {"env://_X1", 0, CRED_ENV, "_X1", NULL},
    {"systemd:openai", 0, CRED_SYSTEMD, "openai", NULL},
    {"systemd:api.key-1", 0, CRED_SYSTEMD, "api.key-1", NULL},
    {"keyring:", -EINVAL, 0, NULL, "account is empty"},
    {"keyring:a\tb", -EINVAL, 0, NULL, "control characters"},
    {"file:relative/key", -EINVAL, 0, NULL, "must be absolute"},
    {"file:", -EINVAL, 0, NULL, "must be absolute"},
    {"env:", -EINVAL, 0, NULL, "not a variable name"},
    {"env:1X", -EINVAL, 0, NULL, "not a variable name"},
    {"env:A-B", -EINVAL, 0, NULL, "not a variable name"},
    {"systemd:", -EINVAL, 0, NULL, "credential name"},
    {"systemd:a/b", -EINVAL, 0, NULL, "no '/'"},
    {"systemd:..", -EINVAL, 0, NULL, "credential name"},
    {"vault:kv/openai", -EINVAL, 0, NULL, "unknown credential source kind 'vault'"},
    {"Keyring:x", -EINVAL, 0, NULL, "unknown credential source kind 'Keyring'"},
    {"", -EINVAL, 0, NULL, "no known kind"},
    /* A pasted key is never echoed back. */
    {SECRET, -EINVAL, 0, NULL, "no known kind"},
    {"sk-ant-api03:" SECRET, -EINVAL, 0, NULL, "no known kind"},
};

Test(creds, parse_table)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct cred_source src;
		int rc;

		err[0] = '\0';
		rc = creds_parse_source(c->in, &src, err, sizeof(err));
		cr_assert_eq(rc, c->rc, "'%s': rc %d, expected %d (%s)", c->in, rc, c->rc, err);
		if (rc == 0) {
			cr_assert_eq(src.kind, c->kind, "'%s': kind", c->in);
			cr_assert_str_eq(src.ref, c->ref, "'%s': ref", c->in);
		} else {
			cr_assert(strstr(err, c->msg), "'%s': message '%s' lacks '%s'", c->in, err,
				  c->msg);
			cr_assert_null(strstr(err, SECRET), "'%s': message repeats the key: %s",
				       c->in, err);
			cr_assert_null(strstr(err, "sk-"), "'%s': message repeats the key: %s",
				       c->in, err);
		}
	}
}

Test(creds, parse_too_long)
{
	struct cred_source src;
	char s[CREDS_REF_MAX + 16];

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	memcpy(s, "file:/", 6);
	cr_assert_eq(creds_parse_source(s, &src, err, sizeof(err)), -EINVAL);
	s[5 + CREDS_REF_MAX] = '\0';
	cr_assert_eq(creds_parse_source(s, &src, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(strlen(src.ref), CREDS_REF_MAX);
}

Test(creds, source_format)
{
	struct cred_source src;
	char out[64];

	cr_assert_eq(creds_parse_source("env://OPENAI_API_KEY", &src, err, sizeof(err)), 0);
	creds_source_format(&src, out, sizeof(out));
	cr_assert_str_eq(out, "env:OPENAI_API_KEY");
	cr_assert_eq(creds_parse_source("keyring:openai", &src, err, sizeof(err)), 0);
	creds_source_format(&src, out, sizeof(out));
	cr_assert_str_eq(out, "keyring:openai");
}

/* ---- states ---- */

Test(creds, state_of_and_names)
{
	static const struct {
		int rc;
		enum cred_state st;
		const char *name;
	} t[] = {
	    {0, CRED_LOADED, "loaded"},
	    {-ENOENT, CRED_MISSING, "missing"},
	    {-ENOKEY, CRED_LOCKED, "locked"},
	    {-ENOTCONN, CRED_NO_BUS, "no-bus"},
	    {-ENXIO, CRED_NO_SERVICE, "no-service"},
	    {-EIO, CRED_UNREADABLE, "unreadable"},
	    {-EACCES, CRED_UNREADABLE, "unreadable"},
	    {-ETIMEDOUT, CRED_UNREADABLE, "unreadable"},
	    {-EPERM, CRED_TOO_OPEN, "too-open"},
	    {-EINVAL, CRED_INVALID, "invalid"},
	    {-EFBIG, CRED_INVALID, "invalid"},
	    {-ENOTUNIQ, CRED_INVALID, "invalid"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_assert_eq(creds_state_of(t[i].rc), t[i].st, "rc %d", t[i].rc);
		cr_assert_str_eq(creds_state_name(t[i].st), t[i].name);
	}
	cr_assert_str_eq(creds_state_name(CRED_NOT_LOADED), "not-loaded");
	cr_assert_eq(CRED_NOT_LOADED, 0);
}

/* ---- files ---- */

Test(creds, file_ok_strips_one_newline)
{
	struct cred_secret s;

	cr_assert_eq(load_path(put_str("k", SECRET "\n", 0600), &s), 0, "%s", err);
	cr_assert_eq(s.len, strlen(SECRET));
	cr_assert_str_eq((char *)s.data, SECRET);
	creds_secret_free(&s);
	cr_assert_null(s.data);
	cr_assert_eq(s.len, 0);

	cr_assert_eq(load_path(put_str("k2", SECRET, 0400), &s), 0, "%s", err);
	cr_assert_str_eq((char *)s.data, SECRET);
	creds_secret_free(&s);

	cr_assert_eq(load_path(put_str("k3", SECRET "\r\n", 0600), &s), 0, "%s", err);
	cr_assert_str_eq((char *)s.data, SECRET);
	creds_secret_free(&s);

	/* Only one newline goes; a second one is a control character inside the value. */
	cr_assert_eq(load_path(put_str("k4", SECRET "\n\n", 0600), &s), -EINVAL);
	cr_assert(strstr(err, "control character"), "%s", err);
	cr_assert_null(s.data);
}

Test(creds, file_through_symlink)
{
	struct cred_secret s;
	char link[256];

	snprintf(link, sizeof(link), "%s/link", dir);
	cr_assert_eq(symlink(put_str("real", SECRET, 0600), link), 0);
	cr_assert_eq(load_path(link, &s), 0, "%s", err);
	cr_assert_str_eq((char *)s.data, SECRET);
	creds_secret_free(&s);
}

Test(creds, file_too_open)
{
	static const mode_t modes[] = {0644, 0640, 0604, 0660, 0700, 0666, 04600};
	struct cred_secret s;
	char want[512];

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const char *p = put_str("open", SECRET "\n", modes[i]);

		cr_assert_eq(load_path(p, &s), -EPERM, "mode %04o: %s", modes[i], err);
		cr_assert_eq(creds_state_of(-EPERM), CRED_TOO_OPEN);
		snprintf(want, sizeof(want), "file '%s' is too open (%04o); hint: chmod 600 %s", p,
			 (unsigned)modes[i], p);
		cr_assert_str_eq(err, want);
		cr_assert_null(s.data);
		cr_assert_null(strstr(err, SECRET));
	}
}

Test(creds, file_wrong_owner)
{
	struct cred_secret s;
	const char *p;

	if (geteuid() != 0) {
		teardown(); /* a skipped test's .fini does not run */
		cr_skip_test("chown to another uid needs root");
	}
	p = put_str("theirs", SECRET, 0600);
	cr_assert_eq(chown(p, 65534, 65534), 0);
	cr_assert_eq(load_path(p, &s), -EPERM, "%s", err);
	cr_assert(strstr(err, "owned by uid 65534"), "%s", err);
	cr_assert(strstr(err, "hint: chown 0"), "%s", err);
	cr_assert_null(strstr(err, SECRET));
}

Test(creds, file_unreadable)
{
	struct cred_secret s;
	const char *p;

	if (geteuid() == 0) {
		teardown(); /* a skipped test's .fini does not run */
		cr_skip_test("root reads a mode 000 file");
	}
	p = put_str("noread", SECRET, 0000);
	cr_assert_eq(load_path(p, &s), -EACCES, "%s", err);
	cr_assert_eq(creds_state_of(-EACCES), CRED_UNREADABLE);
	cr_assert(strstr(err, "unreadable"), "%s", err);
	cr_assert_null(strstr(err, SECRET));
}

Test(creds, file_missing)
{
	struct cred_secret s;
	char p[256];

	snprintf(p, sizeof(p), "%s/nope", dir);
	cr_assert_eq(load_path(p, &s), -ENOENT);
	cr_assert(strstr(err, "does not exist; hint:"), "%s", err);
	cr_assert(strstr(err, p), "%s", err);
	snprintf(p, sizeof(p), "%s/nodir/key", dir);
	cr_assert_eq(load_path(p, &s), -ENOENT);
}

Test(creds, file_empty)
{
	struct cred_secret s;

	cr_assert_eq(load_path(put_str("empty", "", 0600), &s), -EINVAL);
	cr_assert(strstr(err, "is empty; hint:"), "%s", err);
	cr_assert_eq(load_path(put_str("nl", "\n", 0600), &s), -EINVAL);
	cr_assert(strstr(err, "is empty"), "%s", err);
	cr_assert_eq(creds_state_of(-EINVAL), CRED_INVALID);
}

Test(creds, file_size_limit)
{
	static char big[CREDS_SECRET_MAX + 2];
	struct cred_secret s;

	memset(big, 'k', sizeof(big));
	cr_assert_eq(load_path(put("max", big, CREDS_SECRET_MAX, 0600), &s), 0, "%s", err);
	cr_assert_eq(s.len, CREDS_SECRET_MAX);
	creds_secret_free(&s);
	/* A trailing newline does not count against the limit's content, but the file is bigger. */
	cr_assert_eq(load_path(put("over", big, CREDS_SECRET_MAX + 1, 0600), &s), -EFBIG);
	cr_assert(strstr(err, "larger than 64 KiB"), "%s", err);
	cr_assert_null(s.data);
}

Test(creds, file_not_regular)
{
	struct cred_secret s;
	char fifo[256];
	time_t t0 = time(NULL);

	cr_assert_eq(load_path(dir, &s), -EINVAL);
	cr_assert(strstr(err, "not a regular file"), "%s", err);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(load_path(fifo, &s), -EINVAL, "%s", err);
	cr_assert(time(NULL) - t0 < 2, "a FIFO must not block");
}

Test(creds, file_control_characters)
{
	struct cred_secret s;

	cr_assert_eq(load_path(put("nul", "sk-a\0b", 6, 0600), &s), -EINVAL);
	cr_assert_eq(load_path(put_str("crlf", "sk-a\r\nX-Evil: 1", 0600), &s), -EINVAL);
	cr_assert(strstr(err, "line break"), "%s", err);
	cr_assert_null(strstr(err, "sk-a"));
	cr_assert_null(strstr(err, "X-Evil"));
}

/* ---- env ---- */

Test(creds, env)
{
	struct cred_source src;
	struct cred_secret s;

	cr_assert_eq(creds_parse_source("env:NONO_TEST_KEY", &src, err, sizeof(err)), 0);
	unsetenv("NONO_TEST_KEY");
	cr_assert_eq(creds_load(&src, &s, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "environment variable 'NONO_TEST_KEY' is not set; hint:"), "%s", err);

	setenv("NONO_TEST_KEY", "", 1);
	cr_assert_eq(creds_load(&src, &s, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "'NONO_TEST_KEY' is empty"), "%s", err);

	setenv("NONO_TEST_KEY", SECRET, 1);
	cr_assert_eq(creds_load(&src, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq((char *)s.data, SECRET);
	creds_secret_free(&s);

	/* The environment itself is left as it was. */
	setenv("NONO_TEST_KEY", SECRET "\n", 1);
	cr_assert_eq(creds_load(&src, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq((char *)s.data, SECRET);
	cr_assert_str_eq(getenv("NONO_TEST_KEY"), SECRET "\n");
	creds_secret_free(&s);

	setenv("NONO_TEST_KEY", "sk-a\nb", 1);
	cr_assert_eq(creds_load(&src, &s, err, sizeof(err)), -EINVAL);
	cr_assert_null(strstr(err, "sk-a"));
}

/* ---- systemd ---- */

Test(creds, systemd)
{
	struct cred_source src;
	struct cred_secret s;

	cr_assert_eq(creds_parse_source("systemd:openai", &src, err, sizeof(err)), 0);
	unsetenv("CREDENTIALS_DIRECTORY");
	cr_assert_eq(creds_load(&src, &s, err, sizeof(err)), -ENOENT);
	cr_assert(
	    strstr(err, "$CREDENTIALS_DIRECTORY is not set; hint: add LoadCredential=openai:"),
	    "%s", err);

	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	cr_assert_eq(creds_load(&src, &s, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "systemd credential 'openai'"), "%s", err);
	cr_assert(strstr(err, "does not exist"), "%s", err);

	put_str("openai", SECRET "\n", 0400);
	cr_assert_eq(creds_load(&src, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq((char *)s.data, SECRET);
	creds_secret_free(&s);

	put_str("openai", SECRET, 0644);
	cr_assert_eq(creds_load(&src, &s, err, sizeof(err)), -EPERM);
	cr_assert(strstr(err, "too open (0644); hint: chmod 600"), "%s", err);
	cr_assert_null(strstr(err, SECRET));
}

Test(creds, keyring_source_not_loaded_by_creds_load)
{
	struct cred_source src;
	struct cred_secret s;

	cr_assert_eq(creds_parse_source("keyring:openai", &src, err, sizeof(err)), 0);
	cr_assert_eq(creds_load(&src, &s, err, sizeof(err)), -EINVAL);
	cr_assert_null(s.data);
}

/* ---- wiping ---- */

static int wipes, dirty_wipes;
static const unsigned char *last_wiped;
static size_t last_wiped_len;

static void wipe_check(const unsigned char *p, size_t n)
{
	wipes++;
	for (size_t i = 0; i < n; i++)
		if (p[i]) {
			dirty_wipes++;
			break;
		}
	last_wiped = p;
	last_wiped_len = n;
}

Test(creds, secret_is_wiped_before_free)
{
	struct cred_secret s;
	const unsigned char *data;

	creds_wipe_hook = wipe_check;
	cr_assert_eq(load_path(put_str("k", SECRET "\n", 0600), &s), 0, "%s", err);
	cr_assert_eq(wipes, 1, "the read buffer is wiped too");
	data = s.data;
	creds_secret_free(&s);
	cr_assert_eq(wipes, 2);
	cr_assert_eq(dirty_wipes, 0, "a buffer was freed with key bytes in it");
	cr_assert_eq(last_wiped, data);
	cr_assert_eq(last_wiped_len, strlen(SECRET) + 1, "the NUL is wiped too");

	creds_secret_free(&s); /* twice: a no-op */
	creds_secret_free(NULL);
	cr_assert_eq(wipes, 2);

	/* Failed loads wipe what they read. */
	cr_assert_eq(load_path(put_str("bad", SECRET "\nmore", 0600), &s), -EINVAL);
	cr_assert_eq(wipes, 3);
	cr_assert_eq(dirty_wipes, 0);
	creds_wipe_hook = NULL;
}

/* ---- the keyring helper protocol (a fake helper) ---- */

static const char *helper(const char *body)
{
	static char path[256];
	char script[4096];

	snprintf(script, sizeof(script), "#!/bin/sh\nD='%s'\n%s\n", dir, body);
	snprintf(path, sizeof(path), "%s", put_str("helper", script, 0700));
	return path;
}

static int lookup(const char *h, const char *account, struct cred_secret *s, enum cred_state *st)
{
	err[0] = '\0';
	return creds_keyring_lookup(h, account, s, st, err, sizeof(err));
}

static char *slurp(const char *name)
{
	static char buf[4096];
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

Test(creds, keyring_found)
{
	struct cred_secret s;
	enum cred_state st = CRED_NOT_LOADED;

	creds_wipe_hook = wipe_check;
	cr_assert_eq(lookup(helper("printf '%s\\n' \"$1 $2\" > \"$D/args\"; printf '" SECRET "'"),
			    "openai", &s, &st),
		     0, "%s", err);
	cr_assert_eq(st, CRED_LOADED);
	cr_assert_str_eq((char *)s.data, SECRET);
	cr_assert_eq(s.len, strlen(SECRET));
	cr_assert_str_eq(slurp("args"), "lookup openai\n");
	cr_assert_eq(wipes, 1, "the pipe buffer is wiped");
	creds_secret_free(&s);
	cr_assert_eq(dirty_wipes, 0);
	creds_wipe_hook = NULL;

	/* secret-tool stores what it reads, newline included: one is stripped. */
	cr_assert_eq(lookup(helper("printf '" SECRET "\\n'"), "openai", &s, &st), 0, "%s", err);
	cr_assert_str_eq((char *)s.data, SECRET);
	creds_secret_free(&s);
}

Test(creds, keyring_helper_environment_and_fds)
{
	struct cred_secret s;
	enum cred_state st;
	int leak = open("/dev/null", O_RDONLY); /* not close-on-exec */

	cr_assert(leak > 2 && leak < 10); /* dash keeps its own fds at 10 and up */
	setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	setenv("HOME", "/home/nono-test", 1);
	setenv("OPENAI_API_KEY", SECRET, 1);
	setenv("LD_PRELOAD", "", 1);
	/* No pipeline around the listing: its pipe would show up among the shell's own fds. */
	cr_assert_eq(lookup(helper("env | sort > \"$D/env\"; ls /proc/$$/fd > \"$D/fdl\"; "
				   "awk '$1 > 2 && $1 < 10' \"$D/fdl\" > \"$D/fds\"; "
				   "[ -t 0 ] || cat > \"$D/stdin\"; printf k"),
			    "a", &s, &st),
		     0, "%s", err);
	creds_secret_free(&s);
	/* Nothing from our environment but the three; PWD (set by sh) shows the helper runs in /.
	 */
	cr_assert_str_eq(slurp("env"),
			 "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus\n"
			 "HOME=/home/nono-test\nPWD=/\nXDG_RUNTIME_DIR=/run/user/4242\n",
			 "environment: %s", slurp("env"));
	cr_assert_str_eq(slurp("fds"), "", "fds beyond stdio: %s", slurp("fds"));
	cr_assert_str_eq(slurp("stdin"), "");
	close(leak);
}

struct exit_case {
	int code;
	int rc;
	enum cred_state st;
	const char *msg;
};

static const struct exit_case exit_cases[] = {
    {CREDS_HELPER_NOT_FOUND, -ENOENT, CRED_MISSING,
     "keyring item service=nono username=acct not found; hint: secret-tool store "
     "--label='nono: acct' service nono username acct target default"},
    {CREDS_HELPER_LOCKED, -ENOKEY, CRED_LOCKED,
     "keyring account 'acct': the keyring is locked (why); hint: unlock"},
    {CREDS_HELPER_NO_BUS, -ENOTCONN, CRED_NO_BUS,
     "keyring account 'acct': no D-Bus session bus (why); hint:"},
    {CREDS_HELPER_NO_SERVICE, -ENXIO, CRED_NO_SERVICE,
     "keyring account 'acct': no Secret Service on the session bus (why); hint:"},
    {CREDS_HELPER_SEVERAL, -ENOTUNIQ, CRED_INVALID,
     "several keyring items match service=nono username=acct; hint:"},
    {CREDS_HELPER_ERROR, -EIO, CRED_UNREADABLE,
     "keyring account 'acct': lookup failed (why) (helper exit 1)"},
    {127, -ENOEXEC, CRED_UNREADABLE, "cannot run the helper"},
};

Test(creds, keyring_exit_codes)
{
	for (size_t i = 0; i < sizeof(exit_cases) / sizeof(exit_cases[0]); i++) {
		const struct exit_case *c = &exit_cases[i];
		struct cred_secret s;
		enum cred_state st = CRED_NOT_LOADED;
		char body[256];

		/* The helper misbehaves and prints the key anyway: it must not reach a message. */
		snprintf(body, sizeof(body),
			 "printf '" SECRET
			 "'; echo 'nono-keyring: why' >&2; echo more >&2; exit %d",
			 c->code);
		cr_assert_eq(lookup(helper(body), "acct", &s, &st), c->rc, "exit %d: %s", c->code,
			     err);
		cr_assert_eq(st, c->st, "exit %d: state %s", c->code, creds_state_name(st));
		cr_assert(strstr(err, c->msg), "exit %d: '%s' lacks '%s'", c->code, err, c->msg);
		cr_assert_null(strstr(err, SECRET), "exit %d: %s", c->code, err);
		cr_assert_null(strstr(err, "more"), "only the first stderr line: %s", err);
		cr_assert_null(s.data);
	}
}

Test(creds, keyring_helper_missing_or_killed)
{
	struct cred_secret s;
	enum cred_state st;
	char p[256];

	snprintf(p, sizeof(p), "%s/no-such-helper", dir);
	cr_assert_eq(lookup(p, "a", &s, &st), -ENOEXEC);
	cr_assert_eq(st, CRED_UNREADABLE);
	cr_assert(strstr(err, "cannot run the helper"), "%s", err);

	cr_assert_eq(lookup(helper("printf " SECRET "; kill -KILL $$"), "a", &s, &st), -EIO);
	cr_assert_eq(st, CRED_UNREADABLE);
	cr_assert(strstr(err, "signal 9"), "%s", err);
	cr_assert_null(strstr(err, SECRET));
	cr_assert_null(s.data);
}

Test(creds, keyring_bad_output)
{
	struct cred_secret s;
	enum cred_state st;

	cr_assert_eq(lookup(helper("exit 0"), "a", &s, &st), -EINVAL);
	cr_assert_eq(st, CRED_INVALID);
	cr_assert(strstr(err, "is empty"), "%s", err);
	cr_assert_eq(lookup(helper("head -c 70000 /dev/zero | tr '\\0' k"), "a", &s, &st), -EFBIG);
	cr_assert_eq(st, CRED_INVALID);
	cr_assert(strstr(err, "larger than 64 KiB"), "%s", err);
	cr_assert_eq(lookup(helper("printf 'sk-a\\r\\nX: y'"), "a", &s, &st), -EINVAL);
	cr_assert_null(strstr(err, "sk-a"));
}

Test(creds, keyring_bad_account)
{
	struct cred_secret s;
	enum cred_state st;

	cr_assert_eq(lookup(helper("exit 0"), "", &s, &st), -EINVAL);
	cr_assert_eq(st, CRED_INVALID);
	cr_assert_eq(lookup(helper("exit 0"), "a\nb", &s, &st), -EINVAL);
}

static void timeout_case(const char *body)
{
	struct cred_secret s;
	enum cred_state st;
	struct timespec t0, t1;
	long ms;
	char *pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(lookup(helper(body), "a", &s, &st), -ETIMEDOUT, "%s", err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	cr_assert_eq(st, CRED_UNREADABLE);
	cr_assert(strstr(err, "no answer within 5s, helper killed"), "%s", err);
	cr_assert(ms >= CREDS_KEYRING_TIMEOUT_MS - 100 && ms < CREDS_KEYRING_TIMEOUT_MS + 1500,
		  "took %ld ms", ms);
	pid = slurp("pid");
	cr_assert_eq(kill((pid_t)strtol(pid, NULL, 10), 0), -1, "helper %s still exists", pid);
	cr_assert_eq(errno, ESRCH);
}

Test(creds, keyring_timeout_kills_helper, .timeout = 20)
{
	timeout_case("echo $$ > \"$D/pid\"; printf partial; exec sleep 30");
}

Test(creds, keyring_timeout_after_closing_pipes, .timeout = 20)
{
	timeout_case("echo $$ > \"$D/pid\"; exec sleep 30 >&- 2>&-");
}
