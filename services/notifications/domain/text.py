"""Cleaning of caller-supplied text before it reaches a calendar or an email header.

iCalendar TEXT may not hold control characters (RFC 5545 TSAFE-CHAR) and a line break in a
header or a content line is how injection works, so free text is flattened here, once, and
every renderer uses the cleaned value. Identifiers (addresses, UIDs, links) are not cleaned
but rejected by `validation`, because silently changing an address would mail someone else.
"""

from __future__ import annotations

import re
import unicodedata

# Line breaks in every form Python, email and iCalendar readers recognise.
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_SPACES = re.compile(r"[ \t]+")


def _drop_controls(text: str) -> str:
    # Cc: C0/C1 controls (NUL, BEL, ESC, ...). Cf: invisible format characters such as
    # bidi overrides, which can make a displayed name lie about what it says. Cs: lone
    # surrogates, which cannot be encoded as UTF-8 at all.
    return "".join(
        ch for ch in text if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
    )


def one_line(text: str, max_length: int = 500) -> str:
    """Free text for a single line (summary, location, a note): breaks become spaces."""
    flat = _LINE_BREAKS.sub(" ", text).replace("\t", " ")
    flat = _SPACES.sub(" ", _drop_controls(flat)).strip()
    return flat[:max_length]


def display_name(text: str, max_length: int = 120) -> str:
    """A person's name for a header or CN parameter.

    Quotes, angle brackets and backslashes carry meaning in address headers; they are
    replaced so that a name can never close its quoting and start an address of its own.
    """
    flat = one_line(text, max_length)
    return flat.translate(str.maketrans({'"': "'", "<": "(", ">": ")", "\\": "/"})).strip()
