package audit_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kaiku/kaiku/domain/audit"
)

func TestARedactedFieldKeepsTheFieldsDigest(t *testing.T) {
	t.Parallel()
	data := []byte(`{"on":"2024-03-01", "reason" : "asiakas Matti Meikäläinen\u00e4", "n":[1,{"x":null}],"a/b~":true}`)
	want := audit.FieldsDigest(data)
	red, d, err := audit.Redact(data, "/reason")
	if len(d) != 32 {
		t.Fatalf("digest of %d bytes", len(d))
	}
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(red, []byte("Matti")) || !bytes.Contains(red, []byte(`"on":"2024-03-01"`)) || !bytes.Contains(red, []byte(`"n":[1,{"x":null}]`)) {
		t.Fatalf("redacted data = %s", red)
	}
	if got := audit.FieldsDigest(red); !bytes.Equal(got, want) {
		t.Errorf("the fields digest changed with a recorded redaction")
	}
	e := audit.Entry{ID: "e", Type: "t", SchemaVersion: 1, Data: data}
	r := e
	r.Data = red
	if !bytes.Equal(audit.Hash(audit.Link{}, e), audit.Hash(audit.Link{}, r)) {
		t.Error("the chain hash (current format) changed with a recorded redaction")
	}
	e.Format, r.Format = audit.FormatWhole, audit.FormatWhole
	if bytes.Equal(audit.Hash(audit.Link{}, e), audit.Hash(audit.Link{}, r)) {
		t.Error("format 1 covers the whole data, yet the redaction did not change its hash")
	}
	e.Format = audit.FormatFields
	if c := e; bytes.Equal(audit.Hash(audit.Link{}, c), func() []byte { c.Format = 3; return audit.Hash(audit.Link{}, c) }()) {
		t.Error("an unknown format hashes like format 2")
	}

	// Nested and escaped pointers are addressable; each value once.
	for _, p := range []string{"/n/1/x", "/n/0", "/a~1b~0"} {
		if _, _, err := audit.Redact(data, p); err != nil {
			t.Errorf("Redact %s: %v", p, err)
		}
	}
	for _, p := range []string{"/n", "/missing", ""} {
		if _, _, err := audit.Redact(data, p); err == nil {
			t.Errorf("Redact %q accepted a container or missing field", p)
		}
	}
	if _, _, err := audit.Redact(red, "/reason"); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("a second redaction of one field: %v", err)
	}

	// A marker naming another digest, or a value changed, is a change.
	other, _, _ := audit.Redact([]byte(`{"on":"2024-03-01", "reason" : "someone else", "n":[1,{"x":null}],"a/b~":true}`), "/reason")
	if bytes.Equal(audit.FieldsDigest(other), want) {
		t.Error("a marker of another value verifies as the original")
	}
	if bytes.Equal(audit.FieldsDigest([]byte(`{"on":"2024-03-02", "reason" : "asiakas Matti Meikäläinen\u00e4", "n":[1,{"x":null}],"a/b~":true}`)), want) {
		t.Error("a changed field keeps the digest")
	}
	if bytes.Equal(audit.FieldsDigest([]byte(`{"on":"2024-03-01","reason":"asiakas Matti Meikäläinen\u00e4","n":[1,{"x":null}],"a/b~":true,"extra":1}`)), want) {
		t.Error("an added field keeps the digest")
	}
}
