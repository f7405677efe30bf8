"""The client commands of the CLI against a real server: `ferry send` (data
from an argument, a file, standard input), `ferry replay` (failed deliveries
since a time, with progress), and their errors: every command has --help,
bad input exits 2 with a message, a refusal or an unreachable server exits 1.
Progress bars and the receiving commands have their own tests."""

import json
import os
import subprocess
import tempfile
import time

import ferry_harness as fh
from ferry_harness import FerryTestCase, Receiver

COMMANDS = ["serve", "send", "replay", "catalog", "store"]


class CliTest(FerryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        # Two quick attempts, so a failing endpoint's deliveries fail at once.
        cls.server = cls.start_class_server(name="cli", time_factor=1.0,
                                            extra_args=["--retry-schedule", "0s,50ms"])
        cls.api = cls.server.api()

    def ferry(self, *args, stdin=None, token=True, env=None):
        full_env = dict(os.environ)
        full_env.pop("FERRY_TOKEN", None)
        full_env.pop("FERRY_URL", None)
        if env:
            full_env.update(env)
        command = [fh.require_ferry_bin(), *args]
        if token and args and args[0] in ("send", "replay"):
            command += ["--url", self.server.base_url, "--token", self.server.admin_token]
        return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60, env=full_env,
                              cwd=tempfile.gettempdir())

    def new_workspace(self):
        ws = self.api.create_workspace("cli")["id"]
        path = f"/cli/{ws}"
        endpoint = self.api.create_endpoint(ws, self.receiver.url(path))["id"]
        return ws, endpoint, path

    def test_every_command_has_help(self):
        for command in COMMANDS:
            with self.subTest(command=command):
                result = self.ferry(command, "--help", token=False)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("Usage", result.stdout)
        self.assertIn("--since", self.ferry("replay", "--help", token=False).stdout)
        self.assertIn("--idempotency-key", self.ferry("send", "--help", token=False).stdout)

    def test_send_from_an_argument_a_file_and_stdin(self):
        ws, _, path = self.new_workspace()
        sent = []
        result = self.ferry("send", "-w", ws, "-t", "order.completed", '{"order": 1}')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"^published msg_\S+ \(order.completed\) to 1 endpoint")
        sent.append(result.stdout.split()[1])

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as payload:
            payload.write('{"order": 2}')
        self.addCleanup(os.unlink, payload.name)
        result = self.ferry("send", "-w", ws, "-t", "order.completed", "--file", payload.name, "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        answer = json.loads(result.stdout)
        self.assertEqual(answer["data"], {"order": 2})
        sent.append(answer["id"])

        result = self.ferry("send", "-w", ws, "-t", "order.completed", "--json", stdin='{"order": 3}')
        self.assertEqual(result.returncode, 0, result.stderr)
        sent.append(json.loads(result.stdout)["id"])

        got = self.receiver.wait_for_requests(3, path)
        bodies = sorted(json.loads(r.body)["data"]["order"] for r in got)
        self.assertEqual(bodies, [1, 2, 3])
        self.assertEqual(set(self.receiver.webhook_ids(path)), set(sent))

    def test_send_with_an_idempotency_key_publishes_once(self):
        ws, _, path = self.new_workspace()
        first = self.ferry("send", "-w", ws, "-t", "a.b", "{}", "--idempotency-key", "k-1")
        again = self.ferry("send", "-w", ws, "-t", "a.b", "{}", "--idempotency-key", "k-1")
        self.assertEqual((first.returncode, again.returncode), (0, 0), first.stderr + again.stderr)
        self.assertTrue(again.stdout.startswith("already published " + first.stdout.split()[1]), again.stdout)

    def test_send_errors(self):
        ws, _, _ = self.new_workspace()
        cases = [
            (("send", "-w", ws, "-t", "a.b", "{not json"), {}, 2, "not valid JSON"),
            (("send", "-w", ws, "-t", "a.b"), {"stdin": ""}, 2, "not valid JSON"),  # empty standard input
            (("send", "-w", "ws_nope", "-t", "a.b", "{}"), {}, 1, "HTTP 404"),
            (("send", "-w", ws, "-t", "bad type!", "{}"), {}, 1, "HTTP 4"),
            (("send", "-w", ws, "-t", "a.b", "--file", "/nonexistent/x.json"), {}, 2, "cannot open"),
            (("send", "-w", ws, "-t", "a.b", "{}", "--file", "/nonexistent/x.json"), {}, 2, "not both"),
            (("send", "-w", ws, "{}"), {}, 106, "--type"),  # CLI11: a required option is missing
        ]
        for args, kw, code, says in cases:
            with self.subTest(args=args):
                result = self.ferry(*args, **kw)
                self.assertEqual(result.returncode, code, result.stdout + result.stderr)
                self.assertIn(says.lower(), result.stderr.lower())
        no_token = self.ferry("send", "-w", ws, "-t", "a.b", "{}", "--url", self.server.base_url, token=False)
        self.assertEqual(no_token.returncode, 2, no_token.stderr)
        self.assertIn("token", no_token.stderr)
        wrong_token = self.ferry("send", "-w", ws, "-t", "a.b", "{}", "--url", self.server.base_url,
                                 "--token", "adm_wrong", token=False)
        self.assertEqual(wrong_token.returncode, 1)
        self.assertIn("401", wrong_token.stderr)
        down = self.ferry("send", "-w", ws, "-t", "a.b", "{}", "--url", f"http://127.0.0.1:{fh.closed_port()}",
                          "--token", "x", token=False)
        self.assertEqual(down.returncode, 1)
        self.assertIn("cannot reach", down.stderr)

    def test_token_from_the_environment(self):
        ws, _, _ = self.new_workspace()
        result = self.ferry("send", "-w", ws, "-t", "a.b", "{}", token=False,
                            env={"FERRY_URL": self.server.base_url, "FERRY_TOKEN": self.server.admin_token})
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_replay_resends_failed_deliveries_since_a_time(self):
        ws, endpoint, path = self.new_workspace()
        other = self.api.create_endpoint(ws, self.receiver.url(path + "/other"))["id"]
        self.receiver.program(path, *([500] * 10))
        self.receiver.program(path + "/other", *([500] * 6))
        ids = [self.api.publish(ws, "cli.replay", {"n": n})["id"] for n in range(5)]
        # Each message fails on both endpoints: 2 attempts each.
        self.receiver.wait_for_requests(10, path)
        self.receiver.wait_for_requests(10, path + "/other", timeout=15)
        fh.wait_for(lambda: all(d["state"] == "failed" for m in ids
                                for d in self.api.get(f"/api/v1/workspaces/{ws}/messages/{m}/deliveries").json["data"]),
                    timeout=15)
        self.receiver.program(path, 200)
        self.receiver.program(path + "/other", 200)

        future = self.ferry("replay", "-w", ws, "--since", "2099-01-01T00:00:00Z", "--until", "2099-01-02T00:00:00Z")
        self.assertEqual(future.returncode, 0, future.stderr)
        self.assertIn("0 failed deliveries", future.stderr)

        dry = self.ferry("replay", "-w", ws, "-e", endpoint, "--since", "1h", "--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertEqual(len(dry.stdout.split("\n")) - 1, 5, dry.stdout)
        time.sleep(0.3)
        self.assertEqual(self.receiver.count(path), 10, "a dry run resent something")

        one = self.ferry("replay", "-w", ws, "-e", endpoint, "--since", "1h")
        self.assertEqual(one.returncode, 0, one.stderr)
        self.assertIn("resent 5 of 5", one.stdout)
        # Not a terminal: plain progress lines, the last one complete.
        self.assertIn("replay: 5/5 (100%)", one.stderr)
        self.assertNotIn("\r", one.stderr)
        self.receiver.wait_for_requests(15, path)
        self.assertEqual(self.receiver.count(path + "/other"), 10, "replaying one endpoint touched another")

        rest = self.ferry("replay", "-w", ws, "--since", "1h")
        self.assertEqual(rest.returncode, 0, rest.stderr)
        self.assertIn("resent 5 of 5", rest.stdout)  # the first endpoint has none failed any more
        self.receiver.wait_for_requests(15, path + "/other")

    def test_replay_errors(self):
        ws, endpoint, _ = self.new_workspace()
        cases = [
            (("replay", "-w", ws, "--since", "yesterday"), 2, "--since"),
            (("replay", "-w", ws, "--since", "1h", "--until", "2h"), 2, "--until must be after"),
            (("replay", "-w", ws, "-e", "ep_nope", "--since", "1h"), 1, "404"),
            (("replay", "-w", ws), 106, "--since"),
        ]
        for args, code, says in cases:
            with self.subTest(args=args):
                result = self.ferry(*args)
                self.assertEqual(result.returncode, code, result.stdout + result.stderr)
                self.assertIn(says.lower(), result.stderr.lower())


if __name__ == "__main__":
    import unittest
    unittest.main()
