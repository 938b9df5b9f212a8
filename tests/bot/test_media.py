"""Officers open a citizen's photos through signed links: the app fetches them from Twilio (with the
account's credentials) or Telegram (by file_id); a link that was changed or has expired opens nothing."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote

import pytest
from sqlmodel import select, update

from bot import casework, filing
from bot.media_links import MediaLinks
from channels.base import MediaItem
from storage import agencies as agency_store
from storage import complaints as complaint_store
from storage import contacts as contact_store
from storage import messages as message_store
from storage import officers as officer_store
from storage.db import make_engine, session_scope
from storage.models import Attachment, Category, Message, OfficerRole
from tests.channels_support import PUBLIC_BASE_URL, app_client, channel_settings

SECRET = "media-link-secret"
PHOTO = b"\xff\xd8\xff\xe0 a pothole \xff\xd9"
OFFICER_URN = "sim-telegram:424242"


def test_a_link_is_valid_until_it_expires_and_only_as_signed():
    links = MediaLinks("https://aduan.example.go.id", SECRET, days=30)
    link = links.link(7, now=1_000_000)
    attachment_id, expires, signature = re.search(r"/media/(\d+)\?exp=(\d+)&sig=(\w+)$", link).groups()
    assert links.valid(7, int(expires), signature, now=1_000_000 + 29 * 86400)
    assert not links.valid(7, int(expires), signature, now=1_000_000 + 31 * 86400)  # expired
    assert not links.valid(8, int(expires), signature, now=1_000_000)  # another file
    assert not links.valid(7, int(expires) + 86400, signature, now=1_000_000)  # lengthened by hand
    assert not MediaLinks("https://aduan.example.go.id", "other-secret").valid(7, int(expires), signature, now=1_000_000)


@pytest.fixture
def client(sqlite_url, fakes):
    rasa, twilio, telegram = fakes
    with app_client(channel_settings(sqlite_url, rasa, twilio, telegram, MEDIA_LINK_SECRET=SECRET)) as client:
        yield client


def file_with_media(sqlite_url: str, urn: str, provider: str, media: MediaItem) -> str:
    """A complaint with one attachment, announced to an officer of its agency; returns the notification."""
    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        agency = agency_store.create_agency(session, code="PUPR-3404", name="Dinas PUPR Kabupaten Sleman", region_code="34.04")
        agency_store.set_routing_rule(session, agency_id=agency.id, category="infrastruktur", region_code="34.04")
        officer = officer_store.create_officer(session, name="Petugas", agency_id=agency.id, role=OfficerRole.officer)
        officer_store.add_officer_urn(session, officer.id, OFFICER_URN)
        message_store.record_inbound(session, urn=urn, channel=urn.split(":")[0], provider=provider, text="",
                                  external_id="in-1", attachments=[media])
        complaint = filing.file_complaint(
            session,
            complaint_store.NewComplaint(urn=urn, channel=urn.split(":")[0], description="Jalan berlubang",
                                    category=Category.infrastruktur, province_code="34", region_code="34.04",
                                    anonymous=True),
            today=date(2026, 11, 27),
        )
        casework.announce_new_complaint(session, complaint)
        contact = contact_store.get_urn(session, OFFICER_URN)
        [notification] = session.exec(select(Message.text).where(Message.urn_id == contact.id)).all()
    engine.dispose()
    return notification


def media_path(notification: str) -> str:
    [link] = re.findall(r"https?://\S+/media/\S+", notification)
    assert link.startswith(PUBLIC_BASE_URL)
    return link.removeprefix(PUBLIC_BASE_URL)


def test_an_officer_opens_a_whatsapp_photo_fetched_from_twilio(client, sqlite_url, fakes):
    _, twilio, _ = fakes
    twilio.media["ME" + "a" * 32] = PHOTO
    notification = file_with_media(
        sqlite_url, "whatsapp:+6281355550002", "twilio",
        MediaItem(kind="image", url=twilio.media_url("ME" + "a" * 32), content_type="image/jpeg"),
    )
    assert "Lampiran: 1 foto" in notification and "6281355550002" not in notification
    path = media_path(notification)
    response = client.get(path)
    assert response.status_code == 200 and response.content == PHOTO
    assert response.headers["content-type"] == "image/jpeg"
    assert client.get(path.replace("sig=", "sig=0")).status_code == 403
    assert client.get(re.sub(r"exp=\d+", "exp=99999999999", path)).status_code == 403


def test_an_officer_opens_a_telegram_photo_by_its_file_id(client, sqlite_url, fakes):
    _, _, telegram = fakes
    telegram.files["AgACAgUAAxkBAAI"] = PHOTO
    notification = file_with_media(
        sqlite_url, "telegram:777000111", "telegram",
        MediaItem(kind="image", url="AgACAgUAAxkBAAI", content_type="image/jpeg"),
    )
    response = client.get(media_path(notification))
    assert response.status_code == 200 and response.content == PHOTO


def test_the_credentials_go_to_twilio_only(client, sqlite_url):
    """A media URL on another host is not fetched with Twilio's credentials."""
    notification = file_with_media(
        sqlite_url, "sms:+6281355550003", "twilio",
        MediaItem(kind="image", url="http://127.0.0.2:9/elsewhere.jpg", content_type="image/jpeg"),
    )
    assert client.get(media_path(notification)).status_code == 502


