package personal

import (
	"encoding/json"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// Part is one event's personal part of a subject, with the event it comes
// from.
type Part struct {
	Position   domain.Position
	EventID    domain.EventID
	Stream     domain.StreamID
	Version    domain.Version
	Event      string // stored name, e.g. "partner.joined.v1"
	OccurredAt time.Time
	RecordedAt time.Time
	RecordedBy string // the principal that recorded the event
	// Personal is the plain personal part, or nil once erased.
	Personal json.RawMessage
}

// Access is everything held about one subject (GDPR art. 15): its
// personal parts with their events, when its data key was created, and
// its erasure.
type Access struct {
	Subject      Subject
	Erased       bool
	KeyCreatedAt *time.Time
	ErasedAt     *time.Time
	Parts        []Part
	Erasures     []ErasureRecord
}

// ErasureRecord is one personal.erased event as subject access and the
// audit report show it: when, by whom and why; never the data.
type ErasureRecord struct {
	Subject    Subject
	Position   domain.Position
	EventID    domain.EventID
	RecordedAt time.Time
	By         string
	Reason     Reason
}

// Erasure is what one erasure did.
type Erasure struct {
	Subject Subject
	Reason  Reason
	// Event is the personal.erased event appended.
	Event domain.Record
	// Parts is how many events' personal parts were removed.
	Parts int
	// ReadModelRows, IdempotencyRows and ParkedRows count the copies
	// scrubbed elsewhere.
	ReadModelRows   int64
	IdempotencyRows int64
	ParkedRows      int64
}

// RedactionRecord is one redaction.made event: which field of which event,
// the digest of what it replaced, when, by whom and why.
type RedactionRecord struct {
	Position   domain.Position // of the redacted event
	Field      string
	Digest     string
	RecordedAt time.Time
	By         string
	Reason     Reason
	At         domain.Position // of the redaction.made event
}
