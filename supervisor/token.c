/* token: phantom tokens from getrandom(2), constant-time checks, the per-session table. */
#include "token.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static int random_bytes(unsigned char *out, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(out + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	return 0;
}

static void hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int token_new(struct token *t)
{
	unsigned char raw[TOKEN_BYTES];
	int r = random_bytes(raw, sizeof(raw));

	if (r < 0) {
		explicit_bzero(raw, sizeof(raw));
		token_wipe(t);
		return r;
	}
	hex_encode(t->hex, raw, sizeof(raw));
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

int token_session_id_new(char id[TOKEN_ID_LEN + 1])
{
	unsigned char raw[TOKEN_ID_LEN / 2];
	int r = random_bytes(raw, sizeof(raw));

	if (r < 0)
		return r;
	hex_encode(id, raw, sizeof(raw));
	return 0;
}

/*
 * The length is public (every token is TOKEN_HEX_LEN long), so a wrong length may return
 * at once; the bytes are folded into one accumulator with no data-dependent branch. The
 * volatile accumulator keeps the compiler from turning the loop into an early-exit memcmp.
 */
bool token_equal(const char *candidate, size_t len, const struct token *t)
{
	volatile unsigned char diff = 0;

	if (!t || len != TOKEN_HEX_LEN || !candidate)
		return false;
	for (size_t i = 0; i < TOKEN_HEX_LEN; i++)
		diff |= (unsigned char)candidate[i] ^ (unsigned char)t->hex[i];
	/* An all-zero (wiped) token never matches, even against 64 NUL bytes. */
	diff |= (unsigned char)(t->hex[0] == '\0');
	return diff == 0;
}

void token_wipe(struct token *t)
{
	if (t)
		explicit_bzero(t, sizeof(*t));
}

void token_table_init(struct token_table *tt)
{
	*tt = (struct token_table){0};
}

void token_table_free(struct token_table *tt)
{
	if (!tt)
		return;
	if (tt->v)
		explicit_bzero(tt->v, tt->cap * sizeof(*tt->v));
	free(tt->v);
	token_table_init(tt);
}

/* Grow by copying, never realloc: realloc could leave tokens behind in freed memory. */
static int table_grow(struct token_table *tt)
{
	size_t cap = tt->cap ? 2 * tt->cap : 8;
	struct token_session *v;

	if (cap > TOKEN_TABLE_MAX)
		cap = TOKEN_TABLE_MAX;
	if (cap <= tt->cap)
		return -ENOSPC;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (tt->v) {
		memcpy(v, tt->v, tt->cap * sizeof(*v));
		explicit_bzero(tt->v, tt->cap * sizeof(*tt->v));
		free(tt->v);
	}
	tt->v = v;
	tt->cap = cap;
	return 0;
}

static struct token_session *find_id(const struct token_table *tt, const char *id)
{
	for (size_t i = 0; i < tt->cap; i++)
		if (tt->v[i].live && strcmp(tt->v[i].id, id) == 0)
			return &tt->v[i];
	return NULL;
}

int token_table_add(struct token_table *tt, const char *service, unsigned listener,
		    struct token *tok, char id[TOKEN_ID_LEN + 1])
{
	struct token_session *s = NULL;
	size_t slen = service ? strlen(service) : 0;
	int r;

	if (slen == 0 || slen > TOKEN_SERVICE_MAX)
		return -EINVAL;
	for (size_t i = 0; i < tt->cap && !s; i++)
		if (!tt->v[i].live)
			s = &tt->v[i];
	if (!s) {
		size_t old = tt->cap;

		r = table_grow(tt);
		if (r < 0)
			return r;
		s = &tt->v[old];
	}
	*s = (struct token_session){.listener = listener};
	memcpy(s->service, service, slen + 1);
	r = token_new(&s->token);
	if (r < 0)
		return r;
	/* Ids are for people reading the audit log: keep them unique among live sessions. */
	do {
		r = token_session_id_new(s->id);
		if (r < 0) {
			token_wipe(&s->token);
			return r;
		}
	} while (find_id(tt, s->id));
	s->live = true;
	tt->live++;
	if (tok)
		*tok = s->token;
	if (id)
		memcpy(id, s->id, TOKEN_ID_LEN + 1);
	return 0;
}

int token_table_revoke(struct token_table *tt, const char *id)
{
	struct token_session *s = id ? find_id(tt, id) : NULL;

	if (!s)
		return -ENOENT;
	explicit_bzero(s, sizeof(*s));
	tt->live--;
	return 0;
}

int token_table_lookup(const struct token_table *tt, unsigned listener, const char *candidate,
		       size_t len, const struct token_session **out)
{
	size_t found = 0, any = 0;

	*out = NULL;
	/* Which slots are live is not secret; which one matches is, until it is found. */
	for (size_t i = 0; i < tt->cap; i++) {
		size_t eq;

		if (!tt->v[i].live)
			continue;
		eq = (size_t)token_equal(candidate, len, &tt->v[i].token);
		found |= ((size_t)0 - eq) & i;
		any |= eq;
	}
	if (!any)
		return -ENOENT;
	*out = &tt->v[found];
	return (*out)->listener == listener ? 0 : -EPERM;
}
