"""followup send against a real SMTP server (aiosmtpd on 127.0.0.1, STARTTLS and AUTH),
every captured message parsed with Python's email package in its strict policy."""
import base64
import email
import email.policy
import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import threading
import time

from helpers import BIN, VALGRIND, FollowupTest, Result, write_lock_held
from smtpd import TestSMTPServer

SEQUENCE = """\
name: t
timezone: America/New_York
window: "09:00-17:00"
business_days: true
min_gap: 1d
steps:
  - id: recap
    after: 24h
    channel: email
    subject: "{{company|Your team}} and Acme, {{first_name|there}}"
    body: |
      Hi {{first_name|there}},
      .this line starts with a dot
      {{extra.Long|}}
      Notes: {{notes|none}}
  - id: value
    after: 3d
    channel: email
    thread: true
    body: "The deck, as promised."
"""

NOW_RECAP = "2026-03-09T13:05:00Z"
NOW_VALUE = "2026-03-12T13:05:00Z"
PASSWORD = "s3cret-Pa55word"


def parse(msg):
    return email.message_from_bytes(msg.data, policy=email.policy.strict)


def body(message):
    return message.get_content().replace("\r\n", "\n")


class SendBase(FollowupTest):
    server_options = {}

    def setUp(self):
        super().setUp()
        for name in os.listdir(self.seqdir):
            os.remove(os.path.join(self.seqdir, name))
        with open(os.path.join(self.seqdir, "t.yaml"), "w") as f:
            f.write(SEQUENCE)
        self.server = TestSMTPServer(**self.server_options).start()
        self.addCleanup(self.server.cleanup)
        self.use_server(self.server)
        self.ok("init")

    def use_server(self, server, password_env=True, extra="", per_day=0):
        tls = "required" if server.ca_file else "none"
        smtp = f"smtp:\n  url: {server.url}\n  tls: {tls}\n"
        if server.ca_file:
            smtp += f"  ca_file: {server.ca_file}\n  username: rep\n"
            if password_env:
                smtp += "  password_env: FOLLOWUP_SMTP_PASSWORD\n"
        self.write_config("owners:\n  jose: { name: José Núñez, email: jose@acme.example,"
                          " signature: \"José\\nAcme\" }\n"
                          "unsubscribe: { mailto: unsub@acme.example,"
                          " url: \"https://acme.example/u/{token}\" }\n"
                          f"limits: {{ per_run: 0, per_day: {per_day} }}\n" + smtp + extra)

    def env(self, **extra):
        extra.setdefault("FOLLOWUP_SMTP_PASSWORD", PASSWORD)
        return super().env(**extra)

    def import_csv(self, rows, header="Email,First Name,Last Name,Company,Notes,Owner,Scanned At"):
        path = self.write("leads.csv", header + "\n" + "".join(r + "\n" for r in rows))
        return self.ok("import", "--json", "--sequence", "t", path,
                       now="2026-03-06T23:45:00Z").json()

    def send(self, now=NOW_RECAP, *args, code=0):
        r = self.run_followup("send", "--json", *args, now=now)
        self.assertEqual(r.code, code, r)
        return r.json() if code == 0 else r

    def states(self):
        return [row["state"] for row in self.sql("SELECT state FROM touches ORDER BY id")]

    def assertNothingMarked(self):
        """A run stopped for the server's sake: every touch pending, no retry used."""
        self.assertEqual(set(self.states()), {"pending"})
        self.assertEqual(self.sql("SELECT max(attempts) AS n, max(retry_at) AS r"
                                  " FROM touches"), [{"n": 0, "r": None}])

    def lead_rows(self, n, domain="x.example"):
        return [f"lead{i}@{domain},Lead{i},,Co {i},,,2026-03-06 18:30" for i in range(n)]


