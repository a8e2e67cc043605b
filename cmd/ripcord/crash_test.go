package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord/drssim"
)

// TestRunKilledWithSIGKILLResumes kills a real `ripcord run` process with
// SIGKILL while its first wave is launching, then takes the execution up
// with `ripcord exec resume`: it finishes, and every server has exactly one
// LAUNCH job (asserted on the simulator's model, a separate process).
func TestRunKilledWithSIGKILLResumes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, sim, env, example, conn := procSetup(ctx, t, "600")

	run := exec.CommandContext(ctx, bin, append([]string{"run", "-f", example, "--drill", "--id", "killed-1"}, conn...)...)
	run.Env = env
	stdout, err := run.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	run.Stderr = &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the database wave's job exists, then kill -9.
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "step database") && strings.Contains(line, "in progress 2") {
			if err := run.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
			break
		}
	}
	_ = run.Wait()
	if !killed {
		t.Fatalf("ripcord run ended before its first wave launched; stderr:\n%s", stderr.String())
	}

	resume := exec.CommandContext(ctx, bin, append([]string{"exec", "resume", "killed-1", "--output", "json"}, conn...)...)
	resume.Env = env
	out, err := resume.Output()
	if err != nil {
		t.Fatalf("ripcord exec resume: %v\n%s", err, out)
	}
	var sum struct {
		State string `json:"state"`
		Steps []struct {
			Name    string `json:"name"`
			Status  string `json:"status"`
			Servers struct {
				Launched int `json:"launched"`
			} `json:"servers"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("resume output: %v\n%s", err, out)
	}
	if sum.State != "succeeded" || len(sum.Steps) != 3 {
		t.Fatalf("after resume: %s", out)
	}
	for _, st := range sum.Steps {
		if st.Servers.Launched != 2 {
			t.Errorf("step %s launched %d servers, want 2", st.Name, st.Servers.Launched)
		}
	}

	// The simulator's own record: exactly one LAUNCH job per server.
	wantOneLaunchEach(t, sim.url, 6)
}

// procSetup builds the ripcord binary, starts `ripcord sim` from it as a
// process of its own at the given time scale, and returns the binary, the
// simulator, the environment for ripcord processes, the example plan's path
// and the connection flags (a fresh store).
func procSetup(ctx context.Context, t *testing.T, timeScale string) (string, *simProc, []string, string, []string) {
	t.Helper()
	bin := buildRipcord(ctx, t)
	sim := startSimProc(ctx, t, bin, "--time-scale", timeScale)
	db := filepath.Join(t.TempDir(), "ripcord.db")
	env := newCLIRunner(t, "").env
	example, err := filepath.Abs(filepath.Join("..", "..", "examples", "three-tier.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return bin, sim, env, example, []string{"--db", db, "--endpoint-url", sim.url, "--poll", "50ms", "--rate-limit", "200"}
}

// wantOneLaunchEach asserts on the record of the simulator at url (a
// process of its own) that n servers were launched, each in exactly one
// LAUNCH job a client started.
func wantOneLaunchEach(t *testing.T, url string, n int) {
	t.Helper()
	resp, err := http.Get(url + "/_sim/state?account=111122223333&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var view drssim.StateView
	if err := json.NewDecoder(resp.Body).Decode(&view); err != nil {
		t.Fatal(err)
	}
	jobs := map[string]int{}
	for _, j := range view.Regions[0].Jobs {
		if j.Type == "LAUNCH" && !j.Foreign {
			for _, s := range j.Servers {
				jobs[s.SourceServerID]++
			}
		}
	}
	if len(jobs) != n {
		t.Errorf("%d servers were launched, want %d: %v", len(jobs), n, jobs)
	}
	for id, k := range jobs {
		if k != 1 {
			t.Errorf("server %s is in %d LAUNCH jobs, want exactly 1", id, k)
		}
	}
}
