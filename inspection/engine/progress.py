"""Progress reporting and cooperative cancellation for long engine steps.

A caller passes ``progress=callback``; the engine calls it with a
:class:`ProgressEvent` after each unit of work (an epoch, a batch of images).
If the callback returns ``True`` the engine stops at that point and raises
:class:`~inspection.engine.errors.TrainingCancelled`. This is how the platform
cancels a job without killing the worker process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import TrainingCancelled


@dataclass(frozen=True)
class ProgressEvent:
    stage: str  # e.g. "register", "train-cpcae", "embed", "fit-knn", "score"
    fraction: float  # 0..1 within the stage
    message: str = ""
    epoch: int | None = None
    epochs: int | None = None
    loss: float | None = None
    extra: dict = field(default_factory=dict)


ProgressCallback = Callable[[ProgressEvent], bool | None]


def report(callback: ProgressCallback | None, event: ProgressEvent) -> None:
    """Send ``event`` to ``callback``; raise TrainingCancelled if it asks to stop."""
    if callback is None:
        return
    if callback(event):
        raise TrainingCancelled(f"cancelled during {event.stage}")
