package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// conform checks every recorded answer against the response schema the
// OpenAPI document gives its route and status (a problem against
// "default"), so a response that drifts from the document fails the test
// that provoked it. Answers of no route (404 for unknown paths, built-in
// /metrics) are checked only when they are problems.
func conform(t *testing.T, doc []byte, exchanges []exchange) {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("openapi document: %v", err)
	}
	schemas := dig(d, "components", "schemas").(map[string]any)
	for _, x := range exchanges {
		if x.pattern == "/metrics" {
			continue
		}
		where := fmt.Sprintf("%s %s %d", x.method, x.pattern, x.status)
		op, _ := dig(d, "paths", x.pattern, strings.ToLower(x.method)).(map[string]any)
		if op == nil && x.status < 400 {
			t.Errorf("%s: answered, but the document has no such operation", where)
			continue
		}
		var resp any
		if op != nil {
			resp = dig(op, "responses", strconv.Itoa(x.status))
			if resp == nil && x.status >= 400 {
				resp = dig(op, "responses", "default")
			}
		} else {
			resp = map[string]any{"content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}
		}
		if resp == nil {
			t.Errorf("%s: the document does not list this status", where)
			continue
		}
		if ref, ok := dig(resp, "$ref").(string); ok {
			resp = dig(d, "components", "responses", strings.TrimPrefix(ref, "#/components/responses/"))
		}
		content, _ := dig(resp, "content").(map[string]any)
		if len(bytes.TrimSpace(x.body)) == 0 {
			if content != nil {
				t.Errorf("%s: empty body, but the document promises %v", where, keys(content))
			}
			continue
		}
		mt := strings.TrimSpace(strings.SplitN(x.contentType, ";", 2)[0])
		schema := dig(content, mt, "schema")
		if schema == nil {
			t.Errorf("%s: content type %q is not documented (documented: %v)", where, mt, keys(content))
			continue
		}
		if mt != "application/json" && mt != "application/problem+json" {
			continue // an export (CSV, XLSX): its own tests read it
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(x.body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Errorf("%s: body is not JSON: %v", where, err)
			continue
		}
		if errs := validate(schemas, schema.(map[string]any), v, "$"); len(errs) > 0 {
			t.Errorf("%s: body %s does not match the document:\n  %s", where, truncate(x.body), strings.Join(errs, "\n  "))
		}
	}
}

// validate checks v against s, a schema of the subset the generator
// emits: $ref, type (one or a list), properties, required,
// additionalProperties (false or a schema), items, enum, format date.
func validate(defs map[string]any, s map[string]any, v any, path string) []string {
	if ref, ok := s["$ref"].(string); ok {
		def, ok := defs[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		if !ok {
			return []string{path + ": unresolved " + ref}
		}
		return validate(defs, def, v, path)
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		return []string{fmt.Sprintf("%s: %v is not one of %v", path, v, enum)}
	}
	var types []string
	switch ty := s["type"].(type) {
	case string:
		types = []string{ty}
	case []any:
		for _, x := range ty {
			types = append(types, x.(string))
		}
	}
	if len(types) > 0 && !slices.ContainsFunc(types, func(ty string) bool { return isType(ty, v) }) {
		return []string{fmt.Sprintf("%s: %s is not of type %v", path, kind(v), types)}
	}
	var errs []string
	switch v := v.(type) {
	case string:
		if s["format"] == "date" && !isDate(v) {
			errs = append(errs, fmt.Sprintf("%s: %q is not a date", path, v))
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range v {
				errs = append(errs, validate(defs, items, x, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := v[r]; !ok {
				errs = append(errs, path+": missing required "+r)
			}
		}
		for k, x := range v {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, validate(defs, ps, x, path+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, path+": undocumented property "+k)
				}
			case map[string]any:
				errs = append(errs, validate(defs, ap, x, path+"."+k)...)
			}
		}
	}
	return errs
}

func isType(ty string, v any) bool {
	switch ty {
	case "null":
		return v == nil
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		return err == nil && f == math.Trunc(f) && !strings.ContainsAny(n.String(), ".eE")
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number " + v.(json.Number).String()
	case []any:
		return "array"
	}
	return "object"
}

func isDate(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-'
}

func asStrings(v any) []string {
	var out []string
	for _, x := range asAnys(v) {
		out = append(out, x.(string))
	}
	return out
}

func asAnys(v any) []any { s, _ := v.([]any); return s }

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// The checker itself must fail on drift, or the conformance check proves
// nothing.
func TestConformanceCheckerCatchesDrift(t *testing.T) {
	t.Parallel()
	defs := map[string]any{"Result": map[string]any{"type": "object", "additionalProperties": false, "required": []any{"position"},
		"properties": map[string]any{"position": map[string]any{"type": "integer"}, "on": map[string]any{"type": []any{"string", "null"}, "format": "date"},
			"ids": map[string]any{"type": []any{"array", "null"}, "items": map[string]any{"type": "string"}}}}}
	ref := map[string]any{"$ref": "#/components/schemas/Result"}
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{name: "a conforming body passes", body: `{"position":3,"on":"2024-01-01","ids":["a"]}`, ok: true},
		{name: "null where the document allows it passes", body: `{"position":3,"on":null,"ids":null}`, ok: true},
		{name: "a missing required property fails", body: `{"on":"2024-01-01"}`},
		{name: "an undocumented property fails", body: `{"position":3,"extra":1}`},
		{name: "a string for an integer fails", body: `{"position":"3"}`},
		{name: "a fraction for an integer fails", body: `{"position":3.5}`},
		{name: "a malformed date fails", body: `{"position":3,"on":"1.1.2024"}`},
		{name: "a wrong item type fails", body: `{"position":3,"ids":[1]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v any
			dec := json.NewDecoder(strings.NewReader(tt.body))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			errs := validate(defs, ref, v, "$")
			if (len(errs) == 0) != tt.ok {
				t.Fatalf("validate(%s) = %v, want ok=%v", tt.body, errs, tt.ok)
			}
		})
	}
}
