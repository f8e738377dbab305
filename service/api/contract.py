"""What each API route takes and answers, as pydantic models recorded on the view: the OpenAPI document is built
from them (service/api/openapi.py), and the bodies are validated by the same models (service/api/bodies.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, Field

F = TypeVar("F", bound=Callable[..., Any])

ROW_ID_MAX = 2**31 - 1


@dataclass(frozen=True)
class Contract:
    response: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    # Other media types the same operation answers with (e.g. `?format=md`), as `{media type: description}`.
    media: dict[str, str] = field(default_factory=dict)
    example: dict[str, Any] | None = None
    # Other success statuses answering the same shape, as `{status: when}` (e.g. 200 when nothing had to change).
    also: dict[int, str] = field(default_factory=dict)
    # The body is optional (e.g. DELETE with the id in the body or none at all).
    body_required: bool = True


def documented(
    *,
    response: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    media: dict[str, str] | None = None,
    example: dict[str, Any] | None = None,
    also: dict[int, str] | None = None,
) -> Callable[[F], F]:
    """Record the route's models on the view; put it right under the route decorator (above `requires`)."""
    contract = Contract(response, body, query, status, errors, media or {}, example, also or {})

    def decorate(view: F) -> F:
        view.contract = contract  # type: ignore[attr-defined]
        return view

    return decorate


def contract_of(view: Any) -> Contract | None:
    return getattr(view, "contract", None)


class ListQuery(BaseModel):
    """Keyset pagination: `limit` rows after the cursor `after` (the `next` of the previous page).

    Other query parameters are ignored, as HTTP servers do: no `extra="forbid"` here."""

    limit: int = Field(default=100, ge=1, le=500, description="rows per page")
    after: int | None = Field(default=None, description="the `next` value of the previous page")


class KeyListQuery(ListQuery):
    after: str | None = Field(default=None, description="the `next` value of the previous page (a key)")  # type: ignore[assignment]
