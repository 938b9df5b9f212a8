"""Two app instances and two Rasa servers on PostgreSQL and Redis, under faults (issue #12).

``aduan run --apps 2 --engines 2``; 20 citizens file complaints over SMS through signed Twilio
webhooks (the fake Twilio API on loopback), each message posted to an instance chosen at random
(to the other one when it is down, as a load balancer does); meanwhile one app instance and one
Rasa server are killed with SIGKILL and started again by ``aduan run``. Afterwards, counted in the
store, at the fake Twilio and in Rasa's own tracker store: every citizen got every reply exactly
once and in order, every complaint was filed exactly once, no message went to Rasa twice, no
outbox row was sent twice. Each citizen files a second complaint once the killed processes are
back, so the restarted ones take their share again.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from bot.cli import ROOT
from bot.dispatcher import CONCURRENT_CONVERSATIONS
from tests.conftest import fresh_postgres_database
from tests.fakes.server import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

CITIZENS = 20
STEP_TIMEOUT = 150  # a turn may wait for a dead instance's claim (30 s) and a Rasa restart
TICKET = re.compile(r"nomor tiket (\d{4}-\d{4})")
COMPLAINTS = [
    "mau lapor lampu jalan mati di kec. mlati sleman sudah {n} minggu",
    "sampah menumpuk di pinggir jalan kec. mlati sleman sudah {n} hari tidak diangkut",
    "jalan berlubang besar di kec. mlati sleman sudah {n} bulan, bahaya buat motor",
]
TWILIO_TO = "+6281100001708"


class ScaledStack:
    def __init__(self, workdir: Path, fake_twilio) -> None:
        self.store_url, self._drop_store = fresh_postgres_database()
        self.store = create_engine(self.store_url, pool_size=CITIZENS)  # the citizens look at their turns in it
        self.tracker_db = f"aduan_tracker_{secrets.token_hex(5)}"
        self.app_ports = [free_port(), 0]
        self.app_ports[1] = self.app_ports[0] + 1
        rasa_port = free_port()
        self.public_url = f"http://127.0.0.1:{self.app_ports[0]}"  # as behind a load balancer
        self.twilio = fake_twilio
        self.env = {
            **os.environ,
            "DATABASE_URL": self.store_url,
            "APP_PORT": str(self.app_ports[0]),
            "RASA_PORT": str(rasa_port),
            "RASA_TRACKER_DIALECT": "postgresql",
            "RASA_TRACKER_HOST": "127.0.0.1:5432",
            "RASA_TRACKER_DB": self.tracker_db,
            "RASA_TRACKER_USER": "postgres",
            "RASA_TRACKER_LOGIN_DB": "test",
            "REDIS_URL": "redis://127.0.0.1:6379/7",
            "PUBLIC_BASE_URL": self.public_url,
            "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
            "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
            "TWILIO_SMS_FROM": TWILIO_TO,
            "TWILIO_API_URL": fake_twilio.url,
            "READING_WORKERS": "1",
            "LOG_LEVEL": "INFO",
        }
        for name in ("RASA_URL", "RASA_URLS", "RASA_TOKEN", "ACTIONS_TOKEN", "TELEGRAM_BOT_TOKEN"):
            self.env.pop(name, None)
        self.log = workdir / "scaled-stack.log"
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [str(ROOT / ".venv" / "app" / "bin" / "aduan"), "run", "--apps", "2", "--engines", "2"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )
        self._sids = iter(range(10**9))
        self._sid_lock = threading.Lock()

    def wait_until_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"`aduan run --apps 2 --engines 2` exited:\n{self.log.read_text()[-4000:]}")
            if all(self._both_engines_up(port) for port in self.app_ports):
                return
            time.sleep(1)
        pytest.fail(f"the scaled-out stack was not ready:\n{self.log.read_text()[-4000:]}")

    @staticmethod
    def _both_engines_up(port: int) -> bool:
        try:
            servers = httpx.get(f"http://127.0.0.1:{port}/health", timeout=3).json()["rasa"]["servers"]
            return [s["state"] for s in servers] == ["ok", "ok"]
        except (httpx.HTTPError, ValueError, KeyError):
            return False

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.store.dispose()
        admin = create_engine(self.store_url.rsplit("/", 1)[0] + "/test", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.tracker_db}" WITH (FORCE)'))
        admin.dispose()
        self._drop_store()
        sys.stdout.write(f"\nscaled-out stack log: {self.log}\n")

    def child(self, marker: str) -> int:
        """The pid of the child of ``aduan run`` whose command line or environment holds ``marker``."""
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            for pid in (task / "children").read_text().split():
                try:
                    seen = Path(f"/proc/{pid}/cmdline").read_bytes() + Path(f"/proc/{pid}/environ").read_bytes()
                except OSError:
                    continue
                if marker.encode() in seen.replace(b"\0", b" ") + b" ":
                    return int(pid)
        raise AssertionError(f"no child with {marker!r}")

    def balanced(self, url: str) -> list[str]:
        """A public URL as a load balancer forwards it: to a random instance, then to the other."""
        path = url.removeprefix(self.public_url)
        return [f"http://127.0.0.1:{port}{path}" for port in random.sample(self.app_ports, 2)]

    def send(self, sender: str, body: str) -> None:
        """A signed Twilio webhook to a random instance; to the other when one does not answer
        (a load balancer's retry: the same MessageSid, so it is stored once)."""
        with self._sid_lock:
            sid = f"SM{next(self._sids):032d}"
        params = {"MessageSid": sid, "AccountSid": self.twilio.account_sid, "From": sender, "To": TWILIO_TO,
                  "Body": body, "NumMedia": "0"}
        url = f"{self.public_url}/webhooks/twilio"
        signature = RequestValidator(self.twilio.auth_token).compute_signature(url, params)
        ports = random.sample(self.app_ports, 2)
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            for port in ports:
                try:
                    response = httpx.post(
                        f"http://127.0.0.1:{port}/webhooks/twilio", content=urlencode(params), timeout=10,
                        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
                    )
                    if response.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.5)
        raise AssertionError(f"no app instance took message {sid}")


