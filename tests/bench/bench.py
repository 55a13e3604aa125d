#!/usr/bin/env python3
"""Side-by-side benchmark: nono-supervise vs supervisord, runit and PM2.

Run through tests/bench/run.sh (installs the other tools, compiles the log writer).
Every process this script starts carries NONO_BENCH_TAG=<tag> in its environment and is
recorded by (pid, start time); all of them are ended at exit, whatever happens.

Measurements (each tool at its lowest restart delay, same trivial services):
  rss1 / rss100   VmRSS of the supervisor side (every process of the tool's tree that is not a
                  service process) with 1 and with 100 `sleep 100000` services
  restart         kill -9 of a service's child -> a new child (pid seen / exec'd the command),
                  polled from /proc/<parent>/task/*/children every 0.2 ms; one kill per service
  start           `start NAME` invocation -> child exec'd (the service was stopped first)
  status          wall time of the status command over 100 services
  log             64-byte lines from one service: lines/s until the marker written after the
                  last line shows in the log file, and supervisor-side CPU seconds per 1M lines
"""
import argparse
import glob
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TAG_VAR = "NONO_BENCH_TAG"
CLK = os.sysconf("SC_CLK_TCK")
SVC_COMMS = {"sleep", "nbwriter"}
WRITER_COMM = "nbwriter"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- /proc helpers

def read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def stat_fields(pid):
    """Fields after the comm: [state, ppid, ...]; index k here = stat field k+3."""
    s = read(f"/proc/{pid}/stat")
    if not s:
        return None
    return s[s.rindex(")") + 2:].split()


def starttime(pid):
    f = stat_fields(pid)
    return int(f[19]) if f else None


def ppid(pid):
    f = stat_fields(pid)
    return int(f[1]) if f else None


def alive(pid):
    f = stat_fields(pid)
    return bool(f) and f[0] not in ("Z", "X")


def comm(pid):
    c = read(f"/proc/{pid}/comm")
    return c.strip() if c else None


def cpu_s(pid):
    f = stat_fields(pid)
    return (int(f[11]) + int(f[12])) / CLK if f else 0.0


def pss_kib(pid):
    s = read(f"/proc/{pid}/smaps_rollup") or ""
    for line in s.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def rss_kib(pid):
    s = read(f"/proc/{pid}/status") or ""
    for line in s.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wchar(pid):
    s = read(f"/proc/{pid}/io") or ""
    for line in s.splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def child_files(pid):
    return glob.glob(f"/proc/{pid}/task/*/children")


def children(pid):
    out = []
    for f in child_files(pid):
        s = read(f)
        if s:
            out.extend(int(x) for x in s.split())
    return out


def tree(root):
    """root and all its descendants (live ones, by /proc children)."""
    seen, todo = [], [root]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo.extend(children(p))
    return seen


def split_tree(root):
    """(supervisor-side pids, service pids): service = sleep/writer processes and below."""
    sup, svc = [], []
    todo = [(root, False)]
    while todo:
        p, under = todo.pop()
        if not under and comm(p) in SVC_COMMS:
            under = True
        (svc if under else sup).append(p)
        todo.extend((c, under) for c in children(p))
    return sup, svc


# ---------------------------------------------------------------- process bookkeeping

class Procs:
    """Every process we start (and everything below it) gets killed at exit."""

    def __init__(self, tag):
        self.tag = tag
        self.known = {}  # pid -> starttime

    def env(self, extra=None):
        e = dict(os.environ)
        e[TAG_VAR] = self.tag
        if extra:
            e.update(extra)
        return e

    def note(self, pid):
        st = starttime(pid)
        if st is not None:
            self.known[pid] = st

    def note_tree(self, root):
        for p in tree(root):
            self.note(p)

    def same(self, pid, st):
        return starttime(pid) == st

    def kill_recorded(self):
        for pid, st in list(self.known.items()):
            if self.same(pid, st):
                for p in tree(pid):
                    self.note(p)
        for pid, st in list(self.known.items()):
            if self.same(pid, st):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def sweep(self):
        return sweep_tag(self.tag)


def sweep_tag(tag):
    """SIGKILL every process whose environment carries our tag (not us, not our ancestors)."""
    mine = set()
    p = os.getpid()
    while p and p > 1:
        mine.add(p)
        p = ppid(p)
    needle = f"{TAG_VAR}={tag}".encode()
    killed = 0
    for _ in range(3):
        found = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) in mine:
                continue
            env = read(f"/proc/{d}/environ", "rb")
            if env and needle in env.split(b"\0"):
                found.append(int(d))
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.2)
    return killed


PROCS = None


def run(argv, timeout=30, env=None, check=True, capture=True):
    r = subprocess.run(argv, env=env or PROCS.env(), timeout=timeout, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE if capture else subprocess.DEVNULL, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}...: exit {r.returncode}: "
                           f"{(r.stderr or r.stdout or '').strip()[:400]}")
    return r


