package main

import (
	"runtime"
	"testing"
)

func TestUseRelayProcs(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	for _, c := range []struct {
		name, env string
		want      int
	}{
		{"unset: one P", "", relayProcs},
		{"the operator's value stands", "3", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			runtime.GOMAXPROCS(3) // as the runtime would have applied GOMAXPROCS=3, or a 3-core default
			useRelayProcs(env{getenv: func(k string) string {
				if k == "GOMAXPROCS" {
					return c.env
				}
				return ""
			}})
			if got := runtime.GOMAXPROCS(0); got != c.want {
				t.Errorf("GOMAXPROCS = %d, want %d", got, c.want)
			}
		})
	}
}
