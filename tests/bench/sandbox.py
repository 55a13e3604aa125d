#!/usr/bin/env python3
"""Sandbox benchmark (issue 3 section 4): sandboxed spawn against plain spawn, real daemon.

Run through tests/bench/sandbox.sh (or tests/bench/run.sh --sandbox). Runs as root.

  spawn   one service at a time, interleaved plain / sandboxed (/ plain as nobody):
          t0 just before `nonoctl -S SOCK start NAME` (waits for RUNNING), then the service's
          log file is polled every 0.2 ms, concurrently with nonoctl, until the "out up" line
          written for this spawn appears -> spawn-to-first-output (external wall clock). Also the
          supervisor's own stamps, "nono started pid N" -> "out up" (ms resolution; starts after
          the policy is compiled, so it leaves that part out). Then `nonoctl stop NAME`.
  start100  100 services in one ini, all stopped (autostart = false): `nonoctl start all
          --timeout 60s` -> returns (all RUNNING; with start_secs = 0 that is right after the
          fork), and -> every one of the 100 logs shows "out up" (sandbox set up and exec'd).
          One daemon for the 100 sandboxed, one for the 100 plain, rounds alternate.

The service is a tiny C program (up.c) that write()s "up\\n" at once and then pause()s; it
lives in a 0755 temp dir. The default profile grants nothing under /tmp for reading, so the
sandboxed services get one extra grant `read = <that dir>` (one more Landlock rule).
Every process started here is killed at exit (daemon trees by pid + start time, and any
process still running our up binary).
"""
import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from bench import alive, children, pct, read, starttime, stat_fields, tree  # noqa: E402  /proc helpers


def log(msg):
    print(f"[sandbox-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def summary(xs):
    return {"n": len(xs), "median": statistics.median(xs), "p95": pct(xs, 0.95),
            "min": min(xs), "max": max(xs)}


def stamp_ms(line):
    """'2026-12-04T19:39:26.123Z ...' -> ms since midnight UTC (both stamps are on one day
    or the caller sees a huge value and drops it)."""
    t = line.split(" ", 1)[0]
    hh, mm, ss = t[11:13], t[14:16], t[17:23]
    return (int(hh) * 3600 + int(mm) * 60) * 1000 + round(float(ss) * 1000)


class Daemon:
    def __init__(self, bench, name, services):
        """services: list of (service name, [ini lines])"""
        self.b = bench
        self.dir = os.path.join(bench.work, name)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)  # the working dir defaults to the ini's dir
        self.sock = os.path.join(self.dir, "ctl.sock")
        self.logdir = os.path.join(self.dir, "logs")
        lines = ["[supervisor]", f"socket = {self.sock}", f"log_dir = {self.logdir}", ""]
        for svc, extra in services:
            lines += [f"[service:{svc}]", f"command = {bench.up}", "autostart = false",
                      "restart = never", "start_secs = 0", *extra, ""]
        self.ini = os.path.join(self.dir, "services.ini")
        with open(self.ini, "w") as f:
            f.write("\n".join(lines))
        out = open(os.path.join(self.dir, "daemon.out"), "ab")
        self.popen = subprocess.Popen([bench.daemon, "-f", self.ini], stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True, cwd=self.dir)
        out.close()
        self.pid = self.popen.pid
        self.st = starttime(self.pid)
        bench.daemons.append(self)
        end = time.monotonic() + 15
        while True:
            if self.popen.poll() is not None:
                raise RuntimeError(f"nono-supervise exited {self.popen.returncode}: "
                                   f"{read(os.path.join(self.dir, 'daemon.out'))}")
            if os.path.exists(self.sock) and self.ctl("status", check=False).returncode in (0, 3):
                break
            if time.monotonic() > end:
                raise TimeoutError("nono-supervise control socket did not come up in 15 s")
            time.sleep(0.02)

    def ctl_argv(self, *args):
        return [self.b.ctlbin, "-S", self.sock, *args]

    def ctl(self, *args, timeout=90, check=True):
        r = subprocess.run(self.ctl_argv(*args), stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"nonoctl {' '.join(args[:3])}: exit {r.returncode}: "
                               f"{(r.stderr or r.stdout).strip()[:400]}")
        return r

    def logfile(self, svc):
        return os.path.join(self.logdir, f"{svc}.log")

    def stop(self):
        if self.pid is None:
            return
        snap = [(p, starttime(p)) for p in tree(self.pid)] if starttime(self.pid) == self.st else []
        try:
            if alive(self.pid):
                self.ctl("shutdown", timeout=20, check=False)
            end = time.monotonic() + 10
            while self.popen.poll() is None and time.monotonic() < end:
                time.sleep(0.05)
        except Exception:  # noqa: BLE001
            pass
        for p, st in snap:
            if st is not None and starttime(p) == st:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        try:
            self.popen.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass
        self.pid = None


