"""Strict input: JSON bodies only, JSON's own types in them, plain digits for integers.

Litestar decodes a body to plain Python values and then converts them to the
route's declared type with msgspec's *lax* rules, under which ``"true"``,
``"1"`` and ``1`` are booleans and ``"5"`` or ``5.0`` are integers: an
``{"all_sessions": "true"}`` would end every session. ``StrictRequest``, the
application's request class, decodes the body straight into the declared type
with msgspec's strict rules instead; the conversion that follows finds the
value already typed and passes it through. Any route that takes a ``data``
body, now or later, is strict without doing anything.

``InputGate``, a middleware in front of every route, checks the rest before
the route runs:

- Only JSON is read: a non-empty body whose ``Content-Type`` is not
  ``application/json`` or ``application/*+json`` (parameters such as
  ``charset`` allowed; a missing type counts as not JSON) is a 415, so an
  HTML form, which may post ``text/plain``, ``application/x-www-form-urlencoded``
  or ``multipart/form-data`` across origins without a CORS pre-flight, never
  reaches a route. The headers decide, except for a chunked body without a
  JSON type, which is read (within the size limit) to see whether it is
  empty. ``StrictRequest`` checks again whenever a body is read, for servers
  that deliver a body without announcing it.
- Query parameters arrive as text, and the lax conversion would take
  ``page=1e3`` or ``page=1.0`` for an integer: any value of an integer query
  parameter that is not plain decimal digits is a 422. The gate learns which
  parameters are integers from the application's routes (and their
  dependencies) once, at start-up.
"""

from __future__ import annotations

import re
import weakref
from typing import Any, Final

import msgspec
from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import SerializationException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send

from usermgmt.entrypoints.http.problems import malformed_length, unsupported_media_type

_JSON_MEDIA: Final = re.compile(rb"application/(?:[a-z0-9!#$&^_.+-]+\+)?json")
_WHERE: Final = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_NAMED_FIELD: Final = re.compile(r"field `([^`]+)`")
_TOO_DEEP: Final = "it is nested too deeply"
_PLAIN_DIGITS: Final = re.compile(r"0|[1-9][0-9]*")
_NOT_DIGITS: Final = "Expected a whole number in plain decimal digits (such as 20)"

_decoders: weakref.WeakKeyDictionary[HTTPRouteHandler, msgspec.json.Decoder[Any]] = (
    weakref.WeakKeyDictionary()
)


class StrictRequest(Request[Any, Any, Any]):
    """A request whose JSON body is decoded strictly into the route's declared body type."""

    async def json(self) -> Any:  # noqa: ANN401 - whatever type the route declares
        """Return the body decoded into the type of the route's ``data`` parameter.

        Raises:
            SerializationException: the body is not JSON (answered 400).
            ValidationException: the body is JSON of the wrong shape or types
                (answered 422, naming the field).
        """
        body = await self.body()
        if body and not is_json(_content_types(self.scope)):
            raise unsupported_media_type()
        body = body or b"null"
        try:
            return _decoder(self.route_handler).decode(body)
        except msgspec.ValidationError as exc:
            # The typed decoder stops at the first wrong type: only JSON that parses is a 422.
            _check_syntax(body)
            raise ValidationException(
                "The request body does not match its schema.", extra=[field_error(str(exc))]
            ) from None
        except (msgspec.DecodeError, RecursionError) as exc:
            raise _malformed(exc) from None


def field_error(message: str) -> dict[str, str]:
    """Turn one of msgspec's validation messages into ``{"key", "message", "source"}``.

    ``Expected `bool`, got `str` - at `$.all_sessions``` names ``all_sessions``;
    a message about the whole object names the field it mentions, if any, or
    else the ``body``.
    """
    found = _WHERE.match(message)
    text = found["message"] if found else message
    path = (found["path"] or "") if found else ""
    if not path:
        named = _NAMED_FIELD.search(text)
        path = named[1] if named else "body"
    return {"key": path.lstrip("."), "message": text, "source": "body"}


def _check_syntax(body: bytes) -> None:
    try:
        msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _malformed(exc) from None


def _malformed(exc: Exception) -> SerializationException:
    return SerializationException(_TOO_DEEP if isinstance(exc, RecursionError) else str(exc))


