"""`/api/docs/`: the OpenAPI document rendered by Swagger UI from the app's own files (no CDN, no inline script)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from service.security_headers import PAGE_POLICY

bp = Blueprint("api_reference", __name__)
HERE = Path(__file__).parent
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css")


@bp.get("/api/docs/")
def reference_page() -> Response:
    return _page(send_from_directory(HERE, "index.html"))


@bp.get("/api/docs/<name>")
def reference_asset(name: str) -> Response:
    if name == "init.js":
        return _page(send_from_directory(HERE, name))
    if name not in ASSETS:
        return Response("not found", status=404, content_type="text/plain; charset=utf-8")
    return _page(send_from_directory(str(swagger_ui_path), name))


def _page(response: Response) -> Response:
    # Under /api/ the data policy would apply, which forbids scripts; this page runs only its own files.
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response
