package agreement_test

import (
	"encoding/json"
	"testing"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/agreement"
)

// Events written before notes moved into the personal part keep decoding:
// agreement.amended.v1 kept its note in the event's data.
func TestAnAmendmentWrittenAsV1StillDecodes(t *testing.T) {
	t.Parallel()
	rec := domain.Record{Stream: "agreement-a1", Version: 2, Type: "agreement.amended", SchemaVersion: 1,
		Data: json.RawMessage(`{"on":"2024-05-01","validUntil":"2024-10-31","note":"pilot extended"}`)}
	ev, err := domain.Decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := ev.(agreement.Amended)
	if !ok || got.On != domain.MustDate("2024-05-01") || got.ValidUntil != domain.MustDate("2024-10-31") ||
		got.Reason != "other" || got.Note.Note != "pilot extended" {
		t.Fatalf("Decode(v1) = %#v", ev)
	}
	rec.Data = json.RawMessage(`{"on":"2024-05-01","validUntil":"2024-10-31"}`)
	if ev, err := domain.Decode(rec); err != nil || ev.(agreement.Amended).Reason != "" || !ev.(agreement.Amended).Note.IsZero() {
		t.Fatalf("Decode(v1 without a note) = %#v, %v", ev, err)
	}
}

// A new amendment keeps its note out of the event's data.
func TestAnAmendmentsNoteIsPersonal(t *testing.T) {
	t.Parallel()
	rec, err := domain.Encode(agreement.Amended{On: domain.MustDate("2024-05-01"), ValidUntil: domain.MustDate("2024-10-31"),
		Reason: "extension", Note: domain.NewNote("Liisa asked for it")}, domain.Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Name() != "agreement.amended.v2" || string(rec.Personal) != `{"note":"Liisa asked for it"}` ||
		len(rec.Subject) < 6 || rec.Subject[:5] != "note:" {
		t.Fatalf("Encode = %s data %s personal %s subject %q", rec.Name(), rec.Data, rec.Personal, rec.Subject)
	}
	if json.Valid(rec.Data) && string(rec.Data) != `{"on":"2024-05-01","validUntil":"2024-10-31","reason":"extension"}` {
		t.Fatalf("data = %s", rec.Data)
	}
}
