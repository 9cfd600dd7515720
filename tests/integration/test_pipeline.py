"""pipeline, show, export and the due forecast and calendar, on a store whose numbers are
known by construction (all times set with --now, sends into a Maildir)."""
import csv
import io
import os
import re
import subprocess

from helpers import BIN, FollowupTest
from test_cadence import SEQUENCE

OWNERS = ("owners:\n"
          "  dana: { name: Dana Diaz, email: dana@acme.example }\n"
          "  sam: { name: Sam Lee, email: sam@acme.example }\n"
          "limits: { per_run: 0, per_day: 0 }\n")

EXPO = ("Email,First Name,Company,Owner,Scanned At,Booth Zone\n"
        "e1@x.example,Eve,Expo One,dana,2026-03-06 18:30,A\n"
        "e2@x.example,Ed,Expo Two,dana,2026-03-06 18:30,\n"
        "e3@x.example,Ela,Expo Three,dana,2026-03-06 18:30,B\n"
        "e4@x.example,Eli,\"=HYPERLINK(\"\"http://evil\"\")\",sam,2026-03-06 18:30,C\n")
SUMMIT = ("Email,First Name,Company,Owner,Scanned At\n"
          "s1@x.example,Sia,Summit One,sam,2026-03-09 10:00\n"
          "s2@x.example,Sol,Summit Two,sam,2026-03-09 10:00\n")


