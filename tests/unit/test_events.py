"""Domain events as values: bounded context, no secrets, one stored name per type."""

from __future__ import annotations

import attrs

import usermgmt.events
from usermgmt.events import EVENT_TYPES, USER_AGENT_MAX_LENGTH, Event, RequestContext

_SECRET_WORDS = ("password", "token", "secret", "hash", "code")


def test_a_long_user_agent_is_truncated() -> None:
    """A client cannot grow the stored events with a long header."""
    context = RequestContext(ip="1" * 500, user_agent="A" * 5000, request_id="r" * 500)

    assert len(context.user_agent) == USER_AGENT_MAX_LENGTH
    assert len(context.ip) == len(context.request_id) == 128


def test_every_event_type_is_stored_under_its_class_name() -> None:
    """The stored name of a type is its class name, and every subclass of Event is known."""
    assert all(name == cls.__name__ for name, cls in EVENT_TYPES.items())
    assert set(EVENT_TYPES.values()) == set(Event.__subclasses__())


def test_no_event_has_a_field_for_a_secret() -> None:
    """No field of any event is named for a password, token, secret, hash or code."""
    fields = {f.name for cls in EVENT_TYPES.values() for f in attrs.fields(cls)}

    assert [f for f in fields if any(word in f for word in _SECRET_WORDS)] == []


def test_the_public_module_exports_every_event_type() -> None:
    """``usermgmt.events`` names every type an embedder may subscribe to."""
    assert set(EVENT_TYPES) <= set(usermgmt.events.__all__)
