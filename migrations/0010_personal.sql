-- Per-subject encryption of personal parts (crypto-shredding; package
-- domain/personal, adapters/postgres personal*.go).
--
-- One data key per subject, wrapped by the master key (which is never
-- stored here). master_fp is the master key's fingerprint, so a wrong key
-- is named as such. Erasure sets wrapped to NULL and erased_at: the row
-- stays, so an erased subject is never given a new key.
CREATE TABLE personal_keys (
    subject    text        PRIMARY KEY,
    wrapped    bytea       CHECK (length(wrapped) = 60),
    master_fp  bytea       NOT NULL CHECK (length(master_fp) = 16),
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at  timestamptz,
    CONSTRAINT personal_keys_erased CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL))
);

-- A sealed personal part: the UTF-8 bytes of
-- "kaiku-sealed-v1.<hex sha256 of the plain text>.<base64url ciphertext>"
-- (bytes, not text: ciphertext is no text to search). events.personal
-- keeps only plain (not yet sealed) parts.
ALTER TABLE events ADD COLUMN personal_sealed bytea;

CREATE INDEX events_personal_subject ON events (personal_subject) WHERE personal_subject IS NOT NULL;

-- The store appends a sealed part in the personal column, like a plain
-- one. This trigger moves it to personal_sealed and keeps the digest of its
-- plain text in personal_digests (0003), in the same statement: the chain
-- covers that digest (events.personal is NULL, so the chainer and `audit
-- verify` take the kept digest), and it stays when erasure removes the
-- ciphertext. Rows without a personal part never fire it.
CREATE FUNCTION kaiku_seal_personal() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    sealed text := NEW.personal #>> '{}';
BEGIN
    IF json_typeof(NEW.personal) = 'string' AND sealed LIKE 'kaiku-sealed-v1.%' THEN
        INSERT INTO personal_digests (position, digest)
            VALUES (NEW.position, decode(split_part(sealed, '.', 2), 'hex'));
        NEW.personal_sealed := convert_to(sealed, 'UTF8');
        NEW.personal := NULL;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER events_seal_personal BEFORE INSERT ON events
    FOR EACH ROW WHEN (NEW.personal IS NOT NULL) EXECUTE FUNCTION kaiku_seal_personal();
