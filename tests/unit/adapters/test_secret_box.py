"""The secret box: AES-256-GCM-SIV tokens, Fernet tokens of earlier versions still open, rotation moves every value
to the current key, and what the box remembers never weakens rotation or authentication."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from adapters.crypto import BYTES_PREFIX, REMEMBERED, TOKEN_PREFIX, AeadSecretBox, derive_fernet_key

OLD, NEW = AeadSecretBox.generate_key(), AeadSecretBox.generate_key()


def test_a_token_is_sealed_with_aes_gcm_siv_and_holds_no_plaintext() -> None:
    token = AeadSecretBox([NEW]).seal("pi_1_secret_abc")
    assert token.startswith(TOKEN_PREFIX) and "pi_1_secret_abc" not in token
    assert AeadSecretBox([NEW]).seal("pi_1_secret_abc") != token  # a fresh nonce per seal
    with pytest.raises(ValueError, match="cannot be opened"):
        AeadSecretBox([OLD]).open(token)  # another key: refused, not misread


def test_an_unchanged_value_keeps_its_token_of_the_current_key() -> None:
    box = AeadSecretBox([NEW])
    token = box.seal("pi_1_secret_abc")
    assert box.open(token) == "pi_1_secret_abc"
    assert box.seal("pi_1_secret_abc") == token  # written back unchanged: no new ciphertext
    assert AeadSecretBox([NEW]).open(token) == "pi_1_secret_abc"  # a fresh box (no memory) agrees


def test_a_value_read_under_an_old_key_is_sealed_again_under_the_new_one() -> None:
    old_token = AeadSecretBox([OLD]).seal("sk_test_old")
    box = AeadSecretBox([NEW, OLD])
    assert box.open(old_token) == "sk_test_old"
    resealed = box.seal("sk_test_old")
    assert resealed != old_token
    assert AeadSecretBox([NEW]).open(resealed) == "sk_test_old"
    with pytest.raises(ValueError, match="cannot be opened"):
        AeadSecretBox([OLD]).open(resealed)


@pytest.mark.parametrize("configured", [Fernet.generate_key().decode(), "a passphrase, not a Fernet key"])
def test_a_fernet_token_of_an_earlier_version_opens_and_is_sealed_again_with_aes(configured: str) -> None:
    legacy = Fernet(derive_fernet_key(configured)).encrypt(b"whsec_from_before").decode()  # as 0.x sealed it
    box = AeadSecretBox([configured])
    assert box.open(legacy) == "whsec_from_before"
    resealed = box.seal("whsec_from_before")
    assert resealed.startswith(TOKEN_PREFIX)  # the next write moves it over
    assert AeadSecretBox([configured]).open(resealed) == "whsec_from_before"


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),  # the tag changed
    lambda t: t[:10] + ("B" if t[10] != "B" else "C") + t[11:],  # the nonce changed
    lambda t: TOKEN_PREFIX + "not base64!",
    lambda t: TOKEN_PREFIX,
    lambda t: "gAAAAA-not-a-fernet-token",
])
def test_a_tampered_token_is_refused_every_time(mangle: object) -> None:
    box = AeadSecretBox([NEW])
    tampered = mangle(box.seal("whsec_x"))  # type: ignore[operator]
    for _ in range(2):
        with pytest.raises(ValueError, match="cannot be opened"):
            box.open(tampered)


def test_its_memory_is_bounded() -> None:
    box = AeadSecretBox([NEW])
    tokens = [box.seal(f"value-{i}") for i in range(REMEMBERED + 10)]
    assert len(box._opened) <= REMEMBERED
    assert box.open(tokens[0]) == "value-0"  # forgotten, then opened the slow way


# ---- seal_bytes: stored answers, sealed once ---------------------------------------------------------------------
def test_bytes_are_sealed_raw_under_the_first_key_and_open_under_any_configured_one() -> None:
    answer = b'{"client_secret": "pi_1_secret_abc"}'
    sealed = AeadSecretBox([OLD]).seal_bytes(answer)
    assert sealed.startswith(BYTES_PREFIX) and b"pi_1_secret_abc" not in sealed
    assert len(sealed) == len(BYTES_PREFIX) + 12 + len(answer) + 16  # nonce, ciphertext, tag: no base64
    assert AeadSecretBox([OLD]).seal_bytes(answer) != sealed  # a fresh nonce per seal
    assert AeadSecretBox([NEW, OLD]).open_bytes(sealed) == answer  # after rotation, still readable
    assert AeadSecretBox([NEW, OLD]).open_bytes(AeadSecretBox([NEW, OLD]).seal_bytes(b"")) == b""
    with pytest.raises(ValueError, match="cannot be opened"):
        AeadSecretBox([NEW]).open_bytes(sealed)  # another key: refused, not misread


@pytest.mark.parametrize("mangle", [
    lambda s: s[:-1] + bytes([s[-1] ^ 1]),  # the tag changed
    lambda s: s[:6] + bytes([s[6] ^ 1]) + s[7:],  # the nonce changed
    lambda s: s[:len(BYTES_PREFIX) + 5],  # cut inside the nonce
    lambda s: BYTES_PREFIX,
    lambda s: b"",
    lambda s: AeadSecretBox([NEW]).seal("a text token").encode(),  # seal()'s tokens are not seal_bytes'
])
def test_tampered_or_foreign_bytes_are_refused(mangle: object) -> None:
    box = AeadSecretBox([NEW])
    with pytest.raises(ValueError, match="cannot be opened"):
        box.open_bytes(mangle(box.seal_bytes(b"an answer")))  # type: ignore[operator]


def test_sealed_bytes_are_not_remembered() -> None:
    # Every answer is new: remembered, they would only push out the tokens worth remembering (credentials).
    box = AeadSecretBox([NEW])
    token = box.seal("sk_test_kept")
    for n in range(REMEMBERED + 10):
        box.open_bytes(box.seal_bytes(f"answer {n}".encode()))
    assert box._opened == {token: "sk_test_kept"}
