/*
 * bench log writer: waits for SIGUSR1, then writes LINES lines of LEN bytes (newline included)
 * to stdout, CHUNK bytes per write() (rounded down to whole lines; 1 = one write per line),
 * then one marker line "END-<TOKEN>-<ROUND>" (ROUND = 1, 2, ...), then waits for the next SIGUSR1.
 * It never exits by itself, so no supervisor restarts it.
 *
 *   writer LINES LEN CHUNK TOKEN
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			_exit(3);
		}
		p += w;
		n -= (size_t)w;
	}
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: writer LINES LEN CHUNK TOKEN\n");
		return 2;
	}
	long lines = atol(argv[1]);
	long len = atol(argv[2]);
	long chunk = atol(argv[3]);
	if (lines < 0 || len < 2 || len > 4096 || chunk < 1)
		return 2;
	long per = chunk / len;		/* lines per write */
	if (per < 1)
		per = 1;

	char *buf = malloc((size_t)(per * len));
	if (!buf)
		return 1;
	for (long i = 0; i < per; i++) {
		char *l = buf + i * len;
		for (long j = 0; j < len - 1; j++)
			l[j] = (char)('a' + (j % 26));
		l[len - 1] = '\n';
	}

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (long round = 1;; round++) {
		int sig;
		sigwait(&set, &sig);

		long left = lines;
		while (left > 0) {
			long n = left < per ? left : per;
			write_all(buf, (size_t)(n * len));
			left -= n;
		}
		char end[256];
		int m = snprintf(end, sizeof end, "END-%s-%ld\n", argv[4], round);
		write_all(end, (size_t)m);
	}
}
