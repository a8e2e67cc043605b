package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/ripcord-dr/ripcord"
)

// Sender delivers a message to one destination. An error wrapping
// ErrPermanent is not retried.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrPermanent marks a failure that retrying cannot mend (a 4xx from a
// webhook, a topic that does not exist, access denied).
var ErrPermanent = errors.New("permanent")

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() []error { return []error{e.err, ErrPermanent} }

// Webhook posts messages to a URL, as ripcord's JSON or as a
// Slack-compatible message.
type Webhook struct {
	URL    string
	Slack  bool
	Client *http.Client // nil: a client with a 10 s timeout
}

// Send posts m. A 2xx answer is success; 408, 425, 429 and 5xx are
// retried; other answers are permanent failures.
func (w Webhook) Send(ctx context.Context, m Message) error {
	body := m.JSON()
	if w.Slack {
		body = m.Slack()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return permanentError{fmt.Errorf("webhook %s: %w", redact(w.URL), err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ripcord-notify/1")
	req.Header.Set("X-Ripcord-Delivery", m.ID)
	req.Header.Set("X-Ripcord-Kind", m.Kind)
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		// The URL (with its secret) is in url.Error's text: say only where.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap()
		}
		return fmt.Errorf("webhook %s: %w", redact(w.URL), err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("webhook %s answered %s: %s", redact(w.URL), resp.Status, strings.TrimSpace(string(snippet)))
	switch s := resp.StatusCode; {
	case s == http.StatusRequestTimeout, s == http.StatusTooEarly, s == http.StatusTooManyRequests, s >= 500:
		return err
	}
	return permanentError{err}
}

// redact shows a webhook URL's scheme and host only.
func redact(u string) string {
	return strings.TrimPrefix(DestinationKey(ripcord.Notification{Webhook: u}), "webhook:")
}

// SNS publishes messages to a topic: the message is ripcord's JSON, the
// subject its title.
type SNS struct {
	TopicARN string
	client   *sns.Client
}

// NewSNS returns a sender publishing to topicARN with cfg (a target's AWS
// configuration, drs.LoadAWSConfig in cmd/ripcord) in the topic's region,
// at endpoint when not empty (a ripcord simulator serves SNS). The SDK
// does not retry: the Dispatcher does, on its clock.
func NewSNS(cfg aws.Config, topicARN, endpoint string) *SNS {
	region := cfg.Region
	if f := strings.Split(topicARN, ":"); len(f) == 6 && f[3] != "" {
		region = f[3]
	}
	return &SNS{TopicARN: topicARN, client: sns.NewFromConfig(cfg, func(o *sns.Options) {
		o.Region = region
		o.RetryMaxAttempts = 1
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})}
}

// Send publishes m.
func (s *SNS) Send(ctx context.Context, m Message) error {
	subject := m.Title()
	if len(subject) > 100 { // SNS's limit, in ASCII
		subject = subject[:97] + "..."
	}
	_, err := s.client.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(s.TopicARN), Message: aws.String(string(m.JSON())),
		Subject: aws.String(asciiOnly(subject))})
	if err == nil {
		return nil
	}
	err = fmt.Errorf("sns publish to %s: %w", s.TopicARN, err)
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorFault() == smithy.FaultClient && !ripcord.IsThrottleType(ae.ErrorCode(), 0) {
		return permanentError{err}
	}
	return err
}

// asciiOnly replaces what SNS refuses in a subject (non-ASCII, control
// characters) with '?'.
func asciiOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '?'
		}
		return r
	}, s)
}
