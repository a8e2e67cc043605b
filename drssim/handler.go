package drssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"time"
)

// maxBodyBytes bounds request bodies; larger ones are refused.
const maxBodyBytes = 1 << 20

// controlPrefix is where the simulator's own control API lives: a prefix the
// real service never uses.
const controlPrefix = "/_sim/"

// request is one decoded DRS call.
type request struct {
	op       *operation
	account  string
	region   string
	input    any
	arn      string     // tag operations: the resource ARN from the path
	query    url.Values // tag and ListStagingAccounts query members
	reqID    string
	accessKy string
}

var reqCounter atomic.Uint64

func newRequestID(seed int64) string {
	n := reqCounter.Add(1)
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(seed), uint16(n>>48), uint16(n>>36)&0xfff, uint16(n>>24)&0xfff, n&0xffffffffffff)
}

// ServeHTTP answers DRS REST-JSON requests, STS Query requests (sts.go),
// SNS, EC2 and SSM requests by their credential scope's service (sns.go,
// ec2.go, ssm.go) and, under /_sim/, the control API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.serveControl(w, r)
		return
	}
	switch scopedService(r) {
	case "sns":
		s.serveSNS(w, r)
		return
	case "ec2":
		s.serveEC2(w, r)
		return
	case "ssm":
		s.serveSSM(w, r)
		return
	}
	if isSTSRequest(r) {
		s.serveSTS(w, r)
		return
	}
	rw := &statusWriter{ResponseWriter: w}
	rq := &request{reqID: newRequestID(s.seed)}
	rw.Header().Set("x-amzn-RequestId", rq.reqID)
	// The service's own clock, as AWS answers it in every response's
	// Date header: simulated time here, so that a client can tell DRS's
	// clock from its own (docs/drs.md §6).
	rw.Header().Set("Date", s.clock.Now().UTC().Format(http.TimeFormat))
	// Requests are counted as they arrive (the operation once it is routed),
	// before any response: a client that sees a dropped connection may read
	// OperationCounts at once.
	s.requests.Add(1)
	apiErr := s.serveDRSSafely(rw, r, rq)
	if apiErr != nil {
		if rq.op != nil {
			s.countOutcome(rq.op.name, apiErr.Type)
		}
		writeError(rw, apiErr)
	}
	opName := "-"
	if rq.op != nil {
		opName = rq.op.name
	}
	errType := ""
	if apiErr != nil {
		errType = apiErr.Type
	}
	s.log.Info("drs request", "op", opName, "account", rq.account, "region", rq.region,
		"status", rw.status(), "error", errType, "latency", time.Since(start).Round(time.Microsecond).String(),
		"request_id", rq.reqID, "app", appID(r.Header.Get("User-Agent")))
}