class Pipeline(FollowupTest):
    config = OWNERS

    def setUp(self):
        super().setUp()
        for name in os.listdir(self.seqdir):
            os.remove(os.path.join(self.seqdir, name))
        with open(os.path.join(self.seqdir, "t.yaml"), "w") as f:
            f.write(SEQUENCE.replace("reactivate: { after: 90d, sequence: again }\n", ""))
        self.ok("init")
        self.ok("import", "--sequence", "t", "--event", "Expo", self.write("expo.csv", EXPO),
                now="2026-03-07T00:00:00Z")
        self.ok("import", "--sequence", "t", "--event", "Summit",
                self.write("summit.csv", SUMMIT), now="2026-03-09T15:00:00Z")
        self.ok("send", now="2026-03-09T13:05:00Z")      # Expo recaps
        self.ok("send", now="2026-03-10T14:05:00Z")      # Summit recaps
        self.ok("mark", "e1@x.example", "replied", now="2026-03-10T15:00:00Z")
        self.ok("send", now="2026-03-12T13:05:00Z")      # Expo values (e2 e3 e4)
        self.ok("mark", "e2@x.example", "replied", now="2026-03-13T15:00:00Z")
        self.now = "2026-03-27T13:00:00Z"                 # day 14: the calls were missed

    def pipeline(self, *args):
        return self.ok("pipeline", "--json", *args, now=self.now).json()

    def test_numbers_overall(self):
        p = self.pipeline()
        self.assertEqual(p["leads"]["total"], 6)
        self.assertEqual(p["leads"]["by_status"]["active"], 4)
        self.assertEqual(p["leads"]["by_status"]["replied"], 2)
        self.assertEqual(p["touches"], {"due_now": 4, "overdue": 2, "in_doubt": 0})
        speed = p["speed_to_lead"]
        self.assertEqual((speed["enrolled"], speed["touched"], speed["never_touched"]), (6, 6, 0))
        self.assertEqual(speed["median_hours"], 61.58)
        self.assertEqual(speed["within_24h"], 0)
        self.assertEqual(speed["within_48h"], 0.3333)
        steps = {(s["sequence"], s["step"]): s for s in p["steps"]}
        self.assertEqual((steps["t", "recap"]["made"], steps["t", "recap"]["replies"]), (6, 1))
        self.assertEqual((steps["t", "value"]["made"], steps["t", "value"]["replies"]), (3, 1))
        self.assertEqual(steps["t", "value"]["reply_rate"], 0.3333)
        self.assertEqual(p["missed_by_owner"], [{"owner": "dana", "missed": 1},
                                                {"owner": "sam", "missed": 1}])

    def test_numbers_per_event_and_owner(self):
        expo = self.pipeline("--event", "Expo")
        self.assertEqual(expo["leads"]["total"], 4)
        self.assertEqual(expo["touches"]["due_now"], 2)
        self.assertEqual([(s["step"], s["made"]) for s in expo["steps"]],
                         [("recap", 4), ("value", 3)])
        sam = self.pipeline("--owner", "sam")
        self.assertEqual(sam["leads"]["total"], 3)
        self.assertEqual(sam["missed_by_owner"], [{"owner": "sam", "missed": 1}])
        human = self.ok("pipeline", now=self.now).out
        self.assertTrue(all(len(line) <= 80 for line in human.splitlines()), human)
        self.assertIn("recap", human)

    def test_a_lead_met_again_at_the_next_event_counts_for_both(self):
        expo, summit = self.pipeline("--event", "Expo"), self.pipeline("--event", "Summit")
        e4_due = self.sql("SELECT count(*) AS n FROM touches t JOIN leads l ON l.id = t.lead_id"
                          " WHERE l.email = 'e4@x.example' AND t.state = 'pending'"
                          " AND t.due_at <= strftime('%s', '2026-03-27T13:00:00Z')")[0]["n"]
        self.ok("mark", "e4@x.example", "lost", now="2026-03-14T12:00:00Z")
        self.ok("import", "--sequence", "t", "--event", "Summit", self.write(
            "again.csv", "Email,First Name,Scanned At\ne4@x.example,Eli,2026-03-16 10:00\n"),
            now="2026-03-16T15:00:00Z")
        leads = [l["email"] for l in self.ok("leads", "--event", "summit", "--json",
                                             now=self.now).json()]
        self.assertIn("e4@x.example", leads)
        summit_now, expo_now = self.pipeline("--event", "Summit"), self.pipeline("--event", "Expo")
        self.assertEqual(summit_now["leads"]["total"], summit["leads"]["total"] + 1)
        self.assertEqual(summit_now["touches"]["due_now"], summit["touches"]["due_now"] + 1)
        # Expo keeps its lead, not the Summit touch its new sequence made.
        self.assertEqual(expo_now["leads"]["total"], expo["leads"]["total"])
        self.assertEqual(expo_now["touches"]["due_now"], expo["touches"]["due_now"] - e4_due)

    def test_an_active_lead_met_again_says_so_once_and_is_that_events_lead(self):
        summit = self.pipeline("--event", "Summit")
        again = self.write("again.csv", "Email,First Name,Scanned At\ne3@x.example,Ela,2026-03-16 10:00\n")
        for _ in range(2):       # the same file twice changes nothing the second time
            self.ok("import", "--sequence", "t", "--event", "Summit", again,
                    now="2026-03-16T15:00:00Z")
        timeline = self.ok("show", "--json", "e3@x.example", now=self.now).json()["timeline"]
        self.assertEqual([e["what"] for e in timeline if e["kind"] == "met"], ["Summit"])
        self.assertIn("e3@x.example", [l["email"] for l in self.ok(
            "leads", "--event", "Summit", "--json", now=self.now).json()])
        self.assertEqual([e["sequence"] for e in self.sql(
            "SELECT sequence FROM enrolments e JOIN leads l ON l.id = e.lead_id"
            " WHERE l.email = 'e3@x.example'")], ["t"])      # still the one sequence
        # Its Expo touches (a missed call) are not Summit's figures.
        summit_now = self.pipeline("--event", "Summit")
        self.assertEqual(summit_now["missed_by_owner"], summit["missed_by_owner"])
        self.assertEqual(summit_now["speed_to_lead"], summit["speed_to_lead"])

    def test_calls_that_expire_undone_count_as_missed_and_emails_do_not(self):
        # The shipped call step has an expire: the same calls now end `expired`, not
        # `missed`, and are as much a slip. Summit's values (emails) expire too.
        with open(os.path.join(self.seqdir, "t.yaml"), "w") as f:
            f.write(SEQUENCE.replace("reactivate: { after: 90d, sequence: again }\n", "")
                    .replace('    body: "Here is the deck."\n',
                             '    body: "Here is the deck."\n    expire: 1d\n')
                    .replace("    channel: call\n", "    channel: call\n    expire: 2d\n"))
        p = self.pipeline()
        states = self.sql("SELECT t.step, t.state, count(*) AS n FROM touches t"
                          " WHERE t.state = 'expired' GROUP BY 1, 2 ORDER BY 1")
        self.assertEqual(states, [{"step": "call", "state": "expired", "n": 4},
                                  {"step": "value", "state": "expired", "n": 2}])
        self.assertEqual(p["missed_by_owner"], [{"owner": "sam", "missed": 3},
                                                {"owner": "dana", "missed": 1}])
        self.assertIn("Missed calls and tasks", self.ok("pipeline", now=self.now).out)

    def test_show_timeline_in_order(self):
        shown = self.ok("show", "--json", "e1@x.example", now=self.now).json()
        self.assertEqual(shown["email"], "e1@x.example")
        kinds = [(e["kind"], e.get("what"), e.get("detail")) for e in shown["timeline"]]
        self.assertEqual([k[0] for k in kinds],
                         ["imported", "enrolled", "touch", "replied", "touch", "stopped"])
        self.assertEqual(kinds[0][1], os.path.join(self.dir, "expo.csv"))
        self.assertEqual(kinds[0][2], "Expo")
        self.assertEqual(kinds[2][2], "sent")
        self.assertTrue(shown["timeline"][2]["message_id"].startswith("<"))
        self.assertTrue(kinds[4][2].startswith("cancelled"))
        human = self.ok("show", "e1@x.example", now=self.now).out
        self.assertIn("replied", human)

    def test_export_takes_one_format(self):
        r = self.fails(2, "export", "--csv", "--json", now=self.now)
        self.assertIn("exclude each other", r.err)

    def test_export_round_trips_through_import(self):
        out = self.ok("export", "--csv", now=self.now).out
        rows = list(csv.DictReader(io.StringIO(out)))
        self.assertEqual(len(rows), 6)
        e4 = [r for r in rows if r["Email"] == "e4@x.example"][0]
        self.assertTrue(e4["Company"].startswith("'="))          # neutralised formula
        self.assertEqual(e4["Status"], "active")
        self.assertEqual(e4["Sequence"], "t")
        self.assertEqual(e4["Step"], "value")              # the last made: the call was missed
        self.assertEqual(e4["Booth Zone"], "C")                  # extra columns too
        self.ok("optout", "e3@x.example", now=self.now)
        out = self.ok("export", "--csv", now=self.now).out
        columns = ("SELECT email, first_name, company, owner, event, contact_at, status, extra"
                   " FROM leads ORDER BY email")
        before = self.sql(columns)
        path = self.write("export.csv", out)
        self.db = os.path.join(self.dir, "second.db")
        self.ok("init", env=self.env())
        summary = self.ok("import", "--json", "--sequence", "t", path, now=self.now).json()
        self.assertEqual(self.sql(columns), before)
        # Replied and opted-out leads come back as they were: not enrolled, never emailed.
        self.assertEqual((summary["enrolled"], summary["suppressed"]), (3, 1))
        pending = self.sql("SELECT DISTINCT l.email FROM touches t JOIN leads l"
                           " ON l.id = t.lead_id WHERE t.state = 'pending' ORDER BY 1")
        self.assertEqual([p["email"] for p in pending],
                         ["e4@x.example", "s1@x.example", "s2@x.example"])
        exported = self.ok("export", "--json", now=self.now).json()
        self.assertEqual(len(exported), 6)

    def test_a_badge_files_own_status_column_survives_export_and_import(self):
        self.ok("import", "--sequence", "t", self.write("hot.csv", "Email,Status\n"
                                                         "h@x.example,Hot\nc@x.example,Cold\n"),
                now=self.now)
        out = self.ok("export", "--csv", now=self.now).out
        self.db = os.path.join(self.dir, "third.db")
        self.ok("init", env=self.env())
        self.ok("import", "--sequence", "t", self.write("back.csv", out), now=self.now)
        self.assertEqual(self.sql("SELECT email, status, extra FROM leads"
                                  " WHERE email IN ('h@x.example', 'c@x.example') ORDER BY 1"),
                         [{"email": "c@x.example", "status": "active", "extra": '{"Status":"Cold"}'},
                          {"email": "h@x.example", "status": "active", "extra": '{"Status":"Hot"}'}])

    def test_due_calendar_is_valid_icalendar(self):
        raw = subprocess.run([BIN, "--now", "2026-03-18T13:00:00Z", "due", "--ics", "--until",
                              "2026-03-31"], env=self.env(), capture_output=True, check=True).stdout
        ics = raw.decode()
        self.assertTrue(raw.startswith(b"BEGIN:VCALENDAR\r\n"))
        self.assertTrue(raw.endswith(b"END:VCALENDAR\r\n"))
        lines = raw.split(b"\r\n")[:-1]
        self.assertTrue(all(len(line) <= 75 for line in lines))
        unfolded = ics.replace("\r\n ", "").split("\r\n")[:-1]
        todos = [i for i, l in enumerate(unfolded) if l == "BEGIN:VTODO"]
        self.assertEqual(len(todos), 2)                          # e3 and e4 calls
        self.assertEqual(unfolded.count("END:VTODO"), 2)
        for start in todos:
            block = unfolded[start:unfolded.index("END:VTODO", start)]
            keys = {l.split(":", 1)[0] for l in block[1:]}
            self.assertTrue({"UID", "DTSTAMP", "DUE", "SUMMARY", "DESCRIPTION"} <= keys, block)
            self.assertIn("DUE:20260318T130000Z", block)
        self.assertIn("SUMMARY:call: Eli (=HYPERLINK(\"http://evil\"))", unfolded)
        # What an older store may hold: no control character reaches the calendar.
        self.sql("UPDATE leads SET first_name = 'E' || char(27) || '[1m' || char(155) || 'li'"
                 " WHERE email = 'e4@x.example'")
        raw = subprocess.run([BIN, "--now", "2026-03-18T13:00:00Z", "due", "--ics", "--until",
                              "2026-03-31"], env=self.env(), capture_output=True, check=True).stdout
        self.assertFalse(re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]", raw))
        self.assertIn(b"SUMMARY:call: E[1mli (", raw)


