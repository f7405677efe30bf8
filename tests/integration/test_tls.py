"""TLS to endpoints: verification is on by default, so a receiver whose
certificate no trusted CA signed is refused ("tls", nothing delivered);
--tls-ca-file trusts a private CA; --verify-tls false is the explicit opt-out.
Certificates are made for the test with the openssl command."""

import http.server
import os
import ssl
import subprocess
import tempfile
import threading
import unittest

import ferry_harness as fh
from ferry_harness import FerryTestCase


def make_ca_and_server_cert(directory):
    """A CA and a certificate for 127.0.0.1 and localhost that it signed."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Ferry test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(directory, "san.ext"), "w") as out:
        out.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
    return os.path.join(directory, "ca.pem"), os.path.join(directory, "server.pem"), os.path.join(directory, "server.key")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.ids.append(self.headers.get("webhook-id"))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


class TlsReceiver:
    def __init__(self, cert, key):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.lock = threading.Lock()
        self.server.ids = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def ids(self):
        with self.server.lock:
            return list(self.server.ids)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class TlsTest(FerryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ferry-tls-")
        cls.ca, cert, key = make_ca_and_server_cert(cls.dir)
        cls.receiver = TlsReceiver(cert, key)
        cls.addClassCleanup(cls.receiver.close)

    def deliver_once(self, name, extra_args, host="127.0.0.1"):
        server = self.start_server(name=name, time_factor=0.001, extra_args=["--retry-schedule", "0s"] + extra_args)
        api = server.api()
        ws = api.create_workspace(name)["id"]
        api.create_endpoint(ws, f"https://{host}:{self.receiver.port}/hook")
        msg = api.publish(ws, "tls.check", {"x": 1})
        delivery = api.wait_delivery_state(ws, msg["id"], ["succeeded", "failed"], timeout=15)[0]
        attempt = api.attempts(ws, msg["id"])[0]
        return msg["id"], delivery, attempt

    def test_unknown_ca_is_refused_by_default(self):
        mid, delivery, attempt = self.deliver_once("tls-default", [])
        self.assertEqual(delivery["state"], "failed", attempt)
        self.assertEqual(attempt["error"], "tls", attempt)
        self.assertIsNone(attempt["response_status"])
        self.assertTrue(attempt["error_detail"], attempt)
        self.assertNotIn(mid, self.receiver.ids(), "the request reached a receiver whose certificate was not trusted")

    def test_custom_ca_file_is_trusted(self):
        for host in ("127.0.0.1", "localhost"):
            with self.subTest(host=host):
                mid, delivery, attempt = self.deliver_once(f"tls-ca-{host}", ["--tls-ca-file", self.ca], host=host)
                self.assertEqual(delivery["state"], "succeeded", attempt)
                self.assertEqual(attempt["response_status"], 200)
                self.assertIn(mid, self.receiver.ids())

    def test_verification_can_be_turned_off_explicitly(self):
        mid, delivery, attempt = self.deliver_once("tls-off", ["--verify-tls", "false"])
        self.assertEqual(delivery["state"], "succeeded", attempt)
        self.assertIn(mid, self.receiver.ids())


if __name__ == "__main__":
    unittest.main()
