from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ecodata.transform import transform_prices

money = st.decimals(min_value=Decimal("0"), max_value=Decimal("999.999999"), places=6)
vat = st.one_of(st.none(), st.decimals(min_value=Decimal("0"), max_value=Decimal("27.5"), places=1))
component = st.fixed_dictionaries(
    {"type": st.sampled_from(["ENERGY", "TIME", "PARKING_TIME", "FLAT"]), "price_excl_vat": money,
     "vat": vat, "step_size": st.integers(0, 3600)}
)
element = st.fixed_dictionaries({"price_components": st.lists(component, max_size=4)})
prices = st.lists(st.lists(element, min_size=1, max_size=4), min_size=1, max_size=8)


def record(i, elements):
    def text(c):
        # JSON numbers, as the API sends them: decimals of up to 15 significant digits survive exactly.
        return {**c, "price_excl_vat": float(c["price_excl_vat"]),
                "vat": None if c["vat"] is None else float(c["vat"])}

    return {"id": f"P{i}", "product": {"currency": "EUR"},
            "elements": [{"price_components": [text(c) for c in e["price_components"]]} for e in elements]}


@settings(max_examples=40, deadline=None)
@given(prices)
def test_every_component_is_kept_and_incl_vat_is_exact(make_raw, price_elements):
    records = [record(i, elements) for i, elements in enumerate(price_elements)]
    out = {k: v.collect() for k, v in transform_prices(make_raw(records, "prices")).items()}
    assert out["rejects"].height == 0
    expected = [
        (f"P{i}", e_index, c_index, c["price_excl_vat"], c["vat"],
         None if c["vat"] is None else c["price_excl_vat"] * (1 + c["vat"] / 100))
        for i, elements in enumerate(price_elements)
        for e_index, e in enumerate(elements)
        for c_index, c in enumerate(e["price_components"])
    ]
    got = out["price_components"].select(
        "price_id", "element_index", "component_index", "price_excl_vat", "vat", "price_incl_vat").rows()
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g[:3] == e[:3]
        assert g[3] == e[3]
        assert g[4] == e[4]
        assert g[5] == e[5]
    assert out["price_elements"].height == sum(len(e) for e in price_elements)
