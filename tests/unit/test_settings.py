"""Configuration from the environment, and the start-up checks."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import attrs
import pytest

from tests.settings_sample import EVERY_SETTING
from usermgmt import ConfigurationError, Environment, Settings
from usermgmt.adapters.keys import development_secret
from usermgmt.settings import DECLARED


def test_defaults_match_the_contract() -> None:
    """With nothing set, the SPEC's defaults apply."""
    settings = Settings.from_env({})

    assert (
        settings.env,
        settings.access_token_ttl,
        settings.refresh_token_ttl,
        settings.password_min_length,
        settings.rate_limit_per_minute,
        settings.login_max_failures,
        settings.login_max_failures_per_account,
        settings.refresh_reuse_grace,
        settings.cors_origins,
        settings.database_url,
        settings.redis_url,
    ) == (Environment.DEVELOPMENT, 900, 2_592_000, 8, 60, 5, 100, 10, (), None, None)


def test_every_contract_variable_is_read() -> None:
    """Each USERMGMT_* name of the SPEC reaches its setting."""
    settings = Settings.from_env(
        {
            "USERMGMT_DATABASE_URL": "postgresql://db/app",
            "USERMGMT_ENV": "production",
            "USERMGMT_JWT_SECRET": "s" * 40,
            "USERMGMT_ACCESS_TOKEN_TTL": "60",
            "USERMGMT_REFRESH_TOKEN_TTL": "3600",
            "USERMGMT_PASSWORD_MIN_LENGTH": "15",
            "USERMGMT_RATE_LIMIT_PER_MINUTE": "0",
            "USERMGMT_LOGIN_MAX_FAILURES": "3",
            "USERMGMT_LOGIN_MAX_FAILURES_PER_ACCOUNT": "50",
            "USERMGMT_REFRESH_REUSE_GRACE": "0",
            "USERMGMT_CORS_ORIGINS": "https://a.example, https://b.example/",
            "USERMGMT_REDIS_URL": "redis://cache:6379/0",
        }
    )

    assert settings == Settings(
        database_url="postgresql://db/app",
        env=Environment.PRODUCTION,
        jwt_secret="s" * 40,
        access_token_ttl=60,
        refresh_token_ttl=3600,
        password_min_length=15,
        rate_limit_per_minute=0,
        login_max_failures=3,
        login_max_failures_per_account=50,
        refresh_reuse_grace=0,
        cors_origins=("https://a.example", "https://b.example"),
        redis_url="redis://cache:6379/0",
        data_dir=settings.data_dir,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("USERMGMT_ENV", "staging"),
        ("USERMGMT_ACCESS_TOKEN_TTL", "soon"),
        ("USERMGMT_ACCESS_TOKEN_TTL", "0"),
        ("USERMGMT_RATE_LIMIT_PER_MINUTE", "-1"),
        ("USERMGMT_MIGRATE_ON_START", "maybe"),
    ],
)
def test_malformed_values_are_refused_with_their_name(name: str, value: str) -> None:
    """A wrong value names the variable in one clear message."""
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: value})


def test_the_data_dir_follows_xdg_data_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On Linux the data directory is $XDG_DATA_HOME/usermgmt."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))

    assert Settings.from_env({}).data_dir == tmp_path / "usermgmt"


def test_production_refuses_to_start_without_a_key() -> None:
    """No secret and no key in production: a clear refusal."""
    with pytest.raises(ConfigurationError, match="production mode needs a signing key"):
        Settings(env=Environment.PRODUCTION).check()


def test_production_refuses_a_short_secret() -> None:
    """Fewer than 32 bytes of HS256 key are refused in production."""
    with pytest.raises(ConfigurationError, match="shorter than 32 bytes"):
        Settings(env=Environment.PRODUCTION, jwt_secret="short").check()


def test_development_warns_about_a_short_secret(caplog: pytest.LogCaptureFixture) -> None:
    """In development a short secret is allowed, with a warning."""
    Settings(jwt_secret="short").check()

    assert "shorter than 32 bytes" in caplog.text


def test_a_secret_and_a_key_together_are_ambiguous(tmp_path: Path) -> None:
    """Both signing settings at once are refused."""
    with pytest.raises(ConfigurationError, match="ambiguous"):
        Settings(jwt_secret="s" * 32, jwt_private_key=tmp_path / "key.pem").check()


def test_the_development_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    """The generated secret is 0600, at least 32 bytes, and the same on the next start."""
    first = development_secret(tmp_path / "data")
    second = development_secret(tmp_path / "data")

    path = tmp_path / "data" / "jwt-secret"
    assert first == second
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["jwt-secret"]


def test_flags_override_only_what_they_set() -> None:
    """evolve() ignores flags left at None."""
    settings = Settings(port=9000).evolve(port=None, workers=4)

    assert (settings.port, settings.workers) == (9000, 4)


# --- each setting declared once ----------------------------------------------------------------


def test_the_sample_sets_every_setting_away_from_its_default() -> None:
    """The round trips below would prove nothing for a setting left at its default."""
    defaults = Settings()

    at_default = [
        d.name for d in DECLARED if getattr(EVERY_SETTING, d.name) == getattr(defaults, d.name)
    ]

    assert at_default == []


