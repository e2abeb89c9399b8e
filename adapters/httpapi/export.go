package httpapi

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/projections/stats"
)

// The export formats and their content types.
const (
	FormatCSV       = "csv"
	FormatXLSX      = "xlsx"
	ContentTypeCSV  = "text/csv; charset=utf-8"
	ContentTypeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// exportPageSize is the page size a paged list is read in when exported
// without a limit (with one, every page of that size is read).
const exportPageSize = 1000

// exportable reports whether rt answers as CSV and XLSX too: every
// authenticated GET with a response body.
func exportable(rt Route) bool {
	return !rt.Public && rt.Method == http.MethodGet && rt.Response != nil
}

// addExport documents an exportable operation's formats: the format
// query parameter and the CSV and XLSX bodies of its success answer.
func addExport(op, ok map[string]any) {
	op["parameters"] = append(asSlice(op["parameters"]), map[string]any{"name": "format", "in": "query", "required": false,
		"description": "json (the default), csv (also Accept: text/csv; UTF-8 with a BOM, ';'-separated, a header row; a list exports every row of its filter) or xlsx.",
		"schema":      map[string]any{"type": "string", "enum": []any{"json", FormatCSV, FormatXLSX}}})
	content := ok["content"].(map[string]any)
	content["text/csv"] = map[string]any{"schema": map[string]any{"type": "string"}}
	content[strings.SplitN(ContentTypeXLSX, ";", 2)[0]] = map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
}

// exportFormat returns the format r asks for: ?format=csv|xlsx|json, else
// csv when Accept names text/csv, else "" (JSON). Another format is a
// *domain.Invalid (400 invalid_format).
func exportFormat(r *http.Request) (string, error) {
	switch f := r.URL.Query().Get("format"); f {
	case FormatCSV, FormatXLSX:
		return f, nil
	case "", "json":
		if f == "" && strings.Contains(r.Header.Get("Accept"), "text/csv") {
			return FormatCSV, nil
		}
		return "", nil
	default:
		return "", domain.Invalidf("invalid_format", "format", "format must be json, csv or xlsx, not %q", f)
	}
}

// Export is the middleware that lets a GET route answer as CSV or XLSX:
//
//	r.With(Export(route.Response)).Get(route.Pattern, route.Handler)
//
// The route runs as for JSON, so its authorisation, scope and
// suppression apply unchanged; its answer (a value of response's type) is
// turned into tables: a list is one table; an object's lists are one
// table each (an object without lists is a table of one row); nested
// objects flatten into "a.b" columns. CSV is UTF-8 with a BOM, ';' as the
// separator and a header row; an answer with several tables gets a first
// column naming the table. XLSX has one sheet per table. A paged list
// (GET /v1/history, /v1/uses) exports every row of its filter, read and
// written page by page. Text that a spreadsheet would run as a formula
// (starting with =, +, -, @, a tab or a carriage return) is prefixed with
// an apostrophe. Errors before the first byte are problems as usual; an
// error after it cuts the answer short and is logged.
func Export(response any) func(http.Handler) http.Handler {
	typ := reflect.TypeOf(response)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			format, err := exportFormat(r)
			if err != nil {
				WriteError(w, r, err)
				return
			}
			if format == "" {
				next.ServeHTTP(w, r)
				return
			}
			if err := export(w, r, next, typ, format); err != nil {
				slog.ErrorContext(r.Context(), "export cut short", "path", r.URL.Path, "format", format, "err", err)
			}
		})
	}
}

// pager is an answer that is one page of a longer list.
type pager interface {
	// exportNext is the after parameter of the next page, 0 on the last.
	exportNext() domain.Position
}

func (p HistoryPage) exportNext() domain.Position { return p.NextAfter }
func (p UsesPage) exportNext() domain.Position    { return p.NextAfter }

// tabler is an answer that chooses its own tables.
type tabler interface {
	exportTables() []exportTable
}

