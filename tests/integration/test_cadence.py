"""The cadence rules of SPEC section 7, pinned down with --now (never sleeps), through
the real binary: import, due, send (to a Maildir), done, mark, optout."""
import csv
import io
import os

from helpers import FollowupTest

SEQUENCE = """\
name: t
timezone: America/New_York
window: "09:00-17:00"
business_days: true
min_gap: 1d
reactivate: { after: 90d, sequence: again }
steps:
  - id: recap
    after: 24h
    channel: email
    subject: "Good to meet you, {{first_name|there}}"
    body: "Hi {{first_name|there}}, thanks for stopping by."
  - id: value
    after: 3d
    channel: email
    thread: true
    body: "Here is the deck."
  - id: call
    after: 7d
    channel: call
    task: "Call {{first_name|them}} on {{phone|(no phone)}}"
  - id: checkin
    after: 14d
    channel: email
    thread: true
    body: "Checking in."
"""

AGAIN = """\
name: again
window: "09:00-17:00"
steps:
  - id: ping
    after: 0d
    channel: email
    subject: "Still interested, {{first_name|there}}?"
    body: "It has been a while."
"""

LEADS = ("Email,First Name,Company,Phone,Scanned At,Time Zone\n"
         "ny@x.example,Nora,NYC Co,+1 212 555 0100,2026-03-06 18:30,\n")


