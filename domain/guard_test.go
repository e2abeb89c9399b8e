package domain_test

import (
	"strings"
	"testing"

	"github.com/kaiku/kaiku/domain"
)

type guardProbe struct {
	On    domain.Date `json:"on"`
	Text  string      `json:"text"`
	Count int         `json:"count"`
	List  []string    `json:"list"`
}

func (guardProbe) EventName() string { return "test.guard_probe.v1" }

// Encode is the last guard: whatever a command forgot, an event that no
// read model could carry never becomes a record.
func TestEncodeRefusesWhatNoReadModelShouldCarry(t *testing.T) {
	t.Parallel()
	ok := guardProbe{On: domain.MustDate("2024-01-01"), Text: "fine\nnote", Count: 3, List: []string{"a"}}
	cases := []struct {
		name string
		edit func(*guardProbe)
		code string
	}{
		{"a plain event passes", func(*guardProbe) {}, ""},
		{"the year 10000 is refused", func(p *guardProbe) { p.On = domain.NewDate(10000, 12, 30) }, "date_out_of_range"},
		{"the year 1899 is refused", func(p *guardProbe) { p.On = domain.NewDate(1899, 12, 31) }, "date_out_of_range"},
		{"a NUL byte is refused", func(p *guardProbe) { p.Text = "a\x00b" }, "invalid_text"},
		{"an identity code in a list is refused", func(p *guardProbe) { p.List = []string{"ok", "010171-123A"} }, "personal_data_refused"},
		{"a huge text is refused", func(p *guardProbe) { p.Text = strings.Repeat("x", 5000) }, "too_long"},
		{"a negative count is refused", func(p *guardProbe) { p.Count = -1 }, "out_of_range"},
		{"a huge count is refused", func(p *guardProbe) { p.Count = 1 << 40 }, "out_of_range"},
	}
	for _, tc := range cases {
		p := ok
		tc.edit(&p)
		_, err := domain.Encode(p, domain.Metadata{})
		if got := domain.CodeOf(err); got != tc.code {
			t.Errorf("%s: code %q (%v), want %q", tc.name, got, err, tc.code)
		}
	}
}
