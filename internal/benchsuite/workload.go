package benchsuite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The agents' real workload (DESIGN §9): a coding agent's request with its
// tools and context, answered by a streamed SSE response.
const (
	// WorkloadBody is the request body's size.
	WorkloadBody = 80 << 10
	// WorkloadEvents is how many SSE events the upstream streams back
	// (Options.WorkloadEvents changes it for one run).
	WorkloadEvents = 40
	// WorkloadEventGap is the pause between two events.
	WorkloadEventGap = time.Millisecond
)

// workloadRequest is an 80 KB Messages call: a JSON envelope padded with context.
func workloadRequest() []byte {
	head := `{"model":"claude-test","max_tokens":4096,"stream":true,"messages":[{"role":"user","content":"`
	tail := `"}]}`
	pad := strings.Repeat("The quick brown fox jumps over the lazy dog. ", WorkloadBody/45+1)
	return []byte(head + pad[:WorkloadBody-len(head)-len(tail)] + tail)
}

// workloadEvent is one ~100-byte content_block_delta event.
func workloadEvent(i int) []byte {
	ev := `event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"tok` + strconv.Itoa(i) + `"}}` + "\n\n"
	return []byte(ev)
}

// workloadAnswerLen is the length of a streamed answer of events events.
func workloadAnswerLen(events int) int {
	n := 0
	for i := range events {
		n += len(workloadEvent(i))
	}
	return n
}

// sseUpstream is a Messages endpoint that reads the whole 80 KB request,
// checks for a bearer, and streams n events WorkloadEventGap apart.
func (s *servers) sseUpstream(n int) (string, error) {
	ln, err := s.tcp()
	if err != nil {
		return "", err
	}
	events := make([][]byte, n)
	for i := range events {
		events[i] = workloadEvent(i)
	}
	s.serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil || n != WorkloadBody {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || r.Header.Get("X-Api-Key") != "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		fl := w.(http.Flusher)
		for i, ev := range events {
			if i > 0 {
				time.Sleep(WorkloadEventGap)
			}
			if _, err := w.Write(ev); err != nil {
				return
			}
			fl.Flush()
		}
	}))
	return "http://" + ln.Addr().String(), nil
}

// streamPoster sends the workload's call and reads the stream.
type streamPoster struct {
	hc     *http.Client
	body   []byte
	answer int
}

// newStreamPoster expects answers of events events.
func newStreamPoster(events int) *streamPoster {
	return &streamPoster{
		hc:     &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, DisableCompression: true}},
		body:   workloadRequest(),
		answer: workloadAnswerLen(events),
	}
}

var errShortStream = errors.New("stream ended early")

// post sends one call and returns the time to the first streamed byte.
func (p *streamPoster) post(ctx context.Context, base string, direct bool) (time.Duration, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/v1/messages", bytes.NewReader(p.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	if direct {
		req.Header.Set("Authorization", "Bearer direct-token")
	} else {
		req.Header.Set("X-Api-Key", "placeholder")
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return 0, fmt.Errorf("%s: status %d", base, resp.StatusCode)
	}
	var buf [4 << 10]byte
	n, err := resp.Body.Read(buf[:])
	ttfb := time.Since(start)
	if n == 0 && err != nil {
		return 0, fmt.Errorf("%s: %w: %w", base, errShortStream, err)
	}
	rest, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 32<<10))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", base, err)
	}
	if got := n + int(rest); got != p.answer {
		return 0, fmt.Errorf("%s: %w: %d of %d bytes", base, errShortStream, got, p.answer)
	}
	return ttfb, nil
}
