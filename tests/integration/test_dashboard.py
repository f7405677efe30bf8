"""The browser dashboard at /ui and the customer portal at /ui/portal.

DashboardFilesTest: plain HTTP, no token: every file of ui/ is served as it
is in the repository with its content type, `Cache-Control: no-cache` and the
security headers (only the portal's page may be framed); unknown files are a
JSON 404 and other methods 405; no page or module uses inline script, inline
style or HTML parsing of data.

DashboardBrowserTest: a real Chromium (Debian's `chromium`, driven by
playwright-core from tests/node/dashboard_e2e.mjs), against a server that
loaded the customer-engagement catalog: signs in with the admin token, picks a
workspace, creates an endpoint with event types picked from the catalog, a
wildcard, a custom header and a rate limit, disables and enables it, creates
one more with the keyboard alone (Tab reaches the navigation and the form,
Enter submits), edits the first (URL, description, profile), reveals, copies,
hides and rotates its secret, sends a test event and reads the attempt's
request headers, response status, headers and body; in the Messages log
filters by type and time, goes Back, opens the message and resends its
delivery until a second attempt shows; browses the catalog (groups, PASSIVE,
deprecated and archived badges, schema, example, search) and sends a test
event from a type; pages past 100 endpoints in another workspace; signs in
with a workspace key, deletes the keyboard's endpoint from its page (a reload
keeps the route); opens a portal link (the token leaves the address bar,
another workspace is 404), deletes an endpoint there, and opens the portal in
an iframe of a page from another site, where it works and still cannot reach
another workspace; an altered link and a missing one show why. The Python side
then checks through the API and at the receiver what the browser did. The
screenshots of every view are kept in the test's temporary directory (their
paths are printed; FERRY_KEEP_DATA=1 keeps them)."""

import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import unittest

import ferry_harness as fh
from ferry_harness import FerryTestCase, Reply

