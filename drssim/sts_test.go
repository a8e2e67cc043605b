package drssim

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// The simulator's STS, through the doors real clients use: the AWS SDK for
// Go's STS client and stscreds provider with BaseEndpoint on the
// simulator, the AWS CLI, and hand-made Query requests for what no SDK
// sends.

const (
	stsHome   = "111122223333" // the three-tier scenario's account
	stsTarget = "222233334444" // the account the role lives in
	stsOther  = "555566667777" // an account the role does not trust
	stsRole   = "arn:aws:iam::" + stsTarget + ":role/ripcord-drs"
	stsExtID  = "ripcord-ext-7f3a"
)

// stsScenario is three-tier plus a second account with one server, and a
// role there that trusts the home account with an external ID.
func stsScenario(t *testing.T) *Scenario {
	t.Helper()
	sc, err := LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.AccessKeys = map[string]string{"AKIDOPS": stsHome}
	sc.Regions = append(sc.Regions, RegionSpec{Account: stsTarget, Region: "us-east-1",
		Servers: []ServerSpec{{ID: "s-0000000000000c0de", Hostname: "target-db-1"}}})
	sc.Roles = []RoleSpec{
		{Account: stsTarget, Name: "ripcord-drs", Principals: []string{stsHome}, ExternalID: stsExtID},
		{Account: stsTarget, Name: "ops-only", Principals: []string{"arn:aws:iam::" + stsHome + ":user/AKIDOPS"}},
		{Account: stsHome, Name: "hop", Principals: []string{"*"}, MaxSessionDuration: Duration(4 * time.Hour)},
	}
	return sc
}

// wallClock is a real-time clock a test moves by hand, for expiry.
type wallClock struct {
	mu sync.Mutex
	t  time.Time
}

func (w *wallClock) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t
}

func (w *wallClock) advance(d time.Duration) {
	w.mu.Lock()
	w.t = w.t.Add(d)
	w.mu.Unlock()
}

// stsClient is a real STS client signing with the given credentials.
func (e *testEnv) stsClient(creds aws.CredentialsProvider) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		Credentials:  creds,
		HTTPClient:   safeBodyClient{e.srv.Client()},
		BaseEndpoint: aws.String(e.srv.URL),
		Retryer:      aws.NopRetryer{},
	})
}

func static(key string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(key, "secret", "")
}

// wantSTSError checks that err is STS's error code with a message holding
// each of want, and returns the message.
func wantSTSError(t *testing.T, err error, code string, want ...string) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want STS error %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	for _, w := range want {
		if !strings.Contains(ae.ErrorMessage(), w) {
			t.Errorf("%s message %q lacks %q", code, ae.ErrorMessage(), w)
		}
	}
	return ae.ErrorMessage()
}

func TestSTSGetCallerIdentityPerAccount(t *testing.T) {
	e := newTestEnv(t, stsScenario(t))
	tests := []struct {
		key, account string
	}{
		{"AKIDOPS", stsHome},               // the scenario's accessKeys
		{"AKIDSIM" + stsTarget, stsTarget}, // the synthetic form
		{"AKIDSIM" + stsOther, stsOther},   // an account the scenario does not know
		{"AKIDUNMAPPEDKEY", stsHome},       // anything else: the default account
		{e.sim.AccessKeyFor(stsHome), stsHome},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			out, err := e.stsClient(static(tt.key)).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatal(err)
			}
			wantARN := "arn:aws:iam::" + tt.account + ":user/" + tt.key
			if aws.ToString(out.Account) != tt.account || aws.ToString(out.Arn) != wantARN {
				t.Errorf("caller %s %s, want %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), tt.account, wantARN)
			}
			if id := aws.ToString(out.UserId); !strings.HasPrefix(id, "AIDA") || len(id) != 21 {
				t.Errorf("UserId %q, want AIDA and 17 characters", id)
			}
		})
	}
	if n := e.sim.STS().Requests["GetCallerIdentity"]; n != int64(len(tests)) {
		t.Errorf("STS counted %d GetCallerIdentity requests, want %d", n, len(tests))
	}
	if n := e.sim.OperationCounts(); len(n) != 0 {
		t.Errorf("STS requests were counted as DRS operations: %v", n)
	}
}

