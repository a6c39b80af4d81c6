-- One row per connector x session x MSP price (latest snapshot) at a connector that also has an ad hoc
-- price: the MSP product's session cost against the CPO's ad hoc cost at the same connector (the cheapest
-- ad hoc price when a connector has several), incl. VAT in EUR. markup_eur = MSP - ad hoc (negative: the
-- MSP is cheaper); markup_pct = 100 x (MSP / ad hoc - 1), null when ad hoc is free. Subscription
-- break-even: the MSP's monthly fee incl. VAT (fee excl. VAT x (1 + VAT of the price's first component /
-- 100) / months, months = 1 for month(ly), 12 for yearly/annual, 36 for one-off, as in session_costs)
-- divided by the saving per session (ad hoc - MSP, in the MSP's currency, only when both prices are in
-- the same currency and the MSP is cheaper): sessions per month, and x the session's kWh, kWh per month.
-- A product without a fee breaks even at 0 sessions. Amounts are rounded to 4 decimals at the end.
WITH costs AS NOT MATERIALIZED (  -- inlined: each use reads only its product type
    SELECT
        sc.country_code,
        sc.power_class,
        sc.product_type,
        sc.partner,
        sc.product_name,
        sc.location_id,
        sc.evse_uid,
        sc.connector_id,
        sc.session,
        sc.price_id,
        sc.currency,
        sc.energy_kwh,
        CAST(sc.total_incl_vat AS DOUBLE) AS local_incl_vat,
        CAST(sc.total_eur_incl_vat AS DOUBLE) AS eur_incl_vat,
        sc.snapshot_date
    FROM session_costs_flat AS sc  -- session_costs with the connector's and price's columns, one join
),
adhoc_ranked AS (
    SELECT
        location_id, evse_uid, connector_id, session, price_id, currency, local_incl_vat, eur_incl_vat,
        row_number() OVER (PARTITION BY location_id, evse_uid, connector_id, session
                           ORDER BY eur_incl_vat, price_id) AS rank_in_connector
    FROM costs
    WHERE product_type = 'adhoc' AND eur_incl_vat IS NOT NULL
),
adhoc AS (
    SELECT * FROM adhoc_ranked WHERE rank_in_connector = 1
),
first_component AS (
    SELECT
        price_id, vat,
        row_number() OVER (PARTITION BY price_id ORDER BY element_index, component_index) AS component_rank
    FROM price_components
),
fees AS (
    SELECT
        p.price_id,
        CAST(p.subscription_fee_excl_vat AS DOUBLE) * (1 + COALESCE(CAST(v.vat AS DOUBLE), 0) / 100)
            / CASE lower(p.subscription_type)
                WHEN 'month' THEN 1 WHEN 'monthly' THEN 1 WHEN 'yearly' THEN 12 WHEN 'annual' THEN 12
                WHEN 'one-off' THEN 36 END AS monthly_fee_incl_vat
    FROM prices AS p
    LEFT JOIN first_component AS v
        ON v.price_id = p.price_id AND v.component_rank = 1
),
pairs AS (
    SELECT
        m.country_code,
        m.power_class,
        m.partner,
        m.product_name,
        m.session,
        m.location_id,
        m.evse_uid,
        m.connector_id,
        m.price_id,
        a.price_id AS adhoc_price_id,
        m.currency,
        m.energy_kwh,
        m.eur_incl_vat AS msp_eur_incl_vat,
        a.eur_incl_vat AS adhoc_eur_incl_vat,
        COALESCE(fe.monthly_fee_incl_vat, 0) AS monthly_fee_incl_vat,
        CASE WHEN a.currency = m.currency THEN a.local_incl_vat - m.local_incl_vat END AS saving_per_session,
        m.snapshot_date
    FROM costs AS m
    JOIN adhoc AS a
        ON a.location_id = m.location_id
        AND a.evse_uid = m.evse_uid
        AND a.connector_id = m.connector_id
        AND a.session = m.session
    LEFT JOIN fees AS fe
        ON fe.price_id = m.price_id
    WHERE m.product_type = 'msp'
)
SELECT
    country_code,
    power_class,
    partner,
    product_name,
    session,
    location_id,
    evse_uid,
    connector_id,
    price_id,
    adhoc_price_id,
    currency,
    energy_kwh,
    round(msp_eur_incl_vat, 4) AS msp_eur_incl_vat,
    round(adhoc_eur_incl_vat, 4) AS adhoc_eur_incl_vat,
    round(msp_eur_incl_vat - adhoc_eur_incl_vat, 4) AS markup_eur,
    round(100 * (msp_eur_incl_vat / NULLIF(adhoc_eur_incl_vat, 0) - 1), 4) AS markup_pct,
    round(monthly_fee_incl_vat, 4) AS monthly_fee_incl_vat,
    round(saving_per_session, 4) AS saving_per_session,
    round(CASE WHEN saving_per_session > 0 THEN monthly_fee_incl_vat / saving_per_session END, 4)
        AS break_even_sessions_per_month,
    round(CASE WHEN saving_per_session > 0
               THEN monthly_fee_incl_vat / saving_per_session * CAST(energy_kwh AS DOUBLE) END, 4)
        AS break_even_kwh_per_month,
    snapshot_date
FROM pairs
ORDER BY country_code, power_class, partner, product_name, session, location_id, evse_uid, connector_id, price_id
