"""Shared helpers for integration tests: run the real followup binary on a real store
in a temporary directory, as a user would."""
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "tests", "data")
SEQUENCES = os.path.join(ROOT, "sequences")
BIN = os.environ.get("FOLLOWUP_BIN", os.path.join(ROOT, "build", "followup"))
# FOLLOWUP_VALGRIND=1 runs every command under valgrind: any leak or invalid access fails it.
VALGRIND = ["valgrind", "-q", "--error-exitcode=97", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect"] \
    if os.environ.get("FOLLOWUP_VALGRIND") else []


@contextlib.contextmanager
def write_lock_held(db):
    """Holds the store's write lock, as another writer would, for the length of the
    with-block: entered once sqlite3 has the lock (it answers only then, and -bail makes
    it quit instead if it cannot take it)."""
    locker = subprocess.Popen(["sqlite3", "-bail", db], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        locker.stdin.write("BEGIN EXCLUSIVE; SELECT 'locked';\n")
        locker.stdin.flush()
        if locker.stdout.readline() != "locked\n":
            raise AssertionError(f"sqlite3 could not take the write lock of {db}")
        yield
    finally:
        with contextlib.suppress(BrokenPipeError):
            locker.stdin.write("ROLLBACK;\n.quit\n")
            locker.stdin.close()
        locker.wait()


def wait_until_blocked_on_pipe(proc, direction, timeout=30):
    """Returns once proc sleeps in a read from ("read") or a write to ("write") a pipe:
    waiting for its stdin, or for a reader of its full stdout. The kernel says where a
    process sleeps in /proc/PID/wchan ("pipe_read", "anon_pipe_write"; "pipe_wait"
    before Linux 5.5)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"exited ({proc.returncode}) instead of waiting on a pipe")
        with open(f"/proc/{proc.pid}/wchan") as f:
            wchan = f.read()
        if f"pipe_{direction}" in wchan or wchan == "pipe_wait":
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"never blocked on a pipe {direction} (wchan {wchan!r})")
        time.sleep(0.01)


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f"<exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}>"


class FollowupTest(unittest.TestCase):
    """Each test gets a fresh HOME with a config, a store path and the shipped sequences."""

    config = None   # extra config text appended to the base config

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="followup-test-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.db = os.path.join(self.dir, "followup.db")
        self.seqdir = os.path.join(self.dir, "sequences")
        shutil.copytree(SEQUENCES, self.seqdir)
        self.outbox = os.path.join(self.dir, "outbox")
        self.config_path = os.path.join(self.dir, "config.yaml")
        self.write_config(self.config or "")

    def write_config(self, extra=""):
        with open(self.config_path, "w") as f:
            f.write("timezone: America/New_York\n"
                    "default_sequence: event-followup\n"
                    "sender: { name: Alex Rep, email: alex@acme.example }\n"
                    + extra)
            if "smtp:" not in extra:
                f.write(f"smtp:\n  url: maildir:{self.outbox}\n")

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
        env.update(HOME=self.dir, TZ="America/New_York", FOLLOWUP_DB=self.db,
                   FOLLOWUP_CONFIG=self.config_path, FOLLOWUP_SEQUENCES=self.seqdir)
        env.update(extra)
        return env

    def run_followup(self, *args, now=None, input=None, env=None, timeout=120):
        cmd = VALGRIND + [BIN]
        if now:
            cmd += ["--now", now]
        cmd += list(args)
        proc = subprocess.run(cmd, capture_output=True, text=True, input=input,
                              env=env or self.env(), timeout=timeout)
        return Result(proc)

    def ok(self, *args, **kw):
        r = self.run_followup(*args, **kw)
        self.assertEqual(r.code, 0, r)
        return r

    def fails(self, code, *args, **kw):
        r = self.run_followup(*args, **kw)
        self.assertEqual(r.code, code, r)
        self.assertTrue(r.err.startswith("followup: "), r)
        return r

    def data(self, name):
        return os.path.join(DATA, name)

    def write(self, name, content, mode="w"):
        path = os.path.join(self.dir, name)
        with open(path, mode) as f:
            f.write(content)
        return path

    def sql(self, query):
        """Reads the store with the sqlite3 CLI: the test checks what landed."""
        out = subprocess.run(["sqlite3", "-json", self.db, query], capture_output=True,
                             text=True, check=True).stdout
        return json.loads(out) if out.strip() else []
