"""Loss of access mid-connection: a user logged out, deactivated, deleted, whose password
changed or whose token was deleted is anonymous from then on, on every open connection.

A connection of an authenticated user joins the user's group (``typed_dcrf.user.<pk>``) when
it is accepted. The signals of those changes send the group one message after commit, across
processes through the channel layer; each connection compares it with how it authenticated
(its ``Credential``) or checks that credential again, and if it no longer holds, its user
becomes ``AnonymousUser`` and each of its subscriptions ends with one 401 frame. Nothing is read
per action: the message is the only trigger.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal, cast

from django.db import DEFAULT_DB_ALIAS

from typed_dcrf import db
from typed_dcrf._drf import anonymous_user, authenticated, scope_user
from typed_dcrf._events import after_commit, local_state
from typed_dcrf._exception_handler import logger
from typed_dcrf._groups import keep_joined, leave_group
from typed_dcrf._layer_watch import layer_call
from typed_dcrf._outbox import SLOW_CLIENT
from typed_dcrf.types import JSONValue, Scope

if TYPE_CHECKING:
    from channels.layers import BaseChannelLayer
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser
    from django.db.models import Model

    from typed_dcrf.consumers import AsyncAPIConsumer

GROUP_PREFIX = "typed_dcrf.user."
"""The prefix of a user's group, which the connections of that user join."""

ACCESS = "typed_dcrf.access"
"""The type of the layer message telling a user's connections to check their access."""

CREDENTIAL = "typed_dcrf.credential"
"""The scope key of the connection's ``Credential`` (set by ``TokenAuthMiddleware``)."""

SUBPROTOCOL = "typed_dcrf.subprotocol"
"""The scope key of the subprotocol the consumer accepts with (``"token"``)."""

LOST = "Authentication credentials are no longer valid."
"""The one error of the frame ending a subscription whose connection lost its access."""

_VALID = re.compile(r"[a-zA-Z0-9\-_.]{1,80}")


@dataclass(frozen=True, eq=False)
class Credential:
    """How a connection authenticated, compared with each message about its user."""

    kind: Literal["session", "token", "user"]
    digest: str
    """A digest of the session key or the token (``""`` for ``"user"``)."""
    still_valid: Callable[[], Awaitable[bool]]
    """Whether the credential still names the connection's user, active."""


def digest(key: str) -> str:
    """What a message names a session key or a token by (never the key itself)."""
    return hashlib.sha256(key.encode()).hexdigest()


def user_group(pk: object) -> str:
    """The group the connections of the user ``pk`` join."""
    text = str(pk)
    if _VALID.fullmatch(text) is None:
        text = "h" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return GROUP_PREFIX + text


def session_credential(session_key: str, pk: object) -> Credential:
    """The credential of a connection authenticated by the session ``session_key``."""

    async def still_valid() -> bool:
        from channels.auth import get_user
        from django.conf import settings

        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        # channels' get_user reads a fresh copy of the session: its user, hash and backend.
        user = await get_user({"session": store})  # type: ignore[typeddict-item]  # pyright: ignore[reportArgumentType]
        return names(user, pk)

    return Credential("session", digest(session_key), still_valid)


def names(user: AbstractBaseUser | AnonymousUser, pk: object) -> bool:
    """Whether ``user`` (as a credential finds it now) is still the authenticated user ``pk``."""
    return bool(user.is_authenticated) and user.pk == pk


def revoked(user: AbstractBaseUser | AnonymousUser, scope: Scope) -> bool:
    """Whether the connection of ``scope`` lost the access ``user`` (the user an action
    started as) had: ``revoke`` replaced the scope's user since."""
    return bool(user.is_authenticated) and scope_user(scope) is not user


def revoke(scope: Scope) -> None:
    """Make the connection of ``scope`` anonymous: its user, its session (an empty one, which
    channels' ``get_user`` and a view's ``request.session`` read no user from) and its
    credential."""
    from django.conf import settings

    mutable = cast("dict[str, Any]", scope)
    mutable["user"] = anonymous_user()
    if mutable.get("session") is not None:
        mutable["session"] = import_module(settings.SESSION_ENGINE).SessionStore()
    mutable.pop(CREDENTIAL, None)


def credential_of(scope: Scope, user: AbstractBaseUser) -> Credential:
    """The connection's credential: the middleware's, its session's, or its user alone."""
    found = scope.get(CREDENTIAL)
    if isinstance(found, Credential):
        return found
    session_key = getattr(scope.get("session"), "session_key", None)
    if isinstance(session_key, str):
        return session_credential(session_key, user.pk)
    model, pk = type(user), user.pk

    async def still_valid() -> bool:
        return await db.run(_is_active, model, pk)

    return Credential("user", "", still_valid)


def _is_active(model: type[Model], pk: object) -> bool:
    user = model._default_manager.filter(pk=pk).first()
    return user is not None and bool(getattr(user, "is_active", True))


@dataclass(eq=False)
class Access:
    """A connection's membership of its user's group, and how it authenticated."""

    group: str
    credential: Credential
    refresher: asyncio.Task[None]
    """Joins the group again before the layer forgets it (channels-redis: after a day)."""
    dropped: Callable[[], None] | None = None
    """Told when the in-memory layer drops a message for the connection's channel."""
    closing: asyncio.Task[None] | None = None
    """Closes the connection after the layer dropped a message for it (perhaps this one)."""

    async def lost(self, message: Mapping[str, Any]) -> bool:
        """Whether ``message`` (about this connection's user) ends the connection's access."""
        if message.get("deleted"):
            return True
        credential = self.credential
        for kind in ("session", "token"):
            named = message.get(kind)
            if isinstance(named, str):
                return credential.kind == kind and hmac.compare_digest(named, credential.digest)
        try:
            return not await credential.still_valid()
        except Exception:  # cannot tell: access ends rather than outliving a revocation
            logger.exception("Checking a connection's credential again failed")
            return True


