package card

import (
	"encoding/json"
	"strconv"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

// UnmarshalJSON decodes a UseRecorded exactly as encoding/json would. It
// is the hottest record of a replay, so the common shape (the keys as
// Marshal writes them, plain ASCII strings without escapes, an integer
// childTickets) is read by hand; anything else (escapes, other spellings
// of keys, unknown keys, nulls) goes through encoding/json. It returns
// encoding/json's error for input encoding/json rejects.
func (e *UseRecorded) UnmarshalJSON(b []byte) error {
	if v, ok := fastUseRecorded(b, *e); ok {
		*e = v
		return nil
	}
	type plain UseRecorded
	return json.Unmarshal(b, (*plain)(e))
}

// fastUseRecorded decodes b into a copy of v, or reports false when b is
// not of the common shape.
func fastUseRecorded(b []byte, v UseRecorded) (UseRecorded, bool) {
	// One copy of the input: every string decoded is a slice of it.
	s := scanner{b: string(b)}
	if !s.byte('{') {
		return v, false
	}
	if s.byte('}') {
		return v, s.end()
	}
	for {
		key, ok := s.str()
		if !ok || !s.byte(':') {
			return v, false
		}
		switch key {
		case "use", "venue", "venueLocality", "category", "kind", "usedOn":
			str, ok := s.str()
			if !ok {
				return v, false
			}
			switch key {
			case "use":
				v.Use = UseID(str)
			case "venue":
				v.Venue = partner.ID(str)
			case "venueLocality":
				v.VenueLocality = locality.ID(str)
			case "category":
				v.Category = str
			case "kind":
				v.Kind = UseKind(str)
			case "usedOn":
				d, err := domain.ParseDate(str)
				if err != nil {
					return v, false
				}
				v.UsedOn = d
			}
		case "childTickets":
			n, ok := s.int()
			if !ok {
				return v, false
			}
			v.ChildTickets = n
		case "assistant":
			switch {
			case s.lit("true"):
				v.Assistant = true
			case s.lit("false"):
				v.Assistant = false
			default:
				return v, false
			}
		default:
			return v, false
		}
		if s.byte(',') {
			continue
		}
		if s.byte('}') {
			return v, s.end()
		}
		return v, false
	}
}

// scanner reads the tokens of the common shape, skipping JSON whitespace
// before each.
type scanner struct {
	b string
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) byte(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

func (s *scanner) lit(l string) bool {
	s.ws()
	if len(s.b)-s.i >= len(l) && s.b[s.i:s.i+len(l)] == l {
		s.i += len(l)
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes.
func (s *scanner) str() (string, bool) {
	if !s.byte('"') {
		return "", false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			out := s.b[start:s.i]
			s.i++
			return out, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
		s.i++
	}
	return "", false
}

// int reads a JSON integer that fits an int with room to spare.
func (s *scanner) int() (int, bool) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	nd := s.i - digits
	if nd == 0 || nd > 15 || (nd > 1 && s.b[digits] == '0') {
		return 0, false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	n, err := strconv.Atoi(s.b[start:s.i])
	return n, err == nil
}
