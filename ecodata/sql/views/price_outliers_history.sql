-- Per price and snapshot (price_outliers is derived from this file for the latest snapshot): the measures
-- the outlier policy judges (price_outlier_policy), in the price's currency and in EUR excl. VAT, and the
-- flag: is_outlier when any measure lies outside its bounds, outlier_reason naming each one
-- (energy_below_min, energy_above_max, time_above_max, parking_time_above_max, flat_above_max; ', '-separated
-- in the policy's order). Nothing is dropped: every price has a row. A price whose currency has no rate in
-- fx_rates is not judged (is_outlier false, units_per_eur null); one without a measure is not judged on it.
-- The EUR columns are rounded to 6 decimals for reading; the flags compare the exact local amounts.
WITH earliest AS (
    SELECT currency, arg_min(units_per_eur, rate_date) AS units_per_eur
    FROM fx_rates
    GROUP BY currency
),
rated AS (
    SELECT p.price_id, p.currency, p.snapshot_date, COALESCE(r.units_per_eur, e.units_per_eur) AS units_per_eur
    FROM prices_history AS p
    ASOF LEFT JOIN fx_rates AS r
        ON r.currency = p.currency AND p.snapshot_date >= r.rate_date
    LEFT JOIN earliest AS e
        ON e.currency = p.currency
),
fees AS (
    SELECT
        price_id,
        snapshot_date,
        max(price_excl_vat) FILTER (WHERE type = 'TIME') AS time_fee,
        max(price_excl_vat) FILTER (WHERE type = 'PARKING_TIME') AS parking_time_fee,
        max(price_excl_vat) FILTER (WHERE type = 'FLAT') AS flat_fee
    FROM price_components_history
    GROUP BY price_id, snapshot_date
),
measures AS (
    SELECT
        r.price_id,
        r.currency,
        r.units_per_eur,
        s.energy_price_excl_vat AS energy,
        f.time_fee AS time,
        f.parking_time_fee AS parking_time,
        f.flat_fee AS flat,
        r.snapshot_date
    FROM rated AS r
    LEFT JOIN price_summary_history AS s
        ON s.price_id = r.price_id AND s.snapshot_date = r.snapshot_date
    LEFT JOIN fees AS f
        ON f.price_id = r.price_id AND f.snapshot_date = r.snapshot_date
),
judged AS (
    SELECT
        m.price_id,
        m.snapshot_date,
        -- the bounds widened before the product: DECIMAL(18, 6) x DECIMAL(18, 8) overflows DuckDB's
        -- 18-digit multiplication from 10^4 local units (60 EUR/h at 400 HUF per EUR is 24,000)
        string_agg(
            CASE
                WHEN v.value < CAST(pol.min_eur AS DECIMAL(38, 6)) * m.units_per_eur THEN pol.measure || '_below_min'
                WHEN v.value > CAST(pol.max_eur AS DECIMAL(38, 6)) * m.units_per_eur THEN pol.measure || '_above_max'
            END, ', ' ORDER BY pol.position) AS outlier_reason
    FROM measures AS m
    CROSS JOIN LATERAL (VALUES ('energy', m.energy), ('time', m.time), ('parking_time', m.parking_time),
                               ('flat', m.flat)) AS v(measure, value)
    JOIN price_outlier_policy AS pol
        ON pol.measure = v.measure
    GROUP BY m.price_id, m.snapshot_date
)
SELECT
    m.price_id,
    m.currency,
    m.units_per_eur,
    m.energy AS energy_price_excl_vat,
    CAST(m.energy / m.units_per_eur AS DECIMAL(18, 6)) AS energy_eur_excl_vat,
    CAST(m.time / m.units_per_eur AS DECIMAL(18, 6)) AS time_eur_excl_vat,
    CAST(m.parking_time / m.units_per_eur AS DECIMAL(18, 6)) AS parking_time_eur_excl_vat,
    CAST(m.flat / m.units_per_eur AS DECIMAL(18, 6)) AS flat_eur_excl_vat,
    j.outlier_reason IS NOT NULL AS is_outlier,
    j.outlier_reason,
    m.snapshot_date
FROM measures AS m
JOIN judged AS j
    ON j.price_id = m.price_id AND j.snapshot_date = m.snapshot_date
