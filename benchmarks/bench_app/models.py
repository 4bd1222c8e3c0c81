"""``Item``: a row with the fields a typical model has."""

from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
    quantity = models.IntegerField()
    active = models.BooleanField(default=True)
    created = models.DateTimeField()

    # Declared, so that type checkers need not know this app (mypy's Django plugin reads the
    # test settings).
    objects: models.Manager["Item"] = models.Manager()

    class Meta:
        app_label = "bench_app"
        ordering = ("pk",)
