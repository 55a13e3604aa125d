/* audit: the proxy's hash-chained audit log (<log_dir>/audit.ndjson), its verifier and filter. */
#include "audit.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define JSON_MAX_INT 9007199254740991ull	/* 2^53 - 1: exact in a JSON number */

static const char *const kind_names[] = {
	[AUDIT_KIND_NONE] = "none",
	[AUDIT_KIND_REVERSE] = "reverse",
	[AUDIT_KIND_CONNECT] = "connect",
	[AUDIT_KIND_ABSOLUTE] = "absolute",
};

static const char *const decision_names[] = {
	[AUDIT_ALLOW] = "allow",
	[AUDIT_DENY] = "deny",
	[AUDIT_ERROR] = "error",
	[AUDIT_CHAIN_RESET] = "chain-reset",
};

static void hex_encode(const unsigned char *md, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 0xf];
	}
	out[2 * n] = '\0';
}

void audit_hash(const void *data, size_t len, char out[AUDIT_HASH_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, mdlen, out);
}

/*
 * Copy src into dst (cap + 1 bytes): a path stops at its query or fragment, anything
 * longer than cap is cut on a character boundary, and control characters (newlines too)
 * and invalid UTF-8 become '?', so a value can neither split a line nor smuggle bytes.
 */
static void clean(char *dst, size_t cap, const char *src, bool is_path)
{
	size_t n;

	if (!src) {
		dst[0] = '\0';
		return;
	}
	n = is_path ? strcspn(src, "?#") : strlen(src);
	if (n > cap) {
		n = cap;
		for (int i = 0; i < 3 && n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80; i++)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
	utf8_sanitize(dst, n);
	for (size_t i = 0; i < n; i++)
		if (dst[i] == '\n' || dst[i] == '\t')
			dst[i] = '?';
}

/* A count as JSON (and cJSON, which reads numbers as doubles) keeps it exactly. */
static unsigned long long json_uint(uint64_t v)
{
	return v > JSON_MAX_INT ? JSON_MAX_INT : v;
}

/*
 * ,"key":"value" with value escaped as cJSON prints strings (the reader is cJSON; the
 * records are written here, on every request, without building a tree).
 */
static int json_field(struct buf *out, const char *key, const char *v)
{
	static const char hex[] = "0123456789abcdef";
	int r = buf_printf(out, ",\"%s\":\"", key);

	for (; r == 0 && *v; v++) {
		unsigned char ch = (unsigned char)*v;
		char esc[7] = {'\\', 0};

		switch (ch) {
		case '"':
		case '\\':
			esc[1] = (char)ch;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			if (ch >= 0x20) {
				r = buf_append(out, v, 1);
				continue;
			}
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
		}
		r = buf_append(out, esc, strlen(esc));
	}
	return r < 0 ? r : buf_append(out, "\"", 1);
}

int audit_format(const struct audit_entry *e, const char prev[AUDIT_HASH_HEX_LEN + 1],
		 struct buf *out)
{
	char stamp[STAMP_LEN + 1], service[AUDIT_SERVICE_MAX + 1], session[AUDIT_SESSION_MAX + 1];
	char method[AUDIT_METHOD_MAX + 1], host[AUDIT_HOST_MAX + 1], path[AUDIT_PATH_MAX + 1];
	char reason[AUDIT_REASON_MAX + 1];
	struct timespec ts = e->time;
	int r;

	if (ts.tv_sec == 0 && ts.tv_nsec == 0)
		clock_gettime(CLOCK_REALTIME, &ts);
	stamp_format(stamp, &ts);
	clean(service, AUDIT_SERVICE_MAX, e->service, false);
	/* Too long to be a session id: it may be a token handed in by mistake. */
	if (e->session && strlen(e->session) > AUDIT_SESSION_MAX)
		clean(session, AUDIT_SESSION_MAX, "?", false);
	else
		clean(session, AUDIT_SESSION_MAX, e->session, false);
	clean(method, AUDIT_METHOD_MAX, e->method, false);
	clean(host, AUDIT_HOST_MAX, e->host, false);
	clean(path, AUDIT_PATH_MAX, e->path, true);
	clean(reason, AUDIT_REASON_MAX, e->reason, false);

	/* The field order is the line format: keep it in step with `fields` below. */
	r = buf_printf(out, "{\"time\":\"%s\"", stamp);
	r = r < 0 ? r : json_field(out, "service", service);
	r = r < 0 ? r : json_field(out, "session", session);
	r = r < 0 ? r : json_field(out, "kind", (unsigned)e->kind < ARRAY_SIZE(kind_names)
						    ? kind_names[e->kind]
						    : kind_names[AUDIT_KIND_NONE]);
	r = r < 0 ? r : json_field(out, "method", method);
	r = r < 0 ? r : json_field(out, "host", host);
	r = r < 0 ? r : json_field(out, "path", path);
	r = r < 0 ? r
		  : buf_printf(out, ",\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,"
				    "\"duration_ms\":%llu",
			       e->status > 0 && e->status < 1000 ? e->status : 0,
			       json_uint(e->bytes_in), json_uint(e->bytes_out),
			       json_uint(e->duration_ms));
	r = r < 0 ? r : json_field(out, "decision", (unsigned)e->decision < ARRAY_SIZE(decision_names)
							? decision_names[e->decision]
							: decision_names[AUDIT_ERROR]);
	r = r < 0 ? r : json_field(out, "reason", reason);
	r = r < 0 ? r : json_field(out, "prev", prev);
	r = r < 0 ? r : buf_append(out, "}\n", 2);
	return r < 0 ? -ENOMEM : 0;
}

/* Checking a line */

enum field_type { F_TIME, F_STRING, F_UINT, F_KIND, F_DECISION, F_HASH };

static const struct {
	const char *name;
	enum field_type type;
} fields[] = {
	{ "time", F_TIME },	{ "service", F_STRING },   { "session", F_STRING },
	{ "kind", F_KIND },	{ "method", F_STRING },	   { "host", F_STRING },
	{ "path", F_STRING },	{ "status", F_UINT },	   { "bytes_in", F_UINT },
	{ "bytes_out", F_UINT }, { "duration_ms", F_UINT }, { "decision", F_DECISION },
	{ "reason", F_STRING }, { "prev", F_HASH },
};

static bool is_stamp(const char *s)
{
	static const char tmpl[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	if (strlen(s) != sizeof(tmpl) - 1)
		return false;
	for (size_t i = 0; tmpl[i]; i++)
		if (tmpl[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != tmpl[i])
			return false;
	return true;
}

static bool is_hash(const char *s)
{
	if (strlen(s) != AUDIT_HASH_HEX_LEN)
		return false;
	for (size_t i = 0; s[i]; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

static bool in_names(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

static bool field_ok(const cJSON *v, enum field_type type)
{
	if (type == F_UINT)
		return cJSON_IsNumber(v) && v->valuedouble >= 0 &&
		       v->valuedouble <= (double)JSON_MAX_INT &&
		       v->valuedouble == (double)(uint64_t)v->valuedouble;
	if (!cJSON_IsString(v))
		return false;
	switch (type) {
	case F_TIME:
		return is_stamp(v->valuestring);
	case F_KIND:
		return in_names(v->valuestring, kind_names, ARRAY_SIZE(kind_names));
	case F_DECISION:
		return in_names(v->valuestring, decision_names, ARRAY_SIZE(decision_names));
	case F_HASH:
		return is_hash(v->valuestring);
	default:
		return true;
	}
}

static const char *const field_what[] = {
	[F_TIME] = "an ISO-8601 UTC time with milliseconds",
	[F_STRING] = "a string",
	[F_UINT] = "a non-negative integer",
	[F_KIND] = "one of reverse, connect, absolute, none",
	[F_DECISION] = "one of allow, deny, error, chain-reset",
	[F_HASH] = "64 lowercase hex digits",
};

/*
 * Whether line[0..len) is exactly one audit record: a JSON object, nothing around it, with
 * every field once, of its type, and no other field. Its prev and whether it is a
 * chain-reset are returned. 0 or -EBADMSG with why set.
 */
static int check_record(const char *line, size_t len, char prev[AUDIT_HASH_HEX_LEN + 1],
			bool *reset, char *why, size_t whylen)
{
	const char *end = NULL;
	unsigned seen = 0;
	cJSON *o, *v;
	int r = -EBADMSG;

	if (len == 0 || line[0] != '{') {
		snprintf(why, whylen, len ? "not a JSON object" : "empty line");
		return -EBADMSG;
	}
	o = cJSON_ParseWithLengthOpts(line, len, &end, false);
	if (!o || end != line + len) {
		snprintf(why, whylen, "not valid JSON");
		goto out_delete;
	}
	cJSON_ArrayForEach(v, o)
	{
		size_t i;

		for (i = 0; i < ARRAY_SIZE(fields); i++)
			if (v->string && strcmp(v->string, fields[i].name) == 0)
				break;
		if (i == ARRAY_SIZE(fields)) {
			snprintf(why, whylen, "unknown field '%.64s'", v->string ? v->string : "");
			goto out_delete;
		}
		if (seen & 1u << i) {
			snprintf(why, whylen, "field '%s' appears twice", fields[i].name);
			goto out_delete;
		}
		seen |= 1u << i;
		if (!field_ok(v, fields[i].type)) {
			snprintf(why, whylen, "field '%s' is not %s", fields[i].name,
				 field_what[fields[i].type]);
			goto out_delete;
		}
		if (fields[i].type == F_HASH)
			memcpy(prev, v->valuestring, AUDIT_HASH_HEX_LEN + 1);
		if (fields[i].type == F_DECISION)
			*reset = strcmp(v->valuestring, decision_names[AUDIT_CHAIN_RESET]) == 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if (!(seen & 1u << i)) {
			snprintf(why, whylen, "field '%s' is missing", fields[i].name);
			goto out_delete;
		}
	}
	r = 0;
out_delete:
	cJSON_Delete(o);
	return r;
}

/* Writer */

static int write_all(int fd, const char *p, size_t n, size_t *done)
{
	*done = 0;
	while (*done < n) {
		ssize_t w = write(fd, p + *done, n - *done);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		*done += (size_t)w;
	}
	return 0;
}

int audit_record(struct audit *a, const struct audit_entry *e)
{
	int r;

	if (!a->open)
		return -EBADF;
	buf_reset(&a->line);
	r = audit_format(e, a->prev, &a->line);
	if (r < 0)
		return r;
	pthread_mutex_lock(&a->lock);
	if (a->queued + a->line.len > AUDIT_PENDING_MAX) {
		a->dropped++;
		r = -ENOBUFS;
	} else if (buf_append(&a->pending, a->line.data, a->line.len) < 0) {
		a->dropped++;
		r = -ENOMEM;
	} else {
		a->queued += a->line.len;
	}
	pthread_mutex_unlock(&a->lock);
	if (r < 0)
		return r;
	/* Chain to what was queued, without its newline. */
	audit_hash(a->line.data, a->line.len - 1, a->prev);
	a->records++;
	return 0;
}

bool audit_pending(struct audit *a)
{
	bool any;

	pthread_mutex_lock(&a->lock);
	any = a->queued > 0;
	pthread_mutex_unlock(&a->lock);
	return any;
}

int audit_flush(struct audit *a)
{
	size_t done = 0;
	int r = 0;

	if (!a->open)
		return -EBADF;
	pthread_mutex_lock(&a->flush_lock);
	pthread_mutex_lock(&a->lock);
	if (a->inflight.len == 0) {
		buf_swap(&a->pending, &a->inflight);
	} else if (a->pending.len &&
		   buf_append(&a->inflight, a->pending.data, a->pending.len) == 0) {
		/* Behind a failed write's rest, in order; if memory is short, next time. */
		buf_reset(&a->pending);
	}
	pthread_mutex_unlock(&a->lock);

	if (a->inflight.len)
		r = write_all(a->fd, a->inflight.data, a->inflight.len, &done);

	pthread_mutex_lock(&a->lock);
	buf_consume(&a->inflight, done);
	a->queued -= done;
	a->last_error = r;
	pthread_mutex_unlock(&a->lock);
	if (a->inflight.len == 0 && a->inflight.cap > AUDIT_PENDING_MAX)
		buf_free(&a->inflight);	/* give back a burst's memory */
	pthread_mutex_unlock(&a->flush_lock);
	return r;
}

int audit_append_line(struct audit *a, const struct audit_entry *e)
{
	int r = audit_record(a, e);

	return r < 0 ? r : audit_flush(a);
}

void audit_close(struct audit *a)
{
	if (!a || !a->open)
		return;
	if (a->fd >= 0) {
		audit_flush(a);
		close(a->fd);
	}
	buf_free(&a->pending);
	buf_free(&a->inflight);
	buf_free(&a->line);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->flush_lock);
	free(a->path);
	*a = (struct audit){ .fd = -1 };
}

/*
 * Where the file's last line lies: [*start, *end), without its newline; *terminated says
 * whether it had one. Scans back from the end, so a long log costs one block or two.
 */
static int find_last_line(int fd, off_t size, off_t *start, off_t *end, bool *terminated)
{
	char blk[4096];
	off_t pos;
	ssize_t n;

	n = pread(fd, blk, 1, size - 1);
	if (n != 1)
		return n < 0 ? -errno : -EIO;
	*terminated = blk[0] == '\n';
	*end = *terminated ? size - 1 : size;
	for (pos = *end; pos > 0; pos -= n) {
		size_t want = pos < (off_t)sizeof(blk) ? (size_t)pos : sizeof(blk);
		const char *nl;

		n = pread(fd, blk, want, pos - (off_t)want);
		if (n != (ssize_t)want)
			return n < 0 ? -errno : -EIO;
		nl = memrchr(blk, '\n', want);
		if (nl) {
			*start = pos - (off_t)want + (nl - blk) + 1;
			return 0;
		}
	}
	*start = 0;
	return 0;
}

/* Hash [start, end) of fd; keep the bytes in line too when they fit AUDIT_LINE_MAX. */
static int hash_range(int fd, off_t start, off_t end, char hex[AUDIT_HASH_HEX_LEN + 1],
		      struct buf *line)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool keep = end - start <= AUDIT_LINE_MAX;
	char blk[8192];
	int r = 0;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		r = -ENOMEM;
		goto out_free;
	}
	while (start < end) {
		off_t left = end - start;
		size_t want = left < (off_t)sizeof(blk) ? (size_t)left : sizeof(blk);
		ssize_t n = pread(fd, blk, want, start);

		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto out_free;
		}
		EVP_DigestUpdate(ctx, blk, (size_t)n);
		if (keep && buf_append(line, blk, (size_t)n) < 0) {
			r = -ENOMEM;
			goto out_free;
		}
		start += n;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	hex_encode(md, mdlen, hex);
out_free:
	EVP_MD_CTX_free(ctx);
	return r;
}

/* Continue the chain after the file's last line, or start a new segment after a torn one. */
static int resume_chain(struct audit *a, char *err, size_t errlen)
{
	char prev[AUDIT_HASH_HEX_LEN + 1], why[160], reason[AUDIT_REASON_MAX + 1];
	struct buf line = { 0 };
	bool terminated = false, reset = false;
	off_t start = 0, end = 0;
	struct stat st;
	size_t done;
	int r;

	memcpy(a->prev, ZERO_HASH, sizeof(a->prev));
	if (fstat(a->fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "audit log '%s': %s", a->path, strerror(-r));
		return r;
	}
	if (st.st_size == 0)
		return 0;
	r = find_last_line(a->fd, st.st_size, &start, &end, &terminated);
	if (r == 0)
		r = hash_range(a->fd, start, end, a->prev, &line);
	if (r < 0) {
		snprintf(err, errlen, "audit log '%s': reading its last line: %s", a->path,
			 strerror(-r));
		goto out_free;
	}
	if (!terminated)
		snprintf(why, sizeof(why), "it was torn (no newline)");
	else if (line.len != (size_t)(end - start))
		snprintf(why, sizeof(why), "it is longer than %d bytes", AUDIT_LINE_MAX);
	else if (check_record(line.data, line.len, prev, &reset, why, sizeof(why)) == 0)
		goto out_free;	/* intact: a->prev is its hash */

	/* The torn bytes stay, ended by a newline; the reset record chains to them. */
	r = terminated ? 0 : write_all(a->fd, "\n", 1, &done);
	if (r < 0) {
		snprintf(err, errlen, "audit log '%s': ending its torn last line: %s", a->path,
			 strerror(-r));
		goto out_free;
	}
	snprintf(reason, sizeof(reason),
		 "last line (%lld bytes) was not a valid record: %s; new chain segment",
		 (long long)(end - start), why);
	r = audit_append_line(a, &(struct audit_entry){ .kind = AUDIT_KIND_NONE,
							.decision = AUDIT_CHAIN_RESET,
							.reason = reason });
	if (r < 0)
		snprintf(err, errlen, "audit log '%s': writing a chain-reset record: %s", a->path,
			 strerror(-r));
out_free:
	buf_free(&line);
	return r;
}

int audit_open(struct audit *a, const char *path, char *err, size_t errlen)
{
	int r;

	*a = (struct audit){ .fd = -1 };
	a->path = strdup(path);
	if (!a->path) {
		snprintf(err, errlen, "audit log '%s': out of memory", path);
		return -ENOMEM;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->flush_lock, NULL);
	a->open = true;
	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (a->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "audit log '%s': %s", path, strerror(-r));
		goto out_close;
	}
	r = resume_chain(a, err, errlen);
	if (r < 0)
		goto out_close;
	return 0;
out_close:
	audit_close(a);
	return r;
}

/* Reading */

/* Lines of a file of any size: each line's hash, and its bytes up to AUDIT_LINE_MAX. */
struct line_reader {
	FILE *f;
	char blk[65536];
	size_t pos, len;
	bool eof;
};

/* 1 and a line, 0 at the end of the file, or a negative errno. */
static int next_line(struct line_reader *lr, struct buf *line, bool *overlong, bool *terminated,
		     char hex[AUDIT_HASH_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	bool any = false;
	int r;

	buf_reset(line);
	*overlong = *terminated = false;
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		r = -ENOMEM;
		goto out_free;
	}
	for (;;) {
		const char *p, *nl;
		size_t n;

		if (lr->pos == lr->len) {
			if (lr->eof)
				break;
			lr->len = fread(lr->blk, 1, sizeof(lr->blk), lr->f);
			lr->pos = 0;
			if (lr->len < sizeof(lr->blk)) {
				if (ferror(lr->f)) {
					r = -EIO;
					goto out_free;
				}
				lr->eof = true;
			}
			continue;
		}
		any = true;
		p = lr->blk + lr->pos;
		nl = memchr(p, '\n', lr->len - lr->pos);
		n = nl ? (size_t)(nl - p) : lr->len - lr->pos;
		EVP_DigestUpdate(ctx, p, n);
		if (line->len + n > AUDIT_LINE_MAX)
			*overlong = true;
		else if (buf_append(line, p, n) < 0) {
			r = -ENOMEM;
			goto out_free;
		}
		lr->pos += n + (nl ? 1 : 0);
		if (nl) {
			*terminated = true;
			break;
		}
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	hex_encode(md, mdlen, hex);
	r = any ? 1 : 0;
out_free:
	EVP_MD_CTX_free(ctx);
	return r;
}

static void problem(struct audit_verify_result *r, uint64_t line, const char *why, char *err,
		    size_t errlen)
{
	if (r->problems++ == 0) {
		r->first_bad = line;
		snprintf(err, errlen, "line %llu: %s", (unsigned long long)line, why);
	}
}

int audit_verify(const char *path, struct audit_verify_result *r, char *err, size_t errlen)
{
	char hash[AUDIT_HASH_HEX_LEN + 1], last[AUDIT_HASH_HEX_LEN + 1] = ZERO_HASH;
	char prev[AUDIT_HASH_HEX_LEN + 1], why[200], torn_why[200];
	uint64_t torn = 0;	/* a bad line waiting to be excused by a chain-reset */
	struct line_reader *lr;
	struct buf line = { 0 };
	bool overlong, terminated;
	int n, ret = 0;

	*r = (struct audit_verify_result){ 0 };
	lr = calloc(1, sizeof(*lr));
	if (!lr) {
		snprintf(err, errlen, "audit log '%s': out of memory", path);
		return -ENOMEM;
	}
	lr->f = fopen(path, "re");
	if (!lr->f) {
		ret = -errno;
		snprintf(err, errlen, "audit log '%s': %s", path, strerror(-ret));
		goto out_free;
	}
	while ((n = next_line(lr, &line, &overlong, &terminated, hash)) > 0) {
		bool reset = false;
		uint64_t no = ++r->lines;
		int bad;

		if (!terminated) {
			snprintf(why, sizeof(why), "truncated (no newline at the end of the file)");
			bad = -EBADMSG;
		} else if (overlong) {
			snprintf(why, sizeof(why), "longer than %d bytes", AUDIT_LINE_MAX);
			bad = -EBADMSG;
		} else {
			bad = check_record(line.data, line.len, prev, &reset, why, sizeof(why));
		}
		if (torn) {
			if (bad == 0 && reset && strcmp(prev, last) == 0) {
				/* The torn line is excused; its successor chains to it. */
				torn = 0;
				r->records++;
				r->resets++;
				memcpy(last, hash, sizeof(last));
				continue;
			}
			problem(r, torn, torn_why, err, errlen);
			torn = 0;
		}
		if (bad < 0) {
			torn = no;
			memcpy(torn_why, why, sizeof(why));
		} else {
			r->records++;
			r->resets += reset;
			if (strcmp(prev, last) != 0) {
				if (no == 1)
					snprintf(why, sizeof(why),
						 "prev is not 64 zeros (the start of the chain)");
				else
					snprintf(why, sizeof(why),
						 "prev does not match the hash of line %llu",
						 (unsigned long long)(no - 1));
				problem(r, no, why, err, errlen);
			}
		}
		memcpy(last, hash, sizeof(last));
	}
	if (n < 0) {
		ret = n;
		snprintf(err, errlen, "audit log '%s': %s", path, strerror(-ret));
		goto out_free;
	}
	if (torn)
		problem(r, torn, torn_why, err, errlen);
	if (r->problems)
		ret = -EBADMSG;
out_free:
	if (lr->f)
		fclose(lr->f);
	free(lr);
	buf_free(&line);
	return ret;
}

int audit_filter_service(const char *path, const char *service, FILE *out)
{
	char hash[AUDIT_HASH_HEX_LEN + 1];
	struct line_reader *lr;
	struct buf line = { 0 };
	bool overlong, terminated;
	int n, count = 0;

	lr = calloc(1, sizeof(*lr));
	if (!lr)
		return -ENOMEM;
	lr->f = fopen(path, "re");
	if (!lr->f) {
		n = -errno;
		goto out_free;
	}
	while ((n = next_line(lr, &line, &overlong, &terminated, hash)) > 0) {
		cJSON *o, *s;

		if (overlong || line.len == 0)
			continue;
		o = cJSON_ParseWithLength(line.data, line.len);
		s = cJSON_GetObjectItemCaseSensitive(o, "service");
		if (cJSON_IsString(s) && strcmp(s->valuestring, service) == 0) {
			fwrite(line.data, 1, line.len, out);
			fputc('\n', out);
			count++;
		}
		cJSON_Delete(o);
	}
	if (n == 0)
		n = fflush(out) == 0 ? count : -errno;
out_free:
	if (lr->f)
		fclose(lr->f);
	free(lr);
	buf_free(&line);
	return n;
}
