package daemon

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/peer"
	"github.com/awf-broker/awf-broker/client/forward"
	"github.com/awf-broker/awf-broker/internal/testlog"
)

// TestForwarderFallsBackToUIDBinding: a forwarder whose process the
// broker cannot see (SO_PEERCRED pid 0: another pid namespace) is refused
// bind "process" with 400 process_not_visible, falls back to a uid-bound
// lease, says so in one warning line, and serves. (cmd/awf-brokerd's
// TestPidNamespace does it for real with unshare.)
func TestForwarderFallsBackToUIDBinding(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	c := b.as(t, peer.Cred{UID: 0, GID: 0}) // pid 0
	var logs testlog.Buffer
	up, _ := url.Parse(b.dev.API.URL())
	f, err := forward.New(forward.Config{Client: c, Credential: "anthropic", Upstream: up, Label: "pidns",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := f.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	srv := httptest.NewServer(f)
	defer func() { srv.Close(); f.Close() }()
	sdk := anthropic.NewClient(option.WithoutEnvironmentDefaults(), option.WithBaseURL(srv.URL),
		option.WithAPIKey("placeholder-not-a-key"), option.WithMaxRetries(0))
	if _, err := sdk.Messages.New(ctx, e2eParams); err != nil {
		t.Fatalf("a call through the forwarder: %v", err)
	}
	list, err := b.client.Leases(ctx)
	if err != nil || len(list) != 1 || list[0].Bind != api.BindUID || list[0].Holder.PID != 0 {
		t.Fatalf("leases %+v %v, want one uid-bound lease of pid 0", list, err)
	}
	if n := strings.Count(logs.String(), "the broker cannot see this process"); n != 1 {
		t.Errorf("%d warning lines, want 1:\n%s", n, logs.String())
	}
}
