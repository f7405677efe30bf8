"""Retries, timeouts, Retry-After, 410, exhaustion, refused connections,
per-endpoint isolation and resend."""

import time
import unittest

import ferry_harness as fh
from ferry_harness import FerryServer, FerryTestCase, Receiver, Reply


class RetryTest(FerryTestCase):
    """Default retry schedule scaled by --time-factor 0.001 (0, 5 ms, 300 ms, 1.8 s, …)."""

    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        cls.server = cls.start_class_server(name="retries", time_factor=0.001,
                                            extra_args=["--request-timeout", "500ms", "--connect-timeout", "2s"])
        cls.api = cls.server.api()

    def setUp(self):
        super().setUp()
        # One workspace per test: publishes reach only this test's endpoints.
        self.ws = self.api.create_workspace(self.id().rsplit(".", 1)[-1])["id"]

    def test_500_500_200_retries_then_succeeds(self):
        path = "/r/flaky"
        self.receiver.program(path, 500, 500, 200)
        ep = self.api.create_endpoint(self.ws, self.receiver.url(path))
        msg = self.api.publish(self.ws, "order.created", {"n": 1})
        self.receiver.wait_for_requests(3, path, timeout=15)
        dl = self.api.wait_delivery_state(self.ws, msg["id"], ["succeeded"], timeout=10)[0]
        self.assertEqual(dl["attempt_count"], 3)
        attempts = sorted(self.api.attempts(self.ws, msg["id"]), key=lambda a: a["attempt_number"])
        self.assertEqual([a["attempt_number"] for a in attempts], [1, 2, 3])
        self.assertEqual([a["response_status"] for a in attempts], [500, 500, 200])
        time.sleep(0.3)
        reqs = self.receiver.received(path)
        self.assertEqual(len(reqs), 3, "no attempt after the success")
        self.assertEqual({r.headers.get("webhook-id") for r in reqs}, {msg["id"]},
                         "webhook-id must be the same on every retry")
        for r in reqs:  # every retry is signed afresh and verifies
            fh.verify(ep["secret"], r.headers, r.body)
        self.assertEqual(len({r.body for r in reqs}), 1, "the body must not change between retries")

    def test_timeout_then_success(self):
        path = "/r/slow-once"
        self.receiver.program(path, Reply(status=200, delay=2.0), Reply(status=200))
        self.api.create_endpoint(self.ws, self.receiver.url(path))
        msg = self.api.publish(self.ws, "order.created", {"n": 2})
        self.api.wait_delivery_state(self.ws, msg["id"], ["succeeded"], timeout=15)
        attempts = sorted(self.api.attempts(self.ws, msg["id"]), key=lambda a: a["attempt_number"])
        self.assertGreaterEqual(len(attempts), 2, attempts)
        first = attempts[0]
        self.assertIsNone(first["response_status"], first)
        self.assertEqual(first["error"], "timeout", first)
        self.assertGreaterEqual(first["latency_ms"], 400, "gave up before --request-timeout 500ms")
        self.assertLess(first["latency_ms"], 1800, "did not honour --request-timeout 500ms")
        self.assertEqual(attempts[-1]["response_status"], 200)

    def check_retry_after(self, status):
        path = f"/r/retry-after-{status}"
        self.receiver.program(path, Reply(status=status, headers={"Retry-After": "1"}), Reply(status=200))
        self.api.create_endpoint(self.ws, self.receiver.url(path))
        msg = self.api.publish(self.ws, "order.created", {"n": status})
        reqs = self.receiver.wait_for_requests(2, path, timeout=15)
        gap = reqs[1].time - reqs[0].time
        # The scaled schedule alone would retry after ~5 ms: only Retry-After explains ~1 s.
        self.assertGreaterEqual(gap, 0.9, f"Retry-After: 1 not honoured after {status} (gap {gap:.3f}s)")
        self.assertLess(gap, 5.0, f"retry after {status} much later than Retry-After: 1 (gap {gap:.3f}s)")
        self.api.wait_delivery_state(self.ws, msg["id"], ["succeeded"], timeout=10)
        attempts = sorted(self.api.attempts(self.ws, msg["id"]), key=lambda a: a["attempt_number"])
        self.assertEqual([a["response_status"] for a in attempts], [status, 200])

    def test_retry_after_429(self):
        self.check_retry_after(429)

    def test_retry_after_503(self):
        self.check_retry_after(503)

    def test_410_disables_endpoint(self):
        path = "/r/gone"
        self.receiver.program(path, 410)
        ep = self.api.create_endpoint(self.ws, self.receiver.url(path))
        msg = self.api.publish(self.ws, "order.created", {"n": 3})
        self.receiver.wait_for_requests(1, path, timeout=10)
        dl = self.api.wait_delivery_state(self.ws, msg["id"], ["failed"], timeout=10)[0]
        self.assertEqual(dl["attempt_count"], 1, "410 must not be retried")
        self.assertIsNone(dl["next_attempt_at"])
        got = fh.wait_for(lambda: (lambda e: e if e["enabled"] is False else None)(self.api.endpoint(self.ws, ep["id"])),
                          5, message="endpoint disabled after 410")
        self.assertFalse(got["enabled"])
        later = self.api.publish(self.ws, "order.created", {"n": 4})
        self.assertEqual(later.get("deliveries"), 0, f"a disabled endpoint got a delivery: {later}")
        self.assertEqual(self.api.deliveries(self.ws, later["id"]), [])
        time.sleep(0.5)
        self.assertEqual(self.receiver.count(path), 1, "a disabled endpoint received a request")

    def test_connection_refused(self):
        url = f"http://127.0.0.1:{fh.closed_port()}/nobody"
        ep = self.api.create_endpoint(self.ws, url)
        msg = self.api.publish(self.ws, "order.created", {"n": 5})
        attempts = self.api.wait_attempts(self.ws, msg["id"], 1, timeout=10)
        first = sorted(attempts, key=lambda a: a["attempt_number"])[0]
        self.assertIsNone(first["response_status"], first)
        self.assertEqual(first["error"], "refused", first)
        self.assertEqual(first["endpoint_id"], ep["id"])
        dl = self.api.deliveries(self.ws, msg["id"])[0]
        self.assertIn(dl["state"], ("pending", "retrying"), "a refused connection is retried")
        # Stop retrying against the closed port.
        self.api.expect(self.api.patch(f"/api/v1/workspaces/{self.ws}/endpoints/{ep['id']}", {"enabled": False}), 200)

    def test_resend_succeeded_delivery(self):
        path = "/r/resend"
        self.api.create_endpoint(self.ws, self.receiver.url(path))
        msg = self.api.publish(self.ws, "order.created", {"n": 6})
        self.receiver.wait_for_requests(1, path, timeout=10)
        dl = self.api.wait_delivery_state(self.ws, msg["id"], ["succeeded"], timeout=10)[0]
        resp = self.api.post(f"/api/v1/workspaces/{self.ws}/deliveries/{dl['id']}/resend")
        body = self.api.expect(resp, 202)
        self.assertEqual(body["id"], dl["id"])
        reqs = self.receiver.wait_for_requests(2, path, timeout=10)
        self.assertEqual([r.headers.get("webhook-id") for r in reqs], [msg["id"], msg["id"]])
        self.assertEqual(reqs[0].body, reqs[1].body)
        fh.wait_for(lambda: len(self.api.attempts(self.ws, msg["id"])) == 2, 10, message="2 attempts after resend")
        self.api.wait_delivery_state(self.ws, msg["id"], ["succeeded"], timeout=10)
        time.sleep(0.3)
        self.assertEqual(self.receiver.count(path), 2, "resend sends exactly once more")


