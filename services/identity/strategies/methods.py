"""The login methods by kind, and by their name at login. A new one: its module, one entry."""

from __future__ import annotations

from services.identity.strategies.assertion import AssertionMethod
from services.identity.strategies.base import LoginMethod
from services.identity.strategies.password import PasswordMethod
from shared.events import LoginMethodKind

METHODS: dict[LoginMethodKind, LoginMethod] = {
    LoginMethodKind.EMAIL: PasswordMethod(),
    LoginMethodKind.WECHAT: AssertionMethod(LoginMethodKind.WECHAT),
    LoginMethodKind.QQ: AssertionMethod(LoginMethodKind.QQ),
    LoginMethodKind.WECOM: AssertionMethod(LoginMethodKind.WECOM),
    LoginMethodKind.OFFICIAL_ACCOUNT: AssertionMethod(LoginMethodKind.OFFICIAL_ACCOUNT),
}
BY_LOGIN_NAME: dict[str, LoginMethod] = {m.login_name: m for m in METHODS.values()}