class Messages(SendBase):
    def test_accents_comma_and_headers(self):
        self.import_csv(['renee@x.example,Renée,Lefèvre-Özdemir,"Société Générale d\'Études, SA",'
                         ',jose,2026-03-06 18:30'])
        self.assertEqual(self.send()["sent"], 1)
        [msg] = self.server.messages()
        m = parse(msg)
        self.assertEqual(m["To"].addresses[0].display_name, "Renée Lefèvre-Özdemir")
        self.assertEqual(m["To"].addresses[0].addr_spec, "renee@x.example")
        self.assertEqual(len(m["To"].addresses), 1)
        self.assertEqual(m["From"].addresses[0].display_name, "José Núñez")
        self.assertEqual(msg.mail_from, "jose@acme.example")
        self.assertEqual(m["Subject"], "Société Générale d'Études, SA and Acme, Renée")
        self.assertEqual(m["MIME-Version"], "1.0")
        self.assertEqual(m.get_content_type(), "text/plain")
        self.assertEqual(m.get_content_charset(), "utf-8")
        self.assertIn("<mailto:unsub@acme.example>", m["List-Unsubscribe"])
        token = self.sql("SELECT token FROM leads")[0]["token"]
        self.assertIn(f"<https://acme.example/u/{token}>", m["List-Unsubscribe"])
        self.assertEqual(m["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        stored = self.sql("SELECT message_id, state FROM touches WHERE step = 'recap'")[0]
        self.assertEqual(stored["state"], "sent")
        self.assertEqual(m["Message-ID"], stored["message_id"])
        self.assertIn("\n-- \nJosé\nAcme", body(m))

    def test_owner_without_signature_signs_with_own_name(self):
        with open(self.config_path, "w") as f:
            f.write("timezone: America/New_York\n"
                    "sender: { name: Alex, email: alex@acme.example, signature: \"Alex\\nAcme\" }\n"
                    "owners:\n  sam: { name: Sam Stone, email: sam@example.com }\n"
                    f"smtp:\n  url: {self.server.url}\n  tls: none\n")
        self.import_csv(["owned@x.example,Ann,,Co,,sam,2026-03-06 18:30",
                         "unowned@x.example,Bob,,Co,,,2026-03-06 18:30"])
        self.assertEqual(self.send()["sent"], 2)
        signed = {m.rcpt_tos[0]: body(parse(m)) for m in self.server.messages()}
        self.assertTrue(signed["owned@x.example"].endswith("\n-- \nSam Stone\n"),
                        signed["owned@x.example"])
        self.assertNotIn("Alex", signed["owned@x.example"])
        # A lead without an owner comes from the sender, with the sender's signature.
        self.assertTrue(signed["unowned@x.example"].endswith("\n-- \nAlex\nAcme\n"))

    def test_sender_without_signature_signs_with_its_name(self):
        with open(self.config_path, "w") as f:
            f.write("timezone: America/New_York\n"
                    "sender: { name: Alex Acme, email: alex@acme.example }\n"
                    f"smtp:\n  url: {self.server.url}\n  tls: none\n")
        self.import_csv(["unowned@x.example,Bob,,Co,,,2026-03-06 18:30"])
        self.assertEqual(self.send()["sent"], 1)
        [m] = self.server.messages()
        self.assertTrue(body(parse(m)).endswith("\n-- \nAlex Acme\n"), body(parse(m)))

    def test_preview_is_the_message_that_goes(self):
        self.import_csv(['renee@x.example,Renée,Lefèvre,"Société, SA",,jose,2026-03-06 18:30'])
        shown = subprocess.run([BIN, "--now", NOW_RECAP, "preview", "renee@x.example"],
                               env=self.env(), capture_output=True, check=True).stdout
        self.assertNotIn(b"\n", shown.replace(b"\r\n", b""))      # CRLF throughout
        self.assertEqual(self.states(), ["pending"])                # preview changes nothing
        self.assertEqual(self.send()["sent"], 1)
        [msg] = self.server.messages()
        strip = lambda raw: [l for l in raw.split(b"\r\n")
                             if not l.startswith((b"Message-ID:", b"Date:"))]
        self.assertEqual(strip(shown), strip(msg.data))
        # Once sent, a rebuilt message would not be what went out.
        r = self.fails(2, "preview", "1", now=NOW_RECAP)
        self.assertIn("touch 1 is sent", r.err)

    def test_crlf_in_data_cannot_add_a_header(self):
        self.import_csv(['evil@x.example,"Dana\r\nBcc: x@evil.example",,Co,'
                         '"x\r\nBcc: y@evil.example",,2026-03-06 18:30'])
        self.assertEqual(self.send()["sent"], 1)
        [msg] = self.server.messages()
        m = parse(msg)
        self.assertIsNone(m["Bcc"])
        self.assertEqual(msg.rcpt_tos, ["evil@x.example"])
        for line in msg.data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            self.assertFalse(line.lower().startswith(b"bcc"), line)

    def test_dot_line_and_long_line_survive(self):
        long_word = "A" * 2000
        self.import_csv([f"long@x.example,Lee,,Co,,,2026-03-06 18:30,{long_word}"],
                        header="Email,First Name,Last Name,Company,Notes,Owner,Scanned At,Long")
        self.assertEqual(self.send()["sent"], 1)
        [msg] = self.server.messages()
        for line in msg.data.split(b"\r\n"):
            self.assertLessEqual(len(line), 998)
        text = body(parse(msg))
        self.assertIn("\n.this line starts with a dot\n", text)
        self.assertIn(long_word, text)

    def test_day_three_email_threads_on_day_one(self):
        self.import_csv(self.lead_rows(1))
        self.send(NOW_RECAP)
        self.assertEqual(self.send(NOW_VALUE)["sent"], 1)
        first, second = [parse(m) for m in self.server.messages()]
        self.assertEqual(second["In-Reply-To"], first["Message-ID"])
        self.assertIn(first["Message-ID"], second["References"])
        self.assertEqual(second["Subject"], "Re: " + first["Subject"])

    def test_a_body_that_places_the_signature_is_signed_once(self):
        with open(os.path.join(self.seqdir, "t.yaml"), "w") as f:
            f.write(SEQUENCE.replace("      Notes: {{notes|none}}\n",
                                     "      Notes: {{notes|none}}\n      Best,\n      {{signature}}\n"))
        self.import_csv(self.lead_rows(1))
        self.assertEqual(self.send()["sent"], 1)
        [m] = self.server.messages()
        text = body(parse(m))
        self.assertTrue(text.endswith("Best,\nAlex Rep\n"), text)
        self.assertNotIn("\n-- \n", text)

    def test_third_email_references_the_whole_thread(self):
        with open(os.path.join(self.seqdir, "t.yaml"), "a") as f:
            f.write("  - { id: checkin, after: 7d, channel: email, thread: true,"
                    " body: \"Checking in.\" }\n")
        self.import_csv(self.lead_rows(1))
        for now in (NOW_RECAP, NOW_VALUE, "2026-03-18T13:05:00Z"):
            self.assertEqual(self.send(now)["sent"], 1, now)
        first, second, third = [parse(m) for m in self.server.messages()]
        self.assertEqual(third["In-Reply-To"], second["Message-ID"])
        self.assertEqual(third["References"].split(),
                         [first["Message-ID"], second["Message-ID"]])
        self.assertEqual(third["Subject"], "Re: " + first["Subject"])

    def test_dry_run_sends_nothing(self):
        self.import_csv(self.lead_rows(2))
        dry = self.send(NOW_RECAP, "--dry-run")
        # It claims no send: what would go has its own key.
        self.assertEqual((dry["sent"], dry["would_send"]), (0, 2))
        self.assertEqual(self.server.messages(), [])
        self.assertEqual(self.states(), ["pending", "pending"])
        real = self.send(NOW_RECAP)
        self.assertEqual(real["sent"], 2)
        self.assertNotIn("would_send", real)

    def test_a_send_ahead_of_the_clock_is_refused_but_not_its_dry_run(self):
        self.import_csv(self.lead_rows(1))
        r = self.send("+2d", code=2)
        self.assertIn("send: --now +2d is ahead of the clock", r.err)
        r = self.run_followup("send", env=self.env(FOLLOWUP_NOW="+2d"))
        self.assertEqual(r.code, 2, r)
        self.assertIn("send: FOLLOWUP_NOW +2d is ahead of the clock", r.err)
        self.assertEqual(self.server.messages(), [])
        self.assertEqual(self.states(), ["pending"])
        self.assertIn("would_send", self.send("+2d", "--dry-run"))    # what if: allowed

    def test_dry_run_limit_counts_what_would_go(self):
        self.import_csv(self.lead_rows(3))
        dry = self.send(NOW_RECAP, "--dry-run", "--limit", "2")
        self.assertEqual((dry["sent"], dry["would_send"], dry["deferred"]), (0, 2, 1))

    def test_dry_run_keeps_to_the_daily_limit_like_a_real_run(self):
        self.use_server(self.server, per_day=2)
        self.import_csv(self.lead_rows(3))
        dry = self.send(NOW_RECAP, "--dry-run")
        self.assertEqual((dry["would_send"], dry["deferred"]), (2, 1))
        real = self.send(NOW_RECAP)
        self.assertEqual((real["sent"], real["deferred"]), (2, 1))

    def test_one_mailbox_spelt_two_ways_shares_its_daily_limit(self):
        self.write_config("owners:\n  dana: { name: Dana, email: dana@acme.example }\n"
                          "  dee: { name: Dee, email: DANA@Acme.example }\n"
                          "limits: { per_run: 0, per_day: 2 }\n"
                          f"smtp:\n  url: {self.server.url}\n  tls: none\n")
        self.import_csv([f"{who}{i}@x.example,L{i},,Co,,{who},2026-03-06 18:30"
                         for who, i in (("dana", 0), ("dana", 1), ("dee", 2))])
        dry = self.send(NOW_RECAP, "--dry-run")
        self.assertEqual((dry["would_send"], dry["deferred"]), (2, 1))
        result = self.send()
        self.assertEqual((result["sent"], result["deferred"]), (2, 1))

    def test_one_connection_for_the_run(self):
        self.import_csv(self.lead_rows(5))
        self.assertEqual(self.send()["sent"], 5)
        self.assertEqual(self.server.connections(), 1)


class RefusesTheSession(SendBase):
    def test_a_refused_greeting_says_so_and_marks_nothing(self):
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)

        def refuse():       # one line and hang up, as a blocklisting server does
            conn, _ = listener.accept()
            conn.sendall(b"554 go away\r\n")
            conn.close()
        threading.Thread(target=refuse, daemon=True).start()
        self.write_config(f"smtp: {{ url: 'smtp://127.0.0.1:{listener.getsockname()[1]}',"
                          " tls: none }\n")
        self.import_csv(self.lead_rows(2))
        r = self.send(code=1)
        self.assertIn("refused the session before any message", r.err)
        self.assertIn("554 go away", r.err)
        self.assertNothingMarked()


class BareChallenge(SendBase):
    def test_verbose_masks_the_answers_to_a_bare_334_challenge(self):
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)

        def login_server():     # AUTH LOGIN with challenges that are "334" and nothing else
            conn, _ = listener.accept()
            replies = iter([b"334", b"334", b"535 5.7.8 no", b"221 bye"])
            conn.sendall(b"220 fake\r\n")
            for line in conn.makefile("rb"):
                if line.upper().startswith(b"EHLO"):
                    conn.sendall(b"250-fake\r\n250 AUTH LOGIN\r\n")
                else:
                    conn.sendall(next(replies, b"221 bye") + b"\r\n")
            conn.close()
        threading.Thread(target=login_server, daemon=True).start()
        self.write_config(f"smtp: {{ url: 'smtp://127.0.0.1:{listener.getsockname()[1]}',"
                          " tls: none, username: rep, password_env: FOLLOWUP_SMTP_PASSWORD }\n")
        self.import_csv(self.lead_rows(1))
        r = self.run_followup("--verbose", "send", now=NOW_RECAP)
        self.assertIn("> AUTH LOGIN", r.err)
        self.assertIn("> [masked]", r.err)
        for secret in (PASSWORD, base64.b64encode(PASSWORD.encode()).decode(),
                       base64.b64encode(b"rep").decode()):
            self.assertNotIn(secret, r.err)

    def test_a_servers_reply_cannot_drive_the_terminal(self):
        # A relay that verifies recipients passes on what the lead's own MX said: text
        # an attacker writes. DEL, C1 controls (CSI as U+009B, or as the lone 8-bit
        # byte) and bytes that are no UTF-8 must not reach stdout, stderr or the store.
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)
        evil = b"550 5.1.1 \xc2\x9b2J\x9b31m\x7f\xff gone \xc3\xa9t\xc3\xa9"

        def refusing_server():
            conn, _ = listener.accept()
            conn.sendall(b"220 fake \x9b2J\r\n")
            for line in conn.makefile("rb"):
                verb = line[:4].upper()
                if verb == b"EHLO":
                    conn.sendall(b"250-fake\r\n250 8BITMIME\r\n")
                elif verb == b"RCPT":
                    conn.sendall(evil + b"\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    break
                else:
                    conn.sendall(b"250 ok\r\n")
            conn.close()
        threading.Thread(target=refusing_server, daemon=True).start()
        self.write_config(f"smtp: {{ url: 'smtp://127.0.0.1:{listener.getsockname()[1]}',"
                          " tls: none }\n")
        self.import_csv(self.lead_rows(1))
        proc = subprocess.run(VALGRIND + [BIN, "--now", NOW_RECAP, "--verbose", "send"],
                              capture_output=True, env=self.env(), timeout=120)
        shown = proc.stdout + proc.stderr
        self.assertIn(b"gone", proc.stdout, proc)
        self.assertIn("gone \u00e9t\u00e9".encode(), proc.stdout)   # UTF-8 text stays
        for control in (b"\x9b", b"\x7f", b"\xff", b"\x1b"):
            self.assertNotIn(control, shown)
        [row] = self.sql("SELECT note FROM touches")
        self.assertIn("gone", row["note"])
        self.assertNotIn("\u009b", row["note"])
        self.assertNotIn("\x7f", row["note"])

    def test_a_proxy_in_the_environment_does_not_carry_plain_text(self):
        proxy = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(proxy.close)
        proxy.settimeout(0.2)
        self.import_csv(self.lead_rows(1))
        r = self.run_followup("send", "--json", now=NOW_RECAP,
                              env=self.env(ALL_PROXY=f"http://127.0.0.1:{proxy.getsockname()[1]}",
                                           NO_PROXY="", no_proxy=""))   # a CI's own would hide it
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.json()["sent"], 1)
        self.assertRaises(socket.timeout, proxy.accept)


