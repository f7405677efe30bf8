#!/usr/bin/env python3
"""Shared helpers of the benchmark harnesses (bench/scale_out.py, bench/run.py):
building, child processes, the receiver (bench/receiver.cpp), ferry nodes,
wrk and its output, HTTP calls to the admin API, /metrics and /proc figures,
the machine's description, and formatting of medians.

Python 3 standard library only. Every wait is bounded; every process started
through Proc is stopped by Proc.stop_all() (also on Ctrl-C through
run_main()).
"""

from __future__ import annotations

import datetime as _dt
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parents[1]

# A webhook-like payload of a fixed size: the body of fixed-body publishes
# (wrk) and, wrapped in an envelope, of the receiver's limit.
PUBLISH_BODY = json.dumps({"type": "bench.event",
                           "data": {"order": 1001, "amount": "19.90", "currency": "EUR",
                                    "note": "fixed benchmark payload"}}, separators=(",", ":"))


class BenchError(Exception):
    """A configuration could not be measured (the message says why)."""


# ---------------------------------------------------------------- output


_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


class Steps:
    """Progress over a run's scenarios, as a line before each: a bar on a
    terminal ("[#####.....] 5/18"), plain "step 5/18" otherwise. The bar is
    printed, not redrawn in place, because the scenarios log between steps."""

    WIDTH = 20

    def __init__(self, total: int, terminal: Optional[bool] = None):
        self.total = max(total, 1)
        self.done = 0
        self.terminal = sys.stderr.isatty() if terminal is None else terminal

    def line(self, what: str) -> str:
        self.done += 1
        count = f"{min(self.done, self.total)}/{self.total}"
        if not self.terminal:
            return f"step {count}: {what}"
        filled = min(self.done, self.total) * self.WIDTH // self.total
        return f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {count} {what}"

    def start(self, what: str) -> None:
        log(self.line(what))


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05,
               what: str = "condition") -> Any:
    """Polls predicate until truthy; raises BenchError after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_exc: Optional[BaseException] = None
    while True:
        try:
            value = predicate()
            last_exc = None
            if value:
                return value
        except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}"
                             + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(interval)


# ---------------------------------------------------------------- processes


class Proc:
    """A child process with its output in files; stop() is bounded."""

    registry: list["Proc"] = []

    def __init__(self, name: str, cmd: list[str], workdir: Path, env: Optional[dict] = None):
        self.name = name
        self.cmd = cmd
        self.stdout_path = workdir / f"{name}.stdout.log"
        self.stderr_path = workdir / f"{name}.stderr.log"
        self._stdout = open(self.stdout_path, "wb")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._stdout, stderr=self._stderr,
                                     env=env, cwd=str(workdir), start_new_session=True)
        Proc.registry.append(self)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_for_line(self, pattern: re.Pattern, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            text = self.stdout_path.read_text("utf-8", "replace")
            m = pattern.search(text)
            if m:
                return m
            if not self.alive():
                raise BenchError(f"{self.name} exited with code {self.proc.returncode} before starting: "
                                 f"{self.tail()}")
            if time.monotonic() >= deadline:
                raise BenchError(f"{self.name} did not start within {timeout:.0f}s: {self.tail()}")
            time.sleep(0.05)

    def tail(self, chars: int = 1500) -> str:
        out = []
        for path in (self.stdout_path, self.stderr_path):
            try:
                data = path.read_bytes()[-chars:].decode("utf-8", "replace").strip()
            except OSError:
                data = ""
            if data:
                out.append(f"[{path.name}] {data}")
        return "\n".join(out) or "(no output)"

    def stop(self, timeout: float = 30.0) -> Optional[str]:
        """SIGTERM, then SIGKILL after `timeout`. Returns a problem description or None."""
        problem = None
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                problem = f"{self.name} did not exit within {timeout:.0f}s of SIGTERM; killed"
                self.proc.kill()
                self.proc.wait(10)
        elif self.proc.returncode not in (0, None):
            problem = f"{self.name} had already exited with code {self.proc.returncode}"
        if problem is None and self.proc.returncode not in (0, -signal.SIGTERM):
            problem = f"{self.name} exited with code {self.proc.returncode} after SIGTERM"
        self._stdout.close()
        self._stderr.close()
        if self in Proc.registry:
            Proc.registry.remove(self)
        return problem

    @classmethod
    def stop_all(cls) -> None:
        for p in list(cls.registry):
            try:
                p.stop(timeout=10)
            except Exception as exc:  # cleanup must go on
                log(f"could not stop {p.name}: {exc!r}")


def run(cmd: list[str], timeout: float, env: Optional[dict] = None, check: bool = True,
        cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, cwd=cwd)
    if check and proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed with exit {proc.returncode}: "
                         f"{(proc.stdout + proc.stderr).decode('utf-8', 'replace')[-2000:]}")
    return proc


# ---------------------------------------------------------------- HTTP


def http_request(port: int, method: str, path: str, body: Any = None, token: Optional[str] = None,
                 timeout: float = 30.0, raw: Optional[bytes] = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {}
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode()
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=payload, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def http_json(port: int, method: str, path: str, body: Any = None, token: Optional[str] = None,
              expect: tuple = (200,), timeout: float = 30.0) -> Any:
    status, data = http_request(port, method, path, body, token, timeout)
    if status not in expect:
        raise BenchError(f"{method} {path} on :{port} answered {status}: {data[:500].decode('utf-8', 'replace')}")
    return json.loads(data) if data else None


class KeepAliveClient:
    """One keep-alive connection (for paced publishing)."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.token = token
        self.conn: Optional[http.client.HTTPConnection] = None

    def post(self, path: str, payload: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request("POST", path, body=payload,
                                  headers={"Content-Type": "application/json",
                                           "Authorization": f"Bearer {self.token}"})
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.close()
                return resp.status, data
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------- receiver


class Receiver:
    LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")

    def __init__(self, binary: Path, workdir: Path, threads: int):
        self.proc = Proc("receiver", [str(binary), "--listen", "127.0.0.1:0", "--threads", str(threads)], workdir)
        self.port = int(self.proc.wait_for_line(self.LISTENING, 10).group(1))
        self.webhook_path = "/webhooks"

    def stats(self) -> dict:
        return http_json(self.port, "GET", "/stats", timeout=10)

    def latencies(self) -> dict:
        return http_json(self.port, "GET", "/latencies", timeout=30)

    def ids(self) -> dict[str, int]:
        status, data = http_request(self.port, "GET", "/ids", timeout=60)
        if status != 200:
            raise BenchError(f"receiver /ids answered {status}")
        out = {}
        for line in data.decode().splitlines():
            if line:
                wid, _, count = line.rpartition(" ")
                out[wid] = int(count)
        return out

    def reset(self) -> None:
        status, _ = http_request(self.port, "DELETE", "/stats", timeout=10)
        if status != 204:
            raise BenchError(f"receiver reset answered {status}")

    def settle(self, quiet: float = 1.0, timeout: float = 30.0) -> dict:
        """Waits until no request arrived for `quiet` seconds; returns the stats."""
        last = self.stats()
        quiet_since = time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.stats()
            if now["count"] != last["count"]:
                last = now
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet:
                return now
        raise BenchError(f"receiver still receiving after {timeout:.0f}s")


def wait_delivered(receiver: Receiver, expected: int, timeout: float, what: str) -> dict:
    """Waits until the receiver saw `expected` distinct webhook ids; returns the stats.
    On timeout returns the stats so far (the caller reports what is missing)."""
    deadline = time.monotonic() + timeout
    stats = receiver.stats()
    while stats["unique_ids"] < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        stats = receiver.stats()
    if stats["unique_ids"] < expected:
        log(f"  ! {what}: only {stats['unique_ids']} of {expected} messages arrived within {timeout:.0f}s")
    return stats


def quarter_rates(receiver: Receiver) -> tuple[Optional[float], Optional[float]]:
    """Deliveries per second over the first and over the last quarter of the arrivals."""
    status, data = http_request(receiver.port, "GET", "/latencies?raw=1", timeout=60)
    if status != 200:
        return None, None
    arrivals = sorted(float(line.split()[1]) for line in data.decode().splitlines() if line)
    n = len(arrivals)
    if n < 40:
        return None, None
    q = n // 4
    first = arrivals[q] - arrivals[0]
    last = arrivals[-1] - arrivals[-1 - q]
    return (q / (first / 1000) if first > 0 else None), (q / (last / 1000) if last > 0 else None)


# ---------------------------------------------------------------- ferry nodes


class Node:
    LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")

    def __init__(self, name: str, binary: Path, workdir: Path, token: str, database: Optional[str],
                 extra_args: list[str], env: dict, data_dir: Optional[Path] = None):
        self.name = name
        self.token = token
        data_dir = data_dir or workdir / f"{name}-data"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        cmd = [str(binary), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir),
               "--admin-token", token, "--allow-targets", "127.0.0.0/8"]
        if database:
            cmd += ["--database", database]
        cmd += extra_args
        self.proc = Proc(name, cmd, workdir, env)
        self.port = 0

    def wait_listening(self, timeout: float = 60.0) -> None:
        self.port = int(self.proc.wait_for_line(self.LISTENING, timeout).group(1))

    @property
    def pid(self) -> int:
        return self.proc.proc.pid

    def metric(self, name: str) -> float:
        value = self.metrics().get(name)
        if value is None:
            raise BenchError(f"{self.name} /metrics has no {name}")
        return value

    def metrics(self) -> dict[str, float]:
        """Every sample of /metrics by its name with labels, e.g. 'ferry_attempts_total{outcome="success",...}'."""
        status, data = http_request(self.port, "GET", "/metrics", timeout=10)
        if status != 200:
            raise BenchError(f"{self.name} /metrics answered {status}")
        out = {}
        for m in re.finditer(r"^([A-Za-z_:][^ #\n]*) ([0-9.eE+-]+|NaN|[+-]Inf)$", data.decode(), re.M):
            out[m.group(1)] = float(m.group(2))
        return out


