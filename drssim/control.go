package drssim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

var errNotManual = errors.New("the simulator's clock is not manual: it runs on a time scale and cannot be advanced by hand")

// The control API lives under /_sim/, a prefix the real DRS never uses. It
// needs no signature. Endpoints:
//
//	GET    /_sim/health                    liveness and the simulated time
//	GET    /_sim/state[?account=&region=]  the whole model (StateView)
//	GET    /_sim/faults                    active fault rules
//	POST   /_sim/faults                    add a fault rule (Fault as JSON) -> 201 {"id": ...}
//	DELETE /_sim/faults/{id}               remove one rule
//	DELETE /_sim/faults                    remove every rule
//	GET    /_sim/clock                     the simulated time and how it moves (ClockInfo)
//	POST   /_sim/clock/advance             {"duration": "5m"} (manual clocks only)
//	GET    /_sim/sts                       STS roles, issued sessions, requests (STSView)
//	POST   /_sim/sts/roles                 add a role (RoleSpec as JSON) -> 201 {"arn": ...}
//	POST   /_sim/sts/roles/permissions     {"role": ARN, "revoke": [...], "grant": [...]}: change a role's actions (iam.go)
//	POST   /_sim/failback/ready            {"account", "region", "recoveryInstanceIDs", "sourceServerIDs"}: failback replication caught up (failback.go) -> {"ready": [...]}
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, controlPrefix), "/")
	switch {
	case path == "health" && r.Method == http.MethodGet:
		controlJSON(w, http.StatusOK, map[string]any{"status": "ok", "now": formatTime(s.clock.Now())})
	case path == "state" && r.Method == http.MethodGet:
		q := r.URL.Query()
		controlJSON(w, http.StatusOK, s.State(StateFilter{Account: q.Get("account"), Region: q.Get("region")}))
	case path == "faults" && r.Method == http.MethodGet:
		controlJSON(w, http.StatusOK, map[string]any{"faults": s.Faults()})
	case path == "faults" && r.Method == http.MethodPost:
		var f Fault
		if !decodeControl(w, r, &f) {
			return
		}
		id, err := s.AddFault(f)
		if err != nil {
			controlError(w, http.StatusBadRequest, "invalid fault: "+err.Error())
			return
		}
		controlJSON(w, http.StatusCreated, map[string]string{"id": id})
	case path == "faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(path, "faults/") && r.Method == http.MethodDelete:
		if !s.RemoveFault(strings.TrimPrefix(path, "faults/")) {
			controlError(w, http.StatusNotFound, "no fault rule with ID "+strings.TrimPrefix(path, "faults/"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case path == "failback/ready" && r.Method == http.MethodPost:
		var fr failbackReady
		if !decodeControl(w, r, &fr) {
			return
		}
		ids, err := s.MakeFailbackReady(fr.Account, fr.Region, fr.RecoveryInstanceIDs, fr.SourceServerIDs)
		if err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		controlJSON(w, http.StatusOK, map[string][]string{"ready": ids})
	case path == "clock" && r.Method == http.MethodGet:
		controlJSON(w, http.StatusOK, s.Clock())
	case path == "sts" && r.Method == http.MethodGet:
		controlJSON(w, http.StatusOK, s.STS())
	case path == "sts/roles" && r.Method == http.MethodPost:
		var rs RoleSpec
		if !decodeControl(w, r, &rs) {
			return
		}
		arn, err := s.AddRole(rs)
		switch {
		case errors.Is(err, errRoleExists):
			controlError(w, http.StatusConflict, err.Error())
		case err != nil:
			controlError(w, http.StatusBadRequest, err.Error())
		default:
			controlJSON(w, http.StatusCreated, map[string]string{"arn": arn})
		}
	case path == "sts/roles/permissions" && r.Method == http.MethodPost:
		var c permissionsChange
		if !decodeControl(w, r, &c) {
			return
		}
		switch err := s.applyPermissionsChange(c); {
		case errors.Is(err, errNoRole):
			controlError(w, http.StatusNotFound, err.Error())
		case err != nil:
			controlError(w, http.StatusBadRequest, err.Error())
		default:
			for _, rv := range s.STS().Roles {
				if rv.ARN == c.Role {
					controlJSON(w, http.StatusOK, rv)
				}
			}
		}
	case path == "clock/advance" && r.Method == http.MethodPost:
		var body struct {
			Duration Duration `json:"duration"`
		}
		if !decodeControl(w, r, &body) {
			return
		}
		if err := s.Advance(body.Duration.D()); err != nil {
			controlError(w, http.StatusConflict, err.Error())
			return
		}
		controlJSON(w, http.StatusOK, map[string]any{"now": formatTime(s.clock.Now())})
	case path == "" && r.Method == http.MethodGet:
		controlJSON(w, http.StatusOK, map[string]any{"endpoints": []string{
			"GET /_sim/health", "GET /_sim/state?account=&region=", "GET /_sim/faults", "POST /_sim/faults",
			"DELETE /_sim/faults/{id}", "DELETE /_sim/faults", "GET /_sim/clock", "POST /_sim/clock/advance",
			"GET /_sim/sts", "POST /_sim/sts/roles", "POST /_sim/sts/roles/permissions"},
			"faultKinds": faultKinds, "modelledOperations": ModelledOperations()})
	default:
		controlError(w, http.StatusNotFound, "no control endpoint "+r.Method+" "+r.URL.Path+"; GET /_sim/ lists them")
	}
}

func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		controlError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

func controlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func controlError(w http.ResponseWriter, status int, msg string) {
	controlJSON(w, status, map[string]string{"message": msg})
}

var _ = time.Second