@pytest.fixture(scope="module")
def scaled(model, tmp_path_factory, fake_twilio):
    stack = ScaledStack(tmp_path_factory.mktemp("scaled"), fake_twilio)
    # Twilio reports each send back, as it does in production, through the load balancer
    fake_twilio.status_callback_delay = 0.5
    fake_twilio.callback_addresses = stack.balanced
    try:
        stack.wait_until_ready()
        yield stack
    finally:
        stack.stop()
        fake_twilio.status_callback_delay = None
        fake_twilio.callback_addresses = lambda url: [url]


def citizen(stack: ScaledStack, n: int, recovered: threading.Event) -> list[str]:
    """Files a complaint as a citizen would, answering what the bot asks, while the faults happen;
    then, once the killed processes are back, a second one; returns the tickets."""
    number = f"+62813555{n:05d}"
    time.sleep(random.uniform(0, 4))
    first = _file(stack, number, COMPLAINTS[n % len(COMPLAINTS)].format(n=2 + n % 5))
    assert recovered.wait(timeout=300), "the killed processes did not come back"
    return [first, _file(stack, number, COMPLAINTS[(n + 1) % len(COMPLAINTS)].format(n=3 + n % 4))]


def _file(stack: ScaledStack, number: str, said: str) -> str:
    seen = started = len(stack.twilio.bodies_to(number))
    conversation = []
    for _ in range(8):
        stack.send(number, said)
        replies, seen = _wait_for_answer(stack, number, seen)
        conversation += [f"> {said}", *replies]
        # the whole answer, not its last message: a turn's ticket may be followed by a later turn's words
        if (ticket := next((found for reply in replies if (found := TICKET.search(reply))), None)) is not None:
            return ticket.group(1)
        last = replies[-1]
        if "kirim ulang" in last:
            pass  # a lost action call: the bot asks for the same message again
        elif "Rahasiakan identitas" in last:
            said = "1"
        elif "Balas YA" in last:
            said = "ya"
        elif "Di mana" in last or "lokasi" in last.lower():
            said = "kec. mlati sleman"
        else:
            said = "1"
        time.sleep(random.uniform(0.5, 2.5))
    failure = f"{number} got no ticket in 8 messages: {conversation} (all sent: {stack.twilio.bodies_to(number)[started:]})"
    warnings.warn(failure, stacklevel=1)  # shown in the warnings summary whatever else the run prints
    raise AssertionError(failure)


