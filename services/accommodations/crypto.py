"""Encryption at rest for confidential text (reasons, messages, decision texts).

Fernet (AES-128-CBC with HMAC-SHA256) through MultiFernet: the first key encrypts, every
key decrypts. Rotation: put a new key first in ACCOMMODATIONS_ENCRYPTION_KEYS, restart,
then run `python -m services.accommodations.rotate_keys` to re-encrypt old rows; drop the
old key once that finished.

Embedded default (no variable set): a key generated on first start in a file under the
data folder, readable by the owner only. There is never a key in the code.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEYS_VARIABLE = "ACCOMMODATIONS_ENCRYPTION_KEYS"


class DecryptionFailed(Exception):
    """A ciphertext that none of the configured keys opens (a key was dropped too early)."""


class TextCipher:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        try:
            self._fernets = [Fernet(key.encode()) for key in keys]
        except (ValueError, TypeError):
            raise ValueError(
                f"{KEYS_VARIABLE} must hold comma-separated Fernet keys "
                "(32 url-safe base64-encoded bytes each)"
            ) from None
        self._multi = MultiFernet(self._fernets)

    def encrypt(self, text: str) -> bytes:
        return self._multi.encrypt(text.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._multi.decrypt(token).decode("utf-8")
        except InvalidToken:
            raise DecryptionFailed("no configured key decrypts this value") from None

    def is_current(self, token: bytes) -> bool:
        """Whether the token is encrypted with the first (current) key."""
        try:
            self._fernets[0].decrypt(token)
        except InvalidToken:
            return False
        return True

    def rotate(self, token: bytes) -> bytes:
        """The same plaintext under the current key (MultiFernet.rotate)."""
        try:
            return self._multi.rotate(token)
        except InvalidToken:
            raise DecryptionFailed("no configured key decrypts this value") from None


def _read_or_create_key_file(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        import time

        for _ in range(100):  # another process may be between open() and write()
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.01)
        raise RuntimeError(f"encryption key file {path} is empty") from None
    key = Fernet.generate_key().decode()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def load_keys(configured: str | None, data_dir: Path) -> list[str]:
    """Keys from the variable's value, else the generated key file under `data_dir`."""
    if configured:
        keys = [k.strip() for k in configured.split(",") if k.strip()]
        if keys:
            return keys
    return [_read_or_create_key_file(data_dir / "secrets" / "accommodations-encryption-key")]
