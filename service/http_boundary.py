"""Every HTTP request at the edge, before a view sees it, and every error answer of the machine routes.

- Row ids in URLs (`<id:...>`) are numbers every driver can bind; one that names no row is a 404.
- No NUL in the URL or in form fields: PostgreSQL text cannot hold it, so it is refused (400) before any query.
- The API and the webhooks always answer errors as JSON `{"error": ..., "details": [...]}`, an unexpected failure
  included (the traceback goes to the log, not to the client), and a 405 says which methods are allowed.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, abort, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound
from werkzeug.routing import BaseConverter

from service.untrusted import Refused, check_text

log = logging.getLogger(__name__)

MACHINE_PREFIXES = ("/api/", "/webhooks/")
MAX_ROW_ID = 2**31 - 1


class RowId(BaseConverter):
    """`<id:name>`: a row id, 1 to 2**31 - 1 (PostgreSQL's INTEGER). Werkzeug's `int` would hand 10**20 to a query
    that the database then refuses; here a number no row can have is a 404 whatever the method (a `max` on
    Werkzeug's converter would make it answer 405 for the methods of the route it half-matched)."""

    regex = r"\d+"
    part_isolating = True

    def to_python(self, value: str) -> int:
        if len(value) > 10 or not 1 <= int(value) <= MAX_ROW_ID:
            shown = value if len(value) <= 20 else f"{value[:20]}..."
            raise NotFound(f"nothing has the id {shown}: ids run from 1 to {MAX_ROW_ID}")
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


def is_machine_route() -> bool:
    return request.path.startswith(MACHINE_PREFIXES)


def error_json(status: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    response = jsonify({"error": message, "details": details or []})
    response.status_code = status
    return response


def _refuse_nul() -> None:
    try:
        check_text(request.path, "the address")
        for name, value in request.args.items(multi=True):
            check_text(name + value, f"the query parameter {name[:40]!r}")
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for name, value in request.form.items(multi=True):
                check_text(name + value, f"the form field {name[:40]!r}")
    except Refused as exc:
        abort(400, str(exc))


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered: the routes use the `id` converter."""
    app.url_map.converters["id"] = RowId
    app.before_request(_refuse_nul)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | HTTPException:
        if not is_machine_route():
            return exc  # pages render their own error page (service/web)
        message = exc.description or exc.name
        if isinstance(exc, NotFound) and message == NotFound.description:  # Werkzeug's words, not ours
            message = f"nothing at {request.path[:200]}; the routes are listed in /api/openapi.json"
        response = error_json(exc.code or 500, message)
        allow = dict(exc.get_headers()).get("Allow")
        if allow:
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(InternalServerError)
    def _unexpected(exc: InternalServerError) -> Response | InternalServerError:
        # Flask has logged the traceback already; the client learns only that it was not its fault.
        if not is_machine_route():
            return exc
        return error_json(500, "the service failed unexpectedly and logged why; try again, and report it if it lasts")
