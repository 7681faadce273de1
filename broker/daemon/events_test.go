package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/events"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/apitest"
	"github.com/awf-broker/awf-broker/internal/testharness"
)

func watch(t *testing.T, c *client.Client, opts client.WatchOptions) *client.Watcher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := c.Watch(ctx, opts)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// nextEvent reads one event, checking it against the spec's Event schema
// when spec is set.
func nextEvent(t *testing.T, w *client.Watcher, spec *apitest.Spec) api.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := w.NextRaw(ctx)
	if err != nil {
		t.Fatalf("next event: %v", err)
	}
	if spec != nil {
		if err := spec.ValidateSchema("Event", b); err != nil {
			t.Fatal(err)
		}
	}
	var ev api.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// untilEvent reads events until one satisfies ok, and returns them all.
func untilEvent(t *testing.T, w *client.Watcher, ok func(api.Event) bool) []api.Event {
	t.Helper()
	var out []api.Event
	for len(out) < 500 {
		ev := nextEvent(t, w, nil)
		out = append(out, ev)
		if ok(ev) {
			return out
		}
	}
	t.Fatalf("no matching event in 500: %+v", out)
	return nil
}

func TestEventsDeliveredInOrder(t *testing.T) {
	spec, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, brokerOpts{})
	ctx := context.Background()
	w := watch(t, client.New(b.sock, client.WithTransport(spec.Transport)), client.WatchOptions{})
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic", Label: "order"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.RenewLease(ctx, l.ID, "10m"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.RevokeLease(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.Refresh(ctx, "anthropic"); err != nil {
		t.Fatal(err)
	}
	want := []string{api.EventLeaseCreated, api.EventLeaseRenewed, api.EventLeaseRevoked}
	var seq uint64
	for i, typ := range want {
		ev := nextEvent(t, w, spec)
		if ev.Type != typ || ev.Lease != l.ID || ev.Credential != "anthropic" || ev.Seq <= seq {
			t.Fatalf("event %d = %+v, want %s of lease %s after seq %d", i, ev, typ, l.ID, seq)
		}
		if ev.Holder == nil || ev.Holder.UID != uint32(os.Getuid()) || ev.Holder.PID != int32(os.Getpid()) || ev.Holder.Label != "order" {
			t.Fatalf("event %d holder = %+v", i, ev.Holder)
		}
		seq = ev.Seq
	}
	// The forced refresh: refreshing, the exchange, ready again.
	got := untilEvent(t, w, func(ev api.Event) bool {
		return ev.Type == api.EventCredentialState && ev.Detail["state"] == api.StateReady
	})
	var types []string
	for _, ev := range got {
		types = append(types, ev.Type+":"+ev.Credential)
	}
	if strings.Join(types, " ") != "credential.state:anthropic credential.refreshed:anthropic credential.state:anthropic" {
		t.Fatalf("refresh events = %v", types)
	}
	if got[1].Detail["expires_in"] != "1h0m0s" || got[0].Detail["state"] != api.StateRefreshing || got[2].Detail["previous"] != api.StateRefreshing {
		t.Fatalf("refresh details = %+v", got)
	}
	if v := spec.Violations(); len(v) > 0 {
		t.Fatalf("events break api/openapi.yaml:\n%s", apitest.Summary(v))
	}
}

func TestEventsTypesAndSince(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	ctx := context.Background()
	start := b.d.obs.Bus().Seq()
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic-key"})
	if err != nil {
		t.Fatal(err)
	}
	b.client.Refresh(ctx, "anthropic")
	b.client.RevokeLease(ctx, l.ID)
	// Subscribed after the fact: since replays; types keeps the lease family.
	w := watch(t, b.client, client.WatchOptions{Since: start, Types: []string{"lease.*"}})
	if ev := nextEvent(t, w, nil); ev.Type != api.EventLeaseCreated || ev.Seq != start+1 {
		t.Fatalf("first = %+v, want lease.created #%d", ev, start+1)
	}
	if ev := nextEvent(t, w, nil); ev.Type != api.EventLeaseRevoked {
		t.Fatalf("second = %+v, want lease.revoked (credential events filtered out)", ev)
	}
	_, err = b.client.Watch(ctx, client.WatchOptions{Types: []string{"nope"}})
	wantCode(t, err, 400, api.CodeBadRequest)
}

