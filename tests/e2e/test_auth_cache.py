"""A shopper token verified once is remembered (entrypoints/http/auth.py), never past its window nor under
other settings."""

from __future__ import annotations

import time

import jwt

from entrypoints.http import auth
from entrypoints.settings import Settings

SECRET = "a-jwt-secret-of-thirty-two-chars!"


def _settings(secret: str = SECRET) -> Settings:
    return Settings(env="dev", database_url="sqlite:///unused.db", admin_token="an-admin-token-of-some-length",
                    secret_keys=("k" * 32,), jwt_secret=secret)


def _token(**claims: object) -> str:
    return jwt.encode({"sub": "alice", **claims}, SECRET, algorithm="HS256")


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    expires = int(time.time()) + 1
    token = _token(exp=expires)
    shopper = auth.shopper_of(token, _settings())
    assert shopper is not None and shopper.reference == "alice"
    assert auth.shopper_of(token, _settings()) == shopper  # answered from memory
    time.sleep(max(0.0, expires - time.time()) + 0.05)  # at most a second: PyJWT reads the real clock too
    assert auth.shopper_of(token, _settings()) is None
    assert not any(key[0] == token for key in auth._VERIFIED)


def test_a_remembered_token_means_nothing_under_another_secret() -> None:
    token = _token(exp=int(time.time()) + 60)
    assert auth.shopper_of(token, _settings()) is not None
    assert auth.shopper_of(token, _settings("another-secret-of-thirty-two-chars")) is None
