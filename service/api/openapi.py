"""The OpenAPI 3.1 document, built from the registered routes and the pydantic models each one declares
(service/api/contract.py), so neither the paths nor the bodies can drift from what the service does."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from service.access import roles_with
from service.api.contract import ROW_ID_MAX, Contract, contract_of
from service.hypotheses.vocabulary import current_taxonomy

bp = Blueprint("api_openapi", __name__)

_PARAM = re.compile(r"<(?:([a-z]+):)?([a-z_]+)>")
REF = "#/components/schemas/{model}"

_ERRORS = {
    400: "a query parameter or the body's JSON is refused",
    401: "missing, unknown, revoked or expired token",
    403: "the token's role may not do this, or its scope does not reach that far",
    404: "no such object, or one outside the token's scope",
    405: "the method is not allowed on this path",
    409: "the request conflicts with the current state",
    413: "the body is too large",
    415: "the body is not JSON",
    422: "the body or a parameter is not valid; `details` names each field",
    429: "too many failed token attempts from this address; wait `Retry-After` seconds",
}


def _path_parameter(converter: str | None, name: str) -> dict[str, Any]:
    schema: dict[str, Any]
    if converter == "id":
        schema = {"type": "integer", "minimum": 1, "maximum": ROW_ID_MAX}
    else:
        schema = {"type": "string", "minLength": 1}
        if converter != "path":
            schema["pattern"] = "^[^/]+$"
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        vocabulary = prop.pop("x-vocabulary", None)
        if vocabulary is not None:  # the words of the deployment's taxonomy, as the service resolves them
            prop = {"anyOf": [{"type": "string", "enum": _vocabulary(vocabulary)}, {"type": "null"}], "default": None}
        for choice in prop.get("anyOf", [prop]):
            if "enum" in choice and name not in required and prop.get("default") is None:
                choice["enum"] = [*choice["enum"], ""]  # an empty filter is no filter, as a form sends it
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _vocabulary(name: str) -> list[str]:
    taxonomy = current_taxonomy()
    if name == "dimensions":
        return sorted({*taxonomy.dimensions, *(alias for d in taxonomy.dimensions.values() for alias in d.aliases)})
    raise ValueError(f"unknown vocabulary {name!r}")


def _operation(rule: Any, method: str, view: Any, contract: Contract | None, refs: dict[Any, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = refs["schemas"]
    lines = (view.__doc__ or rule.endpoint).strip().splitlines()
    operation: dict[str, Any] = {
        "operationId": rule.endpoint.replace(".", "_"),
        "summary": lines[0],
        "tags": [rule.rule.removeprefix("/api/v1/").split("/")[0]],
        "parameters": [_path_parameter(conv, name) for conv, name in _PARAM.findall(rule.rule)],
    }
    if len(lines) > 1:
        operation["description"] = "\n".join(line.strip() for line in lines).strip()
    responses: dict[str, Any] = {}
    status = contract.status if contract else 200
    if contract is not None and contract.response is not None:
        content: dict[str, Any] = {"application/json": {"schema": refs[(contract.response, "serialization")]}}
        for media, description in contract.media.items():
            content[media] = {"schema": {"type": "string", "description": description}}
        responses[str(status)] = {"description": "success", "content": content}
        for other, when in contract.also.items():
            responses[str(other)] = {"description": when, "content": content}
    else:
        responses[str(status)] = {"description": "done, no content" if status == 204 else "success"}
    codes = {401, 403, 429, *(contract.errors if contract else ())}
    if contract is not None and contract.query is not None:
        operation["parameters"] += _query_parameters(contract.query, schemas)
        codes.add(400)
    if "<" in rule.rule:
        codes.add(404)
    if contract is not None and contract.body is not None:
        body: dict[str, Any] = {"schema": refs[(contract.body, "validation")]}
        if contract.example is not None:
            body["example"] = contract.example
        operation["requestBody"] = {"required": contract.body_required, "content": {"application/json": body}}
        codes.update((400, 415, 422))
    for code in sorted(codes):
        responses[str(code)] = {"description": _ERRORS[code], "content": _ERROR}
    if 429 in codes:
        responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
    operation["responses"] = responses
    permission = getattr(view, "required_permission", None)
    if permission is not None:
        operation["security"] = [{"bearer": []}]
        operation["x-roles"] = roles_with(permission)
        operation["description"] = (
            operation.get("description", lines[0]) + f"\n\nRoles: {', '.join(roles_with(permission))}."
        )
    return operation


def build_document(prefix: str) -> dict[str, Any]:
    routes = []
    models: set[tuple[type[BaseModel], JsonSchemaMode]] = set()
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith(prefix):
            continue
        view = current_app.view_functions[rule.endpoint]
        contract = contract_of(view)
        if contract is not None:
            if contract.response is not None:
                models.add((contract.response, "serialization"))
            if contract.body is not None:
                models.add((contract.body, "validation"))
        routes.append((rule, view, contract))
    ordered = sorted(models, key=lambda pair: (pair[0].__name__, pair[1]))
    keys, definitions = models_json_schema(ordered, ref_template=REF)
    refs: dict[Any, Any] = dict(keys)
    schemas: dict[str, Any] = {"Error": _ERROR_SCHEMA, **definitions.get("$defs", {})}
    refs["schemas"] = schemas
    paths: dict[str, dict[str, Any]] = {}
    for rule, view, contract in routes:
        path = _PARAM.sub(r"{\2}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, method, view, contract, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Public Value Monitor API",
            "version": "1",
            "description": "Bearer tokens (`pvm token create --role R --name N`); every error is "
            '`{"error": ..., "details": [{"path": ..., "message": ...}]}`. Lists are keyset-paginated: '
            '`{"items": [...], "next": cursor}`, pass `next` as `?after=`.',
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": dict(sorted(schemas.items())),
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
