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
	"github.com/kaiku/kaiku/domain/agreement"
	"github.com/kaiku/kaiku/domain/card"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
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
		responses := map[string]any{strconv.Itoa(rt.successStatus()): ok}
		for _, status := range problemStatuses(rt, len(params) > 0) {
			responses[strconv.Itoa(status)] = map[string]any{"$ref": "#/components/responses/Problem" + strconv.Itoa(status)}
		}
		op["responses"] = responses
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
		"info": map[string]any{"title": "Kaiku API", "version": version,
			"description": "The register and audited history of the Kaikukortti network. Every answer that is not a success is a problem (RFC 9457) with a machine-readable code and, for bad input, the field."},
		"servers": []any{map[string]any{"url": "/", "description": "The Kaiku service that serves this document."}},
		"paths":   paths,
		"security": []any{
			map[string]any{"bearer": []any{}},
		},
		"components": map[string]any{
			"responses":       problemResponses(),
			"schemas":         g.defs,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// problemText says when each problem status is answered.
var problemText = map[int]string{
	http.StatusBadRequest:            "Malformed input: the problem's code and field say what to fix (missing_field, unknown_field, duplicate_key, invalid_value, personal_data_refused, …).",
	http.StatusUnauthorized:          "No valid API key (unauthenticated).",
	http.StatusForbidden:             "The key's role or scope does not allow this (forbidden).",
	http.StatusNotFound:              "No such record (not_found).",
	http.StatusConflict:              "The record changed meanwhile (version_conflict), or a request with the same Idempotency-Key is still running (idempotency_in_progress).",
	http.StatusRequestEntityTooLarge: "The body is over the route's limit (body_too_large).",
	http.StatusUnsupportedMediaType:  "The body is not of the route's media type (unsupported_media_type).",
	http.StatusUnprocessableEntity:   "Well formed, but a rule of the network forbids it; the code names the rule (e.g. card_expired, date_in_future).",
	http.StatusServiceUnavailable:    "The service cannot reach its database; retry after the Retry-After header's seconds.",
}

// problemStatuses lists the problem answers route rt can give.
func problemStatuses(rt Route, pathParams bool) []int {
	out := []int{http.StatusBadRequest}
	if !rt.Public {
		out = append(out, http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity)
	}
	if pathParams {
		out = append(out, http.StatusNotFound)
	}
	if rt.Method != http.MethodGet {
		out = append(out, http.StatusConflict)
	}
	if rt.Request != nil || rt.RequestContentType != "" {
		out = append(out, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	return append(out, http.StatusServiceUnavailable)
}

func problemResponses() map[string]any {
	out := map[string]any{}
	for status, text := range problemText {
		out["Problem"+strconv.Itoa(status)] = map[string]any{"description": text,
			"content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}
	}
	return out
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
	if list, ok := typedEnums[t]; ok {
		return map[string]any{"type": "string", "enum": list}
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
		props[f.name] = describe(g.schema(f.typ), f)
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

// typedEnums are the closed lists of the domain's typed codes.
var typedEnums = map[reflect.Type][]string{
	reflect.TypeFor[partner.Kind]():     {string(partner.KindIssuer), string(partner.KindVenue)},
	reflect.TypeFor[partner.Category](): {"social", "health", "wellbeing", "ngo", "culture", "education", "science", "sport"},
	reflect.TypeFor[partner.Via]():      {string(partner.ViaAgreement), string(partner.ViaBrochure), string(partner.ViaWebsite), string(partner.ViaRegister)},
	reflect.TypeFor[card.Kind]():        {string(card.KindPersonal), string(card.KindCommunity)},
	reflect.TypeFor[card.UseKind]():     {string(card.UseEvent), string(card.UseCourse)},
	reflect.TypeFor[locality.Scope]():   {string(locality.ScopeNational), string(locality.ScopeLocal)},
	reflect.TypeFor[locality.Side]():    {string(locality.SideCulture), string(locality.SideSocial)},
	reflect.TypeFor[agreement.Kind]():   {string(agreement.KindPilot), string(agreement.KindNetwork)},
	reflect.TypeFor[domain.Role]():      {string(domain.RoleNational), string(domain.RoleCoordinator), string(domain.RoleIssuer), string(domain.RoleVenue), string(domain.RoleAuditor)},
}

// namedEnums are the closed lists a string field names with `enum:"…"`
// (or lists inline, comma-separated).
var namedEnums = map[string][]string{
	"lifeSituation":     card.LifeSituations,
	"gender":            card.Genders,
	"cardCancellation":  card.CancelReasons,
	"useCancellation":   card.UseCancelReasons,
	"amendment":         agreement.AmendmentReasons,
	"termination":       agreement.TerminationReasons,
	"partnerDeparture":  partner.DepartureReasons,
	"localityDeparture": locality.DepartureReasons,
}

// patterns are the shapes a string field names with `pattern:"…"`.
var patterns = map[string]string{
	"id":     `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`,
	"card":   `^[A-Z0-9][A-Z0-9-]{2,31}$`,
	"postal": `^[0-9]{5}$`,
}

// describe adds a field's documentation to its schema: description,
// examples, a closed list, a pattern, a format and bounds, from the tags
// doc, example, enum, pattern, format, minimum, maximum and maxLength.
func describe(s map[string]any, f field) map[string]any {
	if _, ref := s["$ref"]; ref {
		if d := f.tag.Get("doc"); d != "" {
			return map[string]any{"allOf": []any{s}, "description": d}
		}
		return s
	}
	if d := f.tag.Get("doc"); d != "" {
		s["description"] = d
	}
	if types, ok := s["type"].([]any); ok && f.required && len(types) == 2 && types[1] == "null" {
		s["type"] = types[0] // a required field is never null (the door refuses null)
	}
	if name := f.tag.Get("enum"); name != "" {
		list, ok := namedEnums[name]
		if !ok && strings.Contains(name, ",") {
			list, ok = strings.Split(name, ","), true // a list of the API's own
		}
		if !ok {
			panic("httpapi: no closed list named " + name)
		}
		s["enum"] = list
	}
	if name := f.tag.Get("pattern"); name != "" {
		s["pattern"] = patterns[name]
	}
	if v := f.tag.Get("format"); v != "" {
		s["format"] = v
	}
	for _, k := range []string{"minimum", "maximum", "maxLength"} {
		if v := f.tag.Get(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				panic("httpapi: " + k + " of " + f.name + " is not a number")
			}
			s[k] = n
		}
	}
	if ex, ok := f.tag.Lookup("example"); ok {
		s["examples"] = []any{exampleValue(f.typ, ex)}
	}
	return s
}

// exampleValue turns an example tag into a JSON value of the field's type.
func exampleValue(t reflect.Type, ex string) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	kind := t.Kind()
	if kind == reflect.Slice {
		kind = t.Elem().Kind()
	}
	var v any = ex
	switch {
	case t == dateType:
	case kind == reflect.Bool:
		v = ex == "true"
	case kind >= reflect.Int && kind <= reflect.Int64:
		n, _ := strconv.Atoi(ex)
		v = n
	}
	if t.Kind() == reflect.Slice {
		return []any{v}
	}
	return v
}
