package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kaiku/kaiku/domain"
)

// OpenAPI returns the OpenAPI 3.1 document for routes: one operation per
// route with its path parameters, its request and response schemas
// (reflected from Route.Request and Route.Response: JSON names from the
// json tags, required from `required:"true"`, domain.Date as a date
// string), bearer security unless public, the roles that may call it
// (x-roles), and problem+json for every error answer.
func OpenAPI(routes []Route, version string) ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}, names: map[reflect.Type]string{}, types: map[string]reflect.Type{}}
	g.schema(reflect.TypeFor[Problem]()) // defines "Problem"
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		path, params := openAPIPath(rt.Pattern)
		op := map[string]any{
			"operationId": operationID(rt),
			"summary":     rt.Summary,
		}
		if len(params) > 0 {
			var ps []any
			for _, p := range params {
				ps = append(ps, map[string]any{"name": p, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
			op["parameters"] = ps
		}
		for _, q := range rt.Query {
			schema := map[string]any{"type": "string"}
			switch q.Format {
			case "integer":
				schema = map[string]any{"type": "integer"}
			case "date", "date-time":
				schema["format"] = q.Format
			}
			param := map[string]any{"name": q.Name, "in": "query", "required": q.Required, "schema": schema}
			if q.Description != "" {
				param["description"] = q.Description
			}
			op["parameters"] = append(asSlice(op["parameters"]), param)
		}
		if rt.RequestContentType != "" {
			op["requestBody"] = map[string]any{
				"required": true,
				"content":  map[string]any{rt.RequestContentType: map[string]any{"schema": map[string]any{"type": "string"}}},
			}
		}
		if rt.Request != nil {
			op["requestBody"] = map[string]any{
				"required": true,
				"content":  map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.Request))}},
			}
		}
		ok := map[string]any{"description": http.StatusText(rt.successStatus())}
		if rt.Response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.Response))}}
		}
		if exportable(rt) {
			addExport(op, ok)
		}
		problem := map[string]any{"description": "A problem (RFC 9457) with a machine-readable code.",
			"content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}
		op["responses"] = map[string]any{strconv.Itoa(rt.successStatus()): ok, "default": problem}
		if rt.Public {
			op["security"] = []any{}
		} else {
			roles := make([]string, len(rt.Roles))
			for i, r := range rt.Roles {
				roles[i] = string(r)
			}
			op["x-roles"] = roles
			if rt.Method != http.MethodGet {
				op["parameters"] = append(asSlice(op["parameters"]), map[string]any{"name": IdempotencyHeader, "in": "header",
					"description": "Makes the request safe to retry: a retry gets the first answer.", "schema": map[string]any{"type": "string", "maxLength": 255}})
			}
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(rt.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "Kaiku API", "version": version},
		"paths":   paths,
		"security": []any{
			map[string]any{"bearer": []any{}},
		},
		"components": map[string]any{
			"schemas":         g.defs,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

var paramPattern = regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)

// openAPIPath turns "/v1/cards/{id:[A-Z0-9-]+}" into "/v1/cards/{id}" and
// lists its parameters.
func openAPIPath(pattern string) (string, []string) {
	var params []string
	path := paramPattern.ReplaceAllStringFunc(pattern, func(m string) string {
		name := paramPattern.FindStringSubmatch(m)[1]
		params = append(params, name)
		return "{" + name + "}"
	})
	return path, params
}

func operationID(rt Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	for _, part := range strings.FieldsFunc(rt.Pattern, func(r rune) bool { return r == '/' || r == '-' || r == '.' }) {
		if strings.HasPrefix(part, "{") {
			part = "By" + strings.Trim(strings.SplitN(part, ":", 2)[0], "{}")
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// schemaGen reflects Go types into JSON Schema (2020-12, as OpenAPI 3.1
// uses), naming struct types in components/schemas.
type schemaGen struct {
	defs  map[string]any
	names map[reflect.Type]string // a named struct's schema name
	types map[string]reflect.Type // and back, to tell same-named types apart
}

// defName names t's schema: its Go name, prefixed with its package's
// name when another package's type took that name first
// ("NetworkAgreement" beside "Agreement").
func (g *schemaGen) defName(t reflect.Type) string {
	if n, ok := g.names[t]; ok {
		return n
	}
	name := t.Name()
	if other, taken := g.types[name]; taken && other != t {
		pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
		name = strings.ToUpper(pkg[:1]) + pkg[1:] + name
	}
	g.names[t], g.types[name] = name, t
	return name
}

var (
	dateType = reflect.TypeFor[domain.Date]()
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	nullable := false
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		nullable = true
	}
	s := g.schemaOf(t)
	// encoding/json writes a nil pointer, slice or map as null.
	if typ, ok := s["type"].(string); ok && (nullable || t.Kind() == reflect.Slice || t.Kind() == reflect.Map) {
		s["type"] = []any{typ, "null"}
	}
	return s
}

func (g *schemaGen) schemaOf(t reflect.Type) map[string]any {
	switch t {
	case dateType:
		// The zero date is written as null.
		return map[string]any{"type": []any{"string", "null"}, "format": "date"}
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		name := g.defName(t)
		if _, done := g.defs[name]; !done {
			g.defs[name] = map[string]any{} // placeholder against recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range fields(t) {
		props[f.name] = g.schema(f.typ)
		if f.required {
			required = append(required, f.name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	return s
}
