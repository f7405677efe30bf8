#!/usr/bin/env python3
"""Ferry scale-out benchmark: publish and delivery throughput of one SQLite node
and of 1, 2 and 3 nodes sharing one durable PostgreSQL database, each next to
the limits of the same machine measured in the same run (bench/README.md).

    python3 bench/scale_out.py                 # full run: 4 configurations x 3 runs
    python3 bench/scale_out.py --write         # ... and update BENCHMARKS.md
    python3 bench/scale_out.py --quick         # short smoke for CI (SQLite + 1 PostgreSQL node)

Python 3 standard library only. It builds a Release binary into build-release
(cmake -DCMAKE_BUILD_TYPE=Release), installs `wrk` with apt-get if it is
missing (and nothing else), starts one durable PostgreSQL server
(scripts/postgres-test-server.sh with FERRY_PG_DURABLE=1) and the receiver
(bench/receiver.cpp), and per configuration and run:

  1. starts the nodes (own --data-dir and --listen port each, one admin token,
     --allow-targets 127.0.0.0/8; PostgreSQL nodes on a fresh CREATE DATABASE),
     creates a workspace and one endpoint pointing at the receiver, and waits
     until every node fans out to it;
  2. limits: wrk POSTing straight to the receiver (the ceiling for delivery),
     and wrk on every node's GET /healthz at once (the HTTP ceiling of the
     nodes, same wrk setup as the publish phase);
  3. publish: one wrk per node at once, POSTing single messages with a fixed
     body; accepted (2xx) per second summed over the nodes; then waits until
     the receiver has every accepted message;
  4. latency: Python publishes at a light fixed rate (--latency-rate) and the
     receiver reports end-to-end latency, message created_at -> arrival;
  5. delivery: publishes a fixed backlog through the batch route, then
     measures the rate at which the receiver's count rises from the moment
     publishing is done to the last delivery, and checks that every message
     arrived at least once (and how many arrived more than once);
  6. stops the nodes (SIGTERM, bounded wait) and drops the database.

Every wait is bounded; every process it started is stopped on the way out,
also on Ctrl-C. Progress goes to stderr, the Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from benchlib import (PUBLISH_BODY, REPO, BenchError, KeepAliveClient, Node, Proc, Receiver, build,
                      build_type_of, endpoint_concurrency, ensure_wrk, filesystem_of, fmt_ms, fmt_rate,
                      fmt_ratio, git_revision, healthz_limit, http_json, http_request, log, machine, median_of,
                      quarter_rates, receiver_limit, run, run_main, run_wrk_parallel, utc_now_text, wait_delivered,
                      wait_until, write_benchmarks, write_lua)

PG_SCRIPT = REPO / "scripts" / "postgres-test-server.sh"
WORKSPACE = "bench"
SECTION_TITLE = "Scale-out on PostgreSQL"

CONFIGS = {
    # name: (label, backend, nodes)
    "sqlite": ("SQLite", "sqlite", 1),
    "pg1": ("PostgreSQL", "postgres", 1),
    "pg2": ("PostgreSQL", "postgres", 2),
    "pg3": ("PostgreSQL", "postgres", 3),
}


# ---------------------------------------------------------------- PostgreSQL


def psql(url: str, sql: str, timeout: float = 60.0) -> str:
    proc = run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql], timeout=timeout)
    return proc.stdout.decode("utf-8", "replace")


def with_database(url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


class Postgres:
    def __init__(self, workdir: Path):
        self.dir = workdir / "postgres"
        env = dict(os.environ, FERRY_PG_DURABLE="1")
        proc = run(["bash", str(PG_SCRIPT), "start", str(self.dir)], timeout=120, env=env)
        self.url = proc.stdout.decode().strip().splitlines()[-1]
        psql(self.url, "SELECT 1")
        self.settings = psql(self.url, "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings "
                                       "WHERE name IN ('fsync','synchronous_commit','full_page_writes')").strip()
        if "fsync=on" not in self.settings:
            raise BenchError(f"PostgreSQL is not durable ({self.settings}); benchmarks need FERRY_PG_DURABLE=1")

    def create_database(self, name: str) -> str:
        psql(self.url, f'CREATE DATABASE "{name}" TEMPLATE template0')
        return with_database(self.url, name)

    def drop_database(self, name: str) -> None:
        try:
            psql(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except (BenchError, subprocess.TimeoutExpired) as exc:
            log(f"could not drop database {name}: {exc}")

    def stop(self) -> None:
        try:
            run(["bash", str(PG_SCRIPT), "stop", str(self.dir)], timeout=90)
        except (BenchError, subprocess.TimeoutExpired) as exc:
            log(f"could not stop PostgreSQL: {exc}")


# ---------------------------------------------------------------- one measured run


@dataclass
class Settings:
    duration: float
    connections: int
    backlog: int
    batch_size: int
    latency_rate: float
    drain_timeout: float
    serve_args: list[str]
    endpoint_concurrency: int


def start_nodes(cfg: str, nodes_n: int, database: Optional[str], binary: Path, workdir: Path, token: str,
                settings: Settings) -> list[Node]:
    env = dict(os.environ)
    env.pop("FERRY_DATABASE", None)
    nodes = [Node(f"{cfg}-node{i + 1}", binary, workdir, token, database, settings.serve_args, env)
             for i in range(nodes_n)]
    for n in nodes:
        n.wait_listening()
    return nodes


def setup_workspace(nodes: list[Node], receiver: Receiver, token: str) -> None:
    first = nodes[0]
    http_json(first.port, "POST", "/api/v1/workspaces", {"id": WORKSPACE, "name": "Benchmark"}, token, expect=(201,))
    http_json(first.port, "POST", f"/api/v1/workspaces/{WORKSPACE}/endpoints",
              {"url": f"http://127.0.0.1:{receiver.port}{receiver.webhook_path}"}, token, expect=(201,))
    # Every node must fan out to the endpoint before anything is measured.
    probes = 0
    for n in nodes:
        def fans_out(node: Node = n) -> bool:
            nonlocal probes
            answer = http_json(node.port, "POST", f"/api/v1/workspaces/{WORKSPACE}/messages",
                               {"type": "bench.probe", "data": {}}, token, expect=(202,))
            if answer.get("deliveries", 0) >= 1:
                probes += 1
                return True
            return False
        wait_until(fans_out, 30, interval=0.2, what=f"{n.name} to fan out to the new endpoint")
    wait_until(lambda: receiver.stats()["unique_ids"] >= probes, 30, what="the probe messages to arrive")
    receiver.settle(quiet=0.3)
    receiver.reset()


def published_total(nodes: list[Node]) -> int:
    return int(sum(n.metric("ferry_messages_published_total") for n in nodes))


def phase_limits(nodes: list[Node], receiver: Receiver, workdir: Path, settings: Settings) -> dict:
    # As many connections as Ferry may use towards the endpoint (per node: --endpoint-concurrency).
    recv_conns = settings.endpoint_concurrency * len(nodes)
    r = receiver_limit(receiver, workdir, recv_conns, settings.duration)
    hs = healthz_limit([n.port for n in nodes], workdir, settings.connections, settings.duration)
    return {"receiver_limit": r.ok_per_s, "receiver_limit_connections": recv_conns,
            "receiver_limit_non_2xx": r.non_2xx + r.socket_errors,
            "healthz_limit": sum(h.ok_per_s for h in hs),
            "healthz_limit_non_2xx": sum(h.non_2xx + h.socket_errors for h in hs)}


def phase_publish(nodes: list[Node], receiver: Receiver, workdir: Path, token: str, settings: Settings) -> dict:
    lua = write_lua(workdir / "publish.lua", "POST", PUBLISH_BODY,
                    {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    before = published_total(nodes)
    receiver.reset()
    t_start = time.monotonic()
    results = run_wrk_parallel([(f"http://127.0.0.1:{n.port}/api/v1/workspaces/{WORKSPACE}/messages", lua)
                                for n in nodes], settings.connections, settings.duration)
    t_end = time.monotonic()
    at_end = receiver.stats()
    stored = published_total(nodes) - before
    accepted = sum(r.ok for r in results)
    out = {"publish_rate": sum(r.ok_per_s for r in results),
           "publish_accepted": accepted, "publish_stored": stored,
           "publish_non_2xx": sum(r.non_2xx for r in results),
           "publish_socket_errors": sum(r.socket_errors for r in results),
           "publish_p50_ms": max(r.lat_p50_ms for r in results),
           "publish_p99_ms": max(r.lat_p99_ms for r in results),
           "delivered_during_publish": at_end["count"],
           "delivery_rate_during_publish": at_end["count"] / max(1e-9, t_end - t_start)}
    # Everything the nodes stored (wrk may stop before reading the last answers) must arrive.
    stats = wait_delivered(receiver, stored, settings.drain_timeout, "publish phase")
    stats = receiver.settle(quiet=0.5)
    out["publish_missing"] = max(0, stored - stats["unique_ids"])
    out["publish_duplicates"] = stats["duplicates"]
    if stats["last_mono_ms"] is not None and stats["count"] - at_end["count"] >= 100:
        window = stats["last_mono_ms"] / 1000 - t_end
        out["publish_drain_s"] = window
        # Too short a window says nothing about a rate.
        out["publish_drain_rate"] = (stats["count"] - at_end["count"]) / window if window >= 0.5 else None
    else:
        out["publish_drain_s"] = 0.0
        out["publish_drain_rate"] = None
    lat = receiver.latencies()
    out["publish_e2e_p50_ms"] = lat["p50"]
    out["publish_e2e_p99_ms"] = lat["p99"]
    receiver.reset()
    return out


def phase_latency(nodes: list[Node], receiver: Receiver, token: str, settings: Settings) -> dict:
    """Paced single publishes at --latency-rate in total, spread over the nodes."""
    receiver.reset()
    per_node = settings.latency_rate / len(nodes)
    accepted = [0] * len(nodes)
    failures: list[str] = []
    path = f"/api/v1/workspaces/{WORKSPACE}/messages"
    payload = PUBLISH_BODY.encode()

    def publisher(i: int, node: Node) -> None:
        client = KeepAliveClient(node.port, token)
        interval = 1.0 / per_node
        start = time.monotonic() + i * interval / len(nodes)
        k = 0
        try:
            while True:
                due = start + k * interval
                if due - start >= settings.duration:
                    break
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                status, body = client.post(path, payload)
                if status == 202:
                    accepted[i] += 1
                elif len(failures) < 5:
                    failures.append(f"{node.name}: {status} {body[:200]!r}")
                k += 1
        except Exception as exc:  # reported below
            failures.append(f"{node.name}: {exc!r}")
        finally:
            client.close()

    threads = [threading.Thread(target=publisher, args=(i, n), daemon=True) for i, n in enumerate(nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(settings.duration + 60)
    if any(t.is_alive() for t in threads):
        raise BenchError("latency publishers did not finish in time")
    total = sum(accepted)
    stats = wait_delivered(receiver, total, settings.drain_timeout, "latency phase")
    lat = receiver.latencies()
    receiver.settle(quiet=0.3)
    receiver.reset()
    return {"latency_published": total, "latency_failures": failures,
            "latency_missing": max(0, total - stats["unique_ids"]),
            "e2e_p50_ms": lat["p50"], "e2e_p90_ms": lat["p90"], "e2e_p99_ms": lat["p99"],
            "e2e_max_ms": lat["max"]}


def phase_backlog(nodes: list[Node], receiver: Receiver, token: str, settings: Settings) -> dict:
    receiver.reset()
    batches: list[list[dict]] = []
    for start in range(0, settings.backlog, settings.batch_size):
        batches.append([{"type": "bench.backlog", "data": {"seq": seq, "note": "backlog"}}
                        for seq in range(start, min(settings.backlog, start + settings.batch_size))])
    ids: list[str] = []
    deliveries = [0]
    lock = threading.Lock()
    errors: list[str] = []

    def publisher(node: Node, mine: list[list[dict]]) -> None:
        try:
            for batch in mine:
                status, data = http_request(node.port, "POST", f"/api/v1/workspaces/{WORKSPACE}/messages/batch",
                                            {"messages": batch}, token, timeout=120)
                if status != 202:
                    errors.append(f"{node.name}: batch answered {status}: {data[:300]!r}")
                    return
                answer = json.loads(data)["data"]
                with lock:
                    ids.extend(m["id"] for m in answer)
                    deliveries[0] += sum(int(m.get("deliveries", 0)) for m in answer)
        except Exception as exc:  # reported below
            errors.append(f"{node.name}: {exc!r}")

    t_start = time.monotonic()
    threads = [threading.Thread(target=publisher, args=(n, batches[i::len(nodes)]), daemon=True)
               for i, n in enumerate(nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    if any(t.is_alive() for t in threads):
        raise BenchError("backlog publishers did not finish within 300s")
    t_published = time.monotonic()
    at_published = receiver.stats()
    if errors:
        raise BenchError("backlog publish failed: " + "; ".join(errors[:3]))
    if deliveries[0] != len(ids):
        raise BenchError(f"backlog: {len(ids)} messages created {deliveries[0]} deliveries (expected one each)")
    stats = wait_delivered(receiver, len(ids), settings.drain_timeout, "backlog")
    stats = receiver.settle(quiet=0.5)
    received = receiver.ids()
    wanted = set(ids)
    missing = len(wanted - received.keys())
    duplicates = sum(c - 1 for wid, c in received.items() if wid in wanted and c > 1)
    strangers = sum(c for wid, c in received.items() if wid not in wanted)
    out = {"backlog": len(ids), "backlog_publish_s": t_published - t_start,
           "backlog_publish_rate": len(ids) / max(1e-9, t_published - t_start),
           "delivered_while_publishing": at_published["count"],
           "backlog_missing": missing, "backlog_duplicates": duplicates, "backlog_unexpected": strangers}
    first, last = stats["first_mono_ms"], stats["last_mono_ms"]
    remaining = stats["count"] - at_published["count"]
    if last is not None and remaining >= max(100, 0.1 * len(ids)) and last / 1000 > t_published:
        out["delivery_rate"] = remaining / (last / 1000 - t_published)
        out["delivery_rate_basis"] = "drain"
    elif first is not None and last is not None and last > first:
        # Delivery kept up with the batch publishing: first to last delivery.
        out["delivery_rate"] = (stats["count"] - 1) / ((last - first) / 1000)
        out["delivery_rate_basis"] = "first-to-last"
    else:
        out["delivery_rate"] = None
        out["delivery_rate_basis"] = "none"
    if first is not None and last is not None and last > first:
        out["delivery_rate_first_to_last"] = (stats["count"] - 1) / ((last - first) / 1000)
    # Does the rate depend on how much is still pending? First vs last quarter of the arrivals.
    out["delivery_rate_first_quarter"], out["delivery_rate_last_quarter"] = quarter_rates(receiver)
    receiver.reset()
    return out


def measure(cfg: str, run_index: int, binary: Path, receiver: Receiver, pg: Optional[Postgres],
            workdir: Path, settings: Settings) -> dict:
    label, backend, nodes_n = CONFIGS[cfg]
    run_dir = workdir / f"{cfg}-run{run_index}"
    run_dir.mkdir(parents=True)
    token = "adm_" + secrets.token_hex(16)
    db_name = None
    database = None
    if backend == "postgres":
        if pg is None:
            raise BenchError("no PostgreSQL server")
        db_name = f"ferry_bench_{cfg}_{run_index}_{secrets.token_hex(3)}"
        database = pg.create_database(db_name)
    nodes: list[Node] = []
    result: dict = {"config": cfg, "run": run_index, "problems": []}
    try:
        nodes = start_nodes(cfg, nodes_n, database, binary, run_dir, token, settings)
        setup_workspace(nodes, receiver, token)
        log(f"  {cfg} run {run_index}: nodes on ports {[n.port for n in nodes]}; limits")
        result.update(phase_limits(nodes, receiver, run_dir, settings))
        log(f"  {cfg} run {run_index}: receiver {result['receiver_limit']:.0f}/s, "
            f"/healthz {result['healthz_limit']:.0f}/s; publish")
        result.update(phase_publish(nodes, receiver, run_dir, token, settings))
        log(f"  {cfg} run {run_index}: publish {result['publish_rate']:.0f}/s "
            f"(non-2xx {result['publish_non_2xx']}), drained in {result['publish_drain_s']:.1f}s; latency")
        result.update(phase_latency(nodes, receiver, token, settings))
        log(f"  {cfg} run {run_index}: e2e p50 {result['e2e_p50_ms']} ms p99 {result['e2e_p99_ms']} ms; backlog")
        result.update(phase_backlog(nodes, receiver, token, settings))
        rate = result["delivery_rate"]
        log(f"  {cfg} run {run_index}: delivery {rate or 0:.0f}/s ({result['delivery_rate_basis']}), "
            f"missing {result['backlog_missing']}, duplicates {result['backlog_duplicates']}")
        if result["publish_non_2xx"] or result["publish_socket_errors"]:
            result["problems"].append(f"publish: {result['publish_non_2xx']} non-2xx answers, "
                                      f"{result['publish_socket_errors']} socket errors")
        for key in ("publish_missing", "latency_missing", "backlog_missing"):
            if result.get(key):
                result["problems"].append(f"{key.replace('_', ' ')}: {result[key]}")
        if result.get("latency_failures"):
            result["problems"].append("latency publishes failed: " + "; ".join(result["latency_failures"]))
    finally:
        for n in nodes:
            problem = n.proc.stop(timeout=30)
            if problem:
                result["problems"].append(problem + ": " + n.proc.tail(600))
        for n in nodes:
            if n.proc.alive():
                n.proc.stop(timeout=5)
        if db_name and pg is not None:
            pg.drop_database(db_name)
    result["publish_ratio"] = result["publish_rate"] / result["healthz_limit"] if result.get("healthz_limit") else None
    if result.get("delivery_rate") and result.get("receiver_limit"):
        result["delivery_ratio"] = result["delivery_rate"] / result["receiver_limit"]
    else:
        result["delivery_ratio"] = None
    return result


# ---------------------------------------------------------------- report


def render_table(results: dict[str, list[dict]], failures: dict[str, str]) -> str:
    head = ("| configuration | nodes | publish msg/s | publish ÷ /healthz limit | delivery msg/s "
            "| delivery ÷ receiver limit | e2e latency p50 / p99 ms | limit: /healthz req/s "
            "| limit: receiver req/s | missing | duplicates |")
    sep = "|" + "---|" * 11
    rows = [head, sep]
    for cfg, runs in results.items():
        label, _, nodes_n = CONFIGS[cfg]
        if cfg in failures and not runs:
            rows.append(f"| {label} | {nodes_n} | failed: {failures[cfg][:120]} |" + " |" * 8)
            continue
        col = lambda key: [r.get(key) for r in runs]  # noqa: E731
        missing = sum((r.get("publish_missing") or 0) + (r.get("latency_missing") or 0)
                      + (r.get("backlog_missing") or 0) for r in runs)
        dups = sum((r.get("publish_duplicates") or 0) + (r.get("backlog_duplicates") or 0) for r in runs)
        rows.append(f"| {label} | {nodes_n} | {fmt_rate(col('publish_rate'))} | {fmt_ratio(col('publish_ratio'))} "
                    f"| {fmt_rate(col('delivery_rate'))} | {fmt_ratio(col('delivery_ratio'))} "
                    f"| {fmt_ms(col('e2e_p50_ms'))} / {fmt_ms(col('e2e_p99_ms'))} "
                    f"| {fmt_rate(col('healthz_limit'))} | {fmt_rate(col('receiver_limit'))} "
                    f"| {missing} | {dups} |")
    return "\n".join(rows)


def render_details(results: dict[str, list[dict]]) -> str:
    rows = ["| configuration | publish p50 / p99 ms (wrk) | backlog after publish: drain s, msg/s "
            "| e2e p50 / p99 ms under publish load | backlog published in s | delivery basis "
            "| backlog delivery msg/s: first / last quarter |",
            "|" + "---|" * 7]
    for cfg, runs in results.items():
        if not runs:
            continue
        label, _, nodes_n = CONFIGS[cfg]
        col = lambda key: [r.get(key) for r in runs]  # noqa: E731
        bases = sorted({r.get("delivery_rate_basis", "?") for r in runs})
        drain_s = median_of(col("publish_drain_s"))
        rows.append(f"| {label} ×{nodes_n} | {median_of(col('publish_p50_ms')) or 0:.1f} / "
                    f"{median_of(col('publish_p99_ms')) or 0:.1f} "
                    f"| {drain_s or 0:.1f}, {fmt_rate(col('publish_drain_rate'))} "
                    f"| {fmt_ms(col('publish_e2e_p50_ms'))} / {fmt_ms(col('publish_e2e_p99_ms'))} "
                    f"| {median_of(col('backlog_publish_s')) or 0:.1f} | {', '.join(bases)} "
                    f"| {fmt_rate(col('delivery_rate_first_quarter'))} / {fmt_rate(col('delivery_rate_last_quarter'))} |")
    return "\n".join(rows)


def render_section(results: dict, failures: dict, problems: list[str], info: dict) -> str:
    m = info["machine"]
    s = info["settings"]
    lines = [
        f"## {SECTION_TITLE}",
        "",
        f"Measured {info['date']} by `bench/scale_out.py` (see bench/README.md for what each figure means "
        f"and its caveats) on Ferry {info['revision']}, {info['build_type']} build"
        + (f" (configured with `{' '.join(info['cmake_args'])}`)" if info.get("cmake_args") else "") + ".",
        "",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram']} RAM, Linux {m['kernel']}, data on "
        f"{info['filesystem']}; PostgreSQL, every "
        f"node, the receiver and wrk all share these {m['nproc']} CPUs, so more nodes here measure contention, "
        f"not scale-out.",
        f"- Command: `{info['command']}`",
        f"- {info['runs']} run(s) per configuration; medians, with the range over runs in parentheses; every "
        f"ratio is taken within one run (Ferry's figure ÷ the wrk limit measured in that same run), then the median.",
        f"- Phases of {s['duration']:.0f} s; wrk -t1 -c{s['connections']} per node; backlog of "
        f"{s['backlog']:,} messages in batches of {s['batch_size']}; latency at {s['latency_rate']:g} msg/s; "
        f"one endpoint; `ferry serve` defaults otherwise"
        + (f" plus `{' '.join(s['serve_args'])}`" if s["serve_args"] else "") + ".",
        (f"- PostgreSQL {info['postgres_version']} (scripts/postgres-test-server.sh, FERRY_PG_DURABLE=1): "
         f"{info['postgres_settings']}; one fresh database per configuration and run."
         if info.get("postgres_settings") else "- PostgreSQL: not used in this run."),
        "",
        render_table(results, failures),
        "",
        "Secondary figures (medians):",
        "",
        render_details(results),
    ]
    if problems:
        lines += ["", "Problems seen during the run:", ""]
        lines += [f"- {p}" for p in problems]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=None, help="runs per configuration (default 3; --quick: 1)")
    p.add_argument("--duration", type=float, default=None, help="seconds per wrk phase (default 10; --quick: 2)")
    p.add_argument("--connections", type=int, default=8, help="wrk connections per node (default 8)")
    p.add_argument("--backlog", type=int, default=None, help="messages of the delivery backlog (default 20000; "
                                                             "--quick: 2000)")
    p.add_argument("--batch-size", type=int, default=1000, help="messages per batch publish (default 1000)")
    p.add_argument("--latency-rate", type=float, default=100.0,
                   help="msg/s in total during the latency phase (default 100)")
    p.add_argument("--drain-timeout", type=float, default=None,
                   help="seconds to wait for everything published to arrive (default 300; --quick: 60)")
    p.add_argument("--configs", default=None,
                   help="comma-separated subset of sqlite,pg1,pg2,pg3 (default all; --quick: sqlite,pg1)")
    p.add_argument("--receiver-threads", type=int, default=1, help="io threads of the receiver (default 1)")
    p.add_argument("--serve-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for every `ferry serve` (repeat: --serve-arg=--endpoint-concurrency "
                        "--serve-arg=16)")
    p.add_argument("--build-dir", default=str(REPO / "build-release"), help="Release build dir (default build-release)")
    p.add_argument("--no-build", action="store_true", help="use the binaries already in --build-dir")
    p.add_argument("--cmake-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for configuring --build-dir (repeatable; kept in its CMake cache)")
    p.add_argument("--quick", action="store_true", help="short smoke: 2 s phases, 1 run, SQLite + 1 PostgreSQL node")
    p.add_argument("--write", action="store_true", help=f"write the section \"{SECTION_TITLE}\" into BENCHMARKS.md")
    p.add_argument("--json", metavar="FILE", help="also write every run's raw figures as JSON")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    p.add_argument("--work-dir", default=None,
                   help="where the temporary directory (databases, logs) goes (default: the system's temp dir; "
                        "it must be on a real disk for fsync to cost what it does in production)")
    a = p.parse_args(argv)
    a.runs = a.runs or (1 if a.quick else 3)
    a.duration = a.duration or (2.0 if a.quick else 10.0)
    a.backlog = a.backlog or (2000 if a.quick else 20000)
    a.drain_timeout = a.drain_timeout or (60.0 if a.quick else 300.0)
    a.configs = [c.strip() for c in (a.configs or ("sqlite,pg1" if a.quick else "sqlite,pg1,pg2,pg3")).split(",")
                 if c.strip()]
    for c in a.configs:
        if c not in CONFIGS:
            p.error(f"unknown configuration {c!r} (sqlite, pg1, pg2, pg3)")
    if a.runs < 1 or a.duration < 1 or a.backlog < 1 or a.connections < 1 or not 1 <= a.batch_size <= 1000:
        p.error("--runs, --duration, --backlog and --connections must be positive, --batch-size 1..1000")
    return a


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    command = "python3 bench/scale_out.py" + "".join(" " + shlex.quote(a) for a in argv)

    build_dir = Path(args.build_dir).resolve()
    ensure_wrk()
    if not args.no_build:
        build(build_dir, args.cmake_arg)
    build_type = build_type_of(build_dir)
    if build_type != "Release":
        log(f"warning: {build_dir} is a {build_type} build, not Release")
    ferry_bin = build_dir / "ferry"
    receiver_bin = build_dir / "bench" / "ferry_bench_receiver"
    for b in (ferry_bin, receiver_bin):
        if not os.access(b, os.X_OK):
            raise BenchError(f"{b} is missing (build it, or drop --no-build)")

    settings = Settings(duration=args.duration, connections=args.connections, backlog=args.backlog,
                        batch_size=args.batch_size, latency_rate=args.latency_rate,
                        drain_timeout=args.drain_timeout, serve_args=args.serve_arg,
                        endpoint_concurrency=endpoint_concurrency(args.serve_arg))
    if args.work_dir:
        Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="ferry-bench-", dir=args.work_dir))
    fstype = filesystem_of(workdir)
    log(f"work dir {workdir} ({fstype})")
    if fstype in ("tmpfs", "ramfs", "overlay"):
        log(f"warning: {workdir} is on {fstype}: fsync costs there are not those of a disk (--work-dir)")
    results: dict[str, list[dict]] = {c: [] for c in args.configs}
    failures: dict[str, str] = {}
    problems: list[str] = []
    info: dict = {"date": utc_now_text(),
                  "revision": git_revision(), "machine": machine(), "command": command, "runs": args.runs,
                  "settings": settings.__dict__, "build_type": build_type, "filesystem": fstype,
                  "cmake_args": [] if args.no_build else args.cmake_arg}
    pg: Optional[Postgres] = None
    receiver: Optional[Receiver] = None
    try:
        receiver = Receiver(receiver_bin, workdir, args.receiver_threads)
        if any(CONFIGS[c][1] == "postgres" for c in args.configs):
            log("starting PostgreSQL (durable: fsync on)")
            pg = Postgres(workdir)
            info["postgres_settings"] = pg.settings
            info["postgres_version"] = psql(pg.url, "SHOW server_version").strip()
        for run_index in range(1, args.runs + 1):
            # Interleave configurations so slow drifts of the machine hit them alike.
            for cfg in args.configs:
                if cfg in failures:
                    continue
                log(f"{cfg}: run {run_index}/{args.runs}")
                try:
                    r = measure(cfg, run_index, ferry_bin, receiver, pg, workdir, settings)
                except KeyboardInterrupt:
                    raise
                except Exception as exc:  # one configuration failing must not hide the others
                    if not isinstance(exc, BenchError):
                        exc = BenchError(f"{type(exc).__name__}: {exc}")
                    failures[cfg] = str(exc)
                    problems.append(f"{cfg} run {run_index}: {exc}")
                    log(f"  ! {cfg} failed: {exc}")
                    try:
                        receiver.reset()
                    except (BenchError, OSError, http.client.HTTPException):
                        pass
                    continue
                results[cfg].append(r)
                problems.extend(f"{cfg} run {run_index}: {p}" for p in r["problems"])
    finally:
        Proc.stop_all()
        if pg is not None:
            pg.stop()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    section = render_section(results, failures, problems, info)
    print(section)
    if args.json:
        Path(args.json).write_text(json.dumps({"info": info, "results": results, "failures": failures,
                                               "problems": problems}, indent=2, default=str))
    if args.write:
        log(f"wrote {write_benchmarks(section, SECTION_TITLE)}")
    return 1 if failures else 0


if __name__ == "__main__":
    run_main(main, "scale_out")
