"""The CLI as a whole: --help everywhere, exit codes, sequences check, output hygiene."""
import os
import re
import shutil
import subprocess

from helpers import BIN, ROOT, FollowupTest, wait_until_blocked_on_pipe

COMMANDS = ["init", "import", "leads", "show", "sequences", "plan", "due", "send", "done",
            "skip", "mark", "optout", "enroll", "preview", "resolve", "pipeline", "export"]


class Cli(FollowupTest):
    def test_every_command_has_help_with_an_example(self):
        for cmd in COMMANDS:
            r = self.ok(cmd, "--help")
            self.assertTrue(r.out.startswith(f"usage: followup {cmd}"), (cmd, r.out))
            self.assertIn("example", r.out, cmd)
        r = self.ok("--help")
        for cmd in COMMANDS:
            self.assertIn(cmd, r.out)

    def test_every_option_in_a_usage_is_explained_below_it(self):
        for cmd in COMMANDS:
            usage, _, body = self.ok(cmd, "--help").out.partition("\n\n")
            for option in set(re.findall(r"--[a-z][a-z-]*", usage)):
                self.assertIn(option, body, (cmd, option))
        self.assertIn("+01:00", self.ok("--help").out)    # TIME, as in the README

    def test_the_examples_name_a_lead_of_the_sample_file(self):
        # show, preview, mark and enroll --help and the man page: one lead, the first
        # of the sample badge file, so that the examples can be tried on it
        sample = open(self.data("A_eventyay_style_leads.csv"), encoding="utf-8-sig").read()
        man = open(os.path.join(ROOT, "doc", "followup.1"), encoding="utf-8").read()
        text = man + "".join(self.ok(cmd, "--help").out for cmd in COMMANDS)
        emails = set(re.findall(r"[\w.]+@northwind\.example", text))
        self.assertTrue(emails)
        for email in emails:
            self.assertIn(email, sample)

    def test_readme_and_man_page_name_every_option_of_every_command(self):
        readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
        man = open(os.path.join(ROOT, "doc", "followup.1"), encoding="utf-8").read()
        man = man.replace("\\-", "-")
        options = lambda text: set(re.findall(r"--[a-z][a-z-]*", text))
        for cmd in COMMANDS:
            usage = self.ok(cmd, "--help").out.split("\n\n")[0]
            # done and skip share a row of the README's table and an entry of the man page
            name = "done" if cmd == "skip" else cmd
            rows = [l for l in readme.splitlines()
                    if re.match(r"\| `followup %s[ `]" % name, l)]
            self.assertTrue(rows, cmd)
            self.assertEqual(options(usage), options(" ".join(rows)), (cmd, "README"))
            entry = re.search(r'^\.(B|BI|BR) "?%s\b.*$' % name, man, re.M)
            self.assertTrue(entry, cmd)
            self.assertEqual(options(usage), options(entry.group(0)), (cmd, "man page"))

    def test_version_and_usage_errors(self):
        self.assertRegex(self.ok("--version").out, r"^followup \d+\.\d+\.\d+\n$")
        self.ok("init")
        self.fails(2, "frobnicate")
        self.fails(2, "due", "--bogus")
        self.fails(2, "--now", "not-a-time", "due")
        r = self.run_followup()
        self.assertEqual(r.code, 2)

    def test_send_says_what_waits_for_the_window(self):
        self.ok("init")
        self.ok("import", self.write("fri.csv", "Email\nf@x.example\n"), now="2026-03-06T19:00:00-05:00")
        saturday = self.ok("send", now="2026-03-14T12:00:00-05:00")
        self.assertIn("sent 0 messages", saturday.out)
        self.assertIn("1 due email waits for the sending window", saturday.out)
        monday = self.ok("send", now="2026-03-16T10:00:00-04:00")
        self.assertIn("sent 1 message ", monday.out)
        self.assertNotIn("waits", monday.out)

    def test_what_if_and_dry_runs_leave_the_store_alone(self):
        self.ok("init")
        self.ok("import", self.data("A_eventyay_style_leads.csv"), now="2025-03-04T15:00:00Z")
        dump = lambda: subprocess.run(["sqlite3", self.db, ".dump"], capture_output=True).stdout
        before = dump()
        # A future --now shows that future (the recaps long expired) without making it.
        future = self.ok("due", "--json", now="2099-01-05T15:00:00Z").json()
        self.assertNotIn("recap", [d["step"] for d in future])
        self.ok("pipeline", now="2099-01-05T15:00:00Z")
        self.ok("show", "1", now="2099-01-05T15:00:00Z")
        self.ok("export", now="2099-01-05T15:00:00Z")
        self.ok("send", "--dry-run", now="2025-03-20T15:00:00Z")
        self.assertEqual(dump(), before)
        # A --now that is not ahead of the clock is a backfill: it is kept.
        self.ok("due", now="2025-03-20T15:00:00Z")
        self.assertNotEqual(dump(), before)

    def test_a_send_ahead_of_the_clock_into_a_maildir_outbox_is_a_trial_run(self):
        # Open all day, every day: "+2h" is read against the wall clock, and the default
        # window (09:00-17:00 on business days) would hold the email back at other hours.
        self.write(os.path.join("sequences", "trial.yaml"), "name: trial\n"
                   "window: \"00:00-24:00\"\nbusiness_days: false\nsteps:\n"
                   "  - { id: hello, after: 1h, channel: email, subject: Hi, body: Hello }\n")
        self.ok("init")
        self.ok("import", "--sequence", "trial", self.write("a.csv", "Email\nm@x.example\n"))
        self.assertEqual(self.ok("send", "--json", now="+2h").json()["sent"], 1)
        self.assertEqual(len(os.listdir(os.path.join(self.outbox, "new"))), 1)

    def test_line_breaks_in_data_keep_the_layout(self):
        self.ok("init")
        self.ok("import", self.write("nl.csv", 'Email,First Name,Company,Notes\n'
                                     'n@x.example,Nia,"Big Co\nBranch","line1\r\nline2"\n'),
                now="2026-03-06T15:00:00Z")
        due = self.ok("due", now="2026-03-09T15:00:00Z").out
        self.assertIn("Nia (Big Co / Branch)  [event-followup/recap]", due)
        self.assertIn("1 email (for 'followup send'), 0 calls and tasks", due)
        shown = self.ok("show", "n@x.example", now="2026-03-09T15:00:00Z").out
        self.assertIn("notes      line1\n           line2\n", shown)
        timeline = self.ok("show", "--json", "1", now="2026-03-09T15:00:00Z").json()["timeline"]
        self.assertTrue(all({"message_id", "touch_id"} <= set(e) for e in timeline))
        self.assertIsNone(timeline[0]["touch_id"])
        self.fails(2, "due", "--json", "--ics")

    def test_help_as_an_option_value_is_a_value(self):
        self.ok("init")
        self.ok("import", self.write("a.csv", "Email\na@x.example\n"))
        r = self.ok("mark", "1", "replied", "--note", "-h")
        self.assertIn("marked replied", r.out)
        self.assertEqual(self.sql("SELECT detail FROM history WHERE kind = 'replied'"),
                         [{"detail": "-h"}])
        self.ok("leads", "--owner", "--help")
        self.assertTrue(self.ok("sequences", "check", "--help").out.startswith("usage:"))

    def test_a_global_option_after_the_command_is_said_to_go_before_it(self):
        # 'followup send --quiet' in a crontab would fail every night with "unknown".
        self.ok("init")
        for args, option, hint in (
                (["send", "--quiet"], "--quiet", "followup --quiet send"),
                (["due", "--now", "2026-03-05"], "--now", "followup --now TIME due"),
                (["import", "x.csv", "--db=y.db"], "--db", "followup --db PATH import"),
                (["show", "1", "-v"], "-v", "followup -v show"),
                (["export", "--config", "c.yaml"], "--config", "followup --config PATH export"),
                (["preview", "1", "--now=2026-03-05"], "--now", "followup --now TIME preview"),
                (["resolve", "1", "sent", "-q"], "-q", "followup -q resolve")):
            r = self.fails(2, *args)
            self.assertIn(f"followup: {args[0]}: '{option}' is a global option: it goes"
                          f" before the command, as in '{hint}'", r.err)
        self.assertEqual(self.sql("SELECT count(*) AS n FROM leads"), [{"n": 0}])

    def test_an_option_without_its_value_is_a_usage_error(self):
        self.ok("init")
        for args in (["due", "--owner"], ["due", "--channel"], ["leads", "--status"],
                     ["pipeline", "--owner"], ["done", "5", "--note"], ["send", "--limit"],
                     ["import", "x.csv", "--event"], ["plan", "event-followup", "--from"]):
            r = self.fails(2, *args)
            self.assertIn("missing value in '%s'" % args[-1], r.err)

    def test_a_lead_named_with_spaces_around_it_is_found(self):
        self.ok("init")
        self.ok("import", self.write("a.csv", "Email\nAnn@x.example\n"))
        self.assertIn("Ann@x.example", self.ok("show", "  ann@X.example ").out)
        self.assertIn("Ann@x.example", self.ok("show", " 1 ").out)
        self.ok("optout", "ann@x.example\t")
        self.assertEqual(self.sql("SELECT status FROM leads"), [{"status": "unsubscribed"}])

    def test_an_unsubscribe_mailto_carries_the_lead_s_token_too(self):
        # The inbox an unsubscribe mail goes to knows the lead by the token, as the
        # url's page does: a forwarded mail's From is not the lead.
        self.write_config('unsubscribe: { mailto: "mailto:unsub@acme.example?subject='
                          'unsubscribe%20{token}" }\n')
        self.ok("init")
        self.ok("import", self.write("a.csv", "Email\nann@x.example\n"),
                now="2026-03-02T15:00:00Z")
        self.ok("send", now="2026-03-03T15:00:00Z")
        [name] = os.listdir(os.path.join(self.outbox, "new"))
        with open(os.path.join(self.outbox, "new", name)) as f:
            text = f.read()
        token = self.sql("SELECT token FROM leads")[0]["token"]
        self.assertIn("List-Unsubscribe: <mailto:unsub@acme.example?subject="
                      f"unsubscribe%20{token}>", text)

    def test_the_token_of_an_unsubscribe_link_opts_its_lead_out(self):
        self.write_config('unsubscribe: { url: "https://acme.example/u/{token}" }\n')
        self.ok("init")
        self.ok("import", self.write("a.csv", "Email\nann@x.example\nbob@x.example\n"),
                now="2026-03-02T15:00:00Z")
        self.ok("send", now="2026-03-03T15:00:00Z")
        tokens = {}
        for name in os.listdir(os.path.join(self.outbox, "new")):
            with open(os.path.join(self.outbox, "new", name)) as f:
                text = f.read()
            to = re.search(r"^To: (\S+)", text, re.M).group(1)
            tokens[to] = re.search(r"^List-Unsubscribe: .*<https://acme.example/u/([0-9a-f]+)>",
                                   text, re.M).group(1)
        self.assertEqual(self.ok("optout", "--token", tokens["ann@x.example"]).out,
                         "ann@x.example opted out\n")
        self.assertEqual(self.sql("SELECT email, status FROM leads ORDER BY id"),
                         [{"email": "ann@x.example", "status": "unsubscribed"},
                          {"email": "bob@x.example", "status": "active"}])
        # An unknown token stops the lot: nobody is opted out on a bad link.
        r = self.fails(2, "optout", "--token", tokens["bob@x.example"], "0123abcd")
        self.assertIn("no lead has the unsubscribe token '0123abcd'", r.err)
        self.assertEqual(r.out, "")
        self.assertEqual(self.sql("SELECT status FROM leads WHERE id = 2"), [{"status": "active"}])
        self.fails(2, "optout", "--token", "Not-A-Token")

    def test_empty_environment_variables_mean_the_default(self):
        self.ok("init")
        r = self.ok("leads", env=self.env(FOLLOWUP_NOW="", FOLLOWUP_SEQUENCES=""))
        self.assertIn("0 leads", r.out)

    def test_the_leads_table_keeps_one_line_a_lead_and_its_columns(self):
        self.ok("init")
        self.ok("import", self.write("t.csv", 'Email,Name,Company\nn@x.example,"Ann\nLee","Big\nCo"\n'
                                              "zoë.åsa@example.se,Zoë,Åre AB\n"
                                              "a.very.long.address.of.someone@sub.example.com,L,\n"))
        rows = self.ok("leads").out.splitlines()[:-1]
        self.assertEqual(len(rows), 3, rows)
        self.assertIn(" a.very.long.address.of.someone@sub.example.com L", rows[2])  # not cut
        self.assertTrue(rows[0].endswith("Ann / Lee, Big / Co"), rows)
        # The name starts in the same column, counted in characters, not bytes.
        self.assertEqual(rows[0].index("Ann"), rows[1].index("Zoë"))
        self.assertIn("#1 Ann / Lee <n@x.example>", self.ok("show", "n@x.example").out)

    def test_config_mistakes_that_would_stop_emails(self):
        self.write_config("owners:\n  dana: { name: D, email: d@x.example }\n"
                          "  dana: { name: E, email: e@x.example }\n"
                          "  sam: { name: S, email: nobody }\n")
        r = self.fails(2, "leads")
        self.assertIn(":6:3: owner 'dana' is there twice", r.err)
        self.assertTrue(all(line.startswith("followup: ") for line in r.err.splitlines()), r)
        self.assertIn("'nobody' is not an email address", r.err)

    def test_an_smtp_url_or_ca_file_that_cannot_work_is_refused_at_load(self):
        cases = [("url: 'smtp://'", "names no host"),
                 ("url: 'smtp://127.0.0.1:99999'", "port in the url"),
                 ("url: 'smtp://[::1]:x'", "port in the url"),
                 ("url: 'smtp://[::1]2525'", "port in the url"),
                 ("url: 'smtp://mail.example:'", "port in the url"),
                 ("url: 'smtp://mail.example:587', ca_file: /nonexistent/ca.pem",
                  "cannot read '/nonexistent/ca.pem'"),
                 (f"url: 'smtp://mail.example:587', ca_file: {self.dir}", "is a directory"),
                 ("url: 'smtp://mail.example:587', ca_file: "
                  + self.write("notpem.txt", "a CA bundle\n"), "holds no PEM certificate"),
                 ("url: 'smtp://mail.example.com :587'", "a space or a line break"),
                 ('url: "smtp://mail.example.com\\r\\nX:1"', "a space or a line break"),
                 ("url: 'smtp://mail.example.com:587/x?y=1'", "cannot have a query"),
                 ("url: 'smtp://mail.example:587', username: alex", "'username' without a password"),
                 ("url: 'smtp://mail.example:587', password_env: PW", "without 'username'"),
                 ("url: 'smtp://mail.example:587', username: a, password_env: 'BAD NAME'",
                  "must name an environment variable")]
        for smtp, message in cases:
            with open(self.config_path, "w") as f:
                f.write(f"sender: {{ name: S, email: s@x.example }}\nsmtp: {{ {smtp} }}\n")
            r = self.fails(2, "send", "--dry-run")
            self.assertIn(":2:", r.err, smtp)
            self.assertIn(message, r.err, smtp)
            self.assertNotIn("BAD NAME", r.err)      # it may be the password itself
        with open(self.config_path, "w") as f:
            f.write("sender: { name: S, email: s@x.example }\n"
                    "smtp: { url: 'smtp://[::1]:2525', tls: none }\n")
        self.ok("init")

    def test_quiet_send_still_says_what_is_held(self):
        with open(self.config_path, "w") as f:     # a sender without an address
            f.write(f"timezone: America/New_York\nsender: {{ name: Nobody }}\n"
                    f"smtp: {{ url: 'maildir:{self.outbox}' }}\n")
        self.ok("init")
        self.ok("import", self.write("h.csv", "Email\nh@x.example\n"), now="2026-03-06T15:00:00Z")
        r = self.ok("--quiet", "send", now="2026-03-09T15:00:00Z")
        self.assertEqual(r.out, "")
        self.assertIn("1 email held back", r.err)

    def test_commands_need_a_store(self):
        r = self.fails(1, "leads")
        self.assertIn("followup init", r.err)

    def test_small_usage_slips_get_the_right_message(self):
        r = self.run_followup("due", "--help", env=self.env(FOLLOWUP_NOW="garbage"))
        self.assertEqual(r.code, 0, r)
        self.assertIn("usage: followup due", r.out)
        self.ok("init")
        r = self.fails(1, "sequences", "check", self.seqdir)
        self.assertIn("cannot read: Is a directory", r.err + r.out)
        self.assertIn("unexpected argument 'extra'",
                      self.fails(2, "sequences", "--json", "extra").err)
        self.assertIn("unknown option '--bogus'", self.fails(2, "show", "1", "--bogus").err)
        missing = os.path.join(self.dir, "no-such-dir")
        csv = self.write("a.csv", "Email\na@x.example\n")
        for args in (["plan", "event-followup"], ["import", csv], ["due"], ["send"]):
            r = self.run_followup(*args, env=self.env(FOLLOWUP_SEQUENCES=missing))
            self.assertEqual(r.code, 1, r)
            self.assertIn(f"no sequences directory {missing}", r.err)
        self.assertIn("--version", self.ok("--help").out)

    def test_a_what_if_view_locks_nobody_out_and_changes_nothing(self):
        self.ok("init")
        rows = "".join(f"lead{i}@x.example,Lead{i},Company {i}\n" for i in range(2000))
        self.ok("import", self.write("a.csv", "Email,First Name,Company\n" + rows))
        before = self.sql("SELECT id, state, due_at FROM touches ORDER BY id")
        # More than a pipe holds: the view waits, mid-listing, for a reader.
        view = subprocess.Popen([BIN, "--now", "+20d", "due"], env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(view.kill)
        wait_until_blocked_on_pipe(view, "write")
        r = self.run_followup("mark", "lead7@x.example", "lost", timeout=20)
        self.assertEqual(r.code, 0, r)                  # not "locked" after 5 s
        out, err = view.communicate(timeout=60)
        self.assertEqual(view.returncode, 0, err)
        self.assertIn("Lead1999", out)
        after = self.sql("SELECT id, state, due_at FROM touches ORDER BY id")
        self.assertEqual([t for t in after if t["id"] != 8], [t for t in before if t["id"] != 8])

    def test_a_dry_run_waiting_for_its_reader_does_not_stop_a_send(self):
        self.write_config("limits: { per_run: 0, per_day: 0 }\n")
        self.ok("init")
        rows = "".join(f"lead{i}@x.example,Lead{i}\n" for i in range(2000))
        self.ok("import", self.write("a.csv", "Email,First Name\n" + rows),
                now="2026-03-02T10:00:00Z")
        dry = subprocess.Popen([BIN, "--now", "2026-03-03T15:00:00Z", "send", "--dry-run"],
                               env=self.env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        self.addCleanup(dry.kill)
        wait_until_blocked_on_pipe(dry, "write")    # its 2,000 lines fill the pipe
        r = self.run_followup("send", "--json", "--limit", "5", now="2026-03-03T15:00:00Z")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.json()["sent"], 5)
        out, err = dry.communicate(timeout=60)
        self.assertEqual(dry.returncode, 0, err)
        self.assertIn("would send", out)

    def test_a_store_read_only_to_the_user_is_refused_before_it_is_read(self):
        self.ok("init")
        self.ok("import", self.write("a.csv", "Email\na@x.example\n"), now="2026-03-02T10:00:00Z")
        os.chmod(self.db, 0o644)
        command = [BIN, "--now", "2026-03-20T10:00:00Z"]
        if os.geteuid() == 0:   # root writes anything: run as nobody, who may read it all
            as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            if subprocess.run(as_nobody + [BIN, "--version"], capture_output=True).returncode:
                self.skipTest(f"nobody cannot run {BIN}")
            for root, dirs, files in os.walk(self.dir):
                os.chmod(root, 0o755)
                for name in files:
                    os.chmod(os.path.join(root, name), 0o644)
            os.chmod(self.dir, 0o777)       # where a reader's -wal and -shm would go
            command = as_nobody + command
        else:
            os.chmod(self.db, 0o444)
        for args in (["due"], ["leads"], ["mark", "a@x.example", "lost"]):
            r = subprocess.run(command + args, env=self.env(), capture_output=True, text=True)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("the store is read-only to you", r.stderr)
        # Nothing of the reader's is left beside the store to lock its owner out.
        self.assertFalse(os.path.exists(self.db + "-shm"))
        self.assertFalse(os.path.exists(self.db + "-wal"))
        if os.geteuid() != 0:
            os.chmod(self.db, 0o644)
        self.ok("mark", "a@x.example", "lost", now="2026-03-20T10:00:00Z")

    def test_a_store_on_a_read_only_mount_says_so(self):
        # Its owner cannot write it either: "run followup as the store's owner" would
        # send the admin looking for the wrong fix.
        self.ok("init")
        self.ok("import", self.write("a.csv", "Email\na@x.example\n"), now="2026-03-02T10:00:00Z")
        store_dir = os.path.dirname(self.db)
        unshare = ["unshare", "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            unshare.insert(1, "--map-root-user")
        read_only = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
        probe = subprocess.run(unshare + ["sh", "-c", read_only, "sh", store_dir, "true"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            self.skipTest("cannot mount read-only in a mount namespace: "
                          + (probe.stderr.strip() or f"exit {probe.returncode}"))
        r = subprocess.run(unshare + ["sh", "-c", read_only, "sh", store_dir, BIN, "due"],
                           env=self.env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("the store is on a read-only file system", r.stderr)
        self.assertIn("mount it read-write", r.stderr)
        self.assertEqual(self.sql("SELECT count(*) AS n FROM leads"), [{"n": 1}])

    def test_a_device_is_never_a_store(self):
        before = os.stat("/dev/null")
        # A build that chmods it (bisecting, as root) must not leave the machine broken.
        self.addCleanup(os.chmod, "/dev/null", before.st_mode & 0o7777)
        for command in ("init", "leads"):
            r = self.fails(1, "--db", "/dev/null", command)
            self.assertIn("/dev/null: is not a regular file", r.err)
        self.assertEqual(os.stat("/dev/null").st_mode, before.st_mode)

    def test_a_lead_whose_email_starts_with_a_dash_can_be_shown(self):
        self.ok("init")
        self.ok("import", self.write("a.csv", "Email\n-ann@x.example\n"))
        self.assertIn("<-ann@x.example>", self.ok("show", "-ann@x.example").out)
        self.assertIn("unknown option '--bogus'", self.fails(2, "show", "--bogus").err)

    def test_another_programs_database_is_never_made_a_store(self):
        other = os.path.join(self.dir, "crm.db")
        subprocess.run(["sqlite3", other, "CREATE TABLE contacts(email)"], check=True)
        for command in ("leads", "init"):
            r = self.fails(1, "--db", other, command)
            self.assertIn("not a followup store", r.err)
        tables = subprocess.run(["sqlite3", other, ".tables"], capture_output=True,
                                text=True, check=True).stdout.split()
        self.assertEqual(tables, ["contacts"])
        self.assertFalse(os.path.exists(other + "-wal"))
        versioned = os.path.join(self.dir, "app.db")     # another program's own version
        subprocess.run(["sqlite3", versioned, "CREATE TABLE x(a); PRAGMA user_version = 4"],
                       check=True)
        self.assertIn("not a followup store", self.fails(1, "--db", versioned, "due").err)
        mode = subprocess.run(["sqlite3", versioned, "PRAGMA journal_mode"],
                              capture_output=True, text=True, check=True).stdout.strip()
        self.assertEqual(mode, "delete")
        empty = self.write("empty.db", "")
        os.chmod(empty, 0o644)
        self.assertIn("followup init", self.fails(1, "--db", empty, "leads").err)
        self.ok("--db", empty, "init")
        self.assertEqual(os.stat(empty).st_mode & 0o777, 0o600)
        self.ok("--db", empty, "leads")

    def test_init_is_idempotent(self):
        first = self.ok("init").out
        self.assertEqual(self.ok("init").out, first)

    def test_sequences_list_and_check(self):
        self.ok("init")
        r = self.ok("sequences")
        self.assertIn("event-followup", r.out)
        self.assertIn("reactivation", r.out)
        listing = self.ok("sequences", "--json").json()
        self.assertEqual(sorted(s["name"] for s in listing), ["event-followup", "reactivation"])
        self.assertIn("2 sequences OK", self.ok("sequences", "check").out)
        bad = self.data("seq_bad.yaml")
        r = self.run_followup("sequences", "check", bad)
        self.assertEqual(r.code, 2, r)
        self.assertIn(f"{bad}:8:18: unknown template variable '{{{{first_nmae}}}}'", r.out)
        self.assertIn(f"{bad}:14:14: unknown channel 'fax'", r.out)
        self.assertIn("check takes files, not '--json'",
                      self.fails(2, "sequences", "check", "--json").err)

    def test_completion_offers_the_sequences_followup_uses(self):
        self.ok("init")
        self.write_sequence_file("renamed.yaml", "name: spring-promo\nsteps:\n"
                                 "  - { id: a, after: 1d, channel: task, task: Call }\n")
        completion = os.path.join(ROOT, "doc", "followup.bash")
        env = self.env(PATH=os.path.dirname(BIN) + ":" + os.environ["PATH"])
        r = subprocess.run(["bash", "-c", f"source {completion}; _followup_sequences"],
                           capture_output=True, text=True, env=env)
        self.assertEqual(sorted(r.stdout.split()), ["event-followup", "reactivation", "spring-promo"])

    def complete(self, line):
        """What the completion offers for the last word of line, as bash would ask."""
        library = "/usr/share/bash-completion/bash_completion"
        if not os.path.exists(library):
            self.skipTest("bash-completion is not installed")
        completion = os.path.join(ROOT, "doc", "followup.bash")
        # bash splits the line at COMP_WORDBREAKS, ':' among them: "10:00" is 3 words
        words = [part for word in line.split() for part in re.split("(:)", word) if part]
        if line.endswith(" "):
            words.append("")
        script = (f"source {library}; source {completion}; mapfile -t COMP_WORDS <<< \"$WORDS\";"
                  " COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE=$LINE;"
                  ' COMP_POINT=${#LINE}; _followup; echo "${COMPREPLY[@]}"')
        env = self.env(PATH=os.path.dirname(BIN) + ":" + os.environ["PATH"], LINE=line,
                       WORDS="\n".join(words))
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                              env=env).stdout.split()

    def test_completion_counts_arguments_past_options(self):
        self.ok("init")
        self.assertEqual(self.complete("followup mark --note x 12 "),
                         ["replied", "converted", "lost"])
        self.assertEqual(self.complete("followup --now 2026-11-20T10:00:00Z mark 12 "),
                         ["replied", "converted", "lost"])
        other = os.path.join(self.dir, "other")
        os.mkdir(other)
        with open(os.path.join(other, "solo.yaml"), "w") as f:
            f.write("steps:\n  - { id: a, after: 1d, channel: task, task: Call }\n")
        self.assertEqual(self.complete(f"followup --sequences {other} enroll --from today 12 "),
                         ["solo"])

    def write_sequence_file(self, name, text):
        with open(os.path.join(self.seqdir, name), "w") as f:
            f.write(text)

    def test_invalid_sequence_is_never_used(self):
        self.ok("init")
        shutil.copy(self.data("seq_bad.yaml"), os.path.join(self.seqdir, "bad.yaml"))
        r = self.fails(2, "import", "--sequence", "bad", self.data("A_eventyay_style_leads.csv"))
        self.assertIn("invalid", r.err)
        self.assertIn("sequences check", r.err)
        self.assertEqual(self.sql("SELECT count(*) AS n FROM leads"), [{"n": 0}])
        self.assertIn("1 invalid sequence file", self.ok("sequences").out)
        r = self.fails(2, "plan", "no-such")
        self.assertIn("no sequence 'no-such'", r.err)
        # Named by its 'name:', not its file name, it is still the invalid one.
        with open(self.data("seq_bad.yaml")) as f:
            text = f.read()
        self.write_sequence_file("renamed.yaml", "name: other-name\n" + text.split("\n", 1)[1]
                                 if text.startswith("name:") else "name: other-name\n" + text)
        r = self.fails(2, "plan", "other-name")
        self.assertIn("is invalid", r.err)

    def test_a_sequence_broken_mid_flight_says_where_to_look(self):
        self.ok("init")
        self.ok("import", self.write("a.csv", "Email\na@x.example\nb@x.example\nc@x.example\n"),
                now="2026-03-02T15:00:00Z")
        path = os.path.join(self.seqdir, "event-followup.yaml")
        with open(path) as f:
            text = f.read()
        self.write_sequence_file("event-followup.yaml",
                                 text.replace("channel: email", "channel: fax", 1))
        due = self.ok("due", now="2026-03-03T15:00:00Z").out
        self.assertEqual(due.count("HELD: sequence 'event-followup' is invalid ('followup"
                                   " sequences check' says where)"), 3)
        r = self.ok("skip", "1", now="2026-03-03T15:00:00Z")
        self.assertIn("sequence 'event-followup' is invalid ('followup sequences check' says"
                      " where): its leads wait until it is fixed", r.err)

    def test_quiet_and_no_color(self):
        self.ok("init")
        r = self.ok("--quiet", "import", self.data("A_eventyay_style_leads.csv"))
        self.assertEqual(r.out, "")
        # No warning, no line per reject: one line says rows were lost.
        self.assertEqual(r.err, "followup: %s: 2 rows rejected (first: line 6: no domain"
                         " after the @)\n" % self.data("A_eventyay_style_leads.csv"))
        r = self.ok("due", now="2025-03-10T15:00:00Z", env=self.env(NO_COLOR="1"))
        self.assertNotIn("\033[", r.out)

    def test_write_error_is_a_failure(self):
        self.ok("init")
        self.ok("import", self.data("A_eventyay_style_leads.csv"))
        with open("/dev/full", "w") as full:
            proc = subprocess.run([BIN, "leads"], stdout=full, stderr=subprocess.PIPE,
                                  env=self.env(), text=True)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stderr, "followup: cannot write the output: No space left on device\n")

    def test_store_is_private(self):
        self.ok("init")
        self.assertEqual(os.stat(self.db).st_mode & 0o777, 0o600)


class InstallAndUninstall(FollowupTest):
    def make(self, target, prefix):
        # -o: the binary under test is installed as it is, never rebuilt here
        subprocess.run(["make", "-s", "-C", ROOT, "-o", BIN, f"BUILD={os.path.dirname(BIN)}",
                        target, f"PREFIX={prefix}"], check=True, capture_output=True)

    def test_uninstall_from_home_keeps_the_store_that_lives_beside_the_sequences(self):
        prefix = os.path.join(self.dir, "home", ".local")
        self.make("install", prefix)
        installed = os.path.join(prefix, "bin", "followup")
        env = {"HOME": os.path.join(self.dir, "home"), "PATH": os.environ["PATH"],
               "TZ": "UTC"}
        subprocess.run([installed, "--quiet", "init"], env=env, check=True,
                       cwd=self.dir, capture_output=True)
        store = os.path.join(prefix, "share", "followup", "followup.db")
        self.assertTrue(os.path.exists(store))
        self.assertTrue(os.path.exists(os.path.join(prefix, "share", "doc", "followup",
                                                    "README.md")))
        self.make("uninstall", prefix)
        self.assertFalse(os.path.exists(installed))
        self.assertFalse(os.path.exists(os.path.join(prefix, "share", "followup", "sequences")))
        self.assertTrue(os.path.exists(store))


class InitAndConfigFiles(FollowupTest):
    """Where init puts things, what it writes, and how a config file can be wrong."""

    def fresh_env(self, home, **extra):
        """An environment with no config or store named: init picks the defaults under home."""
        env = {k: v for k, v in self.env(HOME=home).items()
               if k not in ("FOLLOWUP_DB", "FOLLOWUP_CONFIG", "XDG_CONFIG_HOME", "XDG_DATA_HOME")}
        env.update(extra)
        return env

    def starter(self, home):
        with open(os.path.join(home, ".config", "followup", "config.yaml")) as f:
            return f.read()

    def test_init_takes_the_zone_from_any_tz_form(self):
        for tz, zone in ((":Europe/Berlin", "Europe/Berlin"), ("Asia/Tokyo", "Asia/Tokyo")):
            home = os.path.join(self.dir, "home-" + zone.replace("/", "-"))
            self.ok("init", env=self.fresh_env(home, TZ=tz))
            self.assertIn(f'timezone: "{zone}"\n', self.starter(home))
            self.ok("init", env=self.fresh_env(home, TZ=tz))     # it loads
        # A POSIX rule is no zone name: the system's zone (or UTC), never the rule.
        home = os.path.join(self.dir, "home-posix")
        self.ok("init", env=self.fresh_env(home, TZ="CET-1CEST"))
        self.assertNotIn("CET-1CEST", self.starter(home))
        self.ok("leads", env=self.fresh_env(home, TZ="CET-1CEST"))

    def test_tz_with_a_colon_is_the_display_zone(self):
        self.ok("init")
        self.ok("import", self.write("a.csv", "Email,Scanned At\na@x.example,2026-03-05T10:00:00Z\n"))
        for tz in (":Europe/Berlin", "Europe/Berlin", "CET-1CEST"):
            r = self.ok("leads", env=self.env(TZ=tz))
            self.assertIn("2026-03-05 11:00", r.out, tz)

    def test_init_quotes_a_home_with_quotes_and_backslashes(self):
        home = os.path.join(self.dir, 'o"brien\\x #1')
        first = self.ok("init", env=self.fresh_env(home))
        self.assertIn(f"transport: maildir:{home}/.local/share/followup/outbox\n", first.out)
        self.assertEqual(self.ok("init", env=self.fresh_env(home)).out,
                         first.out.replace(" (created)", ""))
        self.assertTrue(os.path.exists(os.path.join(home, ".local/share/followup/followup.db")))

    def test_init_leaves_no_config_it_cannot_load(self):
        home = os.path.join(self.dir, "h")
        # A home that is not UTF-8 cannot go into a YAML file: refused, nothing left.
        proc = subprocess.run([BIN, "init"], env=self.fresh_env(home + "\udcff"),
                              capture_output=True)
        self.assertEqual(proc.returncode, 1, proc)
        self.assertIn(b"not UTF-8", proc.stderr)
        folder = os.path.join(os.fsencode(home) + b"\xff", b".config", b"followup")
        self.assertEqual(os.listdir(folder), [])

    def test_no_home_is_refused_not_relative(self):
        work = os.path.join(self.dir, "work")
        os.mkdir(work)
        env = self.fresh_env(self.dir)
        del env["HOME"]
        proc = subprocess.run([BIN, "init"], cwd=work, env=env, capture_output=True, text=True)
        self.assertEqual(proc.returncode, 2, proc)
        self.assertIn("HOME", proc.stderr)
        self.assertEqual(os.listdir(work), [])
        # Named in full, no HOME is needed.
        proc = subprocess.run([BIN, "--config", "c.yaml", "--db", "f.db", "init"], cwd=work,
                              env=env, capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc)
        self.assertIn(f"config:    {work}/c.yaml (created)", proc.stdout)
        self.assertIn(f"store:     {work}/f.db\n", proc.stdout)

    def test_relative_paths_on_the_command_line_are_made_absolute(self):
        home, work = os.path.join(self.dir, "h"), os.path.join(self.dir, "work")
        os.mkdir(work)
        proc = subprocess.run([BIN, "--db", "rel.db", "init"], cwd=work, capture_output=True,
                              text=True, env=self.fresh_env(home))
        self.assertEqual(proc.returncode, 0, proc)
        self.assertIn(f"store:     {work}/rel.db\n", proc.stdout)
        self.assertIn(f'url: "maildir:{work}/outbox"', self.starter(home))

    def test_a_named_config_that_does_not_exist_is_an_error(self):
        missing = os.path.join(self.dir, "typo", "config.yaml")
        self.ok("init")
        for args, env in ((["--config", missing, "leads"], None),
                          (["leads"], self.env(FOLLOWUP_CONFIG=missing)),
                          (["--now", "2026-03-05", "sequences"], self.env(FOLLOWUP_CONFIG=missing))):
            r = self.fails(2, *args, env=env)
            self.assertEqual(r.err.count("\n"), 1, r)
            self.assertIn(f"{missing}: no such config file", r.err)
        # init creates it; the default path missing is fine.
        self.ok("--config", missing, "init")
        self.assertTrue(os.path.exists(missing))
        self.ok("leads", env=self.fresh_env(os.path.join(self.dir, "h2"), FOLLOWUP_DB=self.db))

    def test_config_that_cannot_be_read_is_a_failure(self):
        self.ok("init")
        r = self.fails(1, "--config", self.dir, "leads")
        self.assertIn(f"{self.dir}:1:1: cannot read: Is a directory", r.err)

    def test_config_problems_have_their_line(self):
        self.ok("init")
        cases = (
            (b"timezone: UTC\n\n# rep\n\nsender: { name: \"Ren\xe9\" }\n", ":5:21: invalid trailing UTF-8"),
            (b"timezone: UTC\n---\ntimezone: Asia/Tokyo\n", ":2:1: more than one YAML document"),
            (b"smtp:\n  url: smtp://smtp.example.com:587\n  tls: none\n", ":3:8: 'tls: none' is allowed only"),
            (b"timezone: europe/berlin\n",
             ":1:11: unknown time zone 'europe/berlin' (did you mean 'Europe/Berlin'?)"),
        )
        for text, message in cases:
            path = self.write("bad.yaml", text, mode="wb")
            r = self.fails(2, "--config", path, "leads")
            self.assertIn(path + message, r.err)
        path = self.write("local.yaml", "smtp: { url: 'smtp://127.0.0.1:2525', tls: none }\n")
        self.ok("--config", path, "leads")

    def test_a_value_with_a_line_break_is_shown_on_one_line(self):
        self.ok("init")
        path = self.write("nl.yaml", 'timezone: "Europe/\\nBerlin\\x1b[2J"\n')
        r = self.fails(2, "--config", path, "leads")
        self.assertEqual(r.err, f"followup: {path}:1:11: unknown time zone "
                                "'Europe/\\nBerlin\\x1b[2J'\n")
