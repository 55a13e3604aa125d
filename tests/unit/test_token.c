/* Phantom tokens: format, uniqueness, constant-time comparison, the session table. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "token.h"

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

Test(token, format_is_64_lowercase_hex)
{
	struct token t;

	cr_assert_eq(token_new(&t), 0);
	cr_assert_eq(strlen(t.hex), TOKEN_HEX_LEN);
	cr_assert(lower_hex(t.hex, TOKEN_HEX_LEN), "%s", t.hex);
	token_wipe(&t);
	for (size_t i = 0; i < sizeof(t); i++)
		cr_assert_eq(((unsigned char *)&t)[i], 0);
	token_wipe(NULL);
}

Test(token, fresh_tokens_differ)
{
	enum { N = 256 };
	static struct token t[N];
	unsigned long bits[16] = {0};

	for (size_t i = 0; i < N; i++) {
		cr_assert_eq(token_new(&t[i]), 0);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(t[i].hex, t[j].hex);
		for (size_t k = 0; k < TOKEN_HEX_LEN; k++) {
			char c = t[i].hex[k];

			bits[c <= '9' ? c - '0' : c - 'a' + 10]++;
		}
	}
	/* every hex digit shows up (256 * 64 draws, ~1024 each) */
	for (size_t d = 0; d < 16; d++)
		cr_expect_gt(bits[d], 700, "digit %zu: %lu", d, bits[d]);
}

Test(token, session_id_is_8_hex)
{
	char a[TOKEN_ID_LEN + 1], b[TOKEN_ID_LEN + 1];

	cr_assert_eq(token_session_id_new(a), 0);
	cr_assert_eq(token_session_id_new(b), 0);
	cr_assert(lower_hex(a, TOKEN_ID_LEN), "%s", a);
	cr_assert(lower_hex(b, TOKEN_ID_LEN), "%s", b);
}

