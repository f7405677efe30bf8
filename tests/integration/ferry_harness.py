"""Shared helpers for Ferry's end-to-end tests (Python 3 standard library only).

- FerryServer: starts `ferry serve` on a free loopback port with a temporary
  data dir, waits for its "listening on" line, captures stdout/stderr to files,
  stops it (SIGTERM), kills it (SIGKILL) and restarts it on the same data dir
  and port.
- Api: a small JSON client over http.client with keep-alive.
- Receiver: a threaded HTTP server on 127.0.0.1:0 that records every request
  and answers with a programmable behaviour per path.
- Standard Webhooks signing/verification in pure Python, and a bridge to the
  official JavaScript library (tests/node/verify.mjs).
- wait_for(predicate, timeout): every wait in these tests is bounded.

- Backends: FERRY_TEST_BACKEND=postgres gives every FerryServer
  `--database <URL>` of a fresh PostgreSQL database made for it (kept across
  its restarts, dropped at cleanup); TestDatabase makes one that several
  servers share (test_cluster.py).

Environment:
  FERRY_BIN                path of the ferry binary (default: <repo>/build/ferry)
  NODE_TOOLS_DIR           folder of verify.mjs and its node_modules (default: <repo>/tests/node)
  CI                       when set, missing prerequisites fail instead of skipping
  FERRY_KEEP_DATA          when set, temporary data dirs, logs and databases are kept
  FERRY_TEST_BACKEND       sqlite (default) or postgres: the store every server uses
  FERRY_TEST_POSTGRES_URL  postgresql://USER@HOST:PORT/DB of a server where tests may
                           CREATE DATABASE; or else
  FERRY_TEST_POSTGRES_DIR  the dir of scripts/postgres-test-server.sh (ctest's fixture
                           `postgres` sets it); its URL comes from `... url DIR`.
                           In the postgres variant, finding neither is a failure, never a skip.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import secrets as _secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
FERRY_BIN = os.environ.get("FERRY_BIN") or str(REPO_ROOT / "build" / "ferry")
NODE_TOOLS_DIR = os.environ.get("NODE_TOOLS_DIR") or str(REPO_ROOT / "tests" / "node")
IN_CI = bool(os.environ.get("CI"))
KEEP_DATA = bool(os.environ.get("FERRY_KEEP_DATA"))

START_TIMEOUT = 20.0  # seconds to wait for "listening on"
STOP_TIMEOUT = 20.0  # seconds to wait for a graceful exit

LISTENING_RE = re.compile(r"listening on (https?)://(\S+?):(\d+)")

BACKEND = (os.environ.get("FERRY_TEST_BACKEND") or "sqlite").strip().lower()
if BACKEND not in ("sqlite", "postgres"):
    raise RuntimeError(f"FERRY_TEST_BACKEND must be sqlite or postgres, not {BACKEND!r}")
PG_SCRIPT = REPO_ROOT / "scripts" / "postgres-test-server.sh"


def is_postgres() -> bool:
    """Whether this run tests the PostgreSQL store (FERRY_TEST_BACKEND=postgres)."""
    return BACKEND == "postgres"


# ---------------------------------------------------------------- waiting


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.02,
             message: str = "condition") -> Any:
    """Polls predicate until it returns a truthy value and returns that value.

    Raises AssertionError (a test failure, not an error) after `timeout` seconds,
    with the last value or exception of the predicate in the message."""
    deadline = time.monotonic() + timeout
    last: Any = None
    last_exc: Optional[BaseException] = None
    while True:
        try:
            last = predicate()
            last_exc = None
            if last:
                return last
        except (AssertionError, OSError, http.client.HTTPException, ValueError, KeyError) as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = f"last exception: {last_exc!r}" if last_exc else f"last value: {last!r}"
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {message} ({detail})")
        time.sleep(interval)


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A port where a connection is refused (nothing listens)."""
    return free_port()


def require_ferry_bin() -> str:
    """Returns the ferry binary path; skips (or fails in CI) when it is missing."""
    if os.path.isfile(FERRY_BIN) and os.access(FERRY_BIN, os.X_OK):
        return FERRY_BIN
    reason = f"ferry binary not found at {FERRY_BIN} (set FERRY_BIN or build it)"
    if IN_CI:
        raise AssertionError(reason)
    raise unittest.SkipTest(reason)


def now_ms() -> int:
    return int(time.time() * 1000)


def parse_rfc3339(text: str) -> _dt.datetime:
    """Parses an RFC 3339 UTC time such as 2026-11-23T10:00:00.123Z."""
    if not isinstance(text, str):
        raise ValueError(f"not a time string: {text!r}")
    t = text.strip()
    if t.endswith("Z") or t.endswith("z"):
        t = t[:-1] + "+00:00"
    return _dt.datetime.fromisoformat(t)