class HeldBackTest(FerryTestCase):
    """Deliveries the scheduler holds back (rate limit) follow changes to their endpoint."""

    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        cls.server = cls.start_class_server(name="held-back")
        cls.api = cls.server.api()

    def setUp(self):
        super().setUp()
        self.ws = self.api.create_workspace(self.id().rsplit(".", 1)[-1])["id"]

    def publish_batch(self, count):
        # One batch: its deliveries reach the scheduler together, which claims
        # them all and holds all but the first back for the rate limit.
        items = [{"type": "order.created", "data": {"i": i}} for i in range(count)]
        answer = self.api.expect(self.api.post(f"/api/v1/workspaces/{self.ws}/messages/batch", {"messages": items}),
                                 202)
        return [m["id"] for m in answer["data"]]

    def test_endpoint_change_reaches_deliveries_already_held_back(self):
        # A rate limit of 1/s holds most of 30 deliveries back in the
        # scheduler; lifting it and moving the URL must reach them at once,
        # not after they trickled out to the old URL at the old rate.
        old_path, new_path = "/h/old", "/h/new"
        ep = self.api.create_endpoint(self.ws, self.receiver.url(old_path), rate_limit=1)
        ids = self.publish_batch(30)
        time.sleep(0.5)
        before = self.receiver.count(old_path)
        self.assertLess(before, 10, "the rate limit of 1/s did not hold deliveries back")
        changed = self.api.patch(f"/api/v1/workspaces/{self.ws}/endpoints/{ep['id']}",
                                 {"rate_limit": None, "url": self.receiver.url(new_path)})
        self.api.expect(changed, 200)
        self.receiver.wait_for_requests(30 - before - 2, new_path, timeout=5)
        for i in ids:
            self.api.wait_delivery_state(self.ws, i, ["succeeded"], timeout=10)
        self.assertLessEqual(self.receiver.count(old_path), before + 2,
                             "held-back deliveries still went to the old URL")
        self.assertEqual(sorted(set(self.receiver.webhook_ids(old_path) + self.receiver.webhook_ids(new_path))),
                         sorted(ids))

    def test_disabling_an_endpoint_stops_deliveries_already_held_back(self):
        path = "/h/disabled"
        ep = self.api.create_endpoint(self.ws, self.receiver.url(path), rate_limit=1)
        self.publish_batch(20)
        time.sleep(0.5)
        changed = self.api.patch(f"/api/v1/workspaces/{self.ws}/endpoints/{ep['id']}", {"enabled": False})
        self.api.expect(changed, 200)
        at_disable = self.receiver.count(path)
        time.sleep(2.5)
        self.assertLessEqual(self.receiver.count(path), at_disable + 1,
                             "deliveries went out after the endpoint was disabled")