# ---------------------------------------------------------------- wrk


WRK_DONE = """
done = function(summary, latency, requests)
  io.write(string.format(
    'FERRY_WRK {"requests":%.0f,"duration_us":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,' ..
    '"status":%.0f,"timeout":%.0f,"lat_p50_us":%.0f,"lat_p99_us":%.0f,"lat_max_us":%.0f}\\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def lua_string(text: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


def write_lua(path: Path, method: str, body: Optional[str], headers: dict[str, str]) -> Path:
    lines = [f"wrk.method = {lua_string(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body)}")
    for k, v in headers.items():
        lines.append(f"wrk.headers[ {lua_string(k)} ] = {lua_string(v)}")
    path.write_text("\n".join(lines) + "\n" + WRK_DONE)
    return path


@dataclass
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int  # wrk's errors.status: responses with status >= 400
    socket_errors: int
    lat_p50_ms: float
    lat_p99_ms: float

    @property
    def ok(self) -> int:
        return self.requests - self.non_2xx

    @property
    def ok_per_s(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


def run_wrk_parallel(targets: list[tuple[str, Path]], connections: int, duration: float) -> list[WrkResult]:
    """One `wrk -t1` per (url, lua script), all at once; bounded wait."""
    procs = []
    for url, script in targets:
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
               "-s", str(script), url]
        procs.append((cmd, subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, start_new_session=True)))
    results = []
    problems = []
    outputs = []
    try:
        for cmd, p in procs:
            try:
                out, err = p.communicate(timeout=duration + 60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate(timeout=10)
                problems.append(f"{' '.join(cmd)} did not finish in time")
                continue
            outputs.append((cmd, p, out, err))
    finally:
        for _, p in procs:  # also on Ctrl-C: no wrk outlives the harness
            if p.poll() is None:
                p.kill()
                p.wait(10)
    for cmd, p, out, err in outputs:
        text = out.decode("utf-8", "replace")
        m = re.search(r"^FERRY_WRK (\{.*\})$", text, re.M)
        if p.returncode != 0 or not m:
            problems.append(f"{' '.join(cmd)} exit {p.returncode}: {text[-800:]} {err.decode('utf-8', 'replace')[-800:]}")
            continue
        d = json.loads(m.group(1))
        results.append(WrkResult(requests=int(d["requests"]), seconds=d["duration_us"] / 1e6,
                                 non_2xx=int(d["status"]),
                                 socket_errors=int(d["connect"] + d["read"] + d["write"] + d["timeout"]),
                                 lat_p50_ms=d["lat_p50_us"] / 1000, lat_p99_ms=d["lat_p99_us"] / 1000))
    if problems:
        raise BenchError("wrk failed: " + "; ".join(problems))
    return results


def receiver_limit(receiver: "Receiver", workdir: Path, connections: int, duration: float) -> WrkResult:
    """wrk POSTing a webhook-like body (Standard Webhooks envelope of PUBLISH_BODY) straight to the
    receiver; then waits until the receiver is quiet and forgets what it counted."""
    lua = write_lua(workdir / "receiver.lua", "POST",
                    json.dumps({"type": "bench.event", "timestamp": "2026-01-01T00:00:00.000Z",
                                "data": json.loads(PUBLISH_BODY)["data"]}, separators=(",", ":")),
                    {"Content-Type": "application/json", "webhook-id": "msg_wrk_limit"})
    result = run_wrk_parallel([(f"http://127.0.0.1:{receiver.port}/limit", lua)], connections, duration)[0]
    receiver.settle(quiet=0.2)
    receiver.reset()
    return result


def healthz_limit(ports: list[int], workdir: Path, connections: int, duration: float) -> list[WrkResult]:
    """One wrk per port on GET /healthz, all at once: the HTTP ceiling of the nodes."""
    lua = write_lua(workdir / "healthz.lua", "GET", None, {})
    return run_wrk_parallel([(f"http://127.0.0.1:{port}/healthz", lua) for port in ports], connections, duration)


class MissingTool(BenchError):
    """A tool the benchmark needs is not installed (and was not to be installed)."""


def ensure_wrk(install: bool = True) -> None:
    """Installs wrk with apt-get when it is missing (as root), unless `install` is false."""
    if shutil.which("wrk"):
        return
    if not install:
        raise MissingTool("wrk is not installed (apt-get install -y wrk)")
    if os.geteuid() != 0:
        raise BenchError("wrk is not installed and this is not root: apt-get install -y wrk")
    log("installing wrk (apt-get install -y wrk)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    proc = subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, timeout=600, env=env)
    if proc.returncode != 0:
        run(["apt-get", "update", "-q"], timeout=600, env=env)
        run(["apt-get", "install", "-y", "-q", "wrk"], timeout=600, env=env)
    if not shutil.which("wrk"):
        raise BenchError("wrk still missing after apt-get install")


DEFAULT_TARGETS = ("ferry", "ferry_bench_receiver")


def build(build_dir: Path, cmake_args: list[str], targets: tuple[str, ...] = DEFAULT_TARGETS,
          jobs: Optional[int] = None) -> None:
    """Configures `build_dir` as a Release build (Ninja when new) and builds `targets`."""
    log(f"building Release into {build_dir}")
    generator = [] if (build_dir / "CMakeCache.txt").exists() else ["-G", "Ninja"]
    run(["cmake", "-S", str(REPO), "-B", str(build_dir), *generator, "-DCMAKE_BUILD_TYPE=Release",
         "-DFERRY_BUILD_BENCH=ON", *cmake_args], timeout=600)
    cache = (build_dir / "CMakeCache.txt").read_text()
    if "CMAKE_BUILD_TYPE:STRING=Release" not in cache:
        raise BenchError(f"{build_dir} is not a Release build")
    run(["cmake", "--build", str(build_dir), *([f"-j{jobs}"] if jobs else []), "--target", *targets],
        timeout=3600)


def build_type_of(build_dir: Path) -> str:
    """CMAKE_BUILD_TYPE of a build directory, or "unknown"."""
    cache = build_dir / "CMakeCache.txt"
    m = re.search(r"^CMAKE_BUILD_TYPE:STRING=(.*)$", cache.read_text() if cache.exists() else "", re.M)
    return m.group(1) if m else "unknown"


def endpoint_concurrency(serve_args: list[str]) -> int:
    for i, arg in enumerate(serve_args):
        if arg.startswith("--endpoint-concurrency="):
            return int(arg.split("=", 1)[1])
        if arg == "--endpoint-concurrency" and i + 1 < len(serve_args):
            return int(serve_args[i + 1])
    return 8  # ferry serve's default


# ---------------------------------------------------------------- /proc


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (/proc/PID/stat utime + stime)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, key: str) -> Optional[int]:
    """A "kB" line of /proc/PID/status (VmRSS, VmHWM, ...) in KiB, or None."""
    try:
        m = re.search(rf"^{re.escape(key)}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    except OSError:
        return None
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------- report


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        m = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        if m:
            ram = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": nproc, "cpu": cpu, "ram": ram, "kernel": os.uname().release}


def lscpu_model() -> str:
    """`lscpu`'s "Model name" (falls back to /proc/cpuinfo's)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, timeout=10, env=dict(os.environ, LC_ALL="C"))
        m = re.search(r"^Model name:\s*(.+)$", out.stdout.decode("utf-8", "replace"), re.M)
        if m:
            return m.group(1).strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return machine()["cpu"]


