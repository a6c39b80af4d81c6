-- Per price and snapshot (the view price_summary is derived from this file for the latest snapshot):
-- the unrestricted energy price per kWh (the ENERGY component of the first element
-- without any restriction; incl. VAT = excl. VAT when no VAT is given, as OCPI defines) and whether the
-- price has a non-zero TIME, PARKING_TIME or FLAT fee anywhere.
WITH unrestricted AS (
    SELECT
        pc.price_id,
        pc.snapshot_date,
        pc.price_excl_vat,
        COALESCE(pc.price_incl_vat, CAST(pc.price_excl_vat AS DECIMAL(30, 12))) AS price_incl_vat,
        row_number() OVER (
            PARTITION BY pc.snapshot_date, pc.price_id ORDER BY pc.element_index, pc.component_index
        ) AS rank
    FROM price_components_history AS pc
    JOIN price_elements_history AS pe
        ON pe.price_id = pc.price_id AND pe.element_index = pc.element_index AND pe.snapshot_date = pc.snapshot_date
    WHERE pc.type = 'ENERGY'
        AND pe.start_time IS NULL AND pe.end_time IS NULL AND pe.start_date IS NULL AND pe.end_date IS NULL
        AND pe.min_kwh IS NULL AND pe.max_kwh IS NULL AND pe.min_current_a IS NULL AND pe.max_current_a IS NULL
        AND pe.min_power_kw IS NULL AND pe.max_power_kw IS NULL
        AND pe.min_duration_s IS NULL AND pe.max_duration_s IS NULL
        AND COALESCE(len(pe.day_of_week), 0) = 0 AND pe.reservation IS NULL
        AND pe.overstay_duration_s IS NULL AND pe.emsp_contract_date IS NULL
),
kinds AS (
    SELECT
        price_id,
        snapshot_date,
        bool_or(type = 'TIME' AND price_excl_vat > 0) AS has_time_fee,
        bool_or(type = 'PARKING_TIME' AND price_excl_vat > 0) AS has_parking_fee,
        bool_or(type = 'FLAT' AND price_excl_vat > 0) AS has_flat_fee
    FROM price_components_history
    GROUP BY price_id, snapshot_date
)
SELECT
    p.price_id,
    p.partner,
    p.partner_id,
    p.product_id,
    p.product_name,
    p.product_type,
    p.currency,
    u.price_excl_vat AS energy_price_excl_vat,
    u.price_incl_vat AS energy_price_incl_vat,
    COALESCE(k.has_time_fee, false) AS has_time_fee,
    COALESCE(k.has_parking_fee, false) AS has_parking_fee,
    COALESCE(k.has_flat_fee, false) AS has_flat_fee,
    p.snapshot_date
FROM prices_history AS p
LEFT JOIN unrestricted AS u
    ON u.price_id = p.price_id AND u.snapshot_date = p.snapshot_date AND u.rank = 1
LEFT JOIN kinds AS k
    ON k.price_id = p.price_id AND k.snapshot_date = p.snapshot_date