class Cadence(FollowupTest):
    def setUp(self):
        super().setUp()
        for name in os.listdir(self.seqdir):
            os.remove(os.path.join(self.seqdir, name))
        self.write_sequence("t.yaml", SEQUENCE)
        self.write_sequence("again.yaml", AGAIN)
        self.ok("init")

    def write_sequence(self, name, text):
        with open(os.path.join(self.seqdir, name), "w") as f:
            f.write(text)

    def import_leads(self, csv=LEADS, now="2026-03-06T23:45:00Z", *args):
        return self.ok("import", "--json", "--sequence", "t", *args,
                       self.write("leads.csv", csv), now=now).json()

    def due(self, now, *args):
        return self.ok("due", "--json", *args, now=now).json()

    def send(self, now):
        return self.ok("send", "--json", now=now).json()

    def touches(self, email="ny@x.example"):
        return self.sql("SELECT t.step, t.state, t.due_at FROM touches t JOIN leads l"
                        f" ON l.id = t.lead_id WHERE l.email = '{email}' ORDER BY t.id")

    def test_friday_evening_scan_lands_monday_at_window_start(self):
        self.import_leads()
        self.assertEqual(self.due("2026-03-09T12:59:00Z"), [])
        [touch] = self.due("2026-03-09T13:00:00Z")     # 09:00 EDT, across the DST change
        self.assertEqual(touch["step"], "recap")
        self.assertEqual(touch["due_at"], "2026-03-09T13:00:00Z")
        self.assertEqual(touch["text"], "Good to meet you, Nora")
        self.assertFalse(touch["overdue"])
        self.assertIsNone(touch["held"])
        self.assertEqual(touch["company"], "NYC Co")

    def test_an_empty_variable_in_the_body_alone_holds_the_listed_email(self):
        self.write_sequence("t.yaml", SEQUENCE.replace(
            'body: "Hi {{first_name|there}}, thanks for stopping by."',
            'body: "Hi {{first_name|there}}, about your {{title}} work."'))
        self.import_leads()
        [touch] = self.due("2026-03-09T13:00:00Z")
        self.assertIn("{{title}}", touch["held"])
        self.assertIsNone(touch["text"])

    def test_due_json_lists_many_batches_of_touches_in_order(self):
        rows = "".join(f"l{i}@x.example,L{i},Co,,2026-03-06 18:30,\n" for i in range(700))
        self.import_leads(LEADS.splitlines()[0] + "\n" + rows)
        listed = self.due("2026-03-09T13:00:00Z")
        self.assertEqual(len(listed), 700)      # the printer takes 256 a batch
        ids = [t["touch_id"] for t in listed]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(listed[699]["email"], "l699@x.example")

    def test_due_for_an_owner_no_lead_has_says_so(self):
        self.import_leads(LEADS, "2026-03-06T23:45:00Z", "--owner", "dana")
        quiet = self.ok("due", "--owner", "dana", now="2026-03-07T12:00:00Z")
        self.assertEqual(quiet.err, "")
        typo = self.ok("due", "--owner", "dnaa", now="2026-03-07T12:00:00Z")
        self.assertIn("Nothing due", typo.out)
        self.assertIn("no lead has the owner 'dnaa'", typo.err)

    def test_a_morning_due_shows_the_afternoons_touches_apart(self):
        self.import_leads("Email,First Name,Scanned At\n"
                          "am@x.example,Amy,2026-03-05 09:30\npm@x.example,Pia,2026-03-05 14:00\n",
                          now="2026-03-05T20:00:00Z")
        # The recaps fall due Friday at 09:30 and 14:00 New York time; it is 08:00 there.
        early = self.ok("due", now="2026-03-06T13:00:00Z").out
        self.assertIn("Later today (not due yet)", early)
        self.assertIn("Nothing due yet; 2 later today.", early)
        self.assertEqual(self.due("2026-03-06T13:00:00Z"), [])     # --json: due now only
        noon = self.ok("due", now="2026-03-06T17:00:00Z").out
        self.assertLess(noon.index("Amy"), noon.index("Later today"))
        self.assertLess(noon.index("Later today"), noon.index("Pia"))
        self.assertIn("1 due: 0 overdue, 1 email (for 'followup send'), 0 calls and tasks;"
                      " 1 more later today", noon)
        self.assertNotIn("Later today", self.ok("due", "--until", "today",
                                                now="2026-03-06T13:00:00Z").out)

    def test_due_until_a_day_lists_all_of_that_day(self):
        self.import_leads()
        sunday = "2026-03-08T15:00:00Z"
        self.assertEqual(self.due(sunday, "--until", "2026-03-08"), [])
        [touch] = self.due(sunday, "--until", "2026-03-09")     # due Monday 13:00Z
        self.assertEqual(touch["step"], "recap")
        self.assertEqual(len(self.due(sunday, "--until", "tomorrow")), 1)
        self.assertEqual(self.due(sunday, "--until", "2026-03-09T12:00:00Z"), [])

    def test_send_waits_for_the_window(self):
        self.import_leads()
        # Due Monday 09:00, but send first runs at 19:00 (its server was down all day).
        self.assertEqual(self.send("2026-03-09T23:00:00Z")["sent"], 0)
        self.assertEqual(self.send("2026-03-10T12:59:00Z")["sent"], 0)
        self.assertEqual(self.send("2026-03-10T13:00:00Z")["sent"], 1)

    def test_business_day_offset_skips_weekend(self):
        self.import_leads()
        self.assertEqual(self.send("2026-03-09T13:05:00Z")["sent"], 1)
        [touch] = self.due("2026-03-09T13:05:00Z", "--until", "2026-03-31")
        self.assertEqual(touch["step"], "value")
        # Friday 18:30 + 3 business days = Wednesday 18:30, after the window: Thursday 09:00.
        self.assertEqual(touch["due_at"], "2026-03-12T13:00:00Z")

    def test_lead_in_tokyo_gets_tokyo_window(self):
        self.import_leads("Email,First Name,Scanned At,Time Zone\n"
                          "jp@x.example,Ken,2026-03-06T10:00:00Z,Asia/Tokyo\n")
        [touch] = self.due("2026-03-09T00:00:00Z")    # Monday 09:00 in Tokyo
        self.assertEqual(touch["due_at"], "2026-03-09T00:00:00Z")

    def test_ten_days_without_send_gives_one_touch_then_min_gap(self):
        self.import_leads()
        self.assertEqual(self.send("2026-03-19T14:00:00Z")["sent"], 1)
        self.assertEqual(self.send("2026-03-19T14:10:00Z")["sent"], 0)
        [touch] = self.due("2026-03-19T14:10:00Z", "--until", "2026-04-30")
        self.assertEqual(touch["step"], "value")
        self.assertEqual(touch["due_at"], "2026-03-20T14:00:00Z")   # sent + min_gap 1d

    def test_reply_cancels_what_is_pending(self):
        self.import_leads()
        self.send("2026-03-09T13:05:00Z")
        r = self.ok("mark", "ny@x.example", "replied", "--note", "wants a demo",
                    now="2026-03-11T15:00:00Z")
        self.assertIn("pending touches cancelled", r.out)
        self.assertEqual(self.due("2026-04-30T00:00:00Z"), [])
        # A second mark (a colleague saw the reply too) has nothing left to cancel.
        r = self.ok("mark", "ny@x.example", "replied", now="2026-03-11T16:00:00Z")
        self.assertIn("ny@x.example marked replied; it was in no sequence", r.out)
        self.assertEqual([t["state"] for t in self.touches()], ["sent", "cancelled"])
        self.assertEqual(self.sql("SELECT status FROM leads"), [{"status": "replied"}])

    def test_undone_call_is_missed_when_next_step_falls_due(self):
        self.import_leads()
        self.send("2026-03-09T13:05:00Z")
        self.send("2026-03-12T13:05:00Z")
        # Friday 18:30 + 7 business days = Tuesday 18:30 after the window: Wednesday 09:00.
        self.assertEqual(self.due("2026-03-18T12:59:00Z"), [])
        [call] = self.due("2026-03-18T13:00:00Z")
        self.assertEqual(call["step"], "call")
        self.assertEqual(call["channel"], "call")
        self.assertEqual(call["text"], "Call Nora on +1 212 555 0100")
        # Nobody calls. Day 14 (Friday 03-27 09:00) comes:
        [checkin] = self.due("2026-03-27T13:00:00Z")
        self.assertEqual(checkin["step"], "checkin")
        self.assertEqual([t["state"] for t in self.touches()],
                         ["sent", "sent", "missed", "pending"])

    def test_done_call_then_cold_then_reactivation_after_90_days(self):
        self.import_leads()
        self.send("2026-03-09T13:05:00Z")
        self.send("2026-03-12T13:05:00Z")
        [call] = self.due("2026-03-18T13:00:00Z")
        self.ok("done", str(call["touch_id"]), "--note", "voicemail", now="2026-03-18T14:00:00Z")
        self.fails(2, "done", str(call["touch_id"]), now="2026-03-18T14:01:00Z")
        self.assertEqual(self.send("2026-03-27T13:05:00Z")["sent"], 1)
        self.assertEqual(self.sql("SELECT status FROM leads"), [{"status": "cold"}])
        self.assertEqual(self.due("2026-06-25T13:00:00Z"), [])
        [again] = self.due("2026-06-25T13:05:00Z")
        self.assertEqual(again["sequence"], "again")
        self.assertEqual(again["step"], "ping")
        # The timeline tells it in order: the last email, the end, then what took over.
        timeline = self.ok("show", "--json", "ny@x.example", now="2026-06-25T13:05:00Z").json()
        self.assertEqual([(e["kind"], e["what"]) for e in timeline["timeline"]][-4:],
                         [("touch", "checkin (email)"), ("completed", "t"),
                          ("enrolled", "again"), ("touch", "ping (email)")])

    def test_lost_lead_rescanned_later_starts_from_the_new_scan(self):
        self.import_leads()
        self.ok("mark", "ny@x.example", "lost", now="2026-03-08T12:00:00Z")
        summary = self.import_leads("Email,First Name,Scanned At\n"
                                    "ny@x.example,Nora,2026-04-14 11:00\n",
                                    now="2026-04-14T16:00:00Z")
        self.assertEqual((summary["updated"], summary["enrolled"]), (1, 1))
        [touch] = self.due("2026-04-15T15:00:00Z")
        self.assertEqual(touch["step"], "recap")
        self.assertEqual(touch["due_at"], "2026-04-15T15:00:00Z")   # 24 h after the new scan
        self.assertEqual(self.sql("SELECT contact_at FROM leads"), [{"contact_at": 1772839800}])

    def test_the_same_file_again_does_not_restart_a_cold_or_lost_lead(self):
        self.import_leads()
        for day in ("09", "12", "18", "27"):
            self.send("2026-03-%sT13:05:00Z" % day)
        self.assertEqual(self.sql("SELECT status FROM leads"), [{"status": "cold"}])
        before = self.touches()
        summary = self.import_leads(now="2026-04-01T12:00:00Z")    # the same export, again
        self.assertEqual((summary["updated"], summary["enrolled"]), (1, 0))
        self.assertEqual(self.touches(), before)
        self.ok("mark", "ny@x.example", "lost", now="2026-04-02T12:00:00Z")
        self.assertEqual(self.import_leads(now="2026-04-03T12:00:00Z")["enrolled"], 0)
        # Without scan times, another event is a new contact; the same event is not.
        no_times = "Email,First Name\nny@x.example,Nora\n"
        self.assertEqual(self.import_leads(no_times, "2026-04-04T12:00:00Z", "--event", "Expo")
                         ["enrolled"], 1)
        self.ok("mark", "ny@x.example", "lost", now="2026-04-05T12:00:00Z")
        self.assertEqual(self.import_leads(no_times, "2026-04-06T12:00:00Z", "--event", "Expo")
                         ["enrolled"], 0)

    def test_export_of_a_lead_waiting_in_reactivation_says_where_it_got_to(self):
        self.import_leads()
        for day in ("09", "12", "18", "27"):
            self.send("2026-03-%sT13:05:00Z" % day)
        rows = list(csv.DictReader(io.StringIO(self.ok("export", "--csv",
                                                       now="2026-03-28T12:00:00Z").out)))
        self.assertEqual((rows[0]["Status"], rows[0]["Sequence"], rows[0]["Step"]),
                         ("cold", "again", "checkin"))

    def test_no_restart_from_a_never_enrolled_lead_a_future_scan_or_an_old_event(self):
        self.ok("import", "--no-enroll", self.write("n.csv", LEADS), now="2026-03-06T23:45:00Z")
        self.ok("mark", "ny@x.example", "lost", now="2026-03-07T10:00:00Z")
        self.assertEqual(self.import_leads(now="2026-03-07T11:00:00Z")["enrolled"], 0)
        # a scan up to a day ahead of the import is kept, but is no new contact
        ahead = "Email,First Name,Scanned At\nfut@x.example,Fay,2026-04-01 15:00\n"
        self.assertEqual(self.import_leads(ahead, "2026-04-01T14:00:00Z")["enrolled"], 1)
        self.ok("mark", "fut@x.example", "lost", now="2026-04-01T14:30:00Z")
        self.assertEqual(self.import_leads(ahead, "2026-04-01T14:45:00Z")["enrolled"], 0)
        # without scan times: an event it was enrolled from before is not a new contact
        plain = "Email,First Name\nev@x.example,Eve\n"
        for event, enrolled in (("Expo", 1), ("Summit", 1), ("Summit", 0), ("Expo", 0)):
            summary = self.import_leads(plain, "2026-05-01T12:00:00Z", "--event", event)
            self.assertEqual(summary["enrolled"], enrolled, event)
            self.ok("mark", "ev@x.example", "lost", now="2026-05-01T13:00:00Z")

    def test_a_lead_imported_without_enrolment_joins_a_later_import(self):
        r = self.ok("import", "--json", "--no-enroll", self.write("leads.csv", LEADS),
                    now="2026-03-06T23:45:00Z")
        self.assertEqual(r.json()["enrolled"], 0)
        self.assertEqual(self.import_leads(now="2026-03-07T10:00:00Z")["enrolled"], 1)
        self.assertEqual(self.due("2026-03-09T13:00:00Z")[0]["step"], "recap")
        self.assertEqual(self.import_leads(now="2026-03-08T10:00:00Z")["enrolled"], 0)

    def test_opted_out_is_never_due_again_even_after_reimport(self):
        self.import_leads()
        self.ok("optout", "ny@x.example", now="2026-03-07T12:00:00Z")
        self.assertEqual(self.due("2026-04-30T00:00:00Z"), [])
        summary = self.import_leads(now="2026-03-08T12:00:00Z")
        self.assertEqual(summary["enrolled"], 0)
        self.assertEqual(summary["suppressed"], 1)
        self.assertEqual(self.due("2026-04-30T00:00:00Z"), [])
        self.assertEqual(self.send("2026-04-30T14:00:00Z")["sent"], 0)

    def test_an_outcome_after_an_opt_out_keeps_the_lead_unsubscribed(self):
        self.import_leads()
        self.ok("optout", "ny@x.example", now="2026-03-07T12:00:00Z")
        r = self.ok("mark", "ny@x.example", "lost", now="2026-03-08T12:00:00Z")
        self.assertIn("status stays unsubscribed", r.out)
        self.assertEqual(self.sql("SELECT status FROM leads WHERE email = 'ny@x.example'"),
                         [{"status": "unsubscribed"}])
        kinds = [row["kind"] for row in self.sql(
            "SELECT kind FROM history WHERE lead_id = (SELECT id FROM leads"
            " WHERE email = 'ny@x.example') ORDER BY id")]
        self.assertEqual(kinds[-2:], ["unsubscribed", "lost"])   # the outcome is in the timeline
        summary = self.import_leads(now="2026-06-30T12:00:00Z")   # lost would be enrolled again
        self.assertEqual((summary["enrolled"], summary["suppressed"]), (0, 1))

    def test_dst_end_keeps_window_at_nine(self):
        self.import_leads("Email,Scanned At\nfall@x.example,2026-10-30 18:30\n",
                          now="2026-10-30T23:00:00Z")
        [touch] = self.due("2026-11-02T14:00:00Z")    # Monday 09:00 EST
        self.assertEqual(touch["due_at"], "2026-11-02T14:00:00Z")

    def test_missing_value_without_fallback_is_held_with_the_reason(self):
        self.write_sequence("t.yaml", SEQUENCE.replace("{{first_name|there}}", "{{first_name}}"))
        self.import_leads("Email,Scanned At\nnoname@x.example,2026-03-06 18:30\n")
        [touch] = self.due("2026-03-09T13:00:00Z")
        self.assertIn("first_name", touch["held"])
        self.assertIsNone(touch["text"])            # not "Good to meet you, "
        human = self.ok("due", now="2026-03-09T13:00:00Z").out
        self.assertIn("HELD: ", human)
        self.assertNotIn("Good to meet you", human)
        result = self.send("2026-03-09T13:00:00Z")
        self.assertEqual((result["sent"], result["held"]), (0, 1))

    def outbox_subjects(self):
        """The subjects in the order the messages were written: Maildir names start with
        the second and the pid, so two sends in one second do not sort by name."""
        new = os.path.join(self.outbox, "new")
        paths = [os.path.join(new, n) for n in os.listdir(new)] if os.path.isdir(new) else []
        subjects = []
        for path in sorted(paths, key=lambda p: os.stat(p).st_mtime_ns):
            with open(path) as f:
                subjects += [l[len("Subject:"):].strip() for l in f if l.startswith("Subject:")]
        return subjects

    def test_email_step_edited_into_a_call_is_a_call_not_a_blank_email(self):
        self.import_leads()
        self.assertEqual(self.send("2026-03-09T13:05:00Z")["sent"], 1)
        self.write_sequence("t.yaml", SEQUENCE.replace(
            '  - id: value\n    after: 3d\n    channel: email\n    thread: true\n'
            '    body: "Here is the deck."\n',
            '  - id: value\n    after: 3d\n    channel: call\n'
            '    task: "Call {{first_name|them}} about the deck"\n'))
        [touch] = self.due("2026-03-12T13:00:00Z")
        self.assertEqual((touch["step"], touch["channel"]), ("value", "call"))
        self.assertEqual(touch["text"], "Call Nora about the deck")
        self.assertEqual(self.send("2026-03-12T13:05:00Z")["sent"], 0)
        self.assertEqual(self.outbox_subjects(), ["Good to meet you, Nora"])
        self.ok("done", str(touch["touch_id"]), now="2026-03-12T14:00:00Z")
        self.assertEqual([(t["step"], t["state"]) for t in self.touches()],
                         [("recap", "sent"), ("value", "done"), ("call", "pending")])

    def test_call_step_edited_into_an_email_is_sent_as_that_email(self):
        self.import_leads()
        self.send("2026-03-09T13:05:00Z")
        self.send("2026-03-12T13:05:00Z")
        self.write_sequence("t.yaml", SEQUENCE.replace(
            '    channel: call\n    task: "Call {{first_name|them}} on {{phone|(no phone)}}"\n',
            '    channel: email\n    subject: "A quick question, {{first_name|there}}"\n'
            '    body: "Would a call help?"\n'))
        [touch] = self.due("2026-03-18T13:00:00Z")
        self.assertEqual((touch["step"], touch["channel"]), ("call", "email"))
        self.assertEqual(touch["text"], "A quick question, Nora")
        self.assertEqual(self.send("2026-03-18T13:05:00Z")["sent"], 1)
        self.assertEqual(self.outbox_subjects()[-1], "A quick question, Nora")
        self.assertEqual(self.touches()[2]["state"], "sent")

    def test_enrolling_again_in_the_same_sequence_is_refused(self):
        self.import_leads()
        self.send("2026-03-09T13:05:00Z")
        r = self.fails(2, "enroll", "ny@x.example", "t", now="2026-03-10T15:00:00Z")
        self.assertIn("already in sequence 't'", r.err)
        self.assertEqual([(t["step"], t["state"]) for t in self.touches()],
                         [("recap", "sent"), ("value", "pending")])
        self.assertEqual(self.send("2026-03-11T13:05:00Z")["sent"], 0)   # no second recap
        self.ok("enroll", "ny@x.example", "again", now="2026-03-10T15:00:00Z")
        self.assertEqual(self.sql("SELECT sequence, state FROM enrolments ORDER BY id"),
                         [{"sequence": "t", "state": "stopped"},
                          {"sequence": "again", "state": "active"}])

    def test_edited_sequence_keeps_made_steps_and_closes_removed(self):
        self.import_leads()
        self.send("2026-03-09T13:05:00Z")
        without_value = SEQUENCE.replace(
            '  - id: value\n    after: 3d\n    channel: email\n    thread: true\n'
            '    body: "Here is the deck."\n', "")
        self.write_sequence("t.yaml", without_value)
        [call] = self.due("2026-03-18T13:00:00Z")
        self.assertEqual(call["step"], "call")
        self.assertEqual([(t["step"], t["state"]) for t in self.touches()],
                         [("recap", "sent"), ("value", "removed"), ("call", "pending")])

    def test_an_edit_leaves_no_lead_zone_behind(self):
        # The first command after an edit applies it lead by lead, each in the lead's own
        # zone; it still reads and shows times in the user's zone (TZ=America/New_York).
        self.import_leads(LEADS + "tk@x.example,Taro,Tokyo Co,,2026-03-06 18:30,Asia/Tokyo\n")
        self.write_sequence("t.yaml", SEQUENCE.replace("id: recap", "id: hello"))
        self.import_leads("Email,Scanned At\nlate@x.example,2026-03-06 12:00\n",
                          now="2026-03-07T15:00:00Z")
        [late] = self.sql("SELECT contact_at FROM leads WHERE email = 'late@x.example'")
        self.assertEqual(late["contact_at"], 1772816400)      # 2026-03-06T17:00:00Z
        self.write_sequence("t.yaml", SEQUENCE)
        first = self.ok("due", "--until", "2026-03-09", now="2026-03-07T15:05:00Z").out
        self.assertIn("Sun 2026-03-08\n  #", first)      # Taro's Monday 10:00 in Tokyo
        self.assertEqual(first, self.ok("due", "--until", "2026-03-09",
                                        now="2026-03-07T15:05:00Z").out)

    def test_a_huge_note_in_a_task_is_cut_in_the_listing_not_in_json(self):
        self.write_sequence("t.yaml", "name: t\nsteps:\n  - { id: call, after: 1h, channel: call,"
                                      " task: \"{{notes}}, then call\" }\n")
        note = "é" * 300 + "x" * 200000
        self.import_leads(f"Email,Notes,Scanned At\nny@x.example,{note},2026-03-06 18:30\n")
        [line] = [l for l in self.ok("due", now="2026-03-09T14:00:00Z").out.splitlines()
                  if l.startswith("          é")]
        self.assertEqual(line, "          " + "é" * 300 + "x" * 100 + "… (see 'followup show')")
        [touch] = self.due("2026-03-09T14:00:00Z")
        self.assertTrue(touch["text"].startswith(note))

    def test_a_step_renamed_and_renamed_back_is_due_again(self):
        self.import_leads()
        self.write_sequence("t.yaml", SEQUENCE.replace("id: recap", "id: hello"))
        self.due("2026-03-07T15:00:00Z")
        self.write_sequence("t.yaml", SEQUENCE)         # the typo undone: recap was never sent
        [recap] = self.due("2026-03-09T13:00:00Z")
        self.assertEqual((recap["step"], recap["due_at"]), ("recap", "2026-03-09T13:00:00Z"))
        self.assertEqual([(t["step"], t["state"]) for t in self.touches()],
                         [("recap", "removed"), ("hello", "removed"), ("recap", "pending")])

    def test_the_step_after_an_expired_call_keeps_min_gap_from_it(self):
        self.write_sequence("t.yaml", """\
name: t
timezone: America/New_York
window: "09:00-17:00"
min_gap: 2d
steps:
  - { id: a, after: 0h, channel: task, task: "Add to CRM" }
  - { id: ring, after: 1d, channel: call, task: "Call", expire: 1d }
  - { id: note, after: 2d, channel: task, task: "Send a note" }
""")
        self.import_leads("Email,Scanned At\nny@x.example,2026-04-06 09:00\n",
                          now="2026-04-06T12:00:00Z")
        [a] = self.due("2026-04-06T13:30:00Z")
        self.ok("done", str(a["touch_id"]), now="2026-04-06T13:30:00Z")   # Mon 09:30 EDT
        [ring] = self.due("2026-04-08T13:30:00Z")                        # Wed: a + min_gap
        self.assertEqual(ring["due_at"], "2026-04-08T13:30:00Z")
        # Nobody calls; the call expires Thursday. The note was timed min_gap after the
        # call's due time, not from Monday's task: it is not overdue the moment it appears.
        self.assertEqual(self.due("2026-04-09T14:00:00Z"), [])
        [note] = self.due("2026-04-10T13:30:00Z")
        self.assertEqual((note["step"], note["due_at"]), ("note", "2026-04-10T13:30:00Z"))
        self.assertEqual([t["state"] for t in self.touches()], ["done", "expired", "pending"])

    def test_expire_skips_once_past_due_plus_expire_not_at_it(self):
        self.write_sequence("t.yaml", SEQUENCE.replace(
            "    subject: \"Good to meet you", "    expire: 1h\n    subject: \"Good to meet you"))
        self.import_leads()
        [recap] = self.due("2026-03-09T14:00:00Z")       # due 13:00Z, expire 1h: at the edge
        self.assertEqual(recap["step"], "recap")
        self.due("2026-03-09T14:00:01Z")
        self.assertEqual(self.touches()[0]["state"], "expired")

    def test_stop_on_decides_for_converted_and_lost_never_for_a_reply(self):
        self.write_sequence("t.yaml", SEQUENCE.replace("min_gap: 1d\n",
                                                       "min_gap: 1d\nstop_on: [lost]\n"))
        self.import_leads("Email,First Name,Scanned At\n"
                          "won@x.example,Wyn,2026-03-06 18:30\n"
                          "rep@x.example,Rex,2026-03-06 18:30\n")
        r = self.ok("mark", "won@x.example", "converted", now="2026-03-07T15:00:00Z")
        self.assertIn("goes on", r.out)
        self.ok("mark", "rep@x.example", "replied", now="2026-03-07T15:00:00Z")
        # The converted lead's onboarding-style sequence goes on; the reply stops the other.
        self.assertEqual(self.send("2026-03-09T13:05:00Z")["sent"], 1)
        self.assertEqual([t["state"] for t in self.touches("won@x.example")], ["sent", "pending"])
        self.assertEqual([t["state"] for t in self.touches("rep@x.example")], ["cancelled"])
        self.ok("mark", "won@x.example", "lost", now="2026-03-10T15:00:00Z")
        self.assertEqual(self.touches("won@x.example")[-1]["state"], "cancelled")

    def test_a_lead_converted_in_a_sequence_that_goes_on_is_not_reactivated(self):
        self.write_sequence("t.yaml", SEQUENCE.replace("min_gap: 1d\n",
                                                       "min_gap: 1d\nstop_on: [lost]\n"))
        self.import_leads()
        self.ok("mark", "ny@x.example", "converted", now="2026-03-07T15:00:00Z")
        for now in ("2026-03-09T13:05:00Z", "2026-03-12T13:05:00Z", "2026-03-16T13:05:00Z",
                    "2026-03-27T13:05:00Z"):
            self.send(now)
        self.assertEqual(self.sql("SELECT sequence, state FROM enrolments"),
                         [{"sequence": "t", "state": "completed"}])
        self.assertEqual(self.due("2026-07-01T13:05:00Z"), [])

    def test_an_opt_out_row_stops_a_cold_lead_in_reactivation(self):
        self.import_leads()
        for now in ("2026-03-09T13:05:00Z", "2026-03-12T13:05:00Z", "2026-03-27T13:05:00Z"):
            self.send(now)
        self.assertEqual(self.sql("SELECT status FROM leads"), [{"status": "cold"}])
        summary = self.import_leads("Email,Do Not Email\nny@x.example,yes\n",
                                    "2026-04-01T15:00:00Z")
        self.assertEqual(summary["suppressed"], 1)
        self.assertEqual(self.due("2026-07-01T13:05:00Z"), [])
        self.assertEqual(self.send("2026-07-01T13:05:00Z")["sent"], 0)

    def insert_before_call(self, step):
        self.write_sequence("t.yaml", SEQUENCE.replace("  - id: call\n", step + "  - id: call\n"))

    def test_step_added_with_past_offset_is_due_at_once_not_expired(self):
        self.import_leads()
        self.send("2026-03-09T13:05:00Z")
        self.send("2026-03-12T13:05:00Z")
        # Day 4 (Friday 03-13) is long past on Monday 03-16 when the step is added.
        self.insert_before_call('  - { id: mid, after: 4d, channel: task, task: "mid", expire: 1d }\n')
        [mid] = self.due("2026-03-16T15:00:00Z")
        self.assertEqual(mid["step"], "mid")
        self.assertEqual(mid["due_at"], "2026-03-16T15:00:00Z")
        # Its expire counts from when it fell due: the next day, the call follows.
        [call] = self.due("2026-03-18T13:00:00Z")
        self.assertEqual(call["step"], "call")
        self.assertEqual([(t["step"], t["state"]) for t in self.touches()][2:],
                         [("call", "cancelled"), ("mid", "expired"), ("call", "pending")])

    def test_added_manual_step_is_not_missed_at_once_when_the_next_is_past(self):
        self.import_leads()
        self.send("2026-03-09T13:05:00Z")
        self.send("2026-03-12T13:05:00Z")
        # Added on Thursday 03-19: both the new step (day 4) and the call (day 7) are past.
        self.insert_before_call('  - { id: mid, after: 4d, channel: task, task: "mid" }\n')
        [mid] = self.due("2026-03-19T15:00:00Z")
        self.assertEqual((mid["step"], mid["due_at"]), ("mid", "2026-03-19T15:00:00Z"))
        # The call comes min_gap after it, and only then is the task missed.
        [mid] = self.due("2026-03-20T14:59:00Z")
        self.assertEqual(mid["step"], "mid")
        [call] = self.due("2026-03-20T15:00:00Z")
        self.assertEqual((call["step"], call["due_at"]), ("call", "2026-03-20T15:00:00Z"))

    def test_second_edit_keeps_an_added_step_due_from_when_it_was_added(self):
        self.import_leads()
        self.send("2026-03-09T13:05:00Z")
        self.send("2026-03-12T13:05:00Z")
        self.insert_before_call('  - { id: mid, after: 4d, channel: task, task: "mid", expire: 1d }\n')
        self.due("2026-03-16T15:00:00Z")
        # A typo fixed an hour later must not pull it back to day 4 (and expire it).
        self.insert_before_call('  - { id: mid, after: 4d, channel: task, task: "Mid", expire: 1d }\n')
        [mid] = self.due("2026-03-16T16:00:00Z")
        self.assertEqual((mid["step"], mid["due_at"]), ("mid", "2026-03-16T15:00:00Z"))

    def test_call_made_on_a_catch_up_run_stays_due_for_min_gap(self):
        self.import_leads()
        # send did not run for three weeks: recap, then value a day later (min_gap).
        self.assertEqual(self.send("2026-04-01T15:00:00Z")["sent"], 1)
        self.assertEqual(self.send("2026-04-02T15:00:00Z")["sent"], 1)
        # The call (day 7) and the check-in (day 14) are both past: the call is due
        # min_gap after value, and the check-in no sooner than min_gap after the call.
        [call] = self.due("2026-04-03T16:00:00Z")
        self.assertEqual((call["step"], call["due_at"]), ("call", "2026-04-03T15:00:00Z"))
        [call] = self.due("2026-04-06T12:59:00Z")     # Saturday is no business day
        self.assertEqual(call["step"], "call")
        [checkin] = self.due("2026-04-06T13:00:00Z")
        self.assertEqual((checkin["step"], checkin["due_at"]), ("checkin", "2026-04-06T13:00:00Z"))
        self.assertEqual([t["state"] for t in self.touches()],
                         ["sent", "sent", "missed", "pending"])

    def test_unknown_touch_and_lead_are_usage_errors(self):
        self.import_leads()
        self.fails(2, "done", "999")
        self.fails(2, "mark", "nobody@x.example", "replied")
        self.fails(2, "mark", "ny@x.example", "happy")
        self.fails(2, "enroll", "ny@x.example", "no-such-sequence")


class Plan(FollowupTest):
    def test_plan_shows_the_calendar(self):
        r = self.ok("plan", "event-followup", "--from", "2026-03-06 18:30")
        self.assertIn("Mon 2026-03-09 09:00", r.out)
