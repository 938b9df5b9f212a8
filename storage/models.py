"""The shape of Aduan's data: SQLModel tables, read in one place.

The schema itself is owned by the Alembic migrations in ``storage/migrations``;
these classes must stay in step with them (``tests/storage/test_migrations.py`` checks it).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Category(str, enum.Enum):
    """The 13 complaint categories of DESIGN.md section 3 (slugs are part of the API)."""

    infrastruktur = "infrastruktur"
    lingkungan = "lingkungan"
    air_bersih = "air_bersih"
    listrik = "listrik"
    kesehatan = "kesehatan"
    pendidikan = "pendidikan"
    kependudukan = "kependudukan"
    bantuan_sosial = "bantuan_sosial"
    ketertiban_umum = "ketertiban_umum"
    transportasi = "transportasi"
    pungli_korupsi = "pungli_korupsi"
    pelayanan_administrasi = "pelayanan_administrasi"
    lainnya = "lainnya"


class Status(str, enum.Enum):
    diterima = "diterima"
    diteruskan = "diteruskan"
    diproses = "diproses"
    selesai = "selesai"
    ditutup = "ditutup"
    ditolak = "ditolak"


class OfficerRole(str, enum.Enum):
    officer = "officer"
    supervisor = "supervisor"
    admin = "admin"


class MessageKind(str, enum.Enum):
    """What a message to officers is. A plain reply to it goes to the reporter only for RELAYED_KINDS."""

    new_complaint = "new_complaint"  # a complaint just filed or rerouted to the agency
    citizen_answer = "citizen_answer"  # the reporter's words, relayed
    feedback = "feedback"  # the reporter confirmed or reopened a selesai
    reminder = "reminder"  # a deadline is near
    breach = "breach"  # a deadline passed
    security = "security"  # an officer's address was locked after wrong PINs


RELAYED_KINDS = frozenset({MessageKind.new_complaint.value, MessageKind.citizen_answer.value})


class PinCheck(str, enum.Enum):
    """What the gateway found when an officer's message carried a PIN (the PIN itself is never stored)."""

    ok = "ok"
    wrong = "wrong"
    unset = "unset"  # the officer has no PIN
    locked = "locked"  # not checked: too many wrong PINs lately


class Direction(str, enum.Enum):
    inbound = "in"
    outbound = "out"


class MessageStatus(str, enum.Enum):
    # inbound
    pending = "pending"  # stored, the dialogue turn has not run yet (or must be retried)
    handled = "handled"  # the dialogue turn ran and its replies are in the outbox
    # outbound
    queued = "queued"  # in the outbox, not yet accepted by the provider
    accepted = "accepted"  # accepted by the provider's API, not yet sent on
    sent = "sent"  # sent on by the provider (to the carrier / WhatsApp / Telegram)
    delivered = "delivered"
    read = "read"  # WhatsApp read receipt
    failed = "failed"  # gave up (permanent error, too many attempts, undelivered)


class OutboxState(str, enum.Enum):
    """Where an outbox row is: the dispatcher sends ``pending`` rows when due, and settles each."""

    pending = "pending"  # to be sent (again, after ``available_at``)
    done = "done"  # accepted by the provider
    failed = "failed"  # given up: rejected for good, recipient gone, or out of attempts


class PushState(str, enum.Enum):
    """Where a dialogue push is: told to Rasa in order, retried while Rasa is down."""

    pending = "pending"  # the dialogue has not been told yet
    done = "done"  # told (``trigger_intent`` answered)
    failed = "failed"  # given up: Rasa refused it for good


# The agency that takes what no routing rule matches, known by its code (seeded by the migrations).
NATIONAL_QUEUE_CODE = "NASIONAL"


