#!/usr/bin/python3
"""A simulated season of cron: badge files from several events imported, then --now
stepped every 15 minutes through DAYS days, `followup send` run at each step against a
real SMTP server (aiosmtpd on 127.0.0.1), with replies, conversions and opt-outs marked,
calls done, sends killed with SIGKILL, two sends started at once, and the server down
for hours. At the end the messages the server received and the store are checked:

  no Message-ID twice; no step of an enrolment twice; nothing after a reply, conversion,
  loss, opt-out or bounce; everything inside its window on a business day; no lead lost
  or duplicated; every in-doubt touch accounted for.

Usage: soak.py [--leads N] [--days D] [--seed S]   (FOLLOWUP_BIN names the binary)
Prints the counts and exits 1 on any violation."""
import argparse
import datetime as dt
import email
import email.policy
import email.utils
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from smtpd import TestSMTPServer  # noqa: E402

BIN = os.environ.get("FOLLOWUP_BIN", os.path.join(ROOT, "build", "followup"))
ZONE = ZoneInfo("America/New_York")
START = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.timezone.utc)     # a Monday


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Soak:
    def __init__(self, leads, days, seed):
        self.rnd = random.Random(seed)
        self.leads, self.days = leads, days
        self.dir = tempfile.mkdtemp(prefix="followup-soak-")
        self.db = os.path.join(self.dir, "followup.db")
        self.config = os.path.join(self.dir, "config.yaml")
        self.server = None
        self.spool = os.path.join(self.dir, "spool")
        self.stats = dict(sends=0, kills=0, doubles=0, outages=0, replies=0, optouts=0,
                          conversions=0, calls_done=0, imports=0)
        self.emails = set()

    # --- running followup -----------------------------------------------------------------
    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
        env.update(HOME=self.dir, TZ="America/New_York", FOLLOWUP_DB=self.db,
                   FOLLOWUP_CONFIG=self.config,
                   FOLLOWUP_SEQUENCES=os.path.join(ROOT, "sequences"))
        return env

    def run(self, now, *args, check=True):
        proc = subprocess.run([BIN, "--quiet", "--now", iso(now), *args], env=self.env(),
                              capture_output=True, text=True, timeout=300)
        if check and proc.returncode != 0:
            raise RuntimeError(f"followup {' '.join(args)} at {iso(now)}: {proc.stderr}")
        return proc

    def start_server(self):
        self.server = TestSMTPServer(spool=self.spool).start()
        with open(self.config, "w") as f:
            f.write("timezone: America/New_York\n"
                    "sender: { name: Soak Rep, email: rep@acme.example }\n"
                    f"smtp: {{ url: \"{self.server.url}\", tls: none, timeout: 20 }}\n"
                    "limits: { per_run: 300, per_day: 5000 }\n")

    # --- badge files ------------------------------------------------------------------------
    def badge_file(self, name, first, count, day, rescan_from=0, optout_share=0.02):
        path = os.path.join(self.dir, name)
        with open(path, "w", newline="") as f:
            f.write("Email,First Name,Last Name,Company,Phone,Scanned At,Do Not Email\r\n")
            for i in range(count):
                n = first + i
                if rescan_from and self.rnd.random() < 0.1:
                    n = self.rnd.randrange(rescan_from)          # a re-scan, another event
                if self.rnd.random() < 0.03:
                    n = max(first, n - 1)                          # a repeat in this file
                if self.rnd.random() < 0.01:
                    f.write(f"broken{n} at example,No,Email,,,,\r\n")   # rejected
                    continue
                email_ = f"lead{n}@soak{n % 50}.example"
                if n % 7 == 0:
                    email_ = email_.upper()                        # case differs, same lead
                self.emails.add(email_.lower())
                optout = "yes" if self.rnd.random() < optout_share else ""
                f.write(f"{email_},Lead{n},Soak,Company {n % 97},+1 212 555 {n % 10000:04d},"
                        f"{day:%Y-%m-%d} {9 + n % 8}:{n % 60:02d},{optout}\r\n")
        return path

    # --- random events -----------------------------------------------------------------------
    def pick_lead(self, status="active"):
        con = sqlite3.connect(self.db, timeout=30)
        rows = con.execute("SELECT email FROM leads WHERE status = ? ORDER BY random()"
                           " LIMIT 1", (status,)).fetchall()
        con.close()
        return rows[0][0] if rows else None

    def events(self, now):
        r = self.rnd.random
        if r() < 0.05 and (lead := self.pick_lead()):
            outcome = self.rnd.choice(["replied", "replied", "converted", "lost"])
            self.run(now, "mark", lead, outcome)
            self.stats["replies" if outcome == "replied" else "conversions"] += 1
        if r() < 0.02 and (lead := self.pick_lead()):
            self.run(now, "optout", lead)
            self.stats["optouts"] += 1
        local = now.astimezone(ZONE)
        if local.hour == 10 and local.minute == 0:              # the rep's calls
            due = json.loads(self.run(now, "due", "--json", "--channel", "call").stdout)
            for touch in due:
                if self.rnd.random() < 0.5:
                    self.run(now, "done", str(touch["touch_id"]), check=False)
                    self.stats["calls_done"] += 1

    def send(self, now):
        roll = self.rnd.random()
        cmd = [BIN, "--quiet", "--now", iso(now), "send"]
        if roll < 0.03:                                          # killed mid-run
            proc = subprocess.Popen(cmd, env=self.env(), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(self.rnd.uniform(0.005, 0.08))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            self.stats["kills"] += 1
        elif roll < 0.06:                                        # two crons at once
            procs = [subprocess.Popen(cmd, env=self.env(), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) for _ in range(2)]
            for p in procs:
                p.wait(timeout=300)
            self.stats["doubles"] += 1
        else:
            proc = subprocess.run(cmd, env=self.env(), capture_output=True, text=True,
                                  timeout=300)
            if proc.returncode not in (0, 1):
                raise RuntimeError(f"send at {iso(now)} exited {proc.returncode}: {proc.stderr}")
        self.stats["sends"] += 1

    # --- the simulation ------------------------------------------------------------------------
    def simulate(self):
        self.start_server()
        self.run(START, "init")
        first = int(self.leads * 0.6)
        second = self.leads - first
        summit = START + dt.timedelta(days=self.days // 2)
        files = [(START, self.badge_file("expo.csv", 0, first, START - dt.timedelta(days=3)),
                  "Expo"),
                 (summit, self.badge_file("summit.csv", first, second,
                                          summit - dt.timedelta(days=1), rescan_from=first),
                  "Summit")]
        now, end = START, START + dt.timedelta(days=self.days)
        down_until = None
        while now < end:
            for when, path, event in list(files):
                if now >= when:
                    self.run(now, "import", path, "--event", event)
                    self.stats["imports"] += 1
                    files.remove((when, path, event))
            if down_until is None and self.rnd.random() < 0.004:
                self.server.stop()                               # the server goes away
                down_until = now + dt.timedelta(hours=self.rnd.randint(1, 6))
                self.stats["outages"] += 1
            elif down_until is not None and now >= down_until:
                self.start_server()
                down_until = None
            self.events(now)
            self.send(now)
            now += dt.timedelta(minutes=15)
        if down_until is not None:
            self.start_server()
        self.end = now

    # --- the checks ---------------------------------------------------------------------------
    def check(self):
        violations = {}

        def violation(kind, detail):
            violations.setdefault(kind, []).append(detail)

        con = sqlite3.connect(self.db)
        touches = {row[0]: row for row in con.execute(
            "SELECT t.message_id, t.enrolment_id, t.step, l.email, t.state, t.lead_id,"
            " e.started_at FROM touches t JOIN leads l ON l.id = t.lead_id"
            " JOIN enrolments e ON e.id = t.enrolment_id WHERE t.message_id IS NOT NULL")}
        stops = {}          # lead -> outcome times (a later import may enrol it again)
        for lead_id, at in con.execute(
                "SELECT lead_id, at FROM history WHERE kind IN"
                " ('replied', 'converted', 'lost', 'unsubscribed', 'bounced')"):
            stops.setdefault(lead_id, []).append(at)
        in_doubt = [row[0] for row in con.execute(
            "SELECT message_id FROM touches WHERE state = 'in_doubt'")]
        con.close()

        received = self.server.messages() if self.server else []
        seen_ids, seen_steps = set(), set()
        for msg in received:
            m = email.message_from_bytes(msg.data, policy=email.policy.strict)
            mid = m["Message-ID"]
            if mid in seen_ids:
                violation("duplicate Message-ID", mid)
            seen_ids.add(mid)
            touch = touches.get(mid)
            if not touch:
                violation("unknown message", mid)
                continue
            _, enrolment, step, address, state, lead_id, started = touch
            if (enrolment, step) in seen_steps:
                violation("same step twice", f"{address} {step}")
            seen_steps.add((enrolment, step))
            sent_at = email.utils.parsedate_to_datetime(m["Date"])
            if any(started <= at < sent_at.timestamp() for at in stops.get(lead_id, [])):
                violation("after stop", f"{address} {step} at {sent_at}")
            local = sent_at.astimezone(ZONE)
            if local.weekday() >= 5 or not (9 <= local.hour < 17):
                violation("outside window", f"{address} {step} at {local}")
            if msg.rcpt_tos != [address]:
                violation("wrong recipient", f"{msg.rcpt_tos} for {address}")
        for mid in in_doubt:
            if sum(1 for m in received if mid.encode() in m.data) > 1:
                violation("in_doubt delivered twice", mid)

        exported = json.loads(self.run(self.end, "export", "--json").stdout)
        addresses = [lead["email"].lower() for lead in exported]
        if len(addresses) != len(set(addresses)):
            violation("duplicated lead", len(addresses) - len(set(addresses)))
        lost = self.emails - set(addresses)
        if lost:
            violation("lost lead", sorted(lost)[:5])

        print(f"soak: {self.leads} leads, {self.days} days, {self.stats['sends']} send runs"
              f" ({self.stats['kills']} killed, {self.stats['doubles']} doubled,"
              f" {self.stats['outages']} outages), {self.stats['replies']} replies,"
              f" {self.stats['conversions']} other outcomes, {self.stats['optouts']} opt-outs,"
              f" {self.stats['calls_done']} calls done")
        print(f"soak: {len(received)} messages received, {len(exported)} leads exported:"
              f" {len(violations.get('duplicate Message-ID', []))} duplicates,"
              f" {len(violations.get('same step twice', []))} same step twice,"
              f" {len(violations.get('after stop', []))} after stop,"
              f" {len(violations.get('outside window', []))} outside window,"
              f" {len(violations.get('lost lead', []))} lost,"
              f" {len(violations.get('duplicated lead', []))} duplicated,"
              f" {len(in_doubt)} in_doubt"
              f" ({len(violations.get('in_doubt delivered twice', []))} delivered twice)")
        for kind, items in violations.items():
            print(f"VIOLATION {kind}: {items[:5]}")
        return not violations

    def cleanup(self):
        if self.server:
            self.server.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=2000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the store and spool to look at")
    args = ap.parse_args()
    soak = Soak(args.leads, args.days, args.seed)
    started = time.time()
    try:
        soak.simulate()
        ok = soak.check()
    finally:
        if args.keep:
            soak.server and soak.server.stop()
            print(f"soak: kept {soak.dir}")
        else:
            soak.cleanup()
    print(f"soak: {time.time() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
