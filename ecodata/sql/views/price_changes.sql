-- Changes between consecutive snapshots, per connector and partner/product: 'added' (offer new at the
-- connector), 'removed', 'energy_price_changed' (unrestricted energy price incl. VAT differs) or
-- 'price_id_changed' (Eco-Movement regenerated the id: some other part of the price or product changed).
WITH dates AS (
    SELECT snapshot_date, lag(snapshot_date) OVER (ORDER BY snapshot_date) AS previous_date
    FROM (SELECT DISTINCT snapshot_date FROM connector_prices_history)
),
offers AS (
    SELECT
        cp.snapshot_date,
        cp.location_id,
        cp.evse_uid,
        cp.connector_id,
        s.partner,
        s.partner_id,
        COALESCE(s.product_id, cp.product_id) AS product_id,
        s.product_name,
        s.currency,
        cp.price_id,
        s.energy_price_incl_vat
    FROM connector_prices_history AS cp
    LEFT JOIN price_summary_history AS s
        ON s.price_id = cp.price_id AND s.snapshot_date = cp.snapshot_date
),
before AS (
    SELECT d.snapshot_date AS pair_date, d.previous_date, o.* EXCLUDE (snapshot_date)
    FROM dates AS d JOIN offers AS o ON o.snapshot_date = d.previous_date
),
after AS (
    SELECT d.snapshot_date AS pair_date, d.previous_date, o.* EXCLUDE (snapshot_date)
    FROM dates AS d JOIN offers AS o ON o.snapshot_date = d.snapshot_date
    WHERE d.previous_date IS NOT NULL
)
SELECT
    COALESCE(a.previous_date, b.previous_date) AS previous_snapshot_date,
    COALESCE(a.pair_date, b.pair_date) AS snapshot_date,
    COALESCE(a.location_id, b.location_id) AS location_id,
    COALESCE(a.evse_uid, b.evse_uid) AS evse_uid,
    COALESCE(a.connector_id, b.connector_id) AS connector_id,
    COALESCE(a.partner, b.partner) AS partner,
    COALESCE(a.partner_id, b.partner_id) AS partner_id,
    COALESCE(a.product_id, b.product_id) AS product_id,
    COALESCE(a.product_name, b.product_name) AS product_name,
    COALESCE(a.currency, b.currency) AS currency,
    b.price_id AS old_price_id,
    a.price_id AS new_price_id,
    b.energy_price_incl_vat AS old_energy_price_incl_vat,
    a.energy_price_incl_vat AS new_energy_price_incl_vat,
    CASE
        WHEN b.price_id IS NULL THEN 'added'
        WHEN a.price_id IS NULL THEN 'removed'
        WHEN a.energy_price_incl_vat IS DISTINCT FROM b.energy_price_incl_vat THEN 'energy_price_changed'
        ELSE 'price_id_changed'
    END AS change
FROM after AS a
FULL OUTER JOIN before AS b
    ON a.pair_date = b.pair_date
    AND a.location_id = b.location_id AND a.evse_uid = b.evse_uid AND a.connector_id = b.connector_id
    AND COALESCE(a.partner_id, a.partner, '') = COALESCE(b.partner_id, b.partner, '')
    AND COALESCE(a.product_id, a.product_name, '') = COALESCE(b.product_id, b.product_name, '')
WHERE b.pair_date IS NULL OR a.pair_date IS NULL
    OR a.price_id IS DISTINCT FROM b.price_id
    OR a.energy_price_incl_vat IS DISTINCT FROM b.energy_price_incl_vat
