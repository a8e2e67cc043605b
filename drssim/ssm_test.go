package drssim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func (e *testEnv) ssmClient(key, region string) *ssm.Client {
	return ssm.New(ssm.Options{Region: region, BaseEndpoint: aws.String(e.srv.URL), RetryMaxAttempts: 1,
		HTTPClient:  safeBodyClient{e.srv.Client()},
		Credentials: credentials.NewStaticCredentialsProvider(key, "secret", "")})
}

func intp(v int) *int { return &v }

// ssmScenario is three-tier with SSM documents: a health check that
// prints, a promotion that fails with code 3, a script that never ends,
// and two automations.
func ssmScenario(t *testing.T) *Scenario {
	t.Helper()
	sc := behThreeTier(t)
	sc.SSM = &SSMSpec{
		Commands: map[string]SSMOutcome{
			"health-check":       {Output: "healthy\n", Duration: DurRange{Duration(10 * time.Second), Duration(10 * time.Second)}},
			"promote-db":         {Status: ssmFailed, ExitCode: intp(3), Error: "replica lag too high\n"},
			"hang":               {Status: ssmTimedOut},
			"AWS-RunShellScript": {Output: "done\n", Duration: DurRange{Duration(20 * time.Second), Duration(20 * time.Second)}},
		},
		Automations: map[string]SSMOutcome{
			"switch-dns":  {Outputs: map[string][]string{"record": {"orders.example.com"}}, Duration: DurRange{Duration(time.Minute), Duration(time.Minute)}},
			"promote-rds": {Status: ssmFailed, Error: "Step promote failed: DBInstanceNotFound"},
		},
	}
	return sc
}

// ssmReady drills the servers and advances until each instance's SSM
// agent is online; it returns the instances in the servers' order.
func ssmReady(t *testing.T, e *testEnv, servers ...string) []string {
	t.Helper()
	behWaitSeed(t, e)
	j := behStart(t, e, true, servers...)
	behWaitJob(t, e, aws.ToString(j.JobID))
	var ids []string
	var latest time.Time
	for _, s := range servers {
		id := aws.ToString(behServer(t, e, s).RecoveryInstanceId)
		ids = append(ids, id)
		latest = later(latest, behModelInstance(t, e, id).EC2.AgentOnline)
	}
	e.clock.Set(latest)
	return ids
}

func invocation(t *testing.T, c *ssm.Client, cmd, inst string) *ssm.GetCommandInvocationOutput {
	t.Helper()
	out, err := c.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: aws.String(cmd), InstanceId: aws.String(inst)})
	if err != nil {
		t.Fatalf("GetCommandInvocation(%s, %s): %v", cmd, inst, err)
	}
	return out
}

