"""The Fernet box remembers what it opened; that must never weaken rotation or authentication."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken

from adapters.crypto import REMEMBERED, FernetSecretBox

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_an_unchanged_value_keeps_its_token_of_the_current_key() -> None:
    box = FernetSecretBox([NEW])
    token = box.seal("pi_1_secret_abc")
    assert box.open(token) == "pi_1_secret_abc"
    assert box.seal("pi_1_secret_abc") == token  # written back unchanged: no new ciphertext
    assert FernetSecretBox([NEW]).open(token) == "pi_1_secret_abc"  # a fresh box (no memory) agrees


def test_a_value_read_under_an_old_key_is_sealed_again_under_the_new_one() -> None:
    old_token = FernetSecretBox([OLD]).seal("sk_test_old")
    box = FernetSecretBox([NEW, OLD])
    assert box.open(old_token) == "sk_test_old"
    resealed = box.seal("sk_test_old")
    assert resealed != old_token
    assert Fernet(NEW.encode()).decrypt(resealed.encode()) == b"sk_test_old"
    with pytest.raises(InvalidToken):
        Fernet(OLD.encode()).decrypt(resealed.encode())


def test_a_tampered_token_is_refused_every_time() -> None:
    box = FernetSecretBox([NEW])
    token = box.seal("whsec_x")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(ValueError, match="cannot be opened"):
            box.open(tampered)


def test_its_memory_is_bounded() -> None:
    box = FernetSecretBox([NEW])
    tokens = [box.seal(f"value-{i}") for i in range(REMEMBERED + 10)]
    assert len(box._opened) <= REMEMBERED
    assert box.open(tokens[0]) == "value-0"  # forgotten, then opened the slow way
