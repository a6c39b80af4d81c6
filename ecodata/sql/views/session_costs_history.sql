-- session_costs: the cost of each reference session for every (connector, price) pair it fits, one row
-- per key per kept day (the latest twin: the latest day), with exactly the columns of the table the
-- engine once stored per connector. Computed from session_costs_flat (stored per distinct price,
-- session and profile, joined to the connectors).
SELECT
    location_id,
    evse_uid,
    connector_id,
    price_id,
    session,
    currency,
    energy_kwh,
    charging_power_kw,
    total_excl_vat,
    total_incl_vat,
    energy_cost_excl_vat,
    time_cost_excl_vat,
    parking_cost_excl_vat,
    flat_cost_excl_vat,
    reservation_cost_excl_vat,
    energy_cost_incl_vat,
    time_cost_incl_vat,
    parking_cost_incl_vat,
    flat_cost_incl_vat,
    reservation_cost_incl_vat,
    subscription_fee_per_session_incl_vat,
    total_eur_excl_vat,
    total_eur_incl_vat,
    total_eur_incl_vat_with_subscription,
    snapshot_date
FROM session_costs_flat_history
