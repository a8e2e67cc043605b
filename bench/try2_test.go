package bench

import (
	"context"
	"testing"
)

func TestSweep(t *testing.T) {
	cases, _ := ParseCases([]string{"three-tier", "scale-3000"})
	for seed := int64(1); seed <= 12; seed++ {
		rows, err := Run(context.Background(), Config{Cases: cases, Strategies: []string{Ripcord}, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			t.Logf("seed %d %s ratio %.4f mk %.1f lb %.1f fail %d %s", seed, r.Case, r.Ratio, r.MakespanS, r.LowerBoundS, r.Failures, Notes(r))
		}
	}
}