def wait_for(pred, timeout, interval=0.02, what="condition"):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------- tools

class Tool:
    key = label = "?"
    restart_note = ""

    def __init__(self, workdir):
        self.base = os.path.join(workdir, self.key)
        self.root = None
        self.popen = None
        self.n = 0
        self.inst = 0

    def available(self):
        return True, ""

    # one instance: fresh dir, config with services [(name, command list)], log settings
    def new_dir(self):
        self.inst += 1
        d = os.path.join(self.base, f"i{self.inst}")
        os.makedirs(d)
        self.d = d
        return d

    def spawn(self, argv, extra_env=None, stdout_path=None):
        out = open(stdout_path or os.path.join(self.d, "daemon.out"), "ab")
        self.popen = subprocess.Popen(argv, env=PROCS.env(extra_env), stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                      cwd=self.d)
        out.close()
        PROCS.note(self.popen.pid)
        return self.popen.pid

    def service_procs(self):
        return split_tree(self.root)[1]

    def wait_services(self, n, timeout):
        def ok():
            PROCS.note_tree(self.root)
            if not alive(self.root):
                raise RuntimeError(f"{self.label} daemon died; see {self.d}")
            return sum(1 for p in self.service_procs() if comm(p) in SVC_COMMS) >= n
        wait_for(ok, timeout, 0.05, f"{n} {self.label} services running")

    def supervisor_side(self):
        return split_tree(self.root)[0]

    def stop_instance(self):
        if self.root is None:
            return
        PROCS.note_tree(self.root)
        snap = [(p, starttime(p)) for p in tree(self.root)]
        try:
            self.graceful()
            wait_for(lambda: not alive(self.root), 3, 0.05, "shutdown")
        except Exception:  # noqa: BLE001
            pass  # supervisord takes > 10 s to stop 100 services: kill the rest
        for p, st in snap:
            if st is not None and starttime(p) == st and alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        if self.popen:
            try:
                self.popen.wait(timeout=5)
            except Exception:  # noqa: BLE001
                pass
        self.root = None
        self.popen = None

    # to override: launch(services, logcfg), graceful(), pid_map(), stop_argv(name),
    # start_argv(name), status_argv(names), log_current(name), log_all(name)


class Nono(Tool):
    key, label = "nono", "nono-supervise"
    restart_note = "restart_delay=0 start_secs=0"

    def __init__(self, workdir, build):
        super().__init__(workdir)
        self.daemon = os.path.join(build, "supervisor", "nono-supervise")
        self.ctlbin = os.path.join(build, "supervisor", "nonoctl")

    def available(self):
        for b in (self.daemon, self.ctlbin):
            if not os.access(b, os.X_OK):
                return False, f"{b} not built"
        return True, ""

    def ctl(self, *args):
        return [self.ctlbin, "-S", self.sock, *args]

    def launch(self, services, logged=False):
        d = self.new_dir()
        self.sock = os.path.join(d, "ctl.sock")
        self.logdir = os.path.join(d, "logs")
        os.makedirs(self.logdir)
        lines = ["[supervisor]", f"socket = {self.sock}", f"log_dir = {self.logdir}", ""]
        for name, cmd in services:
            lines += [f"[service:{name}]", f"command = {' '.join(cmd)}",
                      f"restart = {'never' if logged else 'always'}", "restart_delay = 0",
                      "start_secs = 0", "start_limit = 1000/1s", "log_max_size = 10M",
                      # like for like: the other supervisors sandbox nothing
                      "log_backups = 5", "sandbox = off", ""]
        ini = os.path.join(d, "services.ini")
        with open(ini, "w") as f:
            f.write("\n".join(lines))
        self.root = self.spawn([self.daemon, "-f", ini])

        def up():
            if not alive(self.root):
                raise RuntimeError(f"nono-supervise exited: {read(os.path.join(d, 'daemon.out'))}")
            if not os.path.exists(self.sock):
                return False
            return run(self.ctl("status"), 5, check=False).returncode in (0, 3)
        wait_for(up, 15, 0.02, "nono-supervise control socket")

    def graceful(self):
        run(self.ctl("shutdown"), 15, check=False)

    def pid_map(self):
        r = run(self.ctl("status", "--json"), 10, check=False)
        data = json.loads(r.stdout)
        if isinstance(data, dict):
            data = data.get("services", [])
        return {s["name"]: s.get("pid") for s in data}

    def stop_argv(self, name):
        return self.ctl("stop", name)

    def start_argv(self, name):
        return self.ctl("start", name)

    def status_argv(self, names):
        return self.ctl("status")

    def log_current(self, name):
        return os.path.join(self.logdir, f"{name}.log")

    def log_all(self, name):
        return glob.glob(os.path.join(self.logdir, f"{name}.log*"))


