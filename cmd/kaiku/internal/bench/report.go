package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Figure is one row of the report: a measured value, the raw baseline it
// is compared with, their ratio, and the goal of issue 6 when there is one.
type Figure struct {
	Name         string  `json:"name"`
	Unit         string  `json:"unit"`
	Value        float64 `json:"value"`
	Baseline     float64 `json:"baseline,omitempty"`
	BaselineName string  `json:"baselineName,omitempty"`
	Ratio        float64 `json:"ratio,omitempty"`
	Goal         string  `json:"goal,omitempty"`
	// Met is nil when the figure has no goal or the goal applies only to
	// another scale.
	Met  *bool  `json:"met,omitempty"`
	Note string `json:"note,omitempty"`
}

// Report is the whole result, printed as one markdown table and written
// as JSON.
type Report struct {
	Scale     float64   `json:"scale"`
	Quick     bool      `json:"quick"`
	Events    int64     `json:"events"`
	Started   time.Time `json:"started"`
	Seconds   float64   `json:"seconds"`
	Load      string    `json:"load,omitempty"`
	GoVersion string    `json:"goVersion,omitempty"`
	Figures   []Figure  `json:"figures"`
}

func (r *Report) add(f Figure) { r.Figures = append(r.Figures, f) }

// Markdown writes the report as one markdown table.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "kaiku bench --scale %g%s: %d events, %.0fs, load %s\n\n", r.Scale, map[bool]string{true: " --quick"}[r.Quick], r.Events, r.Seconds, r.Load)
	b.WriteString("| figure | value | baseline | ratio | goal | met? |\n|---|---|---|---|---|---|\n")
	for _, f := range r.Figures {
		base, ratio := "—", "—"
		if f.Baseline > 0 {
			base = num(f.Baseline) + " " + f.Unit
			if f.BaselineName != "" {
				base += " (" + f.BaselineName + ")"
			}
		}
		if f.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f×", f.Ratio)
		}
		met := "—"
		switch {
		case f.Met != nil && *f.Met:
			met = "yes"
		case f.Met != nil:
			met = "**no**"
		case f.Goal != "":
			met = "n/a"
		}
		goal := f.Goal
		if goal == "" {
			goal = "—"
		}
		name := f.Name
		if f.Note != "" {
			name += " (" + f.Note + ")"
		}
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s | %s | %s |\n", name, num(f.Value), f.Unit, base, ratio, goal, met)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// JSON returns the report as indented JSON.
func (r *Report) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// num prints rates without decimals and latencies with enough of them.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func ratio(v, base float64) float64 {
	if base <= 0 {
		return 0
	}
	return v / base
}

func ptr(b bool) *bool { return &b }

// percentile returns the p-th percentile (0..100) of sorted durations in
// milliseconds, nearest rank.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	i = min(max(i, 0), len(sorted)-1)
	return float64(sorted[i].Microseconds()) / 1000
}
