"""SSRF guard of a server started WITHOUT --allow-targets: loopback is refused,
literally at endpoint creation and by name when connecting."""

import time
import unittest

import ferry_harness as fh
from ferry_harness import FerryTestCase


class TargetsTest(FerryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        cls.server = cls.start_class_server(name="targets", allow_targets=None, time_factor=0.001)
        cls.api = cls.server.api()
        cls.ws = cls.api.create_workspace("targets")["id"]

    def test_loopback_literal_rejected_at_creation(self):
        base = f"/api/v1/workspaces/{self.ws}/endpoints"
        port = self.receiver.port
        for url in (f"http://127.0.0.1:{port}/", f"http://127.1.2.3:{port}/x", f"http://[::1]:{port}/",
                    f"http://0.0.0.0:{port}/", f"http://[::ffff:127.0.0.1]:{port}/"):
            with self.subTest(url=url):
                resp = self.api.post(base, {"url": url, "filter_types": ["never.published"]})
                if resp.status == 201:
                    self.api.delete(f"{base}/{resp.json['id']}")
                self.assertError(resp, 422, "unprocessable", mentions="url")
        self.assertTrue(self.api.healthy())

    def test_name_resolving_to_loopback_refused_when_connecting(self):
        path = "/targets/by-name"
        url = f"http://localhost:{self.receiver.port}{path}"
        ep = self.api.create_endpoint(self.ws, url, filter_types=["target.check"])
        self.assertEqual(ep["url"], url)
        msg = self.api.publish(self.ws, "target.check", {"x": 1})
        self.assertEqual(msg["deliveries"], 1)
        attempts = self.api.wait_attempts(self.ws, msg["id"], 1, timeout=10)
        first = sorted(attempts, key=lambda a: a["attempt_number"])[0]
        self.assertIsNone(first["response_status"], first)
        self.assertEqual(first["error"], "refused_target", first)
        time.sleep(0.5)
        self.assertEqual(self.receiver.count(path), 0, "the receiver on loopback was contacted")
        self.assertEqual(self.receiver.count(), 0)
        # Stop the retries.
        self.api.expect(self.api.patch(f"/api/v1/workspaces/{self.ws}/endpoints/{ep['id']}",
                                       {"enabled": False}), 200)


if __name__ == "__main__":
    unittest.main()
