"""Numbers read from query parameters: refused with a message (400) unless they are plain, finite numbers."""

from __future__ import annotations

import math
import re

from inspection.errors import InvalidInput

# ASCII only: Python's float() and int() also take "nan", "inf", "1_000" and
# other scripts' digits, none of which a person means as a query number.
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_ID = re.compile(r"\d+", re.ASCII)


def query_number(request, name: str) -> float | None:
    """The finite number in query parameter `name`, None when it is absent or empty."""
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    number = float(value) if _DECIMAL.fullmatch(value) else math.nan
    if not math.isfinite(number):
        raise InvalidInput(f"{name} must be a finite number such as 12.5, not {value!r}.")
    return number


def query_id(request, name: str, *, what: str) -> int | None:
    """The id (a whole number, 1 or more) in query parameter `name`, None when it is absent or empty."""
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    if not _ID.fullmatch(value) or int(value) < 1:
        raise InvalidInput(f"{name} must be {what} (a whole number), not {value!r}.")
    return int(value)
