-- Changes between consecutive snapshots, per connector and partner/product: 'added' (offer new at the
-- connector), 'removed', 'energy_price_changed' (unrestricted energy price incl. VAT differs) or
-- 'price_id_changed' (Eco-Movement regenerated the id: some other part of the price or product changed).
-- Derived from the stored changes, so the cost grows with what changed, not with the size of the market
-- times the days: only the offers (connector x partner x product) that hold a changed row on either date
-- are compared: a connector_prices row written on the later date, the row it replaced or removed, or a
-- row whose price's rows changed between the two dates (every other offer has the same price at the same
-- price on both dates, so it yields no row).
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
-- the versions of connector_prices, read once (the seeds and the offers below all need them)
cpv AS MATERIALIZED (
    SELECT location_id, evse_uid, connector_id, price_id, product_id, valid_from, valid_to
    FROM connector_prices_versions
),
summary AS MATERIALIZED (
    SELECT price_id, snapshot_date, partner, partner_id, product_id, product_name, currency, energy_price_incl_vat
    FROM price_summary_history
),
-- each pair's two sides: the later date (is_after) and the earlier one
side_dates AS (
    SELECT snapshot_date AS pair_date, previous_date, snapshot_date AS offer_date, true AS is_after FROM pairs
    UNION ALL
    SELECT snapshot_date AS pair_date, previous_date, previous_date AS offer_date, false AS is_after FROM pairs
),
seeds AS (
    -- a row written on the pair's later date, on that date
    SELECT c.location_id, c.evse_uid, c.connector_id, c.price_id, c.product_id, s.pair_date, s.offer_date
    FROM connector_prices_changes AS c
    JOIN side_dates AS s
        ON s.pair_date = c.snapshot_date AND s.is_after
    WHERE NOT c.deleted
    UNION ALL
    -- the row of the same key on the earlier date (replaced or removed)
    SELECT v.location_id, v.evse_uid, v.connector_id, v.price_id, v.product_id, s.pair_date, s.offer_date
    FROM connector_prices_changes AS c
    JOIN side_dates AS s
        ON s.pair_date = c.snapshot_date AND NOT s.is_after
    JOIN cpv AS v
        ON v.location_id = c.location_id AND v.evse_uid = c.evse_uid AND v.connector_id = c.connector_id
        AND v.price_id = c.price_id
        AND v.valid_from <= s.offer_date AND (v.valid_to IS NULL OR v.valid_to > s.offer_date)
    UNION ALL
    -- a row whose price changed between the two dates, on each date it is offered
    SELECT v.location_id, v.evse_uid, v.connector_id, v.price_id, v.product_id, s.pair_date, s.offer_date
    FROM changed_prices AS x
    JOIN side_dates AS s
        ON s.pair_date = x.snapshot_date
    JOIN cpv AS v
        ON v.price_id = x.price_id
        AND v.valid_from <= s.offer_date AND (v.valid_to IS NULL OR v.valid_to > s.offer_date)
    UNION ALL
    -- a pair whose price tables miss one of its dates: every row
    SELECT v.location_id, v.evse_uid, v.connector_id, v.price_id, v.product_id, s.pair_date, s.offer_date
    FROM incomplete AS x
    JOIN side_dates AS s
        ON s.pair_date = x.snapshot_date
    JOIN cpv AS v
        ON v.valid_from <= s.offer_date AND (v.valid_to IS NULL OR v.valid_to > s.offer_date)
),
-- the offers to compare: (pair, connector, partner, product) of every seed
compared AS (
    SELECT DISTINCT
        t.pair_date, t.location_id, t.evse_uid, t.connector_id,
        COALESCE(ps.partner_id, ps.partner, '') AS partner_key,
        COALESCE(ps.product_id, t.product_id, ps.product_name, '') AS product_key
    FROM seeds AS t
    LEFT JOIN summary AS ps
        ON ps.price_id = t.price_id AND ps.snapshot_date = t.offer_date
),
-- each compared connector on both dates of its pair (materialized, so that the versions are then
-- joined on the connector's key rather than on the date ranges alone)
connector_sides AS MATERIALIZED (
    SELECT t.pair_date, s.previous_date, s.is_after, s.offer_date, t.location_id, t.evse_uid, t.connector_id
    FROM (SELECT DISTINCT pair_date, location_id, evse_uid, connector_id FROM compared) AS t
    JOIN side_dates AS s
        ON s.pair_date = t.pair_date
),
offers AS (
    SELECT *
    FROM (
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
            ps.energy_price_incl_vat,
            COALESCE(ps.partner_id, ps.partner, '') AS partner_key,
            COALESCE(ps.product_id, v.product_id, ps.product_name, '') AS product_key
        FROM connector_sides AS s
        JOIN cpv AS v
            ON v.location_id = s.location_id AND v.evse_uid = s.evse_uid AND v.connector_id = s.connector_id
            AND v.valid_from <= s.offer_date AND (v.valid_to IS NULL OR v.valid_to > s.offer_date)
        LEFT JOIN summary AS ps
            ON ps.price_id = v.price_id AND ps.snapshot_date = s.offer_date
    ) AS o
    SEMI JOIN compared AS g
        ON g.pair_date = o.pair_date AND g.location_id = o.location_id AND g.evse_uid = o.evse_uid
        AND g.connector_id = o.connector_id AND g.partner_key = o.partner_key AND g.product_key = o.product_key
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
    AND a.partner_key = b.partner_key AND a.product_key = b.product_key
WHERE b.pair_date IS NULL OR a.pair_date IS NULL
    OR a.price_id IS DISTINCT FROM b.price_id
    OR a.energy_price_incl_vat IS DISTINCT FROM b.energy_price_incl_vat