def _decoder(handler: HTTPRouteHandler) -> msgspec.json.Decoder[Any]:
    """Return the strict decoder of *handler*'s body type (built once per route)."""
    decoder = _decoders.get(handler)
    if decoder is None:
        data = handler.parsed_fn_signature.parameters.get("data")
        target: Any = data.annotation if data is not None else Any
        decoder = msgspec.json.Decoder(target, strict=True, dec_hook=handler.default_deserializer)
        _decoders[handler] = decoder
    return decoder


class InputGate:
    """A middleware that checks what every request sends before its route sees any of it.

    Build it, pass :meth:`middleware` to the application, then let it
    :meth:`learn` the application's routes.
    """

    def __init__(self) -> None:
        """Start knowing no routes: every request passes until :meth:`learn`."""
        self._integers: dict[object, tuple[str, ...]] = {}

    def learn(self, app: Litestar) -> None:
        """Find the integer query parameters of every route of *app*, by name."""
        for route in app.routes:
            if isinstance(route, HTTPRoute):
                for handler, kwargs in route.route_handler_map.values():
                    types = _parameter_types(handler)
                    names = tuple(
                        sorted(
                            p.field_alias
                            for p in kwargs.expected_query_params
                            if _is_integer(types.get(p.field_name))
                        )
                    )
                    if names:
                        self._integers[handler] = names

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Return *app* behind the gate (Litestar's middleware protocol)."""
        integers = self._integers

        async def gate(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == ScopeType.HTTP:
                await _check_body_type(scope, receive)
                if scope["query_string"] and (names := integers.get(scope["route_handler"])):
                    _check_integers(ASGIConnection(scope), names)
            await app(scope, receive, send)

        return gate


def is_json(content_types: list[bytes]) -> bool:
    """Say whether the ``Content-Type`` values *content_types* name exactly one JSON type."""
    if len(content_types) != 1:
        return False
    essence = content_types[0].partition(b";")[0].strip().lower()
    return _JSON_MEDIA.fullmatch(essence) is not None


def _content_types(scope: Scope) -> list[bytes]:
    return [value for name, value in scope["headers"] if name == b"content-type"]


async def _check_body_type(scope: HTTPScope, receive: Receive) -> None:
    """Refuse a non-empty body that is not JSON, from the headers alone where they suffice.

    Raises:
        ProblemDetailsException: 415 for such a body; 400 for a ``Content-Length``
            that is not a number.
    """
    length = None
    chunked = False
    content_types = []
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"content-type":
            content_types.append(value)
    if length is not None and not length.isdigit():
        raise malformed_length()
    if not chunked and (length is None or not length.strip(b"0")):
        return  # no body: nothing to say about its type
    if is_json(content_types):
        return
    # A chunked body announces no length: an empty one needs no type, so look.
    if chunked and not await Request(scope, receive).body():
        return
    raise unsupported_media_type()


def _check_integers(connection: ASGIConnection[Any, Any, Any, Any], names: tuple[str, ...]) -> None:
    """Refuse every value of the integer parameters *names* that is not plain digits.

    Raises:
        ValidationException: one entry per refused parameter (answered 422).
    """
    query = connection.query_params
    refused = [
        {"key": name, "message": _NOT_DIGITS, "source": "query"}
        for name in names
        if any(not _PLAIN_DIGITS.fullmatch(value) for value in query.getall(name, []))
    ]
    if refused:
        raise ValidationException("Some query parameters were refused.", extra=refused)


def _parameter_types(handler: HTTPRouteHandler) -> dict[str, Any]:
    """Return the declared type of each parameter of *handler* and of its dependencies."""
    models = [
        model
        for provide in handler.resolve_dependencies().values()
        if (model := getattr(provide, "signature_model", None)) is not None
    ]
    found: dict[str, Any] = {}
    for model in [handler.signature_model, *models]:
        for field in msgspec.structs.fields(model):
            found.setdefault(field.name, field.type)
    return found


def _is_integer(annotation: object) -> bool:
    """Say whether *annotation* takes integers: ``int``, ``int | None``, ``list[int]``, …."""
    if annotation is None:
        return False
    return _takes_integers(msgspec.inspect.type_info(annotation))


def _takes_integers(info: msgspec.inspect.Type) -> bool:
    if isinstance(info, msgspec.inspect.Metadata):
        return _takes_integers(info.type)
    if isinstance(info, msgspec.inspect.UnionType):
        return any(_takes_integers(option) for option in info.types)
    if isinstance(
        info, (msgspec.inspect.ListType, msgspec.inspect.SetType, msgspec.inspect.FrozenSetType)
    ):
        return _takes_integers(info.item_type)
    return isinstance(info, msgspec.inspect.IntType)
