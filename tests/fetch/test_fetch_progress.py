import io

from rich.console import Console

from ecodata.fetch._progress import QuietProgress, RichProgress, make_progress
from ecodata.settings import Settings


def test_bars_show_records_pages_and_rate() -> None:
    out = io.StringIO()
    bars = RichProgress(Console(file=out, force_terminal=True, width=120))
    bars.start("locations", None, 0, 0)
    bars.set_total("locations", 2000)
    bars.page("locations", 1000)
    bars.page("locations", 1000)
    bars.close()
    text = out.getvalue()
    assert "locations" in text
    assert "2,000 records" in text
    assert "2 pages" in text
    assert "pages/s" in text


def test_quiet_when_not_a_terminal() -> None:
    assert isinstance(make_progress(None), QuietProgress)  # pytest captures stderr: not a TTY
    assert isinstance(make_progress(False), QuietProgress)


def test_ci_turns_bars_off() -> None:
    assert Settings.from_env({"CI": "true"}).progress is False
    assert Settings.from_env({"CI": "0"}).progress is None
    assert Settings.from_env({}).progress is None