func TestSTSAssumeRoleCrossAccount(t *testing.T) {
	e := newTestEnv(t, stsScenario(t))
	home := e.stsClient(static(e.sim.AccessKeyFor(stsHome)))
	out, err := home.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(stsRole),
		RoleSessionName: aws.String("ripcord"), ExternalId: aws.String(stsExtID), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	cr := out.Credentials
	if k := aws.ToString(cr.AccessKeyId); !strings.HasPrefix(k, "ASIA") || len(k) != 20 ||
		aws.ToString(cr.SecretAccessKey) == "" || aws.ToString(cr.SessionToken) == "" {
		t.Fatalf("credentials %+v", cr)
	}
	if d := time.Until(aws.ToTime(cr.Expiration)); d < 14*time.Minute || d > 16*time.Minute {
		t.Errorf("credentials expire in %s, want 15m (DurationSeconds 900, in real time)", d)
	}
	wantARN := "arn:aws:sts::" + stsTarget + ":assumed-role/ripcord-drs/ripcord"
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != wantARN {
		t.Errorf("assumed role ARN %s, want %s", got, wantARN)
	}
	if id := aws.ToString(out.AssumedRoleUser.AssumedRoleId); !strings.HasPrefix(id, "AROA") || !strings.HasSuffix(id, ":ripcord") {
		t.Errorf("AssumedRoleId %q", id)
	}
	temp := credentials.NewStaticCredentialsProvider(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken))

	t.Run("GetCallerIdentity says the assumed role", func(t *testing.T) {
		who, err := e.stsClient(temp).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(who.Account) != stsTarget || aws.ToString(who.Arn) != wantARN ||
			aws.ToString(who.UserId) != aws.ToString(out.AssumedRoleUser.AssumedRoleId) {
			t.Errorf("caller %s %s %s", aws.ToString(who.Account), aws.ToString(who.Arn), aws.ToString(who.UserId))
		}
	})

	t.Run("DRS calls land in the role's account", func(t *testing.T) {
		c := drs.New(drs.Options{Region: "us-east-1", Credentials: temp, HTTPClient: safeBodyClient{e.srv.Client()},
			BaseEndpoint: aws.String(e.srv.URL), Retryer: aws.NopRetryer{}})
		res, err := c.DescribeSourceServers(ctx(t), &drs.DescribeSourceServersInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) != 1 || aws.ToString(res.Items[0].SourceServerID) != "s-0000000000000c0de" {
			t.Fatalf("servers seen with the role's credentials: %d, want the target account's one", len(res.Items))
		}
		job, err := c.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true),
			SourceServers: []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String("s-0000000000000c0de")}}})
		if err != nil {
			t.Fatal(err)
		}
		target := e.sim.State(StateFilter{Account: stsTarget, Region: "us-east-1"}).Regions[0]
		if len(target.Jobs) != 1 || target.Jobs[0].JobID != aws.ToString(job.Job.JobID) {
			t.Errorf("the target account's model has jobs %+v, want the drill", target.Jobs)
		}
		if n := len(e.sim.State(StateFilter{Account: stsHome, Region: "us-east-1"}).Regions[0].Jobs); n != 1 {
			t.Errorf("the home account has %d jobs, want only its seeded one", n)
		}
	})

	t.Run("stscreds feeds a DRS client", func(t *testing.T) {
		provider := stscreds.NewAssumeRoleProvider(home, stsRole, func(o *stscreds.AssumeRoleOptions) {
			o.ExternalID = aws.String(stsExtID)
			o.RoleSessionName = "provider"
		})
		c := drs.New(drs.Options{Region: "us-east-1", Credentials: aws.NewCredentialsCache(provider),
			HTTPClient: safeBodyClient{e.srv.Client()}, BaseEndpoint: aws.String(e.srv.URL), Retryer: aws.NopRetryer{}})
		res, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) != 1 {
			t.Errorf("%d jobs through the provider's credentials, want the target account's 1", len(res.Items))
		}
	})

	t.Run("the control API lists the role and the sessions, without secrets", func(t *testing.T) {
		var v STSView
		if st, body := behControl(t, e.srv.URL, http.MethodGet, "/_sim/sts", "", &v); st != http.StatusOK {
			t.Fatalf("GET /_sim/sts: %d %s", st, body)
		} else if strings.Contains(string(body), aws.ToString(cr.SecretAccessKey)) || strings.Contains(string(body), aws.ToString(cr.SessionToken)) {
			t.Error("GET /_sim/sts shows a secret key or session token")
		}
		if len(v.Roles) != 3 || len(v.Sessions) != 2 {
			t.Fatalf("%d roles, %d sessions; want 3 and 2", len(v.Roles), len(v.Sessions))
		}
		s := v.Sessions[0]
		if s.AccessKeyID != aws.ToString(cr.AccessKeyId) || s.AssumedRoleARN != wantARN || s.Account != stsTarget ||
			s.AssumedBy != "arn:aws:iam::"+stsHome+":user/"+e.sim.AccessKeyFor(stsHome) || s.ExternalID != stsExtID || s.Expired {
			t.Errorf("session %+v", s)
		}
		if v.Requests["AssumeRole"] != 2 {
			t.Errorf("requests %v", v.Requests)
		}
	})
}

