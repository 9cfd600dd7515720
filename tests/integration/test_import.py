"""followup import on the three vendors' badge files and on broken input, run as a user
runs it, against a real SQLite store."""
import json
import os
import re
import signal
import stat
import subprocess
import time

from helpers import BIN, FollowupTest, wait_until_blocked_on_pipe, write_lock_held


class ImportSamples(FollowupTest):
    def setUp(self):
        super().setUp()
        self.ok("init")

    def import_json(self, *args, **kw):
        return self.ok("import", "--json", *args, now="2025-03-10T12:00:00Z", **kw).json()

    def test_eventyay_sample(self):
        summary = self.import_json(self.data("A_eventyay_style_leads.csv"), "--event", "Expo")
        self.assertEqual(summary, {"rows": 6, "imported": 3, "updated": 0, "duplicates": 1,
                                   "rejected": 2, "suppressed": 0, "enrolled": 3})
        renee = self.sql("SELECT * FROM leads WHERE email = 'renee.lefevre@example.fr'")[0]
        self.assertEqual(renee["first_name"], "Renée")
        self.assertEqual(renee["last_name"], "Lefèvre-Özdemir")
        self.assertEqual(renee["company"], "Société Générale d'Études, SA")
        self.assertEqual(renee["notes"], "Wants demo, EU pricing\nCall back Tue 10:00 CET")
        # Scanned Date + Scan Time combine; the repeat scan keeps the earliest contact.
        dana = self.sql("SELECT contact_at FROM leads WHERE email LIKE 'dana%'")[0]
        self.assertEqual(dana["contact_at"], 1741097709 + 5 * 3600)  # 14:15:09 New York

    def test_eventbrite_cp1252_sample(self):
        r = self.run_followup("import", "--json", self.data("B_eventbrite_attendee_excel_cp1252.csv"),
                              now="2025-03-10T12:00:00Z")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.json(), {"rows": 5, "imported": 2, "updated": 0, "duplicates": 1,
                                    "rejected": 2, "suppressed": 0, "enrolled": 2})
        self.assertIn("Windows-1252", r.err)
        self.assertEqual(r.err.count("Windows-1252"), 1)
        self.assertIn(":5: rejected", r.err)       # the Info Requested row, after a 2-line note
        zoe = self.sql("SELECT first_name, last_name, title FROM leads WHERE email LIKE 'zoe%'")
        self.assertEqual(zoe, [{"first_name": "Zoë", "last_name": "Ångström", "title": "CTO"}])

    def test_semicolon_sample_merges_repeat_scan(self):
        summary = self.import_json(self.data("C_eu_semicolon_sep_validar_style.csv"))
        self.assertEqual(summary, {"rows": 6, "imported": 4, "updated": 0, "duplicates": 1,
                                   "rejected": 1, "suppressed": 0, "enrolled": 4})
        anna = self.sql("SELECT rating, notes, owner FROM leads WHERE email LIKE 'anna%'")[0]
        self.assertEqual(anna["rating"], "Warm")            # filled once, kept
        self.assertEqual(anna["notes"], "2nd visit – wants trial")
        lukasz = self.sql("SELECT notes FROM leads WHERE email LIKE 'l.wrobel%'")[0]
        self.assertEqual(lukasz["notes"], 'Budget ok; Entscheidung Q3\nRückruf "dringend"')

    def test_second_import_changes_nothing(self):
        path = self.data("C_eu_semicolon_sep_validar_style.csv")
        self.import_json(path)
        before = subprocess.run(["sqlite3", self.db, ".dump"], capture_output=True).stdout
        again = self.import_json(path)
        self.assertEqual(again["imported"], 0)
        self.assertEqual(again["updated"], 4)
        self.assertEqual(again["enrolled"], 0)
        after = subprocess.run(["sqlite3", self.db, ".dump"], capture_output=True).stdout
        self.assertEqual(before, after)

    def test_extra_columns_in_another_order_import_again_unchanged(self):
        # The booth file's extra columns come in one order and a second file's in another:
        # their merged extra has its keys in neither, which is no change to import again.
        tsv = self.write("interest.tsv", "Email\tInterest\r\n"
                                         "dana.whitfield@NORTHWIND.example\tSSO\r\n")
        files = (self.data("A_eventyay_style_leads.csv"), tsv)
        self.import_json(*files)
        dana = "SELECT extra, updated_at FROM leads WHERE email LIKE 'dana%'"
        history = ("SELECT h.kind, h.detail FROM history h JOIN leads l ON l.id = h.lead_id"
                   " WHERE l.email LIKE 'dana%' AND h.kind = 'updated' ORDER BY h.id")
        [first] = self.sql(dana)
        self.assertEqual(json.loads(first["extra"])["Interest"], "SSO")
        self.assertEqual(self.sql(history), [{"kind": "updated",
                                              "detail": f"updated from {tsv} line 2"}])
        # Later days, so that a rewritten lead would show in its updated_at (the touches
        # change meanwhile: their time passes).
        stored = lambda: (self.sql("SELECT * FROM leads ORDER BY id"),
                          self.sql("SELECT * FROM history ORDER BY id"))
        before = stored()
        for day in ("11", "12"):
            again = self.ok("import", "--json", *files, now=f"2025-03-{day}T12:00:00Z").json()
            self.assertEqual((again["imported"], again["enrolled"]), (0, 0))
        self.assertEqual(self.sql(dana), [first])
        self.assertEqual(len(self.sql(history)), 1)
        self.assertEqual(stored(), before)
        # A new note is a change; the lead's extra keeps its text all the same.
        note = self.write("note.tsv", "Email\tTags\tNote\r\n"
                                      "dana.whitfield@northwind.example\thot\tCall in May\r\n")
        self.ok("import", note, now="2025-03-13T12:00:00Z")
        [noted] = self.sql("SELECT extra, notes FROM leads WHERE email LIKE 'dana%'")
        self.assertEqual(noted, {"extra": first["extra"],
                                 "notes": "Asked about pricing\nCall in May"})

    def test_rejects_file_keeps_the_row_and_reason(self):
        rejects = os.path.join(self.dir, "rejects.csv")
        self.import_json(self.data("A_eventyay_style_leads.csv"), "--rejects", rejects)
        with open(rejects, encoding="utf-8") as f:
            lines = f.read().splitlines()
        # The input had a BOM, so the rejects file has one too (Excel reads its accents).
        self.assertTrue(lines[0].startswith("\ufeffID,Exhibitor"))
        self.assertTrue(lines[0].endswith(",followup_reason"))
        self.assertEqual(len(lines), 3)
        self.assertTrue(lines[1].startswith("104,"))
        self.assertIn("ming.zhao@", lines[1])

    def test_dry_run_changes_nothing(self):
        r = self.ok("import", "--dry-run", self.data("A_eventyay_style_leads.csv"))
        self.assertIn("dry run", r.out)
        self.assertEqual(self.sql("SELECT count(*) AS n FROM leads"), [{"n": 0}])

    def test_opt_out_column_suppresses(self):
        path = self.write("optout.csv", "Email,First Name,Do Not Email,Opt-in\n"
                          "a@x.example,Ann,yes,\nb@x.example,Bob,,no\nc@x.example,Cy,,yes\n")
        summary = self.import_json(path)
        self.assertEqual(summary["imported"], 3)
        self.assertEqual(summary["suppressed"], 2)
        self.assertEqual(summary["enrolled"], 1)

    def test_opt_out_words_and_unclear_values_never_enrol(self):
        path = self.write("words.csv", "Email,Do Not Email,Consent\n"
                          "a@x.example,Opted Out,\nb@x.example,,Declined\n"
                          "c@x.example,maybe,\nd@x.example,no,Granted\ne@x.example,,\n")
        r = self.ok("import", "--json", path)
        self.assertEqual((r.json()["suppressed"], r.json()["enrolled"]), (3, 2))
        self.assertIn("words.csv:4: opt-out value 'maybe' is neither yes nor no: taken as opted out",
                      r.err)
        self.assertEqual(self.sql("SELECT email FROM leads l JOIN enrolments e ON e.lead_id = l.id"
                                  " ORDER BY l.id"),
                         [{"email": "d@x.example"}, {"email": "e@x.example"}])

    def test_opt_out_in_a_later_row_stops_the_lead(self):
        # In a later file: the lead was enrolled, this row withdraws it.
        self.import_json(self.write("first.csv", "Email\ny@x.example\n"))
        later = self.import_json(self.write("later.csv", "Email,Do Not Email\nY@x.example,yes\n"))
        self.assertEqual((later["suppressed"], later["enrolled"]), (1, 0))
        # In the same file: the repeat row withdraws the enrolment its first row made.
        same = self.import_json(self.write("same.csv", "Email,Do Not Email\n"
                                           "z@x.example,no\nZ@x.example,yes\n"))
        self.assertEqual((same["suppressed"], same["enrolled"]), (1, 0))
        self.assertEqual(self.sql("SELECT DISTINCT status FROM leads"), [{"status": "unsubscribed"}])
        self.assertEqual(self.sql("SELECT count(*) AS n FROM touches WHERE state = 'pending'"),
                         [{"n": 0}])
        r = self.ok("send", now="2025-03-20T15:00:00Z")
        self.assertIn("sent 0 messages", r.out)

    def test_dry_run_of_a_later_day_changes_nothing(self):
        # Expired touches of earlier leads are closed by the tick: in a dry run, not at all.
        self.import_json(self.data("A_eventyay_style_leads.csv"))
        before = subprocess.run(["sqlite3", self.db, ".dump"], capture_output=True).stdout
        self.ok("import", "--dry-run", self.data("C_eu_semicolon_sep_validar_style.csv"),
                now="2025-04-20T15:00:00Z")
        self.fails(1, "import", self.data("C_eu_semicolon_sep_validar_style.csv"), "nope.csv",
                   now="2025-04-20T15:00:00Z")
        after = subprocess.run(["sqlite3", self.db, ".dump"], capture_output=True).stdout
        self.assertEqual(before, after)

    def test_second_import_on_the_real_clock_changes_nothing(self):
        # Old scans imported today: their touches are already past their close time, and
        # are closed by the first import, not left for the second.
        paths = [self.data("A_eventyay_style_leads.csv"),
                 self.data("C_eu_semicolon_sep_validar_style.csv")]
        self.ok("import", *paths)
        before = subprocess.run(["sqlite3", self.db, ".dump"], capture_output=True).stdout
        self.ok("import", *paths)
        after = subprocess.run(["sqlite3", self.db, ".dump"], capture_output=True).stdout
        self.assertEqual(before, after)

    def test_rejects_file_is_written_only_when_the_import_lands(self):
        rejects = self.write("rejects.csv", "earlier rejects\n")
        self.fails(1, "import", self.data("A_eventyay_style_leads.csv"), "nope.csv",
                   "--rejects", rejects)
        with open(rejects) as f:
            self.assertEqual(f.read(), "earlier rejects\n")
        own = self.write("own.csv", "Email\nbad address\n")
        r = self.fails(2, "import", own, "--rejects", own)
        self.assertIn("is one of the files", r.err)
        with open(own) as f:
            self.assertEqual(f.read(), "Email\nbad address\n")
        self.assertEqual([n for n in os.listdir(self.dir) if n.endswith(".tmp")], [])
        # A dry run lands nothing, so it writes no rejects file either.
        self.ok("import", "--dry-run", own, "--rejects", rejects)
        with open(rejects) as f:
            self.assertEqual(f.read(), "earlier rejects\n")
        # A directory is refused before the import, not found out after it landed.
        r = self.fails(2, "import", own, "--rejects", self.dir)
        self.assertIn("is a directory", r.err)
        self.assertEqual(self.sql("SELECT count(*) AS n FROM imports"), [{"n": 0}])

    def test_rejects_of_a_short_row_keep_the_reason_in_its_column(self):
        path = self.write("short.csv", "Email,First Name,Company,Phone\nann@x,Ann\n")
        rejects = os.path.join(self.dir, "rejects.csv")
        self.ok("import", path, "--rejects", rejects)
        with open(rejects) as f:
            self.assertEqual(f.read().splitlines(),
                             ["Email,First Name,Company,Phone,followup_reason", "ann@x,Ann,,,no dot in the domain"])

    def test_a_scan_after_the_import_is_read_as_the_import_time(self):
        r = self.ok("import", "--json", self.write("f.csv", "Email,Scanned At\n"
                    "a@x.example,2025-03-07 18:00\nb@x.example,99999999999\n"
                    "c@x.example,2025-03-08 05:00\n"), now="2025-03-07T12:00:00Z")
        self.assertIn("f.csv:3: the scan time '99999999999' is after the import", r.err)
        self.assertNotIn("f.csv:2:", r.err)        # hours ahead: a scanner's clock, kept
        self.assertNotIn("f.csv:4:", r.err)
        self.assertEqual(self.sql("SELECT contact_at FROM leads ORDER BY id"),
                         [{"contact_at": 1741388400}, {"contact_at": 1741348800},
                          {"contact_at": 1741428000}])

    def test_an_empty_email_column_gives_way_to_a_later_one(self):
        summary = self.import_json(self.write("e.csv", "Work Email,Email,Name\n"
                                              ",home@x.example,Ann\n,,Bob\n"))
        self.assertEqual((summary["imported"], summary["rejected"]), (1, 1))
        self.assertEqual(self.sql("SELECT email FROM leads"), [{"email": "home@x.example"}])

    def test_a_time_zone_in_other_case_is_the_zone(self):
        path = self.write("z.csv", "Email,Time Zone\na@x.example,asia/tokyo\n"
                                   "b@x.example,AMERICA/NEW_YORK\nc@x.example,Mars/Base\n")
        r = self.ok("import", path)
        self.assertEqual(self.sql("SELECT timezone FROM leads ORDER BY email"),
                         [{"timezone": "Asia/Tokyo"}, {"timezone": "America/New_York"},
                          {"timezone": None}])
        self.assertIn(f"{path}:4: unknown time zone 'Mars/Base': ignored", r.err)
        self.assertNotIn("tokyo", r.err)

    def test_control_characters_and_invisible_headers(self):
        csv = ("\u200bE-Mail,Name,Event\n"
               "a@x.example,\"Ann\x1b[31m\x07 Lee\",Expo East\n")
        self.import_json(self.write("c.csv", csv), "--event", "Expo West")
        [lead] = self.sql("SELECT first_name, last_name, event, extra FROM leads")
        self.assertEqual((lead["first_name"], lead["last_name"], lead["event"]),
                         ("Ann[31m", "Lee", "Expo West"))     # the escape and the bell are gone
        self.assertEqual(lead["extra"], '{"Event":"Expo East"}')   # the row's own event is kept

    def test_a_known_lead_keeps_its_owner_and_the_import_says_so(self):
        self.import_json(self.write("o1.csv", "Email,Owner\nw@x.example,pat\nb@x.example,dana\n"))
        r = self.ok("import", self.write("o2.csv", "Email,Owner\nw@x.example,lee\n"
                                         "b@x.example,DANA\nn@x.example,lee\n"))
        self.assertIn("1 row would give a known lead another owner; it keeps its own"
                      " (w@x.example stays 'pat', the import says 'lee')", r.err)
        self.assertEqual(self.sql("SELECT owner FROM leads ORDER BY id"),
                         [{"owner": "pat"}, {"owner": "dana"}, {"owner": "lee"}])
        again = self.ok("import", self.write("o3.csv", "Email,Owner\nb@x.example,dana\n"))
        self.assertNotIn("another owner", again.err)

    def test_c1_controls_and_controls_in_headers_never_reach_the_terminal(self):
        # U+009B is CSI and U+009D OSC to a terminal that reads 8-bit controls (xterm).
        csv = ("Email,Name,Company,[31mTag,Tab\tHead\n"
               "c@x.example,31mAnn Lee,0;owned Corp,v,w\n")
        self.import_json(self.write("c1.csv", csv))
        [lead] = self.sql("SELECT first_name, company, extra FROM leads")
        self.assertEqual((lead["first_name"], lead["company"]), ("31mAnn", "0;owned Corp"))
        self.assertEqual(json.loads(lead["extra"]), {"[31mTag": "v", "Tab Head": "w"})
        # A store written before: what it holds is shown without its controls too.
        self.sql("UPDATE leads SET first_name = 'Ann' || char(155) || '31m',"
                 " notes = 'x' || char(27) || ']0;t' || char(7),"
                 " extra = json_object('K' || char(157), 'v' || char(27))")
        for args in (["show", "c@x.example"], ["leads"], ["due", "--until", "+30d"]):
            out = self.ok(*args).out
            self.assertIn("Ann31m", out)
            self.assertFalse(re.search("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]", out), out)

    def test_letters_beyond_a_to_z_compare_without_case_too(self):
        summary = self.import_json(self.write("u.csv", "Email,Name\n"
                                              "josé@école.example,José\nJOSÉ@École.example,J\n"))
        self.assertEqual((summary["imported"], summary["duplicates"]), (1, 1))
        r = self.ok("import", "--json", self.write("u2.csv", "Email,Do Not Email\n"
                                                  "JOSÉ@ÉCOLE.EXAMPLE,yes\n"), now="2025-03-11T12:00:00Z")
        self.assertEqual((r.json()["updated"], r.json()["suppressed"]), (1, 1))
        self.assertEqual(self.sql("SELECT status FROM leads"), [{"status": "unsubscribed"}])
        self.assertIn("José", self.ok("show", "JOSÉ@ÉCOLE.example").out)
        self.ok("optout", "ZOË@X.example")
        self.assertEqual(self.sql("SELECT count(*) AS n FROM suppressions"
                                  " WHERE email = 'zoë@x.example'"), [{"n": 1}])

    def test_a_store_from_before_the_case_folding_is_folded_on_open(self):
        self.import_json(self.write("z.csv", "Email\nother@x.example\n"))
        subprocess.run(["sqlite3", self.db, "PRAGMA user_version = 1;"
                        " UPDATE leads SET email = 'ZOË@x.example';"
                        " INSERT INTO suppressions VALUES ('MARÍA@x.example', 'optout', 0)"],
                       check=True)
        summary = self.import_json(self.write("z2.csv", "Email\nzoë@x.example\nmaría@x.example\n"))
        self.assertEqual((summary["updated"], summary["imported"], summary["suppressed"]),
                         (1, 1, 1))
        self.assertEqual(self.sql("PRAGMA user_version"), [{"user_version": 4}])

    def test_a_schema_2_store_gets_the_covering_due_index_and_lists_the_same(self):
        self.import_json(self.write("d.csv", "Email,First Name\na@x.example,Ann\n"
                                    "b@x.example,Bo\nc@x.example,Cy\n"))
        listed = self.ok("due", "--json", now="2030-01-01T12:00:00Z").json()
        subprocess.run(["sqlite3", self.db, "DROP INDEX touches_due;"
                        " CREATE INDEX touches_due ON touches(due_at) WHERE state = 'pending';"
                        " PRAGMA user_version = 2"], check=True)
        self.assertEqual(self.ok("due", "--json", now="2030-01-01T12:00:00Z").json(), listed)
        self.assertEqual(len(listed), 3)
        self.assertEqual(self.sql("PRAGMA user_version"), [{"user_version": 4}])
        columns = [r["name"] for r in self.sql("PRAGMA index_info(touches_due)")]
        self.assertEqual(columns, ["due_at", "id", "lead_id", "enrolment_id", "step",
                                   "channel", "state", "retry_at"])

    def test_a_schema_2_store_without_the_due_index_still_migrates(self):
        self.import_json(self.write("d.csv", "Email\na@x.example\n"))
        subprocess.run(["sqlite3", self.db, "DROP INDEX touches_due; PRAGMA user_version = 2"],
                       check=True)
        self.assertEqual(len(self.ok("due", "--json", now="2030-01-01T12:00:00Z").json()), 1)
        self.assertEqual(len(self.sql("PRAGMA index_info(touches_due)")), 8)

    def test_a_schema_3_store_has_its_senders_and_stopped_touches_mended(self):
        self.import_json(self.write("d.csv", "Email\na@x.example\nb@x.example\n"))
        # As a version before 4 left them: a claim's sender as the config spelt it, and a
        # touch given back as pending after `mark lost` stopped its sequence.
        subprocess.run(["sqlite3", self.db,
                        "UPDATE touches SET state = 'sent', sender = 'Alex@ACME.example',"
                        " done_at = 1 WHERE lead_id = 1;"
                        " UPDATE enrolments SET state = 'stopped', ended_at = 7 WHERE lead_id = 2;"
                        " PRAGMA user_version = 3"], check=True)
        self.assertEqual(len(self.ok("due", "--json", now="2030-01-01T12:00:00Z").json()), 0)
        self.assertEqual(self.sql("SELECT state, sender, done_at FROM touches ORDER BY id"),
                         [{"state": "sent", "sender": "alex@acme.example", "done_at": 1},
                          {"state": "cancelled", "sender": None, "done_at": 7}])

    def test_a_lead_in_two_files_of_one_import_is_a_duplicate(self):
        f1 = self.write("f1.csv", "Email\na@x.example\nb@x.example\n")
        f2 = self.write("f2.csv", "Email\nA@x.example\nc@x.example\n")
        first = self.ok("import", "--json", f1, f2).json()
        self.assertEqual((first["imported"], first["updated"], first["duplicates"]), (3, 0, 1))
        again = self.ok("import", "--json", f1, f2).json()
        self.assertEqual((again["imported"], again["duplicates"]), (0, 1))
        self.assertEqual(again["updated"], 3)

    def test_an_earlier_scan_in_a_later_import_moves_a_sequence_not_yet_begun(self):
        # The shipped sequence: recap 24 h after the scan (business days, 09:00-17:00 in
        # the config zone, New York).
        self.ok("import", self.write("k.csv", "Email,Scanned At\nk@x.example,2025-03-05 10:00\n"),
                now="2025-03-05T16:00:00Z")
        self.ok("send", now="2025-03-06T15:05:00Z")                     # k's recap goes
        self.ok("import", self.write("j.csv", "Email,Scanned At\nj@x.example,2025-03-05 10:00\n"),
                now="2025-03-06T16:00:00Z")
        due = lambda: {t["email"]: (t["step"], t["due_at"]) for t in self.ok(
            "due", "--json", "--until", "2025-03-31", now="2025-03-07T12:00:00Z").json()}
        k_before = due()["k@x.example"]
        # A second scanner's file: both were met on Tuesday already.
        self.ok("import", self.write("mon.csv", "Email,Scanned At\nj@x.example,2025-03-04 09:00\n"
                                     "k@x.example,2025-03-04 09:00\n"), now="2025-03-07T12:00:00Z")
        after = due()
        self.assertEqual(after["j@x.example"], ("recap", "2025-03-05T14:00:00Z"))  # Tue 09:00 + 24 h
        self.assertEqual(after["k@x.example"], k_before)    # its recap went: its time stays

    def test_an_earlier_scan_that_would_expire_the_recap_or_is_another_events_moves_nothing(self):
        self.ok("import", "--event", "Expo B", self.write(
            "b.csv", "Email,Scanned At\nk@x.example,2025-03-05 10:00\n"), now="2025-03-05T16:00:00Z")
        due = lambda: [(t["step"], t["due_at"]) for t in self.ok(
            "due", "--json", "--until", "2025-03-31", now="2025-03-05T17:00:00Z").json()]
        before = due()
        # Last year's file of another event, then this event's scan a week before: the
        # recap would be past its 5-day expire.
        self.ok("import", "--event", "Expo A 2024", self.write(
            "a.csv", "Email,Scanned At\nk@x.example,2024-03-01 10:00\n"), now="2025-03-05T17:00:00Z")
        self.ok("import", "--event", "Expo B", self.write(
            "b2.csv", "Email,Scanned At\nk@x.example,2025-02-24 10:00\n"), now="2025-03-05T17:00:00Z")
        self.assertEqual(due(), before)
        self.assertEqual(self.sql("SELECT state FROM touches"), [{"state": "pending"}])

    def test_a_note_inside_an_earlier_one_is_still_a_new_note(self):
        self.import_json(self.write("n.csv", "Email,Notes\na@x.example,Not interested\n"
                                    "a@x.example,interested\na@x.example,Not interested\n"))
        self.assertEqual(self.sql("SELECT notes FROM leads"), [{"notes": "Not interested\ninterested"}])

    def test_owner_by_key_name_or_email_is_one_rep(self):
        self.write_config("owners:\n  dana: { name: Dana Diaz, email: dana@acme.example }\n")
        self.import_json(self.write("owners.csv", "Email,Scanned By\n"
                                    "a@x.example,Dana Diaz\nb@x.example,DANA@acme.example\n"
                                    "c@x.example,dana\nd@x.example,Sam\n"))
        self.assertEqual(self.sql("SELECT owner FROM leads ORDER BY id"),
                         [{"owner": "dana"}] * 3 + [{"owner": "Sam"}])
        # A lead stored under the display name (before the config named the rep) counts too.
        subprocess.run(["sqlite3", self.db, "UPDATE leads SET owner = 'Dana Diaz' WHERE id = 1"],
                       check=True)
        for name in ("dana", "Dana Diaz", "dana@acme.example"):
            leads = self.ok("leads", "--owner", name, "--json").json()
            self.assertEqual(len(leads), 3, name)
        self.assertEqual(self.ok("pipeline", "--json", "--owner", "DANA").json()["leads"]["total"], 3)
        due = self.ok("due", "--owner", "Dana Diaz", "--until", "2025-04-01", "--json",
                      now="2025-03-10T12:00:00Z").json()
        self.assertEqual({d["owner"] for d in due}, {"dana", "Dana Diaz"})
        self.assertEqual(len(due), 3)

    def test_what_spreadsheets_do_to_addresses_and_numbers(self):
        csv = ("Email,Name,Badge ID\n"
               "mailto:Ann@x.example,Ann,\n"
               '"Jane Doe <jane@x.example>",Jane,="00123"\n'
               "bob@x.example\u00a0,Bob,\n"             # a no-break space pasted after it
               "\u200bbob@x.example,Bob again,\n"        # a zero-width space before it
               "b\u00a0ob@x.example,Bob inside,\n"
               "b.@x.example,Dot,\n")
        summary = self.import_json(self.write("links.csv", csv.encode(), mode="wb"))
        self.assertEqual((summary["imported"], summary["duplicates"], summary["rejected"]),
                         (3, 1, 2))
        self.assertEqual(self.sql("SELECT email, badge_id FROM leads ORDER BY id"),
                         [{"email": "Ann@x.example", "badge_id": None},
                          {"email": "jane@x.example", "badge_id": "00123"},
                          {"email": "bob@x.example", "badge_id": None}])

    def test_a_cell_with_two_addresses_is_refused_not_guessed(self):
        csv = ('Email,Name\n'
               '"dora@x.example\r\nRCPT TO:<evil@attacker.example>",Dora\n'
               '"bob@x.example <evil@attacker.example>",Bob\n'
               '"Jane Doe <jane@x.example>",Jane\n')
        r = self.run_followup("import", "--json", self.write("two.csv", csv),
                              now="2025-03-10T12:00:00Z")
        self.assertEqual((r.json()["imported"], r.json()["rejected"]), (1, 2))
        self.assertEqual(self.sql("SELECT email FROM leads"), [{"email": "jane@x.example"}])
        self.assertNotIn("attacker", r.out)

    def test_eventbrite_info_requested_rows_are_the_buyers(self):
        csv = ("Order #,First Name,Last Name,Email,Buyer First Name,Buyer Last Name,Buyer Email,Company\n"
               "1,Info Requested,Info Requested,Info Requested,Marco,Rossi,m.rossi@x.example,Info Requested\n"
               "1,Info Requested,Info Requested,Info Requested,Marco,Rossi,m.rossi@x.example,\n"
               "2,Ana,Lima,ana@y.example,Marco,Rossi,m.rossi@x.example,Lima SA\n"
               "3,,,,,,,Nobody Ltd\n"
               "4,Carl,Guest,,Bea,Buyer,bea@z.example,\n")
        summary = self.import_json(self.write("eventbrite.csv", csv))
        self.assertEqual((summary["imported"], summary["duplicates"], summary["rejected"]),
                         (3, 1, 1))
        # The buyer's address goes with the buyer's name, never the attendee's.
        self.assertEqual(self.sql("SELECT first_name, last_name FROM leads WHERE email = 'bea@z.example'"),
                         [{"first_name": "Bea", "last_name": "Buyer"}])
        leads = self.sql("SELECT email, first_name, last_name, company, extra FROM leads"
                         " WHERE email <> 'bea@z.example' ORDER BY id")
        self.assertEqual([(l["email"], l["first_name"], l["last_name"], l["company"]) for l in leads],
                         [("m.rossi@x.example", "Marco", "Rossi", None),    # the placeholder is no company
                          ("ana@y.example", "Ana", "Lima", "Lima SA")])     # her own details, not the buyer's
        self.assertNotIn("Info Requested", leads[0]["extra"])
        self.assertIn('"Buyer Email":"m.rossi@x.example"', leads[1]["extra"])

    def test_title_lines_above_the_header_are_skipped(self):
        csv = ("Lead Report - Expo 2026\r\nExported 13/03/2025 by Dana;;\r\n\r\n"
               "Email;First Name;Scanned At\r\n"
               "a@x.example;Ann;13/03/2025 10:00\r\nbad;Bob;\r\n")
        path = self.write("report.csv", csv)
        rejects = os.path.join(self.dir, "rejects.csv")
        r = self.ok("import", "--json", "--rejects", rejects, path)
        self.assertEqual((r.json()["imported"], r.json()["rejected"]), (1, 1))
        self.assertIn("report.csv: the header is on line 4; the lines above it, a title, skipped", r.err)
        self.assertIn("report.csv:6: rejected", r.err)
        self.assertEqual(self.sql("SELECT first_name, date(contact_at, 'unixepoch') AS d FROM leads"),
                         [{"first_name": "Ann", "d": "2025-03-13"}])       # day first, guessed below the title
        with open(rejects, encoding="utf-8") as f:
            self.assertEqual(f.read().splitlines()[0], "Email;First Name;Scanned At;followup_reason")

    def test_scan_times_are_read_in_the_config_zone_whatever_tz_says(self):
        csv = self.write("t.csv", "Email,Scanned At\na@x.example,2026-03-05 14:15\n")
        self.ok("import", csv, env=self.env(TZ="Asia/Tokyo"))    # config: America/New_York
        self.assertEqual(self.sql("SELECT datetime(contact_at, 'unixepoch') AS t FROM leads"),
                         [{"t": "2026-03-05 19:15:00"}])

    def test_stdin_guesses_the_date_order_like_a_file(self):
        csv = "Email,Scanned At\na@x.example,03/04/2025 10:00\nb@x.example,13/04/2025 10:00\n"
        self.ok("import", "-", input=csv)
        self.assertEqual(self.sql("SELECT date(contact_at, 'unixepoch') AS d FROM leads"
                                  " ORDER BY id"), [{"d": "2025-04-03"}, {"d": "2025-04-13"}])

    def test_an_import_waiting_on_stdin_does_not_lock_the_store(self):
        self.ok("import", self.write("a.csv", "Email\na@x.example\n"))
        waiting = subprocess.Popen([BIN, "import", "--date-format", "dmy", "-"], env=self.env(),
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        self.addCleanup(waiting.kill)
        wait_until_blocked_on_pipe(waiting, "read")
        r = self.run_followup("mark", "a@x.example", "lost", timeout=20)
        self.assertEqual(r.code, 0, r)          # not "locked" after 5 s
        out, err = waiting.communicate("Email\nb@x.example\n", timeout=20)
        self.assertEqual(waiting.returncode, 0, err)
        self.assertIn("1 imported", out)

    def test_map_and_stdin(self):
        csv = "Correo,Nombre\nana@x.example,Ana\n"
        r = self.ok("import", "--json", "--map", "Correo=email", "--map", "Nombre=first_name",
                    "-", input=csv)
        self.assertEqual(r.json()["imported"], 1)
        self.assertEqual(self.sql("SELECT first_name FROM leads"), [{"first_name": "Ana"}])

    def test_extra_columns_kept_as_json(self):
        self.import_json(self.data("A_eventyay_style_leads.csv"))
        extra = self.sql("SELECT extra FROM leads WHERE email LIKE 'jose%'")[0]["extra"]
        self.assertIn('"Tags":"hot; budget"', extra.replace(" ", "").replace("hot;budget", "hot; budget"))


class ImportRejectsFile(FollowupTest):
    """--rejects PATH: what is written where, and in what form (SPEC section 5)."""

    def setUp(self):
        super().setUp()
        self.ok("init")
        self.bad = self.write("bad.csv", "Email,Name\ngood@x.example,Good\nbad-address,Bad\n")

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def test_a_symlink_is_written_through_not_replaced(self):
        target = self.write("target.csv", "earlier\n")
        link = os.path.join(self.dir, "link.csv")
        os.symlink(target, link)
        self.ok("import", self.bad, "--rejects", link)
        self.assertTrue(os.path.islink(link))
        self.assertEqual(self.read(target), b"Email,Name,followup_reason\nbad-address,Bad,missing @\n")
        # A failed import still leaves it alone.
        self.fails(1, "import", self.bad, "nope.csv", "--rejects", link)
        self.assertTrue(os.path.islink(link))
        self.assertEqual(self.read(target), b"Email,Name,followup_reason\nbad-address,Bad,missing @\n")

    def test_a_fifo_is_written_into(self):
        fifo = os.path.join(self.dir, "rejects.fifo")
        os.mkfifo(fifo)
        # A reader that is there before the import, as `cat fifo` would be.
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            self.ok("import", self.bad, "--rejects", fifo, timeout=30)
            got = b""
            while True:
                try:
                    chunk = os.read(reader, 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                got += chunk
        finally:
            os.close(reader)
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))
        self.assertEqual(got, b"Email,Name,followup_reason\nbad-address,Bad,missing @\n")

    def test_an_existing_file_keeps_its_mode_and_a_new_one_is_private(self):
        kept = self.write("kept.csv", "earlier\n")
        os.chmod(kept, 0o640)
        self.ok("import", self.bad, "--rejects", kept)
        self.assertEqual(stat.S_IMODE(os.stat(kept).st_mode), 0o640)
        self.assertIn(b"bad-address", self.read(kept))
        new = os.path.join(self.dir, "new.csv")
        self.ok("import", self.bad, "--rejects", new)
        self.assertEqual(stat.S_IMODE(os.stat(new).st_mode), 0o600)
        self.assertEqual([n for n in os.listdir(self.dir) if n.endswith(".tmp")], [])

    def test_rejects_dash_is_a_usage_error(self):
        # Run in the test's directory: a file named "-" would land in the cwd.
        proc = subprocess.run([BIN, "import", self.bad, "--rejects", "-"], cwd=self.dir,
                              env=self.env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("--rejects -", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "-")))
        self.assertEqual(self.sql("SELECT count(*) AS n FROM leads"), [{"n": 0}])
        # stdout by another name is refused too: the --json summary must stay JSON.
        r = self.fails(2, "import", "--json", self.bad, "--rejects", "/dev/stdout")
        self.assertIn("--rejects /dev/stdout would mix the rows", r.err)

    def test_files_of_one_header_share_it_once(self):
        other = self.write("other.csv", "Email,Name\nalso bad,Cy\n")
        rejects = os.path.join(self.dir, "rejects.csv")
        self.ok("import", self.bad, other, "--rejects", rejects)
        self.assertEqual(self.read(rejects).decode().splitlines(),
                         ["Email,Name,followup_reason", "bad-address,Bad,missing @",
                          "also bad,Cy,contains a space"])
        # It imports again: one header, every row a row.
        r = self.ok("import", "--json", rejects)
        self.assertEqual(r.json()["rows"], 2)

    def test_a_file_of_another_header_gets_its_own_rejects_file(self):
        semi = self.write("semi.csv", "Email;Company;Name\nno-at;Acme;Di\n")
        third = self.write("third.csv", "Email,Name\nthird bad,Ed\n")
        rejects = os.path.join(self.dir, "rejects.csv")
        r = self.ok("import", self.bad, semi, third, "--rejects", rejects)
        self.assertIn("semi.csv: its header is not that of '%s': its rejected rows go to '%s'"
                      % (rejects, os.path.join(self.dir, "rejects-2.csv")), r.err)
        self.assertEqual(self.read(rejects).decode().splitlines(),
                         ["Email,Name,followup_reason", "bad-address,Bad,missing @",
                          "third bad,Ed,contains a space"])
        self.assertEqual(self.read(os.path.join(self.dir, "rejects-2.csv")).decode().splitlines(),
                         ["Email;Company;Name;followup_reason", "no-at;Acme;Di;missing @"])

    def test_a_device_takes_every_header_and_stdin_is_refused(self):
        semi = self.write("semi.csv", "Email;Company;Name\nno-at;Acme;Di\n")
        log = os.path.join(self.dir, "cron.log")       # stderr a file, as cron's often is
        with open(log, "w") as err:
            proc = subprocess.run([BIN, "--quiet", "import", self.bad, semi, "--rejects",
                                   "/dev/stderr"], env=self.env(), stderr=err, timeout=60)
        self.addCleanup(lambda: os.path.exists("/dev/stderr-2") and os.remove("/dev/stderr-2"))
        self.assertEqual(proc.returncode, 0)
        self.assertFalse(os.path.exists("/dev/stderr-2"))
        logged = self.read(log).decode()
        self.assertIn("Email,Name,followup_reason\nbad-address,Bad,missing @\n", logged)
        self.assertIn("Email;Company;Name;followup_reason\nno-at;Acme;Di;missing @\n", logged)
        # "import - < file --rejects /dev/stdin" would write over the badge file.
        before = self.read(self.bad)
        with open(self.bad) as stdin:
            proc = subprocess.run([BIN, "import", "-", "--rejects", "/dev/stdin"], stdin=stdin,
                                  env=self.env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("is where the import reads from", proc.stderr)
        self.assertEqual(self.read(self.bad), before)

    def test_a_numbered_rejects_name_that_is_an_input_takes_the_next_number(self):
        second = self.write("rejects-2.csv", "Email;Company;Name\nno-at;Acme;Di\n")
        rejects = os.path.join(self.dir, "rejects.csv")
        r = self.ok("import", self.bad, second, "--rejects", rejects)
        self.assertIn("go to '%s'" % os.path.join(self.dir, "rejects-3.csv"), r.err)
        self.assertEqual(self.read(second).decode(), "Email;Company;Name\nno-at;Acme;Di\n")

    def test_rejects_begin_as_the_input_did(self):
        cp1252 = self.write("cp.csv", b"Email;Nom\r\nbad;Ren\xe9e\r\n", mode="wb")
        rejects = os.path.join(self.dir, "rejects.csv")
        self.ok("import", cp1252, "--rejects", rejects)
        self.assertEqual(self.read(rejects), "\ufeffEmail;Nom;followup_reason\nbad;Renée;missing @\n"
                         .encode("utf-8"))
        sep = self.write("sep.csv", "sep=;\r\nEmail;Name\r\nbad;Bo\r\n")
        self.ok("import", sep, "--rejects", rejects)
        self.assertEqual(self.read(rejects), b"sep=;\nEmail;Name;followup_reason\nbad;Bo;missing @\n")
        r = self.ok("import", "--json", rejects)
        self.assertEqual(r.json()["rows"], 1)


class ImportKeepsWhatTheFileSays(FollowupTest):
    def setUp(self):
        super().setUp()
        self.ok("init")

    def import_json(self, *args, **kw):
        return self.ok("import", "--json", *args, now="2025-03-10T12:00:00Z", **kw).json()

    def reimport_export(self):
        """Exports the store and imports the export into a new store: its leads' extra."""
        exported = self.write("export.csv", self.ok("export", "--csv").out)
        other = os.path.join(self.dir, "other.db")
        env = self.env(FOLLOWUP_DB=other)
        self.ok("init", env=env)
        self.ok("import", exported, env=env)
        out = subprocess.run(["sqlite3", "-json", other, "SELECT extra FROM leads ORDER BY id"],
                             capture_output=True, text=True, check=True).stdout
        return [json.loads(l["extra"]) if l["extra"] else None for l in json.loads(out)]

    def test_every_cell_of_repeated_and_unnamed_columns_is_kept(self):
        path = self.write("dups.csv", "Email,Name,Tag,Tag,,Notes,Notes\n"
                                      "h1@x.example,H,t1,t2,orphan,n1,n2\n")
        self.import_json(path)
        lead = self.sql("SELECT notes, extra FROM leads")[0]
        want = {"Tag": "t1", "Tag (2)": "t2", "Column 5": "orphan", "Notes": "n2"}
        self.assertEqual(lead["notes"], "n1")
        self.assertEqual(json.loads(lead["extra"]), want)
        trailing = self.write("trailing.csv", "Email,Name,,\nt@x.example,T,,under none\n")
        self.import_json(trailing)
        self.assertEqual(json.loads(self.sql("SELECT extra FROM leads WHERE email = 't@x.example'")
                                    [0]["extra"]), {"Column 4": "under none"})
        self.assertEqual(self.reimport_export(), [want, {"Column 4": "under none"}])

    def test_a_formula_header_reads_back_as_written(self):
        self.import_json(self.write("f.csv", "Email,=cmd,@team\na@x.example,v,w\n"))
        self.assertIn(",'=cmd,'@team", self.ok("export", "--csv").out.splitlines()[0])
        self.assertEqual(self.reimport_export(), [{"=cmd": "v", "@team": "w"}])

    def test_a_row_of_empty_quoted_fields_is_a_blank_line(self):
        path = self.write("q.csv", 'Email,Name,Company\n"","",""\n,,\na@x.example,A,B\n')
        summary = self.import_json(path)
        self.assertEqual((summary["rows"], summary["imported"], summary["rejected"]), (1, 1, 0))

    def test_a_title_with_a_comma_above_a_semicolon_header(self):
        path = self.write("t.csv", "Lead Report, Expo 2026\nEmail;Name;Company\n"
                                   "t1@x.example;T One;Acme, Inc\n")
        r = self.ok("import", "--json", path)
        self.assertEqual(r.json()["imported"], 1)
        self.assertIn("the header is on line 2", r.err)
        self.assertEqual(self.sql("SELECT first_name, company FROM leads"),
                         [{"first_name": "T", "company": "Acme, Inc"}])

    def test_a_scan_time_under_another_name_is_hinted(self):
        path = self.write("c.csv", "Email,Created Date\na@x.example,2025-03-04 10:00\n"
                                   "b@x.example,2025-03-04 11:00\n")
        r = self.ok("import", path)
        self.assertEqual(r.err.count("no scan time column"), 1)
        self.assertIn("followup: warning: %s: no scan time column; 'Created Date' looks like one:"
                      " --map 'Created Date=scanned_at'" % path, r.err)
        mapped = self.write("m.csv", "Email,Scanned At,Created Date\nc@x.example,,\n")
        self.assertNotIn("no scan time column", self.ok("import", mapped).err)
        r = self.ok("import", path, "--map", "Created Date=scanned_at")
        self.assertNotIn("no scan time column", r.err)

    def test_consent_in_other_languages_and_crms(self):
        path = self.write("de.csv", "E-Mail;Vorname;Einwilligung\n"
                                    "a@x.example;Anna;Nein\nb@x.example;Ben;Ja\n")
        self.assertEqual(self.import_json(path)["suppressed"], 1)
        path = self.write("fr.csv", "Courriel,Prénom,Consentement email\nc@x.example,Chloé,non\n"
                                    "d@x.example,Didier,oui\n")
        self.assertEqual(self.import_json(path)["suppressed"], 1)
        path = self.write("sf.csv", "Email,HasOptedOutOfEmail\ne@x.example,true\nf@x.example,false\n")
        summary = self.import_json(path)
        self.assertEqual((summary["suppressed"], summary["enrolled"]), (1, 1))
        path = self.write("hs.csv", "Email,Unsubscribed from all email\ng@x.example,true\n"
                                    "h@x.example,false\n")
        summary = self.import_json(path)
        self.assertEqual((summary["suppressed"], summary["enrolled"]), (1, 1))
        self.assertEqual(self.sql("SELECT email FROM leads WHERE status = 'unsubscribed'"
                                  " ORDER BY email"),
                         [{"email": e} for e in ("a@x.example", "c@x.example", "e@x.example",
                                                 "g@x.example")])

    def test_any_of_two_opt_out_or_consent_columns_saying_no_counts(self):
        path = self.write("two.csv", "Email,Email Opt Out,Do Not Email,Consent,Marketing Consent\n"
                                     "a@x.example,no,yes,yes,yes\n"    # the second opts out
                                     "b@x.example,no,no,yes,no\n"      # the second refuses
                                     "c@x.example,no,no,yes,yes\n")
        summary = self.import_json(path)
        self.assertEqual((summary["suppressed"], summary["enrolled"]), (2, 1))
        self.assertEqual(self.sql("SELECT email FROM leads WHERE consent = 1"),
                         [{"email": "c@x.example"}])

    def test_quiet_still_says_rows_were_rejected(self):
        path = self.write("q.csv", "Email,Name\nok@x.example,Ok\nbad,B\nworse x@y.example,W\n")
        r = self.ok("--quiet", "import", path)
        self.assertEqual(r.out, "")
        self.assertEqual(r.err, "followup: %s: 2 rows rejected (first: line 3: missing @)\n" % path)
        rejects = os.path.join(self.dir, "rejects.csv")
        r = self.ok("--quiet", "import", path, "--rejects", rejects)
        self.assertEqual(r.err, "followup: %s: 2 rows rejected (first: line 3: missing @),"
                                " kept in '%s'\n" % (path, rejects))
        clean = self.write("clean.csv", "Email\nok@x.example\n")
        self.assertEqual(self.ok("--quiet", "import", clean).err, "")


class ImportBadInput(FollowupTest):
    def setUp(self):
        super().setUp()
        self.ok("init")
        self.ok("import", self.data("C_eu_semicolon_sep_validar_style.csv"))
        self.before = self.sql("SELECT count(*) AS n FROM leads")[0]["n"]

    def assertStoreUnchanged(self):
        self.assertEqual(self.sql("SELECT count(*) AS n FROM leads")[0]["n"], self.before)

    def test_missing_file(self):
        r = self.fails(1, "import", os.path.join(self.dir, "nope.csv"))
        self.assertIn("nope.csv", r.err)

    def test_directory(self):
        r = self.run_followup("import", self.dir)
        self.assertIn(r.code, (1, 2))
        self.assertIn(self.dir, r.err)

    def test_empty_file(self):
        r = self.fails(2, "import", self.write("empty.csv", ""))
        self.assertIn("empty", r.err)

    def test_binary_file(self):
        path = self.write("bin.csv", b"Email\n\x00\x01\x02\xff\n", mode="wb")
        r = self.fails(2, "import", path)
        self.assertIn("bin.csv", r.err)
        self.assertStoreUnchanged()

    def test_no_email_column_lists_headers(self):
        r = self.fails(2, "import", self.write("noemail.csv", "Name,Company\nA,B\n"))
        self.assertIn("Name", r.err)
        self.assertIn("Company", r.err)

    def test_unterminated_quote_loses_nothing(self):
        path = self.write("bad.csv", 'Email,Notes\nnew1@x.example,ok\nnew2@x.example,"open\n')
        r = self.fails(2, "import", path)
        self.assertIn("bad.csv:3", r.err)
        self.assertStoreUnchanged()

    def test_ragged_rows_and_big_cell(self):
        big = "x" * (1 << 20)
        path = self.write("ragged.csv", f"Email,Notes\nr1@x.example,a,extra,more\n"
                                        f"r2@x.example\nr3@x.example,\"{big}\"\n")
        r = self.ok("import", "--json", path)
        self.assertEqual(r.json()["imported"], 3)
        self.assertIn("ragged.csv:2: 4 fields, the header has 2: the last 2 ignored", r.err)
        notes = self.sql("SELECT length(notes) AS n FROM leads WHERE email = 'r3@x.example'")
        self.assertEqual(notes, [{"n": 1 << 20}])

    def test_newer_schema_refused(self):
        subprocess.run(["sqlite3", self.db, "PRAGMA user_version = 99"], check=True)
        r = self.fails(1, "leads")
        self.assertIn("newer", r.err)

    def test_read_only_store(self):
        if os.geteuid() == 0:
            # root ignores file modes: make the directory's store read-only another way
            r = self.run_followup("import", self.data("A_eventyay_style_leads.csv"),
                                  env=self.env(FOLLOWUP_DB="file:" + self.db + "?mode=ro"))
            self.assertNotEqual(r.code, 0)
            self.assertStoreUnchanged()
            return
        os.chmod(self.db, 0o400)
        r = self.fails(1, "import", self.data("A_eventyay_style_leads.csv"))
        self.assertStoreUnchanged()

    def test_locked_store(self):
        with write_lock_held(self.db):
            r = self.fails(1, "import", self.data("A_eventyay_style_leads.csv"), timeout=60)
        self.assertIn("locked", r.err)
        self.assertStoreUnchanged()

    def interrupt_a_big_import(self, sig, ignored=False):
        """Sends sig to an import of 400,000 rows once it has written into the WAL
        (mid-transaction), or after 3 s; returns what it printed on stderr. With ignored,
        the import starts with sig ignored, as under nohup, and must finish."""
        path = os.path.join(self.dir, "huge.csv")
        with open(path, "w") as f:
            f.write("Email,First Name,Company\n")
            for i in range(400000):
                f.write(f"user{i}@big.example,User{i},Company {i % 97}\n")
        # The disposition is set, not inherited: a runner started in the background (cron,
        # nohup, 'cmd &' without job control) ignores SIGINT, and the import would finish.
        disposition = signal.SIG_IGN if ignored else signal.SIG_DFL
        proc = subprocess.Popen([BIN, "import", path], env=self.env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(sig, disposition)
                                if sig != signal.SIGKILL else None)
        wal = self.db + "-wal"
        deadline = time.time() + 3
        while time.time() < deadline and proc.poll() is None:
            if os.path.exists(wal) and os.path.getsize(wal) > 1 << 20:
                break
            time.sleep(0.01)
        proc.send_signal(sig)
        err = proc.communicate()[1]
        self.assertEqual(proc.returncode, 0 if ignored else -sig, err)
        return err

    def test_ctrl_c_says_nothing_was_imported(self):
        err = self.interrupt_a_big_import(signal.SIGINT)
        self.assertIn("import interrupted: nothing was imported, the store is as it was", err)
        self.assertStoreUnchanged()

    def test_a_hangup_ignored_as_under_nohup_does_not_stop_the_import(self):
        err = self.interrupt_a_big_import(signal.SIGHUP, ignored=True)
        self.assertNotIn("interrupted", err)
        self.assertEqual(self.sql("SELECT count(*) AS n FROM leads WHERE email LIKE"
                                  " '%big.example'"), [{"n": 400000}])

    def test_killed_import_leaves_store_unchanged(self):
        self.interrupt_a_big_import(signal.SIGKILL)
        self.assertStoreUnchanged()
        self.assertEqual(self.sql("SELECT count(*) AS n FROM leads WHERE email LIKE '%big.example'"),
                         [{"n": 0}])


class ImportOwnerNames(FollowupTest):
    """A rep is one rep however a badge file spells the name; an owner the config's reps
    do not include is said, once, at the end of the import."""

    REPS = ("owners:\n"
            "  anna: { name: Anna Becker, email: anna@acme.example }\n"
            "  sam: { name: Sam Ortiz, email: sam@acme.example }\n")

    def setUp(self):
        super().setUp()
        self.use_config(self.REPS)
        self.ok("init")

    def env(self, **extra):
        return super().env(**{"TZ": "Europe/Berlin", **extra})     # as the config's zone

    def use_config(self, owners):
        with open(self.config_path, "w") as f:
            f.write("timezone: Europe/Berlin\n"
                    "sender: { name: Ops, email: ops@acme.example }\n" + owners +
                    f'smtp: {{ url: "maildir:{self.outbox}" }}\n')

    def import_rows(self, rows, *args):
        csv = "Email,First Name,Owner,Scanned At\n" + "".join(
            f'{email},{first},"{owner}",2025-03-10 10:00\n' for email, first, owner in rows)
        return self.ok("import", self.write("o.csv", csv), *args, now="2025-03-10T12:00:00Z")

    def due(self, *args):
        return self.ok("due", "--json", *args, now="2025-03-11T10:00:00Z").json()

    def test_a_rep_is_found_however_the_file_spells_the_name(self):
        r = self.import_rows([("a1@x.example", "A", "Anna Becker"),
                              ("a2@x.example", "B", "Anna  Becker"),
                              ("a3@x.example", "C", "Becker, Anna"),
                              ("a4@x.example", "D", "Anna\u00a0Becker"),
                              ("a5@x.example", "E", "anna\tbecker"),
                              ("a6@x.example", "F", " ANNA BECKER "),
                              ("s1@x.example", "G", "Ortiz,Sam")])
        self.assertNotIn("does not know", r.err)
        self.assertEqual(self.sql("SELECT owner FROM leads ORDER BY id"),
                         [{"owner": "anna"}] * 6 + [{"owner": "sam"}])
        self.assertEqual(len(self.due("--owner", "anna")), 6)
        self.assertEqual(len(self.due("--owner", "becker,  anna")), 6)
        pipeline = self.ok("pipeline", "--json", "--owner", "Anna\u00a0Becker",
                           now="2025-03-11T10:00:00Z").json()
        self.assertEqual(pipeline["leads"]["total"], 6)
        # Their emails come from the rep, not from the sender.
        self.ok("send", now="2025-03-11T10:00:00Z")
        new = os.path.join(self.outbox, "new")
        senders = []
        for name in sorted(os.listdir(new)):
            with open(os.path.join(new, name), encoding="utf-8") as f:
                senders += [line for line in f.read().splitlines() if line.startswith("From:")]
        self.assertEqual(len(senders), 7)
        self.assertEqual(sum("anna@acme.example" in s for s in senders), 6, senders)
        self.assertEqual(sum("sam@acme.example" in s for s in senders), 1, senders)

    def test_the_reported_file_gives_anna_three_due(self):
        r = self.import_rows([("a1@x.example", "A", "Anna Becker"),
                              ("a2@x.example", "B", "Anna  Becker"),
                              ("a3@x.example", "C", "Becker, Anna")])
        self.assertEqual(len(self.due("--owner", "anna")), 3, r)

    def test_an_owner_the_config_does_not_know_is_said_once(self):
        r = self.import_rows([("a1@x.example", "A", "Anna Bekcer"),
                              ("a2@x.example", "B", "Anna Becker"),
                              ("a3@x.example", "C", "anna  bekcer"),
                              ("a4@x.example", "D", "Nina Grey")])
        self.assertEqual(r.err.count("does not know"), 1, r)
        self.assertIn("warning: 3 rows have an owner the config does not know ('Anna Bekcer'):"
                      " stored as written, emailed from the default sender", r.err)
        self.assertEqual(self.sql("SELECT owner FROM leads ORDER BY id"),
                         [{"owner": "Anna Bekcer"}, {"owner": "anna"}, {"owner": "anna  bekcer"},
                          {"owner": "Nina Grey"}])
        # A dry run says it too (it is where a typo should be caught); --quiet does not.
        dry = self.import_rows([("b1@x.example", "A", "Anna Bekcer")], "--dry-run")
        self.assertIn("1 row has an owner the config does not know ('Anna Bekcer')", dry.err)
        quiet = self.ok("--quiet", "import", self.write("q.csv", "Email,Owner\nq@x.example,Bob\n"))
        self.assertEqual(quiet.err, "")

    def test_known_reps_and_known_leads_that_keep_theirs_are_not_warned_about(self):
        r = self.import_rows([("a1@x.example", "A", "anna"), ("a2@x.example", "B", "sam@acme.example")])
        self.assertNotIn("warning", r.err)
        again = self.import_rows([("a1@x.example", "A", "Anna  Becker"), ("a2@x.example", "B", "Pat")])
        self.assertNotIn("does not know", again.err)        # a2 keeps sam: that warning is another
        self.assertIn("1 row would give a known lead another owner", again.err)
        self.assertEqual(self.sql("SELECT owner FROM leads ORDER BY id"),
                         [{"owner": "anna"}, {"owner": "sam"}])

    def test_a_name_two_reps_share_lists_under_neither(self):
        self.use_config("owners:\n  sam: { name: Sam Ortiz, email: sam@acme.example }\n"
                        "  sammy: { name: Sam Ortiz, email: sammy@acme.example }\n")
        r = self.import_rows([("t@x.example", "T", "Sam Ortiz")])
        self.assertIn("an owner the config does not know ('Sam Ortiz')", r.err)
        self.assertEqual(self.due("--owner", "sam"), [])
        self.assertEqual(self.due("--owner", "sammy"), [])

    def test_a_typo_in_the_owner_option_is_said(self):
        path = self.write("p.csv", "Email\nb1@x.example\nb2@x.example\n")
        r = self.ok("import", "--owner", "samm", path)
        self.assertIn("warning: 2 rows have an owner the config does not know ('samm', from"
                      " --owner)", r.err)
        self.assertEqual(self.sql("SELECT DISTINCT owner FROM leads"), [{"owner": "samm"}])
        ok = self.ok("import", "--owner", " Sam\u00a0 Ortiz", self.write("p2.csv", "Email\nc@x.example\n"))
        self.assertNotIn("does not know", ok.err)
        self.assertEqual(self.sql("SELECT owner FROM leads WHERE email = 'c@x.example'"),
                         [{"owner": "sam"}])

    def test_without_owners_in_the_config_any_owner_is_free_form(self):
        self.use_config("")
        r = self.import_rows([("a1@x.example", "A", "Anna Bekcer"), ("a2@x.example", "B", "Anna Becker")])
        self.assertNotIn("does not know", r.err)
        r = self.ok("import", "--owner", "samm", self.write("p.csv", "Email\nb@x.example\n"))
        self.assertNotIn("does not know", r.err)
        self.assertEqual(self.sql("SELECT owner FROM leads ORDER BY id"),
                         [{"owner": "Anna Bekcer"}, {"owner": "Anna Becker"}, {"owner": "samm"}])

    def test_leads_stored_under_an_odd_spelling_before_are_the_reps(self):
        self.import_rows([("a1@x.example", "A", "Anna Becker"), ("a2@x.example", "B", "x"),
                          ("a3@x.example", "C", "y")])
        subprocess.run(["sqlite3", self.db, "UPDATE leads SET owner = 'Becker,  Anna' WHERE id = 2;"
                        " UPDATE leads SET owner = 'anna\u00a0becker' WHERE id = 3"], check=True)
        self.assertEqual(len(self.due("--owner", "anna")), 3)
        self.assertEqual(len(self.ok("leads", "--json", "--owner", "anna@acme.example").json()), 3)
        self.assertEqual(self.ok("pipeline", "--json", "--owner", "Anna Becker",
                                 now="2025-03-11T10:00:00Z").json()["leads"]["total"], 3)

class ImportRoundTripsAndNoise(FollowupTest):
    """A rejects file fixed and imported again, names split, repeated headers, --map over
    several files and capped warnings: what a badge file's round trips bring."""

    def setUp(self):
        super().setUp()
        self.ok("init")

    def extra(self, email):
        rows = self.sql(f"SELECT extra FROM leads WHERE email = '{email}'")
        return json.loads(rows[0]["extra"]) if rows[0]["extra"] else {}

    def test_a_fixed_rejects_file_imports_without_its_reason(self):
        rejects = os.path.join(self.dir, "r1.csv")
        self.ok("import", self.write("a.csv", "Email,Name\nbad@x,Al A\nworse,Bo B\n"),
                "--rejects", rejects)
        again = os.path.join(self.dir, "r2.csv")
        self.ok("import", rejects, "--rejects", again)
        with open(again) as f:
            # Rejected again: the new reason takes the old one's place, not a second column.
            self.assertEqual(f.read(), "Email,Name,followup_reason\nbad@x,Al A,no dot in the domain\n"
                             "worse,Bo B,missing @\n")
        with open(again) as f:
            fixed = f.read().replace("bad@x,", "al@x.example,")
        self.ok("import", self.write("fixed.csv", fixed))
        self.assertEqual(self.extra("al@x.example"), {})
        self.assertNotIn("reason", self.ok("show", "al@x.example").out)
        self.assertNotIn("reason", self.ok("export", "--csv").out.splitlines()[0])

    def names(self):
        return [(r["email"], r["first_name"], r["last_name"])
                for r in self.sql("SELECT email, first_name, last_name FROM leads ORDER BY id")]

    def test_a_full_name_fills_the_part_a_row_lacks(self):
        self.ok("import", self.write("a.csv", "Email,Full Name,Last Name\n"
                                     "e1@x.example,Dana Whitfield,Whitfield\n"
                                     "e2@x.example,Prof. Dr. Anna Schmidt,Schmidt\n"
                                     "e3@x.example,Mary Ann van der Berg,van der Berg\n"
                                     "e4@x.example,Whitfield,Whitfield\n"
                                     "e5@x.example,\"Whitfield, Dana\",\n"),
                self.write("b.csv", "Email,Name,First Name\n"
                                    "d1@x.example,Dana Whitfield,Dana\n"
                                    "d2@x.example,Mary Ann van der Berg,Mary Ann\n"
                                    "d3@x.example,\"Whitfield, Dana\",Dana\n"
                                    "d4@x.example,Dana,Dana\n"
                                    "d5@x.example,Dana Whitfield,Dee\n"))
        self.assertEqual(self.names(), [
            ("e1@x.example", "Dana", "Whitfield"), ("e2@x.example", "Anna", "Schmidt"),
            ("e3@x.example", "Mary Ann", "van der Berg"), ("e4@x.example", None, "Whitfield"),
            ("e5@x.example", "Dana", "Whitfield"),
            ("d1@x.example", "Dana", "Whitfield"), ("d2@x.example", "Mary Ann", "van der Berg"),
            ("d3@x.example", "Dana", "Whitfield"), ("d4@x.example", "Dana", None),
            ("d5@x.example", "Dee", "Whitfield")])

    def test_a_kind_of_warning_is_said_five_times_a_file_then_counted(self):
        rows = "".join(f"p{i}@x.example,P,garbage{i},maybe\n" for i in range(40))
        rows += "".join(f"bad{i},B,,\n" for i in range(9))
        path = self.write("w.csv", "Email,Name,Scanned At,Do Not Email\n" + rows)
        rejects = os.path.join(self.dir, "rejects.csv")
        r = self.ok("import", path, "--rejects", rejects)
        lines = r.err.splitlines()
        self.assertEqual(sum("cannot read the scan time" in l for l in lines), 5)
        self.assertEqual(sum("is neither yes nor no" in l for l in lines), 5)
        self.assertEqual(sum(": rejected: missing @" in l for l in lines), 5)
        self.assertIn(f"followup: warning: {path}: ... and 35 more rows with an unreadable"
                      " scan time", lines)
        self.assertIn(f"followup: warning: {path}: ... and 35 more rows with an opt-out value"
                      " neither yes nor no", lines)
        self.assertIn(f"followup: {path}: ... and 4 more rows rejected (all in '{rejects}')",
                      lines)
        self.assertEqual(len(lines), 18, r.err)
        with open(rejects) as f:
            self.assertEqual(len(f.read().splitlines()), 10)
        # Each file has its own five.
        r = self.ok("import", self.write("w2.csv", "Email,Scanned At\nq1@x.example,nope\n"))
        self.assertIn("cannot read the scan time 'nope'", r.err)
        self.assertNotIn("more rows", r.err)

    def test_a_header_repeated_among_the_rows_is_no_row(self):
        rejects = os.path.join(self.dir, "rejects.csv")
        path = self.write("joined.csv", "\ufeffEmail,Name,Reason\na@x.example,Al A,\n"
                          "\ufeff email ,NAME,reason\nb@x.example,Bo B,\nbad,Cy,\n")
        r = self.ok("import", "--json", path, "--rejects", rejects)
        self.assertEqual(r.json()["rows"], 3)
        self.assertEqual(r.json()["rejected"], 1)
        self.assertNotIn(":4:", r.err)
        with open(rejects, encoding="utf-8-sig") as f:
            self.assertEqual(f.read(), "Email,Name,Reason,followup_reason\nbad,Cy,,missing @\n")
        self.assertEqual(self.names(), [("a@x.example", "Al", "A"), ("b@x.example", "Bo", "B")])
        # A row that has a header's words but is not the header is a row.
        r = self.ok("import", "--json", self.write("n.csv", "Email,Name\nEmail,Bob\n"))
        self.assertEqual(r.json()["rejected"], 1)

    def test_a_map_for_one_files_column_is_a_warning_for_the_others(self):
        es = self.write("es.csv", "Correo electrónico,Nombre\nana@x.example,Ana A\n")
        en = self.write("en.csv", "Email,Name\nbo@x.example,Bo B\n")
        r = self.ok("import", "--json", es, en, "--map", "Correo electrónico=email")
        self.assertEqual(r.json()["imported"], 2)
        self.assertIn(f"followup: warning: {en}: no column 'Correo electrónico': --map"
                      " 'Correo electrónico=email' is not used for this file", r.err)
        self.assertNotIn(es, r.err)
        # One file, or a column no file has: a typo, as before.
        r = self.fails(2, "import", en, "--map", "Correo electrónico=email")
        self.assertIn("no column 'Correo electrónico' in the file", r.err)
        r = self.fails(2, "import", es, en, "--map", "Correo electronico=email")
        self.assertIn(f"{es}: --map 'Correo electronico=email': no column", r.err)
        self.assertEqual(len(self.sql("SELECT id FROM leads")), 2)


class ImportReadsRealExportsColumns(FollowupTest):
    """Opt-out and consent columns, split date and time columns and date formats that
    CRMs, marketing tools and Excel write, each read as the person or the scan meant."""

    def setUp(self):
        super().setUp()
        self.ok("init")

    def import_one(self, name, content):
        return self.ok("import", "--json", self.write(name, content),
                       now="2026-03-06T12:00:00Z")

    def test_opt_out_and_consent_columns_suppress_the_lead(self):
        opt_outs = ["Do Not Contact", "Opted Out", "Do not allow Emails", "Global Unsubscribe",
                    "Unsubscribed From Emails", "Marketing Opt Out", "Opt out of emails",
                    "Email Opt-Out (Y/N)", "Do Not Email", "Email Opt Out"]
        consents = ["Email Consent", "Marketing Opt-In", "Opt-in (GDPR)",
                    "Marketing Consent (Yes/No)", "Consent to Contact", "Opt-In Status",
                    "GDPR Consent"]
        cases = [(h, "Yes") for h in opt_outs] + [(h, "No") for h in consents]
        for i, (header, value) in enumerate(cases):
            with self.subTest(header=header):
                email = f"p{i}@x.example"
                r = self.import_one(f"c{i}.csv", f'Email,"{header}"\n{email},{value}\n')
                self.assertEqual(r.json()["suppressed"], 1, r)
                self.assertEqual(r.json()["enrolled"], 0, r)
                self.assertEqual(self.sql(f"SELECT count(*) AS n FROM touches t JOIN leads l"
                                          f" ON l.id = t.lead_id WHERE l.email = '{email}'"),
                                 [{"n": 0}])
        # The other answer lets the lead be emailed.
        r = self.import_one("yes.csv", 'Email,"Opt-in (GDPR)","Do not allow Emails"\n'
                                       'q@x.example,Yes,Allow\n')
        self.assertEqual(r.json()["enrolled"], 1, r)
        self.assertNotIn("warning", r.err)

    def test_an_unread_opt_out_or_consent_column_is_said(self):
        r = self.import_one("s.csv", "Email,SMS Opt-Out,Consent Date,Company\n"
                                     "a@x.example,Yes,2026-03-05,Acme\n"
                                     "b@x.example,No,,Acme\n")
        self.assertEqual(r.err.count("column 'SMS Opt-Out'"), 1, r)     # once a file
        self.assertIn("column 'SMS Opt-Out' looks like an opt-out or consent but is not read:"
                      " --map 'SMS Opt-Out=opt_out' or 'SMS Opt-Out=consent'", r.err)
        self.assertEqual(r.err.count("'Consent Date' looks like"), 1, r)
        self.assertNotIn("Company", r.err)
        self.assertNotIn("no scan time column", r.err)     # when consent was given

    def test_a_date_column_and_a_time_column_join(self):
        at = 1772738100      # 2026-03-05 14:15 in New York (EST), the config's zone
        cases = [("Capture Date", "Capture Time", "03/05/2026", "2:15 PM"),
                 ("Date Scanned", "Time Scanned", "2026-03-05", "14:15"),
                 ("Lead Date", "Lead Time", "3/5/2026", "14:15:00"),
                 ("Date Captured", "Time Captured", "05.03.2026", "14:15"),
                 ("Scan Date", "Scan Time (UTC)", "2026-03-05", "19:15 UTC"),
                 # Excel's date-only cell carries midnight: the time column says when.
                 ("Capture Date", "Capture Time", "3/5/2026 0:00", "14:15"),
                 ("Scan Date", "Scan Time", "2026-03-05T00:00:00", "14:15")]
        for i, (date_h, time_h, date, time_) in enumerate(cases):
            with self.subTest(headers=(date_h, time_h), date=date):
                email = f"d{i}@x.example"
                r = self.import_one(f"d{i}.csv", f'Email,{date_h},{time_h}\n{email},{date},{time_}\n')
                self.assertNotIn("cannot read", r.err)
                self.assertEqual(self.sql(f"SELECT contact_at, extra FROM leads"
                                          f" WHERE email = '{email}'"),
                                 [{"contact_at": at, "extra": None}])

    def test_excel_serials_month_names_and_p_m_are_read(self):
        at = 1772738100      # 2026-03-05 14:15 in New York (EST), the config's zone
        cases = [("46086.59375", at), ("46086", at - (14 * 3600 + 15 * 60)),
                 ('"March 5, 2026 2:15 PM"', at), ("Mar 5 2026 14:15", at),
                 ("05-Mar-2026 14:15", at), ("5 March 2026 14:15", at),
                 ('"Thursday, March 5, 2026 2:15 PM"', at),
                 ("3/5/2026 2:15 p.m.", at), ("3/5/2026 2PM", at - 15 * 60)]
        rows = "".join(f"s{i}@x.example,{text}\n" for i, (text, _) in enumerate(cases))
        r = self.import_one("s.csv", "Email,Scanned At\n" + rows)
        self.assertNotIn("cannot read", r.err)
        got = self.sql("SELECT email, contact_at FROM leads ORDER BY id")
        self.assertEqual(got, [{"email": f"s{i}@x.example", "contact_at": want}
                               for i, (_, want) in enumerate(cases)])
        # Out of the serial range, still no time: the import time, with a warning.
        r = self.import_one("t.csv", "Email,Scanned At\nt@x.example,12345.5\n")
        self.assertIn("cannot read the scan time '12345.5'", r.err)

    def test_a_lead_time_alone_leaves_the_scan_time_to_a_later_column(self):
        self.import_one("l.csv", "Email,First Name,Lead Time,Created At\n"
                                 "a@x.example,A,14 days,2026-03-05 10:00\n")
        [lead] = self.sql("SELECT datetime(contact_at, 'unixepoch') AS t, extra FROM leads")
        self.assertEqual(lead["t"], "2026-03-05 15:00:00")      # 10:00 in New York
        self.assertEqual(json.loads(lead["extra"]), {"Lead Time": "14 days"})

    def test_a_named_pipe_is_read_like_a_file(self):
        # bash's <(...) is a pipe too: each file is read more than once (its day and
        # month order, its --map columns, its rows).
        fifo = os.path.join(self.dir, "scans.fifo")
        os.mkfifo(fifo)
        text = "Email,First Name,Scanned At\na@x.example,A,13/03/2026 10:00\nb@x.example,B,01/03/2026 10:00\n"
        writer = subprocess.Popen(["sh", "-c", 'printf "%s" "$1" > "$2"', "sh", text, fifo])
        self.addCleanup(writer.wait)
        self.assertEqual(self.import_one_from(fifo)["imported"], 2)
        self.assertEqual(self.sql("SELECT date(contact_at, 'unixepoch') AS d FROM leads ORDER BY id"),
                         [{"d": "2026-03-13"}, {"d": "2026-03-01"}])      # dd/mm, read whole

    def import_one_from(self, path):
        return self.ok("import", "--json", path, now="2026-03-20T12:00:00Z").json()

    def test_a_scan_time_header_that_says_utc_is_read_in_utc(self):
        self.import_one("u.csv", "Email,First Name,Scan Date,Scan Time (UTC)\n"
                                 "a@x.example,A,2026-03-05,14:15\n")
        self.import_one("g.csv", "Email,First Name,Scanned At (GMT)\nb@x.example,B,2026-03-05 14:15\n")
        self.import_one("n.csv", "Email,First Name,Scan Time\nc@x.example,C,2026-03-05 14:15\n")
        self.assertEqual(self.sql("SELECT datetime(contact_at, 'unixepoch') AS t FROM leads"
                                  " ORDER BY id"),
                         [{"t": "2026-03-05 14:15:00"}, {"t": "2026-03-05 14:15:00"},
                          {"t": "2026-03-05 19:15:00"}])      # the last in New York time

    def test_a_rejected_row_with_a_stray_quote_gets_one_reason_again(self):
        rows = 'Email,Name,Notes\nq-at-y.com,Q,5" screen\nbad,"a ""b"", c",x\n'
        first, again = (os.path.join(self.dir, n) for n in ("r1.csv", "r2.csv"))
        self.ok("import", self.write("a.csv", rows), "--rejects", first)
        self.ok("import", first, "--rejects", again)
        with open(again) as f:
            self.assertEqual(f.read(), 'Email,Name,Notes,followup_reason\n'
                             'q-at-y.com,Q,5" screen,missing @\nbad,"a ""b"", c",x,missing @\n')

    def test_a_second_dash_reads_stdin_again_from_its_start(self):
        csv = "Email,Scanned At\na@x.example,13/03/2026 10:00\nb@x.example,01/03/2026 10:00\n"
        r = self.ok("import", "-", "-", input=csv, now="2026-03-20T12:00:00Z")
        self.assertNotIn("cannot read the scan time", r.err)
        self.assertIn("4 rows: 2 imported, 0 updated, 2 duplicates", r.out)


class ImportUtf16(FollowupTest):
    """Excel's "Unicode Text (*.txt)" (UTF-16LE with a byte order mark, tab-separated)
    and UTF-16BE, from a file, a pipe or stdin: imported as the same text in UTF-8."""

    def setUp(self):
        super().setUp()
        self.ok("init")

    def test_excel_unicode_text_imports(self):
        rejects = os.path.join(self.dir, "rejects.txt")
        r = self.ok("import", "--json", "--rejects", rejects,
                    self.data("D_excel_unicode_text_utf16le.txt"), now="2025-03-10T12:00:00Z")
        self.assertEqual(r.json(), {"rows": 3, "imported": 2, "updated": 0, "duplicates": 0,
                                    "rejected": 1, "suppressed": 0, "enrolled": 2})
        # The note spans lines 2-3: the bad address is on line 4 of the file.
        self.assertIn("D_excel_unicode_text_utf16le.txt:4: rejected: contains a space", r.err)
        self.assertNotIn("Windows-1252", r.err)
        leads = self.sql("SELECT first_name, last_name, company, notes, contact_at FROM leads"
                         " ORDER BY email")
        self.assertEqual(leads[0], {"first_name": "Renée", "last_name": "Lefèvre",
                                    "company": "Société Générale",
                                    "notes": "Wants demo\nCall Tue",
                                    "contact_at": 1741115700})   # 14:15 in New York
        self.assertEqual(leads[1]["company"], "Tailspin 😀")
        # The rejects file is UTF-8 with a BOM (Excel reads it so), tab-separated.
        with open(rejects, "rb") as f:
            kept = f.read()
        self.assertTrue(kept.startswith(b"\xef\xbb\xbfFirst Name\tLast Name\t"), kept)
        self.assertIn("Łukasz\tWróbel\tlukasz wrobel@example.pl".encode(), kept)

    def test_big_endian_from_stdin_and_a_pipe(self):
        text = "Email\tName\nzoe@x.example\tZoë Ångström\n"
        be = b"\xfe\xff" + text.encode("utf-16-be")
        path = self.write("be.txt", be, mode="wb")
        with open(path, "rb") as f:
            proc = subprocess.run([BIN, "import", "--json", "-"], stdin=f, env=self.env(),
                                  capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["imported"], 1)
        proc = subprocess.run(["bash", "-c", f'cat "{path}" | "{BIN}" import --json -'],
                              env=self.env(), capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["updated"], 1)
        self.assertEqual(self.sql("SELECT first_name, last_name FROM leads"),
                         [{"first_name": "Zoë", "last_name": "Ångström"}])

    def test_utf16_without_a_mark_from_a_named_pipe(self):
        le = "Email,Name\r\nann@x.example,Ann Lee\r\n".encode("utf-16-le")
        path = self.write("le.csv", le, mode="wb")
        proc = subprocess.run(["bash", "-c", f'"{BIN}" import --json <(cat "{path}")'],
                              env=self.env(), capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.sql("SELECT email, first_name FROM leads"),
                         [{"email": "ann@x.example", "first_name": "Ann"}])

    def test_invalid_utf16_is_refused_with_file_and_line(self):
        head = "Email\r\nann@x.example\r\nb".encode("utf-16-le")
        cases = {"odd.txt": (b"\xff\xfe" + head + b"o", "odd.txt:3: UTF-16 text with an odd"
                             " number of bytes (the file is cut short?)"),
                 "lone.txt": (b"\xff\xfe" + head + b"\x00\xdc" + "ob@x.example".encode(
                              "utf-16-le"), "lone.txt:3: not valid UTF-16 (half of a"
                              " surrogate pair)")}
        for name, (content, message) in cases.items():
            with self.subTest(name):
                r = self.fails(2, "import", self.write(name, content, mode="wb"))
                self.assertIn(message, r.err)
                self.assertEqual(self.sql("SELECT count(*) AS n FROM leads"), [{"n": 0}])


class ImportCrmAndPlatformColumns(FollowupTest):
    """The columns of CRM reports and event platforms, read as the fields they are."""

    def setUp(self):
        super().setUp()
        self.ok("init")

    def test_salesforce_lead_report(self):
        r = self.ok("import", "--json", self.data("E_salesforce_lead_report.csv"),
                    now="2025-03-10T12:00:00Z")
        self.assertEqual(r.json()["imported"], 2, r)
        bob = self.sql("SELECT owner, company, title, phone, extra FROM leads"
                       " WHERE email = 'bob.ray@initech.example'")[0]
        self.assertEqual((bob["owner"], bob["company"], bob["title"], bob["phone"]),
                         ("Dana Diaz", "Initech", "VP Sales", "+44 7700 900123"))
        # A CRM record's Created Date is only hinted at, not taken as the scan time.
        self.assertEqual(json.loads(bob["extra"]), {"Created Date": "3/4/2025"})
        self.assertIn("'Created Date' looks like one", r.err)

    def test_event_platform_and_form_columns(self):
        files = {
            # Cvent-style: every column of the person says "Attendee".
            "cvent.csv": "Attendee First Name,Attendee Last Name,Attendee Email Address,"
                         "Attendee Company,Attendee Title,Attendee Phone,Attendee Country,"
                         "Lead Captured Date\n"
                         "Cy,Po,cy@x.example,Zed Co,Engineer,555 0100,Canada,2025-03-04 10:00\n",
            # Hubilo-style, as Indian exports name them.
            "hubilo.csv": "Name,Email ID,Organisation Name,Designation,Mobile Number,"
                          "Lead Scanned By,Scanned On\n"
                          "Cy Po,cy@x.example,Zed Co,Engineer,555 0100,Priya,2025-03-04 10:00\n",
            # A lead form (LinkedIn Lead Gen and the like) and HubSpot.
            "form.csv": "First Name,Last Name,Email Address,Company Name,Job Title,"
                        "Mobile Phone Number,Country,Contact owner,Submitted At\n"
                        "Cy,Po,cy@x.example,Zed Co,Engineer,555 0100,Canada,Priya,"
                        "2025-03-04 10:00\n",
        }
        for name, content in files.items():
            with self.subTest(name):
                os.remove(self.db)
                self.ok("init")
                r = self.ok("import", "--json", self.write(name, content),
                            now="2025-03-10T12:00:00Z")
                self.assertNotIn("warning", r.err)
                lead = self.sql("SELECT first_name, last_name, company, title, phone,"
                                " contact_at, extra FROM leads")[0]
                self.assertIsNone(lead["extra"], "every column is a field")
                self.assertEqual((lead["first_name"], lead["last_name"], lead["company"],
                                  lead["title"], lead["phone"]),
                                 ("Cy", "Po", "Zed Co", "Engineer", "555 0100"), lead)
                self.assertEqual(lead["contact_at"], 1741100400)    # 10:00 in New York


class ImportEmailCells(FollowupTest):
    """An address as people paste it into a sheet: from Outlook's To line, a sentence,
    a mail client; several in one cell are refused with what to do."""

    def setUp(self):
        super().setUp()
        self.ok("init")

    def test_pasted_addresses(self):
        rejects = os.path.join(self.dir, "rejects.csv")
        path = self.write("pasted.csv", 'Email,Name\n'
                                        'ann@x.example;,Ann\n'
                                        'bob@x.example.,Bob\n'
                                        '"Cy Po <cy@x.example>;",Cy\n'
                                        '"dee@x.example, ",Dee\n'
                                        '"eve@x.example; fay@y.example",Eve\n'
                                        'gus@x.example hal@y.example,Gus\n')
        r = self.ok("import", "--json", "--rejects", rejects, path)
        self.assertEqual(r.json()["imported"], 4, r)
        self.assertEqual([row["email"] for row in self.sql("SELECT email FROM leads"
                                                           " ORDER BY email")],
                         ["ann@x.example", "bob@x.example", "cy@x.example", "dee@x.example"])
        for line in (6, 7):
            self.assertIn(f"pasted.csv:{line}: rejected: several addresses in one cell:"
                          " give each its own row", r.err)
        with open(rejects) as f:
            self.assertIn("several addresses in one cell", f.read())
