package drs_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
)

// Failures without an HTTP status from DRS, produced for real (a closed
// port, a host that does not resolve, a request the simulator refuses to
// authenticate, an STS that does not answer), must each get the code and
// class that say what to do: transient when the same call may work later,
// permanent when a person must act.

// closedPort returns the URL of a local port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	return url
}

// unsigned strips the signature from every request: the simulator sees an
// unsigned request, as AWS would.
type unsigned struct{ next aws.HTTPClient }

func (u unsigned) Do(r *http.Request) (*http.Response, error) {
	r.Header.Del("Authorization")
	return u.next.Do(r)
}

func TestFailuresWithoutAnAnswerAreClassified(t *testing.T) {
	e := newEnv(t, threeTier(t))
	e.idle()
	tests := []struct {
		name    string
		cfg     func(*drs.Config)
		code    string
		class   ripcord.ErrorClass
		inMsg   string
		inHint  string
		denied  bool // IsAccessDenied
		reached bool // the request reached the simulator's DRS
	}{
		{"DRS on a closed port", func(c *drs.Config) { c.Endpoint = closedPort(t) },
			ripcord.EUNAVAILABLE, ripcord.ClassTransient, "connection refused", "network path", false, false},
		{"DRS at a host that does not resolve", func(c *drs.Config) { c.Endpoint = "http://drs.nonexistent.invalid" },
			ripcord.EUNAVAILABLE, ripcord.ClassTransient, "nonexistent.invalid", "does not resolve", false, false},
		{"an unsigned request", func(c *drs.Config) { c.HTTPClient = unsigned{e.strip} },
			ripcord.EINVALID, ripcord.ClassPermanent, "MissingAuthenticationTokenException", "credentials", true, true},
		{"temporary credentials the simulator never issued", func(c *drs.Config) {
			c.Credentials = credentials.NewStaticCredentialsProvider("ASIAQQQQQQQQQQQQQQQQ", "secret", "token")
		}, ripcord.EINVALID, ripcord.ClassPermanent, "UnrecognizedClientException", "credentials", true, true},
		{"no credentials to sign with", func(c *drs.Config) { c.Credentials = aws.AnonymousCredentials{} },
			ripcord.EINVALID, ripcord.ClassPermanent, "no usable AWS credentials", "AWS_PROFILE", true, false},
		{"STS on a closed port", func(c *drs.Config) {
			c.STSEndpoint, c.RoleARN = closedPort(t), targetRole
		}, ripcord.EUNAVAILABLE, ripcord.ClassTransient, "getting credentials failed", "did not answer", false, false},
		{"STS at a host that does not resolve", func(c *drs.Config) {
			c.STSEndpoint, c.RoleARN = "http://sts.nonexistent.invalid", targetRole
		}, ripcord.EUNAVAILABLE, ripcord.ClassTransient, "nonexistent.invalid", "did not answer", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.requests("StartRecovery") + e.requests("DescribeSourceServers")
			c := e.newClient(tt.cfg)
			for _, call := range []struct {
				op  string
				err func() error
			}{
				{"DescribeSourceServers", func() error { _, err := c.ListSourceServers(ctx(t), nil); return err }},
				{"StartRecovery", func() error { _, err := c.StartRecovery(ctx(t), launch(db1), true, nil); return err }},
			} {
				err := call.err()
				de := drsError(t, err)
				if de.Op != call.op || ripcord.ErrorCode(err) != tt.code || ripcord.Classify(err) != tt.class {
					t.Errorf("%s: %v: op %s, code %s, class %s; want %s, %s", call.op, err, de.Op, ripcord.ErrorCode(err), ripcord.Classify(err), tt.code, tt.class)
				}
				if drs.IsUnclear(err) {
					t.Errorf("%s: unclear, but nothing can have happened: %v", call.op, err)
				}
				if drs.IsAccessDenied(err) != tt.denied {
					t.Errorf("%s: IsAccessDenied = %v, want %v", call.op, drs.IsAccessDenied(err), tt.denied)
				}
				if !strings.Contains(err.Error(), tt.inMsg) || !strings.Contains(ripcord.ErrorHint(err), tt.inHint) {
					t.Errorf("%s: error %q, hint %q; want %q and %q in them", call.op, err, ripcord.ErrorHint(err), tt.inMsg, tt.inHint)
				}
			}
			after := e.requests("StartRecovery") + e.requests("DescribeSourceServers")
			if reached := after > before; reached != tt.reached {
				t.Errorf("requests reached the simulator's DRS: %v, want %v", reached, tt.reached)
			}
			if len(e.launchJobs()) != 0 {
				t.Fatal("a job was created")
			}
		})
	}
}
