package drssim

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// EC2 on the simulator's own port, on EC2's wire protocol (the EC2 Query
// protocol, as aws-sdk-go-v2/service/ec2 and the AWS CLI send it): a
// form-encoded body Action=DescribeInstances&Version=2016-11-15&… posted to
// "/", lists flattened as InstanceId.1, Filter.1.Name, Filter.1.Value.1,
// signed with SigV4 for the service "ec2", answered in XML (namespace
// http://ec2.amazonaws.com/doc/2016-11-15/), errors as
// <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>.
//
// The instances are the model's recovery instances (every instance a job
// launched, drill or recovery, in the signer's account and region): pending
// from LAUNCH_START, running when DRS says LAUNCHED (its launch duration is
// the boot), status checks "initializing" for a drawn StatusChecks duration
// and then "ok" (or "impaired" while an impair-instance fault names the
// instance), shutting-down and terminated as DRS terminates them, and
// listed for an hour after termination as EC2 does. Modelled:
// DescribeInstances and DescribeInstanceStatus; other actions are answered
// InvalidAction. Nothing is scheduled for EC2 but no-op wake-ups at the
// times a status changes (so Sim.NextEventAt finds them): every status is
// read from the instance's times at the request's simulated time.

const (
	ec2Version   = "2016-11-15"
	ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"
	// ec2TerminatedVisible is how long EC2 keeps listing a terminated
	// instance.
	ec2TerminatedVisible = time.Hour
	ec2MinResults        = 5
	ec2MaxResults        = 1000
)

// EC2 status check values (InstanceStatus.Status and the reachability
// detail's status).
const (
	checkInstance = "instance"
	checkSystem   = "system"

	ec2StatusOK            = "ok"
	ec2StatusImpaired      = "impaired"
	ec2StatusInitializing  = "initializing"
	ec2StatusNotApplicable = "not-applicable"
)

// bootInstance records that in is running at t and schedules when its
// status checks pass and its SSM agent registers, drawn from the scenario's
// durations (times WindowsFactor for a Windows server).
func (r *region) bootInstance(in *instance, srv *server, t time.Time) {
	factor := 1.0
	if srv != nil && srv.windows {
		factor = r.cfg.durations.WindowsFactor
	}
	draw := func(d durRange) time.Duration {
		v := d.Min.D()
		if d.Max > d.Min {
			v += time.Duration(r.ec2rng.Int64N(int64(d.Max.D()-d.Min.D()) + 1))
		}
		return time.Duration(float64(v) * factor)
	}
	in.runningAt = t
	in.checksAt = modelTime(t.Add(draw(r.cfg.durations.StatusChecks)))
	in.agentAt = modelTime(t.Add(draw(r.cfg.durations.SSMAgent)))
	wake := func(time.Time) {}
	r.schedule(in.checksAt, wake)
	r.schedule(in.agentAt, wake)
}

