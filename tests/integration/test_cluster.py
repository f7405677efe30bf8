"""Several `ferry serve` nodes on one PostgreSQL database (PostgreSQL only).

Every node has its own --listen port and --data-dir and the same --admin-token;
they share nothing but the database. Covers: nodes starting together on an
empty database, and hearing of changes made right after their start; delivery
exactly once with attempts visible from any node; Idempotency-Key races across
nodes; endpoint changes reaching other nodes' fan-out within 1 s; wake-up
latency; takeover of a SIGKILLed node's deliveries when their leases expire;
at-least-once delivery of every accepted message while nodes die and come
back under load; and the database server itself going away and coming back
(on a PostgreSQL server of that test's own).

Needs a PostgreSQL server (FERRY_TEST_POSTGRES_URL or FERRY_TEST_POSTGRES_DIR,
see ferry_harness.py); without one every test fails, none is skipped. ctest
runs this file once, as integration.postgres.test_cluster."""

import secrets
import statistics
import subprocess
import threading
import time
import unittest

import ferry_harness as fh
from ferry_harness import FerryServer, FerryTestCase, Receiver, Reply

# Every node here runs with a short lease, so that takeovers happen within the
# tests. `ferry serve` wants --lease-timeout >= --request-timeout + 3s (a
# delivery is sent only while a whole request timeout of its lease is left).
REQUEST_TIMEOUT = "2s"
LEASE = "5s"
LEASE_SECONDS = 5.0
IDLE_POLL_SECONDS = 1.0  # a node with nothing to do looks at the database at least this often
PROPAGATION_SECONDS = 1.0  # endpoint changes made on one node reach the others' fan-out within this


def serve_help() -> str:
    proc = subprocess.run([fh.require_ferry_bin(), "serve", "--help"], capture_output=True, timeout=30)
    return (proc.stdout + proc.stderr).decode("utf-8", "replace")


class ClusterTestCase(FerryTestCase):
    """One fresh database and one receiver per test; nodes started with node()."""

    def setUp(self):
        super().setUp()
        self.db = self.make_database("cluster_" + self.id().rsplit(".", 1)[-1].removeprefix("test_"))
        self.addCleanup(self.db.drop)  # cleanups run after tearDown, which stops the nodes
        self.admin_token = "adm_" + secrets.token_hex(16)
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)

    def tearDown(self):
        self.receiver.release()  # held requests end now, so that nodes stop quickly
        for node in self.own_servers:
            node.resume()
        super().tearDown()

    def make_database(self, label: str) -> fh.TestDatabase:
        return fh.TestDatabase(label)

    def node(self, name: str, *extra_args: str, start: bool = True, **kw) -> FerryServer:
        """A node on this test's database, with the shared admin token and a short lease."""
        srv = FerryServer(name=name, database=self.db, admin_token=self.admin_token,
                          extra_args=["--request-timeout", REQUEST_TIMEOUT, "--lease-timeout", LEASE, *extra_args],
                          **kw)
        self.own_servers.append(srv)
        if start:
            srv.start()
        return srv

    def nodes(self, *names: str, extra_args=(), **kw) -> list[FerryServer]:
        return [self.node(n, *extra_args, **kw) for n in names]

    def wait_in_sync(self, ws: str, apis) -> None:
        """Creates a probe endpoint through apis[0] and waits until every node
        fans out to it. Each node reloads a workspace's endpoints as a whole, so
        every endpoint created before the probe is then known to all of them:
        the test that follows measures what it means to, not propagation."""
        first = apis[0]
        first.create_endpoint(ws, self.receiver.url("/cluster/sync-probe"), filter_types=["sync.probe"])
        for api in apis:
            fh.wait_for(lambda: api.publish(ws, "sync.probe", {})["deliveries"] == 1, PROPAGATION_SECONDS,
                        interval=0.05,
                        message=f"the node on port {api.port} fanning out to an endpoint created through port "
                                f"{first.port} (it never learnt of the change: see test_change_right_after_"
                                f"a_node_starts)")

    def report_duplicates(self, label: str, acked, path: str) -> int:
        """Prints how many acked messages arrived, how many the receiver answered
        2xx more than once (true duplicates) and how many were sent again after
        a request that was never answered (its sender died: expected at least
        once). Returns the number of true duplicates."""
        reqs = self.receiver.received(path)
        ok: dict = {}
        unanswered: set = set()
        for r in reqs:
            mid = r.headers.get("webhook-id")
            if r.answered is None:
                unanswered.add(mid)
            elif 200 <= r.answered < 300:
                ok[mid] = ok.get(mid, 0) + 1
        twice = {m: c for m, c in ok.items() if c > 1}
        resent = sorted(m for m in unanswered if m in ok)
        print(f"\n[{label}] acked={len(set(acked))} delivered={len(set(ok) & set(acked))} requests={len(reqs)} "
              f"duplicates={sum(c - 1 for c in twice.values())} (answered 2xx more than once"
              + (f", e.g. {sorted(twice.items())[:5]}" if twice else "")
              + f"); sent again after an unanswered request={len(resent)}", flush=True)
        return sum(c - 1 for c in twice.values())


