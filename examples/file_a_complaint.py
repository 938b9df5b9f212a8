"""File a complaint as a citizen would, through the simulator, and print the conversation.

Shows the citizen's side end to end: the bot asks for the problem, the place and who may know the
reporter's identity, shows a summary, and files the complaint with a ticket number once the
citizen answers YA; then the ticket's status is asked for. Each answer is chosen from what the bot
just asked, as a person reading the replies would.

Run against a running stack (``make run`` in another terminal; the simulator is on for a local run):

    .venv/app/bin/python examples/file_a_complaint.py
    .venv/app/bin/python examples/file_a_complaint.py --channel whatsapp --privacy 2 \\
        --problem "sampah menumpuk di pinggir jalan sudah seminggu tidak diangkut" --place "Kuta, Badung"

The simulator's contract: ``POST /simulator/messages`` with ``{"channel", "sender", "text"}``
answers ``{"replies": [...]}``, what the bot sent back during that turn.
"""

from __future__ import annotations

import argparse
import re
import sys
import time

import httpx

TICKET = re.compile(r"\b(\d{4}-\d{4})\b")
MAX_TURNS = 12


def say(http: httpx.Client, channel: str, sender: str, text: str) -> list[str]:
    """One message from the citizen; the bot's replies of this turn, printed as they come."""
    print(f"citizen> {text}")
    response = http.post("/simulator/messages", json={"channel": channel, "sender": sender, "text": text})
    if response.status_code != 200:
        sys.exit(f"the simulator answered {response.status_code}: {response.text}")
    replies = response.json()["replies"]
    for reply in replies:
        print("    bot> " + reply.replace("\n", "\n         "))
    return replies


def next_answer(asked: str, args: argparse.Namespace) -> str | None:
    """What the citizen answers to the bot's last words (None: not a question of the form)."""
    if "Periksa laporan" in asked or "belum tersimpan" in asked:  # the summary, or a filing to try again
        return "ya"
    if "Siapa yang boleh tahu?" in asked:
        return args.privacy
    if "Lokasi yang mana?" in asked or "Masalahnya termasuk apa?" in asked or "Pilih" in asked:
        return "1"  # numbered options: the first
    if "lokasinya" in asked.lower() or "Lokasi belum dikenali" in asked:
        return args.place
    if "ceritakan" in asked.lower():
        return args.problem
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the app (default: %(default)s)")
    parser.add_argument("--channel", choices=["sms", "whatsapp", "telegram"], default="sms")
    parser.add_argument(
        "--sender", help="phone number (sms, whatsapp) or chat id (telegram); default: a new citizen on each run"
    )
    parser.add_argument("--problem", default="jalan berlubang besar di depan SD, sudah 3 bulan tidak diperbaiki")
    parser.add_argument("--place", default="Mlati, Sleman")
    parser.add_argument(
        "--privacy", choices=["1", "2", "3"], default="1",
        help="1 the agency may know the number, 2 anonymous, 3 anonymous and not published",
    )
    args = parser.parse_args()
    sender = args.sender or (
        str(int(time.time())) if args.channel == "telegram" else "0812" + str(int(time.time()))[-8:]
    )
    print(f"citizen {sender} on {args.channel}, at {args.base_url}\n")

    with httpx.Client(base_url=args.base_url, timeout=60) as http:
        try:
            replies = say(http, args.channel, sender, "lapor")
        except httpx.ConnectError:
            sys.exit(f"nothing answers at {args.base_url}: start the stack with `make run` first")
        for _ in range(MAX_TURNS):
            asked = "\n".join(replies)
            filed = TICKET.search(asked) if "tiket" in asked else None
            if filed:
                ticket = filed.group(1)
                print(f"\nfiled: ticket {ticket}; asking for its status\n")
                say(http, args.channel, sender, f"STATUS {ticket}")
                print(f"\nAll it was sent: GET {args.base_url}/simulator/messages?channel={args.channel}&sender={sender}")
                return
            answer = next_answer(asked, args)
            if answer is None:
                sys.exit("\nthe bot asked something this example does not answer; see its last reply above")
            replies = say(http, args.channel, sender, answer)
    sys.exit(f"\nno ticket after {MAX_TURNS} turns")


if __name__ == "__main__":
    main()
