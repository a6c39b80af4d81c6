import os
from collections.abc import Iterator

import pytest


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ECODATA_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True, scope="session")
def _no_ecodata_environment_in_the_session() -> Iterator[None]:
    """Module and session fixtures too start without ECODATA_* (a developer's token or data dir)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _clear(monkeypatch)
        yield


@pytest.fixture(autouse=True)
def _no_ecodata_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without ECODATA_* variables, whatever an earlier test or fixture set."""
    _clear(monkeypatch)