class ExhaustionTest(FerryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        cls.server = cls.start_class_server(name="exhaust", time_factor=1.0,
                                            extra_args=["--retry-schedule", "0s,10ms,10ms"])
        cls.api = cls.server.api()

    def test_schedule_exhausted_fails_after_exactly_3_attempts(self):
        ws = self.api.create_workspace("exhaust")["id"]
        path = "/x/always-500"
        self.receiver.program(path, 500)
        self.api.create_endpoint(ws, self.receiver.url(path))
        msg = self.api.publish(ws, "job.done", {"n": 1})
        dl = self.api.wait_delivery_state(ws, msg["id"], ["failed"], timeout=15)[0]
        self.assertEqual(dl["attempt_count"], 3)
        self.assertIsNone(dl["next_attempt_at"])
        time.sleep(0.5)
        self.assertEqual(self.receiver.count(path), 3)
        attempts = self.api.attempts(ws, msg["id"])
        self.assertEqual(sorted(a["attempt_number"] for a in attempts), [1, 2, 3])
        self.assertTrue(all(a["response_status"] == 500 for a in attempts), attempts)


class ConcurrencyTest(FerryTestCase):
    SLOW_SECONDS = 3.0

    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        cls.server = cls.start_class_server(name="concurrency", time_factor=0.001,
                                            extra_args=["--endpoint-concurrency", "2", "--request-timeout", "20s"])
        cls.addClassCleanup(cls.receiver.release)  # runs first: ends the slow endpoint's requests
        cls.api = cls.server.api()

    def test_slow_endpoint_does_not_hold_back_another(self):
        ws = self.api.create_workspace("concurrency")["id"]
        slow, fast = "/c/slow", "/c/fast"
        self.receiver.program(slow, Reply(status=200, delay=self.SLOW_SECONDS))
        self.api.create_endpoint(ws, self.receiver.url(slow))
        self.api.create_endpoint(ws, self.receiver.url(fast))
        start = time.monotonic()
        ids = [self.api.publish(ws, "load.tick", {"i": i})["id"] for i in range(20)]
        self.receiver.wait_for_requests(20, fast, timeout=10)
        elapsed = time.monotonic() - start
        # The slow endpoint needs >= 20 / 2 * 3 s = 30 s; the fast one must not wait for it.
        self.assertLess(elapsed, 8.0, f"fast endpoint took {elapsed:.1f}s for 20 messages")
        self.assertEqual(sorted(self.receiver.webhook_ids(fast)), sorted(ids))
        slow_count = self.receiver.count(slow)
        self.assertLess(slow_count, 20, "the slow endpoint cannot have finished yet")
        self.assertGreaterEqual(slow_count, 1, "the slow endpoint got nothing")
        time.sleep(0.5)
        self.assertLessEqual(self.receiver.max_inflight.get(slow, 0), 2,
                             "more requests in flight to one endpoint than --endpoint-concurrency 2")
        self.assertEqual(self.receiver.max_inflight.get(slow, 0), 2,
                         "the slow endpoint should use both of its 2 slots")


if __name__ == "__main__":
    unittest.main()
