package audit

// Verdict is what a verification may say about the log as a whole.
type Verdict int

const (
	// Verified: every event in the log is chained and verified (those
	// after the last seal against the chain only, until the next seal).
	Verified Verdict = iota
	// Incomplete: nothing wrong was found in what was checked, but some
	// events are not chained yet and so were not judged at all. It is not
	// an "OK": run the chainer (kaiku audit seal) and verify again.
	Incomplete
	// Tampered: FirstBad names the first problem.
	Tampered
)

// Unchained returns how many events the verification saw but could not
// judge, because no chain row covers them yet.
func (r Report) Unchained() int64 { return r.Events - r.Chained }

// Unsealed returns how many events no verified seal covers yet; those
// that are chained were checked against the stored chain only.
func (r Report) Unsealed() int64 { return r.Events - r.Sealed }

// Verdict returns Tampered when FirstBad is set, Incomplete when some
// events are not chained, and Verified otherwise.
func (r Report) Verdict() Verdict {
	switch {
	case r.FirstBad != nil:
		return Tampered
	case r.Unchained() > 0:
		return Incomplete
	}
	return Verified
}
