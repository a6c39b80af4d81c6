-- Reference-session costs compared across markets (latest snapshot), one row per country x power class
-- x product type x session: connector x price pairs, distinct prices, and the p10 / median / p90 of the
-- session cost incl. VAT in EUR (without and, for the median, with the amortised subscription fee).
-- Per country x power class x session it also names the cheapest MSP product (lowest median cost incl.
-- VAT and subscription, EUR; on a tie the first by name, so the answer does not change from run to run
-- or engine to engine) and gives the ad hoc vs best-MSP spread: ad hoc median minus that MSP median
-- (EUR) and as a ratio. Costs come from the pricing engine (session_costs_flat, exact decimals);
-- the quantiles are computed in DOUBLE and every output amount and ratio is rounded to 4 decimals at the
-- end, so reports show 19.5171, not binary-float noise such as 19.517100000000003. The costs are read once
-- (one GROUPING SETS pass, then windows over its small result, no CTE used twice), so a filter on session
-- or country reaches the join of the stored costs to the connectors instead of waiting above a
-- materialised CTE.
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
groups AS (
    -- one pass over the costs: the distribution per product type (kind 1) and, per MSP product, the
    -- median with subscription (kind 2)
    SELECT
        country_code,
        power_class,
        product_type,
        product,
        session,
        GROUPING(product_type, product) AS kind,
        count(*) AS pairs,
        count(DISTINCT price_id) AS prices,
        quantile_cont(eur, 0.1) AS eur_incl_vat_p10,
        quantile_cont(eur, 0.5) AS eur_incl_vat_median,
        quantile_cont(eur, 0.9) AS eur_incl_vat_p90,
        quantile_cont(eur_with_subscription, 0.5) AS eur_incl_vat_with_subscription_median,
        quantile_cont(eur_with_subscription, 0.5) FILTER (WHERE product_type = 'msp') AS msp_median_eur,
        max(snapshot_date) AS snapshot_date
    FROM costs
    GROUP BY GROUPING SETS ((country_code, power_class, product_type, session),
                            (country_code, power_class, session, product))
),
numbered AS (
    -- the MSP products of a country x power class x session by median, then by name (arg_min would
    -- pick either of two products with the same median, differently from run to run)
    SELECT
        *,
        row_number() OVER (PARTITION BY country_code, power_class, session, kind
                           ORDER BY msp_median_eur NULLS LAST, product) AS msp_rank
    FROM groups
),
ranked AS (
    -- per country x power class x session: the cheapest MSP product and the ad hoc median, beside
    -- each product type's distribution
    SELECT
        *,
        max(product) FILTER (WHERE kind = 2 AND msp_rank = 1 AND msp_median_eur IS NOT NULL)
            OVER (PARTITION BY country_code, power_class, session) AS cheapest_msp,
        min(msp_median_eur) FILTER (WHERE kind = 2)
            OVER (PARTITION BY country_code, power_class, session) AS cheapest_msp_median_eur,
        max(eur_incl_vat_median) FILTER (WHERE kind = 1 AND product_type = 'adhoc')
            OVER (PARTITION BY country_code, power_class, session) AS adhoc_median_eur
    FROM numbered
)
SELECT
    country_code,
    power_class,
    product_type,
    session,
    pairs,
    prices,
    round(eur_incl_vat_p10, 4) AS eur_incl_vat_p10,
    round(eur_incl_vat_median, 4) AS eur_incl_vat_median,
    round(eur_incl_vat_p90, 4) AS eur_incl_vat_p90,
    round(eur_incl_vat_with_subscription_median, 4) AS eur_incl_vat_with_subscription_median,
    cheapest_msp,
    round(cheapest_msp_median_eur, 4) AS cheapest_msp_median_eur,
    round(adhoc_median_eur - cheapest_msp_median_eur, 4) AS adhoc_vs_best_msp_eur,
    round(adhoc_median_eur / NULLIF(cheapest_msp_median_eur, 0), 4) AS adhoc_vs_best_msp_ratio,
    snapshot_date
FROM ranked
WHERE kind = 1
ORDER BY country_code, power_class, session, product_type
