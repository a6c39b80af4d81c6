-- The outlier policy, declared once: one row per measure with its bounds in EUR excl. VAT. A price whose
-- measure lies below min_eur or above max_eur (strictly; null = no bound) is FLAGGED in price_outliers
-- (is_outlier, outlier_reason), never dropped: market_prices reports the share flagged per market and its
-- statistics with and without the flagged prices. Bounds are compared exactly in the price's own currency
-- (value < bound x units per EUR, the fx_rates rate valid on the snapshot date), so no rounding decides a flag.
-- energy: 0.05 .. 2.00 EUR/kWh brackets every public tariff in Europe (ad hoc HPC tops out near 1 EUR/kWh,
-- market-realism.md); below is free or a typo (cents entered as EUR/100), above a typo or a test record.
-- time / parking_time: above 60 EUR/h (1 EUR/min, beyond the steepest blocking fees); flat: above 10 EUR a session.
SELECT
    CAST(position AS INTEGER) AS position,
    CAST(measure AS VARCHAR) AS measure,
    CAST(unit AS VARCHAR) AS unit,
    CAST(applies_to AS VARCHAR) AS applies_to,
    CAST(min_eur AS DECIMAL(18, 6)) AS min_eur,
    CAST(max_eur AS DECIMAL(18, 6)) AS max_eur
FROM (VALUES
    (1, 'energy', 'EUR/kWh excl. VAT', 'the unrestricted energy price (price_summary.energy_price_excl_vat)', 0.05, 2.00),
    (2, 'time', 'EUR/h excl. VAT', 'the highest TIME component of the price', NULL, 60.00),
    (3, 'parking_time', 'EUR/h excl. VAT', 'the highest PARKING_TIME component of the price', NULL, 60.00),
    (4, 'flat', 'EUR per session excl. VAT', 'the highest FLAT component of the price', NULL, 10.00)
) AS policy(position, measure, unit, applies_to, min_eur, max_eur)
