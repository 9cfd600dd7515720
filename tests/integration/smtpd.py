#!/usr/bin/python3
"""smtpd.py - a scriptable SMTP server for followup's tests (built on aiosmtpd).

Run it with Debian's /usr/bin/python3 (it has python3-aiosmtpd).

As a script, from any test harness (C unit tests use this form):

    /usr/bin/python3 tests/integration/smtpd.py --port-file F --spool DIR [options]

It prints nothing, listens on 127.0.0.1 on a port it picks itself, writes that
port to F (atomically) once listening, and runs until SIGTERM or SIGINT.

From Python unittest:

    from smtpd import TestSMTPServer
    with TestSMTPServer(starttls=True, auth="user:secret") as server:
        ... run followup against server.url with ca_file=server.ca_file ...
        msgs = server.wait_for_messages(1)
        self.assertEqual(msgs[0].rcpt_tos, ["lead@example.com"])

Options (see --help):
  --starttls CERT KEY   offer STARTTLS and require it before AUTH and MAIL
  --no-starttls         do not offer STARTTLS (the default)
  --tls CERT KEY        implicit TLS from the first byte (smtps)
  --auth USER:PASS      require AUTH PLAIN or LOGIN with these credentials
  --xoauth2 TOKEN       require AUTH XOAUTH2 with this bearer token
  --reply RULE          scripted reply to RCPT TO; RULE is ADDR=CODE[/ENH][xCOUNT]:
                        ADDR=451x1 answers 451 once, then accepts; ADDR=550
                        answers 550 every time; ADDR may be * for everyone;
                        /ENH gives the enhanced code (550/5.7.26), else 4.3.0
                        or 5.1.1; /- gives none (550 relaying denied, as exim
                        and qmail say it)
  --data-reply RULE     the same, as the reply to the end of DATA
  --mail-reply RULE     the same, as the reply to MAIL FROM (ADDR the sender)
  --drop-after-data N   for the first N messages, read the whole DATA, then
                        close the connection without replying
  --drop-after-data-for ADDR
                        the same, every time a message is for ADDR
  --hang-after-data S   read DATA, then wait S seconds without replying, then close
  --slow-data-reply S   read DATA, then wait S seconds before the reply
  --stop-after N        exit after accepting N messages (a server dying mid-run)
  --make-cert DIR       write DIR/cert.pem and DIR/key.pem (self-signed for
                        localhost and 127.0.0.1) and exit

The spool directory holds, for every accepted message:
  NNNNNN.eml   the message bytes exactly as received (after SMTP dot-unstuffing)
  NNNNNN.json  its envelope: {"mail_from", "rcpt_tos", "connection", "tls", "auth"}
and, for the whole run:
  connections  the number of connections accepted so far (one integer)
  events.jsonl one JSON object per line: connect, rcpt, data and their replies
The .json is written before the .eml and both are renamed into place, so a
reader that sees NNNNNN.eml can read both.
"""

import argparse
import asyncio
import base64
import binascii
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import warnings

PYTHON = "/usr/bin/python3"
SCRIPT = os.path.abspath(__file__)
HOST = "127.0.0.1"


def make_self_signed_cert(directory):
    """Writes cert.pem and key.pem (valid for localhost and 127.0.0.1) into
    directory with the openssl CLI; returns (cert_path, key_path). The cert is
    its own CA: give cert_path to the client as its CA file."""
    os.makedirs(directory, exist_ok=True)
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec",
         "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", cert, "-days", "7", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


