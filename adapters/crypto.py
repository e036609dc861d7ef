"""SecretBox on Fernet (AES-128-CBC + HMAC-SHA256): authenticated encryption of credentials at rest.

Rotation: the first key seals, every key opens, so old rows stay readable while new writes use the new key.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def derive_fernet_key(secret: str) -> bytes:
    """Accept a Fernet key as is, or derive one from any passphrase-like secret."""
    try:
        raw = base64.urlsafe_b64decode(secret.encode())
        if len(raw) == 32:
            return secret.encode()
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


class FernetSecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("FernetSecretBox needs at least one key")
        self._fernet = MultiFernet([Fernet(derive_fernet_key(k)) for k in keys])

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("credential token cannot be opened with the configured keys") from exc

    def rotate(self, token: str) -> str:
        """Re-seal a token under the current (first) key."""
        return self._fernet.rotate(token.encode()).decode()

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()
