/* landlock: the project's Landlock UAPI (to ABI 7); a policy's filesystem, TCP and scope rules. */
#ifndef NONO_LANDLOCK_H
#define NONO_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct policy;

/*
 * UAPI, mirrored under project names (LL_, ll_): Debian 12's <linux/landlock.h> stops at
 * ABI 2, and these must not clash with it where both are included.
 */
#define LL_CREATE_RULESET_VERSION	(1U << 0)
#define LL_CREATE_RULESET_ERRATA	(1U << 1)	/* 6.15 */

#define LL_RULE_PATH_BENEATH	1
#define LL_RULE_NET_PORT	2

#define LL_FS_EXECUTE		(1ULL << 0)
#define LL_FS_WRITE_FILE	(1ULL << 1)
#define LL_FS_READ_FILE		(1ULL << 2)
#define LL_FS_READ_DIR		(1ULL << 3)
#define LL_FS_REMOVE_DIR	(1ULL << 4)
#define LL_FS_REMOVE_FILE	(1ULL << 5)
#define LL_FS_MAKE_CHAR		(1ULL << 6)
#define LL_FS_MAKE_DIR		(1ULL << 7)
#define LL_FS_MAKE_REG		(1ULL << 8)
#define LL_FS_MAKE_SOCK		(1ULL << 9)
#define LL_FS_MAKE_FIFO		(1ULL << 10)
#define LL_FS_MAKE_BLOCK	(1ULL << 11)
#define LL_FS_MAKE_SYM		(1ULL << 12)
#define LL_FS_REFER		(1ULL << 13)	/* ABI 2 */
#define LL_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */

#define LL_NET_BIND_TCP		(1ULL << 0)	/* ABI 4 */
#define LL_NET_CONNECT_TCP	(1ULL << 1)	/* ABI 4 */

#define LL_SCOPE_ABSTRACT_UNIX_SOCKET	(1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL			(1ULL << 1)	/* ABI 6 */

#define LL_RESTRICT_SELF_LOG_SAME_EXEC_OFF	(1U << 0)	/* ABI 7 */
#define LL_RESTRICT_SELF_LOG_NEW_EXEC_ON	(1U << 1)	/* ABI 7 */
#define LL_RESTRICT_SELF_LOG_SUBDOMAINS_OFF	(1U << 2)	/* ABI 7 */

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;	/* ABI 4 */
	uint64_t scoped;		/* ABI 6 */
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

/* Per-feature minimum ABIs: below them landlock_apply fails closed unless allow_degraded. */
#define LANDLOCK_ABI_FS		1	/* filesystem confinement */
#define LANDLOCK_ABI_REFER	2	/* cross-directory rename and link (npm, git) */
#define LANDLOCK_ABI_TRUNCATE	3	/* read-only files stay untruncatable */
#define LANDLOCK_ABI_NET	4	/* TCP port rules: required only without a private netns */
#define LANDLOCK_ABI_SCOPE	6	/* signals, abstract unix sockets stay in the domain */
#define LANDLOCK_ABI_LOG	7	/* audit of post-exec denials: used when present */
#define LANDLOCK_ABI_MAX	7	/* the newest ABI this file knows */

struct landlock_report {
	int abi;		/* the ABI in use, 0 = no Landlock */
	unsigned errata;	/* the kernel's errata bits (6.15+), 0 if unknown */
	char degraded[256];	/* what allow_degraded let through; "" = nothing */
};

/* The kernel's Landlock ABI (cached); 0 if unsupported, the reason in landlock_abi_reason(). */
int landlock_abi(void);
const char *landlock_abi_reason(void);

/*
 * Rights a grant (POLICY_READ | POLICY_WRITE) gives under an ABI. A file grant, or any
 * path that is not a directory, gets file rights only.
 */
uint64_t landlock_grant_rights(unsigned access, bool file, int abi);

/*
 * The plan: whether abi meets every feature minimum. Fills rep (abi, degraded) and
 * returns 0, or -EOPNOTSUPP with a message and hint in err when a feature is missing and
 * allow_degraded is false. Pure: `explain` uses it to show what a service would get.
 */
int landlock_check(int abi, bool have_netns, bool allow_degraded, struct landlock_report *rep,
		   char *err, size_t errlen);

/*
 * Confine the calling thread (the exec helper, single-threaded, before execve) to the
 * policy: its paths, TCP connect only to proxy_port (none if <= 0 or the network is
 * blocked), explicit TCP bind only inside a private netns (have_netns), and with ABI >= 6
 * signals and abstract unix sockets scoped to the domain. Sets no_new_privs if not yet
 * set. A path that cannot be opened fails the whole call. Returns 0 or a negative errno.
 */
int landlock_apply(const struct policy *p, int proxy_port, bool have_netns, bool allow_degraded,
		   struct landlock_report *rep, char *err, size_t errlen);

#endif
