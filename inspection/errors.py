"""Refusals a service raises on purpose; the API turns them into 4xx responses."""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be carried out, with a reason meant for a person."""

    status_code = 400

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(ServiceError):
    status_code = 400


class Conflict(ServiceError):
    status_code = 409


class TooLarge(ServiceError):
    status_code = 413
