"""Encryption at rest of the keys the platform signs with, under a key-encryption key (KEK).

The KEKs come from ``EVENTONIGHT_KEY_ENCRYPTION_KEYS`` (a JSON list of Fernet
keys, from the environment or a secret store): the first encrypts, every one
decrypts, so a new KEK is rolled in by putting it first and running
``eventonight keys rekey``, then dropping the old one. Someone who can read the
database but not the KEK cannot mint tokens. The embedded demo, with no
``EVENTONIGHT_MONGODB_URI``, keeps a generated KEK in ``<data_dir>/key-encryption.key``;
anywhere else a missing KEK stops the platform at start.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEK_FILE = "key-encryption.key"


class SecretsConfigError(RuntimeError):
    """No usable key-encryption key: the platform does not start."""


class Secrets:
    """``encrypt``/``decrypt`` small secrets (signing keys) with the configured KEKs."""

    def __init__(self, keys: list[bytes]) -> None:
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError) as exc:
            raise SecretsConfigError(
                "EVENTONIGHT_KEY_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64 bytes each); "
                'make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from exc

    def encrypt(self, data: bytes) -> str:
        return self._fernet.encrypt(data).decode()

    def decrypt(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode())
        except InvalidToken as exc:
            raise SecretsConfigError(
                "a stored key does not decrypt with any EVENTONIGHT_KEY_ENCRYPTION_KEYS: was a KEK dropped too early?"
            ) from exc

    def rekey(self, token: str) -> str:
        """The same secret under the first (newest) KEK."""
        return self._fernet.rotate(token.encode()).decode()


def load_secrets(configured: list[str], embedded: bool, data_dir: Path) -> Secrets:
    if configured:
        return Secrets([k.encode() for k in configured])
    if not embedded:
        raise SecretsConfigError(
            "EVENTONIGHT_KEY_ENCRYPTION_KEYS is not set: signing keys are encrypted at rest with it. "
            "Set it from your secret store (docs/deployment.md, 'Key encryption'); only the embedded "
            "demo (no EVENTONIGHT_MONGODB_URI) makes its own."
        )
    path = data_dir / KEK_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(Fernet.generate_key())
    return Secrets([path.read_bytes().strip()])