class Supervisord(Tool):
    key, label = "supervisord", "supervisord"
    restart_note = "autorestart startsecs=0"

    def available(self):
        for b in ("/usr/bin/supervisord", "/usr/bin/supervisorctl"):
            if not os.access(b, os.X_OK):
                return False, f"{b} missing"
        return True, ""

    def ctl(self, *args):
        return ["/usr/bin/supervisorctl", "-c", self.conf, *args]

    def launch(self, services, logged=False):
        d = self.new_dir()
        self.logdir = os.path.join(d, "logs")
        os.makedirs(self.logdir)
        self.conf = os.path.join(d, "supervisord.conf")
        self.sock = os.path.join(d, "supervisor.sock")
        c = [
            "[unix_http_server]", f"file={self.sock}", "",
            "[supervisord]", "nodaemon=true", "user=root", f"logfile={d}/supervisord.log",
            f"pidfile={d}/supervisord.pid", f"childlogdir={self.logdir}", "loglevel=warn", "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
            "[supervisorctl]", f"serverurl=unix://{self.sock}", "",
        ]
        for name, cmd in services:
            c += [f"[program:{name}]", f"command={' '.join(cmd)}",
                  f"autorestart={'false' if logged else 'true'}", "startsecs=0",
                  "startretries=1000", "redirect_stderr=true",
                  f"stdout_logfile={self.logdir}/{name}.log", "stdout_logfile_maxbytes=10MB",
                  "stdout_logfile_backups=5", ""]
        with open(self.conf, "w") as f:
            f.write("\n".join(c))
        self.root = self.spawn(["/usr/bin/supervisord", "-n", "-c", self.conf])

        def up():
            if not alive(self.root):
                raise RuntimeError(f"supervisord exited: {read(os.path.join(d, 'daemon.out'))}")
            return os.path.exists(self.sock) and \
                run(self.ctl("status"), 10, check=False).returncode in (0, 3)
        wait_for(up, 20, 0.05, "supervisord socket")

    def graceful(self):
        run(self.ctl("shutdown"), 15, check=False)

    def pid_map(self):
        r = run(self.ctl("status"), 15, check=False)
        m = {}
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[2] == "pid":
                m[parts[0]] = int(parts[3].rstrip(","))
        return m

    def stop_argv(self, name):
        return self.ctl("stop", name)

    def start_argv(self, name):
        return self.ctl("start", name)

    def status_argv(self, names):
        return self.ctl("status")

    def log_current(self, name):
        return os.path.join(self.logdir, f"{name}.log")

    def log_all(self, name):
        return glob.glob(os.path.join(self.logdir, f"{name}.log*"))


class Runit(Tool):
    key, label = "runit", "runit"
    restart_note = "fixed: 1 s pause only if ./run lived < 1 s"
    SV = "/usr/bin/sv"

    def available(self):
        for b in ("/usr/bin/runsvdir", "/usr/bin/runsv", self.SV, "/usr/bin/svlogd"):
            if not os.access(b, os.X_OK):
                return False, f"{b} missing"
        return True, ""

    def env(self):
        return PROCS.env({"SVDIR": self.svdir})

    def launch(self, services, logged=False):
        d = self.new_dir()
        self.svdir = os.path.join(d, "service")
        os.makedirs(self.svdir)
        for name, cmd in services:
            sd = os.path.join(self.svdir, name)
            os.makedirs(sd)
            with open(os.path.join(sd, "run"), "w") as f:
                f.write("#!/bin/sh\nexec " + " ".join(cmd) + (" 2>&1\n" if logged else "\n"))
            os.chmod(os.path.join(sd, "run"), 0o755)
            if logged:
                ld = os.path.join(sd, "log")
                os.makedirs(os.path.join(ld, "main"))
                with open(os.path.join(ld, "run"), "w") as f:
                    f.write("#!/bin/sh\nexec /usr/bin/svlogd -tt ./main\n")
                os.chmod(os.path.join(ld, "run"), 0o755)
                with open(os.path.join(ld, "main", "config"), "w") as f:
                    f.write("s10000000\nn6\n")  # 10 MB x 5 old files + current
        self.logdirs = {name: os.path.join(self.svdir, name, "log", "main") for name, _ in services}
        self.root = self.spawn(["/usr/bin/runsvdir", self.svdir])

    def graceful(self):
        os.kill(self.root, signal.SIGHUP)  # runsvdir: TERM to every runsv, then exit

    def pid_map(self):
        m = {}
        for name in os.listdir(self.svdir):
            s = read(os.path.join(self.svdir, name, "supervise", "pid"))
            if s and s.strip():
                m[name] = int(s)
        return m

    def stop_argv(self, name):
        return [self.SV, "down", name]  # bench_start waits until the child is reaped

    def start_argv(self, name):
        return [self.SV, "up", name]

    def status_argv(self, names):
        return [self.SV, "status", *names]

    def log_current(self, name):
        return os.path.join(self.logdirs[name], "current")

    def log_all(self, name):
        d = self.logdirs[name]
        return [os.path.join(d, f) for f in os.listdir(d) if f == "current" or f.startswith("@")]


