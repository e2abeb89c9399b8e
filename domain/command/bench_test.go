package command_test

import (
	"fmt"
	"testing"

	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/command"
)

// BenchmarkRecordUse measures one use through the whole write path on the
// real store: four stream reads (card, venue, locality, guideline),
// decide, one append. Each card takes 50 uses, about a heavy year.
func BenchmarkRecordUse(b *testing.B) {
	const usesPerCard = 50
	ctx := b.Context()
	h := seed(b, newStore(b))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := card.ID(fmt.Sprintf("K-%07d", i/usesPerCard))
		if i%usesPerCard == 0 {
			b.StopTimer()
			if _, err := h.IssueCard(ctx, issuerMD, issueCard(id)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if _, err := h.RecordUse(ctx, venueMD, command.RecordUse{Card: id, ID: card.UseID(fmt.Sprint("u", i)),
			Venue: "espoo-museum", UsedOn: d("2024-04-02")}); err != nil {
			b.Fatal(err)
		}
	}
}
