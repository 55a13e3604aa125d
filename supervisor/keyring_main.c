/* nono-keyring: a short-lived keyring lookup, so libsecret and GLib stay out of the supervisor. */
#include "creds.h"

#include <errno.h>
#include <libsecret/secret.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/*
 * The name is not matched: secret-tool stores items under org.freedesktop.Secret.Generic
 * and nono under its own schema; both carry service=nono, username=ACCOUNT (nono adds
 * target=default, secret-tool users may not), so only those two are searched for.
 */
static const SecretSchema schema = {
    .name = "org.freedesktop.Secret.Generic",
    .flags = SECRET_SCHEMA_DONT_MATCH_NAME,
    .attributes =
	{
	    {"service", SECRET_SCHEMA_ATTRIBUTE_STRING},
	    {"username", SECRET_SCHEMA_ATTRIBUTE_STRING},
	    {"target", SECRET_SCHEMA_ATTRIBUTE_STRING},
	    {NULL, 0},
	},
};

/* One line on stderr, which the supervisor quotes in its message. Never the key. */
__attribute__((format(printf, 2, 3))) static int why(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("nono-keyring: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int bus_error(const GError *e)
{
	if (e->domain == G_DBUS_ERROR &&
	    (e->code == G_DBUS_ERROR_SERVICE_UNKNOWN || e->code == G_DBUS_ERROR_NAME_HAS_NO_OWNER ||
	     e->code == G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND))
		return why(CREDS_HELPER_NO_SERVICE, "%s", e->message);
	return why(CREDS_HELPER_ERROR, "%s", e->message);
}

/* No item matched: a locked collection may hold it, unseen. */
static int not_found(SecretService *service, const char *account)
{
	GList *cols = secret_service_get_collections(service);
	gchar *label = NULL;
	int rc;

	for (GList *l = cols; l && !label; l = l->next)
		if (secret_collection_get_locked(l->data))
			label = secret_collection_get_label(l->data);
	if (label)
		rc = why(CREDS_HELPER_LOCKED, "no unlocked item; collection '%s' is locked", label);
	else
		rc = why(CREDS_HELPER_NOT_FOUND, "no item with service=nono username=%s", account);
	g_free(label);
	g_list_free_full(cols, g_object_unref);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int lookup(const char *account)
{
	GDBusConnection *bus;
	SecretService *service;
	GHashTable *attrs;
	GList *items;
	GError *e = NULL;
	SecretValue *value;
	const gchar *bytes;
	gsize len;
	int rc;

	bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &e);
	if (!bus) {
		rc = why(CREDS_HELPER_NO_BUS, "%s", e->message);
		g_error_free(e);
		return rc;
	}
	service = secret_service_get_sync(
	    SECRET_SERVICE_OPEN_SESSION | SECRET_SERVICE_LOAD_COLLECTIONS, NULL, &e);
	if (!service) {
		rc = bus_error(e);
		g_error_free(e);
		goto out_bus;
	}
	attrs = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(attrs, "service", "nono");
	g_hash_table_insert(attrs, "username", (gpointer)account);
	/* No SECRET_SEARCH_UNLOCK: a prompt would wait for a person who is not there. */
	items = secret_service_search_sync(
	    service, &schema, attrs, SECRET_SEARCH_ALL | SECRET_SEARCH_LOAD_SECRETS, NULL, &e);
	g_hash_table_unref(attrs);
	if (e) {
		rc = bus_error(e);
		goto out_service;
	}
	if (!items) {
		rc = not_found(service, account);
		goto out_service;
	}
	if (items->next) {
		rc = why(CREDS_HELPER_SEVERAL, "%u items match", g_list_length(items));
		goto out_items;
	}
	if (secret_item_get_locked(items->data)) {
		rc = why(CREDS_HELPER_LOCKED, "the item is in a locked collection");
		goto out_items;
	}
	value = secret_item_get_secret(items->data);
	if (!value) {
		rc = why(CREDS_HELPER_ERROR, "the Secret Service returned no secret");
		goto out_items;
	}
	bytes = secret_value_get(value, &len);
	rc = write_all(STDOUT_FILENO, bytes, len) < 0
		 ? why(CREDS_HELPER_ERROR, "writing the key to stdout: %s", strerror(errno))
		 : CREDS_HELPER_FOUND;
	/* libsecret keeps secrets in its wiping secure memory; unref releases them. */
	secret_value_unref(value);
out_items:
	g_list_free_full(items, g_object_unref);
out_service:
	g_object_unref(service);
	if (e)
		g_error_free(e);
out_bus:
	g_object_unref(bus);
	return rc;
}

int main(int argc, char **argv)
{
	const struct rlimit nocore = {0, 0};

	/* No core dump, no ptrace by other processes of the user: this process holds a key. */
	setrlimit(RLIMIT_CORE, &nocore);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (argc != 3 || strcmp(argv[1], "lookup") != 0) {
		fprintf(stderr, "usage: nono-keyring lookup ACCOUNT\n"
				"Prints the key of the Secret Service item service=nono "
				"username=ACCOUNT to stdout.\n");
		return CREDS_HELPER_USAGE;
	}
	if (!*argv[2] || strlen(argv[2]) > CREDS_ACCOUNT_MAX)
		return why(CREDS_HELPER_USAGE, "the account must be 1-%d characters",
			   CREDS_ACCOUNT_MAX);
	return lookup(argv[2]);
}
