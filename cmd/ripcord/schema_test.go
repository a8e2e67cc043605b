package main

import (
	"encoding/json"
	"testing"

	"github.com/ripcord-dr/ripcord/plan"
)

func TestSchemaCmd(t *testing.T) {
	out, errOut, err := runRipcord(t, "", "schema")
	if err != nil {
		t.Fatal(err)
	}
	if errOut != "" {
		t.Errorf("stderr = %q, want nothing", errOut)
	}
	if out != string(plan.Schema()) {
		t.Errorf("ripcord schema does not print plan.Schema()")
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", s["$schema"])
	}

	if _, _, err := runRipcord(t, "", "schema", "extra"); err == nil || exitCode(err) != 2 {
		t.Errorf("ripcord schema extra: error = %v, want a usage error", err)
	}
}
