package bench

import (
	"context"
	"testing"

	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/dataset"
)

// BenchmarkGenerateInMemory measures the generate phase: the dataset's commands
// through the handlers over Mem (go test -run XXX -bench GenerateInMemory -benchtime 1x).
func BenchmarkGenerateInMemory(b *testing.B) {
	for range b.N {
		m := NewMem()
		h := command.New(m)
		if _, err := dataset.Generate(dataset.Config{Scale: 0.05, Seed: 1}, func(c dataset.Command) error {
			_, err := dataset.Apply(context.Background(), h, c)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
