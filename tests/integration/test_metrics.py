"""/metrics end to end: after publishing, delivering to a receiver (a
succeeding, a failing and a refused endpoint) and calling API routes
(including misses), the series moved by exactly what happened; queue depth
and per-endpoint series follow deliveries waiting and endpoints deleted; and
`promtool check metrics` accepts every scrape.

promtool comes with Debian's package prometheus (scripts/setup.sh installs
it); without it the promtool checks are skipped, or fail when CI is set."""

import re
import shutil
import subprocess
import time
import unittest

import ferry_harness as fh
from ferry_harness import FerryTestCase, Reply

SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


class Scrape:
    """One /metrics answer, parsed: samples by name and labels."""

    def __init__(self, text: str):
        self.text = text
        self.samples: list[tuple[str, dict, float]] = []
        self.types: dict[str, str] = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ", 3)
                self.types[name] = kind
                continue
            if not line or line.startswith("#"):
                continue
            m = SAMPLE_RE.match(line)
            if not m:
                raise AssertionError(f"not a sample line: {line!r}")
            labels = {}
            body = m.group(2) or ""
            pos = 0
            while pos < len(body):
                lm = LABEL_RE.match(body, pos)
                if not lm:
                    raise AssertionError(f"bad labels in {line!r} at {body[pos:]!r}")
                labels[lm.group(1)] = re.sub(r"\\[\\\"n]", lambda e: UNESCAPE[e.group(0)], lm.group(2))
                pos = lm.end()
            self.samples.append((m.group(1), labels, float(m.group(3))))

    def get(self, name: str, **labels) -> float | None:
        """The value of the sample with exactly these labels, or None."""
        for sample_name, sample_labels, value in self.samples:
            if sample_name == name and sample_labels == labels:
                return value
        return None

    def all(self, name: str) -> list[tuple[dict, float]]:
        return [(labels, value) for n, labels, value in self.samples if n == name]

    def histogram(self, name: str, **labels) -> tuple[list[tuple[str, float]], float, float]:
        """(buckets as (le, cumulative count) in order, sum, count)."""
        buckets = [(l["le"], v) for l, v in self.all(name + "_bucket")
                   if {k: x for k, x in l.items() if k != "le"} == labels]
        return buckets, self.get(name + "_sum", **labels), self.get(name + "_count", **labels)


def promtool_path(testcase: unittest.TestCase) -> str:
    path = shutil.which("promtool")
    if path:
        return path
    reason = "promtool is not installed (Debian package prometheus; scripts/setup.sh installs it)"
    if fh.IN_CI:
        testcase.fail(reason)
    raise unittest.SkipTest(reason)


