"""The OpenAPI document is the API's contract: schemathesis calls every operation with data generated from it
(valid and invalid), on both engines, and every answer must conform: no 5xx, documented status codes, content
types, headers and response schemas, and invalid data refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import product
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.api.contract import contract_of
from service.runtime import runtime
from tests.conftest import auth, build_app, make_settings, token_for
from tests.epics import add_epic

MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
# Every check runs but `positive_data_acceptance`: it wants every schema-valid request accepted, and some rules are
# the deployment's or span parameters, which JSON Schema cannot say (a stakeholder group of the configured taxonomy,
# `old` < `new` in a consistency proof, a token scope naming a project). Those answer a documented 422 or 400.
NOT_EXPRESSIBLE = [positive_data_acceptance]


def test_every_api_route_is_documented_with_its_models(app: Flask) -> None:
    document = app.test_client().get("/api/openapi.json").json
    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = rule.rule
        for converter in ("<id:", "<path:", "<"):
            path = path.replace(converter, "{")
        path = path.replace(">", "}")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            operation = document["paths"].get(path, {}).get(method.lower())
            if operation is None:
                missing.append(f"{method} {rule.rule}")
                continue
            assert operation["x-roles"], rule.rule
            assert operation["security"] == [{"bearer": []}]
            for code in ("401", "403", "429"):
                assert operation["responses"][code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }
            success = next(code for code in operation["responses"] if code.startswith("2"))
            if success != "204":
                ref = operation["responses"][success]["content"]["application/json"]["schema"]["$ref"]
                assert ref.rsplit("/", 1)[1] in schemas, rule.rule
            if method in ("POST", "PATCH", "PUT") and operation.get("requestBody") is None:
                assert not _reads_body(app, rule.endpoint), f"{method} {rule.rule} reads a body it does not declare"
            if "requestBody" in operation:
                body = operation["requestBody"]["content"]["application/json"]
                assert body["schema"]["$ref"].rsplit("/", 1)[1] in schemas
                assert "example" in body
    assert not missing, missing


def test_every_body_example_is_valid_for_its_model(app: Flask) -> None:
    checked = 0
    for view in app.view_functions.values():
        contract = contract_of(view)
        if contract is not None and contract.body is not None:
            assert contract.example is not None, view.__name__
            contract.body.model_validate(contract.example)
            checked += 1
    assert checked >= 8


def test_assignment_is_validated_by_its_declared_model(app: Flask) -> None:
    headers = auth(token_for(app, "admin"))
    client = app.test_client()
    for body in ({}, {"stakeholder_id": "1"}, {"stakeholder_id": 0}, {"stakeholder_id": 1, "extra": 1}, [1]):
        answer = client.post("/api/v1/hypotheses/1/stakeholders", json=body, headers=headers)
        assert answer.status_code in (404, 422), body  # hypothesis 1 does not exist: 404 before the body
    epic_free = client.delete("/api/v1/hypotheses/1/stakeholders", json={"stakeholder_id": True}, headers=headers)
    assert epic_free.status_code == 404


def _reads_body(app: Flask, endpoint: str) -> bool:
    import inspect

    source = inspect.getsource(app.view_functions[endpoint].__wrapped__)  # type: ignore[attr-defined]
    return "json_body()" in source or "parse_body(" in source


# Seeded objects (see _seed): each operation also runs with its path pointing at them. Token names are left to
# chance: revoking the admin token that runs the test would leave nothing to test.
SEEDED = {"key": "jira:PVM-1", "hypothesis_id": 1, "stakeholder_id": 1, "seq": 1}


def _run_operations(app: Flask, headers: dict[str, str], statuses: list[tuple[str, int]]) -> list[str]:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        names = re.findall(r"{(\w+)}", operation.path)
        seeded = {name: SEEDED[name] for name in names if name in SEEDED}
        for mode, path in product(MODES, (None, seeded) if seeded else (None,)):
            strategy = operation.as_strategy(generation_mode=mode, headers=headers, path_parameters=path)

            @given(case=strategy)
            @settings(
                max_examples=5,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def call(case: Any) -> None:
                answer = case.call_and_validate(headers=headers, excluded_checks=NOT_EXPRESSIBLE)
                statuses.append((case.operation.label, answer.status_code))

            try:
                call()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing in it can be made invalid
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{mode} {operation.label} {path or ''}: {str(exc)[:2000]}")
    return failures


@pytest.fixture
def fuzzed_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    """An app on each engine whose failed-token limit does not stop the run: schemathesis' `ignored_auth` check
    sends wrong tokens on purpose, and a 429 on every later call would test nothing."""
    application = build_app(make_settings(tmp_path, database_url, token_failure_rate_limit="100000/minute"))
    yield application
    runtime(application).engine.dispose()


def _seed(app: Flask, headers: dict[str, str]) -> None:
    """Row 1 of each kind exists, so the generated ids (1 is the first tried) reach real objects, not only 404s."""
    with runtime(app).transaction() as session:
        add_epic(session, "jira:PVM-1", children={"jira:PVM-2": ["value:efficiency+"]})
    client = app.test_client()
    hypothesis = {
        "statement": "Fewer calls about permits",
        "dimensions": ["efficiency"],
        "measure": {"name": "calls a week", "baseline": {"value": 120, "date": "2026-01-05"}},
    }
    for path, body in (
        ("/api/v1/epics/jira:PVM-1/hypotheses", hypothesis),
        ("/api/v1/hypotheses/1/readings", {"value": 110, "date": "2026-02-02"}),
        ("/api/v1/stakeholders", {"name": "Ada", "group": "citizen", "email": "ada@example.org"}),
        ("/api/v1/hypotheses/1/stakeholders", {"stakeholder_id": 1}),
    ):
        answer = client.post(path, json=body, headers=headers)
        assert answer.status_code == 201, (path, answer.json)


def test_schemathesis_finds_nothing(fuzzed_app: Flask) -> None:
    headers = auth(token_for(fuzzed_app, "admin"))
    _seed(fuzzed_app, headers)
    statuses: list[tuple[str, int]] = []
    failures = _run_operations(fuzzed_app, headers, statuses)
    assert not failures, "\n\n".join(failures)
    assert all(status != 429 for _, status in statuses)
    succeeded = {label for label, status in statuses if 200 <= status < 300}
    # The seeded rows are reached: reads and writes of real objects ran through every check, not only 404s.
    for label in ("GET /api/v1/hypotheses/{hypothesis_id}", "GET /api/v1/stakeholders/{stakeholder_id}"):
        assert label in succeeded, sorted(succeeded)


@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs/swagger-ui-bundle.js", "/api/docs/init.js"])
def test_reference_page_is_served_from_local_files(app: Flask, path: str) -> None:
    answer = app.test_client().get(path)
    assert answer.status_code == 200, path
    # The page's own policy (scripts from this site only, no inline script), not the API's data policy.
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    if path == "/api/docs/":
        page = answer.get_data(as_text=True)
        assert "http" not in page and "<script>" not in page  # no CDN, no inline script
        assert 'src="init.js"' in page


def test_reference_page_serves_no_other_file(app: Flask) -> None:
    assert app.test_client().get("/api/docs/index.j2").status_code == 404
