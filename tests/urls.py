"""URLs the serializers under test reverse (hyperlinked fields); no view is ever requested."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The named route ``item-detail``, for ``HyperlinkedIdentityField(view_name=...)``."""
    return HttpResponse(status=204)


urlpatterns = [path("items/<int:pk>/", item_detail, name="item-detail")]
