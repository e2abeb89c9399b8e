package guideline

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/kaiku/kaiku/domain"
)

// Rules are what one guideline version makes the system enforce and count
// by. They are plain data so that a version's rules can be stored in its
// event and applied again later (restated statistics).
type Rules struct {
	// MinHolderAge is the minimum age of a cardholder, counted by birth
	// year: a holder qualifies when they turn MinHolderAge during the year
	// of issue ("16, or turning 16 this year").
	MinHolderAge int `json:"minHolderAge"`
	// CardValidityMonths is how long an issued or renewed card is valid.
	CardValidityMonths int `json:"cardValidityMonths"`
	// ChildTicketMaxAge is the oldest age that still gets a free children's
	// ticket (17 means "under 18"; the older practice was 15, "under 16").
	ChildTicketMaxAge int `json:"childTicketMaxAge"`
	// ChildTicketsForCourses tells whether children's tickets may be taken
	// with a course place or season pass.
	ChildTicketsForCourses bool `json:"childTicketsForCourses"`
	// SmallCellThreshold is the smallest count published to anyone but
	// Kaikukeskus; smaller cells are suppressed.
	SmallCellThreshold int `json:"smallCellThreshold"`
	// Categories are the use categories venues and uses may carry.
	Categories []string `json:"categories"`
	// AgeBands are the lower bounds of the age groups statistics count by,
	// strictly increasing (16, 25, 35, 50, 65 gives 16–24 … 65+).
	AgeBands []int `json:"ageBands"`
}

// invalidRules is the code of every Invalid that Validate returns.
const invalidRules = "invalid_rules"

// Validate reports the first rule that is out of range as a *domain.Invalid
// with code "invalid_rules" and the field named as in the request
// ("rules.minHolderAge").
func (r Rules) Validate() error {
	bad := func(field, format string, args ...any) error {
		return domain.Invalidf(invalidRules, "rules."+field, format, args...)
	}
	switch {
	case r.MinHolderAge < 0 || r.MinHolderAge > 120:
		return bad("minHolderAge", "must be between 0 and 120, not %d", r.MinHolderAge)
	case r.CardValidityMonths < 1 || r.CardValidityMonths > 120:
		return bad("cardValidityMonths", "must be between 1 and 120, not %d", r.CardValidityMonths)
	case r.ChildTicketMaxAge < 0 || r.ChildTicketMaxAge > 25:
		return bad("childTicketMaxAge", "must be between 0 and 25, not %d", r.ChildTicketMaxAge)
	case r.SmallCellThreshold < 1 || r.SmallCellThreshold > 1000:
		return bad("smallCellThreshold", "must be between 1 and 1000, not %d", r.SmallCellThreshold)
	case len(r.Categories) == 0:
		return bad("categories", "must name at least one category")
	}
	seen := map[string]bool{}
	for _, c := range r.Categories {
		if !isToken(c) {
			return bad("categories", "category %q must be 1–32 lower-case letters, digits or '-'", c)
		}
		if seen[c] {
			return bad("categories", "category %q is listed twice", c)
		}
		seen[c] = true
	}
	if len(r.AgeBands) == 0 {
		return bad("ageBands", "must give at least one lower bound")
	}
	for i, b := range r.AgeBands {
		if b < 0 || b > 120 {
			return bad("ageBands", "bound %d is not between 0 and 120", b)
		}
		if i > 0 && b <= r.AgeBands[i-1] {
			return bad("ageBands", "bounds must increase strictly (%d after %d)", b, r.AgeBands[i-1])
		}
	}
	return nil
}

// HasCategory reports whether c is one of the rules' use categories.
func (r Rules) HasCategory(c string) bool { return slices.Contains(r.Categories, c) }

// AgeOldEnough reports whether a holder born in birthYear may get a card
// issued on issuedOn: they are MinHolderAge or turn it during that year.
func (r Rules) AgeOldEnough(birthYear int, issuedOn domain.Date) bool {
	return issuedOn.Year()-birthYear >= r.MinHolderAge
}

// ValidUntil returns the last day of validity of a card issued or renewed
// on from: CardValidityMonths later, less one day (2024-03-01 → 2025-02-28).
func (r Rules) ValidUntil(from domain.Date) domain.Date {
	return from.AddMonths(r.CardValidityMonths).AddDays(-1)
}

// AgeBand names the age group of someone born in birthYear during year,
// counting age by year as issuance does: "16-24", …, "65+", or "<16" below
// the first bound.
func (r Rules) AgeBand(birthYear, year int) string {
	age := year - birthYear
	if len(r.AgeBands) == 0 {
		return strconv.Itoa(age)
	}
	if age < r.AgeBands[0] {
		return "<" + strconv.Itoa(r.AgeBands[0])
	}
	for i := len(r.AgeBands) - 1; i >= 0; i-- {
		if age >= r.AgeBands[i] {
			if i == len(r.AgeBands)-1 {
				return strconv.Itoa(r.AgeBands[i]) + "+"
			}
			return fmt.Sprintf("%d-%d", r.AgeBands[i], r.AgeBands[i+1]-1)
		}
	}
	return "" // unreachable: age >= AgeBands[0] matched above
}

func isToken(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
