"""mySociety's Open311 update extension: ``GET`` and ``POST servicerequestupdates``.

A back office (an agency's own case system) posts what it did to a complaint: a status in
mySociety's words and a description. It is applied through bot/casework.py, the rules the chat
commands, the REST API and the console follow: only the moves an officer may make, a reason for a
rejection, the citizen told on their channel, the event recorded with the integration as its
actor. Only a key bound to agencies may post, and only on those agencies' complaints. An update
posted again with the same ``update_id`` (a retry) is answered with the first one's id and applied once.

``GET`` lists the updates of a window, oldest first. Without a key: the status changes with their
public notes (masked), what the public page shows; never a reply to the citizen, which is private.
With a key, for the complaints it reads in full (those it filed, those of its agencies): also the
agencies' replies and the notes as written.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot import casework
from bot.casework import Actor, CaseworkError
from bot.open311.formats import Open311Error, w3c, window
from bot.open311.intake import clean_form
from bot.open311.requests import MAX_RESULTS, WINDOW, full_for, shown_note
from storage import complaints as complaint_store
from storage import open311_requests as store
from storage.models import Open311Key, Status
from storage.open311_requests import Reader
from storage.tickets import InvalidTicket, format_ticket, parse_ticket

MAX_DESCRIPTION_CHARS = 2000
MAX_UPDATE_ID_CHARS = 64

# mySociety's statuses -> what the complaint becomes (None: no change of status, a reply at most)
TO_STATUS = {
    "open": None,
    "investigating": Status.diproses.value,
    "in_progress": Status.diproses.value,
    "action_scheduled": Status.diproses.value,
    "internal_referral": Status.diteruskan.value,
    "fixed": Status.selesai.value,
    "closed": Status.selesai.value,  # the citizen confirms (ditutup) or disputes it, as after any selesai
    "duplicate": Status.ditolak.value,
    "not_councils_responsibility": Status.ditolak.value,
    "no_further_action": Status.ditolak.value,
    "unable_to_fix": Status.ditolak.value,
}
# a complaint's status -> mySociety's word for it
FROM_STATUS = {
    Status.diterima.value: "open",
    Status.diteruskan.value: "open",
    Status.diproses.value: "in_progress",
    Status.selesai.value: "fixed",
    Status.ditutup.value: "closed",
    Status.ditolak.value: "no_further_action",
}
_AGENCY_ACTORS = ("officer", "integration")


def post_update(session: Session, key: Open311Key, form: dict[str, str], agency_ids: frozenset[int], *, today_of) -> str:
    """Apply one posted update; returns its ``update_id`` (our event's id) for the answer.

    An ``update_id`` is the integration's own per complaint: sent again on the same complaint it is
    answered with the first one's event; on another complaint it is another update."""
    form = clean_form(form)  # as a posted request's: no NUL for the store, no control character for XML
    if not agency_ids:
        raise Open311Error(403, "this api_key is not bound to an agency: only an agency's system may post updates")
    try:
        ticket = parse_ticket((form.get("service_request_id") or "").strip())
    except InvalidTicket:
        raise Open311Error(404, "service_request_id not found") from None
    word = (form.get("status") or "").strip().lower()
    if word not in TO_STATUS:
        raise Open311Error(400, f"status is one of {', '.join(TO_STATUS)}")
    description = (form.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION_CHARS} characters")
    reference = (form.get("update_id") or "").strip() or None
    if reference is not None and len(reference) > MAX_UPDATE_ID_CHARS:
        raise Open311Error(400, f"update_id is longer than {MAX_UPDATE_ID_CHARS} characters")
    complaint = complaint_store.get_complaint(session, ticket)
    if complaint is None or complaint.agency_id not in agency_ids:
        raise Open311Error(404, "service_request_id not found")
    complaint = complaint_store.lock_complaint(session, complaint)  # a retry at the same moment waits here
    if reference is not None and (earlier := store.posted_update(session, key.id, complaint.id, reference)) is not None:
        return str(earlier.id)
    actor = Actor.integration(key.id, agency_ids, reference)
    target = TO_STATUS[word]
    try:
        if target is not None and target != complaint.status:
            casework.change_status(
                session, complaint, target, actor=actor, note=description or None, today=today_of(complaint)
            )
        elif description:
            casework.reply_to_citizen(session, complaint, actor=actor, text=description)
        else:
            now = FROM_STATUS[complaint.status]
            raise Open311Error(400, f"the request is {now} already and the update has no description")
    except CaseworkError as refused:
        raise Open311Error(400, f"{refused.code}: {refused.message}") from None
    session.flush()
    return str(store.latest_event_by(session, complaint.id, key.id).id)


def find_updates(session: Session, reader: Reader, params: dict[str, str], *, now: datetime) -> list[dict]:
    """``GET servicerequestupdates``: the window's updates the reader may see, oldest first, at most 1,000."""
    start, end = window(params.get("start_date"), params.get("end_date"), now=now, span=WINDOW)
    keyless = reader.key_id is None and not reader.agency_ids
    rows = store.updates_between(
        session, reader, start=start, end=end, kinds=("status",) if keyless else ("status", "reply"),
        actor_types=_AGENCY_ACTORS + ("citizen", "system"), limit=MAX_RESULTS,
    )
    updates = []
    for event, complaint, status in rows:
        full = full_for(reader, complaint)
        if event.kind == "reply" and (not full or event.actor_type not in _AGENCY_ACTORS):
            continue  # private: the citizen's and the agency's
        updates.append({
            "update_id": str(event.id),
            "service_request_id": format_ticket(complaint.ticket),
            "status": FROM_STATUS.get(status or Status.diterima.value, "open"),
            "updated_datetime": w3c(event.created_at, complaint.province_code),
            "description": shown_note(event, full),
            "media_url": None,
        })
    return updates
