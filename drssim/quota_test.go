package drssim

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
)

// Quota tests: DRS's job limits (docs/drs.md §4), their error shapes, their
// configuration through Scenario.Quotas, and capacity coming back.

// wireQuota asserts err is a ServiceQuotaExceededException (402) for code.
func wireQuota(t *testing.T, err error, code string, inMessage ...string) {
	t.Helper()
	var qe *types.ServiceQuotaExceededException
	if !errors.As(err, &qe) {
		t.Fatalf("want ServiceQuotaExceededException %s, got %v", code, err)
	}
	if got := aws.ToString(qe.QuotaCode); got != code {
		t.Errorf("quotaCode %q, want %q", got, code)
	}
	if aws.ToString(qe.ServiceCode) != "drs" {
		t.Errorf("serviceCode %q", aws.ToString(qe.ServiceCode))
	}
	if got := wireStatus(t, err); got != http.StatusPaymentRequired {
		t.Errorf("HTTP %d, want 402", got)
	}
	for _, s := range inMessage {
		if !strings.Contains(aws.ToString(qe.Message), s) {
			t.Errorf("message %q does not mention %q", aws.ToString(qe.Message), s)
		}
	}
}

// wireActive returns (active jobs, servers in active jobs) from the model.
func wireActive(t *testing.T, e *testEnv) (int, int) {
	t.Helper()
	rv := wireRegion(t, e, wireAccount, "us-east-1")
	return rv.ActiveJobs, rv.ServersInActiveJobs
}

// wireWaitIdle advances the clock until no job is active. It moves in
// five-minute steps rather than event by event: with hundreds of servers in
// flight, rendering the model after every transition would be slow.
func wireWaitIdle(t *testing.T, e *testEnv) {
	t.Helper()
	for i := 0; i < 36; i++ {
		if n, _ := wireActive(t, e); n == 0 {
			return
		}
		e.advance(5 * time.Minute)
	}
	n, s := wireActive(t, e)
	t.Fatalf("still %d active jobs (%d servers) after 3h of simulated time", n, s)
}

func TestServersPerStartRecovery(t *testing.T) {
	e := newTestEnv(t, wireManyServers(450, Quotas{}))
	servers := wireServerIDs(t, e)
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries)
	cases := []struct {
		n      int
		code   string // ErrorCode, "" for success
		quota  string
		inText string
	}{
		{0, "ValidationException", "", "got 0"},
		{1, "", "", ""},
		{100, "", "", ""},
		{101, "ServiceQuotaExceededException", "L-B827C881", "Cannot launch 101 source servers"},
		{200, "ServiceQuotaExceededException", "L-B827C881", "quota is 100"},
		{201, "ValidationException", "", "got 201"},
	}
	next := 0
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			ids := servers[next : next+tc.n]
			in := wireLaunch(true, ids...)
			if in.SourceServers == nil {
				in.SourceServers = []types.StartRecoveryRequestSourceServer{} // sent as "sourceServers":[]
			}
			jobsBefore, srvBefore := wireActive(t, e)
			out, err := c.StartRecovery(ctx(t), in)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Job.ParticipatingServers) != tc.n {
					t.Errorf("job has %d servers, want %d", len(out.Job.ParticipatingServers), tc.n)
				}
				next += tc.n
				return
			}
			if got := wireAPIError(t, err).ErrorCode(); got != tc.code {
				t.Fatalf("ErrorCode %q, want %q (%v)", got, tc.code, err)
			}
			if tc.quota != "" {
				wireQuota(t, err, tc.quota, tc.inText)
			} else if !strings.Contains(wireAPIError(t, err).ErrorMessage(), tc.inText) {
				t.Errorf("message %q does not mention %q", wireAPIError(t, err).ErrorMessage(), tc.inText)
			}
			if j, s := wireActive(t, e); j != jobsBefore || s != srvBefore {
				t.Errorf("a refused launch changed the model: %d/%d active, was %d/%d", j, s, jobsBefore, srvBefore)
			}
		})
	}
}

func TestActiveJobQuota(t *testing.T) {
	e := newTestEnv(t, wireManyServers(30, Quotas{}))
	servers := wireServerIDs(t, e)
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries)
	for i := 0; i < 20; i++ {
		if _, err := c.StartRecovery(ctx(t), wireLaunch(true, servers[i])); err != nil {
			t.Fatalf("job %d: %v", i+1, err)
		}
	}
	if j, s := wireActive(t, e); j != 20 || s != 20 {
		t.Fatalf("model: %d active jobs, %d servers; want 20, 20", j, s)
	}
	_, err := c.StartRecovery(ctx(t), wireLaunch(true, servers[20]))
	wireQuota(t, err, "L-D88FAC3A", "20 jobs are active", "quota is 20")
	// The refused launch created no job.
	if j, _ := wireActive(t, e); j != 20 {
		t.Fatalf("active jobs %d after the refused launch", j)
	}
	// Capacity comes back when jobs complete.
	wireWaitIdle(t, e)
	if _, err := c.StartRecovery(ctx(t), wireLaunch(true, servers[20])); err != nil {
		t.Fatalf("launch after jobs completed: %v", err)
	}
}

