"""Consumers of the test app, imported at start-up by typed_dcrf's app (OBSERVER_MODULES), so
that their observers send events from any process, a subprocess saving in the shell included."""

from __future__ import annotations

from tests.app.models import Board, Item
from tests.app.serializers import BoardSerializer, ItemSerializer
from typed_dcrf import ModelConsumer, ObserveInstanceMixin


class ObservedItems(
    ObserveInstanceMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]
):
    """CRUD on Item, and subscriptions to its rows."""


class ObservedBoards(
    ObserveInstanceMixin[Board, BoardSerializer], ModelConsumer[Board, BoardSerializer]
):
    """Subscriptions to boards, their members included."""

    observe_many_to_many = True
