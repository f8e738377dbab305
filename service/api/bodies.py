"""Request bodies: JSON only, validated by a pydantic model into 422 errors with field paths."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from service.api.errors import ApiError, validation_details
from service.untrusted import Refused, read_json

M = TypeVar("M", bound=BaseModel)


def json_body() -> Any:
    if not request.is_json:
        raise ApiError(415, "send the body as JSON with `Content-Type: application/json`")
    try:
        return read_json(request.get_data(cache=True))
    except Refused as exc:
        raise ApiError(400, f"the body is refused: {exc}", [{"path": exc.path, "message": exc.reason}]) from None


def parse_body(model: type[M]) -> M:
    try:
        return model.model_validate(json_body())
    except ValidationError as exc:
        raise ApiError(422, f"the body is not a valid {model.__name__}; see details", validation_details(exc)) from None