func (s *Sim) countOp(name string) {
	v, ok := s.opStats.Load(name)
	if !ok {
		v, _ = s.opStats.LoadOrStore(name, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// appID is the application ID an AWS SDK puts in its User-Agent
// ("app/ID"), or "".
func appID(ua string) string {
	for _, f := range strings.Fields(ua) {
		if id, ok := strings.CutPrefix(f, "app/"); ok {
			return id
		}
	}
	return ""
}

func (s *Sim) countApp(id string) {
	v, ok := s.appStats.Load(id)
	if !ok {
		v, _ = s.appStats.LoadOrStore(id, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// AppCounts returns how many DRS requests each client application sent, by
// the application ID of its SDK's User-Agent (app/ID): which process made
// which calls.
func (s *Sim) AppCounts() map[string]int64 {
	out := map[string]int64{}
	s.appStats.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// OperationCounts returns how many requests each operation received.
func (s *Sim) OperationCounts() map[string]int64 {
	out := map[string]int64{}
	s.opStats.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// serveDRSSafely turns a panic in the model into an InternalServerException
// for this request instead of a dropped connection: a simulator bug must
// look like a service fault to the client, and the simulator keeps serving.
func (s *Sim) serveDRSSafely(w *statusWriter, r *http.Request, rq *request) (apiErr *apiError) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("drssim panic", "op", rq.op, "panic", fmt.Sprint(p))
			apiErr = errInternal(http.StatusInternalServerError, fmt.Sprintf("drssim internal error: %v", p))
			if w.code != 0 {
				apiErr = nil // the response has started; nothing more to send
			}
		}
	}()
	return s.serveDRS(w, r, rq)
}

// serveDRS runs one DRS request; it writes the success response itself and
// returns the error to answer otherwise.
func (s *Sim) serveDRS(w *statusWriter, r *http.Request, rq *request) *apiError {
	op, arn, apiErr := route(r)
	if apiErr != nil {
		return apiErr
	}
	rq.op, rq.arn, rq.query = op, arn, r.URL.Query()
	s.countOp(op.name)
	if app := appID(r.Header.Get("User-Agent")); app != "" {
		s.countApp(app)
	}

	sig, apiErr := parseAuth(r)
	if apiErr != nil {
		return apiErr
	}
	// Temporary credentials from the simulator's STS act in the account
	// of the role they were issued for (identity.go).
	who, problem := s.identify(sig.accessKey, sig.token)
	switch problem {
	case credentialsInvalid:
		return errUnrecognizedClient()
	case credentialsExpired:
		return errExpiredToken()
	}
	rq.accessKy = sig.accessKey
	rq.account = who.account
	rq.region = sig.region

	body, apiErr := readBody(w, r)
	if apiErr != nil {
		return apiErr
	}
	reg0 := s.region(rq.account, rq.region)

	// Faults and throttling act before the service looks at the request.
	act := s.faults.beforeRequest(rq.account, rq.region, op.name, s.clock.Now())
	if act.latency > 0 {
		t := time.NewTimer(act.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if act.throttle {
		return errThrottling("Rate exceeded (injected throttling storm)")
	}
	if act.err != nil {
		return act.err
	}
	if reg0.limiter != nil && !reg0.limiter.AllowN(s.wall(), 1) {
		return errThrottling("Rate exceeded")
	}
	if !op.modelled {
		return errNotModelled(op.name)
	}
	if op.newInput != nil {
		in := op.newInput()
		if apiErr := decodeInput(body, in); apiErr != nil {
			return apiErr
		}
		rq.input = in
	} else if len(bytes.TrimSpace(body)) > 0 && op.method != http.MethodGet && op.method != http.MethodDelete {
		// Operations without input members must not carry a body of
		// unknown members either.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return errValidation(reasonCannotParse, "Request body is not valid JSON: "+jsonErrText(err))
		}
		for k := range m {
			return errValidation(reasonFieldValidation, fmt.Sprintf("Unknown field %q: %s takes no input", k, op.name),
				validationField{Name: k, Message: "unknown field"})
		}
	}
	// The model's constraints on every member (constraints.go).
	if apiErr := validateRequest(rq, body); apiErr != nil {
		return apiErr
	}
	// The role's permissions, on the resources the request names (iam.go).
	if apiErr := s.authorize(who, rq); apiErr != nil {
		return apiErr
	}

	var out any
	var status int
	s.withRegion(rq.account, rq.region, func(rg *region, now time.Time) {
		if !rg.initialized && !op.noUninit {
			apiErr = errUninitialized()
			return
		}
		out, apiErr = op.run(s, rg, now, rq)
		status = op.status
	})
	if apiErr != nil {
		return apiErr
	}
	if s.faults.dropResponse(rq.account, rq.region, op.name, s.clock.Now()) {
		s.dropConnection(w, op.name)
		return nil
	}
	s.countOutcome(op.name, OutcomeOK)
	writeJSON(w, status, out)
	return nil
}

// dropConnection closes the client's connection without a response: the
// operation took effect, the client never learns it (the lost-202 case).
func (s *Sim) dropConnection(w *statusWriter, op string) {
	w.dropped = true
	if hj, ok := w.ResponseWriter.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			s.countOutcome(op, OutcomeNoResponse)
			_ = conn.Close()
			return
		}
	}
	// Without a hijackable connection (HTTP/2, recorders) the closest
	// thing is a gateway timeout that says nothing of the outcome.
	e := &apiError{Type: "GatewayTimeoutException", Status: http.StatusGatewayTimeout,
		Body: errorBody{Message: "Endpoint request timed out"}}
	s.countOutcome(op, e.Type)
	writeError(w, e)
}

func writeJSON(w http.ResponseWriter, status int, out any) {
	if status == http.StatusNoContent || out == nil {
		w.WriteHeader(status)
		return
	}
	var b []byte
	var err error
	if m, ok := out.(json.Marshaler); ok {
		// The output shapes' MarshalJSON return json.Marshal's compact,
		// HTML-escaped output; json.Marshal(out) would copy and re-validate
		// all of it (a 50-server page is about 100 KB).
		b, err = m.MarshalJSON()
	} else {
		b, err = json.Marshal(out)
	}
	if err != nil {
		writeError(w, errInternal(http.StatusInternalServerError, "failed to encode response: "+err.Error()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	if p, ok := out.(encodedPage); ok {
		p.release() // a Writer does not keep what it is given
	}
}

// route finds the operation for method and path.
func route(r *http.Request) (*operation, string, *apiError) {
	raw := r.URL.EscapedPath()
	if strings.HasPrefix(raw, "/tags/") {
		arn, err := url.PathUnescape(strings.TrimPrefix(raw, "/tags/"))
		if err != nil || arn == "" || strings.Contains(arn, "/tags/") {
			return nil, "", errUnknownOperation(r.Method, r.URL.Path)
		}
		var op *operation
		switch r.Method {
		case http.MethodGet:
			op = operationsByName["ListTagsForResource"]
		case http.MethodPost:
			op = operationsByName["TagResource"]
		case http.MethodDelete:
			op = operationsByName["UntagResource"]
		default:
			return nil, "", errUnknownOperation(r.Method, r.URL.Path)
		}
		return op, arn, nil
	}
	name := strings.TrimPrefix(raw, "/")
	op := operationsByName[name]
	if op == nil || strings.Contains(name, "/") || op.path != "" || op.method != r.Method {
		return nil, "", errUnknownOperation(r.Method, r.URL.Path)
	}
	return op, "", nil
}

// parseAuth reads the access key, region and session token of a request
// signed for DRS (auth.go), answering what AWS's front door answers for
// DRS when the signature is missing or malformed.
func parseAuth(r *http.Request) (sigV4, *apiError) {
	sig, p := parseSigV4(r, "drs")
	switch {
	case p == nil:
		return sig, nil
	case p.kind == authMissing:
		return sigV4{}, errMissingAuth()
	}
	return sigV4{}, errBadSignature(p.msg)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if r.ContentLength > maxBodyBytes {
		return nil, errTooLarge()
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge()
		}
		return nil, errValidation(reasonCannotParse, "Could not read the request body: "+err.Error())
	}
	return b, nil
}

func errTooLarge() *apiError {
	return &apiError{Type: "RequestEntityTooLargeException", Status: http.StatusRequestEntityTooLarge,
		Body: errorBody{Message: fmt.Sprintf("Request body is larger than %d bytes", maxBodyBytes)}}
}

// decodeInput decodes a JSON body into in, strictly: unknown members, wrong
// types and trailing data are ValidationExceptions that name the problem.
func decodeInput(body []byte, in any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				return errValidation(reasonCannotParse, fmt.Sprintf("Request body must be a JSON object, not a JSON %s", te.Value))
			}
			return errValidation(reasonFieldValidation,
				fmt.Sprintf("Invalid type for field %s: expected %s, got JSON %s", field, goTypeName(te.Type.String()), te.Value),
				validationField{Name: field, Message: "expected " + goTypeName(te.Type.String())})
		}
		msg := err.Error()
		if strings.HasPrefix(msg, "json: unknown field ") {
			f := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
			return errValidation(reasonFieldValidation, fmt.Sprintf("Unknown field %q in request", f),
				validationField{Name: f, Message: "unknown field"})
		}
		return errValidation(reasonCannotParse, "Request body is not valid JSON: "+jsonErrText(err))
	}
	if dec.More() {
		return errValidation(reasonCannotParse, "Request body must hold exactly one JSON object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return errValidation(reasonCannotParse, "Request body must hold exactly one JSON object")
	}
	// encoding/json matches member names case-insensitively; DRS does not:
	// "jobIds" or "sourceServerId" is an unknown member, not jobIDs.
	var generic any
	if json.Unmarshal(body, &generic) == nil {
		return exactMemberNames(generic, reflect.TypeOf(in))
	}
	return nil
}

// exactMemberNames finds a member of v (decoded JSON) that matches a field
// of t only case-insensitively and reports it as an unknown field.
func exactMemberNames(v any, t reflect.Type) *apiError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, _ := v.(map[string]any)
		for k, sub := range m {
			var field *reflect.StructField
			for i := 0; i < t.NumField(); i++ {
				if f := t.Field(i); strings.Split(f.Tag.Get("json"), ",")[0] == k {
					field = &f
				}
			}
			if field == nil {
				return errValidation(reasonFieldValidation, fmt.Sprintf("Unknown field %q in request (member names are case-sensitive)", k),
					validationField{Name: k, Message: "unknown field"})
			}
			if e := exactMemberNames(sub, field.Type); e != nil {
				return e
			}
		}
	case reflect.Slice, reflect.Map:
		switch x := v.(type) {
		case []any:
			for _, sub := range x {
				if e := exactMemberNames(sub, t.Elem()); e != nil {
					return e
				}
			}
		case map[string]any:
			for _, sub := range x {
				if e := exactMemberNames(sub, t.Elem()); e != nil {
					return e
				}
			}
		}
	}
	return nil
}

func jsonErrText(err error) string { return strings.TrimPrefix(err.Error(), "json: ") }

func goTypeName(t string) string {
	switch {
	case strings.Contains(t, "int"):
		return "an integer"
	case strings.Contains(t, "bool"):
		return "a boolean"
	case strings.Contains(t, "string") && strings.HasPrefix(t, "map"):
		return "an object of strings"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.Contains(t, "string"):
		return "a string"
	}
	return "an object"
}

// statusWriter remembers the status code for the request log.
type statusWriter struct {
	http.ResponseWriter
	code    int
	dropped bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() string {
	if w.dropped {
		return "dropped"
	}
	if w.code == 0 {
		return "200"
	}
	return fmt.Sprint(w.code)
}
