"""Public, token-free routes of the value log's proofs: the verifier key, the newest signed checkpoint, and proofs.

Citizens hold no token, yet their receipt must be checkable by them or anyone they trust: these answers reveal only
hashes, sizes and signatures, never what an entry says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from service.http_boundary import error_json
from service.runtime import db, runtime
from service.valuelog import checkpoint, keys
from service.valuelog.proofs import ProofUnavailable, consistency_proof, inclusion_proof

bp = Blueprint("transparency", __name__)
TEXT = "text/plain; charset=utf-8"


def _public(response: Response, seconds: int) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={seconds}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # any auditor's page may check a receipt from here
    return response


@bp.get("/.well-known/pvm-log-key")
def log_key() -> Response:
    """The verifier key (C2SP signed-note form) that every checkpoint's signature is checked with."""
    return _public(Response(keys.verifier(runtime().settings).vkey() + "\n", mimetype=TEXT), 3600)


@bp.get("/log/checkpoint")
def newest_checkpoint() -> Response:
    row = checkpoint.latest(db())
    if row is None:
        return error_json(404, "no signed checkpoint yet; the clock signs one daily (00:05 UTC)")
    return _public(Response(row.note, mimetype=TEXT), 60)


def _size(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 16 or int(raw) < 1:
        raise ProofUnavailable(f"{name} must be a number of entries from 1 up, e.g. a checkpoint's size", 400)
    return int(raw)


def _answer(make: Callable[[], dict[str, Any]]) -> Response:
    try:
        return _public(Response(_json(make()), mimetype="application/json"), 60)
    except ProofUnavailable as exc:
        return error_json(exc.status, str(exc))


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2) + "\n"


@bp.get("/log/proof/<id:seq>")
def proof(seq: int) -> Response:
    """What a receipt links to: the entry's inclusion proof against the newest signed checkpoint (or `?size=`)."""
    return _answer(lambda: inclusion_proof(db(), runtime().settings, seq, _size("size")))


@bp.get("/log/consistency")
def consistency() -> Response:
    def make() -> dict[str, Any]:
        old = _size("old")
        if old is None:
            raise ProofUnavailable("give ?old=<size>, the size of the older checkpoint you hold", 400)
        return consistency_proof(db(), runtime().settings, old, _size("new"))

    return _answer(make)
