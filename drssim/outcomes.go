package drssim

import "sync/atomic"

// Outcomes of a DRS request in OutcomeCounts other than an error type
// (ConflictException, ThrottlingException, ...): the names ripcord's DRS
// adapter gives what its client saw (drs.OutcomeOK, drs.OutcomeNoResponse).
const (
	OutcomeOK         = "ok"          // answered with success
	OutcomeNoResponse = "no_response" // the operation ran; the connection was closed without an answer (drop-response)
)

type outcomeKey struct{ op, outcome string }

// countOutcome counts how a routed DRS request was answered. It is called
// before the answer is written (or the connection dropped), so that a
// client that has its answer finds it counted.
func (s *Sim) countOutcome(op, outcome string) {
	k := outcomeKey{op, outcome}
	v, ok := s.outcomeStats.Load(k)
	if !ok {
		v, _ = s.outcomeStats.LoadOrStore(k, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// OutcomeCounts returns how many requests each operation received, by
// outcome: OutcomeOK, the error type answered (ConflictException,
// ThrottlingException, ValidationException, ...), or OutcomeNoResponse.
// Per operation the outcomes add up to OperationCounts, once every request
// has been answered.
func (s *Sim) OutcomeCounts() map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	s.outcomeStats.Range(func(k, v any) bool {
		key := k.(outcomeKey)
		if out[key.op] == nil {
			out[key.op] = map[string]int64{}
		}
		out[key.op][key.outcome] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}
