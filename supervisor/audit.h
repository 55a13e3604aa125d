/* audit: the proxy's hash-chained audit log (<log_dir>/audit.ndjson), its verifier and filter. */
#ifndef NONO_AUDIT_H
#define NONO_AUDIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "util.h"

#define AUDIT_FILE	   "audit.ndjson"
#define AUDIT_SERVICE_MAX  64		/* longer names are cut */
#define AUDIT_SESSION_MAX  16		/* longer ids are replaced by "?": never a token */
#define AUDIT_METHOD_MAX   16
#define AUDIT_HOST_MAX	   255
#define AUDIT_PATH_MAX	   2048
#define AUDIT_REASON_MAX   256
#define AUDIT_LINE_MAX	   16384	/* longer than any line audit_record writes */
#define AUDIT_PENDING_MAX  (4u << 20)	/* unwritten bytes held; past this, records are dropped */
#define AUDIT_HASH_HEX_LEN 64		/* lowercase hex SHA-256 */

enum audit_kind {
	AUDIT_KIND_NONE,	/* the log's own records (chain-reset) */
	AUDIT_KIND_REVERSE,
	AUDIT_KIND_CONNECT,
	AUDIT_KIND_ABSOLUTE,
};

enum audit_decision {
	AUDIT_ALLOW,
	AUDIT_DENY,
	AUDIT_ERROR,
	AUDIT_CHAIN_RESET,	/* written by audit_open after a torn last line */
};

/*
 * One completed request. There is deliberately no field for a token, key, query or body.
 * Strings may be NULL (written as ""); they are cut to their limits, cleaned of control
 * characters and invalid UTF-8, and path is cut at the first '?' or '#'.
 */
struct audit_entry {
	struct timespec time;	/* when it completed; {0, 0} = now */
	const char *service;
	const char *session;	/* the short session id (TOKEN_ID_LEN hex), never the token */
	enum audit_kind kind;
	const char *method;
	const char *host;
	unsigned port;		/* of host (not written: the record keeps host alone) */
	const char *path;
	int status;		/* HTTP status sent to the client, 0 if none */
	uint64_t bytes_in;	/* from the client */
	uint64_t bytes_out;	/* to the client */
	uint64_t duration_ms;
	enum audit_decision decision;
	const char *reason;
};

/*
 * The writer. The loop calls audit_record (format, hash, append to `pending`: no I/O);
 * a worker calls audit_flush (uv_queue_work), which swaps `pending` out under the lock and
 * writes it with O_APPEND while the loop keeps appending to the other buffer. Bytes a
 * write could not take stay queued and are retried by the next flush, so a full disk
 * delays records but never tears the chain; past AUDIT_PENDING_MAX, records are dropped
 * and counted. At most one flush runs at a time (flush_lock); the loop never waits on it.
 */
struct audit {
	int fd;
	char *path;
	char prev[AUDIT_HASH_HEX_LEN + 1];	/* hash of the last line queued (loop side) */
	pthread_mutex_t lock;			/* pending, queued, dropped, last_error */
	pthread_mutex_t flush_lock;		/* one flush at a time; inflight */
	struct buf pending;
	struct buf inflight;			/* being written; a failed write's rest stays */
	struct buf line;			/* audit_record's scratch (loop side) */
	size_t queued;				/* pending.len + inflight.len */
	uint64_t records;			/* records queued since open */
	uint64_t dropped;			/* records refused: AUDIT_PENDING_MAX reached */
	int last_error;				/* the last flush's error, 0 after a success */
	bool open;
};

/*
 * Open (or create, mode 0640) the log at path and continue its chain from the last line.
 * If that line is torn or not a valid record, a "chain-reset" record whose prev is the
 * hash of those bytes starts a new segment (written before returning). Blocks on file
 * I/O: call it at start-up or from a worker. 0 or a negative errno, with err set.
 */
int audit_open(struct audit *a, const char *path, char *err, size_t errlen);

/* Queue one record (no I/O; for the loop). 0, -ENOBUFS (dropped: too much unwritten) or -ENOMEM. */
int audit_record(struct audit *a, const struct audit_entry *e);

/* Whether records wait to be written (cheap; for deciding to queue a flush). */
bool audit_pending(struct audit *a);

/* Write what is queued (O_APPEND). For a worker thread, concurrent with audit_record. */
int audit_flush(struct audit *a);

/* Queue one record and write it at once: blocking, for tests and tools. */
int audit_append_line(struct audit *a, const struct audit_entry *e);

/* Write what is left (blocking) and release everything. No flush may be running. NULL ok. */
void audit_close(struct audit *a);

/*
 * Format e as one line (with its newline) carrying prev, appended to out. Pure; the
 * writer's formatter, exported for tests. 0 or -ENOMEM.
 */
int audit_format(const struct audit_entry *e, const char prev[AUDIT_HASH_HEX_LEN + 1],
		 struct buf *out);

/* Lowercase hex SHA-256 of data[0..len). */
void audit_hash(const void *data, size_t len, char out[AUDIT_HASH_HEX_LEN + 1]);

struct audit_verify_result {
	uint64_t lines;
	uint64_t records;	/* lines that are valid records */
	uint64_t resets;	/* chain-reset records (each after a torn line) */
	uint64_t problems;	/* bad lines and broken links, all of them */
	uint64_t first_bad;	/* line number of the first problem, 0 if none */
};

/*
 * Check every line of the log: a JSON object with exactly the record's fields and types,
 * and a prev equal to the hash of the line before (64 zeros for line 1). A torn line is
 * accepted only when a chain-reset record follows it and chains to its bytes.
 * 0 when the log is intact; -EBADMSG with err = the first problem ("line 17: prev does
 * not match the hash of line 16"); another negative errno when it cannot be read.
 */
int audit_verify(const char *path, struct audit_verify_result *r, char *err, size_t errlen);

/* Print the records (raw lines) of service to out. The number printed or a negative errno. */
int audit_filter_service(const char *path, const char *service, FILE *out);

#endif
