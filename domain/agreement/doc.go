// Package agreement models the agreement a locality signs with one of its
// partners from a template version: a pilot agreement for the pilot's
// duration, or a network agreement with a partner that joined after the
// pilot. An agreement has a validity period, may be amended and
// terminated, and keeps its whole timeline for auditors.
package agreement