func (s *Sim) countEC2SSM(key string) {
	v, ok := s.ec2ssmStats.Load(key)
	if !ok {
		v, _ = s.ec2ssmStats.LoadOrStore(key, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// EC2SSMCounts returns how many EC2 and SSM requests each action received,
// keyed "ec2:Action" and "ssm:Operation" ("-" when the request named none).
func (s *Sim) EC2SSMCounts() map[string]int64 {
	out := map[string]int64{}
	s.ec2ssmStats.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// ec2StateOf is the instance's EC2 state name and code.
func ec2StateOf(in *instance) (string, int) {
	switch in.ec2State {
	case ec2Pending:
		return "pending", 0
	case ec2Running:
		return "running", 16
	case ec2ShuttingDown:
		return "shutting-down", 32
	case ec2Terminated:
		return "terminated", 48
	case ec2Stopped:
		return "stopped", 80
	}
	return strings.ToLower(in.ec2State), 64 // STOPPING
}

// ec2Visible reports whether EC2 lists the instance at now.
func ec2Visible(in *instance, now time.Time) bool {
	return in.ec2State != ec2Terminated || in.terminatedAt.IsZero() || now.Sub(in.terminatedAt) < ec2TerminatedVisible
}

// checkResult is one status check of an instance at one instant.
type checkResult struct {
	status        string    // ok, impaired, initializing, not-applicable
	detail        string    // passed, failed, initializing ("" when not applicable)
	impairedSince time.Time // when failed
}

// statusChecks reads the instance's system and instance status checks at
// now: not applicable unless running; initializing until checksAt; then
// ok, or impaired while a live impair-instance fault names it (since the
// later of checksAt and the fault's start).
func (r *region) statusChecks(in *instance, now time.Time) (system, inst checkResult) {
	if in.ec2State != ec2Running || in.runningAt.IsZero() {
		na := checkResult{status: ec2StatusNotApplicable}
		return na, na
	}
	if now.Before(in.checksAt) {
		ini := checkResult{status: ec2StatusInitializing, detail: ec2StatusInitializing}
		return ini, ini
	}
	system = checkResult{status: ec2StatusOK, detail: "passed"}
	inst = system
	sysSince, instSince := r.faults.impairedSince(r, in, now)
	if !sysSince.IsZero() {
		system = checkResult{status: ec2StatusImpaired, detail: "failed", impairedSince: later(sysSince, in.checksAt)}
	}
	if !instSince.IsZero() {
		inst = checkResult{status: ec2StatusImpaired, detail: "failed", impairedSince: later(instSince, in.checksAt)}
	}
	return system, inst
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// impairedSince returns when the live impair-instance faults naming the
// instance began, per check (zero: not impaired).
func (fs *faultSet) impairedSince(r *region, in *instance, now time.Time) (system, inst time.Time) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, ru := range fs.rules {
		if ru.Kind != FaultImpairInstance || !fs.scopeMatches(ru, r.account, r.name) || !fs.live(ru, now) || !ru.matchesInstance(in) {
			continue
		}
		if ru.added.After(now) {
			continue
		}
		p := &inst
		if ru.Check == checkSystem {
			p = &system
		}
		if p.IsZero() || ru.added.Before(*p) {
			*p = ru.added
		}
	}
	return system, inst
}

// ec2Error is an error answered in EC2's XML form.
type ec2Error struct {
	Status  int
	Code    string
	Message string
}

func ec2Err(code, format string, a ...any) *ec2Error {
	return &ec2Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, a...)}
}

func (s *Sim) serveEC2(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	reqID := newRequestID(s.seed)
	sw.Header().Set("x-amzn-RequestId", reqID)
	action, account, err := s.serveEC2Request(sw, r, reqID)
	code := ""
	if err != nil {
		code = err.Code
		writeEC2Error(sw, err, reqID)
	}
	s.countEC2SSM("ec2:" + action)
	s.log.Info("ec2 request", "op", action, "account", account, "status", sw.status(), "error", code,
		"latency", time.Since(start).Round(time.Microsecond).String(), "request_id", reqID)
}

func (s *Sim) serveEC2Request(w http.ResponseWriter, r *http.Request, reqID string) (string, string, *ec2Error) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return "-", "", &ec2Error{Status: http.StatusMethodNotAllowed, Code: "InvalidAction", Message: "EC2 takes POST (or GET) Query requests"}
	}
	params, perr := stsParams(w, r) // the Query protocol, as STS's
	if perr != nil {
		return "-", "", &ec2Error{Status: perr.Status, Code: perr.Code, Message: perr.Message}
	}
	sig, p := parseSigV4(r, "ec2")
	if p != nil {
		if p.kind == authMissing {
			return "-", "", &ec2Error{Status: http.StatusUnauthorized, Code: "AuthFailure", Message: "AWS was not able to validate the provided access credentials: the request is not signed"}
		}
		return "-", "", &ec2Error{Status: http.StatusUnauthorized, Code: "AuthFailure", Message: p.msg}
	}
	action := params.Get("Action")
	if action == "" {
		return "-", "", ec2Err("MissingAction", "The request must contain the parameter Action, e.g. Action=DescribeInstances&Version=%s", ec2Version)
	}
	if v := params.Get("Version"); v == "" {
		return action, "", ec2Err("MissingParameter", "The request must contain the parameter Version")
	} else if v != ec2Version {
		return action, "", ec2Err("InvalidParameterValue", "Version %q: drssim models EC2 API version %s", v, ec2Version)
	}
	who, problem := s.identify(sig.accessKey, sig.token)
	switch problem {
	case credentialsInvalid:
		return action, "", &ec2Error{Status: http.StatusUnauthorized, Code: "AuthFailure", Message: "AWS was not able to validate the provided access credentials"}
	case credentialsExpired:
		return action, "", &ec2Error{Status: http.StatusBadRequest, Code: "RequestExpired", Message: "Request has expired: the security token included in the request is expired"}
	}
	var q ec2Query
	switch action {
	case "DescribeInstances", "DescribeInstanceStatus":
		var e *ec2Error
		if q, e = parseEC2Query(action, params); e != nil {
			return action, who.account, e
		}
	default:
		return action, who.account, ec2Err("InvalidAction",
			"The action %s is not valid for this web service. (drssim models the EC2 actions DescribeInstances and DescribeInstanceStatus; see docs/drssim.md)", action)
	}
	if q.dryRun {
		return action, who.account, &ec2Error{Status: http.StatusPreconditionFailed, Code: "DryRunOperation", Message: "Request would have succeeded, but DryRun flag is set."}
	}
	var body any
	var e *ec2Error
	s.withRegion(who.account, sig.region, func(rg *region, now time.Time) {
		if action == "DescribeInstances" {
			body, e = rg.describeInstances(q, now, reqID)
		} else {
			body, e = rg.describeInstanceStatus(q, now, reqID)
		}
	})
	if e != nil {
		return action, who.account, e
	}
	b, err := xml.Marshal(body)
	if err != nil {
		return action, who.account, &ec2Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: err.Error()}
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
	return action, who.account, nil
}

