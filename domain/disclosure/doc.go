// Package disclosure is the one small-cell policy of Kaiku: what figures
// every role but national may see, so that no published answer, nor any
// two or three of them combined, reveals a count of people or uses below
// the national guideline's small-cell threshold t.
//
// Every answer that publishes counts to a role other than national goes
// through this package: GET /v1/statistics with any grouping, the national
// annual table, and exports and reports as they come. The national role
// reads unsuppressed figures and is the only one this package lets
// through unchanged (For reports false).
//
// # The policy
//
//  1. Fixed periods (Policy.Period). An answer covers exactly one calendar
//     year that has ended (from = 1 January, to = 31 December of a year
//     before today's): periods never overlap, so no answer is the
//     difference of two others (adjacent ranges, nested ranges, "to the
//     26th" against "to the 27th"), and a year that has ended no longer
//     changes from one day to the next, so asking again tomorrow reveals
//     no day's count. Months, age groups and the rest are rows of a
//     year's answer (groupBy), never periods of their own.
//  2. One view of the log (Policy.Query). Figures as of an earlier record
//     time (asOf) and figures restated under another guideline version
//     (rules) are national's: the difference between two record times is
//     the corrections made between them, and between two rule versions it
//     is one age band or the children's tickets taken with courses, both
//     typically below t.
//  3. One locality per breakdown (Policy.Query). A breakdown across the
//     whole network is offered only by locality; a breakdown by issuer,
//     venue, month, age group, postal area or category names a locality,
//     so that the network-wide sums of those rows appear nowhere but in
//     the national table, which rule 5 protects.
//  4. Primary and secondary suppression in every table (Policy.Suppress).
//     A cell above zero and below t is hidden. Columns that are derived
//     from each other (totalUses = adultUses + childTickets) are hidden
//     together. Then, since the rows of a breakdown sum to the locality's
//     total (another answer), each column's hidden cells must together
//     hold zero or at least t: otherwise the smallest further cells are
//     hidden too, and when none are left the whole column is. So no hidden
//     cell can be recovered as "total minus the others", and what can be
//     recovered, the sum of the hidden cells, is never a small count.
//  5. Totals over localities (Policy.HideTotal). A figure of the national
//     table is the sum of the same figure over localities, and those are
//     published one locality at a time. The national figure is hidden
//     when it is itself small or when the localities' hidden cells that
//     sum to it hold between 1 and t-1 together. Protecting the total
//     rather than hiding a second locality's cell keeps every locality's
//     own figures the same in every answer that shows them.
//
// Zeros are shown: a zero says that nobody is counted, which names no
// one. Counts that are not sums (cards used, which counts distinct cards)
// are suppressed by the same rules though their rows do not add up.
//
// # What this does not cover
//
// Figures of a year that has ended still change when uses are entered
// late or cancelled; two answers before and after such a late change
// differ by it. Freezing a year's figures at a publication date needs
// the record time of each counted fact in the statistics read model,
// which it does not keep today.
package disclosure
