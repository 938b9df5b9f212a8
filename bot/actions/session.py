"""The citizen's language, from the gateway, on every turn.

The gateway detects the language (bot/language.py, BAHASA / LANGUAGE) and sends it as message
metadata. This action is the ``language`` slot's custom mapping, so Rasa's ``action_extract_slots``
runs it after every user message, before any response is chosen: the very first reply, and every
reply after a switch, is in the citizen's language.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

LANGUAGES = ("id", "en")


class ActionSetLanguage(Action):
    def name(self) -> str:
        return "action_set_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        language = (tracker.latest_message.get("metadata") or {}).get("language")
        if language in LANGUAGES and language != tracker.get_slot("language"):
            return [SlotSet("language", language)]
        return []
