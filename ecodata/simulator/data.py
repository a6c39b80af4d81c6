"""The ground truth: a deterministic dataset for (scale, seed, day), rendered record by record.

Nothing endpoint-sized is held in memory. At start-up the dataset draws each location's
*skeleton* (country, site class, operator, EVSE layout, pricing variant) into compact integer
arrays (a few bytes per location) and a running sum of connectors, so that any record of any
endpoint is produced in O(1) from its position. Record JSON is assembled from cached fragments
(operators, connector templates, price bodies), which is what makes serving fast.

Example::

    ds = SimulatedData(scale="demo", seed=0)
    ds.count("locations")                     # 1000
    ds.record("connector_prices", 0)          # {"location_id": ..., "pricing_ids": [...], ...}
    ds.totals()["connectors"]

The dataset evolves by day: on day d about 2 % of prices per day get a new id (price or product
change), ~0.5 % of locations per day disappear and as many new ones appear, and ~3 % of sites per
day get a new set of MSP prices.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from ecodata.errors import ConfigError
from ecodata.simulator._rng import Rng, compact, cumulative, key, mix, uuid_bytes, uuid_from
from ecodata.simulator.catalog import (
    AC,
    ADHOC,
    BASE_EPOCH,
    DAY_S,
    HPC,
    Catalog,
    timestamp,
    timestamp_b,
)
from ecodata.simulator.config import SCALE_PARAMS, SCALES

ENDPOINTS = ("locations", "connector_prices", "prices", "tariffs")
LOCATION_VERSIONS = ("2.1.1", "2.2")

T_SKEL, T_LOC, T_UID, T_DEATH, T_REPRICE, T_FLAV, T_LID, T_LMASK = range(200, 208)

# Site classes: on-street AC, semi-public AC, DC 50-149 kW, HPC >= 150 kW.
ON_STREET, SEMI_AC, DC_SITE, HPC_SITE = range(4)
_SITE_PRICE_CLASS = (AC, AC, 1, HPC)
_ACCESS = ("Public", "Restricted", "Private")
_ACCESS_CUM = (cumulative((0.95, 0.05, 0.0)), cumulative((0.12, 0.80, 0.08)),
               cumulative((0.90, 0.10, 0.0)), cumulative((0.98, 0.02, 0.0)))
_LTYPES = (b"ON_STREET", b"PARKING_LOT", b"PARKING_GARAGE", b"UNDERGROUND_GARAGE", b"OTHER")
_LTYPE_CUM = (cumulative((1, 0, 0, 0, 0)), cumulative((0, 0.5, 0.25, 0.15, 0.10)),
              cumulative((0.2, 0.7, 0, 0, 0.1)), cumulative((0, 0.8, 0, 0, 0.2)))
_INV8, _INV16, _INV24 = 2.0**-8, 2.0**-16, 2.0**-24
DEATH_RATE = 0.005  # share of locations removed per day (as many are added)
REPRICE_RATE = 0.03  # share of sites per day whose MSP price set changes

# Connector kinds: (standard, format, power_type, voltage, amperage, max power W, kW shown on 2.1.1)
_AC_POWERS = ((22000, 3, 32), (11000, 3, 16), (7400, 1, 32), (3700, 1, 16), (43000, 3, 63))
_AC_CUM = cumulative((0.45, 0.40, 0.10, 0.04, 0.01))
_AC_CUM_GB = cumulative((0.35, 0.30, 0.30, 0.04, 0.01))
_DC_POWERS = ((50000, 400, 125), (75000, 500, 150), (100000, 500, 200), (120000, 400, 300), (125000, 500, 250))
_DC_CUM = cumulative((0.55, 0.125, 0.125, 0.10, 0.10))
_HPC_POWERS = ((150000, 500, 300), (160000, 400, 400), (180000, 450, 400), (200000, 500, 400),
               (250000, 500, 500), (300000, 750, 400), (350000, 875, 400), (400000, 1000, 400))
_HPC_CUM = cumulative((0.20, 0.07, 0.07, 0.06, 0.20, 0.20, 0.10, 0.10))
# A second, domestic socket on AC EVSEs (Schuko, French type E, Italian type 3A): (connector, share of sites).
_DOMESTIC_F = ("DOMESTIC_F", "SOCKET", "AC_1_PHASE", 230, 16, 3700)
_SECOND_AC: dict[str, tuple[tuple[str, str, str, int, int, int], float]] = {
    **dict.fromkeys(("DE", "AT", "CH", "NL", "BE", "SE", "NO", "DK", "FI", "PL", "CZ"), (_DOMESTIC_F, 0.15)),
    "FR": (("DOMESTIC_E", "SOCKET", "AC_1_PHASE", 230, 16, 3700), 0.30),
    "IT": (("IEC_62196_T3A", "SOCKET", "AC_1_PHASE", 230, 16, 3700), 0.15),
}
_STATUS_TABLE = tuple(
    s.encode() for s, n in (("AVAILABLE", 160), ("CHARGING", 56), ("UNKNOWN", 16), ("OUTOFORDER", 8),
                   ("INOPERATIVE", 6), ("BLOCKED", 5), ("PLANNED", 3), ("RESERVED", 2)) for _ in range(n)
)
_FACILITIES = (
    (b"[]", b'["BUS_STOP"]', b"[]"),
    (b'["SUPERMARKET"]', b'["MALL"]', b'["HOTEL"]', b'["SPORT"]', b"[]", b'["RESTAURANT"]'),
    (b'["FUEL_STATION"]', b'["SUPERMARKET"]', b'["FUEL_STATION","CAFE"]'),
    (b'["RESTAURANT","WIFI"]', b'["FUEL_STATION","CAFE"]', b'["RECREATION_AREA","RESTAURANT","WIFI"]',
     b'["MALL"]'),
)
_HOURS_247 = b'{"twentyfourseven":true}'
_HOURS = (
    orjson.dumps({"twentyfourseven": False, "regular_hours": [
        {"weekday": d, "period_begin": "07:00", "period_end": "20:00"} for d in range(1, 6)]}),
    orjson.dumps({"twentyfourseven": False, "regular_hours": [
        {"weekday": d, "period_begin": "08:00", "period_end": "22:00"} for d in range(1, 7)]}),
    orjson.dumps({"twentyfourseven": False, "regular_hours": [
        {"weekday": d, "period_begin": "06:00", "period_end": "23:00"} for d in range(1, 8)]}),
)
_ENERGY_MIX = (
    orjson.dumps({"is_green_energy": True, "energy_sources": [{"source": "WIND", "percentage": 60},
                                                              {"source": "SOLAR", "percentage": 40}],
                  "supplier_name": "Groenstroom", "energy_product_name": "100% NL wind"}),
    orjson.dumps({"is_green_energy": False, "energy_sources": [
        {"source": "GENERAL_GREEN", "percentage": 45}, {"source": "GAS", "percentage": 30},
        {"source": "COAL", "percentage": 15}, {"source": "NUCLEAR", "percentage": 10}],
        "environ_impact": [{"source": "CARBON_DIOXIDE", "amount": 310}]}),
    orjson.dumps({"is_green_energy": True, "energy_sources": [{"source": "WATER", "percentage": 100}]}),
)
_PAYMENT = (
    b"[]",
    b'[{"code":"TERMINAL_CREDIT_CARD","description":""}]',
    b'[{"code":"TERMINAL_CREDIT_CARD","description":""},{"code":"QR_CODE_WEBPAGE","description":""}]',
    b'[{"code":"QR_CODE_WEBPAGE","description":""}]',
)
_CAPS = (b'["RFID_READER","REMOTE_START_STOP_CAPABLE"]',
         b'["CREDIT_CARD_PAYABLE","RFID_READER","REMOTE_START_STOP_CAPABLE"]')
_PARKING_TYPE = {b"ON_STREET": b"ON_STREET", b"PARKING_LOT": b"PARKING_LOT", b"PARKING_GARAGE": b"PARKING_GARAGE",
                 b"UNDERGROUND_GARAGE": b"UNDERGROUND_GARAGE"}
_ACCESS_B = tuple(a.encode() for a in _ACCESS)
_CONNECTOR_ID = tuple(b'","connector_id":"%d",' % i for i in range(1, 10))


@dataclass(frozen=True, slots=True)
class _Place:
    """A country's JSON fragments for rendering locations (escaped once)."""

    code2: bytes
    code3: bytes
    tz: bytes
    number_first: bool
    cities: tuple[tuple[bytes, bytes, bytes, float, float], ...]  # (city JSON, state JSON, city raw, lat, lon)
    streets: tuple[bytes, ...]  # escaped, without quotes


