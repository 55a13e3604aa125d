/* Log capture: the line splitter (partial, overlong, binary) and size rotation. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logbuf.h"
#include "logfile.h"

#define STAMP "2026-12-04T19:39:26.123Z"

static char *feed_all(const char *const *chunks, size_t n, bool flush)
{
	struct logbuf lb = { .tag = "out" };
	struct buf out = { 0 };

	for (size_t i = 0; i < n; i++)
		cr_assert_eq(logbuf_feed(&lb, STAMP, chunks[i], strlen(chunks[i]), &out), 0);
	if (flush)
		cr_assert_eq(logbuf_flush(&lb, STAMP, &out), 0);
	buf_append(&out, "", 1);
	logbuf_free(&lb);
	return out.data;
}

Test(logbuf, splitting_table)
{
	static const struct {
		const char *chunks[4];
		size_t n;
		bool flush;
		const char *want;
	} rows[] = {
		{ { "hello\n" }, 1, false, STAMP " out hello\n" },
		{ { "a\nb\n" }, 1, false, STAMP " out a\n" STAMP " out b\n" },
		{ { "par", "tial\n" }, 2, false, STAMP " out partial\n" },
		{ { "no newline" }, 1, false, "" },
		{ { "no newline" }, 1, true, STAMP " out no newline\n" },
		{ { "\n" }, 1, false, STAMP " out \n" },
		{ { "x\r\n" }, 1, false, STAMP " out x\r\n" },
		{ { "a", "", "b\nc" }, 3, true, STAMP " out ab\n" STAMP " out c\n" },
		{ { "" }, 1, true, "" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = feed_all(rows[i].chunks, rows[i].n, rows[i].flush);

		cr_expect_str_eq(got, rows[i].want, "row %zu", i);
		free(got);
	}
}

Test(logbuf, bytes_pass_unchanged)
{
	struct logbuf lb = { .tag = "err" };
	struct buf out = { 0 };
	char data[256];

	for (int i = 0; i < 255; i++)
		data[i] = (char)(i == '\n' - 1 ? 0xff : i + 1);	/* every byte but '\n' */
	data[255] = '\n';
	cr_assert_eq(logbuf_feed(&lb, STAMP, data, sizeof(data), &out), 0);
	cr_assert_eq(out.len, strlen(STAMP " err ") + sizeof(data));
	cr_expect_eq(memcmp(out.data, STAMP " err ", strlen(STAMP " err ")), 0);
	cr_expect_eq(memcmp(out.data + strlen(STAMP " err "), data, sizeof(data)), 0);
	buf_free(&out);
	logbuf_free(&lb);
}

Test(logbuf, overlong_lines_are_split_not_lost)
{
	size_t total = 3 * LOG_LINE_MAX + 123;
	char *line = malloc(total + 1);
	struct logbuf lb = { .tag = "out" };
	struct buf out = { 0 };
	size_t lines = 0, text = 0;
	const size_t prefix = strlen(STAMP " out ");

	memset(line, 'x', total);
	line[total] = '\n';
	/* in uneven chunks, as a pipe delivers them */
	for (size_t off = 0; off <= total; off += 5000) {
		size_t n = off + 5000 > total + 1 ? total + 1 - off : 5000;

		cr_assert_eq(logbuf_feed(&lb, STAMP, line + off, n, &out), 0);
	}
	for (char *p = out.data; p < out.data + out.len;) {
		char *nl = memchr(p, '\n', (size_t)(out.data + out.len - p));

		cr_assert_not_null(nl);
		cr_assert_leq((size_t)(nl - p) - prefix, LOG_LINE_MAX);
		text += (size_t)(nl - p) - prefix;
		lines++;
		p = nl + 1;
	}
	cr_expect_eq(lines, 4);
	cr_expect_eq(text, total);
	cr_expect(!logbuf_pending(&lb));
	free(line);
	buf_free(&out);
	logbuf_free(&lb);
}

Test(logbuf, exactly_max_is_one_line)
{
	char *line = malloc(LOG_LINE_MAX + 1);
	struct logbuf lb = { .tag = "out" };
	struct buf out = { 0 };

	memset(line, 'y', LOG_LINE_MAX);
	line[LOG_LINE_MAX] = '\n';
	cr_assert_eq(logbuf_feed(&lb, STAMP, line, LOG_LINE_MAX + 1, &out), 0);
	cr_expect_eq(out.len, strlen(STAMP " out ") + LOG_LINE_MAX + 1);
	free(line);
	buf_free(&out);
	logbuf_free(&lb);
}

