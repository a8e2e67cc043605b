package drssim

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// SNS on the simulator's own port, on SNS's wire protocol (AWS Query, as
// aws-sdk-go-v2/service/sns and the AWS CLI send it): a form-encoded body
// Action=Publish&Version=2010-03-31&TopicArn=…&Message=…&Subject=… posted
// to "/", signed with SigV4 for the service "sns", answered in XML.
// Modelled: Publish to the scenario's topics (snsTopics:), by a caller of
// the topic's account, in the topic's region; published messages are kept
// and shown in /_sim/state. Other actions are answered as not modelled.

const (
	snsVersion   = "2010-03-31"
	snsNamespace = "http://sns.amazonaws.com/doc/2010-03-31/"
	// snsMaxMessage is SNS's limit on a message, in bytes.
	snsMaxMessage = 256 * 1024
)

var snsTopicRe = regexp.MustCompile(`^arn:aws[a-z-]*:sns:([a-z0-9-]+):([0-9]{12}):([A-Za-z0-9_-]{1,256}(\.fifo)?)$`)

// SNSMessage is one message published to a topic.
type SNSMessage struct {
	MessageID string    `json:"messageId"`
	TopicARN  string    `json:"topicArn"`
	Subject   string    `json:"subject,omitempty"`
	Message   string    `json:"message"`
	Caller    string    `json:"caller"` // the publishing identity's ARN
	At        time.Time `json:"at"`     // simulated time
}

// snsTopics are the topics and what was published to them.
type snsTopics struct {
	mu        sync.Mutex
	topics    map[string]bool
	published []SNSMessage
}

func (t *snsTopics) addTopics(arns []string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.topics == nil {
		t.topics = map[string]bool{}
	}
	for _, a := range arns {
		if !snsTopicRe.MatchString(a) {
			return fmt.Errorf("scenario snsTopics: %q is not an SNS topic ARN; use arn:aws:sns:REGION:ACCOUNT:NAME", a)
		}
		t.topics[a] = true
	}
	return nil
}

// SNSMessages returns the messages published so far, oldest first.
func (s *Sim) SNSMessages() []SNSMessage {
	s.sns.mu.Lock()
	defer s.sns.mu.Unlock()
	return append([]SNSMessage(nil), s.sns.published...)
}

func snsError(status int, code, msg string) *stsError {
	return &stsError{Code: code, Status: status, Message: msg, Type: "Sender"}
}

func (s *Sim) serveSNS(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	reqID := newRequestID(s.seed)
	sw.Header().Set("x-amzn-RequestId", reqID)
	action, err := s.serveSNSRequest(sw, r, reqID)
	code := ""
	if err != nil {
		code = err.Code
		writeSNSError(sw, err, reqID)
	}
	s.log.Info("sns request", "op", action, "status", sw.status(), "error", code, "request_id", reqID)
}

func (s *Sim) serveSNSRequest(w http.ResponseWriter, r *http.Request, reqID string) (string, *stsError) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return "-", snsError(http.StatusMethodNotAllowed, "InvalidAction", "SNS takes POST (or GET) Query requests")
	}
	params, perr := stsParams(w, r) // the Query protocol, as STS's
	if perr != nil {
		return "-", perr
	}
	sig, p := parseSigV4(r, "sns")
	if p != nil {
		if p.kind == authMissing {
			return "-", snsError(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
		}
		return "-", snsError(http.StatusBadRequest, "IncompleteSignature", p.msg)
	}
	action := params.Get("Action")
	if action == "" {
		return "-", snsError(http.StatusBadRequest, "MissingAction", "The request must contain the parameter Action, e.g. Action=Publish&Version="+snsVersion)
	}
	if v := params.Get("Version"); v != snsVersion {
		return action, snsError(http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", action, v))
	}
	who, problem := s.identify(sig.accessKey, sig.token)
	switch problem {
	case credentialsInvalid:
		return action, snsError(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
	case credentialsExpired:
		return action, snsError(http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired")
	}
	if action != "Publish" {
		return action, snsError(http.StatusBadRequest, "InvalidAction",
			fmt.Sprintf("drssim does not model the SNS operation %s; it models Publish (see docs/drssim.md)", action))
	}
	topic, msg, subject := params.Get("TopicArn"), params.Get("Message"), params.Get("Subject")
	if topic == "" {
		if params.Get("TargetArn") != "" || params.Get("PhoneNumber") != "" {
			return action, snsError(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: drssim models Publish to a TopicArn only")
		}
		return action, snsError(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
	}
	if !params.Has("Message") || msg == "" {
		return action, snsError(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null")
	}
	if len(msg) > snsMaxMessage {
		return action, snsError(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Message too long")
	}
	if subject != "" && (len(subject) > 100 || !asciiPrintable(subject)) {
		return action, snsError(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Subject")
	}
	m := snsTopicRe.FindStringSubmatch(topic)
	if m == nil {
		return action, snsError(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: TopicArn")
	}
	if m[1] != sig.region {
		return action, snsError(http.StatusBadRequest, "InvalidParameter",
			fmt.Sprintf("Invalid parameter: TopicArn: the topic is in %s, the request was signed for %s", m[1], sig.region))
	}
	s.sns.mu.Lock()
	defer s.sns.mu.Unlock()
	if !s.sns.topics[topic] {
		return action, snsError(http.StatusNotFound, "NotFound", "Topic does not exist")
	}
	if who.account != m[2] {
		return action, snsError(http.StatusForbidden, "AuthorizationError",
			fmt.Sprintf("User: %s is not authorized to perform: SNS:Publish on resource: %s because no resource-based policy allows the SNS:Publish action", who.arn, topic))
	}
	id := newRequestID(s.seed)
	s.sns.published = append(s.sns.published, SNSMessage{MessageID: id, TopicARN: topic, Subject: subject, Message: msg,
		Caller: who.arn, At: s.clock.Now()})
	var res publishResponse
	res.Xmlns = snsNamespace
	res.Result.MessageID = id
	res.Meta.RequestID = reqID
	b, err := xml.Marshal(res)
	if err != nil {
		return action, &stsError{Code: "InternalFailure", Status: http.StatusInternalServerError, Type: "Receiver", Message: err.Error()}
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return action, nil
}

func asciiPrintable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r > '~' })
}

type publishResponse struct {
	XMLName xml.Name `xml:"PublishResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		MessageID string `xml:"MessageId"`
	} `xml:"PublishResult"`
	Meta stsMeta `xml:"ResponseMetadata"`
}

func writeSNSError(w http.ResponseWriter, e *stsError, reqID string) {
	var res stsErrorResponse
	res.Xmlns = snsNamespace
	res.Error.Type, res.Error.Code, res.Error.Message = e.Type, e.Code, e.Message
	res.RequestID = reqID
	b, _ := xml.Marshal(res)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}