// exportTables gives the check itself as one row, and this year's uses.
func (c CardCheck) exportTables() []exportTable {
	check := c
	check.UsesThisYear = nil
	out := []exportTable{objectTable("check", reflect.ValueOf(check))}
	if c.UsesThisYear != nil {
		out = append(out, listTable("usesThisYear", reflect.ValueOf(c.UsesThisYear)))
	}
	return out
}

// exportTable is one table of an answer.
type exportTable struct {
	name string
	cols []column
	rows []reflect.Value
}

// column is one column: its header and how to read its cell from a row.
type column struct {
	header string
	cell   func(row reflect.Value) any // string, int64, float64, bool or nil
}

// capture keeps a handler's answer.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *capture) Header() http.Header { return c.header }
func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}
func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

// runForExport serves r with next and decodes a 200 answer into a new value of
// typ. Any other answer comes back as rec, with ok false.
func runForExport(r *http.Request, next http.Handler, typ reflect.Type) (v reflect.Value, rec *capture, ok bool, err error) {
	rec = &capture{header: http.Header{}}
	next.ServeHTTP(rec, r)
	if rec.status != http.StatusOK {
		return reflect.Value{}, rec, false, nil
	}
	p := reflect.New(typ)
	if err := json.Unmarshal(rec.body.Bytes(), p.Interface()); err != nil {
		return reflect.Value{}, rec, false, fmt.Errorf("export: decode the answer: %w", err)
	}
	return p.Elem(), rec, true, nil
}

// withQuery returns a copy of r with query parameter name set to value.
func withQuery(r *http.Request, name, value string) *http.Request {
	q := r.URL.Query()
	q.Set(name, value)
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	return r2
}

// exportName is the file name of an export of r: "kaiku-" and the path's
// segments ("kaiku-statistics-national-2024").
func exportName(r *http.Request) string {
	segs := strings.FieldsFunc(strings.TrimPrefix(r.URL.Path, "/v1/"), func(c rune) bool { return c == '/' })
	for i, s := range segs {
		segs[i] = strings.Map(func(c rune) rune {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
				return c
			}
			return '_'
		}, s)
	}
	return "kaiku-" + strings.Join(segs, "-")
}

func export(w http.ResponseWriter, r *http.Request, next http.Handler, typ reflect.Type, format string) error {
	paged := typ.Implements(reflect.TypeFor[pager]())
	if paged && r.URL.Query().Get("limit") == "" { // limit stays the page size it is read in
		r = withQuery(r, "limit", strconv.Itoa(exportPageSize))
	}
	v, rec, ok, err := runForExport(r, next, typ)
	if err != nil {
		return err
	}
	if !ok { // a problem: pass it on as the route gave it
		for k, vs := range rec.header {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.status)
		_, err := w.Write(rec.body.Bytes())
		return err
	}
	name := exportName(r)
	tables := tablesOf(v, name)
	var out tableWriter
	if format == FormatCSV {
		w.Header().Set("Content-Type", ContentTypeCSV)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		out = newCSVWriter(w, tables)
	} else {
		w.Header().Set("Content-Type", ContentTypeXLSX)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
		out = newXLSXWriter(w)
	}
	for _, t := range tables {
		if err := out.rows(t); err != nil {
			return err
		}
	}
	for paged {
		after := v.Interface().(pager).exportNext()
		if after == 0 {
			break
		}
		v, rec, ok, err = runForExport(withQuery(r, "after", strconv.FormatInt(int64(after), 10)), next, typ)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("export: page after %d answered %d: %s", after, rec.status, rec.body.String())
		}
		t := tables[0]
		t.rows = tablesOf(v, name)[0].rows
		if err := out.rows(t); err != nil {
			return err
		}
	}
	return out.close()
}

// tablesOf turns an answer into tables (see Export). name names a list's
// only table.
func tablesOf(v reflect.Value, name string) []exportTable {
	if t, ok := v.Interface().(tabler); ok {
		return t.exportTables()
	}
	if v.Kind() == reflect.Slice {
		return []exportTable{listTable(name, v)}
	}
	var out []exportTable
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		jn, ok := jsonName(f)
		if !ok || !isRowList(f.Type) {
			continue
		}
		out = append(out, listTable(jn, v.Field(i)))
	}
	if len(out) == 0 {
		out = append(out, objectTable(name, v))
	}
	return out
}

