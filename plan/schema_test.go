package plan_test

import (
	"encoding/json"
	"testing"

	"github.com/ripcord-dr/ripcord/plan"
)

// TestSchema compares the schema with testdata/schema.json, so that every
// change to the format shows in review, and checks its frame.
func TestSchema(t *testing.T) {
	got := plan.Schema()
	golden(t, "testdata/schema.json", got)

	var s struct {
		Schema     string                     `json:"$schema"`
		Type       string                     `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
		Defs       map[string]struct {
			Type                 string                     `json:"type"`
			Properties           map[string]json.RawMessage `json:"properties"`
			AdditionalProperties *bool                      `json:"additionalProperties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(got, &s); err != nil {
		t.Fatalf("the schema is not JSON: %v", err)
	}
	if s.Schema != "https://json-schema.org/draft/2020-12/schema" || s.Type != "object" {
		t.Errorf("$schema = %q, type = %q", s.Schema, s.Type)
	}
	for _, key := range []string{"targets", "protectionGroups", "plans"} {
		if s.Properties[key] == nil {
			t.Errorf("no property %q at the top", key)
		}
	}
	for _, def := range []string{"target", "protectionGroup", "plan", "step", "serverRef"} {
		d, ok := s.Defs[def]
		if !ok || d.Type != "object" || d.AdditionalProperties == nil || *d.AdditionalProperties {
			t.Errorf("$defs/%s missing, not an object, or open to other keys", def)
		}
	}
	for _, key := range []string{"name", "kind", "after", "groups", "servers", "duration"} {
		if s.Defs["step"].Properties[key] == nil {
			t.Errorf("step has no property %q", key)
		}
	}
}
