"""Output by shared serializers (``typed_dcrf._shared_serializer``): the same bytes as DRF's own
serializer for every field DRF ships, its fields built once, and the call's own context."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework import serializers

from tests.app.models import Specimen
from typed_dcrf import ModelConsumer, ObserveInstanceMixin, ReadOnlyModelConsumer
from typed_dcrf._codec import Codec
from typed_dcrf._drf import drf_request
from typed_dcrf._shared_serializer import shared_serializer
from typed_dcrf.testing import ApiClient

HOST = {"headers": [(b"host", b"testserver")], "path": "/ws/specimens/"}
ONE = Codec(dict[str, Any])
MANY = Codec(list[Any])
KINDS = [("a", "Apple"), ("b", "Banana")]


class OwnerSerializer(serializers.ModelSerializer[User]):
    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = User
        fields = ("id", "username")


class NameSerializer(serializers.Serializer[Specimen]):
    """A plain serializer, nested with ``source="*"``."""

    name = serializers.CharField()
    count = serializers.IntegerField()


class AllModelFields(serializers.ModelSerializer[Specimen]):
    """What ``ModelSerializer`` builds for every model field."""

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Specimen
        fields = "__all__"


class PrimaryKeyText(serializers.PrimaryKeyRelatedField[User]):
    """A relation written as text: DRF never calls it for a missing row."""

    def to_representation(self, value: Any) -> str:
        return f"pk {value.pk}"


# DRF's stubs type a related field's constructor as its single or many form, half unknown.
class EveryField(serializers.ModelSerializer[Specimen]):
    """Every field class DRF ships, declared, over columns, properties, methods, dotted and
    ``*`` sources, missing attributes, relations and nested serializers."""

    char = serializers.CharField(source="name")
    shout = serializers.CharField()
    labelled = serializers.CharField(source="label")
    regex = serializers.RegexField(r"^[\w-]*$", source="slug")
    hex_uuid = serializers.UUIDField(format="hex", source="uuid")
    address = serializers.IPAddressField(source="ip")
    price_number = serializers.DecimalField(
        max_digits=8, decimal_places=2, coerce_to_string=False, source="price"
    )
    maybe = serializers.BooleanField(allow_null=True)
    day_text = serializers.DateField(format="%d/%m/%Y", source="day")
    moment_text = serializers.TimeField(format="%H.%M", source="moment")
    stamp_utc = serializers.DateTimeField(default_timezone=UTC, source="stamp")
    stamp_text = serializers.DateTimeField(format="%Y-%m-%d %H:%M %Z", source="stamp")
    stamp_raw = serializers.DateTimeField(format=None, source="stamp")
    choice = serializers.ChoiceField(choices=KINDS, source="kind")
    kinds = serializers.MultipleChoiceField(choices=KINDS, source="data.kinds", default=set())
    path = serializers.FilePathField(path=str(Path(__file__).parent), source="name")
    image = serializers.ImageField(source="upload")
    numbers = serializers.ListField(child=serializers.IntegerField(), source="data.numbers")
    names = serializers.DictField(child=serializers.CharField(), source="data.names")
    store = serializers.HStoreField(source="data.names")
    blob = serializers.JSONField(binary=True, source="data")
    count_read_only = serializers.ReadOnlyField(source="count")
    model_name = serializers.ModelField(model_field=Specimen._meta.get_field("name"))  # pyright: ignore[reportUnknownMemberType, reportArgumentType]
    hidden = serializers.HiddenField(default=0)
    secret = serializers.CharField(write_only=True, source="name")
    seen = serializers.SerializerMethodField()
    who = serializers.SerializerMethodField(method_name="user_of")
    absent = serializers.CharField(source="nothing", required=False)
    absent_default = serializers.CharField(source="nothing", default="none")
    absent_null = serializers.CharField(source="nothing", allow_null=True)
    owner_name: Any = serializers.StringRelatedField(source="owner")  # pyright: ignore[reportUnknownVariableType]
    owner_slug: Any = serializers.SlugRelatedField(  # pyright: ignore[reportUnknownVariableType]
        slug_field="username", read_only=True, source="owner"
    )
    owner_username = serializers.CharField(source="owner.username", default=None)
    owner_text = PrimaryKeyText(source="owner", read_only=True)
    watcher_names: Any = serializers.StringRelatedField(many=True, source="watchers")  # pyright: ignore[reportUnknownVariableType]
    owner_detail = OwnerSerializer(source="owner", read_only=True)
    watcher_details = OwnerSerializer(source="watchers", many=True, read_only=True)
    whole = NameSerializer(source="*", read_only=True)
    link = serializers.HyperlinkedIdentityField(view_name="specimen-detail")  # pyright: ignore[reportUnknownVariableType]
    owner_link: Any = serializers.HyperlinkedRelatedField(  # pyright: ignore[reportUnknownVariableType]
        view_name="user-detail", read_only=True, source="owner"
    )

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Specimen
        fields = "__all__"

    def get_seen(self, obj: Specimen) -> dict[str, bool]:
        """Which instance the serializer holds: the row itself when written alone, none (and
        the list at the root) when written in a list, as DRF sets them."""
        root: object = self.root.instance  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        return {"own": self.instance is obj, "root": root is obj, "listed": root is not obj}

    def user_of(self, obj: Specimen) -> str | None:
        request = self.context.get("request")
        return None if request is None else str(request.user)


class Links(serializers.HyperlinkedModelSerializer[Specimen]):
    """DRF's hyperlinked model serializer: its ``url`` and related links."""

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Specimen
        fields = ("url", "name", "owner", "watchers")


