#!/usr/bin/env python3
"""Ferry on one node (SQLite): the one-command performance benchmark.

    python3 bench/run.py                 # full run: every scenario, 3 runs, medians
    python3 bench/run.py --write         # ... and replace "## Ferry on one node (SQLite)" in BENCHMARKS.md
    python3 bench/run.py --quick         # smoke (CI): tiny sizes, 1 run, short phases, about a minute

Python 3 standard library only. It builds a Release binary into build-release
(ferry and the bench tools), installs `wrk` with apt-get if it is missing (and
nothing else), starts the receiver (bench/receiver.cpp) once, and per run:

  1. starts `ferry serve` on SQLite in a fresh data dir under --work-dir, with
     one workspace and one endpoint (no filter) pointing at the receiver;
  2. limits: wrk POSTing a webhook-like body straight to the receiver with as
     many connections as Ferry's endpoint concurrency, and wrk on /healthz;
  3. publish: single-message publishes at a sweep of connection counts (closed
     loop, ferry_bench_load), then the batch route; each followed by a wait
     until everything accepted has arrived;
  4. delivery: a backlog published through the batch route; the receiver's
     rate from the end of publishing to the last arrival;
  5. latency: single publishes at fixed offered rates (open loop); the
     receiver's arrival minus the publisher's send time (sent_us);
  6. fan-out: workspaces with many endpoints (created through the API), one
     message each: publish answered ("enqueued") and last arrival ("delivered");
  7. scaling: publish and delivery again with 10^4 .. 10^7 messages already
     stored (ferry_bench_seed, once per size, then reused);
  8. memory: peak RSS over the run, and with many deliveries pending behind an
     endpoint limited to 1 request/s;
  CPU seconds per 10,000 publishes and deliveries come from /proc/PID/stat.

Every wait is bounded, every process it started is stopped on the way out
(also on Ctrl-C), and the exit status is 1 when a scenario could not be
measured. Progress goes to stderr, the Markdown section to stdout.
bench/README.md explains every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from benchlib import (REPO, BenchError, Steps, KeepAliveClient, MissingTool, Node, Proc, Receiver, build, build_type_of,
                      cpu_seconds, endpoint_concurrency, ensure_wrk, filesystem_of, fmt_rate, fmt_ratio,
                      git_revision, healthz_limit, http_json, log, lscpu_model, machine, median_of, quarter_rates,
                      receiver_limit, run_main, status_kib, utc_now_text, wait_delivered, write_benchmarks)

SECTION_TITLE = "Ferry on one node (SQLite)"
WORKSPACE = "bench"
TARGETS = ("ferry", "ferry_bench_receiver", "ferry_bench_load", "ferry_bench_seed")
EXIT_MISSING_TOOL = 77  # ctest's SKIP_RETURN_CODE in bench/CMakeLists.txt
SCENARIOS = ("limits", "publish", "delivery", "latency", "fanout", "scaling", "memory")
# Bytes per stored message of ferry_bench_seed (message, delivery, attempt, indexes), measured; for the
# free-space check only.
SEED_BYTES_PER_MESSAGE = 1800


# ---------------------------------------------------------------- settings


def count_list(text: str) -> list[int]:
    """'1e4,1e6,1,000' style lists of whole numbers."""
    out = []
    for part in text.replace("_", "").split(","):
        part = part.strip()
        if part:
            value = float(part)
            if value < 0 or value != int(value):
                raise argparse.ArgumentTypeError(f"not a whole number: {part}")
            out.append(int(value))
    return out


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke: tiny sizes, 1 run, 2 s phases (about a minute); figures not to quote")
    p.add_argument("--runs", type=int, default=None, help="runs (default 3; --quick: 1); medians over them")
    p.add_argument("--duration", type=float, default=None, help="seconds per load phase (default 10; --quick: 2)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS),
                   help=f"comma-separated subset of {','.join(SCENARIOS)} (default all; limits always run)")
    p.add_argument("--connections", type=count_list, default=None,
                   help="closed-loop single-publish sweep, connections (default 8,32,128,256; --quick: 8,64)")
    p.add_argument("--batch-connections", type=count_list, default=None,
                   help="connections of the batch-route publish phases (default 2,4; --quick: 2)")
    p.add_argument("--batch-size", type=int, default=1000, help="messages per batch request (default 1000)")
    p.add_argument("--batch-cap", type=int, default=None,
                   help="at most this many messages per batch-route phase (default 100000; --quick: 5000)")
    p.add_argument("--backlog", type=int, default=None,
                   help="messages of the delivery backlog (default 50000; --quick: 2000)")
    p.add_argument("--latency-rates", type=count_list, default=None,
                   help="offered msg/s of the latency phases (default 500,2000,5000; --quick: 200,1000)")
    p.add_argument("--fanout", type=count_list, default=None,
                   help="endpoints of the fan-out workspaces (default 1000,10000; --quick: 100,500)")
    p.add_argument("--stored", type=count_list, default=None,
                   help="messages already stored for the scaling runs (default 1e4,1e6,1e7; --quick: 1e3,1e4)")
    p.add_argument("--scaling-connections", type=int, default=32,
                   help="connections of the scaling runs' publish phase (default 32)")
    p.add_argument("--pending", type=count_list, default=None,
                   help="deliveries left pending for the memory figure (default 1e6; --quick: 1e4)")
    p.add_argument("--payload-bytes", type=int, default=256, help="size of each published message's data (default 256)")
    p.add_argument("--limit-connections", type=int, default=32,
                   help="wrk connections for the /healthz limit (default 32)")
    p.add_argument("--drain-timeout", type=float, default=None,
                   help="longest wait for everything published to arrive, per phase (default 600; --quick: 60)")
    p.add_argument("--receiver-threads", type=int, default=1, help="io threads of the receiver (default 1)")
    p.add_argument("--load-threads", type=int, default=1, help="io threads of ferry_bench_load (default 1)")
    p.add_argument("--serve-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for every `ferry serve` (repeat: --serve-arg=--endpoint-concurrency "
                        "--serve-arg=16)")
    p.add_argument("--seed-cache", default=None, metavar="DIR",
                   help="keep the seeded data dirs of the scaling runs here and reuse them next time "
                        "(default: seeded into the work dir, removed at the end)")
    p.add_argument("--copy-limit-gib", type=float, default=4.0,
                   help="scaling: a seeded database up to this size is copied for every run so each starts from "
                        "exactly that count; a larger one is used in place (default 4)")
    p.add_argument("--build-dir", default=str(REPO / "build-release"), help="Release build dir (default build-release)")
    p.add_argument("--no-build", action="store_true", help="use the binaries already in --build-dir")
    p.add_argument("--no-install", action="store_true",
                   help=f"do not apt-get install a missing wrk; exit with status {EXIT_MISSING_TOOL} instead "
                        "(ctest counts that as skipped)")
    p.add_argument("--jobs", type=int, default=None, help="parallel build jobs (default: the build tool's)")
    p.add_argument("--cmake-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for configuring --build-dir (repeatable; kept in its CMake cache)")
    p.add_argument("--strict", action="store_true",
                   help="exit with status 1 also when a message went missing (the ctest smoke uses it)")
    p.add_argument("--write", action="store_true", help=f"write the section \"{SECTION_TITLE}\" into BENCHMARKS.md")
    p.add_argument("--json", metavar="FILE", help="also write every run's raw figures as JSON")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, data)")
    p.add_argument("--work-dir", default=None,
                   help="where the temporary directory (databases, logs) goes (default: the system's temp dir; "
                        "it must be on a real disk for fsync to cost what it does in production)")
    a = p.parse_args(argv)
    q = a.quick
    a.runs = a.runs or (1 if q else 3)
    a.duration = a.duration or (2.0 if q else 10.0)
    a.connections = a.connections or ([8, 64] if q else [8, 32, 128, 256])
    a.batch_connections = a.batch_connections or ([2] if q else [2, 4])
    a.batch_cap = a.batch_cap or (5000 if q else 100_000)
    a.backlog = a.backlog or (2000 if q else 50_000)
    a.latency_rates = a.latency_rates or ([200, 1000] if q else [500, 2000, 5000])
    a.fanout = a.fanout or ([100, 500] if q else [1000, 10_000])
    a.stored = a.stored or ([1000, 10_000] if q else [10_000, 1_000_000, 10_000_000])
    a.pending = (a.pending or ([10_000] if q else [1_000_000]))[0]
    a.drain_timeout = a.drain_timeout or (60.0 if q else 600.0)
    a.scenarios = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    for s in a.scenarios:
        if s not in SCENARIOS:
            p.error(f"unknown scenario {s!r} ({', '.join(SCENARIOS)})")
    if "limits" not in a.scenarios:
        a.scenarios.insert(0, "limits")  # every ratio needs them
    if a.runs < 1 or a.duration < 1 or a.backlog < 1 or a.batch_cap < 1 or a.payload_bytes < 0:
        p.error("--runs, --duration, --backlog and --batch-cap must be positive")
    if not 1 <= a.batch_size <= 1000:
        p.error("--batch-size must be 1..1000 (the batch route's limit)")
    if any(c < 1 for c in a.connections + a.batch_connections + a.latency_rates + a.fanout) or a.pending < 1:
        p.error("connections, rates, fan-out sizes and --pending must be positive")
    return a


# ---------------------------------------------------------------- the run's context


@dataclass
class Ctx:
    args: argparse.Namespace
    build_dir: Path
    workdir: Path
    receiver: Receiver
    token: str
    endpoint_concurrency: int
    seeded: dict[int, dict] = field(default_factory=dict)  # stored count -> seed template
    problems: list[str] = field(default_factory=list)
    steps: Steps = field(default_factory=lambda: Steps(1))

    def bin(self, name: str) -> Path:
        return self.build_dir / name if name == "ferry" else self.build_dir / "bench" / name

    def problem(self, run: int, scenario: str, text: str) -> None:
        self.problems.append(f"run {run}, {scenario}: {text}")
        log(f"  ! {scenario}: {text}")


class Ferry:
    """One `ferry serve` on SQLite in its own data dir."""

    def __init__(self, ctx: Ctx, name: str, run_dir: Path, data_dir: Optional[Path] = None,
                 start_timeout: float = 60.0):
        env = dict(os.environ)
        for key in [k for k in env if k.startswith("FERRY_")]:
            env.pop(key)  # only the flags below count
        t0 = time.monotonic()
        self.node = Node(name, ctx.bin("ferry"), run_dir, ctx.token, None, ctx.args.serve_arg, env,
                         data_dir=data_dir)
        try:
            self.node.wait_listening(start_timeout)
        except BaseException:
            self.node.proc.stop(timeout=10)  # it must not keep the data dir locked
            raise
        self.start_s = time.monotonic() - t0
        self.token = ctx.token
        self.port = self.node.port

    @property
    def pid(self) -> int:
        return self.node.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def peak_rss_mib(self) -> Optional[float]:
        kib = status_kib(self.pid, "VmHWM")
        return kib / 1024 if kib is not None else None

    def rss_mib(self) -> Optional[float]:
        kib = status_kib(self.pid, "VmRSS")
        return kib / 1024 if kib is not None else None

    def published(self) -> int:
        return int(self.node.metric("ferry_messages_published_total"))

    def api(self, method: str, path: str, body: Any = None, expect: tuple = (200,), timeout: float = 60.0) -> Any:
        return http_json(self.port, method, "/api/v1" + path, body, self.token, expect=expect, timeout=timeout)

    def create_workspace(self, ws: str) -> None:
        self.api("POST", "/workspaces", {"id": ws, "name": ws}, expect=(201,))

    def create_endpoint(self, ws: str, url: str, **fields: Any) -> dict:
        return self.api("POST", f"/workspaces/{ws}/endpoints", {"url": url, **fields}, expect=(201,))

    def stop(self, ctx: Ctx, run: int, scenario: str) -> None:
        problem = self.node.proc.stop(timeout=30)
        if problem:
            ctx.problem(run, scenario, problem + ": " + self.node.proc.tail(600))


# ---------------------------------------------------------------- load


def run_load(ctx: Ctx, ferry: Ferry, path: str, *, connections: int, duration: float, rate: float = 0,
             batch: int = 0, requests: int = 0, id_prefix: str = "b") -> dict:
    """One ferry_bench_load run against `path` of `ferry`; its JSON line. Bounded: the generator stops
    itself after duration + its timeout, and is killed 60 s after that."""
    timeout = 30.0
    cmd = [str(ctx.bin("ferry_bench_load")), "--url", f"http://127.0.0.1:{ferry.port}{path}",
           "--header", f"Authorization: Bearer {ctx.token}", "--connections", str(connections),
           "--duration", f"{duration:g}", "--rate", f"{rate:g}", "--batch", str(batch),
           "--payload-bytes", str(ctx.args.payload_bytes), "--timeout", f"{timeout:g}",
           "--threads", str(ctx.args.load_threads), "--id-prefix", id_prefix]
    if requests:
        cmd += ["--requests", str(requests)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=duration + timeout + 60)
    except subprocess.TimeoutExpired:
        raise BenchError(f"ferry_bench_load did not finish within {duration + timeout + 60:.0f}s")
    finally:
        if proc.poll() is None:  # also on Ctrl-C
            proc.kill()
            proc.wait(10)
    lines = out.decode("utf-8", "replace").strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise BenchError(f"ferry_bench_load exit {proc.returncode}: {err.decode('utf-8', 'replace')[-800:]}")
    return json.loads(lines[-1])


def load_problems(load: dict, what: str) -> list[str]:
    out = []
    if load["non_2xx"] or load["errors"] or load["unfinished"]:
        out.append(f"{what}: {load['non_2xx']} non-2xx answers {load['statuses']}, {load['errors']} errors, "
                   f"{load['unfinished']} unanswered" + (f" (first: {load['first_error']})"
                                                         if load.get("first_error") else ""))
    if load["missed"]:
        out.append(f"{what}: the load generator fell behind the offered rate and skipped {load['missed']} sends")
    return out


def settle_and_check(ctx: Ctx, expected: int, what: str) -> dict:
    """Waits until the receiver has `expected` distinct ids (bounded), then until it is quiet; the stats."""
    wait_delivered(ctx.receiver, expected, ctx.args.drain_timeout, what)
    return ctx.receiver.settle(quiet=0.5, timeout=ctx.args.drain_timeout)


def publish_phase(ctx: Ctx, ferry: Ferry, ws: str, *, connections: int, duration: float, rate: float = 0,
                  batch: int = 0, requests: int = 0, what: str) -> dict:
    """Publishes with ferry_bench_load, then waits until everything stored has arrived at the receiver.
    CPU is Ferry's over the load phase alone (its deliveries run at the same time)."""
    path = f"/workspaces/{ws}/messages" + ("/batch" if batch else "")
    ctx.receiver.reset()
    before = ferry.published()
    cpu0 = ferry.cpu()
    load = run_load(ctx, ferry, "/api/v1" + path, connections=connections, duration=duration, rate=rate,
                    batch=batch, requests=requests, id_prefix=what.replace(" ", ""))
    cpu1 = ferry.cpu()
    t_end = time.monotonic()
    at_end = ctx.receiver.stats()
    stored = ferry.published() - before
    if load["messages"] == 0:
        raise BenchError(f"{what}: nothing was accepted ({load['statuses']}, first error {load['first_error']})")
    stats = settle_and_check(ctx, stored, what)
    lat = ctx.receiver.latencies()["sent"]
    out = {"accepted": load["messages"], "stored": stored, "rate": load["rate"], "elapsed_s": load["elapsed_s"],
           "request_p50_ms": load["latency_ms"]["p50"], "request_p90_ms": load["latency_ms"]["p90"],
           "request_p99_ms": load["latency_ms"]["p99"], "request_max_ms": load["latency_ms"]["max"],
           "non_2xx": load["non_2xx"], "errors": load["errors"] + load["unfinished"], "missed_sends": load["missed"],
           "cpu_s": cpu1 - cpu0, "cpu_s_per_10k": (cpu1 - cpu0) / load["messages"] * 10_000,
           "delivered_during": at_end["count"], "delivered_during_share": at_end["count"] / max(1, stored),
           "missing": max(0, stored - stats["unique_ids"]), "duplicates": stats["duplicates"],
           "e2e_p50_ms": lat["p50"], "e2e_p90_ms": lat["p90"], "e2e_p99_ms": lat["p99"], "e2e_max_ms": lat["max"],
           "problems": load_problems(load, what)}
    if stats["last_mono_ms"] is not None and stats["count"] > at_end["count"]:
        out["drain_s"] = max(0.0, stats["last_mono_ms"] / 1000 - t_end)
    else:
        out["drain_s"] = 0.0
    ctx.receiver.reset()
    return out


