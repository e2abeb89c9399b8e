package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kaiku/kaiku/adapters/httpapi"
	"github.com/kaiku/kaiku/domain"
)

type holder struct {
	BirthYear     int    `json:"birthYear" required:"true"`
	PostalCode    string `json:"postalCode" required:"true"`
	MinorChildren int    `json:"minorChildren" required:"true"`
	Gender        string `json:"gender,omitempty"`
}

type issueCard struct {
	ID       string      `json:"id" required:"true"`
	IssuedOn domain.Date `json:"issuedOn"`
	Holder   holder      `json:"holder" required:"true"`
}

func TestDecodeIsStrict(t *testing.T) {
	t.Parallel()
	const good = `{"id":"K-1","issuedOn":"2024-03-01","holder":{"birthYear":1971,"postalCode":"02100","minorChildren":0}}`
	cases := []struct {
		name   string
		body   string
		limit  int64
		status int
		code   string
		field  string
	}{
		{"a complete body decodes", good, 0, 0, "", ""},
		{"a zero that is present counts as present", strings.Replace(good, `"minorChildren":0`, `"minorChildren":0,"gender":"f"`, 1), 0, 0, "", ""},
		{"an empty body is malformed", ``, 0, 400, "malformed_json", ""},
		{"broken JSON is malformed", `{"id":"K-1",`, 0, 400, "malformed_json", ""},
		{"two values are malformed", good + `{}`, 0, 400, "malformed_json", ""},
		{"an unknown field is refused", strings.Replace(good, `"id"`, `"extra":1,"id"`, 1), 0, 400, "unknown_field", "extra"},
		{"an unknown nested field is refused", strings.Replace(good, `"birthYear"`, `"shoeSize":44,"birthYear"`, 1), 0, 400, "unknown_field", "holder.shoeSize"},
		{"a string for a number is a wrong type", strings.Replace(good, `1971`, `"1971"`, 1), 0, 400, "wrong_type", "holder.birthYear"},
		{"a missing required field is named", strings.Replace(good, `"id":"K-1",`, ``, 1), 0, 400, "missing_field", "id"},
		{"a missing nested required field is named by path", strings.Replace(good, `,"minorChildren":0`, ``, 1), 0, 400, "missing_field", "holder.minorChildren"},
		{"a null required field is missing", strings.Replace(good, `"K-1"`, `null`, 1), 0, 400, "missing_field", "id"},
		{"a bad date is an invalid value", strings.Replace(good, `2024-03-01`, `1.3.2024`, 1), 0, 400, "invalid_value", "issuedOn"},
		{"a body over the limit is 413", good, 20, 413, "body_too_large", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			limit := tc.limit
			if limit == 0 {
				limit = 1 << 16
			}
			var got issueCard
			var err error
			h := httpapi.LimitBody(limit)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				err = httpapi.Decode(r, &got)
			}))
			req := httptest.NewRequest("POST", "/v1/cards", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(httptest.NewRecorder(), req)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("Decode() = %v", err)
				}
				if got.ID != "K-1" || got.Holder.BirthYear != 1971 || got.IssuedOn != domain.MustDate("2024-03-01") {
					t.Fatalf("decoded %+v", got)
				}
				return
			}
			p := httpapi.ProblemFor(err)
			if p.Status != tc.status || p.Code != tc.code || p.Field != tc.field {
				t.Fatalf("Decode() error %v → %d %q field %q, want %d %q field %q", err, p.Status, p.Code, p.Field, tc.status, tc.code, tc.field)
			}
		})
	}
}
