"""Message templates per type and language (NOT-2): Jinja2 files in services/notifier/templates.

Each message type has one file per language, `<message_type>.<language>.j2`, with four blocks:
`subject` and `text` (the email's subject and plain-text part), `html` (the email's HTML part,
autoescaped, placed in `_layout.html.j2`) and `sms`. Parameters arrive masked (phones
`+86 181****1234`, emails `a***@example.com`); a missing parameter is an error, never an empty
hole in a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from services.notifier.domain.cancellation_reasons import REASON_WORDS
from shared.events import Channel

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
BLOCKS = ("subject", "text", "html", "sms")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    sms: str


class UnknownTemplate(LookupError):
    pass


class TemplateError(ValueError):
    """A template could not be rendered with the parameters given (e.g. one is missing)."""


# Words the templates show for codes that travel in events.
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "wechat": "WeChat",
        "qq": "QQ",
        "email": "email",
        "wecom": "WeCom",
        "official_account": "WeChat Official Account / Mini Program",
        "password": "password",
        "change": "changed",
        "reset": "reset",
        "verified": "verified",
        "unverified": "unverified",
        "pending": "under review",
        "personal": "personal",
        "enterprise": "enterprise",
        "violation": "a violation of the terms",
        "real_name_failed": "failed real-name verification",
        "overdue": "overdue payment",
        "new_device": "from a new device",
        "dormant": "after more than 30 days without a sign-in",
        "new_device_dormant": "from a new device, after more than 30 days without a sign-in",
        "owner": "by the account's owner",
        "operator": "by support, after a manual review",
        "login": "a sign-in",
        "step_up": "an identity verification",
        "operation": "a protected operation",
        "login_protection": "login protection",
        "operation_protection": "operation protection",
        "approved": "approved",
        "rejected": "rejected",
        "wechat_scan": "WeChat scan",
        "qq_scan": "QQ scan",
        "face": "face recognition",
        "wechat_official_platform": "the WeChat official platform",
        "legal_person_wechat_scan": "the legal person's WeChat scan",
        "legal_person_face": "the legal person's face recognition",
        "recharge": "a recharge from the corporate account",
        "remittance": "a remittance to the corporate account",
        "entity": "change of entity",
        "name": "change of the enterprise's name",
        "legal_person": "update of the legal person",
        "entity_deregistered": "the enterprise is deregistered",
        "registry_mismatch": "the registry shows the enterprise under another name or code",
    },
    "zh-CN": {
        "wechat": "微信",
        "qq": "QQ",
        "email": "邮箱",
        "wecom": "企业微信",
        "official_account": "微信公众号/小程序",
        "password": "密码",
        "change": "修改",
        "reset": "重置",
        "verified": "已认证",
        "unverified": "未认证",
        "pending": "审核中",
        "personal": "个人",
        "enterprise": "企业",
        "violation": "违规",
        "real_name_failed": "实名认证未通过",
        "overdue": "欠费",
        "new_device": "在新设备",
        "dormant": "在超过 30 天未登录后",
        "new_device_dormant": "在超过 30 天未登录后于新设备",
        "owner": "账号本人",
        "operator": "客服人工审核后",
        "login": "登录",
        "step_up": "身份验证",
        "operation": "敏感操作",
        "login_protection": "登录保护",
        "operation_protection": "操作保护",
        "approved": "已通过",
        "rejected": "未通过",
        "wechat_scan": "微信扫码",
        "qq_scan": "QQ 扫码",
        "face": "人脸识别",
        "wechat_official_platform": "微信公众平台",
        "legal_person_wechat_scan": "法人微信扫码",
        "legal_person_face": "法人人脸识别",
        "recharge": "对公账户充值",
        "remittance": "对公打款",
        "entity": "变更认证主体",
        "name": "变更企业名称",
        "legal_person": "更新法定代表人",
        "entity_deregistered": "企业已注销",
        "registry_mismatch": "工商登记的企业名称或统一社会信用代码与认证信息不一致",
    },
}
# CAN-8: a rejected cancellation's reason codes (upper case: no clash with the codes above).
for _language, _words in REASON_WORDS.items():
    LABELS[_language].update(_words)


def template_language(language: str | None) -> str:
    """zh-CN or en: `en-US` is English, any Chinese is zh-CN, anything else the default."""
    tag = (language or "").strip().lower()
    if tag.startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


@cache
def _environments() -> tuple[jinja2.Environment, jinja2.Environment]:
    """Plain text (no escaping) and HTML (autoescaped) over the same files."""
    loader = jinja2.FileSystemLoader(TEMPLATE_DIR)
    common = {
        "loader": loader,
        "undefined": jinja2.StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": False,
        # The templates ship with the code: no stat() of each file on every render.
        "auto_reload": False,
    }
    text = jinja2.Environment(autoescape=False, **common)  # type: ignore[arg-type]
    html = jinja2.Environment(autoescape=True, **common)  # type: ignore[arg-type]
    return text, html


def template_name(message_type: str, language: str) -> str:
    return f"{message_type}.{language}.j2"


def _block(env: jinja2.Environment, name: str, block: str, context: Mapping[str, object]) -> str:
    template = env.get_template(name)
    if block not in template.blocks:
        raise TemplateError(f"{name} has no block {block!r}")
    ctx = template.new_context(dict(context))
    return "".join(template.blocks[block](ctx)).strip()


@cache
def _exists(name: str) -> bool:
    return (TEMPLATE_DIR / name).is_file()


def render(
    message_type: str,
    language: str | None,
    params: Mapping[str, str],
    *,
    channel: Channel | None = None,
) -> Rendered:
    """Render the parts of a message a channel sends (`channel` None: every part; the parts
    another channel sends are left empty); unknown languages fall back to zh-CN."""
    lang = template_language(language)
    name = template_name(message_type, lang)
    if not _exists(name):
        raise UnknownTemplate(message_type)
    text_env, html_env = _environments()
    context: dict[str, object] = {**params, "labels": LABELS[lang], "lang": lang}
    subject = text = html = sms = ""
    try:
        if channel is not Channel.SMS:
            subject = _block(text_env, name, "subject", context)
            body = _block(html_env, name, "html", context)
            html = html_env.get_template("_layout.html.j2").render(
                subject=subject, content=Markup(body), lang=lang
            )
            subject = " ".join(subject.split())
            text = _block(text_env, name, "text", context) + "\n"
        if channel is not Channel.EMAIL:
            sms = " ".join(_block(text_env, name, "sms", context).split())
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{name}: {exc}") from None
    return Rendered(subject=subject, text=text, html=html, sms=sms)


def sms_template_id(message_type: str, language: str | None) -> str:
    """The provider-side template an SMS is sent with: registered as `<type>.<language>`."""
    return f"{message_type}.{template_language(language)}"
