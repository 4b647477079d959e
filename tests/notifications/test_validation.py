"""Identifiers are rejected, not cleaned; free text is flattened."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.notifications.domain import text, validation
from services.notifications.domain.model import Recipient
from tests.notifications import factories


@pytest.mark.parametrize(
    "address",
    ["a@b", "a b@c.com", "a@b.com\r\nBcc: x@y.com", '"a"@b.com', "a@[1.2.3.4]", "", "a@b.com>",
     "é@b.com", "a@-b.com"],
)
def test_bad_addresses_are_refused(address: str) -> None:
    assert validation.check_email(address, "f")


def test_good_address() -> None:
    assert validation.check_email("first.last+tag@mail.example.co.uk", "f") == []


def test_invite_checks_name_the_field() -> None:
    good = factories.invite()
    assert validation.check_invite(good) == []
    bad = replace(
        good,
        uid="a b\r\nX:y",
        video_link='https://x.example.com/"><script>',
        end=good.start - timedelta(minutes=1),
        attendees=(replace(factories.CANDIDATE, time_zone="Mars/Olympus"), factories.CANDIDATE),
    )
    fields = {v.field for v in validation.check_invite(bad)}
    assert fields == {
        "invite.uid", "invite.video_link", "invite.time_range",
        "invite.attendees[0].time_zone", "invite.attendees[1].email", "invite.attendees",
    }
    assert validation.check_recipient(Recipient("x@example.com", "", "Nowhere/Zone"))
    assert validation.check_idempotency_key("has space")
    assert validation.check_idempotency_key("") and not validation.check_idempotency_key("k-1")


def test_text_cleaning() -> None:
    assert text.one_line("a\r\nb\u2028c\x00d\x1b[31m\u202ee") == "a b cd[31me"
    assert text.display_name('Eve "the" <admin>\\') == "Eve 'the' (admin)/"
