package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kaiku/kaiku/domain"
)

func TestContainsIdentityCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		s    string
		want bool
	}{
		{"010171-1230", true},
		{"010171-123a", true},  // a lower-case check letter
		{"010171-123A", true},  // a wrong check character is personal data all the same
		{"K010171-123A", true}, // inside an id
		{"matti.meikalainen.010171-123a", true},
		{"311205A987X", true}, // the 2000s
		{"010103b1234", true}, // a new century sign, lower case
		{"010150Y123F", true},
		{"131052-308T", true},
		{"x131052308T", true},  // no sign, right check character
		{"131052308t", true},   // no sign, right check character in lower case
		{"1310523081", false},  // no sign, wrong check character: an ordinary number
		{"K-0001234", false},   // an ordinary card number
		{"320171-1230", false}, // no such day
		{"011371-1230", false}, // no such month
		{"010171_1230", false}, // '_' is no century sign
		{"espoo-sos-1", false},
		{"2024-03-01", false},
		{"", false},
	}
	for _, tc := range cases {
		if got := domain.ContainsIdentityCode(tc.s); got != tc.want {
			t.Errorf("ContainsIdentityCode(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestNewEventIDsAreNeverIdentityShaped(t *testing.T) {
	t.Parallel()
	for range 20_000 {
		if id := domain.NewEventID(); domain.ContainsIdentityCode(string(id)) {
			t.Fatalf("NewEventID() = %s holds an identity-shaped string", id)
		}
	}
}

func TestTheWindowOfBusinessDates(t *testing.T) {
	t.Parallel()
	// 23:30 UTC on 2024-06-14 is already 2024-06-15 in Helsinki.
	today := domain.Today(time.Date(2024, 6, 14, 23, 30, 0, 0, time.UTC))
	if today != domain.MustDate("2024-06-15") {
		t.Fatalf("Today = %s, want 2024-06-15", today)
	}
	past := []struct {
		d    string
		code string
	}{
		{"2015-01-01", ""}, {"2024-06-16", ""}, {"2014-12-31", "date_out_of_range"}, {"2024-06-17", "date_in_future"}, {"9999-12-31", "date_in_future"},
	}
	for _, tc := range past {
		if got := domain.CodeOf(domain.CheckPast("on", domain.MustDate(tc.d), today)); got != tc.code {
			t.Errorf("CheckPast(%s) = %q, want %q", tc.d, got, tc.code)
		}
	}
	ahead := []struct {
		d    string
		code string
	}{
		{"2034-06-15", ""}, {"2034-06-16", "date_out_of_range"}, {"2014-12-31", "date_out_of_range"},
	}
	for _, tc := range ahead {
		if got := domain.CodeOf(domain.CheckAhead("validUntil", domain.MustDate(tc.d), today)); got != tc.code {
			t.Errorf("CheckAhead(%s) = %q, want %q", tc.d, got, tc.code)
		}
	}
}

func TestTextChecks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		check func(string) error
		s     string
		code  string
	}{
		{"a plain name passes", func(s string) error { return domain.CheckText("name", s, domain.MaxName) }, "Kulttuurikeskus Äänekoski", ""},
		{"a NUL byte is refused", func(s string) error { return domain.CheckText("name", s, domain.MaxName) }, "a\x00b", "invalid_text"},
		{"an escape is refused", func(s string) error { return domain.CheckText("name", s, domain.MaxName) }, "\x1b[31m", "invalid_text"},
		{"a C1 control is refused", func(s string) error { return domain.CheckText("name", s, domain.MaxName) }, "a\u0085b", "invalid_text"},
		{"DEL is refused", func(s string) error { return domain.CheckText("name", s, domain.MaxName) }, "a\x7fb", "invalid_text"},
		{"a newline in a name is refused", func(s string) error { return domain.CheckText("name", s, domain.MaxName) }, "a\nb", "invalid_text"},
		{"invalid UTF-8 is refused", func(s string) error { return domain.CheckText("name", s, domain.MaxName) }, "a\xffb", "invalid_text"},
		{"201 characters are too long", func(s string) error { return domain.CheckText("name", s, domain.MaxName) }, strings.Repeat("ä", 201), "too_long"},
		{"200 characters pass", func(s string) error { return domain.CheckText("name", s, domain.MaxName) }, strings.Repeat("ä", 200), ""},
		{"an e-mail in a name is refused", func(s string) error { return domain.CheckText("name", s, domain.MaxName) }, "ask matti.m@example.fi", "personal_data_refused"},
		{"a newline in a note passes", func(s string) error { return domain.CheckNote("note", s) }, "line one\nline two", ""},
		{"a birth date after synt. is refused", func(s string) error { return domain.CheckNote("note", s) }, "asiakas synt. 1.1.1971", "personal_data_refused"},
		{"a birth date after born is refused", func(s string) error { return domain.CheckNote("note", s) }, "born 1971-01-01", "personal_data_refused"},
		{"a birth date after född is refused", func(s string) error { return domain.CheckNote("note", s) }, "född 01/02/1971", "personal_data_refused"},
		{"another date in a note is fine", func(s string) error { return domain.CheckNote("note", s) }, "meeting moved to 1.2.2025", ""},
		{"an e-mail passes", func(s string) error { return domain.CheckEmail("email", s) }, "anna.virtanen@espoo.fi", ""},
		{"not an e-mail", func(s string) error { return domain.CheckEmail("email", s) }, "not-an-email", "invalid_email"},
		{"an e-mail with a display name", func(s string) error { return domain.CheckEmail("email", s) }, "Anna <anna@espoo.fi>", "invalid_email"},
		{"a phone passes", func(s string) error { return domain.CheckPhone("phone", s) }, "+358 40 123 4567", ""},
		{"a word is no phone", func(s string) error { return domain.CheckPhone("phone", s) }, "phone", "invalid_phone"},
		{"an identity code is no phone", func(s string) error { return domain.CheckPhone("phone", s) }, "010171-1230", "personal_data_refused"},
		{"ten digits are a phone", func(s string) error { return domain.CheckPhone("phone", s) }, "0101711230", ""},
	}
	for _, tc := range cases {
		if got := domain.CodeOf(tc.check(tc.s)); got != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, got, tc.code)
		}
	}
}
