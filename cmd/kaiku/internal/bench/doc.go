// Package bench is `kaiku bench`: it builds a national-scale log from the
// deterministic dataset, then measures every path of Kaiku (batch import,
// single-event appends, HTTP record-use, read-model rebuilds, queries,
// end-to-end lag, server memory) against a raw PostgreSQL baseline
// measured in the same run on the same server, and reports each figure
// with its ratio and the goal of issue 6.
//
// Every phase is bounded by a count and by a time budget, so --quick stays
// within a minute on a small machine. The benchmark works in a database of
// its own that it creates and drops; it never touches the served one.
package bench
