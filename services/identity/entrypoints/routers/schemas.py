"""Request shapes of identity's routes, and the length caps every field has."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, model_validator

from services.identity.domain import recovery
from services.identity.domain.flows import Factor
from services.identity.service_layer.protection import Proof
from shared.events import Channel, LoginMethodKind
from shared.inputs import ACCOUNT_ID_PATTERN
from shared.inputs import RequestModel as BaseModel

# Length caps of the fields (ASVS 5.1.4): generous for people, small for the outbox, Redis
# and argon2. The domain rules (PWD-1's 20, PRJ-1's 64/500) stay the tighter checks.
EMAIL = 254  # RFC 5321's longest forward path
PHONE = 32
CODE = 16
PASSWORD = 128
ASSERTION = 8192
TICKET = 4096
DEVICE = 128
LANGUAGE = 16
NAME = 256
DESCRIPTION = 2000
IDENTIFIER = 128


class ProofIn(BaseModel):
    """PROT-2: identity verification by the MFA device's code (`totp`), or a verify_identity
    code sent to the secure phone (`sms`) or the secure email (`email`)."""

    factor: Factor | None = Field(
        default=None,
        description="totp (MFA device), sms or email (secure channel code).",
        examples=["totp"],
    )
    channel: Channel | None = Field(
        default=None,
        description="Deprecated: the older name of `factor` (sms or email), still accepted.",
    )
    code: str = Field(max_length=CODE, description="The 6-digit code.", examples=["123456"])

    @model_validator(mode="after")
    def _one_factor(self) -> ProofIn:
        if self.factor is None and self.channel is None:
            raise ValueError("`factor` is required (totp, sms or email)")
        if (
            self.factor is not None
            and self.channel is not None
            and self.factor.value != self.channel.value
        ):
            raise ValueError("`factor` and `channel` name different factors")
        return self

    @property
    def chosen(self) -> Factor:
        """The factor, by either name."""
        if self.factor is not None:
            return self.factor
        assert self.channel is not None  # _one_factor
        return Factor(self.channel.value)

    def proof(self) -> Proof:
        return Proof(self.chosen, self.code)


def proof_of(proof: ProofIn | None) -> Proof | None:
    """The service layer's proof (PROT-2) of a request's `proof`."""
    return None if proof is None else proof.proof()


class ProofBodyIn(BaseModel):
    """PROT-1/PROT-2: a protected operation with nothing else to say."""

    proof: ProofIn | None = Field(
        default=None,
        description="Identity verification, unless the session stepped up in the last "
        "STEP_UP_MAX_AGE_S (POST /v1/me/step-up).",
    )


class MfaConfirmIn(BaseModel):
    code: str = Field(
        max_length=CODE, description="MFA-2: the authenticator's current code.", examples=["123456"]
    )


class OperatorReasonIn(BaseModel):
    reason: str = Field(
        min_length=1,
        max_length=DESCRIPTION,
        description="Why (the review's outcome, a ticket); kept in the audit trail.",
        examples=["ticket 4711: identity checked by video call, phone lost"],
    )


class RegisterIn(BaseModel):
    method: LoginMethodKind = Field(description="Registration method (REG-1).")
    phone: str = Field(
        max_length=PHONE, description="Secure phone (REG-3).", examples=["+8618112341234"]
    )
    phone_code: str = Field(max_length=CODE, description="Code sent to the phone (register).")
    language: str = Field(default="zh-CN", max_length=LANGUAGE, description="zh-CN or en.")
    email: str | None = Field(
        default=None, max_length=EMAIL, description="Email registration: the email."
    )
    password: str | None = Field(
        default=None, max_length=PASSWORD, description="Email registration: the password."
    )
    email_code: str | None = Field(
        default=None, max_length=CODE, description="Code sent to the email."
    )
    assertion: str | None = Field(
        default=None, max_length=ASSERTION, description="Third-party: the signed assertion."
    )


class ChannelIn(BaseModel):
    channel: Channel = Field(description="sms (secure phone) or email (secure email).")


class CodeIn(BaseModel):
    purpose: Literal[
        "register",
        "bind_email",
        "change_secure_phone",
        "change_secure_email",
        "contact_email",
        "message_phone",
        "find_accounts",
        "appeal_email",
    ]
    channel: Channel
    destination: str = Field(
        max_length=EMAIL, description="Mobile phone (any format; stored E.164) or email."
    )
    language: str = Field(default="zh-CN", max_length=LANGUAGE, description="zh-CN or en.")
    captcha_ticket: str | None = Field(
        default=None, max_length=TICKET, description="CODE-2: a solved captcha (required)."
    )


class LoginIn(BaseModel):
    method: Literal["password", "wechat", "qq", "wecom", "official_account"]
    email: str | None = Field(default=None, max_length=EMAIL)
    password: str | None = Field(default=None, max_length=PASSWORD)
    captcha_ticket: str | None = Field(
        default=None, max_length=TICKET, description="LOGIN-1: after 3 wrong a day."
    )
    assertion: str | None = Field(default=None, max_length=ASSERTION)
    account_id: str | None = Field(
        default=None,
        pattern=ACCOUNT_ID_PATTERN,
        max_length=18,
        description="Which account, when several.",
        examples=["100000000001"],
    )
    device_id: str | None = Field(
        default=None, max_length=DEVICE, description="The client's device id."
    )
    device_credential: str | None = Field(
        default=None,
        max_length=DEVICE,
        description="LOGIN-5/6: the credential an earlier login issued to this device.",
    )


class FlowCompleteIn(BaseModel):
    """LOGIN-5 / PROT-2: the second factor that completes a flow."""

    factor: Factor = Field(description="totp (MFA device), sms or email (secure channel code).")
    code: str = Field(max_length=CODE, description="The 6-digit code.", examples=["123456"])
    trust_device: StrictBool = Field(
        default=False, description="Login flows: skip the second factor on this device."
    )
    device_credential: str | None = Field(
        default=None,
        max_length=DEVICE,
        description="Login flows: the credential an earlier login issued to this device.",
    )


class RefreshIn(BaseModel):
    refresh_token: str = Field(
        max_length=128, description="The refresh token of the last login or refresh (single use)."
    )


STEP_UP_INSTEAD = (
    "LM-3 / SEC-2: identity verification; may be left out when the session stepped up "
    "(POST /v1/me/step-up) in the last STEP_UP_MAX_AGE_S."
)


class BindIn(BaseModel):
    kind: LoginMethodKind
    verification: ProofIn | None = Field(default=None, description=STEP_UP_INSTEAD)
    assertion: str | None = Field(default=None, max_length=ASSERTION)
    email: str | None = Field(default=None, max_length=EMAIL)
    password: str | None = Field(default=None, max_length=PASSWORD)
    email_code: str | None = Field(default=None, max_length=CODE)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=PASSWORD)
    new_password: str = Field(max_length=PASSWORD)
    proof: ProofIn | None = Field(
        default=None,
        description="PROT-1: under operation protection, identity verification (unless the "
        "session stepped up in the last STEP_UP_MAX_AGE_S).",
    )


class ResetRequestIn(BaseModel):
    email: str = Field(max_length=EMAIL)
    channel: Channel = Channel.SMS


class ResetConfirmIn(BaseModel):
    email: str = Field(max_length=EMAIL)
    channel: Channel = Channel.SMS
    code: str = Field(max_length=CODE)
    new_password: str = Field(max_length=PASSWORD)


class SecurePhoneIn(BaseModel):
    verification: ProofIn | None = Field(default=None, description=STEP_UP_INSTEAD)
    new_phone: str = Field(max_length=PHONE)
    new_phone_code: str = Field(max_length=CODE)


class SecureEmailIn(BaseModel):
    verification: ProofIn
    new_email: str = Field(max_length=EMAIL)
    new_email_code: str = Field(max_length=CODE)


class ProfileIn(BaseModel):
    nickname: str | None = Field(default=None, max_length=NAME)
    language: str | None = Field(default=None, max_length=LANGUAGE)
    contact_email: str | None = Field(default=None, max_length=EMAIL)
    contact_email_code: str | None = Field(
        default=None,
        max_length=CODE,
        description="Code sent to the new contact email (purpose contact_email).",
    )
    message_phone: str | None = Field(default=None, max_length=PHONE)
    message_phone_code: str | None = Field(
        default=None,
        max_length=CODE,
        description="Code sent to the new message phone (purpose message_phone).",
    )


class ProjectIn(BaseModel):
    name: str = Field(max_length=NAME, examples=["web-shop"])
    description: str = Field(default="", max_length=DESCRIPTION)


class FindAccountsIn(BaseModel):
    """REC-1: the phone and the code sent to it (purpose find_accounts)."""

    phone: str = Field(max_length=PHONE, examples=["+8618112341234"])
    code: str = Field(max_length=CODE, examples=["123456"])


class AppealIn(BaseModel):
    """REC-2: a self-service appeal to bind a new login email."""

    account_id: str = Field(pattern=ACCOUNT_ID_PATTERN, max_length=18, examples=["100000000001"])
    email: str = Field(max_length=EMAIL, description="The email to bind as the login email.")
    email_code: str = Field(max_length=CODE, description="Code sent to it (appeal_email).")
    password: str = Field(max_length=PASSWORD, description="Its login password (PWD-1).")
    reset_mfa: StrictBool = Field(default=False, description="Also unbind the MFA device.")
    statement: str = Field(
        max_length=recovery.STATEMENT_MAX,
        description="Why the account is yours: what an operator reviews.",
    )


class DecisionIn(BaseModel):
    """REC-2: an operator's reason, shown to the applicant (required to reject)."""

    reason: str | None = Field(default=None, max_length=recovery.REASON_MAX)