def rfc3339_ms(epoch_ms: int) -> str:
    d = _dt.datetime.fromtimestamp(epoch_ms / 1000, tz=_dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


# ---------------------------------------------------------------- PostgreSQL


_pg_url_cache: Optional[str] = None
_pg_url_lock = threading.Lock()


def postgres_server_url() -> str:
    """The URL of the test PostgreSQL server (a maintenance database on it).

    Raises AssertionError (a failure, never a skip) when there is none: a
    postgres variant that cannot reach its server must not pass by doing nothing."""
    global _pg_url_cache
    with _pg_url_lock:
        if _pg_url_cache:
            return _pg_url_cache
        url = (os.environ.get("FERRY_TEST_POSTGRES_URL") or "").strip()
        if not url:
            pg_dir = (os.environ.get("FERRY_TEST_POSTGRES_DIR") or "").strip()
            if not pg_dir:
                raise AssertionError(
                    "PostgreSQL tests need a server: set FERRY_TEST_POSTGRES_URL=postgresql://USER@HOST:PORT/DB "
                    "or FERRY_TEST_POSTGRES_DIR=<dir of scripts/postgres-test-server.sh start DIR> "
                    "(ctest's fixture `postgres` sets it: run them through ctest)")
            proc = subprocess.run(["bash", str(PG_SCRIPT), "url", pg_dir], capture_output=True, timeout=30)
            out = proc.stdout.decode("utf-8", "replace").strip()
            if proc.returncode != 0 or not out:
                raise AssertionError(
                    f"no PostgreSQL test server in {pg_dir} ({PG_SCRIPT.name} url: exit {proc.returncode}, "
                    f"{(proc.stderr or b'').decode('utf-8', 'replace').strip()}); did the ctest fixture "
                    f"postgres.server.start run and pass?")
            url = out.splitlines()[-1].strip()
        if not re.match(r"^postgres(ql)?://", url):
            raise AssertionError(f"not a PostgreSQL URL: {url!r}")
        _pg_url_cache = url
        return url


def psql(url: str, sql: str, timeout: float = 60.0) -> str:
    """Runs one SQL command with psql against `url`; returns its unaligned output."""
    if not shutil.which("psql"):
        raise AssertionError("psql is not installed (Debian package postgresql-client; scripts/setup.sh installs it)")
    proc = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                          capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"psql {sql!r} on {url} failed (exit {proc.returncode}): "
                             f"{proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout.decode("utf-8", "replace")


class PrivatePostgres:
    """A PostgreSQL server of one test's own (scripts/postgres-test-server.sh in a
    temporary dir), for tests that stop and restart the database server, which
    the shared one of the ctest fixture must never be."""

    def __init__(self, label: str = "pg"):
        self.dir = tempfile.mkdtemp(prefix=f"ferry-it-{label}-pg-")
        self.port: Optional[int] = None
        self.url = ""

    def start(self) -> str:
        """Starts (again, on the same port after stop()) and returns the server's URL."""
        args = ["bash", str(PG_SCRIPT), "start", self.dir] + ([str(self.port)] if self.port else [])
        proc = subprocess.run(args, capture_output=True, timeout=120)
        if proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed (exit {proc.returncode}): "
                                 f"{(proc.stdout + proc.stderr).decode('utf-8', 'replace').strip()}")
        self.url = proc.stdout.decode().strip().splitlines()[-1]
        self.port = urllib.parse.urlsplit(self.url).port
        return self.url

    def stop(self) -> None:
        proc = subprocess.run(["bash", str(PG_SCRIPT), "stop", self.dir], capture_output=True, timeout=120)
        if proc.returncode != 0:
            raise AssertionError(f"stopping the PostgreSQL server in {self.dir} failed: "
                                 f"{(proc.stdout + proc.stderr).decode('utf-8', 'replace').strip()}")

    def cleanup(self) -> None:
        try:
            self.stop()
        except (AssertionError, subprocess.TimeoutExpired) as exc:
            print(f"[harness] {exc}", flush=True)
        if not KEEP_DATA:
            shutil.rmtree(self.dir, ignore_errors=True)


