"""A hostile webhook receiver for Ferry's chaos tests (Python 3 standard
library only; the `openssl` command line tool makes throwaway certificates).

One asyncio event loop on a background thread serves every listener, so
hundreds of connections held open at once cost nothing but their sockets.

Listeners (each on its own 127.0.0.1 port, see ChaosReceiver.url()):

  http         the HTTP routes below (keep-alive, HTTP/1.1)
  tls-good     the same routes over TLS, certificate for IP 127.0.0.1 signed by the test CA
  tls-self     the same routes over TLS, a self-signed certificate (no CA knows it)
  tls-expired  the same routes over TLS, signed by the test CA but expired in 2020
  tls-wrong    the same routes over TLS, signed by the test CA for DNS wrong.example only
  garbage      answers the TLS ClientHello (anything) with bytes that are not TLS, then closes
  tarpit       accepts, reads and drops whatever comes, never answers, holds the
               connection until the client gives up (counted: open_connections("tarpit"))
  backlog      a listening socket whose accept queue is full and never drained:
               connection attempts go unanswered (SYN dropped): a connect timeout

(the TLS listeners exist only when a TestPki is given).

HTTP routes (query parameters in brackets, path prefix decides):

  /ok, /healthy                 200 "ok"
  /status/<code>                that status [retry_after=, location=, body=]
  /redirect/<code>              that status with Location: [to=] (a path or a URL)
  /hang                         reads the request, never answers
  /close                        reads the request, closes (FIN) without answering
  /reset                        reads the request, closes with RST (SO_LINGER 0)
  /reset-mid-headers            sends half a header block, then RST
  /trickle                      status and headers, then the body one byte every
                                [interval=0.2] s; [length=100] bytes in all
  /huge-body                    [status=200], a body of [size=50000000] bytes
                                (ASCII pattern), Content-Length or [chunked=1]
  /huge-headers                 [count=500] headers of [size=100] bytes each, then 200
  /garbage                      reads the request, answers with bytes that are not
                                HTTP, closes
  anything else                 200 "ok"

Everything a client sent is recorded (ChaosReceiver.requests / received()),
with what the receiver did about it (ChaosRequest.outcome) and, for bodies
streamed out, how many bytes went out before the client stopped reading.
A request line that does not look like HTTP (a TLS ClientHello on the plain
port, say) gets "400 Bad Request" and the connection is closed.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Optional

HOST = "127.0.0.1"
MAX_HEADER_BLOCK = 1 << 20
MAX_REQUEST_BODY = 16 << 20
# Not TLS (no record type byte 20..23 first), not HTTP, not UTF-8.
GARBAGE = (b"\x00\xffNOT-A-PROTOCOL\x01\x02\x03\xfe\xfd" * 40)[:512]


def have_openssl() -> bool:
    return shutil.which("openssl") is not None


# ---------------------------------------------------------------- certificates


class TestPki:
    """A throwaway CA and the server certificates of the TLS listeners, made
    with the openssl CLI in a temporary directory.

    ca.pem       the CA to give Ferry with --tls-ca-file
    good.*       IP:127.0.0.1, signed by the CA, valid
    self.*       IP:127.0.0.1, self-signed (its own issuer), valid
    expired.*    IP:127.0.0.1, signed by the CA, valid only 2020-01-01..02
    wrong.*      DNS:wrong.example only, signed by the CA, valid
    """

    _CA_CONFIG = """
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = {dir}
database = {dir}/db/index.txt
serial = {dir}/db/serial
new_certs_dir = {dir}/db
certificate = {dir}/ca.pem
private_key = {dir}/ca.key
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[ any ]
commonName = supplied
[ leaf_ip ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
[ leaf_wrong ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
"""

    def __init__(self, directory: Optional[str] = None):
        if not have_openssl():
            raise RuntimeError("the openssl command line tool is not installed")
        self.owned = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="ferry-chaos-pki-")
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        with open(os.path.join(self.dir, "db", "index.txt"), "w"):
            pass
        with open(os.path.join(self.dir, "db", "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(self.dir, "ca.cnf"), "w") as f:
            f.write(self._CA_CONFIG.format(dir=self.dir))
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self._openssl("req", "-x509", *ec, "-keyout", self.path("ca.key"), "-out", self.path("ca.pem"),
                      "-days", "2", "-subj", "/CN=Ferry chaos test CA",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self._openssl("req", "-x509", *ec, "-keyout", self.path("self.key"), "-out", self.path("self.pem"),
                      "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
        self._leaf("good", "leaf_ip", ["-days", "2"])
        self._leaf("expired", "leaf_ip", ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"])
        self._leaf("wrong", "leaf_wrong", ["-days", "2"])

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    @property
    def ca_file(self) -> str:
        return self.path("ca.pem")

    def _openssl(self, *args: str) -> None:
        proc = subprocess.run(["openssl", *args], capture_output=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args)} failed: {proc.stderr.decode('utf-8', 'replace')}")

    def _leaf(self, name: str, extensions: str, validity: list) -> None:
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self._openssl("req", "-new", *ec, "-keyout", self.path(f"{name}.key"), "-out", self.path(f"{name}.csr"),
                      "-subj", f"/CN=chaos-{name}")
        self._openssl("ca", "-batch", "-notext", "-config", self.path("ca.cnf"), "-extensions", extensions,
                      "-in", self.path(f"{name}.csr"), "-out", self.path(f"{name}.pem"), *validity)

    def server_context(self, name: str) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.path(f"{name}.pem"), self.path(f"{name}.key"))
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

    def cleanup(self) -> None:
        if self.owned:
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- records


@dataclass
class ChaosRequest:
    listener: str
    method: str
    target: str  # as sent (path and query)
    path: str  # without the query
    query: dict  # name -> last value
    headers: dict  # lowercase name -> value
    body: bytes
    time: float  # time.monotonic() when the request was fully read
    wall: float
    outcome: str = ""  # what the receiver did: "answered 500", "hung", "reset", ...
    bytes_sent: int = 0  # response bytes written (status line and headers included)
    done: Optional[float] = None  # time.monotonic() when the receiver was finished with it


@dataclass
class ListenerStats:
    accepted: int = 0
    open: int = 0
    max_open: int = 0
    closed_by_peer: int = 0  # the client closed (or reset) first


@dataclass(eq=False)  # hashed by identity: kept in a set
class _Conn:
    listener: str
    transport: Optional[asyncio.BaseTransport] = None
    closed: bool = False


class _Abort(Exception):
    """The receiver closed the connection on purpose (reset, close, garbage)."""


# ---------------------------------------------------------------- the receiver


class ChaosReceiver:
    def __init__(self, pki: Optional[TestPki] = None, host: str = HOST):
        self.host = host
        self.pki = pki
        self._cond = threading.Condition()
        self.requests: list[ChaosRequest] = []
        self.stats: dict[str, ListenerStats] = {}
        self.ports: dict[str, int] = {}
        self._conns: set = set()
        self._servers: list = []
        self._backlog_sock: Optional[socket.socket] = None
        self._backlog_fillers: list[socket.socket] = []
        self._closing = False
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(self._loop_exception)
        self._thread = threading.Thread(target=self.loop.run_forever, name="chaos-receiver", daemon=True)
        self._thread.start()
        try:
            self._run(self._start())
            self._make_backlog()
        except BaseException:
            self.close()
            raise

    # -- public
    def url(self, path: str = "/", listener: str = "http", scheme: Optional[str] = None) -> str:
        if scheme is None:
            scheme = "https" if listener.startswith("tls") or listener == "garbage" else "http"
        if not path.startswith("/"):
            path = "/" + path
        return f"{scheme}://{self.host}:{self.ports[listener]}{path}"

    def received(self, path: Optional[str] = None, listener: Optional[str] = None) -> list[ChaosRequest]:
        with self._cond:
            return [r for r in self.requests
                    if (path is None or r.path == path) and (listener is None or r.listener == listener)]

    def count(self, path: Optional[str] = None, listener: Optional[str] = None) -> int:
        return len(self.received(path, listener))

    def by_webhook_id(self, path: str) -> dict:
        """webhook-id -> the first request to `path` that carried it."""
        out: dict = {}
        for r in self.received(path):
            out.setdefault(r.headers.get("webhook-id"), r)
        return out

    def wait_for_requests(self, n: int, path: Optional[str] = None, timeout: float = 15.0,
                          listener: Optional[str] = None) -> list[ChaosRequest]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [r for r in self.requests
                       if (path is None or r.path == path) and (listener is None or r.listener == listener)]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout:.1f}s waiting for {n} requests to "
                                         f"{path or 'the chaos receiver'}; got {len(got)}")
                self._cond.wait(min(left, 0.1))

    def wait_for_webhook_id(self, path: str, webhook_id: str, timeout: float = 10.0) -> ChaosRequest:
        """The first request to `path` with that webhook-id (waits for it)."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                while seen < len(self.requests):  # append-only: look at each once
                    r = self.requests[seen]
                    seen += 1
                    if r.path == path and r.headers.get("webhook-id") == webhook_id:
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout:.1f}s waiting for {webhook_id} at {path}")
                self._cond.wait(min(left, 0.1))

    def open_connections(self, listener: str) -> int:
        with self._cond:
            return self.stats[listener].open

    def listener_stats(self, listener: str) -> ListenerStats:
        with self._cond:
            s = self.stats[listener]
            return ListenerStats(s.accepted, s.open, s.max_open, s.closed_by_peer)

    def release(self, listener: Optional[str] = None) -> None:
        """Closes (FIN) every connection held open (of one listener, or all)."""
        def go():
            for conn in list(self._conns):
                if listener is None or conn.listener == listener:
                    if conn.transport is not None and not conn.transport.is_closing():
                        conn.transport.close()
        self.loop.call_soon_threadsafe(go)

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        try:
            if self.loop.is_running():
                self._run(self._stop(), timeout=10)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self.loop.close()
        for s in self._backlog_fillers + ([self._backlog_sock] if self._backlog_sock else []):
            try:
                s.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- plumbing
    def _run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _loop_exception(self, loop, context):
        # TLS handshakes the client gives up on, resets, ...: expected here.
        exc = context.get("exception")
        if isinstance(exc, (ConnectionError, ssl.SSLError, OSError, asyncio.CancelledError, _Abort)):
            return
        msg = context.get("message", "")
        if "SSL" in msg or "handshake" in msg.lower() or "connection" in msg.lower():
            return
        loop.default_exception_handler(context)

    async def _start(self) -> None:
        await self._listen("http", self._serve_http, None)
        if self.pki is not None:
            for name, cert in (("tls-good", "good"), ("tls-self", "self"), ("tls-expired", "expired"),
                               ("tls-wrong", "wrong")):
                await self._listen(name, self._serve_http, self.pki.server_context(cert))
        await self._listen("garbage", self._serve_garbage, None)
        await self._listen("tarpit", self._serve_tarpit, None)

    async def _listen(self, name: str, handler, ctx: Optional[ssl.SSLContext]) -> None:
        self.stats[name] = ListenerStats()

        async def on_connect(reader, writer, name=name, handler=handler):
            conn = _Conn(name, writer.transport)
            self._conns.add(conn)
            with self._cond:
                st = self.stats[name]
                st.accepted += 1
                st.open += 1
                st.max_open = max(st.max_open, st.open)
            try:
                await handler(conn, reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
                with self._cond:
                    self.stats[name].closed_by_peer += 1
            except (_Abort, asyncio.CancelledError):
                pass
            finally:
                self._conns.discard(conn)
                with self._cond:
                    self.stats[name].open -= 1
                if not writer.transport.is_closing():
                    writer.transport.close()

        server = await asyncio.start_server(on_connect, self.host, 0, ssl=ctx, limit=MAX_HEADER_BLOCK,
                                            backlog=1024, ssl_handshake_timeout=5 if ctx else None)
        self._servers.append(server)
        self.ports[name] = server.sockets[0].getsockname()[1]

    def _make_backlog(self) -> None:
        """A listener whose accept queue is full: new connections get no SYN-ACK."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        sock.listen(0)
        self._backlog_sock = sock
        port = sock.getsockname()[1]
        self.ports["backlog"] = port
        self.stats["backlog"] = ListenerStats()
        # Fill the queue (never accepted): the first connections complete, the rest hang in SYN_SENT.
        for _ in range(3):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            try:
                filler.connect((self.host, port))
            except (BlockingIOError, InterruptedError):
                pass
            self._backlog_fillers.append(filler)

    async def _stop(self) -> None:
        for server in self._servers:
            server.close()
        for conn in list(self._conns):
            if conn.transport is not None:
                conn.transport.abort()
        for server in self._servers:
            try:
                await asyncio.wait_for(server.wait_closed(), 2)
            except (asyncio.TimeoutError, Exception):
                pass
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)

    def _record(self, req: ChaosRequest) -> None:
        with self._cond:
            self.requests.append(req)
            self._cond.notify_all()

    def _note(self, req: ChaosRequest, outcome: str) -> None:
        with self._cond:
            req.outcome = outcome
            req.done = time.monotonic()
            self._cond.notify_all()

    # -- raw listeners
    async def _serve_garbage(self, conn: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        # Wait for the ClientHello (or anything), answer with junk, close.
        try:
            await asyncio.wait_for(reader.read(65536), 5)
        except asyncio.TimeoutError:
            pass
        writer.write(GARBAGE)
        await writer.drain()
        writer.close()

    async def _serve_tarpit(self, conn: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        # Read (and drop) whatever comes, slowly; answer nothing; hold on until
        # the client gives up or the receiver is released or closed.
        while True:
            data = await reader.read(4096)
            if not data:
                with self._cond:
                    self.stats[conn.listener].closed_by_peer += 1
                return
            await asyncio.sleep(0.25)

    # -- HTTP
    async def _read_request(self, conn: _Conn, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> Optional[ChaosRequest]:
        first = await reader.read(1)
        if not first:
            return None
        if not (b"A" <= first <= b"Z"):
            # Not an HTTP request line (a TLS ClientHello on a plain port, say):
            # what a web server does, a 400 and a close.
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request")
            await writer.drain()
            raise _Abort()
        head = first + await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"^([A-Z]+) (\S+) HTTP/1\.[01]$", lines[0])
        if not m:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            raise _Abort()
        headers: dict = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(parts)
        else:
            length = int(headers.get("content-length") or 0)
            if length > MAX_REQUEST_BODY:
                raise _Abort()
            if length:
                body = await reader.readexactly(length)
        target = m.group(2)
        split = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        req = ChaosRequest(conn.listener, m.group(1), target, split.path or "/", query, headers, body,
                           time.monotonic(), time.time())
        self._record(req)
        return req

    async def _serve_http(self, conn: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        while True:
            req = await self._read_request(conn, reader, writer)
            if req is None:
                return
            keep_alive = await self._route(conn, req, reader, writer)
            if not keep_alive or req.headers.get("connection", "").lower() == "close":
                writer.close()
                return

    async def _send(self, req: ChaosRequest, writer: asyncio.StreamWriter, status: int, headers: list,
                    body: bytes = b"ok") -> bool:
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        head += [f"{k}: {v}" for k, v in headers]
        head += ["Content-Type: text/plain", f"Content-Length: {len(body)}", "", ""]
        data = "\r\n".join(head).encode("latin-1") + body
        writer.write(data)
        await writer.drain()
        req.bytes_sent += len(data)
        self._note(req, f"answered {status}")
        return True

    def _reset(self, req: ChaosRequest, writer: asyncio.StreamWriter, outcome: str) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # close() with SO_LINGER 0: an RST, not a FIN
        self._note(req, outcome)
        raise _Abort()

    async def _route(self, conn: _Conn, req: ChaosRequest, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        parts = [p for p in req.path.split("/") if p]
        head = parts[0] if parts else ""
        q = req.query

        if head == "status" and len(parts) >= 2:
            status = int(parts[1])
            headers = []
            if "retry_after" in q:
                headers.append(("Retry-After", q["retry_after"]))
            if "location" in q:
                headers.append(("Location", q["location"]))
            return await self._send(req, writer, status, headers, q.get("body", f"status {status}").encode())

        if head == "redirect" and len(parts) >= 2:
            status = int(parts[1])
            return await self._send(req, writer, status, [("Location", q.get("to", "/ok"))], b"moved")

        if head == "hang":
            # Until the client gives up (EOF or reset) or the receiver lets go.
            try:
                while await reader.read(65536):
                    pass
            except (ConnectionError, OSError):
                pass
            with self._cond:
                self.stats[conn.listener].closed_by_peer += 1
            self._note(req, "hung until the client closed")
            raise _Abort()

        if head == "close":
            writer.close()
            self._note(req, "closed")
            raise _Abort()

        if head == "reset":
            self._reset(req, writer, "reset")

        if head == "reset-mid-headers":
            data = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Len"
            writer.write(data)
            await writer.drain()
            req.bytes_sent += len(data)
            await asyncio.sleep(0.05)
            self._reset(req, writer, "reset mid-headers")

        if head == "trickle":
            interval = float(q.get("interval", "0.2"))
            length = int(q.get("length", "100"))
            data = (f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {length}\r\n\r\n"
                    .encode())
            writer.write(data)
            await writer.drain()
            req.bytes_sent += len(data)
            try:
                for _ in range(length):
                    await asyncio.sleep(interval)
                    if writer.transport.is_closing():
                        raise ConnectionResetError("client went away")
                    writer.write(b"x")
                    await writer.drain()
                    req.bytes_sent += 1
            except (ConnectionError, OSError):
                self._note(req, "trickle cut by client")
                raise
            self._note(req, "trickled")
            return True

        if head == "huge-body":
            status = int(q.get("status", "200"))
            size = int(q.get("size", str(50_000_000)))
            chunked = q.get("chunked") == "1"
            framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
            data = f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\nContent-Type: text/plain\r\n{framing}\r\n\r\n"
            writer.write(data.encode())
            req.bytes_sent += len(data)
            chunk = BODY_PATTERN
            left = size
            try:
                while left > 0:
                    piece = chunk if left >= len(chunk) else chunk[:left]
                    if chunked:
                        writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    else:
                        writer.write(piece)
                    await writer.drain()
                    req.bytes_sent += len(piece)
                    left -= len(piece)
                if chunked:
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
            except (ConnectionError, OSError):
                self._note(req, f"body cut by client after {req.bytes_sent} bytes")
                raise
            self._note(req, f"answered {status} with {size} bytes")
            return True

        if head == "huge-headers":
            count = int(q.get("count", "500"))
            size = int(q.get("size", "100"))
            headers = [(f"X-Chaos-{i:05d}", ("v" * size)) for i in range(count)]
            return await self._send(req, writer, int(q.get("status", "200")), headers, b"ok")

        if head == "garbage":
            writer.write(GARBAGE)
            await writer.drain()
            req.bytes_sent += len(GARBAGE)
            writer.close()
            self._note(req, "garbage")
            raise _Abort()

        return await self._send(req, writer, 200, [], b"ok")


# 256 KiB of printable ASCII whose offsets are easy to check: "0000000 0000008 ..."
BODY_PATTERN = b"".join(f"{i:07d} ".encode() for i in range(0, 256 * 1024, 8))
assert len(BODY_PATTERN) == 256 * 1024

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
            303: "See Other", 307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request",
            404: "Not Found", 410: "Gone", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


if __name__ == "__main__":  # a manual chaos receiver: prints its URLs and serves until ^C
    pki = TestPki() if have_openssl() else None
    recv = ChaosReceiver(pki)
    for name in recv.ports:
        print(f"{name:12s} {recv.url('/', name)}")
    if pki:
        print(f"CA file      {pki.ca_file}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        recv.close()
        if pki:
            pki.cleanup()
