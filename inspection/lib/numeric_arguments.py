"""Settings handed to an engine constructor that must be numbers: refused at the request, not in the worker.

The engine's constructors only store what they are given (scikit-learn's
contract), so text, NaN, infinity or a negative size would otherwise fail a
job later. A setting is checked when its constructor default is a number:
it must then be a finite, non-negative number (a whole one when the default
is an integer), or None where the signature allows None.
"""

from __future__ import annotations

import inspect
import math

from inspection.errors import InvalidInput


def _numeric_defaults(target: type) -> tuple[dict, set]:
    defaults, optional = {}, set()
    for klass in reversed(target.__mro__):
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.default is not inspect.Parameter.empty:
                defaults[parameter.name] = parameter.default
            if "None" in str(parameter.annotation) or "Optional" in str(parameter.annotation):
                optional.add(parameter.name)
    return defaults, optional


def numeric_arguments_check(*, target: type, values: dict, what: str) -> None:
    """InvalidInput naming the first of `values` that is not a usable number for `target`'s constructor.

    `what` starts the message, e.g. "Parameter" gives "Parameter epochs must be a whole number, not 'six'."
    """
    defaults, optional = _numeric_defaults(target)
    for name, value in values.items():
        default = defaults.get(name)
        if isinstance(default, bool) or not isinstance(default, (int, float)) or (value is None and name in optional):
            continue
        wants_whole = isinstance(default, int)
        kind = "a whole number" if wants_whole else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidInput(f"{what} {name} must be {kind}, not {value!r}.")
        if wants_whole and value != int(value):
            raise InvalidInput(f"{what} {name} must be a whole number, not {value!r}.")
        if value < 0:
            raise InvalidInput(f"{what} {name} cannot be negative (got {value!r}).")
