-- Market concentration per area (latest snapshot; areas as in market_concentration_shares: countries and
-- half-degree grid regions): operators, the Herfindahl-Hirschman index of the operators' shares in percent
-- (0-10,000 scale: 10,000 = one operator; US/EU antitrust practice reads > 2,500 as highly concentrated) of
-- locations, connectors and HPC connectors, the largest operator by connectors and its share, and beside
-- them the median ad hoc energy price per kWh incl. VAT in EUR over the area's connector x ad hoc price
-- pairs (the unrestricted energy price of price_summary, converted with the latest fx_rates rate on or
-- before the snapshot date, else the earliest). HHIs are computed from unrounded shares, rounded to 2
-- decimals; the price to 6.
WITH shares AS (
    SELECT
        s.*,
        100.0 * s.locations / NULLIF(sum(s.locations) OVER (PARTITION BY s.area_level, s.area), 0) AS sl,
        100.0 * s.connectors / NULLIF(sum(s.connectors) OVER (PARTITION BY s.area_level, s.area), 0) AS sc,
        100.0 * s.hpc_connectors / NULLIF(sum(s.hpc_connectors) OVER (PARTITION BY s.area_level, s.area), 0) AS sh,
        row_number() OVER (PARTITION BY s.area_level, s.area ORDER BY s.connectors DESC, s.operator) AS size_rank
    FROM market_concentration_shares AS s
),
hhi AS (
    SELECT
        area_level, area, country_code,
        count(*) AS operators,
        sum(locations) AS locations,
        sum(connectors) AS connectors,
        sum(hpc_connectors) AS hpc_connectors,
        round(sum(sl * sl), 2) AS hhi_locations,
        round(sum(sc * sc), 2) AS hhi_connectors,
        round(sum(sh * sh), 2) AS hhi_hpc_connectors,
        max(CASE WHEN size_rank = 1 THEN operator END) AS largest_operator,
        round(max(CASE WHEN size_rank = 1 THEN sc END), 4) AS largest_operator_share_connectors,
        max(snapshot_date) AS snapshot_date
    FROM shares
    GROUP BY area_level, area, country_code
),
rated AS (
    SELECT
        p.price_id,
        CAST(p.energy_price_incl_vat AS DOUBLE) / CAST(r.units_per_eur AS DOUBLE) AS eur_per_kwh,
        row_number() OVER (
            PARTITION BY p.price_id
            ORDER BY CASE WHEN r.rate_date <= p.snapshot_date THEN 0 ELSE 1 END,
                     CASE WHEN r.rate_date <= p.snapshot_date THEN r.rate_date END DESC,
                     r.rate_date
        ) AS rate_rank
    FROM price_summary AS p
    JOIN fx_rates AS r
        ON r.currency = p.currency
    WHERE p.product_type = 'adhoc' AND p.energy_price_incl_vat IS NOT NULL
),
located AS (
    SELECT
        f.country_code,
        CASE WHEN f.latitude IS NOT NULL AND f.longitude IS NOT NULL THEN
            f.country_code || ' ' || CAST(CAST(floor(f.latitude * 2) / 2 AS DECIMAL(5, 1)) AS VARCHAR)
            || ' ' || CAST(CAST(floor(f.longitude * 2) / 2 AS DECIMAL(5, 1)) AS VARCHAR)
        END AS region,
        r.eur_per_kwh
    FROM connector_prices_flat AS f
    JOIN rated AS r
        ON r.price_id = f.price_id AND r.rate_rank = 1
),
prices AS (
    SELECT 'country' AS area_level, country_code AS area, quantile_cont(eur_per_kwh, 0.5) AS median_eur
    FROM located
    GROUP BY country_code
    UNION ALL
    SELECT 'region' AS area_level, region AS area, quantile_cont(eur_per_kwh, 0.5) AS median_eur
    FROM located
    WHERE region IS NOT NULL
    GROUP BY region
)
SELECT
    h.area_level,
    h.area,
    h.country_code,
    h.operators,
    h.locations,
    h.connectors,
    h.hpc_connectors,
    h.hhi_locations,
    h.hhi_connectors,
    h.hhi_hpc_connectors,
    h.largest_operator,
    h.largest_operator_share_connectors,
    round(p.median_eur, 6) AS adhoc_energy_incl_vat_eur_median,
    h.snapshot_date
FROM hhi AS h
LEFT JOIN prices AS p
    ON p.area_level = h.area_level AND p.area = h.area
ORDER BY h.area_level, h.area
