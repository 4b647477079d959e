"""Encryption at rest: round trip, rotation, and the generated default key."""

import stat

import pytest
from cryptography.fernet import Fernet

from services.accommodations.crypto import DecryptionFailed, TextCipher, load_keys


def test_round_trip_and_ciphertext_hides_the_text():
    cipher = TextCipher([Fernet.generate_key().decode()])
    token = cipher.encrypt("MARKER-ünïcode reason")
    assert b"MARKER" not in token
    assert cipher.decrypt(token) == "MARKER-ünïcode reason"


def test_rotation_new_key_first_old_still_decrypts():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = TextCipher([old]).encrypt("text")
    after = TextCipher([new, old])
    assert after.decrypt(before) == "text"
    assert not after.is_current(before)
    rotated = after.rotate(before)
    assert after.is_current(rotated)
    assert TextCipher([new]).decrypt(rotated) == "text"
    with pytest.raises(DecryptionFailed):
        TextCipher([new]).decrypt(before)


def test_bad_key_is_a_clear_error():
    with pytest.raises(ValueError, match="ACCOMMODATIONS_ENCRYPTION_KEYS"):
        TextCipher(["not-a-key"])


def test_generated_key_file_is_private_and_stable(tmp_path):
    first = load_keys(None, tmp_path)
    assert load_keys("", tmp_path) == first
    key_file = next((tmp_path / "secrets").iterdir())
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    TextCipher(first)  # a valid Fernet key


def test_configured_keys_win(tmp_path):
    a, b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    assert load_keys(f" {a} , {b} ", tmp_path) == [a, b]
    assert not (tmp_path / "secrets").exists()
