-- Per country x power class x product type (x currency), latest snapshot: connectors, prices, and the
-- p10 / median / p90 of the unrestricted energy price per kWh incl. VAT over connector x price pairs, in
-- the local currency and in EUR (reference rate valid on the snapshot date, see fx_rates; the earliest
-- rate for older dates), plus the shares of distinct prices that carry a time, parking or flat fee.
-- Connector x price pairs whose price is missing (orphans) are left out; see connector_price_orphans.
-- Quantiles are computed in DOUBLE; every output price per kWh is rounded at the end to 6 decimals (the
-- precision of the API's unit prices), so no binary-float noise such as 0.30000000000000004 reaches a report.
-- Outliers (price_outliers, by the policy in price_outlier_policy) are flagged, never dropped: the columns
-- above keep every pair; outlier_prices / outlier_share (share of distinct prices) and outlier_pairs /
-- outlier_share_connectors (share of connector x price pairs) say how many were flagged, and the EUR
-- statistics beside them are weighted two ways, each with (raw) and without (_clean) the flagged prices:
-- by connectors (every connector x price pair counts once, as the quantiles above) and by prices (every
-- distinct price counts once, however many connectors offer it: the suffix _by_price).
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
        COALESCE(o.is_outlier, false) AS is_outlier,
        s.has_time_fee,
        s.has_parking_fee,
        s.has_flat_fee
    FROM connector_prices AS cp
    JOIN price_summary AS s
        ON s.price_id = cp.price_id
    LEFT JOIN price_outliers AS o
        ON o.price_id = cp.price_id
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
        avg(energy) AS mean,
        count(*) AS pairs,
        count(*) FILTER (WHERE is_outlier) AS outlier_pairs,
        quantile_cont(energy, 0.1) FILTER (WHERE NOT is_outlier) AS p10_clean,
        quantile_cont(energy, 0.5) FILTER (WHERE NOT is_outlier) AS median_clean,
        quantile_cont(energy, 0.9) FILTER (WHERE NOT is_outlier) AS p90_clean,
        avg(energy) FILTER (WHERE NOT is_outlier) AS mean_clean,
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
        count(*) FILTER (WHERE has_flat_fee) / count(*) AS share_flat_fee,
        count(*) FILTER (WHERE is_outlier) AS outlier_prices,
        quantile_cont(energy, 0.5) AS median_by_price,
        avg(energy) AS mean_by_price,
        quantile_cont(energy, 0.5) FILTER (WHERE NOT is_outlier) AS median_by_price_clean,
        avg(energy) FILTER (WHERE NOT is_outlier) AS mean_by_price_clean
    FROM (SELECT DISTINCT country_code, power_class, product_type, currency, price_id,
                 has_time_fee, has_parking_fee, has_flat_fee, energy, is_outlier
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
    p.outlier_prices,
    p.outlier_prices / p.prices AS outlier_share,
    d.outlier_pairs,
    d.outlier_pairs / d.pairs AS outlier_share_connectors,
    round(d.mean / d.units_per_eur, 6) AS energy_incl_vat_eur_mean,
    round(d.p10_clean / d.units_per_eur, 6) AS energy_incl_vat_eur_p10_clean,
    round(d.median_clean / d.units_per_eur, 6) AS energy_incl_vat_eur_median_clean,
    round(d.p90_clean / d.units_per_eur, 6) AS energy_incl_vat_eur_p90_clean,
    round(d.mean_clean / d.units_per_eur, 6) AS energy_incl_vat_eur_mean_clean,
    round(p.median_by_price / d.units_per_eur, 6) AS energy_incl_vat_eur_median_by_price,
    round(p.mean_by_price / d.units_per_eur, 6) AS energy_incl_vat_eur_mean_by_price,
    round(p.median_by_price_clean / d.units_per_eur, 6) AS energy_incl_vat_eur_median_by_price_clean,
    round(p.mean_by_price_clean / d.units_per_eur, 6) AS energy_incl_vat_eur_mean_by_price_clean,
    d.snapshot_date
FROM rated AS d
JOIN connector_counts AS k
    ON k.country_code IS NOT DISTINCT FROM d.country_code AND k.power_class IS NOT DISTINCT FROM d.power_class
    AND k.product_type IS NOT DISTINCT FROM d.product_type AND k.currency IS NOT DISTINCT FROM d.currency
JOIN price_counts AS p
    ON p.country_code IS NOT DISTINCT FROM d.country_code AND p.power_class IS NOT DISTINCT FROM d.power_class
    AND p.product_type IS NOT DISTINCT FROM d.product_type AND p.currency IS NOT DISTINCT FROM d.currency
ORDER BY d.country_code, d.power_class, d.product_type, d.currency