class Citizen(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    language: str = Field(default="id", max_length=8)
    created_at: datetime = Field(default_factory=utcnow)


class ContactUrn(SQLModel, table=True):
    """One address of a citizen (``sms:+62...``, ``telegram:123``); a citizen may own several."""

    __tablename__ = "contact_urn"

    id: int | None = Field(default=None, primary_key=True)
    urn: str = Field(max_length=255, unique=True)
    scheme: str = Field(max_length=32)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    # set when the provider says the address can no longer be reached (blocked the bot, STOP)
    unreachable_at: datetime | None = None
    # the app instance running this conversation's turns, until when (storage/conversation_claims.py)
    turn_owner: str | None = Field(default=None, max_length=36)
    turn_lease_until: datetime | None = None


class Agency(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=255)
    # what citizens read in pushes, short enough for one SMS ("Dinas PUPR Kab. Sleman"); name if empty
    short_name: str | None = Field(default=None, max_length=64)
    # Kemendagri code of the area it serves (kab/kota); None for national bodies.
    region_code: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def is_national_queue(self) -> bool:
        """Known by its code: there is no flag to disagree with it."""
        return self.code == NATIONAL_QUEUE_CODE


class Officer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    role: str = Field(default=OfficerRole.officer.value, max_length=16)  # OfficerRole
    agency_id: int = Field(foreign_key="agency.id", index=True)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    # second factor for commands over SMS (sender ids can be spoofed): a salted scrypt hash, set by the CLI
    pin_hash: str | None = Field(default=None, max_length=255)
    pin_failures: int = Field(default=0)  # wrong PINs in a row
    pin_locked_until: datetime | None = None  # after too many wrong PINs: no PIN is accepted until then


class ApiToken(SQLModel, table=True):
    """A bearer token of an officer. Only a SHA-256 of the secret is kept."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # first characters, to tell tokens apart in listings
    label: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class OfficerUrn(SQLModel, table=True):
    """An address an officer works on: a Telegram account or group, a WhatsApp or SMS number.

    Messages from these addresses are officer commands; they never reach the citizens' dialogue.
    """

    __tablename__ = "officer_urn"

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    urn: str = Field(max_length=255, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


ANY = "*"  # a routing rule that matches every category, or every place


class RoutingRule(SQLModel, table=True):
    """Which agency handles a category in a place; the most specific matching rule wins.

    ``region_code`` is a kab/kota ("34.04"), a province ("34") or ANY; ``category`` a slug or ANY.
    """

    __tablename__ = "routing_rule"
    __table_args__ = (UniqueConstraint("category", "region_code", name="uq_routing_rule_category_region"),)

    id: int | None = Field(default=None, primary_key=True)
    category: str = Field(default=ANY, max_length=32)
    region_code: str = Field(default=ANY, max_length=8)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Complaint(SQLModel, table=True):
    __table_args__ = (
        # an agency's open list, newest first, is read by index order alone
        Index("ix_complaint_agency_status_created", "agency_id", "status", "created_at", "id"),
        Index("ix_complaint_citizen_created", "citizen_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket: str = Field(max_length=8, unique=True)
    citizen_id: int = Field(foreign_key="citizen.id")
    urn_id: int = Field(foreign_key="contact_urn.id")  # the address it was filed from
    channel: str = Field(max_length=16)  # sms | whatsapp | telegram | open311
    description: str = Field(sa_column=Column(Text, nullable=False))
    category: str = Field(max_length=32, index=True)  # Category
    secondary_category: str | None = Field(default=None, max_length=32)
    province_code: str | None = Field(default=None, max_length=2)
    region_code: str | None = Field(default=None, max_length=5, index=True)  # kab/kota, "34.04"
    district_code: str | None = Field(default=None, max_length=8)  # kecamatan, "34.04.07"
    address: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # the place in words
    anonymous: bool = Field(default=False)
    confidential: bool = Field(default=False)
    status: str = Field(default=Status.diterima.value, max_length=16, index=True)  # Status
    agency_id: int = Field(foreign_key="agency.id")
    language: str = Field(default="id", max_length=8)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    verify_due: date | None = None  # verification deadline (3 working days)
    followup_due: date | None = None  # agency's first follow-up (5 working days after forwarding)
    resolve_due: date | None = None  # resolution target
    latitude: float | None = None  # a location the citizen shared (WhatsApp/Telegram pin)
    longitude: float | None = None
    followed_up_at: datetime | None = None  # the agency's first action (a reply, or diproses)
    resolved_at: datetime | None = None  # when it last became selesai: the citizen's 14 days run from here
    closed_at: datetime | None = None  # ditutup or ditolak
    rating: int | None = None  # the citizen's 1-5 at closing
    # the inbound message whose turn filed it (its confirmation): a turn run again after Rasa died
    # before saving it finds this complaint instead of filing a second one
    filed_by_message_id: int | None = Field(default=None, unique=True)
    # the integration that filed it through Open311 (bot/open311/), which may read it back in full
    open311_key_id: int | None = Field(default=None, foreign_key="open311_key.id", index=True)


class DeadlineAlert(SQLModel, table=True):
    """A reminder before a deadline or a breach after it; one of each per deadline and due date.

    A deadline moved (a rerouted complaint's new follow-up time) is a new deadline with its own alerts.
    """

    __tablename__ = "deadline_alert"
    __table_args__ = (UniqueConstraint("complaint_id", "deadline", "kind", "due", name="uq_deadline_alert_once"),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    deadline: str = Field(max_length=16)  # verify | followup | resolve
    kind: str = Field(max_length=16)  # reminder | breach
    due: date
    created_at: datetime = Field(default_factory=utcnow)


class DialoguePush(SQLModel, table=True):
    """What a citizen's dialogue must learn about a push (Rasa ``trigger_intent``), not yet told.

    Written in the transaction of the change, like the outbox row of the push itself; sent to
    Rasa before the citizen's next turn, and retried while Rasa is down.
    """

    __tablename__ = "dialogue_push"
    __table_args__ = (Index("ix_dialogue_push_state_available", "state", "available_at"),)

    id: int | None = Field(default=None, primary_key=True)
    urn_id: int = Field(foreign_key="contact_urn.id", index=True)
    intent: str = Field(max_length=64)  # EXTERNAL_...
    entities: str = Field(sa_column=Column(Text, nullable=False))  # JSON object
    state: str = Field(default=PushState.pending.value, max_length=16)  # PushState
    attempts: int = Field(default=0)
    available_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class ComplaintEvent(SQLModel, table=True):
    """Every change of a complaint: who, when, what, and a note."""

    __tablename__ = "complaint_event"
    __table_args__ = (
        # an integration's update sent twice (its retry) is applied once; its id is per complaint
        UniqueConstraint(
            "actor_open311_key_id", "complaint_id", "external_update_id", name="uq_complaint_event_open311_update"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    # filed | status | reply (officer to citizen) | citizen_reply | rerouted | breach | feedback
    kind: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    actor_type: str = Field(max_length=16)  # citizen | officer | system | integration
    actor_officer_id: int | None = Field(default=None, foreign_key="officer.id")
    actor_open311_key_id: int | None = Field(default=None, foreign_key="open311_key.id")  # an integration's update
    external_update_id: str | None = Field(default=None, max_length=64)  # that integration's own id for it
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # a status change's note as the public reads it (masked when written); None: nothing public
    public_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, index=True)  # keyless Open311 reads filter on it


class Message(SQLModel, table=True):
    """Every message in and out, on every channel.

    Inbound rows are stored before the provider's webhook is acknowledged; outbound
    rows are written with their outbox item in the transaction that caused them.
    """

    __table_args__ = (
        # Provider retries carry the same id: the second insert fails, nothing is stored twice.
        # (Per direction: Telegram's update ids and message ids are different counters.)
        UniqueConstraint("provider", "direction", "external_id", name="uq_message_provider_direction_external_id"),
        Index("ix_message_urn_direction", "urn_id", "direction", "id"),
        Index("ix_message_status_direction", "status", "direction"),
    )

    id: int | None = Field(default=None, primary_key=True)
    direction: str = Field(max_length=3)  # Direction
    urn_id: int = Field(foreign_key="contact_urn.id")
    channel: str = Field(max_length=16)
    provider: str = Field(max_length=32)  # simulator | twilio | telegram
    external_id: str | None = Field(default=None, max_length=128)
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)  # MessageStatus
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = None  # inbound: when to retry a failed turn
    sent_to_engine_at: datetime | None = None  # inbound: last sent to Rasa (its answer may have been lost)
    error: str | None = Field(default=None, max_length=500)
    reply_to_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id")
    kind: str | None = Field(default=None, max_length=32)  # MessageKind, for messages to officers
    pin_check: str | None = Field(default=None, max_length=8)  # PinCheck: an officer's message that carried a PIN
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Attachment(SQLModel, table=True):
    """Media or a location a citizen sent; linked to the complaint it belongs to when filed."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    urn_id: int = Field(foreign_key="contact_urn.id", index=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    kind: str = Field(max_length=16)  # image | video | audio | document | location | link (an Open311 media_url)
    url: str | None = Field(default=None, max_length=1000)  # provider URL or Telegram file_id
    content_type: str | None = Field(default=None, max_length=100)
    latitude: float | None = None
    longitude: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class OutboxItem(SQLModel, table=True):
    """Work queue of the dispatcher: one row per outbound message not yet settled."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_available", "state", "available_at"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", unique=True)
    state: str = Field(default=OutboxState.pending.value, max_length=16)  # OutboxState
    attempts: int = Field(default=0)
    available_at: datetime = Field(default_factory=utcnow)
    locked_until: datetime | None = None  # lease of the dispatcher that claimed it
    lease_owner: str | None = Field(default=None, max_length=36)  # the dispatcher holding the lease
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class Open311Key(SQLModel, table=True):
    """An integration's ``api_key`` for the Open311 GeoReport v2 server. Only a SHA-256 of the key is kept.

    A key may be bound to agencies and places (comma-separated codes; NULL: any); a name is taken
    while its key is live, so a revoked key's name can be given to its replacement.
    """

    __tablename__ = "open311_key"
    __table_args__ = (
        Index(
            "uq_open311_key_live_name", "name", unique=True,
            sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)  # the integration's name
    key_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # first characters, to tell keys apart in listings
    agency_codes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # "PUPR-3404,DLH-3404"
    region_codes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # "51,34.04"
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None  # written at most once a minute
    revoked_at: datetime | None = None
    # requests counted in the current fixed window (OPEN311_KEY_RATE; storage/open311_limits.py): in
    # the store, so the limit holds across app instances. The window's start in seconds since 1970.
    rate_window_start: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    rate_count: int = Field(default=0)


class Open311Confirmation(SQLModel, table=True):
    """A phone number an Open311 request named, asked once whether it wants the ticket's news.

    Until its owner answers YA (bot/open311/confirmation.py) the complaint keeps a record-only
    reporter: anyone with a key can type any number. Used once; not after ``expires_at``.
    """

    __tablename__ = "open311_confirmation"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", unique=True)
    urn_id: int = Field(foreign_key="contact_urn.id", index=True)  # the number's address (sms:+62...)
    # the SMS that asked; None when the number had been asked already that day (nothing sent)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    expires_at: datetime
    confirmed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
