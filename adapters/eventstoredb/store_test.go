package eventstoredb

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/eventstoretest"
)

// TestContract runs the event store contract against a real KurrentDB
// named by KURRENTDB_URL, e.g. after `docker compose up -d kurrentdb`:
//
//	KURRENTDB_URL='kurrentdb://localhost:2113?tls=false' go test ./adapters/eventstoredb/
func TestContract(t *testing.T) {
	t.Parallel()
	eventstoretest.Run(t, func(t *testing.T) domain.EventStore {
		if strings.HasSuffix(t.Name(), "/an_event_id_appended_to_another_stream_conflicts") {
			// KurrentDB deduplicates event ids within a stream only and
			// keeps no index by id, so a second stream cannot see them.
			t.Skip("KurrentDB cannot refuse an event id that is already in another stream (see Store's doc)")
		}
		return newTestStore(t)
	})
}

// newTestStore connects to KURRENTDB_URL, or skips the test when it is not
// set. A server cannot be reset, so every store gets its own stream-name
// prefix and reads $all from where it ended when the store was made: each
// test sees only its own streams, as on a fresh server.
func newTestStore(t *testing.T) *Store {
	t.Helper()
	url := os.Getenv("KURRENTDB_URL")
	if url == "" {
		t.Skip("KURRENTDB_URL is not set: start KurrentDB with `docker compose up -d kurrentdb` " +
			"and run with KURRENTDB_URL='kurrentdb://localhost:2113?tls=false'")
	}
	s, err := New(t.Context(), url)
	if err != nil {
		t.Fatalf("connect to KURRENTDB_URL: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	s.prefix = "t" + rand.Text()[:12] + "."
	if s.floor, err = s.head(t.Context()); err != nil {
		t.Fatalf("find the end of $all: %v", err)
	}
	return s
}

// head returns the position of the last event in $all.
func (s *Store) head(ctx context.Context) (esdb.Position, error) {
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if err != nil {
		return esdb.Position{}, mapError(ctx, err)
	}
	defer rs.Close()
	ev, err := rs.Recv()
	if errors.Is(err, io.EOF) {
		return esdb.Position{}, nil
	}
	if err != nil {
		return esdb.Position{}, mapError(ctx, err)
	}
	return ev.OriginalEvent().Position, nil
}

func TestSubscribeAgainstKurrentDB(t *testing.T) {
	t.Parallel()
	s := newTestStore(t)
	var want []domain.Record
	for i := range 3 {
		rs, err := s.Append(t.Context(), domain.NewStreamID("card", fmt.Sprint("K-", i)), domain.NoStream, eventstoretest.NewRecords(10*i, 2)...)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rs...)
	}
	tests := []struct {
		name string
		from domain.Position
		want []domain.Record
	}{
		{"subscribing from zero delivers the log from its start", 0, want},
		{"subscribing from a saved position delivers what came after it", want[2].Position, want[3:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var got []domain.Record
			err := s.Subscribe(ctx, tt.from, func(r domain.Record) error {
				got = append(got, r)
				if len(got) == len(tt.want) {
					cancel()
				}
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Subscribe: %v", err)
			}
			for i := range got {
				if got[i].ID != tt.want[i].ID || got[i].Position != tt.want[i].Position {
					t.Errorf("record %d = %s at %d, want %s at %d", i, got[i].ID, got[i].Position, tt.want[i].ID, tt.want[i].Position)
				}
			}
		})
	}
}
