package main

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// mintToken makes a token of role in the env's store.
func (c *cliEnv) mintToken(role string) string {
	c.t.Helper()
	out, errOut, code := c.ripcord("token", "create", "--db", c.db, "--role", role, "--name", role+"-person")
	if code != 0 {
		c.t.Fatalf("token create: exit %d: %s", code, errOut)
	}
	return strings.TrimSpace(out)
}

// TestRemoteFlags: the server connection is checked before anything is
// sent: an http(s) URL, https to anything but loopback unless --insecure,
// a token, and no flag of the local store or DRS connection.
func TestRemoteFlags(t *testing.T) {
	c := newCLIEnv(t)
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"exec", "list", "--server", "http://10.0.0.1:8080", "--token", "t"}, "over plain http"},
		{nil, []string{"exec", "list", "--server", "http://ripcord.example.com", "--token", "t"}, "over plain http"},
		{nil, []string{"exec", "list", "--server", "ftp://127.0.0.1", "--token", "t"}, "not an http(s) URL"},
		{nil, []string{"exec", "list", "--server", "http://127.0.0.1:1"}, "ripcord token create"},
		{nil, []string{"exec", "list", "--server", "http://127.0.0.1:1", "--token", "t", "--db", c.db}, "--db does not go with --server"},
		{nil, []string{"run", "orders", "--drill", "--server", "http://127.0.0.1:1", "--token", "t", "--endpoint-url", c.url}, "--endpoint-url does not go with --server"},
		{nil, []string{"exec", "watch", "x", "--server", "http://127.0.0.1:1", "--token", "t", "--every", "1s"}, "--every does not go with --server"},
		{map[string]string{envServer: "http://127.0.0.1:1", envToken: "t"}, []string{"exec", "show", "x", "--region", "us-east-1"}, "--region does not go with --server"},
		{nil, []string{"exec", "list", "--token", "t", "--db", c.db}, "give --server URL"},
		{map[string]string{envToken: "t"}, []string{"run", "--drill", "--server", "http://127.0.0.1:1"}, "name the plan to run"},
	} {
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		_, errOut, code := c.ripcord(tc.args...)
		if code != exitInvalid || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v (env %v): exit %d, %q; want 2 saying %q", tc.args, tc.env, code, errOut, tc.want)
		}
		for k := range tc.env {
			t.Setenv(k, "")
		}
	}
	// --insecure lets plain http reach a LAN address (here nothing
	// listens: the connection fails, exit 1, after the checks passed).
	_, errOut, code := c.ripcord("exec", "list", "--server", "http://127.0.0.2:1", "--token", "t")
	if code != 1 || !strings.Contains(errOut, "check that the server is running") {
		t.Errorf("a server that does not answer: exit %d, %q; want 1", code, errOut)
	}
}