// isRowList reports whether t is a list of objects (a table).
func isRowList(t reflect.Type) bool {
	if t.Kind() != reflect.Slice {
		return false
	}
	e := t.Elem()
	for e.Kind() == reflect.Pointer {
		e = e.Elem()
	}
	return e.Kind() == reflect.Struct && !isLeaf(e)
}

// listTable is the table of the rows of the slice v.
func listTable(name string, v reflect.Value) exportTable {
	rows := make([]reflect.Value, v.Len())
	for i := range rows {
		rows[i] = v.Index(i)
	}
	t := exportTable{name: name, rows: rows}
	if layout, ok := layouts[v.Type().Elem()]; ok {
		t.cols = layout(rows)
	} else {
		t.cols = columnsOf(v.Type().Elem(), rows, "", func(r reflect.Value) reflect.Value { return r })
	}
	return t
}

// objectTable is a table of one row: v, its lists left out.
func objectTable(name string, v reflect.Value) exportTable {
	rows := []reflect.Value{v}
	if layout, ok := layouts[v.Type()]; ok {
		return exportTable{name: name, rows: rows, cols: layout(rows)}
	}
	return exportTable{name: name, rows: rows, cols: columnsOf(v.Type(), rows, "", func(r reflect.Value) reflect.Value { return r })}
}

// jsonName returns the JSON name of an exported field, and false for one
// left out of JSON.
func jsonName(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name, true
}

// isLeaf reports whether values of t are one cell.
func isLeaf(t reflect.Type) bool { return t == dateType || t == timeType }

