package tokens

import (
	"testing"
)

func TestSet(t *testing.T) {
	var zero Set
	if _, ok := zero.Get("x"); ok || zero.All() != nil || zero.Len() != 0 {
		t.Fatal("the zero Set is not empty")
	}
	mk := func(name string) *Credential { return New(Config{Name: name, Exchanger: newScripted()}) }
	b, a, c := mk("bedrock"), mk("anthropic"), mk("vertex")
	s := NewSet(b, a)
	if got, ok := s.Get("anthropic"); !ok || got != a {
		t.Fatal("Get failed")
	}
	if _, ok := s.Get("nope"); ok {
		t.Fatal("Get found a missing name")
	}
	names := func() []string {
		var out []string
		for _, c := range s.All() {
			out = append(out, c.Name())
		}
		return out
	}
	if got := names(); len(got) != 2 || got[0] != "anthropic" || got[1] != "bedrock" {
		t.Fatalf("All = %v, want sorted", got)
	}
	s.All()[0] = c // callers cannot change the set through All
	a2 := mk("anthropic")
	s.Add(c, a2)
	if got, _ := s.Get("anthropic"); got != a2 || s.Len() != 3 {
		t.Fatal("Add did not replace by name")
	}
	s.Remove("bedrock", "nope")
	if got := names(); len(got) != 2 || got[0] != "anthropic" || got[1] != "vertex" {
		t.Fatalf("after Remove: %v", got)
	}
	s.Replace(b)
	if got := names(); len(got) != 1 || got[0] != "bedrock" {
		t.Fatalf("after Replace: %v", got)
	}
}

// Get takes no lock and allocates nothing.
func TestSetGetAllocs(t *testing.T) {
	s := NewSet(New(Config{Name: "anthropic", Exchanger: newScripted()}))
	if n := testing.AllocsPerRun(100, func() { _, _ = s.Get("anthropic") }); n != 0 {
		t.Fatalf("Get allocates %v times", n)
	}
}