class ShowOrder(FollowupTest):
    def test_a_step_due_while_the_last_was_open_is_listed_after_it_closed(self):
        for name in os.listdir(self.seqdir):
            os.remove(os.path.join(self.seqdir, name))
        with open(os.path.join(self.seqdir, "t.yaml"), "w") as f:
            f.write(SEQUENCE.replace("reactivate: { after: 90d, sequence: again }\n", "")
                    .replace('    subject: "Good', '    expire: 5d\n    subject: "Good'))
        self.ok("init")
        self.ok("import", "--sequence", "t", self.write("l.csv", "Email,Scanned At\n"
                                                         "o@x.example,2026-03-06 18:30\n"),
                now="2026-03-07T00:00:00Z")
        # Nobody sends: the recap (due Mon 03-09) expires on Sat 03-14, and only then is
        # the value step (due Thu 03-12) made.
        shown = self.ok("show", "--json", "o@x.example", now="2026-03-16T12:00:00Z").json()
        touches = [(e["what"], e["detail"], e["at"]) for e in shown["timeline"]
                   if e["kind"] == "touch"]
        self.assertEqual(touches, [("recap (email)", "expired", "2026-03-14T13:00:01Z"),
                                   ("value (email)", "pending, due", "2026-03-12T13:00:00Z")])
        self.assertEqual([e["kind"] for e in shown["timeline"]],
                         ["imported", "enrolled", "touch", "touch"])
        human = self.ok("show", "o@x.example", now="2026-03-16T12:00:00Z").out
        self.assertLess(human.index("recap (email)"), human.index("value (email)"))


