package drssim

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// SigV4 as far as the simulator reads it: the access key, region and
// service of the credential scope, and the session token of temporary
// credentials. Signatures are not verified: the simulator trusts its
// clients, but refuses requests that are not signed at all, as AWS does.
// DRS (handler.go) and STS (sts.go) answer the problems below in their own
// protocols.

// authProblemKind says what is wrong with a request's signature.
type authProblemKind int

const (
	authMissing      authProblemKind = iota + 1 // no Authorization header, no X-Amz-Credential
	authIncomplete                              // malformed header or credential scope
	authWrongService                            // scoped to another service
)

type authProblem struct {
	kind authProblemKind
	msg  string
}

// sigV4 is what a request's signature says.
type sigV4 struct {
	accessKey, region, service string
	token                      string // X-Amz-Security-Token: temporary credentials
}

// regionRe accepts real region names and made-up ones such as sim-local-1.
var regionRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// parseSigV4 reads the SigV4 Authorization header (or the X-Amz-Credential
// query parameter of a presigned request) and checks that it is scoped to
// service.
func parseSigV4(r *http.Request, service string) (sigV4, *authProblem) {
	cred, p := credentialOf(r)
	if p != nil {
		return sigV4{}, p
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" {
		return sigV4{}, &authProblem{authIncomplete, fmt.Sprintf(
			"Credential should be scoped to a valid region, service and date: <access key>/<yyyymmdd>/<region>/%s/aws4_request.", service)}
	}
	if parts[3] != service {
		return sigV4{}, &authProblem{authWrongService, fmt.Sprintf("Credential should be scoped to correct service: '%s', not '%s'.", service, parts[3])}
	}
	if !regionRe.MatchString(parts[2]) {
		return sigV4{}, &authProblem{authIncomplete, "Credential should be scoped to a valid region. Configure a region (for example --region us-east-1 or AWS_REGION)."}
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if token == "" {
		token = r.URL.Query().Get("X-Amz-Security-Token")
	}
	return sigV4{accessKey: parts[0], region: parts[2], service: parts[3], token: token}, nil
}

// credentialOf returns the Credential= value of the Authorization header,
// or the X-Amz-Credential query parameter.
func credentialOf(r *http.Request) (string, *authProblem) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if c := r.URL.Query().Get("X-Amz-Credential"); c != "" {
			return c, nil
		}
		return "", &authProblem{authMissing, "Missing Authentication Token"}
	}
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(h, algo) {
		return "", &authProblem{authIncomplete, "Authorization header requires the AWS4-HMAC-SHA256 algorithm (SigV4). Sign requests with an AWS SDK or the AWS CLI."}
	}
	var cred string
	for _, part := range strings.Split(strings.TrimPrefix(h, algo), ",") {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "Credential=") {
			cred = strings.TrimPrefix(part, "Credential=")
		}
	}
	if cred == "" {
		return "", &authProblem{authIncomplete, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter."}
	}
	if r.Header.Get("X-Amz-Date") == "" && r.Header.Get("Date") == "" {
		return "", &authProblem{authIncomplete, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	return cred, nil
}

// scopedService returns the service of the request's credential scope, or
// "" when there is none to read.
func scopedService(r *http.Request) string {
	cred, p := credentialOf(r)
	if p != nil {
		return ""
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// Credentials that are well-formed but refused, as AWS's front door
// answers them for a REST-JSON service such as DRS.

func errUnrecognizedClient() *apiError {
	return &apiError{Type: "UnrecognizedClientException", Status: http.StatusForbidden,
		Body: errorBody{Message: "The security token included in the request is invalid."}}
}

func errExpiredToken() *apiError {
	return &apiError{Type: "ExpiredTokenException", Status: http.StatusForbidden,
		Body: errorBody{Message: "The security token included in the request is expired"}}
}
