package httpapi

import "testing"

func TestNeutralise(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"=1+2": "'=1+2", "+358 40 1": "'+358 40 1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"": "", "Museo": "Museo", "2024-01-01": "2024-01-01", "a=b": "a=b",
	} {
		if got := neutralise(in); got != want {
			t.Errorf("neutralise(%q) = %q, want %q", in, got, want)
		}
	}
	if got := safe(int64(-5)); got != int64(-5) {
		t.Errorf("a number is not text: safe(-5) = %v", got)
	}
}
