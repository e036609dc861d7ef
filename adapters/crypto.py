"""SecretBox on AES-256-GCM-SIV: authenticated encryption of credentials and client secrets at rest.

A token is "hx1." + base64url(nonce || ciphertext || tag), one call into OpenSSL each way (about 1 us, where
Fernet's AES-CBC + HMAC in Python took 6 us alone and 60 us per request under load: every create seals a client
secret and an idempotent answer). GCM-SIV, not plain GCM: a repeated random nonce there would reveal the key
stream; here it reveals only that two tokens hold the same value.

Keys are configured as before (a Fernet key, or any passphrase-like secret, see derive_fernet_key), and tokens
sealed by Fernet before this box existed ("gAAAA...") still open: the next write of the value, or
`hexpay secrets rotate`, seals it again here.

Rotation: the first key seals, every key opens, so old rows stay readable while new writes use the new key.

Tokens already opened are remembered, and sealing a value that was just opened from a token of the current key gives
that same token back (the row keeps the ciphertext it already had, instead of a new one for the same value). A
token of an older key, or of Fernet, is never handed out again: rotation still moves every value to the new key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOKEN_PREFIX = "hx1."
BYTES_PREFIX = b"hx1:"  # seal_bytes: the prefix, the nonce, the ciphertext and tag as they are (no base64)
NONCE_BYTES = 12
_INFO = b"hexpay secret box: AES-256-GCM-SIV"


def derive_fernet_key(secret: str) -> bytes:
    """Accept a Fernet key as is, or derive one from any passphrase-like secret."""
    try:
        raw = base64.urlsafe_b64decode(secret.encode())
        if len(raw) == 32:
            return secret.encode()
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


def derive_aead_key(secret: str) -> bytes:
    """The AES-256 key of a configured secret: HKDF over its Fernet form, so one configured key serves both the
    tokens sealed now and those Fernet sealed before."""
    material = base64.urlsafe_b64decode(derive_fernet_key(secret))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(material)


# Remembered tokens per process (each side): plenty for the accounts and the payments in flight.
REMEMBERED = 4096


class AeadSecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("AeadSecretBox needs at least one key")
        self._ciphers = [AESGCMSIV(derive_aead_key(k)) for k in keys]  # the first seals
        self._fernet = MultiFernet([Fernet(derive_fernet_key(k)) for k in keys])  # tokens from before
        self._opened: dict[str, str] = {}  # token -> plaintext
        self._current_token: dict[str, str] = {}  # plaintext -> a token of the current key that opens to it

    def seal(self, plaintext: str) -> str:
        token = self._current_token.get(plaintext)
        if token is None:
            nonce = os.urandom(NONCE_BYTES)
            sealed = nonce + self._ciphers[0].encrypt(nonce, plaintext.encode(), None)
            token = TOKEN_PREFIX + base64.urlsafe_b64encode(sealed).decode()
            self._remember(token, plaintext, current=True)
        return token

    def seal_bytes(self, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return BYTES_PREFIX + nonce + self._ciphers[0].encrypt(nonce, plaintext, None)

    def open_bytes(self, sealed: bytes) -> bytes:
        nonce = sealed[len(BYTES_PREFIX):len(BYTES_PREFIX) + NONCE_BYTES]
        if sealed.startswith(BYTES_PREFIX) and len(nonce) == NONCE_BYTES:
            for cipher in self._ciphers:
                try:
                    return cipher.decrypt(nonce, sealed[len(BYTES_PREFIX) + NONCE_BYTES:], None)
                except InvalidTag:
                    continue
        raise ValueError("sealed value cannot be opened with the configured keys")

    def open(self, token: str) -> str:
        plaintext = self._opened.get(token)
        if plaintext is not None:
            return plaintext
        if token.startswith(TOKEN_PREFIX):
            plaintext, current = self._open_aead(token)
        else:
            plaintext, current = self._open_fernet(token), False
        self._remember(token, plaintext, current=current)
        return plaintext

    def _open_aead(self, token: str) -> tuple[str, bool]:
        try:
            sealed = base64.urlsafe_b64decode(token[len(TOKEN_PREFIX):])
        except (binascii.Error, ValueError):
            sealed = b""
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        if len(nonce) == NONCE_BYTES:
            for index, cipher in enumerate(self._ciphers):
                try:
                    return cipher.decrypt(nonce, body, None).decode(), index == 0
                except InvalidTag:
                    continue
        raise ValueError("credential token cannot be opened with the configured keys")

    def _open_fernet(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("credential token cannot be opened with the configured keys") from exc

    def _remember(self, token: str, plaintext: str, *, current: bool) -> None:
        if len(self._opened) >= REMEMBERED:
            self._opened.clear()
            self._current_token.clear()
        self._opened[token] = plaintext
        if current:
            self._current_token[plaintext] = token

    @staticmethod
    def generate_key() -> str:
        """A new key for HEXPAY_SECRET_KEY (32 random bytes, in Fernet's form, which every version accepts)."""
        return Fernet.generate_key().decode()
