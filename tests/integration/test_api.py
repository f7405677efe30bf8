"""The HTTP API: auth and isolation on every route of docs/api.md, CRUD with
cursor pagination, message listing filters, bad input, idempotency, batches."""

import json
import secrets
import time
import unittest
import urllib.parse

import ferry_harness as fh
from ferry_harness import FerryServer, FerryTestCase, Receiver

MAX_BODY = 65536
MAX_HEADER = 16384


def uid(prefix):
    return f"{prefix}_{secrets.token_hex(4)}"


class ApiTestBase(FerryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        cls.server = cls.start_class_server(name="api", time_factor=0.001,
                                            extra_args=["--max-body-bytes", str(MAX_BODY),
                                                        "--max-header-bytes", str(MAX_HEADER)])
        cls.api = cls.server.api()

    def assert_alive(self):
        self.assertTrue(self.api.healthy(), "server stopped answering GET /healthz")


class AuthTest(ApiTestBase):
    """Every route of docs/api.md with no token, a wrong token, another
    workspace's key and the workspace's own key."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        api = cls.api
        cls.A = api.create_workspace("A", ws_id=uid("wsa"))["id"]
        cls.B = api.create_workspace("B", ws_id=uid("wsb"))["id"]
        cls.keyA = api.create_api_key(cls.A, "a")["token"]
        cls.keyA_spare = api.create_api_key(cls.A, "spare")["id"]
        cls.keyB = api.create_api_key(cls.B, "b")["token"]
        cls.etype = "authz.ping"
        api.expect(api.post("/api/v1/event-types", {"name": cls.etype, "description": "ping",
                                                    "examples": [{"ping": 1}]}), 201)
        cls.epA = api.create_endpoint(cls.A, cls.receiver.url("/auth/a"))["id"]
        cls.msgA = api.publish(cls.A, "authz.ping", {"ping": 0})["id"]
        dls = fh.wait_for(lambda: api.deliveries(cls.A, cls.msgA), 10, message="delivery of msgA")
        cls.dlA = dls[0]["id"]
        api.wait_delivery_state(cls.A, cls.msgA, ["succeeded"], timeout=10)

    def routes(self):
        """(method, path, body, kind), kind one of
        'ws'       a workspace route: another workspace's key gets 404;
        'admin'    admin-only, outside any workspace: every key gets 403;
        'wsadmin'  admin-only, inside a workspace (API keys): the own key gets 403,
                   another workspace's key 403 or 404 (docs/api.md allows reading
                   both "admin-only routes answer 403" and "exactly as if the
                   workspace did not exist");
        'wsmanage' PATCH/DELETE of the workspace itself: another key gets 403 or
                   404; whether a key may rename its own workspace is unspecified;
        'global'   any valid token; 'list' GET /workspaces (a key sees its own)."""
        A, ep, msg, dl = self.A, self.epA, self.msgA, self.dlA
        w = f"/api/v1/workspaces/{A}"
        return [
            ("GET", "/api/v1/profiles", None, "global"),
            ("POST", "/api/v1/workspaces", {"name": "evil"}, "admin"),
            ("GET", "/api/v1/workspaces", None, "list"),
            ("GET", w, None, "ws"),
            ("PATCH", w, {"name": "hijacked"}, "wsmanage"),
            ("DELETE", w, None, "wsmanage"),
            ("POST", f"{w}/api-keys", {"name": "evil"}, "wsadmin"),
            ("GET", f"{w}/api-keys", None, "wsadmin"),
            ("DELETE", f"{w}/api-keys/{self.keyA_spare}", None, "wsadmin"),
            ("POST", f"{w}/endpoints", {"url": self.receiver.url("/auth/evil")}, "ws"),
            ("GET", f"{w}/endpoints", None, "ws"),
            ("GET", f"{w}/endpoints/{ep}", None, "ws"),
            ("PATCH", f"{w}/endpoints/{ep}", {"description": "hijacked"}, "ws"),
            ("DELETE", f"{w}/endpoints/{ep}", None, "ws"),
            ("GET", f"{w}/endpoints/{ep}/deliveries", None, "ws"),
            ("GET", f"{w}/endpoints/{ep}/attempts", None, "ws"),
            ("POST", f"{w}/endpoints/{ep}/test", {"type": self.etype}, "ws"),
            ("POST", f"{w}/messages", {"type": "authz.evil", "data": {}}, "ws"),
            ("POST", f"{w}/messages/batch", {"messages": [{"type": "authz.evil", "data": {}}]}, "ws"),
            ("GET", f"{w}/messages", None, "ws"),
            ("GET", f"{w}/messages/{msg}", None, "ws"),
            ("GET", f"{w}/messages/{msg}/deliveries", None, "ws"),
            ("GET", f"{w}/messages/{msg}/attempts", None, "ws"),
            ("GET", f"{w}/deliveries/{dl}", None, "ws"),
            ("GET", f"{w}/deliveries/{dl}/attempts", None, "ws"),
            ("POST", f"{w}/deliveries/{dl}/resend", None, "ws"),
            ("GET", "/api/v1/event-types", None, "global"),
            ("POST", "/api/v1/event-types", {"name": "authz.evil"}, "admin"),
            ("GET", f"/api/v1/event-types/{self.etype}", None, "global"),
        ]

    def assert_fixtures_intact(self):
        """Nothing a rejected request tried happened."""
        api = self.api
        ws = api.expect(api.get(f"/api/v1/workspaces/{self.A}"), 200)
        self.assertEqual(ws["name"], "A")
        ep = api.endpoint(self.A, self.epA)
        self.assertNotEqual(ep.get("description"), "hijacked")
        msgs = api.expect(api.get(f"/api/v1/workspaces/{self.A}/messages?type=authz.evil"), 200)
        self.assertEqual(msgs["data"], [], "a rejected request published a message")
        eps = api.expect(api.get(f"/api/v1/workspaces/{self.A}/endpoints?limit=100"), 200)
        self.assertNotIn(self.receiver.url("/auth/evil"), [e["url"] for e in eps["data"]])
        keys = api.expect(api.get(f"/api/v1/workspaces/{self.A}/api-keys"), 200)
        self.assertIn(self.keyA_spare, [k["id"] for k in keys["data"]])
        self.assertNotIn("evil", [k.get("name") for k in keys["data"]])
        self.assertEqual(api.get("/api/v1/event-types/authz.evil").status, 404)
        names = [w["name"] for w in api.list_all("/api/v1/workspaces", limit=100)[0]]
        self.assertNotIn("evil", names)

    def test_no_token_401(self):
        for method, path, body, _ in self.routes():
            with self.subTest(route=f"{method} {path}"):
                self.assertError(self.api.request(method, path, body, token=None), 401, "unauthorized")
        self.assert_fixtures_intact()

    def test_wrong_token_401(self):
        bad = "nope_" + secrets.token_hex(16)
        for method, path, body, _ in self.routes():
            with self.subTest(route=f"{method} {path}"):
                self.assertError(self.api.request(method, path, body, token=bad), 401, "unauthorized")
        for header in ("Basic YWRtaW46YWRtaW4=", f"Bearer{self.server.admin_token}", "Bearer ", ""):
            with self.subTest(authorization=header):
                resp = self.api.get(f"/api/v1/workspaces/{self.A}", token=None, headers={"Authorization": header})
                self.assertError(resp, 401, "unauthorized")
        self.assert_fixtures_intact()

    def test_other_workspace_key_404_or_403(self):
        other = self.api.with_token(self.keyB)
        for method, path, body, kind in self.routes():
            with self.subTest(route=f"{method} {path}", kind=kind):
                resp = other.request(method, path, body)
                if kind == "ws":
                    self.assertError(resp, 404, "not_found")
                elif kind == "admin":
                    self.assertError(resp, 403, "forbidden")
                elif kind in ("wsadmin", "wsmanage"):
                    self.assertIn(resp.status, (403, 404), resp.describe())
                    self.assertError(resp, resp.status, "forbidden" if resp.status == 403 else "not_found")
                elif kind == "list":
                    self.assertEqual(resp.status, 200, resp.describe())
                    self.assertEqual([w["id"] for w in resp.json["data"]], [self.B],
                                     "a key sees only its own workspace")
                else:  # global
                    self.assertEqual(resp.status, 200, resp.describe())
        self.assert_fixtures_intact()

    def test_own_key_works(self):
        own = self.api.with_token(self.keyA)
        before = self.receiver.count("/auth/a")
        for method, path, body, kind in self.routes():
            if method == "DELETE" and kind == "ws":
                continue  # checked below on a throwaway endpoint
            if kind == "wsmanage":
                continue  # whether a key may rename or delete its own workspace is unspecified
            with self.subTest(route=f"{method} {path}", kind=kind):
                if kind in ("admin", "wsadmin"):
                    self.assertError(own.request(method, path, body), 403, "forbidden")
                    continue
                if path.endswith("/endpoints") and method == "POST":
                    body = {"url": self.receiver.url("/auth/own")}
                if path.endswith("/messages") and method == "POST":
                    body = {"type": "authz.own", "data": {"k": 1}}
                if path.endswith("/batch"):
                    body = {"messages": [{"type": "authz.own", "data": {"k": 2}}]}
                if method == "PATCH":
                    body = {"description": "own key"}
                resp = own.request(method, path, body)
                self.assertIn(resp.status, (200, 201, 202), resp.describe())
                if kind == "list":
                    self.assertEqual([w["id"] for w in resp.json["data"]], [self.A])
        # DELETE an endpoint of its own workspace.
        tmp = own.create_endpoint(self.A, self.receiver.url("/auth/tmp"), filter_types=["never.sent"])
        resp = own.delete(f"/api/v1/workspaces/{self.A}/endpoints/{tmp['id']}")
        self.assertEqual(resp.status, 204, resp.describe())
        self.assertEqual(own.get(f"/api/v1/workspaces/{self.A}/endpoints/{tmp['id']}").status, 404)
        # /auth/a got the test event, the published message, the batch and the resend.
        got = self.receiver.wait_for_requests(before + 4, "/auth/a", timeout=10)[before:]
        bodies = [json.loads(r.body) for r in got]
        self.assertIn({"ping": 1}, [b.get("data") for b in bodies if b.get("type") == self.etype],
                      "the test event carries the event type's first example")
        self.assertIn(self.msgA, [r.headers.get("webhook-id") for r in got], "the resend")

    def test_api_key_lifecycle(self):
        ws = self.api.create_workspace("keys")["id"]
        created = self.api.create_api_key(ws, "ci")
        for f in ("id", "name", "prefix", "token", "created_at"):
            self.assertIn(f, created)
        self.assertEqual(created["name"], "ci")
        listed = self.api.expect(self.api.get(f"/api/v1/workspaces/{ws}/api-keys"), 200)["data"]
        self.assertEqual([k["id"] for k in listed], [created["id"]])
        self.assertNotIn("token", listed[0], "the token is shown only once")
        self.assertNotIn(created["token"], json.dumps(listed))
        key_api = self.api.with_token(created["token"])
        self.assertEqual(key_api.get(f"/api/v1/workspaces/{ws}").status, 200)
        resp = self.api.delete(f"/api/v1/workspaces/{ws}/api-keys/{created['id']}")
        self.assertEqual(resp.status, 204, resp.describe())
        self.assertError(key_api.get(f"/api/v1/workspaces/{ws}"), 401, "unauthorized")

    def test_public_routes(self):
        resp = self.api.get("/healthz", token=None)
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertEqual(resp.json, {"status": "ok"})
        resp = self.api.get("/metrics", token=None)
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertTrue(resp.headers.get("content-type", "").startswith("text/plain"), resp.headers)
        text = resp.body.decode()
        self.assertRegex(text, r"(?m)^# (TYPE|HELP) \w+", "not Prometheus text format")
        resp = self.api.get("/api/openapi.json", token=None)
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertIsInstance(resp.json, dict)
        self.assertIn("openapi", resp.json)
        self.assertIn("/api/v1/workspaces", resp.json.get("paths", {}))
        resp = self.api.get("/api/v1/profiles")
        self.assertIn("standard-webhooks", [p["name"] for p in resp.json["data"]])

    def test_unknown_route_and_wrong_method(self):
        self.assertError(self.api.get("/api/v1/no-such-thing"), 404, "not_found")
        self.assertError(self.api.get(f"/api/v1/workspaces/{self.A}/no-such-thing"), 404, "not_found")
        self.assertError(self.api.request("PUT", "/api/v1/workspaces", {"name": "x"}), 405, "method_not_allowed")
        self.assertError(self.api.delete("/api/v1/profiles"), 405, "method_not_allowed")
        self.assertError(self.api.request("PUT", f"/api/v1/workspaces/{self.A}/messages", {}), 405,
                         "method_not_allowed")
        self.assert_alive()


class CrudTest(ApiTestBase):
    def test_workspace_crud(self):
        api = self.api
        wid = uid("crud")
        ws = api.create_workspace("first", ws_id=wid)
        self.assertEqual(ws["id"], wid)
        self.assertEqual(ws["name"], "first")
        created = fh.parse_rfc3339(ws["created_at"])
        fh.parse_rfc3339(ws["updated_at"])
        self.assertEqual(api.expect(api.get(f"/api/v1/workspaces/{wid}"), 200), ws)

        gen = api.create_workspace("generated")
        self.assertTrue(gen["id"].startswith("ws_"), gen)
        org = api.create_workspace("org", ws_id="__org__")
        self.assertEqual(org["id"], "__org__")
        self.assertError(api.post("/api/v1/workspaces", {"id": wid, "name": "again"}), 409, "conflict")

        time.sleep(0.01)
        patched = api.expect(api.patch(f"/api/v1/workspaces/{wid}", {"name": "renamed"}), 200)
        self.assertEqual(patched["name"], "renamed")
        self.assertGreaterEqual(fh.parse_rfc3339(patched["updated_at"]), created)
        self.assertEqual(api.expect(api.get(f"/api/v1/workspaces/{wid}"), 200)["name"], "renamed")

        resp = api.delete(f"/api/v1/workspaces/{wid}")
        self.assertEqual(resp.status, 204, resp.describe())
        self.assertError(api.get(f"/api/v1/workspaces/{wid}"), 404, "not_found")
        self.assertNotIn(wid, [w["id"] for w in api.list_all("/api/v1/workspaces", limit=100)[0]])
        self.assertError(api.delete(f"/api/v1/workspaces/{wid}"), 404, "not_found")

    def test_workspace_pagination(self):
        api = self.api
        made = [api.create_workspace(f"page{i}", ws_id=uid(f"pg{i}"))["id"] for i in range(5)]
        items, pages = api.list_all("/api/v1/workspaces", limit=2)
        ids = [w["id"] for w in items]
        self.assertEqual(len(ids), len(set(ids)), f"duplicates across pages: {ids}")
        for m in made:
            self.assertIn(m, ids)
        self.assertGreaterEqual(pages, 3)
        everything = api.expect(api.get("/api/v1/workspaces?limit=100"), 200)
        self.assertEqual(sorted(ids), sorted(w["id"] for w in everything["data"]))

    def test_endpoint_crud_and_pagination(self):
        api = self.api
        ws = api.create_workspace("endpoints")["id"]
        full = api.create_endpoint(ws, self.receiver.url("/crud/full"), filter_types=["a.b", "c.*"],
                                   description="full", headers={"X-A": "1"}, rate_limit=5,
                                   profile="standard-webhooks")
        for f in ("id", "workspace_id", "url", "secret", "filter_types", "profile", "headers", "rate_limit",
                  "description", "enabled", "disabled_reason", "created_at", "updated_at"):
            self.assertIn(f, full)
        self.assertEqual(full["workspace_id"], ws)
        self.assertEqual(full["url"], self.receiver.url("/crud/full"))
        self.assertEqual(full["filter_types"], ["a.b", "c.*"])
        self.assertEqual(full["description"], "full")
        self.assertEqual({k.lower(): v for k, v in full["headers"].items()}, {"x-a": "1"})
        self.assertEqual(full["rate_limit"], 5)
        self.assertEqual(full["profile"], "standard-webhooks")
        self.assertIs(full["enabled"], True)
        got = api.endpoint(ws, full["id"])
        self.assertEqual(got, full)

        patched = api.expect(api.patch(f"/api/v1/workspaces/{ws}/endpoints/{full['id']}",
                                       {"description": "changed", "filter_types": ["*"], "enabled": False,
                                        "url": self.receiver.url("/crud/moved")}), 200)
        self.assertEqual(patched["description"], "changed")
        self.assertEqual(patched["filter_types"], ["*"])
        self.assertIs(patched["enabled"], False)
        self.assertEqual(patched["url"], self.receiver.url("/crud/moved"))
        self.assertEqual(patched["secret"], full["secret"], "PATCH without secret keeps it")
        self.assertEqual(api.endpoint(ws, full["id"]), patched)
        self.assertError(api.patch(f"/api/v1/workspaces/{ws}/endpoints/{full['id']}", {"url": "ftp://x/"}), 422,
                         "unprocessable", mentions="url")
        self.assertEqual(api.endpoint(ws, full["id"])["url"], self.receiver.url("/crud/moved"))

        made = [full["id"]] + [api.create_endpoint(ws, self.receiver.url(f"/crud/{i}"))["id"] for i in range(4)]
        items, pages = api.list_all(f"/api/v1/workspaces/{ws}/endpoints", limit=2)
        ids = [e["id"] for e in items]
        self.assertEqual(sorted(ids), sorted(made), "walking the pages returns each endpoint once")
        self.assertEqual(pages, 3)

        resp = api.delete(f"/api/v1/workspaces/{ws}/endpoints/{made[1]}")
        self.assertEqual(resp.status, 204, resp.describe())
        self.assertError(api.get(f"/api/v1/workspaces/{ws}/endpoints/{made[1]}"), 404, "not_found")
        items, _ = api.list_all(f"/api/v1/workspaces/{ws}/endpoints", limit=2)
        self.assertEqual(sorted(e["id"] for e in items), sorted(made[:1] + made[2:]))

    def test_list_messages_filters(self):
        api = self.api
        ws = api.create_workspace("listing")["id"]
        m1 = api.publish(ws, "a.one", {"n": 1})
        m2 = api.publish(ws, "b.two", {"n": 2})
        time.sleep(0.15)
        t_mid = fh.now_ms()
        time.sleep(0.15)
        m3 = api.publish(ws, "a.one", {"n": 3})
        m4 = api.publish(ws, "b.two", {"n": 4})
        m5 = api.publish(ws, "a.one", {"n": 5})
        for m in (m1, m5):
            self.assertEqual(m["deliveries"], 0)
            self.assertEqual(m["workspace_id"], ws)
            self.assertIs(m["test"], False)
        base = f"/api/v1/workspaces/{ws}/messages"

        def ids(query="", limit=2):
            items, _ = api.list_all(base + query, limit=limit)
            return [m["id"] for m in items]

        self.assertEqual(ids(), [m5["id"], m4["id"], m3["id"], m2["id"], m1["id"]], "newest first")
        self.assertEqual(ids("?type=a.one"), [m5["id"], m3["id"], m1["id"]])
        self.assertEqual(ids("?type=b.two"), [m4["id"], m2["id"]])
        self.assertEqual(ids("?type=c.none"), [])
        self.assertEqual(ids(f"?since={t_mid}"), [m5["id"], m4["id"], m3["id"]])
        self.assertEqual(ids(f"?until={t_mid}"), [m2["id"], m1["id"]])
        since = urllib.parse.quote(fh.rfc3339_ms(t_mid))
        self.assertEqual(ids(f"?since={since}"), [m5["id"], m4["id"], m3["id"]])
        self.assertEqual(ids(f"?until={since}"), [m2["id"], m1["id"]])
        self.assertEqual(ids(f"?type=a.one&since={t_mid}"), [m5["id"], m3["id"]])
        one = api.expect(api.get(f"{base}/{m3['id']}"), 200)
        self.assertEqual((one["id"], one["type"], one["data"], one["workspace_id"]), (m3["id"], "a.one", {"n": 3}, ws))
        fh.parse_rfc3339(one["created_at"])
        self.assertError(api.get(f"{base}?since=yesterday"), 400, "bad_request")
        self.assertError(api.get(f"{base}?limit=abc"), 400, "bad_request")
        self.assert_alive()


class BadInputTest(ApiTestBase):
    def setUp(self):
        super().setUp()
        self.ws = self.api.create_workspace("bad")["id"]
        self.ep = self.api.create_endpoint(self.ws, self.receiver.url("/bad/ep"),
                                           filter_types=["never.published"])["id"]

    def check(self, resp, status, code, mentions=None):
        self.assertError(resp, status, code, mentions)
        self.assert_alive()

    def msgs(self):
        return f"/api/v1/workspaces/{self.ws}/messages"

    def eps(self):
        return f"/api/v1/workspaces/{self.ws}/endpoints"

    def test_malformed_json_400(self):
        for raw in ('{"type": "a.b", "data": ', "{type: 'a.b'}", "not json at all", '{"type":"a.b","data":{}} trailing'):
            with self.subTest(raw=raw):
                self.check(self.api.post(self.msgs(), raw=raw), 400, "bad_request")
        self.check(self.api.post(self.eps(), raw='{"url": '), 400, "bad_request")
        self.check(self.api.post("/api/v1/workspaces", raw="{,}"), 400, "bad_request")

    def test_message_wrong_types_422(self):
        cases = [
            ({"type": 5, "data": {}}, "type"),
            ({"type": "a.b"}, "data"),
            ({"data": {}}, "type"),
            ({"type": "bad type", "data": {}}, "type"),
            ({"type": "a..b", "data": {}}, "type"),
            ({"type": "", "data": {}}, "type"),
            ({"type": "x" * 129, "data": {}}, "type"),
            ({"type": "a.b", "data": {}, "id": 7}, "id"),
        ]
        for body, field in cases:
            with self.subTest(body=json.dumps(body)[:80]):
                self.check(self.api.post(self.msgs(), body), 422, "unprocessable", mentions=field)
        ok = self.api.post(self.msgs(), {"type": "x" * 128, "data": None})
        self.assertEqual(ok.status, 202, f"128-character type and null data are valid: {ok.describe()}")
        resp = self.api.post(self.msgs(), raw="[]")
        self.assertIn(resp.status, (400, 422), resp.describe())
        self.check(resp, resp.status, resp.json["error"]["code"] if resp.json else None)

    def test_endpoint_wrong_types_422(self):
        url = self.receiver.url("/bad/x")
        cases = [
            ({"filter_types": ["a.b"]}, "url"),
            ({"url": 5}, "url"),
            ({"url": url, "filter_types": "a.b"}, "filter_types"),
            ({"url": url, "filter_types": [5]}, "filter_types"),
            ({"url": url, "secret": "nope"}, "secret"),
            ({"url": url, "secret": "whsec_" + "QUFBQUFBQUE="}, "secret"),  # 8 bytes: too short
            ({"url": url, "headers": {"X-A": 5}}, "headers"),
            ({"url": url, "headers": ["X-A"]}, "headers"),
            ({"url": url, "rate_limit": 0}, "rate_limit"),
            ({"url": url, "rate_limit": "fast"}, "rate_limit"),
            ({"url": url, "profile": "no-such-profile"}, "profile"),
            ({"url": url, "enabled": "yes"}, "enabled"),
        ]
        for body, field in cases:
            with self.subTest(body=json.dumps(body)[:100]):
                self.check(self.api.post(self.eps(), body), 422, "unprocessable", mentions=field)
        self.check(self.api.post("/api/v1/workspaces", {"id": "bad id!", "name": "x"}), 422, "unprocessable", "id")
        self.check(self.api.post("/api/v1/workspaces", {"id": "x" * 65, "name": "x"}), 422, "unprocessable", "id")
        self.check(self.api.post("/api/v1/workspaces", {"name": 5}), 422, "unprocessable", "name")
        self.check(self.api.post("/api/v1/workspaces", {}), 422, "unprocessable", "name")
        # None of those endpoints was stored.
        items, _ = self.api.list_all(self.eps(), limit=100)
        self.assertEqual([e["id"] for e in items], [self.ep])

    def test_bad_urls_422(self):
        for url in ("ftp://example.com/hook", "http://", "not a url", "http:///nohost", "https://",
                    "javascript:alert(1)", "", "//example.com/x", "http://exa mple.com/"):
            with self.subTest(url=url):
                self.check(self.api.post(self.eps(), {"url": url}), 422, "unprocessable", mentions="url")

    def test_refused_target_literals_422(self):
        """Server --allow-targets is 127.0.0.0/8 only. Nothing is ever published in
        this workspace, so even a wrongly accepted endpoint is never contacted."""
        ws = self.api.create_workspace("targets-never-published")["id"]
        base = f"/api/v1/workspaces/{ws}/endpoints"
        for url in ("http://10.0.0.1/", "http://192.168.1.10/hook", "http://172.16.0.1:8080/",
                    "http://169.254.169.254/latest/meta-data", "http://[::1]:8080/", "http://[fd00::1]/",
                    "http://[fe80::1]/", "http://[::ffff:10.0.0.1]/"):
            with self.subTest(url=url):
                resp = self.api.post(base, {"url": url, "filter_types": ["never.published"]})
                if resp.status == 201:  # never leave it there
                    self.api.delete(f"{base}/{resp.json['id']}")
                self.check(resp, 422, "unprocessable", mentions="url")
        # Covered by --allow-targets: accepted.
        ok = self.api.post(base, {"url": "http://127.0.0.5:9/x", "filter_types": ["never.published"]})
        self.assertEqual(ok.status, 201, ok.describe())

    def test_oversized_body_413(self):
        data = "x" * (MAX_BODY + 1000)
        body = json.dumps({"type": "a.b", "data": data}).encode()
        head = (f"POST {self.msgs()} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.server.admin_token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        status, raw = fh.raw_http(self.server.port, head + body)
        self.assertEqual(status, 413, f"oversized body answered {raw[:300]!r}")
        self.assertIn(b"payload_too_large", raw)
        self.assert_alive()
        listed = self.api.expect(self.api.get(f"{self.msgs()}?type=a.b"), 200)
        self.assertFalse(any(isinstance(m.get("data"), str) and len(m["data"]) > MAX_BODY for m in listed["data"]))
        # Just under the limit is accepted.
        small = json.dumps({"type": "a.b", "data": "y" * (MAX_BODY - 200)})
        self.assertEqual(self.api.post(self.msgs(), raw=small).status, 202)

    def test_headers_too_large_431(self):
        head = (f"GET /api/v1/workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.server.admin_token}\r\n"
                f"X-Filler: {'f' * (MAX_HEADER + 2000)}\r\nConnection: close\r\n\r\n").encode()
        status, raw = fh.raw_http(self.server.port, head)
        self.assertEqual(status, 431, f"oversized headers answered {raw[:300]!r}")
        self.assert_alive()

    def test_too_many_header_fields_431(self):
        fields = "".join(f"X-F{i}: v\r\n" for i in range(101))
        head = (f"GET /api/v1/workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.server.admin_token}"
                f"\r\n{fields}Connection: close\r\n\r\n").encode()
        self.assertLess(len(head), MAX_HEADER, "the fields alone must be under the byte limit")
        status, raw = fh.raw_http(self.server.port, head)
        self.assertEqual(status, 431, f"101 header fields answered {raw[:300]!r}")
        self.assertIn(b"header fields", raw)
        self.assert_alive()
        # 90 fields (and the usual few) are fine.
        fields = "".join(f"X-F{i}: v\r\n" for i in range(90))
        head = (f"GET /api/v1/workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.server.admin_token}"
                f"\r\n{fields}Connection: close\r\n\r\n").encode()
        self.assertEqual(fh.raw_http(self.server.port, head)[0], 200)

    def test_json_nested_too_deep_422(self):
        # Stored and fanned out, a payload 30,000 levels deep would crash
        # receivers whose JSON parsers recurse; 64 levels are allowed.
        def deep(n):
            return "[" * n + "]" * n
        for n in (65, 30_000):  # 60 KB: under this server's body limit
            with self.subTest(depth=n):
                self.check(self.api.post(self.msgs(), raw='{"type":"deep.one","data":' + deep(n) + "}"),
                           422, "unprocessable", mentions="nested deeper than 64")
                self.check(self.api.post(f"{self.msgs()}/batch",
                                         raw='{"messages":[{"type":"deep.one","data":' + deep(n) + "}]}"),
                           422, "unprocessable", mentions="nested deeper than 64")
                self.check(self.api.post(self.eps(), raw='{"url":"https://example.com/x","headers":' + deep(n) + "}"),
                           422, "unprocessable", mentions="nested deeper than 64")
        listed = self.api.expect(self.api.get(f"{self.msgs()}?type=deep.one"), 200)
        self.assertEqual(listed["data"], [], "a refused message was stored")
        # The payload's own 63 levels inside the body's object make 64.
        ok = self.api.post(self.msgs(), raw='{"type":"deep.ok","data":' + deep(63) + "}")
        self.assertEqual(ok.status, 202, ok.describe())
        # Brackets inside strings are not nesting.
        ok = self.api.post(self.msgs(), raw=json.dumps({"type": "deep.ok", "data": {"s": "[" * 1000}}))
        self.assertEqual(ok.status, 202, ok.describe())

    def test_body_judged_by_content_not_content_type(self):
        # `curl -d` labels JSON as a form; the body decides, not the label.
        resp = self.api.post(self.msgs(), raw='{"type":"a.b","data":{}}',
                             content_type="application/x-www-form-urlencoded")
        self.assertEqual(resp.status, 202, resp.describe())
        resp = self.api.post(self.msgs(), raw='type=a.b&data=1', content_type="application/x-www-form-urlencoded")
        self.check(resp, 400, "bad_request")

    def test_unknown_ids_404(self):
        w = f"/api/v1/workspaces/{self.ws}"
        for method, path in [
            ("GET", "/api/v1/workspaces/no_such_ws"),
            ("GET", "/api/v1/workspaces/no_such_ws/endpoints"),
            ("POST", "/api/v1/workspaces/no_such_ws/messages"),
            ("GET", f"{w}/endpoints/ep_nope"),
            ("PATCH", f"{w}/endpoints/ep_nope"),
            ("DELETE", f"{w}/endpoints/ep_nope"),
            ("GET", f"{w}/endpoints/ep_nope/deliveries"),
            ("GET", f"{w}/messages/msg_nope"),
            ("GET", f"{w}/messages/msg_nope/attempts"),
            ("GET", f"{w}/messages/msg_nope/deliveries"),
            ("GET", f"{w}/deliveries/dlv_nope"),
            ("GET", f"{w}/deliveries/dlv_nope/attempts"),
            ("POST", f"{w}/deliveries/dlv_nope/resend"),
            ("GET", "/api/v1/event-types/no.such.type"),
        ]:
            body = {"type": "a.b", "data": {}} if path.endswith("/messages") else (
                {"description": "x"} if method == "PATCH" else None)
            with self.subTest(route=f"{method} {path}"):
                self.check(self.api.request(method, path, body), 404, "not_found")


class RateLimitTest(FerryTestCase):
    """--api-rate-limit: each workspace API key gets its own budget of requests
    per second; beyond it, 429 with Retry-After, and nothing done."""

    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_class_server(name="ratelimit", extra_args=["--api-rate-limit", "5"])
        cls.api = cls.server.api()
        cls.ws = cls.api.create_workspace("limited")["id"]
        cls.key = cls.api.create_api_key(cls.ws, "busy")["token"]
        cls.other = cls.api.create_api_key(cls.ws, "quiet")["token"]

    def test_key_over_its_rate_gets_429_with_retry_after(self):
        msgs = f"/api/v1/workspaces/{self.ws}/messages"
        answers = [self.api.post(msgs, {"type": "rate.tick", "data": {"i": i}}, token=self.key) for i in range(12)]
        accepted = [a for a in answers if a.status == 202]
        refused = [a for a in answers if a.status == 429]
        self.assertEqual(len(accepted) + len(refused), len(answers), [a.describe() for a in answers])
        self.assertGreaterEqual(len(accepted), 5, "the first second's worth must go through")
        self.assertLessEqual(len(accepted), 7, "far more than 5 requests/s were let through")
        self.assertGreaterEqual(len(refused), 5)
        for answer in refused:
            self.assertError(answer, 429, "rate_limited")
            self.assertGreaterEqual(int(answer.headers["retry-after"]), 1, answer.headers)
        # Refused publishes stored nothing.
        listed = self.api.expect(self.api.get(f"{msgs}?type=rate.tick&limit=100"), 200)
        self.assertEqual(len(listed["data"]), len(accepted))
        # Another key of the same workspace and the admin token are not held back.
        self.assertEqual(self.api.get(msgs, token=self.other).status, 200)
        for _ in range(20):
            self.assertEqual(self.api.get(msgs).status, 200)
        # After Retry-After the key works again.
        time.sleep(int(refused[-1].headers["retry-after"]))
        self.assertEqual(self.api.get(msgs, token=self.key).status, 200)
        metrics = self.api.get("/metrics", token=None).body.decode()
        self.assertRegex(metrics, r"ferry_http_requests_rate_limited_total [1-9]")


class IdempotencyBatchTest(ApiTestBase):
    def setUp(self):
        super().setUp()
        self.path = "/idem/" + self.id().rsplit(".", 1)[-1]
        self.ws = self.api.create_workspace("idem")["id"]
        self.api.create_endpoint(self.ws, self.receiver.url(self.path))

    def test_same_idempotency_key(self):
        key = "key-" + secrets.token_hex(8)
        first = self.api.publish(self.ws, "order.paid", {"v": 1}, idempotency_key=key)
        second = self.api.publish(self.ws, "order.paid", {"v": 2}, idempotency_key=key)
        self.assertIs(first["duplicate"], False)
        self.assertIs(second["duplicate"], True)
        self.assertEqual(first["id"], second["id"])
        self.receiver.wait_for_requests(1, self.path, timeout=10)
        time.sleep(1.0)
        self.assertEqual(self.receiver.webhook_ids(self.path), [first["id"]], "delivered once")
        stored = self.api.expect(self.api.get(f"/api/v1/workspaces/{self.ws}/messages/{first['id']}"), 200)
        self.assertEqual(stored["data"], {"v": 1}, "the first message is kept")
        listed = self.api.expect(self.api.get(f"/api/v1/workspaces/{self.ws}/messages"), 200)["data"]
        self.assertEqual([m["id"] for m in listed], [first["id"]])
        other = self.api.publish(self.ws, "order.paid", {"v": 3}, idempotency_key=key + "-other")
        self.assertNotEqual(other["id"], first["id"])
        self.assertIs(other["duplicate"], False)

    def test_same_message_id(self):
        mid = uid("evt")
        first = self.api.publish(self.ws, "order.paid", {"v": 1}, msg_id=mid)
        second = self.api.publish(self.ws, "order.paid", {"v": 1}, msg_id=mid)
        self.assertEqual(first["id"], mid)
        self.assertEqual(second["id"], mid)
        self.assertIs(first["duplicate"], False)
        self.assertIs(second["duplicate"], True)
        self.receiver.wait_for_requests(1, self.path, timeout=10)
        time.sleep(1.0)
        self.assertEqual(self.receiver.webhook_ids(self.path), [mid])

    def test_batch(self):
        items = [{"type": "batch.item", "data": {"i": i}} for i in range(3)]
        resp = self.api.post(f"/api/v1/workspaces/{self.ws}/messages/batch", {"messages": items})
        data = self.api.expect(resp, 202)["data"]
        self.assertEqual(len(data), 3)
        ids = [m["id"] for m in data]
        self.assertEqual(len(set(ids)), 3)
        self.assertEqual([m["data"] for m in data], [{"i": 0}, {"i": 1}, {"i": 2}], "answers in order")
        self.assertEqual([m["deliveries"] for m in data], [1, 1, 1])
        self.receiver.wait_for_requests(3, self.path, timeout=10)
        time.sleep(0.3)
        self.assertEqual(sorted(self.receiver.webhook_ids(self.path)), sorted(ids))
        for mid in ids:
            self.assertEqual(len(self.api.deliveries(self.ws, mid)), 1)

    def test_batch_all_or_nothing(self):
        items = [{"type": "batch.ok", "data": {"i": 0}}, {"type": 5, "data": {"i": 1}},
                 {"type": "batch.ok", "data": {"i": 2}}]
        resp = self.api.post(f"/api/v1/workspaces/{self.ws}/messages/batch", {"messages": items})
        self.assertError(resp, 422, "unprocessable", mentions="1")
        items[1] = {"type": "batch.ok"}  # data missing
        resp = self.api.post(f"/api/v1/workspaces/{self.ws}/messages/batch", {"messages": items})
        self.assertError(resp, 422, "unprocessable", mentions="1")
        self.assert_alive()
        listed = self.api.expect(self.api.get(f"/api/v1/workspaces/{self.ws}/messages"), 200)["data"]
        self.assertEqual(listed, [], "a rejected batch stored messages")
        time.sleep(0.5)
        self.assertEqual(self.receiver.count(self.path), 0, "a rejected batch delivered messages")
        too_many = {"messages": [{"type": "batch.ok", "data": {}} for _ in range(1001)]}
        self.assertError(self.api.post(f"/api/v1/workspaces/{self.ws}/messages/batch", too_many), 422)


if __name__ == "__main__":
    unittest.main()
