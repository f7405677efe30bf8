"""Durability: kill -9 during deliveries and during retries, and SIGTERM.

Every message answered 202 must reach the receiver at least once after a
restart on the same data dir (at-least-once: duplicates are allowed and reported)."""

import signal
import threading
import time
import unittest

import ferry_harness as fh
from ferry_harness import FerryTestCase, Receiver, Reply

# On PostgreSQL a restarted node cannot assume that the deliveries leased in
# the database are its dead predecessor's (another node may hold them), so the
# ones in flight at a kill -9 are taken over when their lease expires. A short
# lease keeps that well inside these tests' deadlines (the lease must exceed
# the request timeout by 3 s); SQLite has one process per database and
# releases every lease when it starts.
LEASE_ARGS = ["--request-timeout", "2s", "--lease-timeout", "5s"] if fh.is_postgres() else []


class CrashTest(FerryTestCase):
    def setUp(self):
        super().setUp()
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)

    def report(self, label, acked, path):
        """Prints how many acked messages arrived, and how many arrived more than
        once (requests not answered with an error status, beyond one per id)."""
        reqs = self.receiver.received(path)
        arrived = [r.headers.get("webhook-id") for r in reqs if r.answered is None or 200 <= r.answered < 300]
        dups = len(arrived) - len(set(arrived))
        print(f"\n[{label}] acked={len(acked)} delivered={len(self.receiver.delivered_ids(path) & set(acked))} "
              f"requests={len(reqs)} duplicates={dups}", flush=True)
        return dups

    def test_kill9_during_deliveries(self):
        server = self.start_server(name="crash-kill9", time_factor=0.001, extra_args=LEASE_ARGS)
        api = server.api()
        ws = api.create_workspace("crash")["id"]
        path = "/crash/slowish"
        self.receiver.program(path, Reply(status=200, delay=0.05))
        api.create_endpoint(ws, self.receiver.url(path))

        total = 200
        acked: list[str] = []
        attempted: list[str] = []
        errors: list[str] = []
        lock = threading.Lock()

        def publisher(start, api_client):
            for i in range(start, total):
                mid = f"crash-{i:04d}"
                with lock:
                    attempted.append(mid)
                try:
                    resp = api_client.post(f"/api/v1/workspaces/{ws}/messages",
                                           {"type": "crash.test", "data": {"i": i}, "id": mid}, retry=False)
                except OSError as exc:  # the server died under us
                    errors.append(f"{mid}: {exc!r}")
                    return
                except Exception as exc:  # http.client errors
                    errors.append(f"{mid}: {exc!r}")
                    return
                if resp.status == 202:
                    with lock:
                        acked.append(resp.json["id"])
                else:
                    errors.append(f"{mid}: {resp.describe()}")
                time.sleep(0.005)  # paced, so that the kill lands mid-way however fast the server is

        pub_api = fh.Api(server.host, server.port, server.admin_token)
        thread = threading.Thread(target=publisher, args=(0, pub_api), daemon=True)
        thread.start()
        fh.wait_for(lambda: len(acked) >= 80 and self.receiver.count(path) >= 10, 30,
                    message="80 acked messages and 10 deliveries before the kill")
        received_before = set(self.receiver.webhook_ids(path))
        server.kill()
        thread.join(30)
        self.assertFalse(thread.is_alive(), "publisher did not notice the kill")
        with lock:
            acked_before_kill = list(acked)
        self.assertLess(len(acked_before_kill), total, "the kill came too late to test anything")
        pending_at_kill = [m for m in acked_before_kill if m not in received_before]
        print(f"\n[kill9] killed with {len(acked_before_kill)} acked, {len(pending_at_kill)} of them not yet "
              f"received", flush=True)

        server.restart()
        api = server.api()
        publisher(len(attempted), api)
        self.assertEqual(len(attempted), total)

        self.receiver.wait_all_delivered("kill9", acked, path, 60)
        self.report("kill9", acked, path)
        self.assertTrue(set(self.receiver.webhook_ids(path)) <= set(attempted), "phantom message ids delivered")
        # The stored messages survived too.
        for mid in acked_before_kill[:: max(1, len(acked_before_kill) // 10)]:
            msg = api.expect(api.get(f"/api/v1/workspaces/{ws}/messages/{mid}"), 200)
            self.assertEqual(msg["id"], mid)

    def test_kill9_with_pending_retries(self):
        server = self.start_server(name="crash-retries", time_factor=1.0,
                                   extra_args=["--retry-schedule", "0s,300ms,300ms,300ms,300ms,300ms,300ms,300ms"]
                                   + LEASE_ARGS)
        api = server.api()
        ws = api.create_workspace("crash-retries")["id"]
        path = "/crash/failing"
        n = 30
        self.receiver.program(path, *([Reply(status=500)] * n + [Reply(status=200)]))
        api.create_endpoint(ws, self.receiver.url(path))
        items = [{"type": "crash.retry", "data": {"i": i}} for i in range(n)]
        data = api.expect(api.post(f"/api/v1/workspaces/{ws}/messages/batch", {"messages": items}), 202)["data"]
        acked = [m["id"] for m in data]
        self.receiver.wait_for_requests(n, path, timeout=20)  # every first attempt failed
        server.kill()
        ok_before = self.receiver.delivered_ids(path)
        server.restart()
        api = server.api()

        self.receiver.wait_all_delivered("kill9-retries", acked, path, 30)
        print(f"\n[kill9-retries] {len(ok_before)} succeeded before the kill, "
              f"{len(set(acked) - ok_before)} after the restart", flush=True)
        self.report("kill9-retries", acked, path)
        for mid in acked[:5]:
            api.wait_delivery_state(ws, mid, ["succeeded"], timeout=10)

    def test_sigterm_graceful_stop(self):
        server = self.start_server(name="crash-sigterm", time_factor=0.001)
        api = server.api()
        ws = api.create_workspace("sigterm")["id"]
        path = "/crash/term"
        self.receiver.program(path, Reply(status=200, delay=0.1))
        api.create_endpoint(ws, self.receiver.url(path))
        acked = [api.publish(ws, "term.test", {"i": i})["id"] for i in range(20)]
        code = server.stop(signal.SIGTERM, timeout=20)
        self.assertEqual(code, 0, f"SIGTERM must exit 0, got {code}")
        with self.assertRaises(OSError):
            fh.Api(server.host, server.port, server.admin_token, timeout=2).get("/healthz")
        before = self.receiver.delivered_ids(path)
        server.restart()
        api = server.api()
        self.receiver.wait_all_delivered("sigterm", acked, path, 30)
        print(f"\n[sigterm] {len(set(acked) & before)} delivered before exit, "
              f"{len(set(acked) - before)} after the restart", flush=True)
        self.report("sigterm", acked, path)
        for mid in acked:
            api.wait_delivery_state(ws, mid, ["succeeded"], timeout=10)
        self.assertEqual(server.stop(signal.SIGTERM, timeout=20), 0)


if __name__ == "__main__":
    unittest.main()