func TestSTSAssumeRoleDenied(t *testing.T) {
	e := newTestEnv(t, stsScenario(t))
	homeKey := "AKIDSIM" + stsHome // not AKIDOPS, the user ops-only trusts
	homeARN := "arn:aws:iam::" + stsHome + ":user/" + homeKey
	tests := []struct {
		name       string
		key        string
		role       string
		externalID *string
		caller     string
	}{
		{"wrong external ID", homeKey, stsRole, aws.String("not-the-one"), homeARN},
		{"missing external ID", homeKey, stsRole, nil, homeARN},
		{"untrusted account", "AKIDSIM" + stsOther, stsRole, aws.String(stsExtID), "arn:aws:iam::" + stsOther + ":user/AKIDSIM" + stsOther},
		{"untrusted user of the trusted account", homeKey, "arn:aws:iam::" + stsTarget + ":role/ops-only", nil, homeARN},
		{"no such role", homeKey, "arn:aws:iam::" + stsTarget + ":role/ripcord-drz", aws.String(stsExtID), homeARN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.stsClient(static(tt.key)).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(tt.role),
				RoleSessionName: aws.String("ripcord"), ExternalId: tt.externalID})
			msg := wantSTSError(t, err, "AccessDenied")
			want := "User: " + tt.caller + " is not authorized to perform: sts:AssumeRole on resource: " + tt.role
			if msg != want {
				t.Errorf("message %q, want %q", msg, want)
			}
			var re interface{ HTTPStatusCode() int }
			if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
				t.Errorf("status: want 403, got %v", err)
			}
		})
	}
	t.Run("the trusted user of ops-only", func(t *testing.T) {
		_, err := e.stsClient(static("AKIDOPS")).AssumeRole(ctx(t), &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::" + stsTarget + ":role/ops-only"), RoleSessionName: aws.String("ops")})
		if err != nil {
			t.Fatal(err)
		}
	})
	if n := len(e.sim.STS().Sessions); n != 1 {
		t.Errorf("%d sessions issued, want only the trusted user's", n)
	}
}

