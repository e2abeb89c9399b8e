package logbus

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/kaiku/kaiku/domain"
)

// Metadata keys under which a message carries its record's envelope.
const (
	MetaPosition      = "position"
	MetaStream        = "stream"
	MetaVersion       = "version"
	MetaType          = "type"
	MetaSchemaVersion = "schema_version"
	MetaPrincipal     = "principal"
	MetaCorrelationID = "correlation_id"
	MetaCausationID   = "causation_id"
	MetaOccurredAt    = "occurred_at"
	MetaRecordedAt    = "recorded_at"
	MetaPersonal      = "personal"
	MetaSubject       = "subject"
	// MetaExpectedVersion is read by Publisher only: the stream version the
	// append expects (domain.Version; absent means AnyVersion).
	MetaExpectedVersion = "expected_version"
)

// ForeignType is the record type (schema version 1) under which Publisher
// stores a message that has no envelope, wrapped whole.
const ForeignType = "watermill.message"

// ErrNoEnvelope is returned (wrapped) by MessageToRecord for a message
// without MetaType metadata.
var ErrNoEnvelope = errors.New("message carries no event envelope")

const timeLayout = time.RFC3339Nano

// foreign is the Data of a ForeignType record.
type foreign struct {
	UUID     string            `json:"uuid"`
	Payload  []byte            `json:"payload"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// RecordToMessage returns rec as a Watermill message: UUID = event id,
// payload = Data, envelope in metadata. Empty optional fields (causation,
// personal data) are left out. A ForeignType record gives back the message
// that was published, with the envelope metadata added.
func RecordToMessage(rec domain.Record) *message.Message {
	var msg *message.Message
	if rec.Type == ForeignType && rec.SchemaVersion == 1 {
		var f foreign
		if err := json.Unmarshal(rec.Data, &f); err == nil {
			msg = message.NewMessage(f.UUID, f.Payload)
			for k, v := range f.Metadata {
				msg.Metadata.Set(k, v)
			}
		}
	}
	if msg == nil {
		msg = message.NewMessage(string(rec.ID), message.Payload(rec.Data))
	}
	md := msg.Metadata
	md.Set(MetaPosition, strconv.FormatInt(int64(rec.Position), 10))
	md.Set(MetaStream, string(rec.Stream))
	md.Set(MetaVersion, strconv.FormatInt(int64(rec.Version), 10))
	md.Set(MetaType, rec.Type)
	md.Set(MetaSchemaVersion, strconv.Itoa(rec.SchemaVersion))
	md.Set(MetaPrincipal, rec.Principal.String())
	if rec.CorrelationID != "" {
		md.Set(MetaCorrelationID, string(rec.CorrelationID))
	}
	if rec.CausationID != "" {
		md.Set(MetaCausationID, string(rec.CausationID))
	}
	if !rec.OccurredAt.IsZero() {
		md.Set(MetaOccurredAt, rec.OccurredAt.Format(timeLayout))
	}
	if !rec.RecordedAt.IsZero() {
		md.Set(MetaRecordedAt, rec.RecordedAt.Format(timeLayout))
	}
	if len(rec.Personal) > 0 {
		md.Set(MetaPersonal, string(rec.Personal))
	}
	if rec.Subject != "" {
		md.Set(MetaSubject, rec.Subject)
	}
	return msg
}

// MessageToRecord reads a record back from a message made by
// RecordToMessage (or built by hand with the same metadata). Position,
// Version and RecordedAt are read when present (zero otherwise, as for a
// record not yet appended); a missing principal means domain.System and a
// missing schema version means 1. It returns an error wrapping ErrNoEnvelope
// when the message has no MetaType, and an error naming the field when the
// UUID is not a UUID, a number or time does not parse, or the payload is
// not JSON. A ForeignType record comes back as stored (wrapped).
func MessageToRecord(msg *message.Message) (domain.Record, error) {
	md := msg.Metadata
	typ := md.Get(MetaType)
	if typ == "" {
		return domain.Record{}, fmt.Errorf("message %s: %w", msg.UUID, ErrNoEnvelope)
	}
	stream := domain.StreamID(md.Get(MetaStream))
	var id domain.EventID
	var err error
	if typ == ForeignType {
		id = foreignID(stream, msg.UUID)
	} else if id, err = domain.ParseEventID(msg.UUID); err != nil {
		return domain.Record{}, fmt.Errorf("message uuid: %w", err)
	}
	rec := domain.Record{
		ID:            id,
		Stream:        stream,
		Type:          typ,
		SchemaVersion: 1,
		Principal:     domain.System,
		Subject:       md.Get(MetaSubject),
	}
	if typ == ForeignType {
		// The payload of a redelivered foreign message is the original
		// payload, not the stored wrapper: wrap it again.
		if rec.Data, err = wrapForeign(msg.UUID, msg.Payload, md); err != nil {
			return domain.Record{}, err
		}
	} else {
		if !json.Valid(msg.Payload) {
			return domain.Record{}, fmt.Errorf("message %s: payload is not JSON", msg.UUID)
		}
		rec.Data = json.RawMessage(msg.Payload)
	}
	if err := parseInt(md, MetaPosition, func(v int64) { rec.Position = domain.Position(v) }); err != nil {
		return domain.Record{}, err
	}
	if err := parseInt(md, MetaVersion, func(v int64) { rec.Version = domain.Version(v) }); err != nil {
		return domain.Record{}, err
	}
	if err := parseInt(md, MetaSchemaVersion, func(v int64) { rec.SchemaVersion = int(v) }); err != nil {
		return domain.Record{}, err
	}
	if s := md.Get(MetaPrincipal); s != "" {
		if rec.Principal, err = domain.ParsePrincipal(s); err != nil {
			return domain.Record{}, fmt.Errorf("metadata %s: %w", MetaPrincipal, err)
		}
	}
	for key, dst := range map[string]*domain.EventID{MetaCorrelationID: &rec.CorrelationID, MetaCausationID: &rec.CausationID} {
		if s := md.Get(key); s != "" {
			if *dst, err = domain.ParseEventID(s); err != nil {
				return domain.Record{}, fmt.Errorf("metadata %s: %w", key, err)
			}
		}
	}
	for key, dst := range map[string]*time.Time{MetaOccurredAt: &rec.OccurredAt, MetaRecordedAt: &rec.RecordedAt} {
		if s := md.Get(key); s != "" {
			if *dst, err = time.Parse(timeLayout, s); err != nil {
				return domain.Record{}, fmt.Errorf("metadata %s: %w", key, err)
			}
		}
	}
	if s := md.Get(MetaPersonal); s != "" {
		if !json.Valid([]byte(s)) {
			return domain.Record{}, fmt.Errorf("metadata %s is not JSON", MetaPersonal)
		}
		rec.Personal = json.RawMessage(s)
	}
	return rec, nil
}

func parseInt(md message.Metadata, key string, set func(int64)) error {
	s := md.Get(key)
	if s == "" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("metadata %s: %w", key, err)
	}
	set(v)
	return nil
}

// envelopeKeys are dropped from a foreign message's stored metadata: the
// record's own envelope replaces them on delivery.
var envelopeKeys = map[string]bool{
	MetaPosition: true, MetaStream: true, MetaVersion: true, MetaType: true, MetaSchemaVersion: true,
	MetaPrincipal: true, MetaCorrelationID: true, MetaCausationID: true, MetaOccurredAt: true,
	MetaRecordedAt: true, MetaPersonal: true, MetaSubject: true, MetaExpectedVersion: true,
}

func wrapForeign(id string, payload []byte, md message.Metadata) (json.RawMessage, error) {
	f := foreign{UUID: id, Payload: payload}
	for k, v := range md {
		if !envelopeKeys[k] {
			if f.Metadata == nil {
				f.Metadata = map[string]string{}
			}
			f.Metadata[k] = v
		}
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("wrap message %s: %w", id, err)
	}
	return b, nil
}

// foreignNamespace derives event ids for foreign messages.
var foreignNamespace = uuid.MustParse("6b61696b-752d-4c6f-9762-75732d6d7367")

// foreignRecord wraps a message without envelope into a ForeignType record
// for stream. Its event id is derived from the stream and the message UUID,
// so publishing the same message to the same stream again is idempotent,
// while Watermill's "same UUID on two topics" stays two events (event ids
// are unique across the whole log).
func foreignRecord(stream domain.StreamID, msg *message.Message) (domain.Record, error) {
	data, err := wrapForeign(msg.UUID, msg.Payload, msg.Metadata)
	if err != nil {
		return domain.Record{}, err
	}
	return domain.Record{
		ID:            foreignID(stream, msg.UUID),
		Stream:        stream,
		Type:          ForeignType,
		SchemaVersion: 1,
		OccurredAt:    time.Now().UTC(),
		Principal:     domain.System,
		Data:          data,
	}, nil
}

func foreignID(stream domain.StreamID, msgUUID string) domain.EventID {
	return domain.EventID(uuid.NewSHA1(foreignNamespace, []byte(string(stream)+"\x00"+msgUUID)).String())
}
