package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// probe is what the sidecar image answers when run as "curl": AWF's
// generated compose file checks the api-proxy service with
// `curl -f http://localhost:10000/health`, and a scratch image has no curl.
// It takes curl's -f/-s/-S flags and one http:// URL, GETs it, and exits
// as curl -f does: 0 on 2xx/3xx, 22 on a 4xx/5xx answer, 7 when nothing
// answers, 2 on a command line it does not understand.
func probe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var target string
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "-") && strings.Trim(a, "-fsS") == "":
		case target == "" && strings.HasPrefix(a, "http://"):
			target = a
		default:
			fmt.Fprintf(stderr, "curl (awf-broker-cli probe): unsupported argument %q; want [-fsS] http://HOST:PORT/PATH\n", a)
			return 2
		}
	}
	if target == "" {
		fmt.Fprintln(stderr, "curl (awf-broker-cli probe): no URL")
		return 2
	}
	// A scratch image may have no /etc/hosts to say what localhost is.
	target = strings.Replace(target, "http://localhost:", "http://127.0.0.1:", 1)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		fmt.Fprintf(stderr, "curl (awf-broker-cli probe): %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "curl (awf-broker-cli probe): %v\n", err)
		return 7
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		fmt.Fprintf(stderr, "curl: (22) The requested URL returned error: %d\n", resp.StatusCode)
		return 22
	}
	_, _ = io.Copy(stdout, io.LimitReader(resp.Body, 1<<20))
	return 0
}