func TestSTSRoleChainingAndDurations(t *testing.T) {
	e := newTestEnv(t, stsScenario(t))
	home := e.stsClient(static(e.sim.AccessKeyFor(stsHome)))
	hop := "arn:aws:iam::" + stsHome + ":role/hop"
	_, err := home.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(stsRole), RoleSessionName: aws.String("long"),
		ExternalId: aws.String(stsExtID), DurationSeconds: aws.Int32(7200)})
	wantSTSError(t, err, "ValidationError", "exceeds the MaxSessionDuration")

	out, err := home.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(hop), RoleSessionName: aws.String("first"),
		DurationSeconds: aws.Int32(4 * 3600)})
	if err != nil {
		t.Fatalf("a 4h session of a role allowing 4h: %v", err)
	}
	cr := out.Credentials
	chained := e.stsClient(credentials.NewStaticCredentialsProvider(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken)))
	_, err = chained.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(hop), RoleSessionName: aws.String("second"),
		DurationSeconds: aws.Int32(2 * 3600)})
	wantSTSError(t, err, "ValidationError", "role chaining")
	// The hop role trusts "*"; the ripcord-drs role trusts the home
	// account, which a session of a home account role belongs to.
	got, err := chained.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(stsRole), RoleSessionName: aws.String("second"),
		ExternalId: aws.String(stsExtID)})
	if err != nil {
		t.Fatalf("chained AssumeRole for an hour: %v", err)
	}
	if v := e.sim.STS().Sessions; len(v) != 2 || v[1].AssumedBy != "arn:aws:sts::"+stsHome+":assumed-role/hop/first" ||
		v[1].AccessKeyID != aws.ToString(got.Credentials.AccessKeyId) {
		t.Errorf("sessions %+v", v)
	}
}

