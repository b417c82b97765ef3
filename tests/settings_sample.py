"""Settings with every field away from its default: what the round-trip tests send through."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from usermgmt import Environment, Settings
from usermgmt.domain.verification import VerificationMode
from usermgmt.settings import LogFormat

EVERY_SETTING: Final = Settings(
    database_url="postgresql://db.example.org/users",
    migrations_database_url="postgresql://db.example.org:5432/users",
    env=Environment.PRODUCTION,
    jwt_secret="s" * 40,
    jwt_private_key=(Path("/etc/usermgmt/new.pem"), Path("/etc/usermgmt/old.pem")),
    jwt_previous_secrets=("p" * 40, "q" * 40),
    jwt_issuer="https://id.example.org",
    jwt_audience="example-api",
    access_token_ttl=300,
    refresh_token_ttl=3600,
    password_min_length=15,
    rate_limit_per_minute=0,
    login_max_failures=3,
    login_max_failures_per_account=50,
    mfa_max_failures=3,
    totp_issuer="Example ID",
    refresh_reuse_grace=0,
    audit_retention_days=30,
    cors_origins=("https://a.example.org", "https://b.example.org"),
    redis_url="redis://cache.example.org:6379/2",
    redis_key_prefix="tenant-a:",
    argon2_time_cost=2,
    argon2_memory_cost=19_456,
    argon2_parallelism=2,
    hash_concurrency=3,
    database_pool_size=20,
    migrate_on_start=False,
    data_dir=Path("/srv/usermgmt"),
    host="0.0.0.0",  # noqa: S104 - a value under test, not a bind
    port=9000,
    workers=4,
    metrics=True,
    log_format=LogFormat.JSON,
    trusted_proxies=("10.0.0.0/8", "2001:db8::/32"),
    app_url="https://id.example.org",
    mail_url="smtps://mailer:p%40ss@smtp.example.org:465?timeout=5",
    mail_from="Example ID <id@example.org>",
    mail_max_attempts=3,
    reset_ttl=900,
    email_verification=VerificationMode.REQUIRED,
    verification_ttl=3600,
    mail_templates=Path("/etc/usermgmt/mail"),
    webauthn_rp_id="example.org",
    webauthn_rp_name="Example ID",
    webauthn_origins=("https://id.example.org", "https://app.example.org"),
)
"""A value for each setting that is not its default (a new setting adds one here)."""
