"""Running Ferry as a service: the shipped systemd unit (dist/systemd/
ferry.service) passes `systemd-analyze verify` without a warning and keeps a
low exposure score, and its ExecStart, with the shipped example
configuration (dist/ferry.toml), starts a server that answers /healthz and
stops cleanly on the unit's KillSignal within its TimeoutStopSec."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

import ferry_harness as fh
from ferry_harness import FerryTestCase

UNIT = fh.REPO_ROOT / "dist" / "systemd" / "ferry.service"
EXAMPLE_CONFIG = fh.REPO_ROOT / "dist" / "ferry.toml"
INSTALLED_BINARY = "/usr/local/bin/ferry"
MAX_EXPOSURE = 2.0


def unit_settings(text):
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def seconds(value):
    match = re.fullmatch(r"(\d+)s?", value)
    assert match, value
    return int(match.group(1))


@unittest.skipUnless(shutil.which("systemd-analyze") or fh.IN_CI, "systemd-analyze is in Debian's systemd package")
class SystemdUnitTest(FerryTestCase):
    def setUp(self):
        super().setUp()
        self.workdir = Path(tempfile.mkdtemp(prefix="ferry-unit-"))
        self.addCleanup(shutil.rmtree, self.workdir, True)
        # The unit names the installed binary; verify it against this build.
        self.unit = self.workdir / "ferry.service"
        self.unit.write_text(UNIT.read_text().replace(INSTALLED_BINARY, fh.require_ferry_bin()))

    def analyze(self, *args):
        return subprocess.run(["systemd-analyze", *args, str(self.unit)], capture_output=True, text=True,
                              timeout=60, cwd=self.workdir)

    def test_unit_verifies_without_warnings(self):
        result = self.analyze("verify")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr.strip(), "", "systemd-analyze warned")

    def test_unit_is_hardened(self):
        result = self.analyze("security", "--offline=true")
        match = re.search(r"Overall exposure level for ferry.service: ([\d.]+)", result.stdout)
        self.assertIsNotNone(match, result.stdout + result.stderr)
        exposure = float(match.group(1))
        print(f"\n[systemd] exposure level {exposure}", flush=True)
        self.assertLessEqual(exposure, MAX_EXPOSURE)

    def test_exec_start_with_the_example_config_serves_and_stops_cleanly(self):
        settings = unit_settings(UNIT.read_text())
        command = shlex.split(settings["ExecStart"][0])
        self.assertEqual(command[:2], [INSTALLED_BINARY, "serve"])
        data_dir = self.workdir / "data"
        replacements = {INSTALLED_BINARY: fh.require_ferry_bin(), "/etc/ferry/ferry.toml": str(EXAMPLE_CONFIG),
                        "/var/lib/ferry": str(data_dir)}
        command = [replacements.get(arg, arg) for arg in command]
        port = fh.free_port()
        proc = subprocess.Popen(command + ["--listen", f"127.0.0.1:{port}"], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        url = f"http://127.0.0.1:{port}/healthz"

        def healthy():
            try:
                with urllib.request.urlopen(url, timeout=1) as answer:
                    return answer.status == 200
            except OSError:
                return False

        fh.wait_for(healthy, timeout=20)
        self.assertTrue((data_dir / "admin-token").exists(), "no admin token generated in the state directory")
        kill_signal = getattr(signal, settings["KillSignal"][0])
        started = time.monotonic()
        proc.send_signal(kill_signal)
        proc.wait(timeout=seconds(settings["TimeoutStopSec"][0]))
        output = proc.stdout.read()
        self.assertEqual(proc.returncode, 0, output)
        self.assertLess(time.monotonic() - started, seconds(settings["TimeoutStopSec"][0]))
        # The example config asks for JSON logs: every log line is one object.
        log_lines = [line for line in output.splitlines() if line.startswith("{")]
        self.assertTrue(log_lines, output)


if __name__ == "__main__":
    unittest.main()
