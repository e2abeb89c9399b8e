package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/kaiku/kaiku/domain"
)

// exportSource is a table `kaiku export` can write: the route it reads
// and how --year narrows it (nil: --year does not apply).
type exportSource struct {
	path string
	year func(y int, q url.Values) string // returns the path for year y, setting q
}

func yearRange(from, to string) func(int, url.Values) string {
	return func(y int, q url.Values) string {
		q.Set(from, fmt.Sprintf("%d-01-01", y))
		q.Set(to, fmt.Sprintf("%d-12-31", y))
		return ""
	}
}

func yearEnd(name string) func(int, url.Values) string {
	return func(y int, q url.Values) string { q.Set(name, fmt.Sprintf("%d-12-31", y)); return "" }
}

var exportSources = map[string]exportSource{
	"statistics": {"/v1/statistics", yearRange("from", "to")},
	"national": {"/v1/statistics/national", func(y int, _ url.Values) string {
		return "/v1/statistics/national/" + strconv.Itoa(y)
	}},
	"cross-use": {"/v1/statistics/cross-use", func(y int, q url.Values) string {
		q.Set("from", strconv.Itoa(y))
		q.Set("to", strconv.Itoa(y))
		return ""
	}},
	"contacts":    {"/v1/contacts", nil},
	"commitments": {"/v1/commitments", yearEnd("on")},
	"compliance":  {"/v1/compliance", yearEnd("on")},
	"agreements":  {"/v1/agreements", yearEnd("inForceOn")},
	"history": {"/v1/history", func(y int, q url.Values) string {
		q.Set("from", fmt.Sprintf("%d-01-01", y))
		q.Set("to", fmt.Sprintf("%d-01-01", y+1))
		return ""
	}},
	"network":    {"/v1/network", yearEnd("asOf")},
	"localities": {"/v1/localities", nil},
	"partners":   {"/v1/partners", nil},
	"guidelines": {"/v1/guidelines", nil},
}

// ExportTableNames lists the tables ExportTable knows, sorted.
func ExportTableNames() []string {
	out := make([]string, 0, len(exportSources))
	for n := range exportSources {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ExportRequest is what `kaiku export` asks for.
type ExportRequest struct {
	Table    string // one of ExportTableNames
	Format   string // FormatCSV (default) or FormatXLSX
	Year     int    // 0: every year the table has
	Locality string // "": every locality
}

// ExportTable writes table req.Table to w in req.Format exactly as the
// API's export of its route answers a national principal (the same
// handler, the same Export middleware), streamed. It returns a
// *domain.Invalid for an unknown table or a --year that does not apply,
// and the route's problem as an error when it refuses.
func ExportTable(ctx context.Context, d Deps, req ExportRequest, w io.Writer) error {
	src, ok := exportSources[req.Table]
	if !ok {
		return domain.Invalidf("unknown_table", "table", "no table %q; the tables are %v", req.Table, ExportTableNames())
	}
	if req.Format == "" {
		req.Format = FormatCSV
	}
	if req.Format != FormatCSV && req.Format != FormatXLSX {
		return domain.Invalidf("invalid_format", "format", "format must be csv or xlsx, not %q", req.Format)
	}
	q := url.Values{"format": {req.Format}}
	if req.Locality != "" {
		q.Set("locality", req.Locality)
	}
	path := src.path
	if req.Year != 0 {
		if src.year == nil {
			return domain.Invalidf("year_not_applicable", "year", "%s has no year; leave --year out", req.Table)
		}
		if p := src.year(req.Year, q); p != "" {
			path = p
		}
	}
	pattern := src.path
	if path != src.path {
		pattern += "/{year}"
	}
	var route *Route
	for _, rt := range Routes(d) {
		if rt.Method == http.MethodGet && rt.Pattern == pattern {
			route = &rt
			break
		}
	}
	if route == nil {
		return fmt.Errorf("export: no route %s for %s", pattern, req.Table)
	}
	r := chi.NewRouter()
	r.With(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), domain.Principal{Role: domain.RoleNational})))
		})
	}, Export(route.Response)).Method(http.MethodGet, route.Pattern, route.Handler)
	hr := httptest.NewRequestWithContext(ctx, http.MethodGet, path+"?"+q.Encode(), nil)
	out := &streamOut{w: w, header: http.Header{}}
	r.ServeHTTP(out, hr)
	if out.status != http.StatusOK {
		return fmt.Errorf("export %s: %d %s", req.Table, out.status, out.problem.String())
	}
	return out.err
}

// streamOut passes a 200 answer's body to w and keeps any other's.
type streamOut struct {
	w       io.Writer
	header  http.Header
	status  int
	problem bytes.Buffer
	err     error
}

func (s *streamOut) Header() http.Header { return s.header }
func (s *streamOut) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
}
func (s *streamOut) Write(b []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	if s.status != http.StatusOK {
		return s.problem.Write(b)
	}
	n, err := s.w.Write(b)
	if err != nil && s.err == nil {
		s.err = err
	}
	return n, err
}
