package card_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
)

// plainUse is UseRecorded without its hand-written decoder: what
// encoding/json alone makes of a record.
type plainUse card.UseRecorded

// randomUseJSON returns the JSON of a random UseRecorded, as Marshal writes
// it or in one of the shapes the hand-written decoder must hand back to
// encoding/json (or reject like it).
func randomUseJSON(rng *rand.Rand) string {
	strs := []string{"", "u1", "espoo-venue-3", "culture", "event", "course", "Ähtäri", "a\\\"b", "tab\\t", "\\u00e4", "x y"}
	str := func() string { return `"` + strs[rng.IntN(len(strs))] + `"` }
	dates := []string{`"2024-03-01"`, `"2023-12-31"`, `"2024-02-30"`, `"24-1-1"`, `null`, `"2024-03-01T00:00:00Z"`, `17`}
	ints := []string{"0", "1", "2", "-1", "-0", "01", "1.0", "1e1", "99999999999999999999", `"1"`, "null", "true"}
	bools := []string{"true", "false", "null", `"true"`, "1"}
	keys := []string{"use", "venue", "venueLocality", "usedOn", "category", "kind", "childTickets", "assistant"}
	if rng.IntN(3) == 0 { // the common shape
		e := card.UseRecorded{Use: card.UseID(fmt.Sprint("u", rng.IntN(9))), Venue: "v", VenueLocality: "espoo",
			UsedOn: domain.MustDate("2023-01-01").AddDays(rng.IntN(900)), Category: "culture", Kind: card.UseEvent, ChildTickets: rng.IntN(3), Assistant: rng.IntN(2) == 0}
		raw, err := json.Marshal(e)
		if err != nil {
			panic(err)
		}
		return string(raw)
	}
	ws := func() string { return []string{"", "", " ", "\n\t", "\r "}[rng.IntN(5)] }
	var parts []string
	for _, i := range rng.Perm(len(keys))[:rng.IntN(len(keys)+1)] {
		k := keys[i]
		switch rng.IntN(12) {
		case 0:
			k = strings.ToUpper(k)
		case 1:
			k = "other"
		}
		var v string
		switch keys[i] {
		case "usedOn":
			v = dates[rng.IntN(len(dates))]
		case "childTickets":
			v = ints[rng.IntN(len(ints))]
		case "assistant":
			v = bools[rng.IntN(len(bools))]
		default:
			v = str()
			if rng.IntN(10) == 0 {
				v = []string{"null", "3", "{}", "[]"}[rng.IntN(4)]
			}
		}
		parts = append(parts, ws()+`"`+k+`"`+ws()+":"+ws()+v+ws())
		if rng.IntN(15) == 0 { // a duplicate key: the last one wins
			parts = append(parts, `"`+k+`":`+v)
		}
	}
	out := ws() + "{" + strings.Join(parts, ",") + "}" + ws()
	switch rng.IntN(25) {
	case 0:
		out = "null"
	case 1:
		out = out[:len(out)/2]
	case 2:
		out += "x"
	case 3:
		out = "[]"
	}
	return out
}

// The hand-written decoder of the hottest replayed record must agree with
// encoding/json on every input: the same value and the same failure.
func TestUseRecordedDecodesExactlyAsEncodingJSON(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	prior := card.UseRecorded{Use: "old", Category: "sport", ChildTickets: 9, Assistant: true}
	fast := 0
	for i := range 20000 {
		in := randomUseJSON(rng)
		for _, start := range []card.UseRecorded{{}, prior} {
			got, want := start, plainUse(start)
			gotErr := json.Unmarshal([]byte(in), &got)
			wantErr := json.Unmarshal([]byte(in), &want)
			if (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("input %d %q: error %v, encoding/json says %v", i, in, gotErr, wantErr)
			}
			if gotErr == nil && got != card.UseRecorded(want) {
				t.Fatalf("input %d %q: decoded %+v, encoding/json decodes %+v", i, in, got, want)
			}
			// The registry calls UnmarshalJSON directly, without
			// encoding/json's validation around it.
			direct := start
			directErr := direct.UnmarshalJSON([]byte(in))
			if (directErr == nil) != (wantErr == nil) {
				t.Fatalf("input %d %q: UnmarshalJSON error %v, encoding/json says %v", i, in, directErr, wantErr)
			}
			if directErr == nil && direct != card.UseRecorded(want) {
				t.Fatalf("input %d %q: UnmarshalJSON gives %+v, encoding/json %+v", i, in, direct, want)
			}
		}
		if strings.HasPrefix(in, `{"use":`) {
			fast++
		}
	}
	if fast < 1000 {
		t.Fatalf("only %d inputs of the common shape: the test proves little", fast)
	}
}

// A record as the registry stores it decodes to the event it encoded.
func TestUseRecordedRoundTripsThroughTheRegistry(t *testing.T) {
	t.Parallel()
	for _, e := range []card.UseRecorded{
		{Use: "u1", Venue: "espoo-venue-1", VenueLocality: "espoo", UsedOn: domain.MustDate("2024-05-06"), Category: "culture", Kind: card.UseEvent, ChildTickets: 2},
		{Use: "ä\"\\", Venue: "v", UsedOn: domain.MustDate("2023-01-01"), Kind: card.UseCourse, Assistant: true},
	} {
		rec, err := domain.Encode(e, domain.Metadata{Principal: domain.System})
		if err != nil {
			t.Fatal(err)
		}
		got, err := domain.Decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		if got != e {
			t.Errorf("decoded %+v, want %+v", got, e)
		}
	}
}
