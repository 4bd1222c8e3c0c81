"""URLs the serializers under test reverse (hyperlinked fields); no view is ever requested."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The view of every named route here, for hyperlinked fields (``view_name=...``)."""
    return HttpResponse(status=204)


urlpatterns = [
    path("items/<int:pk>/", item_detail, name="item-detail"),
    path("specimens/<int:pk>/", item_detail, name="specimen-detail"),
    path("users/<int:pk>/", item_detail, name="user-detail"),
]
