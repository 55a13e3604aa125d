#!/usr/bin/env python3
"""Credential proxy benchmark: direct vs nono-supervise's proxy vs nginx, one fake upstream.

Run through tests/bench/proxy.sh (or tests/bench/run.sh --proxy). Runs as root.

One fake upstream (upstream.c: HTTPS on 127.0.0.1 with a throwaway CA made by the openssl CLI,
ECDSA P-256, one thread per connection) answers POST /v1/chat/completions with a small
OpenAI-style JSON, or with an SSE stream for "stream":true (first event at once, then more
events 20 ms apart). It answers 401 unless Authorization is "Bearer <the real key>", so every
path is checked to put the real key on, and counts the TLS connections it accepted (how well a
proxy reuses its upstream connections).
The daemon's binaries (and profiles/) are copied at the start, so that one run measures one
daemon even while the tree is rebuilt.

  direct  client -> upstream over TLS, sending the real key (the reference)
  nono    client -> http://127.0.0.1:8383/openai/v1/chat/completions with the phantom token,
          run with `nsenter -t PID -n` in the network namespace of a sandboxed service
          (`sleep infinity`, user = nobody, profile = default, credentials = openai), whose pid
          comes from `nonoctl status --json` and phantom from /proc/PID/environ
          -> the daemon -> upstream (TLS, verified against the CA)
  nginx   client -> nginx on plain HTTP 127.0.0.1 -> upstream (proxy_ssl_verify on, keepalive,
          proxy_buffering off, Authorization set to the real key), worker_processes 1

Measurements (paths interleaved in rounds so that drift hits all alike):
  c=1      latency of sequential keep-alive requests (client.c: write -> whole reply, µs);
           added = path - direct (difference of the p50s, resp. p99s)
  c=64     requests/s with `wrk -t1 -c64 --latency` (and c=128: a second client of 64 joins a
           running one), wrk's errors, the proxy's CPU time per request, upstream connections
  SSE      request written -> first `data:` line read, median; overhead vs direct
  RSS      VmRSS of the nono-supervise process with 100 such services and 1,000 idle client
           connections (10 per service, a client per netns), then after one request on each,
           then after they are closed; nginx (master + worker) with 1,000 idle connections
"""
import argparse
import hashlib
import json
import os
import platform
import re
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the tree
from bench import alive, cpu_s, pct, read, rss_kib, starttime, tree  # noqa: E402  /proc helpers

PATHS = ("direct", "nono", "nginx")
LABELS = {"direct": "direct", "nono": "nono-supervise", "nginx": "nginx"}
SSE_EVENTS, SSE_DELAY_MS = 3, 20
VERBOSE = False


def log(msg):
    print(f"[proxy-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def vlog(msg):
    if VERBOSE:
        log(msg)


def status_kib(pid, key):
    for line in (read(f"/proc/{pid}/status") or "").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def nofile_soft(pid):
    for line in (read(f"/proc/{pid}/limits") or "").splitlines():
        if line.startswith("Max open files"):
            return line.split()[3]
    return "?"


def nfds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def kill_tree(pid, st, sig=signal.SIGKILL):
    """pid (if it is still the process started at st) and everything below it."""
    if pid is None or starttime(pid) != st:
        return
    for p in reversed(tree(pid)):
        try:
            os.kill(p, sig)
        except OSError:
            pass


def sweep(work):
    """Kill whatever a run with this work dir left: our binaries, our daemons, our nginx."""
    work = os.path.realpath(work)
    me = os.getpid()
    killed = 0
    for _ in range(3):
        found = set()
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == me:
                continue
            try:
                exe = os.readlink(f"/proc/{d}/exe")
            except OSError:
                exe = ""
            cmd = (read(f"/proc/{d}/cmdline", "rb") or b"").replace(b"\0", b" ")
            if exe.startswith(work + "/") or (work.encode() + b"/") in cmd:
                found.update(tree(int(d)))
        found.discard(me)
        if not found:
            break
        for p in found:
            try:
                os.kill(p, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.2)
    return killed


def run(argv, timeout=60, env=None, check=True):
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout, env=env)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])}...: exit {r.returncode}: "
                           f"{(r.stderr or r.stdout).strip()[-600:]}")
    return r


# ---------------------------------------------------------------- nono-supervise

