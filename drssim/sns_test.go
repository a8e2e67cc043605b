package drssim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
)

const snsTopic = "arn:aws:sns:us-east-1:111122223333:dr-alerts"

func snsEnv(t *testing.T) *testEnv {
	t.Helper()
	sc, err := LoadScenario("three-tier")
	if err != nil {
		t.Fatal(err)
	}
	sc.SNSTopics = []string{snsTopic}
	return newTestEnv(t, sc)
}

func snsClient(url, key, region string) *sns.Client {
	return sns.New(sns.Options{Region: region, BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(key, "secret", "")})
}

// TestSNSPublishSDK: the real SDK publishes to a scenario's topic; the
// message shows in /_sim/state; an unknown topic is NotFound, another
// account's caller an AuthorizationError, a topic of another region an
// InvalidParameter, all as the SDK parses SNS's errors.
func TestSNSPublishSDK(t *testing.T) {
	e := snsEnv(t)
	c := snsClient(e.srv.URL, "AKIDSIM111122223333", "us-east-1")
	out, err := c.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(snsTopic), Message: aws.String(`{"kind":"started"}`), Subject: aws.String("ripcord: started")})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if aws.ToString(out.MessageId) == "" {
		t.Fatal("Publish returned no MessageId")
	}
	resp, err := http.Get(e.srv.URL + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st StateView
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.SNS) != 1 || st.SNS[0].MessageID != aws.ToString(out.MessageId) || st.SNS[0].TopicARN != snsTopic ||
		st.SNS[0].Message != `{"kind":"started"}` || st.SNS[0].Subject != "ripcord: started" ||
		st.SNS[0].Caller != "arn:aws:iam::111122223333:user/AKIDSIM111122223333" || !st.SNS[0].At.Equal(testStart) {
		t.Fatalf("/_sim/state sns = %+v", st.SNS)
	}

	for _, tt := range []struct {
		name, key, region, topic, code string
	}{
		{"unknown topic", "AKIDSIM111122223333", "us-east-1", "arn:aws:sns:us-east-1:111122223333:nothing", "NotFound"},
		{"another account", "AKIDSIM444455556666", "us-east-1", snsTopic, "AuthorizationError"},
		{"another region", "AKIDSIM111122223333", "us-west-2", snsTopic, "InvalidParameter"},
		{"not a topic ARN", "AKIDSIM111122223333", "us-east-1", "arn:aws:sqs:us-east-1:111122223333:q", "InvalidParameter"},
	} {
		_, err := snsClient(e.srv.URL, tt.key, tt.region).Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(tt.topic), Message: aws.String("x")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tt.code || ae.ErrorFault() != smithy.FaultClient {
			t.Errorf("%s: %v, want %s (a client fault)", tt.name, err, tt.code)
		}
	}
	if n := len(e.sim.SNSMessages()); n != 1 {
		t.Errorf("%d messages kept after refused publishes, want 1", n)
	}
}

// TestSNSPublishCLI: the AWS CLI publishes through --endpoint-url.
func TestSNSPublishCLI(t *testing.T) {
	cli := awsCLIPath(t)
	e := snsEnv(t)
	out, errOut, code := awsCLI(t, cli, "AKIDSIM111122223333", "x", "", "sns", "publish", "--topic-arn", snsTopic,
		"--message", "hello from the CLI", "--subject", "drill", "--endpoint-url", e.srv.URL, "--region", "us-east-1", "--output", "json")
	var res struct{ MessageId string }
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.MessageId == "" {
		t.Fatalf("sns publish: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	got := e.sim.SNSMessages()
	if len(got) != 1 || got[0].Message != "hello from the CLI" || got[0].Subject != "drill" || got[0].MessageID != res.MessageId {
		t.Fatalf("published: %+v", got)
	}
	_, errOut, code = awsCLI(t, cli, "AKIDSIM111122223333", "x", "", "sns", "publish", "--topic-arn", "arn:aws:sns:us-east-1:111122223333:nothing",
		"--message", "x", "--endpoint-url", e.srv.URL, "--region", "us-east-1")
	if code == 0 || !strings.Contains(errOut, "NotFound") {
		t.Fatalf("publish to an unknown topic: exit %d, stderr %s; want NotFound", code, errOut)
	}
}