_SETTLED = text(
    "SELECT (SELECT count(*) FROM message m WHERE m.urn_id = u.id AND m.direction = 'in' AND m.status = 'pending')"
    " + (SELECT count(*) FROM outbox o JOIN message m ON m.id = o.message_id WHERE m.urn_id = u.id AND o.state = 'pending')"
    " FROM contact_urn u WHERE u.urn = :urn"
)


def _wait_for_answer(stack: ScaledStack, number: str, seen: int) -> tuple[list[str], int]:
    """The bot's whole answer to ``number``'s last message: once the store holds no message of theirs
    still to answer or to send (a turn sends its parts one by one, seconds apart under load, and a
    citizen who answered the first part would be answering a question not yet asked)."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        with stack.store.connect() as db:
            unsettled = db.execute(_SETTLED, {"urn": f"sms:{number}"}).scalar()
        bodies = stack.twilio.bodies_to(number)
        fresh = [b for b in bodies[seen:] if "layanan sedang sibuk" not in b]
        if fresh and unsettled == 0:
            return fresh, len(bodies)
        time.sleep(0.2)
    raise AssertionError(f"no whole answer to {number} after {STEP_TIMEOUT} s: {stack.twilio.bodies_to(number)[seen:]}")


def test_twenty_citizens_through_a_killed_app_instance_and_a_killed_rasa_server(scaled):
    random.seed(12)
    kills: list[str] = []
    recovered = threading.Event()
    app_killed_at: list[float] = []

    def chaos() -> None:
        time.sleep(random.uniform(3, 6))
        app = scaled.child("ADUAN_INSTANCE=app-1 ")
        app_killed_at.append(time.monotonic())
        os.kill(app, signal.SIGKILL)
        kills.append("app-1")
        time.sleep(random.uniform(1, 4))
        os.kill(scaled.child(f"--port {scaled.env['RASA_PORT']} "), signal.SIGKILL)  # Rasa server 1
        kills.append("rasa-1")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            log = scaled.log.read_text()
            if "app instance 1 is back" in log and "Rasa engine 1 is back" in log:
                recovered.set()
                return
            time.sleep(1)

    faults = threading.Thread(target=chaos)
    faults.start()
    with ThreadPoolExecutor(CITIZENS) as pool:
        tickets = [t for pair in pool.map(lambda n: citizen(scaled, n, recovered), range(CITIZENS)) for t in pair]
    faults.join()
    assert kills == ["app-1", "rasa-1"]
    assert len(set(tickets)) == 2 * CITIZENS

    deadline = time.monotonic() + 30  # the last sends' callbacks are still on their way
    while any("callback" not in sent for sent in scaled.twilio.sent) and time.monotonic() < deadline:
        time.sleep(0.2)

    store = create_engine(scaled.store_url)
    with store.connect() as db:
        # every complaint filed exactly once: one per citizen, under the ticket the citizen was told
        filed = db.execute(text(
            "SELECT u.urn, c.ticket FROM complaint c JOIN contact_urn u ON u.id = c.urn_id"
        )).all()
        per_citizen = Counter(urn for urn, _ in filed)
        assert per_citizen == Counter({f"sms:+62813555{n:05d}": 2 for n in range(CITIZENS)}), per_citizen
        # every inbound message answered, every outbound message sent (and settled) once
        pending = db.execute(text("SELECT count(*) FROM message WHERE direction = 'in' AND status = 'pending'")).scalar()
        assert pending == 0
        outbound = db.execute(text(
            "SELECT u.urn, m.text, m.external_id FROM message m JOIN contact_urn u ON u.id = m.urn_id "
            "WHERE m.direction = 'out' ORDER BY m.id"
        )).all()
        inbound_ids = [row[0] for row in db.execute(text("SELECT id FROM message WHERE direction = 'in'")).all()]
    store.dispose()
    # No outbox row sent twice. A send Twilio accepted from the instance just before it was killed,
    # not yet recorded there, is recorded by Twilio's status callback (its URL names our message), so
    # the instance taking the row over does not send it again. The one copy no provider lets us rule
    # out (docs/architecture.md, known limits) is of such a send whose callback never reached us:
    # accepted before the kill, its sid not in the store, its callback not delivered. Any other copy
    # fails the test.
    kept = {sid for *_, sid in outbound}
    ours = [sent for sent in scaled.twilio.sent if sent.get("To", "").startswith("+62813555")]
    in_doubt = [sent for sent in ours if sent["sid"] not in kept]
    for sent in in_doubt:
        copies = [other for other in ours if other["StatusCallback"] == sent["StatusCallback"]]
        assert sent["accepted_at"] <= app_killed_at[0], f"sent twice, after the kill ({app_killed_at[0]}): {copies}"
        assert sent.get("callback") != "delivered", f"sent twice although its callback reached us: {sent}"
    assert len(in_doubt) <= CONCURRENT_CONVERSATIONS, f"{len(in_doubt)} sends repeated after the kill"  # at most those in flight
    assert sorted(s["sid"] for s in ours if s["sid"] in kept) == sorted(kept), "an outbound message's sid is not Twilio's"
    # every citizen got every reply exactly once and in order: what Twilio was asked to send to each
    # number (less such a copy) is exactly what the store holds for it, in the order the store queued it
    for n in range(CITIZENS):
        urn, number = f"sms:+62813555{n:05d}", f"+62813555{n:05d}"
        stored = [body for u, body, _ in outbound if u == urn]
        delivered = [s["Body"] for s in ours if s["To"] == number and s["sid"] in kept]
        assert delivered == stored, f"{number}: sent {delivered}, stored {stored}"
    if in_doubt:
        sys.stdout.write(f"\n{len(in_doubt)} send(s) in flight at the kill were sent again: {in_doubt}\n")
    # every send was reported back, and every report was taken (Twilio retries none of them)
    assert all(sent.get("callback") == "delivered" for sent in ours if sent["sid"] in kept), [
        sent for sent in ours if sent["sid"] in kept and sent.get("callback") != "delivered"
    ]

    # no message sent to Rasa twice: counted in Rasa's own tracker store, by the id we send along
    tracker = create_engine(scaled.store_url.rsplit("/", 1)[0] + f"/{scaled.tracker_db}")
    with tracker.connect() as db:
        users = db.execute(text("SELECT data FROM events WHERE type_name = 'user'")).scalars().all()
    tracker.dispose()
    ids = [(json.loads(data).get("metadata") or {}).get("message_id") for data in users]
    sent_to_rasa = Counter(message_id for message_id in ids if message_id is not None)
    assert sent_to_rasa.most_common(1)[0][1] == 1, f"sent to Rasa twice: {[m for m, c in sent_to_rasa.items() if c > 1]}"
    assert set(sent_to_rasa) == set(inbound_ids), f"never at Rasa: {set(inbound_ids) - set(sent_to_rasa)}"

    log = scaled.log.read_text()
    assert "app instance 1 died (killed by SIGKILL)" in log and "Rasa engine 1 died (killed by SIGKILL)" in log
    # the second complaints ran on every instance again, the restarted ones included
    assert f'127.0.0.1:{scaled.app_ports[0]}' in log and "app-1 uvicorn.access" in log.split("app instance 1 is back", 1)[1]
