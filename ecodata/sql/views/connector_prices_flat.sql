-- One row per connector x price (latest snapshot): the connector with its EVSE and location fields,
-- and the price's partner and product. LEFT joins keep orphans visible (connector_missing/price_missing).
SELECT
    cp.location_id,
    cp.evse_uid,
    cp.connector_id,
    cp.price_id,
    cp.price_index,
    l.country_code,
    l.country,
    l.city,
    l.postal_code,
    l.latitude,
    l.longitude,
    l.location_type,
    l.time_zone,
    l.operator_name,
    l.operator_id,
    l.brand_name,
    l.access_type,
    e.evse_id,
    e.status AS evse_status,
    c.standard,
    c.format,
    c.power_type,
    c.max_power_kw,
    c.power_class,
    p.partner,
    p.partner_id,
    COALESCE(p.product_id, cp.product_id) AS product_id,
    p.product_name,
    p.product_type,
    p.subscription_type,
    p.subscription_fee_excl_vat,
    p.currency,
    c.connector_id IS NULL AS connector_missing,
    p.price_id IS NULL AS price_missing,
    cp.snapshot_date
FROM connector_prices AS cp
LEFT JOIN connectors AS c
    ON c.location_id = cp.location_id AND c.evse_uid = cp.evse_uid AND c.connector_id = cp.connector_id
LEFT JOIN evses AS e
    ON e.location_id = cp.location_id AND e.evse_uid = cp.evse_uid
LEFT JOIN locations AS l
    ON l.location_id = cp.location_id
LEFT JOIN prices AS p
    ON p.price_id = cp.price_id
