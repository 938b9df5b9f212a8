"""Threads: what the citizen was pushed, and their answer to it.

The app pushes status changes and officers' messages itself (bot/casework.py, through the
outbox) and then tells the dialogue with Rasa's ``trigger_intent`` (``EXTERNAL_*`` intents).
``action_note_push`` opens a thread when the push asks something: an officer's message (the
citizen may answer) or "selesai" (confirm and rate). While a thread is open, the citizen's next
message answers it whatever the NLU thinks it is (rules.yml), because "jalannya masih rusak" is
an answer there, not a new complaint. STATUS, BANTUAN and BATAL keep working: a message that
is clearly one of them, and no answer, is handed on to what answers it outside a thread.

A thread ends after the answer (a long answer may come in parts: messages within
``ANSWER_PARTS_WINDOW`` of the first are relayed too), or when it gets old: then the message is
handled as it would have been without the thread.
"""

from __future__ import annotations

import re
import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import casework, deadlines, services, texts
from bot.actions.complaint import FORM_SLOTS, language_of, prefill_from_first_message
from bot.actions.status import ActionCheckStatus, ActionListComplaints
from bot.casework import CaseworkError
from storage import complaints as complaint_store
from storage.models import Agency

THREAD_SLOTS = (
    "thread_open", "thread_kind", "thread_ticket", "thread_opened_at", "thread_answered_at", "thread_resolved",
    "thread_misses",
)
REPLY_THREAD_SECONDS = 7 * 24 * 3600
FEEDBACK_THREAD_SECONDS = casework.CONFIRMATION_DAYS * 24 * 3600
ANSWER_PARTS_WINDOW = 30 * 60
MAX_MISSES = 2

_YES = re.compile(r"\b(ya|iya|iy|y|yes|yup|sudah|sdh|udah|udh|dah|beres|selesai|oke|ok|okay|mantap|done)\b", re.I)
_NO = re.compile(r"\b(belum|blm|blum|tidak|tdk|gak|ga|nggak|ngga|enggak|engga|no|not|masih)\b", re.I)
_RATING = re.compile(r"(?<!\d)([1-5])(?!\d)")

# How a message is answered when no thread is waiting for it (as rules.yml would without one).
# Done inside this action: a FollowupAction to them would leave the rules with no next step.
_RESPONSES = {
    "greet": "utter_greet",
    "thanks": "utter_thanks",
    "goodbye": "utter_goodbye",
    "out_of_scope": "utter_out_of_scope",
    "help": "utter_help",
    "cancel": "utter_nothing_to_cancel",
}
_ACTIONS = {"check_status": ActionCheckStatus, "my_complaints": ActionListComplaints}
# In an open thread these are handed on only when the NLU is sure; otherwise the words are the answer.
_HAND_ON = {"check_status", "my_complaints", "help"}
_SURE = 0.9


def closed_thread() -> list[EventType]:
    return [SlotSet(slot, None) for slot in THREAD_SLOTS]


def open_thread(kind: str, ticket: str) -> list[EventType]:
    return [
        *closed_thread(),
        SlotSet("thread_open", True),
        SlotSet("thread_kind", kind),
        SlotSet("thread_ticket", ticket),
        SlotSet("thread_opened_at", time.time()),
    ]


class ActionNotePush(Action):
    """Remembers a push; opens a thread when it asks the citizen something."""

    def name(self) -> str:
        return "action_note_push"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        ticket = next(
            (e.get("value") for e in tracker.latest_message.get("entities") or [] if e.get("entity") == "ticket"), None
        )
        if not ticket or tracker.active_loop.get("name"):
            # in the middle of a new complaint the citizen's answers belong to that; the push
            # itself was delivered, and STATUS shows it later
            return []
        if intent == casework.THREAD_INTENTS["reply"]:
            return open_thread("reply", ticket)
        if intent == casework.THREAD_INTENTS["resolution"]:
            return open_thread("feedback", ticket)
        if tracker.get_slot("thread_ticket") == ticket:  # e.g. closed by the clock: nothing left to answer
            status = await services.in_transaction(lambda s: _status_of(s, ticket))
            if status in ("ditutup", "ditolak"):
                return closed_thread()
        return []


def _status_of(session, ticket: str) -> str | None:
    complaint = complaint_store.get_complaint(session, ticket)
    return complaint.status if complaint else None


def parse_feedback(text: str, intent: str | None) -> tuple[bool | None, int | None]:
    """(resolved, rating) from an answer like "ya 5", "sudah beres", "belum", "4"."""
    rating_match = _RATING.search(text)
    rating = int(rating_match.group(1)) if rating_match else None
    words = _RATING.sub(" ", text)
    if _NO.search(words) or intent == "deny":
        return False, None
    if _YES.search(words) or intent == "affirm":
        return True, rating
    if rating is not None and not words.strip(" .,!"):
        return True, rating  # a bare rating answers both: it is only given for a resolved complaint
    return None, None


