"""The browser dashboard at /ui and the customer portal at /ui/portal.

DashboardFilesTest: plain HTTP, no token: every file of ui/ is served as it
is in the repository with its content type, `Cache-Control: no-cache` and the
security headers (only the portal's page may be framed); unknown files are a
JSON 404 and other methods 405.

DashboardBrowserTest: a real Chromium (Debian's `chromium`, driven by
playwright-core from tests/node/dashboard_e2e.mjs) signs in with the admin
token, picks a workspace, creates an endpoint at the test receiver, disables
and enables it, sends a test event and sees its attempt's status 200, signs
out; signs in with a workspace key (its workspace only); then opens a portal
link minted through the API and sees that workspace's endpoints, while a call
to another workspace from the page gets 404; deletes one endpoint there; an
altered link and a missing one show why. The screenshots are kept in the test's temporary directory (their paths
are printed; FERRY_KEEP_DATA=1 keeps them)."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import ferry_harness as fh
from ferry_harness import FerryTestCase

UI_DIR = fh.REPO_ROOT / "ui"
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
    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        cls.server = cls.start_class_server(name="dashboard")
        cls.api = cls.server.api()
        cls.api.expect(cls.api.post("/api/v1/event-types", {"name": "dash.ping", "examples": [{"n": 1}]}), 201)

    def setUp(self):
        super().setUp()
        reason = browser_unavailable_reason()
        if reason is not None:
            if fh.IN_CI:
                self.fail(f"the dashboard's browser test cannot run in CI: {reason}")
            raise unittest.SkipTest(reason)

    def test_dashboard_and_portal_in_a_browser(self):
        ws = self.api.create_workspace("Dashboard", ws_id="dash")["id"]
        other = self.api.create_workspace("Someone else", ws_id="dash-other")["id"]
        existing = self.api.create_endpoint(ws, self.receiver.url("/dash/existing"), filter_types=["nothing.*"])
        self.api.create_endpoint(other, self.receiver.url("/dash/other"))
        key = self.api.create_api_key(ws)["token"]
        link = self.api.expect(self.api.post(f"/api/v1/workspaces/{ws}/portal-links", {}), 201)
        endpoint_url = self.receiver.url("/dash/hook")

        shots = tempfile.mkdtemp(prefix="ferry-dashboard-shots-")
        if not fh.KEEP_DATA:  # FERRY_KEEP_DATA=1 keeps the screenshots
            self.addCleanup(shutil.rmtree, shots, True)
        config = {
            "base_url": self.server.base_url,
            "admin_token": self.server.admin_token,
            "workspace_key": key,
            "workspace": ws,
            "endpoint_url": endpoint_url,
            "event_type": "dash.ping",
            "portal_path": link["path"],
            "portal_endpoint_urls": [existing["url"], endpoint_url],
            "other_workspace": other,
            "screenshots": shots,
            "chromium": CHROMIUM,
        }
        proc = subprocess.run(["node", os.path.join(fh.NODE_TOOLS_DIR, "dashboard_e2e.mjs")],
                              input=json.dumps(config).encode(), capture_output=True, timeout=180,
                              cwd=fh.NODE_TOOLS_DIR)
        out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        print(f"\n{out}", flush=True)
        self.assertEqual(proc.returncode, 0, out)
        self.assertIn("\nok\n", "\n" + proc.stdout.decode())

        # What the browser did is in the server and at the receiver.
        endpoints = self.api.expect(self.api.get(f"/api/v1/workspaces/{ws}/endpoints"), 200)["data"]
        created = [e for e in endpoints if e["url"] == endpoint_url]
        self.assertEqual(len(created), 1, endpoints)
        self.assertNotIn(existing["id"], [e["id"] for e in endpoints])  # deleted from the portal
        self.assertTrue(created[0]["enabled"])
        self.assertEqual(created[0]["filter_types"], ["dash.ping", "other.*"])
        received = self.receiver.received("/dash/hook")
        self.assertEqual(len(received), 1)
        self.assertEqual(received[0].json["type"], "dash.ping")
        self.assertEqual(self.receiver.count("/dash/other"), 0)
        for name in ("dashboard.png", "portal.png"):
            path = os.path.join(shots, name)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", path)


if __name__ == "__main__":
    unittest.main()