class Daemon:
    """A nono-supervise with n services `sleep infinity` holding the credential 'openai'."""

    def __init__(self, b, name, n):
        self.b = b
        self.dir = os.path.join(b.work, name)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)  # the services' working dir (the ini's dir), as nobody
        self.sock = os.path.join(self.dir, "ctl.sock")
        self.logdir = os.path.join(self.dir, "logs")
        self.names = [f"svc{i:03d}" for i in range(n)]
        lines = ["[supervisor]", f"socket = {self.sock}", f"log_dir = {self.logdir}", "",
                 "[credential:openai]", f"source = file:{b.keyfile}",
                 f"upstream = https://127.0.0.1:{b.up_port}/v1", f"ca = {b.ca}", ""]
        for s in self.names:
            lines += [f"[service:{s}]", "command = sleep infinity", "user = nobody",
                      "profile = default", "credentials = openai", "restart = never",
                      "start_secs = 0", ""]
        self.ini = os.path.join(self.dir, "services.ini")
        with open(self.ini, "w") as f:
            f.write("\n".join(lines))
        self.out = os.path.join(self.dir, "daemon.out")
        with open(self.out, "ab") as out:
            self.popen = subprocess.Popen([b.daemon, "-f", self.ini], stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True, cwd=self.dir,
                                          env=dict(os.environ, NONO_PROFILES_DIR=b.profiles))
        self.pid = self.popen.pid
        self.st = starttime(self.pid)
        b.daemons.append(self)
        end = time.monotonic() + 15
        while not (os.path.exists(self.sock) and
                   self.ctl("status", check=False).returncode in (0, 3)):
            if self.popen.poll() is not None:
                raise RuntimeError(f"nono-supervise exited {self.popen.returncode}: "
                                   f"{read(self.out)}")
            if time.monotonic() > end:
                raise TimeoutError("nono-supervise's control socket did not come up in 15 s")
            time.sleep(0.02)

    def ctl(self, *args, timeout=60, check=True):
        return run([self.b.ctlbin, "-S", self.sock, *args], timeout=timeout, check=check)

    def services(self, timeout=60):
        """{name: (pid, phantom, base url)} once every service is RUNNING."""
        end = time.monotonic() + timeout
        while True:
            st = json.loads(self.ctl("status", "--json", check=False).stdout or "[]")
            if isinstance(st, dict):
                st = st.get("services", [])
            bad = [s for s in st if s.get("state") in ("FAILED", "EXITED", "BACKOFF")]
            if bad:
                raise RuntimeError(f"service '{bad[0]['name']}' is {bad[0]['state']}: "
                                   f"{bad[0].get('reason')}; log: "
                                   f"{(read(bad[0].get('log') or '') or '')[-400:]}")
            # RUNNING comes right after the fork (start_secs = 0): wait for the exec of sleep,
            # so that the netns, its listener and the environment are the service's
            if len(st) == len(self.names) and all(
                    s.get("state") == "RUNNING" and s.get("pid") and
                    (read(f"/proc/{s['pid']}/comm") or "").strip() == "sleep" for s in st):
                break
            if time.monotonic() > end:
                raise TimeoutError(f"not all {len(self.names)} services RUNNING after "
                                   f"{timeout} s")
            time.sleep(0.1)
        out = {}
        for s in st:
            env = dict(kv.split(b"=", 1) for kv in
                       (read(f"/proc/{s['pid']}/environ", "rb") or b"").split(b"\0") if b"=" in kv)
            phantom = env.get(b"OPENAI_API_KEY", b"").decode()
            url = env.get(b"OPENAI_BASE_URL", b"").decode()
            if not re.fullmatch(r"[0-9a-f]{64}", phantom):
                raise RuntimeError(f"service '{s['name']}' (pid {s['pid']}): OPENAI_API_KEY is "
                                   f"not a phantom token")
            m = re.fullmatch(r"http://(127\.0\.0\.1):(\d+)(/.*)", url)
            if not m:
                raise RuntimeError(f"service '{s['name']}': unexpected OPENAI_BASE_URL '{url}'")
            out[s["name"]] = (s["pid"], phantom, m)
        return out

    def audit_summary(self):
        counts = {}
        for line in (read(os.path.join(self.logdir, "audit.ndjson")) or "").splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                counts["torn"] = counts.get("torn", 0) + 1
                continue
            k = f"{r.get('decision')} {r.get('status')}"
            if r.get("decision") != "allow":
                k += f" ({r.get('reason')})"
            counts[k] = counts.get(k, 0) + 1
        return counts

    def stop(self):
        if self.pid is None:
            return
        snap = [(p, starttime(p)) for p in tree(self.pid)] if starttime(self.pid) == self.st else []
        if alive(self.pid):
            self.ctl("shutdown", timeout=30, check=False)
        end = time.monotonic() + 15
        while self.popen.poll() is None and time.monotonic() < end:
            time.sleep(0.05)
        for p, st in snap:
            kill_tree(p, st)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.pid = None


# ---------------------------------------------------------------- nginx

NGINX_CONF = """\
# nono-supervise proxy bench: a TLS reverse proxy to the fake upstream, like the daemon's route
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
worker_rlimit_nofile 8192;
events {{ worker_connections 4096; }}
http {{
	access_log off;
	client_body_temp_path {d}/body;
	proxy_temp_path {d}/proxy;
	fastcgi_temp_path {d}/fastcgi;
	uwsgi_temp_path {d}/uwsgi;
	scgi_temp_path {d}/scgi;
	upstream fake {{
		server 127.0.0.1:{port};
		keepalive 64;
	}}
	server {{
		listen 127.0.0.1:{listen};
		location / {{
			proxy_pass https://fake;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Authorization "Bearer {key}";
			proxy_ssl_verify on;
			proxy_ssl_trusted_certificate {ca};
			proxy_ssl_server_name on;
			proxy_ssl_name localhost;
			proxy_buffering off;
			proxy_request_buffering off;
		}}
	}}
}}
"""


