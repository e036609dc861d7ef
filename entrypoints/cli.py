"""`hexpay`: serve | dev | db upgrade | gateways add/list | token | reconcile | worker | secrets rotate | demo."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from entrypoints.settings import Settings, SettingsError

if TYPE_CHECKING:
    from domain.gateway_account import GatewayAccount


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"hexpay: {exc}")


def _upgrade(settings: Settings) -> None:
    from adapters.sqlalchemy import upgrade_to_head

    if settings.database_url.startswith("sqlite"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings.database_url)


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    settings = _settings()
    _upgrade(settings)
    print("database is at the latest migration")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from entrypoints import workers

    settings = _settings()
    if not args.no_migrate:
        _upgrade(settings)
    if args.workers > 1 and workers.spreads_by_hash() and not args.shared_socket:
        # A listening socket per worker (entrypoints/workers.py): uvicorn's workers share one, and keep-alive
        # connections can pile up on whichever worker was awake when they arrived.
        from entrypoints.http.logs import configure_logging_for

        configure_logging_for(settings)
        try:
            sockets = workers.bind_sockets(args.host, args.port, args.workers)
        except OSError as exc:
            sys.exit(f"hexpay: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        options = workers.ServeOptions(host=args.host, port=args.port)
        sys.exit(workers.Supervisor(options, sockets).run())
    uvicorn.run(**workers.ServeOptions(host=args.host, port=args.port).uvicorn_config(), workers=args.workers)


def cmd_dev(args: argparse.Namespace) -> None:
    """What `make run` does: migrate, make sure a sandbox gateway exists, print how to call it, serve."""
    import os

    os.environ.setdefault("HEXPAY_PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")
    settings = _settings()
    _upgrade(settings)
    gateway = asyncio.run(_ensure_sandbox_gateway())
    token = _mint_token(settings, "shopper-1", "shopper@example.com", timedelta(days=7))
    base = settings.public_base_url
    line = '{"description": "Tea", "quantity": 2, "unit_amount": 1250}'
    print(f"""
hexpay is starting on {base}  (database: {settings.database_url}, gateway: sandbox {gateway.id})

  admin token    {settings.admin_token}
  shopper token  {token}   (sub=shopper-1, valid 7 days)

Try it: `.venv/bin/hexpay demo` in another terminal runs a whole 3-D Secure purchase; README.md walks
through the same with curl. The first call:

  export HEXPAY={base} ADMIN="{settings.admin_token}" SHOPPER="{token}" GATEWAY={gateway.id}
  curl -s -X POST $HEXPAY/api/v1/admin/orders/ -H "Authorization: Bearer $ADMIN" \\
       -H 'Content-Type: application/json' \\
       -d '{{"customer": {{"reference": "shopper-1"}}, "currency": "usd", "lines": [{line}]}}'

  OpenAPI: {base}/schema/openapi.json   health: {base}/health/ready   metrics: {base}/metrics
