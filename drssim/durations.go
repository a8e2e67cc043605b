package drssim

// Durations returns the ranges this simulator draws durations from, the
// scenario's with the defaults filled in (docs/drs.md §19). Benchmarks use
// them to compute what no orchestrator can beat on average.
func (s *Sim) Durations() Durations { return s.cfg.durations }
