-- price_lint counted per source, party (a price's partner, a tariff's country_code*party_id) and rule:
-- findings, the distinct price records or tariffs they concern, and the share of the party's records
-- (of that source, latest snapshot) with at least one such finding.
WITH records AS (
    SELECT 'price' AS source, partner AS party, count(*) AS records FROM prices GROUP BY ALL
    UNION ALL
    SELECT 'tariff', NULLIF(concat_ws('*', country_code, party_id), ''), count(*) FROM tariffs GROUP BY ALL
)
SELECT
    l.source,
    l.party,
    l.rule,
    any_value(l.severity) AS severity,
    count(*) AS findings,
    count(DISTINCT COALESCE(l.price_id, l.tariff_id)) AS records_flagged,
    any_value(r.records) AS records,
    count(DISTINCT COALESCE(l.price_id, l.tariff_id)) / any_value(r.records) AS share_flagged,
    max(l.snapshot_date) AS snapshot_date
FROM price_lint AS l
LEFT JOIN records AS r
    ON r.source = l.source AND r.party IS NOT DISTINCT FROM l.party
GROUP BY l.source, l.party, l.rule
ORDER BY l.source, l.party NULLS LAST, l.rule
