"""The wiring: every use case built once, on the service's parts.

Adding a use case is one field of :class:`UseCases` and one line in
:func:`wire` (and, to reach it from the facade, one line there).
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from usermgmt._service.factories import Parts
from usermgmt._service.relying_party import LazyRelyingParty
from usermgmt.adapters.blocklist import common_passwords
from usermgmt.domain.events import MailRequested, PasswordResetRequested, VerificationRequested
from usermgmt.domain.rules.mfa import MfaThrottlePolicy
from usermgmt.domain.rules.passwords import PasswordPolicy
from usermgmt.domain.rules.sessions import SessionPolicy
from usermgmt.domain.rules.throttle import LoginThrottlePolicy
from usermgmt.settings import Settings
from usermgmt.usecases._steps import MailVerification, PasswordChange, StartSession, TokenIssuer
from usermgmt.usecases.accounts import DeleteUser, FindUser, GetUser, RegisterUser, RestoreUser
from usermgmt.usecases.active_sessions import (
    EndOtherSessions,
    EndSession,
    ListOwnSessions,
    ListSessions,
)
from usermgmt.usecases.audit import (
    ListAuditEvents,
    ListOwnAuditEvents,
    PurgeAuditEvents,
    RecordRefusal,
)
from usermgmt.usecases.email_change import EmailChangeMail
from usermgmt.usecases.events import DispatchEvents
from usermgmt.usecases.listing import ListUsers, ListUsersAfter
from usermgmt.usecases.login import Authenticate
from usermgmt.usecases.mail import DeliverMail, QueueMail
from usermgmt.usecases.maintenance import PurgeExpired
from usermgmt.usecases.mfa_login import IssueMfaChallenge, VerifyMfa
from usermgmt.usecases.passkeys import (
    BeginPasskeyLogin,
    BeginPasskeyRegistration,
    FinishPasskeyRegistration,
    ListPasskeys,
    PasskeyLogin,
    RemovePasskey,
)
from usermgmt.usecases.recovery import RequestPasswordReset, ResetPassword, SendPasswordReset
from usermgmt.usecases.sessions import (
    Logout,
    RefreshSession,
    RevokeSessions,
    ValidateAccessToken,
)
from usermgmt.usecases.totp import (
    ConfirmTotp,
    DisableTotp,
    RecoveryCodes,
    RegenerateRecoveryCodes,
    ResetMfa,
    StartTotp,
)
from usermgmt.usecases.updates import ChangePassword, UpdateUser
from usermgmt.usecases.verification import RequestVerification, SendVerification, VerifyEmail


@attrs.frozen(kw_only=True)
class UseCases:
    """Every use case of a service, under the facade's name for it."""

    register_user: RegisterUser
    authenticate: Authenticate
    refresh: RefreshSession
    validate_access_token: ValidateAccessToken
    logout: Logout
    get_user: GetUser
    find_user: FindUser
    list_users: ListUsers
    list_users_after: ListUsersAfter
    update_user: UpdateUser
    change_password: ChangePassword
    delete_user: DeleteUser
    restore_user: RestoreUser
    revoke_sessions: RevokeSessions
    list_own_sessions: ListOwnSessions
    list_sessions: ListSessions
    end_session: EndSession
    end_other_sessions: EndOtherSessions
    purge_expired: PurgeExpired
    request_password_reset: RequestPasswordReset
    reset_password: ResetPassword
    verify_email: VerifyEmail
    resend_verification: RequestVerification
    dispatch_events: DispatchEvents
    deliver_mail: DeliverMail
    """The outbox's mail subscriber (subscribed by :func:`wire`)."""
    queue_mail: QueueMail
    """The step a flow queues its mail with, in its own unit of work."""
    list_audit_events: ListAuditEvents
    list_own_audit_events: ListOwnAuditEvents
    purge_audit_events: PurgeAuditEvents
    record_refusal: RecordRefusal
    begin_passkey_registration: BeginPasskeyRegistration
    finish_passkey_registration: FinishPasskeyRegistration
    list_passkeys: ListPasskeys
    remove_passkey: RemovePasskey
    begin_passkey_login: BeginPasskeyLogin
    passkey_login: PasskeyLogin
    start_totp: StartTotp
    confirm_totp: ConfirmTotp
    disable_totp: DisableTotp
    regenerate_recovery_codes: RegenerateRecoveryCodes
    reset_mfa: ResetMfa
    verify_mfa: VerifyMfa


