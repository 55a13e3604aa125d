/* denials: Landlock's audit records as this kernel (6.18) writes them, and what we say of each. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "denials.h"
#include "policy.h"

static struct denial d;

static int parse(int type, const char *text)
{
	return denials_parse(type, text, strlen(text) + 1, &d); /* the kernel's text ends in NUL */
}

struct access_case {
	const char *record;
	const char *blockers, *object;
	unsigned long long domain;
};

/* Records read off this machine's kernel (tests/integration/test_run.sh makes them again). */
static const struct access_case access_cases[] = {
    {"audit(1796431502.663:263): domain=1d14a42cd blockers=fs.read_file path=\"/etc/locale.alias\" "
     "dev=\"vda\" ino=810",
     "fs.read_file", "/etc/locale.alias", 0x1d14a42cdULL},
    {"audit(1796431502.663:264): domain=1d14a42cd blockers=fs.make_reg path=\"/var/tmp\" "
     "dev=\"vda\" "
     "ino=409338",
     "fs.make_reg", "/var/tmp", 0x1d14a42cdULL},
    /* a name with a space: audit writes untrusted strings that need it as bare hex */
    {"audit(1796431502.667:271): domain=1d14a42cd blockers=fs.read_file "
     "path=2F6574632F737020616365 "
     "dev=\"vda\" ino=409602",
     "fs.read_file", "/etc/sp ace", 0x1d14a42cdULL},
    {"audit(1796431502.703:276): domain=1d14a42cd blockers=net.connect_tcp daddr=127.0.0.1 dest=80",
     "net.connect_tcp", "127.0.0.1:80", 0x1d14a42cdULL},
    {"audit(1796431502.735:282): domain=1d14a42cd blockers=fs.write_file,fs.remove_dir,"
     "fs.remove_file,fs.make_reg,fs.refer,fs.truncate path=\"/var/tmp\" dev=\"vda\" ino=409338",
     "fs.write_file,fs.remove_dir,fs.remove_file,fs.make_reg,fs.refer,fs.truncate", "/var/tmp",
     0x1d14a42cdULL},
    {"audit(1.2:3): domain=ab blockers=scope.signal opid=1234 ocomm=\"sleep\"", "scope.signal",
     "pid 1234 (sleep)", 0xabULL},
    /* a newline in a name comes as hex too; it is decoded here and escaped when shown */
    {"audit(1.2:3): domain=ab blockers=fs.read_file path=2F746D702F610A62 dev=\"vda\" ino=1",
     "fs.read_file", "/tmp/a\nb", 0xabULL},
};

Test(denials, access_records)
{
	for (size_t i = 0; i < sizeof(access_cases) / sizeof(access_cases[0]); i++) {
		const struct access_case *c = &access_cases[i];

		cr_assert_eq(parse(DENIALS_ACCESS, c->record), 0, "case %zu", i);
		cr_expect_eq(d.type, DENIALS_ACCESS);
		cr_expect_eq(d.domain, c->domain, "case %zu: domain %llx", i,
			     (unsigned long long)d.domain);
		cr_expect_str_eq(d.blockers, c->blockers, "case %zu", i);
		cr_expect_str_eq(d.object, c->object, "case %zu", i);
	}
}

Test(denials, domain_records)
{
	cr_assert_eq(
	    parse(DENIALS_DOMAIN,
		  "audit(1796431502.663:263): domain=1d14a42cd status=allocated mode=enforcing "
		  "pid=17181 uid=65534 exe=\"/usr/libexec/nono-supervise/nono-exec\" "
		  "comm=\"nono-exec\""),
	    0);
	cr_expect_eq(d.domain, 0x1d14a42cdULL);
	cr_expect(d.allocated);
	cr_expect_eq(d.pid, 17181);

	cr_assert_eq(parse(DENIALS_DOMAIN, "audit(1796431502.807:288): domain=1d14a42cd "
					   "status=deallocated denials=26"),
		     0);
	cr_expect(!d.allocated);
	cr_expect_eq(d.denials, 26);
}

