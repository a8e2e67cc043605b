package plan

import (
	"regexp"
	"strings"

	"github.com/ripcord-dr/ripcord"
)

// This file is the one description of the plan file format. The decoder
// accepts exactly these keys, with values of these shapes; the JSON Schema
// (see schema.go) is generated from it; a test checks that docs/plans.md
// documents every key. Add a key here first.

// Patterns of the values the validator checks. The schema uses the same.
const (
	namePattern       = `^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`
	accountPattern    = `^[0-9]{12}$`
	regionPattern     = `^[a-z]{2}(-[a-z]+)+-[0-9]+$`
	serverIDPattern   = `^s-[0-9a-zA-Z]{17}$`
	roleARNPattern    = `^arn:aws[a-z-]*:iam::([0-9]{12}):role/[A-Za-z0-9+=,.@_/-]{1,512}$`
	externalIDPattern = `^[A-Za-z0-9+=,.@:/_-]{2,}$` // and at most maxExternalID
	// snsTopicPattern is an SNS topic ARN: arn:aws:sns:REGION:ACCOUNT:NAME.
	snsTopicPattern = `^arn:aws[a-z-]*:sns:([a-z]{2}(-[a-z]+)+-[0-9]+):([0-9]{12}):[A-Za-z0-9_-]{1,256}(\.fifo)?$`
	// durationPattern is a positive Go duration, for the schema only: the
	// decoder uses time.ParseDuration and the validator checks the sign.
	durationPattern = `^([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))*$`
)

var (
	nameRe       = regexp.MustCompile(namePattern)
	accountRe    = regexp.MustCompile(accountPattern)
	regionRe     = regexp.MustCompile(regionPattern)
	serverIDRe   = regexp.MustCompile(serverIDPattern)
	roleARNRe    = regexp.MustCompile(roleARNPattern)
	externalIDRe = regexp.MustCompile(externalIDPattern)
)

// Limits of AWS tags, which selectors match.
const (
	maxTagKey   = 128
	maxTagValue = 256
)

// maxExternalID is the longest external ID STS accepts.
const maxExternalID = 1224

// valueKind is the shape and meaning of a key's value.
type valueKind int

const (
	kText        valueKind = iota // free text
	kName                         // a name (namePattern)
	kAccount                      // a 12-digit AWS account ID
	kRegion                       // an AWS region
	kRoleARN                      // an IAM role ARN
	kExternalID                   // an sts:ExternalId
	kURL                          // an http(s) URL
	kServerID                     // a source server ID
	kDuration                     // a Go duration
	kEnum                         // one of field.enum
	kBool                         // true or false
	kNames                        // a list of names
	kServerIDs                    // a list of source server IDs
	kTags                         // a mapping of tag keys to values
	kServerRefs                   // a list of server IDs or serverRef objects
	kObjects                      // a list of field.object
	kSNSTopic                     // an SNS topic ARN (snsTopicPattern)
	kObject                       // one field.object
	kObjectMap                    // a mapping of source server IDs to field.object
	kInt                          // a whole number, 0 or more
	kStringMap                    // a mapping of names to text
	kStrings                      // a list of texts
	kStringLists                  // a mapping of names to texts or lists of texts
	kHeaders                      // a mapping of header names to text, {env: NAME} or {secret: NAME}
)

// isList reports whether values of kind k are YAML sequences.
func (k valueKind) isList() bool {
	switch k {
	case kNames, kServerIDs, kServerRefs, kObjects, kStrings:
		return true
	}
	return false
}

// field is one key of an object.
type field struct {
	key      string
	kind     valueKind
	object   *object  // kObjects, kObject, kObjectMap: the values' object
	enum     []string // kEnum: the accepted values
	required bool     // for the schema; the validator checks presence itself
	def      string   // the default, as written in YAML; "" when none
	doc      string   // one sentence, for the schema and docs
	// shapeHint, when set, is the fix offered when the value has the
	// wrong shape (a list for a name, say).
	shapeHint string
}

// object is a YAML mapping with a fixed set of keys.
type object struct {
	name   string // as in messages ("protection group") and, camel-cased, in the schema's $defs
	def    string // the schema's $defs name
	doc    string
	fields []field
}

