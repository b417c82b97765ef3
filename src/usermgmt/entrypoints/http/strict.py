"""Strict input: a JSON body is read with JSON's own types, for every route at once.

Litestar decodes a body to plain Python values and then converts them to the
route's declared type with msgspec's *lax* rules, under which ``"true"``,
``"1"`` and ``1`` are booleans and ``"5"`` or ``5.0`` are integers: an
``{"all_sessions": "true"}`` would end every session. ``StrictRequest``, the
application's request class, decodes the body straight into the declared type
with msgspec's strict rules instead; the conversion that follows finds the
value already typed and passes it through. Any route that takes a ``data``
body, now or later, is strict without doing anything.
"""

from __future__ import annotations

import re
import weakref
from typing import Any, Final

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException, ValidationException
from litestar.handlers import HTTPRouteHandler

_WHERE: Final = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_NAMED_FIELD: Final = re.compile(r"field `([^`]+)`")
_TOO_DEEP: Final = "it is nested too deeply"

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
        body = await self.body() or b"null"
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
