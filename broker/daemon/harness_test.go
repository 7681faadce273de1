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
	b := runDaemon(t, dev, o.level, Options{Config: dev.Config})
	if o.noReady {
		b.waitSocket()
	} else {
		b.waitReady()
	}
	return b
}

// runDaemon runs a daemon of o until the test ends, against the fakes of
// dev (nil when o's Config and Lookup need none). Left unset, o's Lookup
// is dev's, its Version "test", its Logger writes at level (at least
// trace) into the broker's logs, and its HTTP client retries once,
// quickly. A failed test prints the daemon's logs: a wait that times out
// says what it waited for, the logs say why.
func runDaemon(t *testing.T, dev *devenv.Dev, level hclog.Level, o Options) *broker {
	t.Helper()
	logs := &testlog.Buffer{}
	if o.Lookup == nil && dev != nil {
		o.Lookup = dev.Lookup
	}
	if o.Version == "" {
		o.Version = "test"
	}
	if o.Logger == nil {
		o.Logger = hclog.New(&hclog.LoggerOptions{Level: max(level, hclog.Trace), Output: logs})
	}
	if o.HTTP == nil {
		o.HTTP = provider.NewHTTPClient(provider.HTTPConfig{RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond})
	}
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	sock := o.Config.Socket.Path
	ctx, cancel := context.WithCancel(context.Background())
	b := &broker{t: t, dev: dev, d: d, sock: sock, logs: logs, client: client.New(sock), stop: cancel, done: make(chan error, 1)}
	go func() { b.done <- d.Run(ctx) }()
	// Registered first, so it runs last: the logs include the shutdown.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon logs:\n%s", logs.String())
		}
	})
	t.Cleanup(b.close)
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
