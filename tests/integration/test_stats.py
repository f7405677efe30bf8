"""Delivery statistics (GET …/stats, GET …/endpoints/{ep}/stats) and the
attempts' outcome filter, against attempts the server really made: one
endpoint answering 200, one answering 500 until its retries run out."""

import math
import unittest
import urllib.parse

import ferry_harness as fh
from ferry_harness import FerryTestCase, Reply

# The histogram's bucket bounds in ms (docs/api.md): an estimate never exceeds
# the bound of the bucket the largest latency falls in.
LATENCY_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000]
MESSAGES = 4
ATTEMPTS_PER_FAILURE = 3  # the length of --retry-schedule


def bound_above(latency_ms: float) -> float:
    for bound in LATENCY_BOUNDS_MS:
        if latency_ms <= bound:
            return float(bound)
    return latency_ms


class StatsTest(FerryTestCase):

    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        cls.server = cls.start_class_server(name="stats", extra_args=["--retry-schedule", "0s,10ms,10ms"])
        cls.api = cls.server.api()
        api = cls.api
        cls.ws = api.create_workspace("stats")["id"]
        cls.other_ws = api.create_workspace("stats-other")["id"]
        cls.key = api.create_api_key(cls.ws)["token"]
        cls.other_key = api.create_api_key(cls.other_ws)["token"]
        # Some latency on the good endpoint, so its percentiles are not all in the first bucket.
        cls.receiver.program("/stats/ok", Reply(status=200, delay=0.03))
        cls.receiver.program("/stats/bad", 500)
        cls.ep_ok = api.create_endpoint(cls.ws, cls.receiver.url("/stats/ok"))["id"]
        cls.ep_bad = api.create_endpoint(cls.ws, cls.receiver.url("/stats/bad"))["id"]
        cls.ep_idle = api.create_endpoint(cls.ws, cls.receiver.url("/stats/idle"), filter_types=["never.sent"])["id"]
        # The other workspace's traffic must not show in this one's figures.
        api.create_endpoint(cls.other_ws, cls.receiver.url("/stats/other"))
        cls.other_msg = api.publish(cls.other_ws, "stats.ping", {"n": -1})["id"]
        cls.msgs = [api.publish(cls.ws, "stats.ping", {"n": i})["id"] for i in range(MESSAGES)]
        for msg in cls.msgs:
            api.wait_delivery_state(cls.ws, msg, ["succeeded", "failed"], timeout=30, count=2)
        api.wait_delivery_state(cls.other_ws, cls.other_msg, ["succeeded"], timeout=30)
        cls.attempts_ok = cls.endpoint_attempts(cls.ep_ok)
        cls.attempts_bad = cls.endpoint_attempts(cls.ep_bad)

    @classmethod
    def endpoint_attempts(cls, ep, query=""):
        path = f"/api/v1/workspaces/{cls.ws}/endpoints/{ep}/attempts" + (f"?{query}" if query else "")
        items, _ = cls.api.list_all(path, limit=50)
        return items

    def stats(self, query=None, api=None, ep=None):
        path = f"/api/v1/workspaces/{self.ws}/" + (f"endpoints/{ep}/stats" if ep else "stats")
        if query:
            path += "?" + urllib.parse.urlencode(query)
        return (api or self.api).get(path)

    def ok_stats(self, query=None, api=None, ep=None):
        resp = self.stats(query, api, ep)
        self.assertEqual(resp.status, 200, resp.describe())
        return resp.json

    def check_shape(self, body):
        self.assertLessEqual(len(body["buckets"]), 300)
        since = fh.parse_rfc3339(body["since"])
        until = fh.parse_rfc3339(body["until"])
        step = body["bucket_seconds"]
        self.assertIn(step, [60, 300, 900, 3600, 21600, 86400])
        self.assertEqual(len(body["buckets"]), int((until - since).total_seconds()) // step)
        for i, bucket in enumerate(body["buckets"]):
            self.assertEqual((fh.parse_rfc3339(bucket["start"]) - since).total_seconds(), i * step)
            self.assertEqual(bucket["attempts"], bucket["succeeded"] + bucket["failed"])
        for field in ("attempts", "succeeded", "failed"):
            self.assertEqual(sum(b[field] for b in body["buckets"]), body["totals"][field], field)
        if body["totals"]["messages"] is not None:
            self.assertEqual(sum(b["messages"] for b in body["buckets"]), body["totals"]["messages"])

    def test_setup_made_the_attempts_the_test_counts(self):
        self.assertEqual(len(self.attempts_ok), MESSAGES)
        self.assertTrue(all(a["response_status"] == 200 for a in self.attempts_ok))
        self.assertEqual(len(self.attempts_bad), MESSAGES * ATTEMPTS_PER_FAILURE)
        self.assertTrue(all(a["response_status"] == 500 for a in self.attempts_bad))

    def test_workspace_totals_count_attempts_by_outcome(self):
        body = self.ok_stats()
        self.check_shape(body)
        # Defaults: the last 24 h in 5-minute buckets, widened to whole buckets.
        self.assertEqual(body["bucket_seconds"], 300)
        self.assertIn(len(body["buckets"]), (288, 289))
        self.assertIsNone(body["endpoint_id"])
        every = self.attempts_ok + self.attempts_bad
        succeeded = sum(1 for a in every if 200 <= (a["response_status"] or 0) < 300)
        totals = body["totals"]
        self.assertEqual(totals["attempts"], len(every))
        self.assertEqual(totals["succeeded"], succeeded)
        self.assertEqual(totals["failed"], len(every) - succeeded)
        self.assertAlmostEqual(totals["success_rate"], succeeded / len(every))
        self.assertEqual(totals["messages"], MESSAGES)
        p = totals["latency_ms"]
        self.assertLessEqual(p["p50"], p["p90"])
        self.assertLessEqual(p["p90"], p["p99"])
        self.assertLessEqual(p["p99"], bound_above(max(a["latency_ms"] for a in every)))

    def test_each_attempt_counts_in_the_bucket_of_its_minute(self):
        body = self.ok_stats({"since": fh.rfc3339_ms(fh.now_ms() - 3_600_000), "bucket": "1m"})
        self.check_shape(body)
        self.assertEqual(body["bucket_seconds"], 60)
        since_ms = int(fh.parse_rfc3339(body["since"]).timestamp() * 1000)
        expected = {}
        for attempt in self.attempts_ok + self.attempts_bad:
            started = int(fh.parse_rfc3339(attempt["started_at"]).timestamp() * 1000)
            index = (started - since_ms) // 60_000
            expected[index] = expected.get(index, 0) + 1
        got = {i: b["attempts"] for i, b in enumerate(body["buckets"]) if b["attempts"]}
        self.assertEqual(got, expected)
        for bucket in body["buckets"]:
            if bucket["attempts"] == 0:
                self.assertIsNone(bucket["success_rate"])
                self.assertEqual(bucket["latency_ms"], {"p50": None, "p90": None, "p99": None})

    def test_endpoint_filter_and_endpoint_route_agree(self):
        for ep, attempts, rate in ((self.ep_ok, self.attempts_ok, 1.0), (self.ep_bad, self.attempts_bad, 0.0)):
            by_query = self.ok_stats({"endpoint": ep})
            by_path = self.ok_stats(ep=ep)
            self.check_shape(by_query)
            self.assertEqual(by_query, by_path)
            self.assertEqual(by_query["endpoint_id"], ep)
            totals = by_query["totals"]
            self.assertEqual(totals["attempts"], len(attempts))
            self.assertEqual(totals["success_rate"], rate)
            self.assertIsNone(totals["messages"], "messages belong to the workspace, not to an endpoint")
            self.assertTrue(all(b["messages"] is None for b in by_query["buckets"]))
        idle = self.ok_stats(ep=self.ep_idle)["totals"]
        self.assertEqual((idle["attempts"], idle["success_rate"]), (0, None))
        self.assertEqual(idle["latency_ms"], {"p50": None, "p90": None, "p99": None})

    def test_latency_percentiles_are_plausible(self):
        totals = self.ok_stats(ep=self.ep_ok)["totals"]
        latencies = sorted(a["latency_ms"] for a in self.attempts_ok)
        p = totals["latency_ms"]
        for name in ("p50", "p90", "p99"):
            self.assertIsNotNone(p[name], name)
            self.assertGreater(p[name], 0, name)
        self.assertLessEqual(p["p50"], p["p90"])
        self.assertLessEqual(p["p90"], p["p99"])
        # Never above the bucket bound of the largest latency; the median lies in
        # the bucket of the true median (the error bound of docs/api.md).
        self.assertLessEqual(p["p99"], bound_above(latencies[-1]))
        true_median = latencies[math.ceil(0.5 * len(latencies)) - 1]
        upper = bound_above(true_median)
        lower = max([b for b in LATENCY_BOUNDS_MS if b < upper], default=0)
        self.assertGreaterEqual(p["p50"], lower, (p, latencies))
        self.assertLessEqual(p["p50"], upper, (p, latencies))
        # The receiver waited 30 ms before answering.
        self.assertGreaterEqual(p["p50"], 20)

    def test_outcome_filter_lists_last_failures(self):
        failed = self.endpoint_attempts(self.ep_bad, "outcome=failed")
        self.assertEqual([a["id"] for a in failed], [a["id"] for a in self.attempts_bad])
        self.assertEqual(self.endpoint_attempts(self.ep_bad, "outcome=succeeded"), [])
        self.assertEqual(self.endpoint_attempts(self.ep_ok, "outcome=failed"), [])
        succeeded = self.endpoint_attempts(self.ep_ok, "outcome=succeeded")
        self.assertEqual([a["id"] for a in succeeded], [a["id"] for a in self.attempts_ok])
        ids = [a["id"] for a in failed]
        self.assertEqual(ids, sorted(ids, reverse=True), "newest first")
        self.assertEqual(set(failed[0]), set(self.attempts_bad[0]), "the Attempt JSON is unchanged")
        resp = self.api.get(f"/api/v1/workspaces/{self.ws}/endpoints/{self.ep_bad}/attempts?outcome=maybe")
        self.assertError(resp, 400, "bad_request", "outcome")

    def test_who_may_read(self):
        key_api = self.api.with_token(self.key)
        self.assertEqual(self.ok_stats(api=key_api)["totals"]["attempts"],
                         len(self.attempts_ok) + len(self.attempts_bad))
        link = self.api.expect(self.api.post(f"/api/v1/workspaces/{self.ws}/portal-links", {}), 201)
        portal = self.api.with_token(link["token"])
        self.assertEqual(self.ok_stats(api=portal, ep=self.ep_ok)["totals"]["attempts"], len(self.attempts_ok))
        self.assertEqual(self.ok_stats(api=portal)["totals"]["messages"], MESSAGES)
        other = self.api.with_token(self.other_key)
        self.assertError(self.stats(api=other), 404, "not_found")
        self.assertError(self.stats(api=other, ep=self.ep_ok), 404, "not_found")
        self.assertError(self.stats(api=self.api.with_token(None)), 401)
        # The other workspace sees its own traffic only.
        other_path = f"/api/v1/workspaces/{self.other_ws}/stats"
        own = other.get(other_path)
        self.assertEqual(own.status, 200, own.describe())
        self.assertEqual((own.json["totals"]["attempts"], own.json["totals"]["messages"]), (1, 1))

    def test_bad_input(self):
        now = fh.now_ms()
        for query, mentions in (
            ({"since": "yesterday"}, "since"),
            ({"until": "2026-13-45T00:00:00Z"}, "until"),
            ({"since": str(now), "until": str(now)}, "until"),
            ({"since": str(now), "until": str(now - 60_000)}, "until"),
            ({"since": str(now - 91 * 86_400_000), "until": str(now)}, "90 days"),
            ({"bucket": "2m"}, "bucket"),
            ({"bucket": "300"}, "bucket"),
            ({"bucket": "1m"}, "bucket"),  # 24 h in minutes: more than 300 buckets
            ({"endpoint": ""}, "endpoint"),
        ):
            with self.subTest(query=query):
                self.assertError(self.stats(query), 400, "bad_request", mentions)
        self.assertError(self.stats({"endpoint": "ep_nope"}), 404, "not_found")
        self.assertError(self.stats(ep="ep_nope"), 404, "not_found")
        self.assertError(self.api.get("/api/v1/workspaces/ws_nope/stats"), 404, "not_found")
        # The edges of what is allowed.
        body = self.ok_stats({"since": str(now - 90 * 86_400_000), "until": str(now)})
        self.assertEqual(body["bucket_seconds"], 86400)
        body = self.ok_stats({"since": str(now - 4 * 3_600_000), "until": str(now), "bucket": "1m"})
        self.assertEqual(body["bucket_seconds"], 60)
        self.assertIn(len(body["buckets"]), (240, 241))


if __name__ == "__main__":
    unittest.main()
