"""The credentials of one bench run: made fresh each run, shared by the in-process hexpay that builds the
templates, the servers under test and the load client (which mints the shoppers' tokens and signs webhooks)."""

from __future__ import annotations

import secrets
import tempfile
import time
from dataclasses import dataclass, field

import jwt
from cryptography.fernet import Fernet

from entrypoints.settings import Settings

GATEWAY_SECRET_KEY = "sk_test_bench_" + "k" * 24
PUBLISHABLE_KEY = "pk_test_bench"


@dataclass(frozen=True)
class BenchSecrets:
    admin_token: str = field(default_factory=lambda: "bench-admin-" + secrets.token_urlsafe(24))
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    secret_key: str = field(default_factory=lambda: Fernet.generate_key().decode())
    webhook_secret: str = field(default_factory=lambda: "whsec_" + secrets.token_hex(16))
    var_dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="hexpay-bench-var-"))

    def settings(self, database_url: str) -> Settings:
        return Settings(env="prod", database_url=database_url, admin_token=self.admin_token,
                        jwt_secret=self.jwt_secret, secret_keys=(self.secret_key,),
                        public_base_url="http://127.0.0.1:8000", log_level="WARNING")

    def server_env(self, database_url: str) -> dict[str, str]:
        """hexpay's settings as `hexpay serve` reads them in production."""
        return {
            "HEXPAY_ENV": "prod",
            "HEXPAY_DATABASE_URL": database_url,
            "HEXPAY_ADMIN_TOKEN": self.admin_token,
            "HEXPAY_JWT_SECRET": self.jwt_secret,
            "HEXPAY_SECRET_KEY": self.secret_key,
            "HEXPAY_VAR_DIR": self.var_dir,
        }

    def shopper_token(self, reference: str, ttl_s: int = 6 * 3600) -> str:
        return jwt.encode({"sub": reference, "exp": int(time.time()) + ttl_s}, self.jwt_secret, algorithm="HS256")
