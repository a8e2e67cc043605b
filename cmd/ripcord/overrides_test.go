package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord/engine"
)

// overridesPlanYAML is the audit plan with launch overrides for the
// database tier: right-sizing and tags differ from the simulator's
// defaults (BASIC, false), disposition does not (STARTED), and db2 also
// gets its private IP.
var overridesPlanYAML = strings.Replace(strings.Replace(auditPlanYAML, "%s", "stop", 1),
	"    selector: {Application: orders, Tier: database}\n",
	"    selector: {Application: orders, Tier: database}\n"+
		"    launch: {disposition: STARTED, rightSizing: NONE, copyTags: true}\n"+
		"    serverLaunch:\n      "+auditDB2+": {copyPrivateIp: true}\n", 1)

// TestOverridesDryRunThenDrill: ripcord overrides shows per server what
// would change and changes nothing (no UpdateLaunchConfiguration reaches
// the simulator); a drill then changes exactly that, exec show and the
// report list it, and the dry run then finds nothing to change.
func TestOverridesDryRunThenDrill(t *testing.T) {
	c := newAuditEnv(t)
	path := filepath.Join(t.TempDir(), "overrides.yaml")
	writeFile(t, path, overridesPlanYAML)

	out, _ := exits(t, c, 0, true, "overrides", "-f", path)
	for _, want := range []string{
		"plan audit: 2 servers with launch overrides, 2 would change before launch (this command changes nothing)",
		auditDB1 + "  dr      targetInstanceTypeRightSizingMethod  BASIC    NONE",
		auditDB2 + "  dr      copyPrivateIp                        false    true",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("overrides output lacks %q:\n%s", want, out)
		}
	}
	js, _ := exits(t, c, 0, true, "overrides", "-f", path, "--output", "json")
	var got struct {
		Plan    string              `json:"plan"`
		Servers []engine.LaunchDiff `json:"servers"`
	}
	if err := json.Unmarshal([]byte(js), &got); err != nil || len(got.Servers) != 2 || len(got.Servers[0].Changes) != 2 || len(got.Servers[1].Changes) != 3 {
		t.Errorf("overrides --output json: %v\n%s", err, js)
	}
	if n := c.sim.OperationCounts()["UpdateLaunchConfiguration"]; n != 0 {
		t.Fatalf("the dry run sent %d UpdateLaunchConfiguration requests", n)
	}

	exits(t, c, 0, true, "run", "-f", path, "--drill", "--id", "drill-1")
	if n := c.sim.OperationCounts()["UpdateLaunchConfiguration"]; n != 2 {
		t.Errorf("the drill sent %d UpdateLaunchConfiguration requests, want 2", n)
	}
	show, _ := exits(t, c, 0, true, "exec", "show", "drill-1")
	for _, want := range []string{
		"Launch configuration changes (the plan's launch overrides, applied in DRS before launch):",
		"server " + auditDB2 + " (target dr): targetInstanceTypeRightSizingMethod BASIC → NONE, copyPrivateIp false → true, copyTags false → true",
		"launch configuration update recorded before calling UpdateLaunchConfiguration",
	} {
		if !strings.Contains(show, want) {
			t.Errorf("exec show lacks %q:\n%s", want, show)
		}
	}
	md, _ := exits(t, c, 0, false, "report", "drill-1", "--format", "md", "--db", c.db)
	if !strings.Contains(md, "## Launch configuration changes") || !strings.Contains(md, "| "+auditDB1+" | dr | copyTags | false | true |") {
		t.Errorf("report lacks the launch configuration changes:\n%s", md)
	}

	out, _ = exits(t, c, 0, true, "overrides", "-f", path)
	if !strings.Contains(out, "0 would change") || strings.Count(out, "(as the plan says)") != 2 {
		t.Errorf("overrides after the drill:\n%s", out)
	}
}

// TestOverridesBadValues: a bad override value is invalid input (exit 2)
// with its position and a fix, before DRS is asked anything.
func TestOverridesBadValues(t *testing.T) {
	c := newAuditEnv(t)
	path := filepath.Join(t.TempDir(), "bad.yaml")
	writeFile(t, path, strings.Replace(overridesPlanYAML, "disposition: STARTED", "disposition: started", 1))
	before := simRequests(c)
	for _, args := range [][]string{{"overrides", "-f", path}, {"run", "-f", path, "--drill"}} {
		_, errOut := exits(t, c, 2, true, args...)
		if !strings.Contains(errOut, `bad.yaml:9:`) || !strings.Contains(errOut, `disposition "started" of launch of protection group "db" is not a launch disposition`) ||
			!strings.Contains(errOut, `did you mean "STARTED"?`) {
			t.Errorf("ripcord %s: stderr\n%s", args[0], errOut)
		}
	}
	if n := simRequests(c) - before; n != 0 {
		t.Errorf("%d DRS requests for an invalid plan", n)
	}
}
