"""Who may open the staff admin besides super admins and Django staff.

An app that gives some of its users an admin of their own (space staff, market
owners) registers a rule here; the admin site, its login form and the header's
"Staff admin" link all ask ``opens_for``, so they cannot disagree. Rules are
registered when the app's admin module loads (Django's admin autodiscovery).
"""

from collections.abc import Callable
from typing import Any

Rule = Callable[[Any], bool]
_RULES: list[Rule] = []


def register(rule: Rule) -> Rule:
    """Add ``rule(user) -> bool``; usable as a decorator, registering once."""
    if rule not in _RULES:
        _RULES.append(rule)
    return rule


def opens_for(user: Any) -> bool:
    """Whether a registered rule lets this signed-in, active ``user`` in."""
    return any(rule(user) for rule in _RULES)
