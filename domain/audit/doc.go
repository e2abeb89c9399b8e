// Package audit makes the log tamper evident: it defines the hash chain
// over the log (Hash), the seals that periodically vouch for a chained
// prefix of it (SealHash), and a store-independent Verifier that replays
// stored events, chain rows and seals and names the first position where
// they disagree.
//
// The chain. Each event's hash covers an unambiguous, length-prefixed
// encoding of its whole envelope and data, the SHA-256 digest of its
// personal part, and its predecessor's position and hash. Changing,
// removing, inserting or moving one event therefore changes the hash of
// that event or of its successor, and every hash after it.
//
// Personal data. The chain covers only the digest of an event's personal
// part (Entry.PersonalDigest), never the bytes themselves. When personal
// data is later erased or encrypted, the store keeps that digest beside the
// event and hands it to the Verifier in place of the bytes, so the chain
// still verifies without the data it once held.
//
// Seals. An attacker with write access to the database can rewrite the
// chain itself. Seals limit that: each covers the chained events since the
// previous seal (first and last position, count, last hash) and is chained
// to the previous seal. With a key (KAIKU_SEAL_KEY, passed in by the
// caller) a seal's hash is an HMAC-SHA256 the attacker cannot forge without
// the key; without one, seals still catch a partial rewrite, and publishing
// the latest seal hash elsewhere (Report.LastSeal) catches a full one.
//
// This package imports only the standard library and domain; the stores
// (adapters/postgres, adapters/eventstoredb) compute and persist the chain
// and feed their rows to a Verifier.
package audit
