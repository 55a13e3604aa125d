/* Unit tests for profile.c and policy.c: loading, merging, compiling, JSON round trip, explain. */
#include "policy.h"
#include "profile.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PROFILES_DIR
#error "build with -DPROFILES_DIR=\"<source>/profiles\""
#endif

static char root[PATH_MAX]; /* scratch dir (not below /tmp: /tmp is granted by default) */
static char home[PATH_MAX + 8];
static char workdir[PATH_MAX + 8];
static char err[4096];
static struct policy pol;
static struct profile_ctx ctx;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void mkdirs(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	for (char *p = path + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0700);
			*p = '/';
		}
	}
	cr_assert(mkdir(path, 0700) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* Write root/NAME with the given text; returns its path (static buffer per call site use). */
static const char *profile_file(const char *name, const char *text)
{
	static char path[4][PATH_MAX + 64];
	static int k;
	char *p = path[k++ % 4];

	snprintf(p, PATH_MAX + 64, "%s/%s", root, name);
	write_file(p, text);
	return p;
}

static void setup(void)
{
	char tmpl[] = "/var/tmp/nono-profile-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_not_null(realpath(tmpl, root));
	snprintf(home, sizeof(home), "%s/home", root);
	snprintf(workdir, sizeof(workdir), "%s/work", root);
	mkdirs("%s", home);
	mkdirs("%s", workdir);
	ctx = (struct profile_ctx){
	    .data_dir = PROFILES_DIR,
	    .home = home,
	    .uid = getuid(),
	    .workdir = workdir,
	    .service = "svc",
	};
	err[0] = '\0';
}

static void teardown(void)
{
	policy_free(&pol);
	nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(profile, .init = setup, .fini = teardown);

static int compile(const char *name)
{
	policy_free(&pol);
	err[0] = '\0';
	return profile_compile(name, &ctx, &pol, err, sizeof(err));
}

static const struct policy_path *grant(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < pol.n_paths; i++)
		if (strcmp(pol.paths[i].path, path) == 0)
			return &pol.paths[i];
	return NULL;
}

static const struct policy_deny *deny(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < pol.n_denies; i++)
		if (strcmp(pol.denies[i].path, path) == 0)
			return &pol.denies[i];
	return NULL;
}

static bool has(char **v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static bool has_sub(char **v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strstr(v[i], s))
			return true;
	return false;
}

