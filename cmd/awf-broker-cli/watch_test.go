package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/awf-broker/awf-broker/api"
)

// startEventsStub serves GET /v1/events as the broker does: a websocket
// that sends evs, then closes with code and reason.
func startEventsStub(t *testing.T, evs []api.Event, code websocket.StatusCode, reason string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "b.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/events" || r.URL.Query().Get("types") != "lease.*" {
			http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for _, ev := range evs {
			b, _ := json.Marshal(ev)
			if err := c.Write(r.Context(), websocket.MessageText, b); err != nil {
				return
			}
		}
		c.Close(code, reason)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func TestWatch(t *testing.T) {
	evs := []api.Event{
		{Seq: 7, Time: now, Type: api.EventLeaseCreated, Credential: "anthropic", Lease: leaseID,
			Holder: &api.Holder{UID: 1001, GID: 1002, PID: 4242, Label: "agent 7", Container: strings.Repeat("ab12", 16)},
			Detail: map[string]any{"uid": 1001, "expires_at": "2026-11-28T12:15:00Z"}},
		{Seq: 9, Time: now.Add(90e9), Type: api.EventLeaseRevoked, Credential: "anthropic", Lease: leaseID,
			Holder: &api.Holder{UID: 1001, GID: 1002, PID: 4242}, Detail: map[string]any{"reason": "revoked by uid 0"}},
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		closed websocket.StatusCode
		reason string
	}{
		{"watch", []string{"watch", "--type", "lease.*", "--count", "2"}, 0, websocket.StatusNormalClosure, ""},
		{"watch-json", []string{"-o", "json", "watch", "--type", "lease.*"}, 1, websocket.StatusGoingAway, "broker stopping"},
		{"watch-too-slow", []string{"watch", "--type", "lease.*"}, 1, websocket.StatusTryAgainLater, "too slow: more than 256 events dropped"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sock := startEventsStub(t, evs, c.closed, c.reason)
			stdout, stderr, code := runCLI(sock, nil, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, c.code, stderr)
			}
			got := stdout + stderr
			golden := filepath.Join("../../testdata/cli", c.name+".golden")
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n%s", golden, got)
			}
		})
	}
}

func TestWatchRefused(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "b.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", api.ProblemContentType)
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(api.Problem{Title: "Bad request", Status: 400, Code: "bad_request", Detail: `unknown event type "nope"`})
	})}
	go srv.Serve(l)
	defer srv.Close()
	_, stderr, code := runCLI(sock, nil, "watch", "--type", "nope")
	if code != exitRefused || !strings.Contains(stderr, `unknown event type "nope" (bad_request)`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
