package domain

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Helsinki on machines without a zone database
	"unicode/utf8"
)

// The window of business dates. The log keeps every event forever, so a
// date outside what the business means is refused at the door, never
// stored: facts happen between FirstBusinessDate (the first pilots) and
// today in Europe/Helsinki plus one day of clock tolerance; dates that are
// ahead by nature (an agreement's validity, a pilot's end, a guideline's
// effective date) may reach AheadYears beyond today.
var FirstBusinessDate = NewDate(2015, 1, 1)

// AheadYears is how far beyond today a planned date may reach.
const AheadYears = 10

var helsinki = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		panic(err) // time/tzdata is embedded: cannot happen
	}
	return loc
}()

// Today is the calendar date in Finland at now.
func Today(now time.Time) Date { return DateOf(now.In(helsinki)) }

// LatestPast is the last date a fact may have happened on, seen at today:
// today plus one day of clock tolerance.
func LatestPast(today Date) Date { return today.AddDays(1) }

// LatestAhead is the last date a planned date may reach, seen at today.
func LatestAhead(today Date) Date { return today.AddYears(AheadYears) }

// CheckPast refuses a business date d of field outside
// [FirstBusinessDate, today+1]: a fact dated in the future is a
// *Violation date_in_future (422), one before the first pilots an
// *Invalid date_out_of_range (400). A zero d is left to the caller.
func CheckPast(field string, d, today Date) error {
	switch {
	case d.IsZero():
		return nil
	case d.Before(FirstBusinessDate):
		return Invalidf("date_out_of_range", field, "must be on or after %s", FirstBusinessDate)
	case d.After(LatestPast(today)):
		return &Violation{Code: "date_in_future", Field: field,
			Message: field + ": " + d.String() + " is in the future; record a fact on or after the day it happened"}
	}
	return nil
}

// CheckAhead refuses a planned date d of field outside
// [FirstBusinessDate, today+AheadYears] with *Invalid date_out_of_range.
func CheckAhead(field string, d, today Date) error {
	switch {
	case d.IsZero():
		return nil
	case d.Before(FirstBusinessDate), d.After(LatestAhead(today)):
		return Invalidf("date_out_of_range", field, "must be between %s and %s", FirstBusinessDate, LatestAhead(today))
	}
	return nil
}

// Text bounds per kind of field, in characters.
const (
	MaxName  = 200 // names of localities, partners, contact persons
	MaxNote  = 1000
	MaxCode  = 64 // versions, template versions, codes
	MaxEmail = 254
	MaxPhone = 32
)

// PersonalDataMessage explains a personal_data_refused answer; it never
// repeats what was sent.
const PersonalDataMessage = "cardholders' names, personal identity codes, birth dates and addresses are never accepted; " +
	"a card records only birth year, postal code, number of minor children and, if given, life situation and gender"

// CheckText refuses a single-line text s of field unless it is valid
// UTF-8 without control characters (C0, C1, DEL), at most max characters
// long, and free of anything shaped like a personal identity code or an
// e-mail address (personal_data_refused). An empty s passes; the caller
// says whether the field is required.
func CheckText(field, s string, max int) error {
	if err := checkChars(field, s, max, false); err != nil {
		return err
	}
	if ContainsIdentityCode(s) || emailInText.MatchString(s) {
		return Invalidf("personal_data_refused", field, "%s", PersonalDataMessage)
	}
	return nil
}

// CheckNote refuses a free-text note like CheckText, but allows line feeds
// and MaxNote characters, and also refuses a birth date written after a
// marker such as "synt.", "s.", "born" or "född". A note is kept in the
// erasable personal part of its event all the same: it may name a person.
func CheckNote(field, s string) error {
	if err := checkChars(field, s, MaxNote, true); err != nil {
		return err
	}
	if ContainsIdentityCode(s) || emailInText.MatchString(s) || birthDateInText.MatchString(s) {
		return Invalidf("personal_data_refused", field, "%s", PersonalDataMessage)
	}
	return nil
}

// CheckID refuses a caller-chosen id of field that is not a slug (see
// IsSlug) or holds a personal identity code. code names the refusal of a
// malformed id (e.g. "invalid_id").
func CheckID(field, s, code string) error {
	if ContainsIdentityCode(s) {
		return Invalidf("personal_data_refused", field, "%s", PersonalDataMessage)
	}
	if !IsSlug(s) {
		return Invalidf(code, field, "must be 1–64 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit")
	}
	return nil
}

