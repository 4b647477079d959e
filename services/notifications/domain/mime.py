"""Assembly of the email itself (RFC 5322, RFC 6047 iMIP).

Headers are set through the email package's `SMTP` policy and `Address` objects: the
policy refuses CR or LF in a header value, and `Address` quotes display names, so caller
text cannot add a header. The calendar part is base64 so that no transport re-wraps its
content lines, and its `method=` is always the calendar's own METHOD.
"""

from __future__ import annotations

import email.policy
import uuid
from datetime import datetime
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime

from services.notifications.domain import text

# Folding at 78 columns loses the quotes around a long display name (CPython's folder
# re-emits `"a, Bcc: b@c" <d@e>` unquoted across lines), which turns one recipient into
# two for every reader. Our header values are bounded (names 120, subjects 250 characters)
# so folding is never needed below RFC 5322's hard limit of 998.
class _CachedHeaderRegistry(HeaderRegistry):
    """CPython's registry builds a new header class with type() on every lookup, which was
    a third of the time spent rendering an invite; the classes are stateless, so reuse them."""

    def __init__(self) -> None:
        super().__init__()
        self._built: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = super().__getitem__(name)
        return built


POLICY = email.policy.SMTP.clone(max_line_length=998, header_factory=_CachedHeaderRegistry())

# Message-IDs are derived from (idempotency key, recipient) so that a retried request, a
# resend after a crash, and the stored row all carry the same one; receivers and our own
# tests can recognise a duplicate by it.
_NAMESPACE = uuid.UUID("9b7e43b2-3c1c-4a51-9d7a-0d5c3f3d5b10")


def message_id(idempotency_key: str, recipient: str, domain: str) -> str:
    token = uuid.uuid5(_NAMESPACE, f"{idempotency_key}\n{recipient.lower()}")
    return f"<{token}@{domain}>"


def _address(email_address: str, name: str) -> Address:
    local, _, domain = email_address.partition("@")
    return Address(display_name=text.display_name(name), username=local, domain=domain)


def assemble(
    *,
    from_email: str,
    from_name: str,
    to_email: str,
    to_name: str,
    subject: str,
    plain: str,
    html: str,
    msg_id: str,
    date: datetime,
    calendar: bytes | None = None,
    method: str = "",
    sender: str = "",
) -> bytes:
    """The wire bytes (CRLF) of one email; `calendar` adds the text/calendar part."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = _address(from_email, from_name)
    if sender and sender.lower() != from_email.lower():
        # The envelope mailbox differs from the organizer: say who actually sent it.
        msg["Sender"] = _address(sender, "")
    msg["To"] = _address(to_email, to_name)
    msg["Subject"] = text.one_line(subject, 250)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = msg_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies loops
    msg.set_content(plain, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    if calendar is not None:
        if method not in ("REQUEST", "CANCEL"):
            raise ValueError(f"unsupported iTIP method {method!r}")
        # Outlook recognises meeting requests faster with this class (harmless elsewhere).
        msg["Content-Class"] = "urn:content-classes:calendarmessage"
        msg.add_alternative(
            calendar,
            maintype="text",
            subtype="calendar",
            cte="base64",
            params={"method": method, "charset": "UTF-8"},
        )
    for part in msg.iter_parts():
        # add_alternative builds parts as whole messages; MIME-Version belongs on top only.
        del part["MIME-Version"]
    return msg.as_bytes(policy=POLICY)
