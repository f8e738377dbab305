"""API errors: always `{"error": ..., "details": [...]}`, saying what is wrong and what to do."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    def __init__(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []


def error_response(status: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    response = jsonify({"error": message, "details": details or []})
    response.status_code = status
    return response


def validation_details(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """pydantic's errors as `{"path": "measure.baseline.value", "message": ...}`."""
    details = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(part) for part in (*prefix, *err["loc"]))
        details.append({"path": path or "$", "message": err["msg"]})
    return details


def init_app(app: Flask, prefix: str) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | HTTPException:
        from flask import request

        if not request.path.startswith(prefix):
            return exc
        return error_response(exc.code or 500, exc.description or exc.name)
