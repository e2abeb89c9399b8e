package logbus_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/kaiku/kaiku/adapters/logbus"
	"github.com/kaiku/kaiku/domain"
)

func TestRecordMessageRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 3, 1, 10, 0, 0, 123456789, time.UTC)
	cases := []struct {
		name string
		rec  domain.Record
	}{
		{"a full envelope survives the trip through a message", domain.Record{
			ID: domain.NewEventID(), Stream: "partner-espoo-sos-1", Version: 3, Position: 1 << 21,
			Type: "partner.contact_changed", SchemaVersion: 2, OccurredAt: at, RecordedAt: at.Add(time.Second),
			Principal:     domain.Principal{Role: domain.RoleCoordinator, Locality: "espoo", KeyID: "k_1"},
			CorrelationID: domain.NewEventID(), CausationID: domain.NewEventID(),
			Data: json.RawMessage(`{"partner":"espoo-sos-1"}`), Personal: json.RawMessage(`{"name":"Contact"}`), Subject: "subj-1",
		}},
		{"a record without optional fields keeps them empty", domain.Record{
			ID: domain.NewEventID(), Stream: "card-K-1", Version: 1, Position: 7,
			Type: "card.issued", SchemaVersion: 1, OccurredAt: at, RecordedAt: at,
			Principal: domain.System, Data: json.RawMessage(`{}`),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg := logbus.RecordToMessage(tc.rec)
			if msg.UUID != string(tc.rec.ID) || string(msg.Payload) != string(tc.rec.Data) {
				t.Fatalf("message %s %s, want uuid %s payload %s", msg.UUID, msg.Payload, tc.rec.ID, tc.rec.Data)
			}
			got, err := logbus.MessageToRecord(msg)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.rec) {
				t.Errorf("round trip\n got %+v\nwant %+v", got, tc.rec)
			}
		})
	}
}

func TestMessageToRecordRefuses(t *testing.T) {
	t.Parallel()
	mk := func(id, payload string, md map[string]string) *message.Message {
		m := message.NewMessage(id, []byte(payload))
		for k, v := range md {
			m.Metadata.Set(k, v)
		}
		return m
	}
	id := string(domain.NewEventID())
	cases := []struct {
		name    string
		msg     *message.Message
		wantErr error
	}{
		{"a message without a type has no envelope", mk(id, `{}`, nil), logbus.ErrNoEnvelope},
		{"a message whose uuid is not a UUID is refused", mk("not-a-uuid", `{}`, map[string]string{"type": "a.b"}), nil},
		{"a payload that is not JSON is refused", mk(id, `x`, map[string]string{"type": "a.b"}), nil},
		{"a position that is not a number is refused", mk(id, `{}`, map[string]string{"type": "a.b", "position": "x"}), nil},
		{"a principal with an unknown role is refused", mk(id, `{}`, map[string]string{"type": "a.b", "principal": "king"}), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := logbus.MessageToRecord(tc.msg)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		topic  string
		stream domain.StreamID
		want   bool
	}{
		{"the all topic takes every stream", logbus.AllTopic, "card-K-1", true},
		{"a category topic takes its streams", "card", "card-K-1", true},
		{"a category topic leaves other categories", "card", "partner-p-1", false},
		{"a stream topic takes its stream", "card-K-1", "card-K-1", true},
		{"a stream topic leaves a longer stream of the same prefix", "card-K-1", "card-K-10", false},
	}
	for _, tc := range cases {
		if got := logbus.Matches(tc.topic, tc.stream); got != tc.want {
			t.Errorf("%s: Matches(%q, %q) = %v", tc.name, tc.topic, tc.stream, got)
		}
	}
}