UI_DIR = fh.REPO_ROOT / "ui"
CATALOG = fh.REPO_ROOT / "catalogs" / "customer-engagement.json"
CHROMIUM = os.environ.get("FERRY_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}


class DashboardFilesTest(FerryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_class_server(name="dashboard-files")
        cls.anon = cls.server.api(token=None)

    def assertCommonHeaders(self, resp):
        self.assertEqual(resp.headers.get("cache-control"), "no-cache", resp.describe())
        self.assertEqual(resp.headers.get("x-content-type-options"), "nosniff")
        self.assertEqual(resp.headers.get("referrer-policy"), "no-referrer")
        csp = resp.headers.get("content-security-policy", "")
        self.assertIn("default-src 'self'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        return csp

    def test_every_file_is_served_as_in_the_repository(self):
        files = sorted(p for p in UI_DIR.rglob("*") if p.is_file())
        self.assertGreater(len(files), 3)
        for path in files:
            rel = path.relative_to(UI_DIR).as_posix()
            with self.subTest(file=rel):
                resp = self.anon.get(f"/ui/{rel}")
                self.assertEqual(resp.status, 200, resp.describe())
                self.assertEqual(resp.body, path.read_bytes())
                self.assertEqual(resp.headers.get("content-type"), CONTENT_TYPES[path.suffix])
                csp = self.assertCommonHeaders(resp)
                self.assertIn("frame-ancestors 'none'", csp)
                self.assertEqual(resp.headers.get("x-frame-options"), "DENY")

    def test_pages(self):
        index = (UI_DIR / "index.html").read_bytes()
        for path in ("/ui", "/ui/"):
            with self.subTest(path=path):
                resp = self.anon.get(path)
                self.assertEqual(resp.status, 200, resp.describe())
                self.assertEqual(resp.body, index)
                self.assertEqual(resp.headers.get("content-type"), "text/html; charset=utf-8")
                self.assertIn("frame-ancestors 'none'", self.assertCommonHeaders(resp))
                self.assertEqual(resp.headers.get("x-frame-options"), "DENY")
        # The portal's page is meant for an iframe of the product's site.
        resp = self.anon.get("/ui/portal")
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertEqual(resp.body, (UI_DIR / "portal.html").read_bytes())
        self.assertEqual(resp.headers.get("content-type"), "text/html; charset=utf-8")
        csp = self.assertCommonHeaders(resp)
        self.assertIn("frame-ancestors *", csp)
        self.assertNotIn("x-frame-options", resp.headers)
        # HEAD: the headers and length of GET, no body.
        head = self.anon.request("HEAD", "/ui/app.css")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.body, b"")
        self.assertEqual(int(head.headers["content-length"]), len((UI_DIR / "app.css").read_bytes()))

    def test_no_inline_script_or_style(self):
        # The policy forbids them; a page that used them would break.
        for page in UI_DIR.glob("*.html"):
            with self.subTest(page=page.name):
                text = page.read_text()
                for tag in re.findall(r"<script\b[^>]*>", text):
                    self.assertIn("src=", tag)
                self.assertNotIn("<style", text)
                self.assertNotRegex(text, r"\son[a-z]+\s*=")
                self.assertNotRegex(text, r"\sstyle\s*=")

    def test_data_is_never_parsed_as_html(self):
        # API data goes in as text (textContent, attributes), styles as classes.
        for module in UI_DIR.glob("*.js"):
            with self.subTest(module=module.name):
                text = module.read_text()
                for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", ".style.",
                               "eval(", "new Function"):
                    self.assertNotIn(banned, text)

    def test_unknown_files_and_methods(self):
        for path in ("/ui/nope.js", "/ui/portal/x", "/ui/index.htm", "/ui//index.html", "/ui/%2e%2e/ferry"):
            with self.subTest(path=path):
                self.assertError(self.anon.get(path), 404, "not_found")
        self.assertError(self.anon.get("/uix"), 404, "not_found")  # not the dashboard's: the router's answer
        resp = self.anon.post("/ui/index.html", {})
        self.assertError(resp, 405, "method_not_allowed")
        self.assertEqual(resp.headers.get("allow"), "GET, HEAD")

    def test_no_token_needed_but_the_api_still_wants_one(self):
        self.assertEqual(self.anon.get("/ui/main.js").status, 200)
        self.assertError(self.anon.get("/api/v1/workspaces"), 401, "unauthorized")


def browser_unavailable_reason():
    if not shutil.which("node"):
        return "node is not installed"
    if not os.path.isfile(os.path.join(fh.NODE_TOOLS_DIR, "node_modules", "playwright-core", "package.json")):
        return f"npm package playwright-core is not installed in {fh.NODE_TOOLS_DIR} (run `npm ci` there, or scripts/setup.sh)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install chromium, or scripts/setup.sh)"
    return None


class DashboardBrowserTest(FerryTestCase):
    # The customer-engagement catalog stamps workspace ids, which its schemas
    # want to be a brand's UUID.
    WS = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"

    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        # Three attempts in a few milliseconds (with the tests' time factor), so
        # a failing endpoint's delivery ends failed at once, to recover.
        cls.server = cls.start_class_server(name="dashboard", extra_args=["--catalog", str(CATALOG),
                                                                          "--retry-schedule", "0s,100s,200s"])
        cls.api = cls.server.api()

    def setUp(self):
        super().setUp()
        reason = browser_unavailable_reason()
        if reason is not None:
            if fh.IN_CI:
                self.fail(f"the dashboard's browser test cannot run in CI: {reason}")
            raise unittest.SkipTest(reason)

    def frame_page(self, src: str) -> str:
        """Serves a page of another site (localhost, not 127.0.0.1) that frames src."""
        page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A product</title></head>'
                f'<body><h1>A product\'s settings</h1>'
                f'<iframe src="{src}" title="Webhooks" width="1100" height="700"></iframe></body></html>').encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return f"http://localhost:{server.server_address[1]}/"

    def test_dashboard_and_portal_in_a_browser(self):
        api = self.api
        catalog = "customer-engagement"
        ws = api.expect(api.post("/api/v1/workspaces", {"id": self.WS, "name": "Dashboard", "catalog": catalog}), 201)["id"]
        other = api.create_workspace("Someone else", ws_id="dash-other")["id"]
        many = api.create_workspace("Many endpoints", ws_id="dash-many")["id"]
        # Flags and archiving show as badges in the catalog.
        api.expect(api.patch(f"/api/v1/event-types/contact.merged?catalog={catalog}", {"flags": ["deprecated"]}), 200)
        api.expect(api.post(f"/api/v1/event-types/billing.plan_changed/archive?catalog={catalog}"), 200)
        types = {t["name"]: t for t in api.expect(api.get(f"/api/v1/event-types?catalog={catalog}"), 200)["data"]}
        # A message of another type, for the type filter of the log.
        api.publish(ws, "contact.updated", dict(types["contact.updated"]["examples"][0], workspace_id=ws))
        existing = api.create_endpoint(ws, self.receiver.url("/dash/existing"), filter_types=["nothing.*"])
        api.create_endpoint(other, self.receiver.url("/dash/other"))
        many_urls = [self.receiver.url(f"/many/{i:03d}") for i in range(105)]
        for url in many_urls:
            api.create_endpoint(many, url, enabled=False)
        key = api.create_api_key(ws)["token"]
        link = api.expect(api.post(f"/api/v1/workspaces/{ws}/portal-links", {}), 201)
        framed = api.expect(api.post(f"/api/v1/workspaces/{ws}/portal-links", {}), 201)
        first_url = self.receiver.url("/dash/first")
        endpoint_url = self.receiver.url("/dash/hook")
        keyboard_url = self.receiver.url("/dash/keyboard")
        # An endpoint that answers 500, with one failed attempt by now, for
        # the statistics and the endpoint's health.
        failing_url = self.receiver.url("/dash/failing")
        self.receiver.program("/dash/failing", 500, 500, 500, 200)
        failing = api.create_endpoint(ws, failing_url, filter_types=["nothing.*"])
        api.expect(api.post(f"/api/v1/workspaces/{ws}/endpoints/{failing['id']}/test", {"type": "contact.created"}), 202)
        fh.wait_for(lambda: self.receiver.count("/dash/failing") == 3 or None, 20, message="the failing endpoint's attempts")
        self.receiver.program("/dash/hook", Reply(status=200, headers={"X-Receiver": "dash"},
                                                  body=b'{"received":true}'))

        shots = tempfile.mkdtemp(prefix="ferry-dashboard-shots-")
        if not fh.KEEP_DATA:  # FERRY_KEEP_DATA=1 keeps the screenshots
            self.addCleanup(shutil.rmtree, shots, True)
        config = {
            "base_url": self.server.base_url,
            "admin_token": self.server.admin_token,
            "workspace_key": key,
            "workspace": ws,
            "many_workspace": many,
            "first_url": first_url,
            "endpoint_url": endpoint_url,
            "keyboard_url": keyboard_url,
            "failing_url": failing_url,
            "many_urls": many_urls,
            "test_type": "contact.created",
            "other_type": "contact.updated",
            "passive_type": "delivery.sent",
            "deprecated_type": "contact.merged",
            "archived_type": "billing.plan_changed",
            "portal_path": link["path"],
            "portal_endpoint_urls": [existing["url"], endpoint_url],
            "frame_page": self.frame_page(f"{self.server.base_url}{framed['path']}"),
            "other_workspace": other,
            "screenshots": shots,
            "chromium": CHROMIUM,
        }
        proc = subprocess.run(["node", os.path.join(fh.NODE_TOOLS_DIR, "dashboard_e2e.mjs")],
                              input=json.dumps(config).encode(), capture_output=True, timeout=300,
                              cwd=fh.NODE_TOOLS_DIR)
        out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        print(f"\n{out}", flush=True)
        self.assertEqual(proc.returncode, 0, out)
        stdout = proc.stdout.decode()
        self.assertIn("\nok\n", "\n" + stdout)
        result = json.loads(re.search(r"^result: (.*)$", stdout, re.M).group(1))

        # What the browser did is in the server and at the receiver.
        endpoints = api.expect(api.get(f"/api/v1/workspaces/{ws}/endpoints"), 200)["data"]
        by_url = {e["url"]: e for e in endpoints}
        self.assertNotIn(existing["url"], by_url)  # deleted from the portal
        self.assertNotIn(first_url, by_url)  # its URL was edited
        self.assertNotIn(keyboard_url, by_url)  # created with the keyboard, deleted from its page
        edited = by_url[endpoint_url]
        self.assertEqual(edited["id"], result["endpoint_id"])
        self.assertEqual(edited["description"], "Orders hook")
        self.assertEqual(edited["filter_types"], ["contact.created", "contact.updated", "delivery.*"])
        self.assertEqual(edited["headers"], {"x-dash-token": "abc123"})
        self.assertEqual(edited["rate_limit"], 50)
        self.assertEqual(edited["profile"], "standard-webhooks")
        self.assertTrue(edited["enabled"])
        # The secret shown after the rotation is the API's; the old one was another.
        self.assertEqual(edited["secret"], result["new_secret"])
        self.assertNotEqual(result["old_secret"], result["new_secret"])
        # The test event, its resend and the one sent from the catalog.
        received = self.receiver.received("/dash/hook")
        self.assertEqual([r.json["type"] for r in received], ["contact.created", "contact.created", "contact.updated"])
        self.assertTrue(all(r.headers.get("x-dash-token") == "abc123" for r in received))
        self.assertEqual(received[0].headers["webhook-id"], received[1].headers["webhook-id"])  # the resend
        # Three failures, then the recovered delivery's attempt.
        self.assertEqual(self.receiver.count("/dash/failing"), 4)
        self.assertEqual(self.receiver.count("/dash/first"), 0)
        self.assertEqual(self.receiver.count("/dash/other"), 0)
        for name in ("endpoints-empty", "endpoint-create-form", "endpoint-page", "rotate-confirm", "messages",
                     "message", "statistics", "endpoint-health", "messages-failed", "catalog", "catalog-send", "endpoints-page-2", "portal", "portal-in-iframe"):
            path = os.path.join(shots, f"{name}.png")
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", path)


if __name__ == "__main__":
    unittest.main()
