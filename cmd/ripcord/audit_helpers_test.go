package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord/drssim"
)

// Servers of the simulator's three-tier scenario used by the audit tests.
const (
	auditDB1  = "s-3c1730a9e0771ea14"
	auditDB2  = "s-3d75cdc0d9a28a725"
	auditApp1 = "s-3afa164776f93ce4f"
	auditApp2 = "s-3c63bb8be30d7d071"
)

// auditPlanYAML is two waves of the three-tier application, database then
// app, with a failure policy to fill in.
const auditPlanYAML = `targets:
  - name: dr
    account: "111122223333"
    region: us-east-1
protectionGroups:
  - name: db
    target: dr
    selector: {Application: orders, Tier: database}
  - name: app
    target: dr
    selector: {Application: orders, Tier: app}
plans:
  - name: audit
    rto: 45m
    failurePolicy: %s
    waves:
      - name: database
        groups: [db]
      - name: app
        groups: [app]
`

// newAuditEnv is newCLIEnv with STS served by the simulator as well: run
// and exec resume check each target's account with GetCallerIdentity
// before launching anything.
func newAuditEnv(t *testing.T) *cliEnv {
	t.Helper()
	c := newCLIEnv(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", c.url)
	return c
}

// auditPlan writes the two-wave plan with the failure policy (stop, pause
// or continue) and returns its path.
func auditPlan(t *testing.T, policy string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit-"+policy+".yaml")
	writeFile(t, path, fmt.Sprintf(auditPlanYAML, policy))
	return path
}

// failNextLaunch makes server's next launch fail at the launch stage.
func failNextLaunch(t *testing.T, c *cliEnv, server string) {
	t.Helper()
	if _, err := c.sim.AddFault(drssim.Fault{Kind: drssim.FaultFailServer, Servers: []string{server}, Stage: "launch",
		Message: "insufficient capacity for the instance type"}); err != nil {
		t.Fatal(err)
	}
}

// exits runs ripcord with args (and, when withConn, the connection flags
// of c) and fails the test unless it exits with want. It returns stdout
// and stderr.
func exits(t *testing.T, c *cliEnv, want int, withConn bool, args ...string) (string, string) {
	t.Helper()
	if withConn {
		args = append(args, c.conn()...)
	}
	out, errOut, code := c.ripcord(args...)
	if code != want {
		t.Fatalf("ripcord %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out, errOut
}

// simRequests is how many DRS requests the simulator has answered, all
// operations together.
func simRequests(c *cliEnv) int64 {
	var n int64
	for _, v := range c.sim.OperationCounts() {
		n += v
	}
	return n
}
