// Package dataset generates a realistic Kaikukortti network as a stream of
// commands, deterministically from a seed: localities with their
// municipalities (the real ones of shared/data/localities.csv first, one of
// them a local-scope pilot), issuer offices and venues of every category,
// two guideline versions (the second changes how children's tickets are
// counted), agreements with amendments and terminations, contact changes,
// coordinators, feedback meetings, and cards issued, renewed, replaced and
// cancelled over the years with their uses, children's tickets and
// assistants.
//
// Scale 1 is Finland after ten years: about 120 municipalities, 450 venues,
// 400 issuer offices, 100,000 cards and 270,000 uses. The shapes follow the
// real ones: a few uses per card per year, a minority of cards never used,
// sport the largest adult category, children's tickets a sixth of all uses.
//
// Commands come out in business-date order, each with the principal that
// would send it, so `kaiku seed` runs them through the same command
// handlers as the HTTP API, and `kaiku bench` can import them.
package dataset
