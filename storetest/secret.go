package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/ripcord-dr/ripcord"
)

// testServerSecret: the first call makes a secret of ServerSecretSize
// bytes that is not all zeros; later calls return the same bytes; racing
// first calls all get one and the same secret.
func testServerSecret(t *testing.T, s ripcord.Store) {
	ctx := context.Background()
	const racers = 8
	got := make([][]byte, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			got[i], errs[i] = s.ServerSecret(ctx)
		})
	}
	close(start)
	wg.Wait()
	for i := range racers {
		if errs[i] != nil {
			t.Fatalf("racing first call %d: %v", i, errs[i])
		}
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("racing first calls disagree: %x vs %x", got[i], got[0])
		}
	}
	if len(got[0]) != ripcord.ServerSecretSize || bytes.Equal(got[0], make([]byte, ripcord.ServerSecretSize)) {
		t.Fatalf("server secret %x: want %d random bytes", got[0], ripcord.ServerSecretSize)
	}
	again, err := s.ServerSecret(ctx)
	if err != nil || !bytes.Equal(again, got[0]) {
		t.Errorf("a later call: %x, %v; want the first secret %x", again, err, got[0])
	}
}
