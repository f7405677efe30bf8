"""Receiver chaos: Ferry against hostile receivers (chaos_receiver.py).

Every case makes an endpoint through the API to one misbehaviour of the
chaos receiver, publishes, and reads the message's attempts back through the
API: each attempt must carry the right reason (the status, or the transport
error's name with a useful error_detail), the retries must follow the
schedule (--retry-schedule 0s,100ms,200ms at --time-factor 1, so 3 attempts
80-120 ms and 160-240 ms apart with the 20 % jitter, or Retry-After where it
applies), the delivery must end failed (succeeded where the case ends in
2xx), and /healthz must answer 200 the whole time (polled every 100 ms by a
watcher thread).

TarpitLatencyTest measures a healthy endpoint's end-to-end latency alone and
while a tarpit endpoint of the same server holds hundreds of connections open.
"""

import http.client
import json
import statistics
import threading
import time
import unittest

import ferry_harness as fh
from chaos_receiver import ChaosReceiver, TestPki, have_openssl, BODY_PATTERN
from ferry_harness import FerryTestCase

SCHEDULE = "0s,100ms,200ms"
SCHEDULE_MS = [0, 100, 200]
JITTER = 0.2  # RetryPolicy::jitter
REQUEST_TIMEOUT_MS = 1000
CONNECT_TIMEOUT_MS = 500
MAX_RESPONSE_BODY = 4096
MAX_KEPT_HEADER_BYTES = 64 << 10  # CurlTransport::kMaxKeptHeaderBytes
# How late a retry or a timeout may come on a busy 2-core machine before it
# counts as not following the schedule / not honouring the timeout.
LATE_MS = 1000


def require_openssl():
    if have_openssl():
        return
    if fh.IN_CI:
        raise AssertionError("the openssl command line tool is needed for the TLS chaos cases")
    raise unittest.SkipTest("the openssl command line tool is not installed")


class HealthWatch:
    """Polls /healthz every `interval` s on its own connection; remembers every
    answer that was not a 200 within 2 s."""

    def __init__(self, server: fh.FerryServer, interval: float = 0.1):
        self.server = server
        self.interval = interval
        self.failures: list = []
        self.checks = 0
        self.slowest = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="healthz-watch", daemon=True)
        self._thread.start()

    def _run(self):
        api = fh.Api(self.server.host, self.server.port, None, timeout=2.0)
        while not self._stop.wait(self.interval):
            started = time.monotonic()
            try:
                resp = api.get("/healthz", token=None)
                problem = None if resp.status == 200 else f"status {resp.status}"
            except (OSError, http.client.HTTPException) as exc:
                problem = repr(exc)
                api.close()
            took = time.monotonic() - started
            with self._lock:
                self.checks += 1
                self.slowest = max(self.slowest, took)
                if problem:
                    self.failures.append((time.strftime("%H:%M:%S"), problem))
        api.close()

    def snapshot(self) -> tuple:
        with self._lock:
            return self.checks, list(self.failures), self.slowest

    def stop(self):
        self._stop.set()
        self._thread.join(5)


