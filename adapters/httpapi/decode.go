package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/kaiku/kaiku/domain"
)

var errEmptyBody = errors.New("the request body is empty; send a JSON object")

// Decode reads r's body as exactly one JSON value into dst (a pointer),
// strictly: a field dst does not have, a value of the wrong type, trailing
// data after the value, or a struct field tagged `required:"true"` that the
// body leaves out is an error. The body's size is bounded by LimitBody
// (which the Server installs). The errors it returns map, through
// ProblemFor, to 400 malformed_json, unknown_field, wrong_type,
// missing_field or invalid_value (a value's own UnmarshalJSON refused it,
// such as a date not YYYY-MM-DD), or 413 body_too_large.
func Decode(r *http.Request, dst any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	return decodeBytes(body, dst)
}

func decodeBytes(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errEmptyBody
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var (
			syntax   *json.SyntaxError
			typ      *json.UnmarshalTypeError
			tooLarge *http.MaxBytesError
			invalid  *domain.Invalid
		)
		switch {
		case errors.As(err, &syntax), errors.As(err, &typ), errors.As(err, &tooLarge), errors.As(err, &invalid),
			errors.Is(err, io.ErrUnexpectedEOF), isUnknownField(err):
			return fmt.Errorf("decode request body: %w", err)
		}
		// A value's own UnmarshalJSON refused it (a date not YYYY-MM-DD).
		return domain.Invalidf("invalid_value", "", "%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return domain.Invalidf("malformed_json", "", "the request body must be a single JSON value, with nothing after it")
	}
	return checkRequired(reflect.TypeOf(dst), body, "")
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
		v, ok := present[f.name]
		if !ok {
			// encoding/json matches keys case-insensitively; so do we.
			for k, kv := range present {
				if strings.EqualFold(k, f.name) {
					v, ok = kv, true
					break
				}
			}
		}
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
		out = append(out, field{name: name, typ: sf.Type, required: sf.Tag.Get("required") == "true", index: i})
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
