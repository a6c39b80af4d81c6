import logging

import pytest
from lake_support import aws_environment, free_port, new_bucket
from moto.server import ThreadedMotoServer

from ecodata.demo import run_demo
from ecodata.settings import Settings


@pytest.fixture(scope="session")
def moto_endpoint():
    """One S3 server (moto) on a free loopback port for every lake test."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(moto_endpoint, monkeypatch):
    """A fresh bucket on the moto server, with the AWS_* variables a user would set; its s3:// URL."""
    aws_environment(monkeypatch, moto_endpoint)
    return new_bucket()


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory):
    """A two-day demo dataset (compacted raw day, record store, two history days per table); read only."""
    data = tmp_path_factory.mktemp("lake") / "data"
    run_demo(Settings.from_env(env={}, data_dir=data), days=2, progress=False)
    return data