class ChaosBase(FerryTestCase):
    """A server with the short schedule and timeouts, a chaos receiver, a health watch."""

    ca_file = True  # give the server --tls-ca-file of the test CA

    @classmethod
    def setUpClass(cls):
        require_openssl()
        cls.pki = TestPki()
        cls.addClassCleanup(cls.pki.cleanup)
        cls.recv = ChaosReceiver(cls.pki)
        cls.addClassCleanup(cls.recv.close)
        args = ["--retry-schedule", SCHEDULE, "--request-timeout", f"{REQUEST_TIMEOUT_MS}ms",
                "--connect-timeout", f"{CONNECT_TIMEOUT_MS}ms",
                "--max-response-body-bytes", str(MAX_RESPONSE_BODY), "--shutdown-grace", "2s"]
        if cls.ca_file:
            args += ["--tls-ca-file", cls.pki.ca_file]
        cls.server = cls.start_class_server(name="chaos", time_factor=1.0, extra_args=args)
        cls.api = cls.server.api()
        cls.health = HealthWatch(cls.server)
        cls.addClassCleanup(cls.health.stop)

    def setUp(self):
        super().setUp()
        self.health_before = self.health.snapshot()

    # -- helpers
    def publish_to(self, url: str, **endpoint_fields) -> tuple:
        """An endpoint to `url` in a workspace of its own, and one message for it: (workspace, endpoint, message)."""
        ws = self.api.create_workspace(self.id().rsplit(".", 1)[-1])["id"]
        ep = self.api.create_endpoint(ws, url, **endpoint_fields)
        msg = self.api.publish(ws, "chaos.case", {"url": url})
        self.assertEqual(msg["deliveries"], 1, msg)
        return ws, ep, msg

    def finished(self, ws: str, msg: dict, state: str, attempts: int, timeout: float = 20.0) -> list:
        """Waits for the delivery to end in `state`; returns its attempts in order (exactly `attempts`)."""
        dl = self.api.wait_delivery_state(ws, msg["id"], [state], timeout=timeout)[0]
        got = sorted(self.api.attempts(ws, msg["id"]), key=lambda a: a["attempt_number"])
        self.assertEqual([a["attempt_number"] for a in got], list(range(1, attempts + 1)), got)
        self.assertEqual(dl["attempt_count"], attempts, dl)
        self.assertIsNone(dl["next_attempt_at"], f"a {state} delivery has no next attempt: {dl}")
        return got

    def assert_schedule(self, attempts: list, retry_after_ms=None) -> list:
        """Each retry came when the schedule (or Retry-After) said, counted from the
        end of the attempt before it. Returns the gaps in ms."""
        gaps = []
        for prev, cur in zip(attempts, attempts[1:]):
            ended = fh.parse_rfc3339(prev["started_at"]).timestamp() * 1000 + prev["latency_ms"]
            gap = fh.parse_rfc3339(cur["started_at"]).timestamp() * 1000 - ended
            gaps.append(round(gap))
            if retry_after_ms is not None:
                low, high = retry_after_ms - 5, retry_after_ms + LATE_MS
            else:
                delay = SCHEDULE_MS[prev["attempt_number"]]
                low, high = delay * (1 - JITTER) - 5, delay * (1 + JITTER) + LATE_MS
            self.assertGreaterEqual(gap, low, f"attempt {cur['attempt_number']} came {gap:.0f} ms after the "
                                              f"previous one ended: too early for the schedule\n{attempts}")
            self.assertLessEqual(gap, high, f"attempt {cur['attempt_number']} came {gap:.0f} ms after the "
                                            f"previous one ended: too late for the schedule\n{attempts}")
        return gaps

    def assert_status_attempts(self, attempts: list, status: int) -> None:
        for a in attempts:
            self.assertEqual(a["response_status"], status, a)
            self.assertIsNone(a["error"], a)
            self.assertIsNone(a["error_detail"], a)

    def assert_error_attempts(self, attempts: list, error: str, *detail_words: str) -> None:
        """No status, `error`, and an error_detail that names one of `detail_words` (case-insensitive)."""
        for a in attempts:
            self.assertIsNone(a["response_status"], a)
            self.assertEqual(a["error"], error, a)
            detail = (a["error_detail"] or "").lower()
            self.assertTrue(detail, f"no error_detail: {a}")
            if detail_words:
                self.assertTrue(any(w.lower() in detail for w in detail_words),
                                f"error_detail {a['error_detail']!r} names none of {detail_words}")

    def assert_timeouts(self, attempts: list, limit_ms: int) -> None:
        for a in attempts:
            self.assertGreaterEqual(a["latency_ms"], limit_ms * 0.9, f"gave up before the timeout: {a}")
            self.assertLessEqual(a["latency_ms"], limit_ms + LATE_MS, f"timeout of {limit_ms} ms not honoured: {a}")

    def assert_healthy(self) -> None:
        self.assertTrue(self.server.alive(), "ferry exited")
        self.assertTrue(self.api.healthy(), "/healthz does not answer 200")
        checks_before, failures_before, _ = self.health_before
        checks, failures, slowest = self.health.snapshot()
        self.assertEqual(failures[len(failures_before):], [], "/healthz failed during the test")
        self.assertGreater(checks, checks_before, "the /healthz watch made no check during the test")

    def tearDown(self):
        try:
            if self.server.alive():
                self.assert_healthy()
        finally:
            super().tearDown()


