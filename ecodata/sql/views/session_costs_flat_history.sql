-- Every (connector, price, reference session) the session fits, with its cost and the connector's and
-- price's descriptive columns, one row per key per kept day (session_costs_flat: the latest day). The
-- costs are stored once per distinct (price, session, profile) in session_price_costs; session_profiles
-- says which profile each kind of connector (power class, max power, amperage, time zone, power type)
-- gets for a session. The kind columns can be null, so they are matched null-safely, as the engine
-- does. A connector without a location is priced in UTC (time_zone null), as the engine does.
SELECT
    cp.location_id,
    cp.evse_uid,
    cp.connector_id,
    cp.price_id,
    sp.session,
    spc.currency,
    spc.energy_kwh,
    spc.charging_power_kw,
    spc.total_excl_vat,
    spc.total_incl_vat,
    spc.energy_cost_excl_vat,
    spc.time_cost_excl_vat,
    spc.parking_cost_excl_vat,
    spc.flat_cost_excl_vat,
    spc.reservation_cost_excl_vat,
    spc.energy_cost_incl_vat,
    spc.time_cost_incl_vat,
    spc.parking_cost_incl_vat,
    spc.flat_cost_incl_vat,
    spc.reservation_cost_incl_vat,
    spc.subscription_fee_per_session_incl_vat,
    spc.total_eur_excl_vat,
    spc.total_eur_incl_vat,
    spc.total_eur_incl_vat_with_subscription,
    l.country_code,
    l.country,
    c.power_class,
    p.partner,
    p.product_name,
    p.product_type,
    cp.snapshot_date
FROM connector_prices_history AS cp
JOIN connectors_history AS c
    ON c.location_id = cp.location_id
    AND c.evse_uid = cp.evse_uid
    AND c.connector_id = cp.connector_id
    AND c.snapshot_date = cp.snapshot_date
LEFT JOIN locations_history AS l
    ON l.location_id = c.location_id
    AND l.snapshot_date = c.snapshot_date
JOIN session_profiles_history AS sp
    ON sp.power_class IS NOT DISTINCT FROM c.power_class
    AND sp.max_power_kw IS NOT DISTINCT FROM c.max_power_kw
    AND sp.amperage IS NOT DISTINCT FROM c.amperage
    AND sp.time_zone IS NOT DISTINCT FROM l.time_zone
    AND sp.power_type IS NOT DISTINCT FROM c.power_type
    AND sp.snapshot_date = cp.snapshot_date
JOIN session_price_costs_history AS spc
    ON spc.price_id = cp.price_id
    AND spc.session = sp.session
    AND spc.profile = sp.profile
    AND spc.snapshot_date = cp.snapshot_date
LEFT JOIN prices_history AS p
    ON p.price_id = cp.price_id
    AND p.snapshot_date = cp.snapshot_date
