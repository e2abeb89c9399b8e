package personal_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaiku/kaiku/domain/personal"
)

func TestSealOpensOnlyUnderItsKeySubjectAndDigest(t *testing.T) {
	t.Parallel()
	m, _ := personal.NewMasterKey()
	other, _ := personal.NewMasterKey()
	const s = personal.Subject("contact:p1:1")
	d := personal.NewDataKey()
	plain := []byte(`{"name":"Maija Meikäläinen","email":"maija@example.org"}`)
	sealed := d.Seal(s, plain)
	if strings.Contains(sealed, "Maija") || strings.Contains(sealed, "example") {
		t.Fatalf("sealed form shows the plain text: %s", sealed)
	}
	if !personal.IsSealed(sealed) {
		t.Fatal("IsSealed(sealed) = false")
	}
	if got, err := personal.SealedDigest(sealed); err != nil || !bytes.Equal(got, personal.Digest(plain)) {
		t.Fatalf("SealedDigest = %x, %v; want the plain text's digest", got, err)
	}
	wrapped := m.Wrap(s, d)
	d2, err := m.Unwrap(s, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d2.Open(s, sealed)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}

	if _, err := other.Unwrap(s, wrapped); !errors.Is(err, personal.ErrWrongKey) {
		t.Errorf("unwrap under another master key: err = %v, want ErrWrongKey", err)
	}
	if _, err := m.Unwrap("contact:p1:2", wrapped); !errors.Is(err, personal.ErrWrongKey) {
		t.Errorf("unwrap as another subject: err = %v, want ErrWrongKey", err)
	}
	if _, err := personal.NewDataKey().Open(s, sealed); !errors.Is(err, personal.ErrWrongKey) {
		t.Errorf("open under another data key: err = %v, want ErrWrongKey", err)
	}
	if _, err := d.Open("contact:p1:2", sealed); !errors.Is(err, personal.ErrWrongKey) {
		t.Errorf("open as another subject: err = %v, want ErrWrongKey", err)
	}
	forgedDigest := "kaiku-sealed-v1." + strings.Repeat("ab", 32) + sealed[len("kaiku-sealed-v1.")+64:]
	if _, err := d.Open(s, forgedDigest); !errors.Is(err, personal.ErrWrongKey) {
		t.Errorf("open with another digest named: err = %v, want ErrWrongKey", err)
	}
	flipped := []byte(sealed)
	flipped[len(flipped)-3] ^= 1
	if _, err := d.Open(s, string(flipped)); err == nil {
		t.Error("open of a changed ciphertext succeeded")
	}
}

func TestMasterKeyConfiguration(t *testing.T) {
	t.Parallel()
	_, good := personal.NewMasterKey()
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte(good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m1, err := personal.LoadMasterKey(good, "")
	if err != nil {
		t.Fatal(err)
	}
	m2, err := personal.LoadMasterKey("", file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m1.Fingerprint(), m2.Fingerprint()) {
		t.Error("the same key from env and file has two fingerprints")
	}
	for _, tc := range []struct{ name, value, path, want string }{
		{"nothing configured is ErrNoMasterKey", "", "", "no master key"},
		{"both configured is refused", good, file, "not both"},
		{"a short key is refused", good[:62], "", "want 64 hex"},
		{"a non-hex key is refused", strings.Repeat("zz", 32), "", "not hexadecimal"},
		{"an all-zero key is refused", strings.Repeat("00", 32), "", "all zero"},
		{"a missing file is named", "", filepath.Join(dir, "absent"), "master key file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := personal.LoadMasterKey(tc.value, tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if tc.value != "" && strings.Contains(err.Error(), tc.value) {
				t.Fatalf("error repeats the key: %v", err)
			}
		})
	}
}

func TestSubjectsAndReasons(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"contact:espoo-sos-1:2", "coordinator:espoo:1", "note:0191a3:1"} {
		if s, err := personal.ParseSubject(ok); err != nil || string(s) != ok {
			t.Errorf("ParseSubject(%q) = %q, %v", ok, s, err)
		}
	}
	if k := personal.Subject("note:x:1").Kind(); k != "note" {
		t.Errorf("Kind = %q", k)
	}
	for _, bad := range []string{"", "contact", "contact:", "person:x", "contact:a b", "contact:ä", strings.Repeat("contact:x", 40)} {
		if _, err := personal.ParseSubject(bad); err == nil {
			t.Errorf("ParseSubject(%q) accepted", bad)
		}
	}
	if _, err := personal.ParseReason("subject_request"); err != nil {
		t.Error(err)
	}
	if _, err := personal.ParseReason("because Maija asked"); err == nil {
		t.Error("free text accepted as a reason")
	}
}
