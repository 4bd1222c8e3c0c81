"""The board's page, its API's contracts, and Django's session login and logout."""

from __future__ import annotations

from django.contrib.auth.views import LoginView, LogoutView
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import path

from board.views import asyncapi, client, index

urlpatterns = [
    path("", index, name="index"),
    path("asyncapi.json", asyncapi, name="asyncapi"),
    path("client.ts", client, name="client"),
    path("login/", LoginView.as_view(template_name="board/login.html"), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    *staticfiles_urlpatterns(),
]
