"""The client commands of the CLI against a real server: `ferry send` (data
from an argument, a file, standard input), `ferry replay` (failed deliveries
since a time, with progress), and their errors: every command has --help,
bad input exits 2 with a message, a refusal or an unreachable server exits 1.
`ferry listen` (a local receiver that verifies, prints and forwards what a
real server delivers) and `ferry verify` (a saved request)."""

import json
import os
import pty
import re
import signal
import threading
import subprocess
import tempfile
import time

import ferry_harness as fh
from ferry_harness import FerryTestCase, Receiver

COMMANDS = ["serve", "send", "replay", "verify", "listen", "catalog", "store"]


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

    def test_replay_draws_a_bar_on_a_terminal(self):
        ws, _, _ = self.new_workspace()
        primary, secondary = pty.openpty()
        try:
            result = subprocess.run([fh.require_ferry_bin(), "replay", "-w", ws, "--since", "1h", "--url",
                                     self.server.base_url, "--token", self.server.admin_token],
                                    stdout=subprocess.PIPE, stderr=secondary, text=True, timeout=30,
                                    env={**os.environ, "TERM": "xterm"})
            os.close(secondary)
            secondary = None
            drawn = b""
            while True:
                try:
                    chunk = os.read(primary, 4096)
                except OSError:  # EIO once the writer is gone
                    break
                if not chunk:
                    break
                drawn += chunk
        finally:
            if secondary is not None:
                os.close(secondary)
            os.close(primary)
        self.assertEqual(result.returncode, 0)
        self.assertIn(b"\rreplay [" + b"#" * 30 + b"] 0/0 100%", drawn)

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