// TestSSMRunCommandSDK: a command sent to a recovery instance before its
// agent registers is refused (InvalidInstanceId); once online it goes
// Pending, InProgress and Success with the document's output at the times
// the model decided; a failing document ends Failed with its code and
// error; a script past its executionTimeout TimedOut; a fail-ssm fault
// fails one invocation. Everything shows in /_sim/state.
func TestSSMRunCommandSDK(t *testing.T) {
	e := newTestEnv(t, ssmScenario(t))
	c := e.ssmClient("AKIDTESTDEFAULT", "us-east-1")
	behWaitSeed(t, e)
	j := behStart(t, e, true, web1, db1)
	behWaitJob(t, e, aws.ToString(j.JobID))
	web, db := aws.ToString(behServer(t, e, web1).RecoveryInstanceId), aws.ToString(behServer(t, e, db1).RecoveryInstanceId)
	agent := behModelInstance(t, e, web).EC2.AgentOnline
	if e.clock.Now().Before(agent) {
		_, err := c.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("health-check"), InstanceIds: []string{web}})
		if ae := apiCode(t, err, "InvalidInstanceId"); !strings.Contains(ae.ErrorMessage(), web) {
			t.Fatalf("InvalidInstanceId message %q does not name %s", ae.ErrorMessage(), web)
		}
	}
	ssmReadyAt := later(agent, behModelInstance(t, e, db).EC2.AgentOnline)
	e.clock.Set(ssmReadyAt)

	sent, err := c.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("health-check"), InstanceIds: []string{web},
		Comment: aws.String("ripcord check"), Parameters: map[string][]string{"port": {"443"}}})
	if err != nil {
		t.Fatal(err)
	}
	cmd := aws.ToString(sent.Command.CommandId)
	if len(cmd) != 36 || sent.Command.Status != types.CommandStatusPending || aws.ToString(sent.Command.Comment) != "ripcord check" ||
		!sent.Command.RequestedDateTime.Equal(e.clock.Now().Truncate(time.Millisecond)) {
		t.Fatalf("SendCommand: %+v", sent.Command)
	}
	inv := invocation(t, c, cmd, web)
	if inv.Status != types.CommandInvocationStatusPending || inv.ResponseCode != -1 || aws.ToString(inv.StandardOutputContent) != "" {
		t.Fatalf("just sent: %s code %d", inv.Status, inv.ResponseCode)
	}
	view := ssmCommandView(t, e, cmd)
	e.clock.Set(view.Invocations[0].Started)
	if inv = invocation(t, c, cmd, web); inv.Status != types.CommandInvocationStatusInProgress || aws.ToString(inv.ExecutionStartDateTime) == "" {
		t.Fatalf("at its start: %s (started %q), want InProgress", inv.Status, aws.ToString(inv.ExecutionStartDateTime))
	}
	if d := view.Invocations[0].Ends.Sub(view.Invocations[0].Started); d != 10*time.Second {
		t.Fatalf("runs %s, want the scenario's 10s", d)
	}
	e.clock.Set(view.Invocations[0].Ends.Add(-time.Microsecond))
	if inv = invocation(t, c, cmd, web); inv.Status != types.CommandInvocationStatusInProgress {
		t.Fatalf("just before its end: %s", inv.Status)
	}
	e.clock.Set(view.Invocations[0].Ends)
	inv = invocation(t, c, cmd, web)
	if inv.Status != types.CommandInvocationStatusSuccess || inv.ResponseCode != 0 || aws.ToString(inv.StandardOutputContent) != "healthy\n" ||
		aws.ToString(inv.ExecutionElapsedTime) != "PT10.000S" || aws.ToString(inv.PluginName) != "aws:runShellScript" {
		t.Fatalf("at its end: %s code %d out %q elapsed %s plugin %s", inv.Status, inv.ResponseCode,
			aws.ToString(inv.StandardOutputContent), aws.ToString(inv.ExecutionElapsedTime), aws.ToString(inv.PluginName))
	}

	// A failing document, and one that never ends.
	fail, err := c.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("promote-db"), InstanceIds: []string{db}})
	if err != nil {
		t.Fatal(err)
	}
	hang, err := c.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("hang"), InstanceIds: []string{db, web},
		Parameters: map[string][]string{"executionTimeout": {"600"}}})
	if err != nil {
		t.Fatal(err)
	}
	e.advanceUntil(time.Hour, func() bool {
		return ssmCommandView(t, e, aws.ToString(hang.Command.CommandId)).Status == ssmTimedOut
	})
	inv = invocation(t, c, aws.ToString(fail.Command.CommandId), db)
	if inv.Status != types.CommandInvocationStatusFailed || inv.ResponseCode != 3 || aws.ToString(inv.StandardErrorContent) != "replica lag too high\n" {
		t.Fatalf("promote-db: %s code %d stderr %q, want Failed 3", inv.Status, inv.ResponseCode, aws.ToString(inv.StandardErrorContent))
	}
	inv = invocation(t, c, aws.ToString(hang.Command.CommandId), web)
	if inv.Status != types.CommandInvocationStatusTimedOut || aws.ToString(inv.StatusDetails) != "ExecutionTimedOut" || aws.ToString(inv.ExecutionElapsedTime) != "PT600.000S" {
		t.Fatalf("hang: %s (%s) after %s, want TimedOut after 600 s", inv.Status, aws.ToString(inv.StatusDetails), aws.ToString(inv.ExecutionElapsedTime))
	}

	// A fail-ssm fault fails the next invocation of the document on that
	// server's instance only, once.
	if _, err := e.sim.AddFault(Fault{Kind: FaultFailSSM, Document: "AWS-RunShellScript", Servers: []string{db1}, ExitCode: 127, Message: "command not found"}); err != nil {
		t.Fatal(err)
	}
	both, err := c.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{web, db},
		Parameters: map[string][]string{"commands": {"systemctl is-active orders"}}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{db}})
	if err != nil {
		t.Fatal(err)
	}
	e.advanceUntil(time.Hour, func() bool {
		return ssmCommandView(t, e, aws.ToString(again.Command.CommandId)).Status != ssmInProgress &&
			ssmCommandView(t, e, aws.ToString(both.Command.CommandId)).Status != ssmInProgress &&
			ssmCommandView(t, e, aws.ToString(again.Command.CommandId)).Status != ssmPending
	})
	bothID := aws.ToString(both.Command.CommandId)
	if w, d := invocation(t, c, bothID, web), invocation(t, c, bothID, db); w.Status != types.CommandInvocationStatusSuccess ||
		aws.ToString(w.StandardOutputContent) != "done\n" || d.Status != types.CommandInvocationStatusFailed || d.ResponseCode != 127 ||
		aws.ToString(d.StandardErrorContent) != "command not found" {
		t.Fatalf("with the fault: web %s %q, db %s %d %q", w.Status, aws.ToString(w.StandardOutputContent), d.Status, d.ResponseCode, aws.ToString(d.StandardErrorContent))
	}
	if st := ssmCommandView(t, e, bothID).Status; st != ssmFailed {
		t.Fatalf("command status with one failed invocation: %s, want Failed", st)
	}
	if d := invocation(t, c, aws.ToString(again.Command.CommandId), db); d.Status != types.CommandInvocationStatusSuccess {
		t.Fatalf("after the fault was used: %s, want Success", d.Status)
	}
	if n := len(ssmRegion(t, e).Commands); n != 5 {
		t.Fatalf("/_sim/state has %d commands, want 5", n)
	}
}