class MetricsTest(FerryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()

    def scrape(self, api) -> Scrape:
        resp = api.get("/metrics", token=None)
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertTrue(resp.headers.get("content-type", "").startswith("text/plain; version=0.0.4"), resp.headers)
        return Scrape(resp.body.decode())

    def check_promtool(self, scrape: Scrape) -> None:
        """`promtool check metrics` (format and lint) accepts the scrape."""
        proc = subprocess.run([promtool_path(self), "check", "metrics"], input=scrape.text.encode(),
                              capture_output=True, timeout=60)
        out = (proc.stdout + proc.stderr).decode("utf-8", "replace").strip()
        self.assertEqual(proc.returncode, 0, f"promtool check metrics: {out}\n--- scraped ---\n{scrape.text}")
        self.assertEqual(out, "", f"promtool reported problems: {out}")

    def assert_histogram_well_formed(self, scrape: Scrape, name: str, **labels) -> tuple[float, float]:
        buckets, total, count = scrape.histogram(name, **labels)
        self.assertTrue(buckets, f"no buckets of {name} {labels}")
        self.assertEqual(buckets[-1][0], "+Inf", buckets)
        bounds = [float(le) for le, _ in buckets[:-1]]
        self.assertEqual(bounds, sorted(bounds), buckets)
        counts = [v for _, v in buckets]
        self.assertEqual(counts, sorted(counts), f"{name} buckets are not cumulative: {buckets}")
        self.assertEqual(counts[-1], count, f"{name}: +Inf bucket != _count")
        self.assertIsNotNone(total, f"no {name}_sum")
        return total, count

    def test_series_count_what_happened(self):
        started = time.time()
        srv = self.start_server(extra_args=["--retry-schedule", "0s,1s,1s"])  # 3 attempts, 1 ms apart
        api = srv.api()
        recv = self.receiver
        recv.program("/metrics-fail", 500)
        http = {}  # (method, route, status) -> requests this test made

        def tally(method: str, route: str, resp) -> None:
            key = (method, route, str(resp.status))
            http[key] = http.get(key, 0) + 1

        ws = api.create_workspace("metrics")["id"]
        http[("POST", "/api/v1/workspaces", "201")] = 1
        ok_ep = api.create_endpoint(ws, recv.url("/metrics-ok"), filter_types=["order.*"])["id"]
        fail_ep = api.create_endpoint(ws, recv.url("/metrics-fail"), filter_types=["order.*"])["id"]
        refused_ep = api.create_endpoint(ws, f"http://127.0.0.1:{fh.closed_port()}/hook",
                                         filter_types=["ping.*"])["id"]
        http[("POST", "/api/v1/workspaces/{ws}/endpoints", "201")] = 3

        messages = {}  # id -> deliveries expected
        publish_route = "/api/v1/workspaces/{ws}/messages"
        for i in range(3):
            resp = api.post(f"/api/v1/workspaces/{ws}/messages", {"type": "order.paid", "data": {"i": i}})
            tally("POST", publish_route, resp)
            messages[api.expect(resp, 202)["id"]] = 2
        resp = api.post(f"/api/v1/workspaces/{ws}/messages", {"type": "ping.sent", "data": {}})
        tally("POST", publish_route, resp)
        messages[api.expect(resp, 202)["id"]] = 1
        for _ in range(2):  # the second is a duplicate; no endpoint takes the type
            resp = api.post(f"/api/v1/workspaces/{ws}/messages", {"type": "other.thing", "data": {}},
                            headers={"Idempotency-Key": "metrics-1"})
            tally("POST", publish_route, resp)
            api.expect(resp, 202)
        self.assertTrue(resp.json["duplicate"], resp.describe())

        for msg_id, count in messages.items():
            api.wait_delivery_state(ws, msg_id, {"succeeded", "failed"}, count=count, timeout=30)
        recv.wait_for_requests(3, "/metrics-ok")

        # API calls with known answers, misses included.
        calls = [
            ("GET", f"/api/v1/workspaces/{ws}/endpoints", "/api/v1/workspaces/{ws}/endpoints", "admin"),
            ("GET", f"/api/v1/workspaces/{ws}/endpoints/ep_missing", "/api/v1/workspaces/{ws}/endpoints/{ep}",
             "admin"),
            ("GET", f"/api/v1/workspaces/{ws}", "/api/v1/workspaces/{ws}", "wrong-token"),
            ("GET", "/nope/at/all", "unmatched", None),
            ("GET", f"/api/v1/workspaces/{ws}/nothing-here", "unmatched", "admin"),
            ("DELETE", "/healthz", "unmatched", None),
            ("BREW", "/healthz", "unmatched", None),
            ("GET", "/healthz", "/healthz", None),
            ("GET", "/healthz", "/healthz", None),
            ("GET", "/api/openapi.json", "/api/openapi.json", None),
        ]
        openapi = None
        for method, path, route, token in calls:
            resp = api.request(method, path, token=srv.admin_token if token == "admin" else token)
            label = "other" if method == "BREW" else method
            tally(label, route, resp)
            if path == "/api/openapi.json":
                openapi = resp.json
        expected_status = {"/api/v1/workspaces/{ws}/endpoints/{ep}": "404", "/api/v1/workspaces/{ws}": "401"}
        for (method, route, status), n in http.items():
            if route in expected_status:
                self.assertEqual(status, expected_status[route], (method, route))

        scrape = self.scrape(api)
        self.check_promtool(scrape)
        s = scrape.get

        # Messages and deliveries.
        self.assertEqual(s("ferry_messages_published_total"), 5)
        self.assertEqual(s("ferry_messages_duplicate_total"), 1)
        self.assertEqual(s("ferry_deliveries_created_total"), 7)
        self.assertEqual(s("ferry_deliveries_finished_total", state="succeeded"), 3)
        self.assertEqual(s("ferry_deliveries_finished_total", state="failed"), 4)

        # Attempts, by outcome and error class: every class present, only these moved.
        expected_attempts = {("success", "none"): 3, ("http_error", "5xx"): 9, ("transport_error", "refused"): 3}
        attempts = {(l["outcome"], l["error"]): v for l, v in scrape.all("ferry_attempts_total")}
        self.assertEqual(len(attempts), 12, attempts)
        for key, value in attempts.items():
            self.assertEqual(value, expected_attempts.get(key, 0), key)
        total, count = self.assert_histogram_well_formed(scrape, "ferry_attempt_duration_seconds")
        self.assertEqual(count, 15)
        self.assertGreater(total, 0)

        # Failures per endpoint; the succeeding endpoint has none.
        self.assertEqual(s("ferry_endpoint_attempt_failures_total", workspace=ws, endpoint=fail_ep), 9)
        self.assertEqual(s("ferry_endpoint_attempt_failures_total", workspace=ws, endpoint=refused_ep), 3)
        self.assertIsNone(s("ferry_endpoint_attempt_failures_total", workspace=ws, endpoint=ok_ep))

        # End-to-end latency of the 3 successful deliveries: after their
        # publish, before this scrape.
        total, count = self.assert_histogram_well_formed(scrape, "ferry_delivery_latency_seconds")
        self.assertEqual(count, 3)
        self.assertGreater(total, 0)
        self.assertLess(total, 3 * (time.time() - started))

        # HTTP requests by method, route pattern and status: exactly what was
        # sent here, plus the polling of deliveries.
        polled = ("GET", "/api/v1/workspaces/{ws}/messages/{msg}/deliveries", "200")
        seen = {(l["method"], l["route"], l["status"]): v for l, v in scrape.all("ferry_http_requests_total")}
        self.assertGreaterEqual(seen.pop(polled, 0), len(messages), "deliveries were polled at least once each")
        self.assertEqual(seen, {k: float(v) for k, v in http.items()})
        # Route labels are the router's patterns, never paths.
        patterns = set(openapi["paths"])
        for labels, _ in scrape.all("ferry_http_requests_total"):
            self.assertTrue(labels["route"] == "unmatched" or labels["route"] in patterns, labels)
        for path in ("/nope/at/all", "nothing-here", "ep_missing", f"workspaces/{ws}"):
            self.assertNotIn(path, scrape.text)
        _, count = self.assert_histogram_well_formed(scrape, "ferry_http_request_duration_seconds",
                                                     method="POST", route=publish_route)
        self.assertEqual(count, 6)
        _, count = self.assert_histogram_well_formed(scrape, "ferry_http_request_duration_seconds",
                                                     method="GET", route="unmatched")
        self.assertEqual(count, 2)

        # Gauges: nothing left to do.
        self.assertEqual(s("ferry_deliveries_in_flight"), 0)
        self.assertEqual(s("ferry_deliveries_waiting"), 0)
        self.assertEqual(s("ferry_deliveries_pending", due="now"), 0)
        self.assertEqual(s("ferry_deliveries_pending", due="later"), 0)
        self.assertEqual(s("ferry_http_requests_rate_limited_total"), 0)
        self.assertEqual(s("ferry_endpoints_disabled_total"), 0)

        # Build and process.
        version = re.search(r"Ferry (\S+) listening", srv.stdout_text()).group(1)
        self.assertEqual(s("ferry_build_info", version=version), 1)
        self.assertEqual(scrape.types.get("ferry_build_info"), "gauge")
        start = s("process_start_time_seconds")
        self.assertIsNotNone(start)
        self.assertGreaterEqual(start, started - 5)
        self.assertLessEqual(start, time.time() + 1)
        self.assertGreater(s("process_resident_memory_bytes"), 1_000_000)
        self.assertGreater(s("process_open_fds"), 3)
        self.assertGreaterEqual(s("process_cpu_seconds_total"), 0)

        # The scrape itself is counted from the next one on.
        again = self.scrape(api)
        self.assertEqual(again.get("ferry_http_requests_total", method="GET", route="/metrics", status="200"), 1)

    def test_queue_depth_and_deleted_endpoints(self):
        srv = self.start_server()
        api = srv.api()
        recv = self.receiver
        # 503 with Retry-After: the retry is due in 120 real seconds (the
        # receiver's word is not scaled by --time-factor).
        recv.program("/metrics-busy", Reply(status=503, headers={"Retry-After": "120"}))
        ws = api.create_workspace("depth")["id"]
        busy = api.create_endpoint(ws, recv.url("/metrics-busy"), filter_types=["busy.*"])["id"]
        slow = api.create_endpoint(ws, recv.url("/metrics-slow"), filter_types=["slow.*"], rate_limit=1)["id"]
        for i in range(2):
            api.publish(ws, "busy.tick", {"i": i})

        def depth():
            scrape = self.scrape(api)
            return scrape if (scrape.get("ferry_deliveries_pending", due="later") == 2 and
                              scrape.get("ferry_deliveries_pending", due="now") == 0) else None
        scrape = fh.wait_for(depth, 15, interval=0.2, message="2 deliveries pending, due later")
        self.check_promtool(scrape)
        self.assertEqual(scrape.get("ferry_endpoint_attempt_failures_total", workspace=ws, endpoint=busy), 2)
        self.assertEqual(scrape.get("ferry_attempts_total", outcome="http_error", error="5xx"), 2)

        # An endpoint limited to 1 request/s: the rest wait their turn, in
        # this process's memory and due in the store.
        slow_ids = [api.publish(ws, "slow.tick", {"i": i})["id"] for i in range(8)]

        def waiting():
            scrape = self.scrape(api)
            return scrape if (scrape.get("ferry_deliveries_waiting") >= 2 and
                              scrape.get("ferry_deliveries_pending", due="now") >= 2) else None
        fh.wait_for(waiting, 6, interval=0.1, message="deliveries waiting for the rate limit")
        recv.wait_for_requests(len(slow_ids), "/metrics-slow", timeout=30)
        for msg_id in slow_ids:
            api.wait_delivery_state(ws, msg_id, {"succeeded"}, timeout=15)

        def drained():
            scrape = self.scrape(api)
            return scrape if (scrape.get("ferry_deliveries_waiting") == 0 and
                              scrape.get("ferry_deliveries_pending", due="now") == 0) else None
        fh.wait_for(drained, 10, interval=0.2, message="nothing waiting")

        # Deleting the endpoint deletes its deliveries and its series.
        self.assertEqual(api.delete(f"/api/v1/workspaces/{ws}/endpoints/{busy}").status, 204)

        def gone():
            scrape = self.scrape(api)
            return scrape if scrape.get("ferry_deliveries_pending", due="later") == 0 else None
        scrape = fh.wait_for(gone, 15, interval=0.2, message="no deliveries pending after the delete")
        self.assertNotIn(busy, scrape.text)
        self.assertEqual(scrape.get("ferry_attempts_total", outcome="http_error", error="5xx"), 2)  # counters stay
        self.assertIsNone(scrape.get("ferry_endpoint_attempt_failures_total", workspace=ws, endpoint=slow))
        self.check_promtool(scrape)


if __name__ == "__main__":
    unittest.main()