Test(logbuf, event_line)
{
	struct buf out = { 0 };

	cr_assert_eq(logbuf_event(&out, STAMP, "started pid 42"), 0);
	buf_append(&out, "", 1);
	cr_expect_str_eq(out.data, STAMP " nono started pid 42\n");
	buf_free(&out);
}

Test(logbuf, stamp_format)
{
	struct timespec ts = { .tv_sec = 1796412000, .tv_nsec = 7000000 };
	char s[STAMP_LEN + 1];

	stamp_format(s, &ts);
	cr_expect_str_eq(s, "2026-12-04T19:20:00.007Z");
	cr_expect_eq(strlen(stamp_now()), STAMP_LEN);
}

/* ---- rotation (the worker's step, run directly) ---- */

static off_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void rotate_case(unsigned backups, size_t lines, size_t len, uint64_t max)
{
	char dir[] = "/tmp/nono-rot-XXXXXX", path[256], file[300];
	struct logfile lf;
	struct buf data = { 0 };
	size_t kept = 0;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/svc.log", dir);
	cr_assert_eq(logfile_init(&lf, NULL, path, max, backups), 0);
	for (size_t i = 0; i < lines; i++) {
		char *p = buf_reserve(&data, len);

		memset(p, 'a' + (char)(i % 26), len - 1);
		p[len - 1] = '\n';
		data.len += len;
	}
	/* in several writes, as the loop hands them over */
	for (size_t off = 0; off < data.len; off += 7777) {
		size_t n = off + 7777 > data.len ? data.len - off : 7777;

		cr_assert_eq(logfile_write_rotating(&lf, data.data + off, n), 0);
	}
	for (unsigned i = 0; i <= backups + 1; i++) {
		off_t sz;

		if (i == 0)
			snprintf(file, sizeof(file), "%s", path);
		else
			snprintf(file, sizeof(file), "%s.%u", path, i);
		sz = size_of(file);
		if (i == backups + 1) {
			cr_expect_eq(sz, -1, "%s must not exist", file);
			break;
		}
		cr_expect_geq(sz, 0, "%s missing", file);
		cr_expect_leq((uint64_t)sz, max, "%s: %lld > %llu", file, (long long)sz,
			      (unsigned long long)max);
		cr_expect_eq(sz % (off_t)len, 0, "%s holds whole lines only", file);
		kept += (size_t)sz;
		unlink(file);
	}
	/* the newest bytes are all kept: the current file plus full backups */
	cr_expect_geq(kept, max * backups);
	close(lf.fd);
	free(lf.path);
	buf_free(&data);
	rmdir(dir);
}

Test(logfile, rotation_keeps_n_backups)
{
	rotate_case(2, 5000, 64, 64 * 1024);
	rotate_case(5, 20000, 100, 100 * 1000);
	rotate_case(1, 3000, 64, 4096);
}

Test(logfile, no_backups_truncates)
{
	char dir[] = "/tmp/nono-rot-XXXXXX", path[256];
	struct logfile lf;
	char line[64];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/svc.log", dir);
	cr_assert_eq(logfile_init(&lf, NULL, path, 1024, 0), 0);
	memset(line, 'z', sizeof(line) - 1);
	line[63] = '\n';
	for (int i = 0; i < 100; i++)
		cr_assert_eq(logfile_write_rotating(&lf, line, sizeof(line)), 0);
	cr_expect_leq(size_of(path), 1024);
	cr_expect_eq(size_of(path) % 64, 0);
	snprintf(line, sizeof(line), "%s.1", path);
	cr_expect_eq(size_of(line), -1);
	close(lf.fd);
	unlink(path);
	free(lf.path);
	rmdir(dir);
}

Test(logfile, write_error_is_reported)
{
	struct logfile lf;

	cr_assert_eq(logfile_init(&lf, NULL, "/nonexistent-dir/x.log", 0, 0), 0);
	cr_expect_eq(logfile_write_rotating(&lf, "a\n", 2), -ENOENT);
	free(lf.path);
}
