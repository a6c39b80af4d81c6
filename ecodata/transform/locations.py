"""Locations endpoint -> ``locations``, ``evses``, ``connectors`` (+ ``rejects``).

Handles OCPI 2.1.1 and 2.2 records side by side (``type`` vs ``parking_type``, ``voltage`` vs
``max_voltage``, ``tariff_id`` vs ``tariff_ids``) and Eco-Movement's extras (``brand_name`` as a
string or as a business-details object, ``max_power`` in kW, administrative areas, access type).
"""

from __future__ import annotations

import polars as pl

from ecodata.tables.schemas import CONNECTORS, EVSES, LOCATIONS
from ecodata.transform._common import ROW, Parts, explode_with_index
from ecodata.transform._conform import conform
from ecodata.transform._decode import DATA, Variant

_S = pl.String()
_LS = pl.List(pl.String())
_GEO = pl.Struct({"latitude": _S, "longitude": _S})
_BUSINESS = pl.Struct({"name": _S, "partner_id": _S})

CONNECTOR_JSON = pl.Struct({
    "id": _S, "standard": _S, "format": _S, "power_type": _S,
    "voltage": _S, "amperage": _S, "max_voltage": _S, "max_amperage": _S,
    "max_electric_power": _S, "max_power": _S,
    "tariff_id": _S, "tariff_ids": _LS, "terms_and_conditions": _S, "last_updated": _S,
})
EVSE_JSON = pl.Struct({
    "uid": _S, "evse_id": _S, "status": _S, "capabilities": _LS, "floor_level": _S,
    "physical_reference": _S, "parking_restrictions": _LS, "coordinates": _GEO,
    "connectors": pl.List(CONNECTOR_JSON), "last_updated": _S,
})


def _location_json(brand: pl.DataType) -> pl.Struct:
    return pl.Struct({
        "id": _S, "type": _S, "parking_type": _S, "name": _S, "address": _S, "city": _S,
        "postal_code": _S, "state": _S, "country": _S, "country_code": _S, "party_id": _S,
        "coordinates": _GEO, "time_zone": _S, "operator": _BUSINESS, "suboperator": _BUSINESS,
        "owner": _BUSINESS, "brand_name": brand, "access_type": _S,
        "administrative_areas": pl.Struct({"municipality": _S, "state_province": _S}),
        "facilities": _LS,
        "adhoc_authorisation_payment_method": pl.List(pl.Struct({"code": _S})),
        "opening_times": pl.Struct({"twentyfourseven": _S}),
        "charging_when_closed": _S, "evses": pl.List(EVSE_JSON), "last_updated": _S,
    })


LOCATION_JSON = _location_json(_S)
VARIANTS = [
    # Responses modelled on the live API carry brand_name as a business-details object (tried
    # first, it is the common case); Eco-Movement's attribute table describes a plain string.
    Variant(_location_json(_BUSINESS),
            lambda e: e.struct.with_fields(pl.field("brand_name").struct.field("name").alias("brand_name"))),
    Variant(LOCATION_JSON, hint=r'"brand_name"\s*:\s*"'),
]

# ISO 3166-1 alpha-3 -> alpha-2 for the countries the Data API covers (Europe and neighbours).
ALPHA3_TO_ALPHA2: dict[str, str] = {
    "ALB": "AL", "AND": "AD", "AUT": "AT", "BEL": "BE", "BGR": "BG", "BIH": "BA", "BLR": "BY",
    "CHE": "CH", "CYP": "CY", "CZE": "CZ", "DEU": "DE", "DNK": "DK", "ESP": "ES", "EST": "EE",
    "FIN": "FI", "FRA": "FR", "GBR": "GB", "GRC": "GR", "HRV": "HR", "HUN": "HU", "IRL": "IE",
    "ISL": "IS", "ITA": "IT", "LIE": "LI", "LTU": "LT", "LUX": "LU", "LVA": "LV", "MCO": "MC",
    "MDA": "MD", "MKD": "MK", "MLT": "MT", "MNE": "ME", "NLD": "NL", "NOR": "NO", "POL": "PL",
    "PRT": "PT", "ROU": "RO", "SMR": "SM", "SRB": "RS", "SVK": "SK", "SVN": "SI", "SWE": "SE",
    "TUR": "TR", "UKR": "UA", "USA": "US", "CAN": "CA", "AUS": "AU", "NZL": "NZ",
}

# Phases per OCPI PowerType, for max power = voltage (line to neutral) x amperage x phases.
PHASES: dict[str, int] = {"AC_1_PHASE": 1, "AC_2_PHASE": 2, "AC_2_PHASE_SPLIT": 2, "AC_3_PHASE": 3, "DC": 1}
HPC_THRESHOLD_KW = 150.0


def parts_locations(rows: pl.LazyFrame) -> Parts:
    """Flatten raw location records (``RAW_SCHEMA`` rows) into the location tables and rejects.

    ``rows`` are raw rows with ``_row`` decoded by ``_decode.Decoder``.
    """
    loc = rows.filter(pl.col(DATA).is_not_null()).select(ROW, "api_version", pl.col(DATA).alias("l"))
    locations = _locations(loc)
    evse_rows = explode_with_index(
        loc.select(ROW, pl.col("l").struct.field("id").alias("location_id"),
                   pl.col("l").struct.field("evses").alias("evse")),
        "evse", "_evse_index",
    )
    evses = _evses(evse_rows)
    connectors = _connectors(evse_rows)
    return Parts("locations", {"locations": locations, "evses": evses, "connectors": connectors},
                  ("locations", ("location_id",)))


