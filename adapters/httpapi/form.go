package httpapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/kaiku/kaiku/domain"
)

// DecodeForm decodes HTML form values into dst (a pointer to a request
// type) through the same door as a JSON body (Decode): each key names a
// field by its JSON name, nested fields dotted ("holder.birthYear"); the
// values become the JSON object those names describe, which the same
// strict decoder then reads. So a key the type does not have is
// unknown_field (personal_data_refused for a holder's name and the like),
// a key sent twice is duplicate_key (unless the field is an array), a
// value of the wrong kind is wrong_type, and a required field left out is
// missing_field; the domain's checks then judge the values as for JSON. An empty
// value stands for a field left out, as a form sends its empty inputs; a
// required field left empty is therefore missing_field too.
func DecodeForm(form url.Values, dst any) error {
	body, err := formBody(form, reflect.TypeOf(dst))
	if err != nil {
		return err
	}
	return decodeBytes(body, dst)
}

// formBody turns form into the JSON object that t's fields (a pointer to
// a struct) name. Values are typed by the field they land in; a value
// that is not of its field's kind stays a string, so that the decoder
// refuses it with its own wrong_type. A key naming no field is kept
// as a string member too, for the decoder's unknown_field.
func formBody(form url.Values, t reflect.Type) ([]byte, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	obj := map[string]any{}
	for _, key := range slices.Sorted(maps.Keys(form)) { // the first error by name, every time
		if _, err := formField(obj, t, key, strings.Split(key, "."), form[key]); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode form: %w", err)
	}
	return b, nil
}

func formField(obj map[string]any, t reflect.Type, key string, path []string, vals []string) (bool, error) {
	var ft *field
	if t.Kind() == reflect.Struct && t != reflect.TypeFor[domain.Date]() {
		for _, f := range fields(t) {
			if f.name == path[0] {
				ft = &f
				break
			}
		}
	}
	if ft == nil {
		// Unknown: let the decoder name it (it refuses it by its name).
		if len(path) > 1 {
			return false, domain.Invalidf("unknown_field", key, "this route takes no such field (names are case-sensitive)")
		}
		obj[path[0]] = strings.Join(vals, ",")
		return true, nil
	}
	typ := ft.typ
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if len(path) > 1 {
		sub, _ := obj[path[0]].(map[string]any)
		if sub == nil {
			sub = map[string]any{}
		}
		set, err := formField(sub, typ, key, path[1:], vals)
		if err != nil {
			return false, err
		}
		if set {
			obj[path[0]] = sub
		}
		return set, nil
	}
	if typ.Kind() == reflect.Slice {
		arr := []any{}
		for _, v := range vals {
			if v != "" {
				arr = append(arr, formValue(typ.Elem(), v))
			}
		}
		if len(arr) == 0 {
			return false, nil
		}
		obj[path[0]] = arr
		return true, nil
	}
	if len(vals) > 1 {
		return false, domain.Invalidf("duplicate_key", key, "a field appears twice in the form; send each field once")
	}
	if len(vals) == 0 || vals[0] == "" {
		return false, nil // left out
	}
	obj[path[0]] = formValue(typ, vals[0])
	return true, nil
}

// formValue types v for a field of type t, or leaves it a string.
func formValue(t reflect.Type, v string) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[domain.Date]() || t.Kind() == reflect.String:
		return v
	case t.Kind() == reflect.Bool:
		if b, err := strconv.ParseBool(v); err == nil && (v == "true" || v == "false") {
			return b
		}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return json.Number(v)
		}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return v
}
