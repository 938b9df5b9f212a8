"""Checking complaints: one ticket's status, or the citizen's own list."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import services, texts
from bot.actions.complaint import language_of
from storage import complaints as complaint_store
from storage.tickets import InvalidTicket, find_ticket, parse_ticket


class ActionCheckStatus(Action):
    """Answers for a ticket only if it belongs to the citizen asking; to anyone else it does not exist."""

    def name(self) -> str:
        return "action_check_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        language = language_of(tracker)
        text = tracker.latest_message.get("text") or ""
        candidate = tracker.get_slot("ticket") or find_ticket(text)
        if not candidate:
            dispatcher.utter_message(text=texts.ask_ticket(language))
            return [SlotSet("ticket", None)]
        try:
            ticket = parse_ticket(candidate)
        except InvalidTicket:
            dispatcher.utter_message(text=texts.ticket_invalid(language))
            return [SlotSet("ticket", None)]
        complaint = await services.in_transaction(
            lambda s: complaint_store.get_complaint_of_urn(s, ticket, tracker.sender_id)
        )
        if complaint is None:
            dispatcher.utter_message(text=texts.ticket_not_found(ticket, language))
        else:
            dispatcher.utter_message(text=texts.status_detail(complaint, language))
        return [SlotSet("ticket", None)]


class ActionListComplaints(Action):
    def name(self) -> str:
        return "action_list_complaints"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        complaints = await services.in_transaction(lambda s: complaint_store.complaints_of_urn(s, tracker.sender_id))
        dispatcher.utter_message(text=texts.complaint_list(complaints, language_of(tracker)))
        return []
