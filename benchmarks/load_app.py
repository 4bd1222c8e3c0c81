"""The ASGI application ``load.py`` serves with uvicorn: its settings, from the environment, and
one model consumer with every CRUD action, instance and list subscriptions, and an echo.

``LOAD_LAYER`` (``memory`` or ``redis``), ``LOAD_CAPACITY`` and ``LOAD_EXPIRY`` (the layer's
per-channel capacity, and the seconds a message may wait), ``LOAD_PREFIX`` (the Redis layer's
key prefix), ``LOAD_REDIS_CONNECTIONS`` (redis-py's pool size), ``LOAD_DATABASE`` (``sqlite`` or
``postgres``) and ``LOAD_DATABASE_NAME`` (the SQLite file, or the PostgreSQL database) say how;
``load.py`` sets them. Run as a script (``python load_app.py <rows>``), it makes the table and
its first rows.
"""

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))


def layer_settings() -> dict[str, Any]:
    """The channel layer the environment names."""
    capacity = int(os.environ.get("LOAD_CAPACITY", "100"))
    expiry = int(os.environ.get("LOAD_EXPIRY", "60"))
    if os.environ.get("LOAD_LAYER", "memory") == "memory":
        config = {"capacity": capacity, "expiry": expiry}
        return {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": config}
    host = {
        "address": "redis://127.0.0.1:6379",
        # redis-py 8 times blocking reads out after 5 s (channels_redis issue 422).
        "socket_timeout": None,
        # redis-py 8's asyncio pool refuses a 101st connection ("Too many connections").
        "max_connections": int(os.environ.get("LOAD_REDIS_CONNECTIONS", "1000")),
    }
    config = {"hosts": [host], "prefix": os.environ["LOAD_PREFIX"], "capacity": capacity}
    config["expiry"] = expiry
    return {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": config}


def database_settings() -> dict[str, Any]:
    """The database the environment names, its connections kept (``CONN_MAX_AGE``)."""
    name = os.environ["LOAD_DATABASE_NAME"]
    if os.environ.get("LOAD_DATABASE", "sqlite") == "postgres":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": 5432,
            "CONN_MAX_AGE": None,
        }
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": name,
        "CONN_MAX_AGE": None,
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 30,
        },
    }


def configure() -> None:
    from echo import configure_django

    configure_django(
        "typed_dcrf",
        "bench_app",
        DATABASES={"default": database_settings()},
        CHANNEL_LAYERS={"default": layer_settings()},
    )


def application() -> Any:
    """The consumer, as an ASGI application (Django set up first)."""
    from bench_app.models import LoadRow
    from bench_app.serializers import LoadRowSerializer
    from django.db.models import QuerySet

    from typed_dcrf import ModelConsumer, ObserveInstanceMixin, ObserveListMixin, Response, action

    class LoadConsumer(
        ObserveListMixin[LoadRow, LoadRowSerializer],
        ObserveInstanceMixin[LoadRow, LoadRowSerializer],
        ModelConsumer[LoadRow, LoadRowSerializer],
    ):
        """CRUD, subscriptions to rows and to the rows of ``rank >= min_rank``, and an echo."""

        def filter_list(
            self, queryset: QuerySet[LoadRow], *, min_rank: int | None = None
        ) -> QuerySet[LoadRow]:
            return queryset if min_rank is None else queryset.filter(rank__gte=min_rank)

        @action()
        async def echo(self, text: str) -> Response[str]:
            return Response.ok(text)

    return LoadConsumer.as_asgi()


def seed_rank(pk: int) -> int:
    """The rank of seeded row ``pk`` (``load.py`` computes the same)."""
    return pk * 37 % 100


def create_tables(rows: int) -> None:
    """The model's table, with ``rows`` rows (pk 1 to ``rows``, name ``row<pk>-0``)."""
    from bench_app.models import LoadRow
    from django.db import connection

    with connection.schema_editor() as editor:
        editor.create_model(LoadRow)
    LoadRow.objects.bulk_create(
        LoadRow(pk=pk, name=f"row{pk}-0", rank=seed_rank(pk)) for pk in range(1, rows + 1)
    )
    if connection.vendor == "postgresql":  # the next pk after the seeded ones
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('bench_app_loadrow', 'id'), %s)", [rows]
            )


configure()
if __name__ == "__main__":  # python load_app.py <rows>: make the table
    create_tables(int(sys.argv[1]))
else:  # imported by uvicorn
    app = application()