def _locations(loc: pl.LazyFrame) -> pl.LazyFrame:
    f = pl.col("l").struct.field
    country = f("country")
    flat = loc.select(
        ROW,
        f("id").alias("location_id"),
        pl.col("api_version"),
        f("name"), f("address"), f("city"), f("postal_code"), f("state"), country,
        pl.coalesce(f("country_code"), country.replace_strict(ALPHA3_TO_ALPHA2, default=None,
                                                              return_dtype=pl.String)).alias("country_code"),
        f("party_id"),
        f("coordinates").struct.field("latitude").alias("latitude"),
        f("coordinates").struct.field("longitude").alias("longitude"),
        pl.coalesce(f("parking_type"), f("type")).alias("location_type"),
        f("time_zone"),
        f("operator").struct.field("name").alias("operator_name"),
        f("operator").struct.field("partner_id").alias("operator_id"),
        f("suboperator").struct.field("name").alias("suboperator_name"),
        f("owner").struct.field("name").alias("owner_name"),
        f("brand_name"),
        f("access_type"),
        f("administrative_areas").struct.field("municipality").alias("municipality"),
        f("administrative_areas").struct.field("state_province").alias("state_province"),
        f("facilities"),
        f("adhoc_authorisation_payment_method").list.eval(pl.element().struct.field("code"))
        .alias("payment_methods"),
        f("opening_times").struct.field("twentyfourseven").alias("twentyfourseven"),
        f("charging_when_closed"),
        f("evses").list.len().cast(pl.Int32).alias("evse_count"),
        f("evses").list.eval(pl.element().struct.field("connectors").list.len()).list.sum()
        .cast(pl.Int32).alias("connector_count"),
        f("last_updated"),
    )
    return conform(flat, LOCATIONS, keep=(ROW,))


def _evses(evse_rows: pl.LazyFrame) -> pl.LazyFrame:
    f = pl.col("evse").struct.field
    flat = evse_rows.select(
        ROW, "location_id",
        f("uid").alias("evse_uid"), f("evse_id"), f("status"), f("capabilities"), f("floor_level"),
        f("physical_reference"), f("parking_restrictions"),
        f("coordinates").struct.field("latitude").alias("latitude"),
        f("coordinates").struct.field("longitude").alias("longitude"),
        f("connectors").list.len().cast(pl.Int32).alias("connector_count"),
        f("last_updated"),
    )
    return conform(flat, EVSES, keep=(ROW,))


def _connectors(evse_rows: pl.LazyFrame) -> pl.LazyFrame:
    per_connector = explode_with_index(
        evse_rows.select(ROW, "location_id", pl.col("evse").struct.field("uid").alias("evse_uid"),
                         pl.col("evse").struct.field("connectors").alias("c")),
        "c", "_connector_index",
    )
    f = pl.col("c").struct.field
    single_tariff = pl.when(f("tariff_id").is_not_null()).then(pl.concat_list(f("tariff_id")))
    flat = per_connector.select(
        ROW, "location_id", "evse_uid",
        f("id").alias("connector_id"), f("standard"), f("format"), f("power_type"),
        pl.coalesce(f("voltage"), f("max_voltage")).alias("voltage"),
        pl.coalesce(f("amperage"), f("max_amperage")).alias("amperage"),
        f("max_power").alias("_max_power"),
        f("max_electric_power").alias("_max_electric_power"),
        pl.coalesce(f("tariff_ids"), single_tariff).alias("tariff_ids"),
        f("terms_and_conditions"),
        f("last_updated"),
    )
    typed = flat.with_columns(
        pl.col("_max_power").cast(pl.Float64, strict=False).alias("_mp"),
        (pl.col("_max_electric_power").cast(pl.Float64, strict=False) / 1000).alias("_mep"),
        (pl.col("voltage").cast(pl.Float64, strict=False)
         * pl.col("amperage").cast(pl.Float64, strict=False)
         * pl.col("power_type").replace_strict(PHASES, default=None, return_dtype=pl.Float64)
         / 1000).alias("_va"),
    ).with_columns(
        pl.coalesce("_mp", "_mep", "_va").alias("max_power_kw"),
        pl.when(pl.col("_mp").is_not_null()).then(pl.lit("max_power"))
        .when(pl.col("_mep").is_not_null()).then(pl.lit("max_electric_power"))
        .when(pl.col("_va").is_not_null()).then(pl.lit("voltage_amperage"))
        .alias("max_power_source"),
    ).with_columns(power_class_expr(pl.col("power_type"), pl.col("max_power_kw")).alias("power_class"))
    conformed = conform(typed, CONNECTORS, keep=(ROW, "_max_power", "_mp", "_max_electric_power", "_mep"))
    # max_power / max_electric_power feed a derived column, so an unreadable value must not vanish.
    return conformed.with_columns(
        pl.coalesce(
            pl.col("_reject"),
            pl.when(pl.col("_max_power").is_not_null() & pl.col("_mp").is_null())
            .then(pl.format("invalid max_power: {}", pl.col("_max_power"))),
            pl.when(pl.col("_max_electric_power").is_not_null() & pl.col("_mep").is_null())
            .then(pl.format("invalid max_electric_power: {}", pl.col("_max_electric_power"))),
        ).alias("_reject")
    ).drop("_max_power", "_mp", "_max_electric_power", "_mep")


def power_class_expr(power_type: pl.Expr, max_power_kw: pl.Expr) -> pl.Expr:
    """AC for AC power types, DC below 150 kW, HPC for DC at 150 kW or more; null when unknown."""
    return (
        pl.when(power_type.str.starts_with("AC_")).then(pl.lit("AC"))
        .when((power_type == "DC") & (max_power_kw >= HPC_THRESHOLD_KW)).then(pl.lit("HPC"))
        .when((power_type == "DC") & (max_power_kw < HPC_THRESHOLD_KW)).then(pl.lit("DC"))
    )