// ssmRegion reads /_sim/state over HTTP, the default account and region.
func ssmRegion(t *testing.T, e *testEnv) RegionView {
	t.Helper()
	resp, err := e.srv.Client().Get(e.srv.URL + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st StateView
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Regions {
		if r.Account == behAccount && r.Region == behRegion {
			return r
		}
	}
	t.Fatal("default region not in /_sim/state")
	return RegionView{}
}

func ssmCommandView(t *testing.T, e *testEnv, id string) CommandView {
	t.Helper()
	for _, c := range ssmRegion(t, e).Commands {
		if c.CommandID == id {
			return c
		}
	}
	t.Fatalf("command %s not in /_sim/state", id)
	return CommandView{}
}

// TestSSMAutomationSDK: automations run Pending, InProgress, then the
// scenario's outcome, with outputs or a failure message; a fail-ssm fault
// fails one execution.
func TestSSMAutomationSDK(t *testing.T) {
	e := newTestEnv(t, ssmScenario(t))
	c := e.ssmClient("AKIDTESTDEFAULT", "us-east-1")
	get := func(id string) *types.AutomationExecution {
		t.Helper()
		out, err := c.GetAutomationExecution(ctx(t), &ssm.GetAutomationExecutionInput{AutomationExecutionId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetAutomationExecution(%s): %v", id, err)
		}
		return out.AutomationExecution
	}
	start := func(doc string) string {
		t.Helper()
		out, err := c.StartAutomationExecution(ctx(t), &ssm.StartAutomationExecutionInput{DocumentName: aws.String(doc),
			Parameters: map[string][]string{"Zone": {"example.com"}}})
		if err != nil {
			t.Fatalf("StartAutomationExecution(%s): %v", doc, err)
		}
		return aws.ToString(out.AutomationExecutionId)
	}
	ok := start("switch-dns")
	if a := get(ok); a.AutomationExecutionStatus != types.AutomationExecutionStatusPending || a.ExecutionEndTime != nil ||
		a.Parameters["Zone"][0] != "example.com" || aws.ToString(a.ExecutedBy) != "arn:aws:iam::111122223333:user/AKIDTESTDEFAULT" {
		t.Fatalf("just started: %+v", a)
	}
	var v AutomationView
	for _, a := range ssmRegion(t, e).Automations {
		if a.ExecutionID == ok {
			v = a
		}
	}
	if v.Ends.Sub(v.Runs) != time.Minute {
		t.Fatalf("/_sim/state automation %+v: want the scenario's one minute", v)
	}
	e.clock.Set(v.Runs)
	if a := get(ok); a.AutomationExecutionStatus != types.AutomationExecutionStatusInprogress || len(a.Outputs) != 0 {
		t.Fatalf("running: %s outputs %v", a.AutomationExecutionStatus, a.Outputs)
	}
	e.clock.Set(v.Ends)
	if a := get(ok); a.AutomationExecutionStatus != types.AutomationExecutionStatusSuccess || a.Outputs["record"][0] != "orders.example.com" ||
		!a.ExecutionEndTime.Equal(v.Ends.Truncate(time.Millisecond)) {
		t.Fatalf("ended: %s outputs %v end %v", a.AutomationExecutionStatus, a.Outputs, a.ExecutionEndTime)
	}

	bad := start("promote-rds")
	if _, err := e.sim.AddFault(Fault{Kind: FaultFailSSM, Document: "switch-dns", Outcome: ssmTimedOut}); err != nil {
		t.Fatal(err)
	}
	timed := start("switch-dns")
	fine := start("switch-dns")
	e.advance(time.Hour)
	if a := get(bad); a.AutomationExecutionStatus != types.AutomationExecutionStatusFailed || aws.ToString(a.FailureMessage) != "Step promote failed: DBInstanceNotFound" {
		t.Fatalf("promote-rds: %s %q", a.AutomationExecutionStatus, aws.ToString(a.FailureMessage))
	}
	if a := get(timed); a.AutomationExecutionStatus != types.AutomationExecutionStatusTimedout || len(a.Outputs) != 0 {
		t.Fatalf("faulted switch-dns: %s outputs %v, want TimedOut without outputs", a.AutomationExecutionStatus, a.Outputs)
	}
	if a := get(fine); a.AutomationExecutionStatus != types.AutomationExecutionStatusSuccess {
		t.Fatalf("switch-dns after the fault was used: %s", a.AutomationExecutionStatus)
	}
	// Automations are regional: another region has none of them.
	_, err := e.ssmClient("AKIDTESTDEFAULT", "us-west-2").GetAutomationExecution(ctx(t), &ssm.GetAutomationExecutionInput{AutomationExecutionId: aws.String(ok)})
	apiCode(t, err, "AutomationExecutionNotFoundException")
}

// TestSSMErrors: SSM's error codes, as the SDK parses them.
func TestSSMErrors(t *testing.T) {
	e := newTestEnv(t, ssmScenario(t))
	c := e.ssmClient("AKIDTESTDEFAULT", "us-east-1")
	ids := ssmReady(t, e, web1)
	sent, err := c.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("health-check"), InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	cmd := aws.ToString(sent.Command.CommandId)
	// msg "": SSM's model gives the error no message member, so the SDK
	// shows none (the body carries one for other clients, such as the CLI).
	for _, tt := range []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"unknown instance", func() error {
			_, err := c.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("health-check"), InstanceIds: []string{ids[0], "i-0123456789abcdef0"}})
			return err
		}, "InvalidInstanceId", "Instances [[i-0123456789abcdef0]] not in a valid state for account 111122223333"},
		{"malformed instance", func() error {
			_, err := c.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("health-check"), InstanceIds: []string{"web-1"}})
			return err
		}, "ValidationException", "instanceIds"},
		{"unknown document", func() error {
			_, err := c.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("no-such-doc"), InstanceIds: ids})
			return err
		}, "InvalidDocument", "no-such-doc"},
		{"targets", func() error {
			_, err := c.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("health-check"),
				Targets: []types.Target{{Key: aws.String("tag:Tier"), Values: []string{"web"}}}})
			return err
		}, "InvalidParameters", "InstanceIds"},
		{"delivery timeout", func() error {
			_, err := c.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("health-check"), InstanceIds: ids, TimeoutSeconds: aws.Int32(10)})
			return err
		}, "ValidationException", "timeoutSeconds"},
		{"unknown command", func() error {
			_, err := c.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: aws.String("00000000-0000-4000-8000-000000000000"), InstanceId: aws.String(ids[0])})
			return err
		}, "InvocationDoesNotExist", ""},
		{"other instance", func() error {
			_, err := c.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: aws.String(cmd), InstanceId: aws.String("i-0123456789abcdef0")})
			return err
		}, "InvocationDoesNotExist", ""},
		{"short command ID", func() error {
			_, err := c.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: aws.String("abc"), InstanceId: aws.String(ids[0])})
			return err
		}, "ValidationException", "commandId"},
		{"not a UUID", func() error {
			_, err := c.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: aws.String(strings.Repeat("z", 36)), InstanceId: aws.String(ids[0])})
			return err
		}, "InvalidCommandId", ""},
		{"wrong plugin", func() error {
			_, err := c.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: aws.String(cmd), InstanceId: aws.String(ids[0]), PluginName: aws.String("aws:runPowerShellScript")})
			return err
		}, "InvalidPluginName", ""},
		{"unknown automation document", func() error {
			_, err := c.StartAutomationExecution(ctx(t), &ssm.StartAutomationExecutionInput{DocumentName: aws.String("AWS-RestartEC2Instance")})
			return err
		}, "AutomationDefinitionNotFoundException", "AWS-RestartEC2Instance"},
		{"unknown execution", func() error {
			_, err := c.GetAutomationExecution(ctx(t), &ssm.GetAutomationExecutionInput{AutomationExecutionId: aws.String(cmd)})
			return err
		}, "AutomationExecutionNotFoundException", cmd},
		{"unmodelled operation", func() error {
			_, err := c.ListCommands(ctx(t), &ssm.ListCommandsInput{})
			return err
		}, "UnknownOperationException", "ListCommands"},
	} {
		ae := apiCode(t, tt.call(), tt.code)
		if !strings.Contains(ae.ErrorMessage(), tt.msg) {
			t.Errorf("%s: message %q does not contain %q", tt.name, ae.ErrorMessage(), tt.msg)
		}
	}
	// A failed refusal sends nothing.
	if n := len(ssmRegion(t, e).Commands); n != 1 {
		t.Fatalf("%d commands after refused requests, want 1", n)
	}
}