// TestRemoteRunDrill: `ripcord run --server` with an operator token starts
// the plan an admin saved and follows it to its end; exec list and exec
// show through the server say what the local store says; refusals of the
// server map to exit 2 with its hint.
func TestRemoteRunDrill(t *testing.T) {
	c := newCLIEnv(t)
	admin, operator, viewer := c.mintToken("admin"), c.mintToken("operator"), c.mintToken("viewer")
	base, _ := startServe(t, c)
	srv := func(args ...string) []string { return append(args, "--server", base) }

	// Saving a plan file needs an admin.
	t.Setenv(envToken, operator)
	_, errOut, code := c.ripcord(srv("run", "-f", "../../examples/three-tier.yaml", "--drill")...)
	if code != exitInvalid || !strings.Contains(errOut, "needs an admin token") {
		t.Fatalf("run -f with an operator token: exit %d, %s", code, errOut)
	}
	// An admin saves it (run -f with --token: the flag wins over the
	// environment), and the operator runs it.
	out, errOut, code := c.ripcord(srv("run", "-f", "../../examples/three-tier.yaml", "--drill", "--token", admin, "--output", "json", "--cleanup-after", "1ms")...)
	if code != 0 {
		t.Fatalf("run -f as admin: exit %d\n%s\n%s", code, out, errOut)
	}
	var sum execSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if sum.State != "succeeded" || sum.Launched != 6 || !sum.CleanupDone || sum.CleanupInstance != 6 || sum.APICalls == 0 {
		t.Errorf("summary of the drill with cleanup: %+v", sum)
	}
	out, errOut, code = c.ripcord(srv("run", "orders", "--drill")...)
	if code != 0 || !strings.Contains(out, "driven by the server at "+base) || !strings.Contains(out, "plan orders (drill), SUCCEEDED") ||
		!strings.Contains(out, "6 of 6 servers launched") || !strings.Contains(out, "step web") {
		t.Fatalf("run orders --drill --server: exit %d\n%s\n%s", code, out, errOut)
	}
	id := strings.Fields(strings.TrimPrefix(out, "execution "))[0]
	id = strings.TrimSuffix(id, ":")

	// exec list and exec show: the same through the server as locally.
	local, _, code1 := c.ripcord("exec", "list", "--output", "json", "--db", c.db)
	remote, errOut, code2 := c.ripcord(srv("exec", "list", "--output", "json")...)
	if code1 != 0 || code2 != 0 || local != remote {
		t.Errorf("exec list: local (exit %d)\n%s\nthrough the server (exit %d, %s)\n%s", code1, local, code2, errOut, remote)
	}
	for _, format := range []string{"text", "json"} {
		local, _, code1 = c.ripcord("exec", "show", id, "--output", format, "--db", c.db)
		remote, errOut, code2 = c.ripcord(srv("exec", "show", id, "--output", format)...)
		if code1 != 0 || code2 != 0 || local != remote || !strings.Contains(local, "s-3c1730a9e0771ea14") {
			t.Errorf("exec show --output %s: local (exit %d)\n%s\nthrough the server (exit %d, %s)\n%s", format, code1, local, code2, errOut, remote)
		}
	}
	// exec watch of an ended execution: its summary and exit status.
	out, _, code = c.ripcord(srv("exec", "watch", id)...)
	if code != 0 || !strings.Contains(out, "SUCCEEDED") {
		t.Errorf("exec watch: exit %d\n%s", code, out)
	}

	// cleanup through the server: it terminates the drill's instances and
	// follows until they are verified gone.
	out, errOut, code = c.ripcord(srv("cleanup", id)...)
	if code != 0 || !strings.Contains(out, "cleanup: 6 drill instances terminated and verified gone") {
		t.Errorf("cleanup --server: exit %d\n%s\n%s", code, out, errOut)
	}

	for _, tc := range []struct {
		token string
		args  []string
		want  []string
	}{
		{viewer, []string{"run", "orders", "--drill"}, []string{"needs role operator", "ask an admin for a token with role operator"}},
		{viewer, []string{"exec", "pause", id}, []string{"needs role operator", "ask an admin"}},
		{"rc_nonsense", []string{"exec", "list"}, []string{"the server refused the token", "check the token in RIPCORD_TOKEN"}},
		{operator, []string{"exec", "pause", id}, []string{"has ended"}},
		{operator, []string{"exec", "show", "no-such-exec"}, []string{"no-such-exec"}},
		{operator, []string{"exec", "skip", id, "nosuchstep"}, nil},
	} {
		t.Setenv(envToken, tc.token)
		_, errOut, code := c.ripcord(srv(tc.args...)...)
		if code != exitInvalid {
			t.Errorf("%v: exit %d, %s; want 2", tc.args, code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%v: %q lacks %q", tc.args, errOut, w)
			}
		}
	}
	// Nothing the refusals asked for was done: still the two drills.
	x, _, _ := c.ripcord("exec", "list", "--output", "json", "--db", c.db)
	var rows []execRow
	if err := json.Unmarshal([]byte(x), &rows); err != nil || len(rows) != 2 {
		t.Errorf("executions after the refusals: %v\n%s", err, x)
	}
}

