"""From a recorded request to a statement plan, and from a plan to a pgbench script or the bare handler's calls.

A plan is the list of statements one request sent, in order, each parameter traced to where its value came from:
  ctx    a value the HTTP request carried (the order id in the body, the shopper in the token, the key header)
  row    a column of the single row an earlier statement returned (hexpay read it, then used it)
  now    a timestamp taken while the request ran
  new    an id made during the request (a payment id, the gateway's pi_ id); one slot per distinct value
  body   the response body (what the idempotency record keeps)
  print  the request's fingerprint (idempotency)
  const  anything else, kept as recorded (amounts, statuses, versions, sealed secrets, JSON documents)
Nothing is written by hand: when hexpay's statements change, the next run records, prints and uses the new ones.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bench.inprocess import Statement

_ID = re.compile(r"^([a-z]+)_([A-Za-z0-9]{16,})$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_PARAM = re.compile(r"\$(\d+)\b")
_WRITING_WITH = re.compile(r"^\s*WITH\s+\w+\s+AS\s*\(\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
NOW_WINDOW_S = 300.0


@dataclass
class Param:
    source: str
    name: str | None = None  # ctx role, row column, new id prefix
    step: int | None = None  # row: the statement whose row holds the value
    slot: str | None = None  # new: the recorded value, so each use of one new id gets the same fresh value
    width: int | None = None  # new: characters after the prefix
    value: Any = None  # const, tagged for JSON (see encode)


@dataclass
class Step:
    kind: str  # prepared | simple | extended | many
    sql: str
    params: list[Any] = field(default_factory=list)  # list[Param], or list[list[Param]] for many
    status: str | None = None
    rows: int = 0


def encode(value: Any) -> Any:
    if isinstance(value, list):  # an array parameter (the outbox's events go in as arrays)
        return [encode(v) for v in value]
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    return value


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        (tag, raw), = value.items()
        if tag == "datetime":
            return datetime.fromisoformat(raw)
        if tag == "bytes":
            return bytes.fromhex(raw)
        if tag == "decimal":
            return Decimal(raw)
    return value


def _single_row_sources(trace: list[Statement], before: int) -> list[tuple[int, dict[str, Any]]]:
    return [(j, trace[j].rows[0]) for j in range(before - 1, -1, -1) if len(trace[j].rows) == 1]


def _classify(value: Any, index: int, trace: list[Statement], ctx: dict[str, Any], started: float) -> Param:
    if isinstance(value, (str, datetime)) and not isinstance(value, bool):
        for role, known in ctx.items():
            if known == value:
                return Param("ctx", name=role)
        if isinstance(value, datetime) or len(value) >= 8:
            for j, row in _single_row_sources(trace, index):
                for column, seen in row.items():
                    if type(seen) is type(value) and seen == value:
                        return Param("row", name=column, step=j)
        if isinstance(value, datetime):
            if abs(value.timestamp() - started) < NOW_WINDOW_S:
                return Param("now")
            return Param("const", value=encode(value))
        match = _ID.match(value)
        if match:
            return Param("new", name=match.group(1), slot=value, width=len(match.group(2)))
        if _HEX64.match(value):
            return Param("print")
    if isinstance(value, bytes):
        return Param("body")
    return Param("const", value=encode(value))


def build(trace: list[Statement], ctx: dict[str, Any], started: float) -> list[Step]:
    steps = []
    for index, statement in enumerate(trace):
        if statement.kind == "many":
            params: list[Any] = [[_classify(v, index, trace, ctx, started) for v in row] for row in statement.args]
        else:
            params = [_classify(v, index, trace, ctx, started) for v in statement.args]
        steps.append(Step(statement.kind, " ".join(statement.sql.split()), params, statement.status,
                          len(statement.rows)))
    return steps


def to_json(steps: list[Step]) -> list[dict[str, Any]]:
    return [asdict(step) for step in steps]


def from_json(raw: list[dict[str, Any]]) -> list[Step]:
    steps = []
    for item in raw:
        params = [[Param(**p) for p in row] if isinstance(row, list) else Param(**row) for row in item["params"]]
        steps.append(Step(item["kind"], item["sql"], params, item["status"], item["rows"]))
    return steps


def summary(steps: list[Step]) -> dict[str, int]:
    """Round trips by what they are: transaction control, reads, writes."""
    out = {"statements": len(steps), "transaction": 0, "read": 0, "write": 0, "other": 0}
    for step in steps:
        verb = step.sql.split(" ", 1)[0].rstrip(";").upper()
        if verb in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            out["transaction"] += 1
        elif verb == "SELECT" and "pg_advisory" not in step.sql:
            out["read"] += 1
        elif verb in ("INSERT", "UPDATE", "DELETE") or _WRITING_WITH.match(step.sql):
            out["write"] += 1  # (a claim's or the held writes' data-modifying WITH: a write that may read too)
        else:
            out["other"] += 1
    return out


# ---- pgbench ---------------------------------------------------------------------------------------------------
def sql_literal(value: Any) -> str:
    value = decode(value)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, bytes):
        return "'\\x" + value.hex() + "'"
    if isinstance(value, list):  # an `= ANY($1)` parameter
        return "ARRAY[" + ", ".join(sql_literal(v) for v in value) + "]::text[]" if value else "'{}'::text[]"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if ":" not in text:
        return "'" + text.replace("'", "''") + "'"
    # pgbench takes :name for one of its variables, even inside quotes: spell the colons as escapes.
    return "E'" + text.replace("\\", "\\\\").replace("'", "''").replace(":", "\\x3A") + "'"


class PgbenchRenderer:
    """ctx_sql: for each ctx role, an SQL expression over the script's variables (:n, :c ...); new_sql: for an id
    prefix, an SQL expression for the fresh id (default: random, unique enough)."""

    def __init__(self, ctx_sql: dict[str, str], new_sql: dict[str, str] | None = None) -> None:
        self.ctx_sql, self.new_sql = ctx_sql, new_sql or {}

    def render(self, steps: list[Step]) -> list[str]:
        gset = {p.step for s in steps for p in _flat(s.params) if p.source == "row"}
        slots: dict[str, str] = {}
        lines: list[str] = []
        for index, step in enumerate(steps):
            for p in _flat(step.params):
                if p.source == "new" and p.slot not in slots and p.name not in self.new_sql:
                    var = f"r{len(slots)}"
                    slots[p.slot or ""] = var
                    lines.append(f"\\set {var} random(1, 999999999999999)")
            if step.kind == "many":
                lines.append("\\startpipeline")
                lines.extend(self._statement(step.sql, row, slots) + ";" for row in step.params)
                lines.append("\\endpipeline")
                continue
            text = self._statement(step.sql, step.params, slots)
            if step.sql.strip() == ";":  # asyncpg's ping: an empty query
                text = "SELECT"
            lines.append(text.rstrip(";") + (f" \\gset s{index}_" if index in gset else ";"))
        return lines

    def _statement(self, sql: str, params: list[Param], slots: dict[str, str]) -> str:
        def value(match: re.Match[str]) -> str:
            return self._expression(params[int(match.group(1)) - 1], slots)

        return _PARAM.sub(value, sql)

    def _expression(self, p: Param, slots: dict[str, str]) -> str:
        if p.source == "ctx":
            return self.ctx_sql[p.name or ""]
        if p.source == "row":
            return f":s{p.step}_{p.name}"
        if p.source == "now":
            return "now()"
        if p.source == "new":
            if p.name in self.new_sql:
                return self.new_sql[p.name or ""]
            return f"('{p.name}_x' || lpad(:{slots[p.slot or '']}::text, {(p.width or 24) - 1}, '0'))"
        if p.source in ("body", "print", "const"):
            return sql_literal(p.value)
        raise ValueError(p.source)


def _flat(params: list[Any]) -> list[Param]:
    out: list[Param] = []
    for p in params:
        out.extend(p if isinstance(p, list) else [p])
    return out


def keep_recorded_values(steps: list[Step], trace: list[Statement]) -> None:
    """pgbench has no response body and no fingerprint of its own: it sends the recorded ones."""
    for step, statement in zip(steps, trace, strict=True):
        rows = step.params if step.kind == "many" else [step.params]
        args = statement.args if step.kind == "many" else [statement.args]
        for params, values in zip(rows, args, strict=True):
            for p, v in zip(params, values, strict=True):
                if p.source in ("body", "print"):
                    p.value = encode(v)


# ---- the bare handler ------------------------------------------------------------------------------------------
def fresh_id(prefix: str, width: int) -> str:
    return f"{prefix}_{base64.b32encode(os.urandom(20)).decode().lower()[:width]}"


def now() -> datetime:
    return datetime.now(UTC)
