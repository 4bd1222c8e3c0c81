"""The typed_dcrf pytest plugin: a user's test that ends after a sync action lets PostgreSQL's
test database be dropped."""

from __future__ import annotations

import os
import re
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent

USER_TEST = """
import pytest

from tests.app.models import Note
from typed_dcrf import AsyncAPIConsumer, Response, action
from typed_dcrf.testing import ApiClient


class Notes(AsyncAPIConsumer):
    @action
    def add(self, text: str) -> Response[int]:
        return Response.created(Note.objects.create(text=text).pk)


@pytest.mark.django_db(transaction=True)
async def test_sync_action() -> None:
    async with ApiClient(Notes) as client:
        assert (await client.call(Notes.add, text="kept open")).status == 201
"""

pytestmark = [
    pytest.mark.database,
    pytest.mark.skipif(
        os.environ.get("TEST_DB") != "postgres",
        reason="runs in the PostgreSQL pass, where an open session blocks dropping the database",
    ),
]


def run_user_suite(pytester: pytest.Pytester, *options: str) -> pytest.RunResult:
    """Run USER_TEST in a pytest of its own, on PostgreSQL, as a user's project would."""
    pytester.makepyfile(test_user=USER_TEST)
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    os.environ["PYTHONPATH"] = str(ROOT)
    return pytester.runpytest_subprocess(
        "--ds=tests.settings", "-p", "no:cacheprovider", *options, timeout=120
    )


def test_with_the_plugin_the_test_database_is_dropped(pytester: pytest.Pytester) -> None:
    """The plugin closes the database thread's connection: the test database is dropped."""
    result = run_user_suite(pytester)
    result.assert_outcomes(passed=1)
    assert "being accessed by other users" not in result.stdout.str()


def test_without_the_plugin_the_drop_fails(pytester: pytest.Pytester) -> None:
    """Without it (-p no:typed_dcrf), the open session keeps pytest-django from dropping the
    test database: the plugin is what fixes it."""
    result = run_user_suite(pytester, "-p", "no:typed_dcrf")
    result.assert_outcomes(passed=1)
    left = re.search(r'database "(test_typed_dcrf_\d+)" is being accessed', result.stdout.str())
    assert left is not None, result.stdout.str()
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as db:
        drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(left.group(1)))
        db.execute(drop)  # left behind by that run
