package bench

import (
	"context"
	"os"
	"testing"
)

func TestTry(t *testing.T) {
	cases, _ := ParseCases([]string{"three-tier","scale-300","scale-1000","scale-3000"})
	rows, err := Run(context.Background(), Config{Cases: cases})
	if err != nil {
		t.Fatal(err)
	}
	WriteTable(os.Stdout, rows)
	for _, r := range rows { t.Logf("%s %s %v wall=%s", r.Case, r.Strategy, r.Detail.Calls, r.Detail.Wall) }
}
