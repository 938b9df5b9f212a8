"""An officer works a complaint through the REST API, and the citizen's side shows the pushes.

Shows the officers' side end to end: list the complaints the officer may see
(``GET /api/v1/complaints``), read one (``GET /api/v1/complaints/{ticket}``), send the reporter a
message through the bot (``POST .../replies``) and move the status on (``POST .../status``); then
what the citizen received, read from the simulator (``GET /simulator/messages``). The officer never
sees an anonymous reporter's address: for such a complaint, say who the simulated citizen is
with ``--citizen``.

Run against a running stack (``make run``), with a complaint filed (``examples/file_a_complaint.py``
files one in Sleman, which goes to PUPR-3404) and an officer's token:

    .venv/app/bin/aduan officer add --name "Budi" --agency PUPR-3404 --urn telegram:123456789
    .venv/app/bin/aduan officer token --officer 1          # printed once: adn_...
    .venv/app/bin/python examples/officer_reply_and_push.py --token adn_...
    .venv/app/bin/python examples/officer_reply_and_push.py --token adn_... --ticket 1234-5678 \\
        --text "Mohon kirim foto lubangnya" --status diproses --note "Tim menuju lokasi"

The token can also come from the environment: ``ADUAN_TOKEN=adn_... python examples/...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import httpx

PUSH_WAIT_SECONDS = 15


def check(response: httpx.Response, what: str) -> dict:
    if response.status_code == 401:
        sys.exit(f"{what}: the token was refused (401); issue one with `aduan officer token --officer N`")
    if response.status_code >= 400:
        sys.exit(f"{what}: {response.status_code} {response.text}")
    return response.json()


def inbox(http: httpx.Client, channel: str, sender: str) -> list[dict]:
    response = http.get("/simulator/messages", params={"channel": channel, "sender": sender})
    return check(response, "the simulator's inbox")["messages"]


def simulated_citizen(complaint: dict, given: str | None) -> tuple[str, str]:
    """(channel, sender) of the reporter at the simulator: from ``--citizen`` or the complaint's reporter."""
    urn = given or (complaint["reporter"] or {}).get("urn")
    if not urn:
        sys.exit("the reporter is anonymous, so the API does not show the address: pass --citizen sim-sms:+62...")
    scheme, _, address = urn.partition(":")
    if not scheme.startswith("sim-"):
        sys.exit(f"the reporter is on a real channel ({scheme}), not the simulator: nothing to read back here")
    return scheme.removeprefix("sim-"), address


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the app (default: %(default)s)")
    parser.add_argument("--token", default=os.environ.get("ADUAN_TOKEN"), help="officer token (or ADUAN_TOKEN)")
    parser.add_argument("--ticket", help="default: the newest complaint the officer sees with status diterima")
    parser.add_argument("--text", default="Terima kasih, laporan sudah kami terima. Mohon kirim foto lokasinya.")
    parser.add_argument(
        "--status", choices=["diteruskan", "diproses", "selesai", "ditolak"], default="diproses",
        help="the new status (ditolak needs --note); default: %(default)s",
    )
    parser.add_argument("--note", default="Tim menuju lokasi")
    parser.add_argument("--citizen", help="the reporter's simulator address (sim-sms:+62...), for an anonymous reporter")
    args = parser.parse_args()
    if not args.token:
        sys.exit("an officer token is needed: --token adn_... (from `aduan officer token --officer N`)")

    headers = {"Authorization": f"Bearer {args.token}"}
    with httpx.Client(base_url=args.base_url, headers=headers, timeout=30) as http:
        try:
            page = check(http.get("/api/v1/complaints", params={"status": "diterima", "page_size": 10}), "listing")
        except httpx.ConnectError:
            sys.exit(f"nothing answers at {args.base_url}: start the stack with `make run` first")
        print(f"complaints with status diterima: {page['total']}{'+' if page['total_capped'] else ''}")
        for item in page["items"]:
            print(f"  {item['ticket_display']}  {item['category']:<16} {item['agency']['code']:<12} {item['created_at']}")
        ticket = args.ticket or (page["items"][0]["ticket_display"] if page["items"] else None)
        if not ticket:
            sys.exit("no complaint to work on: file one with examples/file_a_complaint.py")

        complaint = check(http.get(f"/api/v1/complaints/{ticket}"), "reading the complaint")
        print(f"\n{complaint['ticket_display']} ({complaint['status']}) at {complaint['agency']['name']}")
        print(f"  {complaint['description']}\n  place: {complaint['address']}  anonymous: {complaint['anonymous']}")
        channel, sender = simulated_citizen(complaint, args.citizen)
        seen = len(inbox(http, channel, sender))

        replied = check(http.post(f"/api/v1/complaints/{ticket}/replies", json={"text": args.text}), "the reply")
        print(f"\nreplied: {replied['history'][-1]['note']!r}")
        changed = check(
            http.post(f"/api/v1/complaints/{ticket}/status", json={"status": args.status, "note": args.note}),
            "the status change",
        )
        print(f"status: {complaint['status']} -> {changed['status']}")
        print(f"deadlines: {changed['deadlines']}")

        print(f"\nwhat the citizen ({channel} {sender}) received:")
        deadline = time.monotonic() + PUSH_WAIT_SECONDS
        pushed: list[dict] = []
        while time.monotonic() < deadline and len(pushed) < 2:  # the reply and the status change
            time.sleep(0.5)
            pushed = inbox(http, channel, sender)[seen:]
        for message in pushed:
            print(f"  [{message['status']}] " + message["text"].replace("\n", "\n  "))
        if not pushed:
            sys.exit(f"  nothing within {PUSH_WAIT_SECONDS} s (see GET /api/v1/deliveries/failed as an admin)")


if __name__ == "__main__":
    main()