func TestSTSTemporaryCredentialsAreChecked(t *testing.T) {
	wall := &wallClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	e := newTestEnv(t, stsScenario(t), func(o *Options) { o.WallClock = wall.now })
	out, err := e.stsClient(static(e.sim.AccessKeyFor(stsHome))).AssumeRole(ctx(t), &sts.AssumeRoleInput{
		RoleArn: aws.String(stsRole), RoleSessionName: aws.String("ripcord"), ExternalId: aws.String(stsExtID)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToTime(out.Credentials.Expiration), wall.now().Add(time.Hour); !got.Equal(want) {
		t.Errorf("expiration %s, want %s (the default hour, in real time)", got, want)
	}
	key, secret, token := aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken)
	drsWith := func(key, token string) error {
		c := drs.New(drs.Options{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(key, secret, token),
			HTTPClient: safeBodyClient{e.srv.Client()}, BaseEndpoint: aws.String(e.srv.URL), Retryer: aws.NopRetryer{}})
		_, err := c.DescribeJobs(ctx(t), &drs.DescribeJobsInput{})
		return err
	}
	wantDRS := func(err error, code string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != code {
			t.Errorf("DRS: want %s, got %v", code, err)
		}
	}
	if err := drsWith(key, token); err != nil {
		t.Fatalf("with the session's token: %v", err)
	}
	wantDRS(drsWith(key, ""), "UnrecognizedClientException")
	wantDRS(drsWith(key, token+"x"), "UnrecognizedClientException")
	wantDRS(drsWith("ASIAQQQQQQQQQQQQQQQQ", token), "UnrecognizedClientException")
	wantDRS(drsWith(e.sim.AccessKeyFor(stsHome), token), "UnrecognizedClientException")
	_, err = e.stsClient(credentials.NewStaticCredentialsProvider("ASIAQQQQQQQQQQQQQQQQ", "s", "t")).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	wantSTSError(t, err, "InvalidClientTokenId", "security token included in the request is invalid")

	wall.advance(time.Hour)
	wantDRS(drsWith(key, token), "ExpiredTokenException")
	_, err = e.stsClient(credentials.NewStaticCredentialsProvider(key, secret, token)).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	wantSTSError(t, err, "ExpiredToken", "expired")
	if v := e.sim.STS().Sessions; len(v) != 1 || !v[0].Expired {
		t.Errorf("sessions %+v, want one, expired", v)
	}
}

// stsRaw posts a Query request to the simulator with a SigV4 header for
// service (empty: no Authorization header) and returns the status and the
// decoded XML error, if any.
func stsRaw(t *testing.T, e *testEnv, service string, form url.Values) (int, stsErrorResponse, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, e.srv.URL+"/", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if service != "" {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSIM"+stsHome+"/20261125/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=abc")
		req.Header.Set("X-Amz-Date", "20261125T090000Z")
	}
	res := wireRawSend(t, e, req)
	if ct := res.Header.Get("Content-Type"); ct != "text/xml" {
		t.Errorf("Content-Type %q, want text/xml", ct)
	}
	var er stsErrorResponse
	if res.Status != http.StatusOK {
		if err := xml.Unmarshal(res.Body, &er); err != nil {
			t.Fatalf("error body is not STS's XML: %v\n%s", err, res.Body)
		}
		if er.RequestID == "" || er.RequestID != res.Header.Get("x-amzn-RequestId") || er.Xmlns != stsNamespace {
			t.Errorf("error without the request ID or namespace: %s", res.Body)
		}
	}
	return res.Status, er, string(res.Body)
}

func TestSTSMalformedRequests(t *testing.T) {
	e := newTestEnv(t, stsScenario(t))
	assume := func(kv ...string) url.Values {
		v := url.Values{"Action": {"AssumeRole"}, "Version": {stsVersion}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name    string
		service string
		form    url.Values
		status  int
		code    string
		want    []string
	}{
		{"unsigned", "", url.Values{"Action": {"GetCallerIdentity"}, "Version": {stsVersion}},
			403, "MissingAuthenticationToken", []string{"missing Authentication Token"}},
		{"signed for DRS", "drs", url.Values{"Action": {"GetCallerIdentity"}, "Version": {stsVersion}},
			403, "SignatureDoesNotMatch", []string{"'sts'", "'drs'"}},
		{"no action", "sts", url.Values{"Version": {stsVersion}}, 400, "MissingAction", []string{"Action"}},
		{"no version", "sts", url.Values{"Action": {"GetCallerIdentity"}}, 400, "MissingParameter", []string{"Version"}},
		{"another version", "sts", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2010-05-08"}},
			400, "InvalidAction", []string{"Could not find operation GetCallerIdentity for version 2010-05-08"}},
		{"unknown action", "sts", url.Values{"Action": {"GetCallerIdentityy"}, "Version": {stsVersion}},
			400, "InvalidAction", []string{"Could not find operation GetCallerIdentityy"}},
		{"unmodelled action", "sts", url.Values{"Action": {"GetSessionToken"}, "Version": {stsVersion}},
			400, "InvalidAction", []string{"drssim does not model", "GetSessionToken"}},
		{"no role or session name", "sts", assume(), 400, "ValidationError",
			[]string{"2 validation errors detected", "Value null at 'roleArn'", "Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"}},
		{"session name with a slash", "sts", assume("RoleArn", stsRole, "RoleSessionName", "ops/alice"), 400, "ValidationError",
			[]string{"1 validation error detected: Value 'ops/alice' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern"}},
		{"session name too long", "sts", assume("RoleArn", stsRole, "RoleSessionName", strings.Repeat("x", 65)), 400, "ValidationError",
			[]string{"length less than or equal to 64"}},
		{"duration too short", "sts", assume("RoleArn", stsRole, "RoleSessionName", "s1", "DurationSeconds", "60"), 400, "ValidationError",
			[]string{"Value '60' at 'durationSeconds'", "greater than or equal to 900"}},
		{"duration not a number", "sts", assume("RoleArn", stsRole, "RoleSessionName", "s1", "DurationSeconds", "1h"), 400, "ValidationError",
			[]string{"'durationSeconds'"}},
		{"external ID too short", "sts", assume("RoleArn", stsRole, "RoleSessionName", "s1", "ExternalId", "x"), 400, "ValidationError",
			[]string{"'externalId'", "greater than or equal to 2"}},
		{"not an ARN", "sts", assume("RoleArn", "ripcord-drs-role-name-only", "RoleSessionName", "s1"), 400, "ValidationError",
			[]string{"Request ARN is invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, er, body := stsRaw(t, e, tt.service, tt.form)
			if st != tt.status || er.Error.Code != tt.code || er.Error.Type != "Sender" {
				t.Fatalf("status %d, code %s, type %s; want %d %s Sender\n%s", st, er.Error.Code, er.Error.Type, tt.status, tt.code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(er.Error.Message, w) {
					t.Errorf("message %q lacks %q", er.Error.Message, w)
				}
			}
		})
	}
	if n := len(e.sim.STS().Sessions); n != 0 {
		t.Errorf("%d sessions issued by malformed requests", n)
	}

	t.Run("GET with the parameters in the query string", func(t *testing.T) {
		req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, e.srv.URL+"/?Action=GetCallerIdentity&Version="+stsVersion, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSIM"+stsTarget+"/20261125/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=abc")
		req.Header.Set("X-Amz-Date", "20261125T090000Z")
		res := wireRawSend(t, e, req)
		var out getCallerIdentityResponse
		if err := xml.Unmarshal(res.Body, &out); err != nil || res.Status != 200 || out.Result.Account != stsTarget || out.Meta.RequestID == "" {
			t.Errorf("status %d, %+v, %v\n%s", res.Status, out, err, res.Body)
		}
	})
	t.Run("DRS at / is still DRS", func(t *testing.T) {
		res := wireRaw(t, e, http.MethodPost, "/", []byte("{}"), nil)
		res.wantError(t, http.StatusNotFound, "UnknownOperationException", "No DRS operation matches POST")
	})
}

func TestSTSControlAddRole(t *testing.T) {
	e := newTestEnv(t, nil) // three-tier: no roles
	home := e.stsClient(static(e.sim.AccessKeyFor(stsHome)))
	in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + stsTarget + ":role/late"), RoleSessionName: aws.String("s1")}
	_, err := home.AssumeRole(ctx(t), in)
	wantSTSError(t, err, "AccessDenied")

	var created struct {
		ARN string `json:"arn"`
	}
	body := `{"account":"` + stsTarget + `","name":"late","principals":["arn:aws:iam::` + stsHome + `:root"]}`
	if st, b := behControl(t, e.srv.URL, http.MethodPost, "/_sim/sts/roles", body, &created); st != http.StatusCreated || created.ARN != aws.ToString(in.RoleArn) {
		t.Fatalf("POST /_sim/sts/roles: %d %s", st, b)
	}
	if _, err := home.AssumeRole(ctx(t), in); err != nil {
		t.Fatalf("after adding the role: %v", err)
	}
	var m behMessage
	if st, _ := behControl(t, e.srv.URL, http.MethodPost, "/_sim/sts/roles", body, &m); st != http.StatusConflict || !strings.Contains(m.Message, "already exists") {
		t.Errorf("the same role again: %d %q, want 409", st, m.Message)
	}
	for _, bad := range []struct{ body, want string }{
		{`{"name":"x"}`, "principals is required"},
		{`{"name":"a/b","principals":["*"]}`, "IAM role name"},
		{`{"name":"x","principals":["bob"]}`, `principal "bob"`},
		{`{"name":"x","principals":["*"],"externalId":"x"}`, "externalId"},
		{`{"name":"x","principals":["*"],"maxSessionDuration":"13h"}`, "between 1h and 12h"},
		{`{"name":"x","principals":["*"],"trust":["*"]}`, "unknown field"},
	} {
		if st, _ := behControl(t, e.srv.URL, http.MethodPost, "/_sim/sts/roles", bad.body, &m); st != http.StatusBadRequest || !strings.Contains(m.Message, bad.want) {
			t.Errorf("POST %s: %d %q, want 400 mentioning %q", bad.body, st, m.Message, bad.want)
		}
	}
	if v := e.sim.STS(); len(v.Roles) != 1 || v.Roles[0].Account != stsTarget || v.Roles[0].MaxSessionDuration.D() != time.Hour {
		t.Errorf("roles %+v", v.Roles)
	}
}

func TestScenarioRoles(t *testing.T) {
	sc, err := ParseScenario([]byte(`
name: roles
defaultAccount: "111122223333"
roles:
  - name: local
    principals: ["*"]
  - account: "222233334444"
    name: ripcord-drs
    principals: ["111122223333", "arn:aws:iam::111122223333:role/ops"]
    externalId: ext-123
    maxSessionDuration: 2h
`))
	if err != nil {
		t.Fatal(err)
	}
	sim, err := New(Options{Scenario: sc, Clock: NewManualClock(testStart)})
	if err != nil {
		t.Fatal(err)
	}
	roles := sim.STS().Roles
	if len(roles) != 2 || roles[0].ARN != "arn:aws:iam::111122223333:role/local" ||
		roles[1].ARN != "arn:aws:iam::222233334444:role/ripcord-drs" || roles[1].MaxSessionDuration.D() != 2*time.Hour || roles[1].ExternalID != "ext-123" {
		t.Errorf("roles %+v", roles)
	}

	_, err = ParseScenario([]byte(`
name: bad-roles
roles:
  - {name: a, principals: ["*"]}
  - {name: a, principals: ["*"], account: "111122223333"}
  - {name: "", principals: []}
  - {name: b, principals: ["arn:aws:iam::1234:user/x"], maxSessionDuration: 30m}
`))
	for _, want := range []string{"roles[1]: role arn:aws:iam::111122223333:role/a appears twice", "roles[2]:", "principals is required",
		`roles[3]: principal "arn:aws:iam::1234:user/x"`, "maxSessionDuration 30m0s must be between 1h and 12h"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("scenario error %v lacks %q", err, want)
		}
	}
}

