"""The typed_dcrf pytest plugin loads in every project of an environment with typed_dcrf
installed: in one that does not configure Django, its tests run as they would without it."""

from __future__ import annotations

import pytest


def test_a_project_without_django_settings_runs_its_tests_undisturbed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    pytester.makepyfile(test_plain="def test_plain() -> None:\n    assert 1 + 1 == 2\n")
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=60)
    result.assert_outcomes(passed=1)
    assert "typed-dcrf-" in result.stdout.str()  # the plugins listed name it: it ran too