def _raw(text: str) -> bytes:
    """``text`` escaped as orjson would, without the surrounding quotes."""
    return orjson.dumps(text)[1:-1]


def _conn(standard: str, fmt: str, ptype: str, volt: int, amp: int, watts: int) -> tuple[str, str, str, int, int, int]:
    return (standard, fmt, ptype, volt, amp, watts)


def _ac_conn(power: tuple[int, int, int], cable: bool) -> tuple[str, str, str, int, int, int]:
    watts, phases, amps = power
    return _conn("IEC_62196_T2", "CABLE" if cable or watts == 43000 else "SOCKET",
                 "AC_3_PHASE" if phases == 3 else "AC_1_PHASE", 230, amps, watts)


class SimulatedData:
    """Deterministic simulated Eco-Movement data for (scale, seed, day); see the module docstring."""

    def __init__(self, scale: str = "demo", seed: int = 0, day: int = 0) -> None:
        if scale not in SCALES:
            raise ConfigError(f"unknown scale {scale!r}: use one of {', '.join(SCALES)}")
        self.scale, self.seed, self.day = scale, seed, day
        self.params = SCALE_PARAMS[scale]
        self.catalog = Catalog(self.params, seed, day)
        self.now_epoch = BASE_EPOCH + day * DAY_S
        self.timestamp = timestamp(self.now_epoch)[:-1]  # envelope timestamp, without Z (as the API)
        self._lmask = key(seed, T_LMASK) & 0xFFFFFFFFFFFF
        self._layouts: list[tuple[int, tuple[tuple[str, str, str, int, int, int], ...]]] = []
        self._layout_index: dict[tuple[int, ...], int] = {}
        self._layout_memo: dict[tuple[Any, ...], int] = {}
        self._skel_base = key(seed, T_SKEL)
        self._lid_base, self._uid_base, self._loc_base = key(seed, T_LID), key(seed, T_UID), key(seed, T_LOC)
        self._conn_cache: dict[tuple[Any, ...], list[bytes]] = {}
        self._places = [
            _Place(c.code2.encode(), c.code3.encode(), orjson.dumps(c.time_zone), c.street_number_first,
                   tuple((orjson.dumps(city), orjson.dumps(state), _raw(city), lat, lon)
                         for city, state, lat, lon in c.cities),
                   tuple(_raw(st) for st in c.streets))
            for c in self.catalog.countries
        ]
        self._cc_b = [c.code2.encode() for c in self.catalog.countries]
        self._build_sites()
        adhoc = [i for i, s in enumerate(self.catalog.specs)
                 if s[0] == ADHOC and self.catalog.cpos[s[1]].publishes_tariffs]
        self._tariff_pos = array("I", adhoc)

    # ------------------------------------------------------------------ skeletons
    def _layout(self, sc: int, n_evse: int, conns: tuple[tuple[str, str, str, int, int, int], ...]) -> int:
        lk = (sc, n_evse, *[hash(c) for c in conns])
        idx = self._layout_index.get(lk)
        if idx is None:
            idx = self._layout_index[lk] = len(self._layouts)
            self._layouts.append((n_evse, conns))
        return idx

    def _skeleton(self, slot: int) -> tuple[int, int, int, int, int, int, int]:
        """(country, site class, cpo, access, location type, layout, ad hoc variant) of a slot.

        Three 64-bit draws are sliced into fields (16 bits for a share, 8 bits for a coin), which
        keeps start-up at a few microseconds per location.
        """
        cat = self.catalog
        z1 = mix(self._skel_base ^ slot)
        z2 = mix(z1)
        z3 = mix(z2)
        ccum = cat.country_cum
        ci = bisect_right(ccum, (z1 & 0xFFFF) * _INV16 * ccum[-1])
        scum = self._site_cum[ci]
        sc = bisect_right(scum, ((z1 >> 16) & 0xFFFF) * _INV16 * scum[-1])
        pool, cum = cat.cpo_pool[ci][_SITE_PRICE_CLASS[sc]]
        cpo = pool[bisect_right(cum, ((z1 >> 32) & 0xFFFFFF) * _INV24 * cum[-1])]
        acum = _ACCESS_CUM[sc]
        access = bisect_right(acum, (z1 >> 56) * _INV8 * acum[-1])
        lcum = _LTYPE_CUM[sc]
        ltype = bisect_right(lcum, (z2 & 0xFF) * _INV8 * lcum[-1])
        tesla = cat.cpos[cpo].kind == "tesla"
        u_n = ((z2 >> 8) & 0xFFFF) * _INV16
        if sc == ON_STREET:
            n = 1 if u_n < 0.4 else 2
        elif sc == SEMI_AC:
            n = min(12, 2 + _geometric(u_n, 2.0))
        elif sc == DC_SITE:
            n = 1 if u_n < 0.5 else 2
        else:
            n = 8 + int(u_n * 13) if tesla else min(24, 4 + _geometric(u_n, 4.0))
        u_p = ((z2 >> 24) & 0xFFFF) * _INV16
        code2 = cat.countries[ci].code2
        if sc <= SEMI_AC:
            pcum = _AC_CUM_GB if code2 == "GB" else _AC_CUM
            second = _SECOND_AC.get(code2)
            extras = (((z2 >> 40) & 0xFF) < 31, second is not None and ((z2 >> 48) & 0xFF) * _INV8 < second[1])
        elif sc == DC_SITE:
            pcum = _DC_CUM
            extras = ((z3 & 0xFF) < 102, ((z3 >> 8) & 0xFF) < 51)  # CHAdeMO on 40 %, T2 43 kW cable on 20 %
        else:
            pcum = _HPC_CUM
            extras = (not tesla and ((z3 >> 16) & 0xFF) < 13, tesla)  # CHAdeMO on 5 %
        p_idx = bisect_right(pcum, u_p * pcum[-1])
        lk = (sc, n, p_idx, *extras, code2 if sc <= SEMI_AC else "")
        layout = self._layout_memo.get(lk)
        if layout is None:
            layout = self._layout_memo[lk] = self._layout(sc, n, _connectors_of(sc, p_idx, extras, code2))
        variant = (z3 >> 24) % self.params.adhoc_variants
        return ci, sc, cpo, access, ltype, layout, variant

    def _build_sites(self) -> None:
        cat = self.catalog
        self._site_cum = []
        for c in cat.countries:
            rest = 1.0 - c.ac_share
            self._site_cum.append(cumulative((c.ac_share * 0.388 / 1.6, c.ac_share * 0.612 / 4.0,
                                              rest * 7 / 18 / 1.5, rest * 11 / 18 / 8.0)))
        n0 = self.params.locations
        births = round(n0 * DEATH_RATE)
        day = self.day
        slots = array("q")
        born_day = array("H")
        for s in range(n0 + day * births):
            born = 0 if s < n0 else 1 + (s - n0) // births
            if day:
                death = born + Rng(key(self.seed, T_DEATH, s)).geometric_day(DEATH_RATE)
                if death <= day:
                    continue
            slots.append(s)
            born_day.append(born)
        self._slots = slots
        self._born = born_day
        n = len(slots)
        self._country = array("B", bytes(n))
        self._site = array("B", bytes(n))
        self._cpo = array("H", [0]) * n
        self._access = array("B", bytes(n))
        self._ltype = array("B", bytes(n))
        self._layout_of = array("I", [0]) * n
        self._variant = array("B", bytes(n))
        self._adhoc = array("I", [0]) * n  # catalog index of the site's ad hoc price
        self._draw = array("I", [0]) * n
        self._conn_cum = array("q", [0]) * n
        total_conn = total_evse = 0
        for pos, s in enumerate(slots):
            ci, sc, cpo, access, ltype, layout, variant = self._skeleton(s)
            self._country[pos], self._site[pos], self._cpo[pos] = ci, sc, cpo
            self._access[pos], self._ltype[pos] = access, ltype
            self._layout_of[pos], self._variant[pos] = layout, variant
            self._adhoc[pos] = cat.adhoc_base[(cpo, ci, _SITE_PRICE_CLASS[sc])] + variant
            gen = 0
            if day > born_day[pos]:
                rng = Rng(key(self.seed, T_REPRICE, s))
                d = born_day[pos] + rng.geometric_day(REPRICE_RATE)
                while d <= day:
                    gen += 1
                    d += rng.geometric_day(REPRICE_RATE)
            self._draw[pos] = key(self.seed, T_FLAV, s, gen) & 0xFFFFFFFF
            n_evse, conns = self._layouts[layout]
            total_evse += n_evse
            total_conn += n_evse * len(conns)
            self._conn_cum[pos] = total_conn
        self._n_evse = total_evse

    # ------------------------------------------------------------------ counts
    def count(self, endpoint: str) -> int:
        """Number of records the endpoint serves (X-Total-Count without faults)."""
        if endpoint == "locations":
            return len(self._slots)
        if endpoint == "connector_prices":
            return self._conn_cum[-1] if len(self._conn_cum) else 0
        if endpoint == "prices":
            return len(self.catalog.specs)
        if endpoint == "tariffs":
            return len(self._tariff_pos)
        raise ConfigError(f"unknown endpoint {endpoint!r}: use one of {', '.join(ENDPOINTS)}")

    # ------------------------------------------------------------------ ids
    def location_id_bytes(self, pos: int) -> bytes:
        s = self._slots[pos]
        return uuid_bytes(mix(self._lid_base ^ s), s ^ self._lmask)

    def location_id(self, pos: int) -> str:
        s = self._slots[pos]
        return uuid_from(mix(self._lid_base ^ s), s ^ self._lmask)

    def location_position(self, location_id: str) -> int | None:
        """Position of a location id of this day, or None."""
        try:
            s = int(location_id[-12:], 16) ^ self._lmask
        except ValueError:
            return None
        pos = bisect_left(self._slots, s)
        if pos < len(self._slots) and self._slots[pos] == s and self.location_id(pos) == location_id:
            return pos
        return None

    def price_position(self, price_id: str) -> int | None:
        return self.catalog.price_index(price_id)

    def connector_range(self, pos: int) -> tuple[int, int]:
        """connector_prices positions [start, stop) of the location at ``pos``."""
        return (self._conn_cum[pos - 1] if pos else 0), self._conn_cum[pos]

    # ------------------------------------------------------------------ rendering
    def _evse_ids(self, pos: int, n_evse: int) -> list[tuple[bytes, bytes | None]]:
        """(uid, evse_id or None) per EVSE of a location; uids are unique within the location only."""
        k = mix(self._uid_base ^ self._slots[pos])
        prefix = b"%s*%s*E%d*" % (self._cc_b[self._country[pos]], self.catalog.cpos[self._cpo[pos]].party_b,
                                  1000000 + k % 8000000)
        with_emi3 = (k >> 40) % 100 < 85
        numeric = b"%d" % (1000000 + k % 8000000) if (k >> 48) % 100 < 30 else b""
        out = []
        for e in range(1, n_evse + 1):
            evse_id = prefix + b"%d" % e
            out.append((numeric + b"%02d" % e if numeric else evse_id, evse_id if with_emi3 else None))
        return out

    def _pricing(self, pos: int) -> list[int]:
        """Catalog indices on the site's connectors: its ad hoc price first, then K MSP prices."""
        return self.catalog.pricing_set(self._cpo[pos], self._country[pos], _SITE_PRICE_CLASS[self._site[pos]],
                                        self._variant[pos], self._access[pos] != 0, self._draw[pos])

    def _adhoc_index(self, pos: int) -> int:
        return self._adhoc[pos]

    def _connectors(self, layout: int, version: str, tariff: str | None, no_power: bool, ts: bytes) -> bytes:
        """The connectors JSON of one EVSE: cached templates per layout, with tariff and timestamp filled in."""
        ck = (layout, version, no_power)
        parts = self._conn_cache.get(ck)
        if parts is None:
            _, conns = self._layouts[layout]
            parts = []
            for i, (standard, fmt, ptype, volt, amp, watts) in enumerate(conns, start=1):
                d: dict[str, Any] = {"id": str(i), "standard": standard, "format": fmt, "power_type": ptype}
                if version == "2.1.1":
                    d["voltage"], d["amperage"] = volt, amp
                    if not no_power:
                        d["max_power"] = round(watts / 1000)
                else:
                    d["max_voltage"], d["max_amperage"] = volt, amp
                    if not no_power:
                        d["max_electric_power"] = watts
                parts.append(compact(orjson.dumps(d)[:-1]))
            self._conn_cache[ck] = parts  # bounded by the number of layouts
        if version == "2.1.1":
            tail = b',"tariff_id":"%s","last_updated":"%s"}' % (tariff.encode(), ts) if tariff else \
                b',"last_updated":"%s"}' % ts
        else:
            tail = b',"tariff_ids":["%s"],"last_updated":"%s"}' % (tariff.encode(), ts) if tariff else \
                b',"tariff_ids":[],"last_updated":"%s"}' % ts
        if len(parts) == 1:
            return parts[0] + tail
        return b",".join([p + tail for p in parts])

    def location_bytes(self, pos: int, version: str = "2.1.1") -> bytes:
        """The JSON of the location at ``pos``, as served on the 2.1.1 or 2.2 locations route.

        Hot path: a few 64-bit draws sliced into fields, cached JSON fragments, one join.
        """
        cat = self.catalog
        s = self._slots[pos]
        ci, sc, cpo_i, access = self._country[pos], self._site[pos], self._cpo[pos], self._access[pos]
        cpo = cat.cpos[cpo_i]
        place = self._places[ci]
        z1 = mix(self._loc_base ^ s)
        flags = mix(z1)
        statuses = mix(flags)
        jcity, jstate, city_raw, lat0, lon0 = place.cities[z1 % len(place.cities)]
        lat = lat0 + (((z1 >> 8) & 0xFFFF) * _INV16 - 0.5) * 0.24
        lon = lon0 + (((z1 >> 24) & 0xFFFF) * _INV16 - 0.5) * 0.36
        street = place.streets[(z1 >> 40) % len(place.streets)]
        number = 1 + (z1 >> 48) % 180
        jaddr = b'"%d %s"' % (number, street) if place.number_first else b'"%s %d"' % (street, number)
        jname = b'"%s %s"' % (cpo.short_raw if flags & 1 else city_raw, street)
        jpostal = _postal(statuses >> 32, place.code2)
        born = self._born[pos]
        if born:
            epoch = BASE_EPOCH + (born - 1) * DAY_S + (flags >> 8) % 36000
        else:
            epoch = BASE_EPOCH - DAY_S - (flags >> 8) % (400 * DAY_S)
        ts = timestamp_b(epoch)
        layout = self._layout_of[pos]
        n_evse = self._layouts[layout][0]
        conn_json = self._connectors(layout, version, cat.tariff_id(self._adhoc_index(pos)), (flags >> 2) % 10 == 0, ts)
        if sc == ON_STREET and (flags >> 5) & 1:
            prestr = b'["EV_ONLY"]'
        elif access and (flags >> 5) & 1:
            prestr = b'["CUSTOMERS"]'
        else:
            prestr = b"[]"
        mid = b"".join((b'","status_schedule":[],"capabilities":', _CAPS[sc >= DC_SITE], b',"connectors":[',
                        conn_json, b'],"physical_reference":"'))
        tail = b'","directions":[],"parking_restrictions":%s,"images":[],"last_updated":"%s"}' % (prestr, ts)
        evses = []
        for e, (uid, evse_id) in enumerate(self._evse_ids(pos, n_evse)):
            if e and e % 8 == 0:
                statuses = mix(statuses)
            evses.append(b'{"uid":"%s",%s"status":"%s%s%d%s' % (
                uid, b'"evse_id":"%s",' % evse_id if evse_id else b"",
                _STATUS_TABLE[(statuses >> (8 * (e % 8))) & 0xFF], mid, e + 1, tail))
        ltype = _LTYPES[self._ltype[pos]]
        sub = b"null"
        if (flags >> 10) % 10 < 3:
            sub = cat.cpos[(cpo_i + 1 + (flags >> 14) % 7) % len(cat.cpos)].frag
        owner = cpo.frag if (flags >> 18) % 10 < 6 else sub if sub != b"null" else cpo.frag
        fac = _FACILITIES[sc][(flags >> 22) % len(_FACILITIES[sc])]
        hours = _HOURS_247 if access == 0 or (flags >> 26) % 3 == 0 else _HOURS[(flags >> 28) % 3]
        emix = b',"energy_mix":' + _ENERGY_MIX[(flags >> 33) % 3] if (flags >> 30) % 5 == 0 else b""
        pay = _PAYMENT[(1 + (flags >> 36) % 2) if sc >= DC_SITE else ((flags >> 36) % 4 == 0) * 3]
        restr = b"[]" if access == 0 else (b'["CUSTOMERS"]' if (flags >> 40) & 1 else b'["TIME_RESTRICTED"]')
        lid = self.location_id_bytes(pos)
        if version == "2.1.1":
            head = b"".join((b'{"id":"', lid, b'","type":"', ltype, b'","name":', jname,
                             b',"address":', jaddr, b',"city":', jcity, b',"postal_code":', jpostal,
                             b',"country":"', place.code3, b'","coordinates":{"latitude":"', b"%.4f" % lat,
                             b'","longitude":"', b"%.4f" % lon, b'"},"related_locations":[],"evses":['))
        else:
            ptype = _PARKING_TYPE.get(ltype)
            if sc == HPC_SITE and (flags >> 42) % 5 < 2:
                ptype = b"ALONG_MOTORWAY"
            head = b"".join((b'{"country_code":"', place.code2, b'","party_id":"', cpo.party_b,
                             b'","id":"', lid, b'","publish":true,"name":', jname, b',"address":', jaddr,
                             b',"city":', jcity, b',"postal_code":', jpostal, b',"state":', jstate,
                             b',"country":"', place.code3, b'","coordinates":{"latitude":"', b"%.6f" % lat,
                             b'","longitude":"', b"%.6f" % lon, b'"},"related_locations":[],',
                             b'"parking_type":"%s",' % ptype if ptype else b"", b'"evses":['))
        return b"".join((head, b",".join(evses), b'],"directions":[],"operator":', cpo.frag,
                         b',"suboperator":', sub, b',"owner":', owner, b',"facilities":', fac,
                         b',"time_zone":', place.tz, b',"opening_times":', hours, b',"charging_when_closed":',
                         b"true" if (flags >> 41) & 1 else b"false", b',"images":[]', emix, b',"last_updated":"',
                         ts, b'","brand_name":', cpo.frag, b',"access_type":"', _ACCESS_B[access],
                         b'","administrative_areas":{"municipality":', jcity, b',"state_province":', jstate,
                         b'},"adhoc_authorisation_payment_method":', pay, b',"restrictions":', restr, b"}"))

    def connector_rows(self, pos: int) -> list[bytes]:
        """The connector_prices rows (JSON) of the location at ``pos``, in EVSE then connector order."""
        n_evse, conns = self._layouts[self._layout_of[pos]]
        cat = self.catalog
        frag = cat.pricing_fragment(cat.pricing_set(self._cpo[pos], self._country[pos],
                                                    _SITE_PRICE_CLASS[self._site[pos]], self._variant[pos],
                                                    self._access[pos] != 0, self._draw[pos]))
        s = self._slots[pos]
        prefix = b'{"location_id":"%s","evse_uid":"' % uuid_bytes(mix(self._lid_base ^ s), s ^ self._lmask)
        k = mix(self._uid_base ^ s)
        base = 1000000 + k % 8000000
        if (k >> 48) % 100 < 30:
            uid_prefix = b"%d" % base
            uids = [uid_prefix + b"%02d" % e for e in range(1, n_evse + 1)]
        else:
            uid_prefix = b"%s*%s*E%d*" % (self._cc_b[self._country[pos]], cat.cpos[self._cpo[pos]].party_b, base)
            uids = [uid_prefix + b"%d" % e for e in range(1, n_evse + 1)]
        tails = [_CONNECTOR_ID[i] + frag for i in range(len(conns))]
        return [b"".join((prefix, uid, tail)) for uid in uids for tail in tails]

    def render(self, endpoint: str, start: int, stop: int, version: str = "2.1.1") -> list[bytes]:
        """Record JSONs for base positions [start, stop) of an endpoint."""
        stop = min(stop, self.count(endpoint))
        if start >= stop:
            return []
        if endpoint == "locations":
            return [self.location_bytes(p, version) for p in range(start, stop)]
        if endpoint == "prices":
            return [self.catalog.price_bytes(p) for p in range(start, stop)]
        if endpoint == "tariffs":
            tp = self._tariff_pos
            return [self.catalog.tariff_bytes(tp[p], version) for p in range(start, stop)]
        if endpoint == "connector_prices":
            pos = bisect_right(self._conn_cum, start)
            first = self._conn_cum[pos - 1] if pos else 0
            out: list[bytes] = []
            skip = start - first
            need = stop - start
            while len(out) < need:
                rows = self.connector_rows(pos)
                if skip:
                    rows, skip = rows[skip:], 0
                out.extend(rows)
                pos += 1
            del out[need:]
            return out
        raise ConfigError(f"unknown endpoint {endpoint!r}: use one of {', '.join(ENDPOINTS)}")

    def record_bytes(self, endpoint: str, position: int, version: str = "2.1.1") -> bytes:
        if not 0 <= position < self.count(endpoint):
            raise IndexError(f"{endpoint} position {position} out of range")
        return self.render(endpoint, position, position + 1, version)[0]

    def record(self, endpoint: str, position: int, version: str = "2.1.1") -> dict[str, Any]:
        """The record the API serves at ``position`` (byte-identical when dumped with orjson)."""
        out: dict[str, Any] = orjson.loads(self.record_bytes(endpoint, position, version))
        return out

    def iter_records(self, endpoint: str, version: str = "2.1.1", chunk: int = 1000) -> Iterator[dict[str, Any]]:
        """Every record of an endpoint in API order, produced chunk by chunk."""
        n = self.count(endpoint)
        for start in range(0, n, chunk):
            for raw in self.render(endpoint, start, start + chunk, version):
                yield orjson.loads(raw)

    # ------------------------------------------------------------------ totals
    def site_info(self, pos: int) -> dict[str, Any]:
        """Skeleton facts of a location (for realism checks): country, class, cpo, access, pricing."""
        indices = self._pricing(pos)
        n_evse, conns = self._layouts[self._layout_of[pos]]
        return {"country": self.catalog.countries[self._country[pos]].code2,
                "site_class": ("AC", "AC", "DC", "HPC")[self._site[pos]],
                "access_type": _ACCESS[self._access[pos]], "cpo": self.catalog.cpos[self._cpo[pos]].name,
                "evses": n_evse, "connectors_per_evse": len(conns), "price_indices": indices}

    def totals(self) -> dict[str, int]:
        """Row counts of every table the pipeline builds from this dataset (the ground truth)."""
        cat = self.catalog
        pricing_ids = 0
        for pos in range(len(self._slots)):
            lo, hi = self.connector_range(pos)
            pricing_ids += (hi - lo) * len(self._pricing(pos))
        elements = components = 0
        for idx in range(len(cat.specs)):
            els = cat.elements(idx)
            elements += len(els)
            components += sum(len(e["price_components"]) for e in els)
        t_el = t_comp = 0
        for idx in self._tariff_pos:
            els = cat.elements(idx)
            t_el += len(els)
            t_comp += sum(len(e["price_components"]) for e in els)
        return {
            "locations": self.count("locations"),
            "evses": self._n_evse,
            "connectors": self.count("connector_prices"),
            "connector_prices": self.count("connector_prices"),
            "connector_price_ids": pricing_ids,
            "pricing_ids": pricing_ids,
            "prices": len(cat.specs),
            "price_elements": elements,
            "price_components": components,
            "tariffs": len(self._tariff_pos),
            "tariff_elements": t_el,
            "tariff_components": t_comp,
            "cpos": len(cat.cpos),
            "msps": len(cat.msps),
            "countries": len(cat.countries),
        }


