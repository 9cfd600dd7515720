#!/usr/bin/python3
"""Runs integration test files, two at a time (each test makes its own temp dirs and
ports, so they do not collide), and fails if any fails."""
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def run(path):
    proc = subprocess.run([sys.executable, "-m", "unittest", "-q", path],
                          capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.abspath(__file__)))
    return path, proc.returncode, proc.stdout + proc.stderr


def main(paths):
    modules = [os.path.basename(p)[:-3] for p in paths]
    failed = 0
    with ThreadPoolExecutor(max_workers=int(os.environ.get("JOBS", "2"))) as pool:
        for path, code, output in pool.map(run, modules):
            print(("ok   " if code == 0 else "FAIL ") + path, flush=True)
            if code:
                failed += 1
                print(output)
    print(f"{len(modules) - failed}/{len(modules)} integration test files passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
