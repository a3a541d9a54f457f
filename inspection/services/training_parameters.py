"""Training parameters that must be numbers: refused at the request, not found out by the worker."""

from __future__ import annotations

import inspect
import math

from inspection.engine.methods import method_class
from inspection.errors import InvalidInput


def training_parameters_numeric_check(*, method: str, params: dict) -> None:
    """Refuse text, NaN, infinity and negative values for parameters whose default is a number.

    The engine's constructors only store what they are given (scikit-learn's
    contract), so without this a bad value would fail the training later, in
    the worker, instead of the request now.
    """
    defaults, optional = {}, set()
    for klass in reversed(method_class(method).__mro__):
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.default is not inspect.Parameter.empty:
                defaults[parameter.name] = parameter.default
            if "None" in str(parameter.annotation) or "Optional" in str(parameter.annotation):
                optional.add(parameter.name)
    for name, value in params.items():
        default = defaults.get(name)
        if isinstance(default, bool) or not isinstance(default, (int, float)) or (value is None and name in optional):
            continue
        wants_whole = isinstance(default, int)
        kind = "a whole number" if wants_whole else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidInput(f"Parameter {name} of {method} must be {kind}, not {value!r}.")
        if wants_whole and value != int(value):
            raise InvalidInput(f"Parameter {name} of {method} must be a whole number, not {value!r}.")
        if value < 0:
            raise InvalidInput(f"Parameter {name} of {method} cannot be negative (got {value!r}).")
