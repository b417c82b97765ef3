"""The mail templates shipped with usermgmt, and a deployer's directory that overrides them.

A kind is taken whole from the directory when the directory has its
``<kind>.txt`` (and then its ``<kind>.html``, if any, is the HTML part: a
kind overridden without one is sent as plain text only); the other kinds keep
the shipped templates. A file in the directory that names no kind is refused,
so a misspelt name does not silently leave the shipped text in use.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from usermgmt.domain.errors import ConfigurationError
from usermgmt.domain.mail import MailKind
from usermgmt.domain.templates import MailTemplate, MailTemplates

_SUFFIXES = (".txt", ".html")


def _read(path: Path, origin: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{origin}: cannot be read as UTF-8 text ({exc})"
        raise ConfigurationError(msg) from None


def _shipped(kind: MailKind) -> MailTemplate:
    folder = resources.files(__package__).joinpath("templates")
    text = folder.joinpath(f"{kind}.txt").read_text(encoding="utf-8")
    html = folder.joinpath(f"{kind}.html")
    return MailTemplate.parse(
        kind,
        text,
        html.read_text(encoding="utf-8") if html.is_file() else None,
        origin=f"the shipped template {kind}.txt",
    )


def _overrides(directory: Path) -> dict[MailKind, MailTemplate]:
    if not directory.is_dir():
        msg = f"USERMGMT_MAIL_TEMPLATES={directory}: not a directory"
        raise ConfigurationError(msg)
    known = {f"{kind}{suffix}" for kind in MailKind for suffix in _SUFFIXES}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.name not in known:
            kinds = ", ".join(f"{kind}.txt" for kind in MailKind)
            msg = f"{path}: names no mail template (the templates are {kinds}, each with .html)"
            raise ConfigurationError(msg)
    found = {}
    for kind in MailKind:
        text, html = directory / f"{kind}.txt", directory / f"{kind}.html"
        if not text.is_file():
            if html.is_file():
                msg = f"{html}: an HTML template needs its text one, {text.name}, beside it"
                raise ConfigurationError(msg)
            continue
        found[kind] = MailTemplate.parse(
            kind,
            _read(text, str(text)),
            _read(html, str(html)) if html.is_file() else None,
            origin=str(text),
        )
    return found


def load_templates(app_url: str, directory: Path | None = None) -> MailTemplates:
    """Return the shipped templates, with those in *directory* in their place.

    Raises:
        ConfigurationError: *directory* is not a directory, holds a file that
            names no template, or a template is refused (see
            :meth:`MailTemplate.parse`); the one line says which file.
    """
    chosen = {kind: _shipped(kind) for kind in MailKind}
    if directory is not None:
        chosen |= _overrides(directory)
    return MailTemplates(app_url.rstrip("/"), by_kind=chosen)
