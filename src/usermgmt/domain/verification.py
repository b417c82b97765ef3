"""Whether the service asks users to prove their address, and what it then refuses.

``off``: nothing is mailed and nothing waits for a link (a change of one's
own address applies at once). ``optional`` (the default): registration mails
a link, and a self-service change of address waits for its confirmation, but
an unverified user signs in normally. ``required``: as ``optional``, and a
login with the right password by an unverified user is refused.
"""

from __future__ import annotations

import enum


class VerificationMode(enum.StrEnum):
    """``USERMGMT_EMAIL_VERIFICATION``: off, optional or required."""

    OFF = "off"
    OPTIONAL = "optional"
    REQUIRED = "required"

    @property
    def mails_links(self) -> bool:
        """Whether registration and email changes send a link to the address to confirm."""
        return self is not VerificationMode.OFF

    @property
    def gates_login(self) -> bool:
        """Whether an unverified user is refused at login (after the password is proven)."""
        return self is VerificationMode.REQUIRED