SERIALIZERS = [AllModelFields, EveryField, Links]


@pytest.fixture
def specimens(django_user_model: type[User]) -> list[Specimen]:
    """One specimen with every field set, related rows included, and one with every field
    empty or null."""
    alice = django_user_model.objects.create(username="alice")
    bob = django_user_model.objects.create(username="bob")
    full = Specimen.objects.create(
        name="full",
        text="some text",
        slug="full-one",
        email="a@example.com",
        url="https://example.com/a",
        ip="10.0.0.1",
        count=7,
        small=-3,
        big=2**40,
        positive=5,
        ratio=0.25,
        price=Decimal("12.50"),
        flag=True,
        maybe=False,
        day=date(2026, 3, 1),
        moment=time(13, 45, 30, 250),
        stamp=datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC),
        span=timedelta(days=1, seconds=5, microseconds=7),
        data={"numbers": [1, 2, 3], "kinds": ["b"], "names": {"x": "y"}},
        upload="files/a.txt",
        kind="b",
        owner=alice,
    )
    full.watchers.set([alice, bob])
    empty = Specimen.objects.create(name="empty", data={"numbers": [], "names": {}})
    return [full, empty]


def context(scope: dict[str, Any] | None = None) -> dict[str, Any]:
    """A serializer context as a model consumer's: a DRF request of the scope."""
    return {"request": drf_request(scope or HOST, "GET"), "view": None, "format": None}


def drf(
    serializer_class: type[serializers.BaseSerializer[Any]],
    rows: object,
    made: dict[str, Any] | None = None,
    *,
    many: bool = False,
) -> Any:
    """What DRF's own serializer writes of ``rows`` (DRF's stubs leave it unknown)."""
    serializer: Any = serializer_class(rows, many=many, context=made or {})
    return serializer.data


def shared(serializer_class: type[serializers.BaseSerializer[Any]]) -> Any:
    found = shared_serializer(serializer_class)
    assert found is not None
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("serializer_class", SERIALIZERS)
def test_one_row_is_written_as_drf_writes_it(
    specimens: list[Specimen], serializer_class: type[serializers.ModelSerializer[Specimen]]
) -> None:
    """Every field, set and empty, gives the same bytes as DRF's serializer, in the same
    order; with no request (as events are written) too."""
    for specimen in specimens:
        for made in (context(), {"request": None, "view": None}):
            written = shared(serializer_class).one(specimen, made)
            assert ONE.dump_json(written) == ONE.dump_json(drf(serializer_class, specimen, made))


