"""Gateway credentials are sealed at rest (AES-256-GCM-SIV, key from HEXPAY_SECRET_KEY), on SQLite and
Postgres; rotation opens old rows with old keys, seals new writes with the new one, and `hexpay secrets rotate`
re-seals everything (credentials, payments' client secrets) so the old key can go."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from adapters.crypto import TOKEN_PREFIX, AeadSecretBox, derive_fernet_key
from adapters.sqlalchemy import create_engine
from adapters.sqlalchemy.tables import gateway_accounts, idempotency_keys, payments
from application.ports.repositories import IdempotencyRecord
from application.use_cases.gateway_accounts import RegisterGatewayAccountCommand
from application.use_cases.orders import CreateOrderCommand, OrderLineInput
from application.use_cases.payment_methods import Shopper
from application.use_cases.payments import CreatePaymentCommand
from domain.payment import Payment
from entrypoints.cli import main
from entrypoints.container import Container
from tests.e2e.conftest import e2e_container, e2e_settings
from tests.fakes.measurements import Measure

SECRET_KEY = "sk_test_at_rest_" + "s" * 24
WEBHOOK_SECRET = "whsec_at_rest_" + "w" * 24


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


def container_with(database_url: str, *keys: str) -> Container:
    return e2e_container(e2e_settings(database_url, secret_keys=keys))


async def register(container: Container, name: str) -> str:
    account = await container.register_gateway()(RegisterGatewayAccountCommand(
        name=name, kind="sandbox", secret_key=SECRET_KEY, publishable_key="pk_test_at_rest",
        webhook_secret=WEBHOOK_SECRET))
    return account.id


async def raw_rows(database_url: str) -> list[dict[str, Any]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return [dict(row) for row in (await connection.execute(select(gateway_accounts))).mappings()]
    finally:
        await engine.dispose()


async def open_payment(container: Container, account_id: str) -> Payment:
    """A payment whose intent is open at the gateway: it holds a sealed client_secret."""
    view = await container.create_order()(CreateOrderCommand(
        customer_reference="rotating-shopper", currency="usd", lines=(OrderLineInput("Tea", 1, 900),)))
    intent = await container.create_payment()(CreatePaymentCommand(
        Shopper("rotating-shopper"), view.order.id, account_id))
    assert intent.payment.client_secret
    return intent.payment


async def account_and_payment(database_url: str, name: str, *keys: str) -> tuple[str, Payment]:
    """A gateway account and a payment with its intent open, written by a process that then ends."""
    container = container_with(database_url, *keys)
    try:
        account_id = await register(container, name)
        return account_id, await open_payment(container, account_id)
    finally:
        await container.engine().dispose()


async def rotate_by_cli(database_url: str, keys: str, var_dir: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> str:
    for name, value in cli_environment(database_url, keys, var_dir).items():
        monkeypatch.setenv(name, value)
    await asyncio.to_thread(main, ["secrets", "rotate"])  # the CLI runs its own event loop
    return capsys.readouterr().out


async def raw_client_secrets(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return [row[0] for row in await connection.execute(select(payments.c.client_secret_sealed))]
    finally:
        await engine.dispose()


def opens_with(token: str, key: str) -> str | None:
    try:
        return AeadSecretBox([key]).open(token)
    except ValueError:
        return None


async def test_credentials_are_sealed_in_the_database_row(database_url: str, measure: Measure) -> None:
    key = Fernet.generate_key().decode()
    container = container_with(database_url, key)
    try:
        account_id = await register(container, "At rest")
        loaded = await container.get_gateway()(account_id)
    finally:
        await container.engine().dispose()
    assert loaded.credentials.secret_key.reveal() == SECRET_KEY
    assert SECRET_KEY not in repr(loaded) and WEBHOOK_SECRET not in str(loaded.credentials)

    [row] = await raw_rows(database_url)
    assert SECRET_KEY not in repr(row) and WEBHOOK_SECRET not in repr(row)
    assert opens_with(row["secret_key_sealed"], key) == SECRET_KEY
    assert opens_with(row["webhook_secret_sealed"], key) == WEBHOOK_SECRET
    assert opens_with(row["secret_key_sealed"], Fernet.generate_key().decode()) is None  # no key, no secret
    token = row["secret_key_sealed"]
    tampered = token[:20] + ("B" if token[20] != "B" else "C") + token[21:]
    assert opens_with(tampered, key) is None  # authenticated: a changed token is refused, not misread
    scanned = 0
    if database_url.startswith("sqlite"):
        path = Path(database_url.split("///", 1)[1])
        for file in path.parent.glob(path.name + "*"):  # the database and its write-ahead log
            content = file.read_bytes()
            scanned += len(content)
            assert SECRET_KEY.encode() not in content and WEBHOOK_SECRET.encode() not in content
    measure("sealed at rest", database=database_url.split(":", 1)[0], token_length=len(row["secret_key_sealed"]),
            sqlite_bytes_scanned=scanned)


async def test_rotation_old_keys_open_new_writes_use_the_new_key_and_rotate_reseals(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    measure: Measure,
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first, paying = await account_and_payment(database_url, "Before rotation", old)

    rotating = container_with(database_url, new, old)  # the new key first: it seals; both open
    try:
        assert (await rotating.get_gateway()(first)).credentials.secret_key.reveal() == SECRET_KEY
        second = await register(rotating, "During rotation")
    finally:
        await rotating.engine().dispose()
    rows = {row["id"]: row for row in await raw_rows(database_url)}
    assert opens_with(rows[second]["secret_key_sealed"], new) == SECRET_KEY
    assert opens_with(rows[second]["secret_key_sealed"], old) is None
    assert opens_with(rows[first]["secret_key_sealed"], new) is None  # still under the old key

    only_new = container_with(database_url, new)
    try:
        with pytest.raises(ValueError):
            await only_new.get_gateway()(first)  # dropping the old key now would lose the first account
        with pytest.raises(ValueError):
            await only_new.get_payment()(paying.id)  # and the payment's client_secret
    finally:
        await only_new.engine().dispose()

    said = await rotate_by_cli(database_url, f"{new},{old}", tmp_path, monkeypatch, capsys)
    assert "re-sealed the credentials of 2 gateway account(s) and the client secrets of 1 payment(s)" in said

    rows = {row["id"]: row for row in await raw_rows(database_url)}
    for row in rows.values():
        for column, plain in (("secret_key_sealed", SECRET_KEY), ("webhook_secret_sealed", WEBHOOK_SECRET)):
            assert opens_with(row[column], new) == plain and opens_with(row[column], old) is None
    [sealed_client_secret] = await raw_client_secrets(database_url)
    assert opens_with(sealed_client_secret, new) == paying.client_secret
    assert opens_with(sealed_client_secret, old) is None
    after = container_with(database_url, new)  # the old key is gone for good
    try:
        for account_id in (first, second):
            assert (await after.get_gateway()(account_id)).credentials.webhook_secret.reveal() == WEBHOOK_SECRET
        assert (await after.get_payment()(paying.id)).client_secret == paying.client_secret
    finally:
        await after.engine().dispose()
    measure("rotation", database=database_url.split(":", 1)[0], accounts_resealed=len(rows),
            cli=said.strip())


async def seal_as_fernet_did(database_url: str, key: str, client_secret: str) -> None:
    """Rewrite the sealed columns the way hexpay sealed them before AES-256-GCM-SIV: Fernet tokens."""
    fernet = Fernet(derive_fernet_key(key))
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(update(gateway_accounts).values(
                secret_key_sealed=fernet.encrypt(SECRET_KEY.encode()).decode(),
                webhook_secret_sealed=fernet.encrypt(WEBHOOK_SECRET.encode()).decode()))
            await connection.execute(update(payments).values(
                client_secret_sealed=fernet.encrypt(client_secret.encode()).decode()))
    finally:
        await engine.dispose()


async def test_rows_sealed_by_fernet_before_still_open_and_rotate_moves_them_over(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    measure: Measure,
) -> None:
    key = AeadSecretBox.generate_key()
    account_id, paying = await account_and_payment(database_url, "Sealed by Fernet", key)
    assert paying.client_secret is not None
    await seal_as_fernet_did(database_url, key, paying.client_secret)
    [row] = await raw_rows(database_url)
    assert row["secret_key_sealed"].startswith("gAAAAA")  # as an earlier version left it

    upgraded = container_with(database_url, key)  # a new process, nothing remembered
    try:
        assert (await upgraded.get_gateway()(account_id)).credentials.secret_key.reveal() == SECRET_KEY
        assert (await upgraded.get_payment()(paying.id)).client_secret == paying.client_secret
    finally:
        await upgraded.engine().dispose()

    said = await rotate_by_cli(database_url, key, tmp_path, monkeypatch, capsys)
    [row] = await raw_rows(database_url)
    [sealed_client_secret] = await raw_client_secrets(database_url)
    tokens = (row["secret_key_sealed"], row["webhook_secret_sealed"], sealed_client_secret)
    assert all(token.startswith(TOKEN_PREFIX) for token in tokens), tokens
    assert opens_with(row["webhook_secret_sealed"], key) == WEBHOOK_SECRET
    assert opens_with(sealed_client_secret, key) == paying.client_secret
    measure("fernet rows moved over", database=database_url.split(":", 1)[0], cli=said.strip())


def cli_environment(database_url: str, keys: str, var_dir: Path) -> dict[str, str]:
    return {"HEXPAY_ENV": "dev", "HEXPAY_DATABASE_URL": database_url, "HEXPAY_SECRET_KEY": keys,
            "HEXPAY_VAR_DIR": str(var_dir), "HEXPAY_ADMIN_TOKEN": "cli-admin-" + "a" * 24,
            "HEXPAY_JWT_SECRET": "cli-jwt-" + "j" * 24}


async def claim_key(container: Container, key: str) -> IdempotencyRecord | None:
    """Ann's claim of an Idempotency-Key, committed: None when it is new, else the record found (a replay)."""
    async with container.uow_factory()() as uow:
        found = await uow.idempotency.claim(IdempotencyRecord(
            caller="shopper:ann", key=key, fingerprint="f", created_at=container.clock().now()))
        await uow.commit()
    return found