def with_database(url: str, dbname: str) -> str:
    """`url` with its database (path) replaced by `dbname`, query kept."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


class TestDatabase:
    """A fresh, empty PostgreSQL database on the test server (or on
    `server_url`): CREATE DATABASE ferry_<label>_<random>, dropped by drop()
    unless FERRY_KEEP_DATA is set."""

    def __init__(self, label: str = "test", server_url: Optional[str] = None):
        self.server_url = server_url or postgres_server_url()
        tag = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:20] or "test"
        self.name = f"ferry_{tag}_{_secrets.token_hex(5)}"
        psql(self.server_url, f'CREATE DATABASE "{self.name}" TEMPLATE template0')
        self.url = with_database(self.server_url, self.name)
        self.dropped = False

    def sql(self, query: str) -> str:
        """Runs SQL inside this database (for inspecting what the store wrote)."""
        return psql(self.url, query)

    def drop(self) -> None:
        if self.dropped or KEEP_DATA:
            return
        self.dropped = True
        try:
            psql(self.server_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        except (AssertionError, subprocess.TimeoutExpired) as exc:  # cleanup must not hide the test's outcome
            print(f"[harness] could not drop database {self.name}: {exc}", flush=True)

    def __repr__(self) -> str:
        return f"TestDatabase({self.url})"


# ---------------------------------------------------------------- server process


class FerryServer:
    """One `ferry serve` process with its own temporary data dir.

    Its store follows FERRY_TEST_BACKEND: sqlite (in the data dir) or postgres
    (`--database` of a fresh database created on the first start, reused by
    restarts and dropped by cleanup()). database=TestDatabase or URL puts the
    server on that database instead (several nodes on one database); the
    server then does not drop it. database="" keeps the embedded SQLite store
    in either variant (the source of test_store_copy.py)."""

    def __init__(self, *, extra_args: Iterable[str] = (), allow_targets: Optional[str] = "127.0.0.0/8",
                 time_factor: Optional[float] = 0.001, admin_token: Optional[str] = None,
                 data_dir: Optional[str] = None, port: Optional[int] = None,
                 env: Optional[dict] = None, name: str = "ferry",
                 database: "Optional[TestDatabase | str]" = None):
        self.binary = require_ferry_bin()
        self.extra_args = list(extra_args)
        self.allow_targets = allow_targets
        self.time_factor = time_factor
        self.admin_token = admin_token or ("adm_" + _secrets.token_hex(16))
        self.name = name
        self.env = dict(os.environ)
        # Only the harness chooses the store: an inherited setting would turn a
        # sqlite variant into something else without saying so.
        self.env.pop("FERRY_DATABASE", None)
        if env:
            self.env.update(env)
        self.own_database: Optional[TestDatabase] = None
        if isinstance(database, TestDatabase):
            self.database_url: Optional[str] = database.url
        elif database is not None:
            self.database_url = database  # "" means the embedded SQLite store, whatever the variant
        else:
            self.database_url = None  # set on the first start in the postgres variant
        self.workdir = tempfile.mkdtemp(prefix=f"ferry-it-{name}-")
        self.data_dir = data_dir or os.path.join(self.workdir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.port = port
        self.host = "127.0.0.1"
        self.proc: Optional[subprocess.Popen] = None
        self.stdout_lines: list[str] = []
        self._stdout_lock = threading.Lock()
        self._listening = threading.Event()
        self._reader: Optional[threading.Thread] = None
        self.starts = 0
        self.stderr_path = ""
        self.stdout_path = ""

    # -- command line
    def command(self) -> list[str]:
        cmd = [self.binary, "serve", "--listen", f"{self.host}:{self.port}", "--data-dir", self.data_dir,
               "--admin-token", self.admin_token]
        if self.database_url:
            cmd += ["--database", self.database_url]
        if self.allow_targets:
            cmd += ["--allow-targets", self.allow_targets]
        if self.time_factor is not None:
            cmd += ["--time-factor", repr(float(self.time_factor))]
        cmd += self.extra_args
        return cmd

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- lifecycle
    def start(self, timeout: float = START_TIMEOUT) -> "FerryServer":
        """Starts the process and returns once it printed its "listening on" line.

        A fresh free port is picked on the first start (retried if it was taken
        meanwhile); restarts reuse the same port."""
        fixed_port = self.port is not None
        tries = 1 if fixed_port else 3
        last_error: Optional[BaseException] = None
        for _ in range(tries):
            if not fixed_port:
                self.port = free_port()
            try:
                self._spawn(timeout)
                return self
            except AssertionError as exc:
                last_error = exc
                if fixed_port or "in use" not in self.stderr_tail(4000).lower():
                    raise
        assert last_error is not None
        raise last_error

    @property
    def backend(self) -> str:
        if self.database_url is None:  # not started yet: it follows the variant
            return "postgres" if is_postgres() else "sqlite"
        return "postgres" if self.database_url else "sqlite"

    def _ensure_database(self) -> None:
        """In the postgres variant, a fresh database for this server (once: restarts reuse it)."""
        if self.database_url is None and is_postgres():
            self.own_database = TestDatabase(self.name)
            self.database_url = self.own_database.url

    def _spawn(self, timeout: float) -> None:
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        self._ensure_database()
        self.starts += 1
        self.stderr_path = os.path.join(self.workdir, f"stderr.{self.starts}.log")
        self.stdout_path = os.path.join(self.workdir, f"stdout.{self.starts}.log")
        self._listening.clear()
        with self._stdout_lock:
            self.stdout_lines = []
        stderr_file = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=stderr_file, env=self.env, cwd=self.workdir)
        finally:
            stderr_file.close()
        self._reader = threading.Thread(target=self._read_stdout, args=(self.proc,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.05):
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise AssertionError(
                    f"ferry exited with code {self.proc.returncode} before listening\n"
                    f"command: {' '.join(self.command())}\n{self.log_tails()}")
            if time.monotonic() >= deadline:
                self.kill()
                raise AssertionError(
                    f"ferry did not print 'listening on' within {timeout:.0f}s\n"
                    f"command: {' '.join(self.command())}\n{self.log_tails()}")

    def _read_stdout(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        with open(self.stdout_path, "ab") as out:
            for raw in iter(proc.stdout.readline, b""):
                out.write(raw)
                out.flush()
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self._stdout_lock:
                    self.stdout_lines.append(line)
                m = LISTENING_RE.search(line)
                if m and int(m.group(3)) == self.port:
                    self._listening.set()
                elif m:
                    # Listening somewhere else than asked: record it, the start fails loudly.
                    self.stdout_lines.append(f"[harness] unexpected listen address in: {line}")
        proc.stdout.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> Optional[int]:
        """Sends `sig` (SIGTERM by default) and waits for the exit; SIGKILLs after
        `timeout`. Returns the exit code (negative for a signal), None if not running."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGCONT)  # a paused process would never see `sig`
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                if self._reader:
                    self._reader.join(2)
                raise AssertionError(f"ferry did not exit within {timeout:.0f}s of signal {sig}; killed\n"
                                     f"{self.log_tails()}")
        if self._reader:
            self._reader.join(5)
        return self.proc.returncode

    def kill(self) -> Optional[int]:
        """kill -9."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        if self._reader:
            self._reader.join(5)
        return self.proc.returncode

    def pause(self) -> None:
        """SIGSTOP: the process keeps its sockets and database connections but does nothing."""
        assert self.alive(), "pause() of a server that is not running"
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after pause()."""
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)

    def restart(self, timeout: float = START_TIMEOUT) -> "FerryServer":
        """Starts again on the same data dir and port (after stop() or kill())."""
        if self.alive():
            self.stop()
        deadline = time.monotonic() + 10
        # The port of a killed process can take a moment to be bindable again.
        while True:
            try:
                self._spawn(timeout)
                return self
            except AssertionError:
                if time.monotonic() < deadline and "in use" in self.stderr_tail(4000).lower():
                    time.sleep(0.2)
                    continue
                raise

    def cleanup(self) -> None:
        """Stops the process if needed and removes the temporary files."""
        try:
            if self.alive():
                try:
                    self.stop(timeout=10)
                except AssertionError:
                    pass
        finally:
            if not KEEP_DATA:
                shutil.rmtree(self.workdir, ignore_errors=True)
            if self.own_database is not None:
                self.own_database.drop()

    # -- logs
    def stderr_tail(self, max_chars: int = 6000) -> str:
        try:
            with open(self.stderr_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return data[-max_chars:].decode("utf-8", "replace")

    def stdout_text(self) -> str:
        with self._stdout_lock:
            return "\n".join(self.stdout_lines)

    def log_tails(self, max_chars: int = 6000) -> str:
        state = "running" if self.alive() else (
            f"exited with code {self.proc.returncode}" if self.proc is not None else "never started")
        return (f"--- ferry process ({self.backend}): {state}; command: {' '.join(self.command())}\n"
                f"--- ferry stdout (start #{self.starts}) ---\n{self.stdout_text()[-2000:]}\n"
                f"--- ferry stderr tail ({self.stderr_path}) ---\n{self.stderr_tail(max_chars)}\n--- end ---")

    def api(self, token: Any = "admin") -> "Api":
        return Api(self.host, self.port, self.admin_token if token == "admin" else token)


# ---------------------------------------------------------------- API client


_DEFAULT = object()


@dataclass
class Response:
    status: int
    headers: dict  # lowercase names
    body: bytes
    json: Any = None
    method: str = ""
    path: str = ""

    def describe(self) -> str:
        text = self.body[:800].decode("utf-8", "replace")
        return f"{self.method} {self.path} -> {self.status} {text}"


class Api:
    """JSON API client over one keep-alive connection (not thread-safe: use one per thread)."""

    def __init__(self, host: str, port: int, token: Optional[str], timeout: float = 30.0):
        self.host = host
        self.port = port
        self.token = token
        self.timeout = timeout
        self._conn: Optional[http.client.HTTPConnection] = None
        self._used = False

    def with_token(self, token: Optional[str]) -> "Api":
        return Api(self.host, self.port, token, self.timeout)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._used = False
        return self._conn

    def request(self, method: str, path: str, body: Any = None, *, token: Any = _DEFAULT,
                headers: Optional[dict] = None, raw: Optional[bytes | str] = None,
                content_type: Optional[str] = "application/json", retry: bool = True) -> Response:
        """Sends one request. `body` is JSON-encoded; `raw` is sent as is instead.
        token=None sends no Authorization header. A stale keep-alive connection
        (closed by the server before this request) is retried once on a new one."""
        hdrs = {}
        tok = self.token if token is _DEFAULT else token
        if tok is not None:
            hdrs["Authorization"] = f"Bearer {tok}"
        payload: Optional[bytes] = None
        if raw is not None:
            payload = raw.encode() if isinstance(raw, str) else raw
        elif body is not None:
            payload = json.dumps(body).encode()
        if payload is not None and content_type:
            hdrs["Content-Type"] = content_type
        if headers:
            hdrs.update(headers)
        for attempt in (1, 2):
            conn = self._connection()
            reused = self._used
            try:
                conn.request(method, path, body=payload, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                self.close()
                if retry and reused and attempt == 1:
                    continue
                raise
            except Exception:
                self.close()
                raise
            self._used = True
            if resp.will_close:
                self.close()
            parsed = None
            ctype = resp.getheader("Content-Type", "") or ""
            if data and ("json" in ctype or data[:1] in (b"{", b"[")):
                try:
                    parsed = json.loads(data)
                except ValueError:
                    parsed = None
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, parsed,
                            method, path)
        raise AssertionError("unreachable")

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw) -> Response:
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw) -> Response:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw) -> Response:
        return self.request("DELETE", path, **kw)

    # -- checked helpers: raise AssertionError with the answer when the status is unexpected
    def expect(self, resp: Response, *statuses: int) -> Any:
        if resp.status not in statuses:
            raise AssertionError(f"expected {statuses}, got {resp.describe()}")
        return resp.json

    def create_workspace(self, name: str = "test", ws_id: Optional[str] = None) -> dict:
        body = {"name": name}
        if ws_id is not None:
            body["id"] = ws_id
        return self.expect(self.post("/api/v1/workspaces", body), 201)

    def create_endpoint(self, ws: str, url: str, **fields) -> dict:
        body = {"url": url}
        body.update(fields)
        return self.expect(self.post(f"/api/v1/workspaces/{ws}/endpoints", body), 201)

    def create_api_key(self, ws: str, name: str = "key") -> dict:
        return self.expect(self.post(f"/api/v1/workspaces/{ws}/api-keys", {"name": name}), 201)

    def publish(self, ws: str, type_: str, data: Any = None, *, msg_id: Optional[str] = None,
                idempotency_key: Optional[str] = None, raw: Optional[str] = None) -> dict:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        if raw is None:
            body = {"type": type_, "data": data}
            if msg_id is not None:
                body["id"] = msg_id
            resp = self.post(f"/api/v1/workspaces/{ws}/messages", body, headers=headers)
        else:
            resp = self.post(f"/api/v1/workspaces/{ws}/messages", raw=raw, headers=headers)
        return self.expect(resp, 202)

    def attempts(self, ws: str, msg_id: str) -> list:
        return self.expect(self.get(f"/api/v1/workspaces/{ws}/messages/{msg_id}/attempts"), 200)["data"]

    def deliveries(self, ws: str, msg_id: str) -> list:
        return self.expect(self.get(f"/api/v1/workspaces/{ws}/messages/{msg_id}/deliveries"), 200)["data"]

    def endpoint(self, ws: str, ep_id: str) -> dict:
        return self.expect(self.get(f"/api/v1/workspaces/{ws}/endpoints/{ep_id}"), 200)

    def wait_delivery_state(self, ws: str, msg_id: str, states: Iterable[str], timeout: float = 15.0,
                            count: int = 1) -> list:
        """Waits until the message has `count` deliveries, all in one of `states`."""
        wanted = set(states)

        def check():
            dl = self.deliveries(ws, msg_id)
            if len(dl) == count and all(d.get("state") in wanted for d in dl):
                return dl
            return None
        return wait_for(check, timeout, interval=0.05,
                        message=f"deliveries of {msg_id} in state {sorted(wanted)}")

    def wait_attempts(self, ws: str, msg_id: str, n: int, timeout: float = 15.0) -> list:
        return wait_for(lambda: (lambda a: a if len(a) >= n else None)(self.attempts(ws, msg_id)), timeout,
                        interval=0.05, message=f"{n} attempts of {msg_id}")

    def healthy(self) -> bool:
        try:
            r = self.get("/healthz", token=None)
        except (OSError, http.client.HTTPException):
            return False
        return r.status == 200

    def list_all(self, path: str, limit: int = 2, max_pages: int = 200) -> tuple[list, int]:
        """Walks a paginated list with `limit`; returns (items, pages)."""
        items: list = []
        cursor = None
        pages = 0
        while True:
            sep = "&" if "?" in path else "?"
            url = f"{path}{sep}limit={limit}"
            if cursor:
                url += "&cursor=" + urllib.parse.quote(cursor, safe="")
            page = self.expect(self.get(url), 200)
            pages += 1
            if len(page["data"]) > limit:
                raise AssertionError(f"page of {len(page['data'])} items > limit {limit}: {url}")
            items.extend(page["data"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items, pages
            if pages >= max_pages:
                raise AssertionError(f"more than {max_pages} pages walking {path}: cursor loop?")


def raw_http(port: int, data: bytes, host: str = "127.0.0.1", timeout: float = 10.0) -> tuple[Optional[int], bytes]:
    """Sends raw bytes on a new connection and reads one response.

    Tolerates the server closing while we still send (it may answer 413/431
    before reading the whole request). Returns (status or None, raw response)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
            joined = b"".join(chunks)
            if b"\r\n\r\n" in joined:
                head, _, rest = joined.partition(b"\r\n\r\n")
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if m and len(rest) >= int(m.group(1)):
                    break
        resp = b"".join(chunks)
    finally:
        sock.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", resp)
    return (int(m.group(1)) if m else None), resp


# ---------------------------------------------------------------- receiver


@dataclass
class Reply:
    """One programmed answer of the receiver."""
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    hang: bool = False  # never answer (until the receiver is released or closed)
    body: bytes = b"ok"
    close: bool = False  # close the connection without answering


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict  # lowercase name -> value (last wins)
    header_list: list  # [(lowercase name, value)] in order
    body: bytes
    time: float  # time.monotonic() when the request was fully read
    wall: float  # time.time() at the same moment
    answered: Optional[int] = None  # status answered, None if none

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class _ReceiverHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FerryTestReceiver/1.0"
    # The status line and headers go out in one write and the body in
    # another: with Nagle's algorithm the body waits for the ACK of the
    # first, which the sender delays by 40 ms, so every answer took 44 ms.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet
        pass

    def _handle(self):
        recv: Receiver = self.server.receiver  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(length) if length else b""
        path = self.path
        rec = Recorded(self.command, path, {k.lower(): v for k, v in self.headers.items()},
                       [(k.lower(), v) for k, v in self.headers.items()], body, time.monotonic(), time.time())
        reply = recv._record_and_choose(rec)
        try:
            if reply.hang:
                recv._release.wait(120)
                self.close_connection = True
                return
            if reply.delay:
                if recv._release.wait(reply.delay):
                    self.close_connection = True
                    return
            if reply.close:
                self.close_connection = True
                return
            self.send_response(reply.status)
            for k, v in reply.headers.items():
                self.send_header(k, str(v))
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
            rec.answered = reply.status
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            recv._done(path)

    def _read_chunked(self) -> bytes:
        out = bytearray()
        while True:
            line = self.rfile.readline()
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out)
            out += self.rfile.read(size)
            self.rfile.readline()

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle


class _ReceiverServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A sender that gives up (timeout) or dies (kill -9) resets its
        # connections: expected here, not worth a traceback.
        import sys
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            return
        super().handle_error(request, client_address)


class Receiver:
    """Records every request; answers per path with a programmed sequence of Replies.

    The last Reply of a sequence repeats; paths without a program get 200."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._lock = threading.Condition()
        self.requests: list[Recorded] = []
        self._programs: dict[str, list[Reply]] = {}
        self._counts: dict[str, int] = {}
        self._inflight: dict[str, int] = {}
        self.max_inflight: dict[str, int] = {}
        self._release = threading.Event()
        self.server = _ReceiverServer((host, port), _ReceiverHandler)
        self.server.receiver = self  # type: ignore[attr-defined]
        self.host, self.port = self.server.server_address[:2]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        if not path.startswith("/"):
            path = "/" + path
        return f"http://{self.host}:{self.port}{path}"

    # -- programming
    def program(self, path: str, *replies: Reply | int) -> None:
        """Answers requests to `path` with the given replies in order (ints are statuses)."""
        seq = [r if isinstance(r, Reply) else Reply(status=r) for r in replies] or [Reply()]
        with self._lock:
            self._programs[path] = seq
            self._counts[path] = 0

    def release(self) -> None:
        """Ends every hanging or delayed reply now (they answer nothing)."""
        self._release.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    # -- recording
    def _record_and_choose(self, rec: Recorded) -> Reply:
        key = rec.path.split("?", 1)[0]
        with self._lock:
            self.requests.append(rec)
            n = self._counts.get(key, 0)
            self._counts[key] = n + 1
            self._inflight[key] = self._inflight.get(key, 0) + 1
            self.max_inflight[key] = max(self.max_inflight.get(key, 0), self._inflight[key])
            seq = self._programs.get(key)
            self._lock.notify_all()
        if not seq:
            return Reply()
        return seq[min(n, len(seq) - 1)]

    def _done(self, path: str) -> None:
        key = path.split("?", 1)[0]
        with self._lock:
            self._inflight[key] = self._inflight.get(key, 1) - 1

    def inflight(self, path: str) -> int:
        with self._lock:
            return self._inflight.get(path, 0)

    def received(self, path: Optional[str] = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path.split("?", 1)[0] == path]

    def count(self, path: Optional[str] = None) -> int:
        return len(self.received(path))

    def wait_for_requests(self, n: int, path: Optional[str] = None, timeout: float = 15.0) -> list[Recorded]:
        """Waits until at least n requests arrived (to `path`, if given)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                got = [r for r in self.requests if path is None or r.path.split("?", 1)[0] == path]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout:.1f}s waiting for {n} requests to "
                                         f"{path or 'the receiver'}; got {len(got)}")
                self._lock.wait(min(left, 0.1))

    def webhook_ids(self, path: Optional[str] = None) -> list[str]:
        return [r.headers.get("webhook-id", "") for r in self.received(path)]

    def delivered_ids(self, path: Optional[str] = None) -> set:
        """Ids of messages answered 2xx (the answer was written)."""
        return {r.headers.get("webhook-id") for r in self.received(path)
                if r.answered is not None and 200 <= r.answered < 300}

    def wait_all_delivered(self, label: str, acked, path: str, timeout: float) -> None:
        """Waits until every acked message id was answered 2xx; on the way out
        prints the ones that never were."""
        try:
            wait_for(lambda: set(acked) <= self.delivered_ids(path), timeout, interval=0.1,
                     message=f"every acked message answered 2xx by the receiver ({label})")
        finally:
            missing = sorted(set(acked) - self.delivered_ids(path))
            if missing:
                print(f"\n[{label}] {len(missing)} acked messages never delivered: {missing[:20]}", flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------- Standard Webhooks


class VerificationError(Exception):
    pass


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret."""
    if not secret.startswith("whsec_"):
        raise VerificationError(f"secret does not start with whsec_: {secret[:10]}…")
    try:
        return base64.b64decode(secret[len("whsec_"):], validate=True)
    except binascii.Error as exc:
        raise VerificationError(f"secret is not base64: {exc}") from exc


def sign(secret: str, msg_id: str, timestamp: str | int, body: bytes | str) -> str:
    """The `v1,<base64>` signature of one request."""
    if isinstance(body, str):
        body = body.encode()
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: dict, body: bytes | str, *, tolerance: int = 300,
           now: Optional[float] = None) -> None:
    """Verifies a Standard Webhooks request; raises VerificationError on failure.

    headers: lowercase names (webhook-id, webhook-timestamp, webhook-signature)."""
    h = {k.lower(): v for k, v in headers.items()}
    msg_id = h.get("webhook-id")
    ts = h.get("webhook-timestamp")
    sig_header = h.get("webhook-signature")
    if not msg_id or not ts or not sig_header:
        raise VerificationError(f"missing headers: id={msg_id!r} timestamp={ts!r} signature={sig_header!r}")
    if not re.fullmatch(r"\d+", ts):
        raise VerificationError(f"webhook-timestamp is not unix seconds: {ts!r}")
    current = time.time() if now is None else now
    if abs(current - int(ts)) > tolerance:
        raise VerificationError(f"timestamp {ts} outside tolerance ({current - int(ts):.0f}s off)")
    expected = sign(secret, msg_id, ts, body).split(",", 1)[1].encode()
    for entry in sig_header.split(" "):
        version, _, value = entry.partition(",")
        if version != "v1":
            continue
        if hmac.compare_digest(value.encode(), expected):
            return
    raise VerificationError(f"no matching v1 signature in {sig_header!r}")


def new_secret(nbytes: int = 32) -> str:
    return "whsec_" + base64.b64encode(os.urandom(nbytes)).decode()


# ---------------------------------------------------------------- node cross-check


def node_unavailable_reason() -> Optional[str]:
    """None when node and the standardwebhooks package are usable, else why not."""
    node = shutil.which("node")
    if not node:
        return "node is not installed"
    script = os.path.join(NODE_TOOLS_DIR, "verify.mjs")
    if not os.path.isfile(script):
        return f"{script} is missing"
    pkg = os.path.join(NODE_TOOLS_DIR, "node_modules", "standardwebhooks", "package.json")
    if not os.path.isfile(pkg):
        return (f"npm package standardwebhooks is not installed in {NODE_TOOLS_DIR} "
                f"(run `npm ci` there, or scripts/setup.sh)")
    return None


def require_node(testcase: unittest.TestCase) -> None:
    """Skips the test when node tools are missing; fails instead when CI is set."""
    reason = node_unavailable_reason()
    if reason is None:
        return
    if IN_CI:
        testcase.fail(f"Standard Webhooks cross-check cannot run in CI: {reason}")
    raise unittest.SkipTest(reason)


def node_verify(secret: str, headers: dict, body: bytes) -> tuple[bool, str]:
    """Runs tests/node/verify.mjs on one captured request: (verified, output)."""
    payload = json.dumps({"secret": secret, "headers": headers,
                          "body_base64": base64.b64encode(body).decode()})
    proc = subprocess.run(["node", os.path.join(NODE_TOOLS_DIR, "verify.mjs")], input=payload.encode(),
                          capture_output=True, timeout=60, cwd=NODE_TOOLS_DIR)
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace").strip()
    if proc.returncode == 2:
        raise AssertionError(f"verify.mjs could not run: {out}")
    return proc.returncode == 0 and out.startswith("verified"), out


# ---------------------------------------------------------------- test case base


class FerryTestCase(unittest.TestCase):
    """Prints the servers' log tails when a test fails or errors.

    Subclasses register servers in cls.servers (setUpClass) or self.servers."""

    servers: tuple = ()  # set in setUpClass: cls.servers = (server, …)

    def setUp(self):
        super().setUp()
        result = getattr(getattr(self, "_outcome", None), "result", None)
        self._problems_before = (len(result.failures) + len(result.errors)) if result else 0
        self.own_servers: list[FerryServer] = []

    def tearDown(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        failed = False
        if result is not None:
            failed = len(result.failures) + len(result.errors) > self._problems_before
        outcome = getattr(self, "_outcome", None)
        if outcome is not None and getattr(outcome, "errors", None):  # Python < 3.11
            failed = failed or any(exc for _, exc in outcome.errors)
        if not failed and outcome is not None and not getattr(outcome, "success", True):
            failed = True
        if failed:
            for srv in list(type(self).servers) + self.own_servers:
                print(f"\n[{self.id()}] {srv.name} logs:\n{srv.log_tails()}", flush=True)
        for srv in self.own_servers:
            srv.cleanup()
        super().tearDown()

    @classmethod
    def start_class_server(cls, **kw) -> FerryServer:
        """A server shared by the class: stopped and removed by a class cleanup,
        which runs even when setUpClass fails later on."""
        srv = FerryServer(**kw)
        cls.addClassCleanup(srv.cleanup)
        cls.servers = tuple(cls.servers) + (srv,)
        srv.start()
        return srv

    @classmethod
    def start_class_receiver(cls) -> Receiver:
        recv = Receiver()
        cls.addClassCleanup(recv.close)
        return recv

    def start_server(self, **kw) -> FerryServer:
        """A server owned by this one test (cleaned up in tearDown)."""
        srv = FerryServer(**kw)
        self.own_servers.append(srv)
        srv.start()
        return srv

    def assertError(self, resp: Response, status: int, code: Optional[str] = None,
                    mentions: Optional[str] = None) -> None:
        """Asserts an error answer: status, JSON {"error":{"code","message"}}, and optionally
        that the message names something (case-insensitive)."""
        self.assertEqual(resp.status, status, resp.describe())
        self.assertIsInstance(resp.json, dict, f"error body is not JSON: {resp.describe()}")
        err = resp.json.get("error")
        self.assertIsInstance(err, dict, f"no error object: {resp.describe()}")
        self.assertIsInstance(err.get("code"), str, resp.describe())
        self.assertIsInstance(err.get("message"), str, resp.describe())
        if code is not None:
            self.assertEqual(err["code"], code, resp.describe())
        if mentions is not None:
            self.assertIn(mentions.lower(), err["message"].lower(),
                          f"error message does not name {mentions!r}: {resp.describe()}")
