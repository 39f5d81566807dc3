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
    },
}


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


def render(message_type: str, language: str | None, params: Mapping[str, str]) -> Rendered:
    """Render every part of a message; unknown languages fall back to zh-CN."""
    lang = template_language(language)
    name = template_name(message_type, lang)
    if not (TEMPLATE_DIR / name).is_file():
        raise UnknownTemplate(message_type)
    text_env, html_env = _environments()
    context: dict[str, object] = {**params, "labels": LABELS[lang], "lang": lang}
    try:
        subject = _block(text_env, name, "subject", context)
        body = _block(html_env, name, "html", context)
        html = html_env.get_template("_layout.html.j2").render(
            subject=subject, content=Markup(body), lang=lang
        )
        return Rendered(
            subject=" ".join(subject.split()),
            text=_block(text_env, name, "text", context) + "\n",
            html=html,
            sms=" ".join(_block(text_env, name, "sms", context).split()),
        )
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{name}: {exc}") from None


def sms_template_id(message_type: str, language: str | None) -> str:
    """The provider-side template an SMS is sent with: registered as `<type>.<language>`."""
    return f"{message_type}.{template_language(language)}"