@attrs.frozen(kw_only=True)
class Policies:
    """The domain rules, with the numbers the settings give them."""

    sessions: SessionPolicy
    throttle: LoginThrottlePolicy
    passwords: PasswordPolicy
    mfa: MfaThrottlePolicy

    @classmethod
    def from_settings(cls, settings: Settings) -> Policies:
        """Return the policies *settings* configure."""
        return cls(
            sessions=SessionPolicy(
                access_token_ttl=timedelta(seconds=settings.access_token_ttl),
                refresh_token_ttl=timedelta(seconds=settings.refresh_token_ttl),
                reuse_grace=timedelta(seconds=settings.refresh_reuse_grace),
            ),
            throttle=LoginThrottlePolicy(
                per_client=settings.login_max_failures,
                per_account=settings.login_max_failures_per_account,
            ),
            passwords=PasswordPolicy(
                min_length=settings.password_min_length,
                common=common_passwords(settings.password_min_length),
            ),
            mfa=MfaThrottlePolicy(max_failures=settings.mfa_max_failures),
        )


def wire(parts: Parts) -> UseCases:
    """Build every use case on *parts*, each shared step once."""
    p = parts
    rules = Policies.from_settings(p.settings)
    issuer = TokenIssuer(codec=p.codec, ids=p.ids, policy=rules.sessions)
    start = StartSession(uow=p.uow, issuer=issuer, policy=rules.sessions, clock=p.clock, ids=p.ids)
    passwords = PasswordChange(
        hasher=p.hasher, policy=rules.passwords, attempts=p.attempts, ids=p.ids
    )
    dispatch = DispatchEvents(store=p.outbox, clock=p.clock)
    deliver_mail = DeliverMail(mailer=p.mail, max_attempts=p.settings.mail_max_attempts)
    dispatch.subscribe(MailRequested, deliver_mail)
    queue_mail = QueueMail(templates=p.mail.templates, clock=p.clock)
    links = p.settings.email_verification.mails_links
    link_lifetime = timedelta(seconds=p.settings.verification_ttl)
    verification = MailVerification(queue_mail=queue_mail, lifetime=link_lifetime)
    update = UpdateUser(
        uow=p.uow,
        passwords=passwords,
        clock=p.clock,
        email_change=EmailChangeMail(
            queue_mail=queue_mail, lifetime=link_lifetime, mail_enabled=p.settings.mail_enabled
        )
        if links
        else None,
    )
    dispatch.subscribe(
        VerificationRequested,
        SendVerification(uow=p.uow, clock=p.clock, verification=verification),
    )
    codes = RecoveryCodes(ids=p.ids, queue_mail=queue_mail)
    dispatch.subscribe(
        PasswordResetRequested,
        SendPasswordReset(
            uow=p.uow,
            clock=p.clock,
            queue_mail=queue_mail,
            lifetime=timedelta(seconds=p.settings.reset_ttl),
        ),
    )
    relying_party = LazyRelyingParty(
        rp_id=p.settings.webauthn_rp_id,
        rp_name=p.settings.webauthn_rp_name,
        origins=p.settings.webauthn_origins,
    )
    return UseCases(
        register_user=RegisterUser(
            uow=p.uow,
            hasher=p.hasher,
            policy=rules.passwords,
            clock=p.clock,
            ids=p.ids,
            verification=verification if links and p.settings.mail_enabled else None,
        ),
        authenticate=Authenticate(
            uow=p.uow,
            attempts=p.attempts,
            hasher=p.hasher,
            throttle=rules.throttle,
            start_session=start,
            challenge=IssueMfaChallenge(uow=p.uow, clock=p.clock),
            clock=p.clock,
            verification=p.settings.email_verification,
        ),
        refresh=RefreshSession(uow=p.uow, issuer=issuer, policy=rules.sessions, clock=p.clock),
        validate_access_token=ValidateAccessToken(uow=p.uow, codec=p.codec, clock=p.clock),
        logout=Logout(uow=p.uow, clock=p.clock),
        get_user=GetUser(uow=p.uow),
        find_user=FindUser(uow=p.uow),
        list_users=ListUsers(uow=p.uow),
        list_users_after=ListUsersAfter(uow=p.uow, secrets=p.secrets),
        update_user=update,
        change_password=ChangePassword(update=update),
        delete_user=DeleteUser(uow=p.uow, clock=p.clock),
        restore_user=RestoreUser(uow=p.uow, clock=p.clock),
        revoke_sessions=RevokeSessions(uow=p.uow, clock=p.clock),
        list_own_sessions=ListOwnSessions(uow=p.uow, clock=p.clock),
        list_sessions=ListSessions(uow=p.uow, clock=p.clock),
        end_session=EndSession(uow=p.uow, clock=p.clock),
        end_other_sessions=EndOtherSessions(uow=p.uow, clock=p.clock),
        purge_expired=PurgeExpired(
            uow=p.uow,
            outbox=p.outbox,
            attempts=p.attempts,
            throttle=rules.throttle,
            clock=p.clock,
            audit_retention=timedelta(days=p.settings.audit_retention_days),
        ),
        request_password_reset=RequestPasswordReset(
            uow=p.uow, clock=p.clock, mail_enabled=p.settings.mail_enabled
        ),
        reset_password=ResetPassword(
            uow=p.uow, passwords=passwords, clock=p.clock, queue_mail=queue_mail
        ),
        verify_email=VerifyEmail(uow=p.uow, clock=p.clock),
        resend_verification=RequestVerification(
            uow=p.uow, clock=p.clock, mail_enabled=p.settings.mail_enabled
        ),
        dispatch_events=dispatch,
        deliver_mail=deliver_mail,
        queue_mail=queue_mail,
        list_audit_events=ListAuditEvents(uow=p.uow, secrets=p.secrets),
        list_own_audit_events=ListOwnAuditEvents(uow=p.uow, secrets=p.secrets),
        purge_audit_events=PurgeAuditEvents(uow=p.uow, clock=p.clock),
        record_refusal=RecordRefusal(uow=p.uow, clock=p.clock),
        begin_passkey_registration=BeginPasskeyRegistration(
            uow=p.uow, passwords=passwords, verifier=relying_party, clock=p.clock
        ),
        finish_passkey_registration=FinishPasskeyRegistration(
            uow=p.uow, verifier=relying_party, queue_mail=queue_mail, clock=p.clock, ids=p.ids
        ),
        list_passkeys=ListPasskeys(uow=p.uow),
        remove_passkey=RemovePasskey(uow=p.uow, passwords=passwords, clock=p.clock),
        begin_passkey_login=BeginPasskeyLogin(uow=p.uow, verifier=relying_party, clock=p.clock),
        passkey_login=PasskeyLogin(
            uow=p.uow,
            verifier=relying_party,
            attempts=p.attempts,
            throttle=rules.throttle,
            start_session=start,
            clock=p.clock,
        ),
        start_totp=StartTotp(
            uow=p.uow,
            passwords=passwords,
            clock=p.clock,
            ids=p.ids,
            issuer=p.settings.totp_issuer,
        ),
        confirm_totp=ConfirmTotp(uow=p.uow, codes=codes, clock=p.clock),
        disable_totp=DisableTotp(uow=p.uow, passwords=passwords, codes=codes, clock=p.clock),
        regenerate_recovery_codes=RegenerateRecoveryCodes(
            uow=p.uow, passwords=passwords, codes=codes, queue_mail=queue_mail, clock=p.clock
        ),
        reset_mfa=ResetMfa(uow=p.uow, clock=p.clock),
        verify_mfa=VerifyMfa(
            uow=p.uow,
            attempts=p.attempts,
            throttle=rules.mfa,
            codes=codes,
            start_session=start,
            clock=p.clock,
        ),
    )
