"""SSRF guard of a server started WITHOUT --allow-targets: every address a
webhook must not reach is refused with its reason, literally at endpoint
creation and by name when connecting, and nothing is ever sent there; a
redirect towards one is never followed."""

import socket
import threading
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

    def test_every_refused_address_spelling_at_creation(self):
        """One row per address class and spelling: refused at creation (422,
        the reason in the message); the receiver on loopback never hears of it."""
        port = self.receiver.port
        table = [
            (f"http://127.0.0.1:{port}/", "loopback"),
            (f"http://127.9.9.9:{port}/", "loopback"),
            (f"http://0.0.0.0:{port}/", "this network"),
            (f"http://[::1]:{port}/", "loopback"),
            (f"http://[::]:{port}/", "unspecified"),
            ("http://169.254.169.254/latest/meta-data/", "link-local"),
            ("http://10.0.0.1/", "private"),
            ("http://10.255.255.254:8443/x", "private"),
            ("http://172.16.0.1/", "private"),
            ("http://172.31.255.255/", "private"),
            ("http://192.168.0.1/", "private"),
            ("http://192.168.255.255/", "private"),
            ("http://100.64.0.1/", "shared"),
            ("http://100.127.255.254/", "shared"),
            ("http://[fc00::1]/", "unique-local"),
            ("http://[fd12:3456::1]/", "unique-local"),
            ("http://[fe80::1]/", "link-local"),
            (f"http://[::ffff:127.0.0.1]:{port}/", "loopback"),  # IPv4-mapped IPv6
            ("http://[::ffff:10.0.0.1]/", "private"),
            ("http://[::ffff:a9fe:a9fe]/", "link-local"),
            (f"http://2130706433:{port}/", "loopback"),  # decimal 127.0.0.1
            (f"http://0177.0.0.1:{port}/", "loopback"),  # octal
            (f"http://0x7f.1:{port}/", "loopback"),  # hexadecimal, short form
            ("http://0xa9fea9fe/", "link-local"),  # 169.254.169.254
            ("http://167772161/", "private"),  # decimal 10.0.0.1
            ("http://012.0.0.1/", "private"),  # octal 10.0.0.1
        ]
        base = f"/api/v1/workspaces/{self.ws}/endpoints"
        for url, reason in table:
            with self.subTest(url=url):
                resp = self.api.post(base, {"url": url, "filter_types": ["never.published"]})
                if resp.status == 201:  # never leave it there
                    self.api.delete(f"{base}/{resp.json['id']}")
                self.assertError(resp, 422, "unprocessable", mentions=reason)
        time.sleep(0.2)
        self.assertEqual(self.receiver.count(), 0, "a refused address was contacted")
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



class CountingListener:
    """A TCP listener that only counts the connections made to it."""

    def __init__(self, host):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


class RedirectTargetsTest(FerryTestCase):
    """Only 127.0.0.1 is allowed. A receiver there redirects towards refused
    addresses: the redirect is recorded as the endpoint's answer (a failure,
    retried per the schedule) and never followed."""

    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        cls.server = cls.start_class_server(name="redirects", allow_targets="127.0.0.1/32", time_factor=1.0,
                                            extra_args=["--retry-schedule", "0s,50ms,50ms"])
        cls.api = cls.server.api()
        cls.ws = cls.api.create_workspace("redirects")["id"]

    def test_redirects_to_refused_addresses_are_not_followed(self):
        refused = CountingListener("127.0.0.2")  # loopback, but outside --allow-targets
        self.addCleanup(refused.close)
        cases = [
            ("/redir/loopback", 302, f"http://127.0.0.2:{refused.port}/stolen"),
            ("/redir/metadata", 307, "http://169.254.169.254/latest/meta-data/"),
            ("/redir/private", 301, "http://10.0.0.1/internal"),
            ("/redir/by-name", 308, f"http://localhost:{refused.port}/stolen"),
        ]
        for path, status, location in cases:
            self.receiver.program(path, fh.Reply(status=status, headers={"Location": location}))
            self.api.create_endpoint(self.ws, self.receiver.url(path), filter_types=[f"redirect.{status}"])
        messages = {path: self.api.publish(self.ws, f"redirect.{status}", {"to": location})["id"]
                    for path, status, location in cases}
        for path, status, location in cases:
            with self.subTest(path=path):
                mid = messages[path]
                delivery = self.api.wait_delivery_state(self.ws, mid, ["failed"], timeout=15)[0]
                self.assertEqual(delivery["attempt_count"], 3)
                attempts = self.api.attempts(self.ws, mid)
                self.assertEqual(len(attempts), 3)
                for attempt in attempts:
                    self.assertEqual(attempt["response_status"], status, attempt)
                    self.assertEqual(attempt["response_headers"].get("location"), location, attempt)
                self.assertEqual(self.receiver.count(path), 3)
        self.assertEqual(refused.accepted, 0, "a redirect was followed to a refused address")
        self.assertEqual(len(self.receiver.received()), 3 * len(cases), "a redirect was followed back to the receiver")

if __name__ == "__main__":
    unittest.main()
