"""Partners (CPOs, MSPs) and the price catalog, with the rules that turn a catalog entry into JSON.

The catalog is a compact list of integer tuples (one per price id); the JSON of a price is made on
demand. Price *bodies* (the ``elements`` list) are drawn from a bounded pool per (country, power
class, kind): real tariffs cluster on a few price points, and the pool keeps rendering O(1) with a
bounded cache. Shares and levels follow ``market-realism.md`` sections 2, 3 and 5.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from operator import itemgetter
from statistics import NormalDist
from typing import Any

import orjson

from ecodata.restrictions import OCPI_2_1_1_KEYS
from ecodata.simulator._rng import Rng, compact, cumulative, key, mix, uuid_from
from ecodata.simulator.config import ScaleParams
from ecodata.simulator.geo import (
    BY_CODE,
    CPO_SUFFIX,
    MSP_MEAN_BY_GROUP,
    MSP_SUFFIX,
    WORDS_A,
    WORDS_B,
    Country,
)

# Tags that separate the random streams.
T_PARTNER, T_PID, T_PGEN, T_BODY, T_BODYGEN, T_PRODUCT, T_TID, T_PTS, T_MASK = range(100, 109)

# Price kinds in the catalog.
ADHOC, CPOSUB, MSP_FLAT, MSP_PASS, MSP_NEG = range(5)
# Power classes used by prices: 0 AC, 1 DC (50-149 kW), 2 HPC (>= 150 kW).
AC, DC, HPC = 0, 1, 2
CLASS_NAMES = ("AC", "DC", "HPC")

CACHE_MAX = 16384  # rendered bodies kept (~6 MB at most); the key space is bounded per market anyway
BODY_POOL = 24  # distinct price bodies per (country, class, kind): bounded render cache
BASE_EPOCH = 1780300800  # 2026-06-01T08:00:00Z: "now" on day 0
DAY_S = 86400
PRICE_CHANGE_RATE = 0.02  # share of prices whose id is regenerated per day

_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


_DAY_PREFIX: dict[int, bytes] = {}


def timestamp(epoch: int) -> str:
    """OCPI DateTime with ``Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def timestamp_b(epoch: int) -> bytes:
    """:func:`timestamp` as bytes, fast (the date part is cached per day)."""
    day, sec = divmod(epoch, DAY_S)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = _DAY_PREFIX[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * DAY_S)).encode()
    hours, rest = divmod(sec, 3600)
    return prefix + b"%02d:%02d:%02dZ" % (hours, rest // 60, rest % 60)


@dataclass(slots=True)
class Partner:
    """A CPO or an MSP."""

    index: int
    name: str
    partner_id: str
    website: str
    party_id: str
    home: int  # index into the dataset's countries
    kind: str  # CPO: ac | mixed | hpc | tesla; MSP: flat | pass | neg
    countries: tuple[int, ...]
    publishes_tariffs: bool = False
    # restrictions in its OCPI tariffs: 0 an object (absent when none), 1 a list of one object with
    # every key (all null when none), 2 null when none, 3 like 1 with min/max_duration 0/86400 (FAQ)
    tariff_style: int = 0
    tariff_vat: bool = False
    tiers: int = 1
    fee_option: int = -1
    frag: bytes = b""  # {"partner_id","name","website","ema_id"} as JSON
    name_json: bytes = b""
    partner_id_b: bytes = b""
    website_b: bytes = b""
    short_raw: bytes = b""  # first word of the name, JSON-escaped, without quotes
    tariff_url_b: bytes = b""
    party_b: bytes = b""


def _party(rng: Rng, used: set[str]) -> str:
    while True:
        code = "".join(chr(65 + rng.below(26)) for _ in range(3))
        if code not in used:
            used.add(code)
            return code


class Catalog:
    """Partners and price catalog for one (scale, seed, day)."""

    def __init__(self, params: ScaleParams, seed: int, day: int) -> None:
        self.seed = seed
        self.day = day
        self.params = params
        self.countries: tuple[Country, ...] = tuple(BY_CODE[c] for c in params.countries)
        self.country_cum = cumulative([c.weight for c in self.countries])
        self.now_epoch = BASE_EPOCH + day * DAY_S
        self._mask = key(seed, T_MASK) & 0xFFFFFFFFFFFF
        self.cpos = self._make_cpos()
        self.msps = self._make_msps()
        self._make_pools()
        self._make_catalog()
        self._body_cache: dict[tuple[int, ...], bytes] = {}
        self._tariff_cache: dict[tuple[Any, ...], tuple[bytes, bytes]] = {}
        self._currency_b = [c.currency.encode() for c in self.countries]
        self._product_cache: dict[tuple[int, ...], tuple[str, bytes]] = {}
        self._make_ids()

    # ----------------------------------------------------------------- partners
    def _name(self, rng: Rng, used: set[str], suffixes: tuple[str, ...]) -> str:
        while True:
            name = f"{rng.pick(WORDS_A)}{rng.pick(WORDS_B)} {rng.pick(suffixes)}"
            if name not in used:
                used.add(name)
                return name
            if rng.chance(0.3):
                name = f"{name} {rng.between(2, 99)}"
                if name not in used:
                    used.add(name)
                    return name

    def _partner_frag(self, p: Partner, prefix_cc: str) -> None:
        p.name_json = compact(orjson.dumps(p.name))
        p.partner_id_b = p.partner_id.encode()
        p.short_raw = orjson.dumps(p.name.split(" ")[0])[1:-1]
        p.party_b = p.party_id.encode()
        p.website_b = p.website.encode()
        p.tariff_url_b = p.website_b + b"/tariffs"
        p.frag = compact(orjson.dumps({"partner_id": p.partner_id, "name": p.name, "website": p.website,
                                       "ema_id": [f"{prefix_cc}*{p.party_id}"]}))

    def _make_cpos(self) -> list[Partner]:
        n = self.params.cpos
        rng = Rng(key(self.seed, T_PARTNER, 1))
        used_names: set[str] = set()
        used_party: set[str] = set()
        n_hpc = max(3, round(0.03 * n))
        cpos: list[Partner] = []
        nc = len(self.countries)
        for i in range(n):
            if i < nc:
                home, kind = i, "mixed"  # every market has at least one operator with all power classes
            else:
                home = rng.weighted(self.country_cum)
                if i < nc + n_hpc:
                    kind = "tesla" if i == nc else "hpc"
                else:
                    kind = "mixed" if rng.chance(0.25) else "ac"
            if kind in ("hpc", "tesla"):
                countries = tuple(sorted({home} | {c for c in range(nc) if rng.chance(0.6)}))
            else:
                countries = (home,)
            name = self._name(rng, used_names, CPO_SUFFIX)
            party = _party(rng, used_party)
            slug = name.split(" ")[0].lower()
            p = Partner(i, name, uuid_from(key(self.seed, T_PARTNER, 2, i), i), f"https://www.{slug}.example",
                        party, home, kind, countries,
                        publishes_tariffs=rng.chance(0.7), tariff_style=rng.weighted((0.6, 0.75, 0.85, 1.0)),
                        tariff_vat=rng.chance(0.3))
            self._partner_frag(p, self.countries[home].code2)
            cpos.append(p)
        return cpos

    def _make_msps(self) -> list[Partner]:
        n = self.params.msps
        rng = Rng(key(self.seed, T_PARTNER, 3))
        used_names: set[str] = {c.name for c in self.cpos}
        used_party: set[str] = {c.party_id for c in self.cpos}
        nc = len(self.countries)
        msps: list[Partner] = []
        for i in range(n):
            home = rng.weighted(self.country_cum)
            if i < max(2, n // 10):  # the big roaming MSPs reach (almost) everywhere
                countries = tuple(range(nc))
            else:
                extra = min(nc - 1, int(rng.gamma(2.0, self.params.msp_countries / 2.0)))
                others = [c for c in range(nc) if c != home]
                chosen = {home}
                while len(chosen) < extra + 1 and others:
                    chosen.add(others.pop(rng.below(len(others))))
                countries = tuple(sorted(chosen))
            kind = ("flat", "pass", "neg")[rng.weighted((0.6, 0.9, 1.0))]
            tiers = 1 + rng.weighted((0.55, 0.90, 1.0))
            fee = rng.below(3) if rng.chance(0.3) else -1
            name = self._name(rng, used_names, MSP_SUFFIX)
            slug = name.split(" ")[0].lower()
            p = Partner(i, name, uuid_from(key(self.seed, T_PARTNER, 4, i), 0x100000 + i),
                        f"https://{slug}.example", _party(rng, used_party), home, kind, countries,
                        tiers=tiers, fee_option=fee)
            self._partner_frag(p, self.countries[home].code2)
            msps.append(p)
        return msps

    # ----------------------------------------------------------------- pools
    def _make_pools(self) -> None:
        """Per country: who runs AC, DC and HPC sites (Zipf-weighted), and which MSPs are present."""
        nc = len(self.countries)
        self.cpo_pool: list[list[tuple[list[int], list[float]]]] = []
        self.msp_pool: list[tuple[list[int], list[float]]] = []
        for ci in range(nc):
            home = [c for c in self.cpos if c.home == ci and c.kind in ("ac", "mixed")]
            networks = [c for c in self.cpos if c.kind in ("hpc", "tesla") and ci in c.countries]
            zipf = [1.0 / (r + 1) ** 0.9 for r in range(len(home))]
            ac = ([c.index for c in home], zipf)
            mixed = [(c.index, w) for c, w in zip(home, zipf, strict=True) if c.kind == "mixed"]
            dc_items = mixed + [(c.index, 0.5) for c in networks]
            hpc_items = [(i, w * 0.5) for i, w in mixed] + [
                (c.index, 2.0 if c.kind == "tesla" else 3.0) for c in networks]
            pools = []
            for items in (None, dc_items, hpc_items):
                if items is None:
                    idx, ws = ac
                else:
                    idx, ws = [i for i, _ in items], [w for _, w in items]
                if not idx:
                    idx, ws = ac
                pools.append((idx, cumulative(ws)))
            self.cpo_pool.append(pools)
            ms = [m for m in self.msps if ci in m.countries]
            self.msp_pool.append(([m.index for m in ms], cumulative([len(m.countries) ** 0.5 for m in ms])))

    # ----------------------------------------------------------------- catalog
    def _make_catalog(self) -> None:
        specs: list[tuple[int, int, int, int, int]] = []  # kind, partner, country, class, tier/variant
        self.adhoc_base: dict[tuple[int, int, int], int] = {}
        self.cposub: dict[tuple[int, int], int] = {}
        self.msp_flat: dict[tuple[int, int, int], int] = {}
        self.msp_cpo: dict[tuple[int, int, int, int], int] = {}
        nv = self.params.adhoc_variants
        nc = len(self.countries)
        for ci in range(nc):
            for pcls in (AC, DC, HPC):
                for cpo in sorted(set(self.cpo_pool[ci][pcls][0])):
                    self.adhoc_base[(cpo, ci, pcls)] = len(specs)
                    specs.extend((ADHOC, cpo, ci, pcls, v) for v in range(nv))
            for c in self.cpos:
                if c.kind in ("hpc", "tesla") and ci in c.countries:
                    self.cposub[(c.index, ci)] = len(specs)
                    specs.append((CPOSUB, c.index, ci, HPC, 0))
        for m in self.msps:
            for ci in m.countries:
                for pcls in (AC, DC, HPC):
                    self.msp_flat[(m.index, ci, pcls)] = len(specs)
                    specs.extend((MSP_FLAT, m.index, ci, pcls, t) for t in range(m.tiers))
        top = self.params.passthrough_top
        for m in self.msps:
            if m.kind == "flat":
                continue
            kind = MSP_PASS if m.kind == "pass" else MSP_NEG
            for ci in m.countries:
                for pcls in (AC, DC, HPC):
                    idx = self.cpo_pool[ci][pcls][0]
                    for cpo in list(dict.fromkeys(idx))[:top]:
                        self.msp_cpo[(m.index, cpo, ci, pcls)] = len(specs)
                        specs.append((kind, m.index, ci, pcls, cpo))
        self.specs = specs

    def _make_ids(self) -> None:
        """Price ids for the day: an id is regenerated when its price or product changes.

        Also keeps, per catalog entry, the small facts rendering needs (body key, epoch, id bytes):
        O(prices) integers and ids, never record JSON.
        """
        self.price_gen: list[int] = []
        self.price_epoch: list[int] = []
        ids: list[str] = []
        seed, day, mask = self.seed, self.day, self._mask
        pid_base, gen_base = key(seed, T_PID), key(seed, T_PGEN)
        for idx in range(len(self.specs)):
            gen, changed = 0, 0
            if day:
                rng = Rng(mix(gen_base ^ idx))
                d = rng.geometric_day(PRICE_CHANGE_RATE)
                while d <= day:
                    gen, changed = gen + 1, d
                    d += rng.geometric_day(PRICE_CHANGE_RATE)
            k = mix(mix(pid_base ^ idx) ^ gen)
            if gen:
                epoch = BASE_EPOCH + (changed - 1) * DAY_S + 3600 * 10 + k % 36000
            else:
                epoch = BASE_EPOCH - 86400 - k % (500 * DAY_S)
            self.price_gen.append(gen)
            self.price_epoch.append(epoch)
            ids.append(uuid_from(k, idx ^ mask))
        self.price_ids = ids
        self._id_b = [i.encode() for i in ids]
        self._body_keys = [self._body_key(i) for i in range(len(ids))]
        self._product_b = [self.product(i)[0].encode() for i in range(len(ids))]
        # Per entry, references to shared pieces (no record JSON): partner, product, timestamp.
        self._partner_of = [self.cpos[p] if kind < MSP_FLAT else self.msps[p] for kind, p, *_ in self.specs]
        self._product_frag = [self.product(i)[1] for i in range(len(ids))]
        self._ts_b = [timestamp_b(e) for e in self.price_epoch]
        tid_base = key(seed, T_TID)
        self._tariff_ids: dict[int, str] = {}
        for idx, (kind, partner, _ci, _pcls, _v) in enumerate(self.specs):
            if kind == ADHOC and self.cpos[partner].publishes_tariffs:
                k = mix(mix(tid_base ^ idx) ^ self.price_gen[idx])
                self._tariff_ids[idx] = f"{k:016x}{mix(k):016x}"
        self._tariff_ids_b = {idx: tid.encode() for idx, tid in self._tariff_ids.items()}
        self._make_site_pricing()
        # Render the pool of price bodies (and the tariffs made from them) once: the pool is bounded
        # per market (BODY_POOL per country, power class and product kind), far smaller than the
        # prices endpoint, and a warm pool makes the first crawl as fast as any later one.
        for bk in dict.fromkeys(self._body_keys):
            self.body(bk)
        for idx in self._tariff_ids:
            p = self._partner_of[idx]
            self._tariff_elements_for(self._body_keys[idx], p.tariff_style, p.tariff_vat)

    def price_index(self, price_id: str) -> int | None:
        """Catalog index of a price id of this day, or None."""
        try:
            idx = int(price_id[-12:], 16) ^ self._mask
        except ValueError:
            return None
        if 0 <= idx < len(self.price_ids) and self.price_ids[idx] == price_id:
            return idx
        return None

    def tariff_id(self, idx: int) -> str | None:
        """Id of the OCPI tariff behind ad hoc price ``idx`` (None when its CPO publishes no tariffs)."""
        return self._tariff_ids.get(idx)

    # ----------------------------------------------------------------- pricing sets
    def _make_site_pricing(self) -> None:
        """Per (country, power class): the MSP prices a site can list, big roaming MSPs first.

        A site lists a window of the big MSPs' prices and a window of the others', so sets are
        produced in O(K) without a per-site cache. K follows a gamma (negative-binomial-like)
        distribution per market, drawn through a 256-step quantile table.
        """
        n_big = max(2, len(self.msps) // 10)
        self._site_lists: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
        self._k_table: dict[tuple[int, int, int], list[int]] = {}
        for ci, c in enumerate(self.countries):
            for pcls in (AC, DC, HPC):
                big: list[int] = []
                rest: list[int] = []
                for m in self.msps:
                    if ci not in m.countries:
                        continue
                    base = self.msp_flat[(m.index, ci, pcls)]
                    (big if m.index < n_big else rest).extend(range(base, base + m.tiers))
                rng = Rng(key(self.seed, 310, ci, pcls))
                for i in range(len(rest) - 1, 0, -1):  # seeded shuffle
                    j = rng.below(i + 1)
                    rest[i], rest[j] = rest[j], rest[i]
                self._site_lists[(ci, pcls)] = (big, rest)
                for restricted in (0, 1):
                    mean = MSP_MEAN_BY_GROUP[c.msp_group] * self.params.msp_mean_factor
                    if pcls == HPC:
                        mean *= 1.4
                    elif restricted and pcls == AC:
                        mean *= 0.7
                    self._k_table[(ci, pcls, restricted)] = sorted(
                        round(rng.gamma(4.0, mean / 4.0)) for _ in range(256))
        self._site_tables: list[tuple[list[int], list[int], list[int]]] = []  # [(ci * 3 + pcls) * 2 + restricted]
        for ci in range(len(self.countries)):
            for pcls in (AC, DC, HPC):
                big, rest = self._site_lists[(ci, pcls)]
                for restricted in (0, 1):
                    self._site_tables.append((self._k_table[(ci, pcls, restricted)], big + big, rest + rest))
        self._subs: dict[tuple[int, int, int], dict[int, int]] = {}
        for (msp, cpo, cj, pc), idx in self.msp_cpo.items():
            self._subs.setdefault((cpo, cj, pc), {})[self.msp_flat[(msp, cj, pc)]] = idx

    def pricing_set(self, cpo: int, ci: int, pcls: int, variant: int, restricted: bool,
                    draw: int) -> list[int]:
        """Catalog indices listed on a site's connectors: one ad hoc price, then K MSP prices."""
        k_table, big, rest = self._site_tables[(ci * 3 + pcls) * 2 + restricted]
        k = k_table[draw & 0xFF]
        n_big, n_rest = len(big) // 2, len(rest) // 2
        k_big = min(n_big, (k + 1) // 2)
        k_rest = min(n_rest, k - k_big)
        k_big = min(n_big, k - k_rest)
        out = [self.adhoc_base[(cpo, ci, pcls)] + variant]
        if k_big:
            o = (draw >> 8) % n_big
            out += big[o:o + k_big]  # the lists are stored twice over, so windows never wrap
        if k_rest:
            o = (draw >> 24) % n_rest
            out += rest[o:o + k_rest]
        subs = self._subs.get((cpo, ci, pcls))
        if subs:
            out = [subs.get(i, i) for i in out]
        if pcls == HPC and len(out) > 1:
            sub = self.cposub.get((cpo, ci))
            if sub is not None:
                out[-1] = sub
        return out

    def pricing_fragment(self, indices: list[int]) -> bytes:
        """``"pricing_ids":[...],"product_ids":[...]}``: the tail of a connector_prices row."""
        if len(indices) == 1:
            return b'"pricing_ids":["%s"],"product_ids":["%s"]}' % (self._id_b[indices[0]],
                                                                     self._product_b[indices[0]])
        pick = itemgetter(*indices)
        return b'"pricing_ids":["%s"],"product_ids":["%s"]}' % (b'","'.join(pick(self._id_b)),
                                                                 b'","'.join(pick(self._product_b)))

    # ----------------------------------------------------------------- products
    def product(self, idx: int) -> tuple[str, bytes]:
        """(product id, product JSON) of a catalog entry; products are shared by many prices."""
        kind, partner, ci, _pcls, tier = self.specs[idx]
        if kind == ADHOC:
            pk = (0, partner, ci, 0)
        elif kind == CPOSUB:
            pk = (1, partner, ci, 0)
        elif kind == MSP_FLAT:
            pk = (2, partner, ci, tier)
        else:
            pk = (2, partner, ci, 0)
        hit = self._product_cache.get(pk)
        if hit is not None:
            return hit
        c = self.countries[ci]
        rng = Rng(key(self.seed, T_PRODUCT, *pk))
        pid = uuid_from(key(self.seed, T_PRODUCT, 9, *pk), rng.u64())
        fee = 0.0
        if pk[0] == 0:
            p = self.cpos[partner]
            name, desc, ptype, stype = "Ad hoc", f"Ad hoc charging at {p.name}", "adhoc", "n/a"
        elif pk[0] == 1:
            p = self.cpos[partner]
            fee = rng.pick((5.99, 7.99, 11.99)) * c.fx_per_eur
            name, desc = f"{p.name.split(' ')[0]} Passport", f"{p.name} subscription with lower kWh prices"
            ptype, stype = "cpo_subscription", "month"
        else:
            p = self.msps[partner]
            short = p.name.split(" ")[0]
            ptype = "msp"
            if pk[3] == 0:
                name, desc, stype = f"{short} Flex", f"{p.name}: pay per use, no monthly fee", "n/a"
            elif pk[3] == 1:
                fee = rng.uniform(4.99, 17.99) * c.fx_per_eur
                name, desc, stype = f"{short} Plus", f"{p.name}: monthly subscription, lower kWh price", "month"
            elif rng.chance(0.5):
                fee = rng.uniform(60, 120) * c.fx_per_eur
                name, desc, stype = f"{short} Year", f"{p.name}: yearly subscription", "yearly"
            else:
                fee = rng.pick((4.95, 9.95, 14.95)) * c.fx_per_eur
                name, desc, stype = f"{short} Card", f"{p.name}: one-time charge card fee", "one-off"
        fee_excl = round(fee / (1 + c.vat / 100), 2) if fee else 0.0
        frag = compact(orjson.dumps({"id": pid, "name": name, "description": desc, "type": ptype,
                             "subscription_type": stype, "subscription_fee_excl_vat": f"{fee_excl:.4f}",
                             "currency": c.currency}))
        out = (pid, frag)
        self._product_cache[pk] = out  # bounded by partners x countries x tiers
        return out

    # ----------------------------------------------------------------- bodies
    def _body_key(self, idx: int) -> tuple[int, ...]:
        kind, partner, ci, pcls, tier = self.specs[idx]
        j = key(self.seed, T_BODY, idx, self.price_gen[idx]) % BODY_POOL
        if kind == ADHOC:
            return (ADHOC, ci, pcls, j, int(self.cpos[partner].kind == "tesla"))
        if kind == CPOSUB:
            return (CPOSUB, ci, pcls, j)
        if kind == MSP_FLAT:
            return (MSP_FLAT, ci, pcls, j, tier, self.msps[partner].fee_option)
        if kind == MSP_PASS:
            return (MSP_PASS, ci, pcls, j, max(0, self.msps[partner].fee_option))
        return (MSP_NEG, ci, pcls, j, j % 4)

    def body_key(self, idx: int) -> tuple[int, ...]:
        return self._body_keys[idx]

    def body(self, bk: tuple[int, ...]) -> bytes:
        """The ``elements`` JSON for a body key (cached; the key space is bounded per market)."""
        hit = self._body_cache.get(bk)
        if hit is not None:
            return hit
        out = compact(orjson.dumps(_build_elements(self.seed, bk, self.countries[bk[1]])))
        if len(self._body_cache) >= CACHE_MAX:
            self._body_cache.clear()
        self._body_cache[bk] = out
        return out

    def elements(self, idx: int) -> list[dict[str, Any]]:
        """The elements of price ``idx`` as Python objects."""
        out: list[dict[str, Any]] = orjson.loads(self.body(self._body_keys[idx]))
        return out

    def price_bytes(self, idx: int) -> bytes:
        """The JSON of one price record, exactly as the API serves it."""
        p = self._partner_of[idx]
        return b'{"id":"%s","partner":%s,"partner_id":"%s","last_updated":"%s","product":%s,"elements":%s}' % (
            self._id_b[idx], p.name_json, p.partner_id_b, self._ts_b[idx], self._product_frag[idx],
            self.body(self._body_keys[idx]))

    # ----------------------------------------------------------------- tariffs
    def _tariff_elements_for(self, bk: tuple[int, ...], style: int, with_vat: bool) -> tuple[bytes, bytes]:
        """(tariff_alt_text JSON, elements JSON) of the OCPI tariff made from price body ``bk`` (cached)."""
        tk = (bk, style, with_vat)
        hit = self._tariff_cache.get(tk)
        if hit is None:
            hit = _tariff_elements(orjson.loads(self.body(bk)), style, with_vat, self.countries[bk[1]])
            if len(self._tariff_cache) >= CACHE_MAX:
                self._tariff_cache.clear()
            self._tariff_cache[tk] = hit
        return hit

    def tariff_bytes(self, idx: int, version: str = "2.1.1") -> bytes:
        """The OCPI tariff published by the CPO of ad hoc price ``idx`` (``version`` 2.1.1 or 2.3.0)."""
        p = self._partner_of[idx]
        bk = self._body_keys[idx]
        hit = self._tariff_elements_for(bk, p.tariff_style, p.tariff_vat)
        raw = b'{"id":"%s","currency":"%s","tariff_alt_text":%s,"tariff_alt_url":"%s","elements":%s,"last_updated":"%s"}' % (
            self._tariff_ids_b[idx], self._currency_b[bk[1]], hit[0], b"" if idx % 3 == 0 else p.tariff_url_b, hit[1],
            self._ts_b[idx])
        if version == "2.3.0":
            return tariff_230(raw, self.countries[bk[1]], p.party_id, mix(idx))
        return raw


# ---------------------------------------------------------------------- price bodies
_ADHOC_SHARES = (
    # pure kWh, start fee, idle fee, per minute, time of day, flat, free, power tiers
    (0.50, 0.10, 0.25, 0.08, 0.04, 0.02, 0.01, 0.00),  # AC
    (0.68, 0.08, 0.15, 0.02, 0.03, 0.01, 0.01, 0.02),  # DC
    (0.75, 0.03, 0.10, 0.00, 0.05, 0.01, 0.00, 0.06),  # HPC
)
_ADHOC_CUM = tuple(cumulative(s) for s in _ADHOC_SHARES)
_START_FEES_EUR = (0.10, 0.25, 0.35, 0.49, 0.61, 0.70)
_SESSION_FEES_EUR = (0.29, 0.35, 0.40)


def _q(value: float, c: Country) -> float:
    """Round an incl-VAT consumer price to the local price grid (cents, or whole units)."""
    return round(value) if c.fx_per_eur >= 20 else round(value, 2)


def _ex(incl: float, c: Country) -> float:
    return round(incl / (1 + c.vat / 100), 4)


def _comp(kind: str, incl: float, c: Country, step: int) -> dict[str, Any]:
    return {"type": kind, "price_excl_vat": _ex(incl, c), "vat": c.vat_json, "step_size": step}


def _el(components: list[dict[str, Any]], restrictions: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"price_components": components, "restrictions": restrictions}


_Z = tuple(NormalDist().inv_cdf((j + 0.5) / BODY_POOL) for j in range(BODY_POOL))


def _kwh_level(rng: Rng, c: Country, pcls: int, j: int) -> float:
    """Lognormal (sigma 0.2) around the market median; body j takes the j-th quantile (stratified)."""
    median = (c.adhoc_ac, c.adhoc_dc, c.adhoc_hpc)[pcls]
    if rng.chance(0.01):  # outliers of 1.0-1.4 EUR/kWh
        return _q(rng.uniform(1.0, 1.4) * c.fx_per_eur, c)
    return _q(median * math.exp(0.2 * _Z[j]), c)


def _idle(rng: Rng, c: Country, pcls: int) -> dict[str, Any]:
    """A blocking fee element: AC after N minutes from the start (capped), DC/HPC N minutes after charge end."""
    fx = c.fx_per_eur
    if pcls == AC:
        per_min = rng.pick((0.05, 0.10, 0.10, 0.12)) * fx
        after = rng.pick((14400, 14400, 10800, 7200))
        restr: dict[str, Any] = {"min_duration": after}
        if rng.chance(0.7):
            restr["max_price"] = _ex(12.0 * fx, c)
        return _el([_comp("TIME", _q(per_min * 60, c), c, 60),
                    _comp("PARKING_TIME", _q(per_min * 60, c), c, 60)], restr)
    per_min = (rng.uniform(0.5, 1.0) if c.code2 == "GB" else rng.uniform(0.2, 0.3)) * fx
    restr = {"overstay_duration": rng.pick((2700, 3600, 3600))}
    if rng.chance(0.3):
        restr["max_price"] = _ex(rng.pick((12.0, 20.0, 30.0)) * fx, c)
    return _el([_comp("PARKING_TIME", _q(per_min * 60, c), c, 60)], restr)


def _adhoc(rng: Rng, c: Country, pcls: int, j: int, tesla: bool) -> list[dict[str, Any]]:
    kwh = _kwh_level(rng, c, pcls, j)
    arche = 4 if tesla and rng.chance(0.8) else rng.weighted(_ADHOC_CUM[pcls])
    energy = _comp("ENERGY", kwh, c, 1)
    if arche == 0:
        if pcls != AC and rng.chance(0.08):  # a minimum charge per session on the energy (Eco-Movement key)
            return [_el([energy], {"min_price": _ex(rng.pick((1.0, 2.0, 3.0)) * c.fx_per_eur, c)})]
        return [_el([energy])]
    if arche == 1:
        return [_el([_comp("FLAT", _q(rng.pick(_START_FEES_EUR) * c.fx_per_eur, c), c, 1), energy])]
    if arche == 2:
        return [_idle(rng, c, pcls), _el([energy])]
    if arche == 3:
        per_hour = _q(rng.uniform(0.04, 0.09) * 60 * c.fx_per_eur, c)
        comps = [_comp("TIME", per_hour, c, 60)]
        if rng.chance(0.4):
            comps.append(_comp("FLAT", _q(rng.pick(_START_FEES_EUR) * c.fx_per_eur, c), c, 1))
        return [_el(comps)]
    if arche == 4:
        style = rng.below(3)
        if style == 0:  # peak hours (Tesla-like 16-20 h)
            return [_el([_comp("ENERGY", _q(kwh * 1.12, c), c, 1)], {"start_time": "16:00", "end_time": "20:00"}),
                    _el([energy])]
        if style == 1:  # cheaper nights, a window that wraps midnight
            return [_el([_comp("ENERGY", _q(kwh * 0.85, c), c, 1)], {"start_time": "22:00", "end_time": "06:00"}),
                    _el([energy])]
        return [_el([_comp("ENERGY", _q(kwh * 0.9, c), c, 1)], {"day_of_week": ["SATURDAY", "SUNDAY"]}),
                _el([_comp("PARKING_TIME", _q(0.10 * 60 * c.fx_per_eur, c), c, 60)],
                    {"start_time": "08:00", "end_time": "22:00", "day_of_week": list(_DAYS[:5])}),
                _el([energy])]
    if arche == 5:
        return [_el([_comp("FLAT", _q(rng.uniform(3.0, 10.0) * c.fx_per_eur, c), c, 1)])]
    if arche == 6:
        return [_el([{"type": "FLAT", "price_excl_vat": 0.0, "vat": c.vat_json, "step_size": 1}])]
    # power tiers
    return [_el([_comp("ENERGY", _q(kwh * 0.75, c), c, 1)], {"max_power": 50}),
            _el([_comp("ENERGY", _q(kwh * 0.9, c), c, 1)], {"min_power": 50, "max_power": 150}),
            _el([energy], {"min_power": 150})]


def _scaled(elements: list[dict[str, Any]], factor: float) -> list[dict[str, Any]]:
    out = []
    for el in elements:
        comps = [dict(comp, price_excl_vat=round(comp["price_excl_vat"] * factor, 4)) for comp in el["price_components"]]
        out.append(_el(comps, el["restrictions"]))
    return out


def _with_session_fee(elements: list[dict[str, Any]], fee_incl: float, c: Country) -> list[dict[str, Any]]:
    """Add an MSP session fee to the unrestricted FLAT of a tariff (or to its default element)."""
    out = [_el([dict(comp) for comp in el["price_components"]], el["restrictions"]) for el in elements]
    fee = _ex(fee_incl, c)
    for el in out:
        if el["restrictions"] is None:
            for comp in el["price_components"]:
                if comp["type"] == "FLAT":
                    comp["price_excl_vat"] = round(comp["price_excl_vat"] + fee, 4)
                    return out
    for el in reversed(out):
        if el["restrictions"] is None:
            el["price_components"].insert(0, {"type": "FLAT", "price_excl_vat": fee, "vat": c.vat_json,
                                              "step_size": 1})
            return out
    out.append(_el([{"type": "FLAT", "price_excl_vat": fee, "vat": c.vat_json, "step_size": 1}]))
    return out


def _build_elements(seed: int, bk: tuple[int, ...], c: Country) -> list[dict[str, Any]]:
    kind, pcls = bk[0], bk[2]
    if kind == ADHOC:
        return _adhoc(Rng(key(seed, T_BODYGEN, ADHOC, *bk[1:4])), c, pcls, bk[3], bool(bk[4]))
    if kind == MSP_PASS:
        base = _adhoc(Rng(key(seed, T_BODYGEN, ADHOC, *bk[1:4])), c, pcls, bk[3], False)
        return _with_session_fee(base, _SESSION_FEES_EUR[bk[4]] * c.fx_per_eur, c)
    if kind == MSP_NEG:
        base = _adhoc(Rng(key(seed, T_BODYGEN, ADHOC, *bk[1:4])), c, pcls, bk[3], False)
        return _scaled(base, (0.95, 0.9, 0.85, 0.8)[bk[4]])
    rng = Rng(key(seed, T_BODYGEN, *bk))
    adhoc_kwh = _kwh_level(rng, c, pcls, bk[3])
    if kind == CPOSUB:
        return [_el([_comp("ENERGY", _q(adhoc_kwh * rng.uniform(0.6, 0.75), c), c, 1)])]
    tier, fee_option = bk[4], bk[5]
    kwh = adhoc_kwh * rng.uniform(0.7, 1.1)
    if tier == 1:
        kwh = max(kwh * 0.6, kwh - rng.uniform(0.10, 0.30) * c.fx_per_eur)
    elif tier == 2:
        kwh = max(kwh * 0.7, kwh - rng.uniform(0.05, 0.15) * c.fx_per_eur)
    energy = _comp("ENERGY", _q(kwh, c), c, 1)
    comps = [energy]
    if fee_option >= 0:
        comps = [_comp("FLAT", _q(_SESSION_FEES_EUR[fee_option] * c.fx_per_eur, c), c, 1), energy]
    elements = [_el(comps)]
    if rng.chance(0.2):
        elements.insert(0, _idle(rng, c, pcls))
    if tier and rng.chance(0.05):
        loyal = _comp("ENERGY", _q(kwh * 0.9, c), c, 1)
        elements.insert(0, _el([loyal], {"emsp_contract_date": rng.pick(("2024-01-01", "2025-01-01", "2025-07-01"))}))
    return elements


def tariff_230(raw: bytes, c: Country, party_id: str, h: int) -> bytes:
    """The OCPI 2.3.0 form of a 2.1.1 tariff: owner fields and ``tax_included``, with the prices of
    about half the VAT-stating CPOs' tariffs given incl. VAT (YES), the others excl. VAT (NO),
    and N/A (no taxes stated) for tariffs without VAT. ``h`` (a hash of the tariff) also picks a
    PriceLimit minimum for 1 in 8 and a reservation fee (RESERVATION TIME, RESERVATION_EXPIRES
    FLAT) for 1 in 6, in the shapes of the OCPI reservation examples."""
    t = orjson.loads(raw)
    has_vat = any("vat" in comp for e in t["elements"] for comp in e["price_components"])
    tax = ("YES" if h % 2 else "NO") if has_vat else "N/A"
    factor = 1 + c.vat / 100
    if tax == "YES":
        for e in t["elements"]:
            for comp in e["price_components"]:
                comp["price"] = round(comp["price"] * factor, 4)
    out: dict[str, Any] = {"country_code": c.code2, "party_id": party_id, **t, "tax_included": tax}
    if (h >> 3) % 8 == 0:
        before = round(1.0 * c.fx_per_eur, 2)
        out["min_price"] = {"before_taxes": before, "after_taxes": round(before * factor, 2)} if has_vat \
            else {"before_taxes": before}
    if (h >> 6) % 6 == 0:
        listed = any(isinstance(e.get("restrictions"), list) for e in t["elements"])  # keep the CPO's style

        def restr(kind: str) -> Any:
            return [{"reservation": kind}] if listed else {"reservation": kind}

        rate = 1 if tax == "YES" else 1 / factor  # 3.00 per hour and 1.50 per no-show incl. VAT
        vat = {"vat": c.vat_json} if has_vat else {}
        out["elements"] = [
            {"price_components": [{"type": "FLAT", "price": round(1.5 * rate * c.fx_per_eur, 4), "step_size": 1,
                                   **vat}], "restrictions": restr("RESERVATION_EXPIRES")},
            {"price_components": [{"type": "TIME", "price": round(3.0 * rate * c.fx_per_eur, 4), "step_size": 300,
                                   **vat}], "restrictions": restr("RESERVATION")},
            *out["elements"]]
    return compact(orjson.dumps(out))


def _tariff_elements(elements: list[dict[str, Any]], style: int, with_vat: bool,
                     c: Country) -> tuple[bytes, bytes]:
    """Turn price elements into raw OCPI tariff elements, in the CPO's restriction style.

    Only the OCPI 2.1.1 restriction keys are kept (``ecodata.restrictions``): Eco-Movement's own
    (overstay_duration, min/max_price, emsp_contract_date) are dropped, as a CPO's own tariff would
    not carry them, and a full restriction object (styles 1 and 3) lists every 2.1.1 key.
    """
    out: list[dict[str, Any]] = []
    main = None
    for el in elements:
        comps = []
        for comp in el["price_components"]:
            tc: dict[str, Any] = {"type": comp["type"], "price": comp["price_excl_vat"], "step_size": comp["step_size"]}
            if with_vat:
                tc["vat"] = comp["vat"]
            comps.append(tc)
            if comp["type"] == "ENERGY" and el["restrictions"] is None:
                main = comp["price_excl_vat"]
        te: dict[str, Any] = {"price_components": comps}
        restr = {k: v for k, v in (el["restrictions"] or {}).items() if k in OCPI_2_1_1_KEYS}
        if style in (1, 3):
            full: dict[str, Any] = dict.fromkeys(OCPI_2_1_1_KEYS)
            full.update(restr)
            if not restr and style == 3:
                full["min_duration"], full["max_duration"] = 0, 86400
            te["restrictions"] = [full]
        elif restr:
            te["restrictions"] = restr
        elif style == 2:
            te["restrictions"] = None  # style 0 leaves the key out, as OCPI allows
        out.append(te)
    if main is not None:
        text = f"{main * (1 + c.vat / 100):.2f} {c.currency}/kWh incl. VAT"
    else:
        text = "See the operator's website for prices"
    alt = compact(orjson.dumps([{"language": "en", "text": text}]))
    return alt, compact(orjson.dumps(out))