def test_every_setting_survives_the_trip_through_the_environment() -> None:
    """``to_env`` writes what ``from_env`` reads back, for every declared setting."""
    environment = EVERY_SETTING.to_env()

    assert Settings.from_env(environment) == EVERY_SETTING
    assert sorted(environment) == sorted(d.variable for d in DECLARED)


def test_every_variable_is_named_after_its_field() -> None:
    """One name per setting: the field, its variable and its flag say the same words."""
    names = [(d.variable, d.flag.split("/")[0]) for d in DECLARED]

    assert names == [
        (
            f"USERMGMT_{d.name.upper()}",
            "--migrate" if d.name == "migrate_on_start" else "--" + d.name.replace("_", "-"),
        )
        for d in DECLARED
    ]
    assert [d.name for d in DECLARED] == [f.name for f in attrs.fields(Settings)]


def test_secrets_stay_out_of_the_repr() -> None:
    """Exactly the settings declared secret are missing from ``repr()``."""
    text = repr(EVERY_SETTING)

    hidden = [d.name for d in DECLARED if f"{d.name}=" not in text]

    assert hidden == [d.name for d in DECLARED if d.secret]
    assert "jwt_secret" in hidden
    assert "jwt_previous_secrets" in hidden
    assert all(secret not in text for secret in EVERY_SETTING.jwt_previous_secrets)
    assert EVERY_SETTING.jwt_secret not in text


def test_the_readme_table_lists_every_setting_once() -> None:
    """README's configuration table names every variable, and no variable that does not exist."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]

    listed = [name for cell in first_cells for name in re.findall(r"`(USERMGMT_\w+)`", cell)]

    assert sorted(listed) == sorted(d.variable for d in DECLARED)


def test_several_key_files_are_read_in_order() -> None:
    """USERMGMT_JWT_PRIVATE_KEY lists paths, comma-separated, blanks around them ignored."""
    settings = Settings.from_env({"USERMGMT_JWT_PRIVATE_KEY": " /keys/new.pem , /keys/old.pem "})

    assert settings.jwt_private_key == (Path("/keys/new.pem"), Path("/keys/old.pem"))


def test_one_key_file_is_still_accepted_as_a_path(tmp_path: Path) -> None:
    """Programs that passed one Path, from before key rotation, keep working."""
    path = tmp_path / "key.pem"

    assert Settings(jwt_private_key=path).jwt_private_key == (path,)
    assert Settings(jwt_private_key=None).jwt_private_key == ()


def test_previous_secrets_are_read_and_kept_out_of_sight() -> None:
    """USERMGMT_JWT_PREVIOUS_SECRETS lists secrets; none shows in repr()."""
    old = ("o" * 32, "p" * 40)

    settings = Settings.from_env({"USERMGMT_JWT_PREVIOUS_SECRETS": ",".join(old)})

    assert settings.jwt_previous_secrets == old
    assert all(secret not in repr(settings) for secret in old)


def test_previous_secrets_beside_an_ed25519_key_are_refused(tmp_path: Path) -> None:
    """HS256 verifiers next to an EdDSA signer would never be used: a configuration error."""
    settings = Settings(jwt_private_key=tmp_path / "key.pem", jwt_previous_secrets=("o" * 32,))

    with pytest.raises(ConfigurationError, match="USERMGMT_JWT_PREVIOUS_SECRETS"):
        settings.check()


def test_production_refuses_a_short_previous_secret_without_showing_it() -> None:
    """A previous secret under 32 bytes is refused in production; the message names no secret."""
    settings = Settings(
        env=Environment.PRODUCTION, jwt_secret="s" * 32, jwt_previous_secrets=("tiny-old",)
    )

    with pytest.raises(ConfigurationError, match="shorter than 32 bytes") as refused:
        settings.check()

    assert "USERMGMT_JWT_PREVIOUS_SECRETS" in str(refused.value)
    assert "tiny-old" not in str(refused.value)


def test_passkey_origins_must_be_on_the_rp_id() -> None:
    """An origin outside the RP id's domain could never run a ceremony: refused at start."""
    Settings(
        webauthn_rp_id="example.org",
        webauthn_origins=("https://example.org", "https://id.example.org:8443"),
    ).check()

    with pytest.raises(ConfigurationError, match="USERMGMT_WEBAUTHN_ORIGINS"):
        Settings(webauthn_rp_id="example.org").check()  # the default origin is localhost's
    with pytest.raises(ConfigurationError, match=r"evil-example\.org"):
        Settings(
            webauthn_rp_id="example.org", webauthn_origins=("https://evil-example.org",)
        ).check()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("USERMGMT_WEBAUTHN_RP_ID", "https://example.org"),
        ("USERMGMT_WEBAUTHN_RP_ID", "example.org:443"),
        ("USERMGMT_WEBAUTHN_ORIGINS", "example.org"),
        ("USERMGMT_WEBAUTHN_ORIGINS", "https://example.org/login"),
        ("USERMGMT_WEBAUTHN_ORIGINS", " , "),
    ],
)
def test_a_malformed_passkey_setting_is_refused(variable: str, value: str) -> None:
    """An RP id is a bare domain; an origin is a scheme and a host, without a path."""
    with pytest.raises(ConfigurationError, match=variable):
        Settings.from_env({variable: value})
