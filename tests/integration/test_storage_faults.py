"""Storage faults: a full disk, a read-only file system, a database locked by
another process, a broken config file. Publishing answers 503 with a clear
error instead of 202 while the fault lasts, the server stays up, it recovers
by itself when the fault clears, and every message it accepted is delivered.

The data directory lives on a small tmpfs mounted for the test (root only;
CI runs as root). SQLite only: these are faults of the embedded store's disk."""

import os
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

import ferry_harness as fh
from ferry_harness import FerryServer, FerryTestCase, Receiver

DISK_BYTES = 24 * 1024 * 1024


def can_mount():
    return os.geteuid() == 0


class SmallDisk:
    """A tmpfs of DISK_BYTES: a disk that can be filled, emptied and made read-only."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="ferry-small-disk-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", self.path], check=True)
        self.filler = os.path.join(self.path, "filler")

    def fill(self):
        """Writes zeros until the disk is full (ENOSPC)."""
        chunk = b"\0" * (256 * 1024)
        with open(self.filler, "ab", buffering=0) as out:
            try:
                while True:
                    out.write(chunk)
            except OSError:
                pass
        # The last partial blocks too.
        with open(self.filler, "ab", buffering=0) as out:
            try:
                while True:
                    out.write(b"\0" * 512)
            except OSError:
                pass

    def free(self):
        os.unlink(self.filler)

    def read_only(self, on):
        subprocess.run(["mount", "-o", "remount," + ("ro" if on else "rw"), self.path], check=True)

    def close(self):
        subprocess.run(["umount", "-l", self.path], check=False)
        os.rmdir(self.path)


class FailingDisk:
    """An ext4 file system on a loop device, mounted errors=remount-ro: what a
    real disk error does to a running server. The kernel's own error path
    (trigger_fs_error) turns it read-only under files open for writing, and
    only an unmount, a file system check and a new mount make it writable."""

    def __init__(self):
        self.image = tempfile.mktemp(prefix="ferry-ext4-", suffix=".img")
        self.path = tempfile.mkdtemp(prefix="ferry-failing-disk-")
        with open(self.image, "wb") as out:
            out.truncate(64 * 1024 * 1024)
        subprocess.run(["mkfs.ext4", "-q", "-F", self.image], check=True)
        self.mount()

    def mount(self):
        subprocess.run(["mount", "-o", "loop,errors=remount-ro", self.image, self.path], check=True)
        source = subprocess.run(["findmnt", "-n", "-o", "SOURCE", self.path], check=True,
                                capture_output=True, text=True).stdout.strip()
        self.device = os.path.basename(source)  # loopN: its name under /sys/fs/ext4

    def fail(self):
        with open(f"/sys/fs/ext4/{self.device}/trigger_fs_error", "w") as knob:
            knob.write("1")
        options = subprocess.run(["findmnt", "-n", "-o", "OPTIONS", self.path], check=True,
                                 capture_output=True, text=True).stdout
        assert "ro" in options.split(",") or "emergency_ro" in options, options

    def repair(self):
        """What an operator does once the disk is fixed: unmount, check, mount."""
        subprocess.run(["umount", self.path], check=True)
        subprocess.run(["e2fsck", "-f", "-y", self.image], check=False, capture_output=True)
        self.mount()

    def close(self):
        subprocess.run(["umount", "-l", self.path], check=False)
        os.rmdir(self.path)
        os.unlink(self.image)


def can_use_loop_devices():
    return os.geteuid() == 0 and os.path.exists("/dev/loop-control") and os.path.isdir("/sys/fs/ext4")


@unittest.skipUnless(can_mount() or fh.IN_CI, "mounting a small tmpfs needs root (CI runs as root)")
class StorageFaultTest(FerryTestCase):
    def setUp(self):
        super().setUp()
        self.disk = SmallDisk()
        self.addCleanup(self.disk.close)
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)
        # The store is SQLite on the small disk whatever the variant.
        self.server = self.start_server(name="storage", database="", time_factor=0.001,
                                        data_dir=os.path.join(self.disk.path, "data"))
        self.api = self.server.api()
        self.ws = self.api.create_workspace("faults")["id"]
        self.path = "/faults/ep"
        self.api.create_endpoint(self.ws, self.receiver.url(self.path))
        self.acked = []
        self.refused = []

    def publish(self, n, size=2048):
        """One publish; records whether it was accepted. Anything but 202 or 503 fails the test."""
        resp = self.api.post(f"/api/v1/workspaces/{self.ws}/messages",
                             {"type": "fault.tick", "data": {"n": n, "pad": "p" * size}})
        if resp.status == 202:
            self.acked.append(resp.json["id"])
        else:
            self.assertError(resp, 503, "unavailable")
            self.refused.append(resp)
        return resp.status

    def publish_until_refused(self, start, limit=3000):
        """Publishes until one is refused with 503 (a full WAL may first reuse its own space)."""
        for n in range(start, start + limit):
            if self.publish(n) == 503:
                return n
        self.fail(f"{limit} publishes were all accepted during the fault")

    def publish_until_accepted(self, start, timeout=15.0):
        deadline = time.monotonic() + timeout
        n = start
        while time.monotonic() < deadline:
            if self.publish(n) == 202:
                return n
            n += 1
            time.sleep(0.1)
        self.fail(f"publishes still refused {timeout}s after the fault cleared")

    def assert_up_and_reading(self):
        self.assertTrue(self.api.healthy(), "the server stopped answering during a storage fault")
        self.assertEqual(self.api.get(f"/api/v1/workspaces/{self.ws}").status, 200, "reads must go on")

    def assert_every_acked_message_delivered(self, label):
        self.receiver.wait_all_delivered(label, self.acked, self.path, 60)
        for mid in self.acked[:: max(1, len(self.acked) // 10)]:
            self.assertEqual(self.api.expect(self.api.get(f"/api/v1/workspaces/{self.ws}/messages/{mid}"), 200)["id"],
                             mid)
        print(f"\n[{label}] {len(self.acked)} accepted and delivered, {len(self.refused)} refused with 503: "
              f"{self.refused[0].json['error']['message'] if self.refused else '-'}", flush=True)

    def test_full_disk(self):
        for n in range(20):
            self.assertEqual(self.publish(n), 202)
        self.disk.fill()
        n = self.publish_until_refused(20)
        message = self.refused[0].json["error"]["message"].lower()
        self.assertTrue("full" in message or "space" in message or "disk" in message, message)
        for i in range(5):  # stays refused, stays up
            self.assertIn(self.publish(n + 1 + i), (202, 503))
        self.assert_up_and_reading()
        self.disk.free()
        self.publish_until_accepted(n + 10)
        for i in range(20):
            self.assertEqual(self.publish(10_000 + i), 202)
        self.assert_every_acked_message_delivered("full disk")
        self.assertEqual(self.server.stop(), 0)

    def test_read_only_file_system_at_start(self):
        # A file system cannot be made read-only under files open for
        # writing (the kernel does that only on disk errors), so this is the
        # restart onto a disk that went read-only: a clear refusal to start,
        # and everything there once it is writable again.
        for n in range(20):
            self.assertEqual(self.publish(n), 202)
        self.receiver.wait_all_delivered("before read-only", self.acked, self.path, 30)
        self.assertEqual(self.server.stop(), 0)
        self.disk.read_only(True)
        try:
            result = subprocess.run([fh.require_ferry_bin(), "serve", "--data-dir", self.server.data_dir,
                                     "--listen", "127.0.0.1:0", "--admin-token", "x"],
                                    capture_output=True, text=True, timeout=30)
            self.assertNotEqual(result.returncode, 0, "started on a read-only data directory")
            self.assertIn("read-only", result.stderr.lower(), result.stderr)
        finally:
            self.disk.read_only(False)
        self.server.restart()
        self.api = self.server.api()
        for n in range(20, 40):
            self.assertEqual(self.publish(n), 202)
        self.assert_every_acked_message_delivered("read-only at start")

    def test_database_locked_by_another_process(self):
        for n in range(10):
            self.assertEqual(self.publish(n), 202)
        db = sqlite3.connect(os.path.join(self.server.data_dir, "ferry.db"), timeout=30, isolation_level=None)
        self.addCleanup(db.close)
        db.execute("BEGIN EXCLUSIVE")  # what a careless sqlite3 shell or backup job might do
        try:
            started = time.monotonic()
            status = self.publish(10)
            waited = time.monotonic() - started
            self.assertEqual(status, 503, "a publish was accepted while another process held the write lock")
            self.assertIn("lock", self.refused[0].json["error"]["message"].lower())
            # The store's writes share one connection, so the claim and the
            # recorder may each wait out the 5 s busy timeout before this
            # publish waits its own (15.1 s seen under ASan).
            self.assertLess(waited, 30, "the publish waited far beyond the busy timeouts")
            self.assert_up_and_reading()
        finally:
            db.execute("ROLLBACK")
        self.publish_until_accepted(11)
        self.assert_every_acked_message_delivered("locked database")


@unittest.skipUnless(can_use_loop_devices() or fh.IN_CI, "an ext4 loop device needs root (CI runs as root)")
class DiskErrorTest(FerryTestCase):
    def test_file_system_turns_read_only_under_a_running_server(self):
        disk = FailingDisk()
        self.addCleanup(disk.close)
        receiver = Receiver()
        self.addCleanup(receiver.close)
        server = self.start_server(name="disk-error", database="", time_factor=0.001,
                                   data_dir=os.path.join(disk.path, "data"))
        api = server.api()
        ws = api.create_workspace("disk-error")["id"]
        path = "/disk-error/ep"
        api.create_endpoint(ws, receiver.url(path))
        acked, refused = [], []

        def publish(n):
            resp = api.post(f"/api/v1/workspaces/{ws}/messages", {"type": "fault.tick", "data": {"n": n}})
            if resp.status == 202:
                acked.append(resp.json["id"])
            else:
                self.assertError(resp, 503, "unavailable")
                refused.append(resp)
            return resp.status

        for n in range(20):
            self.assertEqual(publish(n), 202)
        disk.fail()
        for n in range(20, 30):
            publish(n)
        self.assertTrue(refused, "publishes were accepted on a read-only file system")
        self.assertEqual(acked[20:], [], "a publish was answered 202 after the disk went read-only")
        message = refused[0].json["error"]["message"].lower()
        self.assertIn("read-only", message)
        self.assertTrue(api.healthy(), "the server stopped answering after the disk error")
        self.assertEqual(api.get(f"/api/v1/workspaces/{ws}").status, 200, "reads must go on")
        server.stop()  # may not checkpoint: the exit status is not the point here
        disk.repair()
        server.restart()
        api = server.api()
        for n in range(30, 50):
            self.assertEqual(publish(n), 202)
        receiver.wait_all_delivered("disk error", acked, path, 60)
        print(f"\n[disk error] {len(acked)} accepted and delivered, {len(refused)} refused with 503: "
              f"{refused[0].json['error']['message']}", flush=True)


class BrokenConfigTest(FerryTestCase):
    def run_serve(self, config_text):
        workdir = tempfile.mkdtemp(prefix="ferry-config-")
        config = os.path.join(workdir, "ferry.toml")
        with open(config, "w") as out:
            out.write(config_text)
        return subprocess.run([fh.require_ferry_bin(), "serve", "--config", config, "--data-dir",
                               os.path.join(workdir, "data"), "--listen", "127.0.0.1:0"],
                              capture_output=True, text=True, timeout=20), config

    def test_broken_config_file_is_refused_with_its_place(self):
        cases = [
            ('listen = "127.0.0.1:0"\nretry_schedule = [1, 2\n', "line"),  # malformed TOML
            ('endpoint_concurrency = "many"\n', "endpoint-concurrency"),  # a wrong value
            ('no_such_setting = 1\n', "no_such_setting"),  # an unknown name
        ]
        for text, named in cases:
            with self.subTest(config=text):
                result, path = self.run_serve(text)
                self.assertNotEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertIn(named, result.stderr, result.stderr)
                self.assertNotIn("listening", result.stdout.lower(), "it started anyway")


if __name__ == "__main__":
    unittest.main()
