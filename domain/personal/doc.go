// Package personal holds the rules of the personal data lifecycle: who is
// a data subject, how a subject's personal parts are sealed with a data
// key of its own (crypto-shredding), and the events that record an
// erasure and a redaction.
//
// # Subjects
//
// A Subject is "<kind>:<rest>", e.g. "contact:espoo-sos-1:2" or
// "coordinator:espoo:1". The aggregate that first records a person chooses
// the subject; a free-text note is a subject of kind "note" like any other.
// One person recorded twice is two subjects. Erasure and subject access act
// on one subject.
//
// # Sealing
//
// Seal encrypts a personal part with AES-256-GCM under the subject's data
// key; the data key is wrapped (AES-256-GCM) by the master key. The sealed
// form names the SHA-256 digest of the plain text, which the hash chain
// covers, and binds subject and digest as associated data: a sealed part
// moved to another subject, or given another digest, does not open. Open
// never returns wrongly decrypted bytes: a wrong key is an error.
package personal
