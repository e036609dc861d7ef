"""HEXPAY_ENV=prod refuses to start with a missing, default-looking, weak or development secret."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from entrypoints.cli import main
from entrypoints.http.asgi import create_asgi_app
from entrypoints.settings import Settings, SettingsError
from tests.fakes.measurements import Measure

STRONG = {
    "HEXPAY_ENV": "prod",
    "HEXPAY_DATABASE_URL": "postgresql+asyncpg://hexpay@db.internal/hexpay",
    "HEXPAY_ADMIN_TOKEN": "prod-admin-" + "x" * 32,
    "HEXPAY_JWT_SECRET": "prod-jwt-" + "y" * 32,
    "HEXPAY_SECRET_KEY": Fernet.generate_key().decode(),
}


def prod(tmp_path: Path, **changes: str | None) -> dict[str, str]:
    env = {**STRONG, "HEXPAY_VAR_DIR": str(tmp_path / "var")}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def test_strong_secrets_start(tmp_path: Path) -> None:
    settings = Settings.from_env(prod(tmp_path))
    assert settings.is_prod and settings.generated == ()
    assert not (tmp_path / "var").exists()  # prod never generates development secrets


REFUSED = [
    ("HEXPAY_ADMIN_TOKEN", None), ("HEXPAY_JWT_SECRET", None), ("HEXPAY_SECRET_KEY", None),
    ("HEXPAY_ADMIN_TOKEN", ""), ("HEXPAY_ADMIN_TOKEN", "changeme"), ("HEXPAY_JWT_SECRET", "secret"),
    ("HEXPAY_JWT_SECRET", "short-secret"), ("HEXPAY_SECRET_KEY", "password"),
    # One weak key among several still opens (and may seal) credentials.
    ("HEXPAY_SECRET_KEY", Fernet.generate_key().decode() + ",changeme"),
    ("HEXPAY_DATABASE_URL", None),
]


@pytest.mark.parametrize(("name", "value"), REFUSED, ids=lambda v: "missing" if v is None else str(v)[:12])
def test_a_missing_default_or_weak_secret_is_refused(tmp_path: Path, name: str, value: str | None) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(prod(tmp_path, **{name: value}))


@pytest.mark.parametrize("name", ["HEXPAY_ADMIN_TOKEN", "HEXPAY_JWT_SECRET", "HEXPAY_SECRET_KEY"])
def test_the_development_secrets_are_refused_in_prod(tmp_path: Path, name: str, measure: Measure) -> None:
    """`make run` generates secrets under var/; a prod deployment that reuses them is refused."""
    dev = Settings.from_env({"HEXPAY_ENV": "dev", "HEXPAY_VAR_DIR": str(tmp_path / "var")})
    assert len(dev.generated) == 3
    kept = json.loads((tmp_path / "var" / "dev-secrets.json").read_text())
    value = {"HEXPAY_ADMIN_TOKEN": kept["admin_token"], "HEXPAY_JWT_SECRET": kept["jwt_secret"],
             "HEXPAY_SECRET_KEY": kept["secret_key"]}[name]
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(prod(tmp_path, **{name: value}))
    # Elsewhere (another machine, no var/ left behind) the development admin token is still recognisable.
    if name == "HEXPAY_ADMIN_TOKEN":
        with pytest.raises(SettingsError, match=name):
            Settings.from_env(prod(tmp_path / "elsewhere", **{name: value}))
    measure("dev secret refused in prod", secret=name, length=len(value))


def test_the_server_refuses_to_start_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("HEXPAY_")]:
        monkeypatch.delenv(name)
    for name, value in prod(tmp_path, HEXPAY_SECRET_KEY=None).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as refused:
        main(["serve", "--no-migrate", "--port", "0"])  # exits before uvicorn is imported
    assert "HEXPAY_SECRET_KEY" in str(refused.value.code)
    with pytest.raises(SettingsError, match="HEXPAY_SECRET_KEY"):
        create_asgi_app()  # what uvicorn's workers call: no app without the secrets either
