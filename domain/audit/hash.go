package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"strconv"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// chainTag separates chain hashes from every other SHA-256 use; a new
// encoding gets a new tag (one per chain format).
const chainTag = "kaiku.chain.v1"

// chainTagFields tags FormatFields hashes.
const chainTagFields = "kaiku.chain.v2"

// Entry is what the chain covers of one event, in the form the store keeps
// it. Principal is the principal's stored text (not a parsed Principal), so
// that any change to the stored text changes the hash. Times count at
// microsecond precision in UTC, the precision PostgreSQL keeps.
type Entry struct {
	ID            domain.EventID
	Stream        domain.StreamID
	Version       domain.Version
	Position      domain.Position
	Type          string
	SchemaVersion int
	OccurredAt    time.Time
	RecordedAt    time.Time
	Principal     string
	CorrelationID domain.EventID
	CausationID   domain.EventID
	Subject       string
	Data          []byte
	// PersonalDigest is PersonalDigest(personal part), or nil when the event
	// has no personal part. After erasure it is the digest the store kept.
	PersonalDigest []byte
	// Format is the chain format the entry is hashed in; 0 is
	// CurrentFormat. A verifier sets it from the chain row.
	Format int
}

// EntryOf returns the Entry of a record as a store returned it.
func EntryOf(r domain.Record) Entry {
	return Entry{
		ID:             r.ID,
		Stream:         r.Stream,
		Version:        r.Version,
		Position:       r.Position,
		Type:           r.Type,
		SchemaVersion:  r.SchemaVersion,
		OccurredAt:     r.OccurredAt,
		RecordedAt:     r.RecordedAt,
		Principal:      r.Principal.String(),
		CorrelationID:  r.CorrelationID,
		CausationID:    r.CausationID,
		Subject:        r.Subject,
		Data:           r.Data,
		PersonalDigest: PersonalDigest(r.Personal),
	}
}

// PersonalDigest returns the SHA-256 digest of an event's personal part,
// or nil when it has none (nil or empty). A store that erases personal data
// keeps this digest so the chain still verifies.
func PersonalDigest(personal []byte) []byte {
	if len(personal) == 0 {
		return nil
	}
	d := sha256.Sum256(personal)
	return d[:]
}

// Link is a chained event's position and hash: what its successor's hash
// covers. The zero Link is the start of the log.
type Link struct {
	Position domain.Position
	Hash     []byte
}

// Hash returns the chain hash of e following prev: SHA-256 over a
// length-prefixed encoding of every field of e (personal data only by its
// digest) and of prev's position and hash. Two different (prev, e) pairs
// never share an encoding.
//
// Under FormatFields the data is covered by FieldsDigest (so a recorded
// redaction verifies); under FormatWhole by its bytes.
func Hash(prev Link, e Entry) []byte {
	w := encoder{h: sha256.New()}
	fields := e.Format == 0 || e.Format == FormatFields
	switch {
	case fields:
		w.str(chainTagFields)
	case e.Format == FormatWhole:
		w.str(chainTag)
	default: // an unknown format never verifies
		w.str("kaiku.chain.unknown." + strconv.Itoa(e.Format))
	}
	w.i64(int64(prev.Position))
	w.bytes(prev.Hash)
	w.str(string(e.ID))
	w.str(string(e.Stream))
	w.i64(int64(e.Version))
	w.i64(int64(e.Position))
	w.str(e.Type)
	w.i64(int64(e.SchemaVersion))
	w.time(e.OccurredAt)
	w.time(e.RecordedAt)
	w.str(e.Principal)
	w.str(string(e.CorrelationID))
	w.str(string(e.CausationID))
	w.str(e.Subject)
	if fields {
		w.bytes(FieldsDigest(e.Data))
	} else {
		w.bytes(e.Data)
	}
	w.optional(e.PersonalDigest)
	return w.h.Sum(nil)
}

// encoder writes fixed-width integers and length-prefixed byte strings, so
// no two sequences of fields encode alike.
type encoder struct {
	h   hash.Hash
	buf [8]byte
}

func (w *encoder) i64(v int64) {
	binary.BigEndian.PutUint64(w.buf[:], uint64(v))
	w.h.Write(w.buf[:])
}

func (w *encoder) bytes(b []byte) {
	w.i64(int64(len(b)))
	w.h.Write(b)
}

func (w *encoder) str(s string) {
	w.i64(int64(len(s)))
	w.h.Write([]byte(s))
}

// optional distinguishes "absent" from "present and empty".
func (w *encoder) optional(b []byte) {
	if b == nil {
		w.h.Write([]byte{0})
		return
	}
	w.h.Write([]byte{1})
	w.bytes(b)
}

// time writes t as microseconds since the Unix epoch, truncated, which is
// what pgx sends and PostgreSQL keeps; a zero time is written as absent.
func (w *encoder) time(t time.Time) {
	if t.IsZero() {
		w.h.Write([]byte{0})
		return
	}
	w.h.Write([]byte{1})
	w.i64(t.UnixMicro())
}
