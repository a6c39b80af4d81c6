import pytest

from ecodata.demo import run_demo
from ecodata.settings import Settings

# The token the demo hands to the simulator and the fetcher in the shared build; tests look for leaks.
SENTINEL_TOKEN = "demo-token-SENTINEL-5f1c9a"


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory):
    """ONE demo dataset for the demo and notebook tests: run_demo into a temporary data directory."""
    data = tmp_path_factory.mktemp("demo") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("ecodata.demo.secrets.token_urlsafe", lambda _n: SENTINEL_TOKEN)
        report = run_demo(Settings.from_env(env={}, data_dir=data), progress=False)
    return data, report


@pytest.fixture
def sentinel_token():
    return SENTINEL_TOKEN
