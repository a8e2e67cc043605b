package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// approvalText describes the events of an approval step for exec show:
// who was asked what and until when, and who decided, how and why.
func approvalText(ev ripcord.Event) (string, error) {
	if ev.Type == engine.EvApprovalRequested {
		var d engine.ApprovalRequested
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return "", err
		}
		who := ripcord.Approval{Roles: d.Roles, Identities: d.Identities}.Approvers()
		text := fmt.Sprintf("step %s waits for approval by %s", d.Step, who)
		if d.Message != "" {
			text += ": " + strconv.Quote(d.Message)
		}
		if !d.Deadline.IsZero() {
			text += fmt.Sprintf("; until %s, then %s", d.Deadline.UTC().Format(time.RFC3339), d.OnTimeout)
		}
		return text, nil
	}
	var d engine.ApprovalDecision
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return "", err
	}
	var text string
	switch ev.Type {
	case engine.EvApprovalGranted:
		text = fmt.Sprintf("step %s approved by %s", d.Step, ev.Actor)
	case engine.EvApprovalRejected:
		text = fmt.Sprintf("step %s rejected by %s", d.Step, ev.Actor)
	default:
		return fmt.Sprintf("step %s: nobody decided before the timeout", d.Step), nil
	}
	if d.Via != "" {
		text += " (" + d.Via + ")"
	}
	if d.Comment != "" {
		text += ": " + strconv.Quote(d.Comment)
	}
	return text, nil
}