// ec2Filter is one Filter.N of a request.
type ec2Filter struct {
	name   string
	values []*regexp.Regexp
}

// ec2Query is a decoded DescribeInstances or DescribeInstanceStatus.
type ec2Query struct {
	action      string
	ids         []string
	filters     []ec2Filter
	maxResults  int // 0: everything on one page
	nextToken   string
	includeAll  bool
	dryRun      bool
	fingerprint string // what a next token is bound to
}

var (
	ec2InstanceIDRe = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	ec2ListIndexRe  = regexp.MustCompile(`^[1-9][0-9]{0,3}$`)
)

// ec2Filters are the filter names each action takes (a subset of EC2's).
var ec2Filters = map[string]map[string]bool{
	"DescribeInstances": {"instance-id": true, "instance-state-name": true, "instance-state-code": true,
		"instance-type": true, "private-ip-address": true, "private-dns-name": true, "availability-zone": true,
		"image-id": true, "reservation-id": true, "tag-key": true, "tag-value": true},
	"DescribeInstanceStatus": {"instance-state-name": true, "instance-state-code": true, "availability-zone": true,
		"system-status.status": true, "system-status.reachability": true,
		"instance-status.status": true, "instance-status.reachability": true},
}

// flatList returns the values of prefix.1, prefix.2, … in index order.
func flatList(params url.Values, prefix string) ([]string, *ec2Error) {
	type item struct {
		i int
		v string
	}
	var items []item
	for k, v := range params {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok || strings.Contains(rest, ".") {
			continue
		}
		if !ec2ListIndexRe.MatchString(rest) {
			return nil, ec2Err("InvalidParameterValue", "Invalid list index in parameter %s", k)
		}
		n, _ := strconv.Atoi(rest)
		items = append(items, item{n, v[0]})
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out, nil
}

// globRe compiles an EC2 filter value: * matches any run, ? one character.
func globRe(v string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, c := range v {
		switch c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func parseEC2Query(action string, params url.Values) (ec2Query, *ec2Error) {
	q := ec2Query{action: action}
	var e *ec2Error
	if q.ids, e = flatList(params, "InstanceId"); e != nil {
		return q, e
	}
	for _, id := range q.ids {
		if !ec2InstanceIDRe.MatchString(id) {
			return q, ec2Err("InvalidInstanceID.Malformed", "Invalid id: %q", id)
		}
	}
	// Filter.N.Name and Filter.N.Value.M.
	idx := map[int]bool{}
	for k := range params {
		rest, ok := strings.CutPrefix(k, "Filter.")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ".")
		if !ec2ListIndexRe.MatchString(n) {
			return q, ec2Err("InvalidParameterValue", "Invalid list index in parameter %s", k)
		}
		i, _ := strconv.Atoi(n)
		idx[i] = true
	}
	var order []int
	for i := range idx {
		order = append(order, i)
	}
	sort.Ints(order)
	var fp []string
	for _, i := range order {
		name := params.Get(fmt.Sprintf("Filter.%d.Name", i))
		vals, e := flatList(params, fmt.Sprintf("Filter.%d.Value", i))
		if e != nil {
			return q, e
		}
		if name == "" {
			return q, ec2Err("InvalidParameterValue", "Filter.%d has no Name", i)
		}
		if !ec2Filters[action][name] && !strings.HasPrefix(name, "tag:") || (action == "DescribeInstanceStatus" && strings.HasPrefix(name, "tag:")) {
			return q, ec2Err("InvalidParameterValue", "The filter '%s' is invalid (drssim models the %s filters %s)", name, action, strings.Join(sortedKeys(ec2Filters[action]), ", "))
		}
		if len(vals) == 0 {
			return q, ec2Err("InvalidParameterValue", "The filter '%s' needs at least one value (Filter.%d.Value.1)", name, i)
		}
		f := ec2Filter{name: name}
		for _, v := range vals {
			f.values = append(f.values, globRe(v))
		}
		q.filters = append(q.filters, f)
		fp = append(fp, name+"="+strings.Join(vals, ","))
	}
	if v := params.Get("MaxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < ec2MinResults || n > ec2MaxResults {
			return q, ec2Err("InvalidParameterValue", "Value ( %s ) for parameter maxResults is invalid. Expecting a value between %d and %d.", v, ec2MinResults, ec2MaxResults)
		}
		q.maxResults = n
	}
	if len(q.ids) > 0 && q.maxResults > 0 {
		return q, ec2Err("InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	q.nextToken = params.Get("NextToken")
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"IncludeAllInstances", &q.includeAll}, {"DryRun", &q.dryRun}} {
		if v := params.Get(b.name); v != "" {
			t, err := strconv.ParseBool(v)
			if err != nil {
				return q, ec2Err("InvalidParameterValue", "Value (%s) for parameter %s is invalid: use true or false", v, b.name)
			}
			*b.dst = t
		}
	}
	if action == "DescribeInstances" && params.Has("IncludeAllInstances") {
		return q, ec2Err("UnknownParameter", "The parameter IncludeAllInstances is not recognized by DescribeInstances")
	}
	sort.Strings(fp)
	q.fingerprint = fmt.Sprintf("%s|%t|%s", action, q.includeAll, strings.Join(fp, ";"))
	return q, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ec2Page returns the instances of one page, in ID order, after the
// token's instance, and the token of the next page ("" on the last).
// Tokens are keysets bound to the action and its filters.
func ec2Page(q ec2Query, all []*instance) ([]*instance, string, *ec2Error) {
	h := fnv.New64a()
	h.Write([]byte(q.fingerprint))
	bind := strconv.FormatUint(h.Sum64(), 36)
	after := ""
	if q.nextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.nextToken)
		b, id, ok := strings.Cut(string(raw), "/")
		if err != nil || !ok || b != bind || !ec2InstanceIDRe.MatchString(id) {
			return nil, "", ec2Err("InvalidPaginationToken", "The specified pagination token is not valid or is expired (a token works only with the request that returned it)")
		}
		after = id
	}
	start := sort.Search(len(all), func(i int) bool { return all[i].id > after })
	page := all[start:]
	if q.maxResults == 0 || len(page) <= q.maxResults {
		return page, "", nil
	}
	page = page[:q.maxResults]
	return page, base64.RawURLEncoding.EncodeToString([]byte(bind + "/" + page[len(page)-1].id)), nil
}

