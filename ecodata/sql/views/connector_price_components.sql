-- One row per connector x price x price component (latest snapshot), with the element's restrictions:
-- everything needed to read or re-price what a connector costs under each product.
SELECT
    f.location_id,
    f.evse_uid,
    f.connector_id,
    f.price_id,
    f.country_code,
    f.power_type,
    f.max_power_kw,
    f.power_class,
    f.partner,
    f.partner_id,
    f.product_id,
    f.product_name,
    f.product_type,
    f.currency,
    pc.element_index,
    pc.component_index,
    pc.type AS component_type,
    pc.price_excl_vat,
    pc.vat,
    pc.price_incl_vat,
    pc.step_size,
    pe.start_time,
    pe.end_time,
    pe.start_date,
    pe.end_date,
    pe.min_kwh,
    pe.max_kwh,
    pe.min_current_a,
    pe.max_current_a,
    pe.min_power_kw,
    pe.max_power_kw AS restriction_max_power_kw,
    pe.min_duration_s,
    pe.max_duration_s,
    pe.day_of_week,
    pe.reservation,
    pe.overstay_duration_s,
    pe.restriction_min_price,
    pe.restriction_max_price,
    pe.emsp_contract_date,
    f.snapshot_date
FROM connector_prices_flat AS f
JOIN price_components AS pc
    ON pc.price_id = f.price_id
JOIN price_elements AS pe
    ON pe.price_id = pc.price_id AND pe.element_index = pc.element_index
