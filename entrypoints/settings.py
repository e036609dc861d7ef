"""Settings from the environment (API.md "Running it"). Development secrets are generated once and kept
under the var directory, so `make run` works with nothing configured; HEXPAY_ENV=prod refuses them."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet


class SettingsError(Exception):
    pass


_DEV_ADMIN_PREFIX = "dev_admin_"  # marks the generated development admin token wherever it is copied to
# Values that must never protect a production deployment.
_DEFAULT_LOOKING = {"", "changeme", "change-me", "secret", "dev", "development", "test", "admin", "password"}


@dataclass(frozen=True)
class Settings:
    env: str
    database_url: str
    admin_token: str = field(repr=False)
    jwt_secret: str = field(repr=False)
    secret_keys: tuple[str, ...] = field(repr=False)  # the first seals, all open (rotation)
    jwt_subject_claim: str = "sub"
    cors_origins: tuple[str, ...] = ()
    public_base_url: str = "http://127.0.0.1:8000"
    var_dir: Path = Path("var")
    log_level: str = "INFO"
    generated: tuple[str, ...] = ()  # names of the development secrets made for this run
    # The most database connections one worker process opens for requests (None: the engine's default, 40), beside
    # one for its gateway account listener: size Postgres's max_connections for workers x (this + 2), or lower it.
    database_connections: int | None = None

    @property
    def is_prod(self) -> bool:
        return self.env == "prod"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        mode = env.get("HEXPAY_ENV", "dev")
        if mode not in ("dev", "prod"):
            raise SettingsError("HEXPAY_ENV must be dev or prod")
        var_dir = Path(env.get("HEXPAY_VAR_DIR", "var"))
        names = {"admin_token": "HEXPAY_ADMIN_TOKEN", "jwt_secret": "HEXPAY_JWT_SECRET",
                 "secret_key": "HEXPAY_SECRET_KEY"}
        given = {key: env.get(var, "") for key, var in names.items()}
        generated: list[str] = []
        if mode == "prod":
            development = set(_kept_dev_secrets(var_dir).values())
            for key, var in names.items():
                # HEXPAY_SECRET_KEY is a list (rotation): every key in it opens credentials, so each must be strong.
                values = given[key].split(",") if key == "secret_key" else [given[key]]
                for value in [v.strip() for v in values if v.strip()] or [""]:
                    if value.lower() in _DEFAULT_LOOKING or len(value) < 16:
                        raise SettingsError(
                            f"{var} must be set to a strong value (16+ characters) when HEXPAY_ENV=prod")
                    if value in development or value.startswith(_DEV_ADMIN_PREFIX):
                        raise SettingsError(f"{var} is a development secret (made by `make run`); "
                                            "HEXPAY_ENV=prod needs its own")
        else:
            missing = [key for key, value in given.items() if not value]
            if missing:
                kept = _dev_secrets(var_dir)
                for key in missing:
                    given[key] = kept[key]
                    generated.append(names[key])
        database_url = env.get("HEXPAY_DATABASE_URL") or f"sqlite+aiosqlite:///{(var_dir / 'hexpay.db').as_posix()}"
        if mode == "prod" and "HEXPAY_DATABASE_URL" not in env:
            raise SettingsError("HEXPAY_DATABASE_URL must be set when HEXPAY_ENV=prod")
        connections = env.get("HEXPAY_DATABASE_CONNECTIONS", "").strip()
        if connections and not (connections.isdigit() and 1 <= int(connections) <= 1000):
            raise SettingsError("HEXPAY_DATABASE_CONNECTIONS must be a whole number from 1 to 1000 "
                                "(connections per worker process)")
        return cls(
            env=mode,
            database_url=database_url,
            admin_token=given["admin_token"],
            jwt_secret=given["jwt_secret"],
            secret_keys=tuple(k.strip() for k in given["secret_key"].split(",") if k.strip()),
            jwt_subject_claim=env.get("HEXPAY_JWT_SUBJECT_CLAIM", "sub") or "sub",
            cors_origins=tuple(o.strip() for o in env.get("HEXPAY_CORS_ORIGINS", "").split(",") if o.strip()),
            public_base_url=env.get("HEXPAY_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            var_dir=var_dir,
            log_level=env.get("HEXPAY_LOG_LEVEL", "INFO"),
            generated=tuple(generated),
            database_connections=int(connections) if connections else None,
        )


def _kept_dev_secrets(var_dir: Path) -> dict[str, str]:
    path = var_dir / "dev-secrets.json"
    try:
        return {k: str(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _dev_secrets(var_dir: Path) -> dict[str, str]:
    """Development secrets, made once and kept in var/dev-secrets.json (mode 600) so restarts keep them."""
    path = var_dir / "dev-secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    var_dir.mkdir(parents=True, exist_ok=True)
    values = {
        "admin_token": _DEV_ADMIN_PREFIX + secrets.token_urlsafe(24),
        "jwt_secret": secrets.token_urlsafe(32),
        "secret_key": Fernet.generate_key().decode(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle)
    return values