static size_t count(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

#define GUIDE_EXAMPLE                                                                              \
	"{\"meta\": {\"name\": \"node-agent\", \"version\": \"1.0.0\"},\n"                         \
	" \"workdir\": {\"access\": \"readwrite\"},\n"                                             \
	" \"security\": {\"groups\": [\"node_runtime\"]},\n"                                       \
	" \"filesystem\": {\"read_file\": [\"/etc/ssl/cert.pem\", \"/etc/resolv.conf\"], "         \
	"\"write\": [\"/tmp\"]},\n"                                                                \
	" \"policy\": {\"add_deny_access\": [\"$HOME/.ssh\", \"$HOME/.aws\", \"$HOME/.gnupg\", "   \
	"\"$HOME/.config/gcloud\"]},\n"                                                            \
	" \"network\": {\"allow_hosts\": [\"api.openai.com\", \"api.anthropic.com\"]}}\n"

static void check_guide_example(void)
{
	const struct policy_path *g;

	cr_assert_eq(pol.net, POLICY_NET_PROXY);
	g = grant("%s", workdir);
	cr_assert_not_null(g);
	cr_expect_eq(g->access, POLICY_READ | POLICY_WRITE);
	cr_expect_str_eq(g->origin, "workdir");
	cr_expect_str_eq(pol.workdir, workdir);
	g = grant("%s/.nvm", home);
	cr_assert_not_null(g, "node_runtime's ~/.nvm (created) is granted");
	cr_expect_str_eq(g->origin, "group node_runtime");
	cr_expect_eq(g->access, POLICY_READ);
	g = grant("/etc/resolv.conf");
	cr_assert_not_null(g);
	cr_expect(g->is_file);
	cr_expect_eq(g->access, POLICY_READ);
	cr_expect_str_eq(g->origin, "group system_read_linux_core",
			 "a merged grant keeps the first origin");
	g = grant("/tmp");
	cr_assert_not_null(g);
	cr_expect(g->access & POLICY_WRITE);
	cr_expect_not_null(grant("/usr/bin"), "the default groups come with it");
	for (size_t i = 0; i < 4; i++) {
		static const char *const d[] = {".ssh", ".aws", ".gnupg", ".config/gcloud"};

		cr_expect_not_null(deny("%s/%s", home, d[i]), "%s denied", d[i]);
	}
	cr_expect_eq(count(pol.allow_hosts), 2);
	cr_expect(has(pol.allow_hosts, "api.openai.com"));
	cr_expect(has(pol.allow_hosts, "api.anthropic.com"));
	cr_expect_null(pol.network_profile);
	cr_expect(has_sub(pol.warnings, "'security.groups' is a legacy key, use 'groups.include'"));
	cr_expect(has_sub(pol.warnings,
			  "'policy.add_deny_access' is a legacy key, use 'filesystem.deny'"));
	cr_expect(has_sub(pol.warnings,
			  "'network.allow_hosts' is a legacy key, use 'network.allow_domain'"));
	if (access("/etc/ssl/cert.pem", F_OK) != 0)
		cr_expect(has_sub(pol.warnings, "'/etc/ssl/cert.pem' (profile"),
			  "missing system file: a warning");
}

Test(profile, guide_example_as_a_file)
{
	mkdirs("%s/.nvm", home);
	cr_assert_eq(compile(profile_file("guide.json", GUIDE_EXAMPLE)), 0, "%s", err);
	check_guide_example();
}

Test(profile, guide_example_as_a_user_profile_overrides_the_builtin)
{
	char path[PATH_MAX + 64];

	mkdirs("%s/.nvm", home);
	mkdirs("%s/.config/nono/profiles", home);
	snprintf(path, sizeof(path), "%s/.config/nono/profiles/node-agent.json", home);
	write_file(path, GUIDE_EXAMPLE);
	cr_assert_eq(compile("node-agent"), 0, "%s", err);
	check_guide_example();
	cr_expect(has_sub(pol.warnings, path), "warnings name the user's file");
}

Test(profile, builtin_profiles_compile_and_deny_credentials)
{
	static const struct {
		const char *name;
		const char *net;
		bool workdir;
		const char *group; /* a group whose (created) path must be granted */
		const char *gpath;
	} t[] = {
	    {"default", NULL, false, "user_tools", ".local/bin"},
	    {"node-agent", "minimal", true, "node_runtime", ".npm"},
	    {"python-agent", "developer", true, "python_runtime", ".pyenv"},
	    {"claude-code", "claude-code", true, "claude_code_state", ".claude"},
	    {"codex", "codex", true, "codex_state", ".codex"},
	};
	static const char *const secret[] = {
	    ".ssh",
	    ".gnupg",
	    ".aws",
	    ".azure",
	    ".config/gcloud",
	    ".kube",
	    ".docker",
	    ".git-credentials",
	    ".netrc",
	    ".npmrc",
	    ".password-store",
	    ".local/share/keyrings",
	    ".mozilla/firefox",
	    ".bash_history",
	    ".bashrc",
	    ".profile",
	    ".env",
	};

	mkdirs("%s/.ssh", home);
	mkdirs("%s/.aws", home);
	mkdirs("%s/.cache", home);
	mkdirs("%s/.local/bin", home);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		mkdirs("%s/%s", home, t[i].gpath);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		const struct policy_path *g;

		cr_assert_eq(compile(t[i].name), 0, "%s: %s", t[i].name, err);
		cr_expect_str_eq(pol.profile, t[i].name);
		for (size_t s = 0; s < ARRAY_SIZE(secret); s++) {
			char path[PATH_MAX];

			snprintf(path, sizeof(path), "%s/%s", home, secret[s]);
			cr_expect_not_null(deny("%s", path), "%s denies %s", t[i].name, secret[s]);
			for (size_t k = 0; k < pol.n_paths; k++)
				cr_expect(strncmp(pol.paths[k].path, path, strlen(path)) != 0,
					  "%s grants %s", t[i].name, pol.paths[k].path);
		}
		if (t[i].net)
			cr_expect_str_eq(pol.network_profile, t[i].net);
		else
			cr_expect_null(pol.network_profile);
		cr_expect(has(pol.allow_hosts, t[i].net ? "api.anthropic.com" : "nothing") ==
			  !!t[i].net);
		cr_expect_eq(grant("%s", workdir) != NULL, t[i].workdir, "%s workdir", t[i].name);
		g = grant("%s/%s", home, t[i].gpath);
		cr_expect_not_null(g, "%s grants %s", t[i].name, t[i].gpath);
		if (g)
			cr_expect(strstr(g->origin, t[i].group), "%s", g->origin);
		cr_expect_not_null(grant("/usr/bin"));
		cr_expect(!pol.allow_unix_sockets);
		cr_expect_eq(pol.net, POLICY_NET_PROXY);
	}
	cr_assert_eq(compile("claude-code"), 0, "%s", err);
	cr_expect(has(pol.credentials, "anthropic"));
	cr_expect(has(pol.allow_hosts, "registry.npmjs.org"));
	cr_expect_not_null(grant("%s/.cache", home), "user caches");
}

