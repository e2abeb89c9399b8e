package eventstoredb

import (
	"math"
	"reflect"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/kaiku/kaiku/domain"
)

func TestPositionMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		esdb esdb.Position
		want domain.Position
	}{
		{"the first event after the log's header maps to its byte offset", esdb.Position{Commit: 1, Prepare: 1}, 1},
		{"a typical position maps to its commit position", esdb.Position{Commit: 183_742, Prepare: 183_742}, 183_742},
		{"the largest int64 still maps", esdb.Position{Commit: math.MaxInt64, Prepare: math.MaxInt64}, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := toPosition(tt.esdb)
			if err != nil {
				t.Fatalf("toPosition: %v", err)
			}
			if got != tt.want {
				t.Errorf("toPosition = %d, want %d", got, tt.want)
			}
			if back := fromPosition(got); !reflect.DeepEqual(back, tt.esdb) {
				t.Errorf("fromPosition(%d) = %#v, want %#v", got, back, tt.esdb)
			}
		})
	}
}

func TestPositionZeroReadsFromTheStart(t *testing.T) {
	t.Parallel()
	if got := fromPosition(0); got != (esdb.Start{}) {
		t.Errorf("fromPosition(0) = %#v, want esdb.Start{} (the client's default is the end)", got)
	}
}

func TestPositionMappingRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		pos  esdb.Position
	}{
		{"a position the server did not report is refused", esdb.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}},
		{"a legacy transaction's position is refused", esdb.Position{Commit: 2000, Prepare: 1500}},
		{"a position beyond int64 is refused", esdb.Position{Commit: math.MaxInt64 + 1, Prepare: math.MaxInt64 + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if p, err := toPosition(tt.pos); err == nil {
				t.Fatalf("toPosition = %d, want an error", p)
			}
		})
	}
}

func TestPositionMappingKeepsOrder(t *testing.T) {
	t.Parallel()
	// Positions as a log lays them out: increasing, with holes.
	log := []uint64{0, 1, 2, 117, 118, 4096, 268_435_456, 268_435_457, 1 << 40, math.MaxInt64}
	for i := 1; i < len(log); i++ {
		a := esdb.Position{Commit: log[i-1], Prepare: log[i-1]}
		b := esdb.Position{Commit: log[i], Prepare: log[i]}
		pa, errA := toPosition(a)
		pb, errB := toPosition(b)
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if comparePositions(a, b) >= 0 || pa >= pb {
			t.Errorf("%v before %v in $all but mapped to %d, %d", a, b, pa, pb)
		}
	}
}

func TestComparePositions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b esdb.Position
		want int
	}{
		{"a lower commit comes first", esdb.Position{Commit: 5, Prepare: 9}, esdb.Position{Commit: 6, Prepare: 6}, -1},
		{"a higher commit comes later", esdb.Position{Commit: 7, Prepare: 7}, esdb.Position{Commit: 6, Prepare: 6}, 1},
		{"within one commit the prepare position orders", esdb.Position{Commit: 9, Prepare: 5}, esdb.Position{Commit: 9, Prepare: 7}, -1},
		{"equal positions compare equal", esdb.Position{Commit: 9, Prepare: 9}, esdb.Position{Commit: 9, Prepare: 9}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := comparePositions(tt.a, tt.b); got != tt.want {
				t.Errorf("comparePositions = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestExpectedRevision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		expected domain.Version
		want     esdb.ExpectedRevision
	}{
		{"NoStream expects no stream", domain.NoStream, esdb.NoStream{}},
		{"AnyVersion expects anything", domain.AnyVersion, esdb.Any{}},
		{"version 1 expects the first event at revision 0", 1, esdb.Revision(0)},
		{"version 42 expects revision 41", 42, esdb.Revision(41)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := expectedRevision(tt.expected)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("expectedRevision(%d) = %#v, want %#v", tt.expected, got, tt.want)
			}
		})
	}
	if _, err := expectedRevision(-2); err == nil {
		t.Error("expectedRevision(-2) succeeded, want an error")
	}
}

func TestStreamVersionMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		after domain.Version
		want  esdb.StreamPosition
	}{
		{"reading after version 0 starts at the stream's start", 0, esdb.Start{}},
		{"reading after version 1 starts at revision 1, the second event", 1, esdb.Revision(1)},
		{"reading after version 10 starts at revision 10", 10, esdb.Revision(10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := streamFrom(tt.after); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("streamFrom(%d) = %#v, want %#v", tt.after, got, tt.want)
			}
		})
	}
	if got := toVersion(0); got != 1 {
		t.Errorf("toVersion(0) = %d, want 1: versions are 1-based", got)
	}
}