class PM2(Tool):
    key, label = "pm2", "PM2"
    restart_note = "restart_delay=0 min_uptime=0"

    def __init__(self, workdir, pm2bin):
        super().__init__(workdir)
        self.pm2 = pm2bin

    def available(self):
        if not self.pm2 or not os.access(self.pm2, os.X_OK):
            return False, "pm2 not installed"
        if not shutil.which("node"):
            return False, "node missing"
        return True, ""

    def env(self):
        return PROCS.env({"PM2_HOME": self.home})

    def cmd(self, *args):
        return [self.pm2, *args]

    def launch(self, services, logged=False):
        d = self.new_dir()
        self.home = os.path.join(d, "pm2home")
        self.logdir = os.path.join(d, "logs")
        os.makedirs(self.home)
        os.makedirs(self.logdir)
        apps = []
        for name, cmd in services:
            a = {"name": name, "script": cmd[0], "args": cmd[1:], "interpreter": "none",
                 "exec_mode": "fork", "autorestart": not logged, "restart_delay": 0,
                 "min_uptime": 0, "max_restarts": 1000000, "merge_logs": True,
                 "out_file": os.path.join(self.logdir, f"{name}.log"),
                 "error_file": os.path.join(self.logdir, f"{name}.log")}
            if logged:
                a["time"] = True
            apps.append(a)
        eco = os.path.join(d, "ecosystem.json")
        with open(eco, "w") as f:
            json.dump({"apps": apps}, f)
        run(self.cmd("start", eco), 120, env=self.env())
        pidf = os.path.join(self.home, "pm2.pid")
        wait_for(lambda: os.path.exists(pidf) and read(pidf).strip(), 10, 0.05, "pm2.pid")
        self.root = int(read(pidf).strip())
        PROCS.note(self.root)

    def graceful(self):
        run(self.cmd("kill"), 30, env=self.env(), check=False)

    def pid_map(self):
        r = run(self.cmd("jlist"), 30, env=self.env(), check=False)
        s = r.stdout
        data = json.loads(s[s.index("["):])
        return {a["name"]: a.get("pid") for a in data}

    def stop_argv(self, name):
        return self.cmd("stop", name)

    def start_argv(self, name):
        return self.cmd("start", name)

    def status_argv(self, names):
        return self.cmd("jlist")

    def log_current(self, name):
        return os.path.join(self.logdir, f"{name}.log")

    def log_all(self, name):
        return glob.glob(os.path.join(self.logdir, f"{name}.log*"))


def tool_env(tool):
    return tool.env() if hasattr(tool, "env") else PROCS.env()


# ---------------------------------------------------------------- measurements

def watch_new(files, before, t0, timeout):
    """Poll children files until a new pid appears and a new pid (or a child of one) has exec'd
    a service command. Returns (t_newpid, t_exec) in seconds since t0 (None on timeout)."""
    t_new = None
    deadline = t0 + timeout
    pc = time.perf_counter
    while True:
        new = []
        for f in files:
            try:
                with open(f) as fh:
                    s = fh.read()
            except OSError:
                continue
            for x in s.split():
                p = int(x)
                if p not in before:
                    new.append(p)
        now = pc()
        if new:
            if t_new is None:
                t_new = now - t0
            todo = list(new)
            while todo:
                p = todo.pop()
                if comm(p) in SVC_COMMS:
                    return t_new, pc() - t0
                todo.extend(children(p))
        if now > deadline:
            return t_new, None
        time.sleep(0.0002)


def parents_for(tool, old_pid):
    ps = []
    pp = ppid(old_pid) if old_pid else None
    if pp and pp > 1:
        ps.append(pp)
    if tool.root not in ps:
        ps.append(tool.root)
    return ps


def snapshot(files):
    s = set()
    for f in files:
        v = read(f)
        if v:
            s.update(int(x) for x in v.split())
    return s


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    return xs[max(0, math.ceil(q * len(xs)) - 1)]


def summary(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "p90": pct(xs, 0.9), "min": min(xs), "max": max(xs),
            "n": len(xs)}


def bench_restart(tool, names):
    pm = tool.pid_map()
    news, execs, fails = [], [], 0
    for name in names:
        old = pm.get(name)
        if not old or not alive(old):
            fails += 1
            continue
        parents = parents_for(tool, old)
        files = [f for p in parents for f in child_files(p)]
        before = snapshot(files)
        t0 = time.perf_counter()
        os.kill(old, signal.SIGKILL)
        t_new, t_exec = watch_new(files, before, t0, 5.0)
        if t_exec is None:
            fails += 1
        news.append(t_new * 1000 if t_new is not None else None)
        execs.append(t_exec * 1000 if t_exec is not None else None)
        PROCS.note_tree(tool.root)
        time.sleep(0.03)
    return {"newpid_ms": summary(news), "exec_ms": summary(execs), "failed": fails}


