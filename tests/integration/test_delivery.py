"""End-to-end delivery: envelope, signature, custom headers, filters, attempts.

Also checks the pure-Python verifier against the Standard Webhooks spec example
and cross-checks Ferry's signatures with the official JavaScript library."""

import base64
import json
import os
import time
import unittest

import ferry_harness as fh
from ferry_harness import FerryServer, FerryTestCase, Receiver

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = "1614265330"
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

# Data with unusual spacing and number forms; Ferry must pass it on byte for byte.
# 12345678901234567890 fits no int64 and no double exactly (it fits a uint64).
RAW_DATA = ('{ "amount" :  1.50e+2 , "big": 12345678901234567890, "neg": -0.0,\n'
            '  "list":[1,2.0 , 3E-2,  -7],"s":"caf\\u00e9 \\"q\\" \u2713 \\n", '
            '"nested": {"a" : [ ] , "b":{}} , "nil":null,"t":true }')
RAW_BODY = '{"type" :"invoice.paid" ,\n "data" : ' + RAW_DATA + ' }'


class VerifierSpecTest(unittest.TestCase):
    """The harness's own verifier (no server needed)."""

    def spec_headers(self, sig=SPEC_SIG):
        return {"webhook-id": SPEC_ID, "webhook-timestamp": SPEC_TS, "webhook-signature": sig}

    def test_spec_example_signs(self):
        self.assertEqual(fh.sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY), SPEC_SIG)

    def test_spec_example_verifies(self):
        fh.verify(SPEC_SECRET, self.spec_headers(), SPEC_BODY.encode(), now=int(SPEC_TS) + 10)

    def test_spec_example_among_several_signatures(self):
        other = fh.sign(fh.new_secret(), SPEC_ID, SPEC_TS, SPEC_BODY)
        fh.verify(SPEC_SECRET, self.spec_headers(f"{other} v2,abc {SPEC_SIG}"), SPEC_BODY,
                  now=int(SPEC_TS))

    def test_rejects_tampering(self):
        now = int(SPEC_TS)
        with self.assertRaises(fh.VerificationError):
            fh.verify(SPEC_SECRET, self.spec_headers(), '{"test": 2432232315}', now=now)
        with self.assertRaises(fh.VerificationError):
            fh.verify(fh.new_secret(), self.spec_headers(), SPEC_BODY, now=now)
        with self.assertRaises(fh.VerificationError):
            fh.verify(SPEC_SECRET, dict(self.spec_headers(), **{"webhook-id": "msg_other"}), SPEC_BODY, now=now)
        with self.assertRaises(fh.VerificationError):  # right signature, wrong version tag
            fh.verify(SPEC_SECRET, self.spec_headers("v2," + SPEC_SIG[3:]), SPEC_BODY, now=now)
        with self.assertRaises(fh.VerificationError):  # too old
            fh.verify(SPEC_SECRET, self.spec_headers(), SPEC_BODY, now=now + 301)
        with self.assertRaises(fh.VerificationError):  # too new
            fh.verify(SPEC_SECRET, self.spec_headers(), SPEC_BODY, now=now - 301)
        with self.assertRaises(fh.VerificationError):
            fh.verify(SPEC_SECRET, {"webhook-id": SPEC_ID, "webhook-timestamp": SPEC_TS}, SPEC_BODY, now=now)

    def test_node_library_agrees_with_python(self):
        """verify.mjs (official library) accepts what the Python signer makes and rejects a forgery."""
        fh.require_node(self)
        secret = fh.new_secret()
        ts = str(int(time.time()))
        body = b'{"type":"x.y","timestamp":"2026-01-01T00:00:00.000Z","data":{"k":[1,2]}}'
        headers = {"webhook-id": "msg_node_check", "webhook-timestamp": ts,
                   "webhook-signature": fh.sign(secret, "msg_node_check", ts, body)}
        ok, out = fh.node_verify(secret, headers, body)
        self.assertTrue(ok, out)
        ok, out = fh.node_verify(fh.new_secret(), headers, body)
        self.assertFalse(ok, f"a wrong secret verified: {out}")


