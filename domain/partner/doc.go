// Package partner models a partner of one locality: an issuer office (a
// social, health, wellbeing or NGO unit that hands out cards) or a venue
// location (culture, education, science or sport) that accepts them. A
// partner always has exactly one contact person, commits to the national
// guideline, may leave, and (issuers only) may issue cards only once
// Kaikukeskus has approved it. After leaving, a partner only answers reads.
package partner