class ChaosCasesTest(ChaosBase):
    """Each misbehaviour on its own endpoint; the server trusts the test CA."""

    # -- errors
    def test_plain_error_statuses_are_retried_on_schedule_then_fail(self):
        cases = {}
        for status in (500, 502, 404):
            cases[status] = self.publish_to(self.recv.url(f"/status/{status}"))
        for status, (ws, ep, msg) in cases.items():
            with self.subTest(status=status):
                attempts = self.finished(ws, msg, "failed", 3)
                self.assert_status_attempts(attempts, status)
                self.assertEqual(attempts[0]["response_body"], f"status {status}")
                gaps = self.assert_schedule(attempts)
                print(f"\n[chaos] {status}: 3 attempts, gaps {gaps} ms", flush=True)
                self.assertTrue(self.api.endpoint(ws, ep["id"])["enabled"], f"{status} must not disable")

    def test_retry_after_on_503_and_429_is_honoured(self):
        cases = {}
        for status in (503, 429):
            cases[status] = self.publish_to(self.recv.url(f"/status/{status}?retry_after=1"))
        for status, (ws, ep, msg) in cases.items():
            with self.subTest(status=status):
                attempts = self.finished(ws, msg, "failed", 3, timeout=20)
                self.assert_status_attempts(attempts, status)
                self.assertEqual(attempts[0]["response_headers"].get("retry-after"), "1", attempts[0])
                # The schedule alone would retry after 100 and 200 ms: only Retry-After explains ~1 s.
                gaps = self.assert_schedule(attempts, retry_after_ms=1000)
                print(f"\n[chaos] {status} Retry-After: 1: gaps {gaps} ms", flush=True)

    def test_410_fails_at_once_and_disables_the_endpoint(self):
        ws, ep, msg = self.publish_to(self.recv.url("/status/410"))
        attempts = self.finished(ws, msg, "failed", 1)
        self.assert_status_attempts(attempts, 410)
        got = fh.wait_for(lambda: (lambda e: e if e["enabled"] is False else None)(self.api.endpoint(ws, ep["id"])),
                          5, message="endpoint disabled after 410")
        self.assertIn("410", got["disabled_reason"] or "", got)
        time.sleep(0.3)
        self.assertEqual(self.recv.count("/status/410"), 1, "410 must not be retried")

    # -- no answer
    def test_hanging_receiver_times_out_each_attempt(self):
        ws, ep, msg = self.publish_to(self.recv.url("/hang"))
        attempts = self.finished(ws, msg, "failed", 3)
        self.assert_error_attempts(attempts, "timeout", "timed out", "timeout")
        self.assert_timeouts(attempts, REQUEST_TIMEOUT_MS)
        self.assert_schedule(attempts)
        reqs = self.recv.received("/hang")
        self.assertEqual(len(reqs), 3, "one request per attempt")
        self.assertEqual({r.headers.get("webhook-id") for r in reqs}, {msg["id"]})
        # Ferry closed each connection it gave up on: nothing is left hanging at the receiver.
        fh.wait_for(lambda: all(r.outcome == "hung until the client closed" for r in self.recv.received("/hang"))
                    or None, 5, message="connections to /hang closed by ferry")

    def test_tarpit_and_full_accept_queue_time_out(self):
        tarpit = self.publish_to(self.recv.url("/anything", "tarpit"))
        backlog = self.publish_to(self.recv.url("/anything", "backlog"))
        ws, ep, msg = tarpit
        attempts = self.finished(ws, msg, "failed", 3)
        self.assert_error_attempts(attempts, "timeout", "timed out", "timeout")
        self.assert_timeouts(attempts, REQUEST_TIMEOUT_MS)
        self.assert_schedule(attempts)
        self.assertEqual(self.recv.listener_stats("tarpit").accepted, 3, "one connection per attempt")
        fh.wait_for(lambda: self.recv.open_connections("tarpit") == 0 or None, 5,
                    message="tarpit connections closed by ferry")
        # A listener that never completes the handshake: --connect-timeout (500 ms), not --request-timeout.
        ws, ep, msg = backlog
        attempts = self.finished(ws, msg, "failed", 3)
        self.assert_error_attempts(attempts, "timeout", "connect")
        self.assert_timeouts(attempts, CONNECT_TIMEOUT_MS)
        self.assert_schedule(attempts)

    def test_trickling_body_ends_as_a_timeout(self):
        # 100 bytes at one per 200 ms would take 20 s: the 1 s request timeout must cut it.
        ws, ep, msg = self.publish_to(self.recv.url("/trickle?interval=0.2&length=100"))
        attempts = self.finished(ws, msg, "failed", 3)
        self.assert_error_attempts(attempts, "timeout", "timed out", "timeout")
        self.assert_timeouts(attempts, REQUEST_TIMEOUT_MS)
        self.assert_schedule(attempts)
        reqs = self.recv.received("/trickle")
        self.assertEqual(len(reqs), 3)
        fh.wait_for(lambda: all(r.done for r in self.recv.received("/trickle")) or None, 5,
                    message="every trickle cut off by ferry")
        for r in reqs:
            self.assertEqual(r.outcome, "trickle cut by client", r)

    # -- connection killed
    def test_resets_and_closes_are_connection_errors(self):
        cases = {
            "/reset": ("reset",),
            "/reset-mid-headers": ("reset",),
            "/close": ("empty reply", "nothing"),
        }
        published = {path: self.publish_to(self.recv.url(path)) for path in cases}
        for path, words in cases.items():
            with self.subTest(path=path):
                ws, ep, msg = published[path]
                attempts = self.finished(ws, msg, "failed", 3)
                self.assert_error_attempts(attempts, "connection", *words)
                self.assert_schedule(attempts)
                # At least one request per attempt. An attempt that went out on a
                # kept-alive connection and lost it before any answer byte is sent
                # again by libcurl (it cannot tell a stale keep-alive from a reset),
                # on another pooled connection or a fresh one, at most 5 times
                # (libcurl's CONN_MAX_RETRIES): so at most 6 requests per attempt.
                reqs = self.recv.received(path)
                self.assertGreaterEqual(len(reqs), 3, reqs)
                self.assertLessEqual(len(reqs), 3 * 6, reqs)
                self.assertEqual({r.headers.get("webhook-id") for r in reqs}, {msg["id"]})
                print(f"\n[chaos] {path}: {attempts[0]['error']}: {attempts[0]['error_detail']}", flush=True)

    def test_garbage_instead_of_http_is_a_connection_error(self):
        ws, ep, msg = self.publish_to(self.recv.url("/garbage"))
        attempts = self.finished(ws, msg, "failed", 3)
        # Bytes that are not an HTTP response are the receiver breaking the protocol.
        self.assert_error_attempts(attempts, "connection", "http/0.9", "weird", "unsupported")
        self.assert_schedule(attempts)
        print(f"\n[chaos] /garbage: {attempts[0]['error']}: {attempts[0]['error_detail']}", flush=True)

    # -- too much
    def test_huge_body_keeps_only_the_cap_and_records_the_status(self):
        size = 50_000_000
        ok = self.publish_to(self.recv.url(f"/huge-body?size={size}&status=200"))
        failing = self.publish_to(self.recv.url(f"/huge-body?size={size}&status=500&chunked=1"))
        ws, ep, msg = ok
        attempts = self.finished(ws, msg, "succeeded", 1)
        self.assert_status_attempts(attempts, 200)
        self.assertEqual(attempts[0]["response_body"], BODY_PATTERN[:MAX_RESPONSE_BODY].decode(),
                         "the kept body is the first --max-response-body-bytes of the response")
        ws, ep, msg = failing
        attempts = self.finished(ws, msg, "failed", 3)
        self.assert_status_attempts(attempts, 500)
        self.assert_schedule(attempts)
        for a in attempts:
            self.assertEqual(len(a["response_body"]), MAX_RESPONSE_BODY, a["response_body"][:100])
        # Ferry stops reading a little past its cap: far from the 50 MB on offer.
        reqs = self.recv.received("/huge-body")
        self.assertEqual(len(reqs), 4)
        fh.wait_for(lambda: all(r.done for r in self.recv.received("/huge-body")) or None, 10,
                    message="every huge body finished or cut off")
        for r in reqs:
            self.assertTrue(r.outcome.startswith("body cut by client"), r.outcome)
            self.assertLess(r.bytes_sent, 40_000_000, f"ferry read {r.bytes_sent} bytes of a 50 MB body")
        print(f"\n[chaos] huge body: the receiver got to send {[r.bytes_sent for r in reqs]} bytes of {size}",
              flush=True)

    def test_huge_headers(self):
        many = self.publish_to(self.recv.url("/huge-headers?count=1000&size=100"))  # ~117 KB, within curl's limits
        long_line = self.publish_to(self.recv.url("/huge-headers?count=1&size=200000"))  # one 200 KB header line
        too_many = self.publish_to(self.recv.url("/huge-headers?count=4000&size=100"))  # ~470 KB of headers
        ws, ep, msg = many
        attempts = self.finished(ws, msg, "succeeded", 1)
        self.assert_status_attempts(attempts, 200)
        kept = attempts[0]["response_headers"]
        chaos = [k for k in kept if k.startswith("x-chaos-")]
        kept_bytes = sum(len(k) + len(v) + 4 for k, v in kept.items())
        self.assertGreater(len(chaos), 100, "headers were kept")
        self.assertLess(len(chaos), 1000, "Ferry keeps at most 64 KiB of response headers")
        self.assertLessEqual(kept_bytes, MAX_KEPT_HEADER_BYTES)
        print(f"\n[chaos] 1000 headers of 100 bytes: {len(chaos)} kept ({kept_bytes} bytes)", flush=True)
        for label, (ws, ep, msg) in (("one 200 KB header line", long_line), ("470 KB of headers", too_many)):
            with self.subTest(label):
                attempts = self.finished(ws, msg, "failed", 3)
                self.assert_error_attempts(attempts, "connection", "header")
                self.assert_schedule(attempts)
                print(f"[chaos] {label}: {attempts[0]['error']}: {attempts[0]['error_detail']}", flush=True)

    # -- redirects
    def test_redirects_are_recorded_not_followed(self):
        target = self.recv.url("/redirect-target")
        cases = [
            (301, "/redirect-target"),
            (302, target),
            (307, target),
            (308, "/redirect-target"),
            (302, "http://10.0.0.1/internal"),
            (307, "http://169.254.169.254/latest/meta-data/"),
            (301, "http://127.0.0.1:1/"),
        ]
        published = [(status, to, self.publish_to(self.recv.url(f"/redirect/{status}?to={to}")))
                     for status, to in cases]
        for status, to, (ws, ep, msg) in published:
            with self.subTest(status=status, to=to):
                attempts = self.finished(ws, msg, "failed", 3)
                self.assert_status_attempts(attempts, status)
                self.assertEqual(attempts[0]["response_headers"].get("location"), to)
                self.assert_schedule(attempts)
        time.sleep(0.2)
        self.assertEqual(self.recv.count("/redirect-target"), 0, "a redirect was followed")
        self.assertEqual(self.recv.count("/ok"), 0, "a redirect was followed")

    # -- TLS
    def test_tls_failures(self):
        cases = {
            # name: (url, words of the detail)
            "self-signed": (self.recv.url("/ok", "tls-self"), ("self-signed", "self signed")),
            "expired": (self.recv.url("/ok", "tls-expired"), ("expired",)),
            "wrong host": (self.recv.url("/ok", "tls-wrong"), ("name", "host")),
            "plain http on https": (self.recv.url("/ok", "http", scheme="https"),
                                    ("wrong version", "packet length", "record")),
            "garbage handshake": (self.recv.url("/ok", "garbage"), ("wrong version", "packet length", "record")),
        }
        good = self.publish_to(self.recv.url("/ok", "tls-good"))
        published = {name: self.publish_to(url) for name, (url, _) in cases.items()}
        # The control: a certificate of the test CA for 127.0.0.1 is fine, so the
        # failures below are about what is wrong with theirs.
        ws, ep, msg = good
        attempts = self.finished(ws, msg, "succeeded", 1)
        self.assert_status_attempts(attempts, 200)
        for name, (url, words) in cases.items():
            with self.subTest(name):
                ws, ep, msg = published[name]
                attempts = self.finished(ws, msg, "failed", 3)
                self.assert_error_attempts(attempts, "tls", *words)
                self.assert_schedule(attempts)
                print(f"\n[chaos] TLS {name}: {attempts[0]['error']}: {attempts[0]['error_detail']}", flush=True)
        self.assertEqual(self.recv.count(listener="tls-self") + self.recv.count(listener="tls-expired")
                         + self.recv.count(listener="tls-wrong"), 0, "a request went over an unverified TLS")


