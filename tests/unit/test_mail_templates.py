"""Mail templates: the shipped ones, a deployer's overrides, and refusals at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from usermgmt import ConfigurationError
from usermgmt.adapters.mail import load_templates
from usermgmt.domain.mail import Mailbox, MailKind
from usermgmt.domain.templates import PLACEHOLDERS, describe_duration

APP_URL = "https://id.example.org"
ANN = Mailbox("ann@example.org", "Ann")

_VALUES = {
    "link": "https://id.example.org/verify-email#token=abc",
    "valid_for": "24 hours",
    "old_email": "old@example.org",
    "new_email": "new@example.org",
    "passkey_name": "Laptop <Touch ID> & co",
    "remaining": "9",
}


def _values(kind: MailKind) -> dict[str, str]:
    return {key: _VALUES[key] for key in PLACEHOLDERS[kind]}


@pytest.mark.parametrize("kind", list(MailKind))
def test_every_kind_renders_from_the_shipped_templates(kind: MailKind) -> None:
    """Each shipped template renders: its values in place and no placeholder left."""
    templates = load_templates(APP_URL)

    sent = templates.compose(kind, ANN, **_values(kind))

    assert sent.kind is kind
    assert sent.to == ANN
    assert "$" not in sent.subject + sent.text
    assert "Ann" in sent.text
    for value in _values(kind).values():
        assert value in sent.text


@pytest.mark.parametrize("kind", list(MailKind))
def test_every_shipped_kind_has_an_html_part_with_its_values_escaped(kind: MailKind) -> None:
    """The HTML alternative shows the same values, as text, and a link kind links."""
    templates = load_templates(APP_URL)
    values = _values(kind) | (
        {"link": f"{APP_URL}/verify-email#token=a&b"} if "link" in _values(kind) else {}
    )

    sent = templates.compose(kind, Mailbox("ann@example.org", "Ann <b>&"), **values)

    assert sent.html is not None
    assert sent.html.startswith("<!DOCTYPE html>")
    assert "Ann &lt;b&gt;&amp;" in sent.html
    assert "<b>&" not in sent.html
    assert "$" not in sent.html
    if "link" in values:
        assert f'href="{APP_URL}/verify-email#token=a&amp;b"' in sent.html


def test_an_html_override_of_a_link_kind_must_show_the_link(tmp_path: Path) -> None:
    """The HTML part of a kind that sends a link is refused without $link, like the text."""
    _write(tmp_path, "reset-password.txt", "Subject: Reset\n\n$link\n")
    _write(tmp_path, "reset-password.html", "<p>Reset it</p>")

    with pytest.raises(ConfigurationError, match=r"\(HTML\): reset-password mail must show"):
        load_templates(APP_URL, tmp_path)


def test_a_user_without_a_name_is_greeted_by_address() -> None:
    """$name falls back to the address."""
    templates = load_templates(APP_URL)

    sent = templates.compose(MailKind.PASSWORD_CHANGED, Mailbox("bob@example.org"))

    assert "Hello bob@example.org," in sent.text


def test_links_carry_the_token_in_the_fragment() -> None:
    """A link is the app URL, the page, and the token after '#'."""
    templates = load_templates(APP_URL + "/")

    assert templates.link("reset-password", "t0k") == f"{APP_URL}/reset-password#token=t0k"


def test_compose_refuses_missing_or_extra_values() -> None:
    """A caller that gives the wrong values is a bug, found at once."""
    templates = load_templates(APP_URL)

    with pytest.raises(TypeError, match="takes"):
        templates.compose(MailKind.VERIFY_EMAIL, ANN, link="x")
    with pytest.raises(TypeError, match="takes"):
        templates.compose(MailKind.PASSWORD_CHANGED, ANN, link="x")


def _write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_directory_overrides_the_kinds_it_has_and_only_those(tmp_path: Path) -> None:
    """An override replaces its kind, text and HTML; the other kinds stay as shipped."""
    _write(tmp_path, "password-changed.txt", "Subject: Heads up, $name\n\nChanged at $app_url.\n")
    _write(tmp_path, "password-changed.html", "<p>Changed for $name</p>\n")
    shipped = load_templates(APP_URL)

    templates = load_templates(APP_URL, tmp_path)

    changed = templates.compose(MailKind.PASSWORD_CHANGED, ANN)
    assert (changed.subject, changed.text) == ("Heads up, Ann", f"Changed at {APP_URL}.\n")
    assert changed.html == "<p>Changed for Ann</p>\n"
    verify = templates.compose(MailKind.VERIFY_EMAIL, ANN, **_values(MailKind.VERIFY_EMAIL))
    assert verify == shipped.compose(MailKind.VERIFY_EMAIL, ANN, **_values(MailKind.VERIFY_EMAIL))


def test_values_are_escaped_in_html_and_not_in_text(tmp_path: Path) -> None:
    """A name such as ``<b>&`` is text in the HTML part, and as typed in the text part."""
    _write(tmp_path, "password-changed.txt", "Subject: Changed\n\nHello $name\n")
    _write(tmp_path, "password-changed.html", "<p>Hello $name</p>")
    templates = load_templates(APP_URL, tmp_path)

    sent = templates.compose(MailKind.PASSWORD_CHANGED, Mailbox("a@example.org", "<b>&"))

    assert sent.text == "Hello <b>&\n"
    assert sent.html == "<p>Hello &lt;b&gt;&amp;</p>"


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        (
            "verify-email.txt",
            "Subject: Hi\n\n$link for $user\n",
            r"verify-email.txt: unknown placeholder \$user; verify-email mail knows \$app_url",
        ),
        ("verify-email.txt", "Subject: Hi $nmae\n\n$link\n", r"unknown placeholder \$nmae"),
        ("reset-password.txt", "Subject: Hi\n\nCosts $5: $link\n", r"a '\$' starts no placeholder"),
        ("reset-password.txt", "Subject: Hi\n\nNo link here.\n", r"must show \$link"),
        ("password-changed.txt", "Hello $name\n", "the first line must be 'Subject: ...'"),
        ("password-changed.txt", "Subject:\n\nHello\n", "the first line must be 'Subject: ...'"),
        ("pasword-changed.txt", "Subject: x\n\ny\n", "pasword-changed.txt: names no mail template"),
        ("verify-email.html", "<p>$link</p>", "an HTML template needs its text one"),
        ("password-changed.txt", "Subject: x\n\n\udcff\n", "cannot be read as UTF-8"),
    ],
)
def test_a_bad_override_is_refused_at_load_naming_its_file(
    tmp_path: Path, name: str, text: str, error: str
) -> None:
    """Unknown placeholders, stray dollars, a missing link or subject fail at start, loudly."""
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8", "surrogateescape"))

    with pytest.raises(ConfigurationError, match=error) as caught:
        load_templates(APP_URL, tmp_path)

    assert "\n" not in str(caught.value)


def test_an_unknown_placeholder_in_an_html_override_is_refused(tmp_path: Path) -> None:
    """The HTML part is checked like the text."""
    _write(tmp_path, "password-changed.txt", "Subject: x\n\ny\n")
    _write(tmp_path, "password-changed.html", "<p>$token</p>")

    with pytest.raises(ConfigurationError, match=r"\(HTML\): unknown placeholder \$token"):
        load_templates(APP_URL, tmp_path)


def test_a_templates_directory_that_is_missing_is_refused(tmp_path: Path) -> None:
    """A mistyped directory is not silently ignored."""
    with pytest.raises(ConfigurationError, match="not a directory"):
        load_templates(APP_URL, tmp_path / "nope")


def test_hidden_files_in_the_directory_are_ignored(tmp_path: Path) -> None:
    """An editor's swap file or .gitkeep is not a misspelt template."""
    _write(tmp_path, ".gitkeep", "")

    assert load_templates(APP_URL, tmp_path)[MailKind.VERIFY_EMAIL] is not None


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (1800, "30 minutes"),
        (86400, "1 day"),
        (7200, "2 hours"),
        (90, "90 seconds"),
        (60, "1 minute"),
    ],
)
def test_durations_are_said_in_the_largest_whole_unit(seconds: int, said: str) -> None:
    """Token lifetimes read naturally in mail."""
    assert describe_duration(seconds) == said