async def join(consumer: AsyncAPIConsumer) -> Access | None:
    """Join the group of the connection's user, if authenticated and a layer is set; a layer
    that cannot be reached (twice) raises (the handshake is refused: access could not be
    revoked)."""
    user = scope_user(consumer.scope)
    if not authenticated(user):
        return None
    if cast("object", consumer.channel_layer) is None:
        return None
    group, credential = user_group(user.pk), credential_of(consumer.scope, user)
    layer, channel = consumer.channel_layer, consumer.channel_name
    await layer_call(layer.group_add, group, channel)
    access = Access(group, credential, asyncio.create_task(_rejoin(layer, group, channel)))
    state = local_state(layer)
    if state is not None:  # an in-memory layer's (Redis drops a message silently: capacity)
        _watch_drops(consumer, access, state.on_event_lost)
    return access


async def leave(consumer: AsyncAPIConsumer, access: Access) -> None:
    """Leave the user's group (the connection is closing, or lost its access); a layer that
    cannot be reached is logged (the membership expires)."""
    access.refresher.cancel()
    await asyncio.gather(access.refresher, return_exceptions=True)
    channel, dropped, access.dropped = consumer.channel_name, access.dropped, None
    state = local_state(consumer.channel_layer)
    if dropped is not None and state is not None and state.on_event_lost.get(channel) is dropped:
        del state.on_event_lost[channel]
    await leave_group(consumer.channel_layer, access.group, channel, "the user's group")


def _watch_drops(
    consumer: AsyncAPIConsumer, access: Access, on_event_lost: dict[str, Callable[[], None]]
) -> None:
    """Close the connection (4429, as a slow client) when the in-memory layer drops a message
    for it: it may have been the one revoking its access. A connection with subscriptions
    replaces this with its subscriptions' own, which closes it the same way."""
    loop = asyncio.get_running_loop()

    def close() -> None:
        if access.closing is not None or access.dropped is None:
            return  # closing already, or the connection left its group meanwhile
        logger.warning(
            "Closing a connection of %s: the channel layer dropped a message for it (its "
            "channel was full: raise the layer's capacity, or give it fewer connections a "
            "process)",
            type(consumer).__qualname__,
        )
        access.closing = asyncio.create_task(consumer.close(code=SLOW_CLIENT))

    def dropped() -> None:  # called where the message was sent: perhaps another loop
        loop.call_soon_threadsafe(close)

    access.dropped = dropped
    on_event_lost.setdefault(consumer.channel_name, dropped)


async def _rejoin(layer: BaseChannelLayer, group: str, channel: str) -> None:
    async def join(group: str) -> None:
        await layer_call(layer.group_add, group, channel)

    await keep_joined(layer, lambda: (group,), join, "the user's group")


# The signals, sending each change to the user's connections once it is committed.


def notify_user(pk: object, using: str = DEFAULT_DB_ALIAS, **fact: JSONValue) -> None:
    """Tell the connections of user ``pk`` to check their access, after commit."""
    message: dict[str, JSONValue] = {"type": ACCESS, "group": user_group(pk), **fact}
    after_commit([message], using)


def _user_saved(
    sender: type[Model],
    instance: Model,
    created: bool,
    update_fields: frozenset[str] | None,
    using: str,
    **_: object,
) -> None:
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return  # a new user has no connection; a login changes nobody's access
    notify_user(instance.pk, using, check=True)


def _user_deleted(sender: type[Model], instance: Model, using: str, **_: object) -> None:
    notify_user(instance.pk, using, deleted=True)


def _logged_out(sender: object, request: object, user: object, **_: object) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    pk = getattr(user, "pk", None)
    if isinstance(session_key, str) and pk is not None:
        notify_user(pk, session=digest(session_key))


def _token_deleted(sender: type[Model], instance: Model, using: str, **_: object) -> None:
    # A token's key is its primary key; its user's is in its user_id column.
    notify_user(instance.serializable_value("user"), using, token=digest(str(instance.pk)))


def connect_signals() -> None:
    """Send the changes that end access (called once, when typed_dcrf's app is ready)."""
    from django.apps import apps
    from django.conf import settings
    from django.contrib.auth.signals import user_logged_out
    from django.db.models.signals import post_delete, post_save

    user_model = settings.AUTH_USER_MODEL
    # django-stubs leave Signal.connect's receiver partly unknown to pyright.
    post_save.connect(_user_saved, sender=user_model, dispatch_uid=ACCESS, weak=False)  # pyright: ignore[reportUnknownMemberType]
    post_delete.connect(_user_deleted, sender=user_model, dispatch_uid=ACCESS, weak=False)  # pyright: ignore[reportUnknownMemberType]
    user_logged_out.connect(_logged_out, dispatch_uid=ACCESS, weak=False)  # pyright: ignore[reportUnknownMemberType]
    if apps.is_installed("rest_framework.authtoken"):
        token = "authtoken.Token"
        post_delete.connect(_token_deleted, sender=token, dispatch_uid=ACCESS, weak=False)  # pyright: ignore[reportUnknownMemberType]
