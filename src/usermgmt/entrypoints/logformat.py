"""``USERMGMT_LOG_FORMAT=json``: one JSON object per log line, for every library's records.

Each object has ``time`` (RFC 3339, UTC, milliseconds), ``level`` (lower
case), ``logger`` and ``event`` (the message). A record written while a
request is served carries that request's ``request_id``; the access line of
each request adds ``method``, ``route`` (the route's template), ``path``,
``status``, ``duration`` (seconds) and ``client_ip``. An exception's
traceback, if a record has one, is in ``exception`` as one string, so the
object stays on one line.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Final

from usermgmt.domain.context import current_request

FIELDS: Final = "usermgmt"
"""The ``extra`` key under which a record passes its own fields (a dict) to the formatter."""


class JsonFormatter(logging.Formatter):
    """Format each record as one line of JSON (see the module's documentation)."""

    def format(self, record: logging.LogRecord) -> str:
        """Return *record* as one JSON object, on one line."""
        fields: dict[str, object] = getattr(record, FIELDS, None) or {}
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": fields.get("event") or record.getMessage(),
        }
        request_id = current_request().request_id
        if request_id:
            entry["request_id"] = request_id
        entry.update((k, v) for k, v in fields.items() if k != "event")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)  # ASCII: no U+2028 can split a line