Test(profile, extends_merges_left_to_right_then_the_child)
{
	mkdirs("%s/a", root);
	mkdirs("%s/b", root);
	mkdirs("%s/c", root);
	profile_file("base1.json", "{\"workdir\": {\"access\": \"read\"},"
				   " \"filesystem\": {\"read\": [\"$WORKDIR/../a\"]},"
				   " \"network\": {\"network_profile\": \"minimal\", "
				   "\"allow_domain\": [\"one.example.com\"],"
				   "  \"credentials\": [\"openai\"]},"
				   " \"environment\": {\"set_vars\": {\"X\": \"base\", \"Y\": "
				   "\"base\"}, \"deny_vars\": [\"A\"]}}");
	profile_file("base2.json", "{\"filesystem\": {\"write\": [\""
				   "$WORKDIR/../b\"]},"
				   " \"environment\": {\"set_vars\": {\"Y\": \"base2\"}}}");
	cr_assert_eq(
	    compile(profile_file(
		"child.json", "{\"extends\": [\"base1.json\", \"./base2.json\"],"
			      " \"workdir\": {\"access\": \"none\"},"
			      " \"filesystem\": {\"read\": [\"$WORKDIR/../c\", \"$WORKDIR/../a\"]},"
			      " \"network\": {\"network_profile\": null,"
			      "  \"allow_domain\": [\"Two.Example.COM.\", \"one.example.com\"]},"
			      " \"environment\": {\"set_vars\": {\"X\": \"child\"}}}")),
	    0, "%s", err);
	cr_expect_not_null(grant("%s/a", root));
	cr_expect_not_null(grant("%s/b", root));
	cr_expect_not_null(grant("%s/c", root));
	cr_expect_eq(grant("%s/b", root)->access, POLICY_WRITE);
	cr_expect_eq(grant("%s", workdir)->access, POLICY_READ,
		     "\"none\" does not take the grant away");
	cr_expect_null(pol.network_profile, "null clears an inherited network profile");
	cr_expect_eq(count(pol.allow_hosts), 2);
	cr_expect_str_eq(pol.allow_hosts[0], "one.example.com");
	cr_expect_str_eq(pol.allow_hosts[1], "two.example.com");
	cr_expect(has(pol.credentials, "openai"));
	cr_expect(has(pol.env_set, "X=child"));
	cr_expect(has(pol.env_set, "Y=base2"));
	cr_expect_eq(count(pol.env_set), 2);
	cr_expect(has(pol.env_deny, "A"));
	cr_expect_null(pol.env_allow, "allow_vars absent: the safe base");
	cr_expect(strstr(grant("%s/a", root)->origin, "base1.json"), "first origin kept");
}

Test(profile, extends_by_name_and_credentials_reset)
{
	char path[PATH_MAX + 64];

	mkdirs("%s/.config/nono/profiles", home);
	snprintf(path, sizeof(path), "%s/.config/nono/profiles/mine.json", home);
	write_file(path, "{\"extends\": \"claude-code\", \"network\": {\"credentials\": []},"
			 " \"environment\": {\"allow_vars\": []}}");
	cr_assert_eq(compile("mine"), 0, "%s", err);
	cr_expect_str_eq(pol.network_profile, "claude-code");
	cr_expect_eq(count(pol.credentials), 0, "credentials: [] drops inherited routes");
	cr_expect_not_null(pol.env_allow);
	cr_expect_eq(count(pol.env_allow), 0);
	cr_expect_not_null(grant("%s", workdir));
}

Test(profile, extends_cycles_are_errors)
{
	profile_file("a.json", "{\"extends\": \"b.json\"}");
	profile_file("b.json", "{\"extends\": \"a.json\"}");
	cr_expect_eq(compile(profile_file("self.json", "{\"extends\": \"self.json\"}")), -ELOOP);
	cr_expect(strstr(err, "extends cycle"), "%s", err);
	cr_expect_eq(compile(profile_file("c.json", "{\"extends\": \"a.json\"}")), -ELOOP);
	cr_expect(strstr(err, "extends cycle"), "%s", err);
	cr_expect(strstr(err, "a.json -> ") && strstr(err, "b.json -> "), "%s", err);
	cr_expect_eq(pol.n_paths, 0, "nothing on failure");
}