@pytest.mark.django_db
@pytest.mark.parametrize("serializer_class", SERIALIZERS)
def test_many_rows_are_written_as_drf_writes_them(
    specimens: list[Specimen], serializer_class: type[serializers.ModelSerializer[Specimen]]
) -> None:
    """A list (a queryset, a manager, a list of rows) gives the same bytes as DRF's
    ``many=True`` serializer."""
    made = context()
    for rows in (Specimen.objects.all(), Specimen.objects, specimens):
        written = shared(serializer_class).many(rows, made)
        expected = drf(serializer_class, rows, made, many=True)
        assert MANY.dump_json(written) == MANY.dump_json(expected)


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "UTC"])
def test_datetimes_are_written_in_the_time_zone_of_each_call(
    specimens: list[Specimen], zone: str
) -> None:
    """The current time zone is read at every call, as DRF reads it, and not kept after it."""
    made = context()
    for current in (zone, "Asia/Tokyo"):
        with timezone.override(current):
            expected = drf(EveryField, specimens, made, many=True)
            written = shared(EveryField).many(specimens, made)
        assert written[0]["stamp"] == expected[0]["stamp"]
        assert MANY.dump_json(written) == MANY.dump_json(expected)


class SpecimenConsumer(ModelConsumer[Specimen, EveryField]):
    """Shares its serializer (the default)."""


class UnsharedSpecimenConsumer(ModelConsumer[Specimen, EveryField]):
    """Builds a serializer for every call, as DRF does."""

    share_serializer = False


@pytest.mark.django_db(transaction=True)
async def test_replies_are_those_of_an_unshared_serializer(specimens: list[Specimen]) -> None:
    """retrieve and list answer what a consumer building DRF serializers per call answers."""
    replies: list[list[object]] = []
    for consumer in (SpecimenConsumer, UnsharedSpecimenConsumer):
        async with ApiClient(consumer, scope=HOST) as client:
            retrieved = [await client.call(consumer.retrieve, pk=s.pk) for s in specimens]
            listed = await client.call(consumer.list)
        replies.append([*[r.data for r in retrieved], listed.data])
    assert replies[0] == replies[1]


class ObservedSpecimens(
    ObserveInstanceMixin[Specimen, EveryField], ReadOnlyModelConsumer[Specimen, EveryField]
):
    """Writes events (no request) with the shared serializer."""


class UnsharedObservedSpecimens(ObservedSpecimens):
    share_serializer = False


@pytest.mark.django_db
def test_events_are_those_of_an_unshared_serializer(specimens: list[Specimen]) -> None:
    """An event's data, and a snapshot's rows, are those DRF's serializer writes."""
    for specimen in specimens:
        assert ObservedSpecimens.event_data(specimen) == UnsharedObservedSpecimens.event_data(
            specimen
        )
    # A snapshot's rows: written by the private hook that subscriptions call.
    rows = ObservedSpecimens._rows_json(specimens)  # pyright: ignore[reportPrivateUsage]
    unshared = UnsharedObservedSpecimens._rows_json(specimens)  # pyright: ignore[reportPrivateUsage]
    assert rows == unshared


class BindCounted(serializers.CharField):
    """Records the serializer it is bound to: one per serializer whose fields DRF builds."""

    parents: ClassVar[set[int]] = set()

    def bind(self, field_name: str, parent: serializers.BaseSerializer[Any]) -> None:
        BindCounted.parents.add(id(parent))
        super().bind(field_name, parent)  # pyright: ignore[reportUnknownMemberType]


class Counted(serializers.ModelSerializer[Specimen]):
    """A serializer of its own test, whose instances are counted."""

    counted = BindCounted(source="name")

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Specimen
        fields = ("id", "counted", "stamp")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("share", "serializers_made"), [(True, 2), (False, 6)])
