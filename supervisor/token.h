/* token: phantom tokens (one per service session) and the table the proxy checks them against. */
#ifndef NONO_TOKEN_H
#define NONO_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_BYTES	  32		    /* CSPRNG bytes per token */
#define TOKEN_HEX_LEN	  (2 * TOKEN_BYTES) /* 64 lowercase hex characters */
#define TOKEN_ID_LEN	  8		    /* non-secret session id, hex */
#define TOKEN_SERVICE_MAX 64		    /* service name bytes */
#define TOKEN_TABLE_MAX	  1024		    /* live sessions at once */

/* A phantom token: secret, never logged; wipe it with token_wipe() when done. */
struct token {
	char hex[TOKEN_HEX_LEN + 1];
};

/* A fresh token from getrandom(2). 0 or a negative errno; t is wiped on failure. */
int token_new(struct token *t);

/* A fresh non-secret session id (TOKEN_ID_LEN hex characters + NUL) for audit records. */
int token_session_id_new(char id[TOKEN_ID_LEN + 1]);

/*
 * Whether candidate[0..len) is exactly t's token. Constant time in the token's bytes:
 * a wrong length is refused without looking at them, and equal lengths are compared
 * without an early exit. candidate may be NULL when len is 0.
 */
bool token_equal(const char *candidate, size_t len, const struct token *t);

/* Overwrite the token with zeros (explicit_bzero). NULL is a no-op. */
void token_wipe(struct token *t);

/* One live session: its phantom token and who it belongs to. */
struct token_session {
	struct token token;
	char service[TOKEN_SERVICE_MAX + 1];
	char id[TOKEN_ID_LEN + 1];
	unsigned listener; /* the proxy listener the session's service talks to */
	bool live;
};

/* Sessions by token; zero-initialise (or token_table_init) before use. */
struct token_table {
	struct token_session *v;
	size_t cap; /* slots in v; revoked slots are reused */
	size_t live;
};

void token_table_init(struct token_table *tt);
/* Wipe every token and free the table; it is then empty and reusable. NULL is a no-op. */
void token_table_free(struct token_table *tt);

/*
 * Start a session of service on listener: a fresh token and session id, copied to tok and
 * id (either may be NULL). 0, -EINVAL (service name empty or too long), -ENOSPC (more
 * than TOKEN_TABLE_MAX live sessions), -ENOMEM, or getrandom's error.
 */
int token_table_add(struct token_table *tt, const char *service, unsigned listener,
		    struct token *tok, char id[TOKEN_ID_LEN + 1]);

/* End the session with this id; its token is wiped and no longer accepted. 0 or -ENOENT. */
int token_table_revoke(struct token_table *tt, const char *id);

/*
 * The session whose token is candidate[0..len), compared in constant time against every
 * live session (no early exit). 0 and *out set when it belongs to listener; -EPERM (and
 * *out set, for the audit record) when it is another listener's; -ENOENT when no live
 * session has it. *out stays valid until the next add or revoke.
 */
int token_table_lookup(const struct token_table *tt, unsigned listener, const char *candidate,
		       size_t len, const struct token_session **out);

#endif