class ActionThreadAnswer(Action):
    """The citizen's message while a thread is open: relayed, or taken as the confirmation and rating."""

    def name(self) -> str:
        return "action_thread_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        language = language_of(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "cancel":
            dispatcher.utter_message(text=texts.thread_left(language))
            return closed_thread()
        if self._expired(tracker):
            return closed_thread() + await self._without_thread(dispatcher, tracker, domain, intent)
        ticket = tracker.get_slot("thread_ticket")
        text = (tracker.latest_message.get("text") or "").strip()
        try:
            if tracker.get_slot("thread_kind") == "feedback":
                return await self._feedback(dispatcher, tracker, domain, ticket, text, intent, language)
            confidence = (tracker.latest_message.get("intent") or {}).get("confidence") or 0
            if intent in _HAND_ON and confidence >= _SURE:
                return await self._without_thread(dispatcher, tracker, domain, intent)
            agency = await services.in_transaction(lambda s: _relay(s, ticket, tracker.sender_id, text))
        except CaseworkError:
            dispatcher.utter_message(text=texts.thread_gone(ticket, language))
            return closed_thread()
        if not tracker.get_slot("thread_answered_at"):  # parts of the same answer are relayed quietly
            dispatcher.utter_message(text=texts.answer_relayed(ticket, agency, language))
        return [SlotSet("thread_answered_at", time.time())]

    @staticmethod
    def _expired(tracker: Tracker) -> bool:
        now = time.time()
        answered = tracker.get_slot("thread_answered_at")
        if answered and now - answered > ANSWER_PARTS_WINDOW:
            return True
        limit = FEEDBACK_THREAD_SECONDS if tracker.get_slot("thread_kind") == "feedback" else REPLY_THREAD_SECONDS
        return now - (tracker.get_slot("thread_opened_at") or 0) > limit

    @staticmethod
    async def _without_thread(
        dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, intent: str | None
    ) -> list[EventType]:
        """Answer the message as the dialogue would have had no thread been open."""
        if intent == "file_complaint":  # a new complaint: the form starts with what the message says
            text = tracker.latest_message.get("text") or ""
            prefill = prefill_from_first_message(text)
            return [
                *[SlotSet(slot, None) for slot in FORM_SLOTS if slot not in prefill],
                *[SlotSet(slot, value) for slot, value in prefill.items()],
                FollowupAction("complaint_form"),
            ]
        if intent in _ACTIONS:
            return await _ACTIONS[intent]().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response=_RESPONSES.get(intent or "", "utter_default"))
        return []

    async def _feedback(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        ticket: str,
        text: str,
        intent: str | None,
        language: str,
    ) -> list[EventType]:
        resolved, rating = parse_feedback(text, intent)
        if tracker.get_slot("thread_resolved"):  # they said yes before: this is the rating, or nothing more
            resolved = True
        if resolved is None and intent in _HAND_ON:  # "STATUS 1234-5678" is no answer: the thread waits
            return await self._without_thread(dispatcher, tracker, domain, intent)
        if resolved is None:
            misses = int(tracker.get_slot("thread_misses") or 0) + 1
            if misses > MAX_MISSES:
                return closed_thread() + await self._without_thread(dispatcher, tracker, domain, intent)
            dispatcher.utter_message(text=texts.ask_resolved(ticket, language))
            return [SlotSet("thread_misses", float(misses))]
        if resolved and rating is None and not tracker.get_slot("thread_resolved"):
            dispatcher.utter_message(text=texts.ask_rating(language))
            return [SlotSet("thread_resolved", True)]
        await services.in_transaction(
            lambda s: _feedback(s, ticket, tracker.sender_id, resolved=resolved, rating=rating, comment=text)
        )
        if resolved:
            dispatcher.utter_message(text=texts.feedback_closed(ticket, rating, language))
            return closed_thread()
        # reopened: what they say next (what is still wrong) goes to the agency
        dispatcher.utter_message(text=texts.feedback_reopened(ticket, language))
        return open_thread("reply", ticket)


def _own_complaint(session, ticket: str, urn: str):
    complaint = complaint_store.get_complaint_of_urn(session, ticket, urn)
    if complaint is None:
        raise CaseworkError("not_found", "not this citizen's complaint")
    return complaint


def _relay(session, ticket: str, urn: str, text: str) -> Agency:
    complaint = _own_complaint(session, ticket, urn)
    if complaint.status not in deadlines.OPEN | {"selesai"}:
        raise CaseworkError("closed", complaint.status)
    casework.relay_citizen_answer(session, complaint, text)
    return session.get(Agency, complaint.agency_id)


def _feedback(session, ticket: str, urn: str, **answer: Any) -> str:
    return casework.record_feedback(session, _own_complaint(session, ticket, urn), **answer)
