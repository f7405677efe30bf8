"""`ferry store copy`: an SQLite data directory moved into PostgreSQL.

A server on SQLite delivers some messages and keeps retrying others; it stops;
`ferry store copy --from DATA_DIR --to postgresql://…` copies everything; a
node on PostgreSQL then serves the same ids, the same secrets, the same API
keys and the same history, never sends a succeeded delivery again, and
finishes the open ones. A second copy into the non-empty database is refused
unless --merge is given, and merging doubles nothing.

PostgreSQL only (ctest: integration.postgres.test_store_copy)."""

import subprocess

import ferry_harness as fh
from ferry_harness import FerryServer, FerryTestCase, Receiver


def store_copy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([fh.require_ferry_bin(), "store", "copy", *args], capture_output=True, timeout=120)


class StoreCopyTest(FerryTestCase):
    def setUp(self):
        super().setUp()
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)
        self.db = fh.TestDatabase("store_copy")
        self.addCleanup(self.db.drop)

    def sqlite_server(self) -> FerryServer:
        srv = FerryServer(name="sqlite-source")
        srv.database_url = ""  # the embedded store, whatever the variant
        self.own_servers.append(srv)
        return srv.start()

    def test_copy_then_serve_from_postgres(self):
        source = self.sqlite_server()
        api = source.api()
        ws = api.create_workspace("copied")["id"]
        key = api.create_api_key(ws)
        ok_ep = api.create_endpoint(ws, self.receiver.url("/ok"))
        # Failing for now: its deliveries stay open (retrying) in the copy.
        self.receiver.program("/later", 500)
        later_ep = api.create_endpoint(ws, self.receiver.url("/later"))
        ids = [api.publish(ws, "order.paid", {"n": i}, idempotency_key=f"key-{i}")["id"] for i in range(20)]
        fh.wait_for(lambda: self.receiver.count("/ok") >= 20, 20, message="20 deliveries to /ok")
        fh.wait_for(lambda: self.receiver.count("/later") >= 20, 20, message="first attempts to /later")
        attempts_before = {mid: len(api.attempts(ws, mid)) for mid in ids}
        source.stop()
        ok_count = self.receiver.count("/ok")

        copied = store_copy("--from", source.data_dir, "--to", self.db.url)
        out = (copied.stdout + copied.stderr).decode()
        self.assertEqual(copied.returncode, 0, out)
        self.assertIn("20 messages", out)
        self.assertIn("40 deliveries", out)

        # Copying again into what is now a non-empty database: refused, unless merging.
        again = store_copy("--from", source.data_dir, "--to", self.db.url)
        refusal = (again.stdout + again.stderr).decode()
        self.assertEqual(again.returncode, 3, refusal)
        self.assertIn("already holds data", refusal)
        self.assertIn("--merge", refusal)
        merged = store_copy("--from", source.data_dir, "--to", self.db.url, "--merge")
        self.assertEqual(merged.returncode, 0, (merged.stdout + merged.stderr).decode())

        self.receiver.program("/later", 200)
        target = FerryServer(name="postgres-target", database=self.db, admin_token=source.admin_token)
        self.own_servers.append(target)
        target.start()
        papi = target.api()
        # The API key made on SQLite works against PostgreSQL.
        self.assertEqual(papi.with_token(key["token"]).get(f"/api/v1/workspaces/{ws}").status, 200)
        self.assertEqual(papi.endpoint(ws, ok_ep["id"])["secret"], ok_ep["secret"])
        for mid in ids:
            message = papi.expect(papi.get(f"/api/v1/workspaces/{ws}/messages/{mid}"), 200)
            self.assertEqual(message["type"], "order.paid")
            states = {d["endpoint_id"]: d["state"] for d in papi.deliveries(ws, mid)}
            self.assertEqual(states[ok_ep["id"]], "succeeded")
            self.assertIn(states[later_ep["id"]], ("retrying", "succeeded"))
            self.assertGreaterEqual(len(papi.attempts(ws, mid)), attempts_before[mid])

        # The open deliveries finish from PostgreSQL; the succeeded ones are never sent again.
        for mid in ids:
            papi.wait_delivery_state(ws, mid, ["succeeded"], count=2, timeout=60)
        self.assertEqual(self.receiver.count("/ok"), ok_count)
        # Idempotency keys came along: the same key answers with the first message.
        dup = papi.publish(ws, "order.paid", {"n": 0}, idempotency_key="key-0")
        self.assertEqual(dup["id"], ids[0])
        self.assertTrue(dup["duplicate"])

    def test_refuses_a_missing_source(self):
        missing = store_copy("--from", "/nonexistent/ferry-data", "--to", self.db.url)
        self.assertEqual(missing.returncode, 2)
        self.assertIn("no Ferry database", (missing.stdout + missing.stderr).decode())


if __name__ == "__main__":
    import unittest

    unittest.main()
