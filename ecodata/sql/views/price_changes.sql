-- Changes between consecutive snapshots, per connector and partner/product: 'added' (offer new at the
-- connector), 'removed', 'energy_price_changed' (unrestricted energy price incl. VAT differs) or
-- 'price_id_changed' (Eco-Movement regenerated the id: some other part of the price or product changed).
-- Derived from the stored changes: only the connectors whose connector_prices rows changed between the two
-- snapshots, or that offer on either date a price whose rows changed between them, are compared (every
-- other connector offers the same prices at the same price on both dates), so the cost grows with what
-- changed, not with the size of the market times the days.
WITH dates AS (
    SELECT snapshot_date, lag(snapshot_date) OVER (ORDER BY snapshot_date) AS previous_date
    FROM table_dates
    WHERE table_name = 'connector_prices'
),
pairs AS (
    SELECT * FROM dates WHERE previous_date IS NOT NULL
),
price_days AS (
    -- the dates every price table keeps (a pair with another date compares every connector)
    SELECT snapshot_date FROM table_dates
    WHERE table_name IN ('prices', 'price_elements', 'price_components')
    GROUP BY snapshot_date
    HAVING count(*) = 3
),
incomplete AS (
    SELECT * FROM pairs
    WHERE snapshot_date NOT IN (SELECT snapshot_date FROM price_days)
        OR previous_date NOT IN (SELECT snapshot_date FROM price_days)
),
changed_prices AS (
    SELECT DISTINCT c.price_id, p.snapshot_date, p.previous_date
    FROM (
        SELECT price_id, snapshot_date FROM prices_changes
        UNION ALL SELECT price_id, snapshot_date FROM price_elements_changes
        UNION ALL SELECT price_id, snapshot_date FROM price_components_changes
    ) AS c
    JOIN pairs AS p
        ON c.snapshot_date > p.previous_date AND c.snapshot_date <= p.snapshot_date
),
touched AS (
    SELECT c.location_id, c.evse_uid, c.connector_id, c.snapshot_date
    FROM connector_prices_changes AS c
    JOIN pairs AS p
        ON p.snapshot_date = c.snapshot_date
    UNION
    SELECT v.location_id, v.evse_uid, v.connector_id, x.snapshot_date
    FROM connector_prices_versions AS v
    JOIN changed_prices AS x
        ON x.price_id = v.price_id
    WHERE (v.valid_from <= x.snapshot_date AND (v.valid_to IS NULL OR v.valid_to > x.snapshot_date))
        OR (v.valid_from <= x.previous_date AND (v.valid_to IS NULL OR v.valid_to > x.previous_date))
    UNION
    SELECT v.location_id, v.evse_uid, v.connector_id, x.snapshot_date
    FROM connector_prices_versions AS v
    JOIN incomplete AS x
        ON (v.valid_from <= x.snapshot_date AND (v.valid_to IS NULL OR v.valid_to > x.snapshot_date))
        OR (v.valid_from <= x.previous_date AND (v.valid_to IS NULL OR v.valid_to > x.previous_date))
),
sides AS (
    -- each touched connector on both dates of its pair
    SELECT t.location_id, t.evse_uid, t.connector_id, t.snapshot_date AS pair_date, p.previous_date,
        t.snapshot_date AS offer_date, true AS is_after
    FROM touched AS t JOIN pairs AS p ON p.snapshot_date = t.snapshot_date
    UNION ALL
    SELECT t.location_id, t.evse_uid, t.connector_id, t.snapshot_date AS pair_date, p.previous_date,
        p.previous_date AS offer_date, false AS is_after
    FROM touched AS t JOIN pairs AS p ON p.snapshot_date = t.snapshot_date
),
offers AS (
    SELECT
        s.pair_date,
        s.previous_date,
        s.is_after,
        v.location_id,
        v.evse_uid,
        v.connector_id,
        ps.partner,
        ps.partner_id,
        COALESCE(ps.product_id, v.product_id) AS product_id,
        ps.product_name,
        ps.currency,
        v.price_id,
        ps.energy_price_incl_vat
    FROM sides AS s
    JOIN connector_prices_versions AS v
        ON v.location_id = s.location_id AND v.evse_uid = s.evse_uid AND v.connector_id = s.connector_id
        AND v.valid_from <= s.offer_date AND (v.valid_to IS NULL OR v.valid_to > s.offer_date)
    LEFT JOIN price_summary_history AS ps
        ON ps.price_id = v.price_id AND ps.snapshot_date = s.offer_date
),
after AS (
    SELECT * EXCLUDE (is_after) FROM offers WHERE is_after
),
before AS (
    SELECT * EXCLUDE (is_after) FROM offers WHERE NOT is_after
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
