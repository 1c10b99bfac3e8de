-- The pipeline bench's job in DuckDB, for comparing folge with the tool a researcher
-- would reach for (`run.py` fills in the {placeholders}): read the participants and the
-- service-event CSV files, pseudonymise with HMAC-SHA256 under the key (the first 16
-- bytes, 32 hex digits, as folge's `pid`), take days relative to inclusion, merge
-- inpatient stays that touch or overlap (same-day transfers), and count six indicators
-- per person × before/after window with the days at risk, written as long Parquet (one
-- row per person × period × indicator, zeros included, as folge's indicators.parquet).
-- Windows: before = days −365…−1, after = 0…364; exposure cut at exit and end of data.

SET threads = {threads};
SET preserve_insertion_order = false;

CREATE TEMP TABLE participants AS
SELECT
    -- HMAC(K, m) = H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)), K padded to the 64-byte block.
    left(sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || person_id::BLOB))), 32) AS pid,
    person_id,
    municipality,
    arm,
    NULL::VARCHAR AS target_group,
    strptime(inclusion_date, '%d.%m.%Y')::DATE AS inclusion,
    DATE '{data_end}' AS observed_until
FROM read_csv('{dir}/participants.csv', delim = ';', header = true, all_varchar = true);

CREATE TEMP TABLE windows AS
SELECT * FROM (VALUES ('before', -365, -1), ('after', 0, 364)) w(period, first_day, last_day);

CREATE TEMP TABLE indicators AS
SELECT * FROM (VALUES
    ('admissions'), ('bed_days'), ('outpatient_visits'), ('emergency_visits'),
    ('gp_contacts'), ('home_care_hours')
) i(indicator);

-- Every event file, relative days; rows of persons not enrolled are dropped.
CREATE TEMP TABLE events AS
SELECT
    p.pid,
    e.service,
    (coalesce(try_strptime(e.start_date, '%Y-%m-%d'), strptime(e.start_date, '%d.%m.%Y'))::DATE
        - p.inclusion) AS start_day,
    (coalesce(try_strptime(e.end_date, '%Y-%m-%d'), try_strptime(e.end_date, '%d.%m.%Y'))::DATE
        - p.inclusion) AS end_day,
    coalesce(try_cast(replace(e.quantity, ',', '.') AS DOUBLE), 1.0) AS quantity,
    p.observed_until - p.inclusion AS last_day_observed
FROM read_csv('{dir}/events_*.csv', header = true, all_varchar = true, union_by_name = true) e
JOIN participants p USING (person_id);

-- Inpatient stays: a stay starting on or before the discharge of the stays before it is
-- the same stay (gaps and islands).
CREATE TEMP TABLE stays AS
WITH ordered AS (
    SELECT pid, start_day, end_day,
        CASE WHEN start_day <= max(end_day) OVER (
            PARTITION BY pid ORDER BY start_day, end_day
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS opens
    FROM events WHERE service = 'inpatient'
), numbered AS (
    SELECT *, sum(opens) OVER (PARTITION BY pid ORDER BY start_day, end_day
        ROWS UNBOUNDED PRECEDING) AS stay
    FROM ordered
)
SELECT pid, min(start_day) AS start_day, max(end_day) AS end_day
FROM numbered GROUP BY pid, stay;

CREATE TEMP TABLE counted AS
SELECT s.pid, w.period, 'admissions' AS indicator, count(*)::DOUBLE AS value
FROM stays s JOIN windows w ON s.start_day BETWEEN w.first_day AND w.last_day
GROUP BY ALL
UNION ALL
SELECT s.pid, w.period, 'bed_days',
    sum(greatest(0, least(s.end_day, w.last_day + 1) - greatest(s.start_day, w.first_day)))::DOUBLE
FROM stays s JOIN windows w ON s.start_day <= w.last_day AND s.end_day >= w.first_day
GROUP BY ALL
UNION ALL
SELECT e.pid, w.period,
    CASE e.service
        WHEN 'outpatient' THEN 'outpatient_visits'
        WHEN 'gp' THEN 'gp_contacts'
        WHEN 'home_nursing' THEN 'home_care_hours'
        WHEN 'home_help' THEN 'home_care_hours'
        ELSE 'emergency_visits'
    END,
    sum(CASE WHEN e.service IN ('home_nursing', 'home_help') THEN e.quantity ELSE 1 END)
FROM events e JOIN windows w ON e.start_day BETWEEN w.first_day AND w.last_day
WHERE e.service IN ('outpatient', 'gp', 'home_nursing', 'home_help', 'hospital_emergency', 'out_of_hours')
    AND e.start_day <= e.last_day_observed
GROUP BY ALL;

COPY (
    SELECT
        p.pid, p.municipality, p.arm, p.target_group, w.period, i.indicator,
        coalesce(c.value, 0.0) AS value,
        greatest(0, least(w.last_day, p.observed_until - p.inclusion) - w.first_day + 1)::INTEGER
            AS exposure_days,
        CASE WHEN exposure_days > 0 THEN coalesce(c.value, 0.0) / (exposure_days / 365.25) END
            AS rate_per_py
    FROM participants p
    CROSS JOIN windows w
    CROSS JOIN indicators i
    LEFT JOIN counted c ON c.pid = p.pid AND c.period = w.period AND c.indicator = i.indicator
    ORDER BY p.pid, w.period, i.indicator
) TO '{dir}/duckdb_indicators.parquet' (FORMAT parquet);
