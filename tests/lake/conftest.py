import logging
import socket
import uuid

import pytest
from moto.server import ThreadedMotoServer

from ecodata.demo import run_demo
from ecodata.settings import Settings

SECRET = "lake-secret-SENTINEL-8d2e41"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    """One S3 server (moto) on a free loopback port for every lake test."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def aws_environment(patch, endpoint):
    """The AWS_* variables a user of a custom S3 endpoint sets (and none of a developer's own)."""
    patch.setenv("AWS_ACCESS_KEY_ID", "testing-key-id")
    patch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    patch.setenv("AWS_ENDPOINT_URL", endpoint)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        patch.delenv(name, raising=False)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


def new_bucket():
    """A fresh bucket on the moto server; its s3:// URL with a prefix."""
    import s3fs

    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem().mkdir(bucket)
    return f"s3://{bucket}/ecodata"


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
