-- Per country x power class x product type (x currency), latest snapshot: connectors, prices, and the
-- p10 / median / p90 of the unrestricted energy price per kWh incl. VAT over connector x price pairs, in
-- the local currency and in EUR (reference rate valid on the snapshot date, see fx_rates), plus the
-- shares of distinct prices that carry a time, parking or flat fee.
WITH pairs AS (
    SELECT
        f.country_code,
        f.power_class,
        f.product_type,
        f.currency,
        f.location_id,
        f.evse_uid,
        f.connector_id,
        f.price_id,
        f.snapshot_date,
        s.energy_price_incl_vat,
        s.has_time_fee,
        s.has_parking_fee,
        s.has_flat_fee
    FROM connector_prices_flat AS f
    JOIN price_summary AS s
        ON s.price_id = f.price_id
),
earliest AS (
    SELECT currency, arg_min(units_per_eur, rate_date) AS units_per_eur
    FROM fx_rates
    GROUP BY currency
),
converted AS (
    SELECT
        pairs.*,
        CAST(pairs.energy_price_incl_vat AS DOUBLE)
            / CAST(COALESCE(r.units_per_eur, e.units_per_eur) AS DOUBLE) AS energy_price_incl_vat_eur
    FROM pairs
    ASOF LEFT JOIN fx_rates AS r
        ON r.currency = pairs.currency AND pairs.snapshot_date >= r.rate_date
    LEFT JOIN earliest AS e
        ON e.currency = pairs.currency
)
SELECT
    country_code,
    power_class,
    product_type,
    currency,
    count(DISTINCT (location_id, evse_uid, connector_id)) AS connectors,
    count(DISTINCT price_id) AS prices,
    count(energy_price_incl_vat) AS priced_pairs,
    quantile_cont(CAST(energy_price_incl_vat AS DOUBLE), 0.1) AS energy_incl_vat_p10,
    quantile_cont(CAST(energy_price_incl_vat AS DOUBLE), 0.5) AS energy_incl_vat_median,
    quantile_cont(CAST(energy_price_incl_vat AS DOUBLE), 0.9) AS energy_incl_vat_p90,
    quantile_cont(energy_price_incl_vat_eur, 0.1) AS energy_incl_vat_eur_p10,
    quantile_cont(energy_price_incl_vat_eur, 0.5) AS energy_incl_vat_eur_median,
    quantile_cont(energy_price_incl_vat_eur, 0.9) AS energy_incl_vat_eur_p90,
    count(DISTINCT price_id) FILTER (WHERE has_time_fee) / count(DISTINCT price_id) AS share_time_fee,
    count(DISTINCT price_id) FILTER (WHERE has_parking_fee) / count(DISTINCT price_id) AS share_parking_fee,
    count(DISTINCT price_id) FILTER (WHERE has_flat_fee) / count(DISTINCT price_id) AS share_flat_fee,
    max(snapshot_date) AS snapshot_date
FROM converted
GROUP BY country_code, power_class, product_type, currency
ORDER BY country_code, power_class, product_type, currency
