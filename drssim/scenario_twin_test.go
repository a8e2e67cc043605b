package drssim

import (
	"strings"
	"testing"
)

// TestScenarioTwinKeysRefused: each mistake in the keys a rehearsal twin
// writes is named.
func TestScenarioTwinKeysRefused(t *testing.T) {
	base := "defaultAccount: \"111122223333\"\nregions:\n  - region: us-east-1\n    servers:\n      - id: s-1000000000000000a\n"
	for _, tc := range []struct{ extra, want string }{
		{"        ips: [10.0.0.300]\n", `ips: "10.0.0.300" is not an IP address`},
		{"        mac: 0a-1b\n", `mac "0a-1b" must look like`},
		{"        ramGiB: 8\n        ramBytes: 100\n", "give ramGiB or ramBytes"},
		{"        disks: [{device: /dev/sda, sizeGiB: 1, bytes: 5}]\n", "disks[0]: give sizeGiB or bytes"},
		{"        lastLaunchResult: MAYBE\n", `lastLaunchResult "MAYBE"`},
		{"        lastLaunch: {jobID: j-1, type: DRILL, status: LAUNCHED}\n", `lastLaunch.jobID "j-1"`},
		{"        launchConfiguration: {targetInstanceTypeRightSizingMethod: HUGE}\n", `targetInstanceTypeRightSizingMethod "HUGE"`},
		{"        recoveryInstances: [{id: i-1000000000000000a, drill: true, state: FLYING}]\n", `state "FLYING" is not an EC2 instance state`},
		{"    completedJobs:\n      - {id: drsjob-1000000000000000a, type: LAUNCH, createdAgo: 1h, endedAgo: 2h}\n", "endedAgo 2h0m0s is before createdAgo 1h0m0s"},
		{"    completedJobs:\n      - {id: drsjob-1000000000000000a, type: LAUNCH, createdAgo: 1h, servers: [{id: s-1000000000000000a, launchStatus: DONE}]}\n", `launchStatus "DONE"`},
		{"        launchConfiguration: {copyTagz: true}\n", "copyTagz"},
	} {
		_, err := ParseScenario([]byte(base + tc.extra))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want it to contain %q", tc.extra, err, tc.want)
		}
	}
	if _, err := ParseScenario([]byte(base + "        ips: [10.0.0.3]\n        ramBytes: 100\n        launchConfiguration: {copyTags: true}\n")); err != nil {
		t.Errorf("valid twin keys refused: %v", err)
	}
}
