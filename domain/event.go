package domain

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is a domain fact in the past tense. EventName is the stable,
// hand-written name it is stored under, ending in its schema version:
// "card.issued.v1". A name never changes once events carry it; a new shape
// gets ".v2" and an upcaster in the registry.
type Event interface {
	EventName() string
}

// PersonalCarrier is implemented (on the pointer) by events that carry
// personal data of a contact person or coordinator. That data lives in the
// event's Person field, tagged `json:"-"`, and is stored apart from the rest
// of the event (Record.Personal, keyed by Record.Subject) so that a later
// change can encrypt it per person and erase it by forgetting the key,
// without rewriting the log. Cardholders never appear here: the log holds
// no cardholder's name, identity code, birth date or address at all.
type PersonalCarrier interface {
	PersonalData() *Person
}

// Person is personal data of a contact person or a coordinator, or a
// free-text note (which may name a person by mistake) kept apart so that it
// can be erased like a person's data.
type Person struct {
	// Subject identifies the person or note for erasure; it is not
	// personal data.
	Subject string `json:"-"`
	Name    string `json:"name,omitempty"`
	Email   string `json:"email,omitempty"`
	Phone   string `json:"phone,omitempty"`
	Note    string `json:"note,omitempty"`
	// Erased is true when the subject's personal data was erased: Subject
	// is kept, every other field is empty. It is not stored.
	Erased bool `json:"-"`
}

// IsZero reports whether p holds no personal data.
func (p Person) IsZero() bool { return p.Name == "" && p.Email == "" && p.Phone == "" && p.Note == "" }

// NewNote returns a note as a personal part under a subject of its own
// ("note:<uuid>", never derived from the text), or the zero Person for an
// empty note.
func NewNote(text string) Person {
	if text == "" {
		return Person{}
	}
	return Person{Subject: "note:" + string(NewEventID()), Note: text}
}

// EventID identifies one event; appends are idempotent by it.
// It is a UUID in canonical text form.
type EventID string

// NewEventID returns a new time-ordered UUID (version 7). It never returns
// one that ContainsIdentityCode would take for a personal identity code
// (about one in two thousand random UUIDs has that shape), so that nothing
// identifier-shaped enters the log even by chance.
func NewEventID() EventID {
	for {
		if id := newUUID(); !ContainsIdentityCode(id) {
			return EventID(id)
		}
	}
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Errorf("crypto/rand: %w", err))
	}
	ms := uint64(time.Now().UnixMilli())
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(b[0:6], ts[2:8])
	b[6] = (b[6] & 0x0f) | 0x70
	b[8] = (b[8] & 0x3f) | 0x80
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// ParseEventID checks that s is a UUID and returns it in lower case.
func ParseEventID(s string) (EventID, error) {
	s = strings.ToLower(s)
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return "", fmt.Errorf("event id %q is not a UUID", s)
	}
	if _, err := hex.DecodeString(strings.ReplaceAll(s, "-", "")); err != nil {
		return "", fmt.Errorf("event id %q is not a UUID", s)
	}
	return EventID(s), nil
}

// StreamID names one aggregate's stream: "<category>-<id>", e.g.
// "card-K-0001234". The category is the text before the first '-'.
type StreamID string

// NewStreamID joins a category and an aggregate id.
func NewStreamID(category, id string) StreamID { return StreamID(category + "-" + id) }

// Category returns the stream's category ("card" for "card-K-1").
func (s StreamID) Category() string {
	c, _, _ := strings.Cut(string(s), "-")
	return c
}

// ID returns the aggregate id part ("K-1" for "card-K-1").
func (s StreamID) ID() string {
	_, id, _ := strings.Cut(string(s), "-")
	return id
}

// Version is an event's 1-based number in its stream; a stream's version is
// that of its last event.
type Version int64

const (
	// NoStream expects the stream not to exist yet.
	NoStream Version = 0
	// AnyVersion appends whatever the stream's version is.
	AnyVersion Version = -1
)

// Position is an event's place in the global log. Positions are unique and
// strictly increasing in the order readers see the log; they are not dense
// (there may be holes between two consecutive events). Zero is "before the
// first event".
type Position int64

// Record is one event as the log keeps it: the envelope plus the encoded
// payload. Stores assign Version, Position and RecordedAt on append.
type Record struct {
	ID            EventID
	Stream        StreamID
	Version       Version
	Position      Position
	Type          string // stable type name without the schema suffix: "card.issued"
	SchemaVersion int    // 1 for "card.issued.v1"
	OccurredAt    time.Time
	RecordedAt    time.Time
	Principal     Principal
	CorrelationID EventID
	CausationID   EventID
	Data          json.RawMessage // the event without personal data
	Personal      json.RawMessage // personal data (PersonalCarrier), or nil
	Subject       string          // whose personal data it is, or ""
}

// Name returns the full stored event name, e.g. "card.issued.v1".
func (r Record) Name() string { return r.Type + ".v" + strconv.Itoa(r.SchemaVersion) }

// SplitEventName splits "card.issued.v1" into ("card.issued", 1).
func SplitEventName(name string) (string, int, error) {
	i := strings.LastIndex(name, ".v")
	if i <= 0 {
		return "", 0, fmt.Errorf("event name %q lacks a .vN schema suffix", name)
	}
	var v int
	if _, err := fmt.Sscanf(name[i+2:], "%d", &v); err != nil || v < 1 || fmt.Sprint(v) != name[i+2:] {
		return "", 0, fmt.Errorf("event name %q has a bad schema suffix", name)
	}
	return name[:i], v, nil
}

// Metadata is who caused an event, why, and when it took effect in the
// business (OccurredAt). It travels from a command to every event it raises.
type Metadata struct {
	Principal     Principal
	CorrelationID EventID
	CausationID   EventID
	OccurredAt    time.Time
}
