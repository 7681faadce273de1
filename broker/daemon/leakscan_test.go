package daemon

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/devenv"
	"github.com/awf-broker/awf-broker/broker/fake"
)

// leakScan gathers everything a caller, an operator or a log reader could
// see, each text under the name of where it came from, and the secrets
// that must appear in none of it.
type leakScan struct {
	t       *testing.T
	texts   []sourced
	secrets []string
}

type sourced struct{ source, text string }

// see records text from source.
func (s *leakScan) see(source, text string) {
	if text != "" {
		s.texts = append(s.texts, sourced{source, text})
	}
}

// from returns a recorder of a call's result under source: the value as
// JSON and the error's text (scan.from("leases")(c.Leases(ctx))).
func (s *leakScan) from(source string) func(v any, err error) {
	return func(v any, err error) {
		if err != nil {
			s.see(source+" error", err.Error())
		}
		if v != nil {
			j, _ := json.Marshal(v)
			s.see(source, string(j))
		}
	}
}

// secret adds values that must never be seen.
func (s *leakScan) secret(vs ...string) {
	for _, v := range vs {
		if v != "" {
			s.secrets = append(s.secrets, v)
		}
	}
}

// mintedBy adds every secret the fakes of dev minted or hold: tokens,
// JWTs, the job's request token and the static key. A new provider's fake
// adds one line here (e.g. s.secret(dev.AWS.Minted()...)).
func (s *leakScan) mintedBy(dev *devenv.Dev) {
	s.secret(dev.Anthropic.Tokens()...)
	s.secret(dev.GitHub.Issued()...)
	s.secret(dev.GitHub.RequestToken().Reveal())
	s.secret(dev.AWS.STS.Secrets()...)
	s.secret(dev.Clouds.GCP.Tokens()...)
	s.secret(dev.Clouds.Azure.Tokens()...)
	s.secret(dev.Clouds.OpenAI.Tokens()...)
	for k, v := range dev.Env {
		if k != "ACTIONS_ID_TOKEN_REQUEST_URL" {
			s.secret(v)
		}
	}
}

// check fails the test for any secret, or anything token-shaped, in any
// text; it names the source and never prints the secret.
func (s *leakScan) check() {
	s.t.Helper()
	for _, st := range s.texts {
		for _, sec := range s.secrets {
			if strings.Contains(st.text, sec) {
				s.t.Errorf("a secret (%d chars) leaked into %s", len(sec), st.source)
			}
		}
		for _, marker := range []string{fake.TokenPrefix, "eyJ"} {
			if i := strings.Index(st.text, marker); i >= 0 {
				s.t.Errorf("something token-shaped (%s…) leaked into %s at byte %d", marker, st.source, i)
			}
		}
	}
}

// collector reads one more source from a running broker. ok is false
// when the broker does not offer that source (yet): the scan logs it and
// goes on.
type collector struct {
	name string
	read func(b *broker) (text string, ok bool, err error)
}

// collectors are the operator-facing streams scanned after the flows.
// GET /metrics and GET /v1/events join the scan as soon as the daemon
// serves them.
func collectors() []collector {
	return []collector{
		{"metrics", func(b *broker) (string, bool, error) {
			resp, body := b.raw("GET", "/metrics", "", nil)
			if resp.StatusCode != http.StatusOK {
				return "", false, nil
			}
			return string(body), true, nil
		}},
		{"events", readEvents},
	}
}

// collect runs every collector against b.
func (s *leakScan) collect(b *broker) {
	s.t.Helper()
	for _, c := range collectors() {
		text, ok, err := c.read(b)
		switch {
		case err != nil:
			s.t.Errorf("collect %s: %v", c.name, err)
		case !ok:
			s.t.Logf("leak scan: %s not served by this daemon; skipped", c.name)
		default:
			s.see(c.name, text)
		}
	}
}

// readEvents subscribes to GET /v1/events over the socket with a bare
// websocket handshake and returns the text of every message that arrives
// within half a second (the current state comes first). It reports !ok
// when the daemon does not upgrade.
func readEvents(b *broker) (string, bool, error) {
	conn, err := net.Dial("unix", b.sock)
	if err != nil {
		return "", false, err
	}
	defer conn.Close()
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	fmt.Fprintf(conn, "GET /v1/events HTTP/1.1\r\nHost: unix\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n", base64.StdEncoding.EncodeToString(key))
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return "", false, fmt.Errorf("events handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return "", false, nil
		}
		return string(body), true, nil // an error body is scanned too
	}
	_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	var out strings.Builder
	for {
		payload, err := readFrame(br)
		if err != nil {
			break // the deadline ends the subscription
		}
		out.Write(payload)
		out.WriteByte('\n')
	}
	return out.String(), true, nil
}

// readFrame reads one unmasked server frame (RFC 6455 §5.2).
func readFrame(r *bufio.Reader) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return p, err
}