Test(denials, malformed_records_are_refused)
{
	const char *bad[] = {"",
			     "domain=1 blockers=fs.read_file",
			     "audit(1.2:3): blockers=fs.read_file",
			     "audit(1.2:3): domain=1d",
			     "audit(1.2:3): domain=1 blockers=\"unterminated",
			     "audit(1.2:3"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(parse(DENIALS_ACCESS, bad[i]), -EINVAL, "'%s'", bad[i]);
	/* a domain record needs no blockers */
	cr_expect_eq(parse(DENIALS_DOMAIN, "audit(1.2:3): domain=1d"), 0);
}

struct describe_case {
	const char *record;
	enum denials_style style;
	const char *line;
};

static const struct describe_case describe_cases[] = {
    {"audit(1.2:3): domain=1 blockers=fs.read_file path=\"/etc/locale.alias\"", DENIALS_FLAGS,
     "read /etc/locale.alias: allow with --read-file /etc/locale.alias"},
    {"audit(1.2:3): domain=1 blockers=fs.read_file path=\"/etc/locale.alias\"", DENIALS_KEYS,
     "read /etc/locale.alias: allow with filesystem.read_file /etc/locale.alias"},
    {"audit(1.2:3): domain=1 blockers=fs.read_dir path=\"/srv\"", DENIALS_FLAGS,
     "list /srv: allow with --read /srv"},
    {"audit(1.2:3): domain=1 blockers=fs.make_reg path=\"/var/tmp\"", DENIALS_FLAGS,
     "create a file in /var/tmp: allow with --write /var/tmp"},
    {"audit(1.2:3): domain=1 blockers=fs.make_dir path=\"/var/tmp\"", DENIALS_KEYS,
     "create a directory in /var/tmp: allow with filesystem.write /var/tmp"},
    {"audit(1.2:3): domain=1 blockers=fs.remove_file path=\"/srv\"", DENIALS_FLAGS,
     "remove a file from /srv: allow with --write /srv"},
    /* rename(2) out of a read-only directory lists every right the move needs */
    {"audit(1.2:3): domain=1 blockers=fs.write_file,fs.remove_dir,fs.remove_file,fs.make_reg,"
     "fs.refer path=\"/var/tmp\"",
     DENIALS_FLAGS, "move or link files into or out of /var/tmp: allow with --write /var/tmp"},
    {"audit(1.2:3): domain=1 blockers=fs.make_char,fs.make_block path=\"/srv/p\"", DENIALS_FLAGS,
     "create a device node in /srv/p: not allowed in a sandbox"},
    {"audit(1.2:3): domain=1 blockers=fs.write_file path=\"/etc/hostname\"", DENIALS_KEYS,
     "write /etc/hostname: allow with filesystem.write_file /etc/hostname"},
    {"audit(1.2:3): domain=1 blockers=fs.execute path=\"/opt/tool\"", DENIALS_FLAGS,
     "execute /opt/tool: allow with --read-file /opt/tool"},
    {"audit(1.2:3): domain=1 blockers=fs.read_file path=\"/proc/4242/maps\"", DENIALS_FLAGS,
     "read /proc/4242/maps: /proc/PID is granted to the command itself only (as /proc/self), not "
     "to other processes, its children included"},
    {"audit(1.2:3): domain=1 blockers=net.connect_tcp daddr=127.0.0.1 dest=80", DENIALS_FLAGS,
     "connect to 127.0.0.1:80: only the proxy is reachable; name a host with --allow-domain"},
    {"audit(1.2:3): domain=1 blockers=scope.signal opid=1 ocomm=\"init\"", DENIALS_FLAGS,
     "signal a process outside the sandbox: pid 1 (init): not allowed in a sandbox"},
    {"audit(1.2:3): domain=1 blockers=fs.change_topology path=\"/mnt\"", DENIALS_FLAGS,
     "fs.change_topology on /mnt: not allowed in a sandbox"},
    {"audit(1.2:3): domain=1 blockers=fs.read_file path=\"/home/u/.ssh/id_rsa\"", DENIALS_FLAGS,
     "read /home/u/.ssh/id_rsa: protected by group deny_credentials, not granted on purpose"},
    /* ~/.sshfoo is not below ~/.ssh */
    {"audit(1.2:3): domain=1 blockers=fs.read_file path=\"/home/u/.sshfoo\"", DENIALS_FLAGS,
     "read /home/u/.sshfoo: allow with --read-file /home/u/.sshfoo"},
    /* a name the sandbox chose cannot break a line or send escapes to the terminal */
    {"audit(1.2:3): domain=1 blockers=fs.read_file path=2F746D702F0A1B5B326A", DENIALS_FLAGS,
     "read /tmp/\\x0a\\x1b[2j: allow with --read-file /tmp/\\x0a\\x1b[2j"},
};

Test(denials, what_we_say)
{
	struct policy_deny deny = {.path = "/home/u/.ssh", .origin = "group deny_credentials"};
	struct policy p = {.denies = &deny, .n_denies = 1};
	char line[1024];

	for (size_t i = 0; i < sizeof(describe_cases) / sizeof(describe_cases[0]); i++) {
		const struct describe_case *c = &describe_cases[i];

		cr_assert_eq(parse(DENIALS_ACCESS, c->record), 0, "case %zu", i);
		denials_describe(&d, &p, c->style, line, sizeof(line));
		cr_expect_str_eq(line, c->line, "case %zu", i);
	}
}

Test(denials, deny_covering_goes_by_component)
{
	struct policy_deny denies[] = {{.path = "/home/u/.ssh", .origin = "a"},
				       {.path = "/home/u/.aws/", .origin = "b"}};
	struct policy p = {.denies = denies, .n_denies = 2};

	cr_expect_eq(policy_deny_covering(&p, "/home/u/.ssh"), &denies[0]);
	cr_expect_eq(policy_deny_covering(&p, "/home/u/.ssh/id_rsa"), &denies[0]);
	cr_expect_null(policy_deny_covering(&p, "/home/u/.sshfoo"));
	cr_expect_null(policy_deny_covering(&p, "/home/u"));
	cr_expect_eq(policy_deny_covering(&p, "/home/u/.aws/credentials"), &denies[1]);
}

Test(denials, tally_counts_kinds_and_keeps_the_first)
{
	struct denials_tally t = {0};
	char rec[128];

	/* 3 reads of one file, then 20 files once each: 16 kinds kept, 23 counted */
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(
		    parse(DENIALS_ACCESS,
			  "audit(1.2:3): domain=1 blockers=fs.read_file path=\"/etc/subuid\""),
		    0);
		denials_tally_add(&t, &d, NULL, DENIALS_FLAGS);
	}
	for (int i = 0; i < 20; i++) {
		snprintf(rec, sizeof(rec),
			 "audit(1.2:3): domain=1 blockers=fs.read_file path=\"/f%d\"", i);
		cr_assert_eq(parse(DENIALS_ACCESS, rec), 0);
		denials_tally_add(&t, &d, NULL, DENIALS_FLAGS);
	}
	cr_expect_eq(t.total, 23);
	cr_expect_eq(t.n, DENIALS_TALLY_KINDS);
	cr_expect_eq(t.kinds[0].count, 3);
	cr_expect_str_eq(t.kinds[0].line, "read /etc/subuid: allow with --read-file /etc/subuid");
	cr_expect_str_eq(t.kinds[15].line, "read /f14: allow with --read-file /f14");
	/* the same path with another right is another kind */
	cr_assert_eq(
	    parse(DENIALS_ACCESS, "audit(1.2:3): domain=1 blockers=fs.execute path=\"/f0\""), 0);
	cr_expect_neq(denials_hash(&d), t.kinds[1].hash);
}
