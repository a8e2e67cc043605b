package main

import (
	"encoding/json"
	"fmt"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// hookText describes a hook event for exec show: the intent with what is
// called, each result with its status and output, and skips with why.
func hookText(ev ripcord.Event) (string, error) {
	switch ev.Type {
	case engine.EvHookStarted:
		var d engine.HookStarted
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return "", err
		}
		return fmt.Sprintf("step %s: %shook %s, attempt %d, recorded before calling %s", d.Step, phaseWord(d.Phase), d.Hook, d.Attempt, d.What), nil
	case engine.EvHookSkipped:
		var d engine.HookSkippedData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return "", err
		}
		return fmt.Sprintf("step %s: %shook %s skipped: %s", d.Step, phaseWord(d.Phase), d.Hook, d.Reason), nil
	}
	var d engine.HookResult
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return "", err
	}
	text := fmt.Sprintf("step %s: %shook %s, attempt %d, ", d.Step, phaseWord(d.Phase), d.Hook, d.Attempt)
	if ev.Type == engine.EvHookSucceeded {
		text += "succeeded"
	} else {
		text += "failed"
	}
	if d.Status != "" {
		text += " (" + d.Status + ")"
	}
	if d.Reason != "" {
		text += ": " + d.Reason
	}
	if d.Output != "" {
		text += fmt.Sprintf("; output %q", d.Output)
	}
	if ev.Type == engine.EvHookFailed && d.Final {
		text += "; no attempt follows"
	}
	return text, nil
}

// phaseWord is "before " or "after " for a step's before and after hooks,
// and nothing for a hook step's own hook.
func phaseWord(phase string) string {
	if phase == engine.HookOwn {
		return ""
	}
	return phase + " "
}
