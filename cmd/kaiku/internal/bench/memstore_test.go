package bench

import (
	"testing"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/eventstoretest"
)

func TestMemKeepsTheEventStoreContract(t *testing.T) {
	t.Parallel()
	eventstoretest.Run(t, func(*testing.T) domain.EventStore { return NewMem() })
}

func TestImportBatchesKeepTheLogOrder(t *testing.T) {
	t.Parallel()
	rec := func(stream string, v int) domain.Record {
		return domain.Record{Stream: domain.StreamID(stream), Version: domain.Version(v)}
	}
	for _, tc := range []struct {
		name  string
		log   []domain.Record
		size  int
		parts [][]string // per batch, the streams of its parts with their record counts as "stream:n"
	}{
		{"consecutive records of one stream share a part", []domain.Record{rec("a", 1), rec("a", 2), rec("b", 1)}, 10,
			[][]string{{"a:2", "b:1"}}},
		{"a stream that comes back after another starts a new batch", []domain.Record{rec("a", 1), rec("b", 1), rec("a", 2)}, 10,
			[][]string{{"a:1", "b:1"}, {"a:1"}}},
		{"a full batch ends even inside one stream", []domain.Record{rec("a", 1), rec("a", 2), rec("a", 3)}, 2,
			[][]string{{"a:2"}, {"a:1"}}},
		{"an empty log gives no batches", nil, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := importBatches(tc.log, tc.size)
			var desc [][]string
			total := 0
			for _, b := range got {
				var d []string
				for _, p := range b {
					d = append(d, string(p.Stream)+":"+string(rune('0'+len(p.Records))))
					if p.Expected != p.Records[0].Version-1 {
						t.Errorf("part %s expects %d, want %d", p.Stream, p.Expected, p.Records[0].Version-1)
					}
					total += len(p.Records)
				}
				desc = append(desc, d)
			}
			if total != len(tc.log) {
				t.Fatalf("batches hold %d records, want %d", total, len(tc.log))
			}
			if len(desc) != len(tc.parts) {
				t.Fatalf("batches %v, want %v", desc, tc.parts)
			}
			for i := range desc {
				if len(desc[i]) != len(tc.parts[i]) {
					t.Fatalf("batches %v, want %v", desc, tc.parts)
				}
				for j := range desc[i] {
					if desc[i][j] != tc.parts[i][j] {
						t.Fatalf("batches %v, want %v", desc, tc.parts)
					}
				}
			}
		})
	}
}
