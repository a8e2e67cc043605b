package report

import (
	"time"

	"github.com/ripcord-dr/ripcord/engine"
)

// Approval is one decision on an approval step: approved or rejected by a
// person (By, with their comment), or timedOut.
type Approval struct {
	Step        string    `json:"step"`
	Message     string    `json:"message,omitempty"`
	RequestedAt time.Time `json:"requestedAt"`
	Decision    string    `json:"decision"` // approved, rejected, timedOut
	By          string    `json:"by,omitempty"`
	Comment     string    `json:"comment,omitempty"`
	// Via is through what, when not the API or the CLI (console,
	// approval link).
	Via string    `json:"via,omitempty"`
	At  time.Time `json:"at"`
}

// approvals lists the execution's decided approvals, in the order made.
func approvals(s *engine.State) []Approval {
	var out []Approval
	for _, a := range s.Approvals {
		out = append(out, Approval{Step: a.Step, Message: a.Message, RequestedAt: a.Requested.UTC(), Decision: a.Decision,
			By: a.By, Comment: a.Comment, Via: a.Via, At: a.At.UTC()})
	}
	return out
}
