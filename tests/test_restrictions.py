import ast
import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ecodata.pricing.model import Restrictions, parse_tariff
from ecodata.restrictions import KINDS, OCPI_2_1_1_KEYS, RESTRICTION_FIELDS
from ecodata.simulator.catalog import _tariff_elements
from ecodata.simulator.geo import BY_CODE
from ecodata.tables.schemas import PRICE_ELEMENTS, TARIFF_ELEMENTS
from ecodata.transform import transform_prices, transform_tariffs

PACKAGE = Path(__file__).resolve().parents[1] / "ecodata"
DECLARATION = PACKAGE / "restrictions.py"

# One raw value per kind, as the API writes it, and how each user reads it back.
RAW = {"time": "08:30", "date": "2026-03-01", "quantity": 12.5, "seconds": 900,
       "weekdays": ["MONDAY", "SUNDAY"], "reservation": "RESERVATION", "price": 1.25}
MODEL = {"time": 30600, "date": dt.date(2026, 3, 1), "quantity": Decimal("12.5"), "seconds": 900,
         "weekdays": frozenset({"MONDAY", "SUNDAY"}), "reservation": "RESERVATION", "price": Decimal("1.25")}
TABLE = {"time": dt.time(8, 30), "date": dt.date(2026, 3, 1), "quantity": Decimal("12.5"), "seconds": 900,
         "weekdays": ["MONDAY", "SUNDAY"], "reservation": "RESERVATION", "price": Decimal("1.25")}
ANNOTATION = {"time": "int | None", "date": "dt.date | None", "quantity": "Decimal | None", "seconds": "int | None",
              "weekdays": "frozenset[str] | None", "reservation": "str | None", "price": "Decimal | None"}
KEYS = {f.key for f in RESTRICTION_FIELDS}
NAMES = KEYS | {f.column for f in RESTRICTION_FIELDS}


def test_the_declaration_is_consistent_and_pure():
    assert len(KEYS) == len({f.column for f in RESTRICTION_FIELDS}) == len(RESTRICTION_FIELDS) == 18
    assert {f.kind for f in RESTRICTION_FIELDS} == set(KINDS) == set(RAW) == set(MODEL) == set(TABLE)
    assert OCPI_2_1_1_KEYS == ("start_time", "end_time", "start_date", "end_date", "min_kwh", "max_kwh",
                               "min_power", "max_power", "min_duration", "max_duration", "day_of_week")
    imported = {alias.name for node in ast.walk(ast.parse(DECLARATION.read_text(encoding="utf-8")))
                if isinstance(node, ast.ImportFrom | ast.Import)
                for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])}
    assert imported == {"__future__", "dataclasses", "typing"}


def test_the_pricing_model_has_one_typed_attribute_per_declared_field_in_order():
    fields = dataclasses.fields(Restrictions)
    assert [f.name for f in fields] == [f.key for f in RESTRICTION_FIELDS]
    assert [f.type for f in fields] == [ANNOTATION[f.kind] for f in RESTRICTION_FIELDS]


@pytest.mark.parametrize("schema", [PRICE_ELEMENTS, TARIFF_ELEMENTS], ids=lambda s: s.name)
def test_the_element_tables_have_the_declared_columns_in_order(schema):
    names = schema.column_names
    start = names.index(RESTRICTION_FIELDS[0].column)
    assert names[start:start + len(RESTRICTION_FIELDS) + 1] == [
        *(f.column for f in RESTRICTION_FIELDS), "restrictions_json"]
    assert [c.doc for c in schema.columns[start:start + len(RESTRICTION_FIELDS)]] == [
        f.doc for f in RESTRICTION_FIELDS]


def element_row(transform, record: dict[str, Any], endpoint: str) -> dict[str, Any]:
    raw = pl.LazyFrame({"record": [json.dumps(record)], "record_key": ["k0"], "api_version": [endpoint]})
    out = transform(raw)
    assert out["rejects"].collect().height == 0, out["rejects"].collect().rows()
    return out[f"{endpoint.removesuffix('s')}_elements"].collect().row(0, named=True)


