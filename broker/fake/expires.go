package fake

import (
	"encoding/json"
	"strconv"
	"time"
)

// statedExpiresIn is the expires_in a token endpoint fake answers with:
// raw verbatim when set (a JSON number a test chose: 0, 0.1, 1e12, -1),
// else n seconds.
func statedExpiresIn(raw string, n int) any {
	if raw != "" {
		return json.RawMessage(raw)
	}
	return n
}

// ledgerTTL is how long the fake itself honours a token it stated raw (or
// n) seconds for: the stated value where it fits a time.Duration, at most
// ten years, nothing for zero, negative or unparsable values.
func ledgerTTL(raw string, n int) time.Duration {
	s := float64(n)
	if raw != "" {
		var err error
		if s, err = strconv.ParseFloat(raw, 64); err != nil {
			return 0
		}
	}
	const most = 10 * 365 * 24 * time.Hour
	switch {
	case !(s > 0):
		return 0
	case s >= most.Seconds():
		return most
	}
	return time.Duration(s * float64(time.Second))
}
