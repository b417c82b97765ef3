"""The error responses each route documents in OpenAPI, with one description per status.

What a route may answer is declared on it, ``responses=errors(401, 404, 503,
s404="No such user.")``; the default descriptions here say what each status
means across the API, and every error body is a problem detail (see
:mod:`usermgmt.entrypoints.http.problems`), with ``errors`` for a 422.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Final

from litestar.openapi.datastructures import ResponseSpec

from usermgmt.entrypoints.http.problems import PROBLEM_MEDIA_TYPE
from usermgmt.entrypoints.http.schemas import Problem, ValidationProblem

_DESCRIPTIONS: Final = {
    400: "The request body is not parseable JSON (or is empty), or its `Content-Length` is "
    "not a number.",
    401: "No, invalid, expired or revoked token (with `WWW-Authenticate: Bearer`).",
    403: "Authenticated, but not allowed to do this.",
    404: "No such user, or a deleted one.",
    409: "The request conflicts with the current state.",
    413: "The request body is larger than 64 KiB.",
    415: "The request has a body that is not JSON: its `Content-Type` is neither "
    "`application/json` nor `application/*+json`, or is missing.",
    422: "Parseable but refused: a missing, unknown, wrong-typed, too long or invalid value "
    '(types are JSON\'s own: `"true"` is not a boolean, `"5"` or `5.0` not an integer, '
    "and an integer query parameter is plain decimal digits); `errors` names each field.",
    429: "Too many requests from this client, or too many failed logins; see `Retry-After`.",
    503: "The database is unavailable, or (`/problems/overloaded`, with `Retry-After`) too "
    "many passwords are waiting to be checked; try again shortly.",
}


def description(status: int) -> str:
    """Return the default OpenAPI description of the error responses with *status*."""
    return _DESCRIPTIONS[status]


def errors(*statuses: int, **described: str) -> dict[int, ResponseSpec]:
    """Return the OpenAPI error responses of a route: *statuses*, with the default descriptions.

    *described* overrides a description by status, as in ``s409="Email taken."``.
    """
    responses = {}
    for status in statuses:
        description = described.get(f"s{status}", _DESCRIPTIONS[status])
        container = ValidationProblem if status == HTTPStatus.UNPROCESSABLE_ENTITY else Problem
        responses[status] = ResponseSpec(
            data_container=container,
            description=description,
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
    return responses