class Rule:
    """A scripted reply: ADDR=CODE[xCOUNT]. COUNT None means every time."""

    SYNTAX = re.compile(r"^(?P<addr>[^=]+)=(?P<code>[45]\d\d)"
                        r"(?:/(?P<enhanced>[45]\.\d{1,3}\.\d{1,3}|-))?(?:x(?P<count>\d+))?$")

    def __init__(self, text):
        m = self.SYNTAX.match(text)
        if not m:
            raise argparse.ArgumentTypeError(
                f"bad rule {text!r}: expected ADDR=CODE[/ENHANCED][xCOUNT]")
        self.addr = m.group("addr").strip().lower()
        self.code = int(m.group("code"))
        self.enhanced = m.group("enhanced")
        self.remaining = int(m.group("count")) if m.group("count") else None

    def applies(self, addresses):
        if self.remaining == 0:
            return False
        return self.addr == "*" or self.addr in (a.lower() for a in addresses)

    def fire(self):
        """Returns the reply line and uses up one of the rule's answers."""
        if self.remaining is not None:
            self.remaining -= 1
        if self.enhanced == "-":
            return f"{self.code} relaying denied (scripted)"
        if self.enhanced:
            return f"{self.code} {self.enhanced} refused (scripted)"
        if self.code // 100 == 4:
            return f"{self.code} 4.3.0 try again later (scripted)"
        return f"{self.code} 5.1.1 mailbox unavailable (scripted)"


