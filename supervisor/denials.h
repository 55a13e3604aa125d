/*
 * denials: what Landlock refused a sandbox, as the kernel reports it. Landlock names each
 * refusal (the path, the right, the domain) only through the kernel audit subsystem; this
 * reads its multicast group, parses the two Landlock record types and says, for a person,
 * which flag or profile key would allow it.
 */
#ifndef NONO_DENIALS_H
#define NONO_DENIALS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Landlock's record types (linux/audit.h since 6.15; Debian 12's header predates them). */
#define DENIALS_ACCESS 1423 /* AUDIT_LANDLOCK_ACCESS: one refusal */
#define DENIALS_DOMAIN 1424 /* AUDIT_LANDLOCK_DOMAIN: a domain's creator, then its end */

struct denial {
	int type;	 /* DENIALS_ACCESS or DENIALS_DOMAIN */
	uint64_t domain; /* Landlock's domain id */
	/* DENIALS_ACCESS */
	char blockers[320];    /* the rights refused: "fs.read_file", "fs.make_reg,fs.refer" */
	char object[PATH_MAX]; /* the path (decoded), "ADDR:PORT" for TCP, else "" */
	/* DENIALS_DOMAIN */
	bool allocated;	       /* status=allocated (first refusal) or deallocated (its end) */
	pid_t pid;	       /* who made the domain: the exec helper, so the service's pid */
	unsigned long denials; /* at its end: how many refusals in all */
};

/*
 * A non-blocking socket on the audit multicast group, or a negative errno; why says, for a
 * person, why refusals cannot be named here ("needs root"). *enabled: kernel audit is on, so
 * records will come; when off (why says so) the socket still gets them once it is turned on.
 */
int denials_open(bool *enabled, char *why, size_t whylen);

/* What denials_read() found. */
enum denials_msg {
	DENIALS_OTHER,		/* not ours, or not a Landlock record: skip it */
	DENIALS_RECORD,		/* a Landlock record, in *d */
	DENIALS_MARK,		/* our own mark came back (see denials_mark) */
	DENIALS_MARK_REFUSED,	/* the kernel refused a mark: it will not come */
	DENIALS_AUDIT_OFF,	/* the answer to denials_mark's status query: audit is off, the
				   mark will not come */
};

/*
 * One message from fd: an enum denials_msg, -EAGAIN when nothing waits, -ENOBUFS when the
 * kernel dropped records (the socket's buffer was full; reading can go on).
 */
int denials_read(int fd, struct denial *d);

/*
 * Put a mark in the audit stream. Records queue in order, so once denials_read() returns
 * DENIALS_MARK, every refusal that happened before this call has been read. The audit status
 * is asked first: DENIALS_AUDIT_OFF comes instead when audit was turned off. 0 or -errno.
 */
int denials_mark(int fd);

/* Parse one record's text ("audit(T:N): domain=... blockers=... path=..."). 0 or -EINVAL. */
int denials_parse(int type, const char *text, size_t len, struct denial *d);

struct policy;

/* How to name what would allow a refusal: run's flags, or a profile's keys. */
enum denials_style { DENIALS_FLAGS, DENIALS_KEYS };

/*
 * One line for a person: what was refused and what would allow it, or why nothing will
 * ("protected by group deny_credentials"). The object is escaped: it is the sandbox's to
 * choose, and goes to a terminal or a log. p may be NULL.
 */
void denials_describe(const struct denial *d, const struct policy *p, enum denials_style style,
		      char *out, size_t outlen);

/* A refusal's kind (its rights and object) as a number: what tells repeats apart. */
uint32_t denials_hash(const struct denial *d);

/* What a command was refused, for its last lines: the first kinds described, each counted. */
#define DENIALS_TALLY_KINDS 16

struct denials_kind {
	uint32_t hash;
	unsigned count;
	char line[512];
};

struct denials_tally {
	struct denials_kind kinds[DENIALS_TALLY_KINDS];
	unsigned n;
	unsigned long total;	/* every refusal, of the kinds kept or not */
};

/* Count d; a kind not seen yet is described (denials_describe) while there is room. */
void denials_tally_add(struct denials_tally *t, const struct denial *d, const struct policy *p,
		       enum denials_style style);

#endif
