"""Errors the engine raises on purpose, each with a message meant for a person."""

from __future__ import annotations


class EngineError(Exception):
    """Base class: anything the engine refuses, with a reason a user can act on."""


class ImageError(EngineError):
    """An input file is not a usable image (unreadable, truncated, wrong depth or size)."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class RegistrationError(EngineError):
    """An image could not be aligned to the product's reference image well enough."""


class TrainingDataError(EngineError):
    """The training set cannot train a model (empty, one image, mixed sizes...)."""


class TrainingRefusedByRegistration(TrainingDataError):
    """Registration refused all but at most one training picture, so nothing could be trained.

    The message is the report (every refused picture with its reason, and
    which setting to change); ``report`` holds the same as data.
    """

    def __init__(self, message: str, report: dict):
        self.report = report
        super().__init__(message)


class TrainingCancelled(EngineError):
    """A progress callback asked training to stop; nothing half-trained is returned."""


class WeightsUnavailable(EngineError):
    """No real pretrained weights could be found; the message says how to get them."""


class BundleError(EngineError):
    """A model bundle on disk is damaged, incomplete or of an incompatible version."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