class Listener:
    """A `ferry listen` process; its stdout lines are collected as they come."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([fh.require_ferry_bin(), "listen", "--listen", "127.0.0.1:0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        banner = self.proc.stderr.readline()
        match = re.search(r"listening on (http://\S+)", banner)
        if match is None:
            self.proc.kill()
            raise AssertionError(f"ferry listen did not start: {banner}{self.proc.stderr.read()}")
        self.url = match.group(1)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def output(self):
        return "".join(self.lines)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        return code

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()


class ReceivingCommandsTest(FerryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = cls.start_class_receiver()
        cls.server = cls.start_class_server(name="cli-receive", time_factor=1.0,
                                            extra_args=["--retry-schedule", "0s"])
        cls.api = cls.server.api()

    def listen(self, *args):
        listener = Listener(*args)
        self.addCleanup(listener.close)
        return listener

    def last_attempt(self, ws, message_id):
        attempts = fh.wait_for(lambda: self.api.attempts(ws, message_id), timeout=15)
        return attempts[-1]

    def test_listen_verifies_and_prints_what_ferry_delivers(self):
        ws = self.api.create_workspace("listen")["id"]
        endpoint = self.api.create_endpoint(ws, "http://127.0.0.1:9/not-yet")  # Ferry generates the secret
        listener = self.listen("--secret", endpoint["secret"])
        self.api.expect(self.api.patch(f"/api/v1/workspaces/{ws}/endpoints/{endpoint['id']}",
                                       {"url": listener.url + "/hooks"}), 200)
        message = self.api.publish(ws, "order.completed", {"order": 42})
        attempt = self.last_attempt(ws, message["id"])
        self.assertEqual(attempt["response_status"], 200, attempt)
        fh.wait_for(lambda: "verified" in listener.output(), timeout=10)
        out = listener.output()
        self.assertIn(f"POST /hooks  order.completed  {message['id']}  verified", out)
        self.assertIn('"order": 42', out)
        self.assertEqual(listener.stop(), 0)

    def test_listen_refuses_a_wrong_secret_and_ferry_records_it(self):
        ws = self.api.create_workspace("listen-wrong")["id"]
        listener = self.listen("--secret", "whsec_" + "B" * 32)
        self.api.create_endpoint(ws, listener.url)
        message = self.api.publish(ws, "order.completed", {"order": 1})
        attempt = self.last_attempt(ws, message["id"])
        self.assertEqual(attempt["response_status"], 401, attempt)
        self.assertIn("no_matching_signature", attempt["response_body"])
        fh.wait_for(lambda: "REJECTED" in listener.output(), timeout=10)
        self.assertIn("REJECTED no_matching_signature", listener.output())

    def test_listen_json_lines_and_forwarding(self):
        ws = self.api.create_workspace("listen-forward")["id"]
        secret = "whsec_" + "C" * 40
        self.receiver.program("/app", 202)
        listener = self.listen("--secret", secret, "--json", "--forward-to", self.receiver.url("/app"))
        self.api.create_endpoint(ws, listener.url + "/in", secret=secret)
        message = self.api.publish(ws, "invoice.paid", {"amount": 7})
        attempt = self.last_attempt(ws, message["id"])
        # Ferry records what the application behind the listener answered.
        self.assertEqual(attempt["response_status"], 202, attempt)
        got = self.receiver.wait_for_requests(1, "/app")[0]
        self.assertEqual(got.headers["webhook-id"], message["id"])
        self.assertEqual(got.json["data"], {"amount": 7})
        fh.wait_for(lambda: listener.lines, timeout=10)
        line = json.loads(listener.lines[0])
        self.assertTrue(line["verified"])
        self.assertEqual(line["type"], "invoice.paid")
        self.assertEqual(line["id"], message["id"])
        self.assertEqual(line["body"]["data"], {"amount": 7})
        self.assertEqual(line["forwarded"]["status"], 202)

    def test_listen_with_a_product_profile(self):
        ws = self.api.create_workspace("listen-penguin")["id"]
        secret = "whsec_" + "D" * 32
        listener = self.listen("--secret", secret, "--profile", "penguinmails", "--json")
        self.api.create_endpoint(ws, listener.url, secret=secret, profile="penguinmails")
        message = self.api.publish(ws, "email.opened", {"email": "a@example.com"})
        self.assertEqual(self.last_attempt(ws, message["id"])["response_status"], 200)
        fh.wait_for(lambda: listener.lines, timeout=10)
        self.assertTrue(json.loads(listener.lines[0])["verified"])

    def test_listen_input_errors(self):
        for args, says in [(("--secret", "whsec_!!!"), "bad_secret"), (("--secret", "whsec_" + "A" * 32, "--profile", "x"),
                                                                   "no wire profile"),
                           (("--secret", "whsec_" + "A" * 32, "--forward-to", "ftp://x"), "--forward-to")]:
            with self.subTest(args=args):
                result = subprocess.run([fh.require_ferry_bin(), "listen", "--listen", "127.0.0.1:0", *args],
                                        capture_output=True, text=True, timeout=20)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(says, result.stderr)

    def saved_request(self, recorded, body=None):
        lines = [f"{recorded.method} {recorded.path} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in recorded.header_list]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + (recorded.body if body is None else body)
        with tempfile.NamedTemporaryFile("wb", suffix=".http", delete=False) as out:
            out.write(raw)
        self.addCleanup(os.unlink, out.name)
        return out.name

    def verify(self, *args):
        return subprocess.run([fh.require_ferry_bin(), "verify", *args], capture_output=True, text=True, timeout=20)

    def test_verify_a_saved_request(self):
        ws = self.api.create_workspace("verify")["id"]
        path = f"/verify/{ws}"
        endpoint = self.api.create_endpoint(ws, self.receiver.url(path))
        self.api.publish(ws, "order.completed", {"order": 9})
        recorded = self.receiver.wait_for_requests(1, path)[0]
        saved = self.saved_request(recorded)

        good = self.verify("--secret", endpoint["secret"], "--request", saved)
        self.assertEqual(good.returncode, 0, good.stdout + good.stderr)
        self.assertIn("verified", good.stdout)
        # Rotation: the receiver may hold the new and the old secret.
        both = self.verify("--secret", "whsec_" + "E" * 32, "--secret", endpoint["secret"], "--request", saved)
        self.assertEqual(both.returncode, 0, both.stdout)

        tampered = self.verify("--secret", endpoint["secret"], "--request",
                               self.saved_request(recorded, recorded.body.replace(b"9", b"8")))
        self.assertEqual(tampered.returncode, 1)
        self.assertIn("no_matching_signature", tampered.stdout)
        wrong = self.verify("--secret", "whsec_" + "F" * 32, "--request", saved)
        self.assertEqual(wrong.returncode, 1)

        # Headers and body in files of their own.
        with tempfile.NamedTemporaryFile("w", delete=False) as headers, \
                tempfile.NamedTemporaryFile("wb", delete=False) as body:
            headers.write("\n".join(f"{n}: {v}" for n, v in recorded.header_list) + "\n")
            body.write(recorded.body)
        self.addCleanup(os.unlink, headers.name)
        self.addCleanup(os.unlink, body.name)
        split = self.verify("--secret", endpoint["secret"], "--headers", headers.name, "--body", body.name)
        self.assertEqual(split.returncode, 0, split.stdout + split.stderr)

    def test_verify_checks_the_age_unless_told_not_to(self):
        secret = "whsec_" + "G" * 32
        old = 1_600_000_000
        signed = fh.sign(secret, "msg_old", old, b'{"a":1}')
        raw = (f"POST / HTTP/1.1\r\nwebhook-id: msg_old\r\nwebhook-timestamp: {old}\r\n"
               f"webhook-signature: {signed}\r\n\r\n").encode() + b'{"a":1}'
        with tempfile.NamedTemporaryFile("wb", delete=False) as out:
            out.write(raw)
        self.addCleanup(os.unlink, out.name)
        aged = self.verify("--secret", secret, "--request", out.name)
        self.assertEqual(aged.returncode, 1)
        self.assertIn("timestamp_too_old", aged.stdout)
        ignored = self.verify("--secret", secret, "--request", out.name, "--ignore-age")
        self.assertEqual(ignored.returncode, 0, ignored.stdout)

    def test_verify_input_errors(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as junk:
            junk.write("this is not a request")
        self.addCleanup(os.unlink, junk.name)
        secret = "whsec_" + "H" * 32
        for args, says in [(("--secret", secret, "--request", junk.name), "empty line"),
                           (("--secret", secret, "--request", "/nonexistent"), "nonexistent"),
                           (("--secret", secret), "--request"),
                           (("--secret", "whsec_short", "--request", junk.name), "bad_secret")]:
            with self.subTest(args=args):
                result = self.verify(*args)
                self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
                self.assertIn(says, result.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
