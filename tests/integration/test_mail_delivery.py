"""Mail through the whole service: PostgreSQL's outbox, the dispatcher, a real SMTP server."""

from __future__ import annotations

import anyio
import pytest

from tests.mail_delivery_contract import queued
from tests.mailserver import StartMailServer
from usermgmt import Settings, UserManagement

pytestmark = pytest.mark.anyio


async def test_an_smtp_outage_loses_nothing_and_delivers_when_the_server_is_back(
    mail_server: StartMailServer, empty_database: str, settings: Settings
) -> None:
    """Queued while the server is down, the message is sent by the first pass after it returns."""
    server = mail_server(tls="starttls")
    server.stop()
    service = UserManagement.from_url(
        empty_database, settings.evolve(mail_url=server.url("smtp+tls"))
    )
    async with service:
        async with service._parts.uow() as tx:
            await tx.outbox.add(queued())

        first = await service.dispatch_events()
        back = mail_server(tls="starttls", port=server.port)
        await anyio.sleep(1.1)  # the first retry is due one second after the failure
        second = await service.dispatch_events()
        third = await service.dispatch_events()

    assert (first, second, third) == (0, 1, 0)
    [received] = back.messages
    assert received["Subject"] == "Confirm your email address"
    assert received["Message-ID"].startswith("<usermgmt-")


async def test_two_services_on_one_database_send_each_message_once(
    mail_server: StartMailServer, empty_database: str, settings: Settings
) -> None:
    """Two instances dispatching at once share the outbox: every message arrives exactly once."""
    server = mail_server(tls="starttls")
    mail = settings.evolve(mail_url=server.url("smtp+tls"))
    one = UserManagement.from_url(empty_database, mail)
    two = UserManagement.from_url(empty_database, mail)
    async with one, two:
        async with one._parts.uow() as tx:
            for n in range(20):
                await tx.outbox.add(queued(subject=f"message {n}"))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(one.dispatch_events)
            tasks.start_soon(two.dispatch_events)

    subjects = sorted(received["Subject"] for received in server.messages)
    assert subjects == sorted(f"message {n}" for n in range(20))
