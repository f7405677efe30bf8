"""Durability: kill -9 during deliveries and during retries, and SIGTERM.

Every message answered 202 must reach the receiver at least once after a
restart on the same data dir (at-least-once: duplicates are allowed and reported)."""

import os
import random
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

    # --- kill -9 several times at random moments under load

    KILLS = 5
    # Enough attempts to outlast the kills and the receiver's absence.
    SCHEDULE = ",".join(["0s", "100ms", "300ms", "500ms"] + ["1s"] * 26)

    def kill_repeatedly_under_load(self, label, receiver_down):
        seed = int(os.environ.get("FERRY_CRASH_SEED") or random.randrange(1 << 30))
        rng = random.Random(seed)
        print(f"\n[{label}] seed {seed} (set FERRY_CRASH_SEED to replay the same kill moments)", flush=True)
        server = self.start_server(name=label, time_factor=1.0,
                                   extra_args=["--retry-schedule", self.SCHEDULE] + LEASE_ARGS)
        api = server.api()
        ws = api.create_workspace(label)["id"]
        paths = ["/load/a", "/load/b"]  # two endpoints: every message fans out to both
        for path in paths:
            api.create_endpoint(ws, self.receiver.url(path))
        receivers = [self.receiver]
        port = self.receiver.port
        if receiver_down:
            self.receiver.close()  # connections to its port are refused from now on

        acked: list[str] = []
        attempted: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def publisher(name, batch):
            client = fh.Api(server.host, server.port, server.admin_token, timeout=5)
            n = 0
            while not stop.is_set():
                ids = [f"{name}-{n + k:05d}" for k in range(batch or 1)]
                n += len(ids)
                with lock:
                    attempted.extend(ids)
                try:
                    if batch:
                        items = [{"type": "load.tick", "data": {"n": i}, "id": i} for i in ids]
                        resp = client.post(f"/api/v1/workspaces/{ws}/messages/batch", {"messages": items},
                                           retry=False)
                    else:
                        resp = client.post(f"/api/v1/workspaces/{ws}/messages",
                                           {"type": "load.tick", "data": {"n": ids[0]}, "id": ids[0]}, retry=False)
                except Exception:  # the server died under this request, or is not back yet
                    client.close()
                    time.sleep(0.05)
                    continue
                if resp.status == 202:
                    with lock:
                        acked.extend(m["id"] for m in (resp.json["data"] if batch else [resp.json]))
                # Paced (about 800 messages/s in all): the point is the kills
                # landing mid-request and mid-commit, and the Python receiver
                # must then take every delivery within the test's time.
                time.sleep(0.01)
            client.close()

        threads = [threading.Thread(target=publisher, args=(f"single{i}", 0), daemon=True) for i in range(3)]
        threads.append(threading.Thread(target=publisher, args=("batch", 10), daemon=True))
        for thread in threads:
            thread.start()
        acked_at_kill = []
        for _ in range(self.KILLS):
            time.sleep(rng.uniform(0.3, 1.5))
            server.kill()
            with lock:
                acked_at_kill.append(len(acked))
            time.sleep(rng.uniform(0.0, 0.3))
            server.restart()
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(15)
        self.assertGreater(acked_at_kill[0], 0, "nothing was acked before the first kill")
        self.assertGreater(len(acked), acked_at_kill[-1], "nothing was acked after the last restart")
        if receiver_down:
            self.assertEqual(self.receiver.count(), 0)
            self.receiver = Receiver(port=port)  # back on the same address
            self.addCleanup(self.receiver.close)
            receivers.append(self.receiver)

        def delivered(path):
            return set().union(*(r.delivered_ids(path) for r in receivers))

        for path in paths:
            try:
                fh.wait_for(lambda: set(acked) <= delivered(path), 90, interval=0.2,
                            message=f"every acked message delivered to {path} ({label})")
            except AssertionError:
                missing = sorted(set(acked) - delivered(path))
                api = server.api()
                print(f"[{label}] {len(missing)} acked messages never delivered to {path}: {missing[:10]}")
                for mid in missing[:3]:
                    print(mid, api.get(f"/api/v1/workspaces/{ws}/messages/{mid}").describe()[:300])
                    print(mid, api.get(f"/api/v1/workspaces/{ws}/messages/{mid}/deliveries").describe()[:600])
                    print(mid, api.get(f"/api/v1/workspaces/{ws}/messages/{mid}/attempts").describe()[:600])
                raise
        stored_ids = set(attempted)
        duplicates = {}
        for path in paths:
            arrived = [r.headers.get("webhook-id") for rec in receivers for r in rec.received(path)
                       if r.answered is not None and 200 <= r.answered < 300]
            self.assertTrue(set(arrived) <= stored_ids, "a message id nobody published was delivered")
            duplicates[path] = len(arrived) - len(set(arrived))
        print(f"[{label}] {self.KILLS} kills (acked at each: {acked_at_kill}); {len(acked)} acked of "
              f"{len(attempted)} attempted, all delivered to both endpoints; duplicates {duplicates}", flush=True)
        # Acked messages are stored, whatever the kills interrupted.
        api = server.api()
        for mid in rng.sample(acked, min(20, len(acked))):
            self.assertEqual(api.expect(api.get(f"/api/v1/workspaces/{ws}/messages/{mid}"), 200)["id"], mid)

    def test_kill9_repeatedly_under_load(self):
        self.kill_repeatedly_under_load("kill9-load", receiver_down=False)

    def test_kill9_repeatedly_under_load_while_the_receiver_is_down(self):
        self.kill_repeatedly_under_load("kill9-load-down", receiver_down=True)

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
