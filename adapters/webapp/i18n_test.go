package webapp

import (
	"io/fs"
	"maps"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/card"
)

func TestTheCatalogsHoldTheSameKeys(t *testing.T) {
	t.Parallel()
	for k := range fi {
		if _, ok := en[k]; !ok {
			t.Errorf("%q is in the Finnish catalog only", k)
		}
	}
	for k := range en {
		if _, ok := fi[k]; !ok {
			t.Errorf("%q is in the English catalog only", k)
		}
	}
}

// Every text a template asks for, every choice a form offers and every
// refusal of a card's rules is in the catalogs.
func TestEveryTextOfThePagesIsInTheCatalogs(t *testing.T) {
	t.Parallel()
	want := map[string]bool{}
	lit := regexp.MustCompile(`\.T "([a-zA-Z.]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, path)
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			want[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for prefix, codes := range map[string][]string{"life.": card.LifeSituations, "gender.": card.Genders, "cancel.": card.CancelReasons} {
		for _, c := range codes {
			want[prefix+c] = true
		}
	}
	for _, v := range []error{card.ErrNotRegistered, card.ErrCancelled, card.ErrReplaced, card.ErrExpired, card.ErrOutOfScope,
		card.ErrTooManyChildTickets, card.ErrChildTicketsCourse, card.ErrUsedBeforeIssue, card.ErrExists, card.ErrAlreadyCancelled, card.ErrHolderTooYoung} {
		want["problem."+domain.CodeOf(v)] = true
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if _, ok := en[k]; !ok {
			t.Errorf("%q is used but not in the catalogs", k)
		}
	}
	if len(want) < 50 {
		t.Fatalf("found only %d texts; the template pattern no longer matches", len(want))
	}
}

func TestTheLanguageComesFromTheSwitchThenAcceptLanguage(t *testing.T) {
	t.Parallel()
	cases := []struct{ accept, cookie, want string }{
		{"", "", "fi"},
		{"en-GB,en;q=0.9", "", "en"},
		{"sv-FI,sv;q=0.9,en;q=0.5", "", "en"},
		{"fi-FI", "", "fi"},
		{"de", "", "fi"},
		{"en", "fi", "fi"},
		{"fi", "en", "en"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", tc.accept)
		if tc.cookie != "" {
			r.Header.Set("Cookie", langCookie+"="+tc.cookie)
		}
		if got := localeOf(r).Lang(); got != tc.want {
			t.Errorf("Accept-Language %q, cookie %q: %s, want %s", tc.accept, tc.cookie, got, tc.want)
		}
	}
}

func TestDatesAndNumbersFollowTheLocale(t *testing.T) {
	t.Parallel()
	fiL, enL := newLocale(languages[0]), newLocale(languages[1])
	d := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	if got := fiL.Date(d); got != "3.12.2026" {
		t.Errorf("Finnish date %q", got)
	}
	if got := enL.Date(d); got != "3 December 2026" {
		t.Errorf("English date %q", got)
	}
	if got, want := fiL.printer.Sprintf("%d", 12345), "12\u00a0345"; got != want {
		t.Errorf("Finnish number %q, want %q", got, want)
	}
	if got := enL.printer.Sprintf("%d", 12345); got != "12,345" {
		t.Errorf("English number %q", got)
	}
	if got := fiL.T("issuer.issued", "K-1"); got != "Kortti K-1 myönnetty." {
		t.Errorf("Finnish message %q", got)
	}
}
