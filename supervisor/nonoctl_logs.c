/* nonoctl_logs: reading a service's log file (the last lines, then following it across
 * rotation) and its records in the audit log, for `nonoctl logs`. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "nonoctl.h"

#define FOLLOW_POLL_MS 100

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Offset where the last N lines start (a final newline ends a line, it does not start one). */
static off_t tail_start(int fd, off_t size, long n)
{
	char buf[8192];
	off_t pos = size;
	long seen = 0;

	while (n > 0 && pos > 0) {
		size_t len = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;

		pos -= (off_t)len;
		if (pread(fd, buf, len, pos) != (ssize_t)len)
			return -EIO;
		for (size_t i = len; i-- > 0;)
			if (buf[i] == '\n' && pos + (off_t)i != size - 1 && ++seen == n)
				return pos + (off_t)i + 1;
	}
	return n > 0 ? 0 : size;
}

/* Copy FD from its offset to EOF onto stdout; -EPIPE when stdout is gone. */
static int drain(int fd, off_t *pos)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		*pos += n;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout) == EOF)
			return -errno;
	}
}

/*
 * Follow PATH from POS in FD (-1: the file does not exist yet); takes over FD. The daemon
 * rotates by renaming the file and creating a new one, so a new inode means: finish the
 * old file, then read the new one from its start. A file shorter than POS was truncated.
 */
static int follow(const char *path, int fd, off_t pos)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };	/* no SA_RESTART: wake poll */
	struct stat st, cur;
	int r = 0;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop_requested) {
		struct pollfd out = { .fd = STDOUT_FILENO, .events = 0 };

		r = fd >= 0 ? drain(fd, &pos) : 0;
		if (r < 0)
			break;
		/* With no events asked, only POLLERR/POLLHUP end the wait early: stdout's reader left. */
		if (poll(&out, 1, FOLLOW_POLL_MS) > 0)
			break;
		if (stat(path, &st) < 0) {
			if (errno == ENOENT)
				continue;	/* renamed away, the new one is not there yet */
			r = -errno;
			break;
		}
		if (fd >= 0 && fstat(fd, &cur) == 0 && cur.st_ino == st.st_ino && cur.st_dev == st.st_dev) {
			if (st.st_size < pos)
				pos = lseek(fd, 0, SEEK_SET);
			continue;
		}
		if (fd >= 0) {
			r = drain(fd, &pos);
			close(fd);
			fd = -1;
			if (r < 0)
				break;
		}
		pos = 0;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT) {
			r = -errno;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	return r;
}

int nonoctl_print_audit(const char *path, const char *service)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		cJSON *rec = cJSON_ParseWithLength(line, (size_t)n);
		const char *svc = json_str(rec, "service");

		if (svc && strcmp(svc, service) == 0)
			fwrite(line, 1, (size_t)n, stdout);
		cJSON_Delete(rec);
	}
	free(line);
	fclose(f);
	return 0;
}

int nonoctl_tail(const char *path, long lines, bool follow_on)
{
	struct stat st;
	off_t pos = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		r = -errno;
	if (fd >= 0) {
		pos = fstat(fd, &st) < 0 ? -errno : tail_start(fd, st.st_size, lines);
		if (pos >= 0 && lseek(fd, pos, SEEK_SET) < 0)
			pos = -errno;
		r = pos < 0 ? (int)pos : drain(fd, &pos);
	}
	if (r == 0 && follow_on) {
		r = follow(path, fd, pos);
		fd = -1;
	}
	if (fd >= 0)
		close(fd);
	if (r == 0 || r == -EPIPE || stop_requested)
		return 0;
	fprintf(stderr, "nonoctl: reading %s: %s\n", path, strerror(-r));
	return 1;
}
