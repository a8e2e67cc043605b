// Package ripcord orchestrates the recovery of multi-tier applications
// protected by AWS Elastic Disaster Recovery (DRS).
//
// ripcord runs disaster-recovery drills and real recoveries in dependency
// order. It launches each step in as few DRS jobs as the quotas allow, waits
// for the jobs that really hold a server instead of sleeping, launches every
// server exactly once across its own crashes and lost responses, cleans up
// after drills, and records how long recovery took.
//
// This root package holds the domain: the types every other package speaks
// (such as [Error]) and, as they are written, the interfaces the engine needs.
// It imports no adapter. Each outside system has its own package below
// (drssim is the DRS simulator), and cmd/ripcord wires them together.
// See docs/architecture.md for the package table and the rules.
package ripcord
