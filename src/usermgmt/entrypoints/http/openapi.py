"""The OpenAPI 3.1 document at ``/schema/openapi.json``, and the docs page at ``/schema``.

Litestar generates the document from the routes; ``finish_openapi`` then
makes it say exactly what the API does where the generator cannot know.

The docs page is Swagger UI, whose script, style sheet and icons come from
the ``swagger-ui-bundle-v2`` package and are served at ``/schema/assets/``
by the service itself: the page works offline and loads nothing from a CDN.
"""

from __future__ import annotations

import functools
import inspect
from http import HTTPStatus
from importlib.resources.abc import Traversable
from typing import Any, Final, get_args

import msgspec
from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)
from litestar.params import FromPath
from swagger_ui_bundle import swagger_ui_path

from usermgmt import Settings, __version__
from usermgmt.entrypoints.http import schemas
from usermgmt.entrypoints.http.problems import PROBLEM_MEDIA_TYPE, render, unknown_path
from usermgmt.entrypoints.http.responses import description
from usermgmt.entrypoints.http.security import COMPONENTS

_ASSETS: Final = "/schema/assets"
_BUNDLE: Final[Traversable] = swagger_ui_path
_ASSET_TYPES: Final = {  # the only files the page needs; Litestar adds charset=utf-8 to text
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
_METHODS: Final = ("get", "put", "post", "delete", "patch")
_NO_BODY_415: Final = (
    "This route takes no body, but one sent all the same is refused when it is not "
    "JSON, as on every route: its `Content-Type` is neither `application/json` nor "
    "`application/*+json`, or is missing."
)
_CHALLENGE: Final = '`Bearer`, with `error="invalid_token"` when a token was refused.'
_STRUCTS: Final = {
    name: value
    for name, value in vars(schemas).items()
    if isinstance(value, type)
    and issubclass(value, msgspec.Struct)
    and value.__module__ == schemas.__name__
}
_NEW_PASSWORDS: Final = tuple(
    (name, field.encode_name)
    for name, struct in _STRUCTS.items()
    for field in msgspec.structs.fields(struct)
    if schemas.NewPasswordField in (field.type, *get_args(field.type))
)


def openapi_config() -> OpenAPIConfig:
    """Return the document's configuration: title, version, bearer scheme, docs page."""
    return OpenAPIConfig(
        title="usermgmt",
        version=__version__,
        description="User management: registration, sessions with rotating refresh "
        "tokens, and accounts. Errors are RFC 9457 problem details "
        "(`application/problem+json`).",
        path="/schema",
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{_ASSETS}/swagger-ui-bundle.js",
                css_url=f"{_ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{_ASSETS}/swagger-ui-standalone-preset.js",
                favicon=f'<link rel="icon" type="image/png" href="{_ASSETS}/favicon-32x32.png">',
            )
        ],
        openapi_router=Router(
            "/schema",
            route_handlers=[docs_asset],
            include_in_schema=False,
            after_request=_problem_404,
        ),
        components=COMPONENTS,
        use_handler_docstrings=True,
    )


@get(
    "/assets/{name:str}",
    cache_control=CacheControlHeader(public=True, max_age=86400),
    sync_to_thread=False,
)
def docs_asset(name: FromPath[str]) -> Response[bytes]:
    """Serve one file of the docs page (script, style sheet, icon) from the bundled Swagger UI."""
    media_type = _ASSET_TYPES.get(name)
    if media_type is None:
        raise unknown_path()
    return Response(_asset(name), media_type=media_type)


@functools.cache
def _asset(name: str) -> bytes:
    """Read a file of the bundle once per process (about 1.7 MB for all of them)."""
    return (_BUNDLE / name).read_bytes()


def _problem_404(response: Response[Any]) -> Response[Any]:
    """Answer unknown paths under ``/schema`` like any other unknown path."""
    if response.status_code != HTTPStatus.NOT_FOUND:
        return response
    return render(unknown_path())


def finish_openapi(document: OpenAPI, settings: Settings) -> None:
    """Make the generated *document* say exactly what the API run with *settings* does.

    - Litestar documents a generic JSON 400 on every route with parameters;
      our routes declare their own problem responses, so the generic ones go.
    - The headers that every 401 and 429 carry are documented.
    - A body that may be left out (logout's) is not required.
    - Every route answers 415 to a non-empty body that is not JSON, also
      those that take no body (the check runs before any route).
    - A query parameter is never ``null``: an optional one is left out.
    - Request bodies refuse unknown fields: ``additionalProperties: false``.
    - Each body is described by its docstring.
    - A new password's ``minLength`` is the configured minimum.
    """
    for path_item in (document.paths or {}).values():
        for method in _METHODS:
            operation: Operation | None = getattr(path_item, method)
            if operation is not None:
                _finish_operation(operation)
    found = document.components.schemas or {}
    for name, struct in _STRUCTS.items():
        if (schema := found.get(name)) is not None:
            if struct.__struct_config__.forbid_unknown_fields:
                schema.additional_properties = False
            schema.description = schema.description or inspect.cleandoc(struct.__doc__ or "")
    for name, field in _NEW_PASSWORDS:
        if name in found and isinstance(prop := (found[name].properties or {})[field], Schema):
            prop.min_length = settings.password_min_length


def _finish_operation(operation: Operation) -> None:
    responses = operation.responses or {}
    for status, response in list(responses.items()):
        if not isinstance(response, OpenAPIResponse):
            continue
        if _is_generic_error(response):
            del responses[status]
        elif status == "401":
            response.headers = {"WWW-Authenticate": _header(_CHALLENGE)}
        elif status == "429":
            response.headers = {"Retry-After": _header("Seconds to wait.", integer=True)}
    for parameter in operation.parameters or ():
        if isinstance(parameter, Parameter) and parameter.param_in == "query":
            _drop_null(parameter.schema)
    body = operation.request_body
    if isinstance(body, RequestBody) and _accepts_null(body):
        body.required = False
    responses["415"] = OpenAPIResponse(
        description=description(415) if body is not None else _NO_BODY_415,
        content={
            PROBLEM_MEDIA_TYPE: OpenAPIMediaType(
                schema=Reference(ref="#/components/schemas/Problem")
            )
        },
    )


def _is_generic_error(response: OpenAPIResponse) -> bool:
    media = (response.content or {}).get("application/json")
    schema = media.schema if media is not None else None
    return isinstance(schema, Schema) and "status_code" in (schema.properties or {})


def _accepts_null(body: RequestBody) -> bool:
    media = body.content.get("application/json")
    schema = media.schema if media is not None else None
    options = schema.one_of if isinstance(schema, Schema) else None
    return any(isinstance(o, Schema) and o.type == OpenAPIType.NULL for o in options or ())


def _drop_null(schema: Schema | Reference | None) -> None:
    """Turn ``oneOf: [T, null]`` into plain ``T``, keeping the constraints beside it."""
    options = schema.one_of if isinstance(schema, Schema) else None
    if not isinstance(schema, Schema) or not options:
        return
    kept = [o for o in options if not (isinstance(o, Schema) and o.type == OpenAPIType.NULL)]
    if len(kept) == 1 and isinstance(kept[0], Schema) and kept[0].type is not None:
        schema.type = kept[0].type
        schema.one_of = None


def _header(description: str, *, integer: bool = False) -> OpenAPIHeader:
    return OpenAPIHeader(
        description=description,
        schema=Schema(type=OpenAPIType.INTEGER if integer else OpenAPIType.STRING),
    )
