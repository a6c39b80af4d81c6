"""One declaration per flat table: columns with dtypes and meaning, and the key.

This is the single source of truth for the tables ecodata writes (``tables/write.py`` is the only
writer), the data dictionary in the README, and the DuckDB views. Every table partition carries an
implicit ``snapshot_date`` (hive partition column) that is not stored in the files.

Money is exact: polars ``Decimal``, never binary float. Physical quantities used in tariff
restrictions (kWh, kW, A) are exact decimals too, because the pricing engine compares them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ecodata.restrictions import RESTRICTION_FIELDS, Kind

# Exact money and quantity types, declared once.
PRICE = pl.Decimal(18, 6)          # a unit price or amount as the API gives it (excl. VAT)
PRICE_INCL = pl.Decimal(30, 12)    # excl * (1 + vat/100), computed exactly
VAT = pl.Decimal(9, 4)             # a VAT percentage, e.g. 19 or 8.1
QUANTITY = pl.Decimal(18, 6)       # kWh, kW or A bounds in restrictions
UTC_TS = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    """One column: name, polars dtype, one-line meaning."""

    name: str
    dtype: pl.DataType
    doc: str


@dataclass(frozen=True)
class Reference:
    """A relation: ``columns`` of a table point at the key ``target_columns`` of ``target``.

    A list column (``connectors.tariff_ids``) points with each of its items. The real API has
    rows pointing at nothing (orphans): they are kept, counted by ``tables.checks.count_orphans``
    and listed by the ``*_orphans`` views, never dropped.
    """

    columns: tuple[str, ...]
    target: str
    target_columns: tuple[str, ...] = ()

    @property
    def to(self) -> tuple[str, ...]:
        """The target's columns matched (the same names as ``columns`` unless given)."""
        return self.target_columns or self.columns

    def name(self, table: str) -> str:
        """How reports name the check: ``evses->locations``, ``connectors.tariff_ids->tariffs``."""
        if self.to == self.columns:
            return f"{table}->{self.target}"
        return f"{table}.{','.join(self.columns)}->{self.target}"


