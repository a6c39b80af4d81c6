-- MSP products against the ad hoc price at the same connectors (latest snapshot), one row per country x
-- power class x partner x product x session, from msp_vs_adhoc_pairs: connectors compared, the median
-- markup over ad hoc (EUR incl. VAT and percent; negative = cheaper than ad hoc), the share of those
-- connectors where the product is cheaper, its monthly fee incl. VAT (median over its prices) and the
-- median subscription break-even (sessions and kWh per month) over the connectors where it saves money.
-- Medians are exact, then rounded half away from zero to 4 decimals: every input is already rounded to 4
-- decimals, so the median is taken over the whole numbers x * 10000 (a middle value or exactly half-way
-- between two) and rounded as a whole number; a DOUBLE median of the inputs themselves lands a hair
-- either side of a half-way value depending on the engine's interpolation formula (DuckDB, Spark).
SELECT
    country_code,
    power_class,
    partner,
    product_name,
    session,
    count(*) AS connectors,
    count(DISTINCT price_id) AS prices,
    round(quantile_cont(round(markup_eur * 10000), 0.5)) / 10000 AS markup_eur_median,
    round(quantile_cont(round(markup_pct * 10000), 0.5)) / 10000 AS markup_pct_median,
    round(avg(CASE WHEN markup_eur < 0 THEN 1.0 ELSE 0.0 END), 4) AS share_cheaper_than_adhoc,
    round(quantile_cont(round(monthly_fee_incl_vat * 10000), 0.5)) / 10000 AS monthly_fee_incl_vat,
    round(quantile_cont(round(break_even_sessions_per_month * 10000), 0.5)) / 10000 AS break_even_sessions_per_month_median,
    round(quantile_cont(round(break_even_kwh_per_month * 10000), 0.5)) / 10000 AS break_even_kwh_per_month_median,
    max(snapshot_date) AS snapshot_date
FROM msp_vs_adhoc_pairs
GROUP BY country_code, power_class, partner, product_name, session
ORDER BY country_code, power_class, partner, product_name, session
