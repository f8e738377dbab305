"""The OpenAPI document, derived from the registered routes so it cannot drift from them."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app

from service.access import roles_with

bp = Blueprint("api_openapi", __name__)

_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def build_document(prefix: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith(prefix):
            continue
        view = current_app.view_functions[rule.endpoint]
        permission = getattr(view, "required_permission", None)
        path = _PARAM.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            doc = (view.__doc__ or rule.endpoint).strip().splitlines()[0]
            operation: dict[str, Any] = {
                "operationId": rule.endpoint.replace(".", "_"),
                "summary": doc,
                "parameters": [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    for name in _PARAM.findall(rule.rule)
                ],
                "responses": {
                    "200": {"description": "success"},
                    "401": {"description": "missing, unknown, revoked or expired token", "content": _ERROR},
                    "403": {"description": "role not allowed", "content": _ERROR},
                },
            }
            if permission is not None:
                operation["security"] = [{"bearer": []}]
                operation["x-roles"] = roles_with(permission)
            if method in ("POST", "PATCH", "PUT"):
                operation["responses"]["422"] = {"description": "invalid body", "content": _ERROR}
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Public Value Monitor API", "version": "1"},
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _ERROR_SCHEMA},
        },
    }


_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "details"],
    "properties": {
        "error": {"type": "string"},
        "details": {
            "type": "array",
            "items": {"type": "object", "properties": {"path": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


@bp.get("/api/openapi.json")
def openapi_document() -> dict[str, Any]:
    return build_document("/api/v1/")
