/* Audit log: line format, the hash chain across reopen and tears, verify, sanitising, filter. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"

#define STAMP	  "2026-12-04T19:39:26.123Z"
#define STAMP_TS  ((struct timespec){ .tv_sec = 1796413166, .tv_nsec = 123456789 })
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

static char dir[64];
static char path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/nono-audit-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/" AUDIT_FILE, dir);
}

static void teardown(void)
{
	char p[160];

	unlink(path);
	snprintf(p, sizeof(p), "%s/out", dir);
	unlink(p);
	rmdir(dir);
}

TestSuite(audit, .init = setup, .fini = teardown);

static struct audit_entry entry(unsigned i)
{
	static const char *const services[] = { "planner", "coder", "reviewer" };

	return (struct audit_entry){
		.time = STAMP_TS,
		.service = services[i % 3],
		.session = "1a2b3c4d",
		.kind = AUDIT_KIND_REVERSE,
		.method = "POST",
		.host = "api.openai.com",
		.path = "/openai/v1/chat/completions",
		.status = 200,
		.bytes_in = 100 + i,
		.bytes_out = 4000 + i,
		.duration_ms = i,
		.decision = AUDIT_ALLOW,
		.reason = "",
	};
}

static char *slurp(const char *p, size_t *lenp)
{
	struct stat st;
	char *data;
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	data = calloc(1, (size_t)st.st_size + 1);
	cr_assert_not_null(data);
	cr_assert_eq(read(fd, data, (size_t)st.st_size), st.st_size);
	close(fd);
	if (lenp)
		*lenp = (size_t)st.st_size;
	return data;
}

static void spit(const char *p, const char *data, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* The file's lines (without newlines); *n set. Free each and the array. */
static char **lines_of(const char *p, size_t *n)
{
	char *data = slurp(p, NULL), *s = data, **v = NULL;

	*n = 0;
	while (*s) {
		char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		v = realloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = strndup(s, len);
		s += len + (nl ? 1 : 0);
	}
	free(data);
	return v;
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void write_log(unsigned n)
{
	struct audit a;
	char err[256];

	cr_assert_eq(audit_open(&a, path, err, sizeof(err)), 0, "%s", err);
	for (unsigned i = 0; i < n; i++) {
		struct audit_entry e = entry(i);

		cr_assert_eq(audit_record(&a, &e), 0);
	}
	cr_assert_eq(audit_flush(&a), 0);
	audit_close(&a);
}

static const char *field(cJSON *o, const char *name)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsString(v), "field %s", name);
	return v->valuestring;
}

Test(audit, exact_line_format)
{
	struct audit_entry e = entry(0);
	struct buf out = { 0 };

	e.kind = AUDIT_KIND_CONNECT;
	e.method = "CONNECT";
	e.host = "github.com";
	e.path = "";
	e.bytes_in = 5000000000ull;
	e.decision = AUDIT_DENY;
	e.status = 403;
	e.reason = "host \"github.com\" not in the allowlist";
	cr_assert_eq(audit_format(&e, ZERO_HASH, &out), 0);
	buf_append(&out, "", 1);
	cr_assert_str_eq(out.data,
			 "{\"time\":\"" STAMP "\",\"service\":\"planner\",\"session\":\"1a2b3c4d\","
			 "\"kind\":\"connect\",\"method\":\"CONNECT\",\"host\":\"github.com\","
			 "\"path\":\"\",\"status\":403,\"bytes_in\":5000000000,\"bytes_out\":4000,"
			 "\"duration_ms\":0,\"decision\":\"deny\","
			 "\"reason\":\"host \\\"github.com\\\" not in the allowlist\","
			 "\"prev\":\"" ZERO_HASH "\"}\n");
	buf_free(&out);
}

Test(audit, null_strings_and_clock)
{
	struct audit_entry e = { .kind = AUDIT_KIND_ABSOLUTE, .decision = AUDIT_ERROR };
	struct buf out = { 0 };
	cJSON *o;

	cr_assert_eq(audit_format(&e, ZERO_HASH, &out), 0);
	cr_assert_eq(out.data[out.len - 1], '\n');
	o = cJSON_ParseWithLength(out.data, out.len - 1);
	cr_assert_not_null(o);
	cr_expect_str_eq(field(o, "service"), "");
	cr_expect_str_eq(field(o, "kind"), "absolute");
	cr_expect_str_eq(field(o, "decision"), "error");
	cr_expect_neq(strncmp(field(o, "time"), "1970", 4), 0, "a zero time means now");
	cJSON_Delete(o);
	buf_free(&out);
}

