"""API errors: always `{"error": ..., "details": [...]}`, saying what is wrong and what to do."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from pydantic import ValidationError

from service.http_boundary import error_json


class ApiError(Exception):
    def __init__(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []


def validation_details(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """pydantic's errors as `{"path": "measure.baseline.value", "message": ...}`."""
    details = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(part) for part in (*prefix, *err["loc"]))
        details.append({"path": path or "$", "message": err["msg"]})
    return details


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_json(exc.status, exc.message, exc.details)
