-- Chain formats (domain/audit fields.go). Rows chained before this
-- migration covered each event's data as one byte string (format 1); new
-- rows cover the digest of each field (format 2), so a recorded redaction
-- (a field replaced by a marker naming its digest) still verifies. The hash
-- covers the format, so changing this column is detected like any other
-- change.
ALTER TABLE event_chain ADD COLUMN format smallint NOT NULL DEFAULT 1 CHECK (format IN (1, 2));
ALTER TABLE event_chain ALTER COLUMN format SET DEFAULT 2;