def backlog_phase(ctx: Ctx, ferry: Ferry, ws: str, messages: int, what: str) -> dict:
    """Publishes `messages` through the batch route (2 connections), then measures the receiver's rate
    from the end of publishing to the last arrival, and Ferry's CPU over that window."""
    rx = ctx.receiver
    rx.reset()
    batch = ctx.args.batch_size
    before = ferry.published()
    t0 = time.monotonic()
    load = run_load(ctx, ferry, f"/api/v1/workspaces/{ws}/messages/batch", connections=2,
                    duration=ctx.args.drain_timeout, batch=batch, requests=math.ceil(messages / batch),
                    id_prefix=what.replace(" ", ""))
    t_published = time.monotonic()
    cpu0 = ferry.cpu()
    at_published = rx.stats()
    stored = ferry.published() - before
    if load["non_2xx"] or load["errors"] or load["unfinished"] or stored < messages:
        raise BenchError(f"{what}: publishing the backlog failed: {stored} of {messages} stored; "
                         + "; ".join(load_problems(load, "batch publish")))
    stats = wait_delivered(rx, stored, ctx.args.drain_timeout, what)
    cpu1 = ferry.cpu()
    stats = rx.settle(quiet=0.5, timeout=ctx.args.drain_timeout)
    out: dict = {"backlog": stored, "publish_s": t_published - t0, "publish_rate": stored / (t_published - t0),
                 "delivered_while_publishing": at_published["count"],
                 "missing": max(0, stored - stats["unique_ids"]), "duplicates": stats["duplicates"]}
    first, last = stats["first_mono_ms"], stats["last_mono_ms"]
    remaining = stats["count"] - at_published["count"]
    if last is not None and remaining >= max(100, 0.1 * stored) and last / 1000 > t_published:
        window = last / 1000 - t_published
        out["rate"] = remaining / window
        out["basis"] = "drain"
        out["cpu_s_per_10k"] = (cpu1 - cpu0) / remaining * 10_000
    elif first is not None and last is not None and last > first:
        # Delivery kept up with publishing: first to last delivery; CPU then includes publishing.
        out["rate"] = (stats["count"] - 1) / ((last - first) / 1000)
        out["basis"] = "first-to-last"
        out["cpu_s_per_10k"] = None
    else:
        out["rate"] = None
        out["basis"] = "none"
        out["cpu_s_per_10k"] = None
    out["rate_first_quarter"], out["rate_last_quarter"] = quarter_rates(rx)
    rx.reset()
    return out