def _geometric(u: float, mean: float) -> int:
    """Failures before a success with the given mean (0, 1, 2, ...), by inversion of a uniform."""
    return int(math.log(1.0 - u) / math.log(1.0 - 1.0 / (mean + 1.0)))


_Conn = tuple[str, str, str, int, int, int]


def _connectors_of(sc: int, p_idx: int, extras: tuple[bool, bool], code2: str) -> tuple[_Conn, ...]:
    """The connectors of every EVSE of a site (market-realism section 4)."""
    conns: tuple[_Conn, ...]
    if sc <= SEMI_AC:
        conns = (_ac_conn(_AC_POWERS[p_idx], extras[0]),)
        if extras[1]:
            conns += (_SECOND_AC[code2][0],)
    elif sc == DC_SITE:
        watts, volt, amp = _DC_POWERS[p_idx]
        conns = (_conn("IEC_62196_T2_COMBO", "CABLE", "DC", volt, amp, watts),)
        if extras[0]:
            conns += (_conn("CHADEMO", "CABLE", "DC", 400, 125, 50000),)
        if extras[1]:
            conns += (_ac_conn(_AC_POWERS[4], True),)
    else:
        watts, volt, amp = _HPC_POWERS[4] if extras[1] else _HPC_POWERS[p_idx]
        conns = (_conn("IEC_62196_T2_COMBO", "CABLE", "DC", volt, amp, watts),)
        if extras[0]:
            conns += (_conn("CHADEMO", "CABLE", "DC", 400, 125, 50000),)
    return conns


def _postal(n: int, cc: bytes) -> bytes:
    """A postal code in the country's format, as a JSON string."""
    return b'"%s"' % _postal_text(n, cc.decode()).encode()


def _postal_text(n: int, cc: str) -> str:
    if cc == "NL":
        return f"{1000 + n % 9000} {chr(65 + (n >> 20) % 26)}{chr(65 + (n >> 25) % 26)}"
    if cc in ("GB", "IE"):
        return f"{chr(65 + n % 26)}{chr(65 + (n >> 5) % 26)}{1 + (n >> 10) % 20} {(n >> 15) % 10}{chr(65 + (n >> 20) % 26)}{chr(65 + (n >> 25) % 26)}"
    if cc == "PL":
        return f"{(n % 100):02d}-{(n >> 8) % 1000:03d}"
    if cc in ("SE", "CZ", "SK", "GR"):
        return f"{100 + n % 900} {(n >> 12) % 100:02d}"
    if cc in ("NO", "DK", "CH", "AT", "BE", "HU", "SI", "LU", "BG", "IS"):
        return f"{1000 + n % 9000}"
    if cc == "PT":
        return f"{1000 + n % 9000}-{(n >> 16) % 1000:03d}"
    return f"{(n % 100000):05d}"
