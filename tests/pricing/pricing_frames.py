"""Build the snapshot tables the vectorised evaluator reads from plain records (test helper).

Independent of ecodata.transform on purpose: the evaluator is tested against the declared schemas.
"""

import datetime as dt
from decimal import Decimal

import polars as pl

from ecodata.paths import DataPaths
from ecodata.pipeline import write_session_costs
from ecodata.settings import Settings
from ecodata.sql import write_views
from ecodata.tables.schemas import (
    ALL_TABLES,
    CONNECTOR_PRICES,
    CONNECTORS,
    LOCATIONS,
    PRICE_COMPONENTS,
    PRICE_ELEMENTS,
    PRICES,
    TableSchema,
)
from ecodata.tables.write import write_table


def _frame(schema: TableSchema, rows: list[dict]) -> pl.DataFrame:
    full = [{c: row.get(c) for c in schema.column_names} for row in rows]
    return pl.DataFrame(full, schema=schema.polars_schema, orient="row")


def _dec(v):
    if v is None:
        return None
    if isinstance(v, dict):
        v = v.get("excl_vat")
    return Decimal(str(v))


def _time(v):
    return None if v is None else dt.time.fromisoformat(v)


def _date(v):
    return None if v is None else dt.date.fromisoformat(v)


def price_tables(records: list[dict]) -> dict[str, pl.DataFrame]:
    prices, elements, components = [], [], []
    for rec in records:
        product = rec.get("product") or {}
        prices.append({
            "price_id": rec["id"], "partner": rec.get("partner"), "product_type": product.get("type"),
            "product_name": product.get("name"),
            "subscription_type": product.get("subscription_type"),
            "subscription_fee_excl_vat": _dec(product.get("subscription_fee_excl_vat")),
            "currency": product.get("currency"), "element_count": len(rec["elements"]),
        })
        for i, el in enumerate(rec["elements"]):
            r = el.get("restrictions") or {}
            elements.append({
                "price_id": rec["id"], "element_index": i, "component_count": len(el["price_components"]),
                "start_time": _time(r.get("start_time")), "end_time": _time(r.get("end_time")),
                "start_date": _date(r.get("start_date")), "end_date": _date(r.get("end_date")),
                "min_kwh": _dec(r.get("min_kwh")), "max_kwh": _dec(r.get("max_kwh")),
                "min_current_a": _dec(r.get("min_current")), "max_current_a": _dec(r.get("max_current")),
                "min_power_kw": _dec(r.get("min_power")), "max_power_kw": _dec(r.get("max_power")),
                "min_duration_s": r.get("min_duration"), "max_duration_s": r.get("max_duration"),
                "day_of_week": r.get("day_of_week"), "reservation": r.get("reservation"),
                "overstay_duration_s": r.get("overstay_duration"),
                "restriction_min_price": _dec(r.get("min_price")),
                "restriction_max_price": _dec(r.get("max_price")),
                "emsp_contract_date": _date(r.get("emsp_contract_date")),
            })
            for j, c in enumerate(el["price_components"]):
                vat = _dec(c.get("vat"))
                price = _dec(c["price_excl_vat"])
                components.append({
                    "price_id": rec["id"], "element_index": i, "component_index": j, "type": c["type"],
                    "price_excl_vat": price, "vat": vat,
                    "price_incl_vat": None if vat is None else price * (100 + vat) / 100,
                    "step_size": c.get("step_size"),
                })
    return {
        "prices": _frame(PRICES, prices),
        "price_elements": _frame(PRICE_ELEMENTS, elements),
        "price_components": _frame(PRICE_COMPONENTS, components),
    }


LOCATION_EXTRAS = ("operator_name", "latitude", "longitude")


def site_tables(connectors: list[dict], links: list[tuple[str, str]]) -> dict[str, pl.DataFrame]:
    """connectors: dicts with connector_id, location_id, time_zone, power_class, max_power_kw, amperage
    (and optionally the location's operator_name, latitude, longitude); links: (connector_id, price_id)."""
    locs = {c["location_id"]: c for c in connectors}
    return {
        "locations": _frame(LOCATIONS, [{"location_id": k, "time_zone": v.get("time_zone"),
                                         "country_code": v.get("country_code", "DE"),
                                         **{f: v[f] for f in LOCATION_EXTRAS if f in v}}
                                        for k, v in locs.items()]),
        "connectors": _frame(CONNECTORS, [{**c, "evse_uid": "E1"} for c in connectors]),
        "connector_prices": _frame(CONNECTOR_PRICES, [
            {"location_id": next(c["location_id"] for c in connectors if c["connector_id"] == cid),
             "evse_uid": "E1", "connector_id": cid, "price_id": pid, "price_index": i}
            for i, (cid, pid) in enumerate(links)]),
    }


def simulator_tables(scale: str = "demo", seed: int = 0) -> tuple[dict[str, pl.DataFrame], list[dict]]:
    """The simulator's ground truth through ecodata.transform: (tables, price records)."""

    from ecodata.simulator import SimulatedData
    from ecodata.tables.fixtures import tables_from_records

    ds = SimulatedData(scale=scale, seed=seed)
    price_records = list(ds.iter_records("prices"))
    tables = tables_from_records({"locations": ds.iter_records("locations"),
                                  "connector_prices": ds.iter_records("connector_prices"),
                                  "prices": price_records})
    return tables, price_records


def write_priced_dataset(settings: Settings, day: dt.date, tables: dict[str, pl.DataFrame]) -> DataPaths:
    """Write ``tables`` for ``day`` into ``settings.data_dir``, then the day's session costs (by the
    pipeline's own step) and the views: a dataset the analytic views can be queried on."""
    paths = DataPaths(settings.data_dir)
    for name, frame in tables.items():
        write_table(paths, ALL_TABLES[name], day, frame)
    write_session_costs(settings, day)
    write_views(paths)
    return paths