class Nginx:
    def __init__(self, b):
        self.dir = os.path.join(b.work, "nginx")
        os.makedirs(self.dir)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_CONF.format(d=self.dir, port=b.up_port, listen=self.port, key=b.real,
                                      ca=b.ca))
        os.chmod(self.conf, 0o600)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.version = run([nginx, "-v"], check=False).stderr.strip().split("/")[-1]
        run([nginx, "-t", "-q", "-p", self.dir + "/", "-c", self.conf, "-e",
             os.path.join(self.dir, "error.log")])
        with open(os.path.join(self.dir, "nginx.out"), "ab") as out:
            self.popen = subprocess.Popen(
                [nginx, "-p", self.dir + "/", "-c", self.conf, "-e",
                 os.path.join(self.dir, "error.log")],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.pid = self.popen.pid
        self.st = starttime(self.pid)
        b.nginx = self
        end = time.monotonic() + 10
        while len(self.pids()) < 2 or not port_open(self.port):
            if self.popen.poll() is not None:
                raise RuntimeError(f"nginx exited {self.popen.returncode}: "
                                   f"{read(os.path.join(self.dir, 'error.log'))}")
            if time.monotonic() > end:
                raise TimeoutError("nginx did not come up in 10 s")
            time.sleep(0.02)
        self.snap = [(p, starttime(p)) for p in self.pids()]

    def pids(self):
        return tree(self.pid) if self.pid and starttime(self.pid) == self.st else []

    def rss_kib(self):
        return sum(rss_kib(p) for p in self.pids())

    def stop(self):
        if self.pid is None:
            return
        snap = self.snap + [(p, starttime(p)) for p in self.pids()]
        try:
            os.kill(self.pid, signal.SIGQUIT)
            self.popen.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for p, st in snap:
            kill_tree(p, st)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.pid = None


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    import socket
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


# ---------------------------------------------------------------- clients holding connections

class Holder:
    """`client hold`: N idle connections, one request on each on demand (see client.c)."""

    def __init__(self, b, argv_prefix, port, n, auth):
        self.n = n
        self.popen = subprocess.Popen([*argv_prefix, b.client, "hold", "127.0.0.1", str(port),
                                       str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, env=b.env(auth))
        self.st = starttime(self.popen.pid)
        b.holders.append(self)
        self.buf = b""
        self.lines = []  # (monotonic time, line)
        os.set_blocking(self.popen.stdout.fileno(), False)

    def send(self, line):
        self.popen.stdin.write(line.encode() + b"\n")
        self.popen.stdin.flush()

    def count(self, prefix):
        return sum(1 for _, ln in self.lines if ln.startswith(prefix))

    def stop(self):
        if self.popen.poll() is None:
            try:
                self.send("quit")
                self.popen.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                kill_tree(self.popen.pid, self.st)
                self.popen.wait(timeout=5)


def pump(holders, timeout, done):
    """Read the holders' output until done() or timeout; False on timeout."""
    sel = selectors.DefaultSelector()
    for h in holders:
        if h.popen.stdout and not h.popen.stdout.closed:
            sel.register(h.popen.stdout, selectors.EVENT_READ, h)
    end = time.monotonic() + timeout
    try:
        while not done():
            left = end - time.monotonic()
            if left <= 0:
                return False
            for key, _ in sel.select(min(left, 0.2)):
                h = key.data
                try:
                    data = os.read(key.fileobj.fileno(), 65536)
                except BlockingIOError:
                    continue
                if not data:
                    sel.unregister(key.fileobj)
                    h.lines.append((time.monotonic(), "exited"))
                    continue
                h.buf += data
                while b"\n" in h.buf:
                    ln, h.buf = h.buf.split(b"\n", 1)
                    h.lines.append((time.monotonic(), ln.decode(errors="replace")))
                    if not ln.startswith((b"ready", b"done", b"closed")):
                        log(f"client (holder): {ln.decode(errors='replace')}")
        return True
    finally:
        sel.close()


# ---------------------------------------------------------------- the bench

class Bench:
    def __init__(self, a):
        self.a = a
        self.work = a.workdir
        self.daemon = os.path.join(a.build, "supervisor", "nono-supervise")
        self.ctlbin = os.path.join(a.build, "supervisor", "nonoctl")
        for x in (self.daemon, self.ctlbin):
            if not os.access(x, os.X_OK):
                raise SystemExit(f"{x} not built (BUILD={a.build}); hint: contrib/setup.sh build")
        for t in ("wrk", "nsenter", "openssl", "cc", "nginx"):
            if not shutil.which(t) and not os.access(f"/usr/sbin/{t}", os.X_OK):
                raise SystemExit(f"{t} missing; hint: apt-get install "
                                 f"{ {'nsenter': 'util-linux', 'cc': 'gcc'}.get(t, t) }")
        self.daemons, self.holders, self.nginx = [], [], None
        self.up_popen = None
        self.bindir = os.path.join(self.work, "bin")
        os.makedirs(self.bindir, exist_ok=True)
        os.chmod(self.bindir, 0o755)
        self.snapshot_daemon()
        self.upstream = self.compile("upstream.c", "nbupstream", ["-lpthread"])
        self.client = self.compile("client.c", "nbclient", [])
        self.make_certs()
        self.start_upstream()
        self.paths = {}

    def snapshot_daemon(self):
        """Run a copy: others may rebuild the tree meanwhile, and one run is one daemon."""
        src = os.path.dirname(self.daemon)
        st = os.stat(self.daemon)
        for name in ("nono-supervise", "nonoctl", "nono-exec", "nono-keyring"):
            if os.path.exists(os.path.join(src, name)):
                shutil.copy2(os.path.join(src, name), os.path.join(self.bindir, name))
        with open(os.path.join(self.bindir, "nono-supervise"), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:12]
        rev = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
        dirty = run(["git", "-C", ROOT, "status", "--porcelain", "--", "supervisor"],
                    check=False).stdout.strip()
        built = time.strftime("%H:%M:%S", time.localtime(st.st_mtime))
        self.build_info = (f"{self.daemon} built {built}, sha256 {digest}, tree {rev or '?'}"
                           f"{' + uncommitted changes in supervisor/' if dirty else ''}; "
                           "a copy of it (and of profiles/) ran for the whole run")
        self.daemon = os.path.join(self.bindir, "nono-supervise")
        self.ctlbin = os.path.join(self.bindir, "nonoctl")
        # the copy is outside the build dir: it would look for installed profiles
        self.profiles = os.path.join(self.work, "profiles")
        shutil.copytree(os.path.join(ROOT, "profiles"), self.profiles)

    def env(self, auth, extra=None):
        e = dict(os.environ)
        e.pop("NB_QUICKACK", None)
        if auth is not None:
            e["NB_AUTH"] = auth
        if extra:
            e.update(extra)
        return e

    def compile(self, src, name, libs):
        out = os.path.join(self.bindir, name)
        r = run(["cc", "-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-o", out,
                 os.path.join(HERE, src), "-lssl", "-lcrypto", *libs], timeout=120, check=False)
        if r.returncode != 0:
            raise SystemExit(f"cannot compile {src}: {r.stderr.strip()[:600]}\n"
                             f"hint: apt-get install gcc libssl-dev")
        return out

    def make_certs(self):
        d = os.path.join(self.work, "pki")
        os.makedirs(d)
        self.ca = os.path.join(d, "ca.pem")
        self.cert = os.path.join(d, "upstream.pem")
        self.certkey = os.path.join(d, "upstream.key")
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n"
                    "keyUsage = digitalSignature\nextendedKeyUsage = serverAuth\n")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        run(["openssl", "req", "-x509", *ec, "-keyout", os.path.join(d, "ca.key"), "-out",
             self.ca, "-days", "2", "-subj", "/CN=nono proxy bench CA"])
        run(["openssl", "req", *ec, "-keyout", self.certkey, "-out", os.path.join(d, "up.csr"),
             "-subj", "/CN=127.0.0.1"])
        run(["openssl", "x509", "-req", "-in", os.path.join(d, "up.csr"), "-CA", self.ca,
             "-CAkey", os.path.join(d, "ca.key"), "-CAcreateserial", "-out", self.cert,
             "-days", "2", "-extfile", ext])
        os.chmod(self.ca, 0o644)
        self.real = "sk-bench-" + os.urandom(24).hex()
        self.keyfile = os.path.join(d, "openai.key")
        fd = os.open(self.keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (self.real + "\n").encode())
        os.close(fd)

    def start_upstream(self):
        portfile = os.path.join(self.work, "upstream.port")
        self.statsfile = os.path.join(self.work, "upstream.stats")
        self.stats_seq = 0
        with open(os.path.join(self.work, "upstream.out"), "ab") as out:
            self.up_popen = subprocess.Popen(
                [self.upstream, self.cert, self.certkey, self.keyfile, portfile,
                 str(SSE_EVENTS), str(SSE_DELAY_MS), self.statsfile],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.up_st = starttime(self.up_popen.pid)
        end = time.monotonic() + 10
        while not (read(portfile) or "").strip():
            if self.up_popen.poll() is not None:
                raise RuntimeError("the fake upstream exited: "
                                   f"{read(os.path.join(self.work, 'upstream.out'))}")
            if time.monotonic() > end:
                raise TimeoutError("the fake upstream did not start")
            time.sleep(0.01)
        self.up_port = int(read(portfile))

    def up_stats(self):
        """(connections accepted, requests answered) by the upstream so far"""
        self.stats_seq += 1
        os.kill(self.up_popen.pid, signal.SIGUSR1)
        end = time.monotonic() + 5
        while True:
            v = (read(self.statsfile) or "").split()
            if len(v) == 3 and int(v[0]) >= self.stats_seq:
                return int(v[1]), int(v[2])
            if time.monotonic() > end:
                raise TimeoutError("the fake upstream did not write its counters")
            time.sleep(0.002)

    def counted(self, acc, k, fn):
        """fn(), adding the upstream connections and requests it caused to acc[k]"""
        c0, r0 = self.up_stats()
        out = fn()
        c1, r1 = self.up_stats()
        a = acc.setdefault(k, [0, 0])
        a[0] += c1 - c0
        a[1] += r1 - r0
        return out

    def cleanup(self):
        for h in self.holders:
            try:
                h.stop()
            except Exception:  # noqa: BLE001
                kill_tree(h.popen.pid, h.st)
        for x in [*self.daemons, self.nginx]:
            if x is not None:
                try:
                    x.stop()
                except Exception as e:  # noqa: BLE001
                    log(f"stopping {x}: {e}")
        if self.up_popen:
            kill_tree(self.up_popen.pid, self.up_st)
            self.up_popen.wait(timeout=5)
        n = sweep(self.work)
        if n:
            log(f"killed {n} leftover process(es)")

    # ------------------------------------------------------------ the three paths

    def setup_paths(self):
        d = Daemon(self, "one", 1)
        self.d1 = d
        pid, phantom, m = d.services()["svc000"]
        self.nono_svc = pid
        self.nginx = Nginx(self)
        self.paths = {
            "direct": {"prefix": [], "port": self.up_port, "path": "/v1/chat/completions",
                       "auth": self.real, "ca": [self.ca]},
            "nono": {"prefix": ["nsenter", "-t", str(pid), "-n", "--"], "port": int(m.group(2)),
                     "path": m.group(3) + "/chat/completions", "auth": phantom, "ca": []},
            "nginx": {"prefix": [], "port": self.nginx.port, "path": "/v1/chat/completions",
                      # nginx replaces it; the same length as the phantom, so the same bytes
                      "auth": "0" * 64, "ca": []},
        }
        log(f"upstream https://127.0.0.1:{self.up_port}, nono-supervise pid {d.pid} (service "
            f"pid {pid}, netns listener 127.0.0.1:{m.group(2)}), nginx {self.nginx.version} "
            f"pid {self.nginx.pid} on 127.0.0.1:{self.nginx.port}")

    def proxy_pids(self, k):
        if k == "nono":
            return [self.d1.pid]
        if k == "nginx":
            return self.nginx.pids()
        return []

    def run_client(self, k, mode, n, quickack=False):
        p = self.paths[k]
        argv = [*p["prefix"], self.client, mode, "127.0.0.1", str(p["port"]), p["path"], str(n),
                *p["ca"]]
        env = self.env(p["auth"], {"NB_QUICKACK": "1"} if quickack else None)
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           env=env, timeout=max(120, n * 0.5))
        vlog(f"{k} {mode} x{n}{' quickack' if quickack else ''}: {r.stderr.strip()}")
        if r.returncode != 0:
            raise RuntimeError(f"{LABELS[k]}: {r.stderr.strip()[-600:]}")
        rows = [[int(x) for x in ln.split()] for ln in r.stdout.splitlines()]
        if len(rows) != n:
            raise RuntimeError(f"{LABELS[k]}: {len(rows)} results for {n} requests")
        return rows

    def rounds(self, what, total, rounds, fn):
        """fn(path, n) per path, `rounds` rounds, path order rotating; {path: [results]}"""
        res = {k: [] for k in PATHS}
        per = max(1, total // rounds)
        for i in range(rounds):
            order = PATHS[i % 3:] + PATHS[:i % 3]
            for k in order:
                res[k] += fn(k, per)
            vlog(f"{what}: round {i + 1}/{rounds} done")
        return res

    def bench_latency(self):
        a = self.a
        log(f"c=1: {a.requests} sequential keep-alive requests per path in {a.rounds} rounds "
            f"(+{a.warmup} warm-up)")
        for k in PATHS:
            self.run_client(k, "lat", a.warmup)
        self.lat_up = {}
        res = self.rounds("c=1", a.requests, a.rounds, lambda k, n: self.counted(
            self.lat_up, k, lambda: [r[0] for r in self.run_client(k, "lat", n)]))
        n_qa = max(100, a.requests // 4)
        log(f"c=1 diagnosis: {n_qa} requests per path with TCP_QUICKACK on the client socket")
        qa = self.rounds("c=1 quickack", n_qa, 2,
                         lambda k, n: [r[0] for r in self.run_client(k, "lat", n, quickack=True)])
        return res, qa

    def bench_sse(self):
        a = self.a
        log(f"SSE: {a.sse} streams per path ({SSE_EVENTS + 2} events, {SSE_DELAY_MS} ms apart "
            f"after the first)")
        for k in PATHS:
            self.run_client(k, "sse", 3)
        return self.rounds("SSE", a.sse, 5, lambda k, n: self.run_client(k, "sse", n))

    def wrk_start(self, k, conns, secs):
        p = self.paths[k]
        scheme = "https" if p["ca"] else "http"
        url = f"{scheme}://127.0.0.1:{p['port']}{p['path']}"
        argv = [*p["prefix"], "wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency",
                "--timeout", "10s", "-s", self.lua, url]
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=self.env(p["auth"]))

    def wrk_result(self, k, w, secs, what):
        try:
            out = w.communicate(timeout=secs + 60)[0]
        except subprocess.TimeoutExpired:
            w.kill()
            out = w.communicate()[0]
        vlog(f"wrk {LABELS[k]} {what}:\n{out.rstrip()}")
        if w.returncode != 0 or "Requests/sec" not in out:
            raise RuntimeError(f"wrk {LABELS[k]}: exit {w.returncode}: {out.strip()[-400:]}")
        res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
               "requests": int(re.search(r"(\d+) requests in", out).group(1)), "errors": {}}
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        if m:
            for name, v in zip(("connect", "read", "write", "timeout"), m.groups()):
                if int(v):
                    res["errors"][name] = int(v)
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if m:
            res["errors"]["non-2xx"] = int(m.group(1))
        unit = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}
        for q in ("50", "99"):
            m = re.search(rf"\s{q}%\s+([\d.]+)(us|ms|s|m)\b", out)
            if m and res["requests"]:
                res[f"p{q}_ms"] = float(m.group(1)) * unit[m.group(2)]
        return res

    def wrk(self, k, conns, secs):
        """one wrk run, with the CPU time the proxy and the upstream took meanwhile"""
        pids = self.proxy_pids(k)
        cpu0 = sum(cpu_s(x) for x in pids)
        ucpu0 = cpu_s(self.up_popen.pid)
        acc = {}
        res = self.counted(acc, k, lambda: self.wrk_result(k, self.wrk_start(k, conns, secs),
                                                           secs, f"-c{conns}"))
        res["cpu_s"] = sum(cpu_s(x) for x in pids) - cpu0
        res["up_cpu_s"] = cpu_s(self.up_popen.pid) - ucpu0
        res["up_conns"], res["up_reqs"] = acc[k]
        return res

    def wrk_pair(self, k, secs):
        """c=128 as two clients of 64: the second starts 1 s into the first, ends with it"""
        acc = {}

        def pair():
            first = self.wrk_start(k, 64, secs + 2)
            time.sleep(1)
            second = self.wrk_start(k, 64, secs)
            r2 = self.wrk_result(k, second, secs, "-c64, the second client")
            r1 = self.wrk_result(k, first, secs + 2, "-c64, the first client")
            return {"first": r1, "second": r2}

        pids = self.proxy_pids(k)
        cpu0 = sum(cpu_s(x) for x in pids)
        res = self.counted(acc, k, pair)
        res["cpu_s"] = sum(cpu_s(x) for x in pids) - cpu0
        res["up_conns"], res["up_reqs"] = acc[k]
        return res

    def bench_throughput(self):
        a = self.a
        self.lua = os.path.join(self.work, "post.lua")
        with open(self.lua, "w") as f:
            f.write('wrk.method = "POST"\n'
                    'wrk.body = \'{"model":"gpt-4o-mini","messages":[{"role":"user",'
                    '"content":"Say hello"}]}\'\n'
                    'wrk.headers["Content-Type"] = "application/json"\n'
                    'wrk.headers["Authorization"] = "Bearer " .. os.getenv("NB_AUTH")\n')
        log(f"c=64: wrk -t1 -c64 -d{a.seconds}s per path, {a.wrk_rounds} round(s)")
        runs = {k: [] for k in PATHS}
        for i in range(a.wrk_rounds):
            for k in PATHS[i % 3:] + PATHS[:i % 3]:
                runs[k].append(self.wrk(k, 64, a.seconds))
                time.sleep(1)
        # the median round by requests/s
        out = {64: {k: sorted(v, key=lambda r: r["rps"])[len(v) // 2] | {
            "all_rps": [r["rps"] for r in v]} for k, v in runs.items()}}
        log(f"c=128 as two wrk -c64 per path, the second for {a.seconds_over} s, started 1 s "
            f"into the first")
        out[128] = {}
        for k in PATHS:
            out[128][k] = self.wrk_pair(k, a.seconds_over)
            time.sleep(1)
        rss = status_kib(self.d1.pid, "VmRSS")
        log(f"  nono-supervise VmRSS after the wrk runs: {rss / 1024:.1f} MiB, "
            f"peak {status_kib(self.d1.pid, 'VmHWM') / 1024:.1f} MiB")
        out["nono_rss_after"] = rss
        return out

    # ------------------------------------------------------------ RSS

    def hold_all(self, holders, label):
        t0 = time.monotonic()
        ok = pump(holders, 30, lambda: all(h.count("ready") or h.count("error") or
                                            h.count("exited") for h in holders))
        errs = [ln for h in holders for _, ln in h.lines if ln.startswith(("error", "exited"))]
        if not ok or errs:
            raise RuntimeError(f"{label}: clients not connected after {time.monotonic() - t0:.0f}"
                               f" s: {errs[:3]}")

    def request_all(self, holders, path, label):
        for h in holders:
            h.send(f"req {path}")
        ok = pump(holders, 60, lambda: all(h.count("done") or h.count("exited") for h in holders))
        done = [int(ln.split()[1]) for h in holders for _, ln in h.lines if ln.startswith("done")]
        errs = [ln for h in holders for _, ln in h.lines if ln.startswith(("error", "exited"))]
        if not ok or errs or sum(done) != sum(h.n for h in holders):
            raise RuntimeError(f"{label}: {sum(done)} of {sum(h.n for h in holders)} requests "
                               f"answered 200: {errs[:3]}")

    def bench_rss(self):
        a = self.a
        n, per = a.services, a.conns_per_service
        res = {}
        log(f"RSS: nono-supervise with {n} services, {per} idle connections each")
        d = Daemon(self, f"rss{n}", n)
        t0 = time.monotonic()
        svcs = d.services(timeout=120)
        log(f"  {n} services RUNNING after {time.monotonic() - t0:.1f} s")
        time.sleep(1)
        res["nofile"] = nofile_soft(d.pid)
        res["fds0"] = nfds(d.pid)
        res["rss0"] = status_kib(d.pid, "VmRSS")
        res["threads"] = status_kib(d.pid, "Threads")
        holders = []
        t_conn = time.monotonic()
        for name in d.names:
            pid, phantom, m = svcs[name]
            holders.append(Holder(self, ["nsenter", "-t", str(pid), "-n", "--"],
                                  int(m.group(2)), per, phantom))
        self.hold_all(holders, "nono")
        time.sleep(0.5)
        res["fds1"] = nfds(d.pid)
        res["rss1"] = status_kib(d.pid, "VmRSS")
        res["held_after_s"] = time.monotonic() - t_conn
        log(f"  {n * per} connections open ({res['held_after_s']:.1f} s after the first): "
            f"VmRSS {res['rss1'] / 1024:.1f} MiB, fds {res['fds0']} -> {res['fds1']}")
        # one request on each connection (then idle again, kept alive)
        t_req = time.monotonic()
        acc = {}
        self.counted(acc, "nono", lambda: self.request_all(
            holders, svcs[d.names[0]][2].group(3) + "/chat/completions", "nono"))
        res["up_conns"], res["up_reqs"] = acc["nono"]
        time.sleep(0.5)
        res["rss2"] = status_kib(d.pid, "VmRSS")
        res["fds2"] = nfds(d.pid)
        log(f"  after one request on each: VmRSS {res['rss2'] / 1024:.1f} MiB, fds {res['fds2']}")
        # the idle timeout: how long until the daemon closes them
        total = n * per
        pump(holders, a.idle_wait, lambda: sum(h.count("closed") for h in holders) >= total)
        closed = [(t, ln) for h in holders for t, ln in h.lines if ln.startswith("closed")]
        res["closed"] = len(closed)
        if closed:
            ts = sorted(t - t_req for t, _ in closed)
            res["closed_after"] = (ts[0], ts[-1])
        for h in holders:
            h.stop()
        time.sleep(1)
        res["rss3"] = status_kib(d.pid, "VmRSS")
        res["fds3"] = nfds(d.pid)
        log(f"  connections closed by the daemon: VmRSS {res['rss3'] / 1024:.1f} MiB, "
            f"fds {res['fds3']}")
        # a second round, closed by the clients this time: does the RSS grow again?
        holders = [Holder(self, ["nsenter", "-t", str(svcs[s][0]), "-n", "--"],
                          int(svcs[s][2].group(2)), per, svcs[s][1]) for s in d.names]
        self.hold_all(holders, "nono, second round")
        self.request_all(holders, svcs[d.names[0]][2].group(3) + "/chat/completions",
                         "nono, second round")
        res["rss4_open"] = status_kib(d.pid, "VmRSS")
        for h in holders:
            h.stop()
        time.sleep(1)
        res["rss4"] = status_kib(d.pid, "VmRSS")
        res["fds4"] = nfds(d.pid)
        log(f"  second round: VmRSS {res['rss4_open'] / 1024:.1f} MiB open, "
            f"{res['rss4'] / 1024:.1f} MiB closed, fds {res['fds4']}")
        res["hwm"] = status_kib(d.pid, "VmHWM")
        res["audit"] = d.audit_summary()
        res["daemon_log"] = [ln for ln in (read(d.out) or "").splitlines()
                             if re.search(r"error|warn|fail|refus|limit", ln, re.I)][:5]
        d.stop()

        log(f"RSS: nginx with {n * per} idle connections")
        ng = self.nginx
        res["ng_rss0"] = ng.rss_kib()
        holders = [Holder(self, [], ng.port, per, "0" * 64) for _ in range(n)]
        self.hold_all(holders, "nginx")
        time.sleep(0.5)
        res["ng_rss1"] = ng.rss_kib()
        self.counted(acc, "nginx", lambda: self.request_all(holders, "/v1/chat/completions",
                                                            "nginx"))
        res["ng_up_conns"], res["ng_up_reqs"] = acc["nginx"]
        time.sleep(0.5)
        res["ng_rss2"] = ng.rss_kib()
        for h in holders:
            h.stop()
        log(f"  nginx VmRSS (master + worker): {res['ng_rss0'] / 1024:.1f} -> "
            f"{res['ng_rss1'] / 1024:.1f} MiB (idle connections) -> {res['ng_rss2'] / 1024:.1f}"
            f" MiB (after one request each)")
        return res