class Forecast(FollowupTest):
    config = ("owners:\n  dana: { name: Dana Diaz, email: dana@acme.example }\n"
              "limits: { per_run: 0, per_day: 2 }\n")

    def forecast(self, rows, *due_args, imported="2026-03-07T00:00:00Z",
                 now="2026-03-09T12:00:00Z"):
        """Imports Email,First Name,Owner,Scanned At rows; the human due output."""
        self.ok("init")
        self.ok("import", self.write("f.csv", "Email,First Name,Owner,Scanned At\n" +
                                     "".join(r + "\n" for r in rows)), now=imported)
        return self.ok("due", *due_args, now=now).out

    def assertDay(self, out, day, emails, calls=None):
        """The forecast's line for day (e.g. "Mon 2026-03-09") says emails (and calls)."""
        line = re.search(rf"^  {day}  +(\d+)  +(\d+)$", out, re.M)
        self.assertIsNotNone(line, f"no forecast line for {day} in:\n{out}")
        self.assertEqual(int(line.group(1)), emails, line.group(0))
        if calls is not None:
            self.assertEqual(int(line.group(2)), calls, line.group(0))

    def test_limits_push_emails_to_the_day_they_really_go(self):
        out = self.forecast([f"f{i}@x.example,F{i},dana,2026-03-06 18:30" for i in range(5)],
                            "--owner", "dana", "--until", "2026-03-12")
        self.assertDay(out, "Mon 2026-03-09", 2)
        self.assertDay(out, "Tue 2026-03-10", 2)
        self.assertDay(out, "Wed 2026-03-11", 1)
        result = self.ok("send", "--json", now="2026-03-09T13:30:00Z").json()
        self.assertEqual((result["sent"], result["deferred"]), (2, 3))

    def test_a_channel_filter_forecasts_that_channel_alone(self):
        # The recap (an email) is due; the day-7 call and the day-14 email follow it.
        rows, until = ["c@x.example,C,,2026-03-09 10:00"], "2026-03-31"
        both = self.forecast(rows, "--until", until, imported="2026-03-09T16:00:00Z",
                             now="2026-03-09T16:00:00Z")
        self.assertDay(both, "Wed 2026-03-18", 0, 1)
        self.assertDay(both, "Fri 2026-03-27", 1, 0)
        emails = self.ok("due", "--channel", "email", "--until", until,
                         now="2026-03-09T16:00:00Z").out
        self.assertDay(emails, "Wed 2026-03-18", 0, 0)
        self.assertDay(emails, "Fri 2026-03-27", 1, 0)
        calls = self.ok("due", "--channel", "call", "--until", until,
                        now="2026-03-09T16:00:00Z").out
        self.assertDay(calls, "Wed 2026-03-18", 0, 1)
        self.assertDay(calls, "Fri 2026-03-27", 0, 0)

    def test_what_went_today_uses_up_todays_limit_in_the_forecast(self):
        self.forecast([f"f{i}@x.example,F{i},dana,2026-03-06 18:30" for i in range(5)])
        self.assertEqual(self.ok("send", "--json", now="2026-03-09T13:30:00Z").json()["sent"], 2)
        out = self.ok("due", "--owner", "dana", "--until", "2026-03-12",
                      now="2026-03-09T14:00:00Z").out
        self.assertDay(out, "Mon 2026-03-09", 0)
        self.assertDay(out, "Tue 2026-03-10", 2)
        self.assertDay(out, "Wed 2026-03-11", 1)

    def test_the_limit_pushes_a_business_days_email_past_the_weekend(self):
        # Five recaps due Thursday 10:00, two a day: send has none to send at the weekend.
        out = self.forecast([f"w{i}@x.example,W{i},,2026-03-04 10:00" for i in range(5)],
                            "--until", "2026-03-09", imported="2026-03-04T12:00:00Z",
                            now="2026-03-05T08:00:00Z")
        self.assertDay(out, "Thu 2026-03-05", 2)
        self.assertDay(out, "Fri 2026-03-06", 2)
        self.assertDay(out, "Sat 2026-03-07", 0)
        self.assertDay(out, "Sun 2026-03-08", 0)
        self.assertDay(out, "Mon 2026-03-09", 2)
        # Overdue on a Saturday, they wait for Monday too.
        out = self.ok("due", "--until", "2026-03-09", now="2026-03-07T12:00:00Z").out
        self.assertDay(out, "Sat 2026-03-07", 0)
        self.assertDay(out, "Mon 2026-03-09", 2)

    def test_other_reps_on_the_same_sender_use_up_its_limit(self):
        # Sam has no address of his own: his leads go from the sender, as the unowned do.
        rows = [f"u{i}@x.example,U{i},,2026-03-06 18:30" for i in range(3)]
        out = self.forecast(rows + ["sam@x.example,Sa,sam,2026-03-06 18:30"],
                            "--owner", "sam", "--until", "2026-03-12")
        # Four recaps from one address, two a day: Sam's goes on Tuesday at the earliest.
        self.assertDay(out, "Mon 2026-03-09", 0)
        self.assertDay(out, "Tue 2026-03-10", 1)

    def test_min_gap_after_an_overdue_email_counts_from_when_its_window_opens(self):
        self.write_config("limits: { per_run: 0, per_day: 0 }\n")
        rows = [f"{n}@x.example,{n},,2026-03-0{day} 10:00" for n, day in (("a", 4), ("b", 5),
                                                                           ("c", 6))]
        out = self.forecast(rows, "--until", "+3d", imported="2026-03-04T16:00:00Z",
                            now="2026-03-08T12:00:00Z")          # a Sunday
        self.assertIn("no daily limit", out)
        # The three recaps go Monday; a's value is 1 day after its recap, on Tuesday.
        self.assertDay(out, "Mon 2026-03-09", 3, 0)
        self.assertDay(out, "Tue 2026-03-10", 3, 0)

    def test_an_overdue_call_stays_today_in_the_forecast(self):
        self.forecast(["k@x.example,K,,2026-03-02 10:00"], imported="2026-03-02T15:00:00Z",
                      now="2026-03-02T15:00:00Z")
        for day in ("03", "05", "06", "09"):         # the recap and the value go
            self.ok("send", now=f"2026-03-{day}T15:00:00Z")
        out = self.ok("due", "--until", "+2d", now="2026-03-14T22:00:00Z").out   # a Saturday
        self.assertDay(out, "Sat 2026-03-14", 0, 1)       # the day-7 call, overdue: today
        self.assertDay(out, "Mon 2026-03-16", 0, 0)

    def test_overdue_steps_keep_min_gap_in_the_forecast(self):
        out = self.forecast(["g@x.example,G,,2026-03-02 10:00"], "--until", "2026-04-03",
                            imported="2026-03-02T15:00:00Z", now="2026-03-30T15:00:00Z")
        # Four steps past due: one a day from today (min_gap 1d), not all on Monday.
        self.assertDay(out, "Mon 2026-03-30", 1, 0)

    def dst_forecast(self, zone, scanned, now):
        self.db = os.path.join(self.dir, zone.replace("/", "-") + ".db")   # a store per zone
        with open(self.config_path, "w") as f:
            f.write(f"timezone: {zone}\nsender: {{ name: A, email: a@acme.example }}\n"
                    f"smtp:\n  url: maildir:{self.outbox}\n")
        self.ok("init")
        self.ok("import", self.write("d.csv", f"Email,Scanned At\nd@x.example,{scanned}\n"),
                now=now)
        return self.ok("due", "--until", "+21d", now=now, env=self.env(TZ=zone)).out

    def test_forecast_days_after_the_spring_dst_change_are_the_engines(self):
        out = self.dst_forecast("America/New_York", "2026-03-02 10:00", "2026-03-02T17:00:00Z")
        # plan: call Wed 03-11, check-in Fri 03-20 (the clocks went forward on 03-08).
        self.assertDay(out, "Wed 2026-03-11", 0, 1)
        self.assertDay(out, "Fri 2026-03-20", 1, 0)
        self.assertDay(out, "Tue 2026-03-10", 0, 0)
        out = self.dst_forecast("Europe/Berlin", "2026-03-23 10:00", "2026-03-23T16:00:00Z")
        self.assertDay(out, "Wed 2026-04-01", 0, 1)
        self.assertDay(out, "Fri 2026-04-10", 1, 0)


