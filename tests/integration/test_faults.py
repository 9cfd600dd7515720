"""Fault injection: a full disk, a read-only store, a store locked past the busy timeout,
an SMTP server that takes the message and hangs up before answering. Each gets a clear
error and loses nothing."""
import os
import resource
import signal
import subprocess
import time

from helpers import BIN, VALGRIND, FollowupTest, write_lock_held
from test_send import NOW_RECAP, SEQUENCE, SendBase


def limit_file_size(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def limit_memory(kb):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (kb * 1024, kb * 1024))
    return apply


class OutOfMemory(FollowupTest):
    """Commands run with less and less address space (RLIMIT_AS), from what they need
    down to what the program needs to start: each says it ran out or works, and none
    hangs or blames a file."""

    def setUp(self):
        super().setUp()
        self.ok("init")
        self.ok("import", self.data("C_eu_semicolon_sep_validar_style.csv"))

    def run_limited(self, kb, *args):
        return subprocess.run([BIN] + list(args), env=self.env(), capture_output=True,
                              text=True, timeout=10, preexec_fn=limit_memory(kb))

    def least_to_start(self):
        """The smallest limit (in KB, to 16) under which followup --version runs."""
        low, high = 1024, 256 * 1024
        if VALGRIND or self.run_limited(high, "--version").returncode != 0:
            self.skipTest("followup does not start with an address-space limit (valgrind,"
                          " or a sanitizer build, which reserves terabytes)")
        while high - low > 16:
            mid = (low + high) // 2
            if self.run_limited(mid, "--version").returncode == 0:
                high = mid
            else:
                low = mid
        return high

    def test_running_out_of_memory_is_said_not_a_hang_or_a_bad_file(self):
        start = self.least_to_start()
        for args in (["sequences", "check"], ["due"], ["pipeline"]):
            for kb in range(start, start + 16 * 1024, 16):
                proc = self.run_limited(kb, *args)
                if proc.returncode == 0:
                    break
                self.assertEqual(proc.returncode, 1, (args, kb, proc))   # not 134, abort
                self.assertRegex(proc.stderr, "^followup: .*(out of memory|allocate memory)",
                                 (args, kb))
                self.assertNotRegex(proc.stderr, "YAML|problem|invalid", (args, kb))
            else:
                self.fail(f"{args} did not run with {kb} KB")


