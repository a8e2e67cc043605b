package drssim

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// STS on the simulator's own port, on STS's wire protocol (AWS Query):
// a form-encoded body (Action=…&Version=2011-06-15&…) posted to "/",
// signed with SigV4 for the service "sts", answered in XML. The AWS SDKs
// reach it with an endpoint override (AWS_ENDPOINT_URL_STS, BaseEndpoint)
// and the AWS CLI with --endpoint-url. Modelled: GetCallerIdentity and
// AssumeRole, with the trust of the scenario's roles (identity.go).

const (
	stsVersion   = "2011-06-15"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// stsUnmodelled are STS's other actions: known, answered as not modelled.
var stsUnmodelled = map[string]bool{
	"AssumeRoleWithSAML": true, "AssumeRoleWithWebIdentity": true, "AssumeRoot": true,
	"DecodeAuthorizationMessage": true, "GetAccessKeyInfo": true, "GetDelegatedAccessToken": true,
	"GetFederationToken": true, "GetSessionToken": true, "GetWebIdentityToken": true,
}

// isSTSRequest reports whether r is for STS rather than DRS: signed for the
// service "sts", or a Query request (form body or Action parameter) to "/",
// a path DRS never uses.
func isSTSRequest(r *http.Request) bool {
	if scopedService(r) == "sts" {
		return true
	}
	if r.URL.Path != "/" {
		return false
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "application/x-www-form-urlencoded" || r.URL.Query().Has("Action")
}

// stsError is an error answered in STS's XML form.
type stsError struct {
	Code    string
	Status  int
	Message string
	Type    string // Sender (the caller's fault) or Receiver
}

func (e *stsError) Error() string { return e.Code + ": " + e.Message }

func stsSender(status int, code, msg string) *stsError {
	return &stsError{Code: code, Status: status, Message: msg, Type: "Sender"}
}

func stsAccessDenied(msg string) *stsError {
	return stsSender(http.StatusForbidden, "AccessDenied", msg)
}

func stsValidation(msg string) *stsError {
	return stsSender(http.StatusBadRequest, "ValidationError", msg)
}

// stsCall is one STS request, for the request log.
type stsCall struct {
	reqID   string
	action  string
	account string
}

func (s *Sim) serveSTS(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	call := &stsCall{reqID: newRequestID(s.seed), action: "-"}
	sw.Header().Set("x-amzn-RequestId", call.reqID)
	stsErr := s.serveSTSSafely(sw, r, call)
	if stsErr != nil {
		writeSTSError(sw, stsErr, call.reqID)
	}
	code := ""
	if stsErr != nil {
		code = stsErr.Code
	}
	s.log.Info("sts request", "op", call.action, "account", call.account, "status", sw.status(), "error", code,
		"latency", time.Since(start).Round(time.Microsecond).String(), "request_id", call.reqID)
}

// serveSTSSafely answers a panic with InternalFailure, as serveDRSSafely
// does for DRS.
func (s *Sim) serveSTSSafely(w *statusWriter, r *http.Request, call *stsCall) (stsErr *stsError) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("drssim sts panic", "action", call.action, "panic", fmt.Sprint(p))
			stsErr = &stsError{Code: "InternalFailure", Status: http.StatusInternalServerError, Type: "Receiver",
				Message: fmt.Sprintf("drssim internal error: %v", p)}
			if w.code != 0 {
				stsErr = nil
			}
		}
	}()
	return s.serveSTSRequest(w, r, call)
}

