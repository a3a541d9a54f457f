"""Which number format the networks run in: float32, or bfloat16 where the CPU computes it natively.

bfloat16 keeps float32's exponent range with an 8-bit mantissa; on CPUs with
AMX (``amx_bf16``) or AVX-512 BF16 (``avx512_bf16``) oneDNN runs convolutions
in it faster (figures in docs/benchmarks.md). Elsewhere it would be emulated and slower, so the
setting ``auto`` chooses bfloat16 only where one of those flags is present.

A fitted model records the precision it *used* (``precision_``) and keeps it
when loaded, on any CPU: evaluation and live inspection of a version never mix
precisions, even if a model moves to a machine without the instructions.
"""

from __future__ import annotations

from pathlib import Path

PRECISION_CHOICES = ("auto", "float32", "bfloat16")
# What a fitted model can have used: "auto" is resolved at fit.
USED_PRECISIONS = ("float32", "bfloat16")
BFLOAT16_FLAGS = ("amx_bf16", "avx512_bf16")
# The precision of models stored before the setting existed.
STORED_BEFORE_THE_SETTING = "float32"


def checked_precision(setting: str, choices: tuple[str, ...] = PRECISION_CHOICES) -> str:
    """``setting`` if it is one of ``choices``; a ValueError naming them otherwise.

    The one place a precision is validated: method parameters (at construction,
    so a wrong setting fails before any training), the forward passes and
    stored models.
    """
    if setting not in choices:
        raise ValueError(f"precision must be one of {', '.join(choices)}, not {setting!r}")
    return setting


def bfloat16_instructions(cpuinfo: str | None = None) -> list[str]:
    """The bfloat16 instruction sets the CPU announces in /proc/cpuinfo (empty where none or unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return []
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return [flag for flag in BFLOAT16_FLAGS if flag in flags]
    return []


def resolved_precision(setting: str, cpuinfo: str | None = None) -> str:
    """ "float32" or "bfloat16" for a setting of ``auto``, ``float32`` or ``bfloat16``."""
    if checked_precision(setting) == "auto":
        return "bfloat16" if bfloat16_instructions(cpuinfo) else "float32"
    return setting


def stored_precision(config: dict) -> str:
    """The precision a stored model was fitted with (``precision_`` in its method config), checked."""
    return checked_precision(config.get("precision_", STORED_BEFORE_THE_SETTING), USED_PRECISIONS)


def bfloat16_copy(model):
    """A copy of a Keras model that computes in bfloat16 (weights kept in float32, as Keras' mixed policy does)."""
    import keras

    def in_bfloat16(layer):
        config = layer.get_config()
        config["dtype"] = "mixed_bfloat16"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=in_bfloat16)
    copy.set_weights(model.get_weights())
    return copy