// field returns the field named key, or nil.
func (o *object) field(key string) *field {
	for i := range o.fields {
		if o.fields[i].key == key {
			return &o.fields[i]
		}
	}
	return nil
}

// keys returns the object's keys in order.
func (o *object) keys() []string {
	keys := make([]string, len(o.fields))
	for i, f := range o.fields {
		keys[i] = f.key
	}
	return keys
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

var serverRefObject = &object{
	name: "server",
	def:  "serverRef",
	doc:  "A source server of a launch step; a plain ID is short for {id: ID}.",
	fields: []field{
		{key: "id", kind: kServerID, required: true, doc: "The source server ID, s- and 17 letters or digits."},
		{key: "optional", kind: kBool, def: "false", doc: "Whether the server may fail to launch without failing the step."},
		{key: "target", kind: kName, doc: "The target the server is in; needed only when the file declares more than one target."},
	},
}

var stepObject = &object{
	name: "step",
	def:  "step",
	doc:  "A step of a plan. A launch step launches protection groups and servers; a wait step waits; an approval step waits for a person's go-ahead; a check step runs health checks; a hook step runs a hook.",
	fields: []field{
		{key: "name", kind: kName, required: true, doc: "The step's name, unique in its plan."},
		{key: "kind", kind: kEnum, enum: strs(ripcord.StepKinds), def: string(ripcord.StepLaunch), doc: "What the step does: launch, wait, approval, check or hook."},
		{key: "after", kind: kNames, doc: "Steps that must be done before this one starts."},
		{key: "groups", kind: kNames, doc: "Protection groups a launch step launches."},
		{key: "servers", kind: kServerRefs, doc: "Source servers a launch step launches besides its groups'; list a group's server here to mark it optional."},
		{key: "duration", kind: kDuration, doc: "How long a wait step waits."},
		{key: "approverRoles", kind: kNames, enum: strs(ripcord.Roles), doc: "Roles whose tokens may approve an approval step (a stronger role may too): viewer, operator, recovery, admin."},
		{key: "approvers", kind: kNames, doc: "Token names that may approve an approval step, whatever their role."},
		{key: "message", kind: kText, doc: "What an approval step tells its approvers."},
		{key: "timeout", kind: kDuration, doc: "How long an approval step waits for a decision; unset: until someone decides."},
		{key: "onTimeout", kind: kEnum, enum: ripcord.ApprovalOutcomes, def: ripcord.ApprovalFail, doc: "What an approval step's timeout does: fail (the failure policy applies) or continue."},
		{key: "health", kind: kObjects, object: checkObject, doc: "A launch step's health gate: checks each launched server must pass for the step to succeed."},
		{key: "checks", kind: kObjects, object: checkObject, doc: "A check step's health checks, run on the recovery instances of the launch steps it is after."},
		{key: "hook", kind: kObject, object: hookObject, doc: "What a hook step runs: an HTTP request, an SSM document or a local command."},
		{key: "hooks", kind: kObject, object: stepHooksObject, doc: "Hooks the step runs before its own work and after it succeeded."},
	},
}

var checkObject = &object{
	name: "health check",
	def:  "healthCheck",
	doc:  "A health check: EC2 status checks, a TCP connection, an HTTP(S) request or an SSM command, tried every interval until it passes, its retries are spent or its timeout passes.",
	fields: []field{
		{key: "type", kind: kEnum, enum: ripcord.CheckTypes, required: true, doc: "What the check does: ec2Status, tcp, http or ssm."},
		{key: "name", kind: kName, doc: "The check's name in events and reports; unset: its type (with its position when a list has several of one type)."},
		{key: "address", kind: kText, doc: "A tcp check's host:port; the host may be {{.PrivateIP}} or {{.InstanceID}} of each recovery instance."},
		{key: "url", kind: kText, doc: "An http check's http:// or https:// URL; it may hold {{.PrivateIP}} or {{.InstanceID}} of each recovery instance."},
		{key: "status", kind: kInt, def: "200", doc: "The HTTP status an http check expects."},
		{key: "body", kind: kText, doc: "A regular expression the body of an http check's answer must match."},
		{key: "document", kind: kText, doc: "An ssm check's Run Command document, such as AWS-RunShellScript; exit code 0 passes."},
		{key: "parameters", kind: kStringMap, doc: "The ssm check's document parameters (each a single value)."},
		{key: "interval", kind: kDuration, def: ripcord.DefaultCheckInterval.String(), doc: "The time between two attempts."},
		{key: "timeout", kind: kDuration, def: "10m", doc: "How long the check may take to pass, from when it starts (a gate's: when its server launched)."},
		{key: "retries", kind: kInt, doc: "How many attempts may fail after the first before the check fails; unset: only the timeout bounds it."},
	},
}

var stepHooksObject = &object{
	name: "step hooks",
	def:  "stepHooks",
	doc:  "The hooks of a step: before runs before its own work starts, after once it succeeded, each list in order.",
	fields: []field{
		{key: "before", kind: kObjects, object: hookObject, doc: "Hooks run, in order, before the step's own work starts."},
		{key: "after", kind: kObjects, object: hookObject, doc: "Hooks run, in order, after the step's own work succeeded; the step succeeds once they did."},
	},
}

var hookObject = &object{
	name: "hook",
	def:  "hook",
	doc:  "A call a plan makes: exactly one of http, ssm and command, with when and how it runs.",
	fields: []field{
		{key: "name", kind: kName, required: true, doc: "The hook's name, unique in its step."},
		{key: "modes", kind: kNames, enum: []string{string(ripcord.ModeDrill), string(ripcord.ModeRecovery), string(ripcord.ModeFailback)}, doc: "The modes the hook runs in: drill, recovery, failback; unset: every mode. In another mode it is recorded as skipped."},
		{key: "idempotent", kind: kBool, def: "false", doc: "Whether running the hook twice does no harm: after a crash left its outcome unknown it runs again; otherwise the execution pauses for a person."},
		{key: "timeout", kind: kDuration, def: ripcord.DefaultHookTimeout.String(), doc: "How long one attempt may take."},
		{key: "retries", kind: kInt, def: "0", doc: "How many times a failed attempt is tried again."},
		{key: "backoff", kind: kDuration, def: ripcord.DefaultHookBackoff.String(), doc: "The wait before the first retry, doubled for each later one."},
		{key: "http", kind: kObject, object: httpHookObject, doc: "An HTTP request; any 2xx answer is success."},
		{key: "ssm", kind: kObject, object: ssmHookObject, doc: "An SSM Automation document, or an SSM Run Command document on the step's recovery instances."},
		{key: "command", kind: kObject, object: commandHookObject, doc: "A local command, run without a shell."},
	},
}

var httpHookObject = &object{
	name: "http hook",
	def:  "httpHook",
	doc:  "An HTTP request of a hook.",
	fields: []field{
		{key: "method", kind: kEnum, enum: []string{"POST", "PUT", "PATCH", "GET", "DELETE"}, def: "POST", doc: "The request's method."},
		{key: "url", kind: kURL, required: true, doc: "The URL, http or https."},
		{key: "headers", kind: kHeaders, doc: "Request headers: text, {env: NAME} (an environment variable) or {secret: NAME} (a secret); values never logged or recorded."},
		{key: "body", kind: kText, doc: "The request body, a Go text/template with the execution's context (.ExecutionID, .Plan, .Mode, .Step, .Servers)."},
	},
}

var ssmHookObject = &object{
	name: "ssm hook",
	def:  "ssmHook",
	doc:  "An SSM document a hook runs and waits for: automation or command, not both.",
	fields: []field{
		{key: "automation", kind: kText, doc: "The name of an SSM Automation document to start."},
		{key: "command", kind: kText, doc: "The name of an SSM Run Command document to send to the recovery instances of the step's launched servers."},
		{key: "parameters", kind: kStringLists, doc: "The document's parameters, by name: text, or a list of texts."},
		{key: "target", kind: kName, doc: "The target whose credentials call SSM; needed only when the file declares more than one target."},
	},
}

var commandHookObject = &object{
	name: "command hook",
	def:  "commandHook",
	doc:  "A local command of a hook; exit status 0 is success.",
	fields: []field{
		{key: "argv", kind: kStrings, required: true, doc: "The program and its arguments, run without a shell."},
		{key: "env", kind: kStringMap, doc: "Environment variables added to ripcord's own."},
		{key: "dir", kind: kText, doc: "The working directory; unset: ripcord's."},
	},
}

var notifyObject = &object{
	name: "notification",
	def:  "notification",
	doc:  "A destination of a plan's notifications: a webhook or an SNS topic.",
	fields: []field{
		{key: "webhook", kind: kURL, doc: "A URL that receives a POST for each notification."},
		{key: "format", kind: kEnum, enum: []string{"json", "slack"}, def: "json", doc: "The webhook's body: json (ripcord's own) or slack (a Slack-compatible message)."},
		{key: "sns", kind: kSNSTopic, doc: "The ARN of an Amazon SNS topic to publish to (arn:aws:sns:REGION:ACCOUNT:NAME)."},
		{key: "target", kind: kName, doc: "The target whose credentials (and endpoint) publish to the SNS topic; needed only when the file declares more than one target."},
		{key: "events", kind: kNames, enum: ripcord.NotifyKinds, doc: "Only these kinds of notification: started, waiting, stepFailed, finished, cleanup, readiness; unset: every kind."},
	},
}

var planObject = &object{
	name: "plan",
	def:  "plan",
	doc:  "A recovery plan: steps forming a graph, and its settings.",
	fields: []field{
		{key: "name", kind: kName, required: true, doc: "The plan's name, unique in the file."},
		{key: "description", kind: kText, doc: "What the plan recovers, for people."},
		{key: "rto", kind: kDuration, doc: "The recovery time objective the plan should meet; reports compare with it."},
		{key: "rpo", kind: kDuration, doc: "The largest replication lag a server may have and still be launched; unset: lag is not checked."},
		{key: "failurePolicy", kind: kEnum, enum: strs(ripcord.FailurePolicies), def: string(ripcord.FailureStop), doc: "What happens when a critical server fails to launch: stop, pause or continue."},
		{key: "conflictDeadline", kind: kDuration, def: ripcord.DefaultConflictDeadline.String(), doc: "How long a launch step waits for DRS jobs that hold its servers."},
		{key: "stepTimeout", kind: kDuration, doc: "How long a launch step may take until all its servers are final; unset: no limit."},
		{key: "outageLimit", kind: kDuration, def: "30m", doc: "How long DRS may keep failing with transient errors (5xx, timeouts, lost connections) while ripcord keeps trying and shows the outage; then the execution pauses."},
		{key: "drillEvery", kind: kDuration, doc: "How old the last successful drill may be before the plan is stale, such as 2160h (90 days); unset: age alone never makes it stale."},
		{key: "schedule", kind: kText, doc: "A cron expression (minute hour day-of-month month day-of-week) at which ripcord serve runs the plan as a drill."},
		{key: "timeZone", kind: kText, def: "UTC", doc: "The IANA time zone the schedule is read in, such as Europe/Paris."},
		{key: "cleanupAfter", kind: kDuration, doc: "How long after a scheduled drill ends its drill instances are cleaned up; unset: at once."},
		{key: "notify", kind: kObjects, object: notifyObject, doc: "Where the plan's executions send notifications: webhooks and SNS topics."},
		{key: "waves", kind: kObjects, object: stepObject, doc: "Steps that run one after the other: each wave is after the previous one."},
		{key: "steps", kind: kObjects, object: stepObject, doc: "Steps ordered only by their after: lists."},
	},
}

var launchObject = &object{
	name: "launch override",
	def:  "launchOverrides",
	doc:  "DRS launch configuration settings to apply before a server's first launch; unset keys stay as DRS has them.",
	fields: []field{
		{key: "disposition", kind: kEnum, enum: ripcord.LaunchDispositions, doc: "DRS's launchDisposition: STARTED boots the recovery instance, STOPPED leaves it stopped."},
		{key: "rightSizing", kind: kEnum, enum: ripcord.RightSizingMethods, doc: "DRS's targetInstanceTypeRightSizingMethod: NONE (the launch template's instance type), BASIC or IN_AWS."},
		{key: "copyPrivateIp", kind: kBool, doc: "Whether the recovery instance gets the source server's private IP address."},
		{key: "copyTags", kind: kBool, doc: "Whether the source server's tags are copied to the recovery instance."},
		{key: "byol", kind: kBool, doc: "DRS's licensing.osByol: bring your own operating system licence."},
	},
}

var groupObject = &object{
	name: "protection group",
	def:  "protectionGroup",
	doc:  "A named set of source servers in one target: explicit IDs, a tag selector, or both.",
	fields: []field{
		{key: "name", kind: kName, required: true, doc: "The group's name, unique in the file."},
		{key: "target", kind: kName, required: true, doc: "The target the group's servers are in; exactly one.",
			shapeHint: "a protection group has exactly one target: make one group per target"},
		{key: "servers", kind: kServerIDs, doc: "Source server IDs in the group."},
		{key: "selector", kind: kTags, doc: "Tags a source server must all carry, with these values, to be in the group."},
		{key: "launch", kind: kObject, object: launchObject, doc: "Launch configuration settings for the group's servers, applied before their first launch."},
		{key: "serverLaunch", kind: kObjectMap, object: launchObject, doc: "Launch configuration settings per server of the group, by source server ID; they win over launch."},
	},
}

var targetObject = &object{
	name: "target",
	def:  "target",
	doc:  "Where DRS is called: an AWS account and region.",
	fields: []field{
		{key: "name", kind: kName, required: true, doc: "The target's name, unique in the file."},
		{key: "account", kind: kAccount, required: true, doc: "The 12-digit AWS account ID; quote it."},
		{key: "region", kind: kRegion, required: true, doc: "The AWS region where DRS runs, such as us-east-1."},
		{key: "roleArn", kind: kRoleARN, doc: "An IAM role in the account to assume for DRS calls."},
		{key: "externalId", kind: kExternalID, doc: "The external ID to pass when assuming roleArn; one per target."},
		{key: "endpoint", kind: kURL, doc: "A DRS endpoint URL that replaces the default one, such as a simulator's."},
	},
}

var fileObject = &object{
	name: "file",
	def:  "",
	doc:  "A ripcord plan file: targets, protection groups and recovery plans.",
	fields: []field{
		{key: "targets", kind: kObjects, object: targetObject, doc: "Where DRS is called."},
		{key: "protectionGroups", kind: kObjects, object: groupObject, doc: "Named sets of source servers."},
		{key: "plans", kind: kObjects, object: planObject, required: true, doc: "Recovery plans."},
	},
}

// objects lists every object of the format, the file first.
var objects = []*object{fileObject, targetObject, groupObject, planObject, stepObject, serverRefObject, notifyObject, launchObject,
	stepHooksObject, hookObject, httpHookObject, ssmHookObject, commandHookObject}

// describeKind says, for messages, what a value of kind k must be.
func (f *field) describeKind() string {
	switch f.kind {
	case kText:
		return "text"
	case kName:
		return "a name"
	case kAccount:
		return `a 12-digit account ID, such as "111122223333"`
	case kRegion:
		return "a region name, such as us-east-1"
	case kRoleARN:
		return "a role ARN"
	case kExternalID:
		return "an external ID"
	case kURL:
		return "a URL"
	case kServerID:
		return "a source server ID"
	case kDuration:
		return "a duration, such as 10m"
	case kEnum:
		return "one of " + strings.Join(f.enum, ", ")
	case kBool:
		return "true or false"
	case kNames:
		return "a list of names"
	case kSNSTopic:
		return "an SNS topic ARN, such as arn:aws:sns:us-east-1:111122223333:dr-alerts"
	case kServerIDs:
		return "a list of source server IDs"
	case kTags:
		return "a mapping of tag keys to values, such as {Tier: database}"
	case kServerRefs:
		return "a list of source server IDs or {id: s-…, optional: true} entries"
	case kObjects:
		return "a list of " + f.object.name + "s"
	case kObject:
		return "a mapping such as {disposition: STARTED, copyTags: true}"
	case kObjectMap:
		return "a mapping of source server IDs to " + f.object.name + "s, such as {s-3c1730a9e0771ea14: {copyPrivateIp: true}}"
	case kInt:
		return "a whole number, such as 3"
	case kStringMap:
		return "a mapping of names to text, such as {commands: \"systemctl is-active nginx\"}"
	case kStrings:
		return "a list of texts, such as [/usr/local/bin/promote, --wait]"
	case kStringLists:
		return "a mapping of names to texts or lists of texts, such as {Region: us-east-1}"
	case kHeaders:
		return "a mapping of header names to text, {env: NAME} or {secret: NAME}"
	}
	return "a value"
}
