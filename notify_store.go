package ripcord

import (
	"context"
	"fmt"
	"time"
)

// Kinds of notification: what a plan's notify: entries may ask for
// (Notification.Events) and what a notification says happened. The list is
// the one plan validation accepts.
const (
	NotifyStarted    = "started"    // an execution started
	NotifyWaiting    = "waiting"    // an execution waits on a person: paused (by a person or for an error)
	NotifyStepFailed = "stepFailed" // a step failed
	NotifyFinished   = "finished"   // an execution ended: succeeded, failed or cancelled
	NotifyCleanup    = "cleanup"    // a drill's cleanup was done, or failed
	NotifyReadiness  = "readiness"  // a plan's readiness turned bad
)

// NotifyKinds are the kinds of notification, in the order docs list them.
var NotifyKinds = []string{NotifyStarted, NotifyWaiting, NotifyStepFailed, NotifyFinished, NotifyCleanup, NotifyReadiness}

// Wants reports whether destination n asks for notifications of kind.
func (n Notification) Wants(kind string) bool {
	if len(n.Events) == 0 {
		return true
	}
	for _, e := range n.Events {
		if e == kind {
			return true
		}
	}
	return false
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// Delivery statuses. Sending: a replica holds the delivery's claim and
// tries (again after a failure, with backoff); sent and failed are final.
const (
	DeliverySending DeliveryStatus = "sending"
	DeliverySent    DeliveryStatus = "sent"
	DeliveryFailed  DeliveryStatus = "failed" // every attempt failed
)

// Delivery is one notification to one destination: its key is the
// execution, the seq of the event it tells of, and the destination, so
// that however many replicas follow the execution it is sent once.
type Delivery struct {
	// ExecutionID is the execution the notification is about; for a
	// readiness notification, "readiness:" and the plan's name.
	ExecutionID string `json:"executionId"`
	// Seq is the seq of the event the notification tells of (for a
	// readiness notification: a digest of the bad state, see
	// notify.Dispatcher.NotifyReadiness).
	Seq int64 `json:"seq"`
	// Destination names where it goes without its secrets (a webhook's
	// URL path often is one): "sns:" and the topic ARN, or "webhook:",
	// the URL's scheme and host and a digest of the whole URL.
	Destination string         `json:"destination"`
	Kind        string         `json:"kind"`
	Status      DeliveryStatus `json:"status"`
	Attempts    int            `json:"attempts"`
	LastError   string         `json:"lastError,omitempty"`
	// Holder is the process that holds the claim (a replica ID), until
	// ClaimExpires on the store's clock.
	Holder       string    `json:"holder"`
	ClaimExpires time.Time `json:"claimExpires"`
	Created      time.Time `json:"created"` // store's clock
	Updated      time.Time `json:"updated"` // the last attempt recorded, store's clock
}

// DeliveryStore records notification deliveries; both stores implement it
// (the deliveries table of their migrations).
type DeliveryStore interface {
	// ClaimDelivery makes holder the sender of delivery d (its key:
	// ExecutionID, Seq, Destination; and its Kind) until ttl from now on
	// the store's clock. A delivery not recorded yet is recorded as
	// sending with no attempts; one still sending whose claim expired
	// (its holder died) is taken over, attempts kept. It returns the
	// delivery as it now is and whether holder holds it: false when it is
	// sent, failed, or claimed by another live holder. ttl must be
	// positive (EINVALID).
	ClaimDelivery(ctx context.Context, d Delivery, holder string, ttl time.Duration) (Delivery, bool, error)

	// RecordDelivery records an attempt's outcome: d's Status, Attempts
	// and LastError, and extends the claim by ttl (store's clock), if
	// d.Holder still holds the claim. Otherwise it fails with ECONFLICT
	// and ErrLeaseLost and changes nothing. A delivery that is not
	// recorded is ENOTFOUND.
	RecordDelivery(ctx context.Context, d Delivery, ttl time.Duration) (Delivery, error)

	// ListDeliveries returns execution id's deliveries ordered by Seq and
	// Destination (none: an empty slice).
	ListDeliveries(ctx context.Context, executionID string) ([]Delivery, error)
}

// ValidateDelivery reports whether d can be claimed by holder, as EINVALID
// with a hint; both stores check a claim with it.
func ValidateDelivery(d Delivery, holder string) error {
	fail := func(msg, hint string) error {
		return &Error{Code: EINVALID, Message: fmt.Sprintf("delivery %s/%d to %q: %s", d.ExecutionID, d.Seq, d.Destination, msg), Hint: hint}
	}
	if err := checkClusterName("execution ID", d.ExecutionID); err != nil {
		return fail(err.Error(), "a delivery is about an execution: name it by its ID")
	}
	if d.Seq < 0 {
		return fail("the seq is negative", "a delivery's seq is the seq of the event it tells of")
	}
	if err := checkClusterName("destination", d.Destination); err != nil {
		return fail(err.Error(), "name the destination as package notify does (notify.DestinationKey)")
	}
	known := false
	for _, k := range NotifyKinds {
		known = known || d.Kind == k
	}
	if !known {
		return fail(fmt.Sprintf("unknown kind %q", d.Kind), fmt.Sprintf("a kind is one of %v", NotifyKinds))
	}
	if err := checkClusterName("holder", holder); err != nil {
		return fail(err.Error(), "the holder is the claiming process, e.g. its replica ID (ripcord.NewReplicaID)")
	}
	return nil
}

// ValidateDeliveryRecord reports whether d's outcome can be recorded.
func ValidateDeliveryRecord(d Delivery) error {
	switch d.Status {
	case DeliverySending, DeliverySent, DeliveryFailed:
	default:
		return &Error{Code: EINVALID, Message: fmt.Sprintf("delivery %s/%d to %q: status %q", d.ExecutionID, d.Seq, d.Destination, d.Status),
			Hint: "a delivery's status is sending, sent or failed"}
	}
	if d.Attempts < 0 {
		return &Error{Code: EINVALID, Message: fmt.Sprintf("delivery %s/%d to %q: %d attempts", d.ExecutionID, d.Seq, d.Destination, d.Attempts),
			Hint: "attempts count the sends tried: 0 or more"}
	}
	return nil
}

// DeliveryLost is the refusal of a record by a holder whose claim another
// holder took since: ECONFLICT, with ErrLeaseLost in its chain.
func DeliveryLost(d Delivery, current Delivery) error {
	return &leaseLostError{err: &Error{Code: ECONFLICT,
		Message: fmt.Sprintf("delivery %s/%d to %s: %s no longer holds it; %s does (%s)", d.ExecutionID, d.Seq, d.Destination, d.Holder, current.Holder, current.Status),
		Hint:    "the claim expired and another replica took the delivery over; leave it to that replica"}}
}

// DeliveryNotFound is the answer for a delivery never claimed.
func DeliveryNotFound(d Delivery) error {
	return &Error{Code: ENOTFOUND, Message: fmt.Sprintf("delivery %s/%d to %s is not recorded", d.ExecutionID, d.Seq, d.Destination),
		Hint: "claim a delivery (ClaimDelivery) before recording its attempts"}
}
