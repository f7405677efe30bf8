"""The OpenAPI document against the real server: GET /api/openapi.json serves
src/api/openapi.json as built, and every operation it lists, called with real
ids and the credentials its `security` names, is a route that answers a
status the document lists for it, with a body its schema accepts. Without a
token (and, for admin-only operations, with a workspace API key; for
workspace operations, with another workspace's key) it answers the 401, 403
or 404 the document lists. Deleting operations go last, on throwaway objects.

Response bodies are checked "closed": an object schema that names its
properties is taken to name all of them, so a field the server sends but the
document does not describe fails the test. Needs Python's jsonschema (Debian
package python3-jsonschema)."""

import json
import re
import secrets
import unittest
import urllib.parse

import ferry_harness as fh
from ferry_harness import FerryTestCase

try:
    import jsonschema
except ImportError:  # pragma: no cover - depends on the machine
    jsonschema = None

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
OPENAPI_FILE = fh.REPO_ROOT / "src" / "api" / "openapi.json"
# The answer of the router to a path it does not know (api_handler.cpp).
NO_SUCH_ROUTE = "no such route"
# The API's times: RFC 3339 in UTC with milliseconds.
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def uid(prefix):
    return f"{prefix}_{secrets.token_hex(4)}"


def closed(schema):
    """A copy of `schema` in which every object schema that lists properties
    and says nothing of others allows no others."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: closed(value) for key, value in schema.items()}
    if isinstance(schema.get("properties"), dict) and "additionalProperties" not in schema:
        out["additionalProperties"] = False
    return out


def format_checker():
    """Checks `date-time` as the API writes it, whatever format packages are installed."""
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def is_time(value):
        if not isinstance(value, str):
            return True
        if not TIME_RE.match(value):
            raise ValueError(f"{value!r} is not RFC 3339 UTC with milliseconds")
        fh.parse_rfc3339(value)
        return True

    return checker


class OpenApiTest(FerryTestCase):
    @classmethod
    def setUpClass(cls):
        if jsonschema is None:
            reason = "Python's jsonschema is not installed (Debian package python3-jsonschema; scripts/setup.sh)"
            if fh.IN_CI:
                raise AssertionError(reason)
            raise unittest.SkipTest(reason)
        cls.receiver = cls.start_class_receiver()
        cls.server = cls.start_class_server(name="openapi", time_factor=0.001)
        cls.admin = cls.server.api()
        cls.anonymous = cls.server.api(token=None)
        resp = cls.anonymous.get("/api/openapi.json")
        if resp.status != 200 or not isinstance(resp.json, dict):
            raise AssertionError(f"GET /api/openapi.json: {resp.describe()}")
        cls.served = resp
        cls.doc = resp.json
        components = closed(cls.doc.get("components", {}))
        cls.components = dict(cls.doc.get("components", {}), schemas=components.get("schemas", {}))
        cls.checker = format_checker()

    # ------------------------------------------------------------ document helpers

    def resolve(self, node):
        """Follows a {"$ref": "#/…"} inside the document."""
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            self.assertTrue(ref.startswith("#/"), ref)
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def validate(self, instance, schema, what):
        """Validates against a schema of the document, closed; $refs resolve in its components."""
        root = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": {"schemas": self.components["schemas"]}, "allOf": [closed(schema)]}
        validator = jsonschema.Draft202012Validator(root, format_checker=self.checker)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in errors[:10]]
            self.fail(f"{what} does not match its schema:\n  " + "\n  ".join(lines) +
                      f"\nbody: {json.dumps(instance)[:1500]}")

    def operations(self):
        """(method, path template, operation) of the document, in its order."""
        for path, item in self.doc["paths"].items():
            for method, operation in item.items():
                if method in METHODS:
                    yield method.upper(), path, operation

    def parameters(self, path, operation):
        params = {}
        for p in self.doc["paths"][path].get("parameters", []) + operation.get("parameters", []):
            p = self.resolve(p)
            params[(p["in"], p["name"].lower() if p["in"] == "header" else p["name"])] = p
        return params

    # ------------------------------------------------------------ fixtures

    def make_fixtures(self):
        """Real objects for every path parameter, and throwaways for the deletes."""
        api = self.admin
        f = {}
        f["ws"] = api.create_workspace("OpenAPI", ws_id=uid("oa"))["id"]
        f["key"] = api.create_api_key(f["ws"], "openapi")
        f["ws_other"] = api.create_workspace("Other")["id"]
        f["key_other"] = api.create_api_key(f["ws_other"], "other")["token"]
        f["ws_gone"] = api.create_workspace("Deleted by the test")["id"]
        f["key_gone"] = api.create_api_key(f["ws"], "deleted by the test")["id"]
        for name in ("oa.ping", "oa.archived", "oa.gone"):
            api.expect(api.post("/api/v1/event-types", {
                "name": name, "description": "OpenAPI test type",
                "schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
                "examples": [{"n": 1}], "flags": ["openapi"]}), 201)
        f["catalog_file"] = {
            "catalog": uid("oacat"), "title": "OpenAPI test catalog", "description": "two types",
            "aliases": [{"name": "thing", "dotted_variants": True, "type_field": "kind",
                         "outbound": "thing.{kind}"}],
            "decisions": ["made up for the test"],
            "event_types": [
                {"name": "order.paid", "description": "An order was paid", "flags": ["PASSIVE"],
                 "schema": {"type": "object", "properties": {"order": {"type": "integer"}}},
                 "examples": [{"order": 1}], "decision": "kept"},
                {"name": "order.refunded", "examples": [{"order": 2}]},
            ]}
        api.expect(api.post("/api/v1/catalogs", f["catalog_file"]), 201)
        f["catalog"] = f["catalog_file"]["catalog"]
        ws = f["ws"]
        f["ep"] = api.create_endpoint(ws, self.receiver.url("/oa/main"), filter_types=["oa.*"],
                                      headers={"x-test": "openapi"}, rate_limit=100,
                                      description="OpenAPI test")["id"]
        f["ep_gone"] = api.create_endpoint(ws, self.receiver.url("/oa/gone"), filter_types=["never.sent"])["id"]
        f["msg"] = api.publish(ws, "oa.ping", {"n": 0})["id"]
        deliveries = api.wait_delivery_state(ws, f["msg"], ["succeeded"], timeout=15)
        f["dlv"] = deliveries[0]["id"]
        api.wait_attempts(ws, f["msg"], 1)
        f["since"] = fh.rfc3339_ms(fh.now_ms() - 3_600_000)
        return f

    def calls(self, f):
        """operationId -> (path params, query, body or None, extra headers, credential); the
        credential is "admin", "key" (the workspace's API key) or None."""
        ws, ep, msg, dlv = f["ws"], f["ep"], f["msg"], f["dlv"]
        recv = self.receiver.url("/oa/created")
        key = {"ws": ws}
        return {
            "getHealth": ({}, {}, None, {}, None),
            "getMetrics": ({}, {}, None, {}, None),
            "getOpenApi": ({}, {}, None, {}, None),
            "listProfiles": ({}, {}, None, {}, "key"),
            "createWorkspace": ({}, {}, {"name": "Created by the OpenAPI test", "validate_payloads": True}, {},
                                "admin"),
            "listWorkspaces": ({}, {"limit": "10"}, None, {}, "key"),
            "getWorkspace": (key, {}, None, {}, "key"),
            "updateWorkspace": (key, {}, {"name": "OpenAPI (renamed)"}, {}, "key"),
            "deleteWorkspace": ({"ws": f["ws_gone"]}, {}, None, {}, "admin"),
            "createApiKey": (key, {}, {"name": "another"}, {}, "admin"),
            "createPortalLink": (key, {}, {"expires_in": 600}, {}, "key"),
            "listApiKeys": (key, {}, None, {}, "admin"),
            "deleteApiKey": ({"ws": ws, "key": f["key_gone"]}, {}, None, {}, "admin"),
            "createEndpoint": (key, {}, {"url": recv, "filter_types": ["never.sent"], "enabled": True}, {}, "key"),
            "listEndpoints": (key, {"limit": "10"}, None, {}, "key"),
            "getEndpoint": ({"ws": ws, "ep": ep}, {}, None, {}, "key"),
            "updateEndpoint": ({"ws": ws, "ep": ep}, {}, {"description": "changed by the OpenAPI test"}, {}, "key"),
            "deleteEndpoint": ({"ws": ws, "ep": f["ep_gone"]}, {}, None, {}, "key"),
            "rotateEndpointSecret": ({"ws": ws, "ep": ep}, {}, None, {}, "key"),
            "sendTestEvent": ({"ws": ws, "ep": ep}, {}, {"type": "oa.ping"}, {}, "key"),
            "listEndpointDeliveries": ({"ws": ws, "ep": ep}, {"state": "succeeded", "limit": "10"}, None, {}, "key"),
            "listEndpointAttempts": ({"ws": ws, "ep": ep}, {"limit": "10", "outcome": "succeeded"}, None, {}, "key"),
            "getEndpointStats": ({"ws": ws, "ep": ep}, {"since": f["since"], "bucket": "5m"}, None, {}, "key"),
            "getWorkspaceStats": (key, {"since": f["since"], "bucket": "1m"}, None, {}, "key"),
            "recoverEndpoint": ({"ws": ws, "ep": ep}, {}, {"since": f["since"]}, {}, "key"),
            "publishMessage": (key, {}, {"type": "oa.ping", "data": {"n": 2}},
                               {"Idempotency-Key": uid("openapi")}, "key"),
            "publishMessages": (key, {}, {"messages": [{"type": "oa.ping", "data": {"n": 3}},
                                                       {"type": "oa.ping", "data": {"n": 4}, "id": uid("msg"),
                                                        "idempotency_key": uid("k")}]}, {}, "key"),
            "listMessages": (key, {"type": "oa.ping", "since": f["since"], "endpoint": ep, "status": "succeeded",
                                   "limit": "10"}, None, {}, "key"),
            "getMessage": ({"ws": ws, "msg": msg}, {}, None, {}, "key"),
            "listMessageDeliveries": ({"ws": ws, "msg": msg}, {}, None, {}, "key"),
            "listMessageAttempts": ({"ws": ws, "msg": msg}, {}, None, {}, "key"),
            "getDelivery": ({"ws": ws, "dlv": dlv}, {}, None, {}, "key"),
            "listDeliveryAttempts": ({"ws": ws, "dlv": dlv}, {}, None, {}, "key"),
            "resendDelivery": ({"ws": ws, "dlv": dlv}, {}, None, {}, "key"),
            "listEventTypes": ({}, {"include_archived": "true"}, None, {}, "key"),
            "createEventType": ({}, {}, {"name": "oa.created", "description": "created by the test",
                                         "examples": [{"x": 1}]}, {}, "admin"),
            "getEventType": ({"name": "oa.ping"}, {}, None, {}, "key"),
            "updateEventType": ({"name": "oa.ping"}, {}, {"description": "changed by the OpenAPI test"}, {},
                                "admin"),
            "deleteEventType": ({"name": "oa.gone"}, {}, None, {}, "admin"),
            "archiveEventType": ({"name": "oa.archived"}, {}, None, {}, "admin"),
            "unarchiveEventType": ({"name": "oa.archived"}, {}, None, {}, "admin"),
            "listCatalogs": ({}, {}, None, {}, "key"),
            "getCatalog": ({"name": f["catalog"]}, {}, None, {}, "key"),
            "loadCatalog": ({}, {}, f["catalog_file"], {}, "admin"),
        }

    # ------------------------------------------------------------ checks

    def url(self, path, params, query):
        def fill(m):
            name = m.group(1)
            self.assertIn(name, params, f"{path}: no value for {{{name}}}")
            return urllib.parse.quote(params[name], safe="")
        out = re.sub(r"\{([^}]+)\}", fill, path)
        return out + ("?" + urllib.parse.urlencode(query) if query else "")

    def assert_routed(self, resp):
        self.assertNotEqual(resp.status, 405, f"the server has no such method on this path: {resp.describe()}")
        if resp.status == 404 and isinstance(resp.json, dict):
            message = (resp.json.get("error") or {}).get("message", "")
            self.assertNotEqual(message, NO_SUCH_ROUTE, f"the server has no such route: {resp.describe()}")

    def check_response(self, resp, operation, what):
        """The status is one the operation lists (not just `default`), and the body is what it says."""
        self.assert_routed(resp)
        responses = operation.get("responses", {})
        self.assertIn(str(resp.status), responses,
                      f"{what}: status {resp.status} is not listed ({sorted(responses)}): {resp.describe()}")
        documented = self.resolve(responses[str(resp.status)])
        content = documented.get("content")
        ctype = resp.headers.get("content-type", "")
        if not content:
            self.assertEqual(resp.body, b"", f"{what}: documented without a body: {resp.describe()}")
            return
        media = {key.split(";")[0].strip(): value for key, value in content.items()}
        base = ctype.split(";")[0].strip()
        self.assertIn(base, media, f"{what}: Content-Type {ctype!r} is not documented ({sorted(content)})")
        full = [key for key in content if key.split(";")[0].strip() == base][0]
        if ";" in full:  # a documented parameter (text/plain; version=0.0.4) is part of the promise
            self.assertEqual(ctype.replace(" ", ""), full.replace(" ", ""), what)
        schema = media[base].get("schema")
        if base == "application/json":
            self.assertIsNotNone(resp.json, f"{what}: not JSON: {resp.describe()}")
        if schema is not None:
            body = resp.json if base == "application/json" else resp.body.decode()
            self.validate(body, schema, f"{what} ({resp.status})")
        for name in documented.get("headers", {}):
            self.assertIn(name.lower(), resp.headers, f"{what}: documented header {name} missing")

    # ------------------------------------------------------------ tests

    def test_served_document_is_the_source_file(self):
        self.assertEqual(self.served.headers.get("content-type"), "application/json", self.served.headers)
        self.assertEqual(self.served.body, OPENAPI_FILE.read_bytes(),
                         "GET /api/openapi.json is not src/api/openapi.json as it is now (rebuild?)")
        self.assertTrue(self.doc["openapi"].startswith("3.1."), self.doc["openapi"])

    def test_schemas_are_json_schema_2020_12(self):
        for name, schema in self.doc["components"]["schemas"].items():
            with self.subTest(schema=name):
                jsonschema.Draft202012Validator.check_schema(schema)

    def test_every_operation_answers_as_documented(self):
        fixtures = self.make_fixtures()
        calls = self.calls(fixtures)
        ops = list(self.operations())
        op_ids = [op["operationId"] for _, _, op in ops]
        self.assertEqual(len(op_ids), len(set(op_ids)), "operationIds are not unique")
        key_api = self.admin.with_token(fixtures["key"]["token"])
        other_api = self.admin.with_token(fixtures["key_other"])
        credentials = {"admin": self.admin, "key": key_api, None: self.anonymous}
        # Deletes last: their objects are throwaways, but nothing may run after them on a deleted object.
        ordered = [o for o in ops if o[0] != "DELETE"] + [o for o in ops if o[0] == "DELETE"]
        called = 0
        for method, path, operation in ordered:
            op_id = operation["operationId"]
            what = f"{op_id} ({method} {path})"
            with self.subTest(operation=what):
                self.assertIn(op_id, calls, f"{what}: the test does not know how to call it: add it to calls()")
                params, query, body, headers, credential = calls[op_id]
                documented = self.parameters(path, operation)
                for name in query:
                    self.assertIn(("query", name), documented, f"{what}: query parameter {name} is not documented")
                for name in headers:
                    self.assertIn(("header", name.lower()), documented, f"{what}: header {name} is not documented")
                if body is not None:
                    request_body = self.resolve(operation.get("requestBody", {}))
                    self.assertIn("application/json", request_body.get("content", {}),
                                  f"{what}: sends a body the document does not describe")
                    self.validate(body, request_body["content"]["application/json"]["schema"],
                                  f"{what}: the request body")
                elif "requestBody" in operation:
                    self.assertFalse(self.resolve(operation["requestBody"]).get("required", False),
                                     f"{what}: called without its required body")
                url = self.url(path, params, query)
                self.assertEqual(operation.get("security") == [], credential is None,
                                 f"{what}: the test's credential and the document's security disagree")
                if credential is not None:
                    # What the security requirements promise for the wrong callers.
                    resp = self.anonymous.request(method, url, body, headers=headers)
                    self.assertEqual(resp.status, 401, f"{what} without a token: {resp.describe()}")
                    self.check_response(resp, operation, f"{what} without a token")
                    self.assertEqual(resp.headers.get("www-authenticate"), "Bearer", resp.describe())
                    if operation.get("x-ferry-access") == "admin":
                        resp = key_api.request(method, url, body, headers=headers)
                        self.assertIn(resp.status, (403, 404), f"{what} with an API key: {resp.describe()}")
                        self.check_response(resp, operation, f"{what} with an API key")
                    if "ws" in params and params["ws"] in (fixtures["ws"], fixtures["ws_gone"]):
                        resp = other_api.request(method, url, body, headers=headers)
                        self.assertEqual(resp.status, 404, f"{what} with another workspace's key: {resp.describe()}")
                        self.check_response(resp, operation, f"{what} with another workspace's key")
                resp = credentials[credential].request(method, url, body, headers=headers)
                self.assertTrue(200 <= resp.status < 300, f"{what}: {resp.describe()}")
                self.check_response(resp, operation, what)
                called += 1
        self.assertEqual(sorted(set(calls) - set(op_ids)), [], "calls of operations the document does not have")
        self.assertEqual(called, len(ops))
        self.assertTrue(self.admin.healthy())

    def test_unknown_path_and_method_are_not_operations(self):
        """The checks above would catch a missing route: here they see one."""
        resp = self.admin.get("/api/v1/no-such-route")
        with self.assertRaises(AssertionError):
            self.assert_routed(resp)
        resp = self.admin.request("PUT", "/api/v1/workspaces", {"name": "x"})
        with self.assertRaises(AssertionError):
            self.assert_routed(resp)
        paths = self.doc["paths"]
        self.assertNotIn("/api/v1/no-such-route", paths)
        self.assertNotIn("put", paths["/api/v1/workspaces"])


if __name__ == "__main__":
    unittest.main()
