-- Per country x power class x product type (x currency), latest snapshot: connectors, prices, and the
-- p10 / median / p90 of the unrestricted energy price per kWh incl. VAT over connector x price pairs, in
-- the local currency and in EUR (reference rate valid on the snapshot date, see fx_rates; the earliest
-- rate for older dates), plus the shares of distinct prices that carry a time, parking or flat fee.
-- Connector x price pairs whose price is missing (orphans) are left out; see connector_price_orphans.
-- Quantiles are computed in DOUBLE; every output price per kWh is rounded at the end to 6 decimals (the
-- precision of the API's unit prices), so no binary-float noise such as 0.30000000000000004 reaches a report.
WITH pairs AS (
    SELECT
        l.country_code,
        c.power_class,
        s.product_type,
        s.currency,
        cp.location_id,
        cp.evse_uid,
        cp.connector_id,
        cp.price_id,
        cp.snapshot_date,
        CAST(s.energy_price_incl_vat AS DOUBLE) AS energy,
        s.has_time_fee,
        s.has_parking_fee,
        s.has_flat_fee
    FROM connector_prices AS cp
    JOIN price_summary AS s
        ON s.price_id = cp.price_id
    LEFT JOIN connectors AS c
        ON c.location_id = cp.location_id AND c.evse_uid = cp.evse_uid AND c.connector_id = cp.connector_id
    LEFT JOIN locations AS l
        ON l.location_id = cp.location_id
),
distribution AS (
    SELECT
        country_code, power_class, product_type, currency,
        count(energy) AS priced_pairs,
        quantile_cont(energy, 0.1) AS p10,
        quantile_cont(energy, 0.5) AS median,
        quantile_cont(energy, 0.9) AS p90,
        max(snapshot_date) AS snapshot_date
    FROM pairs
    GROUP BY ALL
),
connector_counts AS (
    SELECT country_code, power_class, product_type, currency, count(*) AS connectors
    FROM (SELECT DISTINCT country_code, power_class, product_type, currency, location_id, evse_uid, connector_id
          FROM pairs)
    GROUP BY ALL
),
price_counts AS (
    SELECT
        country_code, power_class, product_type, currency,
        count(*) AS prices,
        count(*) FILTER (WHERE has_time_fee) / count(*) AS share_time_fee,
        count(*) FILTER (WHERE has_parking_fee) / count(*) AS share_parking_fee,
        count(*) FILTER (WHERE has_flat_fee) / count(*) AS share_flat_fee
    FROM (SELECT DISTINCT country_code, power_class, product_type, currency, price_id,
                 has_time_fee, has_parking_fee, has_flat_fee
          FROM pairs)
    GROUP BY ALL
),
earliest AS (
    SELECT currency, arg_min(units_per_eur, rate_date) AS units_per_eur
    FROM fx_rates
    GROUP BY currency
),
rated AS (
    -- One rate per group: the EUR quantiles are the local ones divided by it (a positive scale).
    SELECT d.*, CAST(COALESCE(r.units_per_eur, e.units_per_eur) AS DOUBLE) AS units_per_eur
    FROM distribution AS d
    ASOF LEFT JOIN fx_rates AS r
        ON r.currency = d.currency AND d.snapshot_date >= r.rate_date
    LEFT JOIN earliest AS e
        ON e.currency = d.currency
)
SELECT
    d.country_code,
    d.power_class,
    d.product_type,
    d.currency,
    k.connectors,
    p.prices,
    d.priced_pairs,
    round(d.p10, 6) AS energy_incl_vat_p10,
    round(d.median, 6) AS energy_incl_vat_median,
    round(d.p90, 6) AS energy_incl_vat_p90,
    round(d.p10 / d.units_per_eur, 6) AS energy_incl_vat_eur_p10,
    round(d.median / d.units_per_eur, 6) AS energy_incl_vat_eur_median,
    round(d.p90 / d.units_per_eur, 6) AS energy_incl_vat_eur_p90,
    p.share_time_fee,
    p.share_parking_fee,
    p.share_flat_fee,
    d.snapshot_date
FROM rated AS d
JOIN connector_counts AS k
    ON k.country_code IS NOT DISTINCT FROM d.country_code AND k.power_class IS NOT DISTINCT FROM d.power_class
    AND k.product_type IS NOT DISTINCT FROM d.product_type AND k.currency IS NOT DISTINCT FROM d.currency
JOIN price_counts AS p
    ON p.country_code IS NOT DISTINCT FROM d.country_code AND p.power_class IS NOT DISTINCT FROM d.power_class
    AND p.product_type IS NOT DISTINCT FROM d.product_type AND p.currency IS NOT DISTINCT FROM d.currency
ORDER BY d.country_code, d.power_class, d.product_type, d.currency
