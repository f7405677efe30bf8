"""Recovering an endpoint's failed deliveries after an outage
(POST …/endpoints/{ep}/recover), and the message log's endpoint and status
filters (GET …/messages?endpoint=&status=), against a real server and
receiver on either store."""

import time
import urllib.parse

import ferry_harness as fh
from ferry_harness import FerryTestCase


class RecoverTest(FerryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        # Two quick attempts, so a failing endpoint's deliveries fail at once.
        cls.server = cls.start_class_server(name="recover", time_factor=1.0,
                                            extra_args=["--retry-schedule", "0s,50ms"])
        cls.api = cls.server.api()

    def setUp(self):
        super().setUp()
        # One workspace and receiver paths per test: the receiver's reply
        # sequence of a path is shared by every request to it.
        self.ws = self.api.create_workspace(self.id().rsplit(".", 1)[-1])["id"]
        self.base = f"/api/v1/workspaces/{self.ws}"

    def failing_endpoint(self, name):
        path = f"/recover/{self.ws}/{name}"
        self.receiver.program(path, 500)  # the last reply repeats: every attempt fails
        return self.api.create_endpoint(self.ws, self.receiver.url(path))["id"], path

    def publish_and_fail(self, n, endpoints):
        ids = [self.api.publish(self.ws, "recover.test", {"n": i})["id"] for i in range(n)]
        for msg in ids:
            self.api.wait_delivery_state(self.ws, msg, ["failed"], count=endpoints, timeout=15)
        return ids

    def recover(self, ep, body, api=None):
        return (api or self.api).post(f"{self.base}/endpoints/{ep}/recover", body)

    def message_ids(self, query, limit=2):
        items, _ = self.api.list_all(f"{self.base}/messages?{urllib.parse.urlencode(query)}", limit=limit)
        return [m["id"] for m in items]

    def delivery_to(self, msg, ep):
        return [d for d in self.api.deliveries(self.ws, msg) if d["endpoint_id"] == ep][0]

    def test_recovers_exactly_the_failed_deliveries_of_the_window(self):
        ep, path = self.failing_endpoint("a")
        other, other_path = self.failing_endpoint("b")
        old = self.publish_and_fail(2, endpoints=2)
        time.sleep(0.05)
        since = fh.now_ms()
        time.sleep(0.05)
        recent = self.publish_and_fail(3, endpoints=2)
        time.sleep(0.05)
        until = fh.now_ms()
        time.sleep(0.05)
        late = self.publish_and_fail(1, endpoints=2)
        # 2 attempts per message and endpoint, all answered 500.
        self.assertEqual(self.receiver.count(path), 12)
        self.assertEqual(self.receiver.count(other_path), 12)

        # The log's filters see the outage: newest first, across pages.
        everything = list(reversed(old + recent + late))
        self.assertEqual(self.message_ids({"status": "failed"}), everything)
        self.assertEqual(self.message_ids({"endpoint": ep, "status": "failed"}), everything)
        self.assertEqual(self.message_ids({"status": "succeeded"}), [])

        self.receiver.program(path, 200)
        self.receiver.program(other_path, 200)
        resp = self.recover(ep, {"since": fh.rfc3339_ms(since), "until": fh.rfc3339_ms(until)})
        self.assertEqual(resp.status, 202, resp.describe())
        self.assertEqual(resp.json, {"recovered": 3, "since": fh.rfc3339_ms(since), "until": fh.rfc3339_ms(until),
                                     "more": False})

        # Sent at once, each exactly once more, and only those.
        got = self.receiver.wait_for_requests(15, path, timeout=10)
        for msg in recent:
            delivery = self.api.wait_delivery_state(self.ws, msg, ["succeeded", "failed"], count=2)
            by_endpoint = {d["endpoint_id"]: d for d in delivery}
            self.assertEqual(by_endpoint[ep]["state"], "succeeded")
            self.assertEqual(by_endpoint[ep]["attempt_count"], 3)
            self.assertEqual(by_endpoint[other]["state"], "failed", "another endpoint was recovered")
            attempts = sorted((a for a in self.api.attempts(self.ws, msg) if a["endpoint_id"] == ep),
                              key=lambda a: a["attempt_number"])
            self.assertEqual([a["response_status"] for a in attempts], [500, 500, 200])
        time.sleep(0.3)
        got = self.receiver.received(path)
        self.assertEqual(len(got), 15)
        self.assertEqual(sorted(r.headers.get("webhook-id") for r in got[12:]), sorted(recent))
        self.assertEqual(self.receiver.count(other_path), 12)
        for msg in old + late:
            self.assertEqual(self.delivery_to(msg, ep)["state"], "failed", msg)

        # The log now tells them apart; pending ones are none.
        self.assertEqual(self.message_ids({"endpoint": ep, "status": "succeeded"}), list(reversed(recent)))
        self.assertEqual(self.message_ids({"endpoint": ep, "status": "failed"}, limit=1),
                         list(reversed(old + late)))
        self.assertEqual(self.message_ids({"endpoint": other}), everything)
        self.assertEqual(self.message_ids({"status": "pending"}), [])
        self.assertEqual(self.message_ids({"endpoint": ep, "status": "succeeded", "type": "recover.test",
                                           "since": str(since)}), list(reversed(recent)))

        # Nothing failed is left in that window; without `until` it runs up to now.
        again = self.recover(ep, {"since": fh.rfc3339_ms(since), "until": fh.rfc3339_ms(until)})
        self.assertEqual(again.status, 202, again.describe())
        self.assertEqual(again.json["recovered"], 0)
        rest = self.recover(ep, {"since": fh.rfc3339_ms(since)})
        self.assertEqual(rest.status, 202, rest.describe())
        self.assertEqual(rest.json["recovered"], 1)  # the late one
        self.api.wait_delivery_state(self.ws, late[0], ["succeeded", "failed"], count=2)
        fh.wait_for(lambda: self.delivery_to(late[0], ep)["state"] == "succeeded", timeout=10)
        self.assertGreaterEqual(fh.parse_rfc3339(rest.json["until"]).timestamp() * 1000, until)

    def test_workspace_keys_and_bad_requests(self):
        ep, _ = self.failing_endpoint("c")
        key = self.api.with_token(self.api.create_api_key(self.ws)["token"])
        since = fh.rfc3339_ms(fh.now_ms() - 3_600_000)
        resp = self.recover(ep, {"since": since}, api=key)
        self.assertEqual(resp.status, 202, resp.describe())
        self.assertEqual(resp.json["recovered"], 0)

        other_ws = self.api.create_workspace("someone else")["id"]
        other_key = self.api.with_token(self.api.create_api_key(other_ws)["token"])
        other_ep = self.api.create_endpoint(other_ws, self.receiver.url(f"/recover/{other_ws}/x"))["id"]
        # Another workspace's key, and another workspace's endpoint: missing.
        self.assertError(self.recover(ep, {"since": since}, api=other_key), 404, "not_found")
        self.assertError(self.recover(other_ep, {"since": since}, api=key), 404, "not_found")
        self.assertError(self.recover("ep_missing", {"since": since}), 404, "not_found", "endpoint")

        for body, mentions in (({}, "since"),
                               ({"since": 5}, "since"),
                               ({"since": "yesterday"}, "since"),
                               ({"since": since, "until": "soon"}, "until"),
                               ({"since": since, "until": since}, "until"),
                               ({"since": "2099-01-01T00:00:00Z"}, "until")):
            with self.subTest(body=body):
                self.assertError(self.recover(ep, body), 422, "unprocessable", mentions)
        self.assertError(self.api.post(f"{self.base}/endpoints/{ep}/recover", raw="{"), 400, "bad_request")
        self.assertError(self.recover(ep, [since]), 422, "unprocessable")

        # A disabled endpoint: enable it first.
        self.api.expect(self.api.patch(f"{self.base}/endpoints/{ep}", {"enabled": False}), 200)
        self.assertError(self.recover(ep, {"since": since}), 409, "conflict", "disabled")

        self.assertError(self.api.get(f"{self.base}/messages?status=lost"), 400, "bad_request", "status")
        self.assertEqual(self.message_ids({"endpoint": "ep_missing"}), [])


if __name__ == "__main__":
    import unittest
    unittest.main()