func (s *Sim) serveSTSRequest(w http.ResponseWriter, r *http.Request, call *stsCall) *stsError {
	params, stsErr := stsParams(w, r)
	if stsErr != nil {
		return stsErr
	}
	sig, p := parseSigV4(r, "sts")
	if p != nil {
		switch p.kind {
		case authMissing:
			return stsSender(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
		case authWrongService:
			return stsSender(http.StatusForbidden, "SignatureDoesNotMatch", p.msg)
		}
		return stsSender(http.StatusBadRequest, "IncompleteSignature", p.msg)
	}
	action := params.Get("Action")
	if action == "" {
		return stsSender(http.StatusBadRequest, "MissingAction",
			"The request must contain the parameter Action, e.g. Action=GetCallerIdentity&Version="+stsVersion)
	}
	call.action = action
	version := params.Get("Version")
	if version == "" {
		return stsSender(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter Version")
	}
	modelled := action == "GetCallerIdentity" || action == "AssumeRole"
	if version != stsVersion || (!modelled && !stsUnmodelled[action]) {
		return stsSender(http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", action, version))
	}
	s.ids.countRequest(action)
	who, problem := s.identify(sig.accessKey, sig.token)
	switch problem {
	case credentialsInvalid:
		return stsSender(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
	case credentialsExpired:
		return stsSender(http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired")
	}
	call.account = who.account
	switch action {
	case "GetCallerIdentity":
		writeSTS(w, getCallerIdentityResponse{Xmlns: stsNamespace,
			Result: callerIdentityResult{Arn: who.arn, UserID: who.userID, Account: who.account},
			Meta:   stsMeta{RequestID: call.reqID}})
		return nil
	case "AssumeRole":
		in, stsErr := assumeRoleInput(params)
		if stsErr != nil {
			return stsErr
		}
		ss, stsErr := s.assumeRole(who, in)
		if stsErr != nil {
			return stsErr
		}
		var res assumeRoleResponse
		res.Xmlns = stsNamespace
		res.Result.User = assumedRoleUser{AssumedRoleID: ss.id, Arn: ss.arn}
		res.Result.Credentials = stsCredentials{AccessKeyID: ss.accessKey, SecretAccessKey: ss.secret,
			SessionToken: ss.token, Expiration: ss.expires.UTC().Format("2006-01-02T15:04:05Z")}
		res.Meta.RequestID = call.reqID
		writeSTS(w, res)
		return nil
	}
	return stsSender(http.StatusBadRequest, "InvalidAction", fmt.Sprintf(
		"drssim does not model the STS operation %s; it models GetCallerIdentity and AssumeRole (see docs/drssim.md)", action))
}

// stsParams merges the query string and a form-encoded body, as the Query
// protocol allows either.
func stsParams(w http.ResponseWriter, r *http.Request) (url.Values, *stsError) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, stsSender(http.StatusBadRequest, "InvalidQueryParameter", "The query string is malformed: "+err.Error())
	}
	if r.Body == nil {
		return params, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, stsSender(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
				fmt.Sprintf("Request body is larger than %d bytes", maxBodyBytes))
		}
		return nil, stsSender(http.StatusBadRequest, "InvalidQueryParameter", "Could not read the request body: "+err.Error())
	}
	if len(body) == 0 {
		return params, nil
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "" && ct != "application/x-www-form-urlencoded" {
		return nil, stsSender(http.StatusBadRequest, "InvalidQueryParameter", fmt.Sprintf(
			"STS takes a form-encoded body (Content-Type: application/x-www-form-urlencoded, Action=…&Version=%s), not %s", stsVersion, ct))
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, stsSender(http.StatusBadRequest, "InvalidQueryParameter", "The form-encoded request body is malformed: "+err.Error())
	}
	for k, v := range form {
		params[k] = append(params[k], v...)
	}
	return params, nil
}

// assumeRoleInput validates AssumeRole's parameters against STS's
// constraints (lengths, patterns, bounds) and reports every violation in
// one ValidationError, worded as STS words them. Parameters the simulator does not model (Policy,
// PolicyArns, Tags, SerialNumber, TokenCode, SourceIdentity, …) are
// accepted and ignored.
func assumeRoleInput(params url.Values) (assumeInput, *stsError) {
	var problems []string
	// bad records a violation; value is nil for a missing member.
	bad := func(member string, value *string, constraint string) {
		v := "null"
		if value != nil {
			v = "'" + *value + "'"
		}
		problems = append(problems, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member must %s", v, member, constraint))
	}
	str := func(name, member string, required bool, min, max int, re *regexp.Regexp, pattern string) string {
		vs, ok := params[name]
		if !ok {
			if required {
				bad(member, nil, "not be null")
			}
			return ""
		}
		v := vs[0]
		switch {
		case len(v) < min:
			bad(member, &v, fmt.Sprintf("have length greater than or equal to %d", min))
		case len(v) > max:
			bad(member, &v, fmt.Sprintf("have length less than or equal to %d", max))
		case re != nil && !re.MatchString(v):
			bad(member, &v, "satisfy regular expression pattern: "+pattern)
		}
		return v
	}
	in := assumeInput{
		roleARN:     str("RoleArn", "roleArn", true, 20, 2048, nil, ""),
		sessionName: str("RoleSessionName", "roleSessionName", true, 2, 64, roleSessionRe, `[\w+=,.@-]*`),
		externalID:  str("ExternalId", "externalId", false, 2, 1224, externalIDRe, `[\w+=,.@:\/-]*`),
		duration:    defaultMaxSess,
	}
	if vs, ok := params["DurationSeconds"]; ok {
		n, err := strconv.Atoi(vs[0])
		switch {
		case err != nil:
			bad("durationSeconds", &vs[0], "be an integer")
		case n < int(minSessDuration/time.Second):
			bad("durationSeconds", &vs[0], fmt.Sprintf("have value greater than or equal to %d", int(minSessDuration/time.Second)))
		case n > int(maxMaxSess/time.Second):
			bad("durationSeconds", &vs[0], fmt.Sprintf("have value less than or equal to %d", int(maxMaxSess/time.Second)))
		default:
			in.duration = time.Duration(n) * time.Second
		}
	}
	if n := len(problems); n > 0 {
		noun := "errors"
		if n == 1 {
			noun = "error"
		}
		return in, stsValidation(fmt.Sprintf("%d validation %s detected: %s", n, noun, strings.Join(problems, "; ")))
	}
	if f := strings.SplitN(in.roleARN, ":", 6); len(f) != 6 || f[0] != "arn" || f[1] == "" || f[2] == "" {
		return in, stsValidation("Request ARN is invalid")
	}
	return in, nil
}

// The XML answers, as the service writes them (namespace included).

type stsMeta struct {
	RequestID string `xml:"RequestId"`
}

type callerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

type getCallerIdentityResponse struct {
	XMLName xml.Name             `xml:"GetCallerIdentityResponse"`
	Xmlns   string               `xml:"xmlns,attr"`
	Result  callerIdentityResult `xml:"GetCallerIdentityResult"`
	Meta    stsMeta              `xml:"ResponseMetadata"`
}

type assumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

type stsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumeRoleResponse struct {
	XMLName xml.Name `xml:"AssumeRoleResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		User        assumedRoleUser `xml:"AssumedRoleUser"`
		Credentials stsCredentials  `xml:"Credentials"`
	} `xml:"AssumeRoleResult"`
	Meta stsMeta `xml:"ResponseMetadata"`
}

type stsErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func writeSTS(w http.ResponseWriter, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		writeSTSError(w, &stsError{Code: "InternalFailure", Status: http.StatusInternalServerError, Type: "Receiver",
			Message: "failed to encode response: " + err.Error()}, w.Header().Get("x-amzn-RequestId"))
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func writeSTSError(w http.ResponseWriter, e *stsError, reqID string) {
	var res stsErrorResponse
	res.Xmlns = stsNamespace
	res.Error.Type, res.Error.Code, res.Error.Message = e.Type, e.Code, e.Message
	res.RequestID = reqID
	b, _ := xml.Marshal(res)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}