// selectInstances returns the visible instances the query's IDs name (all
// when none), in ID order, or InvalidInstanceID.NotFound naming the
// missing ones.
func (r *region) selectInstances(q ec2Query, now time.Time) ([]*instance, *ec2Error) {
	var out []*instance
	if len(q.ids) > 0 {
		var missing []string
		seen := map[string]bool{}
		for _, id := range q.ids {
			in := r.instances[id]
			if in == nil || !ec2Visible(in, now) {
				missing = append(missing, id)
				continue
			}
			if !seen[id] {
				seen[id] = true
				out = append(out, in)
			}
		}
		if len(missing) == 1 {
			return nil, ec2Err("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", missing[0])
		}
		if len(missing) > 1 {
			return nil, ec2Err("InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
		}
	} else {
		for _, in := range r.instList {
			if ec2Visible(in, now) {
				out = append(out, in)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

// ec2Facts are an instance's attributes as EC2 shows them.
type ec2Facts struct {
	state        string
	code         int
	instanceType string
	privateIP    string
	privateDNS   string
	imageID      string
	reservation  string
	zone         string
	tags         map[string]string
}

func (r *region) ec2Facts(in *instance) ec2Facts {
	name, code := ec2StateOf(in)
	srv := r.servers[in.sourceServer]
	h := fnv.New64a()
	h.Write([]byte(in.id))
	v := h.Sum64()
	f := ec2Facts{state: name, code: code, instanceType: "m5.large", zone: r.name + "a",
		imageID:     fmt.Sprintf("ami-%017x", v>>4)[:21],
		reservation: fmt.Sprintf("r-%017x", (v*31)>>4)[:19],
		privateIP:   fmt.Sprintf("10.%d.%d.%d", 100+v%100, (v>>8)%256, 4+(v>>16)%250),
		tags:        map[string]string{},
	}
	if srv != nil {
		if srv.instanceType != "" {
			f.instanceType = srv.instanceType
		}
		if srv.launchCfg.copyPrivateIP && len(srv.ips) > 0 {
			f.privateIP = srv.ips[0]
		}
	}
	for k, val := range in.tags {
		f.tags[k] = val
	}
	// The tags DRS puts on the instances it launches.
	f.tags["AWSElasticDisasterRecoveryManaged"] = "drs.amazonaws.com"
	f.tags["AWSElasticDisasterRecoverySourceServerID"] = in.sourceServer
	dash := strings.ReplaceAll(f.privateIP, ".", "-")
	if r.name == "us-east-1" {
		f.privateDNS = "ip-" + dash + ".ec2.internal"
	} else {
		f.privateDNS = "ip-" + dash + "." + r.name + ".compute.internal"
	}
	if in.ec2State == ec2Terminated {
		f.privateIP, f.privateDNS = "", ""
	}
	return f
}

func matchAny(res []*regexp.Regexp, vals ...string) bool {
	for _, re := range res {
		for _, v := range vals {
			if re.MatchString(v) {
				return true
			}
		}
	}
	return false
}

// matches applies DescribeInstances' filters.
func (f ec2Facts) matches(in *instance, filters []ec2Filter) bool {
	for _, fl := range filters {
		var ok bool
		switch fl.name {
		case "instance-id":
			ok = matchAny(fl.values, in.id)
		case "instance-state-name":
			ok = matchAny(fl.values, f.state)
		case "instance-state-code":
			ok = matchAny(fl.values, strconv.Itoa(f.code))
		case "instance-type":
			ok = matchAny(fl.values, f.instanceType)
		case "private-ip-address":
			ok = f.privateIP != "" && matchAny(fl.values, f.privateIP)
		case "private-dns-name":
			ok = f.privateDNS != "" && matchAny(fl.values, f.privateDNS)
		case "availability-zone":
			ok = matchAny(fl.values, f.zone)
		case "image-id":
			ok = matchAny(fl.values, f.imageID)
		case "reservation-id":
			ok = matchAny(fl.values, f.reservation)
		case "tag-key":
			for k := range f.tags {
				ok = ok || matchAny(fl.values, k)
			}
		case "tag-value":
			for _, v := range f.tags {
				ok = ok || matchAny(fl.values, v)
			}
		default: // tag:KEY
			v, has := f.tags[strings.TrimPrefix(fl.name, "tag:")]
			ok = has && matchAny(fl.values, v)
		}
		if !ok {
			return false
		}
	}
	return true
}

// ec2Time is how EC2 writes date-times.
func ec2Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

type ec2Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type ec2State struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type ec2InstanceXML struct {
	InstanceID            string   `xml:"instanceId"`
	ImageID               string   `xml:"imageId"`
	InstanceState         ec2State `xml:"instanceState"`
	PrivateDNSName        string   `xml:"privateDnsName"`
	DNSName               string   `xml:"dnsName"`
	StateTransitionReason string   `xml:"reason"`
	AmiLaunchIndex        int      `xml:"amiLaunchIndex"`
	InstanceType          string   `xml:"instanceType"`
	LaunchTime            string   `xml:"launchTime"`
	Placement             struct {
		AvailabilityZone string `xml:"availabilityZone"`
		Tenancy          string `xml:"tenancy"`
	} `xml:"placement"`
	Monitoring struct {
		State string `xml:"state"`
	} `xml:"monitoring"`
	PrivateIPAddress string   `xml:"privateIpAddress,omitempty"`
	Architecture     string   `xml:"architecture"`
	RootDeviceType   string   `xml:"rootDeviceType"`
	Tags             []ec2Tag `xml:"tagSet>item"`
}

type ec2Reservation struct {
	ReservationID string           `xml:"reservationId"`
	OwnerID       string           `xml:"ownerId"`
	Instances     []ec2InstanceXML `xml:"instancesSet>item"`
}

type describeInstancesResponse struct {
	XMLName      xml.Name         `xml:"DescribeInstancesResponse"`
	Xmlns        string           `xml:"xmlns,attr"`
	RequestID    string           `xml:"requestId"`
	Reservations []ec2Reservation `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

func (r *region) describeInstances(q ec2Query, now time.Time, reqID string) (any, *ec2Error) {
	sel, e := r.selectInstances(q, now)
	if e != nil {
		return nil, e
	}
	var match []*instance
	facts := map[string]ec2Facts{}
	for _, in := range sel {
		f := r.ec2Facts(in)
		if f.matches(in, q.filters) {
			match = append(match, in)
			facts[in.id] = f
		}
	}
	page, next, e := ec2Page(q, match)
	if e != nil {
		return nil, e
	}
	res := describeInstancesResponse{Xmlns: ec2Namespace, RequestID: reqID, NextToken: next, Reservations: []ec2Reservation{}}
	for _, in := range page {
		f := facts[in.id]
		x := ec2InstanceXML{InstanceID: in.id, ImageID: f.imageID, InstanceState: ec2State{f.code, f.state},
			PrivateDNSName: f.privateDNS, InstanceType: f.instanceType, LaunchTime: ec2Time(in.launchedAt),
			PrivateIPAddress: f.privateIP, Architecture: "x86_64", RootDeviceType: "ebs"}
		x.Placement.AvailabilityZone, x.Placement.Tenancy = f.zone, "default"
		x.Monitoring.State = "disabled"
		if in.ec2State == ec2Terminated || in.ec2State == ec2ShuttingDown {
			x.StateTransitionReason = "User initiated (" + in.terminatedAt.UTC().Format("2006-01-02 15:04:05 MST") + ")"
		}
		keys := make([]string, 0, len(f.tags))
		for k := range f.tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			x.Tags = append(x.Tags, ec2Tag{k, f.tags[k]})
		}
		res.Reservations = append(res.Reservations, ec2Reservation{ReservationID: f.reservation, OwnerID: r.account,
			Instances: []ec2InstanceXML{x}})
	}
	return res, nil
}

type ec2CheckDetail struct {
	Name          string `xml:"name"`
	Status        string `xml:"status"`
	ImpairedSince string `xml:"impairedSince,omitempty"`
}

type ec2CheckXML struct {
	Status  string           `xml:"status"`
	Details []ec2CheckDetail `xml:"details>item"`
}

func checkXML(c checkResult) ec2CheckXML {
	x := ec2CheckXML{Status: c.status}
	if c.detail != "" {
		d := ec2CheckDetail{Name: "reachability", Status: c.detail}
		if !c.impairedSince.IsZero() {
			d.ImpairedSince = ec2Time(c.impairedSince)
		}
		x.Details = []ec2CheckDetail{d}
	}
	return x
}

type ec2StatusXML struct {
	InstanceID       string      `xml:"instanceId"`
	AvailabilityZone string      `xml:"availabilityZone"`
	InstanceState    ec2State    `xml:"instanceState"`
	SystemStatus     ec2CheckXML `xml:"systemStatus"`
	InstanceStatus   ec2CheckXML `xml:"instanceStatus"`
}

type describeInstanceStatusResponse struct {
	XMLName   xml.Name       `xml:"DescribeInstanceStatusResponse"`
	Xmlns     string         `xml:"xmlns,attr"`
	RequestID string         `xml:"requestId"`
	Statuses  []ec2StatusXML `xml:"instanceStatusSet>item"`
	NextToken string         `xml:"nextToken,omitempty"`
}

func (r *region) describeInstanceStatus(q ec2Query, now time.Time, reqID string) (any, *ec2Error) {
	sel, e := r.selectInstances(q, now)
	if e != nil {
		return nil, e
	}
	type row struct {
		f        ec2Facts
		sys, ins checkResult
	}
	rows := map[string]row{}
	var match []*instance
	for _, in := range sel {
		if !q.includeAll && in.ec2State != ec2Running {
			continue // only running instances unless IncludeAllInstances
		}
		f := r.ec2Facts(in)
		sys, ins := r.statusChecks(in, now)
		ok := true
		for _, fl := range q.filters {
			switch fl.name {
			case "instance-state-name":
				ok = ok && matchAny(fl.values, f.state)
			case "instance-state-code":
				ok = ok && matchAny(fl.values, strconv.Itoa(f.code))
			case "availability-zone":
				ok = ok && matchAny(fl.values, f.zone)
			case "system-status.status":
				ok = ok && matchAny(fl.values, sys.status)
			case "system-status.reachability":
				ok = ok && sys.detail != "" && matchAny(fl.values, sys.detail)
			case "instance-status.status":
				ok = ok && matchAny(fl.values, ins.status)
			case "instance-status.reachability":
				ok = ok && ins.detail != "" && matchAny(fl.values, ins.detail)
			}
		}
		if ok {
			match = append(match, in)
			rows[in.id] = row{f, sys, ins}
		}
	}
	page, next, e := ec2Page(q, match)
	if e != nil {
		return nil, e
	}
	res := describeInstanceStatusResponse{Xmlns: ec2Namespace, RequestID: reqID, NextToken: next, Statuses: []ec2StatusXML{}}
	for _, in := range page {
		rw := rows[in.id]
		res.Statuses = append(res.Statuses, ec2StatusXML{InstanceID: in.id, AvailabilityZone: rw.f.zone,
			InstanceState: ec2State{rw.f.code, rw.f.state}, SystemStatus: checkXML(rw.sys), InstanceStatus: checkXML(rw.ins)})
	}
	return res, nil
}

type ec2ErrorResponse struct {
	XMLName xml.Name `xml:"Response"`
	Errors  struct {
		Error struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
	} `xml:"Errors"`
	RequestID string `xml:"RequestID"`
}

func writeEC2Error(w http.ResponseWriter, e *ec2Error, reqID string) {
	var res ec2ErrorResponse
	res.Errors.Error.Code, res.Errors.Error.Message = e.Code, e.Message
	res.RequestID = reqID
	b, _ := xml.Marshal(res)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
}

// InstanceEC2View is what EC2 and SSM say of a recovery instance at one
// instant (in /_sim/state, beside the instance's DRS view).
type InstanceEC2View struct {
	State          string    `json:"state"` // EC2's name: pending, running, …
	PrivateIP      string    `json:"privateIp,omitempty"`
	InstanceType   string    `json:"instanceType"`
	Running        time.Time `json:"running,omitzero"`        // when it became running
	ChecksPass     time.Time `json:"checksPass,omitzero"`     // when its status checks end initializing
	AgentOnline    time.Time `json:"agentOnline,omitzero"`    // when its SSM agent registers
	SystemStatus   string    `json:"systemStatus"`            // ok, impaired, initializing, not-applicable
	InstanceStatus string    `json:"instanceStatus"`          // the same, for the instance check
	SSMOnline      bool      `json:"ssmOnline"`               // SendCommand accepts it now
	Listed         bool      `json:"listedByEC2"`             // DescribeInstances lists it now
	TerminatedEC2  time.Time `json:"terminatedEC2,omitzero"`  // when EC2 terminated it
	ImpairedSince  time.Time `json:"impairedSince,omitzero"`  // the earlier failed check's start
	Reservation    string    `json:"reservationId,omitempty"` // as DescribeInstances shows it
}

func (r *region) ec2View(in *instance, now time.Time) InstanceEC2View {
	f := r.ec2Facts(in)
	sys, ins := r.statusChecks(in, now)
	v := InstanceEC2View{State: f.state, PrivateIP: f.privateIP, InstanceType: f.instanceType,
		Running: in.runningAt, ChecksPass: in.checksAt, AgentOnline: in.agentAt,
		SystemStatus: sys.status, InstanceStatus: ins.status, SSMOnline: r.ssmOnline(in, now),
		Listed: ec2Visible(in, now), Reservation: f.reservation}
	if in.ec2State == ec2Terminated {
		v.TerminatedEC2 = in.terminatedAt
	}
	for _, t := range []time.Time{sys.impairedSince, ins.impairedSince} {
		if !t.IsZero() && (v.ImpairedSince.IsZero() || t.Before(v.ImpairedSince)) {
			v.ImpairedSince = t
		}
	}
	return v
}
