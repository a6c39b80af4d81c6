import datetime as dt
from decimal import Decimal

import polars as pl

from ecodata.demo import REPORT_SESSION, _session_table, session_label
from ecodata.pricing import ReferenceSession, load_sessions


def test_the_session_title_comes_from_the_session_definitions():
    shipped = next(s for s in load_sessions() if s.name == REPORT_SESSION)
    assert session_label(shipped) == f"{REPORT_SESSION} ({shipped.energy_kwh.normalize():f} kWh, Road-trip stop)"
    mine = ReferenceSession(name=REPORT_SESSION, power_classes=("HPC",), start=dt.time(9), energy_kwh=Decimal("40.00"),
                            power_kw=Decimal("100"), description="")
    assert session_label(mine) == f"{REPORT_SESSION} (40 kWh)"
    assert session_label(None) == REPORT_SESSION
    empty = pl.DataFrame(schema={"country_code": pl.String})
    assert str(_session_table(empty, mine).title).startswith(f"session_cost_comparison: {REPORT_SESSION} (40 kWh), ")
