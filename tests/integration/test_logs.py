"""Logs: with --log-format json every line is one JSON object with a time, a
level and a message; --log-level filters by level; at debug there is exactly
one line per delivery attempt, naming the delivery, the endpoint and the
outcome, and at info there is none. (test_secrets proves no secret is in
them at any level.)"""

import json
import re

import ferry_harness as fh
from ferry_harness import FerryTestCase, Receiver, Reply

LEVELS = {"trace", "debug", "info", "warning", "warn", "error", "critical"}


class LogsTest(FerryTestCase):
    def run_server(self, level):
        """Three messages to an endpoint that answers 200 (one attempt each) and
        to one that answers 500 (two attempts each, the whole schedule): nine
        attempts, whatever order they run in."""
        receiver = Receiver()
        self.addCleanup(receiver.close)
        server = self.start_server(name=f"logs-{level}", time_factor=1.0,
                                   extra_args=["--log-level", level, "--log-format", "json",
                                               "--retry-schedule", "0s,10ms"])
        api = server.api()
        ws = api.create_workspace("logs")["id"]
        ok_path, failing_path = f"/logs/{level}/ok", f"/logs/{level}/failing"
        receiver.program(failing_path, *([Reply(status=500)] * 6))
        endpoints = {api.create_endpoint(ws, receiver.url(ok_path))["id"],
                     api.create_endpoint(ws, receiver.url(failing_path))["id"]}
        sent = [api.publish(ws, "log.test", {"i": i})["id"] for i in range(3)]
        receiver.wait_for_requests(3, ok_path)
        receiver.wait_for_requests(6, failing_path)
        attempts = fh.wait_for(lambda: (lambda a: a if len(a) == 9 else None)(
            [a for m in sent for a in api.attempts(ws, m)]), timeout=15)
        self.assertEqual(server.stop(), 0)
        with open(server.stderr_path, encoding="utf-8") as log:
            lines = log.read().splitlines()
        return lines, attempts, endpoints

    def parse(self, lines):
        records = []
        for line in lines:
            record = json.loads(line)  # every line is one object
            self.assertIsInstance(record, dict, line)
            self.assertRegex(record["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(record["level"], LEVELS, line)
            self.assertIsInstance(record["message"], str)
            records.append(record)
        return records

    def test_one_json_line_per_attempt_at_debug(self):
        lines, attempts, endpoints = self.run_server("debug")
        records = self.parse(lines)
        logged = [r for r in records if r["message"].startswith("attempt ")]
        self.assertEqual(len(logged), len(attempts), "\n".join(r["message"] for r in logged))
        by_id = {r["message"].split()[1]: r for r in logged}
        for attempt in attempts:
            record = by_id[attempt["id"]]
            self.assertEqual(record["level"], "debug")
            self.assertIn(f"delivery={attempt['delivery_id']}", record["message"])
            self.assertIn(attempt["endpoint_id"], endpoints)
            self.assertIn(f"endpoint={attempt['endpoint_id']}", record["message"])
            self.assertIn(f"status={attempt['response_status']}", record["message"])
            self.assertRegex(record["message"], r"latency_ms=\d+\.\d")

    def test_info_leaves_attempts_out(self):
        lines, attempts, _ = self.run_server("info")
        records = self.parse(lines)
        self.assertEqual(len(attempts), 9)
        self.assertEqual([r for r in records if r["message"].startswith("attempt ")], [])
        self.assertTrue(all(r["level"] != "debug" for r in records))
        self.assertTrue(any(re.match(r"listening on ", r["message"]) for r in records))


if __name__ == "__main__":
    import unittest
    unittest.main()