# ---------------------------------------------------------------- scenarios


def scenario_limits(ctx: Ctx, ferry: Ferry, run_dir: Path) -> dict:
    d = ctx.args.duration
    r = receiver_limit(ctx.receiver, run_dir, ctx.endpoint_concurrency, d)
    h = healthz_limit([ferry.port], run_dir, ctx.args.limit_connections, d)[0]
    out = {"receiver": r.ok_per_s, "receiver_connections": ctx.endpoint_concurrency,
           "healthz": h.ok_per_s, "healthz_connections": ctx.args.limit_connections, "problems": []}
    for name, w in (("receiver limit", r), ("/healthz limit", h)):
        if w.non_2xx or w.socket_errors:
            out["problems"].append(f"{name}: {w.non_2xx} non-2xx, {w.socket_errors} socket errors")
    if not r.ok_per_s or not h.ok_per_s:
        raise BenchError("a limit measured 0 req/s")
    log(f"  limits: receiver {r.ok_per_s:,.0f} req/s (wrk -c{ctx.endpoint_concurrency}), "
        f"/healthz {h.ok_per_s:,.0f} req/s (wrk -c{ctx.args.limit_connections})")
    return out


def scenario_publish(ctx: Ctx, ferry: Ferry, limits: dict) -> dict:
    a = ctx.args
    rows = {}
    for c in a.connections:
        label = f"single, closed loop, {c} connections"
        r = publish_phase(ctx, ferry, WORKSPACE, connections=c, duration=a.duration, what=f"publish c{c}")
        rows[label] = r
        log(f"  publish {label}: {r['rate']:,.0f} msg/s, p50 {r['request_p50_ms']} ms, "
            f"missing {r['missing']}, duplicates {r['duplicates']}")
    for c in a.batch_connections:
        label = f"batch of {a.batch_size}, closed loop, {c} connections"
        r = publish_phase(ctx, ferry, WORKSPACE, connections=c, duration=a.duration, batch=a.batch_size,
                          requests=max(1, a.batch_cap // a.batch_size), what=f"batch c{c}")
        rows[label] = r
        log(f"  publish {label}: {r['rate']:,.0f} events/s, drained in {r['drain_s']:.1f}s, "
            f"missing {r['missing']}, duplicates {r['duplicates']}")
    for r in rows.values():
        r["ratio"] = r["rate"] / limits["healthz"]
    return {"rows": rows}


def scenario_delivery(ctx: Ctx, ferry: Ferry, limits: dict) -> dict:
    r = backlog_phase(ctx, ferry, WORKSPACE, ctx.args.backlog, "delivery backlog")
    r["ratio"] = r["rate"] / limits["receiver"] if r["rate"] else None
    log(f"  delivery: {r['rate'] or 0:,.0f} msg/s ({r['basis']}), backlog {r['backlog']:,} published in "
        f"{r['publish_s']:.1f}s, missing {r['missing']}, duplicates {r['duplicates']}")
    return r


def scenario_latency(ctx: Ctx, ferry: Ferry) -> dict:
    rows = {}
    for rate in ctx.args.latency_rates:
        # Enough connections that a publish of up to ~20 ms never holds the next one back.
        connections = max(8, math.ceil(rate / 50))
        r = publish_phase(ctx, ferry, WORKSPACE, connections=connections, duration=ctx.args.duration, rate=rate,
                          what=f"latency {rate}/s")
        r["offered"] = rate
        r["connections"] = connections
        rows[f"{rate:,} msg/s"] = r
        log(f"  latency at {rate}/s: e2e p50 {r['e2e_p50_ms']} p99 {r['e2e_p99_ms']} max {r['e2e_max_ms']} ms; "
            f"publish p50 {r['request_p50_ms']} p99 {r['request_p99_ms']} ms")
    return {"rows": rows}


def create_endpoints(ferry: Ferry, ws: str, urls: list[str], threads: int = 16) -> None:
    """Creates one endpoint per URL through the API, `threads` keep-alive connections at once."""
    errors: list[str] = []
    next_index = [0]
    lock = threading.Lock()
    path = f"/api/v1/workspaces/{ws}/endpoints"

    def worker() -> None:
        client = KeepAliveClient(ferry.port, ferry.token)
        try:
            while not errors:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= len(urls):
                    return
                status, data = client.post(path, json.dumps({"url": urls[i]}).encode())
                if status != 201:
                    errors.append(f"endpoint {i}: {status} {data[:200]!r}")
        except Exception as exc:  # reported below
            errors.append(repr(exc))
        finally:
            client.close()

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    deadline = time.monotonic() + 1800
    for t in pool:
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in pool):
        errors.append("endpoint creation did not finish within 1800s")
    if errors:
        raise BenchError("creating endpoints failed: " + "; ".join(errors[:3]))


def scenario_fanout(ctx: Ctx, ferry: Ferry, limits: dict, run: int) -> dict:
    rx = ctx.receiver
    rows = {}
    for n in ctx.args.fanout:
        ws = f"fanout{n}-run{run}"
        ferry.create_workspace(ws)
        t0 = time.monotonic()
        create_endpoints(ferry, ws, [f"http://127.0.0.1:{rx.port}/fanout/{i}" for i in range(n)])
        created_s = time.monotonic() - t0
        rx.reset()
        client = KeepAliveClient(ferry.port, ferry.token)
        try:
            sent_us = time.time_ns() // 1000
            t_send = time.perf_counter()
            status, data = client.post(f"/api/v1/workspaces/{ws}/messages", json.dumps(
                {"type": "bench.fanout", "data": {"bench_id": f"fanout-{n}", "sent_us": sent_us}}).encode())
            enqueued_ms = (time.perf_counter() - t_send) * 1000
        finally:
            client.close()
        if status != 202:
            raise BenchError(f"fan-out publish to {n} endpoints answered {status}: {data[:300]!r}")
        deliveries = json.loads(data).get("deliveries", 0)
        if deliveries != n:
            raise BenchError(f"fan-out publish created {deliveries} deliveries, not {n}")
        wait_delivered(rx, n, ctx.args.drain_timeout, f"fan-out to {n}")
        stats = rx.settle(quiet=0.5, timeout=ctx.args.drain_timeout)
        lat = rx.latencies()["sent"]
        delivered_ms = stats["last_ms"] - sent_us / 1000 if stats["last_ms"] is not None else None
        row = {"endpoints": n, "created_s": created_s, "create_rate": n / created_s, "enqueued_ms": enqueued_ms,
               "delivered_ms": delivered_ms, "e2e_p50_ms": lat["p50"],
               "missing": max(0, n - stats["unique_ids"]), "duplicates": stats["duplicates"]}
        row["delivery_rate"] = n / (delivered_ms / 1000) if delivered_ms else None
        row["ratio"] = row["delivery_rate"] / limits["receiver"] if row["delivery_rate"] else None
        rows[f"{n:,} endpoints"] = row
        log(f"  fan-out to {n}: endpoints created in {created_s:.1f}s, enqueued {enqueued_ms:.1f} ms, "
            f"delivered {delivered_ms or 0:.0f} ms, missing {row['missing']}, duplicates {row['duplicates']}")
        rx.reset()
        # Out of the way of what follows.
        ferry.api("DELETE", f"/workspaces/{ws}", expect=(204,), timeout=300)
    return {"rows": rows}


def seed_template(ctx: Ctx, count: int) -> dict:
    """A data dir with `count` delivered messages (ferry_bench_seed), made once per invocation, or
    reused from --seed-cache."""
    if count in ctx.seeded:
        return ctx.seeded[count]
    base = Path(ctx.args.seed_cache).resolve() if ctx.args.seed_cache else ctx.workdir / "seeded"
    data_dir = base / f"stored-{count}"
    marker = data_dir / "bench-seed.json"
    if marker.exists() and (data_dir / "ferry.db").exists():
        info = json.loads(marker.read_text())
        info["reused"] = True
        log(f"  scaling: reusing {data_dir} ({info['messages']:,} seeded, {info.get('added', 0):,} added since)")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        need = count * SEED_BYTES_PER_MESSAGE * 1.2
        free = shutil.disk_usage(data_dir).free
        if free < need:
            raise BenchError(f"seeding {count:,} messages needs about {need / 2**30:.1f} GiB, "
                             f"{data_dir} has {free / 2**30:.1f} GiB free")
        log(f"  scaling: seeding {count:,} messages into {data_dir}")
        cmd = [str(ctx.bin("ferry_bench_seed")), "--data-dir", str(data_dir), "--messages", str(count),
               "--workspace", WORKSPACE, "--endpoint-url", f"http://127.0.0.1:{ctx.receiver.port}/webhooks"]
        proc = Proc(f"seed-{count}", cmd, ctx.workdir)
        deadline = time.monotonic() + max(600.0, count / 2000)  # far below the seed's usual 15,000/s and more
        while proc.alive() and time.monotonic() < deadline:
            time.sleep(0.5)
        if proc.alive():
            proc.stop(timeout=30)
            raise BenchError(f"seeding {count:,} messages did not finish in time")
        problem = proc.stop()
        lines = proc.stdout_path.read_text().strip().splitlines()
        if problem or not lines:
            raise BenchError(f"ferry_bench_seed failed: {problem}: {proc.tail()}")
        info = json.loads(lines[-1])
        info["added"] = 0
        marker.write_text(json.dumps(info))
        log(f"  scaling: seeded {count:,} in {info['seconds']:.1f}s ({info['rate']:,.0f}/s), "
            f"{info['db_bytes'] / 2**20:,.0f} MiB")
    info["dir"] = str(data_dir)
    ctx.seeded[count] = info
    return info


def scenario_scaling(ctx: Ctx, limits: dict, run: int, run_dir: Path) -> dict:
    a = ctx.args
    rows = {}
    for count in a.stored:
        template = seed_template(ctx, count)
        src = Path(template["dir"])
        size = (src / "ferry.db").stat().st_size
        if size <= a.copy_limit_gib * 2**30:
            data_dir = run_dir / f"stored-{count}"
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
            for name in ("ferry.db", "ferry.db-wal"):
                if (src / name).exists():
                    shutil.copyfile(src / name, data_dir / name)
            in_place = False
            stored_at_start = template["messages"]
        else:
            data_dir = src
            in_place = True
            marker = json.loads((src / "bench-seed.json").read_text())
            stored_at_start = marker["messages"] + marker.get("added", 0)
        ferry = Ferry(ctx, f"ferry-stored-{count}", run_dir, data_dir=data_dir, start_timeout=600)
        added = 0
        try:
            # The seeded endpoint is this workspace's only one; it must point at this receiver.
            eps = ferry.api("GET", f"/workspaces/{WORKSPACE}/endpoints?limit=10")["data"]
            if len(eps) != 1:
                raise BenchError(f"the seeded workspace has {len(eps)} endpoints, expected 1")
            ferry.api("PATCH", f"/workspaces/{WORKSPACE}/endpoints/{eps[0]['id']}",
                      {"url": f"http://127.0.0.1:{ctx.receiver.port}/webhooks"})
            pub = publish_phase(ctx, ferry, WORKSPACE, connections=a.scaling_connections, duration=a.duration,
                                what=f"stored {count} publish")
            dlv = backlog_phase(ctx, ferry, WORKSPACE, a.backlog, f"stored {count} backlog")
            added = pub["stored"] + dlv["backlog"]
            row = {"stored": stored_at_start, "in_place": in_place, "start_s": ferry.start_s,
                   "publish_rate": pub["rate"], "publish_ratio": pub["rate"] / limits["healthz"],
                   "publish_p50_ms": pub["request_p50_ms"], "publish_p99_ms": pub["request_p99_ms"],
                   "delivery_rate": dlv["rate"], "delivery_basis": dlv["basis"],
                   "delivery_ratio": dlv["rate"] / limits["receiver"] if dlv["rate"] else None,
                   "peak_rss_mib": ferry.peak_rss_mib(),
                   "missing": pub["missing"] + dlv["missing"], "duplicates": pub["duplicates"] + dlv["duplicates"],
                   "problems": pub["problems"]}
        finally:
            ferry.stop(ctx, run, "scaling")
            if in_place:
                marker_path = src / "bench-seed.json"
                marker = json.loads(marker_path.read_text())
                marker["added"] = marker.get("added", 0) + added
                marker_path.write_text(json.dumps(marker))
            else:
                shutil.rmtree(data_dir, ignore_errors=True)
        rows[f"{count:,}"] = row
        log(f"  scaling, {stored_at_start:,} stored: start {row['start_s']:.1f}s, "
            f"publish {row['publish_rate']:,.0f}/s, "
            f"delivery {row['delivery_rate'] or 0:,.0f}/s")
    first, last = rows[f"{a.stored[0]:,}"], rows[f"{a.stored[-1]:,}"]
    out = {"rows": rows}
    out["publish_largest_over_smallest"] = last["publish_rate"] / first["publish_rate"]
    out["delivery_largest_over_smallest"] = (last["delivery_rate"] / first["delivery_rate"]
                                             if last["delivery_rate"] and first["delivery_rate"] else None)
    return out


def scenario_memory(ctx: Ctx, run: int, run_dir: Path) -> dict:
    """Peak RSS with `--pending` deliveries pending: published through the batch route to an endpoint
    limited to 1 request/s, so they stay pending (neither sent nor failed)."""
    a = ctx.args
    ferry = Ferry(ctx, "ferry-pending", run_dir)
    try:
        ws = "pending"
        ferry.create_workspace(ws)
        ferry.create_endpoint(ws, f"http://127.0.0.1:{ctx.receiver.port}/pending", rate_limit=1)
        rss_before = ferry.rss_mib()
        before = ferry.published()
        t0 = time.monotonic()
        load = run_load(ctx, ferry, f"/api/v1/workspaces/{ws}/messages/batch", connections=4,
                        duration=max(600.0, a.pending / 1000), batch=a.batch_size,
                        requests=math.ceil(a.pending / a.batch_size), id_prefix="pending")
        publish_s = time.monotonic() - t0
        stored = ferry.published() - before
        if stored < a.pending:
            raise BenchError(f"only {stored} of {a.pending} messages stored: "
                             + "; ".join(load_problems(load, "pending publish")))
        time.sleep(3)  # the scheduler claims what it may hold; then measure
        m = ferry.node.metrics()
        finished = sum(v for k, v in m.items() if k.startswith("ferry_deliveries_finished_total"))
        pending = int(m.get("ferry_deliveries_created_total", 0) - finished)
        out = {"pending": pending, "rss_mib": ferry.rss_mib(), "peak_rss_mib": ferry.peak_rss_mib(),
               "rss_before_mib": rss_before, "publish_s": publish_s, "publish_rate": stored / publish_s,
               "problems": load_problems(load, "pending publish")}
        log(f"  memory: {pending:,} pending, RSS {out['rss_mib']:.0f} MiB, peak {out['peak_rss_mib']:.0f} MiB "
            f"(published in {publish_s:.1f}s)")
    finally:
        ferry.stop(ctx, run, "memory")
        ctx.receiver.reset()
    return out


# ---------------------------------------------------------------- one run


def measure_run(ctx: Ctx, run: int, failures: list[dict]) -> dict:
    a = ctx.args
    run_dir = ctx.workdir / f"run{run}"
    run_dir.mkdir(parents=True)
    result: dict = {"run": run}

    def attempt(name: str, fn: Callable[[], dict]) -> Optional[dict]:
        if name not in a.scenarios:
            return None
        ctx.steps.start(f"run {run}: {name}")
        try:
            value = fn()
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # one scenario failing must not hide the others
            text = str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"
            failures.append({"run": run, "scenario": name, "error": text})
            ctx.problem(run, name, "not measured: " + text)
            try:
                ctx.receiver.settle(quiet=0.3, timeout=30)
                ctx.receiver.reset()
            except Exception:  # the next scenario reports what is wrong
                pass
            return None
        result[name] = value
        for p in value.get("problems", []):
            ctx.problem(run, name, p)
        for row in value.get("rows", {}).values():
            for p in row.get("problems", []):
                ctx.problem(run, name, p)
        return value

    ferry: Optional[Ferry] = None
    try:
        ferry = Ferry(ctx, f"ferry-run{run}", run_dir)
        ferry.create_workspace(WORKSPACE)
        ferry.create_endpoint(WORKSPACE, f"http://127.0.0.1:{ctx.receiver.port}/webhooks")
        limits = attempt("limits", lambda: scenario_limits(ctx, ferry, run_dir))
        if limits is None:
            log(f"run {run}: no limits, so no ratios; skipping the rest of this run")
            return result
        attempt("publish", lambda: scenario_publish(ctx, ferry, limits))
        attempt("delivery", lambda: scenario_delivery(ctx, ferry, limits))
        attempt("latency", lambda: scenario_latency(ctx, ferry))
        attempt("fanout", lambda: scenario_fanout(ctx, ferry, limits, run))
        result["peak_rss_mib"] = ferry.peak_rss_mib()
        ferry.stop(ctx, run, "main")
        ferry = None
        attempt("scaling", lambda: scenario_scaling(ctx, limits, run, run_dir))
        attempt("memory", lambda: scenario_memory(ctx, run, run_dir))
    except BenchError as exc:
        failures.append({"run": run, "scenario": "setup", "error": str(exc)})
        ctx.problem(run, "setup", str(exc))
    finally:
        if ferry is not None:
            ferry.stop(ctx, run, "main")
        if not a.keep:
            for child in run_dir.iterdir() if run_dir.exists() else []:
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
    return result


# ---------------------------------------------------------------- report


def values(runs: list[dict], *path: str) -> list:
    """The value at `path` in every run (None where absent)."""
    out = []
    for r in runs:
        v: Any = r
        for key in path:
            v = v.get(key) if isinstance(v, dict) else None
        out.append(v)
    return out


def fmt_num(vals: list, digits: int = 1, with_range: bool = True) -> str:
    med = median_of(vals)
    if med is None:
        return "n/a"
    nums = [v for v in vals if isinstance(v, (int, float))]
    text = f"{med:,.{digits}f}"
    if with_range and len(nums) > 1:
        text += f" ({min(nums):,.{digits}f}–{max(nums):,.{digits}f})"
    return text


def percent(vals: list) -> list:
    return [v * 100 if isinstance(v, (int, float)) else None for v in vals]


def row_labels(runs: list[dict], scenario: str) -> list[str]:
    labels: list[str] = []
    for r in runs:
        for label in (r.get(scenario) or {}).get("rows", {}):
            if label not in labels:
                labels.append(label)
    return labels


def total(runs: list[dict], key: str) -> int:
    """Sum of `key` over every scenario, row and run."""
    n = 0
    for r in runs:
        for name in SCENARIOS:
            s = r.get(name)
            if not isinstance(s, dict):
                continue
            n += int(s.get(key) or 0)
            for row in s.get("rows", {}).values():
                n += int(row.get(key) or 0)
    return n


def render_section(runs: list[dict], failures: list[dict], problems: list[str], info: dict) -> str:
    a = info["settings"]
    m = info["machine"]
    ms = lambda *p: fmt_num(values(runs, *p), 1, False)  # noqa: E731
    lines = [
        f"## {SECTION_TITLE}",
        "",
        f"Measured {info['date']} by `bench/run.py` (bench/README.md says what each figure means and its caveats) "
        f"on Ferry {info['revision']}, {info['build_type']} build.",
        "",
        f"- Machine: `nproc` {m['nproc']}; `lscpu` model name: {info['cpu_model']}; {m['ram']} RAM; "
        f"Linux {m['kernel']}; data on {info['filesystem']}. Ferry, the receiver, the load generator and wrk "
        f"all share these CPUs.",
        f"- Command: `{info['command']}`",
        f"- {info['runs']} run(s); medians, with the range over runs in parentheses; every ratio is taken "
        f"within one run (Ferry's figure ÷ the limit measured in that same run), then the median.",
        f"- Phases of {a['duration']:g} s; {a['payload_bytes']} bytes of data per message; one endpoint per "
        f"workspace unless said otherwise; `ferry serve` defaults (endpoint concurrency "
        f"{info['endpoint_concurrency']})" + (f" plus `{' '.join(a['serve_arg'])}`" if a["serve_arg"] else "")
        + ".",
        "",
        "### Limits of this machine (measured in the same runs)",
        "",
        "| limit | req/s | how |",
        "|---|---|---|",
        f"| receiver | {fmt_rate(values(runs, 'limits', 'receiver'))} | wrk -t1 -c{info['endpoint_concurrency']} "
        f"POSTing a webhook-like body straight to ferry_bench_receiver (as many connections as Ferry's endpoint "
        f"concurrency) |",
        f"| /healthz | {fmt_rate(values(runs, 'limits', 'healthz'))} | wrk -t1 -c{a['limit_connections']} GET "
        f"Ferry's /healthz (no auth, no store) |",
    ]
    if "publish" in a["scenarios"]:
        lines += ["", "### Publish", "",
                  "Every 202 means the message(s) and their deliveries were committed to disk (SQLite "
                  "`synchronous=FULL`). Deliveries run at the same time; the CPU figure is Ferry's over the "
                  "load phase, so it includes the deliveries made meanwhile (column \"delivered during\").",
                  "",
                  "| load (ferry_bench_load) | events/s | ÷ /healthz limit | request p50 / p99 / max ms "
                  "| e2e p50 / p99 ms | CPU s per 10k publishes | delivered during | drain after s |",
                  "|---|---|---|---|---|---|---|---|"]
        for label in row_labels(runs, "publish"):
            p = ("publish", "rows", label)
            lines.append(f"| {label} | {fmt_rate(values(runs, *p, 'rate'))} "
                         f"| {fmt_ratio(values(runs, *p, 'ratio'))} "
                         f"| {ms(*p, 'request_p50_ms')} / {ms(*p, 'request_p99_ms')} / {ms(*p, 'request_max_ms')} "
                         f"| {ms(*p, 'e2e_p50_ms')} / {ms(*p, 'e2e_p99_ms')} "
                         f"| {fmt_num(values(runs, *p, 'cpu_s_per_10k'), 2)} "
                         f"| {fmt_num(percent(values(runs, *p, 'delivered_during_share')), 0, False)} % "
                         f"| {ms(*p, 'drain_s')} |")
    if "delivery" in a["scenarios"]:
        lines += ["", "### Delivery", "",
                  f"A backlog of {a['backlog']:,} messages published through the batch route (batches of "
                  f"{a['batch_size']}, 2 connections) to one endpoint; the receiver's rate from the end of "
                  f"publishing to the last arrival, and Ferry's CPU over that window (delivery only).",
                  "",
                  "| delivery msg/s | ÷ receiver limit | CPU s per 10k deliveries | msg/s over the first / last "
                  "quarter of arrivals | backlog published in s | basis |",
                  "|---|---|---|---|---|---|",
                  f"| {fmt_rate(values(runs, 'delivery', 'rate'))} | {fmt_ratio(values(runs, 'delivery', 'ratio'))} "
                  f"| {fmt_num(values(runs, 'delivery', 'cpu_s_per_10k'), 2)} "
                  f"| {fmt_rate(values(runs, 'delivery', 'rate_first_quarter'))} / "
                  f"{fmt_rate(values(runs, 'delivery', 'rate_last_quarter'))} "
                  f"| {ms('delivery', 'publish_s')} "
                  f"| {', '.join(sorted({str(v) for v in values(runs, 'delivery', 'basis') if v}))} |"]
    if "latency" in a["scenarios"]:
        lines += ["", "### End-to-end latency at fixed offered rates", "",
                  "Open loop: single publishes at a fixed rate whatever the answers (ferry_bench_load --rate). "
                  "e2e: the receiver's arrival time minus the send time the publisher wrote into the message "
                  "(`sent_us`, microseconds, same machine clock). Publish request latency is measured from the "
                  "scheduled send time. No limit applies, so no ratio.",
                  "",
                  "| offered msg/s | achieved msg/s | connections | e2e p50 / p90 / p99 / max ms "
                  "| publish request p50 / p99 / max ms | sends skipped |",
                  "|---|---|---|---|---|---|"]
        for label in row_labels(runs, "latency"):
            p = ("latency", "rows", label)
            lines.append(f"| {label} | {fmt_rate(values(runs, *p, 'rate'))} "
                         f"| {fmt_num(values(runs, *p, 'connections'), 0, False)} "
                         f"| {fmt_num(values(runs, *p, 'e2e_p50_ms'), 2)} / "
                         f"{fmt_num(values(runs, *p, 'e2e_p90_ms'), 2)} / "
                         f"{fmt_num(values(runs, *p, 'e2e_p99_ms'), 2)} / {fmt_num(values(runs, *p, 'e2e_max_ms'), 1)} "
                         f"| {fmt_num(values(runs, *p, 'request_p50_ms'), 2)} / "
                         f"{fmt_num(values(runs, *p, 'request_p99_ms'), 2)} / "
                         f"{fmt_num(values(runs, *p, 'request_max_ms'), 1)} "
                         f"| {sum(v or 0 for v in values(runs, *p, 'missed_sends'))} |")
    if "fanout" in a["scenarios"]:
        lines += ["", "### Fan-out", "",
                  "A workspace with N endpoints (all to the receiver, one path each, created through the API "
                  "by 16 concurrent clients), one message published. Enqueued: the publish request's latency "
                  "(Ferry answers 202 once the message and its N deliveries are committed). Delivered: from "
                  "sending the publish to the last of the N arrivals.",
                  "",
                  "| endpoints | enqueued ms | delivered ms | deliveries/s | ÷ receiver limit "
                  "| endpoints created in s (per s) |",
                  "|---|---|---|---|---|---|"]
        for label in row_labels(runs, "fanout"):
            p = ("fanout", "rows", label)
            lines.append(f"| {label} | {fmt_num(values(runs, *p, 'enqueued_ms'), 1)} "
                         f"| {fmt_num(values(runs, *p, 'delivered_ms'), 0)} "
                         f"| {fmt_rate(values(runs, *p, 'delivery_rate'))} | {fmt_ratio(values(runs, *p, 'ratio'))} "
                         f"| {ms(*p, 'created_s')} ({fmt_num(values(runs, *p, 'create_rate'), 0, False)}) |")
    if "scaling" in a["scenarios"]:
        seeds = info.get("seeded", {})
        seed_text = "; ".join(f"{int(k):,} messages in {v['seconds']:.0f} s, {v['db_bytes'] / 2**20:,.0f} MiB"
                              + (" (seeded earlier, reused from --seed-cache)" if v.get("reused") else "")
                              for k, v in sorted(seeds.items(), key=lambda kv: int(kv[0])))
        lines += ["", "### Scaling with the stored history", "",
                  f"The same publish (closed loop, {a['scaling_connections']} connections) and delivery "
                  f"(backlog of {a['backlog']:,}) with messages already stored: ferry_bench_seed fills a fresh "
                  f"data dir with delivered messages (one succeeded delivery and one attempt each) through "
                  f"Ferry's store code before `ferry serve` starts on it. Seeding: "
                  f"{seed_text or 'n/a'}. A database over {a['copy_limit_gib']:g} GiB is used in place, so "
                  f"later runs find what earlier runs added (column \"stored\").",
                  "",
                  "| stored | ferry start s | publish msg/s | ÷ /healthz limit | publish p50 / p99 ms "
                  "| delivery msg/s | ÷ receiver limit | peak RSS MiB |",
                  "|---|---|---|---|---|---|---|---|"]
        for label in row_labels(runs, "scaling"):
            p = ("scaling", "rows", label)
            lines.append(f"| {fmt_rate(values(runs, *p, 'stored'))} | {ms(*p, 'start_s')} "
                         f"| {fmt_rate(values(runs, *p, 'publish_rate'))} "
                         f"| {fmt_ratio(values(runs, *p, 'publish_ratio'))} "
                         f"| {ms(*p, 'publish_p50_ms')} / {ms(*p, 'publish_p99_ms')} "
                         f"| {fmt_rate(values(runs, *p, 'delivery_rate'))} "
                         f"| {fmt_ratio(values(runs, *p, 'delivery_ratio'))} "
                         f"| {fmt_num(values(runs, *p, 'peak_rss_mib'), 0)} |")
        lines += ["", f"Largest ÷ smallest stored history: publish "
                      f"{fmt_ratio(values(runs, 'scaling', 'publish_largest_over_smallest'))}, delivery "
                      f"{fmt_ratio(values(runs, 'scaling', 'delivery_largest_over_smallest'))} "
                      f"(1.00: no slowdown)."]
    lines += ["", "### Memory", "",
              "| | MiB |", "|---|---|",
              f"| peak RSS (VmHWM) of the ferry process that ran the "
              f"{', '.join(s for s in ('limits', 'publish', 'delivery', 'latency', 'fanout') if s in a['scenarios'])}"
              f" scenarios | {fmt_num(values(runs, 'peak_rss_mib'), 0)} |"]
    if "memory" in a["scenarios"]:
        lines += [f"| RSS (VmRSS) with {fmt_rate(values(runs, 'memory', 'pending'))} deliveries pending (endpoint "
                  f"limited to 1 request/s), 3 s after they were published | "
                  f"{fmt_num(values(runs, 'memory', 'rss_mib'), 0)} |",
                  f"| peak RSS (VmHWM) of that process, publishing included (batch route, 4 connections, "
                  f"{fmt_rate(values(runs, 'memory', 'publish_rate'))} msg/s) | "
                  f"{fmt_num(values(runs, 'memory', 'peak_rss_mib'), 0)} |"]
    lines += ["", f"Integrity over every phase and run: **{total(runs, 'missing')} missing** (stored by Ferry "
                  f"but never delivered within {a['drain_timeout']:g} s) and **{total(runs, 'duplicates')} "
                  f"duplicates** (deliveries beyond the first of a message to an endpoint)."]
    if failures:
        lines += ["", "Not measured:", ""]
        lines += [f"- run {f['run']}, {f['scenario']}: {f['error']}" for f in failures]
    if problems:
        lines += ["", "Problems seen during the run:", ""]
        lines += [f"- {p}" for p in problems]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    command = "python3 bench/run.py" + "".join(" " + shlex.quote(a) for a in argv)
    started = time.monotonic()
    build_dir = Path(args.build_dir).resolve()
    try:
        ensure_wrk(install=not args.no_install)
    except MissingTool as exc:
        log(f"{exc}; nothing measured")
        return EXIT_MISSING_TOOL
    if not args.no_build:
        build(build_dir, args.cmake_arg, TARGETS, args.jobs)
    build_type = build_type_of(build_dir)
    if build_type != "Release":
        log(f"warning: {build_dir} is a {build_type} build, not Release")
    for name in TARGETS:
        path = build_dir / name if name == "ferry" else build_dir / "bench" / name
        if not os.access(path, os.X_OK):
            raise BenchError(f"{path} is missing (build it, or drop --no-build)")

    if args.work_dir:
        Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="ferry-run-", dir=args.work_dir))
    fstype = filesystem_of(workdir)
    log(f"work dir {workdir} ({fstype})")
    if fstype in ("tmpfs", "ramfs", "overlay"):
        log(f"warning: {workdir} is on {fstype}: fsync costs there are not those of a disk (--work-dir)")
    info: dict = {"date": utc_now_text(), "revision": git_revision(), "machine": machine(),
                  "cpu_model": lscpu_model(), "command": command, "runs": args.runs, "build_type": build_type,
                  "build_dir": str(build_dir), "filesystem": fstype,
                  "endpoint_concurrency": endpoint_concurrency(args.serve_arg),
                  "settings": {k: v for k, v in vars(args).items() if k not in ("write", "json", "keep")}}
    runs: list[dict] = []
    failures: list[dict] = []
    ctx: Optional[Ctx] = None
    try:
        receiver = Receiver(build_dir / "bench" / "ferry_bench_receiver", workdir, args.receiver_threads)
        ctx = Ctx(args=args, build_dir=build_dir, workdir=workdir, receiver=receiver,
                  token="adm_" + secrets.token_hex(16), endpoint_concurrency=info["endpoint_concurrency"],
                  steps=Steps(args.runs * len([s for s in SCENARIOS if s in args.scenarios])))
        for run in range(1, args.runs + 1):
            runs.append(measure_run(ctx, run, failures))
    finally:
        Proc.stop_all()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    info["seeded"] = {str(k): {kk: vv for kk, vv in v.items() if kk != "dir"} for k, v in ctx.seeded.items()} \
        if ctx else {}
    info["elapsed_s"] = time.monotonic() - started
    problems = ctx.problems if ctx else []
    section = render_section(runs, failures, problems, info)
    print(section)
    if args.json:
        Path(args.json).write_text(json.dumps({"info": info, "runs": runs, "failures": failures,
                                               "problems": problems}, indent=2, default=str))
    if args.write:
        log(f"wrote {write_benchmarks(section, SECTION_TITLE)}")
    missing = total(runs, "missing")
    log(f"done in {info['elapsed_s']:.0f}s" + (f"; {len(failures)} scenario(s) not measured" if failures else "")
        + (f"; {missing} message(s) missing" if missing else ""))
    return 1 if failures or (args.strict and missing) else 0


if __name__ == "__main__":
    run_main(main, "run")
