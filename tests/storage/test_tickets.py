"""Ticket numbers (storage/tickets.py): 8 random digits, the last a Damm check digit."""

from __future__ import annotations

import pytest

from storage import tickets
from storage.tickets import (
    InvalidTicket,
    find_ticket,
    format_ticket,
    is_valid_ticket,
    new_ticket,
    parse_ticket,
)

# The Damm quasigroup table (H. Michael Damm, 2004), written out independently of python-stdnum
# so that the tests check the algorithm itself, not just "whatever stdnum does".
DAMM_TABLE = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm_interim(digits: str) -> int:
    state = 0
    for char in digits:
        state = DAMM_TABLE[state][int(char)]
    return state


def with_check_digit(body: str) -> str:
    """A valid ticket from a 7-digit body (the check digit is the interim digit of the body)."""
    return body + str(damm_interim(body))


VALID = with_check_digit("1234567")  # 1234567 + its check digit
RANDOM_SAMPLE = 3000


@pytest.fixture(scope="module")
def random_tickets() -> list[str]:
    return [new_ticket() for _ in range(RANDOM_SAMPLE)]


# --- the check digit -----------------------------------------------------------------------


def test_reference_damm_example_from_the_literature():
    # The worked example of the Damm algorithm: the check digit of 572 is 4.
    assert damm_interim("572") == 4
    assert damm_interim("5724") == 0


def test_new_ticket_check_digit_is_the_damm_check_digit(random_tickets):
    for ticket in random_tickets[:500]:
        assert damm_interim(ticket) == 0, ticket
        assert ticket[-1] == str(damm_interim(ticket[:-1])), ticket


def test_every_single_digit_substitution_is_detected_on_random_tickets(random_tickets):
    for ticket in random_tickets:
        assert is_valid_ticket(ticket)
        for position in range(len(ticket)):
            for digit in "0123456789":
                if digit == ticket[position]:
                    continue
                typo = ticket[:position] + digit + ticket[position + 1 :]
                assert not is_valid_ticket(typo), (ticket, typo)


def test_all_ten_digits_per_position_only_the_original_is_valid():
    for position in range(8):
        valid_variants = [
            VALID[:position] + digit + VALID[position + 1 :]
            for digit in "0123456789"
            if is_valid_ticket(VALID[:position] + digit + VALID[position + 1 :])
        ]
        assert valid_variants == [VALID], position


def test_every_adjacent_transposition_is_detected_on_random_tickets(random_tickets):
    checked = 0
    for ticket in random_tickets:
        for position in range(len(ticket) - 1):
            a, b = ticket[position], ticket[position + 1]
            if a == b:
                continue  # swapping equal digits changes nothing
            swapped = ticket[:position] + b + a + ticket[position + 2 :]
            assert not is_valid_ticket(swapped), (ticket, swapped)
            checked += 1
    assert checked > RANDOM_SAMPLE * 5  # the sample really exercised transpositions


def test_damm_table_guarantees_hold_for_every_state_exhaustively():
    """The proof behind "catches every ...", checked exhaustively on the table.

    Every interim state is reached by a one-digit prefix (row 0 is a permutation). From any state,
    two different digits lead to different states (substitutions), "ab" and "ba" lead to
    different states (transpositions), and a common suffix keeps different states different, so
    a typo anywhere in a ticket ends in a non-zero check.
    """
    prefixes = {damm_interim(d): d for d in "0123456789"}
    assert sorted(prefixes) == list(range(10))
    digits = "0123456789"
    for state, prefix in prefixes.items():
        after = {damm_interim(prefix + d) for d in digits}
        assert len(after) == 10, state  # substitution changes the state
        for a in digits:
            for b in digits:
                if a != b:
                    assert damm_interim(prefix + a + b) != damm_interim(prefix + b + a), (state, a, b)
    for d in digits:  # a common suffix digit keeps different states apart
        assert len({damm_interim(prefix + d) for prefix in prefixes.values()}) == 10


def test_every_typo_of_the_check_digit_position_is_rejected_by_parse_ticket():
    for digit in "0123456789":
        typo = VALID[:-1] + digit
        if typo == VALID:
            continue
        with pytest.raises(InvalidTicket):
            parse_ticket(typo)


# --- new_ticket ----------------------------------------------------------------------------


def test_new_ticket_is_eight_digits_not_starting_with_zero_and_valid(random_tickets):
    for ticket in random_tickets:
        assert len(ticket) == 8 and ticket.isdigit(), ticket
        assert ticket[0] != "0", ticket
        assert is_valid_ticket(ticket), ticket


def test_new_ticket_bounds_of_the_random_body(monkeypatch):
    # The smallest and largest values secrets.randbelow can give still make 8-digit tickets.
    monkeypatch.setattr(tickets.secrets, "randbelow", lambda n: 0)
    smallest = new_ticket()
    monkeypatch.setattr(tickets.secrets, "randbelow", lambda n: n - 1)
    largest = new_ticket()
    assert smallest[:7] == "1000000" and is_valid_ticket(smallest)
    assert largest[:7] == "9999999" and is_valid_ticket(largest)


