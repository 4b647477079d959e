"""The confidentiality sweep's detector finds the marker in every encoding a
leak could take, so a clean sweep means something."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest

from tests.hardening_support import scan


@pytest.mark.parametrize("prefix", ["", "a", "ab", "abc", "Diagnosis: "])
@pytest.mark.parametrize("charset_encoding", ["base64", "quoted-printable", "7bit"])
def test_marker_found_in_any_mime_encoding(prefix: str, charset_encoding: str) -> None:
    marker = scan.new_marker()
    message = EmailMessage()
    message["Subject"] = "Interview"
    message.set_content(f"{prefix}{marker} and more text", cte=charset_encoding)
    findings = scan.Findings()
    scan.scan_mail(message.as_bytes(), marker, "mail", findings)
    assert findings.places


@pytest.mark.parametrize("shift", range(6))
def test_marker_found_base64_encoded_at_any_alignment(shift: int) -> None:
    marker = scan.new_marker()
    blob = base64.b64encode(b"x" * shift + marker.encode() + b"tail")
    findings = scan.Findings()
    scan.scan_bytes(b"prefix " + blob, marker, "blob", findings)
    assert any(form.startswith("base64") for form in findings.places["blob"])


def test_marker_found_as_hex_and_not_in_unrelated_bytes() -> None:
    marker = scan.new_marker()
    findings = scan.Findings()
    scan.scan_bytes(b"\\x" + marker.encode().hex().encode(), marker, "bytea", findings)
    scan.scan_bytes(scan.new_marker().encode(), marker, "another marker", findings)
    assert set(findings.places) == {"bytea"}
