"""Money as integer micro-units (1/1,000,000 of the currency unit), never floats.

The budget tables store micros (see ``adapters.storage.schema``); callers speak
``Decimal``. Conversions are explicit about rounding: configured amounts (budget
limits) must be exact, estimates and actual costs round *up* to the next micro so
the reserved amount never understates what a send may cost.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal, InvalidOperation

from adapters.policy.errors import PolicyInputError

MICROS = Decimal(1_000_000)
# One trillion currency units: a sum of three such amounts (reserved + spent + an
# estimate, as the budget check computes) still fits the BIGINT columns.
MAX_MICROS = 10**18


def to_micros(amount: Decimal, *, field: str, exact: bool = True) -> int:
    """A non-negative amount in micros.

    Args:
        amount: The amount in currency units (a ``Decimal``; floats are refused).
        field: The name reported when the amount is unusable.
        exact: Refuse amounts finer than a micro (``True``) or round them up.

    Raises:
        PolicyInputError: Not a finite non-negative Decimal, above ``MAX_MICROS``, or
            (``exact``) finer than a micro.
    """
    if not isinstance(amount, Decimal):
        raise PolicyInputError(
            field, f"money must be a Decimal, not {type(amount).__name__} (floats lose cents)"
        )
    if not amount.is_finite() or amount < 0:
        raise PolicyInputError(field, f"must be a finite amount >= 0, got {amount}")
    scaled = amount * MICROS
    try:
        rounded = scaled.to_integral_value(rounding=ROUND_CEILING)
    except InvalidOperation as error:  # pragma: no cover - only for absurd exponents
        raise PolicyInputError(field, f"{amount} is out of range") from error
    if exact and rounded != scaled:
        raise PolicyInputError(field, f"{amount} has more than 6 decimal places")
    if rounded > MAX_MICROS:
        raise PolicyInputError(field, f"{amount} is more than {MAX_MICROS // 10**6} units")
    return int(rounded)


def from_micros(micros: int) -> Decimal:
    """Micros back to currency units, with six decimal places."""
    return (Decimal(micros) / MICROS).quantize(Decimal("0.000001"))


def money_text(micros: int) -> str:
    """Micros as a plain decimal string (for JSON details: money is never a float)."""
    return format(from_micros(micros).normalize(), "f")


__all__ = ["MAX_MICROS", "MICROS", "from_micros", "money_text", "to_micros"]