async def test_fields_are_built_once_per_thread(
    specimens: list[Specimen], share: bool, serializers_made: int
) -> None:
    """Shared, a consumer makes two serializers (one, and one for lists) in its database thread
    for any number of calls; unshared, one per call."""
    BindCounted.parents.clear()

    class Consumer(ModelConsumer[Specimen, Counted]):
        share_serializer = share

    async with ApiClient(Consumer, scope=HOST) as client:
        for _ in range(2):
            for specimen in specimens:
                await client.call(Consumer.retrieve, pk=specimen.pk)
            await client.call(Consumer.list)
    assert len(BindCounted.parents) == serializers_made


class WhoSerializer(serializers.ModelSerializer[Specimen]):
    who = serializers.SerializerMethodField()

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Specimen
        fields = ("id", "who")

    def get_who(self, obj: Specimen) -> str:
        return str(self.context["request"].user)


class WhoConsumer(ModelConsumer[Specimen, WhoSerializer]):
    """Writes the request's user."""


@pytest.mark.django_db(transaction=True)
async def test_each_call_sees_its_own_context(
    specimens: list[Specimen], django_user_model: type[User]
) -> None:
    """Two connections of two users, interleaved, each get their own request in the shared
    serializer's context."""
    carol = await django_user_model.objects.acreate(username="carol")
    async with (
        ApiClient(WhoConsumer, scope=HOST) as anonymous,
        ApiClient(WhoConsumer, scope={**HOST, "user": carol}) as signed_in,
    ):
        for _ in range(3):
            mine = await signed_in.call(WhoConsumer.retrieve, pk=specimens[0].pk)
            theirs = await anonymous.call(WhoConsumer.list)
            assert mine.data["who"] == "carol"
            assert {row["who"] for row in theirs.data} == {"AnonymousUser"}


