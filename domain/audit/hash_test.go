package audit_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/audit"
)

func sampleEntry() audit.Entry {
	return audit.Entry{
		ID:             "0190a5b8-0000-7000-8000-000000000001",
		Stream:         "card-K-1",
		Version:        1,
		Position:       1 << 20,
		Type:           "card.issued",
		SchemaVersion:  1,
		OccurredAt:     time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		RecordedAt:     time.Date(2024, 3, 1, 12, 0, 0, 123456000, time.UTC),
		Principal:      "issuer@espoo-sos-1#k_1",
		CorrelationID:  "0190a5b8-0000-7000-8000-000000000002",
		Data:           []byte(`{"card":"K-1"}`),
		PersonalDigest: nil,
	}
}

func TestHashCoversEveryField(t *testing.T) {
	t.Parallel()
	base := sampleEntry()
	prev := audit.Link{Position: 7, Hash: []byte{1, 2, 3}}
	want := audit.Hash(prev, base)
	cases := []struct {
		name   string
		prev   audit.Link
		change func(*audit.Entry)
	}{
		{"a different event id changes the hash", prev, func(e *audit.Entry) { e.ID = "0190a5b8-0000-7000-8000-000000000009" }},
		{"a different stream changes the hash", prev, func(e *audit.Entry) { e.Stream = "card-K-2" }},
		{"a different version changes the hash", prev, func(e *audit.Entry) { e.Version = 2 }},
		{"a different position changes the hash", prev, func(e *audit.Entry) { e.Position++ }},
		{"a different type changes the hash", prev, func(e *audit.Entry) { e.Type = "card.renewed" }},
		{"a different schema version changes the hash", prev, func(e *audit.Entry) { e.SchemaVersion = 2 }},
		{"a different occurrence time changes the hash", prev, func(e *audit.Entry) { e.OccurredAt = e.OccurredAt.Add(time.Microsecond) }},
		{"a different record time changes the hash", prev, func(e *audit.Entry) { e.RecordedAt = e.RecordedAt.Add(time.Microsecond) }},
		{"a different principal changes the hash", prev, func(e *audit.Entry) { e.Principal = "national" }},
		{"a different correlation id changes the hash", prev, func(e *audit.Entry) { e.CorrelationID = "" }},
		{"a different causation id changes the hash", prev, func(e *audit.Entry) { e.CausationID = e.CorrelationID }},
		{"a different subject changes the hash", prev, func(e *audit.Entry) { e.Subject = "s-1" }},
		{"different data changes the hash", prev, func(e *audit.Entry) { e.Data = []byte(`{"card":"K-2"}`) }},
		{"a personal digest where there was none changes the hash", prev, func(e *audit.Entry) { e.PersonalDigest = []byte{} }},
		{"a different predecessor hash changes the hash", audit.Link{Position: 7, Hash: []byte{1, 2, 4}}, func(*audit.Entry) {}},
		{"a different predecessor position changes the hash", audit.Link{Position: 8, Hash: []byte{1, 2, 3}}, func(*audit.Entry) {}},
		{"moving bytes from the stream to the type changes the hash", prev, func(e *audit.Entry) {
			e.Stream, e.Type = "card-K-1c", "ard.issued"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := sampleEntry()
			tc.change(&e)
			if got := audit.Hash(tc.prev, e); bytes.Equal(got, want) {
				t.Fatalf("hash did not change")
			}
		})
	}
}

func TestHashIsStableAcrossRepresentations(t *testing.T) {
	t.Parallel()
	a := sampleEntry()
	b := sampleEntry()
	helsinki := time.FixedZone("EET", 2*3600)
	b.RecordedAt = a.RecordedAt.In(helsinki).Add(999 * time.Nanosecond) // same microsecond, other zone
	b.OccurredAt = a.OccurredAt.In(helsinki)
	if !bytes.Equal(audit.Hash(audit.Link{}, a), audit.Hash(audit.Link{}, b)) {
		t.Fatal("the same instant at the same microsecond hashed differently")
	}
}

func TestEntryOfKeepsOnlyTheDigestOfPersonalData(t *testing.T) {
	t.Parallel()
	personal := []byte(`{"name":"Contact Person"}`)
	r := domain.Record{
		ID: "0190a5b8-0000-7000-8000-000000000001", Stream: "partner-p1", Version: 1, Position: 5,
		Type: "partner.joined", SchemaVersion: 1, Principal: domain.Principal{Role: domain.RoleCoordinator, Locality: "espoo"},
		Data: []byte(`{}`), Personal: personal, Subject: "s-1",
	}
	e := audit.EntryOf(r)
	if e.Principal != "coordinator@espoo" {
		t.Errorf("principal = %q, want coordinator@espoo", e.Principal)
	}
	if !bytes.Equal(e.PersonalDigest, audit.PersonalDigest(personal)) || bytes.Contains(e.PersonalDigest, []byte("Contact")) {
		t.Errorf("personal digest = %x", e.PersonalDigest)
	}
	r.Personal = nil
	if audit.EntryOf(r).PersonalDigest != nil {
		t.Error("an event without personal data got a personal digest")
	}
}

func TestSealHashDependsOnKeyAndContent(t *testing.T) {
	t.Parallel()
	s := audit.NewSeal(nil, nil, 1, 9, 3, []byte{9}, time.Time{})
	keyed := audit.NewSeal([]byte("k"), nil, 1, 9, 3, []byte{9}, time.Time{})
	if bytes.Equal(s.Hash, keyed.Hash) || !keyed.Keyed || s.Keyed {
		t.Fatal("a keyed seal hashed like an unkeyed one")
	}
	if bytes.Equal(audit.SealHash([]byte("other"), keyed), keyed.Hash) {
		t.Fatal("another key reproduced the seal hash")
	}
	next := audit.NewSeal(nil, &s, 10, 12, 1, []byte{8}, time.Time{})
	if next.Seq != 2 || !bytes.Equal(next.PrevHash, s.Hash) {
		t.Fatalf("next seal = %+v", next)
	}
	changed := next
	changed.Count++
	if bytes.Equal(audit.SealHash(nil, changed), next.Hash) {
		t.Fatal("changing the count kept the seal hash")
	}
}
