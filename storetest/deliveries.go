package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// The DeliveryStore part of the suite: notification deliveries, claimed
// by one holder at a time so that each is sent once.

func delivery(exec string, seq int64, dest string) ripcord.Delivery {
	return ripcord.Delivery{ExecutionID: exec, Seq: seq, Destination: dest, Kind: ripcord.NotifyFinished}
}

// testDeliveries: a claim records a new delivery as sending; another
// holder cannot claim it while the claim is live; the holder records its
// attempts; a sent delivery is claimed by nobody again.
func testDeliveries(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	const ttl = time.Minute
	d := delivery("exec-1", 7, "webhook:https://hooks.example.com#0123abcd")
	got, ok, err := s.ClaimDelivery(ctx, d, "replica-a", ttl)
	if err != nil || !ok {
		t.Fatalf("first claim = %v, %v; want claimed", ok, err)
	}
	now := ripcord.StoreTime(clock.Now())
	want := ripcord.Delivery{ExecutionID: "exec-1", Seq: 7, Destination: d.Destination, Kind: ripcord.NotifyFinished,
		Status: ripcord.DeliverySending, Holder: "replica-a", ClaimExpires: now.Add(ttl), Created: now, Updated: now}
	if got != want {
		t.Fatalf("claimed delivery = %+v\nwant %+v", got, want)
	}
	// Another holder, while the claim is live: not claimed, told who has it.
	if other, ok, err := s.ClaimDelivery(ctx, d, "replica-b", ttl); err != nil || ok || other.Holder != "replica-a" {
		t.Fatalf("claim by another holder = %+v, %v, %v; want replica-a's, not claimed", other, ok, err)
	}
	// The holder claims again (a renewal): still its.
	if _, ok, err := s.ClaimDelivery(ctx, d, "replica-a", ttl); err != nil || !ok {
		t.Fatalf("claim again by its holder = %v, %v; want claimed", ok, err)
	}
	clock.Advance(10 * time.Second)
	rec := got
	rec.Attempts, rec.LastError = 1, "POST https://hooks.example.com/…: 503 Service Unavailable"
	after, err := s.RecordDelivery(ctx, rec, ttl)
	if err != nil {
		t.Fatalf("record a failed attempt: %v", err)
	}
	now = ripcord.StoreTime(clock.Now())
	if after.Attempts != 1 || after.LastError != rec.LastError || after.Status != ripcord.DeliverySending ||
		!after.Updated.Equal(now) || !after.ClaimExpires.Equal(now.Add(ttl)) || !after.Created.Equal(want.Created) {
		t.Fatalf("after a failed attempt = %+v", after)
	}
	rec.Status, rec.Attempts = ripcord.DeliverySent, 2
	if _, err := s.RecordDelivery(ctx, rec, ttl); err != nil {
		t.Fatalf("record the sending: %v", err)
	}
	list, err := s.ListDeliveries(ctx, "exec-1")
	if err != nil || len(list) != 1 {
		t.Fatalf("ListDeliveries = %v, %v; want one", list, err)
	}
	if l := list[0]; l.Status != ripcord.DeliverySent || l.Attempts != 2 || l.LastError != rec.LastError || l.Holder != "replica-a" {
		t.Fatalf("listed delivery = %+v", l)
	}
	// Sent: nobody claims it again, even after its claim expired.
	clock.Advance(2 * ttl)
	if again, ok, err := s.ClaimDelivery(ctx, d, "replica-b", ttl); err != nil || ok || again.Status != ripcord.DeliverySent {
		t.Fatalf("claim of a sent delivery = %+v, %v, %v; want it as sent, not claimed", again, ok, err)
	}
	// And its holder records nothing more.
	rec.Status = ripcord.DeliveryFailed
	if _, err := s.RecordDelivery(ctx, rec, ttl); ripcord.ErrorCode(err) != ripcord.ECONFLICT {
		t.Fatalf("record after sent = %v, want ECONFLICT", err)
	}
}

// testDeliveryTakeover: a holder that stops renewing loses its claim when
// it expires; the new holder keeps the attempts; the old one records
// nothing more.
func testDeliveryTakeover(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	const ttl = 30 * time.Second
	d := delivery("exec-2", 3, "sns:arn:aws:sns:us-east-1:111122223333:dr")
	a, ok, err := s.ClaimDelivery(ctx, d, "replica-a", ttl)
	if err != nil || !ok {
		t.Fatalf("claim = %v, %v", ok, err)
	}
	a.Attempts, a.LastError = 1, "timeout"
	if a, err = s.RecordDelivery(ctx, a, ttl); err != nil {
		t.Fatal(err)
	}
	clock.Advance(ttl) // expired at exactly ttl
	b, ok, err := s.ClaimDelivery(ctx, d, "replica-b", ttl)
	if err != nil || !ok || b.Holder != "replica-b" || b.Attempts != 1 || b.LastError != "timeout" {
		t.Fatalf("takeover after expiry = %+v, %v, %v; want replica-b's with 1 attempt kept", b, ok, err)
	}
	a.Attempts = 2
	_, err = s.RecordDelivery(ctx, a, ttl)
	if ripcord.ErrorCode(err) != ripcord.ECONFLICT || !errors.Is(err, ripcord.ErrLeaseLost) {
		t.Fatalf("record by the old holder = %v, want ECONFLICT with ErrLeaseLost", err)
	}
	b.Status, b.Attempts = ripcord.DeliveryFailed, 2
	if _, err := s.RecordDelivery(ctx, b, ttl); err != nil {
		t.Fatalf("record by the new holder: %v", err)
	}
}

