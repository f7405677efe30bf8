"""Customer-portal links: a workspace key (or the admin token) mints a signed,
expiring token for its own workspace; with it a workspace's customer can
manage that workspace's endpoints, read its messages, deliveries and
attempts (with the log's filters), send test events, resend and recover
failed deliveries, read the catalog, and nothing else:
another workspace looks missing (404), every other route answers 403, and an
expired, altered or revoked token 401. (The portal pages that use these
routes are part of the dashboard.)"""

import time

import ferry_harness as fh
from ferry_harness import FerryTestCase


class PortalLinkTest(FerryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        cls.server = cls.start_class_server(name="portal", time_factor=0.001)
        cls.api = cls.server.api()
        # Registering a type turns catalog checks on for workspaces without a
        # catalog, so every type this test publishes is registered.
        for name in ("portal.ping", "portal.forged"):
            cls.api.expect(cls.api.post("/api/v1/event-types", {"name": name, "examples": [{"n": 1}]}), 201)

    def setUp(self):
        super().setUp()
        self.ws = self.api.create_workspace("portal")["id"]
        self.other_ws = self.api.create_workspace("someone else")["id"]
        self.key = self.api.with_token(self.api.create_api_key(self.ws)["token"])
        self.ep = self.api.create_endpoint(self.ws, self.receiver.url(f"/portal/{self.ws}"))["id"]
        self.other_ep = self.api.create_endpoint(self.other_ws, self.receiver.url("/portal/other"))["id"]
        self.msg = self.api.publish(self.ws, "portal.ping", {"n": 1})["id"]

    def mint(self, caller, ws, body=None):
        return caller.post(f"/api/v1/workspaces/{ws}/portal-links", body if body is not None else {})

    def portal(self, **body):
        link = self.expect_ok(self.mint(self.key, self.ws, body), 201)
        self.assertEqual(link["workspace_id"], self.ws)
        self.assertTrue(link["token"].startswith("fpt_"))
        self.assertEqual(link["path"], "/ui/portal#token=" + link["token"])
        return self.api.with_token(link["token"])

    def expect_ok(self, resp, status):
        self.assertEqual(resp.status, status, resp.describe())
        return resp.json

    def test_what_a_portal_link_may_do(self):
        portal = self.portal()
        ws = f"/api/v1/workspaces/{self.ws}"
        self.expect_ok(portal.get(ws), 200)
        endpoints = self.expect_ok(portal.get(f"{ws}/endpoints"), 200)["data"]
        self.assertEqual([e["id"] for e in endpoints], [self.ep])
        created = self.expect_ok(portal.post(f"{ws}/endpoints", {"url": self.receiver.url("/portal/new")}), 201)
        self.expect_ok(portal.patch(f"{ws}/endpoints/{created['id']}", {"description": "mine"}), 200)
        self.expect_ok(portal.post(f"{ws}/endpoints/{created['id']}/secret/rotate", {}), 200)
        test = self.expect_ok(portal.post(f"{ws}/endpoints/{self.ep}/test", {"type": "portal.ping"}), 202)
        self.expect_ok(portal.get(f"{ws}/messages"), 200)
        self.expect_ok(portal.get(f"{ws}/messages/{self.msg}"), 200)
        deliveries = self.expect_ok(portal.get(f"{ws}/messages/{self.msg}/deliveries"), 200)["data"]
        fh.wait_for(lambda: portal.get(f"{ws}/messages/{self.msg}/attempts").json["data"], timeout=15)
        self.expect_ok(portal.get(f"{ws}/deliveries/{deliveries[0]['id']}/attempts"), 200)
        self.expect_ok(portal.post(f"{ws}/deliveries/{deliveries[0]['id']}/resend", {}), 202)
        self.expect_ok(portal.get(f"{ws}/endpoints/{self.ep}/deliveries"), 200)
        self.expect_ok(portal.get(f"{ws}/endpoints/{self.ep}/attempts"), 200)
        recovered = self.expect_ok(portal.post(f"{ws}/endpoints/{self.ep}/recover",
                                               {"since": fh.rfc3339_ms(fh.now_ms() - 3_600_000)}), 202)
        self.assertEqual(recovered["recovered"], 0)  # nothing failed
        self.expect_ok(portal.get(f"{ws}/messages?endpoint={self.ep}&status=succeeded"), 200)
        self.assertIn("message", test)
        for path in ("/api/v1/event-types", "/api/v1/catalogs", "/api/v1/profiles"):
            self.expect_ok(portal.get(path), 200)
        self.expect_ok(portal.delete(f"{ws}/endpoints/{created['id']}"), 204)

    def test_nothing_else(self):
        portal = self.portal()
        ws = f"/api/v1/workspaces/{self.ws}"
        other = f"/api/v1/workspaces/{self.other_ws}"
        # Another workspace looks missing, as for its keys.
        for path in (other, f"{other}/endpoints", f"{other}/endpoints/{self.other_ep}", f"{other}/messages"):
            with self.subTest(path=path):
                self.assertError(portal.get(path), 404, "not_found")
        self.assertError(portal.post(f"{other}/endpoints/{self.other_ep}/recover", {"since": "2026-01-01T00:00:00Z"}),
                         404, "not_found")
        # The product's own operations are not the customer's.
        refused = [
            ("POST", f"{ws}/messages", {"type": "portal.forged", "data": {}}),
            ("POST", f"{ws}/messages/batch", {"messages": [{"type": "portal.forged", "data": {}}]}),
            ("PATCH", ws, {"name": "taken over"}),
            ("POST", f"{ws}/portal-links", {}),  # a link cannot extend itself
            ("GET", f"{ws}/api-keys", None),
            ("POST", f"{ws}/api-keys", {"name": "x"}),
            ("GET", "/api/v1/workspaces", None),
            ("POST", "/api/v1/workspaces", {"name": "x"}),
            ("DELETE", ws, None),
            ("POST", "/api/v1/event-types", {"name": "x.y"}),
            ("POST", f"{other}/messages", {"type": "portal.forged", "data": {}}),
        ]
        for method, path, body in refused:
            with self.subTest(route=f"{method} {path}"):
                self.assertError(portal.request(method, path, body), 403, "forbidden")
        # Nothing was published through it.
        listed = self.api.get(f"{ws}/messages").json["data"]
        self.assertNotIn("portal.forged", [m["type"] for m in listed])

    def test_who_may_mint_and_for_how_long(self):
        other_key = self.api.with_token(self.api.create_api_key(self.other_ws)["token"])
        self.assertError(self.mint(other_key, self.ws), 404, "not_found")
        self.assertError(self.mint(self.api.with_token(None), self.ws), 401)
        self.expect_ok(self.mint(self.api, self.ws), 201)  # the admin token too
        for bad in ({"expires_in": 0}, {"expires_in": 604801}, {"expires_in": "1h"}):
            with self.subTest(body=bad):
                self.assertError(self.mint(self.key, self.ws, bad), 422, "unprocessable", "expires_in")
        link = self.expect_ok(self.mint(self.key, self.ws, {"expires_in": 3600}), 201)
        self.assertAlmostEqual(fh.parse_rfc3339(link["expires_at"]).timestamp() - time.time(), 3600, delta=60)

    def test_expired_altered_and_revoked_links(self):
        link = self.expect_ok(self.mint(self.key, self.ws, {"expires_in": 1}), 201)
        portal = self.api.with_token(link["token"])
        self.expect_ok(portal.get(f"/api/v1/workspaces/{self.ws}"), 200)
        fh.wait_for(lambda: portal.get(f"/api/v1/workspaces/{self.ws}").status == 401, timeout=5)
        self.assertError(portal.get(f"/api/v1/workspaces/{self.ws}"), 401, "unauthorized", "expired")

        token = self.expect_ok(self.mint(self.key, self.ws), 201)["token"]
        payload, mac = token[len("fpt_"):].split("_")
        forged_ws = self.other_ws.encode().hex()
        forged = "fpt_" + payload.replace(self.ws.encode().hex(), forged_ws) + "_" + mac
        self.assertError(self.api.with_token(forged).get(f"/api/v1/workspaces/{self.other_ws}"), 401,
                         "unauthorized")

    def test_a_new_admin_token_revokes_every_link(self):
        server = self.start_server(name="portal-revoke", time_factor=0.001)
        api = server.api()
        ws = api.create_workspace("revoke")["id"]
        token = api.expect(api.post(f"/api/v1/workspaces/{ws}/portal-links", {}), 201)["token"]
        self.assertEqual(api.with_token(token).get(f"/api/v1/workspaces/{ws}").status, 200)
        server.stop()
        server.admin_token = "adm_" + "0" * 32
        server.restart()
        self.assertEqual(server.api().with_token(token).get(f"/api/v1/workspaces/{ws}").status, 401)


if __name__ == "__main__":
    import unittest
    unittest.main()
