-- connector_prices rows (latest snapshot) whose connector or price is missing: the real API has such
-- orphans; they stay in the tables and are listed here with which side is missing.
SELECT location_id, evse_uid, connector_id, price_id, connector_missing, price_missing, snapshot_date
FROM connector_prices_flat
WHERE connector_missing OR price_missing