func TestActiveJobQuotaCountsTerminateJobs(t *testing.T) {
	e := newTestEnv(t, wireManyServers(30, Quotas{ActiveJobs: 3}))
	servers := wireServerIDs(t, e)
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries)
	wireRunDrill(e, c, servers[0], servers[1])
	var insts []string
	for _, in := range wireRegion(t, e, wireAccount, "us-east-1").Instances {
		insts = append(insts, in.RecoveryInstanceID)
	}
	if len(insts) != 2 {
		t.Fatalf("%d instances", len(insts))
	}
	for i := 2; i < 4; i++ {
		if _, err := c.StartRecovery(ctx(t), wireLaunch(true, servers[i])); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.TerminateRecoveryInstances(ctx(t), &drs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: insts[:1]}); err != nil {
		t.Fatalf("third active job (terminate): %v", err)
	}
	_, err := c.TerminateRecoveryInstances(ctx(t), &drs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: insts[1:]})
	wireQuota(t, err, "L-D88FAC3A", "quota is 3")
	_, err = c.StartRecovery(ctx(t), wireLaunch(true, servers[5]))
	wireQuota(t, err, "L-D88FAC3A")
}

func TestServersInActiveJobsQuota(t *testing.T) {
	e := newTestEnv(t, wireManyServers(620, Quotas{}))
	servers := wireServerIDs(t, e)
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries)
	for i := 0; i < 5; i++ {
		if _, err := c.StartRecovery(ctx(t), wireLaunch(true, servers[i*100:(i+1)*100]...)); err != nil {
			t.Fatalf("job %d of 100 servers: %v", i+1, err)
		}
	}
	if j, s := wireActive(t, e); j != 5 || s != 500 {
		t.Fatalf("model: %d jobs, %d servers; want 5, 500", j, s)
	}
	_, err := c.StartRecovery(ctx(t), wireLaunch(true, servers[500]))
	wireQuota(t, err, "L-05AFA8C6", "500 are already in active jobs", "quota is 500")
	// Capacity returns as jobs complete; the next job may be as large as
	// the room left.
	wireWaitIdle(t, e)
	if _, err := c.StartRecovery(ctx(t), wireLaunch(true, servers[500:600]...)); err != nil {
		t.Fatalf("launch after jobs completed: %v", err)
	}
}

func TestQuotasFromScenario(t *testing.T) {
	sc := wireManyServers(40, Quotas{ServersPerJob: 5, ActiveJobs: 3, ServersInActiveJobs: 12})
	e := newTestEnv(t, sc)
	servers := wireServerIDs(t, e)
	c := e.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries)

	_, err := c.StartRecovery(ctx(t), wireLaunch(true, servers[0:6]...))
	wireQuota(t, err, "L-B827C881", "Cannot launch 6", "quota is 5")
	if _, err := c.StartRecovery(ctx(t), wireLaunch(true, servers[0:5]...)); err != nil {
		t.Fatalf("5 servers with a quota of 5: %v", err)
	}
	if _, err := c.StartRecovery(ctx(t), wireLaunch(true, servers[5:10]...)); err != nil {
		t.Fatalf("10 of 12: %v", err)
	}
	_, err = c.StartRecovery(ctx(t), wireLaunch(true, servers[10:13]...))
	wireQuota(t, err, "L-05AFA8C6", "Cannot add 3", "quota is 12")
	if _, err := c.StartRecovery(ctx(t), wireLaunch(true, servers[10:12]...)); err != nil {
		t.Fatalf("12 of 12: %v", err)
	}
	_, err = c.StartRecovery(ctx(t), wireLaunch(true, servers[12]))
	// Both the job and the server quota are full; the job quota is checked first.
	wireQuota(t, err, "L-D88FAC3A", "quota is 3")
	wireWaitIdle(t, e)
	for i := 0; i < 3; i++ {
		if _, err := c.StartRecovery(ctx(t), wireLaunch(true, servers[20+i*4:24+i*4]...)); err != nil {
			t.Fatalf("after completion, job %d: %v", i+1, err)
		}
	}
	_, err = c.StartRecovery(ctx(t), wireLaunch(true, servers[39]))
	wireQuota(t, err, "L-D88FAC3A")

	// The same quotas from YAML.
	y, err := ParseScenario([]byte(`
defaultAccount: "111122223333"
quotas: {serversPerJob: 2}
regions:
  - region: us-east-1
    servers: [{id: s-0000000000000000a}, {id: s-0000000000000000b}, {id: s-0000000000000000c}]
`))
	if err != nil {
		t.Fatal(err)
	}
	e2 := newTestEnv(t, y)
	_, err = e2.clientFor("AKIDTESTDEFAULT", "us-east-1", noRetries).StartRecovery(ctx(t),
		wireLaunch(true, "s-0000000000000000a", "s-0000000000000000b", "s-0000000000000000c"))
	wireQuota(t, err, "L-B827C881", "quota is 2")
}

// TestQuotaIsPerRegion: each account and region has its own quotas.
func TestQuotaIsPerRegion(t *testing.T) {
	sc := &Scenario{DefaultAccount: wireAccount, Quotas: Quotas{ActiveJobs: 1},
		Generate: &GenerateSpec{Servers: 8, Accounts: []string{wireAccount, "444455556666"}, Regions: []string{"us-east-1", "us-west-2"}}}
	e := newTestEnv(t, sc)
	for _, acct := range []string{wireAccount, "444455556666"} {
		for _, reg := range []string{"us-east-1", "us-west-2"} {
			rv := wireRegion(t, e, acct, reg)
			c := e.clientFor("AKIDSIM"+acct, reg, noRetries)
			if _, err := c.StartRecovery(ctx(t), wireLaunch(true, rv.Servers[0].SourceServerID)); err != nil {
				t.Fatalf("%s/%s first job: %v", acct, reg, err)
			}
			_, err := c.StartRecovery(ctx(t), wireLaunch(true, rv.Servers[1].SourceServerID))
			wireQuota(t, err, "L-D88FAC3A")
		}
	}
}