def bench_start(tool, names):
    pm = tool.pid_map()
    execs, cmds, fails = [], [], 0
    env = tool_env(tool)
    for name in names:
        old = pm.get(name)
        if not old or not alive(old):
            fails += 1
            continue
        parents = parents_for(tool, old)
        run(tool.stop_argv(name), 30, env=env, check=False)
        try:  # gone = reaped by its parent, not just dead
            wait_for(lambda: stat_fields(old) is None, 10, 0.002, f"{name} stopped")
        except TimeoutError:
            fails += 1
            continue
        time.sleep(0.05)
        parents = [p for p in parents if alive(p)] or [tool.root]
        files = [f for p in parents for f in child_files(p)]
        before = snapshot(files)
        argv = tool.start_argv(name)
        null = os.open(os.devnull, os.O_RDWR)
        fa = [(os.POSIX_SPAWN_DUP2, null, fd) for fd in (0, 1, 2)]
        t0 = time.perf_counter()  # spawned as a shell would: no subprocess overhead
        pid = os.posix_spawnp(argv[0], argv, env if env is not None else os.environ,
                              file_actions=fa)
        os.close(null)
        t_new, t_exec = watch_new(files, before, t0, 10.0)
        os.waitpid(pid, 0)  # every tool's start command has a timeout of its own
        cmds.append((time.perf_counter() - t0) * 1000)
        if t_exec is None:
            fails += 1
        execs.append(t_exec * 1000 if t_exec is not None else None)
        PROCS.note_tree(tool.root)
        time.sleep(0.03)
    return {"exec_ms": summary(execs), "cmd_ms": summary(cmds), "failed": fails}


def bench_status(tool, names, trials):
    argv = tool.status_argv(names)
    env = tool_env(tool)
    r = run(argv, 30, env=env, check=False)
    if r.returncode not in (0, 3):
        raise RuntimeError(f"status failed: exit {r.returncode}: {(r.stderr or r.stdout)[:300]}")
    run(argv, 30, env=env, check=False, capture=False)
    ts = [spawn_ms(argv, env) for _ in range(trials)]
    return {"ms": summary(ts), "out_lines": len(r.stdout.splitlines())}


def spawn_ms(argv, env):
    """Wall time of one command as a shell runs it (posix_spawn + wait, output to /dev/null):
    Python's subprocess adds a millisecond or more of its own."""
    null = os.open(os.devnull, os.O_RDWR)
    fa = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1),
          (os.POSIX_SPAWN_DUP2, null, 2)]
    try:
        t0 = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, env if env is not None else os.environ,
                              file_actions=fa)
        os.waitpid(pid, 0)
        return (time.perf_counter() - t0) * 1000
    finally:
        os.close(null)


def side_rss(tool):
    sup = tool.supervisor_side()
    return {"mib": sum(rss_kib(p) for p in sup) / 1024.0,
            "pss_mib": sum(pss_kib(p) for p in sup) / 1024.0, "procs": len(sup)}


def find_marker(paths, token):
    t = token.encode()
    for p in paths:
        try:
            with open(p, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - 512))
                tail = f.read()
        except OSError:
            continue
        if t in tail:
            return p, tail
    return None, None