def size(path):
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def read_from(path, off):
    try:
        with open(path, "rb") as f:
            f.seek(off)
            return f.read()
    except OSError:
        return b""


class Bench:
    def __init__(self, a):
        self.a = a
        self.daemon = os.path.join(a.build, "supervisor", "nono-supervise")
        self.ctlbin = os.path.join(a.build, "supervisor", "nonoctl")
        for b in (self.daemon, self.ctlbin):
            if not os.access(b, os.X_OK):
                raise SystemExit(f"{b} not built (BUILD={a.build})")
        self.work = tempfile.mkdtemp(prefix="nono-sbx-bench.")
        os.chmod(self.work, 0o755)
        self.bindir = os.path.join(self.work, "bin")
        os.makedirs(self.bindir)
        os.chmod(self.bindir, 0o755)
        self.up = os.path.join(self.bindir, "up")
        r = subprocess.run(["cc", "-O2", "-o", self.up, os.path.join(HERE, "up.c")],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise SystemExit(f"cannot compile up.c: {r.stderr.strip()[:400]}")
        os.chmod(self.up, 0o755)
        self.daemons = []
        self.others = set()

    # service variants: (key, label, extra ini lines)
    def variants(self):
        v = [("plain", "plain (sandbox = off)", ["sandbox = off"]),
             ("sbx", "sandboxed (user = nobody, default profile)",
              ["user = nobody", f"read = {self.bindir}"])]
        if self.a.nobody_plain:
            v.insert(1, ("plain_nobody", "plain as nobody (sandbox = off, user = nobody)",
                         ["sandbox = off", "user = nobody"]))
        return v

    def cleanup(self):
        for d in self.daemons:
            try:
                d.stop()
            except Exception as e:  # noqa: BLE001
                log(f"stopping daemon {d.dir}: {e}")
        # anything still running our (uniquely placed) up binary
        for _ in range(3):
            found = []
            for p in os.listdir("/proc"):
                if p.isdigit():
                    try:
                        if os.readlink(f"/proc/{p}/exe") == self.up:
                            found.append(int(p))
                    except OSError:
                        pass
            if not found:
                break
            for p in found:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            log(f"killed {len(found)} leftover service process(es)")
            time.sleep(0.2)
        if self.a.keep:
            log(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    # ------------------------------------------------------------ (a) one spawn at a time

    def one_spawn(self, d, svc):
        path = d.logfile(svc)
        off = size(path)
        poll = self.a.poll_ms / 1000
        t0 = time.perf_counter()
        p = subprocess.Popen(d.ctl_argv("start", svc, "--timeout", "10s"),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        t_up = t_ret = None
        buf = b""
        end = t0 + 10
        while t_up is None or t_ret is None:
            now = time.perf_counter()
            if t_ret is None and p.poll() is not None:
                t_ret = now
            if t_up is None:
                buf = read_from(path, off)
                if b" out up\n" in buf:
                    t_up = time.perf_counter()
                elif b" nono failed" in buf:
                    p.wait(timeout=10)
                    raise RuntimeError(f"{svc} failed: {buf.decode(errors='replace').strip()}")
            if now > end:
                p.kill()
                p.wait()
                raise TimeoutError(f"{svc}: no 'out up' within 10 s; log: {buf[-300:]!r}")
            time.sleep(poll)
        out = p.communicate(timeout=10)[0]
        if p.returncode != 0:
            raise RuntimeError(f"nonoctl start {svc}: exit {p.returncode}: {out!r}")
        # the supervisor's own stamps for this spawn
        sup = None
        started = None
        for line in buf.decode(errors="replace").splitlines():
            if " nono started pid " in line and started is None:
                started = stamp_ms(line)
            elif line.endswith(" out up") and started is not None:
                sup = stamp_ms(line) - started
                break
        d.ctl("stop", svc, "--timeout", "10s", timeout=30)
        return (t_up - t0) * 1000, (t_ret - t0) * 1000, sup

    def bench_spawn(self):
        vs = self.variants()
        d = Daemon(self, "spawn", [(k, extra) for k, _, extra in vs])
        res = {k: {"up": [], "ret": [], "sup": []} for k, _, _ in vs}
        n = self.a.spawns
        warm = 3
        log(f"spawn: {n} spawns per variant (+{warm} warm-up), interleaved")
        for i in range(n + warm):
            order = vs if i % 2 == 0 else list(reversed(vs))
            for k, _, _ in order:
                up, ret, sup = self.one_spawn(d, k)
                if i >= warm:
                    res[k]["up"].append(up)
                    res[k]["ret"].append(ret)
                    if sup is not None and 0 <= sup < 60000:
                        res[k]["sup"].append(sup)
            if i % 20 == 0:
                scan_others(self)
            if self.a.pause_ms:
                time.sleep(self.a.pause_ms / 1000)
        d.stop()
        return res

    # ------------------------------------------------------------ (b) 100 at once

    def start_all(self, d, names):
        offs = {s: size(d.logfile(s)) for s in names}
        t0 = time.perf_counter()
        p = subprocess.Popen(d.ctl_argv("start", "all", "--timeout", "60s"),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        left = set(names)
        t_ret = t_up = None
        end = t0 + 90
        while t_ret is None or t_up is None:
            now = time.perf_counter()
            if t_ret is None and p.poll() is not None:
                t_ret = now
            if left:
                for s in list(left):
                    buf = read_from(d.logfile(s), offs[s])
                    if b" out up\n" in buf:
                        left.discard(s)
                    elif b" nono failed" in buf:
                        p.kill()
                        p.wait()
                        raise RuntimeError(f"{s} failed: {buf.decode(errors='replace').strip()}")
                if not left:
                    t_up = time.perf_counter()
            if now > end:
                p.kill()
                p.wait()
                raise TimeoutError(f"start all: {len(left)} not up after 90 s")
            time.sleep(0.001)
        out = p.communicate(timeout=10)[0]
        if p.returncode != 0:
            raise RuntimeError(f"nonoctl start all: exit {p.returncode}: {out[-400:]!r}")
        r = d.ctl("status", check=False)
        bad = [ln for ln in r.stdout.splitlines() if "RUNNING" not in ln]
        if r.returncode != 0 or bad:
            raise RuntimeError(f"after start all, not all RUNNING: {bad[:3]}")
        d.ctl("stop", "all", "--timeout", "60s", timeout=120)
        return (t_ret - t0) * 1000, (t_up - t0) * 1000

    def bench_start100(self):
        n = self.a.services
        sides = [("plain", ["sandbox = off"]),
                 ("sbx", ["user = nobody", f"read = {self.bindir}"])]
        ds = {}
        for k, extra in sides:
            names = [f"{k}{i:03d}" for i in range(n)]
            ds[k] = (Daemon(self, f"all-{k}", [(s, extra) for s in names]), names)
        res = {k: {"ret": [], "up": []} for k, _ in sides}
        log(f"start100: {n} services, {self.a.rounds} rounds per side (+1 warm-up), alternating")
        for i in range(self.a.rounds + 1):
            order = sides if i % 2 == 0 else list(reversed(sides))
            for k, _ in order:
                d, names = ds[k]
                ret, up = self.start_all(d, names)
                log(f"  round {i}{' (warm-up)' if i == 0 else ''} {k}: start all returned "
                    f"{ret:.1f} ms, all up {up:.1f} ms")
                if i > 0:
                    res[k]["ret"].append(ret)
                    res[k]["up"].append(up)
                scan_others(self)
                time.sleep(0.5)
        for d, _ in ds.values():
            d.stop()
        return res


# ---------------------------------------------------------------- output

def fms(v):
    return "-" if v is None else (f"{v:.2f}" if v < 100 else f"{v:.0f}")


def print_table(rows, out=sys.stdout):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(r):
        return "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                         for i, c in enumerate(r))
    print(line(rows[0]), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in rows[1:]:
        print(line(r), file=out)


def other_daemons(b):
    """nono-supervise processes seen during the run that are not ours"""
    return b.others


def scan_others(b):
    mine = {d.pid for d in b.daemons if d.pid} | {d.popen.pid for d in b.daemons}
    for p in os.listdir("/proc"):
        if p.isdigit() and int(p) not in mine and read(f"/proc/{p}/comm") == "nono-supervise\n":
            f = stat_fields(p)
            if f and int(f[1]) not in mine:  # not one of our exec helpers
                b.others.add(int(p))


def report(b, spawn, start100, elapsed, load0):
    cpu = "?"
    for line in (read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    print()
    print(f"nono-supervise sandbox benchmark  ({platform.node()}, {os.cpu_count()} CPU {cpu}, "
          f"kernel {platform.release()}, {elapsed:.0f} s, load avg at start {load0}, "
          f"at end {(read('/proc/loadavg') or '?').split()[0]})")
    others = other_daemons(b)
    if others:
        print(f"note: {len(others)} other nono-supervise process(es) ran on this machine during "
              f"the run (not ours; expect noise): pids {' '.join(map(str, sorted(others)[:8]))}")
    print()
    head = ["measurement", "plain", "sandboxed", "ratio", "sandbox cost", "goal"]
    rows = [head]
    if spawn:
        def add(label, key, goal=None):
            p, s = spawn["plain"][key], spawn["sbx"][key]
            if not p or not s:
                return
            ps, ss = summary(p), summary(s)
            cost = ss["median"] - ps["median"]
            g = ""
            if goal is not None:
                g = f"<= +{goal} ms " + ("ok" if cost <= goal else "MISSED")
            rows.append([f"{label}, median ms", fms(ps["median"]), fms(ss["median"]),
                         f"x{ss['median'] / ps['median']:.2f}", f"{cost:+.2f} ms", g])
            rows.append([f"{label}, p95 ms", fms(ps["p95"]), fms(ss["p95"]),
                         f"x{ss['p95'] / ps['p95']:.2f}", f"{ss['p95'] - ps['p95']:+.2f} ms", ""])
        n = len(spawn["plain"]["up"])
        add(f"spawn -> first output (wall, {n} spawns)", "up", 3)
        add("  supervisor stamps: started -> out (1 ms res.)", "sup")
        add("  nonoctl start returns (RUNNING)", "ret")
    if start100:
        n = b.a.services
        for key, label in (("ret", f"{n} at once: start all returns (all RUNNING)"),
                           ("up", f"{n} at once: all {n} printed 'up'")):
            p, s = start100["plain"][key], start100["sbx"][key]
            pm, sm = statistics.median(p), statistics.median(s)
            rows.append([f"{label}, median ms ({len(p)} rounds)", fms(pm), fms(sm),
                         f"x{sm / pm:.2f}", f"{sm - pm:+.0f} ms",
                         f"{(sm - pm) / n:+.2f} ms/service"])
            rows.append([f"  min / max ms", f"{fms(min(p))} / {fms(max(p))}",
                         f"{fms(min(s))} / {fms(max(s))}", "", "", ""])
    print_table(rows)
    print()
    print("plain = `sandbox = off` (runs as root); sandboxed = `user = nobody`, default profile "
          "(+ `read = <bench bin dir>` so it may exec the bench binary), i.e. private netns "
          "+ proxy listener, Landlock, seccomp, dropped privileges")
    print("ratio = sandboxed / plain; sandbox cost = sandboxed - plain (difference of medians, "
          "resp. of p95s)")
    if spawn:
        print(f"spawn: one service at a time, plain and sandboxed interleaved in one daemon, "
              f"{b.a.spawns} spawns each after 3 warm-up; t0 = just before `nonoctl start NAME` "
              f"(which includes nonoctl's own exec, the same on both sides); first output = the "
              f"'out up' line seen in <log_dir>/NAME.log, polled every {b.a.poll_ms} ms; "
              f"service = write(1, \"up\\n\") then pause()")
        print("supervisor stamps: 'nono started pid' -> 'out up' in the log, ms resolution; "
              "'started' is logged after the policy was compiled, so this row leaves the "
              "compile out")
        if "plain_nobody" in spawn:
            x = spawn["plain_nobody"]["up"]
            if x:
                s = summary(x)
                print(f"plain as nobody (sandbox = off, user = nobody): spawn -> first output "
                      f"median {fms(s['median'])} ms, p95 {fms(s['p95'])} ms")
        for k in ("plain", "sbx"):
            s = summary(spawn[k]["up"])
            print(f"spawn -> first output, {k}: min {fms(s['min'])} ms, max {fms(s['max'])} ms")
    if start100:
        print(f"{b.a.services} at once: one daemon per side with {b.a.services} services "
              f"(autostart = false, start_secs = 0), `nonoctl start all --timeout 60s` from "
              f"stopped, {b.a.rounds} rounds per side after 1 warm-up, sides alternating; "
              f"'returns' = all RUNNING (with start_secs = 0: right after each fork), 'printed "
              f"up' = every log shows 'out up' (sandbox built and service exec'd), polled every "
              f"1 ms")
        for k in ("plain", "sbx"):
            print(f"{b.a.services} at once, {k}, all rounds: start all returned " +
                  " ".join(fms(v) for v in start100[k]["ret"]) + " ms; all up " +
                  " ".join(fms(v) for v in start100[k]["up"]) + " ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("BUILD") or os.path.join(ROOT, "build"))
    ap.add_argument("--spawns", type=int, default=100, help="spawns per variant (>= 50)")
    ap.add_argument("--services", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=15, help="start-all rounds per side")
    ap.add_argument("--poll-ms", type=float, default=0.2)
    ap.add_argument("--pause-ms", type=float, default=0, help="pause between spawn trials")
    ap.add_argument("--steps", default="spawn,start100")
    ap.add_argument("--nobody-plain", action="store_true",
                    help="also time plain spawn as user nobody (attributes the user switch)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--quick", action="store_true", help="50 spawns, 5 rounds")
    ap.add_argument("--sandbox", action="store_true", help=argparse.SUPPRESS)  # from run.sh
    ap.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.quick:
        a.spawns, a.rounds = 50, 5
    if os.geteuid() != 0:
        raise SystemExit("sandbox benchmark: run as root (user = nobody needs it)")
    steps = set(a.steps.split(","))

    def on_signal(sig, frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    load0 = (read("/proc/loadavg") or "?").split()[0]
    t_start = time.monotonic()
    b = Bench(a)
    spawn = start100 = None
    rc = 0
    try:
        if "spawn" in steps:
            spawn = b.bench_spawn()
        if "start100" in steps:
            start100 = b.bench_start100()
    except Exception as e:  # noqa: BLE001
        log(f"error: {e}")
        rc = 1
    finally:
        b.cleanup()
    if spawn or start100:
        report(b, spawn, start100, time.monotonic() - t_start, load0)
    return rc


if __name__ == "__main__":
    sys.exit(main())
