/* creds: real API keys from the keyring (through a helper), files, env vars or systemd credentials.
 */
#ifndef NONO_CREDS_H
#define NONO_CREDS_H

#include <stddef.h>

#define CREDS_SECRET_MAX	 (64 * 1024) /* bytes of one key, whatever its source */
#define CREDS_REF_MAX		 4095	     /* account, path, variable or credential name */
#define CREDS_ACCOUNT_MAX	 255
#define CREDS_KEYRING_TIMEOUT_MS 5000 /* then the helper is killed */
#define CREDS_HELPER_DIAG_MAX	 256  /* bytes of the helper's stderr kept for messages */

enum cred_kind {
	CRED_KEYRING, /* keyring:ACCOUNT, items service=nono username=ACCOUNT */
	CRED_FILE,    /* file:/abs/path (file:///abs/path too) */
	CRED_ENV,     /* env:VAR (env://VAR too) */
	CRED_SYSTEMD, /* systemd:NAME, i.e. $CREDENTIALS_DIRECTORY/NAME */
};

enum cred_state {
	CRED_NOT_LOADED = 0, /* a zeroed struct never claims a key */
	CRED_LOADED,
	CRED_MISSING,	 /* no such item, file, variable or credential */
	CRED_LOCKED,	 /* the keyring holding it is locked */
	CRED_NO_BUS,	 /* no D-Bus session bus */
	CRED_NO_SERVICE, /* a bus, but no Secret Service on it */
	CRED_UNREADABLE, /* I/O error, permission denied, helper failed or timed out */
	CRED_TOO_OPEN,	 /* file mode above 0600, or owned by someone else */
	CRED_INVALID,	 /* empty, too large, control characters, several keyring matches */
};

struct cred_source {
	enum cred_kind kind;
	char ref[CREDS_REF_MAX + 1];
};

/* The key's bytes, NUL-terminated (len excludes the NUL). Owned; release with creds_secret_free().
 */
struct cred_secret {
	unsigned char *data;
	size_t len;
};

/*
 * Exit codes of the nono-keyring helper (`nono-keyring lookup ACCOUNT`): on FOUND the key's
 * bytes, and nothing else, are on its stdout; otherwise one line on stderr says why.
 */
enum creds_helper_exit {
	CREDS_HELPER_FOUND = 0,
	CREDS_HELPER_ERROR = 1,
	CREDS_HELPER_USAGE = 2,
	CREDS_HELPER_NOT_FOUND = 3,
	CREDS_HELPER_LOCKED = 4,
	CREDS_HELPER_NO_BUS = 5,
	CREDS_HELPER_NO_SERVICE = 6,
	CREDS_HELPER_SEVERAL = 7,
};

/*
 * Parse "keyring:ACCOUNT", "file:PATH", "env:VAR" or "systemd:NAME". 0 or -EINVAL; the
 * message never repeats a string without a known prefix (it could be a pasted key).
 */
int creds_parse_source(const char *s, struct cred_source *out, char *err, size_t errlen);

/* "keyring:openai" etc., for status output. */
void creds_source_format(const struct cred_source *src, char *out, size_t len);

/*
 * Load a file, env or systemd key into out (blocking file I/O: call it off the loop).
 * 0 or a negative errno that creds_state_of() maps to a state. Messages name the source
 * ("file '/x'", "environment variable 'X'", …) and give a hint, never a byte of the value;
 * the caller prefixes "credential 'NAME': ".
 */
int creds_load(const struct cred_source *src, struct cred_secret *out, char *err, size_t errlen);

/*
 * Run `helper_path lookup account` with only DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR and
 * HOME in its environment, read the key from its stdout, kill it after
 * CREDS_KEYRING_TIMEOUT_MS. Blocks: the supervisor runs it from uv_queue_work. Returns like
 * creds_load(); *state is set whatever happens.
 */
int creds_keyring_lookup(const char *helper_path, const char *account, struct cred_secret *out,
			 enum cred_state *state, char *err, size_t errlen);

/* 0 → LOADED, -ENOENT → MISSING, -ENOKEY → LOCKED, -ENOTCONN → NO_BUS, -ENXIO → NO_SERVICE,
 * -EPERM → TOO_OPEN, -EINVAL/-EFBIG/-ENOTUNIQ → INVALID, anything else → UNREADABLE. */
enum cred_state creds_state_of(int rc);

/* "loaded", "missing", "locked", "no-bus", "no-service", "unreadable", "too-open", "invalid". */
const char *creds_state_name(enum cred_state state);

/* Wipe and free the key; s is then empty. NULL or an empty secret is a no-op. */
void creds_secret_free(struct cred_secret *s);

/* Tests only: called with every buffer that held key bytes, after the wipe, before free(). */
extern void (*creds_wipe_hook)(const unsigned char *p, size_t n);

#endif
