package daemon

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/client"
	"github.com/awf-broker/awf-broker/internal/testharness"
	"github.com/awf-broker/awf-broker/internal/testlog"
)

// broker is a running daemon against the fakes, for black-box tests.
type broker struct {
	t      *testing.T
	dev    *devenv.Dev
	d      *Daemon
	sock   string
	logs   *testlog.Buffer
	client *client.Client
	stop   context.CancelFunc
	done   chan error
}

type brokerOpts struct {
	lifetime time.Duration
	wait     time.Duration
	mod      func(*devenv.Dev)
	// level is the daemon's log level (default trace).
	level hclog.Level
	// noReady returns once the socket answers, not once ready.
	noReady bool
}

func startBroker(t *testing.T, o brokerOpts) *broker {
	t.Helper()
	if o.lifetime == 0 {
		o.lifetime = time.Hour
	}
	dir := t.TempDir()
	// Let a helper process running as another uid reach the socket.
	for _, p := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "broker.sock")
	dev, err := devenv.Start(sock, o.lifetime)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Close)
	dev.Config.Socket.Mode = 0o666
	if o.wait > 0 {
		dev.Config.WaitForToken = o.wait
	}
	if o.mod != nil {
		o.mod(dev)
	}
	logs := &testlog.Buffer{}
	d, err := New(Options{
		Config: dev.Config, Lookup: dev.Lookup, Version: "test",
		Logger: hclog.New(&hclog.LoggerOptions{Level: max(o.level, hclog.Trace), Output: logs}),
		HTTP:   provider.NewHTTPClient(provider.HTTPConfig{RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &broker{t: t, dev: dev, d: d, sock: sock, logs: logs, client: client.New(sock), stop: cancel, done: make(chan error, 1)}
	go func() { b.done <- d.Run(ctx) }()
	t.Cleanup(b.close)
	if o.noReady {
		b.waitSocket()
	} else {
		b.waitReady()
	}
	return b
}

func (b *broker) waitReady() {
	b.t.Helper()
	testharness.WaitFor(b.t, 10*time.Second, "the broker to be ready", func() bool {
		r, err := b.client.Ready(context.Background())
		return err == nil && r.Ready
	})
}

func (b *broker) waitSocket() {
	b.t.Helper()
	testharness.WaitFor(b.t, 10*time.Second, "the broker to answer", func() bool {
		_, err := b.client.Health(context.Background())
		return err == nil
	})
}

func (b *broker) close() {
	b.stop()
	b.client.Close()
	select {
	case err := <-b.done:
		if err != nil {
			b.t.Errorf("daemon: %v", err)
		}
	case <-time.After(15 * time.Second):
		b.t.Error("daemon did not stop")
	}
}

// raw sends a raw request over the socket.
func (b *broker) raw(method, path, auth string, body []byte) (*http.Response, []byte) {
	b.t.Helper()
	hc := rawClient(b.sock)
	req, _ := http.NewRequest(method, "http://unix"+path, bytes.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return resp, out.Bytes()
}
