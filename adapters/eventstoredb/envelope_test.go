package eventstoredb

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/kaiku/kaiku/domain"
)

// fullRecord has every envelope field set to a value that a mix-up with
// another field would change.
func fullRecord() domain.Record {
	helsinki := time.FixedZone("EET", 2*60*60)
	return domain.Record{
		ID:            "0190c2a4-7d1e-7b3c-8f00-000000000001",
		Stream:        "partner-espoo-sos-1",
		Type:          "partner.contact_changed",
		SchemaVersion: 2,
		OccurredAt:    time.Date(2024, 3, 1, 9, 30, 15, 123456789, helsinki),
		Principal:     domain.Principal{Role: domain.RoleCoordinator, Locality: "espoo", KeyID: "k_3f2a"},
		CorrelationID: "0190c2a4-7d1e-7b3c-8f00-000000000002",
		CausationID:   "0190c2a4-7d1e-7b3c-8f00-000000000003",
		Data:          json.RawMessage(`{"partner":"espoo-sos-1","on":"2024-03-01"}`),
		Personal:      json.RawMessage(`{"name":"Contact Person","email":"c@example.fi"}`),
		Subject:       "contact-7",
	}
}

// recorded plays the server: it stores d in stream at revision and
// position, as a read would return it.
func recorded(stream string, revision uint64, pos esdb.Position, created time.Time, d esdb.EventData) *esdb.RecordedEvent {
	return &esdb.RecordedEvent{
		EventID:      d.EventID,
		EventType:    d.EventType,
		ContentType:  "application/json",
		StreamID:     stream,
		EventNumber:  revision,
		Position:     pos,
		CreatedDate:  created,
		Data:         d.Data,
		UserMetadata: d.Metadata,
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	t.Parallel()
	minimal := fullRecord()
	minimal.Principal = domain.System
	minimal.CausationID, minimal.CorrelationID = "", ""
	minimal.Personal, minimal.Subject = nil, ""
	minimal.SchemaVersion = 1
	anonymous := fullRecord()
	anonymous.Principal = domain.Principal{}
	tests := []struct {
		name   string
		record domain.Record
	}{
		{"a record with every envelope field set comes back unchanged", fullRecord()},
		{"a system record without personal data or causation comes back unchanged", minimal},
		{"a record without a principal comes back without one", anonymous},
	}
	created := time.Date(2024, 3, 2, 10, 0, 0, 1234500, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := toEventData(tt.record)
			if err != nil {
				t.Fatalf("toEventData: %v", err)
			}
			if d.EventID.String() != string(tt.record.ID) {
				t.Errorf("EventID = %s, want %s", d.EventID, tt.record.ID)
			}
			if d.EventType != tt.record.Name() {
				t.Errorf("EventType = %q, want %q", d.EventType, tt.record.Name())
			}
			if d.ContentType != esdb.ContentTypeJson {
				t.Errorf("ContentType = %v, want JSON", d.ContentType)
			}
			if string(d.Data) != string(tt.record.Data) {
				t.Errorf("Data = %s, want %s byte for byte", d.Data, tt.record.Data)
			}

			got, err := fromRecorded(tt.record.Stream, recorded(string(tt.record.Stream), 4, esdb.Position{Commit: 7340, Prepare: 7340}, created, d))
			if err != nil {
				t.Fatalf("fromRecorded: %v", err)
			}
			want := tt.record
			want.Version = 5
			want.Position = 7340
			want.RecordedAt = created
			if !got.OccurredAt.Equal(want.OccurredAt) {
				t.Errorf("OccurredAt = %v, want %v", got.OccurredAt, want.OccurredAt)
			}
			got.OccurredAt = want.OccurredAt
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestMetadataFieldNames(t *testing.T) {
	t.Parallel()
	d, err := toEventData(fullRecord())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(d.Metadata, &m); err != nil {
		t.Fatalf("metadata is not a JSON object: %v", err)
	}
	want := []string{"causationId", "correlationId", "occurredAt", "personal", "principal", "schemaVersion", "subject"}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("metadata keys = %v, want %v (the stored format must not change)", got, want)
	}
	if string(m["principal"]) != `"coordinator@espoo#k_3f2a"` {
		t.Errorf("principal = %s, want the Principal.String form", m["principal"])
	}
	if string(m["occurredAt"]) != `"2024-03-01T09:30:15.123456789+02:00"` {
		t.Errorf("occurredAt = %s, want RFC 3339 with nanoseconds", m["occurredAt"])
	}
}

func TestToEventDataRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*domain.Record)
	}{
		{"an event id that is not a UUID is refused", func(r *domain.Record) { r.ID = "evt-1" }},
		{"a record without a type is refused", func(r *domain.Record) { r.Type = "" }},
		{"a schema version below 1 is refused", func(r *domain.Record) { r.SchemaVersion = 0 }},
		{"data that is not JSON is refused", func(r *domain.Record) { r.Data = json.RawMessage(`{"a":`) }},
		{"personal data that is not JSON is refused", func(r *domain.Record) { r.Personal = json.RawMessage(`nope`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := fullRecord()
			tt.change(&r)
			if _, err := toEventData(r); err == nil {
				t.Fatal("toEventData accepted it")
			}
		})
	}
}

