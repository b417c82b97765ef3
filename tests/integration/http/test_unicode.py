"""Odd Unicode sent at the API: one address in many spellings."""

from __future__ import annotations

import pytest

from tests.integration.http.helpers import OTHER_PASSWORD, PASSWORD, Api
from tests.integration.http.test_routes import assert_problem

# Pairs that lower() kept apart and Unicode's NFKC_Casefold joins.
SPELLINGS = pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ΟΔΥΣΣΕΑΣ@example.gr", "οδυσσεασ@example.gr"),
        ("οδυσσεασ@example.gr", "ΟΔΥΣΣΕΑΣ@example.gr"),
        ("ｃat@example.org", "cat@example.org"),
        ("cat@example.org", "ｃａｔ@ｅｘａｍｐｌｅ.org"),
        ("ﬁle@example.org", "file@example.org"),
        ("file@example.org", "ﬁle@example.org"),
        ("Straße@example.de", "strasse@example.de"),
    ],
    ids=[
        "sigma-upper-first",
        "sigma-lower-first",
        "full-width-first",
        "full-width-second",
        "ligature-first",
        "ligature-second",
        "sharp-s",
    ],
)


@SPELLINGS
def test_registering_another_spelling_of_a_taken_address_is_409(
    api: Api, first: str, second: str
) -> None:
    """The second spelling is the same address: no second account."""
    api.register(first)

    response = api.client.post(
        "/api/users/register", json={"email": second, "password": OTHER_PASSWORD}
    )

    assert assert_problem(response, 409)["type"] == "/problems/email-taken"


@SPELLINGS
def test_logging_in_with_another_spelling_opens_that_account(
    api: Api, first: str, second: str
) -> None:
    """Login looks the address up by its key, and finds the one account it names."""
    registered = api.register(first)

    tokens = api.login(second)
    me = api.client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )

    assert me.status_code == 200
    assert me.json()["id"] == registered["id"]
    assert me.json()["email"] == registered["email"]  # shown as it was registered


def test_the_address_is_shown_as_registered_lowercased(api: Api) -> None:
    """What users see stays the lowercased address, not its folded key."""
    assert api.register("ΟΔΥΣΣΕΑΣ@Example.GR")["email"] == "οδυσσεας@example.gr"
    assert api.register("ﬁle@example.org")["email"] == "ﬁle@example.org"


def test_changing_ones_email_to_another_spelling_of_a_taken_one_is_409(api: Api) -> None:
    """An admin's update cannot move a user onto another account by respelling its address."""
    admin = api.admin()
    api.register("οδυσσεασ@example.gr")
    ann = api.account("ann@example.org")

    response = api.client.patch(
        f"/api/users/{ann.id}", json={"email": "ΟΔΥΣΣΕΑΣ@example.gr"}, headers=admin.headers
    )

    assert assert_problem(response, 409)["type"] == "/problems/email-taken"


def test_a_wrong_password_under_another_spelling_counts_against_the_same_account(
    api: Api,
) -> None:
    """Respelling the address does not buy fresh guesses: the throttle counts by key."""
    api.register("ΟΔΥΣΣΕΑΣ@example.gr", PASSWORD)
    spellings = ["ΟΔΥΣΣΕΑΣ@example.gr", "οδυσσεασ@example.gr", "οδυσσεας@example.gr"]

    for n in range(5):  # USERMGMT_LOGIN_MAX_FAILURES failures, each under another spelling
        wrong = api.client.post(
            "/api/auth/login",
            json={"email": spellings[n % len(spellings)], "password": "not the password"},
        )
        assert_problem(wrong, 401)
    throttled = api.client.post(
        "/api/auth/login", json={"email": "Οδυσσεασ@EXAMPLE.gr", "password": PASSWORD}
    )

    assert_problem(throttled, 429)


# --- display names -----------------------------------------------------------------------------

CONTROL = "must not contain control characters or line breaks"
BIDI = "must not contain bidirectional override or isolate characters"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("\x1b[31mAnn\x1b[0m", CONTROL),
        ("Ann\nINFO admin signed in", CONTROL),
        ("Ann\t", CONTROL),
        ("Ann\x9b2J", CONTROL),
        ("Ann\u2028forged", CONTROL),
        ("admin\u202etxt.exe", BIDI),
        ("admin\u2067txt.exe\u2069", BIDI),
    ],
    ids=["ansi-escape", "newline", "tab", "c1-csi", "line-separator", "override", "isolate"],
)
def test_a_name_that_could_forge_text_is_422_naming_the_rule(
    api: Api, name: str, reason: str
) -> None:
    """Registration and update refuse the name with 422, ``errors`` naming ``name`` and why."""
    ann = api.account("ann@example.org")

    registered = api.client.post(
        "/api/users/register",
        json={"email": "bob@example.org", "password": PASSWORD, "name": name},
    )
    updated = api.client.patch(f"/api/users/{ann.id}", json={"name": name}, headers=ann.headers)

    for response in (registered, updated):
        problem = assert_problem(response, 422)
        (error,) = problem["errors"]  # type: ignore[misc]
        assert error["field"] == "name"
        assert error["message"].startswith(reason)
    assert api.me(ann).json()["name"] == ""


def test_a_name_is_stored_nfc_normalized(api: Api) -> None:
    """A decomposed name is stored composed; right-to-left script needs no override."""
    response = api.client.post(
        "/api/users/register",
        json={"email": "zoe@example.org", "password": PASSWORD, "name": "Zoe\u0308 محمد"},
    )

    assert response.status_code == 201
    assert response.json()["name"] == "Zoë محمد"


# --- passwords -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        (" " * 12, "must not be only white space or invisible characters"),
        ("\u200b" * 12, "must not be only white space or invisible characters"),
        ("\u3000\u00a0" * 6, "must not be only white space or invisible characters"),
        ("\x00" * 12, "must not contain control characters"),
        ("correct horse\x1b[2J", "must not contain control characters"),
        ("a" * 12, "must not be one character repeated"),
        ("12345678901", "must not be a run of consecutive characters"),
        ("abcdefghij", "must not be a run of consecutive characters"),
        ("abcabcabcabc", "must not be a group of fewer than 8 characters repeated"),
    ],
    ids=[
        "spaces",
        "zero-width-spaces",
        "wide-spaces",
        "nuls",
        "escape",
        "one-character",
        "digits-wrapping",
        "letters",
        "short-group",
    ],
)
def test_a_weak_password_is_422_naming_the_rule(api: Api, password: str, reason: str) -> None:
    """Registration and a password change refuse it with the reason, on the field ``password``."""
    ann = api.account("ann@example.org")

    registered = api.client.post(
        "/api/users/register", json={"email": "bob@example.org", "password": password}
    )
    changed = api.client.patch(
        f"/api/users/{ann.id}",
        json={"password": password, "current_password": PASSWORD},
        headers=ann.headers,
    )

    for response in (registered, changed):
        problem = assert_problem(response, 422)
        (error,) = problem["errors"]  # type: ignore[misc]
        assert error["field"] == "password"
        assert error["message"].startswith(reason)
    assert api.client.post(
        "/api/auth/login", json={"email": "ann@example.org", "password": PASSWORD}
    ).is_success


def test_a_passphrase_of_words_is_accepted(api: Api) -> None:
    """Nothing in the new rules stands in the way of an ordinary passphrase."""
    api.register("ann@example.org", "Straße-Brücke-café 2024")

    assert api.login("ann@example.org", "Straße-Brücke-café 2024")["token_type"] == "bearer"
