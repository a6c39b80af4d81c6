-- connector_prices rows (latest snapshot) whose connector or price is missing: the real API has such
-- orphans; they stay in the tables and are listed here with which side is missing.
SELECT
    cp.location_id,
    cp.evse_uid,
    cp.connector_id,
    cp.price_id,
    c.connector_id IS NULL AS connector_missing,
    p.price_id IS NULL AS price_missing,
    cp.snapshot_date
FROM connector_prices AS cp
LEFT JOIN connectors AS c
    ON c.location_id = cp.location_id AND c.evse_uid = cp.evse_uid AND c.connector_id = cp.connector_id
LEFT JOIN prices AS p
    ON p.price_id = cp.price_id
WHERE c.connector_id IS NULL OR p.price_id IS NULL