class Spool:
    """Writes accepted messages, the connection counter and the event log."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        existing = [int(n[:-4]) for n in os.listdir(directory)
                    if n.endswith(".eml") and n[:-4].isdigit()]
        self.next_number = max(existing, default=0) + 1
        self.connections = 0
        self.accepted = 0

    def _write_atomically(self, name, data):
        tmp = os.path.join(self.dir, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.dir, name))

    def count_connection(self):
        self.connections += 1
        self._write_atomically("connections", b"%d\n" % self.connections)
        return self.connections

    def event(self, **fields):
        fields["time"] = time.time()
        with open(os.path.join(self.dir, "events.jsonl"), "a") as f:
            f.write(json.dumps(fields) + "\n")

    def store(self, envelope_info, content):
        name = "%06d" % self.next_number
        self.next_number += 1
        self._write_atomically(name + ".json",
                               json.dumps(envelope_info, indent=1).encode())
        self._write_atomically(name + ".eml", content)
        self.accepted += 1
        return name


class Handler:
    """aiosmtpd handler: scripted replies, faults and the spool."""

    def __init__(self, args, spool, stopped):
        self.args = args
        self.spool = spool
        self.stopped = stopped
        self.listener = None      # the asyncio server, once listening
        self.sessions = set()     # open connections (SMTP protocol objects)
        self.rcpt_rules = list(args.reply)
        self.data_rules = list(args.data_reply)
        self.mail_rules = list(args.mail_reply)
        self.drops_left = args.drop_after_data
        self.drop_for = {a.lower() for a in args.drop_after_data_for}

    def scripted_reply(self, rules, event, session, address):
        """The reply of the first rule for address (logged), or None."""
        for rule in rules:
            if rule.applies([address]):
                reply = rule.fire()
                self.spool.event(event=event, connection=session.number,
                                 address=address, reply=reply)
                return reply
        return None

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = self.scripted_reply(self.mail_rules, "mail", session, address)
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.scripted_reply(self.rcpt_rules, "rcpt", session, address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        self.spool.event(event="rcpt", connection=session.number,
                         address=address, reply="250")
        return "250 OK"

    async def _never_reply(self, server, session, what, seconds=None):
        """Closes the connection without a reply (after seconds, if given) and
        waits to be cancelled: aiosmtpd cancels this coroutine when the
        connection is lost, so no reply is ever pushed."""
        self.spool.event(event="data", connection=session.number, reply=what)
        if seconds:
            await asyncio.sleep(seconds)
        if server.transport is not None:
            server.transport.close()
        await asyncio.Event().wait()

    async def handle_DATA(self, server, session, envelope):
        rcpts = [a.lower() for a in envelope.rcpt_tos]
        if self.args.hang_after_data:
            await self._never_reply(server, session, "hang",
                                    self.args.hang_after_data)
        if self.drops_left > 0 or self.drop_for.intersection(rcpts):
            if self.drops_left > 0:
                self.drops_left -= 1
            await self._never_reply(server, session, "drop")
        if self.args.slow_data_reply:
            self.spool.event(event="data", connection=session.number, reply="slow")
            await asyncio.sleep(self.args.slow_data_reply)
        for rule in self.data_rules:
            if rule.applies(envelope.rcpt_tos):
                reply = rule.fire()
                self.spool.event(event="data", connection=session.number,
                                 reply=reply)
                return reply
        info = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "connection": session.number,
            "tls": session.ssl is not None or self.args.tls is not None,
            "auth": session.authenticated or False,
        }
        name = self.spool.store(info, envelope.original_content)
        self.spool.event(event="data", connection=session.number,
                         reply="250", file=name + ".eml")
        reply = "250 2.0.0 OK queued as " + name
        if self.args.stop_after and self.spool.accepted >= self.args.stop_after:
            await server.push(reply)
            self.die()
            await asyncio.Event().wait()  # cancelled as the connection goes
        return reply

    def die(self):
        """Stops like a crashed server: no new connections, open ones cut."""
        if self.listener is not None:
            self.listener.close()
        for smtp in list(self.sessions):
            if smtp.transport is not None:
                smtp.transport.abort()
        self.stopped.set()

    async def auth_XOAUTH2(self, server, args):
        """SASL XOAUTH2: base64("user=U\\x01auth=Bearer TOKEN\\x01\\x01")."""
        from aiosmtpd.smtp import AuthResult, MISSING
        if not self.args.xoauth2:
            return AuthResult(success=False, handled=False)
        if len(args) == 2:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return AuthResult(success=False, handled=False)
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if blob is MISSING:
                return AuthResult(success=False, handled=False)
        fields = dict(part.split("=", 1) for part in
                      blob.decode("utf-8", "replace").split("\x01") if "=" in part)
        if fields.get("auth") == "Bearer " + self.args.xoauth2:
            return AuthResult(success=True, auth_data=fields.get("user"))
        return AuthResult(success=False, handled=False)


def make_authenticator(credentials):
    from aiosmtpd.smtp import AuthResult
    user, _, password = (credentials or "").partition(":")

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (credentials is not None and mechanism in ("PLAIN", "LOGIN")
              and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        # handled=False makes aiosmtpd answer 535 itself.
        return AuthResult(success=ok, handled=False,
                          auth_data=auth_data.login if ok else None)
    return authenticate


def server_tls_context(cert, key):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def make_protocol_factory(args, handler, spool):
    from aiosmtpd.smtp import SMTP

    class CountingSMTP(SMTP):
        """Numbers each connection and records it in the spool."""

        def connection_made(self, transport):
            # STARTTLS calls connection_made again on the same connection
            # (with a fresh session): keep its number rather than count it.
            upgrading = self._original_transport is not None
            number = self.session.number if upgrading else None
            super().connection_made(transport)
            if not upgrading:
                number = spool.count_connection()
                spool.event(event="connect", connection=number)
                handler.sessions.add(self)
            self.session.number = number

        def connection_lost(self, error):
            handler.sessions.discard(self)
            super().connection_lost(error)

    starttls = args.starttls is not None
    wants_auth = bool(args.auth or args.xoauth2)
    excluded = [] if args.auth else ["PLAIN", "LOGIN"]
    if not args.xoauth2:
        excluded.append("XOAUTH2")
    kwargs = dict(
        hostname="smtpd.test",
        auth_required=wants_auth,
        # AUTH only after STARTTLS when STARTTLS is offered; implicit TLS and
        # plain loopback servers advertise AUTH right away.
        auth_require_tls=starttls or not wants_auth,
        authenticator=make_authenticator(args.auth),
        auth_exclude_mechanism=excluded,
        timeout=60,
    )
    if starttls:
        kwargs["tls_context"] = server_tls_context(*args.starttls)
        kwargs["require_starttls"] = True

    def factory():
        return CountingSMTP(handler, **kwargs)
    return factory


async def serve(args):
    loop = asyncio.get_running_loop()
    spool = Spool(args.spool)
    stopped = asyncio.Event()
    handler = Handler(args, spool, stopped)
    implicit_tls = server_tls_context(*args.tls) if args.tls else None
    server = await loop.create_server(make_protocol_factory(args, handler, spool),
                                      host=HOST, port=0, ssl=implicit_tls)
    handler.listener = server
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    await stopped.wait()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # A late SIGTERM (the harness stopping a server that already died of
        # --stop-after) must not hit the closing event loop's wakeup pipe.
        loop.remove_signal_handler(sig)
        signal.signal(sig, signal.SIG_DFL)
    server.close()


def parse_args(argv):
    p = argparse.ArgumentParser(description="scriptable SMTP server for tests")
    p.add_argument("--port-file", help="write the listening port here")
    p.add_argument("--spool", help="directory for accepted messages")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    tls.add_argument("--no-starttls", action="store_true")
    tls.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"),
                     help="implicit TLS (smtps)")
    p.add_argument("--auth", metavar="USER:PASS")
    p.add_argument("--xoauth2", metavar="TOKEN")
    p.add_argument("--reply", type=Rule, action="append", default=[],
                   metavar="ADDR=CODE[xN]")
    p.add_argument("--data-reply", type=Rule, action="append", default=[],
                   metavar="ADDR=CODE[xN]")
    p.add_argument("--mail-reply", type=Rule, action="append", default=[],
                   metavar="RULE", help="scripted reply to MAIL FROM (see above)")
    p.add_argument("--drop-after-data", type=int, default=0, metavar="N")
    p.add_argument("--drop-after-data-for", action="append", default=[],
                   metavar="ADDR")
    p.add_argument("--hang-after-data", type=float, default=0, metavar="SECONDS")
    p.add_argument("--slow-data-reply", type=float, default=0, metavar="SECONDS")
    p.add_argument("--stop-after", type=int, default=0, metavar="N")
    p.add_argument("--make-cert", metavar="DIR")
    p.add_argument("--verbose", action="store_true",
                   help="log the SMTP dialogue to stderr (debugging only)")
    args = p.parse_args(argv)
    if not args.make_cert and not (args.port_file and args.spool):
        p.error("--port-file and --spool are required")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.make_cert:
        make_self_signed_cert(args.make_cert)
        return 0
    import logging
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL,
                        stream=sys.stderr)
    asyncio.run(serve(args))
    return 0


class StoredMessage:
    """One accepted message: .data (bytes), .mail_from, .rcpt_tos, .info."""

    def __init__(self, eml_path):
        self.path = eml_path
        with open(eml_path, "rb") as f:
            self.data = f.read()
        with open(eml_path[:-4] + ".json") as f:
            self.info = json.load(f)
        self.mail_from = self.info["mail_from"]
        self.rcpt_tos = self.info["rcpt_tos"]

    def __repr__(self):
        return f"<StoredMessage {os.path.basename(self.path)} to {self.rcpt_tos}>"


class TestSMTPServer:
    """Runs smtpd.py as a subprocess on its own port (safe in parallel tests).

    Keyword arguments mirror the script's options: starttls=True (a cert is
    made in a temp dir unless cert=(CERT, KEY) is given), tls=True (smtps),
    auth="user:pass", xoauth2="token", replies=["a@x=451x1"],
    data_replies=[...], mail_replies=[...], drop_after_data=N, drop_after_data_for=["a@x"],
    hang_after_data=SECONDS, slow_data_reply=SECONDS, stop_after=N.
    After start(): .port, .url ("smtp://127.0.0.1:PORT" or smtps://),
    .ca_file (the cert, for the client's ca_file) and .spool.
    """

    __test__ = False  # not a test case, whatever collectors think of the name

    def __init__(self, spool=None, *, starttls=False, tls=False, cert=None,
                 auth=None, xoauth2=None, replies=(), data_replies=(), mail_replies=(),
                 drop_after_data=0, drop_after_data_for=(), hang_after_data=0,
                 slow_data_reply=0, stop_after=0, verbose=False, start_timeout=15):
        self._tmp = tempfile.mkdtemp(prefix="followup-smtpd-")
        self.spool = spool or os.path.join(self._tmp, "spool")
        self.starttls, self.tls = starttls, tls
        self.cert = cert
        self.options = dict(auth=auth, xoauth2=xoauth2, replies=list(replies),
                            data_replies=list(data_replies),
                            mail_replies=list(mail_replies),
                            drop_after_data=drop_after_data,
                            drop_after_data_for=list(drop_after_data_for),
                            hang_after_data=hang_after_data,
                            slow_data_reply=slow_data_reply,
                            stop_after=stop_after, verbose=verbose)
        self.start_timeout = start_timeout
        self.process = None
        self.port = None
        self.ca_file = None

    def command(self, port_file):
        o = self.options
        cmd = [PYTHON, SCRIPT, "--port-file", port_file, "--spool", self.spool]
        if self.starttls or self.tls:
            if not self.cert:
                self.cert = make_self_signed_cert(os.path.join(self._tmp, "tls"))
            self.ca_file = self.cert[0]
            cmd += ["--tls" if self.tls else "--starttls", *self.cert]
        if o["auth"]:
            cmd += ["--auth", o["auth"]]
        if o["xoauth2"]:
            cmd += ["--xoauth2", o["xoauth2"]]
        for rule in o["replies"]:
            cmd += ["--reply", rule]
        for rule in o["data_replies"]:
            cmd += ["--data-reply", rule]
        for rule in o["mail_replies"]:
            cmd += ["--mail-reply", rule]
        if o["drop_after_data"]:
            cmd += ["--drop-after-data", str(o["drop_after_data"])]
        for addr in o["drop_after_data_for"]:
            cmd += ["--drop-after-data-for", addr]
        if o["hang_after_data"]:
            cmd += ["--hang-after-data", str(o["hang_after_data"])]
        if o["slow_data_reply"]:
            cmd += ["--slow-data-reply", str(o["slow_data_reply"])]
        if o["stop_after"]:
            cmd += ["--stop-after", str(o["stop_after"])]
        if o["verbose"]:
            cmd.append("--verbose")
        return cmd

    @property
    def url(self):
        return "%s://%s:%d" % ("smtps" if self.tls else "smtp", HOST, self.port)

    def start(self):
        port_file = os.path.join(self._tmp, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.process = subprocess.Popen(self.command(port_file),
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        while not os.path.exists(port_file):
            if self.process.poll() is not None:
                raise RuntimeError("smtpd.py exited with status %d"
                                   % self.process.returncode)
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("smtpd.py did not start listening")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def cleanup(self):
        """Stops the server and removes its temp dir (and the spool in it)."""
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    def messages(self):
        """The accepted messages, oldest first."""
        if not os.path.isdir(self.spool):
            return []
        names = sorted(n for n in os.listdir(self.spool) if n.endswith(".eml"))
        return [StoredMessage(os.path.join(self.spool, n)) for n in names]

    def wait_for_messages(self, count, timeout=10):
        """Waits until at least count messages were accepted; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages()
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def connections(self):
        """How many connections the server has accepted."""
        try:
            with open(os.path.join(self.spool, "connections")) as f:
                return int(f.read())
        except FileNotFoundError:
            return 0

    def events(self):
        """The event log: a list of dicts (connect, rcpt, data)."""
        try:
            with open(os.path.join(self.spool, "events.jsonl")) as f:
                return [json.loads(line) for line in f]
        except FileNotFoundError:
            return []


if __name__ == "__main__":
    sys.exit(main())
