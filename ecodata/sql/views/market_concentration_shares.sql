-- Each operator's share of an area's charging infrastructure (latest snapshot), one row per area x
-- operator. Areas: every country (area_level 'country', area = country code) and every region of a
-- half-degree grid (area_level 'region', area = '<country> <lat> <lon>', the south-west corner of the
-- 0.5 x 0.5 degree cell holding the location, WGS84; locations without coordinates count only in their
-- country). Operator: operator_name, else operator_id, else 'unknown'. Shares are in percent of the
-- area's locations, connectors and HPC connectors (power_class 'HPC', DC at 150 kW or more); null when the
-- area has none of that kind. Plain SQL (no DuckDB-only syntax), shares rounded to 4 decimals.
WITH sites AS (
    SELECT
        l.location_id,
        l.country_code,
        COALESCE(l.operator_name, l.operator_id, 'unknown') AS operator,
        CASE WHEN l.latitude IS NOT NULL AND l.longitude IS NOT NULL THEN
            l.country_code || ' ' || CAST(CAST(floor(l.latitude * 2) / 2 AS DECIMAL(5, 1)) AS VARCHAR)
            || ' ' || CAST(CAST(floor(l.longitude * 2) / 2 AS DECIMAL(5, 1)) AS VARCHAR)
        END AS region,
        l.snapshot_date
    FROM locations AS l
),
units AS (
    SELECT
        s.location_id,
        s.country_code,
        s.operator,
        s.region,
        s.snapshot_date,
        count(c.connector_id) AS connectors,
        sum(CASE WHEN c.power_class = 'HPC' THEN 1 ELSE 0 END) AS hpc_connectors
    FROM sites AS s
    LEFT JOIN connectors AS c
        ON c.location_id = s.location_id
    GROUP BY s.location_id, s.country_code, s.operator, s.region, s.snapshot_date
),
areas AS (
    SELECT 'country' AS area_level, country_code AS area, country_code, operator, connectors, hpc_connectors,
           snapshot_date
    FROM units
    UNION ALL
    SELECT 'region' AS area_level, region AS area, country_code, operator, connectors, hpc_connectors,
           snapshot_date
    FROM units
    WHERE region IS NOT NULL
),
per_operator AS (
    SELECT
        area_level, area, country_code, operator,
        count(*) AS locations,
        sum(connectors) AS connectors,
        sum(hpc_connectors) AS hpc_connectors,
        max(snapshot_date) AS snapshot_date
    FROM areas
    GROUP BY area_level, area, country_code, operator
)
SELECT
    area_level,
    area,
    country_code,
    operator,
    locations,
    connectors,
    hpc_connectors,
    round(100.0 * locations / NULLIF(sum(locations) OVER (PARTITION BY area_level, area), 0), 4)
        AS share_locations,
    round(100.0 * connectors / NULLIF(sum(connectors) OVER (PARTITION BY area_level, area), 0), 4)
        AS share_connectors,
    round(100.0 * hpc_connectors / NULLIF(sum(hpc_connectors) OVER (PARTITION BY area_level, area), 0), 4)
        AS share_hpc_connectors,
    snapshot_date
FROM per_operator
ORDER BY area_level, area, operator