func TestFromRecordedRejects(t *testing.T) {
	t.Parallel()
	good, err := toEventData(fullRecord())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		change  func(*esdb.RecordedEvent)
		wantErr string
	}{
		{"a type without a schema suffix is refused", func(e *esdb.RecordedEvent) { e.EventType = "ContactChanged" }, "schema suffix"},
		{"metadata that is not JSON is refused", func(e *esdb.RecordedEvent) { e.UserMetadata = []byte("x") }, "metadata"},
		{"a type whose schema version disagrees with the metadata is refused", func(e *esdb.RecordedEvent) { e.EventType = "partner.contact_changed.v3" }, "disagrees"},
		{"an event without its $all position is refused", func(e *esdb.RecordedEvent) {
			e.Position = esdb.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}
		}, "22.6"},
		{"an event of a legacy explicit transaction is refused", func(e *esdb.RecordedEvent) { e.Position = esdb.Position{Commit: 900, Prepare: 800} }, "transaction"},
		{"a principal that does not parse is refused", func(e *esdb.RecordedEvent) { e.UserMetadata = []byte(`{"principal":"king","schemaVersion":2}`) }, "king"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := recorded("partner-espoo-sos-1", 0, esdb.Position{Commit: 10, Prepare: 10}, time.Now(), good)
			tt.change(e)
			_, err := fromRecorded("partner-espoo-sos-1", e)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestFindEvents(t *testing.T) {
	t.Parallel()
	id := func(n int) domain.EventID { return domain.EventID(uuid.NewSHA1(uuid.Nil, []byte{byte(n)}).String()) }
	stream := []domain.Record{{ID: id(1), Version: 1}, {ID: id(2), Version: 2}, {ID: id(3), Version: 3}}
	events := func(ns ...int) []esdb.EventData {
		var out []esdb.EventData
		for _, n := range ns {
			out = append(out, esdb.EventData{EventID: uuid.MustParse(string(id(n)))})
		}
		return out
	}
	tests := []struct {
		name      string
		events    []esdb.EventData
		wantFound bool
		wantFirst domain.Version
		wantSome  bool
	}{
		{"events stored consecutively are found where they are", events(2, 3), true, 2, true},
		{"a single stored event is found", events(1), true, 1, true},
		{"events stored in another order are not found", events(3, 2), false, 0, true},
		{"events of which only some are stored are not found but seen", events(3, 4), false, 0, true},
		{"events that are not stored are neither found nor seen", events(9), false, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := findEvents(stream, tt.events)
			if _, some := anyStored(stream, tt.events); some != tt.wantSome {
				t.Errorf("anyStored = %v, want %v", some, tt.wantSome)
			}
			if ok != tt.wantFound {
				t.Fatalf("found = %v, want %v", ok, tt.wantFound)
			}
			if ok && (len(got) != len(tt.events) || got[0].Version != tt.wantFirst) {
				t.Errorf("found %+v, want %d records from version %d", got, len(tt.events), tt.wantFirst)
			}
		})
	}
}

func BenchmarkEnvelope(b *testing.B) {
	r := fullRecord()
	created := time.Now().UTC()
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := toEventData(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	d, err := toEventData(r)
	if err != nil {
		b.Fatal(err)
	}
	e := recorded(string(r.Stream), 4, esdb.Position{Commit: 7340, Prepare: 7340}, created, d)
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := fromRecorded(r.Stream, e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