class DefaultTlsVerificationTest(ChaosBase):
    """A server with the default verification (the system's CA bundle): the
    self-signed and the test CA's certificates are both refused."""

    ca_file = False

    def test_self_signed_and_unknown_ca_fail_with_tls(self):
        cases = {
            "self-signed": (self.recv.url("/ok", "tls-self"), ("self-signed", "self signed")),
            "unknown CA": (self.recv.url("/ok", "tls-good"), ("issuer", "unable to get")),
        }
        published = {name: self.publish_to(url) for name, (url, _) in cases.items()}
        for name, (url, words) in cases.items():
            with self.subTest(name):
                ws, ep, msg = published[name]
                attempts = self.finished(ws, msg, "failed", 3)
                self.assert_error_attempts(attempts, "tls", *words)
                self.assert_schedule(attempts)
        self.assertEqual(self.recv.count(), 0, "a request went over an unverified TLS connection")


def percentile(values: list, p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class TarpitLatencyTest(FerryTestCase):
    """A healthy endpoint's latency stays within 2x of its undisturbed value
    while a tarpit endpoint of the same server holds hundreds of connections.

    The two conditions alternate (alone, beside, alone, beside, ...), ROUNDS
    blocks of BLOCK messages each, so that a change in the machine's other
    load weighs on both alike; medians and p90 are over all blocks of a condition."""

    ROUNDS = 5
    BLOCK = 40  # 200 messages per condition
    TARPIT_DELIVERIES = 350
    HELD_AT_LEAST = 300

    @classmethod
    def setUpClass(cls):
        cls.recv = ChaosReceiver()
        cls.addClassCleanup(cls.recv.close)
        # Room for every tarpit delivery at once, a request timeout longer
        # than the measurement, one attempt each (no retries once the tarpit
        # lets go of them).
        cls.server = cls.start_class_server(
            name="chaos-tarpit", time_factor=1.0,
            extra_args=["--endpoint-concurrency", "512", "--request-timeout", "60s", "--lease-timeout", "120s",
                        "--retry-schedule", "0s", "--shutdown-grace", "1s"])
        cls.addClassCleanup(cls.recv.release)  # runs before the server stops: frees the held connections
        cls.api = cls.server.api()
        cls.health = HealthWatch(cls.server)
        cls.addClassCleanup(cls.health.stop)

    def measure(self, ws: str, label: str, n: int, into: list) -> None:
        """Publishes n messages one after the other, each once the previous
        arrived; end-to-end latency (ms) = publish sent -> request read by the receiver."""
        for i in range(n):
            started = time.monotonic()
            msg = self.api.publish(ws, "healthy.tick", {"i": i, "phase": label})
            got = self.recv.wait_for_webhook_id("/healthy", msg["id"], timeout=10)
            into.append((got.time - started) * 1000)

    def in_flight(self) -> float:
        text = self.api.get("/metrics", token=None).body.decode()
        for line in text.splitlines():
            if line.startswith("ferry_deliveries_in_flight"):
                return float(line.split()[-1])
        raise AssertionError("no ferry_deliveries_in_flight in /metrics")

    def test_healthy_endpoint_latency_beside_a_tarpit(self):
        healthy_ws = self.api.create_workspace("healthy")["id"]
        healthy_ep = self.api.create_endpoint(healthy_ws, self.recv.url("/healthy"))
        tarpit_ws = self.api.create_workspace("tarpit")["id"]
        self.api.create_endpoint(tarpit_ws, self.recv.url("/tarpit", "tarpit"))
        items = [{"type": "tarpit.tick", "data": {"i": i}} for i in range(self.TARPIT_DELIVERIES)]

        self.measure(healthy_ws, "warm-up", 30, [])  # connections, caches, the first SQLite pages
        alone, beside, held = [], [], []
        for round_ in range(self.ROUNDS):
            self.measure(healthy_ws, f"alone {round_}", self.BLOCK, alone)
            self.api.expect(self.api.post(f"/api/v1/workspaces/{tarpit_ws}/messages/batch",
                                          {"messages": items}), 202)
            fh.wait_for(lambda: self.recv.open_connections("tarpit") >= self.HELD_AT_LEAST, 20, interval=0.05,
                        message=f"{self.HELD_AT_LEAST} connections held at the tarpit")
            time.sleep(0.2)  # let the burst of sends settle
            held.append(self.recv.open_connections("tarpit"))
            self.measure(healthy_ws, f"beside {round_}", self.BLOCK, beside)
            held.append(self.recv.open_connections("tarpit"))
            self.assertGreaterEqual(held[-1], self.HELD_AT_LEAST, "the tarpit lost connections while measuring")
            # Let go: each held attempt ends (a connection error, no retry), the next round starts alone.
            self.recv.release("tarpit")
            fh.wait_for(lambda: self.recv.open_connections("tarpit") == 0 and self.in_flight() == 0, 20,
                        interval=0.05, message="the tarpit's deliveries over")
            time.sleep(0.2)

        attempts, _ = self.api.list_all(f"/api/v1/workspaces/{healthy_ws}/endpoints/{healthy_ep['id']}/attempts",
                                        limit=1000)
        # Attempt latency (the transport's share) by the phase the message was published in.
        by_phase = {"alone": [], "beside": []}
        phases = {}
        for r in self.recv.received("/healthy"):
            phases[r.headers.get("webhook-id")] = json.loads(r.body)["data"]["phase"].split()[0]
        for a in attempts:
            phase = phases.get(a["message_id"])
            if phase in by_phase:
                by_phase[phase].append(a["latency_ms"])
        stats = self.recv.listener_stats("tarpit")
        checks, failures, slowest = self.health.snapshot()

        def fmt(values):
            return (f"median {statistics.median(values):.2f} ms, p90 {percentile(values, 0.9):.2f} ms, "
                    f"max {max(values):.1f} ms (n={len(values)})")
        ratio = statistics.median(beside) / statistics.median(alone)
        print(f"\n[chaos] healthy endpoint, messages one at a time, {self.ROUNDS} alternating rounds of "
              f"{self.BLOCK}; publish sent -> request read by the receiver:\n"
              f"[chaos]   alone:             {fmt(alone)}\n"
              f"[chaos]   beside the tarpit: {fmt(beside)}\n"
              f"[chaos]   ratio of medians {ratio:.2f}, of p90 {percentile(beside, 0.9) / percentile(alone, 0.9):.2f}\n"
              f"[chaos]   attempt latency_ms alone: {fmt(by_phase['alone'])}\n"
              f"[chaos]   attempt latency_ms beside: {fmt(by_phase['beside'])} (ratio of medians "
              f"{statistics.median(by_phase['beside']) / statistics.median(by_phase['alone']):.2f})\n"
              f"[chaos]   tarpit connections held (start, end of each beside block): {held}; "
              f"max {stats.max_open}, accepted {stats.accepted}\n"
              f"[chaos]   /healthz: {checks} checks, slowest {slowest * 1000:.0f} ms, {len(failures)} failures",
              flush=True)

        self.assertEqual(failures, [], "/healthz failed")
        self.assertTrue(self.api.healthy())
        self.assertLessEqual(ratio, 2.0, f"the healthy endpoint slowed beside the tarpit: {fmt(beside)} "
                                         f"against {fmt(alone)} alone")
        # The transport's share on its own: a transport that does work for
        # every open connection at each event (curl_multi_perform did) made
        # it 2.3-3.4x at 350 held connections, while end to end hid it at 1.5x.
        attempt_ratio = statistics.median(by_phase["beside"]) / statistics.median(by_phase["alone"])
        self.assertLessEqual(attempt_ratio, 2.0, f"attempts to the healthy endpoint slowed beside the tarpit: "
                                                 f"{fmt(by_phase['beside'])} against {fmt(by_phase['alone'])}")


if __name__ == "__main__":
    unittest.main()