def test_a_shared_pin_gets_a_map_link_and_no_file_link(client, sqlite_url):
    notification = file_with_media(
        sqlite_url, "telegram:777000112", "telegram", MediaItem(kind="location", latitude=-7.7319, longitude=110.3537)
    )
    assert "titik lokasi -7.73190,110.35370" in notification
    assert "openstreetmap.org/?mlat=-7.73190&mlon=110.35370" in notification
    assert "/media/" not in notification


# ---------------------------------------------------------------- what a claimed content type may do

# (claimed by the sender, served as, disposition, file name)
SERVED_AS = [
    ("image/jpeg", "image/jpeg", "inline", "jpg"),
    ("image/png", "image/png", "inline", "png"),
    ("image/gif", "image/gif", "inline", "gif"),
    ("image/webp", "image/webp", "inline", "webp"),
    ("IMAGE/JPEG; name=x.jpg", "image/jpeg", "inline", "jpg"),
    ("audio/ogg", "audio/ogg", "inline", "ogg"),
    ("audio/mpeg", "audio/mpeg", "inline", "mp3"),
    ("audio/mp4", "audio/mp4", "inline", "m4a"),
    ("audio/amr", "audio/amr", "inline", "amr"),
    ("audio/aac", "audio/aac", "inline", "aac"),
    ("video/mp4", "video/mp4", "inline", "mp4"),
    ("video/3gpp", "video/3gpp", "inline", "3gp"),
    ("application/pdf", "application/pdf", "inline", "pdf"),
    ("text/html", "application/octet-stream", "attachment", "bin"),
    ("text/html; charset=utf-8", "application/octet-stream", "attachment", "bin"),
    ("image/svg+xml", "application/octet-stream", "attachment", "bin"),
    ("application/xhtml+xml", "application/octet-stream", "attachment", "bin"),
    ("text/javascript", "application/octet-stream", "attachment", "bin"),
    ("application/x-shockwave-flash", "application/octet-stream", "attachment", "bin"),
    ("text/plain", "application/octet-stream", "attachment", "txt"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/octet-stream",
     "attachment", "docx"),
    ('text/html"; filename="evil.html', "application/octet-stream", "attachment", "bin"),
    (None, "application/octet-stream", "attachment", "bin"),
    ("", "application/octet-stream", "attachment", "bin"),
]


def test_only_allow_listed_types_open_in_the_browser_and_everything_else_is_a_sandboxed_download(
    client, sqlite_url, fakes
):
    _, _, telegram = fakes
    telegram.files["BQACAgUAAxkBAAI"] = b"<html><script>alert(document.domain)</script></html>"
    notification = file_with_media(
        sqlite_url, "telegram:777000113", "telegram", MediaItem(kind="document", url="BQACAgUAAxkBAAI")
    )
    engine = make_engine(sqlite_url)
    wrong = {}
    for claimed, served, disposition, extension in SERVED_AS:
        with session_scope(engine) as session:  # what the sender claimed, as stored
            session.execute(update(Attachment).values(content_type=claimed))
        headers = client.get(media_path(notification)).headers
        policy = [part.strip() for part in headers.get("content-security-policy", "").split(";")]
        disposition_kind, _, filename = headers.get("content-disposition", "").partition("; ")
        named = re.fullmatch(r'filename="lampiran-\d+\.(\w+)"', filename)
        got = (
            headers["content-type"], disposition_kind, named and named.group(1),
            headers.get("x-content-type-options"), "sandbox" in policy and "default-src 'none'" in policy,
        )
        if got != (served, disposition, extension, "nosniff", True):
            wrong[claimed] = got
    engine.dispose()
    assert wrong == {}


@pytest.mark.parametrize("signature", ["é" * 32, "\u0663" * 32, "%00", "ä"])
def test_a_signature_with_non_ascii_characters_is_refused_not_an_error(client, sqlite_url, signature):
    notification = file_with_media(
        sqlite_url, "telegram:777000114", "telegram", MediaItem(kind="image", url="AgACAgUAAxkBAAJ", content_type="image/jpeg")
    )
    path = re.sub(r"sig=\w+", "sig=" + quote(signature), media_path(notification))
    assert client.get(path).status_code == 403
    links = MediaLinks(PUBLIC_BASE_URL, SECRET)
    assert not links.valid(1, 2**40, signature)
