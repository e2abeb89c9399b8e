package personal

import (
	"strconv"
	"strings"

	"github.com/kaiku/kaiku/domain"
)

// Subject identifies one data subject: the person (or the free-text note)
// one personal part is about. It is not personal data itself.
type Subject string

// Kinds of subject known today. A new kind needs no change here beyond
// its name: erasure, access and sealing treat every kind alike.
const (
	KindContact     = "contact"
	KindCoordinator = "coordinator"
	KindNote        = "note"
)

var kinds = map[string]bool{KindContact: true, KindCoordinator: true, KindNote: true}

// maxSubjectLen bounds a subject id; real ones are far shorter.
const maxSubjectLen = 200

// ParseSubject checks that s is "<kind>:<rest>" with a known kind and
// printable ASCII without spaces. It returns a *domain.Invalid with code
// "invalid_subject" (field "subject") otherwise.
func ParseSubject(s string) (Subject, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if domain.ContainsIdentityCode(s) {
		return "", domain.Invalidf("personal_data_refused", "subject", "%s", domain.PersonalDataMessage)
	}
	if !ok || rest == "" || !kinds[kind] || len(s) > maxSubjectLen {
		return "", domain.Invalidf("invalid_subject", "subject",
			"%q is not a subject id (contact:…, coordinator:… or note:…)", truncate(s))
	}
	for _, c := range s {
		if c <= ' ' || c > '~' {
			return "", domain.Invalidf("invalid_subject", "subject", "subject id %q has a character outside printable ASCII", truncate(s))
		}
	}
	return Subject(s), nil
}

// maxPointerLen bounds the JSON pointer of a field to redact; the fields
// of events are a few short names deep.
const maxPointerLen = 256

// ParsePointer checks the JSON pointer (RFC 6901) of a field to redact:
// "/" followed by segments of printable ASCII, at most maxPointerLen bytes,
// naming no identity code (the pointer is kept in redaction.made). It
// returns a *domain.Invalid for field "field" otherwise: invalid_field or
// personal_data_refused.
func ParsePointer(p string) (string, error) {
	if domain.ContainsIdentityCode(p) {
		return "", domain.Invalidf("personal_data_refused", "field", "%s", domain.PersonalDataMessage)
	}
	if p == "" || p[0] != '/' || len(p) > maxPointerLen {
		return "", domain.Invalidf("invalid_field", "field", "field must be a JSON pointer of at most %d characters, such as /reason", maxPointerLen)
	}
	for i := 0; i < len(p); i++ {
		if p[i] < ' ' || p[i] > '~' {
			return "", domain.Invalidf("invalid_field", "field", "field must be a JSON pointer of printable ASCII, such as /reason")
		}
	}
	return p, nil
}

// Kind returns the subject's kind ("contact" for "contact:p:1").
func (s Subject) Kind() string {
	k, _, _ := strings.Cut(string(s), ":")
	return k
}

// Stream is the stream that records what happened to a subject's
// personal data (its erasure).
func Stream(s Subject) domain.StreamID { return domain.NewStreamID("personal", string(s)) }

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Reason is why personal data was erased or redacted: a code from a
// published list, never free text (free text could hold the very data).
type Reason string

// Reasons accepted for an erasure or a redaction.
const (
	// ReasonRequest: the data subject asked (GDPR art. 17).
	ReasonRequest Reason = "subject_request"
	// ReasonNoLongerNeeded: the purpose ended (GDPR art. 17(1)(a)).
	ReasonNoLongerNeeded Reason = "no_longer_needed"
	// ReasonUnlawful: the data should never have been recorded.
	ReasonUnlawful Reason = "unlawful"
	// ReasonMistake: entered by mistake (a name typed into a note).
	ReasonMistake Reason = "mistake"
	// ReasonAuthorityOrder: a court or the data protection authority ordered it.
	ReasonAuthorityOrder Reason = "authority_order"
)

var reasons = []Reason{ReasonRequest, ReasonNoLongerNeeded, ReasonUnlawful, ReasonMistake, ReasonAuthorityOrder}

// ParseReason returns r when it is a known reason code, else a
// *domain.Invalid with code "invalid_reason" (field "reason").
func ParseReason(r string) (Reason, error) {
	for _, k := range reasons {
		if string(k) == r {
			return k, nil
		}
	}
	return "", domain.Invalidf("invalid_reason", "reason", "%q is not a reason code (%s)", truncate(r), reasonList())
}

func reasonList() string {
	s := make([]string, len(reasons))
	for i, r := range reasons {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// ErrErased reports that a subject's personal data was erased: its data
// key is gone and nothing can be sealed or opened for it any more.
var ErrErased = domain.Violationf("subject_erased", "the subject's personal data was erased")

// Erased records that a subject's personal data was erased: its data key
// destroyed and its sealed parts removed (their digests kept for the hash
// chain). It never carries the data. Who asked is the event's principal.
type Erased struct {
	Subject Subject `json:"subject"`
	Reason  Reason  `json:"reason"`
}

func (Erased) EventName() string { return "personal.erased.v1" }

func init() {
	domain.Register[Erased]()
}

// Redacted records that one field of a logged event was replaced by a
// redaction marker: Field is its JSON pointer in the event's data, Digest
// the SHA-256 of the bytes it replaced (audit.DigestText) (what the hash chain covers), so
// the chain still verifies and a marker no redaction explains is tamper.
// Who redacted is the event's principal; the value itself is never here.
type Redacted struct {
	Position string `json:"position"` // decimal: positions exceed the bound Encode puts on integers
	Field    string `json:"field"`
	Digest   string `json:"digest"`
	Reason   Reason `json:"reason"`
}

func (Redacted) EventName() string { return "redaction.made.v1" }

// RedactionStream is where the redactions of the event at position p are
// recorded.
func RedactionStream(p domain.Position) domain.StreamID {
	return domain.NewStreamID("redaction", strconv.FormatInt(int64(p), 10))
}

func init() {
	domain.Register[Redacted]()
}