Test(profile, extends_depth_is_limited)
{
	char name[PATH_MAX + 32], text[64];

	for (int i = 0; i <= PROFILE_MAX_DEPTH + 1; i++) {
		snprintf(name, sizeof(name), "p%d.json", i);
		if (i == PROFILE_MAX_DEPTH + 1)
			snprintf(text, sizeof(text), "{}");
		else
			snprintf(text, sizeof(text), "{\"extends\": \"p%d.json\"}", i + 1);
		profile_file(name, text);
	}
	snprintf(name, sizeof(name), "%s/p1.json", root);
	cr_expect_eq(compile(name), 0, "10 levels of extends: %s", err);
	snprintf(name, sizeof(name), "%s/p0.json", root);
	cr_expect_eq(compile(name), -ELOOP);
	cr_expect(strstr(err, "deeper than 10"), "%s", err);
}

Test(profile, bad_profiles_are_errors_naming_the_key)
{
	static const struct {
		const char *json;
		const char *msg; /* after "profile '<file>': " */
	} t[] = {
	    {"{\"network\": {\"alow_domain\": []}}", "unknown key 'network.alow_domain'"},
	    {"{\"filesytem\": {}}", "unknown key 'filesytem'"},
	    {"{\"filesystem\": {\"read\": [{\"path\": \"/usr\", \"wen\": \"linux\"}]}}",
	     "unknown key 'filesystem.read[0].wen'"},
	    {"{\"filesystem\": {\"read\": \"/usr\"}}",
	     "'filesystem.read' must be an array of paths"},
	    {"{\"filesystem\": {\"read\": [42]}}",
	     "'filesystem.read[0]' must be a path or {path, when}"},
	    {"{\"groups\": {\"include\": [\"no_such_group\"]}}",
	     "'groups.include': unknown group 'no_such_group'"},
	    {"{\"groups\": {\"exclude\": [\"deny_credentials\"]}}",
	     "'groups.exclude': group 'deny_credentials' is required and cannot be excluded"},
	    {"{\"policy\": {\"exclude_groups\": [\"deny_shell_history\"]}}",
	     "'policy.exclude_groups': group 'deny_shell_history' is required"},
	    {"{\"network\": {\"network_profile\": \"maximal\"}}",
	     "'network.network_profile': unknown network profile 'maximal'"},
	    {"{\"network\": {\"allow_domain\": [\"bad_host.com\"]}}",
	     "'network.allow_domain': invalid host name 'bad_host.com'"},
	    {"{\"network\": {\"credentials\": [\"nope\"]}}",
	     "'network.credentials': unknown credential route 'nope'"},
	    {"{\"network\": {\"block\": \"yes\"}}", "'network.block' must be true or false"},
	    {"{\"workdir\": {\"access\": \"all\"}}",
	     "'workdir.access' must be none, read, write or readwrite"},
	    {"{\"extends\": 7}", "'extends' must be an array of strings"},
	    {"{\"environment\": {\"set_vars\": {\"1X\": \"a\"}}}",
	     "'environment.set_vars.1X' must be"},
	    {"{\n\"meta\": {\n\"name\": \"x\" \"y\"\n}}", "line 3: invalid JSON"},
	    {"[1]", "not a JSON object"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		const char *file = profile_file("x.json", t[i].json);
		char want[PATH_MAX + 512];

		snprintf(want, sizeof(want), "profile '%s': %s", file, t[i].msg);
		cr_expect_lt(compile(file), 0, "%s", t[i].json);
		cr_expect_eq(strncmp(err, want, strlen(want)), 0, "%s\n  got: %s\n want: %s",
			     t[i].json, err, want);
	}
}

Test(profile, unknown_profile_name)
{
	cr_expect_eq(compile("no-such-profile"), -ENOENT);
	cr_expect(strstr(err, "profile 'no-such-profile' not found"), "%s", err);
}

Test(profile, legacy_and_unenforced_keys_warn)
{
	static const struct {
		const char *json;
		const char *warning;
	} t[] = {
	    {"{\"policy\": {\"add_allow_read\": [\"/usr\"]}}",
	     "'policy.add_allow_read' is a legacy key, use 'filesystem.read'"},
	    {"{\"policy\": {\"add_allow_write\": [\"/tmp\"]}}",
	     "'policy.add_allow_write' is a legacy key, use 'filesystem.write'"},
	    {"{\"policy\": {\"add_allow_readwrite\": [\"$WORKDIR\"]}}", "use 'filesystem.allow'"},
	    {"{\"policy\": {\"override_deny\": [\"~/.ssh\"]}}",
	     "use 'filesystem.bypass_protection'"},
	    {"{\"policy\": {\"exclude_groups\": [\"user_tools\"]}}", "use 'groups.exclude'"},
	    {"{\"network\": {\"proxy_allow\": [\"x.com\"]}}",
	     "'network.proxy_allow' is a legacy key, use 'network.allow_domain'"},
	    {"{\"network\": {\"proxy_credentials\": [\"openai\"]}}", "use 'network.credentials'"},
	    {"{\"security\": {\"signal_mode\": \"isolated\"}}",
	     "'security.signal_mode' is not enforced by nono-supervise"},
	    {"{\"security\": {\"ipc_mode\": \"full\"}}",
	     "'security.ipc_mode' is not enforced by nono-supervise"},
	    {"{\"linux\": {\"af_unix_mediation\": \"off\"}}",
	     "'linux.af_unix_mediation' is not enforced"},
	    {"{\"network\": {\"open_port\": [3000]}}", "'network.open_port' is not enforced"},
	    {"{\"network\": {\"tls_intercept\": true}}", "'network.tls_intercept' is not enforced"},
	    {"{\"session_hooks\": {}}", "'session_hooks' is not enforced"},
	    {"{\"rollback\": {}, \"interactive\": true}", "'interactive' is not enforced"},
	    {"{\"secrets\": {}}", "'secrets' is a legacy key, use 'env_credentials'"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		cr_assert_eq(compile(profile_file("x.json", t[i].json)), 0, "%s: %s", t[i].json,
			     err);
		cr_expect(has_sub(pol.warnings, t[i].warning), "%s: no warning '%s'", t[i].json,
			  t[i].warning);
	}
	cr_assert_eq(
	    compile(profile_file("x.json", "{\"policy\": {\"add_allow_write\": [\"/tmp\"]}}")), 0);
	cr_expect_eq(grant("/tmp")->access & POLICY_WRITE, POLICY_WRITE);
	cr_assert_eq(compile(profile_file(
			 "x.json", "{\"filesystem\": {\"unix_socket\": [\"/run/x.sock\"]}}")),
		     0, "%s", err);
	cr_expect(pol.allow_unix_sockets);
}

Test(profile, path_variables)
{
	static const struct {
		const char *raw;
		const char *want; /* %1$s = home, %2$s = root */
	} t[] = {
	    {"~/d1", "%1$s/d1"},
	    {"$HOME/d2", "%1$s/d2"},
	    {"${HOME}/d3", "%1$s/d3"},
	    {"$XDG_CONFIG_HOME/d4", "%2$s/cfg/d4"},
	    {"$XDG_DATA_HOME/d5", "%1$s/.local/share/d5"},
	    {"$XDG_STATE_HOME/d6", "%1$s/.local/state/d6"},
	    {"$XDG_CACHE_HOME/d7", "%1$s/.cache/d7"},
	    {"$WORKDIR/../d8", "%2$s/d8"},
	    {"/x/./y//../d9/", "/x/d9"},
	};
	char json[4096], want[PATH_MAX + 128], cfg[PATH_MAX + 8], tmp[PATH_MAX + 8], run[64];
	size_t o;

	snprintf(cfg, sizeof(cfg), "%s/cfg", root);
	snprintf(tmp, sizeof(tmp), "%s/tmpdir", root);
	mkdirs("%s", tmp);
	ctx.xdg_config_home = cfg;
	ctx.tmpdir = tmp;
	o = (size_t)snprintf(json, sizeof(json),
			     "{\"filesystem\": {\"deny\": [\"$XDG_RUNTIME_DIR/r\", \"/u/$UID\"");
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		o += (size_t)snprintf(json + o, sizeof(json) - o, ", \"%s\"", t[i].raw);
	snprintf(json + o, sizeof(json) - o, "]}}");
	cr_assert_eq(compile(profile_file("v.json", json)), 0, "%s", err);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		snprintf(want, sizeof(want), t[i].want, home, root);
		cr_expect_not_null(deny("%s", want), "%s -> %s", t[i].raw, want);
	}
	snprintf(run, sizeof(run), "/run/user/%u/r", (unsigned)getuid());
	cr_expect_not_null(deny("%s", run));
	snprintf(run, sizeof(run), "/u/%u", (unsigned)getuid());
	cr_expect_not_null(deny("%s", run));
	cr_expect_not_null(grant("%s", tmp), "$TMPDIR in system_write_linux");
	cr_expect_str_eq(grant("%s", tmp)->origin, "group system_write_linux");
	cr_expect_not_null(grant("/proc/self"), "/proc/self kept literal");

	cr_expect_eq(compile(profile_file("v.json", "{\"filesystem\": {\"read\": [\"$NOPE/x\"]}}")),
		     -EINVAL);
	cr_expect(strstr(err, "unknown variable"), "%s", err);
	cr_expect_eq(
	    compile(profile_file("v.json", "{\"filesystem\": {\"read\": [\"relative/x\"]}}")),
	    -EINVAL);
	cr_expect(strstr(err, "not an absolute path"), "%s", err);
}

Test(profile, missing_paths)
{
	char want[PATH_MAX + 128];

	/* a group's missing entries: one warning per group */
	cr_assert_eq(compile("node-agent"), 0, "%s", err);
	cr_expect(has_sub(pol.warnings, "group 'node_runtime': "), "no group warning");
	cr_expect(has_sub(pol.warnings, "paths do not exist here, skipped"));
	/* named by the profile: an error naming the path and the key */
	cr_expect_eq(compile(profile_file("m.json", "{\"filesystem\": {\"read\": [\"~/nope\"]}}")),
		     -ENOENT);
	snprintf(want, sizeof(want), "'%s/nope' (profile %s/m.json (filesystem.read))", home, root);
	cr_expect(strstr(err, want), "%s\nwant %s", err, want);
	cr_expect_eq(
	    compile(profile_file("m.json", "{\"filesystem\": {\"allow\": [\"/no/such/dir\"]}}")),
	    -ENOENT);
	cr_expect(strstr(err, "'/no/such/dir'") && strstr(err, "filesystem.allow"), "%s", err);
	/* a profile's read-only grant of a missing system path: a warning */
	cr_assert_eq(compile(profile_file(
			 "m.json", "{\"filesystem\": {\"read_file\": [\"/etc/no-such-file\"]}}")),
		     0, "%s", err);
	cr_expect(has_sub(pol.warnings, "'/etc/no-such-file'"));
	/* named by the service: always an error */
	{
		char *reads[] = {"/etc/no-such-file", NULL};

		ctx.read = reads;
		cr_expect_eq(compile("default"), -ENOENT);
		cr_expect(strstr(err, "service 'svc'") && strstr(err, "(service svc (read =))"),
			  "%s", err);
	}
}

Test(profile, deny_inside_a_granted_directory_is_refused)
{
	char *reads[] = {home, NULL};
	char want[3 * PATH_MAX];

	ctx.read = reads;
	cr_expect_eq(compile("default"), -EPERM);
	snprintf(
	    want, sizeof(want),
	    "service 'svc': deny path '%s/.ssh' (group deny_credentials) lies inside the granted "
	    "directory '%s' (service svc (read =)); Landlock cannot enforce a deny inside a grant",
	    home, home);
	cr_expect_eq(strncmp(err, want, strlen(want)), 0, "\n  got: %s\n want: %s", err, want);
	cr_expect_eq(pol.n_paths, 0);

	/* per component: ~/.sshfoo is not below ~/.ssh; a file grant does not count */
	ctx.read = NULL;
	mkdirs("%s/.sshfoo", home);
	write_file(strcat(strcpy(want, home), "/notes.txt"), "x"); /* test-only buffers */
	cr_expect_eq(compile(profile_file("o.json", "{\"filesystem\": {\"read\": [\"~/.sshfoo\"],"
						    " \"read_file\": [\"~/notes.txt\"]}}")),
		     0, "%s", err);

	/* the workdir is a grant too */
	ctx.workdir = home;
	cr_expect_eq(compile("node-agent"), -EPERM);
	cr_expect(strstr(err, "(workdir)"), "%s", err);
}

Test(profile, bypass_protection_lifts_a_granted_deny)
{
	mkdirs("%s/.ssh", home);
	mkdirs("%s/.config/gcloud", home);
	/* granted but denied, no bypass: the grant is dropped */
	cr_assert_eq(compile(profile_file("b.json", "{\"filesystem\": {\"read\": [\"~/.ssh\"]}}")),
		     0, "%s", err);
	cr_expect_null(grant("%s/.ssh", home));
	cr_expect_not_null(deny("%s/.ssh", home));
	cr_expect(has_sub(pol.warnings, "denied by group deny_credentials"));
	/* bypass: granted, no longer denied */
	cr_assert_eq(compile(profile_file("b.json", "{\"filesystem\": {\"read\": [\"~/.ssh\"],"
						    " \"bypass_protection\": [\"~/.ssh\"]}}")),
		     0, "%s", err);
	cr_expect_not_null(grant("%s/.ssh", home));
	cr_expect_null(deny("%s/.ssh", home));
	cr_expect_not_null(deny("%s/.aws", home));
	cr_expect(has_sub(pol.warnings, "lifted by profile"));
	/* a granted parent with every deny below it lifted */
	cr_expect_eq(
	    compile(profile_file("b.json", "{\"filesystem\": {\"read\": [\"~/.config\"]}}")),
	    -EPERM);
	cr_assert_eq(compile(profile_file("b.json", "{\"filesystem\": {\"read\": [\"~/.config\"],"
						    " \"bypass_protection\": [\"~/.config\"]}}")),
		     0, "%s", err);
	cr_expect_null(deny("%s/.config/gcloud", home));
	cr_expect_not_null(deny("%s/.ssh", home));
	/* a bypass for something not granted lifts nothing */
	cr_assert_eq(
	    compile(profile_file("b.json", "{\"policy\": {\"override_deny\": [\"~/.aws\"]}}")), 0,
	    "%s", err);
	cr_expect_not_null(deny("%s/.aws", home));
	cr_expect(has_sub(pol.warnings, "lifts no deny"));
}

Test(profile, jsonc_comments_and_trailing_commas)
{
	char s[] = "{\"a\": \"x // y /* z */\", // c1\n /* c2\n c3 */ \"b\": [1, 2,], }";

	profile_strip_jsonc(s);
	cr_expect_str_eq(s, "{\"a\": \"x // y /* z */\",      \n      \n       \"b\": [1, 2 ]  }");
	cr_assert_eq(compile(profile_file(
			 "j.json",
			 "// a nono profile\n{\n"
			 "  /* the base */ \"extends\": \"default\",\n"
			 "  \"meta\": {\"description\": \"see http://x /* no */ \\\"q\\\" //\",},\n"
			 "  \"network\": {\"allow_domain\": [\"a.example.com\", /* b */],},\n"
			 "}\n")),
		     0, "%s", err);
	cr_expect(has(pol.allow_hosts, "a.example.com"));
}

Test(profile, network_rules)
{
	char *domains[] = {"Svc.Example.ORG.", "*.Wild.Example.com", NULL};
	char *bad[] = {"under_score.com", NULL};

	ctx.allow_domain = domains;
	cr_assert_eq(compile("node-agent"), 0, "%s", err);
	cr_expect(has(pol.allow_hosts, "svc.example.org"));
	cr_expect(has(pol.allow_hosts, "*.wild.example.com"));
	cr_expect(has(pol.allow_hosts, "openrouter.ai"), "minimal = llm_apis");
	cr_expect(!has(pol.allow_hosts, "registry.npmjs.org"));
	ctx.allow_domain = bad;
	cr_expect_eq(compile("node-agent"), -EINVAL);
	cr_expect(strstr(err, "service 'svc': allow_domain: invalid host name 'under_score.com'"),
		  "%s", err);
	ctx.allow_domain = NULL;
	cr_assert_eq(compile(profile_file(
			 "n.json", "{\"extends\": \"codex\", \"network\": {\"block\": true}}")),
		     0, "%s", err);
	cr_expect_eq(pol.net, POLICY_NET_BLOCKED);
	cr_expect_eq(count(pol.allow_hosts), 0);
	cr_assert_eq(compile(profile_file(
			 "n.json", "{\"network\": {\"network_profile\": \"enterprise\","
				   " \"allow_domain\": [{\"domain\": \"e.example.com\","
				   " \"endpoints\": [{\"method\": \"GET\", \"path\": \"/\"}]}]}}")),
		     0, "%s", err);
	cr_expect(has(pol.allow_hosts, "*.bedrock-runtime.amazonaws.com"));
	cr_expect(has(pol.allow_hosts, "e.example.com"));
	cr_expect(has_sub(pol.warnings, "endpoint rules"));
}

Test(profile, groups_include_exclude_and_when)
{
	mkdirs("%s/.local/bin", home);
	mkdirs("%s/.cargo", home);
	cr_assert_eq(
	    compile(profile_file(
		"g.json", "{\"groups\": {\"include\": [\"rust_runtime\"],"
			  " \"exclude\": [\"user_tools\"]},"
			  " \"filesystem\": {\"read\": [{\"path\": \"/nonexistent-mac\", \"when\": "
			  "\"macos\"},"
			  "  {\"path\": \"/usr/share\", \"when\": \"linux:debian:>=12\"}]}}")),
	    0, "%s", err);
	cr_expect_null(grant("%s/.local/bin", home), "user_tools excluded");
	cr_expect_not_null(grant("%s/.cargo", home));
	cr_expect_not_null(grant("/usr/share"));
}

Test(profile, policy_json_round_trip)
{
	struct policy back = {0}, manual = {0};
	char *a, *b;
	cJSON *j, *j2;

	mkdirs("%s/.npm", home);
	cr_assert_eq(compile(profile_file(
			 "r.json", "{\"extends\": \"claude-code\", \"environment\":"
				   " {\"allow_vars\": [\"LANG\"], \"set_vars\": {\"K\": \"v\"}},"
				   " \"filesystem\": {\"unix_socket\": []}}")),
		     0, "%s", err);
	pol.allow_degraded = true;
	cr_assert_eq(policy_to_json(&pol, &j), 0);
	a = cJSON_PrintUnformatted(j);
	j2 = cJSON_Parse(a);
	cr_assert_eq(policy_from_json(j2, &back, err, sizeof(err)), 0, "%s", err);
	cJSON_Delete(j);
	cr_assert_eq(policy_to_json(&back, &j), 0);
	b = cJSON_PrintUnformatted(j);
	cr_expect_str_eq(a, b);
	cr_expect_eq(back.n_paths, pol.n_paths);
	cr_expect_eq(back.n_denies, pol.n_denies);
	for (size_t i = 0; i < pol.n_paths; i++) {
		cr_expect_str_eq(back.paths[i].path, pol.paths[i].path);
		cr_expect_eq(back.paths[i].access, pol.paths[i].access);
		cr_expect_eq(back.paths[i].is_file, pol.paths[i].is_file);
		cr_expect_str_eq(back.paths[i].origin, pol.paths[i].origin);
	}
	cr_expect(back.allow_degraded && back.allow_unix_sockets);
	cr_expect_str_eq(back.network_profile, "claude-code");
	cr_expect_eq(count(back.env_allow), 1);
	free(a);
	free(b);
	cJSON_Delete(j);
	cJSON_Delete(j2);
	policy_free(&back);

	/* NULL and empty lists stay apart; blocked network; sandbox off */
	manual.sandbox_off = true;
	manual.net = POLICY_NET_BLOCKED;
	manual.env_deny = calloc(1, sizeof(char *));
	cr_assert_eq(policy_to_json(&manual, &j), 0);
	cr_assert_eq(policy_from_json(j, &back, err, sizeof(err)), 0, "%s", err);
	cr_expect(back.sandbox_off);
	cr_expect_eq(back.net, POLICY_NET_BLOCKED);
	cr_expect_null(back.env_allow);
	cr_expect_null(back.profile);
	cr_expect_not_null(back.env_deny);
	cr_expect_null(back.env_deny[0]);
	policy_free(&back);
	policy_free(&manual);
	policy_free(NULL);

	/* errors name the key */
	cJSON_ReplaceItemInObject(j, "net", cJSON_CreateString("open"));
	cr_expect_eq(policy_from_json(j, &back, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "'net'"), "%s", err);
	cJSON_ReplaceItemInObject(j, "net", cJSON_CreateString("proxy"));
	cJSON_AddItemToArray(
	    cJSON_GetObjectItem(j, "paths"),
	    cJSON_Parse(
		"{\"path\": \"rel\", \"access\": \"r\", \"file\": false, \"origin\": null}"));
	cr_expect_eq(policy_from_json(j, &back, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "'path' must be an absolute path"), "%s", err);
	cJSON_AddItemToObject(j, "extra", cJSON_CreateTrue());
	cr_expect_eq(policy_from_json(j, &back, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "unknown key 'extra'"), "%s", err);
	cr_expect_eq(back.n_paths, 0);
	cJSON_Delete(j);
}

Test(profile, explain_names_rights_and_origins)
{
	struct buf b = {0};
	char line[PATH_MAX + 64];

	mkdirs("%s/.nvm", home);
	cr_assert_eq(compile("node-agent"), 0, "%s", err);
	cr_assert_eq(policy_explain(&pol, 7, &b), 0);
	cr_assert_not_null(buf_reserve(&b, 1));
	b.data[b.len] = '\0';
	cr_expect(strstr(b.data, "profile: node-agent\n"), "%s", b.data);
	snprintf(line, sizeof(line), "  rw  dir  %s", workdir);
	cr_expect(strstr(b.data, line), "%s", b.data);
	cr_expect(strstr(b.data, "workdir\n"));
	cr_expect(strstr(b.data, "  r   dir  /usr/bin"));
	cr_expect(strstr(b.data, "group system_read_linux_core"));
	cr_expect(strstr(b.data, "  r   file /etc/resolv.conf"), "%s", b.data);
	cr_expect(strstr(b.data, "group node_runtime"));
	snprintf(line, sizeof(line), "  %s/.ssh", home);
	cr_expect(strstr(b.data, line));
	cr_expect(strstr(b.data, "group deny_credentials"));
	cr_expect(strstr(
	    b.data, "network: proxy only (private network namespace), network profile 'minimal'"));
	cr_expect(strstr(b.data, "    api.anthropic.com\n"));
	cr_expect(strstr(b.data, "\nwarnings:\n  "), "%s", b.data);
	cr_expect(strstr(b.data, "\n  group 'node_runtime': "), "%s", b.data);
	buf_reset(&b);
	pol.sandbox_off = true;
	cr_assert_eq(policy_explain(&pol, 0, &b), 0);
	b.data[b.len] = '\0';
	cr_expect(strstr(b.data, "UNCONFINED"));
	buf_free(&b);
}
