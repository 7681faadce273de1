package fake

import (
	"encoding/json"
	"strconv"
	"time"
)

// expiresIn is the expires_in a token endpoint fake states: raw verbatim
// when set (a JSON number a test chose: 0, 0.1, 1e12, -1), else n seconds.
type expiresIn struct {
	raw string
	n   int
}

// answer returns the value to state as expires_in and how long the fake
// itself honours the token: the stated value where it fits a
// time.Duration, at most ten years, nothing for zero, negative or
// unparsable values.
func (e expiresIn) answer() (stated any, ttl time.Duration) {
	s := float64(e.n)
	stated = e.n
	if e.raw != "" {
		stated = json.RawMessage(e.raw)
		var err error
		if s, err = strconv.ParseFloat(e.raw, 64); err != nil {
			return stated, 0
		}
	}
	const most = 10 * 365 * 24 * time.Hour
	switch {
	case !(s > 0):
		return stated, 0
	case s >= most.Seconds():
		return stated, most
	}
	return stated, time.Duration(s * float64(time.Second))
}
