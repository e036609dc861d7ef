"""SecretBox on Fernet (AES-128-CBC + HMAC-SHA256): authenticated encryption of credentials at rest.

Rotation: the first key seals, every key opens, so old rows stay readable while new writes use the new key.

Each request reads a gateway account's keys and a payment's client secret, and writes the payment back: opening and
sealing cost about 40 us of CPU each. Tokens already opened are remembered, and sealing a value that was just opened
from a token of the current key gives that same token back (the row keeps the ciphertext it already had, instead
of a new one for the same value). A token of an older key is never handed out again: rotation still moves every
value to the new key.
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


# Remembered tokens per process (each side): plenty for the accounts and the payments in flight.
REMEMBERED = 4096


class FernetSecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("FernetSecretBox needs at least one key")
        fernets = [Fernet(derive_fernet_key(k)) for k in keys]
        self._current = fernets[0]
        self._fernet = MultiFernet(fernets)
        self._opened: dict[str, str] = {}  # token -> plaintext
        self._current_token: dict[str, str] = {}  # plaintext -> a token of the current key that opens to it

    def seal(self, plaintext: str) -> str:
        token = self._current_token.get(plaintext)
        if token is None:
            token = self._fernet.encrypt(plaintext.encode()).decode()
            self._remember(token, plaintext, current=True)
        return token

    def open(self, token: str) -> str:
        plaintext = self._opened.get(token)
        if plaintext is not None:
            return plaintext
        try:
            plaintext = self._current.decrypt(token.encode()).decode()
            current = True
        except InvalidToken:
            try:
                plaintext = self._fernet.decrypt(token.encode()).decode()
            except InvalidToken as exc:
                raise ValueError("credential token cannot be opened with the configured keys") from exc
            current = False
        self._remember(token, plaintext, current=current)
        return plaintext

    def _remember(self, token: str, plaintext: str, *, current: bool) -> None:
        if len(self._opened) >= REMEMBERED:
            self._opened.clear()
            self._current_token.clear()
        self._opened[token] = plaintext
        if current:
            self._current_token[plaintext] = token

    def rotate(self, token: str) -> str:
        """Re-seal a token under the current (first) key."""
        return self._fernet.rotate(token.encode()).decode()

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()
