"""The benchmarks' models; their tables are made in the scripts."""

from django.db import models


class ItemFields(models.Model):
    """The fields a typical model has."""

    name = models.CharField(max_length=100)
    quantity = models.IntegerField()
    active = models.BooleanField(default=True)
    created = models.DateTimeField()

    class Meta:
        abstract = True
        app_label = "bench_app"
        ordering = ("pk",)


class Item(ItemFields):
    # Declared, so that type checkers need not know this app (mypy's Django plugin reads the
    # test settings).
    objects: models.Manager["Item"] = models.Manager()

    class Meta(ItemFields.Meta):
        pass


class ObservedItem(ItemFields):
    """``Item`` again, with a typed_dcrf observer registered on it (``benchmarks/fanout.py``
    compares listing each)."""

    objects: models.Manager["ObservedItem"] = models.Manager()

    class Meta(ItemFields.Meta):
        pass


class Row(models.Model):
    """The fields of the fan-out benchmark's rows: one table per contender, so that one's
    signal receivers never run for another's saves."""

    name = models.CharField(max_length=100)
    quantity = models.IntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        abstract = True
        app_label = "bench_app"


class BareRow(Row):
    objects: models.Manager["BareRow"] = models.Manager()


class DCRFRow(Row):
    objects: models.Manager["DCRFRow"] = models.Manager()


class TypedRow(Row):
    objects: models.Manager["TypedRow"] = models.Manager()


class ListRow(models.Model):
    """The fields of the list-subscription benchmark's rows (``benchmarks/lists.py``), whose
    filters read ``rank``: one table per contender, as for ``Row``."""

    name = models.CharField(max_length=100)
    rank = models.IntegerField()

    class Meta:
        abstract = True
        app_label = "bench_app"


class BareListRow(ListRow):
    objects: models.Manager["BareListRow"] = models.Manager()


class NoHopListRow(ListRow):
    objects: models.Manager["NoHopListRow"] = models.Manager()


class DCRFListRow(ListRow):
    objects: models.Manager["DCRFListRow"] = models.Manager()


class TypedListRow(ListRow):
    objects: models.Manager["TypedListRow"] = models.Manager()


class LoadRow(models.Model):
    """The rows of the load harness (``benchmarks/load.py``): each written by the connection
    that owns it, ``name`` carrying the write's revision, ``rank`` what list filters read."""

    name = models.CharField(max_length=100)
    rank = models.IntegerField()

    objects: models.Manager["LoadRow"] = models.Manager()

    class Meta:
        app_label = "bench_app"
        ordering = ("pk",)
