"""RN-17: how names and document numbers appear in replies and history (never in clear)."""

from __future__ import annotations


def mask_document(number: str) -> str:
    """First and last character only: 110101199001011234 -> 1****************4. The birth
    date and the region code in a resident ID number stay hidden."""
    if len(number) <= 2:
        return "*" * len(number)
    return f"{number[0]}{'*' * (len(number) - 2)}{number[-1]}"


def mask_name(name: str) -> str:
    """First character only: 张三 -> 张*, Chan Tai Man -> C***."""
    if not name:
        return ""
    return name[0] + "*" * max(1, min(len(name) - 1, 3))
