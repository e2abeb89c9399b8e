// Package compliance is the read model of what needs a coordinator's
// attention on a date D:
//   - partners in the network on D without a contact person;
//   - partners in the network on D without a commitment (made by D) to the
//     guideline version in force on D;
//   - localities in the network on D, members for at least 12 months,
//     that held no feedback meeting in the 12 months up to D (after
//     D minus 12 months, up to and including D);
//   - agreements in force on D whose last valid day is within 60 days.
//
// The tables live in a schema chosen by the caller ("compliance_v1", …):
// DDL(schema) creates them, New(schema) fills them, NewQueries(db, schema)
// reads them; every name is quoted with pgx.Identifier. The model keeps
// dated facts and Report computes the findings for any date.
package compliance
