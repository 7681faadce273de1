package static

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/awf-broker/awf-broker/broker/provider"
)

func TestFileRotationAndHeaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("key-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Header: "X-Api-Key", ValueFile: path})
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
	path := filepath.Join(t.TempDir(), "empty")
	_ = os.WriteFile(path, nil, 0o600)
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Header: "x-api-key", ValueFile: path}, "value_file " + path + " is empty"},
		{Config{Header: "x-api-key", ValueFile: path + ".missing"}, "no such file"},
		{Config{Header: "x-api-key", ValueEnv: "K", Lookup: func(string) (string, bool) { return "", false }}, "environment variable K is unset or empty"},
	}
	for _, c := range cases {
		p, err := New(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Exchange(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || !provider.IsPermanent(err) {
			t.Errorf("err = %v, want permanent containing %q", err, c.want)
		}
	}
	if _, err := New(Config{Header: "x", ValueFile: "a", ValueEnv: "B"}); err == nil {
		t.Error("both sources accepted")
	}
	p, _ := New(Config{Header: "Authorization", ValueEnv: "K", Lookup: func(string) (string, bool) { return "Bearer v", true }})
	tok, _ := p.Exchange(context.Background(), nil)
	if g, _ := p.Headers(&tok, nil); g.Set["authorization"] != "Bearer v" || len(g.Remove) != 0 {
		t.Errorf("authorization grant = %+v", g)
	}
}

func TestSchemePrefixesOnce(t *testing.T) {
	for _, c := range []struct{ scheme, value, want string }{
		{"Bearer", "k1", "Bearer k1"},
		{"Bearer", "Bearer k1", "Bearer k1"},
		{"token", " TOKEN k1\n", "token k1"},
		{"", "k1", "k1"},
	} {
		p, err := New(Config{Header: "authorization", Scheme: c.scheme, ValueEnv: "K", Lookup: func(string) (string, bool) { return c.value, true }})
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
