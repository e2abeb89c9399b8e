-- Tamper evidence beyond 0001 (domain/audit, adapters/postgres chain.go and
-- verify.go).
--
-- Each chain row also names the predecessor it was chained to and the
-- event's id. Both are covered by the row's hash (the predecessor link and
-- the entry are hashed), so they cannot be changed unnoticed; they let
-- `audit verify` say what happened (an event deleted with its chain row,
-- events inserted with forged chain rows, events swapped) and not only where.
ALTER TABLE event_chain
    ADD COLUMN prev_position bigint NOT NULL,
    ADD COLUMN event_id      uuid   NOT NULL;

-- A keyed seal's hash is an HMAC-SHA256 under KAIKU_SEAL_KEY. Recording
-- which seals are keyed lets a deployment start using a key later, and lets
-- a verifier without the key still check everything but the HMAC. Once one
-- seal is keyed, an unkeyed seal after it is reported as forged.
ALTER TABLE seals
    ADD COLUMN keyed boolean NOT NULL DEFAULT false;

-- Personal data erasure. The chain covers only sha256(personal), never the
-- personal bytes. Whoever erases or encrypts an event's personal part first
-- stores that digest here (audit.PersonalDigest of the bytes as they were
-- chained), then sets events.personal to NULL, in one transaction; `audit
-- verify` uses the kept digest only where events.personal is NULL, so the
-- chain still verifies and stored personal bytes are always checked. (Per
-- subject encryption, when it comes, must keep this rule or extend it.)
-- No foreign key: the log's rows are never deleted, and verification must
-- be able to see this row even when an attacker deleted the event.
CREATE TABLE personal_digests (
    position  bigint      PRIMARY KEY,
    digest    bytea       NOT NULL CHECK (length(digest) = 32),
    erased_at timestamptz NOT NULL DEFAULT now()
);
