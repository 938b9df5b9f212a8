"""Filing a complaint: the complaint form's validation, its questions, and the filing itself.

Two rules here protect citizens: an answer to the privacy question that asks for secrecy in
words is read as secrecy, never as "no" (and when unsure the question is asked again); a filing
that fails is told to the citizen, logged and counted, and the form is kept so that YA retries.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import answers, categories, filing, metrics, reading_pool, services, texts
from bot.regions import Place, place_phrase, resolve
from bot.texting import normalize
from channels.urns import InvalidAddress, channel_of
from storage import complaints as complaint_store
from storage.models import Category

logger = logging.getLogger(__name__)

FORM_SLOTS = (
    "description",
    "location",
    "location_options",
    "location_problem",
    "province_code",
    "region_code",
    "district_code",
    "place_name",
    "category",
    "category_options",
    "anonymous",
    "confidential",
    "confirmed",
    "summary_unanswered",
)

# Messages that only say "I want to complain" carry no description to keep.
_JUST_THE_WISH = re.compile(
    r"^\s*(saya\s+|sy\s+|aku\s+)?(mau|ingin|pengen|pgn|mo|akan)?\s*"
    r"(lapor|melapor|laporan|ngadu|mengadu|pengaduan|komplain|aduan|buat laporan|bikin laporan)"
    r"(\s+(dong|pak|bu|kak|min|ya|nih|donk))*\s*[.!]*\s*$",
    re.IGNORECASE,
)
_MIN_DESCRIPTION_CHARS = 10


# At the summary, a field is named by its number or in words ("lokasinya salah, di Depok Sleman").
_FIELDS_BY_NUMBER = {1: "description", 2: "location", 3: "category", 4: "anonymous"}
_FIELD_PATTERNS = {
    "location": r"lokasi\w*|tempat\w*|alamat\w*|location|place|address",
    "category": r"kategori\w*|category",
    "anonymous": r"anonim\w*|identitas\w*|rahasia\w*|identity|anonymous",
    "description": r"isi\w*|cerita\w*|keterangan\w*|deskripsi\w*|description|text",
}
_FIELD_WORDS = re.compile(
    r"\b(" + "|".join(_FIELD_PATTERNS.values()) + r"|salah|keliru|bukan|ganti|ubah|wrong|change)\b", re.IGNORECASE
)


# --- the privacy answer -------------------------------------------------------------------------
# Read on the normalised text (bot/texting.py: "ga"/"gak" -> "tidak", "sy" -> "saya").
_SECRET = r"(di)?rahasia\w*|anonim\w*|anonymous\w*|(di)?sembunyi\w*|(di)?samar\w*|privasi|private\w*|privat|secret\w*|confidential\w*|hide|hidden|incognito"
_DONT = r"jangan|jgn|tidak usah|tidak perlu|tidak boleh|dont|don't|do not|never|no need to|please don't|pls dont"
_REVEAL = (
    r"(di)?kasih\s*(tahu|tau)|kasi\s*(tahu|tau)|kasitau|kasihtau|(di)?beri\s*tahu|(di)?beritahu|(di)?kasih|(di)?beri"
    r"|(di)?sebut\w*|(di)?tampil\w*|(di)?tunjuk\w*|(di)?tulis\w*|(di)?cantum\w*|(di)?buka|(di)?bocor\w*"
    r"|(di)?sebar\w*|(di)?share|(di)?kirim|(di)?umum\w*|(di)?publikasi\w*|(di)?publish\w*|(di)?tahu|ketahuan"
    r"|share|show|tell|give|reveal|display|mention|disclose|publish|use|include|pass on|send"
)
_IDENTITY = r"nomor|nomer|no hp|hp|wa|nama|identitas|data( diri)?|number|name|identity|details|contact"
_PUBLISH = r"(di)?publikasi\w*|(di)?publish\w*|(di)?umumkan|diumumkan|public\w*|(di)?posting|(di)?tayang\w*"
_ASKS_SECRECY = re.compile(
    rf"\b({_SECRET})\b"
    rf"|\b(tanpa|without|no|bukan)\s+(my\s+|saya\s+)?({_IDENTITY})\b"
    rf"|\b({_DONT})\s+(\S+\s+){{0,3}}?({_REVEAL})\b"
    rf"|\b({_IDENTITY})\s+(saya\s+|my\s+)?({_DONT})\b"
)
# "tidak usah dirahasiakan", "no need to be anonymous", "not anonymous": the citizen waives secrecy.
_WAIVES_SECRECY = re.compile(
    rf"\b(tidak|no|not|bukan)\s+(usah|perlu|need( to)?|have to|harus|pakai|pake|be)?\s*(di)?(be\s+)?({_SECRET})\b"
)
_NOT_PUBLISHED = re.compile(rf"\b({_DONT}|tidak)\s+(\S+\s+){{0,2}}?({_PUBLISH})\b")
# Not a plain yes, even with "ya" in it: a refusal, a question ("gimana ya?"), a wait or a doubt.
_UNSURE = re.compile(
    r"\b(jangan|jgn|dont|don't|do not|gimana|bagaimana|kenapa|knp|kok|maksudnya|tunggu|bentar|sebentar|"
    r"nanti|ntar|mungkin|entah|ragu|bingung|wait|maybe)\b|\?"
)


def secrecy_request(text: str) -> tuple[bool, bool] | None:
    """(anonymous, confidential) when the words ask for secrecy or waive it; None when they do neither.

    "jangan kasih tahu nomor saya", "rahasiakan", "tanpa nama", "don't share my number" ask for it;
    "jangan dipublikasikan" also keeps the complaint unpublished; "tidak usah dirahasiakan" waives it.
    A text that does both is not read here (None), so that the question is asked again.
    """
    words = normalize(text or "").lower()
    waives = bool(_WAIVES_SECRECY.search(words))
    asks = bool(_ASKS_SECRECY.search(_WAIVES_SECRECY.sub(" ", words)))
    if asks == waives:
        return None
    if waives:
        return False, False
    return True, bool(_NOT_PUBLISHED.search(words))


def privacy_answer(text: str) -> tuple[bool, bool] | None:
    """The answer to "Siapa yang boleh tahu?": (anonymous, confidential), or None to ask again.

    A number chooses; words that ask for secrecy win over any "no" they contain; then a plain
    yes/no ("ya" to "keep it secret?", as people answer anyway). A "jangan" that is not understood
    asks again: a guess must never lean towards disclosing the citizen's identity.
    """
    choice = answers.number_choice(text, 3)
    if choice:
        return choice >= 2, choice == 3
    secrecy = secrecy_request(text)
    if secrecy is not None:
        return secrecy
    if _UNSURE.search(normalize(text or "").lower()):
        return None
    answer = answers.yes_no(text)
    return None if answer is None else (answer, False)


def _field_named(text: str) -> str | None:
    for field, pattern in _FIELD_PATTERNS.items():
        if re.search(rf"\b({pattern})\b", text, re.IGNORECASE):
            return field
    return None


def language_of(tracker: Tracker) -> str:
    return tracker.get_slot("language") or "id"


def on_sms(tracker: Tracker) -> bool:
    """SMS costs the citizen per message: questions there are written to fit one."""
    try:
        return channel_of(tracker.sender_id) == "sms"
    except InvalidAddress:
        return False


def _place_slots(place: Place | None) -> dict[str, Any]:
    return {
        "province_code": place.province_code if place else None,
        "region_code": place.region_code if place else None,
        "district_code": place.district_code if place else None,
        "place_name": place.name if place else None,
        "location_options": None,
        "location_problem": None,
    }


def _place_from_option(option: dict[str, Any]) -> Place:
    return Place(
        province_code=option["province_code"],
        region_code=option["region_code"],
        district_code=option.get("district_code"),
        name=option["name"],
    )


def describe_location(text: str, *, answer: bool = True) -> dict[str, Any]:
    """Slots for a place answer: resolved codes, numbered options to ask back, or 'unknown'.

    ``location`` is the place in words, stored as the complaint's address: the citizen's answer to
    "where?" as written, or (``answer=False``: the place came inside the problem's text) the words
    of the text that name it, else the resolved place's name; never the whole complaint.
    """
    resolution = resolve(text)
    if resolution.place:
        words = text.strip() if answer else (place_phrase(text, resolution.place) or resolution.place.name)
        return {"location": words, **_place_slots(resolution.place)}
    if resolution.ambiguous:
        return {
            "location": None,
            "location_options": [vars(option) for option in resolution.options],
            "location_problem": "ambiguous",
        }
    return {"location": None, "location_options": None, "location_problem": "unknown"}


def category_slots(text: str) -> dict[str, Any]:
    """The category when the text makes it clear; otherwise the likeliest few, to offer as options."""
    category = categories.confident_guess(text)
    if category:
        return {"category": category.value, "category_options": None}
    return {"category_options": [slug.value for slug in categories.likely_options(text)]}


def prefill_from_first_message(text: str) -> dict[str, Any]:
    """What a complaint's first message already says: description, category, place."""
    if _JUST_THE_WISH.match(text) or len(text.strip()) < _MIN_DESCRIPTION_CHARS:
        return {}
    slots: dict[str, Any] = {"description": text.strip(), **category_slots(text)}
    located = describe_location(text, answer=False)
    if located.get("region_code"):
        slots.update(located)
    return slots


def description_slots(text: str, *, category: bool, place: bool) -> dict[str, Any]:
    """What a description answer adds: the category (unless known) and the place, if the text names one."""
    slots: dict[str, Any] = {"description": text}
    if category:
        slots.update(category_slots(text))
    if place:
        located = describe_location(text, answer=False)
        if located.get("region_code"):
            slots.update(located)
    return slots


def other_category_options(description: str, current: str | None) -> list[str]:
    """The guess was wrong: the next likeliest categories instead of the same guess again."""
    options = [c.value for c in categories.likely_options(description, 4)]
    return [c for c in options if c != current][:3]


# The readers above are pure functions of the text, CPU-heavy on long texts: the actions run them
# through bot.reading_pool (worker processes, off the app's GIL; in this thread without a pool).


class ActionStartComplaint(Action):
    """Clears what a previous complaint left and keeps what the first message already says."""

    def name(self) -> str:
        return "action_start_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events: list[EventType] = [SlotSet(slot, None) for slot in FORM_SLOTS]
        text = tracker.latest_message.get("text") or ""
        prefilled = await reading_pool.read(prefill_from_first_message, text)
        events += [SlotSet(slot, value) for slot, value in prefilled.items()]
        return events


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    async def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # cleared on purpose (a new complaint, or a field to correct)
            return {"description": None}
        text = str(value).strip()
        if _JUST_THE_WISH.match(text):
            return {"description": None}  # "mau lapor" again: the question that follows says what we need
        if len(text) < _MIN_DESCRIPTION_CHARS:
            dispatcher.utter_message(response="utter_description_too_short")
            return {"description": None}
        return await reading_pool.read(
            description_slots,
            text,
            category=not tracker.get_slot("category"),
            place=not tracker.get_slot("region_code"),
        )

    async def validate_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # cleared on purpose (a new complaint, or a field to correct)
            return {"location": None}
        text = str(value or "").strip()
        if text == tracker.get_slot("location") and tracker.get_slot("region_code"):
            return {"location": text}  # read with the problem's text (prefilled): already resolved
        options = tracker.get_slot("location_options") or []
        choice = answers.number_choice(text, len(options)) if options else None
        if choice:
            return {"location": options[choice - 1]["name"], **_place_slots(_place_from_option(options[choice - 1]))}
        return await reading_pool.read(describe_location, text)

    async def validate_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # cleared on purpose (a new complaint, or a field to correct)
            return {"category": None}
        text = str(value).strip()
        options = tracker.get_slot("category_options") or []
        if options:
            choice = answers.number_choice(text, len(options) + 1)
            if choice == len(options) + 1:  # "another category": the full menu
                return {"category": None, "category_options": None}
            if choice:
                return {"category": options[choice - 1], "category_options": None}
        category = categories.parse_choice(text)
        return {"category": category.value if category else None, "category_options": None if category else options}

    async def validate_anonymous(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # cleared on purpose (a new complaint, or a field to correct)
            return {"anonymous": None}
        answer = privacy_answer(str(value))
        if answer is None:
            return {"anonymous": None, "confidential": None}  # not clear: the question is asked again
        anonymous, confidential = answer
        return {"anonymous": anonymous, "confidential": confidential}

    async def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # cleared on purpose (a new complaint, or a field to correct)
            return {"confirmed": None}
        text = str(value)
        field = _FIELDS_BY_NUMBER.get(answers.number_choice(text, 4)) or _field_named(text)
        if field == "location":
            # "lokasinya salah, di Depok Sleman": take the new place straight from the correction
            place_text = re.sub(r"^\W*(di|in|at)\b", "", _FIELD_WORDS.sub(" ", text).strip(" ,.;:-"), flags=re.I)
            located = await reading_pool.read(describe_location, place_text.strip(" ,.;:-"))
            if located.get("region_code"):
                return {"confirmed": None, **located}
            return {"confirmed": None, "location": None, **_place_slots(None)}
        if field == "description":
            return {"confirmed": None, "description": None}
        if field == "category":
            # the guess was wrong: offer the next likeliest instead of guessing the same again
            options = await reading_pool.read(
                other_category_options, tracker.get_slot("description") or "", tracker.get_slot("category")
            )
            return {"confirmed": None, "category": None, "category_options": options}
        if field == "anonymous":
            return {"confirmed": None, "anonymous": None, "confidential": None}
        secrecy = secrecy_request(text)
        if secrecy is not None and secrecy[0]:
            # "jangan sebut nama saya" at the summary: anonymous at once, and the summary shown again
            return {"confirmed": None, "anonymous": True, "confidential": secrecy[1] or bool(tracker.get_slot("confidential"))}
        if field is None and (secrecy is not None or _UNSURE.search(normalize(text).lower())):
            return {"confirmed": None, "summary_unanswered": True}  # not a plain yes: never file on a guess
        if answers.yes_no(text):
            return {"confirmed": True}
        # neither YA nor a field to change: asked again in one line, not with the whole summary
        return {"confirmed": None, "summary_unanswered": True}


class ActionAskLocation(Action):
    def name(self) -> str:
        return "action_ask_location"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        language = language_of(tracker)
        problem = tracker.get_slot("location_problem")
        if problem == "ambiguous":
            options = tracker.get_slot("location_options") or []
            names = [o["name"] for o in options]
            dispatcher.utter_message(text=texts.place_options(names, language, compact=on_sms(tracker)))
        elif problem == "unknown":
            dispatcher.utter_message(text=texts.place_unknown(language))
        else:
            dispatcher.utter_message(text=texts.ask_location(language))
        return []


class ActionAskCategory(Action):
    def name(self) -> str:
        return "action_ask_category"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        options = tracker.get_slot("category_options") or []
        if options:
            dispatcher.utter_message(text=texts.category_options(options, language_of(tracker)))
        else:
            dispatcher.utter_message(text=texts.category_menu(language_of(tracker), compact=on_sms(tracker)))
        return []


class ActionAskAnonymous(Action):
    def name(self) -> str:
        return "action_ask_anonymous"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(text=texts.ask_privacy(language_of(tracker)))
        return []


class ActionAskConfirmed(Action):
    def name(self) -> str:
        return "action_ask_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if tracker.get_slot("summary_unanswered"):
            # the citizen has the summary already (two SMS): sending it again costs them, not us
            dispatcher.utter_message(text=texts.summary_reminder(language_of(tracker)))
            return [SlotSet("summary_unanswered", None)]
        dispatcher.utter_message(
            text=texts.summary(
                description=tracker.get_slot("description") or "",
                place=tracker.get_slot("place_name") or "",
                category=tracker.get_slot("category") or Category.lainnya.value,
                anonymous=bool(tracker.get_slot("anonymous")),
                confidential=bool(tracker.get_slot("confidential")),
                language=language_of(tracker),
            )
        )
        return []


class ActionFileComplaint(Action):
    """Files the confirmed complaint in the store and answers with its ticket."""

    def name(self) -> str:
        return "action_file_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        language = language_of(tracker)
        try:
            channel = channel_of(tracker.sender_id)
        except InvalidAddress:
            # Only the gateway's conversations (URNs) can file: `rasa shell` and the like cannot.
            logger.error("cannot file a complaint for a conversation that is not a URN")
            dispatcher.utter_message(response="utter_cannot_file")
            return [SlotSet(slot, None) for slot in FORM_SLOTS]
        new = complaint_store.NewComplaint(
            urn=tracker.sender_id,
            channel=channel,
            description=tracker.get_slot("description"),
            category=Category(tracker.get_slot("category") or Category.lainnya.value),
            province_code=tracker.get_slot("province_code"),
            region_code=tracker.get_slot("region_code"),
            district_code=tracker.get_slot("district_code"),
            address=tracker.get_slot("location"),
            anonymous=bool(tracker.get_slot("anonymous")),
            confidential=bool(tracker.get_slot("confidential")),
            language=language,
            # our id of the message that confirmed it (the app sends it as metadata): the key that
            # makes filing it again, when its turn runs again, find the first complaint
            filed_by_message_id=(tracker.latest_message.get("metadata") or {}).get("message_id"),
        )
        zone, _ = texts.timezone_of(new.province_code)
        today = datetime.now(zone).date()

        try:
            # filed and announced to the agency's officers in one transaction
            complaint = await services.in_transaction(lambda session: filing.file_and_announce(session, new, today=today))
        except Exception as error:  # noqa: BLE001 - any failure must reach the citizen, never vanish
            return self._filing_failed(dispatcher, language, error)
        logger.info("complaint filed: ticket=%s category=%s region=%s", complaint.ticket, complaint.category, complaint.region_code)
        dispatcher.utter_message(text=texts.filed(complaint, language))
        return [SlotSet(slot, None) for slot in FORM_SLOTS]

    @staticmethod
    def _filing_failed(dispatcher: CollectingDispatcher, language: str, error: Exception) -> list[EventType]:
        """The store refused the complaint: say so, count it, and keep the form so that YA tries again.

        Without this, Rasa drops the action's events, the turn looks handled and the citizen hears
        nothing. The log names the error's type only: its message can quote the complaint's text
        and the citizen's number (SQL parameters).
        """
        metrics.increment(metrics.FILING_FAILURES)
        logger.error("filing a complaint failed (%s); the citizen was asked to send YA again", type(error).__name__)
        dispatcher.utter_message(text=texts.filing_failed(language))
        # Back to the summary's question without showing it again: the next YA files, BATAL cancels.
        return [
            SlotSet("confirmed", None),
            ActiveLoop("complaint_form"),
            SlotSet("requested_slot", "confirmed"),
            FollowupAction("action_listen"),
        ]


class ActionResetComplaint(Action):
    def name(self) -> str:
        return "action_reset_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return [SlotSet(slot, None) for slot in FORM_SLOTS]