// TestEventsPerCaller: a non-admin sees the events of its own leases and of
// the credentials it may lease, never another's. One caller is uid 65534
// through the handler (asOtherUID); with root, a real process of that uid.
func TestEventsPerCaller(t *testing.T) {
	spec, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, brokerOpts{mod: func(d *devenv.Dev) {
		d.Config.Credentials[1].Allow = config.Allow{UIDs: []uint32{nobody}}
	}})
	ctx := context.Background()
	other := asOtherUID(t, b, spec)
	defer other.Close()
	admin := watch(t, b.client, client.WatchOptions{})
	mine := watch(t, other, client.WatchOptions{})

	theirs, err := other.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic-key"})
	if err != nil {
		t.Fatal(err)
	}
	root, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic-key"})
	if err != nil {
		t.Fatal(err)
	}
	b.client.Refresh(ctx, "anthropic")
	b.client.Refresh(ctx, "anthropic-key")
	b.client.ClearIdentity(ctx, "github")
	b.client.RevokeLease(ctx, root.ID)
	b.client.RevokeLease(ctx, theirs.ID) // the last event

	last := func(ev api.Event) bool { return ev.Type == api.EventLeaseRevoked && ev.Lease == theirs.ID }
	all := untilEvent(t, admin, last)
	seen := untilEvent(t, mine, last)
	count := func(evs []api.Event, ok func(api.Event) bool) int {
		n := 0
		for _, ev := range evs {
			if ok(ev) {
				n++
			}
		}
		return n
	}
	hidden := func(ev api.Event) bool {
		return ev.Credential == "anthropic" || ev.Lease == root.ID || ev.Identity != ""
	}
	if n := count(seen, hidden); n > 0 {
		t.Errorf("uid %d saw %d events not its own: %+v", nobody, n, seen)
	}
	if count(all, hidden) < 4 || len(all) <= len(seen) {
		t.Errorf("the admin missed events: %+v", all)
	}
	ownLease := func(ev api.Event) bool { return ev.Lease == theirs.ID }
	keyRefresh := func(ev api.Event) bool {
		return ev.Type == api.EventCredentialRefreshed && ev.Credential == "anthropic-key"
	}
	if count(seen, ownLease) != 2 || count(seen, keyRefresh) != 1 {
		t.Errorf("uid %d missed its own events: %+v", nobody, seen)
	}

	if os.Getuid() != 0 {
		t.Skip("needs root to run a helper as uid 65534")
	}
	// The same through a real process of uid 65534: replay from before the
	// flow and stop at its own lease's revocation.
	got := asNobody(t, helperBinary(t), b, "AWF_HELPER_ACTION=watch", "AWF_HELPER_SINCE=1", "AWF_HELPER_LEASE="+theirs.ID)
	if !strings.HasPrefix(got, "200 ") {
		t.Fatalf("helper watch: %s", got)
	}
	var evs []api.Event
	if err := json.Unmarshal([]byte(strings.TrimPrefix(got, "200 ")), &evs); err != nil {
		t.Fatal(err)
	}
	if count(evs, hidden) > 0 || count(evs, ownLease) != 2 {
		t.Errorf("helper of uid %d saw %+v", nobody, evs)
	}
}

// helperWatch is the helper process's "watch" action.
func helperWatch(ctx context.Context, c *client.Client) ([]api.Event, error) {
	var since uint64
	if os.Getenv("AWF_HELPER_SINCE") != "" {
		since = 1
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	w, err := c.Watch(ctx, client.WatchOptions{Since: since})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	var out []api.Event
	for {
		ev, err := w.Next(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, ev)
		if ev.Type == api.EventLeaseRevoked && ev.Lease == os.Getenv("AWF_HELPER_LEASE") {
			return out, nil
		}
	}
}

// TestSlowSubscriberDropped: a subscriber that reads nothing is closed
// with 1013 and a reason, and the broker goes on granting meanwhile.
func TestSlowSubscriberDropped(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	ctx := context.Background()
	l, err := b.client.CreateLease(ctx, api.CreateLeaseRequest{Credential: "anthropic"})
	if err != nil {
		t.Fatal(err)
	}
	slow := watch(t, b.client, client.WatchOptions{})
	testharness.WaitFor(t, 10*time.Second, "the subscription", func() bool { return b.d.obs.Bus().Subscribers() == 1 })
	url := "http://" + apiHost(b) + "/v1/messages"

	// Grants go on while a flood of events meets a subscriber that reads
	// nothing; the flood fills its socket, then its buffer.
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	stop := make(chan struct{})
	grants := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: url}); err != nil {
				errc <- err
				return
			}
			grants++
		}
	}()
	pad := strings.Repeat("x", 1024)
	for i := 0; i < 5000 && b.d.obs.Bus().Subscribers() > 0; i++ {
		b.d.Publish(api.Event{Type: api.EventReload, Detail: map[string]any{"pad": pad}})
	}
	if n := b.d.obs.Bus().Subscribers(); n != 0 {
		t.Fatalf("%d subscribers after the flood, want the slow one dropped", n)
	}
	// More grants after the drop, the slow peer still not reading.
	for i := 0; i < 50; i++ {
		if _, err := b.client.Headers(ctx, l.ID, l.Secret, &api.HeadersRequest{Method: "POST", URL: url}); err != nil {
			t.Fatalf("grant after the drop: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatalf("grant during the flood: %v", err)
	default:
	}
	// Now it reads: what was in flight, then the close with its reason.
	var ce *client.ClosedError
	for i := 0; ; i++ {
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_, err := slow.NextRaw(rctx)
		cancel()
		if errors.As(err, &ce) {
			break
		}
		if err != nil {
			t.Fatalf("after %d events: %v, want a close", i, err)
		}
	}
	if ce.Status != int(events.StatusTooSlow) || ce.Reason != "too slow: more than 256 events dropped" {
		t.Fatalf("closed with %d %q", ce.Status, ce.Reason)
	}
	scrape := scrapeMetrics(t, b)
	if !strings.Contains(scrape, "awf_broker_event_subscribers_dropped_total 1\n") {
		t.Errorf("drop not counted:\n%s", grep(scrape, "event_"))
	}
	t.Logf("%d grants during the flood", grants)
}

// TestEventsEndWithDaemon: stopping the daemon closes subscribers with
// 1001 (the websockets are hijacked, so Shutdown alone would not).
func TestEventsEndWithDaemon(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	w := watch(t, b.client, client.WatchOptions{})
	testharness.WaitFor(t, 10*time.Second, "the subscription", func() bool { return b.d.obs.Bus().Subscribers() == 1 })
	b.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var ce *client.ClosedError
	for {
		_, err := w.NextRaw(ctx)
		if errors.As(err, &ce) {
			break
		}
		if err != nil {
			t.Fatalf("want a close, got %v", err)
		}
	}
	if ce.Status != int(events.StatusStopping) {
		t.Fatalf("closed with %d %q", ce.Status, ce.Reason)
	}
}
