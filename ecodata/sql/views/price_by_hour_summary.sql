-- Time-of-day pricing per country x power class (latest snapshot): for the reference session of the power
-- class (price_hour_costs) started at each hour of the week, over the distinct (price, profile) pairs the
-- country's connectors of that class use (each counted once, however many connectors share it): how many,
-- how many vary with the start (their cost incl. VAT is not the same at all 168 starts) and their share in
-- percent, and the min / median / max price per kWh incl. VAT in EUR at that hour (total_eur_incl_vat /
-- energy_kwh; pairs without a EUR rate are left out of these). Per country x power class x session, beside
-- each hour: the highest and lowest hourly median of the week (peak and off-peak) and their spread, and the
-- hours where they occur first (day_of_week and hour of the first such start, Monday 0:00 first).
WITH week AS (
    SELECT d.day_of_week, d.day_index, h.hour
    FROM (VALUES ('MONDAY', 0), ('TUESDAY', 1), ('WEDNESDAY', 2), ('THURSDAY', 3), ('FRIDAY', 4),
                 ('SATURDAY', 5), ('SUNDAY', 6)) AS d(day_of_week, day_index)
    -- the hours as VALUES, not DuckDB's range(24): the Spark translation of range() names no column
    CROSS JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15),
                       (16), (17), (18), (19), (20), (21), (22), (23)) AS h(hour)
),
used AS (
    SELECT DISTINCT l.country_code, c.power_class, cp.price_id, sp.session, sp.profile
    FROM connector_prices AS cp
    JOIN connectors AS c
        ON c.location_id = cp.location_id
        AND c.evse_uid = cp.evse_uid
        AND c.connector_id = cp.connector_id
    LEFT JOIN locations AS l
        ON l.location_id = c.location_id
    JOIN session_profiles AS sp
        ON sp.power_class IS NOT DISTINCT FROM c.power_class
        AND sp.max_power_kw IS NOT DISTINCT FROM c.max_power_kw
        AND sp.amperage IS NOT DISTINCT FROM c.amperage
        AND sp.time_zone IS NOT DISTINCT FROM l.time_zone
        AND sp.power_type IS NOT DISTINCT FROM c.power_type
),
hour_costs AS (
    SELECT hc.price_id, hc.session, hc.profile, w.day_of_week, w.day_index, w.hour,
           hc.total_incl_vat, hc.total_eur_incl_vat, hc.energy_kwh, hc.snapshot_date
    FROM price_hour_costs AS hc
    JOIN week AS w
        ON hc.hour IS NULL OR (w.day_of_week = hc.day_of_week AND w.hour = hc.hour)
),
per_pair AS (
    SELECT
        u.country_code, u.power_class, h.session, h.price_id, h.profile, h.day_of_week, h.day_index, h.hour,
        CAST(h.total_eur_incl_vat AS DOUBLE) / CAST(h.energy_kwh AS DOUBLE) AS eur_per_kwh,
        max(h.total_incl_vat) OVER pair <> min(h.total_incl_vat) OVER pair AS varies,
        h.snapshot_date
    FROM used AS u
    JOIN hour_costs AS h
        ON h.price_id = u.price_id AND h.session = u.session AND h.profile = u.profile
    WINDOW pair AS (PARTITION BY u.country_code, u.power_class, h.session, h.price_id, h.profile)
),
hourly AS (
    SELECT
        country_code, power_class, session, day_of_week, day_index, hour,
        count(*) AS price_profiles,
        count(*) FILTER (WHERE varies) AS varying_price_profiles,
        round(100.0 * count(*) FILTER (WHERE varies) / count(*), 2) AS varying_pct,
        round(min(eur_per_kwh), 6) AS eur_per_kwh_min,
        round(median(eur_per_kwh), 6) AS eur_per_kwh_median,
        round(max(eur_per_kwh), 6) AS eur_per_kwh_max,
        max(snapshot_date) AS snapshot_date
    FROM per_pair
    GROUP BY country_code, power_class, session, day_of_week, day_index, hour
)
SELECT
    country_code, power_class, session, day_of_week, hour,
    price_profiles, varying_price_profiles, varying_pct,
    eur_per_kwh_min, eur_per_kwh_median, eur_per_kwh_max,
    max(eur_per_kwh_median) OVER week_of AS peak_median_eur_per_kwh,
    min(eur_per_kwh_median) OVER week_of AS offpeak_median_eur_per_kwh,
    round(max(eur_per_kwh_median) OVER week_of - min(eur_per_kwh_median) OVER week_of, 6)
        AS peak_offpeak_spread_eur_per_kwh,
    arg_max(day_of_week || ' ' || lpad(CAST(hour AS VARCHAR), 2, '0'), [eur_per_kwh_median, -(day_index * 24 + hour)])
        OVER week_of AS peak_start,
    arg_min(day_of_week || ' ' || lpad(CAST(hour AS VARCHAR), 2, '0'), [eur_per_kwh_median, day_index * 24 + hour])
        OVER week_of AS offpeak_start,
    snapshot_date
FROM hourly
WINDOW week_of AS (PARTITION BY country_code, power_class, session)
ORDER BY country_code, power_class, session, day_index, hour