Test(token, equal_table)
{
	struct token t;
	char same[TOKEN_HEX_LEN + 2], flip_first[TOKEN_HEX_LEN + 1], flip_last[TOKEN_HEX_LEN + 1],
	    upper[TOKEN_HEX_LEN + 1], zeros[TOKEN_HEX_LEN] = {0};

	memcpy(t.hex, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	       TOKEN_HEX_LEN + 1);
	memcpy(same, t.hex, TOKEN_HEX_LEN + 1);
	same[TOKEN_HEX_LEN] = 'x'; /* "longer" reads one more byte */
	same[TOKEN_HEX_LEN + 1] = '\0';
	memcpy(flip_first, t.hex, sizeof(flip_first));
	flip_first[0] = '1';
	memcpy(flip_last, t.hex, sizeof(flip_last));
	flip_last[TOKEN_HEX_LEN - 1] = 'e';
	memcpy(upper, t.hex, sizeof(upper));
	upper[10] = 'A';

	const struct {
		const char *cand;
		size_t len;
		bool want;
	} rows[] = {
	    {t.hex, TOKEN_HEX_LEN, true},	/* equal */
	    {same, TOKEN_HEX_LEN, true},	/* equal, trailing bytes not part of it */
	    {same, TOKEN_HEX_LEN + 1, false},	/* longer */
	    {t.hex, TOKEN_HEX_LEN - 1, false},	/* prefix */
	    {t.hex, 1, false},			/* short prefix */
	    {t.hex, 0, false},			/* empty */
	    {NULL, 0, false},			/* nothing */
	    {"", 0, false},			/* empty string */
	    {flip_first, TOKEN_HEX_LEN, false}, /* first byte differs */
	    {flip_last, TOKEN_HEX_LEN, false},	/* last byte differs */
	    {upper, TOKEN_HEX_LEN, false},	/* case matters */
	    {zeros, TOKEN_HEX_LEN, false},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		cr_expect_eq(token_equal(rows[i].cand, rows[i].len, &t), rows[i].want, "row %zu",
			     i);
	cr_expect_not(token_equal(t.hex, TOKEN_HEX_LEN, NULL));
}

Test(token, wiped_token_matches_nothing)
{
	struct token t;
	char zeros[TOKEN_HEX_LEN] = {0};

	cr_assert_eq(token_new(&t), 0);
	token_wipe(&t);
	cr_expect_not(token_equal(zeros, sizeof(zeros), &t));
}

Test(token_table, add_lookup_revoke)
{
	struct token_table tt;
	struct token ta, tb, ta2;
	char ida[TOKEN_ID_LEN + 1], idb[TOKEN_ID_LEN + 1], ida2[TOKEN_ID_LEN + 1];
	const struct token_session *s;

	token_table_init(&tt);
	cr_assert_eq(token_table_add(&tt, "planner", 1, &ta, ida), 0);
	cr_assert_eq(token_table_add(&tt, "coder", 2, &tb, idb), 0);
	cr_assert_eq(tt.live, 2);
	cr_assert_str_neq(ta.hex, tb.hex);
	cr_assert_str_neq(ida, idb);

	cr_assert_eq(token_table_lookup(&tt, 1, ta.hex, TOKEN_HEX_LEN, &s), 0);
	cr_assert_str_eq(s->service, "planner");
	cr_assert_str_eq(s->id, ida);
	cr_assert_eq(s->listener, 1);
	cr_assert_eq(token_table_lookup(&tt, 2, tb.hex, TOKEN_HEX_LEN, &s), 0);
	cr_assert_str_eq(s->service, "coder");

	/* A's token on B's listener: refused, but named for the audit record. */
	cr_assert_eq(token_table_lookup(&tt, 2, ta.hex, TOKEN_HEX_LEN, &s), -EPERM);
	cr_assert_str_eq(s->service, "planner");
	cr_assert_eq(token_table_lookup(&tt, 1, ta.hex, TOKEN_HEX_LEN - 1, &s), -ENOENT);
	cr_assert_null(s);
	cr_assert_eq(token_table_lookup(&tt, 1, "", 0, &s), -ENOENT);

	/* A restarts: the old token is refused, the new one accepted; B is untouched. */
	cr_assert_eq(token_table_revoke(&tt, ida), 0);
	cr_assert_eq(token_table_revoke(&tt, ida), -ENOENT);
	cr_assert_eq(token_table_revoke(&tt, "nothere"), -ENOENT);
	cr_assert_eq(tt.live, 1);
	cr_assert_eq(token_table_lookup(&tt, 1, ta.hex, TOKEN_HEX_LEN, &s), -ENOENT);
	cr_assert_eq(token_table_add(&tt, "planner", 1, &ta2, ida2), 0);
	cr_assert_str_neq(ta.hex, ta2.hex);
	cr_assert_eq(token_table_lookup(&tt, 1, ta2.hex, TOKEN_HEX_LEN, &s), 0);
	cr_assert_str_eq(s->id, ida2);
	cr_assert_eq(token_table_lookup(&tt, 1, ta.hex, TOKEN_HEX_LEN, &s), -ENOENT);
	cr_assert_eq(token_table_lookup(&tt, 2, tb.hex, TOKEN_HEX_LEN, &s), 0);

	token_table_free(&tt);
	cr_assert_null(tt.v);
	cr_assert_eq(tt.live, 0);
	cr_assert_eq(token_table_lookup(&tt, 2, tb.hex, TOKEN_HEX_LEN, &s), -ENOENT);
	token_table_free(&tt);
	token_table_free(NULL);
}

Test(token_table, bad_service_names)
{
	struct token_table tt;
	char longname[TOKEN_SERVICE_MAX + 2];

	token_table_init(&tt);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_expect_eq(token_table_add(&tt, "", 1, NULL, NULL), -EINVAL);
	cr_expect_eq(token_table_add(&tt, NULL, 1, NULL, NULL), -EINVAL);
	cr_expect_eq(token_table_add(&tt, longname, 1, NULL, NULL), -EINVAL);
	longname[TOKEN_SERVICE_MAX] = '\0';
	cr_expect_eq(token_table_add(&tt, longname, 1, NULL, NULL), 0);
	token_table_free(&tt);
}

/* Growth keeps every session findable; the table stops at TOKEN_TABLE_MAX. */
Test(token_table, grows_then_full)
{
	static struct token toks[TOKEN_TABLE_MAX];
	static char ids[TOKEN_TABLE_MAX][TOKEN_ID_LEN + 1];
	struct token_table tt;
	const struct token_session *s;
	char name[32];

	token_table_init(&tt);
	for (unsigned i = 0; i < TOKEN_TABLE_MAX; i++) {
		snprintf(name, sizeof(name), "svc%u", i);
		cr_assert_eq(token_table_add(&tt, name, i, &toks[i], ids[i]), 0, "%u", i);
	}
	cr_assert_eq(token_table_add(&tt, "one-more", 0, NULL, NULL), -ENOSPC);
	for (unsigned i = 0; i < TOKEN_TABLE_MAX; i += 97) {
		snprintf(name, sizeof(name), "svc%u", i);
		cr_assert_eq(token_table_lookup(&tt, i, toks[i].hex, TOKEN_HEX_LEN, &s), 0);
		cr_assert_str_eq(s->service, name);
	}
	/* a revoked slot is reused */
	cr_assert_eq(token_table_revoke(&tt, ids[5]), 0);
	cr_assert_eq(token_table_add(&tt, "again", 5, &toks[5], ids[5]), 0);
	cr_assert_eq(token_table_lookup(&tt, 5, toks[5].hex, TOKEN_HEX_LEN, &s), 0);
	cr_assert_str_eq(s->service, "again");
	token_table_free(&tt);
}