# ---------------------------------------------------------------- output

def fus(v):
    if v is None:
        return "-"
    if abs(v) >= 10000:
        return f"{v / 1000:.1f} ms"
    return f"{v:.0f} µs"


def fadd(v):
    """a signed difference"""
    return "-" if v is None else ("+" if v >= 0 else "-") + fus(abs(v))


def print_table(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(r):
        return "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                         for i, c in enumerate(r))
    print(line(rows[0]))
    print("  ".join("-" * w for w in widths))
    for r in rows[1:]:
        print(line(r))


def lat_cell(r):
    if not r["requests"]:
        return "-"
    return f"{r.get('p50_ms', 0):.2f} / {r.get('p99_ms', 0):.1f} ms"


def err_cell(r):
    return ", ".join(f"{e} {v}" for e, v in r["errors"].items()) or "none"


def ratio(x, y):
    if x is None or y is None or y <= 0 or x < 0:
        return "-"
    return f"x{x / y:.2f}"


def report(b, lat, qa, sse, tput, rss, elapsed, load0, errors):
    a = b.a
    cpu = "?"
    for line in (read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    print()
    print(f"nono-supervise credential proxy benchmark  ({platform.node()}, {os.cpu_count()} CPU "
          f"{cpu}, kernel {platform.release()}, {'quick' if a.quick else 'full'} run, "
          f"{elapsed:.0f} s, load avg at start {load0}, at end "
          f"{(read('/proc/loadavg') or '?').split()[0]})")
    print(f"daemon: {b.build_info}")
    print()
    head = ["measurement", "direct", "nono-supervise", "nginx", "ratio nono/nginx", "goal"]
    rows = [head]

    def ok(good):
        return "ok" if good else "MISSED"

    if lat:
        p = {k: {"p50": pct(lat[k], 0.5), "p99": pct(lat[k], 0.99)} for k in PATHS}
        for q in ("p50", "p99"):
            rows.append([f"c=1 latency {q} ({len(lat['direct'])} requests each)",
                         fus(p["direct"][q]), fus(p["nono"][q]), fus(p["nginx"][q]),
                         ratio(p["nono"][q], p["nginx"][q]), ""])
            an = p["nono"][q] - p["direct"][q]
            ag = p["nginx"][q] - p["direct"][q]
            goal = ""
            if q == "p50":
                goal = f"<= x1.2 nginx's: {ok(an <= 1.2 * ag)}"
            rows.append([f"  added {q} vs direct", "", fadd(an), fadd(ag),
                         ratio(an, ag), goal])
    lu = getattr(b, "lat_up", None)
    if lat and lu:
        rows.append(["  upstream TLS connections per 1000 requests",
                     *(f"{1000 * lu[k][0] / max(1, lu[k][1]):.1f}" for k in PATHS), "", ""])
    if qa:
        p = {k: pct(qa[k], 0.5) for k in PATHS}
        rows.append([f"  diagnosis: added p50, client TCP_QUICKACK ({len(qa['direct'])} req.)",
                     fus(p["direct"]), fadd(p["nono"] - p["direct"]),
                     fadd(p["nginx"] - p["direct"]),
                     ratio(p["nono"] - p["direct"], p["nginx"] - p["direct"]), ""])
    if tput:
        t = tput[64]
        rows.append([f"requests/s at c=64 (wrk -t1, {a.seconds} s)", f"{t['direct']['rps']:.0f}",
                     f"{t['nono']['rps']:.0f}", f"{t['nginx']['rps']:.0f}",
                     ratio(t["nono"]["rps"], t["nginx"]["rps"]),
                     f">= x0.8 nginx's: {ok(t['nono']['rps'] >= 0.8 * t['nginx']['rps'])}"])
        rows.append(["  wrk latency p50 / p99 at c=64", *(lat_cell(t[k]) for k in PATHS), "", ""])
        rows.append(["  wrk errors at c=64", *(err_cell(t[k]) for k in PATHS), "", ""])
        cpus = {k: t[k]["cpu_s"] * 1e6 / max(1, t[k]["requests"]) for k in ("nono", "nginx")}
        rows.append(["  proxy CPU per request (user+sys)", "-", fus(cpus["nono"]),
                     fus(cpus["nginx"]), ratio(cpus["nono"], cpus["nginx"]), ""])
        rows.append(["  upstream TLS connections per 1000 requests",
                     *(f"{1000 * t[k]['up_conns'] / max(1, t[k]['up_reqs']):.1f}"
                       for k in PATHS), ratio(t["nono"]["up_conns"], t["nginx"]["up_conns"]), ""])
        ups = {k: t[k]["up_cpu_s"] * 1e6 / max(1, t[k]["requests"]) for k in PATHS}
        rows.append(["  upstream CPU per request", fus(ups["direct"]), fus(ups["nono"]),
                     fus(ups["nginx"]), ratio(ups["nono"], ups["nginx"]), ""])
        t = tput[128]
        rows.append([f"c=128 as 2 x wrk -c64: requests/s first + second client",
                     *(f"{t[k]['first']['rps']:.0f} + {t[k]['second']['rps']:.0f}"
                       for k in PATHS), "", ""])
        rows.append([f"  second client ({a.seconds_over} s, 1 s after the first): requests done",
                     *(str(t[k]["second"]["requests"]) for k in PATHS), "",
                     "" if t["nono"]["second"]["requests"] else "starved"])
        rows.append(["  second client: latency p50 / p99", *(lat_cell(t[k]["second"])
                                                            for k in PATHS), "", ""])
        rows.append(["  errors first / second client",
                     *(f"{err_cell(t[k]['first'])} / {err_cell(t[k]['second'])}"
                       for k in PATHS), "", ""])
        done = {k: t[k]["first"]["requests"] + t[k]["second"]["requests"] for k in PATHS}
        cpus = {k: t[k]["cpu_s"] * 1e6 / max(1, done[k]) for k in ("nono", "nginx")}
        rows.append(["  proxy CPU per request (user+sys)", "-", fus(cpus["nono"]),
                     fus(cpus["nginx"]), ratio(cpus["nono"], cpus["nginx"]), ""])
        rows.append(["  upstream TLS connections per 1000 requests",
                     *(f"{1000 * t[k]['up_conns'] / max(1, t[k]['up_reqs']):.1f}"
                       for k in PATHS), ratio(t["nono"]["up_conns"], t["nginx"]["up_conns"]), ""])
    if sse:
        f = {k: statistics.median(r[0] for r in sse[k]) for k in PATHS}
        tot = {k: statistics.median(r[1] for r in sse[k]) for k in PATHS}
        rows.append([f"SSE first event, median ({len(sse['direct'])} streams each)",
                     fus(f["direct"]), fus(f["nono"]), fus(f["nginx"]),
                     ratio(f["nono"], f["nginx"]), ""])
        rows.append(["  overhead vs direct", "", fadd(f["nono"] - f["direct"]),
                     fadd(f["nginx"] - f["direct"]),
                     ratio(f["nono"] - f["direct"], f["nginx"] - f["direct"]),
                     f"< 1 ms: {ok(f['nono'] - f['direct'] < 1000)}"])
        rows.append(["  first event p90",
                     *(fus(pct([r[0] for r in sse[k]], 0.9)) for k in PATHS), "", ""])
        rows.append([f"  whole stream, median ({SSE_EVENTS + 2} events)",
                     *(fus(tot[k]) for k in PATHS), "", ""])
    if rss:
        n, per = a.services, a.conns_per_service
        mib = lambda k: f"{k / 1024:.1f} MiB"  # noqa: E731
        rows.append([f"RSS, {n} services, no connection", "-", mib(rss["rss0"]),
                     mib(rss["ng_rss0"]) + " (idle)", ratio(rss["rss0"], rss["ng_rss0"]), ""])
        rows.append([f"RSS, + {n * per} idle connections", "-", mib(rss["rss1"]),
                     mib(rss["ng_rss1"]), ratio(rss["rss1"], rss["ng_rss1"]),
                     f"<= 16 MiB: {ok(rss['rss1'] <= 16 * 1024)}"])
        rows.append(["  after one request on each (kept alive)", "", mib(rss["rss2"]),
                     mib(rss["ng_rss2"]), ratio(rss["rss2"], rss["ng_rss2"]),
                     f"<= 16 MiB: {ok(rss['rss2'] <= 16 * 1024)}"])
        rows.append([f"  upstream TLS connections for those {n * per} requests", "",
                     str(rss["up_conns"]), str(rss["ng_up_conns"]),
                     ratio(rss["up_conns"], rss["ng_up_conns"]), ""])
        rows.append(["  after they are closed (idle timeout)", "", mib(rss["rss3"]), "", "", ""])
        rows.append(["  second round: open + one request each / closed", "",
                     f"{mib(rss['rss4_open'])} / {mib(rss['rss4'])}", "", "", ""])
        rows.append(["  peak (VmHWM)", "", mib(rss["hwm"]), "", "", ""])
    print_table(rows)
    print()
    print("direct = client -> upstream over TLS; nono-supervise = client in the service's netns -> "
          "127.0.0.1:8383 (phantom token) -> daemon -> upstream (TLS); nginx = client -> nginx "
          "(plain HTTP) -> upstream (TLS, keepalive 64)")
    print("nginx runs worker_processes 1: one worker, like the daemon's one loop thread "
          "(the daemon also has libuv's threadpool for getaddrinfo and the audit writer); "
          "both on the same 2-core machine as the client and the upstream, nothing pinned")
    if lat:
        print("c=1: client.c, one keep-alive connection per path, write -> whole reply; added = "
              "path minus direct (difference of the p50s, resp. p99s); rounds interleave the paths")
        print("the client does TLS itself only on the direct path (to the proxies it speaks plain "
              "HTTP), so 'added' leaves out that client-side TLS cost: the same for both proxies")
        print("upstream TLS connections = connections the fake upstream accepted (for direct at c=1: "
          "the client's own, one per client run)")
    print("diagnosis row: the same client with TCP_QUICKACK set before each read, so the "
              "client ACKs at once: shows the latency without a delayed-ACK / Nagle interaction")
    if tput:
        print("c=64: `wrk -t1 --latency` POST (Lua body), median of "
              f"{a.wrk_rounds} round(s); CPU per request = the process(es)' utime+stime during "
              "the run / requests wrk completed. c=128: a second wrk -c64 joins a running one "
              "(fairness, and the daemon's per-service connection limit: a connection over it "
              "waits in the kernel backlog or is answered 503, counted as non-2xx)")
        print("c=64 requests/s per round: " + "; ".join(
            f"{LABELS[k]} " + " ".join(f"{x:.0f}" for x in tput[64][k]["all_rps"])
            for k in PATHS))
        print(f"nono-supervise VmRSS after the wrk runs (one service): "
              f"{tput['nono_rss_after'] / 1024:.1f} MiB")
    if sse:
        print(f"SSE: \"stream\":true, the upstream sends its head and first event in one TLS "
              f"record at once, then {SSE_EVENTS} events and [DONE] {SSE_DELAY_MS} ms apart; "
              "first event = request written -> first read holding `data:`")
    if rss:
        print(f"RSS: VmRSS of the nono-supervise process alone (services and exec helpers not "
              f"counted), {a.services} sandboxed services `sleep infinity` with credentials = "
              f"openai; {a.conns_per_service} connections per service from one client process "
              f"per netns (nsenter), opened, then one request on each; nginx = master + worker "
              f"VmRSS (shared pages counted twice; worker_connections 4096 are allocated at "
              f"start), "
              f"after the throughput runs, the same clients from the root netns")
        print(f"daemon: {rss['threads']} threads, RLIMIT_NOFILE soft {rss['nofile']}, fds "
              f"{rss['fds0']} with {a.services} services idle, {rss['fds1']} with "
              f"{a.services * a.conns_per_service} connections, {rss['fds2']} after one request "
              f"each, {rss['fds3']} after they closed, {rss['fds4']} after the second round")
        if rss.get("nofile") not in ("?", "unlimited") and rss["fds1"] > int(rss["nofile"]):
            print("note: more fds than the soft RLIMIT_NOFILE would allow")
        if rss["fds2"] > 1024:
            print(f"note: {rss['fds2']} fds: past 1024, the common default soft RLIMIT_NOFILE "
                  f"(the daemon raises its soft limit to the hard one: {rss['nofile']} here)")
        if rss.get("closed_after"):
            lo, hi = rss["closed_after"]
            print(f"idle keep-alive connections closed by the daemon: {rss['closed']} of "
                  f"{a.services * a.conns_per_service}, {lo:.1f}-{hi:.1f} s after the requests "
                  f"(proxy_idle_timeout); the RSS rows were taken {rss['held_after_s']:.1f} s after "
                  "the first connect, within that")
        else:
            print(f"idle keep-alive connections closed by the daemon within {a.idle_wait} s: "
                  f"{rss.get('closed', 0)}")
        if rss.get("audit"):
            print("audit records of the 100-service daemon: " + ", ".join(
                f"{k}: {v}" for k, v in sorted(rss["audit"].items())))
        for ln in rss.get("daemon_log", []):
            print(f"daemon log: {ln[:200]}")
    if b.d1_audit:
        print("audit records of the one-service daemon: " + ", ".join(
            f"{k}: {v}" for k, v in sorted(b.d1_audit.items())))
    for ln in b.d1_log:
        print(f"daemon log: {ln[:200]}")
    for e in errors:
        print(f"error: {e}")


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("BUILD") or os.path.join(ROOT, "build"))
    ap.add_argument("--workdir", default="")
    ap.add_argument("--requests", type=int, default=2000, help="c=1 requests per path")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--sse", type=int, default=50, help="SSE streams per path")
    ap.add_argument("--seconds", type=int, default=10, help="wrk duration at c=64")
    ap.add_argument("--services", type=int, default=100)
    ap.add_argument("--conns-per-service", type=int, default=10)
    ap.add_argument("--steps", default="latency,sse,throughput,rss")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--quick", action="store_true", help="fewer requests, shorter runs")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--proxy", action="store_true", help=argparse.SUPPRESS)  # from run.sh
    ap.add_argument("--sweep", metavar="WORKDIR", help="only kill what a run left, then exit")
    a = ap.parse_args()
    if a.sweep:
        n = sweep(a.sweep)
        if n:
            log(f"swept {n} leftover process(es)")
        return 0
    VERBOSE = a.verbose
    a.warmup = 100
    a.wrk_rounds = 3
    a.seconds_over = 5
    a.idle_wait = 15
    if a.quick:
        a.requests, a.rounds, a.sse, a.seconds, a.wrk_rounds = 500, 2, 20, 4, 1
        a.seconds_over, a.warmup = 3, 50
    if os.geteuid() != 0:
        raise SystemExit("proxy benchmark: run as root")
    if not a.workdir:
        import tempfile
        a.workdir = tempfile.mkdtemp(prefix="nono-proxy-bench.")
        os.chmod(a.workdir, 0o755)
    steps = set(a.steps.split(","))

    def on_signal(sig, frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    load0 = (read("/proc/loadavg") or "?").split()[0]
    t_start = time.monotonic()
    lat = qa = sse = tput = rss = None
    errors = []
    b = Bench(a)
    b.d1_audit, b.d1_log = {}, []
    try:
        b.setup_paths()
        for step, fn in (("latency", b.bench_latency), ("sse", b.bench_sse),
                         ("throughput", b.bench_throughput)):
            if step in steps:
                try:
                    r = fn()
                except Exception as e:  # noqa: BLE001
                    log(f"error in {step}: {e}")
                    errors.append(f"{step}: {e}")
                    continue
                if step == "latency":
                    lat, qa = r
                elif step == "sse":
                    sse = r
                else:
                    tput = r
        time.sleep(0.5)
        b.d1_audit = b.d1.audit_summary()
        b.d1_log = [ln for ln in (read(b.d1.out) or "").splitlines()
                    if re.search(r"error|warn|fail|refus|limit", ln, re.I)][:5]
        b.d1.stop()
        if "rss" in steps:
            try:
                rss = b.bench_rss()
            except Exception as e:  # noqa: BLE001
                log(f"error in rss: {e}")
                errors.append(f"rss: {e}")
    except Exception as e:  # noqa: BLE001
        log(f"error: {e}")
        errors.append(str(e))
    finally:
        b.cleanup()
    if lat or sse or tput or rss:
        report(b, lat, qa, sse, tput, rss, time.monotonic() - t_start, load0, errors)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
