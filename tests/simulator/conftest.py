from __future__ import annotations

import pytest

from ecodata.simulator import SimulatedData


@pytest.fixture(scope="session")
def demo_truth() -> SimulatedData:
    return SimulatedData("demo", 0, 0)
