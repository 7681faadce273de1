// Package apitest checks that what the server says matches api/openapi.yaml:
// a transport that validates every response passing through it, and the
// list of operations for comparing with the route table. Tests only.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Spec is the loaded contract.
type Spec struct {
	Doc    *openapi3.T
	router routers.Router

	mu         sync.Mutex
	seen       map[string]bool // "METHOD /path/{template} STATUS"
	violations []string
}

// Load reads api/openapi.yaml from the module root.
func Load() (*Spec, error) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "api", "openapi.yaml")
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("validate %s: %w", path, err)
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	return &Spec{Doc: doc, router: r, seen: map[string]bool{}}, nil
}

// Op is one operation of the spec.
type Op struct{ Method, Path string }

// Operations lists the spec's operations, sorted.
func (s *Spec) Operations() []Op {
	var ops []Op
	for path, item := range s.Doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, Op{Method: method, Path: path})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].Path+ops[i].Method < ops[j].Path+ops[j].Method })
	return ops
}

// Statuses lists every "METHOD /path STATUS" the spec documents.
func (s *Spec) Statuses() []string {
	var out []string
	for path, item := range s.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				out = append(out, method+" "+path+" "+status)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Validate checks one response against the spec and records it as seen.
func (s *Spec) Validate(req *http.Request, status int, header http.Header, body []byte) error {
	u := *req.URL
	u.Scheme, u.Host = "http", "unix"
	r2 := req.Clone(context.Background())
	r2.URL = &u
	route, params, err := s.router.FindRoute(r2)
	if err != nil {
		return s.fail("%s %s: no such operation in the spec: %v", req.Method, req.URL.Path, err)
	}
	s.mu.Lock()
	s.seen[fmt.Sprintf("%s %s %d", req.Method, route.Path, status)] = true
	s.mu.Unlock()
	in := &openapi3filter.RequestValidationInput{Request: r2, PathParams: params, Route: route,
		Options: &openapi3filter.Options{ExcludeRequestBody: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return s.fail("%s %s -> %d: %v\nbody: %.400s", req.Method, req.URL.Path, status, err, body)
	}
	return nil
}

func (s *Spec) fail(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	s.mu.Lock()
	s.violations = append(s.violations, err.Error())
	s.mu.Unlock()
	return err
}

// ValidateSchema checks a JSON document (a websocket message) against the
// named schema of components/schemas, recording a failure as a violation.
func (s *Spec) ValidateSchema(name string, doc []byte) error {
	ref := s.Doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return s.fail("no schema %q in the spec", name)
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return s.fail("%s: not JSON: %v", name, err)
	}
	if err := ref.Value.VisitJSON(v); err != nil {
		return s.fail("%s does not match its schema: %v\ndoc: %.400s", name, err, doc)
	}
	return nil
}

// Violations returns every failed validation so far.
func (s *Spec) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// Uncovered lists the documented "METHOD /path STATUS" never seen, minus skip.
func (s *Spec) Uncovered(skip ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, st := range s.Statuses() {
		if !s.seen[st] && !contains(skip, st) {
			out = append(out, st)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Transport wraps next so that every response is validated.
func (s *Spec) Transport(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			// The body is the upgraded connection: validate the status
			// and headers, and leave the stream to its reader.
			_ = s.Validate(req, resp.StatusCode, resp.Header, nil)
			return resp, nil
		}
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		_ = s.Validate(req, resp.StatusCode, resp.Header, body)
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Summary formats violations for a test failure.
func Summary(v []string) string { return strings.Join(v, "\n---\n") }