class ClusterStartTest(ClusterTestCase):
    def test_nodes_start_together_on_an_empty_database(self):
        """Three nodes started at once on a fresh database all come up (schema
        migrations are serialised) and see the same data."""
        nodes = [self.node(n, start=False) for n in ("s1", "s2", "s3")]
        errors: list = []

        def start(n):
            try:
                n.start()
            except BaseException as exc:  # reported below
                errors.append(f"{n.name}: {exc}")

        threads = [threading.Thread(target=start, args=(n,), daemon=True) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(fh.START_TIMEOUT + 10)
        self.assertFalse(any(t.is_alive() for t in threads), "a node start did not return")
        self.assertFalse(errors, "nodes failed to start together on an empty database:\n" + "\n".join(errors))
        apis = [n.api() for n in nodes]
        ws = apis[0].create_workspace("start", ws_id="start_" + secrets.token_hex(3))["id"]
        for api in apis:
            self.assertEqual(api.expect(api.get(f"/api/v1/workspaces/{ws}"), 200)["id"], ws)
        self.assertEqual(apis[2].post("/api/v1/workspaces", {"id": ws, "name": "again"}).status, 409,
                         "a workspace id taken on one node must be taken on all")

    def test_change_right_after_a_node_starts(self):
        """A node that has just printed "listening on" hears of endpoint changes
        made elsewhere from then on, as fast as a node that has run for long:
        its change feed listens before it first loads the endpoints."""
        a = self.node("a")
        api_a = a.api()
        rounds, took, lost = 6, [], []
        for r in range(rounds):
            b = self.node(f"b{r}")
            api_b = b.api()
            ws = api_a.create_workspace(f"fresh{r}")["id"]
            api_a.create_endpoint(ws, self.receiver.url("/cluster/fresh"))
            t0 = time.monotonic()
            seen = None
            while seen is None and time.monotonic() - t0 < PROPAGATION_SECONDS:
                if api_b.publish(ws, "fresh.tick", {})["deliveries"] == 1:
                    seen = time.monotonic() - t0
                else:
                    time.sleep(0.05)
            if seen is None:
                lost.append(r)
            else:
                took.append(seen)
            api_b.close()
            b.stop()
        print(f"\n[fresh-node] {len(lost)} of {rounds} just-started nodes never saw (within "
              f"{PROPAGATION_SECONDS:.0f} s) an endpoint created on another node right after their start; "
              f"the others after {', '.join(f'{t * 1000:.0f}' for t in took)} ms", flush=True)
        self.assertEqual(lost, [], "endpoint changes made right after a node started never reached it: its "
                                   "publishes keep fanning out to the endpoints it loaded at start")


class ClusterDeliveryTest(ClusterTestCase):
    def test_publish_on_a_delivered_once_attempts_visible_on_b(self):
        a, b = self.nodes("a", "b")
        api_a, api_b = a.api(), b.api()
        ws = api_a.create_workspace("cluster")["id"]
        path = "/cluster/once"
        ep = api_a.create_endpoint(ws, self.receiver.url(path), filter_types=["cluster.*"])
        self.wait_in_sync(ws, [api_a, api_b])

        msg = api_a.publish(ws, "cluster.once", {"n": 1})
        self.assertEqual(msg["deliveries"], 1, msg)
        rec = self.receiver.wait_for_requests(1, path, timeout=10)[0]
        fh.verify(ep["secret"], rec.headers, rec.body)
        self.assertEqual(rec.headers.get("webhook-id"), msg["id"])

        # Node B serves what node A stored and what either node delivered.
        stored = api_b.expect(api_b.get(f"/api/v1/workspaces/{ws}/messages/{msg['id']}"), 200)
        self.assertEqual(stored["data"], {"n": 1})
        dl = api_b.wait_delivery_state(ws, msg["id"], ["succeeded"], timeout=10)[0]
        self.assertEqual(dl["attempt_count"], 1, dl)
        attempts = api_b.wait_attempts(ws, msg["id"], 1, timeout=10)
        self.assertEqual(len(attempts), 1, attempts)
        self.assertEqual(attempts[0]["response_status"], 200)
        self.assertEqual(attempts[0]["delivery_id"], dl["id"])
        by_ep = api_b.expect(api_b.get(f"/api/v1/workspaces/{ws}/endpoints/{ep['id']}/attempts"), 200)["data"]
        self.assertEqual([x["id"] for x in by_ep], [attempts[0]["id"]])

        # More messages, published on both nodes: each delivered exactly once
        # although both nodes' schedulers compete for them.
        ids = [msg["id"]]
        for i in range(40):
            api = api_a if i % 2 else api_b
            m = api.publish(ws, "cluster.once", {"n": i + 2})
            self.assertEqual(m["deliveries"], 1, f"published through port {api.port}: {m}")
            ids.append(m["id"])
        self.receiver.wait_for_requests(len(ids), path, timeout=20)
        time.sleep(IDLE_POLL_SECONDS + 0.5)  # another node's duplicate would have arrived by now
        got = self.receiver.webhook_ids(path)
        dups = sorted({m for m in got if got.count(m) > 1})
        self.assertEqual(dups, [], f"delivered more than once without any failure: {dups[:10]}")
        self.assertEqual(sorted(got), sorted(ids))
        for mid in ids[::8]:
            for api in (api_a, api_b):
                self.assertEqual(len(api.attempts(ws, mid)), 1, f"attempts of {mid} as seen by {api.port}")

    def test_api_key_and_workspace_created_on_a_work_on_b(self):
        a, b = self.nodes("a", "b")
        api_a, api_b = a.api(), b.api()
        ws = api_a.create_workspace("keys")["id"]
        key = api_a.create_api_key(ws, "k")["token"]
        key_b = api_b.with_token(key)
        fh.wait_for(lambda: key_b.get(f"/api/v1/workspaces/{ws}").status == 200, PROPAGATION_SECONDS,
                    message="an API key created on A accepted by B")
        self.assertEqual(api_b.expect(api_b.get(f"/api/v1/workspaces/{ws}"), 200)["id"], ws)

    def test_same_idempotency_key_on_two_nodes_concurrently(self):
        a, b = self.nodes("a", "b")
        api_a = a.api()
        ws = api_a.create_workspace("idem")["id"]
        path = "/cluster/idem"
        api_a.create_endpoint(ws, self.receiver.url(path), filter_types=["idem.*"])
        self.wait_in_sync(ws, [api_a, b.api()])
        rounds = 60
        prefix = "idem-" + secrets.token_hex(4)
        barrier = threading.Barrier(2, timeout=15)
        results: dict = {"a": [None] * rounds, "b": [None] * rounds}
        errors: list = []

        def racer(label, node):
            api = node.api()
            try:
                for i in range(rounds):
                    barrier.wait()
                    resp = api.post(f"/api/v1/workspaces/{ws}/messages",
                                    {"type": "idem.race", "data": {"node": label, "round": i}},
                                    headers={"Idempotency-Key": f"{prefix}-{i}"})
                    results[label][i] = resp
            except BaseException as exc:
                errors.append(f"{label}: {exc!r}")
                barrier.abort()

        threads = [threading.Thread(target=racer, args=(lbl, n), daemon=True) for lbl, n in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse(any(t.is_alive() for t in threads), "racers did not finish")
        self.assertFalse(errors, "\n".join(errors))

        ids = []
        for i in range(rounds):
            ra, rb = results["a"][i], results["b"][i]
            with self.subTest(round=i):
                self.assertEqual(ra.status, 202, ra.describe())
                self.assertEqual(rb.status, 202, rb.describe())
                self.assertEqual(ra.json["id"], rb.json["id"], "one Idempotency-Key, two message ids")
                flags = sorted([ra.json["duplicate"], rb.json["duplicate"]])
                self.assertEqual(flags, [False, True], "exactly one of the two requests created the message")
                winner = "a" if ra.json["duplicate"] is False else "b"
                created, dup = (ra, rb) if winner == "a" else (rb, ra)
                # "deliveries": how many this request created (docs/api.md).
                self.assertEqual((created.json["deliveries"], dup.json["deliveries"]), (1, 0))
                stored = api_a.expect(api_a.get(f"/api/v1/workspaces/{ws}/messages/{ra.json['id']}"), 200)
                self.assertEqual(stored["data"], {"node": winner, "round": i}, "the creator's data is kept")
                ids.append(ra.json["id"])
        listed, _ = api_a.list_all(f"/api/v1/workspaces/{ws}/messages?type=idem.race", limit=100)
        self.assertEqual(sorted(m["id"] for m in listed), sorted(set(ids)), "one stored message per key")

        self.receiver.wait_for_requests(len(set(ids)), path, timeout=20)
        time.sleep(IDLE_POLL_SECONDS + 0.5)
        got = self.receiver.webhook_ids(path)
        self.assertEqual(sorted(got), sorted(set(ids)), "one delivery per Idempotency-Key")

    def test_endpoint_changes_on_a_reach_b_within_1s(self):
        a, b = self.nodes("a", "b")
        api_a, api_b = a.api(), b.api()
        ws = api_a.create_workspace("propagation")["id"]
        # Both nodes' change feeds are up (a just-started node's may take a moment:
        # test_change_right_after_a_node_starts) and B fans out nothing for prop.*.
        self.wait_in_sync(ws, [api_a, api_b])
        self.assertEqual(api_b.publish(ws, "prop.tick", {"warm": True})["deliveries"], 0)
        path = "/cluster/prop"

        def publish_on_b_until(label, t0, wanted, settle):
            """Publishes on B every 50 ms; returns [(started - t0, deliveries, id)].
            Publishes started more than PROPAGATION_SECONDS after t0 must report
            `wanted` deliveries; stops `settle` seconds after the first one that does."""
            seen = []
            first_ok = None
            deadline = t0 + PROPAGATION_SECONDS + 4.0
            while time.monotonic() < deadline:
                started = time.monotonic()
                msg = api_b.publish(ws, "prop.tick", {"label": label, "i": len(seen)})
                seen.append((started - t0, msg["deliveries"], msg["id"]))
                if msg["deliveries"] == wanted and first_ok is None:
                    first_ok = started
                if first_ok is not None and time.monotonic() >= max(first_ok + settle, t0 + PROPAGATION_SECONDS):
                    break
                time.sleep(0.05)
            late = [(round(dt, 3), d) for dt, d, _ in seen if dt > PROPAGATION_SECONDS and d != wanted]
            took = next((dt for dt, d, _ in seen if d == wanted), None)
            print(f"\n[propagation:{label}] first publish on B with {wanted} deliveries started "
                  f"{'never' if took is None else f'{took * 1000:.0f} ms'} after the change on A "
                  f"({len(seen)} publishes)", flush=True)
            self.assertIsNotNone(took, f"{label}: B never saw the change made on A: {seen[-5:]}")
            self.assertEqual(late, [], f"{label}: publishes on B more than {PROPAGATION_SECONDS}s after the "
                                       f"change on A still fanned out the old way (seconds, deliveries)")
            return seen

        ep = api_a.create_endpoint(ws, self.receiver.url(path), filter_types=["prop.*"])
        seen = publish_on_b_until("created", time.monotonic(), 1, settle=0.3)
        fanned = [mid for _, d, mid in seen if d == 1]
        self.receiver.wait_for_requests(len(fanned), path, timeout=10)
        self.assertTrue(set(fanned) <= set(self.receiver.webhook_ids(path)))

        api_a.expect(api_a.patch(f"/api/v1/workspaces/{ws}/endpoints/{ep['id']}", {"enabled": False}), 200)
        t_disabled = time.monotonic()
        seen = publish_on_b_until("disabled", t_disabled, 0, settle=0.5)
        not_fanned = {mid for _, d, mid in seen if d == 0}
        time.sleep(0.3)
        self.assertEqual(not_fanned & set(self.receiver.webhook_ids(path)), set(),
                         "a message published without deliveries reached the endpoint")

        api_a.expect(api_a.patch(f"/api/v1/workspaces/{ws}/endpoints/{ep['id']}", {"enabled": True}), 200)
        publish_on_b_until("re-enabled", time.monotonic(), 1, settle=0.3)

        self.assertEqual(api_a.delete(f"/api/v1/workspaces/{ws}/endpoints/{ep['id']}").status, 204)
        publish_on_b_until("deleted", time.monotonic(), 0, settle=0.3)

    def test_wake_up_latency_publishing_on_alternate_nodes(self):
        """Publish -> receive latency with both nodes idle between publishes. A
        node that only noticed new work on its idle poll would show about half
        the poll interval (~500 ms) as median; waking on publish (directly, or
        LISTEN/NOTIFY for the other node) shows a few ms."""
        a, b = self.nodes("a", "b")
        api_a, api_b = a.api(), b.api()
        ws = api_a.create_workspace("wake")["id"]
        path = "/cluster/wake"
        api_a.create_endpoint(ws, self.receiver.url(path), filter_types=["wake.*"])
        self.wait_in_sync(ws, [api_a, api_b])
        time.sleep(IDLE_POLL_SECONDS)  # both idle
        latencies = {"a": [], "b": []}
        for i in range(24):
            label, api = (("a", api_a), ("b", api_b))[i % 2]
            time.sleep(0.15 + (i % 5) * 0.07)  # idle in between, at varying phases of the poll
            before = self.receiver.count(path)
            t0 = time.monotonic()
            msg = api.publish(ws, "wake.tick", {"i": i})
            self.assertEqual(msg["deliveries"], 1, f"published on {label}: {msg}")
            recs = self.receiver.wait_for_requests(before + 1, path, timeout=10)
            rec = next((r for r in recs if r.headers.get("webhook-id") == msg["id"]), None)
            if rec is None:
                rec = fh.wait_for(lambda: next((r for r in self.receiver.received(path)
                                                if r.headers.get("webhook-id") == msg["id"]), None),
                                  10, message=f"delivery of {msg['id']}")
            latencies[label].append(rec.time - t0)
        every = latencies["a"] + latencies["b"]
        p50 = statistics.median(every)
        p90 = sorted(every)[int(len(every) * 0.9) - 1]
        print(f"\n[wake] publish->receive p50={p50 * 1000:.0f} ms p90={p90 * 1000:.0f} ms "
              f"(on A: p50 {statistics.median(latencies['a']) * 1000:.0f} ms, on B: p50 "
              f"{statistics.median(latencies['b']) * 1000:.0f} ms)", flush=True)
        self.assertLess(p50, 0.3, f"median latency {p50:.3f}s: new messages wait for the idle poll")
        for label in ("a", "b"):
            self.assertLess(statistics.median(latencies[label]), 0.3, f"publishing on {label}")


class ClusterFailureTest(ClusterTestCase):
    HELD_SECONDS = 3.0  # how long the receiver holds node A's requests

    def test_sigkilled_node_deliveries_taken_over_after_lease(self):
        self.assertIn("--lease-timeout", serve_help(), "`ferry serve --help` does not list --lease-timeout")
        concurrency = 4
        a = self.node("a", "--endpoint-concurrency", str(concurrency))
        b = self.node("b", "--endpoint-concurrency", str(concurrency))
        api_a = a.api()
        ws = api_a.create_workspace("takeover")["id"]
        path = "/cluster/held"
        # A's first requests are held (then dropped when A dies); later ones answer at once.
        self.receiver.program(path, *([Reply(status=200, delay=self.HELD_SECONDS)] * concurrency + [Reply(status=200)]))
        api_a.create_endpoint(ws, self.receiver.url(path))
        b.api().expect(b.api().get(f"/api/v1/workspaces/{ws}"), 200)

        # Only A may claim while we publish: B is frozen (SIGSTOP) until A is dead.
        b.pause()
        try:
            acked = [api_a.publish(ws, "takeover.tick", {"i": i})["id"] for i in range(10)]
            fh.wait_for(lambda: self.receiver.inflight(path) >= concurrency, 10,
                        message=f"{concurrency} requests of node A in flight")
            in_flight = {r.headers.get("webhook-id") for r in self.receiver.received(path) if r.answered is None}
            a.kill()
            t_kill = time.monotonic()
        finally:
            b.resume()
        print(f"\n[takeover] killed A with {len(in_flight)} deliveries in flight, "
              f"{len(set(acked) - in_flight)} others accepted", flush=True)

        self.receiver.wait_all_delivered("takeover", acked, path, LEASE_SECONDS + IDLE_POLL_SECONDS + 20)
        answered = {}
        for r in self.receiver.received(path):
            mid = r.headers.get("webhook-id")
            if r.answered is not None and 200 <= r.answered < 300 and mid not in answered:
                answered[mid] = r.time - t_kill
        takeover = sorted(answered[m] for m in in_flight)
        print(f"[takeover] in-flight deliveries answered {takeover[0]:.2f}-{takeover[-1]:.2f} s after the kill "
              f"(lease {LEASE})", flush=True)
        self.report_duplicates("takeover", acked, path)
        # Not before the lease could have expired: B must not steal a live lease.
        # (A claimed them a few hundred ms before the kill at most.)
        self.assertGreater(takeover[0], LEASE_SECONDS - 2.0,
                           f"A's in-flight deliveries were taken over before their {LEASE} lease expired")

        api_b = b.api()
        for mid in acked:
            api_b.wait_delivery_state(ws, mid, ["succeeded"], timeout=10)
        for mid in sorted(in_flight):
            atts = api_b.attempts(ws, mid)
            self.assertTrue(any(x["response_status"] == 200 for x in atts), f"{mid}: {atts}")

    def test_three_nodes_under_load_one_killed_and_restarted(self):
        nodes = self.nodes("n1", "n2", "n3")
        api0 = nodes[0].api()
        ws = api0.create_workspace("load")["id"]
        path = "/cluster/load"
        self.receiver.program(path, Reply(status=200, delay=0.02))
        api0.create_endpoint(ws, self.receiver.url(path), filter_types=["load.*"])
        self.wait_in_sync(ws, [n.api() for n in nodes])

        per_node = 150
        victim = nodes[2]
        lock = threading.Lock()
        acked: list = []
        fanout_missed: list = []
        attempted: list = []
        errors: dict = {n.name: [] for n in nodes}
        resume = threading.Event()

        def publisher(node):
            api = fh.Api(node.host, node.port, self.admin_token)
            i = 0
            deadline = time.monotonic() + 120
            while i < per_node and time.monotonic() < deadline:
                mid = f"load-{node.name}-{i:04d}"
                with lock:
                    attempted.append(mid)
                try:
                    resp = api.post(f"/api/v1/workspaces/{ws}/messages",
                                    {"type": "load.tick", "data": {"i": i}, "id": mid}, retry=False)
                except Exception as exc:  # the node died under us: wait for it to come back
                    errors[node.name].append(f"{mid}: {exc!r}")
                    api.close()
                    if node is not victim or not resume.wait(60):
                        return
                    i += 1
                    continue
                if resp.status == 202:
                    with lock:
                        acked.append(resp.json["id"])
                        if resp.json.get("deliveries") != 1:
                            fanout_missed.append(f"{mid} on {node.name}: {resp.json.get('deliveries')} deliveries")
                else:
                    errors[node.name].append(f"{mid}: {resp.describe()}")
                i += 1
                time.sleep(0.005)

        threads = [threading.Thread(target=publisher, args=(n,), daemon=True) for n in nodes]
        for t in threads:
            t.start()
        try:
            fh.wait_for(lambda: len(acked) >= per_node and self.receiver.count(path) >= 30, 60,
                        message="a third of the messages accepted before the kill")
            victim.kill()
            with lock:
                at_kill = len(acked)
            time.sleep(1.0)
            victim.restart()
        finally:
            resume.set()
        for t in threads:
            t.join(150)
        self.assertFalse(any(t.is_alive() for t in threads), "publishers did not finish")
        print(f"\n[load] killed {victim.name} with {at_kill} of {3 * per_node} accepted; "
              f"publish errors: " + ", ".join(f"{k}={len(v)}" for k, v in errors.items()), flush=True)
        for name, errs in errors.items():
            if name != victim.name:
                self.assertEqual(errs, [], f"publishing on the surviving node {name} failed")
        self.assertGreaterEqual(len(acked), 3 * per_node - len(errors[victim.name]))
        self.assertLess(at_kill, 3 * per_node, "the kill came too late to test anything")
        self.assertEqual(fanout_missed, [], "accepted messages that did not fan out to the one endpoint "
                                            "(a restarted node must load every endpoint)")

        self.receiver.wait_all_delivered("load", acked, path, 60)
        self.report_duplicates("load", acked, path)
        self.assertTrue(set(self.receiver.webhook_ids(path)) <= set(attempted), "phantom message ids delivered")
        # Every node serves every accepted message.
        for n in nodes:
            api = n.api()
            for mid in acked[:: max(1, len(acked) // 8)]:
                self.assertEqual(api.expect(api.get(f"/api/v1/workspaces/{ws}/messages/{mid}"), 200)["id"], mid)


class ClusterDatabaseOutageTest(ClusterTestCase):
    """The database server stops and comes back (docs/scale-out.md, "When the
    database is away"). On a PostgreSQL server of this test's own: the shared
    one serves other tests meanwhile."""

    def make_database(self, label: str) -> fh.TestDatabase:
        self.pg = fh.PrivatePostgres("outage")
        self.addCleanup(self.pg.cleanup)  # runs after the database's drop, registered later
        return fh.TestDatabase(label, server_url=self.pg.start())

    def test_publishes_refused_while_database_down_and_resume_after(self):
        a, b = self.nodes("a", "b")
        api_a, api_b = a.api(), b.api()
        ws = api_a.create_workspace("outage")["id"]
        path = "/cluster/outage"
        api_a.create_endpoint(ws, self.receiver.url(path), filter_types=["outage.tick"])
        self.wait_in_sync(ws, [api_a, api_b])
        acked = [api.publish(ws, "outage.tick", {"before": i})["id"] for i, api in enumerate((api_a, api_b))]
        self.receiver.wait_for_requests(2, path, timeout=10)

        self.pg.stop()
        t_down = time.monotonic()
        answers = []
        for i in range(6):
            api = (api_a, api_b)[i % 2]
            resp = api.post(f"/api/v1/workspaces/{ws}/messages", {"type": "outage.tick", "data": {"down": i}})
            answers.append(resp)
        print(f"\n[outage] publishes while the database was down answered "
              f"{[r.status for r in answers]} within {time.monotonic() - t_down:.1f}s", flush=True)
        for resp in answers:
            self.assertError(resp, 503, "unavailable")
        # The nodes stay up and answer, whatever /healthz says about the database.
        self.assertIn(api_a.get("/healthz", token=None).status, (200, 503))

        # A node cannot start without its database.
        late = self.node("late", start=False)
        with self.assertRaises(AssertionError):
            late.start(timeout=30)
        self.assertIn("cannot connect", late.stderr_tail().lower(), late.log_tails())

        self.pg.start()  # same port, same data
        t_up = time.monotonic()
        for api in (api_a, api_b):
            fh.wait_for(lambda: api.post(f"/api/v1/workspaces/{ws}/messages",
                                         {"type": "outage.probe", "data": {}}).status == 202, 20,
                        interval=0.2, message="publishes accepted again after the database came back")
        print(f"[outage] both nodes accept publishes {time.monotonic() - t_up:.1f}s after the database "
              f"came back", flush=True)
        acked += [api.publish(ws, "outage.tick", {"after": i})["id"] for i, api in enumerate((api_a, api_b))]

        # The nodes' change feeds are back too: an endpoint made on A reaches B's fan-out.
        api_a.create_endpoint(ws, self.receiver.url("/cluster/outage-new"), filter_types=["outage.new"])
        t0 = time.monotonic()
        fh.wait_for(lambda: api_b.publish(ws, "outage.new", {})["deliveries"] == 1, 10, interval=0.1,
                    message="an endpoint created on A after the outage used by B")
        print(f"[outage] B fanned out to A's new endpoint after {time.monotonic() - t0:.2f}s", flush=True)

        self.receiver.wait_all_delivered("outage", acked, path, 30)
        for mid in acked:
            api_b.wait_delivery_state(ws, mid, ["succeeded"], timeout=10)


if __name__ == "__main__":
    unittest.main()
