package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestRunWithHealthGate: ripcord run wires health checks: a plan whose
// database wave has an EC2 status gate and whose app wave is followed by
// an SSM check step runs as a drill against the simulator (EC2 and SSM
// reached with the targets' credentials at --endpoint-url), and ripcord
// report gives the RTO to launched and to healthy.
func TestRunWithHealthGate(t *testing.T) {
	c := newCLIEnv(t)
	plan := filepath.Join(t.TempDir(), "health.yaml")
	if err := os.WriteFile(plan, []byte(`
targets:
  - {name: dr, account: "111122223333", region: us-east-1}
protectionGroups:
  - {name: orders-db, target: dr, selector: {Application: orders, Tier: database}}
  - {name: orders-app, target: dr, selector: {Application: orders, Tier: app}}
plans:
  - name: orders
    waves:
      - name: database
        groups: [orders-db]
        health:
          - {type: ec2Status, interval: 10s, timeout: 15m}
      - name: app
        groups: [orders-app]
      - name: smoke
        kind: check
        checks:
          - {type: ssm, document: AWS-RunShellScript, parameters: {commands: "true"}, interval: 10s, timeout: 10m}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := c.ripcord(append([]string{"run", "-f", plan, "--drill", "--id", "h1", "--output", "json"}, c.conn()...)...)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = c.ripcord(append([]string{"report", "h1", "--format", "json"}, c.conn()...)...)
	if code != 0 {
		t.Fatalf("report: exit %d\n%s\n%s", code, out, errOut)
	}
	var r struct {
		RTO struct {
			Measured *float64 `json:"measuredSeconds"`
			Healthy  *float64 `json:"healthySeconds"`
			Step     string   `json:"lastHealthyStep"`
		} `json:"rto"`
		Steps []struct {
			Name   string `json:"name"`
			Checks []struct {
				Status string `json:"status"`
			} `json:"checks"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.RTO.Measured == nil || r.RTO.Healthy == nil || *r.RTO.Healthy <= *r.RTO.Measured || r.RTO.Step != "smoke" {
		t.Fatalf("rto: %+v (measured %v, healthy %v)", r.RTO, r.RTO.Measured, r.RTO.Healthy)
	}
	checks := map[string]int{}
	for _, st := range r.Steps {
		for _, ch := range st.Checks {
			if ch.Status == "passed" {
				checks[st.Name]++
			}
		}
	}
	if checks["database"] != 2 || checks["smoke"] != 2 {
		t.Errorf("passed checks by step: %v, want 2 database gates and 2 SSM checks", checks)
	}
}
