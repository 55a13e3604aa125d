#!/usr/bin/env python3
"""One sandboxed command, start to exit: `nono-supervise run` against bubblewrap and a bare
namespace + uid switch (unshare + setpriv), all in one run, interleaved round by round.

   tests/bench/run.sh --run [--quick] [--rounds N]

Each tool runs the same commands (/bin/true, then `node -e 0`) as user nobody in a fresh
network namespace; nono-supervise adds its Landlock ruleset, seccomp filter and credential
proxy. It is timed with kernel audit off and on (on: run reads Landlock's refusals and waits
for its mark at the end), and the audit state found is put back. Prints medians and p90 in
ms, and ratios against bubblewrap.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
from kernel_audit import audit  # noqa: E402  (tests/kernel_audit.py)


# Every tool and command gets this environment: nono-supervise run would give the command
# its safe base anyway, and a caller's NODE_EXTRA_CA_CERTS alone costs node ~35 ms.
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}


def timed(argv, cwd):
    t = time.perf_counter()
    r = subprocess.run(argv, cwd=cwd, env=ENV, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = (time.perf_counter() - t) * 1000
    if r.returncode != 0:
        sys.exit(f"{argv[0]} failed ({r.returncode}): {r.stderr.decode(errors='replace')[-400:]}")
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--quick", action="store_true")
    args, _ = ap.parse_known_args()
    rounds = 15 if args.quick else args.rounds
    if os.geteuid() != 0:
        sys.exit("run benchmark: run as root")
    supervise = os.path.join(args.build, "supervisor", "nono-supervise")
    node = shutil.which("node")
    bwrap = shutil.which("bwrap")
    work = tempfile.mkdtemp(prefix="nono-bench-run.")
    os.chmod(work, 0o777)
    cmds = [("/bin/true", ["/bin/true"])]
    if node:
        cmds.append(("node -e 0", [node, "-e", "0"]))
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    tools = {
        "unshare+setpriv": lambda c: ["unshare", "-n"] + nobody + c,
        "nono-supervise run": lambda c: [supervise, "run", "--user", "nobody", "--allow-cwd",
                                         "--"] + c,
    }
    if bwrap:
        tools["bubblewrap"] = lambda c: [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc",
                                         "/proc", "--unshare-net", "--unshare-pid",
                                         "--unshare-user", "--uid", "65534", "--gid", "65534",
                                         "--die-with-parent"] + c
    was = audit()
    results = {}
    try:
        for state in (0, 1):
            audit(state)
            for name, argv in cmds:
                for tool, wrap in tools.items():
                    if tool != "nono-supervise run" and state == 1:
                        continue  # the others do not read audit
                    timed(wrap(argv), work)  # warm caches
                times = {t: [] for t in tools}
                for _ in range(rounds):
                    for tool, wrap in tools.items():
                        if tool != "nono-supervise run" and state == 1:
                            continue
                        times[tool].append(timed(wrap(argv), work))
                for tool, ts in times.items():
                    if ts:
                        label = tool + (" (audit on)" if state else "")
                        results.setdefault(name, []).append((label, ts))
    finally:
        audit(was)
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nstart to exit of one sandboxed command, {rounds} rounds each, interleaved "
          f"(kernel audit put back to {'on' if was else 'off'})")
    print(f"{'command':<12} {'tool':<32} {'median':>9} {'p90':>9} {'vs bubblewrap':>14}")
    for name, rows in results.items():
        anchor = next((statistics.median(ts) for label, ts in rows if label == "bubblewrap"), None)
        for label, ts in rows:
            ts = sorted(ts)
            med = statistics.median(ts)
            p90 = ts[int(len(ts) * 0.9) - 1]
            ratio = f"x{med / anchor:.2f}" if anchor else "n/a"
            print(f"{name:<12} {label:<32} {med:7.2f}ms {p90:7.2f}ms {ratio:>14}")
    if not bwrap:
        print("bubblewrap is not installed (apt-get install bubblewrap): no ratio")


if __name__ == "__main__":
    main()
