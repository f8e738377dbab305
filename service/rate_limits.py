"""Rate limits per client address: failed sign-ins, failed API tokens and the public check-in answer form.

Flask-Limiter counts; one limiter per app, its counters in that process's memory. So each web process counts on
its own (N processes behind a load balancer let an address try N times the limit) and a restart forgets the counts:
enough to turn guessing a token from unlimited into hopeless (tokens are 256-bit), without a shared store to run.

The client's address is `request.remote_addr`, which is the proxy's unless PVM_TRUSTED_PROXIES says how many proxies
set X-Forwarded-For (service/app.py): behind an unconfigured proxy every client would share one counter.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter, RouteLimit
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from service.config import Settings

EXTENSION = "pvm_rate_limits"
SIGNIN = "web.signin"
ANSWER_FORM = "answer.answer_link"
TOKEN_FAILURES = "api-token-failures"  # one counter for every API route: guessing may not spread over routes


def limiter() -> Limiter:
    found: Limiter = current_app.extensions[EXTENSION]
    return found


def retry_after() -> int:
    """Seconds until the limit that was hit lets the address in again (at least 1)."""
    hit = limiter().current_limit
    if hit is None:
        return 60
    return max(1, int(hit.reset_at - time.time()))  # as Flask-Limiter itself renders it


def _wait() -> str:
    seconds = retry_after()
    return f"{seconds} seconds" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"


def _signin_message() -> str:
    return (
        f"Too many sign-ins that failed from your address. Wait {_wait()}, then paste the whole token again; "
        "if it still fails, ask an admin for a new one."
    )


def _token_message() -> str:
    return (
        f"too many requests with an unknown or revoked token from your address; wait {_wait()} (Retry-After), "
        "then send a valid `Authorization: Bearer <token>` (an admin makes one with `pvm token create`)"
    )


def _answer_message() -> str:
    return f"Too many requests from your address in a short time. Wait {_wait()}, then open your link again."


def _not_signed_in(response: Response) -> bool:
    # Only attempts that fail count: people who sign in many times a day (and the tests) are never held back. A
    # refused attempt (429) was not tried, so it does not count either.
    return response.status_code not in (302, 303, 429)


def _token_refused(response: Response) -> bool:
    # A request that presented no token at all guesses nothing (a browser opening /api/v1/log, a misconfigured
    # client): only a token that was presented and refused counts.
    return response.status_code == 401 and "Authorization" in request.headers


def init_app(app: Flask, settings: Settings) -> None:
    """Call after every blueprint is registered: the limits wrap the app's own view functions."""
    limits = Limiter(
        key_func=get_remote_address,
        storage_uri="memory://",
        strategy="fixed-window",
        headers_enabled=False,  # Retry-After only on the 429 itself (below), not on every answer of these routes
    )
    limits.init_app(app)
    app.extensions[EXTENSION] = limits
    _limit(
        app,
        SIGNIN,
        limits.limit(
            settings.signin_rate_limit, methods=["POST"], deduct_when=_not_signed_in, error_message=_signin_message
        ),
    )
    _limit(app, ANSWER_FORM, limits.limit(settings.checkin_form_rate_limit, error_message=_answer_message))
    token_failures = limits.shared_limit(
        settings.token_failure_rate_limit,
        scope=TOKEN_FAILURES,
        deduct_when=_token_refused,
        error_message=_token_message,
    )
    for endpoint, view in list(app.view_functions.items()):
        if hasattr(view, "required_permission"):  # every API route behind a bearer token (service/api/auth.py)
            _limit(app, endpoint, token_failures)

    @app.after_request
    def _retry_after(response: Response) -> Response:
        if response.status_code == 429 and limiter().current_limit is not None:
            response.headers["Retry-After"] = str(retry_after())
        return response


def _limit(app: Flask, endpoint: str, limit: RouteLimit) -> None:
    view: Callable[..., Any] = app.view_functions[endpoint]
    app.view_functions[endpoint] = limit(view)