""", flush=True)
    args.no_migrate = True
    args.workers = 1  # the sandbox keeps its state in this process
    cmd_serve(args)


async def _ensure_sandbox_gateway() -> GatewayAccount:
    from application.use_cases.gateway_accounts import RegisterGatewayAccountCommand
    from entrypoints.container import Container

    container = Container()
    try:
        accounts = await container.list_gateways()(active_only=True)
        for account in accounts:
            if account.kind == "sandbox":
                return account
        import secrets

        return await container.register_gateway()(RegisterGatewayAccountCommand(
            name="Sandbox", kind="sandbox", secret_key="sk_test_sandbox_" + secrets.token_hex(8),
            publishable_key="pk_test_sandbox_" + secrets.token_hex(8),
            webhook_secret="whsec_" + secrets.token_hex(16)))
    finally:
        await container.engine().dispose()


def _mint_token(settings: Settings, subject: str, email: str | None, ttl: timedelta) -> str:
    import jwt

    claims: dict[str, object] = {settings.jwt_subject_claim: subject,
                                 "exp": int((datetime.now(UTC) + ttl).timestamp())}
    if email:
        claims["email"] = email
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def cmd_token(args: argparse.Namespace) -> None:
    print(_mint_token(_settings(), args.sub, args.email, timedelta(minutes=args.ttl_minutes)))


def cmd_gateways_add(args: argparse.Namespace) -> None:
    from application.use_cases.gateway_accounts import RegisterGatewayAccountCommand
    from entrypoints.container import Container

    async def add() -> None:
        container = Container()
        try:
            account = await container.register_gateway()(RegisterGatewayAccountCommand(
                name=args.name, kind=args.kind, secret_key=args.secret_key, publishable_key=args.publishable_key,
                webhook_secret=args.webhook_secret, api_base=args.api_base))
            print(f"{account.id}\t{account.kind}\t{account.name}\twebhook path: {account.webhook_path}")
        finally:
            await container.engine().dispose()

    asyncio.run(add())


def cmd_gateways_list(args: argparse.Namespace) -> None:
    from entrypoints.container import Container

    async def show() -> None:
        container = Container()
        try:
            for account in await container.list_gateways()():
                state = "active" if account.is_active else "inactive"
                print(f"{account.id}\t{account.kind}\t{state}\t{account.name}\t{account.webhook_path}")
        finally:
            await container.engine().dispose()

    asyncio.run(show())


async def _reconcile_once(older_than_s: float, limit: int) -> str:
    from entrypoints.container import Container

    container = Container()
    try:
        result = await container.reconcile()(older_than=timedelta(seconds=older_than_s), limit=limit)
        return f"checked={result.checked} changed={result.changed} failed={result.failed}"
    finally:
        await container.engine().dispose()


def cmd_reconcile(args: argparse.Namespace) -> None:
    print(asyncio.run(_reconcile_once(args.older_than, args.limit)))


def cmd_worker(args: argparse.Namespace) -> None:
    """Reconcile every --interval seconds until stopped; several workers may run at once."""
    while True:
        started = time.monotonic()
        print(f"{datetime.now(UTC).isoformat()} reconcile {asyncio.run(_reconcile_once(args.older_than, args.limit))}",
              flush=True)
        time.sleep(max(0.0, args.interval - (time.monotonic() - started)))


def cmd_secrets_rotate(args: argparse.Namespace) -> None:
    """After putting a new key first in HEXPAY_SECRET_KEY (old ones after it): re-seal every secret at rest with
    the new key (gateway credentials, payments' client secrets), so the old keys can then be removed."""
    from application.use_cases.gateway_accounts import ReencryptCredentials, Resealed
    from entrypoints.container import Container

    async def rotate() -> Resealed:
        container = Container()
        try:
            return await ReencryptCredentials(container.uow_factory())()
        finally:
            await container.engine().dispose()

    settings = _settings()
    resealed = asyncio.run(rotate())
    print(f"re-sealed the credentials of {resealed.accounts} gateway account(s) and the client secrets of "
          f"{resealed.payments} payment(s) with the first of {len(settings.secret_keys)} key(s) in HEXPAY_SECRET_KEY")


def cmd_demo(args: argparse.Namespace) -> None:
    from entrypoints.demo import run_demo

    sys.exit(asyncio.run(run_demo(args.base_url, _settings())))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hexpay", description="hexpay payments service")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, handler, helptext in (("serve", cmd_serve, "serve the API (applies migrations first)"),
                                    ("dev", cmd_dev, "make run: migrate, sandbox gateway, tokens, serve")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.add_argument("--workers", type=int, default=1)
        p.add_argument("--shared-socket", action="store_true",
                       help="with --workers: uvicorn's workers on one shared socket instead of one each")
        p.add_argument("--no-migrate", action="store_true")
        p.set_defaults(handler=handler)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply pending migrations").set_defaults(handler=cmd_db_upgrade)

    gw = sub.add_parser("gateways", help="gateway accounts").add_subparsers(dest="gw_command", required=True)
    add = gw.add_parser("add", help="register a gateway account")
    add.add_argument("--name", required=True)
    add.add_argument("--kind", required=True, help="stripe, sandbox or a plugin's kind")
    add.add_argument("--secret-key", required=True)
    add.add_argument("--publishable-key", required=True)
    add.add_argument("--webhook-secret", required=True)
    add.add_argument("--api-base", default=None)
    add.set_defaults(handler=cmd_gateways_add)
    gw.add_parser("list", help="list gateway accounts").set_defaults(handler=cmd_gateways_list)

    token = sub.add_parser("token", help="mint a shopper JWT for local use")
    token.add_argument("--sub", required=True)
    token.add_argument("--email", default=None)
    token.add_argument("--ttl-minutes", type=int, default=60)
    token.set_defaults(handler=cmd_token)

    for name, handler in (("reconcile", cmd_reconcile), ("worker", cmd_worker)):
        p = sub.add_parser(name, help="re-read stale payments and refunds from the gateway")
        p.add_argument("--older-than", type=float, default=600.0, help="seconds untouched before a re-read")
        p.add_argument("--limit", type=int, default=200)
        if name == "worker":
            p.add_argument("--interval", type=float, default=60.0)
        p.set_defaults(handler=handler)

    secrets_group = sub.add_parser("secrets", help="keys that seal credentials at rest")
    secrets_commands = secrets_group.add_subparsers(dest="secrets_command", required=True)
    secrets_commands.add_parser("rotate", help="re-seal every secret at rest with the first key") \
        .set_defaults(handler=cmd_secrets_rotate)

    demo = sub.add_parser("demo", help="a whole sandbox purchase with 3-D Secure against a running server")
    demo.add_argument("--base-url", default="http://127.0.0.1:8000")
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.handler(args)


if __name__ == "__main__":
    main()
