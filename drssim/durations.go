package drssim

import "time"

// Durations returns the ranges this simulator draws durations from, the
// scenario's with the defaults filled in (docs/drs.md §19). Benchmarks use
// them to compute what no orchestrator can beat on average.
func (s *Sim) Durations() Durations { return s.cfg.durations }

// WithDefaults returns d with every range left out (and the Windows
// factor) set to its default (docs/drs.md §19).
func (d Durations) WithDefaults() Durations {
	def := func(r *DurRange, min, max time.Duration) {
		if r.IsZero() {
			*r = DurRange{Duration(min), Duration(max)}
		}
	}
	def(&d.Pending, 2*time.Second, 20*time.Second)
	def(&d.Cleanup, 30*time.Second, 90*time.Second)
	def(&d.Snapshot, 30*time.Second, 120*time.Second)
	def(&d.PreviousSnapshot, 3*time.Second, 8*time.Second)
	def(&d.Conversion, 2*time.Minute, 6*time.Minute)
	def(&d.Launch, 30*time.Second, 90*time.Second)
	def(&d.Terminate, 1*time.Minute, 5*time.Minute)
	def(&d.StatusChecks, 1*time.Minute, 3*time.Minute)
	def(&d.SSMAgent, 20*time.Second, 90*time.Second)
	def(&d.FailbackSync, 5*time.Minute, 20*time.Minute)
	if d.WindowsFactor == 0 {
		d.WindowsFactor = 2
	}
	return d
}
