"""Ferry serving the five seed products exactly as their webhook references promise.

One real `ferry serve` loads every catalog under catalogs/. For each product, a
workspace uses its catalog (and so its wire profile); every event type the
product's reference lists is published with its catalog example, and the request
the receiver got is checked against what the reference documents: the envelope's
fields and their types, the header names, the type name on the wire, and a
signature verified here, independently of Ferry's code.

The expectations below are written from the references, not read from the
catalogs: a catalog that dropped a type or a profile that renamed a field fails
here.

With FERRY_CAPTURE_DIR set, one captured request per product is written there
(docs/profiles.md shows them).
"""
import hashlib
import hmac
import json
import os
import re
import subprocess
import tempfile
import time
import unittest
import uuid

import ferry_harness as fh
from ferry_harness import FerryTestCase

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CATALOG_DIR = os.path.join(REPO, "catalogs")
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# Every event type each reference lists, by its name on the wire (shared with
# tests/catalogs/check_catalogs.py).
with open(os.path.join(REPO, "tests", "catalogs", "reference_types.json"), encoding="utf-8") as reference_file:
    REFERENCE_TYPES = json.load(reference_file)

# A brand's UUID: the customer-engagement reference scopes payloads to one.
BRAND_ID = str(uuid.uuid4())


def hex_hmac(secret: str, body: bytes) -> str:
    """HMAC-SHA256 of the raw body, hex, keyed with the secret as the customer sees it."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def node_verify(secret: str, headers: dict, body: bytes) -> subprocess.CompletedProcess:
    """Standard Webhooks verification by the official npm library."""
    tool = os.path.join(os.environ.get("NODE_TOOLS_DIR", os.path.join(REPO, "tests", "node")), "verify.mjs")
    payload = json.dumps({"secret": secret, "headers": headers, "body": body.decode()})
    return subprocess.run(["node", tool], input=payload.encode(), capture_output=True, timeout=60)


class SeedProductsTest(FerryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        catalogs = sorted(os.path.join(CATALOG_DIR, name) for name in os.listdir(CATALOG_DIR)
                          if name.endswith(".json"))
        args = []
        for path in catalogs:
            args += ["--catalog", path]
        cls.server = cls.start_class_server(name="seeds", extra_args=args)
        cls.api = cls.server.api()
        cls.captured = {}

    # -- helpers

    def product_workspace(self, catalog: str, ws_id=None) -> str:
        ws = self.api.expect(self.api.post("/api/v1/workspaces",
                                           {"name": catalog, "catalog": catalog,
                                            **({"id": ws_id} if ws_id else {})}), 201)
        self.assertEqual(ws["catalog"], catalog)
        self.assertEqual(ws["profile"], catalog, "a catalog brings its product's wire profile")
        return ws["id"]

    def catalog_types(self, catalog: str) -> dict:
        listed = self.api.expect(self.api.get(f"/api/v1/event-types?catalog={catalog}"), 200)["data"]
        return {t["name"]: t for t in listed}

    def publish_every_type(self, catalog: str, ws: str, path: str, endpoint: dict):
        """Publishes each reference type with its catalog example; returns
        {type: (message, recorded request)}."""
        types = self.catalog_types(catalog)
        self.assertEqual(sorted(types), sorted(REFERENCE_TYPES[catalog]),
                         f"{catalog}: the catalog's types are not the reference's")
        published = {}
        for name in REFERENCE_TYPES[catalog]:
            published[name] = self.api.publish(ws, name, self.example(types, name, ws))
            self.assertEqual(published[name]["deliveries"], 1, published[name])
        requests = self.receiver.wait_for_requests(len(published), path, timeout=30)
        by_type = {}
        for rec in requests:
            by_type.setdefault(self.wire_type(catalog, rec), rec)
        self.assertEqual(sorted(by_type), sorted(published), f"{catalog}: types received")
        for name, msg in published.items():
            self.assertEqual(self.example(types, name, ws), self.payload_of(catalog, by_type[name], endpoint),
                             f"{catalog} {name}: the payload arrived changed")
        self.capture(catalog, by_type[REFERENCE_TYPES[catalog][0]])
        return {name: (published[name], by_type[name]) for name in published}

    @staticmethod
    def example(types: dict, name: str, ws: str):
        """The type's first example, scoped to `ws` where payloads name their workspace."""
        example = types[name]["examples"][0]
        if isinstance(example, dict) and "workspace_id" in example:
            example = dict(example, workspace_id=ws)
        return example

    def wire_type(self, catalog: str, rec) -> str:
        body = rec.json
        return body["event"] if catalog in ("heyoo", "pocketsflow") else body["type"]

    def payload_of(self, catalog: str, rec, endpoint: dict):
        body = rec.json
        if catalog == "pocketsflow":
            return {k: v for k, v in body.items()
                    if k not in ("webhookId", "event", "timestamp", "testMode", "livemode")}
        return body["data"]

    def capture(self, catalog: str, rec):
        out = os.environ.get("FERRY_CAPTURE_DIR")
        if not out:
            return
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"{catalog}.http"), "w") as f:
            f.write(f"POST {rec.path} HTTP/1.1\n")
            for name, value in rec.header_list:
                f.write(f"{name}: {value}\n")
            f.write("\n")
            f.write(rec.body.decode() + "\n")

    def assert_standard_webhooks(self, endpoint: dict, rec, wire_id: str):
        h = rec.headers
        self.assertEqual(h.get("content-type"), "application/json")
        self.assertEqual(h.get("webhook-id"), wire_id, "webhook-id carries the event id of the body")
        fh.verify(endpoint["secret"], h, rec.body)

    # -- the five products

    def test_pocketflows(self):
        ws = self.product_workspace("pocketflows")
        path = "/seed/pocketflows"
        ep = self.api.create_endpoint(ws, self.receiver.url(path))
        sent = self.publish_every_type("pocketflows", ws, path, ep)
        for name, (msg, rec) in sent.items():
            body = rec.json
            self.assertEqual(list(body), ["id", "type", "data"], f"{name}: envelope")
            self.assertRegex(body["id"], r"^pe_[0-9A-Z]{26}$", "the event id is prefixed pe_")
            self.assertEqual(body["type"], name)
            self.assertIsInstance(body["data"], dict)
            self.assert_standard_webhooks(ep, rec, body["id"])
        # The official Standard Webhooks library accepts it too.
        _, rec = sent["campaign.updated"]
        verified = node_verify(ep["secret"], rec.headers, rec.body)
        self.assertEqual(verified.returncode, 0, verified.stdout + verified.stderr)

    def test_heyoo(self):
        ws = self.product_workspace("heyoo")
        path = "/seed/heyoo"
        ep = self.api.create_endpoint(ws, self.receiver.url(path))
        sent = self.publish_every_type("heyoo", ws, path, ep)
        for name, (msg, rec) in sent.items():
            body = rec.json
            self.assertEqual(list(body), ["id", "event", "timestamp", "data"], f"{name}: envelope")
            self.assertRegex(body["id"], r"^evt_[0-9A-Z]{26}$")
            self.assertEqual(body["event"], name)
            self.assertRegex(body["timestamp"], ISO_MS, "ISO 8601 timestamp when the event was created")
            self.assertEqual(body["timestamp"], msg["created_at"])
            self.assert_standard_webhooks(ep, rec, body["id"])

    def test_customer_engagement(self):
        ws = self.product_workspace("customer-engagement", ws_id=BRAND_ID)
        path = "/seed/engagement"
        ep = self.api.create_endpoint(ws, self.receiver.url(path))
        sent = self.publish_every_type("customer-engagement", ws, path, ep)
        for name, (msg, rec) in sent.items():
            body = rec.json
            self.assertEqual(list(body), ["type", "timestamp", "data"], f"{name}: envelope")
            self.assertEqual(body["type"], name)
            self.assertEqual(body["data"]["workspace_id"], BRAND_ID, f"{name}: every payload is workspace-scoped")
            self.assert_standard_webhooks(ep, rec, msg["id"])
            # Delivery events are PASSIVE, on the message as on the type.
            self.assertEqual(msg["passive"], name.startswith("delivery."), name)
        types = self.catalog_types("customer-engagement")
        self.assertTrue(all(t["passive"] == n.startswith("delivery.") for n, t in types.items()))

    def test_customer_engagement_internal_names_wildcards_and_org(self):
        ws = self.product_workspace("customer-engagement", ws_id=str(uuid.uuid4()))
        deliveries_path, contacts_path = "/seed/engagement/delivery-only", "/seed/engagement/contacts"
        self.api.create_endpoint(ws, self.receiver.url(deliveries_path), filter_types=["delivery.*"])
        self.api.create_endpoint(ws, self.receiver.url(contacts_path), filter_types=["contact.created"])
        # The internal bus name and its per-channel dotted variant go out flattened.
        bus = self.api.publish(ws, "channel_delivery_status.whatsapp",
                               {"status": "delivered", "message_id": "msg_1", "campaign_id": "camp_1",
                                "contact_id": "cont_1", "delivered_at": "2026-05-22T10:00:00Z"})
        self.assertEqual(bus["type"], "delivery.delivered")
        self.assertTrue(bus["passive"])
        plain = self.api.publish(ws, "channel_delivery_status",
                                 {"status": "read", "message_id": "msg_2", "contact_id": "cont_1",
                                  "channel": "rcs", "read_at": "2026-05-22T10:01:00Z"})
        self.assertEqual(plain["type"], "delivery.read")
        self.api.publish(ws, "contact.created", {"contact_id": "cont_9", "email": "a@example.com", "phone": None,
                                                 "source": "sdk"})
        got = self.receiver.wait_for_requests(2, deliveries_path, timeout=15)
        self.assertEqual(sorted(r.json["type"] for r in got), ["delivery.delivered", "delivery.read"])
        first = next(r.json for r in got if r.json["type"] == "delivery.delivered")
        self.assertEqual(first["data"]["channel"], "whatsapp", "the variant names the channel")
        self.assertEqual(first["data"]["workspace_id"], ws)
        contacts = self.receiver.wait_for_requests(1, contacts_path, timeout=15)
        self.assertEqual(contacts[0].json["type"], "contact.created")
        time.sleep(0.3)
        self.assertEqual(self.receiver.count(deliveries_path), 2, "delivery.* took a contact event")

        # An unknown status has no outbound type; a payload naming another workspace is refused.
        r = self.api.post(f"/api/v1/workspaces/{ws}/messages",
                          {"type": "channel_delivery_status", "data": {"status": "teleported", "message_id": "m",
                                                                       "contact_id": "c", "channel": "sms"}})
        self.assertEqual(r.status, 422, r.describe())
        self.assertEqual(r.json["error"]["code"], "unknown_event_type")
        r = self.api.post(f"/api/v1/workspaces/{ws}/messages",
                          {"type": "billing.plan_changed", "data": {"workspace_id": BRAND_ID, "old_plan": "a",
                                                                    "new_plan": "b",
                                                                    "effective_at": "2026-06-01T00:00:00Z"}})
        self.assertEqual(r.status, 422, r.describe())
        self.assertEqual(r.json["error"]["path"], "/workspace_id")

        # The __org__ workspace is a workspace like any other, and its payloads say so.
        org = self.product_workspace("customer-engagement", ws_id="__org__")
        org_path = "/seed/engagement/org"
        self.api.create_endpoint(org, self.receiver.url(org_path))
        low = self.catalog_types("customer-engagement")["billing.credit_low"]["examples"][-1]
        self.assertEqual(low["workspace_id"], "__org__")
        self.api.publish(org, "billing.credit_low", {k: v for k, v in low.items() if k != "workspace_id"})
        rec = self.receiver.wait_for_requests(1, org_path, timeout=15)[0]
        self.assertEqual(rec.json["data"]["workspace_id"], "__org__")

    def test_pocketsflow(self):
        ws = self.product_workspace("pocketsflow")
        path = "/seed/pocketsflow"
        ep = self.api.create_endpoint(ws, self.receiver.url(path))
        before = fh.now_ms()
        sent = self.publish_every_type("pocketsflow", ws, path, ep)
        for name, (msg, rec) in sent.items():
            body = rec.json
            self.assertEqual(list(body)[:5], ["webhookId", "event", "timestamp", "testMode", "livemode"],
                             f"{name}: the common payload fields come first, the objects flat beside them")
            self.assertEqual(body["webhookId"], ep["id"], "ID of the webhook configuration")
            self.assertEqual(body["event"], name)
            self.assertIsInstance(body["timestamp"], int, "Unix timestamp (milliseconds)")
            self.assertTrue(before - 1000 <= body["timestamp"] <= fh.now_ms() + 1000, body["timestamp"])
            self.assertIs(body["testMode"], False)
            self.assertIs(body["livemode"], True)
            h = rec.headers
            self.assertEqual(h.get("x-pocketsflow-event"), name)
            self.assertEqual(h.get("x-pocketsflow-timestamp"), str(body["timestamp"]))
            self.assertEqual(h.get("x-pocketsflow-signature"), hex_hmac(ep["secret"], rec.body),
                             "HMAC SHA256 signature of the raw body")
        # Payload bytes go out as published: the reference's 60.00 stays 60.00.
        raw_path = "/seed/pocketsflow/raw"
        raw_ep = self.api.create_endpoint(ws, self.receiver.url(raw_path), filter_types=["order.refunded"])
        raw = ('{"type":"order.refunded","data":{"order":{"id":"order_xyz123"},"refund":{"id":"refund_abc456",'
               '"amount":60.00,"reason":"requested_by_customer","status":"succeeded"},'
               '"customer":{"email":"customer@example.com"},"product":{"id":"prod_456def"}}}')
        self.api.expect(self.api.post(f"/api/v1/workspaces/{ws}/messages", raw=raw), 202)
        rec = self.receiver.wait_for_requests(1, raw_path, timeout=15)[0]
        self.assertIn(b'"refund":{"id":"refund_abc456","amount":60.00,', rec.body)
        self.assertEqual(rec.headers.get("x-pocketsflow-signature"), hex_hmac(raw_ep["secret"], rec.body))

        # Send Test Event: any catalog type, its example, marked as a test.
        test_path = "/seed/pocketsflow/test"
        test_ep = self.api.create_endpoint(ws, self.receiver.url(test_path), filter_types=["nothing.matches"])
        answer = self.api.expect(self.api.post(f"/api/v1/workspaces/{ws}/endpoints/{test_ep['id']}/test",
                                               {"type": "review.created"}), 202)
        self.assertTrue(answer["message"]["test"])
        rec = self.receiver.wait_for_requests(1, test_path, timeout=15)[0]
        body = rec.json
        self.assertEqual(body["event"], "review.created")
        self.assertIs(body["testMode"], True)
        self.assertIs(body["livemode"], False)
        self.assertEqual(body["webhookId"], test_ep["id"])
        self.assertEqual(rec.headers.get("x-pocketsflow-signature"), hex_hmac(test_ep["secret"], rec.body))

    def test_penguinmails(self):
        ws = self.product_workspace("penguinmails")
        path = "/seed/penguinmails"
        ep = self.api.create_endpoint(ws, self.receiver.url(path))
        sent = self.publish_every_type("penguinmails", ws, path, ep)
        for name, (msg, rec) in sent.items():
            body = rec.json
            self.assertEqual(list(body), ["id", "type", "created_at", "data"], f"{name}: envelope")
            self.assertRegex(body["id"], r"^evt_[0-9A-Z]{26}$")
            self.assertEqual(body["type"], name)
            self.assertRegex(body["created_at"], ISO_MS)
            h = rec.headers
            self.assertEqual(h.get("content-type"), "application/json")
            self.assertEqual(h.get("user-agent"), "PenguinMails-Webhooks/1.0")
            self.assertEqual(h.get("x-penguinmails-event"), name)
            delivery = self.api.deliveries(ws, msg["id"])[0]
            self.assertEqual(h.get("x-penguinmails-delivery-id"), delivery["id"], "unique delivery ID")
            self.assertEqual(h.get("x-penguinmails-signature"), hex_hmac(ep["secret"], rec.body))

    # -- what goes wrong, said clearly

    def test_unknown_types_and_schema_violations_get_clear_errors(self):
        ws = self.product_workspace("penguinmails")
        r = self.api.post(f"/api/v1/workspaces/{ws}/messages", {"type": "email.teleported", "data": {}})
        self.assertEqual(r.status, 422, r.describe())
        self.assertEqual(r.json["error"]["code"], "unknown_event_type")
        self.assertIn("email.teleported", r.json["error"]["message"])
        bounced = self.catalog_types("penguinmails")["email.bounced"]["examples"][0]
        wrong = dict(bounced, bounce_type="medium")
        r = self.api.post(f"/api/v1/workspaces/{ws}/messages", {"type": "email.bounced", "data": wrong})
        self.assertEqual(r.status, 422, r.describe())
        self.assertEqual(r.json["error"]["code"], "schema_violation")
        self.assertEqual(r.json["error"]["path"], "/bounce_type")
        missing = {k: v for k, v in bounced.items() if k != "bounce_type"}
        r = self.api.post(f"/api/v1/workspaces/{ws}/messages/batch",
                          {"messages": [{"type": "email.bounced", "data": bounced},
                                        {"type": "email.bounced", "data": missing}]})
        self.assertEqual(r.status, 422, r.describe())
        self.assertTrue(r.json["error"]["message"].startswith("messages[1]: "), r.json)
        # Nothing of a refused batch was stored.
        self.assertEqual(self.api.expect(self.api.get(f"/api/v1/workspaces/{ws}/messages"), 200)["data"], [])

        # Validation is switchable per workspace (admin only).
        self.api.expect(self.api.patch(f"/api/v1/workspaces/{ws}", {"validate_payloads": False}), 200)
        accepted = self.api.publish(ws, "email.bounced", wrong)
        self.assertEqual(accepted["type"], "email.bounced")
        # ...but an unknown type stays unknown.
        r = self.api.post(f"/api/v1/workspaces/{ws}/messages", {"type": "email.teleported", "data": {}})
        self.assertEqual(r.status, 422)

        # An archived type is refused; unarchiving brings it back.
        self.api.expect(self.api.delete("/api/v1/event-types/email.sent?catalog=penguinmails"), 200)
        sent_example = self.catalog_types("penguinmails").get("email.sent")
        self.assertIsNone(sent_example, "archived types are not listed by default")
        r = self.api.post(f"/api/v1/workspaces/{ws}/messages", {"type": "email.sent", "data": {}})
        self.assertEqual(r.json["error"]["code"], "unknown_event_type", r.describe())
        self.api.expect(self.api.post("/api/v1/event-types/email.sent/unarchive?catalog=penguinmails"), 200)
        self.assertIn("email.sent", self.catalog_types("penguinmails"))

    def test_broken_catalogs_are_refused_with_the_place_named(self):
        with open(os.path.join(CATALOG_DIR, "heyoo.json"), encoding="utf-8") as catalog_file:
            good = json.load(catalog_file)
        broken = json.loads(json.dumps(good))
        broken["catalog"] = "heyoo-broken"
        broken["event_types"][1]["examples"][0] = {"not": "matching"}
        r = self.api.post("/api/v1/catalogs", raw=json.dumps(broken))
        self.assertEqual(r.status, 422, r.describe())
        self.assertIn("event_types[1]", r.json["error"]["message"])
        self.assertIn("examples[0]", r.json["error"]["message"])
        typo = json.loads(json.dumps(good))
        typo["catalog"] = "heyoo-typo"
        typo["event_typez"] = typo.pop("event_types")
        r = self.api.post("/api/v1/catalogs", raw=json.dumps(typo))
        self.assertEqual(r.status, 422, r.describe())
        self.assertIn("event_typez", r.json["error"]["message"])
        r = self.api.post("/api/v1/catalogs", raw="{not json")
        self.assertIn(r.status, (400, 422), r.describe())
        self.assertEqual(self.api.get("/api/v1/catalogs/heyoo-broken").status, 404, "a refused catalog is not kept")
        # A good one loads through the API and is used at once.
        renamed = json.loads(json.dumps(good))
        renamed["catalog"] = "heyoo-copy"
        loaded = self.api.expect(self.api.post("/api/v1/catalogs", raw=json.dumps(renamed)), 201)
        self.assertEqual(loaded["types_loaded"], 5)
        self.assertEqual(len(self.catalog_types("heyoo-copy")), 5)

        # The server refuses to start on a broken catalog file, naming it.
        path = os.path.join(self.server.workdir, "broken.json")
        with open(path, "w") as f:
            json.dump(broken, f)
        proc = subprocess.run([fh.require_ferry_bin(), "serve", "--listen", "127.0.0.1:0", "--data-dir",
                               os.path.join(self.server.workdir, "never"), "--catalog", path],
                              capture_output=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"broken.json", proc.stderr)
        self.assertIn(b"examples[0]", proc.stderr)

    def test_catalog_command_line(self):
        ferry = fh.require_ferry_bin()
        for name in REFERENCE_TYPES:
            proc = subprocess.run([ferry, "catalog", "validate", os.path.join(CATALOG_DIR, f"{name}.json")],
                                  capture_output=True, timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertIn(f"{len(REFERENCE_TYPES[name])} event types".encode(), proc.stdout)
        listed = subprocess.run([ferry, "catalog", "list", "--catalog", CATALOG_DIR, "--json"],
                                capture_output=True, timeout=60)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertEqual(len(json.loads(listed.stdout)), sum(len(v) for v in REFERENCE_TYPES.values()))
        shown = subprocess.run([ferry, "catalog", "show", "order.completed", "--catalog",
                                os.path.join(CATALOG_DIR, "pocketsflow.json")], capture_output=True, timeout=60)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertEqual(json.loads(shown.stdout)["name"], "order.completed")
        missing = subprocess.run([ferry, "catalog", "show", "no.such.type", "--catalog", CATALOG_DIR],
                                 capture_output=True, timeout=60)
        self.assertEqual(missing.returncode, 2)
        bad = os.path.join(self.server.workdir, "bad.json")
        with open(bad, "w") as f:
            f.write('{"catalog": "x", "event_types": [{"name": "a.b", "examples": [1], "schema": {"type": "object"}}]}')
        proc = subprocess.run([ferry, "catalog", "validate", bad], capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"examples[0]", proc.stderr)


class CustomProfileTest(FerryTestCase):
    """A profile from a file (Stripe-style signature), chosen per workspace and
    overridden per endpoint; test mode per message and per workspace."""

    PROFILE = {
        "name": "acme",
        "envelope": {"layout": "nested", "id_prefix": "evt_", "timestamp_format": "epoch_s",
                     "fields": [{"name": "id", "value": "id"}, {"name": "object", "value": "constant",
                                                                "constant": "event"},
                                {"name": "type", "value": "type"}, {"name": "created", "value": "timestamp"},
                                {"name": "livemode", "value": "live_mode"}, {"name": "data", "value": "data"}]},
        "headers": {"Acme-Delivery": "{delivery_id}"},
        "user_agent": "Acme-Webhooks/2.0",
        "signature": {"scheme": "stripe", "header": "Acme-Signature"},
    }

    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        cls.profile_dir = tempfile.mkdtemp(prefix="ferry-profile-")
        path = os.path.join(cls.profile_dir, "acme.json")
        with open(path, "w") as f:
            json.dump(cls.PROFILE, f)
        cls.server = cls.start_class_server(name="profiles", extra_args=["--profile-file", path])
        cls.api = cls.server.api()

    def stripe_verify(self, secret: str, header: str, body: bytes):
        parts = dict(p.split("=", 1) for p in header.split(",") if not p.startswith("v1="))
        signatures = [p[3:] for p in header.split(",") if p.startswith("v1=")]
        expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        self.assertIn(expected, signatures, "no v1 signature matches")
        self.assertLess(abs(time.time() - int(parts["t"])), 300)

    def test_custom_profile_per_workspace_and_endpoint_and_test_modes(self):
        listed = self.api.expect(self.api.get("/api/v1/profiles"), 200)["data"]
        self.assertEqual([p["name"] for p in listed][-1], "acme")
        ws = self.api.expect(self.api.post("/api/v1/workspaces", {"name": "acme", "profile": "acme"}), 201)["id"]
        path, std_path = "/profiles/acme", "/profiles/standard"
        ep = self.api.create_endpoint(ws, self.receiver.url(path))
        std = self.api.create_endpoint(ws, self.receiver.url(std_path), profile="standard-webhooks")
        self.assertIsNone(ep["profile"], "follows the workspace's")
        msg = self.api.publish(ws, None, raw='{"type":"invoice.paid","data":{"amount": 1.50}}')
        rec = self.receiver.wait_for_requests(1, path, timeout=15)[0]
        body = rec.json
        self.assertEqual(list(body), ["id", "object", "type", "created", "livemode", "data"])
        self.assertEqual(body["object"], "event")
        self.assertIsInstance(body["created"], int)
        self.assertIs(body["livemode"], True)
        self.assertIn(b'"data":{"amount": 1.50}', rec.body)
        self.assertEqual(rec.headers.get("user-agent"), "Acme-Webhooks/2.0")
        own = next(d["id"] for d in self.api.deliveries(ws, msg["id"]) if d["endpoint_id"] == ep["id"])
        self.assertEqual(rec.headers.get("acme-delivery"), own)
        self.stripe_verify(ep["secret"], rec.headers["acme-signature"], rec.body)
        # The endpoint that names its own profile keeps it.
        std_rec = self.receiver.wait_for_requests(1, std_path, timeout=15)[0]
        fh.verify(std["secret"], std_rec.headers, std_rec.body)
        self.assertEqual(std_rec.json["type"], "invoice.paid")

        # A rotated secret: the header carries one v1 per secret, and either verifies.
        old_secret = ep["secret"]
        rotated = self.api.expect(self.api.post(f"/api/v1/workspaces/{ws}/endpoints/{ep['id']}/secret/rotate", {}),
                                  200)
        self.api.publish(ws, "invoice.paid", {"amount": 2})
        rec = self.receiver.wait_for_requests(2, path, timeout=15)[1]
        self.assertEqual(rec.headers["acme-signature"].count("v1="), 2)
        self.stripe_verify(old_secret, rec.headers["acme-signature"], rec.body)
        self.stripe_verify(rotated["secret"], rec.headers["acme-signature"], rec.body)

        # A message marked as a test, then a whole workspace in test mode.
        test_msg = self.api.expect(self.api.post(f"/api/v1/workspaces/{ws}/messages",
                                                 {"type": "invoice.paid", "data": {}, "test": True}), 202)
        self.assertTrue(test_msg["test"])
        rec = self.receiver.wait_for_requests(3, path, timeout=15)[2]
        self.assertIs(rec.json["livemode"], False)
        self.api.expect(self.api.patch(f"/api/v1/workspaces/{ws}", {"test_mode": True}), 200)
        sandboxed = self.api.publish(ws, "invoice.paid", {})
        self.assertTrue(sandboxed["test"])
        # Only the admin changes what a workspace accepts.
        key = self.api.create_api_key(ws)
        r = self.api.with_token(key["token"]).patch(f"/api/v1/workspaces/{ws}", {"test_mode": False})
        self.assertEqual(r.status, 403, r.describe())

    def test_broken_profile_files_stop_the_server_with_the_field_named(self):
        bad = dict(self.PROFILE, signature={"scheme": "stripe"})
        path = os.path.join(self.profile_dir, "bad.json")
        with open(path, "w") as f:
            json.dump(bad, f)
        proc = subprocess.run([fh.require_ferry_bin(), "serve", "--listen", "127.0.0.1:0", "--data-dir",
                               os.path.join(self.profile_dir, "never"), "--profile-file", path],
                              capture_output=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"bad.json", proc.stderr)
        self.assertIn(b"signature", proc.stderr)
        r = self.api.post("/api/v1/workspaces", {"name": "x", "profile": "no-such-profile"})
        self.assertEqual(r.status, 422, r.describe())


if __name__ == "__main__":
    unittest.main()
