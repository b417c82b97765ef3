"""Small helpers that arrange a scene through the HTTP API (and the library, for admins)."""

from __future__ import annotations

from typing import Any

import attrs
import httpx
from litestar import Litestar
from litestar.testing import TestClient

from usermgmt import SYSTEM, Role, Settings, UserManagement

PASSWORD = "correct horse battery staple"
OTHER_PASSWORD = "purple monkey dishwasher"


def bearer(token: str) -> dict[str, str]:
    """Return the header that presents *token*."""
    return {"Authorization": f"Bearer {token}"}


@attrs.frozen
class Account:
    """A registered user with a live session."""

    id: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header of this account's access token."""
        return bearer(self.access_token)


@attrs.frozen
class Api:
    """Arrange users and sessions through the running application."""

    client: TestClient[Litestar]
    database_url: str
    settings: Settings

    def register(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        """Register *email* and return the new user's body."""
        response = self.client.post(
            "/api/users/register", json={"email": email, "password": password}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        """Log in and return the token pair."""
        response = self.client.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def account(self, email: str, password: str = PASSWORD) -> Account:
        """Register *email* and log in."""
        user = self.register(email, password)
        tokens = self.login(email, password)
        return Account(user["id"], email, tokens["access_token"], tokens["refresh_token"])

    def admin(self, email: str = "admin@example.org", password: str = PASSWORD) -> Account:
        """Create an admin the way an operator does (through the library), and log in."""
        with UserManagement.from_url(self.database_url, self.settings).blocking() as um:
            user = um.register_user(email, password, "Admin", role=Role.ADMIN, actor=SYSTEM)
        tokens = self.login(email, password)
        return Account(str(user.id), email, tokens["access_token"], tokens["refresh_token"])

    def me(self, account: Account) -> httpx.Response:
        """Call ``GET /api/auth/me`` as *account*."""
        return self.client.get("/api/auth/me", headers=account.headers)
