"""Request bodies: JSON only, validated by a pydantic model into 422 errors with field paths."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from service.api.errors import ApiError, validation_details

M = TypeVar("M", bound=BaseModel)


def json_body() -> Any:
    if not request.is_json:
        raise ApiError(415, "send the body as JSON with `Content-Type: application/json`")
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "the body is not valid JSON; check quotes and commas")
    return body


def parse_body(model: type[M]) -> M:
    try:
        return model.model_validate(json_body())
    except ValidationError as exc:
        raise ApiError(422, f"the body is not a valid {model.__name__}; see details", validation_details(exc)) from None
