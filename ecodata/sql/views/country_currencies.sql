-- The currencies accepted in each country the lint rule currency_not_country judges (ISO 3166-1 alpha-2 ->
-- ISO 4217): the euro area, the other EU and EEA members, Switzerland/Liechtenstein and the UK. Bulgaria has
-- both BGN and EUR (the euro since 2026-01-01; the simulator still uses BGN). A country not listed is not judged.
SELECT CAST(country_code AS VARCHAR) AS country_code, CAST(currency AS VARCHAR) AS currency
FROM (VALUES
    ('AT', 'EUR'), ('BE', 'EUR'), ('CY', 'EUR'), ('DE', 'EUR'), ('EE', 'EUR'), ('ES', 'EUR'), ('FI', 'EUR'),
    ('FR', 'EUR'), ('GR', 'EUR'), ('HR', 'EUR'), ('IE', 'EUR'), ('IT', 'EUR'), ('LT', 'EUR'), ('LU', 'EUR'),
    ('LV', 'EUR'), ('MT', 'EUR'), ('NL', 'EUR'), ('PT', 'EUR'), ('SI', 'EUR'), ('SK', 'EUR'),
    ('BG', 'BGN'), ('BG', 'EUR'), ('CZ', 'CZK'), ('DK', 'DKK'), ('HU', 'HUF'), ('PL', 'PLN'), ('RO', 'RON'),
    ('SE', 'SEK'), ('NO', 'NOK'), ('IS', 'ISK'), ('CH', 'CHF'), ('LI', 'CHF'), ('GB', 'GBP')
) AS c(country_code, currency)
