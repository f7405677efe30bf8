"""Secrets stay secret: with logging at its most verbose (debug: one line per
attempt, plus every API request), neither the admin token, nor a workspace
API key, nor an endpoint's signing secret, nor a signature, nor an
Authorization header sent by an endpoint's custom headers appears in the
logs or on stdout; API keys are stored as hashes only."""

import os
import sqlite3
import unittest

import ferry_harness as fh
from ferry_harness import FerryTestCase, Receiver, Reply


class SecretsTest(FerryTestCase):
    def test_no_secret_in_logs_or_stored_keys(self):
        receiver = Receiver()
        self.addCleanup(receiver.close)
        for log_format in ("text", "json"):
            with self.subTest(log_format=log_format):
                server = self.start_server(name=f"secrets-{log_format}", time_factor=0.001,
                                           extra_args=["--log-level", "trace", "--log-format", log_format,
                                                       "--retry-schedule", "0s,10ms"])
                api = server.api()
                ws = api.create_workspace("secrets")["id"]
                key = api.create_api_key(ws, "publisher")
                custom_auth = "Bearer custom-" + os.urandom(8).hex()
                path_ok, path_fail = f"/secrets/{log_format}/ok", f"/secrets/{log_format}/fail"
                receiver.program(path_fail, Reply(status=500))
                ok = api.create_endpoint(ws, receiver.url(path_ok), headers={"Authorization": custom_auth})
                failing = api.create_endpoint(ws, receiver.url(path_fail))
                rotated = api.expect(api.post(f"/api/v1/workspaces/{ws}/endpoints/{ok['id']}/secret/rotate", {}),
                                     200)
                keyed = fh.Api(server.host, server.port, key["token"])
                sent = [keyed.publish(ws, "secret.test", {"i": i})["id"] for i in range(3)]
                receiver.wait_all_delivered("secrets", sent, path_ok, 15)
                fh.wait_for(lambda: any(d["state"] == "failed" for d in api.deliveries(ws, sent[0])), 15,
                            message="the failing endpoint's delivery failed")
                # Wrong tokens are logged as refusals, never echoed.
                wrong = "fa_" + os.urandom(16).hex()
                self.assertEqual(fh.Api(server.host, server.port, wrong).get(f"/api/v1/workspaces/{ws}").status, 401)
                signatures = [r.headers["webhook-signature"] for r in receiver.received(path_ok)]
                self.assertTrue(signatures)
                self.assertEqual(server.stop(), 0)

                logs = open(server.stderr_path, encoding="utf-8", errors="replace").read()
                stdout = server.stdout_text()
                self.assertIn("attempt", logs, "debug logging did not log attempts: the test would prove nothing")
                secrets = {"admin token": server.admin_token, "API key": key["token"],
                           "endpoint secret": ok["secret"], "rotated secret": rotated.get("secret", ok["secret"]),
                           "failing endpoint's secret": failing["secret"], "custom Authorization": custom_auth,
                           "wrong token": wrong}
                for i, signature in enumerate(signatures):
                    secrets[f"signature {i}"] = signature.split(",", 1)[1].split(" ")[0]
                for name, value in secrets.items():
                    self.assertNotIn(value, logs, f"the {name} appears in the logs")
                    self.assertNotIn(value, stdout, f"the {name} appears on stdout")
                    # Nor its base64 body without the whsec_ prefix.
                    if value.startswith("whsec_"):
                        self.assertNotIn(value[len("whsec_"):], logs, f"the {name} appears in the logs")

                if not fh.is_postgres():
                    with sqlite3.connect(os.path.join(server.data_dir, "ferry.db")) as db:
                        hashes = [row[0] for row in db.execute("SELECT token_hash FROM api_keys")]
                        dump = "\n".join(db.iterdump())
                    self.assertEqual(len(hashes), 1)
                    self.assertNotIn(key["token"], dump, "an API key is stored as it is")
                    self.assertNotEqual(hashes[0], key["token"])


if __name__ == "__main__":
    unittest.main()