class Credentials(SendBase):
    def test_a_netrc_others_can_read_is_named_and_a_missing_one_stops_the_run(self):
        self.use_server(self.server, extra="  username: rep\n  netrc: true\n")
        self.import_csv(self.lead_rows(1))
        r = self.send(code=1)
        self.assertIn(f"smtp.netrc: cannot read {self.dir}/.netrc", r.err)
        netrc = os.path.join(self.dir, ".netrc")
        with open(netrc, "w") as f:
            f.write("machine 127.0.0.1 login rep password x\n")
        os.chmod(netrc, 0o644)
        r = self.run_followup("send", now=NOW_RECAP)
        self.assertEqual(r.code, 0, r)
        self.assertIn(f"{netrc} can be read by others", r.err)
        os.chmod(netrc, 0o600)
        self.assertNotIn("read by others", self.run_followup("send", now=NOW_VALUE).err)

    def test_a_password_variable_cron_lacks_names_the_config(self):
        self.use_server(self.server, extra="  username: rep\n  password_env: NOT_IN_CRON\n")
        self.import_csv(self.lead_rows(1))
        r = self.send(code=1)
        self.assertIn(f"{self.config_path}: smtp.password_env: $NOT_IN_CRON is not set", r.err)
        self.assertEqual(self.states(), ["pending"])

    def test_a_dry_run_needs_no_credentials_and_runs_no_token_command(self):
        ran = os.path.join(self.dir, "token-command-ran")
        self.import_csv(self.lead_rows(1))
        for extra in ("  username: rep\n  password_env: NOT_IN_CRON\n",
                      "  username: rep\n  netrc: true\n",         # and no ~/.netrc
                      f"  username: rep\n  oauth2_token_cmd: 'touch {ran}; echo tok'\n"):
            self.use_server(self.server, extra=extra)
            r = self.run_followup("send", "--dry-run", "--json", now=NOW_RECAP)
            self.assertEqual(r.code, 0, r)
            self.assertEqual(r.json()["would_send"], 1, r)
            self.assertEqual(r.err, "")
        self.assertFalse(os.path.exists(ran))
        self.assertEqual(self.states(), ["pending"])
        self.assertEqual(self.server.connections(), 0)

    def test_a_netrc_others_can_read_is_named_under_quiet_too(self):
        self.use_server(self.server, extra="  username: rep\n  netrc: true\n")
        netrc = self.write(".netrc", "machine 127.0.0.1 login rep password x\n")
        os.chmod(netrc, 0o644)
        self.import_csv(self.lead_rows(1))
        for now in (NOW_RECAP, NOW_VALUE):      # with a message to send, and with none due
            r = self.run_followup("--quiet", "send", now=now)
            self.assertEqual(r.code, 0, r)
            self.assertEqual(r.out, "")
            self.assertEqual(r.err, f"followup: warning: {netrc} can be read by others and"
                             " holds the SMTP password: chmod 600 it\n")
        os.chmod(netrc, 0o600)
        self.assertEqual(self.run_followup("--quiet", "send", now=NOW_VALUE).err, "")


class TemporaryAndPermanent(SendBase):
    server_options = dict(replies=["soft@x.example=451x1", "hard@x.example=550"])

    def test_451_retried_later_and_sent_once_550_bounces(self):
        self.import_csv(["soft@x.example,Soft,,Co,,,2026-03-06 18:30",
                         "hard@x.example,Hard,,Co,,,2026-03-06 18:30",
                         "fine@x.example,Fine,,Co,,,2026-03-06 18:30"])
        first = self.send(NOW_RECAP)
        self.assertEqual((first["sent"], first["retry"], first["bounced"]), (1, 1, 1))
        # Before the 15-minute backoff: nothing goes.
        self.assertEqual(self.send("2026-03-09T13:10:00Z")["sent"], 0)
        self.assertEqual(self.send("2026-03-09T13:25:00Z")["sent"], 1)
        got = sorted(m.rcpt_tos[0] for m in self.server.messages())
        self.assertEqual(got, ["fine@x.example", "soft@x.example"])
        self.assertEqual(self.sql("SELECT status FROM leads WHERE email = 'hard@x.example'"),
                         [{"status": "bounced"}])
        # A bounced lead's sequence is stopped: nothing more ever goes to it.
        self.send("2026-04-30T14:00:00Z")
        self.assertNotIn("hard@x.example", [m.rcpt_tos[0] for m in self.server.messages()])


class RetriesRunOut(SendBase):
    server_options = dict(replies=["soft@x.example=451"])

    def test_the_try_that_uses_the_last_retry_says_failed(self):
        self.import_csv(["soft@x.example,Soft,,Co,,,2026-03-06 18:30",
                         "fine@x.example,Fine,,Co,,,2026-03-06 18:30"])
        [touch] = self.sql("SELECT t.id FROM touches t JOIN leads l ON l.id = t.lead_id"
                           " WHERE l.email = 'soft@x.example'")
        words = []
        # The first try, then each retry once its backoff (15 min, 1 h, 4 h) is over.
        for now in (NOW_RECAP, "2026-03-09T13:20:00Z", "2026-03-09T14:20:00Z",
                    "2026-03-09T18:20:00Z"):
            r = self.ok("send", now=now)
            words += [line.split()[0] for line in r.out.splitlines()
                      if f"#{touch['id']} soft@x.example: " in line]
        self.assertEqual(words, ["retry", "retry", "retry", "failed"])
        self.assertIn("(1 failed, 0 to retry,", r.out)
        self.assertEqual(self.sql(f"SELECT state FROM touches WHERE id = {touch['id']}"),
                         [{"state": "failed"}])
        self.assertIn("recap (email): failed: ", self.ok("show", "soft@x.example").out)


class PolicyRefusal(SendBase):
    """A refusal that names no fault of the recipient (DMARC, relaying denied) would
    come for every message: it stops the run and bounces nobody."""
    server_options = dict(data_replies=["*=550/5.7.26"])

    def test_a_dmarc_refusal_after_the_data_stops_the_run_and_bounces_no_one(self):
        self.import_csv(self.lead_rows(3))
        r = self.send(NOW_RECAP, code=1)
        self.assertIn("not the recipient's", r.err)
        self.assertIn("5.7.26", r.err)
        self.assertEqual(self.sql("SELECT DISTINCT status FROM leads"), [{"status": "active"}])
        self.assertNothingMarked()


