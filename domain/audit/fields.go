package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Chain formats. A chain row records the format its hash was computed in,
// and the hash covers it (each format has its own tag), so history chained
// under an older format verifies as it was chained.
const (
	// FormatWhole (1) hashes an event's data as one byte string: any
	// change, a redaction included, breaks the chain.
	FormatWhole = 1
	// FormatFields (2) hashes the digest of each field of the data
	// (FieldsDigest), so a field replaced by its redaction marker, which
	// names the replaced value's digest, still verifies.
	FormatFields = 2
	// CurrentFormat is the format new chain rows are written in.
	CurrentFormat = FormatFields
)

// markerPrefix starts a redaction marker: the JSON string
// "kaiku-redacted:sha256:<DigestText of the replaced value's bytes>".
const markerPrefix = "kaiku-redacted:sha256:"

// RedactionMarker returns the JSON string that replaces a redacted value
// whose bytes (as stored) have the SHA-256 digest d.
func RedactionMarker(d []byte) []byte {
	return []byte(`"` + markerPrefix + DigestText(d) + `"`)
}

// DigestText writes a digest as hex in groups of four ("ab12:cd34:…"): no
// run of six digits, so a digest never looks like an identity code to the
// checks that guard the log.
func DigestText(d []byte) string {
	h := hex.EncodeToString(d)
	var b strings.Builder
	for i := 0; i < len(h); i += 4 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i:min(i+4, len(h))])
	}
	return b.String()
}

// ParseDigestText reverses DigestText for a SHA-256 digest.
func ParseDigestText(s string) ([]byte, bool) {
	if len(s) != 64+15 {
		return nil, false
	}
	d, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil || len(d) != sha256.Size || DigestText(d) != s {
		return nil, false
	}
	return d, true
}

// markerDigest returns the digest a raw JSON value names when it is a
// redaction marker.
func markerDigest(raw []byte) ([]byte, bool) {
	if len(raw) < 2+len(markerPrefix) || raw[0] != '"' || raw[len(raw)-1] != '"' || !bytes.HasPrefix(raw[1:], []byte(markerPrefix)) {
		return nil, false
	}
	return ParseDigestText(string(raw[1+len(markerPrefix) : len(raw)-1]))
}

// Leaf is one scalar value of an event's data: its JSON pointer (RFC
// 6901), its bytes as stored ([Start, End) in the data), and, when it is a
// redaction marker, the digest it names.
type Leaf struct {
	Pointer    string
	Start, End int
	Marker     []byte
}

// node is one token of the walk: a container start ('{' or '[') or a leaf.
type node struct {
	kind    byte // '{', '[' or 'v'
	pointer string
	start   int
	end     int
}

// walk visits every container and scalar of data in document order. It
// fails on data that is not one JSON value.
func walk(data []byte, visit func(node)) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		pointer string
		array   bool
		index   int
		key     string
		hasKey  bool
	}
	var stack []frame
	prevEnd := 0
	// valueStart skips the separators and white space before a value.
	valueStart := func() int {
		i := prevEnd
		for i < len(data) && strings.IndexByte(" \t\r\n:,", data[i]) >= 0 {
			i++
		}
		return i
	}
	childPointer := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := &stack[len(stack)-1]
		if f.array {
			p := f.pointer + "/" + strconv.Itoa(f.index)
			f.index++
			return p
		}
		f.hasKey = false
		return f.pointer + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(f.key)
	}
	for {
		start := valueStart()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		end := int(dec.InputOffset())
		prevEnd = end
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				p := childPointer()
				visit(node{kind: byte(d), pointer: p, start: start, end: end})
				stack = append(stack, frame{pointer: p, array: d == '['})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if len(stack) > 0 && !stack[len(stack)-1].array && !stack[len(stack)-1].hasKey {
			k, _ := tok.(string)
			stack[len(stack)-1].key, stack[len(stack)-1].hasKey = k, true
			continue
		}
		visit(node{kind: 'v', pointer: childPointer(), start: start, end: end})
	}
	return nil
}

// Leaves returns every scalar of data with its pointer, in document order.
func Leaves(data []byte) ([]Leaf, error) {
	var out []Leaf
	err := walk(data, func(n node) {
		if n.kind == 'v' {
			l := Leaf{Pointer: n.pointer, Start: n.start, End: n.end}
			l.Marker, _ = markerDigest(data[n.start:n.end])
			out = append(out, l)
		}
	})
	return out, err
}

// FieldsDigest is what FormatFields covers of an event's data: SHA-256
// over, in document order, each container's pointer and kind and each
// scalar's pointer and the digest of its bytes, where a redaction marker
// stands for the digest it names. Data that is not JSON is covered by its
// bytes.
func FieldsDigest(data []byte) []byte {
	w := encoder{h: sha256.New()}
	w.str("kaiku.fields.v1")
	err := walk(data, func(n node) {
		w.h.Write([]byte{n.kind})
		w.str(n.pointer)
		if n.kind != 'v' {
			return
		}
		raw := data[n.start:n.end]
		if d, ok := markerDigest(raw); ok {
			w.bytes(d)
			return
		}
		d := sha256.Sum256(raw)
		w.bytes(d[:])
	})
	if err != nil {
		w = encoder{h: sha256.New()}
		w.str("kaiku.fields.raw.v1")
		w.bytes(data)
	}
	return w.h.Sum(nil)
}

// Redact returns data with the scalar at pointer replaced by its
// redaction marker, and the digest of the bytes it replaced. It fails when
// pointer names no scalar (a container must be redacted field by field) or
// one already redacted.
func Redact(data []byte, pointer string) (out, digest []byte, err error) {
	ls, err := Leaves(data)
	if err != nil {
		return nil, nil, fmt.Errorf("event data is not JSON: %w", err)
	}
	for _, l := range ls {
		if l.Pointer != pointer {
			continue
		}
		if l.Marker != nil {
			return nil, nil, fmt.Errorf("field %s is redacted already", pointer)
		}
		d := sha256.Sum256(data[l.Start:l.End])
		out = append(append(append([]byte{}, data[:l.Start]...), RedactionMarker(d[:])...), data[l.End:]...)
		return out, d[:], nil
	}
	return nil, nil, fmt.Errorf("the event's data has no scalar field %s (redact a container's fields one by one)", pointer)
}
