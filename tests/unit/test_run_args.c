/* run_args: nono's run flags, the profile overlay they make, and their JSON round trip. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "run_args.h"

static struct run_opts o;
static char err[4096];

static int parse(const char *const *argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	run_opts_free(&o);
	return run_args_parse(argc, (char *const *)argv, "/home/u/proj", false, &o, err,
			      sizeof(err));
}

static void strv_is(char **v, const char *const *want, const char *what)
{
	size_t i = 0;

	for (; want[i]; i++) {
		cr_assert(v && v[i], "%s: entry %zu missing", what, i);
		cr_expect_str_eq(v[i], want[i], "%s", what);
	}
	cr_expect(!v || !v[i], "%s: extra entry '%s'", what, v ? v[i] : "");
}

Test(run_args, the_guides_commands)
{
	const char *a[] = {"--allow-cwd", "--network-profile", "minimal", "--allow-domain",
			   "registry.npmjs.org", "--", "node", "my_agent.js", NULL};
	const char *b[] = {"--profile", "node-agent.json", "--allow-cwd", "--", "node", "a.js", NULL};
	const char *c[] = {"--allow-cwd", "--proxy-credential", "openai", "--", "node", "x", NULL};

	cr_assert_eq(parse(a), 0, "%s", err);
	cr_expect(o.allow_cwd);
	cr_expect_str_eq(o.network_profile, "minimal");
	strv_is(o.allow_domain, (const char *[]){"registry.npmjs.org", NULL}, "domains");
	strv_is(o.argv, (const char *[]){"node", "my_agent.js", NULL}, "argv");
	cr_assert_eq(parse(b), 0, "%s", err);
	cr_expect_str_eq(o.profile, "/home/u/proj/node-agent.json", "a profile file is made absolute");
	cr_assert_eq(parse(c), 0, "%s", err);
	strv_is(o.credentials, (const char *[]){"openai", NULL}, "credentials");
}

Test(run_args, paths_short_flags_and_equals)
{
	const char *a[] = {"-a", "out", "-r", "/data", "-w=logs", "--read-file=cfg.json",
			   "--allow-file", "/etc/x", "--write-file", "w.txt", "-p", "node-agent",
			   "--block-net", "-v", "-v", "--dry-run", "sh", "-c", "true", NULL};

	cr_assert_eq(parse(a), -EINVAL, "-w=logs is no long flag: '%s'", err);
	a[4] = "--write=logs";
	cr_assert_eq(parse(a), 0, "%s", err);
	strv_is(o.allow, (const char *[]){"/home/u/proj/out", NULL}, "allow");
	strv_is(o.read, (const char *[]){"/data", NULL}, "read");
	strv_is(o.write, (const char *[]){"/home/u/proj/logs", NULL}, "write");
	strv_is(o.read_file, (const char *[]){"/home/u/proj/cfg.json", NULL}, "read_file");
	strv_is(o.allow_file, (const char *[]){"/etc/x", NULL}, "allow_file");
	strv_is(o.write_file, (const char *[]){"/home/u/proj/w.txt", NULL}, "write_file");
	cr_expect_str_eq(o.profile, "node-agent", "a name stays a name");
	cr_expect(o.block_net && o.dry_run);
	cr_expect_eq(o.verbose, 2);
	strv_is(o.argv, (const char *[]){"sh", "-c", "true", NULL}, "the command starts at the first word");
}

Test(run_args, errors)
{
	static const struct {
		const char *argv[4];
		const char *want;
	} bad[] = {
	    {{"--nope", "--", "x", NULL}, "unknown flag '--nope'"},
	    {{"--allow-cwd", NULL}, "no command given"},
	    {{"--allow", NULL}, "--allow needs a value"},
	    {{"--allow-cwd=yes", "x", NULL}, "--allow-cwd takes no value"},
	    {{"--name", "n", "x", NULL}, "unknown flag '--name'"},
	    {{"-e", "1X=2", "x", NULL}, "--env '1X=2': expected KEY=VALUE or KEY"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(parse(bad[i].argv), -EINVAL, "%s", bad[i].want);
		cr_expect(strncmp(err, bad[i].want, strlen(bad[i].want)) == 0, "got '%s', want '%s'",
			  err, bad[i].want);
	}
	cr_expect_eq(parse((const char *[]){"--help", NULL}), 1);
	cr_expect(strstr(err, "usage: run [FLAGS] -- COMMAND"), "%s", err);
}

Test(run_args, env)
{
	const char *a[] = {"-e", "NODE_OPTIONS=--import /x.mjs", "--env", "NONO_TEST_VAR",
			   "--env", "NONO_TEST_UNSET", "x", NULL};
	struct service_config sc;

	setenv("NONO_TEST_VAR", "ours", 1);
	unsetenv("NONO_TEST_UNSET");
	cr_assert_eq(parse(a), 0, "%s", err);
	strv_is(o.env, (const char *[]){"NODE_OPTIONS=--import /x.mjs", "NONO_TEST_VAR=ours", NULL},
		"env: KEY alone takes our value, an unset one is left out");
	cr_assert_eq(run_service_config(&o, "/p", &sc, err, sizeof(err)), 0, "%s", err);
	strv_is(sc.env, (const char *[]){"NODE_OPTIONS=--import /x.mjs", "NONO_TEST_VAR=ours", NULL},
		"service env");
	config_service_release(&sc);
}

Test(run_args, service_config_and_overlay)
{
	const char *a[] = {"--allow-cwd", "-r", "/data", "--network-profile", "minimal",
			   "--allow-domain", "127.0.0.1:8443", "--proxy-credential", "openai",
			   "--credential-source", "openai=file:key", "--credential-upstream",
			   "openai=http://127.0.0.1:9/v1", "--credential-ca", "openai=ca.pem",
			   "--", "node", "a.js", NULL};
	struct service_config sc;

	cr_assert_eq(parse(a), 0, "%s", err);
	cr_assert_eq(run_service_config(&o, "/home/u/proj", &sc, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(sc.name, "run");
	cr_expect_str_eq(sc.cwd, "/home/u/proj");
	cr_expect_eq(sc.restart, RESTART_NEVER);
	cr_expect_eq(sc.start_ms, 0);
	cr_expect(sc.sandbox);
	cr_expect_null(sc.profile, "no --profile: the default");
	cr_expect_str_eq(sc.profile_overlay,
			 "{\"workdir\":{\"access\":\"readwrite\"},\"filesystem\":{\"read\":[\"/data\"]},"
			 "\"network\":{\"allow_domain\":[\"127.0.0.1:8443\"],\"network_profile\":\"minimal\"}}");
	strv_is(sc.credentials, (const char *[]){"openai", NULL}, "credentials");
	cr_expect_str_eq(sc.credential_defs[0].source, "file:/home/u/proj/key");
	cr_expect_str_eq(sc.credential_defs[0].upstream, "http://127.0.0.1:9/v1");
	cr_expect_str_eq(sc.credential_defs[0].ca, "/home/u/proj/ca.pem");
	config_service_release(&sc);

	/* Without a source: the keyring, as nono does. A malformed NAME=VALUE is refused. */
	cr_assert_eq(parse((const char *[]){"--credential", "anthropic", "x", NULL}), 0);
	cr_assert_eq(run_service_config(&o, "/p", &sc, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(sc.credential_defs[0].source, "keyring:anthropic");
	config_service_release(&sc);
	cr_assert_eq(parse((const char *[]){"--credential-source", "openai", "x", NULL}), 0);
	cr_expect_eq(run_service_config(&o, "/p", &sc, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "--credential-source 'openai': expected NAME=SOURCE");
}

Test(run_args, json_round_trip)
{
	const char *a[] = {"-a", "/w", "--allow-domain", "x.com", "--credential", "openai",
			   "-u", "nobody", "--block-net", "--", "sh", "-c", "echo hi", NULL};
	struct run_opts back;
	char *j, *j2;

	cr_assert_eq(parse(a), 0, "%s", err);
	j = run_opts_to_json(&o);
	cr_assert_not_null(j);
	cr_assert_eq(run_opts_from_json(j, &back, err, sizeof(err)), 0, "%s", err);
	j2 = run_opts_to_json(&back);
	cr_expect_str_eq(j2, j);
	cr_expect_str_eq(back.user, "nobody");
	cr_expect(back.block_net);
	strv_is(back.argv, (const char *[]){"sh", "-c", "echo hi", NULL}, "argv");
	free(j);
	free(j2);
	run_opts_free(&back);
	cr_expect_eq(run_opts_from_json("{\"argv\":[]}", &back, err, sizeof(err)), -EINVAL);
	cr_expect_eq(run_opts_from_json("{\"argv\":[\"x\"],\"allow\":\"/\"}", &back, err,
					 sizeof(err)),
		     -EINVAL, "a list must be a list");
	cr_expect_eq(run_opts_from_json("[", &back, err, sizeof(err)), -EINVAL);
}
