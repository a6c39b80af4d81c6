-- Reference-session costs compared across markets (latest snapshot), one row per country x power class
-- x product type x session: connector x price pairs, distinct prices, and the p10 / median / p90 of the
-- session cost incl. VAT in EUR (without and, for the median, with the amortised subscription fee).
-- Per country x power class x session it also names the cheapest MSP product (lowest median cost incl.
-- VAT and subscription, EUR) and gives the ad hoc vs best-MSP spread: ad hoc median minus that MSP
-- median (EUR) and as a ratio. Costs come from the pricing engine (session_costs_flat, exact decimals);
-- the quantiles are computed in DOUBLE and every output amount and ratio is rounded to 4 decimals at the
-- end, so reports show 19.5171, not binary-float noise such as 19.517100000000003.
WITH costs AS (
    SELECT
        sc.country_code,
        sc.power_class,
        sc.product_type,
        COALESCE(sc.partner, '?') || ' / ' || COALESCE(sc.product_name, '?') AS product,
        sc.session,
        sc.price_id,
        CAST(sc.total_eur_incl_vat AS DOUBLE) AS eur,
        CAST(sc.total_eur_incl_vat_with_subscription AS DOUBLE) AS eur_with_subscription,
        sc.snapshot_date
    FROM session_costs_flat AS sc  -- session_costs with the connector's and price's columns, one join
),
dist AS (
    SELECT
        country_code,
        power_class,
        product_type,
        session,
        count(*) AS pairs,
        count(DISTINCT price_id) AS prices,
        quantile_cont(eur, 0.1) AS eur_incl_vat_p10,
        quantile_cont(eur, 0.5) AS eur_incl_vat_median,
        quantile_cont(eur, 0.9) AS eur_incl_vat_p90,
        quantile_cont(eur_with_subscription, 0.5) AS eur_incl_vat_with_subscription_median,
        max(snapshot_date) AS snapshot_date
    FROM costs
    GROUP BY country_code, power_class, product_type, session
),
msp AS (
    SELECT country_code, power_class, session, product, quantile_cont(eur_with_subscription, 0.5) AS median_eur
    FROM costs
    WHERE product_type = 'msp'
    GROUP BY country_code, power_class, session, product
),
best AS (
    SELECT
        country_code,
        power_class,
        session,
        arg_min(product, median_eur) AS cheapest_msp,
        min(median_eur) AS cheapest_msp_median_eur
    FROM msp
    GROUP BY country_code, power_class, session
),
adhoc AS (
    SELECT country_code, power_class, session, eur_incl_vat_median AS adhoc_median_eur
    FROM dist
    WHERE product_type = 'adhoc'
)
SELECT
    d.country_code,
    d.power_class,
    d.product_type,
    d.session,
    d.pairs,
    d.prices,
    round(d.eur_incl_vat_p10, 4) AS eur_incl_vat_p10,
    round(d.eur_incl_vat_median, 4) AS eur_incl_vat_median,
    round(d.eur_incl_vat_p90, 4) AS eur_incl_vat_p90,
    round(d.eur_incl_vat_with_subscription_median, 4) AS eur_incl_vat_with_subscription_median,
    b.cheapest_msp,
    round(b.cheapest_msp_median_eur, 4) AS cheapest_msp_median_eur,
    round(a.adhoc_median_eur - b.cheapest_msp_median_eur, 4) AS adhoc_vs_best_msp_eur,
    round(a.adhoc_median_eur / NULLIF(b.cheapest_msp_median_eur, 0), 4) AS adhoc_vs_best_msp_ratio,
    d.snapshot_date
FROM dist AS d
LEFT JOIN best AS b
    ON b.country_code IS NOT DISTINCT FROM d.country_code
    AND b.power_class IS NOT DISTINCT FROM d.power_class
    AND b.session = d.session
LEFT JOIN adhoc AS a
    ON a.country_code IS NOT DISTINCT FROM d.country_code
    AND a.power_class IS NOT DISTINCT FROM d.power_class
    AND a.session = d.session
ORDER BY d.country_code, d.power_class, d.session, d.product_type
