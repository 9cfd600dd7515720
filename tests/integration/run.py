#!/usr/bin/python3
"""Runs integration test files, two at a time (each test makes its own temp dirs and
ports, so they do not collide), and fails if any fails."""
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def run(path):
    proc = subprocess.run([sys.executable, "-m", "unittest", "-q", path],
                          capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.abspath(__file__)))
    return path, proc.returncode, proc.stdout + proc.stderr


def counts(code, output):
    """(passed, failed) from unittest's closing lines; a file that died before
    reporting counts as one failure."""
    ran = re.search(r"^Ran (\d+) tests?", output, re.M)
    if not ran:
        return 0, 1
    bad = sum(int(n) for n in re.findall(r"(?:failures|errors)=(\d+)", output))
    if code and not bad:
        bad = 1
    return int(ran.group(1)) - bad, bad


def main(paths):
    modules = [os.path.basename(p)[:-3] for p in paths]
    passed = failed = 0
    with ThreadPoolExecutor(max_workers=int(os.environ.get("JOBS", "2"))) as pool:
        for path, code, output in pool.map(run, modules):
            ok, bad = counts(code, output)
            passed, failed = passed + ok, failed + bad
            print(f"{'ok  ' if code == 0 else 'FAIL'} {path}: {ok} passed", flush=True)
            if code:
                print(output)
    print(f"integration: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