SHORT = """\
name: short
timezone: UTC
window: "09:00-17:00"
reactivate: { after: 30d, sequence: back }
steps:
  - id: hello
    after: 1h
    channel: email
    subject: "Hello {{first_name|there}}"
    body: "Good to meet you."
"""
BACK = SHORT.replace("name: short", "name: back").replace(
    "reactivate: { after: 30d, sequence: back }\n", "")
CALL_FIRST = """\
name: calls
timezone: UTC
window: "09:00-17:00"
steps:
  - id: call
    after: 1h
    channel: call
    task: "Call {{first_name|them}}"
  - id: note
    after: 2d
    channel: email
    subject: "Sorry I missed you"
    body: "Hi."
"""


class PipelineOverTime(FollowupTest):
    config = "limits: { per_run: 0, per_day: 0 }\n"

    def setUp(self):
        super().setUp()
        for name, text in (("short", SHORT), ("back", BACK), ("calls", CALL_FIRST)):
            with open(os.path.join(self.seqdir, name + ".yaml"), "w") as f:
                f.write(text)
        self.ok("init")

    def import_rows(self, sequence, rows, now, event="Expo"):
        path = self.write("in.csv", "Email,First Name,Owner,Scanned At\n" + rows)
        self.ok("import", "--sequence", sequence, "--event", event, path, now=now)

    def pipeline(self, *args, now):
        return self.ok("pipeline", "--json", *args, now=now).json()

    def test_an_events_speed_to_lead_is_its_scans_not_the_reactivations_after(self):
        self.import_rows("short", "a@x.example,Ann,,2026-03-02T10:00:00Z\n"
                         "b@x.example,Bo,,2026-03-02T10:00:00Z\n", now="2026-03-02T10:30:00Z")
        self.ok("send", now="2026-03-02T11:05:00Z")      # the last step: both go back
        self.assertEqual(len(self.sql("SELECT id FROM enrolments WHERE sequence = 'back'")), 2)
        for scope in ((), ("--event", "Expo")):
            speed = self.pipeline(*scope, now="2026-03-10T12:00:00Z")["speed_to_lead"]
            self.assertEqual((speed["enrolled"], speed["touched"], speed["never_touched"]),
                             (2, 2, 0), scope)
            self.assertEqual(speed["within_24h"], 1.0)

    def test_an_events_lead_reenrolled_before_its_first_touch_counts_as_touched(self):
        self.import_rows("short", "a@x.example,Ann,,2026-03-02T10:00:00Z\n"
                         "b@x.example,Bo,,2026-03-02T10:00:00Z\n", now="2026-03-02T10:30:00Z")
        self.ok("enroll", "b@x.example", "back", now="2026-03-02T10:40:00Z")  # supersedes
        self.ok("send", now="2026-03-02T12:05:00Z")
        speed = self.pipeline("--event", "Expo", now="2026-03-03T12:00:00Z")["speed_to_lead"]
        self.assertEqual((speed["enrolled"], speed["touched"], speed["never_touched"]), (2, 2, 0))

    def test_a_reply_after_a_later_touch_is_credited_to_that_touch(self):
        self.import_rows("short", "a@x.example,Ann,,2026-03-02T10:00:00Z\n",
                         now="2026-03-02T10:30:00Z")
        self.ok("send", now="2026-03-02T11:05:00Z")
        self.ok("mark", "a@x.example", "replied", now="2026-03-03T09:00:00Z")
        self.ok("mark", "a@x.example", "replied", now="2026-03-03T10:00:00Z")  # the same touch
        self.ok("enroll", "a@x.example", "back", now="2026-03-20T10:00:00Z")
        self.ok("send", now="2026-03-20T11:05:00Z")
        self.ok("mark", "a@x.example", "replied", now="2026-03-21T09:00:00Z")
        steps = {s["sequence"]: s for s in self.pipeline(now="2026-03-22T12:00:00Z")["steps"]}
        self.assertEqual((steps["short"]["made"], steps["short"]["replies"]), (1, 1))
        self.assertEqual((steps["back"]["made"], steps["back"]["replies"]), (1, 1))

    def test_one_rep_is_one_row_of_missed_calls_however_the_leads_spell_them(self):
        self.import_rows("calls", "a@x.example,Ann,Nina Grey,2026-03-02T10:00:00Z\n",
                         now="2026-03-02T10:30:00Z")           # before the config names her
        self.write_config("owners:\n  nina: { name: Nina Grey, email: nina@acme.example }\n")
        self.import_rows("calls", "b@x.example,Bo,nina@acme.example,2026-03-02T10:00:00Z\n"
                         "c@x.example,Cy,,2026-03-02T10:00:00Z\n", now="2026-03-02T10:35:00Z")
        p = self.pipeline(now="2026-03-05T12:00:00Z")
        self.assertEqual(p["missed_by_owner"], [{"owner": "nina", "missed": 2},
                                                {"owner": None, "missed": 1}])
        self.assertEqual(self.pipeline("--owner", "Nina Grey", now="2026-03-05T12:00:00Z")
                         ["missed_by_owner"], [{"owner": "nina", "missed": 2}])

    def test_a_misspelt_event_or_owner_is_named(self):
        self.import_rows("calls", "a@x.example,Ann,,2026-03-02T10:00:00Z\n",
                         now="2026-03-02T10:30:00Z")
        r = self.ok("pipeline", "--event", "Exop", now="2026-03-05T12:00:00Z")
        self.assertIn("no lead is from the event 'Exop'", r.err)
        r = self.ok("pipeline", "--owner", "nobody", now="2026-03-05T12:00:00Z")
        self.assertIn("no lead has the owner 'nobody'", r.err)
        self.assertNotIn("check the name", self.ok("pipeline", "--event", "expo",
                                                   now="2026-03-05T12:00:00Z").err)
        self.write_config("owners:\n  kim: { name: Kim Lo, email: kim@acme.example }\n")
        self.assertNotIn("check", self.ok("pipeline", "--owner", "kim",   # new, no leads yet
                                          now="2026-03-05T12:00:00Z").err)
        r = self.ok("pipeline", "--event", "Expo", "--owner", "kim", now="2026-03-05T12:00:00Z")
        self.assertIn("no lead is from the event 'Expo' and has the owner 'kim'", r.err)
        for command in ("pipeline", "due", "leads"):
            self.assertIn("--owner needs a name", self.fails(2, command, "--owner", "").err)