class DeliveryTest(FerryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        cls.server = cls.start_class_server(name="delivery")
        cls.api = cls.server.api()

    def setUp(self):
        super().setUp()
        # One workspace per test: publishes reach only this test's endpoints.
        self.ws = self.api.create_workspace(self.id().rsplit(".", 1)[-1])["id"]

    def assert_envelope(self, rec, type_, expected_data):
        """The body is {"type","timestamp","data"} and data equals expected_data."""
        try:
            env = json.loads(rec.body)
        except ValueError as exc:
            self.fail(f"body is not valid JSON ({exc}): {rec.body[:300]!r}")
        self.assertIsInstance(env, dict)
        self.assertEqual(set(env), {"type", "timestamp", "data"}, f"envelope keys: {rec.body[:300]!r}")
        self.assertEqual(env["type"], type_)
        ts = fh.parse_rfc3339(env["timestamp"])
        self.assertLess(abs(ts.timestamp() - time.time()), 120, f"envelope timestamp {env['timestamp']}")
        self.assertEqual(env["data"], expected_data)
        return env

    def assert_signed(self, rec, secret, msg_id):
        self.assertEqual(rec.headers.get("webhook-id"), msg_id)
        ts = rec.headers.get("webhook-timestamp", "")
        self.assertRegex(ts, r"^\d+$", "webhook-timestamp is not unix seconds")
        self.assertLess(abs(int(ts) - time.time()), 60, "webhook-timestamp is not the attempt's time")
        sig = rec.headers.get("webhook-signature", "")
        self.assertRegex(sig, r"^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$")
        try:
            fh.verify(secret, rec.headers, rec.body)
        except fh.VerificationError as exc:
            self.fail(f"signature does not verify: {exc}")

    def test_single_delivery_envelope_signature_headers(self):
        path = "/basic"
        ep = self.api.create_endpoint(self.ws, self.receiver.url(path),
                                      headers={"X-Custom-One": "alpha", "x-tenant": "t-42"})
        self.assertTrue(ep["secret"].startswith("whsec_"), ep)
        key = fh.secret_key(ep["secret"])
        self.assertTrue(24 <= len(key) <= 64, f"generated secret has {len(key)} bytes")

        msg = self.api.publish(self.ws, "invoice.paid", raw=RAW_BODY)
        self.assertEqual(msg.get("deliveries"), 1, msg)
        self.assertIs(msg.get("duplicate"), False, msg)

        got = self.receiver.wait_for_requests(1, path, timeout=10)
        time.sleep(0.5)  # a second (duplicate) request would arrive by now
        got = self.receiver.received(path)
        self.assertEqual(len(got), 1, "exactly one request expected")
        rec = got[0]
        self.assertEqual(rec.method, "POST")
        self.assertTrue(rec.headers.get("content-type", "").startswith("application/json"), rec.headers)
        self.assertTrue(rec.headers.get("user-agent", "").startswith("Ferry/"), rec.headers.get("user-agent"))
        self.assertEqual(rec.headers.get("x-custom-one"), "alpha")
        self.assertEqual(rec.headers.get("x-tenant"), "t-42")
        self.assert_envelope(rec, "invoice.paid", json.loads(RAW_DATA))
        self.assert_signed(rec, ep["secret"], msg["id"])

        # The stored message keeps the same data.
        stored = self.api.expect(self.api.get(f"/api/v1/workspaces/{self.ws}/messages/{msg['id']}"), 200)
        self.assertEqual(stored["data"], json.loads(RAW_DATA))
        self.assertEqual(stored["type"], "invoice.paid")

    def test_data_bytes_kept_verbatim(self):
        """`data` is forwarded byte for byte (docs/api.md: "kept byte for byte")."""
        path = "/verbatim"
        self.api.create_endpoint(self.ws, self.receiver.url(path), filter_types=["verbatim.check"])
        raw = '{"type":"verbatim.check","data":' + RAW_DATA + "}"
        self.api.publish(self.ws, "verbatim.check", raw=raw)
        rec = self.receiver.wait_for_requests(1, path, timeout=10)[0]
        self.assertIn(RAW_DATA.encode("utf-8"), rec.body,
                      f"data was re-serialised instead of kept verbatim: {rec.body[:400]!r}")

    def test_number_beyond_64_bits_accepted(self):
        """`data` is any JSON value (RFC 8259 puts no limit on a number's size)."""
        path = "/bignum"
        self.api.create_endpoint(self.ws, self.receiver.url(path))
        data = '{"big": 123456789012345678901234567890, "neg": -98765432109876543210987}'
        resp = self.api.post(f"/api/v1/workspaces/{self.ws}/messages", raw='{"type":"num.big","data":' + data + "}")
        self.assertEqual(resp.status, 202, f"valid JSON rejected: {resp.describe()}")
        rec = self.receiver.wait_for_requests(1, path, timeout=10)[0]
        self.assertIn(data.encode(), rec.body)

    def test_attempt_recorded_and_delivery_succeeded(self):
        path = "/attempts"
        ep = self.api.create_endpoint(self.ws, self.receiver.url(path), filter_types=["attempt.check"])
        msg = self.api.publish(self.ws, "attempt.check", {"n": 1})
        self.receiver.wait_for_requests(1, path, timeout=10)
        dl = self.api.wait_delivery_state(self.ws, msg["id"], ["succeeded"], timeout=10)[0]
        self.assertEqual(dl["endpoint_id"], ep["id"])
        self.assertEqual(dl["message_id"], msg["id"])
        self.assertEqual(dl["attempt_count"], 1)
        self.assertIsNone(dl["next_attempt_at"])

        attempts = self.api.attempts(self.ws, msg["id"])
        self.assertEqual(len(attempts), 1, attempts)
        a = attempts[0]
        self.assertEqual(a["response_status"], 200)
        self.assertEqual(a["attempt_number"], 1)
        self.assertEqual(a["delivery_id"], dl["id"])
        self.assertEqual(a["endpoint_id"], ep["id"])
        self.assertEqual(a["url"], self.receiver.url(path))
        self.assertIsInstance(a["latency_ms"], (int, float))
        self.assertGreaterEqual(a["latency_ms"], 0)
        self.assertLess(a["latency_ms"], 10000)
        self.assertIn(a.get("error"), (None, ""), a)
        fh.parse_rfc3339(a["started_at"])
        self.assertIsInstance(a["request_headers"], dict)
        self.assertTrue(all(k == k.lower() for k in a["request_headers"]), a["request_headers"])
        self.assertEqual(a["request_headers"].get("webhook-id"), msg["id"])
        # Secrets never appear in attempts.
        self.assertNotIn(ep["secret"], json.dumps(attempts))
        self.assertNotIn(ep["secret"][6:], json.dumps(attempts))
        # The same attempt through the delivery and endpoint routes.
        by_dl = self.api.expect(self.api.get(f"/api/v1/workspaces/{self.ws}/deliveries/{dl['id']}/attempts"), 200)
        self.assertEqual([x["id"] for x in by_dl["data"]], [a["id"]])
        by_ep = self.api.expect(self.api.get(f"/api/v1/workspaces/{self.ws}/endpoints/{ep['id']}/attempts"), 200)
        self.assertEqual([x["id"] for x in by_ep["data"]], [a["id"]])
        single = self.api.expect(self.api.get(f"/api/v1/workspaces/{self.ws}/deliveries/{dl['id']}"), 200)
        self.assertEqual(single["state"], "succeeded")

    def test_endpoint_with_own_secret(self):
        path = "/own-secret"
        secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
        ep = self.api.create_endpoint(self.ws, self.receiver.url(path), secret=secret,
                                      filter_types=["secret.check"])
        self.assertEqual(ep["secret"], secret)
        msg = self.api.publish(self.ws, "secret.check", {"hello": "world"})
        rec = self.receiver.wait_for_requests(1, path, timeout=10)[0]
        self.assert_signed(rec, secret, msg["id"])
        with self.assertRaises(fh.VerificationError):
            fh.verify(fh.new_secret(), rec.headers, rec.body)

    def test_filter_matching(self):
        ws = self.api.create_workspace("filters")["id"]
        eps = {
            "/f/exact": ["invoice.paid"],
            "/f/group": ["invoice.*"],
            "/f/star": ["*"],
            "/f/empty": [],
            "/f/absent": None,
            "/f/other": ["user.created"],
            "/f/other-group": ["user.*"],
            "/f/multi": ["user.created", "invoice.*"],
        }
        for path, ft in eps.items():
            if ft is None:
                self.api.create_endpoint(ws, self.receiver.url(path))
            else:
                self.api.create_endpoint(ws, self.receiver.url(path), filter_types=ft)
        matching = ["/f/exact", "/f/group", "/f/star", "/f/empty", "/f/absent", "/f/multi"]
        msg = self.api.publish(ws, "invoice.paid", {"i": 1})
        self.assertEqual(msg.get("deliveries"), len(matching), msg)
        for path in matching:
            self.receiver.wait_for_requests(1, path, timeout=10)
        # "invoices.created" is not in group "invoice": only the catch-alls get it.
        msg2 = self.api.publish(ws, "invoices.created", {"i": 2})
        self.assertEqual(msg2.get("deliveries"), 3, msg2)
        for path in ("/f/star", "/f/empty", "/f/absent"):
            self.receiver.wait_for_requests(2, path, timeout=10)
        time.sleep(0.5)
        for path in ("/f/other", "/f/other-group"):
            self.assertEqual(self.receiver.count(path), 0, f"{path} must receive nothing")
        for path in ("/f/exact", "/f/group", "/f/multi"):
            self.assertEqual(self.receiver.webhook_ids(path), [msg["id"]], path)
        for path in ("/f/star", "/f/empty", "/f/absent"):
            self.assertEqual(sorted(self.receiver.webhook_ids(path)), sorted([msg["id"], msg2["id"]]), path)

    def test_cross_check_with_official_library(self):
        """Requests Ferry sent verify with the `standardwebhooks` npm package."""
        fh.require_node(self)
        path_gen, path_own = "/node/generated", "/node/own"
        ep_gen = self.api.create_endpoint(self.ws, self.receiver.url(path_gen), filter_types=["node.check"])
        own = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        self.api.create_endpoint(self.ws, self.receiver.url(path_own), filter_types=["node.check"], secret=own)
        self.api.publish(self.ws, "node.check", raw='{"type":"node.check","data":' + RAW_DATA + "}")
        for path, secret in ((path_gen, ep_gen["secret"]), (path_own, own)):
            rec = self.receiver.wait_for_requests(1, path, timeout=10)[0]
            ok, out = fh.node_verify(secret, rec.headers, rec.body)
            self.assertTrue(ok, f"official Standard Webhooks library rejected {path}: {out}")
            ok, out = fh.node_verify(fh.new_secret(), rec.headers, rec.body)
            self.assertFalse(ok, f"verified with a wrong secret: {out}")


if __name__ == "__main__":
    unittest.main()
