"""The benchmarks' serializers: one per model, the same fields in each of a kind."""

from rest_framework import serializers

from bench_app.models import (
    BareListRow,
    BareRow,
    DCRFListRow,
    DCRFRow,
    Item,
    LoadRow,
    NoHopListRow,
    ObservedItem,
    TypedListRow,
    TypedRow,
)

ITEM_FIELDS = ("id", "name", "quantity", "active", "created")
ROW_FIELDS = ("id", "name", "quantity", "active")
LIST_ROW_FIELDS = ("id", "name", "rank")


class ItemSerializer(serializers.ModelSerializer[Item]):
    class Meta:
        model = Item
        fields = ITEM_FIELDS


class ObservedItemSerializer(serializers.ModelSerializer[ObservedItem]):
    class Meta:
        model = ObservedItem
        fields = ITEM_FIELDS


class BareRowSerializer(serializers.ModelSerializer[BareRow]):
    class Meta:
        model = BareRow
        fields = ROW_FIELDS


class DCRFRowSerializer(serializers.ModelSerializer[DCRFRow]):
    class Meta:
        model = DCRFRow
        fields = ROW_FIELDS


class TypedRowSerializer(serializers.ModelSerializer[TypedRow]):
    class Meta:
        model = TypedRow
        fields = ROW_FIELDS


class BareListRowSerializer(serializers.ModelSerializer[BareListRow]):
    class Meta:
        model = BareListRow
        fields = LIST_ROW_FIELDS


class NoHopListRowSerializer(serializers.ModelSerializer[NoHopListRow]):
    class Meta:
        model = NoHopListRow
        fields = LIST_ROW_FIELDS


class DCRFListRowSerializer(serializers.ModelSerializer[DCRFListRow]):
    class Meta:
        model = DCRFListRow
        fields = LIST_ROW_FIELDS


class TypedListRowSerializer(serializers.ModelSerializer[TypedListRow]):
    class Meta:
        model = TypedListRow
        fields = LIST_ROW_FIELDS


class LoadRowSerializer(serializers.ModelSerializer[LoadRow]):
    class Meta:
        model = LoadRow
        fields = LIST_ROW_FIELDS
