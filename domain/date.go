package domain

import (
	"encoding/json"
	"fmt"
	"time"
)

// Date is a civil (calendar) date with no time of day and no zone. Business
// facts happen on dates: a card is issued on 2024-03-01, a use on 2024-04-02.
// The zero Date is "no date"; IsZero reports it.
type Date struct{ t time.Time }

const dateLayout = "2006-01-02"

// NewDate returns the date y-m-d, normalising overflow like time.Date does.
func NewDate(y int, m time.Month, d int) Date {
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return NewDate(y, m, d)
}

// ParseDate parses YYYY-MM-DD. It returns an error naming the bad value.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return Date{t}, nil
}

// MustDate is ParseDate for literals in tests and seeds; it panics on error.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func (d Date) IsZero() bool           { return d.t.IsZero() }
func (d Date) Year() int              { return d.t.Year() }
func (d Date) Month() time.Month      { return d.t.Month() }
func (d Date) Day() int               { return d.t.Day() }
func (d Date) Time() time.Time        { return d.t }
func (d Date) Before(o Date) bool     { return d.t.Before(o.t) }
func (d Date) After(o Date) bool      { return d.t.After(o.t) }
func (d Date) Compare(o Date) int     { return d.t.Compare(o.t) }
func (d Date) AddDays(n int) Date     { return Date{d.t.AddDate(0, 0, n)} }
func (d Date) AddYears(n int) Date    { return Date{d.t.AddDate(n, 0, 0)} }
func (d Date) DaysUntil(o Date) int   { return int(o.t.Sub(d.t).Hours() / 24) }
func (d Date) InYear(year int) bool   { return d.t.Year() == year }
func (d Date) OnOrBefore(o Date) bool { return !d.t.After(o.t) }
func (d Date) OnOrAfter(o Date) bool  { return !d.t.Before(o.t) }

// AddMonths adds n calendar months, clamping to the last day of the target
// month (2024-01-31 + 1 month = 2024-02-29), as validity periods are meant.
func (d Date) AddMonths(n int) Date {
	y, m, day := d.t.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	if day > last {
		day = last
	}
	return NewDate(first.Year(), first.Month(), day)
}

// String formats the date as YYYY-MM-DD, or "" for the zero date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(dateLayout)
}

// MarshalJSON writes "YYYY-MM-DD", or null for the zero date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads "YYYY-MM-DD" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date must be a \"YYYY-MM-DD\" string")
	}
	p, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// MinDate and MaxDate return the earlier and the later of two dates.
func MinDate(a, b Date) Date {
	if a.Before(b) {
		return a
	}
	return b
}

func MaxDate(a, b Date) Date {
	if a.After(b) {
		return a
	}
	return b
}
