-- price_by_hour: the cost of the reference session of each power class (price_hour_costs: AC_SHOP,
-- DC50_20_80, HPC_10_80 with the shipped sessions) started at each whole hour of the week that begins on
-- the snapshot date, for every (connector, price) pair it fits: 168 rows per pair and kept day (the
-- latest twin: the latest day). A price without time-of-day, weekday or date restrictions is stored once
-- (day_of_week and hour null) and repeated here for the 168 hours (time_restricted false). Joined to the
-- connectors as session_costs is (session_profiles says which profile a kind of connector gets;
-- null-safe on the kind columns). eur_per_kwh_incl_vat = total_eur_incl_vat / energy_kwh (6 decimals).
WITH week AS (
    SELECT d.day_of_week, d.day_index, h.hour
    FROM (VALUES ('MONDAY', 0), ('TUESDAY', 1), ('WEDNESDAY', 2), ('THURSDAY', 3), ('FRIDAY', 4),
                 ('SATURDAY', 5), ('SUNDAY', 6)) AS d(day_of_week, day_index)
    -- the hours as VALUES, not DuckDB's range(24): the Spark translation of range() names no column
    CROSS JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15),
                       (16), (17), (18), (19), (20), (21), (22), (23)) AS h(hour)
),
hour_costs AS (
    SELECT hc.price_id, hc.session, hc.profile, hc.day_of_week, hc.hour, true AS time_restricted, hc.currency,
           hc.energy_kwh, hc.total_excl_vat, hc.total_incl_vat, hc.total_eur_excl_vat, hc.total_eur_incl_vat,
           hc.snapshot_date
    FROM price_hour_costs_history AS hc
    WHERE hc.hour IS NOT NULL
    UNION ALL
    SELECT hc.price_id, hc.session, hc.profile, w.day_of_week, w.hour, false AS time_restricted, hc.currency,
           hc.energy_kwh, hc.total_excl_vat, hc.total_incl_vat, hc.total_eur_excl_vat, hc.total_eur_incl_vat,
           hc.snapshot_date
    FROM price_hour_costs_history AS hc
    CROSS JOIN week AS w
    WHERE hc.hour IS NULL
)
SELECT
    cp.location_id,
    cp.evse_uid,
    cp.connector_id,
    cp.price_id,
    hc.session,
    hc.day_of_week,
    hc.hour,
    hc.time_restricted,
    hc.currency,
    hc.energy_kwh,
    hc.total_excl_vat,
    hc.total_incl_vat,
    hc.total_eur_excl_vat,
    hc.total_eur_incl_vat,
    round(CAST(hc.total_eur_incl_vat AS DOUBLE) / CAST(hc.energy_kwh AS DOUBLE), 6) AS eur_per_kwh_incl_vat,
    l.country_code,
    c.power_class,
    p.partner,
    p.product_type,
    cp.snapshot_date
FROM connector_prices_history AS cp
JOIN connectors_history AS c
    ON c.location_id = cp.location_id
    AND c.evse_uid = cp.evse_uid
    AND c.connector_id = cp.connector_id
    AND c.snapshot_date = cp.snapshot_date
LEFT JOIN locations_history AS l
    ON l.location_id = c.location_id
    AND l.snapshot_date = c.snapshot_date
JOIN session_profiles_history AS sp
    ON sp.power_class IS NOT DISTINCT FROM c.power_class
    AND sp.max_power_kw IS NOT DISTINCT FROM c.max_power_kw
    AND sp.amperage IS NOT DISTINCT FROM c.amperage
    AND sp.time_zone IS NOT DISTINCT FROM l.time_zone
    AND sp.power_type IS NOT DISTINCT FROM c.power_type
    AND sp.snapshot_date = cp.snapshot_date
JOIN hour_costs AS hc
    ON hc.price_id = cp.price_id
    AND hc.session = sp.session
    AND hc.profile = sp.profile
    AND hc.snapshot_date = cp.snapshot_date
LEFT JOIN prices_history AS p
    ON p.price_id = cp.price_id
    AND p.snapshot_date = cp.snapshot_date
