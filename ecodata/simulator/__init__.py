"""ecodata.simulator: a faithful, deterministic simulator of the Eco-Movement Data API.

It imports no pipeline code. ``SimulatedData`` is the ground truth, ``create_app`` the ASGI app,
``serve_in_thread`` a real loopback server for tests, the demo and benchmarks.
"""

from __future__ import annotations

from ecodata.simulator.app import ConnectionDropped, create_app
from ecodata.simulator.config import FaultSpec, SimulatorConfig
from ecodata.simulator.data import ENDPOINTS, SimulatedData
from ecodata.simulator.server import run_server, serve_in_thread

__all__ = [
    "ENDPOINTS",
    "ConnectionDropped",
    "FaultSpec",
    "SimulatedData",
    "SimulatorConfig",
    "create_app",
    "run_server",
    "serve_in_thread",
]
