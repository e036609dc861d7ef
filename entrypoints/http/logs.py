"""Structured logs: one JSON object per line, with every known shape of secret masked on the way out.

Masking is the last line of defence, not the first: nothing in hexpay logs a secret on purpose (the request log
has no headers, no query string and no body). But an exception message can quote anything it was given, so the
formatter masks card numbers, Stripe-style secret keys, webhook secrets, client secrets, JWTs, bearer
credentials and the configured secrets themselves in every line, from every logger.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from entrypoints.settings import Settings

MASK = "[redacted]"

_PATTERNS = [
    r"\b(?:\d[ -]?){12,18}\d\b",  # card numbers, with or without separators
    r"\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9_]+",
    r"\bwhsec_[A-Za-z0-9_]+",
    r"\b[a-z]+_[A-Za-z0-9]+_secret_[A-Za-z0-9_]+",  # PaymentIntent / SetupIntent client secrets
    r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",  # JWTs
    r"(?i:\b(?P<scheme>bearer)\s+[^\s\"',]+)",
]

# LogRecord's own attributes: everything else on a record came from `extra=` and is written as a field
# (except uvicorn's terminal-colour copy of its message).
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
_encode = msgspec.json.Encoder(enc_hook=str).encode
# A record attribute (not written): the names of the only fields of the line that may carry outside text.
VOUCHED = "_redact_only"
# A record attribute (not written): the names of all the fields the line carries, given by a logger that knows
# them, so the formatter need not scan the record's two dozen attributes for them.
FIELDS = "_fields"


class Redactor:
    """Every shape of secret and every configured secret, masked in one pass over the line (one alternation:
    a request's log line is read once, not once per pattern)."""

    def __init__(self, literal_secrets: Iterable[str] = ()) -> None:
        # Short values would mask innocent text; the settings refuse short secrets in prod anyway.
        literals = sorted({s for s in literal_secrets if s and len(s) >= 8}, key=len, reverse=True)
        self._pattern = re.compile("|".join([*(re.escape(s) for s in literals), *_PATTERNS]))

    def __call__(self, text: str) -> str:
        return self._pattern.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    scheme = match.group("scheme")
    return f"{scheme} {MASK}" if scheme else MASK


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self._redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        """Every line is redacted whole, except a line whose logger vouches for all its fields but a few
        (`extra={VOUCHED: ("request_id",)}`, the request log): then only those few are (none when the logger
        vouches for all), which is a tenth of the work on the line every request writes."""
        line: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        attributes = vars(record)
        named = attributes.get(FIELDS)
        if named is None:
            for key, value in attributes.items():
                if key not in _STANDARD and not key.startswith("_"):
                    line[key] = value
        else:
            for key in named:
                line[key] = attributes[key]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        unvouched = getattr(record, VOUCHED, None)
        if unvouched is not None and not record.exc_info and not record.args:
            for key in unvouched:
                if key in line:
                    line[key] = self._redact(str(line[key]))
            return _encode(line).decode()
        return self._redact(_encode(line).decode())


_second: list[Any] = [None, ""]  # the last whole second written, and its text up to the seconds


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC to the millisecond ("2026-11-26T23:38:54.123Z"); the date and time part is made once per
    second, not once per line."""
    second = int(created)
    if _second[0] != second:
        _second[:] = [second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")]
    return f"{_second[1]}.{int((created - second) * 1000):03d}Z"


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installed, so configuring again replaces it instead of adding one."""


def configure_logging(level: str = "INFO", literal_secrets: Iterable[str] = ()) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(handler)
    handler = _OurHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(Redactor(literal_secrets)))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx logs every URL it calls at INFO; the gateway adapters' URLs are not worth a line each.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def configure_logging_for(settings: Settings) -> None:
    """The settings' level, with every configured secret masked: what each process of `hexpay serve` logs with."""
    configure_logging(settings.log_level, (settings.admin_token, settings.jwt_secret, *settings.secret_keys))