// CheckEmail refuses an e-mail address of field that is not a plain
// addr-spec (local@domain.tld, no display name) of at most MaxEmail bytes.
// An empty s passes.
func CheckEmail(field, s string) error {
	if s == "" {
		return nil
	}
	if err := checkChars(field, s, MaxEmail, false); err != nil {
		return err
	}
	a, err := mail.ParseAddress(s)
	at := strings.LastIndexByte(s, '@')
	if err != nil || a.Address != s || a.Name != "" || at < 1 || !strings.Contains(s[at+1:], ".") ||
		strings.HasSuffix(s, ".") || strings.ContainsAny(s, " <>\"") {
		return Invalidf("invalid_email", field, "must be an e-mail address such as name@example.fi")
	}
	if ContainsIdentityCode(s) {
		return Invalidf("personal_data_refused", field, "%s", PersonalDataMessage)
	}
	return nil
}

var phoneShape = regexp.MustCompile(`^\+?[0-9][0-9 ()-]*[0-9]$`)

// CheckPhone refuses a phone number of field unless it is an optional '+',
// then 5–15 digits with spaces, '-' or parentheses between. An empty s
// passes.
func CheckPhone(field, s string) error {
	if s == "" {
		return nil
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
		}
	}
	if len(s) > MaxPhone || !phoneShape.MatchString(s) || digits < 5 || digits > 15 {
		return Invalidf("invalid_phone", field, "must be a phone number such as +358 40 123 4567")
	}
	if ContainsIdentityCode(strings.Map(dropSeparators, s)) {
		return Invalidf("personal_data_refused", field, "%s", PersonalDataMessage)
	}
	return nil
}

func dropSeparators(r rune) rune {
	if r == ' ' || r == '(' || r == ')' {
		return -1
	}
	return r
}

// CheckCode refuses s of field unless it is one of list; code names the
// refusal. The message lists the allowed codes.
func CheckCode(field, s, code string, list []string) error {
	for _, c := range list {
		if s == c {
			return nil
		}
	}
	return Invalidf(code, field, "must be one of %s", strings.Join(list, ", "))
}

// CheckRange refuses n of field outside [lo, hi] with code.
func CheckRange(field string, n, lo, hi int, code string) error {
	if n < lo || n > hi {
		return Invalidf(code, field, "must be between %d and %d", lo, hi)
	}
	return nil
}

func checkChars(field, s string, max int, multiline bool) error {
	if !utf8.ValidString(s) {
		return Invalidf("invalid_text", field, "must be valid UTF-8")
	}
	n := 0
	for _, r := range s {
		n++
		if r == '\n' && multiline {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
			return Invalidf("invalid_text", field, "must not contain control characters")
		}
	}
	if n > max {
		return Invalidf("too_long", field, "must be at most %d characters", max)
	}
	return nil
}

// emailInText finds an e-mail address inside free text.
var emailInText = regexp.MustCompile(`[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)*\.\p{L}{2,}`)

// birthDateInText finds a date written after a birth marker ("synt.
// 1.2.1971", "s. 01.02.71", "born 1971-02-01", "född 1/2/1971").
var birthDateInText = regexp.MustCompile(`(?i)(?:^|[^\p{L}])(?:synt(?:\.|yn(?:yt|eet))?|s\.|b\.|born|född|f\.|dob|birth)\s*:?\s*` +
	`(?:\d{1,2}\s*[./-]\s*\d{1,2}\s*[./-]\s*\d{2,4}|\d{4}-\d{1,2}-\d{1,2})`)

// identityCheckChars maps a Finnish personal identity code's nine digits
// mod 31 to its check character.
const identityCheckChars = "0123456789ABCDEFHJKLMNPRSTUVWXY"

// ContainsIdentityCode reports whether s holds anything shaped like a
// Finnish personal identity code, in either case, anywhere:
// DDMMYY, a century sign ('+', '-', 'A'–'F', 'U'–'Y'), three digits and a
// check character, whether or not the check character is right (a
// mistyped code is personal data all the same); or DDMMYY and four more
// characters without the sign only when the check character is right, so
// that ordinary numeric ids pass.
func ContainsIdentityCode(s string) bool {
	for i := 0; i+10 <= len(s); i++ {
		if !isDigits(s[i:i+6]) || !dayMonth(s[i:i+4]) {
			continue
		}
		sign := upper(s[i+6])
		if isCenturySign(sign) && i+11 <= len(s) && isDigits(s[i+7:i+10]) && isCheckChar(upper(s[i+10])) {
			return true
		}
		if isDigits(s[i+6 : i+9]) {
			n := atoi(s[i:i+6])*1000 + atoi(s[i+6:i+9])
			if identityCheckChars[n%31] == upper(s[i+9]) {
				return true
			}
		}
	}
	return false
}

func isCenturySign(c byte) bool {
	return c == '+' || c == '-' || c >= 'A' && c <= 'F' || c >= 'U' && c <= 'Y'
}

func isCheckChar(c byte) bool { return strings.IndexByte(identityCheckChars, c) >= 0 }

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func dayMonth(s string) bool {
	d, m := atoi(s[0:2]), atoi(s[2:4])
	return d >= 1 && d <= 31 && m >= 1 && m <= 12
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