@pytest.mark.django_db
def test_threads_write_with_their_own_serializers(specimens: list[Specimen]) -> None:
    """Calls in several threads at once each write with their thread's serializer and their
    own context."""
    found: dict[str, set[str]] = {}

    def write(name: str) -> None:
        made = {"request": type("Request", (), {"user": name})()}
        found[name] = {
            row["who"] for _ in range(30) for row in shared(WhoSerializer).many(specimens, made)
        }

    threads = [threading.Thread(target=write, args=(f"user {n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == {f"user {n}": {f"user {n}"} for n in range(4)}


class Nesting(serializers.ModelSerializer[Specimen]):
    """Writes a row with its own class, inside its own method."""

    inner = serializers.SerializerMethodField()
    after = serializers.SerializerMethodField()

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Specimen
        fields = ("id", "inner", "after")

    def get_inner(self, obj: Specimen) -> object:
        depth: int = self.context["depth"]
        if depth >= 1:
            return None
        return shared(Nesting).one(obj, {"depth": depth + 1})

    def get_after(self, obj: Specimen) -> object:
        return {"depth": self.context["depth"], "same": self.instance is obj}


@pytest.mark.django_db
def test_a_call_inside_a_call_gets_the_outer_state_back(specimens: list[Specimen]) -> None:
    """A serializer method writing with its own shared class leaves the outer call's instance
    and context as they were."""
    specimen = specimens[0]
    written = shared(Nesting).one(specimen, {"depth": 0})
    inner = {"id": specimen.pk, "inner": None, "after": {"depth": 1, "same": True}}
    assert written == {"id": specimen.pk, "inner": inner, "after": {"depth": 0, "same": True}}


class DynamicFields(serializers.ModelSerializer[Specimen]):
    """DRF's documented dynamic-fields pattern: ``fields=`` chooses the fields per instance."""

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Specimen
        fields = ("id", "name", "count")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        chosen: tuple[str, ...] | None = kwargs.pop("fields", None)
        super().__init__(*args, **kwargs)
        if chosen is not None:
            for name in set(self.fields) - set(chosen):
                self.fields.pop(name)  # pyright: ignore[reportUnknownMemberType]


class ByContext(serializers.ModelSerializer[Specimen]):
    """Builds its fields from the context."""

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Specimen
        fields = ("id", "name", "count")

    def get_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = super().get_fields()  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        return fields if self.context.get("all") else {"id": fields["id"]}


class HoldsByContext(serializers.ModelSerializer[Specimen]):
    nested = ByContext(source="*", read_only=True)

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Specimen
        fields = ("id", "nested")


@pytest.mark.parametrize("serializer_class", [DynamicFields, ByContext, HoldsByContext])
def test_serializers_building_their_own_fields_are_not_shared(
    serializer_class: type[serializers.BaseSerializer[Any]],
) -> None:
    """``__init__`` or ``get_fields`` of its own (or of a serializer declared in it): its
    fields may depend on its arguments, so it is never shared."""
    assert shared_serializer(serializer_class) is None


class ChosenFields(ModelConsumer[Specimen, DynamicFields]):
    """Overrides get_serializer, which then makes every serializer."""

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("context", self.get_serializer_context())
        return DynamicFields(*args, fields=("id", "name"), **kwargs)


class AllByContext(ModelConsumer[Specimen, ByContext]):
    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "all": True}


@pytest.mark.django_db(transaction=True)
async def test_unshared_serializers_write_as_they_choose(specimens: list[Specimen]) -> None:
    """A consumer's own get_serializer, and a serializer building its fields from the context,
    write what they choose, per call."""
    specimen = specimens[0]
    async with ApiClient(ChosenFields, scope=HOST) as client:
        chosen = await client.call(ChosenFields.retrieve, pk=specimen.pk)
    async with ApiClient(AllByContext, scope=HOST) as client:
        every = await client.call(AllByContext.list)
    assert chosen.data == {"id": specimen.pk, "name": "full"}
    assert every.data[0] == {"id": specimen.pk, "name": "full", "count": 7}


class Reversed(serializers.ListSerializer[Specimen]):
    def to_representation(self, data: Any) -> list[Any]:
        written: list[Any] = super().to_representation(data)
        return written[::-1]


class CustomOutput(serializers.ModelSerializer[Specimen]):
    """Its own to_representation, and its own list serializer."""

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Specimen
        fields = ("id", "name")
        list_serializer_class = Reversed

    def to_representation(self, instance: Specimen) -> dict[str, Any]:
        written: dict[str, Any] = super().to_representation(instance)
        return {**written, "extra": self.context.get("extra")}


class PlainRows(serializers.Serializer[Any]):
    """No model: rows may be mappings."""

    name = serializers.CharField()
    count = serializers.IntegerField(required=False)


class NameAndCount(serializers.ModelSerializer[Specimen]):
    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Specimen
        fields = ("name", "count")


@pytest.mark.django_db
def test_custom_writers_and_plain_rows_are_written_as_drf_writes_them(
    specimens: list[Specimen],
) -> None:
    """A serializer's own to_representation, its own list serializer, and serializers over
    dicts as well as rows write what DRF's serializer writes."""
    made = {"extra": 1}
    assert shared(CustomOutput).one(specimens[0], made) == drf(CustomOutput, specimens[0], made)
    many = shared(CustomOutput).many(specimens, made)
    assert many == drf(CustomOutput, specimens, made, many=True)
    assert [row["id"] for row in many] == [specimens[1].pk, specimens[0].pk]
    rows: list[object] = [{"name": "dict", "count": 2}, specimens[0]]
    for serializer_class in (PlainRows, NameAndCount):
        assert shared(serializer_class).many(rows, {}) == drf(serializer_class, rows, many=True)


class ExtraContext(ModelConsumer[Specimen, CustomOutput]):
    """A serializer that could be shared, made by the consumer's own get_serializer."""

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        return CustomOutput(*args, context={"extra": "mine"}, **kwargs)


@pytest.mark.django_db(transaction=True)
async def test_a_consumers_own_get_serializer_makes_its_output(specimens: list[Specimen]) -> None:
    """Where the consumer overrides get_serializer, every reply is written by the serializer it
    makes, not by the shared one."""
    async with ApiClient(ExtraContext, scope=HOST) as client:
        retrieved = await client.call(ExtraContext.retrieve, pk=specimens[0].pk)
        listed = await client.call(ExtraContext.list)
    assert retrieved.data == {"id": specimens[0].pk, "name": "full", "extra": "mine"}
    assert [row["extra"] for row in listed.data] == ["mine", "mine"]
