// Package client is the Go client of the broker's socket API. It imports
// api/ for the wire types and no broker/ package (a deps test keeps it so),
// so that forwarders and tools can use it without pulling in the daemon;
// its one outside dependency is the websocket library of Watch.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/awf-broker/awf-broker/api"
)

// DefaultSocket returns $AWF_BROKER_SOCKET, else api.DefaultSocket.
func DefaultSocket() string {
	if s := os.Getenv(api.SocketEnv); s != "" {
		return s
	}
	return api.DefaultSocket
}

// Client talks to the broker over its unix socket.
type Client struct {
	socket string
	hc     *http.Client
	ua     string
}

// Option configures a Client.
type Option func(*options)

type options struct {
	timeout time.Duration
	wrap    func(http.RoundTripper) http.RoundTripper
	ua      string
}

// WithTimeout bounds every call (default 30 s; a context deadline still applies).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithTransport wraps the transport, e.g. to validate every response in tests.
func WithTransport(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(o *options) { o.wrap = wrap }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(o *options) { o.ua = ua } }

// New returns a client for the socket at path, with a keep-alive pool.
func New(path string, opts ...Option) *Client {
	o := options{timeout: 30 * time.Second, ua: "awf-broker-client"}
	for _, f := range opts {
		f(&o)
	}
	var d net.Dialer
	var rt http.RoundTripper = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: o.timeout,
		DisableCompression:    true,
	}
	if o.wrap != nil {
		rt = o.wrap(rt)
	}
	c := &Client{socket: path, hc: &http.Client{Transport: rt, Timeout: o.timeout}, ua: o.ua}
	return c
}

// Socket returns the socket path.
func (c *Client) Socket() string { return c.socket }

// Close closes idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// send makes a request and returns the answer when its status is one of
// ok (any 2xx when none are given); the caller closes its body. Other
// statuses come back as *Error. secret, when set, goes only into the
// Authorization header.
func (c *Client) send(ctx context.Context, method, path, secret string, in any, ok ...int) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		// A fresh buffer each time: the transport may still be writing the
		// body after the answer has arrived, so it must not be reused.
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://unix"+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.ua)
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		return nil, &UnreachableError{Socket: c.socket, Err: unwrapURL(err)}
	}
	if !okStatus(resp.StatusCode, ok) {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp, nil
}

// do sends a request and decodes its JSON answer into out (unless nil).
func (c *Client) do(ctx context.Context, method, path, secret string, in, out any, ok ...int) error {
	resp, err := c.send(ctx, method, path, secret, in, ok...)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode %d answer: %w", method, path, resp.StatusCode, err)
	}
	return nil
}

func okStatus(status int, ok []int) bool {
	if len(ok) == 0 {
		return status >= 200 && status < 300
	}
	for _, s := range ok {
		if s == status {
			return true
		}
	}
	return false
}

func unwrapURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// escape rejects path segments that would change the route.
func escape(seg string) string {
	if seg == "" || strings.ContainsAny(seg, "/?#%") || seg == "." || seg == ".." {
		return "%2F" // never a valid name: the broker answers 400/404
	}
	return seg
}