async def test_stored_idempotent_answers_are_sealed(database_url: str, measure: Measure) -> None:
    """An intent's answer carries its client_secret and is kept 24 h for replays: never in plain text."""
    key = Fernet.generate_key().decode()
    container = container_with(database_url, key)
    answer = b'{"payment_id": "pay_1", "client_secret": "pi_1_secret_at_rest_check"}'
    try:
        assert await claim_key(container, "k-1") is None
        async with container.uow_factory()() as uow:
            await uow.idempotency.complete("shopper:ann", "k-1", 201, answer, {"content-type": "application/json"})
            await uow.commit()
        replay = await claim_key(container, "k-1")
    finally:
        await container.engine().dispose()
    assert replay is not None and (replay.status_code, replay.response_body) == (201, answer)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            [row] = (await connection.execute(select(idempotency_keys))).mappings().all()
    finally:
        await engine.dispose()
    stored = bytes(row["response_body"])
    assert b"secret_at_rest_check" not in stored and b"client_secret" not in stored
    measure("idempotent answer sealed", database=database_url.split(":", 1)[0], stored_bytes=len(stored))


async def test_an_answer_stored_before_binary_sealing_still_replays(database_url: str) -> None:
    """Until this version an answer was kept as the text token of its base64; records live 24 hours, so those
    written just before an upgrade are still replayed after it."""
    key = Fernet.generate_key().decode()
    container = container_with(database_url, key)
    answer = b'{"payment_id": "pay_1", "client_secret": "pi_1_secret_from_before"}'
    legacy = AeadSecretBox([key]).seal(base64.b64encode(answer).decode()).encode()
    try:
        assert await claim_key(container, "k-old") is None
        engine = create_engine(database_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(update(idempotency_keys).where(idempotency_keys.c.key == "k-old").values(
                    status_code=201, response_body=legacy))
        finally:
            await engine.dispose()
        replay = await claim_key(container, "k-old")
    finally:
        await container.engine().dispose()
    assert replay is not None and (replay.status_code, replay.response_body) == (201, answer)