// TestRemoteControl: pause, resume, skip and cancel through --server on
// executions held deterministically: a foreign job holds the web servers
// far longer than the test, and the plan waits for it (conflictDeadline).
func TestRemoteControl(t *testing.T) {
	c := newCLIEnv(t)
	admin, operator := c.mintToken("admin"), c.mintToken("operator")
	base, _ := startServe(t, c)
	ctx := boundedContext(t)
	ac, _ := client.New(base, admin)
	oc, _ := client.New(base, operator)
	src, err := os.ReadFile("../../examples/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	held := strings.Replace(string(src), "conflictDeadline: 15m", "conflictDeadline: 100000h", 1)
	if _, err := ac.SavePlans(ctx, "held.yaml", []byte(held)); err != nil {
		t.Fatal(err)
	}
	c.holdServers(drssim.Fault{Kind: drssim.FaultHoldServers, Servers: []string{"s-3578f52ef3bdd58b4", "s-3b9401c1cd270a7a8"},
		For: drssim.Duration(50000 * time.Hour)})
	t.Setenv(envToken, operator)
	srv := func(args ...string) []string { return append(args, "--server", base) }

	// waitFor follows execution id until an event of type typ.
	waitFor := func(id, typ string) {
		t.Helper()
		found := errors.New("found")
		if err := oc.Follow(ctx, id, 0, func(ev ripcord.Event) error {
			if ev.Type == typ {
				return found
			}
			return nil
		}); !errors.Is(err, found) {
			t.Fatalf("waiting for %s of %s: %v", typ, id, err)
		}
	}

	// Pause a drill blocked by the hold, watch it settle paused (exit 5),
	// resume it (exec resume follows it), and skip the held step once the
	// resume is recorded: it ends succeeded with exceptions.
	x, err := oc.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(x.ID, engine.EvServersBlocked)
	out, errOut, code := c.ripcord(srv("exec", "pause", x.ID)...)
	if code != 0 || !strings.Contains(out, "pause: recorded for execution "+x.ID+" by the server") {
		t.Fatalf("exec pause: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = c.ripcord(srv("exec", "watch", x.ID)...)
	if code != exitPaused || !strings.Contains(out, "PAUSED") {
		t.Fatalf("exec watch of the paused drill: exit %d\n%s\n%s", code, out, errOut)
	}
	type result struct {
		out, errOut string
		code        int
	}
	resumed := make(chan result, 1)
	go func() {
		out, errOut, code := c.ripcord(srv("exec", "resume", x.ID)...)
		resumed <- result{out, errOut, code}
	}()
	waitFor(x.ID, engine.EvExecutionResumed)
	out, errOut, code = c.ripcord(srv("exec", "skip", x.ID, "web")...)
	if code != 0 {
		t.Fatalf("exec skip: exit %d\n%s\n%s", code, out, errOut)
	}
	r := <-resumed
	if r.code != 0 || !strings.Contains(r.out, "SUCCEEDED WITH EXCEPTIONS") || !strings.Contains(r.out, "4 of 6 servers launched") {
		t.Errorf("exec resume: exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	d, err := oc.Execution(ctx, x.ID)
	if err != nil || d.Execution.State != ripcord.ExecSucceeded {
		t.Errorf("the drill after the skip: %+v, %v", d.Execution, err)
	}

	// Cancel another one while it is held: exec watch says cancelled (4).
	y, err := oc.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(y.ID, engine.EvServersBlocked)
	out, errOut, code = c.ripcord(srv("exec", "cancel", y.ID)...)
	if code != 0 {
		t.Fatalf("exec cancel: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = c.ripcord(srv("exec", "watch", y.ID)...)
	if code != exitCancelled || !strings.Contains(out, "CANCELLED") {
		t.Errorf("exec watch of the cancelled drill: exit %d\n%s\n%s", code, out, errOut)
	}
	// A control its state does not allow is refused (exit 2); resume, as
	// locally, follows the ended execution and exits by its outcome.
	_, errOut, code = c.ripcord(srv("exec", "pause", y.ID)...)
	if code != exitInvalid || !strings.Contains(errOut, "has ended") {
		t.Errorf("exec pause of a cancelled drill: exit %d, %s", code, errOut)
	}
	_, errOut, code = c.ripcord(srv("exec", "resume", y.ID)...)
	if code != exitCancelled {
		t.Errorf("exec resume of a cancelled drill: exit %d, %s", code, errOut)
	}
}
