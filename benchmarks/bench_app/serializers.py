"""The one serializer every consumer of the CRUD benchmark uses."""

from rest_framework import serializers

from bench_app.models import Item


class ItemSerializer(serializers.ModelSerializer[Item]):
    class Meta:
        model = Item
        fields = ("id", "name", "quantity", "active", "created")