def test_every_declared_field_round_trips_from_a_price_record_to_the_table_and_the_pricing_model():
    restrictions = {f.key: RAW[f.kind] for f in RESTRICTION_FIELDS}
    price = {"id": "P1", "partner": "Co", "last_updated": "2026-05-22T17:17:32Z",
             "product": {"id": "x", "type": "adhoc", "currency": "EUR"},
             "elements": [{"price_components": [{"type": "ENERGY", "price_excl_vat": 0.3, "vat": 19, "step_size": 1}],
                           "restrictions": restrictions}]}
    row = element_row(transform_prices, price, "prices")
    model = parse_tariff(json.loads(json.dumps(price), parse_float=Decimal)).elements[0].restrictions
    assert model is not None
    for f in RESTRICTION_FIELDS:
        assert (f.key, row[f.column]) == (f.key, TABLE[f.kind])
        assert (f.key, getattr(model, f.key)) == (f.key, MODEL[f.kind])
    assert json.loads(row["restrictions_json"]).keys() == KEYS


@pytest.mark.parametrize("style", [0, 1])
def test_the_simulators_ocpi_tariff_restrictions_round_trip_through_the_transform_and_the_pricing_model(style):
    every = {f.key: RAW[f.kind] for f in RESTRICTION_FIELDS}
    element = {"price_components": [{"type": "ENERGY", "price_excl_vat": 0.3, "vat": 19, "step_size": 1}],
               "restrictions": every}
    _, elements = _tariff_elements([element], style, True, BY_CODE["DE"])
    raw_elements = json.loads(elements)
    written = raw_elements[0]["restrictions"]
    assert list(written[0] if style else written) == list(OCPI_2_1_1_KEYS)  # Eco-Movement's keys dropped
    tariff = {"id": "T1", "currency": "EUR", "elements": raw_elements, "last_updated": "2026-05-22T17:17:32Z"}
    row = element_row(transform_tariffs, tariff, "tariffs")
    model = parse_tariff(json.loads(json.dumps(tariff), parse_float=Decimal)).elements[0].restrictions
    assert model is not None
    for f in RESTRICTION_FIELDS:
        ocpi = f.key in OCPI_2_1_1_KEYS
        assert (f.key, row[f.column]) == (f.key, TABLE[f.kind] if ocpi else None)
        assert (f.key, getattr(model, f.key)) == (f.key, MODEL[f.kind] if ocpi else None)


def field_lists(tree: ast.AST) -> list[tuple[int, set[str]]]:
    """Every literal in ``tree`` that names several restriction fields: where, and which names."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items: list[Any] = node.elts
        elif isinstance(node, ast.Dict):
            items = [k for k in node.keys if k is not None]
        elif isinstance(node, ast.Call):
            items = [ast.Constant(k.arg) for k in node.keywords if k.arg]
        elif isinstance(node, ast.ClassDef):
            items = [ast.Constant(s.target.id) for s in node.body
                     if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
        else:
            continue
        # an item names a field as a string, or as the first argument of a call (Column("min_kwh", ...))
        items = [i.args[0] if isinstance(i, ast.Call) and i.args else i for i in items]
        names = {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)} & NAMES
        if len(names) >= 6:
            found.append((node.lineno, names))
    return found


# The typed attributes of the pricing model, held to the declaration by the test above.
CHECKED = {("pricing/model.py", "Restrictions")}


def test_no_module_lists_the_restriction_fields_again():
    lists = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == DECLARATION:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(PACKAGE).as_posix()
        checked = {n.lineno for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and (rel, n.name) in CHECKED}
        lists += [(rel, line, sorted(names)) for line, names in field_lists(tree) if line not in checked]
    assert lists == [], "restriction fields listed outside ecodata/restrictions.py: derive them from it"


def test_the_list_detector_bites():
    source = ("A = ('start_time', 'end_time', 'min_kwh', 'max_kwh', 'min_power_kw', 'day_of_week')\n"
              "B = {'min_current': 1, 'max_current': 2, 'reservation': 3, 'min_price': 4, 'max_price': 5, 'x': 6,"
              " 'emsp_contract_date': 7}\n"
              "f(start_date=1, end_date=2, min_duration=3, max_duration=4, overstay_duration=5, min_kwh=6)\n"
              "class R:\n    start_time: int\n    end_time: int\n    min_kwh: int\n    max_kwh: int\n"
              "    min_power: int\n    max_power: int\n"
              "D = (c('start_time', 1), c('end_time', 1), c('start_date', 2), c('end_date', 2), c('min_kwh', 3),\n"
              "     c('max_kwh', 3))\n"
              "C = ('start_time', 'end_time', 'min_kwh', 'max_kwh', 'min_power')\n")
    assert sorted(line for line, _ in field_lists(ast.parse(source))) == [1, 2, 3, 4, 11]