def utc_now_text() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def filesystem_of(path: Path) -> str:
    """The type of the file system holding `path` (from /proc/mounts), e.g. ext4 or tmpfs."""
    best, fstype = "", "unknown"
    try:
        target = str(path.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3:
                mnt = parts[1].replace("\\040", " ")
                if (target == mnt or target.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
                    best, fstype = mnt, parts[2]
    except OSError:
        pass
    return fstype


def git_revision() -> str:
    try:
        rev = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], timeout=10).stdout.decode().strip()
        dirty = run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                    timeout=10).stdout.decode().strip()
        return rev + (" + uncommitted changes" if dirty else "")
    except (BenchError, subprocess.TimeoutExpired, OSError):
        return "unknown"


def median_of(values: list) -> Optional[float]:
    vals = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(vals) if vals else None


def fmt_rate(values: list) -> str:
    med = median_of(values)
    if med is None:
        return "n/a"
    vals = [v for v in values if isinstance(v, (int, float))]
    text = f"{med:,.0f}"
    if len(vals) > 1:
        text += f" ({min(vals):,.0f}–{max(vals):,.0f})"
    return text


def fmt_ratio(values: list) -> str:
    med = median_of(values)
    return "n/a" if med is None else f"{med:.2f}"


def fmt_ms(values: list) -> str:
    med = median_of(values)
    return "n/a" if med is None else f"{med:.0f}"


def write_benchmarks(section: str, title: str) -> Path:
    """Replaces the section "## <title>" of BENCHMARKS.md (up to the next "## " heading) with
    `section`, or appends it; other sections stay as they are."""
    path = REPO / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\nHow to reproduce: bench/README.md.\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")
    return path


# ---------------------------------------------------------------- main


def run_main(main: Callable[[list[str]], int], name: str) -> None:
    """Runs main(sys.argv[1:]) and exits with its status. SIGTERM ends the run like Ctrl-C;
    either way, and on a BenchError, every process started through Proc is stopped."""
    # SIGTERM ends the run like Ctrl-C: the finally blocks stop every process.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as exc:
        Proc.stop_all()
        print(f"{name}: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        Proc.stop_all()
        print(f"{name}: interrupted", file=sys.stderr)
        sys.exit(130)