// TestSSMScenarioAndFaultValidation: mistakes in the ssm: section and in
// the new faults are named.
func TestSSMScenarioAndFaultValidation(t *testing.T) {
	// The example of docs/drssim.md parses.
	sc, err := ParseScenario([]byte(`
name: x
defaultAccount: "111122223333"
ssm:
  commands:
    health-check: {output: "healthy\n", duration: 10s}
    promote-db: {status: Failed, exitCode: 3, error: "replica lag too high\n", duration: [5s, 20s]}
  automations:
    switch-dns: {outputs: {record: [orders.example.com]}, duration: 1m}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c := sc.SSM.Commands["promote-db"]; c.Status != ssmFailed || c.ExitCode == nil || *c.ExitCode != 3 || c.Duration.Max.D() != 20*time.Second ||
		sc.SSM.Commands["health-check"].Duration.Min.D() != 10*time.Second || sc.SSM.Automations["switch-dns"].Outputs["record"][0] != "orders.example.com" {
		t.Fatalf("parsed ssm: %+v", sc.SSM)
	}
	_, err = ParseScenario([]byte(`
name: x
defaultAccount: "111122223333"
ssm:
  commands:
    ok: {status: Done}
  automations:
    promote: {exitCode: 2}
`))
	for _, want := range []string{`ssm.commands[ok]: document name must be 3 to 128`, `status "Done" must be Success, Failed or TimedOut`,
		`ssm.automations[promote]: exitCode is for commands`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	e := newTestEnv(t, nil)
	for _, tt := range []struct {
		f    Fault
		want string
	}{
		{Fault{Kind: FaultImpairInstance}, "needs servers"},
		{Fault{Kind: FaultImpairInstance, Instances: []string{"web-1"}}, `instance "web-1" is not an instance ID`},
		{Fault{Kind: FaultImpairInstance, Servers: []string{web1}, Check: "disk"}, `check "disk" must be instance or system`},
		{Fault{Kind: FaultFailSSM}, "fail-ssm needs document"},
		{Fault{Kind: FaultFailSSM, Document: "x-doc", Outcome: "Cancelled"}, `outcome "Cancelled" must be Failed or TimedOut`},
	} {
		if _, err := e.sim.AddFault(tt.f); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("AddFault(%+v): %v, want %q", tt.f, err, tt.want)
		}
	}
}

// TestSSMGetCommandInvocationCLI: the AWS CLI sends a command and reads
// its invocation through --endpoint-url.
func TestSSMGetCommandInvocationCLI(t *testing.T) {
	cli := awsCLIPath(t)
	e := newTestEnv(t, ssmScenario(t))
	ids := ssmReady(t, e, web1)
	args := []string{"--endpoint-url", e.srv.URL, "--region", "us-east-1", "--output", "json"}
	out, errOut, code := awsCLI(t, cli, "AKIDSIM111122223333", "x", "", append([]string{"ssm", "send-command",
		"--document-name", "health-check", "--instance-ids", ids[0]}, args...)...)
	var sent struct {
		Command struct{ CommandId, Status string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &sent) != nil || sent.Command.Status != "Pending" {
		t.Fatalf("send-command: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	e.advance(time.Minute)
	out, errOut, code = awsCLI(t, cli, "AKIDSIM111122223333", "x", "", append([]string{"ssm", "get-command-invocation",
		"--command-id", sent.Command.CommandId, "--instance-id", ids[0]}, args...)...)
	var inv struct {
		Status                string
		ResponseCode          int
		StandardOutputContent string
	}
	if code != 0 || json.Unmarshal([]byte(out), &inv) != nil || inv.Status != "Success" || inv.StandardOutputContent != "healthy\n" {
		t.Fatalf("get-command-invocation: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	_, errOut, code = awsCLI(t, cli, "AKIDSIM111122223333", "x", "", append([]string{"ssm", "get-command-invocation",
		"--command-id", "00000000-0000-4000-8000-000000000000", "--instance-id", ids[0]}, args...)...)
	if code == 0 || !strings.Contains(errOut, "InvocationDoesNotExist") || !strings.Contains(errOut, "No invocation of command 00000000-0000-4000-8000-000000000000") {
		t.Fatalf("unknown command: exit %d, stderr %s", code, errOut)
	}
}
