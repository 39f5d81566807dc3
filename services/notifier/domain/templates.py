"""Message templates per type and language (NOT-2). Pure: data in, text out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


class UnknownTemplate(LookupError):
    pass


_TEMPLATES: dict[tuple[str, str], tuple[str, str]] = {
    ("welcome", "en"): (
        "Welcome to Account Center",
        "Your account {account_id} is ready. It was registered with {login}.\n",
    ),
    ("welcome", "zh-CN"): (
        "欢迎使用账号中心",
        "您的账号 {account_id} 已创建，注册方式：{login}。\n",
    ),
}


def render(message_type: str, language: str, params: dict[str, str]) -> Rendered:
    """Render a template; unknown languages fall back to zh-CN, the platform default."""
    template = _TEMPLATES.get((message_type, language)) or _TEMPLATES.get((message_type, "zh-CN"))
    if template is None:
        raise UnknownTemplate(message_type)
    subject, text = template
    return Rendered(subject=subject.format(**params), text=text.format(**params))
