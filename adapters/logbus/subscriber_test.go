package logbus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/kaiku/kaiku/adapters/logbus"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
)

func newStore(t *testing.T) *postgres.Store {
	t.Helper()
	s := postgres.NewStore(pgtest.NewPool(t))
	t.Cleanup(s.Close)
	return s
}

func mustAppend(t *testing.T, s domain.EventStore, stream domain.StreamID, n int) []domain.Record {
	t.Helper()
	recs := make([]domain.Record, n)
	for i := range recs {
		recs[i] = domain.Record{ID: domain.NewEventID(), Type: "test.happened", SchemaVersion: 1,
			OccurredAt: time.Now().UTC(), Principal: domain.System, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
	}
	out, err := s.Append(context.Background(), stream, domain.AnyVersion, recs...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// next receives one message or fails the test after a generous deadline
// (a liveness bound, not a timing assertion).
func next(t *testing.T, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no message within 20s")
	}
	return nil
}

func TestSubscriberDelivery(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	cards := mustAppend(t, store, "card-K-1", 3)
	mustAppend(t, store, "partner-p-1", 2)
	more := mustAppend(t, store, "card-K-2", 1)
	cards = append(cards, more...)

	cases := []struct {
		name  string
		topic string
		from  domain.Position
		nack  int // index of the delivery to nack once
		want  []domain.EventID
	}{
		{"a category topic delivers its streams in log order", "card", 0, -1,
			[]domain.EventID{cards[0].ID, cards[1].ID, cards[2].ID, cards[3].ID}},
		{"a nacked message comes again before the next one", "card", 0, 1,
			[]domain.EventID{cards[0].ID, cards[1].ID, cards[1].ID, cards[2].ID, cards[3].ID}},
		{"a subscription resumes after its start position", "card", cards[1].Position, -1,
			[]domain.EventID{cards[2].ID, cards[3].ID}},
		{"a stream topic delivers that stream only", "card-K-2", 0, -1, []domain.EventID{cards[3].ID}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sub, err := logbus.NewSubscriber(logbus.SubscriberConfig{Store: store,
				From: func(context.Context, string) (domain.Position, error) { return tc.from, nil }})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			ch, err := sub.Subscribe(context.Background(), tc.topic)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tc.want {
				m := next(t, ch)
				if m.UUID != string(want) {
					t.Fatalf("delivery %d is %s, want %s", i, m.UUID, want)
				}
				if i == tc.nack {
					m.Nack()
				} else {
					m.Ack()
				}
			}
			select {
			case m := <-ch:
				t.Fatalf("unexpected extra message %s (%s)", m.UUID, m.Metadata.Get(logbus.MetaStream))
			case <-time.After(200 * time.Millisecond):
			}
		})
	}
}

func TestSubscriberWakesOnAppend(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	sub, err := logbus.NewSubscriber(logbus.SubscriberConfig{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := sub.Subscribe(context.Background(), logbus.AllTopic)
	if err != nil {
		t.Fatal(err)
	}
	recs := mustAppend(t, store, "card-K-1", 1)
	m := next(t, ch)
	m.Ack()
	if m.UUID != string(recs[0].ID) || m.Metadata.Get(logbus.MetaPosition) != fmt.Sprint(int64(recs[0].Position)) {
		t.Fatalf("got %s at %s, want %s at %d", m.UUID, m.Metadata.Get(logbus.MetaPosition), recs[0].ID, recs[0].Position)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if _, open := <-ch; open {
		t.Fatal("channel still open after Close")
	}
	if _, err := sub.Subscribe(context.Background(), logbus.AllTopic); !errors.Is(err, logbus.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v, want ErrClosed", err)
	}
}

func TestPublisher(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	pub := logbus.NewPublisher(store)
	rec := domain.Record{ID: domain.NewEventID(), Type: "card.issued", SchemaVersion: 1, OccurredAt: time.Now().UTC(),
		Principal: domain.Principal{Role: domain.RoleIssuer, Partner: "p-1"}, Data: json.RawMessage(`{"card":"K-1"}`)}

	typed := func(stream, expected string) *message.Message {
		m := logbus.RecordToMessage(rec)
		m.Metadata.Set(logbus.MetaStream, stream)
		if expected != "" {
			m.Metadata.Set(logbus.MetaExpectedVersion, expected)
		}
		return m
	}
	steps := []struct {
		name        string
		topic       string
		msg         *message.Message
		wantErr     error
		wantVersion domain.Version // of stream card-K-1 afterwards
	}{
		{"an envelope message is appended as that event", "card", typed("card-K-1", "0"), nil, 1},
		{"publishing the same message again stores nothing", "card", typed("card-K-1", "0"), nil, 1},
		{"a wrong expected version is a conflict", "card", func() *message.Message {
			m := typed("card-K-1", "5")
			m.UUID = string(domain.NewEventID())
			return m
		}(), domain.ErrConflict, 1},
		{"a plain message goes to the topic's stream whole", "card-K-1", message.NewMessage("plain-1", []byte("x")), nil, 2},
	}
	for _, st := range steps {
		err := pub.Publish(st.topic, st.msg)
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: Publish: %v, want %v", st.name, err, st.wantErr)
		}
		got, err := store.ReadStream(context.Background(), "card-K-1", 0)
		if err != nil {
			t.Fatal(err)
		}
		if v := domain.Version(len(got)); v != st.wantVersion {
			t.Fatalf("%s: stream has %d events, want %d", st.name, v, st.wantVersion)
		}
	}
	got, _ := store.ReadStream(context.Background(), "card-K-1", 0)
	if got[0].ID != rec.ID || got[0].Principal != rec.Principal || string(got[0].Data) != string(rec.Data) {
		t.Errorf("stored %+v, want the published envelope %+v", got[0], rec)
	}
	back := logbus.RecordToMessage(got[1])
	if back.UUID != "plain-1" || string(back.Payload) != "x" {
		t.Errorf("plain message came back as %s %q", back.UUID, back.Payload)
	}
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("card", typed("card-K-9", "")); !errors.Is(err, logbus.ErrClosed) {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
}