func TestControlClock(t *testing.T) {
	e := newTestEnv(t, nil)
	var info ClockInfo
	if st, b := behControl(t, e.srv.URL, http.MethodGet, "/_sim/clock", "", &info); st != http.StatusOK || !info.Now.Equal(testStart) || !info.Manual || info.Scale != 0 {
		t.Errorf("manual clock: %d %+v (%s)", st, info, b)
	}
	e.advance(90 * time.Second)
	var raw map[string]any
	_, b := behControl(t, e.srv.URL, http.MethodGet, "/_sim/clock", "", nil)
	if err := json.Unmarshal(b, &raw); err != nil || raw["now"] != "2026-11-25T09:01:30Z" {
		t.Errorf("now is written in RFC 3339 in UTC: %s", b)
	}

	sc, err := LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	scaled, err := New(Options{Scenario: sc, TimeScale: 60, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	before := scaled.Now()
	info = scaled.Clock()
	after := scaled.Now()
	if info.Manual || info.Scale != 60 || info.Now.Before(before) || info.Now.After(after) || info.Now.Location() != time.UTC {
		t.Errorf("scaled clock: %+v, between %s and %s", info, before, after)
	}
}

// awsCLIPath finds the AWS CLI, or skips loudly (fails with RIPCORD_CI set).
func awsCLIPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("aws")
	if err != nil {
		skipOutsideCI(t, "aws CLI not on PATH (%v): the test with the real AWS CLI did not run; install aws-cli v1 or v2", err)
	}
	return p
}

// skipOutsideCI skips the test loudly, except in CI (RIPCORD_CI set), where
// a test that cannot run is a failure: CI never skips.
func skipOutsideCI(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("RIPCORD_CI") != "" {
		t.Fatalf("RIPCORD_CI is set and this test cannot run: "+format, args...)
	}
	t.Skipf("SKIPPED: "+format+" (RIPCORD_CI=1 makes this a failure)", args...)
}

// awsCLI runs the AWS CLI with only the given credentials in its
// environment and returns stdout, stderr and the exit status.
func awsCLI(t *testing.T, path, accessKey, secret, token string, args ...string) (string, string, int) {
	t.Helper()
	dir := t.TempDir()
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_") })
	env = append(env, "AWS_ACCESS_KEY_ID="+accessKey, "AWS_SECRET_ACCESS_KEY="+secret,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
	if token != "" {
		env = append(env, "AWS_SESSION_TOKEN="+token)
	}
	c, cancel := context.WithTimeout(ctx(t), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(c, path, args...)
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

func TestSTSWithAWSCLI(t *testing.T) {
	cli := awsCLIPath(t)
	e := newTestEnv(t, stsScenario(t))
	endpoint := []string{"--endpoint-url", e.srv.URL, "--region", "us-east-1", "--output", "json"}
	homeKey := e.sim.AccessKeyFor(stsHome)

	out, errOut, code := awsCLI(t, cli, "AKIDSIM"+stsTarget, "x", "", append([]string{"sts", "get-caller-identity"}, endpoint...)...)
	var who struct{ UserId, Account, Arn string }
	if code != 0 || json.Unmarshal([]byte(out), &who) != nil || who.Account != stsTarget || who.Arn != "arn:aws:iam::"+stsTarget+":user/AKIDSIM"+stsTarget {
		t.Fatalf("get-caller-identity: exit %d, %+v\nstdout: %s\nstderr: %s", code, who, out, errOut)
	}

	out, errOut, code = awsCLI(t, cli, homeKey, "x", "", append([]string{"sts", "assume-role", "--role-arn", stsRole,
		"--role-session-name", "cli", "--external-id", stsExtID}, endpoint...)...)
	var assumed struct {
		Credentials     struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string }
		AssumedRoleUser struct{ Arn, AssumedRoleId string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &assumed) != nil || assumed.AssumedRoleUser.Arn != "arn:aws:sts::"+stsTarget+":assumed-role/ripcord-drs/cli" {
		t.Fatalf("assume-role: exit %d, %+v\nstdout: %s\nstderr: %s", code, assumed, out, errOut)
	}
	cr := assumed.Credentials
	out, errOut, code = awsCLI(t, cli, cr.AccessKeyId, cr.SecretAccessKey, cr.SessionToken, append([]string{"sts", "get-caller-identity"}, endpoint...)...)
	if code != 0 || !strings.Contains(out, `"arn:aws:sts::`+stsTarget+`:assumed-role/ripcord-drs/cli"`) {
		t.Errorf("get-caller-identity with the session: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	out, errOut, code = awsCLI(t, cli, cr.AccessKeyId, cr.SecretAccessKey, cr.SessionToken, append([]string{"drs", "describe-source-servers"}, endpoint...)...)
	if code != 0 || !strings.Contains(out, "s-0000000000000c0de") || strings.Contains(out, db1) {
		t.Errorf("drs describe-source-servers with the session: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	_, errOut, code = awsCLI(t, cli, homeKey, "x", "", append([]string{"sts", "assume-role", "--role-arn", stsRole,
		"--role-session-name", "cli", "--external-id", "wrong-id"}, endpoint...)...)
	want := "An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:iam::" + stsHome + ":user/" + homeKey +
		" is not authorized to perform: sts:AssumeRole on resource: " + stsRole
	if code != 254 && code != 255 || !strings.Contains(errOut, want) {
		t.Errorf("assume-role with a wrong external ID: exit %d, stderr:\n%s\nwant %q", code, errOut, want)
	}
}
