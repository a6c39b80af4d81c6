-- One row per lint finding in the latest snapshot's price records (prices, price_elements, price_components)
-- and OCPI tariffs (tariffs, tariff_elements, tariff_components): source ('price' or 'tariff'), price_id or
-- tariff_id, the party (a price's partner; a tariff's country_code*party_id), element_index and
-- component_index where the finding is that narrow (null for the whole record), the rule, its severity
-- (from price_lint_rules, which documents every rule) and a message. Findings never change a table: a
-- record is priced as the engine's rules say (ecodata/pricing/README.md), lint says where that looks wrong.
-- Amounts in messages are the exact decimals without trailing zeros. Time windows follow the engine:
-- end 00:00 = midnight, end < start wraps, start = end = the whole day.
WITH records AS (
    SELECT 'price' AS source, price_id AS record_id, partner AS party, partner_id AS party_id, currency,
           subscription_fee_excl_vat, NULL::DECIMAL(18, 6) AS min_price_excl_vat,
           NULL::DECIMAL(18, 6) AS min_price_incl_vat, NULL::DECIMAL(18, 6) AS max_price_excl_vat,
           NULL::DECIMAL(18, 6) AS max_price_incl_vat, NULL::VARCHAR AS country_code,
           NULL::TIMESTAMPTZ AS start_date_time, NULL::TIMESTAMPTZ AS end_date_time, snapshot_date
    FROM prices
    UNION ALL
    SELECT 'tariff', tariff_id, NULLIF(concat_ws('*', country_code, party_id), ''), party_id, currency,
           NULL, min_price_excl_vat, min_price_incl_vat, max_price_excl_vat, max_price_incl_vat, country_code,
           start_date_time, end_date_time, snapshot_date
    FROM tariffs
),
elements_raw AS (
    SELECT 'price' AS source, price_id AS record_id, * EXCLUDE (price_id, restrictions_json) FROM price_elements
    UNION ALL BY NAME
    SELECT 'tariff' AS source, tariff_id AS record_id, * EXCLUDE (tariff_id, restrictions_json) FROM tariff_elements
),
elements AS (
    SELECT
        *,
        COALESCE(extract(epoch FROM start_time), 0) AS window_start,
        CASE WHEN end_time IS NULL OR end_time = TIME '00:00' THEN 86400 ELSE extract(epoch FROM end_time) END
            AS window_end,
        concat_ws('; ',
            CASE WHEN min_kwh >= max_kwh THEN format('min_kwh {} >= max_kwh {}', regexp_replace(CAST(min_kwh AS VARCHAR), '\.?0+$', ''), regexp_replace(CAST(max_kwh AS VARCHAR), '\.?0+$', '')) END,
            CASE WHEN min_power_kw >= max_power_kw THEN format('min_power {} >= max_power {}', regexp_replace(CAST(min_power_kw AS VARCHAR), '\.?0+$', ''), regexp_replace(CAST(max_power_kw AS VARCHAR), '\.?0+$', '')) END,
            CASE WHEN min_current_a >= max_current_a THEN format('min_current {} >= max_current {}', regexp_replace(CAST(min_current_a AS VARCHAR), '\.?0+$', ''), regexp_replace(CAST(max_current_a AS VARCHAR), '\.?0+$', '')) END,
            CASE WHEN min_duration_s >= max_duration_s THEN format('min_duration {} >= max_duration {}', min_duration_s, max_duration_s) END,
            CASE WHEN max_kwh <= 0 THEN format('max_kwh {}', regexp_replace(CAST(max_kwh AS VARCHAR), '\.?0+$', '')) END,
            CASE WHEN max_power_kw <= 0 THEN format('max_power {}', regexp_replace(CAST(max_power_kw AS VARCHAR), '\.?0+$', '')) END,
            CASE WHEN max_current_a <= 0 THEN format('max_current {}', regexp_replace(CAST(max_current_a AS VARCHAR), '\.?0+$', '')) END,
            CASE WHEN max_duration_s <= 0 THEN format('max_duration {}', max_duration_s) END,
            CASE WHEN start_date >= end_date THEN format('start_date {} >= end_date {}', start_date, end_date) END
        ) AS never_because
    FROM elements_raw
),
windows AS (
    SELECT
        *,
        (start_time IS NULL AND end_time IS NULL) OR window_start = window_end
            OR (window_start = 0 AND window_end = 86400) AS whole_day,
        window_start > window_end AS wraps
    FROM elements
),
components AS (
    SELECT 'price' AS source, price_id AS record_id, * EXCLUDE (price_id) FROM price_components
    UNION ALL BY NAME
    SELECT 'tariff' AS source, tariff_id AS record_id, * EXCLUDE (tariff_id) FROM tariff_components
),
findings AS (
    SELECT r.source, r.record_id, NULL::INTEGER AS element_index, NULL::INTEGER AS component_index,
           'no_elements' AS rule, format('the {} has no elements', r.source) AS message
    FROM records AS r
    WHERE NOT EXISTS (SELECT 1 FROM elements AS e WHERE e.source = r.source AND e.record_id = r.record_id)

    UNION ALL
    SELECT e.source, e.record_id, e.element_index, NULL, 'element_without_components',
           format('element {} has no price components', e.element_index)
    FROM elements AS e
    WHERE NOT EXISTS (SELECT 1 FROM components AS c
                      WHERE c.source = e.source AND c.record_id = e.record_id AND c.element_index = e.element_index)

    UNION ALL
    SELECT source, record_id, element_index, component_index, 'negative_price',
           format('{} price {} is negative', type, regexp_replace(CAST(COALESCE(price_excl_vat, price_incl_vat) AS VARCHAR), '\.?0+$', ''))
    FROM components
    WHERE COALESCE(price_excl_vat, price_incl_vat) < 0
    UNION ALL
    SELECT source, record_id, NULL, NULL, 'negative_price', format('{} {} is negative', what, regexp_replace(CAST(amount AS VARCHAR), '\.?0+$', ''))
    FROM records
    CROSS JOIN LATERAL (VALUES ('subscription_fee_excl_vat', subscription_fee_excl_vat),
                               ('min_price_excl_vat', min_price_excl_vat), ('min_price_incl_vat', min_price_incl_vat),
                               ('max_price_excl_vat', max_price_excl_vat), ('max_price_incl_vat', max_price_incl_vat))
        AS a(what, amount)
    WHERE amount < 0
    UNION ALL
    SELECT source, record_id, element_index, NULL, 'negative_price', format('element {} {} {} is negative', element_index, what, regexp_replace(CAST(amount AS VARCHAR), '\.?0+$', ''))
    FROM elements
    CROSS JOIN LATERAL (VALUES ('min_price', restriction_min_price), ('max_price', restriction_max_price)) AS a(what, amount)
    WHERE amount < 0

    UNION ALL
    SELECT source, record_id, element_index, component_index, 'incl_vat_below_excl',
           format('{} price incl. VAT {} is below excl. VAT {}', type, regexp_replace(CAST(price_incl_vat AS VARCHAR), '\.?0+$', ''),
                  regexp_replace(CAST(price_excl_vat AS VARCHAR), '\.?0+$', ''))
    FROM components
    WHERE price_incl_vat < price_excl_vat AND price_excl_vat >= 0
    UNION ALL
    SELECT source, record_id, NULL, NULL, 'incl_vat_below_excl', format('{} incl. VAT {} is below excl. VAT {}', what, regexp_replace(CAST(incl AS VARCHAR), '\.?0+$', ''), regexp_replace(CAST(excl AS VARCHAR), '\.?0+$', ''))
    FROM records
    CROSS JOIN LATERAL (VALUES ('min_price', min_price_incl_vat, min_price_excl_vat),
                               ('max_price', max_price_incl_vat, max_price_excl_vat)) AS a(what, incl, excl)
    WHERE incl < excl AND excl >= 0

    UNION ALL
    SELECT source, record_id, NULL, NULL, 'min_price_above_max_price',
           format('min_price {} is above max_price {} ({})', regexp_replace(CAST(lo AS VARCHAR), '\.?0+$', ''), regexp_replace(CAST(hi AS VARCHAR), '\.?0+$', ''), what)
    FROM records
    CROSS JOIN LATERAL (VALUES ('excl. VAT', min_price_excl_vat, max_price_excl_vat),
                               ('incl. VAT', min_price_incl_vat, max_price_incl_vat)) AS a(what, lo, hi)
    WHERE lo > hi
    UNION ALL
    SELECT source, record_id, element_index, NULL, 'min_price_above_max_price',
           format('element {} min_price {} is above its max_price {}', element_index, regexp_replace(CAST(restriction_min_price AS VARCHAR), '\.?0+$', ''),
                  regexp_replace(CAST(restriction_max_price AS VARCHAR), '\.?0+$', ''))
    FROM elements
    WHERE restriction_min_price > restriction_max_price

    UNION ALL
    SELECT source, record_id, element_index, component_index, 'step_size_negative',
           format('{} step_size {} is negative', type, step_size)
    FROM components
    WHERE step_size < 0
    UNION ALL
    SELECT source, record_id, element_index, component_index, 'step_size_zero',
           format('{} step_size is 0 (priced without rounding)', type)
    FROM components
    WHERE step_size = 0 AND type <> 'FLAT'

    UNION ALL
    SELECT source, record_id, element_index, component_index, 'vat_out_of_range',
           format('{} VAT {} % is outside 0-30 %', type, regexp_replace(CAST(vat AS VARCHAR), '\.?0+$', ''))
    FROM components
    WHERE vat < 0 OR vat > 30

    UNION ALL
    SELECT source, record_id, element_index, NULL, 'unreachable_element',
           format('element {} never applies: {}', element_index, never_because)
    FROM elements
    WHERE never_because <> ''

    UNION ALL
    SELECT source, record_id, element_index, NULL, 'invalid_weekday',
           format('element {} day_of_week has {}', element_index, array_to_string(bad, ', '))
    FROM (SELECT *, list_filter(day_of_week, lambda d: d NOT IN ('MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY',
                                                            'FRIDAY', 'SATURDAY', 'SUNDAY')) AS bad
          FROM elements)
    WHERE len(bad) > 0

    UNION ALL
    SELECT l.source, l.record_id, l.element_index, lc.component_index, 'overlapping_elements',
           format('element {} {} never bills: element {} prices {} whenever element {} could apply', l.element_index,
                  lc.type, min(e.element_index), lc.type, l.element_index)
    FROM windows AS l
    JOIN components AS lc
        ON lc.source = l.source AND lc.record_id = l.record_id AND lc.element_index = l.element_index
    JOIN windows AS e
        ON e.source = l.source AND e.record_id = l.record_id AND e.element_index < l.element_index
    JOIN components AS ec
        ON ec.source = e.source AND ec.record_id = e.record_id AND ec.element_index = e.element_index
        AND ec.type = lc.type
    WHERE e.never_because = ''
        AND (e.whole_day OR (NOT l.whole_day AND (
                (NOT e.wraps AND NOT l.wraps AND e.window_start <= l.window_start AND l.window_end <= e.window_end)
                OR (e.wraps AND NOT l.wraps AND (l.window_start >= e.window_start OR l.window_end <= e.window_end))
                OR (e.wraps AND l.wraps AND l.window_start >= e.window_start AND l.window_end <= e.window_end))))
        AND (e.start_date IS NULL OR COALESCE(l.start_date >= e.start_date, false))
        AND (e.end_date IS NULL OR COALESCE(l.end_date <= e.end_date, false))
        AND (e.min_kwh IS NULL OR COALESCE(l.min_kwh >= e.min_kwh, false))
        AND (e.max_kwh IS NULL OR COALESCE(l.max_kwh <= e.max_kwh, false))
        AND (e.min_current_a IS NULL OR COALESCE(l.min_current_a >= e.min_current_a, false))
        AND (e.max_current_a IS NULL OR COALESCE(l.max_current_a <= e.max_current_a, false))
        AND (e.min_power_kw IS NULL OR COALESCE(l.min_power_kw >= e.min_power_kw, false))
        AND (e.max_power_kw IS NULL OR COALESCE(l.max_power_kw <= e.max_power_kw, false))
        AND (e.min_duration_s IS NULL OR COALESCE(l.min_duration_s >= e.min_duration_s, false))
        AND (e.max_duration_s IS NULL OR COALESCE(l.max_duration_s <= e.max_duration_s, false))
        AND (e.overstay_duration_s IS NULL OR COALESCE(l.overstay_duration_s >= e.overstay_duration_s, false))
        AND (e.emsp_contract_date IS NULL OR COALESCE(l.emsp_contract_date >= e.emsp_contract_date, false))
        AND (COALESCE(len(e.day_of_week), 0) = 0
             OR (COALESCE(len(l.day_of_week), 0) > 0 AND list_has_all(e.day_of_week, l.day_of_week)))
        AND e.reservation IS NOT DISTINCT FROM l.reservation
    GROUP BY l.source, l.record_id, l.element_index, lc.component_index, lc.type

    UNION ALL
    SELECT c.source, c.record_id, c.element_index, c.component_index, 'duplicate_component_type',
           format('element {} has a second {} component (component {} is billed)', c.element_index, c.type,
                  min(f.component_index))
    FROM components AS c
    JOIN components AS f
        ON f.source = c.source AND f.record_id = c.record_id AND f.element_index = c.element_index
        AND f.type = c.type AND f.component_index < c.component_index
    GROUP BY c.source, c.record_id, c.element_index, c.component_index, c.type

    UNION ALL
    SELECT c.source, c.record_id, c.element_index, c.component_index, 'flat_under_time_restriction',
           format('FLAT component under {}', concat_ws(', ',
               CASE WHEN e.start_time IS NOT NULL OR e.end_time IS NOT NULL THEN 'a time-of-day window' END,
               CASE WHEN e.min_duration_s IS NOT NULL OR e.max_duration_s IS NOT NULL THEN 'a duration bound' END))
    FROM components AS c
    JOIN elements AS e
        ON e.source = c.source AND e.record_id = c.record_id AND e.element_index = c.element_index
    WHERE c.type = 'FLAT'
        AND (e.start_time IS NOT NULL OR e.end_time IS NOT NULL OR e.min_duration_s IS NOT NULL
             OR e.max_duration_s IS NOT NULL)

    UNION ALL
    SELECT r.source, r.record_id, NULL, NULL, 'currency_not_country',
           format('currency {} is not the currency of the tariff''s country {}', r.currency, r.country_code)
    FROM records AS r
    WHERE r.source = 'tariff'
        AND r.country_code IN (SELECT country_code FROM country_currencies)
        AND NOT EXISTS (SELECT 1 FROM country_currencies AS k
                        WHERE k.country_code = r.country_code AND k.currency = r.currency)
    UNION ALL
    SELECT 'price', u.price_id, NULL, NULL, 'currency_not_country',
           format('currency {} is not the currency of {}, where {} connector(s) offer it', p.currency,
                  u.country_code, u.connectors)
    FROM (SELECT cp.price_id, l.country_code, count(*) AS connectors
          FROM connector_prices AS cp
          JOIN locations AS l
              ON l.location_id = cp.location_id
          GROUP BY ALL) AS u
    JOIN prices AS p
        ON p.price_id = u.price_id
    WHERE u.country_code IN (SELECT country_code FROM country_currencies)
        AND NOT EXISTS (SELECT 1 FROM country_currencies AS k
                        WHERE k.country_code = u.country_code AND k.currency = p.currency)

    UNION ALL
    SELECT source, record_id, NULL, NULL, 'tariff_never_valid',
           format('start_date_time {} is not before end_date_time {}', start_date_time AT TIME ZONE 'UTC',
                  end_date_time AT TIME ZONE 'UTC')
    FROM records
    WHERE start_date_time >= end_date_time

    UNION ALL
    SELECT source, record_id, NULL, NULL, 'expired',
           format('the tariff ended at {} UTC, before the snapshot date {}', end_date_time AT TIME ZONE 'UTC',
                  snapshot_date)
    FROM records
    WHERE CAST(end_date_time AT TIME ZONE 'UTC' AS DATE) < snapshot_date
    UNION ALL
    SELECT source, record_id, element_index, NULL, 'expired',
           format('element {} ended on {} (end_date, exclusive), by the snapshot date {}', element_index, end_date,
                  snapshot_date)
    FROM elements
    WHERE end_date <= snapshot_date

    UNION ALL
    SELECT 'price', price_id, NULL, NULL, 'price_outlier',
           format('outside the outlier policy: {} (energy {} EUR/kWh excl. VAT)', outlier_reason,
                  COALESCE(regexp_replace(CAST(energy_eur_excl_vat AS VARCHAR), '\.?0+$', ''), 'none'))
    FROM price_outliers
    WHERE is_outlier
)
SELECT
    f.source,
    CASE WHEN f.source = 'price' THEN f.record_id END AS price_id,
    CASE WHEN f.source = 'tariff' THEN f.record_id END AS tariff_id,
    r.party,
    r.party_id,
    f.element_index,
    f.component_index,
    f.rule,
    k.severity,
    f.message,
    r.snapshot_date
FROM findings AS f
JOIN price_lint_rules AS k
    ON k.rule = f.rule
LEFT JOIN records AS r
    ON r.source = f.source AND r.record_id = f.record_id
ORDER BY f.source, f.record_id, f.element_index NULLS FIRST, f.component_index NULLS FIRST, k.position