def test_new_ticket_draws_are_random_not_sequential():
    draws = [new_ticket() for _ in range(1000)]
    bodies = [int(t[:7]) for t in draws]
    # 1000 draws from 9 million: a handful of collisions would be astronomically unlikely
    # (expected 0.06), a counter or a fixed seed would show at once.
    assert len(set(draws)) >= 995
    steps = [b - a for a, b in zip(bodies, bodies[1:])]
    assert sum(1 for step in steps if 0 < step <= 10) < 5  # not counting up
    ups = sum(1 for step in steps if step > 0)
    assert 350 < ups < 650  # neither sorted nor reverse-sorted
    assert {t[0] for t in draws} == set("123456789")  # spread over the whole range
    assert max(bodies) - min(bodies) > 7_000_000


# --- parse_ticket --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        VALID,
        f"{VALID[:4]}-{VALID[4:]}",
        f"{VALID[:4]} {VALID[4:]}",
        f"#{VALID}",
        f"#{VALID[:4]}-{VALID[4:]}",
        f"# {VALID[:4]} {VALID[4:]}",
        f"{VALID[:4]}.{VALID[4:]}",
        f"  {VALID}  ",
        " ".join(VALID),
        f"{VALID[:2]}-{VALID[2:4]}.{VALID[4:6]} {VALID[6:]}",
    ],
)
def test_parse_ticket_accepts_the_ways_citizens_type_it(typed):
    assert parse_ticket(typed) == VALID


@pytest.mark.parametrize(
    "typed",
    [
        VALID[:7],  # 7 digits
        VALID + "0",  # 9 digits
        VALID[:-1] + str((int(VALID[-1]) + 1) % 10),  # wrong check digit
        VALID[1] + VALID[0] + VALID[2:],  # neighbours swapped
        f"{VALID[:4]}/{VALID[4:]}",  # a separator that is not accepted
        "abcdefgh",
        "",
        "#",
        f"{VALID[:4]}x{VALID[4:]}",
    ],
)
def test_parse_ticket_rejects_wrong_length_wrong_check_digit_and_junk(typed):
    with pytest.raises(InvalidTicket):
        parse_ticket(typed)


def test_parse_ticket_none_raises_invalid_ticket():
    with pytest.raises(InvalidTicket):
        parse_ticket(None)  # type: ignore[arg-type]


def test_invalid_ticket_is_a_value_error():
    assert issubclass(InvalidTicket, ValueError)


def test_is_valid_ticket_rejects_non_digits_and_wrong_lengths():
    assert is_valid_ticket(VALID)
    assert not is_valid_ticket(VALID[:7])
    assert not is_valid_ticket(VALID + "0")
    assert not is_valid_ticket(f"{VALID[:4]}-{VALID[4:]}")
    assert not is_valid_ticket("")
    assert not is_valid_ticket("0" * 9)  # Damm-valid (all zeros) but 9 digits


# --- find_ticket ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("cek status #1234-5678 ya", "12345678"),
        ("STATUS 1234 5678", "12345678"),
        ("tiket saya 1234.5678", "12345678"),
        ("12345678", "12345678"),
        ("nomor:12345678, tolong dicek", "12345678"),
        ("tiket # 1234-5678", "12345678"),
        ("status 1234567", "1234567"),  # 7 digits: returned so the caller can say "invalid"
        ("status 123-456-789", "123456789"),  # 9 digits too
        ("cek 1234-567 dong", "1234567"),
    ],
)
def test_find_ticket_finds_ticket_like_numbers_in_free_text(text, found):
    assert find_ticket(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "",
        "halo, saya mau cek laporan",
        "status 123456",  # 6 digits: not ticket-like
        "jalan rusak 3 hari di rt 05 rw 02",
        "081234567890",  # a phone number
        "hubungi saya di 081234567890 ya",
        "6281234567890",
        "1234567890",  # 10 digits
    ],
)
def test_find_ticket_returns_none_without_ticket_like_digits(text):
    assert find_ticket(text) is None


def test_find_ticket_none_input():
    assert find_ticket(None) is None  # type: ignore[arg-type]


def test_find_ticket_skips_a_phone_number_and_finds_the_ticket_after_it():
    assert find_ticket("nomor saya 081234567890, tiket #1234-5678") == "12345678"


@pytest.mark.parametrize("text", ["hubungi 0812-3456-7890", "wa saya 0812 3456 7890", "+62 812-3456-7890"])
def test_find_ticket_ignores_phone_numbers_written_with_separators(text):
    assert find_ticket(text) is None


def test_find_ticket_result_round_trips_through_parse_ticket():
    text = f"cek status #{VALID[:4]}-{VALID[4:]} ya"
    assert parse_ticket(find_ticket(text)) == VALID


# --- format_ticket -------------------------------------------------------------------------


def test_format_ticket_groups_four_and_four():
    assert format_ticket("12345678") == "1234-5678"


def test_format_ticket_output_parses_back(random_tickets):
    for ticket in random_tickets[:200]:
        shown = format_ticket(ticket)
        assert len(shown) == 9 and shown[4] == "-"
        assert parse_ticket(shown) == ticket
