package drssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SSM on the simulator's own port, on SSM's wire protocol (AWS JSON 1.1,
// as aws-sdk-go-v2/service/ssm and the AWS CLI send it): POST / with
// Content-Type application/x-amz-json-1.1, X-Amz-Target
// AmazonSSM.<Operation> and a JSON body, signed with SigV4 for the service
// "ssm"; answered in JSON, errors as {"__type": code, "message": text}.
//
// Modelled: Run Command (SendCommand with InstanceIds, GetCommandInvocation)
// on the model's recovery instances once their SSM agent has registered
// (ec2.go), and Automation (StartAutomationExecution,
// GetAutomationExecution). What each document does is set by the
// scenario's ssm: section (outcome, response code, output, duration) and
// the fail-ssm fault; both are decided when the command or execution
// starts, and its status is read from its times at each request's
// simulated time (Pending, InProgress, then the outcome), so nothing runs
// in the background. Other operations are answered UnknownOperationException.

const (
	ssmTargetPrefix = "AmazonSSM."

	ssmPending    = "Pending"
	ssmInProgress = "InProgress"
	ssmSuccess    = "Success"
	ssmFailed     = "Failed"
	ssmTimedOut   = "TimedOut"

	// ssmMaxOutput is how much of a command's output GetCommandInvocation
	// returns (the rest goes to S3 on the real service).
	ssmMaxOutput = 24000
	// ssmDefaultExecutionTimeout is AWS-RunShellScript's executionTimeout
	// parameter's default, in seconds.
	ssmDefaultExecutionTimeout = 3600
)

// Default durations of SSM work, drawn when the scenario sets none.
var (
	ssmDeliveryDelay     = durRange{Duration(1 * time.Second), Duration(3 * time.Second)}
	ssmCommandDuration   = durRange{Duration(5 * time.Second), Duration(30 * time.Second)}
	ssmAutomationStart   = durRange{Duration(1 * time.Second), Duration(2 * time.Second)}
	ssmAutomationDefault = durRange{Duration(30 * time.Second), Duration(2 * time.Minute)}
)

// SSMSpec is the scenario's ssm: section: what each document does, by
// name. Run Command documents not listed but AWS-RunShellScript and
// AWS-RunPowerShellScript do not exist (InvalidDocument); nor do
// automation documents not listed (AutomationDefinitionNotFoundException).
type SSMSpec struct {
	Commands    map[string]SSMOutcome `yaml:"commands,omitempty" json:"commands,omitempty"`
	Automations map[string]SSMOutcome `yaml:"automations,omitempty" json:"automations,omitempty"`
}

// SSMOutcome is how a command invocation or automation execution of one
// document ends.
type SSMOutcome struct {
	// Status is Success (default), Failed or TimedOut. A TimedOut command
	// runs until its executionTimeout parameter (default 3600 s).
	Status string `yaml:"status,omitempty" json:"status,omitempty"`
	// ExitCode is a command's ResponseCode (default 0 on Success, 1 on
	// Failed).
	ExitCode *int `yaml:"exitCode,omitempty" json:"exitCode,omitempty"`
	// Output is a command's StandardOutputContent; Error its
	// StandardErrorContent, or an automation's FailureMessage.
	Output string `yaml:"output,omitempty" json:"output,omitempty"`
	Error  string `yaml:"error,omitempty" json:"error,omitempty"`
	// Outputs are an automation's Outputs.
	Outputs map[string][]string `yaml:"outputs,omitempty" json:"outputs,omitempty"`
	// Duration is how long it runs once started (defaults: 5-30 s for a
	// command, 30 s-2 m for an automation).
	Duration DurRange `yaml:"duration,omitempty" json:"duration,omitzero"`
}

var ssmDocumentRe = regexp.MustCompile(`^[a-zA-Z0-9_\-.:/]{3,128}$`)

func (sp *SSMSpec) validate(add func(string, ...any)) {
	check := func(kind, name string, o SSMOutcome) {
		w := fmt.Sprintf("ssm.%s[%s]", kind, name)
		if !ssmDocumentRe.MatchString(name) {
			add("%s: document name must be 3 to 128 of letters, digits and _-.:/", w)
		}
		switch o.Status {
		case "", ssmSuccess, ssmFailed, ssmTimedOut:
		default:
			add("%s: status %q must be Success, Failed or TimedOut", w, o.Status)
		}
		if o.Duration.Min < 0 {
			add("%s: duration must not be negative", w)
		}
		if kind == "automations" && o.ExitCode != nil {
			add("%s: exitCode is for commands; an automation has outputs and error", w)
		}
		if kind == "commands" && len(o.Outputs) > 0 {
			add("%s: outputs are for automations; a command has output, error and exitCode", w)
		}
	}
	for _, k := range sortedKeysOf(sp.Commands) {
		check("commands", k, sp.Commands[k])
	}
	for _, k := range sortedKeysOf(sp.Automations) {
		check("automations", k, sp.Automations[k])
	}
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ssmState is one region's commands and automation executions.
type ssmState struct {
	commands    map[string]*ssmCommand
	cmdList     []*ssmCommand
	automations map[string]*ssmAutomation
	autoList    []*ssmAutomation
}

type ssmCommand struct {
	id        string
	document  string
	comment   string
	params    map[string][]string
	requested time.Time
	timeout   int // TimeoutSeconds
	invs      []*ssmInvocation
}

// ssmInvocation is one instance's run of a command, decided when sent.
type ssmInvocation struct {
	instanceID string
	plugin     string
	startAt    time.Time // Pending until here
	endAt      time.Time // InProgress until here
	outcome    string    // Success, Failed or TimedOut
	code       int
	stdout     string
	stderr     string
}

type ssmAutomation struct {
	id       string
	document string
	params   map[string][]string
	caller   string
	started  time.Time
	runAt    time.Time // Pending until here
	endAt    time.Time // InProgress until here
	outcome  string
	outputs  map[string][]string
	failure  string
}

func (inv *ssmInvocation) status(now time.Time) string {
	switch {
	case now.Before(inv.startAt):
		return ssmPending
	case now.Before(inv.endAt):
		return ssmInProgress
	}
	return inv.outcome
}

func (a *ssmAutomation) status(now time.Time) string {
	switch {
	case now.Before(a.runAt):
		return ssmPending
	case now.Before(a.endAt):
		return ssmInProgress
	}
	return a.outcome
}

// ssmOnline reports whether the instance's SSM agent answers at now: the
// instance is running, its agent has registered, and no impair-instance
// fault has made it unreachable.
func (r *region) ssmOnline(in *instance, now time.Time) bool {
	if in.ec2State != ec2Running || in.agentAt.IsZero() || now.Before(in.agentAt) {
		return false
	}
	_, inst := r.statusChecks(in, now)
	return inst.status != ec2StatusImpaired
}

func drawFrom(rng *rand.Rand, d durRange) time.Duration {
	if d.Max <= d.Min {
		return d.Min.D()
	}
	return d.Min.D() + time.Duration(rng.Int64N(int64(d.Max.D()-d.Min.D())+1))
}

// newUUID draws a version-4 UUID, the form of SSM's command and execution IDs.
func newUUID(rng *rand.Rand) string {
	a, b := rng.Uint64(), rng.Uint64()
	a = a&^0xf000 | 0x4000
	b = b&^(0xc<<60) | 0x8<<60
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// ssmError is an error answered in the JSON 1.1 form.
type ssmError struct {
	Status  int
	Type    string
	Message string
}

func ssmErr(typ, format string, a ...any) *ssmError {
	return &ssmError{Status: http.StatusBadRequest, Type: typ, Message: fmt.Sprintf(format, a...)}
}

func ssmValidation(format string, a ...any) *ssmError {
	return ssmErr("ValidationException", "1 validation error detected: "+format, a...)
}

func (s *Sim) serveSSM(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	reqID := newRequestID(s.seed)
	sw.Header().Set("x-amzn-RequestId", reqID)
	op, account, e := s.serveSSMRequest(sw, r)
	code := ""
	if e != nil {
		code = e.Type
		writeSSMError(sw, e)
	}
	s.countEC2SSM("ssm:" + op)
	s.log.Info("ssm request", "op", op, "account", account, "status", sw.status(), "error", code,
		"latency", time.Since(start).Round(time.Microsecond).String(), "request_id", reqID)
}

func (s *Sim) serveSSMRequest(w http.ResponseWriter, r *http.Request) (string, string, *ssmError) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, ssmTargetPrefix)
	if r.Method != http.MethodPost || !ok || op == "" {
		return "-", "", &ssmError{Status: http.StatusBadRequest, Type: "com.amazon.coral.service#UnknownOperationException",
			Message: "SSM takes POST / with X-Amz-Target: AmazonSSM.<Operation> (drssim models SendCommand, GetCommandInvocation, StartAutomationExecution and GetAutomationExecution)"}
	}
	sig, p := parseSigV4(r, "ssm")
	if p != nil {
		if p.kind == authMissing {
			return op, "", ssmErr("MissingAuthenticationTokenException", "Missing Authentication Token")
		}
		return op, "", ssmErr("IncompleteSignatureException", "%s", p.msg)
	}
	who, problem := s.identify(sig.accessKey, sig.token)
	switch problem {
	case credentialsInvalid:
		return op, "", ssmErr("UnrecognizedClientException", "The security token included in the request is invalid.")
	case credentialsExpired:
		return op, "", ssmErr("ExpiredTokenException", "The security token included in the request is expired")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return op, who.account, &ssmError{Status: http.StatusRequestEntityTooLarge, Type: "SerializationException", Message: fmt.Sprintf("Request body is larger than %d bytes", maxBodyBytes)}
		}
		return op, who.account, ssmErr("SerializationException", "Could not read the request body: %v", err)
	}
	var in ssmInput
	if err := json.Unmarshal(body, &in); err != nil {
		return op, who.account, ssmErr("SerializationException", "The request body is not the JSON of an SSM request: %v", err)
	}
	var out any
	var e *ssmError
	run := func(fn func(rg *region, now time.Time) (any, *ssmError)) {
		s.withRegion(who.account, sig.region, func(rg *region, now time.Time) { out, e = fn(rg, now) })
	}
	switch op {
	case "SendCommand":
		run(func(rg *region, now time.Time) (any, *ssmError) { return s.sendCommand(rg, now, in) })
	case "GetCommandInvocation":
		run(func(rg *region, now time.Time) (any, *ssmError) { return rg.getCommandInvocation(now, in) })
	case "StartAutomationExecution":
		run(func(rg *region, now time.Time) (any, *ssmError) { return s.startAutomation(rg, now, in, who.arn) })
	case "GetAutomationExecution":
		run(func(rg *region, now time.Time) (any, *ssmError) { return rg.getAutomation(now, in) })
	default:
		return op, who.account, &ssmError{Status: http.StatusBadRequest, Type: "com.amazon.coral.service#UnknownOperationException",
			Message: fmt.Sprintf("drssim does not model the SSM operation %s; it models SendCommand, GetCommandInvocation, StartAutomationExecution and GetAutomationExecution (see docs/drssim.md)", op)}
	}
	if e != nil {
		return op, who.account, e
	}
	b, err := json.Marshal(out)
	if err != nil {
		return op, who.account, &ssmError{Status: http.StatusInternalServerError, Type: "InternalServerError", Message: err.Error()}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return op, who.account, nil
}

// ssmInput holds the members of the four modelled operations; the others
// a client may send are accepted and ignored.
type ssmInput struct {
	DocumentName          *string             `json:"DocumentName"`
	InstanceIds           []string            `json:"InstanceIds"`
	Targets               []json.RawMessage   `json:"Targets"`
	Parameters            map[string][]string `json:"Parameters"`
	TimeoutSeconds        *int                `json:"TimeoutSeconds"`
	Comment               string              `json:"Comment"`
	CommandID             *string             `json:"CommandId"`
	InstanceID            *string             `json:"InstanceId"`
	PluginName            *string             `json:"PluginName"`
	AutomationExecutionID *string             `json:"AutomationExecutionId"`
}

var (
	ssmInstanceIDRe = regexp.MustCompile(`^(i-([0-9a-f]{8}|[0-9a-f]{17})|mi-[0-9a-f]{17})$`)
	ssmUUIDRe       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// commandOutcome is what a Run Command document does, by the scenario;
// ok is false when the document does not exist.
func (s *Sim) commandOutcome(doc string) (SSMOutcome, bool) {
	if sp := s.scenario.SSM; sp != nil {
		if o, ok := sp.Commands[doc]; ok {
			return o, true
		}
	}
	if doc == "AWS-RunShellScript" || doc == "AWS-RunPowerShellScript" {
		return SSMOutcome{}, true
	}
	return SSMOutcome{}, false
}

func pluginOf(doc string) string {
	if doc == "AWS-RunPowerShellScript" {
		return "aws:runPowerShellScript"
	}
	return "aws:runShellScript"
}

// ssmFault returns the live fail-ssm rule for the document (and instance,
// for a command), using it once.
func (fs *faultSet) ssmFault(r *region, doc string, in *instance, now time.Time) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, ru := range fs.rules {
		if ru.Kind != FaultFailSSM || ru.Document != doc || !fs.scopeMatches(ru, r.account, r.name) || !fs.live(ru, now) {
			continue
		}
		if len(ru.Servers)+len(ru.Instances) > 0 && (in == nil || !ru.matchesInstance(in)) {
			continue
		}
		ru.use()
		f := ru.Fault
		return &f
	}
	return nil
}

func (s *Sim) sendCommand(r *region, now time.Time, in ssmInput) (any, *ssmError) {
	if in.DocumentName == nil {
		return nil, ssmValidation("Value null at 'documentName' failed to satisfy constraint: Member must not be null")
	}
	doc := *in.DocumentName
	if !ssmDocumentRe.MatchString(doc) {
		return nil, ssmValidation("Value '%s' at 'documentName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.:/]{3,128}$", doc)
	}
	if len(in.Targets) > 0 {
		return nil, ssmErr("InvalidParameters", "drssim models SendCommand with InstanceIds only, not Targets; name the instances")
	}
	if len(in.InstanceIds) == 0 {
		return nil, ssmErr("InvalidParameters", "Either InstanceIds or Targets must be specified")
	}
	if len(in.InstanceIds) > 50 {
		return nil, ssmValidation("Value at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	for _, id := range in.InstanceIds {
		if !ssmInstanceIDRe.MatchString(id) {
			return nil, ssmValidation("Value '[%s]' at 'instanceIds' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy regular expression pattern: (^i-(\\w{8}|\\w{17})$)|(^mi-\\w{17}$)]", strings.Join(in.InstanceIds, ", "))
		}
	}
	timeout := 3600
	if in.TimeoutSeconds != nil {
		timeout = *in.TimeoutSeconds
		if timeout < 30 || timeout > 2592000 {
			return nil, ssmValidation("Value '%d' at 'timeoutSeconds' failed to satisfy constraint: Member must have value between 30 and 2592000", timeout)
		}
	}
	outcome, ok := s.commandOutcome(doc)
	if !ok {
		return nil, ssmErr("InvalidDocument", "Document %s does not exist in account %s region %s (drssim has AWS-RunShellScript, AWS-RunPowerShellScript and the scenario's ssm.commands)", doc, r.account, r.name)
	}
	execTimeout := ssmDefaultExecutionTimeout
	if v := in.Parameters["executionTimeout"]; len(v) > 0 {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > 172800 {
			return nil, ssmErr("InvalidParameters", "executionTimeout %q must be a number of seconds from 1 to 172800", v[0])
		}
		execTimeout = n
	}
	var bad []string
	var insts []*instance
	seen := map[string]bool{}
	for _, id := range in.InstanceIds {
		if seen[id] {
			continue
		}
		seen[id] = true
		inst := r.instances[id]
		if inst == nil || !r.ssmOnline(inst, now) {
			bad = append(bad, id)
			continue
		}
		insts = append(insts, inst)
	}
	if len(bad) > 0 {
		return nil, ssmErr("InvalidInstanceId", "Instances [[%s]] not in a valid state for account %s", strings.Join(bad, ", "), r.account)
	}
	cmd := &ssmCommand{id: r.newCommandID(), document: doc, comment: in.Comment, params: in.Parameters, requested: now, timeout: timeout}
	for _, inst := range insts {
		o := outcome
		if f := r.faults.ssmFault(r, doc, inst, now); f != nil {
			o = faultOutcome(f)
		}
		inv := &ssmInvocation{instanceID: inst.id, plugin: pluginOf(doc), stdout: trimOutput(o.Output), stderr: trimOutput(o.Error)}
		inv.startAt = modelTime(now.Add(drawFrom(r.ec2rng, ssmDeliveryDelay)))
		dur := o.Duration
		if dur.IsZero() {
			dur = ssmCommandDuration
		}
		run := drawFrom(r.ec2rng, dur)
		limit := time.Duration(execTimeout) * time.Second
		inv.outcome = o.Status
		if inv.outcome == "" {
			inv.outcome = ssmSuccess
		}
		if inv.outcome == ssmTimedOut || run > limit {
			inv.outcome, run, inv.code = ssmTimedOut, limit, -1
		} else if o.ExitCode != nil {
			inv.code = *o.ExitCode
		} else if inv.outcome == ssmFailed {
			inv.code = 1
		}
		inv.endAt = modelTime(inv.startAt.Add(run))
		r.schedule(inv.startAt, func(time.Time) {})
		r.schedule(inv.endAt, func(time.Time) {})
		cmd.invs = append(cmd.invs, inv)
	}
	r.addCommand(cmd)
	return map[string]any{"Command": cmd.render(now)}, nil
}

// faultOutcome is the outcome a fail-ssm fault imposes.
func faultOutcome(f *Fault) SSMOutcome {
	o := SSMOutcome{Status: f.Outcome, Error: f.Message}
	if o.Status == "" {
		o.Status = ssmFailed
	}
	if o.Error == "" {
		o.Error = "injected failure (drssim fail-ssm fault)"
	}
	if f.ExitCode != 0 {
		code := f.ExitCode
		o.ExitCode = &code
	}
	return o
}

func trimOutput(s string) string {
	if len(s) > ssmMaxOutput {
		return s[:ssmMaxOutput]
	}
	return s
}

func (r *region) newCommandID() string {
	for {
		id := newUUID(r.ec2rng)
		if r.ssm.commands[id] == nil && r.ssm.automations[id] == nil {
			return id
		}
	}
}

func (r *region) addCommand(c *ssmCommand) {
	if r.ssm.commands == nil {
		r.ssm.commands = map[string]*ssmCommand{}
	}
	r.ssm.commands[c.id] = c
	r.ssm.cmdList = append(r.ssm.cmdList, c)
}

// epochSeconds is how JSON 1.1 writes a timestamp.
func epochSeconds(t time.Time) float64 {
	return math.Round(float64(t.UnixMilli())) / 1000
}

// status is the command's overall status: the worst final outcome once
// every invocation is final, else InProgress once one has started.
func (c *ssmCommand) status(now time.Time) string {
	final, started := 0, false
	worst := ssmSuccess
	for _, inv := range c.invs {
		st := inv.status(now)
		switch st {
		case ssmPending:
		case ssmInProgress:
			started = true
		default:
			final++
			if st == ssmFailed || (st == ssmTimedOut && worst == ssmSuccess) {
				worst = st
			}
		}
	}
	switch {
	case final == len(c.invs):
		return worst
	case started || final > 0:
		return ssmInProgress
	}
	return ssmPending
}

func (c *ssmCommand) render(now time.Time) map[string]any {
	ids := make([]string, len(c.invs))
	done, errs := 0, 0
	for i, inv := range c.invs {
		ids[i] = inv.instanceID
		if st := inv.status(now); st != ssmPending && st != ssmInProgress {
			done++
			if st != ssmSuccess {
				errs++
			}
		}
	}
	params := c.params
	if params == nil {
		params = map[string][]string{}
	}
	st := c.status(now)
	return map[string]any{
		"CommandId": c.id, "DocumentName": c.document, "DocumentVersion": "$DEFAULT", "Comment": c.comment,
		"Parameters": params, "InstanceIds": ids, "Targets": []any{},
		"RequestedDateTime": epochSeconds(c.requested), "ExpiresAfter": epochSeconds(c.requested.Add(time.Duration(c.timeout) * time.Second)),
		"Status": st, "StatusDetails": st, "TargetCount": len(ids), "CompletedCount": done, "ErrorCount": errs,
		"DeliveryTimedOutCount": 0, "MaxConcurrency": "50", "MaxErrors": "0", "TimeoutSeconds": c.timeout,
	}
}

// ssmTime is how GetCommandInvocation writes its date-times (strings).
func ssmTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (r *region) getCommandInvocation(now time.Time, in ssmInput) (any, *ssmError) {
	if in.CommandID == nil {
		return nil, ssmValidation("Value null at 'commandId' failed to satisfy constraint: Member must not be null")
	}
	if in.InstanceID == nil {
		return nil, ssmValidation("Value null at 'instanceId' failed to satisfy constraint: Member must not be null")
	}
	id, instID := *in.CommandID, *in.InstanceID
	if len(id) != 36 {
		return nil, ssmValidation("Value '%s' at 'commandId' failed to satisfy constraint: Member must have length equal to 36", id)
	}
	if !ssmUUIDRe.MatchString(id) {
		return nil, ssmErr("InvalidCommandId", "%s is not a command ID (a UUID, as SendCommand returns it)", id)
	}
	if !ssmInstanceIDRe.MatchString(instID) {
		return nil, ssmErr("InvalidInstanceId", "%s is not an instance ID", instID)
	}
	cmd := r.ssm.commands[id]
	var inv *ssmInvocation
	if cmd != nil {
		for _, x := range cmd.invs {
			if x.instanceID == instID {
				inv = x
			}
		}
	}
	if inv == nil {
		return nil, ssmErr("InvocationDoesNotExist", "No invocation of command %s on instance %s in account %s region %s", id, instID, r.account, r.name)
	}
	if in.PluginName != nil && *in.PluginName != inv.plugin {
		return nil, ssmErr("InvalidPluginName", "Plugin %s is not part of document %s; its plugin is %s", *in.PluginName, cmd.document, inv.plugin)
	}
	st := inv.status(now)
	out := map[string]any{
		"CommandId": id, "InstanceId": instID, "DocumentName": cmd.document, "DocumentVersion": "$DEFAULT",
		"Comment": cmd.comment, "PluginName": inv.plugin, "Status": st, "StatusDetails": st,
		"ResponseCode": -1, "StandardOutputContent": "", "StandardErrorContent": "",
		"StandardOutputUrl": "", "StandardErrorUrl": "", "ExecutionStartDateTime": "", "ExecutionEndDateTime": "",
		"ExecutionElapsedTime": "", "CloudWatchOutputConfig": map[string]any{"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false},
	}
	if st != ssmPending {
		out["ExecutionStartDateTime"] = ssmTime(inv.startAt)
	}
	if st != ssmPending && st != ssmInProgress {
		out["ResponseCode"] = inv.code
		out["StandardOutputContent"] = inv.stdout
		out["StandardErrorContent"] = inv.stderr
		out["ExecutionEndDateTime"] = ssmTime(inv.endAt)
		out["ExecutionElapsedTime"] = elapsedISO(inv.endAt.Sub(inv.startAt))
		if st == ssmTimedOut {
			out["StatusDetails"] = "ExecutionTimedOut"
		}
	}
	return out, nil
}

// elapsedISO writes a duration as SSM's ExecutionElapsedTime, PT1.234S.
func elapsedISO(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "S"
}

func (s *Sim) startAutomation(r *region, now time.Time, in ssmInput, caller string) (any, *ssmError) {
	if in.DocumentName == nil {
		return nil, ssmValidation("Value null at 'documentName' failed to satisfy constraint: Member must not be null")
	}
	doc := *in.DocumentName
	if !ssmDocumentRe.MatchString(doc) {
		return nil, ssmValidation("Value '%s' at 'documentName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.:/]{3,128}$", doc)
	}
	var o SSMOutcome
	ok := false
	if sp := s.scenario.SSM; sp != nil {
		o, ok = sp.Automations[doc]
	}
	if !ok {
		return nil, ssmErr("AutomationDefinitionNotFoundException", "Automation definition %s:$DEFAULT not found in account %s region %s (drssim has the scenario's ssm.automations)", doc, r.account, r.name)
	}
	if f := r.faults.ssmFault(r, doc, nil, now); f != nil {
		o = faultOutcome(f)
	}
	a := &ssmAutomation{id: r.newCommandID(), document: doc, params: in.Parameters, caller: caller, started: now,
		outcome: o.Status, outputs: o.Outputs}
	if a.outcome == "" {
		a.outcome = ssmSuccess
	}
	if a.outcome != ssmSuccess {
		a.failure = o.Error
		if a.failure == "" {
			a.failure = fmt.Sprintf("Step fails when it is %s. (drssim: the scenario's outcome of %s)", strings.ToLower(a.outcome), doc)
		}
		a.outputs = nil
	}
	a.runAt = modelTime(now.Add(drawFrom(r.ec2rng, ssmAutomationStart)))
	dur := o.Duration
	if dur.IsZero() {
		dur = ssmAutomationDefault
	}
	a.endAt = modelTime(a.runAt.Add(drawFrom(r.ec2rng, dur)))
	r.schedule(a.runAt, func(time.Time) {})
	r.schedule(a.endAt, func(time.Time) {})
	if r.ssm.automations == nil {
		r.ssm.automations = map[string]*ssmAutomation{}
	}
	r.ssm.automations[a.id] = a
	r.ssm.autoList = append(r.ssm.autoList, a)
	return map[string]any{"AutomationExecutionId": a.id}, nil
}

func (r *region) getAutomation(now time.Time, in ssmInput) (any, *ssmError) {
	if in.AutomationExecutionID == nil {
		return nil, ssmValidation("Value null at 'automationExecutionId' failed to satisfy constraint: Member must not be null")
	}
	id := *in.AutomationExecutionID
	if len(id) != 36 {
		return nil, ssmValidation("Value '%s' at 'automationExecutionId' failed to satisfy constraint: Member must have length equal to 36", id)
	}
	a := r.ssm.automations[id]
	if a == nil {
		return nil, ssmErr("AutomationExecutionNotFoundException", "Automation Execution %s not found in account %s region %s", id, r.account, r.name)
	}
	st := a.status(now)
	params := a.params
	if params == nil {
		params = map[string][]string{}
	}
	ex := map[string]any{
		"AutomationExecutionId": a.id, "DocumentName": a.document, "DocumentVersion": "1",
		"AutomationExecutionStatus": st, "ExecutionStartTime": epochSeconds(a.started), "Parameters": params,
		"Mode": "Auto", "ExecutedBy": a.caller, "Outputs": map[string][]string{},
	}
	if st != ssmPending && st != ssmInProgress {
		ex["ExecutionEndTime"] = epochSeconds(a.endAt)
		if a.outputs != nil {
			ex["Outputs"] = a.outputs
		}
		if a.failure != "" {
			ex["FailureMessage"] = a.failure
		}
	}
	return map[string]any{"AutomationExecution": ex}, nil
}

func writeSSMError(w http.ResponseWriter, e *ssmError) {
	b, _ := json.Marshal(map[string]string{"__type": e.Type, "message": e.Message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

// CommandView is a Run Command command in /_sim/state.
type CommandView struct {
	CommandID   string              `json:"commandId"`
	Document    string              `json:"document"`
	Comment     string              `json:"comment,omitempty"`
	Parameters  map[string][]string `json:"parameters,omitempty"`
	Requested   time.Time           `json:"requested"`
	Status      string              `json:"status"`
	Invocations []InvocationView    `json:"invocations"`
}

// InvocationView is one instance's invocation of a command.
type InvocationView struct {
	InstanceID   string    `json:"instanceId"`
	Status       string    `json:"status"`
	Started      time.Time `json:"started"` // Pending until then
	Ends         time.Time `json:"ends"`    // InProgress until then
	Outcome      string    `json:"outcome"`
	ResponseCode int       `json:"responseCode"`
	Output       string    `json:"output,omitempty"`
	Error        string    `json:"error,omitempty"`
}

// AutomationView is an Automation execution in /_sim/state.
type AutomationView struct {
	ExecutionID string              `json:"automationExecutionId"`
	Document    string              `json:"document"`
	Parameters  map[string][]string `json:"parameters,omitempty"`
	Caller      string              `json:"caller"`
	Started     time.Time           `json:"started"`
	Runs        time.Time           `json:"runs"` // Pending until then
	Ends        time.Time           `json:"ends"` // InProgress until then
	Status      string              `json:"status"`
	Outcome     string              `json:"outcome"`
	Outputs     map[string][]string `json:"outputs,omitempty"`
	Failure     string              `json:"failure,omitempty"`
}

func (r *region) ssmView(now time.Time) ([]CommandView, []AutomationView) {
	cmds := []CommandView{}
	for _, c := range r.ssm.cmdList {
		v := CommandView{CommandID: c.id, Document: c.document, Comment: c.comment, Parameters: c.params,
			Requested: c.requested, Status: c.status(now)}
		for _, inv := range c.invs {
			v.Invocations = append(v.Invocations, InvocationView{InstanceID: inv.instanceID, Status: inv.status(now),
				Started: inv.startAt, Ends: inv.endAt, Outcome: inv.outcome, ResponseCode: inv.code,
				Output: inv.stdout, Error: inv.stderr})
		}
		cmds = append(cmds, v)
	}
	autos := []AutomationView{}
	for _, a := range r.ssm.autoList {
		autos = append(autos, AutomationView{ExecutionID: a.id, Document: a.document, Parameters: a.params, Caller: a.caller,
			Started: a.started, Runs: a.runAt, Ends: a.endAt, Status: a.status(now), Outcome: a.outcome,
			Outputs: a.outputs, Failure: a.failure})
	}
	return cmds, autos
}
