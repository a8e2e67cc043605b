package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// TestDeliveriesAPI: a viewer lists an execution's deliveries as the store
// recorded them; an unknown execution is 404; no token is 401.
func TestDeliveriesAPI(t *testing.T) {
	e := newEnv(t)
	hash := e.savePlans(ordersV2).Versions[0].Hash
	id := e.createExecution("exec-1", hash, ripcord.ModeDrill, e.clock.Now(), false)
	d := ripcord.Delivery{ExecutionID: id, Seq: 1, Destination: "webhook:https://hooks.example.com#00aa11bb22cc", Kind: ripcord.NotifyStarted}
	claimed, _, err := e.store.ClaimDelivery(e.ctx, d, "replica-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	claimed.Status, claimed.Attempts, claimed.LastError = ripcord.DeliveryFailed, 3, "503 Service Unavailable"
	if _, err := e.store.RecordDelivery(e.ctx, claimed, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := e.as(ripcord.RoleViewer).Deliveries(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Deliveries) != 1 {
		t.Fatalf("deliveries %+v, want 1", got)
	}
	if g := got.Deliveries[0]; g.Destination != d.Destination || g.Status != ripcord.DeliveryFailed || g.Attempts != 3 ||
		g.LastError != "503 Service Unavailable" || g.Kind != ripcord.NotifyStarted || g.Holder != "replica-a" {
		t.Fatalf("delivery %+v", g)
	}
	_, err = e.as(ripcord.RoleViewer).Deliveries(e.ctx, "nothing")
	wantCode(t, err, ripcord.ENOTFOUND)
	if status, _, _ := e.raw(http.MethodGet, "/api/v1/executions/"+id+"/deliveries", "", nil, nil); status != http.StatusUnauthorized {
		t.Fatalf("without a token: %d, want 401", status)
	}
}