@dataclass(frozen=True)
class TableSchema:
    """A flat table: its columns in order, its key, what one row is, and what it points at."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, dtype: pl.DataType, doc: str) -> Column:
    return Column(name, dtype, doc)


_S = pl.String()
_LS = pl.List(pl.String())


# The Polars dtype of each kind of restriction field (``ecodata.restrictions`` declares the fields).
_RESTRICTION_DTYPES: dict[Kind, pl.DataType] = {
    "time": pl.Time(), "date": pl.Date(), "quantity": QUANTITY, "seconds": pl.Int64(),
    "weekdays": _LS, "reservation": _S, "price": PRICE,
}


def _restriction_columns() -> tuple[Column, ...]:
    """Every declared restriction field as a typed column, plus the restriction object as JSON."""
    return (
        *(_c(f.column, _RESTRICTION_DTYPES[f.kind], f.doc) for f in RESTRICTION_FIELDS),
        _c("restrictions_json", _S, "the restriction object as read (JSON of the known OCPI and Eco-Movement keys, values as text); null when nothing is restricted; the raw snapshot keeps the record verbatim, unknown keys included"),
    )


def _component_columns(parent: str) -> tuple[Column, ...]:
    taxed = "" if parent == "price_id" else "; OCPI 2.3.0 tax_included YES: null (the price includes VAT, see price_incl_vat)"
    return (
        _c(parent, _S, f"the {parent.removesuffix('_id')} this component belongs to"),
        _c("element_index", pl.Int32(), "position of the element in the list (0-based; order decides precedence)"),
        _c("component_index", pl.Int32(), "position of the component within its element (0-based)"),
        _c("type", _S, "ENERGY (per kWh), TIME (per hour charging), PARKING_TIME (per hour not charging), FLAT (per session)"),
        _c("price_excl_vat", PRICE, "price per unit excl. VAT, in the price's currency" + taxed),
        _c("vat", VAT, "VAT percentage; null = not given (not the same as 0)"),
        _c("price_incl_vat", PRICE_INCL, "exact price_excl_vat * (1 + vat/100); null when vat is not given"
           + ("" if not taxed else "; 2.3.0: the price as given when tax_included is YES, = price_excl_vat when N/A")),
        _c("step_size", pl.Int32(), "billing step: Wh for ENERGY, seconds for TIME/PARKING_TIME, 1 for FLAT"),
    )


LOCATIONS = TableSchema(
    "locations",
    "One row per charging location (site), as published in the locations endpoint.",
    (
        _c("location_id", _S, "Eco-Movement location id (stable; changes only when locations merge)"),
        _c("api_version", _S, "OCPI version of the endpoint the record came from (2.1.1 or 2.2)"),
        _c("name", _S, "display name of the location"),
        _c("address", _S, "street and number"),
        _c("city", _S, "city"),
        _c("postal_code", _S, "postal code"),
        _c("state", _S, "state or province as given by OCPI 2.2 (null on 2.1.1)"),
        _c("country", _S, "ISO 3166-1 alpha-3 country code, e.g. DEU"),
        _c("country_code", _S, "ISO 3166-1 alpha-2 country code, e.g. DE (derived from country when absent)"),
        _c("party_id", _S, "OCPI party id of the publishing CPO (2.2)"),
        _c("latitude", pl.Float64(), "WGS84 latitude in degrees"),
        _c("longitude", pl.Float64(), "WGS84 longitude in degrees"),
        _c("location_type", _S, "2.1.1 type or 2.2 parking_type (ON_STREET, PARKING_LOT, ...)"),
        _c("time_zone", _S, "IANA time zone; tariff restrictions are in this local time"),
        _c("operator_name", _S, "charging operator (CPO) name"),
        _c("operator_id", _S, "Eco-Movement partner id of the operator"),
        _c("suboperator_name", _S, "sub-operator name"),
        _c("owner_name", _S, "owner name"),
        _c("brand_name", _S, "brand the location is marketed under"),
        _c("access_type", _S, "Public, Restricted or Private"),
        _c("municipality", _S, "administrative area: municipality"),
        _c("state_province", _S, "administrative area: state or province"),
        _c("facilities", _LS, "facilities nearby (OCPI Facility)"),
        _c("payment_methods", _LS, "ad hoc payment methods (codes), e.g. TERMINAL_CREDIT_CARD"),
        _c("twentyfourseven", pl.Boolean(), "open 24/7"),
        _c("charging_when_closed", pl.Boolean(), "charging possible when the location is closed"),
        _c("evse_count", pl.Int32(), "number of EVSEs at the location"),
        _c("connector_count", pl.Int32(), "number of connectors at the location"),
        _c("last_updated", UTC_TS, "when the location or a child EVSE/connector last changed"),
    ),
    ("location_id",),
)

EVSES = TableSchema(
    "evses",
    "One row per EVSE (charge point that charges one vehicle at a time).",
    (
        _c("location_id", _S, "location the EVSE belongs to"),
        _c("evse_uid", _S, "the CPO's EVSE uid (unique only within the location)"),
        _c("evse_id", _S, "eMI3 EVSE id, e.g. DE*ABC*E123*1 (not always present)"),
        _c("status", _S, "EVSE status (AVAILABLE, CHARGING, ...)"),
        _c("capabilities", _LS, "OCPI capabilities"),
        _c("floor_level", _S, "floor level"),
        _c("physical_reference", _S, "number or label printed on the EVSE"),
        _c("parking_restrictions", _LS, "parking restrictions (EV_ONLY, CUSTOMERS, ...)"),
        _c("latitude", pl.Float64(), "EVSE latitude when given, else null"),
        _c("longitude", pl.Float64(), "EVSE longitude when given, else null"),
        _c("connector_count", pl.Int32(), "number of connectors on the EVSE"),
        _c("last_updated", UTC_TS, "last change of the EVSE"),
    ),
    ("location_id", "evse_uid"),
    (Reference(("location_id",), "locations"),),
)

CONNECTORS = TableSchema(
    "connectors",
    "One row per connector, with its derived maximum power and power class.",
    (
        _c("location_id", _S, "location of the connector"),
        _c("evse_uid", _S, "EVSE of the connector"),
        _c("connector_id", _S, "connector id (unique only within the EVSE)"),
        _c("standard", _S, "plug standard, e.g. IEC_62196_T2, IEC_62196_T2_COMBO, CHADEMO"),
        _c("format", _S, "SOCKET or CABLE"),
        _c("power_type", _S, "AC_1_PHASE, AC_2_PHASE, AC_2_PHASE_SPLIT, AC_3_PHASE or DC"),
        _c("voltage", pl.Int32(), "voltage in V (2.2: max_voltage)"),
        _c("amperage", pl.Int32(), "current in A (2.2: max_amperage)"),
        _c("max_power_kw", pl.Float64(), "max power in kW: max_power, else max_electric_power/1000, else V x A x phases"),
        _c("max_power_source", _S, "which field max_power_kw came from: max_power, max_electric_power or voltage_amperage"),
        _c("power_class", _S, "AC for AC power types, DC for DC below 150 kW, HPC for DC at 150 kW or more"),
        _c("tariff_ids", _LS, "ids of OCPI tariffs (tariffs endpoint) that apply"),
        _c("terms_and_conditions", _S, "URL of the terms and conditions"),
        _c("last_updated", UTC_TS, "last change of the connector"),
    ),
    ("location_id", "evse_uid", "connector_id"),
    (Reference(("tariff_ids",), "tariffs", ("tariff_id",)),),
)

CONNECTOR_PRICES = TableSchema(
    "connector_prices",
    "One row per connector and pricing id: which prices (ad hoc and MSP) apply to which connector.",
    (
        _c("location_id", _S, "location of the connector"),
        _c("evse_uid", _S, "EVSE of the connector"),
        _c("connector_id", _S, "connector id"),
        _c("price_id", _S, "id of a record in prices"),
        _c("price_index", pl.Int32(), "position of the id in the record's pricing_ids"),
        _c("product_id", _S, "product id at the same position in product_ids, when given"),
    ),
    ("location_id", "evse_uid", "connector_id", "price_id"),
    (Reference(("location_id", "evse_uid", "connector_id"), "connectors"), Reference(("price_id",), "prices")),
)

PRICES = TableSchema(
    "prices",
    "One row per price record: a product of a partner (CPO ad hoc, MSP, subscription).",
    (
        _c("price_id", _S, "price id (regenerated whenever the price or its product changes)"),
        _c("partner", _S, "owner of the payment product: the MSP, or the CPO for ad hoc prices"),
        _c("partner_id", _S, "partner id"),
        _c("product_id", _S, "product id"),
        _c("product_name", _S, "product name"),
        _c("product_description", _S, "product description"),
        _c("product_type", _S, "adhoc, msp or cpo_subscription (open enum)"),
        _c("subscription_type", _S, "month, yearly, one-off or n/a (open enum)"),
        _c("subscription_fee_excl_vat", PRICE, "subscription fee per subscription period, excl. VAT"),
        _c("currency", _S, "ISO 4217 currency of every amount in the price"),
        _c("element_count", pl.Int32(), "number of price elements"),
        _c("last_updated", UTC_TS, "last change of the price"),
    ),
    ("price_id",),
)

PRICE_ELEMENTS = TableSchema(
    "price_elements",
    "One row per element of a price, with every restriction as a typed column.",
    (
        _c("price_id", _S, "the price this element belongs to"),
        _c("element_index", pl.Int32(), "position of the element (0-based; order decides precedence)"),
        _c("component_count", pl.Int32(), "number of price components in the element"),
        *_restriction_columns(),
    ),
    ("price_id", "element_index"),
)

PRICE_COMPONENTS = TableSchema(
    "price_components",
    "One row per price component of a price element.",
    _component_columns("price_id"),
    ("price_id", "element_index", "component_index"),
)

TARIFFS = TableSchema(
    "tariffs",
    "One row per raw OCPI tariff from the tariffs endpoint.",
    (
        _c("tariff_id", _S, "tariff id (connectors.tariff_ids points here)"),
        _c("country_code", _S, "country of the CPO (2.2)"),
        _c("party_id", _S, "party id of the CPO (2.2)"),
        _c("currency", _S, "ISO 4217 currency"),
        _c("type", _S, "OCPI 2.2 TariffType (AD_HOC_PAYMENT, REGULAR, ...), null = any session"),
        _c("tariff_alt_text", _S, "first alternative text of the tariff"),
        _c("tariff_alt_url", _S, "URL with a human-readable tariff"),
        _c("min_price_excl_vat", PRICE, "minimum session cost excl. VAT (2.3.0: PriceLimit before_taxes)"),
        _c("min_price_incl_vat", PRICE, "minimum session cost incl. VAT (2.3.0: after_taxes)"),
        _c("max_price_excl_vat", PRICE, "maximum session cost excl. VAT (2.3.0: before_taxes)"),
        _c("max_price_incl_vat", PRICE, "maximum session cost incl. VAT"),
        _c("tax_included", _S, "OCPI 2.3.0: YES = component prices include their VAT, NO = they exclude it, N/A = no taxes apply; null before 2.3.0 (prices exclude VAT)"),
        _c("start_date_time", UTC_TS, "tariff valid from (UTC)"),
        _c("end_date_time", UTC_TS, "tariff valid until (UTC)"),
        _c("element_count", pl.Int32(), "number of tariff elements"),
        _c("last_updated", UTC_TS, "last change of the tariff"),
    ),
    ("tariff_id",),
)

TARIFF_ELEMENTS = TableSchema(
    "tariff_elements",
    "One row per element of an OCPI tariff (restrictions given as an object or as a list).",
    (
        _c("tariff_id", _S, "the tariff this element belongs to"),
        _c("element_index", pl.Int32(), "position of the element (0-based)"),
        _c("component_count", pl.Int32(), "number of price components in the element"),
        *_restriction_columns(),
    ),
    ("tariff_id", "element_index"),
)

TARIFF_COMPONENTS = TableSchema(
    "tariff_components",
    "One row per price component of an OCPI tariff element.",
    _component_columns("tariff_id"),
    ("tariff_id", "element_index", "component_index"),
)

REJECTS = TableSchema(
    "rejects",
    "Records that did not fit a table's schema or key, with the reason; nothing is dropped silently.",
    (
        _c("endpoint", _S, "raw endpoint the record came from"),
        _c("table_name", _S, "table it was meant for"),
        _c("record_key", _S, "natural key of the record, as far as it could be read"),
        _c("reason", _S, "why it was rejected"),
        _c("record_json", _S, "the raw record JSON"),
    ),
    ("endpoint", "table_name", "record_key", "reason"),
)

# The money columns of a session cost, declared once: the stored session_price_costs and the
# session_costs view share them.
_SESSION_COST_VALUES: tuple[Column, ...] = (
    _c("currency", _S, "currency of the local amounts"),
    _c("energy_kwh", QUANTITY, "energy delivered in the session"),
    _c("charging_power_kw", QUANTITY, "charging power used: the session's power capped by the connector's"),
    _c("total_excl_vat", PRICE_INCL, "session cost excl. VAT, local currency, after min/max price"),
    _c("total_incl_vat", PRICE_INCL, "session cost incl. VAT, local currency, after min/max price"),
    _c("energy_cost_excl_vat", PRICE_INCL, "energy part excl. VAT (parts are rounded separately)"),
    _c("time_cost_excl_vat", PRICE_INCL, "charging-time part excl. VAT"),
    _c("parking_cost_excl_vat", PRICE_INCL, "parking-time part excl. VAT"),
    _c("flat_cost_excl_vat", PRICE_INCL, "flat (per-session) part excl. VAT"),
    _c("reservation_cost_excl_vat", PRICE_INCL, "reservation part excl. VAT (reservation fee and reserved time; 0 without a reservation)"),
    _c("energy_cost_incl_vat", PRICE_INCL, "energy part incl. VAT"),
    _c("time_cost_incl_vat", PRICE_INCL, "charging-time part incl. VAT"),
    _c("parking_cost_incl_vat", PRICE_INCL, "parking-time part incl. VAT"),
    _c("flat_cost_incl_vat", PRICE_INCL, "flat (per-session) part incl. VAT"),
    _c("reservation_cost_incl_vat", PRICE_INCL, "reservation part incl. VAT"),
    _c("subscription_fee_per_session_incl_vat", PRICE_INCL, "monthly subscription fee incl. VAT amortised over the stated kWh per month"),
    _c("total_eur_excl_vat", PRICE_INCL, "total_excl_vat in EUR at the snapshot date's reference rate"),
    _c("total_eur_incl_vat", PRICE_INCL, "total_incl_vat in EUR"),
    _c("total_eur_incl_vat_with_subscription", PRICE_INCL, "total_eur_incl_vat plus the amortised subscription fee in EUR"),
)

# The columns that make two connectors the same "kind" for the pricing engine: a kind and a session
# give one profile (capped power and current, time zone).
KIND_COLUMNS = ["power_class", "max_power_kw", "amperage", "time_zone", "power_type"]

SESSION_PRICE_COSTS = TableSchema(
    "session_price_costs",
    "The cost of each reference session for every distinct (price, profile) some connector uses: the "
    "pricing engine's result, stored once per price and profile instead of once per connector (the "
    "session_costs view joins it to the connectors).",
    (
        _c("price_id", _S, "price record"),
        _c("session", _S, "reference session id, e.g. HPC_10_80"),
        _c("profile", _S, "how the session runs: the stable id of its shape, e.g. 7400W_32000mA@Europe/Berlin "
           "(capped power, current or ? when unknown, time zone; vehicle sessions "
           "cap<W>_dc|ac_<amps per kW>A-per-kW@<zone>); session_profiles says which connectors get it"),
        *_SESSION_COST_VALUES,
    ),
    ("price_id", "session", "profile"),
)

SESSION_PROFILES = TableSchema(
    "session_profiles",
    "Which profile each kind of connector (power class, max power, amperage, time zone of its location, "
    "power type) gets for each reference session it fits; a kind absent for a session does not fit it.",
    (
        _c("session", _S, "reference session id"),
        _c("power_class", _S, "connectors.power_class"),
        _c("max_power_kw", pl.Float64(), "connectors.max_power_kw"),
        _c("amperage", pl.Int32(), "connectors.amperage"),
        _c("time_zone", _S, "locations.time_zone of the connector's location (null: none given, priced in UTC)"),
        _c("power_type", _S, "connectors.power_type"),
        _c("profile", _S, "session_price_costs.profile the kind runs the session with"),
    ),
    ("session", *KIND_COLUMNS),
)

PRICE_HOUR_COSTS = TableSchema(
    "price_hour_costs",
    "The cost of the reference session of each power class (the first plain session fitting it, e.g. "
    "AC_SHOP, DC50_20_80, HPC_10_80) started at each whole hour of the week that begins on the snapshot "
    "date, per distinct (price, profile) some connector uses: 168 rows for a price with time-of-day, "
    "weekday or date restrictions, one row with day_of_week and hour null for any other price (its cost "
    "is the same at every start; the price_by_hour views repeat it).",
    (
        _c("price_id", _S, "price record"),
        _c("session", _S, "reference session id, e.g. HPC_10_80"),
        _c("profile", _S, "session_price_costs.profile: how the session runs on the connectors that get it"),
        _c("day_of_week", _S, "weekday the session starts on (MONDAY ... SUNDAY, local time; its date is the "
           "first on or after the snapshot date); null: the same cost on every day"),
        _c("hour", pl.Int32(), "local hour the session starts at (0-23, on the hour); null: the same cost at every hour"),
        _c("currency", _S, "currency of the local amounts"),
        _c("energy_kwh", QUANTITY, "energy delivered in the session"),
        _c("total_excl_vat", PRICE_INCL, "session cost excl. VAT, local currency, after min/max price"),
        _c("total_incl_vat", PRICE_INCL, "session cost incl. VAT, local currency, after min/max price"),
        _c("total_eur_excl_vat", PRICE_INCL, "total_excl_vat in EUR at the snapshot date's reference rate"),
        _c("total_eur_incl_vat", PRICE_INCL, "total_incl_vat in EUR"),
    ),
    ("price_id", "session", "profile", "day_of_week", "hour"),
)

SESSION_COSTS = TableSchema(
    "session_costs",
    "A view, not stored: the cost of each reference session for every (connector, price) pair the session "
    "fits (connector_prices x connectors x locations x session_profiles x session_price_costs).",
    (
        _c("location_id", _S, "location of the connector"),
        _c("evse_uid", _S, "EVSE of the connector"),
        _c("connector_id", _S, "connector id"),
        _c("price_id", _S, "price record"),
        _c("session", _S, "reference session id, e.g. HPC_10_80"),
        *_SESSION_COST_VALUES,
    ),
    ("location_id", "evse_uid", "connector_id", "price_id", "session"),
)
"""Declared for the ``session_costs`` view (and for the old stored table ``ecodata migrate`` converts)."""

PRICE_BY_HOUR = TableSchema(
    "price_by_hour",
    "A view, not stored: price_hour_costs for every (connector, price) pair the session fits, 168 rows per pair "
    "(the rows of a price without time restrictions repeated for every hour), joined as session_costs is.",
    (
        _c("location_id", _S, "location of the connector"),
        _c("evse_uid", _S, "EVSE of the connector"),
        _c("connector_id", _S, "connector id"),
        _c("price_id", _S, "price record"),
        _c("session", _S, "the power class's reference session, e.g. HPC_10_80"),
        _c("day_of_week", _S, "weekday the session starts on (MONDAY ... SUNDAY, local time)"),
        _c("hour", pl.Int32(), "local hour the session starts at (0-23)"),
        _c("time_restricted", pl.Boolean(), "the price has time-of-day, weekday or date restrictions (priced at "
           "this start); false: its one cost, the same at every start"),
        _c("currency", _S, "currency of the local amounts"),
        _c("energy_kwh", QUANTITY, "energy delivered in the session"),
        _c("total_excl_vat", PRICE_INCL, "session cost excl. VAT, local currency, after min/max price"),
        _c("total_incl_vat", PRICE_INCL, "session cost incl. VAT, local currency, after min/max price"),
        _c("total_eur_excl_vat", PRICE_INCL, "total_excl_vat in EUR at the snapshot date's reference rate"),
        _c("total_eur_incl_vat", PRICE_INCL, "total_incl_vat in EUR"),
        _c("eur_per_kwh_incl_vat", pl.Float64(), "total_eur_incl_vat / energy_kwh, rounded to 6 decimals (a ratio "
           "for comparison; the exact amounts are the totals)"),
        _c("country_code", _S, "locations.country_code of the connector's location"),
        _c("power_class", _S, "connectors.power_class"),
        _c("partner", _S, "prices.partner"),
        _c("product_type", _S, "prices.product_type"),
    ),
    ("location_id", "evse_uid", "connector_id", "price_id", "session", "day_of_week", "hour"),
)
"""Declared for the ``price_by_hour`` view (the data dictionary lists it; the view tests check its columns)."""

ALL_TABLES: dict[str, TableSchema] = {
    t.name: t
    for t in (
        LOCATIONS, EVSES, CONNECTORS, CONNECTOR_PRICES, PRICES, PRICE_ELEMENTS, PRICE_COMPONENTS,
        TARIFFS, TARIFF_ELEMENTS, TARIFF_COMPONENTS, REJECTS, SESSION_PRICE_COSTS, SESSION_PROFILES,
        PRICE_HOUR_COSTS,
    )
}
"""The stored tables (each with a history)."""

VIEW_TABLES: dict[str, TableSchema] = {SESSION_COSTS.name: SESSION_COSTS, PRICE_BY_HOUR.name: PRICE_BY_HOUR}
"""Tables that are views over the stored ones, declared like them (the data dictionary lists them)."""

RETIRED_TABLES: dict[str, TableSchema] = {SESSION_COSTS.name: SESSION_COSTS}
"""Tables older versions of ecodata stored that are now computed (``ecodata migrate`` converts them)."""