class RelayDenied(SendBase):
    server_options = dict(replies=["*=554/5.7.1"])

    def test_relaying_denied_at_rcpt_stops_the_run_and_bounces_no_one(self):
        self.import_csv(self.lead_rows(3))
        self.send(NOW_RECAP, code=1)
        self.assertEqual(self.sql("SELECT DISTINCT status FROM leads"), [{"status": "active"}])
        self.assertNothingMarked()


class RelayRefusesEveryoneBare(SendBase):
    """exim's '550 relay not permitted' has no enhanced code: it reads like a refused
    address, and must not bounce the whole list, nor use up its retries in a run."""
    server_options = dict(replies=["*=550/-"])

    def test_a_bare_refusal_of_everyone_stops_the_run_and_bounces_no_one(self):
        self.import_csv(self.lead_rows(8))
        for now in (NOW_RECAP, "2026-03-09T14:00:00Z"):
            r = self.send(now, code=1)
            self.assertIn("refused or deferred 3 messages in a row and took none", r.err)
        self.assertEqual(self.sql("SELECT DISTINCT status FROM leads"), [{"status": "active"}])
        self.assertEqual(set(self.states()), {"pending"})
        # The second run tried the three the first had not: six used one retry each, two
        # were never tried.
        self.assertEqual(self.sql("SELECT attempts, count(*) AS n FROM touches"
                                  " GROUP BY attempts ORDER BY attempts"),
                         [{"attempts": 0, "n": 2}, {"attempts": 1, "n": 6}])
        # Under cron's --quiet the stopping line alone is printed: it quotes the server.
        quiet = self.run_followup("--quiet", "send", now="2026-03-09T15:00:00Z")
        self.assertEqual(quiet.code, 1, quiet)
        self.assertRegex(quiet.err, r"stopped, the rest waits for the next run \(the last: .*550")

class BareRefusals(SendBase):
    server_options = dict(replies=[f"bad{i}@x.example=550/-" for i in range(3)])

    def bad_first(self, bad=1, good=2):
        self.import_csv([f"bad{i}@x.example,Bad,,Co,,,2026-03-06 18:30" for i in range(bad)]
                        + self.lead_rows(good))

    def status_of(self, email):
        return self.sql(f"SELECT status FROM leads WHERE email = '{email}'")[0]["status"]

    def test_a_bare_refusal_bounces_once_the_server_has_taken_a_message(self):
        # bad0 comes first: its refusal is judged after the others went through.
        self.bad_first()
        result = self.send()
        self.assertEqual((result["sent"], result["bounced"], result["retry"]), (2, 1, 0))
        self.assertEqual(self.status_of("bad0@x.example"), "bounced")

    def test_three_bad_addresses_first_cannot_stop_every_run(self):
        self.bad_first(bad=3, good=3)
        self.assertIn("3 messages in a row and took none", self.send(code=1).err)
        # Fifteen minutes on, the others go first; then the three are refused again,
        # by a server that takes mail: bounced.
        result = self.send("2026-03-09T13:25:00Z")
        self.assertEqual((result["sent"], result["bounced"]), (3, 3))

    def test_the_second_try_of_a_refused_one_keeps_to_the_limit(self):
        self.bad_first()
        result = self.send(NOW_RECAP, "--limit", "2")
        self.assertEqual((result["sent"], result["bounced"], result["retry"], result["deferred"]),
                         (2, 0, 1, 0))
        self.assertEqual(self.status_of("bad0@x.example"), "active")

    def test_a_server_that_takes_two_then_refuses_everyone_proves_nothing(self):
        # bad0..bad2 come after two good ones: refused after the server took mail, but
        # it took nothing after them.
        self.import_csv(self.lead_rows(2) + [f"bad{i}@x.example,Bad,,Co,,,2026-03-06 18:30"
                                             for i in range(3)])
        r = self.send(code=1)
        self.assertIn("refused or deferred 3 messages in a row:", r.err)
        self.assertEqual(self.sql("SELECT DISTINCT status FROM leads"), [{"status": "active"}])

    def test_a_bare_refusal_alone_is_retried_then_failed_never_bounced(self):
        self.bad_first(good=0)
        words = []
        for now in (NOW_RECAP, "2026-03-09T13:20:00Z", "2026-03-09T14:20:00Z",
                    "2026-03-09T18:20:00Z"):
            words += [line.split()[0] for line in self.ok("send", now=now).out.splitlines()
                      if "bad0@x.example: " in line]
        self.assertEqual(words, ["refused", "refused", "refused", "failed"])
        self.assertEqual(self.sql("SELECT t.state FROM touches t WHERE t.step = 'recap'"),
                         [{"state": "failed"}])
        self.assertEqual(self.status_of("bad0@x.example"), "active")


class DefersEveryone(SendBase):
    server_options = dict(replies=["*=451"])

    def test_deferrals_in_a_row_stop_the_run_and_use_up_no_retry(self):
        self.import_csv(self.lead_rows(8))
        r = self.send(code=1)
        self.assertIn("deferred 3 messages in a row", r.err)
        self.assertEqual(self.sql("SELECT max(attempts) AS n, count(retry_at) AS waiting"
                                  " FROM touches"), [{"n": 0, "waiting": 3}])


class ServerBusy(SendBase):
    """A 421 or a 4xx to MAIL FROM is the server's state, not a recipient's: the run
    stops on the first one, and no touch spends a retry on it."""
    server_options = dict(mail_replies=["*=421/4.7.0"])

    def test_a_421_to_mail_from_stops_the_run_and_uses_up_no_retry(self):
        self.import_csv(self.lead_rows(3))
        for now in (NOW_RECAP, "2026-03-09T18:00:00Z", "2026-03-10T13:00:00Z"):
            r = self.send(now, code=1)
            self.assertIn("closing the session", r.err)
        self.assertNothingMarked()
        self.assertEqual(self.server.connections(), 3)


class SenderRateLimited(SendBase):
    server_options = dict(mail_replies=["*=451/4.7.1"])

    def test_a_4xx_to_mail_from_stops_the_run_and_uses_up_no_retry(self):
        self.import_csv(self.lead_rows(3))
        r = self.send(NOW_RECAP, code=1)
        self.assertIn("refused sender", r.err)
        self.assertNothingMarked()
        self.assertEqual(self.server.connections(), 1)


class ClosingAtRcpt(SendBase):
    server_options = dict(replies=["*=421/4.3.2"])

    def test_a_421_to_rcpt_to_stops_the_run_and_uses_up_no_retry(self):
        self.import_csv(self.lead_rows(3))
        r = self.send(NOW_RECAP, code=1)
        self.assertIn("closing the session", r.err)
        self.assertNothingMarked()


class ServerStops(SendBase):
    server_options = dict(stop_after=2)

    def test_server_stopping_mid_run(self):
        self.import_csv(self.lead_rows(5))
        r = self.send(NOW_RECAP, code=1)
        self.assertIn("followup: ", r.err)
        delivered = self.server.messages()
        self.assertEqual(len(delivered), 2)
        spool = self.server.spool
        self.server.stop()
        again = TestSMTPServer(spool=spool).start()
        self.addCleanup(again.cleanup)
        self.use_server(again)
        # Later runs (after any retry backoff) deliver the rest, each exactly once.
        for now in ("2026-03-09T13:30:00Z", "2026-03-09T14:30:00Z", "2026-03-09T18:30:00Z"):
            self.run_followup("send", now=now)
        rcpts = [m.rcpt_tos[0] for m in again.messages()]
        self.assertEqual(len(rcpts), len(set(rcpts)))
        self.assertEqual(sorted(set(rcpts)), sorted(f"lead{i}@x.example" for i in range(5)))