Test(audit, hash_is_sha256_hex)
{
	char hex[AUDIT_HASH_HEX_LEN + 1];

	audit_hash("abc", 3, hex);
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(audit, chain_links_lines)
{
	char hex[AUDIT_HASH_HEX_LEN + 1];
	size_t n;
	char **v;

	write_log(3);
	v = lines_of(path, &n);
	cr_assert_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_Parse(v[i]);

		cr_assert_not_null(o);
		if (i == 0) {
			cr_expect_str_eq(field(o, "prev"), ZERO_HASH);
		} else {
			audit_hash(v[i - 1], strlen(v[i - 1]), hex);
			cr_expect_str_eq(field(o, "prev"), hex, "line %zu", i + 1);
		}
		cJSON_Delete(o);
	}
	free_lines(v, n);
}

Test(audit, chain_across_reopen)
{
	struct audit_verify_result r;
	char hex[AUDIT_HASH_HEX_LEN + 1], err[256];
	size_t n;
	char **v;
	cJSON *o;

	write_log(2);
	write_log(2);
	write_log(1);
	v = lines_of(path, &n);
	cr_assert_eq(n, 5);
	audit_hash(v[1], strlen(v[1]), hex);
	o = cJSON_Parse(v[2]);
	cr_expect_str_eq(field(o, "prev"), hex);
	cr_expect_str_eq(field(o, "decision"), "allow", "no reset on a clean reopen");
	cJSON_Delete(o);
	free_lines(v, n);
	cr_assert_eq(audit_verify(path, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(r.records, 5);
	cr_expect_eq(r.resets, 0);
}

Test(audit, verify_long_chain)
{
	struct audit_verify_result r;
	struct audit a;
	char err[256];

	cr_assert_eq(audit_open(&a, path, err, sizeof(err)), 0, "%s", err);
	for (unsigned i = 0; i < 5000; i++) {
		struct audit_entry e = entry(i);

		cr_assert_eq(audit_record(&a, &e), 0);
		if (i % 97 == 0)
			cr_assert_eq(audit_flush(&a), 0);
	}
	cr_expect_eq(a.records, 5000);
	audit_close(&a);
	cr_assert_eq(audit_verify(path, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(r.lines, 5000);
	cr_expect_eq(r.records, 5000);
	cr_expect_eq(r.problems, 0);
	cr_expect_eq(r.first_bad, 0);
}

Test(audit, verify_empty_and_missing)
{
	struct audit_verify_result r;
	char err[256], missing[160];

	spit(path, "", 0);
	cr_expect_eq(audit_verify(path, &r, err, sizeof(err)), 0);
	cr_expect_eq(r.records, 0);
	snprintf(missing, sizeof(missing), "%s/none.ndjson", dir);
	cr_expect_eq(audit_verify(missing, &r, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "none.ndjson") != NULL, "%s", err);
}

/* Tampering: each row edits a clean 10-line log and names the first problem verify must report. */
enum edit { MODIFY_BYTE, DELETE_LINE, SWAP_PAIR, TRUNCATE_LAST, TORN_LAST, INSERT_TEXT,
	    REPLACE_LINE, MODIFY_FIRST_PREV };

Test(audit, verify_detects_tampering)
{
	static const struct {
		enum edit edit;
		unsigned line;		/* 1-based */
		const char *text;
		const char *want;
		uint64_t first_bad;
	} rows[] = {
		{ MODIFY_BYTE, 5, NULL, "line 6: prev does not match the hash of line 5", 6 },
		{ DELETE_LINE, 5, NULL, "line 5: prev does not match the hash of line 4", 5 },
		{ SWAP_PAIR, 4, NULL, "line 4: prev does not match the hash of line 3", 4 },
		{ TRUNCATE_LAST, 10, NULL, "line 10: truncated (no newline at the end of the file)",
		  10 },
		{ TORN_LAST, 10, NULL, "line 10: not valid JSON", 10 },
		{ INSERT_TEXT, 4, "hello, world", "line 4: not a JSON object", 4 },
		{ INSERT_TEXT, 4, "[1,2]", "line 4: not a JSON object", 4 },
		{ INSERT_TEXT, 4, "", "line 4: empty line", 4 },
		{ REPLACE_LINE, 3, "{\"time\":1}",
		  "line 3: field 'time' is not an ISO-8601 UTC time with milliseconds", 3 },
		{ MODIFY_FIRST_PREV, 1, NULL,
		  "line 1: prev is not 64 zeros (the start of the chain)", 1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct audit_verify_result r;
		struct buf out = { 0 };
		char err[256] = "";
		size_t n;
		char **v;

		unlink(path);
		write_log(10);
		v = lines_of(path, &n);
		cr_assert_eq(n, 10);
		for (size_t j = 0; j < n; j++) {
			unsigned no = (unsigned)j + 1;

			if (rows[i].edit == DELETE_LINE && no == rows[i].line)
				continue;
			if (rows[i].edit == INSERT_TEXT && no == rows[i].line) {
				buf_append(&out, rows[i].text, strlen(rows[i].text));
				buf_append(&out, "\n", 1);
			}
			if (rows[i].edit == REPLACE_LINE && no == rows[i].line) {
				buf_append(&out, rows[i].text, strlen(rows[i].text));
				buf_append(&out, "\n", 1);
				continue;
			}
			if (rows[i].edit == SWAP_PAIR && no == rows[i].line) {
				buf_append(&out, v[j + 1], strlen(v[j + 1]));
				buf_append(&out, "\n", 1);
				buf_append(&out, v[j], strlen(v[j]));
				buf_append(&out, "\n", 1);
				j++;
				continue;
			}
			if (rows[i].edit == MODIFY_BYTE && no == rows[i].line) {
				char *p = strstr(v[j], "completions");

				*p = 'C';	/* still a valid record: only the chain tells */
			}
			if (rows[i].edit == MODIFY_FIRST_PREV && no == 1)
				memset(strstr(v[j], ZERO_HASH), 'f', 64);
			if ((rows[i].edit == TRUNCATE_LAST || rows[i].edit == TORN_LAST) &&
			    no == rows[i].line) {
				buf_append(&out, v[j], strlen(v[j]) - 20);
				if (rows[i].edit == TORN_LAST)
					buf_append(&out, "\n", 1);
				continue;
			}
			buf_append(&out, v[j], strlen(v[j]));
			buf_append(&out, "\n", 1);
		}
		spit(path, out.data, out.len);
		cr_expect_eq(audit_verify(path, &r, err, sizeof(err)), -EBADMSG, "row %zu", i);
		cr_expect_str_eq(err, rows[i].want, "row %zu", i);
		cr_expect_eq(r.first_bad, rows[i].first_bad, "row %zu", i);
		cr_expect_geq(r.problems, 1, "row %zu", i);
		buf_free(&out);
		free_lines(v, n);
	}
}

Test(audit, verify_rejects_extra_and_missing_fields)
{
	static const struct {
		const char *from, *to, *want;
	} rows[] = {
		{ "\"reason\":\"\"", "\"reason\":\"\",\"token\":\"x\"",
		  "line 1: unknown field 'token'" },
		{ "\"reason\":\"\",", "", "line 1: field 'reason' is missing" },
		{ "\"status\":200", "\"status\":\"200\"",
		  "line 1: field 'status' is not a non-negative integer" },
		{ "\"status\":200", "\"status\":-1",
		  "line 1: field 'status' is not a non-negative integer" },
		{ "\"status\":200", "\"status\":2.5",
		  "line 1: field 'status' is not a non-negative integer" },
		{ "\"kind\":\"reverse\"", "\"kind\":\"tunnel\"",
		  "line 1: field 'kind' is not one of reverse, connect, absolute, none" },
		{ "\"decision\":\"allow\"", "\"decision\":\"maybe\"",
		  "line 1: field 'decision' is not one of allow, deny, error, chain-reset" },
		{ "\"host\":\"api.openai.com\"", "\"host\":\"a\",\"host\":\"b\"",
		  "line 1: field 'host' appears twice" },
		{ "\"prev\":\"0", "\"prev\":\"X",
		  "line 1: field 'prev' is not 64 lowercase hex digits" },
		{ "\"}", "\"} ", "line 1: not valid JSON" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct audit_verify_result r;
		struct buf out = { 0 };
		char err[256] = "";
		char *data, *at;

		unlink(path);
		write_log(1);
		data = slurp(path, NULL);
		at = strstr(data, rows[i].from);
		cr_assert_not_null(at, "row %zu", i);
		buf_append(&out, data, (size_t)(at - data));
		buf_append(&out, rows[i].to, strlen(rows[i].to));
		at += strlen(rows[i].from);
		buf_append(&out, at, strlen(at));
		spit(path, out.data, out.len);
		cr_expect_eq(audit_verify(path, &r, err, sizeof(err)), -EBADMSG, "row %zu", i);
		cr_expect_str_eq(err, rows[i].want, "row %zu", i);
		buf_free(&out);
		free(data);
	}
}

Test(audit, torn_last_line_starts_new_segment)
{
	static const char *const tails[] = { NULL, "{\"time\":", "not json at all\n", "\n" };

	for (size_t t = 0; t < ARRAY_SIZE(tails); t++) {
		struct audit_verify_result r;
		char hex[AUDIT_HASH_HEX_LEN + 1], err[256];
		size_t len, n, torn;
		char *data, **v;
		cJSON *o;

		unlink(path);
		write_log(3);
		data = slurp(path, &len);
		if (tails[t]) {
			char *all = NULL;

			cr_assert_geq(asprintf(&all, "%s%s", data, tails[t]), 0);
			spit(path, all, strlen(all));
			free(all);
		} else {
			spit(path, data, len - 30);	/* a crash mid-write */
		}
		free(data);
		write_log(2);

		/* Three records, or two and the torn third; the tail; the reset; two more. */
		torn = tails[t] ? 3 : 2;
		v = lines_of(path, &n);
		cr_assert_eq(n, torn + 4, "tail %zu", t);
		o = cJSON_Parse(v[torn + 1]);
		cr_assert_not_null(o, "tail %zu", t);
		cr_expect_str_eq(field(o, "decision"), "chain-reset");
		cr_expect_str_eq(field(o, "kind"), "none");
		cr_expect(strstr(field(o, "reason"), "new chain segment") != NULL);
		audit_hash(v[torn], strlen(v[torn]), hex);
		cr_expect_str_eq(field(o, "prev"), hex, "tail %zu: prev = the torn bytes' hash", t);
		cJSON_Delete(o);
		free_lines(v, n);

		cr_assert_eq(audit_verify(path, &r, err, sizeof(err)), 0, "tail %zu: %s", t, err);
		cr_expect_eq(r.lines, torn + 4);
		cr_expect_eq(r.records, torn + 3, "tail %zu", t);
		cr_expect_eq(r.resets, 1);
	}
}

Test(audit, torn_line_without_reset_is_reported)
{
	struct audit_verify_result r;
	char err[256];
	size_t len;
	char *data, *all = NULL;

	write_log(2);
	data = slurp(path, &len);
	cr_assert_geq(asprintf(&all, "%s{\"torn\n%s", data, data), 0);
	spit(path, all, strlen(all));
	cr_expect_eq(audit_verify(path, &r, err, sizeof(err)), -EBADMSG);
	cr_expect_str_eq(err, "line 3: not valid JSON");
	cr_expect_geq(r.problems, 2);
	free(all);
	free(data);
}

Test(audit, sanitises_hostile_strings)
{
	static char long_host[400], long_path[3000], long_reason[300], edge[300];
	static const char token[] = "0123456789abcdef0123456789abcdef"
				    "0123456789abcdef0123456789abcdef";
	static const struct {
		const char *name;
		struct audit_entry e;
		const char *want;
	} rows[] = {
		{ "path", { .path = "/v1/models?token=secret" }, "/v1/models" },
		{ "path", { .path = "/v1/a#frag?x=secret" }, "/v1/a" },
		{ "path", { .path = "/x\ny\r\n{\"forged\":1}" }, "/x?y??{\"forged\":1}" },
		{ "path", { .path = "/caf\xc3\xa9/\xff\xfe/\xe2\x82" }, "/caf\xc3\xa9/??" "/??" },
		{ "host", { .host = "evil\xc0\xafhost" }, "evil??host" },
		{ "host", { .host = "a\tb\x1b[31m\x7f" }, "a?b?[31m?" },
		{ "reason", { .reason = "upstream said:\nHTTP/1.1 500\r\n" },
		  "upstream said:?HTTP/1.1 500??" },
		{ "session", { .session = token }, "?" },
		{ "session", { .session = "deadbeef" }, "deadbeef" },
		{ "method", { .method = "GETGETGETGETGETGETGET" }, "GETGETGETGETGETG" },
	};
	struct buf out = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		cJSON *o;

		buf_reset(&out);
		cr_assert_eq(audit_format(&rows[i].e, ZERO_HASH, &out), 0);
		cr_assert_eq(memchr(out.data, '\n', out.len), out.data + out.len - 1, "row %zu", i);
		cr_expect_null(memmem(out.data, out.len, "secret", 6), "row %zu", i);
		cr_expect_null(memmem(out.data, out.len, token, 16), "row %zu", i);
		o = cJSON_ParseWithLength(out.data, out.len - 1);
		cr_assert_not_null(o, "row %zu", i);
		cr_expect_str_eq(field(o, rows[i].name), rows[i].want, "row %zu", i);
		cJSON_Delete(o);
	}

	/* Lengths are capped; a cut never splits a UTF-8 character. */
	memset(long_host, 'h', sizeof(long_host) - 1);
	memset(long_path, 'p', sizeof(long_path) - 1);
	long_path[0] = '/';
	memset(long_reason, 'r', sizeof(long_reason) - 1);
	memset(edge, 'e', AUDIT_REASON_MAX - 1);
	memcpy(edge + AUDIT_REASON_MAX - 1, "\xc3\xa9tail", 6);
	{
		const struct audit_entry e = { .host = long_host, .path = long_path,
					       .reason = long_reason };
		const struct audit_entry e2 = { .reason = edge };
		cJSON *o;

		buf_reset(&out);
		cr_assert_eq(audit_format(&e, ZERO_HASH, &out), 0);
		o = cJSON_ParseWithLength(out.data, out.len - 1);
		cr_expect_eq(strlen(field(o, "host")), AUDIT_HOST_MAX);
		cr_expect_eq(strlen(field(o, "path")), AUDIT_PATH_MAX);
		cr_expect_eq(strlen(field(o, "reason")), AUDIT_REASON_MAX);
		cJSON_Delete(o);

		buf_reset(&out);
		cr_assert_eq(audit_format(&e2, ZERO_HASH, &out), 0);
		o = cJSON_ParseWithLength(out.data, out.len - 1);
		cr_expect_eq(strlen(field(o, "reason")), AUDIT_REASON_MAX - 1);
		cr_expect_eq(strchr(field(o, "reason"), '?'), NULL);
		cJSON_Delete(o);
	}
	buf_free(&out);
}

Test(audit, hostile_records_still_verify)
{
	struct audit_verify_result r;
	struct audit a;
	char err[256];
	struct audit_entry e = entry(0);

	e.path = "/v1/x\n{\"time\":\"x\"}\n?token=abc";
	e.host = "\xff\xff";
	e.reason = "\"\\\x01";
	cr_assert_eq(audit_open(&a, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(audit_append_line(&a, &e), 0);
	cr_assert_eq(audit_append_line(&a, &e), 0);
	audit_close(&a);
	cr_assert_eq(audit_verify(path, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(r.lines, 2);
	cr_expect_eq(r.records, 2);
}

Test(audit, no_secret_like_field_names)
{
	static const char *const allowed[] = { "time",	 "service",   "session",     "kind",
					       "method", "host",      "path",	     "status",
					       "bytes_in", "bytes_out", "duration_ms", "decision",
					       "reason", "prev" };
	static const char *const banned[] = { "token", "key", "secret", "auth", "query", "body",
					      "password", "cookie" };
	struct audit_entry e = entry(1);
	struct buf out = { 0 };
	size_t count = 0;
	cJSON *o, *v;

	cr_assert_eq(audit_format(&e, ZERO_HASH, &out), 0);
	o = cJSON_ParseWithLength(out.data, out.len - 1);
	cr_assert_not_null(o);
	cJSON_ArrayForEach(v, o)
	{
		cr_expect_str_eq(v->string, allowed[count], "field %zu", count);
		for (size_t i = 0; i < ARRAY_SIZE(banned); i++)
			cr_expect_null(strstr(v->string, banned[i]), "field '%s'", v->string);
		count++;
	}
	cr_expect_eq(count, ARRAY_SIZE(allowed));
	cJSON_Delete(o);
	buf_free(&out);
}

struct flusher {
	struct audit *a;
	atomic_bool stop;
	unsigned runs;
	int error;
};

/* A uv_queue_work job stand-in: flush again and again while the "loop" records. */
static void *flusher(void *arg)
{
	struct flusher *f = arg;

	while (!atomic_load(&f->stop) && f->error == 0) {
		f->error = audit_flush(f->a);
		f->runs++;
	}
	return NULL;
}

Test(audit, flush_from_worker_while_loop_records)
{
	struct audit_verify_result r;
	struct audit a;
	struct flusher f = { .a = &a };
	pthread_t t;
	char err[256];

	cr_assert_eq(audit_open(&a, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pthread_create(&t, NULL, flusher, &f), 0);
	/* ~3.4 MB in all: under AUDIT_PENDING_MAX however the threads are scheduled. */
	for (unsigned i = 0; i < 10000; i++) {
		struct audit_entry e = entry(i);

		cr_assert_eq(audit_record(&a, &e), 0);
	}
	atomic_store(&f.stop, true);
	pthread_join(t, NULL);
	cr_expect_eq(f.error, 0);
	cr_expect_gt(f.runs, 1);
	cr_assert_eq(audit_flush(&a), 0);
	cr_expect_eq(audit_pending(&a), false);
	audit_close(&a);
	cr_assert_eq(audit_verify(path, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(r.records, 10000);
}

Test(audit, failed_write_is_retried)
{
	struct audit_verify_result r;
	struct audit a;
	char err[256];
	int real_fd, full_fd;

	full_fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (full_fd < 0)
		cr_skip_test("no /dev/full");
	cr_assert_eq(audit_open(&a, path, err, sizeof(err)), 0, "%s", err);
	for (unsigned i = 0; i < 3; i++) {
		struct audit_entry e = entry(i);

		cr_assert_eq(audit_record(&a, &e), 0);
	}
	real_fd = a.fd;
	a.fd = full_fd;		/* the disk is full */
	cr_expect_eq(audit_flush(&a), -ENOSPC);
	cr_expect_eq(a.last_error, -ENOSPC);
	cr_expect(audit_pending(&a));
	{
		struct audit_entry e = entry(3);

		cr_assert_eq(audit_record(&a, &e), 0);
	}
	a.fd = real_fd;		/* space again */
	close(full_fd);
	cr_expect_eq(audit_flush(&a), 0);
	cr_expect_eq(a.last_error, 0);
	audit_close(&a);
	cr_assert_eq(audit_verify(path, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(r.records, 4);
}

Test(audit, too_much_pending_drops_without_breaking_chain)
{
	static char long_path[AUDIT_PATH_MAX + 1];
	struct audit_verify_result r;
	struct audit a;
	char err[256];
	unsigned ok = 0;
	int rc = 0;

	memset(long_path, 'p', AUDIT_PATH_MAX);
	long_path[0] = '/';
	cr_assert_eq(audit_open(&a, path, err, sizeof(err)), 0, "%s", err);
	for (unsigned i = 0; i < 100000 && rc == 0; i++) {
		struct audit_entry e = entry(i);

		e.path = long_path;
		rc = audit_record(&a, &e);
		ok += rc == 0;
	}
	cr_expect_eq(rc, -ENOBUFS);
	cr_expect_eq(a.dropped, 1);
	cr_expect_leq(a.queued, AUDIT_PENDING_MAX);
	cr_assert_eq(audit_flush(&a), 0);
	{
		struct audit_entry e = entry(0);

		cr_assert_eq(audit_record(&a, &e), 0);
		ok++;
	}
	audit_close(&a);
	cr_assert_eq(audit_verify(path, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(r.records, ok);
}

Test(audit, open_errors_name_the_file)
{
	struct audit a;
	char err[256], p[200];

	snprintf(p, sizeof(p), "%s/no/such/dir/" AUDIT_FILE, dir);
	cr_expect_eq(audit_open(&a, p, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "audit log '") == err, "%s", err);
	cr_expect_eq(audit_record(&a, &(struct audit_entry){ 0 }), -EBADF);
	audit_close(&a);
	audit_close(NULL);
}

Test(audit, filter_by_service)
{
	char out_path[160];
	FILE *out;
	size_t n;
	char **v;

	write_log(10);	/* planner, coder, reviewer, planner, ... */
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	out = fopen(out_path, "we");
	cr_assert_not_null(out);
	cr_expect_eq(audit_filter_service(path, "planner", out), 4);
	cr_expect_eq(audit_filter_service(path, "nobody", out), 0);
	fclose(out);
	v = lines_of(out_path, &n);
	cr_assert_eq(n, 4);
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_Parse(v[i]);

		cr_expect_str_eq(field(o, "service"), "planner");
		cJSON_Delete(o);
	}
	free_lines(v, n);
	cr_expect_eq(audit_filter_service("/nonexistent/audit.ndjson", "planner", stdout), -ENOENT);
}
