package eventstoredb

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/kaiku/kaiku/domain"
)

// metadata is the JSON a Record's envelope travels in as KurrentDB user
// metadata. The event id, stream, version, type, position and record time
// have native KurrentDB fields; everything else is here. The field names
// are part of the stored format: never rename one.
type metadata struct {
	Principal     string          `json:"principal"`
	CorrelationID domain.EventID  `json:"correlationId,omitempty"`
	CausationID   domain.EventID  `json:"causationId,omitempty"`
	OccurredAt    time.Time       `json:"occurredAt"`
	SchemaVersion int             `json:"schemaVersion"`
	Personal      json.RawMessage `json:"personal,omitempty"`
	Subject       string          `json:"subject,omitempty"`
}

// toEventData maps a Record to the event KurrentDB stores. The record's
// Data is stored byte for byte; the type is the full stored name
// ("card.issued.v1") so that KurrentDB's type filters and UI show it.
func toEventData(r domain.Record) (esdb.EventData, error) {
	id, err := uuid.Parse(string(r.ID))
	if err != nil {
		return esdb.EventData{}, fmt.Errorf("event id %q: %w", r.ID, err)
	}
	if _, _, err := domain.SplitEventName(r.Name()); err != nil {
		return esdb.EventData{}, err
	}
	if !json.Valid(r.Data) {
		return esdb.EventData{}, fmt.Errorf("event %s: data is not JSON", r.ID)
	}
	md := metadata{
		CorrelationID: r.CorrelationID,
		CausationID:   r.CausationID,
		OccurredAt:    r.OccurredAt,
		SchemaVersion: r.SchemaVersion,
		Subject:       r.Subject,
	}
	if r.Principal != (domain.Principal{}) {
		md.Principal = r.Principal.String()
	}
	if len(r.Personal) > 0 && string(r.Personal) != "null" {
		if !json.Valid(r.Personal) {
			return esdb.EventData{}, fmt.Errorf("event %s: personal data is not JSON", r.ID)
		}
		md.Personal = r.Personal
	}
	meta, err := json.Marshal(md)
	if err != nil {
		return esdb.EventData{}, fmt.Errorf("encode metadata of event %s: %w", r.ID, err)
	}
	return esdb.EventData{
		EventID:     id,
		EventType:   r.Name(),
		ContentType: esdb.ContentTypeJson,
		Data:        r.Data,
		Metadata:    meta,
	}, nil
}

// fromRecorded maps an event read from KurrentDB back to a Record. The
// stream name is given as Kaiku knows it (without any test prefix).
// Version is the 0-based revision plus one; RecordedAt is the server's
// creation time; Position is the $all position (see toPosition).
func fromRecorded(stream domain.StreamID, e *esdb.RecordedEvent) (domain.Record, error) {
	typ, ver, err := domain.SplitEventName(e.EventType)
	if err != nil {
		return domain.Record{}, fmt.Errorf("event %s/%d: %w", e.StreamID, e.EventNumber, err)
	}
	var md metadata
	if err := json.Unmarshal(e.UserMetadata, &md); err != nil {
		return domain.Record{}, fmt.Errorf("decode metadata of event %s/%d: %w", e.StreamID, e.EventNumber, err)
	}
	if md.SchemaVersion != ver {
		return domain.Record{}, fmt.Errorf("event %s/%d: type %q disagrees with metadata schema version %d", e.StreamID, e.EventNumber, e.EventType, md.SchemaVersion)
	}
	pos, err := toPosition(e.Position)
	if err != nil {
		return domain.Record{}, fmt.Errorf("event %s/%d: %w", e.StreamID, e.EventNumber, err)
	}
	r := domain.Record{
		ID:            domain.EventID(e.EventID.String()),
		Stream:        stream,
		Version:       toVersion(e.EventNumber),
		Position:      pos,
		Type:          typ,
		SchemaVersion: ver,
		OccurredAt:    md.OccurredAt,
		RecordedAt:    e.CreatedDate,
		CorrelationID: md.CorrelationID,
		CausationID:   md.CausationID,
		Data:          json.RawMessage(e.Data),
		Personal:      md.Personal,
		Subject:       md.Subject,
	}
	if md.Principal != "" {
		if r.Principal, err = domain.ParsePrincipal(md.Principal); err != nil {
			return domain.Record{}, fmt.Errorf("event %s/%d: %w", e.StreamID, e.EventNumber, err)
		}
	}
	return r, nil
}

// isSystem reports whether an event in $all is KurrentDB's own (a $-type
// such as $metadata or a $> link, or any event in a $-stream) rather than
// one Kaiku appended.
func isSystem(e *esdb.RecordedEvent) bool {
	return strings.HasPrefix(e.EventType, "$") || strings.HasPrefix(e.StreamID, "$")
}