class Killed(SendBase):
    server_options = dict(hang_after_data=60)

    def kill_mid_send(self):
        """Kills a send during its first transfer; returns a fresh server to go on with."""
        self.import_csv(self.lead_rows(3))
        proc = subprocess.Popen([BIN, "--now", NOW_RECAP, "send"], env=self.env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline and not any(e.get("event") == "data"
                                                 for e in self.server.events()):
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.assertIn("sending", self.states())
        self.server.stop()
        fresh = TestSMTPServer().start()
        self.addCleanup(fresh.cleanup)
        self.use_server(fresh)
        return fresh

    def test_sigkill_mid_send_leaves_in_doubt_never_resent(self):
        fresh = self.kill_mid_send()
        result = self.send("2026-03-09T13:10:00Z")
        self.assertEqual(result["sent"], 2)
        # The JSON counts the touch the dead run left, as the human line does.
        self.assertEqual(result["in_doubt"], 1)
        self.assertEqual(self.states().count("in_doubt"), 1)
        doubtful = self.sql("SELECT l.email FROM touches t JOIN leads l ON l.id = t.lead_id"
                            " WHERE t.state = 'in_doubt'")[0]["email"]
        self.assertNotIn(doubtful, [m.rcpt_tos[0] for m in fresh.messages()])
        due = self.ok("due", "--json", now="2026-03-09T13:10:00Z").json()
        self.assertIn("in_doubt", [d["state"] for d in due])
        touch = [d for d in due if d["state"] == "in_doubt"][0]["touch_id"]
        self.ok("resolve", str(touch), "sent", now="2026-03-09T13:11:00Z")
        self.assertNotIn("in_doubt", self.states())

    def test_the_touch_a_killed_send_left_can_be_seen_and_settled_without_a_send(self):
        self.kill_mid_send()
        with write_lock_held(self.db):      # an import, say: settled later, and no error
            r = self.ok("leads", now="2026-03-09T13:09:00Z")
        self.assertEqual(r.err, "")
        self.assertIn("sending", self.states())
        due = self.ok("due", "--json", now="2026-03-09T13:10:00Z").json()
        [doubt] = [d for d in due if d["state"] == "in_doubt"]
        pipeline = self.ok("pipeline", "--json", now="2026-03-09T13:10:00Z").json()
        self.assertEqual(pipeline["touches"]["in_doubt"], 1)
        self.ok("resolve", str(doubt["touch_id"]), "sent", now="2026-03-09T13:11:00Z")
        self.assertEqual(self.states().count("sent"), 1)
        self.assertNotIn("sending", self.states())

    def test_quiet_send_says_what_is_in_doubt_on_every_run(self):
        self.kill_mid_send()
        for now in ("2026-03-09T13:10:00Z", "2026-03-09T13:20:00Z"):
            r = self.ok("--quiet", "send", now=now)
            self.assertEqual(r.out, "")
            self.assertEqual(r.err.splitlines(), ["followup: send: 1 touch is in doubt:"
                                                  " see 'followup due' and 'followup resolve'"])
        touch = self.sql("SELECT id FROM touches WHERE state = 'in_doubt'")[0]["id"]
        self.ok("resolve", str(touch), "retry", now="2026-03-09T13:21:00Z")
        self.assertEqual(self.ok("--quiet", "send", now="2026-03-09T13:30:00Z").err, "")


    def test_a_lead_marked_lost_while_in_doubt_is_never_retried(self):
        fresh = self.kill_mid_send()
        self.send("2026-03-09T13:10:00Z")
        [doubt] = self.sql("SELECT t.id, l.email FROM touches t JOIN leads l"
                           " ON l.id = t.lead_id WHERE t.state = 'in_doubt'")
        self.ok("mark", doubt["email"], "lost", now="2026-03-09T13:11:00Z")
        r = self.ok("resolve", str(doubt["id"]), "retry", now="2026-03-09T13:12:00Z")
        self.assertIn("cancelled, not retried: its sequence has stopped", r.out)
        self.send("2026-03-09T13:20:00Z")
        self.send("2026-03-12T14:00:00Z")
        self.assertNotIn(doubt["email"], [m.rcpt_tos[0] for m in fresh.messages()])
        self.assertEqual(self.sql(f"SELECT state FROM touches WHERE id = {doubt['id']}"),
                         [{"state": "cancelled"}])
        self.assertNotIn(doubt["id"], [d["touch_id"] for d in self.ok(
            "due", "--json", now="2026-03-12T14:00:00Z").json()])


class Concurrent(SendBase):
    def test_send_while_another_sends_prints_its_json(self):
        self.import_csv(self.lead_rows(2))
        with open(os.path.realpath(self.db) + ".send-lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)     # what a running send holds
            r = self.run_followup("send", "--json", now=NOW_RECAP)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.json(), {"sent": 0, "failed": 0, "retry": 0, "bounced": 0,
                                    "deferred": 0, "in_doubt": 0, "held": 0, "busy": True})
        self.assertIn("another send is running", r.err)
        self.assertEqual(self.states(), ["pending", "pending"])
        self.assertNotIn("busy", self.send())

    def test_two_sends_at_once_deliver_each_message_once(self):
        self.import_csv(self.lead_rows(30))
        procs = [subprocess.Popen([BIN, "--now", NOW_RECAP, "send"], env=self.env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outputs = [p.communicate(timeout=120) for p in procs]
        self.assertEqual([p.returncode for p in procs], [0, 0], outputs)
        rcpts = [m.rcpt_tos[0] for m in self.server.messages()]
        self.assertEqual(len(rcpts), 30)
        self.assertEqual(len(set(rcpts)), 30)


class ConcurrentThroughASymlink(SendBase):
    """The lock is the store file's, not its path's: a second send that names the store
    through a symlink finds the first one still sending."""
    server_options = dict(slow_data_reply=5)

    def send_in_slow_data(self):
        """A send started, once the server is taking its time over its first message."""
        first = subprocess.Popen([BIN, "--now", NOW_RECAP, "send", "--json"], env=self.env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: first.poll() is None and (first.kill(), first.communicate()))
        deadline = time.monotonic() + 10
        while not any(e.get("reply") == "slow" for e in self.server.events()):
            self.assertLess(time.monotonic(), deadline, "the message never reached DATA")
            time.sleep(0.05)
        return first

    def test_a_send_through_a_symlink_to_the_store_is_busy(self):
        self.import_csv(self.lead_rows(1))
        os.mkdir(os.path.join(self.dir, "link"))
        link = os.path.join(self.dir, "link", "followup.db")
        os.symlink(self.db, link)
        first = self.send_in_slow_data()
        second = self.run_followup("send", "--json", now=NOW_RECAP,
                                   env=self.env(FOLLOWUP_DB=link))
        overlapped = first.poll() is None
        out, err = first.communicate(timeout=120)
        self.assertTrue(overlapped, "set-up: the first send ended before the second ran")
        self.assertEqual(second.code, 0, second)
        self.assertIs(second.json().get("busy"), True, second)
        self.assertIn("another send is running", second.err)
        self.assertEqual(first.returncode, 0, err)
        self.assertEqual(json.loads(out)["sent"], 1, out)
        self.assertEqual(self.states(), ["sent", "pending"])     # recap, then value
        self.assertEqual(len(self.server.messages()), 1)

    def test_a_touch_being_sent_is_not_taken_for_a_dead_runs(self):
        self.import_csv(self.lead_rows(1))
        first = self.send_in_slow_data()
        self.ok("pipeline", now=NOW_RECAP)          # settles dead runs' touches only
        during = self.states()
        overlapped = first.poll() is None
        out, err = first.communicate(timeout=120)
        self.assertTrue(overlapped, "set-up: the send ended before pipeline ran")
        self.assertEqual(during, ["sending"])
        self.assertEqual(json.loads(out)["sent"], 1, out)
        self.assertEqual(self.states(), ["sent", "pending"])


class Security(SendBase):
    server_options = dict(starttls=True, auth="rep:" + PASSWORD)

    def test_starttls_and_auth_deliver(self):
        self.import_csv(self.lead_rows(2))
        self.assertEqual(self.send()["sent"], 2)
        self.assertEqual(len(self.server.messages()), 2)

    def test_wrong_password_marks_nothing_and_never_prints_it(self):
        self.import_csv(self.lead_rows(2))
        wrong = "Wr0ng-Secret-XYZ"
        r = self.run_followup("--verbose", "send", now=NOW_RECAP,
                              env=self.env(FOLLOWUP_SMTP_PASSWORD=wrong))
        self.assertEqual(r.code, 1, r)
        self.assertNotIn(wrong, r.out + r.err)
        self.assertEqual(self.states(), ["pending", "pending"])
        self.assertEqual(self.server.messages(), [])
        with open(self.db, "rb") as f:
            self.assertNotIn(wrong.encode(), f.read())

    def send_trusting_as_system(self, ca):
        """followup send in a mount namespace of its own, where the system's CA directory
        (/etc/ssl/certs, libcurl's default CApath on Debian) holds ca alone, hashed as
        c_rehash would; skips when no mount namespace can be had here."""
        certs = os.path.join(self.dir, "system-certs")
        os.makedirs(certs, exist_ok=True)
        with open(ca, "rb") as src, open(os.path.join(certs, "server-ca.pem"), "wb") as dst:
            dst.write(src.read())
        subprocess.run(["openssl", "rehash", certs], check=True, capture_output=True)
        self.assertTrue(any(n.endswith(".0") for n in os.listdir(certs)), os.listdir(certs))
        unshare = ["unshare", "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            unshare.insert(1, "--map-root-user")
        mount = 'mount --bind "$1" /etc/ssl/certs && shift && exec "$@"'
        probe = subprocess.run(unshare + ["sh", "-c", mount, "sh", certs, "true"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            self.skipTest("cannot bind-mount over /etc/ssl/certs in a mount namespace: "
                          + (probe.stderr.strip() or f"exit {probe.returncode}"))
        proc = subprocess.run(unshare + ["sh", "-c", mount, "sh", certs] + VALGRIND
                              + [BIN, "--now", NOW_RECAP, "--verbose", "send"],
                              capture_output=True, text=True, env=self.env(), timeout=120)
        return Result(proc)

    def test_ca_file_is_the_only_trust_not_added_to_the_systems(self):
        # The admin pins a private CA that did not sign this server's certificate; the
        # system's store would trust the server. Only the pinned CA counts: refused.
        self.import_csv(self.lead_rows(2))
        # Its own subject: one the server's shares would hide the system's store (OpenSSL
        # looks no further once the loaded certificates hold an issuer by that name).
        pinned = os.path.join(self.dir, "pinned-ca.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                        os.path.join(self.dir, "pinned-ca.key"), "-out", pinned, "-days", "7",
                        "-subj", "/CN=Pinned private CA", "-addext",
                        "basicConstraints=critical,CA:TRUE"], check=True, capture_output=True)
        with open(self.config_path) as f:
            config = f.read()
        self.assertIn(self.server.ca_file, config)
        with open(self.config_path, "w") as f:
            f.write(config.replace(self.server.ca_file, pinned))
        r = self.send_trusting_as_system(self.server.ca_file)
        self.assertEqual(r.code, 1, r)
        self.assertIn("certificate", r.err.splitlines()[-1], r)
        self.assertEqual(self.server.messages(), [])
        self.assertNothingMarked()
        # Set-up check: the same namespace sends once ca_file is the server's CA.
        with open(self.config_path, "w") as f:
            f.write(config)
        r = self.send_trusting_as_system(self.server.ca_file)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(len(self.server.messages()), 2)


class NoStartTLS(SendBase):
    def test_server_without_starttls_is_refused(self):
        plain = self.server
        self.write_config(f"smtp:\n  url: {plain.url}\n  tls: required\n")
        self.import_csv(self.lead_rows(1))
        r = self.send(code=1)
        self.assertIn("followup: ", r.err)
        self.assertEqual(self.states(), ["pending"])
        self.assertEqual(plain.messages(), [])


class MaildirOutbox(FollowupTest):
    def test_init_config_sends_into_maildir(self):
        home_cfg = os.path.join(self.dir, "fresh", "config.yaml")
        env = self.env(FOLLOWUP_CONFIG=home_cfg, FOLLOWUP_DB=os.path.join(self.dir, "fresh.db"))
        r = self.run_followup("init", env=env)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(oct(os.stat(home_cfg).st_mode & 0o777), "0o600")
        self.assertEqual(oct(os.stat(os.path.join(self.dir, "fresh.db")).st_mode & 0o777), "0o600")
        r = self.run_followup("import", self.data("A_eventyay_style_leads.csv"), "--timezone", "UTC",
                              now="2025-03-06T15:00:00Z", env=env)
        self.assertEqual(r.code, 0, r)
        r = self.run_followup("send", now="2025-03-06T15:00:00Z", env=env)
        self.assertEqual(r.code, 0, r)
        self.assertIn("maildir", r.out)
        with open(home_cfg) as f:
            outbox = [l.split("maildir:", 1)[1].strip().strip('"') for l in f
                      if "maildir:" in l and not l.lstrip().startswith("#")][0]
        files = os.listdir(os.path.join(outbox, "new"))
        self.assertEqual(len(files), 3)
        self.assertEqual(os.listdir(os.path.join(outbox, "tmp")), [])

    def test_summary_names_the_maildir_one_way(self):
        self.ok("init")
        self.ok("import", self.data("A_eventyay_style_leads.csv"), "--timezone", "UTC",
                now="2025-03-06T15:00:00Z")
        where = f"via maildir {os.path.realpath(self.outbox)} ("
        dry = self.ok("send", "--dry-run", now="2025-03-06T15:00:00Z").out
        sent = self.ok("send", now="2025-03-06T15:00:00Z").out
        none = self.ok("send", now="2025-03-06T15:01:00Z").out
        self.assertIn("would send 3 messages " + where, dry)
        self.assertIn("sent 3 messages " + where, sent)
        self.assertIn("sent 0 messages " + where, none)


class TokenCommand(SendBase):
    """oauth2_token_cmd runs as the first message is about to go, and only then, with
    smtp.timeout to print the token and exit."""
    TOKEN = "ya29.Bearer-Token-XYZ"
    server_options = dict(starttls=True, xoauth2=TOKEN)

    def assertEnds(self, pid, msg):
        """The process is killed: gone, or a zombie no one reaped yet, within 5 s."""
        deadline = time.monotonic() + 5
        while os.path.exists(f"/proc/{pid}"):
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            self.assertLess(time.monotonic(), deadline, msg)
            time.sleep(0.05)

    def use_token_command(self, cmd, timeout=2):
        self.use_server(self.server, password_env=False,
                        extra=f"  oauth2_token_cmd: '{cmd}'\n  timeout: {timeout}\n")

    def test_it_runs_once_a_run_and_only_when_a_message_goes(self):
        runs = os.path.join(self.dir, "runs")
        self.use_token_command(f"echo run >> {runs}; echo {self.TOKEN}; echo second line")
        self.import_csv(self.lead_rows(2))
        for now in ("2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z"):   # none due; before 09:00
            r = self.run_followup("--quiet", "send", now=now)
            self.assertEqual((r.code, r.out, r.err), (0, "", ""), r)
        self.assertFalse(os.path.exists(runs))
        r = self.run_followup("--verbose", "send", "--json", now=NOW_RECAP)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.json()["sent"], 2)
        self.assertIn("AUTH XOAUTH2", r.err)
        blob = f"user=rep\x01auth=Bearer {self.TOKEN}\x01\x01".encode()
        for secret in (self.TOKEN, base64.b64encode(blob).decode()):
            self.assertNotIn(secret, r.out + r.err)
        self.assertEqual(len(self.server.messages()), 2)
        self.assertEqual(self.send(now=NOW_RECAP)["sent"], 0)        # nothing due again
        with open(runs) as f:
            self.assertEqual(f.read(), "run\n")

    def test_a_config_others_can_write_runs_no_command_and_sends_no_password(self):
        # Whoever can write the config picks the command send runs (as cron's user) and
        # the server the password goes to: a config writable by all, or by a group that
        # is not the user's own, stops the run first.
        ran = os.path.join(self.dir, "ran")
        self.use_token_command(f"touch {ran}; echo {self.TOKEN}")
        self.import_csv(self.lead_rows(1))
        other_group = 12345 if os.geteuid() == 0 else \
            next((g for g in os.getgroups() if g != os.getgid()), None)
        modes = [(0o666, None)] + ([(0o660, other_group)] if other_group is not None else [])
        for mode, group in modes:
            if group is not None:
                os.chown(self.config_path, -1, group)
            os.chmod(self.config_path, mode)
            r = self.run_followup("--quiet", "send", now=NOW_RECAP)
            self.assertEqual(r.code, 1, r)
            self.assertIn(f"followup: {self.config_path}: ", r.err)
            self.assertIn("chmod go-w", r.err)
            self.assertFalse(os.path.exists(ran))
            self.assertNothingMarked()
            self.assertEqual(self.server.connections(), 0)
        os.chown(self.config_path, -1, os.getgid())
        os.chmod(self.config_path, 0o664)       # the user's own group: theirs
        self.assertEqual(self.send()["sent"], 1)
        self.assertTrue(os.path.exists(ran))

    def test_one_that_hangs_is_killed_at_smtp_timeout_with_its_children(self):
        child = os.path.join(self.dir, "child")
        cmd = f"sleep 30 & echo $! > {child}; wait; echo {self.TOKEN}"
        self.use_token_command(cmd, timeout=1)
        self.import_csv(self.lead_rows(2))
        started = time.monotonic()
        r = self.run_followup("--quiet", "send", now=NOW_RECAP, timeout=25)
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        self.assertEqual(r.err, f"followup: smtp.oauth2_token_cmd: '{cmd}' did not finish"
                                " within 1 s (smtp.timeout): killed, nothing sent\n")
        self.assertNothingMarked()
        self.assertEqual(self.server.connections(), 0)
        with open(child) as f:
            pid = int(f.read())
        self.assertEnds(pid, "the helper's child still runs")

    def test_one_running_when_send_is_ended_ends_with_it(self):
        child = os.path.join(self.dir, "child")
        cmd = f"sleep 300 & echo $! > {child}; wait; echo {self.TOKEN}"
        self.use_token_command(cmd, timeout=60)
        self.import_csv(self.lead_rows(1))
        send = subprocess.Popen([BIN, "--now", NOW_RECAP, "send"], env=self.env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: send.poll() is None and (send.kill(), send.wait()))
        deadline = time.monotonic() + 10
        while not (os.path.exists(child) and open(child).read().endswith("\n")):
            self.assertLess(time.monotonic(), deadline, "the helper never started")
            time.sleep(0.02)
        with open(child) as f:
            pid = int(f.read())
        send.send_signal(signal.SIGTERM)
        self.assertEqual(send.wait(timeout=10), -signal.SIGTERM)
        self.assertEnds(pid, "the helper outlived the send")

    def test_one_that_fails_or_prints_nothing_stops_the_run_and_marks_nothing(self):
        self.import_csv(self.lead_rows(1))
        for cmd, why in (("echo oops >&2; exit 3", "failed (exit status 3): no token"),
                         ("true", "printed no token"),
                         ("kill -9 $$", "was killed by signal 9")):
            self.use_token_command(cmd)
            r = self.run_followup("--quiet", "send", now=NOW_RECAP)
            self.assertEqual(r.code, 1, r)
            self.assertIn(f"followup: smtp.oauth2_token_cmd: '{cmd}' {why}", r.err)
            self.assertNothingMarked()
        self.assertEqual(self.server.connections(), 0)


class ResettingRelay:
    """A TCP relay to a server. When the server's side ends, it keeps the client's
    side open and resets it at the client's next command (at once if the client waits
    for a reply): the client finds the connection alive when it reuses it, as when the
    server dies just after a reply or a middlebox hides the close, and learns otherwise
    only from what it sends next."""

    def __init__(self, port):
        self.port = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = "smtp://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.ca_file = None
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client):
        try:
            server = socket.create_connection(("127.0.0.1", self.port))
        except OSError:
            server = None
        # One thread per connection, no blocking call on a socket another thread closes:
        # Linux sends the reset only once the last call on it returns.
        waiting = gone = False
        with client:
            while server is not None:
                readable, _, _ = select.select([client] if gone else [client, server],
                                               [], [])
                if server in readable and not gone:
                    try:
                        data = server.recv(65536)
                    except OSError:
                        data = b""
                    if data:
                        waiting = False
                        client.sendall(data)
                        continue
                    gone = True
                    server.close()
                    if waiting:
                        break
                    continue
                try:
                    data = client.recv(65536)
                except OSError:
                    data = b""
                if not data:            # the client hung up: nothing to reset
                    if not gone:
                        server.close()
                    return
                if gone:
                    break
                waiting = True
                try:
                    server.sendall(data)
                except OSError:
                    gone = True
                    server.close()
                    break
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class ResetAtMailFrom(SendBase):
    """The server dies after two messages (--stop-after 2) and the connection is reset
    at the third one's MAIL FROM: a lost connection, not a refused sender; nothing of
    the message was sent, so the run stops with nothing marked, as when the server is
    down. (Straight to the server, libcurl mostly sees the connection closed before it
    reuses it; the relay makes the reset come at MAIL FROM every time.)"""
    server_options = dict(stop_after=2)

    def test_a_reset_at_mail_from_is_a_lost_connection_and_marks_nothing(self):
        relay = ResettingRelay(self.server.port)
        self.addCleanup(relay.close)
        self.use_server(relay)
        self.import_csv(self.lead_rows(5))
        r = self.run_followup("--verbose", "send", now=NOW_RECAP)
        self.assertEqual(r.code, 1, r)
        self.assertIn("> MAIL FROM:", r.err)
        last = r.err.splitlines()[-1]
        self.assertRegex(last, r"^followup: the connection to smtp://127\.0\.0\.1:\d+ was lost"
                         r" \(.+\) before the message to 'lead\d@x\.example' was sent:"
                         r" stopped, nothing marked$")
        self.assertNotIn("refused", last)
        self.assertEqual(len(self.server.messages()), 2)
        recaps = self.sql("SELECT state, attempts, retry_at FROM touches WHERE step = 'recap'"
                          " ORDER BY id")
        self.assertEqual(sorted(t["state"] for t in recaps), ["pending"] * 3 + ["sent"] * 2)
        self.assertEqual([(t["attempts"], t["retry_at"]) for t in recaps
                          if t["state"] == "pending"], [(0, None)] * 3)
        # The next run, the server back, sends the other three at once: no backoff to wait.
        spool = self.server.spool
        self.server.stop()
        again = TestSMTPServer(spool=spool).start()
        self.addCleanup(again.cleanup)
        self.use_server(again)
        self.assertEqual(self.send("2026-03-09T13:06:00Z")["sent"], 3)
        rcpts = sorted(m.rcpt_tos[0] for m in self.server.messages())
        self.assertEqual(rcpts, sorted(f"lead{i}@x.example" for i in range(5)))


# --- send --check ---------------------------------------------------------------------------

CHECK_OK = (r"^smtp://127\.0\.0\.1:\d+: connected, STARTTLS, certificate ok, logged in as rep:"
            r" ready to send\n$")


class CheckBase(SendBase):
    """send --check before the first cron run: it logs in and out, and changes nothing."""

    def touches(self):
        return self.sql("SELECT * FROM touches ORDER BY id")

    def check(self, *args, code=0, env=None):
        r = self.run_followup("send", "--check", *args, now=NOW_RECAP, env=env)
        self.assertEqual(r.code, code, r)
        return r


class Check(CheckBase):
    server_options = dict(starttls=True, auth="rep:" + PASSWORD)

    def test_a_good_login_says_so_and_sends_nothing(self):
        self.import_csv(self.lead_rows(2))
        due = self.touches()
        r = self.check()
        self.assertRegex(r.out, CHECK_OK)
        self.assertEqual(r.err, "")
        self.assertNotIn(PASSWORD, r.out)
        self.assertEqual(self.server.connections(), 1)
        self.assertEqual(self.server.messages(), [])
        self.assertEqual(self.touches(), due)       # due now, and left due
        self.assertEqual(self.send()["sent"], 2)

    def test_json_and_quiet(self):
        r = self.check("--json")
        self.assertEqual(r.json(), {"ok": True, "url": self.server.url, "tls": "starttls",
                                    "certificate": True, "auth": "PLAIN", "username": "rep"})
        r = self.run_followup("--quiet", "send", "--check")
        self.assertEqual((r.code, r.out, r.err), (0, "", ""), r)

    def test_a_wrong_password_fails_with_the_servers_reason_and_changes_nothing(self):
        self.import_csv(self.lead_rows(2))
        due = self.touches()
        wrong = "Wr0ng-Secret-XYZ"
        r = self.run_followup("--verbose", "send", "--check", now=NOW_RECAP,
                              env=self.env(FOLLOWUP_SMTP_PASSWORD=wrong))
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        last = r.err.splitlines()[-1]
        self.assertRegex(last, r"^followup: authentication failed at smtp://127\.0\.0\.1:\d+:"
                         r" .*\(server said: 535 ")
        self.assertIn("> AUTH PLAIN", r.err)        # the dialogue, masked
        self.assertIn("> [masked]", r.err)
        for secret in (wrong, base64.b64encode(f"\0rep\0{wrong}".encode()).decode()):
            self.assertNotIn(secret, r.out + r.err)
        self.assertEqual(self.server.messages(), [])
        self.assertEqual(self.touches(), due)
        r = self.check("--json", code=1, env=self.env(FOLLOWUP_SMTP_PASSWORD=wrong))
        self.assertFalse(r.json()["ok"])
        self.assertIn("535", r.json()["error"])
        self.assertEqual(len(r.err.splitlines()), 1, r)

    def test_it_needs_no_store_and_waits_for_no_lock(self):
        os.remove(self.db)
        self.ok("send", "--check")
        self.assertFalse(os.path.exists(self.db))   # nor makes one
        self.ok("init")
        self.import_csv(self.lead_rows(1))
        # A writer holding the store (an import, a send) cannot keep the check waiting.
        with write_lock_held(self.db):
            self.assertRegex(self.check().out, CHECK_OK)

    def test_the_refusals_of_a_send(self):
        cron = self.env()
        del cron["FOLLOWUP_SMTP_PASSWORD"]
        r = self.check(code=1, env=cron)
        self.assertIn(f"{self.config_path}: smtp.password_env: $FOLLOWUP_SMTP_PASSWORD"
                      " is not set", r.err)
        os.chmod(self.config_path, 0o666)
        r = self.check(code=1)
        self.assertIn("anyone can write it", r.err)
        os.chmod(self.config_path, 0o600)
        self.assertEqual(self.server.connections(), 0)

    def test_a_login_from_netrc_and_a_netrc_without_the_host(self):
        self.write_config(f"smtp:\n  url: {self.server.url}\n  ca_file: {self.server.ca_file}\n"
                          "  netrc: true\n")
        netrc = os.path.join(self.dir, ".netrc")
        with open(netrc, "w") as f:
            f.write("machine mail.elsewhere.example login rep password x\n")
        os.chmod(netrc, 0o600)
        r = self.check(code=1)
        self.assertIn("offers AUTH, but there was no login to give it: ~/.netrc has no"
                      " entry for its host", r.err)
        with open(netrc, "w") as f:
            f.write(f"machine 127.0.0.1 login rep password {PASSWORD}\n")
        r = self.check()
        self.assertIn(", logged in with the login in ~/.netrc: ready to send", r.out)

    def test_with_dry_run_or_limit_it_is_a_usage_error(self):
        for extra in (["--dry-run"], ["--limit", "5"]):
            r = self.fails(2, "send", "--check", *extra)
            self.assertIn("--check sends nothing", r.err)
        self.assertEqual(self.server.connections(), 0)


class CheckToken(CheckBase):
    TOKEN = "ya29.Bearer-Token-XYZ"
    server_options = dict(starttls=True, xoauth2=TOKEN)

    def test_it_runs_the_token_command_and_logs_in_with_xoauth2(self):
        self.use_server(self.server, password_env=False,
                        extra=f"  oauth2_token_cmd: 'echo {self.TOKEN}'\n")
        r = self.check("--json")
        self.assertEqual(r.json()["auth"], "XOAUTH2", r)
        self.assertNotIn(self.TOKEN, r.out + r.err)
        self.assertEqual(self.server.messages(), [])


class CheckPlain(CheckBase):
    """A server without STARTTLS (nor AUTH)."""

    def test_tls_required_is_refused_without_starttls(self):
        self.write_config(f"smtp:\n  url: {self.server.url}\n  tls: required\n")
        r = self.fails(1, "send", "--check")
        self.assertRegex(r.err, r"^followup: smtp://127\.0\.0\.1:\d+ does not offer STARTTLS:"
                         r" refusing to send without TLS\n$")

    def test_tls_none_is_refused_to_a_host_that_is_not_loopback(self):
        self.check()                                # loopback: fine
        # TEST-NET-1: refused with the config, before anything connects, as for a send.
        self.write_config("smtp:\n  url: smtp://192.0.2.1:2525\n  tls: none\n")
        r = self.fails(2, "send", "--check")
        self.assertIn("'tls: none' is allowed only for a loopback host", r.err)
        self.assertIn("not '192.0.2.1'", r.err)

    def test_tls_none_on_loopback_without_a_login(self):
        r = self.check()
        self.assertRegex(r.out, r"^smtp://127\.0\.0\.1:\d+: connected, no TLS \(tls: none,"
                         r" loopback\), no login \(none configured\): ready to send\n$")

    def scripted_server(self, replies):
        """A one-connection server that answers each command by its first word."""
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)

        def serve():
            conn, _ = listener.accept()
            with conn, conn.makefile("rb") as lines:
                conn.sendall(b"220 scripted\r\n")
                for line in lines:
                    word = line.split()[0].upper().decode() if line.strip() else ""
                    conn.sendall(replies.get(word, b"500 what\r\n"))
                    if word == "QUIT":
                        break
        threading.Thread(target=serve, daemon=True).start()
        return listener.getsockname()[1]

    def test_a_server_that_refuses_noop_is_still_ready(self):
        # NOOP is the check's own: what a send needs (the session) went through before it.
        port = self.scripted_server({"EHLO": b"250 scripted\r\n", "NOOP": b"502 no\r\n",
                                     "QUIT": b"221 bye\r\n"})
        self.write_config(f"smtp: {{ url: 'smtp://127.0.0.1:{port}', tls: none }}\n")
        r = self.check()
        self.assertIn("no login (none configured): ready to send", r.out)

    def test_a_server_that_closes_the_session_fails(self):
        closing = b"421 4.3.2 shutting down\r\n"
        port = self.scripted_server({"EHLO": closing, "HELO": closing})
        self.write_config(f"smtp: {{ url: 'smtp://127.0.0.1:{port}', tls: none }}\n")
        r = self.fails(1, "send", "--check")
        self.assertRegex(r.err, r"^followup: smtp://127\.0\.0\.1:\d+ is closing the session"
                         r" \(server said: 421 4\.3\.2 shutting down\)\n$")

    def test_a_login_the_server_offers_no_auth_for_is_a_failure(self):
        self.write_config(f"smtp:\n  url: {self.server.url}\n  tls: none\n  username: rep\n"
                          "  password_env: FOLLOWUP_SMTP_PASSWORD\n")
        r = self.fails(1, "send", "--check")
        self.assertIn("offers no AUTH, so the configured login cannot be used", r.err)
        self.assertNotIn(PASSWORD, r.out + r.err)


class CheckMaildir(FollowupTest):
    def maildir_files(self):
        return sorted(os.path.relpath(os.path.join(d, f), self.outbox)
                      for d, _, files in os.walk(self.outbox) for f in files)

    def test_a_maildir_not_there_yet_is_not_made(self):
        r = self.ok("send", "--check")
        self.assertEqual(r.out, f"maildir:{self.outbox}: not there yet, and can be made:"
                                " ready to send\n")
        self.assertFalse(os.path.exists(self.outbox))

    def test_an_existing_maildir_is_written_and_left_as_it_was(self):
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.outbox, sub))
        r = self.ok("send", "--check", "--json")
        self.assertEqual(r.json(), {"ok": True, "url": f"maildir:{self.outbox}",
                                    "maildir_exists": True})
        self.assertEqual(self.maildir_files(), [])

    def test_a_maildir_that_cannot_be_written_fails(self):
        with open(self.outbox, "w") as f:          # a file where the Maildir should be
            f.write("not a directory\n")
        r = self.fails(1, "send", "--check")
        self.assertEqual(r.err, f"followup: cannot use maildir '{self.outbox}': Not a"
                                " directory\n")
        os.remove(self.outbox)
        if os.geteuid() == 0:
            self.skipTest("root writes into a read-only directory")
        os.makedirs(os.path.join(self.outbox, "tmp"))
        os.chmod(os.path.join(self.outbox, "tmp"), 0o500)
        r = self.fails(1, "send", "--check")
        self.assertIn("Permission denied", r.err)