def bench_log(tool, writer, lines, chunk, timeout, rounds):
    token = f"{os.getpid()}x{time.monotonic_ns()}"
    cmd = [writer, str(lines), "64", str(chunk), token]
    tool.launch([("logw", cmd)], logged=True)
    tool.wait_services(1, 30)
    wp = [p for p in tool.service_procs() if comm(p) == WRITER_COMM]
    if not wp:
        raise RuntimeError("writer process not found")
    wpid = wp[0]
    cur = tool.log_current("logw")
    out = []
    for r in range(1, rounds + 1):
        time.sleep(0.5)
        marker = f"END-{token}-{r}\n"
        sup = tool.supervisor_side()
        cpu0 = sum(cpu_s(p) for p in sup)
        w0 = sum(wchar(p) for p in sup)
        t0 = time.perf_counter()
        os.kill(wpid, signal.SIGUSR1)
        done, n, tail = None, 0, None
        while True:
            n += 1
            path, tail = find_marker([cur], marker)
            if not path and n % 50 == 0:
                path, tail = find_marker(tool.log_all("logw"), marker)
            t1 = time.perf_counter()
            if path:
                done = path
                break
            if t1 - t0 > timeout:
                break
            time.sleep(0.001)
        elapsed = t1 - t0
        cpu1 = sum(cpu_s(p) for p in sup)
        w1 = sum(wchar(p) for p in sup)
        # bytes one 64-byte line takes in the log (prefix included), from the last data line
        if tail is None:
            _, tail = find_marker([cur], "\n")
        per_line = None
        if tail:
            ls = [x for x in tail.split(b"\n") if b"abcdefghij" in x]
            if ls:
                per_line = len(ls[-1]) + 1
        delivered = (w1 - w0) / per_line if per_line else None
        res = {"elapsed_s": elapsed, "complete": bool(done), "bytes_per_line": per_line,
               "cpu_s": cpu1 - cpu0, "wchar": w1 - w0,
               "delivered_frac": (delivered / lines) if delivered else None}
        got = lines if done else (delivered or 0)
        res["lines_per_s"] = got / elapsed
        res["cpu_per_mline"] = (cpu1 - cpu0) / (got / 1e6) if got else None
        out.append(res)
        if not done:
            break  # the writer is still busy: later rounds would overlap
    tool.stop_instance()
    med = sorted(out, key=lambda x: x["lines_per_s"])[(len(out) - 1) // 2]
    res = dict(med)
    res.update({"lines": lines, "chunk": chunk, "rounds": out,
                "all_lines_per_s": [x["lines_per_s"] for x in out],
                "complete": all(x["complete"] for x in out)})
    return res


def bench_log_baseline(writer, lines, chunk, workdir, timeout):
    """The same writer into `cat > file` through a pipe: what the machine allows without a
    supervisor (an eager reader on a pipe pays a wakeup per small write)."""
    token = f"base{os.getpid()}x{time.monotonic_ns()}"
    path = os.path.join(workdir, f"baseline-{chunk}.log")
    with open(path, "wb") as out:
        w = subprocess.Popen([writer, str(lines), "64", str(chunk), token], env=PROCS.env(),
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        PROCS.note(w.pid)
        c = subprocess.Popen(["cat"], env=PROCS.env(), stdin=w.stdout, stdout=out)
        PROCS.note(c.pid)
        w.stdout.close()
    try:
        time.sleep(0.3)
        t0 = time.perf_counter()
        os.kill(w.pid, signal.SIGUSR1)
        ok = True
        while not find_marker([path], f"END-{token}-1\n")[0]:
            if time.perf_counter() - t0 > timeout:
                ok = False
                break
            time.sleep(0.001)
        el = time.perf_counter() - t0
        return {"lines": lines, "lines_per_s": lines / el if ok else None}
    finally:
        for p in (w, c):
            p.kill()
            p.wait()
        os.unlink(path)


# ---------------------------------------------------------------- driver

def bench_tool(tool, a, writer):
    res = {}
    names100 = [f"s{i:03d}" for i in range(1, 101)]
    sleep_cmd = ["/usr/bin/sleep", "100000"]

    def step(key, fn):
        log(f"{tool.label}: {key}")
        try:
            res[key] = fn()
        except Exception as e:  # noqa: BLE001
            res[key] = {"error": f"{type(e).__name__}: {e}"}
            log(f"{tool.label}: {key} failed: {e}")
            if a.verbose:
                traceback.print_exc()
            try:
                tool.stop_instance()
            except Exception:  # noqa: BLE001
                pass

    def rss1():
        tool.launch([("s001", sleep_cmd)])
        tool.wait_services(1, 30)
        time.sleep(a.settle)
        v = side_rss(tool)
        tool.stop_instance()
        return v
    if "rss" in a.steps:
        step("rss1", rss1)

    def rss100():
        tool.launch([(n, sleep_cmd) for n in names100])
        tool.wait_services(100, 90)
        time.sleep(a.settle)
        return side_rss(tool)
    if a.steps & {"rss", "status", "restart", "start"}:
        step("rss100", rss100)
    if tool.root is not None and "error" not in res.get("rss100", {}):
        if "status" in a.steps:
            step("status", lambda: bench_status(tool, names100, a.status_trials))
        if "restart" in a.steps:
            step("restart", lambda: bench_restart(tool, names100[:a.trials]))
        if tool.root is not None and "start" in a.steps:
            step("start", lambda: bench_start(tool, names100[a.trials:2 * a.trials]))
        tool.stop_instance()
    if writer and "log" in a.steps:
        # slow loggers get fewer lines so the run stays bounded (a rate is a rate)
        scale = {"nono": 1.0, "supervisord": 1.0, "runit": 0.5, "pm2": 0.25}[tool.key]
        n1 = max(10000, int(a.log_lines * scale))
        n64 = max(10000, int(a.log_lines * a.log64_factor * scale))
        step("log1", lambda: bench_log(tool, writer, n1, 1, a.log_timeout, a.log_rounds))
        step("log64k", lambda: bench_log(tool, writer, n64, 65536, a.log_timeout, a.log_rounds))
    return res


def fmt_num(v, unit=""):
    if v is None:
        return "-"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2f}M{unit}"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.0f}k{unit}"
    if abs(v) >= 100:
        return f"{v:.0f}{unit}"
    if abs(v) >= 10:
        return f"{v:.1f}{unit}"
    return f"{v:.2f}{unit}"


def build_rows(results, order):
    """rows: (label, getter(result)->(text, value_for_ratio) , goal text, goal check)"""
    def g(res, *path):
        for p in path:
            if not isinstance(res, dict) or p not in res:
                return None
            res = res[p]
        return res

    def err(res, key):
        return isinstance(res.get(key), dict) and "error" in res[key]

    def cell_rss(key, field="mib"):
        def f(res):
            if err(res, key):
                return "err", None
            v = g(res, key, field)
            if v is None:
                return "-", None
            np = g(res, key, "procs")
            return f"{v:.1f}" + (f" ({np}p)" if np and np > 1 else ""), v
        return f

    def cell_lat(key, sub):
        def f(res):
            if err(res, key):
                return "err", None
            s = g(res, key, sub)
            if not s:
                return "-", None
            fails = g(res, key, "failed") or 0
            t = f"{fmt_num(s['median'])} / {fmt_num(s['p90'])}"
            if fails:
                t += f" ({fails} fail)"
            return t, s["median"]
        return f

    def cell_log(key, field):
        def f(res):
            if err(res, key):
                return "err", None
            v = g(res, key, field)
            if v is None:
                return "-", None
            t = fmt_num(v) if field == "lines_per_s" else f"{v:.2f}"
            if field == "lines_per_s":
                if not g(res, key, "complete"):
                    t += " (timeout)"
                fr = g(res, key, "delivered_frac")
                if fr is not None and fr < 0.99 and g(res, key, "complete"):
                    t += f" ({fr * 100:.0f}% in log)"
            return t, v
        return f

    return [
        ("RSS, 1 service (MiB)", cell_rss("rss1"), None, None),
        ("RSS, 100 services (MiB)", cell_rss("rss100"), "<= 10", lambda v: v <= 10),
        ("PSS, 100 services (MiB)", cell_rss("rss100", "pss_mib"), None, None),
        ("kill -9 -> new pid, ms (med / p90)", cell_lat("restart", "newpid_ms"), "<= 3",
         lambda v: v <= 3),
        ("kill -9 -> child exec'd, ms (med / p90)", cell_lat("restart", "exec_ms"), "<= 3",
         lambda v: v <= 3),
        ("start cmd -> child exec'd, ms (med / p90)", cell_lat("start", "exec_ms"), "<= 3",
         lambda v: v <= 3),
        ("start cmd returns, ms (med / p90)", cell_lat("start", "cmd_ms"), None, None),
        ("status, 100 services, ms (med / p90)", cell_lat("status", "ms"), "<= 3",
         lambda v: v <= 3),
        ("log, 1 write/line: lines/s", cell_log("log1", "lines_per_s"), ">= 1.5M",
         lambda v: v >= 1.5e6),
        ("log, 1 write/line: CPU s / 1M lines", cell_log("log1", "cpu_per_mline"), None, None),
        ("log, 64 KiB writes: lines/s", cell_log("log64k", "lines_per_s"), ">= 4M",
         lambda v: v >= 4e6),
        ("log, 64 KiB writes: CPU s / 1M lines", cell_log("log64k", "cpu_per_mline"), None, None),
    ]


def print_table(results, order, labels, unavailable, out=sys.stdout):
    rows = build_rows(results, order)
    head = ["measurement"] + [labels[k] for k in order] + ["goal (nono)"]
    table = []
    for label, f, goal, ok in rows:
        base = None
        cells = []
        for k in order:
            if k in unavailable:
                cells.append("n/a")
                continue
            t, v = f(results.get(k, {}))
            if k == "nono":
                base = v
            elif v is not None and base:
                t += f" x{v / base:.2g}" if v / base < 10 else f" x{v / base:.0f}"
            cells.append(t)
        if goal:
            _, nv = f(results.get("nono", {})) if "nono" not in unavailable else (None, None)
            mark = "" if nv is None else (" ok" if ok(nv) else " MISSED")
            cells.append(goal + mark)
        else:
            cells.append("")
        table.append([label] + cells)
    widths = [max(len(r[i]) for r in [head] + table) for i in range(len(head))]

    def line(r):
        return "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                         for i, c in enumerate(r))
    print(line(head), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in table:
        print(line(r), file=out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("BUILD") or os.path.join(ROOT, "build"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tools", default="nono,supervisord,runit,pm2")
    ap.add_argument("--pm2", default="")
    ap.add_argument("--writer", default="")
    ap.add_argument("--tag", default="")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--json", default="")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--steps", default="rss,status,restart,start,log")
    ap.add_argument("--sweep", metavar="TAG", help="only kill leftovers carrying TAG, then exit")
    a = ap.parse_args()
    if a.sweep:
        n = sweep_tag(a.sweep)
        if n:
            log(f"swept {n} leftover process(es)")
        return 0

    a.steps = set(a.steps.split(","))
    a.log64_factor = 4
    a.trials = 20 if a.quick else 30
    a.status_trials = 10 if a.quick else 20
    a.log_lines = 1_000_000 if a.quick else 2_000_000
    a.log_timeout = 30 if a.quick else 60
    a.log_rounds = 1 if a.quick else 3
    a.settle = 1.0 if a.quick else 2.0

    global PROCS
    PROCS = Procs(a.tag or f"b{os.getpid()}-{time.time_ns()}")
    workdir = a.workdir or tempfile.mkdtemp(prefix="nono-bench.")
    os.makedirs(workdir, exist_ok=True)

    def on_signal(sig, frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    all_tools = {
        "nono": Nono(workdir, a.build),
        "supervisord": Supervisord(workdir),
        "runit": Runit(workdir),
        "pm2": PM2(workdir, a.pm2 or shutil.which("pm2")),
    }
    order = [k for k in ["nono", "supervisord", "runit", "pm2"]]
    want = set(a.tools.split(","))
    labels = {k: t.label for k, t in all_tools.items()}
    results, unavailable = {}, {}
    writer = a.writer if a.writer and os.access(a.writer, os.X_OK) else None
    if not writer:
        log("no log writer binary: log rows skipped")
    t_start = time.monotonic()
    load0 = (read("/proc/loadavg") or "?").split()[0]
    baseline = {}
    try:
        if writer and "log" in a.steps:
            log("baseline: writer | cat > file")
            for ch in (1, 65536):
                try:
                    baseline[ch] = bench_log_baseline(
                        writer, a.log_lines * (1 if ch == 1 else a.log64_factor), ch, workdir,
                        a.log_timeout)
                except Exception as e:  # noqa: BLE001
                    log(f"baseline failed: {e}")
        for k in order:
            t = all_tools[k]
            if k not in want:
                unavailable[k] = "not selected"
                continue
            ok, why = t.available()
            if not ok:
                unavailable[k] = why
                log(f"{t.label}: n/a ({why})")
                continue
            try:
                results[k] = bench_tool(t, a, writer)
            finally:
                t.stop_instance()
    finally:
        for t in all_tools.values():
            try:
                t.stop_instance()
            except Exception:  # noqa: BLE001
                pass
        PROCS.kill_recorded()
        n = PROCS.sweep()
        if n:
            log(f"killed {n} leftover process(es)")
        if not a.keep and not a.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    cpu = "?"
    for line in (read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    print(f"nono-supervise benchmark  ({platform.node()}, {os.cpu_count()} CPU {cpu}, "
          f"kernel {platform.release()}, {'quick' if a.quick else 'full'} run, "
          f"{time.monotonic() - t_start:.0f} s, load avg at start {load0})")
    print()
    print_table(results, order, labels, unavailable)
    print()
    print("cells: value, then xR = that tool's value / nono-supervise's value "
          "(lower is better for RSS/ms/CPU, higher for lines/s)")
    print(f"restart: one kill -9 per service ({a.trials} services), polled from "
          "/proc/PARENT/task/*/children every 0.2 ms; 'new pid' = forked, 'exec'd' = running "
          "the service binary")
    print(f"start: stop then `start NAME`, {a.trials} services; status: {a.status_trials} runs "
          "(nonoctl status | supervisorctl status | sv status x100 | pm2 jlist)")
    ln = {k: results.get(k, {}).get("log1", {}).get("lines") for k in order}
    print("log: 64-byte lines, lines = " + ", ".join(
        f"{labels[k]} {fmt_num(v)}" for k, v in ln.items() if v) +
        "; rotation 10 MB x 5 (PM2: none); timestamps on (supervisord: none)")
    for k in order:
        for key, what in (("log1", "1 write/line"), ("log64k", "64 KiB writes")):
            v = results.get(k, {}).get(key, {})
            if len(v.get("all_lines_per_s", [])) > 1:
                print(f"log rounds, {labels[k]}, {what}: " + " ".join(
                    fmt_num(x) for x in v["all_lines_per_s"]) + " lines/s (median shown)")
    if baseline:
        print("log ceiling on this machine, same writer | cat > file (no supervisor): " + ", ".join(
            f"{'1 write/line' if ch == 1 else '64 KiB writes'} {fmt_num(v.get('lines_per_s'))} lines/s"
            for ch, v in baseline.items()))
    base = sorted(spawn_ms(["/bin/true"], None) for _ in range(20))
    print(f"process start baseline, /bin/true timed the same way as status: {base[10]:.2f} ms")
    print("RSS: supervisor-side VmRSS summed over the tool's processes ((Np) = N processes); "
          "runit = runsvdir + runsv each, logs: svlogd")
    print("restart settings: " + "; ".join(
        f"{all_tools[k].label}: {all_tools[k].restart_note}" for k in order))
    for k, why in unavailable.items():
        if why != "not selected":
            print(f"n/a {labels[k]}: {why}")
    for k in order:
        for key, v in results.get(k, {}).items():
            if isinstance(v, dict) and "error" in v:
                print(f"error {labels[k]} {key}: {v['error']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"results": results, "unavailable": unavailable, "baseline": baseline}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
