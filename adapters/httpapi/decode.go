package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/kaiku/kaiku/domain"
)

var errEmptyBody = domain.Invalidf("malformed_json", "", "the request body is empty; send a JSON object")

// errUnsupportedMediaType: a body that is not application/json.
var errUnsupportedMediaType = errors.New("send the request body as Content-Type: application/json")

// strict are the decoding options of the door: on top of the defaults of
// encoding/json v2 (duplicate keys refused at any depth, keys matched
// case-sensitively, invalid UTF-8 refused, exactly one JSON value), unknown
// fields are refused.
var strict = jsonv2.JoinOptions(jsonv2.RejectUnknownMembers(true))

// Decode reads r's body, which must be Content-Type application/json, as
// exactly one JSON value into dst (a pointer), strictly: a duplicate key
// at any depth, a key in another case than the field's, a field dst does
// not have, a value of the wrong type, trailing data after the value, or a
// struct field tagged `required:"true"` that the body leaves out is a
// *domain.Invalid (400 duplicate_key, unknown_field, wrong_type,
// malformed_json, missing_field, invalid_value; personal_data_refused for
// a field that would carry a cardholder's name, identity code, birth date
// or address) naming the field. Another content type is 415. The body's
// size is bounded by LimitBody (413 body_too_large).
func Decode(r *http.Request, dst any) error {
	return decodeCommand(r, dst, false)
}

// isJSON accepts application/json with an optional charset of utf-8.
func isJSON(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

func decodeBytes(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errEmptyBody
	}
	if err := jsonv2.Unmarshal(body, dst, strict); err != nil {
		return decodeError(err)
	}
	return checkRequired(reflect.TypeOf(dst), body, "")
}

// decodeError turns an error of the v2 decoder into a *domain.Invalid
// with a stable code and the field (dotted, as in "holder.birthYear").
// It never repeats a value that was sent.
func decodeError(err error) error {
	var (
		syn *jsontext.SyntacticError
		sem *jsonv2.SemanticError
		in  *domain.Invalid
	)
	switch {
	case errors.As(err, &in):
		return in
	case errors.As(err, &syn):
		field := fieldOf(syn.JSONPointer)
		if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			return domain.Invalidf("duplicate_key", field, "a key appears twice in one object; send each field once")
		}
		return domain.Invalidf("malformed_json", field, "the request body is not one valid UTF-8 JSON value")
	case errors.As(err, &sem):
		field := fieldOf(sem.JSONPointer)
		switch {
		case errors.Is(sem.Err, jsonv2.ErrUnknownName):
			if refusedKeys[normaliseKey(lastSegment(field))] {
				return domain.Invalidf("personal_data_refused", field, "%s", domain.PersonalDataMessage)
			}
			return domain.Invalidf("unknown_field", field, "this route takes no such field (names are case-sensitive)")
		case sem.GoType == reflect.TypeFor[domain.Date]() && sem.JSONKind == '"':
			// Date's own decoder refused the string; never repeat it.
			return domain.Invalidf("invalid_value", field, `must be a real calendar date written "YYYY-MM-DD"`)
		}
		want := "another JSON type"
		if sem.GoType != nil {
			want = jsonKindOf(sem.GoType)
		}
		return domain.Invalidf("wrong_type", field, "must be %s", want)
	}
	return domain.Invalidf("malformed_json", "", "the request body is not valid JSON")
}

// fieldOf turns a JSON pointer ("/holder/birthYear", "/notes/1") into the
// dotted field name the API's problems use ("holder.birthYear", "notes[1]").
func fieldOf(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if n, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			fmt.Fprintf(&b, "[%d]", n)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func lastSegment(field string) string {
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		return field[i+1:]
	}
	return field
}

// jsonKindOf names the JSON type a Go type is decoded from.
func jsonKindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[domain.Date]():
		return `a "YYYY-MM-DD" date`
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		return "a number in range"
	case t.Kind() == reflect.Slice:
		return "an array"
	}
	return "an object"
}

// checkRequired reports the first `required:"true"` field of t (a struct
// or pointer to one) absent from raw, recursing into present nested objects.
func checkRequired(t reflect.Type, raw json.RawMessage, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[domain.Date]() {
		return nil
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(raw, &present); err != nil || present == nil {
		return nil // null or not an object: the typed decode already judged it
	}
	for _, f := range fields(t) {
		v, ok := present[f.name] // keys match case-sensitively, as the decoder does
		p := joinPath(path, f.name)
		if !ok || string(v) == "null" {
			if f.required {
				return domain.Invalidf("missing_field", p, "is required")
			}
			continue
		}
		if err := checkRequired(f.typ, v, p); err != nil {
			return err
		}
	}
	return nil
}

type field struct {
	name     string
	typ      reflect.Type
	required bool
	index    int
	tag      reflect.StructTag
}

// fields lists the JSON-visible fields of struct type t.
func fields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if ft := sf.Type; sf.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			out = append(out, fields(ft)...) // encoding/json promotes an embedded struct's fields
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{name: name, typ: sf.Type, required: sf.Tag.Get("required") == "true", index: i, tag: sf.Tag})
	}
	return out
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// WriteJSON answers with status and v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}
