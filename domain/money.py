"""Money: integer minor units and a lowercase ISO 4217 currency. Never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.errors import CurrencyMismatch, InvalidMoney, UnknownCurrency

# Minor-unit exponents from ISO 4217 for the currencies whose exponent is not 2.
_EXPONENT_NOT_TWO: dict[str, int] = {
    "bif": 0, "clp": 0, "djf": 0, "gnf": 0, "isk": 0, "jpy": 0, "kmf": 0, "krw": 0, "pyg": 0,
    "rwf": 0, "ugx": 0, "uyi": 0, "vnd": 0, "vuv": 0, "xaf": 0, "xof": 0, "xpf": 0,
    "bhd": 3, "iqd": 3, "jod": 3, "kwd": 3, "lyd": 3, "omr": 3, "tnd": 3,
    "clf": 4, "uyw": 4,
}

# Active ISO 4217 codes (exponent 2 unless listed above).
_ACTIVE_CODES = frozenset(
    """
    aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob bov brl bsd btn bwp byn bzd
    cad cdf che chf chw clf clp cny cop cou crc cuc cup cve czk djf dkk dop dzd egp ern etb eur fjd fkp gbp
    gel ghs gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr iqd irr isk jmd jod jpy kes kgs khr kmf kpw krw
    kwd kyd kzt lak lbp lkr lrd lsl lyd mad mdl mga mkd mmk mnt mop mru mur mvr mwk mxn mxv myr mzn nad ngn
    nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sdg sek sgd shp sle sll
    sos srd ssp stn svc syp szl thb tjs tmt tnd top try ttd twd tzs uah ugx usd usn uyi uyu uyw uzs ved ves
    vnd vuv wst xaf xcd xcg xof xpf yer zar zmw zwg zwl
    """.split()
)


def currency_exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (ISO 4217)."""
    if currency not in _ACTIVE_CODES:
        raise UnknownCurrency(f"unknown currency {currency!r}: expected a lowercase ISO 4217 code")
    return _EXPONENT_NOT_TWO.get(currency, 2)


def is_known_currency(currency: str) -> bool:
    return currency in _ACTIVE_CODES


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in integer minor units of one currency (cents for usd, yen for jpy, fils for kwd)."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        # Every sum and product makes a Money: a plain int, the common case, is told apart by its type alone.
        amount = self.amount
        if type(amount) is not int and (isinstance(amount, bool) or not isinstance(amount, int)):
            raise InvalidMoney("amount must be an integer number of minor units")
        if self.currency not in _ACTIVE_CODES:
            currency_exponent(self.currency)  # raises UnknownCurrency, with its message

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal_string(cls, text: str, currency: str) -> Money:
        """Parse "12.34" in the currency's major unit; more decimals than the currency has is an error."""
        exponent = currency_exponent(currency)
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise InvalidMoney(f"not a decimal amount: {text!r}") from exc
        if not value.is_finite():
            raise InvalidMoney(f"not a finite amount: {text!r}")
        minor = value.scaleb(exponent)
        if minor != minor.to_integral_value():
            raise InvalidMoney(f"{text} has more decimals than {currency} allows ({exponent})")
        return cls(int(minor), currency)

    def to_decimal_string(self) -> str:
        exponent = currency_exponent(self.currency)
        sign = "-" if self.amount < 0 else ""
        digits = str(abs(self.amount))
        if exponent == 0:
            return sign + digits
        digits = digits.rjust(exponent + 1, "0")
        return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise InvalidMoney("money can only be multiplied by an integer")
        return Money(self.amount * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    def __str__(self) -> str:
        return f"{self.to_decimal_string()} {self.currency}"
