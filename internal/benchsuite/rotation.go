package benchsuite

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// rotationLifetime is the tokens' lifetime: refreshed every 2 s, served
// for 3 s (DESIGN §5).
const rotationLifetime = 4 * time.Second

// rotation: the real SDK-shaped calls through the forwarder and broker to
// the strict fake Messages API while 4-second tokens rotate: no call fails.
func (s *suite) rotation(ctx context.Context) error {
	b, err := startBroker(ctx, s.dir, brokerOpts{lifetime: rotationLifetime})
	if err != nil {
		return err
	}
	defer b.stop()
	up, _ := url.Parse(b.dev.API.URL())
	fwd, stop, err := startForwarder(ctx, b.sock, up)
	if err != nil {
		return err
	}
	defer stop()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer hc.CloseIdleConnections()
	before := b.dev.Anthropic.Exchanges()
	const conc = 16
	res, err := measure(ctx, conc, s.opts.Rotation, target{call: tiny(func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, "POST", fwd+"/v1/messages",
			strings.NewReader(`{"model":"claude-fake-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Anthropic-Version", "2023-06-01")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})})
	if err != nil {
		return err
	}
	if res.FirstErr != nil {
		s.logf("rotation: %d failed, first: %v", res.Errors, res.FirstErr)
	}
	rotations := b.dev.Anthropic.Exchanges() - before
	sec := "rotation"
	s.rep.add(Row{Section: sec, Name: fmt.Sprintf("requests through the forwarder, %d concurrent, %v tokens", conc, rotationLifetime), Value: float64(res.N), Unit: ""})
	s.rep.add(Row{Section: sec, Name: "token rotations during the run", Value: float64(rotations), Unit: "", Goal: "≥ 2", Pass: pass(rotations >= 2)})
	s.rep.add(Row{Section: sec, Name: "failed requests", Value: float64(res.Errors), Unit: "", Goal: "0", Pass: pass(res.Errors == 0)})
	s.rep.add(Row{Section: sec, Name: "upstream 401s (replayed by the forwarder)", Value: float64(b.dev.API.Unauthenticated()), Unit: ""})
	return nil
}