// columnsOf returns the columns of rows of type t, each read through get
// from a row; nested objects flatten into "prefix.name" columns, maps into
// one column per key found in rows, lists of objects are left out.
func columnsOf(t reflect.Type, rows []reflect.Value, prefix string, get func(reflect.Value) reflect.Value) []column {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		inner := get
		get = func(r reflect.Value) reflect.Value { return deref(inner(r)) }
	}
	switch {
	case isLeaf(t) || (t.Kind() != reflect.Struct && t.Kind() != reflect.Map):
		return []column{{header: prefix, cell: func(r reflect.Value) any { return cellOf(get(r)) }}}
	case t.Kind() == reflect.Map:
		keys := map[string]bool{}
		for _, r := range rows {
			if m := get(r); m.IsValid() && m.Kind() == reflect.Map {
				for _, k := range m.MapKeys() {
					keys[fmt.Sprint(k.Interface())] = true
				}
			}
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var cols []column
		for _, k := range sorted {
			cols = append(cols, column{header: join(prefix, k), cell: func(r reflect.Value) any {
				m := get(r)
				if !m.IsValid() || m.IsNil() {
					return nil
				}
				return cellOf(m.MapIndex(reflect.ValueOf(k).Convert(m.Type().Key())))
			}})
		}
		return cols
	}
	var cols []column
	for i := range t.NumField() {
		f := t.Field(i)
		name, ok := jsonName(f)
		if !ok || isRowList(f.Type) {
			continue
		}
		field := func(r reflect.Value) reflect.Value {
			s := get(r)
			if !s.IsValid() {
				return reflect.Value{}
			}
			return s.Field(i)
		}
		p := join(prefix, name)
		if f.Anonymous && f.Tag.Get("json") == "" {
			p = prefix
		}
		cols = append(cols, columnsOf(f.Type, rows, p, field)...)
	}
	return cols
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func deref(v reflect.Value) reflect.Value {
	if !v.IsValid() || v.Kind() != reflect.Pointer {
		return v
	}
	if v.IsNil() {
		return reflect.Value{}
	}
	return v.Elem()
}

// cellOf is the cell of a leaf value: string, int64, float64, bool or nil.
func cellOf(v reflect.Value) any {
	v = deref(v)
	if !v.IsValid() {
		return nil
	}
	switch v.Type() {
	case dateType:
		return v.Interface().(domain.Date).String()
	case timeType:
		t := v.Interface().(time.Time)
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Struct && !isLeaf(v.Type().Elem()) {
			b, _ := json.Marshal(v.Interface())
			return string(b)
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = text(cellOf(v.Index(i)))
		}
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v.Interface())
	return string(b)
}

// text is a cell as CSV text.
func text(c any) string {
	switch c := c.(type) {
	case nil:
		return ""
	case string:
		return c
	case int64:
		return strconv.FormatInt(c, 10)
	case float64:
		return strconv.FormatFloat(c, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(c)
	}
	return fmt.Sprint(c)
}

// neutralise prefixes text that a spreadsheet would run as a formula with
// an apostrophe, so that it stays text.
func neutralise(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// safe is a cell with its text neutralised.
func safe(c any) any {
	if s, ok := c.(string); ok {
		return neutralise(s)
	}
	return c
}

// layouts are the fixed layouts of tables published in a set form.
var layouts = map[reflect.Type]func(rows []reflect.Value) []column{
	reflect.TypeFor[stats.NationalTable](): nationalLayout,
}

// nationalCategories are the use categories with their Finnish names, in
// the published order.
var nationalCategories = []struct{ key, fi, en string }{
	{"culture", "kulttuuri", "culture"}, {"education", "aikuiskoulutus", "education"},
	{"science", "tiede", "science"}, {"sport", "liikunta", "sport"},
}

// nationalLayout is Kaikukeskus's published national table: one row per
// year, headers in Finnish and English. Categories beyond the four
// published ones follow them, under their code.
func nationalLayout(rows []reflect.Value) []column {
	get := func(f func(stats.NationalTable) any) func(reflect.Value) any {
		return func(r reflect.Value) any { return f(r.Interface().(stats.NationalTable)) }
	}
	cats := slices.Clone(nationalCategories)
	seen := map[string]bool{}
	for _, c := range cats {
		seen[c.key] = true
	}
	var extra []string
	for _, r := range rows {
		for k := range r.Interface().(stats.NationalTable).AdultUsesByCategory {
			if !seen[k] {
				seen[k] = true
				extra = append(extra, k)
			}
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		cats = append(cats, struct{ key, fi, en string }{k, k, k})
	}
	cols := []column{
		{"Vuosi / year", get(func(t stats.NationalTable) any { return int64(t.Year) })},
		{"Rekisteröidyt kortit / cards registered", get(func(t stats.NationalTable) any { return t.CardsRegistered })},
		{"Käyttöön otetut kortit / cards taken into use", get(func(t stats.NationalTable) any { return t.CardsUsed })},
	}
	for _, c := range cats {
		cols = append(cols, column{"Aikuisten käyttökerrat: " + c.fi + " / adult uses: " + c.en,
			get(func(t stats.NationalTable) any { return t.AdultUsesByCategory[c.key] })})
	}
	cols = append(cols, column{"Aikuisten käyttökerrat yhteensä / adult uses in total", get(func(t stats.NationalTable) any { return t.AdultUses })})
	for _, c := range cats {
		cols = append(cols, column{"Lasten käyttökerrat: " + c.fi + " / children's tickets: " + c.en,
			get(func(t stats.NationalTable) any { return t.ChildTicketsByCategory[c.key] })})
	}
	return append(cols,
		column{"Lasten käyttökerrat yhteensä / children's tickets in total", get(func(t stats.NationalTable) any { return t.ChildTickets })},
		column{"Käyttökerrat yhteensä / total uses", get(func(t stats.NationalTable) any { return t.TotalUses })},
		column{"Kunnat / municipalities", get(func(t stats.NationalTable) any { return t.Municipalities })},
	)
}

// tableWriter writes tables' rows in one format; rows may be called again
// for the same table (the next page of a list).
type tableWriter interface {
	rows(t exportTable) error
	close() error
}

// csvWriter writes CSV: a BOM, ';' separators, one header row. With
// several tables the first column names the table and the header is the
// union of their columns.
type csvWriter struct {
	w      *csv.Writer
	out    io.Writer
	multi  bool
	union  []string
	index  map[string]int
	header bool
}

func newCSVWriter(w io.Writer, tables []exportTable) *csvWriter {
	c := &csvWriter{w: csv.NewWriter(w), out: w, multi: len(tables) > 1, index: map[string]int{}}
	c.w.Comma, c.w.UseCRLF = ';', true
	if c.multi {
		c.union = append(c.union, "table")
	}
	for _, t := range tables {
		for _, col := range t.cols {
			if _, ok := c.index[col.header]; !ok {
				c.index[col.header] = len(c.union)
				c.union = append(c.union, col.header)
			}
		}
	}
	_, _ = io.WriteString(w, "\ufeff")
	return c
}

func (c *csvWriter) rows(t exportTable) error {
	if !c.header {
		c.header = true
		hdr := make([]string, len(c.union))
		for i, h := range c.union {
			hdr[i] = neutralise(h)
		}
		if err := c.w.Write(hdr); err != nil {
			return err
		}
	}
	rec := make([]string, len(c.union))
	for _, r := range t.rows {
		clear(rec)
		if c.multi {
			rec[0] = t.name
		}
		for _, col := range t.cols {
			rec[c.index[col.header]] = text(safe(col.cell(r)))
		}
		if err := c.w.Write(rec); err != nil {
			return err
		}
	}
	c.w.Flush()
	if f, ok := c.out.(http.Flusher); ok { // stream each page on
		f.Flush()
	}
	return c.w.Error()
}

func (c *csvWriter) close() error {
	if !c.header {
		return c.rows(exportTable{})
	}
	return nil
}

// xlsxWriter writes an XLSX workbook with one sheet per table, each with
// a header row; rows are streamed into the sheet and the workbook is
// written out on close.
type xlsxWriter struct {
	w      io.Writer
	f      *excelize.File
	sheets map[string]*xlsxSheet
	order  []string
}

type xlsxSheet struct {
	sw  *excelize.StreamWriter
	row int
}

func newXLSXWriter(w io.Writer) *xlsxWriter {
	return &xlsxWriter{w: w, f: excelize.NewFile(), sheets: map[string]*xlsxSheet{}}
}

// sheetName is a valid, unique sheet name for a table (at most 31
// characters, none of []:*?/\).
func (x *xlsxWriter) sheetName(table string) string {
	name := strings.Map(func(c rune) rune {
		if strings.ContainsRune(`[]:*?/\`, c) {
			return '_'
		}
		return c
	}, table)
	if name == "" {
		name = "table"
	}
	if r := []rune(name); len(r) > 31 {
		name = string(r[:31])
	}
	return name
}

func (x *xlsxWriter) rows(t exportTable) error {
	s, ok := x.sheets[t.name]
	if !ok {
		name := x.sheetName(t.name)
		var err error
		if len(x.sheets) == 0 {
			err = x.f.SetSheetName("Sheet1", name)
		} else {
			_, err = x.f.NewSheet(name)
		}
		if err != nil {
			return fmt.Errorf("export: sheet %s: %w", name, err)
		}
		sw, err := x.f.NewStreamWriter(name)
		if err != nil {
			return fmt.Errorf("export: sheet %s: %w", name, err)
		}
		s = &xlsxSheet{sw: sw, row: 1}
		x.sheets[t.name], x.order = s, append(x.order, t.name)
		hdr := make([]any, len(t.cols))
		for i, c := range t.cols {
			hdr[i] = neutralise(c.header)
		}
		if err := s.sw.SetRow("A1", hdr); err != nil {
			return err
		}
	}
	vals := make([]any, len(t.cols))
	for _, r := range t.rows {
		s.row++
		for i, c := range t.cols {
			vals[i] = safe(c.cell(r))
		}
		cell, err := excelize.CoordinatesToCellName(1, s.row)
		if err != nil {
			return err
		}
		if err := s.sw.SetRow(cell, vals); err != nil {
			return err
		}
	}
	return nil
}

func (x *xlsxWriter) close() error {
	defer x.f.Close()
	for _, n := range x.order {
		if err := x.sheets[n].sw.Flush(); err != nil {
			return err
		}
	}
	_, err := x.f.WriteTo(x.w)
	return err
}
