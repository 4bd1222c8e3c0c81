"""``ActionContext``: what an action knows about the frame it is answering.

Set in a context variable for the duration of each action, so that concurrent (detached)
actions of one connection each see their own, and read through ``consumer.context``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from typed_dcrf.types import JSONValue, Scope

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


def _no_hooks() -> list[Callable[[], Awaitable[None]]]:
    return []  # (a plain list: calling the generic alias list[...] costs 0.3 µs an action)


@dataclass(frozen=True, slots=True)
class ActionContext:
    """The request context of one action call."""

    action: str
    """The action's wire name."""
    request_id: JSONValue
    """The client's ``request_id``, as sent (``None`` when absent)."""
    scope: Scope
    """The connection's ASGI scope."""
    user: AbstractBaseUser | AnonymousUser
    """The scope's user, or an ``AnonymousUser`` when the scope has none."""
    arguments: Mapping[str, object]
    """The validated arguments."""
    after_reply: list[Callable[[], Awaitable[None]]] = field(default_factory=_no_hooks)
    """What runs once the action's success reply is sent (a list subscription's first
    events)."""


current_context: ContextVar[ActionContext] = ContextVar("typed_dcrf_action_context")