// testDeliveryList: deliveries listed by seq and destination, one
// execution's only; an unknown delivery cannot be recorded.
func testDeliveryList(t *testing.T, s ripcord.Store, clock *Clock) {
	ctx := context.Background()
	for _, d := range []ripcord.Delivery{delivery("x", 9, "b"), delivery("x", 2, "b"), delivery("x", 9, "a"), delivery("y", 1, "a")} {
		if _, ok, err := s.ClaimDelivery(ctx, d, "h", time.Minute); err != nil || !ok {
			t.Fatalf("claim %+v: %v, %v", d, ok, err)
		}
	}
	list, err := s.ListDeliveries(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, d := range list {
		keys = append(keys, fmt.Sprintf("%d/%s", d.Seq, d.Destination))
	}
	if fmt.Sprint(keys) != "[2/b 9/a 9/b]" {
		t.Fatalf("ListDeliveries(x) = %v, want [2/b 9/a 9/b]", keys)
	}
	if none, err := s.ListDeliveries(ctx, "nothing"); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("ListDeliveries of an execution without any = %#v, %v; want an empty slice", none, err)
	}
	d := delivery("x", 100, "b")
	d.Holder, d.Status = "h", ripcord.DeliverySent
	if _, err := s.RecordDelivery(ctx, d, time.Minute); ripcord.ErrorCode(err) != ripcord.ENOTFOUND {
		t.Fatalf("record of a delivery never claimed = %v, want ENOTFOUND", err)
	}
}

// testDeliveryInvalid: malformed claims and records are EINVALID.
func testDeliveryInvalid(t *testing.T, s ripcord.Store, _ *Clock) {
	ctx := context.Background()
	good := delivery("x", 1, "a")
	bad := map[string]ripcord.Delivery{
		"no execution":   {Seq: 1, Destination: "a", Kind: ripcord.NotifyStarted},
		"negative seq":   {ExecutionID: "x", Seq: -1, Destination: "a", Kind: ripcord.NotifyStarted},
		"no destination": {ExecutionID: "x", Seq: 1, Kind: ripcord.NotifyStarted},
		"unknown kind":   {ExecutionID: "x", Seq: 1, Destination: "a", Kind: "exploded"},
	}
	for name, d := range bad {
		if _, _, err := s.ClaimDelivery(ctx, d, "h", time.Minute); ripcord.ErrorCode(err) != ripcord.EINVALID || ripcord.ErrorHint(err) == "" {
			t.Errorf("claim with %s = %v, want EINVALID with a hint", name, err)
		}
	}
	if _, _, err := s.ClaimDelivery(ctx, good, "", time.Minute); ripcord.ErrorCode(err) != ripcord.EINVALID {
		t.Errorf("claim without a holder = %v, want EINVALID", err)
	}
	if _, _, err := s.ClaimDelivery(ctx, good, "h", 0); ripcord.ErrorCode(err) != ripcord.EINVALID {
		t.Errorf("claim with ttl 0 = %v, want EINVALID", err)
	}
	claimed, _, err := s.ClaimDelivery(ctx, good, "h", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	claimed.Status = "lost"
	if _, err := s.RecordDelivery(ctx, claimed, time.Minute); ripcord.ErrorCode(err) != ripcord.EINVALID {
		t.Errorf("record with status lost = %v, want EINVALID", err)
	}
}

// testDeliveryRace: holders racing for one delivery: exactly one claims
// it, in every round.
func testDeliveryRace(t *testing.T, s ripcord.Store, _ *Clock) {
	ctx := context.Background()
	const holders, rounds = 8, 6
	for round := range rounds {
		d := delivery("race", int64(round), "webhook:x")
		start := make(chan struct{})
		won := make([]bool, holders)
		errs := make([]error, holders)
		var wg sync.WaitGroup
		for h := range holders {
			wg.Go(func() {
				<-start
				_, won[h], errs[h] = s.ClaimDelivery(ctx, d, fmt.Sprint("holder-", h), time.Minute)
			})
		}
		close(start)
		wg.Wait()
		winners := 0
		for h := range holders {
			if errs[h] != nil {
				t.Fatalf("round %d: holder %d: %v", round, h, errs[h])
			}
			if won[h] {
				winners++
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d holders claimed the delivery, want exactly 1", round, winners)
		}
	}
}
