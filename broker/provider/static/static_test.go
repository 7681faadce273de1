package static

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/settings"
)

func TestFileRotationAndHeaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("key-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Static: settings.Static{Header: "X-Api-Key", ValueFile: path}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Exchange(context.Background(), nil)
	if err != nil || tok.Value.Reveal() != "key-one" || tok.Lifetime != 0 {
		t.Fatalf("exchange: %v %q %v", err, tok.Value.Reveal(), tok.Lifetime)
	}
	g, _ := p.Headers(&tok, &provider.Request{})
	if g.Set["x-api-key"] != "key-one" || len(g.Remove) != 1 || g.Remove[0] != "authorization" {
		t.Fatalf("grant = %+v", g)
	}
	if err := os.WriteFile(path, []byte("key-two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, _ = p.Exchange(context.Background(), nil); tok.Value.Reveal() != "key-two" {
		t.Fatalf("rotated file not re-read: %q", tok.Value.Reveal())
	}
}

func TestErrorsNameTheSourceNotTheValue(t *testing.T) {
	dir := t.TempDir()
	empty, open := filepath.Join(dir, "empty"), filepath.Join(dir, "open")
	_ = os.WriteFile(empty, nil, 0o600)
	_ = os.WriteFile(open, []byte("sk-open"), 0o600)
	_ = os.Chmod(open, 0o644)
	// Refused when built: the file is read once by New.
	for _, c := range []struct{ path, want string }{
		{empty, "value_file " + empty + " is empty"},
		{empty + ".missing", "no such file"},
		{open, "value_file " + open + " (owner uid " + strconv.Itoa(os.Getuid()) + ", mode 0644): readable by others; chmod o-r " + open},
	} {
		_, err := New(Config{Static: settings.Static{Header: "x-api-key", ValueFile: c.path}})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "sk-open") {
			t.Errorf("New(%s) = %v, want an error containing %q", c.path, err, c.want)
		}
	}
	// Refused at an exchange: the file went bad after the build.
	key := filepath.Join(dir, "key")
	_ = os.WriteFile(key, []byte("sk-one"), 0o600)
	p, err := New(Config{Static: settings.Static{Header: "x-api-key", ValueFile: key}})
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(key, 0o604)
	if _, err := p.Exchange(context.Background(), nil); err == nil || !provider.IsPermanent(err) ||
		!strings.Contains(err.Error(), "mode 0604): readable by others") || strings.Contains(err.Error(), "sk-one") {
		t.Errorf("exchange of a world-readable key: %v", err)
	}
	p, _ = New(Config{Static: settings.Static{Header: "x-api-key", ValueEnv: "K"}, Lookup: func(string) (string, bool) { return "", false }})
	if _, err := p.Exchange(context.Background(), nil); err == nil || !provider.IsPermanent(err) || !strings.Contains(err.Error(), "environment variable K is unset or empty") {
		t.Errorf("unset variable: %v", err)
	}
	if _, err := New(Config{Static: settings.Static{Header: "x", ValueFile: "a", ValueEnv: "B"}}); err == nil {
		t.Error("both sources accepted")
	}
	p, _ = New(Config{Static: settings.Static{Header: "Authorization", ValueEnv: "K"}, Lookup: func(string) (string, bool) { return "Bearer v", true }})
	tok, _ := p.Exchange(context.Background(), nil)
	if g, _ := p.Headers(&tok, nil); g.Set["authorization"] != "Bearer v" || len(g.Remove) != 0 {
		t.Errorf("authorization grant = %+v", g)
	}
}

// TestFingerprint: the same value gives the same fingerprint, a rotated
// one another, and neither holds the value.
func TestFingerprint(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key")
	_ = os.WriteFile(key, []byte("sk-one\n"), 0o600)
	first, _ := FileFingerprint(key)
	same, _ := FileFingerprint(key)
	_ = os.WriteFile(key, []byte("sk-two\n"), 0o600)
	rotated, _ := FileFingerprint(key)
	if first == "" || first != same || rotated == same || strings.Contains(same, "sk-one") {
		t.Errorf("fingerprints: first %q, same %q, rotated %q", first, same, rotated)
	}
}

func TestSchemePrefixesOnce(t *testing.T) {
	for _, c := range []struct{ scheme, value, want string }{
		{"Bearer", "k1", "Bearer k1"},
		{"Bearer", "Bearer k1", "Bearer k1"},
		{"token", " TOKEN k1\n", "token k1"},
		{"", "k1", "k1"},
	} {
		p, err := New(Config{Static: settings.Static{Header: "authorization", Scheme: c.scheme, ValueEnv: "K"}, Lookup: func(string) (string, bool) { return c.value, true }})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := p.Exchange(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := p.Headers(&tok, &provider.Request{})
		if g.Set["authorization"] != c.want || len(g.Remove) != 0 {
			t.Errorf("scheme %q value %q: grant %+v, want authorization %q", c.scheme, c.value, g, c.want)
		}
	}
}