class StoreFaults(FollowupTest):
    def setUp(self):
        super().setUp()
        self.ok("init")
        self.ok("import", self.data("C_eu_semicolon_sep_validar_style.csv"))
        self.leads = self.sql("SELECT email FROM leads ORDER BY email")

    def big_file(self, rows=50000):
        path = os.path.join(self.dir, "big.csv")
        with open(path, "w") as f:
            f.write("Email,First Name,Notes\n")
            for i in range(rows):
                f.write(f"u{i}@big.example,User{i},{'n' * 100}\n")
        return path

    def test_disk_full_during_import(self):
        size = os.path.getsize(self.db) + os.path.getsize(self.db + "-wal") \
            if os.path.exists(self.db + "-wal") else os.path.getsize(self.db)
        proc = subprocess.run([BIN, "import", self.big_file()], env=self.env(),
                              capture_output=True, text=True,
                              preexec_fn=limit_file_size(size + 256 * 1024))
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("followup: ", proc.stderr)
        self.assertRegex(proc.stderr, "(full|too large)")
        self.assertEqual(self.sql("SELECT email FROM leads ORDER BY email"), self.leads)

    def test_out_of_file_descriptors_says_so(self):
        # The store, its -wal, its -shm, the sequence files: each open may be the one
        # over the limit, and the line must say why ("unable to open database file"
        # said nothing of the cause).
        def limit_files(n):
            return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
        for args in (["leads"], ["due"], ["mark", "1", "replied"]):
            for n in range(4, 16):
                proc = subprocess.run([BIN] + args, env=self.env(), capture_output=True,
                                      text=True, preexec_fn=limit_files(n))
                if proc.returncode == 0:
                    break
                self.assertEqual(proc.returncode, 1, (args, n, proc))
                self.assertRegex(proc.stderr, "^followup: .*Too many open files", (args, n))
            else:
                self.fail(f"{args} did not run with {n} file descriptors")

    def test_stdin_that_cannot_be_copied_is_an_error(self):
        # A pipe is copied to a temporary file first; a full disk there must say so.
        cat = subprocess.Popen(["cat", self.big_file()], stdout=subprocess.PIPE)
        proc = subprocess.run([BIN, "import", "-"], env=self.env(TMPDIR=self.dir),
                              stdin=cat.stdout, capture_output=True, text=True,
                              preexec_fn=limit_file_size(256 * 1024))
        cat.stdout.close()
        cat.wait()
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("cannot copy stdin", proc.stderr)
        self.assertEqual(self.sql("SELECT email FROM leads ORDER BY email"), self.leads)

    def test_rejects_file_that_cannot_be_written(self):
        r = self.fails(1, "import", "--rejects", os.path.join(self.dir, "no", "rej.csv"),
                       self.data("A_eventyay_style_leads.csv"))
        self.assertIn("cannot write", r.err)

    def test_read_only_store(self):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "+i", self.db], check=True)
            self.addCleanup(subprocess.run, ["chattr", "-i", self.db])
        else:
            os.chmod(self.db, 0o400)
        r = self.run_followup("import", self.data("A_eventyay_style_leads.csv"))
        self.assertEqual(r.code, 1, r)
        self.assertTrue(r.err.startswith("followup: "), r)
        self.assertEqual(self.sql("SELECT email FROM leads ORDER BY email"), self.leads)

    def test_a_read_only_directory_is_named_as_the_cause(self):
        store_dir = os.path.dirname(self.db)
        if os.geteuid() == 0:
            subprocess.run(["chattr", "+i", store_dir], check=True)
            self.addCleanup(subprocess.run, ["chattr", "-i", store_dir])
        else:
            os.chmod(store_dir, 0o555)
            self.addCleanup(os.chmod, store_dir, 0o755)
        r = self.run_followup("leads")
        self.assertEqual(r.code, 1, r)
        self.assertIn("its directory is read-only", r.err)

    def test_locked_past_busy_timeout_send_marks_nothing(self):
        self.write_config()   # maildir outbox
        with write_lock_held(self.db):
            r = self.run_followup("send", now="2025-03-10T15:00:00Z", timeout=60)
        self.assertEqual(r.code, 1, r)
        self.assertIn("locked", r.err)
        self.assertNotIn("sent", [t["state"] for t in self.sql("SELECT state FROM touches")])
        self.assertFalse(os.path.isdir(os.path.join(self.outbox, "new")) and
                         os.listdir(os.path.join(self.outbox, "new")))

    def send_into_a_full_outbox(self):
        """followup send in a mount namespace of its own, where the Maildir outbox is a
        small tmpfs filled to the last block (ENOSPC, as a full disk says, where
        RLIMIT_FSIZE says EFBIG); skips when no mount namespace can be had here."""
        os.makedirs(self.outbox)
        unshare = ["unshare", "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            unshare.insert(1, "--map-root-user")
        fill = ('mount -t tmpfs -o size=64k tmpfs "$1" && mkdir "$1/tmp" "$1/new" "$1/cur"'
                ' && { head -c 1M /dev/zero > "$1/fill" 2>/dev/null; shift; exec "$@"; }')
        probe = subprocess.run(unshare + ["sh", "-c", fill, "sh", self.outbox, "true"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            self.skipTest("cannot mount a tmpfs in a mount namespace: "
                          + (probe.stderr.strip() or f"exit {probe.returncode}"))
        return subprocess.run(unshare + ["sh", "-c", fill, "sh", self.outbox, BIN, "--now",
                                         "2025-03-10T15:00:00Z", "--quiet", "send"],
                              capture_output=True, text=True, env=self.env(), timeout=60)

    def test_a_full_maildir_stops_the_send_and_marks_nothing(self):
        # Not a retry: that would use up the touches' tries while the disk stays full,
        # and a cron run (--quiet) would exit 0 until they had failed for good.
        self.write_config()   # maildir outbox
        before = self.sql("SELECT id, state, attempts, retry_at FROM touches ORDER BY id")
        proc = self.send_into_a_full_outbox()
        self.assertEqual(proc.returncode, 1, proc)
        self.assertRegex(proc.stderr, r"^followup: cannot write '.*/tmp/[^']*': "
                                      r"No space left on device\n$")
        self.assertEqual(self.sql("SELECT id, state, attempts, retry_at FROM touches"
                                  " ORDER BY id"), before)
        # The disk has room again (the tmpfs went with the namespace): they go.
        r = self.ok("send", "--json", now="2025-03-10T15:10:00Z")
        self.assertEqual(r.json()["sent"], 2, r)
        self.assertEqual(len(os.listdir(os.path.join(self.outbox, "new"))), 2)


class ServerGoesSilent(SendBase):
    """A server that takes a message and never answers: one touch in doubt, and the run
    stops there instead of waiting out the timeout once per message."""
    server_options = dict(hang_after_data=30)

    def setUp(self):
        super().setUp()
        self.use_server(self.server, extra="  timeout: 2\n")

    def test_one_timeout_stops_the_run(self):
        self.import_csv(self.lead_rows(3))
        r = self.send(NOW_RECAP, code=1)
        self.assertIn("stopped answering", r.err)
        # The next touch was not even claimed: pending, never sending or in doubt.
        self.assertEqual(sorted(self.states()[:3]), ["in_doubt", "pending", "pending"])
        self.assertEqual(self.sql("SELECT count(*) AS n FROM touches WHERE attempts > 0"),
                         [{"n": 1}])

    def test_a_timeout_on_the_last_message_still_fails_the_run(self):
        self.import_csv(self.lead_rows(1))
        r = self.send(NOW_RECAP, code=1)
        self.assertIn("stopped answering", r.err)


class DropAfterPlainData(SendBase):
    """The same with a message libcurl takes in one read (no line starting with a dot):
    it does not call back for the end, and the drop must still count as in doubt."""
    server_options = dict(drop_after_data=1)

    def setUp(self):
        super().setUp()
        with open(os.path.join(self.seqdir, "t.yaml"), "w") as f:
            f.write(SEQUENCE.replace("      .this line starts with a dot\n", ""))

    def test_accepted_plain_data_then_dropped_is_in_doubt_never_resent(self):
        self.import_csv(self.lead_rows(2))
        result = self.send(NOW_RECAP)
        self.assertEqual((result["in_doubt"], result["retry"], result["sent"]), (1, 0, 1))
        self.send("2026-03-09T15:00:00Z")
        self.send("2026-03-09T18:00:00Z")
        # The server kept only the other lead's: the dropped one is never sent again.
        recaps = [m for m in self.server.messages() if b"Re: " not in m.data]
        self.assertEqual(len(recaps), 1)


class DropAfterData(SendBase):
    server_options = dict(drop_after_data=1)

    def test_accepted_data_then_dropped_is_in_doubt(self):
        self.import_csv(self.lead_rows(2))
        result = self.send(NOW_RECAP)
        self.assertEqual(result["in_doubt"], 1)
        self.assertEqual(result["sent"], 1)
        states = sorted(t["state"] for t in self.sql("SELECT state FROM touches"
                                                     " WHERE step = 'recap'"))
        self.assertEqual(states, ["in_doubt", "sent"])
        # Never re-sent by itself, however many runs follow.
        self.send("2026-03-09T18:00:00Z")
        self.send("2026-03-10T18:00:00Z")
        doubtful = self.sql("SELECT l.email FROM touches t JOIN leads l ON l.id = t.lead_id"
                            " WHERE t.state = 'in_doubt'")[0]["email"]
        recaps_to_it = [m for m in self.server.messages()
                        if m.rcpt_tos == [doubtful] and b"Re: " not in m.data]
        self.assertLessEqual(len(recaps_to_it), 1)
        r = self.ok("pipeline", "--json", now="2026-03-10T18:00:00Z").json()
        self.assertEqual(r["touches"]["in_doubt"], 1)


class LockedWhileTheServerAnswers(SendBase):
    """The server takes the message slowly; meanwhile another command holds the store's
    write lock for longer than the 5 s busy timeout. The message is out: send waits to
    record it as sent, rather than leave it `sending` and then in doubt."""
    server_options = dict(slow_data_reply=2)

    def test_the_outcome_waits_out_a_lock_taken_mid_transfer(self):
        self.import_csv(self.lead_rows(1))
        cmd = [BIN, "--now", NOW_RECAP, "send", "--json"]
        sender = subprocess.Popen(cmd, env=self.env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not any(e.get("reply") == "slow" for e in self.server.events()):
            self.assertLess(time.monotonic(), deadline, "the message never reached DATA")
            time.sleep(0.05)
        with write_lock_held(self.db):
            time.sleep(8)     # set-up: the lock outlasts the reply by more than 5 s
        out, err = sender.communicate(timeout=120)
        self.assertEqual(sender.returncode, 0, err)
        self.assertEqual(self.states()[0], "sent")
