package audit_test

import (
	"testing"

	"github.com/kaiku/kaiku/domain/audit"
)

func TestVerdictNeverVerifiesWhatIsNotChained(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		r    audit.Report
		want audit.Verdict
	}{
		{"every event chained and sealed", audit.Report{Events: 10, Chained: 10, Sealed: 10}, audit.Verified},
		{"every event chained, the last ones not sealed yet", audit.Report{Events: 10, Chained: 10, Sealed: 6}, audit.Verified},
		{"events not yet chained are not judged", audit.Report{Events: 10, Chained: 7, Sealed: 6}, audit.Incomplete},
		{"a log never chained", audit.Report{Events: 10}, audit.Incomplete},
		{"a tamper wins over everything", audit.Report{Events: 10, Chained: 7, FirstBad: &audit.Problem{Position: 3}}, audit.Tampered},
		{"an empty log", audit.Report{}, audit.Verified},
	} {
		if got := tc.r.Verdict(); got != tc.want {
			t.Errorf("%s: verdict %d, want %d", tc.name, got, tc.want)
		}
	}
}
